/* test_eval_metrics.c — the evaluation metrics (stages/evaluate/metrics.h) against references.
 *
 * Usage: test_eval_metrics features|images|sanity
 *   features: Pearson, R², cosine, cosine matrix, two-way and retrieval (per draw and summary)
 *             against NumPy / scikit-learn / torch and MindEye's own code
 *             (tests/unit/eval_metrics_ref.py, run with BMC_PYTHON3 on files in a temp folder);
 *   images:   bilinear resize against torch interpolate, PixCorr, SSIM (MindEye's per-column
 *             call and 2-D) against skimage 0.19;
 *   sanity:   properties: noiseless → 1.0, shuffled → chance, random two-way ≈ 0.5, draws
 *             deterministic and distinct, way clamped to n, resize output size.
 * Prints the measured max errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_test.h"
#include "metrics.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static uint64_t rng_state = 0x1234567890ABCDEFULL;
static double uniform01(void) { /* xorshift64*, [0, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}
static double gauss(void) {
    double u = uniform01() + 1e-300, v = uniform01();
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void write_raw(const char *dir, const char *name, const void *data, size_t bytes) {
    char *path = bmc_path_join(dir, name);
    bmc_err e = {0};
    TEST_CHECK(bmc_write_file_atomic(path, data, bytes, &e) == 0, "%s: %s", path, e.msg);
    free(path);
}

/* The reference `name`.ref.f64, which must hold exactly count doubles (NULL otherwise). */
static double *read_ref(const char *dir, const char *name, size_t count) {
    char *file = bmc_xasprintf("%s.ref.f64", name);
    char *path = bmc_path_join(dir, file);
    bmc_err e = {0};
    size_t len = 0;
    char *buf = bmc_read_file(path, &len, &e);
    TEST_CHECK(buf != NULL && len == count * sizeof(double), "%s: %zu bytes, want %zu (%s)", path,
               len, count * sizeof(double), e.msg);
    free(file), free(path);
    if (buf == NULL || len != count * sizeof(double)) {
        free(buf);
        return NULL;
    }
    return (double *)(void *)buf;
}

static int run_reference(const char *mode, const char *dir) {
    const char *py = getenv("BMC_PYTHON3");
    const char *src = getenv("BMC_SOURCE_DIR");
    char *cmd = bmc_xasprintf("'%s' '%s/tests/unit/eval_metrics_ref.py' %s '%s'",
                              (py && py[0]) ? py : "/usr/bin/python3",
                              (src && src[0]) ? src : BMC_TEST_SOURCE_DIR, mode, dir);
    int rc = system(cmd);
    TEST_CHECK(rc == 0, "reference failed (%d): %s", rc, cmd);
    free(cmd);
    return rc;
}

/* max |got − want| / max(|want|, floor) over count values, printed; checked ≤ tol. */
static double compare(const char *what, const double *got, const double *want, size_t count,
                      double floor, double tol) {
    if (want == NULL) return INFINITY;
    double worst = 0.0;
    size_t at = 0;
    for (size_t k = 0; k < count; k++) {
        double scale = fabs(want[k]) > floor ? fabs(want[k]) : floor;
        double err = fabs(got[k] - want[k]) / scale;
        if (!(err <= worst)) worst = err, at = k;
    }
    printf("%-22s %6zu values  max rel err %.3g\n", what, count, worst);
    TEST_CHECK(worst <= tol, "%s: max rel err %.3g at %zu (got %.17g want %.17g)", what, worst,
               at, got[at], want[at]);
    return worst;
}

static char *make_tempdir(void) {
    const char *tmp = getenv("TMPDIR");
    char *dir = bmc_xasprintf("%s/bmc_eval_XXXXXX", (tmp && tmp[0]) ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) BMC_BUG("mkdtemp %s failed", dir);
    return dir;
}

/* ---- features ---------------------------------------------------------------------------- */

static void test_features(void) {
    char *dir = make_tempdir();
    enum { N = 200, T = 37, ND = 120, D = 20000, WAY = 50, DRAWS = 8 };
    float *pt = XNEW(pt, N * T), *rt = XNEW(rt, N * T);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < T; k++) {
            double real = 100.0 + 3.0 * gauss(); /* offset: centring must be two-pass */
            rt[i * T + k] = (float)real;
            pt[i * T + k] = (float)(100.0 + 0.6 * (real - 100.0) + 2.0 * gauss());
        }
    for (int i = 0; i < N; i++) {
        rt[i * T + 0] = 0.5f, pt[i * T + 0] = 0.5f;             /* constant, exact: R² = 1 */
        rt[i * T + 1] = 0.25f;                                  /* constant, inexact: 0    */
        pt[i * T + 2] = 7.0f;                                   /* constant pred: r = 0    */
        pt[i * T + 3] = rt[i * T + 3];                          /* perfect: r = R² = 1     */
        pt[i * T + 4] = -2.0f * rt[i * T + 4];                  /* anti: r = −1            */
    }
    float *pd = XNEW(pd, ND * D), *rd = XNEW(rd, ND * D);
    for (size_t e = 0; e < (size_t)ND * D; e++) {
        double real = gauss() + 0.3;
        rd[e] = (float)real;
        pd[e] = (float)(real + 60.0 * gauss());
    }
    for (int k = 0; k < D; k++) pd[5 * D + k] = 0.0f; /* a zero prediction row */
    long *idx = XNEW(idx, WAY * DRAWS);
    for (int k = 0; k < DRAWS; k++) metric_draw_items(idx + k * WAY, ND, WAY, 42, k);
    int64_t *idx64 = XNEW(idx64, WAY * DRAWS);
    for (int k = 0; k < WAY * DRAWS; k++) idx64[k] = idx[k];

    write_raw(dir, "pred_t.f32", pt, sizeof(float) * N * T);
    write_raw(dir, "real_t.f32", rt, sizeof(float) * N * T);
    write_raw(dir, "pred_d.f32", pd, sizeof(float) * ND * D);
    write_raw(dir, "real_d.f32", rd, sizeof(float) * ND * D);
    write_raw(dir, "draw_idx.i64", idx64, sizeof(int64_t) * WAY * DRAWS);
    char *meta = bmc_xasprintf("n %d\nt %d\nnd %d\nd %d\nway %d\ndraws %d\n", N, T, ND, D, WAY,
                               DRAWS);
    write_raw(dir, "meta.txt", meta, strlen(meta));
    free(meta);

    if (run_reference("features", dir) == 0) {
        double r[T], r2[T], cos[ND], two, img[DRAWS], brn[DRAWS];
        metric_pearson_per_target(r, pt, rt, N, T);
        metric_r2_per_target(r2, pt, rt, N, T);
        metric_cosine_rows(cos, pd, rd, ND, D);
        two = metric_two_way(pd, rd, ND, D);
        metric_retrieval topk;
        metric_retrieval_topk(&topk, img, brn, pd, rd, ND, D, WAY, DRAWS, 42);
        double *S = XNEW(S, ND * ND);
        metric_cosine_matrix(S, pd, rd, ND, D);
        /* MindEye's fwd (first in the reference's summary) is image → brain = our brain. */
        double summary[6] = {topk.brain.mean, topk.brain.lo, topk.brain.hi,
                             topk.image.mean, topk.image.lo, topk.image.hi};
        double *w;
        compare("pearson", r, w = read_ref(dir, "pearson", T), T, 1e-3, 1e-9), free(w);
        compare("r2", r2, w = read_ref(dir, "r2", T), T, 1e-3, 1e-9), free(w);
        TEST_CHECK(r2[0] == 1.0 && r2[1] == 0.0 && r[2] == 0.0 && r[4] < -0.999999,
                   "constant-target rules: r2 %g %g, r %g %g", r2[0], r2[1], r[2], r[4]);
        compare("cosine_rows", cos, w = read_ref(dir, "cosine", ND), ND, 1e-3, 1e-9), free(w);
        compare("cosine_matrix", S, w = read_ref(dir, "cosmat", ND * ND), ND * ND, 1e-3, 1e-9);
        free(w);
        compare("two_way", &two, w = read_ref(dir, "two_way", 1), 1, 1e-3, 1e-12), free(w);
        compare("retrieval_brain_is_mindeye_fwd", brn, w = read_ref(dir, "retr_fwd", DRAWS),
                DRAWS, 1e-3, 1e-12), free(w);
        compare("retrieval_image_is_mindeye_bwd", img, w = read_ref(dir, "retr_bwd", DRAWS),
                DRAWS, 1e-3, 1e-12), free(w);
        /* Item by item: the hits average to the draw's accuracies, items are the draw's. */
        int hits_ok = 1;
        for (long k = 0; k < DRAWS; k++) {
            long items[WAY];
            uint8_t ih[WAY], bh[WAY];
            long way = metric_retrieval_draw_hits(items, ih, bh, S, ND, WAY, 42, k);
            long si = 0, sb = 0;
            for (long a = 0; a < way; a++) {
                si += ih[a], sb += bh[a];
                hits_ok &= items[a] == idx[k * WAY + a] && ih[a] <= 1 && bh[a] <= 1;
            }
            hits_ok &= way == WAY && (double)si / WAY == img[k] && (double)sb / WAY == brn[k];
        }
        TEST_CHECK(hits_ok, "metric_retrieval_draw_hits: items and hits match the draws");
        compare("retrieval_summary", summary, w = read_ref(dir, "retr_summary", 6), 6, 1e-3,
                1e-12), free(w);
        printf("two-way %.4f, retrieval image %.3f [%.3f, %.3f] brain %.3f\n", two,
               topk.image.mean, topk.image.lo, topk.image.hi, topk.brain.mean);
        TEST_CHECK(two > 0.6 && two < 0.999 && topk.image.mean > 0.05 && topk.image.mean < 0.95,
                   "data should be informative but imperfect: two-way %g, retrieval %g", two,
                   topk.image.mean);
        free(S);
    }
    bmc_remove_tree(dir);
    free(dir), free(pt), free(rt), free(pd), free(rd), free(idx), free(idx64);
}

/* ---- images ------------------------------------------------------------------------------ */

/* A smooth image with edges plus noise of amplitude `noise`, [3, h, w] in [0, 1]. */
static void structured_image(float *img, int h, int w, double phase, double noise) {
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double v = 0.5 + 0.3 * sin(0.05 * x + phase + c) * cos(0.031 * y - phase);
                if ((x / 40 + y / 60) % 2) v += 0.15;
                v += noise * (uniform01() - 0.5);
                img[((size_t)c * (size_t)h + (size_t)y) * (size_t)w + (size_t)x] =
                    (float)(v < 0 ? 0 : v > 1 ? 1 : v);
            }
}

static void test_images(void) {
    char *dir = make_tempdir();
    enum { CASES = 6, H = 425, W = 425, PAIRS = 4 };
    int dims[CASES][4] = {{256, 256, 425, 425}, {512, 512, 425, 425}, {300, 500, 0, 0},
                          {7, 5, 13, 3},        {425, 425, 425, 425}, {1, 9, 4, 2}};
    metric_resize_short_side_size(&dims[2][2], &dims[2][3], 300, 500, 425);
    float *imgs[CASES], *outs[CASES];
    char *meta = bmc_xasprintf("cases %d\npairs %d\nh %d\nw %d\n", CASES, PAIRS, H, W);
    for (int c = 0; c < CASES; c++) {
        int ih = dims[c][0], iw = dims[c][1], oh = dims[c][2], ow = dims[c][3];
        imgs[c] = XNEW(imgs[c], 3 * ih * iw);
        outs[c] = XNEW(outs[c], 3 * oh * ow);
        if (c % 2 == 0) {
            uint8_t *u8 = XNEW(u8, 3 * ih * iw);
            for (int k = 0; k < 3 * ih * iw; k++) u8[k] = (uint8_t)(uniform01() * 256.0);
            metric_u8_hwc_to_float_chw(imgs[c], u8, ih, iw);
            free(u8);
        } else {
            structured_image(imgs[c], ih, iw, 0.1 * c, 0.2);
        }
        metric_resize_bilinear(outs[c], oh, ow, imgs[c], 3, ih, iw);
        char *name = bmc_xasprintf("img%d.f32", c);
        write_raw(dir, name, imgs[c], sizeof(float) * 3 * (size_t)(ih * iw));
        free(name);
        char *more = bmc_xasprintf("%sih%d %d\niw%d %d\noh%d %d\now%d %d\n", meta, c, ih, c, iw,
                                   c, oh, c, ow);
        free(meta);
        meta = more;
    }
    float *a[PAIRS], *b[PAIRS];
    for (int p = 0; p < PAIRS; p++) {
        a[p] = XNEW(a[p], 3 * H * W), b[p] = XNEW(b[p], 3 * H * W);
        structured_image(a[p], H, W, 0.3 * p, 0.1);
        if (p == 0) memcpy(b[p], a[p], sizeof(float) * 3 * H * W); /* identical: SSIM 1 */
        else if (p == 1) structured_image(b[p], H, W, 0.3 * p, 0.3);  /* noisy version   */
        else if (p == 2) structured_image(b[p], H, W, 2.0, 0.1);       /* other image    */
        else for (int k = 0; k < 3 * H * W; k++) b[p][k] = (float)uniform01(); /* noise  */
        char *na = bmc_xasprintf("a%d.f32", p), *nb = bmc_xasprintf("b%d.f32", p);
        write_raw(dir, na, a[p], sizeof(float) * 3 * H * W);
        write_raw(dir, nb, b[p], sizeof(float) * 3 * H * W);
        free(na), free(nb);
    }
    write_raw(dir, "meta.txt", meta, strlen(meta));
    free(meta);
    TEST_CHECK(dims[2][2] == 425 && dims[2][3] == 708, "Resize(425) of 300x500: %dx%d",
               dims[2][2], dims[2][3]);

    if (run_reference("images", dir) == 0) {
        double worst = 0.0;
        for (int c = 0; c < CASES; c++) {
            size_t m = 3 * (size_t)dims[c][2] * (size_t)dims[c][3];
            double *got = XNEW(got, m);
            for (size_t k = 0; k < m; k++) got[k] = outs[c][k];
            char *name = bmc_xasprintf("resized%d", c);
            double *w = read_ref(dir, name, m);
            char *what = bmc_xasprintf("resize %dx%d->%dx%d", dims[c][0], dims[c][1], dims[c][2],
                                       dims[c][3]);
            double e = compare(what, got, w, m, 1.0, 1e-6); /* floor 1: absolute error */
            if (e > worst) worst = e;
            free(got), free(w), free(name), free(what);
        }
        double pix[PAIRS], cols[PAIRS], two_d[PAIRS], *w;
        for (int p = 0; p < PAIRS; p++) {
            pix[p] = metric_pixcorr(b[p], a[p], 3, H, W);
            cols[p] = metric_ssim(b[p], a[p], H, W, SSIM_MINDEYE_COLUMNS);
            two_d[p] = metric_ssim(b[p], a[p], H, W, SSIM_2D);
            printf("pair %d: pixcorr %.6f ssim(MindEye columns) %.6f ssim(2-D) %.6f\n", p, pix[p],
                   cols[p], two_d[p]);
        }
        compare("pixcorr", pix, w = read_ref(dir, "pixcorr", PAIRS), PAIRS, 1e-3, 1e-9), free(w);
        compare("ssim_mindeye_columns", cols, w = read_ref(dir, "ssim_cols", PAIRS), PAIRS, 1e-3,
                1e-9), free(w);
        compare("ssim_2d", two_d, w = read_ref(dir, "ssim_2d", PAIRS), PAIRS, 1e-3, 1e-9), free(w);
        w = read_ref(dir, "ssim_cols_f32", PAIRS);
        if (w) { /* MindEye's float32 run: informational, loose */
            compare("ssim_vs_skimage_f32", cols, w, PAIRS, 1e-3, 1e-4);
            free(w);
        }
        TEST_CHECK(fabs(cols[0] - 1.0) < 1e-12 && fabs(two_d[0] - 1.0) < 1e-12 &&
                       fabs(pix[0] - 1.0) < 1e-12,
                   "identical images: %g %g %g", cols[0], two_d[0], pix[0]);
    }
    for (int c = 0; c < CASES; c++) free(imgs[c]), free(outs[c]);
    for (int p = 0; p < PAIRS; p++) free(a[p]), free(b[p]);
    bmc_remove_tree(dir);
    free(dir);
}

/* ---- sanity ------------------------------------------------------------------------------ */

static void test_sanity(void) {
    enum { N = 400, D = 64, WAY = 300, DRAWS = 30 };
    float *real = XNEW(real, N * D), *pred = XNEW(pred, N * D), *shuf = XNEW(shuf, N * D);
    for (int e = 0; e < N * D; e++) real[e] = (float)gauss(), pred[e] = real[e];
    long perm[N];
    metric_draw_items(perm, N, N, 7, 0); /* a full permutation */
    int fixed_points = 0;
    for (int i = 0; i < N; i++) {
        memcpy(shuf + i * D, real + (size_t)perm[i] * D, sizeof(float) * D);
        fixed_points += perm[i] == i;
    }
    metric_retrieval r;
    double per_img[DRAWS], per_brn[DRAWS];
    metric_retrieval_topk(&r, per_img, per_brn, pred, real, N, D, WAY, DRAWS, 1);
    TEST_CHECK(r.image.mean == 1.0 && r.brain.mean == 1.0 && r.image.lo == 1.0 && r.way == WAY,
               "noiseless retrieval %g %g", r.image.mean, r.brain.mean);
    metric_retrieval_topk(&r, per_img, per_brn, shuf, real, N, D, WAY, DRAWS, 1);
    /* chance 1/300 per item; plus the fixed points of the shuffle that fall in a draw */
    double bound = (fixed_points + 10.0) / WAY;
    printf("shuffled retrieval: image %.4f brain %.4f (chance %.4f, %d fixed points)\n",
           r.image.mean, r.brain.mean, 1.0 / WAY, fixed_points);
    TEST_CHECK(r.image.mean < bound && r.brain.mean < bound, "shuffled retrieval %g %g",
               r.image.mean, r.brain.mean);
    TEST_CHECK(r.image.lo <= r.image.mean && r.image.mean <= r.image.hi, "interval");
    metric_retrieval_topk(&r, NULL, NULL, pred, real, 20, D, WAY, 3, 1);
    TEST_CHECK(r.way == 20 && r.image.mean == 1.0, "way clamped to n: %ld", r.way);

    TEST_NEAR(metric_two_way(pred, real, N, D), 1.0, 0.0);
    double tw = metric_two_way(shuf, real, N, D);
    printf("two-way on shuffled: %.4f\n", tw);
    TEST_NEAR(tw, 0.5, 0.03);

    /* draws: deterministic, distinct, in range, different across draws and seeds */
    long d1[WAY], d2[WAY], d3[WAY], d4[WAY];
    metric_draw_items(d1, N, WAY, 5, 3);
    metric_draw_items(d2, N, WAY, 5, 3);
    metric_draw_items(d3, N, WAY, 5, 4);
    metric_draw_items(d4, N, WAY, 6, 3);
    char seen[N] = {0};
    int distinct = 1, same12 = 1, same13 = 1, same14 = 1;
    for (int k = 0; k < WAY; k++) {
        if (d1[k] < 0 || d1[k] >= N || seen[d1[k]]) distinct = 0;
        else seen[d1[k]] = 1;
        same12 &= d1[k] == d2[k], same13 &= d1[k] == d3[k], same14 &= d1[k] == d4[k];
    }
    TEST_CHECK(distinct && same12 && !same13 && !same14, "draws: distinct %d repeat %d %d %d",
               distinct, same12, same13, same14);

    double acc[4] = {0.5, 0.7, 0.6, 0.6};
    metric_interval ci;
    metric_interval_of(&ci, acc, 4); /* sd (ddof 0) = sqrt(0.005) */
    TEST_NEAR(ci.mean, 0.6, 1e-15);
    TEST_NEAR(ci.hi - ci.mean, 1.959963984540054 * sqrt(0.005) / 2.0, 1e-15);

    int oh, ow;
    metric_resize_short_side_size(&oh, &ow, 512, 512, 425);
    TEST_CHECK(oh == 425 && ow == 425, "%dx%d", oh, ow);
    metric_resize_short_side_size(&oh, &ow, 1000, 300, 425);
    TEST_CHECK(oh == 1416 && ow == 425, "%dx%d", oh, ow);
    free(real), free(pred), free(shuf);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "features") == 0) test_features();
    else if (strcmp(mode, "images") == 0) test_images();
    else if (strcmp(mode, "sanity") == 0) test_sanity();
    else TEST_CHECK(0, "unknown mode '%s' (features|images|sanity)", mode);
    return test_summary();
}
