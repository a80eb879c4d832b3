package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ordoflow/ordo/orchestrator"
)

// Role is what a caller may do. Each role may do what the roles before it
// may.
type Role string

// The roles.
const (
	// Viewer reads: runs, events, definitions, graphs.
	Viewer Role = "viewer"
	// Operator also starts runs, resubmits and cancels them, delivers
	// events and completes callbacks.
	Operator Role = "operator"
	// Admin also pushes definitions.
	Admin Role = "admin"
)

var rank = map[Role]int{Viewer: 1, Operator: 2, Admin: 3}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	if _, ok := rank[Role(s)]; !ok {
		return "", fmt.Errorf("role %q: want viewer, operator or admin", s)
	}
	return Role(s), nil
}

// Allows reports whether r may do what need may.
func (r Role) Allows(need Role) bool { return rank[r] > 0 && rank[r] >= rank[need] }

// Principal is an authenticated caller: who, journaled with what they do,
// and their role.
type Principal struct {
	Name string
	Role Role
}

// Authenticator says who sent a request. An error means no one known
// (answered 401).
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Principal, error) { return f(r) }

// WithAuthenticator sets how callers are identified. Without one, every
// request is refused (401): a server is never open by accident.
func WithAuthenticator(a Authenticator) Option { return func(s *Server) { s.auth = a } }

// ErrUnauthenticated is returned by authenticators for a request that
// carries no credentials they accept.
var ErrUnauthenticated = errors.New("unauthenticated")

// Tokens authenticates "Authorization: Bearer <token>" against a fixed set
// of tokens, each naming its principal. Tokens are compared in constant
// time.
type Tokens map[string]Principal

// Authenticate implements Authenticator.
func (t Tokens) Authenticate(r *http.Request) (Principal, error) {
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || given == "" {
		return Principal{}, fmt.Errorf("%w: send Authorization: Bearer <token>", ErrUnauthenticated)
	}
	var found Principal
	hit := 0
	for tok, p := range t { // every token compared: the time says nothing about which matched
		if subtle.ConstantTimeCompare([]byte(tok), []byte(given)) == 1 {
			found, hit = p, 1
		}
	}
	if hit == 0 {
		return Principal{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	return found, nil
}

// need is the role a request needs: reading is for viewers, pushing
// definitions for admins, every other write for operators.
func need(r *http.Request) Role {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return Viewer
	case r.URL.Path == "/v1/definitions" || strings.HasPrefix(r.URL.Path, "/v1/definitions/"):
		return Admin
	}
	return Operator
}

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of a request the Server
// serves.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// authorize authenticates r and checks its role; it answers the request
// itself and returns false when it may not go on.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if s.auth == nil {
		writeErr(w, http.StatusUnauthorized, fmt.Errorf("%w: this server has no authenticator configured", ErrUnauthenticated))
		return nil, false
	}
	p, err := s.auth.Authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ordo"`)
		writeErr(w, http.StatusUnauthorized, err)
		return nil, false
	}
	if n := need(r); !p.Role.Allows(n) {
		writeErr(w, http.StatusForbidden, fmt.Errorf("%s (role %s) may not %s %s: it needs the %s role", p.Name, p.Role, r.Method, r.URL.Path, n))
		return nil, false
	}
	ctx := orchestrator.WithActor(context.WithValue(r.Context(), principalKey{}, p), p.Name)
	return r.WithContext(ctx), true
}

// by names who does an operation, for the journal: the authenticated
// caller, and what the request claims when it says someone else.
func by(r *http.Request, claimed string) string {
	p, ok := PrincipalFrom(r.Context())
	switch {
	case !ok:
		return claimed
	case claimed == "" || claimed == p.Name:
		return p.Name
	}
	return p.Name + " (for " + claimed + ")"
}

// Fixed authenticates every request as p: for a server only its operator
// can reach, such as `ordo ui` on a loopback address behind
// visualizer.Guard, over a journal file the operator may open anyway.
func Fixed(p Principal) Authenticator {
	return AuthenticatorFunc(func(*http.Request) (Principal, error) { return p, nil })
}

// whoami tells the caller who the API takes it for (the UI shows only the
// actions its role allows).
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"name": p.Name, "role": string(p.Role)})
}
