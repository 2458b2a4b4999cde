// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

// Package pricing turns LLM token counts into US dollars with a configured
// price table: an exact (provider, model) entry first, else the longest
// configured prefix (`model*`) of the same provider.
package pricing // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/pricing"

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Price is one entry of the price table, in USD per 1M tokens.
type Price struct {
	// Provider is the provider label value the entry applies to (as the llm
	// family reads it, e.g. openai). Required.
	Provider string `mapstructure:"provider"`
	// Model is an exact model name, or a prefix ending in `*`. Required.
	Model string `mapstructure:"model"`
	// Input is the price of 1M input tokens. Required, >= 0.
	Input *float64 `mapstructure:"input"`
	// Output is the price of 1M output tokens. Required, >= 0.
	Output *float64 `mapstructure:"output"`
	// CachedInput, when set, is the price of 1M input tokens read from the
	// provider's prompt cache (they are part of the input tokens). Unset: cached
	// tokens cost Input. >= 0.
	CachedInput *float64 `mapstructure:"cached_input"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// rate is a compiled Price, in USD per token.
type rate struct {
	input, output, cached float64
}

// Table finds the price of a (provider, model). The zero value prices nothing.
// It is read-only once built, so it is safe for concurrent use.
type Table struct {
	exact map[string]map[string]*rate // provider → model → rate
	// prefixes per provider, longest first, so the most specific prefix wins.
	prefixes map[string][]prefix
}

type prefix struct {
	prefix string
	rate   *rate
}

// Compile validates the entries and builds the table. Errors name the
// entry by its index under key (e.g. metrics.llm_cost.prices[1]); all of
// them are reported at once.
func Compile(key string, prices []Price) (*Table, error) {
	t := &Table{exact: map[string]map[string]*rate{}, prefixes: map[string][]prefix{}}
	var errs []error
	seen := map[[2]string]int{}
	for i, p := range prices {
		name := fmt.Sprintf("%s[%d]", key, i)
		if p.Provider != "" || p.Model != "" {
			name += fmt.Sprintf(" (%s/%s)", p.Provider, p.Model)
		}
		var bad []error
		if p.Provider == "" {
			bad = append(bad, fmt.Errorf("%s.provider is required", name))
		}
		model, isPrefix := strings.CutSuffix(p.Model, "*")
		if p.Model == "" {
			bad = append(bad, fmt.Errorf("%s.model is required", name))
		} else if strings.Contains(model, "*") {
			bad = append(bad, fmt.Errorf("%s.model may hold `*` only at its end, got %q", name, p.Model))
		}
		bad = append(bad, checkPrice(name+".input", p.Input, true))
		bad = append(bad, checkPrice(name+".output", p.Output, true))
		bad = append(bad, checkPrice(name+".cached_input", p.CachedInput, false))
		if err := errors.Join(bad...); err != nil {
			errs = append(errs, err)
			continue
		}
		k := [2]string{p.Provider, p.Model}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("%s repeats %s[%d]", name, key, j))
			continue
		}
		seen[k] = i
		r := &rate{input: *p.Input / 1e6, output: *p.Output / 1e6, cached: *p.Input / 1e6}
		if p.CachedInput != nil {
			r.cached = *p.CachedInput / 1e6
		}
		if isPrefix {
			t.prefixes[p.Provider] = append(t.prefixes[p.Provider], prefix{prefix: model, rate: r})
			continue
		}
		if t.exact[p.Provider] == nil {
			t.exact[p.Provider] = map[string]*rate{}
		}
		t.exact[p.Provider][p.Model] = r
	}
	for _, ps := range t.prefixes {
		sort.SliceStable(ps, func(a, b int) bool { return len(ps[a].prefix) > len(ps[b].prefix) })
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

func checkPrice(name string, v *float64, required bool) error {
	switch {
	case v == nil && required:
		return fmt.Errorf("%s is required (USD per 1M tokens)", name)
	case v == nil:
		return nil
	case math.IsNaN(*v) || math.IsInf(*v, 0) || *v < 0:
		return fmt.Errorf("%s must be a finite price >= 0 (USD per 1M tokens), got %v", name, *v)
	}
	return nil
}

// Rate is the price of one (provider, model); the zero Rate is "no price".
type Rate struct{ r *rate }

// Lookup returns the rate of (provider, model): the exact entry, else the
// longest matching prefix entry of the provider.
func (t *Table) Lookup(provider, model string) Rate {
	if t == nil {
		return Rate{}
	}
	if r, ok := t.exact[provider][model]; ok {
		return Rate{r}
	}
	for _, p := range t.prefixes[provider] {
		if strings.HasPrefix(model, p.prefix) {
			return Rate{p.rate}
		}
	}
	return Rate{}
}

// Priced reports whether the rate came from a table entry.
func (r Rate) Priced() bool { return r.r != nil }

// Cost is the USD cost of a call: cached (at most input) of the input tokens
// at the cached-input price, the rest at the input price, and the output
// tokens at the output price. Negative counts count as 0.
func (r Rate) Cost(input, output, cached int64) float64 {
	if r.r == nil {
		return 0
	}
	input, output, cached = max(input, 0), max(output, 0), max(cached, 0)
	cached = min(cached, input)
	return float64(input-cached)*r.r.input + float64(cached)*r.r.cached + float64(output)*r.r.output
}
