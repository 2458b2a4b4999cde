package e2e

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
)

// fastFlush makes the jeeves connector emit every second so scrapes settle quickly.
var fastFlush = map[string]string{"JEEVES_METRICS_FLUSH_INTERVAL": "1s"}

// The default config turns loadgen traffic into Jeeves RED metrics on :8889 whose every counter,
// histogram count, bucket and token sum equals the loadgen manifest exactly.
func TestREDMetricsEqualManifest(t *testing.T) {
	sink := startTraceSink(t, false)
	env := map[string]string{"JAEGER_OTLP_ENDPOINT": sink.Addr}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{Env: env})
	m := sendTraffic(t, c.OTLPGRPC, trafficConfig(3, 3000))

	eventually(t, 30*time.Second, func() string {
		fams := scrape(t, c.Prometheus)
		got := sumSamples(fams, "traces_span_metrics_calls_total", nil)
		if got != float64(m.Spans) {
			return "SPM calls " + ftoa(got) + ", manifest spans " + itoa(int(m.Spans))
		}
		return ""
	})
	checkREDMetrics(t, settledScrape(t, c.Prometheus), m)
}

// settledScrape scrapes once more after a full flush interval (fastFlush) has passed, so that one
// exporter update is never read half-applied: call it after traffic has stopped and the counts
// have reached their totals.
func settledScrape(t *testing.T, hostport string) map[string]*dto.MetricFamily {
	t.Helper()
	time.Sleep(1500 * time.Millisecond)
	return scrape(t, hostport)
}

// checkREDMetrics compares every Jeeves family in a scrape with the manifest, both ways: each
// manifest entry has its exact sample, and the scrape holds no series the manifest lacks.
func checkREDMetrics(t *testing.T, fams map[string]*dto.MetricFamily, m *loadgen.Manifest) {
	t.Helper()
	var want []wantSample
	for p, byStatus := range m.Pipelines.Executions {
		for s, n := range byStatus {
			want = append(want, wantSample{"jeeves_pipeline_executions_total", map[string]string{"pipeline": p, "status": s}, float64(n)})
		}
	}
	for p, byReason := range m.Pipelines.Terminations {
		for r, n := range byReason {
			want = append(want, wantSample{"jeeves_termination_total", map[string]string{"pipeline": p, "reason": r}, float64(n)})
		}
	}
	for a, byStatus := range m.Agents.Executions {
		for s, n := range byStatus {
			want = append(want, wantSample{"jeeves_agent_executions_total", map[string]string{"agent": a, "status": s}, float64(n)})
		}
	}
	for p, byModel := range m.LLM.Calls {
		for mo, byStatus := range byModel {
			for s, n := range byStatus {
				want = append(want, wantSample{"jeeves_llm_calls_total", map[string]string{"provider": p, "model": mo, "status": s}, float64(n)})
			}
		}
	}
	for p, byModel := range m.LLM.Tokens {
		for mo, byType := range byModel {
			for ty, n := range byType {
				want = append(want, wantSample{"jeeves_llm_tokens_total", map[string]string{"provider": p, "model": mo, "type": ty}, float64(n)})
			}
		}
	}
	for svc, byName := range m.SPM.Calls {
		for name, byKind := range byName {
			for kind, byStatus := range byKind {
				for st, n := range byStatus {
					want = append(want, wantSample{"traces_span_metrics_calls_total", map[string]string{
						"service_name": svc, "span_name": name, "span_kind": kind, "status_code": st}, float64(n)})
				}
			}
		}
	}
	counted := map[string]int{}
	for _, w := range want {
		counted[w.name]++
		if got, n := sampleValue(fams, w.name, w.labels); n != 1 || got != w.value {
			t.Errorf("%s%v = %v (%d series), manifest %v", w.name, w.labels, got, n, w.value)
		}
	}
	for name, n := range counted {
		if got := len(fams[name].GetMetric()); got != n {
			t.Errorf("%s has %d series, manifest %d", name, got, n)
		}
	}

	checkHistograms(t, fams, "jeeves_pipeline_duration_seconds", m.BucketBounds["pipeline"], flatten1("pipeline", m.Pipelines.Durations))
	checkHistograms(t, fams, "jeeves_agent_duration_seconds", m.BucketBounds["agent"], flatten1("agent", m.Agents.Durations))
	checkHistograms(t, fams, "jeeves_db_query_duration_seconds", m.BucketBounds["db"], flatten1("operation", m.DB.Durations))
	var llm []labelledHistogram
	for p, byModel := range m.LLM.Durations {
		for mo, h := range byModel {
			llm = append(llm, labelledHistogram{map[string]string{"provider": p, "model": mo}, h})
		}
	}
	checkHistograms(t, fams, "jeeves_llm_duration_seconds", m.BucketBounds["llm"], llm)
}

type wantSample struct {
	name   string
	labels map[string]string
	value  float64
}

type labelledHistogram struct {
	labels map[string]string
	h      *loadgen.Histogram
}

func flatten1(label string, in map[string]*loadgen.Histogram) []labelledHistogram {
	out := make([]labelledHistogram, 0, len(in))
	for v, h := range in {
		out = append(out, labelledHistogram{map[string]string{label: v}, h})
	}
	return out
}

// sampleValue returns the value of the counter samples matching labels and how many matched.
func sampleValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, int) {
	var v float64
	n := 0
	for _, m := range fams[name].GetMetric() {
		if hasLabels(m, labels) {
			v += m.GetCounter().GetValue()
			n++
		}
	}
	return v, n
}

// checkHistograms asserts count, sum (to float rounding) and every cumulative bucket of each series,
// with exactly the manifest's bucket bounds, and no extra series.
func checkHistograms(t *testing.T, fams map[string]*dto.MetricFamily, name string, bounds []float64, want []labelledHistogram) {
	t.Helper()
	mf := fams[name]
	if got := len(mf.GetMetric()); got != len(want) {
		t.Errorf("%s has %d series, manifest %d", name, got, len(want))
	}
	for _, w := range want {
		var h *dto.Histogram
		for _, m := range mf.GetMetric() {
			if hasLabels(m, w.labels) && userLabelCount(m) == len(w.labels) {
				h = m.GetHistogram()
			}
		}
		if h == nil {
			t.Errorf("%s%v missing", name, w.labels)
			continue
		}
		if int64(h.GetSampleCount()) != w.h.Count {
			t.Errorf("%s%v count = %d, manifest %d", name, w.labels, h.GetSampleCount(), w.h.Count)
		}
		if math.Abs(h.GetSampleSum()-w.h.SumSeconds) > 1e-6*math.Max(1, w.h.SumSeconds) {
			t.Errorf("%s%v sum = %v, manifest %v", name, w.labels, h.GetSampleSum(), w.h.SumSeconds)
		}
		// The text format lists the +Inf bucket too.
		all := append(append([]float64(nil), bounds...), math.Inf(1))
		if len(h.GetBucket()) != len(all) {
			t.Errorf("%s%v has %d buckets, want bounds %v and +Inf", name, w.labels, len(h.GetBucket()), bounds)
			continue
		}
		bounds := all
		var cum int64
		for i, b := range h.GetBucket() {
			cum += w.h.BucketCounts[i]
			if b.GetUpperBound() != bounds[i] || int64(b.GetCumulativeCount()) != cum {
				t.Errorf("%s%v bucket le=%s = %d, manifest le=%s %d", name, w.labels,
					strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64), b.GetCumulativeCount(),
					strconv.FormatFloat(bounds[i], 'g', -1, 64), cum)
			}
		}
	}
}

// userLabelCount counts a sample's labels without the otel_scope_* labels the exporter adds.
func userLabelCount(m *dto.Metric) int {
	n := 0
	for _, lp := range m.GetLabel() {
		if !strings.HasPrefix(lp.GetName(), "otel_scope_") {
			n++
		}
	}
	return n
}
