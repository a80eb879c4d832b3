#!/usr/bin/env bash
# Measures the statement coverage that tests generated from recorded runs
# give the OMS step code, with no hand-written test: `ordo demo --mix`
# records a day's mixed traffic on a fresh journal, `ordo gen-test
# --distinct` turns one run of each path into golden journals and a Go test,
# and `go test -cover` runs it against the step packages.
#   RUNS   runs the demo places (default 300)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-300}
STEPS=./workflows/order,./workflows/refund,./workflows/return,./workflows/internal/oms

work=$(mktemp -d)
out=_verify-coverage # inside the module, out of ./... (leading _)
cleanup() { rm -rf "$work" "$out"; }
trap cleanup EXIT

go build -o "$work/ordo" ./cmd/ordo
"$work/ordo" demo --mix --keep --db "$work/demo.db" --orders "$RUNS"
"$work/ordo" gen-test --db "$work/demo.db" --workflow order,refund,return --limit "$RUNS" --distinct --open-sealed --out "$out/regress"
go test -count=1 -coverprofile="$work/cover.out" -coverpkg="$STEPS" "./$out/regress/"
go tool cover -func="$work/cover.out" | tail -1
