// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadatatest"
)

// floodHeapBound is the documented bound on heap growth while 1,000,000
// distinct span names and model names flow through with the default limits.
const floodHeapBound = 64 << 20

// floodRSSBound is the bound on the process RSS growth during the same flood
// (the "< 100 MB over baseline"); RSS also holds what the Go runtime
// has not returned to the OS yet.
const floodRSSBound = 100 << 20

// rssBytes reads the process resident set size on Linux (0 elsewhere).
func rssBytes() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// TestFloodStaysBounded pushes 1,000,000 GenAI spans, each with a new span
// name and a new model name, through the default config: every table stays at
// series_limit (+1 overflow series), the overflow counters account for every
// span beyond the limit, and the heap does not grow with the flood.
func TestFloodStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods 1,000,000 spans")
	}
	const total, batch = 1_000_000, 10_000
	h := newHarness(t, nil)
	limit := h.conn.c.cfg.Metrics.SeriesLimit

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "jeeves-llm-gateway")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range batch {
		s := spans.AppendEmpty()
		s.SetTraceID([16]byte{1, byte(i >> 8), byte(i)})
		s.SetSpanID([8]byte{1, byte(i >> 8), byte(i)})
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(1_700_000_000_000_000_000)
		s.SetEndTimestamp(1_700_000_000_500_000_000)
		s.Attributes().PutStr("gen_ai.operation.name", "chat")
		s.Attributes().PutStr("gen_ai.provider.name", "openai")
		s.Attributes().PutInt("gen_ai.usage.input_tokens", 3)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rssBefore := rssBytes()
	peak := uint64(0)
	buf := make([]byte, 0, 32)
	at := testBase
	for b := 0; b < total/batch; b++ {
		for i := range batch {
			buf = strconv.AppendInt(append(buf[:0], "flood-"...), int64(b*batch+i), 10)
			s := spans.At(i)
			s.SetName(string(buf))
			s.Attributes().PutStr("gen_ai.response.model", string(buf[6:]))
		}
		at = at.Add(time.Second)
		h.consumeFile0(t, td, at)
		if b%10 == 9 {
			h.sink.Reset() // keep only what the connector holds, not every flush
			h.flush(at)
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
		}
	}
	h.sink.Reset()
	h.flush(at)
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(max(after.HeapAlloc, peak)) - int64(before.HeapAlloc)
	t.Logf("heap before %.1f MiB, after %.1f MiB, peak after GC %.1f MiB: growth %.1f MiB over %d distinct span and model names",
		mib(before.HeapAlloc), mib(after.HeapAlloc), mib(peak), float64(growth)/(1<<20), total)
	assert.Less(t, growth, int64(floodHeapBound))
	if rssBefore > 0 && !raceEnabled {
		rssGrowth := rssBytes() - rssBefore
		t.Logf("process RSS grew %.1f MiB (bound %d MiB)", float64(rssGrowth)/(1<<20), floodRSSBound>>20)
		assert.Less(t, rssGrowth, int64(floodRSSBound))
	}

	for _, td := range h.conn.m.agg.tables {
		if td.table.Len() > 0 {
			assert.LessOrEqual(t, td.table.Len(), limit+1, td.name)
		}
	}
	assert.Equal(t, limit+1, h.conn.m.agg.spm.table.Len())
	assert.Equal(t, limit+1, h.conn.m.agg.llmCalls.table.Len())

	beyond := int64(total - limit)
	metadatatest.AssertEqualConnectorJeevesSpansOverflowed(t, h.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("metric", "traces.span.metrics")), Value: beyond},
		{Attributes: attribute.NewSet(attribute.String("metric", "jeeves.llm.calls")), Value: beyond},
		{Attributes: attribute.NewSet(attribute.String("metric", "jeeves.llm.tokens")), Value: beyond},
		{Attributes: attribute.NewSet(attribute.String("metric", "jeeves.llm.duration")), Value: beyond},
		{Attributes: attribute.NewSet(attribute.String("metric", "jeeves.llm.cost.unpriced_calls")), Value: beyond}, // no price configured, no cost attribute
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualConnectorJeevesSpansSeen(t, h.tel, []metricdata.DataPoint[int64]{{Value: total}}, metricdatatest.IgnoreTimestamp())

	// The overflow series carries every span beyond the limit.
	got := overflowValue(t, h.last(t), "traces.span.metrics.calls")
	assert.Equal(t, beyond, got)
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

func (h *harness) consumeFile0(t *testing.T, td ptrace.Traces, at time.Time) {
	t.Helper()
	h.clock.Set(at)
	require.NoError(t, h.conn.ConsumeTraces(context.Background(), td))
}
