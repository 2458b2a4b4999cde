package sampler_test

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// contribProportional starts contrib's probabilistic_sampler in proportional mode at 10% (its
// default precision is 4, like ours) feeding sink.
func contribProportional(tb testing.TB, sink *consumertest.TracesSink) processor.Traces {
	f := probabilisticsamplerprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*probabilisticsamplerprocessor.Config)
	cfg.SamplingPercentage = 10
	cfg.Mode = probabilisticsamplerprocessor.Proportional
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), nil))
	tb.Cleanup(func() { require.NoError(tb, p.Shutdown(context.Background())) })
	return p
}

func newHead(tb testing.TB) sampler.Sampler {
	cfg := sampler.DefaultConfig()
	cfg.Mode = sampler.ModeHead
	h, err := sampler.New(cfg, nil)
	require.NoError(tb, err)
	return h
}

// TestHeadMatchesContribProportional: on the same batch our head mode and contrib's proportional
// mode keep the same spans with the same tracestate.
func TestHeadMatchesContribProportional(t *testing.T) {
	for _, ts := range []string{"", "vendor=x", "ot=rv:e7000000000000"} {
		src := sampler.BenchBatch(10000, ts)
		theirs := ptrace.NewTraces()
		src.CopyTo(theirs) // contrib filters in place

		h := newHead(t)
		ours := h.Consume(src)
		sink := new(consumertest.TracesSink)
		require.NoError(t, contribProportional(t, sink).ConsumeTraces(context.Background(), theirs))

		st := h.Stats()
		require.Equal(t, uint64(10000), st.Kept.Probability.Spans+st.Dropped.Probability.Spans)
		require.Equal(t, uint64(ours.SpanCount()), st.Kept.Probability.Spans)
		require.Len(t, sink.AllTraces(), 1)
		got := sink.AllTraces()[0]
		assert.Equal(t, ours.SpanCount(), got.SpanCount(), "tracestate %q", ts)
		assert.Equal(t, spanStates(got), spanStates(ours), "tracestate %q", ts)
	}
}

func spanStates(td ptrace.Traces) map[[24]byte]string {
	m := map[[24]byte]string{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				var k [24]byte
				tid, sid := sp.TraceID(), sp.SpanID()
				copy(k[:16], tid[:])
				copy(k[16:], sid[:])
				m[k] = sp.TraceState().AsRaw()
			}
		}
	}
	return m
}

// BenchmarkHeadVsContrib measures one pass over the same 10,000-span batch (10 resources, 2,000
// five-span traces, empty tracestate) by our head sampler and by contrib's probabilistic_sampler in
// proportional mode at 10%. Ours reads the batch and copies the kept spans; contrib filters in place,
// so it is given a copy of the batch each pass, not timed (in a collector the fan-out makes that
// copy for it when another consumer reads the same batch).
func BenchmarkHeadVsContrib(b *testing.B) {
	const spans = 10000
	src := sampler.BenchBatch(spans, "")
	b.Run("impl=head", func(b *testing.B) {
		h := newHead(b)
		b.ReportAllocs()
		for b.Loop() {
			h.Consume(src)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	})
	b.Run("impl=contrib_proportional", func(b *testing.B) {
		sink := new(consumertest.TracesSink)
		p := contribProportional(b, sink)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			sink.Reset()
			td := ptrace.NewTraces()
			src.CopyTo(td)
			b.StartTimer()
			if err := p.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	})
}
