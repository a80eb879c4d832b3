#!/usr/bin/env bash
# Runs the soak (functions/internal/soak) at full size: SOAK_RUNS order runs
# (default 1000) on the embedded runtime and on the Lambdas' wiring with
# DynamoDB Local, with random faults and every message delivered 1-3 times,
# out of order. Starts the local AWS stack if it is not up, and prints each
# runtime's counts (the "soak ..." lines). ORDO_SOAK_SEED repeats a soak.
set -euo pipefail
cd "$(dirname "$0")/.."

infra/install.sh
started=0
if ! infra/status.sh >/dev/null 2>&1; then
  infra/start.sh
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then infra/stop.sh || true; fi; }
trap cleanup EXIT

# shellcheck source=/dev/null
. infra/env.sh
export ORDO_REQUIRE_STACK=1 ORDO_SOAK_RUNS="${SOAK_RUNS:-1000}"
go test -count=1 -timeout 40m -run 'TestSoak' -v ./functions/internal/soak/ | grep -E '^(soak |---|ok|FAIL|PASS)|seed|restarts|queues:|_test.go'
