package issuer

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// newHTTPClient builds the client used to talk to the CA. Extra PEM files
// are added to the system pool; pool, when given, is used alone. lego's own
// default client panics on an unreadable LEGO_CA_CERTIFICATES; this one
// returns an error naming the file.
func newHTTPClient(files []string, pool *x509.CertPool) (*http.Client, error) {
	if pool == nil && len(files) > 0 {
		var err error
		pool, err = x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("ACME_CA_CERTIFICATES: %w", err)
			}
			if !pool.AppendCertsFromPEM(data) {
				return nil, fmt.Errorf("ACME_CA_CERTIFICATES: %s holds no PEM certificate", f)
			}
		}
	}
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: (&net.Dialer{
				Timeout:   15 * time.Second,
				KeepAlive: 30 * time.Second,
			}).DialContext,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConnsPerHost:   16,
			TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}, nil
}
