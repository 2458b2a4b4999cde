// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// stormConfig is the loadgen error storm: 30 traces/s with 5% errors for 20 s, 60 s at 10× with
// 90% errors, then 20 s back at 30/s.
func stormConfig() loadgen.Config {
	cfg := loadgen.DefaultConfig()
	cfg.Seed = 13
	cfg.Phases = []loadgen.Phase{
		{Rate: 30, Duration: 20 * time.Second, ErrorRatio: 0.05},
		{Rate: 300, Duration: 60 * time.Second, ErrorRatio: 0.9},
		{Rate: 30, Duration: 20 * time.Second, ErrorRatio: 0.05},
	}
	cfg.Traces = cfg.PhaseTraces()
	return cfg
}

// planEnd is when a planned trace ends, and when an SDK's batch exporter would send its root.
func planEnd(p *loadgen.TracePlan) time.Duration { return p.Offset + p.Duration() }

// feedStorm sends the plans, sorted by end, through both faces in batches of 250 ms, each trace
// whole in the batch of its end (as the services' exporters would send it), with the connector's
// clock at the batch's time: simulated time, so 100 s of traffic take a few seconds.
func feedStorm(t *testing.T, h *samplingHarness, plans []*loadgen.TracePlan, services loadgen.Services) {
	const step = 250 * time.Millisecond
	for start := 0; start < len(plans); {
		end := start
		for end < len(plans) && planEnd(plans[end]) < planEnd(plans[start]).Truncate(step)+step {
			end++
		}
		h.clock.Set(planBase.Add(planEnd(plans[start])))
		h.consume(t, planTraces(plans[start:end], services))
		start = end
	}
	h.clock.Set(planBase.Add(planEnd(plans[len(plans)-1]) + time.Minute))
	h.traces.s.forward(t.Context(), h.traces.s.sampler.Flush())
	h.metrics.m.flush(t.Context())
}

// planBase is the time planSpans puts trace offset 0 at.
var planBase = time.Unix(0, 1_700_000_000_000_000_000)

// TestBudgetLoadgenErrorStorm: with a cap of 30 error/slow traces per second, through a 10× storm
// of 90% errors the error and slow traces forwarded per second stay within ±15% of the cap
// (10 s windows after the storm's first), every forwarded trace is whole and carries th, the
// adjusted counts of the forwarded error traces estimate the manifest's error traces within 10%,
// and the RED metrics equal the manifest exactly and equal those of the same run without a budget.
func TestBudgetLoadgenErrorStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 traces")
	}
	const capPerSec = 30
	cfg := stormConfig()
	manifest, err := loadgen.Plan(cfg)
	require.NoError(t, err)
	g := loadgen.NewGenerator(cfg)
	plans := make([]*loadgen.TracePlan, cfg.Traces)
	for i := range plans {
		plans[i] = g.Trace(i)
	}
	slices.SortStableFunc(plans, func(a, b *loadgen.TracePlan) int { return cmp.Compare(planEnd(a), planEnd(b)) })

	// The same traffic without a budget, for the RED comparison (one connector per subtest: the
	// faces of one component id are shared until shut down).
	var want indexed
	var offSpans int
	t.Run("without budget", func(t *testing.T) {
		off := newSamplingHarness(t, func(c *Config) { c.Sampling.RootSpanGrace = 0 }, nil)
		feedStorm(t, off, plans, cfg.Services)
		want, offSpans = indexMetrics(off.last(t)), off.tsink.SpanCount()
	})

	h := newSamplingHarness(t, func(c *Config) {
		c.Sampling.RootSpanGrace = 0
		c.Sampling.Budget.MaxKeptTracesPerSecond = capPerSec
	}, nil)
	feedStorm(t, h, plans, cfg.Services)

	fwd := forwarded(h.tsink.AllTraces())
	windows := map[int]float64{}
	var errEstimate float64
	for _, p := range plans {
		spans, kept := fwd[pcommon.TraceID(p.TraceID)]
		if !kept {
			continue
		}
		require.Len(t, spans, len(p.Spans), "trace %d forwarded whole", p.Index)
		th := spanThreshold(t, spans[0].ts)
		for _, s := range spans {
			require.Equal(t, th, spanThreshold(t, s.ts), "one th per trace")
		}
		if p.Error || p.Slow {
			windows[int(planEnd(p)/(5*time.Second))]++ // forwarded when it ends
		}
		if p.Error {
			errEstimate += th.AdjustedCount()
		}
	}
	// 10 s windows: at 30 kept/s a window holds 300 traces, so Poisson noise is about ±6% (1σ)
	// and ±15% is 2.5σ; 5 s windows would put the bound at 1.8σ.
	var rates []float64
	for w := 20/10 + 0; w < 80/10; w++ {
		rate := (windows[2*w] + windows[2*w+1]) / 10
		rates = append(rates, rate)
		if w == 2 {
			continue // the storm's first window holds the step
		}
		assert.InDelta(t, capPerSec, rate, 0.15*capPerSec, "storm window %ds: %.1f error/slow traces/s forwarded", w*10, rate)
	}
	t.Logf("error/slow traces forwarded per second, 10 s windows from 20 s: %.1f", rates)
	errs := float64(manifest.Classes.Error)
	assert.InDelta(t, errs, errEstimate, 0.10*errs, "adjusted counts of forwarded error traces vs the manifest's error traces")
	st := h.traces.s.sampler.Stats()
	require.NotNil(t, st.Budget)
	t.Logf("%d traces, %d spans; %d error traces, estimated %.0f from %d forwarded traces; decisions by reason %v",
		manifest.Traces, manifest.Spans, manifest.Classes.Error, errEstimate, len(fwd), st.Budget.Decisions)

	// The floor: every (pipeline, outcome) that ran in a minute has a stored trace of that minute
	// (slow traces left out: the plan's Slow is the root's duration, the sampler's the trace's).
	type keyMinute struct {
		minute          int64
		pipeline, class string
	}
	ran, stored := map[keyMinute]bool{}, map[keyMinute]bool{}
	for _, p := range plans {
		class := "ok"
		switch {
		case p.Error:
			class = "error"
		case p.Slow:
			continue
		}
		k := keyMinute{planBase.Add(planEnd(p)).Unix() / 60, p.Pipeline, class}
		ran[k] = true
		if _, kept := fwd[pcommon.TraceID(p.TraceID)]; kept {
			stored[k] = true
		}
	}
	for k := range ran {
		assert.True(t, stored[k], "no stored trace for %+v", k)
	}
	assert.GreaterOrEqual(t, len(ran), 8)

	// Telemetry on :8888: decisions by reason equal the sampler's, and one probability per key.
	dm, err := h.tel.GetMetric("otelcol_connector_jeeves_sampling_budget_decisions")
	require.NoError(t, err)
	byReason := map[string]int64{}
	for _, dp := range dm.Data.(metricdata.Sum[int64]).DataPoints {
		r, _ := dp.Attributes.Value("reason")
		byReason[r.AsString()] = dp.Value
	}
	for _, r := range sampler.Reasons {
		assert.Equal(t, int64(st.Budget.Decisions[r]), byReason[r.String()], r.String())
	}
	assert.Positive(t, byReason["capped"])
	pm, err := h.tel.GetMetric("otelcol_connector_jeeves_sampling_budget_probability")
	require.NoError(t, err)
	probs := pm.Data.(metricdata.Gauge[float64]).DataPoints
	assert.Len(t, probs, len(st.Budget.Probabilities))
	for _, dp := range probs {
		assert.True(t, dp.Value > 0 && dp.Value <= 1, "probability %v", dp.Value)
	}

	// RED: exact against the manifest, and the same as without a budget.
	got := indexMetrics(h.last(t))
	assert.Equal(t, manifest.Spans, sumValues(got.sums["traces.span.metrics.calls"]))
	var execs int64
	for _, byStatus := range manifest.Pipelines.Executions {
		for _, n := range byStatus {
			execs += n
		}
	}
	assert.Equal(t, execs, sumValues(got.sums["jeeves.pipeline.executions"]))

	assert.Equal(t, want.sums, got.sums, "RED sums with and without the budget")
	require.Equal(t, len(want.hists), len(got.hists))
	for name, byKey := range want.hists {
		for k, w := range byKey {
			gdp, ok := got.hists[name][k]
			require.True(t, ok, "%s{%s}", name, k)
			assert.Equal(t, w.Count(), gdp.Count(), "%s{%s}", name, k)
			assert.Equal(t, w.Sum(), gdp.Sum(), "%s{%s}", name, k)
			assert.Equal(t, w.BucketCounts().AsRaw(), gdp.BucketCounts().AsRaw(), "%s{%s}", name, k)
		}
	}
	assert.Greater(t, offSpans, 3*h.tsink.SpanCount(), "without the budget the storm is forwarded")
	t.Logf("forwarded spans: %d with the budget, %d without", h.tsink.SpanCount(), offSpans)
}

func spanThreshold(t *testing.T, ts string) sampling.Threshold {
	t.Helper()
	for m := range strings.SplitSeq(ts, ",") {
		if v, ok := strings.CutPrefix(m, "ot="); ok {
			for sub := range strings.SplitSeq(v, ";") {
				if tv, ok := strings.CutPrefix(sub, "th:"); ok {
					th, err := sampling.TValueToThreshold(tv)
					require.NoError(t, err)
					return th
				}
			}
		}
	}
	t.Fatalf("no th in tracestate %q", ts)
	return sampling.Threshold{}
}
