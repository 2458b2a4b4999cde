package e2e

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
)

// The outage tests send this many traces in each of two runs: one that is in the durable queue
// before the restart and one that is still in the tail sampler's buffer when it happens.
const outageTraces = 1000

// keptSample is what the default sampler keeps of a loadgen run: every error and slow trace whole,
// and the OTEP 235 10% of the rest; trace id → spans, and the total of spans.
func keptSample(t *testing.T, m *loadgen.Manifest) (map[string]int, int) {
	t.Helper()
	want := map[string]int{}
	spans := 0
	for _, tr := range m.TraceList {
		if tr.Error || tr.Slow || keptByProbability(t, parseTraceID(t, tr.TraceID)) {
			want[tr.TraceID] = tr.Spans
			spans += tr.Spans
		}
	}
	return want, spans
}

// outageLength is how long Jaeger stays down in the outage tests: long enough for the exporter's
// retries to back off to several seconds and for a restart in the middle, short enough for CI.
const outageLength = 30 * time.Second

// outage is one durable-queue directory, a Jaeger address where Jaeger is not up yet, and the
// collectors that take turns on them.
type outage struct {
	dir, jaeger string
	began       time.Time
	// down holds the Jaeger address during the outage, so that no other process can take the port
	// before Jaeger does; it closes every connection at once, as a host without Jaeger would.
	down net.Listener
}

func newOutage(t *testing.T) *outage {
	t.Helper()
	o := &outage{dir: t.TempDir(), began: time.Now()}
	for attempt := 0; o.down == nil; attempt++ {
		l, err := net.Listen("tcp", freePort(t))
		if err != nil && attempt == 10 {
			t.Fatal(err)
		}
		o.down = l
	}
	o.jaeger = o.down.Addr().String()
	t.Cleanup(func() { _ = o.down.Close() })
	go func() {
		for {
			conn, err := o.down.Accept()
			if err != nil {
				return
			}
			_ = conn.Close()
		}
	}()
	return o
}

// jaegerUp ends the outage: Jaeger starts on the address the collectors have been sending to.
func (o *outage) jaegerUp(t *testing.T) *jaegerServer {
	t.Helper()
	_ = o.down.Close()
	return startJaegerAt(t, o.jaeger, "jaeger.yaml")
}

// end waits out the rest of the outage while c keeps everything queued (want spans, nothing
// refused or dropped), then starts Jaeger where the collectors have been sending.
func (o *outage) end(t *testing.T, c *collector, want int) *jaegerServer {
	t.Helper()
	for time.Since(o.began) < outageLength {
		if done, err := c.exited(); done {
			t.Fatalf("collector exited during the outage: %v", err)
		}
		time.Sleep(time.Second)
	}
	checkNoExportLoss(t, c)
	if q := queueSize(t, c); q != want {
		t.Fatalf("after %s of outage the queue holds %d spans, want %d", outageLength, q, want)
	}
	return o.jaegerUp(t)
}

// checkNoExportLoss fails when the Jaeger exporter refused or dropped a span.
func checkNoExportLoss(t *testing.T, c *collector) {
	t.Helper()
	fams := scrape(t, c.Telemetry)
	for _, name := range []string{"otelcol_exporter_enqueue_failed_spans", "otelcol_exporter_send_failed_spans"} {
		if n := sumSamples(fams, name, map[string]string{"exporter": "otlp_grpc/jaeger"}); n != 0 {
			t.Errorf("%s = %v, want 0", name, n)
		}
	}
	if n := sumSamples(fams, "otelcol_connector_jeeves_sampling_forward_errors", nil); n != 0 {
		t.Errorf("otelcol_connector_jeeves_sampling_forward_errors = %v, want 0", n)
	}
}

func (o *outage) collector(t *testing.T) *collector {
	t.Helper()
	return startCollector(t, collectorOptions{Env: map[string]string{
		"JAEGER_OTLP_ENDPOINT": o.jaeger,
		"JEEVES_STORAGE_DIR":   o.dir,
	}})
}

func queueSize(t *testing.T, c *collector) int {
	t.Helper()
	return int(sumSamples(scrape(t, c.Telemetry), "otelcol_exporter_queue_size", map[string]string{"exporter": "otlp_grpc/jaeger"}))
}

// sendAndQueue sends one loadgen run and waits until the sampler has decided all of it and the
// export queue holds exactly the spans it keeps (Jaeger is down, so nothing leaves the queue).
func sendAndQueue(t *testing.T, c *collector, seed uint64) (map[string]int, int) {
	t.Helper()
	cfg := trafficConfig(seed, outageTraces)
	cfg.TraceList = true
	want, spans := keptSample(t, sendTraffic(t, c.OTLPGRPC, cfg))
	eventually(t, 30*time.Second, func() string {
		held := sumSamples(scrape(t, c.Telemetry), "otelcol_connector_jeeves_sampling_traces_in_memory", nil)
		if q := queueSize(t, c); held != 0 || q != spans {
			return fmt.Sprintf("sampler holds %v traces, queue %d spans, want 0 and %d", held, q, spans)
		}
		return ""
	})
	return want, spans
}

// jaegerHolds waits until Jaeger stores exactly want (trace id → spans), each trace whole.
func jaegerHolds(t *testing.T, j *jaegerServer, want map[string]int, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() string {
		got := j.traceIDs(t, "jeeves-gateway", 10*len(want)+100)
		if len(got) != len(want) {
			return fmt.Sprintf("jaeger holds %d traces, want %d", len(got), len(want))
		}
		for id, n := range want {
			if got[id] != n {
				return fmt.Sprintf("trace %s: %d spans in jaeger, want %d", id, got[id], n)
			}
		}
		return ""
	})
}

// merge returns the union of kept samples of different runs (their trace ids are distinct).
func merge(samples ...map[string]int) map[string]int {
	out := map[string]int{}
	for _, s := range samples {
		for id, n := range s {
			out[id] = n
		}
	}
	return out
}

// restartsCleanly starts one more collector on the queue directory after everything was delivered:
// it starts (no corruption, nothing set aside as a .backup) with an empty queue.
func (o *outage) restartsCleanly(t *testing.T) {
	t.Helper()
	c := o.collector(t)
	if q := queueSize(t, c); q != 0 {
		t.Errorf("queue holds %d spans after a restart on a drained directory, want 0", q)
	}
	c.stop(10 * time.Second)
	entries, err := os.ReadDir(o.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != "exporter_otlp_grpc_jaeger_traces" {
		t.Errorf("queue directory holds %v, want only exporter_otlp_grpc_jaeger_traces", names)
	}
}

// Jaeger is down for outageLength while two loadgen runs arrive: the first is decided and queued, the second is
// still in the tail sampler's buffer when the collector gets SIGTERM. The collector decides what it
// buffers, writes it to the durable queue and exits; a new collector on the same directory starts
// with every kept span queued; Jaeger comes up on the address both were sending to and stores
// exactly the kept sample of both runs, every trace whole and none twice: 0 kept spans lost.
func TestOutageSIGTERMLosesNoKeptSpan(t *testing.T) {
	o := newOutage(t)
	c := o.collector(t)
	wantA, spansA := sendAndQueue(t, c, 71)

	cfg := trafficConfig(72, outageTraces)
	cfg.TraceList = true
	wantB, spansB := keptSample(t, sendTraffic(t, c.OTLPGRPC, cfg))
	if took := c.stop(20 * time.Second); took > 10*time.Second {
		t.Errorf("SIGTERM during the outage took %s to exit", took)
	}
	if _, err := c.exited(); err != nil {
		t.Errorf("collector exit after SIGTERM: %v", err)
	}

	c2 := o.collector(t)
	if q := queueSize(t, c2); q != spansA+spansB {
		t.Fatalf("restarted collector queues %d spans, want %d (%d queued before SIGTERM + %d the sampler held)", q, spansA+spansB, spansA, spansB)
	}
	j := o.end(t, c2, spansA+spansB)
	jaegerHolds(t, j, merge(wantA, wantB), 60*time.Second)
	eventually(t, 10*time.Second, func() string {
		if q := queueSize(t, c2); q != 0 {
			return fmt.Sprintf("queue holds %d spans after delivery", q)
		}
		return ""
	})
	checkNoExportLoss(t, c2)
	t.Logf("outage with SIGTERM: %d + %d kept spans (%d traces) delivered after the restart", spansA, spansB, len(wantA)+len(wantB))
	c2.stop(10 * time.Second)
	o.restartsCleanly(t)
}

// The same outage, but the collector is killed (SIGKILL) right after the second run was accepted.
// What was in the durable queue survives: the first run whole, and every span queued before the
// kill. What is lost is bounded by what had not reached the queue (the sampler's buffer and the
// batch processor): spans of the second run only. The directory is reused as is.
func TestOutageSIGKILLLosesOnlyUnqueuedSpans(t *testing.T) {
	o := newOutage(t)
	c := o.collector(t)
	wantA, spansA := sendAndQueue(t, c, 81)

	cfg := trafficConfig(82, outageTraces)
	cfg.TraceList = true
	wantB, spansB := keptSample(t, sendTraffic(t, c.OTLPGRPC, cfg))
	queuedBeforeKill := queueSize(t, c)
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done

	c2 := o.collector(t)
	if !strings.Contains(c2.output.String(), "Loaded queue metadata") {
		t.Errorf("restarted collector did not load the queue:\n%s", c2.output.String())
	}
	queued := queueSize(t, c2)
	if queued < queuedBeforeKill || queued < spansA || queued > spansA+spansB {
		t.Fatalf("restarted collector queues %d spans; before the kill %d were queued, %d of them the first run; at most %d", queued, queuedBeforeKill, spansA, spansA+spansB)
	}

	j := o.end(t, c2, queued)
	all := merge(wantA, wantB)
	var got map[string]int
	eventually(t, 60*time.Second, func() string {
		got = j.traceIDs(t, "jeeves-gateway", 10*len(all)+100)
		stored := 0
		for _, n := range got {
			stored += n
		}
		if stored != queued {
			return fmt.Sprintf("jaeger stores %d spans, the restarted queue held %d", stored, queued)
		}
		return ""
	})
	for id, n := range wantA {
		if got[id] != n {
			t.Errorf("trace %s of the queued run: %d spans in jaeger, want %d", id, got[id], n)
		}
	}
	lostTraces, partial := 0, 0
	for id, n := range got {
		if all[id] == 0 {
			t.Errorf("jaeger holds trace %s, which the sampler does not keep", id)
		} else if n > all[id] {
			t.Errorf("trace %s: %d spans in jaeger, more than its %d", id, n, all[id])
		} else if n < all[id] {
			partial++
		}
	}
	for id := range wantB {
		if _, ok := got[id]; !ok {
			lostTraces++
		}
	}
	checkNoExportLoss(t, c2)
	lost := spansA + spansB - queued
	t.Logf("SIGKILL during the outage: queued before the kill %d, after the restart %d; lost %d of %d kept spans of the unqueued run (%d of %d traces, %d partial), 0 of %d of the queued run",
		queuedBeforeKill, queued, lost, spansB, lostTraces, len(wantB), partial, spansA)

	c2.stop(10 * time.Second)
	o.restartsCleanly(t)
	// Nothing was delivered twice by the restart on a drained queue.
	if again := j.traceIDs(t, "jeeves-gateway", 10*len(all)+100); len(again) != len(got) {
		t.Errorf("jaeger holds %d traces after one more restart, %d before", len(again), len(got))
	}
}
