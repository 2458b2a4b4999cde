// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadata"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

var (
	attrKeptProbability    = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "probability")))
	attrKeptError          = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "error")))
	attrKeptLatency        = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "latency")))
	attrKeptFloor          = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept"), attribute.String("rule", "floor")))
	attrDroppedError       = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "dropped"), attribute.String("rule", "error")))
	attrDroppedLatency     = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "dropped"), attribute.String("rule", "latency")))
	attrDroppedProbability = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "dropped"), attribute.String("rule", "probability")))
	attrKept               = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "kept")))
	attrDropped            = metric.WithAttributeSet(attribute.NewSet(attribute.String("decision", "dropped")))
	attrMaxTraces          = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "max_traces")))
	attrMaxBytes           = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "max_bytes")))
)

// registerSamplingTelemetry serves every counter and gauge of the sampler,
// observed from its own statistics so the hot path does no telemetry work.
// A sampler that decides spans one by one (head) reports no per-trace
// counts, buffer or cache: those series are left out rather than shown as 0.
func registerSamplingTelemetry(tb *metadata.TelemetryBuilder, smp sampler.Sampler) error {
	regs := registerSpanTelemetry(tb, smp)
	if st := smp.Stats(); st.PerTrace {
		regs = append(regs, registerTraceTelemetry(tb, smp)...)
		if st.Budget != nil {
			regs = append(regs, registerBudgetTelemetry(tb, smp)...)
		}
	}
	for _, err := range regs {
		if err != nil {
			return err
		}
	}
	return nil
}

// observeRules observes one count per rule that can keep or drop; only a
// per-trace sampler keeps by the error and latency rules.
func observeRules(o metric.Int64Observer, st sampler.Stats, pick func(sampler.Counts) uint64) {
	o.Observe(int64(pick(st.Kept.Probability)), attrKeptProbability)
	if st.PerTrace {
		o.Observe(int64(pick(st.Kept.Error)), attrKeptError)
		o.Observe(int64(pick(st.Kept.Latency)), attrKeptLatency)
	}
	o.Observe(int64(pick(st.Dropped.Probability)), attrDroppedProbability)
	if st.Budget != nil { // only the budget keeps by the floor and drops errors and slow traces
		o.Observe(int64(pick(st.Kept.Floor)), attrKeptFloor)
		o.Observe(int64(pick(st.Dropped.Error)), attrDroppedError)
		o.Observe(int64(pick(st.Dropped.Latency)), attrDroppedLatency)
	}
}

// budgetReasonAttrs are the decisions series' attribute sets, by sampler.Reason.
var budgetReasonAttrs = func() []metric.MeasurementOption {
	out := make([]metric.MeasurementOption, len(sampler.Reasons))
	for _, r := range sampler.Reasons {
		out[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r.String())))
	}
	return out
}()

// registerBudgetTelemetry registers the budget's decisions by reason and the probability in force
// per key (at most metrics.series_limit keys, the bound the sampler folds keys at).
func registerBudgetTelemetry(tb *metadata.TelemetryBuilder, smp sampler.Sampler) []error {
	return []error{
		tb.RegisterConnectorJeevesSamplingBudgetDecisionsCallback(func(_ context.Context, o metric.Int64Observer) error {
			if b := smp.Stats().Budget; b != nil {
				for _, r := range sampler.Reasons {
					o.Observe(int64(b.Decisions[r]), budgetReasonAttrs[r])
				}
			}
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingBudgetProbabilityCallback(func(_ context.Context, o metric.Float64Observer) error {
			if b := smp.Stats().Budget; b != nil {
				for k, p := range b.Probabilities {
					o.Observe(p, metric.WithAttributes(attribute.String("pipeline", k.Pipeline), attribute.String("outcome", k.Outcome.String())))
				}
			}
			return nil
		}),
	}
}

func spanCount(c sampler.Counts) uint64  { return c.Spans }
func traceCount(c sampler.Counts) uint64 { return c.Traces }

// registerSpanTelemetry registers what every sampler reports.
func registerSpanTelemetry(tb *metadata.TelemetryBuilder, smp sampler.Sampler) []error {
	return []error{
		tb.RegisterConnectorJeevesSamplingSpansCallback(func(_ context.Context, o metric.Int64Observer) error {
			observeRules(o, smp.Stats(), spanCount)
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingMalformedTracestatesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(smp.Stats().MalformedTraceState))
			return nil
		}),
	}
}

// registerTraceTelemetry registers what a sampler that buffers and decides
// whole traces reports: its decisions and its buffer.
func registerTraceTelemetry(tb *metadata.TelemetryBuilder, smp sampler.Sampler) []error {
	// single observes one value read from the stats, for series without attributes.
	single := func(read func(sampler.Stats) int64) func(context.Context, metric.Int64Observer) error {
		return func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(read(smp.Stats()))
			return nil
		}
	}
	return []error{
		tb.RegisterConnectorJeevesSamplingTracesCallback(func(_ context.Context, o metric.Int64Observer) error {
			observeRules(o, smp.Stats(), traceCount)
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingForcedDecisionsCallback(func(_ context.Context, o metric.Int64Observer) error {
			st := smp.Stats()
			o.Observe(int64(st.ForcedMaxTraces), attrMaxTraces)
			o.Observe(int64(st.ForcedMaxBytes), attrMaxBytes)
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingLateSpansCallback(func(_ context.Context, o metric.Int64Observer) error {
			st := smp.Stats()
			o.Observe(int64(st.LateSpansKept), attrKept)
			o.Observe(int64(st.LateSpansDropped), attrDropped)
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingEarlyDecisionsCallback(single(func(st sampler.Stats) int64 { return int64(st.EarlyRoot) })),
		tb.RegisterConnectorJeevesSamplingTracesInMemoryCallback(single(func(st sampler.Stats) int64 { return int64(st.TracesInMemory) })),
		tb.RegisterConnectorJeevesSamplingSpansInMemoryCallback(single(func(st sampler.Stats) int64 { return int64(st.SpansInMemory) })),
		tb.RegisterConnectorJeevesSamplingBytesInMemoryCallback(single(func(st sampler.Stats) int64 { return st.BytesInMemory })),
		tb.RegisterConnectorJeevesSamplingDecisionsCachedCallback(single(func(st sampler.Stats) int64 { return int64(st.CachedDecisions) })),
	}
}
