package memjournal_test

import (
	"testing"

	"github.com/ordoflow/ordo/journal/journaltest"
	"github.com/ordoflow/ordo/journal/memjournal"
)

func TestSnapshots(t *testing.T) {
	journaltest.RunSnapshots(t, func(t *testing.T) journaltest.WithSnapshots { return memjournal.New() })
}
