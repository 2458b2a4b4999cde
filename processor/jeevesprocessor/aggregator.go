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
	"go.uber.org/zap"

	"github.com/jeeves/otelcol-jeeves/internal/aggregate"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/pricing"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/rules"
)

// tableDef is one family table of an aggregator, with the match fields that
// form its key and its telemetry identity.
type tableDef struct {
	name    string // value of the telemetry "metric" attribute
	attrSet attribute.Set
	attrs   metric.MeasurementOption
	table   *aggregate.Table
	fields  []int  // match field indexes, in label order
	extra   string // name of a constant trailing label, or ""
	aliases map[string]alias
	active  atomic.Int64
}

// exemplarPolicy decides which spans become exemplars, so that exemplars
// reference only forwarded traces. The sampler is one; without a sampling
// face every span may be one.
type exemplarPolicy interface {
	// AdmitExemplar is asked when a span is recorded.
	AdmitExemplar(id pcommon.TraceID, traceState string) bool
	// ExemplarDecision is asked at flush for every held exemplar.
	ExemplarDecision(id pcommon.TraceID) (keep, decided bool)
}

// aggregator is the state of the metrics face: it aggregates every span into
// bounded series tables and builds cumulative metrics from them at flush.
type aggregator struct {
	tb  *metadata.TelemetryBuilder
	now func() time.Time

	mu         sync.Mutex
	classifier *rules.Classifier
	prices     *pricing.Table
	match      *rules.Match
	key        aggregate.Key

	spm                                    *tableDef // nil when SPM is disabled
	pipelineExec, pipelineDur, termination *tableDef
	agentExec, agentDur                    *tableDef
	llmCalls, llmTokens, llmDur            *tableDef
	llmCost, llmUnpriced                   *tableDef
	dbDur, dbQueries                       *tableDef
	httpRequests, httpDur                  *tableDef
	interrupt                              *tableDef
	tables                                 []*tableDef

	// cache resolves, with one lookup on a span's signature, every series
	// the span updates (SPM and its family's).
	cache *spanCache
	// exemplars is nil until a sampling face of the same component ID exists.
	exemplars exemplarPolicy
	// traces gives the trace completeness counts; nil without a sampling face.
	traces completenessSource
	// attribution is the tail sampler's observer that attributes LLM spend to
	// pipelines and agents; nil when metrics.llm_cost.attribution is false.
	// Its tables fill only when a tail-mode sampling face feeds it.
	attribution *attributor
	// dailyBudget is served as a gauge when > 0.
	dailyBudget float64
	// start is the start time of the families not held in tables.
	start pcommon.Timestamp
	// invalid logs the spans dropped for an all-zero id.
	invalid invalidSpans
}

func newAggregator(cfg *MetricsConfig, tb *metadata.TelemetryBuilder, logger *zap.Logger, now func() time.Time) (*aggregator, error) {
	classifier, err := cfg.compileRules()
	if err != nil {
		return nil, err
	}
	prices, err := cfg.LLMCost.compilePrices()
	if err != nil {
		return nil, err
	}
	a := &aggregator{
		tb: tb, now: now, classifier: classifier, prices: prices, match: new(rules.Match),
		dailyBudget: cfg.LLMCost.DailyBudgetUSD,
		cache:       newSpanCache(max(4*cfg.SeriesLimit, 1024)),
		start:       pcommon.NewTimestampFromTime(now()),
		invalid:     invalidSpans{logger: logger},
	}
	if cfg.LLMCost.Attribution {
		a.attribution, err = newAttributor(cfg, prices, func() pcommon.Timestamp { return pcommon.NewTimestampFromTime(now()) })
		if err != nil {
			return nil, err
		}
	}
	def := func(ft familyTable) *tableDef {
		td := newTableDef(ft, cfg, classifier)
		a.tables = append(a.tables, td)
		return td
	}
	if cfg.SPM.Enabled {
		a.spm = def(spmTable)
	}
	a.pipelineExec, a.pipelineDur, a.termination = def(pipelineExecutions), def(pipelineDuration), def(terminations)
	a.agentExec, a.agentDur = def(agentExecutions), def(agentDuration)
	a.llmCalls, a.llmTokens, a.llmDur = def(llmCalls), def(llmTokens), def(llmDuration)
	a.llmCost, a.llmUnpriced = def(llmCost), def(llmUnpriced)
	a.dbDur, a.dbQueries = def(dbDuration), def(dbQueries)
	a.httpRequests, a.httpDur = def(httpRequests), def(httpDuration)
	a.interrupt = def(interrupts)
	return a, nil
}

// newTableDef builds the table of ft: its labels are the family fields, the
// family's configured dimensions, then the constant trailing label.
func newTableDef(ft familyTable, cfg *MetricsConfig, classifier *rules.Classifier) *tableDef {
	spec := ft.spec
	spec.Labels = append([]string(nil), spec.Labels...)
	fields := append([]int(nil), ft.fields...)
	names := rules.Fields(ft.family)
	for _, f := range ft.fields {
		spec.Labels = append(spec.Labels, names[f])
	}
	for i, d := range classifier.DimensionNames(ft.family) {
		spec.Labels = append(spec.Labels, d)
		fields = append(fields, len(names)+i)
	}
	if ft.extra != "" {
		spec.Labels = append(spec.Labels, ft.extra)
	}
	spec.Limit = cfg.SeriesLimit
	spec.Expiration = cfg.SeriesExpiration
	if spec.HistName != "" && cfg.Exemplars.Enabled {
		spec.MaxExemplars = cfg.Exemplars.MaxPerDataPoint
	}
	name := spec.SumName
	if ft.family == rules.FamilyNone {
		name = "traces.span.metrics" // one table for SPM calls and duration
	} else if name == "" {
		name = spec.HistName
	}
	td := newTable(name, spec)
	td.fields, td.extra, td.aliases = fields, ft.extra, ft.aliases
	return td
}

// newTable is a table for spec whose telemetry series carry metric=name.
func newTable(name string, spec aggregate.Spec) *tableDef {
	set := attribute.NewSet(attribute.String("metric", name))
	return &tableDef{name: name, attrSet: set, attrs: metric.WithAttributeSet(set), table: aggregate.NewTable(spec)}
}

// setExemplarPolicy is called when the sampling face of the same component ID
// is created, before either face starts.
func (a *aggregator) setExemplarPolicy(p exemplarPolicy) {
	a.mu.Lock()
	a.exemplars = p
	a.mu.Unlock()
}

// setCompletenessSource is called, like setExemplarPolicy, when the sampling
// face of the same component ID is created.
func (a *aggregator) setCompletenessSource(s completenessSource) {
	a.mu.Lock()
	a.traces = s
	a.mu.Unlock()
}

// registerTelemetry reports the series held per table.
func (a *aggregator) registerTelemetry() error {
	return a.tb.RegisterConnectorJeevesSeriesActiveCallback(func(_ context.Context, o metric.Int64Observer) error {
		for _, td := range a.tables {
			o.Observe(td.active.Load(), td.attrs)
		}
		if a.attribution != nil && a.attribution.fed.Load() {
			for _, td := range a.attribution.tables {
				o.Observe(td.active.Load(), td.attrs)
			}
		}
		return nil
	})
}

// consume aggregates one batch. It takes the lock once for the whole batch.
// Spans with an all-zero trace id or span id are skipped and counted here,
// once: the sampling face skips the same spans without counting them.
func (a *aggregator) consume(ctx context.Context, td ptrace.Traces) {
	now := pcommon.NewTimestampFromTime(a.now())
	spans := 0
	var zeroTrace, zeroSpan int64
	a.mu.Lock()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service, hasService := "", false
		if v, ok := rs.Resource().Attributes().Get(spmServiceName); ok && v.Type() == pcommon.ValueTypeStr {
			service, hasService = v.Str(), true
		}
		serviceID := a.cache.serviceID(service, hasService)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j).Spans()
			spans += ss.Len()
			for k := 0; k < ss.Len(); k++ {
				span := ss.At(k)
				switch traceOK, spanOK := validIDs(span); {
				case !traceOK:
					zeroTrace++
				case !spanOK:
					zeroSpan++
				default:
					a.consumeSpan(span, service, serviceID, now)
				}
			}
		}
	}
	for _, t := range a.tables {
		t.active.Store(int64(t.table.Len()))
	}
	a.mu.Unlock()
	a.tb.ConnectorJeevesSpansSeen.Add(ctx, int64(spans))
	if zeroTrace+zeroSpan > 0 {
		if zeroTrace > 0 {
			a.tb.ConnectorJeevesSpansInvalid.Add(ctx, zeroTrace, attrInvalidTraceID)
		}
		if zeroSpan > 0 {
			a.tb.ConnectorJeevesSpansInvalid.Add(ctx, zeroSpan, attrInvalidSpanID)
		}
		a.invalid.report(zeroTrace, zeroSpan)
	}
}

// consumeSpan aggregates one span; serviceID is 0 when the resource has no
// service.name.
func (a *aggregator) consumeSpan(span ptrace.Span, service string, serviceID uint32, now pcommon.Timestamp) {
	start, end := span.StartTimestamp(), span.EndTimestamp()
	var nanos float64
	if end > start {
		nanos = float64(end - start)
	}
	name, kind, status := span.Name(), span.Kind(), span.Status().Code()
	m := a.match
	a.classifier.Classify(name, kind, status == ptrace.StatusCodeError, span.Attributes(), m)

	ent := a.cache.lookup(serviceID, name, kind, status, m)
	if ent.spm == aggregate.RefUnresolved && (a.spm == nil || serviceID == 0) {
		ent.spm = aggregate.RefNone
	}
	if ent.spm != aggregate.RefNone {
		if ent.spm == aggregate.RefUnresolved {
			a.key.Reset()
			a.key.AddString(service)
			a.key.AddString(name)
			a.key.AddString(spanKindValue(kind))
			a.key.AddString(statusCodeValue(status))
			ent.spm = a.spm.table.Ref(a.key.Bytes(), now)
		}
		a.observe(a.spm.table.At(ent.spm, now), nanos/1e6, span)
	}
	a.consumeFamily(span, ent, nanos/1e9, now)
}

// consumeFamily updates the series of the span's Jeeves family, if any.
func (a *aggregator) consumeFamily(span ptrace.Span, ent *spanEntry, seconds float64, now pcommon.Timestamp) {
	m := a.match
	switch m.Family {
	case rules.FamilyPipeline:
		a.series(a.pipelineExec, ent, slotPipelineExecutions, "", now).Add(1)
		a.observe(a.series(a.pipelineDur, ent, slotPipelineDuration, "", now), seconds, span)
		if m.Value(rules.PipelineReason) != "" {
			a.series(a.termination, ent, slotTermination, "", now).Add(1)
		}
	case rules.FamilyAgent:
		a.series(a.agentExec, ent, slotAgentExecutions, "", now).Add(1)
		a.observe(a.series(a.agentDur, ent, slotAgentDuration, "", now), seconds, span)
	case rules.FamilyLLM:
		a.series(a.llmCalls, ent, slotLLMCalls, "", now).Add(1)
		if n, ok := m.Num(rules.LLMInputTokens); ok && n >= 0 {
			a.series(a.llmTokens, ent, slotLLMInputTokens, tokensInput, now).Add(n)
		}
		if n, ok := m.Num(rules.LLMOutputTokens); ok && n >= 0 {
			a.series(a.llmTokens, ent, slotLLMOutputTokens, tokensOutput, now).Add(n)
		}
		a.observe(a.series(a.llmDur, ent, slotLLMDuration, "", now), seconds, span)
		if cost, ok := callCost(span.Attributes(), a.prices, m); ok {
			a.series(a.llmCost, ent, slotLLMCost, "", now).AddFloat(cost)
		} else {
			a.series(a.llmUnpriced, ent, slotLLMUnpriced, "", now).Add(1)
		}
	case rules.FamilyDB:
		a.observe(a.series(a.dbDur, ent, slotDBDuration, "", now), seconds, span)
		a.series(a.dbQueries, ent, slotDBQueries, "", now).Add(1)
	case rules.FamilyHTTP:
		a.series(a.httpRequests, ent, slotHTTPRequests, "", now).Add(1)
		a.observe(a.series(a.httpDur, ent, slotHTTPDuration, "", now), seconds, span)
	case rules.FamilyInterrupt:
		a.series(a.interrupt, ent, slotInterrupts, "", now).Add(1)
	}
}

// series resolves the entry's reference in slot on first use and returns its
// series, marked as updated.
func (a *aggregator) series(td *tableDef, ent *spanEntry, slot int, extra string, now pcommon.Timestamp) *aggregate.Series {
	ref := &ent.refs[slot]
	if *ref == aggregate.RefUnresolved {
		*ref = td.table.Ref(a.buildKey(td, extra), now)
	}
	return td.table.At(*ref, now)
}

func (a *aggregator) buildKey(td *tableDef, extra string) []byte {
	a.key.Reset()
	for _, f := range td.fields {
		a.key.AddString(a.match.Value(f))
	}
	if td.extra != "" {
		a.key.AddString(extra)
	}
	return a.key.Bytes()
}

// observe records a duration and, while the data point's reservoir has room,
// the span as its exemplar (consume lets through only spans with valid ids).
func (a *aggregator) observe(s *aggregate.Series, v float64, span ptrace.Span) {
	s.Observe(v)
	if !s.WantsExemplar() {
		return
	}
	tid := span.TraceID()
	if a.exemplars != nil && !a.exemplars.AdmitExemplar(tid, span.TraceState().AsRaw()) {
		return
	}
	s.AddExemplar(aggregate.Exemplar{TraceID: tid, SpanID: span.SpanID(), Time: span.EndTimestamp(), Value: v})
}

// collect expires stale series and builds the cumulative metrics of every
// table. It returns an empty pmetric.Metrics when there is nothing to emit.
func (a *aggregator) collect(ctx context.Context) pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	now := pcommon.NewTimestampFromTime(a.now())

	type counts struct{ overflowed, expired int64 }
	deltas := make([]counts, len(a.tables))
	moved := false
	a.mu.Lock()
	var keep aggregate.KeepExemplarFunc
	if a.exemplars != nil {
		keep = a.exemplars.ExemplarDecision
	}
	for i, td := range a.tables {
		moved = td.table.Expire(now) || moved
		from := sm.Metrics().Len()
		td.table.AppendTo(sm.Metrics(), now, keep)
		appendAliases(sm.Metrics(), from, td.aliases)
		deltas[i].overflowed, deltas[i].expired = td.table.TakeCounts()
		td.active.Store(int64(td.table.Len()))
	}
	if a.traces != nil {
		if c, ok := a.traces.Completeness(); ok {
			appendCompleteness(sm.Metrics(), c, a.start, now)
		}
	}
	if a.dailyBudget > 0 {
		appendDailyBudget(sm.Metrics(), a.dailyBudget, now)
	}
	var attributed [][2]int64
	if a.attribution != nil {
		attributed = a.attribution.appendTo(sm.Metrics(), now)
	}
	if moved {
		// Series moved: the cached references are stale. Service ids are not
		// series references and stay valid.
		a.cache.resetEntries()
	}
	a.mu.Unlock()

	for i, td := range a.tables {
		if deltas[i].overflowed > 0 {
			a.tb.ConnectorJeevesSpansOverflowed.Add(ctx, deltas[i].overflowed, td.attrs)
		}
		if deltas[i].expired > 0 {
			a.tb.ConnectorJeevesSeriesExpired.Add(ctx, deltas[i].expired, td.attrs)
		}
	}
	for i, c := range attributed {
		td := a.attribution.tables[i]
		if c[0] > 0 {
			a.tb.ConnectorJeevesSpansOverflowed.Add(ctx, c[0], td.attrs)
		}
		if c[1] > 0 {
			a.tb.ConnectorJeevesSeriesExpired.Add(ctx, c[1], td.attrs)
		}
	}
	if sm.Metrics().Len() == 0 {
		return pmetric.NewMetrics()
	}
	return md
}

// appendAliases appends, for each metric from index from on that has an
// alias, a copy under the alias name and description.
func appendAliases(ms pmetric.MetricSlice, from int, aliases map[string]alias) {
	if len(aliases) == 0 {
		return
	}
	for i, end := from, ms.Len(); i < end; i++ {
		al, ok := aliases[ms.At(i).Name()]
		if !ok {
			continue
		}
		dup := ms.AppendEmpty()
		ms.At(i).CopyTo(dup)
		dup.SetName(al.name)
		dup.SetDescription(al.description)
	}
}
