#!/usr/bin/env bash
# smoke.sh: run the smoke checks (infra/tools/smoke) against the running stack.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$ORDO_INFRA_DIR/env.sh"
exec "$ORDO_STACK_DIR/bin/smoke"
