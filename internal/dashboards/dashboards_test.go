package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The committed JSON under configs/grafana/dashboards is exactly what the definitions generate.
func TestCommittedDashboardsAreGenerated(t *testing.T) {
	dir := "../../configs/grafana/dashboards"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(All) {
		t.Errorf("%s holds %d files, definitions %d", dir, len(entries), len(All))
	}
	for _, d := range All {
		want, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, d.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `go generate ./internal/dashboards`", d.FileName())
		}
	}
}

// scenarios are the jeeves-loadgen scenarios a panel may name as its source.
var scenarios = map[string]bool{
	"healthy": true, "error-burst": true, "slow-pipeline": true, "llm-provider-failing": true,
	"terminated-runs": true, "interrupt-storm": true, "db-pool-exhaustion": true,
	"broken-propagation": true, "jaeger-down": true, "collector-killed": true,
}

// Every dashboard has a unique uid, a question and panels; every panel a title unique across all
// dashboards, a query, a known kind and unit, and at most a known scenario.
func TestDashboardsWellFormed(t *testing.T) {
	if len(All) != 5 {
		t.Errorf("%d dashboards, the plan has five", len(All))
	}
	uids, titles := map[string]bool{}, map[string]string{}
	units := map[string]bool{"s": true, "ms": true, "percentunit": true, "short": true, "reqps": true, "bytes": true, "none": true, "currencyUSD": true}
	for _, d := range All {
		if uids[d.UID] {
			t.Errorf("duplicate uid %s", d.UID)
		}
		uids[d.UID] = true
		if d.Question == "" || len(d.Panels) == 0 {
			t.Errorf("%s: no question or no panels", d.UID)
		}
		for _, p := range d.Panels {
			if p.Expr == "" || p.Title == "" {
				t.Errorf("%s: panel %q lacks a title or query", d.UID, p.Title)
			}
			if other, dup := titles[p.Title]; dup {
				t.Errorf("panel title %q is in %s and %s", p.Title, other, d.UID)
			}
			titles[p.Title] = d.UID
			if !units[p.Unit] {
				t.Errorf("%s / %s: unit %q", d.UID, p.Title, p.Unit)
			}
			if p.Kind != "" && p.Kind != "stat" && p.Kind != "timeseries" {
				t.Errorf("%s / %s: kind %q", d.UID, p.Title, p.Kind)
			}
			if p.Scenario != "" && !scenarios[p.Scenario] {
				t.Errorf("%s / %s: unknown scenario %q", d.UID, p.Title, p.Scenario)
			}
		}
	}
}

// What the operator asked for is on the dashboards: overview quantiles, tokens, top errors and
// target health; per-pipeline success; accepted vs refused; collector CPU and memory; pool
// utilisation per pool; the completion ratio with its 95% line.
func TestPlannedPanelsPresent(t *testing.T) {
	for uid, wants := range map[string][]string{
		"jeeves-overview": {`histogram_quantile(0.5,`, `histogram_quantile(0.95,`, `histogram_quantile(0.99,`,
			`jeeves_llm_tokens_total`, `topk(10,`, `up{job=~"otelcol-jeeves.*"}`, `jeeves_traces_decided_total{completeness="complete"}`,
			`jeeves_http_requests_total{status=~"5.."}`},
		"jeeves-pipelines":      {`sum by (pipeline) (rate(jeeves_pipeline_executions_total{status="success"}`, `jeeves_traces_broken_total`},
		"jeeves-llm":            {`jeeves_llm_provider_calls_total{status!="success"}`, `jeeves_llm_provider_duration_seconds_bucket`},
		"jeeves-infrastructure": {`otelcol_receiver_accepted_spans`, `otelcol_receiver_refused_spans`, `otelcol_process_cpu_seconds`, `otelcol_process_memory_rss`, `jeeves_db_pool_active_connections / jeeves_db_pool_size`, `otelcol_exporter_queue_size / otelcol_exporter_queue_capacity`, `otelcol_connector_jeeves_spans_overflowed`, `otelcol_connector_jeeves_sampling_forced_decisions`, `jeeves_db_queries_total{status!="success"}`},
		"jeeves-business":       {`jeeves_interrupts_total`, `jeeves_process_duration_seconds_count`, `jeeves_termination_total`, `jeeves_processes_active`},
	} {
		var all strings.Builder
		for _, d := range All {
			if d.UID == uid {
				for _, p := range d.Panels {
					all.WriteString(p.Expr + "\n")
				}
			}
		}
		for _, w := range wants {
			if !strings.Contains(all.String(), w) {
				t.Errorf("%s: no panel query contains %s", uid, w)
			}
		}
	}
	for _, d := range All {
		for _, p := range d.Panels {
			if strings.Contains(p.Expr, "db_client_connection") || strings.Contains(p.Expr, `"error|timeout"`) {
				t.Errorf("%s / %s reads what nothing serves or misses non-success outcomes: %s", d.UID, p.Title, p.Expr)
			}
			if p.Title == "Trace completion ratio" && (p.Threshold == nil || p.Threshold.Value != 0.95 || !p.Threshold.BadBelow) {
				t.Errorf("the completion ratio lacks its 95%% line: %+v", p.Threshold)
			}
		}
	}
}

// The JSON model carries what Grafana needs: thresholds as steps (dashed on time series),
// a ratio's floor, exemplars on histogram queries only, and panels that do not overlap.
func TestJSONModel(t *testing.T) {
	d := Dashboard{UID: "t", Title: "T", Question: "Q?", Panels: []Panel{
		{Title: "stat", Expr: "up", Unit: "none", Kind: "stat"},
		{Title: "ratio", Expr: "up", Unit: "percentunit", Threshold: &Threshold{Value: 0.95, BadBelow: true}},
		{Title: "latency", Expr: `histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))`, Unit: "s", Threshold: &Threshold{Value: 10}, External: "somewhere"},
		{Title: "wide", Expr: "up", Unit: "short"},
	}}
	raw, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var model struct {
		UID, Description string
		Panels           []struct {
			Type, Title, Description string
			GridPos                  struct{ X, Y, W, H int }
			FieldConfig              struct {
				Defaults struct {
					Unit       string
					Min, Max   *float64
					Thresholds struct {
						Mode  string
						Steps []struct {
							Color string
							Value *float64
						}
					}
					Custom struct {
						ThresholdsStyle struct{ Mode string }
					}
				}
			}
			Targets []struct {
				Expr       string
				Exemplar   bool
				Datasource struct{ UID string }
			}
		}
	}
	if err := json.Unmarshal(raw, &model); err != nil {
		t.Fatal(err)
	}
	if model.UID != "t" || model.Description != "Q?" || len(model.Panels) != 4 {
		t.Fatalf("model %+v", model)
	}
	steps := func(i int) string {
		var parts []string
		for _, s := range model.Panels[i].FieldConfig.Defaults.Thresholds.Steps {
			if s.Value == nil {
				parts = append(parts, s.Color)
			} else {
				parts = append(parts, fmt.Sprintf("%s@%g", s.Color, *s.Value))
			}
		}
		return strings.Join(parts, " ")
	}
	for i, want := range []string{"green", "red green@0.95", "green red@10", "green"} {
		if got := steps(i); got != want {
			t.Errorf("panel %d threshold steps %q, want %q", i, got, want)
		}
	}
	for i, want := range []string{"", "dashed", "dashed", "off"} {
		if got := model.Panels[i].FieldConfig.Defaults.Custom.ThresholdsStyle.Mode; got != want {
			t.Errorf("panel %d thresholdsStyle %q, want %q", i, got, want)
		}
	}
	if r := model.Panels[1].FieldConfig.Defaults; r.Min == nil || *r.Min != 0 || r.Max != nil {
		t.Errorf("ratio panel bounds %v %v, want from 0, unbounded above", r.Min, r.Max)
	}
	if model.Panels[2].FieldConfig.Defaults.Min != nil {
		t.Error("a latency panel is bounded")
	}
	for i, want := range []bool{false, false, true, false} {
		if got := model.Panels[i].Targets[0].Exemplar; got != want {
			t.Errorf("panel %d exemplar %v, want %v", i, got, want)
		}
		if ds := model.Panels[i].Targets[0].Datasource.UID; ds != PrometheusUID {
			t.Errorf("panel %d datasource %q", i, ds)
		}
	}
	if got := model.Panels[2].Description; got != "Needs metrics from somewhere." {
		t.Errorf("description %q", got)
	}
	if model.Panels[0].Type != "stat" || model.Panels[1].Type != "timeseries" {
		t.Errorf("types %s %s", model.Panels[0].Type, model.Panels[1].Type)
	}
	type box = struct{ X, Y, W, H int }
	want := []box{{0, 0, 6, 4}, {6, 0, 12, 8}, {0, 8, 12, 8}, {12, 8, 12, 8}}
	for i, w := range want {
		if got := box(model.Panels[i].GridPos); got != w {
			t.Errorf("panel %d at %+v, want %+v", i, got, w)
		}
	}
}

// No two panels (row headers included) of a shipped dashboard overlap, and every one fits the
// 24-column grid.
func TestLayoutHasNoOverlap(t *testing.T) {
	for _, d := range All {
		cells, rows := layout(d.Panels)
		var pos []map[string]int
		var titles []string
		for i := range cells {
			if rows[i] != nil {
				pos, titles = append(pos, rows[i]), append(titles, "row "+d.Panels[i].Row)
			}
			pos, titles = append(pos, cells[i]), append(titles, d.Panels[i].Title)
		}
		for i, a := range pos {
			if a["x"]+a["w"] > grid {
				t.Errorf("%s / %s overflows the grid: %v", d.UID, titles[i], a)
			}
			for j := i + 1; j < len(pos); j++ {
				b := pos[j]
				if a["x"] < b["x"]+b["w"] && b["x"] < a["x"]+a["w"] && a["y"] < b["y"]+b["h"] && b["y"] < a["y"]+a["h"] {
					t.Errorf("%s: %q %v overlaps %q %v", d.UID, titles[i], a, titles[j], b)
				}
			}
		}
	}
}
