package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The default config must validate as shipped, with every ${env:...} at its default.
func TestDefaultConfigValidates(t *testing.T) {
	out, code := runCollectorCmd(t, nil, "validate", "--config", filepath.Join(repoRoot, "configs", "otelcol-jeeves.yaml"))
	if code != 0 {
		t.Fatalf("validate exited %d:\n%s", code, out)
	}
}

// make build stamps the commit and the collector release into the version (scripts/build-collector.sh).
func TestVersion(t *testing.T) {
	out, code := runCollectorCmd(t, nil, "--version")
	want := regexp.MustCompile(`^otelcol-jeeves version 0\.1\.0 \(commit [0-9a-f]{12}(-dirty)?, collector v0\.165\.0\)\n?$`)
	if code != 0 || !want.MatchString(out) {
		t.Fatalf("--version: exit %d, output %q, want it to match %s", code, out, want)
	}
}

// A config with a mistake must fail fast, name the key, and exit non-zero.
func TestBadConfigNamesTheKey(t *testing.T) {
	cases := []struct {
		name, config string
		want         []string
	}{
		{
			name:   "unknown key",
			config: "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpont: 127.0.0.1:0\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [debug]}\n",
			want:   []string{"otlp", "endpont"},
		},
		{
			name:   "bad value",
			config: "receivers:\n  otlp:\n    protocols:\n      grpc: {}\nprocessors:\n  batch:\n    timeout: soon\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces: {receivers: [otlp], processors: [batch], exporters: [debug]}\n",
			want:   []string{"batch", "timeout"},
		},
		{
			name:   "unknown component",
			config: "receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  jaeger: {}\nservice:\n  pipelines:\n    traces: {receivers: [otlp], exporters: [jaeger]}\n",
			want:   []string{"jaeger"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			out, code := runCollectorCmd(t, nil, "validate", "--config", path)
			if code == 0 {
				t.Fatalf("validate accepted a bad config:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("error does not name %q:\n%s", w, out)
				}
			}
		})
	}
}

// `components` must list exactly what builder-config.yaml lists.
func TestComponentsMatchManifest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "builder-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]any
	if err := yaml.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	out, code := runCollectorCmd(t, nil, "components")
	if code != 0 {
		t.Fatalf("components exited %d:\n%s", code, out)
	}
	var listed map[string]any
	if err := yaml.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("components output is not YAML: %v\n%s", err, out)
	}
	modRe := regexp.MustCompile(`^(\S+) `)
	for _, kind := range []string{"receivers", "processors", "exporters", "connectors", "extensions", "providers"} {
		var want []string
		for _, entry := range manifest[kind].([]any) {
			gomod := entry.(map[string]any)["gomod"].(string)
			m := modRe.FindStringSubmatch(gomod + " ")
			want = append(want, m[1])
		}
		var got []string
		for _, entry := range listed[kind].([]any) {
			got = append(got, entry.(map[string]any)["module"].(string))
		}
		got = stripVersions(got)
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			t.Errorf("%s: manifest lists\n  %v\nbinary lists\n  %v", kind, want, got)
		}
	}
}

func stripVersions(mods []string) []string {
	out := make([]string, 0, len(mods))
	for _, m := range mods {
		out = append(out, strings.Fields(m)[0])
	}
	return out
}

// The default config comes up with nothing else running: health 200, both metric endpoints answer,
// and an absent trace backend produces neither a crash nor an unbounded queue.
func TestDefaultConfigRunsAlone(t *testing.T) {
	c := startCollector(t, collectorOptions{})
	fams := scrape(t, c.Telemetry)
	capacity := sumSamples(fams, "otelcol_exporter_queue_capacity", map[string]string{"exporter": "otlp_grpc/jaeger"})
	if capacity != 200000 {
		t.Errorf("otlp_grpc/jaeger queue capacity = %v, want 200000 (bounded)", capacity)
	}
	_ = scrape(t, c.Prometheus)
	time.Sleep(2 * time.Second)
	if done, err := c.exited(); done {
		t.Fatalf("collector exited on its own: %v", err)
	}
}

// With Jaeger absent the export queue fills to its bound and stops there: further spans are refused
// and counted, the collector keeps running and keeps serving the metrics of every span.
func TestAbsentJaegerQueueStaysBounded(t *testing.T) {
	const queue = 2000
	env := map[string]string{"JAEGER_QUEUE_SPANS": itoa(queue), "JEEVES_SAMPLING_PERCENTAGE": keepAll}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{Env: env})
	m := sendTraffic(t, c.OTLPGRPC, trafficConfig(71, 1000))
	if m.Spans <= 2*queue {
		t.Fatalf("sent %d spans, need more than twice the queue (%d) to hit the bound", m.Spans, queue)
	}
	eventually(t, 30*time.Second, func() string {
		fams := scrape(t, c.Telemetry)
		size := sumSamples(fams, "otelcol_exporter_queue_size", map[string]string{"exporter": "otlp_grpc/jaeger"})
		capacity := sumSamples(fams, "otelcol_exporter_queue_capacity", map[string]string{"exporter": "otlp_grpc/jaeger"})
		failed := sumSamples(fams, "otelcol_exporter_enqueue_failed_spans", map[string]string{"exporter": "otlp_grpc/jaeger"})
		if capacity != queue || size > capacity || failed == 0 {
			return fmt.Sprintf("queue size %v, capacity %v, enqueue-failed spans %v", size, capacity, failed)
		}
		return ""
	})
	// Metrics still count every span.
	eventually(t, 30*time.Second, func() string {
		if got := sumSamples(scrape(t, c.Prometheus), "traces_span_metrics_calls_total", nil); got != float64(m.Spans) {
			return fmt.Sprintf("SPM calls %v, sent %d", got, m.Spans)
		}
		return ""
	})
	if done, err := c.exited(); done {
		t.Fatalf("collector exited: %v", err)
	}
	// The outage is logged, not per batch: warnings and errors stay few.
	time.Sleep(5 * time.Second)
	var noisy int
	for _, line := range strings.Split(c.output.String(), "\n") {
		if strings.Contains(line, "\twarn\t") || strings.Contains(line, "\terror\t") {
			noisy++
		}
	}
	t.Logf("%d warning and error lines during the outage", noisy)
	if noisy > 30 {
		t.Errorf("%d warning and error lines during a short outage; want them rate-limited (<= 30)", noisy)
	}
}
