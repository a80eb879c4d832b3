package journaltest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/journal"
)

// Sized returns c with one more StepSucceeded event (step "big") whose
// output pads the commit's encoded events (journal.EncodeEvents) to exactly
// n bytes, for tests at a backend's size limit. The padding is one
// repeated letter, which compresses well; fill, when not empty, replaces it
// (it must be JSON-string safe and at least as long as the padding) for
// payloads that must not compress.
func Sized(c journal.Commit, n int, fill string) (journal.Commit, error) {
	pad := func(k int) journal.Commit {
		p := strings.Repeat("x", k)
		if fill != "" {
			p = fill[:k]
		}
		out := c
		out.Events = append(append([]journal.Event(nil), c.Events...), journal.Event{
			Kind: journal.StepSucceeded, At: c.At, Step: "big", Attempt: 1,
			Output: json.RawMessage(`{"pad":"` + p + `"}`),
		})
		return out
	}
	b, err := journal.EncodeEvents(pad(0).Events)
	if err != nil {
		return c, err
	}
	k := n - len(b)
	if k < 0 || (fill != "" && k > len(fill)) {
		return c, fmt.Errorf("cannot pad a commit of %d bytes to %d", len(b), n)
	}
	out := pad(k)
	if b, err = journal.EncodeEvents(out.Events); err != nil || len(b) != n {
		return c, fmt.Errorf("padded commit is %d bytes, want %d (%v)", len(b), n, err)
	}
	return out, nil
}
