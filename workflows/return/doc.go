// Package returns is the OMS "return" workflow (directory workflows/return;
// "return" is a Go keyword, so the package is named returns), one of the
// concessions flows: the customer sends goods back and is refunded for what
// arrives in a sellable or faulty-as-claimed condition.
//
//	authorize ── receive (wait) ── inspect ── refund ── notify
//
// authorize issues an RMA and a prepaid return label (digital goods cannot
// be returned: a terminal failure); receive waits for the parcel; inspect
// grades each line; refund prices the accepted lines with the refund
// workflow's rules (refund.Compute) and refunds the original charge under
// an id derived from the return; notify emails the customer and publishes
// ReturnRefunded. At most one concession runs per order at a time (deferred
// by orderId).
//
//	step       function          fails terminally when
//	---------  ----------------  ------------------------------------------
//	authorize  return-authorize  the request is malformed, or a line is digital
//	receive    (wait step)       never
//	inspect    return-inspect    never
//	refund     return-refund     never (validated input)
//	notify     return-notify     never
//
// In this sample the warehouse's finding for each line is the condition the
// request declares ("unopened", "opened", "damaged"), so every run is
// deterministic.
package returns
