// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/probabilisticsamplerprocessor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func newSamplingFace(tb testing.TB, mode string, next consumer.Traces) *samplingConnector {
	tb.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Sampling.Mode = sampler.Mode(mode)
	c, err := NewFactory().CreateTracesToTraces(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, c.Shutdown(context.Background())) })
	return c.(*samplingConnector)
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
//   - impl=jeeves_head: ConsumeTraces in head mode (filter in place, stamp
//     ot=th:e666 on kept spans, forward to a no-op consumer);
//   - impl=contrib_proportional: contrib's probabilistic_sampler, proportional
//     mode, 10%, precision 4, forwarding to a no-op consumer;
//   - impl=jeeves_tail: tail mode in steady state: ConsumeTraces buffers a
//     batch of new traces, then a Tick 2 s later (root_span_grace passed)
//     decides them and forwards the kept ones whole; heldB/span is the
//     max_bytes estimate per buffered span of this batch.
//
// Copying the input before each pass (every implementation mutates it) and,
// for tail, renumbering its trace ids are not timed.
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
		c.state.now = func() time.Time { return now }
		// heldB/span: the max_bytes estimate per buffered span of this batch.
		require.NoError(b, c.ConsumeTraces(ctx, fresh(1<<20)))
		st := c.state.tail.Stats()
		heldPerSpan := float64(st.BytesInMemory) / float64(st.SpansInMemory)
		c.forward(ctx, c.state.tail.Flush())
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
			c.forward(ctx, c.state.tail.Tick(now))
		}
		perSpan(b)
		b.ReportMetric(heldPerSpan, "heldB/span")
	})
}

// TestHeadFaceDoesNotAllocate pins the head-mode face at zero allocations for
// a whole fresh 10,000-span batch, forwarding included.
func TestHeadFaceDoesNotAllocate(t *testing.T) {
	c := newSamplingFace(t, "head", consumertest.NewNop())
	src := jeevesBatch(samplingBenchTraces)
	batches := make([]ptrace.Traces, 5)
	for i := range batches {
		batches[i] = ptrace.NewTraces()
		src.CopyTo(batches[i])
	}
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, td := range batches {
		_ = c.ConsumeTraces(ctx, td)
	}
	runtime.ReadMemStats(&after)
	assert.Equal(t, uint64(0), after.Mallocs-before.Mallocs)
	kept := c.state.headKept.Load()
	assert.Positive(t, kept)
	assert.Equal(t, int64(5*src.SpanCount()), kept+c.state.headDropped.Load())
}

// BenchmarkBothFaces measures what one batch costs the connector in a
// collector that wires both faces (the distribution's default): the fan-out's
// copy of the batch for the mutating sampling face, the metrics face reading
// it (all families, SPM, exemplars), and the sampling face in tail or head
// mode including the tick that decides the batch. mode=copy_only is the
// fan-out's copy and the metrics face without any sampling: the baseline the
// sampling face adds to. Renumbering the input's trace ids (tail mode needs
// new traces each pass) is not timed; the copy is.
func BenchmarkBothFaces(b *testing.B) {
	src := jeevesBatch(samplingBenchTraces)
	spans := src.SpanCount()
	ctx := context.Background()
	for _, mode := range []string{"tail", "head", "copy_only"} {
		b.Run("mode="+mode, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			if mode != "copy_only" {
				cfg.Sampling.Mode = sampler.Mode(mode)
			}
			set := connectortest.NewNopSettings(metadata.Type)
			mc, err := NewFactory().CreateTracesToMetrics(ctx, set, cfg, consumertest.NewNop())
			require.NoError(b, err)
			tc, err := NewFactory().CreateTracesToTraces(ctx, set, cfg, consumertest.NewNop())
			require.NoError(b, err)
			defer func() {
				require.NoError(b, tc.Shutdown(ctx))
				require.NoError(b, mc.Shutdown(ctx))
			}()
			sc := tc.(*samplingConnector)
			now := testBase
			sc.state.now = func() time.Time { return now }
			in := ptrace.NewTraces()
			src.CopyTo(in)
			require.NoError(b, mc.ConsumeTraces(ctx, in)) // series exist from here on
			var gen uint64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				gen++
				in := ptrace.NewTraces()
				src.CopyTo(in)
				renumberTraces(in, gen)
				b.StartTimer()
				clone := ptrace.NewTraces()
				in.CopyTo(clone)
				if mode != "copy_only" {
					_ = sc.ConsumeTraces(ctx, clone)
				}
				_ = mc.ConsumeTraces(ctx, in)
				if mode == "tail" {
					now = now.Add(2 * time.Second)
					sc.forward(ctx, sc.state.tail.Tick(now))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		})
	}
}
