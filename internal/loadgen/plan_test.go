package loadgen

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
)

func planJSON(t *testing.T, cfg Config) (*Manifest, []byte) {
	t.Helper()
	m, err := Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

func TestPlanIsDeterministic(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed, cfg.Traces, cfg.TraceList = 7, 2000, true
	m1, j1 := planJSON(t, cfg)
	_, j2 := planJSON(t, cfg)
	if string(j1) != string(j2) {
		t.Fatal("same seed gave different manifests")
	}

	cfg.Seed = 8
	m3, j3 := planJSON(t, cfg)
	if string(j1) == string(j3) {
		t.Fatal("different seeds gave the same manifest")
	}
	ids := map[string]bool{}
	for _, r := range m1.TraceList {
		ids[r.TraceID] = true
	}
	if len(ids) != 2000 {
		t.Fatalf("seed 7: %d distinct trace ids, want 2000", len(ids))
	}
	for _, r := range m3.TraceList {
		if ids[r.TraceID] {
			t.Fatalf("seed 8 reuses trace id %s of seed 7", r.TraceID)
		}
	}
}

// Trace i depends only on (seed, i): a shorter run is a prefix of a longer one.
func TestPlanShorterRunIsPrefix(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed, cfg.Traces, cfg.TraceList = 3, 300, true
	short, _ := planJSON(t, cfg)
	cfg.Traces = 900
	long, _ := planJSON(t, cfg)
	for i, r := range short.TraceList {
		if long.TraceList[i] != r {
			t.Fatalf("trace %d differs: %+v vs %+v", i, r, long.TraceList[i])
		}
	}
}

func sumCounts(c Counts) int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

func checkHistogram(t *testing.T, what string, h *Histogram, bounds []float64) {
	t.Helper()
	if len(h.BucketCounts) != len(bounds)+1 {
		t.Errorf("%s: %d buckets, want %d", what, len(h.BucketCounts), len(bounds)+1)
	}
	var n int64
	for _, c := range h.BucketCounts {
		n += c
	}
	if n != h.Count {
		t.Errorf("%s: buckets sum to %d, count is %d", what, n, h.Count)
	}
	if h.Count > 0 && h.SumSeconds <= 0 {
		t.Errorf("%s: sum %v with count %d", what, h.SumSeconds, h.Count)
	}
}

// checkConsistency asserts every way of adding up the manifest agrees.
func checkConsistency(t *testing.T, m *Manifest) {
	t.Helper()
	if got := sumCounts(m.SpansByService); got != m.Spans {
		t.Errorf("spans by service sum to %d, spans = %d", got, m.Spans)
	}
	if got := sumCounts(m.SpansByName); got != m.Spans {
		t.Errorf("spans by name sum to %d, spans = %d", got, m.Spans)
	}
	var spm int64
	for _, byName := range m.SPM.Calls {
		for _, byKind := range byName {
			for _, byStatus := range byKind {
				spm += sumCounts(byStatus)
			}
		}
	}
	if spm != m.Spans {
		t.Errorf("spm calls sum to %d, spans = %d", spm, m.Spans)
	}
	var pipes, pipeHist int64
	for p, c := range m.Pipelines.Executions {
		pipes += sumCounts(c)
		h := m.Pipelines.Durations[p]
		checkHistogram(t, "pipeline "+p, h, PipelineBucketBounds)
		pipeHist += h.Count
		if h.Count != sumCounts(c) {
			t.Errorf("pipeline %s: %d executions, %d durations", p, sumCounts(c), h.Count)
		}
		if term := sumCounts(m.Pipelines.Terminations[p]); term != c["terminated"] {
			t.Errorf("pipeline %s: %d terminations, %d terminated executions", p, term, c["terminated"])
		}
	}
	if pipes != m.Traces || m.SpansByName["pipeline.execute"] != m.Traces {
		t.Errorf("%d pipeline executions, %d pipeline spans, %d traces", pipes, m.SpansByName["pipeline.execute"], m.Traces)
	}
	var agents int64
	for a, c := range m.Agents.Executions {
		agents += sumCounts(c)
		h := m.Agents.Durations[a]
		checkHistogram(t, "agent "+a, h, AgentBucketBounds)
		if h.Count != sumCounts(c) {
			t.Errorf("agent %s: %d executions, %d durations", a, sumCounts(c), h.Count)
		}
	}
	agentSpans := m.SpansByName["agent.process"]
	for _, a := range ReferenceAgents {
		agentSpans += m.SpansByName["agent."+a]
	}
	if agents != agentSpans {
		t.Errorf("%d agent executions, %d agent spans", agents, agentSpans)
	}
	var llm int64
	for p, byModel := range m.LLM.Calls {
		for model, c := range byModel {
			llm += sumCounts(c)
			h := m.LLM.Durations[p][model]
			checkHistogram(t, "llm "+p+"/"+model, h, LLMBucketBounds)
			if h.Count != sumCounts(c) {
				t.Errorf("llm %s/%s: %d calls, %d durations", p, model, sumCounts(c), h.Count)
			}
		}
	}
	if llm == 0 {
		t.Error("no LLM calls")
	}
	for op, h := range m.DB.Durations {
		checkHistogram(t, "db "+op, h, DBBucketBounds)
	}
	if m.TraceList != nil {
		if int64(len(m.TraceList)) != m.Traces {
			t.Errorf("%d trace records, %d traces", len(m.TraceList), m.Traces)
		}
		var spans int64
		var c Classes
		for _, r := range m.TraceList {
			spans += int64(r.Spans)
			if r.Error {
				c.Error++
			}
			if r.Slow {
				c.Slow++
			}
			if r.Terminated {
				c.Terminated++
			}
			if r.LaterGen {
				c.LaterGen++
			}
		}
		if spans != m.Spans {
			t.Errorf("trace records hold %d spans, spans = %d", spans, m.Spans)
		}
		if c != m.Classes {
			t.Errorf("trace records give classes %+v, manifest %+v", c, m.Classes)
		}
	}
}

func TestManifestIsConsistent(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed, cfg.Traces, cfg.TraceList = 11, 3000, true
	cfg.ErrorRatio, cfg.SlowRatio, cfg.TerminatedRatio, cfg.LaterGenRatio = 0.2, 0.1, 0.1, 0.1
	m, _ := planJSON(t, cfg)
	checkConsistency(t, m)
	// Every family and shape shows up at these ratios.
	for _, name := range []string{
		"llm.provider.call", "agent.llm_call", "agent.tool_execution", "kernel.ipc",
		"invoke_agent planner", "chat gpt-4o", "embeddings text-embedding-3-small",
		"text_completion gpt-3.5-turbo-instruct", "agent.traverser",
	} {
		if m.SpansByName[name] == 0 {
			t.Errorf("no %q spans", name)
		}
	}
	for _, op := range []string{"select", "insert", "update", "delete"} {
		if m.DB.Durations[op] == nil {
			t.Errorf("no DB %s spans", op)
		}
	}
	for _, status := range []string{"success", "error", "terminated"} {
		if m.Pipelines.Executions["reference"][status] == 0 {
			t.Errorf("no reference pipeline with status %s", status)
		}
	}
	if m.LLM.Calls["unknown"]["planner"]["success"] == 0 {
		t.Error("no agent.llm_call counted under provider unknown, model planner")
	}
	if m.LLM.Tokens["openai"]["text-embedding-3-small"]["output"] != 0 {
		t.Error("embeddings reported output tokens")
	}
	if m.LLM.Tokens["openai"]["gpt-4o-2024-08-06"]["input"] == 0 {
		t.Error("GenAI response model has no input tokens")
	}
}

func TestRatiosAreHonoured(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		errR, slowR, termR, laterR float64
	}{
		{name: "defaults", errR: 0.05, slowR: 0.02, termR: 0.03, laterR: 0.05},
		{name: "high", errR: 0.5, slowR: 0.3, termR: 0.2, laterR: 0.4},
		{name: "none", errR: 0, slowR: 0, termR: 0, laterR: 0},
		{name: "all", errR: 1, slowR: 1, termR: 1, laterR: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Seed, cfg.Traces = 5, 10000
			cfg.ErrorRatio, cfg.SlowRatio, cfg.TerminatedRatio, cfg.LaterGenRatio = tc.errR, tc.slowR, tc.termR, tc.laterR
			m, _ := planJSON(t, cfg)
			n := float64(m.Traces)
			check := func(what string, got int64, p float64) {
				t.Helper()
				// Five standard deviations, and at least one trace of slack.
				tol := 5*math.Sqrt(p*(1-p)/n) + 1/n
				if r := float64(got) / n; math.Abs(r-p) > tol {
					t.Errorf("%s ratio %.4f, want %.4f ± %.4f", what, r, p, tol)
				}
			}
			check("error", m.Classes.Error, tc.errR)
			check("slow", m.Classes.Slow, tc.slowR)
			check("terminated", m.Classes.Terminated, tc.termR)
			// Terminated traces always use the current shapes.
			check("later_gen", m.Classes.LaterGen, tc.laterR*(1-tc.termR))
		})
	}
}

// TestTracePlansKeepTheirPromises checks each trace's class flags against its
// spans: what a tail sampler or latency rule would see.
func TestTracePlansKeepTheirPromises(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed = 99
	cfg.ErrorRatio, cfg.SlowRatio, cfg.TerminatedRatio, cfg.LaterGenRatio = 0.3, 0.2, 0.2, 0.2
	g := NewGenerator(cfg)
	bounds := map[role][]int64{
		rolePipeline: pipelineBoundsNs, roleAgent: agentBoundsNs, roleLLM: llmBoundsNs, roleDB: dbBoundsNs,
	}
	for i := range 3000 {
		tp := g.Trace(i)
		if tp.Spans[0].Parent != -1 {
			t.Fatalf("trace %d: first span is not the root", i)
		}
		anyErr := false
		for k, sp := range tp.Spans {
			if k > 0 {
				if sp.Parent < 0 || sp.Parent >= k {
					t.Fatalf("trace %d span %d (%s): parent %d does not precede it", i, k, sp.Name, sp.Parent)
				}
				p := tp.Spans[sp.Parent]
				if sp.Start < p.Start || sp.End > p.End {
					t.Fatalf("trace %d span %d (%s) [%v,%v] outside parent %s [%v,%v]",
						i, k, sp.Name, sp.Start, sp.End, p.Name, p.Start, p.End)
				}
			}
			if sp.End <= sp.Start {
				t.Fatalf("trace %d span %d (%s): empty duration", i, k, sp.Name)
			}
			if sp.Status == codes.Error {
				anyErr = true
			}
			if !tp.Slow && sp.End-sp.Start >= SlowThreshold {
				t.Fatalf("fast trace %d has a %v span %s", i, sp.End-sp.Start, sp.Name)
			}
			for _, b := range bounds[sp.truth.role] {
				if int64(sp.End-sp.Start) == b {
					t.Fatalf("trace %d span %s lasts exactly a bucket bound %v", i, sp.Name, sp.End-sp.Start)
				}
			}
		}
		if anyErr != tp.Error {
			t.Fatalf("trace %d: error flag %v, error spans %v", i, tp.Error, anyErr)
		}
		d := tp.Duration()
		if tp.Slow && d < SlowThreshold {
			t.Fatalf("slow trace %d lasts %v", i, d)
		}
		if !tp.Slow && d > 3100*time.Millisecond {
			t.Fatalf("fast trace %d lasts %v", i, d)
		}
		if (tp.PipelineStatus == "terminated") != tp.Terminated {
			t.Fatalf("trace %d: terminated %v, pipeline status %s", i, tp.Terminated, tp.PipelineStatus)
		}
		if tp.Terminated && tp.LaterGen {
			t.Fatalf("trace %d: terminated in the later-generation shape", i)
		}
	}
}

func TestSplit(t *testing.T) {
	got := split(100, []int64{10, 10, 10}, []uint64{1, 1, 2})
	want := []int64{27, 27, 46}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("split = %v, want %v", got, want)
		}
	}
	// Too little room: every part keeps its minimum.
	got = split(5, []int64{3, 3}, []uint64{1, 1})
	if got[0] != 3 || got[1] != 3 {
		t.Fatalf("split under minimum = %v, want [3 3]", got)
	}
}

func TestOffBound(t *testing.T) {
	if got := offBound(5000, pipelineBoundsMs, 1); got != 5001 {
		t.Fatalf("offBound(5000) = %d, want 5001", got)
	}
	if got := offBound(4999, pipelineBoundsMs, 1); got != 4999 {
		t.Fatalf("offBound(4999) = %d, want 4999", got)
	}
	if got := offBound(1000, dbBoundsUs, -1); got != 999 {
		t.Fatalf("offBound(1000µs) = %d, want 999", got)
	}
}

// BenchmarkGeneratorTrace measures planning one trace (no SDK, no export).
func BenchmarkGeneratorTrace(b *testing.B) {
	b.ReportAllocs()
	g := NewGenerator(DefaultConfig())
	for i := 0; b.Loop(); i++ {
		_ = g.Trace(i)
	}
}
