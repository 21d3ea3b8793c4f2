/* test_error_agree.c — the two error classes under MPI.
 *
 *   test_error_agree agree      every rank learns the lowest failing rank's error
 *   test_error_agree exit K     rank K fails, every rank exits with status 2 (checked by
 *                               check_exit_together.py: status, one message, no hang)
 *   test_error_agree bug        an internal bug aborts all ranks with rank, file and line
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_error.h"
#include "bmc_log.h"
#include "bmc_test.h"

static int run_agree(int rank, int size) {
    /* No failure: every rank sees 0. */
    bmc_err e = {0};
    TEST_CHECK(bmc_err_agree(MPI_COMM_WORLD, &e) == 0, "no rank failed");

    /* The last rank and (when size > 2) rank 1 fail; rank min(1, size-1) must win. */
    bmc_err f = {0};
    if (rank == size - 1) bmc_err_set(&f, "hint from last", "rank %d failed reading x.h5", rank);
    if (size > 2 && rank == 1) bmc_err_set(&f, "hint from 1", "rank %d failed reading y.h5", rank);
    int winner = size > 2 ? 1 : size - 1;
    TEST_CHECK(bmc_err_agree(MPI_COMM_WORLD, &f) == 1, "every rank must see the failure");
    char expect[128];
    snprintf(expect, sizeof expect, "rank %d failed reading %s.h5", winner,
             winner == size - 1 ? "x" : "y");
    TEST_STREQ(f.msg, expect);
    TEST_CHECK(f.origin_rank == winner, "origin %d, expected %d", f.origin_rank, winner);
    TEST_CHECK(f.failed == 1, "failed flag");

    /* First error wins locally; prefix adds context. */
    bmc_err g = {0};
    bmc_err_set(&g, NULL, "first");
    bmc_err_set(&g, NULL, "second");
    bmc_err_prefix(&g, "file.h5");
    TEST_STREQ(g.msg, "file.h5: first");

    /* Agreement on a sub-communicator (even ranks only) does not involve the others. */
    MPI_Comm half;
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
    bmc_err h = {0};
    if (rank == 0) bmc_err_set(&h, NULL, "even failure");
    int r = bmc_err_agree(half, &h);
    TEST_CHECK(r == (rank % 2 == 0), "sub-communicator agreement (rank %d got %d)", rank, r);
    MPI_Comm_free(&half);
    return test_summary_mpi(MPI_COMM_WORLD);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    bmc_log_init("test_error_agree", -1);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "agree";
    int status = 0;
    if (!strcmp(mode, "agree")) {
        status = run_agree(rank, size);
    } else if (!strcmp(mode, "exit")) {
        int k = argc > 2 ? atoi(argv[2]) : 0;
        bmc_err e = {0};
        if (rank == k % size)
            bmc_err_set(&e, "check the file", "rank %d could not open 'missing.h5'", rank);
        bmc_err_exit_if_any(MPI_COMM_WORLD, &e); /* never returns: some rank failed */
        status = 3;                              /* reaching this is a test failure */
    } else if (!strcmp(mode, "bug")) {
        if (rank == size - 1) BMC_CHECK(1 + 1 == 3);
        MPI_Barrier(MPI_COMM_WORLD); /* the other ranks wait here until the abort */
        status = 3;
    }
    MPI_Finalize();
    return status;
}
