// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"maps"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// The trace completeness families, served in tail mode only: the plan's
// "trace completion rate" and "correlation across the Go/Python boundary",
// measured on every decided trace.
const (
	tracesDecidedName        = "jeeves.traces.decided"
	tracesDecidedDescription = "Traces decided in tail mode, by completeness: broken when a span's parent never arrived."
	tracesBrokenName         = "jeeves.traces.broken"
	tracesBrokenDescription  = "Broken traces by the service whose span lost its parent (broken trace context propagation)."
	tracesUnit               = "{trace}"

	completenessLabel = "completeness"
	completeValue     = "complete"
	brokenValue       = "broken"
	serviceLabel      = "service"
)

// completenessSource is the sampler as the aggregation sees it at flush.
type completenessSource interface {
	Completeness() (sampler.Completeness, bool)
}

// appendCompleteness appends the two cumulative families of c, started at
// start. Services come in name order so that the output is stable.
func appendCompleteness(ms pmetric.MetricSlice, c sampler.Completeness, start, now pcommon.Timestamp) {
	decided := newCumulativeSum(ms, tracesDecidedName, tracesDecidedDescription)
	putCount(decided, completenessLabel, completeValue, c.Complete, start, now)
	putCount(decided, completenessLabel, brokenValue, c.Broken, start, now)
	if len(c.BrokenByService) == 0 {
		return
	}
	broken := newCumulativeSum(ms, tracesBrokenName, tracesBrokenDescription)
	for _, service := range slices.Sorted(maps.Keys(c.BrokenByService)) {
		putCount(broken, serviceLabel, service, c.BrokenByService[service], start, now)
	}
}

func newCumulativeSum(ms pmetric.MetricSlice, name, description string) pmetric.NumberDataPointSlice {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetDescription(description)
	m.SetUnit(tracesUnit)
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	return sum.DataPoints()
}

func putCount(dps pmetric.NumberDataPointSlice, label, value string, n uint64, start, now pcommon.Timestamp) {
	dp := dps.AppendEmpty()
	dp.Attributes().PutStr(label, value)
	dp.SetIntValue(int64(n))
	dp.SetStartTimestamp(start)
	dp.SetTimestamp(now)
}
