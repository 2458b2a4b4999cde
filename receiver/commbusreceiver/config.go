// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver"

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/translate"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// Config is the configuration of the commbus receiver. Omitting a mode's
// section disables that mode; at least one of subscribe and listen must be
// present. Both may run at once.
type Config struct {
	// Subscribe makes the receiver a client of a Jeeves kernel: it sends
	// commbus.Subscribe and reads the STREAM_CHUNKs. Omit to disable.
	Subscribe configoptional.Optional[SubscribeConfig] `mapstructure:"subscribe"`
	// Listen makes the receiver a server that Jeeves publishers call with
	// commbus.Publish. Omit to disable.
	Listen configoptional.Optional[ListenConfig] `mapstructure:"listen"`
	// Payload controls what of each event's JSON payload reaches log bodies.
	Payload PayloadConfig `mapstructure:"payload"`
	// MaxOpenProcesses bounds the table of processes that have a
	// process.created but no terminal event yet (default 10000). When full,
	// the least recently seen process is ended as an orphan (reason evicted).
	// Must be at least 1.
	MaxOpenProcesses int `mapstructure:"max_open_processes"`
	// ProcessTTL ends a process as an orphan (reason ttl_expired) when no
	// event named it for this long (default 1h, long enough for a user to
	// answer an interrupt). 0 disables expiry; max_open_processes still bounds
	// the table.
	ProcessTTL time.Duration `mapstructure:"process_ttl"`
	// MaxSpanEvents bounds the span events (state changes, resumes,
	// exhaustions) kept per process span (default 128); more are counted in
	// the span's dropped events count. Must be at least 1.
	MaxSpanEvents int `mapstructure:"max_span_events"`
	// Metrics controls how the aggregated metrics are emitted.
	Metrics MetricsConfig `mapstructure:"metrics"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// SubscribeConfig configures subscribe (client) mode.
type SubscribeConfig struct {
	// Endpoint is the kernel's host:port (default 127.0.0.1:50051, Jeeves'
	// AIRFRAME_KERNEL_ADDRESS default).
	Endpoint string `mapstructure:"endpoint"`
	// EventTypes are the exact event types to subscribe to; the bus has no
	// wildcards (default: every kernel lifecycle event). Must not be empty.
	EventTypes []string `mapstructure:"event_types"`
	// SubscriberID names this subscriber to the kernel (default
	// otelcol-jeeves). Empty lets the kernel pick ipc-sub-<uuid>.
	SubscriberID string `mapstructure:"subscriber_id"`
	// TLS for the connection (default insecure: plain TCP, which is all
	// Jeeves itself speaks).
	TLS configtls.ClientConfig `mapstructure:"tls"`
	// DialTimeout bounds each connection attempt (default 5s). Must be > 0.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// Backoff paces reconnection after a failed or ended subscription.
	Backoff BackoffConfig `mapstructure:"backoff"`
}

// BackoffConfig is exponential backoff with jitter. Reconnection never
// gives up; the delay grows from InitialInterval to MaxInterval and returns
// to InitialInterval after a healthy subscription.
type BackoffConfig struct {
	// InitialInterval is the first delay (default 1s). Must be > 0.
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	// MaxInterval caps every delay, jitter included (default 30s). Must be
	// >= initial_interval. Reconnect warnings are logged at most once per
	// MaxInterval.
	MaxInterval time.Duration `mapstructure:"max_interval"`
	// Multiplier grows the delay after each failure (default 2). Must be >= 1.
	Multiplier float64 `mapstructure:"multiplier"`
	// Jitter randomises each delay by up to this fraction either way
	// (default 0.2). 0 disables jitter; must be in [0, 1].
	Jitter float64 `mapstructure:"jitter"`
}

// ListenConfig configures listen (server) mode.
type ListenConfig struct {
	// Endpoint is the host:port to listen on (default 127.0.0.1:50052,
	// localhost only; port 50051 is the kernel's).
	Endpoint string `mapstructure:"endpoint"`
	// MaxConnections bounds concurrent publisher connections (default 100);
	// one more is answered with RESOURCE_EXHAUSTED (retryable) and closed.
	// Must be at least 1.
	MaxConnections int `mapstructure:"max_connections"`
	// MaxConnectionsPerAddress bounds the connections open at once from one
	// remote IP address (default 8), so that one client cannot take every
	// slot; one more from that address is refused like one over
	// max_connections. Must be in [1, max_connections].
	MaxConnectionsPerAddress int `mapstructure:"max_connections_per_address"`
	// IdleTimeout drops a connection that sends no frame for this long,
	// counted from accept, then from each reply (default 30s, as a Jeeves
	// kernel). 0 never drops idle connections.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// WriteTimeout bounds each reply write (default 10s, as in Jeeves).
	// Must be > 0.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// MaxFrameBytes is the largest accepted frame length (default and
	// maximum 5242880 = 5 MiB, the protocol limit); 0 means 5 MiB. A longer
	// frame is answered with RESOURCE_EXHAUSTED and the connection closed.
	MaxFrameBytes int `mapstructure:"max_frame_bytes"`
	// TLS, when present, makes the server speak TLS (default absent: plain
	// TCP, which is what Jeeves publishers speak).
	TLS configoptional.Optional[configtls.ServerConfig] `mapstructure:"tls"`
}

// PayloadConfig controls payloads in log bodies.
type PayloadConfig struct {
	// MaxBytes is the largest payload (JSON text bytes) kept in a log body
	// (default 65536). 0 means no limit.
	MaxBytes int `mapstructure:"max_bytes"`
	// Oversize says what happens to a payload above max_bytes: truncate
	// (default; the body is the first max_bytes bytes as a string) or drop
	// (no body). Either way the log record keeps its attributes and
	// commbus.payload.size.
	Oversize string `mapstructure:"oversize"`
	// DropEventTypes are event types whose payload never goes into the log
	// body (default [envelope.snapshot], the whole run state). The record is
	// still emitted with its ids. Empty keeps every payload.
	DropEventTypes []string `mapstructure:"drop_event_types"`
	// UserText says what happens to the user text fields
	// (ClarificationRequested.question, PipelineStarted.query,
	// ResponseChunk.content, envelope.snapshot.envelope): keep, truncate (to
	// user_text_max_bytes) or drop (default; privacy first).
	UserText string `mapstructure:"user_text"`
	// UserTextMaxBytes is the truncation length for user_text: truncate
	// (default 256). Must be at least 1 when user_text is truncate.
	UserTextMaxBytes int `mapstructure:"user_text_max_bytes"`
}

// MetricsConfig controls metric aggregation and emission.
type MetricsConfig struct {
	// FlushInterval is how often the cumulative metrics are emitted (and
	// orphaned processes expired) (default 15s). Metrics are also emitted
	// once at shutdown. Must be > 0.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// SeriesLimit is the number of distinct series each metric keeps
	// (default 5000); beyond it, observations fold into one series labelled
	// otel.metric.overflow="true" and are counted. Must be > 0.
	SeriesLimit int `mapstructure:"series_limit"`
	// SeriesExpiration drops, at a flush, a series not updated for this long
	// (default 10m). 0 keeps series until shutdown; otherwise at least
	// flush_interval.
	SeriesExpiration time.Duration `mapstructure:"series_expiration"`
}

// defaultEventTypes, the default of subscribe.event_types, is every kernel
// process lifecycle event (see docs/commbus-protocol.md#kernel-events).
var defaultEventTypes = []string{
	translate.TypeProcessCreated, translate.TypeProcessStateChanged, translate.TypeProcessTerminated,
	translate.TypeProcessResumed, translate.TypeProcessCancelled, translate.TypeResourceExhausted,
}

func defaultSubscribeConfig() SubscribeConfig {
	return SubscribeConfig{
		Endpoint:     "127.0.0.1:50051",
		EventTypes:   append([]string(nil), defaultEventTypes...),
		SubscriberID: "otelcol-jeeves",
		TLS:          configtls.ClientConfig{Insecure: true},
		DialTimeout:  5 * time.Second,
		Backoff: BackoffConfig{
			InitialInterval: time.Second,
			MaxInterval:     30 * time.Second,
			Multiplier:      2,
			Jitter:          0.2,
		},
	}
}

func defaultListenConfig() ListenConfig {
	return ListenConfig{
		Endpoint:                 "127.0.0.1:50052",
		MaxConnections:           100,
		MaxConnectionsPerAddress: 8,
		IdleTimeout:              30 * time.Second,
		WriteTimeout:             10 * time.Second,
		MaxFrameBytes:            wire.MaxFrameLength,
		TLS:                      configoptional.None[configtls.ServerConfig](),
	}
}

func createDefaultConfig() *Config {
	return &Config{
		Subscribe: configoptional.Default(defaultSubscribeConfig()),
		Listen:    configoptional.Default(defaultListenConfig()),
		Payload: PayloadConfig{
			MaxBytes:         65536,
			Oversize:         string(translate.OversizeTruncate),
			DropEventTypes:   []string{translate.TypeEnvelopeSnapshot},
			UserText:         string(translate.TextDrop),
			UserTextMaxBytes: 256,
		},
		MaxOpenProcesses: 10000,
		ProcessTTL:       time.Hour,
		MaxSpanEvents:    128,
		Metrics: MetricsConfig{
			FlushInterval:    15 * time.Second,
			SeriesLimit:      5000,
			SeriesExpiration: 10 * time.Minute,
		},
	}
}

func validEndpoint(ep string) error {
	_, port, err := net.SplitHostPort(ep)
	if err != nil {
		return err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("invalid port %q", port)
	}
	return nil
}

// problems collects the configuration problems, each naming its YAML key.
type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

// Validate reports every problem of the configuration at once.
func (cfg *Config) Validate() error {
	var p problems
	sub, lis := cfg.Subscribe.Get(), cfg.Listen.Get()
	if sub == nil && lis == nil {
		p.add("at least one of subscribe or listen must be configured")
	}
	if sub != nil {
		sub.validate(&p)
	}
	if lis != nil {
		lis.validate(&p)
	}
	cfg.Payload.validate(&p)
	if cfg.MaxOpenProcesses < 1 {
		p.add("max_open_processes must be >= 1, got %d", cfg.MaxOpenProcesses)
	}
	if cfg.ProcessTTL < 0 {
		p.add("process_ttl must be >= 0 (0 = no expiry), got %s", cfg.ProcessTTL)
	}
	if cfg.MaxSpanEvents < 1 {
		p.add("max_span_events must be >= 1, got %d", cfg.MaxSpanEvents)
	}
	cfg.Metrics.validate(&p)
	return errors.Join(p...)
}

func (sub *SubscribeConfig) validate(p *problems) {
	if err := validEndpoint(sub.Endpoint); err != nil {
		p.add("subscribe.endpoint must be host:port, got %q", sub.Endpoint)
	}
	if len(sub.EventTypes) == 0 {
		p.add("subscribe.event_types must list at least one exact event type")
	}
	for i, et := range sub.EventTypes {
		if et == "" {
			p.add("subscribe.event_types[%d] must not be empty", i)
		}
	}
	if sub.DialTimeout <= 0 {
		p.add("subscribe.dial_timeout must be > 0, got %s", sub.DialTimeout)
	}
	b := sub.Backoff
	if b.InitialInterval <= 0 {
		p.add("subscribe.backoff.initial_interval must be > 0, got %s", b.InitialInterval)
	}
	if b.MaxInterval < b.InitialInterval {
		p.add("subscribe.backoff.max_interval must be >= subscribe.backoff.initial_interval, got %s < %s", b.MaxInterval, b.InitialInterval)
	}
	if b.Multiplier < 1 {
		p.add("subscribe.backoff.multiplier must be >= 1, got %g", b.Multiplier)
	}
	if b.Jitter < 0 || b.Jitter > 1 {
		p.add("subscribe.backoff.jitter must be in [0, 1], got %g", b.Jitter)
	}
}

func (lis *ListenConfig) validate(p *problems) {
	if err := validEndpoint(lis.Endpoint); err != nil {
		p.add("listen.endpoint must be host:port, got %q", lis.Endpoint)
	}
	if lis.MaxConnections < 1 {
		p.add("listen.max_connections must be >= 1, got %d", lis.MaxConnections)
	}
	if lis.MaxConnectionsPerAddress < 1 || (lis.MaxConnections >= 1 && lis.MaxConnectionsPerAddress > lis.MaxConnections) {
		p.add("listen.max_connections_per_address must be in [1, listen.max_connections (%d)], got %d", lis.MaxConnections, lis.MaxConnectionsPerAddress)
	}
	if lis.IdleTimeout < 0 {
		p.add("listen.idle_timeout must be >= 0 (0 = never), got %s", lis.IdleTimeout)
	}
	if lis.WriteTimeout <= 0 {
		p.add("listen.write_timeout must be > 0, got %s", lis.WriteTimeout)
	}
	if lis.MaxFrameBytes < 0 || lis.MaxFrameBytes > wire.MaxFrameLength {
		p.add("listen.max_frame_bytes must be in [0, %d] (0 = %d), got %d", wire.MaxFrameLength, wire.MaxFrameLength, lis.MaxFrameBytes)
	}
}

func (pl *PayloadConfig) validate(p *problems) {
	if pl.MaxBytes < 0 {
		p.add("payload.max_bytes must be >= 0 (0 = no limit), got %d", pl.MaxBytes)
	}
	switch translate.OversizePolicy(pl.Oversize) {
	case translate.OversizeTruncate, translate.OversizeDrop:
	default:
		p.add("payload.oversize must be one of truncate, drop, got %q", pl.Oversize)
	}
	switch translate.TextPolicy(pl.UserText) {
	case translate.TextKeep, translate.TextDrop:
	case translate.TextTruncate:
		if pl.UserTextMaxBytes < 1 {
			p.add("payload.user_text_max_bytes must be >= 1 when payload.user_text is truncate, got %d", pl.UserTextMaxBytes)
		}
	default:
		p.add("payload.user_text must be one of keep, truncate, drop, got %q", pl.UserText)
	}
}

func (m *MetricsConfig) validate(p *problems) {
	if m.FlushInterval <= 0 {
		p.add("metrics.flush_interval must be > 0, got %s", m.FlushInterval)
	}
	if m.SeriesLimit <= 0 {
		p.add("metrics.series_limit must be > 0, got %d", m.SeriesLimit)
	}
	switch {
	case m.SeriesExpiration < 0:
		p.add("metrics.series_expiration must be 0 (never) or >= metrics.flush_interval, got %s", m.SeriesExpiration)
	case m.SeriesExpiration > 0 && m.FlushInterval > 0 && m.SeriesExpiration < m.FlushInterval:
		p.add("metrics.series_expiration must be 0 (never) or >= metrics.flush_interval (%s), got %s", m.FlushInterval, m.SeriesExpiration)
	}
}
