package httpserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grpcmetrics/grpcmetrics/httpserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// writeCert writes a self-signed ECDSA certificate for 127.0.0.1 and its key
// as cert.pem and key.pem in dir, and returns the certificate.
func writeCert(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "grpcmetrics httpserver test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	writePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, "key.pem"), "EC PRIVATE KEY", keyDER)
	return cert
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
}

// writeWebConfig writes an exporter-toolkit web config at dir/web.yml and
// returns its path.
func writeWebConfig(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// TestTLSAndBasicAuth serves with a web config file enabling TLS (with a
// certificate made here) and basic auth (with a bcrypt hash made here).
func TestTLSAndBasicAuth(t *testing.T) {
	dir := t.TempDir()
	cert := writeCert(t, dir)
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	// Relative paths are resolved against the config file's directory.
	cfg := writeWebConfig(t, dir, fmt.Sprintf(`tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
basic_auth_users:
  alice: %s
`, hash))
	srv := start(t, newRegistry(t), httpserver.Options{WebConfigFile: cfg})

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer trusting.CloseIdleConnections()
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	defer untrusting.CloseIdleConnections()

	https := "https://" + srv.Addr()
	tests := []struct {
		name       string
		client     *http.Client
		url        string
		user, pass string // no credentials when user is empty
		wantCode   int
		wantErr    bool
		wantBody   string
	}{
		{name: "no credentials", client: trusting, url: https + "/metrics", wantCode: http.StatusUnauthorized},
		{name: "wrong password", client: trusting, url: https + "/metrics", user: "alice", pass: "wrong", wantCode: http.StatusUnauthorized},
		{name: "unknown user", client: trusting, url: https + "/metrics", user: "bob", pass: "s3cret", wantCode: http.StatusUnauthorized},
		{name: "right password", client: trusting, url: https + "/metrics", user: "alice", pass: "s3cret", wantCode: http.StatusOK, wantBody: "\ntest_events_total 3\n"},
		{name: "health needs credentials too", client: trusting, url: https + "/healthz", wantCode: http.StatusUnauthorized},
		{name: "health with credentials", client: trusting, url: https + "/healthz", user: "alice", pass: "s3cret", wantCode: http.StatusOK, wantBody: "ok\n"},
		{name: "plain HTTP is refused", client: http.DefaultClient, url: "http://" + srv.Addr() + "/metrics", user: "alice", pass: "s3cret", wantCode: http.StatusBadRequest},
		{name: "certificate not trusted", client: untrusting, url: https + "/metrics", user: "alice", pass: "s3cret", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, tt.url, nil)
			require.NoError(t, err)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := tt.client.Do(req)
			if tt.wantErr {
				var unknown x509.UnknownAuthorityError
				require.ErrorAs(t, err, &unknown)
				return
			}
			require.NoError(t, err)
			defer closeBody(t, resp)
			assert.Equal(t, tt.wantCode, resp.StatusCode)
			if tt.wantCode == http.StatusUnauthorized {
				assert.Equal(t, "Basic", resp.Header.Get("WWW-Authenticate"))
			}
			if strings.HasPrefix(tt.url, "https:") {
				require.NotNil(t, resp.TLS, "response not over TLS")
			}
			if tt.wantBody != "" {
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				assert.Contains(t, string(body), tt.wantBody)
			}
		})
	}
}
