/* ingest.c — read, mask and z-score statistics of each rank's betas (see ingest.h).
 *
 * A session is read in blocks of trials restricted to the planes z0..z1 that hold union
 * voxels (one contiguous range per trial in NSD's C-ordered files), at most READ_BYTES per
 * block, and the union voxels are gathered out of each block. Statistics come from exact
 * integer sums of the raw values (Σx and Σx² in int64), reduced with MPI_SUM over integers,
 * so they are exact and independent of the rank count; only the final mean and standard
 * deviation are rounded. Not here: the plan (plan.c), averaging repeats (average.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "ingest.h"
#include "nsd.h"

/* Upper bound of the read buffer of one block of trials. */
#define READ_BYTES ((size_t)64 << 20)

/* Read plan session si (local index li) into in->raw; flag voxels that are 0 in every trial. */
static int read_session(const fmri_params *p, const fmri_plan *plan, long si, long li,
                        fmri_ingest *in, uint8_t *nonzero, int16_t **buf, size_t *buf_cap,
                        bmc_err *err) {
    long T = in->T, P = in->n_vox, X = plan->grid[0], Y = plan->grid[1];
    long plane = X * Y, z0 = plan->vox[0] / plane, z1 = plan->vox[P - 1] / plane;
    long slab = (z1 - z0 + 1) * plane;
    long tb = (long)(READ_BYTES / sizeof(int16_t) / (size_t)slab);
    if (tb < 1) tb = 1;
    if (tb > T) tb = T;
    size_t need = (size_t)tb * (size_t)slab;
    if (need > *buf_cap) {
        free(*buf);
        *buf = XNEW(*buf, need);
        *buf_cap = need;
    }
    char *path = fmri_plan_betas_path(p, plan, si);
    double t_start = bmc_now();
    nsd_betas b;
    int rc = nsd_betas_open(path, &b, err);
    if (!rc) rc = nsd_betas_check_grid(&b, plan->grid, "the ROI files", err);
    if (!rc && b.dims[0] != T)
        rc = bmc_err_set(err, "the file changed while the stage ran", "%s:/betas has %ld trials, "
                         "expected %ld", path, b.dims[0], T);
    memset(nonzero, 0, (size_t)P);
    for (long t0 = 0; t0 < T && !rc; t0 += tb) {
        long nt = T - t0 < tb ? T - t0 : tb;
        rc = nsd_betas_read(&b, t0, nt, z0, z1 - z0 + 1, *buf, err);
        for (long t = 0; t < nt && !rc; t++) {
            const int16_t *src = *buf + (size_t)t * (size_t)slab;
            int16_t *row = in->raw + ((size_t)(li * T + t0 + t)) * (size_t)P;
            for (long j = 0; j < P; j++) {
                row[j] = src[plan->vox[j] - z0 * plane];
                nonzero[j] = (uint8_t)(nonzero[j] | (row[j] != 0));
            }
        }
    }
    if (b.fid >= 0) nsd_betas_close(&b);
    double secs = bmc_now() - t_start, mb = (double)T * (double)slab * 2.0 / 1e6;
    in->bytes += mb * 1e6;
    in->seconds += secs;
    for (long j = 0; j < P && !rc; j++) in->invalid[j] = (uint8_t)(in->invalid[j] | !nonzero[j]);
    in->sha[li][0] = '\0';
    if (!rc && p->hash_betas) rc = bmc_sha256_path(path, in->sha[li], err);
    if (!rc)
        bmc_log_all("session %02d: %ld trials, %.1f MB of betas in %.2f s (%.0f MB/s)",
                    plan->sessions[si], T, mb, secs, secs > 0 ? mb / secs : 0.0);
    free(path);
    return rc;
}

int fmri_ingest_read(const fmri_params *p, const fmri_plan *plan, MPI_Comm comm,
                     fmri_ingest *in, bmc_err *err) {
    int rank, size;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    BMC_MPI(MPI_Comm_size(comm, &size));
    memset(in, 0, sizeof *in);
    bmc_rowblock(plan->n_sessions, size, rank, &in->s0, &in->ns);
    in->T = plan->trials_per_session;
    in->k0 = in->s0 * in->T;
    in->n_local = in->ns * in->T;
    in->n_vox = in->n_cols = plan->n_vox;
    in->raw = XNEW(in->raw, (size_t)(in->n_local ? in->n_local : 1) * (size_t)in->n_vox);
    in->invalid = xcalloc((size_t)in->n_vox, 1);
    in->sha = xcalloc((size_t)(in->ns ? in->ns : 1), sizeof *in->sha);
    bmc_log_info("reading %d session%s of %ld trials on %d rank%s: %ld voxels kept, "
                 "%.1f MB of raw betas per rank at most",
                 plan->n_sessions, plan->n_sessions == 1 ? "" : "s", in->T, size,
                 size == 1 ? "" : "s", in->n_vox,
                 (double)bmc_rowblock_size(plan->n_sessions, size) * (double)in->T *
                     (double)in->n_vox * 2.0 / 1e6);
    bmc_err local = {0};
    uint8_t *nonzero = xmalloc((size_t)in->n_vox);
    int16_t *buf = NULL;
    size_t cap = 0;
    for (long li = 0; li < in->ns && !local.failed; li++)
        read_session(p, plan, in->s0 + li, li, in, nonzero, &buf, &cap, &local);
    free(buf);
    free(nonzero);
    if (bmc_err_agree(comm, &local)) {
        *err = local;
        return -1;
    }
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, in->invalid, (int)in->n_vox, MPI_UINT8_T, MPI_MAX, comm));
    for (long j = 0; j < in->n_vox; j++) in->n_invalid += in->invalid[j];
    return 0;
}

/* Mean and standard deviation of x/300 from exact sums S = Σx, Q = Σx² over n raw values.
 * M2 = Σ(x − mean)² is computed as D − r²/n with D = Σ(x − q)² (exact, q = S/n rounded
 * toward zero, r = S − q·n), so it is 0 exactly when every value is equal. */
static void moments(int64_t S, int64_t Q, int64_t n, int ddof, double *mean, double *sd) {
    *mean = (double)S / (300.0 * (double)n);
    int64_t q = S / n, r = S - q * n;
    int64_t D = Q - 2 * q * S + n * q * q;
    double m2 = (double)D - (double)r * (double)r / (double)n;
    if (m2 < 0.0) m2 = 0.0;
    *sd = sqrt(m2 / (double)(n - ddof)) / 300.0;
}

int fmri_ingest_stats(const fmri_plan *plan, int train, MPI_Comm comm, fmri_ingest *in,
                      bmc_err *err) {
    long P = in->n_vox, T = in->T;
    in->train = train;
    long n_sets = train ? 1 : in->ns;
    in->mean = XNEW(in->mean, (size_t)(n_sets ? n_sets : 1) * (size_t)P);
    in->sd = XNEW(in->sd, (size_t)(n_sets ? n_sets : 1) * (size_t)P);
    int64_t *sum = xcalloc((size_t)P * 2 + 1, sizeof *sum); /* S[P], Q[P], n */
    uint8_t *constant = xcalloc((size_t)P, 1);
    for (long set = 0; set < n_sets; set++) {
        if (!train) memset(sum, 0, ((size_t)P * 2 + 1) * sizeof *sum);
        long i0 = train ? 0 : set * T, i1 = train ? in->n_local : (set + 1) * T;
        for (long i = i0; i < i1; i++) {
            if (train && plan->shared[in->k0 + i]) continue;
            const int16_t *row = in->raw + (size_t)i * (size_t)P;
            for (long j = 0; j < P; j++) {
                int64_t x = row[j];
                sum[j] += x;
                sum[P + j] += x * x;
            }
            sum[2 * P]++;
        }
        if (train)
            BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, sum, (int)(2 * P + 1), MPI_INT64_T, MPI_SUM,
                                  comm));
        int64_t n = sum[2 * P];
        if (train && n < 2) {
            free(sum);
            free(constant);
            return bmc_err_set(err, "use zscore: session, or more sessions",
                               "zscore: train needs at least 2 training (non-shared) trials, "
                               "the sessions hold %lld", (long long)n);
        }
        for (long j = 0; j < P; j++) {
            double *m = &in->mean[(size_t)set * (size_t)P + (size_t)j];
            double *s = &in->sd[(size_t)set * (size_t)P + (size_t)j];
            moments(sum[j], sum[P + j], n, train ? 1 : 0, m, s);
            if (*s == 0.0) {
                constant[j] = 1;
                *s = INFINITY; /* so that z = (x − mean)/sd = 0 without a branch */
            }
        }
    }
    free(sum);
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, constant, (int)P, MPI_UINT8_T, MPI_MAX, comm));
    for (long j = 0; j < P; j++) in->n_constant += constant[j] && !in->invalid[j];
    free(constant);
    int rank;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    if (in->n_constant && rank == 0)
        bmc_log_warn("%ld voxel%s of zero variance %s (not all 0): their z-scores are set to 0",
                     in->n_constant, in->n_constant == 1 ? "" : "s",
                     train ? "over the training trials" : "in some session");
    return 0;
}

void fmri_ingest_compact(fmri_ingest *in, const int64_t *valid, long n_valid) {
    size_t P = (size_t)in->n_cols, V = (size_t)n_valid;
    BMC_CHECK(V <= P);
    for (long i = 0; i < in->n_local; i++) { /* forward copy: the target never overtakes */
        const int16_t *src = in->raw + (size_t)i * P;
        int16_t *dst = in->raw + (size_t)i * V;
        for (size_t j = 0; j < V; j++) dst[j] = src[valid[j]];
    }
    long sets = in->train ? 1 : in->ns;
    for (long s = 0; s < sets; s++)
        for (size_t j = 0; j < V; j++) {
            in->mean[(size_t)s * V + j] = in->mean[(size_t)s * P + (size_t)valid[j]];
            in->sd[(size_t)s * V + j] = in->sd[(size_t)s * P + (size_t)valid[j]];
        }
    in->n_cols = n_valid;
}

void fmri_zscore_row(const fmri_ingest *in, long i, long c0, long w, double *out) {
    size_t C = (size_t)in->n_cols, s = in->train ? 0 : (size_t)(i / in->T) * C;
    const int16_t *x = in->raw + (size_t)i * C + (size_t)c0;
    const double *mu = in->mean + s + (size_t)c0, *sd = in->sd + s + (size_t)c0;
    for (long j = 0; j < w; j++) out[j] = (x[j] / 300.0 - mu[j]) / sd[j]; /* sd = inf → 0 */
}

void fmri_ingest_free(fmri_ingest *in) {
    free(in->raw);
    free(in->invalid);
    free(in->mean);
    free(in->sd);
    free(in->sha);
    memset(in, 0, sizeof *in);
}
