// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// forwardErrorLogEvery rate-limits the warning about refused forwards.
const forwardErrorLogEvery = 10 * time.Second

// samplingState is the traces→traces face's part of the connector: the
// sampler (head or tail, chosen once by sampler.New), its telemetry, and the
// forwarding of what it keeps.
type samplingState struct {
	phase   // its loop ticks, when the mode has a tick interval
	sampler sampler.Sampler
	tb      *metadata.TelemetryBuilder
	next    consumer.Traces
	logger  *zap.Logger

	// closed is set once the face has shut down: nothing is forwarded after.
	fwdMu  sync.RWMutex
	closed bool

	errMu      sync.Mutex
	errLogged  time.Time
	errPending int // refused spans not yet reported in a log line
}

func newSamplingState(cfg *Config, set connector.Settings, next consumer.Traces, clock func() time.Time) (*samplingState, error) {
	scfg := cfg.Sampling
	// The budget's keys are bounded like every other per-label series the connector reports.
	scfg.Budget.MaxKeys = cfg.Metrics.SeriesLimit
	smp, err := sampler.New(scfg, clock)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	if err := registerSamplingTelemetry(tb, smp); err != nil {
		tb.Shutdown()
		return nil, err
	}
	return &samplingState{sampler: smp, tb: tb, next: next, logger: set.Logger}, nil
}

// drain has the sampler decide everything it buffers and forwards what it
// keeps.
func (s *samplingState) drain(ctx context.Context) {
	s.forward(ctx, s.sampler.Flush())
}

// close makes every later forward a no-op; it waits for forwards in flight.
func (s *samplingState) close() {
	s.fwdMu.Lock()
	s.closed = true
	s.fwdMu.Unlock()
}

// forward sends kept spans to the next consumer. A refusal is counted and
// logged, never returned: the spans are the sampler's by now (a retry would
// buffer them twice), and a sender retrying the whole batch would have the
// metrics face count its spans twice.
func (s *samplingState) forward(ctx context.Context, td ptrace.Traces) {
	n := td.SpanCount()
	if n == 0 {
		return
	}
	s.fwdMu.RLock()
	defer s.fwdMu.RUnlock()
	if s.closed {
		// Does not happen when the collector stops its components one after
		// another, upstream first (the face drains before it closes, and
		// nothing arrives after); counted all the same.
		s.tb.ConnectorJeevesSamplingForwardErrors.Add(ctx, int64(n))
		return
	}
	if err := s.next.ConsumeTraces(ctx, td); err != nil {
		s.tb.ConnectorJeevesSamplingForwardErrors.Add(ctx, int64(n))
		s.logForwardError(n, err)
	}
}

// logForwardError logs at most one warning per forwardErrorLogEvery; the
// counter has every refused span.
func (s *samplingState) logForwardError(spans int, err error) {
	s.errMu.Lock()
	s.errPending += spans
	now := time.Now()
	if !s.errLogged.IsZero() && now.Sub(s.errLogged) < forwardErrorLogEvery {
		s.errMu.Unlock()
		return
	}
	pending := s.errPending
	s.errPending = 0
	s.errLogged = now
	s.errMu.Unlock()
	s.logger.Warn("jeeves sampling: next consumer refused kept spans; they are lost for tracing (see otelcol_connector_jeeves_sampling_forward_errors)",
		zap.Int("spans", pending), zap.Error(err))
}
