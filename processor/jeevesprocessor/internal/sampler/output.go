package sampler

import "go.opentelemetry.io/collector/pdata/ptrace"

// output builds the batch a call forwards. It allocates nothing until the first span is added, so a
// call that forwards nothing returns the shared empty batch.
//
// Spans come from two places. Copies of spans of the batch being read (head's kept spans, tail's
// late spans of kept traces) go under copies of the resource and scope they came with: the caller
// announces each incoming resource and scope, and the first span added under one copies it once.
// Buffered spans of traces decided now (tail) go under one ResourceSpans per resource holder and
// one ScopeSpans per scope holder.
type output struct {
	td   ptrace.Traces // copies of spans of the batch being read
	used bool
	// decided holds the buffered spans of traces decided during the call; they follow the copies in
	// the forwarded batch.
	decided     ptrace.Traces
	usedDecided bool

	// The incoming resource and scope being read, and their copies once a span was added under them.
	inRS             ptrace.ResourceSpans
	inSS             ptrace.ScopeSpans
	outRS            ptrace.ResourceSpans
	outSpans         ptrace.SpanSlice
	haveRS, haveSpan bool

	res    map[*resHolder]ptrace.ResourceSpans
	scopes map[*scopeHolder]ptrace.ScopeSpans
}

func (o *output) batch() ptrace.Traces {
	if !o.used {
		o.used = true
		o.td = ptrace.NewTraces()
	}
	return o.td
}

// enterResource announces the incoming resource whose spans follow.
func (o *output) enterResource(rs ptrace.ResourceSpans) {
	o.inRS, o.haveRS, o.haveSpan = rs, false, false
}

// enterScope announces the incoming scope, of the last announced resource, whose spans follow.
func (o *output) enterScope(ss ptrace.ScopeSpans) {
	o.inSS, o.haveSpan = ss, false
}

// appendCopy appends a copy of span, which belongs to the announced scope, and returns the copy.
func (o *output) appendCopy(span ptrace.Span) ptrace.Span {
	if !o.haveSpan {
		if !o.haveRS {
			o.outRS = o.batch().ResourceSpans().AppendEmpty()
			o.inRS.Resource().CopyTo(o.outRS.Resource())
			o.outRS.SetSchemaUrl(o.inRS.SchemaUrl())
			o.haveRS = true
		}
		ss := o.outRS.ScopeSpans().AppendEmpty()
		o.inSS.Scope().CopyTo(ss.Scope())
		ss.SetSchemaUrl(o.inSS.SchemaUrl())
		o.outSpans = ss.Spans()
		o.haveSpan = true
	}
	dst := o.outSpans.AppendEmpty()
	span.CopyTo(dst)
	return dst
}

// scope returns the ScopeSpans that buffered spans of sh go to.
func (o *output) scope(sh *scopeHolder) ptrace.ScopeSpans {
	if o.scopes == nil {
		o.res = make(map[*resHolder]ptrace.ResourceSpans)
		o.scopes = make(map[*scopeHolder]ptrace.ScopeSpans)
	}
	if ss, ok := o.scopes[sh]; ok {
		return ss
	}
	rs, ok := o.res[sh.res]
	if !ok {
		if !o.usedDecided {
			o.usedDecided = true
			o.decided = ptrace.NewTraces()
		}
		rs = o.decided.ResourceSpans().AppendEmpty()
		sh.res.rs.Resource().CopyTo(rs.Resource())
		rs.SetSchemaUrl(sh.res.rs.SchemaUrl())
		o.res[sh.res] = rs
	}
	ss := rs.ScopeSpans().AppendEmpty()
	sh.ss.Scope().CopyTo(ss.Scope())
	ss.SetSchemaUrl(sh.ss.SchemaUrl())
	o.scopes[sh] = ss
	return ss
}

// traces returns the built batch: the copies in the order they were read, then the traces decided
// during the call; or the shared empty batch when nothing was added.
func (o *output) traces() ptrace.Traces {
	switch {
	case o.used && o.usedDecided:
		o.decided.ResourceSpans().MoveAndAppendTo(o.td.ResourceSpans())
		return o.td
	case o.used:
		return o.td
	case o.usedDecided:
		return o.decided
	default:
		return nothing
	}
}
