package configs

import (
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// No Docker engine runs where the tests run, so the compose stack is checked by reading the files:
// what each service listens on, what the others point at, and the operator-facing defaults.

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	MemLimit    string            `yaml:"mem_limit"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	Secrets     []string          `yaml:"secrets"`
	Healthcheck *struct {
		Test    []string `yaml:"test"`
		Disable bool     `yaml:"disable"`
	} `yaml:"healthcheck"`
	DependsOn yaml.Node `yaml:"depends_on"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Secrets  map[string]struct {
		File        string `yaml:"file"`
		Environment string `yaml:"environment"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

func readComposeFile(t *testing.T) composeFile {
	t.Helper()
	return readComposeFileNamed(t, "compose.yaml")
}

// readComposeFileNamed reads a compose file under configs/ (compose.yaml or an override).
func readComposeFileNamed(t *testing.T, name string) composeFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	// The map forms of environment and depends_on are required: they are what these checks read.
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(c.Services) == 0 {
		t.Fatalf("%s: no services", name)
	}
	return c
}

func (c composeFile) service(t *testing.T, name string) composeService {
	t.Helper()
	svc, ok := c.Services[name]
	if !ok {
		t.Fatalf("compose.yaml has no service %s", name)
	}
	return svc
}

// bindVars are the variables that open published ports beyond the host's loopback (README.md).
var bindVars = []string{"JEEVES_BIND_ADDRESS", "JEEVES_OTLP_BIND_ADDRESS"}

var portRE = regexp.MustCompile(`^(?:127\.0\.0\.1|\$\{([A-Z_]+):-127\.0\.0\.1\}):([0-9]+):([0-9]+)$`)

// composePublishedPorts returns the container ports a service publishes, failing on any that a bare
// `docker compose up` would open on every host interface.
func composePublishedPorts(t *testing.T, name string, svc composeService) []string {
	t.Helper()
	var ports []string
	for _, p := range svc.Ports {
		m := portRE.FindStringSubmatch(p)
		if m == nil {
			t.Errorf("service %s publishes %q: want \"${JEEVES_BIND_ADDRESS:-127.0.0.1}:host:container\" (host's loopback unless a variable opens it)", name, p)
			continue
		}
		if m[1] != "" && !slices.Contains(bindVars, m[1]) {
			t.Errorf("service %s publishes %q with ${%s}; the documented variables are %v", name, p, m[1], bindVars)
		}
		ports = append(ports, m[3])
	}
	return ports
}

func TestComposePortsBindLoopbackByDefault(t *testing.T) {
	c := readComposeFile(t)
	published := map[string][]string{}
	for name, svc := range c.Services {
		published[name] = composePublishedPorts(t, name, svc)
	}
	// What operators reach from the host: OTLP in, the UIs, the recorded alerts.
	for name, want := range map[string][]string{
		"otelcol-jeeves": {"4317", "4318"},
		"jaeger":         {"16686"},
		"prometheus":     {"9090"},
		"alertmanager":   {"9093"},
		"grafana":        {"3000"},
		"alert-webhook":  {"8080"},
	} {
		for _, p := range want {
			if !slices.Contains(published[name], p) {
				t.Errorf("service %s does not publish %s (publishes %v)", name, p, published[name])
			}
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range bindVars {
		if !strings.Contains(string(readme), v) {
			t.Errorf("README.md does not explain %s", v)
		}
	}
}

// Services whose image has no way to run a health probe; nothing may wait for them to be healthy.
var noHealthcheck = map[string]string{
	"otelcol-jeeves": "distroless image without a shell or HTTP client, and no probe command in the collector",
}

func TestComposeHealthchecksAndStartOrder(t *testing.T) {
	c := readComposeFile(t)
	healthy := map[string]bool{}
	for name, svc := range c.Services {
		hc := svc.Healthcheck
		has := hc != nil && !hc.Disable && len(hc.Test) > 0 && hc.Test[0] != "NONE"
		healthy[name] = has
		if _, exempt := noHealthcheck[name]; exempt {
			if has {
				t.Errorf("service %s has a healthcheck now: drop it from noHealthcheck", name)
			}
			continue
		}
		if !has {
			t.Errorf("service %s has no healthcheck", name)
			continue
		}
		if hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL" {
			t.Errorf("service %s: healthcheck test starts with %q, want CMD or CMD-SHELL", name, hc.Test[0])
		}
	}
	// The exemption holds only while the collector image really is distroless.
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(string(dockerfile), -1)
	if len(froms) == 0 || !strings.Contains(froms[len(froms)-1][1], "distroless") {
		t.Errorf("the collector image is no longer distroless (%v): give otelcol-jeeves a healthcheck", froms)
	}

	conditions := []string{"service_started", "service_healthy", "service_completed_successfully"}
	for name, svc := range c.Services {
		if svc.DependsOn.Kind == 0 {
			continue
		}
		if svc.DependsOn.Kind != yaml.MappingNode {
			t.Errorf("service %s: depends_on is a list; use the map form with a condition for each", name)
			continue
		}
		var deps map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := svc.DependsOn.Decode(&deps); err != nil {
			t.Fatalf("service %s: depends_on: %v", name, err)
		}
		for dep, d := range deps {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("service %s depends on %s, which is not a service", name, dep)
			}
			if !slices.Contains(conditions, d.Condition) {
				t.Errorf("service %s depends on %s with condition %q, want one of %v", name, dep, d.Condition, conditions)
			}
			if d.Condition == "service_healthy" && !healthy[dep] {
				t.Errorf("service %s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
			}
		}
	}
	// The start order the stack relies on.
	for _, want := range [][3]string{
		{"grafana", "prometheus", "service_healthy"},
		{"prometheus", "alertmanager", "service_healthy"},
		{"alertmanager", "alert-webhook", "service_healthy"},
		{"prometheus", "otelcol-jeeves", "service_started"},
	} {
		var deps map[string]struct {
			Condition string `yaml:"condition"`
		}
		svc := c.service(t, want[0])
		_ = svc.DependsOn.Decode(&deps)
		if got := deps[want[1]].Condition; got != want[2] {
			t.Errorf("service %s depends on %s with %q, want %q", want[0], want[1], got, want[2])
		}
	}
}

// queueDir is where the image keeps the collector's durable export queue.
const queueDir = "/var/lib/otelcol-jeeves/queue"

// The image declares the queue directory a volume, creates it for its nonroot user and points the
// collector at it; compose points it at the same place.
func TestQueueVolumeMatchesImage(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(raw)
	for _, want := range []string{
		`VOLUME ["` + queueDir + `"]`,
		"JEEVES_STORAGE_DIR=" + queueDir,
		"COPY --from=build --chown=65532:65532 /out/var/lib/otelcol-jeeves /var/lib/otelcol-jeeves",
		"USER 65532:65532",
	} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	if !strings.Contains(dockerfile, "install -d -m 0750 /out"+queueDir) {
		t.Errorf("Dockerfile does not create %s in the build stage", queueDir)
	}
	col := readComposeFile(t).service(t, "otelcol-jeeves")
	if got := col.Environment["JEEVES_STORAGE_DIR"]; got != queueDir {
		t.Errorf("compose sets JEEVES_STORAGE_DIR=%q on otelcol-jeeves, want %s", got, queueDir)
	}
}

func TestComposeVolumes(t *testing.T) {
	c := readComposeFile(t)
	mounts := map[string]map[string]string{} // service → container path → source
	for name, svc := range c.Services {
		mounts[name] = map[string]string{}
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				t.Errorf("service %s: volume %q has no container path", name, v)
				continue
			}
			src, dst := parts[0], parts[1]
			mounts[name][dst] = src
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
				continue
			}
			if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s mounts the named volume %s, which the top-level volumes do not declare", name, src)
			}
		}
	}
	// State that must survive `docker compose down` / `up`, each in a named volume.
	for _, want := range []struct{ service, path, volume string }{
		{"otelcol-jeeves", queueDir, "otelcol-jeeves-queue"},
		{"prometheus", "/prometheus", "prometheus-data"},
		{"alertmanager", "/alertmanager", "alertmanager-data"},
		{"grafana", "/var/lib/grafana", "grafana-data"},
	} {
		if got := mounts[want.service][want.path]; got != want.volume {
			t.Errorf("service %s: %s is mounted from %q, want the named volume %s", want.service, want.path, got, want.volume)
		}
	}
	prom := c.service(t, "prometheus")
	for _, flag := range []string{"--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=30d"} {
		if !slices.Contains(prom.Command, flag) {
			t.Errorf("prometheus command %v lacks %s", prom.Command, flag)
		}
	}
	if am := c.service(t, "alertmanager"); !slices.Contains(am.Command, "--storage.path=/alertmanager") {
		t.Errorf("alertmanager command %v lacks --storage.path=/alertmanager", am.Command)
	}

	// Grafana provisions the dashboards from where compose mounts them.
	var provider struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/jeeves.yaml", &provider)
	if len(provider.Providers) != 1 {
		t.Fatalf("dashboard providers: %+v", provider)
	}
	if src := mounts["grafana"][provider.Providers[0].Options.Path]; src != "./grafana/dashboards" {
		t.Errorf("grafana provisions dashboards from %s, where compose mounts %q, not ./grafana/dashboards", provider.Providers[0].Options.Path, src)
	}
}

var secretKeyRE = regexp.MustCompile(`(?i)password|secret|token|api_?key`)

// Grafana: no anonymous access and no default credentials anywhere in the stack.
func TestComposeGrafanaHasNoDefaultCredentials(t *testing.T) {
	c := readComposeFile(t)
	for name, svc := range c.Services {
		for k, v := range svc.Environment {
			if k == "GF_AUTH_ANONYMOUS_ENABLED" && v != "false" {
				t.Errorf("service %s: %s=%q", name, k, v)
			}
			if secretKeyRE.MatchString(k) && !strings.HasSuffix(k, "__FILE") {
				t.Errorf("service %s sets %s in its environment (%q); secrets come from files", name, k, v)
			}
		}
	}
	g := c.service(t, "grafana")
	if g.Environment["GF_AUTH_ANONYMOUS_ENABLED"] != "false" {
		t.Errorf("grafana: GF_AUTH_ANONYMOUS_ENABLED=%q, want \"false\" (explicit)", g.Environment["GF_AUTH_ANONYMOUS_ENABLED"])
	}
	file := g.Environment["GF_SECURITY_ADMIN_PASSWORD__FILE"]
	secret, ok := strings.CutPrefix(file, "/run/secrets/")
	if !ok {
		t.Fatalf("grafana: GF_SECURITY_ADMIN_PASSWORD__FILE=%q, want /run/secrets/<secret>", file)
	}
	if !slices.Contains(g.Secrets, secret) {
		t.Errorf("grafana reads the secret %s but does not mount it (secrets: %v)", secret, g.Secrets)
	}
	s, ok := c.Secrets[secret]
	if !ok || s.File == "" {
		t.Fatalf("secret %s is not declared with a file (%+v)", secret, s)
	}
	// The password file itself is never committed: its directory ignores everything but its README.
	dir := filepath.Join(root, filepath.Dir(s.File))
	ignore, err := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if err != nil || !slices.Contains(strings.Split(string(ignore), "\n"), "*") {
		t.Errorf("%s must have a .gitignore that ignores everything (%v)", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Errorf("%s has no README.md telling the operator what to put there: %v", dir, err)
	}
}

// The collector's memory settings in compose agree: the memory_limiter's hard limit
// (JEEVES_MEMORY_LIMIT_MIB) < GOMEMLIMIT < the container's mem_limit, with GOMEMLIMIT at 80–90% of
// mem_limit and the limiter's hard limit at 80% or less (what the heap figure leaves out: stacks,
// runtime metadata, the binary's pages, growth between the limiter's checks).
func TestComposeMemoryLimitsAgree(t *testing.T) {
	col := readComposeFile(t).service(t, "otelcol-jeeves")
	mib := func(what, s string, suffix string) float64 {
		n, ok := strings.CutSuffix(s, suffix)
		v, err := strconv.ParseFloat(n, 64)
		if !ok || err != nil || v <= 0 {
			t.Fatalf("%s %q: want a number with suffix %q", what, s, suffix)
		}
		return v
	}
	limiter := mib("JEEVES_MEMORY_LIMIT_MIB", col.Environment["JEEVES_MEMORY_LIMIT_MIB"]+"MiB", "MiB")
	goLimit := mib("GOMEMLIMIT", col.Environment["GOMEMLIMIT"], "MiB")
	container := mib("mem_limit", col.MemLimit, "m")
	t.Logf("limiter %v MiB, GOMEMLIMIT %v MiB, mem_limit %v MiB", limiter, goLimit, container)
	if !(limiter < goLimit && goLimit < container) {
		t.Errorf("want JEEVES_MEMORY_LIMIT_MIB (%v) < GOMEMLIMIT (%v) < mem_limit (%v)", limiter, goLimit, container)
	}
	if p := 100 * goLimit / container; p < 80 || p > 90 {
		t.Errorf("GOMEMLIMIT is %.1f%% of mem_limit, want 80–90%%", p)
	}
	if p := 100 * limiter / container; p > 80 {
		t.Errorf("JEEVES_MEMORY_LIMIT_MIB is %.1f%% of mem_limit, want at most 80%%", p)
	}
}

// What Prometheus and Alertmanager point at is what the services listen on.
func TestComposeTargetsMatchListeners(t *testing.T) {
	c := readComposeFile(t)
	col := c.service(t, "otelcol-jeeves")
	env := col.Environment

	// The collector config must still read these variables, or setting them does nothing.
	collectorConfig, err := os.ReadFile(filepath.Join(root, "otelcol-jeeves.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for k := range env {
		if k == "GOMEMLIMIT" { // read by the Go runtime; TestComposeMemoryLimitsAgree checks it
			continue
		}
		if !strings.Contains(string(collectorConfig), "${env:"+k) {
			t.Errorf("compose sets %s on otelcol-jeeves, but configs/otelcol-jeeves.yaml does not read it", k)
		}
	}

	// Every published collector port is a listener bound to all interfaces in the container.
	listening := map[string]bool{}
	for _, k := range []string{"JEEVES_OTLP_GRPC_ENDPOINT", "JEEVES_OTLP_HTTP_ENDPOINT", "JEEVES_PROMETHEUS_ENDPOINT", "JEEVES_HEALTH_ENDPOINT"} {
		host, port, err := net.SplitHostPort(env[k])
		if err != nil {
			t.Errorf("otelcol-jeeves: %s=%q: %v", k, env[k], err)
			continue
		}
		if host != "0.0.0.0" {
			t.Errorf("otelcol-jeeves: %s=%q binds %s; other containers cannot reach it", k, env[k], host)
		}
		listening[port] = true
	}
	for _, p := range composePublishedPorts(t, "otelcol-jeeves", col) {
		if !listening[p] {
			t.Errorf("otelcol-jeeves publishes %s, where nothing listens on 0.0.0.0", p)
		}
	}
	if env["JEEVES_TELEMETRY_HOST"] != "0.0.0.0" {
		t.Errorf("otelcol-jeeves: JEEVES_TELEMETRY_HOST=%q: self-telemetry stays on the container's loopback, out of Prometheus's reach", env["JEEVES_TELEMETRY_HOST"])
	}
	_, metricsPort, _ := net.SplitHostPort(env["JEEVES_PROMETHEUS_ENDPOINT"])

	var prom struct {
		RuleFiles []string `yaml:"rule_files"`
		Alerting  struct {
			Alertmanagers []struct {
				StaticConfigs []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &prom)
	targets := map[string][]string{}
	for _, sc := range prom.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			targets[sc.JobName] = append(targets[sc.JobName], s.Targets...)
		}
	}
	for job, want := range map[string]string{
		"otelcol-jeeves":      "otelcol-jeeves:" + metricsPort,
		"otelcol-jeeves-self": "otelcol-jeeves:" + env["JEEVES_TELEMETRY_PORT"],
	} {
		if got := targets[job]; len(got) != 1 || got[0] != want {
			t.Errorf("prometheus job %s scrapes %v, want [%s] (from the collector's environment in compose.yaml)", job, got, want)
		}
	}
	var amTargets []string
	for _, am := range prom.Alerting.Alertmanagers {
		for _, s := range am.StaticConfigs {
			amTargets = append(amTargets, s.Targets...)
		}
	}
	c.service(t, "alertmanager")
	if !slices.Equal(amTargets, []string{"alertmanager:9093"}) {
		t.Errorf("prometheus sends alerts to %v, want [alertmanager:9093] (the service and its default port)", amTargets)
	}
	if am := c.service(t, "alertmanager"); slices.ContainsFunc(am.Command, func(s string) bool { return strings.HasPrefix(s, "--web.listen-address") }) {
		t.Errorf("alertmanager listens elsewhere than :9093: %v", am.Command)
	}

	// Every rules file is loaded.
	rules, err := filepath.Glob(filepath.Join(root, "prometheus/rules/*"))
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rules files: %v", err)
	}
	for _, f := range rules {
		rel := "rules/" + filepath.Base(f)
		if !slices.ContainsFunc(prom.RuleFiles, func(pattern string) bool { ok, _ := path.Match(pattern, rel); return ok }) {
			t.Errorf("prometheus.yml rule_files %v do not load %s", prom.RuleFiles, rel)
		}
	}

	// Alertmanager's default receiver is the alert-webhook service, on the port it listens on.
	hook := c.service(t, "alert-webhook")
	if hook.Build == nil || hook.Build.Dockerfile != "cmd/jeeves-alert-webhook/Dockerfile" {
		t.Errorf("alert-webhook is not built from cmd/jeeves-alert-webhook/Dockerfile: %+v", hook.Build)
	} else if _, err := os.Stat(filepath.Join(root, hook.Build.Context, hook.Build.Dockerfile)); err != nil {
		t.Errorf("alert-webhook: %v", err)
	}
	host, hookPort, err := net.SplitHostPort(hook.Environment["JEEVES_ALERT_WEBHOOK_LISTEN"])
	if err != nil || host != "0.0.0.0" {
		t.Errorf("alert-webhook: JEEVES_ALERT_WEBHOOK_LISTEN=%q, want 0.0.0.0:<port> (%v)", hook.Environment["JEEVES_ALERT_WEBHOOK_LISTEN"], err)
	}
	if hook.Healthcheck == nil || !slices.Contains(hook.Healthcheck.Test, "http://127.0.0.1:"+hookPort+"/healthz") {
		t.Errorf("alert-webhook healthcheck does not probe its own port %s: %+v", hookPort, hook.Healthcheck)
	}
	// The image alone (docker run) listens where its own HEALTHCHECK probes.
	image, err := os.ReadFile("../../cmd/jeeves-alert-webhook/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ENV JEEVES_ALERT_WEBHOOK_LISTEN=0.0.0.0:" + hookPort, `"-probe", "http://127.0.0.1:` + hookPort + `/healthz"`, "EXPOSE " + hookPort} {
		if !strings.Contains(string(image), want) {
			t.Errorf("cmd/jeeves-alert-webhook/Dockerfile lacks %s", want)
		}
	}
	var am struct {
		Route struct {
			Receiver string `yaml:"receiver"`
		} `yaml:"route"`
		Receivers []struct {
			Name           string `yaml:"name"`
			WebhookConfigs []struct {
				URL string `yaml:"url"`
			} `yaml:"webhook_configs"`
		} `yaml:"receivers"`
	}
	readYAML(t, alertmanagerFile, &am)
	if am.Route.Receiver != "webhook" {
		t.Errorf("alertmanager default receiver %q, want webhook", am.Route.Receiver)
	}
	var urls []string
	for _, r := range am.Receivers {
		if r.Name == "webhook" {
			for _, w := range r.WebhookConfigs {
				urls = append(urls, w.URL)
			}
		}
	}
	if len(urls) != 1 {
		t.Fatalf("receiver webhook has webhook URLs %v, want one", urls)
	}
	u, err := url.Parse(urls[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "alert-webhook" || u.Port() != hookPort || u.Path != "/alerts" {
		t.Errorf("receiver webhook posts to %s, want http://alert-webhook:%s/alerts", urls[0], hookPort)
	}

	// Grafana's data sources are the compose services.
	var ds struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/prometheus.yaml", &ds)
	want := map[string]string{"prometheus": "http://prometheus:9090", "jaeger": "http://jaeger:16686"}
	for _, d := range ds.Datasources {
		if w, ok := want[d.Type]; ok && d.URL != w {
			t.Errorf("grafana data source %s at %s, want %s", d.Type, d.URL, w)
		}
		delete(want, d.Type)
	}
	if len(want) != 0 {
		t.Errorf("grafana lacks data sources %v", want)
	}
}
