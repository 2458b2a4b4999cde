package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want options
	}{
		{"defaults", nil, nil, options{listen: "127.0.0.1:8080", max: 1000, maxBody: 4 << 20}},
		{"env sets the listen default", nil, map[string]string{listenEnv: "0.0.0.0:9000"}, options{listen: "0.0.0.0:9000", max: 1000, maxBody: 4 << 20}},
		{"the flag beats the env", []string{"-listen", "127.0.0.1:1", "-max", "5", "-max-body", "10"}, map[string]string{listenEnv: "0.0.0.0:9000"},
			options{listen: "127.0.0.1:1", max: 5, maxBody: 10}},
		{"probe", []string{"-probe", "http://127.0.0.1:8080/healthz"}, nil, options{listen: "127.0.0.1:8080", max: 1000, maxBody: 4 << 20, probe: "http://127.0.0.1:8080/healthz"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBadFlagsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-max", "0", "-max-body", "-1", "-listen", "nowhere"},
			"jeeves-alert-webhook: -max must be at least 1, got 0\n-max-body must be at least 1, got -1\n-listen must be host:port, got \"nowhere\": address nowhere: missing port in address\n"},
		{[]string{"extra"}, "jeeves-alert-webhook: unexpected arguments: [\"extra\"]\n"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), tc.args, env(nil), &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if stderr.String() != tc.want {
			t.Errorf("%v: stderr\n got %q\nwant %q", tc.args, stderr.String(), tc.want)
		}
	}
}

// serve answers on the bound address, stops when its context ends and frees the port; the probe
// mode reports the health endpoint's answer as the exit code.
func TestServeAndProbe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var log bytes.Buffer
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, options{listen: "127.0.0.1:0", max: 10, maxBody: 1 << 20}, slog.New(slog.NewTextHandler(&log, nil)), ready)
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not start")
	}
	base := "http://" + addr.String()
	resp, err := http.Post(base+"/alerts", "application/json", strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /alerts: %s", resp.Status)
	}

	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-probe", base + "/healthz"}, env(nil), &stderr); code != 0 {
		t.Errorf("probe of a healthy server: exit %d, %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"-probe", base + "/missing"}, env(nil), &stderr); code != 1 ||
		stderr.String() != "jeeves-alert-webhook: probe: "+base+"/missing answered 404 Not Found\n" {
		t.Errorf("probe of a 404: exit %d, %q", code, stderr.String())
	}

	// The client may hold a connection it dialled but never used: the server counts it as busy for
	// its first 5 s (http.Server.Shutdown), as long as the whole shutdown may take.
	http.DefaultClient.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after its context ended", err)
		}
	case <-time.After(2 * shutdownTimeout):
		t.Fatal("serve did not stop")
	}
	// The port is free again, and nothing answers there any more.
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatalf("port still taken after stop: %v", err)
	}
	_ = ln.Close()
	stderr.Reset()
	if code := run(context.Background(), []string{"-probe", base + "/healthz"}, env(nil), &stderr); code != 1 || !strings.Contains(stderr.String(), "connection refused") {
		t.Errorf("probe of a stopped server: exit %d, %q", code, stderr.String())
	}
	for _, want := range []string{"msg=listening address=" + addr.String() + " max=10 max_body=1048576", "msg=alert receiver=pager", "msg=stopped"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// A port already in use fails the run with exit code 1.
func TestListenFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-listen", ln.Addr().String()}, env(nil), &stderr); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "address already in use") {
		t.Errorf("stderr: %s", stderr.String())
	}
}
