/* bmc_fault.h — the fault-injection hook of the kill tests (tests/bad-input/check_faults.py).
 *
 * With BMC_FAULT_KILL_AT=POINT[@RANK][#N] in the environment, the process of MPI rank RANK
 * (default 0) sends itself SIGKILL the N-th time (default 1) it reaches bmc_fault_point(POINT).
 * Unset (every real run), a point costs one getenv on its first use and nothing after.
 * Points (common/ only): read (after a dataset transfer from an input), create (a .partial
 * file created), write (after a transfer into an output), close (before the collective
 * close of an output), rename (rank 0: the .partial closed and synced, before its rename),
 * renamed (rank 0: after the rename), swap (rank 0: before a partial folder is swapped in).
 * Not here: timed kills, which the test driver does itself.
 */
#ifndef BMC_FAULT_H
#define BMC_FAULT_H

/* Local: SIGKILL this process when BMC_FAULT_KILL_AT names `point`, this rank and this
 * occurrence (see above); otherwise return. */
void bmc_fault_point(const char *point);

#endif
