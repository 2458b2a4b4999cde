// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package pricing

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func f(v float64) *float64 { return &v }

func TestLookupExactThenLongestPrefix(t *testing.T) {
	tab, err := Compile("prices", []Price{
		{Provider: "openai", Model: "gpt-4o*", Input: f(2.5), Output: f(10)},
		{Provider: "openai", Model: "gpt-4o-mini*", Input: f(0.15), Output: f(0.6)},
		{Provider: "openai", Model: "gpt-4o-mini", Input: f(1), Output: f(1), CachedInput: f(0.5)},
		{Provider: "anthropic", Model: "claude-sonnet*", Input: f(3), Output: f(15), CachedInput: f(0.3)},
	})
	require.NoError(t, err)
	cost := func(p, m string, in, out, cached int64) (float64, bool) {
		r := tab.Lookup(p, m)
		return r.Cost(in, out, cached), r.Priced()
	}
	c, ok := cost("openai", "gpt-4o-mini", 1_000_000, 0, 400_000) // exact wins over both prefixes
	assert.True(t, ok)
	assert.InDelta(t, 0.6+0.2, c, 1e-12)
	c, _ = cost("openai", "gpt-4o-mini-2024", 1_000_000, 1_000_000, 0) // longest prefix
	assert.InDelta(t, 0.75, c, 1e-12)
	c, _ = cost("openai", "gpt-4o-2024-08-06", 1000, 100, 0)
	assert.InDelta(t, 1000*2.5e-6+100*1e-5, c, 1e-15)
	c, _ = cost("anthropic", "claude-sonnet-4", 100, 10, 500) // cached capped at input
	assert.InDelta(t, 100*0.3e-6+10*15e-6, c, 1e-15)
	c, _ = cost("openai", "gpt-4o", 100, 0, 50) // no cached price: cached tokens cost input
	assert.InDelta(t, 100*2.5e-6, c, 1e-15)
	_, ok = cost("anthropic", "gpt-4o", 1, 1, 0) // prefixes are per provider
	assert.False(t, ok)
	_, ok = cost("openai", "gpt-4", 1, 1, 0)
	assert.False(t, ok)
	var none *Table
	assert.False(t, none.Lookup("openai", "gpt-4o").Priced())
}

func TestCompileErrorsNameTheEntry(t *testing.T) {
	_, err := Compile("metrics.llm_cost.prices", []Price{
		{Provider: "openai", Model: "gpt-4o", Input: f(-1), Output: f(10)},
		{Provider: "anthropic", Model: "claude*", Input: f(3)},
		{Model: "x", Input: f(1), Output: f(math.NaN()), CachedInput: f(-0.5)},
		{Provider: "a", Model: "b*c", Input: f(1), Output: f(1)},
		{Provider: "openai", Model: "gpt-4o", Input: f(1), Output: f(1)},
		{Provider: "openai", Model: "gpt-4o", Input: f(1), Output: f(1)},
	})
	require.Error(t, err)
	assert.Equal(t, `metrics.llm_cost.prices[0] (openai/gpt-4o).input must be a finite price >= 0 (USD per 1M tokens), got -1
metrics.llm_cost.prices[1] (anthropic/claude*).output is required (USD per 1M tokens)
metrics.llm_cost.prices[2] (/x).provider is required
metrics.llm_cost.prices[2] (/x).output must be a finite price >= 0 (USD per 1M tokens), got NaN
metrics.llm_cost.prices[2] (/x).cached_input must be a finite price >= 0 (USD per 1M tokens), got -0.5
metrics.llm_cost.prices[3] (a/b*c).model may hold `+"`*`"+` only at its end, got "b*c"
metrics.llm_cost.prices[5] (openai/gpt-4o) repeats metrics.llm_cost.prices[4]`, err.Error())
}

func BenchmarkLookupPrefix(b *testing.B) {
	tab, err := Compile("p", []Price{
		{Provider: "openai", Model: "gpt-4o", Input: f(2.5), Output: f(10)},
		{Provider: "openai", Model: "gpt-4o*", Input: f(2.5), Output: f(10)},
	})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		tab.Lookup("openai", "gpt-4o-2024-08-06").Cost(1000, 100, 0)
	}
}
