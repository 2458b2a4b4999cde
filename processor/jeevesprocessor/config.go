// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"

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
	Sampling SamplingConfig `mapstructure:"sampling"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SamplingConfig mirrors sampler.Config field for field (TestSamplingConfigMirrorsSampler
// keeps them in step). It is a copy rather than the sampler's type so that the
// collector's config validation, which calls Validate on every nested struct,
// does not report each sampling problem twice (Config.Validate reports them).
type SamplingConfig struct {
	// Percentage of traces kept by the probability rule, in (0, 100]. Default 10.
	Percentage float64 `mapstructure:"percentage"`
	// Mode is tail (buffer each trace, apply the keep rules) or head
	// (stateless, probability only). Default tail.
	Mode string `mapstructure:"mode"`
	// Precision is the number of hex digits of the OTEP 235 threshold, 1..14.
	// Default 4 (10% is th:e666).
	Precision int `mapstructure:"precision"`
	// DecisionWait is the longest a trace is buffered after its first span
	// arrived. Tail only. Default 10s; must be > 0.
	DecisionWait time.Duration `mapstructure:"decision_wait"`
	// RootSpanGrace decides a trace this long after its root span arrived, if
	// sooner than DecisionWait. Tail only. Default 1s; 0 decides at the root.
	RootSpanGrace time.Duration `mapstructure:"root_span_grace"`
	// LatencyThreshold keeps every trace at least this long (earliest start
	// to latest end). Tail only. Default 5s; 0 disables the rule.
	LatencyThreshold time.Duration `mapstructure:"latency_threshold"`
	// KeepErrors keeps every trace holding a span with status Error. Tail
	// only. Default true.
	KeepErrors bool `mapstructure:"keep_errors"`
	// MaxTraces bounds the buffered traces; at the bound the oldest is decided
	// early. Tail only. Default 50000; must be >= 1.
	MaxTraces int `mapstructure:"max_traces"`
	// MaxBytes bounds the estimated bytes of the buffered spans; at the bound
	// the oldest traces are decided early. Tail only. Default 268435456 (256 MiB).
	MaxBytes int64 `mapstructure:"max_bytes"`
	// DecisionCacheSize is how many recent decisions late spans can follow
	// (about 64 B each). Tail only. Default 100000; must be >= 1.
	DecisionCacheSize int `mapstructure:"decision_cache_size"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func samplingConfigFrom(c sampler.Config) SamplingConfig {
	return SamplingConfig{
		Percentage:        c.Percentage,
		Mode:              string(c.Mode),
		Precision:         c.Precision,
		DecisionWait:      c.DecisionWait,
		RootSpanGrace:     c.RootSpanGrace,
		LatencyThreshold:  c.LatencyThreshold,
		KeepErrors:        c.KeepErrors,
		MaxTraces:         c.MaxTraces,
		MaxBytes:          c.MaxBytes,
		DecisionCacheSize: c.DecisionCacheSize,
	}
}

func (s *SamplingConfig) sampler() sampler.Config {
	return sampler.Config{
		Percentage:        s.Percentage,
		Mode:              sampler.Mode(s.Mode),
		Precision:         s.Precision,
		DecisionWait:      s.DecisionWait,
		RootSpanGrace:     s.RootSpanGrace,
		LatencyThreshold:  s.LatencyThreshold,
		KeepErrors:        s.KeepErrors,
		MaxTraces:         s.MaxTraces,
		MaxBytes:          s.MaxBytes,
		DecisionCacheSize: s.DecisionCacheSize,
	}
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
		},
		Sampling: samplingConfigFrom(sampler.DefaultConfig()),
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
	if err := cfg.Sampling.sampler().Validate(); err != nil {
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
