/* test_clip_vit.c — the CLIP ViT forward pass (stages/extract_clip/vit.c) against the golden
 * set clip-tiny (every hidden state, pooled, image/token embeddings, semantic; batch sizes 1,
 * 3, 4; fast and naive paths), the detail mean, the output request, each fast kernel against
 * its _naive twin, a random model of another shape, and PyTorch when /usr/bin/python3 has it.
 * Usage: test_clip_vit golden|naive|request|kernels|random|torch. The model is filled by a
 * test-only safetensors reader (golden_reader.h), not by weights.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmc_test.h"
#include "golden_reader.h"
#include "vit.h"

#define TOL 1e-4
/* Batch sizes change which row of OpenBLAS's micro-kernel tile a token lands in, and so the
 * rounding (not bit-identical); a real batching bug (images mixing) is O(1). */
#define BATCH_TOL 2e-5

static double max_abs(const float *a, const float *b, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* NaN propagates */
    }
    return m;
}

/* ---- outputs of N images ------------------------------------------------------------------ */

typedef struct outs {
    int N, L;
    size_t ntw, nw, nd, ntd; /* per-image sizes: T·W, W, D, T·D */
    float **hs;              /* [L+1] of [N, T, W] */
    float *pooled, *img, *tok, *sem, *detail;
} outs;

static void outs_alloc(outs *o, const vit_config *c, int N) {
    o->N = N;
    o->L = c->num_layers;
    o->nw = (size_t)c->hidden_size;
    o->ntw = (size_t)c->tokens * o->nw;
    o->nd = (size_t)c->projection_dim;
    o->ntd = (size_t)c->tokens * o->nd;
    o->hs = calloc((size_t)o->L + 1, sizeof *o->hs);
    for (int l = 0; l <= o->L; l++) o->hs[l] = calloc((size_t)N * o->ntw, sizeof(float));
    o->pooled = calloc((size_t)N * o->nw, sizeof(float));
    o->img = calloc((size_t)N * o->nd, sizeof(float));
    o->tok = calloc((size_t)N * o->ntd, sizeof(float));
    o->sem = calloc((size_t)N * o->ntd, sizeof(float));
    o->detail = calloc((size_t)N * o->ntw, sizeof(float));
}

static void outs_free(outs *o) {
    for (int l = 0; l <= o->L; l++) free(o->hs[l]);
    free(o->hs);
    free(o->pooled);
    free(o->img);
    free(o->tok);
    free(o->sem);
    free(o->detail);
}

/* Run every output (detail over d0..d1) on N images in batches of B. */
static void run_all(const vit_model *m, const float *pixels, int N, int B, int naive, outs *o,
                    int d0, int d1) {
    vit_workspace ws;
    vit_workspace_alloc(&ws, &m->cfg, B);
    const size_t npix = (size_t)(m->cfg.num_channels * m->cfg.image_size * m->cfg.image_size);
    float **hs = calloc((size_t)o->L + 1, sizeof *hs);
    for (int s = 0; s < N; s += B) {
        int b = N - s < B ? N - s : B;
        for (int l = 0; l <= o->L; l++) hs[l] = o->hs[l] + (size_t)s * o->ntw;
        vit_outputs req = {.hidden_states = hs, .detail = o->detail + (size_t)s * o->ntw,
                           .detail_first = d0, .detail_last = d1,
                           .pooled = o->pooled + (size_t)s * o->nw,
                           .image_embeds = o->img + (size_t)s * o->nd,
                           .token_embeds = o->tok + (size_t)s * o->ntd,
                           .semantic = o->sem + (size_t)s * o->ntd};
        vit_results res;
        (naive ? vit_forward_naive : vit_forward)(m, &ws, pixels + (size_t)s * npix, b, &req, &res);
        TEST_CHECK(res.seconds >= res.seconds_gemm && (naive || res.gemm_flops > 0),
                   "timings %g s, gemm %g s, %g flops", res.seconds, res.seconds_gemm,
                   res.gemm_flops);
    }
    free(hs);
    vit_workspace_free(&ws);
}

/* max |a - b| over every output of a and b (detail included); prints the parts. */
static double compare_outs(const char *what, const outs *a, const outs *b) {
    size_t N = (size_t)a->N;
    double h = 0.0;
    for (int l = 0; l <= a->L; l++) h = fmax(h, max_abs(a->hs[l], b->hs[l], N * a->ntw));
    double p = max_abs(a->pooled, b->pooled, N * a->nw), i = max_abs(a->img, b->img, N * a->nd);
    double t = max_abs(a->tok, b->tok, N * a->ntd), s = max_abs(a->sem, b->sem, N * a->ntd);
    double d = max_abs(a->detail, b->detail, N * a->ntw);
    printf("%-34s max abs: hidden %.2e pooled %.2e image %.2e tokens %.2e semantic %.2e "
           "detail %.2e\n", what, h, p, i, t, s, d);
    return fmax(fmax(fmax(h, p), fmax(i, t)), fmax(s, d));
}

typedef struct golden {
    vit_config cfg;
    vit_model m;
    int N;
    float *pixels;
    outs ref; /* golden arrays, hidden_states split per layer; detail = mean over 1..L-1 */
    int d0, d1;
} golden;

static int golden_load(golden *g) {
    memset(g, 0, sizeof *g);
    if (gr_load_config(&g->cfg)) {
        fprintf(stderr, "cannot read %s\n", gr_path("config.json"));
        return -1;
    }
    g->m.cfg = g->cfg;
    vit_model_alloc(&g->m);
    if (gr_load_model(&g->m)) return -1;
    gr_file f;
    if (gr_open(&f, gr_path("golden.safetensors"))) return -1;
    int64_t shape[8];
    int nd;
    size_t cnt;
    g->pixels = gr_tensor(&f, "pixel_values", "F32", shape, &nd, &cnt);
    g->N = g->pixels ? (int)shape[0] : 0;
    const vit_config *c = &g->cfg;
    TEST_CHECK(g->pixels && nd == 4 && shape[1] == c->num_channels && shape[2] == c->image_size,
               "pixel_values shape");
    outs_alloc(&g->ref, c, g->N);
    const int L = c->num_layers;
    float *hs = gr_f32(&f, "hidden_states", (size_t)g->N * (size_t)(L + 1) * g->ref.ntw);
    float *pooled = gr_f32(&f, "pooled", (size_t)g->N * g->ref.nw);
    float *img = gr_f32(&f, "image_embeds", (size_t)g->N * g->ref.nd);
    float *tok = gr_f32(&f, "token_embeds", (size_t)g->N * g->ref.ntd);
    float *sem = gr_f32(&f, "token_embeds_vd", (size_t)g->N * g->ref.ntd);
    gr_close(&f);
    if (!g->pixels || !hs || !pooled || !img || !tok || !sem) return -1;
    g->d0 = L > 1 ? 1 : 0;
    g->d1 = L > 1 ? L - 1 : L;
    for (int n = 0; n < g->N; n++)
        for (int l = 0; l <= L; l++) {
            const float *src = hs + ((size_t)n * (size_t)(L + 1) + (size_t)l) * g->ref.ntw;
            memcpy(g->ref.hs[l] + (size_t)n * g->ref.ntw, src, g->ref.ntw * sizeof(float));
            for (size_t i = 0; i < g->ref.ntw && l >= g->d0 && l <= g->d1; i++)
                g->ref.detail[(size_t)n * g->ref.ntw + i] += src[i] / (float)(g->d1 - g->d0 + 1);
        }
    memcpy(g->ref.pooled, pooled, (size_t)g->N * g->ref.nw * sizeof(float));
    memcpy(g->ref.img, img, (size_t)g->N * g->ref.nd * sizeof(float));
    memcpy(g->ref.tok, tok, (size_t)g->N * g->ref.ntd * sizeof(float));
    memcpy(g->ref.sem, sem, (size_t)g->N * g->ref.ntd * sizeof(float));
    free(hs), free(pooled), free(img), free(tok), free(sem);
    return 0;
}

static void golden_free(golden *g) {
    outs_free(&g->ref);
    vit_model_free(&g->m);
    free(g->pixels);
}

/* ---- random models ----------------------------------------------------------------------- */

static uint64_t rng_ = 0x9E3779B97F4A7C15ull;
static float urand(void) { /* uniform in [-1, 1) */
    rng_ ^= rng_ >> 12, rng_ ^= rng_ << 25, rng_ ^= rng_ >> 27;
    return (float)((double)((rng_ * 2685821657736338717ull) >> 11) / 4503599627370496.0 - 1.0);
}
static void fill(float *p, size_t n, float center, float half_width) {
    for (size_t i = 0; i < n; i++) p[i] = center + half_width * urand();
}

/* m->cfg set and derived: allocate and fill like the golden set (uniform, same spreads). */
static void random_model(vit_model *m) {
    vit_model_alloc(m);
    const vit_config *c = &m->cfg;
    const size_t W = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    const size_t CPP = (size_t)(c->num_channels * c->patch_size * c->patch_size);
    const float s3 = 1.7320508f; /* uniform(-a, a) has std a/√3 */
    fill(m->patch_w, W * CPP, 0.0f, s3 / sqrtf((float)CPP));
    fill(m->class_emb, W, 0.0f, 0.35f);
    fill(m->pos_emb, (size_t)c->tokens * W, 0.0f, 0.35f);
    fill(m->pre_ln_w, W, 1.0f, 0.17f), fill(m->pre_ln_b, W, 0.0f, 0.17f);
    for (int l = 0; l < c->num_layers; l++) {
        vit_layer *ly = &m->layers[l];
        fill(ly->ln1_w, W, 1.0f, 0.17f), fill(ly->ln1_b, W, 0.0f, 0.17f);
        fill(ly->qkv_w, 3 * W * W, 0.0f, 1.2f * s3 / sqrtf((float)W));
        fill(ly->qkv_b, 3 * W, 0.0f, 0.17f);
        fill(ly->out_w, W * W, 0.0f, s3 / sqrtf((float)W)), fill(ly->out_b, W, 0.0f, 0.09f);
        fill(ly->ln2_w, W, 1.0f, 0.17f), fill(ly->ln2_b, W, 0.0f, 0.17f);
        fill(ly->fc1_w, I * W, 0.0f, s3 / sqrtf((float)W)), fill(ly->fc1_b, I, 0.0f, 0.17f);
        fill(ly->fc2_w, W * I, 0.0f, s3 / sqrtf((float)I)), fill(ly->fc2_b, W, 0.0f, 0.09f);
    }
    fill(m->post_ln_w, W, 1.0f, 0.17f), fill(m->post_ln_b, W, 0.0f, 0.17f);
    fill(m->proj, (size_t)c->projection_dim * W, 0.0f, s3 / sqrtf((float)W));
}

static vit_config make_config(int R, int P, int W, int heads, int L, int I, int D, int C,
                              int quick) {
    vit_config c = {.image_size = R, .patch_size = P, .hidden_size = W, .num_layers = L,
                    .num_heads = heads, .intermediate_size = I, .projection_dim = D,
                    .num_channels = C, .layer_norm_eps = 1e-5f, .quick_gelu = quick};
    char msg[256];
    BMC_CHECK(vit_config_derive(&c, msg, sizeof msg) == 0);
    return c;
}

static float *random_pixels(const vit_config *c, int N) {
    size_t n = (size_t)N * (size_t)(c->num_channels * c->image_size * c->image_size);
    float *p = malloc(n * sizeof *p);
    fill(p, n, 0.0f, 2.0f);
    return p;
}

/* ---- the cases ---------------------------------------------------------------------------- */

/* Fast path, batch sizes 1, 3, 4 against golden; batches against each other. */
static void test_golden(void) {
    golden g;
    if (golden_load(&g)) {
        TEST_CHECK(0, "cannot load the golden set from %s", gr_path(""));
        return;
    }
    const int Bs[] = {1, 3, 4};
    outs first = {0};
    for (size_t k = 0; k < sizeof Bs / sizeof Bs[0]; k++) {
        outs o;
        char what[64];
        outs_alloc(&o, &g.cfg, g.N);
        run_all(&g.m, g.pixels, g.N, Bs[k], 0, &o, g.d0, g.d1);
        snprintf(what, sizeof what, "fast B=%d vs golden", Bs[k]);
        double e = compare_outs(what, &o, &g.ref);
        TEST_CHECK(e <= TOL, "%s: %.3g", what, e);
        if (k == 0) {
            first = o;
            continue;
        }
        snprintf(what, sizeof what, "fast B=%d vs fast B=1", Bs[k]);
        e = compare_outs(what, &o, &first);
        printf("  batch B=%d %s batch 1\n", Bs[k], e == 0.0 ? "bit-identical to" : "differs from");
        TEST_CHECK(e <= BATCH_TOL, "%s: %.3g", what, e);
        outs_free(&o);
    }
    /* detail over other ranges: the whole stack, and one layer */
    const int L = g.cfg.num_layers, ranges[3][2] = {{0, L}, {L, L}, {0, 0}};
    for (int r = 0; r < 3; r++) {
        outs o;
        outs_alloc(&o, &g.cfg, g.N);
        run_all(&g.m, g.pixels, g.N, g.N, 0, &o, ranges[r][0], ranges[r][1]);
        double e = 0.0;
        for (size_t i = 0; i < (size_t)g.N * o.ntw; i++) {
            double mean = 0.0;
            for (int l = ranges[r][0]; l <= ranges[r][1]; l++) mean += g.ref.hs[l][i];
            mean /= ranges[r][1] - ranges[r][0] + 1;
            e = fmax(e, fabs(mean - o.detail[i]));
        }
        printf("detail %d..%d vs mean of golden hidden states: max abs %.2e\n", ranges[r][0],
               ranges[r][1], e);
        TEST_CHECK(e <= TOL, "detail %d..%d: %.3g", ranges[r][0], ranges[r][1], e);
        outs_free(&o);
    }
    outs_free(&first);
    golden_free(&g);
}

/* Naive path against golden and against the fast path. */
static void test_naive(void) {
    golden g;
    if (golden_load(&g)) {
        TEST_CHECK(0, "cannot load the golden set from %s", gr_path(""));
        return;
    }
    outs fast, naive;
    outs_alloc(&fast, &g.cfg, g.N);
    outs_alloc(&naive, &g.cfg, g.N);
    run_all(&g.m, g.pixels, g.N, g.N, 0, &fast, g.d0, g.d1);
    for (int B = 3; B <= 4; B++) {
        run_all(&g.m, g.pixels, g.N, B, 1, &naive, g.d0, g.d1);
        char what[64];
        snprintf(what, sizeof what, "naive B=%d vs golden", B);
        double e = compare_outs(what, &naive, &g.ref);
        TEST_CHECK(e <= TOL, "%s: %.3g", what, e);
    }
    double e = compare_outs("fast vs naive", &fast, &naive);
    TEST_CHECK(e <= TOL, "fast vs naive: %.3g", e);
    outs_free(&fast);
    outs_free(&naive);
    golden_free(&g);
}

/* vit_outputs_check, and subsets of outputs equal to the full request's. */
static void test_request(void) {
    vit_config c = make_config(16, 8, 8, 2, 4, 16, 4, 3, 1);
    float dummy = 0.0f;
    const int bad[][2] = {{-1, 2}, {3, 2}, {0, 5}, {5, 5}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        vit_outputs req = {.detail = &dummy, .detail_first = bad[k][0], .detail_last = bad[k][1]};
        bmc_err err = {0};
        TEST_CHECK(vit_outputs_check(&req, &c, &err) == -1 && strstr(err.msg, "0..4"),
                   "range %d..%d accepted or message '%s'", bad[k][0], bad[k][1], err.msg);
    }
    const int good[][2] = {{0, 4}, {4, 4}, {1, 3}, {0, 0}};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        vit_outputs req = {.detail = &dummy, .detail_first = good[k][0], .detail_last = good[k][1]};
        bmc_err err = {0};
        TEST_CHECK(vit_outputs_check(&req, &c, &err) == 0, "range %d..%d: %s", good[k][0],
                   good[k][1], err.msg);
    }
    vit_outputs none = {.detail_first = 9, .detail_last = -3}; /* no detail: range unused */
    bmc_err err = {0};
    TEST_CHECK(vit_outputs_check(&none, &c, &err) == 0, "range without detail: %s", err.msg);

    golden g;
    if (golden_load(&g)) {
        TEST_CHECK(0, "cannot load the golden set from %s", gr_path(""));
        return;
    }
    outs full, part;
    outs_alloc(&full, &g.cfg, g.N);
    outs_alloc(&part, &g.cfg, g.N);
    run_all(&g.m, g.pixels, g.N, g.N, 0, &full, g.d0, g.d1);
    vit_workspace ws;
    vit_workspace_alloc(&ws, &g.cfg, g.N);
    float **hs = calloc((size_t)g.cfg.num_layers + 1, sizeof *hs);
    hs[g.cfg.num_layers] = part.hs[g.cfg.num_layers];
    vit_outputs only_sem = {.semantic = part.sem, .hidden_states = hs};
    vit_forward(&g.m, &ws, g.pixels, g.N, &only_sem, NULL);
    vit_outputs only_cls = {.pooled = part.pooled, .image_embeds = part.img};
    vit_forward(&g.m, &ws, g.pixels, g.N, &only_cls, NULL);
    vit_outputs nothing = {0};
    vit_forward(&g.m, &ws, g.pixels, g.N, &nothing, NULL);
    size_t N = (size_t)g.N;
    double es = max_abs(part.sem, full.sem, N * part.ntd);
    double eh = max_abs(part.hs[g.cfg.num_layers], full.hs[g.cfg.num_layers], N * part.ntw);
    double ep = max_abs(part.pooled, full.pooled, N * part.nw);
    double ei = max_abs(part.img, full.img, N * part.nd);
    printf("subset requests vs full: semantic %.2e last hidden %.2e pooled %.2e image %.2e\n",
           es, eh, ep, ei);
    TEST_CHECK(es <= 1e-6 && eh == 0.0 && ep <= 1e-6 && ei <= 1e-6, "subset outputs differ");
    free(hs);
    vit_workspace_free(&ws);
    outs_free(&full);
    outs_free(&part);
    golden_free(&g);
}

/* Each fast kernel against its naive twin on an odd shape (W % 4 != 0, 2 channels). */
static void test_kernels(void) {
    vit_model m = {.cfg = make_config(15, 5, 22, 2, 1, 37, 7, 2, 0)};
    random_model(&m);
    const vit_config *c = &m.cfg;
    const int B = 2, W = c->hidden_size, T = c->tokens, N = B * T, NI = c->intermediate_size;
    const size_t nx = (size_t)N * (size_t)W;
    float *pixels = random_pixels(c, B);
    float *a = malloc((size_t)N * (size_t)(W + 3) * sizeof *a), *f = malloc(nx * sizeof *f);
    float *r = malloc(nx * sizeof *r), *x0 = malloc(nx * sizeof *x0);
    float *qkv = malloc(3 * nx * sizeof *qkv), *att = malloc((size_t)(T * T) * sizeof *att);
    float *o = malloc(nx * sizeof *o), *h = malloc((size_t)N * (size_t)NI * sizeof *h);
    float *cols = malloc((size_t)(B * c->grid * c->grid * c->num_channels * c->patch_size *
                                  c->patch_size) * sizeof *cols);
    float *ef = malloc((size_t)N * (size_t)c->projection_dim * sizeof *ef);
    float *er = malloc((size_t)N * (size_t)c->projection_dim * sizeof *er);

    vit_patch_embed_forward(f, cols, pixels, m.patch_w, B, c);
    vit_patch_embed_forward_naive(r, pixels, m.patch_w, B, c);
    double e = max_abs(f, r, (size_t)(B * c->grid * c->grid * W));
    printf("kernel patch_embed fast vs naive: %.2e\n", e);
    TEST_CHECK(e <= 1e-5, "patch_embed %.3g", e);

    fill(a, (size_t)N * (size_t)(W + 3), 100.0f, 3.0f); /* large mean, rows at stride W+3 */
    vit_layernorm_forward(f, a, (size_t)W + 3, m.pre_ln_w, m.pre_ln_b, N, W, 1e-5f);
    vit_layernorm_forward_naive(r, a, (size_t)W + 3, m.pre_ln_w, m.pre_ln_b, N, W, 1e-5f);
    e = max_abs(f, r, nx);
    printf("kernel layernorm fast vs naive: %.2e\n", e);
    TEST_CHECK(e <= 1e-5, "layernorm %.3g", e);

    fill(a, nx, 0.0f, 2.0f);
    fill(x0, nx, 0.0f, 2.0f);
    memcpy(f, x0, nx * sizeof *f), memcpy(r, x0, nx * sizeof *r);
    vit_attention_forward(f, qkv, att, o, a, &m.layers[0], B, c);
    vit_attention_forward_naive(r, qkv, att, o, a, &m.layers[0], B, c);
    e = max_abs(f, r, nx);
    printf("kernel attention fast vs naive: %.2e\n", e);
    TEST_CHECK(e <= 1e-5, "attention %.3g", e);

    for (int quick = 0; quick <= 1; quick++) {
        m.cfg.quick_gelu = quick;
        memcpy(f, x0, nx * sizeof *f), memcpy(r, x0, nx * sizeof *r);
        vit_mlp_forward(f, h, a, &m.layers[0], N, c);
        vit_mlp_forward_naive(r, h, a, &m.layers[0], N, c);
        e = max_abs(f, r, nx);
        printf("kernel mlp (quick_gelu %d) fast vs naive: %.2e\n", quick, e);
        TEST_CHECK(e <= 1e-5, "mlp %.3g", e);
    }

    vit_post_forward(f, ef, a, (size_t)W, N, &m);
    vit_post_forward_naive(r, er, a, (size_t)W, N, &m);
    e = fmax(max_abs(f, r, nx), max_abs(ef, er, (size_t)N * (size_t)c->projection_dim));
    printf("kernel post fast vs naive: %.2e\n", e);
    TEST_CHECK(e <= 1e-5, "post %.3g", e);
    free(pixels), free(a), free(f), free(r), free(x0), free(qkv), free(att), free(o), free(h);
    free(cols), free(ef), free(er);
    vit_model_free(&m);
}

/* A random model of another shape, both GELUs: fast vs naive, batch 2 vs 3. */
static void test_random(void) {
    for (int quick = 1; quick >= 0; quick--) {
        vit_model m = {.cfg = make_config(40, 8, 60, 4, 3, 100, 20, 3, quick)};
        random_model(&m);
        const int N = 3;
        float *pixels = random_pixels(&m.cfg, N);
        outs fast, naive, fast2;
        outs_alloc(&fast, &m.cfg, N), outs_alloc(&naive, &m.cfg, N), outs_alloc(&fast2, &m.cfg, N);
        run_all(&m, pixels, N, 3, 0, &fast, 1, 2);
        run_all(&m, pixels, N, 3, 1, &naive, 1, 2);
        run_all(&m, pixels, N, 2, 0, &fast2, 1, 2);
        char what[64];
        snprintf(what, sizeof what, "random quick_gelu=%d fast vs naive", quick);
        double e = compare_outs(what, &fast, &naive);
        TEST_CHECK(e <= TOL, "%s: %.3g", what, e);
        e = compare_outs("random fast B=2 vs B=3", &fast2, &fast);
        TEST_CHECK(e <= BATCH_TOL, "batching changes the random model's outputs: %.3g", e);
        outs_free(&fast), outs_free(&naive), outs_free(&fast2);
        free(pixels);
        vit_model_free(&m);
    }
}

/* ---- PyTorch ------------------------------------------------------------------------------ */

/* An independent float32 forward in torch.nn.functional (conv2d, layer_norm, OpenAI's
 * multi_head_attention_forward). For each folder d given: reads d/cfg.json, d/model.bin (the
 * tensors in the order torch_write writes them) and d/pixels.bin; writes d/out.bin = hidden
 * states [L+1, B, T, W], pooled [B, W], image_embeds [B, D], token_embeds, semantic [B, T, D]. */
static const char *const torch_script[] = {
    "import json, sys, numpy as np, torch",
    "import torch.nn.functional as F",
    "torch.set_num_threads(1)",
    "def run(d):",
    "    c = json.load(open(d + '/cfg.json'))",
    "    R, P, W, L, H, I, D, C, B = (c[k] for k in 'R P W L heads I D C B'.split())",
    "    T, eps = 1 + (R // P) ** 2, c['eps']",
    "    raw, pos = np.fromfile(d + '/model.bin', dtype='<f4'), [0]",
    "    def take(*shape):",
    "        n = int(np.prod(shape))",
    "        t = torch.from_numpy(raw[pos[0]:pos[0] + n].reshape(shape).copy())",
    "        pos[0] += n",
    "        return t",
    "    patch, cls, pe, pre_w, pre_b = take(W, C, P, P), take(W), take(T, W), take(W), take(W)",
    "    names = 'l1w l1b qkvw qkvb ow ob l2w l2b f1w f1b f2w f2b'.split()",
    "    shapes = ((W,), (W,), (3 * W, W), (3 * W,), (W, W), (W,), (W,), (W,), (I, W), (I,),",
    "              (W, I), (W,))",
    "    layers = [{n: take(*s) for n, s in zip(names, shapes)} for _ in range(L)]",
    "    post_w, post_b, proj = take(W), take(W), take(D, W)",
    "    assert pos[0] == raw.size",
    "    px = torch.from_numpy(np.fromfile(d + '/pixels.bin', dtype='<f4').reshape(B, C, R, R))",
    "    x = F.conv2d(px, patch, stride=P).flatten(2).transpose(1, 2)",
    "    x = torch.cat([cls.expand(B, 1, W), x], 1) + pe",
    "    x = F.layer_norm(x, (W,), pre_w, pre_b, eps)",
    "    hs = [x]",
    "    for ly in layers:",
    "        a = F.layer_norm(x, (W,), ly['l1w'], ly['l1b'], eps).transpose(0, 1)",
    "        o, _ = F.multi_head_attention_forward(a, a, a, W, H, ly['qkvw'], ly['qkvb'], None,",
    "            None, False, 0.0, ly['ow'], ly['ob'], training=False, need_weights=False)",
    "        x = x + o.transpose(0, 1)",
    "        m = F.linear(F.layer_norm(x, (W,), ly['l2w'], ly['l2b'], eps), ly['f1w'], ly['f1b'])",
    "        m = m * torch.sigmoid(1.702 * m) if c['quick'] else F.gelu(m)",
    "        x = x + F.linear(m, ly['f2w'], ly['f2b'])",
    "        hs.append(x)",
    "    ln = F.layer_norm(x, (W,), post_w, post_b, eps)",
    "    tok = F.linear(ln, proj)",
    "    sem = tok / tok[:, :1].norm(dim=-1, keepdim=True)",
    "    out = [torch.stack(hs), ln[:, 0], tok[:, 0], tok, sem]",
    "    out = np.concatenate([t.contiguous().numpy().ravel() for t in out])",
    "    out.astype('<f4').tofile(d + '/out.bin')",
    "with torch.no_grad():",
    "    for d in sys.argv[1:]:",
    "        run(d)",
};

static const char *python3(void) {
    const char *py = getenv("BMC_PYTHON3");
    return py && *py ? py : "/usr/bin/python3";
}

typedef struct torch_case {
    const char *what;
    const vit_model *m;
    const float *pixels;
    int N;
    const outs *golden; /* NULL, or golden outputs to check the script itself against */
    char dir[128];
} torch_case;

/* Write fp (n floats); clears *ok on a short write. */
static void put(FILE *fp, const float *p, size_t n, int *ok) {
    if (!fp || fwrite(p, sizeof *p, n, fp) != n) *ok = 0;
}

/* The inputs of one case into tc->dir: cfg.json, model.bin, pixels.bin. */
static int torch_write(const torch_case *tc) {
    const vit_config *c = &tc->m->cfg;
    const vit_model *m = tc->m;
    char path[256];
    int ok = 1;
    snprintf(path, sizeof path, "%s/cfg.json", tc->dir);
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fprintf(fp, "{\"R\": %d, \"P\": %d, \"W\": %d, \"L\": %d, \"heads\": %d, \"I\": %d, \"D\": %d, "
                "\"C\": %d, \"B\": %d, \"eps\": %.9g, \"quick\": %d}\n", c->image_size,
            c->patch_size, c->hidden_size, c->num_layers, c->num_heads, c->intermediate_size,
            c->projection_dim, c->num_channels, tc->N, (double)c->layer_norm_eps, c->quick_gelu);
    fclose(fp);
    const size_t W = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    const size_t T = (size_t)c->tokens, D = (size_t)c->projection_dim;
    snprintf(path, sizeof path, "%s/model.bin", tc->dir);
    fp = fopen(path, "wb");
    put(fp, m->patch_w, W * (size_t)(c->num_channels * c->patch_size * c->patch_size), &ok);
    put(fp, m->class_emb, W, &ok), put(fp, m->pos_emb, T * W, &ok);
    put(fp, m->pre_ln_w, W, &ok), put(fp, m->pre_ln_b, W, &ok);
    for (int l = 0; l < c->num_layers; l++) {
        const vit_layer *ly = &m->layers[l];
        put(fp, ly->ln1_w, W, &ok), put(fp, ly->ln1_b, W, &ok);
        put(fp, ly->qkv_w, 3 * W * W, &ok), put(fp, ly->qkv_b, 3 * W, &ok);
        put(fp, ly->out_w, W * W, &ok), put(fp, ly->out_b, W, &ok);
        put(fp, ly->ln2_w, W, &ok), put(fp, ly->ln2_b, W, &ok);
        put(fp, ly->fc1_w, I * W, &ok), put(fp, ly->fc1_b, I, &ok);
        put(fp, ly->fc2_w, W * I, &ok), put(fp, ly->fc2_b, W, &ok);
    }
    put(fp, m->post_ln_w, W, &ok), put(fp, m->post_ln_b, W, &ok);
    put(fp, m->proj, D * W, &ok);
    if (fp) fclose(fp);
    snprintf(path, sizeof path, "%s/pixels.bin", tc->dir);
    fp = fopen(path, "wb");
    const size_t npix = (size_t)(c->num_channels * c->image_size * c->image_size);
    put(fp, tc->pixels, (size_t)tc->N * npix, &ok);
    if (fp) fclose(fp);
    return ok ? 0 : -1;
}

/* Read tc->dir/out.bin and compare with the fast path (and torch with golden). */
static void torch_check(const torch_case *tc) {
    const vit_config *c = &tc->m->cfg;
    const int N = tc->N;
    const size_t W = (size_t)c->hidden_size, T = (size_t)c->tokens, D = (size_t)c->projection_dim;
    outs t, o;
    outs_alloc(&t, c, N), outs_alloc(&o, c, N);
    char path[256];
    snprintf(path, sizeof path, "%s/out.bin", tc->dir);
    FILE *fp = fopen(path, "rb");
    size_t got = 0;
    for (int l = 0; fp && l <= c->num_layers; l++)
        got += fread(t.hs[l], sizeof(float), (size_t)N * T * W, fp);
    if (fp) {
        got += fread(t.pooled, sizeof(float), (size_t)N * W, fp);
        got += fread(t.img, sizeof(float), (size_t)N * D, fp);
        got += fread(t.tok, sizeof(float), (size_t)N * T * D, fp);
        got += fread(t.sem, sizeof(float), (size_t)N * T * D, fp);
        fclose(fp);
    }
    const size_t want = (size_t)N * ((size_t)(c->num_layers + 1) * T * W + W + D + 2 * T * D);
    TEST_CHECK(got == want, "%s: torch output has %zu floats, expected %zu", tc->what, got, want);
    if (got == want) {
        run_all(tc->m, tc->pixels, N, N, 0, &o, 0, 0); /* detail 0..0 = hidden state 0 */
        memcpy(t.detail, t.hs[0], (size_t)N * T * W * sizeof(float));
        char label[96];
        snprintf(label, sizeof label, "%s: fast vs torch", tc->what);
        double e = compare_outs(label, &o, &t);
        TEST_CHECK(e <= TOL, "%s: %.3g", label, e);
        if (tc->golden) {
            memcpy(t.detail, tc->golden->detail, (size_t)N * T * W * sizeof(float));
            snprintf(label, sizeof label, "%s: torch vs golden", tc->what);
            e = compare_outs(label, &t, tc->golden);
            TEST_CHECK(e <= TOL, "%s: %.3g", label, e);
        }
    }
    outs_free(&t), outs_free(&o);
}

/* clip-tiny and two random models (both GELUs) against one python3 run. */
static void test_torch(void) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s -c 'import torch' >/dev/null 2>&1", python3());
    if (system(cmd) != 0) {
        printf("NOTICE: torch is not importable by %s: PyTorch comparison skipped "
               "(the golden check is the binding one)\n", python3());
        return;
    }
    golden g;
    if (golden_load(&g)) {
        TEST_CHECK(0, "cannot load the golden set from %s", gr_path(""));
        return;
    }
    vit_model rnd[2] = {{.cfg = make_config(40, 8, 60, 4, 3, 100, 20, 3, 1)},
                        {.cfg = make_config(40, 8, 60, 4, 3, 100, 20, 3, 0)}};
    random_model(&rnd[0]), random_model(&rnd[1]);
    float *px = random_pixels(&rnd[0].cfg, 3);
    torch_case cases[3] = {{"clip-tiny", &g.m, g.pixels, g.N, &g.ref, ""},
                           {"random quick_gelu", &rnd[0], px, 3, NULL, ""},
                           {"random erf gelu", &rnd[1], px, 3, NULL, ""}};
    char root[] = "/tmp/clip_vit_torch.XXXXXX", path[256];
    TEST_CHECK(mkdtemp(root) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/vit.py", root);
    FILE *fp = fopen(path, "w");
    for (size_t k = 0; fp && k < sizeof torch_script / sizeof torch_script[0]; k++)
        fprintf(fp, "%s\n", torch_script[k]);
    if (fp) fclose(fp);
    int n = snprintf(cmd, sizeof cmd, "%s %s", python3(), path);
    for (int k = 0; k < 3; k++) {
        snprintf(cases[k].dir, sizeof cases[k].dir, "%s/%d", root, k);
        TEST_CHECK(mkdir(cases[k].dir, 0700) == 0 && torch_write(&cases[k]) == 0,
                   "cannot write the torch inputs to %s", cases[k].dir);
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s", cases[k].dir);
    }
    int rc = system(cmd);
    TEST_CHECK(rc == 0, "%s failed (%d)", cmd, rc);
    for (int k = 0; k < 3; k++) {
        if (rc == 0) torch_check(&cases[k]);
        const char *files[] = {"cfg.json", "model.bin", "pixels.bin", "out.bin"};
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
            snprintf(path, sizeof path, "%s/%s", cases[k].dir, files[f]);
            remove(path);
        }
        rmdir(cases[k].dir);
    }
    snprintf(path, sizeof path, "%s/vit.py", root);
    remove(path);
    rmdir(root);
    free(px);
    vit_model_free(&rnd[0]), vit_model_free(&rnd[1]);
    golden_free(&g);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "golden";
    static const struct { const char *name; void (*fn)(void); } cases[] = {
        {"golden", test_golden}, {"naive", test_naive}, {"request", test_request},
        {"kernels", test_kernels}, {"random", test_random}, {"torch", test_torch}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (strcmp(which, cases[k].name) == 0 || strcmp(which, "all") == 0) cases[k].fn();
    return test_summary();
}
