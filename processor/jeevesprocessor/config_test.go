// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
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
				cfg.Sampling = SamplingConfig{
					Percentage: 10, Mode: "tail", Precision: 4,
					DecisionWait: 10 * time.Second, RootSpanGrace: 500 * time.Millisecond,
					LatencyThreshold: 5 * time.Second, KeepErrors: true,
					MaxTraces: 20000, MaxBytes: 64 << 20, DecisionCacheSize: 50000,
				}
				return cfg
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "sampling_head"),
			want: func() *Config {
				cfg := createDefaultConfig().(*Config)
				cfg.Sampling.Percentage = 25
				cfg.Sampling.Mode = "head"
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
				// Each problem is reported once: no nested struct validates itself again.
				assert.Equal(t, 1, strings.Count(err.Error(), tt.wantErr), err.Error())
				assert.Equal(t, strings.Count(tt.wantErr, "\n")+1, strings.Count(err.Error(), "\n")+1, err.Error())
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

// TestSamplingConfigMirrorsSampler keeps SamplingConfig in step with
// sampler.Config: same fields, same YAML keys, same defaults, and a round trip
// through the conversion loses nothing.
func TestSamplingConfigMirrorsSampler(t *testing.T) {
	want := reflect.TypeFor[sampler.Config]()
	got := reflect.TypeFor[SamplingConfig]()
	var gotKeys, wantKeys []string
	for i := range want.NumField() {
		wantKeys = append(wantKeys, want.Field(i).Name+"/"+want.Field(i).Tag.Get("mapstructure"))
	}
	for i := range got.NumField() {
		if f := got.Field(i); f.IsExported() {
			gotKeys = append(gotKeys, f.Name+"/"+f.Tag.Get("mapstructure"))
		}
	}
	assert.Equal(t, wantKeys, gotKeys)

	def := createDefaultConfig().(*Config)
	assert.Equal(t, sampler.DefaultConfig(), def.Sampling.sampler())

	custom := sampler.Config{
		Percentage: 12.5, Mode: sampler.ModeHead, Precision: 6, DecisionWait: 3 * time.Second,
		RootSpanGrace: 7 * time.Millisecond, LatencyThreshold: 9 * time.Second, KeepErrors: false,
		MaxTraces: 11, MaxBytes: 13, DecisionCacheSize: 17,
	}
	mirror := samplingConfigFrom(custom)
	assert.Equal(t, custom, mirror.sampler())
}
