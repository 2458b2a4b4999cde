// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"flag"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadatatest"
)

var update = flag.Bool("update", false, "regenerate the expected.yaml golden files")

// testBase is one second before the first span of the fixtures.
var testBase = time.Unix(1700000000, 0)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type harness struct {
	conn  *metricsFace
	sink  *consumertest.MetricsSink
	clock *fakeClock
	tel   *componenttest.Telemetry
}

// newHarness creates the connector through its factory with an injected clock;
// tests drive flushes themselves instead of starting the ticker.
func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	sink := new(consumertest.MetricsSink)
	c, err := NewFactory().CreateTracesToMetrics(context.Background(), metadatatest.NewSettings(tel), cfg, sink)
	require.NoError(t, err)
	h := &harness{conn: c.(*metricsFace), sink: sink, clock: &fakeClock{t: testBase}, tel: tel}
	h.conn.c.now = h.clock.Now
	t.Cleanup(func() {
		require.NoError(t, c.Shutdown(context.Background()))
		require.NoError(t, tel.Shutdown(context.Background()))
	})
	return h
}

func (h *harness) consumeFile(t *testing.T, path string, at time.Time) {
	t.Helper()
	h.clock.Set(at)
	require.NoError(t, h.conn.ConsumeTraces(context.Background(), readTraces(t, path)))
}

func (h *harness) flush(at time.Time) {
	h.clock.Set(at)
	h.conn.m.flush(context.Background())
}

func (h *harness) last(t *testing.T) pmetric.Metrics {
	t.Helper()
	all := h.sink.AllMetrics()
	require.NotEmpty(t, all)
	return all[len(all)-1]
}

func compareGolden(t *testing.T, path string, got pmetric.Metrics) {
	t.Helper()
	if *update {
		writeMetrics(t, path, got)
	}
	want := readMetrics(t, path)
	require.NoError(t, pmetrictest.CompareMetrics(want, got,
		pmetrictest.IgnoreMetricsOrder(), pmetrictest.IgnoreMetricDataPointsOrder()))
}

func TestGoldenShapes(t *testing.T) {
	for _, name := range []string{"jeeves_v1", "jeeves_v2", "semconv"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.consumeFile(t, filepath.Join("testdata", name, "input.yaml"), testBase.Add(100*time.Second))
			h.flush(testBase.Add(115 * time.Second))
			compareGolden(t, filepath.Join("testdata", name, "expected.yaml"), h.last(t))
		})
	}
}

func TestGoldenOverflow(t *testing.T) {
	h := newHarness(t, func(cfg *Config) { cfg.Metrics.SeriesLimit = 2 })
	h.consumeFile(t, filepath.Join("testdata", "overflow", "input.yaml"), testBase.Add(100*time.Second))
	h.flush(testBase.Add(115 * time.Second))
	compareGolden(t, filepath.Join("testdata", "overflow", "expected.yaml"), h.last(t))

	// Six pipelines, limit 2: four executions and four durations fold into
	// overflow; SPM has one series (same span name), so nothing folds there.
	metadatatest.AssertEqualConnectorJeevesSpansOverflowed(t, h.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("metric", "jeeves.pipeline.executions")), Value: 4},
		{Attributes: attribute.NewSet(attribute.String("metric", "jeeves.pipeline.duration")), Value: 4},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorJeevesSpansSeen(t, h.tel, []metricdata.DataPoint[int64]{{Value: 6}}, metricdatatest.IgnoreTimestamp())

	// Series held: the limit plus the overflow series where it was reached.
	active := map[string]int64{"traces.span.metrics": 1, "jeeves.pipeline.executions": 3, "jeeves.pipeline.duration": 3}
	var want []metricdata.DataPoint[int64]
	for _, td := range h.conn.m.agg.tables {
		want = append(want, metricdata.DataPoint[int64]{Attributes: td.attrSet, Value: active[td.name]})
	}
	metadatatest.AssertEqualConnectorJeevesSeriesActive(t, h.tel, want, metricdatatest.IgnoreTimestamp())
}

func TestGoldenExpiry(t *testing.T) {
	h := newHarness(t, nil) // series_expiration 10m
	h.consumeFile(t, filepath.Join("testdata", "expiry", "input.yaml"), testBase.Add(100*time.Second))
	h.flush(testBase.Add(115 * time.Second))
	first := h.last(t)
	h.consumeFile(t, filepath.Join("testdata", "expiry", "input_later.yaml"), testBase.Add(100*time.Second+6*time.Minute))
	h.flush(testBase.Add(100*time.Second + 11*time.Minute))
	compareGolden(t, filepath.Join("testdata", "expiry", "expected.yaml"), h.last(t))

	// The surviving series keep the start time of their first observation.
	assert.Equal(t, pipelineStart(t, first, "fresh"), pipelineStart(t, h.last(t), "fresh"))
	// stale: pipeline executions + duration; the shared SPM series stays fresh.
	metadatatest.AssertEqualConnectorJeevesSeriesExpired(t, h.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("metric", "jeeves.pipeline.executions")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("metric", "jeeves.pipeline.duration")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}

func pipelineStart(t *testing.T, md pmetric.Metrics, pipeline string) int64 {
	t.Helper()
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() != "jeeves.pipeline.executions" {
			continue
		}
		dps := ms.At(i).Sum().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			if v, _ := dps.At(j).Attributes().Get("pipeline"); v.Str() == pipeline {
				return int64(dps.At(j).StartTimestamp())
			}
		}
	}
	t.Fatalf("no series for pipeline %q", pipeline)
	return 0
}

func TestSPMDisabled(t *testing.T) {
	h := newHarness(t, func(cfg *Config) { cfg.Metrics.SPM.Enabled = false })
	h.consumeFile(t, filepath.Join("testdata", "jeeves_v1", "input.yaml"), testBase)
	h.flush(testBase.Add(15 * time.Second))
	ms := h.last(t).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	names := map[string]bool{}
	for i := 0; i < ms.Len(); i++ {
		names[ms.At(i).Name()] = true
	}
	assert.False(t, names["traces.span.metrics.calls"])
	assert.False(t, names["traces.span.metrics.duration"])
	assert.True(t, names["jeeves.pipeline.executions"])
}

func TestCumulativeAcrossFlushes(t *testing.T) {
	h := newHarness(t, nil)
	in := filepath.Join("testdata", "jeeves_v1", "input.yaml")
	h.consumeFile(t, in, testBase.Add(time.Second))
	h.flush(testBase.Add(15 * time.Second))
	h.consumeFile(t, in, testBase.Add(20*time.Second))
	h.flush(testBase.Add(30 * time.Second))
	require.Len(t, h.sink.AllMetrics(), 2)
	second := h.last(t)
	ms := second.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		m := ms.At(i)
		if m.Name() != "jeeves.llm.tokens" {
			continue
		}
		got := map[string]int64{}
		for j := 0; j < m.Sum().DataPoints().Len(); j++ {
			dp := m.Sum().DataPoints().At(j)
			typ, _ := dp.Attributes().Get("type")
			prov, _ := dp.Attributes().Get("provider")
			got[prov.Str()+"/"+typ.Str()] = dp.IntValue()
			assert.Equal(t, testBase.Add(time.Second).UnixNano(), int64(dp.StartTimestamp()))
			assert.Equal(t, testBase.Add(30*time.Second).UnixNano(), int64(dp.Timestamp()))
		}
		assert.Equal(t, map[string]int64{"openai/input": 240, "openai/output": 60}, got)
		return
	}
	t.Fatal("jeeves.llm.tokens missing")
}

func TestExemplarHook(t *testing.T) {
	h := newHarness(t, nil)
	kept := map[string]bool{"000000000000000000000000a0000002": true}
	undecided := "000000000000000000000000a0000003"
	calls := 0
	h.conn.m.agg.setExemplarPolicy(decideAtFlush(func(id pcommon.TraceID) (bool, bool) {
		calls++
		s := fmtTraceID(id)
		if s == undecided && calls < 100 {
			return false, false
		}
		return kept[s], true
	}))
	h.consumeFile(t, filepath.Join("testdata", "jeeves_v1", "input.yaml"), testBase)
	h.flush(testBase.Add(15 * time.Second))
	got := exemplarTraces(h.last(t), "jeeves.pipeline.duration")
	assert.Equal(t, []string{"000000000000000000000000a0000002"}, got)

	// The undecided exemplar is held and emitted once the hook decides to keep it.
	kept[undecided] = true
	calls = 100
	h.flush(testBase.Add(30 * time.Second))
	assert.Equal(t, []string{undecided}, exemplarTraces(h.last(t), "jeeves.pipeline.duration"))
}

// decideAtFlush is an exemplar policy that admits every span and decides at
// flush with the given function.
type decideAtFlush func(pcommon.TraceID) (bool, bool)

func (decideAtFlush) AdmitExemplar(pcommon.TraceID, string) bool { return true }

func (d decideAtFlush) ExemplarDecision(id pcommon.TraceID) (bool, bool) { return d(id) }

func fmtTraceID(id pcommon.TraceID) string {
	const hexDigits = "0123456789abcdef"
	out := make([]byte, 32)
	for i, b := range id {
		out[2*i] = hexDigits[b>>4]
		out[2*i+1] = hexDigits[b&0xf]
	}
	return string(out)
}

func exemplarTraces(md pmetric.Metrics, metric string) []string {
	var out []string
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() != metric {
			continue
		}
		dps := ms.At(i).Histogram().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			exs := dps.At(j).Exemplars()
			for k := 0; k < exs.Len(); k++ {
				out = append(out, fmtTraceID(exs.At(k).TraceID()))
			}
		}
	}
	return out
}

// TestOneFaceOfEachKindPerComponentID: the collector creates one face of each
// kind per component ID; a second live one is refused, and once the faces are
// shut down the ID can be created again (as a config reload does).
func TestOneFaceOfEachKindPerComponentID(t *testing.T) {
	f := NewFactory()
	cfg := createDefaultConfig().(*Config)
	set := connectortest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	a, err := f.CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	_, err = f.CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
	require.EqualError(t, err, "jeeves connector "+set.ID.String()+" already has a traces→metrics face")
	b, err := f.CreateTracesToTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	_, err = f.CreateTracesToTraces(ctx, set, cfg, consumertest.NewNop())
	require.EqualError(t, err, "jeeves connector "+set.ID.String()+" already has a traces→traces face")

	host := componenttest.NewNopHost()
	require.NoError(t, a.Start(ctx, host))
	require.NoError(t, b.Start(ctx, host))
	require.NoError(t, a.Shutdown(ctx))
	require.NoError(t, a.Shutdown(ctx), "second shutdown is a no-op")
	require.NoError(t, b.Shutdown(ctx))

	again, err := f.CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err, "all faces gone: the ID starts afresh")
	require.NoError(t, again.Shutdown(ctx))
}

func TestFlushLoopEmits(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Metrics.FlushInterval = 10 * time.Millisecond
	sink := new(consumertest.MetricsSink)
	c, err := NewFactory().CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeTraces(context.Background(), readTraces(t, filepath.Join("testdata", "jeeves_v1", "input.yaml"))))
	assert.Eventually(t, func() bool { return len(sink.AllMetrics()) > 0 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, c.Shutdown(context.Background()))
}

func overflowValue(t *testing.T, md pmetric.Metrics, metric string) int64 {
	t.Helper()
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() != metric {
			continue
		}
		dps := ms.At(i).Sum().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			if v, ok := dps.At(j).Attributes().Get("otel.metric.overflow"); ok && v.Str() == "true" {
				return dps.At(j).IntValue()
			}
		}
	}
	t.Fatalf("no overflow series in %s", metric)
	return 0
}

// TestConcurrentConsumeAndFlushIsExact consumes from several goroutines while
// the flush loop runs, then shuts down: the last (final) flush holds exactly
// every span, counted once.
func TestConcurrentConsumeAndFlushIsExact(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Metrics.FlushInterval = time.Millisecond
	sink := new(consumertest.MetricsSink)
	c, err := NewFactory().CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	td := jeevesBatch(10) // 10 pipelines, 70 LLM provider calls, 10 GenAI chats
	const workers, batches = 4, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range batches {
				assert.NoError(t, c.ConsumeTraces(context.Background(), td))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, c.Shutdown(context.Background()))

	all := sink.AllMetrics()
	require.NotEmpty(t, all)
	ms := all[len(all)-1].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	sums := map[string]int64{}
	for i := 0; i < ms.Len(); i++ {
		m := ms.At(i)
		if m.Type() != pmetric.MetricTypeSum {
			continue
		}
		for j := 0; j < m.Sum().DataPoints().Len(); j++ {
			sums[m.Name()] += m.Sum().DataPoints().At(j).IntValue()
		}
	}
	n := int64(workers * batches)
	assert.Equal(t, 10*n, sums["jeeves.pipeline.executions"])
	assert.Equal(t, 80*n, sums["jeeves.llm.calls"])
	assert.Equal(t, 70*n, sums["jeeves.agent.executions"])
	assert.Equal(t, int64(td.SpanCount())*n, sums["traces.span.metrics.calls"])
	assert.Equal(t, 1*n, sums["jeeves.termination"], "one trace in ten is terminated")
}
