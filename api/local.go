package api

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Loopback guards a server meant for one machine (`ordo dev`) against
// other sites in the user's browser:
//
//   - the Host must be a loopback name (127.0.0.1, localhost, [::1], any
//     port): a page whose DNS name was rebound to 127.0.0.1 still sends its
//     own name, and is refused;
//   - writes must be JSON or YAML (Content-Type application/json or
//     application/yaml): a cross-site form or fetch without a CORS
//     preflight can only send text/plain, multipart or urlencoded bodies;
//   - writes must come from no Origin or this server's own.
//
// Refusals are 403 (415 for the content type) with a JSON error naming the
// header at fault. Authentication is the Server's; Loopback comes in front.
func Loopback(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host) {
			writeErr(w, http.StatusForbidden, fmt.Errorf("host %q is not a loopback name (127.0.0.1, localhost, [::1]): refused", r.Host))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := sameOrigin(r); err != nil {
				writeErr(w, http.StatusForbidden, err)
				return
			}
			if err := jsonOrYAML(r.Header.Get("Content-Type")); err != nil {
				writeErr(w, http.StatusUnsupportedMediaType, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

func sameOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil // not a browser's cross-origin request
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme != "http" || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("origin %q is not this server (http://%s): cross-site writes are refused", o, r.Host)
	}
	return nil
}

func jsonOrYAML(ct string) error {
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || mt == "application/yaml") {
		return nil
	}
	return fmt.Errorf("content type %q: writes must be application/json (or application/yaml for definitions)", ct)
}
