// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// FuzzServerConnection feeds arbitrary bytes to one listen-mode connection
// (over net.Pipe): the server never panics, every reply is a well-formed
// RESPONSE or ERROR frame, and the connection always ends.
func FuzzServerConnection(f *testing.F) {
	enc := wire.NewEncoder()
	add := func(b []byte, err error) {
		if err == nil {
			f.Add(append([]byte(nil), b...))
		}
	}
	add(enc.Publish("a", wire.Event{EventType: "process.created", Payload: `{"pid":"1"}`, Source: "kernel"}))
	add(enc.Request("q", "commbus", "Query", map[string]any{"query_type": "Q", "payload": "{}"}))
	add(enc.Subscribe("s", wire.SubscribeBody{EventTypes: []string{"x"}}))
	add(enc.Request("k", "kernel", "X", map[string]any{}))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 2, 0x09, 0x80, 0, 0, 0, 2, 0x01, 0xc1})

	cfg := listenConfig()
	cfg.Listen.Get().MaxFrameBytes = 1 << 16
	cfg.Listen.Get().IdleTimeout = 5 * time.Second
	set := receivertest.NewNopSettings(metadata.Type)
	r, err := newReceiver(cfg, set)
	require.NoError(f, err)
	r.logs, r.traces, r.metrics = consumertest.NewNop(), consumertest.NewNop(), consumertest.NewNop()
	r.tr = translate.New(r.translatorConfig())

	f.Fuzz(func(t *testing.T, in []byte) {
		s := &server{cfg: *cfg.Listen.Get(), r: r, conns: map[net.Conn]struct{}{}, perAddr: map[string]int{"pipe": 1}}
		client, srv := net.Pipe()
		s.mu.Lock()
		s.conns[srv] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		done := make(chan struct{})
		go func() {
			s.handle(srv, "pipe")
			close(done)
		}()
		go func() {
			_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, _ = client.Write(in)
			// Half-close is not available on a pipe: closing the whole
			// client ends the stream; replies written after that are lost.
			time.Sleep(time.Millisecond)
			_ = client.Close()
		}()
		fr := wire.NewReader(bufio.NewReader(client), 0)
		d := wire.NewDecoder()
		for {
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			frame, err := fr.ReadFrame()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatal("server stopped answering")
				}
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, wire.ErrTruncated) {
					t.Fatalf("reading replies: %v", err)
				}
				break
			}
			if frame.Type != wire.TypeResponse && frame.Type != wire.TypeError {
				t.Fatalf("reply frame type %s", wire.TypeName(frame.Type))
			}
			if _, err := d.DecodeReply(frame.Payload); err != nil {
				t.Fatalf("undecodable reply: %v", err)
			}
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("connection did not end")
		}
	})
}
