package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/commbustest"
)

// The security overlays (configs/otelcol-jeeves-tls.yaml, configs/otelcol-jeeves-auth.yaml) on the
// real binary: certificates are made here for each test (nothing secret is committed), clients
// connect over 127.0.0.1 and what got through is read from the jeeves connector's span counter.

// serverPKI is a CA and a server certificate on disk, where the overlay's variables point.
type serverPKI struct {
	ca                *testCA
	dir               string
	certFile, keyFile string
	caFile            string
	serial            *big.Int
}

func newServerPKI(t *testing.T) *serverPKI {
	t.Helper()
	p := &serverPKI{ca: newTestCA(t, "jeeves test server CA"), dir: t.TempDir()}
	p.certFile, p.keyFile = filepath.Join(p.dir, "tls.crt"), filepath.Join(p.dir, "tls.key")
	p.caFile = filepath.Join(p.dir, "ca.crt")
	if err := os.WriteFile(p.caFile, p.ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	p.rotate(t)
	return p
}

// rotate writes a new server certificate and key over the files, each by an atomic rename (as
// cert-manager and Kubernetes Secret volumes do), and returns the new serial.
func (p *serverPKI) rotate(t *testing.T) *big.Int {
	t.Helper()
	certPEM, keyPEM, _, serial := p.ca.issue(t, "otelcol-jeeves", false)
	for file, data := range map[string][]byte{p.keyFile: keyPEM, p.certFile: certPEM} {
		tmp := file + ".new"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	p.serial = serial
	return serial
}

func (p *serverPKI) env() map[string]string {
	env := map[string]string{"JEEVES_TLS_CERT_FILE": p.certFile, "JEEVES_TLS_KEY_FILE": p.keyFile}
	for k, v := range fastFlush {
		env[k] = v
	}
	return env
}

// clientTLS trusts roots (nil: the system's, which do not hold the test CA) and presents certs.
func clientTLS(roots *x509.CertPool, certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12}
}

func tlsOverlays(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join(repoRoot, "configs", "otelcol-jeeves-"+n+".yaml"))
	}
	return out
}

// spansFor is n server spans of one service, each its own trace.
func spansFor(service string, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	for range n {
		s := spans.AppendEmpty()
		var tid [16]byte
		var sid [8]byte
		_, _ = rand.Read(tid[:])
		_, _ = rand.Read(sid[:])
		tid[0], sid[0] = 1, 1 // never all zero
		s.SetTraceID(pcommon.TraceID(tid))
		s.SetSpanID(pcommon.SpanID(sid))
		s.SetName("GET /health")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-10 * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	}
	return td
}

// exportGRPC sends td over OTLP/gRPC with the given transport security and, when token is not
// empty, `authorization: Bearer <token>`.
func exportGRPC(t *testing.T, addr string, creds credentials.TransportCredentials, token string, td ptrace.Traces) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	return err
}

// exportHTTP posts td as OTLP/HTTP protobuf to scheme://addr/v1/traces and returns the status.
func exportHTTP(t *testing.T, scheme, addr string, cfg *tls.Config, token string, td ptrace.Traces) (int, error) {
	t.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, scheme+"://"+addr+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	return resp.StatusCode, nil
}

// tlsScraper scrapes the Prometheus exporter over https with cfg.
type tlsScraper struct {
	c      *collector
	client *http.Client
}

func newTLSScraper(t *testing.T, c *collector, cfg *tls.Config) *tlsScraper {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	t.Cleanup(client.CloseIdleConnections)
	return &tlsScraper{c: c, client: client}
}

// calls is the jeeves connector's span counter (traces_span_metrics_calls_total) for service.
func (s *tlsScraper) calls(t *testing.T, service string) float64 {
	t.Helper()
	fams := scrapeURL(t, s.client, "https://"+s.c.Prometheus+"/metrics")
	return sumSamples(fams, "traces_span_metrics_calls_total", map[string]string{"service_name": service})
}

// waitCalls waits until service's span counter reaches want, then checks it stays there one
// more flush (nothing beyond what was accepted is counted).
func (s *tlsScraper) waitCalls(t *testing.T, service string, want float64) {
	t.Helper()
	eventually(t, 20*time.Second, func() string {
		if got := s.calls(t, service); got != want {
			return fmt.Sprintf("traces_span_metrics_calls_total{service_name=%q} = %v, want %v", service, got, want)
		}
		return ""
	})
}

// servedSerial is the serial of the certificate addr presents on a new connection.
func servedSerial(addr string, roots *x509.CertPool, certs ...tls.Certificate) (*big.Int, error) {
	cfg := clientTLS(roots, certs...)
	cfg.NextProtos = []string{"h2", "http/1.1"}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

// The overlays validate together, and the TLS overlay fails validation (naming each listener)
// when its certificate variables are unset.
func TestSecurityOverlaysValidate(t *testing.T) {
	t.Parallel()
	p := newServerPKI(t)
	token := filepath.Join(p.dir, "token")
	if err := os.WriteFile(token, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"validate", "--config", filepath.Join(repoRoot, "configs", "otelcol-jeeves.yaml")}
	for _, o := range tlsOverlays("tls", "auth") {
		args = append(args, "--config", o)
	}
	env := []string{"JEEVES_TLS_CERT_FILE=" + p.certFile, "JEEVES_TLS_KEY_FILE=" + p.keyFile, "JEEVES_AUTH_TOKEN_FILE=" + token}
	if out, code := runCollectorCmd(t, env, args...); code != 0 {
		t.Errorf("validate with tls and auth overlays: exit %d\n%s", code, out)
	}
	out, code := runCollectorCmd(t, []string{"JEEVES_TLS_CERT_FILE=", "JEEVES_TLS_KEY_FILE="}, args[:5]...)
	if code == 0 {
		t.Fatal("the TLS overlay validated without JEEVES_TLS_CERT_FILE and JEEVES_TLS_KEY_FILE")
	}
	for _, key := range []string{"receivers::otlp::protocols::grpc", "receivers::otlp::protocols::http", "exporters::prometheus"} {
		if !strings.Contains(out, key) {
			t.Errorf("validation error does not name %s:\n%s", key, out)
		}
	}
}

// Server TLS without client certificates: a client that does not trust the CA, or speaks plain
// text, or offers only TLS 1.1, is refused on every listener; one with the CA gets its spans
// counted, scrapes the exporter over https and publishes to the CommBus listener.
func TestTLSListeners(t *testing.T) {
	t.Parallel()
	p := newServerPKI(t)
	listen := freePort(t)
	env := p.env()
	env["JEEVES_COMMBUS_ENDPOINT"] = freePort(t)
	c := startCollector(t, collectorOptions{
		Env: env,
		Overrides: append(tlsOverlays("tls"),
			// The CommBus listener with the overlay's variables, as docs/security.md shows.
			"yaml:receivers::commbus::listen::endpoint: "+listen,
			"yaml:receivers::commbus::listen::tls::cert_file: ${env:JEEVES_TLS_CERT_FILE}",
			"yaml:receivers::commbus::listen::tls::key_file: ${env:JEEVES_TLS_KEY_FILE}",
			`yaml:receivers::commbus::listen::tls::min_version: "1.2"`,
		),
	})
	trusted := clientTLS(p.ca.pool)
	untrusted := clientTLS(newTestCA(t, "some other CA").pool)
	scraper := newTLSScraper(t, c, trusted)

	// Refusals first, each with its own service name, so that what reached the connector shows.
	if err := exportGRPC(t, c.OTLPGRPC, credentials.NewTLS(untrusted), "", spansFor("tls-refused", 3)); status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("gRPC export from a client without the CA: %v; want Unavailable with a certificate error", err)
	}
	if err := exportGRPC(t, c.OTLPGRPC, insecure.NewCredentials(), "", spansFor("tls-refused", 3)); status.Code(err) != codes.Unavailable {
		t.Errorf("plain-text gRPC export to the TLS port: %v; want Unavailable", err)
	}
	if code, err := exportHTTP(t, "https", c.OTLPHTTP, untrusted, "", spansFor("tls-refused", 3)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("HTTP export from a client without the CA: HTTP %d, %v; want a certificate error", code, err)
	}
	if code, err := exportHTTP(t, "http", c.OTLPHTTP, nil, "", spansFor("tls-refused", 3)); err == nil && code != http.StatusBadRequest {
		t.Errorf("plain-text HTTP export to the TLS port: HTTP %d; want 400 or a transport error", code)
	}
	old := clientTLS(p.ca.pool)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	for name, addr := range map[string]string{"otlp grpc": c.OTLPGRPC, "otlp http": c.OTLPHTTP, "prometheus": c.Prometheus, "commbus listen": listen} {
		conn, err := tls.Dial("tcp", addr, old)
		if err == nil {
			_ = conn.Close()
			t.Errorf("%s accepted a TLS 1.1 handshake", name)
		}
		if conn, err := tls.Dial("tcp", addr, untrusted); err == nil {
			_ = conn.Close()
			t.Errorf("%s: a client without the CA completed the handshake", name)
		}
	}
	if _, err := (&http.Client{Timeout: 5 * time.Second}).Get("https://" + c.Prometheus + "/metrics"); err == nil {
		t.Error("the Prometheus exporter answered a client that does not trust its CA")
	}
	if pub, err := commbustest.DialTLS(listen, untrusted); err == nil {
		_ = pub.Close()
		t.Error("the CommBus listener completed a handshake with a client without the CA")
	}

	// With the CA: both OTLP transports, the exporter and the CommBus listener work.
	if err := exportGRPC(t, c.OTLPGRPC, credentials.NewTLS(trusted), "", spansFor("tls-grpc", 4)); err != nil {
		t.Fatalf("gRPC export with the CA: %v", err)
	}
	if code, err := exportHTTP(t, "https", c.OTLPHTTP, trusted, "", spansFor("tls-http", 5)); err != nil || code != http.StatusOK {
		t.Fatalf("HTTP export with the CA: HTTP %d, %v", code, err)
	}
	scraper.waitCalls(t, "tls-grpc", 4)
	scraper.waitCalls(t, "tls-http", 5)
	if got := scraper.calls(t, "tls-refused"); got != 0 {
		t.Errorf("spans from refused clients were counted: %v", got)
	}

	// A real Prometheus scrapes the exporter with the CA, as configs/prometheus/prometheus-tls.yml does.
	prom := startPrometheusWith(t, prometheusOptions{Jeeves: c.Prometheus, Self: c.Telemetry, RuleFiles: []string{}, JeevesTLS: &scrapeTLS{CAFile: p.caFile}})
	eventually(t, 20*time.Second, func() string {
		if n, err := prom.query(t, `traces_span_metrics_calls_total{job="otelcol-jeeves",service_name="tls-http"} == 5`); err != nil || n != 1 {
			return fmt.Sprintf("Prometheus has not scraped the spans of tls-http over https: %d series, %v", n, err)
		}
		return ""
	})

	pub, err := commbustest.DialTLS(listen, trusted)
	if err != nil {
		t.Fatalf("CommBus listener over TLS with the CA: %v", err)
	}
	defer func() { _ = pub.Close() }()
	ev := commbustest.LifecycleScript(time.Now().Add(-time.Minute))[0]
	typ, reply, err := pub.Publish("req-tls", ev)
	if err != nil || typ != commbustest.TypeResponse {
		t.Fatalf("Publish over TLS: frame type %#x, reply %+v, %v", typ, reply, err)
	}
}

// Mutual TLS (JEEVES_TLS_CLIENT_CA_FILE): a client without a certificate, or with one from another
// CA, is refused on OTLP and on the exporter; one with a certificate from the client CA is served.
// The server certificate is rotated on disk and served on new connections within reload_interval.
func TestMutualTLSAndCertificateReload(t *testing.T) {
	t.Parallel()
	p := newServerPKI(t)
	clientCA := newTestCA(t, "jeeves test client CA")
	clientCAFile := filepath.Join(p.dir, "client-ca.crt")
	if err := os.WriteFile(clientCAFile, clientCA.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, strangerCert, _ := newTestCA(t, "stranger CA").issue(t, "stranger", true)
	goodPEM, goodKeyPEM, goodCert, _ := clientCA.issue(t, "jeeves-gateway", true)
	goodFile, goodKeyFile := filepath.Join(p.dir, "client.crt"), filepath.Join(p.dir, "client.key")
	for file, data := range map[string][]byte{goodFile: goodPEM, goodKeyFile: goodKeyPEM} {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := p.env()
	env["JEEVES_TLS_CLIENT_CA_FILE"] = clientCAFile
	env["JEEVES_TLS_RELOAD_INTERVAL"] = "1s"
	c := startCollector(t, collectorOptions{Env: env, Overrides: tlsOverlays("tls")})

	noCert := clientTLS(p.ca.pool)
	stranger := clientTLS(p.ca.pool, strangerCert)
	good := clientTLS(p.ca.pool, goodCert)
	for name, cfg := range map[string]*tls.Config{"no client certificate": noCert, "a certificate from another CA": stranger} {
		if err := exportGRPC(t, c.OTLPGRPC, credentials.NewTLS(cfg), "", spansFor("mtls-refused", 2)); status.Code(err) != codes.Unavailable {
			t.Errorf("gRPC export with %s: %v; want Unavailable", name, err)
		}
		if code, err := exportHTTP(t, "https", c.OTLPHTTP, cfg, "", spansFor("mtls-refused", 2)); err == nil {
			t.Errorf("HTTP export with %s: HTTP %d; want a TLS error", name, code)
		}
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		if resp, err := client.Get("https://" + c.Prometheus + "/metrics"); err == nil {
			_ = resp.Body.Close()
			t.Errorf("the Prometheus exporter served a scrape with %s", name)
		}
	}
	if err := exportGRPC(t, c.OTLPGRPC, credentials.NewTLS(good), "", spansFor("mtls-grpc", 3)); err != nil {
		t.Fatalf("gRPC export with a client certificate: %v", err)
	}
	if code, err := exportHTTP(t, "https", c.OTLPHTTP, good, "", spansFor("mtls-http", 2)); err != nil || code != http.StatusOK {
		t.Fatalf("HTTP export with a client certificate: HTTP %d, %v", code, err)
	}
	scraper := newTLSScraper(t, c, good)
	scraper.waitCalls(t, "mtls-grpc", 3)
	scraper.waitCalls(t, "mtls-http", 2)
	if got := scraper.calls(t, "mtls-refused"); got != 0 {
		t.Errorf("spans from clients without a valid certificate were counted: %v", got)
	}

	// A real Prometheus scrapes with the CA and its client certificate (startPrometheusWith waits
	// for up == 1).
	startPrometheusWith(t, prometheusOptions{Jeeves: c.Prometheus, Self: c.Telemetry, RuleFiles: []string{},
		JeevesTLS: &scrapeTLS{CAFile: p.caFile, CertFile: goodFile, KeyFile: goodKeyFile}})

	// Rotation: every listener serves the new certificate on new connections.
	before := p.serial
	after := p.rotate(t)
	for name, addr := range map[string]string{"otlp grpc": c.OTLPGRPC, "otlp http": c.OTLPHTTP, "prometheus": c.Prometheus} {
		eventually(t, 10*time.Second, func() string {
			got, err := servedSerial(addr, p.ca.pool, goodCert)
			switch {
			case err != nil:
				return fmt.Sprintf("%s: %v", name, err)
			case got.Cmp(after) != 0:
				return fmt.Sprintf("%s serves serial %v (before rotation %v), want %v", name, got, before, after)
			}
			return ""
		})
	}
	if err := exportGRPC(t, c.OTLPGRPC, credentials.NewTLS(good), "", spansFor("mtls-grpc", 1)); err != nil {
		t.Fatalf("gRPC export after the certificate rotation: %v", err)
	}
	scraper.waitCalls(t, "mtls-grpc", 4)
}

// Bearer token (the auth overlay over the TLS one): a wrong or missing token gets gRPC
// Unauthenticated and HTTP 401 and nothing of it is counted; the right one passes; a new token
// written to the file replaces the old one without a restart.
func TestBearerTokenAuth(t *testing.T) {
	t.Parallel()
	p := newServerPKI(t)
	tokenFile := filepath.Join(p.dir, "token")
	if err := os.WriteFile(tokenFile, []byte("first-token  # the gateway's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := p.env()
	env["JEEVES_AUTH_TOKEN_FILE"] = tokenFile
	c := startCollector(t, collectorOptions{Env: env, Overrides: tlsOverlays("tls", "auth")})
	trusted := clientTLS(p.ca.pool)
	creds := credentials.NewTLS(trusted)
	scraper := newTLSScraper(t, c, trusted)

	for _, token := range []string{"", "wrong-token", "first-token # the gateway's"} {
		if err := exportGRPC(t, c.OTLPGRPC, creds, token, spansFor("token-refused", 2)); status.Code(err) != codes.Unauthenticated {
			t.Errorf("gRPC export with token %q: %v; want Unauthenticated", token, err)
		}
		if code, err := exportHTTP(t, "https", c.OTLPHTTP, trusted, token, spansFor("token-refused", 2)); err != nil || code != http.StatusUnauthorized {
			t.Errorf("HTTP export with token %q: HTTP %d, %v; want 401", token, code, err)
		}
	}
	if err := exportGRPC(t, c.OTLPGRPC, creds, "first-token", spansFor("token-grpc", 3)); err != nil {
		t.Fatalf("gRPC export with the right token: %v", err)
	}
	if code, err := exportHTTP(t, "https", c.OTLPHTTP, trusted, "first-token", spansFor("token-http", 2)); err != nil || code != http.StatusOK {
		t.Fatalf("HTTP export with the right token: HTTP %d, %v", code, err)
	}
	scraper.waitCalls(t, "token-grpc", 3)
	scraper.waitCalls(t, "token-http", 2)
	if got := scraper.calls(t, "token-refused"); got != 0 {
		t.Errorf("spans with a wrong or missing token were counted: %v", got)
	}

	// Rotation by editing the file in place: the old token stops working, the new one works.
	if err := os.WriteFile(tokenFile, []byte("second-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		if err := exportGRPC(t, c.OTLPGRPC, creds, "second-token", spansFor("token-rotated", 1)); err != nil {
			return fmt.Sprintf("new token: %v", err)
		}
		return ""
	})
	err := exportGRPC(t, c.OTLPGRPC, creds, "first-token", spansFor("token-refused", 1))
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("old token after rotation: %v; want Unauthenticated", err)
	}
	if code, err := exportHTTP(t, "https", c.OTLPHTTP, trusted, "second-token", spansFor("token-rotated", 1)); err != nil || code != http.StatusOK {
		t.Errorf("HTTP export with the new token: HTTP %d, %v", code, err)
	}
	scraper.waitCalls(t, "token-rotated", 2)

	// Rotation by an atomic rename over the file (how Kubernetes updates a mounted Secret).
	tmp := tokenFile + ".new"
	if err := os.WriteFile(tmp, []byte("third-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, tokenFile); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		if err := exportGRPC(t, c.OTLPGRPC, creds, "third-token", spansFor("token-rotated", 1)); err != nil {
			return fmt.Sprintf("token after rename: %v", err)
		}
		return ""
	})
	if err := exportGRPC(t, c.OTLPGRPC, creds, "second-token", spansFor("token-refused", 1)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("replaced token after the rename: %v; want Unauthenticated", err)
	}
	scraper.waitCalls(t, "token-rotated", 3)
	if got := scraper.calls(t, "token-refused"); got != 0 {
		t.Errorf("spans with a wrong or missing token were counted: %v", got)
	}
}

// A token file that is missing at start stops the collector (after the overlay's 3 retries)
// instead of leaving it running with no token, refusing every sender.
func TestMissingTokenFileFailsStart(t *testing.T) {
	t.Parallel()
	p := newServerPKI(t)
	missing := filepath.Join(p.dir, "no-such-token")
	env := p.env()
	env["JEEVES_AUTH_TOKEN_FILE"] = missing
	c := launchCollector(t, collectorOptions{Env: env, Overrides: tlsOverlays("tls", "auth")})
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.stop(10 * time.Second)
		t.Fatalf("the collector still runs 20s after start with a missing token file:\n%s", c.output.String())
	}
	if c.err == nil {
		t.Errorf("the collector exited 0 with a missing token file:\n%s", c.output.String())
	}
	if !strings.Contains(c.output.String(), missing) {
		t.Errorf("the error does not name %s:\n%s", missing, c.output.String())
	}
}
