// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver"

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// Reasons a server connection closed (receiver_commbus_connections_closed).
const (
	closeEOF      = "eof"
	closeIdle     = "idle_timeout"
	closeProtocol = "protocol_error"
	closeWrite    = "write_error"
	closeShutdown = "shutdown"
)

// Reasons a server connection was refused (receiver_commbus_connections_rejected).
const (
	rejectMaxConnections = "max_connections"
	rejectPerAddress     = "max_connections_per_address"
)

// rejectWriteTimeout bounds the RESOURCE_EXHAUSTED write to a connection
// over the limit, which happens on the accept goroutine.
const rejectWriteTimeout = time.Second

// server is listen mode: it answers the kernel IPC protocol like a Jeeves
// kernel whose only live service is commbus.Publish.
type server struct {
	cfg ListenConfig
	r   *commbusReceiver
	ln  net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// perAddr counts the open connections of each remote IP address. An
	// entry exists only while its address has a connection open, so the map
	// holds at most max_connections entries.
	perAddr map[string]int
	closed  bool
	wg      sync.WaitGroup
}

func newServer(ctx context.Context, cfg ListenConfig, r *commbusReceiver) (*server, error) {
	var tlsCfg *tls.Config
	if t := cfg.TLS.Get(); t != nil {
		var err error
		if tlsCfg, err = t.LoadTLSConfig(ctx); err != nil {
			return nil, fmt.Errorf("listen.tls: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("listen.endpoint %s: %w", cfg.Endpoint, err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	return &server{cfg: cfg, r: r, ln: ln, conns: map[net.Conn]struct{}{}, perAddr: map[string]int{}}, nil
}

func (s *server) addr() net.Addr { return s.ln.Addr() }

func (s *server) serve() {
	defer s.wg.Wait()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.isClosed() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient accept failures (EMFILE and the like): pause briefly.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		addr := remoteIP(c)
		if len(s.conns) >= s.cfg.MaxConnections {
			s.mu.Unlock()
			s.reject(c, rejectMaxConnections, fmt.Sprintf("connection limit reached (%d); retry shortly", s.cfg.MaxConnections), s.cfg.MaxConnections)
			continue
		}
		if s.perAddr[addr] >= s.cfg.MaxConnectionsPerAddress {
			s.mu.Unlock()
			s.reject(c, rejectPerAddress, fmt.Sprintf("connection limit per address reached (%d); retry shortly", s.cfg.MaxConnectionsPerAddress), s.cfg.MaxConnectionsPerAddress)
			continue
		}
		s.conns[c] = struct{}{}
		s.perAddr[addr]++
		s.wg.Add(1)
		s.mu.Unlock()
		s.r.tel.ReceiverCommbusConnectionsActive.Add(context.Background(), 1, s.r.attrs.forMode(modeListen))
		go s.handle(c, addr)
	}
}

// remoteIP is the address a connection is counted under for
// max_connections_per_address: the peer's IP without its port.
func remoteIP(c net.Conn) string {
	ra := c.RemoteAddr()
	if ta, ok := ra.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if host, _, err := net.SplitHostPort(ra.String()); err == nil {
		return host
	}
	return ra.String()
}

// reject answers a connection over a limit as a saturated Jeeves server
// would, with a retryable RESOURCE_EXHAUSTED carrying kernel_queue_capacity
// (here the limit that is full), and closes it.
func (s *server) reject(c net.Conn, reason, message string, capacity int) {
	s.r.tel.ReceiverCommbusConnectionsRejected.Add(context.Background(), 1, s.r.attrs.forReason(reason))
	frame, err := wire.NewEncoder().Error(&wire.ProtocolError{
		Code:          wire.CodeResourceExhausted,
		Message:       message,
		Retryable:     true,
		QueueCapacity: capacity,
	})
	if err == nil {
		_ = c.SetWriteDeadline(time.Now().Add(rejectWriteTimeout))
		_, _ = c.Write(frame)
	}
	_ = c.Close()
}

func (s *server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *server) close() {
	s.mu.Lock()
	s.closed = true
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
}

// conn is one publisher connection: one request at a time, replies in order.
type conn struct {
	s   *server
	c   net.Conn
	dec *wire.Decoder
	enc *wire.Encoder
	one [1]wire.Event
}

func (s *server) handle(c net.Conn, addr string) {
	reason := closeEOF
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		if s.perAddr[addr]--; s.perAddr[addr] <= 0 {
			delete(s.perAddr, addr)
		}
		closed := s.closed
		s.mu.Unlock()
		_ = c.Close()
		if closed {
			reason = closeShutdown
		}
		ctx := context.Background()
		s.r.tel.ReceiverCommbusConnectionsActive.Add(ctx, -1, s.r.attrs.forMode(modeListen))
		s.r.tel.ReceiverCommbusConnectionsClosed.Add(ctx, 1, s.r.attrs.forReason(reason))
		s.wg.Done()
	}()
	cn := &conn{s: s, c: c, dec: wire.NewDecoder(), enc: wire.NewEncoder()}
	fr := wire.NewReader(bufio.NewReaderSize(c, 32<<10), s.cfg.MaxFrameBytes)
	ctx := context.Background()
	for {
		if s.cfg.IdleTimeout > 0 {
			_ = c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		}
		f, err := fr.ReadFrame()
		if err != nil {
			reason = cn.readFailed(ctx, err)
			return
		}
		var reply []byte
		switch {
		case f.Type == wire.TypeRequest:
			reply = cn.request(ctx, f.Payload)
		case wire.KnownType(f.Type):
			s.r.countDecodeError(ctx, modeListen, wire.ReasonUnexpectedFrame)
			reply = cn.errorFrame(&wire.ProtocolError{Code: wire.CodeInvalidArgument, Message: "unexpected frame type " + wire.TypeName(f.Type) + "; clients send REQUEST frames"})
		default:
			s.r.countDecodeError(ctx, modeListen, wire.ReasonUnknownFrameType)
			reply = cn.errorFrame(&wire.ProtocolError{Code: wire.CodeInvalidArgument, Message: "unknown frame type " + wire.TypeName(f.Type)})
		}
		if reply == nil {
			continue
		}
		if err := cn.write(reply); err != nil {
			reason = closeWrite
			return
		}
	}
}

// readFailed counts a failed read and, for a bad length prefix, tells the
// peer why before the connection closes: after one the stream has no frame
// boundary left to trust.
func (cn *conn) readFailed(ctx context.Context, err error) string {
	var (
		ne net.Error
		tl *wire.FrameTooLargeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return closeEOF
	case errors.As(err, &ne) && ne.Timeout():
		return closeIdle
	case errors.Is(err, wire.ErrTruncated):
		cn.s.r.countDecodeError(ctx, modeListen, wire.ReasonTruncated)
		return closeProtocol
	case errors.Is(err, wire.ErrZeroLength):
		cn.s.r.countDecodeError(ctx, modeListen, wire.ReasonZeroLength)
		_ = cn.write(cn.errorFrame(&wire.ProtocolError{Code: wire.CodeInvalidArgument, Message: "frame length 0 is invalid"}))
		return closeProtocol
	case errors.As(err, &tl):
		cn.s.r.countDecodeError(ctx, modeListen, wire.ReasonFrameTooLarge)
		_ = cn.write(cn.errorFrame(&wire.ProtocolError{
			Code:    wire.CodeResourceExhausted,
			Message: fmt.Sprintf("frame length %d exceeds the limit of %d bytes", tl.Length, tl.Limit),
		}))
		return closeProtocol
	}
	return closeEOF
}

func (cn *conn) write(frame []byte) error {
	_ = cn.c.SetWriteDeadline(time.Now().Add(cn.s.cfg.WriteTimeout))
	_, err := cn.c.Write(frame)
	return err
}

func (cn *conn) errorFrame(pe *wire.ProtocolError) []byte {
	b, err := cn.enc.Error(pe)
	if err != nil {
		// Only an oversize message could fail; answer without it.
		b, _ = cn.enc.Error(&wire.ProtocolError{ID: pe.ID, Code: pe.Code, Message: "error"})
	}
	return b
}

// request answers one REQUEST frame the way a Jeeves kernel would.
func (cn *conn) request(ctx context.Context, payload []byte) []byte {
	req, perr := cn.dec.DecodeRequest(payload)
	if perr != nil {
		cn.s.r.countDecodeError(ctx, modeListen, perr.Reason)
		return cn.errorFrame(perr)
	}
	if req.Service != "commbus" {
		return cn.errorFrame(&wire.ProtocolError{ID: req.ID, Code: wire.CodeNotFound,
			Message: fmt.Sprintf("service %q is not served here; this endpoint only receives commbus.Publish", req.Service)})
	}
	switch req.Method {
	case "Publish":
		return cn.publish(ctx, req)
	case "Send", "Query":
		typeKey, kind := "command_type", "command"
		if req.Method == "Query" {
			typeKey, kind = "query_type", "query"
		}
		hb, perr := cn.dec.DecodeHandlerBody(req.ID, typeKey, req.Body)
		if perr != nil {
			cn.s.r.countDecodeError(ctx, modeListen, perr.Reason)
			return cn.errorFrame(perr)
		}
		// Like a kernel with no handler registered for the type.
		return cn.errorFrame(&wire.ProtocolError{ID: req.ID, Code: wire.CodeNotFound,
			Message: fmt.Sprintf("no handler registered for %s %q", kind, hb.Type)})
	case "Subscribe":
		if _, perr := cn.dec.DecodeSubscribe(req.ID, req.Body); perr != nil {
			cn.s.r.countDecodeError(ctx, modeListen, perr.Reason)
			return cn.errorFrame(perr)
		}
		return cn.errorFrame(&wire.ProtocolError{ID: req.ID, Code: wire.CodeFailedPrecondition,
			Message: "this endpoint is an OpenTelemetry collector that only receives events; subscribe to the Jeeves kernel"})
	}
	return cn.errorFrame(&wire.ProtocolError{ID: req.ID, Code: wire.CodeNotFound,
		Message: fmt.Sprintf("unknown method commbus.%s", req.Method)})
}

func (cn *conn) publish(ctx context.Context, req wire.Request) []byte {
	ev, perr := cn.dec.DecodePublish(req.ID, req.Body)
	if perr != nil {
		cn.s.r.countDecodeError(ctx, modeListen, perr.Reason)
		return cn.errorFrame(perr)
	}
	// A kernel checks that the payload parses; the event is still recorded
	// (as a string body, counted) so nothing is dropped silently.
	validJSON := json.Valid(unsafe.Slice(unsafe.StringData(ev.Payload), len(ev.Payload)))
	cn.one[0] = ev
	err := cn.s.r.handleEvents(ctx, modeListen, cn.one[:], time.Now())
	cn.one[0] = wire.Event{}
	if err != nil {
		cn.s.r.set.Logger.Debug("pipeline refused a published CommBus event", zap.Error(err))
		if consumererror.IsPermanent(err) {
			return cn.errorFrame(&wire.ProtocolError{ID: req.ID, Code: wire.CodeInternal, Message: "the collector pipeline refused the event"})
		}
		return cn.errorFrame(&wire.ProtocolError{ID: req.ID, Code: wire.CodeUnavailable, Message: "the collector pipeline is busy; retry", Retryable: true})
	}
	if !validJSON {
		return cn.errorFrame(&wire.ProtocolError{ID: req.ID, Code: wire.CodeInvalidArgument, Message: "payload is not valid JSON text"})
	}
	b, err := cn.enc.PublishResponse(req.ID, cn.s.r.deliveredCount())
	if err != nil {
		return cn.errorFrame(&wire.ProtocolError{ID: req.ID, Code: wire.CodeInternal, Message: err.Error()})
	}
	return b
}
