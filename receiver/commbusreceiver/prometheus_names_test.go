// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/jeeves/otelcol-jeeves/internal/promexport"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"
)

// TestPrometheusExporterNames feeds the receiver's metrics after the kernel
// script into the real prometheus exporter (as configured in
// configs/otelcol-jeeves.yaml with the connector: OpenMetrics on, scope info off), scrapes it and checks the
// exact family names, labels, buckets and values dashboards are written
// against.
func TestPrometheusExporterNames(t *testing.T) {
	cfg := createDefaultConfig()
	r := &commbusReceiver{cfg: cfg, logs: consumertest.NewNop(), traces: consumertest.NewNop(), metrics: consumertest.NewNop()}
	tr := translate.New(r.translatorConfig())
	b := tr.NewBatch()
	for _, e := range kernelScript() {
		ev := translate.Event{EventType: e.EventType, Payload: e.Payload, Source: e.Source, TimestampMs: e.TimestampMs, Received: base}
		tr.Translate(&ev, b)
	}
	md, _ := tr.Metrics(base.Add(time.Minute))

	body := promexport.Scrape(t, md, "jeeves_processes_active", false)

	var lines []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "jeeves_") && !strings.Contains(line, "_bucket") {
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	assert.Equal(t, []string{
		`jeeves_commbus_events_total{event_type="envelope.snapshot",job="jeeves-commbus",source="kernel"} 1`,
		`jeeves_commbus_events_total{event_type="process.cancelled",job="jeeves-commbus",source="kernel"} 1`,
		`jeeves_commbus_events_total{event_type="process.created",job="jeeves-commbus",source="kernel"} 3`,
		`jeeves_commbus_events_total{event_type="process.resumed",job="jeeves-commbus",source="kernel"} 1`,
		`jeeves_commbus_events_total{event_type="process.state_changed",job="jeeves-commbus",source="kernel"} 3`,
		`jeeves_commbus_events_total{event_type="process.terminated",job="jeeves-commbus",source="kernel"} 1`,
		`jeeves_commbus_events_total{event_type="resource.exhausted",job="jeeves-commbus",source="kernel"} 1`,
		`jeeves_interrupts_total{job="jeeves-commbus",kind="clarification",status="pending"} 1`,
		`jeeves_interrupts_total{job="jeeves-commbus",kind="clarification",status="resolved"} 1`,
		`jeeves_interrupts_total{job="jeeves-commbus",kind="resource_exhausted",status="cancelled"} 1`,
		`jeeves_interrupts_total{job="jeeves-commbus",kind="resource_exhausted",status="pending"} 1`,
		`jeeves_process_duration_seconds_count{job="jeeves-commbus",outcome="cancelled"} 1`,
		`jeeves_process_duration_seconds_count{job="jeeves-commbus",outcome="terminated"} 1`,
		`jeeves_process_duration_seconds_sum{job="jeeves-commbus",outcome="cancelled"} 2`,
		`jeeves_process_duration_seconds_sum{job="jeeves-commbus",outcome="terminated"} 5`,
		`jeeves_processes_active{job="jeeves-commbus"} 1`,
		`jeeves_resource_exhaustions_total{job="jeeves-commbus",resource="tool_calls"} 1`,
	}, filterCreated(lines))
	le := regexp.MustCompile(`jeeves_process_duration_seconds_bucket\{job="jeeves-commbus",outcome="terminated",le="([^"]+)"\} (\d+)`)
	var bounds []string
	for _, m := range le.FindAllStringSubmatch(body, -1) {
		bounds = append(bounds, m[1]+"="+m[2])
	}
	// p1 ran 5 s: cumulative buckets from le=5 on hold it.
	assert.Equal(t, []string{
		"0.1=0", "0.5=0", "1=0", "2=0", "5=1", "10=1", "30=1", "60=1", "120=1", "300=1", "600=1", "1800=1", "3600=1", "+Inf=1",
	}, bounds)
}

func filterCreated(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.Contains(l, "_created") {
			out = append(out, l)
		}
	}
	return out
}
