package internal

import (
	"context"
	"log/slog"
	"time"
)

// HeadRepairer is the part of the journal the head sweep needs
// (dynamojournal.Store.RepairHeads).
type HeadRepairer interface {
	RepairHeads(ctx context.Context) (int, error)
}

// RepairResult is what one sweep did.
type RepairResult struct {
	// Repaired is how many lagging run heads the sweep wrote.
	Repaired int `json:"repaired"`
	// Millis is how long the sweep took.
	Millis int64 `json:"millis"`
}

// Repair is the handler of the scheduled head sweep (functions/repair,
// invoked by an EventBridge schedule): it writes the run heads left behind
// their commits (a head write that failed and whose message redelivery
// gave up on, e.g. moved to a dead-letter queue during an outage), so that
// every run reaches its status listing even when nothing loads it again.
// The schedule's event carries nothing the sweep needs.
type Repair struct {
	journal HeadRepairer
	log     *slog.Logger
}

// NewRepair returns the sweep handler over journal.
func NewRepair(journal HeadRepairer, log *slog.Logger) *Repair {
	return &Repair{journal: journal, log: log}
}

// Handle runs one sweep. An error (the journal failing, or the function's
// deadline) fails the invocation, so that the Lambda's Errors metric and
// its alarm show it; the heads written before it stay written, and the
// next scheduled sweep goes on.
func (r *Repair) Handle(ctx context.Context) (RepairResult, error) {
	start := time.Now()
	n, err := r.journal.RepairHeads(ctx)
	res := RepairResult{Repaired: n, Millis: time.Since(start).Milliseconds()}
	if err != nil {
		r.log.Error("head sweep", "repaired", n, "ms", res.Millis, "err", err)
		return res, err
	}
	if n > 0 {
		r.log.Warn("head sweep wrote lagging run heads", "repaired", n, "ms", res.Millis)
	} else {
		r.log.Info("head sweep", "repaired", 0, "ms", res.Millis)
	}
	return res, nil
}
