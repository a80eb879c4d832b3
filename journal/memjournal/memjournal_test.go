package memjournal_test

import (
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/journaltest"
	"github.com/ordoflow/ordo/journal/memjournal"
)

func TestConformance(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) journal.Store { return memjournal.New() })
}

func TestInternalStreams(t *testing.T) {
	journaltest.RunInternal(t, func(t *testing.T) journaltest.Internal { return memjournal.New() })
}
