package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A queue directory the collector cannot use stops it at start, quickly, with exit code 1 (an
// error, not a panic) and a message naming the directory; it never runs without its queue.
func TestUnwritableQueueDirectoryFailsStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-directory")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, dir, want string }{
		// Rejected when the config is validated.
		{"under a regular file", filepath.Join(file, "queue"), filepath.Join(file, "queue")},
		// create_directory cannot create it: /proc refuses new entries, even to root.
		{"cannot be created", "/proc/otelcol-jeeves-queue", "/proc/otelcol-jeeves-queue"},
		// Exists, but the queue file cannot be created in it.
		{"exists, not writable", "/proc", "/proc/exporter_otlp_grpc_jaeger_traces"},
	}
	if os.Geteuid() != 0 {
		// Root ignores permission bits, so this case only means something for other users.
		ro := filepath.Join(t.TempDir(), "read-only")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ name, dir, want string }{"read-only directory", ro, ro})
	}
	if st, err := os.Stat("/proc/self"); err != nil || !st.IsDir() {
		t.Skip("needs Linux /proc")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			c := launchCollector(t, collectorOptions{Env: map[string]string{"JEEVES_STORAGE_DIR": tc.dir}})
			select {
			case <-c.done:
			case <-time.After(15 * time.Second):
				c.stop(5 * time.Second)
				t.Fatalf("collector still running 15s after start with queue directory %s:\n%s", tc.dir, c.output.String())
			}
			took := time.Since(start)
			out := c.output.String()
			code := c.cmd.ProcessState.ExitCode()
			if code != 1 || strings.Contains(out, "panic:") {
				t.Errorf("exit code %d, want 1 and no panic:\n%s", code, out)
			}
			if !strings.Contains(out, "Error: ") || !strings.Contains(out, tc.want) {
				t.Errorf("the error does not name %s:\n%s", tc.want, out)
			}
			if took > 10*time.Second {
				t.Errorf("took %s to fail", took)
			}
			t.Logf("%s: exit %d after %s: %s", tc.name, code, took.Round(time.Millisecond), lastLine(out))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// A full queue store refuses new kept spans and counts them; the collector stays up and healthy. The disk is made "full" by the
// extension's own max_size (4 MiB), which fails writes the way a full filesystem does.
func TestFullQueueStoreRefusesAndCounts(t *testing.T) {
	if os.Getenv("JEEVES_LOAD_TESTS") == "" {
		// Outside `make test` (`make test-load` runs it): the point at which the 4 MiB store
		// refuses varies from run to run (once not within 8 runs of 300 traces), so it is not yet
		// a test CI can rely on.
		t.Skip("set JEEVES_LOAD_TESTS=1 (make test-load)")
	}
	o := newOutage(t)
	c := startCollector(t, collectorOptions{
		Env: map[string]string{"JAEGER_OTLP_ENDPOINT": o.jaeger, "JEEVES_STORAGE_DIR": o.dir, "JEEVES_SAMPLING_PERCENTAGE": keepAll},
		Overrides: []string{
			"yaml:extensions::file_storage/queue::max_size: 4194304",
			// Rebound thresholds must fit under max_size; this store never grows to them.
			"yaml:extensions::file_storage/queue::compaction::on_rebound: false",
		},
	})
	// Runs of 300 traces (about 1.6 MB of spans each) until the store refuses one.
	var sent int
	var refused, forwardErrors float64
	for seed := uint64(91); refused == 0; seed++ {
		if seed == 91+8 {
			t.Fatalf("a 4 MiB store accepted %d spans", sent)
		}
		m := sendTraffic(t, c.OTLPGRPC, trafficConfig(seed, 300))
		sent += int(m.Spans)
		eventually(t, 30*time.Second, func() string {
			fams := scrape(t, c.Telemetry)
			if held := sumSamples(fams, "otelcol_connector_jeeves_sampling_traces_in_memory", nil); held != 0 {
				return fmt.Sprintf("sampler holds %v traces", held)
			}
			refused = sumSamples(fams, "otelcol_exporter_enqueue_failed_spans", map[string]string{"exporter": "otlp_grpc/jaeger"})
			forwardErrors = sumSamples(fams, "otelcol_connector_jeeves_sampling_forward_errors", nil)
			if refused != forwardErrors {
				return fmt.Sprintf("enqueue_failed_spans %v, connector forward_errors %v: want equal", refused, forwardErrors)
			}
			return ""
		})
	}
	stored := sent - int(refused)
	if stored == 0 {
		t.Fatalf("nothing stored of %d spans", sent)
	}
	if err := c.waitHealthy(time.Second); err != nil {
		t.Fatalf("collector unhealthy with a full queue store: %v", err)
	}
	st, err := os.Stat(filepath.Join(o.dir, "exporter_otlp_grpc_jaeger_traces"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 4<<20 {
		t.Errorf("queue file is %d bytes, above max_size 4 MiB", st.Size())
	}
	t.Logf("store full at %d bytes: %v of %d kept spans refused and counted, %d stored", st.Size(), refused, sent, stored)

	// What happens once Jaeger is back is measured, not asserted: a store that reached its size
	// limit cannot commit the read index either and stalls after a few requests (see
	// docs/operations.md, "A store that reached its size limit does not drain").
	if done, err := c.exited(); done {
		t.Fatalf("collector exited with a full queue store: %v", err)
	}
}

// One queue directory has one collector: a second one started on it waits file_storage's timeout
// (1s) for the file lock, then stops with an error; the first keeps running.
func TestQueueDirectoryHasOneOwner(t *testing.T) {
	dir := t.TempDir()
	first := startCollector(t, collectorOptions{Env: map[string]string{"JEEVES_STORAGE_DIR": dir}})
	second := launchCollector(t, collectorOptions{Env: map[string]string{"JEEVES_STORAGE_DIR": dir}})
	select {
	case <-second.done:
	case <-time.After(15 * time.Second):
		second.stop(5 * time.Second)
		t.Fatalf("a second collector runs on the queue directory of the first:\n%s", second.output.String())
	}
	out := second.output.String()
	if code := second.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(out, `Error: cannot start pipelines: failed to start "otlp_grpc/jaeger" exporter: timeout`) {
		t.Errorf("second collector: exit %d, want 1 with the lock timeout:\n%s", code, out)
	}
	if done, err := first.exited(); done {
		t.Fatalf("the first collector stopped: %v", err)
	}
	if err := first.waitHealthy(time.Second); err != nil {
		t.Error(err)
	}
}
