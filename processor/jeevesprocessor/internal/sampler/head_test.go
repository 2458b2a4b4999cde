package sampler

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func newTestHead(t testing.TB, pct float64) Sampler {
	cfg := DefaultConfig()
	cfg.Mode = ModeHead
	cfg.Percentage = pct
	h, err := New(cfg, nil)
	require.NoError(t, err)
	return h
}

// TestHeadKeptFraction: 100,000 random trace ids at 10% keep 10% ± 0.5%, and exactly those whose low
// 56 bits reach 0xe666 << 40.
func TestHeadKeptFraction(t *testing.T) {
	h := newTestHead(t, 10)
	rng := rand.New(rand.NewPCG(1, 2))
	kept, want := 0, 0
	for range 100000 {
		var id pcommon.TraceID
		binary.BigEndian.PutUint64(id[:8], rng.Uint64())
		low := rng.Uint64()
		binary.BigEndian.PutUint64(id[8:], low)
		if h.AdmitExemplar(id, "") {
			kept++
		}
		if low&(1<<56-1) >= 0xe666<<40 {
			want++
		}
	}
	assert.Equal(t, want, kept)
	assert.InDelta(t, 0.10, float64(kept)/100000, 0.005)
}

// TestHeadIndependentInstancesAgree: two separately built samplers decide identically.
func TestHeadIndependentInstancesAgree(t *testing.T) {
	a, b := newTestHead(t, 10), newTestHead(t, 10)
	differ, kept := 0, 0
	for i := range uint64(100000) {
		id := testTraceID(i)
		ka, kb := a.AdmitExemplar(id, ""), b.AdmitExemplar(id, "")
		if ka != kb {
			differ++
		}
		if ka {
			kept++
		}
	}
	assert.Equal(t, 0, differ)
	assert.InDelta(t, 10000, kept, 500)
}

func TestHeadAdmitUsesRVAndEqualizes(t *testing.T) {
	h := newTestHead(t, 10)
	var low pcommon.TraceID // randomness 0: dropped by any threshold but th:0
	assert.False(t, h.AdmitExemplar(low, ""))
	assert.True(t, h.AdmitExemplar(low, "ot=rv:e6660000000000"), "rv at the threshold is kept")
	assert.False(t, h.AdmitExemplar(low, "ot=rv:e665ffffffffff"), "rv just below the threshold is dropped")
	assert.False(t, h.AdmitExemplar(low, "ot=th:f;rv:e6660000000000"), "an upstream th:f is never lowered")
	assert.True(t, h.AdmitExemplar(low, "ot=th:f;rv:f000000000000"+"0"))
	assert.False(t, h.AdmitExemplar(low, "ot=th:8;rv:12"), "malformed rv falls back to the trace id")
}

// TestHeadConsume: the kept spans come out as copies with the threshold in their tracestate, under
// copies of their resource and scope; a resource without kept spans is left out; the counters add
// up to the batch.
func TestHeadConsume(t *testing.T) {
	h := newTestHead(t, 10)
	var specs []spanSpec
	for i := range uint64(1000) {
		specs = append(specs, spanSpec{trace: i, span: 1, parent: -1})
	}
	specs = append(specs, spanSpec{trace: 5000, span: 1, parent: -1, ts: "vendor=x,ot=rv:" + rvHigh})
	specs = append(specs, spanSpec{trace: 5001, span: 1, parent: -1, ts: "ot=th:f;rv:" + rvHigh})
	td := batch("svc", specs...)
	appendBatch(td, "empty-after", spanSpec{trace: 5002, span: 1, parent: -1, ts: "ot=rv:00000000000000"})

	wantKept := 2
	for i := range uint64(1000) {
		if h.AdmitExemplar(testTraceID(i), "") {
			wantKept++
		}
	}
	out := h.Consume(td)
	assert.Equal(t, wantKept, out.SpanCount())
	assert.Equal(t, 1003, td.SpanCount(), "the input keeps every span")
	require.Equal(t, 1, out.ResourceSpans().Len(), "the resource whose only span was dropped is left out")
	rs := out.ResourceSpans().At(0)
	assert.Equal(t, td.ResourceSpans().At(0).Resource().Attributes().AsRaw(), rs.Resource().Attributes().AsRaw())
	require.Equal(t, 1, rs.ScopeSpans().Len())
	assert.Equal(t, "jeeves", rs.ScopeSpans().At(0).Scope().Name())

	seen := spansOf(out)
	for id, spans := range seen {
		for _, s := range spans {
			switch id {
			case testTraceID(5000):
				assert.Equal(t, "ot=rv:"+rvHigh+";th:e666,vendor=x", s.ts)
			case testTraceID(5001):
				assert.Equal(t, "ot=th:f;rv:"+rvHigh, s.ts)
			default:
				assert.Equal(t, "ot=th:e666", s.ts)
			}
			assert.Empty(t, s.rule, "head mode does not set the rule attribute")
		}
	}
	st := h.Stats()
	assert.Equal(t, Stats{
		Kept:    RuleCounts{Probability: Counts{Spans: uint64(wantKept)}},
		Dropped: RuleCounts{Probability: Counts{Spans: uint64(1003 - wantKept)}},
	}, st)

	// Counters accumulate over calls.
	h.Consume(td)
	st = h.Stats()
	assert.Equal(t, uint64(2*wantKept), st.Kept.Probability.Spans)
	assert.Equal(t, uint64(2*(1003-wantKept)), st.Dropped.Probability.Spans)
}

// TestHeadForwardsExactlyWhatItAdmits: a span admitted as an exemplar is a span Consume forwards,
// and no other, including spans whose tracestate carries rv or th.
func TestHeadForwardsExactlyWhatItAdmits(t *testing.T) {
	h := newTestHead(t, 10)
	var specs []spanSpec
	for i := range uint64(3000) {
		var ts string
		switch i % 3 {
		case 1:
			ts = "ot=rv:" + fmt.Sprintf("%014x", splitmix64(i)>>8)
		case 2:
			ts = "ot=th:f;rv:" + fmt.Sprintf("%014x", splitmix64(i)>>8)
		}
		specs = append(specs, spanSpec{trace: i, span: 1, parent: -1, ts: ts})
	}
	td := batch("svc", specs...)
	got := spansOf(h.Consume(td))
	admitted := 0
	for _, sp := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		admit := h.AdmitExemplar(sp.TraceID(), sp.TraceState().AsRaw())
		_, forwarded := got[sp.TraceID()]
		require.Equal(t, admit, forwarded, "trace %v tracestate %q", sp.TraceID(), sp.TraceState().AsRaw())
		if admit {
			admitted++
		}
	}
	assert.Greater(t, admitted, 100)
	for i := range uint64(3000) {
		keep, decided := h.ExemplarDecision(testTraceID(i))
		require.True(t, keep)
		require.True(t, decided)
	}
}

// TestHeadHoldsNothing: head mode never ticks and has nothing to flush.
func TestHeadHoldsNothing(t *testing.T) {
	h := newTestHead(t, 100)
	require.Equal(t, 1, h.Consume(batch("svc", spanSpec{trace: 1, span: 1, parent: -1})).SpanCount())
	assert.Equal(t, time.Duration(0), h.TickInterval())
	assert.Equal(t, 0, h.Tick(t0.Add(time.Hour)).SpanCount())
	assert.Equal(t, 0, h.Flush().SpanCount())
	assert.False(t, h.Stats().PerTrace)
}

// TestHeadConsumeAllocatesNothingWhenNothingKept measures the allocations of one Consume over a
// 10,000-span batch none of whose spans is kept: reading and deciding allocate nothing. MemStats counts
// the whole process, so a runtime or test-framework goroutine can allocate inside one window; an
// allocation in Consume would show in every window, so the fewest of three windows must be 0.
func TestHeadConsumeAllocatesNothingWhenNothingKept(t *testing.T) {
	for _, ts := range []string{"", "vendor=x,ot=th:8"} {
		h := newTestHead(t, neverKept)
		td := benchBatch(10000, ts)
		fewest := uint64(math.MaxUint64)
		for range 3 {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			out := h.Consume(td)
			runtime.ReadMemStats(&after)
			fewest = min(fewest, after.Mallocs-before.Mallocs)
			assert.Equal(t, 0, out.SpanCount())
		}
		assert.Equal(t, uint64(0), fewest, "tracestate %q", ts)
		assert.Equal(t, uint64(30000), h.Stats().Dropped.Probability.Spans)
	}
}

// TestHeadConsumeAllocatesPerKeptSpan: what Consume allocates grows with the kept spans only: a copy of
// each (its struct, its attribute slice and one box per attribute value: 8 for benchBatch's spans,
// whose empty tracestate gets a constant), plus a few per resource and scope that has kept spans.
func TestHeadConsumeAllocatesPerKeptSpan(t *testing.T) {
	h := newTestHead(t, 10)
	td := benchBatch(10000, "")
	kept := float64(h.Consume(td).SpanCount())
	allocs := testing.AllocsPerRun(5, func() { h.Consume(td) })
	t.Logf("%.0f allocations for %.0f kept spans (%.2f per kept span)", allocs, kept, allocs/kept)
	assert.InDelta(t, 8*kept, allocs, 0.1*8*kept)
}
