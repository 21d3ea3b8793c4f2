#!/usr/bin/env bash
# test.sh — README command 2: install what is missing, then build and run the test suite
# twice: the ci preset (-Werror, every tier) and the asan preset (AddressSanitizer +
# UndefinedBehaviorSanitizer, Open MPI's own leaks suppressed by tests/mpi-lsan.supp; every
# test but the four labelled `pipeline`, multi-stage runs that take over 15 minutes under the
# sanitizers on 2 cores; every stage binary they run is sanitized in the other tests).
# When clang is installed (scripts/install-deps.sh fuzz) the fuzz preset runs too: each
# libFuzzer target of tests/fuzz for 2000 executions and its regression inputs (~1 minute).
# Exits non-zero when any test fails. BMC_TEST_PRESETS="ci" runs a subset of presets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
. scripts/env.sh
status=0
default_presets="ci asan"
command -v clang >/dev/null && default_presets="$default_presets fuzz"
for preset in ${BMC_TEST_PRESETS:-$default_presets}; do
  echo "== test.sh: preset $preset =="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  ctest --preset "$preset" || status=1
done
exit $status
