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

#endif
