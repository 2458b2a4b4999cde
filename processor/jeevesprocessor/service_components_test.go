// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"
)

// The components below are what TestServiceShutdownOrder wires around the
// jeeves connector in a real collector: a receiver the test pushes spans
// through, exporters that record what they get and when they stop, and the
// connector itself, wrapped only to record when each of its faces stops.
// Each collector run gets fresh factories bound to its own serviceRun.

var (
	pusherType   = component.MustNewType("spanpusher")
	recorderType = component.MustNewType("recorder")
)

// serviceRun is what one collector run records: the order in which the
// components stopped, what each recording exporter accepted, and every call
// an exporter got after its Shutdown had begun.
type serviceRun struct {
	mu         sync.Mutex
	events     []string // "<who> shutdown begin|end", in the order they happened
	violations []string
	pusher     consumer.Traces // the traces pipeline, set when the receiver is created

	spmCalls   []int64         // per metrics batch accepted: sum of traces.span.metrics.calls
	traceSpans map[spanKey]int // spans accepted by the traces exporter, with how often each came
}

type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

func newServiceRun() *serviceRun {
	return &serviceRun{traceSpans: map[spanKey]int{}}
}

func (r *serviceRun) event(who, what string) {
	r.mu.Lock()
	r.events = append(r.events, who+" shutdown "+what)
	r.mu.Unlock()
}

// position is the index of the first event "<who> shutdown <what>", or -1.
func (r *serviceRun) position(who, what string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.events {
		if e == who+" shutdown "+what {
			return i
		}
	}
	return -1
}

func (r *serviceRun) order() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, " → ")
}

func (r *serviceRun) factories() (receiver.Factory, connector.Factory, exporter.Factory) {
	return r.pusherFactory(), r.observedJeevesFactory(), r.recorderFactory()
}

// pusherFactory builds a receiver that does nothing by itself: the test
// pushes spans into the pipeline it feeds once the collector runs.
func (r *serviceRun) pusherFactory() receiver.Factory {
	return receiver.NewFactory(pusherType,
		func() component.Config { return &struct{}{} },
		receiver.WithTraces(func(_ context.Context, set receiver.Settings, _ component.Config, next consumer.Traces) (receiver.Traces, error) {
			r.mu.Lock()
			r.pusher = next
			r.mu.Unlock()
			return &lifecycleRecorder{run: r, name: set.ID.String()}, nil
		}, component.StabilityLevelDevelopment))
}

// lifecycleRecorder is a component that records when its Shutdown begins
// and returns.
type lifecycleRecorder struct {
	run  *serviceRun
	name string

	mu       sync.Mutex
	stopping bool // Shutdown has begun
	stopped  bool // Shutdown has returned
}

func (c *lifecycleRecorder) Start(context.Context, component.Host) error { return nil }

func (c *lifecycleRecorder) Shutdown(context.Context) error {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	c.run.event(c.name, "begin")
	c.run.event(c.name, "end")
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	return nil
}

// admit reports whether a batch may still be accepted; once Shutdown has
// begun it records a violation instead.
func (c *lifecycleRecorder) admit(what string) bool {
	c.mu.Lock()
	stopping, stopped := c.stopping, c.stopped
	c.mu.Unlock()
	if !stopping {
		return true
	}
	when := "while its Shutdown was running"
	if stopped {
		when = "after its Shutdown returned"
	}
	c.run.mu.Lock()
	c.run.violations = append(c.run.violations, fmt.Sprintf("%s got %s %s", c.name, what, when))
	c.run.mu.Unlock()
	return false
}

var errExporterStopped = errors.New("exporter already shut down")

// recorderFactory builds the exporters at the end of the metrics and the
// sampled traces pipelines.
func (r *serviceRun) recorderFactory() exporter.Factory {
	return exporter.NewFactory(recorderType,
		func() component.Config { return &struct{}{} },
		exporter.WithMetrics(func(_ context.Context, set exporter.Settings, _ component.Config) (exporter.Metrics, error) {
			return &metricsRecorder{lifecycleRecorder{run: r, name: set.ID.String()}}, nil
		}, component.StabilityLevelDevelopment),
		exporter.WithTraces(func(_ context.Context, set exporter.Settings, _ component.Config) (exporter.Traces, error) {
			return &tracesRecorder{lifecycleRecorder{run: r, name: set.ID.String()}}, nil
		}, component.StabilityLevelDevelopment))
}

type metricsRecorder struct{ lifecycleRecorder }

func (*metricsRecorder) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (e *metricsRecorder) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	calls := spmCallsSum(md)
	if !e.admit(fmt.Sprintf("a metrics batch (traces.span.metrics.calls sum %d)", calls)) {
		return errExporterStopped
	}
	e.run.mu.Lock()
	e.run.spmCalls = append(e.run.spmCalls, calls)
	e.run.mu.Unlock()
	return nil
}

type tracesRecorder struct{ lifecycleRecorder }

func (*tracesRecorder) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (e *tracesRecorder) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	if !e.admit(fmt.Sprintf("a traces batch (%d spans)", td.SpanCount())) {
		return errExporterStopped
	}
	e.run.mu.Lock()
	defer e.run.mu.Unlock()
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				e.run.traceSpans[spanKey{s.TraceID(), s.SpanID()}]++
			}
		}
	}
	return nil
}

func spmCallsSum(md pmetric.Metrics) int64 {
	var sum int64
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != "traces.span.metrics.calls" {
					continue
				}
				for _, dp := range m.Sum().DataPoints().All() {
					sum += dp.IntValue()
				}
			}
		}
	}
	return sum
}

// Face names in the shutdown record.
const (
	metricsFace  = "jeeves traces→metrics face"
	samplingFace = "jeeves traces→traces face"
)

// observedJeevesFactory is the jeeves factory with each face wrapped to
// record when its Shutdown begins and returns: the exporters alone cannot
// tell which face stopped first, since the final metrics flush and the
// forwarded traces arrive in the same order either way. Everything else
// (config, capabilities, consuming, Start) is the connector's own.
func (r *serviceRun) observedJeevesFactory() connector.Factory {
	inner := jeevesprocessor.NewFactory()
	return connector.NewFactory(inner.Type(), inner.CreateDefaultConfig,
		connector.WithTracesToMetrics(func(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
			c, err := inner.CreateTracesToMetrics(ctx, set, cfg, next)
			if err != nil {
				return nil, err
			}
			return &observedFace{Traces: c, run: r, name: metricsFace}, nil
		}, inner.TracesToMetricsStability()),
		connector.WithTracesToTraces(func(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (connector.Traces, error) {
			c, err := inner.CreateTracesToTraces(ctx, set, cfg, next)
			if err != nil {
				return nil, err
			}
			return &observedFace{Traces: c, run: r, name: samplingFace}, nil
		}, inner.TracesToTracesStability()))
}

type observedFace struct {
	connector.Traces
	run  *serviceRun
	name string
}

func (f *observedFace) Shutdown(ctx context.Context) error {
	f.run.event(f.name, "begin")
	err := f.Traces.Shutdown(ctx)
	f.run.event(f.name, "end")
	return err
}
