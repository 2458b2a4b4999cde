// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestAppendSnake(t *testing.T) {
	for in, want := range map[string]string{
		"max_llm_calls_exceeded": "max_llm_calls_exceeded",
		"MAX_LLM_CALLS_EXCEEDED": "max_llm_calls_exceeded",
		"MaxLlmCallsExceeded":    "max_llm_calls_exceeded",
		"POLICY_VIOLATION":       "policy_violation",
		"PolicyViolation":        "policy_violation",
		"LLMFailedFatally":       "llm_failed_fatally",
		"toolFailedRecoverably":  "tool_failed_recoverably",
		"user-cancelled":         "user_cancelled",
		"  denied by policy ":    "denied_by_policy",
		"__A__B__":               "a_b",
		"Max3Retries":            "max3_retries",
		"":                       "",
		"résumé":                 "résumé",
	} {
		assert.Equal(t, want, string(appendSnake(nil, in)), in)
	}
}

func TestAppendFirstWordLowerAndLower(t *testing.T) {
	assert.Equal(t, "select", string(appendFirstWordLower(nil, "SELECT users")))
	assert.Equal(t, "insert", string(appendFirstWordLower(nil, "  INSERT\tINTO x")))
	assert.Empty(t, string(appendFirstWordLower(nil, "   ")))
	assert.Equal(t, "abc-Ü", string(appendLower(nil, "ABC-Ü")))
}

type span struct {
	name    string
	isError bool
	attrs   map[string]any
}

func classify(t *testing.T, c *Classifier, s span) (*Match, bool) {
	t.Helper()
	attrs := pcommon.NewMap()
	require.NoError(t, attrs.FromRaw(s.attrs))
	m := &Match{}
	ok := c.Classify(s.name, ptrace.SpanKindInternal, s.isError, attrs, m)
	return m, ok
}

func values(m *Match) []string {
	out := make([]string, m.Len())
	for i := range out {
		out[i] = string(m.Value(i))
	}
	return out
}

func TestDefaultRules(t *testing.T) {
	c, err := Compile(MergeRules(DefaultRules(), nil), nil)
	require.NoError(t, err)
	tests := []struct {
		name   string
		span   span
		family Family
		want   []string // label fields in order (numeric fields are empty)
		input  int64
		output int64
		tokens bool
	}{
		{"pipeline v1", span{"pipeline.execute", false, map[string]any{"jeeves.pipeline.name": "default", "pipeline.status": "Terminated", "termination.reason": "MAX_LOOP_EXCEEDED"}},
			FamilyPipeline, []string{"default", "terminated", "max_loop_exceeded"}, 0, 0, false},
		{"pipeline v2 error status", span{"pipeline.execute", true, map[string]any{"pipeline_name": "research"}},
			FamilyPipeline, []string{"research", "error", ""}, 0, 0, false},
		{"pipeline no name", span{"pipeline.execute", false, nil},
			FamilyPipeline, []string{"unknown", "success", ""}, 0, 0, false},
		{"agent.process", span{"agent.process", true, map[string]any{"jeeves.agent.name": "critic"}},
			FamilyAgent, []string{"critic", "error"}, 0, 0, false},
		{"agent.<name>", span{"agent.planner", false, nil},
			FamilyAgent, []string{"planner", "success"}, 0, 0, false},
		{"agent. empty suffix", span{"agent.", false, nil},
			FamilyAgent, []string{"unknown", "success"}, 0, 0, false},
		{"agent.tool_execution is not an agent", span{"agent.tool_execution", false, map[string]any{"agent": "planner"}},
			FamilyNone, nil, 0, 0, false},
		{"llm.provider.call", span{"llm.provider.call", false, map[string]any{"jeeves.llm.provider": "openai", "jeeves.llm.model": "gpt-4o", "jeeves.llm.tokens.prompt": 12, "jeeves.llm.tokens.completion": 3}},
			FamilyLLM, []string{"openai", "gpt-4o", "success", "", ""}, 12, 3, true},
		{"llm.provider.call model unset", span{"llm.provider.call", true, map[string]any{"jeeves.llm.provider": "mock"}},
			FamilyLLM, []string{"mock", "default", "error", "", ""}, 0, 0, false},
		{"agent.llm_call", span{"agent.llm_call", false, map[string]any{"agent": "planner", "model_role": "primary"}},
			FamilyLLM, []string{"unknown", "primary", "success", "", ""}, 0, 0, false},
		{"genai chat", span{"chat x", false, map[string]any{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.system": "ignored", "gen_ai.request.model": "req", "gen_ai.response.model": "resp", "gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 7}},
			FamilyLLM, []string{"anthropic", "resp", "success", "", ""}, 5, 7, true},
		{"genai deprecated keys", span{"x", false, map[string]any{"gen_ai.operation.name": "text_completion", "gen_ai.system": "openai", "gen_ai.request.model": "req", "gen_ai.usage.prompt_tokens": 9, "gen_ai.usage.completion_tokens": 2}},
			FamilyLLM, []string{"openai", "req", "success", "", ""}, 9, 2, true},
		{"genai generate_content", span{"x", false, map[string]any{"gen_ai.operation.name": "generate_content", "gen_ai.provider.name": "gcp.gemini"}},
			FamilyLLM, []string{"gcp.gemini", "default", "success", "", ""}, 0, 0, false},
		{"genai invoke_agent never counts", span{"invoke_agent", false, map[string]any{"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 999}},
			FamilyNone, nil, 0, 0, false},
		{"genai execute_tool never counts", span{"execute_tool", false, map[string]any{"gen_ai.operation.name": "execute_tool"}},
			FamilyNone, nil, 0, 0, false},
		{"genai create_agent never counts", span{"create_agent", false, map[string]any{"gen_ai.operation.name": "create_agent"}},
			FamilyNone, nil, 0, 0, false},
		{"db new keys", span{"q", false, map[string]any{"db.system.name": "postgresql", "db.operation.name": "SELECT", "db.operation": "ignored"}},
			FamilyDB, []string{"select", "postgresql", "success"}, 0, 0, false},
		{"db legacy keys", span{"q", false, map[string]any{"db.system": "mysql", "db.operation": "Delete"}},
			FamilyDB, []string{"delete", "mysql", "success"}, 0, 0, false},
		{"db summary", span{"q", false, map[string]any{"db.system.name": "sqlite", "db.query.summary": "UPDATE users"}},
			FamilyDB, []string{"update", "sqlite", "success"}, 0, 0, false},
		{"db operation with a space stays whole", span{"q", false, map[string]any{"db.system.name": "mssql", "db.operation.name": "BULK INSERT", "db.query.summary": "x y"}},
			FamilyDB, []string{"bulk insert", "mssql", "success"}, 0, 0, false},
		{"db empty operation falls to summary", span{"q", false, map[string]any{"db.system.name": "mssql", "db.operation.name": "", "db.query.summary": "Delete t"}},
			FamilyDB, []string{"delete", "mssql", "success"}, 0, 0, false},
		{"empty first choice falls through", span{"llm.provider.call", false, map[string]any{"jeeves.llm.provider": "", "jeeves.llm.model": "m", "jeeves.llm.tokens.prompt": 1, "jeeves.llm.tokens.completion": 2, "gen_ai.provider.name": "late"}},
			FamilyLLM, []string{"late", "m", "success", "", ""}, 1, 2, true},
		{"non-scalar first choice falls through", span{"llm.provider.call", false, map[string]any{"jeeves.llm.provider": map[string]any{"x": 1}, "jeeves.llm.model": "m", "jeeves.llm.tokens.prompt": 1, "jeeves.llm.tokens.completion": 2, "gen_ai.system": "sys"}},
			FamilyLLM, []string{"sys", "m", "success", "", ""}, 1, 2, true},
		{"db nothing", span{"q", false, map[string]any{"db.system.name": "redis"}},
			FamilyDB, []string{"other", "redis", "success"}, 0, 0, false},
		{"db error status", span{"q", true, map[string]any{"db.system": "PostgreSQL", "db.operation": "insert"}},
			FamilyDB, []string{"insert", "postgresql", "error"}, 0, 0, false},
		{"pipeline.name of the Go instrumentation", span{"pipeline.execute", false, map[string]any{"pipeline.name": "ingest", "request.id": "r1"}},
			FamilyPipeline, []string{"ingest", "success", ""}, 0, 0, false},
		// Interrupts come from the CommBus by default: spans that look like
		// interrupts feed no family unless an operator adds a rule.
		{"interrupt span is not counted by default", span{"interrupt.agent_review", false, nil},
			FamilyNone, nil, 0, 0, false},
		{"interrupt attribute is not counted by default", span{"commbus.event", false, map[string]any{"jeeves.interrupt.kind": "ResourceExhausted", "jeeves.interrupt.status": "EXPIRED"}},
			FamilyNone, nil, 0, 0, false},
		{"http span", span{"GET /health", false, map[string]any{"http.route": "/health"}},
			FamilyNone, nil, 0, 0, false},
		{"int label value", span{"pipeline.execute", false, map[string]any{"jeeves.pipeline.name": 42}},
			FamilyPipeline, []string{"42", "success", ""}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := classify(t, c, tt.span)
			assert.Equal(t, tt.family != FamilyNone, ok)
			assert.Equal(t, tt.family, m.Family)
			if tt.family == FamilyNone {
				assert.Equal(t, NoRule, m.Rule)
				assert.Zero(t, m.AttrFields)
				assert.Zero(t, m.Len())
				return
			}
			assert.Equal(t, tt.want, values(m))
			if tt.family == FamilyLLM {
				in, inOK := m.Num(LLMInputTokens)
				out, outOK := m.Num(LLMOutputTokens)
				assert.Equal(t, tt.tokens, inOK)
				assert.Equal(t, tt.tokens, outOK)
				assert.Equal(t, tt.input, in)
				assert.Equal(t, tt.output, out)
			}
		})
	}
}

func TestOperatorRulesAndDimensions(t *testing.T) {
	configured := []Rule{
		// A new span-name rule, evaluated before the defaults.
		{Name: "workflow", Family: "pipeline", SpanNames: []string{"workflow.run"},
			Fields: map[string]Field{"pipeline": {Attributes: []string{"workflow.name"}, Default: "wf"}}},
		// Switch off a default rule.
		{Name: "db_client_legacy", Disabled: true},
		// Opt in to interrupts from spans (there is no default interrupt rule).
		{Name: "interrupt_span", Family: "interrupt", SpanNames: []string{"hitl.*"}},
	}
	dims := map[string][]Dimension{"pipeline": {{Name: "env", Attributes: []string{"deployment.environment"}, Default: "none"}}}
	c, err := Compile(MergeRules(DefaultRules(), configured), dims)
	require.NoError(t, err)
	assert.Equal(t, []string{"env"}, c.DimensionNames(FamilyPipeline))

	m, ok := classify(t, c, span{"workflow.run", false, map[string]any{"workflow.name": "nightly", "deployment.environment": "prod"}})
	require.True(t, ok)
	assert.Equal(t, FamilyPipeline, m.Family)
	assert.Equal(t, []string{"nightly", "success", "", "prod"}, values(m))

	m, ok = classify(t, c, span{"pipeline.execute", false, map[string]any{"jeeves.pipeline.name": "default"}})
	require.True(t, ok)
	assert.Equal(t, []string{"default", "success", "", "none"}, values(m))

	_, ok = classify(t, c, span{"q", false, map[string]any{"db.system": "mysql"}})
	assert.False(t, ok, "disabled default rule")
	_, ok = classify(t, c, span{"interrupt.clarification", false, nil})
	assert.False(t, ok, "no default interrupt rule")
	m, ok = classify(t, c, span{"hitl.confirmation", false, nil})
	require.True(t, ok)
	assert.Equal(t, []string{"confirmation", "unknown"}, values(m))
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile(MergeRules(DefaultRules(), []Rule{
		{Name: "bad_family", Family: "queue", SpanNames: []string{"x"}},
		{Name: "matches_all", Family: "db"},
		{Name: "bad_field", Family: "db", SpanNames: []string{"x"}, Fields: map[string]Field{"table": {}}},
		{Name: "bad_fallback", Family: "agent", SpanNames: []string{"x"}, Fields: map[string]Field{"agent": {Fallback: "span_kind"}}},
		{Name: "bad_transform", Family: "agent", SpanNames: []string{"x"}, Fields: map[string]Field{"agent": {Transform: "upper"}}},
		{Name: "bad_when", Family: "agent", When: []Condition{{}}},
	}), map[string][]Dimension{
		"queue":    {{Name: "x", Attributes: []string{"y"}}},
		"pipeline": {{Name: "status", Attributes: []string{"y"}}, {Name: "", Attributes: []string{"y"}}, {Name: "env"}},
	})
	require.Error(t, err)
	assert.Equal(t, `metrics.families.pipeline.dimensions[0].name "status" is already a label of the family
metrics.families.pipeline.dimensions[1].name must not be empty
metrics.families.pipeline.dimensions[2].attributes must not be empty
metrics.families: unknown family "queue", want one of pipeline, agent, llm, db, interrupt, http
metrics.rules[0] (bad_family).family must be one of pipeline, agent, llm, db, interrupt, http, got "queue"
metrics.rules[1] (matches_all) needs span_names or when, otherwise it matches every span
metrics.rules[2] (bad_field).fields: unknown field "table" for family db, want one of operation, system, status
metrics.rules[3] (bad_fallback).fields.agent: fallback must be one of span_status, span_name_suffix or empty, got "span_kind"
metrics.rules[4] (bad_transform).fields.agent: transform must be one of lower, snake, first_word_lower, http_method, url_path or empty, got "upper"
metrics.rules[5] (bad_when).when[0].attribute must not be empty`, err.Error())
}

func TestClassifyDoesNotAllocate(t *testing.T) {
	c, err := Compile(MergeRules(DefaultRules(), nil), nil)
	require.NoError(t, err)
	attrs := pcommon.NewMap()
	require.NoError(t, attrs.FromRaw(map[string]any{
		"jeeves.llm.provider": "openai", "jeeves.llm.model": "gpt-4o", "jeeves.agent.name": "planner",
		"jeeves.request.id": "r1", "jeeves.llm.tokens.prompt": 12, "jeeves.llm.tokens.completion": 3,
	}))
	m := &Match{}
	c.Classify("llm.provider.call", ptrace.SpanKindInternal, false, attrs, m) // grow buffers
	allocs := testing.AllocsPerRun(100, func() { c.Classify("llm.provider.call", ptrace.SpanKindInternal, false, attrs, m) })
	assert.Zero(t, allocs)
}

func TestGenerationWrap(t *testing.T) {
	c, err := Compile(DefaultRules(), nil)
	require.NoError(t, err)
	attrs := pcommon.NewMap()
	attrs.PutStr("jeeves.pipeline.name", "a")
	m := &Match{}
	c.seen.cur = ^uint32(0) - 1
	c.scanned.cur = ^uint32(0) - 1
	require.True(t, c.Classify("pipeline.execute", ptrace.SpanKindInternal, false, attrs, m))
	// The wrap to 0 must forget attributes of earlier spans.
	require.True(t, c.Classify("pipeline.execute", ptrace.SpanKindInternal, false, pcommon.NewMap(), m))
	assert.Equal(t, "unknown", string(m.Value(PipelineName)))
	require.True(t, c.Classify("pipeline.execute", ptrace.SpanKindInternal, false, pcommon.NewMap(), m))
	assert.Equal(t, "unknown", string(m.Value(PipelineName)))
}

// FuzzClassify feeds arbitrary span names and attribute values through the
// default rules: Classify must never panic and label values must stay within
// the bytes it was given plus the fixed defaults.
func FuzzClassify(f *testing.F) {
	f.Add("pipeline.execute", "termination.reason", "MAX_LLM_CALLS_EXCEEDED", false)
	f.Add("agent.", "jeeves.agent.name", "", true)
	f.Add("interrupt.", "jeeves.interrupt.kind", "__", false)
	f.Add("q", "db.query.summary", "  ", false)
	c, err := Compile(DefaultRules(), nil)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, name, key, value string, isError bool) {
		attrs := pcommon.NewMap()
		attrs.PutStr(key, value)
		attrs.PutStr("db.system.name", "x")
		m := &Match{}
		if c.Classify(name, ptrace.SpanKindInternal, isError, attrs, m) {
			for i := 0; i < m.Len(); i++ {
				if len(m.Value(i)) > len(name)+len(value)+len("success") {
					t.Fatalf("field %d grew: %q", i, m.Value(i))
				}
			}
		}
	})
}

func TestAttrFields(t *testing.T) {
	c, err := Compile(MergeRules(DefaultRules(), nil), map[string][]Dimension{"agent": {{Name: "env", Attributes: []string{"deployment.environment"}}}})
	require.NoError(t, err)
	m, ok := classify(t, c, span{"llm.provider.call", false, map[string]any{"jeeves.llm.provider": "openai"}})
	require.True(t, ok)
	assert.Equal(t, uint32(1<<LLMProvider|1<<LLMModel), m.AttrFields, "status comes from the span status, tokens are not labels")
	m, ok = classify(t, c, span{"agent.planner", false, nil})
	require.True(t, ok)
	assert.Equal(t, uint32(1<<2), m.AttrFields, "agent from the span name; only the env dimension reads attributes")
	m, ok = classify(t, c, span{"pipeline.execute", false, nil})
	require.True(t, ok)
	assert.Equal(t, uint32(1<<PipelineName|1<<PipelineStatus|1<<PipelineReason), m.AttrFields)
	assert.Equal(t, 0, m.Rule)
}

// TestClassifyRepeatedKey: OTLP does not forbid a repeated attribute key. The
// first occurrence wins (as pcommon.Map.Get), and a repeat must not count as
// another settled field: it used to end the scan before jeeves.llm.model was
// read, so the model fell to its default.
func TestClassifyRepeatedKey(t *testing.T) {
	js := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"llm.provider.call","attributes":[
		{"key":"jeeves.llm.provider","value":{"stringValue":"openai"}},
		{"key":"jeeves.llm.provider","value":{"stringValue":"other"}},
		{"key":"jeeves.llm.tokens.prompt","value":{"intValue":"3"}},
		{"key":"jeeves.llm.tokens.completion","value":{"intValue":"4"}},
		{"key":"jeeves.llm.model","value":{"stringValue":"gpt-4o"}}]}]}]}]}`
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(js))
	require.NoError(t, err)
	attrs := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
	require.Equal(t, 5, attrs.Len(), "the repeated key survives decoding")
	c, err := Compile(DefaultRules(), nil)
	require.NoError(t, err)
	m := &Match{}
	require.True(t, c.Classify("llm.provider.call", ptrace.SpanKindInternal, false, attrs, m))
	assert.Equal(t, FamilyLLM, m.Family)
	assert.Equal(t, "openai", m.Value(LLMProvider))
	assert.Equal(t, "gpt-4o", m.Value(LLMModel))
	in, _ := m.Num(LLMInputTokens)
	out, _ := m.Num(LLMOutputTokens)
	assert.Equal(t, []int64{3, 4}, []int64{in, out})
}

// An attribute key the scan cannot match (MaxAttributeKeyBytes or longer) is a configuration error,
// not a rule or dimension that silently never applies.
func TestCompileRejectsOverlongAttributeKeys(t *testing.T) {
	long := strings.Repeat("k", MaxAttributeKeyBytes)
	_, err := Compile(MergeRules(DefaultRules(), []Rule{
		{Name: "long_when", Family: "agent", SpanNames: []string{"x"}, When: []Condition{{Attribute: long}}},
	}), map[string][]Dimension{"pipeline": {{Name: "env", Attributes: []string{long + "x"}}}})
	require.Error(t, err)
	assert.Equal(t, 2, strings.Count(err.Error(), "keys must be shorter than 256 bytes"), err.Error())

	_, err = Compile(MergeRules(DefaultRules(), nil), map[string][]Dimension{
		"pipeline": {{Name: "env", Attributes: []string{long[:MaxAttributeKeyBytes-1]}}}})
	assert.NoError(t, err, "255 bytes is allowed")
}

// Messages of configuration errors the other tests do not reach; the
// connector's config tests and operators' logs rely on them word for word.
func TestCompileErrorMessages(t *testing.T) {
	tooMany := make([]Dimension, 12)
	for i := range tooMany {
		tooMany[i] = Dimension{Name: "d" + string(rune('a'+i)), Attributes: []string{"x"}}
	}
	_, err := Compile(MergeRules(DefaultRules(), []Rule{
		{Name: "bad_then", Family: "db", SpanNames: []string{"x"}, Fields: map[string]Field{
			"operation": {Attributes: []string{"a"}, Then: &Field{Transform: "upper"}},
		}},
	}), map[string][]Dimension{"agent": tooMany})
	require.Error(t, err)
	assert.Equal(t, `metrics.families.agent.dimensions: at most 11 dimensions, got 12
metrics.rules[0] (bad_then).fields.operation: then: transform must be one of lower, snake, first_word_lower, http_method, url_path or empty, got "upper"`, err.Error())

	_, err = Compile([]Rule{{Family: "agent"}}, nil)
	require.Error(t, err)
	assert.Equal(t, "rules[0] needs span_names or when, otherwise it matches every span", err.Error(), "a rule MergeRules did not name")
}

// Unknown fields of one rule are reported in name order, so the message does
// not change from one start to the next.
func TestCompileUnknownFieldsInOrder(t *testing.T) {
	_, err := Compile([]Rule{{Name: "r", Family: "db", SpanNames: []string{"x"}, Origin: "r",
		Fields: map[string]Field{"zeta": {}, "alpha": {}, "mid": {}}}}, nil)
	require.Error(t, err)
	assert.Equal(t, `r.fields: unknown field "alpha" for family db, want one of operation, system, status
r.fields: unknown field "mid" for family db, want one of operation, system, status
r.fields: unknown field "zeta" for family db, want one of operation, system, status`, err.Error())
}

// A span name's first byte rules most rules out before any name comparison;
// rules that may match a name starting with anything must still be tried.
func TestSpanNameFirstByte(t *testing.T) {
	c, err := Compile([]Rule{
		{Name: "empty_name", Family: "agent", SpanNames: []string{"", "zz"}},
		{Name: "star", Family: "db", SpanNames: []string{"*"}, ExcludeSpanNames: []string{"skip*"}},
	}, nil)
	require.NoError(t, err)
	for name, want := range map[string]Family{"": FamilyAgent, "zz": FamilyAgent, "z": FamilyDB, "abc": FamilyDB, "skip.me": FamilyNone} {
		m, _ := classify(t, c, span{name: name})
		assert.Equal(t, want, m.Family, "%q", name)
	}

	c, err = Compile([]Rule{{Name: "prefix", Family: "agent", SpanNames: []string{"agent.*", "run"}}}, nil)
	require.NoError(t, err)
	for name, want := range map[string]Family{"": FamilyNone, "agent.x": FamilyAgent, "run": FamilyAgent, "ru": FamilyNone, "b": FamilyNone} {
		m, _ := classify(t, c, span{name: name})
		assert.Equal(t, want, m.Family, "%q", name)
	}
}

// Keys that share a probe hash (same length, first, middle and last byte)
// stay apart, an absent key with that hash is not found, and a key added
// twice is one entry, primary if either addition was.
func TestKeySet(t *testing.T) {
	require.Equal(t, keyHash("ab.cd"), keyHash("ax.yd"), "the test needs a probe hash collision")
	ks := newKeySet(8)
	assert.True(t, ks.empty())
	ks.add("ab.cd", 1, false)
	ks.add("ax.yd", 2, true)
	ks.add("ab.cd", 1, true)
	ks.add("ax.yd", 2, false)
	ks.add("", 3, false)
	assert.Len(t, ks.entries, 3)
	assert.Equal(t, 2, ks.primaries)
	for key, slot := range map[string]uint16{"ab.cd": 1, "ax.yd": 2, "": 3} {
		assert.True(t, ks.mayHoldLen(len(key)), key)
		assert.True(t, ks.mayHoldHash(keyHash(key)), key)
		e := ks.find(key, keyHash(key))
		require.NotNil(t, e, key)
		assert.Equal(t, slot, e.slot, key)
		assert.Equal(t, key != "", e.primary, key)
	}
	assert.Nil(t, ks.find("az.zd", keyHash("az.zd")))
	assert.False(t, ks.mayHoldLen(4))
	assert.False(t, ks.mayHoldLen(MaxAttributeKeyBytes))
}

// The bounds and names in limits.go agree with the families they describe.
func TestFamilyBounds(t *testing.T) {
	var names []string
	for f := FamilyPipeline; f < familyCount; f++ {
		assert.LessOrEqual(t, len(familyFields[f]), maxFixedFields, f.String())
		assert.NotContains(t, familyFields[f], tokensTypeLabel, f.String())
		names = append(names, f.String())
	}
	assert.Equal(t, familyList, strings.Join(names, ", "))
	assert.Equal(t, maxFixedFields, len(familyFields[FamilyLLM]))
}

func TestHTTPServerSpans(t *testing.T) {
	c, err := Compile(MergeRules(DefaultRules(), nil), nil)
	require.NoError(t, err)
	tests := []struct {
		name  string
		kind  ptrace.SpanKind
		attrs map[string]any
		want  []string // method, endpoint, status; nil when no family
	}{
		{"current semconv", ptrace.SpanKindServer, map[string]any{"http.request.method": "GET", "http.route": "/v1/runs/{run_id}", "url.path": "/v1/runs/42", "http.response.status_code": 200},
			[]string{"GET", "/v1/runs/{run_id}", "200"}},
		{"route beats the path", ptrace.SpanKindServer, map[string]any{"http.request.method": "post", "http.route": "/chat", "http.response.status_code": int64(503)},
			[]string{"POST", "/chat", "503"}},
		{"no route: path with ids folded", ptrace.SpanKindServer, map[string]any{"http.request.method": "GET", "url.path": "/v1/runs/123/steps/0f8fad5b-d9cb-469f-a165-70867728950e", "http.response.status_code": 404},
			[]string{"GET", "/v1/runs/{id}/steps/{id}", "404"}},
		{"old semconv target with a query", ptrace.SpanKindServer, map[string]any{"http.method": "DELETE", "http.target": "/v1/sessions/987?force=true", "http.status_code": 204},
			[]string{"DELETE", "/v1/sessions/{id}", "204"}},
		{"old semconv full url", ptrace.SpanKindServer, map[string]any{"http.method": "GET", "http.url": "https://gw.example:8443/health#x", "http.status_code": "200"},
			[]string{"GET", "/health", "200"}},
		{"made-up method and no status", ptrace.SpanKindServer, map[string]any{"http.request.method": "BREW", "http.route": "/pot"},
			[]string{"_OTHER", "/pot", "unknown"}},
		{"nothing about the endpoint", ptrace.SpanKindServer, map[string]any{"http.request.method": "GET"},
			[]string{"GET", "unknown", "unknown"}},
		{"client spans are the caller's view", ptrace.SpanKindClient, map[string]any{"http.request.method": "GET", "http.route": "/x"}, nil},
		{"internal spans are not requests", ptrace.SpanKindInternal, map[string]any{"http.method": "GET", "http.route": "/x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := pcommon.NewMap()
			require.NoError(t, attrs.FromRaw(tt.attrs))
			m := &Match{}
			ok := c.Classify("HTTP", tt.kind, false, attrs, m)
			if tt.want == nil {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, FamilyHTTP, m.Family)
			assert.Equal(t, tt.want, values(m))
		})
	}
}

func TestURLPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "/",
		"/":                                   "/",
		"runs/7":                              "/runs/{id}",
		"http://h":                            "/",
		"https://h:1/a/b/?q=1":                "/a/b/",
		"/a//b":                               "/a//b",
		"/v2/users/abc":                       "/v2/users/abc",
		"/t/4bf92f3577b34da6a3ce929d0e0e4736": "/t/{id}",
		"/" + strings.Repeat("z", 300):        "/" + strings.Repeat("z", maxURLPathBytes-1),
	} {
		assert.Equal(t, want, string(appendURLPath(nil, in)), in)
	}
}

func TestSpanKindsErrors(t *testing.T) {
	_, err := Compile([]Rule{{Name: "k", Family: "http", SpanKinds: []string{"server", "SERVER"}, When: []Condition{{Attribute: "x"}}}}, nil)
	require.Error(t, err)
	assert.Equal(t, `rules[0].span_kinds[1] must be one of server, client, internal, producer, consumer, got "SERVER"`, err.Error())
}

// FuzzURLPath: whatever the target, the endpoint is a bounded path without
// query or fragment.
func FuzzURLPath(f *testing.F) {
	f.Add("https://h/a/1?x#y")
	f.Add("/runs/123/x")
	f.Add("://")
	f.Fuzz(func(t *testing.T, in string) {
		out := string(appendURLPath(nil, in))
		if out == "" || out[0] != '/' || len(out) > maxURLPathBytes || strings.ContainsAny(out, "?#") {
			t.Fatalf("appendURLPath(%q) = %q", in, out)
		}
	})
}
