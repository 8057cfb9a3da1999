#!/usr/bin/env bash
# Runs the whole test suite (unit, integration, fuzz, then the VM test) with tap; exit code is tap's.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
files=(dist/test/unit/*.test.js dist/test/integration/*.test.js dist/test/fuzz/*.test.js dist/test/vm/*.test.js)
exec npx tap --jobs="${WAYVIO_TEST_JOBS:-2}" "${files[@]}" "$@"
