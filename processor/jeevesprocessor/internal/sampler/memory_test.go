package sampler

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// wireBatch returns benchBatch(n) after a proto round trip, so its strings and slices are allocated
// the way a receiver allocates them. Trace ids are offset by base/5 to make every batch new.
func wireBatch(t testing.TB, n int, base uint64, shape string) ptrace.Traces {
	src := benchBatch(n, "")
	for _, rs := range src.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				id := sp.TraceID()
				id[0] ^= byte(base >> 24)
				id[1] ^= byte(base >> 16)
				id[2] ^= byte(base >> 8)
				id[3] ^= byte(base)
				sp.SetTraceID(id)
				sp.SetParentSpanID(testSpanID(1)) // no roots: traces never end
				switch shape {
				case "bare":
					sp.Attributes().Clear()
				case "events":
					for e := range 3 {
						ev := sp.Events().AppendEmpty()
						ev.SetName("retry")
						ev.SetTimestamp(sp.StartTimestamp())
						ev.Attributes().PutInt("attempt", int64(e))
						ev.Attributes().PutStr("exception.message", "connection reset by peer")
					}
					l := sp.Links().AppendEmpty()
					l.SetTraceID(id)
					l.SetSpanID(testSpanID(7))
				}
			}
		}
	}
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(src)
	require.NoError(t, err)
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(b)
	require.NoError(t, err)
	return td
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestEstimateMatchesHeap buffers 50,000 wire-decoded spans and compares the estimate that max_bytes
// bounds with the heap the buffer actually retains: the estimate must be within 25% of it.
func TestEstimateMatchesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const spans = 50000
	for _, shape := range []string{"bare", "attributes", "events"} {
		tl, _ := newTestTail(t, func(c *Config) { c.MaxTraces = 1 << 20; c.MaxBytes = 1 << 40 })
		base := heapInUse()
		for i := range spans / 1000 {
			tl.Consume(wireBatch(t, 1000, uint64(i+1), shape))
		}
		retained := float64(heapInUse()) - float64(base)
		st := tl.Stats()
		require.Equal(t, spans, st.SpansInMemory)
		t.Logf("%s: estimate %d B (%.0f B/span), heap retained %.0f B (%.0f B/span)", shape,
			st.BytesInMemory, float64(st.BytesInMemory)/spans, retained, retained/spans)
		assert.InEpsilon(t, retained, float64(st.BytesInMemory), 0.25, shape)
		runtime.KeepAlive(tl)
	}
}

// TestFloodStaysWithinMaxBytes sends 400,000 spans of traces that never end (no root span, no
// decision before decision_wait) through max_bytes 16 MiB; unbounded they would hold ~340 MB. The
// estimate never exceeds the bound and the heap the sampler retains stays within 25% of it plus the
// decision cache.
func TestFloodStaysWithinMaxBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const maxBytes = 16 << 20
	const cacheSize = 10000
	tl, _ := newTestTail(t, func(c *Config) {
		c.MaxTraces = 1 << 20
		c.MaxBytes = maxBytes
		c.DecisionCacheSize = cacheSize
		c.DecisionWait = time.Hour
	})
	base := heapInUse()
	forwarded := 0
	for i := range 400 {
		forwarded += tl.Consume(wireBatch(t, 1000, uint64(i+1), "attributes")).SpanCount()
		require.LessOrEqual(t, tl.Stats().BytesInMemory, int64(maxBytes))
	}
	retained := float64(heapInUse()) - float64(base)
	st := tl.Stats()
	t.Logf("retained %.1f MiB, estimate %.1f MiB, %d traces / %d spans buffered, forced %d, forwarded %d spans",
		retained/(1<<20), float64(st.BytesInMemory)/(1<<20), st.TracesInMemory, st.SpansInMemory, st.ForcedMaxBytes, forwarded)
	assert.Less(t, retained, 1.25*maxBytes+cacheSize*80)
	assert.Greater(t, st.BytesInMemory, int64(maxBytes-4096), "the buffer fills up to the bound")
	assert.Equal(t, uint64(80000)-uint64(st.TracesInMemory), st.ForcedMaxBytes)
	assert.Equal(t, cacheSize, st.CachedDecisions)
	runtime.KeepAlive(tl)
}

// TestDecisionCacheBytesPerEntry measures the heap of a full decision cache of 100,000 entries.
func TestDecisionCacheBytesPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	base := heapInUse()
	c := newDecisionCache(100000)
	for i := range uint64(300000) {
		c.put(testTraceID(i), cached{rule: RuleProbability})
	}
	per := (float64(heapInUse()) - float64(base)) / 100000
	t.Logf("decision cache: %.1f B/entry", per)
	assert.Less(t, per, 80.0)
	runtime.KeepAlive(&c)
}
