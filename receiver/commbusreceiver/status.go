// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver // import "github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver"

import (
	"crypto/tls"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// statusReporter is the one owner of the receiver's component status. The
// collector starts the receiver once per signal (logs, traces, metrics), each
// with its own host, and each host reports for its own pipelines; the
// receiver starts only once, so every host is kept and told every change,
// and a host that arrives late is told the current status first.
//
// Only changes are reported: a subscriber that keeps failing to reach the
// kernel reports one recoverable error, not one per attempt. A permanent
// error is final (the collector's status model has no way back from it).
type statusReporter struct {
	mu      sync.Mutex
	hosts   []componentstatus.Reporter
	current *componentstatus.Event
	closed  bool
}

// addHost registers the host of one pipeline face and replays the current
// status to it.
func (s *statusReporter) addHost(h component.Host) {
	r, ok := h.(componentstatus.Reporter)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != nil && !s.closed {
		r.Report(s.current)
	}
	s.hosts = append(s.hosts, r)
}

// report tells every host about st when it differs from the current status.
// It returns whether it reported.
func (s *statusReporter) report(st componentstatus.Status, err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.current != nil && (s.current.Status() == st || s.current.Status() == componentstatus.StatusPermanentError) {
		return false
	}
	var opts []componentstatus.EventBuilderOption
	if err != nil {
		opts = append(opts, componentstatus.WithError(err))
	}
	ev := componentstatus.NewEvent(st, opts...)
	s.current = ev
	for _, h := range s.hosts {
		h.Report(ev)
	}
	return true
}

// close stops reporting: the collector reports Stopping and Stopped itself,
// and a subscription torn down by shutdown is no error.
func (s *statusReporter) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

// isPermanent says whether a failed subscription attempt is one that no
// retry can fix without a change of configuration: the kernel refused the
// Subscribe request as invalid (subscribe.event_types, subscribe.subscriber_id)
// or does not know the service (the endpoint is not a CommBus kernel), or the
// kernel's TLS certificate does not verify against subscribe.tls.
func isPermanent(err error) bool {
	var pe *wire.ProtocolError
	if errors.As(err, &pe) {
		return !pe.Retryable && (pe.Code == wire.CodeInvalidArgument || pe.Code == wire.CodeNotFound)
	}
	var cve *tls.CertificateVerificationError
	return errors.As(err, &cve)
}
