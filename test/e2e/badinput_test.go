package e2e

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Spans with an all-zero trace id or span id, sent with valid ones through the real binary into a
// real Jaeger at 100% sampling: the connector counts each in otelcol_connector_jeeves_spans_invalid
// by reason and logs a warning once; the RED families and span metrics count only the valid spans;
// Jaeger receives the valid traces and not the one whose spans all have a zero span id.
func TestZeroIDSpansDroppedFromREDAndJaeger(t *testing.T) {
	j := startJaeger(t)
	env := map[string]string{"JAEGER_OTLP_ENDPOINT": j.OTLPGRPC, "JEEVES_SAMPLING_PERCENTAGE": keepAll}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{Env: env})

	const service, pipeline = "zero-id-check", "zero-id-pipeline"
	const valid, zeroTrace, zeroSpan = 20, 7, 5
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	add := func(tid pcommon.TraceID, sid pcommon.SpanID) {
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetName("pipeline.execute")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(30 * time.Millisecond)))
		s.Attributes().PutStr("jeeves.pipeline.name", pipeline)
	}
	wantTraces := map[string]int{}
	for i := range valid {
		tid := pcommon.TraceID{0xa1, byte(i + 1), 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
		add(tid, pcommon.SpanID{0xb2, byte(i + 1), 3, 4, 5, 6, 7, 8})
		wantTraces[hex.EncodeToString(tid[:])] = 1
	}
	for i := range zeroTrace {
		add(pcommon.TraceID{}, pcommon.SpanID{0xc3, byte(i + 1), 3, 4, 5, 6, 7, 8})
	}
	badTrace := pcommon.TraceID{0xd4, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for range zeroSpan {
		add(badTrace, pcommon.SpanID{})
	}
	otlpExporter(t, c.OTLPGRPC)(td)

	eventually(t, 30*time.Second, func() string {
		tel := scrape(t, c.Telemetry)
		for reason, want := range map[string]float64{"trace_id": zeroTrace, "span_id": zeroSpan} {
			if got := sumSamples(tel, "otelcol_connector_jeeves_spans_invalid_total", map[string]string{"reason": reason}) +
				sumSamples(tel, "otelcol_connector_jeeves_spans_invalid", map[string]string{"reason": reason}); got != want {
				return fmt.Sprintf("spans_invalid{reason=%s} = %v, want %v", reason, got, want)
			}
		}
		red := scrape(t, c.Prometheus)
		if got := sumSamples(red, "jeeves_pipeline_executions_total", map[string]string{"pipeline": pipeline}); got != valid {
			return fmt.Sprintf("jeeves_pipeline_executions_total{pipeline=%q} = %v, want %d (the valid spans only)", pipeline, got, valid)
		}
		if got := sumSamples(red, "traces_span_metrics_calls_total", map[string]string{"service_name": service}); got != valid {
			return fmt.Sprintf("traces_span_metrics_calls_total{service_name=%q} = %v, want %d", service, got, valid)
		}
		return ""
	})
	eventually(t, 30*time.Second, func() string {
		got := j.traceIDs(t, service, 100)
		if len(got) != len(wantTraces) {
			return fmt.Sprintf("Jaeger holds %d traces of %s, want the %d valid ones: %v", len(got), service, len(wantTraces), got)
		}
		for id, n := range wantTraces {
			if got[id] != n {
				return fmt.Sprintf("trace %s has %d spans in Jaeger, want %d", id, got[id], n)
			}
		}
		return ""
	})
	// The valid spans were in the same request as the invalid ones: had these been forwarded, they
	// would be in Jaeger by now.
	if n := j.traceIDs(t, service, 100)[hex.EncodeToString(badTrace[:])]; n != 0 {
		t.Errorf("Jaeger holds %d spans with a zero span id", n)
	}
	if n := strings.Count(c.output.String(), "dropped spans with an all-zero trace id or span id"); n != 1 {
		t.Errorf("the warning about zero-id spans was logged %d times, want once", n)
	}
}
