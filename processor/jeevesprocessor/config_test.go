// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
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
			id: component.NewIDWithName(metadata.Type, "invalid_rules"),
			wantErr: "metrics.families: unknown family \"queue\", want one of pipeline, agent, llm, db, interrupt\n" +
				"metrics.rules[0] (catch_all) needs span_names or when, otherwise it matches every span\n" +
				"metrics.rules[1] (odd).fields.model: transform must be one of lower, snake, first_word_lower or empty, got \"upper\"",
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
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
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
	_, err := newMetricsEngine(&cfg.Metrics, nil)
	require.EqualError(t, err, `metrics.rules[0] (x).family must be one of pipeline, agent, llm, db, interrupt, got "nope"`)
}
