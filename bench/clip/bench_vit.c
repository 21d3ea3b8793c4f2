/* bench_vit.c — times bmc-extract-clip's ViT forward pass (vit_forward) and this machine's
 * sgemm rate, for bench_clip.py, which runs PyTorch on the same weights and pixels in the
 * same script. Prints one JSON object on stdout; optionally dumps the image embeddings and
 * semantic tokens of the first batch for a parity check.
 * Not a test: it asserts nothing about speed.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_log.h"
#include "vit.h"
#include "weights.h"

static const char usage[] =
    "usage: bench_vit --weights W.safetensors [--config config.json] --pixels P.f32\n"
    "                 [--batch 8] [--seconds 10] [--sgemm 2048] [--dump OUT.f32]\n"
    "P.f32 holds float32 pixel values [B, 3, R, R] (one batch, reused every iteration).\n";

/* Multiply-adds ×2 of one image's forward: patch GEMM, per layer QKV, scores, ·V, out-proj,
 * MLP, and the post projection of every token. */
static double forward_flops(const vit_config *c) {
    double T = c->tokens, W = c->hidden_size, M = c->intermediate_size, D = c->projection_dim;
    double g2 = (double)c->grid * c->grid, cpp = (double)c->num_channels * c->patch_size * c->patch_size;
    double layer = 2 * T * W * 3 * W + 2 * 2 * T * T * W + 2 * T * W * W + 2 * 2 * T * W * M;
    return 2 * g2 * cpp * W + c->num_layers * layer + 2 * T * W * D;
}

static double sgemm_rate(int n) {
    float *a = xmalloc(sizeof(float) * (size_t)n * (size_t)n);
    float *b = xmalloc(sizeof(float) * (size_t)n * (size_t)n);
    float *c = xcalloc((size_t)n * (size_t)n, sizeof(float));
    for (size_t i = 0; i < (size_t)n * (size_t)n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t0 = bmc_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double t = bmc_now() - t0;
        if (t < best) best = t;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * (double)n * n / best / 1e9;
}

int main(int argc, char **argv) {
    const char *weights = NULL, *config = NULL, *pixels_path = NULL, *dump = NULL;
    int batch = 8, sgemm_n = 2048;
    double seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--weights")) weights = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--config")) config = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--pixels")) pixels_path = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--dump")) dump = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--batch")) batch = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--seconds")) seconds = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--sgemm")) sgemm_n = atoi(argv[++i]);
        else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!weights || !pixels_path || batch < 1) {
        fputs(usage, stderr);
        return 2;
    }
    bmc_log_init("bench_vit", BMC_LOG_WARN);
    vit_model m;
    bmc_err err = {0};
    if (clip_weights_load(&m, weights, config, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 2;
    }
    const vit_config *c = &m.cfg;
    size_t per = (size_t)c->num_channels * (size_t)c->image_size * (size_t)c->image_size;
    float *pixels = XNEW(pixels, per * (size_t)batch);
    FILE *f = fopen(pixels_path, "rb");
    if (!f || fread(pixels, sizeof(float), per * (size_t)batch, f) != per * (size_t)batch) {
        fprintf(stderr, "error: cannot read %zu floats from %s\n", per * (size_t)batch, pixels_path);
        return 2;
    }
    fclose(f);
    size_t T = (size_t)c->tokens, D = (size_t)c->projection_dim;
    float *emb = XNEW(emb, (size_t)batch * D), *sem = XNEW(sem, (size_t)batch * T * D);
    vit_outputs req;
    memset(&req, 0, sizeof req);
    req.image_embeds = emb;
    req.semantic = sem;
    vit_workspace ws;
    vit_workspace_alloc(&ws, c, batch);

    vit_results r;
    vit_forward(&m, &ws, pixels, batch, &req, &r); /* warm-up (page faults, thread pool) */
    if (dump) {
        FILE *o = fopen(dump, "wb");
        if (!o || fwrite(emb, sizeof(float), (size_t)batch * D, o) != (size_t)batch * D ||
            fwrite(sem, sizeof(float), (size_t)batch * T * D, o) != (size_t)batch * T * D) {
            fprintf(stderr, "error: cannot write %s\n", dump);
            return 2;
        }
        fclose(o);
    }
    int iters = 0;
    double t_gemm = 0, t0 = bmc_now(), t;
    do {
        vit_forward(&m, &ws, pixels, batch, &req, &r);
        t_gemm += r.seconds_gemm;
        iters++;
        t = bmc_now() - t0;
    } while (t < seconds || iters < 2);
    double images = (double)iters * batch;
    double gflops = forward_flops(c) * images / t / 1e9;
    double peak = sgemm_rate(sgemm_n);
    printf("{\"images_per_s\": %.4f, \"gflops\": %.3f, \"sgemm_gflops\": %.3f, "
           "\"fraction_of_sgemm\": %.4f, \"gemm_time_share\": %.4f, \"iterations\": %d, "
           "\"batch\": %d, \"threads\": %d, \"gflop_per_image\": %.4f}\n",
           images / t, gflops, peak, gflops / peak, t_gemm / t, iters, batch,
           openblas_get_num_threads(), forward_flops(c) / 1e9);
    vit_workspace_free(&ws);
    vit_model_free(&m);
    free(pixels);
    free(emb);
    free(sem);
    return 0;
}
