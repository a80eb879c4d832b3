// Package lambdatest runs the orchestrator, effects and API Lambdas'
// handler code (functions/internal) in one process, wired as AWS wires it,
// for tests that need many drivers of one run at once and faults at every
// boundary:
//
//   - the real aws-sdk-go-v2 clients for SQS and Lambda, against an
//     in-process SQS endpoint (Queues: a standard queue at its worst, each
//     message delivered up to N times, out of order, redelivered after a
//     visibility timeout when not acknowledged) and an in-process Lambda
//     Invoke endpoint (Functions: the step Lambdas' own handler, counting
//     invocations per attempt);
//   - a journal.Store of the caller's choice (DynamoDB Local in the tests);
//   - several orchestrator "containers" (Stack), each an engine plus the
//     orchestrator handler, polling the queues at once; a crashed one is
//     replaced by a cold one;
//   - Faults: crashes at named points (after an append, before and after a
//     step invoke, between an effect's send and its journaling, before a
//     message is acknowledged) and SDK faults (throttling, 5xx, timeouts,
//     send failures) through a smithy middleware on the clients'
//     APIOptions.
//
// It is test-only wiring: nothing in the Lambdas imports it.
package lambdatest
