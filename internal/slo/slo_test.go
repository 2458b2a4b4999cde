package slo

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const committedSLOs = "../../configs/slo/slos.yaml"
const committedRules = "../../configs/prometheus/rules/slo.rules.yml"

func TestCommittedRulesAreGenerated(t *testing.T) {
	raw, err := os.ReadFile(committedSLOs)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committedRules)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run `go generate ./internal/slo` and commit it", committedRules)
	}
}

// The committed SLOs are the plan's four, with its objectives.
func TestCommittedSLOs(t *testing.T) {
	raw, err := os.ReadFile(committedSLOs)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range f.SLOs {
		got[s.Name] = s.Objective
		if s.Window != "30d" {
			t.Errorf("%s: window %s, want 30d", s.Name, s.Window)
		}
	}
	want := map[string]float64{"pipeline_success": 0.995, "pipeline_latency": 0.99, "llm_availability": 0.99, "db_availability": 0.999}
	if len(got) != len(want) {
		t.Errorf("SLOs %v, want %v", got, want)
	}
	for name, obj := range want {
		if got[name] != obj {
			t.Errorf("%s: objective %v, want %v", name, got[name], obj)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`
slos:
  - name: Bad-Name
    objective: 1.5
    window: 1h
    errors: a{status="error"}
    good: a{status="ok"}
    by: [slo]
  - name: ok
    objective: 0.9
    window: month
    total: a
  - name: ok
    objective: 0.9
    window: 30d
    errors: a
    total: a
`))
	want := []string{
		`slos[0].name must match ^[a-z][a-z0-9_]*$, got "Bad-Name"`,
		`slos[0].objective must be in (0, 1), got 1.5`,
		`slos[0].window must be at least 3d (the longest alert window), got 1h`,
		`slos[0] must set exactly one of errors and good`,
		`slos[0].total must be set`,
		`slos[0].by holds "slo", which is not a label name (or is slo)`,
		`slos[1].window must be a Prometheus duration such as 30d, got "month"`,
		`slos[1] must set exactly one of errors and good`,
		`slos[2].name "ok" is used twice`,
	}
	if err == nil {
		t.Fatal("no error")
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestParseRejectsUnknownKeys(t *testing.T) {
	_, err := Parse([]byte("slos:\n  - name: a\n    objectve: 0.9\n"))
	if err == nil || !strings.Contains(err.Error(), "field objectve not found") {
		t.Errorf("err = %v, want unknown field objectve", err)
	}
}

func TestErrorRatio(t *testing.T) {
	for _, tc := range []struct {
		name string
		slo  SLO
		want string
	}{
		{"errors, no by", SLO{Errors: `c{s="e"}`, Total: "c"},
			"(sum(rate(c{s=\"e\"}[1h])) or 0 * sum(rate(c[1h])))\n/ (sum(rate(c[1h])) > 0)"},
		{"errors, by provider", SLO{Errors: `c{s="e"}`, Total: "c", By: []string{"provider"}},
			"(sum by (provider) (rate(c{s=\"e\"}[1h])) or 0 * sum by (provider) (rate(c[1h])))\n/ (sum by (provider) (rate(c[1h])) > 0)"},
		{"good", SLO{Good: `h_bucket{le="5"}`, Total: "h_count"},
			"(sum(rate(h_count[1h])) - sum(rate(h_bucket{le=\"5\"}[1h])))\n/ (sum(rate(h_count[1h])) > 0)"},
	} {
		if got := errorRatio(tc.slo, "1h"); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}

func TestBudgetIsRounded(t *testing.T) {
	for obj, want := range map[float64]string{0.995: "0.005", 0.99: "0.01", 0.999: "0.001", 0.9: "0.1"} {
		if got := num(SLO{Objective: obj}.budget()); got != want {
			t.Errorf("budget of %v = %s, want %s", obj, got, want)
		}
	}
}

// One SLO with a by label gives the recording rules with their slo label, the objective, and both
// burn-rate alerts with the workbook's factors and windows.
func TestGenerate(t *testing.T) {
	raw, err := Generate(File{SLOs: []SLO{{Name: "x", Objective: 0.999, Window: "30d", Errors: `c{s="e"}`, Total: "c", By: []string{"provider"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Groups) != 1 || len(f.Groups[0].Rules) != 11 {
		t.Fatalf("%d groups, want 1 of 11 rules: %+v", len(f.Groups), f.Groups)
	}
	var records []string
	for _, r := range f.Groups[0].Rules[:9] {
		records = append(records, r.Record)
		if r.Labels["slo"] != "x" {
			t.Errorf("%s: slo label %q", r.Record, r.Labels["slo"])
		}
	}
	wantRecords := "jeeves_slo:error_ratio:rate5m jeeves_slo:error_ratio:rate30m jeeves_slo:error_ratio:rate1h jeeves_slo:error_ratio:rate2h " +
		"jeeves_slo:error_ratio:rate6h jeeves_slo:error_ratio:rate1d jeeves_slo:error_ratio:rate3d jeeves_slo:error_budget_remaining:30d jeeves_slo:objective"
	if strings.Join(records, " ") != wantRecords {
		t.Errorf("records %v", records)
	}
	budget := f.Groups[0].Rules[7].Expr
	if !strings.Contains(budget, "[30d]") || !strings.HasSuffix(budget, ") / 0.001") {
		t.Errorf("budget expr:\n%s", budget)
	}
	if got := f.Groups[0].Rules[8].Expr; got != "vector(0.999)" {
		t.Errorf("objective expr %q", got)
	}
	fast, slow := f.Groups[0].Rules[9], f.Groups[0].Rules[10]
	wantFast := `(
  jeeves_slo:error_ratio:rate1h{slo="x"} > (14.4 * 0.001)
  and
  jeeves_slo:error_ratio:rate5m{slo="x"} > (14.4 * 0.001)
)
or
(
  jeeves_slo:error_ratio:rate6h{slo="x"} > (6 * 0.001)
  and
  jeeves_slo:error_ratio:rate30m{slo="x"} > (6 * 0.001)
)`
	if fast.Alert != "JeevesErrorBudgetBurnFast" || fast.Labels["severity"] != "critical" || fast.Expr != wantFast {
		t.Errorf("fast alert %s %v:\n%s", fast.Alert, fast.Labels, fast.Expr)
	}
	if slow.Alert != "JeevesErrorBudgetBurnSlow" || slow.Labels["severity"] != "warning" ||
		!strings.Contains(slow.Expr, `rate1d{slo="x"} > (3 * 0.001)`) || !strings.Contains(slow.Expr, `rate6h{slo="x"} > (1 * 0.001)`) {
		t.Errorf("slow alert %s %v:\n%s", slow.Alert, slow.Labels, slow.Expr)
	}
	if got := fast.Annotations["summary"]; got != "SLO x (provider {{ $labels.provider }}) burns its error budget fast" {
		t.Errorf("summary %q", got)
	}
	if !strings.Contains(fast.Annotations["description"], "14.4× over 1h and 5m (2% of the budget in 1h)") ||
		!strings.Contains(slow.Annotations["description"], "1× over 3d and 6h (10% of the budget in 3d)") {
		t.Errorf("descriptions:\n%s\n%s", fast.Annotations["description"], slow.Annotations["description"])
	}
	if got := fast.Annotations["runbook_url"]; got != RunbookBase+"JeevesErrorBudgetBurnFast.md" {
		t.Errorf("runbook_url %q", got)
	}
}
