/* average.c — repeats of each image averaged on the owner of its output row (average.h).
 *
 * Each rank knows which plan trials every other rank holds (sessions in row blocks) and
 * which rows every rank owns, so send and receive layouts are computed locally and only the
 * z-scores travel. Because sessions are assigned to ranks in ascending blocks, the received
 * trials of a row arrive in ascending trial order from the lowest rank up: the sum
 * ((0 + z₁) + z₂) + … is the same on any number of ranks.
 * Not here: the statistics (ingest.c), the file (output.c).
 */
#include <stdlib.h>
#include <string.h>

#include "average.h"
#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_log.h"

/* Bytes of each exchange buffer (send, receive, sum) per rank when block_voxels is 0. Small
 * buffers reused over many blocks: first-touch page faults of big fresh buffers cost more
 * than the extra Alltoallv calls (measured: 256 MiB buffers were 2-3x slower). */
#define EXCHANGE_BYTES ((size_t)32 << 20)

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted unique ids of the trials with shared == want, into out (returns the count). */
static long unique_ids(const fmri_plan *plan, int want, int64_t *out) {
    long n = 0;
    for (long k = 0; k < plan->n_trials; k++)
        if (plan->shared[k] == want) out[n++] = plan->image[k];
    qsort(out, (size_t)n, sizeof *out, cmp_i64);
    long u = 0;
    for (long k = 0; k < n; k++)
        if (u == 0 || out[k] != out[u - 1]) out[u++] = out[k];
    return u;
}

static long find_id(const int64_t *ids, long n, int64_t id) {
    const int64_t *hit = bsearch(&id, ids, (size_t)n, sizeof *ids, cmp_i64);
    BMC_CHECK(hit != NULL);
    return hit - ids;
}

void fmri_rows_build(const fmri_plan *plan, const fmri_ingest *in, int size, int rank,
                     fmri_rows *rows) {
    memset(rows, 0, sizeof *rows);
    long K = plan->n_trials;
    int64_t *train = XNEW(train, K), *test = XNEW(test, K);
    rows->n_train = unique_ids(plan, 0, train);
    rows->n_test = unique_ids(plan, 1, test);
    rows->n_rows = rows->n_train + rows->n_test;
    rows->ids = XNEW(rows->ids, rows->n_rows);
    memcpy(rows->ids, train, (size_t)rows->n_train * sizeof *train);
    memcpy(rows->ids + rows->n_train, test, (size_t)rows->n_test * sizeof *test);
    rows->n_repeats = xcalloc((size_t)rows->n_rows, sizeof *rows->n_repeats);
    rows->row_of_trial = XNEW(rows->row_of_trial, K);
    for (long k = 0; k < K; k++) {
        long r = plan->shared[k] ? rows->n_train + find_id(test, rows->n_test, plan->image[k])
                                 : find_id(train, rows->n_train, plan->image[k]);
        rows->row_of_trial[k] = r;
        rows->n_repeats[r]++;
    }
    free(train);
    free(test);
    bmc_rowblock(rows->n_rows, size, rank, &rows->r0, &rows->nr);
    rows->valid = XNEW(rows->valid, in->n_vox);
    for (long c = 0; c < in->n_vox; c++)
        if (!in->invalid[c]) rows->valid[rows->n_valid++] = c;
}

/* Exchange layout, in trials: who sends what to whom. A rank's trials for its own rows do
 * not travel: their z-scores are computed where the sum needs them. */
typedef struct layout {
    int *send_trials, *recv_trials;  /* [size] trial counts per peer (0 for self)       */
    long n_send;                     /* trials sent to other ranks                      */
    long *send_slot;                 /* [n_local] slot in the send buffer, -1 for self  */
    long n_recv, n_recv_other;       /* trials summed here, of which from other ranks   */
    long *recv_trial;                /* [n_recv] plan trial of each, ascending          */
    long *recv_slot;                 /* [n_recv] slot in the receive buffer, -1 for self */
    int *counts[2], *displs[2];      /* element counts of one block (send, recv)        */
} layout;

static void make_layout(const fmri_plan *plan, const fmri_ingest *in, const fmri_rows *rows,
                        int size, int rank, layout *L) {
    long B = bmc_rowblock_size(rows->n_rows, size), T = in->T;
    L->send_trials = xcalloc((size_t)size, sizeof(int));
    L->recv_trials = xcalloc((size_t)size, sizeof(int));
    for (int k = 0; k < 2; k++) {
        L->counts[k] = XNEW(L->counts[k], size);
        L->displs[k] = XNEW(L->displs[k], size);
    }
    for (long i = 0; i < in->n_local; i++) {
        long d = rows->row_of_trial[in->k0 + i] / B;
        if (d != rank) L->send_trials[d]++;
    }
    long *next = xcalloc((size_t)size, sizeof *next);
    for (int d = 1; d < size; d++) next[d] = next[d - 1] + L->send_trials[d - 1];
    L->send_slot = XNEW(L->send_slot, in->n_local ? in->n_local : 1);
    for (long i = 0; i < in->n_local; i++) {
        long d = rows->row_of_trial[in->k0 + i] / B;
        L->send_slot[i] = d == rank ? -1 : next[d]++;
        L->n_send += d != rank;
    }
    free(next);
    /* What every source sends here, in its (ascending) trial order, lowest rank first. */
    L->recv_trial = XNEW(L->recv_trial, plan->n_trials);
    L->recv_slot = XNEW(L->recv_slot, plan->n_trials);
    for (int src = 0; src < size; src++) {
        long s0, ns;
        bmc_rowblock(plan->n_sessions, size, src, &s0, &ns);
        for (long k = s0 * T; k < (s0 + ns) * T; k++) {
            if (rows->row_of_trial[k] / B != rank) continue;
            L->recv_trial[L->n_recv] = k;
            L->recv_slot[L->n_recv++] = src == rank ? -1 : L->n_recv_other++;
            if (src != rank) L->recv_trials[src]++;
        }
    }
}

/* Element counts and displacements of a block `w` columns wide. */
static void set_counts(layout *L, int size, long w) {
    for (int k = 0; k < 2; k++) {
        const int *trials = k ? L->recv_trials : L->send_trials;
        long off = 0;
        for (int d = 0; d < size; d++) {
            L->counts[k][d] = (int)(trials[d] * w);
            L->displs[k][d] = (int)off;
            off += trials[d] * w;
        }
    }
}

static void free_layout(layout *L) {
    free(L->send_trials);
    free(L->recv_trials);
    free(L->send_slot);
    free(L->recv_trial);
    free(L->recv_slot);
    for (int k = 0; k < 2; k++) {
        free(L->counts[k]);
        free(L->displs[k]);
    }
}

void fmri_rows_average(const fmri_plan *plan, fmri_ingest *in, long block_voxels,
                       MPI_Comm comm, fmri_rows *rows) {
    int rank, size;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    BMC_MPI(MPI_Comm_size(comm, &size));
    fmri_ingest_compact(in, rows->valid, rows->n_valid);
    layout L;
    memset(&L, 0, sizeof L);
    make_layout(plan, in, rows, size, rank, &L);

    /* Columns per block: every rank must agree (same number of collective calls). The
     * widest buffer holds this many rows of a block: sent, received or summed. */
    long most[3] = {L.n_send, L.n_recv_other, rows->nr};
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, most, 3, MPI_LONG, MPI_MAX, comm));
    long widest = most[0] > most[1] ? most[0] : most[1];
    if (most[2] > widest) widest = most[2];
    long cb = block_voxels;
    if (cb <= 0) cb = (long)(EXCHANGE_BYTES / sizeof(double)) / (widest > 0 ? widest : 1);
    long int_cap = 2147483647L / (widest > 0 ? widest : 1); /* MPI counts are int */
    if (cb > int_cap) cb = int_cap;
    if (cb > rows->n_valid) cb = rows->n_valid;
    if (cb < 1) cb = 1;
    long n_blocks = (rows->n_valid + cb - 1) / cb;
    bmc_log_info("averaging %ld train + %ld test images over repeats: %ld voxels in %ld "
                 "block%s of %ld",
                 rows->n_train, rows->n_test, rows->n_valid, n_blocks, n_blocks == 1 ? "" : "s",
                 cb);

    double *sendbuf = XNEW(sendbuf, (size_t)(L.n_send ? L.n_send : 1) * (size_t)cb);
    double *recvbuf = XNEW(recvbuf, (size_t)(L.n_recv_other ? L.n_recv_other : 1) * (size_t)cb);
    double *sum = XNEW(sum, (size_t)(rows->nr ? rows->nr : 1) * (size_t)cb);
    double *own = XNEW(own, (size_t)cb);
    rows->avg = XNEW(rows->avg, (size_t)(rows->nr ? rows->nr : 1) * (size_t)rows->n_valid);
    for (long blk = 0; blk < n_blocks; blk++) {
        long c0 = blk * cb, w = rows->n_valid - c0 < cb ? rows->n_valid - c0 : cb;
        set_counts(&L, size, w);
        for (long i = 0; i < in->n_local; i++)
            if (L.send_slot[i] >= 0)
                fmri_zscore_row(in, i, c0, w, sendbuf + (size_t)L.send_slot[i] * (size_t)w);
        BMC_MPI(MPI_Alltoallv(sendbuf, L.counts[0], L.displs[0], MPI_DOUBLE, recvbuf,
                              L.counts[1], L.displs[1], MPI_DOUBLE, comm));
        memset(sum, 0, (size_t)(rows->nr ? rows->nr : 1) * (size_t)w * sizeof *sum);
        for (long s = 0; s < L.n_recv; s++) {
            long k = L.recv_trial[s];
            double *acc = sum + (size_t)(rows->row_of_trial[k] - rows->r0) * (size_t)w;
            const double *z = own;
            if (L.recv_slot[s] >= 0) z = recvbuf + (size_t)L.recv_slot[s] * (size_t)w;
            else fmri_zscore_row(in, k - in->k0, c0, w, own);
            for (long j = 0; j < w; j++) acc[j] += z[j];
        }
        for (long r = 0; r < rows->nr; r++) {
            double n = rows->n_repeats[rows->r0 + r];
            const double *src = sum + (size_t)r * (size_t)w;
            float *out = rows->avg + (size_t)r * (size_t)rows->n_valid + (size_t)c0;
            for (long j = 0; j < w; j++) out[j] = (float)(src[j] / n);
        }
    }
    free(sendbuf);
    free(recvbuf);
    free(sum);
    free(own);
    free_layout(&L);
}

void fmri_rows_free(fmri_rows *rows) {
    free(rows->ids);
    free(rows->n_repeats);
    free(rows->row_of_trial);
    free(rows->valid);
    free(rows->avg);
    memset(rows, 0, sizeof *rows);
}
