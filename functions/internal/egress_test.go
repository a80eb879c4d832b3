package internal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/journal"
)

// The attack seen: an http effect aimed at the metadata service. It is
// refused before any connection, and the refusal is journaled.
func TestHTTPEffectTargetsAllowListed(t *testing.T) {
	t.Parallel()
	f := newEffectsFixture(t, "order/ord-9")
	for id, target := range map[string]string{
		"e-meta":  "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"e-v6":    "http://[fd00:ec2::254]/latest/meta-data/",
		"e-other": "https://attacker.example/collect",
		"e-ok":    f.url,
	} {
		f.handle(t, effectMsg(t, "m-"+id, "order/ord-9", journal.Effect{ID: id, Kind: "http", Target: target}))
	}
	f.hook.mu.Lock()
	got := len(f.hook.keys)
	f.hook.mu.Unlock()
	if got != 1 {
		t.Fatalf("the hook got %d requests, want 1 (only the allowed target)", got)
	}
	_, events, err := f.store.Load(context.Background(), "order/ord-9")
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]string{}
	for _, e := range events {
		if e.Kind == journal.EffectFailed && e.Error != nil && e.EffectID != "" {
			failed[e.EffectID] = e.Error.Message
		}
	}
	for id, want := range map[string]string{"e-meta": "address refused", "e-v6": "address refused", "e-other": "not on the allow-list"} {
		if !strings.Contains(failed[id], want) {
			t.Errorf("%s failed with %q, want it to say %q", id, failed[id], want)
		}
	}
	if _, bad := failed["e-ok"]; bad {
		t.Errorf("the allowed target failed: %s", failed["e-ok"])
	}
}
