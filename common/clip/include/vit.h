/* vit.h — the CLIP vision transformer: hyperparameters, weights, forward pass.
 *
 * Shapes use W = hidden_size, P = patch_size, R = image_size, g = R/P, T = 1 + g², I =
 * intermediate_size, D = projection_dim, L = num_layers. Linear weights are stored [out, in]
 * (Hugging Face layout) and applied as y = x·Wᵀ + b. All parameters live in one allocated
 * float block carved into named tensors (vit_model.params).
 * Not here: reading weight files (weights.c), image preprocessing (preprocess.c).
 */
#ifndef BMC_VIT_H
#define BMC_VIT_H

#include <stddef.h>

#include "bmc_error.h"

typedef struct vit_config {
    int image_size;        /* R                                            */
    int patch_size;        /* P                                            */
    int hidden_size;       /* W                                            */
    int num_layers;        /* L                                            */
    int num_heads;         /* W % num_heads == 0                           */
    int intermediate_size; /* I                                            */
    int projection_dim;    /* D                                            */
    int num_channels;      /* 3                                            */
    float layer_norm_eps;  /* 1e-5 for CLIP                                */
    int quick_gelu;        /* 1: x·σ(1.702x) (CLIP); 0: exact erf GELU     */
    /* derived by vit_config_derive */
    int grid;              /* g = R / P                                    */
    int tokens;            /* T = 1 + g²                                   */
    int head_dim;          /* W / num_heads                                */
} vit_config;

typedef struct vit_layer {
    float *ln1_w, *ln1_b;  /* [W]                                          */
    float *qkv_w;          /* [3W, W]: rows q (0..W-1), k (W..2W-1), v     */
    float *qkv_b;          /* [3W]                                         */
    float *out_w, *out_b;  /* [W, W], [W]                                  */
    float *ln2_w, *ln2_b;  /* [W]                                          */
    float *fc1_w, *fc1_b;  /* [I, W], [I]                                  */
    float *fc2_w, *fc2_b;  /* [W, I], [W]                                  */
} vit_layer;

typedef struct vit_model {
    vit_config cfg;
    float *params;         /* one block holding every tensor below         */
    size_t n_params;
    float *patch_w;        /* [W, C·P·P] (conv weight [W, C, P, P] flattened; no bias) */
    float *class_emb;      /* [W]                                          */
    float *pos_emb;        /* [T, W]                                       */
    float *pre_ln_w, *pre_ln_b;   /* [W]                                   */
    vit_layer *layers;     /* [L]                                          */
    float *post_ln_w, *post_ln_b; /* [W]                                   */
    float *proj;           /* [D, W]                                       */
} vit_model;

/* Fill the derived fields; returns 0, or -1 when the hyperparameters are inconsistent
 * (R % P, W % heads, non-positive sizes) with a message in msg. */
int vit_config_derive(vit_config *c, char *msg, size_t msg_len);

/* Allocate m->params for m->cfg (derived) and carve it into the named tensors (zeroed).
 * vit_model_free releases it. */
void vit_model_alloc(vit_model *m);
void vit_model_free(vit_model *m);

/* ---- forward pass (vit.c) ------------------------------------------------------------- */

/* What vit_forward produces and where: each pointer is NULL (not wanted) or a caller-owned
 * float32 row-major buffer of the shape shown, for the B images of one call. Zero-initialise
 * and set what you need. Layer indices follow Hugging Face's output_hidden_states: 0 = the
 * output of pre_layrnorm, k = the residual stream after block k (1..L). */
typedef struct vit_outputs {
    float **hidden_states; /* NULL, or L+1 pointers, each NULL or [B, T, W]            */
    float *detail;         /* [B, T, W] mean of hidden states detail_first..detail_last */
    int detail_first;      /* inclusive layer range, 0 <= first <= last <= L          */
    int detail_last;       /*   (BrainMCLIP: 11..20 on ViT-L/14)                      */
    float *pooled;         /* [B, W]    post_layernorm of the CLS token               */
    float *image_embeds;   /* [B, D]    pooled · projᵀ                                */
    float *token_embeds;   /* [B, T, D] post_layernorm of every token · projᵀ         */
    float *semantic;       /* [B, T, D] token_embeds / ‖token_embeds[b, 0]‖₂           */
} vit_outputs;

/* What one vit_forward call cost (optional: pass NULL). */
typedef struct vit_results {
    double seconds;      /* wall time of the call                                    */
    double seconds_gemm; /* of which inside cblas_sgemm                              */
    double gemm_flops;   /* 2·M·N·K summed over the sgemm calls (0 on the naive path) */
} vit_results;

/* Scratch for vit_forward, sized for up to max_batch images of one config; one allocation
 * made by vit_workspace_alloc, none during the forward. Not shareable between threads. */
typedef struct vit_workspace {
    vit_config cfg;  /* the config it was sized for (derived)                     */
    int max_batch;
    float *block;    /* the one allocation, carved below                          */
    float *x;        /* [B·T, W]   residual stream                                */
    float *ln;       /* [B·T, W]   LayerNorm output; attention heads concatenated */
    float *qkv;      /* [B·T, 3W]  fused q|k|v; also the patch embeddings         */
    float *att;      /* [T, T]     scores/probabilities of one (image, head)      */
    float *mlp;      /* [max(B·T·I, B·g²·C·P·P)] MLP hidden; also im2col patches  */
    float *tok;      /* [B·T, D]   projected tokens when not written in place     */
} vit_workspace;

void vit_workspace_alloc(vit_workspace *ws, const vit_config *c, int max_batch);
void vit_workspace_free(vit_workspace *ws);

/* 0 when req fits config c (detail range inside 0..L and ordered); else -1 with a message
 * naming the range and L in err. vit_forward treats an unchecked bad request as a bug. */
int vit_outputs_check(const vit_outputs *req, const vit_config *c, bmc_err *err);

/* Run the model on B (1..ws->max_batch) images pixels [B, C, R, R] (preprocessed, NCHW)
 * and write the outputs req asks for. res may be NULL. Heavy work is in cblas_sgemm (its
 * threads: OPENBLAS_NUM_THREADS); results do not depend on B beyond rounding. */
void vit_forward(const vit_model *m, vit_workspace *ws, const float *pixels, int B,
                 const vit_outputs *req, vit_results *res);
/* The same through the plain-loop _naive kernels (double accumulators): a test reference. */
void vit_forward_naive(const vit_model *m, vit_workspace *ws, const float *pixels, int B,
                       const vit_outputs *req, vit_results *res);

/* ---- the layers (each with a plain-loop _naive twin); N = B·T rows, W = hidden ---- */

/* out [B·g², W] = im2col(pixels [B, C, R, R]) [B·g², C·P·P] · patch_wᵀ; cols is scratch of
 * [B·g², C·P·P] holding the im2col matrix, rows = (image, gy, gx), columns = (c, ky, kx). */
void vit_patch_embed_forward(float *out, float *cols, const float *pixels,
                             const float *patch_w, int B, const vit_config *c);
void vit_patch_embed_forward_naive(float *out, const float *pixels, const float *patch_w,
                                   int B, const vit_config *c);
/* x [B·T, W] = [class_emb ; patches of the image] + pos_emb, per image; patches [B·g², W]. */
void vit_embeddings_forward(float *x, const float *patches, const float *class_emb,
                            const float *pos_emb, int B, const vit_config *c);
/* out [N, W] = LayerNorm of N rows of inp (row n at inp + n·inp_stride), gain w, bias b,
 * biased variance, eps. out must not overlap inp. */
void vit_layernorm_forward(float *out, const float *inp, size_t inp_stride, const float *w,
                           const float *b, int N, int W, float eps);
void vit_layernorm_forward_naive(float *out, const float *inp, size_t inp_stride,
                                 const float *w, const float *b, int N, int W, float eps);
/* x [B·T, W] += attention(a [B·T, W]) of layer ly: qkv [B·T, 3W] and att [T, T] are
 * scratch, o [B·T, W] receives the concatenated heads and may alias a. */
void vit_attention_forward(float *x, float *qkv, float *att, float *o, const float *a,
                           const vit_layer *ly, int B, const vit_config *c);
void vit_attention_forward_naive(float *x, float *qkv, float *att, float *o, const float *a,
                                 const vit_layer *ly, int B, const vit_config *c);
/* x [N, W] += fc2(gelu(fc1(a [N, W]))) of layer ly; h [N, I] is scratch. GELU is
 * quick_gelu x·σ(1.702x) when c->quick_gelu, else exact 0.5·x·(1 + erf(x/√2)). */
void vit_mlp_forward(float *x, float *h, const float *a, const vit_layer *ly, int N,
                     const vit_config *c);
void vit_mlp_forward_naive(float *x, float *h, const float *a, const vit_layer *ly, int N,
                           const vit_config *c);
/* ln [N, W] = post_layernorm of N rows of x (row n at x + n·x_stride); emb [N, D] = ln ·
 * projᵀ. With x_stride = T·W and N = B this is the CLS rows only (pooled, image_embeds). */
void vit_post_forward(float *ln, float *emb, const float *x, size_t x_stride, int N,
                      const vit_model *m);
void vit_post_forward_naive(float *ln, float *emb, const float *x, size_t x_stride, int N,
                            const vit_model *m);

#endif
