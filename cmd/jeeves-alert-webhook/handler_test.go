package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

func newTestRecorder(max int, maxBody int64, log io.Writer) (*recorder, *httptest.Server) {
	rc := &recorder{
		store:   newStore(max),
		maxBody: maxBody,
		logger:  slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{ReplaceAttr: dropTime})),
		now:     func() time.Time { return fixedNow },
	}
	return rc, httptest.NewServer(rc.routes())
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func getAlerts(t *testing.T, url string) alertsResponse {
	t.Helper()
	code, body := do(t, http.MethodGet, url, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	var out alertsResponse
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
	return out
}

func TestRecordAndList(t *testing.T) {
	var log bytes.Buffer
	_, srv := newTestRecorder(10, 1<<20, &log)
	defer srv.Close()

	if code, body := do(t, http.MethodPost, srv.URL+"/alerts", sample); code != http.StatusOK {
		t.Fatalf("POST: %d %s", code, body)
	}
	wantLog := `level=INFO msg=alert receiver=pager status=firing alertname=JeevesErrorBudgetBurnFast severity=critical labels="{alertname=\"JeevesErrorBudgetBurnFast\", severity=\"critical\", slo=\"pipeline_success\"}"
level=INFO msg=alert receiver=pager status=resolved alertname=OtelcolJeevesDown severity=critical labels="{alertname=\"OtelcolJeevesDown\", job=\"otelcol-jeeves\", severity=\"critical\"}"
`
	if log.String() != wantLog {
		t.Errorf("log\n got %s\nwant %s", log.String(), wantLog)
	}

	got := getAlerts(t, srv.URL+"/alerts")
	if got.Received != 2 || got.Dropped != 0 || got.Max != 10 || len(got.Alerts) != 2 {
		t.Fatalf("GET /alerts: %+v", got)
	}
	want := record{
		ReceivedAt:   fixedNow,
		Receiver:     "pager",
		GroupKey:     `{}/{severity="critical"}:{alertname="JeevesErrorBudgetBurnFast"}`,
		Status:       "firing",
		Labels:       map[string]string{"alertname": "JeevesErrorBudgetBurnFast", "severity": "critical", "slo": "pipeline_success"},
		Annotations:  map[string]string{"summary": "burning", "runbook_url": "https://example.com/r"},
		StartsAt:     time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC),
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=x",
		Fingerprint:  "7a3bd4c1b5e2f6a9",
	}
	if !reflect.DeepEqual(got.Alerts[0], want) {
		t.Errorf("first alert\n got %+v\nwant %+v", got.Alerts[0], want)
	}
	if got.Alerts[1].Labels["alertname"] != "OtelcolJeevesDown" || got.Alerts[1].Status != "resolved" {
		t.Errorf("second alert %+v", got.Alerts[1])
	}

	for query, want := range map[string][]string{
		"?alertname=OtelcolJeevesDown":                             {"0011223344556677"},
		"?status=firing":                                           {"7a3bd4c1b5e2f6a9"},
		"?receiver=pager&severity=critical":                        {"7a3bd4c1b5e2f6a9", "0011223344556677"},
		"?receiver=chat":                                           {},
		"?slo=pipeline_success&alertname=OtelcolJeevesDown":        {},
		"?slo=pipeline_success&slo=pipeline_success&status=firing": {"7a3bd4c1b5e2f6a9"},
	} {
		res := getAlerts(t, srv.URL+"/alerts"+query)
		if got := fingerprints(res.Alerts); !reflect.DeepEqual(got, want) {
			t.Errorf("GET /alerts%s: %v, want %v", query, got, want)
		}
		if res.Received != 2 {
			t.Errorf("GET /alerts%s: received %d, want the unfiltered 2", query, res.Received)
		}
	}

	if code, _ := do(t, http.MethodDelete, srv.URL+"/alerts", ""); code != http.StatusNoContent {
		t.Errorf("DELETE: %d", code)
	}
	if got := getAlerts(t, srv.URL+"/alerts"); got.Received != 0 || len(got.Alerts) != 0 {
		t.Errorf("after DELETE: %+v", got)
	}
}

// More alerts than -max: the newest are kept, the rest counted as dropped.
func TestRecorderBound(t *testing.T) {
	_, srv := newTestRecorder(3, 1<<20, io.Discard)
	defer srv.Close()
	for i := 0; i < 3; i++ {
		if code, body := do(t, http.MethodPost, srv.URL+"/alerts", sample); code != http.StatusOK {
			t.Fatalf("POST %d: %d %s", i, code, body)
		}
	}
	got := getAlerts(t, srv.URL+"/alerts")
	if got.Received != 6 || got.Dropped != 3 || len(got.Alerts) != 3 {
		t.Fatalf("received %d, dropped %d, kept %d; want 6, 3, 3", got.Received, got.Dropped, len(got.Alerts))
	}
	if got := fingerprints(got.Alerts); !reflect.DeepEqual(got, []string{"0011223344556677", "7a3bd4c1b5e2f6a9", "0011223344556677"}) {
		t.Errorf("kept %v", got)
	}
}

func TestRecorderRejects(t *testing.T) {
	var log bytes.Buffer
	_, srv := newTestRecorder(10, int64(len(sample)), &log)
	defer srv.Close()
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		text                     string
	}{
		{"bad JSON", http.MethodPost, "/alerts", "{", http.StatusBadRequest, "bad alertmanager webhook notification: invalid JSON: unexpected EOF\n"},
		{"wrong version", http.MethodPost, "/alerts", `{"version":"5","status":"firing"}`, http.StatusBadRequest,
			"bad alertmanager webhook notification: version must be \"4\", got \"5\"\n"},
		{"too large", http.MethodPost, "/alerts", sample + "     ", http.StatusRequestEntityTooLarge,
			"notification larger than " + strconv.Itoa(len(sample)) + " bytes (-max-body)\n"},
		{"too large inside the object", http.MethodPost, "/alerts", `{"version":"4","receiver":"` + strings.Repeat("x", len(sample)) + `"}`,
			http.StatusRequestEntityTooLarge, "notification larger than " + strconv.Itoa(len(sample)) + " bytes (-max-body)\n"},
		{"wrong method", http.MethodPut, "/alerts", sample, http.StatusMethodNotAllowed, "Method Not Allowed\n"},
		{"unknown path", http.MethodGet, "/", "", http.StatusNotFound, "404 page not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := do(t, tc.method, srv.URL+tc.path, tc.body)
			if code != tc.code || body != tc.text {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, code, body, tc.code, tc.text)
			}
		})
	}
	// The exact limit is accepted.
	if code, body := do(t, http.MethodPost, srv.URL+"/alerts", sample); code != http.StatusOK {
		t.Errorf("a body of exactly -max-body bytes: %d %s", code, body)
	}
	if got := getAlerts(t, srv.URL+"/alerts"); got.Received != 2 {
		t.Errorf("rejected notifications were recorded: received %d, want 2", got.Received)
	}
	if n := strings.Count(log.String(), "msg=alert "); n != 2 {
		t.Errorf("%d alert log lines, want 2:\n%s", n, log.String())
	}
}

func TestHealthz(t *testing.T) {
	_, srv := newTestRecorder(1, 1, io.Discard)
	defer srv.Close()
	if code, body := do(t, http.MethodGet, srv.URL+"/healthz", ""); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q", code, body)
	}
}
