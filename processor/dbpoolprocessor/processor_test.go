// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package dbpoolprocessor

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.yaml.in/yaml/v3"

	"github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor/internal/metadatatest"
)

var update = flag.Bool("update", false, "regenerate the expected.yaml golden files")

// run passes md through a jeeves_dbpool processor built from cfg and returns
// what reached the next consumer.
func run(t testing.TB, set processor.Settings, cfg *Config, md pmetric.Metrics) pmetric.Metrics {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.True(t, p.Capabilities().MutatesData)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeMetrics(context.Background(), md))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllMetrics(), 1)
	return sink.AllMetrics()[0]
}

func TestGolden(t *testing.T) {
	drop := createDefaultConfig()
	drop.DropSourceMetrics = true
	for name, cfg := range map[string]*Config{
		"two_services": createDefaultConfig(),
		"drop_source":  drop,
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			got := run(t, processortest.NewNopSettings(metadata.Type), cfg, readMetrics(t, filepath.Join(dir, "input.yaml")))
			expectedPath := filepath.Join(dir, "expected.yaml")
			if *update {
				writeMetrics(t, expectedPath, got)
			}
			want := readMetrics(t, expectedPath)
			require.NoError(t, pmetrictest.CompareMetrics(want, got))
		})
	}
}

// TestGoldenValues states the golden file's point in plain words, so a
// regenerated expected.yaml with wrong values cannot pass unnoticed.
func TestGoldenValues(t *testing.T) {
	got := run(t, processortest.NewNopSettings(metadata.Type), createDefaultConfig(),
		readMetrics(t, filepath.Join("testdata", "two_services", "input.yaml")))
	rms := got.ResourceMetrics()
	require.Equal(t, 2, rms.Len())

	gw := rms.At(0)
	require.Equal(t, 2, gw.ScopeMetrics().Len(), "the source scope, then ours")
	assert.Equal(t, 3, gw.ScopeMetrics().At(0).Metrics().Len(), "the source metrics pass through")
	ours := gw.ScopeMetrics().At(1)
	assert.Equal(t, metadata.ScopeName, ours.Scope().Name())
	assert.Equal(t, map[string]int64{
		"jeeves.db.pool.size|orders":                20,
		"jeeves.db.pool.size|reports":               20,
		"jeeves.db.pool.active_connections|orders":  18, // pg-a 10 + pg-b 8
		"jeeves.db.pool.active_connections|reports": 1,
		"jeeves.db.pool.idle_connections|orders":    1,
		"jeeves.db.pool.idle_connections|reports":   9,
		"jeeves.db.connections|orders|used":         18,
		"jeeves.db.connections|orders|idle":         1,
		"jeeves.db.connections|reports|used":        1,
		"jeeves.db.connections|reports|idle":        9,
	}, values(ours))

	agents := rms.At(1)
	require.Equal(t, 2, agents.ScopeMetrics().Len())
	assert.Equal(t, map[string]int64{
		"jeeves.db.pool.size|default":               5,
		"jeeves.db.pool.active_connections|default": 2,
		"jeeves.db.pool.idle_connections|default":   3,
		"jeeves.db.connections|default|used":        2,
		"jeeves.db.connections|default|idle":        3,
	}, values(agents.ScopeMetrics().At(1)))
	// Timestamps are the source points'.
	assert.Equal(t, int64(1700000055000000000),
		int64(agents.ScopeMetrics().At(1).Metrics().At(0).Gauge().DataPoints().At(0).Timestamp()))
}

func values(sm pmetric.ScopeMetrics) map[string]int64 {
	out := map[string]int64{}
	for i := 0; i < sm.Metrics().Len(); i++ {
		m := sm.Metrics().At(i)
		for j := 0; j < m.Gauge().DataPoints().Len(); j++ {
			dp := m.Gauge().DataPoints().At(j)
			key := m.Name()
			for _, label := range []string{"pool", "state"} {
				if v, ok := dp.Attributes().Get(label); ok {
					key += "|" + v.Str()
				}
			}
			out[key] = dp.IntValue()
		}
	}
	return out
}

func TestDefaultPoolFromConfig(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.DefaultPool = "primary"
	got := run(t, processortest.NewNopSettings(metadata.Type), cfg,
		readMetrics(t, filepath.Join("testdata", "two_services", "input.yaml")))
	assert.Equal(t, int64(5), values(got.ResourceMetrics().At(1).ScopeMetrics().At(1))["jeeves.db.pool.size|primary"])
}

func TestSkippedPointsTelemetry(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })

	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	m := ms.AppendEmpty()
	m.SetName("db.client.connection.count")
	g := m.SetEmptyGauge()
	for _, state := range []string{"used", "closing", "closing"} {
		dp := g.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("db.client.connection.state", state)
		dp.SetIntValue(1)
	}
	dp := g.DataPoints().AppendEmpty()
	dp.Attributes().PutStr("db.client.connection.state", "idle")
	dp.SetIntValue(-2)
	g.DataPoints().AppendEmpty().Attributes().PutStr("db.client.connection.state", "idle") // no value

	got := run(t, metadatatest.NewSettings(tt), createDefaultConfig(), md)
	// The good point still makes gauges; the bad ones are counted, not refused.
	assert.Equal(t, int64(1), values(got.ResourceMetrics().At(0).ScopeMetrics().At(1))["jeeves.db.pool.active_connections|default"])

	metadatatest.AssertEqualProcessorJeevesDbpoolDataPointsSkipped(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "no_value"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "invalid_value"))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "unknown_state"))},
	}, metricdatatest.IgnoreTimestamp())
}

func TestNoSourceMetricsPassThroughUnchanged(t *testing.T) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(0.2)
	want := pmetric.NewMetrics()
	md.CopyTo(want)

	got := run(t, processortest.NewNopSettings(metadata.Type), createDefaultConfig(), md)
	require.NoError(t, pmetrictest.CompareMetrics(want, got))
}

// yamlToJSON converts a YAML document to JSON for the pdata JSON unmarshaler.
func yamlToJSON(t testing.TB, data []byte) []byte {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v))
	out, err := json.Marshal(v)
	require.NoError(t, err)
	return out
}

func readMetrics(t testing.TB, path string) pmetric.Metrics {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(yamlToJSON(t, data))
	require.NoError(t, err)
	return md
}

// writeMetrics writes md as YAML, keeping numbers exact (pdata JSON writes
// 64-bit integers as strings, which YAML keeps quoted).
func writeMetrics(t testing.TB, path string, md pmetric.Metrics) {
	t.Helper()
	raw, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	require.NoError(t, enc.Encode(numbers(v)))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o600))
}

func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// Batches from several receivers' goroutines at once each get their own
// scratch space: every output carries exactly its own batch's gauges.
func TestConcurrentBatches(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), createDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	input := readMetrics(t, filepath.Join("testdata", "two_services", "input.yaml"))

	const workers, batches = 4, 50
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for range batches {
				md := pmetric.NewMetrics()
				input.CopyTo(md)
				if err := p.ConsumeMetrics(context.Background(), md); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		require.NoError(t, <-errs)
	}
	require.NoError(t, p.Shutdown(context.Background()))

	require.Len(t, sink.AllMetrics(), workers*batches)
	for _, md := range sink.AllMetrics() {
		gw := md.ResourceMetrics().At(0)
		require.Equal(t, 2, gw.ScopeMetrics().Len())
		assert.Equal(t, int64(18), values(gw.ScopeMetrics().At(1))["jeeves.db.pool.active_connections|orders"])
		agents := md.ResourceMetrics().At(1)
		require.Equal(t, 2, agents.ScopeMetrics().Len())
		assert.Len(t, values(agents.ScopeMetrics().At(1)), 5)
	}
}
