#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the Catch2 unit
# tests of core/, the CLI tests in tests/cli (bats, through real pipes) and
# the soak tests (crash loops, concurrent processes).
set -euo pipefail
. "$(dirname "$0")/../.ci/setup.sh"
ctest --test-dir "$EVT_BUILD" --output-on-failure --timeout 900 "$@"
