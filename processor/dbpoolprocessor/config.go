// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package dbpoolprocessor // import "github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor"

import (
	"errors"
	"fmt"
	"strings"
)

// Config is the configuration of the jeeves_dbpool processor. The defaults
// keep every source metric and label unnamed pools "default".
type Config struct {
	// DropSourceMetrics removes the source metrics (db.client.connection.count,
	// db.client.connection.max, db.client.connections.usage,
	// db.client.connections.max) once the gauges are derived from them
	// (default false: they pass through unchanged). Other metrics, including
	// db.client.connection.idle.max and the rest of the db.client family,
	// always pass through.
	DropSourceMetrics bool `mapstructure:"drop_source_metrics"`
	// DefaultPool is the pool label of data points without a pool name
	// attribute, or with an empty one (default "default"). Must not be empty.
	DefaultPool string `mapstructure:"default_pool"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	return &Config{DefaultPool: "default"}
}

// Validate reports every problem of the configuration at once.
func (c *Config) Validate() error {
	var errs []error
	if strings.TrimSpace(c.DefaultPool) == "" {
		errs = append(errs, fmt.Errorf("default_pool must not be empty, got %q", c.DefaultPool))
	}
	return errors.Join(errs...)
}
