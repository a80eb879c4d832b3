# lib.sh: shared settings for the local AWS stack scripts (sourced, not run).
#
#   ORDO_STACK_DIR      where binaries, logs and pid files live (<repo>/.local/stack)
#   ORDO_DYNAMODB_PORT  DynamoDB Local port (8000)
#   ORDO_KUMO_PORT      kumo port: SQS, Kinesis, Lambda (4566)
#   ORDO_STACK_TIMEOUT  seconds start.sh waits for both to answer (90)

ORDO_INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ORDO_REPO_DIR=$(cd "$ORDO_INFRA_DIR/.." && pwd)
ORDO_STACK_DIR=${ORDO_STACK_DIR:-$ORDO_REPO_DIR/.local/stack}
ORDO_DYNAMODB_PORT=${ORDO_DYNAMODB_PORT:-8000}
ORDO_KUMO_PORT=${ORDO_KUMO_PORT:-4566}
ORDO_STACK_TIMEOUT=${ORDO_STACK_TIMEOUT:-90}
ORDO_DDB_VERSION=amplify-dynamodb-simulator@2.9.30

log() { printf '[stack] %s\n' "$*" >&2; }

# probe_dynamodb: true when DynamoDB Local answers a ListTables call.
# DynamoDB Local does not verify signatures, only that one is present.
probe_dynamodb() {
	curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$ORDO_DYNAMODB_PORT/" \
		-H 'Content-Type: application/x-amz-json-1.0' \
		-H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' \
		-d '{}' 2>/dev/null
}

# probe_kumo: true when kumo answers its health check.
probe_kumo() {
	curl -fsS -m 2 "http://127.0.0.1:$ORDO_KUMO_PORT/health" 2>/dev/null | grep -q healthy
}

# pid_alive NAME: true when NAME.pid names a live process that start.sh
# started (its command line is checked, so a reused pid does not count).
pid_alive() {
	local f="$ORDO_STACK_DIR/$1.pid" pid want
	[ -f "$f" ] || return 1
	pid=$(cat "$f" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	case $1 in dynamodb) want=DynamoDBLocal.jar ;; kumo) want=bin/kumo ;; esac
	[ -r "/proc/$pid/cmdline" ] || return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$want"
}
