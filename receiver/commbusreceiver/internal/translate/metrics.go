package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Metric names.
const (
	MetricEvents          = "jeeves_commbus_events_total"
	MetricInterrupts      = "jeeves_interrupts_total"
	MetricProcessDuration = "jeeves_process_duration_seconds"
	MetricProcessesActive = "jeeves_processes_active"
	MetricExhaustions     = "jeeves_resource_exhaustions_total"
)

// DurationBuckets are the explicit bounds (seconds) of
// jeeves_process_duration_seconds. A process spans a whole run including the
// time it waits on interrupts, so the bounds reach from sub-second runs to an
// hour-long wait for a user.
var DurationBuckets = []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

type pair struct{ a, b string }

type histogram struct {
	counts []uint64 // len(DurationBuckets)+1
	count  uint64
	sum    float64
}

// aggregator holds cumulative counters in plain Go; pdata is built only at
// flush. Every key comes from a fixed set, so the maps are bounded.
type aggregator struct {
	start       pcommon.Timestamp
	events      map[pair]int64
	interrupts  map[pair]int64
	exhaustions map[string]int64
	durations   map[string]*histogram
}

func newAggregator(start time.Time) *aggregator {
	return &aggregator{
		start:       pcommon.NewTimestampFromTime(start),
		events:      map[pair]int64{},
		interrupts:  map[pair]int64{},
		exhaustions: map[string]int64{},
		durations:   map[string]*histogram{},
	}
}

func (a *aggregator) countEvent(eventType, source string) { a.events[pair{eventType, source}]++ }
func (a *aggregator) countInterrupt(kind, status string)  { a.interrupts[pair{kind, status}]++ }
func (a *aggregator) countExhaustion(resource string)     { a.exhaustions[resource]++ }

func (a *aggregator) observeDuration(outcome string, seconds float64) {
	h := a.durations[outcome]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(DurationBuckets)+1)}
		a.durations[outcome] = h
	}
	i := sort.SearchFloat64s(DurationBuckets, seconds) // first bound >= seconds: buckets are upper-inclusive
	h.counts[i]++
	h.count++
	h.sum += seconds
}

func sortedPairs(m map[pair]int64) []pair {
	keys := make([]pair, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].a != keys[j].a {
			return keys[i].a < keys[j].a
		}
		return keys[i].b < keys[j].b
	})
	return keys
}

// Metrics builds the cumulative state as pdata: every series with the
// aggregator's start time and now as its timestamp. The active-process gauge
// is always present; other metrics appear once they have a series.
func (t *Translator) Metrics(now time.Time) pmetric.Metrics {
	a := t.agg
	ts := pcommon.NewTimestampFromTime(now)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	t.resource.CopyTo(rm.Resource())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(t.cfg.ScopeName)
	sm.Scope().SetVersion(t.cfg.ScopeVersion)
	ms := sm.Metrics()

	counter := func(name, desc, unit string, keys []pair, labelA, labelB string, get func(pair) int64) {
		if len(keys) == 0 {
			return
		}
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetDescription(desc)
		m.SetUnit(unit)
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dps := sum.DataPoints()
		dps.EnsureCapacity(len(keys))
		for _, k := range keys {
			dp := dps.AppendEmpty()
			dp.SetStartTimestamp(a.start)
			dp.SetTimestamp(ts)
			dp.SetIntValue(get(k))
			dp.Attributes().PutStr(labelA, k.a)
			if labelB != "" {
				dp.Attributes().PutStr(labelB, k.b)
			}
		}
	}

	counter(MetricEvents, "CommBus events received, by event type and source.", "{event}",
		sortedPairs(a.events), "event_type", "source", func(k pair) int64 { return a.events[k] })
	counter(MetricInterrupts, "Jeeves interrupts by kind and status, from process state changes and interrupt events.", "{interrupt}",
		sortedPairs(a.interrupts), "kind", "status", func(k pair) int64 { return a.interrupts[k] })

	exh := make(map[pair]int64, len(a.exhaustions))
	for k, v := range a.exhaustions {
		exh[pair{k, ""}] = v
	}
	counter(MetricExhaustions, "Resource quota exhaustions by resource.", "{exhaustion}",
		sortedPairs(exh), "resource", "", func(k pair) int64 { return exh[k] })

	if len(a.durations) > 0 {
		m := ms.AppendEmpty()
		m.SetName(MetricProcessDuration)
		m.SetDescription("Duration of Jeeves processes from process.created to process.terminated or process.cancelled.")
		m.SetUnit("s")
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		outcomes := make([]string, 0, len(a.durations))
		for o := range a.durations {
			outcomes = append(outcomes, o)
		}
		sort.Strings(outcomes)
		for _, o := range outcomes {
			hist := a.durations[o]
			dp := h.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(a.start)
			dp.SetTimestamp(ts)
			dp.Attributes().PutStr("outcome", o)
			dp.SetCount(hist.count)
			dp.SetSum(hist.sum)
			dp.ExplicitBounds().FromRaw(DurationBuckets)
			dp.BucketCounts().FromRaw(hist.counts)
		}
	}

	m := ms.AppendEmpty()
	m.SetName(MetricProcessesActive)
	m.SetDescription("Jeeves processes created and not yet terminated, cancelled or expired.")
	m.SetUnit("{process}")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(ts)
	dp.SetIntValue(int64(t.procs.len()))
	return md
}
