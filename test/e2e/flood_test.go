package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rssBytes reads the resident set size of a process from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// uniqueNameBatch builds n server spans whose span names (and GenAI model names) are all distinct,
// starting at offset: the cardinality flood that generic span metrics blow up on.
func uniqueNameBatch(offset, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flood")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	now := time.Now()
	for i := 0; i < n; i++ {
		k := offset + i
		s := spans.AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		for b := 0; b < 8; b++ {
			tid[8+b] = byte(k >> (8 * b))
			sid[b] = byte(k >> (8 * b))
		}
		tid[0] = 1
		s.SetTraceID(pcommon.TraceID(tid))
		s.SetSpanID(pcommon.SpanID(sid))
		s.SetName("chat unique-model-" + strconv.Itoa(k))
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(50 * time.Millisecond)))
		s.Attributes().PutStr("gen_ai.operation.name", "chat")
		s.Attributes().PutStr("gen_ai.provider.name", "openai")
		s.Attributes().PutStr("gen_ai.request.model", "unique-model-"+strconv.Itoa(k))
	}
	return td
}

// One million spans with distinct span names and model names: the collector's RSS stays within
// 150 MB of its level after the first 50,000, and the connector's overflow counters account for
// every span beyond the series limit.
func TestUniqueNameFloodStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	const total, batch, limit = 1_000_000, 2000, 5000
	// A trace backend that accepts everything, so that the exporter's queue (bounded, 200,000 spans by
	// default) does not fill and the measurement is the connector's.
	sink := startTraceSink(t, false)
	env := map[string]string{"JEEVES_METRICS_SERIES_LIMIT": strconv.Itoa(limit), "JAEGER_OTLP_ENDPOINT": sink.Addr}
	for k, v := range fastFlush {
		env[k] = v
	}
	if addr := os.Getenv("FLOOD_PPROF"); addr != "" {
		env["JEEVES_PPROF_ENDPOINT"] = addr // to profile the collector during the flood
	}
	c := startCollector(t, collectorOptions{Env: env})
	conn, err := grpc.NewClient(c.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	send := func(offset int) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(uniqueNameBatch(offset, batch))); err != nil {
			t.Fatalf("export at %d: %v", offset, err)
		}
	}
	// Warm-up: fill the series tables to their limit, then take the baseline.
	for off := 0; off < 50_000; off += batch {
		send(off)
	}
	time.Sleep(2 * time.Second)
	base := rssBytes(t, c.cmd.Process.Pid)
	peak := base
	for off := 50_000; off < total; off += batch {
		send(off)
		if r := rssBytes(t, c.cmd.Process.Pid); r > peak {
			peak = r
		}
	}
	if d := os.Getenv("FLOOD_HOLD"); d != "" {
		hold, _ := time.ParseDuration(d)
		time.Sleep(hold)
	}
	growth := peak - base
	heap := sumSamples(scrape(t, c.Telemetry), "otelcol_process_runtime_heap_alloc_bytes", nil)
	t.Logf("RSS after warm-up %d MB, peak %d MB, growth %d MB over %d unique names; Go heap in use at the end %d MB",
		base>>20, peak>>20, growth>>20, total, int64(heap)>>20)
	if growth > 150<<20 {
		t.Errorf("RSS grew %d MB under the flood, bound 150 MB", growth>>20)
	}

	// Each family keyed by the span or model name (SPM calls and duration, LLM calls and duration)
	// holds at most `limit` series; every span beyond folds into its overflow series and is counted.
	eventually(t, 30*time.Second, func() string {
		fams := scrape(t, c.Telemetry)
		seen := sumSamples(fams, "otelcol_connector_jeeves_spans_seen", nil)
		if seen != total {
			return fmt.Sprintf("spans seen %v, sent %d", seen, total)
		}
		for _, metric := range []string{"traces.span.metrics", "jeeves.llm.calls"} {
			over := sumSamples(fams, "otelcol_connector_jeeves_spans_overflowed", map[string]string{"metric": metric})
			if over != total-limit {
				return fmt.Sprintf("%s overflowed %v, want %d; overflow counters: %v", metric, over, total-limit,
					fams["otelcol_connector_jeeves_spans_overflowed"].GetMetric())
			}
		}
		return ""
	})
	fams := scrape(t, c.Prometheus)
	if got := sumSamples(fams, "traces_span_metrics_calls_total", map[string]string{"otel_metric_overflow": "true"}); got != total-limit {
		t.Errorf("SPM overflow series counts %v calls, want %d", got, total-limit)
	}
	if got := sumSamples(fams, "traces_span_metrics_calls_total", nil); got != total {
		t.Errorf("SPM calls sum to %v, want %d: every span is counted", got, total)
	}
}
