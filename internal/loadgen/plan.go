package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Service identifies which of the configured services owns a span.
type Service uint8

// The services of a Jeeves deployment, as the generator models them.
const (
	ServiceGateway Service = iota
	ServiceOrchestrator
	ServiceLLMGateway
	numServices
)

// Name returns the configured service.name of s.
func (s Services) Name(svc Service) string {
	switch svc {
	case ServiceGateway:
		return s.Gateway
	case ServiceOrchestrator:
		return s.Orchestrator
	default:
		return s.LLMGateway
	}
}

// Scope is the instrumentation scope a span is written under.
type Scope uint8

// Instrumentation scopes, named after the libraries that write these spans.
const (
	ScopeFastAPI Scope = iota
	ScopeJeeves
	ScopeGenAI
	ScopeDB
	ScopeKernel
	numScopes
)

var scopeNames = [numScopes]string{
	ScopeFastAPI: "opentelemetry.instrumentation.fastapi",
	ScopeJeeves:  "jeeves.orchestrator",
	ScopeGenAI:   "opentelemetry.instrumentation.openai_v2",
	ScopeDB:      "opentelemetry.instrumentation.asyncpg",
	ScopeKernel:  "jeeves.kernel",
}

// String returns the instrumentation scope name of s.
func (s Scope) String() string { return scopeNames[s] }

// role says which Jeeves metric family a span feeds; the manifest is built
// from these facts, never by re-reading attributes.
type role uint8

const (
	roleNone role = iota
	rolePipeline
	roleAgent
	roleLLM
	roleDB
	roleInterrupt
)

type spanTruth struct {
	role   role
	label  string // pipeline, agent, LLM provider or lower-cased DB operation
	model  string // LLM model
	status string // success / error / terminated
	reason string // normalised termination reason
	tokens bool   // inputTokens/outputTokens are reported
	input  int64
	output int64
	// cost is the jeeves.llm.cost_usd the span carries, when hasCost.
	cost    float64
	hasCost bool
	// invokeAgent is the gen_ai.agent.name of a GenAI invoke_agent span.
	invokeAgent string
}

// SpanPlan is one span of a planned trace. Offsets are from the trace start.
type SpanPlan struct {
	// Parent indexes TracePlan.Spans; -1 for the root.
	Parent     int
	Service    Service
	Scope      Scope
	Name       string
	Kind       trace.SpanKind
	Start, End time.Duration
	// StartAttrs are set when the span starts, EndAttrs just before it ends.
	StartAttrs, EndAttrs []attribute.KeyValue
	Status               codes.Code
	StatusMessage        string
	// ExceptionType, when set, is recorded as an "exception" event at End.
	ExceptionType, ExceptionMessage string
	// Unexported spans are started, so that their children name them as
	// parent, but never ended, so they are never exported.
	Unexported bool

	truth spanTruth
}

// TracePlan is everything the generator will send for one trace.
type TracePlan struct {
	Index   int
	TraceID trace.TraceID
	// Offset is the trace start relative to the run start.
	Offset time.Duration
	// Class flags: Error means at least one span has status Error; Slow means
	// the root span lasts >= 5 s; Terminated means pipeline.status=terminated;
	// LaterGen means the later-generation Python span shapes.
	Error, Slow, Terminated, LaterGen bool
	// Broken means the root (gateway) span is planned but never exported.
	Broken                   bool
	Pipeline, PipelineStatus string
	// Spans are in depth-first pre-order: a parent always precedes its children.
	Spans []SpanPlan
}

// Duration is the root span's duration, the trace's end-to-end latency.
func (t *TracePlan) Duration() time.Duration { return t.Spans[0].End - t.Spans[0].Start }

// Generator builds trace plans deterministically from Config.Seed.
type Generator struct {
	cfg Config
	pcg *rand.PCG
	r   *rand.Rand
}

// NewGenerator returns a generator for cfg. It does not validate cfg.
func NewGenerator(cfg Config) *Generator {
	pcg := rand.NewPCG(0, 0)
	return &Generator{cfg: cfg, pcg: pcg, r: rand.New(pcg)}
}

// splitmix64 spreads trace indexes over the PCG stream space.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Tail cases the generator keeps apart so tests can check a 5 s latency rule.
const (
	fastMinMs = 150
	fastMaxMs = 3000
	slowMinMs = 5500
	slowMaxMs = 12000
	// Runs of Config.SlowPipeline last from 15 to 25 s.
	slowPipelineMinMs = 15000
	slowPipelineMaxMs = 25000
	// SlowThreshold is the end-to-end latency every slow trace reaches and no
	// fast trace reaches.
	SlowThreshold = 5 * time.Second
)

// Trace returns the plan of trace i. It depends only on the seed and i.
func (g *Generator) Trace(i int) *TracePlan {
	g.pcg.Seed(g.cfg.Seed, splitmix64(uint64(i)))
	b := &builder{cfg: &g.cfg, r: g.r, t: &TracePlan{Index: i}, errorRatio: g.cfg.ErrorRatio}
	if off, ratio, ok := g.cfg.phaseOf(i); ok {
		b.t.Offset, b.errorRatio = off, ratio
	}
	b.build()
	return b.t
}

// traceOffset spaces trace starts: at the configured rate, or 100 µs apart
// when unthrottled.
func (g *Generator) traceOffset(i int) time.Duration {
	if off, _, ok := g.cfg.phaseOf(i); ok {
		return off
	}
	if g.cfg.Rate > 0 {
		return time.Duration(float64(i) * float64(time.Second) / g.cfg.Rate)
	}
	return time.Duration(i) * 100 * time.Microsecond
}

type errorSite uint8

const (
	siteNone errorSite = iota
	siteLLM
	siteAgent
	sitePipeline
)

type llmStyle uint8

const (
	styleJeeves llmStyle = iota // llm.provider.call
	styleGenAI                  // GenAI semconv inference spans
	styleLater                  // agent.llm_call
)

// itemKind is one unit of work inside an agent.
type itemKind uint8

const (
	itemLLM itemKind = iota
	itemLLMFailed
	itemDB
	itemTool
	itemInvoke // invoke_agent wrapping n inference calls
	itemIPC
)

type item struct {
	kind  itemKind
	calls []bool // itemInvoke: per inner call, true = failed
}

type agentPlan struct {
	name   string
	failed bool
	style  llmStyle
	items  []item
	// GenAI: the provider/model chosen for the agent's inference calls.
	genProvider int
	genModel    int
	// Jeeves: provider/model for llm.provider.call.
	jProvider int
	jModel    int
}

type builder struct {
	cfg *Config
	// errorRatio is cfg.ErrorRatio, or the trace's phase's.
	errorRatio float64
	r          *rand.Rand
	t          *TracePlan

	requestID  string
	envelopeID string
	processID  string
}

func (b *builder) chance(p float64) bool { return b.r.Float64() < p }

// between returns a uniform integer in [lo, hi].
func (b *builder) between(lo, hi int64) int64 { return lo + b.r.Int64N(hi-lo+1) }

func (b *builder) pickWeighted(weights []uint64) int {
	var total uint64
	for _, w := range weights {
		total += w
	}
	x := b.r.Uint64N(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (b *builder) hexID(prefix string) string {
	return fmt.Sprintf("%s%016x", prefix, b.r.Uint64())
}

func (b *builder) build() {
	t := b.t
	r := b.r
	// Draw every class flag unconditionally so ratios stay independent.
	var tid trace.TraceID
	for !tid.IsValid() {
		hi, lo := r.Uint64(), r.Uint64()
		for k := range 8 {
			tid[k] = byte(hi >> (56 - 8*k))
			tid[8+k] = byte(lo >> (56 - 8*k))
		}
	}
	t.TraceID = tid
	t.Error = b.chance(b.errorRatio)
	t.Slow = b.chance(b.cfg.SlowRatio)
	t.Terminated = b.chance(b.cfg.TerminatedRatio)
	laterGen := b.chance(b.cfg.LaterGenRatio)
	t.LaterGen = laterGen && !t.Terminated

	b.requestID = b.hexID("req_")
	b.envelopeID = b.hexID("env_")
	b.processID = b.hexID("proc_")

	def := pipelineDefs[b.pickWeighted(pipelineWeights)]
	t.Pipeline = def.name
	// Scenario flags draw nothing unless they are set, so the default stream
	// of every trace stays what it was.
	if b.cfg.SlowPipeline != "" && t.Pipeline == b.cfg.SlowPipeline {
		t.Slow = true
	}
	if b.cfg.BrokenRatio > 0 {
		t.Broken = b.chance(b.cfg.BrokenRatio)
	}

	site := siteNone
	if t.Error {
		site = []errorSite{siteLLM, siteAgent, sitePipeline}[b.pickWeighted([]uint64{50, 30, 20})]
		if site == sitePipeline && t.Terminated {
			site = siteAgent
		}
	}

	names := def.agents
	if t.Terminated {
		names = names[:b.between(1, int64(len(names)))]
	}
	failedAgent := -1
	if site == siteAgent {
		failedAgent = int(b.r.IntN(len(names)))
		names = names[:failedAgent+1]
	}

	agents := make([]agentPlan, len(names))
	for i, name := range names {
		agents[i] = b.planAgent(name, i == failedAgent)
	}
	if site == siteLLM {
		b.injectLLMFailure(agents)
	}

	switch {
	case t.Terminated:
		t.PipelineStatus = "terminated"
	case site == siteAgent || site == sitePipeline:
		t.PipelineStatus = "error"
	default:
		t.PipelineStatus = "success"
	}

	b.emit(agents, site)
}

func (b *builder) planAgent(name string, failed bool) agentPlan {
	a := agentPlan{name: name, failed: failed}
	switch {
	case b.t.LaterGen:
		a.style = styleLater
	case b.chance(0.3):
		a.style = styleGenAI
	default:
		a.style = styleJeeves
	}
	// Draw both model choices so the stream does not depend on style.
	a.genProvider = b.r.IntN(len(genAIProviders))
	a.genModel = b.r.IntN(len(genAIProviders[a.genProvider].models))
	a.jProvider = b.r.IntN(len(jeevesProviders))
	a.jModel = b.r.IntN(len(jeevesProviders[a.jProvider].models))

	rng := llmCallRange[name]
	calls := int(b.between(int64(rng[0]), int64(rng[1])))
	useInvoke := a.style == styleGenAI && calls > 0 && b.chance(0.5)
	if useInvoke {
		a.items = append(a.items, item{kind: itemInvoke, calls: make([]bool, calls)})
	} else {
		for range calls {
			a.items = append(a.items, item{kind: itemLLM})
		}
	}
	if dbAgents[name] && b.chance(0.5) {
		n := int(b.between(1, 2))
		for range n {
			// Reads happen before the model is asked, writes after.
			a.items = append(a.items, item{kind: itemDB})
		}
	}
	if name == agentTraverser {
		switch a.style {
		case styleGenAI:
			for range b.between(0, 2) {
				a.items = append(a.items, item{kind: itemTool})
			}
		case styleLater:
			if b.chance(0.7) {
				a.items = append(a.items, item{kind: itemTool})
			}
		}
	}
	if a.style == styleLater && b.chance(0.5) {
		a.items = append([]item{{kind: itemIPC}}, a.items...)
	}
	return a
}

// injectLLMFailure makes one LLM call of one agent fail; the agent retries,
// so the call after it succeeds and the agent and pipeline still succeed.
func (b *builder) injectLLMFailure(agents []agentPlan) {
	var candidates []int
	for i, a := range agents {
		for _, it := range a.items {
			if it.kind == itemLLM || it.kind == itemInvoke {
				candidates = append(candidates, i)
				break
			}
		}
	}
	var ai int
	if len(candidates) == 0 {
		ai = b.r.IntN(len(agents))
		agents[ai].items = append(agents[ai].items, item{kind: itemLLM})
	} else {
		ai = candidates[b.r.IntN(len(candidates))]
	}
	a := &agents[ai]
	var llmAt []int
	for k, it := range a.items {
		if it.kind == itemLLM || it.kind == itemInvoke {
			llmAt = append(llmAt, k)
		}
	}
	k := llmAt[b.r.IntN(len(llmAt))]
	if a.items[k].kind == itemInvoke {
		calls := a.items[k].calls
		pos := b.r.IntN(len(calls) + 1)
		calls = append(calls, false)
		copy(calls[pos+1:], calls[pos:])
		calls[pos] = true
		a.items[k].calls = calls
		return
	}
	a.items = append(a.items, item{})
	copy(a.items[k+1:], a.items[k:])
	a.items[k] = item{kind: itemLLMFailed}
}

// ---- layout ---------------------------------------------------------------

// scaleBounds converts bucket bounds in seconds to integers of 1/unit
// seconds, rounded to the nearest.
func scaleBounds(bounds []float64, unit float64) []int64 {
	out := make([]int64, len(bounds))
	for i, v := range bounds {
		out[i] = int64(v*unit + 0.5)
	}
	return out
}

var (
	pipelineBoundsMs = scaleBounds(PipelineBucketBounds, 1000)
	agentBoundsMs    = scaleBounds(AgentBucketBounds, 1000)
	llmBoundsMs      = scaleBounds(LLMBucketBounds, 1000)
	dbBoundsUs       = scaleBounds(DBBucketBounds, 1e6)
)

// offBound moves v one unit away from any bucket bound it sits on.
func offBound(v int64, bounds []int64, delta int64) int64 {
	for _, b := range bounds {
		if v == b {
			return v + delta
		}
	}
	return v
}

// split shares total among parts: each gets its minimum, the rest is shared in
// proportion to weight; the last part takes the rounding remainder.
func split(total int64, mins []int64, weights []uint64) []int64 {
	out := make([]int64, len(mins))
	rest := total
	var w uint64
	for i, m := range mins {
		rest -= m
		w += weights[i]
	}
	if rest < 0 {
		rest = 0
	}
	given := int64(0)
	for i, m := range mins {
		share := int64(0)
		if w > 0 {
			share = int64(uint64(rest) * weights[i] / w)
		}
		out[i] = m + share
		given += share
	}
	if n := len(out); n > 0 {
		out[n-1] += rest - given
	}
	return out
}

func itemMin(it item) int64 {
	if it.kind == itemInvoke {
		return 2 + int64(len(it.calls))
	}
	return 1
}

func itemWeight(it item) uint64 {
	switch it.kind {
	case itemLLM, itemLLMFailed:
		return 300
	case itemInvoke:
		return 300 * uint64(len(it.calls))
	case itemTool:
		return 100
	default:
		return 15
	}
}

// agentMin is the shortest agent that fits its items: 1 ms lead, 1 ms tail,
// and 1 ms of slack so moving off a bucket bound never squeezes the items.
func agentMin(a *agentPlan) int64 {
	m := int64(3)
	for _, it := range a.items {
		m += itemMin(it)
	}
	return m
}

func msd(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

func (b *builder) emit(agents []agentPlan, site errorSite) {
	t := b.t
	later := t.LaterGen

	// Pipeline timing.
	head, tail := b.between(1, 3), b.between(1, 3)
	parallel := !later && len(agents) > 2 && b.chance(0.3)
	gaps := make([]int64, len(agents))
	for i := 1; i < len(agents); i++ {
		gaps[i] = b.between(0, 2)
	}
	mins := make([]int64, len(agents))
	weights := make([]uint64, len(agents))
	need := head + tail
	for i := range agents {
		mins[i] = agentMin(&agents[i])
		weights[i] = agentWeight[agents[i].name] + uint64(b.between(0, 100))
		need += mins[i] + gaps[i]
	}
	var d int64
	switch {
	case t.Slow && t.Pipeline == b.cfg.SlowPipeline:
		d = b.between(slowPipelineMinMs, slowPipelineMaxMs)
	case t.Slow:
		d = b.between(slowMinMs, slowMaxMs)
	default:
		span := int64(fastMaxMs - fastMinMs)
		d = fastMinMs + b.r.Int64N(span+1)*b.r.Int64N(span+1)/span
	}
	d = max(d, need)
	d = offBound(d, pipelineBoundsMs, 1)

	httpLead, httpTail := b.between(1, 3), b.between(1, 3)
	pStart := httpLead
	pEnd := pStart + d

	// Root HTTP span.
	code := int64(200)
	if site == siteAgent || site == sitePipeline {
		code = httpErrorCodes[b.r.IntN(len(httpErrorCodes))]
	}
	route := "/api/v1/pipelines/{pipeline}/run"
	path := "/api/v1/pipelines/" + t.Pipeline + "/run"
	root := SpanPlan{
		Parent: -1, Service: ServiceGateway, Scope: ScopeFastAPI,
		Name: "POST " + route, Kind: trace.SpanKindServer,
		Start: 0, End: msd(pEnd + httpTail),
		StartAttrs: []attribute.KeyValue{
			attribute.String("http.request.method", "POST"),
			attribute.String("http.route", route),
			attribute.String("url.path", path),
			attribute.String("url.scheme", "http"),
			attribute.String("server.address", "jeeves-gateway"),
			attribute.Int64("server.port", 8000),
		},
		EndAttrs: []attribute.KeyValue{attribute.Int64("http.response.status_code", code)},
	}
	if code >= 500 {
		root.Status = codes.Error
	}
	root.Unexported = t.Broken
	b.t.Spans = append(b.t.Spans, root)

	// Pipeline span.
	pipe := SpanPlan{
		Parent: 0, Service: ServiceOrchestrator, Scope: ScopeJeeves,
		Name: "pipeline.execute", Kind: trace.SpanKindInternal,
		Start: msd(pStart), End: msd(pEnd),
		truth: spanTruth{role: rolePipeline, label: t.Pipeline, status: t.PipelineStatus},
	}
	mode := "sequential"
	if parallel {
		mode = "parallel"
	}
	if later {
		pipe.StartAttrs = []attribute.KeyValue{
			attribute.String("pipeline_name", t.Pipeline),
			attribute.String("process_id", b.processID),
		}
	} else {
		pipe.StartAttrs = []attribute.KeyValue{
			attribute.String("jeeves.pipeline.name", t.Pipeline),
			attribute.String("jeeves.request.id", b.requestID),
			attribute.String("jeeves.envelope.id", b.envelopeID),
		}
		pipe.EndAttrs = []attribute.KeyValue{
			attribute.String("pipeline.mode", mode),
			attribute.String("pipeline.status", t.PipelineStatus),
			attribute.Int64("pipeline.duration_ms", d),
		}
	}
	if t.Terminated {
		reason := TerminationReasons[b.r.IntN(len(TerminationReasons))]
		pipe.truth.reason = reason
		pipe.EndAttrs = append(pipe.EndAttrs, attribute.String("termination.reason", b.caseReason(reason)))
	}
	switch {
	case t.PipelineStatus == "error":
		pipe.Status = codes.Error
		kind := "pipeline"
		if site == siteAgent {
			kind = "agent"
		}
		pipe.ExceptionType = b.exceptionType(kind)
		pipe.ExceptionMessage = "pipeline " + t.Pipeline + " failed"
		pipe.StatusMessage = pipe.ExceptionType
	case later:
		// The later Python services leave success unset.
	default:
		pipe.Status = codes.Ok
	}
	pipeIdx := len(b.t.Spans)
	b.t.Spans = append(b.t.Spans, pipe)
	if b.cfg.InterruptSpans && !later {
		b.t.Spans = append(b.t.Spans, SpanPlan{
			Parent: pipeIdx, Service: ServiceOrchestrator, Scope: ScopeJeeves,
			Name: "interrupt.clarification", Kind: trace.SpanKindInternal,
			Start: msd(pStart), End: msd(pStart + 1),
			StartAttrs: []attribute.KeyValue{
				attribute.String("jeeves.interrupt.kind", "clarification"),
				attribute.String("jeeves.interrupt.status", "pending"),
			},
			truth: spanTruth{role: roleInterrupt},
		})
	}

	// Agent slots.
	inner := d - head - tail
	for _, g := range gaps {
		inner -= g
	}
	starts := make([]int64, len(agents))
	durs := make([]int64, len(agents))
	if parallel {
		// The first agent runs alone, then the rest run side by side.
		restMin := int64(0)
		for _, m := range mins[1:] {
			restMin = max(restMin, m)
		}
		parts := split(inner-gaps[1], []int64{mins[0], restMin}, []uint64{weights[0], 400})
		starts[0], durs[0] = pStart+head, parts[0]
		window := parts[1]
		longest := 1 + b.r.IntN(len(agents)-1)
		for i := 1; i < len(agents); i++ {
			starts[i] = starts[0] + parts[0] + gaps[1]
			if i == longest {
				durs[i] = window
			} else {
				durs[i] = max(mins[i], window*b.between(50, 100)/100)
			}
		}
	} else {
		slots := split(inner, mins, weights)
		cur := pStart + head
		for i := range agents {
			cur += gaps[i]
			starts[i], durs[i] = cur, slots[i]
			cur += slots[i]
		}
	}
	for i := range agents {
		durs[i] = offBound(durs[i], agentBoundsMs, -1)
		b.emitAgent(&agents[i], pipeIdx, starts[i], durs[i])
	}
}

var reasonCase = []uint64{40, 30, 30}

// caseReason writes a normalised reason as lower_snake, SCREAMING_SNAKE or
// PascalCase, the three forms Jeeves generations used.
func (b *builder) caseReason(reason string) string {
	switch b.pickWeighted(reasonCase) {
	case 1:
		return strings.ToUpper(reason)
	case 2:
		var sb strings.Builder
		for _, part := range strings.Split(reason, "_") {
			sb.WriteString(strings.ToUpper(part[:1]))
			sb.WriteString(part[1:])
		}
		return sb.String()
	default:
		return reason
	}
}

func (b *builder) exceptionType(kind string) string {
	list := exceptionTypes[kind]
	return list[b.r.IntN(len(list))]
}

func (b *builder) emitAgent(a *agentPlan, parent int, start, dur int64) {
	later := a.style == styleLater
	sp := SpanPlan{
		Parent: parent, Service: ServiceOrchestrator, Scope: ScopeJeeves,
		Kind:  trace.SpanKindInternal,
		Start: msd(start), End: msd(start + dur),
		truth: spanTruth{role: roleAgent, label: a.name, status: "success"},
	}
	if later {
		sp.Name = "agent." + a.name
		sp.StartAttrs = []attribute.KeyValue{
			attribute.String("agent", a.name),
			attribute.String("process_id", b.processID),
		}
	} else {
		sp.Name = "agent.process"
		sp.StartAttrs = []attribute.KeyValue{
			attribute.String("jeeves.agent.name", a.name),
			attribute.String("jeeves.request.id", b.requestID),
		}
	}
	llmCalls := 0
	for _, it := range a.items {
		switch it.kind {
		case itemLLM, itemLLMFailed:
			llmCalls++
		case itemInvoke:
			llmCalls += len(it.calls)
		}
	}
	if !later {
		sp.EndAttrs = []attribute.KeyValue{
			attribute.Int64("jeeves.llm.calls", int64(llmCalls)),
			attribute.Int64("duration_ms", dur),
		}
	}
	if a.failed {
		sp.Status = codes.Error
		sp.ExceptionType = b.exceptionType("agent")
		sp.ExceptionMessage = "agent " + a.name + " failed"
		sp.StatusMessage = sp.ExceptionType
		sp.truth.status = "error"
	} else if !later {
		sp.Status = codes.Ok
	}
	idx := len(b.t.Spans)
	b.t.Spans = append(b.t.Spans, sp)

	mins := make([]int64, len(a.items))
	weights := make([]uint64, len(a.items))
	for k, it := range a.items {
		mins[k] = itemMin(it)
		weights[k] = itemWeight(it)
	}
	slots := split(dur-2, mins, weights)
	cur := start + 1
	for k, it := range a.items {
		b.emitItem(a, it, idx, cur, slots[k])
		cur += slots[k]
	}
}

func (b *builder) emitItem(a *agentPlan, it item, parent int, start, slot int64) {
	switch it.kind {
	case itemLLM, itemLLMFailed:
		b.emitLLM(a, parent, start, slot, it.kind == itemLLMFailed)
	case itemInvoke:
		b.emitInvoke(a, it, parent, start, slot)
	case itemDB:
		b.emitDB(parent, start, slot)
	case itemTool:
		b.emitTool(a, parent, start, slot)
	case itemIPC:
		b.t.Spans = append(b.t.Spans, SpanPlan{
			Parent: parent, Service: ServiceOrchestrator, Scope: ScopeKernel,
			Name: "kernel.ipc", Kind: trace.SpanKindClient,
			Start: msd(start), End: msd(start + slot),
			StartAttrs: []attribute.KeyValue{
				attribute.String("method", ipcMethods[b.r.IntN(len(ipcMethods))]),
				attribute.String("process_id", b.processID),
			},
		})
	}
}

// providerFails reports whether a call to provider fails because it is
// Config.FailingProvider; it draws nothing for other providers.
func (b *builder) providerFails(provider string) bool {
	return b.cfg.FailingProvider != "" && provider == b.cfg.FailingProvider && b.chance(b.cfg.FailingProviderRatio)
}

// tokens draws a prompt/completion pair; both are at least 1.
func (b *builder) tokens() (int64, int64) {
	return b.between(50, 4000), b.between(10, 1500)
}

var pricePerToken = map[string][2]float64{
	"openai":    {2.5e-6, 1e-5},
	"azure":     {2.5e-6, 1e-5},
	"anthropic": {3e-6, 1.5e-5},
}

func (b *builder) emitLLM(a *agentPlan, parent int, start, dur int64, failed bool) {
	dur = offBound(dur, llmBoundsMs, -1)
	sp := SpanPlan{
		Parent: parent, Start: msd(start), End: msd(start + dur),
		truth: spanTruth{role: roleLLM, status: "success"},
	}
	if failed {
		sp.Status = codes.Error
		sp.truth.status = "error"
	}
	switch a.style {
	case styleLater:
		sp.Service, sp.Scope = ServiceOrchestrator, ScopeJeeves
		sp.Name, sp.Kind = "agent.llm_call", trace.SpanKindClient
		role := modelRoles[b.r.IntN(len(modelRoles))]
		sp.StartAttrs = []attribute.KeyValue{
			attribute.String("agent", a.name),
			attribute.String("model_role", role),
		}
		// The span names no provider or model; the role is its only model identity.
		sp.truth.label, sp.truth.model = UnknownLabel, role
		if failed {
			sp.ExceptionType = b.exceptionType("llm")
			sp.ExceptionMessage = "llm call failed"
			sp.StatusMessage = sp.ExceptionType
		}
	case styleJeeves:
		p := jeevesProviders[a.jProvider]
		model := p.models[a.jModel]
		if !failed && b.providerFails(p.provider) {
			failed = true
			sp.Status, sp.truth.status = codes.Error, "error"
		}
		sp.Service, sp.Scope = ServiceOrchestrator, ScopeJeeves
		sp.Name, sp.Kind = "llm.provider.call", trace.SpanKindClient
		sp.StartAttrs = []attribute.KeyValue{
			attribute.String("jeeves.llm.provider", p.provider),
			attribute.String("jeeves.llm.model", model),
			attribute.String("jeeves.agent.name", a.name),
			attribute.String("jeeves.request.id", b.requestID),
		}
		sp.truth.label, sp.truth.model = p.provider, model
		if failed {
			sp.ExceptionType = b.exceptionType("llm")
			sp.ExceptionMessage = p.provider + " call failed"
			sp.StatusMessage = sp.ExceptionType
		} else {
			in, out := b.tokens()
			price := pricePerToken[p.provider]
			cost := float64(in)*price[0] + float64(out)*price[1]
			sp.truth.cost, sp.truth.hasCost = cost, true
			sp.EndAttrs = []attribute.KeyValue{
				attribute.Int64("jeeves.llm.tokens.prompt", in),
				attribute.Int64("jeeves.llm.tokens.completion", out),
				attribute.Int64("jeeves.llm.tokens.total", in+out),
				attribute.Float64("jeeves.llm.cost_usd", cost),
				attribute.Int64("jeeves.llm.latency_ms", dur),
			}
			sp.Status = codes.Ok
			sp.truth.tokens, sp.truth.input, sp.truth.output = true, in, out
		}
	case styleGenAI:
		b.fillGenAI(&sp, a, failed)
	}
	b.t.Spans = append(b.t.Spans, sp)
}

// fillGenAI writes a GenAI semantic-convention inference span.
func (b *builder) fillGenAI(sp *SpanPlan, a *agentPlan, failed bool) {
	p := genAIProviders[a.genProvider]
	m := p.models[a.genModel]
	if !failed && b.providerFails(p.provider) {
		failed = true
		sp.Status, sp.truth.status = codes.Error, "error"
	}
	sp.Service, sp.Scope = ServiceLLMGateway, ScopeGenAI
	sp.Name, sp.Kind = m.op+" "+m.request, trace.SpanKindClient
	oldProvider, oldTokens := b.chance(0.3), b.chance(0.3)
	providerKey := "gen_ai.provider.name"
	if oldProvider {
		providerKey = "gen_ai.system"
	}
	sp.StartAttrs = []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", m.op),
		attribute.String(providerKey, p.provider),
		attribute.String("gen_ai.request.model", m.request),
	}
	sp.truth.label, sp.truth.model = p.provider, m.request
	if failed {
		errType := genAIErrorTypes[b.r.IntN(len(genAIErrorTypes))]
		sp.EndAttrs = []attribute.KeyValue{attribute.String("error.type", errType)}
		sp.StatusMessage = errType
		return
	}
	if m.response != "" {
		sp.EndAttrs = append(sp.EndAttrs, attribute.String("gen_ai.response.model", m.response))
		sp.truth.model = m.response
	}
	in, out := b.tokens()
	inKey, outKey := "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"
	if oldTokens {
		inKey, outKey = "gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens"
	}
	sp.EndAttrs = append(sp.EndAttrs, attribute.Int64(inKey, in))
	sp.truth.tokens, sp.truth.input = true, in
	if m.op != opEmbeddings {
		sp.EndAttrs = append(sp.EndAttrs, attribute.Int64(outKey, out))
		sp.truth.output = out
	}
}

// emitInvoke writes an invoke_agent span around inference calls. It carries
// the run's total token usage, which must not be counted a second time.
func (b *builder) emitInvoke(a *agentPlan, it item, parent int, start, dur int64) {
	p := genAIProviders[a.genProvider]
	m := p.models[a.genModel]
	sp := SpanPlan{
		Parent: parent, Service: ServiceOrchestrator, Scope: ScopeGenAI,
		Name: "invoke_agent " + a.name, Kind: trace.SpanKindInternal,
		Start: msd(start), End: msd(start + dur),
		truth: spanTruth{invokeAgent: a.name},
		StartAttrs: []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", opInvokeAgent),
			attribute.String("gen_ai.agent.name", a.name),
			attribute.String("gen_ai.provider.name", p.provider),
			attribute.String("gen_ai.request.model", m.request),
		},
	}
	idx := len(b.t.Spans)
	b.t.Spans = append(b.t.Spans, sp)

	mins := make([]int64, len(it.calls))
	weights := make([]uint64, len(it.calls))
	for k := range it.calls {
		mins[k], weights[k] = 1, 100
	}
	slots := split(dur-2, mins, weights)
	cur := start + 1
	var in, out int64
	for k, failed := range it.calls {
		call := SpanPlan{Parent: idx, Start: msd(cur), truth: spanTruth{role: roleLLM, status: "success"}}
		d := offBound(slots[k], llmBoundsMs, -1)
		call.End = msd(cur + d)
		if failed {
			call.Status = codes.Error
			call.truth.status = "error"
		}
		b.fillGenAI(&call, a, failed)
		in += call.truth.input
		out += call.truth.output
		b.t.Spans = append(b.t.Spans, call)
		cur += slots[k]
	}
	b.t.Spans[idx].EndAttrs = []attribute.KeyValue{
		attribute.Int64("gen_ai.usage.input_tokens", in),
		attribute.Int64("gen_ai.usage.output_tokens", out),
	}
}

func (b *builder) emitDB(parent int, start, slot int64) {
	op := dbOperations[b.pickWeighted(dbOperationWeights)].op
	table := dbTables[b.r.IntN(len(dbTables))]
	written := op
	switch b.pickWeighted([]uint64{60, 30, 10}) {
	case 1:
		written = strings.ToLower(op)
	case 2:
		written = op[:1] + strings.ToLower(op[1:])
	}
	const span = 300_000
	us := 150 + b.r.Int64N(span)*b.r.Int64N(span)/span
	us = min(us, slot*1000)
	us = offBound(us, dbBoundsUs, -1)
	summary := op + " " + table
	sp := SpanPlan{
		Parent: parent, Service: ServiceOrchestrator, Scope: ScopeDB,
		Name: summary, Kind: trace.SpanKindClient,
		Start: msd(start), End: msd(start) + time.Duration(us)*time.Microsecond,
		truth: spanTruth{role: roleDB, label: strings.ToLower(op)},
	}
	if b.chance(0.3) {
		sp.StartAttrs = []attribute.KeyValue{
			attribute.String("db.system", "postgresql"),
			attribute.String("db.operation", written),
			attribute.String("db.name", "jeeves"),
			attribute.String("db.sql.table", table),
		}
	} else {
		sp.StartAttrs = []attribute.KeyValue{
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.operation.name", written),
			attribute.String("db.query.summary", summary),
			attribute.String("db.namespace", "jeeves"),
			attribute.String("server.address", "postgres"),
			attribute.Int64("server.port", 5432),
		}
	}
	b.t.Spans = append(b.t.Spans, sp)
}

func (b *builder) emitTool(a *agentPlan, parent int, start, dur int64) {
	sp := SpanPlan{
		Parent: parent, Service: ServiceOrchestrator, Scope: ScopeJeeves,
		Kind:  trace.SpanKindInternal,
		Start: msd(start), End: msd(start + dur),
	}
	if a.style == styleLater {
		sp.Name = "agent.tool_execution"
		sp.StartAttrs = []attribute.KeyValue{
			attribute.String("agent", a.name),
			attribute.Int64("tool_count", b.between(1, 4)),
		}
	} else {
		tool := toolNames[b.r.IntN(len(toolNames))]
		sp.Scope = ScopeGenAI
		sp.Name = opExecuteTool + " " + tool
		sp.StartAttrs = []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", opExecuteTool),
			attribute.String("gen_ai.tool.name", tool),
			attribute.String("gen_ai.agent.name", a.name),
		}
	}
	b.t.Spans = append(b.t.Spans, sp)
}
