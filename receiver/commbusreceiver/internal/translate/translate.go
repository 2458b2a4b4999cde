// Package translate turns CommBus events into OpenTelemetry logs, lifecycle
// spans and aggregated metrics. It is pure: it knows pdata and nothing else
// of the collector, takes the current time as an argument, and is not safe
// for concurrent use (the caller serialises calls).
package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
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

// Translate turns one event into at most one log record (appended to b), a
// change of the process table (ended spans appended to b) and metric updates.
func (t *Translator) Translate(ev *Event, b *Batch) Result {
	seen := pcommon.NewTimestampFromTime(ev.Received)
	t.metrics.countEvent(eventTypeLabel(ev.EventType), sourceLabel(ev.Source), seen)

	oversize := t.cfg.MaxPayloadBytes > 0 && len(ev.Payload) > t.cfg.MaxPayloadBytes
	lifecycle := needsFields(ev.EventType) && (t.cfg.Traces || t.cfg.Metrics)
	var (
		res Result
		pl  payload
	)
	// Oversize payloads are parsed only when they drive spans or metrics,
	// never just for a log body that will not hold them.
	if (t.cfg.Logs && !oversize) || lifecycle {
		pl = parsePayload(ev.Payload)
		res.InvalidJSON = !pl.valid
	}
	at := eventTime(ev)
	if lifecycle {
		res.Orphaned = t.lifecycle(&occurrence{
			eventType: ev.EventType, fields: pl.fields, at: at, received: ev.Received, seen: seen,
		}, b)
	}
	if t.cfg.Logs {
		res.PayloadDropped = t.appendLog(ev, &pl, oversize, at, b)
	}
	return res
}

// eventTime is when the event happened, in ns since the epoch: the kernel's
// timestamp_ms, else (absent, or beyond int64 nanoseconds) the receive time.
func eventTime(ev *Event) int64 {
	if ev.TimestampMs > 0 && ev.TimestampMs <= math.MaxInt64/int64(time.Millisecond) {
		return ev.TimestampMs * int64(time.Millisecond)
	}
	return ev.Received.UnixNano()
}

// Expire ends every process not heard of for longer than the TTL as an
// orphan and returns how many it ended.
func (t *Translator) Expire(now time.Time, b *Batch) int {
	seen := pcommon.NewTimestampFromTime(now)
	n := 0
	for {
		p := t.procs.expired(now)
		if p == nil {
			return n
		}
		t.endOrphan(p, OrphanTTLExpired, seen, b)
		n++
	}
}
