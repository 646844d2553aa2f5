package httpprobe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// selfSigned makes a certificate for 127.0.0.1 and localhost, valid from
// notBefore to notAfter, that is its own issuer.
func selfSigned(t *testing.T, cn string, notBefore, notAfter time.Time, ips ...net.IP) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost"},
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

func tlsServer(t *testing.T, cert tls.Certificate) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("secure"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes fail on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func TestProbeTLS(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
			var protos []string
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				protos = append(protos, r.Proto) // requests are sequential
			}))
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			defer srv.Close()
			p := newProber(t, Options{Policy: loopback, RootCAs: pool(srv.Certificate())})
			// Two probes: the second must not reuse the first's connection.
			for i := range 2 {
				res := p.Probe(context.Background(), apiCheck(srv.URL))
				wantStatus(t, res, check.StatusPassed, "")
				info := res.HTTP.TLS
				if info == nil {
					t.Fatal("no TLS info for an https check")
				}
				if !strings.HasPrefix(info.Version, "TLS 1.") || info.CipherSuite == "" {
					t.Errorf("TLS info %+v", info)
				}
				if !info.CertNotAfter.Equal(srv.Certificate().NotAfter) || info.CertSubject == "" || info.CertIssuer == "" {
					t.Errorf("certificate info %+v, want NotAfter %v", info, srv.Certificate().NotAfter)
				}
				if res.Timings.TLS <= 0 || res.Timings.Connect <= 0 {
					t.Errorf("probe %d: timings %+v, want a handshake of its own", i+1, res.Timings)
				}
			}
			want := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2]
			if len(protos) != 2 || protos[0] != want || protos[1] != want {
				t.Errorf("server saw %v, want %s twice", protos, want)
			}
		})
	}
}

func TestProbeTLSFailures(t *testing.T) {
	now := time.Now()
	loopbackIP := net.ParseIP("127.0.0.1")
	valid, validLeaf := selfSigned(t, "valid", now.Add(-time.Hour), now.Add(time.Hour), loopbackIP)
	expired, expiredLeaf := selfSigned(t, "expired", now.Add(-48*time.Hour), now.Add(-24*time.Hour), loopbackIP)
	future, futureLeaf := selfSigned(t, "future", now.Add(24*time.Hour), now.Add(48*time.Hour), loopbackIP)
	wrongHost, wrongHostLeaf := selfSigned(t, "wrong-host", now.Add(-time.Hour), now.Add(time.Hour)) // no IP SAN

	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()

	tests := []struct {
		name  string
		url   string
		roots *x509.CertPool
		want  string
	}{
		{"self-signed", tlsServer(t, valid).URL, nil, `certificate signed by unknown authority (self-signed certificate "CN=valid")`},
		{"expired", tlsServer(t, expired).URL, pool(expiredLeaf),
			"certificate expired at " + expiredLeaf.NotAfter.UTC().Format(time.RFC3339)},
		{"not yet valid", tlsServer(t, future).URL, pool(futureLeaf),
			"certificate not valid before " + futureLeaf.NotBefore.UTC().Format(time.RFC3339)},
		{"wrong host", tlsServer(t, wrongHost).URL, pool(wrongHostLeaf), "127.0.0.1"},
		{"not TLS", strings.Replace(plain.URL, "http://", "https://", 1), pool(validLeaf), "server gave HTTP response to HTTPS client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProber(t, Options{Policy: loopback, RootCAs: tt.roots})
			res := p.Probe(context.Background(), apiCheck(tt.url))
			host := strings.TrimPrefix(tt.url, "https://")
			wantStatus(t, res, check.StatusFailed, "tls "+host+": ")
			if !strings.Contains(res.Error, tt.want) {
				t.Fatalf("error %q does not contain %q", res.Error, tt.want)
			}
			if res.HTTP != nil {
				t.Errorf("HTTP result %+v after a failed handshake", res.HTTP)
			}
		})
	}
	// The same self-signed server passes once its certificate is trusted.
	p := newProber(t, Options{Policy: loopback, RootCAs: pool(validLeaf)})
	wantStatus(t, p.Probe(context.Background(), apiCheck(tlsServer(t, valid).URL)), check.StatusPassed, "")
}
