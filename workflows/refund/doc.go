// Package refund is the OMS "refund" workflow, one of the concessions
// flows: a customer-service agent (or another workflow) asks for money back
// on some lines of a charged order.
//
//	validate ── compute ── issue ── notify
//
// validate checks the request (a malformed one fails terminally); compute
// prices the refund (a full refund for a fault of ours, less a restocking
// fee on physical goods when the customer changed their mind); issue
// returns the money to the original charge under an id derived from the
// refund, so a retry never refunds twice; notify emails the customer and
// publishes RefundIssued. At most one concession runs per order at a time
// (deferred by orderId).
//
//	step      function         fails terminally when
//	--------  ---------------  ----------------------------------
//	validate  refund-validate  the request is malformed
//	compute   refund-compute   never (validated input)
//	issue     refund-issue     the amount is negative
//	notify    refund-notify    never
//
// Compute and TxID are exported for the return workflow, which refunds
// inspected items with the same rules.
package refund
