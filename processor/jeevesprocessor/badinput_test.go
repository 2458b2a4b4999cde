// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/metadatatest"
	"github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor/internal/sampler"
)

// invalidIDBatch returns 50 valid three-span pipeline traces mixed with
// spans whose trace id, span id or both are all zero, all named as pipeline
// runs so that each one would count in jeeves.pipeline.executions and SPM.
func invalidIDBatch() (td ptrace.Traces, valid, zeroTrace, zeroSpan int, badTrace pcommon.TraceID) {
	td = buildTraces(plainSpecs(50, 1, ""))
	valid = td.SpanCount()
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	badTrace = randomID(777777)
	add := func(tid pcommon.TraceID, sid pcommon.SpanID) {
		sp := spans.AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetStartTimestamp(specBase)
		sp.SetEndTimestamp(specBase + 1000)
		sp.Status().SetCode(ptrace.StatusCodeError) // tail mode would keep it for sure
	}
	for i := range 4 {
		var sid pcommon.SpanID
		binary.BigEndian.PutUint64(sid[:], uint64(90000+i))
		add(pcommon.TraceID{}, sid)
	}
	for range 3 {
		add(badTrace, pcommon.SpanID{})
	}
	for range 2 {
		add(pcommon.TraceID{}, pcommon.SpanID{}) // counted once, as trace_id
	}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				sp.SetName("pipeline.execute")
			}
		}
	}
	return td, valid, 4 + 2, 3, badTrace
}

// sumTotal adds up every data point of the sum metric name.
func sumTotal(md pmetric.Metrics, name string) (total int64, found bool) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != name {
					continue
				}
				found = true
				for _, dp := range m.Sum().DataPoints().All() {
					if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
						total += int64(dp.DoubleValue())
					} else {
						total += dp.IntValue()
					}
				}
			}
		}
	}
	return total, found
}

// TestZeroIDSpansAreDroppedByBothFaces: in a batch mixing valid spans and
// spans with an all-zero trace or span id, the RED families and SPM count
// only the valid ones, spans_invalid counts each invalid span once (by
// reason), and neither sampling mode forwards an invalid span.
func TestZeroIDSpansAreDroppedByBothFaces(t *testing.T) {
	for _, mode := range []sampler.Mode{sampler.ModeTail, sampler.ModeHead} {
		t.Run(string(mode), func(t *testing.T) {
			h := newSamplingHarness(t, func(c *Config) {
				c.Sampling.Mode = mode
				c.Sampling.Percentage = 100 // every valid span is forwarded
				c.Sampling.RootSpanGrace = 0
			}, nil)
			td, valid, zeroTrace, zeroSpan, badTrace := invalidIDBatch()
			require.Equal(t, valid+zeroTrace+zeroSpan, td.SpanCount())
			h.consume(t, td)
			h.traces.s.drain(context.Background())
			h.metrics.m.flush(context.Background())

			md := h.last(t)
			for _, name := range []string{"jeeves.pipeline.executions", "traces.span.metrics.calls"} {
				got, found := sumTotal(md, name)
				require.True(t, found, name)
				assert.Equal(t, int64(valid), got, "%s counts only the spans with valid ids", name)
			}

			metadatatest.AssertEqualConnectorJeevesSpansInvalid(t, h.tel, []metricdata.DataPoint[int64]{
				{Value: int64(zeroTrace), Attributes: attribute.NewSet(attribute.String("reason", "trace_id"))},
				{Value: int64(zeroSpan), Attributes: attribute.NewSet(attribute.String("reason", "span_id"))},
			}, metricdatatest.IgnoreTimestamp())
			metadatatest.AssertEqualConnectorJeevesSpansSeen(t, h.tel, []metricdata.DataPoint[int64]{
				{Value: int64(td.SpanCount())},
			}, metricdatatest.IgnoreTimestamp())

			forwardedSpans := 0
			for _, out := range h.tsink.AllTraces() {
				for _, rs := range out.ResourceSpans().All() {
					for _, ss := range rs.ScopeSpans().All() {
						for _, sp := range ss.Spans().All() {
							forwardedSpans++
							assert.False(t, sp.TraceID().IsEmpty(), "a span with a zero trace id was forwarded")
							assert.False(t, sp.SpanID().IsEmpty(), "a span with a zero span id was forwarded")
							assert.NotEqual(t, badTrace, sp.TraceID(), "a span with a zero span id was forwarded")
						}
					}
				}
			}
			assert.Equal(t, valid, forwardedSpans, "at 100%% every valid span and nothing else is forwarded")

			// The sampler's own counts ignore the invalid spans as well.
			spansMetric, err := h.tel.GetMetric("otelcol_connector_jeeves_sampling_spans")
			require.NoError(t, err)
			var decided int64
			for _, dp := range spansMetric.Data.(metricdata.Sum[int64]).DataPoints {
				decided += dp.Value
			}
			assert.Equal(t, int64(valid), decided, "the sampler decided only the valid spans")
		})
	}
}

// TestInvalidSpanLogIsRateLimited: the first batch with invalid spans is
// logged at once, later ones within invalidSpanLogEvery wait for the next line.
func TestInvalidSpanLogIsRateLimited(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	v := invalidSpans{logger: zap.New(core)}
	v.report(2, 1)
	for range 4 {
		v.report(1, 1)
	}
	require.Equal(t, 1, logs.Len(), "one line per %s", invalidSpanLogEvery)
	fields := logs.All()[0].ContextMap()
	assert.Equal(t, int64(2), fields["zero_trace_id"])
	assert.Equal(t, int64(1), fields["zero_span_id"])
	v.mu.Lock()
	defer v.mu.Unlock()
	assert.Equal(t, int64(4), v.pendingTrace, "four batches wait for the next line")
	assert.Equal(t, int64(4), v.pendingSpan)
}
