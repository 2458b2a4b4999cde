// Package sampler decides which traces the jeeves connector forwards: consistent probability
// sampling per OTEP 235, plus, in tail mode, rules that keep every error trace and every slow trace
// whole. It knows nothing of the collector beyond pdata; the connector owns telemetry, tickers and
// the next consumer.
//
// # Probability (both modes)
//
// Randomness is the low 56 bits of the trace id, or the rv sub-key of an incoming `ot=` tracestate
// entry. The threshold comes from Config.Percentage at Config.Precision hex digits (10% at 4 digits
// is th:e666; see Threshold). A trace is kept when randomness ≥ threshold, so every collector with
// the same config decides the same way, and head and tail mode agree on the traces they keep by
// probability. Kept spans get the threshold in their tracestate's ot entry; other vendors' entries
// and other ot sub-keys (rv) are kept. A span that arrives with a higher th (sampled upstream at a
// lower probability) is decided against that threshold and keeps it: probabilities are never raised.
//
// # Use
//
//	s, err := sampler.New(cfg, nil)         // the mode is a type chosen here; nil clock: time.Now
//	out := s.Consume(td)                    // from ConsumeTraces; forward out if out.SpanCount() > 0
//	out = s.Tick(now)                       // every s.TickInterval() when it is > 0; forward likewise
//	out = s.Flush()                         // at shutdown: decide and return everything buffered
//	ok := s.AdmitExemplar(id, ts)           // when a span is recorded: may it become an exemplar?
//	keep, decided := s.ExemplarDecision(id) // at metrics flush: was its trace forwarded?
//	st := s.Stats()                         // counters and gauges for component telemetry
//
// Consume never modifies td: the collector hands the same batch to the connector's metrics face,
// so the sampling face declares MutatesData false and the fan-out clones nothing for it. What is
// forwarded is a new batch: copies of the kept spans with their new tracestate (and, in tail mode,
// the rule attribute) under copies of their resource and scope. A call that forwards nothing returns
// a shared read-only empty batch and allocates nothing for it. Every method is safe for concurrent
// use.
//
// # Head mode
//
// Head decides each span from its trace id and tracestate as it arrives and buffers nothing: Tick
// and Flush return nothing and TickInterval is 0. Consume allocates only for the spans it keeps
// (their copies, and a rewritten tracestate when they arrived with one). A span is admitted as an
// exemplar exactly when Consume forwards it, so every exemplar it admits is decided. Head sets no
// rule attribute (every kept span is kept by probability). Its Stats count kept and dropped spans
// and malformed tracestates; Stats.PerTrace is false.
//
// # Tail mode
//
// Tail copies the spans of undecided traces into a buffer; a trace is decided DecisionWait after its
// first span arrived, or RootSpanGrace after its root span (no parent span id) arrived if that is
// sooner — a short grace rather than deciding at once, because the root's batch often arrives before
// the batches of downstream services. With RootSpanGrace 0 the trace is decided inside the Consume
// that brings the root. Tick runs every quarter of DecisionWait, at most every 200ms. Every span is
// admitted as an exemplar; at metrics flush ExemplarDecision tells whether its trace was kept, or
// that it is still undecided.
//
// Rules, in order: a span with status Error → keep (RuleError, th:0) when KeepErrors; duration from
// the earliest start to the latest end ≥ LatencyThreshold → keep (RuleLatency, th:0); else the
// probability (RuleProbability with the configured threshold, or drop). Every kept span carries
// RuleAttribute (jeeves.sampling.rule) and a threshold in its tracestate; a span that arrived with a
// higher th keeps it. Rules see only the spans buffered at the decision.
//
// Bounds: at MaxTraces, or when the estimated bytes of the buffer (EstimateSpanBytes per span, plus
// per trace and per shared resource/scope) would exceed MaxBytes, traces are decided early with the
// same rules (an error already seen still keeps its trace): first those whose root span has arrived,
// in root arrival order (most likely complete), then the oldest; they are counted in
// Stats.ForcedMaxTraces / ForcedMaxBytes. Their kept spans are returned by that Consume. The estimate
// tracks the measured heap within 11% for bare spans, spans with attributes and spans with events
// (TestEstimateMatchesHeap): about 300 B for a bare span, 800 B with six attributes.
//
// The last DecisionCacheSize decisions are remembered (about 64 B each): spans arriving after their
// trace was decided follow the decision (copies of kept ones are annotated and returned by Consume
// at once) and are counted as late spans; a late error span cannot revive a dropped trace. After a
// decision leaves the cache, a late span starts a new buffered trace.
//
// Resources and scopes are not copied per trace: one copy per incoming ResourceSpans/ScopeSpans is
// shared by every buffered span that came with it and is reassembled per resource and scope in the
// output (see BenchmarkBuffering for the comparison with one ptrace.Traces per trace).
//
// # Storage budget (tail, Config.Budget, opt-in)
//
// With a budget the decision of tail.rule passes through budget.decide (budget.go): the first
// FloorPerMinute traces of each key (pipeline × outcome ok/error/slow) per minute are kept with th:0
// (RuleFloor); error and slow traces above MaxKeptTracesPerSecond are sampled with the probability
// cap/rate, errors first, their threshold written into tracestate like the probability rule's; with
// TargetSpansPerSecond the other traces' probability adapts per key (moving averages, bounded steps).
// Probabilities are rounded to 2^(-k/16), so thresholds take few values. Rates are in span time
// (trace end timestamps), so the decisions depend only on the traffic and its order; every
// probability is computed before the trace it applies to, so adjusted counts stay unbiased.
// Stats.Budget reports decisions by reason and the probability per key.
//
// One mutex guards the tail sampler, and no method calls out while holding it.
package sampler
