package sampler

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func newTestHead(t testing.TB, pct float64) *Head {
	cfg := DefaultConfig()
	cfg.Mode = ModeHead
	cfg.Percentage = pct
	h, err := NewHead(cfg)
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
		if h.Keep(id, "") {
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
		ka, kb := a.Keep(id, ""), b.Keep(id, "")
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

func TestHeadKeepUsesRVAndEqualizes(t *testing.T) {
	h := newTestHead(t, 10)
	var low pcommon.TraceID // randomness 0: dropped by any threshold but th:0
	assert.False(t, h.Keep(low, ""))
	assert.True(t, h.Keep(low, "ot=rv:e6660000000000"), "rv at the threshold is kept")
	assert.False(t, h.Keep(low, "ot=rv:e665ffffffffff"), "rv just below the threshold is dropped")
	assert.False(t, h.Keep(low, "ot=th:f;rv:e6660000000000"), "an upstream th:f is never lowered")
	assert.True(t, h.Keep(low, "ot=th:f;rv:f000000000000"+"0"))
	assert.False(t, h.Keep(low, "ot=th:8;rv:12"), "malformed rv falls back to the trace id")
}

func TestHeadFilter(t *testing.T) {
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
		if h.Keep(testTraceID(i), "") {
			wantKept++
		}
	}
	kept, dropped := h.Filter(td)
	assert.Equal(t, wantKept, kept)
	assert.Equal(t, 1003-wantKept, dropped)
	assert.Equal(t, kept, td.SpanCount())
	require.Equal(t, 1, td.ResourceSpans().Len(), "the resource whose only span was dropped is removed")

	seen := map[pcommon.TraceID]map[pcommon.SpanID]seenSpan{}
	collect(td, seen)
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
}

// TestHeadFilterDoesNotAllocate measures the allocations of one Filter over a fresh 10,000-span batch
// with empty tracestates, including the kept spans' tracestate writes. MemStats counts the whole
// process, so a runtime or test-framework goroutine can allocate inside one window (7 mallocs seen
// on a loaded machine); an allocation in Filter would show in every window, so the fewest of three
// windows must be 0.
func TestHeadFilterDoesNotAllocate(t *testing.T) {
	h := newTestHead(t, 10)
	src := benchBatch(10000, "")
	fewest := uint64(math.MaxUint64)
	for range 3 {
		td := ptrace.NewTraces()
		src.CopyTo(td)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		kept, _ := h.Filter(td)
		runtime.ReadMemStats(&after)
		fewest = min(fewest, after.Mallocs-before.Mallocs)
		assert.Positive(t, kept)
	}
	assert.Equal(t, uint64(0), fewest)
}
