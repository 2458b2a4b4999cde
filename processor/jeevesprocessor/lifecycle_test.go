// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
)

// TestFinalFlushHoldsNoRegistryLock: the flush at Shutdown calls the next
// consumer with no lock held, not even the registry's (shared by every
// component ID). A consumer that creates another jeeves connector during
// that flush would deadlock otherwise.
func TestFinalFlushHoldsNoRegistryLock(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	created := make(chan error, 4)
	next, err := consumer.NewMetrics(func(context.Context, pmetric.Metrics) error {
		set := connectortest.NewNopSettings(metadata.Type)
		set.ID = component.NewIDWithName(metadata.Type, "during_flush")
		c, err := NewFactory().CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
		if err == nil {
			err = c.Shutdown(ctx)
		}
		created <- err
		return nil
	})
	require.NoError(t, err)
	c, err := NewFactory().CreateTracesToMetrics(ctx, connectortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeTraces(ctx, readTraces(t, filepath.Join("testdata", "jeeves_v1", "input.yaml"))))

	done := make(chan error, 1)
	go func() { done <- c.Shutdown(ctx) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown blocked: the final flush holds the registry lock")
	}
	require.Len(t, created, 1, "one final flush")
	require.NoError(t, <-created)
}

// stoppableSink records what it receives and every call that arrives after it
// was stopped, as an exporter that the collector has shut down would see it.
type stoppableSink struct {
	mu      sync.Mutex
	stopped bool
	late    int
	metrics []pmetric.Metrics
	traces  []ptrace.Traces
}

func (s *stoppableSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *stoppableSink) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		s.late++
	}
	s.metrics = append(s.metrics, md)
	return nil
}

func (s *stoppableSink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		s.late++
	}
	s.traces = append(s.traces, td)
	return nil
}

func (s *stoppableSink) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

func (s *stoppableSink) lateCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.late
}

// bothFaces creates and starts both faces of one component ID, each with a
// stoppable sink, with everything held until shutdown (long flush interval and
// decision wait).
func bothFaces(t *testing.T) (mf, sf connector.Traces, msink, tsink *stoppableSink) {
	t.Helper()
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Metrics.FlushInterval = time.Hour
	cfg.Sampling.DecisionWait = time.Hour
	cfg.Sampling.RootSpanGrace = time.Hour
	set := connectortest.NewNopSettings(metadata.Type)
	msink, tsink = &stoppableSink{}, &stoppableSink{}
	mf, err := NewFactory().CreateTracesToMetrics(ctx, set, cfg, msink)
	require.NoError(t, err)
	sf, err = NewFactory().CreateTracesToTraces(ctx, set, cfg, tsink)
	require.NoError(t, err)
	require.NoError(t, sf.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, mf.Start(ctx, componenttest.NewNopHost()))
	return mf, sf, msink, tsink
}

// TestShutdownInEitherOrder stops the faces in both orders the collector may
// choose, each face's sink stopping right after that face (its pipeline
// stops after it): nothing reaches a stopped sink, the error trace the
// sampler buffered is forwarded whole, and the final metrics flush counts
// every span and carries that trace's exemplar.
func TestShutdownInEitherOrder(t *testing.T) {
	for _, metricsFirst := range []bool{true, false} {
		name := "sampling_face_first"
		if metricsFirst {
			name = "metrics_face_first"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			mf, sf, msink, tsink := bothFaces(t)
			errTrace := randomID(424242)
			td := buildTraces([]traceSpec{{id: errTrace, spans: 4, errSpan: true, duration: time.Second}})
			td.MarkReadOnly()
			require.NoError(t, mf.ConsumeTraces(ctx, td))
			require.NoError(t, sf.ConsumeTraces(ctx, td))
			require.Empty(t, tsink.traces, "held until shutdown")
			require.Empty(t, msink.metrics, "held until shutdown")

			stopFace := func(f connector.Traces, sink *stoppableSink) {
				require.NoError(t, f.Shutdown(ctx))
				sink.stop()
			}
			if metricsFirst {
				stopFace(mf, msink)
				stopFace(sf, tsink)
			} else {
				stopFace(sf, tsink)
				stopFace(mf, msink)
			}
			assert.Zero(t, msink.lateCalls()+tsink.lateCalls(), "a sink was called after its face shut down")

			forwardedSpans := 0
			for _, td := range tsink.traces {
				forwardedSpans += td.SpanCount()
			}
			assert.Equal(t, 4, forwardedSpans, "the buffered error trace is forwarded whole")
			require.Len(t, msink.metrics, 1, "one final flush")
			final := msink.metrics[0]
			assert.Equal(t, int64(4), sumOf(final, "traces.span.metrics.calls"))
			assert.Contains(t, exemplarTraces(final, "traces.span.metrics.duration"), fmtTraceID(errTrace),
				"the final flush carries the exemplar of the trace the sampler kept at shutdown")
		})
	}
}

func sumOf(md pmetric.Metrics, metric string) int64 {
	var n int64
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() == metric {
			for j := 0; j < ms.At(i).Sum().DataPoints().Len(); j++ {
				n += ms.At(i).Sum().DataPoints().At(j).IntValue()
			}
		}
	}
	return n
}

// TestNoFlushAfterShutdownReturns: with a flush every millisecond and spans
// arriving until Shutdown, the metrics face's consumer is never called once
// Shutdown has returned.
func TestNoFlushAfterShutdownReturns(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Metrics.FlushInterval = time.Millisecond
	sink := &stoppableSink{}
	c, err := NewFactory().CreateTracesToMetrics(ctx, connectortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	td := jeevesBatch(5)
	for range 50 {
		require.NoError(t, c.ConsumeTraces(ctx, td))
		time.Sleep(100 * time.Microsecond)
	}
	require.NoError(t, c.Shutdown(ctx))
	sink.stop()
	time.Sleep(20 * time.Millisecond) // twenty flush intervals
	assert.Zero(t, sink.lateCalls())
	sink.mu.Lock()
	defer sink.mu.Unlock()
	require.NotEmpty(t, sink.metrics)
	assert.Equal(t, 50*int64(td.SpanCount()), sumOf(sink.metrics[len(sink.metrics)-1], "traces.span.metrics.calls"), "the last flush holds every span")
}
