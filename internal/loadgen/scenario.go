package loadgen

import (
	"fmt"
	"sort"
	"strings"
)

// Scenario is a named traffic shape that operators and the alert tests drive:
// each one is the condition of one or more alerts of the operator bundle, or
// healthy traffic that must raise none.
type Scenario struct {
	Name        string
	Description string
	// Apply changes a configuration (seed, limits and rate are left alone).
	Apply func(*Config)
	// DBPools, when not empty, are the connection pool states the scenario
	// reports as OTLP metrics (SendDBPools) beside its traces.
	DBPools []DBPool
}

// healthy zeroes every failure ratio: no error, slow, terminated or broken run.
func healthy(c *Config) {
	c.ErrorRatio, c.SlowRatio, c.TerminatedRatio = 0, 0, 0
	c.FailingProvider, c.FailingProviderRatio = "", 0
	c.SlowPipeline, c.BrokenRatio, c.InterruptSpans = "", 0, false
}

// Scenarios are the named scenarios, in the order `-scenario help` lists them.
var Scenarios = []Scenario{
	{Name: "healthy", Description: "every run succeeds within its latency; pools half used",
		Apply: healthy, DBPools: []DBPool{{Name: "jeeves-main", Max: 20, Used: 6, Idle: 4}}},
	{Name: "error-burst", Description: "40% of runs fail (agent and pipeline errors)",
		Apply: func(c *Config) { healthy(c); c.ErrorRatio = 0.8 }},
	{Name: "slow-pipeline", Description: "research runs take 15-25 s beside fast busy pipelines",
		Apply: func(c *Config) { healthy(c); c.SlowPipeline = "research" }},
	{Name: "llm-provider-failing", Description: "half of the calls to anthropic fail",
		Apply: func(c *Config) { healthy(c); c.FailingProvider, c.FailingProviderRatio = "anthropic", 0.5 }},
	{Name: "terminated-runs", Description: "half of the runs end terminated (llm_failed_fatally, max_loop_exceeded, ...)",
		Apply: func(c *Config) { healthy(c); c.TerminatedRatio = 0.5 }},
	{Name: "interrupt-storm", Description: "every run raises an interrupt span (the CommBus reports the same interrupts)",
		Apply: func(c *Config) { healthy(c); c.InterruptSpans = true }},
	{Name: "db-pool-exhaustion", Description: "pool jeeves-main at 95% used beside an idle pool",
		Apply: healthy, DBPools: []DBPool{{Name: "jeeves-main", Max: 20, Used: 19, Idle: 1}, {Name: "jeeves-analytics", Max: 50, Used: 2, Idle: 10}}},
	{Name: "broken-propagation", Description: "20% of traces lose their gateway span: orchestrator spans name a parent that never arrives",
		Apply: func(c *Config) { healthy(c); c.BrokenRatio = 0.2 }},
}

// ScenarioByName returns the scenario called name, or an error listing the
// known names.
func ScenarioByName(name string) (Scenario, error) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, nil
		}
	}
	names := make([]string, len(Scenarios))
	for i, s := range Scenarios {
		names[i] = s.Name
	}
	sort.Strings(names)
	return Scenario{}, fmt.Errorf("unknown scenario %q, want one of %s", name, strings.Join(names, ", "))
}
