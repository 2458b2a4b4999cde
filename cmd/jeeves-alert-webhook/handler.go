package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// recorder serves the webhook API over a store.
type recorder struct {
	store   *store
	maxBody int64
	logger  *slog.Logger
	now     func() time.Time
}

// alertsResponse is the body of GET /alerts.
type alertsResponse struct {
	// Received counts every alert recorded since start (or the last DELETE), kept or not.
	Received uint64 `json:"received"`
	// Dropped counts the oldest alerts evicted because more than Max arrived.
	Dropped uint64 `json:"dropped"`
	// Max is the number of alerts kept (-max).
	Max int `json:"max"`
	// Alerts are the kept alerts that match the query, oldest first.
	Alerts []record `json:"alerts"`
}

func (rc *recorder) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /alerts", rc.receive)
	mux.HandleFunc("GET /alerts", rc.list)
	mux.HandleFunc("DELETE /alerts", rc.forget)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

func (rc *recorder) receive(w http.ResponseWriter, r *http.Request) {
	body := http.MaxBytesReader(w, r.Body, rc.maxBody)
	n, err := decodeNotification(body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("notification larger than %d bytes (-max-body)", tooLarge.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad alertmanager webhook notification: "+err.Error(), http.StatusBadRequest)
		return
	}
	now := rc.now()
	recs := make([]record, 0, len(n.Alerts))
	for _, a := range n.Alerts {
		recs = append(recs, record{
			ReceivedAt:   now,
			Receiver:     n.Receiver,
			GroupKey:     n.GroupKey,
			Status:       a.Status,
			Labels:       a.Labels,
			Annotations:  a.Annotations,
			StartsAt:     a.StartsAt,
			EndsAt:       a.EndsAt,
			GeneratorURL: a.GeneratorURL,
			Fingerprint:  a.Fingerprint,
		})
		rc.logger.Info("alert",
			slog.String("receiver", n.Receiver),
			slog.String("status", a.Status),
			slog.String("alertname", a.Labels["alertname"]),
			slog.String("severity", a.Labels["severity"]),
			slog.String("labels", formatLabels(a.Labels)))
	}
	rc.store.add(recs...)
	w.WriteHeader(http.StatusOK)
}

// list answers GET /alerts. Query parameters filter the kept alerts: `receiver` and `status`
// match those fields, every other parameter matches the label of that name (`?alertname=X&slo=Y`).
func (rc *recorder) list(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	recs, received, dropped := rc.store.snapshot(matcher(query))
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(alertsResponse{Received: received, Dropped: dropped, Max: len(rc.store.ring), Alerts: recs})
}

func (rc *recorder) forget(w http.ResponseWriter, _ *http.Request) {
	rc.store.reset()
	w.WriteHeader(http.StatusNoContent)
}

func matcher(query url.Values) func(*record) bool {
	if len(query) == 0 {
		return nil
	}
	return func(r *record) bool {
		for name, values := range query {
			var got string
			switch name {
			case "receiver":
				got = r.Receiver
			case "status":
				got = r.Status
			default:
				got = r.Labels[name]
			}
			for _, want := range values {
				if got != want {
					return false
				}
			}
		}
		return true
	}
}
