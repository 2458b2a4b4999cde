package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type attrs map[attribute.Key]attribute.Value

func attrsOf(kvs []attribute.KeyValue) attrs {
	a := make(attrs, len(kvs))
	for _, kv := range kvs {
		a[kv.Key] = kv.Value
	}
	return a
}

func (a attrs) str(keys ...string) (string, bool) {
	for _, k := range keys {
		if v, ok := a[attribute.Key(k)]; ok {
			return v.AsString(), true
		}
	}
	return "", false
}

func (a attrs) int(keys ...string) (int64, bool) {
	for _, k := range keys {
		if v, ok := a[attribute.Key(k)]; ok {
			return v.AsInt64(), true
		}
	}
	return 0, false
}

func (a attrs) float(key string) (float64, bool) {
	if v, ok := a[attribute.Key(key)]; ok && v.Type() == attribute.FLOAT64 {
		return v.AsFloat64(), true
	}
	return 0, false
}

var inferenceOps = map[string]bool{"chat": true, "text_completion": true, "embeddings": true, "generate_content": true}

// recompute rebuilds a manifest from recorded spans using only the rules
// written on the Manifest fields — never the generator's plan.
func recompute(t *testing.T, stubs tracetest.SpanStubs, cfg Config) *Manifest {
	t.Helper()
	m := NewManifest(cfg)
	type agg struct {
		rootStart time.Time
		root      *tracetest.SpanStub
		rec       TraceRecord
	}
	traces := map[trace.TraceID]*agg{}
	for i := range stubs {
		s := &stubs[i]
		a := attrsOf(s.Attributes)
		svc, _ := attrsOf(s.Resource.Attributes()).str("service.name")
		m.Spans++
		m.SpansByService[svc]++
		m.SpansByName[s.Name]++
		byKind := nestedIn(nestedIn(m.SPM.Calls, svc), s.Name)
		countsIn(byKind, SpanKindLabel(s.SpanKind))[StatusCodeLabel(s.Status.Code)]++

		tid := s.SpanContext.TraceID()
		tr := traces[tid]
		if tr == nil {
			tr = &agg{}
			traces[tid] = tr
		}
		tr.rec.Spans++
		if s.Status.Code == codes.Error {
			tr.rec.Error = true
		}
		if !s.Parent.IsValid() {
			if tr.root != nil {
				t.Fatalf("trace %s has two roots", tid)
			}
			tr.root = s
		}

		d := s.EndTime.Sub(s.StartTime)
		spanStatus := "success"
		if s.Status.Code == codes.Error {
			spanStatus = "error"
		}
		op, _ := a.str("gen_ai.operation.name")
		_, isDB := a.str("db.system.name", "db.system")
		switch {
		case s.Name == "pipeline.execute":
			pipeline, _ := a.str("jeeves.pipeline.name", "pipeline_name")
			status, ok := a.str("pipeline.status")
			if !ok {
				status = spanStatus
			}
			countsIn(m.Pipelines.Executions, pipeline)[status]++
			histIn(m.Pipelines.Durations, pipeline, pipelineBoundsNs).observe(d)
			if reason, ok := a.str("termination.reason"); ok && status == "terminated" {
				countsIn(m.Pipelines.Terminations, pipeline)[NormalizeReason(reason)]++
			}
			_, tr.rec.LaterGen = a.str("pipeline_name")
			tr.rec.Pipeline, tr.rec.PipelineStatus = pipeline, status
			tr.rec.Terminated = status == "terminated"
		case s.Name == "agent.process" || (strings.HasPrefix(s.Name, "agent.") &&
			s.Name != "agent.llm_call" && s.Name != "agent.tool_execution"):
			agent, ok := a.str("jeeves.agent.name")
			if s.Name != "agent.process" {
				agent, ok = strings.TrimPrefix(s.Name, "agent."), true
			}
			if !ok {
				t.Fatalf("agent span %s without a name", s.Name)
			}
			countsIn(m.Agents.Executions, agent)[spanStatus]++
			histIn(m.Agents.Durations, agent, agentBoundsNs).observe(d)
		case s.Name == "llm.provider.call" || s.Name == "agent.llm_call" || inferenceOps[op]:
			var provider, model string
			var in, out int64
			var hasIn, hasOut bool
			switch s.Name {
			case "llm.provider.call":
				provider, _ = a.str("jeeves.llm.provider")
				model, _ = a.str("jeeves.llm.model")
				in, hasIn = a.int("jeeves.llm.tokens.prompt")
				out, hasOut = a.int("jeeves.llm.tokens.completion")
			case "agent.llm_call":
				provider = UnknownLabel
				model, _ = a.str("model_role")
			default:
				provider, _ = a.str("gen_ai.provider.name", "gen_ai.system")
				model, _ = a.str("gen_ai.response.model", "gen_ai.request.model")
				in, hasIn = a.int("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
				out, hasOut = a.int("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
			}
			countsIn(nestedIn(m.LLM.Calls, provider), model)[spanStatus]++
			histIn(nestedIn(m.LLM.Durations, provider), model, llmBoundsNs).observe(d)
			if hasIn || hasOut {
				tok := countsIn(nestedIn(m.LLM.Tokens, provider), model)
				if hasIn {
					tok["input"] += in
				}
				if hasOut {
					tok["output"] += out
				}
			}
		case isDB:
			dbop, _ := a.str("db.operation.name", "db.operation")
			histIn(m.DB.Durations, strings.ToLower(dbop), dbBoundsNs).observe(d)
		}
	}
	recomputeCosts(&m.Cost, stubs)
	list := make([]*agg, 0, len(traces))
	for tid, tr := range traces {
		if tr.root == nil {
			t.Fatalf("trace %s has no root", tid)
		}
		d := tr.root.EndTime.Sub(tr.root.StartTime)
		tr.rootStart = tr.root.StartTime
		tr.rec.TraceID = tid.String()
		tr.rec.DurationSeconds = d.Seconds()
		tr.rec.Slow = d >= SlowThreshold
		list = append(list, tr)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].rootStart.Before(list[j].rootStart) })
	for _, tr := range list {
		m.Traces++
		if tr.rec.Error {
			m.Classes.Error++
		}
		if tr.rec.Slow {
			m.Classes.Slow++
		}
		if tr.rec.Terminated {
			m.Classes.Terminated++
		}
		if tr.rec.LaterGen {
			m.Classes.LaterGen++
		}
		if cfg.TraceList {
			m.TraceList = append(m.TraceList, tr.rec)
		}
	}
	return m
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func diffJSON(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(gl) && i < len(wl); i++ {
		if gl[i] != wl[i] {
			lo := max(0, i-8)
			t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\ncontext:\n%s", what, i+1, gl[i], wl[i], strings.Join(wl[lo:i+1], "\n"))
		}
	}
	t.Fatalf("%s differs in length: %d vs %d lines", what, len(gl), len(wl))
}

func runConfig() Config {
	cfg := DefaultConfig()
	cfg.Seed, cfg.Traces, cfg.TraceList = 21, 3000, true
	cfg.ErrorRatio, cfg.SlowRatio, cfg.TerminatedRatio, cfg.LaterGenRatio = 0.2, 0.1, 0.15, 0.1
	// Many batches, a partial last one, several in flight.
	cfg.BatchSize, cfg.Exporters = 500, 3
	return cfg
}

// TestRunMatchesRecordedSpans sends traffic into an in-memory exporter and
// recomputes every manifest number from the recorded spans alone.
func TestRunMatchesRecordedSpans(t *testing.T) {
	cfg := runConfig()
	exp := tracetest.NewInMemoryExporter()
	m, err := Run(context.Background(), cfg, exp)
	if err != nil {
		t.Fatal(err)
	}
	stubs := exp.GetSpans()
	if int64(len(stubs)) != m.Spans || m.Traces != int64(cfg.Traces) {
		t.Fatalf("recorded %d spans, manifest %d spans / %d traces", len(stubs), m.Spans, m.Traces)
	}
	checkConsistency(t, m)
	diffJSON(t, "manifest recomputed from spans", mustJSON(t, recompute(t, stubs, cfg)), mustJSON(t, m))

	planned, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	diffJSON(t, "Plan manifest", mustJSON(t, planned), mustJSON(t, m))

	checkSpanDetails(t, stubs)
}

// checkSpanDetails asserts the attribute-level promises of the Jeeves span
// shapes (docs/jeeves-telemetry.md#span-families).
func checkSpanDetails(t *testing.T, stubs tracetest.SpanStubs) {
	t.Helper()
	bySpanID := map[trace.SpanID]*tracetest.SpanStub{}
	children := map[trace.SpanID][]*tracetest.SpanStub{}
	for i := range stubs {
		s := &stubs[i]
		if bySpanID[s.SpanContext.SpanID()] != nil {
			t.Fatalf("span id %s used twice", s.SpanContext.SpanID())
		}
		bySpanID[s.SpanContext.SpanID()] = s
		if s.Parent.IsValid() {
			children[s.Parent.SpanID()] = append(children[s.Parent.SpanID()], s)
		}
		if s.DroppedAttributes+s.DroppedEvents+s.DroppedLinks != 0 {
			t.Fatalf("span %s dropped data", s.Name)
		}
		res := attrsOf(s.Resource.Attributes())
		if v, _ := res.str("service.version"); v != "4.0.0" {
			t.Fatalf("span %s: service.version %q", s.Name, v)
		}
		if v, _ := res.str("deployment.environment"); v != "development" {
			t.Fatalf("span %s: deployment.environment %q", s.Name, v)
		}
	}
	isInference := func(s *tracetest.SpanStub) bool {
		op, _ := attrsOf(s.Attributes).str("gen_ai.operation.name")
		return s.Name == "llm.provider.call" || inferenceOps[op]
	}
	for i := range stubs {
		s := &stubs[i]
		a := attrsOf(s.Attributes)
		d := s.EndTime.Sub(s.StartTime)
		if p := bySpanID[s.Parent.SpanID()]; s.Parent.IsValid() {
			if p == nil {
				t.Fatalf("span %s: parent not exported", s.Name)
			}
			if s.StartTime.Before(p.StartTime) || s.EndTime.After(p.EndTime) {
				t.Fatalf("span %s outside its parent %s", s.Name, p.Name)
			}
		}
		wantMs := func(key string) {
			if v, ok := a.int(key); !ok || v != d.Milliseconds() || d%time.Millisecond != 0 {
				t.Fatalf("span %s: %s = %d (present %v), duration %v", s.Name, key, v, ok, d)
			}
		}
		hasException := false
		for _, ev := range s.Events {
			if ev.Name == "exception" {
				hasException = true
			}
		}
		switch {
		case s.Name == "pipeline.execute":
			if _, later := a.str("pipeline_name"); !later {
				wantMs("pipeline.duration_ms")
			}
		case s.Name == "agent.process":
			wantMs("duration_ms")
			calls := int64(0)
			for _, c := range children[s.SpanContext.SpanID()] {
				if isInference(c) {
					calls++
				}
				for _, gc := range children[c.SpanContext.SpanID()] {
					if isInference(gc) {
						calls++
					}
				}
			}
			if v, _ := a.int("jeeves.llm.calls"); v != calls {
				t.Fatalf("agent.process: jeeves.llm.calls = %d, %d inference spans below it", v, calls)
			}
		case s.Name == "llm.provider.call" && s.Status.Code != codes.Error:
			wantMs("jeeves.llm.latency_ms")
			p, _ := a.int("jeeves.llm.tokens.prompt")
			c, _ := a.int("jeeves.llm.tokens.completion")
			if tot, _ := a.int("jeeves.llm.tokens.total"); tot != p+c || p <= 0 || c <= 0 {
				t.Fatalf("llm.provider.call tokens %d + %d != total %d", p, c, tot)
			}
		case strings.HasPrefix(s.Name, "invoke_agent "):
			var in, out int64
			for _, c := range children[s.SpanContext.SpanID()] {
				ca := attrsOf(c.Attributes)
				v, _ := ca.int("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
				in += v
				v, _ = ca.int("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
				out += v
			}
			gotIn, _ := a.int("gen_ai.usage.input_tokens")
			gotOut, _ := a.int("gen_ai.usage.output_tokens")
			if gotIn != in || gotOut != out || in == 0 {
				t.Fatalf("%s carries %d/%d tokens, its calls %d/%d", s.Name, gotIn, gotOut, in, out)
			}
		}
		jeevesSpan := s.Name == "pipeline.execute" || s.Name == "agent.process" || s.Name == "llm.provider.call"
		if jeevesSpan && (s.Status.Code == codes.Error) != hasException {
			t.Fatalf("span %s: status %v, exception event %v", s.Name, s.Status.Code, hasException)
		}
		if _, genai := a.str("gen_ai.request.model"); genai && inferenceOps[func() string { v, _ := a.str("gen_ai.operation.name"); return v }()] {
			_, hasErrType := a.str("error.type")
			if (s.Status.Code == codes.Error) != hasErrType {
				t.Fatalf("span %s: status %v, error.type %v", s.Name, s.Status.Code, hasErrType)
			}
		}
	}
}

// Two runs with the same seed send the same spans: same ids, names, durations.
func TestRunIsDeterministic(t *testing.T) {
	cfg := runConfig()
	cfg.Traces = 300
	key := func(stubs tracetest.SpanStubs) []string {
		out := make([]string, len(stubs))
		for i, s := range stubs {
			out[i] = s.SpanContext.TraceID().String() + s.SpanContext.SpanID().String() +
				s.Parent.SpanID().String() + s.Name + s.EndTime.Sub(s.StartTime).String()
		}
		sort.Strings(out)
		return out
	}
	var runs [2][]string
	for i := range runs {
		exp := tracetest.NewInMemoryExporter()
		if _, err := Run(context.Background(), cfg, exp); err != nil {
			t.Fatal(err)
		}
		runs[i] = key(exp.GetSpans())
	}
	if strings.Join(runs[0], "\n") != strings.Join(runs[1], "\n") {
		t.Fatal("two runs with the same seed sent different spans")
	}
}

// countingExporter records batch sizes and the most exports seen in flight.
type countingExporter struct {
	delay     time.Duration
	failFrom  int64 // fail every call from this one on (0 = never)
	onCall    func(n int64)
	calls     atomic.Int64
	spans     atomic.Int64
	inflight  atomic.Int64
	mu        sync.Mutex
	maxFlight int64
	maxBatch  int
}

func (e *countingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	n := e.calls.Add(1)
	if e.onCall != nil {
		e.onCall(n)
	}
	f := e.inflight.Add(1)
	defer e.inflight.Add(-1)
	e.mu.Lock()
	e.maxFlight = max(e.maxFlight, f)
	e.maxBatch = max(e.maxBatch, len(spans))
	e.mu.Unlock()
	time.Sleep(e.delay)
	if e.failFrom > 0 && n >= e.failFrom {
		return errors.New("collector unavailable")
	}
	e.spans.Add(int64(len(spans)))
	return nil
}

func (*countingExporter) Shutdown(context.Context) error { return nil }

// A slow exporter makes the generator wait: nothing is dropped, batches and
// in-flight exports stay within their bounds.
func TestRunBlocksInsteadOfDropping(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Traces, cfg.BatchSize, cfg.Exporters = 400, 16, 2
	exp := &countingExporter{delay: 2 * time.Millisecond}
	m, err := Run(context.Background(), cfg, exp)
	if err != nil {
		t.Fatal(err)
	}
	if got := exp.spans.Load(); got != m.Spans {
		t.Fatalf("exporter got %d spans, manifest says %d", got, m.Spans)
	}
	if exp.maxBatch != 16 {
		t.Fatalf("largest batch %d, want exactly the batch size 16", exp.maxBatch)
	}
	if exp.maxFlight != 2 {
		t.Fatalf("at most %d exports in flight, want exactly 2", exp.maxFlight)
	}
	if want := (m.Spans + 15) / 16; exp.calls.Load() != want {
		t.Fatalf("%d export calls, want %d", exp.calls.Load(), want)
	}
}

func TestRunFailsLoudlyOnExportError(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Traces, cfg.BatchSize, cfg.Exporters = 100000, 64, 1
	exp := &countingExporter{failFrom: 3}
	start := time.Now()
	m, err := Run(context.Background(), cfg, exp)
	if err == nil {
		t.Fatal("Run succeeded although exports failed")
	}
	if !strings.Contains(err.Error(), "collector unavailable") || !strings.Contains(err.Error(), "export failed (128 of ") {
		t.Fatalf("error %q does not say what failed", err)
	}
	if m.Traces >= int64(cfg.Traces) {
		t.Fatalf("Run kept generating after the failure: %d traces", m.Traces)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Run took %v to give up", time.Since(start))
	}
}

// Cancelling stops generation; the manifest still describes what was sent.
func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := DefaultConfig()
	cfg.Traces, cfg.BatchSize, cfg.Exporters = 1_000_000, 64, 1
	exp := &countingExporter{onCall: func(n int64) {
		if n == 5 {
			cancel()
		}
	}}
	m, err := Run(ctx, cfg, exp)
	if err != nil {
		t.Fatal(err)
	}
	if m.Traces == 0 || m.Traces >= int64(cfg.Traces) {
		t.Fatalf("sent %d traces", m.Traces)
	}
	if exp.spans.Load() != m.Spans {
		t.Fatalf("exporter got %d spans, manifest says %d", exp.spans.Load(), m.Spans)
	}
	cfg.Traces = int(m.Traces)
	planned, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	planned.Config = m.Config
	diffJSON(t, "manifest of a cancelled run", mustJSON(t, m), mustJSON(t, planned))
}

func TestRunHonoursRateAndDuration(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Traces, cfg.Rate = 0, 100
	cfg.Duration = 300 * time.Millisecond
	start := time.Now()
	m, err := Run(context.Background(), cfg, &countingExporter{})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	// 100/s for 0.3 s starts traces 0..29 (trace 30 would start at 0.3 s).
	if m.Traces < 1 || m.Traces > 31 {
		t.Fatalf("sent %d traces in %v at 100/s, want about 30", m.Traces, elapsed)
	}
	if elapsed < 280*time.Millisecond || elapsed > 3*time.Second {
		t.Fatalf("run took %v, want about 300ms", elapsed)
	}

	cfg.Duration, cfg.Traces, cfg.Rate = 0, 41, 200
	start = time.Now()
	if _, err := Run(context.Background(), cfg, &countingExporter{}); err != nil {
		t.Fatal(err)
	}
	// The 41st trace starts 40/200 s = 200 ms after the first.
	if elapsed := time.Since(start); elapsed < 195*time.Millisecond {
		t.Fatalf("41 traces at 200/s took %v, want >= 200ms", elapsed)
	}
}

func TestRunRejectsInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ErrorRatio = 2
	if _, err := Run(context.Background(), cfg, &countingExporter{}); err == nil ||
		err.Error() != "error_ratio must be in [0, 1], got 2" {
		t.Fatalf("Run() error = %v", err)
	}
}

// BenchmarkRun measures generating and emitting one trace through the SDK into
// an exporter that discards it (planning + span creation + batching).
func BenchmarkRun(b *testing.B) {
	b.ReportAllocs()
	cfg := DefaultConfig()
	cfg.Traces = b.N
	b.ResetTimer()
	m, err := Run(context.Background(), cfg, tracetest.NewNoopExporter())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(m.Spans)/b.Elapsed().Seconds(), "spans/s")
}

// recomputeCosts derives the cost truth from the recorded spans: each LLM call's cost from its
// jeeves.llm.cost_usd or its tokens at Prices, attributed through the parent ids of the spans that
// were exported.
func recomputeCosts(c *CostTruth, stubs tracetest.SpanStubs) {
	byID := map[trace.SpanID]*tracetest.SpanStub{}
	roots := map[trace.TraceID]string{}
	for i := range stubs {
		s := &stubs[i]
		byID[s.SpanContext.SpanID()] = s
		if !s.Parent.IsValid() && s.Name == "pipeline.execute" {
			roots[s.SpanContext.TraceID()], _ = attrsOf(s.Attributes).str("jeeves.pipeline.name", "pipeline_name")
		}
	}
	agentOf := func(s *tracetest.SpanStub) (string, bool) {
		a := attrsOf(s.Attributes)
		switch {
		case s.Name == "agent.process":
			return a.str("jeeves.agent.name")
		case strings.HasPrefix(s.Name, "agent.") && s.Name != "agent.llm_call" && s.Name != "agent.tool_execution":
			return strings.TrimPrefix(s.Name, "agent."), true
		}
		if op, _ := a.str("gen_ai.operation.name"); op == "invoke_agent" {
			return a.str("gen_ai.agent.name")
		}
		return "", false
	}
	for i := range stubs {
		s := &stubs[i]
		a := attrsOf(s.Attributes)
		op, _ := a.str("gen_ai.operation.name")
		var provider, model string
		var in, out int64
		var hasIn, hasOut bool
		switch {
		case s.Name == "llm.provider.call":
			provider, _ = a.str("jeeves.llm.provider")
			model, _ = a.str("jeeves.llm.model")
			in, hasIn = a.int("jeeves.llm.tokens.prompt")
			out, hasOut = a.int("jeeves.llm.tokens.completion")
		case s.Name == "agent.llm_call":
			provider = UnknownLabel
			model, _ = a.str("model_role")
		case inferenceOps[op]:
			provider, _ = a.str("gen_ai.provider.name", "gen_ai.system")
			model, _ = a.str("gen_ai.response.model", "gen_ai.request.model")
			in, hasIn = a.int("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
			out, hasOut = a.int("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
		default:
			continue
		}
		pipeline, agent := "", ""
		for p := byID[s.Parent.SpanID()]; p != nil && s.Parent.IsValid() && (pipeline == "" || agent == ""); {
			if p.Name == "pipeline.execute" && pipeline == "" {
				pipeline, _ = attrsOf(p.Attributes).str("jeeves.pipeline.name", "pipeline_name")
			} else if name, ok := agentOf(p); ok && agent == "" {
				agent = name
			}
			if !p.Parent.IsValid() {
				break
			}
			p = byID[p.Parent.SpanID()]
		}
		if pipeline == "" {
			pipeline = roots[s.SpanContext.TraceID()]
			if pipeline == "" {
				pipeline = UnknownLabel
			}
		}
		if agent == "" {
			agent = UnknownLabel
		}
		if hasIn || hasOut {
			tok := countsIn(c.PipelineTokens, pipeline)
			if hasIn {
				tok["input"] += in
			}
			if hasOut {
				tok["output"] += out
			}
		}
		cost, priced := 0.0, false
		if v, ok := a.float("jeeves.llm.cost_usd"); ok {
			cost, priced = v, true
		} else {
			cost, priced = CallCost(provider, model, in, out)
		}
		if !priced {
			countsIn(c.Unpriced, provider)[model]++
			continue
		}
		c.addCall(provider, model, pipeline, agent, cost)
	}
}
