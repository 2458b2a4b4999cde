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
	perTrace := smp.Stats().PerTrace
	observeRules := func(o metric.Int64Observer, pick func(sampler.Counts) uint64) {
		st := smp.Stats()
		o.Observe(int64(pick(st.Kept.Probability)), attrKeptProbability)
		if st.PerTrace {
			o.Observe(int64(pick(st.Kept.Error)), attrKeptError)
			o.Observe(int64(pick(st.Kept.Latency)), attrKeptLatency)
		}
		o.Observe(int64(pick(st.Dropped.Probability)), attrDroppedProbability)
	}
	gauge := func(o metric.Int64Observer, v int64) {
		if perTrace {
			o.Observe(v)
		}
	}
	regs := []error{
		tb.RegisterConnectorJeevesSamplingSpansCallback(func(_ context.Context, o metric.Int64Observer) error {
			observeRules(o, func(c sampler.Counts) uint64 { return c.Spans })
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingMalformedTracestatesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(smp.Stats().MalformedTraceState))
			return nil
		}),
	}
	if perTrace {
		regs = append(regs,
			tb.RegisterConnectorJeevesSamplingTracesCallback(func(_ context.Context, o metric.Int64Observer) error {
				observeRules(o, func(c sampler.Counts) uint64 { return c.Traces })
				return nil
			}),
			tb.RegisterConnectorJeevesSamplingForcedDecisionsCallback(func(_ context.Context, o metric.Int64Observer) error {
				st := smp.Stats()
				o.Observe(int64(st.ForcedMaxTraces), attrMaxTraces)
				o.Observe(int64(st.ForcedMaxBytes), attrMaxBytes)
				return nil
			}),
			tb.RegisterConnectorJeevesSamplingEarlyDecisionsCallback(func(_ context.Context, o metric.Int64Observer) error {
				o.Observe(int64(smp.Stats().EarlyRoot))
				return nil
			}),
			tb.RegisterConnectorJeevesSamplingLateSpansCallback(func(_ context.Context, o metric.Int64Observer) error {
				st := smp.Stats()
				o.Observe(int64(st.LateSpansKept), attrKept)
				o.Observe(int64(st.LateSpansDropped), attrDropped)
				return nil
			}),
		)
	}
	regs = append(regs,
		tb.RegisterConnectorJeevesSamplingTracesInMemoryCallback(func(_ context.Context, o metric.Int64Observer) error {
			gauge(o, int64(smp.Stats().TracesInMemory))
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingSpansInMemoryCallback(func(_ context.Context, o metric.Int64Observer) error {
			gauge(o, int64(smp.Stats().SpansInMemory))
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingBytesInMemoryCallback(func(_ context.Context, o metric.Int64Observer) error {
			gauge(o, smp.Stats().BytesInMemory)
			return nil
		}),
		tb.RegisterConnectorJeevesSamplingDecisionsCachedCallback(func(_ context.Context, o metric.Int64Observer) error {
			gauge(o, int64(smp.Stats().CachedDecisions))
			return nil
		}),
	)
	for _, err := range regs {
		if err != nil {
			return err
		}
	}
	return nil
}
