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

// NewFactory returns the factory of the jeeves connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability),
		connector.WithTracesToTraces(createTracesToTraces, metadata.TracesToTracesStability),
	)
}

// Both faces of one component ID share one jeevesConnector (lifecycle.go).

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	c := connectors.acquire(set.ID, cfg.(*Config))
	m, err := c.addMetricsFace(set, next)
	if err != nil {
		connectors.release(c)
		return nil, err
	}
	return &metricsFace{c: c, m: m}, nil
}

func createTracesToTraces(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (connector.Traces, error) {
	c := connectors.acquire(set.ID, cfg.(*Config))
	s, err := c.addSamplingFace(set, next)
	if err != nil {
		connectors.release(c)
		return nil, err
	}
	return &samplingFace{c: c, s: s}, nil
}
