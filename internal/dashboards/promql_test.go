package dashboards

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

type metricType int

const (
	counter metricType = iota
	gauge
	histogram
)

type family struct {
	typ    metricType
	labels string // space-separated label names besides job and instance
}

// families is every metric family the dashboards may read, with its labels, as Prometheus stores
// them. The collector's own telemetry (otelcol_*) is served by its Prometheus reader without the
// _total and unit suffixes (otelcol_receiver_accepted_spans, otelcol_process_cpu_seconds,
// otelcol_process_memory_rss), as the binary serves them on :8888.
var families = map[string]family{
	// jeeves connector, from spans
	"jeeves_pipeline_executions_total":          {counter, "pipeline status"},
	"jeeves_pipeline_duration_seconds":          {histogram, "pipeline"},
	"jeeves_termination_total":                  {counter, "pipeline reason"},
	"jeeves_agent_executions_total":             {counter, "agent status"},
	"jeeves_agent_duration_seconds":             {histogram, "agent"},
	"jeeves_llm_calls_total":                    {counter, "provider model status"},
	"jeeves_llm_tokens_total":                   {counter, "provider model type"},
	"jeeves_llm_cost_usd_total":                 {counter, "provider model"},
	"jeeves_llm_cost_unpriced_calls_total":      {counter, "provider model"},
	"jeeves_pipeline_llm_tokens_total":          {counter, "pipeline type"},
	"jeeves_pipeline_llm_cost_usd_total":        {counter, "pipeline"},
	"jeeves_agent_llm_cost_usd_total":           {counter, "agent"},
	"jeeves_llm_duration_seconds":               {histogram, "provider model"},
	"jeeves_llm_provider_calls_total":           {counter, "provider model status"},
	"jeeves_llm_provider_duration_seconds":      {histogram, "provider model"},
	"jeeves_http_requests_total":                {counter, "method endpoint status"},
	"jeeves_http_request_duration_seconds":      {histogram, "method endpoint"},
	"jeeves_db_query_duration_seconds":          {histogram, "operation"},
	"jeeves_db_queries_total":                   {counter, "system operation status"},
	"jeeves_traces_decided_total":               {counter, "completeness"},
	"jeeves_traces_broken_total":                {counter, "service"},
	"traces_span_metrics_calls_total":           {counter, "service_name span_name span_kind status_code"},
	"traces_span_metrics_duration_milliseconds": {histogram, "service_name span_name span_kind status_code"},
	// jeeves_dbpool processor, from OTLP metrics
	"jeeves_db_pool_size":               {gauge, "pool"},
	"jeeves_db_pool_active_connections": {gauge, "pool"},
	"jeeves_db_pool_idle_connections":   {gauge, "pool"},
	"jeeves_db_connections":             {gauge, "pool state"},
	// CommBus receiver, from bus events
	"jeeves_commbus_events_total":       {counter, "event_type source"},
	"jeeves_interrupts_total":           {counter, "kind status"},
	"jeeves_process_duration_seconds":   {histogram, "outcome"},
	"jeeves_processes_active":           {gauge, ""},
	"jeeves_resource_exhaustions_total": {counter, "resource"},
	// collector self-telemetry
	"otelcol_receiver_accepted_spans":                      {counter, "receiver transport"},
	"otelcol_receiver_refused_spans":                       {counter, "receiver transport"},
	"otelcol_exporter_sent_spans":                          {counter, "exporter"},
	"otelcol_exporter_send_failed_spans":                   {counter, "exporter error_type"},
	"otelcol_exporter_enqueue_failed_spans":                {counter, "exporter"},
	"otelcol_exporter_queue_size":                          {gauge, "exporter data_type"},
	"otelcol_exporter_queue_capacity":                      {gauge, "exporter data_type"},
	"otelcol_connector_jeeves_spans_overflowed":            {counter, "metric"},
	"otelcol_connector_jeeves_series_active":               {gauge, "metric"},
	"otelcol_connector_jeeves_sampling_forced_decisions":   {counter, "reason"},
	"otelcol_connector_jeeves_sampling_budget_decisions":   {counter, "reason"},
	"otelcol_connector_jeeves_sampling_budget_probability": {gauge, "pipeline outcome"},
	"otelcol_connector_jeeves_sampling_traces":             {counter, "decision rule"},
	"otelcol_connector_jeeves_sampling_traces_in_memory":   {gauge, ""},
	"otelcol_process_cpu_seconds":                          {counter, ""},
	"otelcol_process_memory_rss":                           {gauge, ""},
	"otelcol_receiver_commbus_connections_active":          {gauge, "mode"},
	// Prometheus
	"up": {gauge, ""},
}

// grafanaVars replaces Grafana's variables by windows Prometheus accepts.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h")

func parse(t *testing.T, expr string) parser.Expr {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		t.Fatalf("does not parse: %v\n%s", err, expr)
	}
	return e
}

// lookup resolves a selected series name to its family: a histogram's _bucket, _count and _sum
// series belong to the histogram.
func lookup(name string) (family, string, bool) {
	if f, ok := families[name]; ok && f.typ != histogram {
		return f, "", true
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if f, ok := families[strings.TrimSuffix(name, suffix)]; ok && f.typ == histogram && strings.HasSuffix(name, suffix) {
			return f, suffix, true
		}
	}
	return family{}, "", false
}

// checker walks one query and reports what a dashboard query must never do.
type checker struct{ problems []string }

func (c *checker) errorf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// labels returns the label names the series of n carry, reporting unknown metrics, labels that a
// family does not have, grouping by a label that is not there, and counters read without a rate.
func (c *checker) labels(n parser.Node, underRate bool) map[string]bool {
	switch e := n.(type) {
	case *parser.VectorSelector:
		f, suffix, ok := lookup(e.Name)
		if !ok {
			c.errorf("unknown metric %q", e.Name)
			return nil
		}
		set := map[string]bool{"job": true, "instance": true}
		for _, l := range strings.Fields(f.labels) {
			set[l] = true
		}
		if suffix == "_bucket" {
			set["le"] = true
		}
		counting := f.typ == counter || f.typ == histogram
		if counting && !underRate {
			c.errorf("%s is a counter read without rate() or increase()", e.Name)
		}
		if !counting && underRate {
			c.errorf("%s is a gauge read with rate() or increase()", e.Name)
		}
		for _, m := range e.LabelMatchers {
			if m.Name != "__name__" && !set[m.Name] {
				c.errorf("%s has no label %q", e.Name, m.Name)
			}
		}
		return set
	case *parser.MatrixSelector:
		return c.labels(e.VectorSelector, underRate)
	case *parser.ParenExpr:
		return c.labels(e.Expr, underRate)
	case *parser.NumberLiteral, *parser.StringLiteral:
		return map[string]bool{}
	case *parser.Call:
		switch e.Func.Name {
		case "rate", "increase":
			return c.labels(e.Args[0], true)
		case "histogram_quantile":
			set := c.labels(e.Args[1], false)
			if !set["le"] {
				c.errorf("histogram_quantile over series without le")
			}
			delete(set, "le")
			return set
		case "label_replace":
			set := c.labels(e.Args[0], false)
			set[e.Args[1].(*parser.StringLiteral).Val] = true
			return set
		}
		c.errorf("function %s is not checked here; extend the checker", e.Func.Name)
		return nil
	case *parser.AggregateExpr:
		inner := c.labels(e.Expr, false)
		if e.Without {
			c.errorf("aggregation without(...) is not checked here")
			return nil
		}
		for _, l := range e.Grouping {
			if inner != nil && !inner[l] {
				c.errorf("%s by %q: the series have no such label", e.Op, l)
			}
		}
		if e.Op == parser.TOPK || e.Op == parser.BOTTOMK {
			return inner
		}
		set := map[string]bool{}
		for _, l := range e.Grouping {
			set[l] = true
		}
		return set
	case *parser.BinaryExpr:
		l, r := c.labels(e.LHS, false), c.labels(e.RHS, false)
		set := map[string]bool{}
		for k := range l {
			set[k] = true
		}
		if e.Op == parser.LOR {
			for k := range r {
				set[k] = true
			}
		}
		return set
	}
	c.errorf("%T is not checked here; extend the checker", n)
	return nil
}

var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// Every query parses, reads only known families and their labels (counters through rate or
// increase, gauges directly), and its legend names labels the result has.
func TestQueriesReadKnownFamiliesAndLabels(t *testing.T) {
	for _, d := range All {
		for _, p := range d.Panels {
			t.Run(d.UID+"/"+p.Title, func(t *testing.T) {
				c := &checker{}
				got := c.labels(parse(t, p.Expr), false)
				for _, m := range legendLabel.FindAllStringSubmatch(p.Legend, -1) {
					if got != nil && !got[m[1]] {
						c.errorf("legend names {{%s}}, the result has only %v", m[1], sorted(got))
					}
				}
				for _, problem := range c.problems {
					t.Errorf("%s\n%s", problem, p.Expr)
				}
			})
		}
	}
}

// The checker itself finds the mistakes it is there for.
func TestCheckerCatchesMistakes(t *testing.T) {
	for expr, want := range map[string]string{
		`sum(rate(otelcol_receiver_accepted_spans_total[5m]))`:                                           `unknown metric "otelcol_receiver_accepted_spans_total"`,
		`sum by (pool_name) (jeeves_db_pool_size)`:                                                       `sum by "pool_name"`,
		`jeeves_db_connections{state="used", pool_name="a"}`:                                             `no label "pool_name"`,
		`sum(jeeves_pipeline_executions_total)`:                                                          `read without rate()`,
		`rate(otelcol_process_memory_rss[5m])`:                                                           `gauge read with rate()`,
		`histogram_quantile(0.9, sum by (pipeline) (rate(jeeves_pipeline_duration_seconds_bucket[5m])))`: `without le`,
	} {
		c := &checker{}
		c.labels(parse(t, expr), false)
		if !strings.Contains(strings.Join(c.problems, "\n"), want) {
			t.Errorf("%s: want a problem containing %q, got %q", expr, want, c.problems)
		}
	}
	c := &checker{}
	c.labels(parse(t, All[0].Panels[0].Expr), false)
	if len(c.problems) != 0 {
		t.Errorf("a correct query is reported: %v", c.problems)
	}
}

// Outcome ratios count every status other than success: a matcher on an outcome's status is
// status="success" or status!="success", never a list of failure names that misses terminated
// runs or a status added later. HTTP status codes are matched as codes.
func TestOutcomeRatiosCountEveryNonSuccess(t *testing.T) {
	checked := 0
	for _, d := range All {
		for _, p := range d.Panels {
			parser.Inspect(parse(t, p.Expr), func(n parser.Node, _ []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok || vs.Name == "jeeves_http_requests_total" {
					return nil
				}
				for _, m := range vs.LabelMatchers {
					if m.Name != "status" {
						continue
					}
					checked++
					if m.Value != "success" || (m.Type.String() != "=" && m.Type.String() != "!=") {
						t.Errorf("%s / %s: %s matches status %s%q; compare with success only", d.UID, p.Title, vs.Name, m.Type, m.Value)
					}
				}
				return nil
			})
		}
	}
	if checked < 5 {
		t.Errorf("only %d status matchers found; the failure and success ratio panels are gone?", checked)
	}
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
