package kubernetes

import (
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The collector configs the pods run, by ConfigMap key, and where the repository keeps them.
var repoConfigs = map[string]string{
	"otelcol-jeeves.yaml":        filepath.Join(repoRoot, "configs", "otelcol-jeeves.yaml"),
	"otelcol-jeeves-router.yaml": filepath.Join(repoRoot, "configs", "otelcol-jeeves-router.yaml"),
	"router-k8s.yaml":            filepath.Join(kustomizeDir, "router-k8s.yaml"),
}

// wantConfigs is the --config list of each workload, in order (later files win).
var wantConfigs = map[string][]string{
	routerName: {"otelcol-jeeves-router.yaml", "router-k8s.yaml"},
	jeevesName: {"otelcol-jeeves.yaml"},
}

// configFile is one --config file of a pod, as its ConfigMap carries it.
type configFile struct {
	key  string
	data string
}

// podConfigs returns the files a workload's collector is started with, in --config order, read
// from the ConfigMap mounted at the config directory.
func podConfigs(t *testing.T, m *manifests, w workload) []configFile {
	t.Helper()
	c := collector(t, w)
	volume := ""
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == configMountPath {
			volume = vm.Name
		}
	}
	var cm *corev1.ConfigMap
	for _, v := range w.template.Spec.Volumes {
		if v.Name == volume && v.ConfigMap != nil {
			cm = m.configMaps[v.ConfigMap.Name]
		}
	}
	if cm == nil {
		t.Fatalf("%s: no ConfigMap mounted at %s", w.name, configMountPath)
	}
	if len(c.Command) != 0 {
		t.Fatalf("%s: command %v replaces the image's entrypoint", w.name, c.Command)
	}
	var files []configFile
	for i := 0; i < len(c.Args); i++ {
		path, ok := strings.CutPrefix(c.Args[i], "--config=")
		if !ok && c.Args[i] == "--config" && i+1 < len(c.Args) {
			i++
			path, ok = c.Args[i], true
		}
		if !ok {
			t.Fatalf("%s: unexpected argument %q", w.name, c.Args[i])
		}
		dir, key := filepath.Split(path)
		if filepath.Clean(dir) != configMountPath {
			t.Fatalf("%s: --config %s is not in %s", w.name, path, configMountPath)
		}
		data, ok := cm.Data[key]
		if !ok {
			t.Fatalf("%s: --config %s: ConfigMap %s has no key %q", w.name, path, cm.Name, key)
		}
		files = append(files, configFile{key, data})
	}
	if len(files) != len(cm.Data) {
		t.Errorf("%s: ConfigMap %s has %d files, the collector reads %d", w.name, cm.Name, len(cm.Data), len(files))
	}
	return files
}

// TestConfigCopiesMatchRepository: kustomize reads only files under deploy/kubernetes, so it
// carries copies of the repository's collector configs; they must not drift.
func TestConfigCopiesMatchRepository(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(kustomizeDir, "configs"))
	if err != nil {
		t.Fatal(err)
	}
	var copies []string
	for _, e := range entries {
		copies = append(copies, e.Name())
	}
	if want := []string{"otelcol-jeeves-router.yaml", "otelcol-jeeves.yaml"}; !slices.Equal(copies, want) {
		t.Errorf("deploy/kubernetes/configs holds %v, want %v", copies, want)
	}
	for _, name := range copies {
		copied, err := os.ReadFile(filepath.Join(kustomizeDir, "configs", name))
		if err != nil {
			t.Fatal(err)
		}
		original, err := os.ReadFile(filepath.Join(repoRoot, "configs", name))
		if err != nil {
			t.Errorf("deploy/kubernetes/configs/%s copies configs/%s: %v", name, name, err)
			continue
		}
		if string(copied) != string(original) {
			t.Errorf("deploy/kubernetes/configs/%s differs from configs/%s: run `make generate-k8s` and commit", name, name)
		}
	}
}

// TestConfigMapsCarryRepositoryConfigs: what the pods mount is, byte for byte, the repository's
// configs, passed in the intended order.
func TestConfigMapsCarryRepositoryConfigs(t *testing.T) {
	m := render(t)
	for name, w := range m.workloads(t) {
		var keys []string
		for _, f := range podConfigs(t, m, w) {
			keys = append(keys, f.key)
			original, err := os.ReadFile(repoConfigs[f.key])
			if err != nil {
				t.Errorf("%s: %s: %v", name, f.key, err)
				continue
			}
			if f.data != string(original) {
				t.Errorf("%s: the mounted %s differs from %s", name, f.key, repoConfigs[f.key])
			}
		}
		if !slices.Equal(keys, wantConfigs[name]) {
			t.Errorf("%s: --config files %v, want %v", name, keys, wantConfigs[name])
		}
	}
}

// config is a collector configuration: its files merged as the collector merges several --config
// files (maps key by key, anything else replaced by the later file), before ${env:…} expansion.
type config map[string]any

func mergedConfig(t *testing.T, files []configFile) config {
	t.Helper()
	merged := map[string]any{}
	for _, f := range files {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(f.data), &doc); err != nil {
			t.Fatalf("%s: %v", f.key, err)
		}
		mergeInto(merged, doc)
	}
	return merged
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// lookup follows a path of map keys.
func (c config) lookup(path ...string) (any, bool) {
	var cur any = map[string]any(c)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func (c config) str(path ...string) string {
	v, _ := c.lookup(path...)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// components returns the ids in a section ("receivers", …) whose type is typ ("otlp" for "otlp"
// and "otlp/x").
func (c config) components(section, typ string) []string {
	m, _ := c.lookup(section)
	var ids []string
	for id := range m.(map[string]any) {
		if t, _, _ := strings.Cut(id, "/"); t == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// used reports whether the service runs a component: extensions in service.extensions, the others
// in some pipeline.
func (c config) used(section, id string) bool {
	if section == "extensions" {
		exts, _ := c.lookup("service", "extensions")
		list, _ := exts.([]any)
		return slices.Contains(list, any(id))
	}
	pipelines, _ := c.lookup("service", "pipelines")
	for _, p := range pipelines.(map[string]any) {
		for _, role := range []string{"receivers", "processors", "exporters"} {
			if list, ok := p.(map[string]any)[role].([]any); ok && slices.Contains(list, any(id)) {
				return true
			}
		}
	}
	return false
}

// envRef matches ${env:NAME}, ${env:NAME:-default} and the ${NAME} shorthand.
var envRef = regexp.MustCompile(`\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// envUse is how a config reads one environment variable.
type envUse struct {
	hasDefault bool
	defaults   []string
}

// envRefs lists the environment variables the config reads.
func (c config) envRefs() map[string]envUse {
	refs := map[string]envUse{}
	walkStrings(map[string]any(c), func(s string) string {
		for _, m := range envRef.FindAllStringSubmatch(s, -1) {
			u := refs[m[1]]
			if strings.Contains(m[0], ":-") {
				u.hasDefault = true
				u.defaults = append(u.defaults, m[2])
			}
			refs[m[1]] = u
		}
		return s
	})
	return refs
}

// expand returns a copy of the config with every ${env:…} replaced, as the collector does with the
// pod's environment.
func (c config) expand(env map[string]string) config {
	out := deepCopy(map[string]any(c)).(map[string]any)
	walkStrings(out, func(s string) string {
		return envRef.ReplaceAllStringFunc(s, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := env[m[1]]; ok {
				return v
			}
			return m[2]
		})
	})
	return out
}

func walkStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = walkStrings(e, f)
		}
	case []any:
		for i, e := range x {
			x[i] = walkStrings(e, f)
		}
	case string:
		return f(x)
	}
	return v
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

func podEnv(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Errorf("env %s: valueFrom is not checked by this test; use a value", e.Name)
		}
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e.Value
	}
	return env
}

// runtimeEnv are variables the Go runtime reads, not the config.
var runtimeEnv = map[string]bool{"GOMEMLIMIT": true}

// localOnly are the variables whose 127.0.0.1 default a workload keeps on purpose.
var localOnly = map[string]map[string]string{
	jeevesName: {
		"JEEVES_PPROF_ENDPOINT":   "debugging, through a port-forward",
		"JEEVES_ZPAGES_ENDPOINT":  "debugging, through a port-forward",
		"JEEVES_COMMBUS_ENDPOINT": "every replica would subscribe and count each CommBus event again (docs/kubernetes.md)",
	},
	routerName: {
		"JEEVES_PPROF_ENDPOINT":  "debugging, through a port-forward",
		"JEEVES_ZPAGES_ENDPOINT": "debugging, through a port-forward",
	},
}

// TestPodEnvironment: every variable the configs need in a pod is set, and every variable set is
// read by something (a misspelt name would otherwise leave a default silently in force).
func TestPodEnvironment(t *testing.T) {
	m := render(t)
	for name, w := range m.workloads(t) {
		t.Run(name, func(t *testing.T) {
			env := podEnv(t, collector(t, w))
			refs := mergedConfig(t, podConfigs(t, m, w)).envRefs()
			for v, use := range refs {
				_, set := env[v]
				if !use.hasDefault && !set {
					t.Errorf("%s has no default in the config and is not set in the pod", v)
				}
				local := false
				for _, d := range use.defaults {
					local = local || strings.Contains(d, "127.0.0.1") || strings.Contains(d, "localhost")
				}
				if _, keep := localOnly[name][v]; local && !set && !keep {
					t.Errorf("%s defaults to a loopback address, unreachable from other pods: set it, or list it in localOnly with the reason", v)
				}
			}
			for v := range env {
				if _, read := refs[v]; !read && !runtimeEnv[v] {
					t.Errorf("env %s is set but no config reads it", v)
				}
			}
			for _, v := range []string{"JEEVES_MEMORY_LIMIT_MIB", "JEEVES_MEMORY_LIMIT_PERCENTAGE", "GOMEMLIMIT"} {
				if _, set := env[v]; !set {
					t.Errorf("%s is not set", v)
				}
			}
		})
	}
	env := podEnv(t, collector(t, m.workloads(t)[jeevesName]))
	if env["JAEGER_OTLP_ENDPOINT"] == "" {
		t.Error("the jeeves tier does not set JAEGER_OTLP_ENDPOINT")
	}
}

// listener is one socket a collector config opens.
type listener struct {
	host string
	port int32
}

func (l listener) wildcard() bool {
	return l.host == "" || l.host == "0.0.0.0" || l.host == "::" || l.host == "[::]"
}

func splitEndpoint(t *testing.T, endpoint string) listener {
	t.Helper()
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	p, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		t.Fatalf("endpoint %q: %v", endpoint, err)
	}
	return listener{host, int32(p)}
}

// listeners returns what an expanded config listens on, by the container port name that must
// expose it: health (health_check), health-status (healthcheckv2's HTTP service), otlp-grpc and otlp-http (otlp receiver), metrics (prometheus
// exporter), telemetry (the collector's own metrics), pprof, zpages.
func listeners(t *testing.T, c config) map[string]listener {
	t.Helper()
	ls := map[string]listener{}
	add := func(name, section, typ string, path ...string) {
		for _, id := range c.components(section, typ) {
			if !c.used(section, id) {
				continue
			}
			if _, dup := ls[name]; dup {
				t.Fatalf("two %s components listen; this test expects one", typ)
			}
			endpoint := c.str(append([]string{section, id}, path...)...)
			if endpoint == "" {
				t.Fatalf("%s %s has no explicit endpoint; give it one (the defaults differ between components)", section, id)
			}
			ls[name] = splitEndpoint(t, endpoint)
		}
	}
	add("health", "extensions", "health_check", "endpoint")
	add("health-status", "extensions", "healthcheckv2", "http", "endpoint")
	add("pprof", "extensions", "pprof", "endpoint")
	add("zpages", "extensions", "zpages", "endpoint")
	for _, proto := range []string{"grpc", "http"} {
		for _, id := range c.components("receivers", "otlp") {
			if _, on := c.lookup("receivers", id, "protocols", proto); on && c.used("receivers", id) {
				ls["otlp-"+proto] = splitEndpoint(t, c.str("receivers", id, "protocols", proto, "endpoint"))
			}
		}
	}
	add("metrics", "exporters", "prometheus", "endpoint")
	readers, _ := c.lookup("service", "telemetry", "metrics", "readers")
	for _, r := range readers.([]any) {
		prom := config(r.(map[string]any))
		if _, ok := prom.lookup("pull", "exporter", "prometheus"); ok {
			ls["telemetry"] = splitEndpoint(t, net.JoinHostPort(prom.str("pull", "exporter", "prometheus", "host"), prom.str("pull", "exporter", "prometheus", "port")))
		}
	}
	return ls
}

// TestPortsMatchConfigs: a container port exists for exactly the listeners that bind every
// interface in the pod, with the same number, and the Prometheus annotation names the port that
// serves the workload's metrics.
func TestPortsMatchConfigs(t *testing.T) {
	m := render(t)
	scraped := map[string]string{jeevesName: "metrics", routerName: "telemetry"}
	wantOpen := map[string][]string{
		jeevesName: {"health", "health-status", "metrics", "otlp-grpc", "otlp-http", "telemetry"},
		routerName: {"health", "otlp-grpc", "otlp-http", "telemetry"},
	}
	for name, w := range m.workloads(t) {
		t.Run(name, func(t *testing.T) {
			c := collector(t, w)
			cfg := mergedConfig(t, podConfigs(t, m, w)).expand(podEnv(t, c))
			ls := listeners(t, cfg)
			var open []string
			for lname, l := range ls {
				port, exposed := containerPort(c, intstr.FromString(lname))
				switch {
				case l.wildcard() && !exposed:
					t.Errorf("%s listens on %s:%d but the container declares no port %q", lname, l.host, l.port, lname)
				case !l.wildcard() && exposed:
					t.Errorf("container port %q: %s listens on %s only, unreachable through it", lname, lname, l.host)
				case exposed && port != l.port:
					t.Errorf("container port %q is %d, the config listens on %d", lname, port, l.port)
				}
				if l.wildcard() {
					open = append(open, lname)
				}
			}
			slices.Sort(open)
			if !slices.Equal(open, wantOpen[name]) {
				t.Errorf("listeners open to other pods %v, want %v", open, wantOpen[name])
			}
			for _, cp := range c.Ports {
				if _, ok := ls[cp.Name]; !ok {
					t.Errorf("container port %q (%d) matches no listener of the config", cp.Name, cp.ContainerPort)
				}
			}
			a := w.template.Annotations
			if a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" {
				t.Errorf("prometheus.io annotations %v: want scrape \"true\", path /metrics", a)
			}
			if want := ls[scraped[name]]; a["prometheus.io/port"] != strconv.Itoa(int(want.port)) || !want.wildcard() {
				t.Errorf("prometheus.io/port %q, want the %s port %d (open to other pods)", a["prometheus.io/port"], scraped[name], want.port)
			}
		})
	}
}

// TestMemoryLimitsAgree checks the arithmetic written beside the env vars: the memory_limiter
// refuses data at (limit_percentage − spike_limit_percentage)% of the container's memory limit
// and forces a GC at limit_percentage%; GOMEMLIMIT, the Go runtime's target, must sit above the
// latter (or the GC spins before the limiter refuses anything) and leave 10–20% of the limit for
// what the heap figure does not count (stacks, runtime metadata, growth between the limiter's
// checks).
func TestMemoryLimitsAgree(t *testing.T) {
	m := render(t)
	for name, w := range m.workloads(t) {
		t.Run(name, func(t *testing.T) {
			c := collector(t, w)
			env := podEnv(t, c)
			cfg := mergedConfig(t, podConfigs(t, m, w)).expand(env)
			limiters := cfg.components("processors", "memory_limiter")
			if len(limiters) != 1 || !cfg.used("processors", limiters[0]) {
				t.Fatalf("want one memory_limiter in use, got %v", limiters)
			}
			// limit_mib, when not 0, overrides the percentages: the pod must set it to 0 so that
			// the limits follow the container's.
			if mib := cfg.str("processors", limiters[0], "limit_mib"); mib != "0" {
				t.Errorf("%s.limit_mib = %q: want 0 (JEEVES_MEMORY_LIMIT_MIB), or the percentages of the container limit below are ignored", limiters[0], mib)
			}
			percent := func(key string) float64 {
				v, err := strconv.ParseFloat(cfg.str("processors", limiters[0], key), 64)
				if err != nil || v <= 0 || v > 100 {
					t.Fatalf("%s.%s = %q: want a percentage", limiters[0], key, cfg.str("processors", limiters[0], key))
				}
				return v
			}
			hard, spike := percent("limit_percentage"), percent("spike_limit_percentage")
			limit := c.Resources.Limits.Memory().Value()
			goLimit, err := parseGoMemLimit(env["GOMEMLIMIT"])
			if err != nil {
				t.Fatal(err)
			}
			goPercent := 100 * float64(goLimit) / float64(limit)
			t.Logf("limit %d MiB: refuse at %.0f MiB, forced GC at %.0f MiB, GOMEMLIMIT %d MiB (%.1f%%)",
				limit>>20, float64(limit>>20)*(hard-spike)/100, float64(limit>>20)*hard/100, goLimit>>20, goPercent)
			if spike >= hard {
				t.Errorf("spike_limit_percentage %v ≥ limit_percentage %v: the limiter would refuse everything", spike, hard)
			}
			if goPercent < 80 || goPercent > 90 {
				t.Errorf("GOMEMLIMIT is %.1f%% of the %d MiB limit, want 80–90%%", goPercent, limit>>20)
			}
			if goPercent <= hard {
				t.Errorf("GOMEMLIMIT (%.1f%%) must be above the memory_limiter's limit_percentage (%v%%)", goPercent, hard)
			}
		})
	}
}

// parseGoMemLimit reads GOMEMLIMIT as the Go runtime does: a byte count with an optional B, KiB,
// MiB, GiB or TiB suffix.
func parseGoMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("GOMEMLIMIT %q is not a size", s)
			}
			return v << u.shift, nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("GOMEMLIMIT %q is not a size", s)
	}
	return v, nil
}

func TestParseGoMemLimit(t *testing.T) {
	for in, want := range map[string]int64{"870MiB": 870 << 20, "2GiB": 2 << 30, "1024": 1024, "512KiB": 512 << 10, "7B": 7} {
		if got, err := parseGoMemLimit(in); err != nil || got != want {
			t.Errorf("parseGoMemLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.5GiB", "2Gi", "-1MiB", "off"} {
		if _, err := parseGoMemLimit(in); err == nil {
			t.Errorf("parseGoMemLimit(%q) accepted", in)
		}
	}
}

// TestRouterResolvesTheJeevesTier: with router-k8s.yaml merged over the router config, the
// load_balancing exporter routes by trace id to the headless Service's pods, on their OTLP port,
// through the k8s resolver only; and the override names only components the router config has
// (an id that drifted would add an unused component instead of changing the real one).
func TestRouterResolvesTheJeevesTier(t *testing.T) {
	m := render(t)
	w := m.workloads(t)[routerName]
	files := podConfigs(t, m, w)
	base := mergedConfig(t, files[:1])
	override := mergedConfig(t, files[1:])
	for section, v := range override {
		ids, ok := v.(map[string]any)
		if !ok {
			t.Errorf("router-k8s.yaml: %s is not a map", section)
			continue
		}
		for id := range ids {
			if _, ok := base.lookup(section, id); !ok {
				t.Errorf("router-k8s.yaml sets %s %s, which the router config does not define", section, id)
			}
		}
	}
	cfg := mergedConfig(t, files).expand(podEnv(t, collector(t, w)))
	lbs := cfg.components("exporters", "load_balancing")
	if len(lbs) != 1 || !cfg.used("exporters", lbs[0]) {
		t.Fatalf("want one load_balancing exporter in use, got %v", lbs)
	}
	lb := lbs[0]
	if key := cfg.str("exporters", lb, "routing_key"); key != "" && key != "traceID" {
		t.Errorf("routing_key %q: tail sampling needs every span of a trace in one pod (traceID)", key)
	}
	resolver, _ := cfg.lookup("exporters", lb, "resolver")
	var kinds []string
	for k, v := range resolver.(map[string]any) {
		if v != nil {
			kinds = append(kinds, k)
		}
	}
	if !slices.Equal(kinds, []string{"k8s"}) {
		t.Fatalf("resolvers %v after the merge, want only k8s", kinds)
	}
	headless := m.services[headlessName]
	if got, want := cfg.str("exporters", lb, "resolver", "k8s", "service"), headless.Name+"."+headless.Namespace; got != want {
		t.Errorf("k8s resolver service %q, want %q", got, want)
	}
	jeevesGRPC := namedPort(t, collector(t, m.workloads(t)[jeevesName]), "otlp-grpc")
	ports, _ := cfg.lookup("exporters", lb, "resolver", "k8s", "ports")
	if !slices.Equal(ports.([]any), []any{float64(jeevesGRPC)}) || headless.Spec.Ports[0].Port != jeevesGRPC {
		t.Errorf("k8s resolver ports %v, want [%d], the jeeves tier's OTLP gRPC port", ports, jeevesGRPC)
	}
	if v, _ := cfg.lookup("exporters", lb, "resolver", "k8s", "return_hostnames"); v != true {
		t.Error("return_hostnames must be true: a restarted jeeves pod keeps its name and so its share of trace ids")
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// collectorBinary is $OTELCOL_JEEVES_BIN (what `make test-k8s` passes), or else the collector
// built from cmd/otelcol-jeeves into a temporary directory.
func collectorBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binPath = os.Getenv("OTELCOL_JEEVES_BIN"); binPath != "" {
			return
		}
		if binDir, binErr = os.MkdirTemp("", "otelcol-jeeves-k8s"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "otelcol-jeeves")
		build := exec.Command("go", "build", "-o", binPath, ".")
		build.Dir = filepath.Join(repoRoot, "cmd", "otelcol-jeeves")
		out, err := build.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building cmd/otelcol-jeeves (set OTELCOL_JEEVES_BIN to use a built one): %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func cleanupBinary() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
}

// validate runs `otelcol-jeeves validate` on the files with the pod's environment; paths of the
// pod's writable volumes are replaced by temporary directories (file_storage checks that its
// directory exists).
func validate(t *testing.T, files []configFile, env map[string]string, volumes []string) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"validate"}
	for _, f := range files {
		path := filepath.Join(dir, f.key)
		if err := os.WriteFile(path, []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config="+path)
	}
	cmd := exec.Command(collectorBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v := env[k]
		if slices.Contains(volumes, v) {
			v = t.TempDir()
		}
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd.CombinedOutput()
}

// writableVolumes are the mount paths of a container's writable volumes.
func writableVolumes(c corev1.Container) []string {
	var paths []string
	for _, vm := range c.VolumeMounts {
		if !vm.ReadOnly {
			paths = append(paths, vm.MountPath)
		}
	}
	return paths
}

// TestCollectorConfigsValidate runs the binary's own config check on what each pod mounts, with
// the pod's arguments and environment.
func TestCollectorConfigsValidate(t *testing.T) {
	m := render(t)
	for name, w := range m.workloads(t) {
		t.Run(name, func(t *testing.T) {
			c := collector(t, w)
			files := podConfigs(t, m, w)
			env := podEnv(t, c)
			if out, err := validate(t, files, env, writableVolumes(c)); err != nil {
				t.Fatalf("otelcol-jeeves validate %v: %v\n%s", wantConfigs[name], err, out)
			}
			// The same check must fail on a broken config, or it proves nothing.
			broken := append(slices.Clone(files), configFile{"broken.yaml", "service:\n  pipelines:\n    traces:\n      exporters: [no_such_exporter]\n"})
			if out, err := validate(t, broken, env, writableVolumes(c)); err == nil {
				t.Fatalf("validate accepted a pipeline with an undefined exporter:\n%s", out)
			}
		})
	}
}

// bytesPerQueuedSpan is the disk budget per queued span: 150 MB for the default 200,000 spans,
// measured with jeeves-loadgen traffic (docs/operations.md#durable-export-queue). A compaction
// writes its copy beside the file, so a claim needs twice that (docs/kubernetes.md#queue-disk).
const bytesPerQueuedSpan = 750

// TestQueueStorageOnTheVolume: the Jaeger exporter's queue is kept by a file_storage extension
// whose directory is the `queue` volume, and every directory a file_storage writes (its queue
// files and, when it compacts, the compacted copy) is on a writable volume: the root filesystem is
// read-only, so anywhere else fails at start or at the first compaction. The claim holds a full
// queue.
func TestQueueStorageOnTheVolume(t *testing.T) {
	m := render(t)
	w := m.workloads(t)[jeevesName]
	c := collector(t, w)
	env := podEnv(t, c)
	cfg := mergedConfig(t, podConfigs(t, m, w)).expand(env)
	var jaeger []string
	for _, typ := range []string{"otlp_grpc", "otlp"} {
		for _, id := range cfg.components("exporters", typ) {
			if cfg.used("exporters", id) && cfg.str("exporters", id, "endpoint") == env["JAEGER_OTLP_ENDPOINT"] {
				jaeger = append(jaeger, id)
			}
		}
	}
	if len(jaeger) != 1 {
		t.Fatalf("want one exporter in use sending to JAEGER_OTLP_ENDPOINT, got %v", jaeger)
	}
	storage := cfg.str("exporters", jaeger[0], "sending_queue", "storage")
	if storage == "" {
		t.Fatalf("exporter %s keeps its queue in memory: a restart loses it", jaeger[0])
	}
	if t2, _, _ := strings.Cut(storage, "/"); t2 != "file_storage" || !cfg.used("extensions", storage) {
		t.Fatalf("exporter %s queue storage %q: want a file_storage extension in service.extensions", jaeger[0], storage)
	}
	if dir := cfg.str("extensions", storage, "directory"); filepath.Clean(dir) != queueMountPath {
		t.Errorf("%s directory %q, want the queue volume %s", storage, dir, queueMountPath)
	}
	// The claim must hold a full queue and a compaction's copy of it.
	if cfg.str("exporters", jaeger[0], "sending_queue", "sizer") != "items" {
		t.Fatalf("exporter %s queue is not sized in items (spans); this check needs updating", jaeger[0])
	}
	spans, err := strconv.ParseInt(cfg.str("exporters", jaeger[0], "sending_queue", "queue_size"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	claim := m.statefulSets[jeevesName].Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().Value()
	if need := 2 * bytesPerQueuedSpan * spans; claim < need {
		t.Errorf("queue claim %d MiB is too small for a queue of %d spans: want at least %d MiB", claim>>20, spans, need>>20)
	}
	writable := writableVolumes(c)
	onWritable := func(dir string) bool {
		for _, mount := range writable {
			if rel, err := filepath.Rel(mount, filepath.Clean(dir)); err == nil && (rel == "." || filepath.IsLocal(rel)) {
				return true
			}
		}
		return false
	}
	for _, id := range cfg.components("extensions", "file_storage") {
		if !cfg.used("extensions", id) {
			continue
		}
		dirs := []string{cfg.str("extensions", id, "directory")}
		compacts := cfg.str("extensions", id, "compaction", "on_start") == "true" || cfg.str("extensions", id, "compaction", "on_rebound") == "true"
		if compacts {
			dir := cfg.str("extensions", id, "compaction", "directory")
			if dir == "" {
				dir = "/tmp" // file_storage's default: the OS temp directory
			}
			dirs = append(dirs, dir)
		}
		for _, dir := range dirs {
			if !filepath.IsAbs(dir) || !onWritable(dir) {
				t.Errorf("%s writes to %q, which is not on a writable volume (mounts %v)", id, dir, writable)
			}
		}
	}
}
