package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/commbustest"
)

// alertStack is the operator bundle run for real around one collector: a CommBus kernel it
// subscribes to, a trace backend, Prometheus loaded with a test copy of the committed rules,
// Alertmanager with a test copy of the committed routing, and the alert webhook recording every
// notification with the receiver it was routed to.
type alertStack struct {
	kernel *commbustest.Kernel
	sink   *traceSink
	c      *collector
	prom   *prometheusServer
	am     string // host:port of Alertmanager
	hook   *alertWebhook
}

// testRuleFor is the `for:` of every rule in the test copy: the committed durations are covered by
// the promtool unit tests; here the question is whether the expression holds on live data and the
// notification reaches the right receiver.
const testRuleFor = "1s"

// startAlertStack starts the stack; env is added to the collector's environment and overrides
// are merged over its config.
func startAlertStack(t *testing.T, env map[string]string, overrides []string) *alertStack {
	t.Helper()
	st := &alertStack{kernel: commbustest.StartKernel(t, "127.0.0.1:0"), sink: startTraceSink(t, false)}
	st.hook = startAlertWebhook(t)
	st.am = startAlertmanager(t, st.hook.url())
	full := map[string]string{"JAEGER_OTLP_ENDPOINT": st.sink.Addr, "JEEVES_COMMBUS_ENDPOINT": st.kernel.Addr()}
	for k, v := range fastFlush {
		full[k] = v
	}
	for k, v := range env {
		full[k] = v
	}
	st.c = startCollector(t, collectorOptions{Env: full, Overrides: overrides})
	if err := st.kernel.WaitSubscribers(1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	st.prom = startPrometheusWith(t, prometheusOptions{
		Jeeves: st.c.Prometheus, Self: st.c.Telemetry,
		RuleFiles: testRuleCopies(t), Alertmanager: st.am,
	})
	return st
}

// testRuleCopies writes a copy of every committed rule file with each `for:` set to testRuleFor
// and returns their paths.
func testRuleCopies(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "configs", "prometheus", "rules", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files (%v)", err)
	}
	dir := t.TempDir()
	var out []string
	for _, f := range files {
		var doc struct {
			Groups []map[string]any `yaml:"groups"`
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range doc.Groups {
			delete(g, "interval")
			rules, _ := g["rules"].([]any)
			for _, r := range rules {
				if m, ok := r.(map[string]any); ok {
					if _, has := m["for"]; has {
						m["for"] = testRuleFor
					}
				}
			}
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// startAlertmanager runs Alertmanager (Debian's package) on a test copy of the committed config:
// the routes, matchers and inhibit rules as committed, every receiver replaced by the webhook (the
// notification names the receiver it was routed to), group waits shortened to a second.
func startAlertmanager(t *testing.T, hookURL string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Fatalf("prometheus-alertmanager not installed (run scripts/install-test-deps.sh): %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(repoRoot, "configs", "alertmanager", "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	receivers, _ := cfg["receivers"].([]any)
	for i, r := range receivers {
		name := r.(map[string]any)["name"]
		receivers[i] = map[string]any{"name": name, "webhook_configs": []any{map[string]any{"url": hookURL, "send_resolved": false}}}
	}
	delete(cfg, "templates")
	var shorten func(route map[string]any)
	shorten = func(route map[string]any) {
		for _, k := range []string{"group_wait", "group_interval"} {
			if _, has := route[k]; has || route["receiver"] != nil {
				route[k] = "1s"
			}
		}
		if _, has := route["repeat_interval"]; has {
			route["repeat_interval"] = "1h"
		}
		routes, _ := route["routes"].([]any)
		for _, sub := range routes {
			if m, ok := sub.(map[string]any); ok {
				shorten(m)
			}
		}
	}
	if route, ok := cfg["route"].(map[string]any); ok {
		shorten(route)
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	cmd := exec.Command(bin, "--config.file="+path, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	startBackend(t, "alertmanager", cmd, "http://"+addr+"/-/ready", 30*time.Second)
	return addr
}

// firingAlert is one alert as Prometheus's /api/v1/alerts reports it.
type firingAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

// alerts returns the alerts Prometheus holds (pending or firing).
func (p *prometheusServer) alerts(t *testing.T) []firingAlert {
	t.Helper()
	var data struct {
		Alerts []firingAlert `json:"alerts"`
	}
	if err := p.api("/api/v1/alerts", &data); err != nil {
		t.Fatal(err)
	}
	return data.Alerts
}

// ruleExprs returns every alerting and recording rule Prometheus loaded: name → expression.
func (p *prometheusServer) ruleExprs(t *testing.T, kind string) map[string]string {
	t.Helper()
	var data struct {
		Groups []struct {
			Rules []struct {
				Name  string `json:"name"`
				Query string `json:"query"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.api("/api/v1/rules?type="+url.QueryEscape(kind), &data); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			key := r.Name
			for n := 2; out[key] != ""; n++ {
				key = fmt.Sprintf("%s#%d", r.Name, n) // the same name in several rules (burn-rate pairs)
			}
			out[key] = r.Query
		}
	}
	return out
}

// describe lists alerts for a failure message.
func describe(alerts []firingAlert) string {
	var s []string
	for _, a := range alerts {
		s = append(s, fmt.Sprintf("%s%v(%s)", a.Labels["alertname"], a.Labels, a.State))
	}
	sort.Strings(s)
	return strings.Join(s, "; ")
}

// alertWebhook is a jeeves-alert-webhook process, the stack's recorder of notifications.
type alertWebhook struct{ addr string }

func (w *alertWebhook) url() string { return "http://" + w.addr + "/alerts" }

// notification is one alert as the webhook recorded it, with the receiver Alertmanager routed it to.
type notification struct {
	Receiver string            `json:"receiver"`
	Status   string            `json:"status"`
	Labels   map[string]string `json:"labels"`
}

func startAlertWebhook(t *testing.T) *alertWebhook {
	t.Helper()
	w := &alertWebhook{addr: freePort(t)}
	cmd := exec.Command(webhookBin, "-listen", w.addr)
	startBackend(t, "jeeves-alert-webhook", cmd, "http://"+w.addr+"/healthz", 10*time.Second)
	return w
}

// received returns what the webhook recorded, oldest first.
func (w *alertWebhook) received(t *testing.T) []notification {
	t.Helper()
	resp, err := http.Get(w.url())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Alerts []notification `json:"alerts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Alerts
}
