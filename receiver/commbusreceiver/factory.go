// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver"

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/xreceiver"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/metadata"
)

// NewFactory returns the factory of the commbus receiver.
func NewFactory() receiver.Factory {
	return xreceiver.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		xreceiver.WithLogs(createLogs, metadata.LogsStability),
		xreceiver.WithTraces(createTraces, metadata.TracesStability),
		xreceiver.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	s, err := receivers.loadOrStore(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	s.rcv.logs = next
	return s, nil
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	s, err := receivers.loadOrStore(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	s.rcv.traces = next
	return s, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	s, err := receivers.loadOrStore(set, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	s.rcv.metrics = next
	return s, nil
}

// receivers holds one receiver per component ID: the collector asks for the
// logs, traces and metrics receivers separately, but one connection to the
// kernel and one listening port must serve all three. An entry is removed at
// shutdown so the same ID can be created again (config reload).
var receivers = &sharedReceivers{byID: map[component.ID]*sharedReceiver{}}

type sharedReceivers struct {
	mu   sync.Mutex
	byID map[component.ID]*sharedReceiver
}

func (m *sharedReceivers) loadOrStore(set receiver.Settings, cfg *Config) (*sharedReceiver, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.byID[set.ID]; ok {
		return s, nil
	}
	rcv, err := newReceiver(cfg, set)
	if err != nil {
		return nil, err
	}
	s := &sharedReceiver{rcv: rcv}
	id := set.ID
	s.remove = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.byID[id] == s {
			delete(m.byID, id)
		}
	}
	m.byID[id] = s
	return s, nil
}

// sharedReceiver starts and stops the shared receiver once, however many
// signal pipelines hold it.
type sharedReceiver struct {
	rcv       *commbusReceiver
	startOnce sync.Once
	startErr  error
	stopOnce  sync.Once
	stopErr   error
	remove    func()
}

// Start starts the receiver with the first pipeline's host; every host,
// first or not, is told the receiver's component status.
func (s *sharedReceiver) Start(ctx context.Context, host component.Host) error {
	s.rcv.status.addHost(host)
	s.startOnce.Do(func() { s.startErr = s.rcv.Start(ctx, host) })
	return s.startErr
}

func (s *sharedReceiver) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.stopErr = s.rcv.Shutdown(ctx)
		s.remove()
	})
	return s.stopErr
}
