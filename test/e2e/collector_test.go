package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// collector is one running otelcol-jeeves process with every listener on a free loopback port.
type collector struct {
	t      *testing.T
	cmd    *exec.Cmd
	output *syncBuffer
	done   chan struct{}
	err    error

	OTLPGRPC   string // host:port of the OTLP gRPC receiver
	OTLPHTTP   string // host:port of the OTLP HTTP receiver
	Prometheus string // host:port of the prometheus exporter (Jeeves metrics)
	Telemetry  string // host:port of the collector's own metrics
	Health     string // host:port of health_check
	// HealthStatus is host:port of healthcheckv2 (/status): every collector gets its own, or
	// parallel collectors would all take its default 127.0.0.1:13134.
	HealthStatus string
}

// collectorOptions say how to start a collector.
type collectorOptions struct {
	// Config is the config file; default configs/otelcol-jeeves.yaml.
	Config string
	// Env is added to the process environment after the port variables, so it can override them.
	Env map[string]string
	// Overrides are merged over Config in order, as further --config flags (e.g. "yaml:a::b: 1").
	Overrides []string
}

// freePort returns a loopback address with a port that was free a moment ago. Ports come from
// 10000-29999, below Linux's ephemeral range, so that outgoing connections (which take their source
// ports from that range) cannot grab one between this check and the collector binding it.
func freePort(t testing.TB) string {
	t.Helper()
	for range 1000 {
		addr := fmt.Sprintf("127.0.0.1:%d", 10000+rand.IntN(20000))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		_ = l.Close()
		return addr
	}
	t.Fatal("no free port in 10000-29999")
	return ""
}

// startCollector starts the binary and waits until health_check answers 200; a start that lost a
// port to another process is retried on new ports. The process is stopped with SIGTERM when the
// test ends.
func startCollector(t *testing.T, opts collectorOptions) *collector {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c := launchCollector(t, opts)
		err := c.waitHealthy(30 * time.Second)
		if err == nil {
			t.Cleanup(func() {
				c.stop(10 * time.Second)
				if t.Failed() {
					t.Logf("collector output:\n%s", c.output.String())
				}
			})
			return c
		}
		c.stop(10 * time.Second)
		if attempt < 3 && strings.Contains(c.output.String(), "address already in use") {
			continue
		}
		t.Fatalf("%v\n%s", err, c.output.String())
	}
}

func launchCollector(t *testing.T, opts collectorOptions) *collector {
	t.Helper()
	if opts.Config == "" {
		opts.Config = filepath.Join(repoRoot, "configs", "otelcol-jeeves.yaml")
	}
	c := &collector{
		t:            t,
		OTLPGRPC:     freePort(t),
		OTLPHTTP:     freePort(t),
		Prometheus:   freePort(t),
		Telemetry:    freePort(t),
		Health:       freePort(t),
		HealthStatus: freePort(t),
	}
	_, telemetryPort, _ := net.SplitHostPort(c.Telemetry)
	env := map[string]string{
		"JEEVES_OTLP_GRPC_ENDPOINT":     c.OTLPGRPC,
		"JEEVES_OTLP_HTTP_ENDPOINT":     c.OTLPHTTP,
		"JEEVES_PROMETHEUS_ENDPOINT":    c.Prometheus,
		"JEEVES_TELEMETRY_HOST":         "127.0.0.1",
		"JEEVES_TELEMETRY_PORT":         telemetryPort,
		"JEEVES_HEALTH_ENDPOINT":        c.Health,
		"JEEVES_HEALTH_STATUS_ENDPOINT": c.HealthStatus,
		"JEEVES_PPROF_ENDPOINT":         freePort(t),
		"JEEVES_ZPAGES_ENDPOINT":        freePort(t),
		// Nothing listens here unless the test starts a sink and overrides it.
		"JAEGER_OTLP_ENDPOINT": freePort(t),
		// Each collector gets its own empty export queue: a queue left by another test would be
		// replayed into this one's backend, and two collectors cannot share one directory.
		"JEEVES_STORAGE_DIR": t.TempDir(),
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	args := []string{"--config", opts.Config}
	for _, o := range opts.Overrides {
		args = append(args, "--config", o)
	}
	cmd := exec.Command(collectorBin, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	c.spawn(t, cmd)
	return c
}

// spawn runs cmd as the collector's process, its output into a new buffer, and notes its exit.
func (c *collector) spawn(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	c.cmd, c.output, c.done, c.err = cmd, &syncBuffer{}, make(chan struct{}), nil
	cmd.Stdout, cmd.Stderr = c.output, c.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
}

func (c *collector) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return fmt.Errorf("collector exited before it was healthy: %v", c.err)
		default:
		}
		resp, err := http.Get("http://" + c.Health + "/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("collector not healthy after %s", timeout)
}

// stop sends SIGTERM and waits up to timeout; it returns how long the shutdown took.
// A collector that does not exit in time is killed and the test fails.
func (c *collector) stop(timeout time.Duration) time.Duration {
	select {
	case <-c.done:
		return 0
	default:
	}
	start := time.Now()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return time.Since(start)
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		c.t.Errorf("collector did not exit within %s of SIGTERM", timeout)
		return time.Since(start)
	}
}

// exited reports the process's exit error after it has ended.
func (c *collector) exited() (bool, error) {
	select {
	case <-c.done:
		return true, c.err
	default:
		return false, nil
	}
}

// scrape fetches a Prometheus endpoint and parses its text exposition.
func scrape(t testing.TB, hostport string) map[string]*dto.MetricFamily {
	t.Helper()
	return scrapeURL(t, http.DefaultClient, "http://"+hostport+"/metrics")
}

// scrapeURL is scrape with a client of the caller's (TLS settings) and a full URL.
func scrapeURL(t testing.TB, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: HTTP %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse scrape of %s: %v", url, err)
	}
	return families
}

// sumSamples adds the values of every sample of a counter or gauge family whose labels include
// all of the given ones; a missing family sums to 0.
func sumSamples(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	mf, ok := families[name]
	if !ok {
		return 0
	}
	var total float64
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == k && lp.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// eventually polls cond every 100ms until it returns "" or timeout passes, then fails with its last message.
func eventually(t testing.TB, timeout time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var msg string
	for time.Now().Before(deadline) {
		if msg = cond(); msg == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s: %s", timeout, msg)
}

// runCollectorCmd runs the binary with args to completion and returns its combined output and exit code.
func runCollectorCmd(t testing.TB, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, collectorBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %v: %v", args, err)
		}
		code = exitErr.ExitCode()
	}
	return string(out), code
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
