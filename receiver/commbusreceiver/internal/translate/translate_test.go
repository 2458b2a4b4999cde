package translate

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func ms(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

func testConfig() Config {
	return Config{
		Logs: true, Traces: true, Metrics: true,
		MaxPayloadBytes: 65536, Oversize: OversizeTruncate,
		DropEventTypes: []string{TypeEnvelopeSnapshot},
		UserText:       TextDrop, UserTextMaxBytes: 8,
		MaxOpenProcesses: 100, ProcessTTL: time.Hour, MaxSpanEvents: 128,
		ScopeName: "commbus-test", ScopeVersion: "1",
	}
}

// script is a scripted sequence of kernel and bridge events: p1 runs, waits
// on a clarification, resumes and terminates; p2 exhausts its LLM quota and
// is cancelled while waiting; p3 never ends and expires; plus in-process
// events, invalid JSON, an unknown type and a dropped snapshot.
func script() []Event {
	ev := func(at time.Duration, typ, payload, source string) Event {
		return Event{EventType: typ, Payload: payload, Source: source, TimestampMs: ms(at), Received: t0.Add(at + 5*time.Millisecond)}
	}
	return []Event{
		ev(0, "process.created", `{"pid":"p1","request_id":"r1","user_id":"u1","session_id":"s1"}`, "kernel"),
		ev(1*time.Second, "process.state_changed", `{"pid":"p1","old_state":"READY","new_state":"RUNNING","reason":"scheduled","session_id":"s1"}`, "kernel"),
		ev(2*time.Second, "process.state_changed", `{"pid":"p1","old_state":"RUNNING","new_state":"WAITING","reason":"clarification requested","session_id":"s1"}`, "kernel"),
		ev(3*time.Second, "ClarificationRequested", `{"session_id":"s1","request_id":"r1","question":"which city do you mean?","options":["Paris","Rome"]}`, "bridge"),
		ev(4*time.Second, "process.resumed", `{"pid":"p1","session_id":"s1"}`, "kernel"),
		ev(4*time.Second, "process.state_changed", `{"pid":"p1","old_state":"WAITING","new_state":"READY","reason":"resumed","session_id":"s1"}`, "kernel"),
		ev(5*time.Second, "envelope.snapshot", `{"pid":"p1","trigger":"resumed","envelope":{"big":"state"}}`, "kernel"),
		ev(6*time.Second, "process.terminated", `{"pid":"p1","session_id":"s1"}`, "kernel"),
		ev(7*time.Second, "process.created", `{"pid":"p2","request_id":"r2","user_id":"u2","session_id":"s2"}`, "kernel"),
		ev(8*time.Second, "resource.exhausted", `{"pid":"p2","session_id":"s2","reason":"max_llm_calls_exceeded","usage":{"llm_calls":50,"tool_calls":3,"agent_hops":7,"tokens_in":1200,"tokens_out":800}}`, "kernel"),
		ev(9*time.Second, "process.cancelled", `{"pid":"p2","reason":"user_cancelled"}`, "kernel"),
		ev(10*time.Second, "process.created", `{"pid":"p3","request_id":"r3","session_id":"s3"}`, "kernel"),
		ev(11*time.Second, "process.state_changed", `{"pid":"p3","old_state":"RUNNING","new_state":"WAITING","reason":"CONFIRMATION_REQUIRED","session_id":"s3"}`, "kernel"),
		ev(12*time.Second, "pipeline.agent_completed", `{"process_id":"p3","agent":"planner","success":false}`, "p3"),
		ev(13*time.Second, "ToolCompleted", `{"tool_name":"search","session_id":"s3","request_id":"r3","status":"timeout","execution_time_ms":30000}`, ""),
		ev(14*time.Second, "process.state_changed", `not json`, "kernel"),
		ev(15*time.Second, "my.custom.event", `{"x":1.5,"n":null,"ok":true,"list":[1,"a"]}`, "kernel"),
	}
}

func runScript(t *testing.T, cfg Config) (*Translator, *Batch, []Result) {
	t.Helper()
	tr := New(cfg)
	b := tr.NewBatch()
	var results []Result
	for _, e := range script() {
		results = append(results, tr.Translate(&e, b))
	}
	return tr, b, results
}

func goldenPath(name string) string { return filepath.Join("testdata", name) }

func compareLogs(t *testing.T, name string, got plog.Logs) {
	t.Helper()
	m := &plog.JSONMarshaler{}
	if *update {
		b, err := m.MarshalLogs(got)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(goldenPath(name), b, 0o600))
	}
	raw, err := os.ReadFile(goldenPath(name))
	require.NoError(t, err)
	want, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(raw)
	require.NoError(t, err)
	require.NoError(t, plogtest.CompareLogs(want, got))
}

func compareTraces(t *testing.T, name string, got ptrace.Traces) {
	t.Helper()
	if *update {
		b, err := (&ptrace.JSONMarshaler{}).MarshalTraces(got)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(goldenPath(name), b, 0o600))
	}
	raw, err := os.ReadFile(goldenPath(name))
	require.NoError(t, err)
	want, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
	require.NoError(t, err)
	require.NoError(t, ptracetest.CompareTraces(want, got))
}

func compareMetrics(t *testing.T, name string, got pmetric.Metrics) {
	t.Helper()
	if *update {
		b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(got)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(goldenPath(name), b, 0o600))
	}
	raw, err := os.ReadFile(goldenPath(name))
	require.NoError(t, err)
	want, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(raw)
	require.NoError(t, err)
	// Series are emitted in the order they were first seen, each with the
	// time it was first seen as its start time (TestScriptGolden checks
	// start times); the golden file holds them sorted, with one start time.
	require.NoError(t, pmetrictest.CompareMetrics(want, got,
		pmetrictest.IgnoreMetricDataPointsOrder(), pmetrictest.IgnoreStartTimestamp()))
}

// flatten maps every int sum and gauge data point of md to its value, keyed
// "name,label=value,...", and every histogram data point to its count.
func flatten(md pmetric.Metrics) (sums map[string]int64, counts map[string]uint64) {
	sums, counts = map[string]int64{}, map[string]uint64{}
	rm := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	key := func(name string, attrs pcommon.Map) string {
		k := name
		attrs.Range(func(n string, v pcommon.Value) bool { k += "," + n + "=" + v.Str(); return true })
		return k
	}
	for i := 0; i < rm.Len(); i++ {
		m := rm.At(i)
		switch m.Type() {
		case pmetric.MetricTypeSum:
			for j := 0; j < m.Sum().DataPoints().Len(); j++ {
				dp := m.Sum().DataPoints().At(j)
				sums[key(m.Name(), dp.Attributes())] = dp.IntValue()
			}
		case pmetric.MetricTypeGauge:
			sums[m.Name()] = m.Gauge().DataPoints().At(0).IntValue()
		case pmetric.MetricTypeHistogram:
			for j := 0; j < m.Histogram().DataPoints().Len(); j++ {
				dp := m.Histogram().DataPoints().At(j)
				counts[key(m.Name(), dp.Attributes())] = dp.Count()
			}
		}
	}
	return sums, counts
}

func TestScriptGolden(t *testing.T) {
	tr, b, results := runScript(t, testConfig())
	// p3 is still open; an hour after its last event it expires as an orphan.
	assert.Equal(t, 1, tr.OpenProcesses())
	assert.Equal(t, 0, tr.Expire(t0.Add(time.Hour), b))
	assert.Equal(t, 1, tr.Expire(t0.Add(time.Hour+12*time.Second), b))
	assert.Equal(t, 0, tr.OpenProcesses())

	compareLogs(t, "script_logs.json", b.Logs)
	compareTraces(t, "script_traces.json", b.Traces)
	md, overflows := tr.Metrics(t0.Add(2 * time.Hour))
	assert.Empty(t, overflows)
	compareMetrics(t, "script_metrics.json", md)

	// Exact expectations that do not depend on the golden files.
	assert.Equal(t, len(script()), b.LogCount())
	assert.Equal(t, 3, b.SpanCount())
	invalid, dropped := 0, 0
	for _, r := range results {
		if r.InvalidJSON {
			invalid++
		}
		if r.PayloadDropped != "" {
			dropped++
		}
	}
	assert.Equal(t, 1, invalid)
	assert.Equal(t, 1, dropped)

	spans := b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	p1, p2, p3 := spans.At(0), spans.At(1), spans.At(2)
	assert.Equal(t, spanName, p1.Name())
	assert.Equal(t, pcommon.Timestamp(ms(0)*1e6), p1.StartTimestamp())
	assert.Equal(t, pcommon.Timestamp(ms(6*time.Second)*1e6), p1.EndTimestamp())
	assert.Equal(t, ptrace.StatusCodeUnset, p1.Status().Code())
	assert.Equal(t, 4, p1.Events().Len())
	assert.Equal(t, ptrace.StatusCodeError, p2.Status().Code())
	assert.Equal(t, "max_llm_calls_exceeded", p2.Status().Message())
	v, _ := p3.Attributes().Get("jeeves.process.orphan_reason")
	assert.Equal(t, OrphanTTLExpired, v.Str())

	// A series starts when it is first seen: process.created by the kernel
	// with the first event (received 5 ms after t0), the duration of a
	// terminated process with p1's end.
	first := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	assert.Equal(t, pcommon.NewTimestampFromTime(t0.Add(5*time.Millisecond)), first.At(0).Sum().DataPoints().At(0).StartTimestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(t0.Add(6*time.Second+5*time.Millisecond)), first.At(3).Histogram().DataPoints().At(0).StartTimestamp())

	got, dur := flatten(md)
	assert.Equal(t, map[string]int64{
		"jeeves_commbus_events_total,event_type=process.created,source=kernel":          3,
		"jeeves_commbus_events_total,event_type=process.state_changed,source=kernel":    5,
		"jeeves_commbus_events_total,event_type=ClarificationRequested,source=bridge":   1,
		"jeeves_commbus_events_total,event_type=process.resumed,source=kernel":          1,
		"jeeves_commbus_events_total,event_type=envelope.snapshot,source=kernel":        1,
		"jeeves_commbus_events_total,event_type=process.terminated,source=kernel":       1,
		"jeeves_commbus_events_total,event_type=resource.exhausted,source=kernel":       1,
		"jeeves_commbus_events_total,event_type=process.cancelled,source=kernel":        1,
		"jeeves_commbus_events_total,event_type=pipeline.agent_completed,source=worker": 1,
		"jeeves_commbus_events_total,event_type=ToolCompleted,source=unknown":           1,
		"jeeves_commbus_events_total,event_type=other,source=kernel":                    1,
		"jeeves_interrupts_total,kind=clarification,status=pending":                     2,
		"jeeves_interrupts_total,kind=clarification,status=resolved":                    1,
		"jeeves_interrupts_total,kind=resource_exhausted,status=pending":                1,
		"jeeves_interrupts_total,kind=resource_exhausted,status=cancelled":              1,
		"jeeves_interrupts_total,kind=confirmation,status=pending":                      1,
		"jeeves_interrupts_total,kind=confirmation,status=expired":                      1,
		"jeeves_resource_exhaustions_total,resource=llm_calls":                          1,
		"jeeves_processes_active": 0,
	}, got)
	assert.Equal(t, map[string]uint64{
		metricProcessDuration + ",outcome=" + outcomeTerminated: 1,
		metricProcessDuration + ",outcome=" + outcomeCancelled:  1,
	}, dur)
}

func TestSignalsAreIndependent(t *testing.T) {
	cfg := testConfig()
	cfg.Logs, cfg.Traces = false, false
	tr, b, _ := runScript(t, cfg)
	assert.Equal(t, 0, b.LogCount())
	assert.Equal(t, 0, b.SpanCount())
	assert.Equal(t, 1, tr.OpenProcesses(), "metrics alone still track processes for the active gauge")

	cfg = testConfig()
	cfg.Traces, cfg.Metrics = false, false
	tr, b, _ = runScript(t, cfg)
	assert.Equal(t, len(script()), b.LogCount())
	assert.Equal(t, 0, tr.OpenProcesses(), "logs alone keep no process table")
}

func body(t *testing.T, b *Batch, i int) (pcommon.Value, pcommon.Map) {
	t.Helper()
	lr := b.Logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(i)
	return lr.Body(), lr.Attributes()
}

func TestPayloadPolicies(t *testing.T) {
	clar := `{"session_id":"s","request_id":"r","question":"héllo wörld, a long question","options":["a"]}`
	tests := []struct {
		name      string
		mutate    func(*Config)
		ev        Event
		wantBody  string // body rendered with AsString
		wantAttrs map[string]any
		wantRes   Result
	}{
		{
			name:     "user text dropped",
			ev:       Event{EventType: "ClarificationRequested", Payload: clar},
			wantBody: `{"options":["a"],"request_id":"r","session_id":"s"}`,
			wantAttrs: map[string]any{
				"commbus.event_type": "ClarificationRequested", "commbus.user_text": "drop",
				"jeeves.session.id": "s", "jeeves.request.id": "r",
			},
		},
		{
			name:     "user text truncated on a rune boundary",
			mutate:   func(c *Config) { c.UserText = TextTruncate; c.UserTextMaxBytes = 2 },
			ev:       Event{EventType: "ClarificationRequested", Payload: clar},
			wantBody: `{"options":["a"],"question":"h","request_id":"r","session_id":"s"}`,
			wantAttrs: map[string]any{
				"commbus.event_type": "ClarificationRequested", "commbus.user_text": "truncate",
				"jeeves.session.id": "s", "jeeves.request.id": "r",
			},
		},
		{
			name:     "user text kept",
			mutate:   func(c *Config) { c.UserText = TextKeep },
			ev:       Event{EventType: "PipelineStarted", Payload: `{"query":"secret"}`},
			wantBody: `{"query":"secret"}`,
			wantAttrs: map[string]any{
				"commbus.event_type": "PipelineStarted",
			},
		},
		{
			name:     "object user text truncated as JSON text",
			mutate:   func(c *Config) { c.UserText = TextTruncate; c.UserTextMaxBytes = 5; c.DropEventTypes = nil },
			ev:       Event{EventType: "envelope.snapshot", Payload: `{"pid":7,"envelope":{"a":1}}`},
			wantBody: `{"envelope":"{\"a\":","pid":7}`,
			wantAttrs: map[string]any{
				"commbus.event_type": "envelope.snapshot", "commbus.user_text": "truncate", "jeeves.process.id": "7",
			},
		},
		{
			name:     "dropped event type keeps ids",
			ev:       Event{EventType: "envelope.snapshot", Payload: `{"pid":"p9","envelope":{"a":1}}`, Source: "kernel"},
			wantBody: ``,
			wantAttrs: map[string]any{
				"commbus.event_type": "envelope.snapshot", "commbus.source": "kernel", "jeeves.process.id": "p9",
				"commbus.payload.dropped": "event_type", "commbus.payload.size": int64(31),
			},
			wantRes: Result{PayloadDropped: DropReasonEventType},
		},
		{
			name:     "oversize truncated",
			mutate:   func(c *Config) { c.MaxPayloadBytes = 10 },
			ev:       Event{EventType: "AgentCompleted", Payload: `{"agent_name":"planner"}`},
			wantBody: `{"agent_na`,
			wantAttrs: map[string]any{
				"commbus.event_type": "AgentCompleted", "commbus.payload.truncated": true, "commbus.payload.size": int64(24),
			},
			wantRes: Result{PayloadDropped: DropReasonOversize},
		},
		{
			name:     "oversize dropped",
			mutate:   func(c *Config) { c.MaxPayloadBytes = 10; c.Oversize = OversizeDrop },
			ev:       Event{EventType: "AgentCompleted", Payload: `{"agent_name":"planner"}`},
			wantBody: ``,
			wantAttrs: map[string]any{
				"commbus.event_type": "AgentCompleted", "commbus.payload.dropped": "oversize", "commbus.payload.size": int64(24),
			},
			wantRes: Result{PayloadDropped: DropReasonOversize},
		},
		{
			name:     "oversize user text is never truncated raw",
			mutate:   func(c *Config) { c.MaxPayloadBytes = 10; c.UserText = TextTruncate },
			ev:       Event{EventType: "ResponseChunk", Payload: `{"content":"private words"}`},
			wantBody: ``,
			wantAttrs: map[string]any{
				"commbus.event_type": "ResponseChunk", "commbus.payload.dropped": "oversize", "commbus.payload.size": int64(27),
			},
			wantRes: Result{PayloadDropped: DropReasonOversize},
		},
		{
			name:     "invalid JSON kept as string",
			ev:       Event{EventType: "AgentCompleted", Payload: `{"agent_name":`},
			wantBody: `{"agent_name":`,
			wantAttrs: map[string]any{
				"commbus.event_type": "AgentCompleted", "commbus.payload.invalid_json": true,
			},
			wantRes: Result{InvalidJSON: true},
		},
		{
			name:     "invalid JSON with user text follows the policy",
			ev:       Event{EventType: "ResponseChunk", Payload: `content=private`},
			wantBody: ``,
			wantAttrs: map[string]any{
				"commbus.event_type": "ResponseChunk", "commbus.payload.invalid_json": true, "commbus.user_text": "drop",
			},
			wantRes: Result{InvalidJSON: true},
		},
		{
			name:     "empty payload is invalid JSON",
			ev:       Event{EventType: "GoalCompleted", Payload: ``},
			wantBody: ``,
			wantAttrs: map[string]any{
				"commbus.event_type": "GoalCompleted", "commbus.payload.invalid_json": true,
			},
			wantRes: Result{InvalidJSON: true},
		},
		{
			name:     "non-object JSON body",
			ev:       Event{EventType: "x", Payload: `[1,2.5,"s"]`},
			wantBody: `[1,2.5,"s"]`,
			wantAttrs: map[string]any{
				"commbus.event_type": "x",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.mutate != nil {
				tt.mutate(&cfg)
			}
			tr := New(cfg)
			b := tr.NewBatch()
			tt.ev.Received = t0
			res := tr.Translate(&tt.ev, b)
			assert.Equal(t, tt.wantRes, res)
			bv, attrs := body(t, b, 0)
			if tt.wantBody == "" {
				assert.Equal(t, pcommon.ValueTypeEmpty, bv.Type())
			} else {
				assert.Equal(t, tt.wantBody, bv.AsString())
			}
			assert.Equal(t, tt.wantAttrs, attrs.AsRaw())
		})
	}
}

func TestLogRecordFields(t *testing.T) {
	tr := New(testConfig())
	b := tr.NewBatch()
	recv := t0.Add(time.Second)
	tr.Translate(&Event{EventType: "process.cancelled", Payload: `{"pid":12,"reason":"user_cancelled"}`, Source: "kernel", TimestampMs: ms(0), Received: recv}, b)
	tr.Translate(&Event{EventType: "AgentCompleted", Payload: `{"status":"error","session_id":"s"}`, Received: recv}, b)
	tr.Translate(&Event{EventType: "PipelineCompleted", Payload: `{"status":"cancelled"}`, Received: recv}, b)
	tr.Translate(&Event{EventType: "AgentStarted", Payload: `{}`, Received: recv}, b)
	lrs := b.Logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 4, lrs.Len())

	lr := lrs.At(0)
	assert.Equal(t, "process.cancelled", lr.EventName())
	assert.Equal(t, pcommon.Timestamp(ms(0)*1e6), lr.Timestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(recv), lr.ObservedTimestamp())
	assert.Equal(t, plog.SeverityNumberWarn, lr.SeverityNumber())
	assert.Equal(t, "WARN", lr.SeverityText())
	assert.Equal(t, map[string]any{"commbus.event_type": "process.cancelled", "commbus.source": "kernel", "jeeves.process.id": "12"}, lr.Attributes().AsRaw())
	assert.Equal(t, map[string]any{"pid": int64(12), "reason": "user_cancelled"}, lr.Body().Map().AsRaw())

	assert.Equal(t, pcommon.NewTimestampFromTime(recv), lrs.At(1).Timestamp(), "no timestamp_ms: receive time")
	assert.Equal(t, plog.SeverityNumberError, lrs.At(1).SeverityNumber())
	assert.Equal(t, plog.SeverityNumberWarn, lrs.At(2).SeverityNumber())
	assert.Equal(t, plog.SeverityNumberInfo, lrs.At(3).SeverityNumber())
	assert.Equal(t, "INFO", lrs.At(3).SeverityText())
	s, _ := b.Logs.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
	assert.Equal(t, "jeeves-commbus", s.Str())
}

func TestClassification(t *testing.T) {
	kinds := map[string]string{
		"clarification requested":  kindClarification,
		"CLARIFICATION_REQUIRED":   kindClarification,
		"confirmation_required":    kindConfirmation,
		"awaiting approval":        kindConfirmation,
		"agent review":             kindAgentReview,
		"checkpoint reached":       kindCheckpoint,
		"quota exhausted":          kindResourceExhausted,
		"max_llm_calls_exceeded":   kindResourceExhausted,
		"timeout waiting for tool": kindTimeout,
		"internal error":           kindSystemError,
		"waiting on the user":      kindClarification,
		"":                         kindClarification,
	}
	for reason, want := range kinds {
		assert.Equal(t, want, interruptKind(reason), reason)
	}
	resources := map[string]string{
		"max_llm_calls_exceeded":      resourceLLMCalls,
		"LLM call quota exceeded 5/5": resourceLLMCalls,
		"MAX_TOOL_CALLS_EXCEEDED":     resourceToolCalls,
		"max_agent_hops_exceeded":     resourceAgentHops,
		"tokens_out over budget":      resourceTokens,
		"max_iterations_exceeded":     resourceIterations,
		"max_loop_exceeded":           resourceIterations,
		"wall time exceeded":          resourceTime,
		"something else":              otherLabel,
	}
	for reason, want := range resources {
		assert.Equal(t, want, resourceFromReason(reason), reason)
	}
	assert.Equal(t, "process.created", eventTypeLabel("process.created"))
	assert.Equal(t, "AgentCompleted", eventTypeLabel("AgentCompleted"))
	assert.Equal(t, otherLabel, eventTypeLabel("process.created.x"))
	assert.Equal(t, otherLabel, eventTypeLabel(""))
	assert.Equal(t, "kernel", sourceLabel("kernel"))
	assert.Equal(t, "worker", sourceLabel("3f2c9a1e-proc"))
	assert.Equal(t, "unknown", sourceLabel(""))
	assert.Len(t, knownEventTypes, 30)
}

func TestStateMachineEdges(t *testing.T) {
	tr := New(testConfig())
	b := tr.NewBatch()
	tx := func(typ, payload string) {
		tr.Translate(&Event{EventType: typ, Payload: payload, Received: t0}, b)
	}
	// Unknown process: counted from the event alone.
	tx("process.state_changed", `{"pid":"x","old_state":"RUNNING","new_state":"WAITING","reason":"confirm"}`)
	tx("process.state_changed", `{"pid":"x","old_state":"WAITING","new_state":"RUNNING","reason":"confirm"}`)
	tx("process.state_changed", `{"pid":"x","old_state":"WAITING","new_state":"TERMINATED","reason":"checkpoint"}`)
	tx("resource.exhausted", `{"pid":"x","reason":"tokens"}`)
	// Known process: a second WAITING while waiting is not a second interrupt;
	// terminated while waiting is cancelled.
	tx("process.created", `{"pid":"k"}`)
	tx("process.created", `{"pid":"k"}`)
	tx("process.state_changed", `{"pid":"k","old_state":"RUNNING","new_state":"WAITING","reason":"review"}`)
	tx("resource.exhausted", `{"pid":"k","reason":"tool quota"}`)
	tx("process.terminated", `{"pid":"k"}`)
	tx("process.resumed", `{"pid":"gone"}`)
	tx("process.cancelled", `{"pid":"gone"}`)
	tx("process.created", `{"nopid":true}`)

	md, _ := tr.Metrics(t0)
	got, _ := flatten(md)
	for k := range got {
		if strings.HasPrefix(k, metricEvents) {
			delete(got, k)
		}
	}
	assert.Equal(t, map[string]int64{
		"jeeves_interrupts_total,kind=confirmation,status=pending":       1,
		"jeeves_interrupts_total,kind=confirmation,status=resolved":      1,
		"jeeves_interrupts_total,kind=checkpoint,status=cancelled":       1,
		"jeeves_interrupts_total,kind=resource_exhausted,status=pending": 1,
		"jeeves_interrupts_total,kind=agent_review,status=pending":       1,
		"jeeves_interrupts_total,kind=agent_review,status=cancelled":     1,
		"jeeves_resource_exhaustions_total,resource=tokens":              1,
		"jeeves_resource_exhaustions_total,resource=tool_calls":          1,
		"jeeves_processes_active":                                        0,
	}, got)
	assert.Equal(t, 0, tr.OpenProcesses())
	assert.Equal(t, 1, b.SpanCount())
}

// TestSeriesLimitAndExpiry: a family holding its series limit folds new label
// combinations into its otel.metric.overflow series and reports how many
// observations it folded; a series not updated within the expiration is gone
// at the next flush and starts again from zero.
func TestSeriesLimitAndExpiry(t *testing.T) {
	cfg := testConfig()
	cfg.Logs, cfg.Traces = false, false
	cfg.SeriesLimit = 2
	cfg.SeriesExpiration = time.Minute
	tr := New(cfg)
	b := tr.NewBatch()
	tx := func(at time.Duration, typ string) {
		tr.Translate(&Event{EventType: typ, Payload: `{}`, Source: "kernel", Received: t0.Add(at)}, b)
	}
	tx(0, "AgentStarted")
	tx(1*time.Second, "AgentCompleted")
	tx(2*time.Second, "ToolStarted")
	tx(3*time.Second, "ToolCompleted")
	tx(4*time.Second, "AgentStarted")

	md, overflows := tr.Metrics(t0.Add(10 * time.Second))
	got, _ := flatten(md)
	assert.Equal(t, map[string]int64{
		"jeeves_commbus_events_total,event_type=AgentStarted,source=kernel":   2,
		"jeeves_commbus_events_total,event_type=AgentCompleted,source=kernel": 1,
		"jeeves_commbus_events_total,otel.metric.overflow=true":               2,
		"jeeves_processes_active": 0,
	}, got)
	assert.Equal(t, []Overflow{{Metric: metricEvents, Count: 2}}, overflows)
	_, overflows = tr.Metrics(t0.Add(20 * time.Second))
	assert.Empty(t, overflows, "overflow counts are reported once")

	// At 64 s the cutoff is 4 s: the overflow series (last updated at 3 s)
	// expires, AgentStarted (4 s) and AgentCompleted (50 s) stay.
	tx(50*time.Second, "AgentCompleted")
	md, _ = tr.Metrics(t0.Add(64 * time.Second))
	got, _ = flatten(md)
	assert.Equal(t, map[string]int64{
		"jeeves_commbus_events_total,event_type=AgentStarted,source=kernel":   2,
		"jeeves_commbus_events_total,event_type=AgentCompleted,source=kernel": 2,
		"jeeves_processes_active": 0,
	}, got)

	// AgentStarted expires next; seen again, it starts over with a new start time.
	md, _ = tr.Metrics(t0.Add(65 * time.Second))
	got, _ = flatten(md)
	assert.NotContains(t, got, "jeeves_commbus_events_total,event_type=AgentStarted,source=kernel")
	tx(70*time.Second, "AgentStarted")
	md, _ = tr.Metrics(t0.Add(80 * time.Second))
	got, _ = flatten(md)
	assert.Equal(t, int64(1), got["jeeves_commbus_events_total,event_type=AgentStarted,source=kernel"])
	dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	for i := 0; i < dps.Len(); i++ {
		if v, _ := dps.At(i).Attributes().Get("event_type"); v.Str() == "AgentStarted" {
			assert.Equal(t, pcommon.NewTimestampFromTime(t0.Add(70*time.Second)), dps.At(i).StartTimestamp())
		}
	}
}

// TestMetricsOff: with metrics off nothing is aggregated and Metrics holds
// only the active-process gauge.
func TestMetricsOff(t *testing.T) {
	cfg := testConfig()
	cfg.Metrics = false
	tr, _, _ := runScript(t, cfg)
	md, overflows := tr.Metrics(t0.Add(time.Hour))
	got, counts := flatten(md)
	assert.Equal(t, map[string]int64{"jeeves_processes_active": 1}, got)
	assert.Empty(t, counts)
	assert.Empty(t, overflows)
}

func TestSpanEventsBounded(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSpanEvents = 3
	tr := New(cfg)
	b := tr.NewBatch()
	tr.Translate(&Event{EventType: "process.created", Payload: `{"pid":"p"}`, Received: t0}, b)
	for range 10 {
		tr.Translate(&Event{EventType: "process.resumed", Payload: `{"pid":"p"}`, Received: t0}, b)
	}
	tr.Translate(&Event{EventType: "process.terminated", Payload: `{"pid":"p"}`, Received: t0}, b)
	span := b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, 3, span.Events().Len())
	assert.Equal(t, uint32(7), span.DroppedEventsCount())
}

func TestProcessTableBound(t *testing.T) {
	cfg := testConfig()
	cfg.MaxOpenProcesses = 5
	tr := New(cfg)
	b := tr.NewBatch()
	evicted := 0
	for i := range 12 {
		r := tr.Translate(&Event{EventType: "process.created", Payload: `{"pid":"p` + strconv.Itoa(i) + `"}`, Received: t0.Add(time.Duration(i) * time.Second)}, b)
		evicted += r.Orphaned
		assert.LessOrEqual(t, tr.OpenProcesses(), 5)
	}
	assert.Equal(t, 7, evicted)
	assert.Equal(t, 7, b.SpanCount())
	span := b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	pid, _ := span.Attributes().Get("jeeves.process.id")
	assert.Equal(t, "p0", pid.Str(), "the least recently seen process is evicted first")
	reason, _ := span.Attributes().Get("jeeves.process.orphan_reason")
	assert.Equal(t, OrphanEvicted, reason.Str())

	// Touching p7 makes p8 the oldest.
	tr.Translate(&Event{EventType: "process.resumed", Payload: `{"pid":"p7"}`, Received: t0.Add(20 * time.Second)}, b)
	tr.Translate(&Event{EventType: "process.created", Payload: `{"pid":"new"}`, Received: t0.Add(21 * time.Second)}, b)
	last := b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(b.SpanCount() - 1)
	pid, _ = last.Attributes().Get("jeeves.process.id")
	assert.Equal(t, "p8", pid.Str())

	// TTL: everything seen before now-TTL expires, in order.
	cfg.ProcessTTL = 10 * time.Second
	tr2 := New(cfg)
	b2 := tr2.NewBatch()
	for i := range 3 {
		tr2.Translate(&Event{EventType: "process.created", Payload: `{"pid":"q` + strconv.Itoa(i) + `"}`, Received: t0.Add(time.Duration(i) * time.Second)}, b2)
	}
	assert.Equal(t, 2, tr2.Expire(t0.Add(11*time.Second), b2))
	assert.Equal(t, 1, tr2.OpenProcesses())
}

// TestMemoryFlatUnderProcessFlood creates a million processes that never end:
// the table stays at its bound and the heap does not grow with the flood.
func TestMemoryFlatUnderProcessFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("memory test")
	}
	cfg := testConfig()
	cfg.Logs, cfg.Traces = false, false
	cfg.MaxOpenProcesses = 10000
	tr := New(cfg)
	b := tr.NewBatch()
	flood := func(from, to int) {
		for i := from; i < to; i++ {
			ev := Event{EventType: "process.created", Payload: `{"pid":"flood-` + strconv.Itoa(i) + `","session_id":"s"}`, Received: t0}
			tr.Translate(&ev, b)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	flood(0, 100_000)
	before := heap()
	flood(100_000, 1_000_000)
	after := heap()
	assert.Equal(t, 10000, tr.OpenProcesses())
	t.Logf("heap after 100k processes: %d KiB, after 1M: %d KiB", before/1024, after/1024)
	assert.Less(t, after, before+before/2, "heap grew with the flood")
}

// FuzzTranslate feeds arbitrary events through a translator with a tiny
// table: nothing panics, the table stays bounded, every event gives exactly
// one log record and every metric label value comes from its fixed set.
func FuzzTranslate(f *testing.F) {
	for _, e := range script() {
		f.Add(e.EventType, e.Payload, e.Source, e.TimestampMs)
	}
	f.Add("resource.exhausted", `{"pid":1e400,"usage":{"llm_calls":"x"}}`, "", int64(-1))
	f.Add("process.created", `{"pid":{"a":1}}`, "kernel", int64(1<<62))
	f.Add("ClarificationRequested", `{"question":["\u00e9"]}`, "bridge", int64(0))
	cfg := testConfig()
	cfg.MaxOpenProcesses = 4
	cfg.MaxPayloadBytes = 64
	cfg.UserText = TextTruncate
	cfg.UserTextMaxBytes = 3
	known := map[string]bool{otherLabel: true}
	for k := range knownEventTypes {
		known[k] = true
	}
	f.Fuzz(func(t *testing.T, typ, payload, source string, tsMs int64) {
		tr := New(cfg)
		b := tr.NewBatch()
		for i := range 3 {
			tr.Translate(&Event{EventType: typ, Payload: payload, Source: source, TimestampMs: tsMs, Received: t0.Add(time.Duration(i) * time.Hour)}, b)
			tr.Translate(&Event{EventType: "process.created", Payload: `{"pid":"` + strconv.Itoa(i) + `"}`, Received: t0}, b)
		}
		tr.Expire(t0.Add(48*time.Hour), b)
		if tr.OpenProcesses() > 4 {
			t.Fatalf("table above its bound: %d", tr.OpenProcesses())
		}
		if b.LogCount() != 6 {
			t.Fatalf("want 6 log records, got %d", b.LogCount())
		}
		md, _ := tr.Metrics(t0)
		ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
		for i := 0; i < ms.Len(); i++ {
			m := ms.At(i)
			if m.Name() != metricEvents {
				continue
			}
			for j := 0; j < m.Sum().DataPoints().Len(); j++ {
				attrs := m.Sum().DataPoints().At(j).Attributes()
				et, _ := attrs.Get("event_type")
				src, _ := attrs.Get("source")
				if !known[et.Str()] || !slices.Contains([]string{"kernel", "gateway", "orchestrator", "bridge", "worker", "unknown"}, src.Str()) {
					t.Fatalf("label value outside its set: %q %q", et.Str(), src.Str())
				}
			}
		}
		// Truncated user text never exceeds its limit.
		lrs := b.Logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			if lrs.At(i).Body().Type() != pcommon.ValueTypeMap {
				continue
			}
			for _, k := range userTextFields[typ] {
				if v, ok := lrs.At(i).Body().Map().Get(k); ok && len(v.Str()) > 3 {
					t.Fatalf("user text %q above the limit", v.Str())
				}
			}
			if strings.Contains(lrs.At(i).Body().AsString(), "\x00invalid") {
				t.Fatal("unreachable")
			}
		}
	})
}

func TestTimestampBounds(t *testing.T) {
	tr := New(testConfig())
	b := tr.NewBatch()
	const maxMs = int64(math.MaxInt64) / 1_000_000
	for _, tsMs := range []int64{0, -1, math.MaxInt64, maxMs + 1} {
		tr.Translate(&Event{EventType: "x", Payload: "{}", TimestampMs: tsMs, Received: t0}, b)
	}
	tr.Translate(&Event{EventType: "x", Payload: "{}", TimestampMs: maxMs, Received: t0}, b)
	lrs := b.Logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range 4 {
		assert.Equal(t, pcommon.NewTimestampFromTime(t0), lrs.At(i).Timestamp(), "fallback %d", i)
	}
	assert.Equal(t, pcommon.Timestamp(maxMs*1_000_000), lrs.At(4).Timestamp())
}

// lifecycleStream is 1000 complete kernel process lifecycles (6 events each,
// distinct pids), as the subscriber receives them.
func lifecycleStream() []Event {
	evs := make([]Event, 0, 6000)
	add := func(typ, payload string, ms int64) {
		evs = append(evs, Event{EventType: typ, Payload: payload, Source: "kernel", TimestampMs: 1_790_000_000_000 + ms, Received: t0})
	}
	for i := range 1000 {
		for _, e := range testkernel.Lifecycle(i) {
			add(e.Type, e.Payload, e.OffsetMs)
		}
	}
	return evs
}

// BenchmarkTranslate measures translation alone (no wire decoding) per
// kernel lifecycle event: with all three signals, and with metrics only (the
// payload parse, the process table and the series tables), starting a new
// batch every 512 events as the receiver does.
func BenchmarkTranslate(b *testing.B) {
	for _, bc := range []struct {
		name         string
		logs, traces bool
	}{{"all", true, true}, {"metrics_only", false, false}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := testConfig()
			cfg.Logs, cfg.Traces = bc.logs, bc.traces
			cfg.MaxOpenProcesses, cfg.UserTextMaxBytes = 10000, 256
			tr := New(cfg)
			evs := lifecycleStream()
			batch := tr.NewBatch()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				tr.Translate(&evs[i%len(evs)], batch)
				if i%512 == 511 {
					batch = tr.NewBatch()
				}
			}
		})
	}
}
