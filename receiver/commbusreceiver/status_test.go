// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// statusHost is the host of one pipeline face: it records the status events
// the receiver reports, as the collector's per-instance host does.
type statusHost struct {
	mu     sync.Mutex
	events []*componentstatus.Event
}

var _ componentstatus.Reporter = (*statusHost)(nil)

func (*statusHost) GetExtensions() map[component.ID]component.Component { return nil }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]componentstatus.Status, len(h.events))
	for i, ev := range h.events {
		out[i] = ev.Status()
	}
	return out
}

func (h *statusHost) last() *componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return nil
	}
	return h.events[len(h.events)-1]
}

func (h *statusHost) waitFor(t *testing.T, want componentstatus.Status) {
	t.Helper()
	eventually(t, fmt.Sprintf("status %s (have %v)", want, h.statuses()), func() bool {
		ev := h.last()
		return ev != nil && ev.Status() == want
	})
}

// connectionsPoint is the connections_active data point of mode; ok is false
// when the series does not exist.
func (h *harness) connectionsPoint(mode string) (value int64, ok bool) {
	m, err := h.tel.GetMetric("otelcol_receiver_commbus_connections_active")
	if err != nil {
		return 0, false
	}
	sum, isSum := m.Data.(metricdata.Sum[int64])
	if !isSum {
		return 0, false
	}
	for _, dp := range sum.DataPoints {
		if v, found := dp.Attributes.Value(attribute.Key("mode")); found && v.AsString() == mode {
			return dp.Value, true
		}
	}
	return 0, false
}

const (
	stStarting    = componentstatus.StatusStarting
	stOK          = componentstatus.StatusOK
	stRecoverable = componentstatus.StatusRecoverableError
	stPermanent   = componentstatus.StatusPermanentError
)

// TestStatusFollowsTheKernel: unreachable kernel → one recoverable error
// however many attempts fail, on every pipeline face; kernel back → OK;
// killed → recoverable; back → OK. The subscription gauge is 0, not absent,
// while the kernel has never been reached.
func TestStatusFollowsTheKernel(t *testing.T) {
	kernel := testkernel.Start(t, "127.0.0.1:0")
	kernel.Kill()

	h := newHarness(t, subscribeConfig(kernel.Addr())) // backoff 20 ms .. 200 ms
	logsHost, tracesHost, metricsHost := &statusHost{}, &statusHost{}, &statusHost{}
	require.NoError(t, h.shared.Start(t.Context(), logsHost))
	// Start waited for the first attempt: the error is there when it returns.
	assert.Equal(t, []componentstatus.Status{stStarting, stRecoverable}, logsHost.statuses())
	assert.ErrorContains(t, logsHost.last().Err(), "connection refused")
	// The other faces start later and are told the current status.
	require.NoError(t, h.shared.Start(t.Context(), tracesHost))
	require.NoError(t, h.shared.Start(t.Context(), metricsHost))

	v, present := h.connectionsPoint(modeSubscribe)
	assert.True(t, present, "connections_active{mode=subscribe} exists before any subscription")
	assert.Equal(t, int64(0), v)
	_, present = h.connectionsPoint(modeListen)
	assert.False(t, present, "no listen series without listen mode")

	// Many failed attempts (20 ms .. 200 ms apart), still one report.
	time.Sleep(600 * time.Millisecond)
	assert.Equal(t, []componentstatus.Status{stStarting, stRecoverable}, logsHost.statuses())

	kernel.Restart()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	logsHost.waitFor(t, stOK)
	v, _ = h.connectionsPoint(modeSubscribe)
	assert.Equal(t, int64(1), v)

	kernel.Kill()
	logsHost.waitFor(t, stRecoverable)
	v, _ = h.connectionsPoint(modeSubscribe)
	assert.Equal(t, int64(0), v)

	// A kernel event is a subscription frame: OK at once, before the 1 s a
	// silent subscription must last.
	kernel.Restart()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	require.Equal(t, 1, kernel.Publish(kernelScript()[0]))
	logsHost.waitFor(t, stOK)

	h.shutdown()
	want := []componentstatus.Status{stStarting, stRecoverable, stOK, stRecoverable, stOK}
	assert.Equal(t, want, logsHost.statuses(), "shutdown reports nothing: the collector reports Stopping itself")
	assert.Equal(t, want[1:], tracesHost.statuses())
	assert.Equal(t, want[1:], metricsHost.statuses())
}

// TestStatusListenIsOKOnceBound: listen mode alone is OK as soon as Start
// bound the port, with the listen gauge at 0.
func TestStatusListenIsOKOnceBound(t *testing.T) {
	h := newHarness(t, listenConfig())
	host := &statusHost{}
	require.NoError(t, h.shared.Start(t.Context(), host))
	assert.Equal(t, []componentstatus.Status{stStarting, stOK}, host.statuses())
	v, present := h.connectionsPoint(modeListen)
	assert.True(t, present)
	assert.Equal(t, int64(0), v)
}

// TestStatusDoesNotFlapOnInstantClose: a kernel that accepts and closes every
// connection at once (as one at its connection limit does) is an error, and
// stays one error, not OK and error at each attempt.
func TestStatusDoesNotFlapOnInstantClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted sync.WaitGroup
	accepted.Add(1)
	go func() {
		defer accepted.Done()
		for {
			c, aerr := ln.Accept()
			if aerr != nil {
				return
			}
			_ = c.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		accepted.Wait()
	})

	h := newHarness(t, subscribeConfig(ln.Addr().String()))
	host := &statusHost{}
	require.NoError(t, h.shared.Start(t.Context(), host))
	host.waitFor(t, stRecoverable)
	time.Sleep(1500 * time.Millisecond) // several attempts, each past the Subscribe write
	h.shutdown()
	assert.Equal(t, []componentstatus.Status{stStarting, stRecoverable}, host.statuses())
}

// TestStatusPermanentWhenTheKernelRejectsTheSubscription: an INVALID_ARGUMENT
// refusal cannot be fixed by retrying: permanent error, logged, and no
// further attempts.
func TestStatusPermanentWhenTheKernelRejectsTheSubscription(t *testing.T) {
	kernel := testkernel.Start(t, "127.0.0.1:0")
	h := newHarness(t, subscribeConfig(kernel.Addr()))
	host := &statusHost{}
	require.NoError(t, h.shared.Start(t.Context(), host))
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	refusal, err := wire.NewEncoder().Error(&wire.ProtocolError{
		ID: kernel.History()[0].RequestID, Code: wire.CodeInvalidArgument, Message: "unknown event type",
	})
	require.NoError(t, err)
	kernel.WriteRaw(refusal)
	host.waitFor(t, stPermanent)
	assert.ErrorContains(t, host.last().Err(), "INVALID_ARGUMENT: unknown event type")
	eventually(t, "logged", func() bool {
		return h.logged.FilterMessageSnippet("cannot accept this CommBus subscription").Len() == 1
	})
	time.Sleep(500 * time.Millisecond) // more than two backoff caps
	assert.Len(t, kernel.History(), 1, "no new attempt after a permanent error")
	assert.Equal(t, []componentstatus.Status{stStarting, stPermanent}, host.statuses())
}

// TestStatusPermanentOnUntrustedKernelCertificate: a kernel whose certificate
// does not verify against subscribe.tls is a configuration to fix.
func TestStatusPermanentOnUntrustedKernelCertificate(t *testing.T) {
	_, _, _, serverTLS := selfSigned(t)
	otherCA, _, _, _ := selfSigned(t)
	kernel := testkernel.StartTLS(t, "127.0.0.1:0", serverTLS)
	cfg := subscribeConfig(kernel.Addr())
	cfg.Subscribe.Get().TLS = configtls.ClientConfig{Config: configtls.Config{CAFile: otherCA}}
	h := newHarness(t, cfg)
	host := &statusHost{}
	require.NoError(t, h.shared.Start(t.Context(), host))
	assert.Equal(t, []componentstatus.Status{stStarting, stPermanent}, host.statuses())
	assert.ErrorContains(t, host.last().Err(), "certificate")
}

func TestIsPermanent(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"invalid argument", &wire.ProtocolError{Code: wire.CodeInvalidArgument}, true},
		{"not found", fmt.Errorf("wrapped: %w", &wire.ProtocolError{Code: wire.CodeNotFound}), true},
		{"retryable invalid argument", &wire.ProtocolError{Code: wire.CodeInvalidArgument, Retryable: true}, false},
		{"resource exhausted", &wire.ProtocolError{Code: wire.CodeResourceExhausted}, false},
		{"unavailable", &wire.ProtocolError{Code: wire.CodeUnavailable}, false},
		{"certificate", &net.OpError{Op: "remote error", Err: &tls.CertificateVerificationError{Err: errors.New("x509: unknown authority")}}, true},
		{"refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"eof", errors.New("EOF"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, isPermanent(tc.err))
		})
	}
}
