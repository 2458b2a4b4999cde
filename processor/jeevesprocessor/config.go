// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/pricing"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

const maxExemplarsPerDataPoint = 100

// Config is the configuration of the jeeves connector.
type Config struct {
	// Metrics configures the RED metrics derived from every span.
	Metrics MetricsConfig `mapstructure:"metrics"`
	// Sampling configures the traces→traces face: which traces it forwards.
	// It is used only when a traces pipeline receives from this connector.
	// Its keys, defaults and bounds are documented on sampler.Config.
	Sampling sampler.Config `mapstructure:"sampling"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// MetricsConfig configures the traces→metrics face.
type MetricsConfig struct {
	// FlushInterval is how often the cumulative metrics are emitted. Default 15s; must be > 0.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// SeriesLimit is the number of distinct series each metric keeps; beyond
	// it, observations fold into one series labelled otel.metric.overflow="true".
	// Default 5000; must be > 0.
	SeriesLimit int `mapstructure:"series_limit"`
	// SeriesExpiration drops a series not updated for this long. Default 10m;
	// 0 keeps series until restart; otherwise at least FlushInterval.
	SeriesExpiration time.Duration `mapstructure:"series_expiration"`
	// SPM configures the Jaeger Monitor-tab span metrics.
	SPM SPMConfig `mapstructure:"spm"`
	// Exemplars configures trace exemplars on the duration histograms.
	Exemplars ExemplarsConfig `mapstructure:"exemplars"`
	// Families adds extra dimensions per Jeeves family (pipeline, agent, llm,
	// db, interrupt). Empty by default.
	Families map[string]FamilyConfig `mapstructure:"families"`
	// Rules are evaluated before the default Jeeves rules; a rule named like a
	// default rule replaces it, and `disabled: true` removes it. Empty by default.
	Rules []rules.Rule `mapstructure:"rules"`
	// LLMCost configures what LLM calls cost and whom the cost is attributed to.
	LLMCost LLMCostConfig `mapstructure:"llm_cost"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// LLMCostConfig configures the LLM cost families (issue 14).
type LLMCostConfig struct {
	// Prices are USD per 1M tokens per provider and model; a model matches an
	// exact entry first, then the longest `prefix*` entry of its provider.
	// Calls whose span carries jeeves.llm.cost_usd use that instead. Empty by
	// default: only such spans are priced, the others are counted unpriced.
	Prices []pricing.Price `mapstructure:"prices"`
	// Attribution emits the per-pipeline and per-agent token and cost families
	// in tail mode, computed from each whole trace when it is decided.
	// Default true; head mode has no whole traces and ignores it.
	Attribution bool `mapstructure:"attribution"`
	// DailyBudgetUSD, when > 0, is served as the gauge jeeves.llm.daily_budget_usd
	// for the budget alert to compare the day's spend with. Default 0: no gauge,
	// so the alert has nothing to fire on. Must be >= 0.
	DailyBudgetUSD float64 `mapstructure:"daily_budget_usd"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SPMConfig switches the Jaeger SPM metrics (traces.span.metrics.*).
type SPMConfig struct {
	// Enabled emits traces_span_metrics_calls_total and
	// traces_span_metrics_duration_milliseconds. Default true.
	Enabled bool `mapstructure:"enabled"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ExemplarsConfig configures exemplars on duration histograms.
type ExemplarsConfig struct {
	// Enabled attaches (trace id, span id) exemplars. Default true.
	Enabled bool `mapstructure:"enabled"`
	// MaxPerDataPoint caps the exemplars kept per data point between flushes
	// (the most recent win). Default 5; 1 to 100 when enabled.
	MaxPerDataPoint int `mapstructure:"max_per_data_point"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// FamilyConfig extends one Jeeves family.
type FamilyConfig struct {
	// Dimensions are extra labels on every metric of the family, each read from
	// span attributes with a default value. Empty by default.
	Dimensions []rules.Dimension `mapstructure:"dimensions"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		Metrics: MetricsConfig{
			FlushInterval:    15 * time.Second,
			SeriesLimit:      5000,
			SeriesExpiration: 10 * time.Minute,
			SPM:              SPMConfig{Enabled: true},
			Exemplars:        ExemplarsConfig{Enabled: true, MaxPerDataPoint: 5},
			LLMCost:          LLMCostConfig{Attribution: true},
		},
		Sampling: sampler.DefaultConfig(),
	}
}

// Validate reports every configuration problem at once.
func (cfg *Config) Validate() error {
	var errs []error
	m := &cfg.Metrics
	if m.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("metrics.flush_interval must be > 0, got %s", m.FlushInterval))
	}
	if m.SeriesLimit <= 0 {
		errs = append(errs, fmt.Errorf("metrics.series_limit must be > 0, got %d", m.SeriesLimit))
	}
	switch {
	case m.SeriesExpiration < 0:
		errs = append(errs, fmt.Errorf("metrics.series_expiration must be 0 (never) or >= metrics.flush_interval, got %s", m.SeriesExpiration))
	case m.SeriesExpiration > 0 && m.FlushInterval > 0 && m.SeriesExpiration < m.FlushInterval:
		errs = append(errs, fmt.Errorf("metrics.series_expiration must be 0 (never) or >= metrics.flush_interval (%s), got %s", m.FlushInterval, m.SeriesExpiration))
	}
	if m.Exemplars.Enabled && (m.Exemplars.MaxPerDataPoint < 1 || m.Exemplars.MaxPerDataPoint > maxExemplarsPerDataPoint) {
		errs = append(errs, fmt.Errorf("metrics.exemplars.max_per_data_point must be in [1, %d] when exemplars are enabled, got %d", maxExemplarsPerDataPoint, m.Exemplars.MaxPerDataPoint))
	}
	if _, err := m.compileRules(); err != nil {
		errs = append(errs, err)
	}
	if _, err := m.LLMCost.compilePrices(); err != nil {
		errs = append(errs, err)
	}
	if b := m.LLMCost.DailyBudgetUSD; b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
		errs = append(errs, fmt.Errorf("metrics.llm_cost.daily_budget_usd must be a finite amount >= 0 (0: no budget), got %v", b))
	}
	if err := cfg.Sampling.Check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// compileRules merges the configured rules into the defaults and compiles them
// with the configured family dimensions.
func (m *MetricsConfig) compileRules() (*rules.Classifier, error) {
	dims := make(map[string][]rules.Dimension, len(m.Families))
	for name, f := range m.Families {
		dims[name] = f.Dimensions
	}
	return rules.Compile(rules.MergeRules(rules.DefaultRules(), m.Rules), dims)
}

// compilePrices validates and compiles the price table.
func (c *LLMCostConfig) compilePrices() (*pricing.Table, error) {
	return pricing.Compile("metrics.llm_cost.prices", c.Prices)
}
