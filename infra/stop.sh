#!/usr/bin/env bash
# stop.sh: stop the DynamoDB Local and kumo processes that start.sh started
# (by their pid files). Processes it did not start are left alone.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for name in kumo dynamodb; do
	f="$ORDO_STACK_DIR/$name.pid"
	if ! pid_alive "$name"; then
		[ -f "$f" ] && log "$name: not running (stale pid file removed)" || log "$name: not started by start.sh"
		rm -f "$f"
		continue
	fi
	pid=$(cat "$f")
	log "$name: stopping pid $pid"
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name: still alive after 10s, sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
done
