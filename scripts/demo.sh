#!/usr/bin/env bash
# demo.sh — README command 1: install what is missing, build (release preset) and run
# workflows/demo.yaml through bmc-workflow. Idempotent: a second run rebuilds nothing and
# skips every stage that is up to date. Extra arguments go to `bmc-workflow run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
. scripts/env.sh
cmake --preset release >/dev/null
cmake --build --preset release
start_ms=$(($(date +%s%N) / 1000000))
build/release/bmc-workflow run workflows/demo.yaml "$@"
ms=$(($(date +%s%N) / 1000000 - start_ms))
printf 'demo: finished in %d.%03d s; results in results/demo/ (open results/demo/summary.md or results/demo/index.html)\n' $((ms / 1000)) $((ms % 1000))
