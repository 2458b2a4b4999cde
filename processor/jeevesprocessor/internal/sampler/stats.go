package sampler

// Rule is why a trace was kept.
type Rule uint8

const (
	// RuleNone means not kept: the trace was dropped by the probability rule.
	RuleNone Rule = iota
	// RuleProbability keeps a trace whose randomness reaches the threshold.
	RuleProbability
	// RuleError keeps a trace that holds a span with status Error (threshold th:0).
	RuleError
	// RuleLatency keeps a trace whose duration reaches the latency threshold (threshold th:0).
	RuleLatency
	// RuleFloor keeps one of the first sampling.budget.floor_per_minute traces of its key in a
	// minute (threshold th:0). Only with a budget.
	RuleFloor
)

// RuleAttribute is the span attribute tail mode sets on every kept span to the rule that kept its trace.
const RuleAttribute = "jeeves.sampling.rule"

// String is the value of RuleAttribute and of a telemetry `rule` attribute.
func (r Rule) String() string {
	switch r {
	case RuleProbability:
		return "probability"
	case RuleError:
		return "error"
	case RuleLatency:
		return "latency"
	case RuleFloor:
		return "floor"
	default:
		return "none"
	}
}

// Counts is a number of traces and of their spans.
type Counts struct {
	Traces uint64
	Spans  uint64
}

// RuleCounts holds one Counts per rule.
type RuleCounts struct {
	Probability Counts
	Error       Counts
	Latency     Counts
	Floor       Counts
}

func (rc *RuleCounts) add(r Rule, spans int) {
	var c *Counts
	switch r {
	case RuleError:
		c = &rc.Error
	case RuleLatency:
		c = &rc.Latency
	case RuleFloor:
		c = &rc.Floor
	default:
		c = &rc.Probability
	}
	c.Traces++
	c.Spans += uint64(spans)
}

// Stats is a snapshot of a sampler's counters, one type for both modes. Counters only grow; the
// InMemory fields and CachedDecisions are current values (gauges).
//
// Head mode decides spans, not traces: it fills Kept.Probability.Spans, Dropped.Probability.Spans
// and MalformedTraceState, and PerTrace is false. Tail mode fills every field and sets PerTrace.
type Stats struct {
	// PerTrace is set when the sampler decides whole traces (tail mode): only then do the trace
	// counts, the forced, early and late counters, the buffer gauges and CachedDecisions describe
	// anything; otherwise they are zero.
	PerTrace bool
	// Kept counts decided traces by the rule that kept them, and their spans (in tail mode those
	// buffered at the decision; late spans are counted apart).
	Kept RuleCounts
	// Dropped counts traces dropped at decision, and their spans; only the probability rule drops.
	Dropped RuleCounts
	// ForcedMaxTraces and ForcedMaxBytes count traces decided before their time because a bound was
	// reached; they are also counted in Kept or Dropped.
	ForcedMaxTraces uint64
	ForcedMaxBytes  uint64
	// EarlyRoot counts traces decided before decision_wait because their root span arrived (after
	// root_span_grace).
	EarlyRoot uint64
	// LateSpansKept and LateSpansDropped count spans that arrived after their trace was decided and
	// followed the cached decision.
	LateSpansKept    uint64
	LateSpansDropped uint64
	// MalformedTraceState counts spans whose ot tracestate entry had an rv or th that did not parse;
	// such a sub-key is ignored (the trace id is the randomness, our threshold applies).
	MalformedTraceState uint64
	// TracesInMemory, SpansInMemory and BytesInMemory describe the buffer now; BytesInMemory is the
	// estimate bounded by max_bytes.
	TracesInMemory int
	SpansInMemory  int
	BytesInMemory  int64
	// CachedDecisions is the number of decisions remembered for late spans, bounded by
	// decision_cache_size.
	CachedDecisions int
	// Budget is set when sampling.budget is on (tail mode): decisions by reason and the
	// probability per key.
	Budget *BudgetStats
}
