/* bmc_test.h — the tiny check harness of the C tests.
 *
 * TEST_CHECK counts and reports; a test program ends with `return test_summary();`, which
 * prints the plain closing line "N passed, N failed" and returns non-zero on any failure.
 * TEST_NEAR / test_rel_err judge numerical parity by normalised error.
 * Under MPI, each rank counts its own checks; test_summary_mpi sums over ranks.
 */
#ifndef BMC_TEST_H
#define BMC_TEST_H

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

/* The vendored CLIP golden set (tests/data/clip-tiny; BMC_TESTDATA_DIR comes from the build). */
#ifdef BMC_TESTDATA_DIR
#define BMC_CLIP_TINY_DIR BMC_TESTDATA_DIR "/clip-tiny"
#endif

static int test_passed_, test_failed_;

#define TEST_CHECK(cond, ...)                                                              \
    do {                                                                                   \
        if (cond) {                                                                        \
            test_passed_++;                                                                \
        } else {                                                                           \
            test_failed_++;                                                                \
            fprintf(stderr, "FAILED %s:%d: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

#define TEST_NEAR(a, b, tol)                                                               \
    TEST_CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%.17g vs %.17g (tol %g)",        \
               (double)(a), (double)(b), (double)(tol))

static inline int test_streq_(const char *a, const char *b) {
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}
static inline const char *test_str_(const char *s) { return s ? s : "(null)"; }

#define TEST_STREQ(a, b)                                                                   \
    TEST_CHECK(test_streq_((a), (b)), "'%s' vs '%s'", test_str_(a), test_str_(b))

/* max |a-b| / max(max |b|, tiny) */
static inline double test_rel_err(const double *a, const double *b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > num) num = d;
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / (den > 1e-300 ? den : 1e-300);
}

static inline int test_summary(void) {
    printf("%d passed, %d failed\n", test_passed_, test_failed_);
    fflush(stdout);
    return test_failed_ ? 1 : 0;
}

/* Collective: sums the counts over comm; rank 0 prints the line; all ranks return the
 * same status. */
static inline int test_summary_mpi(MPI_Comm comm) {
    int local[2] = {test_passed_, test_failed_}, total[2];
    int rank;
    MPI_Comm_rank(comm, &rank);
    MPI_Allreduce(local, total, 2, MPI_INT, MPI_SUM, comm);
    if (rank == 0) {
        printf("%d passed, %d failed\n", total[0], total[1]);
        fflush(stdout);
    }
    return total[1] ? 1 : 0;
}

#endif
