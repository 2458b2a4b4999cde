package loadgen

import (
	"math"
	"strings"
)

// Price is one entry of the LLM price table the collector is configured with to price the GenAI
// spans loadgen sends (metrics.llm_cost.prices): USD per 1M tokens. Model is a model label value,
// or a prefix ending in "*".
type Price struct {
	Provider string  `json:"provider"`
	Model    string  `json:"model"`
	Input    float64 `json:"input"`
	Output   float64 `json:"output"`
}

// Prices prices most GenAI models, by exact name and by prefix (gpt-4o-mini-… takes the longer
// prefix over gpt-4o*); gpt-3.5-turbo-instruct and claude-3-5-haiku stay unpriced, so their GenAI
// calls are counted unpriced. Jeeves' own llm.provider.call spans carry jeeves.llm.cost_usd, which
// wins over the table.
var Prices = []Price{
	{Provider: "openai", Model: "gpt-4o*", Input: 2.5, Output: 10},
	{Provider: "openai", Model: "gpt-4o-mini*", Input: 0.15, Output: 0.6},
	{Provider: "openai", Model: "text-embedding-3-small", Input: 0.02, Output: 0},
	{Provider: "anthropic", Model: "claude-sonnet-4*", Input: 3, Output: 15},
	{Provider: "azure.ai.openai", Model: "gpt-4o", Input: 2.5, Output: 10},
}

// priceOf returns the price of a provider and model label: the exact entry, else the longest
// matching prefix entry of the provider.
func priceOf(provider, model string) (Price, bool) {
	var best Price
	bestLen := -1
	for _, p := range Prices {
		if p.Provider != provider {
			continue
		}
		if p.Model == model {
			return p, true
		}
		if prefix, ok := strings.CutSuffix(p.Model, "*"); ok && strings.HasPrefix(model, prefix) && len(prefix) > bestLen {
			best, bestLen = p, len(prefix)
		}
	}
	return best, bestLen >= 0
}

// CostTruth is the truth for the LLM cost families.
//
// A call's cost is its jeeves.llm.cost_usd (Jeeves llm.provider.call spans that succeeded), else its
// tokens at Prices; a call with neither is unpriced. Attribution (tail mode): each LLM call counts
// for its nearest exported ancestor of the pipeline family, else the trace's root pipeline span if
// exported, else "unknown"; and for its nearest exported ancestor that is an agent span or a GenAI
// invoke_agent span, else "unknown". An unexported span breaks the chain (its child names a parent
// the collector never sees).
//
// Costs are summed in nano-USD, each call's cost rounded to the nearest 1e-9 USD: integer sums do
// not depend on the order of addition, so the manifest is the same however it is computed.
type CostTruth struct {
	// NanoUSD sums the cost of priced calls: [provider][model].
	NanoUSD map[string]Counts `json:"nano_usd"`
	// Unpriced counts calls with no cost: [provider][model].
	Unpriced map[string]Counts `json:"unpriced"`
	// PipelineTokens sums LLM tokens by pipeline: [pipeline][type].
	PipelineTokens map[string]Counts `json:"pipeline_tokens"`
	// PipelineNanoUSD and AgentNanoUSD sum the cost of priced calls by pipeline and agent.
	PipelineNanoUSD Counts `json:"pipeline_nano_usd"`
	AgentNanoUSD    Counts `json:"agent_nano_usd"`
	// Prices is the price table the collector must be given (Prices).
	Prices []Price `json:"prices"`
}

func newCostTruth() CostTruth {
	return CostTruth{
		NanoUSD: map[string]Counts{}, Unpriced: map[string]Counts{},
		PipelineTokens: map[string]Counts{}, PipelineNanoUSD: Counts{}, AgentNanoUSD: Counts{},
		Prices: Prices,
	}
}

// addCosts records the LLM calls of one trace.
func (c *CostTruth) addCosts(t *TracePlan) {
	rootPipeline := UnknownLabel
	for i := range t.Spans {
		sp := &t.Spans[i]
		if sp.Parent < 0 && !sp.Unexported && sp.truth.role == rolePipeline {
			rootPipeline = sp.truth.label
			break
		}
	}
	for i := range t.Spans {
		sp := &t.Spans[i]
		tr := &sp.truth
		if sp.Unexported || tr.role != roleLLM {
			continue
		}
		cost, priced := tr.cost, tr.hasCost
		if !priced {
			cost, priced = CallCost(tr.label, tr.model, tr.input, tr.output)
		}
		pipeline, agent := "", ""
		for j := sp.Parent; j >= 0 && (pipeline == "" || agent == ""); j = t.Spans[j].Parent {
			anc := &t.Spans[j]
			if anc.Unexported {
				break
			}
			switch {
			case anc.truth.role == rolePipeline && pipeline == "":
				pipeline = anc.truth.label
			case anc.truth.role == roleAgent && agent == "":
				agent = anc.truth.label
			case anc.truth.invokeAgent != "" && agent == "":
				agent = anc.truth.invokeAgent
			}
		}
		if pipeline == "" {
			pipeline = rootPipeline
		}
		if agent == "" {
			agent = UnknownLabel
		}
		if tr.tokens {
			tok := countsIn(c.PipelineTokens, pipeline)
			tok["input"] += tr.input
			if tr.output > 0 {
				tok["output"] += tr.output
			}
		}
		if !priced {
			countsIn(c.Unpriced, tr.label)[tr.model]++
			continue
		}
		c.addCall(tr.label, tr.model, pipeline, agent, cost)
	}
}

// addCall adds one priced call.
func (c *CostTruth) addCall(provider, model, pipeline, agent string, usd float64) {
	n := NanoUSD(usd)
	countsIn(c.NanoUSD, provider)[model] += n
	c.PipelineNanoUSD[pipeline] += n
	c.AgentNanoUSD[agent] += n
}

// NanoUSD is usd rounded to the nearest 1e-9 USD.
func NanoUSD(usd float64) int64 { return int64(math.Round(usd * 1e9)) }

// CallCost is what a call of provider and model costs with in and out tokens at Prices, and whether
// it is priced.
func CallCost(provider, model string, in, out int64) (float64, bool) {
	p, ok := priceOf(provider, model)
	if !ok {
		return 0, false
	}
	return (float64(in)*p.Input + float64(out)*p.Output) / 1e6, true
}
