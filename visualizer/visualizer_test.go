package visualizer_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/ordoflow/ordo/visualizer"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(`{}`))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandlerServesTheEmbeddedApp(t *testing.T) {
	h := visualizer.Handler()
	for _, tc := range []struct {
		path, want string
	}{
		{"/", `<script src="app.js"`},
		{"/app.js", "function drawDag"},
		{"/app.css", "svg.dag"},
		{"/vendor/dagre.min.js", "graphlib"},
		{"/vendor/dagre.LICENSE", "Permission is hereby granted"},
	} {
		w := get(t, h, "GET", "http://127.0.0.1"+tc.path, nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s: %d, body lacks %q", tc.path, w.Code, tc.want)
		}
		if w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", tc.path)
		}
	}
	if w := get(t, h, "GET", "http://127.0.0.1/nope.js", nil); w.Code != 404 {
		t.Errorf("unknown file: %d, want 404", w.Code)
	}
	if w := get(t, h, "POST", "http://127.0.0.1/", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST to the UI: %d, want 405", w.Code)
	}
}

func TestMountSendsTheAPIItsPaths(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.URL.Path) })
	h := visualizer.Mount(api)
	if w := get(t, h, "GET", "http://127.0.0.1/v1/views/runs", nil); w.Body.String() != "api /v1/views/runs" {
		t.Errorf("/v1/views/runs went to %q", w.Body.String())
	}
	if w := get(t, h, "GET", "http://127.0.0.1/", nil); !strings.Contains(w.Body.String(), "<html") {
		t.Errorf("/ is not the UI: %q", w.Body.String())
	}
}

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	h := visualizer.Guard(ok)
	json := map[string]string{"Content-Type": "application/json"}
	for _, tc := range []struct {
		name, method, target string
		hdr                  map[string]string
		code                 int
	}{
		{"read on loopback", "GET", "http://127.0.0.1:8081/v1/views/runs", nil, 204},
		{"read on localhost", "GET", "http://localhost:8081/", nil, 204},
		{"read on [::1]", "GET", "http://[::1]:8081/", nil, 204},
		{"rebound host", "GET", "http://evil.example:8081/v1/views/runs", nil, 403},
		{"same-origin write", "POST", "http://127.0.0.1:8081/v1/runs/a/b/cancel", map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:8081"}, 204},
		{"write without origin (CLI)", "POST", "http://127.0.0.1:8081/v1/runs/a/b/cancel", json, 204},
		{"cross-site write", "POST", "http://127.0.0.1:8081/v1/runs/a/b/cancel", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"form post", "POST", "http://127.0.0.1:8081/v1/runs/a/b/cancel", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
	} {
		if w := get(t, h, tc.method, tc.target, tc.hdr); w.Code != tc.code {
			t.Errorf("%s: %d, want %d (%s)", tc.name, w.Code, tc.code, w.Body.String())
		}
	}
}

// sigV4 matches an AWS Signature Version 4 Authorization header for the
// lambda service.
var sigV4 = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/lambda/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`)

func TestProxySignsWithSigV4(t *testing.T) {
	type seen struct {
		auth, sha, date, token, cookie, path, body string
	}
	got := make(chan seen, 4)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Header.Get("Authorization"), r.Header.Get("X-Amz-Content-Sha256"), r.Header.Get("X-Amz-Date"),
			r.Header.Get("X-Amz-Security-Token"), r.Header.Get("Cookie"), r.URL.RequestURI(), string(b)}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	target, _ := url.Parse(upstream.URL)
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token")
	h := visualizer.Proxy(target, visualizer.SigV4{Credentials: creds, Region: "eu-west-1",
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})

	r := httptest.NewRequest("POST", "http://127.0.0.1:8081/v1/runs/order/o-1/cancel?x=1", strings.NewReader(`{"by":"me"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Cookie", "session=browser")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || w.Body.String() != `{"ok":true}` {
		t.Fatalf("proxied call: %d %s", w.Code, w.Body.String())
	}
	s := <-got
	if !sigV4.MatchString(s.auth) {
		t.Errorf("Authorization %q is not a SigV4 signature for lambda in eu-west-1", s.auth)
	}
	if sum := sha256.Sum256([]byte(`{"by":"me"}`)); s.sha != hex.EncodeToString(sum[:]) {
		t.Errorf("X-Amz-Content-Sha256 %q, want the body's hash", s.sha)
	}
	if s.date != "20260102T030405Z" || s.token != "session-token" || s.cookie != "" || s.path != "/v1/runs/order/o-1/cancel?x=1" || s.body != `{"by":"me"}` {
		t.Errorf("upstream saw %+v", s)
	}
}

func TestProxyNamesAnUnreachableAPI(t *testing.T) {
	target, _ := url.Parse("http://127.0.0.1:1")
	w := get(t, visualizer.Proxy(target, nil), "GET", "http://127.0.0.1:8081/v1/views/runs", nil)
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "127.0.0.1:1") {
		t.Errorf("unreachable API: %d %s", w.Code, w.Body.String())
	}
}

func TestFunctionURLRegion(t *testing.T) {
	for in, want := range map[string]string{
		"https://abc123.lambda-url.eu-west-1.on.aws/": "eu-west-1",
		"http://127.0.0.1:8080":                       "",
	} {
		u, _ := url.Parse(in)
		if got := visualizer.FunctionURLRegion(u); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestProxySendsTheBearerTokenOnly(t *testing.T) {
	got := make(chan string, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization") + "|" + r.Header.Get("Cookie")
	}))
	defer upstream.Close()
	target, _ := url.Parse(upstream.URL)
	h := visualizer.Proxy(target, visualizer.Bearer{Token: "s3cret"})
	get(t, h, "GET", "http://127.0.0.1:8081/v1/views/runs", map[string]string{"Authorization": "Basic browser", "Cookie": "a=b"})
	if s := <-got; s != "Bearer s3cret|" {
		t.Errorf("upstream saw Authorization|Cookie %q, want the token and no cookie", s)
	}
}
