package internal

import (
	"strings"
	"testing"
)

func TestIndexShards(t *testing.T) {
	for _, tc := range []struct {
		env     string
		options int
		err     string
	}{
		{"", 0, ""},
		{"32", 1, ""},
		{"1", 1, ""},
		{"1024", 1, ""},
		{"0", 0, `ORDO_INDEX_SHARDS="0"`},
		{"1025", 0, `ORDO_INDEX_SHARDS="1025"`},
		{"-4", 0, `ORDO_INDEX_SHARDS="-4"`},
		{"eight", 0, `ORDO_INDEX_SHARDS="eight": want a whole number`},
	} {
		t.Setenv("ORDO_INDEX_SHARDS", tc.env)
		opts, err := IndexShards()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.env, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got error %v, want one containing %q", tc.env, err, tc.err)
		case len(opts) != tc.options:
			t.Errorf("%q: got %d options, want %d", tc.env, len(opts), tc.options)
		}
	}
}
