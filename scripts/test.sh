#!/usr/bin/env bash
# The README's test command: set-up, type check, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent typecheck
npm run --silent build
npm test
