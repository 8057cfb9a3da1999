#!/usr/bin/env bash
# Runs the whole test suite (unit, then integration) with tap; exit code is tap's.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
files=(dist/test/unit/*.test.js dist/test/integration/*.test.js)
exec npx tap --jobs="${WAYVIO_TEST_JOBS:-2}" "${files[@]}" "$@"
