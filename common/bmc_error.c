/* bmc_error.c — internal-bug aborts and agreed user errors (see bmc_error.h).
 *
 * Agreement is one MPI_Allreduce (MIN over "rank if failed, else size") followed by a
 * broadcast of the failing rank's message, so every rank ends up with the same bmc_err and
 * takes the same branch. Not here: logging format (bmc_log.c).
 */
#include "bmc_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mpi_running(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

int bmc_err_setv(bmc_err *e, const char *hint, const char *fmt, va_list ap) {
    if (e->failed) return -1;
    e->failed = 1;
    e->origin_rank = 0;
    if (mpi_running()) MPI_Comm_rank(MPI_COMM_WORLD, &e->origin_rank);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    snprintf(e->hint, sizeof e->hint, "%s", hint ? hint : "");
    return -1;
}

int bmc_err_set(bmc_err *e, const char *hint, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bmc_err_setv(e, hint, fmt, ap);
    va_end(ap);
    return -1;
}

void bmc_err_prefix(bmc_err *e, const char *fmt, ...) {
    if (!e->failed) return;
    char joined[2 * BMC_ERR_MSG_MAX + 2];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(joined, BMC_ERR_MSG_MAX, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : strlen(joined);
    memcpy(joined + len, ": ", 2);
    memcpy(joined + len + 2, e->msg, sizeof e->msg);
    joined[sizeof joined - 1] = '\0';
    memcpy(e->msg, joined, sizeof e->msg - 1);
    e->msg[sizeof e->msg - 1] = '\0';
}

int bmc_err_agree(MPI_Comm comm, bmc_err *e) {
    if (!mpi_running() || comm == MPI_COMM_NULL) return e->failed;
    int rank, size;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    BMC_MPI(MPI_Comm_size(comm, &size));
    int mine = e->failed ? rank : size, lowest = size;
    BMC_MPI(MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, comm));
    if (lowest == size) return 0;
    /* Everyone adopts the lowest failing rank's error (message, hint and origin). */
    BMC_MPI(MPI_Bcast(e, (int)sizeof *e, MPI_BYTE, lowest, comm));
    e->failed = 1;
    return 1;
}

void bmc_err_print(MPI_Comm comm, const bmc_err *e) {
    int rank = 0;
    if (mpi_running() && comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
    if (rank != 0) return;
    fprintf(stderr, "error: %s\n", e->msg);
    if (e->hint[0]) fprintf(stderr, "  hint: %s\n", e->hint);
    fflush(stderr);
}

void bmc_finish(int status) {
    fflush(stdout);
    fflush(stderr);
    if (mpi_running()) MPI_Finalize();
    exit(status);
}

void bmc_err_exit_if_any(MPI_Comm comm, bmc_err *e) {
    if (!bmc_err_agree(comm, e)) return;
    bmc_err_print(comm, e);
    bmc_finish(BMC_EXIT_USER_ERROR);
}

void bmc_bug(const char *file, int line, const char *fmt, ...) {
    int rank = 0;
    if (mpi_running()) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char msg[BMC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[rank %d] internal error at %s:%d: %s\n"
                    "  hint: this is a bug in brainmclip; please report it with this message\n",
            rank, file, line, msg);
    fflush(stderr);
    if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, 70);
    abort();
}
