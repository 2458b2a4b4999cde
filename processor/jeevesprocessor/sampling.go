// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// maxTickInterval is how often tail mode looks for traces whose wait is over:
// decisions come at most this late.
const maxTickInterval = 200 * time.Millisecond

// forwardErrorLogEvery rate-limits the warning about refused forwards.
const forwardErrorLogEvery = 10 * time.Second

// samplingState is the sampler of one component ID. Only the traces→traces
// face creates it, so a connector with only the metrics face holds no sampler
// state and leaves its exemplars unfiltered.
type samplingState struct {
	cfg  sampler.Config
	tb   *metadata.TelemetryBuilder
	head *sampler.Head // head mode
	tail *sampler.Tail // tail mode

	// now is the tail sampler's clock (arrival time of spans); tests replace
	// it before the first span.
	now func() time.Time

	// Head mode decides per span: these count its spans.
	headKept, headDropped atomic.Int64
}

func newSamplingState(cfg sampler.Config) (*samplingState, error) {
	s := &samplingState{cfg: cfg, now: time.Now}
	var err error
	if cfg.Mode == sampler.ModeHead {
		s.head, err = sampler.NewHead(cfg)
	} else {
		s.tail, err = sampler.NewTail(cfg, func() time.Time { return s.now() })
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

var (
	attrKeptProbability    = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "probability")))
	attrKeptError          = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "error")))
	attrKeptLatency        = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "latency")))
	attrDroppedProbability = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "dropped"), attribute.String("rule", "probability")))
	attrKept               = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept")))
	attrDropped            = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "dropped")))
	attrMaxTraces          = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "max_traces")))
	attrMaxBytes           = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "max_bytes")))
)

// registerTelemetry reports the sampler's counters and buffer size. The
// counters are observed from the sampler's own cumulative statistics, so the
// hot path does no telemetry work.
func (s *samplingState) registerTelemetry() error {
	tb := s.tb
	observeCounts := func(o metric.Int64Observer, pick func(sampler.Counts) uint64) {
		st := s.tail.Stats()
		o.Observe(int64(pick(st.Kept.Probability)), attrKeptProbability)
		o.Observe(int64(pick(st.Kept.Error)), attrKeptError)
		o.Observe(int64(pick(st.Kept.Latency)), attrKeptLatency)
		o.Observe(int64(pick(st.Dropped.Probability)), attrDroppedProbability)
	}
	regs := []func() error{
		func() error {
			return tb.RegisterConnectorJeevesSamplingSpansCallback(func(_ context.Context, o metric.Int64Observer) error {
				if s.tail == nil {
					o.Observe(s.headKept.Load(), attrKeptProbability)
					o.Observe(s.headDropped.Load(), attrDroppedProbability)
					return nil
				}
				observeCounts(o, func(c sampler.Counts) uint64 { return c.Spans })
				return nil
			})
		},
		func() error {
			return tb.RegisterConnectorJeevesSamplingTracesCallback(func(_ context.Context, o metric.Int64Observer) error {
				if s.tail != nil { // head mode decides spans, not traces
					observeCounts(o, func(c sampler.Counts) uint64 { return c.Traces })
				}
				return nil
			})
		},
		func() error {
			return tb.RegisterConnectorJeevesSamplingTracesInMemoryCallback(func(_ context.Context, o metric.Int64Observer) error {
				var n int64
				if s.tail != nil {
					n = int64(s.tail.Stats().TracesInMemory)
				}
				o.Observe(n)
				return nil
			})
		},
		func() error {
			return tb.RegisterConnectorJeevesSamplingBytesInMemoryCallback(func(_ context.Context, o metric.Int64Observer) error {
				var n int64
				if s.tail != nil {
					n = s.tail.Stats().BytesInMemory
				}
				o.Observe(n)
				return nil
			})
		},
		func() error {
			return tb.RegisterConnectorJeevesSamplingForcedDecisionsCallback(func(_ context.Context, o metric.Int64Observer) error {
				if s.tail != nil {
					st := s.tail.Stats()
					o.Observe(int64(st.ForcedMaxTraces), attrMaxTraces)
					o.Observe(int64(st.ForcedMaxBytes), attrMaxBytes)
				}
				return nil
			})
		},
		func() error {
			return tb.RegisterConnectorJeevesSamplingLateSpansCallback(func(_ context.Context, o metric.Int64Observer) error {
				if s.tail != nil {
					st := s.tail.Stats()
					o.Observe(int64(st.LateSpansKept), attrKept)
					o.Observe(int64(st.LateSpansDropped), attrDropped)
				}
				return nil
			})
		},
	}
	for _, reg := range regs {
		if err := reg(); err != nil {
			return err
		}
	}
	return nil
}

// samplingConnector is the traces→traces face: it forwards the traces the
// engine's sampler keeps. Head mode filters each batch in place; tail mode
// buffers spans per trace and forwards decided traces from ConsumeTraces and
// from its ticker.
type samplingConnector struct {
	engine *engine
	state  *samplingState
	next   consumer.Traces
	logger *zap.Logger
	tick   time.Duration

	mu       sync.Mutex
	started  bool
	shutdown bool
	stop     chan struct{}
	done     chan struct{}

	errMu      sync.Mutex
	errLogged  time.Time
	errPending int // refused spans not yet reported in a log line
}

func tickInterval(cfg sampler.Config) time.Duration {
	return max(min(maxTickInterval, cfg.DecisionWait/4), time.Millisecond)
}

// Capabilities reports MutatesData: dropped spans are removed from the batch
// and kept spans get a new tracestate (and, in tail mode, the rule attribute).
func (c *samplingConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (c *samplingConnector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if c.state.head != nil {
		kept, dropped := c.state.head.Filter(td)
		c.state.headKept.Add(int64(kept))
		c.state.headDropped.Add(int64(dropped))
		if kept == 0 {
			return nil
		}
		// Head mode holds nothing: a refused batch can be retried upstream
		// and is decided the same way again.
		if err := c.next.ConsumeTraces(ctx, td); err != nil {
			c.state.tb.ConnectorJeevesSamplingForwardErrors.Add(ctx, int64(kept))
			return err
		}
		return nil
	}
	out := c.state.tail.Consume(td)
	// The spans are now the sampler's (buffered or decided); a retry of this
	// batch would buffer them twice, so a refusal is counted, not returned.
	c.forward(ctx, out)
	return nil
}

// forward sends decided traces to the next consumer. No lock is held.
func (c *samplingConnector) forward(ctx context.Context, td ptrace.Traces) {
	n := td.SpanCount()
	if n == 0 {
		return
	}
	if err := c.next.ConsumeTraces(ctx, td); err != nil {
		c.state.tb.ConnectorJeevesSamplingForwardErrors.Add(ctx, int64(n))
		c.logForwardError(n, err)
	}
}

// logForwardError logs at most one warning per forwardErrorLogEvery; the
// counter has every refused span.
func (c *samplingConnector) logForwardError(spans int, err error) {
	c.errMu.Lock()
	c.errPending += spans
	now := time.Now()
	if !c.errLogged.IsZero() && now.Sub(c.errLogged) < forwardErrorLogEvery {
		c.errMu.Unlock()
		return
	}
	pending := c.errPending
	c.errPending = 0
	c.errLogged = now
	c.errMu.Unlock()
	c.logger.Warn("jeeves sampling: next consumer refused kept spans; they are lost for tracing (see otelcol_connector_jeeves_sampling_forward_errors)",
		zap.Int("spans", pending), zap.Error(err))
}

func (c *samplingConnector) Start(context.Context, component.Host) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.shutdown {
		return nil
	}
	c.started = true
	c.engine.start()
	if c.state.tail != nil {
		c.stop = make(chan struct{})
		c.done = make(chan struct{})
		go c.tickLoop(c.stop, c.done)
	}
	cfg := c.state.cfg
	c.logger.Info("jeeves sampling started",
		zap.String("mode", string(cfg.Mode)),
		zap.Float64("percentage", cfg.Percentage),
		zap.Int("precision", cfg.Precision))
	return nil
}

func (c *samplingConnector) tickLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ticker := time.NewTicker(c.tick)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			c.forward(context.Background(), c.state.tail.Tick(c.state.now()))
		}
	}
}

// Shutdown stops the ticker, decides and forwards every buffered trace (the
// pipeline after this connector is shut down after it), then releases the
// engine. It works without Start and more than once.
func (c *samplingConnector) Shutdown(context.Context) error {
	c.mu.Lock()
	if c.shutdown {
		c.mu.Unlock()
		return nil
	}
	c.shutdown = true
	stop, done, started := c.stop, c.done, c.started
	c.stop, c.done = nil, nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	if c.state.tail != nil {
		c.forward(context.Background(), c.state.tail.Flush())
	}
	if started {
		c.logger.Info("jeeves sampling stopped")
	}
	engines.release(c.engine, started)
	return nil
}
