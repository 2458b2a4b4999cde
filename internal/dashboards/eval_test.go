package dashboards

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// panelExpr is the query of the panel with this title, with Grafana's variables replaced.
func panelExpr(t *testing.T, title string) string {
	t.Helper()
	for _, d := range All {
		for _, p := range d.Panels {
			if p.Title == title {
				return grafanaVars.Replace(p.Expr)
			}
		}
	}
	t.Fatalf("no panel %q", title)
	return ""
}

type sample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// The panel queries give the right numbers on known series, evaluated by promtool (Prometheus'
// own engine): every non-success outcome counts, a group without failures shows 0 instead of
// nothing, quantiles and unions keep their series apart, the completion ratio is complete/decided.
// Counters grow by a multiple of 60 per minute so that rates are whole numbers per second.
func TestPanelQueriesOnKnownSeries(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not installed (run scripts/install-test-deps.sh): %v", err)
	}
	series := map[string]string{
		// pipeline a: 9/s success, 0.5/s error, 0.5/s terminated; pipeline b fails every run.
		`jeeves_pipeline_executions_total{pipeline="a",status="success"}`:               "0+540x20",
		`jeeves_pipeline_executions_total{pipeline="a",status="error"}`:                 "0+30x20",
		`jeeves_pipeline_executions_total{pipeline="a",status="terminated"}`:            "0+30x20",
		`jeeves_pipeline_executions_total{pipeline="b",status="timeout"}`:               "0+60x20",
		`jeeves_pipeline_duration_seconds_bucket{pipeline="a",le="0.5"}`:                "0+0x20",
		`jeeves_pipeline_duration_seconds_bucket{pipeline="a",le="1"}`:                  "0+60x20",
		`jeeves_pipeline_duration_seconds_bucket{pipeline="a",le="+Inf"}`:               "0+60x20",
		`jeeves_agent_executions_total{agent="planner",status="error"}`:                 "0+120x20",
		`jeeves_agent_executions_total{agent="planner",status="success"}`:               "0+600x20",
		`jeeves_llm_provider_calls_total{provider="openai",model="m",status="error"}`:   "0+180x20",
		`jeeves_llm_provider_calls_total{provider="openai",model="m",status="success"}`: "0+600x20",
		// /chat: 1 in 10 answered 5xx (a 404 is not a server error); /health never.
		`jeeves_http_requests_total{method="POST",endpoint="/chat",status="200"}`:  "0+480x20",
		`jeeves_http_requests_total{method="POST",endpoint="/chat",status="404"}`:  "0+60x20",
		`jeeves_http_requests_total{method="POST",endpoint="/chat",status="503"}`:  "0+60x20",
		`jeeves_http_requests_total{method="GET",endpoint="/health",status="200"}`: "0+60x20",
		`jeeves_traces_decided_total{completeness="complete"}`:                     "0+1140x20",
		`jeeves_traces_decided_total{completeness="broken"}`:                       "0+60x20",
		`jeeves_db_pool_active_connections{pool="main"}`:                           "8x20",
		`jeeves_db_pool_size{pool="main"}`:                                         "10x20",
		`jeeves_db_pool_active_connections{pool="reports"}`:                        "1x20",
		`jeeves_db_pool_size{pool="reports"}`:                                      "10x20",
		`otelcol_connector_jeeves_series_active{metric="jeeves.llm.calls"}`:        "5000x20",
		`otelcol_connector_jeeves_series_active{metric="jeeves.agent.executions"}`: "3x20",
		`otelcol_connector_jeeves_spans_overflowed{metric="jeeves.llm.calls"}`:     "0+120x20",
		`otelcol_receiver_accepted_spans{receiver="otlp",transport="grpc"}`:        "0+600x20",
		`otelcol_receiver_refused_spans{receiver="otlp",transport="grpc"}`:         "0+0x20",
	}
	cases := map[string][]sample{
		// 2 of 11 runs per second fail: a error and terminated, b timeout.
		"Pipeline failure ratio": {{`{}`, 2.0 / 11}},
		"Success ratio per pipeline": {
			{`{pipeline="a"}`, 0.9},
			{`{pipeline="b"}`, 0},
		},
		"Pipeline latency p50 / p95 / p99": {
			{`{quantile="p50"}`, 0.75},
			{`{quantile="p95"}`, 0.975},
			{`{quantile="p99"}`, 0.995},
		},
		"Top errors (pipeline, agent, LLM provider)": {
			{`{failing="pipeline a", pipeline="a"}`, 1},
			{`{failing="pipeline b", pipeline="b"}`, 1},
			{`{failing="agent planner", agent="planner"}`, 2},
			{`{failing="LLM provider openai", provider="openai"}`, 3},
		},
		"HTTP 5xx ratio per endpoint": {
			{`{endpoint="/chat"}`, 0.1},
			{`{endpoint="/health"}`, 0},
		},
		"Trace completion ratio": {{`{}`, 0.95}},
		"DB pool utilisation per pool": {
			{`{pool="main"}`, 0.8},
			{`{pool="reports"}`, 0.1},
		},
		"Span observations folded into the overflow series per family": {
			{`{metric="jeeves.llm.calls"}`, 2},
			{`{metric="jeeves.agent.executions"}`, 0},
		},
		"Spans accepted vs refused per receiver": {
			{`{outcome="accepted", receiver="otlp"}`, 10},
			{`{outcome="refused", receiver="otlp"}`, 0},
		},
	}
	type input struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	type exprTest struct {
		Expr       string   `yaml:"expr"`
		EvalTime   string   `yaml:"eval_time"`
		ExpSamples []sample `yaml:"exp_samples"`
	}
	test := struct {
		Interval    string     `yaml:"interval"`
		InputSeries []input    `yaml:"input_series"`
		Exprs       []exprTest `yaml:"promql_expr_test"`
	}{Interval: "1m"}
	for s, v := range series {
		test.InputSeries = append(test.InputSeries, input{s, v})
	}
	for title, want := range cases {
		test.Exprs = append(test.Exprs, exprTest{panelExpr(t, title), "10m", want})
	}
	raw, err := yaml.Marshal(map[string]any{"rule_files": []string{}, "tests": []any{test}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "panels.test.yml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
