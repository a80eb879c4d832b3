// Package order is the OMS "order" workflow: placement, verification,
// charging and fulfilment of a customer order, after Jet's order-management
// flows.
//
//	verify ──┬── fraud ───┐
//	         └── reserve ─┴── charge ── warranty? ── ship ── history
//
// verify validates the order (a malformed order fails terminally); fraud
// scoring and inventory reservation run in parallel; charge takes payment
// (a declined card fails terminally, so the run goes to review); warranty
// runs only when the order holds digital SKUs (AppleCare-like "AC-" SKUs or
// items flagged digital) and counts as done when skipped; ship fulfils the
// physical items (and delivers digital ones by email), then history records
// the order's final state.
//
// # Step functions
//
// Every step is a plain typed function wrapped by step.Func and registered
// under a persisted name (Register):
//
//	step      function                  fails terminally when             fails retryably when
//	--------  ------------------------  --------------------------------  ----------------------------------
//	verify    order-verify              the order is malformed            never
//	fraud     order-fraud-check         the risk score reaches 80         never
//	reserve   order-reserve-inventory   an SKU is out of stock ("OOS-")   attempt 1 for short SKUs ("LOW-")
//	charge    order-charge-payment      the card is declined              never
//	warranty  order-issue-warranty      never                             never
//	ship      order-ship                the order was never charged       never
//	history   order-record-history      never                             never
//
// Money is in minor units (cents) throughout. Every step is deterministic:
// identifiers are derived from the order, not drawn at random, so retries and
// replays (ordo verify) reproduce the same outputs.
package order
