package observe_test

import (
	"context"
	"os"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/observe"
)

// A journal wrapped with a Tally reports what each commit says; EMF turns
// it into CloudWatch Embedded Metric Format lines.
func Example() {
	emf := observe.NewEMF()
	store := observe.Wrap(memjournal.New(), observe.NewTally(emf))
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	store.Append(context.Background(), journal.Commit{Run: "order/o-1", Workflow: "order", DefHash: "h", At: at,
		Status: journal.StatusCompleted, Events: []journal.Event{
			{Kind: journal.RunStarted, At: at},
			{Kind: journal.StepScheduled, Step: "charge", Attempt: 1, At: at},
			{Kind: journal.StepSucceeded, Step: "charge", Attempt: 1, At: at.Add(42 * time.Millisecond)},
			{Kind: journal.RunCompleted, At: at.Add(42 * time.Millisecond)},
		}})
	emf.Flush(os.Stdout, at)
	// Output:
	// {"RunsCompleted":1,"RunsStarted":1,"StepLatency":[42],"Workflow":"order","_aws":{"CloudWatchMetrics":[{"Dimensions":[["Workflow"]],"Metrics":[{"Name":"RunsCompleted","Unit":"Count"},{"Name":"RunsStarted","Unit":"Count"},{"Name":"StepLatency","Unit":"Milliseconds"}],"Namespace":"ordo"}],"Timestamp":1767323045000}}
}
