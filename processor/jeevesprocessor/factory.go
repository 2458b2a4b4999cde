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
// connector: the traces→metrics face feeds its aggregation, the
// traces→traces face creates and drives its sampler (and so turns on
// exemplar filtering).
var engines = newRegistry()

// NewFactory returns the factory of the jeeves connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability),
		connector.WithTracesToTraces(createTracesToTraces, metadata.TracesToTracesStability),
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

func createTracesToTraces(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (connector.Traces, error) {
	e, err := engines.acquire(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	s, err := e.samplingState(set)
	if err != nil {
		engines.release(e, false)
		return nil, err
	}
	return &samplingConnector{
		engine: e,
		state:  s,
		next:   next,
		logger: set.Logger,
		tick:   tickInterval(s.cfg),
	}, nil
}
