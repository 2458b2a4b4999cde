// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package dbpoolprocessor // import "github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor/internal/poolgauge"
)

// dbPoolProcessor adds the pool gauges to every batch. It holds no state
// between batches; its Derivers are scratch space, one per concurrent batch.
type dbPoolProcessor struct {
	derivers  sync.Pool
	telemetry *metadata.TelemetryBuilder
	// skipReason holds the precomputed attribute option of each skip reason.
	skipReason [len(poolgauge.Reasons)]metric.AddOption
}

func newDBPoolProcessor(set processor.Settings, cfg *Config) (*dbPoolProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	opts := poolgauge.Options{
		ScopeName:    metadata.ScopeName,
		ScopeVersion: set.BuildInfo.Version,
		DefaultPool:  cfg.DefaultPool,
		DropSource:   cfg.DropSourceMetrics,
	}
	p := &dbPoolProcessor{telemetry: tb}
	p.derivers.New = func() any { return poolgauge.New(opts) }
	for i, r := range poolgauge.Reasons {
		p.skipReason[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r.String())))
	}
	return p, nil
}

func (p *dbPoolProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	d := p.derivers.Get().(*poolgauge.Deriver)
	var skipped poolgauge.Skipped
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		d.Derive(rms.At(i), &skipped)
	}
	p.derivers.Put(d)
	for i, n := range skipped {
		if n > 0 {
			p.telemetry.ProcessorJeevesDbpoolDataPointsSkipped.Add(ctx, n, p.skipReason[i])
		}
	}
	// Bad points are skipped and counted, never refused: the source metrics
	// still reach the exporter.
	return md, nil
}

func (p *dbPoolProcessor) shutdown(context.Context) error {
	p.telemetry.Shutdown()
	return nil
}
