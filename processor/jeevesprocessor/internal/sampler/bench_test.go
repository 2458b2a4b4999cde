package sampler

import (
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
