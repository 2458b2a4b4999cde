package e2e

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jeeves/otelcol-jeeves/internal/dashboards"
	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/commbustest"
)

// wantAlert is an alert a scenario must raise: firing in Prometheus with these labels (among
// others) and, when receiver is set, notified to that receiver. An empty receiver means a firing
// critical of the same family inhibits its notification (configs/alertmanager/alertmanager.yml).
type wantAlert struct {
	name     string
	labels   map[string]string
	receiver string
}

// alertScenario is one condition of the operator bundle, driven for real.
type alertScenario struct {
	// name is also the loadgen scenario driving the traces, when loadgen has one by that name
	// (otherwise healthy traffic is sent).
	name string
	// env is added to the collector's environment.
	env map[string]string
	// overrides are merged over the default config (collectorOptions.Overrides).
	overrides []string
	// wave runs after each wave of traces (w counts from 0).
	wave func(t *testing.T, st *alertStack, w int)
	// after runs once the waves are sent.
	after func(t *testing.T, st *alertStack)
	want  []wantAlert
}

const (
	scenarioWaves       = 5
	scenarioWaveTraces  = 200
	scenarioWavePause   = 2 * time.Second
	scenarioAlertWithin = 2 * time.Minute
	// processesPerWave are the processes the kernel reports per wave of the interrupt storm, two
	// interrupts each: over five waves an increase that rate(...[5m]) turns into more than 10/s.
	processesPerWave = 1000
)

var alertScenarios = []alertScenario{
	{name: "healthy"},
	{name: "error-burst", want: []wantAlert{
		{"JeevesErrorBudgetBurnFast", map[string]string{"slo": "pipeline_success"}, "pager"},
		{"JeevesPipelineErrorRatioHigh", nil, ""},
	}},
	{name: "slow-pipeline", want: []wantAlert{
		{"JeevesPipelineLatencyHigh", map[string]string{"pipeline": "research"}, ""},
		{"JeevesErrorBudgetBurnFast", map[string]string{"slo": "pipeline_latency"}, "pager"},
	}},
	{name: "llm-provider-failing", want: []wantAlert{
		{"JeevesLLMProviderErrorRatioHigh", map[string]string{"provider": "anthropic"}, "pager"},
	}},
	{name: "terminated-runs", want: []wantAlert{
		{"JeevesPipelineErrorRatioHigh", nil, ""},
		{"JeevesErrorBudgetBurnFast", map[string]string{"slo": "pipeline_success"}, "pager"},
	}},
	{name: "interrupt-storm", wave: publishInterrupts, want: []wantAlert{
		{"JeevesInterruptRateHigh", nil, "webhook"},
	}},
	{name: "db-pool-exhaustion", want: []wantAlert{
		{"JeevesDBPoolUtilisationHigh", map[string]string{"pool": "jeeves-main"}, "chat"},
	}},
	{name: "broken-propagation", want: []wantAlert{
		{"JeevesTraceCompletionLow", nil, "chat"},
	}},
	// Jaeger unreachable with a queue smaller than the traffic and one consumer (the others would
	// each hold a batch in their retries, outside the queue): the queue fills, new batches are refused.
	{name: "jaeger-down", env: map[string]string{"JAEGER_QUEUE_SPANS": "8000", "JEEVES_SAMPLING_PERCENTAGE": "100"},
		overrides: []string{"yaml:exporters::otlp_grpc/jaeger::sending_queue::num_consumers: 1"},
		want: []wantAlert{
			{"OtelcolJeevesExportQueueFilling", nil, "chat"},
			{"OtelcolJeevesDroppingData", nil, "chat"},
		}},
	{name: "collector-killed", after: killCollector, want: []wantAlert{
		{"OtelcolJeevesDown", nil, "pager"},
	}},
}

// TestAlertScenarios drives every scenario through the real collector, Prometheus with the
// committed rules, Alertmanager with the committed routing, and the alert webhook: each scenario's
// alerts fire on live data and reach their receiver; healthy traffic raises nothing; every
// dashboard panel fed by a scenario returns data in it.
func TestAlertScenarios(t *testing.T) {
	for _, sc := range alertScenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			runAlertScenario(t, sc)
		})
	}
}

func runAlertScenario(t *testing.T, sc alertScenario) {
	env := map[string]string{}
	for k, v := range sc.env {
		env[k] = v
	}
	if sc.name == "jaeger-down" {
		env["JAEGER_OTLP_ENDPOINT"] = freePort(t) // nothing listens there
	}
	st := startAlertStack(t, env, sc.overrides)
	lg, err := loadgen.ScenarioByName(sc.name)
	if err != nil {
		lg, _ = loadgen.ScenarioByName("healthy")
	}
	conn, err := grpc.NewClient(st.c.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	start := time.Now()
	var sent int64
	for w := range scenarioWaves {
		cfg := trafficConfig(uint64(1000+w), scenarioWaveTraces)
		lg.Apply(&cfg)
		sent += sendTraffic(t, st.c.OTLPGRPC, cfg).Spans
		if len(lg.DBPools) > 0 {
			if err := loadgen.SendDBPools(context.Background(), conn, cfg.Services, lg.DBPools, start); err != nil {
				t.Fatal(err)
			}
		}
		if sc.wave != nil {
			sc.wave(t, st, w)
		}
		time.Sleep(scenarioWavePause)
	}
	t.Logf("%s: %d spans in %d waves", sc.name, sent, scenarioWaves)
	if sc.after != nil {
		sc.after(t, st)
	}
	if len(sc.want) == 0 {
		checkNoAlert(t, st)
	} else {
		checkAlertsNotified(t, st, sc.want)
	}
	checkScenarioPanels(t, st, sc.name)
}

// checkAlertsNotified waits until every wanted alert fires and its notification reaches the
// receiver; no alert of those names may reach another receiver.
func checkAlertsNotified(t *testing.T, st *alertStack, want []wantAlert) {
	t.Helper()
	eventually(t, scenarioAlertWithin, func() string {
		firing := st.prom.alerts(t)
		notified := st.hook.received(t)
		for _, w := range want {
			if !anyAlert(firing, w, func(a firingAlert) (map[string]string, bool) { return a.Labels, a.State == "firing" }) {
				return fmt.Sprintf("%s%v not firing; Prometheus holds: %s", w.name, w.labels, describe(firing))
			}
			if w.receiver == "" {
				continue
			}
			if !anyNotification(notified, w, w.receiver) {
				return fmt.Sprintf("%s%v not notified to %s; webhook has %v", w.name, w.labels, w.receiver, notified)
			}
		}
		return ""
	})
	for _, n := range st.hook.received(t) {
		for _, w := range want {
			if n.Labels["alertname"] == w.name && w.receiver != "" && n.Receiver != w.receiver {
				t.Errorf("%s notified to %s, want %s", w.name, n.Receiver, w.receiver)
			}
		}
	}
}

func anyAlert(alerts []firingAlert, w wantAlert, view func(firingAlert) (map[string]string, bool)) bool {
	for _, a := range alerts {
		if labels, ok := view(a); ok && matches(labels, w) {
			return true
		}
	}
	return false
}

func anyNotification(ns []notification, w wantAlert, receiver string) bool {
	for _, n := range ns {
		if n.Receiver == receiver && n.Status == "firing" && matches(n.Labels, w) {
			return true
		}
	}
	return false
}

func matches(labels map[string]string, w wantAlert) bool {
	if labels["alertname"] != w.name {
		return false
	}
	for k, v := range w.labels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkNoAlert: on healthy traffic, once the rules have evaluated over it, no alert expression
// returns a series, nothing is pending or firing, and nothing is notified.
func checkNoAlert(t *testing.T, st *alertStack) {
	t.Helper()
	eventually(t, time.Minute, func() string {
		if n, err := st.prom.query(t, `jeeves_pipeline_executions_total`); err != nil || n == 0 {
			return fmt.Sprintf("no pipeline series yet (%v)", err)
		}
		return ""
	})
	time.Sleep(5 * time.Second) // several evaluations over the whole traffic
	for name, expr := range st.prom.ruleExprs(t, "alert") {
		n, err := st.prom.query(t, expr)
		if err != nil {
			t.Errorf("alert %s: %v", name, err)
		} else if n > 0 {
			t.Errorf("alert %s returns %d series on healthy traffic:\n%s", name, n, expr)
		}
	}
	if a := st.prom.alerts(t); len(a) > 0 {
		t.Errorf("alerts on healthy traffic: %s", describe(a))
	}
	if n := st.hook.received(t); len(n) > 0 {
		t.Errorf("notifications on healthy traffic: %v", n)
	}
	// Every recording rule has data on healthy traffic.
	for name, expr := range st.prom.ruleExprs(t, "record") {
		if n, err := st.prom.query(t, expr); err != nil || n == 0 {
			t.Errorf("recording rule %s has no data on healthy traffic (%v):\n%s", name, err, expr)
		}
	}
}

// checkScenarioPanels: every dashboard panel that names this scenario as its source returns data.
func checkScenarioPanels(t *testing.T, st *alertStack, scenario string) {
	t.Helper()
	for _, d := range dashboards.All {
		for _, p := range d.Panels {
			if p.Scenario != scenario {
				continue
			}
			expr := strings.NewReplacer("$__rate_interval", "30s", "$__range", "5m").Replace(p.Expr)
			eventually(t, 30*time.Second, func() string {
				n, err := st.prom.query(t, expr)
				if err != nil || n == 0 {
					return fmt.Sprintf("%s / %s: no data in scenario %s (%v)\n%s", d.Title, p.Title, scenario, err, expr)
				}
				return ""
			})
		}
	}
}

// publishInterrupts has the kernel report processes that wait on a clarification and resume, or
// exhaust a quota and are cancelled: two interrupt counts each (pending, then resolved or cancelled), while every trace of the interrupt-storm loadgen
// scenario also carries an interrupt span. After the last wave the collector must serve exactly
// the CommBus count: the spans are not counted a second time.
func publishInterrupts(t *testing.T, st *alertStack, w int) {
	t.Helper()
	base := time.Now()
	for i := range processesPerWave {
		pid := fmt.Sprintf("w%d-p%d", w, i)
		ev := func(typ, payload string) commbustest.Event {
			return commbustest.Event{EventType: typ, Payload: payload, Source: "kernel", TimestampMs: base.UnixMilli()}
		}
		st.kernel.Publish(ev("process.created", fmt.Sprintf(`{"pid":%q,"request_id":"r","session_id":"s"}`, pid)))
		if i%10 == 0 {
			// One in ten exhausts its tool-call quota and is cancelled (resource_exhausted pending,
			// then cancelled).
			st.kernel.Publish(ev("resource.exhausted", fmt.Sprintf(`{"pid":%q,"reason":"max_tool_calls_exceeded","usage":{"llm_calls":4,"tool_calls":20,"agent_hops":3,"tokens_in":100,"tokens_out":50}}`, pid)))
			st.kernel.Publish(ev("process.cancelled", fmt.Sprintf(`{"pid":%q,"reason":"resource quota exhausted"}`, pid)))
			continue
		}
		st.kernel.Publish(ev("process.state_changed", fmt.Sprintf(`{"pid":%q,"old_state":"RUNNING","new_state":"WAITING","reason":"clarification requested"}`, pid)))
		st.kernel.Publish(ev("process.resumed", fmt.Sprintf(`{"pid":%q}`, pid)))
		st.kernel.Publish(ev("process.terminated", fmt.Sprintf(`{"pid":%q}`, pid)))
	}
	if w < scenarioWaves-1 {
		return
	}
	want := float64(2 * processesPerWave * scenarioWaves)
	eventually(t, 30*time.Second, func() string {
		got := sumSamples(scrape(t, st.c.Prometheus), "jeeves_interrupts_total", nil)
		if got != want {
			return fmt.Sprintf("jeeves_interrupts_total sums to %v, want %v (the CommBus count; spans must not add to it)", got, want)
		}
		return ""
	})
}

// killCollector kills the collector without a chance to flush: Prometheus sees the target down.
func killCollector(t *testing.T, st *alertStack) {
	t.Helper()
	if err := st.c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-st.c.done
}
