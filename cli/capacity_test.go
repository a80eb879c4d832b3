package cli

import (
	"strings"
	"testing"
)

// TestCapacityCommand: without --shards the command names the smallest
// shard count that fits and says so; with a count too small for the peak
// it fails, naming it; bad lists are named with the flag and the item.
func TestCapacityCommand(t *testing.T) {
	out, err := ordoArgs(t, "capacity")
	if err != nil {
		t.Fatalf("ordo capacity: %v\n%s", err, out)
	}
	for _, want := range []string{"100000 step transitions/s", "byWorkflow", "byStatus", "(raise)",
		"index shards: 32 is the smallest power of two that fits"} {
		if !strings.Contains(out, want) {
			t.Errorf("ordo capacity printed no %q:\n%s", want, out)
		}
	}
	out, err = ordoArgs(t, "capacity", "--shards", "8")
	if err == nil || !strings.Contains(err.Error(), "8 does not fit") || !strings.Contains(out, "OVER the partition limits") {
		t.Errorf("ordo capacity --shards 8: err %v, want the peak not to fit\n%s", err, out)
	}
	out, err = ordoArgs(t, "capacity", "--rate", "2000", "--shards", "2")
	if err != nil || !strings.Contains(out, "index shards: 2 fits this peak") {
		t.Errorf("ordo capacity --rate 2000 --shards 2: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--run-steps", "5,x"}, `--run-steps "5,x": item 2 ("x")`},
		{[]string{"--step-ms", ""}, `--step-ms "": item 1`},
		{[]string{"--hot-share", "2"}, "hot share 2"},
		{[]string{"--run-steps", "0"}, "run length 0"},
	} {
		_, err := ordoArgs(t, append([]string{"capacity"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ordo capacity %v: err %v, want one naming %q", tc.args, err, tc.want)
		}
	}
}
