// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// metricsConnector is the traces→metrics face: it feeds every span to the
// shared engine, which emits the metrics on its flush interval.
type metricsConnector struct {
	engine *engine

	mu       sync.Mutex
	started  bool
	shutdown bool
}

func (c *metricsConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *metricsConnector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	c.engine.metrics.consume(ctx, td)
	return nil
}

func (c *metricsConnector) Start(context.Context, component.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.shutdown {
		return nil
	}
	c.started = true
	c.engine.start()
	return nil
}

// Shutdown works without Start and more than once.
func (c *metricsConnector) Shutdown(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shutdown {
		return nil
	}
	c.shutdown = true
	engines.release(c.engine, c.started)
	return nil
}
