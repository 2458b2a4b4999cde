package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
)

// otlpServer is a minimal OTLP/gRPC trace receiver that counts what it gets.
type otlpServer struct {
	collectortrace.UnimplementedTraceServiceServer
	mu       sync.Mutex
	spans    int64
	services map[string]int64
	reject   int64 // spans to report as rejected in a partial success
	fail     bool  // answer every export with Unavailable
}

func (s *otlpServer) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	if s.fail {
		return nil, status.Error(codes.Unavailable, "down for the test")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		svc := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				svc = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			s.spans += int64(len(ss.Spans))
			s.services[svc] += int64(len(ss.Spans))
		}
	}
	resp := &collectortrace.ExportTraceServiceResponse{}
	if s.reject > 0 {
		resp.PartialSuccess = &collectortrace.ExportTracePartialSuccess{RejectedSpans: s.reject, ErrorMessage: "rejected for the test"}
	}
	return resp, nil
}

func startServer(t *testing.T, srv *otlpServer) string {
	t.Helper()
	srv.services = map[string]int64{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func TestRunSendsAndWritesManifest(t *testing.T) {
	srv := &otlpServer{}
	addr := startServer(t, srv)
	out := filepath.Join(t.TempDir(), "manifest.json")
	var stdout, stderr bytes.Buffer
	code := run([]string{"-endpoint", addr, "-traces", "500", "-seed", "9", "-manifest", out, "-trace-ids"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var m loadgen.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Traces != 500 || m.Spans != srv.spans || len(m.TraceList) != 500 || m.Seed != 9 {
		t.Fatalf("manifest: %d traces, %d spans, %d records, seed %d; server got %d spans",
			m.Traces, m.Spans, len(m.TraceList), m.Seed, srv.spans)
	}
	for svc, n := range srv.services {
		if m.SpansByService[svc] != n {
			t.Errorf("service %s: manifest %d spans, server got %d", svc, m.SpansByService[svc], n)
		}
	}
	if len(srv.services) != 3 {
		t.Errorf("server saw services %v, want 3", srv.services)
	}
	if stdout.Len() != 0 {
		t.Errorf("manifest also went to stdout")
	}

	// The same seed through stdout gives the same manifest.
	stdout.Reset()
	if code := run([]string{"-endpoint", addr, "-traces", "500", "-seed", "9", "-trace-ids"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.String() != string(data) {
		t.Fatal("stdout manifest differs from the file manifest of the same seed")
	}
}

func TestRunFailsWithoutManifestWhenExportFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		srv  *otlpServer
		want string
	}{
		{"unavailable", &otlpServer{fail: true}, "Unavailable"},
		{"partial success", &otlpServer{reject: 3}, "rejected for the test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, tc.srv)
			out := filepath.Join(t.TempDir(), "manifest.json")
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run([]string{"-endpoint", addr, "-traces", "50", "-manifest", out, "-export-timeout", "2s"}, &stdout, &stderr)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "no manifest written") || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not explain the failure", stderr.String())
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("manifest written despite the failure (stat: %v)", err)
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("took %v to fail", time.Since(start))
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.endpoint != "127.0.0.1:4317" || !o.insecure || o.gzip || o.manifest != "-" ||
		o.cfg.ErrorRatio != 0.05 || o.cfg.SlowRatio != 0.02 || o.cfg.Rate != 0 || o.cfg.BatchSize != 2048 {
		t.Fatalf("defaults: %+v", o)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-error-ratio", "3", "-traces", "0"}, &bytes.Buffer{}, &stderr); code != 2 {
		t.Fatalf("exit %d for invalid flags, want 2", code)
	}
	want := "jeeves-loadgen: traces and duration are both 0: set at least one limit\nerror_ratio must be in [0, 1], got 3\n"
	if stderr.String() != want {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
	if code := run([]string{"extra"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
		t.Fatalf("exit %d for a stray argument, want 2", code)
	}
	o, err = parseFlags([]string{"-phases", "30x20s@0.05,300x60s@0.9"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.cfg.Phases) != 2 || o.cfg.Traces != 600+18000 {
		t.Fatalf("phases: %+v, traces %d", o.cfg.Phases, o.cfg.Traces)
	}
	if _, err := parseFlags([]string{"-phases", "30x20s"}, &bytes.Buffer{}); err == nil || !strings.HasPrefix(err.Error(), "-phases: phase 0") {
		t.Fatalf("bad -phases: %v", err)
	}
}

// Writing the manifest to a device (here /dev/null) writes through it and leaves the device in
// place; the atomic rename is only for regular files.
func TestWriteManifestToDevice(t *testing.T) {
	m, err := loadgen.Plan(loadgenSmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(os.DevNull, m, nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: %v", os.DevNull, fi.Mode())
	}
}

func loadgenSmallConfig() loadgen.Config {
	cfg := loadgen.DefaultConfig()
	cfg.Traces = 3
	return cfg
}
