// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package poolgauge

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

const scope = "test/scope"

// kind is how a source metric is encoded.
type kind int

const (
	sumCumulative kind = iota
	sumDelta
	gauge
	histogram
)

// pt is one source data point. Attribute keys are given in full so a test
// says which generation's names it uses; "" values are written as empty.
type pt struct {
	attrs map[string]string
	i     int64
	f     float64
	dbl   bool
	ts    int64
	noRec bool
}

type src struct {
	name   string
	kind   kind
	points []pt
}

func cur(pool, state string, v int64) pt {
	return pt{attrs: map[string]string{PoolAttr: pool, StateAttr: state}, i: v, ts: 100}
}

func curMax(pool string, v int64) pt {
	return pt{attrs: map[string]string{PoolAttr: pool}, i: v, ts: 100}
}

func leg(pool, state string, v int64) pt {
	return pt{attrs: map[string]string{LegacyPoolAttr: pool, LegacyStateAttr: state}, i: v, ts: 100}
}

func legMax(pool string, v int64) pt {
	return pt{attrs: map[string]string{LegacyPoolAttr: pool}, i: v, ts: 100}
}

func build(srcs ...src) pmetric.ResourceMetrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "jeeves-gateway")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	for _, s := range srcs {
		m := ms.AppendEmpty()
		m.SetName(s.name)
		var dps pmetric.NumberDataPointSlice
		switch s.kind {
		case sumCumulative, sumDelta:
			sum := m.SetEmptySum()
			sum.SetIsMonotonic(false)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			if s.kind == sumDelta {
				sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
			}
			dps = sum.DataPoints()
		case gauge:
			dps = m.SetEmptyGauge().DataPoints()
		case histogram:
			h := m.SetEmptyHistogram()
			for range s.points {
				h.DataPoints().AppendEmpty().SetCount(1)
			}
			continue
		}
		for _, p := range s.points {
			dp := dps.AppendEmpty()
			for k, v := range p.attrs {
				dp.Attributes().PutStr(k, v)
			}
			if p.dbl {
				dp.SetDoubleValue(p.f)
			} else {
				dp.SetIntValue(p.i)
			}
			dp.SetTimestamp(pcommon.Timestamp(p.ts))
			dp.SetStartTimestamp(1)
			if p.noRec {
				dp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
			}
		}
	}
	return rm
}

func protoBytes(t *testing.T, md pmetric.Metrics) []byte {
	t.Helper()
	b, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	return b
}

// derived renders the ScopeMetrics appended by the Deriver as sorted lines
// `name{labels} value @ts`, and fails when more than one was appended.
func derived(t *testing.T, rm pmetric.ResourceMetrics, inputScopes int) []string {
	t.Helper()
	sms := rm.ScopeMetrics()
	require.LessOrEqual(t, sms.Len(), inputScopes+1)
	if sms.Len() == inputScopes {
		return nil
	}
	sm := sms.At(sms.Len() - 1)
	assert.Equal(t, scope, sm.Scope().Name())
	assert.Equal(t, "1.2.3", sm.Scope().Version())
	var lines []string
	for i := 0; i < sm.Metrics().Len(); i++ {
		m := sm.Metrics().At(i)
		require.Equal(t, pmetric.MetricTypeGauge, m.Type(), m.Name())
		assert.Equal(t, Unit, m.Unit())
		assert.NotEmpty(t, m.Description())
		require.Positive(t, m.Gauge().DataPoints().Len(), "metric %s without points", m.Name())
		for j := 0; j < m.Gauge().DataPoints().Len(); j++ {
			dp := m.Gauge().DataPoints().At(j)
			var labels []string
			dp.Attributes().Range(func(k string, v pcommon.Value) bool {
				labels = append(labels, k+"="+v.AsString())
				return true
			})
			sort.Strings(labels)
			v := fmt.Sprint(dp.IntValue())
			if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
				v = fmt.Sprintf("%gd", dp.DoubleValue())
			}
			assert.Zero(t, dp.StartTimestamp())
			lines = append(lines, fmt.Sprintf("%s{%s} %s @%d", m.Name(), strings.Join(labels, ","), v, dp.Timestamp()))
		}
	}
	sort.Strings(lines)
	return lines
}

// full returns the five lines of one pool with counts and a maximum.
func full(pool string, size, usedN, idleN int64) []string {
	return []string{
		fmt.Sprintf("jeeves.db.connections{pool=%s,state=idle} %d @100", pool, idleN),
		fmt.Sprintf("jeeves.db.connections{pool=%s,state=used} %d @100", pool, usedN),
		fmt.Sprintf("jeeves.db.pool.active_connections{pool=%s} %d @100", pool, usedN),
		fmt.Sprintf("jeeves.db.pool.idle_connections{pool=%s} %d @100", pool, idleN),
		fmt.Sprintf("jeeves.db.pool.size{pool=%s} %d @100", pool, size),
	}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	sort.Strings(out)
	return out
}

func TestDerive(t *testing.T) {
	tests := []struct {
		name    string
		in      []src
		want    []string
		skipped Skipped
	}{
		{
			name: "current names as cumulative sums",
			in: []src{
				{name: CountMetric, points: []pt{cur("orders", "used", 3), cur("orders", "idle", 7)}},
				{name: MaxMetric, points: []pt{curMax("orders", 10)}},
			},
			want: full("orders", 10, 3, 7),
		},
		{
			name: "current names as gauges",
			in: []src{
				{name: CountMetric, kind: gauge, points: []pt{cur("orders", "used", 4), cur("orders", "idle", 1)}},
				{name: MaxMetric, kind: gauge, points: []pt{curMax("orders", 5)}},
			},
			want: full("orders", 5, 4, 1),
		},
		{
			name: "legacy names",
			in: []src{
				{name: LegacyUsageMetric, points: []pt{leg("orders", "used", 2), leg("orders", "idle", 8)}},
				{name: LegacyMaxMetric, kind: gauge, points: []pt{legMax("orders", 10)}},
			},
			want: full("orders", 10, 2, 8),
		},
		{
			name: "missing or empty pool name is the default pool",
			in: []src{
				{name: CountMetric, points: []pt{
					{attrs: map[string]string{StateAttr: "used"}, i: 1, ts: 100},
					{attrs: map[string]string{StateAttr: "idle", PoolAttr: ""}, i: 2, ts: 100},
				}},
				{name: MaxMetric, points: []pt{{i: 3, ts: 100}}},
			},
			want: full("dflt", 3, 1, 2),
		},
		{
			name: "a saturated pool beside an idle one keeps its own series",
			in: []src{
				{name: CountMetric, points: []pt{
					cur("orders", "used", 9), cur("orders", "idle", 1),
					cur("reports", "used", 0), cur("reports", "idle", 10),
				}},
				{name: MaxMetric, points: []pt{curMax("orders", 10), curMax("reports", 10)}},
			},
			want: concat(full("orders", 10, 9, 1), full("reports", 10, 0, 10)),
		},
		{
			name: "current names win per pool and per quantity when both generations arrive",
			in: []src{
				{name: LegacyUsageMetric, points: []pt{leg("orders", "used", 50), leg("orders", "idle", 50), leg("legacyonly", "used", 1)}},
				{name: LegacyMaxMetric, points: []pt{legMax("orders", 100), legMax("legacyonly", 4)}},
				{name: CountMetric, points: []pt{cur("orders", "used", 3), cur("orders", "idle", 7)}},
				{name: MaxMetric, points: []pt{curMax("orders", 10)}},
			},
			// legacyonly reported no idle point: zero idle.
			want: concat(full("orders", 10, 3, 7), full("legacyonly", 4, 1, 0)),
		},
		{
			name: "the legacy maximum fills in when only the current counts arrive",
			in: []src{
				{name: CountMetric, points: []pt{cur("orders", "used", 3), cur("orders", "idle", 7)}},
				{name: LegacyMaxMetric, points: []pt{legMax("orders", 12)}},
			},
			want: full("orders", 12, 3, 7),
		},
		{
			name: "points of one pool and state with other attributes are summed",
			in: []src{
				{name: CountMetric, points: []pt{
					{attrs: map[string]string{PoolAttr: "orders", StateAttr: "used", "db.system.name": "postgresql", "server.address": "a"}, i: 2, ts: 90},
					{attrs: map[string]string{PoolAttr: "orders", StateAttr: "used", "db.system.name": "postgresql", "server.address": "b"}, i: 3, ts: 100},
					{attrs: map[string]string{PoolAttr: "orders", StateAttr: "idle", "server.address": "a"}, i: 4, ts: 80},
				}},
				{name: MaxMetric, points: []pt{curMax("orders", 20)}},
			},
			// The timestamp is the newest of the points summed.
			want: full("orders", 20, 5, 4),
		},
		{
			name: "double values stay doubles, int and double points sum",
			in: []src{
				{name: CountMetric, points: []pt{
					cur("orders", "used", 1),
					{attrs: map[string]string{PoolAttr: "orders", StateAttr: "used"}, f: 1.5, dbl: true, ts: 100},
				}},
				{name: MaxMetric, kind: gauge, points: []pt{{attrs: map[string]string{PoolAttr: "orders"}, f: 8, dbl: true, ts: 100}}},
			},
			want: []string{
				"jeeves.db.connections{pool=orders,state=idle} 0 @100",
				"jeeves.db.connections{pool=orders,state=used} 2.5d @100",
				"jeeves.db.pool.active_connections{pool=orders} 2.5d @100",
				"jeeves.db.pool.idle_connections{pool=orders} 0 @100",
				"jeeves.db.pool.size{pool=orders} 8d @100",
			},
		},
		{
			name: "a pool without a maximum has counts but no size",
			in: []src{
				{name: CountMetric, points: []pt{cur("orders", "used", 3), cur("orders", "idle", 7)}},
			},
			want: full("orders", 0, 3, 7)[:4],
		},
		{
			name: "a pool with only a maximum has a size only",
			in: []src{
				{name: MaxMetric, points: []pt{curMax("orders", 10)}},
			},
			want: full("orders", 10, 0, 0)[4:],
		},
		{
			name: "bad points are skipped and counted, good ones still count",
			in: []src{
				{name: CountMetric, points: []pt{
					cur("orders", "used", 3),
					cur("orders", "used", -1),
					{attrs: map[string]string{PoolAttr: "orders", StateAttr: "used"}, f: math.NaN(), dbl: true, ts: 100},
					{attrs: map[string]string{PoolAttr: "orders", StateAttr: "used"}, f: math.Inf(1), dbl: true, ts: 100},
					{attrs: map[string]string{PoolAttr: "orders", StateAttr: "used"}, i: 40, ts: 100, noRec: true},
					cur("orders", "pending", 2),
					{attrs: map[string]string{PoolAttr: "orders"}, i: 5, ts: 100},
					// A legacy state key on a current metric is no state at all.
					{attrs: map[string]string{PoolAttr: "orders", LegacyStateAttr: "used"}, i: 5, ts: 100},
				}},
				{name: MaxMetric, kind: sumDelta, points: []pt{curMax("orders", 10), curMax("orders", 10)}},
				{name: LegacyMaxMetric, kind: histogram, points: []pt{legMax("orders", 10)}},
			},
			want:    full("orders", 0, 3, 0)[:4],
			skipped: Skipped{NoValue: 1, InvalidValue: 3, UnknownState: 3, UnsupportedType: 3},
		},
		{
			name: "nothing usable appends nothing",
			in: []src{
				{name: CountMetric, points: []pt{cur("orders", "closed", 3)}},
				{name: "db.client.connection.idle.max", points: []pt{curMax("orders", 10)}},
				{name: "http.server.request.duration", points: []pt{curMax("orders", 10)}},
			},
			skipped: Skipped{UnknownState: 1},
		},
		{
			name: "no source metric appends nothing",
			in:   []src{{name: "db.client.operation.duration", kind: gauge, points: []pt{curMax("orders", 10)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rm := build(tt.in...)
			before := pmetric.NewMetrics()
			rm.CopyTo(before.ResourceMetrics().AppendEmpty())

			var skipped Skipped
			New(Options{ScopeName: scope, ScopeVersion: "1.2.3", DefaultPool: "dflt"}).Derive(rm, &skipped)

			assert.Equal(t, tt.want, derived(t, rm, 1))
			assert.Equal(t, tt.skipped, skipped)
			// The source scope and the resource are untouched (compared as bytes: NaN != NaN).
			after := pmetric.NewMetrics()
			rm.CopyTo(after.ResourceMetrics().AppendEmpty())
			after.ResourceMetrics().At(0).ScopeMetrics().RemoveIf(func(sm pmetric.ScopeMetrics) bool { return sm.Scope().Name() == scope })
			assert.Equal(t, protoBytes(t, before), protoBytes(t, after))
		})
	}
}

func TestTimestampIsNewestSourcePoint(t *testing.T) {
	rm := build(
		src{name: CountMetric, points: []pt{
			{attrs: map[string]string{PoolAttr: "p", StateAttr: "used"}, i: 1, ts: 300},
			{attrs: map[string]string{PoolAttr: "p", StateAttr: "idle"}, i: 1, ts: 200},
		}},
		src{name: MaxMetric, points: []pt{{attrs: map[string]string{PoolAttr: "p"}, i: 2, ts: 150}}},
	)
	var skipped Skipped
	New(Options{ScopeName: scope, ScopeVersion: "1.2.3", DefaultPool: "default"}).Derive(rm, &skipped)
	assert.Equal(t, []string{
		"jeeves.db.connections{pool=p,state=idle} 1 @300",
		"jeeves.db.connections{pool=p,state=used} 1 @300",
		"jeeves.db.pool.active_connections{pool=p} 1 @300",
		"jeeves.db.pool.idle_connections{pool=p} 1 @300",
		"jeeves.db.pool.size{pool=p} 2 @150",
	}, derived(t, rm, 1))
}

func TestDropSource(t *testing.T) {
	rm := build(
		src{name: CountMetric, points: []pt{cur("orders", "used", 3), cur("orders", "idle", 7)}},
		src{name: LegacyMaxMetric, points: []pt{legMax("orders", 10)}},
	)
	// A second scope keeps another metric beside a source one.
	other := rm.ScopeMetrics().AppendEmpty()
	other.Scope().SetName("other")
	m := other.Metrics().AppendEmpty()
	m.SetName("db.client.connection.idle.max")
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(4)
	// The current maximum in another scope still wins over the legacy one.
	m = other.Metrics().AppendEmpty()
	m.SetName(MaxMetric)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(12)
	dp.SetTimestamp(100)
	dp.Attributes().PutStr(PoolAttr, "orders")
	// An empty scope that was empty before stays.
	rm.ScopeMetrics().AppendEmpty().Scope().SetName("empty")

	var skipped Skipped
	New(Options{ScopeName: scope, ScopeVersion: "1.2.3", DefaultPool: "default", DropSource: true}).Derive(rm, &skipped)

	var scopes []string
	for i := 0; i < rm.ScopeMetrics().Len(); i++ {
		sm := rm.ScopeMetrics().At(i)
		var names []string
		for j := 0; j < sm.Metrics().Len(); j++ {
			names = append(names, sm.Metrics().At(j).Name())
		}
		scopes = append(scopes, sm.Scope().Name()+": "+strings.Join(names, ","))
	}
	assert.Equal(t, []string{
		"other: db.client.connection.idle.max",
		"empty: ",
		scope + ": jeeves.db.pool.size,jeeves.db.pool.active_connections,jeeves.db.pool.idle_connections,jeeves.db.connections",
	}, scopes)
	assert.Equal(t, full("orders", 12, 3, 7), derived(t, rm, 2))
}

func TestDeriverIsReusable(t *testing.T) {
	d := New(Options{ScopeName: scope, ScopeVersion: "1.2.3", DefaultPool: "default"})
	var skipped Skipped
	first := build(src{name: CountMetric, points: []pt{cur("a", "used", 1)}})
	d.Derive(first, &skipped)
	second := build(src{name: CountMetric, points: []pt{cur("b", "idle", 2)}})
	d.Derive(second, &skipped)
	// Nothing of the first batch leaks into the second.
	assert.Equal(t, []string{
		"jeeves.db.connections{pool=b,state=idle} 2 @100",
		"jeeves.db.connections{pool=b,state=used} 0 @100",
		"jeeves.db.pool.active_connections{pool=b} 0 @100",
		"jeeves.db.pool.idle_connections{pool=b} 2 @100",
	}, derived(t, second, 1))
}

func TestReasonNames(t *testing.T) {
	var names []string
	for _, r := range Reasons {
		names = append(names, r.String())
	}
	// The enum of the reason attribute in metadata.yaml.
	assert.Equal(t, []string{"no_value", "invalid_value", "unknown_state", "unsupported_type"}, names)
}
