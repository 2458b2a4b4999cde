// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkAttribution measures, in the same run, what the LLM cost
// attribution adds per span to a collector wiring both faces in tail mode:
// the metrics face reading a 10,000-span Jeeves batch (500 traces), the
// sampling face buffering it and the tick that decides it (attribution=on:
// the attributor re-classifies every decided trace). heapB/trace is the heap
// held per buffered trace after GC, measured once per sub-benchmark with the
// batch buffered: the attribution keeps no state per buffered trace, so it
// must not differ. Renumbering trace ids is not timed.
//
//	go test -run '^$' -bench BenchmarkAttribution -count 10 ./processor/jeevesprocessor/ > /tmp/attr.txt
//	benchstat -col /attribution /tmp/attr.txt
func BenchmarkAttribution(b *testing.B) {
	src := jeevesBatch(samplingBenchTraces)
	spans := src.SpanCount()
	ctx := context.Background()
	for _, on := range []bool{false, true} {
		name := "attribution=off"
		if on {
			name = "attribution=on"
		}
		b.Run(name, func(b *testing.B) {
			cfg := createDefaultConfig().(*Config)
			cfg.Metrics.LLMCost.Attribution = on
			cfg.Metrics.LLMCost.Prices = attributionPrices()
			now := testBase
			mc, sc := benchFaces(b, cfg, &now)
			batch := func(gen uint64) ptrace.Traces { return renumberedBatch(src, gen) }
			require.NoError(b, mc.ConsumeTraces(ctx, batch(1<<20))) // series exist from here on
			heldPerTrace := heapPerBufferedTrace(b, sc, batch(1<<21))
			var gen uint64
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				gen++
				in := batch(gen)
				b.StartTimer()
				_ = mc.ConsumeTraces(ctx, in)
				_ = sc.ConsumeTraces(ctx, in)
				now = now.Add(2 * time.Second)
				sc.s.forward(ctx, sc.s.sampler.Tick(now))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
			b.ReportMetric(heldPerTrace, "heapB/trace")
		})
	}
}

// heapPerBufferedTrace buffers td in the sampling face and returns the heap
// growth per buffered trace, then decides them.
func heapPerBufferedTrace(b *testing.B, sc *samplingFace, td ptrace.Traces) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	require.NoError(b, sc.ConsumeTraces(context.Background(), td))
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := sc.s.sampler.Stats()
	runtime.KeepAlive(td)
	sc.s.forward(context.Background(), sc.s.sampler.Flush())
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(st.TracesInMemory)
}
