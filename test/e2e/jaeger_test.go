package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jaegerServer is a real Jaeger v2 all-in-one (memory storage) on free loopback ports.
type jaegerServer struct {
	OTLPGRPC string // where the collector sends traces
	Query    string // HTTP query API (/api/traces, /api/services)
}

// jaegerBin returns $JAEGER_BIN, or builds (once, cached) Jaeger with scripts/build-jaeger.sh.
func jaegerBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("JAEGER_BIN"); bin != "" {
		return bin
	}
	out, err := exec.Command(filepath.Join(repoRoot, "scripts", "build-jaeger.sh")).Output()
	if err != nil {
		t.Fatalf("building Jaeger: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func startJaeger(t *testing.T) *jaegerServer {
	t.Helper()
	return startJaegerWith(t, "jaeger.yaml")
}

// startJaegerWith runs Jaeger on a config from testdata with extra environment (KEY=value).
func startJaegerWith(t *testing.T, config string, env ...string) *jaegerServer {
	t.Helper()
	return startJaegerAt(t, freePort(t), config, env...)
}

// startJaegerAt is startJaegerWith with the OTLP gRPC address chosen by the caller: a collector
// configured with it before Jaeger runs sees Jaeger come up where it has been sending.
func startJaegerAt(t *testing.T, otlpGRPC, config string, env ...string) *jaegerServer {
	t.Helper()
	j := &jaegerServer{OTLPGRPC: otlpGRPC, Query: freePort(t)}
	health := freePort(t)
	cmd := exec.Command(jaegerBin(t), "--config", filepath.Join(repoRoot, "test", "e2e", "testdata", config))
	cmd.Env = append(os.Environ(),
		"JAEGER_OTLP_GRPC="+j.OTLPGRPC, "JAEGER_QUERY_HTTP="+j.Query,
		"JAEGER_QUERY_GRPC="+freePort(t), "JAEGER_HEALTH="+health)
	cmd.Env = append(cmd.Env, env...)
	startBackend(t, "jaeger", cmd, "http://"+j.Query+"/api/services", 60*time.Second)
	return j
}

// traceIDs returns the ids of the traces Jaeger stores for a service (up to limit).
func (j *jaegerServer) traceIDs(t *testing.T, service string, limit int) map[string]int {
	t.Helper()
	q := url.Values{"service": {service}, "limit": {fmt.Sprint(limit)}, "lookback": {"2h"}}
	resp, err := http.Get("http://" + j.Query + "/api/traces?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Data []struct {
			TraceID string            `json:"traceID"`
			Spans   []json.RawMessage `json:"spans"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int, len(body.Data))
	for _, tr := range body.Data {
		out[tr.TraceID] += len(tr.Spans)
	}
	return out
}

// The default config delivers traces to a real Jaeger: with sampling at 100% every trace is
// queryable there, whole.
func TestTracesReachJaeger(t *testing.T) {
	j := startJaeger(t)
	c := startCollector(t, collectorOptions{Env: map[string]string{"JAEGER_OTLP_ENDPOINT": j.OTLPGRPC, "JEEVES_SAMPLING_PERCENTAGE": keepAll}})
	cfg := trafficConfig(5, 300)
	cfg.TraceList = true
	m := sendTraffic(t, c.OTLPGRPC, cfg)

	want := map[string]int{}
	for _, tr := range m.TraceList {
		want[tr.TraceID] = tr.Spans
	}
	eventually(t, 30*time.Second, func() string {
		got := j.traceIDs(t, "jeeves-gateway", 10*len(want))
		if len(got) != len(want) {
			return fmt.Sprintf("jaeger holds %d traces of jeeves-gateway, sent %d", len(got), len(want))
		}
		for id, n := range want {
			if got[id] != n {
				return fmt.Sprintf("trace %s has %d spans in jaeger, sent %d", id, got[id], n)
			}
		}
		return ""
	})
}

// spmSeries asks Jaeger's Monitor-tab API for one of its metrics (calls, errors, latencies) of a
// service and returns how many series carry at least one point with a value.
func (j *jaegerServer) spmSeries(t *testing.T, metric, service string, extra url.Values) (int, error) {
	t.Helper()
	now := time.Now()
	q := url.Values{
		"service": {service}, "endTs": {fmt.Sprint(now.UnixMilli())}, "lookback": {"300000"},
		"step": {"5000"}, "ratePer": {"60000"}, "spanKind": {"server"},
	}
	for k, v := range extra {
		q[k] = v
	}
	resp, err := http.Get("http://" + j.Query + "/api/metrics/" + metric + "?" + q.Encode())
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %s", resp.Status)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	var body struct {
		Metrics []struct {
			MetricPoints []struct {
				GaugeValue struct {
					// A number, or a string such as "NaN" for a step without data.
					DoubleValue any `json:"doubleValue"`
				} `json:"gaugeValue"`
			} `json:"metricPoints"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return 0, err
	}
	n := 0
	defer func() {
		if n == 0 {
			t.Logf("Jaeger %s: %.600s", metric, raw)
		}
	}()
	for _, m := range body.Metrics {
		for _, p := range m.MetricPoints {
			if _, ok := p.GaugeValue.DoubleValue.(float64); ok {
				n++
				break
			}
		}
	}
	return n, nil
}

// Jaeger's Monitor tab, configured as configs/jaeger/jaeger.yaml is, reads the span metrics that the
// jeeves connector serves: calls, errors and latencies of jeeves-gateway come back from Jaeger's API
// through a real Prometheus scraping a real collector.
func TestJaegerMonitorTabReadsSpanMetrics(t *testing.T) {
	sink := startTraceSink(t, false)
	env := map[string]string{"JAEGER_OTLP_ENDPOINT": sink.Addr}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{Env: env})
	prom := startPrometheus(t, c.Prometheus, c.Telemetry)
	j := startJaegerWith(t, "jaeger-spm.yaml", "PROMETHEUS_URL=http://"+prom.Addr)

	sendTraffic(t, c.OTLPGRPC, trafficConfig(41, 1000))
	time.Sleep(4 * time.Second)
	sendTraffic(t, c.OTLPGRPC, trafficConfig(42, 1000))

	for _, q := range []struct {
		metric string
		extra  url.Values
	}{
		{"calls", nil},
		{"errors", nil},
		{"latencies", url.Values{"quantile": {"0.95"}}},
	} {
		eventually(t, 60*time.Second, func() string {
			n, err := j.spmSeries(t, q.metric, "jeeves-gateway", q.extra)
			if err != nil || n == 0 {
				return fmt.Sprintf("Jaeger SPM %s for jeeves-gateway: %d series with data (%v)", q.metric, n, err)
			}
			return ""
		})
	}
}
