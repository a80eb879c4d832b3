// Package keyfile creates the private key files that sit beside a local
// journal (callback keys, sealing keys) so that no reader ever sees a
// half-written key and, of two processes racing to create one, one wins
// and the other reads the winner's.
package keyfile

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Create writes header (a comment line) and key, hex-encoded, to a
// private (0600) file at path. It reports exists when another process
// created path first: the caller then reads that file instead.
func Create(path, header string, key []byte) (exists bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	_, err = fmt.Fprintf(tmp, "# %s\n%s\n", header, hex.EncodeToString(key))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if errors.Is(err, fs.ErrExist) {
		return true, nil
	}
	return false, err
}
