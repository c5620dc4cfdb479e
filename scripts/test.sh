#!/usr/bin/env bash
# Full check: make sure tools and services exist, then typecheck + lint + vitest (npm test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
npm test
