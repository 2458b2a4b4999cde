// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

// Package rules decides which metric family a span feeds and extracts the
// family's label values from the span, following rules that are compiled once
// from configuration. Classify does no allocation once its buffers have grown.
package rules // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"

// Family is one group of Jeeves metrics that share a label extraction.
type Family uint8

const (
	// FamilyNone means that no rule matched the span.
	FamilyNone Family = iota
	FamilyPipeline
	FamilyAgent
	FamilyLLM
	FamilyDB
	FamilyInterrupt
	FamilyHTTP
	familyCount
)

// familyNames maps configuration names to families.
var familyNames = map[string]Family{
	"pipeline":  FamilyPipeline,
	"agent":     FamilyAgent,
	"llm":       FamilyLLM,
	"db":        FamilyDB,
	"interrupt": FamilyInterrupt,
	"http":      FamilyHTTP,
}

// String returns the configuration name of the family.
func (f Family) String() string {
	for name, v := range familyNames {
		if v == f {
			return name
		}
	}
	return "none"
}

// Field indexes of each family. Extra dimensions follow the fixed fields.
const (
	PipelineName   = 0
	PipelineStatus = 1
	PipelineReason = 2

	AgentName   = 0
	AgentStatus = 1

	LLMProvider     = 0
	LLMModel        = 1
	LLMStatus       = 2
	LLMInputTokens  = 3
	LLMOutputTokens = 4

	DBOperation = 0
	DBSystem    = 1
	DBStatus    = 2

	InterruptKind   = 0
	InterruptStatus = 1

	HTTPMethod   = 0
	HTTPEndpoint = 1
	HTTPStatus   = 2
)

// familyFields lists the fixed field names of each family, in index order.
var familyFields = [familyCount][]string{
	FamilyPipeline:  {"pipeline", "status", "reason"},
	FamilyAgent:     {"agent", "status"},
	FamilyLLM:       {"provider", "model", "status", "input_tokens", "output_tokens"},
	FamilyDB:        {"operation", "system", "status"},
	FamilyInterrupt: {"kind", "status"},
	FamilyHTTP:      {"method", "endpoint", "status"},
}

// numericFields marks fields whose value is a number to add, not a label.
var numericFields = map[string]bool{"input_tokens": true, "output_tokens": true}

// Fields returns the fixed field names of a family in index order.
func Fields(f Family) []string { return familyFields[f] }

// Field says where a label value comes from.
type Field struct {
	// Attributes are span attribute keys tried in order; the first one present
	// with a non-empty value wins.
	Attributes []string `mapstructure:"attributes"`
	// Fallback is used when no attribute is present: "span_status" ("error" when
	// the span status is Error, else "success"), "span_name_suffix" (the part of
	// the span name after the matched `prefix*`), or empty for none.
	Fallback string `mapstructure:"fallback"`
	// Default is the value when neither attributes nor fallback give one. An
	// empty default on the pipeline reason means "no termination to count".
	Default string `mapstructure:"default"`
	// Transform normalises attribute values: "lower", "snake" (SCREAMING_SNAKE,
	// PascalCase, camelCase, kebab-case and dotted names to lower_snake) or
	// "first_word_lower", "http_method" (a known HTTP method upper-cased, any
	// other "_OTHER") or "url_path" (the path of a URL or request target,
	// without scheme, host, query or fragment, with id-like segments — all
	// digits, or hexadecimal and dashes of 16 bytes or more — written as
	// "{id}"); empty keeps them.
	Transform string `mapstructure:"transform"`
	// Then is tried when no attribute is present, before Fallback and Default:
	// a second source with its own attributes and transform.
	Then *Field `mapstructure:"then"`
	// prevent unkeyed literal initialization
	_ struct{}
}

// Condition holds when the attribute is present and, if Values is not empty,
// its string value is one of Values.
type Condition struct {
	// Attribute is the span attribute key that must be present. Required.
	Attribute string `mapstructure:"attribute"`
	// Values, when not empty, are the string values the attribute may have;
	// empty accepts any value.
	Values []string `mapstructure:"values"`
	// prevent unkeyed literal initialization
	_ struct{}
}

// Rule sends the spans it matches to one family.
type Rule struct {
	// Name identifies the rule; a configured rule with the name of a default rule
	// replaces it.
	Name string `mapstructure:"name"`
	// Disabled removes the rule (useful to switch off a default rule by name).
	Disabled bool `mapstructure:"disabled"`
	// Family is pipeline, agent, llm, db, interrupt or http.
	Family string `mapstructure:"family"`
	// SpanKinds, when not empty, are the span kinds the rule matches:
	// server, client, internal, producer or consumer.
	SpanKinds []string `mapstructure:"span_kinds"`
	// SpanNames are exact span names, or prefixes when they end with "*". Empty
	// matches every span name.
	SpanNames []string `mapstructure:"span_names"`
	// ExcludeSpanNames are exact names or "prefix*" that never match.
	ExcludeSpanNames []string `mapstructure:"exclude_span_names"`
	// When lists conditions that must all hold.
	When []Condition `mapstructure:"when"`
	// Fields overrides the family's default field sources for this rule.
	Fields map[string]Field `mapstructure:"fields"`
	// Origin names the rule in error messages (set by MergeRules).
	Origin string `mapstructure:"-"`
	// prevent unkeyed literal initialization
	_ struct{}
}

// Dimension is an extra label added to every metric of a family.
type Dimension struct {
	// Name is the label name; required, and not one of the family's own labels.
	Name string `mapstructure:"name"`
	// Attributes are span attribute keys tried in order; the first one present
	// with a non-empty value gives the label value. At least one is required.
	Attributes []string `mapstructure:"attributes"`
	// Default is the value when no attribute gives one; empty (the default)
	// is an absent label in Prometheus.
	Default string `mapstructure:"default"`
	// prevent unkeyed literal initialization
	_ struct{}
}
