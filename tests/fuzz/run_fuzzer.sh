#!/usr/bin/env bash
# run_fuzzer.sh — how ctest runs the fuzz targets (tests/fuzz/README.md for longer runs).
#   run_fuzzer.sh short EXE RUNS SEED_DIR   fuzz RUNS executions from the seed corpus; inputs
#                                           libFuzzer adds go to a scratch folder (removed),
#                                           never into the source tree
#   run_fuzzer.sh replay EXE DIR            run every committed regression input of DIR once
# Exits non-zero on any crash, leak, sanitizer report or timeout libFuzzer reports.
set -euo pipefail
mode=$1 exe=$2
common=(-rss_limit_mb=2048 -timeout=20 -print_final_stats=1)
case $mode in
  short)
    runs=$3 seeds=$4
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-corpus.XXXXXX")
    trap 'rm -rf "$scratch"' EXIT
    # Crash artifacts land in the scratch folder too; libFuzzer prints the input's bytes.
    "$exe" "${common[@]}" -runs="$runs" -seed=1 -artifact_prefix="$scratch/" "$scratch" "$seeds"
    ;;
  replay)
    dir=$3
    shopt -s nullglob
    inputs=("$dir"/*)
    if [ ${#inputs[@]} -eq 0 ]; then
      echo "run_fuzzer.sh: no regression inputs in $dir" >&2
      exit 1
    fi
    "$exe" "${common[@]}" "${inputs[@]}"
    ;;
  *) echo "usage: run_fuzzer.sh short EXE RUNS SEED_DIR | replay EXE DIR" >&2; exit 2 ;;
esac
