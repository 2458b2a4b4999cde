// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// perAddrEntries is the size of the server's per-address map.
func (h *harness) perAddrEntries() int {
	srv := h.shared.rcv.srv
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.perAddr)
}

// TestListenPerAddressCapKeepsPublishersServed: with the default limits
// (100 connections, 8 per address), 200 idle connections from 127.0.0.1 hold
// 8 slots and the other 192 are refused as a saturated kernel refuses, so a
// real publisher from another address (127.0.0.2) is still served.
func TestListenPerAddressCapKeepsPublishersServed(t *testing.T) {
	cfg := listenConfig()
	lis := cfg.Listen.Get()
	require.Equal(t, 100, lis.MaxConnections)
	require.Equal(t, 8, lis.MaxConnectionsPerAddress)
	cfg.Metrics.SeriesExpiration = 0 // listenConfig flushes hourly
	require.NoError(t, cfg.Validate())
	h := newHarness(t, cfg)
	h.start()

	const idle = 200
	clients := make([]*testkernel.Client, 0, idle)
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	for range idle {
		c, err := testkernel.DialFrom(h.listenAddr(), "127.0.0.1")
		require.NoError(t, err)
		clients = append(clients, c)
	}
	eventually(t, "192 refused", func() bool {
		return h.counter("otelcol_receiver_commbus_connections_rejected", "reason", "max_connections_per_address") == idle-8
	})
	assert.Equal(t, int64(8), h.counter("otelcol_receiver_commbus_connections_active", "mode", "listen"))
	assert.Equal(t, int64(0), h.counter("otelcol_receiver_commbus_connections_rejected", "reason", "max_connections"))
	assert.Equal(t, 1, h.perAddrEntries())

	// Connections are accepted in the order they were made: the first 8 hold
	// slots, every later one got the refusal, then EOF.
	for i, c := range clients[8:] {
		_ = c.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, reply, err := c.ReadReply()
		require.NoError(t, err, "client %d", i+8)
		require.Equal(t, wire.TypeError, typ)
		require.Equal(t, &wire.ProtocolError{
			Code: wire.CodeResourceExhausted, Message: "connection limit per address reached (8); retry shortly",
			Retryable: true, QueueCapacity: 8,
		}, reply.Err)
		_, _, err = c.ReadReply()
		require.ErrorIs(t, err, io.EOF, "client %d closed after the refusal", i+8)
	}

	// The real publisher, on another address, is served.
	pub, err := testkernel.DialFrom(h.listenAddr(), "127.0.0.2")
	require.NoError(t, err)
	defer func() { _ = pub.Close() }()
	publish(t, pub, "real", wire.Event{EventType: "x", Payload: "{}"})
	assert.Equal(t, int64(9), h.counter("otelcol_receiver_commbus_connections_active", "mode", "listen"))
	assert.Equal(t, 2, h.perAddrEntries())

	// Entries exist only for open connections: closing everything empties
	// the map, so it never holds more than max_connections addresses.
	require.NoError(t, pub.Close())
	for _, c := range clients {
		_ = c.Close()
	}
	eventually(t, "no connection left", func() bool {
		return h.counter("otelcol_receiver_commbus_connections_active", "mode", "listen") == 0
	})
	assert.Equal(t, 0, h.perAddrEntries())
}

// TestListenIdleConnectionFreesItsAddressSlot: a connection that never sends
// a frame is closed after idle_timeout, counted from accept, and its address
// may then connect again.
func TestListenIdleConnectionFreesItsAddressSlot(t *testing.T) {
	cfg := listenConfig()
	cfg.Listen.Get().MaxConnectionsPerAddress = 1
	cfg.Listen.Get().IdleTimeout = 200 * time.Millisecond
	cfg.Metrics.SeriesExpiration = 0 // listenConfig flushes hourly
	require.NoError(t, cfg.Validate())
	h := newHarness(t, cfg)
	h.start()

	silent, err := testkernel.DialFrom(h.listenAddr(), "127.0.0.1")
	require.NoError(t, err)
	defer func() { _ = silent.Close() }()
	eventually(t, "silent one active", func() bool {
		return h.counter("otelcol_receiver_commbus_connections_active", "mode", "listen") == 1
	})
	start := time.Now()

	second, err := testkernel.DialFrom(h.listenAddr(), "127.0.0.1")
	require.NoError(t, err)
	defer func() { _ = second.Close() }()
	typ, reply, err := second.ReadReply()
	require.NoError(t, err)
	assert.Equal(t, wire.TypeError, typ)
	assert.Equal(t, wire.CodeResourceExhausted, reply.Err.Code)
	assert.Equal(t, 1, reply.Err.QueueCapacity)

	_ = silent.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = silent.ReadReply()
	require.ErrorIs(t, err, io.EOF, "closed by the server after idle_timeout")
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 150*time.Millisecond, "not before idle_timeout")
	assert.Less(t, took, 2*time.Second)
	eventually(t, "idle close counted", func() bool {
		return h.counter("otelcol_receiver_commbus_connections_closed", "reason", "idle_timeout") == 1
	})
	eventually(t, "address slot freed", func() bool { return h.perAddrEntries() == 0 })

	again, err := testkernel.DialFrom(h.listenAddr(), "127.0.0.1")
	require.NoError(t, err)
	defer func() { _ = again.Close() }()
	publish(t, again, "again", wire.Event{EventType: "x", Payload: "{}"})
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_connections_rejected", "reason", "max_connections_per_address"))
}
