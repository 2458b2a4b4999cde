// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadatatest"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// traceSpec describes one test trace: spans alternate between two services,
// the first span is the root and lasts the whole trace.
type traceSpec struct {
	id       pcommon.TraceID
	spans    int
	errSpan  bool          // the last span has status Error
	duration time.Duration // root span duration
	noRoot   bool          // every span has a parent (the root never arrives)
	ts       string        // tracestate of every span
}

// randomID returns a well-spread trace id derived from k (splitmix64), so
// that about 10% of ids reach th:e666.
func randomID(k uint64) pcommon.TraceID {
	mix := func(x uint64) uint64 {
		x += 0x9e3779b97f4a7c15
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		return x ^ (x >> 31)
	}
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], mix(k))
	binary.BigEndian.PutUint64(id[8:], mix(k^0xabcdef))
	return id
}

var specBase = pcommon.NewTimestampFromTime(testBase)

func buildTraces(specs []traceSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	var res [2]ptrace.SpanSlice
	for i, name := range []string{"jeeves-api", "jeeves-worker"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", name)
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("jeeves/tracing")
		res[i] = ss.Spans()
	}
	var seq uint64
	for _, s := range specs {
		var root pcommon.SpanID
		for j := range s.spans {
			sp := res[j%2].AppendEmpty()
			seq++
			var sid pcommon.SpanID
			binary.BigEndian.PutUint64(sid[:], seq)
			sp.SetTraceID(s.id)
			sp.SetSpanID(sid)
			sp.SetName("step")
			switch {
			case j == 0 && !s.noRoot:
				root = sid
				sp.SetStartTimestamp(specBase)
				sp.SetEndTimestamp(specBase + pcommon.Timestamp(max(s.duration, time.Millisecond)))
			default:
				if j == 0 {
					sp.SetParentSpanID(pcommon.SpanID{0xff})
				} else {
					sp.SetParentSpanID(root)
					if root.IsEmpty() {
						sp.SetParentSpanID(pcommon.SpanID{0xff})
					}
				}
				sp.SetStartTimestamp(specBase + 1000)
				sp.SetEndTimestamp(specBase + 2000)
			}
			if s.errSpan && j == s.spans-1 {
				sp.Status().SetCode(ptrace.StatusCodeError)
			}
			if s.ts != "" {
				sp.TraceState().FromRaw(s.ts)
			}
		}
	}
	return td
}

// keptAt10 is the reference decision: contrib's OTEP 235 implementation at
// 10%, precision 4.
func keptAt10(t *testing.T, id pcommon.TraceID) bool {
	t.Helper()
	th, err := sampling.ProbabilityToThresholdWithPrecision(0.10, 4)
	require.NoError(t, err)
	return th.ShouldSample(sampling.TraceIDToRandomness(id))
}

// forwardedSpan is what a test needs from one forwarded span.
type forwardedSpan struct {
	rule, ts string
}

func forwarded(all []ptrace.Traces) map[pcommon.TraceID][]forwardedSpan {
	out := map[pcommon.TraceID][]forwardedSpan{}
	for _, td := range all {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					rule := "<none>"
					if v, ok := sp.Attributes().Get(sampler.RuleAttribute); ok {
						rule = v.Str()
					}
					out[sp.TraceID()] = append(out[sp.TraceID()], forwardedSpan{rule: rule, ts: sp.TraceState().AsRaw()})
				}
			}
		}
	}
	return out
}

// samplingHarness holds both faces of one component ID, as a collector with a
// metrics/jeeves and a traces/sampled pipeline creates them.
type samplingHarness struct {
	metrics *metricsFace
	traces  *samplingFace
	msink   *consumertest.MetricsSink
	tsink   *consumertest.TracesSink
	tel     *componenttest.Telemetry
	clock   *fakeClock
}

func newSamplingHarness(t *testing.T, mutate func(*Config), next consumer.Traces) *samplingHarness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	h := &samplingHarness{msink: new(consumertest.MetricsSink), tsink: new(consumertest.TracesSink), tel: tel, clock: &fakeClock{t: testBase}}
	if next == nil {
		next = h.tsink
	}
	f := NewFactory()
	mc, err := f.CreateTracesToMetrics(context.Background(), metadatatest.NewSettings(tel), cfg, h.msink)
	require.NoError(t, err)
	tc, err := f.CreateTracesToTraces(context.Background(), metadatatest.NewSettings(tel), cfg, next)
	require.NoError(t, err)
	h.metrics, h.traces = mc.(*metricsFace), tc.(*samplingFace)
	h.metrics.c.now = h.clock.Now
	t.Cleanup(func() {
		require.NoError(t, tc.Shutdown(context.Background()))
		require.NoError(t, mc.Shutdown(context.Background()))
		require.NoError(t, tel.Shutdown(context.Background()))
	})
	return h
}

func (h *samplingHarness) last(t *testing.T) pmetric.Metrics {
	t.Helper()
	all := h.msink.AllMetrics()
	require.NotEmpty(t, all)
	return all[len(all)-1]
}

// consume does what the collector's fan-out does for one batch when no
// consumer mutates data: both faces get the same batch, marked read-only (any
// attempt to change it panics).
func (h *samplingHarness) consume(t *testing.T, td ptrace.Traces) {
	t.Helper()
	td.MarkReadOnly()
	require.NoError(t, h.metrics.ConsumeTraces(context.Background(), td))
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), td))
}

// TestFacesLeaveTheBatchUntouched: both faces declare that they only read,
// so the collector hands them one batch without copying it; in both modes
// the batch is unchanged afterwards, and what is forwarded is a copy.
func TestFacesLeaveTheBatchUntouched(t *testing.T) {
	for _, mode := range []sampler.Mode{sampler.ModeTail, sampler.ModeHead} {
		t.Run(string(mode), func(t *testing.T) {
			h := newSamplingHarness(t, func(c *Config) {
				c.Sampling.Mode = mode
				c.Sampling.RootSpanGrace = 0 // tail decides on the root's arrival
			}, nil)
			assert.False(t, h.metrics.Capabilities().MutatesData)
			assert.False(t, h.traces.Capabilities().MutatesData)
			specs := plainSpecs(200, 1, "")
			specs = append(specs, traceSpec{id: randomID(9999), spans: 3, errSpan: true})
			td := buildTraces(specs)
			want := buildTraces(specs)
			h.consume(t, td) // read-only: a write would panic
			require.NoError(t, ptracetest.CompareTraces(want, td))
			require.NotEmpty(t, h.tsink.AllTraces(), "kept spans forwarded")
			got := h.tsink.AllTraces()[0]
			assert.False(t, got.IsReadOnly(), "the forwarded batch is the sampler's own copy")
		})
	}
}

func TestSamplingLifecycle(t *testing.T) {
	for _, mode := range []string{"tail", "head"} {
		t.Run(mode, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Sampling.Mode = sampler.Mode(mode)
			f := NewFactory()
			set := connectortest.NewNopSettings(metadata.Type)

			// Shutdown without Start, twice.
			c, err := f.CreateTracesToTraces(context.Background(), set, cfg, consumertest.NewNop())
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
			require.NoError(t, c.Shutdown(context.Background()))

			// Start twice, Shutdown twice; the connector object is released.
			c, err = f.CreateTracesToTraces(context.Background(), set, cfg, consumertest.NewNop())
			require.NoError(t, err)
			host := componenttest.NewNopHost()
			require.NoError(t, c.Start(context.Background(), host))
			require.NoError(t, c.Start(context.Background(), host))
			require.NoError(t, c.Shutdown(context.Background()))
			require.NoError(t, c.Shutdown(context.Background()))
			connectors.mu.Lock()
			_, still := connectors.byID[set.ID]
			connectors.mu.Unlock()
			assert.False(t, still)
		})
	}
}

func TestSamplingRejectsInvalidConfigAtCreate(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Sampling.Percentage = 0
	_, err := NewFactory().CreateTracesToTraces(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.EqualError(t, err, "sampling.percentage must be in (0, 100], got 0")
	connectors.mu.Lock()
	assert.Empty(t, connectors.byID, "a failed create releases its connector object")
	connectors.mu.Unlock()
}

// plainSpecs returns n three-span traces with spread ids.
func plainSpecs(n int, from uint64, ts string) []traceSpec {
	specs := make([]traceSpec, n)
	for i := range specs {
		specs[i] = traceSpec{id: randomID(from + uint64(i)), spans: 3, duration: 100 * time.Millisecond, ts: ts}
	}
	return specs
}

func TestHeadModeForwardsExactly(t *testing.T) {
	h := newSamplingHarness(t, func(c *Config) { c.Sampling.Mode = "head" }, nil)
	specs := append(plainSpecs(1000, 0, ""), plainSpecs(1000, 5000, "vendor=x")...)
	h.consume(t, buildTraces(specs))

	got := forwarded(h.tsink.AllTraces())
	keptSpans := 0
	for _, s := range specs {
		fs, kept := got[s.id]
		if !keptAt10(t, s.id) {
			assert.False(t, kept, "trace %v dropped by OTEP 235 but forwarded", s.id)
			continue
		}
		require.True(t, kept, "trace %v kept by OTEP 235 but not forwarded", s.id)
		require.Len(t, fs, s.spans, "whole trace")
		keptSpans += len(fs)
		want := "ot=th:e666"
		if s.ts != "" {
			want += "," + s.ts
		}
		for _, f := range fs {
			assert.Equal(t, want, f.ts)
			assert.Equal(t, "<none>", f.rule, "head mode sets no rule attribute")
		}
	}
	assert.Len(t, got, keptSpans/3)
	assert.InDelta(t, 200, len(got), 40, "about 10%% of 2,000 traces")

	metadatatest.AssertEqualConnectorJeevesSamplingSpans(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: int64(keptSpans), Attributes: attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "probability"))},
		{Value: int64(6000 - keptSpans), Attributes: attribute.NewSet(attribute.String("decision", "dropped"), attribute.String("rule", "probability"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorJeevesSamplingMalformedTracestates(t, h.tel, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	// Head mode decides spans one by one: it serves no per-trace counts and
	// holds no buffer, so those series are absent rather than 0.
	_, err := h.tel.GetMetric("otelcol_connector_jeeves_sampling_traces_in_memory")
	require.Error(t, err)
	_, err = h.tel.GetMetric("otelcol_connector_jeeves_sampling_traces")
	require.Error(t, err)
}

// TestHeadModeExemplarsFollowTraceState: in head mode an exemplar is admitted
// only when its span is kept, judged with the span's own tracestate, so an
// upstream rv (or th) counts exactly as in the sampling decision.
func TestHeadModeExemplarsFollowTraceState(t *testing.T) {
	h := newSamplingHarness(t, func(c *Config) { c.Sampling.Mode = "head" }, nil)
	var specs []traceSpec
	byID := map[pcommon.TraceID]string{}
	for i := range 600 {
		ts := [...]string{"", "ot=rv:ffffffffffffff", "ot=rv:00000000000000"}[i%3]
		s := traceSpec{id: randomID(uint64(i)), spans: 2, duration: time.Duration(i+1) * time.Millisecond, ts: ts}
		specs = append(specs, s)
		byID[s.id] = ts
	}
	for start := 0; start < len(specs); start += 15 {
		h.consume(t, buildTraces(specs[start:start+15]))
		h.metrics.m.flush(context.Background())
	}
	got := forwarded(h.tsink.AllTraces())
	var exemplars, byRV int
	for _, md := range h.msink.AllMetrics() {
		for _, m := range md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
			if m.Type() != pmetric.MetricTypeHistogram {
				continue
			}
			for _, dp := range m.Histogram().DataPoints().All() {
				for _, ex := range dp.Exemplars().All() {
					exemplars++
					id := ex.TraceID()
					_, ok := got[id]
					assert.True(t, ok, "exemplar of trace %s (tracestate %q) was not forwarded", fmtTraceID(id), byID[id])
					assert.NotEqual(t, "ot=rv:00000000000000", byID[id])
					if byID[id] == "ot=rv:ffffffffffffff" && !keptAt10(t, id) {
						byRV++ // kept only because of its rv
					}
				}
			}
		}
	}
	assert.Greater(t, exemplars, 40)
	assert.Positive(t, byRV, "exemplars of traces kept by their incoming rv")
}

func TestHeadModeNeverUpSamples(t *testing.T) {
	h := newSamplingHarness(t, func(c *Config) { c.Sampling.Mode = "head" }, nil)
	// Sampled upstream at 1% (th:fd70a4): only ids that reach that threshold stay.
	specs := plainSpecs(3000, 0, "ot=th:fd70a4")
	h.consume(t, buildTraces(specs))
	got := forwarded(h.tsink.AllTraces())
	th, err := sampling.TValueToThreshold("fd70a4")
	require.NoError(t, err)
	n := 0
	for _, s := range specs {
		want := th.ShouldSample(sampling.TraceIDToRandomness(s.id))
		_, kept := got[s.id]
		assert.Equal(t, want, kept)
		if kept {
			n++
			for _, f := range got[s.id] {
				assert.Equal(t, "ot=th:fd70a4", f.ts, "the higher upstream threshold is kept")
			}
		}
	}
	assert.Less(t, n, 90, "about 1%% of 3,000")
}

func TestHeadForwardErrorIsCountedNotReturned(t *testing.T) {
	boom := errors.New("queue full")
	h := newSamplingHarness(t, func(c *Config) { c.Sampling.Mode = "head" }, consumertest.NewErr(boom))
	specs := plainSpecs(200, 0, "")
	clone := buildTraces(specs)
	kept := 0
	for _, s := range specs {
		if keptAt10(t, s.id) {
			kept += s.spans
		}
	}
	require.Positive(t, kept)
	// Returning the error would have the sender retry the whole batch, and
	// the metrics face count its spans twice.
	require.NoError(t, h.traces.ConsumeTraces(context.Background(), clone))
	metadatatest.AssertEqualConnectorJeevesSamplingForwardErrors(t, h.tel, []metricdata.DataPoint[int64]{{Value: int64(kept)}}, metricdatatest.IgnoreTimestamp())
}

// tailSpecs is a mix: plain traces, error traces (a child span errs), slow
// traces (6 s root) and traces whose only error or slowness would otherwise be
// dropped by probability.
func tailSpecs() (specs []traceSpec, errIDs, slowIDs map[pcommon.TraceID]bool) {
	errIDs, slowIDs = map[pcommon.TraceID]bool{}, map[pcommon.TraceID]bool{}
	specs = plainSpecs(1500, 0, "")
	for i := range 60 {
		s := traceSpec{id: randomID(10_000 + uint64(i)), spans: 4, errSpan: true, duration: 200 * time.Millisecond}
		errIDs[s.id] = true
		specs = append(specs, s)
	}
	for i := range 60 {
		s := traceSpec{id: randomID(20_000 + uint64(i)), spans: 5, duration: 6 * time.Second}
		slowIDs[s.id] = true
		specs = append(specs, s)
	}
	return specs, errIDs, slowIDs
}

// checkTailOutput asserts the exact forwarded set: error and slow traces
// whole with their rule and th:0, plain traces exactly as OTEP 235 says,
// whole, with th:e666.
func checkTailOutput(t *testing.T, specs []traceSpec, errIDs, slowIDs map[pcommon.TraceID]bool, got map[pcommon.TraceID][]forwardedSpan) (keptTraces, keptSpans map[string]int) {
	t.Helper()
	keptTraces, keptSpans = map[string]int{}, map[string]int{}
	for _, s := range specs {
		fs, kept := got[s.id]
		wantRule, wantTS := "probability", "ot=th:e666"
		switch {
		case errIDs[s.id]:
			wantRule, wantTS = "error", "ot=th:0"
		case slowIDs[s.id]:
			wantRule, wantTS = "latency", "ot=th:0"
		case !keptAt10(t, s.id):
			assert.False(t, kept, "plain trace dropped by OTEP 235 but forwarded")
			continue
		}
		if !assert.True(t, kept, "trace (%s) not forwarded", wantRule) {
			continue
		}
		assert.Len(t, fs, s.spans, "whole trace")
		for _, f := range fs {
			assert.Equal(t, wantRule, f.rule)
			assert.Equal(t, wantTS, f.ts)
		}
		keptTraces[wantRule]++
		keptSpans[wantRule] += len(fs)
	}
	var total int
	for _, n := range keptTraces {
		total += n
	}
	assert.Len(t, got, total, "nothing else forwarded")
	return keptTraces, keptSpans
}

func TestTailModeForwardsWholeTracesFromTicker(t *testing.T) {
	h := newSamplingHarness(t, func(c *Config) {
		c.Sampling.DecisionWait = time.Minute
		c.Sampling.RootSpanGrace = time.Second
	}, nil)
	require.NoError(t, h.traces.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, h.metrics.Start(context.Background(), componenttest.NewNopHost()))

	specs, errIDs, slowIDs := tailSpecs()
	// Children first, the root in a later batch, as from several services.
	td := buildTraces(specs)
	h.consume(t, td)
	assert.Empty(t, h.tsink.AllTraces(), "nothing is decided before root_span_grace")
	metadatatest.AssertEqualConnectorJeevesSamplingTracesInMemory(t, h.tel, []metricdata.DataPoint[int64]{{Value: int64(len(specs))}}, metricdatatest.IgnoreTimestamp())

	h.clock.Set(testBase.Add(1500 * time.Millisecond)) // grace over: the ticker decides
	require.Eventually(t, func() bool { return h.traces.s.sampler.Stats().TracesInMemory == 0 }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return h.tsink.SpanCount() > 0 }, 5*time.Second, 5*time.Millisecond)
	traces, spans := checkTailOutput(t, specs, errIDs, slowIDs, forwarded(h.tsink.AllTraces()))
	assert.Equal(t, 60, traces["error"])
	assert.Equal(t, 60, traces["latency"])

	plainTraces := 1500 - traces["probability"]
	metadatatest.AssertEqualConnectorJeevesSamplingTraces(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: int64(traces["probability"]), Attributes: attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "probability"))},
		{Value: 60, Attributes: attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "error"))},
		{Value: 60, Attributes: attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "latency"))},
		{Value: int64(plainTraces), Attributes: attribute.NewSet(attribute.String("decision", "dropped"), attribute.String("rule", "probability"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorJeevesSamplingSpans(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: int64(spans["probability"]), Attributes: attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "probability"))},
		{Value: 240, Attributes: attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "error"))},
		{Value: 300, Attributes: attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "latency"))},
		{Value: int64(3 * plainTraces), Attributes: attribute.NewSet(attribute.String("decision", "dropped"), attribute.String("rule", "probability"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorJeevesSamplingTracesInMemory(t, h.tel, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorJeevesSamplingBytesInMemory(t, h.tel, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())

	// Late spans follow the decision: one more span of a kept error trace
	// and of a dropped plain trace.
	var droppedID pcommon.TraceID
	for _, s := range specs {
		if !keptAt10(t, s.id) && !errIDs[s.id] && !slowIDs[s.id] {
			droppedID = s.id
			break
		}
	}
	var errID pcommon.TraceID
	for id := range errIDs {
		errID = id
		break
	}
	before := h.tsink.SpanCount()
	h.consume(t, buildTraces([]traceSpec{{id: errID, spans: 1, noRoot: true}, {id: droppedID, spans: 1, noRoot: true}}))
	assert.Equal(t, before+1, h.tsink.SpanCount(), "the late span of the kept trace is forwarded at once")
	last := forwarded(h.tsink.AllTraces()[len(h.tsink.AllTraces())-1:])
	assert.Equal(t, []forwardedSpan{{rule: "error", ts: "ot=th:0"}}, last[errID])
	metadatatest.AssertEqualConnectorJeevesSamplingLateSpans(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("decision", "kept"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("decision", "dropped"))},
	}, metricdatatest.IgnoreTimestamp())
}

func TestTailDecisionWaitWithoutRoot(t *testing.T) {
	h := newSamplingHarness(t, func(c *Config) { c.Sampling.DecisionWait = 2 * time.Second }, nil)
	require.NoError(t, h.traces.Start(context.Background(), componenttest.NewNopHost()))
	specs := []traceSpec{{id: randomID(1), spans: 2, noRoot: true, errSpan: true}}
	h.consume(t, buildTraces(specs))
	h.clock.Set(testBase.Add(1900 * time.Millisecond))
	time.Sleep(3 * h.traces.s.sampler.TickInterval())
	assert.Zero(t, h.tsink.SpanCount(), "undecided before decision_wait")
	h.clock.Set(testBase.Add(2 * time.Second))
	require.Eventually(t, func() bool { return h.tsink.SpanCount() == 2 }, 5*time.Second, 5*time.Millisecond)
}

func TestTailShutdownFlushesBufferedTraces(t *testing.T) {
	h := newSamplingHarness(t, func(c *Config) {
		c.Sampling.DecisionWait = time.Hour
		c.Sampling.RootSpanGrace = time.Hour
	}, nil)
	require.NoError(t, h.traces.Start(context.Background(), componenttest.NewNopHost()))
	specs, errIDs, slowIDs := tailSpecs()
	h.consume(t, buildTraces(specs))
	time.Sleep(3 * h.traces.s.sampler.TickInterval())
	assert.Zero(t, h.tsink.SpanCount(), "everything still buffered")
	require.NoError(t, h.traces.Shutdown(context.Background()))
	checkTailOutput(t, specs, errIDs, slowIDs, forwarded(h.tsink.AllTraces()))
	assert.Zero(t, h.traces.s.sampler.Stats().TracesInMemory)
}

// failingSink refuses every batch and counts spans.
type failingSink struct {
	mu    sync.Mutex
	spans int
}

func (f *failingSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (f *failingSink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	f.mu.Lock()
	f.spans += td.SpanCount()
	f.mu.Unlock()
	return errors.New("exporter queue is full")
}

func TestTailForwardErrorsAreCounted(t *testing.T) {
	next := &failingSink{}
	h := newSamplingHarness(t, func(c *Config) { c.Sampling.DecisionWait = time.Second }, next)
	require.NoError(t, h.traces.Start(context.Background(), componenttest.NewNopHost()))
	specs, _, _ := tailSpecs()
	h.consume(t, buildTraces(specs)) // ConsumeTraces returns nil: the spans are the sampler's
	h.clock.Set(testBase.Add(2 * time.Second))
	require.Eventually(t, func() bool { return h.traces.s.sampler.Stats().TracesInMemory == 0 }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool {
		next.mu.Lock()
		defer next.mu.Unlock()
		return next.spans > 0
	}, 5*time.Second, 5*time.Millisecond)
	st := h.traces.s.sampler.Stats()
	want := int64(st.Kept.Probability.Spans + st.Kept.Error.Spans + st.Kept.Latency.Spans)
	next.mu.Lock()
	assert.Equal(t, want, int64(next.spans))
	next.mu.Unlock()
	// The counter is added right after each refusal returns: wait until it has them all.
	require.Eventually(t, func() bool {
		m, err := h.tel.GetMetric("otelcol_connector_jeeves_sampling_forward_errors")
		if err != nil {
			return false
		}
		sum, ok := m.Data.(metricdata.Sum[int64])
		return ok && len(sum.DataPoints) == 1 && sum.DataPoints[0].Value == want
	}, 5*time.Second, 5*time.Millisecond)
	metadatatest.AssertEqualConnectorJeevesSamplingForwardErrors(t, h.tel, []metricdata.DataPoint[int64]{{Value: want}}, metricdatatest.IgnoreTimestamp())
}

// TestTailMemoryBoundAtConnector floods the sampling face with traces that
// never end (no root, decision_wait 1h): the buffer stays within max_bytes
// and max_traces, the forced decisions are counted by reason, and the
// in-memory gauges show the bound.
func TestTailMemoryBoundAtConnector(t *testing.T) {
	const maxBytes = 1 << 20
	h := newSamplingHarness(t, func(c *Config) {
		c.Sampling.DecisionWait = time.Hour
		c.Sampling.MaxBytes = maxBytes
		c.Sampling.MaxTraces = 2000
	}, nil)
	var k uint64
	for range 40 {
		specs := make([]traceSpec, 250)
		for i := range specs {
			k++
			specs[i] = traceSpec{id: randomID(k), spans: 4, noRoot: true}
		}
		require.NoError(t, h.traces.ConsumeTraces(context.Background(), buildTraces(specs)))
		st := h.traces.s.sampler.Stats()
		require.LessOrEqual(t, st.BytesInMemory, int64(maxBytes))
		require.LessOrEqual(t, st.TracesInMemory, 2000)
	}
	st := h.traces.s.sampler.Stats()
	require.Positive(t, st.ForcedMaxBytes, "1 MiB holds fewer than 2,000 four-span traces")
	metadatatest.AssertEqualConnectorJeevesSamplingForcedDecisions(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: int64(st.ForcedMaxTraces), Attributes: attribute.NewSet(attribute.String("reason", "max_traces"))},
		{Value: int64(st.ForcedMaxBytes), Attributes: attribute.NewSet(attribute.String("reason", "max_bytes"))},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorJeevesSamplingBytesInMemory(t, h.tel, []metricdata.DataPoint[int64]{{Value: st.BytesInMemory}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorJeevesSamplingTracesInMemory(t, h.tel, []metricdata.DataPoint[int64]{{Value: int64(st.TracesInMemory)}}, metricdatatest.IgnoreTimestamp())
	assert.Equal(t, 10_000-st.TracesInMemory, int(st.Kept.Probability.Traces+st.Dropped.Probability.Traces), "every trace that left the buffer was decided")
}

// TestTailMaxTracesAtConnector hits the max_traces bound on its own: tiny
// traces, the default max_bytes.
func TestTailMaxTracesAtConnector(t *testing.T) {
	h2 := newSamplingHarness(t, func(c *Config) {
		c.Sampling.DecisionWait = time.Hour
		c.Sampling.MaxTraces = 100
	}, nil)
	specs := make([]traceSpec, 300)
	for i := range specs {
		specs[i] = traceSpec{id: randomID(100_000 + uint64(i)), spans: 1, noRoot: true}
	}
	require.NoError(t, h2.traces.ConsumeTraces(context.Background(), buildTraces(specs)))
	st2 := h2.traces.s.sampler.Stats()
	assert.Equal(t, 100, st2.TracesInMemory)
	assert.Equal(t, uint64(200), st2.ForcedMaxTraces)
	assert.Zero(t, st2.ForcedMaxBytes)
	metadatatest.AssertEqualConnectorJeevesSamplingForcedDecisions(t, h2.tel, []metricdata.DataPoint[int64]{
		{Value: 200, Attributes: attribute.NewSet(attribute.String("reason", "max_traces"))},
		{Value: 0, Attributes: attribute.NewSet(attribute.String("reason", "max_bytes"))},
	}, metricdatatest.IgnoreTimestamp())
}

// TestExemplarsPointAtForwardedTraces runs the jeeves-loadgen plan through
// both faces in tail mode, as the collector fans it out, and checks that the
// RED metrics still count every span while every exemplar references a trace
// the sampling face forwarded.
func TestExemplarsPointAtForwardedTraces(t *testing.T) {
	h := newSamplingHarness(t, nil, nil)
	cfg := loadgen.DefaultConfig()
	cfg.Traces = 3000
	cfg.ErrorRatio, cfg.SlowRatio = 0.05, 0.05
	manifest, err := loadgen.Plan(cfg)
	require.NoError(t, err)
	g := loadgen.NewGenerator(cfg)
	flushAt := testBase
	for start := 0; start < cfg.Traces; start += 300 {
		var plans []*loadgen.TracePlan
		for i := start; i < min(start+300, cfg.Traces); i++ {
			plans = append(plans, g.Trace(i))
		}
		h.clock.Set(flushAt)
		h.consume(t, planTraces(plans, cfg.Services))
		// Decide what is due (root_span_grace 1s), then flush the metrics.
		flushAt = flushAt.Add(1500 * time.Millisecond)
		h.clock.Set(flushAt)
		h.traces.s.forward(context.Background(), h.traces.s.sampler.Tick(flushAt))
		h.metrics.m.flush(context.Background())
	}
	assert.Zero(t, h.traces.s.sampler.Stats().TracesInMemory)

	got := forwarded(h.tsink.AllTraces())
	var keptError, keptSlow, errorTraces, slowTraces int
	// Every error and slow trace of the plan is forwarded whole.
	g = loadgen.NewGenerator(cfg)
	for i := range cfg.Traces {
		p := g.Trace(i)
		fs, kept := got[pcommon.TraceID(p.TraceID)]
		if kept {
			assert.Len(t, fs, len(p.Spans), "whole trace")
		}
		if p.Error {
			errorTraces++
			if kept {
				keptError++
			}
		}
		if p.Slow {
			slowTraces++
			if kept {
				keptSlow++
			}
		}
	}
	assert.Positive(t, errorTraces)
	assert.Positive(t, slowTraces)
	assert.Equal(t, errorTraces, keptError)
	assert.Equal(t, slowTraces, keptSlow)

	var exemplars int
	var spm int64
	for _, md := range h.msink.AllMetrics() {
		for _, m := range md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
			if m.Name() == "traces.span.metrics.calls" {
				spm = 0
				for _, dp := range m.Sum().DataPoints().All() {
					spm += dp.IntValue()
				}
			}
			if m.Type() != pmetric.MetricTypeHistogram {
				continue
			}
			for _, dp := range m.Histogram().DataPoints().All() {
				for _, ex := range dp.Exemplars().All() {
					exemplars++
					_, ok := got[ex.TraceID()]
					assert.True(t, ok, "exemplar of %s references trace %s, which was not forwarded", m.Name(), fmtTraceID(ex.TraceID()))
				}
			}
		}
	}
	assert.Equal(t, manifest.Spans, spm, "RED metrics count every span, not the sample")
	assert.Greater(t, exemplars, 50, "exemplars exist")

	// After the traffic stops, later flushes still carry the last kept
	// exemplars (what a scrape after the run sees), all of forwarded traces.
	h.metrics.m.flush(context.Background())
	h.metrics.m.flush(context.Background())
	var idle int
	for _, m := range h.last(t).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
		if m.Type() != pmetric.MetricTypeHistogram {
			continue
		}
		for _, dp := range m.Histogram().DataPoints().All() {
			for _, ex := range dp.Exemplars().All() {
				idle++
				_, ok := got[ex.TraceID()]
				assert.True(t, ok, "idle exemplar references trace %s, which was not forwarded", fmtTraceID(ex.TraceID()))
			}
		}
	}
	assert.Greater(t, idle, 20, "idle series keep their last exemplars")
	t.Logf("%d exemplars, all among %d forwarded traces", exemplars, len(got))
}

func TestForwardErrorLogIsRateLimited(t *testing.T) {
	h := newSamplingHarness(t, nil, &failingSink{})
	for range 5 {
		h.traces.s.logForwardError(3, errors.New("x"))
	}
	h.traces.s.errMu.Lock()
	defer h.traces.s.errMu.Unlock()
	assert.Equal(t, 12, h.traces.s.errPending, "one line logged, four calls (12 spans) wait for the next")
}
