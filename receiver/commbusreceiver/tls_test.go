// Copyright The otelcol-jeeves Authors
// SPDX-License-Identifier: Apache-2.0

package commbusreceiver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"

	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/testkernel"
	"github.com/jeeves/otelcol-jeeves/receiver/commbusreceiver/internal/wire"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and returns the
// cert and key paths and a client config trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, client *tls.Config, server *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "commbus-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(certPEM))
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)
	return certFile, keyFile, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

func TestListenTLS(t *testing.T) {
	certFile, keyFile, clientTLS, _ := selfSigned(t)
	cfg := listenConfig()
	cfg.Listen.Get().TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: certFile, KeyFile: keyFile}})
	h := newHarness(t, cfg)
	h.start()

	c, err := testkernel.DialTLS(h.listenAddr(), clientTLS)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	reply := publish(t, c, "tls-1", wire.Event{EventType: "process.created", Payload: `{"pid":"t1"}`, Source: "kernel"})
	assert.Equal(t, map[string]any{"success": true, "delivered": int8(3)}, reply.Body)
	eventually(t, "logged", func() bool { return h.logs.LogRecordCount() == 1 })

	// Plain TCP against the TLS port gets no protocol answer.
	plain, err := testkernel.Dial(h.listenAddr())
	require.NoError(t, err)
	defer func() { _ = plain.Close() }()
	_, _, err = plain.Publish("plain", wire.Event{EventType: "x", Payload: "{}"})
	require.Error(t, err)
}

func TestSubscribeTLS(t *testing.T) {
	certFile, _, _, serverTLS := selfSigned(t)
	kernel := testkernel.StartTLS(t, "127.0.0.1:0", serverTLS)
	cfg := subscribeConfig(kernel.Addr())
	cfg.Subscribe.Get().TLS = configtls.ClientConfig{Config: configtls.Config{CAFile: certFile}}
	h := newHarness(t, cfg)
	h.start()
	require.NoError(t, kernel.WaitSubscribers(1, 5*time.Second))
	require.Equal(t, 1, kernel.Publish(wire.Event{EventType: "process.created", Payload: `{"pid":"t1"}`, Source: "kernel", TimestampMs: at(0)}))
	eventually(t, "logged over TLS", func() bool { return h.logs.LogRecordCount() == 1 })
}

func TestTLSConfigErrorsFailStart(t *testing.T) {
	cfg := listenConfig()
	cfg.Listen.Get().TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: "/nonexistent/cert.pem", KeyFile: "/nonexistent/key.pem"}})
	h := newHarness(t, cfg)
	err := h.shared.Start(t.Context(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen.tls")

	cfg = subscribeConfig("127.0.0.1:1")
	cfg.Subscribe.Get().TLS = configtls.ClientConfig{Config: configtls.Config{CAFile: "/nonexistent/ca.pem"}}
	h2 := newHarness(t, cfg)
	err = h2.shared.Start(t.Context(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "subscribe.tls")
}
