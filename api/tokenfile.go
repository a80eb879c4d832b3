package api

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// TokenFile is the local servers' credentials: one bearer token per role,
// kept in a file only its owner may read (0600), beside the journal.
type TokenFile map[Role]string

// LoadTokenFile reads the token file at path, creating it with a new
// random token per role when it does not exist. A file others may read is
// refused.
func LoadTokenFile(path string) (TokenFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createTokenFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("token file %s has mode %v: others may read it; chmod 600 it", path, fi.Mode().Perm())
	}
	var tf TokenFile
	if err := json.Unmarshal(b, &tf); err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	for role, tok := range tf {
		if _, err := ParseRole(string(role)); err != nil {
			return nil, fmt.Errorf("token file %s: %w", path, err)
		}
		if len(tok) < 20 {
			return nil, fmt.Errorf("token file %s: the %s token is too short (at least 20 characters)", path, role)
		}
	}
	return tf, nil
}

func createTokenFile(path string) (TokenFile, error) {
	tf := TokenFile{Viewer: rand.Text(), Operator: rand.Text(), Admin: rand.Text()}
	b, _ := json.MarshalIndent(tf, "", "  ")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tokens-*")
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path) // atomic; fails if another process won
	}
	if errors.Is(err, fs.ErrExist) {
		return LoadTokenFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return tf, nil
}

// Tokens returns the authenticator of the file's tokens; each principal is
// named "local-<role>".
func (tf TokenFile) Tokens() Tokens {
	t := Tokens{}
	for role, tok := range tf {
		t[tok] = Principal{Name: "local-" + string(role), Role: role}
	}
	return t
}
