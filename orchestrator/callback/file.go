package callback

import (
	"errors"
	"fmt"
	"github.com/ordoflow/ordo/internal/keyfile"
	"io/fs"
	"os"
)

// LoadFile reads the keyring in the file at path (ParseKeyring's format),
// creating it with one new random key, readable by its owner only (0600),
// when it does not exist. An existing file readable by others is refused.
func LoadFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("callback key file: %w", err)
	}
	if err := checkPrivate(path); err != nil {
		return nil, err
	}
	r, err := ParseKeyring(string(b))
	if err != nil {
		return nil, fmt.Errorf("callback key file %s: %w", path, err)
	}
	return r, nil
}

func createFile(path string) (*Keyring, error) {
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	exists, err := keyfile.Create(path, "ordo callback keys: the first signs, all verify", k)
	if exists {
		return LoadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("callback key file %s: %w", path, err)
	}
	return NewKeyring(k)
}

// checkPrivate refuses a secret file that others may read or write.
func checkPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("key file %s has mode %v: others may read it; chmod 600 it", path, fi.Mode().Perm())
	}
	return nil
}
