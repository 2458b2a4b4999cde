package sampler

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// splitmix64 spreads small integers over 64 bits, so test trace ids look random but are fixed.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func testTraceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], n+1)
	binary.BigEndian.PutUint64(id[8:], splitmix64(n))
	return id
}

func testSpanID(n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n+1)
	return id
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// spanSpec describes one test span; trace and span are indices, parent < 0 means root.
type spanSpec struct {
	trace, span uint64
	parent      int64
	start, dur  time.Duration // from t0
	err         bool
	ts          string
}

// batch builds one ResourceSpans per service with one scope, holding the given spans.
func batch(service string, specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	appendBatch(td, service, specs...)
	return td
}

func appendBatch(td ptrace.Traces, service string, specs ...spanSpec) {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	rs.Resource().Attributes().PutStr("host.name", "host-1")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("jeeves")
	ss.Scope().SetVersion("1.0.0")
	for _, s := range specs {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(testTraceID(s.trace))
		sp.SetSpanID(testSpanID(s.trace<<16 | s.span))
		if s.parent >= 0 {
			sp.SetParentSpanID(testSpanID(s.trace<<16 | uint64(s.parent)))
		}
		sp.SetName("op")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(s.start)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(s.start + s.dur)))
		if s.err {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		sp.TraceState().FromRaw(s.ts)
		sp.Attributes().PutStr("jeeves.step", "fetch")
		sp.Attributes().PutInt("jeeves.attempt", 1)
	}
}

// fakeClock is a settable clock for tail mode.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// collect maps trace index → spans seen in td, keyed by span id, with their rule and tracestate.
type seenSpan struct {
	rule, ts, service string
}

func collect(td ptrace.Traces, into map[pcommon.TraceID]map[pcommon.SpanID]seenSpan) {
	for _, rs := range td.ResourceSpans().All() {
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				m := into[sp.TraceID()]
				if m == nil {
					m = map[pcommon.SpanID]seenSpan{}
					into[sp.TraceID()] = m
				}
				var rule string
				if v, ok := sp.Attributes().Get(RuleAttribute); ok {
					rule = v.Str()
				}
				m[sp.SpanID()] = seenSpan{rule: rule, ts: sp.TraceState().AsRaw(), service: svc.Str()}
			}
		}
	}
}
