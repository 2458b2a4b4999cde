// Package testkernel is a test stand-in for a Jeeves kernel: a real TCP
// server speaking the CommBus kernel IPC protocol that records subscriptions,
// publishes scripted events to its subscribers, and can be killed and
// restarted on the same address. It also has a publisher client.
package testkernel // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// Subscription is one commbus.Subscribe the kernel accepted.
type Subscription struct {
	RequestID    string
	EventTypes   []string
	SubscriberID string
}

type subscriber struct {
	Subscription
	conn net.Conn
	wmu  sync.Mutex
}

// Kernel is a test kernel.
type Kernel struct {
	t      testing.TB
	addr   string
	tlsCfg *tls.Config

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{}
	subs    []*subscriber
	history []Subscription
	wg      sync.WaitGroup
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves until
// Close, which t.Cleanup calls.
func Start(t testing.TB, addr string) *Kernel { return StartTLS(t, addr, nil) }

// StartTLS is Start with TLS when cfg is not nil.
func StartTLS(t testing.TB, addr string, cfg *tls.Config) *Kernel {
	t.Helper()
	k := &Kernel{t: t, conns: map[net.Conn]struct{}{}, tlsCfg: cfg}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("testkernel: listen: %v", err)
	}
	k.addr = ln.Addr().String()
	k.serve(ln)
	t.Cleanup(k.Close)
	return k
}

// Addr is the kernel's host:port; it stays the same across restarts.
func (k *Kernel) Addr() string { return k.addr }

func (k *Kernel) serve(ln net.Listener) {
	if k.tlsCfg != nil {
		ln = tls.NewListener(ln, k.tlsCfg)
	}
	k.mu.Lock()
	k.ln = ln
	k.mu.Unlock()
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			k.mu.Lock()
			if k.ln != ln {
				// Killed between Accept and here: Kill's sweep has already
				// run, so nothing else would close this connection.
				k.mu.Unlock()
				_ = c.Close()
				return
			}
			k.conns[c] = struct{}{}
			k.mu.Unlock()
			k.wg.Add(1)
			go func() {
				defer k.wg.Done()
				k.handle(c)
			}()
		}
	}()
}

func (k *Kernel) handle(c net.Conn) {
	defer func() {
		k.mu.Lock()
		delete(k.conns, c)
		k.subs = slices.DeleteFunc(k.subs, func(s *subscriber) bool { return s.conn == c })
		k.mu.Unlock()
		_ = c.Close()
	}()
	fr := wire.NewReader(bufio.NewReader(c), 0)
	dec := wire.NewDecoder()
	enc := wire.NewEncoder()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if f.Type != wire.TypeRequest {
			b, _ := enc.Error(&wire.ProtocolError{Code: wire.CodeInvalidArgument, Message: "unexpected frame"})
			_, _ = c.Write(b)
			continue
		}
		req, perr := dec.DecodeRequest(f.Payload)
		if perr != nil {
			b, _ := enc.Error(perr)
			_, _ = c.Write(b)
			continue
		}
		if req.Service == "commbus" && req.Method == "Subscribe" {
			sb, perr := dec.DecodeSubscribe(req.ID, req.Body)
			if perr != nil {
				b, _ := enc.Error(perr)
				_, _ = c.Write(b)
				continue
			}
			// No acknowledgement: the connection now only carries chunks.
			s := &subscriber{Subscription: Subscription{RequestID: req.ID, EventTypes: sb.EventTypes, SubscriberID: sb.SubscriberID}, conn: c}
			k.mu.Lock()
			k.subs = append(k.subs, s)
			k.history = append(k.history, s.Subscription)
			k.mu.Unlock()
			continue
		}
		b, _ := enc.Error(&wire.ProtocolError{ID: req.ID, Code: wire.CodeNotFound, Message: "not served by the test kernel"})
		_, _ = c.Write(b)
	}
}

// Publish sends ev as a STREAM_CHUNK to every subscriber of its exact type
// and returns how many it reached, like the kernel's delivered count.
func (k *Kernel) Publish(ev wire.Event) int {
	k.mu.Lock()
	subs := slices.Clone(k.subs)
	k.mu.Unlock()
	n := 0
	enc := wire.NewEncoder()
	for _, s := range subs {
		if !slices.Contains(s.EventTypes, ev.EventType) {
			continue
		}
		b, err := enc.StreamChunk(s.RequestID, ev)
		if err != nil {
			k.t.Errorf("testkernel: encode: %v", err)
			continue
		}
		s.wmu.Lock()
		_ = s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err = s.conn.Write(b)
		s.wmu.Unlock()
		if err == nil {
			n++
		}
	}
	return n
}

// WriteRaw writes b as is to every subscriber connection (to send bad input).
func (k *Kernel) WriteRaw(b []byte) {
	k.mu.Lock()
	subs := slices.Clone(k.subs)
	k.mu.Unlock()
	for _, s := range subs {
		s.wmu.Lock()
		_, _ = s.conn.Write(b)
		s.wmu.Unlock()
	}
}

// Subscribers is the number of live subscriptions.
func (k *Kernel) Subscribers() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.subs)
}

// History is every subscription ever accepted, in order.
func (k *Kernel) History() []Subscription {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.history)
}

// WaitSubscribers waits until at least n subscriptions are live.
func (k *Kernel) WaitSubscribers(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if k.Subscribers() >= n {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return errors.New("testkernel: timed out waiting for subscribers")
}

// Kill stops the kernel abruptly: the listener and every connection close.
func (k *Kernel) Kill() {
	k.mu.Lock()
	if k.ln != nil {
		_ = k.ln.Close()
		k.ln = nil
	}
	for c := range k.conns {
		_ = c.Close()
	}
	k.mu.Unlock()
	k.wg.Wait()
}

// DropConnections closes every connection but keeps listening, as a kernel
// dropping idle connections does.
func (k *Kernel) DropConnections() {
	k.mu.Lock()
	for c := range k.conns {
		_ = c.Close()
	}
	k.mu.Unlock()
}

// Restart listens again on the same address after Kill.
func (k *Kernel) Restart() {
	k.t.Helper()
	var (
		ln  net.Listener
		err error
	)
	for range 100 {
		if ln, err = net.Listen("tcp", k.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		k.t.Fatalf("testkernel: restart on %s: %v", k.addr, err)
	}
	k.serve(ln)
}

// Close stops the kernel for good.
func (k *Kernel) Close() { k.Kill() }

// Client is a CommBus publisher: one connection, one request at a time.
type Client struct {
	Conn net.Conn
	fr   *wire.Reader
	enc  *wire.Encoder
	dec  *wire.Decoder
}

// Dial connects a publisher client.
func Dial(addr string) (*Client, error) { return DialTLS(addr, nil) }

// DialFrom is Dial from the local IP address from (any port), so that a test
// can be a second client machine: on Linux every 127.0.0.0/8 address is local.
func DialFrom(addr, from string) (*Client, error) {
	return dial(&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}, addr, nil)
}

// DialTLS is Dial with TLS when cfg is not nil.
func DialTLS(addr string, cfg *tls.Config) (*Client, error) {
	return dial(&net.Dialer{Timeout: 5 * time.Second}, addr, cfg)
}

func dial(d *net.Dialer, addr string, cfg *tls.Config) (*Client, error) {
	var (
		c   net.Conn
		err error
	)
	if cfg != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, cfg)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	return &Client{Conn: c, fr: wire.NewReader(bufio.NewReader(c), 0), enc: wire.NewEncoder(), dec: wire.NewDecoder()}, nil
}

// Publish calls commbus.Publish and returns the reply.
func (c *Client) Publish(id string, ev wire.Event) (byte, wire.Reply, error) {
	b, err := c.enc.Publish(id, ev)
	if err != nil {
		return 0, wire.Reply{}, err
	}
	return c.roundTrip(b)
}

// Call sends any request and returns the reply.
func (c *Client) Call(id, service, method string, body any) (byte, wire.Reply, error) {
	b, err := c.enc.Request(id, service, method, body)
	if err != nil {
		return 0, wire.Reply{}, err
	}
	return c.roundTrip(b)
}

// WriteRaw writes raw bytes and returns the next reply frame.
func (c *Client) WriteRaw(b []byte) (byte, wire.Reply, error) { return c.roundTrip(b) }

func (c *Client) roundTrip(b []byte) (byte, wire.Reply, error) {
	_ = c.Conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Conn.Write(b); err != nil {
		return 0, wire.Reply{}, err
	}
	return c.ReadReply()
}

// ReadReply reads one reply frame.
func (c *Client) ReadReply() (byte, wire.Reply, error) {
	f, err := c.fr.ReadFrame()
	if err != nil {
		return 0, wire.Reply{}, err
	}
	r, err := c.dec.DecodeReply(f.Payload)
	return f.Type, r, err
}

// Close closes the connection.
func (c *Client) Close() error { return c.Conn.Close() }
