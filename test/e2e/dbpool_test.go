package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// The default config serves one gauge series per DB connection pool on :8889, from the OTLP pool
// metrics services send: current semconv names (two pools, one saturated beside an idle one) from
// one service, legacy names without a pool name from another.
func TestDBPoolGauges(t *testing.T) {
	c := startCollector(t, collectorOptions{})
	postMetrics(t, c.OTLPHTTP, dbPoolExport(time.Now()))

	want := []string{
		`jeeves_db_connections{instance="gw-1",job="jeeves-gateway",pool="orders",state="idle"} 1`,
		`jeeves_db_connections{instance="gw-1",job="jeeves-gateway",pool="orders",state="used"} 9`,
		`jeeves_db_connections{instance="gw-1",job="jeeves-gateway",pool="reports",state="idle"} 9`,
		`jeeves_db_connections{instance="gw-1",job="jeeves-gateway",pool="reports",state="used"} 1`,
		`jeeves_db_connections{job="jeeves-agents",pool="default",state="idle"} 3`,
		`jeeves_db_connections{job="jeeves-agents",pool="default",state="used"} 2`,
		`jeeves_db_pool_active_connections{instance="gw-1",job="jeeves-gateway",pool="orders"} 9`,
		`jeeves_db_pool_active_connections{instance="gw-1",job="jeeves-gateway",pool="reports"} 1`,
		`jeeves_db_pool_active_connections{job="jeeves-agents",pool="default"} 2`,
		`jeeves_db_pool_idle_connections{instance="gw-1",job="jeeves-gateway",pool="orders"} 1`,
		`jeeves_db_pool_idle_connections{instance="gw-1",job="jeeves-gateway",pool="reports"} 9`,
		`jeeves_db_pool_idle_connections{job="jeeves-agents",pool="default"} 3`,
		`jeeves_db_pool_size{instance="gw-1",job="jeeves-gateway",pool="orders"} 10`,
		`jeeves_db_pool_size{instance="gw-1",job="jeeves-gateway",pool="reports"} 10`,
		`jeeves_db_pool_size{job="jeeves-agents",pool="default"} 5`,
	}
	var got []string
	eventually(t, 10*time.Second, func() string {
		got = gaugeLines(scrape(t, c.Prometheus), "jeeves_db_")
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return fmt.Sprintf("served\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		return ""
	})
	// The source metrics are served too, unchanged.
	fams := scrape(t, c.Prometheus)
	if v := sumSamples(fams, "db_client_connection_count", map[string]string{"db_client_connection_pool_name": "orders", "db_client_connection_state": "used"}); v != 9 {
		t.Errorf("db_client_connection_count{orders,used} = %v, want 9", v)
	}
}

// gaugeLines renders the gauge samples of the families starting with prefix as sorted exposition lines.
func gaugeLines(fams map[string]*dto.MetricFamily, prefix string) []string {
	var out []string
	for name, mf := range fams {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", lp.GetName(), lp.GetValue()))
			}
			sort.Strings(labels)
			out = append(out, fmt.Sprintf("%s{%s} %v", name, strings.Join(labels, ","), m.GetGauge().GetValue()))
		}
	}
	sort.Strings(out)
	return out
}

func dbPoolExport(now time.Time) pmetric.Metrics {
	ts := pcommon.NewTimestampFromTime(now)
	md := pmetric.NewMetrics()

	gw := md.ResourceMetrics().AppendEmpty()
	gw.Resource().Attributes().PutStr("service.name", "jeeves-gateway")
	gw.Resource().Attributes().PutStr("service.instance.id", "gw-1")
	ms := gw.ScopeMetrics().AppendEmpty().Metrics()
	count := ms.AppendEmpty()
	count.SetName("db.client.connection.count")
	sum := count.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	maxm := ms.AppendEmpty()
	maxm.SetName("db.client.connection.max")
	maxSum := maxm.SetEmptySum()
	maxSum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for _, p := range []struct {
		pool       string
		used, idle int64
	}{{"orders", 9, 1}, {"reports", 1, 9}} {
		for state, v := range map[string]int64{"used": p.used, "idle": p.idle} {
			dp := sum.DataPoints().AppendEmpty()
			dp.Attributes().PutStr("db.client.connection.pool.name", p.pool)
			dp.Attributes().PutStr("db.client.connection.state", state)
			dp.SetIntValue(v)
			dp.SetTimestamp(ts)
		}
		dp := maxSum.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("db.client.connection.pool.name", p.pool)
		dp.SetIntValue(10)
		dp.SetTimestamp(ts)
	}

	agents := md.ResourceMetrics().AppendEmpty()
	agents.Resource().Attributes().PutStr("service.name", "jeeves-agents")
	ms = agents.ScopeMetrics().AppendEmpty().Metrics()
	usage := ms.AppendEmpty()
	usage.SetName("db.client.connections.usage")
	g := usage.SetEmptyGauge()
	for state, v := range map[string]int64{"used": 2, "idle": 3} {
		dp := g.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("state", state)
		dp.SetIntValue(v)
		dp.SetTimestamp(ts)
	}
	legacyMax := ms.AppendEmpty()
	legacyMax.SetName("db.client.connections.max")
	dp := legacyMax.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(5)
	dp.SetTimestamp(ts)
	return md
}

// postMetrics sends md as one OTLP/HTTP JSON export and fails unless it is accepted.
func postMetrics(t *testing.T, hostport string, md pmetric.Metrics) {
	t.Helper()
	body, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+hostport+"/v1/metrics", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP/HTTP export: HTTP %d", resp.StatusCode)
	}
}
