// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/jeeves/otelcol-jeeves/internal/aggregate"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/pricing"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// The attribution families (tail mode): LLM tokens and cost by the pipeline
// and the agent that caused them. Only a whole trace joins an LLM span to the
// pipeline.execute root several levels above it, so they are computed when
// the tail sampler decides a trace, from every trace, kept or dropped.
var (
	pipelineLLMTokensSpec = aggregate.Spec{
		Labels:  []string{"pipeline", "type"},
		SumName: "jeeves.pipeline.llm.tokens", SumUnit: "{token}",
		SumDescription: "LLM tokens by the pipeline whose run caused them (nearest pipeline ancestor of the inference span) and type (input, output). Tail mode only.",
	}
	pipelineLLMCostSpec = aggregate.Spec{
		Labels:  []string{"pipeline"},
		SumName: "jeeves.pipeline.llm.cost_usd", SumUnit: "{USD}", FloatSum: true,
		SumDescription: "LLM spend in US dollars by the pipeline whose run caused it. Tail mode only.",
	}
	agentLLMCostSpec = aggregate.Spec{
		Labels:  []string{"agent"},
		SumName: "jeeves.agent.llm.cost_usd", SumUnit: "{USD}", FloatSum: true,
		SumDescription: "LLM spend in US dollars by the agent whose run caused it (nearest agent ancestor of the inference span). Tail mode only.",
	}
)

// unattributed is the pipeline or agent label of LLM spans with no such
// ancestor (a root that never arrived, or a span that came after its trace
// was decided).
const unattributed = "unknown"

// GenAI invoke_agent spans are agent runs too: an inference span under one is
// attributed to its gen_ai.agent.name. Their own token totals are never
// counted (the rules leave them out of the llm family).
const (
	genAIOperationAttribute = "gen_ai.operation.name"
	genAIAgentAttribute     = "gen_ai.agent.name"
	genAIInvokeAgent        = "invoke_agent"
)

// attrNode is one span of the trace being attributed.
type attrNode struct {
	id, parent       pcommon.SpanID
	family           rules.Family // pipeline, agent (invoke_agent included), llm or none
	nameOff, nameEnd int32        // pipeline or agent name in attributor.names
	hasIn, hasOut    bool
	in, out          int64
	cost             float64
	priced           bool
}

// smallAttrTrace is the span count up to which parents are found by a scan
// rather than through the id map.
const smallAttrTrace = 32

// attributor is the tail sampler's DecisionObserver: it classifies the spans
// of each decided trace with its own classifier (it runs under the sampler's
// lock, concurrently with the metrics face) and adds their LLM tokens and
// cost to its tables. Its lock guards everything below; it holds no state
// per buffered trace.
type attributor struct {
	// fed is set once a tail sampler calls the attributor: only then are its
	// families and their series counts reported.
	fed        atomic.Bool
	mu         sync.Mutex
	classifier *rules.Classifier
	prices     *pricing.Table
	match      rules.Match
	key        aggregate.Key
	now        pcommon.Timestamp

	tokens, pipelineCost, agentCost *tableDef
	tables                          []*tableDef

	nodes []attrNode
	names []byte
	ids   map[pcommon.SpanID]int32
	// recent remembers the root pipeline of the last recentTraces decided
	// traces whose root arrived, so that their late spans (a trace forced
	// out by a memory bound, a straggler) count under it.
	recent recentPipelines
	visit  func(ptrace.Span, pcommon.Resource) // a.add, bound once
	clock  func() pcommon.Timestamp
}

func newAttributor(cfg *MetricsConfig, prices *pricing.Table, clock func() pcommon.Timestamp) (*attributor, error) {
	classifier, err := cfg.compileRules()
	if err != nil {
		return nil, err
	}
	a := &attributor{classifier: classifier, prices: prices, clock: clock, ids: map[pcommon.SpanID]int32{}}
	def := func(spec aggregate.Spec) *tableDef {
		spec.Limit, spec.Expiration = cfg.SeriesLimit, cfg.SeriesExpiration
		td := newTable(spec.SumName, spec)
		a.tables = append(a.tables, td)
		return td
	}
	a.tokens, a.pipelineCost, a.agentCost = def(pipelineLLMTokensSpec), def(pipelineLLMCostSpec), def(agentLLMCostSpec)
	a.visit = a.add
	return a, nil
}

var _ sampler.DecisionObserver = (*attributor)(nil)

// ObserveTrace attributes the LLM spans of one decided trace.
func (a *attributor) ObserveTrace(t sampler.Trace) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = a.clock()
	a.nodes, a.names = a.nodes[:0], a.names[:0]
	t.Range(a.visit)
	large := len(a.nodes) > smallAttrTrace
	if large {
		clear(a.ids)
		for i := range a.nodes {
			a.ids[a.nodes[i].id] = int32(i)
		}
	}
	rootPipeline := unattributed
	for i := range a.nodes {
		if n := &a.nodes[i]; n.parent.IsEmpty() && n.family == rules.FamilyPipeline {
			rootPipeline = a.name(n)
			a.recent.put(t.ID(), rootPipeline)
			break
		}
	}
	for i := range a.nodes {
		n := &a.nodes[i]
		if n.family != rules.FamilyLLM {
			continue
		}
		pipeline, agent := "", ""
		// Walk up at most len(nodes) steps: a malformed trace may hold a cycle.
		p := n.parent
		for steps := 0; steps < len(a.nodes) && !p.IsEmpty() && (pipeline == "" || agent == ""); steps++ {
			j := a.find(p, large)
			if j < 0 {
				break
			}
			anc := &a.nodes[j]
			switch {
			case anc.family == rules.FamilyPipeline && pipeline == "":
				pipeline = a.name(anc)
			case anc.family == rules.FamilyAgent && agent == "":
				agent = a.name(anc)
			}
			p = anc.parent
		}
		if pipeline == "" {
			pipeline = rootPipeline
		}
		if agent == "" {
			agent = unattributed
		}
		a.record(n, pipeline, agent)
	}
}

// ObserveLateSpan attributes an LLM span that arrived after its trace was
// decided: to its trace's root pipeline when that arrived and is still
// remembered, else "unknown"; its agent is "unknown" (its ancestors are gone).
func (a *attributor) ObserveLateSpan(span ptrace.Span, res pcommon.Resource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = a.clock()
	a.nodes, a.names = a.nodes[:0], a.names[:0]
	a.add(span, res)
	if n := &a.nodes[0]; n.family == rules.FamilyLLM {
		pipeline, ok := a.recent.get(span.TraceID())
		if !ok {
			pipeline = unattributed
		}
		a.record(n, pipeline, unattributed)
	}
}

// recentTraces bounds recentPipelines: about 40 B per entry (ring slot and
// map entry; names are interned), 0.7 MB in all.
const recentTraces = 16384

// maxInterned bounds the interned pipeline names; beyond it late spans of
// traces with a new name count under "unknown".
const maxInterned = 4096

// recentPipelines maps the ids of recently decided traces to their root
// pipeline: a FIFO ring and a map, names interned.
type recentPipelines struct {
	ring   []pcommon.TraceID
	next   int
	m      map[pcommon.TraceID]string
	intern map[string]string
}

func (r *recentPipelines) put(id pcommon.TraceID, pipeline string) {
	name, ok := r.intern[pipeline]
	if !ok {
		if len(r.intern) >= maxInterned {
			return
		}
		if r.intern == nil {
			r.intern, r.m, r.ring = map[string]string{}, map[pcommon.TraceID]string{}, make([]pcommon.TraceID, recentTraces)
		}
		name = strings.Clone(pipeline)
		r.intern[name] = name
	}
	if _, dup := r.m[id]; !dup {
		if old := r.ring[r.next]; !old.IsEmpty() {
			delete(r.m, old)
		}
		r.ring[r.next] = id
		r.next = (r.next + 1) % len(r.ring)
	}
	r.m[id] = name
}

func (r *recentPipelines) get(id pcommon.TraceID) (string, bool) {
	p, ok := r.m[id]
	return p, ok
}

// add classifies one span into a node.
func (a *attributor) add(span ptrace.Span, _ pcommon.Resource) {
	m := &a.match
	attrs := span.Attributes()
	a.classifier.Classify(span.Name(), span.Kind(), span.Status().Code() == ptrace.StatusCodeError, attrs, m)
	n := attrNode{id: span.SpanID(), parent: span.ParentSpanID(), family: m.Family}
	switch m.Family {
	case rules.FamilyPipeline:
		n.nameOff, n.nameEnd = a.putName(m.Value(rules.PipelineName))
	case rules.FamilyAgent:
		n.nameOff, n.nameEnd = a.putName(m.Value(rules.AgentName))
	case rules.FamilyLLM:
		n.in, n.hasIn = m.Num(rules.LLMInputTokens)
		n.out, n.hasOut = m.Num(rules.LLMOutputTokens)
		n.cost, n.priced = callCost(attrs, a.prices, m)
	case rules.FamilyNone:
		if v, ok := attrs.Get(genAIOperationAttribute); ok && v.Str() == genAIInvokeAgent {
			name := unattributed
			if v, ok := attrs.Get(genAIAgentAttribute); ok && v.Str() != "" {
				name = v.Str()
			}
			n.family = rules.FamilyAgent
			n.nameOff, n.nameEnd = a.putName(name)
		}
	default:
		n.family = rules.FamilyNone
	}
	a.nodes = append(a.nodes, n)
}

func (a *attributor) putName(s string) (int32, int32) {
	off := len(a.names)
	a.names = append(a.names, s...)
	return int32(off), int32(len(a.names))
}

// name returns the node's name without copying it: valid until the next
// trace or span is observed (names is only appended to while spans are added,
// never while they are resolved, and keys copy the names they use).
func (a *attributor) name(n *attrNode) string {
	b := a.names[n.nameOff:n.nameEnd]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (a *attributor) find(id pcommon.SpanID, large bool) int {
	if large {
		if j, ok := a.ids[id]; ok {
			return int(j)
		}
		return -1
	}
	for j := range a.nodes {
		if a.nodes[j].id == id {
			return j
		}
	}
	return -1
}

// record adds one LLM span's tokens and cost to its pipeline and agent.
func (a *attributor) record(n *attrNode, pipeline, agent string) {
	if n.hasIn && n.in >= 0 {
		a.series(a.tokens, pipeline, tokensInput).Add(n.in)
	}
	if n.hasOut && n.out >= 0 {
		a.series(a.tokens, pipeline, tokensOutput).Add(n.out)
	}
	if n.priced {
		a.series(a.pipelineCost, pipeline).AddFloat(n.cost)
		a.series(a.agentCost, agent).AddFloat(n.cost)
	}
}

func (a *attributor) series(td *tableDef, values ...string) *aggregate.Series {
	a.key.Reset()
	for _, v := range values {
		a.key.AddString(v)
	}
	return td.table.Get(a.key.Bytes(), a.now)
}

// appendTo expires stale series and appends the attribution families; it
// returns each table's overflowed and expired counts since the last call.
func (a *attributor) appendTo(ms pmetric.MetricSlice, now pcommon.Timestamp) (counts [][2]int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	counts = make([][2]int64, len(a.tables))
	for i, td := range a.tables {
		td.table.Expire(now)
		td.table.AppendTo(ms, now, nil)
		counts[i][0], counts[i][1] = td.table.TakeCounts()
		td.active.Store(int64(td.table.Len()))
	}
	return counts
}
