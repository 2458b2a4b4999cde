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

	// now is replaceable in tests.
	now func() time.Time
}

func newSubscriber(ctx context.Context, cfg SubscribeConfig, r *commbusReceiver) (*subscriber, error) {
	tlsCfg, err := cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscribe.tls: %w", err)
	}
	return &subscriber{cfg: cfg, r: r, logger: r.set.Logger, tlsCfg: tlsCfg, now: time.Now}, nil
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

func (s *subscriber) run(ctx context.Context) {
	var (
		attempt         int
		connectedOnce   bool
		failures        int // failed attempts since the last healthy subscription
		lastWarn        time.Time
		warnedSinceInfo bool
	)
	// warn is rate-limited: the first failure of an outage, then at most once
	// per backoff cap, never per attempt.
	warn := func(msg string, err error) {
		if failures != 1 && s.now().Sub(lastWarn) < s.cfg.Backoff.MaxInterval {
			return
		}
		lastWarn = s.now()
		warnedSinceInfo = true
		s.logger.Warn(msg, zap.String("endpoint", s.cfg.Endpoint), zap.Int("failed_attempts", failures), zap.Error(err))
	}
	backoff := func() bool {
		ok := s.wait(ctx, backoffDelay(s.cfg.Backoff, attempt, mrand.Float64()))
		attempt++
		return ok
	}
	for ctx.Err() == nil {
		conn, err := s.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			warn("Cannot reach the Jeeves kernel; retrying with backoff", err)
			if !backoff() {
				return
			}
			continue
		}

		if connectedOnce {
			s.r.tel.ReceiverCommbusReconnects.Add(ctx, 1)
		}
		if !connectedOnce || warnedSinceInfo {
			warnedSinceInfo = false
			s.logger.Info("Subscribed to the Jeeves kernel", zap.String("endpoint", s.cfg.Endpoint),
				zap.Int("failed_attempts", failures), zap.Strings("event_types", s.cfg.EventTypes))
		}
		connectedOnce = true
		s.r.tel.ReceiverCommbusConnectionsActive.Add(ctx, 1, s.r.attrs.forMode(modeSubscribe))
		began := s.now()
		healthy, err := s.session(ctx, conn)
		s.r.tel.ReceiverCommbusConnectionsActive.Add(context.Background(), -1, s.r.attrs.forMode(modeSubscribe))
		s.setConn(nil)
		_ = conn.Close()
		if ctx.Err() != nil {
			return
		}

		var refused *wire.ProtocolError
		switch {
		case errors.As(err, &refused):
			failures++
			warn("Jeeves kernel refused the CommBus subscription; retrying with backoff", err)
		case healthy || s.now().Sub(began) >= max(s.cfg.Backoff.InitialInterval, time.Second):
			// The subscription delivered events or lived a while: the kernel
			// dropped an idle connection or is restarting. Resubscribe at once
			// (events published meanwhile are lost) and start the backoff
			// series again.
			s.logger.Debug("CommBus subscription ended; resubscribing", zap.Error(err))
			failures, attempt = 0, 0
			continue
		default:
			// Closed at once without a word, as a kernel at its connection
			// limit does.
			failures++
			warn("Jeeves kernel closed the CommBus subscription at once; retrying with backoff", err)
		}
		if !backoff() {
			return
		}
	}
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
	frame, err := wire.NewEncoder().Subscribe(id, wire.SubscribeBody{EventTypes: s.cfg.EventTypes, SubscriberID: s.cfg.SubscriberID})
	if err != nil {
		return false, err
	}
	_ = conn.SetWriteDeadline(time.Now().Add(subscribeWriteTimeout))
	if _, err = conn.Write(frame); err != nil {
		return false, err
	}
	_ = conn.SetWriteDeadline(time.Time{})

	br := bufio.NewReaderSize(conn, readBufferSize)
	fr := wire.NewReader(br, 0)
	dec := wire.NewDecoder()
	events := make([]wire.Event, 0, maxBatch)
	flush := func() {
		if len(events) == 0 {
			return
		}
		if err := s.r.handleEvents(ctx, modeSubscribe, events, time.Now()); err != nil {
			s.logger.Debug("pipeline refused CommBus events", zap.Error(err))
		}
		clear(events)
		events = events[:0]
	}
	defer flush()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			var tl *wire.FrameTooLargeError
			switch {
			case errors.Is(err, io.EOF):
				return healthy, io.EOF
			case errors.Is(err, wire.ErrTruncated):
				s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonTruncated)
			case errors.Is(err, wire.ErrZeroLength):
				s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonZeroLength)
			case errors.As(err, &tl):
				s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonFrameTooLarge)
			}
			return healthy, err
		}
		switch f.Type {
		case wire.TypeStreamChunk:
			healthy = true
			chunkID, ev, perr := dec.DecodeStreamChunk(f.Payload)
			switch {
			case perr != nil:
				s.r.countDecodeError(ctx, modeSubscribe, perr.Reason)
			case chunkID != id:
				s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonUnexpectedFrame)
			default:
				events = append(events, ev)
			}
		case wire.TypeStreamEnd:
			return true, errors.New("kernel ended the subscription (STREAM_END)")
		case wire.TypeError:
			s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonErrorFrame)
			reply, derr := dec.DecodeReply(f.Payload)
			if derr != nil || reply.Err == nil {
				return healthy, errors.New("kernel sent an undecodable ERROR frame")
			}
			// The kernel refused the subscription; run logs it rate-limited.
			return healthy, reply.Err
		case wire.TypeRequest, wire.TypeResponse:
			// Subscribe has no response and kernels send no requests.
			s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonUnexpectedFrame)
		default:
			s.r.countDecodeError(ctx, modeSubscribe, wire.ReasonUnknownFrameType)
		}
		// Translate together what already arrived, then hand it on.
		if br.Buffered() == 0 || len(events) >= maxBatch {
			flush()
		}
	}
}
