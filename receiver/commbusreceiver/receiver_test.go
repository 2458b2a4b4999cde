// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/commbustest"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

var base = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) int64 { return base.Add(d).UnixMilli() }

// kernelScript is two complete process lifecycles and one that stays open,
// as a kernel publishes them (shared with the end-to-end suite).
func kernelScript() []wire.Event { return commbustest.LifecycleScript(base) }

// oracle runs the events through a translator configured like the receiver,
// the independently golden-tested reference for what the pipelines get.
func oracle(cfg *Config, events []wire.Event) (plog.Logs, ptrace.Traces) {
	r := &commbusReceiver{cfg: cfg, logs: consumertest.NewNop(), traces: consumertest.NewNop(), metrics: consumertest.NewNop()}
	tcfg := r.translatorConfig()
	tcfg.ScopeName = metadata.ScopeName
	tr := translate.New(tcfg)
	b := tr.NewBatch()
	for _, e := range events {
		ev := translate.Event{EventType: e.EventType, Payload: e.Payload, Source: e.Source, TimestampMs: e.TimestampMs, Received: base}
		tr.Translate(&ev, b)
	}
	return b.Logs, b.Traces
}

func eventNames(ld plog.Logs) []string {
	var out []string
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		out = append(out, lrs.At(i).EventName())
	}
	return out
}

func TestSubscribeEndToEnd(t *testing.T) {
	kernel := testkernel.Start(t, "127.0.0.1:0")
	cfg := subscribeConfig(kernel.Addr())
	sub := cfg.Subscribe.Get()
	sub.EventTypes = append(sub.EventTypes, "envelope.snapshot")
	h := newHarness(t, cfg)
	h.start()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))

	hist := kernel.History()
	require.Len(t, hist, 1)
	assert.Equal(t, []string{
		"process.created", "process.state_changed", "process.terminated", "process.resumed",
		"process.cancelled", "resource.exhausted", "envelope.snapshot",
	}, hist[0].EventTypes)
	assert.Equal(t, "otelcol-jeeves", hist[0].SubscriberID)
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), hist[0].RequestID)

	script := kernelScript()
	for _, ev := range script {
		require.Equal(t, 1, kernel.Publish(ev))
	}
	// Not subscribed: the kernel does not deliver it (exact types, no wildcards).
	require.Equal(t, 0, kernel.Publish(wire.Event{EventType: "AgentCompleted", Payload: `{}`, Source: "kernel", TimestampMs: at(0)}))

	eventually(t, "all events logged", func() bool { return h.logs.LogRecordCount() == len(script) })
	eventually(t, "two processes ended", func() bool { return h.traces.SpanCount() == 2 })
	assert.Equal(t, int64(1), h.gauge("otelcol_receiver_commbus_processes_open"))
	h.shutdown()

	gotLogs := allLogs(h.logs)
	wantLogs, wantTraces := oracle(cfg, script)
	require.NoError(t, plogtest.CompareLogs(wantLogs, gotLogs, plogtest.IgnoreObservedTimestamp(), plogtest.IgnoreScopeLogsVersion()))
	require.NoError(t, ptracetest.CompareTraces(wantTraces, allSpans(h.traces), ptracetest.IgnoreScopeSpanInstrumentationScopeVersion()))

	assert.Equal(t, []string{
		"process.created", "process.state_changed", "process.state_changed", "process.resumed", "process.state_changed",
		"envelope.snapshot", "process.terminated", "process.created", "resource.exhausted", "process.cancelled", "process.created",
	}, eventNames(gotLogs))
	snapshot := gotLogs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(5)
	assert.Equal(t, pcommon.ValueTypeEmpty, snapshot.Body().Type(), "snapshot payload is dropped by default")
	assert.Equal(t, map[string]any{
		"commbus.event_type": "envelope.snapshot", "commbus.source": "kernel", "jeeves.process.id": "p1",
		"commbus.payload.dropped": "event_type", "commbus.payload.size": int64(84),
	}, snapshot.Attributes().AsRaw())
	exhausted := gotLogs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(8)
	assert.Equal(t, plog.SeverityNumberWarn, exhausted.SeverityNumber())
	assert.Equal(t, pcommon.Timestamp(at(7*time.Second)*1e6), exhausted.Timestamp())

	spans := allSpans(h.traces).ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	p1, p2 := spans.At(0), spans.At(1)
	assert.Equal(t, "jeeves.process", p1.Name())
	assert.Equal(t, pcommon.Timestamp(at(0)*1e6), p1.StartTimestamp())
	assert.Equal(t, pcommon.Timestamp(at(5*time.Second)*1e6), p1.EndTimestamp())
	assert.Equal(t, map[string]any{
		"jeeves.process.id": "p1", "jeeves.session.id": "s1", "jeeves.request.id": "r1", "jeeves.process.outcome": "terminated",
	}, p1.Attributes().AsRaw())
	assert.Equal(t, 4, p1.Events().Len())
	assert.Equal(t, ptrace.StatusCodeError, p2.Status().Code())
	assert.Equal(t, "max_tool_calls_exceeded", p2.Status().Message())

	assert.Equal(t, map[string]int64{
		"jeeves_commbus_events_total{event_type=process.created,source=kernel}":       3,
		"jeeves_commbus_events_total{event_type=process.state_changed,source=kernel}": 3,
		"jeeves_commbus_events_total{event_type=process.resumed,source=kernel}":       1,
		"jeeves_commbus_events_total{event_type=envelope.snapshot,source=kernel}":     1,
		"jeeves_commbus_events_total{event_type=process.terminated,source=kernel}":    1,
		"jeeves_commbus_events_total{event_type=resource.exhausted,source=kernel}":    1,
		"jeeves_commbus_events_total{event_type=process.cancelled,source=kernel}":     1,
		"jeeves_interrupts_total{kind=clarification,status=pending}":                  1,
		"jeeves_interrupts_total{kind=clarification,status=resolved}":                 1,
		"jeeves_interrupts_total{kind=resource_exhausted,status=pending}":             1,
		"jeeves_interrupts_total{kind=resource_exhausted,status=cancelled}":           1,
		"jeeves_resource_exhaustions_total{resource=tool_calls}":                      1,
		"jeeves_process_duration_seconds_count{outcome=terminated}":                   1,
		"jeeves_process_duration_seconds_count{outcome=cancelled}":                    1,
		"jeeves_processes_active{}":                                                   1,
	}, metricValues(lastMetrics(t, h.metrics)))

	assert.Equal(t, int64(len(script)), h.counter("otelcol_receiver_commbus_events_received", "mode", "subscribe"))
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_payloads_dropped", "reason", "event_type"))
	assert.Equal(t, int64(0), h.counter("otelcol_receiver_commbus_reconnects"))
	assert.Equal(t, int64(0), h.counter("otelcol_receiver_commbus_decode_errors"))
	assert.Equal(t, int64(len(script)), h.counter("otelcol_receiver_accepted_log_records"))
	assert.Equal(t, int64(2), h.counter("otelcol_receiver_accepted_spans"))
}

func TestSubscribeReconnectsAfterKernelRestart(t *testing.T) {
	kernel := testkernel.Start(t, "127.0.0.1:0")
	cfg := subscribeConfig(kernel.Addr())
	cfg.Subscribe.Get().Backoff = BackoffConfig{InitialInterval: 50 * time.Millisecond, MaxInterval: 400 * time.Millisecond, Multiplier: 2, Jitter: 0.2}
	cfg.Subscribe.Get().EventTypes = append(cfg.Subscribe.Get().EventTypes, "envelope.snapshot")
	h := newHarness(t, cfg)
	h.start()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))

	script := kernelScript()
	for _, ev := range script[:3] {
		require.Equal(t, 1, kernel.Publish(ev))
	}
	eventually(t, "first part logged", func() bool { return h.logs.LogRecordCount() == 3 })

	// Kill mid-stream and stay down long enough for the backoff to reach its cap.
	kernel.Kill()
	time.Sleep(time.Second)
	restarted := time.Now()
	kernel.Restart()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	gap := time.Since(restarted)
	assert.LessOrEqual(t, gap, 400*time.Millisecond+500*time.Millisecond, "resubscribed within the backoff cap (plus scheduling slack)")
	t.Logf("resubscribed %s after the kernel came back", gap)

	for _, ev := range script[3:] {
		require.Equal(t, 1, kernel.Publish(ev))
	}
	eventually(t, "rest logged", func() bool { return h.logs.LogRecordCount() == len(script) })
	eventually(t, "process spans", func() bool { return h.traces.SpanCount() == 2 })

	hist := kernel.History()
	require.Len(t, hist, 2)
	assert.Equal(t, hist[0].EventTypes, hist[1].EventTypes)
	assert.NotEqual(t, hist[0].RequestID, hist[1].RequestID)
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_reconnects"))
	// One warning for the outage, not one per attempt.
	warnings := h.logged.FilterMessage("Cannot reach the Jeeves kernel; retrying with backoff").Len()
	assert.GreaterOrEqual(t, warnings, 1)
	assert.LessOrEqual(t, warnings, 3)
	assert.Equal(t, 2, h.logged.FilterMessage("Subscribed to the Jeeves kernel").Len())
}

func TestSubscribeResubscribesAfterIdleDrop(t *testing.T) {
	kernel := testkernel.Start(t, "127.0.0.1:0")
	h := newHarness(t, subscribeConfig(kernel.Addr()))
	h.start()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	for i := range 3 {
		kernel.DropConnections()
		eventually(t, "resubscribed", func() bool { return len(kernel.History()) == i+2 && kernel.Subscribers() == 1 })
	}
	eventually(t, "three reconnects", func() bool { return h.counter("otelcol_receiver_commbus_reconnects") == 3 })
	require.Equal(t, 1, kernel.Publish(kernelScript()[0]))
	eventually(t, "logged", func() bool { return h.logs.LogRecordCount() == 1 })
}

func TestSubscribeAbsentKernelOnlyWarnsRateLimited(t *testing.T) {
	// A port nothing listens on: take a free one and close it.
	kernel := testkernel.Start(t, "127.0.0.1:0")
	addr := kernel.Addr()
	kernel.Close()

	cfg := subscribeConfig(addr)
	cfg.Subscribe.Get().Backoff = BackoffConfig{InitialInterval: 5 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2, Jitter: 0}
	h := newHarness(t, cfg)
	h.start()
	// Attempts at 0, 5, 15, 35, 75, 155, 315, 635, 1275, 2275 ms: the second
	// warning comes with the attempt at 1275 ms, a backoff cap after the first.
	time.Sleep(1600 * time.Millisecond)
	h.shutdown()
	warnings := h.logged.FilterMessage("Cannot reach the Jeeves kernel; retrying with backoff").All()
	require.Len(t, warnings, 2, "the first failure, then once per backoff cap")
	assert.Equal(t, int64(1), warnings[0].ContextMap()["failed_attempts"])
	assert.Greater(t, warnings[1].ContextMap()["failed_attempts"].(int64), int64(5))
	assert.Equal(t, int64(0), h.counter("otelcol_receiver_commbus_reconnects"))
}

func TestSubscribeBadStream(t *testing.T) {
	kernel := testkernel.Start(t, "127.0.0.1:0")
	h := newHarness(t, subscribeConfig(kernel.Addr()))
	h.start()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	enc := wire.NewEncoder()

	// An unknown frame type, a RESPONSE, a chunk for someone else's id, a
	// chunk whose body is not an event: all counted, none fatal.
	kernel.WriteRaw(wire.AppendFrame(nil, 0x09, []byte{0x80}))
	resp, err := enc.PublishResponse("x", 1)
	require.NoError(t, err)
	kernel.WriteRaw(resp)
	other, err := enc.StreamChunk("not-my-id", wire.Event{EventType: "process.created", Payload: `{}`})
	require.NoError(t, err)
	kernel.WriteRaw(other)
	kernel.WriteRaw(wire.AppendFrame(nil, wire.TypeStreamChunk, []byte{0x82, 0xa2, 'i', 'd', 0xa1, 'x', 0xa4, 'b', 'o', 'd', 'y', 0x01}))
	// An event with invalid JSON is kept and counted.
	require.Equal(t, 1, kernel.Publish(wire.Event{EventType: "process.created", Payload: `{"pid":`, Source: "kernel", TimestampMs: at(0)}))
	eventually(t, "invalid JSON logged", func() bool { return h.logs.LogRecordCount() == 1 })
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_payloads_invalid_json"))
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_decode_errors", "mode", "subscribe", "reason", "unknown_frame_type"))
	assert.Equal(t, int64(2), h.counter("otelcol_receiver_commbus_decode_errors", "mode", "subscribe", "reason", "unexpected_frame"))
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_decode_errors", "mode", "subscribe", "reason", "invalid_event"))
	assert.Equal(t, "{\"pid\":", allLogs(h.logs).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str())

	// A length prefix above 5 MiB cannot be skipped: the receiver drops the
	// connection and resubscribes.
	var huge [5]byte
	binary.BigEndian.PutUint32(huge[:4], wire.MaxFrameLength+1)
	huge[4] = wire.TypeStreamChunk
	kernel.WriteRaw(huge[:])
	eventually(t, "resubscribed after oversize", func() bool { return len(kernel.History()) == 2 && kernel.Subscribers() == 1 })
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_decode_errors", "mode", "subscribe", "reason", "frame_too_large"))

	// A truncated frame followed by the kernel going away.
	kernel.WriteRaw([]byte{0, 0, 0, 50, wire.TypeStreamChunk, 0x82})
	kernel.DropConnections()
	eventually(t, "truncated counted", func() bool {
		return h.counter("otelcol_receiver_commbus_decode_errors", "mode", "subscribe", "reason", "truncated") == 1
	})

	// The kernel refuses a subscription with an ERROR frame.
	eventually(t, "resubscribed", func() bool { return len(kernel.History()) == 3 && kernel.Subscribers() == 1 })
	time.Sleep(250 * time.Millisecond) // past the warning rate limit (backoff cap 200ms)
	refusal, err := enc.Error(&wire.ProtocolError{ID: kernel.History()[len(kernel.History())-1].RequestID, Code: wire.CodeResourceExhausted, Message: "full", Retryable: true, QueueCapacity: 8})
	require.NoError(t, err)
	kernel.WriteRaw(refusal)
	eventually(t, "error frame counted", func() bool {
		return h.counter("otelcol_receiver_commbus_decode_errors", "mode", "subscribe", "reason", "error_frame") == 1
	})
	eventually(t, "refusal logged", func() bool {
		return h.logged.FilterMessage("Jeeves kernel refused the CommBus subscription; retrying with backoff").Len() == 1
	})
	entry := h.logged.FilterMessage("Jeeves kernel refused the CommBus subscription; retrying with backoff").All()[0]
	assert.Contains(t, entry.ContextMap()["error"], "RESOURCE_EXHAUSTED: full")
}

// publish is a helper asserting a Publish round trip.
func publish(t *testing.T, c *testkernel.Client, id string, ev wire.Event) wire.Reply {
	t.Helper()
	typ, reply, err := c.Publish(id, ev)
	require.NoError(t, err)
	require.Equal(t, wire.TypeResponse, typ, "reply %+v", reply.Err)
	return reply
}

func TestListenPublishEndToEnd(t *testing.T) {
	cfg := listenConfig()
	h := newHarness(t, cfg)
	h.start()
	c, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()

	// A bridge publishes kernel events (no timestamp_ms: receive time) and
	// in-process messages.
	events := []wire.Event{
		{EventType: "process.created", Payload: `{"pid":"b1","session_id":"s","request_id":"r"}`, Source: "kernel"},
		{EventType: "ClarificationRequested", Payload: `{"session_id":"s","request_id":"r","question":"which one?","options":["a","b"]}`, Source: "bridge"},
		{EventType: "ClarificationResolved", Payload: `{"session_id":"s","request_id":"r"}`, Source: "bridge"},
		{EventType: "AgentCompleted", Payload: `{"agent_name":"planner","session_id":"s","request_id":"r","status":"error","duration_ms":12,"error":"boom"}`},
		{EventType: "process.terminated", Payload: `{"pid":"b1","session_id":"s"}`, Source: "kernel"},
	}
	before := time.Now()
	for i, ev := range events {
		reply := publish(t, c, "req-"+string(rune('a'+i)), ev)
		assert.Equal(t, wire.Reply{ID: "req-" + string(rune('a'+i)), OK: true, Body: map[string]any{"success": true, "delivered": int8(3)}}, reply)
	}
	after := time.Now()
	assert.Equal(t, len(events), h.logs.LogRecordCount(), "Publish replies after the pipelines took the event")
	assert.Equal(t, 1, h.traces.SpanCount())
	h.shutdown()

	got := allLogs(h.logs)
	assert.Equal(t, []string{"process.created", "ClarificationRequested", "ClarificationResolved", "AgentCompleted", "process.terminated"}, eventNames(got))
	lrs := got.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		ts := lrs.At(i).Timestamp().AsTime()
		assert.False(t, ts.Before(before) || ts.After(after), "receive time used when timestamp_ms is absent")
		assert.Equal(t, lrs.At(i).Timestamp(), lrs.At(i).ObservedTimestamp())
	}
	assert.Equal(t, map[string]any{"options": []any{"a", "b"}, "request_id": "r", "session_id": "s"}, lrs.At(1).Body().Map().AsRaw(), "question dropped by default")
	assert.Equal(t, plog.SeverityNumberError, lrs.At(3).SeverityNumber())
	_, hasSource := lrs.At(3).Attributes().Get("commbus.source")
	assert.False(t, hasSource)

	assert.Equal(t, map[string]int64{
		"jeeves_commbus_events_total{event_type=process.created,source=kernel}":        1,
		"jeeves_commbus_events_total{event_type=ClarificationRequested,source=bridge}": 1,
		"jeeves_commbus_events_total{event_type=ClarificationResolved,source=bridge}":  1,
		"jeeves_commbus_events_total{event_type=AgentCompleted,source=unknown}":        1,
		"jeeves_commbus_events_total{event_type=process.terminated,source=kernel}":     1,
		"jeeves_interrupts_total{kind=clarification,status=pending}":                   1,
		"jeeves_interrupts_total{kind=clarification,status=resolved}":                  1,
		"jeeves_process_duration_seconds_count{outcome=terminated}":                    1,
		"jeeves_processes_active{}": 0,
	}, metricValues(lastMetrics(t, h.metrics)))
	assert.Equal(t, int64(len(events)), h.counter("otelcol_receiver_commbus_events_received", "mode", "listen"))
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_connections_closed", "reason", "shutdown"))
}

// TestSeriesLimitOverflowCounted: beyond metrics.series_limit events fold
// into the overflow series and component telemetry counts them per family.
func TestSeriesLimitOverflowCounted(t *testing.T) {
	cfg := listenConfig()
	cfg.Metrics.SeriesLimit = 1
	h := newHarness(t, cfg)
	h.start()
	c, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	for i, typ := range []string{"AgentStarted", "AgentCompleted", "ToolCompleted", "AgentStarted"} {
		publish(t, c, strconv.Itoa(i), wire.Event{EventType: typ, Payload: `{}`, Source: "bridge"})
	}
	h.shutdown()

	assert.Equal(t, map[string]int64{
		"jeeves_commbus_events_total{event_type=AgentStarted,source=bridge}": 2,
		"jeeves_commbus_events_total{otel.metric.overflow=true}":             2,
		"jeeves_processes_active{}":                                          0,
	}, metricValues(lastMetrics(t, h.metrics)))
	assert.Equal(t, int64(2), h.counter("otelcol_receiver_commbus_observations_overflowed", "metric", "jeeves_commbus_events_total"))
}

func TestListenAnswersLikeAKernel(t *testing.T) {
	h := newHarness(t, listenConfig())
	h.start()
	c, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()

	valid := map[string]any{"event_type": "x", "payload": "{}"}
	tests := []struct {
		name    string
		send    func() (byte, wire.Reply, error)
		wantID  string
		code    string
		message string
	}{
		{
			name: "send has no handler",
			send: func() (byte, wire.Reply, error) {
				return c.Call("s1", "commbus", "Send", map[string]any{"command_type": "InvalidateCache", "payload": "{}"})
			},
			wantID:  "s1",
			code:    wire.CodeNotFound,
			message: `no handler registered for command "InvalidateCache"`,
		},
		{
			name: "query has no handler",
			send: func() (byte, wire.Reply, error) {
				return c.Call("q1", "commbus", "Query", map[string]any{"query_type": "GetSettings", "payload": "{}", "timeout_ms": 1000})
			},
			wantID:  "q1",
			code:    wire.CodeNotFound,
			message: `no handler registered for query "GetSettings"`,
		},
		{
			name: "subscribe to the collector",
			send: func() (byte, wire.Reply, error) {
				return c.Call("sub", "commbus", "Subscribe", map[string]any{"event_types": []string{"a"}})
			},
			wantID:  "sub",
			code:    wire.CodeFailedPrecondition,
			message: "this endpoint is an OpenTelemetry collector that only receives events; subscribe to the Jeeves kernel",
		},
		{
			name: "subscribe with an empty list",
			send: func() (byte, wire.Reply, error) {
				return c.Call("sub2", "commbus", "Subscribe", map[string]any{"event_types": []string{}})
			},
			wantID:  "sub2",
			code:    wire.CodeInvalidArgument,
			message: "request field event_types must be a non-empty list of non-empty strings",
		},
		{
			name:    "other service",
			send:    func() (byte, wire.Reply, error) { return c.Call("k1", "kernel", "CreateProcess", map[string]any{}) },
			wantID:  "k1",
			code:    wire.CodeNotFound,
			message: `service "kernel" is not served here; this endpoint only receives commbus.Publish`,
		},
		{
			name:    "unknown method",
			send:    func() (byte, wire.Reply, error) { return c.Call("m1", "commbus", "Broadcast", valid) },
			wantID:  "m1",
			code:    wire.CodeNotFound,
			message: "unknown method commbus.Broadcast",
		},
		{
			name: "publish without payload",
			send: func() (byte, wire.Reply, error) {
				return c.Call("p1", "commbus", "Publish", map[string]any{"event_type": "x"})
			},
			wantID:  "p1",
			code:    wire.CodeInvalidArgument,
			message: "missing required request field: payload",
		},
		{
			name: "publish with invalid JSON",
			send: func() (byte, wire.Reply, error) {
				return c.Publish("p2", wire.Event{EventType: "AgentStarted", Payload: "{oops"})
			},
			wantID:  "p2",
			code:    wire.CodeInvalidArgument,
			message: "payload is not valid JSON text",
		},
		{
			name:    "empty id",
			send:    func() (byte, wire.Reply, error) { return c.Call("", "commbus", "Publish", valid) },
			wantID:  "",
			code:    wire.CodeInvalidArgument,
			message: "request field id must be a non-empty string",
		},
		{
			name: "missing body",
			send: func() (byte, wire.Reply, error) {
				return c.WriteRaw(mustFrame(t, wire.TypeRequest, map[string]any{"id": "nb", "service": "commbus", "method": "Publish"}))
			},
			wantID:  "nb",
			code:    wire.CodeInvalidArgument,
			message: "missing required request field: body",
		},
		{
			name: "undecodable msgpack",
			send: func() (byte, wire.Reply, error) {
				return c.WriteRaw(wire.AppendFrame(nil, wire.TypeRequest, []byte{0xc1}))
			},
			wantID:  "",
			code:    wire.CodeInvalidArgument,
			message: "invalid msgpack: msgpack: unexpected code=c1 decoding map length",
		},
		{
			name:    "unknown frame type",
			send:    func() (byte, wire.Reply, error) { return c.WriteRaw(wire.AppendFrame(nil, 0x42, []byte{0x80})) },
			wantID:  "",
			code:    wire.CodeInvalidArgument,
			message: "unknown frame type 0x42",
		},
		{
			name: "response frame from a client",
			send: func() (byte, wire.Reply, error) {
				return c.WriteRaw(wire.AppendFrame(nil, wire.TypeResponse, []byte{0x80}))
			},
			wantID:  "",
			code:    wire.CodeInvalidArgument,
			message: "unexpected frame type RESPONSE; clients send REQUEST frames",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, reply, err := tt.send()
			require.NoError(t, err)
			assert.Equal(t, wire.TypeError, typ)
			assert.Equal(t, tt.wantID, reply.ID)
			assert.False(t, reply.OK)
			require.NotNil(t, reply.Err)
			assert.Equal(t, tt.code, reply.Err.Code)
			assert.Equal(t, tt.message, reply.Err.Message)
		})
	}
	// The connection survived every one of them.
	reply := publish(t, c, "ok", wire.Event{EventType: "process.created", Payload: `{"pid":"z"}`})
	assert.True(t, reply.OK)

	assert.Equal(t, 2, h.logs.LogRecordCount(), "the invalid-JSON event is kept as well")
	lr := allLogs(h.logs).ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, "{oops", lr.Body().Str())
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_payloads_invalid_json"))
	for reason, n := range map[string]int64{
		"invalid_body": 2, "invalid_request": 2, "invalid_msgpack": 1, "unknown_frame_type": 1, "unexpected_frame": 1,
	} {
		assert.Equal(t, n, h.counter("otelcol_receiver_commbus_decode_errors", "mode", "listen", "reason", reason), reason)
	}
}

func mustFrame(t *testing.T, typ byte, v map[string]any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	require.NoError(t, enc.Encode(v))
	return wire.AppendFrame(nil, typ, buf.Bytes())
}

func TestListenConnectionLimit(t *testing.T) {
	cfg := listenConfig()
	cfg.Listen.Get().MaxConnections = 2
	cfg.Listen.Get().MaxConnectionsPerAddress = 2
	h := newHarness(t, cfg)
	h.start()
	var clients []*testkernel.Client
	for i := range 2 {
		c, err := testkernel.Dial(h.listenAddr())
		require.NoError(t, err)
		defer func() { _ = c.Close() }()
		publish(t, c, "c"+string(rune('0'+i)), wire.Event{EventType: "x", Payload: "{}"})
		clients = append(clients, c)
	}
	eventually(t, "two active", func() bool { return h.counter("otelcol_receiver_commbus_connections_active", "mode", "listen") == 2 })

	extra, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = extra.Close() }()
	typ, reply, err := extra.ReadReply()
	require.NoError(t, err)
	assert.Equal(t, wire.TypeError, typ)
	// A saturated server sends retryable and kernel_queue_capacity
	// (docs/commbus-protocol.md#retry-and-back-off);
	// the capacity that is full here is max_connections.
	assert.Equal(t, &wire.ProtocolError{Code: wire.CodeResourceExhausted, Message: "connection limit reached (2); retry shortly", Retryable: true, QueueCapacity: 2}, reply.Err)
	_, _, err = extra.ReadReply()
	assert.ErrorIs(t, err, io.EOF, "closed after the refusal")
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_connections_rejected", "reason", "max_connections"))
	assert.Equal(t, int64(0), h.counter("otelcol_receiver_commbus_connections_rejected", "reason", "max_connections_per_address"))

	// A slot frees up when a client leaves.
	require.NoError(t, clients[0].Close())
	eventually(t, "one active", func() bool { return h.counter("otelcol_receiver_commbus_connections_active", "mode", "listen") == 1 })
	again, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = again.Close() }()
	publish(t, again, "again", wire.Event{EventType: "x", Payload: "{}"})
}

func TestListenIdleTimeout(t *testing.T) {
	cfg := listenConfig()
	cfg.Listen.Get().IdleTimeout = 100 * time.Millisecond
	h := newHarness(t, cfg)
	h.start()
	c, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	publish(t, c, "a", wire.Event{EventType: "x", Payload: "{}"})
	start := time.Now()
	_ = c.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadReply()
	assert.ErrorIs(t, err, io.EOF)
	assert.Less(t, time.Since(start), 2*time.Second)
	eventually(t, "idle close counted", func() bool {
		return h.counter("otelcol_receiver_commbus_connections_closed", "reason", "idle_timeout") == 1
	})
}

func TestListenFramingErrorsCloseTheConnection(t *testing.T) {
	cfg := listenConfig()
	cfg.Listen.Get().MaxFrameBytes = 1024
	h := newHarness(t, cfg)
	h.start()
	tests := []struct {
		name, reason, code, message string
		raw                         []byte
	}{
		{name: "above max_frame_bytes", reason: "frame_too_large", raw: []byte{0, 0, 0x04, 0x01, 1}, code: wire.CodeResourceExhausted, message: "frame length 1025 exceeds the limit of 1024 bytes"},
		{name: "above the 5 MiB protocol limit", reason: "frame_too_large", raw: []byte{0x00, 0x50, 0x00, 0x01, 1}, code: wire.CodeResourceExhausted, message: "frame length 5242881 exceeds the limit of 1024 bytes"},
		{name: "zero length", reason: "zero_length", raw: []byte{0, 0, 0, 0}, code: wire.CodeInvalidArgument, message: "frame length 0 is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := testkernel.Dial(h.listenAddr())
			require.NoError(t, err)
			defer func() { _ = c.Close() }()
			typ, reply, err := c.WriteRaw(tt.raw)
			require.NoError(t, err)
			assert.Equal(t, wire.TypeError, typ)
			assert.Equal(t, &wire.ProtocolError{Code: tt.code, Message: tt.message}, reply.Err)
			_, _, err = c.ReadReply()
			assert.ErrorIs(t, err, io.EOF)
		})
	}
	assert.Equal(t, int64(2), h.counter("otelcol_receiver_commbus_decode_errors", "mode", "listen", "reason", "frame_too_large"))
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_decode_errors", "mode", "listen", "reason", "zero_length"))

	// A stream that ends inside a frame.
	c, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	_, err = c.Conn.Write([]byte{0, 0, 0, 20, wire.TypeRequest, 0x84})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	eventually(t, "truncated counted", func() bool {
		return h.counter("otelcol_receiver_commbus_decode_errors", "mode", "listen", "reason", "truncated") == 1
	})
	eventually(t, "protocol closes counted", func() bool {
		return h.counter("otelcol_receiver_commbus_connections_closed", "reason", "protocol_error") == 4
	})
	assert.Equal(t, 0, h.logs.LogRecordCount())
}

func TestBothModesAndFlushTicker(t *testing.T) {
	kernel := testkernel.Start(t, "127.0.0.1:0")
	cfg := subscribeConfig(kernel.Addr())
	lis := defaultListenConfig()
	lis.Endpoint = "127.0.0.1:0"
	cfg.Listen = configoptional.Some(lis)
	cfg.Metrics.FlushInterval = 20 * time.Millisecond
	cfg.ProcessTTL = 500 * time.Millisecond
	h := newHarness(t, cfg)
	h.start()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	require.Equal(t, 1, kernel.Publish(wire.Event{EventType: "process.created", Payload: `{"pid":"k1"}`, Source: "kernel", TimestampMs: at(0)}))
	eventually(t, "created via subscribe", func() bool { return h.logs.LogRecordCount() == 1 })
	c, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	publish(t, c, "a", wire.Event{EventType: "process.state_changed", Payload: `{"pid":"k1","old_state":"RUNNING","new_state":"WAITING","reason":"needs confirmation"}`, Source: "kernel"})

	// k1 never ends: the TTL expires it as an orphan on a flush tick.
	eventually(t, "orphan span", func() bool { return h.traces.SpanCount() == 1 })
	span := allSpans(h.traces).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, map[string]any{
		"jeeves.process.id": "k1", "jeeves.process.outcome": "orphaned",
		"jeeves.process.orphaned": true, "jeeves.process.orphan_reason": "ttl_expired",
	}, span.Attributes().AsRaw())
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_processes_orphaned", "reason", "ttl_expired"))
	eventually(t, "expired interrupt flushed", func() bool {
		all := h.metrics.AllMetrics()
		if len(all) == 0 {
			return false
		}
		v := metricValues(all[len(all)-1])
		return v["jeeves_interrupts_total{kind=confirmation,status=expired}"] == 1 && v["jeeves_processes_active{}"] == 0
	})
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_events_received", "mode", "subscribe"))
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_events_received", "mode", "listen"))
	n := len(h.metrics.AllMetrics())
	assert.GreaterOrEqual(t, n, 2, "metrics are emitted on every tick")
	// Stable start times across flushes.
	all := h.metrics.AllMetrics()
	first := all[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).StartTimestamp()
	last := all[len(all)-1].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).StartTimestamp()
	assert.Equal(t, first, last)
}

func TestSharedLifecycle(t *testing.T) {
	cfg := listenConfig()
	h := newHarness(t, cfg)
	// Shutdown without Start, twice.
	h.shutdown()
	h.shutdown()

	// A new receiver for the same ID after shutdown binds again.
	h2 := newHarness(t, cfg)
	h2.start()
	addr := h2.listenAddr()
	require.NoError(t, h2.shared.Start(context.Background(), componenttest.NewNopHost()), "second Start is a no-op")
	h2.shutdown()
	h2.shutdown()
	_, err := testkernel.Dial(addr)
	require.Error(t, err, "the port is released")

	// Only one pipeline: Publish reports one delivery.
	set := receivertest.NewNopSettings(metadata.Type)
	lr, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, lr.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, lr.Shutdown(context.Background())) }()
	c, err := testkernel.Dial(lr.(*sharedReceiver).rcv.srv.addr().String())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	reply := publish(t, c, "one", wire.Event{EventType: "x", Payload: "{}"})
	assert.Equal(t, map[string]any{"success": true, "delivered": int8(1)}, reply.Body)
}

func TestListenPortInUseFailsStart(t *testing.T) {
	h := newHarness(t, listenConfig())
	h.start()
	cfg := listenConfig()
	cfg.Listen.Get().Endpoint = h.listenAddr()
	h2 := newHarness(t, cfg)
	err := h2.shared.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen.endpoint "+h.listenAddr())
}

func TestConsumerErrorAnswersRetryable(t *testing.T) {
	set := receivertest.NewNopSettings(metadata.Type)
	cfg := listenConfig()
	lr, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewErr(errors.New("queue full")))
	require.NoError(t, err)
	require.NoError(t, lr.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, lr.Shutdown(context.Background())) }()
	c, err := testkernel.Dial(lr.(*sharedReceiver).rcv.srv.addr().String())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	typ, reply, err := c.Publish("e", wire.Event{EventType: "x", Payload: "{}"})
	require.NoError(t, err)
	assert.Equal(t, wire.TypeError, typ)
	assert.Equal(t, &wire.ProtocolError{ID: "e", Code: wire.CodeUnavailable, Message: "the collector pipeline is busy; retry", Retryable: true}, reply.Err)
}

func TestBackoffDelay(t *testing.T) {
	b := BackoffConfig{InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, Multiplier: 2, Jitter: 0.5}
	assert.Equal(t, 100*time.Millisecond, backoffDelay(b, 0, 0.5))
	assert.Equal(t, 50*time.Millisecond, backoffDelay(b, 0, 0))
	assert.Equal(t, 150*time.Millisecond, backoffDelay(b, 0, 1))
	assert.Equal(t, 800*time.Millisecond, backoffDelay(b, 3, 0.5))
	assert.Equal(t, time.Second, backoffDelay(b, 4, 0.5))
	assert.Equal(t, time.Second, backoffDelay(b, 4, 1), "jitter never exceeds the cap")
	assert.Equal(t, 500*time.Millisecond, backoffDelay(b, 4, 0))
	assert.Equal(t, time.Second, backoffDelay(b, 5000, 0.5), "no overflow")
}

func TestProcessFloodStaysBounded(t *testing.T) {
	kernel := testkernel.Start(t, "127.0.0.1:0")
	cfg := subscribeConfig(kernel.Addr())
	cfg.MaxOpenProcesses = 50
	h := newHarness(t, cfg)
	h.start()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	for i := range 500 {
		require.Equal(t, 1, kernel.Publish(wire.Event{EventType: "process.created", Payload: `{"pid":"f` + strconv.Itoa(i) + `"}`, Source: "kernel", TimestampMs: at(0)}))
	}
	eventually(t, "all created", func() bool { return h.logs.LogRecordCount() == 500 })
	assert.Equal(t, int64(50), h.gauge("otelcol_receiver_commbus_processes_open"))
	assert.Equal(t, int64(450), h.counter("otelcol_receiver_commbus_processes_orphaned", "reason", "evicted"))
	assert.Equal(t, 450, h.traces.SpanCount(), "evicted processes end as orphan spans")
}

// TestListenSurvivesDeeplyNestedBody sends a REQUEST whose body is 4 MiB of
// nested one-element arrays, which crashed the whole process (goroutine stack
// overflow inside msgpack's Skip) before nesting was bounded. The answer is
// an ERROR with id "" (undecodable msgpack) and the connection stays open.
func TestListenSurvivesDeeplyNestedBody(t *testing.T) {
	h := newHarness(t, listenConfig())
	h.start()
	c, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = c.Close() }()

	payload := []byte{0x84, 0xa2, 'i', 'd', 0xa1, 'd', 0xa7, 's', 'e', 'r', 'v', 'i', 'c', 'e', 0xa7, 'c', 'o', 'm', 'm', 'b', 'u', 's',
		0xa6, 'm', 'e', 't', 'h', 'o', 'd', 0xa7, 'P', 'u', 'b', 'l', 'i', 's', 'h', 0xa4, 'b', 'o', 'd', 'y'}
	payload = append(payload, bytes.Repeat([]byte{0x91}, 4<<20)...)
	payload = append(payload, 0xc0)
	typ, reply, err := c.WriteRaw(wire.AppendFrame(nil, wire.TypeRequest, payload))
	require.NoError(t, err)
	assert.Equal(t, wire.TypeError, typ)
	assert.Equal(t, "", reply.ID)
	require.NotNil(t, reply.Err)
	assert.Equal(t, wire.CodeInvalidArgument, reply.Err.Code)
	assert.Equal(t, "invalid msgpack: msgpack value nested deeper than 100 levels", reply.Err.Message)

	assert.True(t, publish(t, c, "after", wire.Event{EventType: "process.created", Payload: `{"pid":"n"}`}).OK)
	assert.Equal(t, int64(1), h.counter("otelcol_receiver_commbus_decode_errors", "mode", "listen", "reason", "invalid_msgpack"))
}
