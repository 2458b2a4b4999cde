package loadgen

import (
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ManifestVersion changes whenever a field's meaning changes.
const ManifestVersion = 1

// UnknownLabel is the provider of LLM calls whose spans name none (the
// later-generation agent.llm_call spans).
const UnknownLabel = "unknown"

// Manifest is the truth about one run: exactly what was exported. Every count
// is keyed so a test can index it directly with the labels of the metric it
// checks, e.g. m.LLM.Calls["openai"]["gpt-4o-2024-08-06"]["success"]; a
// missing key means zero.
//
// The doc comment of each field is the mapping rule from spans to that
// number: it is the contract the collector's Jeeves connector is tested
// against. Terms used below:
//
//   - Span status is the OTLP status code (Unset, Ok, Error).
//   - Duration is end time minus start time of the span. Sums are in seconds.
//   - The generator never produces a duration equal to a bucket bound, so
//     bucket counts are the same under inclusive or exclusive upper bounds.
type Manifest struct {
	// Version is ManifestVersion.
	Version int `json:"version"`
	// Seed is the generator seed.
	Seed uint64 `json:"seed"`
	// Config echoes the settings that shaped the traffic.
	Config ManifestConfig `json:"config"`
	// Traces is the number of traces exported.
	Traces int64 `json:"traces"`
	// Spans is the number of spans exported; it equals the sum of
	// SpansByService, of SpansByName and of SPM.Calls.
	Spans int64 `json:"spans"`
	// Classes counts traces per class flag (see TraceRecord).
	Classes Classes `json:"classes"`
	// InterruptSpans counts the interrupt spans sent (Config.InterruptSpans).
	InterruptSpans int64 `json:"interrupt_spans"`
	// SpansByService counts spans per resource service.name.
	SpansByService Counts `json:"spans_by_service"`
	// SpansByName counts spans per span name.
	SpansByName Counts `json:"spans_by_name"`

	Pipelines PipelineTruth `json:"pipelines"`
	Agents    AgentTruth    `json:"agents"`
	LLM       LLMTruth      `json:"llm"`
	DB        DBTruth       `json:"db"`
	SPM       SPMTruth      `json:"spm"`
	Cost      CostTruth     `json:"cost"`

	// BucketBounds are the explicit bucket bounds, in seconds, behind every
	// Histogram.BucketCounts, per family: pipeline, agent, llm, db.
	BucketBounds map[string][]float64 `json:"bucket_bounds"`

	// TraceList has one record per trace, in send order, when requested.
	TraceList []TraceRecord `json:"trace_list,omitempty"`
}

// ManifestConfig echoes the run settings a test may want to check against.
type ManifestConfig struct {
	RequestedTraces int     `json:"requested_traces"`
	Rate            float64 `json:"rate"`
	ErrorRatio      float64 `json:"error_ratio"`
	SlowRatio       float64 `json:"slow_ratio"`
	TerminatedRatio float64 `json:"terminated_ratio"`
	LaterGenRatio   float64 `json:"later_gen_ratio"`
}

// Classes counts traces per class flag; a trace can be in several classes.
type Classes struct {
	Error      int64 `json:"error"`
	Slow       int64 `json:"slow"`
	Terminated int64 `json:"terminated"`
	LaterGen   int64 `json:"later_gen"`
	// Broken traces lost their gateway span: their orchestrator spans name
	// a parent that never arrives.
	Broken int64 `json:"broken"`
}

// Counts maps one label value to a count.
type Counts map[string]int64

// Histogram is the truth for one duration histogram series.
type Histogram struct {
	// Count is the number of observations.
	Count int64 `json:"count"`
	// SumSeconds is the sum of the observed durations in seconds.
	SumSeconds float64 `json:"sum_seconds"`
	// BucketCounts has len(bounds)+1 non-cumulative counts, like OTLP: entry
	// i counts durations in (bounds[i-1], bounds[i]]; the last entry counts
	// durations above the last bound.
	BucketCounts []int64 `json:"bucket_counts"`

	sumNanos int64
	bounds   []int64
}

// PipelineTruth is the truth for the jeeves_pipeline_* and
// jeeves_termination_total families.
//
// Which spans: spans named "pipeline.execute".
// Pipeline label: attribute jeeves.pipeline.name, else pipeline_name (the
// later-generation shape).
// Status label: attribute pipeline.status if present (success, error,
// terminated); otherwise "error" when the span status is Error, else
// "success".
type PipelineTruth struct {
	// Executions counts pipeline spans: [pipeline][status].
	Executions map[string]Counts `json:"executions"`
	// Durations holds pipeline span durations: [pipeline], with
	// PipelineBucketBounds.
	Durations map[string]*Histogram `json:"durations"`
	// Terminations counts pipeline spans with pipeline.status=terminated and
	// a termination.reason: [pipeline][reason]. The reason is normalised to
	// lower_snake_case by NormalizeReason (words split at case changes,
	// acronyms kept whole, everything lower-cased), so "MaxLlmCallsExceeded",
	// "MaxLLMCallsExceeded", "MAX_LLM_CALLS_EXCEEDED" and
	// "max_llm_calls_exceeded" all count as "max_llm_calls_exceeded".
	Terminations map[string]Counts `json:"terminations"`
}

// AgentTruth is the truth for the jeeves_agent_* families.
//
// Which spans: "agent.process" (agent label from jeeves.agent.name), and the
// later-generation "agent.<name>" spans (agent label = the suffix after
// "agent."), except "agent.process", "agent.llm_call" and
// "agent.tool_execution", which are not agent executions.
// Status label: "error" when the span status is Error, else "success".
type AgentTruth struct {
	// Executions counts agent spans: [agent][status].
	Executions map[string]Counts `json:"executions"`
	// Durations holds agent span durations: [agent], with AgentBucketBounds.
	Durations map[string]*Histogram `json:"durations"`
}

// LLMTruth is the truth for the jeeves_llm_* families.
//
// Which spans are LLM calls (inference spans):
//   - "llm.provider.call": provider = jeeves.llm.provider, model =
//     jeeves.llm.model;
//   - spans whose gen_ai.operation.name is chat, text_completion, embeddings
//     or generate_content: provider = gen_ai.provider.name, else
//     gen_ai.system; model = gen_ai.response.model, else
//     gen_ai.request.model. Spans with gen_ai.operation.name invoke_agent
//     or execute_tool (or any other value) are not LLM calls;
//   - "agent.llm_call" (later generation): provider is "unknown"
//     (UnknownLabel) since the span names none; model is the model_role
//     attribute (default, planner, fast, reasoning), its only model identity.
//     These calls carry no tokens.
//
// Status label: "error" when the span status is Error, else "success".
type LLMTruth struct {
	// Calls counts LLM calls: [provider][model][status].
	Calls map[string]map[string]Counts `json:"calls"`
	// Tokens sums token usage of LLM calls only: [provider][model][type],
	// type "input" or "output". Sources: jeeves.llm.tokens.prompt → input,
	// jeeves.llm.tokens.completion → output (jeeves.llm.tokens.total is
	// ignored); gen_ai.usage.input_tokens → input and
	// gen_ai.usage.output_tokens → output, falling back to the older
	// gen_ai.usage.prompt_tokens / gen_ai.usage.completion_tokens when the new
	// key is absent. Tokens on invoke_agent spans (run totals) are not
	// counted. A type with no token attribute on any span is absent.
	Tokens map[string]map[string]Counts `json:"tokens"`
	// Durations holds LLM call durations: [provider][model], with
	// LLMBucketBounds.
	Durations map[string]map[string]*Histogram `json:"durations"`
}

// DBTruth is the truth for jeeves_db_query_duration_seconds.
//
// Which spans: spans with db.system.name or the legacy db.system. Operation
// label: db.operation.name, else the legacy db.operation, lower-cased.
type DBTruth struct {
	// Durations holds DB span durations: [operation], with DBBucketBounds.
	Durations map[string]*Histogram `json:"durations"`
}

// SPMTruth is the truth for generic span metrics (the span_metrics connector's
// calls counter with its default dimensions).
type SPMTruth struct {
	// Calls counts every span: [service.name][span name][span kind][status
	// code], kind as SPAN_KIND_INTERNAL/SERVER/CLIENT/..., status as
	// STATUS_CODE_UNSET/OK/ERROR.
	Calls map[string]map[string]map[string]Counts `json:"calls"`
}

// TraceRecord describes one exported trace.
type TraceRecord struct {
	// TraceID is the 32-hex-digit trace id.
	TraceID string `json:"trace_id"`
	// Error: at least one span of the trace has status Error. Traces without
	// the flag have no span with status Error.
	Error bool `json:"error"`
	// Slow: the root span lasts at least SlowThreshold (5 s). Traces without
	// the flag have every span shorter than SlowThreshold (about 3 s at most).
	Slow bool `json:"slow"`
	// Terminated: pipeline.status is "terminated".
	Terminated bool `json:"terminated"`
	// LaterGen: the trace uses the later-generation Python span shapes.
	LaterGen bool `json:"later_gen"`
	// Pipeline and PipelineStatus are the pipeline labels of the trace.
	Pipeline       string `json:"pipeline"`
	PipelineStatus string `json:"pipeline_status"`
	// Spans is the number of spans in the trace.
	Spans int `json:"spans"`
	// DurationSeconds is the root span's duration.
	DurationSeconds float64 `json:"duration_seconds"`
}

// NewManifest returns an empty manifest for cfg.
func NewManifest(cfg Config) *Manifest {
	return &Manifest{
		Version: ManifestVersion,
		Seed:    cfg.Seed,
		Config: ManifestConfig{
			RequestedTraces: cfg.Traces,
			Rate:            cfg.Rate,
			ErrorRatio:      cfg.ErrorRatio,
			SlowRatio:       cfg.SlowRatio,
			TerminatedRatio: cfg.TerminatedRatio,
			LaterGenRatio:   cfg.LaterGenRatio,
		},
		SpansByService: Counts{},
		SpansByName:    Counts{},
		Pipelines: PipelineTruth{
			Executions:   map[string]Counts{},
			Durations:    map[string]*Histogram{},
			Terminations: map[string]Counts{},
		},
		Agents: AgentTruth{
			Executions: map[string]Counts{},
			Durations:  map[string]*Histogram{},
		},
		LLM: LLMTruth{
			Calls:     map[string]map[string]Counts{},
			Tokens:    map[string]map[string]Counts{},
			Durations: map[string]map[string]*Histogram{},
		},
		DB:   DBTruth{Durations: map[string]*Histogram{}},
		SPM:  SPMTruth{Calls: map[string]map[string]map[string]Counts{}},
		Cost: newCostTruth(),
		BucketBounds: map[string][]float64{
			"pipeline": PipelineBucketBounds,
			"agent":    AgentBucketBounds,
			"llm":      LLMBucketBounds,
			"db":       DBBucketBounds,
		},
	}
}

// Bucket bounds in nanoseconds, the unit Histogram.observe compares in.
var (
	pipelineBoundsNs = scaleBounds(PipelineBucketBounds, 1e9)
	agentBoundsNs    = scaleBounds(AgentBucketBounds, 1e9)
	llmBoundsNs      = scaleBounds(LLMBucketBounds, 1e9)
	dbBoundsNs       = scaleBounds(DBBucketBounds, 1e9)
)

func (h *Histogram) observe(d time.Duration) {
	h.Count++
	h.sumNanos += int64(d)
	h.SumSeconds = float64(h.sumNanos) / 1e9
	i := 0
	for i < len(h.bounds) && int64(d) > h.bounds[i] {
		i++
	}
	h.BucketCounts[i]++
}

func newHistogram(bounds []int64) *Histogram {
	return &Histogram{bounds: bounds, BucketCounts: make([]int64, len(bounds)+1)}
}

func histIn(m map[string]*Histogram, key string, bounds []int64) *Histogram {
	h := m[key]
	if h == nil {
		h = newHistogram(bounds)
		m[key] = h
	}
	return h
}

func countsIn(m map[string]Counts, key string) Counts {
	c := m[key]
	if c == nil {
		c = Counts{}
		m[key] = c
	}
	return c
}

func nestedIn[V any](m map[string]map[string]V, key string) map[string]V {
	c := m[key]
	if c == nil {
		c = map[string]V{}
		m[key] = c
	}
	return c
}

// SpanKindLabel is the span_metrics connector's name of a span kind.
func SpanKindLabel(k trace.SpanKind) string {
	switch k {
	case trace.SpanKindInternal:
		return "SPAN_KIND_INTERNAL"
	case trace.SpanKindServer:
		return "SPAN_KIND_SERVER"
	case trace.SpanKindClient:
		return "SPAN_KIND_CLIENT"
	case trace.SpanKindProducer:
		return "SPAN_KIND_PRODUCER"
	case trace.SpanKindConsumer:
		return "SPAN_KIND_CONSUMER"
	default:
		return "SPAN_KIND_UNSPECIFIED"
	}
}

// StatusCodeLabel is the span_metrics connector's name of a status code.
func StatusCodeLabel(c codes.Code) string {
	switch c {
	case codes.Ok:
		return "STATUS_CODE_OK"
	case codes.Error:
		return "STATUS_CODE_ERROR"
	default:
		return "STATUS_CODE_UNSET"
	}
}

// Add records a trace plan as exported.
func (m *Manifest) Add(t *TracePlan, services Services, withList bool) {
	m.Traces++
	if t.Error {
		m.Classes.Error++
	}
	if t.Slow {
		m.Classes.Slow++
	}
	if t.Terminated {
		m.Classes.Terminated++
	}
	if t.LaterGen {
		m.Classes.LaterGen++
	}
	if t.Broken {
		m.Classes.Broken++
	}
	for i := range t.Spans {
		sp := &t.Spans[i]
		if sp.Unexported {
			continue
		}
		m.Spans++
		svc := services.Name(sp.Service)
		m.SpansByService[svc]++
		m.SpansByName[sp.Name]++
		byKind := nestedIn(nestedIn(m.SPM.Calls, svc), sp.Name)
		countsIn(byKind, SpanKindLabel(sp.Kind))[StatusCodeLabel(sp.Status)]++

		d := sp.End - sp.Start
		tr := &sp.truth
		switch tr.role {
		case rolePipeline:
			countsIn(m.Pipelines.Executions, tr.label)[tr.status]++
			histIn(m.Pipelines.Durations, tr.label, pipelineBoundsNs).observe(d)
			if tr.reason != "" {
				countsIn(m.Pipelines.Terminations, tr.label)[tr.reason]++
			}
		case roleAgent:
			countsIn(m.Agents.Executions, tr.label)[tr.status]++
			histIn(m.Agents.Durations, tr.label, agentBoundsNs).observe(d)
		case roleLLM:
			countsIn(nestedIn(m.LLM.Calls, tr.label), tr.model)[tr.status]++
			histIn(nestedIn(m.LLM.Durations, tr.label), tr.model, llmBoundsNs).observe(d)
			if tr.tokens {
				tok := countsIn(nestedIn(m.LLM.Tokens, tr.label), tr.model)
				tok["input"] += tr.input
				if tr.output > 0 {
					tok["output"] += tr.output
				}
			}
		case roleDB:
			histIn(m.DB.Durations, tr.label, dbBoundsNs).observe(d)
		case roleInterrupt:
			m.InterruptSpans++
		}
	}
	m.Cost.addCosts(t)
	if withList {
		m.TraceList = append(m.TraceList, TraceRecord{
			TraceID:         t.TraceID.String(),
			Error:           t.Error,
			Slow:            t.Slow,
			Terminated:      t.Terminated,
			LaterGen:        t.LaterGen,
			Pipeline:        t.Pipeline,
			PipelineStatus:  t.PipelineStatus,
			Spans:           len(t.Spans),
			DurationSeconds: t.Duration().Seconds(),
		})
	}
}

// Plan builds the manifest of the first cfg.Traces traces without sending
// anything. It equals the manifest Run returns for the same configuration
// when Run is not stopped early.
func Plan(cfg Config) (*Manifest, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := NewGenerator(cfg)
	m := NewManifest(cfg)
	for i := range cfg.Traces {
		m.Add(g.Trace(i), cfg.Services, cfg.TraceList)
	}
	return m, nil
}
