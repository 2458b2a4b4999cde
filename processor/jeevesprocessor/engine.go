// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.uber.org/zap"

	"github.com/jeeves/otelcol-jeeves/internal/aggregate"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
)

// engine is the state shared by all faces of one component ID: the metrics
// aggregation and, when a traces pipeline receives from the connector, the
// sampler. It flushes metrics on its own ticker while at least one face is
// started.
type engine struct {
	id      component.ID
	logger  *zap.Logger
	cfg     *Config
	tb      *metadata.TelemetryBuilder
	metrics *metricsEngine

	mu          sync.Mutex
	faces       int // created and not yet shut down
	started     int // started and not yet shut down
	metricsNext consumer.Metrics
	sampling    *samplingState // nil until the traces→traces face is created
	stop        chan struct{}
	done        chan struct{}
	closed      bool // telemetry shut down
}

func newEngine(set connector.Settings, cfg *Config) (*engine, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	me, err := newMetricsEngine(&cfg.Metrics, tb)
	if err != nil {
		tb.Shutdown()
		return nil, err
	}
	if err := me.registerTelemetry(); err != nil {
		tb.Shutdown()
		return nil, err
	}
	return &engine{id: set.ID, logger: set.Logger, cfg: cfg, tb: tb, metrics: me}, nil
}

func (e *engine) setMetricsConsumer(next consumer.Metrics) {
	e.mu.Lock()
	e.metricsNext = next
	e.mu.Unlock()
}

// samplingState returns the sampler of this component ID, creating it (and
// its telemetry, and the exemplar filter) for the first traces→traces face.
// The collector creates every face before it starts any, so exemplars are
// filtered from the first span on whenever a sampling face exists. The
// sampling telemetry uses the traces face's settings, so it carries that
// face's identity (signal output traces).
func (e *engine) samplingState(set connector.Settings) (*samplingState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sampling != nil {
		return e.sampling, nil
	}
	s, err := newSamplingState(e.cfg.Sampling)
	if err != nil {
		return nil, err
	}
	if s.tb, err = metadata.NewTelemetryBuilder(set.TelemetrySettings); err != nil {
		return nil, err
	}
	if err := s.registerTelemetry(); err != nil {
		s.tb.Shutdown()
		return nil, err
	}
	e.sampling = s
	// Exemplars reference only forwarded traces. Tail mode knows a trace's
	// fate only once it is decided, so exemplars are filtered at flush by the
	// decision cache (undecided ones are held). Head mode knows at once, from
	// the span's trace id and tracestate (Head.Keep makes the same decision
	// as Head.Filter), so spans are admitted at record time and every
	// recorded exemplar is of a forwarded trace.
	if s.tail != nil {
		e.setExemplarFilter(s.tail.Decision)
	} else {
		e.metrics.mu.Lock()
		e.metrics.admitExemplar = s.head.Keep
		e.metrics.mu.Unlock()
	}
	return s, nil
}

// setExemplarFilter installs the hook that decides, at flush time, which
// exemplars may be emitted.
func (e *engine) setExemplarFilter(keep aggregate.KeepExemplarFunc) {
	e.metrics.mu.Lock()
	e.metrics.keepExemplar = keep
	e.metrics.mu.Unlock()
}

// start starts the flush loop with the first started face.
func (e *engine) start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.started++
	if e.started > 1 {
		return
	}
	e.stop = make(chan struct{})
	e.done = make(chan struct{})
	go e.flushLoop(e.cfg.Metrics.FlushInterval, e.stop, e.done)
	e.logger.Info("jeeves connector started",
		zap.Duration("flush_interval", e.cfg.Metrics.FlushInterval),
		zap.Int("series_limit", e.cfg.Metrics.SeriesLimit),
		zap.Bool("spm", e.cfg.Metrics.SPM.Enabled))
}

// stopFace stops the flush loop with the last started face, emitting what
// arrived since the last tick, and shuts the telemetry down once no face is
// left and the loop has stopped. It calls the next consumer, so the caller
// must hold no lock.
func (e *engine) stopFace(wasStarted bool) {
	var stop, done chan struct{}
	e.mu.Lock()
	if wasStarted {
		e.started--
		if e.started == 0 {
			stop, done = e.stop, e.done
			e.stop, e.done = nil, nil
		}
	}
	e.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
		// Emit what arrived since the last tick; the metrics pipeline
		// downstream shuts down after this connector.
		e.flush(context.Background())
		e.logger.Info("jeeves connector stopped")
	}
	e.mu.Lock()
	closeTelemetry := e.faces == 0 && e.started == 0 && !e.closed
	e.closed = e.closed || closeTelemetry
	s := e.sampling
	e.mu.Unlock()
	if closeTelemetry {
		e.tb.Shutdown()
		if s != nil {
			s.tb.Shutdown()
		}
	}
}

func (e *engine) flushLoop(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			e.flush(context.Background())
		}
	}
}

// flush emits the metrics. The aggregation lock is released before the next
// consumer is called.
func (e *engine) flush(ctx context.Context) {
	md := e.metrics.collect(ctx)
	if md.ResourceMetrics().Len() == 0 {
		return
	}
	e.mu.Lock()
	next := e.metricsNext
	e.mu.Unlock()
	if next == nil {
		return
	}
	if err := next.ConsumeMetrics(ctx, md); err != nil {
		e.logger.Warn("failed to emit jeeves metrics", zap.Error(err))
	}
}

// registry keeps one engine per component ID.
type registry struct {
	mu      sync.Mutex
	engines map[component.ID]*engine
}

func newRegistry() *registry { return &registry{engines: map[component.ID]*engine{}} }

// acquire returns the engine of set.ID, creating it for the first face.
func (r *registry) acquire(set connector.Settings, cfg *Config) (*engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.engines[set.ID]
	if !ok {
		var err error
		if e, err = newEngine(set, cfg); err != nil {
			return nil, err
		}
		r.engines[set.ID] = e
	}
	e.mu.Lock()
	e.faces++
	e.mu.Unlock()
	return e, nil
}

// release drops the engine when its last face is shut down. The registry
// lock covers only the face count and the map, not the final flush to the
// next consumer: once the last face is gone the engine is out of the map, so
// no new face can acquire it while it stops.
func (r *registry) release(e *engine, wasStarted bool) {
	r.mu.Lock()
	e.mu.Lock()
	e.faces--
	last := e.faces == 0
	e.mu.Unlock()
	if last && r.engines[e.id] == e {
		delete(r.engines, e.id)
	}
	r.mu.Unlock()
	e.stopFace(wasStarted)
}
