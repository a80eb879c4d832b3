package dynamojournal_test

import (
	"testing"

	"github.com/ordoflow/ordo/journal/journaltest"
)

func TestInternalStreams(t *testing.T) {
	newClient(t) // skip the whole suite at once without the stack
	journaltest.RunInternal(t, func(t *testing.T) journaltest.Internal {
		s, _, _ := newStore(t)
		return s
	})
}
