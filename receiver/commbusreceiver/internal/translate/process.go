package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"encoding/binary"
	"hash/fnv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Process outcomes (span attribute jeeves.process.outcome and the outcome
// label of jeeves_process_duration_seconds).
const (
	outcomeTerminated = "terminated"
	outcomeCancelled  = "cancelled"
	outcomeOrphaned   = "orphaned"
)

// spanName is the name of every process lifecycle span.
const spanName = "jeeves.process"

type kv struct {
	key   string
	s     string
	i     int64
	isInt bool
}

type spanEvent struct {
	name  string
	ts    int64
	attrs []kv
}

// process is one open Jeeves process: the span under construction plus the
// interrupt it waits on. It sits in an intrusive list ordered by the time the
// receiver last heard of it, so the least recently seen is at the front.
type process struct {
	pid                  string
	sessionID, requestID string
	startNanos           int64
	lastNanos            int64     // event time of the last event
	lastSeen             time.Time // receive time of the last event (drives the TTL)
	events               []spanEvent
	droppedEvents        uint32
	isError              bool
	errMessage           string
	waiting              string // interrupt kind while WAITING, else ""

	prev, next *process
}

func (p *process) addEvent(limit int, e spanEvent) {
	if len(p.events) >= limit {
		p.droppedEvents++
		return
	}
	p.events = append(p.events, e)
}

func (p *process) setError(message, fallback string) {
	if p.isError {
		return
	}
	p.isError = true
	if message == "" {
		message = fallback
	}
	p.errMessage = message
}

// ids derives the trace and span ids from the pid and the start time, so
// the same process always gets the same ids and a reused pid does not.
func (p *process) ids() (pcommon.TraceID, pcommon.SpanID) {
	h := fnv.New128a()
	_, _ = h.Write([]byte(p.pid))
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(p.startNanos))
	_, _ = h.Write(ts[:])
	var sum [16]byte
	h.Sum(sum[:0])
	var tid pcommon.TraceID
	copy(tid[:], sum[:])
	h64 := fnv.New64a()
	_, _ = h64.Write(sum[:])
	var sid pcommon.SpanID
	binary.BigEndian.PutUint64(sid[:], h64.Sum64()|1) // never the all-zero invalid id
	return tid, sid
}

func (p *process) toSpan(span ptrace.Span, endNanos int64, outcome, orphanReason string) {
	tid, sid := p.ids()
	span.SetTraceID(tid)
	span.SetSpanID(sid)
	span.SetName(spanName)
	span.SetKind(ptrace.SpanKindInternal)
	span.SetStartTimestamp(pcommon.Timestamp(p.startNanos))
	span.SetEndTimestamp(pcommon.Timestamp(max(endNanos, p.startNanos)))
	attrs := span.Attributes()
	attrs.PutStr("jeeves.process.id", p.pid)
	if p.sessionID != "" {
		attrs.PutStr("jeeves.session.id", p.sessionID)
	}
	if p.requestID != "" {
		attrs.PutStr("jeeves.request.id", p.requestID)
	}
	attrs.PutStr("jeeves.process.outcome", outcome)
	if orphanReason != "" {
		attrs.PutBool("jeeves.process.orphaned", true)
		attrs.PutStr("jeeves.process.orphan_reason", orphanReason)
	}
	evs := span.Events()
	evs.EnsureCapacity(len(p.events))
	for _, e := range p.events {
		se := evs.AppendEmpty()
		se.SetName(e.name)
		se.SetTimestamp(pcommon.Timestamp(e.ts))
		for _, a := range e.attrs {
			if a.isInt {
				se.Attributes().PutInt(a.key, a.i)
			} else if a.s != "" {
				se.Attributes().PutStr(a.key, a.s)
			}
		}
	}
	span.SetDroppedEventsCount(p.droppedEvents)
	if p.isError {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(p.errMessage)
	}
}

// processTable is the bounded open-process table: a map for lookup and a
// list by recency for TTL expiry and eviction, both O(1) per event.
type processTable struct {
	byPID      map[string]*process
	head, tail *process
	limit      int
	ttl        time.Duration
}

func newProcessTable(limit int, ttl time.Duration) *processTable {
	if limit <= 0 {
		limit = 10000
	}
	return &processTable{byPID: make(map[string]*process), limit: limit, ttl: ttl}
}

func (pt *processTable) len() int                { return len(pt.byPID) }
func (pt *processTable) full() bool              { return len(pt.byPID) >= pt.limit }
func (pt *processTable) oldest() *process        { return pt.head }
func (pt *processTable) get(pid string) *process { return pt.byPID[pid] }

func (pt *processTable) add(pid string, tsNanos int64, now time.Time) *process {
	p := &process{pid: pid, startNanos: tsNanos, lastNanos: tsNanos, lastSeen: now}
	pt.byPID[pid] = p
	pt.pushBack(p)
	return p
}

func (pt *processTable) touch(p *process, tsNanos int64, now time.Time) {
	p.lastNanos = max(p.lastNanos, tsNanos)
	p.lastSeen = now
	pt.unlink(p)
	pt.pushBack(p)
}

func (pt *processTable) remove(p *process) {
	delete(pt.byPID, p.pid)
	pt.unlink(p)
}

// expired returns the least recently seen process when it is past the TTL.
func (pt *processTable) expired(now time.Time) *process {
	if pt.head == nil || pt.ttl <= 0 || now.Sub(pt.head.lastSeen) < pt.ttl {
		return nil
	}
	return pt.head
}

func (pt *processTable) pushBack(p *process) {
	p.prev, p.next = pt.tail, nil
	if pt.tail != nil {
		pt.tail.next = p
	} else {
		pt.head = p
	}
	pt.tail = p
}

func (pt *processTable) unlink(p *process) {
	if p.prev != nil {
		p.prev.next = p.next
	} else if pt.head == p {
		pt.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else if pt.tail == p {
		pt.tail = p.prev
	}
	p.prev, p.next = nil, nil
}
