// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig()
	assert.False(t, cfg.Subscribe.HasValue(), "subscribe is off unless its key is present")
	assert.False(t, cfg.Listen.HasValue(), "listen is off unless its key is present")
	assert.EqualError(t, confmap.Validate(cfg), "at least one of subscribe or listen must be configured")
	assert.Equal(t, PayloadConfig{
		MaxBytes: 65536, Oversize: "truncate", DropEventTypes: []string{"envelope.snapshot"},
		UserText: "drop", UserTextMaxBytes: 256,
	}, cfg.Payload)
	assert.Equal(t, 10000, cfg.MaxOpenProcesses)
	assert.Equal(t, time.Hour, cfg.ProcessTTL)
	assert.Equal(t, 128, cfg.MaxSpanEvents)
	assert.Equal(t, MetricsConfig{FlushInterval: 15 * time.Second, SeriesLimit: 5000, SeriesExpiration: 10 * time.Minute}, cfg.Metrics)
}

func TestLoadConfig(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		cfg := loadConfig(t, "empty")
		assert.EqualError(t, confmap.Validate(cfg), "at least one of subscribe or listen must be configured")
	})
	t.Run("subscribe", func(t *testing.T) {
		cfg := loadConfig(t, "subscribe")
		require.NoError(t, confmap.Validate(cfg))
		want := defaultSubscribeConfig()
		want.Endpoint = "10.0.0.5:50051"
		assert.Equal(t, &want, cfg.Subscribe.Get())
		assert.Equal(t, []string{
			"process.created", "process.state_changed", "process.terminated",
			"process.resumed", "process.cancelled", "resource.exhausted",
		}, cfg.Subscribe.Get().EventTypes)
		assert.False(t, cfg.Listen.HasValue())
	})
	t.Run("listen with defaults", func(t *testing.T) {
		cfg := loadConfig(t, "listen")
		require.NoError(t, confmap.Validate(cfg))
		want := defaultListenConfig()
		assert.Equal(t, &want, cfg.Listen.Get())
		assert.Equal(t, "127.0.0.1:50052", cfg.Listen.Get().Endpoint)
		// Jeeves' own server drops idle connections after 30 s; one address
		// may hold 8 of the 100 connections.
		assert.Equal(t, 30*time.Second, cfg.Listen.Get().IdleTimeout)
		assert.Equal(t, 100, cfg.Listen.Get().MaxConnections)
		assert.Equal(t, 8, cfg.Listen.Get().MaxConnectionsPerAddress)
		assert.False(t, cfg.Subscribe.HasValue())
	})
	t.Run("full", func(t *testing.T) {
		cfg := loadConfig(t, "full")
		require.NoError(t, confmap.Validate(cfg))
		assert.Equal(t, &SubscribeConfig{
			Endpoint:     "kernel.jeeves.svc:50051",
			EventTypes:   []string{"process.created", "process.terminated"},
			SubscriberID: "collector-a",
			TLS:          configtls.ClientConfig{Insecure: true},
			DialTimeout:  2 * time.Second,
			Backoff:      BackoffConfig{InitialInterval: 500 * time.Millisecond, MaxInterval: 10 * time.Second, Multiplier: 1.5, Jitter: 0.1},
		}, cfg.Subscribe.Get())
		assert.Equal(t, &ListenConfig{
			Endpoint: "0.0.0.0:6000", MaxConnections: 10, MaxConnectionsPerAddress: 4, IdleTimeout: time.Minute,
			WriteTimeout: 5 * time.Second, MaxFrameBytes: 1 << 20, TLS: configoptional.None[configtls.ServerConfig](),
		}, cfg.Listen.Get())
		assert.Equal(t, PayloadConfig{MaxBytes: 1024, Oversize: "drop", DropEventTypes: []string{}, UserText: "truncate", UserTextMaxBytes: 64}, cfg.Payload)
		assert.Equal(t, 500, cfg.MaxOpenProcesses)
		assert.Equal(t, 10*time.Minute, cfg.ProcessTTL)
		assert.Equal(t, 16, cfg.MaxSpanEvents)
		assert.Equal(t, MetricsConfig{FlushInterval: 5 * time.Second, SeriesLimit: 200, SeriesExpiration: 0}, cfg.Metrics)
	})
	t.Run("invalid reports every problem", func(t *testing.T) {
		cfg := loadConfig(t, "invalid")
		assert.EqualError(t, cfg.Validate(), `subscribe.endpoint must be host:port, got "no-port"
subscribe.event_types must list at least one exact event type
subscribe.dial_timeout must be > 0, got 0s
subscribe.backoff.max_interval must be >= subscribe.backoff.initial_interval, got 1s < 2s
subscribe.backoff.multiplier must be >= 1, got 0.5
subscribe.backoff.jitter must be in [0, 1], got 2
listen.endpoint must be host:port, got "127.0.0.1:99999"
listen.max_connections must be >= 1, got 0
listen.max_connections_per_address must be in [1, listen.max_connections (0)], got 0
listen.idle_timeout must be >= 0 (0 = never), got -1s
listen.write_timeout must be > 0, got 0s
listen.max_frame_bytes must be in [0, 5242880] (0 = 5242880), got 6000000
payload.max_bytes must be >= 0 (0 = no limit), got -1
payload.oversize must be one of truncate, drop, got "shrink"
payload.user_text must be one of keep, truncate, drop, got "redact"
max_open_processes must be >= 1, got 0
process_ttl must be >= 0 (0 = no expiry), got -1m0s
max_span_events must be >= 1, got 0
metrics.flush_interval must be > 0, got 0s
metrics.series_limit must be > 0, got 0
metrics.series_expiration must be 0 (never) or >= metrics.flush_interval, got -1s`)
	})
	t.Run("per-address cap above the connection limit", func(t *testing.T) {
		cfg := loadConfig(t, "listen")
		cfg.Listen.Get().MaxConnections = 4
		cfg.Listen.Get().MaxConnectionsPerAddress = 5
		assert.EqualError(t, cfg.Validate(), "listen.max_connections_per_address must be in [1, listen.max_connections (4)], got 5")
		cfg.Listen.Get().MaxConnectionsPerAddress = 4
		assert.NoError(t, cfg.Validate())
	})
	t.Run("series expiration below the flush interval", func(t *testing.T) {
		cfg := loadConfig(t, "subscribe")
		cfg.Metrics.SeriesExpiration = 5 * time.Second
		assert.EqualError(t, cfg.Validate(), "metrics.series_expiration must be 0 (never) or >= metrics.flush_interval (15s), got 5s")
	})
	t.Run("truncate needs a length", func(t *testing.T) {
		cfg := loadConfig(t, "subscribe")
		cfg.Payload.UserText = "truncate"
		cfg.Payload.UserTextMaxBytes = 0
		assert.EqualError(t, cfg.Validate(), "payload.user_text_max_bytes must be >= 1 when payload.user_text is truncate, got 0")
	})
}
