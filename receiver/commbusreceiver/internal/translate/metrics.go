package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/jeeves/otelcol-jeeves/internal/aggregate"
)

// Metric names (see docs/commbus-protocol.md#metrics-from-the-bus).
const (
	metricEvents          = "jeeves_commbus_events_total"
	metricInterrupts      = "jeeves_interrupts_total"
	metricProcessDuration = "jeeves_process_duration_seconds"
	metricProcessesActive = "jeeves_processes_active"
	metricExhaustions     = "jeeves_resource_exhaustions_total"
)

// durationBuckets are the explicit bounds (seconds) of
// jeeves_process_duration_seconds. A process spans a whole run including the
// time it waits on interrupts, so the bounds reach from sub-second runs to an
// hour-long wait for a user.
var durationBuckets = []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// defaultSeriesLimit is the series limit per family when Config.SeriesLimit is unset.
const defaultSeriesLimit = 5000

// metricSpecs describe the aggregated families in the order they are
// emitted; labels, names, units, descriptions and bounds are given only here.
func metricSpecs(limit int, expiration time.Duration) [numFamilies]aggregate.Spec {
	specs := [numFamilies]aggregate.Spec{
		familyEvents: {
			Labels:         []string{"event_type", "source"},
			SumName:        metricEvents,
			SumUnit:        "{event}",
			SumDescription: "CommBus events received, by event type and source.",
		},
		familyInterrupts: {
			Labels:         []string{"kind", "status"},
			SumName:        metricInterrupts,
			SumUnit:        "{interrupt}",
			SumDescription: "Jeeves interrupts by kind and status, from process state changes and interrupt events.",
		},
		familyExhaustions: {
			Labels:         []string{"resource"},
			SumName:        metricExhaustions,
			SumUnit:        "{exhaustion}",
			SumDescription: "Resource quota exhaustions by resource.",
		},
		familyDurations: {
			Labels:          []string{"outcome"},
			HistName:        metricProcessDuration,
			HistUnit:        "s",
			HistDescription: "Duration of Jeeves processes from process.created to process.terminated or process.cancelled.",
			Bounds:          durationBuckets,
		},
	}
	for i := range specs {
		specs[i].Limit, specs[i].Expiration = limit, expiration
	}
	return specs
}

// Metric families, indexes of metricTables.tables in emission order.
const (
	familyEvents = iota
	familyInterrupts
	familyExhaustions
	familyDurations
	numFamilies
)

// familyMetrics are the metric names of the families, for Overflow.
var familyMetrics = [numFamilies]string{metricEvents, metricInterrupts, metricExhaustions, metricProcessDuration}

// metricTables aggregates the metric families in plain Go, one bounded
// series table each; pdata is built only at flush. A nil *metricTables
// (metrics off) counts nothing.
type metricTables struct {
	tables [numFamilies]*aggregate.Table
	key    aggregate.Key
}

func newMetricTables(limit int, expiration time.Duration) *metricTables {
	m := &metricTables{}
	for i, spec := range metricSpecs(limit, expiration) {
		m.tables[i] = aggregate.NewTable(spec)
	}
	return m
}

// series returns the series of family f for the label values, creating it
// when the family's limit allows, else the family's overflow series.
func (m *metricTables) series(f int, now pcommon.Timestamp, values ...string) *aggregate.Series {
	m.key.Reset()
	for _, v := range values {
		m.key.AddString(v)
	}
	return m.tables[f].Get(m.key.Bytes(), now)
}

func (m *metricTables) countEvent(eventType, source string, now pcommon.Timestamp) {
	if m != nil {
		m.series(familyEvents, now, eventType, source).Add(1)
	}
}

func (m *metricTables) countInterrupt(kind, status string, now pcommon.Timestamp) {
	if m != nil {
		m.series(familyInterrupts, now, kind, status).Add(1)
	}
}

func (m *metricTables) countExhaustion(resource string, now pcommon.Timestamp) {
	if m != nil {
		m.series(familyExhaustions, now, resource).Add(1)
	}
}

func (m *metricTables) observeDuration(outcome string, seconds float64, now pcommon.Timestamp) {
	if m != nil {
		m.series(familyDurations, now, outcome).Observe(seconds)
	}
}

// Overflow is how many observations one metric family folded into its
// otel.metric.overflow series, because it held its series limit, since the
// previous flush.
type Overflow struct {
	Metric string // the family's metric name
	Count  int64
}

// appendTo expires the series not updated within the expiration, appends
// every family with a series to ms and returns the overflow counts since the
// previous call (families without overflow are left out).
func (m *metricTables) appendTo(ms pmetric.MetricSlice, now pcommon.Timestamp) []Overflow {
	var overflows []Overflow
	for f, t := range m.tables {
		t.Expire(now)
		t.AppendTo(ms, now, nil)
		if n, _ := t.TakeCounts(); n > 0 {
			overflows = append(overflows, Overflow{Metric: familyMetrics[f], Count: n})
		}
	}
	return overflows
}

// appendActiveProcesses appends the gauge of the open-process table.
func appendActiveProcesses(ms pmetric.MetricSlice, now pcommon.Timestamp, open int) {
	m := ms.AppendEmpty()
	m.SetName(metricProcessesActive)
	m.SetDescription("Jeeves processes created and not yet terminated, cancelled or expired.")
	m.SetUnit("{process}")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(now)
	dp.SetIntValue(int64(open))
}

// Metrics builds the cumulative state as pdata, each series with the time it
// was first seen as its start time and now as its timestamp, after expiring
// the series not updated within Config.SeriesExpiration. The active-process
// gauge is always present; other metrics appear once they have a series.
// It also returns the observations each family folded into its overflow
// series since the previous call.
func (t *Translator) Metrics(now time.Time) (pmetric.Metrics, []Overflow) {
	ts := pcommon.NewTimestampFromTime(now)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	t.resource.CopyTo(rm.Resource())
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(t.cfg.ScopeName)
	sm.Scope().SetVersion(t.cfg.ScopeVersion)
	var overflows []Overflow
	if t.metrics != nil {
		overflows = t.metrics.appendTo(sm.Metrics(), ts)
	}
	appendActiveProcesses(sm.Metrics(), ts, t.procs.len())
	return md, overflows
}
