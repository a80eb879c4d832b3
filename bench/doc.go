// Package bench measures ordo: the embedded runtime on a durable SQLite
// journal, the same workflow shape through the engine against the local AWS
// stack (DynamoDB Local + kumo, steps as real Lambda binaries), the API calls
// and list-price cost of a step transition, and how throughput and the
// decider scale. Every figure is paired with a baseline measured in the same
// process on the same machine (raw durable SQLite appends; raw conditional
// PutItem + Invoke), because a shared 2-core machine gives absolute numbers
// that mean little on their own.
//
// The command bench/cmd/ordo-bench prints the table; `make bench` runs it with
// the Go benchmarks. docs/BENCHMARKS.md records results and the commands
// that produced them.
package bench
