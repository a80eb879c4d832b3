// Package colddrive measures what a cold drive of a run costs (a new
// process: an engine with no cached state) against the run's length, with
// and without a snapshot of its folded state, on the SQLite journal and
// on DynamoDB Local. Run it with
//
//	go test -run '^$' -bench ColdDrive -benchtime 5x ./bench/colddrive/
//
// (DynamoDB Local and kumo from the local stack: infra/start.sh, then
// . infra/env.sh; without them only SQLite is measured). docs/BENCHMARKS.md
// records the figures.
package colddrive
