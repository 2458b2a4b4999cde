// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// samplingBenchTraces makes a 10,000-span Jeeves batch (500 traces of 20
// spans, 4 services).
const samplingBenchTraces = 500

func newSamplingFace(tb testing.TB, mode string, next consumer.Traces) *samplingFace {
	tb.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Sampling.Mode = sampler.Mode(mode)
	c, err := NewFactory().CreateTracesToTraces(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, c.Shutdown(context.Background())) })
	return c.(*samplingFace)
}

func newContribProportional(tb testing.TB, next consumer.Traces) consumer.Traces {
	tb.Helper()
	f := probabilisticsamplerprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*probabilisticsamplerprocessor.Config)
	cfg.SamplingPercentage = 10
	cfg.Mode = probabilisticsamplerprocessor.Proportional
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	require.NoError(tb, err)
	require.NoError(tb, p.Start(context.Background(), nil))
	tb.Cleanup(func() { require.NoError(tb, p.Shutdown(context.Background())) })
	return p
}

// renumberTraces gives every trace of td a new id that keeps its low 8 bytes
// (so the same traces are kept) but is unique per generation.
func renumberTraces(td ptrace.Traces, generation uint64) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				id := sp.TraceID()
				binary.BigEndian.PutUint64(id[:8], binary.BigEndian.Uint64(id[:8])^generation<<32)
				sp.SetTraceID(id)
			}
		}
	}
}

// BenchmarkSamplingFace measures the sampling face per span on the same
// 10,000-span Jeeves batch in the same run:
//   - impl=jeeves_head: ConsumeTraces in head mode (copy the kept spans,
//     stamp ot=th:e666 on the copies, forward to a no-op consumer);
//   - impl=contrib_proportional: contrib's probabilistic_sampler, proportional
//     mode, 10%, precision 4, forwarding to a no-op consumer;
//   - impl=jeeves_tail: tail mode in steady state: ConsumeTraces buffers a
//     batch of new traces, then a Tick 2 s later (root_span_grace passed)
//     decides them and forwards the kept ones whole; heldB/span is the
//     max_bytes estimate per buffered span of this batch.
//
// Copying the input before each pass (contrib mutates it; ours only reads it)
// and, for tail, renumbering its trace ids are not timed.
func BenchmarkSamplingFace(b *testing.B) {
	src := jeevesBatch(samplingBenchTraces)
	spans := src.SpanCount()
	ctx := context.Background()
	fresh := func(gen uint64) ptrace.Traces {
		td := ptrace.NewTraces()
		src.CopyTo(td)
		if gen > 0 {
			renumberTraces(td, gen)
		}
		return td
	}
	perSpan := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	}
	b.Run("impl=jeeves_head", func(b *testing.B) {
		c := newSamplingFace(b, "head", consumertest.NewNop())
		b.ReportAllocs() // allocs/op and B/op are per 10,000-span batch
		for b.Loop() {
			b.StopTimer()
			td := fresh(0)
			b.StartTimer()
			if err := c.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
		}
		perSpan(b)
	})
	b.Run("impl=contrib_proportional", func(b *testing.B) {
		p := newContribProportional(b, consumertest.NewNop())
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			td := fresh(0)
			b.StartTimer()
			if err := p.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
		}
		perSpan(b)
	})
	b.Run("impl=jeeves_tail", func(b *testing.B) {
		c := newSamplingFace(b, "tail", consumertest.NewNop())
		now := testBase
		c.c.now = func() time.Time { return now }
		// heldB/span: the max_bytes estimate per buffered span of this batch.
		require.NoError(b, c.ConsumeTraces(ctx, fresh(1<<20)))
		st := c.s.sampler.Stats()
		heldPerSpan := float64(st.BytesInMemory) / float64(st.SpansInMemory)
		c.s.forward(ctx, c.s.sampler.Flush())
		var gen uint64
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			gen++
			td := fresh(gen)
			b.StartTimer()
			if err := c.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
			now = now.Add(2 * time.Second)
			c.s.forward(ctx, c.s.sampler.Tick(now))
		}
		perSpan(b)
		b.ReportMetric(heldPerSpan, "heldB/span")
	})
}

// TestHeadFaceDoesNotAllocate pins the head-mode face at zero allocations for
// a whole 10,000-span batch none of whose traces is kept: it reads the batch
// and copies only what it forwards.
func TestHeadFaceDoesNotAllocate(t *testing.T) {
	c := newSamplingFace(t, "head", consumertest.NewNop())
	td := jeevesBatch(samplingBenchTraces)
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(sp ptrace.Span) bool { return keptAt10(t, sp.TraceID()) })
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	require.Positive(t, td.SpanCount())
	ctx := context.Background()
	require.NoError(t, c.ConsumeTraces(ctx, td)) // warm up
	allocs := testing.AllocsPerRun(5, func() { _ = c.ConsumeTraces(ctx, td) })
	assert.Zero(t, allocs)
	st := c.s.sampler.Stats()
	assert.Zero(t, st.Kept.Probability.Spans)
	assert.Equal(t, uint64(7*td.SpanCount()), st.Dropped.Probability.Spans, "warm-up, AllocsPerRun's own warm-up and five runs")
}

// BenchmarkBothFaces measures what one batch costs the connector in a
// collector that wires both faces (the distribution's default): the metrics
// face reading it (all families, SPM, exemplars) and the sampling face in
// tail or head mode, including the tick that decides the batch. Both faces
// only read the batch, so the fan-out hands both the same one and copies
// nothing. mode=metrics_only is the metrics face alone: the baseline the
// sampling face adds to. Renumbering the input's trace ids (tail mode needs
// new traces each pass) is not timed.
func BenchmarkBothFaces(b *testing.B) {
	src := jeevesBatch(samplingBenchTraces)
	spans := src.SpanCount()
	ctx := context.Background()
	for _, mode := range []string{"tail", "head", "metrics_only"} {
		b.Run("mode="+mode, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			if mode != "metrics_only" {
				cfg.Sampling.Mode = sampler.Mode(mode)
			}
			now := testBase
			mc, sc := benchFaces(b, cfg, &now)
			in := ptrace.NewTraces()
			src.CopyTo(in)
			require.NoError(b, mc.ConsumeTraces(ctx, in)) // series exist from here on
			var gen uint64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				gen++
				in := renumberedBatch(src, gen)
				b.StartTimer()
				_ = mc.ConsumeTraces(ctx, in)
				if mode != "metrics_only" {
					_ = sc.ConsumeTraces(ctx, in)
				}
				if mode == "tail" {
					now = now.Add(2 * time.Second)
					sc.s.forward(ctx, sc.s.sampler.Tick(now))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		})
	}
}

// benchFaces builds both faces of one connector from cfg with consumers that drop everything, shuts
// them down when the benchmark ends, and points the connector's clock at *now.
func benchFaces(b *testing.B, cfg *Config, now *time.Time) (connector.Traces, *samplingFace) {
	b.Helper()
	ctx := context.Background()
	set := connectortest.NewNopSettings(metadata.Type)
	mc, err := NewFactory().CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	tc, err := NewFactory().CreateTracesToTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(b, err)
	b.Cleanup(func() {
		require.NoError(b, tc.Shutdown(ctx))
		require.NoError(b, mc.Shutdown(ctx))
	})
	sc := tc.(*samplingFace)
	sc.c.now = func() time.Time { return *now }
	return mc, sc
}

// renumberedBatch is a copy of src with trace ids of generation gen (new traces for tail mode),
// read-only as the fan-out hands it when no consumer mutates.
func renumberedBatch(src ptrace.Traces, gen uint64) ptrace.Traces {
	in := ptrace.NewTraces()
	src.CopyTo(in)
	renumberTraces(in, gen)
	in.MarkReadOnly()
	return in
}
