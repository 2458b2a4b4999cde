package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/commbustest"
)

// healthStatus is healthcheckv2's answer: the collector, a pipeline or a component.
type healthStatus struct {
	Healthy    bool                     `json:"healthy"`
	Status     string                   `json:"status"`
	Error      string                   `json:"error"`
	Components map[string]*healthStatus `json:"components"`
}

// healthGet asks healthcheckv2 at hostport for path (e.g. "/status?pipeline=traces&verbose").
func healthGet(t *testing.T, hostport, path string) (int, *healthStatus) {
	t.Helper()
	resp, err := http.Get("http://" + hostport + path)
	if err != nil {
		return 0, nil
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil
	}
	var st healthStatus
	if json.Unmarshal(body, &st) != nil {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, &st
}

// componentIn is a component's status in a pipeline of a verbose collector answer ("" if absent).
func (s *healthStatus) componentIn(pipeline, component string) *healthStatus {
	if s == nil {
		return nil
	}
	p := s.Components["pipeline:"+pipeline]
	if p == nil {
		return nil
	}
	return p.Components[component]
}

// livenessCode is health_check's answer on / (liveness and startup probes).
func livenessCode(c *collector) int {
	resp, err := http.Get("http://" + c.Health + "/")
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// The CommBus kernel is unreachable from the start: healthcheckv2 shows receiver:commbus in
// StatusRecoverableError within seconds, in the traces, logs and metrics/commbus pipelines and
// not in the OTLP-only metrics pipeline; the subscribe gauge is 0; the answer turns 500 once the
// error has lasted recovery_duration while liveness stays 200. The kernel comes up: OK, 200.
func TestHealthKernelOutage(t *testing.T) {
	t.Parallel()
	kernel := commbustest.StartKernel(t, "127.0.0.1:0")
	kernel.Kill()
	start := time.Now()
	c := startCollector(t, collectorOptions{
		Env: map[string]string{
			"JEEVES_COMMBUS_ENDPOINT":         kernel.Addr(),
			"JEEVES_HEALTH_RECOVERY_DURATION": "3s",
			"JEEVES_METRICS_FLUSH_INTERVAL":   "1s",
		},
		// Reconnect within a second of the kernel coming back.
		Overrides: []string{"yaml:receivers::commbus::subscribe::backoff::max_interval: 1s"},
	})

	eventually(t, 10*time.Second, func() string {
		_, st := healthGet(t, c.HealthStatus, "/status?verbose")
		if r := st.componentIn("traces", "receiver:commbus"); r == nil || r.Status != "StatusRecoverableError" {
			return fmt.Sprintf("receiver:commbus in pipeline:traces is %+v, want StatusRecoverableError", r)
		}
		return ""
	})
	t.Logf("recoverable error on the v2 endpoint %s after the collector started", time.Since(start).Round(time.Millisecond))

	code, st := healthGet(t, c.HealthStatus, "/status?verbose")
	for _, p := range []string{"traces", "logs", "metrics/commbus"} {
		r := st.componentIn(p, "receiver:commbus")
		if r == nil || r.Status != "StatusRecoverableError" || !strings.Contains(r.Error, "connection refused") {
			t.Errorf("pipeline %s: receiver:commbus %+v, want StatusRecoverableError with the dial error", p, r)
		}
	}
	if p := st.Components["pipeline:metrics"]; p == nil || p.Status != "StatusOK" {
		t.Errorf("pipeline:metrics (OTLP only) is %+v, want StatusOK", p)
	}
	if code != http.StatusOK {
		t.Errorf("/status answers %d within recovery_duration, want 200", code)
	}
	fams := scrape(t, c.Telemetry)
	if fam := fams["otelcol_receiver_commbus_connections_active"]; fam == nil || len(fam.GetMetric()) == 0 {
		t.Error("otelcol_receiver_commbus_connections_active absent while the kernel is unreachable, want 0")
	} else if v := sumSamples(fams, "otelcol_receiver_commbus_connections_active", map[string]string{"mode": "subscribe"}); v != 0 {
		t.Errorf("otelcol_receiver_commbus_connections_active{mode=subscribe} = %v, want 0", v)
	}

	// Past recovery_duration (3 s): unhealthy, and the pipeline answers say which.
	eventually(t, 10*time.Second, func() string {
		if code, _ := healthGet(t, c.HealthStatus, "/status"); code != http.StatusInternalServerError {
			return fmt.Sprintf("/status answers %d, want 500", code)
		}
		return ""
	})
	for path, want := range map[string]int{
		"/status?pipeline=traces":          http.StatusInternalServerError,
		"/status?pipeline=metrics/commbus": http.StatusInternalServerError,
		"/status?pipeline=metrics":         http.StatusOK,
		"/status?pipeline=traces/sampled":  http.StatusOK,
		"/status?pipeline=nonexistent":     http.StatusNotFound,
	} {
		if code, _ := healthGet(t, c.HealthStatus, path); code != want {
			t.Errorf("%s answers %d, want %d", path, code, want)
		}
	}
	if code := livenessCode(c); code != http.StatusOK {
		t.Errorf("liveness (health_check /) answers %d while the kernel is down, want 200", code)
	}

	kernel.Restart()
	if err := kernel.WaitSubscribers(1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	eventually(t, 10*time.Second, func() string {
		code, st := healthGet(t, c.HealthStatus, "/status?verbose")
		if r := st.componentIn("traces", "receiver:commbus"); code != http.StatusOK || r == nil || r.Status != "StatusOK" {
			return fmt.Sprintf("/status %d, receiver:commbus %+v, want 200 and StatusOK", code, r)
		}
		return ""
	})
	t.Logf("OK %s after the kernel accepted the subscription", time.Since(back).Round(time.Millisecond))
	eventually(t, 10*time.Second, func() string {
		if v := sumSamples(scrape(t, c.Telemetry), "otelcol_receiver_commbus_connections_active", map[string]string{"mode": "subscribe"}); v != 1 {
			return fmt.Sprintf("otelcol_receiver_commbus_connections_active{mode=subscribe} = %v, want 1", v)
		}
		return ""
	})
}

// Jaeger is unreachable: the otlp_grpc exporter of this collector release reports no component
// status (exporterhelper v0.165.0 never calls componentstatus), so traces/sampled stays StatusOK
// while every export fails and the queue grows. What shows the outage is the exporter's own
// telemetry (otelcol_exporter_queue_size, then otelcol_exporter_send_failed_spans once retries
// run out; OtelcolJeevesExportQueueFilling / OtelcolJeevesDroppingData). This test pins that
// limitation: when a release makes exporters report status it fails, and docs/operations.md's
// health table must change with it. Jaeger comes up: the queue drains.
func TestHealthJaegerOutageIsNotInComponentStatus(t *testing.T) {
	t.Parallel()
	jaegerAddr := freePort(t)
	c := startCollector(t, collectorOptions{Env: map[string]string{
		"JAEGER_OTLP_ENDPOINT": jaegerAddr,

		"JEEVES_SAMPLING_MODE":       "head",
		"JEEVES_SAMPLING_PERCENTAGE": "100",
	}})
	sendTraffic(t, c.OTLPGRPC, trafficConfig(7, 50))
	eventually(t, 20*time.Second, func() string {
		if q := queueSize(t, c); q == 0 {
			return "export queue empty, want the spans Jaeger did not take"
		}
		return ""
	})
	code, st := healthGet(t, c.HealthStatus, "/status?pipeline=traces/sampled&verbose")
	if st == nil {
		t.Fatalf("/status?pipeline=traces/sampled answered %d without a status", code)
	}
	exp := st.Components["exporter:otlp_grpc/jaeger"]
	if code != http.StatusOK || st.Status != "StatusOK" || exp == nil || exp.Status != "StatusOK" {
		t.Errorf("traces/sampled: %d %s, exporter %+v: the exporter reports status now; update docs/operations.md#health-endpoints", code, st.Status, exp)
	}
	if code := livenessCode(c); code != http.StatusOK {
		t.Errorf("liveness answers %d while Jaeger is down, want 200", code)
	}

	sink := startTraceSinkAt(t, jaegerAddr, false)
	eventually(t, 30*time.Second, func() string {
		if q := queueSize(t, c); q != 0 || sink.SpanCount() == 0 {
			return fmt.Sprintf("queue %d spans, sink %d spans: want the queue drained into the sink", q, sink.SpanCount())
		}
		return ""
	})
}

// The memory limiter refuses data: it reports its own recoverable error (memorylimiter v0.165.0
// does), and liveness stays 200. Its three pipelines share one limiter, which keeps only the host
// of the pipeline started last, so the error shows in one of them, not in all three. A limit of
// 2 MiB makes it refuse from the first check.
func TestHealthMemoryLimiterRefusing(t *testing.T) {
	t.Parallel()
	c := startCollector(t, collectorOptions{
		Overrides: []string{
			"yaml:processors::memory_limiter::limit_percentage: 0",
			"yaml:processors::memory_limiter::spike_limit_percentage: 0",
			"yaml:processors::memory_limiter::limit_mib: 2",
			"yaml:processors::memory_limiter::spike_limit_mib: 1",
		},
	})
	var refusing []string
	eventually(t, 10*time.Second, func() string {
		_, st := healthGet(t, c.HealthStatus, "/status?verbose")
		refusing = nil
		for _, p := range []string{"traces", "metrics", "logs"} {
			if m := st.componentIn(p, "processor:memory_limiter"); m != nil && m.Status == "StatusRecoverableError" {
				refusing = append(refusing, p+": "+m.Error)
			}
		}
		if len(refusing) == 0 {
			return "processor:memory_limiter is StatusRecoverableError in no pipeline"
		}
		return ""
	})
	t.Logf("memory_limiter refusing, shown in %q", refusing)
	_, st := healthGet(t, c.HealthStatus, "/status?verbose")
	if p := st.Components["pipeline:traces/sampled"]; p == nil || p.Status != "StatusOK" {
		t.Errorf("pipeline:traces/sampled (no memory_limiter) is %+v, want StatusOK", p)
	}
	if code := livenessCode(c); code != http.StatusOK {
		t.Errorf("liveness answers %d while the memory limiter refuses, want 200", code)
	}
}

// The kernel's certificate does not verify against subscribe.tls: a configuration no retry fixes.
// receiver:commbus reports StatusPermanentError at once, /status answers 500 at once
// (include_permanent_errors), liveness stays 200, and the receiver stops dialling.
func TestHealthCommBusPermanentError(t *testing.T) {
	t.Parallel()
	kernelTLS := newTestCA(t, "kernel CA").serverTLS(t, "kernel")
	otherCA := newTestCA(t, "other CA").writeCAFile(t, t.TempDir(), "other")
	kernel := commbustest.StartKernelTLS(t, "127.0.0.1:0", kernelTLS)
	c := startCollector(t, collectorOptions{
		Env:       map[string]string{"JEEVES_COMMBUS_ENDPOINT": kernel.Addr()},
		Overrides: []string{"yaml:receivers::commbus::subscribe::tls::ca_file: " + otherCA},
	})
	eventually(t, 10*time.Second, func() string {
		code, st := healthGet(t, c.HealthStatus, "/status?verbose")
		r := st.componentIn("traces", "receiver:commbus")
		if code != http.StatusInternalServerError || r == nil || r.Status != "StatusPermanentError" {
			return fmt.Sprintf("/status %d, receiver:commbus %+v, want 500 and StatusPermanentError", code, r)
		}
		return ""
	})
	_, st := healthGet(t, c.HealthStatus, "/status?verbose")
	t.Logf("permanent error: %q", st.componentIn("traces", "receiver:commbus").Error)
	if code := livenessCode(c); code != http.StatusOK {
		t.Errorf("liveness answers %d with a permanent CommBus error, want 200", code)
	}
	if !strings.Contains(c.output.String(), "cannot accept this CommBus subscription") {
		t.Error("no error logged for the permanent CommBus error")
	}
}
