// Package configs checks what operators run and edit under configs/ with the real tools:
// promtool for the Prometheus config, SLO and alert rules (including rule unit tests), amtool for the
// Alertmanager routing. `make test` installs the tools (scripts/install-test-deps.sh).
package configs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jeeves/otelcol-jeeves/internal/slo"
)

const root = "../../configs"

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed (run scripts/install-test-deps.sh): %v", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func TestPrometheusConfigAndRules(t *testing.T) {
	tool(t, "promtool", "check", "config", "prometheus/prometheus.yml")
	tool(t, "promtool", "check", "config", "prometheus/prometheus-tls.yml")
	tool(t, "promtool", "check", "rules", "prometheus/rules/slo.rules.yml", "prometheus/rules/alerts.rules.yml", "prometheus/rules/router.rules.yml", "prometheus/rules/llm-cost.rules.yml")
}

// The rule unit tests fire each alert on data that crosses its threshold and not on data below it,
// and check the recorded SLO ratios.
func TestAlertRuleUnitTests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "prometheus/tests/*.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("want the jeeves, collector and slo rule tests, found %v", files)
	}
	args := []string{"test", "rules"}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, rel)
	}
	tool(t, "promtool", args...)
}

// Every alert, hand-written or generated, carries a severity that the routing knows, a summary and a
// description.
func TestAlertsAreRoutable(t *testing.T) {
	n := 0
	for _, file := range committedRuleFiles(t) {
		for _, r := range rulesOf(file) {
			if r.Alert == "" {
				continue
			}
			n++
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("alert %s: severity %q is not one of critical, warning, info", r.Alert, r.Labels["severity"])
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks a summary or description", r.Alert)
			}
		}
	}
	if n < 15 {
		t.Fatalf("%d alerts found, want at least the plan's 15", n)
	}
}

// The alert names of the plan, each defined.
func TestPlannedAlertsExist(t *testing.T) {
	defined := map[string]bool{}
	for _, file := range committedRuleFiles(t) {
		for _, r := range rulesOf(file) {
			defined[r.Alert] = true
		}
	}
	for _, name := range []string{
		"JeevesPipelineErrorRatioHigh", "JeevesPipelineLatencyHigh", "JeevesLLMProviderErrorRatioHigh",
		"JeevesDBPoolUtilisationHigh", "JeevesInterruptRateHigh", "JeevesTraceCompletionLow",
		"JeevesErrorBudgetBurnFast", "JeevesErrorBudgetBurnSlow",
		"OtelcolJeevesDown", "OtelcolJeevesRefusingData", "OtelcolJeevesDroppingData", "OtelcolJeevesExportQueueFilling",
		"OtelcolJeevesSeriesOverflow", "OtelcolJeevesSamplerForcedDecisions", "OtelcolJeevesCommBusDisconnected",
	} {
		if !defined[name] {
			t.Errorf("alert %s is not defined", name)
		}
	}
}

// The committed slo.rules.yml is what internal/slo generates from configs/slo/slos.yaml.
func TestSLORulesAreGenerated(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "slo/slos.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := slo.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want, err := slo.Generate(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "prometheus/rules/slo.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("configs/prometheus/rules/slo.rules.yml differs from the generator's output: run `go generate ./internal/slo` and commit it")
	}
}

// The compose file mounts only files that exist in the repository.
func TestComposeMountsExist(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Volumes []string `yaml:"volumes"`
			Build   *struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	for name, svc := range compose.Services {
		for _, v := range svc.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				continue // a named volume: compose_test.go checks it is declared
			}
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("service %s mounts %s: %v", name, src, err)
			}
		}
		if svc.Build != nil {
			if _, err := os.Stat(filepath.Join(root, svc.Build.Context, svc.Build.Dockerfile)); err != nil {
				t.Errorf("service %s builds from a missing Dockerfile: %v", name, err)
			}
		}
	}
}
