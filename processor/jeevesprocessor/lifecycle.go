// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.uber.org/zap"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
)

// jeevesConnector is the one object of a component ID that both faces share,
// and the owner of its whole life: it creates each face's state, links the
// sampler to the aggregation (exemplars of forwarded traces only), runs the
// flush and tick loops, and stops the faces in an order that never calls a
// stopped consumer:
//
//   - The collector stops each face before the pipeline it feeds, but the two
//     faces of one ID in no particular order. So each face's Shutdown emits
//     everything that face still holds, to its own next consumer, and after it
//     returns that face calls its consumer no more.
//   - The metrics face, stopping first, has the sampler decide what it still
//     buffers (forwarded by the sampling face, whose consumer still runs)
//     before its final flush, so that flush carries the exemplars of those
//     traces; stopping second, it finds the sampler already flushed.
type jeevesConnector struct {
	id  component.ID
	cfg *Config
	// now is the clock of the aggregation and of the sampler; tests replace
	// it before the first span.
	now func() time.Time

	mu       sync.Mutex
	faces    int            // created and not yet shut down
	metrics  *metricsState  // nil until the traces→metrics face is created
	sampling *samplingState // nil until the traces→traces face is created
}

// metricsState is the traces→metrics face's part of the connector.
type metricsState struct {
	phase  // its loop flushes
	agg    *aggregator
	next   consumer.Metrics
	logger *zap.Logger
}

// phase is where a face is in its life; the connector's mutex guards it.
type phase struct {
	started bool
	stopped bool
	loop    *loop // the face's loop, running between Start and Shutdown
}

// start reports whether the face starts now: not twice, not after Shutdown.
func (p *phase) start() bool {
	if p.started || p.stopped {
		return false
	}
	p.started = true
	return true
}

// stop marks the face stopped and hands over its loop to halt; ok is false
// when it had stopped already.
func (p *phase) stop() (l *loop, wasStarted, ok bool) {
	if p.stopped {
		return nil, false, false
	}
	p.stopped = true
	l, p.loop = p.loop, nil
	return l, p.started, true
}

// running reports whether the face has started and not stopped.
func (p *phase) running() bool { return p.started && !p.stopped }

// connectors holds the jeeves connector of each component ID while at least
// one of its faces is alive.
var connectors = registry{byID: map[component.ID]*jeevesConnector{}}

type registry struct {
	mu   sync.Mutex
	byID map[component.ID]*jeevesConnector
}

// acquire returns the connector of id, creating it for its first face, and
// counts one more face.
func (r *registry) acquire(id component.ID, cfg *Config) *jeevesConnector {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.byID[id]
	if !ok {
		c = &jeevesConnector{id: id, cfg: cfg, now: time.Now}
		r.byID[id] = c
	}
	c.mu.Lock()
	c.faces++
	c.mu.Unlock()
	return c
}

// release counts one face less and forgets the connector with its last face.
// It is called after the face has stopped, with no lock held.
func (r *registry) release(c *jeevesConnector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.mu.Lock()
	c.faces--
	last := c.faces == 0
	c.mu.Unlock()
	if last && r.byID[c.id] == c {
		delete(r.byID, c.id)
	}
}

func (c *jeevesConnector) clock() time.Time { return c.now() }

// addMetricsFace creates the aggregation, with telemetry under the metrics
// face's identity.
func (c *jeevesConnector) addMetricsFace(set connector.Settings, next consumer.Metrics) (*metricsState, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	agg, err := newAggregator(&c.cfg.Metrics, tb, set.Logger, c.clock)
	if err == nil {
		err = agg.registerTelemetry()
	}
	if err != nil {
		tb.Shutdown()
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.metrics != nil && !c.metrics.stopped {
		tb.Shutdown()
		return nil, fmt.Errorf("jeeves connector %s already has a traces→metrics face", c.id)
	}
	c.metrics = &metricsState{agg: agg, next: next, logger: set.Logger}
	c.linkExemplars()
	return c.metrics, nil
}

// addSamplingFace creates the sampler, with telemetry under the sampling
// face's identity.
func (c *jeevesConnector) addSamplingFace(set connector.Settings, next consumer.Traces) (*samplingState, error) {
	s, err := newSamplingState(c.cfg, set, next, c.clock)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sampling != nil && !c.sampling.stopped {
		s.tb.Shutdown()
		return nil, fmt.Errorf("jeeves connector %s already has a traces→traces face", c.id)
	}
	c.sampling = s
	c.linkExemplars()
	return s, nil
}

// linkExemplars gives the aggregation the sampler's exemplar policy once both
// faces exist. The collector creates every face before it starts any, so the
// policy is in place before the first span.
func (c *jeevesConnector) linkExemplars() {
	if c.metrics != nil && c.sampling != nil {
		c.metrics.agg.setExemplarPolicy(c.sampling.sampler)
		c.metrics.agg.setCompletenessSource(c.sampling.sampler)
		if att := c.metrics.agg.attribution; att != nil {
			att.fed.Store(c.sampling.sampler.SetObserver(att))
		}
	}
}

// startMetrics starts the flush loop.
func (c *jeevesConnector) startMetrics(m *metricsState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !m.start() {
		return
	}
	m.loop = startLoop(c.cfg.Metrics.FlushInterval, func() { m.flush(context.Background()) })
	m.logger.Info("jeeves connector started",
		zap.Duration("flush_interval", c.cfg.Metrics.FlushInterval),
		zap.Int("series_limit", c.cfg.Metrics.SeriesLimit),
		zap.Bool("spm", c.cfg.Metrics.SPM.Enabled))
}

// shutdownMetrics stops the flush loop, lets the sampler decide what it
// buffers, and emits the final flush while the next consumer still runs.
func (c *jeevesConnector) shutdownMetrics(m *metricsState) {
	c.mu.Lock()
	flusher, started, ok := m.stop()
	s := c.sampling
	samplerRunning := s != nil && s.running()
	c.mu.Unlock()
	if !ok {
		return
	}

	flusher.halt()
	if started {
		if samplerRunning {
			s.drain(context.Background())
		}
		m.flush(context.Background())
		m.logger.Info("jeeves connector stopped")
	}
	m.agg.tb.Shutdown()
	connectors.release(c)
}

// flush emits the metrics; the aggregation lock is released before the next
// consumer is called.
func (m *metricsState) flush(ctx context.Context) {
	md := m.agg.collect(ctx)
	if md.ResourceMetrics().Len() == 0 {
		return
	}
	if err := m.next.ConsumeMetrics(ctx, md); err != nil {
		m.logger.Warn("failed to emit jeeves metrics", zap.Error(err))
	}
}

// startSampling starts the sampler's tick loop, if its mode has one.
func (c *jeevesConnector) startSampling(s *samplingState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.start() {
		return
	}
	if every := s.sampler.TickInterval(); every > 0 {
		s.loop = startLoop(every, func() { s.forward(context.Background(), s.sampler.Tick(c.now())) })
	}
	cfg := c.cfg.Sampling
	s.logger.Info("jeeves sampling started",
		zap.String("mode", string(cfg.Mode)),
		zap.Float64("percentage", cfg.Percentage),
		zap.Int("precision", cfg.Precision))
}

// shutdownSampling stops the tick loop and forwards every trace the sampler
// still buffers that it keeps; after it returns, nothing more is forwarded.
func (c *jeevesConnector) shutdownSampling(s *samplingState) {
	c.mu.Lock()
	ticker, started, ok := s.stop()
	c.mu.Unlock()
	if !ok {
		return
	}

	ticker.halt()
	s.drain(context.Background())
	s.close()
	if started {
		s.logger.Info("jeeves sampling stopped")
	}
	s.tb.Shutdown()
	connectors.release(c)
}
