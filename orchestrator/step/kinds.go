package step

// Failure kinds the platform itself reports in Failure.Kind (and the
// journal in Error.Kind). They are persisted and named in retry policies'
// NonRetryable lists: never rename one. A step's own kinds (step.Kind) are
// the step's to choose.
const (
	// KindTimeout: the attempt did not finish within its timeout, or its
	// lease ran out with no result journaled (the driver that invoked it
	// stopped, or the step outlived the invocation that waited for it).
	KindTimeout = "timeout"
	// KindLease: the runtime knows the driver that invoked the attempt is
	// gone (a restarted embedded runtime reclaims its predecessor's
	// attempts) and ends the attempt before its lease runs out.
	KindLease = "lease"
	// KindInvoke: the transport failed (the invocation did not come back).
	KindInvoke = "invoke"
	// KindLambda: the step's Lambda function failed outside the step's
	// code (an unhandled error, a crash, out of memory).
	KindLambda = "lambda"
	// KindProtocol: the step answered something that is not a Response.
	KindProtocol = "protocol"
	// KindPanic: the step's handler panicked.
	KindPanic = "panic"
	// KindUnregistered: no handler is registered for the step's function.
	KindUnregistered = "unregistered"
	// KindTooLarge: the step's result is larger than the journal accepts
	// (and no offload store took it); retrying cannot fix it.
	KindTooLarge = "too-large"
	// KindPass: a pass step's error expression gave a message.
	KindPass = "pass"
	// KindFail: a fail step.
	KindFail = "fail"
	// KindExpression: an expression of the definition could not be
	// evaluated.
	KindExpression = "expression"
	// KindMap: more of a map step's items failed than it tolerates.
	KindMap = "map"
	// KindChildPrefix prefixes a sub step's failure with its child run's
	// status: "child-failed", "child-cancelled", "child-review".
	KindChildPrefix = "child-"
	// KindKey: a sensitive value could not be sealed or opened (a missing
	// or wrong key, the key service refusing): the attempt fails for good
	// and the run goes to review, naming the key problem.
	KindKey = "key"
)
