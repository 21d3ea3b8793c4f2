/* golden_reader.h — test-only access to the clip-tiny golden set: a tiny safetensors reader
 * (F32, U8, I32; whole file in memory, JSON header via cJSON, tensors copied out by name),
 * the folder (tests/data/clip-tiny), its config.json as a vit_config
 * and model.safetensors (HF names, q|k|v stacked) into a vit_model. Deliberately independent
 * of stages/extract_clip/safetensors.c and weights.c (tested elsewhere). Not for production:
 * no strict header validation, no mmap.
 */
#ifndef BMC_GOLDEN_READER_H
#define BMC_GOLDEN_READER_H

#include <cjson/cJSON.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vit.h"

typedef struct gr_file {
    unsigned char *bytes;       /* the whole file */
    size_t size;
    cJSON *header;
    const unsigned char *data;  /* start of the data area */
    size_t data_size;
} gr_file;

/* Read path; returns 0, or -1 after printing why. */
static inline int gr_open(gr_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "golden_reader: cannot open %s\n", path);
        return -1;
    }
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (len < 8) {
        fclose(fp);
        fprintf(stderr, "golden_reader: %s is too short\n", path);
        return -1;
    }
    f->size = (size_t)len;
    f->bytes = malloc(f->size + 1);
    size_t got = f->bytes ? fread(f->bytes, 1, f->size, fp) : 0;
    fclose(fp);
    uint64_t n = 0;
    for (int i = 7; i >= 0 && got == f->size; i--) n = (n << 8) | f->bytes[i];
    if (got != f->size || n > f->size - 8) {
        fprintf(stderr, "golden_reader: %s: bad read or header length\n", path);
        free(f->bytes);
        f->bytes = NULL;
        return -1;
    }
    f->header = cJSON_ParseWithLength((const char *)f->bytes + 8, (size_t)n);
    f->data = f->bytes + 8 + n;
    f->data_size = f->size - 8 - (size_t)n;
    if (!f->header) {
        fprintf(stderr, "golden_reader: %s: header is not JSON\n", path);
        free(f->bytes);
        f->bytes = NULL;
        return -1;
    }
    return 0;
}

static inline void gr_close(gr_file *f) {
    cJSON_Delete(f->header);
    free(f->bytes);
    memset(f, 0, sizeof *f);
}

/* A fresh malloc'd copy of tensor name when its dtype is `dtype` ("F32", "U8", "I32"); its
 * shape goes to shape[0..*ndim) (up to 8 dims) and the element count to *count. NULL, with
 * a message, when missing or of another dtype. */
static inline void *gr_tensor(const gr_file *f, const char *name, const char *dtype,
                              int64_t *shape, int *ndim, size_t *count) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f->header, name);
    const cJSON *dt = t ? cJSON_GetObjectItemCaseSensitive(t, "dtype") : NULL;
    const cJSON *sh = t ? cJSON_GetObjectItemCaseSensitive(t, "shape") : NULL;
    const cJSON *off = t ? cJSON_GetObjectItemCaseSensitive(t, "data_offsets") : NULL;
    if (!t || !cJSON_IsString(dt) || strcmp(dt->valuestring, dtype) != 0 || !cJSON_IsArray(sh) ||
        cJSON_GetArraySize(off) != 2 || cJSON_GetArraySize(sh) > 8) {
        fprintf(stderr, "golden_reader: tensor %s missing or not %s\n", name, dtype);
        return NULL;
    }
    size_t esize = strcmp(dtype, "U8") == 0 ? 1 : 4, n = 1;
    int k = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, sh) {
        shape[k++] = (int64_t)d->valuedouble;
        n *= (size_t)d->valuedouble;
    }
    *ndim = k;
    *count = n;
    size_t begin = (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
    size_t end = (size_t)cJSON_GetArrayItem(off, 1)->valuedouble;
    if (end < begin || end > f->data_size || end - begin != n * esize) {
        fprintf(stderr, "golden_reader: tensor %s: offsets do not match its shape\n", name);
        return NULL;
    }
    void *out = malloc(n * esize + 1);
    if (out) memcpy(out, f->data + begin, n * esize);
    return out;
}

/* gr_tensor for F32 that also checks the element count (0 = any). */
static inline float *gr_f32(const gr_file *f, const char *name, size_t want_count) {
    int64_t shape[8];
    int ndim;
    size_t count;
    float *p = gr_tensor(f, name, "F32", shape, &ndim, &count);
    if (p && want_count && count != want_count) {
        fprintf(stderr, "golden_reader: tensor %s has %zu elements, expected %zu\n", name, count,
                want_count);
        free(p);
        return NULL;
    }
    return p;
}

/* ---- the clip-tiny folder and its model ---- */

/* The path of file in the golden folder tests/data/clip-tiny (BMC_CLIP_TINY_DIR, bmc_test.h;
 * a static buffer; "" gives the folder itself). */
static inline const char *gr_path(const char *file) {
    static char path[4600];
    snprintf(path, sizeof path, "%s/%s", BMC_CLIP_TINY_DIR, file);
    return path;
}

/* Integer key of a JSON object, or -1 when missing or not a number. */
static inline int gr_json_int(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9 ? v->valueint : -1;
}

/* config.json of the golden folder as a derived vit_config; 0 or -1. */
static inline int gr_load_config(vit_config *c) {
    FILE *fp = fopen(gr_path("config.json"), "rb");
    if (!fp) return -1;
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = 0;
    cJSON *j = cJSON_Parse(text);
    if (!j) return -1;
    memset(c, 0, sizeof *c);
    c->image_size = gr_json_int(j, "image_size");
    c->patch_size = gr_json_int(j, "patch_size");
    c->hidden_size = gr_json_int(j, "hidden_size");
    c->num_layers = gr_json_int(j, "num_hidden_layers");
    c->num_heads = gr_json_int(j, "num_attention_heads");
    c->intermediate_size = gr_json_int(j, "intermediate_size");
    c->projection_dim = gr_json_int(j, "projection_dim");
    c->num_channels = gr_json_int(j, "num_channels");
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(j, "layer_norm_eps");
    c->layer_norm_eps = cJSON_IsNumber(eps) ? (float)eps->valuedouble : -1.0f;
    const char *act = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "hidden_act"));
    c->quick_gelu = act && strcmp(act, "quick_gelu") == 0;
    cJSON_Delete(j);
    char msg[256];
    return vit_config_derive(c, msg, sizeof msg);
}

/* Copy tensor name (count floats) to dst; 0 or -1. */
static inline int gr_copy(const gr_file *f, const char *name, float *dst, size_t count) {
    float *p = gr_f32(f, name, count);
    if (!p) return -1;
    memcpy(dst, p, count * sizeof *p);
    free(p);
    return 0;
}

/* Fill m (allocated for its cfg) from model.safetensors, HF names; q|k|v stacked. */
static inline int gr_load_model(vit_model *m) {
    gr_file f;
    if (gr_open(&f, gr_path("model.safetensors"))) return -1;
    const vit_config *c = &m->cfg;
    const size_t W = (size_t)c->hidden_size, NI = (size_t)c->intermediate_size;
    const size_t CPP = (size_t)(c->num_channels * c->patch_size * c->patch_size);
    int rc = 0;
    char name[256];
    rc |= gr_copy(&f, "vision_model.embeddings.patch_embedding.weight", m->patch_w, W * CPP);
    rc |= gr_copy(&f, "vision_model.embeddings.class_embedding", m->class_emb, W);
    rc |= gr_copy(&f, "vision_model.embeddings.position_embedding.weight", m->pos_emb,
                  (size_t)c->tokens * W);
    rc |= gr_copy(&f, "vision_model.pre_layrnorm.weight", m->pre_ln_w, W);
    rc |= gr_copy(&f, "vision_model.pre_layrnorm.bias", m->pre_ln_b, W);
    for (int l = 0; l < c->num_layers; l++) {
        vit_layer *ly = &m->layers[l];
        const char *const pre = "vision_model.encoder.layers", *qkv = "qkv";
        for (int s = 0; s < 3; s++) { /* q, k, v stacked into qkv_w [3W, W], qkv_b [3W] */
            snprintf(name, sizeof name, "%s.%d.self_attn.%c_proj.weight", pre, l, qkv[s]);
            rc |= gr_copy(&f, name, ly->qkv_w + (size_t)s * W * W, W * W);
            snprintf(name, sizeof name, "%s.%d.self_attn.%c_proj.bias", pre, l, qkv[s]);
            rc |= gr_copy(&f, name, ly->qkv_b + (size_t)s * W, W);
        }
        struct { const char *suffix; float *dst; size_t n; } t[] = {
            {"layer_norm1.weight", ly->ln1_w, W}, {"layer_norm1.bias", ly->ln1_b, W},
            {"self_attn.out_proj.weight", ly->out_w, W * W},
            {"self_attn.out_proj.bias", ly->out_b, W},
            {"layer_norm2.weight", ly->ln2_w, W}, {"layer_norm2.bias", ly->ln2_b, W},
            {"mlp.fc1.weight", ly->fc1_w, NI * W}, {"mlp.fc1.bias", ly->fc1_b, NI},
            {"mlp.fc2.weight", ly->fc2_w, W * NI}, {"mlp.fc2.bias", ly->fc2_b, W}};
        for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
            snprintf(name, sizeof name, "%s.%d.%s", pre, l, t[k].suffix);
            rc |= gr_copy(&f, name, t[k].dst, t[k].n);
        }
    }
    rc |= gr_copy(&f, "vision_model.post_layernorm.weight", m->post_ln_w, W);
    rc |= gr_copy(&f, "vision_model.post_layernorm.bias", m->post_ln_b, W);
    rc |= gr_copy(&f, "visual_projection.weight", m->proj, (size_t)c->projection_dim * W);
    gr_close(&f);
    return rc ? -1 : 0;
}

#endif
