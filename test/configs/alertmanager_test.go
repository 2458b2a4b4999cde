package configs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	alertmanagerFile = "alertmanager/alertmanager.yml"
)

// receiverFor is the plan's routing: critical → pager, warning → chat, anything else → webhook.
func receiverFor(severity string) string {
	switch severity {
	case "critical":
		return "pager"
	case "warning":
		return "chat"
	}
	return "webhook"
}

type alertingRule struct {
	Name   string
	File   string
	Labels map[string]string
}

// alertingRules reads every alerting rule of configs/prometheus/rules/*.yml, the files prometheus.yml loads.
func alertingRules(t *testing.T) []alertingRule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "prometheus/rules/*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []alertingRule
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var file struct {
			Groups []struct {
				Rules []struct {
					Alert  string            `yaml:"alert"`
					Labels map[string]string `yaml:"labels"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(raw, &file); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range file.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					alerts = append(alerts, alertingRule{Name: r.Alert, File: filepath.Base(f), Labels: r.Labels})
				}
			}
		}
	}
	if len(alerts) == 0 {
		t.Fatal("no alerting rules in configs/prometheus/rules/*.yml")
	}
	return alerts
}

// Every alert of the rules, with its static labels, reaches the receiver its severity calls for;
// so do alerts the rules do not know (another team's, or one without severity).
func TestAlertmanagerRoutesEveryAlert(t *testing.T) {
	tool(t, "amtool", "check-config", alertmanagerFile)
	type probe struct {
		name   string
		labels map[string]string
	}
	var probes []probe
	seen := map[string]bool{"critical": false, "warning": false}
	for _, a := range alertingRules(t) {
		labels := map[string]string{"alertname": a.Name}
		for k, v := range a.Labels {
			labels[k] = v
		}
		seen[a.Labels["severity"]] = true
		probes = append(probes, probe{a.File + ": " + a.Name, labels})
	}
	for sev, ok := range seen {
		if !ok {
			t.Errorf("no alert with severity %s in the rules: its route is untested", sev)
		}
	}
	probes = append(probes,
		probe{"unknown info alert", map[string]string{"alertname": "SomethingElse", "severity": "info"}},
		probe{"unknown critical alert", map[string]string{"alertname": "SomethingElse", "severity": "critical"}},
		probe{"alert without severity", map[string]string{"alertname": "SomethingElse"}})
	for _, p := range probes {
		args := []string{"config", "routes", "test", "--config.file=" + alertmanagerFile}
		for _, k := range sortedLabelNames(p.labels) {
			args = append(args, k+"="+p.labels[k])
		}
		got := strings.TrimSpace(tool(t, "amtool", args...))
		if want := receiverFor(p.labels["severity"]); got != want {
			t.Errorf("%s %v routed to %q, want %q", p.name, p.labels, got, want)
		}
	}
}

func sortedLabelNames(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// The inhibit rules name alerts of the rules files, so a renamed alert cannot leave a rule that
// never matches.
func TestInhibitRulesNameExistingAlerts(t *testing.T) {
	known := map[string]string{}
	for _, a := range alertingRules(t) {
		known[a.Name] = a.Labels["severity"]
	}
	cfg := readAlertmanagerConfig(t)
	rules, ok := cfg["inhibit_rules"].([]any)
	if !ok || len(rules) == 0 {
		t.Fatal("no inhibit_rules")
	}
	for i, r := range rules {
		rule := r.(map[string]any)
		for _, side := range []string{"source_matchers", "target_matchers"} {
			matchers, _ := rule[side].([]any)
			for _, m := range matchers {
				s := m.(string)
				name, ok := strings.CutPrefix(s, `alertname="`)
				if !ok {
					continue
				}
				name = strings.TrimSuffix(name, `"`)
				sev, exists := known[name]
				if !exists {
					t.Errorf("inhibit_rules[%d].%s names %s, which no rule in configs/prometheus/rules defines", i, side, name)
				}
				if side == "source_matchers" && exists && sev != "critical" {
					t.Errorf("inhibit_rules[%d] silences with %s (severity %q); only criticals silence", i, name, sev)
				}
			}
		}
	}
}

func readAlertmanagerConfig(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, alertmanagerFile))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testAlert is one alert posted to Alertmanager, with the receiver it must reach ("" = none: it
// must be inhibited).
type testAlert struct {
	labels map[string]string
	want   string
}

func newTestAlert(want string, labels ...string) testAlert {
	m := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		m[labels[i]] = labels[i+1]
	}
	return testAlert{labels: m, want: want}
}

// The inhibit rules of the committed file, run by a real Alertmanager: posted together with the
// critical that covers them, warnings of the same scope are held back while the rest, and the
// critical, reach their receivers; posted alone, the same warnings are delivered.
func TestAlertmanagerInhibition(t *testing.T) {
	am, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		if am, err = exec.LookPath("alertmanager"); err != nil {
			t.Fatalf("prometheus-alertmanager not installed (run scripts/install-test-deps.sh): %v", err)
		}
	}
	burnFastSuccess := newTestAlert("pager", "alertname", "JeevesErrorBudgetBurnFast", "severity", "critical", "slo", "pipeline_success")
	burnSlowSuccess := newTestAlert("", "alertname", "JeevesErrorBudgetBurnSlow", "severity", "warning", "slo", "pipeline_success")
	errorRatio := newTestAlert("", "alertname", "JeevesPipelineErrorRatioHigh", "severity", "warning", "pipeline", "checkout")
	burnFastLatency := newTestAlert("pager", "alertname", "JeevesErrorBudgetBurnFast", "severity", "critical", "slo", "pipeline_latency")
	burnSlowLatency := newTestAlert("", "alertname", "JeevesErrorBudgetBurnSlow", "severity", "warning", "slo", "pipeline_latency")
	latency := newTestAlert("", "alertname", "JeevesPipelineLatencyHigh", "severity", "warning", "pipeline", "checkout")
	llmOpenAI := newTestAlert("pager", "alertname", "JeevesLLMProviderErrorRatioHigh", "severity", "critical", "provider", "openai")
	burnSlowOpenAI := newTestAlert("", "alertname", "JeevesErrorBudgetBurnSlow", "severity", "warning", "slo", "llm_availability", "provider", "openai")
	down := newTestAlert("pager", "alertname", "OtelcolJeevesDown", "severity", "critical", "job", "otelcol-jeeves")
	queue := newTestAlert("", "alertname", "OtelcolJeevesExportQueueFilling", "severity", "warning", "exporter", "otlp_grpc/jaeger")
	interrupts := newTestAlert("", "alertname", "JeevesInterruptRateHigh", "severity", "info")
	completion := newTestAlert("", "alertname", "JeevesTraceCompletionLow", "severity", "warning")

	cases := []struct {
		name    string
		sources []testAlert
		targets []testAlert
	}{
		{
			name:    "fast burn of pipeline_success",
			sources: []testAlert{burnFastSuccess},
			targets: []testAlert{
				burnSlowSuccess, errorRatio,
				// Another SLO's slow burn and another family's warning are not covered.
				newTestAlert("chat", "alertname", "JeevesErrorBudgetBurnSlow", "severity", "warning", "slo", "db_availability"),
				newTestAlert("chat", "alertname", "JeevesPipelineLatencyHigh", "severity", "warning", "pipeline", "checkout"),
			},
		},
		{
			name:    "fast burn of pipeline_latency and a failing provider",
			sources: []testAlert{burnFastLatency, llmOpenAI},
			targets: []testAlert{
				burnSlowLatency, latency, burnSlowOpenAI,
				// Another provider's slow burn is not covered.
				newTestAlert("chat", "alertname", "JeevesErrorBudgetBurnSlow", "severity", "warning", "slo", "llm_availability", "provider", "anthropic"),
				newTestAlert("chat", "alertname", "JeevesPipelineErrorRatioHigh", "severity", "warning", "pipeline", "checkout"),
			},
		},
		{
			name:    "collector down",
			sources: []testAlert{down},
			targets: []testAlert{
				queue, interrupts, completion,
				// Criticals still page; other teams' warnings are not ours to silence.
				llmOpenAI,
				newTestAlert("chat", "alertname", "NodeFilesystemAlmostFull", "severity", "warning"),
			},
		},
		{
			// Without their sources every alert held back above is delivered: the inhibition,
			// not the routing or the test, kept them from their receivers.
			name: "no critical",
			targets: []testAlert{
				deliveredTo(burnSlowSuccess, "chat"), deliveredTo(errorRatio, "chat"), deliveredTo(burnSlowLatency, "chat"),
				deliveredTo(latency, "chat"), deliveredTo(burnSlowOpenAI, "chat"), deliveredTo(queue, "chat"),
				deliveredTo(interrupts, "webhook"), deliveredTo(completion, "chat"),
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := newNotificationRecorder()
			srv := httptest.NewServer(rec)
			defer srv.Close()
			base := startAlertmanager(t, am, srv.URL)

			postAlerts(t, base, tc.sources)
			pollUntil(t, 10*time.Second, "the sources in Alertmanager", func() bool {
				return len(activeAlerts(t, base)) >= len(tc.sources)
			})
			postAlerts(t, base, tc.targets)

			all := append(append([]testAlert(nil), tc.sources...), tc.targets...)
			pollUntil(t, 15*time.Second, "the expected notifications", func() bool {
				for _, a := range all {
					if a.want != "" && len(rec.receivers(a.labels)) == 0 {
						return false
					}
				}
				return true
			})
			// group_wait in the test copy is 1s: a notification that was going to come has come by now.
			time.Sleep(3 * time.Second)

			states := activeAlerts(t, base)
			for _, a := range all {
				got := rec.receivers(a.labels)
				key := alertLabelKey(a.labels)
				if a.want == "" {
					if len(got) != 0 {
						t.Errorf("%s was delivered to %v; it should be inhibited", key, got)
					}
					if st := states[key]; st.State != "suppressed" || len(st.InhibitedBy) == 0 {
						t.Errorf("%s: Alertmanager state %q inhibited by %v, want suppressed by an inhibit rule", key, st.State, st.InhibitedBy)
					}
					continue
				}
				if len(got) != 1 || got[0] != a.want {
					t.Errorf("%s delivered to %v, want only %s", key, got, a.want)
				}
				if st := states[key]; st.State != "active" {
					t.Errorf("%s: Alertmanager state %q (inhibited by %v), want active", key, st.State, st.InhibitedBy)
				}
			}
		})
	}
}

func deliveredTo(a testAlert, want string) testAlert { a.want = want; return a }

func alertLabelKey(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range sortedLabelNames(labels) {
		parts = append(parts, fmt.Sprintf("%s=%q", k, labels[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// notificationRecorder stands in for PagerDuty, Slack and jeeves-alert-webhook: the test copy of the
// config points receiver R at <server>/R.
type notificationRecorder struct {
	mu        sync.Mutex
	delivered map[string][]string // label key → receivers, in arrival order
}

func newNotificationRecorder() *notificationRecorder {
	return &notificationRecorder{delivered: map[string][]string{}}
}

func (r *notificationRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var msg struct {
		Receiver string `json:"receiver"`
		Alerts   []struct {
			Status string            `json:"status"`
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.NewDecoder(req.Body).Decode(&msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path := strings.TrimPrefix(req.URL.Path, "/")
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range msg.Alerts {
		if a.Status != "firing" {
			continue
		}
		// The path and the payload's receiver name must agree, or the config copy is wrong.
		name := path
		if msg.Receiver != path {
			name = path + "(payload says " + msg.Receiver + ")"
		}
		key := alertLabelKey(a.Labels)
		r.delivered[key] = append(r.delivered[key], name)
	}
}

func (r *notificationRecorder) receivers(labels map[string]string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.delivered[alertLabelKey(labels)]...)
}

// startAlertmanager runs prometheus-alertmanager on a free port with a copy of the committed config
// whose receivers post to recorderURL/<receiver> and whose group_wait is 1s; it returns the base URL.
func startAlertmanager(t *testing.T, binary, recorderURL string) string {
	t.Helper()
	cfg := readAlertmanagerConfig(t)
	receivers, _ := cfg["receivers"].([]any)
	var names []any
	for _, r := range receivers {
		name := r.(map[string]any)["name"].(string)
		names = append(names, map[string]any{
			"name":            name,
			"webhook_configs": []any{map[string]any{"url": recorderURL + "/" + name, "send_resolved": false}},
		})
	}
	if len(names) == 0 {
		t.Fatal("no receivers in the config")
	}
	cfg["receivers"] = names
	shortenWaits(cfg["route"])
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), out, 0o600); err != nil {
		t.Fatal(err)
	}

	addr := freeLoopbackAddr(t)
	var log bytes.Buffer
	cmd := exec.Command(binary,
		"--config.file="+filepath.Join(dir, "alertmanager.yml"),
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--cluster.listen-address=", // one instance: no gossip port
		"--log.level=warn")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", log.String())
		}
	})
	base := "http://" + addr
	pollUntil(t, 15*time.Second, "alertmanager ready", func() bool {
		select {
		case <-exited:
			t.Fatalf("alertmanager exited:\n%s", log.String())
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

func shortenWaits(route any) {
	r, ok := route.(map[string]any)
	if !ok {
		return
	}
	r["group_wait"] = "1s"
	r["group_interval"] = "1s"
	for _, child := range yamlList(r["routes"]) {
		shortenWaits(child)
	}
}

func yamlList(v any) []any { s, _ := v.([]any); return s }

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func postAlerts(t *testing.T, base string, alerts []testAlert) {
	t.Helper()
	if len(alerts) == 0 {
		return
	}
	now := time.Now().UTC()
	body := make([]map[string]any, 0, len(alerts))
	for _, a := range alerts {
		body = append(body, map[string]any{
			"labels":      a.labels,
			"annotations": map[string]string{"summary": "test"},
			"startsAt":    now.Format(time.RFC3339Nano),
			"endsAt":      now.Add(time.Hour).Format(time.RFC3339Nano),
		})
	}
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /api/v2/alerts: %s %s", resp.Status, msg)
	}
}

type alertStatus struct {
	State       string   `json:"state"`
	InhibitedBy []string `json:"inhibitedBy"`
}

// activeAlerts returns Alertmanager's view of every alert it holds, by label key.
func activeAlerts(t *testing.T, base string) map[string]alertStatus {
	t.Helper()
	resp, err := http.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var alerts []struct {
		Labels map[string]string `json:"labels"`
		Status alertStatus       `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]alertStatus, len(alerts))
	for _, a := range alerts {
		out[alertLabelKey(a.Labels)] = a.Status
	}
	return out
}

func pollUntil(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
