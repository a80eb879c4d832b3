package localkey_test

import (
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
)

func TestKeyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ordo.db.sealing-key")
	if _, err := localkey.ReadFile(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of a missing file = %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("ReadFile created the file")
	}
	first, err := localkey.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	sealed, err := first.Seal(ctx, []byte(`"4242"`))
	if err != nil {
		t.Fatal(err)
	}
	// Rotation: a new key as the first line seals; the old one still opens.
	old, _ := os.ReadFile(path)
	newKey := localkey.NewKey()
	if err := os.WriteFile(path, []byte(hex.EncodeToString(newKey)+"\n"+string(old)), 0o600); err != nil {
		t.Fatal(err)
	}
	rotated, err := localkey.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Current() != localkey.KeyID(newKey) {
		t.Errorf("current key %s, want the new first line's %s", rotated.Current(), localkey.KeyID(newKey))
	}
	if got, err := rotated.Open(ctx, sealed); err != nil || string(got) != `"4242"` {
		t.Errorf("Open of a value sealed under the old key = %s, %v", got, err)
	}
	// A file others may read is refused, naming the mode.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := localkey.LoadFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadFile of a 0644 file = %v, want a refusal", err)
	}
	if _, err := localkey.Parse("zz\n"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Parse(bad line) = %v, want an error naming line 1", err)
	}
}
