package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// startBackend runs a backend process (Prometheus, Jaeger) until the test ends, waits until readyURL
// answers 200, and logs the process's output if the test failed.
func startBackend(t *testing.T, name string, cmd *exec.Cmd, readyURL string, timeout time.Duration) {
	t.Helper()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	eventually(t, timeout, func() string {
		resp, err := http.Get(readyURL)
		if err != nil {
			return name + ": " + err.Error()
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return name + ": " + resp.Status
		}
		return ""
	})
}
