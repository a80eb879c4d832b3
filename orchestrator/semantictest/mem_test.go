package semantictest_test

import (
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/semantictest"
)

func TestSemanticsMemory(t *testing.T) {
	semantictest.Run(t, func(t *testing.T) journal.Store { return memjournal.New() })
}
