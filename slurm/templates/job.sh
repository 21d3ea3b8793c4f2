#!/bin/bash
# job.sh — the batch script bmc-workflow submits for one stage instance. The engine replaces
# each @NAME@ marker: SBATCH (resources and the profile's flags), SETUP (the profile's setup
# lines), BEGIN (the job records itself as running), LAUNCH (the stage under the launcher,
# every word single-quoted), END (checks the outputs, records the outcome, exits with it).
# The job name, log, working directory and dependencies are given on sbatch's command line.
@SBATCH@
set -euo pipefail
@SETUP@
bmc_end() { @END@ "$1"; }
@BEGIN@
trap 'bmc_end 143; exit 143' TERM
set +e
@LAUNCH@
code=$?
set -e
trap - TERM
bmc_end "$code"
