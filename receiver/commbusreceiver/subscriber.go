// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver"

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

const (
	// subscribeWriteTimeout bounds writing the Subscribe request.
	subscribeWriteTimeout = 10 * time.Second
	// maxBatch bounds how many already-buffered events are translated and
	// handed to the pipelines together.
	maxBatch = 512
	// readBufferSize is the subscriber's socket read buffer.
	readBufferSize = 64 << 10
)

// subscriber is subscribe mode: a client of a Jeeves kernel that keeps one
// subscription open, reconnecting with exponential backoff and jitter.
type subscriber struct {
	cfg    SubscribeConfig
	r      *commbusReceiver
	logger *zap.Logger
	tlsCfg *tls.Config

	mu     sync.Mutex
	conn   net.Conn
	closed bool

	// first is closed once the first attempt's outcome is known.
	first     chan struct{}
	firstOnce sync.Once

	// now is replaceable in tests.
	now func() time.Time
}

func newSubscriber(ctx context.Context, cfg SubscribeConfig, r *commbusReceiver) (*subscriber, error) {
	tlsCfg, err := cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscribe.tls: %w", err)
	}
	return &subscriber{cfg: cfg, r: r, logger: r.set.Logger, tlsCfg: tlsCfg, now: time.Now, first: make(chan struct{})}, nil
}

// backoffDelay is the delay before attempt n (0-based) of a reconnect
// series: initial * multiplier^n, randomised by ±jitter, capped at max.
func backoffDelay(b BackoffConfig, attempt int, rnd float64) time.Duration {
	d := float64(b.InitialInterval) * math.Pow(b.Multiplier, float64(attempt))
	if d > float64(b.MaxInterval) || math.IsInf(d, 0) || math.IsNaN(d) {
		d = float64(b.MaxInterval)
	}
	d *= 1 + b.Jitter*(2*rnd-1)
	return time.Duration(min(max(d, 0), float64(b.MaxInterval)))
}

// outage tracks the failed attempts since the last healthy subscription: it
// paces the reconnects and rate-limits the warnings.
type outage struct {
	attempt  int // position in the backoff series
	failures int // failed attempts since the last healthy subscription
	lastWarn time.Time
	warned   bool // a warning was logged since the last "Subscribed" info
}

// nextDelay is the backoff delay before the next attempt.
func (o *outage) nextDelay(b BackoffConfig) time.Duration {
	d := backoffDelay(b, o.attempt, mrand.Float64())
	o.attempt++
	return d
}

// run keeps a subscription open until ctx ends: it subscribes, holds the
// subscription until it ends, and resubscribes at once or after a backoff.
func (s *subscriber) run(ctx context.Context) {
	var o outage
	subscribedBefore := false
	for ctx.Err() == nil {
		conn, err := s.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if s.stopOnPermanent(err) {
				return
			}
			s.failed(&o, "Cannot reach the Jeeves kernel; retrying with backoff", err)
		} else {
			s.subscribed(ctx, &o, subscribedBefore)
			subscribedBefore = true
			healthy, lived, err := s.hold(ctx, conn)
			if ctx.Err() != nil {
				return
			}
			if s.stopOnPermanent(err) {
				return
			}
			if !s.needsBackoff(&o, healthy, lived, err) {
				continue
			}
		}
		if !s.wait(ctx, o.nextDelay(s.cfg.Backoff)) {
			return
		}
	}
}

// stopOnPermanent ends the subscription for good when err is one no retry
// can fix (isPermanent): the component reports a permanent error and the
// collector goes on without CommBus events until its configuration is fixed
// and it is restarted.
func (s *subscriber) stopOnPermanent(err error) bool {
	if err == nil || !isPermanent(err) {
		return false
	}
	s.logger.Error("The Jeeves kernel cannot accept this CommBus subscription; not retrying until the configuration is fixed and the collector restarted",
		zap.String("endpoint", s.cfg.Endpoint), zap.Strings("event_types", s.cfg.EventTypes), zap.Error(err))
	s.r.setStatus(componentstatus.StatusPermanentError, err)
	s.attempted()
	return true
}

// failed counts a failed attempt, reports the component's recoverable error
// (once per outage: statusReporter reports changes only) and warns,
// rate-limited: the first failure of an outage, then at most once per backoff
// cap, never per attempt.
func (s *subscriber) failed(o *outage, msg string, err error) {
	s.r.setStatus(componentstatus.StatusRecoverableError, err)
	s.attempted()
	o.failures++
	if o.failures != 1 && s.now().Sub(o.lastWarn) < s.cfg.Backoff.MaxInterval {
		return
	}
	o.lastWarn = s.now()
	o.warned = true
	s.logger.Warn(msg, zap.String("endpoint", s.cfg.Endpoint), zap.Int("failed_attempts", o.failures), zap.Error(err))
}

// subscribed counts a re-established subscription and logs the first one,
// and the recovery after warnings, at info.
func (s *subscriber) subscribed(ctx context.Context, o *outage, before bool) {
	if before {
		s.r.tel.ReceiverCommbusReconnects.Add(ctx, 1)
	}
	if before && !o.warned {
		return
	}
	o.warned = false
	s.logger.Info("Subscribed to the Jeeves kernel", zap.String("endpoint", s.cfg.Endpoint),
		zap.Int("failed_attempts", o.failures), zap.Strings("event_types", s.cfg.EventTypes))
}

// hold runs one subscription on conn until it ends, then closes conn. It
// reports whether the kernel sent any subscription frame and how long the
// subscription lived.
func (s *subscriber) hold(ctx context.Context, conn net.Conn) (healthy bool, lived time.Duration, err error) {
	mode := s.r.attrs.forMode(modeSubscribe)
	s.r.tel.ReceiverCommbusConnectionsActive.Add(ctx, 1, mode)
	began := s.now()
	healthy, err = s.session(ctx, conn)
	lived = s.now().Sub(began)
	s.r.tel.ReceiverCommbusConnectionsActive.Add(context.Background(), -1, mode)
	s.setConn(nil)
	_ = conn.Close()
	return healthy, lived, err
}

// needsBackoff decides, once a subscription ended, between resubscribing at
// once (false) and backing off as after a failed attempt (true).
func (s *subscriber) needsBackoff(o *outage, healthy bool, lived time.Duration, err error) bool {
	var refused *wire.ProtocolError
	switch {
	case errors.As(err, &refused):
		s.failed(o, "Jeeves kernel refused the CommBus subscription; retrying with backoff", err)
		return true
	case healthy || lived >= s.healthyAfter():
		// The subscription delivered events or lived a while: the kernel
		// dropped an idle connection or is restarting. Resubscribe at once
		// (events published meanwhile are lost) and start the backoff
		// series again.
		s.logger.Debug("CommBus subscription ended; resubscribing", zap.Error(err))
		o.failures, o.attempt = 0, 0
		return false
	default:
		// Closed at once without a word, as a kernel at its connection
		// limit does.
		s.failed(o, "Jeeves kernel closed the CommBus subscription at once; retrying with backoff", err)
		return true
	}
}

// healthyAfter is how long a subscription must stay open, without any frame,
// to count as healthy.
func (s *subscriber) healthyAfter() time.Duration {
	return max(s.cfg.Backoff.InitialInterval, time.Second)
}

// attempted marks the outcome of the first attempt known (the Subscribe
// request written, or a failure): Start waits for it.
func (s *subscriber) attempted() {
	s.firstOnce.Do(func() { close(s.first) })
}

func (s *subscriber) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *subscriber) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: s.cfg.DialTimeout, KeepAlive: 15 * time.Second}
	var (
		conn net.Conn
		err  error
	)
	if s.tlsCfg != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tlsCfg}).DialContext(ctx, "tcp", s.cfg.Endpoint)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.cfg.Endpoint)
	}
	if err != nil {
		return nil, err
	}
	if !s.setConn(conn) {
		_ = conn.Close()
		return nil, context.Canceled
	}
	return conn, nil
}

// setConn records the live connection so close can interrupt a blocked read;
// it refuses a new connection once closed.
func (s *subscriber) setConn(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed && c != nil {
		return false
	}
	s.conn = c
	return true
}

func (s *subscriber) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn != nil {
		_ = s.conn.Close()
	}
}

// newRequestID returns a random UUID (version 4), what Jeeves clients use.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// session subscribes on conn and reads until the stream ends. healthy says
// whether the kernel sent any subscription frame.
func (s *subscriber) session(ctx context.Context, conn net.Conn) (healthy bool, err error) {
	id := newRequestID()
	if err := s.sendSubscribe(conn, id); err != nil {
		return false, err
	}
	s.attempted()
	// The protocol has no answer to Subscribe: the subscription is OK once the
	// kernel sends a subscription frame or keeps it open as long as
	// needsBackoff asks of a healthy one, so a kernel that closes every
	// subscription at once does not flip the status at each attempt.
	okTimer := time.AfterFunc(s.healthyAfter(), func() { s.r.setStatus(componentstatus.StatusOK, nil) })
	defer okTimer.Stop()
	br := bufio.NewReaderSize(conn, readBufferSize)
	fr := wire.NewReader(br, 0)
	st := &stream{r: s.r, id: id, dec: wire.NewDecoder(), events: make([]wire.Event, 0, maxBatch)}
	defer st.flush(ctx)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return healthy, s.readError(ctx, err)
		}
		subscriptionFrame, end := st.handle(ctx, f)
		if subscriptionFrame && !healthy {
			healthy = true
			s.r.setStatus(componentstatus.StatusOK, nil)
		}
		if end != nil {
			return healthy, end
		}
		// Translate together what already arrived, then hand it on.
		if br.Buffered() == 0 || len(st.events) >= maxBatch {
			st.flush(ctx)
		}
	}
}

// sendSubscribe writes the commbus.Subscribe request; the protocol gives it
// no answer.
func (s *subscriber) sendSubscribe(conn net.Conn, id string) error {
	frame, err := wire.NewEncoder().Subscribe(id, wire.SubscribeBody{EventTypes: s.cfg.EventTypes, SubscriberID: s.cfg.SubscriberID})
	if err != nil {
		return err
	}
	_ = conn.SetWriteDeadline(time.Now().Add(subscribeWriteTimeout))
	if _, err = conn.Write(frame); err != nil {
		return err
	}
	_ = conn.SetWriteDeadline(time.Time{})
	return nil
}

// readError counts a broken stream by reason and returns the error that
// ended it (io.EOF for a clean end).
func (s *subscriber) readError(ctx context.Context, err error) error {
	var tl *wire.FrameTooLargeError
	switch {
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, wire.ErrTruncated):
		s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonTruncated)
	case errors.Is(err, wire.ErrZeroLength):
		s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonZeroLength)
	case errors.As(err, &tl):
		s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonFrameTooLarge)
	}
	return err
}

// stream is the read side of one subscription: it decodes the frames and
// collects the events read together into one batch.
type stream struct {
	r      *commbusReceiver
	id     string // the Subscribe request id every chunk must carry
	dec    *wire.Decoder
	events []wire.Event
}

// handle decodes one frame. subscriptionFrame says whether it belongs to the
// subscription (a chunk or its end); end is why the subscription ends, nil
// while it goes on.
func (st *stream) handle(ctx context.Context, f wire.Frame) (subscriptionFrame bool, end error) {
	switch f.Type {
	case wire.TypeStreamChunk:
		chunkID, ev, perr := st.dec.DecodeStreamChunk(f.Payload)
		switch {
		case perr != nil:
			st.r.countDecodeError(ctx, modeSubscribe, perr.Reason)
		case chunkID != st.id:
			st.r.countDecodeError(ctx, modeSubscribe, wire.ReasonUnexpectedFrame)
		default:
			st.events = append(st.events, ev)
		}
		return true, nil
	case wire.TypeStreamEnd:
		return true, errors.New("kernel ended the subscription (STREAM_END)")
	case wire.TypeError:
		st.r.countDecodeError(ctx, modeSubscribe, wire.ReasonErrorFrame)
		reply, derr := st.dec.DecodeReply(f.Payload)
		if derr != nil || reply.Err == nil {
			return false, errors.New("kernel sent an undecodable ERROR frame")
		}
		// The kernel refused the subscription; run logs it rate-limited.
		return false, reply.Err
	case wire.TypeRequest, wire.TypeResponse:
		// Subscribe has no response and kernels send no requests.
		st.r.countDecodeError(ctx, modeSubscribe, wire.ReasonUnexpectedFrame)
	default:
		st.r.countDecodeError(ctx, modeSubscribe, wire.ReasonUnknownFrameType)
	}
	return false, nil
}

// flush translates the collected events and hands them to the pipelines.
func (st *stream) flush(ctx context.Context) {
	if len(st.events) == 0 {
		return
	}
	if err := st.r.handleEvents(ctx, modeSubscribe, st.events, time.Now()); err != nil {
		st.r.set.Logger.Debug("pipeline refused CommBus events", zap.Error(err))
	}
	clear(st.events)
	st.events = st.events[:0]
}
