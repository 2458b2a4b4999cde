package sampler

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Byte estimates of what a buffered span holds on the heap. The fixed parts are the sizes of pdata's
// in-memory structs (the span struct and its slot in a slice, one attribute key/value with the box
// around its value, one event or link); variable parts add the string and byte payloads. The
// constants were calibrated against measured heap growth (see TestEstimateMatchesHeap); the estimate
// is what max_bytes bounds.
const (
	spanFixedBytes     = 240
	attrFixedBytes     = 64
	eventFixedBytes    = 80
	linkFixedBytes     = 112
	traceFixedBytes    = 272 // our per-trace entry (192 B) and its map slot
	groupFixedBytes    = 112 // each resource/scope group of a trace (the first one too), with room for 8 spans
	resourceFixedBytes = 96  // a shared copy of a resource, or of a scope
)

// EstimateSpanBytes estimates the heap a span holds: fixed struct sizes plus its names, tracestate,
// status message and every attribute of the span, its events and its links.
func EstimateSpanBytes(span ptrace.Span) int64 {
	n := int64(spanFixedBytes + len(span.Name()) + len(span.TraceState().AsRaw()) + len(span.Status().Message()))
	n += estimateMap(span.Attributes())
	events := span.Events()
	for i := range events.Len() {
		e := events.At(i)
		n += eventFixedBytes + int64(len(e.Name())) + estimateMap(e.Attributes())
	}
	links := span.Links()
	for i := range links.Len() {
		l := links.At(i)
		n += linkFixedBytes + int64(len(l.TraceState().AsRaw())) + estimateMap(l.Attributes())
	}
	return n
}

func estimateResource(r pcommon.Resource) int64 {
	return resourceFixedBytes + estimateMap(r.Attributes())
}

func estimateScope(s pcommon.InstrumentationScope) int64 {
	return resourceFixedBytes + int64(len(s.Name())+len(s.Version())) + estimateMap(s.Attributes())
}

func estimateMap(m pcommon.Map) int64 {
	var n int64
	for k, v := range m.All() {
		n += attrFixedBytes + int64(len(k)) + estimateValue(v)
	}
	return n
}

func estimateValue(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return int64(len(v.Str()))
	case pcommon.ValueTypeBytes:
		return int64(v.Bytes().Len())
	case pcommon.ValueTypeMap:
		return estimateMap(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		var n int64
		for i := range s.Len() {
			n += attrFixedBytes + estimateValue(s.At(i))
		}
		return n
	default:
		return 0
	}
}
