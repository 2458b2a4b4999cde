package sampler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func newTestTail(t testing.TB, mod func(*Config)) (Sampler, *fakeClock) {
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	clk := &fakeClock{now: t0}
	tl, err := New(cfg, clk.Now)
	require.NoError(t, err)
	return tl, clk
}

// neverKept is a percentage whose threshold no test trace id reaches, so only the rules keep.
const neverKept = 1e-12

func spansOf(td ptrace.Traces) map[pcommon.TraceID]map[pcommon.SpanID]seenSpan {
	m := map[pcommon.TraceID]map[pcommon.SpanID]seenSpan{}
	collect(td, m)
	return m
}

func TestTailErrorTraceKeptWhole(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) { c.Percentage = neverKept })
	// Five spans over two services and two batches; one child has status Error.
	out := tl.Consume(batch("front", spanSpec{trace: 1, span: 1, parent: -1, dur: time.Second, ts: "vendor=x"},
		spanSpec{trace: 1, span: 2, parent: 1, dur: 100 * time.Millisecond}))
	assert.Equal(t, 0, out.SpanCount())
	out = tl.Consume(batch("back", spanSpec{trace: 1, span: 3, parent: 2, dur: 10 * time.Millisecond, err: true},
		spanSpec{trace: 1, span: 4, parent: 2, dur: 10 * time.Millisecond, ts: "ot=th:e666"},
		spanSpec{trace: 1, span: 5, parent: 2, dur: 10 * time.Millisecond},
		spanSpec{trace: 2, span: 1, parent: -1, dur: 10 * time.Millisecond}))
	assert.Equal(t, 0, out.SpanCount())
	assert.Equal(t, 0, tl.Tick(t0.Add(999*time.Millisecond)).SpanCount(), "root_span_grace not over")

	kept := tl.Tick(t0.Add(time.Second))
	got := spansOf(kept)
	require.Len(t, got, 1)
	require.Len(t, got[testTraceID(1)], 5)
	want := map[uint64]seenSpan{
		1: {rule: "error", ts: "ot=th:0,vendor=x", service: "front"},
		2: {rule: "error", ts: "ot=th:0", service: "front"},
		3: {rule: "error", ts: "ot=th:0", service: "back"},
		4: {rule: "error", ts: "ot=th:e666", service: "back"}, // sampled upstream at 10%: not up-sampled
		5: {rule: "error", ts: "ot=th:0", service: "back"},
	}
	for n, w := range want {
		assert.Equal(t, w, got[testTraceID(1)][testSpanID(1<<16|n)], "span %d", n)
	}
	assert.Equal(t, 2, kept.ResourceSpans().Len(), "one ResourceSpans per incoming resource")

	s := tl.Stats()
	assert.Equal(t, Counts{Traces: 1, Spans: 5}, s.Kept.Error)
	assert.Equal(t, Counts{Traces: 1, Spans: 1}, s.Dropped.Probability)
	assert.Equal(t, uint64(2), s.EarlyRoot)
	assert.Equal(t, 0, s.TracesInMemory)
	assert.Equal(t, int64(0), s.BytesInMemory)
}

func TestTailErrorsNotKeptWhenDisabled(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) { c.Percentage = neverKept; c.KeepErrors = false })
	tl.Consume(batch("svc", spanSpec{trace: 1, span: 1, parent: -1, err: true}))
	assert.Equal(t, 0, tl.Tick(t0.Add(10*time.Second)).SpanCount())
	assert.Equal(t, Counts{Traces: 1, Spans: 1}, tl.Stats().Dropped.Probability)
}

func TestTailSlowTraceKeptWhole(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) { c.Percentage = neverKept })
	// The root lasts 1s, but a child starts 4.5s later and ends at 5s: duration 5s reaches 5s.
	tl.Consume(batch("svc",
		spanSpec{trace: 7, span: 1, parent: -1, dur: time.Second},
		spanSpec{trace: 7, span: 2, parent: 1, start: 4500 * time.Millisecond, dur: 500 * time.Millisecond},
		spanSpec{trace: 8, span: 1, parent: 99, dur: 4999 * time.Millisecond}, // just below
	))
	got := spansOf(tl.Tick(t0.Add(10 * time.Second)))
	require.Len(t, got, 1)
	require.Len(t, got[testTraceID(7)], 2)
	for _, s := range got[testTraceID(7)] {
		assert.Equal(t, seenSpan{rule: "latency", ts: "ot=th:0", service: "svc"}, s)
	}
	st := tl.Stats()
	assert.Equal(t, Counts{Traces: 1, Spans: 2}, st.Kept.Latency)
	assert.Equal(t, Counts{Traces: 1, Spans: 1}, st.Dropped.Probability)
}

// TestTailNoPartialTraces sends 2,000 five-span traces with their spans spread over five batches;
// every trace comes out whole or not at all, and exactly the traces a head sampler keeps are kept.
func TestTailNoPartialTraces(t *testing.T) {
	tl, _ := newTestTail(t, nil)
	hd := newTestHead(t, 10)
	for s := range uint64(5) {
		td := ptrace.NewTraces()
		var specs []spanSpec
		for tr := range uint64(2000) {
			parent := int64(0)
			if s == 0 {
				parent = -1
			}
			specs = append(specs, spanSpec{trace: tr, span: s, parent: parent, dur: time.Millisecond})
		}
		appendBatch(td, "svc", specs...)
		require.Equal(t, 0, tl.Consume(td).SpanCount())
	}
	got := spansOf(tl.Tick(t0.Add(time.Second)))
	kept := 0
	for tr := range uint64(2000) {
		id := testTraceID(tr)
		if hd.AdmitExemplar(id, "") {
			kept++
			require.Len(t, got[id], 5, "trace %d", tr)
			for _, s := range got[id] {
				assert.Equal(t, seenSpan{rule: "probability", ts: "ot=th:e666", service: "svc"}, s)
			}
		} else {
			assert.Empty(t, got[id], "trace %d", tr)
		}
	}
	assert.Len(t, got, kept)
	st := tl.Stats()
	assert.Equal(t, Counts{Traces: uint64(kept), Spans: uint64(5 * kept)}, st.Kept.Probability)
	assert.Equal(t, Counts{Traces: uint64(2000 - kept), Spans: uint64(5 * (2000 - kept))}, st.Dropped.Probability)
	assert.InDelta(t, 200, kept, 40)
}

// TestTailIndependentInstancesAgree: two separately built tail samplers keep the same traces.
func TestTailIndependentInstancesAgree(t *testing.T) {
	run := func() map[pcommon.TraceID]map[pcommon.SpanID]seenSpan {
		tl, _ := newTestTail(t, nil)
		var specs []spanSpec
		for tr := range uint64(5000) {
			specs = append(specs, spanSpec{trace: tr, span: 1, parent: -1, err: tr%97 == 0, dur: time.Duration(tr%7) * time.Second})
		}
		tl.Consume(batch("svc", specs...))
		return spansOf(tl.Tick(t0.Add(time.Minute)))
	}
	a, b := run(), run()
	assert.Equal(t, a, b)
	assert.Greater(t, len(a), 500)
}

func TestTailEqualizingProbability(t *testing.T) {
	tl, _ := newTestTail(t, nil)
	tl.Consume(batch("svc",
		spanSpec{trace: 1, span: 1, parent: -1, ts: "ot=th:f;rv:" + rvHigh},          // 6.25% upstream: stays
		spanSpec{trace: 2, span: 1, parent: -1, ts: "ot=th:8;rv:" + rvHigh + ",a=b"}, // 50% upstream: raised
		spanSpec{trace: 3, span: 1, parent: -1, ts: "ot=th:fff;rv:f0000000000000"},   // rv below th:fff: dropped
	))
	got := spansOf(tl.Tick(t0.Add(time.Minute)))
	require.Len(t, got, 2)
	assert.Equal(t, "ot=th:f;rv:"+rvHigh, got[testTraceID(1)][testSpanID(1<<16|1)].ts)
	assert.Equal(t, "ot=th:e666;rv:"+rvHigh+",a=b", got[testTraceID(2)][testSpanID(2<<16|1)].ts)
}

func TestTailLateSpansFollowDecision(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) { c.Percentage = neverKept })
	tl.Consume(batch("svc",
		spanSpec{trace: 1, span: 1, parent: -1, err: true},
		spanSpec{trace: 2, span: 1, parent: -1},
	))
	require.Equal(t, 1, tl.Tick(t0.Add(time.Second)).SpanCount())
	kept, decided := tl.ExemplarDecision(testTraceID(1))
	assert.True(t, kept)
	assert.True(t, decided)
	kept, decided = tl.ExemplarDecision(testTraceID(2))
	assert.False(t, kept)
	assert.True(t, decided)

	late := tl.Consume(batch("late",
		spanSpec{trace: 1, span: 2, parent: 1, ts: "z=1"},
		spanSpec{trace: 2, span: 2, parent: 1, err: true}, // an error arriving late cannot revive a dropped trace
		spanSpec{trace: 1, span: 3, parent: 1},
	))
	got := spansOf(late)
	require.Len(t, got, 1)
	assert.Equal(t, map[pcommon.SpanID]seenSpan{
		testSpanID(1<<16 | 2): {rule: "error", ts: "ot=th:0,z=1", service: "late"},
		testSpanID(1<<16 | 3): {rule: "error", ts: "ot=th:0", service: "late"},
	}, got[testTraceID(1)])
	st := tl.Stats()
	assert.Equal(t, uint64(2), st.LateSpansKept)
	assert.Equal(t, uint64(1), st.LateSpansDropped)
	assert.Equal(t, 0, st.TracesInMemory)
}

func TestTailDecisionWhileBuffered(t *testing.T) {
	tl, clk := newTestTail(t, nil)
	tl.Consume(batch("svc", spanSpec{trace: 1, span: 2, parent: 1}))
	kept, decided := tl.ExemplarDecision(testTraceID(1))
	assert.False(t, kept)
	assert.False(t, decided)
	clk.now = t0.Add(3 * time.Second)
	tl.Consume(batch("svc", spanSpec{trace: 1, span: 3, parent: 1}))
	assert.Equal(t, 0, tl.Tick(t0.Add(9999*time.Millisecond)).SpanCount(), "decision_wait counts from the first span")
	tl.Tick(t0.Add(10 * time.Second))
	_, decided = tl.ExemplarDecision(testTraceID(1))
	assert.True(t, decided)
	assert.Equal(t, uint64(0), tl.Stats().EarlyRoot)
}

func TestTailRootGraceZeroDecidesInConsume(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) { c.RootSpanGrace = 0; c.Percentage = neverKept })
	out := tl.Consume(batch("svc",
		spanSpec{trace: 1, span: 2, parent: 1, err: true},
		spanSpec{trace: 1, span: 1, parent: -1}, // root after the child in the same batch: both decided
		spanSpec{trace: 2, span: 2, parent: 1},
	))
	got := spansOf(out)
	require.Len(t, got, 1)
	assert.Len(t, got[testTraceID(1)], 2)
	st := tl.Stats()
	assert.Equal(t, uint64(1), st.EarlyRoot)
	assert.Equal(t, 1, st.TracesInMemory)
}

// TestTailMaxTracesBound: 1,000 never-ending traces through max_traces 100: the oldest are decided
// early, counted, and the buffer never holds more than 100.
func TestTailMaxTracesBound(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) { c.MaxTraces = 100; c.Percentage = 50 })
	var out int
	for i := range uint64(1000) {
		out += tl.Consume(batch("svc", spanSpec{trace: i, span: 2, parent: 1})).SpanCount()
		require.LessOrEqual(t, tl.Stats().TracesInMemory, 100)
	}
	st := tl.Stats()
	assert.Equal(t, 100, st.TracesInMemory)
	assert.Equal(t, uint64(900), st.ForcedMaxTraces)
	assert.Equal(t, uint64(0), st.ForcedMaxBytes)
	assert.Equal(t, uint64(900), st.Kept.Probability.Traces+st.Dropped.Probability.Traces)
	assert.Equal(t, int(st.Kept.Probability.Spans), out, "forced kept traces are returned by Consume")
	// The first 900 were forced, in arrival order.
	_, decided := tl.ExemplarDecision(testTraceID(899))
	assert.True(t, decided)
	_, decided = tl.ExemplarDecision(testTraceID(900))
	assert.False(t, decided)
}

// TestTailMaxBytesBound: spans with a 1 KiB attribute through max_bytes 64 KiB: the estimate never
// exceeds the bound, forced decisions are counted, and the accounting returns to zero.
func TestTailMaxBytesBound(t *testing.T) {
	const maxBytes = 64 << 10
	tl, _ := newTestTail(t, func(c *Config) { c.MaxBytes = maxBytes })
	big := string(make([]byte, 1024))
	var perSpan int64
	forwarded := 0
	for i := range uint64(500) {
		td := batch("svc", spanSpec{trace: i, span: 2, parent: 1}, spanSpec{trace: i, span: 3, parent: 1})
		for _, sp := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
			sp.Attributes().PutStr("payload", big)
			perSpan = EstimateSpanBytes(sp)
		}
		forwarded += tl.Consume(td).SpanCount()
		st := tl.Stats()
		require.LessOrEqual(t, st.BytesInMemory, int64(maxBytes))
		require.Positive(t, st.BytesInMemory)
	}
	st := tl.Stats()
	assert.Greater(t, perSpan, int64(1024))
	// Each trace holds 2 spans + its entry + its group; holders are shared per batch.
	assert.Equal(t, uint64(500)-uint64(st.TracesInMemory), st.ForcedMaxBytes)
	assert.Equal(t, uint64(0), st.ForcedMaxTraces)
	assert.Less(t, st.TracesInMemory, int(maxBytes/(2*perSpan))+1)
	assert.Greater(t, st.TracesInMemory, int(maxBytes/(2*perSpan+2000))-1)

	forwarded += tl.Flush().SpanCount()
	st = tl.Stats()
	assert.Equal(t, int64(0), st.BytesInMemory)
	assert.Equal(t, 0, st.SpansInMemory)
	assert.Equal(t, 0, st.TracesInMemory)
	assert.Equal(t, int(st.Kept.Probability.Spans), forwarded)
	assert.Equal(t, uint64(1000), st.Kept.Probability.Spans+st.Dropped.Probability.Spans)
}

// TestTailSpanLargerThanMaxBytes: a span whose estimate alone exceeds max_bytes is decided at once.
func TestTailSpanLargerThanMaxBytes(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) { c.MaxBytes = 1000; c.Percentage = 100 })
	td := batch("svc", spanSpec{trace: 1, span: 2, parent: 1})
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("payload", string(make([]byte, 2000)))
	out := tl.Consume(td)
	require.Equal(t, 1, out.SpanCount())
	st := tl.Stats()
	assert.Equal(t, uint64(1), st.ForcedMaxBytes)
	assert.Equal(t, Counts{Traces: 1, Spans: 1}, st.Kept.Probability)
	assert.Equal(t, int64(0), st.BytesInMemory)
	assert.Equal(t, "ot=th:0", out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceState().AsRaw())
}

// TestTailDecisionCacheBound: the cache keeps only the last decision_cache_size decisions.
func TestTailDecisionCacheBound(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) { c.DecisionCacheSize = 10 })
	for i := range uint64(25) {
		tl.Consume(batch("svc", spanSpec{trace: i, span: 2, parent: 1}))
	}
	tl.Tick(t0.Add(time.Minute))
	st := tl.Stats()
	assert.Equal(t, 10, st.CachedDecisions)
	for i := range uint64(25) {
		_, decided := tl.ExemplarDecision(testTraceID(i))
		assert.Equal(t, i >= 15, decided, "trace %d", i)
	}
	// A span of an evicted trace starts a new buffered trace instead of following the lost decision.
	tl.Consume(batch("svc", spanSpec{trace: 0, span: 3, parent: 1}))
	assert.Equal(t, 1, tl.Stats().TracesInMemory)
}

func TestDecisionCacheRing(t *testing.T) {
	c := newDecisionCache(3)
	for i := range uint64(5) {
		c.put(testTraceID(i), cached{rule: RuleError})
	}
	assert.Equal(t, 3, c.len())
	for i := range uint64(5) {
		_, ok := c.get(testTraceID(i))
		assert.Equal(t, i >= 2, ok, "id %d", i)
	}
	c.put(testTraceID(4), cached{rule: RuleNone}) // update in place, no eviction
	r, ok := c.get(testTraceID(4))
	assert.True(t, ok)
	assert.Equal(t, RuleNone, r.rule)
	_, ok = c.get(testTraceID(2))
	assert.True(t, ok)
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTraces = 0
	_, err := New(cfg, nil)
	assert.EqualError(t, err, "sampling.max_traces must be at least 1, got 0")
}

func TestTailConcurrentConsume(t *testing.T) {
	tl, _ := newTestTail(t, nil)
	done := make(chan int)
	for g := range uint64(4) {
		go func() {
			n := 0
			for i := range uint64(500) {
				n += tl.Consume(batch("svc", spanSpec{trace: g*1000 + i, span: 1, parent: 5})).SpanCount()
			}
			done <- n
		}()
	}
	for range 4 {
		<-done
	}
	tl.Tick(t0.Add(time.Minute))
	st := tl.Stats()
	assert.Equal(t, uint64(2000), st.Kept.Probability.Traces+st.Dropped.Probability.Traces)
	assert.Equal(t, 0, st.TracesInMemory)
}

// TestTailKeptFractions100k: 100,000 two-span traces, 1% with an error span and 1% slow: every error
// and slow trace is kept whole; of the others 10% ± 0.5% are kept, exactly those head mode keeps.
func TestTailKeptFractions100k(t *testing.T) {
	const traces = 100000
	tl, clk := newTestTail(t, nil)
	hd := newTestHead(t, 10)
	got := map[pcommon.TraceID]map[pcommon.SpanID]seenSpan{}
	kind := func(tr uint64) string {
		switch tr % 100 {
		case 17:
			return "error"
		case 42:
			return "latency"
		}
		return "probability"
	}
	for start := uint64(0); start < traces; start += 1000 {
		var specs []spanSpec
		for tr := start; tr < start+1000; tr++ {
			child := spanSpec{trace: tr, span: 2, parent: 1, dur: 10 * time.Millisecond, err: kind(tr) == "error"}
			root := spanSpec{trace: tr, span: 1, parent: -1, dur: 50 * time.Millisecond}
			if kind(tr) == "latency" {
				root.dur = 6 * time.Second
			}
			specs = append(specs, child, root)
		}
		collect(tl.Consume(batch("svc", specs...)), got)
		clk.now = clk.now.Add(100 * time.Millisecond)
		collect(tl.Tick(clk.now), got)
	}
	collect(tl.Flush(), got)

	var normal, normalKept int
	for tr := range uint64(traces) {
		id := testTraceID(tr)
		k := kind(tr)
		want := k != "probability" || hd.AdmitExemplar(id, "")
		if k == "probability" {
			normal++
			if want {
				normalKept++
			}
		}
		if !want {
			require.Empty(t, got[id], "trace %d", tr)
			continue
		}
		require.Len(t, got[id], 2, "trace %d", tr)
		for _, s := range got[id] {
			require.Equal(t, k, s.rule, "trace %d", tr)
		}
	}
	assert.Len(t, got, normalKept+2000)
	assert.InDelta(t, 0.10, float64(normalKept)/float64(normal), 0.005)
	st := tl.Stats()
	assert.Equal(t, Counts{Traces: 1000, Spans: 2000}, st.Kept.Error)
	assert.Equal(t, Counts{Traces: 1000, Spans: 2000}, st.Kept.Latency)
	assert.Equal(t, Counts{Traces: uint64(normalKept), Spans: uint64(2 * normalKept)}, st.Kept.Probability)
	t.Logf("kept %d of %d ordinary traces (%.3f%%)", normalKept, normal, 100*float64(normalKept)/float64(normal))
}

// TestTailBoundPrefersTracesWithRoot: at the bound, a trace whose root has arrived is decided before
// an older trace still waiting for its root, so a slow trace whose children came first is not
// decided without the root that makes it slow.
func TestTailBoundPrefersTracesWithRoot(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) {
		c.MaxTraces = 2
		c.DecisionWait = time.Hour
		c.RootSpanGrace = time.Hour
		c.Percentage = 1
	})
	slow, done, third := uint64(1), uint64(2), uint64(3)
	require.Zero(t, tl.Consume(batch("svc", spanSpec{trace: slow, span: 2, parent: 1})).SpanCount())
	require.Zero(t, tl.Consume(batch("svc", spanSpec{trace: done, span: 1, parent: -1})).SpanCount()) // a root
	tl.Consume(batch("svc", spanSpec{trace: third, span: 2, parent: 1}))
	st := tl.Stats()
	assert.Equal(t, uint64(1), st.ForcedMaxTraces)
	_, decided := tl.ExemplarDecision(testTraceID(done))
	assert.True(t, decided, "the trace with its root is decided first")
	_, decided = tl.ExemplarDecision(testTraceID(slow))
	assert.False(t, decided, "the older trace waiting for its root is not")

	// Its root arrives, lasting 6 s: the trace is kept by the latency rule at the next bound.
	require.Zero(t, tl.Consume(batch("svc", spanSpec{trace: slow, span: 1, parent: -1, dur: 6 * time.Second})).SpanCount())
	out := tl.Consume(batch("svc", spanSpec{trace: 4, span: 2, parent: 1}))
	assert.Equal(t, 2, out.SpanCount(), "the slow trace, whole")
	kept, decided := tl.ExemplarDecision(testTraceID(slow))
	assert.True(t, decided)
	assert.True(t, kept)
	v, ok := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get(RuleAttribute)
	require.True(t, ok)
	assert.Equal(t, "latency", v.Str())
}

// TestTailMaxBytesPrefersTracesWithRoot: with max_bytes one byte short of what a third trace
// needs, exactly one trace is decided early, and it is the one whose root arrived, not the older one
// still waiting for its root (what a new trace needs includes its first group).
func TestTailMaxBytesPrefersTracesWithRoot(t *testing.T) {
	slow, done, third := uint64(1), uint64(2), uint64(3)
	feed := func(tl Sampler) {
		require.Zero(t, tl.Consume(batch("svc", spanSpec{trace: slow, span: 2, parent: 1})).SpanCount())
		require.Zero(t, tl.Consume(batch("svc", spanSpec{trace: done, span: 1, parent: -1})).SpanCount())
		tl.Consume(batch("svc", spanSpec{trace: third, span: 2, parent: 1}))
	}
	mod := func(maxBytes int64) func(*Config) {
		return func(c *Config) {
			c.DecisionWait = time.Hour
			c.RootSpanGrace = time.Hour
			c.Percentage = neverKept
			c.MaxBytes = maxBytes
		}
	}
	roomy, _ := newTestTail(t, mod(1<<30))
	feed(roomy)
	all := roomy.Stats().BytesInMemory

	tl, _ := newTestTail(t, mod(all-1))
	feed(tl)
	st := tl.Stats()
	assert.Equal(t, uint64(1), st.ForcedMaxBytes)
	assert.LessOrEqual(t, st.BytesInMemory, all-1)
	_, decided := tl.ExemplarDecision(testTraceID(done))
	assert.True(t, decided, "the trace with its root is decided first")
	_, decided = tl.ExemplarDecision(testTraceID(slow))
	assert.False(t, decided, "the older trace waiting for its root is not")
}

// TestTailStampsEachSpanByItsOwnThreshold: a kept trace whose spans arrived with different th values,
// over several resources and calls, leaves with each span's own th where it is at least the stamp
// and the stamp elsewhere, for a rule that keeps everything (th:0) and for the probability rule.
func TestTailStampsEachSpanByItsOwnThreshold(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  bool
		want map[uint64]string
	}{
		{"error", true, map[uint64]string{
			1: "ot=th:c;rv:" + rvHigh, 2: "ot=th:0", 3: "ot=th:f", 4: "ot=th:0,v=1", 5: "ot=th:8", 6: "ot=th:fff",
		}},
		{"probability", false, map[uint64]string{
			1: "ot=th:e666;rv:" + rvHigh, 2: "ot=th:e666", 3: "ot=th:f", 4: "ot=th:e666,v=1", 5: "ot=th:e666", 6: "ot=th:fff",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, _ := newTestTail(t, nil)
			td := batch("front",
				spanSpec{trace: 1, span: 1, parent: -1, ts: "ot=th:c;rv:" + rvHigh},
				spanSpec{trace: 1, span: 2, parent: 1, err: tc.err},
				spanSpec{trace: 1, span: 3, parent: 1, ts: "ot=th:f"},
			)
			appendBatch(td, "back",
				spanSpec{trace: 1, span: 4, parent: 1, ts: "v=1"},
				spanSpec{trace: 1, span: 5, parent: 1, ts: "ot=th:8"},
			)
			require.Zero(t, tl.Consume(td).SpanCount())
			require.Zero(t, tl.Consume(batch("third", spanSpec{trace: 1, span: 6, parent: 1, ts: "ot=th:fff"})).SpanCount())
			got := spansOf(tl.Tick(t0.Add(time.Minute)))[testTraceID(1)]
			require.Len(t, got, 6)
			for n, ts := range tc.want {
				assert.Equal(t, ts, got[testSpanID(1<<16|n)].ts, "span %d", n)
				assert.Equal(t, tc.name, got[testSpanID(1<<16|n)].rule, "span %d", n)
			}
		})
	}
}

// TestTailForwardOrder: within one call, the late spans of kept traces come first, in the order
// they were read, and the traces the call decided follow them, as when late spans stayed in place.
func TestTailForwardOrder(t *testing.T) {
	tl, _ := newTestTail(t, func(c *Config) {
		c.MaxTraces = 1
		c.DecisionWait = time.Hour
		c.RootSpanGrace = time.Hour
		c.Percentage = 100
	})
	a, b := uint64(1), uint64(2)
	require.Zero(t, tl.Consume(batch("svc-a", spanSpec{trace: a, span: 1, parent: -1})).SpanCount())
	in := batch("svc-b", spanSpec{trace: b, span: 1, parent: -1}) // forces a's decision
	appendBatch(in, "svc-a-late", spanSpec{trace: a, span: 2, parent: 1})
	out := tl.Consume(in)
	require.Equal(t, 2, out.SpanCount())
	var services []string
	for _, rs := range out.ResourceSpans().All() {
		v, _ := rs.Resource().Attributes().Get("service.name")
		services = append(services, v.Str())
	}
	assert.Equal(t, []string{"svc-a-late", "svc-a"}, services)
}
