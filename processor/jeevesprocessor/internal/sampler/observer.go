package sampler

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// DecisionObserver is told, in tail mode, of every trace when it is decided (by its timers, a
// memory bound, or Flush; kept or dropped alike) while its spans are still buffered, and of every
// span that arrives after its trace was decided. It is called under the sampler's lock: it must be
// quick and must not call the sampler.
type DecisionObserver interface {
	ObserveTrace(t Trace)
	ObserveLateSpan(span ptrace.Span, res pcommon.Resource)
}

// Trace is a decided trace as a DecisionObserver sees it, valid only during the call.
type Trace struct{ e *traceEntry }

// ID is the trace id.
func (t Trace) ID() pcommon.TraceID { return t.e.id }

// Spans is the number of spans buffered for the trace.
func (t Trace) Spans() int { return int(t.e.spans) }

// Range calls f with every buffered span of the trace and its resource, in arrival order.
func (t Trace) Range(f func(span ptrace.Span, res pcommon.Resource)) {
	for _, g := range t.e.groups {
		res := g.scope.res.rs.Resource()
		for i := range g.spans.Len() {
			f(g.spans.At(i), res)
		}
	}
}
