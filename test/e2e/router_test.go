package e2e

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
)

// routerTraces is the size of the two-tier run: large enough that every collector of the tier
// decides thousands of traces, small enough for about two minutes on two cores. The 100,000-trace
// numbers in docs/operations.md come from the same test with JEEVES_ROUTER_TRACES=100000.
const routerTraces = 20_000

// tierSize is the number of jeeves collectors behind the router.
const tierSize = 3

// fleet is a router in front of a jeeves tier, every collector exporting to one Jaeger and
// scraped by one Prometheus.
type fleet struct {
	router *collector
	tier   []*collector
	jaeger *jaegerServer
	prom   *prometheusServer
}

func startFleet(t *testing.T) *fleet {
	t.Helper()
	f := &fleet{jaeger: startJaeger(t)}
	env := map[string]string{"JAEGER_OTLP_ENDPOINT": f.jaeger.OTLPGRPC}
	for k, v := range fastFlush {
		env[k] = v
	}
	var backends []string
	for range tierSize {
		c := startCollector(t, collectorOptions{Env: env})
		f.tier = append(f.tier, c)
		backends = append(backends, c.OTLPGRPC)
	}
	f.router = startCollector(t, collectorOptions{
		Config: filepath.Join(repoRoot, "configs", "otelcol-jeeves-router.yaml"),
		// A YAML list in one variable, as an operator sets it.
		Env: map[string]string{"JEEVES_ROUTER_BACKENDS": "[" + strings.Join(backends, ", ") + "]"},
	})
	o := prometheusOptions{Jeeves: f.tier[0].Prometheus, Self: f.tier[0].Telemetry, Router: f.router.Telemetry}
	for _, c := range f.tier[1:] {
		o.MoreJeeves = append(o.MoreJeeves, c.Prometheus)
		o.MoreSelf = append(o.MoreSelf, c.Telemetry)
	}
	f.prom = startPrometheusWith(t, o)
	eventually(t, 30*time.Second, func() string {
		if n, err := f.prom.query(t, `up{job=~"otelcol-jeeves|otelcol-jeeves-self|otelcol-jeeves-router"} == 1`); err != nil || n != 2*tierSize+1 {
			return fmt.Sprintf("Prometheus scrapes %d of %d targets (%v)", n, 2*tierSize+1, err)
		}
		return ""
	})
	return f
}

// settle waits until no collector of the tier holds an undecided trace and the router has sent
// every span it accepted.
func (f *fleet) settle(t *testing.T) {
	t.Helper()
	eventually(t, 90*time.Second, func() string {
		r := scrape(t, f.router.Telemetry)
		accepted := sumSamples(r, "otelcol_receiver_accepted_spans", nil)
		sent := sumSamples(r, "otelcol_exporter_sent_spans", map[string]string{"exporter": "load_balancing"})
		if queued := sumSamples(r, "otelcol_exporter_queue_size", nil); queued != 0 || sent != accepted {
			return fmt.Sprintf("router accepted %v spans, sent %v, %v queued", accepted, sent, queued)
		}
		for i, c := range f.tier {
			if held := sumSamples(scrape(t, c.Telemetry), "otelcol_connector_jeeves_sampling_traces_in_memory", nil); held != 0 {
				return fmt.Sprintf("collector %d holds %v undecided traces", i, held)
			}
		}
		return ""
	})
	time.Sleep(2 * time.Second) // batch processor and exporter queue of each collector
}

// tierCounts scrapes one self-telemetry counter from each collector of the tier.
func (f *fleet) tierCounts(t *testing.T, name string, labels map[string]string) []float64 {
	t.Helper()
	out := make([]float64, len(f.tier))
	for i, c := range f.tier {
		out[i] = sumSamples(scrape(t, c.Telemetry), name, labels)
	}
	return out
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// queryVector runs an instant PromQL query and returns each result's value by its label set,
// written as name="value" pairs sorted and joined by commas.
func (p *prometheusServer) queryVector(t *testing.T, expr string) map[string]float64 {
	t.Helper()
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.api("/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s: value %v", expr, r.Value)
		}
		out[labelKey(r.Metric)] = v
	}
	return out
}

func labelKey(m map[string]string) string {
	pairs := make([]string, 0, len(m))
	for k, v := range m {
		pairs = append(pairs, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, ",")
}

// wantFleetSums is the manifest's pipeline executions and LLM calls as the label sets of
// `sum by (…)` over the tier.
func wantFleetSums(m *loadgen.Manifest) (executions, llm map[string]float64) {
	executions, llm = map[string]float64{}, map[string]float64{}
	for p, byStatus := range m.Pipelines.Executions {
		for s, n := range byStatus {
			executions[labelKey(map[string]string{"pipeline": p, "status": s})] = float64(n)
		}
	}
	for p, byModel := range m.LLM.Calls {
		for mo, byStatus := range byModel {
			for s, n := range byStatus {
				llm[labelKey(map[string]string{"provider": p, "model": mo, "status": s})] = float64(n)
			}
		}
	}
	return executions, llm
}

// The router tier in front of three jeeves collectors (default configs) that all export to one
// real Jaeger: every span reaches the collector its trace id hashes to, so each trace is decided
// by exactly one collector and stored whole; Jaeger holds exactly the error traces, the slow traces
// and the OTEP 235 set of the others; Prometheus' sum over the three collectors equals the manifest.
func TestRouterTierDecidesEachTraceOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	traces := routerTraces
	if s := envInt(t, "JEEVES_ROUTER_TRACES"); s > 0 {
		traces = s
	}
	f := startFleet(t)
	cfg := trafficConfig(71, traces)
	cfg.TraceList = true
	start := time.Now()
	m := sendTraffic(t, f.router.OTLPGRPC, cfg)
	t.Logf("sent %d traces, %d spans through the router in %s", m.Traces, m.Spans, time.Since(start).Round(time.Millisecond))
	f.settle(t)

	// The router accepted and forwarded every span, to every backend.
	r := scrape(t, f.router.Telemetry)
	if got := sumSamples(r, "otelcol_receiver_accepted_spans", nil); got != float64(m.Spans) {
		t.Errorf("router accepted %v spans, manifest %d", got, m.Spans)
	}
	if got := sumSamples(r, "otelcol_loadbalancer_num_backends", nil); got != tierSize {
		t.Errorf("router has %v backends, want %d", got, tierSize)
	}
	if failed := sumSamples(r, "otelcol_loadbalancer_backend_outcome", map[string]string{"success": "false"}); failed != 0 {
		t.Errorf("router counts %v failed exports", failed)
	}
	accepted := f.tierCounts(t, "otelcol_receiver_accepted_spans", map[string]string{"receiver": "otlp"})
	t.Logf("spans per collector: %v", accepted)
	if sum(accepted) != float64(m.Spans) {
		t.Errorf("the tier accepted %v spans, manifest %d", sum(accepted), m.Spans)
	}
	for i, n := range accepted {
		// A fair hash gives each a third; a backend far below it is not in the ring.
		if n < float64(m.Spans)/(2*tierSize) {
			t.Errorf("collector %d got %v of %d spans", i, n, m.Spans)
		}
	}

	// Each trace decided once: the decisions of the three samplers add up to the traces sent, and
	// no span arrived after its trace's decision.
	decided := f.tierCounts(t, "otelcol_connector_jeeves_sampling_traces", nil)
	t.Logf("traces decided per collector: %v", decided)
	if sum(decided) != float64(m.Traces) {
		t.Errorf("the tier decided %v traces, manifest %d: a trace was split between collectors", sum(decided), m.Traces)
	}
	if late := sum(f.tierCounts(t, "otelcol_connector_jeeves_sampling_late_spans", nil)); late != 0 {
		t.Errorf("%v spans arrived after their trace was decided", late)
	}

	// Jaeger: exactly the sample, each trace whole.
	checkJaegerHoldsSample(t, f.jaeger, m)

	// Prometheus: the sum over the three collectors of the RED series is the manifest, exactly.
	executions, llm := wantFleetSums(m)
	for _, q := range []struct {
		expr string
		want map[string]float64
	}{
		{`sum by (pipeline, status) (jeeves_pipeline_executions_total{job="otelcol-jeeves"})`, executions},
		{`sum by (provider, model, status) (jeeves_llm_calls_total{job="otelcol-jeeves"})`, llm},
		{`sum(traces_span_metrics_calls_total{job="otelcol-jeeves"})`, map[string]float64{"": float64(m.Spans)}},
		{`count(count by (instance) (jeeves_pipeline_executions_total{job="otelcol-jeeves"}))`, map[string]float64{"": tierSize}},
		// Both sides of OtelcolJeevesRouterBackendIdle read real series: every collector and the
		// router show accepted spans.
		{`count(sum by (job, instance) (rate(otelcol_receiver_accepted_spans{job="otelcol-jeeves-self", receiver="otlp"}[5m])) > 0)`, map[string]float64{"": tierSize}},
		{`count(sum by (job, instance) (rate(otelcol_receiver_accepted_spans{job="otelcol-jeeves-router", receiver="otlp"}[5m])) > 0)`, map[string]float64{"": 1}},
	} {
		eventually(t, 30*time.Second, func() string {
			got := f.prom.queryVector(t, q.expr)
			if len(got) != len(q.want) {
				return fmt.Sprintf("%s: %d series, want %d: %v", q.expr, len(got), len(q.want), got)
			}
			for k, v := range q.want {
				if got[k] != v {
					return fmt.Sprintf("%s{%s} = %v, manifest %v", q.expr, k, got[k], v)
				}
			}
			return ""
		})
	}
}

// One collector of the tier is killed (SIGKILL) while traffic flows through the router and
// restarted on the same ports. What is deterministic is asserted: the router keeps that backend
// (static resolver) and queues its spans while it is down, so after the restart the router has sent
// every span it accepted and every trace the restarted collector received afterwards is decided;
// the other collectors lose nothing and decide their traces once. What the kill costs (traces that
// straddle it, decisions lost with the killed sampler's buffer, counters reset) is logged and
// written down in docs/operations.md#the-router-tier.
func TestRouterTierCollectorKilledAndRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("load run")
	}
	f := startFleet(t)
	victim := 1

	// Three waves through the router; the collector is killed after the first and restarted
	// after the second, so the second wave's share for it waits in the router's queue.
	var manifests []*loadgen.Manifest
	wave := func(seed uint64) {
		cfg := trafficConfig(seed, routerTraces/4)
		cfg.TraceList = true
		// Traces keep arriving while the collector dies: spread the wave over a few seconds.
		cfg.Rate = 2000
		manifests = append(manifests, sendTraffic(t, f.router.OTLPGRPC, cfg))
	}
	// SIGKILL by default; JEEVES_ROUTER_STOP_SIGNAL=TERM measures an orderly stop instead.
	sig := syscall.SIGKILL
	if os.Getenv("JEEVES_ROUTER_STOP_SIGNAL") == "TERM" {
		sig = syscall.SIGTERM
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(1500 * time.Millisecond)
		_ = f.tier[victim].cmd.Process.Signal(sig)
	}()
	wave(81)
	<-done
	<-f.tier[victim].done
	wave(82)
	f.tier[victim] = restartCollector(t, f.tier[victim])
	wave(83)
	f.settle(t)

	var traces, spans int64
	for _, m := range manifests {
		traces += m.Traces
		spans += m.Spans
	}
	r := scrape(t, f.router.Telemetry)
	accepted := sumSamples(r, "otelcol_receiver_accepted_spans", nil)
	sent := sumSamples(r, "otelcol_exporter_sent_spans", map[string]string{"exporter": "load_balancing"})
	failed := sumSamples(r, "otelcol_exporter_send_failed_spans", map[string]string{"exporter": "load_balancing"})
	if accepted != float64(spans) {
		t.Errorf("router accepted %v spans, manifests %d", accepted, spans)
	}
	// The dead collector's share of the second wave waited in the router's queue for it.
	if sent != accepted || failed != 0 {
		t.Errorf("router sent %v of %v spans, %v failed: a restarted backend's spans wait in its queue", sent, accepted, failed)
	}
	tierAccepted := f.tierCounts(t, "otelcol_receiver_accepted_spans", map[string]string{"receiver": "otlp"})
	decided := f.tierCounts(t, "otelcol_connector_jeeves_sampling_traces", nil)
	late := f.tierCounts(t, "otelcol_connector_jeeves_sampling_late_spans", nil)
	for i := range f.tier {
		if i != victim && late[i] != 0 {
			t.Errorf("collector %d (not restarted): %v late spans", i, late[i])
		}
	}

	// Per trace, which collector its id hashes to is unknown here; what Jaeger holds tells which
	// traces came through whole.
	var want, whole, partial, missing, extra int
	got := f.jaeger.traceIDs(t, "jeeves-gateway", jaegerSearchLimit(int(traces)))
	for _, m := range manifests {
		for _, tr := range m.TraceList {
			inSample := tr.Error || tr.Slow || keptByProbability(t, parseTraceID(t, tr.TraceID))
			if !inSample {
				if _, ok := got[tr.TraceID]; ok {
					extra++
				}
				continue
			}
			want++
			switch got[tr.TraceID] {
			case tr.Spans:
				whole++
			case 0:
				missing++
			default:
				partial++
			}
		}
	}
	t.Logf("collector %d stopped with %v; router: accepted %v spans, sent %v", victim, sig, accepted, sent)
	t.Logf("tier after the restart: spans accepted %v, traces decided %v (sum %v of %d sent), late spans %v",
		tierAccepted, decided, sum(decided), traces, late)
	t.Logf("jaeger: %d traces to keep; %d whole, %d partial, %d missing; %d kept that the sample excludes",
		want, whole, partial, missing, extra)
	executions, _ := wantFleetSums(mergeExecutions(manifests))
	gotExec := f.prom.queryVector(t, `sum by (pipeline, status) (jeeves_pipeline_executions_total{job="otelcol-jeeves"})`)
	var wantTotal, gotTotal float64
	for k, v := range executions {
		wantTotal += v
		gotTotal += gotExec[k]
	}
	gotIncrease := f.prom.queryVector(t, `sum(increase(jeeves_pipeline_executions_total{job="otelcol-jeeves"}[10m]))`)
	t.Logf("prometheus: sum of pipeline executions %v (raw), %v (increase over 10m), manifests %v", gotTotal, gotIncrease[""], wantTotal)
	if extra != 0 {
		t.Errorf("jaeger holds %d traces outside the sample", extra)
	}
	if sum(decided) > float64(traces) || decided[victim] == 0 {
		t.Errorf("traces decided %v, sent %d: the restarted collector decides its share once\n%s", decided, traces, f.tier[victim].output.String())
	}
	if whole == 0 || whole+partial+missing != want {
		t.Errorf("jaeger: %d whole, %d partial, %d missing of %d", whole, partial, missing, want)
	}
}

// mergeExecutions adds the pipeline executions of several manifests into one manifest.
func mergeExecutions(ms []*loadgen.Manifest) *loadgen.Manifest {
	out := &loadgen.Manifest{}
	out.Pipelines.Executions = map[string]loadgen.Counts{}
	for _, m := range ms {
		for p, byStatus := range m.Pipelines.Executions {
			if out.Pipelines.Executions[p] == nil {
				out.Pipelines.Executions[p] = loadgen.Counts{}
			}
			for s, n := range byStatus {
				out.Pipelines.Executions[p][s] += n
			}
		}
	}
	return out
}

// restartCollector starts a stopped collector again with the same command line, environment and
// ports, and waits until it is healthy.
func restartCollector(t *testing.T, old *collector) *collector {
	t.Helper()
	c := *old
	cmd := exec.Command(old.cmd.Path, old.cmd.Args[1:]...)
	cmd.Env = old.cmd.Env
	c.spawn(t, cmd)
	if err := c.waitHealthy(30 * time.Second); err != nil {
		t.Fatalf("%v\n%s", err, c.output.String())
	}
	t.Cleanup(func() { c.stop(10 * time.Second) })
	return &c
}

func envInt(t *testing.T, name string) int {
	t.Helper()
	s := strings.TrimSpace(os.Getenv(name))
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

// routerConfig is the shipped router config.
func routerConfig() string { return filepath.Join(repoRoot, "configs", "otelcol-jeeves-router.yaml") }

// What a router restart loses. Its queues are in memory, one per backend. A backend that is up
// drains its queue as fast as it arrives, and SIGTERM drains what is left: nothing is lost. A
// backend that is unreachable keeps its share queued and retried; SIGTERM and SIGKILL both lose
// that share, and the backend that comes back later receives nothing of it.
func TestRouterRestartLoss(t *testing.T) {
	t.Run("SIGTERM, backends up", func(t *testing.T) {
		a, b := startTraceSink(t, false), startTraceSink(t, false)
		router := startCollector(t, collectorOptions{Config: routerConfig(),
			Env: map[string]string{"JEEVES_ROUTER_BACKENDS": "[" + a.Addr + ", " + b.Addr + "]"}})
		m := sendTraffic(t, router.OTLPGRPC, trafficConfig(91, 2000))
		took := router.stop(10 * time.Second)
		if got := a.SpanCount() + b.SpanCount(); int64(got) != m.Spans || a.SpanCount() == 0 || b.SpanCount() == 0 {
			t.Errorf("backends received %d + %d spans after SIGTERM, manifest %d", a.SpanCount(), b.SpanCount(), m.Spans)
		}
		t.Logf("SIGTERM right after the last export: stopped in %s, lost 0 of %d spans", took.Round(time.Millisecond), m.Spans)
	})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String()+", one backend unreachable", func(t *testing.T) {
			up, downAddr := startTraceSink(t, false), freePort(t)
			router := startCollector(t, collectorOptions{Config: routerConfig(),
				Env: map[string]string{"JEEVES_ROUTER_BACKENDS": "[" + up.Addr + ", " + downAddr + "]"}})
			m := sendTraffic(t, router.OTLPGRPC, trafficConfig(92, 2000))
			eventually(t, 10*time.Second, func() string {
				r := scrape(t, router.Telemetry)
				if sent := sumSamples(r, "otelcol_exporter_sent_spans", map[string]string{"exporter": "load_balancing"}); sent != float64(m.Spans) {
					return fmt.Sprintf("router queued %v of %d spans", sent, m.Spans)
				}
				return ""
			})
			time.Sleep(time.Second)
			queued := int(m.Spans) - up.SpanCount()
			if queued <= 0 || up.SpanCount() == 0 {
				t.Fatalf("the reachable backend holds %d of %d spans: none queued for the other", up.SpanCount(), m.Spans)
			}
			start := time.Now()
			if sig == syscall.SIGKILL {
				_ = router.cmd.Process.Kill()
				<-router.done
			} else {
				router.stop(10 * time.Second)
			}
			took := time.Since(start)
			// The backend comes up where the router points and the router restarts.
			down := startTraceSinkAt(t, downAddr, false)
			restartCollector(t, router)
			time.Sleep(3 * time.Second)
			if down.SpanCount() != 0 {
				t.Errorf("the backend received %d spans after the restart; the in-memory queue cannot hold any", down.SpanCount())
			}
			t.Logf("%v with one of two backends unreachable: stopped in %s; %d of %d spans lost (that backend's whole share), the other delivered %d",
				sig, took.Round(time.Millisecond), queued-down.SpanCount(), m.Spans, up.SpanCount())
		})
	}
}

// The router config validates, and JEEVES_ROUTER_BACKENDS, one variable holding a YAML list, becomes
// the static resolver's list of hostnames (confmap parses the expanded value as YAML); unset, the
// default list applies.
func TestRouterConfigBackendsFromEnv(t *testing.T) {
	if out, code := runCollectorCmd(t, nil, "validate", "--config", routerConfig()); code != 0 {
		t.Fatalf("validate exited %d:\n%s", code, out)
	}
	for _, tc := range []struct {
		env  []string
		want []string
	}{
		{nil, []string{"127.0.0.1:24317"}},
		{[]string{"JEEVES_ROUTER_BACKENDS=[10.0.0.5:4317, 10.0.0.6:4317, otelcol-jeeves-2.example:4317]"},
			[]string{"10.0.0.5:4317", "10.0.0.6:4317", "otelcol-jeeves-2.example:4317"}},
	} {
		out, code := runCollectorCmd(t, tc.env, "print-config", "--config", routerConfig())
		if code != 0 {
			t.Fatalf("print-config exited %d:\n%s", code, out)
		}
		var cfg struct {
			Exporters struct {
				LoadBalancing struct {
					RoutingKey string `yaml:"routing_key"`
					Resolver   struct {
						Static struct {
							Hostnames []string `yaml:"hostnames"`
						} `yaml:"static"`
					} `yaml:"resolver"`
				} `yaml:"load_balancing"`
			} `yaml:"exporters"`
		}
		if err := yaml.Unmarshal([]byte(out), &cfg); err != nil {
			t.Fatalf("print-config output: %v\n%s", err, out)
		}
		lb := cfg.Exporters.LoadBalancing
		if lb.RoutingKey != "traceID" || !slices.Equal(lb.Resolver.Static.Hostnames, tc.want) {
			t.Errorf("env %v: routing_key %q, hostnames %q, want traceID %q", tc.env, lb.RoutingKey, lb.Resolver.Static.Hostnames, tc.want)
		}
	}
}
