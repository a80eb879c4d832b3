#!/usr/bin/env bash
# status.sh: report whether DynamoDB Local and kumo answer, and whether
# start.sh started them. Exits 0 only when both answer.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rc=0
report() {
	local name=$1 port=$2 probe=$3 state owner
	if $probe; then state=up; else state=down; rc=1; fi
	if pid_alive "$name"; then owner="started by start.sh, pid $(cat "$ORDO_STACK_DIR/$name.pid")"
	elif [ $state = up ]; then owner="not started by start.sh"
	else owner="not running"; fi
	printf '%-9s %-5s http://127.0.0.1:%s  (%s)\n' "$name" "$state" "$port" "$owner"
}
report dynamodb "$ORDO_DYNAMODB_PORT" probe_dynamodb
report kumo "$ORDO_KUMO_PORT" probe_kumo
exit $rc
