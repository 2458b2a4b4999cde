// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/metadata"
)

var idCounter atomic.Int64

// harness is one receiver created through the factory for all three
// signals, with sinks, component telemetry and an observed logger.
type harness struct {
	t       *testing.T
	shared  *sharedReceiver
	logs    *consumertest.LogsSink
	traces  *consumertest.TracesSink
	metrics *consumertest.MetricsSink
	tel     *componenttest.Telemetry
	logged  *observer.ObservedLogs
}

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		logs:    new(consumertest.LogsSink),
		traces:  new(consumertest.TracesSink),
		metrics: new(consumertest.MetricsSink),
		tel:     componenttest.NewTelemetry(),
	}
	core, logged := observer.New(zapcore.DebugLevel)
	h.logged = logged
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, fmt.Sprintf("t%d", idCounter.Add(1)))
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	set.Logger = zap.New(core)
	f := NewFactory()
	ctx := context.Background()
	lr, err := f.CreateLogs(ctx, set, cfg, h.logs)
	require.NoError(t, err)
	tr, err := f.CreateTraces(ctx, set, cfg, h.traces)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(ctx, set, cfg, h.metrics)
	require.NoError(t, err)
	require.Same(t, lr, tr)
	require.Same(t, lr, mr)
	h.shared = lr.(*sharedReceiver)
	t.Cleanup(func() {
		require.NoError(t, h.shared.Shutdown(context.Background()))
		require.NoError(t, h.tel.Shutdown(context.Background()))
	})
	return h
}

func (h *harness) start() {
	h.t.Helper()
	require.NoError(h.t, h.shared.Start(context.Background(), componenttest.NewNopHost()))
}

func (h *harness) shutdown() {
	h.t.Helper()
	require.NoError(h.t, h.shared.Shutdown(context.Background()))
}

func (h *harness) listenAddr() string { return h.shared.rcv.srv.addr().String() }

// counter sums an int counter of component telemetry over the data points
// whose attributes include every key=value given.
func (h *harness) counter(name string, kv ...string) int64 {
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	var total int64
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		return 0
	}
	for _, dp := range sum.DataPoints {
		match := true
		for i := 0; i+1 < len(kv); i += 2 {
			v, found := dp.Attributes.Value(attribute.Key(kv[i]))
			if !found || v.AsString() != kv[i+1] {
				match = false
			}
		}
		if match {
			total += dp.Value
		}
	}
	return total
}

func (h *harness) gauge(name string) int64 {
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return -1
	}
	g, ok := m.Data.(metricdata.Gauge[int64])
	if !ok || len(g.DataPoints) == 0 {
		return -1
	}
	return g.DataPoints[0].Value
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, what)
}

// allLogs merges (copies) every batch a sink received into one Logs.
func allLogs(sink *consumertest.LogsSink) plog.Logs {
	out := plog.NewLogs()
	for _, ld := range sink.AllLogs() {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			if out.ResourceLogs().Len() == 0 {
				dst := out.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(dst.Resource())
				sl := dst.ScopeLogs().AppendEmpty()
				rl.ScopeLogs().At(0).Scope().CopyTo(sl.Scope())
			}
			dst := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				src := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < src.Len(); k++ {
					src.At(k).CopyTo(dst.AppendEmpty())
				}
			}
		}
	}
	return out
}

func allSpans(sink *consumertest.TracesSink) ptrace.Traces {
	out := ptrace.NewTraces()
	for _, td := range sink.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			if out.ResourceSpans().Len() == 0 {
				dst := out.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(dst.Resource())
				ss := dst.ScopeSpans().AppendEmpty()
				rs.ScopeSpans().At(0).Scope().CopyTo(ss.Scope())
			}
			dst := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				src := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < src.Len(); k++ {
					src.At(k).CopyTo(dst.AppendEmpty())
				}
			}
		}
	}
	return out
}

// lastMetrics is the last metrics batch a sink received (cumulative state).
func lastMetrics(t *testing.T, sink *consumertest.MetricsSink) pmetric.Metrics {
	t.Helper()
	all := sink.AllMetrics()
	require.NotEmpty(t, all)
	return all[len(all)-1]
}

// metricValues flattens int sums and gauges to "name{k=v,...}" → value.
func metricValues(md pmetric.Metrics) map[string]int64 {
	out := map[string]int64{}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		m := ms.At(i)
		var dps pmetric.NumberDataPointSlice
		switch m.Type() {
		case pmetric.MetricTypeSum:
			dps = m.Sum().DataPoints()
		case pmetric.MetricTypeGauge:
			dps = m.Gauge().DataPoints()
		case pmetric.MetricTypeHistogram:
			for j := 0; j < m.Histogram().DataPoints().Len(); j++ {
				dp := m.Histogram().DataPoints().At(j)
				o, _ := dp.Attributes().Get("outcome")
				out[m.Name()+"_count{outcome="+o.Str()+"}"] = int64(dp.Count())
			}
			continue
		}
		for j := 0; j < dps.Len(); j++ {
			dp := dps.At(j)
			key := m.Name() + "{"
			first := true
			for k, v := range dp.Attributes().All() {
				if !first {
					key += ","
				}
				first = false
				key += k + "=" + v.AsString()
			}
			out[key+"}"] = dp.IntValue()
		}
	}
	return out
}

func subscribeConfig(endpoint string) *Config {
	cfg := createDefaultConfig()
	sub := defaultSubscribeConfig()
	sub.Endpoint = endpoint
	sub.Backoff = BackoffConfig{InitialInterval: 20 * time.Millisecond, MaxInterval: 200 * time.Millisecond, Multiplier: 2, Jitter: 0.2}
	cfg.Subscribe = configoptional.Some(sub)
	cfg.Metrics.FlushInterval = time.Hour // metrics only at shutdown, for exact values
	return cfg
}

func listenConfig() *Config {
	cfg := createDefaultConfig()
	lis := defaultListenConfig()
	lis.Endpoint = "127.0.0.1:0"
	cfg.Listen = configoptional.Some(lis)
	cfg.Metrics.FlushInterval = time.Hour
	return cfg
}
