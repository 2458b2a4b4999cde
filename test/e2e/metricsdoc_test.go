package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jeeves/otelcol-jeeves/internal/loadgen"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/commbustest"
)

// docFamilyRow is a table row of docs/metrics.md that names a served family: its name in
// backquotes, its type, then its labels in backquotes (or "–").
var docFamilyRow = regexp.MustCompile("^\\| `((?:jeeves|traces)_[a-z_]+)` \\| (counter|gauge|histogram) \\| ([^|]*) \\|")

var backquoted = regexp.MustCompile("`([a-z_]+)`")

// documentedFamilies reads docs/metrics.md: family → sorted label names.
func documentedFamilies(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		m := docFamilyRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		labels := []string{}
		for _, l := range backquoted.FindAllStringSubmatch(m[3], -1) {
			labels = append(labels, l[1])
		}
		sort.Strings(labels)
		out[m[1]] = labels
	}
	if len(out) < 20 {
		t.Fatalf("docs/metrics.md lists %d families; the table format changed?", len(out))
	}
	return out
}

// servedFamilies turns a scrape into family → sorted label names (job, instance and the
// histogram's le left out), histograms under their base name.
func servedFamilies(fams map[string]*dto.MetricFamily) map[string][]string {
	out := map[string][]string{}
	for name, mf := range fams {
		if !strings.HasPrefix(name, "jeeves_") && !strings.HasPrefix(name, "traces_") {
			continue
		}
		set := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "job", "instance", "le", "otel_metric_overflow":
				default:
					set[lp.GetName()] = true
				}
			}
		}
		labels := []string{}
		for l := range set {
			labels = append(labels, l)
		}
		sort.Strings(labels)
		out[name] = labels
	}
	return out
}

// docs/metrics.md and the exposition agree: every documented family is served with exactly its
// documented labels once every source has sent something, and nothing else is served under the
// Jeeves prefixes.
func TestMetricsDocMatchesExposition(t *testing.T) {
	kernel := commbustest.StartKernel(t, "127.0.0.1:0")
	sink := startTraceSink(t, false)
	// A daily LLM budget, so that its gauge (served only when one is set) is checked too.
	env := map[string]string{"JAEGER_OTLP_ENDPOINT": sink.Addr, "JEEVES_COMMBUS_ENDPOINT": kernel.Addr(), "JEEVES_LLM_DAILY_BUDGET_USD": "250"}
	for k, v := range fastFlush {
		env[k] = v
	}
	c := startCollector(t, collectorOptions{Env: env})
	if err := kernel.WaitSubscribers(1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// Traces of every shape (broken ones among them, for the completeness families), the CommBus
	// lifecycle script, and DB pool metrics.
	cfg := trafficConfig(31, 600)
	cfg.BrokenRatio = 0.1
	sendTraffic(t, c.OTLPGRPC, cfg)
	for _, ev := range commbustest.LifecycleScript(time.Now().Add(-time.Minute)) {
		kernel.Publish(ev)
	}
	conn, err := grpc.NewClient(c.OTLPGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	pools, _ := loadgen.ScenarioByName("db-pool-exhaustion")
	if err := loadgen.SendDBPools(context.Background(), conn, cfg.Services, pools.DBPools, time.Now()); err != nil {
		t.Fatal(err)
	}

	doc := documentedFamilies(t)
	eventually(t, 45*time.Second, func() string {
		served := servedFamilies(scrape(t, c.Prometheus))
		for name, labels := range doc {
			got, ok := served[name]
			if !ok {
				got, ok = served[name+"_bucket"]
			}
			if !ok {
				return "documented family " + name + " is not served"
			}
			if !slices.Equal(got, labels) {
				return name + ": served labels " + strings.Join(got, ",") + ", documented " + strings.Join(labels, ",")
			}
		}
		for name := range served {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if _, ok := doc[base]; !ok {
				if _, ok := doc[name]; !ok {
					return "served family " + name + " is not in docs/metrics.md"
				}
			}
		}
		return ""
	})
}
