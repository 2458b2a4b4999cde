package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// headerRecorder counts the values of one request header seen by a handler.
type headerRecorder struct {
	mu     sync.Mutex
	values map[string]int
}

func (h *headerRecorder) record(v string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.values == nil {
		h.values = map[string]int{}
	}
	h.values[v]++
}

func (h *headerRecorder) seen() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.values {
		out[k] = v
	}
	return out
}

// otlpHTTPSink is an OTLP/HTTP trace backend standing in for a vendor's endpoint: it decodes every
// request (protobuf, gzip or not), counts the spans and records the Authorization header.
type otlpHTTPSink struct {
	URL  string
	Auth headerRecorder

	mu    sync.Mutex
	spans int
}

func startOTLPHTTPSink(t *testing.T) *otlpHTTPSink {
	t.Helper()
	s := &otlpHTTPSink{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.URL = "http://" + l.Addr().String()
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		s.Auth.record(r.Header.Get("Authorization"))
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(raw); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.spans += req.Traces().SpanCount()
		s.mu.Unlock()
		resp, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *otlpHTTPSink) SpanCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans
}

// recordingProxy forwards every request to target and records its Authorization header: what the
// remote-write exporter sends, which Prometheus itself does not check.
func recordingProxy(t *testing.T, target string) (string, *headerRecorder) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &headerRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r.Header.Get("Authorization"))
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String(), rec
}

// vector runs an instant query and returns each series' labels (name included) and value.
func (p *prometheusServer) vector(expr string) ([]seriesValue, error) {
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.api("/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, err
	}
	out := make([]seriesValue, 0, len(data.Result))
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value %v", expr, r.Value)
		}
		out = append(out, seriesValue{labels: r.Metric, value: v})
	}
	return out, nil
}

type seriesValue struct {
	labels map[string]string
	value  float64
}

// seriesKey is a canonical text for a series: its name and sorted labels, le as a number so that
// "1" and "1.0" agree.
func seriesKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := labels[k]
		if k == "le" {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				v = strconv.FormatFloat(f, 'g', -1, 64)
			}
		}
		fmt.Fprintf(&b, "%s=%q,", k, v)
	}
	return b.String()
}

// expositionSeries flattens the counter and histogram families of a scrape whose names start
// with prefix into series as Prometheus stores them (histograms as _bucket, _sum and _count).
func expositionSeries(families map[string]*dto.MetricFamily, prefix string) map[string]float64 {
	out := map[string]float64{}
	for name, mf := range families {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			with := func(n string, extra ...string) map[string]string {
				l := map[string]string{"__name__": n}
				for k, v := range labels {
					l[k] = v
				}
				for i := 0; i+1 < len(extra); i += 2 {
					l[extra[i]] = extra[i+1]
				}
				return l
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[seriesKey(with(name))] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[seriesKey(with(name))] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				out[seriesKey(with(name+"_count"))] = float64(h.GetSampleCount())
				out[seriesKey(with(name+"_sum"))] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					out[seriesKey(with(name+"_bucket", "le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)))] = float64(b.GetCumulativeCount())
				}
				out[seriesKey(with(name+"_bucket", "le", "+Inf"))] = float64(h.GetSampleCount())
			}
		}
	}
	return out
}

// The managed-backend profile (configs/otelcol-jeeves-cloud.yaml over the default config) sends the
// RED families by remote write to a real Prometheus 2.42 (its remote-write receiver on, no scrapes)
// and the sampled traces by OTLP/HTTP to a sink, each with the credential read from its token file.
// After loadgen traffic, every jeeves_* and traces_span_metrics_* series on :8889 (counters, histogram buckets, sums and
// counts) is in Prometheus with the same labels and value, and Prometheus holds no such series
// that :8889 does not serve, no target_info and no otel_scope_* labels.
func TestCloudProfileRemoteWriteAndOTLPHTTP(t *testing.T) {
	prom := startPrometheusWith(t, prometheusOptions{RemoteWriteOnly: true})
	rwURL, rwAuth := recordingProxy(t, "http://"+prom.Addr)
	sink := startOTLPHTTPSink(t)

	secrets := t.TempDir()
	metricsToken, tracesToken := filepath.Join(secrets, "metrics-token"), filepath.Join(secrets, "traces-token")
	for path, token := range map[string]string{metricsToken: "rw-secret-1\n", tracesToken: "otlp-secret-2\n"} {
		if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		"JEEVES_CLOUD_REMOTE_WRITE_ENDPOINT": rwURL + "/api/v1/write",
		"JEEVES_CLOUD_OTLP_ENDPOINT":         sink.URL,
		"JEEVES_CLOUD_METRICS_TOKEN_FILE":    metricsToken,
		"JEEVES_CLOUD_TRACES_TOKEN_FILE":     tracesToken,
	}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{
		Env:       env,
		Overrides: []string{filepath.Join(repoRoot, "configs", "otelcol-jeeves-cloud.yaml")},
	})

	m := sendTraffic(t, c.OTLPGRPC, trafficConfig(61, 1000))

	// Traffic has stopped; once :8889 counts every span sent (the connector's last flush), the
	// same flush reaches Prometheus and the two agree series by series.
	eventually(t, 30*time.Second, func() string {
		if got := sumSamples(scrape(t, c.Prometheus), "traces_span_metrics_calls_total", nil); got != float64(m.Spans) {
			return fmt.Sprintf(":8889 counts %v calls, loadgen sent %d spans", got, m.Spans)
		}
		return ""
	})
	var want map[string]float64
	eventually(t, 30*time.Second, func() string {
		fams := scrape(t, c.Prometheus)
		want = expositionSeries(fams, "jeeves_")
		for k, v := range expositionSeries(fams, "traces_span_metrics_") {
			want[k] = v
		}
		got, err := prom.vector(`{__name__=~"jeeves_.+|traces_span_metrics_.+"}`)
		if err != nil {
			return err.Error()
		}
		gotMap := make(map[string]float64, len(got))
		for _, s := range got {
			gotMap[seriesKey(s.labels)] = s.value
		}
		for k, v := range want {
			g, ok := gotMap[k]
			if !ok {
				return fmt.Sprintf("%d series on :8889, %d in Prometheus; missing there: %s", len(want), len(gotMap), k)
			}
			if g != v && !(math.IsNaN(g) && math.IsNaN(v)) {
				return fmt.Sprintf("%s: %v on :8889, %v in Prometheus", k, v, g)
			}
		}
		for k := range gotMap {
			if _, ok := want[k]; !ok {
				return fmt.Sprintf("Prometheus has a series :8889 does not serve: %s", k)
			}
		}
		return ""
	})
	families := map[string]bool{}
	for k := range want {
		families[strings.SplitN(k, `"`, 3)[1]] = true
	}
	t.Logf("%d jeeves_ and traces_span_metrics_ series in %d families equal on :8889 and in Prometheus", len(want), len(families))
	for _, fam := range []string{"traces_span_metrics_calls_total", "jeeves_pipeline_executions_total", "jeeves_llm_calls_total", "jeeves_llm_tokens_total", "jeeves_pipeline_duration_seconds_bucket"} {
		if !families[fam] {
			t.Errorf("family %s not compared: loadgen traffic should produce it", fam)
		}
	}
	for _, expr := range []string{`target_info`, `{__name__=~".+", otel_scope_name!=""}`} {
		if s, err := prom.vector(expr); err != nil || len(s) != 0 {
			t.Errorf("%s: %d series in Prometheus, want none (%v)", expr, len(s), err)
		}
	}

	// The sampled traces reach the sink, every request with its credential.
	eventually(t, 30*time.Second, func() string {
		sent := sumSamples(scrape(t, c.Telemetry), "otelcol_exporter_sent_spans", map[string]string{"exporter": "otlp_http/cloud"})
		if got := sink.SpanCount(); sent == 0 || float64(got) != sent {
			return fmt.Sprintf("sink has %d spans, exporter sent %v", got, sent)
		}
		return ""
	})
	tel := scrape(t, c.Telemetry)
	for _, m := range []struct{ name, exporter string }{
		{"otelcol_exporter_send_failed_metric_points", "prometheusremotewrite/cloud"},
		{"otelcol_exporter_send_failed_spans", "otlp_http/cloud"},
	} {
		if v := sumSamples(tel, m.name, map[string]string{"exporter": m.exporter}); v != 0 {
			t.Errorf("%s{exporter=%q} = %v", m.name, m.exporter, v)
		}
	}
	t.Logf("sink received %d sampled spans; Authorization headers: traces %v, remote write %v", sink.SpanCount(), sink.Auth.seen(), rwAuth.seen())
	for _, h := range []struct {
		seen map[string]int
		want string
	}{{sink.Auth.seen(), "Bearer otlp-secret-2"}, {rwAuth.seen(), "Bearer rw-secret-1"}} {
		if len(h.seen) != 1 || h.seen[h.want] == 0 {
			t.Errorf("Authorization headers %v, want only %q", h.seen, h.want)
		}
	}
	if strings.Contains(c.output.String(), "secret-") {
		t.Error("a token appears in the collector's log")
	}
}
