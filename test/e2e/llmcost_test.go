package e2e

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
)

// priceOverride configures the connector with loadgen's price table.
func priceOverride() string {
	entries := make([]string, 0, len(loadgen.Prices))
	for _, p := range loadgen.Prices {
		entries = append(entries, fmt.Sprintf("{provider: %q, model: %q, input: %v, output: %v}", p.Provider, p.Model, p.Input, p.Output))
	}
	return "yaml:connectors::jeeves::metrics::llm_cost::prices: [" + strings.Join(entries, ", ") + "]"
}

// llmCostTraces is the loadgen run of TestLLMCostEqualsManifest: 4,000 traces in make test (the run
// through the real binary takes about 3 s per 1,000 traces on the shared CI machine), the issue's
// 100,000 with JEEVES_LOAD_TESTS=1.
func llmCostTraces() int {
	if os.Getenv("JEEVES_LOAD_TESTS") != "" {
		return 100_000
	}
	return 4000
}

// The cost and attribution families of the default config (tail mode) equal the loadgen manifest
// to the cent, token counts exactly, with sampling at 10% and at 100%: sampling does not change
// them. Broken traces (a parent never exported) and GenAI spans under invoke_agent are part of the
// traffic.
func TestLLMCostEqualsManifest(t *testing.T) {
	cfg := trafficConfig(14, llmCostTraces())
	cfg.BrokenRatio = 0.05
	for _, pct := range []string{"10", keepAll} {
		t.Run("sampling="+pct, func(t *testing.T) {
			t.Parallel()
			sink := startTraceSink(t, false)
			env := map[string]string{"JAEGER_OTLP_ENDPOINT": sink.Addr, "JEEVES_SAMPLING_PERCENTAGE": pct}
			for k, v := range fastFlush {
				env[k] = v
			}
			c := startCollector(t, collectorOptions{Env: env, Overrides: []string{priceOverride()}})
			m := sendTraffic(t, c.OTLPGRPC, cfg)
			// Every trace decided (those without an exported root wait for decision_wait, 10 s).
			eventually(t, 90*time.Second, func() string {
				fams := scrape(t, c.Prometheus)
				if got := sumSamples(fams, "jeeves_traces_decided_total", nil); got != float64(m.Traces) {
					return "traces decided " + ftoa(got) + ", manifest " + itoa(int(m.Traces))
				}
				return ""
			})
			checkCostFamilies(t, settledScrape(t, c.Prometheus), &m.Cost)
		})
	}
}

// checkCostFamilies compares the cost families with the manifest both ways: money to the cent,
// counts exactly, and no series the manifest lacks.
func checkCostFamilies(t *testing.T, fams map[string]*dto.MetricFamily, c *loadgen.CostTruth) {
	t.Helper()
	type want struct {
		labels map[string]string
		value  float64
		money  bool
	}
	wants := map[string][]want{}
	add := func(name string, labels map[string]string, v float64, money bool) {
		wants[name] = append(wants[name], want{labels, v, money})
	}
	for p, byModel := range c.NanoUSD {
		for mo, n := range byModel {
			add("jeeves_llm_cost_usd_total", map[string]string{"provider": p, "model": mo}, float64(n)/1e9, true)
		}
	}
	for p, byModel := range c.Unpriced {
		for mo, n := range byModel {
			add("jeeves_llm_cost_unpriced_calls_total", map[string]string{"provider": p, "model": mo}, float64(n), false)
		}
	}
	for p, byType := range c.PipelineTokens {
		for ty, n := range byType {
			add("jeeves_pipeline_llm_tokens_total", map[string]string{"pipeline": p, "type": ty}, float64(n), false)
		}
	}
	for p, n := range c.PipelineNanoUSD {
		add("jeeves_pipeline_llm_cost_usd_total", map[string]string{"pipeline": p}, float64(n)/1e9, true)
	}
	for a, n := range c.AgentNanoUSD {
		add("jeeves_agent_llm_cost_usd_total", map[string]string{"agent": a}, float64(n)/1e9, true)
	}
	for _, name := range []string{"jeeves_llm_cost_usd_total", "jeeves_llm_cost_unpriced_calls_total",
		"jeeves_pipeline_llm_tokens_total", "jeeves_pipeline_llm_cost_usd_total", "jeeves_agent_llm_cost_usd_total"} {
		if len(wants[name]) == 0 {
			t.Errorf("the manifest has no %s: the traffic does not exercise it", name)
		}
		for _, w := range wants[name] {
			got, n := sampleValue(fams, name, w.labels)
			ok := n == 1 && got == w.value
			if w.money {
				ok = n == 1 && math.Abs(got-w.value) < 0.005
			}
			if !ok {
				t.Errorf("%s%v = %v (%d series), manifest %v", name, w.labels, got, n, w.value)
			}
		}
		if got := len(fams[name].GetMetric()); got != len(wants[name]) {
			t.Errorf("%s has %d series, manifest %d", name, got, len(wants[name]))
		}
	}
}
