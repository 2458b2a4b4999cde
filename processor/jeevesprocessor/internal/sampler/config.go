package sampler

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
)

// Mode selects how the sampler decides.
type Mode string

const (
	// ModeTail buffers the spans of each trace and decides once per trace with the keep rules.
	ModeTail Mode = "tail"
	// ModeHead decides per span from its trace id alone, without buffering.
	ModeHead Mode = "head"
)

// Config is the `sampling` block of the jeeves connector: the connector's Config embeds it as its
// Sampling field, so these mapstructure keys are the operator's keys under `sampling`.
type Config struct {
	// Percentage of traces kept by the probability rule, in (0, 100]. Default 10. 0 is invalid:
	// to forward nothing, leave the traces→traces pipeline out.
	Percentage float64 `mapstructure:"percentage"`
	// Mode is tail (buffer each trace, apply the keep rules) or head (stateless, decides each span
	// from its trace id, probability only). Default tail; empty is invalid.
	Mode Mode `mapstructure:"mode"`
	// Precision is the number of significant hex digits of the OTEP 235 threshold, 1..14. Default 4
	// (10% is th:e666); 0 is invalid. Near 0% and 100% digits are added so the probability stays
	// close to the configured one (1% at precision 1 is th:fd).
	Precision int `mapstructure:"precision"`
	// DecisionWait is the longest a trace is buffered after its first span arrived. Tail only.
	// Default 10s; must be > 0.
	DecisionWait time.Duration `mapstructure:"decision_wait"`
	// RootSpanGrace is how long after the root span (a span without parent) arrived the trace is
	// decided, if that comes before DecisionWait; it lets the children that are still in flight from
	// other services arrive. Tail only. Default 1s; 0 decides as soon as the root arrives.
	RootSpanGrace time.Duration `mapstructure:"root_span_grace"`
	// LatencyThreshold keeps every trace whose duration (earliest start to latest end) reaches it.
	// Tail only. Default 5s; 0 disables the rule.
	LatencyThreshold time.Duration `mapstructure:"latency_threshold"`
	// KeepErrors keeps every trace that holds a span with status Error. Tail only. Default true;
	// false leaves error traces to the probability rule.
	KeepErrors bool `mapstructure:"keep_errors"`
	// MaxTraces bounds the traces buffered at once; at the bound a trace is decided early: the one
	// whose root span arrived first, else the oldest. Tail only. Default 50000; must be >= 1.
	MaxTraces int `mapstructure:"max_traces"`
	// MaxBytes bounds the estimated memory of the buffered spans (see EstimateSpanBytes); at the bound
	// traces are decided early, in the same order as for MaxTraces. Tail only. Default 268435456
	// (256 MiB); must be >= 1.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// DecisionCacheSize is how many recent decisions are remembered so late spans of a decided trace
	// follow its decision (about 64 bytes each, 6.4 MB at the default). Tail only. Default 100000;
	// must be >= 1.
	DecisionCacheSize int `mapstructure:"decision_cache_size"`
	// Budget bounds what tail mode forwards per second (see BudgetConfig). Off by default.
	Budget BudgetConfig `mapstructure:"budget"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// BudgetConfig is `sampling.budget`: a storage budget for tail mode. It is on when
// max_kept_traces_per_second or target_spans_per_second is set; otherwise tail mode keeps every
// error and slow trace and the configured percentage of the others, and the other keys here are
// ignored. Rates are measured in span time (end timestamps), see budget.go.
type BudgetConfig struct {
	// MaxKeptTracesPerSecond caps the error and slow traces kept per second by this collector.
	// Above it they are sampled, errors before slow traces, with an OTEP 235 threshold written to
	// their tracestate, so each stands for 1/p traces. Default 0: no cap.
	MaxKeptTracesPerSecond float64 `mapstructure:"max_kept_traces_per_second"`
	// FloorPerMinute is how many traces of each key (pipeline × outcome) are kept every minute
	// whatever the cap and the probability, with th:0. Default 1; 0 disables the floor.
	FloorPerMinute int `mapstructure:"floor_per_minute"`
	// KeyAttributes are the span attributes whose first value found on a trace's spans names its
	// pipeline in the key. Default jeeves.pipeline.name, pipeline.name, pipeline_name (the
	// attributes the RED metrics read); a trace with none is "unknown".
	KeyAttributes []string `mapstructure:"key_attributes"`
	// TargetSpansPerSecond makes the probability of traces that are neither errors nor slow adapt
	// per key so that the spans forwarded (all rules together) approach it. Default 0: the fixed
	// sampling.percentage.
	TargetSpansPerSecond float64 `mapstructure:"target_spans_per_second"`
	// Window is the span of the moving average the adaptive probability follows. Default 30s;
	// at least 1s.
	Window time.Duration `mapstructure:"window"`
	// MaxKeys bounds the keys tracked; beyond it keys fold into the pipeline "_other". Not an
	// operator key: the connector sets it to metrics.series_limit, the bound of every other
	// per-label series it reports. Default 5000.
	MaxKeys int `mapstructure:"-"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Enabled reports whether the budget applies.
func (b BudgetConfig) Enabled() bool {
	return b.MaxKeptTracesPerSecond > 0 || b.TargetSpansPerSecond > 0
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Percentage:        10,
		Mode:              ModeTail,
		Precision:         4,
		DecisionWait:      10 * time.Second,
		RootSpanGrace:     time.Second,
		LatencyThreshold:  5 * time.Second,
		KeepErrors:        true,
		MaxTraces:         50000,
		MaxBytes:          256 << 20,
		DecisionCacheSize: 100000,
		Budget: BudgetConfig{
			FloorPerMinute: 1,
			KeyAttributes:  []string{"jeeves.pipeline.name", "pipeline.name", "pipeline_name"},
			Window:         30 * time.Second,
			MaxKeys:        5000,
		},
	}
}

// minPercentage is the smallest percentage a 56-bit threshold can express.
const minPercentage = 100 * sampling.MinSamplingProbability

// Check reports every invalid field at once, naming its YAML key under `sampling`.
//
// It is not called Validate on purpose: the collector's config validation calls Validate on every
// nested struct and prefixes the error with its path, so a Validate here would be reported a second
// time (as "sampling: sampling.percentage ...") next to the connector's Config.Validate, which
// reports these problems with the metrics ones.
func (c Config) Check() error {
	var errs []error
	if !(c.Percentage > 0 && c.Percentage <= 100) {
		errs = append(errs, fmt.Errorf("sampling.percentage must be in (0, 100], got %v", c.Percentage))
	} else if c.Percentage < minPercentage {
		errs = append(errs, fmt.Errorf("sampling.percentage must be at least %v (one in 2^56), got %v", minPercentage, c.Percentage))
	}
	if c.Mode != ModeTail && c.Mode != ModeHead {
		errs = append(errs, fmt.Errorf("sampling.mode must be one of tail, head, got %q", string(c.Mode)))
	}
	if c.Precision < 1 || c.Precision > sampling.NumHexDigits {
		errs = append(errs, fmt.Errorf("sampling.precision must be in [1, 14], got %d", c.Precision))
	}
	if c.DecisionWait <= 0 {
		errs = append(errs, fmt.Errorf("sampling.decision_wait must be positive, got %v", c.DecisionWait))
	}
	if c.RootSpanGrace < 0 {
		errs = append(errs, fmt.Errorf("sampling.root_span_grace must not be negative, got %v", c.RootSpanGrace))
	}
	if c.LatencyThreshold < 0 {
		errs = append(errs, fmt.Errorf("sampling.latency_threshold must not be negative, got %v", c.LatencyThreshold))
	}
	if c.MaxTraces < 1 {
		errs = append(errs, fmt.Errorf("sampling.max_traces must be at least 1, got %d", c.MaxTraces))
	}
	if c.MaxBytes < 1 {
		errs = append(errs, fmt.Errorf("sampling.max_bytes must be at least 1, got %d", c.MaxBytes))
	}
	if c.DecisionCacheSize < 1 {
		errs = append(errs, fmt.Errorf("sampling.decision_cache_size must be at least 1, got %d", c.DecisionCacheSize))
	}
	errs = append(errs, c.Budget.check(c.Mode)...)
	return errors.Join(errs...)
}

func (b BudgetConfig) check(mode Mode) []error {
	var errs []error
	if !(b.MaxKeptTracesPerSecond >= 0) || math.IsInf(b.MaxKeptTracesPerSecond, 0) {
		errs = append(errs, fmt.Errorf("sampling.budget.max_kept_traces_per_second must be 0 (no cap) or a positive number, got %v", b.MaxKeptTracesPerSecond))
	}
	if !(b.TargetSpansPerSecond >= 0) || math.IsInf(b.TargetSpansPerSecond, 0) {
		errs = append(errs, fmt.Errorf("sampling.budget.target_spans_per_second must be 0 (off) or a positive number, got %v", b.TargetSpansPerSecond))
	}
	if b.FloorPerMinute < 0 {
		errs = append(errs, fmt.Errorf("sampling.budget.floor_per_minute must not be negative, got %d", b.FloorPerMinute))
	}
	if !b.Enabled() {
		return errs
	}
	if b.Window < time.Second {
		errs = append(errs, fmt.Errorf("sampling.budget.window must be at least 1s, got %v", b.Window))
	}
	if b.MaxKeys < 1 {
		errs = append(errs, fmt.Errorf("sampling.budget max keys (metrics.series_limit) must be at least 1, got %d", b.MaxKeys))
	}
	if mode == ModeHead {
		errs = append(errs, errors.New("sampling.budget needs sampling.mode tail (head mode decides spans, not traces)"))
	}
	return errs
}
