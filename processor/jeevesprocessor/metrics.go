// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/jeeves/otelcol-jeeves/internal/aggregate"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
)

// Bucket bounds of the Jeeves histograms (TELEMETRY.md) and of the SPM
// duration histogram (the span_metrics connector's default milliseconds).
var (
	pipelineBounds = []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60}
	agentBounds    = []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10}
	llmBounds      = []float64{0.1, 0.5, 1, 2, 5, 10, 30, 60}
	dbBounds       = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1}
	spmBoundsMs    = []float64{2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000}
)

// SPM label names and values, as the span_metrics connector writes them and
// Jaeger's Monitor tab reads them (after Prometheus name translation).
const (
	spmServiceName = "service.name"
	spmSpanName    = "span.name"
	spmSpanKind    = "span.kind"
	spmStatusCode  = "status.code"
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

// tableDef ties a table to the match fields that form its key.
type tableDef struct {
	name    string // value of the telemetry "metric" attribute
	attrSet attribute.Set
	table   *aggregate.Table
	fields  []int  // match field indexes, in label order
	extra   string // name of a constant trailing label ("type" for tokens), or ""
	attrs   metric.MeasurementOption
	active  atomic.Int64
}

// metricsEngine aggregates every span into bounded series tables and emits
// them as cumulative metrics on each flush. One engine is shared by all faces
// of one component ID.
type metricsEngine struct {
	cfg *MetricsConfig
	tb  *metadata.TelemetryBuilder
	now func() time.Time

	mu         sync.Mutex
	classifier *rules.Classifier
	match      *rules.Match
	key        aggregate.Key

	spm                                           *tableDef
	pipelineExec, pipelineDur, termination        *tableDef
	agentExec, agentDur                           *tableDef
	llmCalls, llmTokens, llmDur, dbDur, interrupt *tableDef
	tables                                        []*tableDef

	// cache resolves, with one lookup on a span's signature, every series
	// the span updates (SPM and its family's).
	cache *spanCache

	// keepExemplar filters exemplars at flush; nil keeps all. The sampling face
	// installs it so that exemplars only reference kept traces.
	keepExemplar aggregate.KeepExemplarFunc
	// admitExemplar, when set, decides at record time whether a span may
	// become an exemplar (head mode knows at once, from the span's trace id
	// and tracestate, whether its trace is forwarded); nil admits all.
	admitExemplar func(traceID pcommon.TraceID, traceState string) bool
}

func newMetricsEngine(cfg *MetricsConfig, tb *metadata.TelemetryBuilder) (*metricsEngine, error) {
	classifier, err := cfg.compileRules()
	if err != nil {
		return nil, err
	}
	e := &metricsEngine{cfg: cfg, tb: tb, now: time.Now, classifier: classifier, match: new(rules.Match), cache: newSpanCache(max(4*cfg.SeriesLimit, 1024))}
	maxEx := 0
	if cfg.Exemplars.Enabled {
		maxEx = cfg.Exemplars.MaxPerDataPoint
	}
	add := func(name string, family rules.Family, fields []int, extra string, spec aggregate.Spec) *tableDef {
		names := rules.Fields(family)
		for _, f := range fields {
			spec.Labels = append(spec.Labels, names[f])
		}
		for i, d := range classifier.DimensionNames(family) {
			spec.Labels = append(spec.Labels, d)
			fields = append(fields, len(names)+i)
		}
		if extra != "" {
			spec.Labels = append(spec.Labels, extra)
		}
		spec.Limit = cfg.SeriesLimit
		spec.Expiration = cfg.SeriesExpiration
		if spec.HistName == "" {
			spec.MaxExemplars = 0
		} else {
			spec.MaxExemplars = maxEx
		}
		set := attribute.NewSet(attribute.String("metric", name))
		td := &tableDef{
			name:    name,
			attrSet: set,
			table:   aggregate.NewTable(spec),
			fields:  fields,
			extra:   extra,
			attrs:   metric.WithAttributeSet(set),
		}
		e.tables = append(e.tables, td)
		return td
	}
	if cfg.SPM.Enabled {
		e.spm = add("traces.span.metrics", rules.FamilyNone, nil, "", aggregate.Spec{
			Labels:          []string{spmServiceName, spmSpanName, spmSpanKind, spmStatusCode},
			SumName:         "traces.span.metrics.calls",
			SumUnit:         "{call}",
			SumDescription:  "Spans per service, span name, span kind and status code.",
			HistName:        "traces.span.metrics.duration",
			HistUnit:        "ms",
			HistDescription: "Span durations per service, span name, span kind and status code.",
			Bounds:          spmBoundsMs,
		})
	}
	e.pipelineExec = add("jeeves.pipeline.executions", rules.FamilyPipeline, []int{rules.PipelineName, rules.PipelineStatus}, "", aggregate.Spec{
		SumName: "jeeves.pipeline.executions", SumUnit: "{execution}", SumDescription: "Pipeline runs by pipeline and outcome.",
	})
	e.pipelineDur = add("jeeves.pipeline.duration", rules.FamilyPipeline, []int{rules.PipelineName}, "", aggregate.Spec{
		HistName: "jeeves.pipeline.duration", HistUnit: "s", HistDescription: "Pipeline run durations.", Bounds: pipelineBounds,
	})
	e.termination = add("jeeves.termination", rules.FamilyPipeline, []int{rules.PipelineName, rules.PipelineReason}, "", aggregate.Spec{
		SumName: "jeeves.termination", SumUnit: "{termination}", SumDescription: "Pipeline runs that ended with a termination reason.",
	})
	e.agentExec = add("jeeves.agent.executions", rules.FamilyAgent, []int{rules.AgentName, rules.AgentStatus}, "", aggregate.Spec{
		SumName: "jeeves.agent.executions", SumUnit: "{execution}", SumDescription: "Agent runs by agent and outcome.",
	})
	e.agentDur = add("jeeves.agent.duration", rules.FamilyAgent, []int{rules.AgentName}, "", aggregate.Spec{
		HistName: "jeeves.agent.duration", HistUnit: "s", HistDescription: "Agent run durations.", Bounds: agentBounds,
	})
	e.llmCalls = add("jeeves.llm.calls", rules.FamilyLLM, []int{rules.LLMProvider, rules.LLMModel, rules.LLMStatus}, "", aggregate.Spec{
		SumName: "jeeves.llm.calls", SumUnit: "{call}", SumDescription: "LLM inference calls by provider, model and outcome.",
	})
	e.llmTokens = add("jeeves.llm.tokens", rules.FamilyLLM, []int{rules.LLMProvider, rules.LLMModel}, "type", aggregate.Spec{
		SumName: "jeeves.llm.tokens", SumUnit: "{token}", SumDescription: "LLM tokens by provider, model and type (input, output), counted on inference spans only.",
	})
	e.llmDur = add("jeeves.llm.duration", rules.FamilyLLM, []int{rules.LLMProvider, rules.LLMModel}, "", aggregate.Spec{
		HistName: "jeeves.llm.duration", HistUnit: "s", HistDescription: "LLM inference call durations.", Bounds: llmBounds,
	})
	e.dbDur = add("jeeves.db.query.duration", rules.FamilyDB, []int{rules.DBOperation}, "", aggregate.Spec{
		HistName: "jeeves.db.query.duration", HistUnit: "s", HistDescription: "Database query durations by operation.", Bounds: dbBounds,
	})
	e.interrupt = add("jeeves.interrupts", rules.FamilyInterrupt, []int{rules.InterruptKind, rules.InterruptStatus}, "", aggregate.Spec{
		SumName: "jeeves.interrupts", SumUnit: "{interrupt}", SumDescription: "Interrupts by kind and status.",
	})
	return e, nil
}

// registerTelemetry reports the series held per table.
func (e *metricsEngine) registerTelemetry() error {
	return e.tb.RegisterConnectorJeevesSeriesActiveCallback(func(_ context.Context, o metric.Int64Observer) error {
		for _, td := range e.tables {
			o.Observe(td.active.Load(), td.attrs)
		}
		return nil
	})
}

// consume aggregates one batch. It takes the lock once for the whole batch.
func (e *metricsEngine) consume(ctx context.Context, td ptrace.Traces) {
	now := pcommon.NewTimestampFromTime(e.now())
	spans := 0
	e.mu.Lock()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service, hasService := "", false
		if v, ok := rs.Resource().Attributes().Get(spmServiceName); ok && v.Type() == pcommon.ValueTypeStr {
			service, hasService = v.Str(), true
		}
		serviceID := e.cache.serviceID(service, hasService)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j).Spans()
			spans += ss.Len()
			for k := 0; k < ss.Len(); k++ {
				e.consumeSpan(ss.At(k), service, serviceID, now)
			}
		}
	}
	for _, t := range e.tables {
		t.active.Store(int64(t.table.Len()))
	}
	e.mu.Unlock()
	e.tb.ConnectorJeevesSpansSeen.Add(ctx, int64(spans))
}

// consumeSpan aggregates one span; serviceID is 0 when the resource has no
// service.name.
func (e *metricsEngine) consumeSpan(span ptrace.Span, service string, serviceID uint32, now pcommon.Timestamp) {
	start, end := span.StartTimestamp(), span.EndTimestamp()
	var nanos float64
	if end > start {
		nanos = float64(end - start)
	}
	name, kind, status := span.Name(), span.Kind(), span.Status().Code()
	m := e.match
	e.classifier.Classify(name, status == ptrace.StatusCodeError, span.Attributes(), m)

	h := e.cache.signature(serviceID, name, kind, status, m)
	ent := e.cache.find(h, serviceID, name, kind, status, m)
	if ent == nil {
		ent = e.cache.insert(h, serviceID, name, kind, status, m)
		if e.spm == nil || serviceID == 0 {
			ent.spm = refNone
		}
	}

	if ent.spm != refNone {
		if ent.spm == refUnresolved {
			e.key.Reset()
			e.key.AddString(service)
			e.key.AddString(name)
			e.key.AddString(spanKindValue(kind))
			e.key.AddString(statusCodeValue(status))
			ent.spm = e.spm.table.Ref(e.key.Bytes(), now)
		}
		e.observe(e.spm.table.At(ent.spm, now), nanos/1e6, span)
	}

	seconds := nanos / 1e9
	refs := &ent.refs
	switch m.Family {
	case rules.FamilyPipeline:
		e.series(e.pipelineExec, &refs[0], "", now).Add(1)
		e.observe(e.series(e.pipelineDur, &refs[1], "", now), seconds, span)
		if m.Value(rules.PipelineReason) != "" {
			e.series(e.termination, &refs[2], "", now).Add(1)
		}
	case rules.FamilyAgent:
		e.series(e.agentExec, &refs[0], "", now).Add(1)
		e.observe(e.series(e.agentDur, &refs[1], "", now), seconds, span)
	case rules.FamilyLLM:
		e.series(e.llmCalls, &refs[0], "", now).Add(1)
		if n, ok := m.Num(rules.LLMInputTokens); ok && n >= 0 {
			e.series(e.llmTokens, &refs[1], "input", now).Add(n)
		}
		if n, ok := m.Num(rules.LLMOutputTokens); ok && n >= 0 {
			e.series(e.llmTokens, &refs[2], "output", now).Add(n)
		}
		e.observe(e.series(e.llmDur, &refs[3], "", now), seconds, span)
	case rules.FamilyDB:
		e.observe(e.series(e.dbDur, &refs[0], "", now), seconds, span)
	case rules.FamilyInterrupt:
		e.series(e.interrupt, &refs[0], "", now).Add(1)
	}
}

// series resolves ref on first use and returns its series, marked as updated.
func (e *metricsEngine) series(td *tableDef, ref *int, extra string, now pcommon.Timestamp) *aggregate.Series {
	if *ref == refUnresolved {
		*ref = td.table.Ref(e.buildKey(td, extra), now)
	}
	return td.table.At(*ref, now)
}

func (e *metricsEngine) buildKey(td *tableDef, extra string) []byte {
	e.key.Reset()
	for _, f := range td.fields {
		e.key.AddString(e.match.Value(f))
	}
	if td.extra != "" {
		e.key.AddString(extra)
	}
	return e.key.Bytes()
}

// observe records a duration and, while the data point's reservoir has room,
// the span as its exemplar (spans without a trace id are skipped).
func (e *metricsEngine) observe(s *aggregate.Series, v float64, span ptrace.Span) {
	s.Observe(v)
	if !s.WantsExemplar() {
		return
	}
	if tid := span.TraceID(); tid != (pcommon.TraceID{}) {
		if e.admitExemplar != nil && !e.admitExemplar(tid, span.TraceState().AsRaw()) {
			return
		}
		s.AddExemplar(aggregate.Exemplar{TraceID: tid, SpanID: span.SpanID(), Time: span.EndTimestamp(), Value: v})
	}
}

// collect expires stale series and builds the cumulative metrics of every
// table. It returns an empty pmetric.Metrics when there is nothing to emit.
func (e *metricsEngine) collect(ctx context.Context) pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	now := pcommon.NewTimestampFromTime(e.now())

	type counts struct{ overflowed, expired int64 }
	deltas := make([]counts, len(e.tables))
	moved := false
	e.mu.Lock()
	for i, td := range e.tables {
		moved = td.table.Expire(now) || moved
		td.table.AppendTo(sm.Metrics(), now, e.keepExemplar)
		deltas[i].overflowed, deltas[i].expired = td.table.TakeCounts()
		td.active.Store(int64(td.table.Len()))
	}
	if moved {
		// Series moved: the cached references are stale. Service ids are not
		// series references and stay valid.
		e.cache.resetEntries()
	}
	e.mu.Unlock()

	for i, td := range e.tables {
		if deltas[i].overflowed > 0 {
			e.tb.ConnectorJeevesSpansOverflowed.Add(ctx, deltas[i].overflowed, td.attrs)
		}
		if deltas[i].expired > 0 {
			e.tb.ConnectorJeevesSeriesExpired.Add(ctx, deltas[i].expired, td.attrs)
		}
	}
	if sm.Metrics().Len() == 0 {
		return pmetric.NewMetrics()
	}
	return md
}
