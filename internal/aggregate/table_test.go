// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package aggregate

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func key(values ...string) []byte {
	var k Key
	for _, v := range values {
		k.AddString(v)
	}
	return k.Bytes()
}

func sumPoints(t *testing.T, tab *Table, now pcommon.Timestamp) map[string]int64 {
	t.Helper()
	ms := pmetric.NewMetricSlice()
	tab.AppendTo(ms, now, nil)
	require.Equal(t, 1, ms.Len())
	out := map[string]int64{}
	dps := ms.At(0).Sum().DataPoints()
	for i := 0; i < dps.Len(); i++ {
		out[fmt.Sprint(dps.At(i).Attributes().AsRaw())] = dps.At(i).IntValue()
	}
	return out
}

func TestKeyIsCollisionFree(t *testing.T) {
	tab := NewTable(Spec{Labels: []string{"a", "b"}, SumName: "s", Limit: 10})
	tab.Get(key("a", "bc"), 1).Add(1)
	tab.Get(key("ab", "c"), 1).Add(10)
	tab.Get(key("", "abc"), 1).Add(100)
	assert.Equal(t, map[string]int64{
		"map[a:a b:bc]": 1, "map[a:ab b:c]": 10, "map[a: b:abc]": 100,
	}, sumPoints(t, tab, 2))
}

func TestLimitFoldsIntoOverflow(t *testing.T) {
	tab := NewTable(Spec{Labels: []string{"name"}, SumName: "s", Limit: 3})
	for i := range 10 {
		tab.Get(key(fmt.Sprint("n", i)), 1).Add(1)
	}
	tab.Get(key("n0"), 1).Add(1) // existing series still update at the limit
	assert.Equal(t, 4, tab.Len())
	assert.Equal(t, map[string]int64{
		"map[name:n0]": 2, "map[name:n1]": 1, "map[name:n2]": 1, "map[otel.metric.overflow:true]": 7,
	}, sumPoints(t, tab, 2))
	overflowed, expired := tab.TakeCounts()
	assert.Equal(t, int64(7), overflowed)
	assert.Zero(t, expired)
	overflowed, _ = tab.TakeCounts()
	assert.Zero(t, overflowed, "counts reset when taken")
}

func TestExpireKeepsStartTimesAndRebuildsIndex(t *testing.T) {
	tab := NewTable(Spec{Labels: []string{"name"}, SumName: "s", Limit: 100, Expiration: time.Minute})
	minute := pcommon.Timestamp(time.Minute)
	base := 10 * minute
	for i := range 50 {
		tab.Get(key(fmt.Sprint("n", i)), base).Add(1)
	}
	// Keep the odd ones fresh.
	for i := 1; i < 50; i += 2 {
		tab.Get(key(fmt.Sprint("n", i)), base+minute/2).Add(1)
	}
	assert.True(t, tab.Expire(base+minute+minute/4))
	assert.Equal(t, 25, tab.Len())
	_, expired := tab.TakeCounts()
	assert.Equal(t, int64(25), expired)
	// Every survivor is still found (index rebuilt after the moves), with its
	// original start time and value.
	for i := 1; i < 50; i += 2 {
		s := tab.Get(key(fmt.Sprint("n", i)), base+minute)
		assert.Equal(t, int64(2), s.sum, i)
		assert.Equal(t, base, s.start, i)
	}
	assert.Equal(t, 25, tab.Len(), "no duplicates after rebuild")
	assert.False(t, tab.Expire(base+minute), "nothing stale")

	// A new series for an expired key starts over.
	s := tab.Get(key("n0"), base+2*minute)
	assert.Equal(t, int64(0), s.sum)
	assert.Equal(t, base+2*minute, s.start)
}

func TestExpireDropsOverflowSeries(t *testing.T) {
	tab := NewTable(Spec{Labels: []string{"name"}, SumName: "s", Limit: 1, Expiration: time.Second})
	tab.Get(key("a"), 1).Add(1)
	tab.Get(key("b"), 1).Add(1)
	assert.Equal(t, 2, tab.Len())
	tab.Expire(pcommon.Timestamp(3 * time.Second))
	assert.Equal(t, 0, tab.Len())
	_, expired := tab.TakeCounts()
	assert.Equal(t, int64(2), expired)
}

func TestHistogramBucketsAndExemplars(t *testing.T) {
	tab := NewTable(Spec{Labels: []string{"op"}, HistName: "h", HistUnit: "s", Bounds: []float64{0.1, 1}, Limit: 10, MaxExemplars: 2})
	for i, v := range []float64{0.1, 0.5, 1, 1.5} { // le semantics: 0.1 in the first bucket
		s := tab.Get(key("select"), 5)
		s.Observe(v)
		if s.WantsExemplar() {
			s.AddExemplar(Exemplar{TraceID: pcommon.TraceID{byte(i + 1)}, SpanID: pcommon.SpanID{1}, Time: 7, Value: v})
		}
	}
	ms := pmetric.NewMetricSlice()
	tab.AppendTo(ms, 9, nil)
	dp := ms.At(0).Histogram().DataPoints().At(0)
	assert.Equal(t, []uint64{1, 2, 1}, dp.BucketCounts().AsRaw())
	assert.Equal(t, []float64{0.1, 1}, dp.ExplicitBounds().AsRaw())
	assert.Equal(t, uint64(4), dp.Count())
	assert.InDelta(t, 3.1, dp.Sum(), 1e-9)
	assert.Equal(t, pcommon.Timestamp(5), dp.StartTimestamp())
	assert.Equal(t, pcommon.Timestamp(9), dp.Timestamp())
	assert.Equal(t, pmetric.AggregationTemporalityCumulative, ms.At(0).Histogram().AggregationTemporality())
	// Capped at 2: the first two of the interval, in order.
	require.Equal(t, 2, dp.Exemplars().Len())
	assert.Equal(t, pcommon.TraceID{1}, dp.Exemplars().At(0).TraceID())
	assert.Equal(t, pcommon.TraceID{2}, dp.Exemplars().At(1).TraceID())
	assert.InDelta(t, 0.5, dp.Exemplars().At(1).DoubleValue(), 0)
	assert.Equal(t, pcommon.Timestamp(7), dp.Exemplars().At(1).Timestamp())
	assert.Equal(t, pcommon.SpanID{1}, dp.Exemplars().At(1).SpanID())

	// The flush makes room; a flush with nothing new repeats the last
	// emitted exemplars, so an idle series keeps showing them.
	assert.True(t, tab.Get(key("select"), 9).WantsExemplar())
	ms = pmetric.NewMetricSlice()
	tab.AppendTo(ms, 10, nil)
	exs := ms.At(0).Histogram().DataPoints().At(0).Exemplars()
	require.Equal(t, 2, exs.Len())
	assert.Equal(t, pcommon.TraceID{1}, exs.At(0).TraceID())
	assert.Equal(t, pcommon.TraceID{2}, exs.At(1).TraceID())

	// A new exemplar replaces them all.
	s := tab.Get(key("select"), 11)
	s.Observe(0.2)
	s.AddExemplar(Exemplar{TraceID: pcommon.TraceID{9}, Value: 0.2})
	ms = pmetric.NewMetricSlice()
	tab.AppendTo(ms, 12, nil)
	exs = ms.At(0).Histogram().DataPoints().At(0).Exemplars()
	require.Equal(t, 1, exs.Len())
	assert.Equal(t, pcommon.TraceID{9}, exs.At(0).TraceID())
}

func TestKeepExemplarHook(t *testing.T) {
	var r reservoir
	r.items = make([]Exemplar, 4)
	for i := 1; i <= 6; i++ { // 5 and 6 find no room
		r.add(Exemplar{TraceID: pcommon.TraceID{byte(i)}})
	}
	assert.False(t, r.room())
	decisions := map[byte][2]bool{ // keep, decided
		1: {true, true}, 2: {false, true}, 3: {false, false}, 4: {true, true},
	}
	keep := func(id pcommon.TraceID) (bool, bool) { d := decisions[id[0]]; return d[0], d[1] }
	out := r.drain(nil, keep)
	assert.Equal(t, []pcommon.TraceID{{1}, {4}}, traceIDs(out))
	assert.Equal(t, 1, r.n, "undecided exemplar held")

	// Held exemplars keep their slot: three new ones fit, the fourth does not.
	for i := 7; i <= 10; i++ {
		r.add(Exemplar{TraceID: pcommon.TraceID{byte(i)}})
	}
	assert.Equal(t, 4, r.n)
	out = r.drain(nil, func(pcommon.TraceID) (bool, bool) { return true, true })
	assert.Equal(t, []pcommon.TraceID{{3}, {7}, {8}, {9}}, traceIDs(out))

	// Undecided exemplars come back, in order, at the next flush.
	for i := 11; i <= 13; i++ {
		r.add(Exemplar{TraceID: pcommon.TraceID{byte(i)}})
	}
	out = r.drain(nil, func(pcommon.TraceID) (bool, bool) { return false, false })
	assert.Equal(t, []pcommon.TraceID{{3}, {7}, {8}, {9}}, traceIDs(out), "nothing new: the last emitted ones again")
	out = r.drain(nil, func(pcommon.TraceID) (bool, bool) { return true, true })
	assert.Equal(t, []pcommon.TraceID{{11}, {12}, {13}}, traceIDs(out))
	assert.Zero(t, r.n)
	lastEmitted := []pcommon.TraceID{{11}, {12}, {13}}

	// An exemplar that stays undecided is dropped after maxHeldFlushes flushes.
	r.add(Exemplar{TraceID: pcommon.TraceID{30}})
	for range maxHeldFlushes {
		assert.Equal(t, lastEmitted, traceIDs(r.drain(nil, func(pcommon.TraceID) (bool, bool) { return false, false })))
		assert.Equal(t, 1, r.n)
	}
	assert.Equal(t, lastEmitted, traceIDs(r.drain(nil, func(pcommon.TraceID) (bool, bool) { return false, false })))
	assert.Zero(t, r.n, "held too long")

	// Dropped exemplars free their slots.
	r.add(Exemplar{TraceID: pcommon.TraceID{20}})
	out = r.drain(nil, func(pcommon.TraceID) (bool, bool) { return false, true })
	assert.Equal(t, lastEmitted, traceIDs(out), "a dropped one is never emitted; the last kept ones are")
	assert.Zero(t, r.n)

	// A reservoir that never emitted anything emits nothing.
	var empty reservoir
	empty.items = make([]Exemplar, 2)
	empty.add(Exemplar{TraceID: pcommon.TraceID{40}})
	assert.Empty(t, empty.drain(nil, func(pcommon.TraceID) (bool, bool) { return false, true }))
}

func traceIDs(es []Exemplar) []pcommon.TraceID {
	out := make([]pcommon.TraceID, len(es))
	for i, e := range es {
		out[i] = e.TraceID
	}
	return out
}

func TestIndexGrowsAndFindsEverything(t *testing.T) {
	tab := NewTable(Spec{Labels: []string{"name"}, SumName: "s", Limit: 10_000})
	for i := range 10_000 {
		tab.Get(key(fmt.Sprint("series-", i)), 1).Add(int64(i))
	}
	for i := range 10_000 {
		require.Equal(t, int64(i), tab.Get(key(fmt.Sprint("series-", i)), 1).sum)
	}
	assert.Equal(t, 10_000, tab.Len())
}

func TestDecodeKey(t *testing.T) {
	assert.Equal(t, []string{"a", "", "ccc"}, decodeKey(string(key("a", "", "ccc")), 3))
	assert.Equal(t, []string{"a", ""}, decodeKey(string(key("a")), 2), "missing labels are empty")
	assert.Equal(t, []string{""}, decodeKey("\x05ab", 1), "truncated key does not panic")
}

// BenchmarkTableGet measures one series lookup of an existing series by a
// span-metrics-sized key (the hot path once series exist).
func BenchmarkTableGet(b *testing.B) {
	tab := NewTable(Spec{Labels: []string{"service", "span", "kind", "status"}, SumName: "s", Limit: 5000})
	keys := make([][]byte, 1000)
	for i := range keys {
		keys[i] = append([]byte(nil), key("jeeves-orchestrator", fmt.Sprint("llm.provider.call-", i), "SPAN_KIND_CLIENT", "STATUS_CODE_OK")...)
		tab.Get(keys[i], 1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tab.Get(keys[i%len(keys)], 2).Add(1)
		i++
	}
}

// FuzzKeyRoundTrip checks that decodeKey returns exactly the label values a
// Key was built from, whatever bytes they hold, and never panics on garbage.
func FuzzKeyRoundTrip(f *testing.F) {
	f.Add("jeeves-orchestrator", "pipeline.execute", "\x00\xff")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		got := decodeKey(string(key(a, b, c)), 3)
		if got[0] != a || got[1] != b || got[2] != c {
			t.Fatalf("round trip %q %q %q -> %q", a, b, c, got)
		}
		_ = decodeKey(a+b+c, 3)
	})
}

// A FloatSum table emits double sums of AddFloat values, the overflow series
// included.
func TestFloatSum(t *testing.T) {
	tab := NewTable(Spec{Labels: []string{"m"}, SumName: "usd", FloatSum: true, Limit: 1})
	tab.Get(key("a"), 1).AddFloat(0.1)
	tab.Get(key("a"), 1).AddFloat(0.2)
	tab.Get(key("b"), 1).AddFloat(1.5) // beyond the limit: overflow
	ms := pmetric.NewMetricSlice()
	tab.AppendTo(ms, 2, nil)
	require.Equal(t, 1, ms.Len())
	dps := ms.At(0).Sum().DataPoints()
	require.Equal(t, 2, dps.Len())
	assert.Equal(t, pmetric.NumberDataPointValueTypeDouble, dps.At(0).ValueType())
	assert.InDelta(t, 0.3, dps.At(0).DoubleValue(), 1e-15)
	assert.Equal(t, map[string]any{"otel.metric.overflow": "true"}, dps.At(1).Attributes().AsRaw())
	assert.Equal(t, 1.5, dps.At(1).DoubleValue())
}
