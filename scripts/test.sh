#!/usr/bin/env bash
# Runs every test: installs and starts the local AWS stack (DynamoDB Local +
# kumo) if it is not already up, runs the Go tests with the stack's
# endpoints, and stops whatever it started.
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
export ORDO_REQUIRE_STACK=1 # tests that need the stack fail instead of skipping
export ORDO_REQUIRE_BROWSER=1 # so do the UI tests without a Chromium

go vet ./...
go test -count=1 -timeout 25m ./...
# The engine and journals again under the race detector, and the decider's
# property tests with more random workflows than the default run.
go test -race -count=1 -timeout 15m ./orchestrator/... ./journal/memjournal/ ./journal/sqlitejournal/ ./api/ ./functions/internal/
go test -count=1 -run Properties ./orchestrator/ -args -rapid.checks=2000
(cd infra/tools && go test -count=1 ./...)
# Every fuzz target briefly (make fuzz for long runs).
FUZZTIME=3s scripts/fuzz.sh
