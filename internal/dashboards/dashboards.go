// Package dashboards defines the Grafana dashboards shipped in configs/grafana/dashboards as data:
// each panel is a title, a PromQL query and a unit. `go generate` writes the JSON models; the
// end-to-end suite evaluates every query against a real Prometheus scraping a real collector.
//
// Which dashboard answers which operator question:
//
//   - Jeeves / Service overview: is Jeeves healthy right now? Runs per second, failure ratio,
//     p50/p95/p99 latency, the top failing pipelines, agents and LLM providers, token usage, the
//     gateway's HTTP endpoints, trace completion against the 95% target, and whether Prometheus
//     reaches the collector at all.
//   - Jeeves / Pipeline performance: which pipeline or agent fails or is slow, and why do runs end
//     early? Success ratio and p99 per pipeline, agents, terminations, traces that lost a parent.
//   - Jeeves / LLM provider health: is an LLM provider failing or slow, and what do the models
//     cost in tokens?
//   - Jeeves / Infrastructure: is the collector keeping up and within its bounds (spans accepted
//     vs refused, exported vs failed, export queue, series overflow, forced sampling decisions, the sampling budget,
//     CPU, memory, CommBus connections), and are the databases and their connection pools healthy?
//   - Jeeves / Business: what did users get? Run and process outcomes, interrupts waiting on
//     people, quotas hit, terminations, tokens spent, open processes.
package dashboards

import "strings"

//go:generate go run ./cmd/gen -out ../../configs/grafana/dashboards

// Panel is one Grafana panel with one query.
type Panel struct {
	Title string
	// Expr is the PromQL query; $__rate_interval is Grafana's rate window, $__range the
	// dashboard's time range.
	Expr string
	// Legend is the legend format, e.g. "{{pipeline}}".
	Legend string
	// Unit is a Grafana unit id: "s", "percentunit" (a ratio in [0, 1]), "short", "reqps", "bytes".
	Unit string
	// Kind is "timeseries" (default) or "stat".
	Kind string
	// Description is shown in the panel's info tooltip: what the line means, which alert it mirrors.
	Description string
	// Threshold, when set, is drawn as a dashed line on a time series and colours a stat.
	Threshold *Threshold
	// External names the source of metrics that this stack does not produce itself (for example
	// database client instrumentation); it is added to the description, and such a panel may be
	// empty in the end-to-end check.
	External string
	// Scenario names the jeeves-loadgen scenario (healthy, error-burst, interrupt-storm,
	// db-pool-exhaustion, broken-propagation, ...) whose traffic feeds the panel, when the default
	// loadgen traffic of the dashboards end-to-end check does not; that check then accepts no data
	// and the scenario's own test is where the panel must return data.
	Scenario string
	// Row, when set, starts a Grafana row of this title before the panel: the panel and those after
	// it (up to the next Row) are grouped under it.
	Row string
}

// Threshold is one line on a panel, e.g. an alert's threshold or an objective.
type Threshold struct {
	Value float64
	// BadBelow marks values under Value as bad (red), for a ratio that must stay high such as
	// trace completion; otherwise values at or above Value are bad.
	BadBelow bool
}

// Dashboard is one dashboard: a uid, a title, the operator question it answers and its panels in
// reading order.
type Dashboard struct {
	UID      string
	Title    string
	Question string
	Panels   []Panel
}

// rateOf is the per-second rate of a counter over Grafana's rate window.
func rateOf(selector string) string { return "rate(" + selector + "[$__rate_interval])" }

// sumBy sums expr by the given labels ("" = over everything).
func sumBy(by, expr string) string {
	if by == "" {
		return "sum(" + expr + ")"
	}
	return "sum by (" + by + ") (" + expr + ")"
}

// shareOf is the share of counter's rate whose series match matcher, per by. A group where no
// series matches shows 0, not "no data": a pipeline without failures is a flat line at zero, and
// one that only fails still shows (at 0) in a success ratio.
func shareOf(counter, matcher, by string) string {
	all := sumBy(by, rateOf(counter))
	return "(" + sumBy(by, rateOf(counter+"{"+matcher+"}")) + " or " + all + " * 0) / " + all
}

// failed matches every outcome other than success: error, timeout, terminated and any status a
// later instrumentation adds, so a run that ends badly in a new way still counts as a failure.
const failed = `status!="success"`

// quantiles is one query giving the p50, p95 and p99 of a histogram per by, told apart by a
// "quantile" label (p50, p95, p99) for the legend.
func quantiles(bucket, by string) string {
	group := "le"
	if by != "" {
		group = by + ", le"
	}
	parts := make([]string, 0, 3)
	for _, q := range []struct{ phi, name string }{{"0.5", "p50"}, {"0.95", "p95"}, {"0.99", "p99"}} {
		parts = append(parts, `label_replace(histogram_quantile(`+q.phi+`, `+sumBy(group, rateOf(bucket))+`), "quantile", "`+q.name+`", "", "")`)
	}
	return strings.Join(parts, " or ")
}

// quantile is the phi-quantile of a histogram per by.
func quantile(phi, bucket, by string) string {
	group := "le"
	if by != "" {
		group = by + ", le"
	}
	return "histogram_quantile(" + phi + ", " + sumBy(group, rateOf(bucket)) + ")"
}

// labelled tags every series of expr with label = value, so unions of different families stay
// apart in one legend.
func labelled(expr, label, value string) string {
	return `label_replace(` + expr + `, "` + label + `", "` + value + `", "", "")`
}

// llmSpendRow is the row of LLM spend panels on the LLM provider and Business dashboards.
const llmSpendRow = "LLM spend"

// The LLM spend panels that both dashboards show.
var (
	spendPerPipeline = Panel{
		Title: "LLM spend per pipeline per hour", Expr: sumBy("pipeline", `increase(jeeves_pipeline_llm_cost_usd_total[1h])`), Legend: "{{pipeline}}", Unit: "currencyUSD",
		Description: "USD over the trailing hour by the pipeline whose run made the LLM calls, from every trace (tail sampling mode only; unknown: the run's root span never arrived).",
	}
	topPipelinesByCost = Panel{
		Title: "Top 10 pipelines by LLM spend in the time range", Expr: `topk(10, ` + sumBy("pipeline", `increase(jeeves_pipeline_llm_cost_usd_total[$__range])`) + `)`, Legend: "{{pipeline}}", Unit: "currencyUSD",
		Description: "The ten pipelines that spent the most on LLM calls in the dashboard's time range (tail sampling mode only).",
	}
	unpricedCalls = Panel{
		Title: "Unpriced LLM calls per second by provider and model", Expr: sumBy("provider, model", rateOf("jeeves_llm_cost_unpriced_calls_total")), Legend: "{{provider}}/{{model}}", Unit: "reqps",
		Description: "Calls with no jeeves.llm.cost_usd attribute and no configured price: their cost is missing from the spend. Add the model to metrics.llm_cost.prices.",
	}
)

// withTitle is p under another title: panel titles are unique across the dashboards.
func withTitle(p Panel, title string) Panel {
	p.Title = title
	return p
}

// topErrors ranks the failing pipelines, agents and LLM providers together by failures per second.
var topErrors = `topk(10, ` + strings.Join([]string{
	`label_replace(` + sumBy("pipeline", rateOf(`jeeves_pipeline_executions_total{`+failed+`}`)) + `, "failing", "pipeline $1", "pipeline", "(.*)")`,
	`label_replace(` + sumBy("agent", rateOf(`jeeves_agent_executions_total{`+failed+`}`)) + `, "failing", "agent $1", "agent", "(.*)")`,
	`label_replace(` + sumBy("provider", rateOf(`jeeves_llm_provider_calls_total{`+failed+`}`)) + `, "failing", "LLM provider $1", "provider", "(.*)")`,
}, " or ") + `)`

const dbPoolSource = "database client instrumentation (OTLP metrics db.client.connection.* or db.client.connections.*, through the jeeves_dbpool processor)"

// All is every dashboard, in file order.
var All = []Dashboard{
	{
		UID: "jeeves-overview", Title: "Jeeves / Service overview",
		Question: "Is Jeeves healthy right now: are runs and requests served, fast and correct, are traces whole, and is the collector up?",
		Panels: []Panel{
			{Title: "Pipeline runs per second", Expr: sumBy("", rateOf("jeeves_pipeline_executions_total")), Unit: "reqps", Kind: "stat"},
			{
				Title: "Pipeline failure ratio", Expr: shareOf("jeeves_pipeline_executions_total", failed, ""), Unit: "percentunit", Kind: "stat",
				Description: "Every outcome other than success counts (error, timeout, terminated). Red from 1%, where JeevesPipelineErrorRatioHigh fires.",
				Threshold:   &Threshold{Value: 0.01},
			},
			{
				Title: "Pipeline p99 latency", Expr: quantile("0.99", "jeeves_pipeline_duration_seconds_bucket", ""), Unit: "s", Kind: "stat",
				Description: "Over all pipelines; the Pipeline performance dashboard has it per pipeline. Red from 10 s, the JeevesPipelineLatencyHigh threshold.",
				Threshold:   &Threshold{Value: 10},
			},
			{
				Title: "Collector scrape targets up", Expr: `up{job=~"otelcol-jeeves.*"}`, Legend: "{{job}} {{instance}}", Unit: "none", Kind: "stat",
				Description: "1 = Prometheus scrapes the target (otelcol-jeeves: Jeeves metrics; otelcol-jeeves-self: the collector's own). 0 or no value: every Jeeves alert is blind; OtelcolJeevesDown pages.",
				Threshold:   &Threshold{Value: 1, BadBelow: true},
			},
			{
				Title: "Pipeline latency p50 / p95 / p99", Expr: quantiles("jeeves_pipeline_duration_seconds_bucket", ""), Legend: "{{quantile}}", Unit: "s",
				Description: "Exemplars (dots) open the trace in Jaeger.",
			},
			{
				Title:       "Trace completion ratio",
				Expr:        shareOf("jeeves_traces_decided_total", `completeness="complete"`, ""),
				Unit:        "percentunit",
				Description: "Share of the traces the tail sampler decided in which every span's parent arrived (request correlation across the Go/Python boundary). The plan's target is 95% (dashed line); below it JeevesTraceCompletionLow warns. Tail sampling mode only.",
				Threshold:   &Threshold{Value: 0.95, BadBelow: true},
				Scenario:    "healthy",
			},
			{
				Title: "Top errors (pipeline, agent, LLM provider)", Expr: topErrors, Legend: "{{failing}}", Unit: "reqps",
				Description: "The ten pipelines, agents and LLM providers with the most non-success outcomes per second.",
			},
			{Title: "Tokens per second by type", Expr: sumBy("type", rateOf("jeeves_llm_tokens_total")), Legend: "{{type}}", Unit: "short"},
			{Title: "HTTP requests per endpoint", Expr: sumBy("endpoint", rateOf("jeeves_http_requests_total")), Legend: "{{endpoint}}", Unit: "reqps", Scenario: "healthy"},
			{
				Title: "HTTP 5xx ratio per endpoint", Expr: shareOf("jeeves_http_requests_total", `status=~"5.."`, "endpoint"), Legend: "{{endpoint}}", Unit: "percentunit",
				Scenario: "healthy",
			},
			{
				Title: "HTTP p95 latency per endpoint", Expr: quantile("0.95", "jeeves_http_request_duration_seconds_bucket", "endpoint"), Legend: "{{endpoint}}", Unit: "s",
				Scenario: "healthy",
			},
			{Title: "Requests per service (span metrics)", Expr: `sum by (service_name) (rate(traces_span_metrics_calls_total{span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_INTERNAL"}[$__rate_interval]))`, Legend: "{{service_name}}", Unit: "reqps"},
			{Title: "Errors per service (span metrics)", Expr: `sum by (service_name) (rate(traces_span_metrics_calls_total{status_code="STATUS_CODE_ERROR"}[$__rate_interval]))`, Legend: "{{service_name}}", Unit: "reqps"},
			{Title: "Server span p95 latency per service", Expr: `histogram_quantile(0.95, sum by (service_name, le) (rate(traces_span_metrics_duration_milliseconds_bucket{span_kind="SPAN_KIND_SERVER"}[$__rate_interval])))`, Legend: "{{service_name}}", Unit: "ms"},
		},
	},
	{
		UID: "jeeves-pipelines", Title: "Jeeves / Pipeline performance",
		Question: "Which pipeline or agent is failing or slow, and why do runs end early?",
		Panels: []Panel{
			{
				Title: "Runs within the 5 s SLO", Expr: `sum(rate(jeeves_pipeline_duration_seconds_bucket{le=~"5(\\.0)?"}[$__rate_interval])) / sum(rate(jeeves_pipeline_duration_seconds_count[$__rate_interval]))`, Unit: "percentunit", Kind: "stat",
				Description: "The pipeline_latency SLO: 99% of runs within 5 s.",
				Threshold:   &Threshold{Value: 0.99, BadBelow: true},
			},
			{Title: "Runs per pipeline and status", Expr: sumBy("pipeline, status", rateOf("jeeves_pipeline_executions_total")), Legend: "{{pipeline}} {{status}}", Unit: "reqps"},
			{
				Title: "Success ratio per pipeline", Expr: shareOf("jeeves_pipeline_executions_total", `status="success"`, "pipeline"), Legend: "{{pipeline}}", Unit: "percentunit",
				Description: "Runs with status success over all runs. Below 99% (dashed line) JeevesPipelineErrorRatioHigh fires for the pipeline.",
				Threshold:   &Threshold{Value: 0.99, BadBelow: true},
			},
			{
				Title: "Pipeline p99 latency per pipeline", Expr: quantile("0.99", "jeeves_pipeline_duration_seconds_bucket", "pipeline"), Legend: "p99 {{pipeline}}", Unit: "s",
				Description: "Above 10 s (dashed line) JeevesPipelineLatencyHigh fires for the pipeline. Exemplars open the trace in Jaeger.",
				Threshold:   &Threshold{Value: 10},
			},
			{Title: "Agent executions per agent and status", Expr: sumBy("agent, status", rateOf("jeeves_agent_executions_total")), Legend: "{{agent}} {{status}}", Unit: "reqps"},
			{Title: "Agent failure ratio per agent", Expr: shareOf("jeeves_agent_executions_total", failed, "agent"), Legend: "{{agent}}", Unit: "percentunit"},
			{Title: "Agent p95 latency per agent", Expr: quantile("0.95", "jeeves_agent_duration_seconds_bucket", "agent"), Legend: "{{agent}}", Unit: "s"},
			{Title: "Terminations per second by reason", Expr: sumBy("reason", rateOf("jeeves_termination_total")), Legend: "{{reason}}", Unit: "reqps"},
			{
				Title: "Broken traces per second by service that lost the parent", Expr: sumBy("service", rateOf("jeeves_traces_broken_total")), Legend: "{{service}}", Unit: "short",
				Description: "Decided traces with a span whose parent never arrived, by the service of that span: context propagation broke on the way to it. Tail sampling mode only.",
				Scenario:    "broken-propagation",
			},
		},
	},
	{
		UID: "jeeves-llm", Title: "Jeeves / LLM provider health",
		Question: "Is an LLM provider failing or slow, and what do the models cost in tokens?",
		Panels: []Panel{
			{Title: "Provider calls per provider and status", Expr: sumBy("provider, status", rateOf("jeeves_llm_provider_calls_total")), Legend: "{{provider}} {{status}}", Unit: "reqps", Scenario: "healthy"},
			{
				Title: "Provider error ratio per provider", Expr: shareOf("jeeves_llm_provider_calls_total", failed, "provider"), Legend: "{{provider}}", Unit: "percentunit",
				Description: "Above 10% (dashed line) JeevesLLMProviderErrorRatioHigh pages for the provider.",
				Threshold:   &Threshold{Value: 0.10},
				Scenario:    "healthy",
			},
			{
				Title: "Provider latency p95 per provider", Expr: quantile("0.95", "jeeves_llm_provider_duration_seconds_bucket", "provider"), Legend: "{{provider}}", Unit: "s",
				Description: "Exemplars open the trace in Jaeger.",
				Scenario:    "healthy",
			},
			{Title: "Calls per model", Expr: sumBy("provider, model", rateOf("jeeves_llm_calls_total")), Legend: "{{provider}}/{{model}}", Unit: "reqps"},
			{Title: "Model p95 latency", Expr: quantile("0.95", "jeeves_llm_duration_seconds_bucket", "provider, model"), Legend: "{{provider}}/{{model}}", Unit: "s"},
			{Title: "Tokens per second by model and type", Expr: sumBy("model, type", rateOf("jeeves_llm_tokens_total")), Legend: "{{model}} {{type}}", Unit: "short"},
			{
				Row:   llmSpendRow,
				Title: "LLM spend per hour by provider and model", Expr: sumBy("provider, model", `increase(jeeves_llm_cost_usd_total[1h])`), Legend: "{{provider}}/{{model}}", Unit: "currencyUSD",
				Description: "USD over the trailing hour: the span's jeeves.llm.cost_usd, else its tokens at metrics.llm_cost.prices. Calls with neither are in Unpriced LLM calls, not here.",
			},
			unpricedCalls,
			spendPerPipeline,
			topPipelinesByCost,
			{
				Title: "LLM spend per hour by agent", Expr: sumBy("agent", `increase(jeeves_agent_llm_cost_usd_total[1h])`), Legend: "{{agent}}", Unit: "currencyUSD",
				Description: "USD over the trailing hour by the nearest agent span above each LLM call (tail sampling mode only; unknown: no agent above it).",
			},
		},
	},
	{
		UID: "jeeves-infrastructure", Title: "Jeeves / Infrastructure",
		Question: "Is the collector keeping up and within its bounds, and are the databases and their connection pools healthy?",
		Panels: []Panel{
			{
				Title: "Spans accepted vs refused per receiver",
				Expr: labelled(sumBy("receiver", rateOf("otelcol_receiver_accepted_spans")), "outcome", "accepted") + " or " +
					labelled(sumBy("receiver", rateOf("otelcol_receiver_refused_spans")), "outcome", "refused"),
				Legend: "{{outcome}} {{receiver}}", Unit: "short",
				Description: "Spans per second. Refused spans were turned away (memory limiter, full pipeline): senders must retry; OtelcolJeevesRefusingData warns.",
			},
			{
				Title: "Spans exported vs failed per exporter",
				Expr: labelled(sumBy("exporter", rateOf("otelcol_exporter_sent_spans")), "outcome", "sent") + " or " +
					labelled(sumBy("exporter", rateOf("otelcol_exporter_send_failed_spans")), "outcome", "send failed") + " or " +
					labelled(sumBy("exporter", rateOf("otelcol_exporter_enqueue_failed_spans")), "outcome", "enqueue failed"),
				Legend: "{{outcome}} {{exporter}}", Unit: "short",
				Description: "Spans per second to the trace backend. Failures are spans lost: OtelcolJeevesDroppingData warns.",
			},
			{
				Title: "Export queue fill", Expr: `max by (exporter) (otelcol_exporter_queue_size / otelcol_exporter_queue_capacity)`, Legend: "{{exporter}}", Unit: "percentunit",
				Description: "The backend is slow or down when the queue grows; above 80% (dashed line) OtelcolJeevesExportQueueFilling warns, at 100% spans are refused.",
				Threshold:   &Threshold{Value: 0.8},
			},
			{
				Title:  "Span observations folded into the overflow series per family",
				Expr:   sumBy("metric", rateOf("otelcol_connector_jeeves_spans_overflowed")) + " or " + sumBy("metric", "otelcol_connector_jeeves_series_active") + " * 0",
				Legend: "{{metric}}", Unit: "short",
				Description: "Above 0, a metric family reached metrics.series_limit and new label sets land in the otel.metric.overflow series: OtelcolJeevesSeriesOverflow warns.",
			},
			{
				Title: "Sampler forced decisions by reason", Expr: sumBy("reason", rateOf("otelcol_connector_jeeves_sampling_forced_decisions")), Legend: "{{reason}}", Unit: "short",
				Description: "Traces decided before decision_wait because the tail sampler hit sampling.max_traces or sampling.max_bytes: their late spans miss the decision.",
			},
			{
				Title: "Sampling budget decisions by reason",
				Expr: sumBy("reason", rateOf("otelcol_connector_jeeves_sampling_budget_decisions")) + " or " +
					labelled(sumBy("", rateOf("otelcol_connector_jeeves_sampling_traces")), "reason", "budget off") + " * 0",
				Legend: "{{reason}}", Unit: "short",
				Description: "Traces per second decided under sampling.budget: error and slow kept within the cap, floor, sampled, capped (error/slow traces the cap dropped: the cap is active, stored traces carry th > 0) and dropped. A flat \"budget off\" line at 0 when no budget is configured. See docs/sampling.md.",
			},
			{
				Title: "Sampling probability per budget key (lowest 10)",
				Expr: "bottomk(10, otelcol_connector_jeeves_sampling_budget_probability) or " +
					labelled(labelled(sumBy("", "otelcol_connector_jeeves_sampling_traces_in_memory"), "outcome", "off"), "pipeline", "budget") + " * 0 + 1",
				Legend: "{{pipeline}} {{outcome}}", Unit: "percentunit",
				Description: "The probability the next trace of each pipeline and outcome is kept with; a stored trace stands for 1/probability traces. Below 100% for error or slow, the cap is active. A flat \"budget off\" line at 100% when no budget is configured (tail mode).",
			},
			{Title: "Collector CPU (cores)", Expr: sumBy("instance", rateOf("otelcol_process_cpu_seconds")), Legend: "{{instance}}", Unit: "short"},
			{Title: "Collector memory (RSS)", Expr: `max by (instance) (otelcol_process_memory_rss)`, Legend: "{{instance}}", Unit: "bytes"},
			{
				Title: "CommBus connections by mode", Expr: sumBy("mode", "otelcol_receiver_commbus_connections_active"), Legend: "{{mode}}", Unit: "short",
				Description: "subscribe: 1 while the kernel subscription is open (0: OtelcolJeevesCommBusDisconnected); listen: publishers connected.",
				External:    "the CommBus receiver connected to a Jeeves kernel or bridge",
				Scenario:    "interrupt-storm",
			},
			{
				Title: "DB pool utilisation per pool", Expr: `max by (pool) (jeeves_db_pool_active_connections / jeeves_db_pool_size)`, Legend: "{{pool}}", Unit: "percentunit",
				Description: "Connections in use over the pool's maximum; above 80% (dashed line) JeevesDBPoolUtilisationHigh warns.",
				Threshold:   &Threshold{Value: 0.8},
				External:    dbPoolSource,
				Scenario:    "db-pool-exhaustion",
			},
			{
				Title: "DB connections per pool and state", Expr: sumBy("pool, state", "jeeves_db_connections"), Legend: "{{pool}} {{state}}", Unit: "short",
				External: dbPoolSource,
				Scenario: "db-pool-exhaustion",
			},
			{
				Title: "DB query error ratio per system", Expr: shareOf("jeeves_db_queries_total", failed, "system"), Legend: "{{system}}", Unit: "percentunit",
				Description: "DB client spans with error status over all; the db_availability SLO allows 0.1% (dashed line).",
				Threshold:   &Threshold{Value: 0.001},
				Scenario:    "healthy",
			},
			{Title: "DB query p99 latency per operation", Expr: quantile("0.99", "jeeves_db_query_duration_seconds_bucket", "operation"), Legend: "{{operation}}", Unit: "s"},
		},
	},
	{
		UID: "jeeves-business", Title: "Jeeves / Business",
		Question: "What did users get: outcomes of runs and processes, interrupts waiting on people, quotas hit, tokens spent?",
		Panels: []Panel{
			{Title: "Tokens spent", Expr: sumBy("type", `increase(jeeves_llm_tokens_total[$__range])`), Legend: "{{type}}", Unit: "short", Kind: "stat"},
			{
				Title: "Open processes", Expr: `sum(jeeves_processes_active)`, Unit: "short", Kind: "stat",
				Description: "Jeeves processes (one per running session) between process.created and their end, as the CommBus receiver tracks them; 0 without a CommBus feed.",
			},
			{Title: "Pipeline outcomes", Expr: sumBy("status", `increase(jeeves_pipeline_executions_total[$__range])`), Legend: "{{status}}", Unit: "short"},
			{
				Title: "Process outcomes", Expr: sumBy("outcome", `increase(jeeves_process_duration_seconds_count[$__range])`), Legend: "{{outcome}}", Unit: "short",
				Description: "Processes that ended in the time range, terminated or cancelled (process.terminated / process.cancelled on the CommBus).",
				External:    "the CommBus receiver (process lifecycle events)",
				Scenario:    "interrupt-storm",
			},
			{
				Title: "Interrupts per second by kind and status", Expr: sumBy("kind, status", rateOf("jeeves_interrupts_total")), Legend: "{{kind}} {{status}}", Unit: "short",
				Description: "From CommBus events (processes waiting on a person and back), the only source by default. More than 10/s in all for 5 minutes: JeevesInterruptRateHigh.",
				External:    "the CommBus receiver (process lifecycle events)",
				Scenario:    "interrupt-storm",
			},
			{
				Title: "Process duration p95 by outcome", Expr: quantile("0.95", "jeeves_process_duration_seconds_bucket", "outcome"), Legend: "{{outcome}}", Unit: "s",
				Description: "Whole runs from process.created to their end, time waiting on a user included.",
				External:    "the CommBus receiver (process lifecycle events)",
				Scenario:    "interrupt-storm",
			},
			{Title: "Terminations by reason", Expr: sumBy("reason", `increase(jeeves_termination_total[$__range])`), Legend: "{{reason}}", Unit: "short"},
			{
				Title: "Quota exhaustions by resource", Expr: sumBy("resource", `increase(jeeves_resource_exhaustions_total[$__range])`), Legend: "{{resource}}", Unit: "short",
				External: "the CommBus receiver (resource.exhausted events)",
				Scenario: "interrupt-storm",
			},
			{
				Title: "Lifecycle events per second by type", Expr: sumBy("event_type", rateOf("jeeves_commbus_events_total")), Legend: "{{event_type}}", Unit: "short",
				Description: "process.created is a session's run starting.",
				External:    "the CommBus receiver",
				Scenario:    "interrupt-storm",
			},
			{
				Row:   llmSpendRow,
				Title: "LLM spend in the time range", Expr: `sum(increase(jeeves_llm_cost_usd_total[$__range]))`, Unit: "currencyUSD", Kind: "stat",
				Description: "USD spent on LLM calls in the dashboard's time range (unpriced calls not included). JeevesLLMDailyBudgetExceeded pages when the last 24 h pass JEEVES_LLM_DAILY_BUDGET_USD.",
			},
			withTitle(spendPerPipeline, "Pipeline LLM spend per hour"),
			withTitle(topPipelinesByCost, "Top 10 pipelines by LLM spend"),
			withTitle(unpricedCalls, "LLM calls without a price per second"),
		},
	},
}
