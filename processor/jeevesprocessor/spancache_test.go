// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
)

func llmMatch(t *testing.T, provider, model string) *rules.Match {
	t.Helper()
	c, err := rules.Compile(rules.DefaultRules(), nil)
	require.NoError(t, err)
	attrs := pcommon.NewMap()
	attrs.PutStr("jeeves.llm.provider", provider)
	attrs.PutStr("jeeves.llm.model", model)
	m := &rules.Match{}
	require.True(t, c.Classify("llm.provider.call", ptrace.SpanKindInternal, false, attrs, m))
	return m
}

// TestSpanCacheCollisionsNeverMerge forces every signature onto one hash:
// lookups must still tell them apart by comparing the strings.
func TestSpanCacheCollisionsNeverMerge(t *testing.T) {
	c := newSpanCache(100)
	const h = 42
	a := llmMatch(t, "openai", "gpt-4o")
	b := llmMatch(t, "openai", "gpt-4o-mini")
	ea := c.insert(h, 1, "llm.provider.call", ptrace.SpanKindClient, ptrace.StatusCodeOk, a)
	ea.refs[0] = 7
	assert.Nil(t, c.find(h, 1, "llm.provider.call", ptrace.SpanKindClient, ptrace.StatusCodeOk, b), "other label value")
	assert.Nil(t, c.find(h, 2, "llm.provider.call", ptrace.SpanKindClient, ptrace.StatusCodeOk, a), "other service")
	assert.Nil(t, c.find(h, 0, "llm.provider.call", ptrace.SpanKindClient, ptrace.StatusCodeOk, a), "service missing")
	assert.Nil(t, c.find(h, 1, "llm.provider.call", ptrace.SpanKindServer, ptrace.StatusCodeOk, a), "other kind")
	assert.Nil(t, c.find(h, 1, "llm.provider.call", ptrace.SpanKindClient, ptrace.StatusCodeError, a), "other status")
	eb := c.insert(h, 1, "llm.provider.call", ptrace.SpanKindClient, ptrace.StatusCodeOk, b)
	eb.refs[0] = 8
	got := c.find(h, 1, "llm.provider.call", ptrace.SpanKindClient, ptrace.StatusCodeOk, a)
	require.NotNil(t, got)
	assert.Equal(t, 7, got.refs[0])
	got = c.find(h, 1, "llm.provider.call", ptrace.SpanKindClient, ptrace.StatusCodeOk, b)
	require.NotNil(t, got)
	assert.Equal(t, 8, got.refs[0])
}

func TestSpanCacheStartsOverAtItsLimit(t *testing.T) {
	c := newSpanCache(3)
	none := &rules.Match{}
	assert.Equal(t, uint32(1), c.serviceID("svc", true))
	assert.Equal(t, uint32(0), c.serviceID("svc", false))
	assert.Equal(t, uint32(2), c.serviceID("other", true))
	assert.Equal(t, uint32(1), c.serviceID("svc", true))
	for i, name := range []string{"a", "b", "c"} {
		c.insert(uint64(i), 1, name, ptrace.SpanKindServer, ptrace.StatusCodeUnset, none)
	}
	assert.Equal(t, 3, c.len())
	c.insert(9, 1, "d", ptrace.SpanKindServer, ptrace.StatusCodeUnset, none)
	assert.Equal(t, 1, c.len())
	assert.Nil(t, c.find(0, 1, "a", ptrace.SpanKindServer, ptrace.StatusCodeUnset, none))
	assert.NotNil(t, c.find(9, 1, "d", ptrace.SpanKindServer, ptrace.StatusCodeUnset, none))
}

func TestSpanCacheHashSeparatesShortStrings(t *testing.T) {
	c := newSpanCache(1)
	seen := map[uint64]string{}
	for _, s := range []string{"", "a", "b", "ab", "ba", "abc", "success", "error", "abcdefgh", "abcdefghi", "abcdefgi"} {
		h := c.hashString(s)
		if prev, dup := seen[h]; dup {
			t.Fatalf("%q and %q hash alike", prev, s)
		}
		seen[h] = s
	}
}

// TestExpiryInvalidatesCachedSeries: when a series expires the others move,
// so the span cache must forget the references it holds. Span "a" expires,
// "b" moves into its place; b's next span must update b (with a stale
// reference it would address a series that is gone).
func TestExpiryInvalidatesCachedSeries(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Metrics.SeriesExpiration = time.Minute })
	spans := func(names ...string) ptrace.Traces {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "svc")
		ss := rs.ScopeSpans().AppendEmpty().Spans()
		for i, n := range names {
			s := ss.AppendEmpty()
			s.SetName(n)
			s.SetTraceID(pcommon.TraceID{1})
			s.SetSpanID(pcommon.SpanID{byte(i + 1)})
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(testBase))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(testBase.Add(time.Millisecond)))
		}
		return td
	}
	consume := func(at time.Duration, names ...string) {
		h.clock.Set(testBase.Add(at))
		require.NoError(t, h.conn.ConsumeTraces(context.Background(), spans(names...)))
	}
	consume(0, "a", "b")
	consume(40*time.Second, "b")
	h.flush(testBase.Add(70 * time.Second)) // a, last seen at 0, expires; b moves
	consume(80*time.Second, "b")
	h.flush(testBase.Add(90 * time.Second))

	calls := map[string]int64{}
	ms := h.last(t).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Name() != "traces.span.metrics.calls" {
			continue
		}
		dps := ms.At(i).Sum().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			name, _ := dps.At(j).Attributes().Get("span.name")
			calls[name.Str()] = dps.At(j).IntValue()
		}
	}
	assert.Equal(t, map[string]int64{"b": 3}, calls)
}

// TestSpanCacheServiceIDsBounded: at maxServices distinct service names the
// cache starts over, entries included, because ids are then reused and an
// entry's id would name another service.
func TestSpanCacheServiceIDsBounded(t *testing.T) {
	c := newSpanCache(100)
	none := &rules.Match{}
	for i := range maxServices {
		require.Equal(t, uint32(i+1), c.serviceID(fmt.Sprint("svc-", i), true))
	}
	c.insert(7, 1, "span", ptrace.SpanKindServer, ptrace.StatusCodeUnset, none)
	assert.Len(t, c.services, maxServices)
	assert.Equal(t, uint32(1), c.serviceID("svc-0", true), "known names keep their id at the bound")

	assert.Equal(t, uint32(1), c.serviceID("one-too-many", true), "ids start over")
	assert.Len(t, c.services, 1)
	assert.Equal(t, 0, c.len(), "entries go with the ids they reference")
	assert.Nil(t, c.find(7, 1, "span", ptrace.SpanKindServer, ptrace.StatusCodeUnset, none))
}
