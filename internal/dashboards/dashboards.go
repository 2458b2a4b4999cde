// Package dashboards defines the Grafana dashboards shipped in configs/grafana/dashboards as data:
// each panel is a title, a PromQL query and a unit. `go generate` writes the JSON models; the
// end-to-end suite evaluates every query against a real Prometheus scraping a real collector.
package dashboards

//go:generate go run ./cmd/gen -out ../../configs/grafana/dashboards

// Panel is one Grafana panel with one query.
type Panel struct {
	Title string
	// Expr is the PromQL query; $__rate_interval is Grafana's rate window.
	Expr string
	// Legend is the legend format, e.g. "{{pipeline}}".
	Legend string
	// Unit is a Grafana unit id: "s", "percentunit", "short", "reqps", "ms".
	Unit string
	// Kind is "timeseries" (default) or "stat".
	Kind string
	// External names the source of metrics that this stack does not produce itself (for example
	// database client instrumentation); such a panel may be empty in the end-to-end check.
	External string
}

// Dashboard is one dashboard: a uid, a title and its panels in reading order.
type Dashboard struct {
	UID    string
	Title  string
	Panels []Panel
}

const pipelineErrorRatio = `sum(rate(jeeves_pipeline_executions_total{status=~"error|timeout"}[$__rate_interval])) / sum(rate(jeeves_pipeline_executions_total[$__rate_interval]))`

// All is every dashboard, in file order.
var All = []Dashboard{
	{
		UID: "jeeves-overview", Title: "Jeeves / Service overview",
		Panels: []Panel{
			{Title: "Pipeline runs per second", Expr: `sum(rate(jeeves_pipeline_executions_total[$__rate_interval]))`, Unit: "reqps", Kind: "stat"},
			{Title: "Pipeline error ratio", Expr: pipelineErrorRatio, Unit: "percentunit", Kind: "stat"},
			{Title: "Pipeline p99 latency", Expr: `histogram_quantile(0.99, sum by (le) (rate(jeeves_pipeline_duration_seconds_bucket[$__rate_interval])))`, Unit: "s", Kind: "stat"},
			{Title: "Requests per service (span metrics)", Expr: `sum by (service_name) (rate(traces_span_metrics_calls_total{span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_INTERNAL"}[$__rate_interval]))`, Legend: "{{service_name}}", Unit: "reqps"},
			{Title: "Errors per service", Expr: `sum by (service_name) (rate(traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}[$__rate_interval]))`, Legend: "{{service_name}}", Unit: "reqps"},
			{Title: "HTTP server p95 latency per service", Expr: `histogram_quantile(0.95, sum by (service_name, le) (rate(traces_span_metrics_duration_milliseconds_bucket{span_kind="SPAN_KIND_SERVER"}[$__rate_interval])))`, Legend: "{{service_name}}", Unit: "ms"},
		},
	},
	{
		UID: "jeeves-pipelines", Title: "Jeeves / Pipeline performance",
		Panels: []Panel{
			{Title: "Runs per pipeline and status", Expr: `sum by (pipeline, status) (rate(jeeves_pipeline_executions_total[$__rate_interval]))`, Legend: "{{pipeline}} {{status}}", Unit: "reqps"},
			{Title: "Pipeline p99 latency per pipeline", Expr: `histogram_quantile(0.99, sum by (pipeline, le) (rate(jeeves_pipeline_duration_seconds_bucket[$__rate_interval])))`, Legend: "p99 {{pipeline}}", Unit: "s"},
			{Title: "Runs within the 5 s SLO", Expr: `sum(rate(jeeves_pipeline_duration_seconds_bucket{le=~"5(\\.0)?"}[$__rate_interval])) / sum(rate(jeeves_pipeline_duration_seconds_count[$__rate_interval]))`, Unit: "percentunit", Kind: "stat"},
			{Title: "Agent executions per agent and status", Expr: `sum by (agent, status) (rate(jeeves_agent_executions_total[$__rate_interval]))`, Legend: "{{agent}} {{status}}", Unit: "reqps"},
			{Title: "Agent p95 latency", Expr: `histogram_quantile(0.95, sum by (agent, le) (rate(jeeves_agent_duration_seconds_bucket[$__rate_interval])))`, Legend: "{{agent}}", Unit: "s"},
			{Title: "Terminations by reason", Expr: `sum by (reason) (rate(jeeves_termination_total[$__rate_interval]))`, Legend: "{{reason}}", Unit: "reqps"},
		},
	},
	{
		UID: "jeeves-llm", Title: "Jeeves / LLM provider health",
		Panels: []Panel{
			{Title: "LLM calls per provider and status", Expr: `sum by (provider, status) (rate(jeeves_llm_calls_total[$__rate_interval]))`, Legend: "{{provider}} {{status}}", Unit: "reqps"},
			{Title: "LLM error ratio per provider", Expr: `sum by (provider) (rate(jeeves_llm_calls_total{status="error"}[$__rate_interval])) / sum by (provider) (rate(jeeves_llm_calls_total[$__rate_interval]))`, Legend: "{{provider}}", Unit: "percentunit"},
			{Title: "LLM p95 latency per provider", Expr: `histogram_quantile(0.95, sum by (provider, le) (rate(jeeves_llm_duration_seconds_bucket[$__rate_interval])))`, Legend: "{{provider}}", Unit: "s"},
			{Title: "Tokens per second by model and type", Expr: `sum by (model, type) (rate(jeeves_llm_tokens_total[$__rate_interval]))`, Legend: "{{model}} {{type}}", Unit: "short"},
			{Title: "Calls per model", Expr: `sum by (provider, model) (rate(jeeves_llm_calls_total[$__rate_interval]))`, Legend: "{{provider}}/{{model}}", Unit: "reqps"},
		},
	},
	{
		UID: "jeeves-infrastructure", Title: "Jeeves / Infrastructure",
		Panels: []Panel{
			{Title: "Spans accepted / refused by the collector", Expr: `sum by (receiver) (rate(otelcol_receiver_accepted_spans[$__rate_interval]))`, Legend: "accepted {{receiver}}", Unit: "short"},
			{Title: "Export queue fill", Expr: `max by (exporter) (otelcol_exporter_queue_size / otelcol_exporter_queue_capacity)`, Legend: "{{exporter}}", Unit: "percentunit"},
			{Title: "Spans sent to the trace backend", Expr: `sum by (exporter) (rate(otelcol_exporter_sent_spans[$__rate_interval]))`, Legend: "{{exporter}}", Unit: "short"},
			{Title: "Collector memory (RSS)", Expr: `max(otelcol_process_memory_rss)`, Unit: "bytes"},
			{Title: "DB query p99 latency per operation", Expr: `histogram_quantile(0.99, sum by (operation, le) (rate(jeeves_db_query_duration_seconds_bucket[$__rate_interval])))`, Legend: "{{operation}}", Unit: "s"},
			{Title: "DB pool utilisation", Expr: `sum by (pool_name) (db_client_connection_count{state="used"}) / sum by (pool_name) (db_client_connection_max)`, Legend: "{{pool_name}}", Unit: "percentunit", External: "database client instrumentation (db.client.connection.*)"},
		},
	},
	{
		UID: "jeeves-business", Title: "Jeeves / Business",
		Panels: []Panel{
			{Title: "Outcomes (pipeline status)", Expr: `sum by (status) (increase(jeeves_pipeline_executions_total[$__range]))`, Legend: "{{status}}", Unit: "short"},
			{Title: "Interrupts by kind and status", Expr: `sum by (kind, status) (rate(jeeves_interrupts_total[$__rate_interval]))`, Legend: "{{kind}} {{status}}", Unit: "short", External: "CommBus receiver (process lifecycles) or interrupt spans"},
			{Title: "Terminations by reason", Expr: `sum by (reason) (increase(jeeves_termination_total[$__range]))`, Legend: "{{reason}}", Unit: "short"},
			{Title: "Tokens spent", Expr: `sum by (type) (increase(jeeves_llm_tokens_total[$__range]))`, Legend: "{{type}}", Unit: "short", Kind: "stat"},
			{Title: "Active processes", Expr: `sum(jeeves_processes_active)`, Unit: "short", Kind: "stat", External: "CommBus receiver"},
		},
	},
}
