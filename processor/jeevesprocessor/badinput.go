// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package jeevesprocessor // import "github.com/jeeves/otelcol-jeeves/processor/jeevesprocessor"

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// invalidSpanLogEvery rate-limits the warning about spans with an all-zero id.
const invalidSpanLogEvery = 10 * time.Second

var (
	attrInvalidTraceID = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "trace_id")))
	attrInvalidSpanID  = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "span_id")))
)

// validIDs reports whether the span has a trace id and a span id that are not
// all zero. Both faces skip a span without them: the W3C trace context calls
// such ids invalid, so the span can be neither joined to a trace nor
// sampled consistently. The metrics face counts it in spans_invalid; the
// sampling face drops it silently because it sees the same batch.
func validIDs(span ptrace.Span) (traceOK, spanOK bool) {
	return !span.TraceID().IsEmpty(), !span.SpanID().IsEmpty()
}

// invalidSpans counts, per batch, the spans dropped for an all-zero id, and
// logs them at most once per invalidSpanLogEvery (the counter has them all).
type invalidSpans struct {
	logger *zap.Logger

	mu           sync.Mutex
	logged       time.Time
	pendingTrace int64
	pendingSpan  int64
}

// report adds a batch's dropped spans to the next log line and writes it when
// the last one is old enough.
func (v *invalidSpans) report(traceIDs, spanIDs int64) {
	if v.logger == nil {
		return
	}
	v.mu.Lock()
	v.pendingTrace += traceIDs
	v.pendingSpan += spanIDs
	now := time.Now()
	if !v.logged.IsZero() && now.Sub(v.logged) < invalidSpanLogEvery {
		v.mu.Unlock()
		return
	}
	tr, sp := v.pendingTrace, v.pendingSpan
	v.pendingTrace, v.pendingSpan, v.logged = 0, 0, now
	v.mu.Unlock()
	v.logger.Warn("jeeves connector: dropped spans with an all-zero trace id or span id; they are neither counted in the metrics nor sampled (see otelcol_connector_jeeves_spans_invalid)",
		zap.Int64("zero_trace_id", tr), zap.Int64("zero_span_id", sp))
}
