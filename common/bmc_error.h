/* bmc_error.h — the two error classes every brainmclip program uses.
 *
 * 1. Internal bugs (a broken invariant): BMC_CHECK / bmc_bug() print rank, file, line and
 *    call MPI_Abort (plain abort() when MPI is not running). They stay on in release builds.
 * 2. User/input errors (bad file, bad key, bad shape): recorded in a bmc_err with a message
 *    that names the file/dataset/key and a hint; bmc_err_agree() makes every rank of a
 *    communicator learn that some rank failed (allreduce), so all exit non-zero together.
 * Not here: logging (bmc_log.h), allocation (bmc_alloc.h).
 */
#ifndef BMC_ERROR_H
#define BMC_ERROR_H

#include <mpi.h>
#include <stdarg.h>

#include "bmc_attr.h"

#define BMC_ERR_MSG_MAX 1024
#define BMC_ERR_HINT_MAX 512

/* Exit status of a program that stops on a user/input error (internal bugs abort). */
#define BMC_EXIT_USER_ERROR 2

/* A user/input error. Zero-initialise (`bmc_err e = {0};`); the first error recorded wins. */
typedef struct bmc_err {
    int failed;                  /* 0 = no error recorded on this rank                      */
    int origin_rank;             /* rank that recorded it (after agree: lowest failing rank) */
    char msg[BMC_ERR_MSG_MAX];   /* "file.h5:/betas: shape (750,81,104,83) does not ..."    */
    char hint[BMC_ERR_HINT_MAX]; /* "check that ..." ("" when none)                         */
} bmc_err;


/* Record an error on this rank unless one is recorded already (the first wins).
 * hint may be NULL. Returns -1 so callers can write `return bmc_err_set(...)`. Local. */
int bmc_err_set(bmc_err *e, const char *hint, const char *fmt, ...) BMC_PRINTF(3, 4);
int bmc_err_setv(bmc_err *e, const char *hint, const char *fmt, va_list ap);

/* Prefix the recorded message with "prefix: " (for context such as a file name). Local. */
void bmc_err_prefix(bmc_err *e, const char *fmt, ...) BMC_PRINTF(2, 3);

/* Collective over comm: returns 1 on every rank if any rank has failed, else 0. The message
 * of the lowest failing rank is broadcast so every rank holds the same bmc_err afterwards.
 * When MPI is not initialised, or comm is MPI_COMM_NULL, it only looks at the local error. */
int bmc_err_agree(MPI_Comm comm, bmc_err *e);

/* Print "error: <msg>" and "  hint: <hint>" to stderr (rank 0 of comm only, or the calling
 * process when MPI is not running). Local output, no communication. */
void bmc_err_print(MPI_Comm comm, const bmc_err *e);

/* Collective: agree; if any rank failed, rank 0 prints the error, every rank finalizes MPI
 * and exits with BMC_EXIT_USER_ERROR. Returns only when no rank failed. */
void bmc_err_exit_if_any(MPI_Comm comm, bmc_err *e);

/* Finish a program: finalize MPI when it is running and exit with status. The one sanctioned
 * way for a stage's main() to end early (help, version, agreed errors). */
BMC_NORETURN void bmc_finish(int status);

/* Internal bug: print "[rank r] internal error at file:line: msg" and abort every rank. */
BMC_NORETURN void bmc_bug(const char *file, int line, const char *fmt, ...) BMC_PRINTF(3, 4);

#define BMC_BUG(...) bmc_bug(__FILE__, __LINE__, __VA_ARGS__)
/* Invariant check that stays on in release builds. */
#define BMC_CHECK(cond)                                                                    \
    do {                                                                                   \
        if (!(cond)) bmc_bug(__FILE__, __LINE__, "check failed: %s", #cond);               \
    } while (0)
/* MPI call that must not fail (MPI errors are fatal by default; this documents intent). */
#define BMC_MPI(call)                                                                      \
    do {                                                                                   \
        int bmc_mpi_rc_ = (call);                                                          \
        if (bmc_mpi_rc_ != MPI_SUCCESS) bmc_bug(__FILE__, __LINE__, "%s failed", #call);   \
    } while (0)

#endif
