// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

// Package commbustest exposes the commbus receiver's test kernel and
// publisher client to tests outside the receiver (the end-to-end suite): a
// real TCP server speaking the Jeeves CommBus kernel IPC protocol that records
// subscriptions, publishes scripted events, and can be killed and restarted
// on the same address.
package commbustest // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/commbustest"

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

type (
	// Kernel is a test Jeeves kernel (Publish, WaitSubscribers, History, Kill, Restart, DropConnections, Close).
	Kernel = testkernel.Kernel
	// Subscription is one commbus.Subscribe the kernel accepted.
	Subscription = testkernel.Subscription
	// Client is a CommBus publisher client (Publish, Call, WriteRaw, ReadReply, Close).
	Client = testkernel.Client
	// Event is a CommBus event: event_type, JSON payload, source, timestamp_ms.
	Event = wire.Event
	// Reply is a decoded RESPONSE or ERROR frame.
	Reply = wire.Reply
	// ProtocolError is the content of an ERROR frame.
	ProtocolError = wire.ProtocolError
)

// Frame types of replies.
const (
	TypeResponse = wire.TypeResponse
	TypeError    = wire.TypeError
)

// StartKernel starts a test kernel on addr ("127.0.0.1:0" picks a free port);
// t.Cleanup closes it.
func StartKernel(t testing.TB, addr string) *Kernel { return testkernel.Start(t, addr) }

// StartKernelTLS is StartKernel with TLS.
func StartKernelTLS(t testing.TB, addr string, cfg *tls.Config) *Kernel {
	return testkernel.StartTLS(t, addr, cfg)
}

// Dial connects a publisher to a listen-mode receiver (or a kernel).
func Dial(addr string) (*Client, error) { return testkernel.Dial(addr) }

// DialFrom is Dial from the local IP address from (e.g. 127.0.0.2: on Linux
// every 127.0.0.0/8 address is local), to act as a second client machine.
func DialFrom(addr, from string) (*Client, error) { return testkernel.DialFrom(addr, from) }

// DialTLS is Dial with TLS.
func DialTLS(addr string, cfg *tls.Config) (*Client, error) { return testkernel.DialTLS(addr, cfg) }

// LifecycleScript is the kernel sequence the receiver's own tests publish:
// p1 runs, waits on a clarification, resumes, is snapshotted and terminates
// after 5 s; p2 exhausts its tool-call quota and is cancelled after 2 s; p3
// is created and stays open. Timestamps are base + offsets.
//
// With the default subscribe event types (no envelope.snapshot) a collector
// ends up with 10 log records, 2 process spans (p1 Unset status, p2 Error
// "max_tool_calls_exceeded") and these metrics:
//
//	jeeves_commbus_events_total{event_type="process.created",source="kernel"} 3
//	jeeves_commbus_events_total{event_type="process.state_changed",source="kernel"} 3
//	jeeves_commbus_events_total{event_type="process.resumed",source="kernel"} 1
//	jeeves_commbus_events_total{event_type="process.terminated",source="kernel"} 1
//	jeeves_commbus_events_total{event_type="resource.exhausted",source="kernel"} 1
//	jeeves_commbus_events_total{event_type="process.cancelled",source="kernel"} 1
//	jeeves_interrupts_total{kind="clarification",status="pending"} 1
//	jeeves_interrupts_total{kind="clarification",status="resolved"} 1
//	jeeves_interrupts_total{kind="resource_exhausted",status="pending"} 1
//	jeeves_interrupts_total{kind="resource_exhausted",status="cancelled"} 1
//	jeeves_resource_exhaustions_total{resource="tool_calls"} 1
//	jeeves_process_duration_seconds_count{outcome="terminated"} 1 (sum 5)
//	jeeves_process_duration_seconds_count{outcome="cancelled"} 1 (sum 2)
//	jeeves_processes_active 1
//
// (all with job="jeeves-commbus" once scraped from the Prometheus exporter).
func LifecycleScript(base time.Time) []Event {
	k := func(d time.Duration, typ, payload string) Event {
		return Event{EventType: typ, Payload: payload, Source: "kernel", TimestampMs: base.Add(d).UnixMilli()}
	}
	return []Event{
		k(0, "process.created", `{"pid":"p1","request_id":"r1","user_id":"u1","session_id":"s1"}`),
		k(1*time.Second, "process.state_changed", `{"pid":"p1","old_state":"READY","new_state":"RUNNING","reason":"scheduled","session_id":"s1"}`),
		k(2*time.Second, "process.state_changed", `{"pid":"p1","old_state":"RUNNING","new_state":"WAITING","reason":"clarification requested","session_id":"s1"}`),
		k(3*time.Second, "process.resumed", `{"pid":"p1","session_id":"s1"}`),
		k(3*time.Second, "process.state_changed", `{"pid":"p1","old_state":"WAITING","new_state":"RUNNING","reason":"resumed","session_id":"s1"}`),
		k(4*time.Second, "envelope.snapshot", `{"pid":"p1","trigger":"terminated","envelope":{"outputs":{"final":"secret answer"}}}`),
		k(5*time.Second, "process.terminated", `{"pid":"p1","session_id":"s1"}`),
		k(6*time.Second, "process.created", `{"pid":"p2","request_id":"r2","user_id":"u2","session_id":"s2"}`),
		k(7*time.Second, "resource.exhausted", `{"pid":"p2","session_id":"s2","reason":"max_tool_calls_exceeded","usage":{"llm_calls":4,"tool_calls":20,"agent_hops":3,"tokens_in":100,"tokens_out":50}}`),
		k(8*time.Second, "process.cancelled", `{"pid":"p2","reason":"resource quota exhausted"}`),
		k(9*time.Second, "process.created", `{"pid":"p3","request_id":"r3","user_id":"u3","session_id":"s3"}`),
	}
}
