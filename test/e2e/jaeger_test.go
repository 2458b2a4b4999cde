package e2e

import (
	"encoding/json"
	"fmt"
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
	j := &jaegerServer{OTLPGRPC: freePort(t), Query: freePort(t)}
	health := freePort(t)
	cmd := exec.Command(jaegerBin(t), "--config", filepath.Join(repoRoot, "test", "e2e", "testdata", "jaeger.yaml"))
	cmd.Env = append(os.Environ(),
		"JAEGER_OTLP_GRPC="+j.OTLPGRPC, "JAEGER_QUERY_HTTP="+j.Query,
		"JAEGER_QUERY_GRPC="+freePort(t), "JAEGER_HEALTH="+health)
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
	defer resp.Body.Close()
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

// The default config delivers traces to a real Jaeger: every trace the collector forwards is
// queryable there, whole.
func TestTracesReachJaeger(t *testing.T) {
	j := startJaeger(t)
	c := startCollector(t, collectorOptions{Env: map[string]string{"JAEGER_OTLP_ENDPOINT": j.OTLPGRPC}})
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
