package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/commbustest"
)

// commbusWant is what the lifecycle script must produce on :8889 (see commbustest.LifecycleScript).
var commbusWant = []wantSample{
	{"jeeves_commbus_events_total", map[string]string{"event_type": "process.created", "source": "kernel"}, 3},
	{"jeeves_commbus_events_total", map[string]string{"event_type": "process.state_changed", "source": "kernel"}, 3},
	{"jeeves_commbus_events_total", map[string]string{"event_type": "process.resumed", "source": "kernel"}, 1},
	{"jeeves_commbus_events_total", map[string]string{"event_type": "process.terminated", "source": "kernel"}, 1},
	{"jeeves_commbus_events_total", map[string]string{"event_type": "resource.exhausted", "source": "kernel"}, 1},
	{"jeeves_commbus_events_total", map[string]string{"event_type": "process.cancelled", "source": "kernel"}, 1},
	{"jeeves_interrupts_total", map[string]string{"job": "jeeves-commbus", "kind": "clarification", "status": "pending"}, 1},
	{"jeeves_interrupts_total", map[string]string{"job": "jeeves-commbus", "kind": "clarification", "status": "resolved"}, 1},
	{"jeeves_interrupts_total", map[string]string{"job": "jeeves-commbus", "kind": "resource_exhausted", "status": "pending"}, 1},
	{"jeeves_interrupts_total", map[string]string{"job": "jeeves-commbus", "kind": "resource_exhausted", "status": "cancelled"}, 1},
	{"jeeves_resource_exhaustions_total", map[string]string{"resource": "tool_calls"}, 1},
}

// checkCommbusMetrics returns "" when the scrape holds exactly the script's CommBus metrics.
// scriptTimes says whether events carried the script's timestamp_ms (subscribe mode: the kernel
// stamps them); a Publish carries none, so the receiver times events on arrival.
func checkCommbusMetrics(fams map[string]*dto.MetricFamily, scriptTimes bool) string {
	for _, w := range commbusWant {
		if got := sumSamples(fams, w.name, w.labels); got != w.value {
			return fmt.Sprintf("%s%v = %v, want %v", w.name, w.labels, got, w.value)
		}
	}
	if got := sumSamples(fams, "jeeves_commbus_events_total", nil); got != 10 {
		return fmt.Sprintf("jeeves_commbus_events_total sums to %v, want 10", got)
	}
	if got := sumSamples(fams, "jeeves_processes_active", nil); got != 1 {
		return fmt.Sprintf("jeeves_processes_active = %v, want 1", got)
	}
	for outcome, sum := range map[string]float64{"terminated": 5, "cancelled": 2} {
		var h *dto.Histogram
		for _, m := range fams["jeeves_process_duration_seconds"].GetMetric() {
			if hasLabels(m, map[string]string{"outcome": outcome}) {
				h = m.GetHistogram()
			}
		}
		if h == nil || h.GetSampleCount() != 1 || (scriptTimes && h.GetSampleSum() != sum) {
			return fmt.Sprintf("jeeves_process_duration_seconds{outcome=%q} = %v, want count 1 sum %v", outcome, h, sum)
		}
	}
	return ""
}

// The default config subscribes to a Jeeves kernel: a scripted sequence of process lifecycles comes
// out as exact metrics on :8889, as process spans in Jaeger, and as counted events. Killing the
// kernel mid-stream and restarting it: the receiver resubscribes within the backoff cap, counts the
// reconnect, and the collector never stops.
func TestCommbusSubscribeEndToEnd(t *testing.T) {
	kernel := commbustest.StartKernel(t, "127.0.0.1:0")
	j := startJaeger(t)
	env := map[string]string{"JEEVES_COMMBUS_ENDPOINT": kernel.Addr(), "JAEGER_OTLP_ENDPOINT": j.OTLPGRPC}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{Env: env})
	pid := c.cmd.Process.Pid
	if err := kernel.WaitSubscribers(1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	sub := kernel.History()[0]
	if sub.SubscriberID != "otelcol-jeeves" || len(sub.EventTypes) != 6 {
		t.Errorf("subscription %+v: want subscriber otelcol-jeeves and the 6 default kernel event types", sub)
	}

	script := commbustest.LifecycleScript(time.Now().Add(-time.Minute))
	half := len(script) / 2
	for _, ev := range script[:half] {
		kernel.Publish(ev)
	}
	// Kill the kernel mid-stream, restart it on the same address, publish the rest.
	kernel.Kill()
	time.Sleep(500 * time.Millisecond)
	kernel.Restart()
	start := time.Now()
	if err := kernel.WaitSubscribers(1, 35*time.Second); err != nil {
		t.Fatalf("no resubscription after the kernel restarted: %v", err)
	}
	t.Logf("resubscribed %s after the kernel restarted", time.Since(start).Round(time.Millisecond))
	for _, ev := range script[half:] {
		kernel.Publish(ev)
	}

	eventually(t, 30*time.Second, func() string { return checkCommbusMetrics(scrape(t, c.Prometheus), true) })
	eventually(t, 30*time.Second, func() string {
		fams := scrape(t, c.Telemetry)
		if got := sumSamples(fams, "otelcol_receiver_commbus_reconnects", nil); got != 1 {
			return fmt.Sprintf("reconnects = %v, want 1", got)
		}
		if got := sumSamples(fams, "otelcol_receiver_commbus_events_received", nil); got != 10 {
			return fmt.Sprintf("events received = %v, want 10", got)
		}
		return ""
	})
	eventually(t, 30*time.Second, func() string {
		if got := len(j.traceIDs(t, "jeeves-commbus", 100)); got != 2 {
			return fmt.Sprintf("jaeger holds %d process traces of jeeves-commbus, want 2 (p1, p2; p3 still open)", got)
		}
		return ""
	})
	if done, err := c.exited(); done || c.cmd.Process.Pid != pid {
		t.Fatalf("collector stopped during the kernel outage: %v", err)
	}
}

// With no kernel at all the collector runs, warns about the kernel once (rate-limited, not per
// attempt), and stops cleanly.
func TestCommbusAbsentKernelIsQuiet(t *testing.T) {
	c := startCollector(t, collectorOptions{Env: map[string]string{"JEEVES_COMMBUS_ENDPOINT": freePort(t)}})
	time.Sleep(6 * time.Second)
	if done, err := c.exited(); done {
		t.Fatalf("collector exited: %v", err)
	}
	warnings := strings.Count(c.output.String(), "Cannot reach the Jeeves kernel")
	if warnings != 1 {
		t.Errorf("%d kernel warnings in 6 s, want exactly 1 (rate-limited)", warnings)
	}
	if took := c.stop(10 * time.Second); took > 5*time.Second {
		t.Errorf("shutdown took %s", took)
	}
}

// Listen mode: a Jeeves publisher (kernel bridge, bus middleware) targets the collector; Publish is
// answered as a kernel would, other methods get the protocol's error codes, and the published
// lifecycle comes out as the same exact metrics.
func TestCommbusListenEndToEnd(t *testing.T) {
	c, listen := startListeningCollector(t)
	pub, err := commbustest.Dial(listen)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	for i, ev := range commbustest.LifecycleScript(time.Now().Add(-time.Minute)) {
		if ev.EventType == "envelope.snapshot" {
			continue // not in the default subscription either; keeps the expected numbers the same
		}
		typ, reply, err := pub.Publish(fmt.Sprintf("req-%d", i), ev)
		if err != nil {
			t.Fatal(err)
		}
		if typ != commbustest.TypeResponse {
			t.Fatalf("Publish %s: frame type %#x, reply %+v", ev.EventType, typ, reply)
		}
	}
	typ, reply, err := pub.Call("req-send", "commbus", "Send", map[string]any{"command_type": "InvalidateCache", "payload": "{}"})
	if err != nil {
		t.Fatal(err)
	}
	if typ != commbustest.TypeError || !strings.Contains(fmt.Sprint(reply), "NOT_FOUND") {
		t.Errorf("Send: frame type %#x, reply %+v; want an ERROR with NOT_FOUND", typ, reply)
	}
	eventually(t, 30*time.Second, func() string { return checkCommbusMetrics(scrape(t, c.Prometheus), false) })
}

// 200 idle connections from one address (127.0.0.1) to the binary's CommBus listener take the
// default 8 per-address slots and are refused beyond them; a real publisher from another address
// (127.0.0.2) is still served and its event counted.
func TestCommbusIdleFloodLeavesPublisherServed(t *testing.T) {
	c, listen := startListeningCollector(t)
	const idle, perAddress = 200, 8
	for range idle {
		conn, err := commbustest.DialFrom(listen, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
	}
	eventually(t, 30*time.Second, func() string {
		got := sumSamples(scrape(t, c.Telemetry), "otelcol_receiver_commbus_connections_rejected", map[string]string{"reason": "max_connections_per_address"})
		if got != idle-perAddress {
			return fmt.Sprintf("rejected for max_connections_per_address: %v, want %d", got, idle-perAddress)
		}
		return ""
	})

	pub, err := commbustest.DialFrom(listen, "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pub.Close() }()
	ev := commbustest.LifecycleScript(time.Now().Add(-time.Minute))[0]
	typ, reply, err := pub.Publish("req-1", ev)
	if err != nil {
		t.Fatal(err)
	}
	if typ != commbustest.TypeResponse {
		t.Fatalf("Publish from 127.0.0.2: frame type %#x, reply %+v", typ, reply)
	}
	eventually(t, 30*time.Second, func() string {
		if got := sumSamples(scrape(t, c.Prometheus), "jeeves_commbus_events_total", map[string]string{"event_type": ev.EventType}); got != 1 {
			return fmt.Sprintf("jeeves_commbus_events_total{event_type=%q} = %v, want 1", ev.EventType, got)
		}
		return ""
	})
}

// startListeningCollector runs the binary with the CommBus listener on a free port (returned) and the
// subscription pointed at a port nothing listens on, flushing metrics fast.
func startListeningCollector(t *testing.T) (*collector, string) {
	t.Helper()
	listen := freePort(t)
	env := map[string]string{"JEEVES_COMMBUS_ENDPOINT": freePort(t)}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{
		Env:       env,
		Overrides: []string{"yaml:receivers::commbus::listen::endpoint: " + listen},
	})
	return c, listen
}
