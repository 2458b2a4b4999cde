// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

// Package aggregate keeps bounded tables of metric series (counters and
// explicit-bucket histograms with exemplar reservoirs) in plain Go, and turns
// them into cumulative pmetric data only when flushed.
package aggregate // import "github.com/jeeves/otelcol-jeeves/internal/aggregate"

import (
	"encoding/binary"
	"hash/maphash"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/jeeves/otelcol-jeeves/internal/hashindex"
)

// overflowLabel is the only label of the series that collects observations
// beyond the series limit (the name the OpenTelemetry SDKs use).
const overflowLabel = "otel.metric.overflow"

// Spec describes one table: the label names of its series and the metrics it
// emits from them (a counter, a histogram, or both from the same series).
type Spec struct {
	// Labels are the label names, in the order values are added to a Key.
	Labels []string
	// SumName, when set, emits a monotonic cumulative int sum of Add values
	// (and of histogram observations, one each, when the table also has a histogram).
	SumName        string
	SumUnit        string
	SumDescription string
	// FloatSum emits the sum as a double of AddFloat values instead of an int
	// of Add values (money, not counts). Only for tables without a histogram.
	FloatSum bool
	// HistName, when set, emits an explicit-bucket histogram of Observe values.
	HistName        string
	HistUnit        string
	HistDescription string
	// Bounds are the histogram's explicit bucket bounds, ascending: the only
	// place they are given; every series observes against them.
	Bounds []float64
	// Limit is the number of distinct series kept; more fold into the overflow series.
	Limit int
	// Expiration drops series not updated for this long; 0 keeps them forever.
	Expiration time.Duration
	// MaxExemplars per histogram data point; 0 disables exemplars.
	MaxExemplars int
}

// Exemplar is one traced observation attached to a histogram data point.
type Exemplar struct {
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID
	Time    pcommon.Timestamp
	Value   float64
	held    uint8 // flushes spent undecided
}

// KeepExemplarFunc tells, at flush time, whether an exemplar of the given
// trace may be emitted. decided=false holds the exemplar for a later flush
// (in its reservoir slot, for at most maxHeldFlushes flushes); decided with
// keep=false discards it.
type KeepExemplarFunc func(traceID pcommon.TraceID) (keep, decided bool)

// Series is one label combination of a table.
type Series struct {
	overflow bool
	hash     uint64
	key      string
	labels   []string
	start    pcommon.Timestamp
	last     pcommon.Timestamp
	sum      int64
	count    uint64
	total    float64
	bounds   []float64 // the table's Spec.Bounds
	buckets  []uint64
	ex       reservoir
}

// Add adds v to the series counter.
func (s *Series) Add(v int64) { s.sum += v }

// AddFloat adds v to the float counter of a FloatSum table (it shares the
// field that holds a histogram's sum: a FloatSum table has no histogram).
func (s *Series) AddFloat(v float64) { s.total += v }

// Observe records one histogram observation (and counts it in the sum).
func (s *Series) Observe(v float64) {
	bounds := s.bounds
	s.sum++
	s.count++
	s.total += v
	// First bound >= v (bucket i holds (bounds[i-1], bounds[i]]); binary
	// search, as SPM has 16 bounds.
	i, j := 0, len(bounds)
	for i < j {
		h := int(uint(i+j) >> 1)
		if v > bounds[h] {
			i = h + 1
		} else {
			j = h
		}
	}
	s.buckets[i]++
}

// WantsExemplar reports whether the reservoir has room for one more exemplar
// in this flush interval (check it before reading a span's ids).
func (s *Series) WantsExemplar() bool { return s.ex.room() }

// AddExemplar offers an exemplar to the series reservoir.
func (s *Series) AddExemplar(e Exemplar) { s.ex.add(e) }

// Table holds the series of one Spec, bounded by Spec.Limit.
type Table struct {
	spec     Spec
	seed     maphash.Seed
	index    hashindex.Index // key hash → position in series
	series   []Series
	overflow Series
	hasOver  bool
	scratch  []Exemplar

	// overflowed and expired count since the last TakeCounts.
	overflowed int64
	expired    int64
}

// NewTable creates an empty table.
func NewTable(spec Spec) *Table {
	return &Table{spec: spec, seed: maphash.MakeSeed(), index: hashindex.New(spec.Limit)}
}

// Len returns the series held, the overflow series included.
func (t *Table) Len() int {
	n := len(t.series)
	if t.hasOver {
		n++
	}
	return n
}

// TakeCounts returns and resets the observations folded into the overflow
// series and the series expired since the last call.
func (t *Table) TakeCounts() (overflowed, expired int64) {
	overflowed, expired = t.overflowed, t.expired
	t.overflowed, t.expired = 0, 0
	return overflowed, expired
}

// Series references: a Ref is a position in the table (>= 0) or one of these.
// RefUnresolved and RefNone are never passed to At; they let a caller that
// caches references (the jeeves connector's span cache) say "not looked up
// yet" and "this span feeds no series here" in the same int.
const (
	// RefOverflow is the Ref of the overflow series.
	RefOverflow = -1
	// RefUnresolved marks a cached reference not looked up yet.
	RefUnresolved = -2
	// RefNone marks a cached reference to no series.
	RefNone = -3
)

// Get returns the series for key, creating it when the limit allows, else the
// overflow series. The pointer is valid until the next Get or Expire.
func (t *Table) Get(key []byte, now pcommon.Timestamp) *Series {
	return t.At(t.Ref(key, now), now)
}

// Ref returns a reference to the series for key (creating it when the limit
// allows, else RefOverflow). A reference stays valid until the next Expire.
func (t *Table) Ref(key []byte, now pcommon.Timestamp) int {
	h := maphash.Bytes(t.seed, key)
	p := t.index.Probe(h)
	for i := p.Next(); i >= 0; i = p.Next() {
		if t.series[i].key == string(key) {
			return i
		}
	}
	if !t.index.Insert(h, len(t.series)) {
		return RefOverflow
	}
	k := string(key)
	s := t.newSeries(k, decodeKey(k, len(t.spec.Labels)), now)
	s.hash = h
	t.series = append(t.series, s)
	return len(t.series) - 1
}

// At returns the series of ref, marked as updated now. Each use of the
// overflow series counts as one folded observation.
func (t *Table) At(ref int, now pcommon.Timestamp) *Series {
	if ref >= 0 {
		s := &t.series[ref]
		s.last = now
		return s
	}
	t.overflowed++
	if !t.hasOver {
		t.hasOver = true
		t.overflow = t.newSeries("", nil, now)
		t.overflow.overflow = true
	}
	t.overflow.last = now
	return &t.overflow
}

func (t *Table) newSeries(key string, labels []string, now pcommon.Timestamp) Series {
	s := Series{key: key, labels: labels, start: now, last: now}
	if t.spec.HistName != "" {
		s.bounds = t.spec.Bounds
		s.buckets = make([]uint64, len(t.spec.Bounds)+1)
		if t.spec.MaxExemplars > 0 {
			s.ex.items = make([]Exemplar, t.spec.MaxExemplars)
			s.ex.last = make([]Exemplar, 0, t.spec.MaxExemplars)
		}
	}
	return s
}

// Expire removes the series not updated for Spec.Expiration before now. It
// reports whether series moved, which invalidates every Ref.
func (t *Table) Expire(now pcommon.Timestamp) bool {
	if t.spec.Expiration <= 0 {
		return false
	}
	cutoff := now - pcommon.Timestamp(t.spec.Expiration.Nanoseconds())
	if now < pcommon.Timestamp(t.spec.Expiration.Nanoseconds()) {
		return false
	}
	removed := false
	for i := len(t.series) - 1; i >= 0; i-- {
		if t.series[i].last >= cutoff {
			continue
		}
		last := len(t.series) - 1
		if i != last {
			t.series[i] = t.series[last]
		}
		t.series[last] = Series{}
		t.series = t.series[:last]
		t.expired++
		removed = true
	}
	if removed {
		t.index.Reset()
		for i := range t.series {
			t.index.Insert(t.series[i].hash, i)
		}
	}
	if t.hasOver && t.overflow.last < cutoff {
		t.hasOver = false
		t.overflow = Series{}
		t.expired++
	}
	return removed
}

// AppendTo appends the table's metrics, one data point per series, with
// cumulative temporality, start time = when the series was first seen and
// timestamp now. keep filters exemplars (nil keeps all).
func (t *Table) AppendTo(ms pmetric.MetricSlice, now pcommon.Timestamp, keep KeepExemplarFunc) {
	if t.Len() == 0 {
		return
	}
	if t.spec.SumName != "" {
		m := ms.AppendEmpty()
		m.SetName(t.spec.SumName)
		m.SetUnit(t.spec.SumUnit)
		m.SetDescription(t.spec.SumDescription)
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dps := sum.DataPoints()
		dps.EnsureCapacity(t.Len())
		for i := range t.series {
			t.appendSum(dps, &t.series[i], now)
		}
		if t.hasOver {
			t.appendSum(dps, &t.overflow, now)
		}
	}
	if t.spec.HistName != "" {
		m := ms.AppendEmpty()
		m.SetName(t.spec.HistName)
		m.SetUnit(t.spec.HistUnit)
		m.SetDescription(t.spec.HistDescription)
		h := m.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dps := h.DataPoints()
		dps.EnsureCapacity(t.Len())
		for i := range t.series {
			t.appendHist(dps, &t.series[i], now, keep)
		}
		if t.hasOver {
			t.appendHist(dps, &t.overflow, now, keep)
		}
	}
}

func (t *Table) putLabels(attrs pcommon.Map, s *Series) {
	if s.overflow {
		attrs.PutStr(overflowLabel, "true")
		return
	}
	attrs.EnsureCapacity(len(s.labels))
	for i, v := range s.labels {
		attrs.PutStr(t.spec.Labels[i], v)
	}
}

func (t *Table) appendSum(dps pmetric.NumberDataPointSlice, s *Series, now pcommon.Timestamp) {
	dp := dps.AppendEmpty()
	t.putLabels(dp.Attributes(), s)
	dp.SetStartTimestamp(s.start)
	dp.SetTimestamp(now)
	if t.spec.FloatSum {
		dp.SetDoubleValue(s.total)
		return
	}
	dp.SetIntValue(s.sum)
}

func (t *Table) appendHist(dps pmetric.HistogramDataPointSlice, s *Series, now pcommon.Timestamp, keep KeepExemplarFunc) {
	dp := dps.AppendEmpty()
	t.putLabels(dp.Attributes(), s)
	dp.SetStartTimestamp(s.start)
	dp.SetTimestamp(now)
	dp.SetCount(s.count)
	dp.SetSum(s.total)
	dp.ExplicitBounds().FromRaw(t.spec.Bounds)
	dp.BucketCounts().FromRaw(s.buckets)
	t.scratch = s.ex.drain(t.scratch[:0], keep)
	if len(t.scratch) == 0 {
		return
	}
	exs := dp.Exemplars()
	exs.EnsureCapacity(len(t.scratch))
	for i := range t.scratch {
		e := &t.scratch[i]
		pe := exs.AppendEmpty()
		pe.SetTraceID(e.TraceID)
		pe.SetSpanID(e.SpanID)
		pe.SetTimestamp(e.Time)
		pe.SetDoubleValue(e.Value)
	}
}

// Key builds a collision-free series key: each label value is prefixed with
// its length, so no choice of values can produce the key of another series.
type Key struct{ buf []byte }

// Reset empties the key.
func (k *Key) Reset() { k.buf = k.buf[:0] }

// AddString appends one label value.
func (k *Key) AddString(v string) {
	k.buf = binary.AppendUvarint(k.buf, uint64(len(v)))
	k.buf = append(k.buf, v...)
}

// Bytes returns the key; valid until the next change.
func (k *Key) Bytes() []byte { return k.buf }

// decodeKey splits a key into its label values; the values share the key's memory.
func decodeKey(key string, n int) []string {
	labels := make([]string, 0, n)
	for len(key) > 0 && len(labels) < n {
		l, w := binary.Uvarint([]byte(key[:min(len(key), binary.MaxVarintLen64)]))
		if w <= 0 || uint64(len(key)-w) < l {
			break
		}
		labels = append(labels, key[w:w+int(l)])
		key = key[w+int(l):]
	}
	for len(labels) < n {
		labels = append(labels, "")
	}
	return labels
}
