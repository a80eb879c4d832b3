package egress_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/ordoflow/ordo/orchestrator/effect/egress"
)

func TestAddresses(t *testing.T) {
	p := egress.MustParse("*, 10.1.0.0/16")
	for addr, ok := range map[string]bool{
		"93.184.216.34":          true,
		"2606:2800:220:1::":      true,
		"10.1.2.3":               true, // listed
		"169.254.169.254":        false,
		"::ffff:169.254.169.254": false, // IPv4-mapped
		"fd00:ec2::254":          false,
		"fe80::1":                false,
		"100.100.100.200":        false,
		"127.0.0.1":              false,
		"::1":                    false,
		"10.2.0.1":               false,
		"192.168.1.1":            false,
		"172.16.0.1":             false,
		"0.0.0.0":                false,
		"100.64.0.1":             false,
		"224.0.0.1":              false,
	} {
		err := p.CheckAddr(netip.MustParseAddr(addr))
		if (err == nil) != ok {
			t.Errorf("CheckAddr(%s) = %v, want allowed %v", addr, err, ok)
		}
		if err != nil && !errors.Is(err, egress.ErrAddressRefused) {
			t.Errorf("CheckAddr(%s) = %v, want ErrAddressRefused", addr, err)
		}
	}
}

func TestHosts(t *testing.T) {
	p := egress.MustParse("api.example.com, *.partner.example")
	for raw, ok := range map[string]bool{
		"https://api.example.com/hook":      true,
		"https://API.example.com:8443/x":    true,
		"https://a.b.partner.example/x":     true,
		"https://partner.example/x":         false,
		"https://evil.example/x":            false,
		"https://api.example.com.evil.io/x": false,
		"http://169.254.169.254/latest":     false,
	} {
		u, _ := url.Parse(raw)
		if err := p.CheckURL(u); (err == nil) != ok {
			t.Errorf("CheckURL(%s) = %v, want allowed %v", raw, err, ok)
		}
	}
	if err := egress.MustParse("").CheckURL(&url.URL{Host: "example.com"}); !errors.Is(err, egress.ErrHostNotAllowed) {
		t.Errorf("an empty policy allowed a host: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"10.0.0.0/33", "http://x.example", "a*.example", "user@host"} {
		if _, err := egress.Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

// The dial-time check: a name that resolves to a refused address is
// refused, whatever the allow-list says of the name.
func TestClientChecksTheDialedAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// "localhost" is allowed as a name, but its address (loopback) is not.
	byName := egress.MustParse("localhost").Client(5 * time.Second)
	_, err := byName.Get("http://localhost:" + port + "/")
	if !errors.Is(err, egress.ErrAddressRefused) {
		t.Fatalf("GET localhost with loopback not allowed: %v, want ErrAddressRefused", err)
	}
	// Loopback allowed explicitly: the same request goes through.
	allowed := egress.MustParse("localhost, 127.0.0.1, ::1").Client(5 * time.Second)
	resp, err := allowed.Get("http://localhost:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// A link-local target, refused before any packet is sent.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://169.254.169.254/latest/meta-data/", nil)
	if _, err := egress.MustParse("*").Client(5 * time.Second).Do(req); !errors.Is(err, egress.ErrAddressRefused) {
		t.Fatalf("GET the metadata service: %v, want ErrAddressRefused", err)
	}
}

func TestRedirectsAreChecked(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	defer srv.Close()
	_, err := egress.MustParse("127.0.0.1").Client(5 * time.Second).Get(srv.URL)
	if !errors.Is(err, egress.ErrAddressRefused) {
		t.Fatalf("redirect to the metadata service: %v, want ErrAddressRefused", err)
	}
}
