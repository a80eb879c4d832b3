package callback_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/callback"
)

func keyring(t *testing.T, keys ...callback.Key) *callback.Keyring {
	t.Helper()
	if len(keys) == 0 {
		k, err := callback.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	r, err := callback.NewKeyring(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignVerify(t *testing.T) {
	r := keyring(t)
	want := callback.Claims{Run: "order/o-1", Step: "approve", Attempt: 2}
	got, err := r.Verify(r.Sign(want))
	if err != nil || got != want {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, want)
	}
}

func TestForgedTokensAreRefused(t *testing.T) {
	r := keyring(t)
	good := r.Sign(callback.Claims{Run: "asyncwf2/asy-000005", Step: "approve", Attempt: 1})
	payload, _, _ := strings.Cut(good, ".")
	other := keyring(t).Sign(callback.Claims{Run: "asyncwf2/asy-000005", Step: "approve", Attempt: 1})
	_, otherSig, _ := strings.Cut(other, ".")
	tampered := base64.RawURLEncoding.EncodeToString([]byte("asyncwf2/asy-000005\x00approve\x002"))
	_, goodSig, _ := strings.Cut(good, ".")
	for name, tc := range map[string]struct {
		token string
		want  error
	}{
		// The token format before signing: base64 of run, step, attempt.
		"unsigned":            {payload, callback.ErrMalformed},
		"signed by other key": {payload + "." + otherSig, callback.ErrForged},
		"payload changed":     {tampered + "." + goodSig, callback.ErrForged},
		"short signature":     {payload + "." + goodSig[:10], callback.ErrMalformed},
		"not base64":          {"!!!." + goodSig, callback.ErrMalformed},
		"huge":                {strings.Repeat("A", 5000) + "." + goodSig, callback.ErrMalformed},
		// A second spelling of a genuine token (base64 skips line breaks).
		"line break": {payload + ".\r" + goodSig, callback.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.Verify(tc.token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldKey, _ := callback.NewKey()
	newKey, _ := callback.NewKey()
	before := keyring(t, oldKey)
	after := keyring(t, newKey, oldKey)
	c := callback.Claims{Run: "r/1", Step: "s", Attempt: 1}
	if _, err := after.Verify(before.Sign(c)); err != nil {
		t.Fatalf("a token signed before the rotation: %v", err)
	}
	if _, err := before.Verify(after.Sign(c)); !errors.Is(err, callback.ErrForged) {
		t.Fatalf("the old ring verified a new key's token: %v", err)
	}
}

func TestWeakKeyRefused(t *testing.T) {
	if _, err := callback.NewKeyring(callback.Key("short")); !errors.Is(err, callback.ErrWeakKey) {
		t.Fatalf("NewKeyring(short) = %v", err)
	}
	if _, err := callback.ParseKeyring("# only a comment\n"); !errors.Is(err, callback.ErrWeakKey) {
		t.Fatalf("ParseKeyring(empty) = %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ordo.db.callback-key")
	first, err := callback.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode %v, want 0600", got)
	}
	again, err := callback.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := callback.Claims{Run: "r/1", Step: "s", Attempt: 3}
	if _, err := again.Verify(first.Sign(c)); err != nil {
		t.Fatalf("the reloaded key does not verify: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := callback.LoadFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file was accepted: %v", err)
	}
}

func TestPeekDoesNotVerify(t *testing.T) {
	c := callback.Claims{Run: "r/1", Step: "s", Attempt: 1}
	got, err := callback.Peek(keyring(t).Sign(c))
	if err != nil || got != c {
		t.Fatalf("Peek = %+v, %v", got, err)
	}
}
