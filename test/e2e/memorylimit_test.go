package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// heldSpanBatch builds n spans, in traces of 20 whose root never arrives: tail sampling holds each
// trace for the whole decision_wait, so the heap grows with the rate until something bounds it
// (at 20 spans a trace, sampling.max_traces lets the buffer reach far more than the limiter allows).
func heldSpanBatch(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flood")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	now := time.Now()
	ids := make([]byte, n*24)
	_, _ = rand.Read(ids)
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		copy(tid[:], ids[(i-i%20)*24:]) // the trace id of the trace's first span
		copy(sid[:], ids[i*24+16:])
		tid[0] |= 1 // never all zero
		sid[0] |= 1
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetParentSpanID(pcommon.SpanID{0xff, 1, 2, 3, 4, 5, 6, 7})
		s.SetName("pipeline.step")
		s.SetKind(ptrace.SpanKindInternal)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(20 * time.Millisecond)))
		s.Attributes().PutStr("jeeves.pipeline.step", "step-"+strconv.Itoa(i%16))
		s.Attributes().PutStr("jeeves.payload", "a few dozen bytes of attribute value per span, as real spans carry")
	}
	return td
}

// rssKiB reads VmRSS and RssAnon (KiB) of a process from /proc: RssAnon is the process's own
// memory; VmRSS adds file pages (the binary, the mapped queue file) that the kernel can reclaim.
func rssKiB(t *testing.T, pid int) (vmRSS, anon int64) {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Error(err)
		return 0, 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			vmRSS, _ = strconv.ParseInt(f[1], 10, 64)
		case "RssAnon:":
			anon, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return vmRSS, anon
}

// With the default memory settings, only scaled down so that a flood reaches them in seconds: a
// process memory budget of 640 MiB, JEEVES_MEMORY_LIMIT_MIB = 80% of it (512) and GOMEMLIMIT 85%
// (544MiB), the proportions docs/operations.md#memory gives for the default 1024 MiB (a 1280 MiB
// budget). A flood of spans that tail sampling must hold gets retryable refusals (gRPC Unavailable
// or ResourceExhausted, nothing else), counted in otelcol_receiver_refused_spans, while the
// process's RSS, sampled every 50 ms from /proc, stays under the budget; once the held traces are
// decided, it accepts again.
func TestMemoryLimiterRefusesFloodWithinLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	const budgetMiB, clients, batch = 640, 4, 2000
	const limitMiB, goLimitMiB = budgetMiB * 80 / 100, budgetMiB * 85 / 100
	sink := startTraceSink(t, false)
	c := startCollector(t, collectorOptions{
		Env: map[string]string{
			"JAEGER_OTLP_ENDPOINT":    sink.Addr,
			"JEEVES_MEMORY_LIMIT_MIB": strconv.Itoa(limitMiB),
			"GOMEMLIMIT":              strconv.Itoa(goLimitMiB) + "MiB",
		},
		// Held twice as long as by default, so that a loaded machine that sends half as fast
		// still reaches the limit (about 13,000 spans/s suffice).
		Overrides: []string{"yaml:connectors::jeeves::sampling::decision_wait: 20s"},
	})
	// The default spike limit, 20% of limit_mib.
	if out := c.output.String(); !containsAll(out, fmt.Sprintf(`"limit_mib": %d`, limitMiB), fmt.Sprintf(`"spike_limit_mib": %d`, limitMiB/5)) {
		t.Fatalf("the limiter did not log the configured limits:\n%s", out)
	}
	pid := c.cmd.Process.Pid

	var (
		peakRSS  atomic.Int64
		peakAnon atomic.Int64
		stop     = make(chan struct{})
		samplers sync.WaitGroup
	)
	samplers.Add(1)
	go func() {
		defer samplers.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			vm, anon := rssKiB(t, pid)
			if vm > peakRSS.Load() {
				peakRSS.Store(vm)
			}
			if anon > peakAnon.Load() {
				peakAnon.Store(anon)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	conn, err := grpc.NewClient(c.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	client := ptraceotlp.NewGRPCClient(conn)

	// Flood until the limiter has refused for 5 s (or 45 s pass), then stop.
	var (
		mu           sync.Mutex
		codesSeen    = map[codes.Code]int{}
		accepted     int
		firstRefusal time.Time
	)
	start := time.Now()
	deadline := start.Add(45 * time.Second)
	var senders sync.WaitGroup
	for range clients {
		senders.Add(1)
		go func() {
			defer senders.Done()
			td := heldSpanBatch(batch)
			for time.Now().Before(deadline) {
				mu.Lock()
				done := !firstRefusal.IsZero() && time.Since(firstRefusal) > 5*time.Second
				mu.Unlock()
				if done {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
				cancel()
				mu.Lock()
				if err == nil {
					accepted += batch
				} else {
					code := status.Code(err)
					codesSeen[code]++
					if firstRefusal.IsZero() {
						firstRefusal = time.Now()
					}
				}
				mu.Unlock()
				td = heldSpanBatch(batch)
			}
		}()
	}
	senders.Wait()
	close(stop)
	samplers.Wait()

	refused := sumSamples(scrape(t, c.Telemetry), "otelcol_receiver_refused_spans", map[string]string{"receiver": "otlp"})
	peak := peakRSS.Load() << 10
	t.Logf("budget %d MiB: limit_mib %d (refusing above a %d MiB heap), GOMEMLIMIT %d MiB; %d spans accepted, first refusal after %s, gRPC errors %v, otelcol_receiver_refused_spans %v; peak VmRSS %.0f MiB, peak RssAnon %.0f MiB",
		budgetMiB, limitMiB, limitMiB-limitMiB/5, goLimitMiB, accepted, firstRefusal.Sub(start).Round(100*time.Millisecond), codesSeen, refused,
		float64(peak)/(1<<20), float64(peakAnon.Load())/(1<<10))
	if firstRefusal.IsZero() {
		t.Fatal("the flood was never refused")
	}
	for code, n := range codesSeen {
		if code != codes.Unavailable && code != codes.ResourceExhausted {
			t.Errorf("%d exports failed with %s: only retryable refusals (Unavailable, ResourceExhausted) are expected", n, code)
		}
	}
	if refused == 0 {
		t.Error("otelcol_receiver_refused_spans{receiver=otlp} is 0")
	}
	if peak >= budgetMiB<<20 {
		t.Errorf("peak RSS %.0f MiB, over the %d MiB budget", float64(peak)/(1<<20), budgetMiB)
	}
	// Refusing is temporary: once the held traces are decided the collector accepts again.
	export := otlpExporter(t, c.OTLPGRPC)
	eventually(t, 40*time.Second, func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(heldSpanBatch(10))); err != nil {
			return fmt.Sprintf("still refusing: %v", err)
		}
		return ""
	})
	export(heldSpanBatch(10))
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
