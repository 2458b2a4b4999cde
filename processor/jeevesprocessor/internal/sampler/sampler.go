package sampler

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Sampler decides which spans the sampling face forwards. New picks the mode.
//
// No method modifies the batch it is given: the collector hands the same batch to the metrics face
// (and marks it read-only when it does), so the sampling face can declare MutatesData false and
// nothing is cloned for it. Whatever is forwarded is a new batch holding copies of the kept spans.
// A result without spans may be a shared read-only empty batch: check SpanCount before forwarding.
// Every method is safe for concurrent use.
type Sampler interface {
	// Consume reads td (never modifies it: the collector hands the same batch to the metrics face)
	// and returns what to forward now (may hold no spans). Spans with an all-zero trace id or
	// span id are skipped and not counted.
	Consume(td ptrace.Traces) ptrace.Traces
	// Tick decides what is due at now and returns it to forward (head: always empty).
	Tick(now time.Time) ptrace.Traces
	// Flush decides everything still buffered (at shutdown) and returns it (head: empty).
	Flush() ptrace.Traces
	// TickInterval is how often Tick should run; 0 means never (head).
	TickInterval() time.Duration
	// AdmitExemplar reports, when a span is recorded, whether it may become an exemplar (head: is it
	// forwarded; tail: true, decided later).
	AdmitExemplar(id pcommon.TraceID, traceState string) bool
	// ExemplarDecision reports, at metrics flush time, whether an exemplar's trace was forwarded, or
	// that it is not decided yet (head: always kept, decided).
	ExemplarDecision(id pcommon.TraceID) (keep, decided bool)
	// Stats returns the sampler's counters and gauges.
	Stats() Stats
	// Completeness returns the counts of complete and broken decided traces, and false when the
	// mode does not see whole traces (head).
	Completeness() (Completeness, bool)
	// SetObserver installs the observer of decided traces before the first Consume and reports
	// whether the mode will call it (head: no whole traces, ignored, false). nil removes it.
	SetObserver(o DecisionObserver) bool
}

// New returns the sampler for cfg.Mode; cfg must pass Check. clock gives the arrival time of spans
// in tail mode (time.Now when nil); Tick is given the time explicitly. It is the only place the
// mode is switched on.
func New(cfg Config, clock func() time.Time) (Sampler, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Mode == ModeHead {
		h, err := newHead(cfg)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
	t, err := newTail(cfg, clock)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// nothing is the result when there is nothing to forward: one empty batch shared by every sampler,
// so that forwarding nothing allocates nothing, and read-only, so that no caller can fill it.
var nothing = func() ptrace.Traces {
	td := ptrace.NewTraces()
	td.MarkReadOnly()
	return td
}()

// validIDs reports whether neither the span's trace id nor its span id is all zero. Both samplers
// skip a span without them, uncounted: such a span cannot be joined to a trace, and the caller
// counts it once (the connector's metrics face sees the same batch).
func validIDs(span ptrace.Span) bool {
	return !span.TraceID().IsEmpty() && !span.SpanID().IsEmpty()
}
