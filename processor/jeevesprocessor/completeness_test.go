// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/jeeves/otelcol-jeeves/internal/promexport"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// sumPoints returns the int values of a sum metric by its one label's value.
func sumPoints(md pmetric.Metrics, name, label string) map[string]int64 {
	out := map[string]int64{}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != name {
					continue
				}
				for _, dp := range m.Sum().DataPoints().All() {
					v, _ := dp.Attributes().Get(label)
					out[v.Str()] = dp.IntValue()
				}
			}
		}
	}
	return out
}

// TestTraceCompletenessFamilies: in tail mode the metrics face serves the
// decided traces by completeness and the broken ones by the service whose
// span lost its parent, counted from every decided trace (kept or dropped).
func TestTraceCompletenessFamilies(t *testing.T) {
	h := newSamplingHarness(t, func(c *Config) { c.Sampling.Mode = sampler.ModeTail }, nil)
	var specs []traceSpec
	for k := range uint64(40) {
		// One trace in four lost its root: its first span (jeeves-api) names a parent never sent.
		specs = append(specs, traceSpec{id: randomID(k), spans: 4, noRoot: k%4 == 0})
	}
	h.consume(t, buildTraces(specs))
	at := testBase.Add(time.Minute)
	h.clock.Set(at)
	h.traces.s.forward(context.Background(), h.traces.s.sampler.Tick(at))
	h.metrics.m.flush(context.Background())

	md := h.last(t)
	assert.Equal(t, map[string]int64{"complete": 30, "broken": 10}, sumPoints(md, tracesDecidedName, completenessLabel))
	assert.Equal(t, map[string]int64{"jeeves-api": 10}, sumPoints(md, tracesBrokenName, serviceLabel))

	// The names Prometheus scrapes, through the real exporter.
	body := promexport.Scrape(t, md, "jeeves_traces_decided_total", true)
	assert.Contains(t, body, `jeeves_traces_decided_total{completeness="broken"} 10`)
	assert.Contains(t, body, `jeeves_traces_decided_total{completeness="complete"} 30`)
	assert.Contains(t, body, `jeeves_traces_broken_total{service="jeeves-api"} 10`)
}

// In head mode nothing is known about whole traces: the families are absent,
// not zero.
func TestTraceCompletenessAbsentInHeadMode(t *testing.T) {
	h := newSamplingHarness(t, func(c *Config) { c.Sampling.Mode = sampler.ModeHead }, nil)
	h.consume(t, buildTraces([]traceSpec{{id: randomID(1), spans: 2, noRoot: true}}))
	h.metrics.m.flush(context.Background())
	md := h.last(t)
	assert.Empty(t, sumPoints(md, tracesDecidedName, completenessLabel))
	require.Positive(t, md.MetricCount())
}
