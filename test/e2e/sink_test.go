package e2e

import (
	"context"
	"net"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// traceSink is an OTLP/gRPC trace backend standing in for Jaeger's receiver: it records every span.
type traceSink struct {
	ptraceotlp.UnimplementedGRPCServer
	Addr string

	mu       sync.Mutex
	spans    int
	requests int
	traceIDs map[pcommon.TraceID]int
	all      []ptrace.Traces
	keepAll  bool
}

// startTraceSink listens on a free loopback port until the test ends. keepAll keeps every received
// batch for inspection (memory grows with the input; off for load runs).
func startTraceSink(t *testing.T, keepAll bool) *traceSink {
	t.Helper()
	return startTraceSinkAt(t, "127.0.0.1:0", keepAll)
}

// startTraceSinkAt is startTraceSink on a given address (a backend that comes up where an exporter
// already points).
func startTraceSinkAt(t *testing.T, addr string, keepAll bool) *traceSink {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &traceSink{Addr: l.Addr().String(), traceIDs: map[pcommon.TraceID]int{}, keepAll: keepAll}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	ptraceotlp.RegisterGRPCServer(srv, s)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return s
}

func (s *traceSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := req.Traces()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	forEachSpan(td, func(span ptrace.Span) {
		s.spans++
		s.traceIDs[span.TraceID()]++
	})
	if s.keepAll {
		cp := ptrace.NewTraces()
		td.CopyTo(cp)
		s.all = append(s.all, cp)
	}
	return ptraceotlp.NewExportResponse(), nil
}

// SpanCount is the number of spans received so far.
func (s *traceSink) SpanCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans
}

// TraceSpanCounts returns a copy of spans received per trace id.
func (s *traceSink) TraceSpanCounts() map[pcommon.TraceID]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[pcommon.TraceID]int, len(s.traceIDs))
	for k, v := range s.traceIDs {
		out[k] = v
	}
	return out
}

// Batches returns the received batches (only with keepAll).
func (s *traceSink) Batches() []ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.all...)
}

// forEachSpan calls fn for every span of td.
func forEachSpan(td ptrace.Traces, fn func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				fn(spans.At(k))
			}
		}
	}
}
