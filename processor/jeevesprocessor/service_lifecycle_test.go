// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// lifecycleConfig wires the jeeves connector as in the distribution: the
// traces pipeline ends at jeeves, which feeds a metrics pipeline and a
// sampled traces pipeline. The flush interval and the decision wait (and the
// root span grace) are an hour, so nothing leaves the connector before
// shutdown: the final metrics flush and the traces decided at shutdown are
// all the exporters can get. The collector's own metrics are off, so no run
// binds a port.
const lifecycleConfig = `
receivers:
  spanpusher:
connectors:
  jeeves:
    metrics:
      flush_interval: 1h
      series_expiration: 0
    sampling:
      mode: tail
      decision_wait: 1h
      root_span_grace: 1h
exporters:
  recorder/metrics:
  recorder/sampled:
service:
  telemetry:
    logs:
      level: warn
      sampling:
        enabled: false
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [spanpusher]
      exporters: [jeeves]
    metrics/jeeves:
      receivers: [jeeves]
      exporters: [recorder/metrics]
    traces/sampled:
      receivers: [jeeves]
      exporters: [recorder/sampled]
`

const (
	metricsExporter = "recorder/metrics"
	tracesExporter  = "recorder/sampled"

	lifecycleTraces        = 24
	lifecycleSpansPerTrace = 3
	lifecycleErrorEvery    = 4 // every 4th trace holds an error span

	// maxLifecycleRuns bounds how many collectors the test runs to see
	// both face orders. The graph picks the order at random on each
	// shutdown (see TestServiceShutdownOrder); in 1,000 runs the sampling
	// face stopped first 638 times and the metrics face first with its
	// exporter stopped before the sampling face 230 times, so missing either
	// in 200 runs has a probability below 1e-20. A run takes about 10 ms.
	maxLifecycleRuns = 200
)

// TestServiceShutdownOrder runs the jeeves connector, both faces, in the
// collector's own service and shuts it down: every exporter must get what
// the connector emits at shutdown before it stops itself, and nothing may be
// lost, whichever order the collector stops the two faces in.
//
// The collector stops components in a topological order of its graph
// (service/internal/graph ShutdownAll, topo.Sort): a node stops before the
// nodes it feeds. Each face of a connector is its own node, and the two
// faces of one ID are not connected, so their relative order, and the order
// of one face against the other face's downstream exporter, is whatever the
// sort yields. Unlike StartAll, which breaks ties by node ID, ShutdownAll's
// topo.Sort follows the iteration of the graph's node maps, so the order
// changes from run to run and no choice of IDs or pipeline names pins it.
// Three orders occur:
//
//   - the sampling face stops first, then the metrics face: the metrics face
//     stops last and its pipeline is still running;
//   - the metrics face stops first and the metrics exporter stops before the
//     sampling face: anything the connector sends to the metrics pipeline
//     when the sampling face stops reaches a stopped exporter;
//   - the metrics face stops first and the metrics exporter stops after the
//     sampling face.
//
// The test runs collectors until it has seen the first two (the third comes
// along but is not required) and fails if it does not see both within
// maxLifecycleRuns. Each run's order is read from the recorded Shutdown
// calls, not assumed.
func TestServiceShutdownOrder(t *testing.T) {
	var samplingFirst, metricsFirstExporterEarly, metricsFirstExporterLate int
	for i := 0; i < maxLifecycleRuns && (samplingFirst == 0 || metricsFirstExporterEarly == 0); i++ {
		run, logs := runLifecycleCollector(t)

		metricsFaceStop := run.position(metricsFace, "begin")
		samplingFaceStop := run.position(samplingFace, "begin")
		metricsExporterStop := run.position(metricsExporter, "begin")
		tracesExporterStop := run.position(tracesExporter, "begin")
		require.GreaterOrEqual(t, metricsFaceStop, 0, "the metrics face was not shut down: %s", run.order())
		require.GreaterOrEqual(t, samplingFaceStop, 0, "the sampling face was not shut down: %s", run.order())
		require.GreaterOrEqual(t, metricsExporterStop, 0, "%s was not shut down: %s", metricsExporter, run.order())
		require.GreaterOrEqual(t, tracesExporterStop, 0, "%s was not shut down: %s", tracesExporter, run.order())
		// The graph's own guarantee: a face stops before its downstream.
		require.Less(t, metricsFaceStop, metricsExporterStop, run.order())
		require.Less(t, samplingFaceStop, tracesExporterStop, run.order())

		var order string
		switch {
		case samplingFaceStop < metricsFaceStop:
			samplingFirst++
			order = "sampling face first"
		case metricsExporterStop < samplingFaceStop:
			metricsFirstExporterEarly++
			order = "metrics face first, metrics exporter stopped before the sampling face"
		default:
			metricsFirstExporterLate++
			order = "metrics face first, metrics exporter stopped after the sampling face"
		}
		if !checkLifecycleRun(t, run) {
			t.Errorf("run %d (%s) failed; shutdown order: %s", i, order, run.order())
			for _, e := range logs.All() {
				t.Logf("run %d log: %s %s %v", i, e.Level, e.Message, e.ContextMap())
			}
		}
	}
	t.Logf("shutdown orders seen: sampling face first %d, metrics face first with its exporter stopped before the sampling face %d, metrics face first with its exporter stopped after %d",
		samplingFirst, metricsFirstExporterEarly, metricsFirstExporterLate)
	if samplingFirst == 0 || metricsFirstExporterEarly == 0 {
		t.Errorf("in %d runs the collector did not stop the faces in both orders (sampling face first: %d, metrics face first with its exporter stopped before the sampling face: %d)",
			maxLifecycleRuns, samplingFirst, metricsFirstExporterEarly)
	}
}

// checkLifecycleRun reports each loss of one run: a call to an exporter that
// had begun to shut down, metrics that did not count every span sent, kept
// traces that were not forwarded whole.
func checkLifecycleRun(t *testing.T, run *serviceRun) bool {
	t.Helper()
	_, kept, spans := lifecycleBatches()
	run.mu.Lock()
	defer run.mu.Unlock()
	ok := true
	for _, v := range run.violations {
		t.Errorf("%s", v)
		ok = false
	}
	switch {
	case len(run.spmCalls) == 0:
		t.Errorf("%s got no metrics before it stopped: the final flush was lost (want traces.span.metrics.calls = %d)", metricsExporter, spans)
		ok = false
	case run.spmCalls[len(run.spmCalls)-1] != int64(spans):
		t.Errorf("%s: last flush has traces.span.metrics.calls = %d, want %d (every span sent); flushes: %v", metricsExporter, run.spmCalls[len(run.spmCalls)-1], spans, run.spmCalls)
		ok = false
	}
	missing, extra := 0, 0
	for k := range kept {
		if run.traceSpans[k] != 1 {
			missing++
		}
	}
	for k := range run.traceSpans {
		if !kept[k] {
			extra++
		}
	}
	if missing > 0 || extra > 0 {
		t.Errorf("%s: %d of the %d spans of kept (error) traces missing or repeated, %d spans of dropped traces forwarded", tracesExporter, missing, len(kept), extra)
		ok = false
	}
	return ok
}

// runLifecycleCollector runs one collector: starts it, pushes the test spans
// through its traces pipeline and shuts it down. It returns what the
// components recorded and the collector's warnings and errors.
func runLifecycleCollector(t *testing.T) (*serviceRun, *observer.ObservedLogs) {
	t.Helper()
	run := newServiceRun()
	core, logs := observer.New(zapcore.WarnLevel)
	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol-jeeves-lifecycle-test", Description: "lifecycle test collector", Version: "test"},
		Factories: func() (otelcol.Factories, error) {
			recv, conn, exp := run.factories()
			return otelcol.Factories{
				Receivers:  map[component.Type]receiver.Factory{recv.Type(): recv},
				Connectors: map[component.Type]connector.Factory{conn.Type(): conn},
				Exporters:  map[component.Type]exporter.Factory{exp.Type(): exp},
				Telemetry:  otelconftelemetry.NewFactory(),
			}, nil
		},
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				URIs:              []string{"yaml:" + lifecycleConfig},
				ProviderFactories: []confmap.ProviderFactory{yamlprovider.NewFactory()},
			},
		},
		// The test stops the collector itself and leaves the process's
		// signals and the global gRPC logger alone.
		DisableGracefulShutdown: true,
		SkipSettingGRPCLogger:   true,
		LoggingOptions:          []zap.Option{zap.WrapCore(func(zapcore.Core) zapcore.Core { return core })},
	})
	require.NoError(t, err)

	ran := make(chan error, 1)
	go func() { ran <- col.Run(context.Background()) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		col.Shutdown()
		return <-ran
	}
	defer func() { _ = stop() }()

	deadline := time.Now().Add(10 * time.Second)
	for col.GetState() != otelcol.StateRunning {
		select {
		case err := <-ran:
			stopped = true
			require.NoError(t, err, "the collector stopped before running")
			require.FailNow(t, "the collector stopped before running")
		default:
		}
		require.True(t, time.Now().Before(deadline), "the collector is not running after 10s (state %v)", col.GetState())
		time.Sleep(time.Millisecond)
	}

	run.mu.Lock()
	pipeline := run.pusher
	run.mu.Unlock()
	require.NotNil(t, pipeline)
	batches, _, _ := lifecycleBatches()
	for _, td := range batches {
		require.NoError(t, pipeline.ConsumeTraces(context.Background(), td))
	}
	require.NoError(t, stop())
	return run, logs
}

// lifecycleBatches returns the spans a run pushes, in two batches, the spans
// the sampler must forward and the number of spans. Every trace id has zero
// randomness (its low 56 bits are 0), so the probability rule drops every
// trace; the traces holding an error span are kept by the error rule, whole.
// All spans last 10 ms, far below the latency rule.
func lifecycleBatches() (batches []ptrace.Traces, kept map[spanKey]bool, spans int) {
	kept = map[spanKey]bool{}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for b := range 2 {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "jeeves-lifecycle")
		ss := rs.ScopeSpans().AppendEmpty()
		for i := b; i < lifecycleTraces; i += 2 {
			traceID := pcommon.TraceID{0x4a, byte(i + 1), 0x5e, 0x11}
			isError := i%lifecycleErrorEvery == 0
			var parent pcommon.SpanID
			for j := range lifecycleSpansPerTrace {
				s := ss.Spans().AppendEmpty()
				s.SetTraceID(traceID)
				spanID := pcommon.SpanID{0x5a, byte(i + 1), byte(j + 1)}
				s.SetSpanID(spanID)
				s.SetParentSpanID(parent)
				parent = spanID
				s.SetName(fmt.Sprintf("step.%d", j))
				s.SetKind(ptrace.SpanKindInternal)
				s.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(j) * time.Millisecond)))
				s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(j)*time.Millisecond + 10*time.Millisecond)))
				if isError && j == 1 {
					s.Status().SetCode(ptrace.StatusCodeError)
				}
				if isError {
					kept[spanKey{traceID, spanID}] = true
				}
				spans++
			}
		}
		batches = append(batches, td)
	}
	return batches, kept, spans
}
