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

// otlpExporter returns a function that exports one batch to an OTLP/gRPC endpoint and fails the
// test if the collector refuses it; the connection closes when the test ends.
func otlpExporter(t *testing.T, endpoint string) func(ptrace.Traces) {
	t.Helper()
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	client := ptraceotlp.NewGRPCClient(conn)
	return func(td ptrace.Traces) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
			t.Fatalf("export of %d spans: %v", td.SpanCount(), err)
		}
	}
}

// uniqueNameBatch builds n client spans whose span names (and GenAI model names) are all distinct,
// starting at offset: the cardinality flood that generic span metrics blow up on. Each span is its
// own trace; orphan spans (a parent that never arrives) make traces that never end.
func uniqueNameBatch(offset, n int, orphan bool) ptrace.Traces {
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
		tid[0] = 1 // never all zero: the connector drops spans with a zero trace or span id
		sid[7] = 1
		s.SetTraceID(pcommon.TraceID(tid))
		s.SetSpanID(pcommon.SpanID(sid))
		if orphan {
			s.SetParentSpanID(pcommon.SpanID{0xff, 1, 2, 3, 4, 5, 6, 7})
		}
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
	// Head sampling holds no spans, so what is measured is the metric side; the tail buffer has its
	// own bound and test (TestNeverEndingTracesStayWithinSamplerBound).
	env := map[string]string{"JEEVES_METRICS_SERIES_LIMIT": strconv.Itoa(limit), "JAEGER_OTLP_ENDPOINT": sink.Addr,
		"JEEVES_SAMPLING_MODE": "head"}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{Env: env})
	export := otlpExporter(t, c.OTLPGRPC)
	send := func(offset int) { export(uniqueNameBatch(offset, batch, false)) }
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
	// The exported series catch up at the next flush.
	eventually(t, 30*time.Second, func() string {
		fams := scrape(t, c.Prometheus)
		if got := sumSamples(fams, "traces_span_metrics_calls_total", map[string]string{"otel_metric_overflow": "true"}); got != total-limit {
			return fmt.Sprintf("SPM overflow series counts %v calls, want %d", got, total-limit)
		}
		if got := sumSamples(fams, "traces_span_metrics_calls_total", nil); got != total {
			return fmt.Sprintf("SPM calls sum to %v, want %d: every span is counted", got, total)
		}
		return ""
	})
}

// Traces that never end (their root never arrives) flood the tail sampler: its buffer stays within
// sampling.max_bytes, the bound forces early decisions and counts them, and the process's RSS grows
// by at most twice the buffer bound (Go's GC lets the heap reach twice the live data) plus 150 MB.
func TestNeverEndingTracesStayWithinSamplerBound(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	const total, batch, maxBytes = 600_000, 2000, 64 << 20
	sink := startTraceSink(t, false)
	env := map[string]string{"JAEGER_OTLP_ENDPOINT": sink.Addr}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{
		Env: env,
		Overrides: []string{
			fmt.Sprintf("yaml:connectors::jeeves::sampling::max_bytes: %d", maxBytes),
			// Far above the flood, so that the byte bound is the one that binds.
			"yaml:connectors::jeeves::sampling::max_traces: 10000000",
		},
	})
	export := otlpExporter(t, c.OTLPGRPC)
	send := func(off int, orphan bool) { export(uniqueNameBatch(off, batch, orphan)) }
	// Warm-up with complete (root-only) traces, decided within a second, then the baseline.
	for off := 0; off < 50_000; off += batch {
		send(off, false)
	}
	time.Sleep(3 * time.Second)
	base := rssBytes(t, c.cmd.Process.Pid)
	peak, peakHeld := base, 0.0
	for off := 50_000; off < 50_000+total; off += batch {
		send(off, true)
		if r := rssBytes(t, c.cmd.Process.Pid); r > peak {
			peak = r
		}
		if (off-50_000)%(50*batch) == 0 {
			held := sumSamples(scrape(t, c.Telemetry), "otelcol_connector_jeeves_sampling_bytes_in_memory", nil)
			if held > peakHeld {
				peakHeld = held
			}
		}
	}
	fams := scrape(t, c.Telemetry)
	forced := sumSamples(fams, "otelcol_connector_jeeves_sampling_forced_decisions", map[string]string{"reason": "max_bytes"})
	t.Logf("%d never-ending traces: buffer peak %.1f MB (bound %d MB), %v decisions forced by max_bytes, RSS %d -> %d MB",
		total, peakHeld/(1<<20), maxBytes>>20, forced, base>>20, peak>>20)
	if peakHeld > maxBytes {
		t.Errorf("sampler held %.0f bytes, bound %d", peakHeld, maxBytes)
	}
	if forced == 0 {
		t.Error("the bound forced no decisions")
	}
	if growth := peak - base; growth > 2*maxBytes+150<<20 {
		t.Errorf("RSS grew %d MB, bound 2 × %d MB + 150 MB", growth>>20, maxBytes>>20)
	}
}
