package sampler

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// withZeroIDs returns a batch of three valid traces (two spans each, the
// second an error) plus, in the same scope, two error spans with an all-zero
// trace id and two with an all-zero span id (trace 9).
func withZeroIDs() ptrace.Traces {
	var specs []spanSpec
	for tr := range uint64(3) {
		specs = append(specs, spanSpec{trace: tr, span: 0, parent: -1}, spanSpec{trace: tr, span: 1, parent: 0, err: true})
	}
	specs = append(specs, spanSpec{trace: 9, span: 0, parent: -1, err: true}, spanSpec{trace: 9, span: 1, parent: 0, err: true})
	specs = append(specs, spanSpec{trace: 10, span: 0, parent: -1, err: true}, spanSpec{trace: 10, span: 1, parent: 0, err: true})
	td := batch("svc", specs...)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spans.At(6).SetSpanID(pcommon.SpanID{})
	spans.At(7).SetSpanID(pcommon.SpanID{})
	spans.At(8).SetTraceID(pcommon.TraceID{})
	spans.At(9).SetTraceID(pcommon.TraceID{})
	return td
}

// TestSamplersSkipZeroIDs: at 100% (head) and with every trace an error
// trace (tail), every valid span is forwarded and no span with a zero id is,
// and the skipped spans are in none of the sampler's counts.
func TestSamplersSkipZeroIDs(t *testing.T) {
	head := newTestHead(t, 100)
	tail, clk := newTestTail(t, func(c *Config) { c.RootSpanGrace = 0 })
	for name, s := range map[string]Sampler{"head": head, "tail": tail} {
		t.Run(name, func(t *testing.T) {
			got := map[pcommon.TraceID]map[pcommon.SpanID]seenSpan{}
			collect(s.Consume(withZeroIDs()), got)
			collect(s.Tick(clk.now.Add(2*DefaultConfig().DecisionWait)), got)
			require.Len(t, got, 3, "the three valid traces and nothing else")
			for tr := range uint64(3) {
				assert.Len(t, got[testTraceID(tr)], 2)
			}
			assert.NotContains(t, got, testTraceID(9), "zero span id forwarded")
			assert.NotContains(t, got, pcommon.TraceID{}, "zero trace id forwarded")
			st := s.Stats()
			kept := st.Kept.Probability.Spans + st.Kept.Error.Spans + st.Kept.Latency.Spans
			dropped := st.Dropped.Probability.Spans + st.Dropped.Error.Spans + st.Dropped.Latency.Spans
			assert.Equal(t, uint64(6), kept)
			assert.Zero(t, dropped)
			assert.Zero(t, st.SpansInMemory, "nothing left buffered")
			assert.Zero(t, st.TracesInMemory)
		})
	}
}
