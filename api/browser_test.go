package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/api"
)

func TestBrowserLoginLink(t *testing.T) {
	_, rt, _ := newServer(t)
	login := api.NewBrowserLogin("local-browser", api.Operator)
	srv := httptest.NewServer(api.Loopback(login.Handler(api.New(rt.Engine, rt, rt,
		api.WithAuthenticator(api.Either(testTokens, login))))))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(c *http.Client, method, path, ctype, origin, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if origin == "self" {
			origin = srv.URL
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}

	// Before logging in, the browser is a stranger.
	if resp, _ := do(browser, "GET", "/v1/whoami", "", "", ""); resp.StatusCode != 401 {
		t.Fatalf("whoami before login: %d, want 401", resp.StatusCode)
	}
	link := login.LoginURL(srv.URL)
	resp, _ := do(browser, "GET", strings.TrimPrefix(link, srv.URL), "", "", "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login link: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, attr := range []string{api.SessionCookie + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("Set-Cookie %q lacks %s", cookie, attr)
		}
	}
	// The link works once.
	if resp, body := do(http.DefaultClient, "GET", strings.TrimPrefix(link, srv.URL), "", "", ""); resp.StatusCode != 403 || !strings.Contains(body, "already used or expired") {
		t.Fatalf("a second use of the link: %d %s, want 403", resp.StatusCode, body)
	}
	resp, body := do(browser, "GET", "/v1/whoami", "", "", "")
	var who map[string]string
	_ = json.Unmarshal([]byte(body), &who)
	if resp.StatusCode != 200 || !strings.Contains(body, "operator") || !strings.Contains(body, "local-browser") {
		t.Fatalf("whoami with the session: %d %s, want the operator local-browser", resp.StatusCode, body)
	}
	// Writes keep the cross-site checks, cookie or not.
	for _, tc := range []struct {
		name, ctype, origin string
		want                int
	}{
		{"cross-site JSON", "application/json", "http://evil.example", 403},
		{"form post", "text/plain", "", 415},
		{"same origin", "application/json", "self", 202},
	} {
		resp, body := do(browser, "POST", "/v1/runs", tc.ctype, tc.origin, `{"workflow":"greet","key":"b-`+tc.name[:4]+`","input":{"id":"x"}}`)
		if tc.want == 202 && (resp.StatusCode == 401 || resp.StatusCode >= 403) || tc.want != 202 && resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
	}
	if _, _, err := rt.Engine.Store().Load(t.Context(), "greet/b-cros"); err == nil {
		t.Error("a cross-site request started a run")
	}
	if _, _, err := rt.Engine.Store().Load(t.Context(), "greet/b-same"); err != nil {
		t.Errorf("the logged-in browser could not start a run: %v", err)
	}
	// The session is an operator's: no definition pushes.
	if resp, _ := do(browser, "POST", "/v1/definitions", "application/yaml", "self", "name: x\nsteps: [{name: a, function: hello}]"); resp.StatusCode != 403 {
		t.Errorf("push with an operator session: %d, want 403", resp.StatusCode)
	}
	// A forged cookie is no one.
	forged := &http.Client{}
	req, _ := http.NewRequest("GET", srv.URL+"/v1/whoami", nil)
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: "guessed"})
	if r, err := forged.Do(req); err != nil || r.StatusCode != 401 {
		t.Errorf("forged session cookie: %v %v, want 401", r.StatusCode, err)
	}
}
