// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/jeeves/otelcol-jeeves/internal/aggregate"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
)

// The metric families the connector serves (docs/jeeves-telemetry.md#metric-families
// lists them with their labels, #bucket-bounds their buckets): each is one
// aggregate.Table, declared once here with its labels, bucket bounds, names
// and descriptions.

// SPM label names, as the span_metrics connector writes them and Jaeger's
// Monitor tab reads them (after Prometheus name translation).
const (
	spmServiceName = "service.name"
	spmSpanName    = "span.name"
	spmSpanKind    = "span.kind"
	spmStatusCode  = "status.code"
)

// familyTable declares one table: the match fields forming its key, in label
// order (the family's configured dimensions follow them), an optional
// constant trailing label, and the metrics it emits.
type familyTable struct {
	family rules.Family
	fields []int
	extra  string // name of a constant trailing label ("type" for tokens), or ""
	spec   aggregate.Spec
	// aliases are further names (with their descriptions) under which the
	// table's metric of a given name is emitted too: one set of series, two
	// family names that dashboards read.
	aliases map[string]alias
}

// alias is another name of an emitted metric.
type alias struct{ name, description string }

// spmTable is the Jaeger Monitor-tab table (the span_metrics connector's
// default milliseconds buckets); its key is built from the span itself.
var spmTable = familyTable{family: rules.FamilyNone, spec: aggregate.Spec{
	Labels:          []string{spmServiceName, spmSpanName, spmSpanKind, spmStatusCode},
	SumName:         "traces.span.metrics.calls",
	SumUnit:         "{call}",
	SumDescription:  "Spans per service, span name, span kind and status code.",
	HistName:        "traces.span.metrics.duration",
	HistUnit:        "ms",
	HistDescription: "Span durations per service, span name, span kind and status code.",
	Bounds:          []float64{2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000},
}}

// The tables of the Jeeves families, in the order they are emitted.
var (
	pipelineExecutions = familyTable{family: rules.FamilyPipeline, fields: []int{rules.PipelineName, rules.PipelineStatus}, spec: aggregate.Spec{
		SumName: "jeeves.pipeline.executions", SumUnit: "{execution}", SumDescription: "Pipeline runs by pipeline and outcome.",
	}}
	pipelineDuration = familyTable{family: rules.FamilyPipeline, fields: []int{rules.PipelineName}, spec: aggregate.Spec{
		HistName: "jeeves.pipeline.duration", HistUnit: "s", HistDescription: "Pipeline run durations.",
		Bounds: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60},
	}}
	terminations = familyTable{family: rules.FamilyPipeline, fields: []int{rules.PipelineName, rules.PipelineReason}, spec: aggregate.Spec{
		SumName: "jeeves.termination", SumUnit: "{termination}", SumDescription: "Pipeline runs that ended with a termination reason.",
	}}
	agentExecutions = familyTable{family: rules.FamilyAgent, fields: []int{rules.AgentName, rules.AgentStatus}, spec: aggregate.Spec{
		SumName: "jeeves.agent.executions", SumUnit: "{execution}", SumDescription: "Agent runs by agent and outcome.",
	}}
	agentDuration = familyTable{family: rules.FamilyAgent, fields: []int{rules.AgentName}, spec: aggregate.Spec{
		HistName: "jeeves.agent.duration", HistUnit: "s", HistDescription: "Agent run durations.",
		Bounds: []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10},
	}}
	llmCalls = familyTable{family: rules.FamilyLLM, fields: []int{rules.LLMProvider, rules.LLMModel, rules.LLMStatus}, spec: aggregate.Spec{
		SumName: "jeeves.llm.calls", SumUnit: "{call}", SumDescription: "LLM inference calls by provider, model and outcome.",
	}, aliases: map[string]alias{"jeeves.llm.calls": {"jeeves.llm.provider.calls", "LLM provider calls by provider, model and outcome (the series of jeeves.llm.calls)."}}}
	llmTokens = familyTable{family: rules.FamilyLLM, fields: []int{rules.LLMProvider, rules.LLMModel}, extra: "type", spec: aggregate.Spec{
		SumName: "jeeves.llm.tokens", SumUnit: "{token}", SumDescription: "LLM tokens by provider, model and type (input, output), counted on inference spans only.",
	}}
	llmDuration = familyTable{family: rules.FamilyLLM, fields: []int{rules.LLMProvider, rules.LLMModel}, spec: aggregate.Spec{
		HistName: "jeeves.llm.duration", HistUnit: "s", HistDescription: "LLM inference call durations.",
		Bounds: []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60},
	}, aliases: map[string]alias{"jeeves.llm.duration": {"jeeves.llm.provider.duration", "LLM provider call durations (the series of jeeves.llm.duration)."}}}
	llmCost = familyTable{family: rules.FamilyLLM, fields: []int{rules.LLMProvider, rules.LLMModel}, spec: aggregate.Spec{
		SumName: "jeeves.llm.cost_usd", SumUnit: "{USD}", FloatSum: true,
		SumDescription: "LLM spend in US dollars by provider and model: jeeves.llm.cost_usd where the span carries it, else its tokens at the configured price.",
	}}
	llmUnpriced = familyTable{family: rules.FamilyLLM, fields: []int{rules.LLMProvider, rules.LLMModel}, spec: aggregate.Spec{
		SumName: "jeeves.llm.cost.unpriced_calls", SumUnit: "{call}",
		SumDescription: "LLM calls with neither a jeeves.llm.cost_usd attribute nor a configured price: their cost is missing from jeeves.llm.cost_usd.",
	}}
	dbDuration = familyTable{family: rules.FamilyDB, fields: []int{rules.DBOperation}, spec: aggregate.Spec{
		HistName: "jeeves.db.query.duration", HistUnit: "s", HistDescription: "Database query durations by operation.",
		Bounds: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1},
	}}
	dbQueries = familyTable{family: rules.FamilyDB, fields: []int{rules.DBSystem, rules.DBOperation, rules.DBStatus}, spec: aggregate.Spec{
		SumName: "jeeves.db.queries", SumUnit: "{query}", SumDescription: "Database client queries by system, operation and outcome.",
	}}
	httpRequests = familyTable{family: rules.FamilyHTTP, fields: []int{rules.HTTPMethod, rules.HTTPEndpoint, rules.HTTPStatus}, spec: aggregate.Spec{
		SumName: "jeeves.http.requests", SumUnit: "{request}", SumDescription: "HTTP server requests by method, endpoint (route) and response status code.",
	}}
	httpDuration = familyTable{family: rules.FamilyHTTP, fields: []int{rules.HTTPMethod, rules.HTTPEndpoint}, spec: aggregate.Spec{
		HistName: "jeeves.http.request.duration", HistUnit: "s", HistDescription: "HTTP server request durations by method and endpoint (route).",
		Bounds: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
	}}
	interrupts = familyTable{family: rules.FamilyInterrupt, fields: []int{rules.InterruptKind, rules.InterruptStatus}, spec: aggregate.Spec{
		SumName: "jeeves.interrupts", SumUnit: "{interrupt}", SumDescription: "Interrupts by kind and status.",
	}}
)

// Slots of spanEntry.refs: the family series one span updates, so a span
// whose signature was seen before finds all of them with one cache lookup.
const (
	slotPipelineExecutions = 0
	slotPipelineDuration   = 1
	slotTermination        = 2

	slotAgentExecutions = 0
	slotAgentDuration   = 1

	slotLLMCalls        = 0
	slotLLMInputTokens  = 1
	slotLLMOutputTokens = 2 // same table as slotLLMInputTokens
	slotLLMDuration     = 3
	slotLLMCost         = 4
	slotLLMUnpriced     = 5

	slotDBDuration = 0
	slotDBQueries  = 1

	slotHTTPRequests = 0
	slotHTTPDuration = 1

	slotInterrupts = 0

	// numSlots is the most series a span of one family updates.
	numSlots = 6
)

// Token types, the values of llmTokens' trailing label.
const (
	tokensInput  = "input"
	tokensOutput = "output"
)

var spanKindValues = [...]string{
	ptrace.SpanKindUnspecified: "SPAN_KIND_UNSPECIFIED",
	ptrace.SpanKindInternal:    "SPAN_KIND_INTERNAL",
	ptrace.SpanKindServer:      "SPAN_KIND_SERVER",
	ptrace.SpanKindClient:      "SPAN_KIND_CLIENT",
	ptrace.SpanKindProducer:    "SPAN_KIND_PRODUCER",
	ptrace.SpanKindConsumer:    "SPAN_KIND_CONSUMER",
}

var statusCodeValues = [...]string{
	ptrace.StatusCodeUnset: "STATUS_CODE_UNSET",
	ptrace.StatusCodeOk:    "STATUS_CODE_OK",
	ptrace.StatusCodeError: "STATUS_CODE_ERROR",
}

func spanKindValue(k ptrace.SpanKind) string {
	if int(k) >= 0 && int(k) < len(spanKindValues) {
		return spanKindValues[k]
	}
	return spanKindValues[ptrace.SpanKindUnspecified]
}

func statusCodeValue(c ptrace.StatusCode) string {
	if int(c) >= 0 && int(c) < len(statusCodeValues) {
		return statusCodeValues[c]
	}
	return statusCodeValues[ptrace.StatusCodeUnset]
}
