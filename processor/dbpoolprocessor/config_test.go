// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package dbpoolprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/jeeves/otelcol-jeeves/processor/dbpoolprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig()
	assert.False(t, cfg.DropSourceMetrics, "source metrics are kept by default")
	assert.Equal(t, "default", cfg.DefaultPool)
	assert.NoError(t, confmap.Validate(cfg))
}

func TestLoadConfig(t *testing.T) {
	t.Run("empty section keeps the defaults", func(t *testing.T) {
		cfg := loadConfig(t, "")
		require.NoError(t, confmap.Validate(cfg))
		assert.Equal(t, createDefaultConfig(), cfg)
	})
	t.Run("drop", func(t *testing.T) {
		cfg := loadConfig(t, "drop")
		require.NoError(t, confmap.Validate(cfg))
		assert.True(t, cfg.DropSourceMetrics)
		assert.Equal(t, "primary", cfg.DefaultPool)
	})
	t.Run("invalid", func(t *testing.T) {
		cfg := loadConfig(t, "invalid")
		assert.EqualError(t, confmap.Validate(cfg), `default_pool must not be empty, got " "`)
	})
	t.Run("unknown key", func(t *testing.T) {
		cm := confmap.NewFromStringMap(map[string]any{"drop_source": true})
		err := cm.Unmarshal(createDefaultConfig())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "drop_source")
	})
}
