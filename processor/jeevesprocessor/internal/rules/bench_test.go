// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package rules

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

type benchSpan struct {
	name    string
	isError bool
	attrs   pcommon.Map
}

// newBenchSpan builds a span from key, value pairs, kept in the order given:
// the order decides when a scan may end early, so it must not vary by run.
func newBenchSpan(tb testing.TB, name string, isError bool, kv ...any) benchSpan {
	tb.Helper()
	require.Zero(tb, len(kv)%2, "key, value pairs")
	m := pcommon.NewMap()
	for i := 0; i < len(kv); i += 2 {
		require.NoError(tb, m.PutEmpty(kv[i].(string)).FromRaw(kv[i+1]))
	}
	return benchSpan{name: name, isError: isError, attrs: m}
}

// jeevesRequestSpans returns the spans of one Jeeves request as the runtime
// emits them: an HTTP root, the pipeline, one agent span and one LLM call per
// agent, a GenAI client call, a later-generation agent span, an interrupt, an
// outgoing HTTP call that no rule matches, and database calls.
func jeevesRequestSpans(tb testing.TB) []benchSpan {
	tb.Helper()
	spans := []benchSpan{
		newBenchSpan(tb, "POST /api/v1/chat", false,
			"http.request.method", "POST", "http.route", "/api/v1/chat", "http.response.status_code", 200),
		newBenchSpan(tb, "pipeline.execute", true,
			"jeeves.pipeline.name", "default", "jeeves.request.id", "req-1", "jeeves.envelope.id", "env-1",
			"pipeline.mode", "sequential", "pipeline.duration_ms", 2400,
			"pipeline.status", "terminated", "termination.reason", "MAX_LLM_CALLS_EXCEEDED"),
	}
	for i, agent := range []string{"perception", "intent", "planner", "traverser", "synthesizer", "critic", "integration"} {
		spans = append(spans,
			newBenchSpan(tb, "agent.process", false,
				"jeeves.agent.name", agent, "jeeves.request.id", "req-1", "jeeves.llm.calls", 1, "duration_ms", 300),
			newBenchSpan(tb, "llm.provider.call", false,
				"jeeves.llm.provider", "openai", "jeeves.llm.model", "gpt-4o", "jeeves.agent.name", agent,
				"jeeves.request.id", "req-1", "jeeves.llm.tokens.prompt", 100+i, "jeeves.llm.tokens.completion", 20+i,
				"jeeves.llm.tokens.total", 120+2*i, "jeeves.llm.cost_usd", 0.001, "jeeves.llm.latency_ms", 250))
	}
	spans = append(spans,
		newBenchSpan(tb, "chat claude-sonnet", false,
			"gen_ai.operation.name", "chat", "gen_ai.provider.name", "anthropic",
			"gen_ai.request.model", "claude-sonnet", "gen_ai.response.model", "claude-sonnet-20250514",
			"gen_ai.usage.input_tokens", 512, "gen_ai.usage.output_tokens", 64),
		newBenchSpan(tb, "agent.planner", false, "agent", "planner", "jeeves.request.id", "req-1"),
		newBenchSpan(tb, "interrupt.clarification", false,
			"jeeves.interrupt.kind", "Clarification", "jeeves.interrupt.status", "PENDING"),
		newBenchSpan(tb, "GET", false,
			"http.request.method", "GET", "url.full", "https://example.com/v1/search", "server.address", "example.com",
			"server.port", 443, "http.response.status_code", 200, "network.protocol.version", "1.1"),
	)
	for _, op := range []string{"SELECT", "INSERT", "UPDATE"} {
		spans = append(spans, newBenchSpan(tb, op+" jeeves.sessions", false,
			"db.system.name", "postgresql", "db.operation.name", op, "db.namespace", "jeeves",
			"db.query.summary", op+" sessions", "server.address", "127.0.0.1"))
	}
	return spans
}

// unmatchedSpans returns spans with many attributes that no default rule
// matches: the cost of ruling out every span of a service that is not Jeeves.
func unmatchedSpans(tb testing.TB) []benchSpan {
	tb.Helper()
	var spans []benchSpan
	for i := range 8 {
		spans = append(spans, newBenchSpan(tb, "GET /items/{id}", false,
			"http.request.method", "GET", "http.route", "/items/{id}", "http.response.status_code", 200,
			"url.scheme", "https", "url.path", "/items/"+strconv.Itoa(i), "server.address", "shop.example",
			"server.port", 443, "client.address", "10.0.0.7", "user_agent.original", "curl/8.5.0",
			"network.protocol.version", "2", "thread.id", i, "code.function.name", "handle"))
	}
	return spans
}

// BenchmarkClassify measures Classify with the default rules, per span, once
// the Match buffers have grown: the spans of a whole Jeeves request (every
// family, and spans no rule matches), and spans of another service that no
// rule matches. Neither may allocate.
func BenchmarkClassify(b *testing.B) {
	c, err := Compile(MergeRules(DefaultRules(), nil), nil)
	require.NoError(b, err)
	for _, bc := range []struct {
		name  string
		spans []benchSpan
	}{
		{"spans=jeeves_request", jeevesRequestSpans(b)},
		{"spans=unmatched", unmatchedSpans(b)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := &Match{}
			for _, s := range bc.spans { // grow the buffers
				c.Classify(s.name, ptrace.SpanKindInternal, s.isError, s.attrs, m)
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, s := range bc.spans {
					c.Classify(s.name, ptrace.SpanKindInternal, s.isError, s.attrs, m)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bc.spans)), "ns/span")
		})
	}
}
