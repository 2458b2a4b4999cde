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
// # Head mode
//
//	h, err := sampler.NewHead(cfg)
//	kept, dropped := h.Filter(td) // td filtered in place; forward it if kept > 0
//
// Head is stateless and safe for concurrent use. Filter does not allocate unless a kept span arrives
// with a non-empty tracestate that must be rewritten. Head sets no rule attribute (every kept span
// is kept by probability).
//
// # Tail mode
//
//	t, err := sampler.NewTail(cfg, nil)     // nil clock: time.Now
//	out := t.Consume(td)                    // from ConsumeTraces; forward out if out.SpanCount() > 0
//	out = t.Tick(now)                       // from a ticker (e.g. every 100ms); forward likewise
//	out = t.Flush()                         // at shutdown: decide and return everything buffered
//	kept, decided := t.Decision(traceID)    // exemplar filtering
//	stats := t.Stats()                      // counters for component telemetry
//
// Consume takes ownership of td and mutates it: the connector must declare MutatesData, and compute
// what it needs from the spans (RED metrics) before calling Consume. Spans of undecided traces move
// into a buffer; a trace is decided DecisionWait after its first span arrived, or RootSpanGrace after
// its root span (no parent span id) arrived if that is sooner — a short grace rather than deciding at
// once, because the root's batch often arrives before the batches of downstream services. With
// RootSpanGrace 0 the trace is decided inside the Consume that brings the root.
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
// (TestEstimateMatchesHeap): about 300 B for a bare span, 850 B with six attributes.
//
// The last DecisionCacheSize decisions are remembered (about 64 B each): spans arriving after their
// trace was decided follow the decision (kept ones are annotated and returned by Consume at once)
// and are counted as late spans; a late error span cannot revive a dropped trace. After a decision
// leaves the cache, a late span starts a new buffered trace.
//
// Resources and scopes are not copied per trace: one copy per incoming ResourceSpans/ScopeSpans is
// shared by every buffered span that came with it and is reassembled per resource and scope in the
// output (see BenchmarkBuffering for the comparison with one ptrace.Traces per trace).
//
// Tail is safe for concurrent use; one mutex guards it, and no method calls out while holding it.
package sampler
