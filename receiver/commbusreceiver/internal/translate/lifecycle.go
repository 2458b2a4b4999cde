package translate // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// occurrence is one process or interrupt event as the process table and the
// metrics see it.
type occurrence struct {
	eventType string
	fields    map[string]any    // the payload's JSON object; nil when it is none
	at        int64             // when it happened, ns since the epoch (see eventTime)
	received  time.Time         // when it was received: drives the process TTL
	seen      pcommon.Timestamp // received, as metric series time
}

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

// lifecycle applies a process or interrupt event to the process table and
// the metrics. It returns the number of processes evicted.
func (t *Translator) lifecycle(o *occurrence, b *Batch) int {
	switch o.eventType {
	case "ClarificationRequested":
		t.metrics.countInterrupt(kindClarification, statusPending, o.seen)
		return 0
	case "ClarificationResolved":
		t.metrics.countInterrupt(kindClarification, statusResolved, o.seen)
		return 0
	}
	pid := processID(o.fields)
	var p *process
	if pid != "" {
		p = t.procs.get(pid)
	}
	switch o.eventType {
	case TypeProcessCreated:
		if pid != "" && p == nil {
			return t.createProcess(pid, o, b)
		}
	case TypeProcessStateChanged:
		t.changeState(p, o)
	case TypeProcessResumed:
		t.resume(p, o)
	case TypeResourceExhausted:
		t.exhaust(p, o)
	case TypeProcessCancelled, TypeProcessTerminated:
		t.endProcess(p, o, b)
	}
	return 0
}

// createProcess opens a process, first evicting the least recently seen one
// when the table is full. It returns the number of processes evicted.
func (t *Translator) createProcess(pid string, o *occurrence, b *Batch) int {
	evicted := 0
	if t.procs.full() {
		if old := t.procs.oldest(); old != nil {
			t.endOrphan(old, OrphanEvicted, o.seen, b)
			evicted++
		}
	}
	p := t.procs.add(pid, o.at, o.received)
	p.sessionID = str(o.fields["session_id"])
	p.requestID = str(o.fields["request_id"])
	return evicted
}

// changeState records a state change on the process span (p may be nil: a
// process created before the receiver started) and counts the interrupt a
// move into or out of WAITING opens or closes.
func (t *Translator) changeState(p *process, o *occurrence) {
	oldState, newState, reason := str(o.fields["old_state"]), str(o.fields["new_state"]), str(o.fields["reason"])
	if p != nil {
		t.procs.touch(p, o.at, o.received)
		p.addEvent(t.cfg.MaxSpanEvents, spanEvent{name: o.eventType, ts: o.at, attrs: []kv{
			{key: "jeeves.process.old_state", s: oldState},
			{key: "jeeves.process.new_state", s: newState},
			{key: "jeeves.process.reason", s: reason},
		}})
	}
	switch {
	case newState == "WAITING" && oldState != "WAITING":
		t.openInterrupt(p, interruptKind(reason), o.seen)
	case oldState == "WAITING" && newState != "WAITING":
		status := statusResolved
		if newState == "TERMINATED" || newState == "ZOMBIE" {
			status = statusCancelled
		}
		if p == nil {
			t.metrics.countInterrupt(interruptKind(reason), status, o.seen)
		} else {
			t.closeInterrupt(p, status, o.seen)
		}
	}
}

// resume records a resumption on the process span and resolves its pending
// interrupt.
func (t *Translator) resume(p *process, o *occurrence) {
	if p == nil {
		return
	}
	t.procs.touch(p, o.at, o.received)
	p.addEvent(t.cfg.MaxSpanEvents, spanEvent{name: o.eventType, ts: o.at})
	t.closeInterrupt(p, statusResolved, o.seen)
}

// usageFields are the resource.exhausted usage counters copied to the span event.
var usageFields = []string{"llm_calls", "tool_calls", "agent_hops", "tokens_in", "tokens_out"}

// exhaust counts a quota exhaustion and the interrupt it opens, and marks the
// process span as failed with the quota reason.
func (t *Translator) exhaust(p *process, o *occurrence) {
	reason := str(o.fields["reason"])
	resource := resourceFromReason(reason)
	t.metrics.countExhaustion(resource, o.seen)
	t.openInterrupt(p, kindResourceExhausted, o.seen)
	if p == nil {
		return
	}
	t.procs.touch(p, o.at, o.received)
	attrs := []kv{{key: "jeeves.resource", s: resource}, {key: "jeeves.resource.reason", s: reason}}
	if usage, ok := o.fields["usage"].(map[string]any); ok {
		for _, k := range usageFields {
			if n, ok := usage[k].(float64); ok {
				attrs = append(attrs, kv{key: "jeeves.usage." + k, i: int64(n), isInt: true})
			}
		}
	}
	p.addEvent(t.cfg.MaxSpanEvents, spanEvent{name: o.eventType, ts: o.at, attrs: attrs})
	p.setError(reason, "resource exhausted")
}

// endProcess ends the span of a terminated or cancelled process, cancels its
// pending interrupt and observes its duration.
func (t *Translator) endProcess(p *process, o *occurrence, b *Batch) {
	if p == nil {
		return
	}
	outcome := outcomeTerminated
	if o.eventType == TypeProcessCancelled {
		outcome = outcomeCancelled
		p.setError(str(o.fields["reason"]), "cancelled")
	}
	t.closeInterrupt(p, statusCancelled, o.seen)
	t.metrics.observeDuration(outcome, float64(max(o.at-p.startNanos, 0))/1e9, o.seen)
	t.endSpan(p, o.at, outcome, "", b)
	t.procs.remove(p)
}

// openInterrupt counts a pending interrupt of kind. A known process waits on
// one interrupt at a time: a second one while it waits is not counted. An
// unknown process (nil) is counted from the event alone.
func (t *Translator) openInterrupt(p *process, kind string, now pcommon.Timestamp) {
	if p != nil {
		if p.waiting != "" {
			return
		}
		p.waiting = kind
	}
	t.metrics.countInterrupt(kind, statusPending, now)
}

// closeInterrupt counts the end of the interrupt the process waits on, if any.
func (t *Translator) closeInterrupt(p *process, status string, now pcommon.Timestamp) {
	if p.waiting == "" {
		return
	}
	t.metrics.countInterrupt(p.waiting, status, now)
	p.waiting = ""
}

// endOrphan ends a process that got no terminal event (silent for the TTL,
// or evicted) at its last event; its pending interrupt expires.
func (t *Translator) endOrphan(p *process, reason string, now pcommon.Timestamp, b *Batch) {
	t.closeInterrupt(p, statusExpired, now)
	t.endSpan(p, p.lastNanos, outcomeOrphaned, reason, b)
	t.procs.remove(p)
}

func (t *Translator) endSpan(p *process, endNanos int64, outcome, orphanReason string, b *Batch) {
	if !t.cfg.Traces {
		return
	}
	p.toSpan(b.spans.AppendEmpty(), endNanos, outcome, orphanReason)
}
