// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

import "fmt"

// Fallback and transform names, as Field.Fallback and Field.Transform take them.
const (
	fallbackSpanStatusName     = "span_status"
	fallbackSpanNameSuffixName = "span_name_suffix"

	transformLowerName          = "lower"
	transformSnakeName          = "snake"
	transformFirstWordLowerName = "first_word_lower"
	transformHTTPMethodName     = "http_method"
	transformURLPathName        = "url_path"
)

// GenAI operations that are one inference call. invoke_agent, execute_tool and
// create_agent are left out on purpose: they may carry a whole run's token totals.
var genAIInferenceOperations = []string{"chat", "text_completion", "generate_content", "embeddings"}

// defaultFields are the field sources of each family when a rule does not
// override them. They read both Jeeves attribute generations and the GenAI and
// DB semantic conventions (current keys first, deprecated keys after);
// docs/jeeves-telemetry.md describes the attributes.
func defaultFields() [familyCount]map[string]Field {
	return [familyCount]map[string]Field{
		FamilyPipeline: {
			"pipeline": {Attributes: []string{"jeeves.pipeline.name", "pipeline.name", "pipeline_name"}, Default: "unknown"},
			"status":   {Attributes: []string{"pipeline.status"}, Fallback: fallbackSpanStatusName, Transform: transformLowerName},
			"reason":   {Attributes: []string{"termination.reason"}, Transform: transformSnakeName},
		},
		FamilyAgent: {
			"agent":  {Attributes: []string{"jeeves.agent.name", "gen_ai.agent.name"}, Default: "unknown"},
			"status": {Fallback: fallbackSpanStatusName},
		},
		FamilyLLM: {
			"provider":      {Attributes: []string{"jeeves.llm.provider", "gen_ai.provider.name", "gen_ai.system"}, Default: "unknown"},
			"model":         {Attributes: []string{"jeeves.llm.model", "gen_ai.response.model", "gen_ai.request.model"}, Default: "default"},
			"status":        {Fallback: fallbackSpanStatusName},
			"input_tokens":  {Attributes: []string{"jeeves.llm.tokens.prompt", "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"}},
			"output_tokens": {Attributes: []string{"jeeves.llm.tokens.completion", "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"}},
		},
		FamilyDB: {
			"operation": {
				Attributes: []string{"db.operation.name", "db.operation"}, Transform: transformLowerName,
				Then:    &Field{Attributes: []string{"db.query.summary"}, Transform: transformFirstWordLowerName},
				Default: "other",
			},
			"system": {Attributes: []string{"db.system.name", "db.system"}, Default: "other", Transform: transformLowerName},
			"status": {Fallback: fallbackSpanStatusName},
		},
		FamilyInterrupt: {
			"kind":   {Attributes: []string{"jeeves.interrupt.kind", "interrupt.kind"}, Fallback: fallbackSpanNameSuffixName, Default: "unknown", Transform: transformSnakeName},
			"status": {Attributes: []string{"jeeves.interrupt.status", "interrupt.status"}, Default: "unknown", Transform: transformLowerName},
		},
		FamilyHTTP: {
			"method": {Attributes: []string{"http.request.method", "http.method"}, Transform: transformHTTPMethodName, Default: otherHTTPMethod},
			// The route template when the server names one; else the request
			// path, with id-like segments folded, never a raw URL with a query.
			"endpoint": {
				Attributes: []string{"http.route"},
				Then:       &Field{Attributes: []string{"url.path", "http.target", "http.url", "url.full"}, Transform: transformURLPathName},
				Default:    "unknown",
			},
			"status": {Attributes: []string{"http.response.status_code", "http.status_code"}, Default: "unknown"},
		},
	}
}

// DefaultRules are the Jeeves rules, in evaluation order. The first matching
// rule wins, so one span feeds at most one family.
func DefaultRules() []Rule {
	return []Rule{
		{Name: "jeeves_pipeline", Family: "pipeline", SpanNames: []string{"pipeline.execute"}},
		{Name: "jeeves_agent", Family: "agent", SpanNames: []string{"agent.process"}},
		{Name: "jeeves_llm", Family: "llm", SpanNames: []string{"llm.provider.call"}},
		{
			// Later Python generation: agent.llm_call carries `agent` and
			// `model_role`, no provider. The role is the only model identity it has.
			Name: "jeeves_agent_llm_call", Family: "llm", SpanNames: []string{"agent.llm_call"},
			Fields: map[string]Field{
				"provider": {Attributes: []string{"jeeves.llm.provider", "gen_ai.provider.name", "gen_ai.system"}, Default: "unknown"},
				"model":    {Attributes: []string{"jeeves.llm.model", "gen_ai.response.model", "gen_ai.request.model", "model_role"}, Default: "default"},
			},
		},
		{
			// Later Python generation: one `agent.<name>` span per agent run.
			Name: "jeeves_agent_named", Family: "agent", SpanNames: []string{"agent.*"},
			ExcludeSpanNames: []string{"agent.llm_call", "agent.tool_execution", "agent.process"},
			Fields: map[string]Field{
				"agent": {Fallback: fallbackSpanNameSuffixName, Default: "unknown"},
			},
		},
		{
			Name: "genai_inference", Family: "llm",
			When: []Condition{{Attribute: "gen_ai.operation.name", Values: genAIInferenceOperations}},
		},
		{Name: "db_client", Family: "db", When: []Condition{{Attribute: "db.system.name"}}},
		{Name: "db_client_legacy", Family: "db", When: []Condition{{Attribute: "db.system"}}},
		// HTTP server spans (the gateway's), current semantic conventions and
		// the older http.method ones. Client spans are the caller's view of
		// the same request and are left out.
		{Name: "http_server", Family: "http", SpanKinds: []string{"server"}, When: []Condition{{Attribute: "http.request.method"}}},
		{Name: "http_server_legacy", Family: "http", SpanKinds: []string{"server"}, When: []Condition{{Attribute: "http.method"}}},
		// No interrupt rule by default: interrupts are counted from CommBus
		// events (the commbus receiver), their one source. A deployment
		// without the CommBus adds rules of family interrupt (see the README),
		// and must not run both, or each interrupt counts twice.
	}
}

// MergeRules applies configured rules to the defaults: a rule named like a
// default replaces it in place (or removes it when disabled); other rules are
// evaluated before the defaults, in configuration order.
func MergeRules(defaults, configured []Rule) []Rule {
	byName := make(map[string]int, len(defaults))
	for i, r := range defaults {
		byName[r.Name] = i
	}
	merged := make([]Rule, len(defaults))
	copy(merged, defaults)
	for i := range merged {
		merged[i].Origin = "default rule " + merged[i].Name
	}
	removed := make([]bool, len(defaults))
	var front []Rule
	for n, r := range configured {
		r.Origin = fmt.Sprintf("metrics.rules[%d]", n)
		if r.Name != "" {
			r.Origin += " (" + r.Name + ")"
		}
		if i, ok := byName[r.Name]; ok && r.Name != "" {
			if r.Disabled {
				removed[i] = true
				continue
			}
			merged[i] = r
			removed[i] = false
			continue
		}
		if !r.Disabled {
			front = append(front, r)
		}
	}
	out := front
	for i, r := range merged {
		if !removed[i] {
			out = append(out, r)
		}
	}
	return out
}
