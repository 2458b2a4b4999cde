package sampler

import (
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// protoPoolingGate is pdata's feature gate under which receivers hand a request's spans back to a
// pool once the request has been handled, to be reused for the next one.
const protoPoolingGate = "pdata.useProtoPooling"

// spanKeeper returns how tail mode holds an incoming span past the call that brought it: the span
// itself (the sampling face only reads it, and the collector gives read-only consumers the batch
// itself), or, when pdata's proto pooling is on and the span's memory may be reused under the
// buffer, a copy. Gates are set from the command line before components are created.
func spanKeeper() func(ptrace.Span) ptrace.Span {
	if gateEnabled(protoPoolingGate) {
		return copySpan
	}
	return holdSpan
}

func holdSpan(span ptrace.Span) ptrace.Span { return span }

func copySpan(span ptrace.Span) ptrace.Span {
	c := ptrace.NewSpan()
	span.CopyTo(c)
	return c
}

func gateEnabled(id string) bool {
	enabled := false
	featuregate.GlobalRegistry().VisitAll(func(g *featuregate.Gate) {
		if g.ID() == id {
			enabled = g.IsEnabled()
		}
	})
	return enabled
}
