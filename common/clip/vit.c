/* vit.c — the CLIP ViT image-tower forward pass, llm.c style: one function per layer (outputs
 * first), each with a plain-loop _naive twin kept as the test reference, and vit_forward /
 * vit_forward_naive running the whole model on a batch. Activations are [B·T, W] row-major,
 * so every Linear is one cblas_sgemm; attention runs sgemm on strided views of the fused qkv.
 * Not here: parameter storage (vit_model.c), weight files (weights.c), preprocessing.
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "bmc_log.h"
#include "vit.h"

/* ---- sgemm with cost accounting ------------------------------------------------------ */

/* Per-thread totals of the forward in progress (reset by vit_forward). */
static _Thread_local double gemm_seconds_, gemm_flops_;

/* C [M, N] = alpha · A [M, K] · op(B) + beta · C, row-major; op(B) = Bᵀ with B [N, K] when
 * b_transposed, else B [K, N]. */
static void sgemm(int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                  int ldb, int b_transposed, float beta, float *C, int ldc) {
    double t0 = bmc_now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, b_transposed ? CblasTrans : CblasNoTrans, M, N, K,
                alpha, A, lda, B, ldb, beta, C, ldc);
    gemm_seconds_ += bmc_now() - t0;
    gemm_flops_ += 2.0 * M * N * K;
}

/* ---- element-wise work -----------------------------------------------------------------
 * Plain C in fixed blocks of VEC lanes, which gcc vectorises at -O2 (a loop of unknown length
 * is not), compiled for AVX-512, AVX2 and baseline x86-64 (picked at load time) where gcc
 * allows it. Per-lane partial sums fix the summation order, and without -ffast-math or FMA
 * contraction (ISO C mode) every clone gives bit-identical results. */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VIT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VIT_CLONES
#endif

#define VEC 16

/* The float's bits as an int ordered like the float values: a clamp or max through int
 * compares, as float compares (under -ftrapping-math) keep gcc from vectorising. */
static inline int32_t float_order(float x) {
    int32_t i;
    memcpy(&i, &x, sizeof i);
    return i ^ ((i >> 31) & 0x7FFFFFFF);
}

static inline float order_float(int32_t k) {
    k ^= (k >> 31) & 0x7FFFFFFF;
    float x;
    memcpy(&x, &k, sizeof x);
    return x;
}

/* e^x, relative error < 1e-7 on [-87, 88] (Cephes expf polynomial, Cody-Waite reduction);
 * x is clamped to that range first, so e^(-inf) gives 1.6e-38 and NaN gives e^88. */
static inline float exp_approx(float x) {
    int32_t k = float_order(x);
    const int32_t lo = float_order(-87.0f), hi = float_order(88.0f);
    k = k < lo ? lo : k;
    x = order_float(k > hi ? hi : k);
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round(x/ln2) */
    const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) * (1 << 23); /* 2^n, n in -126..127 */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Each of the N rows of out [N, n] starts as bias [n] (before an sgemm with beta = 1). */
static void rows_set(float *out, const float *bias, int N, int n) {
    for (int r = 0; r < N; r++) memcpy(out + (size_t)r * (size_t)n, bias, (size_t)n * sizeof *out);
}

/* out [N, n] += bias [n] on every row. */
VIT_CLONES static void rows_add(float *restrict out, const float *restrict bias, int N, int n) {
    for (int r = 0; r < N; r++) {
        float *row = out + (size_t)r * (size_t)n;
        int j = 0;
        for (; j + VEC <= n; j += VEC)
            for (int k = 0; k < VEC; k++) row[j + k] += bias[j + k];
        for (; j < n; j++) row[j] += bias[j];
    }
}

/* Each row of s [rows, n] becomes softmax(row), the row maximum subtracted. */
VIT_CLONES static void softmax_rows(float *s, int rows, int n) {
    for (int r = 0; r < rows; r++) {
        float *row = s + (size_t)r * (size_t)n;
        int32_t mx[VEC];
        float acc[VEC] = {0};
        for (int k = 0; k < VEC; k++) mx[k] = float_order(row[0]);
        int j = 0;
        for (; j + VEC <= n; j += VEC)
            for (int k = 0; k < VEC; k++) {
                int32_t v = float_order(row[j + k]);
                mx[k] = v > mx[k] ? v : mx[k];
            }
        for (; j < n; j++) mx[0] = float_order(row[j]) > mx[0] ? float_order(row[j]) : mx[0];
        for (int k = 1; k < VEC; k++) mx[0] = mx[k] > mx[0] ? mx[k] : mx[0];
        const float m = order_float(mx[0]);
        for (j = 0; j + VEC <= n; j += VEC)
            for (int k = 0; k < VEC; k++) {
                row[j + k] = exp_approx(row[j + k] - m);
                acc[k] += row[j + k];
            }
        for (; j < n; j++) {
            row[j] = exp_approx(row[j] - m);
            acc[0] += row[j];
        }
        float sum = 0.0f;
        for (int k = 0; k < VEC; k++) sum += acc[k];
        const float inv = 1.0f / sum;
        for (j = 0; j + VEC <= n; j += VEC)
            for (int k = 0; k < VEC; k++) row[j + k] *= inv;
        for (; j < n; j++) row[j] *= inv;
    }
}

/* h [N, n] = gelu(h + bias [n]): quick x·σ(1.702x) when quick, else exact 0.5x(1+erf(x/√2)). */
VIT_CLONES static void gelu_rows(float *restrict h, const float *restrict bias, int N, int n,
                                 int quick) {
    for (int r = 0; r < N; r++) {
        float *row = h + (size_t)r * (size_t)n;
        if (!quick) {
            for (int j = 0; j < n; j++) {
                float v = row[j] + bias[j];
                row[j] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
            }
            continue;
        }
        int j = 0;
        for (; j + VEC <= n; j += VEC)
            for (int k = 0; k < VEC; k++) {
                float v = row[j + k] + bias[j + k];
                row[j + k] = v / (1.0f + exp_approx(-1.702f * v));
            }
        for (; j < n; j++) {
            float v = row[j] + bias[j];
            row[j] = v / (1.0f + exp_approx(-1.702f * v));
        }
    }
}

/* ---- patch embedding ------------------------------------------------------------------ */

void vit_patch_embed_forward(float *out, float *cols, const float *pixels, const float *patch_w,
                             int B, const vit_config *c) {
    /* out [B·g², W], cols [B·g², C·P·P], pixels [B, C, R, R], patch_w [W, C·P·P] */
    const int C = c->num_channels, R = c->image_size, P = c->patch_size, g = c->grid;
    const size_t CPP = (size_t)C * (size_t)P * (size_t)P;
    for (int b = 0; b < B; b++)
        for (int gy = 0; gy < g; gy++)
            for (int gx = 0; gx < g; gx++) {
                float *row = cols + ((size_t)(b * g + gy) * (size_t)g + (size_t)gx) * CPP;
                for (int ch = 0; ch < C; ch++)
                    for (int ky = 0; ky < P; ky++) {
                        const float *src = pixels +
                                           ((size_t)(b * C + ch) * (size_t)R +
                                            (size_t)(gy * P + ky)) * (size_t)R + (size_t)(gx * P);
                        memcpy(row + (size_t)(ch * P + ky) * (size_t)P, src,
                               (size_t)P * sizeof *src);
                    }
            }
    sgemm(B * g * g, c->hidden_size, (int)CPP, 1.0f, cols, (int)CPP, patch_w, (int)CPP, 1, 0.0f,
          out, c->hidden_size);
}

void vit_patch_embed_forward_naive(float *out, const float *pixels, const float *patch_w, int B,
                                   const vit_config *c) {
    /* out [B·g², W], pixels [B, C, R, R], patch_w [W, C, P, P]: a stride-P convolution */
    const int C = c->num_channels, R = c->image_size, P = c->patch_size, g = c->grid;
    const int W = c->hidden_size;
    for (int b = 0; b < B; b++)
        for (int p = 0; p < g * g; p++)
            for (int o = 0; o < W; o++) {
                int gy = p / g, gx = p % g;
                double acc = 0.0;
                for (int ch = 0; ch < C; ch++)
                    for (int ky = 0; ky < P; ky++)
                        for (int kx = 0; kx < P; kx++)
                            acc += (double)patch_w[((o * C + ch) * P + ky) * P + kx] *
                                   (double)pixels[((size_t)(b * C + ch) * (size_t)R +
                                                   (size_t)(gy * P + ky)) * (size_t)R +
                                                  (size_t)(gx * P + kx)];
                out[((size_t)b * (size_t)(g * g) + (size_t)p) * (size_t)W + (size_t)o] = (float)acc;
            }
}

void vit_embeddings_forward(float *x, const float *patches, const float *class_emb,
                            const float *pos_emb, int B, const vit_config *c) {
    /* x [B·T, W], patches [B·g², W], class_emb [W], pos_emb [T, W] */
    const size_t W = (size_t)c->hidden_size, T = (size_t)c->tokens;
    for (size_t b = 0; b < (size_t)B; b++)
        for (size_t t = 0; t < T; t++) {
            float *dst = x + (b * T + t) * W;
            const float *src = t == 0 ? class_emb : patches + (b * (T - 1) + t - 1) * W;
            const float *pos = pos_emb + t * W;
            for (size_t j = 0; j < W; j++) dst[j] = src[j] + pos[j];
        }
}

/* ---- LayerNorm ------------------------------------------------------------------------ */

VIT_CLONES void vit_layernorm_forward(float *restrict out, const float *restrict inp,
                                      size_t inp_stride, const float *restrict w,
                                      const float *restrict b, int N, int W, float eps) {
    /* out [N, W], inp N rows of W at stride inp_stride, w [W], b [W]; float sums in VEC lanes */
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * inp_stride;
        float *y = out + (size_t)n * (size_t)W;
        float acc[VEC] = {0}, sum = 0.0f;
        int j = 0;
        for (; j + VEC <= W; j += VEC)
            for (int k = 0; k < VEC; k++) acc[k] += x[j + k];
        for (; j < W; j++) acc[0] += x[j];
        for (int k = 0; k < VEC; k++) sum += acc[k], acc[k] = 0.0f;
        const float mean = sum / (float)W;
        for (j = 0; j + VEC <= W; j += VEC)
            for (int k = 0; k < VEC; k++) acc[k] += (x[j + k] - mean) * (x[j + k] - mean);
        for (; j < W; j++) acc[0] += (x[j] - mean) * (x[j] - mean);
        sum = 0.0f;
        for (int k = 0; k < VEC; k++) sum += acc[k];
        const float rstd = 1.0f / sqrtf(sum / (float)W + eps);
        for (j = 0; j + VEC <= W; j += VEC)
            for (int k = 0; k < VEC; k++) y[j + k] = (x[j + k] - mean) * rstd * w[j + k] + b[j + k];
        for (; j < W; j++) y[j] = (x[j] - mean) * rstd * w[j] + b[j];
    }
}

void vit_layernorm_forward_naive(float *out, const float *inp, size_t inp_stride, const float *w,
                                 const float *b, int N, int W, float eps) {
    /* out [N, W], inp N rows of W at stride inp_stride, w [W], b [W] */
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * inp_stride;
        double mean = 0.0, var = 0.0;
        for (int j = 0; j < W; j++) mean += x[j];
        mean /= W;
        for (int j = 0; j < W; j++) var += (x[j] - mean) * (x[j] - mean);
        double rstd = 1.0 / sqrt(var / W + (double)eps);
        for (int j = 0; j < W; j++)
            out[(size_t)n * (size_t)W + (size_t)j] = (float)((x[j] - mean) * rstd * w[j] + b[j]);
    }
}

/* ---- attention ------------------------------------------------------------------------ */

void vit_attention_forward(float *x, float *qkv, float *att, float *o, const float *a,
                           const vit_layer *ly, int B, const vit_config *c) {
    /* x [B·T, W] in/out, qkv [B·T, 3W], att [T, T], o [B·T, W] (may alias a), a [B·T, W] */
    const int W = c->hidden_size, T = c->tokens, hd = c->head_dim, N = B * T;
    const int W3 = 3 * W;
    rows_set(qkv, ly->qkv_b, N, W3);
    sgemm(N, W3, W, 1.0f, a, W, ly->qkv_w, W, 1, 1.0f, qkv, W3);
    const float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < c->num_heads; h++) {
            const float *q = qkv + (size_t)b * (size_t)T * (size_t)W3 + (size_t)(h * hd);
            const float *k = q + W, *v = q + 2 * W;
            sgemm(T, T, hd, scale, q, W3, k, W3, 1, 0.0f, att, T); /* q·kᵀ/√hd */
            softmax_rows(att, T, T);
            sgemm(T, hd, T, 1.0f, att, T, v, W3, 0, 0.0f,
                  o + (size_t)b * (size_t)T * (size_t)W + (size_t)(h * hd), W);
        }
    rows_add(x, ly->out_b, N, W);
    sgemm(N, W, W, 1.0f, o, W, ly->out_w, W, 1, 1.0f, x, W);
}

/* out [N, n_out] (= or +=) bias + inp [N, n_in] · wᵀ (w [n_out, n_in]), double sums. */
static void linear_naive(float *out, const float *inp, const float *w, const float *bias, int N,
                         int n_in, int n_out, int accumulate) {
    for (int r = 0; r < N; r++)
        for (int o = 0; o < n_out; o++) {
            double acc = bias ? (double)bias[o] : 0.0;
            for (int i = 0; i < n_in; i++)
                acc += (double)inp[(size_t)r * (size_t)n_in + (size_t)i] *
                       (double)w[(size_t)o * (size_t)n_in + (size_t)i];
            float *dst = out + (size_t)r * (size_t)n_out + (size_t)o;
            *dst = accumulate ? (float)((double)*dst + acc) : (float)acc;
        }
}

void vit_attention_forward_naive(float *x, float *qkv, float *att, float *o, const float *a,
                                 const vit_layer *ly, int B, const vit_config *c) {
    /* x [B·T, W] in/out, qkv [B·T, 3W], att [T, T], o [B·T, W] (may alias a), a [B·T, W] */
    const int W = c->hidden_size, T = c->tokens, hd = c->head_dim, W3 = 3 * W;
    linear_naive(qkv, a, ly->qkv_w, ly->qkv_b, B * T, W, W3, 0);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < c->num_heads; h++) {
            const float *base = qkv + (size_t)b * (size_t)T * (size_t)W3 + (size_t)(h * hd);
            for (int i = 0; i < T; i++) {
                double mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < T; j++) {
                    double s = 0.0;
                    for (int d = 0; d < hd; d++)
                        s += (double)base[(size_t)i * (size_t)W3 + (size_t)d] *
                             (double)base[(size_t)j * (size_t)W3 + (size_t)(W + d)];
                    s /= sqrt((double)hd);
                    att[i * T + j] = (float)s;
                    if (s > mx) mx = s;
                }
                for (int j = 0; j < T; j++) sum += exp((double)att[i * T + j] - mx);
                for (int d = 0; d < hd; d++) {
                    double acc = 0.0;
                    for (int j = 0; j < T; j++)
                        acc += exp((double)att[i * T + j] - mx) / sum *
                               (double)base[(size_t)j * (size_t)W3 + (size_t)(2 * W + d)];
                    o[((size_t)b * (size_t)T + (size_t)i) * (size_t)W + (size_t)(h * hd + d)] =
                        (float)acc;
                }
            }
        }
    linear_naive(x, o, ly->out_w, ly->out_b, B * T, W, W, 1);
}

/* ---- MLP ------------------------------------------------------------------------------ */

void vit_mlp_forward(float *x, float *h, const float *a, const vit_layer *ly, int N,
                     const vit_config *c) {
    /* x [N, W] in/out, h [N, I], a [N, W]; I = intermediate_size (NI: complex.h owns I) */
    const int W = c->hidden_size, NI = c->intermediate_size;
    sgemm(N, NI, W, 1.0f, a, W, ly->fc1_w, W, 1, 0.0f, h, NI);
    gelu_rows(h, ly->fc1_b, N, NI, c->quick_gelu);
    rows_add(x, ly->fc2_b, N, W);
    sgemm(N, W, NI, 1.0f, h, NI, ly->fc2_w, NI, 1, 1.0f, x, W);
}

void vit_mlp_forward_naive(float *x, float *h, const float *a, const vit_layer *ly, int N,
                           const vit_config *c) {
    /* x [N, W] in/out, h [N, I], a [N, W]; I = intermediate_size (NI: complex.h owns I) */
    const int W = c->hidden_size, NI = c->intermediate_size;
    linear_naive(h, a, ly->fc1_w, ly->fc1_b, N, W, NI, 0);
    for (size_t i = 0; i < (size_t)N * (size_t)NI; i++) {
        double v = h[i];
        h[i] = (float)(c->quick_gelu ? v / (1.0 + exp(-1.702 * v))
                                     : 0.5 * v * (1.0 + erf(v / sqrt(2.0))));
    }
    linear_naive(x, h, ly->fc2_w, ly->fc2_b, N, NI, W, 1);
}

/* ---- post-LN and projection ----------------------------------------------------------- */

void vit_post_forward(float *ln, float *emb, const float *x, size_t x_stride, int N,
                      const vit_model *m) {
    /* ln [N, W], emb [N, D], x N rows of W at stride x_stride, proj [D, W] */
    const int W = m->cfg.hidden_size, D = m->cfg.projection_dim;
    vit_layernorm_forward(ln, x, x_stride, m->post_ln_w, m->post_ln_b, N, W, m->cfg.layer_norm_eps);
    sgemm(N, D, W, 1.0f, ln, W, m->proj, W, 1, 0.0f, emb, D);
}

void vit_post_forward_naive(float *ln, float *emb, const float *x, size_t x_stride, int N,
                            const vit_model *m) {
    /* ln [N, W], emb [N, D], x N rows of W at stride x_stride, proj [D, W] */
    const int W = m->cfg.hidden_size, D = m->cfg.projection_dim;
    vit_layernorm_forward_naive(ln, x, x_stride, m->post_ln_w, m->post_ln_b, N, W,
                                m->cfg.layer_norm_eps);
    linear_naive(emb, ln, m->proj, NULL, N, W, D, 0);
}

/* ---- workspace and request ------------------------------------------------------------ */

void vit_workspace_alloc(vit_workspace *ws, const vit_config *c, int max_batch) {
    BMC_CHECK(max_batch >= 1 && c->tokens == 1 + c->grid * c->grid && c->head_dim > 0);
    memset(ws, 0, sizeof *ws);
    ws->cfg = *c;
    ws->max_batch = max_batch;
    const size_t N = (size_t)max_batch * (size_t)c->tokens, W = (size_t)c->hidden_size;
    const size_t T = (size_t)c->tokens, NI = (size_t)c->intermediate_size;
    const size_t cols = (size_t)max_batch * (size_t)(c->grid * c->grid) *
                        (size_t)(c->num_channels * c->patch_size * c->patch_size);
    const size_t n_mlp = N * NI > cols ? N * NI : cols;
    const size_t n_x = N * W, n_qkv = 3 * N * W, n_tok = N * (size_t)c->projection_dim;
    ws->block = XNEW(ws->block, 2 * n_x + n_qkv + T * T + n_mlp + n_tok);
    float *p = ws->block;
    ws->x = p, p += n_x;
    ws->ln = p, p += n_x;
    ws->qkv = p, p += n_qkv;
    ws->att = p, p += T * T;
    ws->mlp = p, p += n_mlp;
    ws->tok = p;
}

void vit_workspace_free(vit_workspace *ws) {
    free(ws->block);
    memset(ws, 0, sizeof *ws);
}

int vit_outputs_check(const vit_outputs *req, const vit_config *c, bmc_err *err) {
    if (req->detail &&
        !(0 <= req->detail_first && req->detail_first <= req->detail_last &&
          req->detail_last <= c->num_layers))
        return bmc_err_set(err,
                           "layers count as in Hugging Face's hidden_states: 0 = after "
                           "pre_layrnorm, k = after block k; pick first <= last within 0..L",
                           "detail layer range %d..%d is outside 0..%d (the model has L = %d "
                           "blocks)", req->detail_first, req->detail_last, c->num_layers,
                           c->num_layers);
    return 0;
}

/* ---- the whole model ------------------------------------------------------------------ */

/* The kernels one forward uses: optimised or naive. */
typedef struct vit_kernels {
    void (*patch_embed)(float *out, float *cols, const float *pixels, const float *patch_w,
                        int B, const vit_config *c);
    void (*layernorm)(float *out, const float *inp, size_t inp_stride, const float *w,
                      const float *b, int N, int W, float eps);
    void (*attention)(float *x, float *qkv, float *att, float *o, const float *a,
                      const vit_layer *ly, int B, const vit_config *c);
    void (*mlp)(float *x, float *h, const float *a, const vit_layer *ly, int N,
                const vit_config *c);
    void (*post)(float *ln, float *emb, const float *x, size_t x_stride, int N,
                 const vit_model *m);
} vit_kernels;

static void patch_embed_naive_adapter(float *out, float *cols, const float *pixels,
                                      const float *patch_w, int B, const vit_config *c) {
    (void)cols;
    vit_patch_embed_forward_naive(out, pixels, patch_w, B, c);
}

static const vit_kernels fast_kernels = {vit_patch_embed_forward, vit_layernorm_forward,
                                         vit_attention_forward, vit_mlp_forward, vit_post_forward};
static const vit_kernels naive_kernels = {patch_embed_naive_adapter, vit_layernorm_forward_naive,
                                          vit_attention_forward_naive, vit_mlp_forward_naive,
                                          vit_post_forward_naive};

static int same_shape(const vit_config *a, const vit_config *b) {
    return a->image_size == b->image_size && a->patch_size == b->patch_size &&
           a->hidden_size == b->hidden_size && a->num_heads == b->num_heads &&
           a->intermediate_size == b->intermediate_size &&
           a->projection_dim == b->projection_dim && a->num_channels == b->num_channels &&
           a->tokens == b->tokens;
}

/* Hand the residual stream x [N, W] after layer l to the requested hidden state and detail. */
static void emit_layer(const vit_outputs *req, const float *x, size_t n, int l) {
    if (req->hidden_states && req->hidden_states[l])
        memcpy(req->hidden_states[l], x, n * sizeof *x);
    if (!req->detail || l < req->detail_first || l > req->detail_last) return;
    if (l == req->detail_first)
        memcpy(req->detail, x, n * sizeof *x);
    else
        for (size_t i = 0; i < n; i++) req->detail[i] += x[i];
    if (l == req->detail_last && req->detail_last > req->detail_first) {
        const float inv = 1.0f / (float)(req->detail_last - req->detail_first + 1);
        for (size_t i = 0; i < n; i++) req->detail[i] *= inv;
    }
}

/* pooled, image_embeds, token_embeds and semantic from the final residual stream ws->x. */
static void emit_post(const vit_kernels *k, const vit_model *m, vit_workspace *ws, int B,
                      const vit_outputs *req) {
    const size_t W = (size_t)m->cfg.hidden_size, T = (size_t)m->cfg.tokens;
    const size_t D = (size_t)m->cfg.projection_dim;
    const int all_tokens = req->token_embeds || req->semantic;
    if (!all_tokens && !req->pooled && !req->image_embeds) return;
    /* every token (rows b·T + t), or only the CLS rows (row b) */
    float *tok = req->token_embeds && all_tokens ? req->token_embeds : ws->tok;
    const size_t cls_row = all_tokens ? T : 1;
    if (all_tokens)
        k->post(ws->ln, tok, ws->x, W, B * (int)T, m);
    else
        k->post(ws->ln, tok, ws->x, T * W, B, m);
    for (size_t b = 0; b < (size_t)B; b++) {
        if (req->pooled) memcpy(req->pooled + b * W, ws->ln + b * cls_row * W, W * sizeof(float));
        if (req->image_embeds)
            memcpy(req->image_embeds + b * D, tok + b * cls_row * D, D * sizeof(float));
        if (!req->semantic) continue;
        const float *src = tok + b * T * D;
        double norm = 0.0;
        for (size_t j = 0; j < D; j++) norm += (double)src[j] * (double)src[j];
        const float inv = (float)(1.0 / sqrt(norm));
        for (size_t i = 0; i < T * D; i++) req->semantic[b * T * D + i] = src[i] * inv;
    }
}

static void forward_with(const vit_kernels *k, const vit_model *m, vit_workspace *ws,
                         const float *pixels, int B, const vit_outputs *req, vit_results *res) {
    const vit_config *c = &m->cfg;
    BMC_CHECK(B >= 1 && B <= ws->max_batch && same_shape(c, &ws->cfg));
    bmc_err err = {0};
    BMC_CHECK(vit_outputs_check(req, c, &err) == 0);
    const double t0 = bmc_now();
    gemm_seconds_ = gemm_flops_ = 0.0;
    const int W = c->hidden_size, N = B * c->tokens;
    const size_t n = (size_t)N * (size_t)W;

    k->patch_embed(ws->qkv, ws->mlp, pixels, m->patch_w, B, c);
    vit_embeddings_forward(ws->ln, ws->qkv, m->class_emb, m->pos_emb, B, c);
    k->layernorm(ws->x, ws->ln, (size_t)W, m->pre_ln_w, m->pre_ln_b, N, W, c->layer_norm_eps);
    emit_layer(req, ws->x, n, 0);
    for (int l = 0; l < c->num_layers; l++) {
        const vit_layer *ly = &m->layers[l];
        k->layernorm(ws->ln, ws->x, (size_t)W, ly->ln1_w, ly->ln1_b, N, W, c->layer_norm_eps);
        k->attention(ws->x, ws->qkv, ws->att, ws->ln, ws->ln, ly, B, c);
        k->layernorm(ws->ln, ws->x, (size_t)W, ly->ln2_w, ly->ln2_b, N, W, c->layer_norm_eps);
        k->mlp(ws->x, ws->mlp, ws->ln, ly, N, c);
        emit_layer(req, ws->x, n, l + 1);
    }
    emit_post(k, m, ws, B, req);
    if (res) {
        res->seconds = bmc_now() - t0;
        res->seconds_gemm = gemm_seconds_;
        res->gemm_flops = gemm_flops_;
    }
}

void vit_forward(const vit_model *m, vit_workspace *ws, const float *pixels, int B,
                 const vit_outputs *req, vit_results *res) {
    forward_with(&fast_kernels, m, ws, pixels, B, req, res);
}

void vit_forward_naive(const vit_model *m, vit_workspace *ws, const float *pixels, int B,
                       const vit_outputs *req, vit_results *res) {
    forward_with(&naive_kernels, m, ws, pixels, B, req, res);
}
