/* metrics.c — the feature metrics of metrics.h: per-target Pearson r and R², per-row cosine,
 * MindEye's two-way identification and top-1 retrieval (seeded draws, mean and 95 % interval).
 *
 * All-pairs products (two-way, retrieval) go through one blocked DGEMM on shifted and scaled
 * rows, so the working set beyond the n×n result is O(n · block) whatever d is.
 * Not here: image metrics (image_metrics.c), MPI distribution and file I/O (the stage).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "bmc_rng.h"
#include "metrics.h"

/* ---- per-target metrics ------------------------------------------------------------------ */

/* mean[t] of the columns of x [n, t]. */
static void column_means(double *mean, const float *x, long n, long t) {
    memset(mean, 0, (size_t)t * sizeof *mean);
    for (long i = 0; i < n; i++) {
        const float *row = x + (size_t)i * (size_t)t;
        for (long k = 0; k < t; k++) mean[k] += (double)row[k];
    }
    for (long k = 0; k < t; k++) mean[k] /= (double)n;
}

void metric_pearson_per_target(double *r, const float *pred, const float *real, long n, long t) {
    BMC_CHECK(n >= 1 && t >= 1);
    double *mp = XNEW(mp, t), *mr = XNEW(mr, t);
    double *spp = xcalloc((size_t)t, sizeof *spp), *srr = xcalloc((size_t)t, sizeof *srr);
    double *spr = xcalloc((size_t)t, sizeof *spr);
    column_means(mp, pred, n, t);
    column_means(mr, real, n, t);
    for (long i = 0; i < n; i++) {
        const float *p = pred + (size_t)i * (size_t)t, *q = real + (size_t)i * (size_t)t;
        for (long k = 0; k < t; k++) {
            double dp = (double)p[k] - mp[k], dr = (double)q[k] - mr[k];
            spp[k] += dp * dp;
            srr[k] += dr * dr;
            spr[k] += dp * dr;
        }
    }
    for (long k = 0; k < t; k++)
        r[k] = (spp[k] > 0.0 && srr[k] > 0.0) ? spr[k] / sqrt(spp[k] * srr[k]) : 0.0;
    free(mp), free(mr), free(spp), free(srr), free(spr);
}

void metric_r2_per_target(double *r2, const float *pred, const float *real, long n, long t) {
    BMC_CHECK(n >= 1 && t >= 1);
    double *mr = XNEW(mr, t);
    double *num = xcalloc((size_t)t, sizeof *num), *den = xcalloc((size_t)t, sizeof *den);
    column_means(mr, real, n, t);
    for (long i = 0; i < n; i++) {
        const float *p = pred + (size_t)i * (size_t)t, *q = real + (size_t)i * (size_t)t;
        for (long k = 0; k < t; k++) {
            double e = (double)q[k] - (double)p[k], dr = (double)q[k] - mr[k];
            num[k] += e * e;
            den[k] += dr * dr;
        }
    }
    for (long k = 0; k < t; k++) {
        if (den[k] != 0.0)
            r2[k] = 1.0 - num[k] / den[k];
        else
            r2[k] = (num[k] != 0.0) ? 0.0 : 1.0; /* scikit-learn's rule for constant targets */
    }
    free(mr), free(num), free(den);
}

void metric_cosine_rows(double *cos, const float *a, const float *b, long n, long d) {
    BMC_CHECK(n >= 0 && d >= 1);
    for (long i = 0; i < n; i++) {
        const float *x = a + (size_t)i * (size_t)d, *y = b + (size_t)i * (size_t)d;
        double xx = 0.0, yy = 0.0, xy = 0.0;
        for (long k = 0; k < d; k++) {
            xx += (double)x[k] * (double)x[k];
            yy += (double)y[k] * (double)y[k];
            xy += (double)x[k] * (double)y[k];
        }
        cos[i] = (xx > 0.0 && yy > 0.0) ? xy / sqrt(xx * yy) : 0.0;
    }
}

/* ---- all-pairs products ------------------------------------------------------------------ */

/* Row i of x [n, d] is used as (x_i − shift_i) · scale_i. */
typedef struct row_affine {
    double *shift, *scale;
} row_affine;

/* centred = 1: shift = row mean, scale = 1/‖x_i − mean‖ (z-scores for Pearson);
 * centred = 0: shift = 0, scale = 1/‖x_i‖ (cosine). A zero row gets scale 0. */
static row_affine row_affine_of(const float *x, long n, long d, int centred) {
    row_affine ra = {XNEW(ra.shift, n), XNEW(ra.scale, n)};
    for (long i = 0; i < n; i++) {
        const float *row = x + (size_t)i * (size_t)d;
        double mean = 0.0, ss = 0.0;
        if (centred) {
            for (long k = 0; k < d; k++) mean += (double)row[k];
            mean /= (double)d;
        }
        for (long k = 0; k < d; k++) {
            double v = (double)row[k] - mean;
            ss += v * v;
        }
        ra.shift[i] = mean;
        ra.scale[i] = ss > 0.0 ? 1.0 / sqrt(ss) : 0.0;
    }
    return ra;
}

static void row_affine_free(row_affine *ra) {
    free(ra->shift), free(ra->scale);
}

/* Columns [k0, k0 + kb) of the transformed rows of x, into buf [n, kb]. */
static void transformed_block(double *buf, const float *x, const row_affine *ra, long n, long d,
                              long k0, long kb) {
    for (long i = 0; i < n; i++) {
        const float *row = x + (size_t)i * (size_t)d + k0;
        double *out = buf + (size_t)i * (size_t)kb;
        for (long k = 0; k < kb; k++) out[k] = ((double)row[k] - ra->shift[i]) * ra->scale[i];
    }
}

/* S[n, n] = A' · B'ᵀ with A' = transformed rows of a, B' of b, both [n, d]. */
static void affine_product(double *S, const float *a, const row_affine *ra, const float *b,
                           const row_affine *rb, long n, long d) {
    const long max_elems = 1L << 21; /* per block buffer: 16 MiB of doubles */
    long kb_max = max_elems / n;
    if (kb_max < 1) kb_max = 1;
    if (kb_max > d) kb_max = d;
    BMC_CHECK(n <= 2147483647L && kb_max <= 2147483647L);
    double *ba = XNEW(ba, (size_t)n * (size_t)kb_max), *bb = XNEW(bb, (size_t)n * (size_t)kb_max);
    for (long k0 = 0; k0 < d; k0 += kb_max) {
        long kb = (d - k0 < kb_max) ? d - k0 : kb_max;
        transformed_block(ba, a, ra, n, d, k0, kb);
        transformed_block(bb, b, rb, n, d, k0, kb);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)n, (int)kb, 1.0, ba,
                    (int)kb, bb, (int)kb, k0 == 0 ? 0.0 : 1.0, S, (int)n);
    }
    free(ba), free(bb);
}

double metric_two_way(const float *pred, const float *real, long n, long d) {
    BMC_CHECK(n >= 2 && d >= 1);
    row_affine rp = row_affine_of(pred, n, d, 1), rr = row_affine_of(real, n, d, 1);
    double *R = XNEW(R, (size_t)n * (size_t)n); /* R[i, j]: real row i, pred row j */
    affine_product(R, real, &rr, pred, &rp, n, d);
    for (size_t e = 0; e < (size_t)n * (size_t)n; e++) /* np.corrcoef clips to [-1, 1] */
        R[e] = R[e] > 1.0 ? 1.0 : (R[e] < -1.0 ? -1.0 : R[e]);
    double total = 0.0;
    for (long j = 0; j < n; j++) {
        double congruent = R[(size_t)j * (size_t)n + (size_t)j];
        long wins = 0;
        for (long i = 0; i < n; i++)
            if (i != j && R[(size_t)i * (size_t)n + (size_t)j] < congruent) wins++;
        total += (double)wins / (double)(n - 1);
    }
    free(R);
    row_affine_free(&rp), row_affine_free(&rr);
    return total / (double)n;
}

void metric_cosine_matrix(double *S, const float *pred, const float *real, long n, long d) {
    BMC_CHECK(n >= 1 && d >= 1);
    row_affine rp = row_affine_of(pred, n, d, 0), rr = row_affine_of(real, n, d, 0);
    affine_product(S, pred, &rp, real, &rr, n, d);
    row_affine_free(&rp), row_affine_free(&rr);
}

/* ---- seeded draws and retrieval ---------------------------------------------------------- */

void metric_draw_items(long *idx, long n, long way, uint64_t seed, long draw) {
    BMC_CHECK(way >= 1 && way <= n && draw >= 0);
    long *perm = XNEW(perm, n);
    for (long i = 0; i < n; i++) perm[i] = i;
    uint64_t state = seed + (uint64_t)draw;
    for (long k = 0; k < way; k++) {
        long j = k + (long)bmc_uniform_below(&state, (uint64_t)(n - k));
        long tmp = perm[k];
        perm[k] = perm[j];
        perm[j] = tmp;
        idx[k] = perm[k];
    }
    free(perm);
}

long metric_retrieval_draw_hits(long *items, uint8_t *image_hit, uint8_t *brain_hit,
                                const double *S, long n, long way, uint64_t seed, long draw) {
    BMC_CHECK(n >= 1 && way >= 1);
    if (way > n) way = n;
    long *idx = XNEW(idx, way);
    metric_draw_items(idx, n, way, seed, draw);
    for (long a = 0; a < way; a++) {
        size_t i = (size_t)idx[a];
        double own = S[i * (size_t)n + i];
        int image_ok = 1, brain_ok = 1;
        for (long b = 0; b < way && (image_ok || brain_ok); b++) {
            if (b == a) continue;
            size_t j = (size_t)idx[b];
            if (S[i * (size_t)n + j] >= own) image_ok = 0; /* pred i vs real j */
            if (S[j * (size_t)n + i] >= own) brain_ok = 0; /* real i vs pred j */
        }
        if (items) items[a] = idx[a];
        if (image_hit) image_hit[a] = (uint8_t)image_ok;
        if (brain_hit) brain_hit[a] = (uint8_t)brain_ok;
    }
    free(idx);
    return way;
}

void metric_retrieval_draw(double *image_acc, double *brain_acc, const double *S, long n,
                           long way, uint64_t seed, long draw) {
    BMC_CHECK(n >= 1 && way >= 1);
    if (way > n) way = n;
    uint8_t *hits = XNEW(hits, 2 * (size_t)way);
    metric_retrieval_draw_hits(NULL, hits, hits + way, S, n, way, seed, draw);
    long image_hits = 0, brain_hits = 0;
    for (long a = 0; a < way; a++) {
        image_hits += hits[a];
        brain_hits += hits[way + a];
    }
    *image_acc = (double)image_hits / (double)way;
    *brain_acc = (double)brain_hits / (double)way;
    free(hits);
}

void metric_interval_of(metric_interval *out, const double *acc, long draws) {
    BMC_CHECK(draws >= 1);
    double mean = 0.0, ss = 0.0;
    for (long k = 0; k < draws; k++) mean += acc[k];
    mean /= (double)draws;
    for (long k = 0; k < draws; k++) ss += (acc[k] - mean) * (acc[k] - mean);
    double half = 1.959963984540054 * sqrt(ss / (double)draws) / sqrt((double)draws);
    out->mean = mean;
    out->lo = mean - half;
    out->hi = mean + half;
}

void metric_retrieval_topk(metric_retrieval *out, double *per_draw_image, double *per_draw_brain,
                           const float *pred, const float *real, long n, long d, long way,
                           long draws, uint64_t seed) {
    BMC_CHECK(n >= 1 && d >= 1 && way >= 1 && draws >= 1);
    double *S = XNEW(S, (size_t)n * (size_t)n);
    double *img = XNEW(img, draws), *brn = XNEW(brn, draws);
    metric_cosine_matrix(S, pred, real, n, d);
    for (long k = 0; k < draws; k++) metric_retrieval_draw(&img[k], &brn[k], S, n, way, seed, k);
    metric_interval_of(&out->image, img, draws);
    metric_interval_of(&out->brain, brn, draws);
    out->way = way > n ? n : way;
    out->draws = draws;
    if (per_draw_image) memcpy(per_draw_image, img, (size_t)draws * sizeof *img);
    if (per_draw_brain) memcpy(per_draw_brain, brn, (size_t)draws * sizeof *brn);
    free(S), free(img), free(brn);
}
