package orchestrator

import (
	"context"
	"time"
)

// A Drive with a lone attempt to invoke, and nothing else to wait for
// until that attempt's lease, invokes it on its own goroutine: a goroutine
// for it would only hand its result back to a Drive doing nothing else
// meanwhile. What the Drive would otherwise wait for comes later or not at
// all: no deadline to hand the run on by (a Lambda's Drive has one), no
// other attempt of this Drive running, and no retry, timer, lease or run
// timeout due before this attempt's lease.

// inlinable returns the attempt of invs to invoke on the Drive's
// goroutine, if there is one: wake is when the run next needs a decision.
func (d *driver) inlinable(invs []Invocation, wake time.Time) (Invocation, bool) {
	if len(invs) != 1 || len(d.running) > 0 || d.handOn != nil {
		return Invocation{}, false
	}
	inv := invs[0]
	if inv.Workflow != "" || inv.Lease.IsZero() || !wake.IsZero() && wake.Before(inv.Lease) {
		return Invocation{}, false
	}
	if _, ok := d.e.eventInvoker(inv); ok {
		return Invocation{}, false
	}
	return inv, true
}

// invokeInline invokes inv and records its result, as waitFor would on
// receiving it. The attempt is cancelled if ctx ends meanwhile, as close
// cancels the attempts of a Drive whose ctx ended; ended is then true and
// the result is not recorded (the attempt's lease expires). A result that
// comes back after the lease is not recorded either: the next decision
// times the attempt out, as it would have while waiting for it.
func (d *driver) invokeInline(inv Invocation) (ended bool) {
	if d.stopInline == nil {
		d.stopInline = context.AfterFunc(d.ctx, d.cancelSteps)
	}
	resp := d.e.invoke(d.stepCtx, d.rs.def, d.rs.wfName, d.run, inv, d.rs.StateJSON())
	if d.ctx.Err() != nil {
		return true
	}
	if !d.e.now().Before(inv.Lease) {
		return false
	}
	d.journalResult(attemptResult{inv: inv, resp: resp})
	return false
}

// startOrInline invokes invs, on this goroutine if inlinable, and reports
// whether it did so (the results are in) or ctx ended meanwhile.
func (d *driver) startOrInline(invs []Invocation, wake time.Time) (inlined, ended bool, err error) {
	if inv, ok := d.inlinable(invs, wake); ok {
		return true, d.invokeInline(inv), nil
	}
	return false, false, d.start(invs)
}
