// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"encoding/binary"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var agentNames = []string{"perception", "intent", "planner", "traverser", "synthesizer", "critic", "integration"}

// jeevesBatch builds a realistic Jeeves batch shaped like jeeves-loadgen
// traffic: per trace an HTTP server root on the gateway, pipeline.execute on
// the orchestrator with one agent.process per reference agent, each with an
// llm.provider.call, plus GenAI chat spans on an LLM gateway and DB client
// spans. traces traces, spread over four services.
func jeevesBatch(traces int) ptrace.Traces {
	td := ptrace.NewTraces()
	res := func(service string) ptrace.SpanSlice {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		rs.Resource().Attributes().PutStr("service.version", "4.0.0")
		rs.Resource().Attributes().PutStr("deployment.environment", "development")
		return rs.ScopeSpans().AppendEmpty().Spans()
	}
	gateway := res("jeeves-gateway")
	orchestrator := res("jeeves-orchestrator")
	llmGateway := res("jeeves-llm-gateway")
	store := res("jeeves-store")

	base := pcommon.Timestamp(1_700_000_000_000_000_000)
	providers := []string{"openai", "anthropic", "llamaserver"}
	models := []string{"gpt-4o", "claude-sonnet", "qwen2.5-7b"}
	dbOps := []string{"SELECT", "INSERT", "UPDATE"}
	spanSeq := uint64(0)
	for t := 0; t < traces; t++ {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(t+1)*0x9e3779b97f4a7c15)
		binary.BigEndian.PutUint64(tid[:8], uint64(t+1))
		newSpan := func(ss ptrace.SpanSlice, name string, kind ptrace.SpanKind, start pcommon.Timestamp, dur int64) ptrace.Span {
			spanSeq++
			s := ss.AppendEmpty()
			s.SetTraceID(tid)
			var sid pcommon.SpanID
			binary.BigEndian.PutUint64(sid[:], spanSeq)
			s.SetSpanID(sid)
			s.SetName(name)
			s.SetKind(kind)
			s.SetStartTimestamp(start)
			s.SetEndTimestamp(start + pcommon.Timestamp(dur))
			return s
		}
		failed := t%10 == 0
		start := base + pcommon.Timestamp(t)*1e9
		root := newSpan(gateway, "POST /api/v1/chat", ptrace.SpanKindServer, start, 2_500_000_000)
		root.Attributes().PutStr("http.request.method", "POST")
		root.Attributes().PutStr("http.route", "/api/v1/chat")
		root.Attributes().PutInt("http.response.status_code", 200)

		p := newSpan(orchestrator, "pipeline.execute", ptrace.SpanKindInternal, start+1e6, 2_400_000_000)
		p.Attributes().PutStr("jeeves.pipeline.name", "default")
		p.Attributes().PutStr("jeeves.request.id", fmt.Sprintf("req-%d", t))
		p.Attributes().PutStr("jeeves.envelope.id", fmt.Sprintf("env-%d", t))
		p.Attributes().PutStr("pipeline.mode", "sequential")
		p.Attributes().PutInt("pipeline.duration_ms", 2400)
		if failed {
			p.Attributes().PutStr("pipeline.status", "terminated")
			p.Attributes().PutStr("termination.reason", "MAX_LLM_CALLS_EXCEEDED")
			p.Status().SetCode(ptrace.StatusCodeError)
		} else {
			p.Attributes().PutStr("pipeline.status", "success")
			p.Status().SetCode(ptrace.StatusCodeOk)
		}
		for a, agent := range agentNames {
			as := newSpan(orchestrator, "agent.process", ptrace.SpanKindInternal, start+pcommon.Timestamp(a+1)*2e6, 300_000_000)
			as.Attributes().PutStr("jeeves.agent.name", agent)
			as.Attributes().PutStr("jeeves.request.id", fmt.Sprintf("req-%d", t))
			as.Attributes().PutInt("jeeves.llm.calls", 1)
			as.Attributes().PutInt("duration_ms", 300)
			i := (t + a) % len(providers)
			l := newSpan(orchestrator, "llm.provider.call", ptrace.SpanKindClient, start+pcommon.Timestamp(a+1)*3e6, 250_000_000)
			l.Attributes().PutStr("jeeves.llm.provider", providers[i])
			l.Attributes().PutStr("jeeves.llm.model", models[i])
			l.Attributes().PutStr("jeeves.agent.name", agent)
			l.Attributes().PutStr("jeeves.request.id", fmt.Sprintf("req-%d", t))
			l.Attributes().PutInt("jeeves.llm.tokens.prompt", int64(100+a))
			l.Attributes().PutInt("jeeves.llm.tokens.completion", int64(20+a))
			l.Attributes().PutInt("jeeves.llm.tokens.total", int64(120+2*a))
			l.Attributes().PutDouble("jeeves.llm.cost_usd", 0.001)
			l.Attributes().PutInt("jeeves.llm.latency_ms", 250)
			if failed && a == 6 {
				l.Status().SetCode(ptrace.StatusCodeError)
			}
		}
		chat := newSpan(llmGateway, "chat claude-sonnet", ptrace.SpanKindClient, start+5e6, 900_000_000)
		chat.Attributes().PutStr("gen_ai.operation.name", "chat")
		chat.Attributes().PutStr("gen_ai.provider.name", "anthropic")
		chat.Attributes().PutStr("gen_ai.request.model", "claude-sonnet")
		chat.Attributes().PutStr("gen_ai.response.model", "claude-sonnet-20250514")
		chat.Attributes().PutInt("gen_ai.usage.input_tokens", 512)
		chat.Attributes().PutInt("gen_ai.usage.output_tokens", 64)
		for d, op := range dbOps {
			db := newSpan(store, op+" jeeves.sessions", ptrace.SpanKindClient, start+pcommon.Timestamp(d+6)*1e6, int64(d+1)*2_000_000)
			db.Attributes().PutStr("db.system.name", "postgresql")
			db.Attributes().PutStr("db.operation.name", op)
			db.Attributes().PutStr("db.namespace", "jeeves")
			db.Attributes().PutStr("db.query.summary", op+" sessions")
			db.Attributes().PutStr("server.address", "127.0.0.1")
		}
	}
	return td
}
