// Package translate turns CommBus events into OpenTelemetry logs, lifecycle
// spans and aggregated metrics. It is pure: it knows pdata and nothing else
// of the collector, takes the current time as an argument, and is not safe
// for concurrent use (the caller serialises calls).
package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"encoding/json"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TextPolicy says what happens to user text fields.
type TextPolicy string

// User text policies.
const (
	TextKeep     TextPolicy = "keep"
	TextTruncate TextPolicy = "truncate"
	TextDrop     TextPolicy = "drop"
)

// OversizePolicy says what happens to a payload above MaxPayloadBytes.
type OversizePolicy string

// Oversize policies.
const (
	OversizeTruncate OversizePolicy = "truncate"
	OversizeDrop     OversizePolicy = "drop"
)

// Dropped-payload reasons (Result.PayloadDropped).
const (
	DropReasonOversize  = "oversize"
	DropReasonEventType = "event_type"
)

// Orphan reasons (span attribute jeeves.process.orphan_reason).
const (
	OrphanTTLExpired = "ttl_expired"
	OrphanEvicted    = "evicted"
)

// Config is the translator's configuration, already validated.
type Config struct {
	Logs, Traces, Metrics bool // which signals to produce

	MaxPayloadBytes  int // payloads above this are truncated or dropped; 0 = no limit
	Oversize         OversizePolicy
	DropEventTypes   []string // payloads of these types are not put in log bodies
	UserText         TextPolicy
	UserTextMaxBytes int // for TextTruncate

	MaxOpenProcesses int           // bound of the open-process table
	ProcessTTL       time.Duration // an open process not heard of for this long is ended as an orphan
	MaxSpanEvents    int           // span events kept per process; more are counted as dropped

	SeriesLimit      int           // series per metric family; more fold into the overflow series (default 5000)
	SeriesExpiration time.Duration // a series not updated for this long is dropped at flush; 0 = never

	ServiceName  string // resource service.name
	ScopeName    string
	ScopeVersion string
}

// Event is one CommBus event as received.
type Event struct {
	EventType   string
	Payload     string // JSON text
	Source      string
	TimestampMs int64     // ms since epoch set by the kernel; 0 = absent
	Received    time.Time // when the receiver read it
}

// Result reports what happened to one event, for component telemetry.
type Result struct {
	InvalidJSON    bool
	PayloadDropped string // "", DropReasonOversize or DropReasonEventType
	Orphaned       int    // processes evicted from a full table by this event
}

// Translator holds the open-process table and the metric aggregates.
type Translator struct {
	cfg       Config
	dropTypes map[string]struct{}
	procs     *processTable
	metrics   *metricTables // nil when metrics are off
	resource  pcommon.Resource
}

// New returns a Translator.
func New(cfg Config) *Translator {
	if cfg.MaxSpanEvents <= 0 {
		cfg.MaxSpanEvents = 128
	}
	if cfg.SeriesLimit <= 0 {
		cfg.SeriesLimit = defaultSeriesLimit
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "jeeves-commbus"
	}
	t := &Translator{
		cfg:       cfg,
		dropTypes: make(map[string]struct{}, len(cfg.DropEventTypes)),
		procs:     newProcessTable(cfg.MaxOpenProcesses, cfg.ProcessTTL),
		resource:  pcommon.NewResource(),
	}
	if cfg.Metrics {
		t.metrics = newMetricTables(cfg.SeriesLimit, cfg.SeriesExpiration)
	}
	for _, et := range cfg.DropEventTypes {
		t.dropTypes[et] = struct{}{}
	}
	t.resource.Attributes().PutStr("service.name", cfg.ServiceName)
	return t
}

// OpenProcesses is the size of the open-process table.
func (t *Translator) OpenProcesses() int { return t.procs.len() }

// Batch collects the logs and finished spans of several Translate calls.
// After handing Logs/Traces to a consumer, start a new Batch.
type Batch struct {
	Logs   plog.Logs
	Traces ptrace.Traces
	logs   plog.LogRecordSlice
	spans  ptrace.SpanSlice
}

// NewBatch returns an empty Batch with the translator's resource and scope.
func (t *Translator) NewBatch() *Batch {
	b := &Batch{Logs: plog.NewLogs(), Traces: ptrace.NewTraces()}
	rl := b.Logs.ResourceLogs().AppendEmpty()
	t.resource.CopyTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(t.cfg.ScopeName)
	sl.Scope().SetVersion(t.cfg.ScopeVersion)
	b.logs = sl.LogRecords()
	rs := b.Traces.ResourceSpans().AppendEmpty()
	t.resource.CopyTo(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(t.cfg.ScopeName)
	ss.Scope().SetVersion(t.cfg.ScopeVersion)
	b.spans = ss.Spans()
	return b
}

// LogCount is the number of log records in the batch.
func (b *Batch) LogCount() int { return b.logs.Len() }

// SpanCount is the number of spans in the batch.
func (b *Batch) SpanCount() int { return b.spans.Len() }

// needsFields says whether an event's payload must be parsed even when no
// log is built: lifecycle events drive spans and metrics.
func needsFields(eventType string) bool {
	switch eventType {
	case TypeProcessCreated, TypeProcessStateChanged, TypeProcessTerminated, TypeProcessResumed,
		TypeProcessCancelled, TypeResourceExhausted, "ClarificationRequested", "ClarificationResolved":
		return true
	}
	return false
}

// Translate turns one event into at most one log record (appended to b), a
// change of the process table (ended spans appended to b) and metric updates.
func (t *Translator) Translate(ev *Event, b *Batch) Result {
	var res Result
	tsNanos := ev.Received.UnixNano()
	// Timestamps that do not fit int64 nanoseconds fall back to receive time.
	if ev.TimestampMs > 0 && ev.TimestampMs <= math.MaxInt64/int64(time.Millisecond) {
		tsNanos = ev.TimestampMs * int64(time.Millisecond)
	}
	t.metrics.countEvent(EventTypeLabel(ev.EventType), SourceLabel(ev.Source), pcommon.NewTimestampFromTime(ev.Received))

	oversize := t.cfg.MaxPayloadBytes > 0 && len(ev.Payload) > t.cfg.MaxPayloadBytes
	_, dropByType := t.dropTypes[ev.EventType]
	lifecycle := needsFields(ev.EventType) && (t.cfg.Traces || t.cfg.Metrics)

	var (
		parsed any
		valid  bool
	)
	// Oversize payloads are parsed only when they drive spans or metrics,
	// never just for a log body that will not hold them.
	if (t.cfg.Logs && !oversize) || lifecycle {
		parsed, valid = parseJSON(ev.Payload)
		res.InvalidJSON = !valid
	}
	fields, _ := parsed.(map[string]any)

	if lifecycle {
		res.Orphaned = t.lifecycle(ev.EventType, fields, tsNanos, ev.Received, b)
	}
	if !t.cfg.Logs {
		return res
	}

	lr := b.logs.AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(tsNanos))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ev.Received))
	lr.SetEventName(ev.EventType)
	sevNum, sevText := severity(ev.EventType, fields)
	lr.SetSeverityNumber(sevNum)
	lr.SetSeverityText(sevText)
	attrs := lr.Attributes()
	attrs.EnsureCapacity(6)
	attrs.PutStr("commbus.event_type", ev.EventType)
	if ev.Source != "" {
		attrs.PutStr("commbus.source", ev.Source)
	}
	if fields != nil {
		if pid := processID(fields); pid != "" {
			attrs.PutStr("jeeves.process.id", pid)
		}
		if s := str(fields["session_id"]); s != "" {
			attrs.PutStr("jeeves.session.id", s)
		}
		if s := str(fields["request_id"]); s != "" {
			attrs.PutStr("jeeves.request.id", s)
		}
	}

	switch {
	case dropByType:
		res.PayloadDropped = DropReasonEventType
		attrs.PutStr("commbus.payload.dropped", DropReasonEventType)
		attrs.PutInt("commbus.payload.size", int64(len(ev.Payload)))
	case oversize:
		res.PayloadDropped = DropReasonOversize
		attrs.PutInt("commbus.payload.size", int64(len(ev.Payload)))
		if t.cfg.Oversize == OversizeDrop || (t.hasUserText(ev.EventType) && t.cfg.UserText != TextKeep) {
			attrs.PutStr("commbus.payload.dropped", DropReasonOversize)
		} else {
			attrs.PutBool("commbus.payload.truncated", true)
			lr.Body().SetStr(truncateUTF8(ev.Payload, t.cfg.MaxPayloadBytes))
		}
	case !valid:
		attrs.PutBool("commbus.payload.invalid_json", true)
		body := ev.Payload
		// Unparsed text of an event that carries user text is user text.
		if t.hasUserText(ev.EventType) {
			switch t.cfg.UserText {
			case TextDrop:
				body = ""
				attrs.PutStr("commbus.user_text", string(TextDrop))
			case TextTruncate:
				if len(body) > t.cfg.UserTextMaxBytes {
					body = truncateUTF8(body, t.cfg.UserTextMaxBytes)
					attrs.PutStr("commbus.user_text", string(TextTruncate))
				}
			}
		}
		if body != "" {
			lr.Body().SetStr(body)
		}
	default:
		if fields != nil && t.hasUserText(ev.EventType) && t.cfg.UserText != TextKeep {
			if t.applyUserText(ev.EventType, fields) {
				attrs.PutStr("commbus.user_text", string(t.cfg.UserText))
			}
		}
		putValue(lr.Body(), parsed)
	}
	return res
}

// processID is the process an event names: pid (kernel events) else
// process_id (pipeline.agent_completed); "" when neither is present.
func processID(fields map[string]any) string {
	if pid := str(fields["pid"]); pid != "" {
		return pid
	}
	return str(fields["process_id"])
}

func (t *Translator) hasUserText(eventType string) bool {
	_, ok := userTextFields[eventType]
	return ok
}

// applyUserText drops or truncates the user text fields of fields in place
// and reports whether it changed anything.
func (t *Translator) applyUserText(eventType string, fields map[string]any) bool {
	changed := false
	for _, k := range userTextFields[eventType] {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if t.cfg.UserText == TextDrop {
			delete(fields, k)
			changed = true
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			raw, err := json.Marshal(v)
			if err != nil {
				delete(fields, k)
				changed = true
				continue
			}
			s = string(raw)
		}
		if len(s) > t.cfg.UserTextMaxBytes || !isStr {
			fields[k] = truncateUTF8(s, t.cfg.UserTextMaxBytes)
			changed = true
		}
	}
	return changed
}

// lifecycle applies a process or interrupt event to the table and the
// metrics. It returns the number of processes evicted.
func (t *Translator) lifecycle(eventType string, fields map[string]any, tsNanos int64, now time.Time, b *Batch) int {
	seen := pcommon.NewTimestampFromTime(now)
	switch eventType {
	case "ClarificationRequested":
		t.metrics.countInterrupt(KindClarification, StatusPending, seen)
		return 0
	case "ClarificationResolved":
		t.metrics.countInterrupt(KindClarification, StatusResolved, seen)
		return 0
	}
	pid := processID(fields)
	evicted := 0
	var p *process
	if pid != "" {
		p = t.procs.get(pid)
	}
	switch eventType {
	case TypeProcessCreated:
		if pid == "" || p != nil {
			break
		}
		if t.procs.full() {
			if old := t.procs.oldest(); old != nil {
				t.endOrphan(old, OrphanEvicted, seen, b)
				evicted++
			}
		}
		p = t.procs.add(pid, tsNanos, now)
		p.sessionID = str(fields["session_id"])
		p.requestID = str(fields["request_id"])
		return evicted

	case TypeProcessStateChanged:
		oldState, newState, reason := str(fields["old_state"]), str(fields["new_state"]), str(fields["reason"])
		if p != nil {
			t.procs.touch(p, tsNanos, now)
			p.addEvent(t.cfg.MaxSpanEvents, spanEvent{name: eventType, ts: tsNanos, attrs: []kv{
				{key: "jeeves.process.old_state", s: oldState},
				{key: "jeeves.process.new_state", s: newState},
				{key: "jeeves.process.reason", s: reason},
			}})
		}
		switch {
		case newState == "WAITING" && oldState != "WAITING":
			kind := InterruptKind(reason)
			if p == nil {
				t.metrics.countInterrupt(kind, StatusPending, seen)
			} else if p.waiting == "" {
				p.waiting = kind
				t.metrics.countInterrupt(kind, StatusPending, seen)
			}
		case oldState == "WAITING" && newState != "WAITING":
			status := StatusResolved
			if newState == "TERMINATED" || newState == "ZOMBIE" {
				status = StatusCancelled
			}
			if p == nil {
				t.metrics.countInterrupt(InterruptKind(reason), status, seen)
			} else if p.waiting != "" {
				t.metrics.countInterrupt(p.waiting, status, seen)
				p.waiting = ""
			}
		}

	case TypeProcessResumed:
		if p != nil {
			t.procs.touch(p, tsNanos, now)
			p.addEvent(t.cfg.MaxSpanEvents, spanEvent{name: eventType, ts: tsNanos})
			if p.waiting != "" {
				t.metrics.countInterrupt(p.waiting, StatusResolved, seen)
				p.waiting = ""
			}
		}

	case TypeResourceExhausted:
		reason := str(fields["reason"])
		resource := ResourceFromReason(reason)
		t.metrics.countExhaustion(resource, seen)
		if p == nil {
			t.metrics.countInterrupt(KindResourceExhausted, StatusPending, seen)
			break
		}
		if p.waiting == "" {
			p.waiting = KindResourceExhausted
			t.metrics.countInterrupt(KindResourceExhausted, StatusPending, seen)
		}
		t.procs.touch(p, tsNanos, now)
		attrs := []kv{{key: "jeeves.resource", s: resource}, {key: "jeeves.resource.reason", s: reason}}
		if usage, ok := fields["usage"].(map[string]any); ok {
			for _, k := range []string{"llm_calls", "tool_calls", "agent_hops", "tokens_in", "tokens_out"} {
				if n, ok := usage[k].(float64); ok {
					attrs = append(attrs, kv{key: "jeeves.usage." + k, i: int64(n), isInt: true})
				}
			}
		}
		p.addEvent(t.cfg.MaxSpanEvents, spanEvent{name: eventType, ts: tsNanos, attrs: attrs})
		p.setError(reason, "resource exhausted")

	case TypeProcessCancelled, TypeProcessTerminated:
		if p == nil {
			break
		}
		outcome := OutcomeTerminated
		if eventType == TypeProcessCancelled {
			outcome = OutcomeCancelled
			p.setError(str(fields["reason"]), "cancelled")
		}
		if p.waiting != "" {
			t.metrics.countInterrupt(p.waiting, StatusCancelled, seen)
			p.waiting = ""
		}
		t.metrics.observeDuration(outcome, float64(max(tsNanos-p.startNanos, 0))/1e9, seen)
		t.endSpan(p, tsNanos, outcome, "", b)
		t.procs.remove(p)
	}
	return evicted
}

// Expire ends every process not heard of for longer than the TTL as an
// orphan and returns how many it ended.
func (t *Translator) Expire(now time.Time, b *Batch) int {
	n := 0
	for {
		p := t.procs.expired(now)
		if p == nil {
			return n
		}
		t.endOrphan(p, OrphanTTLExpired, pcommon.NewTimestampFromTime(now), b)
		n++
	}
}

func (t *Translator) endOrphan(p *process, reason string, now pcommon.Timestamp, b *Batch) {
	if p.waiting != "" {
		t.metrics.countInterrupt(p.waiting, StatusExpired, now)
		p.waiting = ""
	}
	t.endSpan(p, p.lastNanos, OutcomeOrphaned, reason, b)
	t.procs.remove(p)
}

func (t *Translator) endSpan(p *process, endNanos int64, outcome, orphanReason string, b *Batch) {
	if !t.cfg.Traces {
		return
	}
	p.toSpan(b.spans.AppendEmpty(), endNanos, outcome, orphanReason)
}
