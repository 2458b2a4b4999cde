// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package dbpoolprocessor

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor/internal/metadata"
)

// benchBatch is one export of 10 services, each with 20 unrelated metrics and
// two pools reported per server address (2 states x 2 addresses) plus their
// maximum: 100 pool points and 200 other points.
func benchBatch(withPools bool) pmetric.Metrics {
	md := pmetric.NewMetrics()
	for s := range 10 {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", s))
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		for i := range 20 {
			m := ms.AppendEmpty()
			m.SetName(fmt.Sprintf("app.metric.%d", i))
			m.SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(int64(i))
		}
		if !withPools {
			continue
		}
		count := ms.AppendEmpty()
		count.SetName("db.client.connection.count")
		sum := count.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		maxm := ms.AppendEmpty()
		maxm.SetName("db.client.connection.max")
		mg := maxm.SetEmptyGauge()
		for _, pool := range []string{"orders", "reports"} {
			for _, addr := range []string{"pg-a", "pg-b"} {
				for _, state := range []string{"used", "idle"} {
					dp := sum.DataPoints().AppendEmpty()
					dp.Attributes().PutStr("db.client.connection.pool.name", pool)
					dp.Attributes().PutStr("db.client.connection.state", state)
					dp.Attributes().PutStr("server.address", addr)
					dp.SetIntValue(3)
				}
			}
			dp := mg.DataPoints().AppendEmpty()
			dp.Attributes().PutStr("db.client.connection.pool.name", pool)
			dp.SetIntValue(20)
		}
	}
	return md
}

// BenchmarkProcess measures the processor's own work on one batch (reading
// the pool points and building the gauges); copying the input batch, which
// the pipeline's fan-out does, is outside the timer.
func BenchmarkProcess(b *testing.B) {
	for _, tc := range []struct {
		name      string
		withPools bool
	}{{"pools", true}, {"no_pools", false}} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := newDBPoolProcessor(processortest.NewNopSettings(metadata.Type), createDefaultConfig())
			require.NoError(b, err)
			in := benchBatch(tc.withPools)
			md := pmetric.NewMetrics()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				in.CopyTo(md)
				b.StartTimer()
				if _, err := p.processMetrics(context.Background(), md); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
