package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sample is a notification as Alertmanager 0.25 posts it: two alerts of one group.
const sample = `{
  "receiver": "pager",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "JeevesErrorBudgetBurnFast", "severity": "critical", "slo": "pipeline_success"},
      "annotations": {"summary": "burning", "runbook_url": "https://example.com/r"},
      "startsAt": "2026-01-02T03:04:05.123Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
      "fingerprint": "7a3bd4c1b5e2f6a9"
    },
    {
      "status": "resolved",
      "labels": {"alertname": "OtelcolJeevesDown", "severity": "critical", "job": "otelcol-jeeves"},
      "annotations": {},
      "startsAt": "2026-01-02T03:00:00Z",
      "endsAt": "2026-01-02T03:05:00Z",
      "generatorURL": "",
      "fingerprint": "0011223344556677"
    }
  ],
  "groupLabels": {"alertname": "JeevesErrorBudgetBurnFast"},
  "commonLabels": {"severity": "critical"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "version": "4",
  "groupKey": "{}/{severity=\"critical\"}:{alertname=\"JeevesErrorBudgetBurnFast\"}",
  "truncatedAlerts": 0
}`

func TestDecodeNotification(t *testing.T) {
	n, err := decodeNotification(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if n.Receiver != "pager" || n.Status != "firing" || n.Version != "4" || len(n.Alerts) != 2 {
		t.Fatalf("decoded %+v", n)
	}
	a := n.Alerts[0]
	want := alert{
		Status:       "firing",
		Labels:       map[string]string{"alertname": "JeevesErrorBudgetBurnFast", "severity": "critical", "slo": "pipeline_success"},
		Annotations:  map[string]string{"summary": "burning", "runbook_url": "https://example.com/r"},
		StartsAt:     time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC),
		EndsAt:       time.Time{},
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=x",
		Fingerprint:  "7a3bd4c1b5e2f6a9",
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("alert 0:\n got %+v\nwant %+v", a, want)
	}
	if n.Alerts[1].Status != "resolved" || !n.Alerts[1].EndsAt.Equal(time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)) {
		t.Errorf("alert 1: %+v", n.Alerts[1])
	}
}

func TestDecodeNotificationErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty", "", "empty body"},
		{"not JSON", "alerts!", "invalid JSON: invalid character 'a' looking for beginning of value"},
		{"truncated", `{"version":"4",`, "invalid JSON: unexpected EOF"},
		{"wrong type", `{"version":4}`, "invalid JSON: json: cannot unmarshal number into Go struct field notification.version of type string"},
		{"trailing object", `{"version":"4","status":"firing"} {}`, "invalid JSON: data after the notification object"},
		{"trailing garbage", `{"version":"4","status":"firing"} x`, "invalid JSON after the notification object: invalid character 'x' looking for beginning of value"},
		{"version", `{"version":"3","status":"firing"}`, `version must be "4", got "3"`},
		{"every problem at once", `{"status":"pending","alerts":[{"status":"firing"},{"status":""}]}`,
			"version must be \"4\", got \"\"\nstatus must be firing or resolved, got \"pending\"\nalerts[1].status must be firing or resolved, got \"\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeNotification(strings.NewReader(tc.body))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %q\nwant %q", err, tc.want)
			}
		})
	}
}

func TestFormatLabels(t *testing.T) {
	got := formatLabels(map[string]string{"severity": "warning", "alertname": "X", "pool": `a "b"`})
	want := `{alertname="X", pool="a \"b\"", severity="warning"}`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := formatLabels(nil); got != "{}" {
		t.Errorf("nil labels: %s", got)
	}
}

// FuzzDecodeNotification: the decoder never panics, and whatever it accepts is valid and survives
// an encode/decode round trip unchanged.
func FuzzDecodeNotification(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"version":"4","status":"resolved","alerts":[]}`))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":null}]}`))
	f.Add([]byte(`{"version":"4"`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := decodeNotification(bytes.NewReader(body))
		if err != nil {
			if n != nil {
				t.Fatal("a notification returned with an error")
			}
			return
		}
		if err := n.validate(); err != nil {
			t.Fatalf("accepted an invalid notification: %v", err)
		}
		encoded, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeNotification(bytes.NewReader(encoded))
		if err != nil {
			t.Fatalf("re-decoding %s: %v", encoded, err)
		}
		if !reflect.DeepEqual(normalise(n), normalise(again)) {
			t.Fatalf("round trip changed the notification:\n%+v\n%+v", n, again)
		}
	})
}

// normalise makes times comparable with DeepEqual (a round trip drops the monotonic clock and may
// change the location pointer, not the instant).
func normalise(n *notification) *notification {
	c := *n
	c.Alerts = append([]alert(nil), n.Alerts...)
	for i := range c.Alerts {
		c.Alerts[i].StartsAt = c.Alerts[i].StartsAt.UTC()
		c.Alerts[i].EndsAt = c.Alerts[i].EndsAt.UTC()
	}
	return &c
}
