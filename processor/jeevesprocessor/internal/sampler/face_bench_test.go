package sampler

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchFace is what BenchmarkSamplingFace drives.
type benchFace interface {
	Consume(td ptrace.Traces) ptrace.Traces
	Tick(now time.Time) ptrace.Traces
	Stats() Stats
}

// newBenchFace returns the sampler as the connector runs it: it reads the batch the collector hands
// the metrics face too, so nothing is cloned for it.
func newBenchFace(b *testing.B, cfg Config, clk *fakeClock) benchFace {
	s, err := New(cfg, clk.Now)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSamplingFace measures what one 10,000-span batch (10 resources, 2,000 five-span traces
// with their roots, 10%) costs the sampling face, including whatever copy of the batch the face
// needs: a face that mutates its input gets a clone from the collector's fan-out, which is timed
// here as part of its cost. Head mode: one Consume. Tail mode: Consume of 2,000 new traces plus the
// Tick that decides the previous batch's traces once root_span_grace has passed (the trace ids are
// renumbered between iterations, not timed). tracestate=vendor gives every span another vendor's
// entry, so every kept span's tracestate is rewritten. heldB/span is the max_bytes estimate per
// buffered span right after Consume. mode=tail+budget is tail mode with sampling.budget on (a cap
// of 100 traces/s and a target of 1,000 spans/s; the batch's spans all end at one time, so the
// budget decides a whole batch in one interval).
func BenchmarkSamplingFace(b *testing.B) {
	const spans = 10000
	for _, m := range []struct {
		name   string
		mode   Mode
		budget bool
	}{{"head", ModeHead, false}, {"tail", ModeTail, false}, {"tail+budget", ModeTail, true}} {
		mode := m.mode
		for _, tc := range []struct{ name, ts string }{{"empty", ""}, {"vendor", "vendor=x"}} {
			b.Run("mode="+m.name+"/tracestate="+tc.name, func(b *testing.B) {
				cfg := DefaultConfig()
				cfg.Mode = mode
				if m.budget {
					cfg.Budget.MaxKeptTracesPerSecond = 100
					cfg.Budget.TargetSpansPerSecond = 1000
				}
				clk := &fakeClock{now: t0}
				face := newBenchFace(b, cfg, clk)
				src := benchBatch(spans, tc.ts)
				var held float64
				iter := uint64(0)
				b.ReportAllocs()
				for b.Loop() {
					if mode == ModeHead {
						face.Consume(src)
						continue
					}
					b.StopTimer()
					iter++
					renumber(src, iter)
					b.StartTimer()
					face.Consume(src)
					b.StopTimer()
					st := face.Stats()
					held = float64(st.BytesInMemory) / float64(st.SpansInMemory)
					clk.now = clk.now.Add(cfg.RootSpanGrace)
					b.StartTimer()
					face.Tick(clk.now)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
				if mode == ModeTail {
					b.ReportMetric(held, "heldB/span")
				}
			})
		}
	}
}
