// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package dbpoolprocessor

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/jeeves/otelcol-jeeves/internal/promexport"
	"github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor/internal/metadata"
)

// TestPrometheusExporterNames feeds the processor's output into the real
// prometheus exporter (contrib v0.165.1, as configs/otelcol-jeeves.yaml sets
// it up: OpenMetrics on, scope info off), scrapes it and checks the exact
// family names, labels and values that the pool alert and dashboards read:
// jeeves_db_pool_size, jeeves_db_pool_active_connections,
// jeeves_db_pool_idle_connections and jeeves_db_connections, one series per
// pool, with job and instance from the sending service.
func TestPrometheusExporterNames(t *testing.T) {
	md := run(t, processortest.NewNopSettings(metadata.Type), createDefaultConfig(),
		readMetrics(t, filepath.Join("testdata", "two_services", "input.yaml")))

	body := promexport.Scrape(t, md, "jeeves_db_pool_size", false)

	var lines []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "jeeves_") || strings.HasPrefix(line, "# TYPE jeeves_") {
			lines = append(lines, line)
		}
	}
	sort.Strings(lines)
	assert.Equal(t, []string{
		"# TYPE jeeves_db_connections gauge",
		"# TYPE jeeves_db_pool_active_connections gauge",
		"# TYPE jeeves_db_pool_idle_connections gauge",
		"# TYPE jeeves_db_pool_size gauge",
		`jeeves_db_connections{instance="gw-1",job="jeeves-gateway",pool="orders",state="idle"} 1`,
		`jeeves_db_connections{instance="gw-1",job="jeeves-gateway",pool="orders",state="used"} 18`,
		`jeeves_db_connections{instance="gw-1",job="jeeves-gateway",pool="reports",state="idle"} 9`,
		`jeeves_db_connections{instance="gw-1",job="jeeves-gateway",pool="reports",state="used"} 1`,
		`jeeves_db_connections{job="jeeves-agents",pool="default",state="idle"} 3`,
		`jeeves_db_connections{job="jeeves-agents",pool="default",state="used"} 2`,
		`jeeves_db_pool_active_connections{instance="gw-1",job="jeeves-gateway",pool="orders"} 18`,
		`jeeves_db_pool_active_connections{instance="gw-1",job="jeeves-gateway",pool="reports"} 1`,
		`jeeves_db_pool_active_connections{job="jeeves-agents",pool="default"} 2`,
		`jeeves_db_pool_idle_connections{instance="gw-1",job="jeeves-gateway",pool="orders"} 1`,
		`jeeves_db_pool_idle_connections{instance="gw-1",job="jeeves-gateway",pool="reports"} 9`,
		`jeeves_db_pool_idle_connections{job="jeeves-agents",pool="default"} 3`,
		`jeeves_db_pool_size{instance="gw-1",job="jeeves-gateway",pool="orders"} 20`,
		`jeeves_db_pool_size{instance="gw-1",job="jeeves-gateway",pool="reports"} 20`,
		`jeeves_db_pool_size{job="jeeves-agents",pool="default"} 5`,
	}, lines)
	// The source metrics still reach the exporter under their own names.
	assert.Contains(t, body, `db_client_connection_count{db_client_connection_pool_name="orders",db_client_connection_state="idle",instance="gw-1",job="jeeves-gateway"} 1`)
}
