// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/jeeves/otelcol-jeeves/internal/promexport"
)

// TestPrometheusExporterNames feeds the connector's flushed metrics into the
// real prometheus exporter (contrib v0.165.1, as configured in
// configs/otelcol-jeeves.yaml: OpenMetrics on, scope info off), scrapes it,
// and checks the exact family names, label names and buckets that
// docs/jeeves-telemetry.md (#metric-families) and Jaeger's Monitor tab expect, plus exemplars.
func TestPrometheusExporterNames(t *testing.T) {
	h := newHarness(t, nil)
	for _, name := range []string{"jeeves_v1", "jeeves_v2", "semconv"} {
		h.consumeFile(t, filepath.Join("testdata", name, "input.yaml"), testBase.Add(100*time.Second))
	}
	h.flush(testBase.Add(115 * time.Second))
	md := h.last(t)

	body := promexport.Scrape(t, md, "jeeves_llm_tokens_total", true)

	// family → label names (le excluded), as scraped.
	want := map[string][]string{
		"jeeves_pipeline_executions_total":                 {"pipeline", "status"},
		"jeeves_pipeline_duration_seconds_bucket":          {"pipeline"},
		"jeeves_agent_executions_total":                    {"agent", "status"},
		"jeeves_agent_duration_seconds_bucket":             {"agent"},
		"jeeves_llm_calls_total":                           {"model", "provider", "status"},
		"jeeves_llm_tokens_total":                          {"model", "provider", "type"},
		"jeeves_llm_duration_seconds_bucket":               {"model", "provider"},
		"jeeves_db_query_duration_seconds_bucket":          {"operation"},
		"jeeves_db_queries_total":                          {"operation", "status", "system"},
		"jeeves_http_requests_total":                       {"endpoint", "method", "status"},
		"jeeves_http_request_duration_seconds_bucket":      {"endpoint", "method"},
		"jeeves_llm_provider_calls_total":                  {"model", "provider", "status"},
		"jeeves_llm_provider_duration_seconds_bucket":      {"model", "provider"},
		"jeeves_termination_total":                         {"pipeline", "reason"},
		"jeeves_llm_cost_usd_total":                        {"model", "provider"},
		"jeeves_llm_cost_unpriced_calls_total":             {"model", "provider"},
		"traces_span_metrics_calls_total":                  {"service_name", "span_kind", "span_name", "status_code"},
		"traces_span_metrics_duration_milliseconds_bucket": {"service_name", "span_kind", "span_name", "status_code"},
	}
	got := scrapedLabelNames(body)
	for name, labels := range want {
		assert.Equal(t, labels, got[name], name)
	}
	for name := range got {
		if strings.HasPrefix(name, "jeeves_") || strings.HasPrefix(name, "traces_") {
			_, ok := want[name]
			ok = ok || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") || strings.HasSuffix(name, "_created")
			assert.True(t, ok, "unexpected family %s", name)
		}
	}

	buckets := map[string]string{
		"jeeves_pipeline_duration_seconds_bucket":          "0.1,0.5,1.0,2.0,5.0,10.0,30.0,60.0,+Inf",
		"jeeves_agent_duration_seconds_bucket":             "0.01,0.05,0.1,0.5,1.0,2.0,5.0,10.0,+Inf",
		"jeeves_llm_duration_seconds_bucket":               "0.1,0.5,1.0,2.0,5.0,10.0,30.0,60.0,+Inf",
		"jeeves_db_query_duration_seconds_bucket":          "0.001,0.005,0.01,0.05,0.1,0.5,1.0,+Inf",
		"jeeves_http_request_duration_seconds_bucket":      "0.005,0.01,0.025,0.05,0.1,0.25,0.5,1.0,2.5,5.0,10.0,+Inf",
		"jeeves_llm_provider_duration_seconds_bucket":      "0.1,0.5,1.0,2.0,5.0,10.0,30.0,60.0,+Inf",
		"traces_span_metrics_duration_milliseconds_bucket": "2.0,4.0,6.0,8.0,10.0,50.0,100.0,200.0,400.0,800.0,1000.0,1400.0,2000.0,5000.0,10000.0,15000.0,+Inf",
	}
	for name, le := range buckets {
		assert.Equal(t, le, strings.Join(scrapedBuckets(body, name), ","), name)
	}

	// Exemplars come out in OpenMetrics form on the duration buckets (the exporter writes the two
	// exemplar labels in either order).
	assert.Regexp(t, `jeeves_pipeline_duration_seconds_bucket\{[^}]*\} \d+ # \{(span_id="[0-9a-f]{16}",trace_id="[0-9a-f]{32}"|trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}")\}`, body)
	// Exact values scraped: tokens of the first generation fixture.
	assert.Contains(t, body, `jeeves_llm_tokens_total{model="gpt-4o",provider="openai",type="input"} 120`)
	// The provider view is the same series under the plan's other name.
	assert.Equal(t, scrapedValues(body, "jeeves_llm_calls_total"), scrapedValues(body, "jeeves_llm_provider_calls_total"))
	assert.NotEmpty(t, scrapedValues(body, "jeeves_llm_calls_total"))
	assert.Contains(t, body, `traces_span_metrics_calls_total{service_name="jeeves-gateway",span_kind="SPAN_KIND_SERVER",span_name="POST /api/v1/chat",status_code="STATUS_CODE_UNSET"} 1`)
	t.Logf("scraped families:\n%s", strings.Join(sortedKeys(got), "\n"))
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}`)
var labelName = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="`)

func scrapedLabelNames(body string) map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(body, "\n") {
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var names []string
		for _, l := range labelName.FindAllStringSubmatch(m[2], -1) {
			if l[1] != "le" {
				names = append(names, l[1])
			}
		}
		sort.Strings(names)
		out[m[1]] = names
	}
	return out
}

func scrapedBuckets(body, family string) []string {
	var first string
	var out []string
	le := regexp.MustCompile(`le="([^"]+)"`)
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, family+"{") {
			continue
		}
		series := regexp.MustCompile(`,?le="[^"]+"`).ReplaceAllString(strings.SplitN(line, "}", 2)[0], "")
		if first == "" {
			first = series
		}
		if series != first {
			continue
		}
		if m := le.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

func sortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scrapedValues returns the sample lines of one family with the family name
// cut off, sorted: two families with the same series give the same list.
func scrapedValues(body, family string) []string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, family+"{"); ok {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out
}
