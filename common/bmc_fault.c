/* bmc_fault.c — BMC_FAULT_KILL_AT=POINT[@RANK][#N]: SIGKILL at a named point (bmc_fault.h).
 * Parsing is lenient on purpose: this is a test hook, a malformed value never fires.
 */
#include "bmc_fault.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parsed;            /* 1 once the variable was read                         */
static char want_point[64];   /* "" = no fault injection                              */
static int want_rank;         /* rank that dies                                       */
static long want_count = 1;   /* occurrence that kills                                */
static long seen;             /* occurrences of want_point so far on this rank        */

static void parse(void) {
    parsed = 1;
    const char *v = getenv("BMC_FAULT_KILL_AT");
    if (!v || !v[0]) return;
    size_t n = strcspn(v, "@#");
    if (n == 0 || n >= sizeof want_point) return;
    memcpy(want_point, v, n);
    want_point[n] = '\0';
    const char *at = strchr(v, '@'), *hash = strchr(v, '#');
    if (at) want_rank = atoi(at + 1);
    if (hash) want_count = atol(hash + 1);
}

void bmc_fault_point(const char *point) {
    if (!parsed) parse();
    if (!want_point[0] || strcmp(point, want_point) != 0) return;
    int init = 0, rank = 0;
    MPI_Initialized(&init);
    if (init) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != want_rank || ++seen != want_count) return;
    fprintf(stderr, "bmc_fault: rank %d killed at '%s' #%ld (BMC_FAULT_KILL_AT)\n", rank, point,
            seen);
    fflush(stderr);
    raise(SIGKILL);
}
