package sampler

import (
	"maps"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Completeness counts decided traces by whether every span's parent arrived. A trace is broken when
// one of its spans names a parent span that was never buffered with it: the service that sent the
// child received a trace context whose parent span never reached the collector (a service that does
// not export, or that propagates a context it did not record). Only tail mode sees whole traces.
type Completeness struct {
	// Complete and Broken count decided traces; every decided trace is one of the two.
	Complete uint64
	Broken   uint64
	// BrokenByService counts broken traces by the service.name of their first span whose parent is
	// missing (so the values sum to Broken). At most MaxBrokenServices names are kept; traces of
	// further services are counted under OtherService.
	BrokenByService map[string]uint64
}

const (
	// MaxBrokenServices bounds BrokenByService.
	MaxBrokenServices = 256
	// OtherService collects broken traces of services beyond MaxBrokenServices.
	OtherService = "_other"
	// UnknownService names broken traces whose orphan span's resource has no service.name.
	UnknownService = "unknown"
	// smallTrace is the span count up to which the check compares ids pairwise instead of using
	// the id set.
	smallTrace = 32
)

// completeness is the tail sampler's count; its owner's lock guards it.
type completeness struct {
	Completeness
	ids map[pcommon.SpanID]struct{} // scratch for large traces
}

// record checks one trace about to be decided.
func (c *completeness) record(e *traceEntry) {
	orphan, ok := c.findOrphan(e)
	if !ok {
		c.Complete++
		return
	}
	c.Broken++
	service := UnknownService
	if v, has := orphan.Resource().Attributes().Get("service.name"); has && v.Str() != "" {
		service = v.Str()
	}
	if c.BrokenByService == nil {
		c.BrokenByService = make(map[string]uint64)
	}
	if _, seen := c.BrokenByService[service]; !seen && len(c.BrokenByService) >= MaxBrokenServices {
		service = OtherService
	}
	c.BrokenByService[service]++
}

// findOrphan returns the resource of the first span, in arrival order, whose parent is not in the
// trace.
func (c *completeness) findOrphan(e *traceEntry) (ptrace.ResourceSpans, bool) {
	large := e.spans > smallTrace
	if large {
		c.fillIDs(e)
	}
	for _, g := range e.groups {
		for i := range g.spans.Len() {
			p := g.spans.At(i).ParentSpanID()
			if p.IsEmpty() {
				continue
			}
			if large {
				if _, ok := c.ids[p]; ok {
					continue
				}
			} else if hasSpan(e, p) {
				continue
			}
			return g.scope.res.rs, true
		}
	}
	return ptrace.ResourceSpans{}, false
}

// fillIDs puts the span ids of a large trace in the scratch set.
func (c *completeness) fillIDs(e *traceEntry) {
	if c.ids == nil {
		c.ids = make(map[pcommon.SpanID]struct{}, e.spans)
	}
	clear(c.ids)
	for _, g := range e.groups {
		for i := range g.spans.Len() {
			c.ids[g.spans.At(i).SpanID()] = struct{}{}
		}
	}
}

// hasSpan reports whether the trace holds a span with the id, by a scan: cheaper than a set for the
// few spans most traces have.
func hasSpan(e *traceEntry, id pcommon.SpanID) bool {
	for _, g := range e.groups {
		for i := range g.spans.Len() {
			if g.spans.At(i).SpanID() == id {
				return true
			}
		}
	}
	return false
}

// snapshot returns a copy that the caller may keep.
func (c *completeness) snapshot() Completeness {
	out := c.Completeness
	out.BrokenByService = maps.Clone(c.BrokenByService)
	return out
}
