package visualizer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Proxy returns a handler that forwards the UI's API calls to the API at
// target (a running `ordo dev`, or a deployed API's Function URL) through
// transport (nil: http.DefaultTransport). The browser's cookies and
// authorization never reach the target: only what transport adds does.
func Proxy(target *url.URL, transport http.RoundTripper) http.Handler {
	if transport == nil {
		transport = http.DefaultTransport
	}
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
			for _, h := range []string{"Cookie", "Authorization", "Origin", "Referer"} {
				r.Out.Header.Del(h)
			}
		},
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "{\"error\": %q}\n", "API "+target.Redacted()+": "+err.Error())
		},
	}
}

// Bearer is a transport that sends a bearer token with every request (a
// running `ordo dev` that requires one).
type Bearer struct {
	Token string
	Base  http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (b Bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.Token)
	return base(b.Base).RoundTrip(r)
}

// SigV4 is a transport that signs each request with AWS Signature Version
// 4 for service "lambda", so an IAM-authenticated Function URL accepts it.
// The credentials are the operator's (the SDK's default chain).
type SigV4 struct {
	Credentials aws.CredentialsProvider
	Region      string
	Base        http.RoundTripper // nil: http.DefaultTransport
	// Now is the signing clock (nil: time.Now).
	Now func() time.Time
}

// RoundTrip implements http.RoundTripper.
func (s SigV4) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.Credentials == nil || s.Region == "" {
		return nil, errors.New("sigv4: credentials and region are required")
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	creds, err := s.Credentials.Retrieve(r.Context())
	if err != nil {
		return nil, fmt.Errorf("sigv4: AWS credentials: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, out, hex.EncodeToString(sum[:]), "lambda", s.Region, now()); err != nil {
		return nil, fmt.Errorf("sigv4: sign: %w", err)
	}
	return base(s.Base).RoundTrip(out)
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("sigv4: read body: %w", err)
	}
	if len(b) > 1<<20 {
		return nil, errors.New("sigv4: request body over 1 MiB")
	}
	return b, nil
}

func base(t http.RoundTripper) http.RoundTripper {
	if t == nil {
		return http.DefaultTransport
	}
	return t
}

// FunctionURLRegion is the region of a Lambda Function URL host
// (<id>.lambda-url.<region>.on.aws), or "" for other hosts.
func FunctionURLRegion(u *url.URL) string {
	parts := strings.Split(u.Hostname(), ".")
	for i, p := range parts {
		if p == "lambda-url" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

// Guard protects a UI served on the operator's machine from other web
// pages: requests must name a loopback host (no DNS rebinding), and writes
// must come from the UI's own origin with a JSON body (no cross-site form
// posts riding on the operator's credentials).
func Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			http.Error(w, fmt.Sprintf("host %q: the UI answers only on loopback names (localhost, 127.0.0.1, [::1])", r.Host), http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
				http.Error(w, fmt.Sprintf("origin %q is not this UI's (http://%s)", o, r.Host), http.StatusForbidden)
				return
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				http.Error(w, fmt.Sprintf("content type %q: writes must be application/json", ct), http.StatusUnsupportedMediaType)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
