package sampler

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Head decides per span from the span alone: its trace id (or tracestate rv) against the threshold.
// All spans of a trace get the same decision on every collector with the same percentage and
// precision, so no buffering and no trace-id affinity are needed. It holds no mutable state and is
// safe for concurrent use.
type Head struct {
	stamp stamp
}

// NewHead returns a head sampler for cfg.Percentage at cfg.Precision; other fields are ignored.
func NewHead(cfg Config) (*Head, error) {
	th, err := threshold(cfg.Percentage, cfg.Precision)
	if err != nil {
		return nil, err
	}
	return &Head{stamp: newStamp(th)}, nil
}

// Keep reports whether a span with this trace id and tracestate is kept.
func (h *Head) Keep(id pcommon.TraceID, traceState string) bool {
	return h.keep(id, readTraceState(traceState))
}

// keep is the one decision Keep and Filter make: the effective threshold against the span's
// randomness, so an exemplar admitted by Keep is always of a span Filter forwards.
func (h *Head) keep(id pcommon.TraceID, in incoming) bool {
	return effective(h.stamp.threshold, in).ShouldSample(randomness(id, in))
}

// Filter removes the dropped spans from td in place, writes the threshold into the tracestate of
// kept spans (unless they carry a higher one), and removes scopes and resources left empty. It
// returns the span counts kept and dropped. It does not allocate unless a kept span arrives with a
// non-empty tracestate that needs rewriting.
func (h *Head) Filter(td ptrace.Traces) (kept, dropped int) {
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(span ptrace.Span) bool {
				ts := span.TraceState()
				raw := ts.AsRaw()
				var in incoming
				if raw != "" { // most spans carry none; skip the call
					in = readTraceState(raw)
				}
				if !h.keep(span.TraceID(), in) {
					dropped++
					return true
				}
				applyStamp(ts, raw, in, h.stamp)
				kept++
				return false
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return kept, dropped
}
