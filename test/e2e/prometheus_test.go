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

	"github.com/jeeves/otelcol-jeeves/internal/dashboards"
)

// prometheusServer is a real Prometheus process scraping the collector under test.
type prometheusServer struct {
	Addr string
}

// prometheusOptions say what a test Prometheus scrapes and evaluates.
type prometheusOptions struct {
	// Jeeves and Self are the collector's :8889 and :8888 (jobs otelcol-jeeves and
	// otelcol-jeeves-self, as configs/prometheus/prometheus.yml names them).
	Jeeves, Self string
	// RuleFiles are loaded; nil loads the committed configs/prometheus/rules/*.yml.
	RuleFiles []string
	// Alertmanager, when set, receives the alerts.
	Alertmanager string
	// MoreJeeves and MoreSelf are the :8889 and :8888 of further collectors of the same jobs (a
	// routed jeeves tier); Router, when set, is a router's :8888 (job otelcol-jeeves-router).
	MoreJeeves, MoreSelf []string
	Router               string
	// JeevesTLS, when set, makes the otelcol-jeeves job scrape over https (the collector runs the
	// TLS overlay; configs/prometheus/prometheus-tls.yml).
	JeevesTLS *scrapeTLS
	// RemoteWriteOnly starts Prometheus with its remote-write receiver (/api/v1/write) and no
	// scrape jobs: everything it holds arrived by remote write (Jeeves and Self are ignored).
	RemoteWriteOnly bool
}

// scrapeTLS is a scrape job's tls_config: the CA of the collector's certificate and, under mutual
// TLS, Prometheus' client certificate.
type scrapeTLS struct {
	CAFile, CertFile, KeyFile string
}

// scrapeConfigLines is the job's scheme and tls_config, indented for a scrape_configs entry.
func (s *scrapeTLS) scrapeConfigLines() string {
	if s == nil {
		return ""
	}
	out := fmt.Sprintf("    scheme: https\n    tls_config:\n      ca_file: %q\n      min_version: TLS12\n", s.CAFile)
	if s.CertFile != "" {
		out += fmt.Sprintf("      cert_file: %q\n      key_file: %q\n", s.CertFile, s.KeyFile)
	}
	return out
}

// startPrometheus runs Prometheus (Debian's package) scraping the given targets every second, with
// the shipped SLO and alert rules loaded.
func startPrometheus(t *testing.T, jeevesTarget, selfTarget string) *prometheusServer {
	t.Helper()
	return startPrometheusWith(t, prometheusOptions{Jeeves: jeevesTarget, Self: selfTarget})
}

// startPrometheusWith runs Prometheus scraping and evaluating every second, and waits until it
// has scraped the collector once.
func startPrometheusWith(t *testing.T, o prometheusOptions) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	if o.RemoteWriteOnly {
		// No rules either: recording rules would add series that did not arrive by remote write.
		return startPrometheusProcess(t, dir, "global:\n  evaluation_interval: 1s\n", "--web.enable-remote-write-receiver")
	}
	rules := o.RuleFiles
	if rules == nil {
		rules = []string{filepath.Join(repoRoot, "configs", "prometheus", "rules", "*.yml")}
	}
	var cfg strings.Builder
	cfg.WriteString("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n")
	for _, r := range rules {
		fmt.Fprintf(&cfg, "  - %q\n", r)
	}
	if o.Alertmanager != "" {
		fmt.Fprintf(&cfg, "alerting:\n  alertmanagers:\n    - static_configs: [{targets: [%q]}]\n", o.Alertmanager)
	}
	targets := func(first string, more []string) string {
		q := []string{fmt.Sprintf("%q", first)}
		for _, m := range more {
			q = append(q, fmt.Sprintf("%q", m))
		}
		return strings.Join(q, ", ")
	}
	fmt.Fprintf(&cfg, `scrape_configs:
  - job_name: otelcol-jeeves
    honor_labels: true
%s    static_configs: [{targets: [%s]}]
  - job_name: otelcol-jeeves-self
    static_configs: [{targets: [%s]}]
`, o.JeevesTLS.scrapeConfigLines(), targets(o.Jeeves, o.MoreJeeves), targets(o.Self, o.MoreSelf))
	if o.Router != "" {
		fmt.Fprintf(&cfg, "  - job_name: otelcol-jeeves-router\n    static_configs: [{targets: [%q]}]\n", o.Router)
	}
	p := startPrometheusProcess(t, dir, cfg.String())
	// Prometheus applies discovered targets a few seconds after it is ready; traffic sent before the
	// first scrape would show up as a series' first sample, which rate() cannot see.
	eventually(t, 30*time.Second, func() string {
		if n, err := p.query(t, `up{job="otelcol-jeeves"} == 1`); err != nil || n == 0 {
			return fmt.Sprintf("Prometheus has not scraped the collector yet (%v)", err)
		}
		return ""
	})
	return p
}

// startPrometheusProcess runs Prometheus on config in dir (with extra flags) until the test ends
// and waits until it is ready.
func startPrometheusProcess(t *testing.T, dir, config string, flags ...string) *prometheusServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not installed (run scripts/install-test-deps.sh): %v", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &prometheusServer{Addr: freePort(t)}
	args := append([]string{"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + p.Addr, "--log.level=warn"}, flags...)
	startBackend(t, "prometheus", exec.Command(bin, args...), "http://"+p.Addr+"/-/ready", 30*time.Second)
	return p
}

// api GETs a Prometheus HTTP API path and decodes the response's data into data; a response
// whose status is not success is an error carrying Prometheus' message.
func (p *prometheusServer) api(path string, data any) error {
	resp, err := http.Get("http://" + p.Addr + path)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return err
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", path, body.Error)
	}
	return json.Unmarshal(body.Data, data)
}

// query runs an instant PromQL query and returns the number of series in the result.
func (p *prometheusServer) query(t *testing.T, expr string) (int, error) {
	t.Helper()
	var data struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := p.api("/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return 0, err
	}
	return len(data.Result), nil
}

// Every dashboard panel's query, every recording rule and every alert rule evaluates without error
// against a real Prometheus that scrapes a real collector fed with loadgen traffic; every panel
// whose metrics this stack produces from that traffic returns data (a panel that names a Scenario
// is fed by that loadgen scenario instead).
func TestDashboardsAndRulesOnRealPrometheus(t *testing.T) {
	sink := startTraceSink(t, false)
	env := map[string]string{"JAEGER_OTLP_ENDPOINT": sink.Addr}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{Env: env})
	prom := startPrometheus(t, c.Prometheus, c.Telemetry)

	// Two waves of traffic a few seconds apart so rates over the window are non-zero.
	sendTraffic(t, c.OTLPGRPC, trafficConfig(21, 1500))
	time.Sleep(4 * time.Second)
	sendTraffic(t, c.OTLPGRPC, trafficConfig(22, 1500))

	eventually(t, 60*time.Second, func() string {
		n, err := prom.query(t, `jeeves_pipeline_executions_total`)
		if err != nil || n == 0 {
			return fmt.Sprintf("no pipeline series in Prometheus yet (%v)", err)
		}
		return ""
	})
	time.Sleep(5 * time.Second) // a few more scrapes and rule evaluations

	for _, d := range dashboards.All {
		for _, p := range d.Panels {
			expr := strings.NewReplacer("$__rate_interval", "30s", "$__range", "5m").Replace(p.Expr)
			n, err := prom.query(t, expr)
			switch {
			case err != nil:
				t.Errorf("%s / %s: query fails: %v\n%s", d.Title, p.Title, err, expr)
			case n == 0 && p.External == "" && p.Scenario == "":
				t.Errorf("%s / %s: no data\n%s", d.Title, p.Title, expr)
			}
		}
	}

	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := prom.api("/api/v1/rules", &rules); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			total++
			if r.Health != "ok" {
				t.Errorf("rule %s/%s health %q: %s", g.Name, r.Name, r.Health, r.LastError)
			}
		}
	}
	if total < 20 {
		t.Errorf("Prometheus loaded %d rules, want the shipped ones (>= 20)", total)
	}
	// The SLO recording rules produce series from the collector's data (TestAlertScenarios checks
	// every recording rule on healthy traffic).
	for _, rec := range []string{`jeeves_slo:error_ratio:rate5m{slo="pipeline_success"}`, `jeeves_slo:error_ratio:rate5m{slo="llm_availability"}`, `jeeves_slo:objective`} {
		if n, err := prom.query(t, rec); err != nil || n == 0 {
			t.Errorf("recording rule %s has no data (%v)", rec, err)
		}
	}
}
