// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
)

// planTraces converts jeeves-loadgen trace plans into pdata, the way the
// loadgen's SDK exporters would put them on the wire (one resource per
// service, one scope per instrumentation scope).
func planTraces(plans []*loadgen.TracePlan, services loadgen.Services) ptrace.Traces {
	return planSpans(plans, services, nil)
}

// planSpanID is the span id of span j of the trace with index i: unique per
// run, so a span's parent id follows from its plan alone.
func planSpanID(i, j int) pcommon.SpanID {
	var sid pcommon.SpanID
	binary.BigEndian.PutUint64(sid[:], uint64(i+1)<<16|uint64(j+1))
	return sid
}

// planSpans is planTraces for the spans of each plan that include accepts
// (all when nil), with parent span ids set.
func planSpans(plans []*loadgen.TracePlan, services loadgen.Services, include func(p *loadgen.TracePlan, j int) bool) ptrace.Traces {
	td := ptrace.NewTraces()
	spansOf := map[loadgen.Service]ptrace.SpanSlice{}
	base := pcommon.Timestamp(1_700_000_000_000_000_000)
	for _, p := range plans {
		for j, sp := range p.Spans {
			if include != nil && !include(p, j) {
				continue
			}
			spans, ok := spansOf[sp.Service]
			if !ok {
				rs := td.ResourceSpans().AppendEmpty()
				rs.Resource().Attributes().PutStr("service.name", services.Name(sp.Service))
				rs.Resource().Attributes().PutStr("service.version", services.Version)
				spans = rs.ScopeSpans().AppendEmpty().Spans()
				spansOf[sp.Service] = spans
			}
			s := spans.AppendEmpty()
			s.SetTraceID(pcommon.TraceID(p.TraceID))
			s.SetSpanID(planSpanID(p.Index, j))
			if sp.Parent >= 0 {
				s.SetParentSpanID(planSpanID(p.Index, sp.Parent))
			}
			s.SetName(sp.Name)
			s.SetKind(ptrace.SpanKind(sp.Kind))
			start := base + pcommon.Timestamp(p.Offset+sp.Start)
			s.SetStartTimestamp(start)
			s.SetEndTimestamp(start + pcommon.Timestamp(sp.End-sp.Start))
			switch sp.Status {
			case codes.Error:
				s.Status().SetCode(ptrace.StatusCodeError)
			case codes.Ok:
				s.Status().SetCode(ptrace.StatusCodeOk)
			}
			for _, kv := range append(append([]attribute.KeyValue(nil), sp.StartAttrs...), sp.EndAttrs...) {
				switch kv.Value.Type() {
				case attribute.STRING:
					s.Attributes().PutStr(string(kv.Key), kv.Value.AsString())
				case attribute.INT64:
					s.Attributes().PutInt(string(kv.Key), kv.Value.AsInt64())
				case attribute.FLOAT64:
					s.Attributes().PutDouble(string(kv.Key), kv.Value.AsFloat64())
				case attribute.BOOL:
					s.Attributes().PutBool(string(kv.Key), kv.Value.AsBool())
				default:
					s.Attributes().PutStr(string(kv.Key), kv.Value.String())
				}
			}
		}
	}
	return td
}

// TestExactAgainstLoadgenManifest feeds jeeves-loadgen traffic (both Jeeves
// generations, errors, terminations, GenAI and DB spans) through the default
// config and checks every counter, histogram count, bucket and token sum
// against the loadgen manifest: exactly, not approximately.
func TestExactAgainstLoadgenManifest(t *testing.T) {
	cfg := loadgen.DefaultConfig()
	cfg.Traces = 3000
	cfg.ErrorRatio, cfg.TerminatedRatio, cfg.LaterGenRatio, cfg.SlowRatio = 0.1, 0.1, 0.2, 0.05
	manifest, err := loadgen.Plan(cfg)
	require.NoError(t, err)

	h := newHarness(t, nil)
	g := loadgen.NewGenerator(cfg)
	for start := 0; start < cfg.Traces; start += 500 {
		var plans []*loadgen.TracePlan
		for i := start; i < min(start+500, cfg.Traces); i++ {
			plans = append(plans, g.Trace(i))
		}
		h.consumeFile0(t, planTraces(plans, cfg.Services), testBase.Add(time.Duration(start)*time.Millisecond))
	}
	h.flush(testBase.Add(time.Minute))
	got := indexMetrics(h.last(t))

	check := func(metric string, want map[string]int64) {
		t.Helper()
		assert.Equal(t, want, got.sums[metric], metric)
	}
	hist := func(metric string, want map[string]*loadgen.Histogram) {
		t.Helper()
		require.Len(t, got.hists[metric], len(want), metric)
		for k, w := range want {
			g, ok := got.hists[metric][k]
			require.True(t, ok, "%s{%s} missing", metric, k)
			assert.Equal(t, uint64(w.Count), g.Count(), "%s{%s} count", metric, k)
			assert.InDelta(t, w.SumSeconds, g.Sum(), 1e-6, "%s{%s} sum", metric, k)
			buckets := make([]int64, g.BucketCounts().Len())
			for i := range buckets {
				buckets[i] = int64(g.BucketCounts().At(i))
			}
			assert.Equal(t, w.BucketCounts, buckets, "%s{%s} buckets", metric, k)
		}
	}

	key := func(kv ...string) string {
		attrs := pcommon.NewMap()
		for i := 0; i < len(kv); i += 2 {
			attrs.PutStr(kv[i], kv[i+1])
		}
		return labelKey(attrs)
	}
	flat2 := func(m map[string]loadgen.Counts, l1, l2 string) map[string]int64 {
		out := map[string]int64{}
		for a, c := range m {
			for b, n := range c {
				out[key(l1, a, l2, b)] = n
			}
		}
		return out
	}
	flat3 := func(m map[string]map[string]loadgen.Counts, l1, l2, l3 string) map[string]int64 {
		out := map[string]int64{}
		for a, mm := range m {
			for b, c := range mm {
				for k, n := range c {
					out[key(l1, a, l2, b, l3, k)] = n
				}
			}
		}
		return out
	}
	hist1 := func(m map[string]*loadgen.Histogram, l1 string) map[string]*loadgen.Histogram {
		out := map[string]*loadgen.Histogram{}
		for a, hh := range m {
			out[key(l1, a)] = hh
		}
		return out
	}
	hist2 := func(m map[string]map[string]*loadgen.Histogram, l1, l2 string) map[string]*loadgen.Histogram {
		out := map[string]*loadgen.Histogram{}
		for a, mm := range m {
			for b, hh := range mm {
				out[key(l1, a, l2, b)] = hh
			}
		}
		return out
	}

	check("jeeves.pipeline.executions", flat2(manifest.Pipelines.Executions, "pipeline", "status"))
	check("jeeves.termination", flat2(manifest.Pipelines.Terminations, "pipeline", "reason"))
	hist("jeeves.pipeline.duration", hist1(manifest.Pipelines.Durations, "pipeline"))
	check("jeeves.agent.executions", flat2(manifest.Agents.Executions, "agent", "status"))
	hist("jeeves.agent.duration", hist1(manifest.Agents.Durations, "agent"))
	check("jeeves.llm.calls", flat3(manifest.LLM.Calls, "provider", "model", "status"))
	check("jeeves.llm.tokens", flat3(manifest.LLM.Tokens, "provider", "model", "type"))
	hist("jeeves.llm.duration", hist2(manifest.LLM.Durations, "provider", "model"))
	hist("jeeves.db.query.duration", hist1(manifest.DB.Durations, "operation"))

	spm := map[string]int64{}
	for svc, byName := range manifest.SPM.Calls {
		for name, byKind := range byName {
			for kind, byStatus := range byKind {
				for status, n := range byStatus {
					spm[key("service.name", svc, "span.name", name, "span.kind", kind, "status.code", status)] = n
				}
			}
		}
	}
	check("traces.span.metrics.calls", spm)
	assert.Equal(t, manifest.Spans, sumValues(got.sums["traces.span.metrics.calls"]))
	assert.Positive(t, manifest.Classes.LaterGen)
	assert.Positive(t, manifest.Classes.Terminated)
}

type indexed struct {
	sums  map[string]map[string]int64
	hists map[string]map[string]pmetric.HistogramDataPoint
}

// indexMetrics keys every data point by its sorted "label=value" pairs.
func indexMetrics(md pmetric.Metrics) indexed {
	out := indexed{sums: map[string]map[string]int64{}, hists: map[string]map[string]pmetric.HistogramDataPoint{}}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		m := ms.At(i)
		switch m.Type() {
		case pmetric.MetricTypeSum:
			byKey := map[string]int64{}
			for j := 0; j < m.Sum().DataPoints().Len(); j++ {
				dp := m.Sum().DataPoints().At(j)
				byKey[labelKey(dp.Attributes())] = dp.IntValue()
			}
			out.sums[m.Name()] = byKey
		case pmetric.MetricTypeHistogram:
			byKey := map[string]pmetric.HistogramDataPoint{}
			for j := 0; j < m.Histogram().DataPoints().Len(); j++ {
				dp := m.Histogram().DataPoints().At(j)
				byKey[labelKey(dp.Attributes())] = dp
			}
			out.hists[m.Name()] = byKey
		}
	}
	return out
}

func labelKey(attrs pcommon.Map) string {
	keys := make([]string, 0, attrs.Len())
	for k := range attrs.All() {
		keys = append(keys, k)
	}
	sortStrings(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		v, _ := attrs.Get(k)
		s += k + "=" + v.AsString()
	}
	return s
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func sumValues(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
