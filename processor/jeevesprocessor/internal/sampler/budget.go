package sampler

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// This file is the storage budget of tail mode (sampling.budget): a cap on the error and slow
// traces kept per second, a per-key floor, and an adaptive probability for the other traces. It
// runs inside tail.decide, under the tail's lock.
//
// Time. Every rate here is measured in span time: the budget clock is the latest end timestamp of
// the traces decided so far (it never goes back; a trace ending in the past counts in the current
// interval). Decisions therefore depend only on the traffic and the order in which traces are
// decided, never on when the ticker ran, so two collectors fed the same traffic in the same order
// make the same decisions, and a test can replay a minute of traffic in milliseconds. An end
// timestamp more than maxClockSkew ahead of the sampler's clock is not believed (the clock is used
// instead), so one span with a bogus timestamp cannot freeze the budget's intervals.
//
// Adjusted counts. A trace kept with probability p carries th for p, so it stands for 1/p traces.
// Each probability is computed from traces decided before (the previous interval's rate, the
// current interval's count so far, the keys' moving averages), never from the trace itself, so
// the sum of 1/p over the kept traces is an unbiased estimate of the traces seen (a Horvitz–
// Thompson sum with predictable inclusion probabilities). A trace kept whatever its randomness (the
// floor, or an error within the cap) carries th:0 and stands for itself.

// Outcome is the class of a decided trace for the budget: the second half of its key.
type Outcome uint8

const (
	// OutcomeOK is a trace without error that is not slow.
	OutcomeOK Outcome = iota
	// OutcomeError is a trace holding a span with status Error (with keep_errors).
	OutcomeError
	// OutcomeSlow is a trace lasting at least latency_threshold.
	OutcomeSlow
)

// String is the `outcome` attribute of the per-key telemetry.
func (o Outcome) String() string {
	switch o {
	case OutcomeError:
		return "error"
	case OutcomeSlow:
		return "slow"
	default:
		return "ok"
	}
}

// Reason is why the budget kept or dropped a trace (the `reason` of the decisions telemetry).
type Reason uint8

const (
	// ReasonError: an error trace kept by the cap (with th:0 while under the cap, else sampled).
	ReasonError Reason = iota
	// ReasonSlow: a slow trace kept by the cap.
	ReasonSlow
	// ReasonFloor: kept as one of the first floor_per_minute traces of its key in the minute.
	ReasonFloor
	// ReasonSampled: another trace kept by its key's probability.
	ReasonSampled
	// ReasonCapped: an error or slow trace dropped because the cap was reached.
	ReasonCapped
	// ReasonDropped: another trace dropped by its key's probability.
	ReasonDropped
	numReasons
)

// String is the value of the `reason` attribute.
func (r Reason) String() string {
	return [...]string{"error", "slow", "floor", "sampled", "capped", "dropped"}[r]
}

// Reasons lists every Reason, in order.
var Reasons = []Reason{ReasonError, ReasonSlow, ReasonFloor, ReasonSampled, ReasonCapped, ReasonDropped}

// BudgetKey is what the floor and the adaptive probability are kept per: the trace's pipeline (the
// first of budget.key_attributes found on its spans, else "unknown"; "_other" beyond max keys)
// and its outcome.
type BudgetKey struct {
	Pipeline string
	Outcome  Outcome
}

const (
	// OtherPipeline is the pipeline of keys beyond the key bound.
	OtherPipeline = "_other"
	// UnknownPipeline is the pipeline of a trace none of whose spans has a key attribute.
	UnknownPipeline = "unknown"
	budgetInterval  = int64(time.Second)
	floorWindow     = int64(time.Minute)
	// keyIdle is how long a key without traffic is remembered (its gauge series then goes away).
	keyIdle = int64(10 * time.Minute)
	// maxClockSkew is how far ahead of the sampler's clock an end timestamp is believed.
	maxClockSkew = int64(time.Minute)
	// minElapsed is the fraction of an interval after which the current interval's count is
	// extrapolated to a rate; before, a few early traces would give a wild estimate.
	minElapsed = 0.25
	// slowReserve is the share of the cap kept for slow traces when errors alone exceed it.
	slowReserve = 0.1
	// maxStep bounds how much a key's probability changes per interval (×/÷).
	maxStep = 2
	// gridSteps per halving: probabilities are rounded to 2^(-k/gridSteps) so that thresholds
	// take few distinct values (bounded stamps, readable th) while staying within ±2.2%.
	gridSteps = 16
)

// BudgetStats is the budget's part of Stats.
type BudgetStats struct {
	// Decisions counts decided traces by reason.
	Decisions [numReasons]uint64
	// Probabilities is the probability each key's next trace would be decided with, as written
	// into its th (rounded to the grid; 1 for a key whose traces are all kept), at most max keys
	// entries.
	Probabilities map[BudgetKey]float64
}

type keyState struct {
	floorStart int64 // start of the floor window the count is for
	floorKept  int
	// plain (OK) traces: spans seen this interval, their moving average per second, traces per
	// second, and the probability in force.
	spans, spanRate float64
	traces          float64
	traceRate       float64
	p               float64
	measured        bool  // the rates have seen one interval of traffic
	lastSeen        int64 // budget time of the key's last trace
}

type budget struct {
	clock     func() time.Time
	cap       float64 // traces/s, 0: no cap
	floorN    int
	target    float64 // spans/s, 0: fixed probability
	alpha     float64 // per-interval weight of the moving averages
	basic     float64 // configured probability
	precision int
	maxKeys   int

	now, ivStart int64
	seen         [3]float64 // error, slow traces seen this interval (index by Outcome)
	rate         [3]float64 // their rate in the previous interval, per second
	fixedSpans   float64    // spans kept this interval by the cap and the floor
	fixedRate    float64    // moving average of fixedSpans per second
	keys         map[BudgetKey]*keyState
	stamps       map[uint16]stamp // by grid level, at most 56*gridSteps
	stats        BudgetStats
}

func newBudget(cfg Config, clock func() time.Time) *budget {
	b := cfg.Budget
	return &budget{
		clock:  clock,
		cap:    b.MaxKeptTracesPerSecond,
		floorN: b.FloorPerMinute,
		target: b.TargetSpansPerSecond,
		// The moving averages' time constant is a third of the window, so a step in the traffic
		// is 95% absorbed one window later.
		alpha:     min(1, 3*float64(budgetInterval)/float64(b.Window)),
		basic:     cfg.Percentage / 100,
		precision: cfg.Precision,
		maxKeys:   b.MaxKeys,
		keys:      make(map[BudgetKey]*keyState),
		stamps:    make(map[uint16]stamp),
	}
}

// advance moves the budget clock to the trace's end (see the file comment) and closes the
// intervals that ended before it.
func (b *budget) advance(end pcommon.Timestamp) {
	t := int64(end)
	if t == 0 { // spans without timestamps: the collector's clock
		t = b.clock().UnixNano()
	}
	if t > b.now+maxClockSkew {
		if c := b.clock().UnixNano(); t > c+maxClockSkew {
			t = max(c, b.now)
		}
	}
	if t <= b.now {
		return
	}
	b.now = t
	if b.ivStart == 0 {
		b.ivStart = t - t%budgetInterval
		return
	}
	n := (t - b.ivStart) / budgetInterval
	if n == 0 {
		return
	}
	b.rollover(n)
	b.ivStart += n * budgetInterval
}

// rollover closes the current interval and n-1 empty ones after it.
func (b *budget) rollover(n int64) {
	perSec := float64(time.Second) / float64(budgetInterval)
	for c := range b.seen {
		b.rate[c] = b.seen[c] * perSec
		if n > 1 {
			b.rate[c] = 0
		}
		b.seen[c] = 0
	}
	decay := math.Pow(1-b.alpha, float64(n-1))
	b.fixedRate = ((1-b.alpha)*b.fixedRate + b.alpha*b.fixedSpans*perSec) * decay
	b.fixedSpans = 0
	for k, ks := range b.keys {
		if b.now-ks.lastSeen > keyIdle {
			delete(b.keys, k) // its rates have decayed to nothing; the floor starts again if it returns
			continue
		}
		if !ks.measured { // a new key starts from what it just did, not from 0
			ks.spanRate, ks.traceRate, ks.measured = ks.spans*perSec, ks.traces*perSec, ks.traces > 0
		}
		ks.spanRate = ((1-b.alpha)*ks.spanRate + b.alpha*ks.spans*perSec) * decay
		ks.traceRate = ((1-b.alpha)*ks.traceRate + b.alpha*ks.traces*perSec) * decay
		ks.spans, ks.traces = 0, 0
	}
	if b.target > 0 {
		b.adapt()
	}
}

// adapt sets each key's probability so that the plain spans forwarded approach what the target
// leaves after the cap and the floor: the budget is shared equally between the keys that saw
// traffic, a key needing less than its share keeps everything and leaves the rest to the others
// (water filling). Each probability moves at most ×/÷ maxStep per interval, never above 1, and
// never below what keeps floor_per_minute traces of the key per minute.
func (b *budget) adapt() {
	left := max(b.target-b.fixedRate, 0)
	active := make([]*keyState, 0, len(b.keys))
	for k, ks := range b.keys {
		if k.Outcome == OutcomeOK && ks.spanRate > 0 {
			active = append(active, ks)
		}
	}
	// Map order is random; sorted by rate, keys of equal rate get equal goals in any order.
	slices.SortFunc(active, func(a, c *keyState) int { return cmp.Compare(a.spanRate, c.spanRate) })
	for i, ks := range active {
		share := left / float64(len(active)-i)
		goal := 1.0
		if ks.spanRate > share {
			goal = share / ks.spanRate
		}
		left -= goal * ks.spanRate
		p := min(max(goal, ks.p/maxStep), ks.p*maxStep, 1)
		if ks.traceRate > 0 && b.floorN > 0 {
			p = max(p, min(1, float64(b.floorN)/(ks.traceRate*60)))
		}
		ks.p = max(p, sampling.MinSamplingProbability)
	}
}

// key returns the state of k, folding k into the other pipeline at the bound.
func (b *budget) key(k BudgetKey) *keyState {
	if ks, ok := b.keys[k]; ok {
		return ks
	}
	if len(b.keys) >= b.maxKeys {
		k.Pipeline = OtherPipeline
		if ks, ok := b.keys[k]; ok {
			return ks
		}
	}
	ks := &keyState{p: b.basic}
	b.keys[k] = ks
	return ks
}

// levelAlways marks a trace kept by the probability rule at probability 1 under the budget.
const levelAlways = math.MaxUint16

// level returns the grid level of probability p: 0 for 1, k for 2^(-k/gridSteps).
func level(p float64) uint16 {
	if p >= 1 {
		return 0
	}
	return uint16(max(0, math.Round(-math.Log2(max(p, sampling.MinSamplingProbability))*gridSteps)))
}

// stampFor returns the stamp of grid level l (0: th:0).
func (b *budget) stampFor(l uint16) stamp {
	if l == 0 || l == levelAlways {
		return alwaysStamp
	}
	if s, ok := b.stamps[l]; ok {
		return s
	}
	q := max(math.Exp2(-float64(l)/gridSteps), sampling.MinSamplingProbability)
	th, err := sampling.ProbabilityToThresholdWithPrecision(q, b.precision)
	if err != nil { // q is in range by construction
		th = sampling.AlwaysSampleThreshold
	}
	s := newStamp(th)
	b.stamps[l] = s
	return s
}

// capProbability is the probability an error or slow trace is kept with now: the cap shared
// between errors first and slow traces (which keep slowReserve of it when errors exceed it),
// each divided by its estimated rate: the larger of the previous interval's and the current
// one's so far, extrapolated.
func (b *budget) capProbability(o Outcome) float64 {
	if b.cap <= 0 {
		return 1
	}
	elapsed := max(float64(b.now-b.ivStart)/float64(budgetInterval), minElapsed)
	perSec := float64(time.Second) / float64(budgetInterval)
	est := func(c Outcome) float64 { return max(b.rate[c], b.seen[c]/elapsed*perSec) }
	errRate, slowRate := est(OutcomeError), est(OutcomeSlow)
	errShare := min(errRate, b.cap)
	if slowRate > 0 {
		errShare = min(errShare, b.cap-min(slowRate, b.cap*slowReserve))
	}
	if o == OutcomeError {
		if errRate <= errShare {
			return 1
		}
		return errShare / errRate
	}
	slowShare := b.cap - errShare
	if slowRate <= slowShare {
		return 1
	}
	return slowShare / slowRate
}

// decision is what the budget decided for one trace: the rule (RuleNone: drop), and the grid level
// of its probability (0: the rule's own threshold, th:0 or sampling.percentage's).

// decide applies the budget to trace e whose rules gave r (RuleError, RuleLatency, or the
// probability's verdict, which the budget replaces for plain traces when it adapts).
func (b *budget) decide(e *traceEntry, r Rule) cached {
	b.advance(e.end)
	o := OutcomeOK
	switch r {
	case RuleError:
		o = OutcomeError
	case RuleLatency:
		o = OutcomeSlow
	}
	pipeline := e.pipeline
	if pipeline == "" {
		pipeline = UnknownPipeline
	}
	ks := b.key(BudgetKey{Pipeline: pipeline, Outcome: o})
	ks.lastSeen = b.now
	spans := float64(e.spans)
	if o != OutcomeOK {
		b.seen[o]++
	} else {
		ks.spans += spans
		ks.traces++
	}
	if b.floorN > 0 {
		if w := b.now - b.now%floorWindow; w != ks.floorStart {
			ks.floorStart, ks.floorKept = w, 0
		}
		if ks.floorKept < b.floorN {
			ks.floorKept++
			b.fixedSpans += spans
			b.stats.Decisions[ReasonFloor]++
			return cached{rule: RuleFloor}
		}
	}
	rnd := randomness(e.id, e.in)
	if o != OutcomeOK {
		l := level(b.capProbability(o))
		if !effective(b.stampFor(l).threshold, e.in).ShouldSample(rnd) {
			b.stats.Decisions[ReasonCapped]++
			return cached{rule: RuleNone}
		}
		b.fixedSpans += spans
		if o == OutcomeError {
			b.stats.Decisions[ReasonError]++
		} else {
			b.stats.Decisions[ReasonSlow]++
		}
		return cached{rule: r, level: l}
	}
	if b.target <= 0 { // the fixed probability already decided
		if r == RuleNone {
			b.stats.Decisions[ReasonDropped]++
		} else {
			b.stats.Decisions[ReasonSampled]++
		}
		return cached{rule: r}
	}
	l := level(ks.p)
	if !effective(b.stampFor(l).threshold, e.in).ShouldSample(rnd) {
		b.stats.Decisions[ReasonDropped]++
		return cached{rule: RuleNone}
	}
	b.stats.Decisions[ReasonSampled]++
	if l == 0 {
		// kept with probability 1: th:0, not sampling.percentage's threshold
		return cached{rule: RuleProbability, level: levelAlways}
	}
	return cached{rule: RuleProbability, level: l}
}

// snapshot returns the stats with the probability in force per key.
func (b *budget) snapshot() *BudgetStats {
	out := &BudgetStats{Decisions: b.stats.Decisions, Probabilities: make(map[BudgetKey]float64, len(b.keys))}
	for k, ks := range b.keys {
		p := b.basic // sampling.percentage, stamped as configured
		switch {
		case k.Outcome != OutcomeOK:
			p = b.stampFor(level(b.capProbability(k.Outcome))).threshold.Probability()
		case b.target > 0:
			p = b.stampFor(level(ks.p)).threshold.Probability()
		}
		out.Probabilities[k] = p
	}
	return out
}
