package sampler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	assert.Equal(t, Config{
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
	}, cfg)
	assert.False(t, cfg.Budget.Enabled(), "the budget is opt-in")
	require.NoError(t, cfg.Check())
}

func TestConfigCheckReportsEveryField(t *testing.T) {
	cfg := Config{
		Percentage:        150,
		Mode:              "both",
		Precision:         15,
		DecisionWait:      0,
		RootSpanGrace:     -time.Second,
		LatencyThreshold:  -time.Second,
		MaxTraces:         0,
		MaxBytes:          0,
		DecisionCacheSize: -1,
	}
	assert.EqualError(t, cfg.Check(), `sampling.percentage must be in (0, 100], got 150
sampling.mode must be one of tail, head, got "both"
sampling.precision must be in [1, 14], got 15
sampling.decision_wait must be positive, got 0s
sampling.root_span_grace must not be negative, got -1s
sampling.latency_threshold must not be negative, got -1s
sampling.max_traces must be at least 1, got 0
sampling.max_bytes must be at least 1, got 0
sampling.decision_cache_size must be at least 1, got -1`)
}

func TestConfigCheckPercentage(t *testing.T) {
	for _, tc := range []struct {
		pct  float64
		want string
	}{
		{100, ""},
		{0.001, ""},
		{0, "sampling.percentage must be in (0, 100], got 0"},
		{-5, "sampling.percentage must be in (0, 100], got -5"},
		{100.5, "sampling.percentage must be in (0, 100], got 100.5"},
		{1e-15, "sampling.percentage must be at least 1.3877787807814457e-15 (one in 2^56), got 1e-15"},
	} {
		cfg := DefaultConfig()
		cfg.Percentage = tc.pct
		err := cfg.Check()
		if tc.want == "" {
			assert.NoError(t, err, "%v", tc.pct)
		} else {
			assert.EqualError(t, err, tc.want)
		}
	}
	cfg := DefaultConfig()
	cfg.Mode = ModeHead
	assert.NoError(t, cfg.Check())
}

func TestConfigCheckBudget(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = ModeHead
	cfg.Budget = BudgetConfig{MaxKeptTracesPerSecond: -1, TargetSpansPerSecond: 5, FloorPerMinute: -1, Window: time.Millisecond}
	assert.EqualError(t, cfg.Check(), `sampling.budget.max_kept_traces_per_second must be 0 (no cap) or a positive number, got -1
sampling.budget.floor_per_minute must not be negative, got -1
sampling.budget.window must be at least 1s, got 1ms
sampling.budget max keys (metrics.series_limit) must be at least 1, got 0
sampling.budget needs sampling.mode tail (head mode decides spans, not traces)`)
}
