// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
)

// engines holds one engine per component ID, shared by every face of the
// connector. The traces→traces (sampling) face plugs in the same way as
// createTracesToMetrics: acquire the engine of set.ID, keep its sampler on the
// engine, and install the sampler's kept-trace lookup with
// engine.setExemplarFilter so exemplars only reference forwarded traces. That
// face modifies tracestate, so it must report MutatesData: true.
var engines = newRegistry()

// NewFactory returns the factory of the jeeves connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability),
	)
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	e, err := engines.acquire(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	e.setMetricsConsumer(next)
	return &metricsConnector{engine: e}, nil
}
