#!/usr/bin/env bash
# start.sh: start DynamoDB Local and kumo in the background (idempotent).
#
# A port that already answers is left alone (and not claimed: stop.sh will
# not stop it). Logs and pid files go to $ORDO_STACK_DIR. Waits, polling,
# until both answer or $ORDO_STACK_TIMEOUT seconds pass. Run install.sh first.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# launch NAME DIR CMD...: start CMD in DIR, detached, logging to NAME.log.
launch() {
	local name=$1 dir=$2; shift 2
	log "$name: starting: $*"
	(cd "$dir" && exec setsid "$@" </dev/null >>"$ORDO_STACK_DIR/$name.log" 2>&1) &
	echo $! >"$ORDO_STACK_DIR/$name.pid"
}

# wait_for NAME PROBE: poll PROBE until it succeeds, the process dies, or the deadline.
wait_for() {
	local name=$1 probe=$2 deadline=$((SECONDS + ORDO_STACK_TIMEOUT))
	until $probe; do
		if [ -f "$ORDO_STACK_DIR/$name.pid" ] && ! pid_alive "$name"; then
			log "$name: exited before answering; last log lines:"
			tail -n 20 "$ORDO_STACK_DIR/$name.log" >&2 || true
			rm -f "$ORDO_STACK_DIR/$name.pid"
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			log "$name: not answering after ${ORDO_STACK_TIMEOUT}s; see $ORDO_STACK_DIR/$name.log"
			return 1
		fi
		sleep 0.1
	done
}

[ -f "$ORDO_STACK_DIR/dynamodb/DynamoDBLocal.jar" ] && [ -x "$ORDO_STACK_DIR/bin/kumo" ] ||
	{ log "not installed in $ORDO_STACK_DIR: run infra/install.sh"; exit 1; }

t0=${EPOCHREALTIME/./}
if probe_dynamodb; then
	pid_alive dynamodb || rm -f "$ORDO_STACK_DIR/dynamodb.pid"
	log "dynamodb: already answering on 127.0.0.1:$ORDO_DYNAMODB_PORT, leaving it alone"
else
	# DynamoDB Local has no bind-address option: it listens on every interface.
	launch dynamodb "$ORDO_STACK_DIR/dynamodb" java -Xmx512m -Djava.library.path=DynamoDBLocal_lib \
		-jar DynamoDBLocal.jar -inMemory -sharedDb -disableTelemetry -port "$ORDO_DYNAMODB_PORT"
fi
if probe_kumo; then
	pid_alive kumo || rm -f "$ORDO_STACK_DIR/kumo.pid"
	log "kumo: already answering on 127.0.0.1:$ORDO_KUMO_PORT, leaving it alone"
else
	launch kumo "$ORDO_STACK_DIR" "$ORDO_STACK_DIR/bin/kumo" -addr "127.0.0.1:$ORDO_KUMO_PORT"
fi

ok=0
wait_for kumo probe_kumo || ok=1
wait_for dynamodb probe_dynamodb || ok=1
[ $ok -eq 0 ] || exit 1
ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
log "up in ${ms}ms: dynamodb 127.0.0.1:$ORDO_DYNAMODB_PORT, kumo 127.0.0.1:$ORDO_KUMO_PORT (. infra/env.sh to use them)"
