package dynamojournal_test

import (
	"testing"

	"github.com/ordoflow/ordo/journal/journaltest"
)

func TestSnapshots(t *testing.T) {
	newClient(t) // skip the whole suite at once without the stack
	journaltest.RunSnapshots(t, func(t *testing.T) journaltest.WithSnapshots {
		s, _, _ := newStore(t)
		return s
	})
}
