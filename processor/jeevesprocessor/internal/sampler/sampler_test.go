package sampler

import (
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func newTestSampler(t testing.TB, mode Mode, mod func(*Config)) (Sampler, *fakeClock) {
	cfg := DefaultConfig()
	cfg.Mode = mode
	if mod != nil {
		mod(&cfg)
	}
	clk := &fakeClock{now: t0}
	s, err := New(cfg, clk.Now)
	require.NoError(t, err)
	return s, clk
}

var modes = []Mode{ModeHead, ModeTail}

// mixedBatch exercises every path of both modes: kept and dropped traces, errors, slow traces, roots
// and children, tracestates with other vendors, rv, th (lower and higher than ours) and malformed
// sub-keys, over two resources with two scopes.
func mixedBatch(base uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	tss := []string{"", "vendor=x", "ot=rv:" + rvHigh, "ot=th:8;rv:" + rvHigh + ",a=b", "ot=th:f", "ot=th:zz", "ot=rv:xyz"}
	for svc, name := range []string{"front", "back"} {
		var specs []spanSpec
		for i := range uint64(200) {
			tr := base + i
			specs = append(specs, spanSpec{
				trace: tr, span: uint64(svc + 1), parent: int64(svc) - 1,
				dur: time.Duration(tr%7) * time.Second, err: tr%13 == 0, ts: tss[tr%uint64(len(tss))],
			})
		}
		appendBatch(td, name, specs...)
		// A second scope under the same resource.
		ss := td.ResourceSpans().At(svc).ScopeSpans().AppendEmpty()
		ss.Scope().SetName("other")
		ss.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		td.ResourceSpans().At(svc).ScopeSpans().At(0).Spans().At(0).CopyTo(ss.Spans().AppendEmpty())
	}
	return td
}

func protoBytes(t testing.TB, td ptrace.Traces) []byte {
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	return b
}

// TestConsumeLeavesInputUntouched: Consume reads the batch the metrics face also reads. The input is
// marked read-only, as the collector's fan-out marks a batch it shares, so any write would panic;
// and after every call (first sight, late spans of decided traces, forced decisions) the batch is
// still byte-identical to a copy made before, in both modes.
func TestConsumeLeavesInputUntouched(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			s, clk := newTestSampler(t, mode, func(c *Config) { c.MaxTraces = 150 })
			forwarded := 0
			for round := range 3 {
				// Rounds 1 and 2 bring late spans of the traces round 0 decided.
				td := mixedBatch(uint64(round%2) * 100)
				want := ptrace.NewTraces()
				td.CopyTo(want)
				wantBytes := protoBytes(t, want)
				td.MarkReadOnly()

				out := s.Consume(td)
				forwarded += out.SpanCount()

				require.NoError(t, ptracetest.CompareTraces(want, td))
				require.Equal(t, wantBytes, protoBytes(t, td), "round %d", round)
				clk.now = clk.now.Add(time.Minute)
				forwarded += s.Tick(clk.now).SpanCount()
			}
			forwarded += s.Flush().SpanCount()
			assert.Positive(t, forwarded)
		})
	}
}

// TestForwardedBatchIsIndependent: changing what Consume returned does not change the input, and
// changing the input afterwards does not change what was returned.
func TestForwardedBatchIsIndependent(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			s, _ := newTestSampler(t, mode, func(c *Config) { c.Percentage = 100; c.RootSpanGrace = 0 })
			td := batch("svc", spanSpec{trace: 1, span: 1, parent: -1})
			out := s.Consume(td)
			require.Equal(t, 1, out.SpanCount())
			outSpan := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			inSpan := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
			assert.Equal(t, "ot=th:0", outSpan.TraceState().AsRaw())
			assert.Empty(t, inSpan.TraceState().AsRaw())

			outSpan.Attributes().PutStr("changed", "out")
			out.ResourceSpans().At(0).Resource().Attributes().PutStr("changed", "out")
			_, ok := inSpan.Attributes().Get("changed")
			assert.False(t, ok)
			_, ok = td.ResourceSpans().At(0).Resource().Attributes().Get("changed")
			assert.False(t, ok)

			inSpan.SetName("renamed")
			assert.Equal(t, "op", outSpan.Name())
		})
	}
}

// TestMalformedTraceStateCounted: spans whose ot entry has an rv or th that does not parse are
// counted once each, in both modes, and decided as if the sub-key were absent.
func TestMalformedTraceStateCounted(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			s, clk := newTestSampler(t, mode, nil)
			s.Consume(batch("svc",
				spanSpec{trace: 1, span: 1, parent: -1, ts: "ot=th:zz"},
				spanSpec{trace: 2, span: 1, parent: -1, ts: "ot=rv:123"},
				spanSpec{trace: 3, span: 1, parent: -1, ts: "vendor=x,ot=th:8;rv:" + rvHigh},
				spanSpec{trace: 4, span: 1, parent: -1, ts: "ot=rv:nothex;th:0"},
				spanSpec{trace: 5, span: 1, parent: -1},
			))
			assert.Equal(t, uint64(2+1), s.Stats().MalformedTraceState, "th:zz, rv:123, rv:nothex")
			s.Tick(clk.now.Add(time.Minute))
			// Late spans are read too.
			s.Consume(batch("svc", spanSpec{trace: 1, span: 2, parent: 1, ts: "ot=th:"}))
			assert.Equal(t, uint64(4), s.Stats().MalformedTraceState)
		})
	}
}

// TestNewPicksMode: head mode decides at once and per span, tail mode later and per trace.
func TestNewPicksMode(t *testing.T) {
	var dropped uint64 // a trace id neither mode keeps by probability
	h, _ := newTestSampler(t, ModeHead, nil)
	for h.AdmitExemplar(testTraceID(dropped), "") {
		dropped++
	}
	assert.False(t, h.Stats().PerTrace)
	assert.Zero(t, h.TickInterval())
	keep, decided := h.ExemplarDecision(testTraceID(dropped))
	assert.True(t, keep && decided, "head admits only kept spans, so an exemplar's trace is kept")

	tl, _ := newTestSampler(t, ModeTail, nil)
	assert.True(t, tl.Stats().PerTrace)
	assert.Positive(t, tl.TickInterval())
	assert.True(t, tl.AdmitExemplar(testTraceID(dropped), ""), "tail admits every span and decides later")
	tl.Consume(batch("svc", spanSpec{trace: dropped, span: 1, parent: -1}))
	_, decided = tl.ExemplarDecision(testTraceID(dropped))
	assert.False(t, decided, "buffered")
	tl.Flush()
	keep, decided = tl.ExemplarDecision(testTraceID(dropped))
	assert.False(t, keep)
	assert.True(t, decided)

	cfg := DefaultConfig()
	cfg.Mode = "both"
	_, err := New(cfg, nil)
	assert.EqualError(t, err, `sampling.mode must be one of tail, head, got "both"`)
}

// TestTailTickInterval: a quarter of decision_wait, at most 200ms and at least 1ms, so a trace is
// decided at most a quarter of its wait late.
func TestTailTickInterval(t *testing.T) {
	for wait, want := range map[time.Duration]time.Duration{
		10 * time.Second:       200 * time.Millisecond,
		800 * time.Millisecond: 200 * time.Millisecond,
		400 * time.Millisecond: 100 * time.Millisecond,
		2 * time.Millisecond:   time.Millisecond,
		time.Nanosecond:        time.Millisecond,
	} {
		s, _ := newTestSampler(t, ModeTail, func(c *Config) { c.DecisionWait = wait })
		assert.Equal(t, want, s.TickInterval(), "decision_wait %v", wait)
	}
}

// TestNothingToForwardIsEmpty: calls that forward nothing return a batch without spans that cannot
// be filled by mistake.
func TestNothingToForwardIsEmpty(t *testing.T) {
	for _, mode := range modes {
		s, _ := newTestSampler(t, mode, func(c *Config) { c.Percentage = neverKept })
		for _, td := range []ptrace.Traces{
			s.Consume(batch("svc", spanSpec{trace: 1, span: 1, parent: -1})),
			s.Tick(t0),
			s.Flush(),
		} {
			assert.Equal(t, 0, td.SpanCount(), "%s", mode)
			assert.True(t, td.IsReadOnly(), "%s", mode)
		}
	}
}
