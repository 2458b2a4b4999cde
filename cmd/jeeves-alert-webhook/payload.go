package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// notification is the body Alertmanager posts to a webhook receiver (payload version 4).
// Fields this program does not use are still decoded so that GET /alerts can show them.
type notification struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []alert           `json:"alerts"`
}

type alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// payloadVersion is the only webhook payload version Alertmanager has shipped since 0.15.
const payloadVersion = "4"

// decodeNotification reads exactly one JSON object from r and checks what the recorder relies on:
// the payload version and each status. Unknown fields are accepted, so a newer Alertmanager that
// adds fields keeps working.
func decodeNotification(r io.Reader) (*notification, error) {
	dec := json.NewDecoder(r)
	var n notification
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty body")
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("invalid JSON after the notification object: %w", err)
	default:
		return nil, errors.New("invalid JSON: data after the notification object")
	}
	if err := n.validate(); err != nil {
		return nil, err
	}
	return &n, nil
}

func (n *notification) validate() error {
	var errs []error
	if n.Version != payloadVersion {
		errs = append(errs, fmt.Errorf("version must be %q, got %q", payloadVersion, n.Version))
	}
	if !validStatus(n.Status) {
		errs = append(errs, fmt.Errorf("status must be firing or resolved, got %q", n.Status))
	}
	for i, a := range n.Alerts {
		if !validStatus(a.Status) {
			errs = append(errs, fmt.Errorf("alerts[%d].status must be firing or resolved, got %q", i, a.Status))
		}
	}
	return errors.Join(errs...)
}

func validStatus(s string) bool { return s == "firing" || s == "resolved" }

// formatLabels renders labels the way Prometheus prints a series, sorted by name:
// {alertname="X", severity="warning"}.
func formatLabels(labels map[string]string) string {
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", name, labels[name])
	}
	b.WriteByte('}')
	return b.String()
}
