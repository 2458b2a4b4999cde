// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// metricsFace is the traces→metrics face: every span goes into the shared
// connector's aggregation, emitted on its flush interval.
type metricsFace struct {
	c *jeevesConnector
	m *metricsState
}

// Capabilities: the face only reads the batch.
func (f *metricsFace) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (f *metricsFace) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	f.m.agg.consume(ctx, td)
	return nil
}

func (f *metricsFace) Start(context.Context, component.Host) error {
	f.c.startMetrics(f.m)
	return nil
}

// Shutdown works without Start and more than once.
func (f *metricsFace) Shutdown(context.Context) error {
	f.c.shutdownMetrics(f.m)
	return nil
}

// samplingFace is the traces→traces face: it forwards the traces the shared
// connector's sampler keeps.
type samplingFace struct {
	c *jeevesConnector
	s *samplingState
}

// Capabilities: the face only reads the batch; the sampler copies the spans
// it buffers or forwards, so the collector need not clone every batch for it.
func (f *samplingFace) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (f *samplingFace) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	f.s.forward(ctx, f.s.sampler.Consume(td))
	return nil
}

func (f *samplingFace) Start(context.Context, component.Host) error {
	f.c.startSampling(f.s)
	return nil
}

// Shutdown works without Start and more than once.
func (f *samplingFace) Shutdown(context.Context) error {
	f.c.shutdownSampling(f.s)
	return nil
}
