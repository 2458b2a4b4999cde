// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/pricing"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
)

// Span attributes read for the cost of an LLM call.
const (
	// costAttribute is the cost Jeeves' llm.provider.call spans report
	// themselves (a float, USD); it wins over the price table.
	costAttribute = "jeeves.llm.cost_usd"
	// cachedInputAttribute is the GenAI count of input tokens read from the
	// provider's prompt cache (part of the input tokens).
	cachedInputAttribute = "gen_ai.usage.cache_read.input_tokens"
)

// callCost is the USD cost of one LLM span classified into m: its own
// jeeves.llm.cost_usd when that is a finite number >= 0, else its tokens at
// the configured price of its provider and model. ok is false when neither
// gives a cost (the call is counted unpriced).
func callCost(attrs pcommon.Map, prices *pricing.Table, m *rules.Match) (cost float64, ok bool) {
	if v, has := attrs.Get(costAttribute); has {
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			cost, ok = v.Double(), true
		case pcommon.ValueTypeInt:
			cost, ok = float64(v.Int()), true
		}
		if ok && cost >= 0 && !math.IsInf(cost, 0) && !math.IsNaN(cost) {
			return cost, true
		}
	}
	rate := prices.Lookup(m.Value(rules.LLMProvider), m.Value(rules.LLMModel))
	if !rate.Priced() {
		return 0, false
	}
	in, _ := m.Num(rules.LLMInputTokens)
	out, _ := m.Num(rules.LLMOutputTokens)
	var cached int64
	if v, has := attrs.Get(cachedInputAttribute); has && v.Type() == pcommon.ValueTypeInt {
		cached = v.Int()
	}
	return rate.Cost(in, out, cached), true
}

// appendDailyBudget appends the configured daily LLM budget as a gauge: the
// budget alert compares the day's spend with it, and fires on nothing when
// no budget is configured (no gauge, no series).
func appendDailyBudget(ms pmetric.MetricSlice, usd float64, now pcommon.Timestamp) {
	m := ms.AppendEmpty()
	m.SetName("jeeves.llm.daily_budget_usd")
	m.SetUnit("{USD}")
	m.SetDescription("The configured daily LLM budget in US dollars (metrics.llm_cost.daily_budget_usd); absent when none is configured.")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetDoubleValue(usd)
	dp.SetTimestamp(now)
}
