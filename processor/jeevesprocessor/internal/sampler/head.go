package sampler

import (
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// head decides per span from the span alone: its trace id (or tracestate rv) against the threshold.
// All spans of a trace get the same decision on every collector with the same percentage and
// precision, so no buffering and no trace-id affinity are needed. Its only state is its counters.
type head struct {
	stamp stamp

	kept, dropped, malformed atomic.Uint64
}

// newHead returns a head sampler for cfg.Percentage at cfg.Precision; other fields are ignored.
func newHead(cfg Config) (*head, error) {
	th, err := threshold(cfg.Percentage, cfg.Precision)
	if err != nil {
		return nil, err
	}
	return &head{stamp: newStamp(th)}, nil
}

// keep is the one decision Consume and AdmitExemplar make: the effective threshold against the
// span's randomness, so an admitted exemplar is always of a span Consume forwards.
func (h *head) keep(id pcommon.TraceID, in incoming) bool {
	return effective(h.stamp.threshold, in).ShouldSample(randomness(id, in))
}

// Consume returns copies of the kept spans, each resource and scope copied once, with the threshold
// written into the copies' tracestate (unless they carry a higher one). It allocates nothing when no
// span is kept; a kept span costs its copy, plus the rewritten tracestate when it had one.
func (h *head) Consume(td ptrace.Traces) ptrace.Traces {
	var out output
	var kept, dropped, malformed uint64
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		out.enterResource(rs)
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			out.enterScope(ss)
			spans := ss.Spans()
			for k := range spans.Len() {
				span := spans.At(k)
				if !validIDs(span) {
					continue
				}
				raw := span.TraceState().AsRaw()
				var in incoming
				if raw != "" { // most spans carry none; skip the call
					in = readTraceState(raw)
					if in.malformed {
						malformed++
					}
				}
				if !h.keep(span.TraceID(), in) {
					dropped++
					continue
				}
				kept++
				applyStamp(out.appendCopy(span).TraceState(), raw, in, h.stamp)
			}
		}
	}
	h.kept.Add(kept)
	h.dropped.Add(dropped)
	if malformed > 0 {
		h.malformed.Add(malformed)
	}
	return out.traces()
}

// Tick returns nothing: head mode holds no spans.
func (*head) Tick(time.Time) ptrace.Traces { return nothing }

// Flush returns nothing: head mode holds no spans.
func (*head) Flush() ptrace.Traces { return nothing }

// TickInterval is 0: head mode has nothing to decide later.
func (*head) TickInterval() time.Duration { return 0 }

// AdmitExemplar reports whether Consume forwards a span with this trace id and tracestate.
func (h *head) AdmitExemplar(id pcommon.TraceID, traceState string) bool {
	return h.keep(id, readTraceState(traceState))
}

// ExemplarDecision reports kept and decided: only spans AdmitExemplar admitted became exemplars.
func (*head) ExemplarDecision(pcommon.TraceID) (keep, decided bool) { return true, true }

// Stats returns the span counts of the probability rule and the malformed tracestates; head mode
// counts no traces and buffers nothing.
func (h *head) Stats() Stats {
	return Stats{
		Kept:                RuleCounts{Probability: Counts{Spans: h.kept.Load()}},
		Dropped:             RuleCounts{Probability: Counts{Spans: h.dropped.Load()}},
		MalformedTraceState: h.malformed.Load(),
	}
}

// Completeness is not known in head mode: spans are decided one by one, never as a trace.
func (h *head) Completeness() (Completeness, bool) { return Completeness{}, false }

// SetObserver is ignored: head mode decides span by span and sees no whole trace.
func (*head) SetObserver(DecisionObserver) bool { return false }
