#!/usr/bin/env bash
# Local dev loop: setup, then `dbferry dev` (dev Temporal server + worker + API) with the dev config.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export DBFERRY_CONFIG="${DBFERRY_CONFIG:-examples/dbferry.dev.json}"
exec npx tsx src/cli/main.ts dev "$@"
