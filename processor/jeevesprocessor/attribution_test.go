// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/pricing"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// aspan is one span of a hand-built attribution case.
type aspan struct {
	trace, id, parent byte // parent 0: root
	name              string
	attrs             map[string]any
}

func buildAttributionBatch(spans []aspan) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orchestrator")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	start := pcommon.NewTimestampFromTime(testBase.Add(time.Second))
	for _, s := range spans {
		sp := ss.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{0xa0, s.trace, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
		sp.SetSpanID(pcommon.SpanID{s.trace, s.id, 1, 1, 1, 1, 1, 1})
		if s.parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID{s.trace, s.parent, 1, 1, 1, 1, 1, 1})
		}
		sp.SetName(s.name)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + 1e8)
		sp.Status().SetCode(ptrace.StatusCodeOk)
		if err := sp.Attributes().FromRaw(s.attrs); err != nil {
			panic(err)
		}
	}
	return td
}

func pipe(trace, id, parent byte, name string) aspan {
	return aspan{trace, id, parent, "pipeline.execute", map[string]any{"jeeves.pipeline.name": name}}
}

func agentSpan(trace, id, parent byte, name string) aspan {
	return aspan{trace, id, parent, "agent.process", map[string]any{"jeeves.agent.name": name}}
}

// jeevesLLM is a Jeeves llm.provider.call; cost < 0 leaves jeeves.llm.cost_usd out.
func jeevesLLM(trace, id, parent byte, provider, model string, in, out int64, cost float64) aspan {
	a := map[string]any{"jeeves.llm.provider": provider, "jeeves.llm.model": model,
		"jeeves.llm.tokens.prompt": in, "jeeves.llm.tokens.completion": out}
	if cost >= 0 {
		a["jeeves.llm.cost_usd"] = cost
	}
	return aspan{trace, id, parent, "llm.provider.call", a}
}

func genAI(trace, id, parent byte, op string, attrs map[string]any) aspan {
	attrs["gen_ai.operation.name"] = op
	return aspan{trace, id, parent, op + " x", attrs}
}

// The traces of TestAttributionGolden, in three batches: out of order, a
// root that never arrives, a chain broken below an arrived root, and a span
// that arrives after its trace was decided.
var (
	attributionBatch1 = []aspan{
		// A: Jeeves v1, cost attribute present, absent (priced by prefix), and absent without a price.
		pipe(1, 1, 0, "ingest"), agentSpan(1, 2, 1, "planner"),
		jeevesLLM(1, 3, 2, "openai", "gpt-4o", 100, 20, 0.0123),
		jeevesLLM(1, 4, 2, "anthropic", "claude-sonnet-4", 1000, 200, -1),
		jeevesLLM(1, 5, 2, "mock", "default", 5, 5, -1),
		// B: GenAI inference spans under invoke_agent, which carries their totals.
		pipe(2, 1, 0, "chat"),
		genAI(2, 2, 1, "invoke_agent", map[string]any{"gen_ai.agent.name": "helper", "gen_ai.provider.name": "openai",
			"gen_ai.usage.input_tokens": int64(3000), "gen_ai.usage.output_tokens": int64(300)}),
		genAI(2, 3, 2, "chat", map[string]any{"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini-2024",
			"gen_ai.usage.input_tokens": int64(1000), "gen_ai.usage.output_tokens": int64(100), "gen_ai.usage.cache_read.input_tokens": int64(500)}),
		genAI(2, 4, 2, "chat", map[string]any{"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini-2024",
			"gen_ai.usage.prompt_tokens": int64(2000), "gen_ai.usage.completion_tokens": int64(200)}),
		// C: nested pipelines and agents.
		pipe(3, 1, 0, "outer"), agentSpan(3, 2, 1, "router"), pipe(3, 3, 2, "inner"), agentSpan(3, 4, 3, "worker"),
		jeevesLLM(3, 5, 4, "openai", "gpt-4o", 7, 3, 0.5),
		jeevesLLM(3, 6, 2, "openai", "gpt-4o", 11, 4, 0.25),
		// D: the root never arrives.
		agentSpan(4, 2, 1, "orphan-agent"), jeevesLLM(4, 3, 2, "openai", "gpt-4o", 1, 2, 0.07),
		// E: the LLM span first; its agent and root come in the next batch.
		jeevesLLM(5, 3, 2, "openai", "gpt-4o", 10, 10, 0.01),
		// F: the root arrived, the LLM span's parent did not.
		pipe(6, 1, 0, "rooted"), jeevesLLM(6, 3, 2, "openai", "gpt-4o", 3, 3, 0.02),
		// G: the root alone; its LLM child comes after the trace is decided.
		pipe(7, 1, 0, "g"),
	}
	attributionBatch2 = []aspan{agentSpan(5, 2, 1, "a2"), pipe(5, 1, 0, "late-root")}
	attributionBatch3 = []aspan{
		jeevesLLM(7, 2, 1, "openai", "gpt-4o", 4, 6, 0.03), // late: counts under its root's pipeline g
		jeevesLLM(4, 9, 2, "openai", "gpt-4o", 1, 1, 0.04), // D, not decided yet
	}
)

func attributionPrices() []pricing.Price {
	f := func(v float64) *float64 { return &v }
	return []pricing.Price{
		{Provider: "anthropic", Model: "claude-sonnet*", Input: f(3), Output: f(15)},
		{Provider: "openai", Model: "gpt-4o-mini*", Input: f(0.15), Output: f(0.6), CachedInput: f(0.075)},
	}
}

// familyValues reads one sum family as label set → value.
func familyValues(md pmetric.Metrics, name string) map[string]float64 {
	out := map[string]float64{}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := range ms.Len() {
		if ms.At(i).Name() != name {
			continue
		}
		dps := ms.At(i).Sum().DataPoints()
		for j := range dps.Len() {
			dp := dps.At(j)
			v := dp.DoubleValue()
			if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
				v = float64(dp.IntValue())
			}
			out[fmt.Sprint(dp.Attributes().AsRaw())] = v
		}
	}
	return out
}

func assertFamily(t *testing.T, md pmetric.Metrics, name string, want map[string]float64) {
	t.Helper()
	got := familyValues(md, name)
	require.Len(t, got, len(want), "%s: %v", name, got)
	for k, w := range want {
		g, ok := got[k]
		require.True(t, ok, "%s: no series %s in %v", name, k, got)
		assert.LessOrEqual(t, math.Abs(g-w), 1e-9*math.Abs(w), "%s%s = %v, want %v", name, k, g, w)
	}
}

// TestAttributionGolden: every cost and attribution family equals the
// hand-computed sums (1e-9 relative), whatever the sampling percentage.
func TestAttributionGolden(t *testing.T) {
	for _, pct := range []float64{100, 1} {
		t.Run(fmt.Sprint("percentage=", pct), func(t *testing.T) {
			h := newSamplingHarness(t, func(cfg *Config) {
				cfg.Sampling.Percentage = pct
				cfg.Sampling.KeepErrors = false
				cfg.Sampling.LatencyThreshold = 0
				cfg.Metrics.LLMCost.Prices = attributionPrices()
			}, nil)
			ctx := context.Background()
			at := func(d time.Duration) time.Time { return testBase.Add(d) }
			h.clock.Set(at(1 * time.Second))
			h.consume(t, buildAttributionBatch(attributionBatch1))
			h.clock.Set(at(1500 * time.Millisecond))
			h.consume(t, buildAttributionBatch(attributionBatch2))
			h.traces.s.forward(ctx, h.traces.s.sampler.Tick(at(3*time.Second))) // all but D (no root) decided
			h.clock.Set(at(4 * time.Second))
			h.consume(t, buildAttributionBatch(attributionBatch3))
			h.traces.s.forward(ctx, h.traces.s.sampler.Tick(at(20*time.Second))) // D, by decision_wait
			h.clock.Set(at(21 * time.Second))
			h.metrics.m.flush(ctx)
			md := h.last(t)

			const (
				costA  = 0.0123 + (1000*3+200*15)/1e6 // cost attribute + claude-sonnet* price
				costB1 = (500*0.15 + 500*0.075 + 100*0.6) / 1e6
				costB2 = (2000*0.15 + 200*0.6) / 1e6
			)
			assertFamily(t, md, "jeeves.llm.cost_usd", map[string]float64{
				"map[model:gpt-4o provider:openai]":             0.0123 + 0.5 + 0.25 + 0.07 + 0.01 + 0.02 + 0.03 + 0.04,
				"map[model:claude-sonnet-4 provider:anthropic]": (1000*3 + 200*15) / 1e6,
				"map[model:gpt-4o-mini-2024 provider:openai]":   costB1 + costB2,
			})
			assertFamily(t, md, "jeeves.llm.cost.unpriced_calls", map[string]float64{"map[model:default provider:mock]": 1})
			assertFamily(t, md, "jeeves.pipeline.llm.cost_usd", map[string]float64{
				"map[pipeline:ingest]": costA, "map[pipeline:chat]": costB1 + costB2,
				"map[pipeline:inner]": 0.5, "map[pipeline:outer]": 0.25,
				"map[pipeline:unknown]": 0.07 + 0.04, "map[pipeline:late-root]": 0.01, "map[pipeline:rooted]": 0.02,
				"map[pipeline:g]": 0.03,
			})
			assertFamily(t, md, "jeeves.agent.llm.cost_usd", map[string]float64{
				"map[agent:planner]": costA, "map[agent:helper]": costB1 + costB2,
				"map[agent:worker]": 0.5, "map[agent:router]": 0.25, "map[agent:orphan-agent]": 0.07 + 0.04,
				"map[agent:a2]": 0.01, "map[agent:unknown]": 0.02 + 0.03,
			})
			assertFamily(t, md, "jeeves.pipeline.llm.tokens", map[string]float64{
				"map[pipeline:ingest type:input]": 1105, "map[pipeline:ingest type:output]": 225,
				// invoke_agent's 3000/300 totals are not added to its children's.
				"map[pipeline:chat type:input]": 3000, "map[pipeline:chat type:output]": 300,
				"map[pipeline:inner type:input]": 7, "map[pipeline:inner type:output]": 3,
				"map[pipeline:outer type:input]": 11, "map[pipeline:outer type:output]": 4,
				"map[pipeline:unknown type:input]": 1 + 1, "map[pipeline:unknown type:output]": 2 + 1,
				"map[pipeline:g type:input]": 4, "map[pipeline:g type:output]": 6,
				"map[pipeline:late-root type:input]": 10, "map[pipeline:late-root type:output]": 10,
				"map[pipeline:rooted type:input]": 3, "map[pipeline:rooted type:output]": 3,
			})
		})
	}
}

// TestAttributionHeadModeServesProviderFamiliesOnly: head mode sees no whole
// traces, so only the provider/model cost families appear.
func TestAttributionHeadModeServesProviderFamiliesOnly(t *testing.T) {
	h := newSamplingHarness(t, func(cfg *Config) {
		cfg.Sampling.Mode = sampler.ModeHead
		cfg.Metrics.LLMCost.Prices = attributionPrices()
	}, nil)
	h.clock.Set(testBase.Add(time.Second))
	h.consume(t, buildAttributionBatch(attributionBatch1))
	h.metrics.m.flush(context.Background())
	md := h.last(t)
	assert.NotEmpty(t, familyValues(md, "jeeves.llm.cost_usd"))
	assert.Equal(t, map[string]float64{"map[model:default provider:mock]": 1}, familyValues(md, "jeeves.llm.cost.unpriced_calls"))
	for _, name := range []string{"jeeves.pipeline.llm.tokens", "jeeves.pipeline.llm.cost_usd", "jeeves.agent.llm.cost_usd"} {
		assert.Empty(t, familyValues(md, name), name)
	}
}

// TestAttributionForcedOut: traces decided early by max_traces still count,
// under their root's pipeline.
func TestAttributionForcedOut(t *testing.T) {
	h := newSamplingHarness(t, func(cfg *Config) {
		cfg.Sampling.MaxTraces = 1
		cfg.Metrics.LLMCost.Prices = attributionPrices()
	}, nil)
	h.clock.Set(testBase.Add(time.Second))
	for trace := byte(1); trace <= 5; trace++ {
		h.consume(t, buildAttributionBatch([]aspan{pipe(trace, 1, 0, "p"), jeevesLLM(trace, 2, 1, "openai", "gpt-4o", 1, 1, 0.25)}))
	}
	require.Positive(t, h.traces.s.sampler.Stats().ForcedMaxTraces)
	h.traces.s.drain(context.Background())
	h.metrics.m.flush(context.Background())
	assertFamily(t, h.last(t), "jeeves.pipeline.llm.cost_usd", map[string]float64{"map[pipeline:p]": 5 * 0.25})
}

// TestAttributionSeriesLimit: the attribution tables fold beyond series_limit.
func TestAttributionSeriesLimit(t *testing.T) {
	h := newSamplingHarness(t, func(cfg *Config) {
		cfg.Metrics.SeriesLimit = 2
		cfg.Sampling.RootSpanGrace = 0
	}, nil)
	h.clock.Set(testBase.Add(time.Second))
	for trace := byte(1); trace <= 4; trace++ {
		h.consume(t, buildAttributionBatch([]aspan{
			pipe(trace, 1, 0, fmt.Sprint("p", trace)), jeevesLLM(trace, 2, 1, "openai", "gpt-4o", 1, 1, 1)}))
	}
	h.metrics.m.flush(context.Background())
	assertFamily(t, h.last(t), "jeeves.pipeline.llm.cost_usd", map[string]float64{
		"map[pipeline:p1]": 1, "map[pipeline:p2]": 1, "map[otel.metric.overflow:true]": 2,
	})
}

// TestDailyBudgetGauge: the budget is served only when configured.
func TestDailyBudgetGauge(t *testing.T) {
	for _, budget := range []float64{0, 12.5} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) { testDailyBudgetGauge(t, budget) })
	}
}

func testDailyBudgetGauge(t *testing.T, budget float64) {
	{
		h := newHarness(t, func(cfg *Config) { cfg.Metrics.LLMCost.DailyBudgetUSD = budget })
		h.consumeFile(t, "testdata/jeeves_v1/input.yaml", testBase.Add(100*time.Second))
		h.flush(testBase.Add(115 * time.Second))
		ms := h.last(t).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
		var got []float64
		for i := range ms.Len() {
			if ms.At(i).Name() == "jeeves.llm.daily_budget_usd" {
				got = append(got, ms.At(i).Gauge().DataPoints().At(0).DoubleValue())
			}
		}
		if budget == 0 {
			assert.Empty(t, got)
		} else {
			assert.Equal(t, []float64{budget}, got)
		}
	}
}

// TestLLMCostExactAgainstLoadgenManifest feeds jeeves-loadgen traces (5%
// broken: a parent never exported) through both faces in tail mode with
// loadgen's price table, at 10% and 100% sampling: every cost and attribution
// family equals the manifest, money to the cent, tokens and calls exactly.
// 10,000 traces in make test (about 4 s a run); 100,000 (about 20 s a run)
// with JEEVES_LOAD_TESTS=1 (make test-load).
func TestLLMCostExactAgainstLoadgenManifest(t *testing.T) {
	cfg := loadgen.DefaultConfig()
	cfg.Traces = 10_000
	if os.Getenv("JEEVES_LOAD_TESTS") != "" {
		cfg.Traces = 100_000
	}
	cfg.BrokenRatio = 0.05
	manifest, err := loadgen.Plan(cfg)
	require.NoError(t, err)
	exported := func(p *loadgen.TracePlan, j int) bool { return !p.Spans[j].Unexported }
	const batch = 2000
	for _, pct := range []float64{10, 100} {
		t.Run(fmt.Sprint("percentage=", pct), func(t *testing.T) {
			h := newSamplingHarness(t, func(c *Config) {
				c.Sampling.Percentage = pct
				c.Metrics.LLMCost.Prices = loadgenPrices()
			}, consumertest.NewNop())
			g := loadgen.NewGenerator(cfg)
			ctx := context.Background()
			now := testBase
			plans := make([]*loadgen.TracePlan, 0, batch)
			for start := 0; start < cfg.Traces; start += batch {
				plans = plans[:0]
				for i := start; i < min(start+batch, cfg.Traces); i++ {
					plans = append(plans, g.Trace(i))
				}
				h.clock.Set(now)
				h.consume(t, planSpans(plans, cfg.Services, exported))
				now = now.Add(2 * time.Second) // past root_span_grace
				h.traces.s.forward(ctx, h.traces.s.sampler.Tick(now))
			}
			h.traces.s.drain(ctx) // traces without an exported root
			h.clock.Set(now)
			h.metrics.m.flush(ctx)
			md := h.last(t)

			c := &manifest.Cost
			money := func(name string, want map[string]float64) {
				t.Helper()
				got := familyValues(md, name)
				require.Len(t, got, len(want), name)
				for k, w := range want {
					assert.InDelta(t, w, got[k], 0.005, "%s%s", name, k)
				}
			}
			usd := map[string]float64{}
			for p, byModel := range c.NanoUSD {
				for m, n := range byModel {
					usd[fmt.Sprintf("map[model:%s provider:%s]", m, p)] = float64(n) / 1e9
				}
			}
			money("jeeves.llm.cost_usd", usd)
			unpriced := map[string]float64{}
			for p, byModel := range c.Unpriced {
				for m, n := range byModel {
					unpriced[fmt.Sprintf("map[model:%s provider:%s]", m, p)] = float64(n)
				}
			}
			assert.Equal(t, unpriced, familyValues(md, "jeeves.llm.cost.unpriced_calls"))
			tokens := map[string]float64{}
			for p, byType := range c.PipelineTokens {
				for ty, n := range byType {
					tokens[fmt.Sprintf("map[pipeline:%s type:%s]", p, ty)] = float64(n)
				}
			}
			assert.Equal(t, tokens, familyValues(md, "jeeves.pipeline.llm.tokens"))
			pipelines, agents := map[string]float64{}, map[string]float64{}
			for p, n := range c.PipelineNanoUSD {
				pipelines[fmt.Sprintf("map[pipeline:%s]", p)] = float64(n) / 1e9
			}
			for a, n := range c.AgentNanoUSD {
				agents[fmt.Sprintf("map[agent:%s]", a)] = float64(n) / 1e9
			}
			money("jeeves.pipeline.llm.cost_usd", pipelines)
			money("jeeves.agent.llm.cost_usd", agents)
			require.Positive(t, manifest.Classes.Broken, "broken traces exercise the root-pipeline fallback")
		})
	}
}

func loadgenPrices() []pricing.Price {
	out := make([]pricing.Price, 0, len(loadgen.Prices))
	for _, p := range loadgen.Prices {
		in, o := p.Input, p.Output
		out = append(out, pricing.Price{Provider: p.Provider, Model: p.Model, Input: &in, Output: &o})
	}
	return out
}

// TestRecentPipelinesBounds: the late-span memory forgets the oldest trace
// beyond recentTraces, and interns at most maxInterned pipeline names.
func TestRecentPipelinesBounds(t *testing.T) {
	var r recentPipelines
	id := func(i int) pcommon.TraceID {
		return pcommon.TraceID{1, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
	}
	for i := range recentTraces + 1 {
		r.put(id(i), "p")
	}
	_, ok := r.get(id(0))
	assert.False(t, ok, "the oldest is forgotten")
	p, ok := r.get(id(recentTraces))
	assert.True(t, ok)
	assert.Equal(t, "p", p)
	assert.Len(t, r.m, recentTraces)

	var names recentPipelines
	for i := range maxInterned + 1 {
		names.put(id(i), fmt.Sprint("p", i))
	}
	assert.Len(t, names.intern, maxInterned)
	_, ok = names.get(id(maxInterned))
	assert.False(t, ok, "a name beyond maxInterned is not remembered")
}
