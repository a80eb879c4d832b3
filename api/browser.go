package api

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// SessionCookie is the cookie BrowserLogin sets.
const SessionCookie = "ordo_session"

// LoginTTL is how long a login link stays usable (once).
const LoginTTL = 10 * time.Minute

// BrowserLogin lets the browser of the person who started a local server
// (`ordo dev`) use its web UI without handling a token: the server prints
// a one-time link, http://127.0.0.1:PORT/?login=<code>; opening it within
// LoginTTL sets an HttpOnly, SameSite=Strict session cookie for one role,
// and the code is void. The cookie is never readable by scripts, never
// sent by other sites' requests, and writes keep Loopback's Origin and
// content-type checks, so another page in the same browser can neither
// read it nor ride it. Sessions live as long as the server.
type BrowserLogin struct {
	role Role
	name string
	now  func() time.Time

	mu       sync.Mutex
	codes    map[[32]byte]time.Time // hashed code -> expiry
	sessions map[[32]byte]bool      // hashed session ids
}

// NewBrowserLogin returns logins for role; sessions act as principal name.
func NewBrowserLogin(name string, role Role) *BrowserLogin {
	return &BrowserLogin{role: role, name: name, now: time.Now,
		codes: map[[32]byte]time.Time{}, sessions: map[[32]byte]bool{}}
}

// Codes and session ids are kept hashed: a map lookup on the hash tells a
// timing observer nothing about the secret.
func hashed(s string) [32]byte { return sha256.Sum256([]byte("ordo-browser-v1\x00" + s)) }

// NewCode returns a new one-time login code, valid for LoginTTL.
func (b *BrowserLogin) NewCode() string {
	code := rand.Text()
	b.mu.Lock()
	b.codes[hashed(code)] = b.now().Add(LoginTTL)
	b.mu.Unlock()
	return code
}

// LoginURL is the link that logs a browser in at base (http://host:port).
func (b *BrowserLogin) LoginURL(base string) string {
	return base + "/?login=" + url.QueryEscape(b.NewCode())
}

// redeem voids code and reports whether it was valid.
func (b *BrowserLogin) redeem(code string) bool {
	h := hashed(code)
	b.mu.Lock()
	defer b.mu.Unlock()
	exp, ok := b.codes[h]
	delete(b.codes, h)
	return ok && b.now().Before(exp)
}

// Handler exchanges a GET's ?login=<code> for a session cookie, then
// redirects to the same URL without the code (so it leaves the address
// bar and the history). Other requests go to next.
func (b *BrowserLogin) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := r.URL.Query().Get("login")
		if code == "" || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		if !b.redeem(code) {
			writeErr(w, http.StatusForbidden, errors.New("login link already used or expired: restart `ordo dev` for a new one, or use a bearer token"))
			return
		}
		id := rand.Text() + rand.Text()
		b.mu.Lock()
		b.sessions[hashed(id)] = true
		b.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		u := *r.URL
		q := u.Query()
		q.Del("login")
		u.RawQuery = q.Encode()
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
	})
}

// Authenticate implements Authenticator: a request with a session cookie
// this login handed out.
func (b *BrowserLogin) Authenticate(r *http.Request) (Principal, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return Principal{}, fmt.Errorf("%w: no session cookie", ErrUnauthenticated)
	}
	b.mu.Lock()
	ok := b.sessions[hashed(c.Value)]
	b.mu.Unlock()
	if !ok {
		return Principal{}, fmt.Errorf("%w: unknown session (open a new login link)", ErrUnauthenticated)
	}
	return Principal{Name: b.name, Role: b.role}, nil
}

// Either authenticates with the first authenticator that knows the
// request: a bearer token first, say, then a session cookie. A request
// carrying a bearer token is judged by the token alone.
func Either(first, second Authenticator) Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (Principal, error) {
		p, err := first.Authenticate(r)
		if err == nil || r.Header.Get("Authorization") != "" {
			return p, err
		}
		return second.Authenticate(r)
	})
}
