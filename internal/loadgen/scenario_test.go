package loadgen

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func scenarioPlan(t *testing.T, name string, traces int) *Manifest {
	t.Helper()
	sc, err := ScenarioByName(name)
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.Traces = traces
	sc.Apply(&cfg)
	m, err := Plan(cfg)
	require.NoError(t, err)
	return m
}

func TestScenarioByNameListsTheKnownOnes(t *testing.T) {
	_, err := ScenarioByName("nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "broken-propagation, db-pool-exhaustion, error-burst, healthy")
}

func TestHealthyScenarioHasNoFailure(t *testing.T) {
	m := scenarioPlan(t, "healthy", 2000)
	assert.Equal(t, Classes{LaterGen: m.Classes.LaterGen}, m.Classes)
	for pipeline, c := range m.Pipelines.Executions {
		assert.Equal(t, c["success"], sumCounts(c), pipeline)
	}
	for provider, models := range m.LLM.Calls {
		for model, c := range models {
			assert.Zero(t, c["error"], "%s/%s", provider, model)
		}
	}
}

func TestSlowPipelineScenario(t *testing.T) {
	cfg := DefaultConfig()
	sc, _ := ScenarioByName("slow-pipeline")
	sc.Apply(&cfg)
	g := NewGenerator(cfg)
	for i := range 500 {
		p := g.Trace(i)
		if p.Pipeline == "research" {
			assert.GreaterOrEqual(t, p.Duration(), 15*time.Second, "trace %d", i)
		} else {
			assert.Less(t, p.Duration(), SlowThreshold, "trace %d", i)
		}
	}
}

func TestFailingProviderScenario(t *testing.T) {
	m := scenarioPlan(t, "llm-provider-failing", 3000)
	for provider, models := range m.LLM.Calls {
		var errs, all int64
		for _, c := range models {
			errs += c["error"]
			all += sumCounts(c)
		}
		if provider == "anthropic" {
			assert.InDelta(t, 0.5, float64(errs)/float64(all), 0.05)
		} else {
			assert.Zero(t, errs, provider)
		}
	}
}

func TestBrokenPropagationScenario(t *testing.T) {
	m := scenarioPlan(t, "broken-propagation", 2000)
	assert.InDelta(t, 0.2, float64(m.Classes.Broken)/float64(m.Traces), 0.03)
	// The gateway span of a broken trace is never sent, and the manifest says so.
	assert.Equal(t, m.Traces-m.Classes.Broken, m.SpansByService["jeeves-gateway"])
	var total int64
	for _, n := range m.SpansByService {
		total += n
	}
	assert.Equal(t, m.Spans, total)
}

func TestInterruptStormScenario(t *testing.T) {
	m := scenarioPlan(t, "interrupt-storm", 500)
	assert.Equal(t, m.Traces-m.Classes.LaterGen, m.InterruptSpans)
	assert.Equal(t, m.InterruptSpans, m.SpansByName["interrupt.clarification"])
}

func TestDBPoolMetrics(t *testing.T) {
	sc, _ := ScenarioByName("db-pool-exhaustion")
	md := DBPoolMetrics(DefaultConfig().Services, sc.DBPools, time.Unix(100, 0), time.Unix(160, 0))
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	require.Equal(t, 2, ms.Len())
	assert.Equal(t, "db.client.connection.count", ms.At(0).Name())
	assert.Equal(t, 4, ms.At(0).Sum().DataPoints().Len())
	dp := ms.At(0).Sum().DataPoints().At(0)
	pool, _ := dp.Attributes().Get("db.client.connection.pool.name")
	state, _ := dp.Attributes().Get("db.client.connection.state")
	assert.Equal(t, "jeeves-main used 19", pool.Str()+" "+state.Str()+" "+itoa(dp.IntValue()))
	assert.Equal(t, int64(20), ms.At(1).Sum().DataPoints().At(0).IntValue())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
