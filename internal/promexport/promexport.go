// Package promexport serves metrics through the real prometheus exporter (contrib v0.165.1), set up
// as configs/otelcol-jeeves.yaml sets it up (OpenMetrics on, scope info off), and returns the scrape:
// component tests use it to check the exact names, labels and buckets operators will see.
package promexport

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Scrape feeds md into a prometheus exporter on a free loopback port and returns its exposition
// once it contains wantFamily. openMetrics asks for the OpenMetrics format (which carries exemplars)
// instead of the text format.
func Scrape(t testing.TB, md pmetric.Metrics, wantFamily string, openMetrics bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	f := prometheusexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*prometheusexporter.Config)
	cfg.ServerConfig.NetAddr.Endpoint = endpoint
	cfg.EnableOpenMetrics = true
	cfg.WithoutScopeInfo = true
	cfg.MetricExpiration = time.Hour
	set := exporter.Settings{
		ID:                component.NewID(f.Type()),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
	ctx := context.Background()
	exp, err := f.CreateMetrics(ctx, set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(ctx, componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := exp.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	}()
	if err := exp.ConsumeMetrics(ctx, md); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		body, err := get(endpoint, openMetrics)
		if err == nil && strings.Contains(body, wantFamily) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrape of %s never showed %s (last error %v):\n%s", endpoint, wantFamily, err, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(endpoint string, openMetrics bool) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+endpoint+"/metrics", http.NoBody)
	if err != nil {
		return "", err
	}
	if openMetrics {
		req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	return string(raw), err
}
