// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
)

const benchTraces = 50 // 20 spans per trace: 1,000 spans per batch

func newJeevesTraces(tb testing.TB) connector.Traces {
	tb.Helper()
	c, err := NewFactory().CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
	require.NoError(tb, err)
	return c
}

func newSpanMetricsTraces(tb testing.TB) connector.Traces {
	tb.Helper()
	f := spanmetricsconnector.NewFactory()
	c, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(tb, err)
	return c
}

// BenchmarkConsumeTraces measures the per-span cost of turning a
// Jeeves-shaped batch into metrics, once every series exists: the jeeves
// connector (all Jeeves families plus SPM, exemplars on) against contrib's
// span_metrics connector with its default config, on the same batch in the
// same run. Flushing is not included for either (both flush on a timer).
func BenchmarkConsumeTraces(b *testing.B) {
	td := jeevesBatch(benchTraces)
	spans := td.SpanCount()
	for _, bc := range []struct {
		name string
		new  func(testing.TB) connector.Traces
	}{
		{"connector=jeeves", newJeevesTraces},
		{"connector=span_metrics", newSpanMetricsTraces},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := bc.new(b)
			defer func() { require.NoError(b, c.Shutdown(context.Background())) }()
			ctx := context.Background()
			require.NoError(b, c.ConsumeTraces(ctx, td)) // series exist from here on
			b.ReportAllocs()                             // allocs/op is per batch of 1,000 spans
			b.ResetTimer()
			for b.Loop() {
				_ = c.ConsumeTraces(ctx, td)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		})
	}
}

// TestConsumeZeroAllocs pins the zero-allocation hot path: once series exist,
// aggregating a whole Jeeves batch allocates nothing.
func TestConsumeZeroAllocs(t *testing.T) {
	c := newJeevesTraces(t)
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	td := jeevesBatch(benchTraces)
	ctx := context.Background()
	require.NoError(t, c.ConsumeTraces(ctx, td))
	allocs := testing.AllocsPerRun(20, func() { _ = c.ConsumeTraces(ctx, td) })
	require.Zero(t, allocs, "allocations per batch of %d spans", td.SpanCount())
}
