package semantictest_test

import (
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/orchestrator/semantictest"
)

func TestSemanticsDynamo(t *testing.T) {
	dynamotest.Client(t) // skip the whole suite at once without the stack
	semantictest.Run(t, func(t *testing.T) journal.Store {
		c := dynamotest.Client(t)
		return dynamojournal.New(c, dynamotest.Table(t, c))
	})
}
