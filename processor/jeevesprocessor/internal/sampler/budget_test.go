package sampler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// budgetTrace is one generated trace of a traffic schedule: spans children under one root, all
// ending at end (span time); the root is last, so with root_span_grace 0 the trace is decided in
// the Consume that brings it.
type budgetTrace struct {
	n        uint64
	pipeline string
	end      time.Duration // from t0
	spans    int
	err      bool
	slow     bool
	ts       string
}

func (bt budgetTrace) traces() ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	dur := 100 * time.Millisecond
	if bt.slow {
		dur = 6 * time.Second
	}
	for j := bt.spans - 1; j >= 0; j-- {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(testTraceID(bt.n))
		sp.SetSpanID(testSpanID(bt.n<<16 | uint64(j)))
		if j > 0 {
			sp.SetParentSpanID(testSpanID(bt.n << 16))
		} else {
			sp.Attributes().PutStr("jeeves.pipeline.name", bt.pipeline)
		}
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(bt.end - dur)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(bt.end)))
		if bt.err && j == 0 {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		sp.TraceState().FromRaw(bt.ts)
	}
	return td
}

// phase is a stretch of traffic: rate traces per second for dur, a share of them errors.
type phase struct {
	rate     float64
	dur      time.Duration
	errRatio float64
}

// schedule generates the traces of phases in order, deterministically: every pipeline in
// pipelines by weight (a rare one gets the rest of the traffic at 1 in rareEvery).
func schedule(phases []phase, rareEvery uint64) []budgetTrace {
	var out []budgetTrace
	var at time.Duration
	var n uint64
	for _, ph := range phases {
		count := int(ph.rate * ph.dur.Seconds())
		step := time.Duration(float64(time.Second) / ph.rate)
		for range count {
			at += step
			r := float64(splitmix64(n^0xabc)>>11) / (1 << 53)
			p := []string{"chat", "search", "ingest"}[splitmix64(n^0x55)%3]
			if rareEvery > 0 && n%rareEvery == 0 {
				p = "rare"
			}
			out = append(out, budgetTrace{n: n, pipeline: p, end: at, spans: 1 + int(n%5), err: r < ph.errRatio})
			n++
		}
	}
	return out
}

// keptTrace is what the test reads back from a forwarded trace.
type keptTrace struct {
	rule     string
	th       sampling.Threshold
	spans    int
	pipeline string
}

func readKept(td ptrace.Traces, into map[pcommon.TraceID]*keptTrace, t *testing.T) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				k := into[sp.TraceID()]
				if k == nil {
					k = &keptTrace{}
					into[sp.TraceID()] = k
				}
				rule, _ := sp.Attributes().Get(RuleAttribute)
				in := readTraceState(sp.TraceState().AsRaw())
				require.True(t, in.hasTH, "every stored span carries th: %q", sp.TraceState().AsRaw())
				if k.spans > 0 {
					require.Equal(t, k.th, in.threshold, "one th per trace")
				}
				k.rule, k.th = rule.Str(), in.threshold
				k.spans++
				if v, ok := sp.Attributes().Get("jeeves.pipeline.name"); ok {
					k.pipeline = v.Str()
				}
			}
		}
	}
}

func budgetConfig(b BudgetConfig) Config {
	cfg := DefaultConfig()
	cfg.RootSpanGrace = 0
	def := cfg.Budget
	if b.KeyAttributes == nil {
		b.KeyAttributes = def.KeyAttributes
	}
	if b.Window == 0 {
		b.Window = def.Window
	}
	if b.MaxKeys == 0 {
		b.MaxKeys = def.MaxKeys
	}
	cfg.Budget = b
	return cfg
}

// run feeds the traces one by one to a new tail sampler and returns what it kept. The clock is the
// traffic's own time, so the test replays minutes in milliseconds.
func runBudget(t *testing.T, cfg Config, traffic []budgetTrace) (map[pcommon.TraceID]*keptTrace, *tail) {
	clock := &fakeClock{now: t0}
	tl, err := newTail(cfg, clock.Now)
	require.NoError(t, err)
	kept := map[pcommon.TraceID]*keptTrace{}
	for _, bt := range traffic {
		clock.now = t0.Add(bt.end)
		readKept(tl.Consume(bt.traces()), kept, t)
	}
	readKept(tl.Flush(), kept, t)
	return kept, tl
}

// TestBudgetErrorStorm: steady traffic, then 60 s at 10× with 90% errors, then back. Through the
// storm the error and slow traces kept per second stay within ±15% of the cap (5 s windows), every
// kept trace is whole and carries th, and the adjusted counts of the kept error traces add up to
// the error traces sent within 10%.
func TestBudgetErrorStorm(t *testing.T) {
	const capPerSec = 40.0
	traffic := schedule([]phase{
		{rate: 100, dur: 20 * time.Second, errRatio: 0.05},
		{rate: 1000, dur: 60 * time.Second, errRatio: 0.9},
		{rate: 100, dur: 20 * time.Second, errRatio: 0.05},
	}, 0)
	cfg := budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: capPerSec, FloorPerMinute: 1})
	kept, tl := runBudget(t, cfg, traffic)

	byID := map[pcommon.TraceID]budgetTrace{}
	var errorsSent float64
	for _, bt := range traffic {
		byID[testTraceID(bt.n)] = bt
		if bt.err {
			errorsSent++
		}
	}
	windows := map[int]float64{} // 5 s window → error/slow traces kept (any rule)
	var errorEstimate float64
	for id, k := range kept {
		bt := byID[id]
		require.Equal(t, bt.spans, k.spans, "trace kept whole")
		if bt.err {
			errorEstimate += k.th.AdjustedCount()
			windows[int(bt.end/(5*time.Second))]++
		}
	}
	for w := 20/5 + 1; w < 80/5; w++ { // the storm, after its first window
		rate := windows[w] / 5
		assert.InDelta(t, capPerSec, rate, 0.15*capPerSec, "window %ds..%ds: %.1f error traces kept/s", w*5, w*5+5, rate)
	}
	assert.InDelta(t, errorsSent, errorEstimate, 0.10*errorsSent, "adjusted counts of kept error traces estimate the error traces sent")
	st := tl.Stats()
	require.NotNil(t, st.Budget)
	assert.Positive(t, st.Budget.Decisions[ReasonCapped])
	assert.Positive(t, st.Budget.Decisions[ReasonFloor])
	assert.Equal(t, st.Dropped.Error.Traces, st.Budget.Decisions[ReasonCapped])
	assert.Less(t, st.Budget.Probabilities[BudgetKey{Pipeline: "chat", Outcome: OutcomeOK}], 1.0)
	t.Logf("errors sent %.0f, estimated %.0f; kept %d traces; decisions %v", errorsSent, errorEstimate, len(kept), st.Budget.Decisions)
}

// TestBudgetCapBelowKeepsEverything: under the cap every error trace is kept with th:0.
func TestBudgetCapBelowKeepsEverything(t *testing.T) {
	traffic := schedule([]phase{{rate: 100, dur: 10 * time.Second, errRatio: 0.2}}, 0)
	kept, tl := runBudget(t, budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: 100}), traffic)
	var errs int
	for _, bt := range traffic {
		if !bt.err {
			continue
		}
		errs++
		k := kept[testTraceID(bt.n)]
		require.NotNil(t, k, "error trace %d kept", bt.n)
		assert.Equal(t, sampling.AlwaysSampleThreshold, k.th)
	}
	assert.Zero(t, tl.Stats().Budget.Decisions[ReasonCapped])
	assert.Equal(t, uint64(errs), tl.Stats().Budget.Decisions[ReasonError]+floorErrors(tl))
}

func floorErrors(tl *tail) uint64 {
	return tl.Stats().Kept.Floor.Traces - floorKeys(tl, OutcomeOK)
}

func floorKeys(tl *tail, o Outcome) uint64 {
	var n uint64
	for k := range tl.budget.keys {
		if k.Outcome == o {
			n += uint64(tl.budget.keys[k].floorKept)
		}
	}
	return n
}

// TestBudgetErrorsBeforeSlow: when errors alone exceed the cap they get all of it but the slow
// reserve; slow traces are sampled harder.
func TestBudgetErrorsBeforeSlow(t *testing.T) {
	var traffic []budgetTrace
	for i := range uint64(20000) { // 20 s: 800 errors/s, 200 slow/s
		traffic = append(traffic, budgetTrace{n: i, pipeline: "p", end: time.Duration(i) * time.Millisecond, spans: 1, err: i%5 != 0, slow: i%5 == 0})
	}
	_, tl := runBudget(t, budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: 100}), traffic)
	d := tl.Stats().Budget.Decisions
	errRate, slowRate := float64(d[ReasonError])/20, float64(d[ReasonSlow])/20
	assert.InDelta(t, 90, errRate, 9, "errors get the cap minus the slow reserve")
	assert.InDelta(t, 10, slowRate, 2, "slow traces get the reserve")
	p := tl.Stats().Budget.Probabilities
	assert.InDelta(t, 90.0/800, p[BudgetKey{"p", OutcomeError}], 0.02)
	assert.InDelta(t, 10.0/200, p[BudgetKey{"p", OutcomeSlow}], 0.01)
}

// TestBudgetFloorRarePipeline: a pipeline at 0.5% of the traffic gets at least the floor every
// minute, although 10% sampling alone would miss it in some minutes; a pipeline that never ran
// gets nothing.
func TestBudgetFloorRarePipeline(t *testing.T) {
	traffic := schedule([]phase{{rate: 20, dur: 5 * time.Minute, errRatio: 0}}, 200)
	const floor = 2
	kept, tl := runBudget(t, budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: 1000, FloorPerMinute: floor}), traffic)
	perMinute := map[int]int{}
	for _, bt := range traffic {
		if k := kept[testTraceID(bt.n)]; k != nil && bt.pipeline == "rare" {
			perMinute[int((bt.end-time.Nanosecond)/time.Minute)]++
		}
	}
	for m := range 5 {
		assert.GreaterOrEqual(t, perMinute[m], floor, "minute %d", m)
	}
	for k := range tl.Stats().Budget.Probabilities {
		assert.NotEqual(t, "never", k.Pipeline)
		assert.Contains(t, []string{"chat", "search", "ingest", "rare"}, k.Pipeline)
	}
	for _, k := range kept {
		if k.rule == "floor" {
			assert.Equal(t, sampling.AlwaysSampleThreshold, k.th, "a floor trace stands for itself")
		}
	}
}

// TestBudgetKeysBounded: keys beyond max keys fold into _other.
func TestBudgetKeysBounded(t *testing.T) {
	var traffic []budgetTrace
	for i := range uint64(50) {
		traffic = append(traffic, budgetTrace{n: i, pipeline: fmt.Sprintf("p%d", i), end: time.Duration(i) * time.Millisecond, spans: 1})
	}
	_, tl := runBudget(t, budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: 10, MaxKeys: 8}), traffic)
	p := tl.Stats().Budget.Probabilities
	assert.Len(t, p, 9)
	assert.Contains(t, p, BudgetKey{OtherPipeline, OutcomeOK})
}

// TestBudgetDeterministic: two samplers fed the same traffic in the same order make the same
// decisions, whatever their clocks say (rates are in span time).
func TestBudgetDeterministic(t *testing.T) {
	traffic := schedule([]phase{{rate: 200, dur: 10 * time.Second, errRatio: 0.1}, {rate: 800, dur: 10 * time.Second, errRatio: 0.8}}, 50)
	cfg := budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: 30, TargetSpansPerSecond: 300})
	a, _ := runBudget(t, cfg, traffic)
	// The second one's clock runs 10 s behind the traffic: only span time matters.
	clock := &fakeClock{}
	tl, err := newTail(cfg, clock.Now)
	require.NoError(t, err)
	b := map[pcommon.TraceID]*keptTrace{}
	for _, bt := range traffic {
		clock.now = t0.Add(bt.end - 10*time.Second)
		readKept(tl.Consume(bt.traces()), b, t)
	}
	require.Equal(t, len(a), len(b))
	for id, k := range a {
		require.Contains(t, b, id)
		assert.Equal(t, *k, *b[id])
	}
}

// TestBudgetUpstreamThreshold: a trace sampled upstream at 1% keeps its th whatever the budget
// would allow, and is decided against it.
func TestBudgetUpstreamThreshold(t *testing.T) {
	up, err := sampling.ProbabilityToThresholdWithPrecision(0.01, 4)
	require.NoError(t, err)
	var traffic []budgetTrace
	for i := range uint64(3000) {
		traffic = append(traffic, budgetTrace{n: i, pipeline: "p", end: time.Duration(i) * 10 * time.Millisecond, spans: 2, ts: "ot=th:" + up.TValue()})
	}
	// A target far above the traffic drives the key's probability to 1.
	kept, tl := runBudget(t, budgetConfig(BudgetConfig{TargetSpansPerSecond: 1e6, FloorPerMinute: 0}), traffic)
	assert.Equal(t, 1.0, tl.Stats().Budget.Probabilities[BudgetKey{"p", OutcomeOK}])
	for id, k := range kept {
		assert.Equal(t, up, k.th, "trace %v keeps the upstream th", id)
		assert.True(t, up.ShouldSample(sampling.TraceIDToRandomness(id)))
	}
	assert.Less(t, len(kept), 100)
}

// TestBudgetAdaptStepsBounded: the adaptive probability moves at most ×/÷2 per interval, stays in
// (0, 1], and not below what keeps the floor.
func TestBudgetAdaptStepsBounded(t *testing.T) {
	b := newBudget(budgetConfig(BudgetConfig{TargetSpansPerSecond: 1e-3, FloorPerMinute: 1, Window: time.Second}), time.Now)
	ks := b.key(BudgetKey{"p", OutcomeOK})
	ks.p = 0.5
	ks.spanRate, ks.traceRate = 1e6, 1e5
	b.adapt()
	assert.Equal(t, 0.25, ks.p, "one step down halves")
	for range 100 {
		b.adapt()
	}
	assert.InDelta(t, 1/(1e5*60), ks.p, 1e-12, "never below the floor's probability")
	ks.spanRate = 1e-6 // far below the target: the goal is 1
	prev := ks.p
	b.adapt()
	assert.Equal(t, prev*2, ks.p, "one step up doubles")
	for range 100 {
		b.adapt()
	}
	assert.Equal(t, 1.0, ks.p, "never above 1")
}

// TestBudgetConvergence steps traffic 1× → 3× → 0.5× with a target and checks the forwarded
// spans/s approach the target within the window at each level. With JEEVES_BUDGET_PLOT set it
// writes the series as a PNG (docs/sampling-budget.png).
func TestBudgetConvergence(t *testing.T) {
	const target = 400.0
	window := 30 * time.Second
	phases := []phase{
		{rate: 300, dur: 90 * time.Second, errRatio: 0.01},
		{rate: 900, dur: 90 * time.Second, errRatio: 0.01},
		{rate: 150, dur: 90 * time.Second, errRatio: 0.01},
	}
	traffic := schedule(phases, 0)
	kept, _ := runBudget(t, budgetConfig(BudgetConfig{TargetSpansPerSecond: target, Window: window}), traffic)
	sent := make([]float64, 270)
	fwd := make([]float64, 270)
	for _, bt := range traffic {
		s := int((bt.end - time.Nanosecond) / time.Second)
		sent[s] += float64(bt.spans)
		if kept[testTraceID(bt.n)] != nil {
			fwd[s] += float64(bt.spans)
		}
	}
	avg := func(from, to int) float64 {
		var sum float64
		for _, v := range fwd[from:to] {
			sum += v
		}
		return sum / float64(to-from)
	}
	// After one window in each phase the forwarded rate is within 15% of the target; in the last
	// phase the traffic (≈450 spans/s) is close to the target, so it is within 15% or everything.
	w := int(window / time.Second)
	for i, ph := range []struct{ from, to int }{{w, 90}, {90 + w, 180}, {180 + w, 270}} {
		got := avg(ph.from, ph.to)
		assert.InDelta(t, target, got, 0.15*target, "phase %d (%v traces/s): %.0f spans/s forwarded", i, phases[i].rate, got)
	}
	if path := plotPath(); path != "" {
		require.NoError(t, writePlot(path, sent, fwd, target))
	}
	var b strings.Builder
	for s := 0; s < 270; s += 10 {
		fmt.Fprintf(&b, "%ds:%.0f/%.0f ", s, avg(s, s+10), sent[s])
	}
	t.Log("forwarded/sent spans/s per 10 s: ", b.String())
}

// TestBudgetIdleKeysForgotten: a key without traffic for keyIdle leaves the stats (and the gauge).
func TestBudgetIdleKeysForgotten(t *testing.T) {
	traffic := []budgetTrace{{n: 0, pipeline: "once", end: time.Second, spans: 1}}
	for i := range uint64(12) {
		traffic = append(traffic, budgetTrace{n: i + 1, pipeline: "busy", end: time.Duration(i+1) * time.Minute, spans: 1})
	}
	_, tl := runBudget(t, budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: 10}), traffic[:10])
	assert.Contains(t, tl.Stats().Budget.Probabilities, BudgetKey{"once", OutcomeOK}, "9 minutes idle")
	_, tl = runBudget(t, budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: 10}), traffic)
	p := tl.Stats().Budget.Probabilities
	assert.NotContains(t, p, BudgetKey{"once", OutcomeOK}, "11 minutes idle")
	assert.Contains(t, p, BudgetKey{"busy", OutcomeOK})
}

// TestBudgetConcurrent: Consume from several goroutines and Stats (the telemetry callbacks) at the
// same time with a budget on; run with -race.
func TestBudgetConcurrent(t *testing.T) {
	clock := &fakeClock{now: t0}
	tl, err := newTail(budgetConfig(BudgetConfig{MaxKeptTracesPerSecond: 5, TargetSpansPerSecond: 50}), clock.Now)
	require.NoError(t, err)
	done := make(chan struct{})
	for g := range uint64(4) {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range uint64(300) {
				n := g*1000 + i
				tl.Consume(budgetTrace{n: n, pipeline: "p", end: time.Duration(n) * time.Millisecond, spans: 2, err: n%3 == 0}.traces())
			}
		}()
	}
	go func() {
		defer func() { done <- struct{}{} }()
		for range 100 {
			_ = tl.Stats()
		}
	}()
	for range 5 {
		<-done
	}
	st := tl.Stats()
	var decided uint64
	for _, n := range st.Budget.Decisions {
		decided += n
	}
	assert.Equal(t, uint64(1200), decided)
}
