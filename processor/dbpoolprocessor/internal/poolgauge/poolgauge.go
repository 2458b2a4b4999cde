// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

// Package poolgauge derives the Jeeves connection-pool gauges from the
// OpenTelemetry database client connection-pool metrics of one
// ResourceMetrics. It keeps no state between calls: everything it emits comes
// from the data points it is given.
package poolgauge // import "github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor/internal/poolgauge"

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Source metrics and attributes: the current database semantic conventions
// and the older names some instrumentations still send.
const (
	CountMetric = "db.client.connection.count"
	MaxMetric   = "db.client.connection.max"
	StateAttr   = "db.client.connection.state"
	PoolAttr    = "db.client.connection.pool.name"

	LegacyUsageMetric = "db.client.connections.usage"
	LegacyMaxMetric   = "db.client.connections.max"
	LegacyStateAttr   = "state"
	LegacyPoolAttr    = "pool.name"

	StateUsed = "used"
	StateIdle = "idle"
)

// Derived gauges. The prometheus exporter turns the dots into underscores and
// drops the {connection} annotation, so they are served as jeeves_db_pool_size,
// jeeves_db_pool_active_connections, jeeves_db_pool_idle_connections and
// jeeves_db_connections.
const (
	SizeMetric        = "jeeves.db.pool.size"
	ActiveMetric      = "jeeves.db.pool.active_connections"
	IdleMetric        = "jeeves.db.pool.idle_connections"
	ConnectionsMetric = "jeeves.db.connections"
	Unit              = "{connection}"

	PoolLabel  = "pool"
	StateLabel = "state"
)

// Reason says why a source data point was skipped.
type Reason int

const (
	// NoValue: the point has no value or is flagged as having no recorded value.
	NoValue Reason = iota
	// InvalidValue: NaN, infinite or negative.
	InvalidValue
	// UnknownState: a count point whose state attribute is absent or not used/idle.
	UnknownState
	// UnsupportedType: the metric is neither a gauge nor a cumulative sum.
	UnsupportedType
	numReasons
)

// Reasons lists every Reason, in order, for callers that precompute per-reason data.
var Reasons = [numReasons]Reason{NoValue, InvalidValue, UnknownState, UnsupportedType}

// String is the telemetry attribute value of r.
func (r Reason) String() string {
	switch r {
	case NoValue:
		return "no_value"
	case InvalidValue:
		return "invalid_value"
	case UnknownState:
		return "unknown_state"
	case UnsupportedType:
		return "unsupported_type"
	}
	return "unknown"
}

// Skipped counts skipped source data points by Reason.
type Skipped [numReasons]int64

// Options are fixed at construction.
type Options struct {
	// ScopeName names the ScopeMetrics the gauges are appended in.
	ScopeName string
	// ScopeVersion is its version (may be empty).
	ScopeVersion string
	// DefaultPool is the pool label of points without a pool name.
	DefaultPool string
	// DropSource removes the source metrics (both generations) after reading them.
	DropSource bool
}

type generation int

const (
	current generation = iota
	legacy
	numGenerations
)

type quantity int

const (
	used quantity = iota
	idle
	capacity
	numQuantities
)

// number is the sum of the points of one quantity; it stays an int until a
// double point joins it.
type number struct {
	seen     bool
	isDouble bool
	i        int64
	f        float64
	ts       pcommon.Timestamp
}

func (n *number) add(dp pmetric.NumberDataPoint) {
	n.seen = true
	if dp.Timestamp() > n.ts {
		n.ts = dp.Timestamp()
	}
	if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
		if !n.isDouble {
			n.isDouble = true
			n.f = float64(n.i)
		}
		n.f += dp.DoubleValue()
		return
	}
	if n.isDouble {
		n.f += float64(dp.IntValue())
		return
	}
	n.i += dp.IntValue()
}

func (n *number) set(dp pmetric.NumberDataPoint) {
	if n.isDouble {
		dp.SetDoubleValue(n.f)
		return
	}
	dp.SetIntValue(n.i)
}

type pool struct {
	name string
	q    [numGenerations][numQuantities]number
}

// Deriver turns the pool metrics of one ResourceMetrics into gauges. Its
// scratch space is reused from call to call, so one Deriver must not be used
// by two goroutines at once.
type Deriver struct {
	opts  Options
	pools []pool
}

// New returns a Deriver.
func New(opts Options) *Deriver {
	return &Deriver{opts: opts}
}

// Derive reads rm's connection-pool metrics and, when it found at least one
// pool, appends one ScopeMetrics with the gauges to rm. Per pool and per
// quantity (the counts, the maximum), the current names win over the legacy
// ones when both are present. Skipped points are added to skipped.
func (d *Deriver) Derive(rm pmetric.ResourceMetrics, skipped *Skipped) {
	d.pools = d.pools[:0]
	sms := rm.ScopeMetrics()
	found := false
	for i := 0; i < sms.Len(); i++ {
		ms := sms.At(i).Metrics()
		for j := 0; j < ms.Len(); j++ {
			if d.read(ms.At(j), skipped) {
				found = true
			}
		}
	}
	if len(d.pools) > 0 {
		d.emit(rm)
	}
	if found && d.opts.DropSource {
		dropSource(sms)
	}
}

// read adds m's points to the pools and reports whether m is a source metric.
func (d *Deriver) read(m pmetric.Metric, skipped *Skipped) bool {
	var gen generation
	var poolKey, stateKey string
	isCount := false
	switch m.Name() {
	case CountMetric:
		gen, poolKey, stateKey, isCount = current, PoolAttr, StateAttr, true
	case MaxMetric:
		gen, poolKey = current, PoolAttr
	case LegacyUsageMetric:
		gen, poolKey, stateKey, isCount = legacy, LegacyPoolAttr, LegacyStateAttr, true
	case LegacyMaxMetric:
		gen, poolKey = legacy, LegacyPoolAttr
	default:
		return false
	}

	var dps pmetric.NumberDataPointSlice
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
		// A delta UpDownCounter reports changes, not the level of the pool.
		if m.Sum().AggregationTemporality() != pmetric.AggregationTemporalityCumulative {
			skipped[UnsupportedType] += int64(dps.Len())
			return true
		}
	default:
		skipped[UnsupportedType] += int64(pointCount(m))
		return true
	}

	for k := 0; k < dps.Len(); k++ {
		dp := dps.At(k)
		if r, ok := usable(dp); !ok {
			skipped[r]++
			continue
		}
		q := capacity
		if isCount {
			state := ""
			if v, ok := dp.Attributes().Get(stateKey); ok && v.Type() == pcommon.ValueTypeStr {
				state = v.Str()
			}
			switch state {
			case StateUsed:
				q = used
			case StateIdle:
				q = idle
			default:
				skipped[UnknownState]++
				continue
			}
		}
		d.pool(poolName(dp, poolKey, d.opts.DefaultPool)).q[gen][q].add(dp)
	}
	return true
}

func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

func usable(dp pmetric.NumberDataPoint) (Reason, bool) {
	if dp.Flags().NoRecordedValue() {
		return NoValue, false
	}
	switch dp.ValueType() {
	case pmetric.NumberDataPointValueTypeInt:
		if dp.IntValue() < 0 {
			return InvalidValue, false
		}
	case pmetric.NumberDataPointValueTypeDouble:
		v := dp.DoubleValue()
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return InvalidValue, false
		}
	default:
		return NoValue, false
	}
	return 0, true
}

func poolName(dp pmetric.NumberDataPoint, key, fallback string) string {
	v, ok := dp.Attributes().Get(key)
	if !ok {
		return fallback
	}
	var name string
	if v.Type() == pcommon.ValueTypeStr {
		name = v.Str()
	} else {
		name = v.AsString()
	}
	if name == "" {
		return fallback
	}
	return name
}

// pool finds or adds the named pool. A resource reports a handful of pools,
// so a linear scan beats a map.
func (d *Deriver) pool(name string) *pool {
	for i := range d.pools {
		if d.pools[i].name == name {
			return &d.pools[i]
		}
	}
	d.pools = append(d.pools, pool{name: name})
	return &d.pools[len(d.pools)-1]
}

func (d *Deriver) emit(rm pmetric.ResourceMetrics) {
	anyCounts, anyCapacity := false, false
	for i := range d.pools {
		_, _, c := d.pools[i].counts()
		_, m := d.pools[i].capacity()
		anyCounts = anyCounts || c
		anyCapacity = anyCapacity || m
	}

	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(d.opts.ScopeName)
	sm.Scope().SetVersion(d.opts.ScopeVersion)
	ms := sm.Metrics()
	ms.EnsureCapacity(4)
	gauge := func(name, description string) pmetric.NumberDataPointSlice {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetDescription(description)
		m.SetUnit(Unit)
		dps := m.SetEmptyGauge().DataPoints()
		dps.EnsureCapacity(2 * len(d.pools))
		return dps
	}
	var size, active, idleG, conns pmetric.NumberDataPointSlice
	if anyCapacity {
		size = gauge(SizeMetric, "Maximum connections the pool may open.")
	}
	if anyCounts {
		active = gauge(ActiveMetric, "Connections in use, per pool.")
		idleG = gauge(IdleMetric, "Idle connections, per pool.")
		conns = gauge(ConnectionsMetric, "Connections per pool and state (used, idle).")
	}

	for i := range d.pools {
		p := &d.pools[i]
		if c, ok := p.capacity(); ok {
			point(size, p.name, "", c, c.ts)
		}
		if u, id, ok := p.counts(); ok {
			ts := max(u.ts, id.ts)
			point(active, p.name, "", u, ts)
			point(idleG, p.name, "", id, ts)
			point(conns, p.name, StateUsed, u, ts)
			point(conns, p.name, StateIdle, id, ts)
		}
	}
}

// counts returns the used and idle sums of the generation that reported
// counts for the pool, current first. A state with no point is zero: SDKs
// export only the attribute sets that were recorded.
func (p *pool) counts() (u, id number, ok bool) {
	for g := current; g < numGenerations; g++ {
		if p.q[g][used].seen || p.q[g][idle].seen {
			return p.q[g][used], p.q[g][idle], true
		}
	}
	return number{}, number{}, false
}

func (p *pool) capacity() (number, bool) {
	for g := current; g < numGenerations; g++ {
		if p.q[g][capacity].seen {
			return p.q[g][capacity], true
		}
	}
	return number{}, false
}

func point(dps pmetric.NumberDataPointSlice, poolName, state string, n number, ts pcommon.Timestamp) {
	dp := dps.AppendEmpty()
	dp.Attributes().EnsureCapacity(2)
	dp.Attributes().PutStr(PoolLabel, poolName)
	if state != "" {
		dp.Attributes().PutStr(StateLabel, state)
	}
	dp.SetTimestamp(ts)
	n.set(dp)
}

// dropSource removes the source metrics, and the scopes they leave empty.
func dropSource(sms pmetric.ScopeMetricsSlice) {
	sms.RemoveIf(func(sm pmetric.ScopeMetrics) bool {
		ms := sm.Metrics()
		before := ms.Len()
		ms.RemoveIf(func(m pmetric.Metric) bool { return isSource(m.Name()) })
		return before > 0 && ms.Len() == 0
	})
}

func isSource(name string) bool {
	switch name {
	case CountMetric, MaxMetric, LegacyUsageMetric, LegacyMaxMetric:
		return true
	}
	return false
}
