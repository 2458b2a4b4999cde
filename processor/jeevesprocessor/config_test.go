// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/pricing"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		id      component.ID
		want    func() *Config
		wantErr string
	}{
		{
			id:   component.NewID(metadata.Type),
			want: func() *Config { return createDefaultConfig().(*Config) },
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.Metrics.FlushInterval = 30 * time.Second
				cfg.Metrics.SeriesLimit = 2000
				cfg.Metrics.SeriesExpiration = 0
				cfg.Metrics.SPM.Enabled = false
				cfg.Metrics.Exemplars.MaxPerDataPoint = 2
				cfg.Metrics.Families = map[string]FamilyConfig{"pipeline": {Dimensions: []rules.Dimension{
					{Name: "env", Attributes: []string{"deployment.environment"}, Default: "unknown"},
				}}}
				cfg.Metrics.Rules = []rules.Rule{
					{Name: "workflow", Family: "pipeline", SpanNames: []string{"workflow.run"},
						Fields: map[string]rules.Field{"pipeline": {Attributes: []string{"workflow.name"}, Default: "workflow"}}},
					{Name: "db_client_legacy", Disabled: true},
				}
				return cfg
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "readme_example"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.Metrics.Families = map[string]FamilyConfig{"pipeline": {Dimensions: []rules.Dimension{
					{Name: "env", Attributes: []string{"deployment.environment"}, Default: "unknown"},
				}}}
				cfg.Metrics.Rules = []rules.Rule{
					{Name: "workflow_runs", Family: "pipeline", SpanNames: []string{"workflow.run"},
						Fields: map[string]rules.Field{"pipeline": {Attributes: []string{"workflow.name"}, Default: "workflow"}}},
				}
				return cfg
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "sampling_tail"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.Sampling = sampler.Config{
					Percentage: 10, Mode: sampler.ModeTail, Precision: 4,
					DecisionWait: 10 * time.Second, RootSpanGrace: 500 * time.Millisecond,
					LatencyThreshold: 5 * time.Second, KeepErrors: true,
					MaxTraces: 20000, MaxBytes: 64 << 20, DecisionCacheSize: 50000,
					Budget: sampler.DefaultConfig().Budget,
				}
				return cfg
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "sampling_budget"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				b := &cfg.Sampling.Budget
				b.MaxKeptTracesPerSecond, b.TargetSpansPerSecond, b.FloorPerMinute = 50, 2000, 2
				b.KeyAttributes, b.Window = []string{"workflow.name"}, time.Minute
				return cfg
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "invalid_budget"),
			wantErr: "sampling.budget.max_kept_traces_per_second must be 0 (no cap) or a positive number, got -1\n" +
				"sampling.budget.floor_per_minute must not be negative, got -1\n" +
				"sampling.budget.window must be at least 1s, got 10ms",
		},
		{
			id: component.NewIDWithName(metadata.Type, "sampling_head"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.Sampling.Percentage = 25
				cfg.Sampling.Mode = sampler.ModeHead
				cfg.Sampling.Precision = 3
				return cfg
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "invalid_sampling"),
			wantErr: "sampling.percentage must be in (0, 100], got 150\n" +
				"sampling.mode must be one of tail, head, got \"sideways\"\n" +
				"sampling.precision must be in [1, 14], got 15\n" +
				"sampling.decision_wait must be positive, got 0s\n" +
				"sampling.root_span_grace must not be negative, got -1s\n" +
				"sampling.latency_threshold must not be negative, got -5s\n" +
				"sampling.max_traces must be at least 1, got 0\n" +
				"sampling.max_bytes must be at least 1, got 0\n" +
				"sampling.decision_cache_size must be at least 1, got 0",
		},
		{
			id: component.NewIDWithName(metadata.Type, "invalid_bounds"),
			wantErr: "metrics.flush_interval must be > 0, got 0s\n" +
				"metrics.series_limit must be > 0, got 0\n" +
				"metrics.series_expiration must be 0 (never) or >= metrics.flush_interval, got -1s\n" +
				"metrics.exemplars.max_per_data_point must be in [1, 100] when exemplars are enabled, got 0",
		},
		{
			id: component.NewIDWithName(metadata.Type, "expiration_below_flush"),
			wantErr: "metrics.series_expiration must be 0 (never) or >= metrics.flush_interval (1m0s), got 30s\n" +
				"metrics.exemplars.max_per_data_point must be in [1, 100] when exemplars are enabled, got 500",
		},
		{
			id: component.NewIDWithName(metadata.Type, "llm_cost"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				p := func(v float64) *float64 { return &v }
				cfg.Metrics.LLMCost.Prices = []pricing.Price{
					{Provider: "openai", Model: "gpt-4o", Input: p(2.5), Output: p(10), CachedInput: p(1.25)},
					{Provider: "anthropic", Model: "claude-sonnet*", Input: p(3), Output: p(15)},
				}
				return cfg
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "invalid_llm_cost"),
			wantErr: "metrics.llm_cost.prices[0] (openai/gpt-4o).input must be a finite price >= 0 (USD per 1M tokens), got -2.5\n" +
				"metrics.llm_cost.prices[1] (anthropic/claude-sonnet*).output is required (USD per 1M tokens)\n" +
				"metrics.llm_cost.daily_budget_usd must be a finite amount >= 0 (0: no budget), got -5",
		},
		{
			id: component.NewIDWithName(metadata.Type, "invalid_rules"),
			wantErr: "metrics.families: unknown family \"queue\", want one of pipeline, agent, llm, db, interrupt, http\n" +
				"metrics.rules[0] (catch_all) needs span_names or when, otherwise it matches every span\n" +
				"metrics.rules[1] (odd).fields.model: transform must be one of lower, snake, first_word_lower, http_method, url_path or empty, got \"upper\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				// confmap.Validate is what the collector runs: Config.Validate
				// plus Validate of every nested struct, prefixed with its path.
				// Each problem is reported once, by Config.Validate, unprefixed.
				require.EqualError(t, err, tt.wantErr)
				for line := range strings.SplitSeq(tt.wantErr, "\n") {
					assert.Equal(t, 1, strings.Count(err.Error(), line), "%q in\n%s", line, err)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want(), cfg)
		})
	}
}

func TestCreateRejectsInvalidRules(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Metrics.Rules = []rules.Rule{{Name: "x", Family: "nope", SpanNames: []string{"a"}}}
	_, err := NewFactory().CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.EqualError(t, err, `metrics.rules[0] (x).family must be one of pipeline, agent, llm, db, interrupt, http, got "nope"`)
}

func TestCreateDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig()
	assert.Equal(t, &Config{
		Metrics: MetricsConfig{
			FlushInterval:    15 * time.Second,
			SeriesLimit:      5000,
			SeriesExpiration: 10 * time.Minute,
			SPM:              SPMConfig{Enabled: true},
			Exemplars:        ExemplarsConfig{Enabled: true, MaxPerDataPoint: 5},
			LLMCost:          LLMCostConfig{Attribution: true},
		},
		Sampling: sampler.Config{
			Percentage:        10,
			Mode:              sampler.ModeTail,
			Precision:         4,
			DecisionWait:      10 * time.Second,
			RootSpanGrace:     time.Second,
			LatencyThreshold:  5 * time.Second,
			KeepErrors:        true,
			MaxTraces:         50000,
			MaxBytes:          256 << 20,
			DecisionCacheSize: 100000,
			Budget: sampler.BudgetConfig{ // off: neither a cap nor a target
				FloorPerMinute: 1,
				KeyAttributes:  []string{"jeeves.pipeline.name", "pipeline.name", "pipeline_name"},
				Window:         30 * time.Second,
				MaxKeys:        5000,
			},
		},
	}, cfg)
	require.NoError(t, confmap.Validate(cfg))
}

// TestValidateAsTheCollectorReportsIt validates the connector inside the
// collector's own shape (connectors keyed by component ID), which is what
// `otelcol-jeeves validate` prints after "Error: ": every problem once, each
// naming its key, none behind a second "sampling" path element (were the
// sampling block a validator of its own, the collector would report its
// problems a second time).
func TestValidateAsTheCollectorReportsIt(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Metrics.SeriesLimit = 0
	cfg.Sampling.Percentage = 150
	cfg.Sampling.Mode = "sideways"
	cfg.Sampling.MaxTraces = 0
	collector := struct {
		Connectors map[component.ID]component.Config `mapstructure:"connectors"`
	}{Connectors: map[component.ID]component.Config{component.NewID(metadata.Type): cfg}}

	err := confmap.Validate(&collector)
	require.EqualError(t, err, "connectors::jeeves: metrics.series_limit must be > 0, got 0\n"+
		"sampling.percentage must be in (0, 100], got 150\n"+
		"sampling.mode must be one of tail, head, got \"sideways\"\n"+
		"sampling.max_traces must be at least 1, got 0")
}
