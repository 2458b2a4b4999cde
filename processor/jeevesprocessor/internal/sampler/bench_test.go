package sampler

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchBatch builds n spans: 10 resources (services) × one scope, 5 spans per trace, realistic
// attributes, every span with the given tracestate.
func benchBatch(n int, ts string) ptrace.Traces {
	td := ptrace.NewTraces()
	perRes := n / 10
	for r := range 10 {
		rs := td.ResourceSpans().AppendEmpty()
		ra := rs.Resource().Attributes()
		ra.PutStr("service.name", "jeeves-svc-"+string(rune('a'+r)))
		ra.PutStr("service.version", "2.4.1")
		ra.PutStr("host.name", "worker-07.jeeves.internal")
		ra.PutStr("deployment.environment", "production")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("jeeves/tracing")
		ss.Scope().SetVersion("1.3.0")
		spans := ss.Spans()
		spans.EnsureCapacity(perRes)
		for i := range perRes {
			k := uint64(r*perRes + i)
			sp := spans.AppendEmpty()
			sp.SetTraceID(testTraceID(k / 5))
			sp.SetSpanID(testSpanID(k))
			if k%5 != 0 {
				sp.SetParentSpanID(testSpanID(k - k%5))
			}
			sp.SetName("GET /api/v1/items")
			sp.SetKind(ptrace.SpanKindServer)
			sp.SetStartTimestamp(1_700_000_000_000_000_000)
			sp.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + uint64(20*time.Millisecond)))
			sp.TraceState().FromRaw(ts)
			a := sp.Attributes()
			a.PutStr("http.request.method", "GET")
			a.PutStr("url.path", "/api/v1/items")
			a.PutInt("http.response.status_code", 200)
			a.PutStr("jeeves.step", "fetch")
			a.PutStr("server.address", "items.jeeves.internal")
			a.PutInt("jeeves.attempt", 1)
		}
	}
	return td
}

// renumber gives every trace id in td a fresh prefix, so each benchmark iteration brings new traces.
func renumber(td ptrace.Traces, iter uint64) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				id := sp.TraceID()
				binary.BigEndian.PutUint32(id[:4], uint32(iter))
				sp.SetTraceID(id)
			}
		}
	}
}

// perTraceBuffer is the alternative to the tail sampler's shared resource/scope holders, kept here
// only to measure it: every trace gets its own ptrace.Traces with its own copy of each resource and
// scope. Like the sampler, it copies spans and leaves the input as it was.
type perTraceBuffer struct {
	traces map[pcommon.TraceID]ptrace.Traces
}

func (p *perTraceBuffer) consume(td ptrace.Traces) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			cur := map[pcommon.TraceID]ptrace.SpanSlice{}
			for _, sp := range ss.Spans().All() {
				id := sp.TraceID()
				dst, ok := cur[id]
				if !ok {
					t, ok := p.traces[id]
					if !ok {
						t = ptrace.NewTraces()
						p.traces[id] = t
					}
					nrs := t.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(nrs.Resource())
					nss := nrs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(nss.Scope())
					dst = nss.Spans()
					cur[id] = dst
				}
				sp.CopyTo(dst.AppendEmpty())
			}
		}
	}
}

// BenchmarkBuffering compares the cost of buffering a 10,000-span batch (2,000 traces, 10
// resources) into an empty buffer with shared resource/scope holders (what tail mode does) against
// one ptrace.Traces per trace with its own resource and scope copies; building the empty buffer is
// not timed. heapB/span is the heap retained per buffered span, measured after buffering 50,000
// wire-decoded spans.
func BenchmarkBuffering(b *testing.B) {
	const spans = 10000
	src := benchBatch(spans, "")
	bigCfg := func(c *Config) { c.MaxTraces = 1 << 20; c.MaxBytes = 1 << 40 }
	b.Run("store=shared_holders", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			tl, _ := newTestTail(b, bigCfg)
			b.StartTimer()
			tl.Consume(src)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		tl, _ := newTestTail(b, bigCfg)
		base := heapInUse()
		for i := range 50 {
			tl.Consume(wireBatch(b, 1000, uint64(i+1), "attributes"))
		}
		b.ReportMetric((float64(heapInUse())-float64(base))/50000, "heapB/span")
		runtime.KeepAlive(tl)
	})
	b.Run("store=per_trace_traces", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			p := &perTraceBuffer{traces: map[pcommon.TraceID]ptrace.Traces{}}
			b.StartTimer()
			p.consume(src)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		p := &perTraceBuffer{traces: map[pcommon.TraceID]ptrace.Traces{}}
		base := heapInUse()
		for i := range 50 {
			p.consume(wireBatch(b, 1000, uint64(i+1), "attributes"))
		}
		b.ReportMetric((float64(heapInUse())-float64(base))/50000, "heapB/span")
		runtime.KeepAlive(p)
	})
}
