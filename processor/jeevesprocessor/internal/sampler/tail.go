package sampler

import (
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// tail buffers spans per trace and decides once per trace, so a trace is kept or dropped whole:
// error → keep (RuleError), duration ≥ latency threshold → keep (RuleLatency), else the consistent
// probability (RuleProbability, or drop). It is safe for concurrent use: Consume may be called from
// many goroutines, Tick from one ticker.
type tail struct {
	mu      sync.Mutex
	clock   func() time.Time
	wait    int64 // decision_wait, ns
	grace   int64 // root_span_grace, ns
	latency uint64
	keepErr bool
	maxTr   int
	maxB    int64
	prob    stamp
	tick    time.Duration
	// budget is nil unless sampling.budget is on; keyAttrs name the pipeline of its keys.
	budget   *budget
	keyAttrs []string

	traces             map[pcommon.TraceID]*traceEntry
	oldest, newest     *traceEntry // by first arrival
	rootFirst, rootEnd *traceEntry // by root-span arrival, traces waiting for root_span_grace
	rootsNow           []*traceEntry
	cache              decisionCache
	bytes              int64
	spans              int
	stats              Stats
	complete           completeness
	observer           DecisionObserver // nil: none
}

// holder is a shared copy of an incoming resource (or scope): every buffered span that came in
// under it points at it, so a batch of many traces from one resource stores the resource once.
// Its bytes count towards max_bytes while at least one buffered span refers to it.
type holder struct {
	refs  int
	bytes int64
}

type resHolder struct {
	holder
	rs ptrace.ResourceSpans // resource and schema URL only; no scopes
}

type scopeHolder struct {
	holder
	res *resHolder
	ss  ptrace.ScopeSpans // scope and schema URL only; no spans
}

// groupInitialCap is the span capacity a new group starts with: most traces have a few spans per
// service, and growing 1→2→4→8 would cost three more allocations.
const groupInitialCap = 8

type group struct {
	scope *scopeHolder
	spans ptrace.SpanSlice
}

type traceEntry struct {
	id                  pcommon.TraceID
	older, newer        *traceEntry
	rootPrev, rootNext  *traceEntry
	inRootList, decided bool
	hasError            bool  // with the other flags and spans, so the entry stays in the
	spans               int32 // 192-byte size class (176 before the budget's pipeline)
	firstSeen, rootSeen int64
	groups              []group
	firstGroup          [1]group // backs groups while the trace came under one scope, saving an allocation
	bytes               int64    // spans, groups and entry; holders are counted on their own
	start, end          pcommon.Timestamp
	// in gathers what the trace's spans said in their tracestate: the first
	// rv, and the highest th.
	in incoming
	// thresholds lists the buffered spans that arrived with a valid th, which the stamp at
	// decision must compare with; nil for most traces.
	thresholds *[]spanThreshold
	// pipeline is the first budget key attribute found on the trace's spans (budget only).
	pipeline string
}

// spanThreshold is the th a buffered span arrived with, read once on arrival: at decision, a span
// without one gets the stamp, and one with it keeps it unless it is lower than the stamp.
type spanThreshold struct {
	group, index int32
	threshold    sampling.Threshold
}

// spanThresholdBytes is what one spanThreshold adds to the estimate bounded by max_bytes.
const spanThresholdBytes = 16

// newTail returns a tail sampler for cfg, which must be valid. clock gives the arrival time of
// spans (time.Now when nil); Tick is given the time explicitly.
func newTail(cfg Config, clock func() time.Time) (*tail, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	th, err := threshold(cfg.Percentage, cfg.Precision)
	if err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	var b *budget
	if cfg.Budget.Enabled() {
		b = newBudget(cfg, clock)
	}
	return &tail{
		budget:   b,
		keyAttrs: cfg.Budget.KeyAttributes,
		clock:    clock,
		wait:     int64(cfg.DecisionWait),
		grace:    int64(cfg.RootSpanGrace),
		latency:  uint64(cfg.LatencyThreshold),
		keepErr:  cfg.KeepErrors,
		maxTr:    cfg.MaxTraces,
		maxB:     cfg.MaxBytes,
		prob:     newStamp(th),
		tick:     max(min(maxTickInterval, cfg.DecisionWait/4), time.Millisecond),
		traces:   make(map[pcommon.TraceID]*traceEntry),
		cache:    newDecisionCache(cfg.DecisionCacheSize),
	}, nil
}

// Consume reads td without modifying it. Spans of undecided traces are copied into the buffer;
// spans of traces already decided follow the decision: dropped ones are counted, kept ones are
// copied into the result and annotated there. It returns what to forward at once: those late kept
// spans plus any traces decided during the call (a bound was hit, or a root span arrived with
// root_span_grace 0). The result may hold no spans.
func (t *tail) Consume(td ptrace.Traces) ptrace.Traces {
	now := t.clock().UnixNano()
	var out output
	t.mu.Lock()
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		out.enterResource(rs)
		var rh *resHolder
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			out.enterScope(ss)
			var sh *scopeHolder
			spans := ss.Spans()
			for k := range spans.Len() {
				if span := spans.At(k); validIDs(span) {
					t.consumeSpan(span, rs, ss, &rh, &sh, now, &out)
				}
			}
		}
	}
	for i, e := range t.rootsNow {
		if !e.decided {
			t.stats.EarlyRoot++
			t.decide(e, &out)
		}
		t.rootsNow[i] = nil
	}
	t.rootsNow = t.rootsNow[:0]
	t.mu.Unlock()
	return out.traces()
}

// consumeSpan buffers one incoming span, or applies its trace's cached decision to it.
func (t *tail) consumeSpan(span ptrace.Span, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, rh **resHolder, sh **scopeHolder, now int64, out *output) {
	id := span.TraceID()
	raw := span.TraceState().AsRaw()
	var in incoming
	if raw != "" { // most spans carry none; skip the call
		in = readTraceState(raw)
		if in.malformed {
			t.stats.MalformedTraceState++
		}
	}
	if d, ok := t.cache.get(id); ok {
		t.late(span, rs.Resource(), raw, in, d, out)
		return
	}
	est := EstimateSpanBytes(span)
	if in.hasTH {
		est += spanThresholdBytes
	}
	e, ok := t.makeRoom(id, est, rs, ss, *rh, *sh, out)
	if !ok {
		d, _ := t.cache.get(id)
		t.late(span, rs.Resource(), raw, in, d, out)
		return
	}
	t.ensureHolders(rs, ss, rh, sh)
	if e == nil {
		e = &traceEntry{id: id, firstSeen: now, bytes: traceFixedBytes}
		t.traces[id] = e
		t.pushAge(e)
		t.bytes += traceFixedBytes
	}
	t.add(e, span, in, *sh, est, now)
	// makeRoom reserved what add charged, so only a span larger than max_bytes on its own gets
	// here over the bound: decide it now.
	for t.bytes > t.maxB && t.oldest != nil {
		t.stats.ForcedMaxBytes++
		t.decide(t.oldest, out)
	}
}

// makeRoom decides traces early (forcedVictim first) until a span of est
// bytes of trace id fits under max_bytes and max_traces, and returns the
// trace's entry (nil for a new trace). It reports false when one of those
// decisions was of the span's own trace, which the span must then follow as
// a late span.
func (t *tail) makeRoom(id pcommon.TraceID, est int64, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, rh *resHolder, sh *scopeHolder, out *output) (*traceEntry, bool) {
	for {
		e := t.traces[id]
		need := est + t.entryBytesNeeded(e, sh) + holderBytesNeeded(rs, ss, rh, sh)
		switch {
		case t.oldest != nil && t.bytes+need > t.maxB:
			t.stats.ForcedMaxBytes++
		case e == nil && len(t.traces) >= t.maxTr:
			t.stats.ForcedMaxTraces++
		default:
			return e, true
		}
		t.decide(t.forcedVictim(), out)
		if _, ok := t.cache.get(id); ok {
			return nil, false
		}
	}
}

// entryBytesNeeded is what buffering one more span adds for its trace entry
// (e nil: a new trace) and its group (a scope the trace has no spans of yet).
func (t *tail) entryBytesNeeded(e *traceEntry, sh *scopeHolder) int64 {
	if e == nil {
		return traceFixedBytes + groupFixedBytes // add charges the new trace's first group too
	}
	if e.findGroup(sh) < 0 {
		return groupFixedBytes
	}
	return 0
}

// holderBytesNeeded is what the span's resource and scope holders add to the
// buffer when no buffered span refers to them yet.
func holderBytesNeeded(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, rh *resHolder, sh *scopeHolder) int64 {
	if sh != nil && sh.refs > 0 {
		return 0
	}
	var need int64
	if sh == nil {
		need += estimateScope(ss.Scope())
	} else {
		need += sh.bytes
	}
	if rh == nil {
		need += estimateResource(rs.Resource())
	} else if rh.refs == 0 {
		need += rh.bytes
	}
	return need
}

// ensureHolders creates the shared copies of the span's resource and scope
// the first time a span under them is buffered in this call.
func (t *tail) ensureHolders(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, rh **resHolder, sh **scopeHolder) {
	if *rh == nil {
		h := &resHolder{rs: ptrace.NewResourceSpans()}
		rs.Resource().CopyTo(h.rs.Resource())
		h.rs.SetSchemaUrl(rs.SchemaUrl())
		h.bytes = estimateResource(rs.Resource())
		*rh = h
	}
	if *sh == nil {
		h := &scopeHolder{res: *rh, ss: ptrace.NewScopeSpans()}
		ss.Scope().CopyTo(h.ss.Scope())
		h.ss.SetSchemaUrl(ss.SchemaUrl())
		h.bytes = estimateScope(ss.Scope())
		*sh = h
	}
}

// forcedVictim is the trace a bound decides early: the one whose root span arrived first, since a
// root usually ends (and arrives) last and its trace is then most likely complete; else the oldest.
// Deciding a trace that still waits for its root could miss an error or the latency the root
// carries (a slow trace's children arrive seconds before its root) and drop a trace the rules keep.
func (t *tail) forcedVictim() *traceEntry {
	if t.rootFirst != nil {
		return t.rootFirst
	}
	return t.oldest
}

// late applies a cached decision to a span of an already decided trace: a kept one is copied into
// out and annotated there.
func (t *tail) late(span ptrace.Span, res pcommon.Resource, raw string, in incoming, d cached, out *output) {
	if t.observer != nil {
		t.observer.ObserveLateSpan(span, res)
	}
	if d.rule == RuleNone {
		t.stats.LateSpansDropped++
		return
	}
	t.stats.LateSpansKept++
	t.annotate(out.appendCopy(span), raw, in, d)
}

func (e *traceEntry) findGroup(sh *scopeHolder) int {
	if sh == nil {
		return -1
	}
	for i := len(e.groups) - 1; i >= 0; i-- {
		if e.groups[i].scope == sh {
			return i
		}
	}
	return -1
}

func (t *tail) acquire(h *holder, n int) {
	if h.refs == 0 {
		t.bytes += h.bytes
	}
	h.refs += n
}

func (t *tail) release(h *holder, n int) {
	h.refs -= n
	if h.refs == 0 {
		t.bytes -= h.bytes
	}
}

// add copies span into e's buffer.
func (t *tail) add(e *traceEntry, span ptrace.Span, in incoming, sh *scopeHolder, est int64, now int64) {
	gi := e.findGroup(sh)
	if gi < 0 {
		if e.groups == nil {
			e.groups = e.firstGroup[:0:1]
		}
		spans := ptrace.NewSpanSlice()
		spans.EnsureCapacity(groupInitialCap)
		e.groups = append(e.groups, group{scope: sh, spans: spans})
		gi = len(e.groups) - 1
		e.bytes += groupFixedBytes
		t.bytes += groupFixedBytes
	}
	t.acquire(&sh.holder, 1)
	t.acquire(&sh.res.holder, 1)
	e.bytes += est
	t.bytes += est
	e.spans++
	t.spans++

	if span.Status().Code() == ptrace.StatusCodeError {
		e.hasError = true
	}
	if s := span.StartTimestamp(); s != 0 && (e.start == 0 || s < e.start) {
		e.start = s
	}
	if end := span.EndTimestamp(); end > e.end {
		e.end = end
	}
	if in.hasRV && !e.in.hasRV {
		e.in.rnd, e.in.hasRV = in.rnd, true
	}
	if in.hasTH {
		if !e.in.hasTH || sampling.ThresholdGreater(in.threshold, e.in.threshold) {
			e.in.threshold, e.in.hasTH = in.threshold, true
		}
		if e.thresholds == nil {
			e.thresholds = new([]spanThreshold)
		}
		*e.thresholds = append(*e.thresholds, spanThreshold{
			group: int32(gi), index: int32(e.groups[gi].spans.Len()), threshold: in.threshold,
		})
	}
	if t.budget != nil && e.pipeline == "" {
		e.pipeline = pipelineOf(span, t.keyAttrs)
	}
	if span.ParentSpanID().IsEmpty() && e.rootSeen == 0 {
		e.rootSeen = now
		if t.grace == 0 {
			t.rootsNow = append(t.rootsNow, e)
		} else {
			t.pushRoot(e)
		}
	}
	span.CopyTo(e.groups[gi].spans.AppendEmpty())
}

// rule applies the keep rules to a trace; RuleNone means drop.
func (t *tail) rule(e *traceEntry) Rule {
	if t.keepErr && e.hasError {
		return RuleError
	}
	if t.slow(e) {
		return RuleLatency
	}
	// The same decision as Head's, on what the whole trace said.
	if effective(t.prob.threshold, e.in).ShouldSample(randomness(e.id, e.in)) {
		return RuleProbability
	}
	return RuleNone
}

// slow reports whether the trace's duration reaches latency_threshold.
func (t *tail) slow(e *traceEntry) bool {
	return t.latency > 0 && e.start != 0 && e.end > e.start && uint64(e.end-e.start) >= t.latency
}

// pipelineOf returns the first of attrs set (non-empty) on span, else "".
func pipelineOf(span ptrace.Span, attrs []string) string {
	m := span.Attributes()
	for _, a := range attrs {
		if v, ok := m.Get(a); ok {
			if s := v.AsString(); s != "" {
				return s
			}
		}
	}
	return ""
}

// decide removes e from the buffer, remembers the decision and, when kept, moves its spans to out,
// annotated.
func (t *tail) decide(e *traceEntry, out *output) {
	orig := t.rule(e)
	d := cached{rule: orig}
	if t.budget != nil {
		d = t.budget.decide(e, orig)
	}
	r := d.rule
	t.complete.record(e)
	if t.observer != nil {
		t.observer.ObserveTrace(Trace{e})
	}
	e.decided = true
	t.unlinkAge(e)
	t.unlinkRoot(e)
	delete(t.traces, e.id)
	t.bytes -= e.bytes
	t.spans -= int(e.spans)
	for _, g := range e.groups {
		n := g.spans.Len()
		t.release(&g.scope.holder, n)
		t.release(&g.scope.res.holder, n)
	}
	t.cache.put(e.id, d)
	if r == RuleNone {
		if orig == RuleNone {
			orig = RuleProbability
		}
		t.stats.Dropped.add(orig, int(e.spans)) // error or latency: dropped by the budget's cap
		return
	}
	t.stats.Kept.add(r, int(e.spans))
	// Listed in arrival order, which is also group by group: a group belongs to one incoming scope
	// of one Consume, so it is filled in one run, and groups are created in arrival order.
	var thresholds []spanThreshold
	if e.thresholds != nil {
		thresholds = *e.thresholds
	}
	for gi, g := range e.groups {
		spans := g.spans
		for i := range spans.Len() {
			// The tracestate was read on arrival; only its th matters now.
			var in incoming
			if len(thresholds) > 0 && thresholds[0].group == int32(gi) && thresholds[0].index == int32(i) {
				in.threshold, in.hasTH = thresholds[0].threshold, true
				thresholds = thresholds[1:]
			}
			span := spans.At(i)
			t.annotate(span, span.TraceState().AsRaw(), in, d)
		}
		spans.MoveAndAppendTo(out.scope(g.scope).Spans())
	}
	e.groups = nil
	e.thresholds = nil
}

// annotate marks a kept span (a copy that is ours) with the rule and the threshold that kept it. raw
// is its tracestate and in what that says; only its th is used.
func (t *tail) annotate(span ptrace.Span, raw string, in incoming, d cached) {
	span.Attributes().PutStr(RuleAttribute, d.rule.String())
	s := alwaysStamp
	switch {
	case d.level != 0:
		s = t.budget.stampFor(d.level)
	case d.rule == RuleProbability:
		s = t.prob
	}
	applyStamp(span.TraceState(), raw, in, s)
}

// Tick decides the traces whose decision_wait, or root_span_grace after their root span, has passed
// at now, and returns the kept ones to forward (possibly no spans), grouped by resource and scope.
func (t *tail) Tick(now time.Time) ptrace.Traces {
	n := now.UnixNano()
	var out output
	t.mu.Lock()
	for t.oldest != nil && t.oldest.firstSeen+t.wait <= n {
		t.decide(t.oldest, &out)
	}
	for t.rootFirst != nil && t.rootFirst.rootSeen+t.grace <= n {
		t.stats.EarlyRoot++
		t.decide(t.rootFirst, &out)
	}
	t.mu.Unlock()
	return out.traces()
}

// Flush decides every buffered trace now (at shutdown) and returns the kept ones.
func (t *tail) Flush() ptrace.Traces {
	var out output
	t.mu.Lock()
	for t.oldest != nil {
		t.decide(t.oldest, &out)
	}
	t.mu.Unlock()
	return out.traces()
}

// maxTickInterval bounds how late after its time a trace is decided.
const maxTickInterval = 200 * time.Millisecond

// TickInterval is a quarter of decision_wait, at most 200ms (and at least 1ms): a trace is decided
// at most that late.
func (t *tail) TickInterval() time.Duration { return t.tick }

// AdmitExemplar admits every span: its trace is decided later, and ExemplarDecision filters then.
func (*tail) AdmitExemplar(pcommon.TraceID, string) bool { return true }

// ExemplarDecision reports whether the trace was decided and, if so, kept. A trace still buffered,
// or whose decision has left the cache, reports decided false.
func (t *tail) ExemplarDecision(id pcommon.TraceID) (keep, decided bool) {
	t.mu.Lock()
	d, ok := t.cache.get(id)
	t.mu.Unlock()
	return ok && d.rule != RuleNone, ok
}

// Stats returns a snapshot of the counters and of the buffer's size.
func (t *tail) Stats() Stats {
	t.mu.Lock()
	s := t.stats
	s.PerTrace = true
	s.TracesInMemory = len(t.traces)
	s.SpansInMemory = t.spans
	s.BytesInMemory = t.bytes
	s.CachedDecisions = t.cache.len()
	if t.budget != nil {
		s.Budget = t.budget.snapshot()
	}
	t.mu.Unlock()
	return s
}

func (t *tail) pushAge(e *traceEntry) {
	e.older = t.newest
	if t.newest != nil {
		t.newest.newer = e
	} else {
		t.oldest = e
	}
	t.newest = e
}

func (t *tail) unlinkAge(e *traceEntry) {
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		t.oldest = e.newer
	}
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		t.newest = e.older
	}
	e.older, e.newer = nil, nil
}

func (t *tail) pushRoot(e *traceEntry) {
	e.inRootList = true
	e.rootPrev = t.rootEnd
	if t.rootEnd != nil {
		t.rootEnd.rootNext = e
	} else {
		t.rootFirst = e
	}
	t.rootEnd = e
}

func (t *tail) unlinkRoot(e *traceEntry) {
	if !e.inRootList {
		return
	}
	e.inRootList = false
	if e.rootPrev != nil {
		e.rootPrev.rootNext = e.rootNext
	} else {
		t.rootFirst = e.rootNext
	}
	if e.rootNext != nil {
		e.rootNext.rootPrev = e.rootPrev
	} else {
		t.rootEnd = e.rootPrev
	}
	e.rootPrev, e.rootNext = nil, nil
}

// Completeness returns the counts of complete and broken decided traces.
func (t *tail) Completeness() (Completeness, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.complete.snapshot(), true
}

// SetObserver installs the observer of decided traces and late spans.
func (t *tail) SetObserver(o DecisionObserver) bool {
	t.mu.Lock()
	t.observer = o
	t.mu.Unlock()
	return true
}
