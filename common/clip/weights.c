/* weights.c — CLIP image-tower weights (Hugging Face or OpenAI names) into a vit_model.
 *
 * Loading: detect the naming, infer hyperparameters from the shapes, overlay config.json when
 * given, then check every tensor the model needs (name, dtype, shape) before allocating and
 * converting. HF q/k/v are stacked into qkv; OpenAI in_proj is used as is and visual.proj
 * [W, D] is transposed into proj [D, W]. Also writes a vit_model back with HF names.
 * Not here: safetensors parsing (safetensors.c), the forward pass (vit.c).
 */
#include "weights.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"

/* Largest accepted size hyperparameter and grid (keeps every product far from overflow). */
#define MAX_SIZE (1 << 20)
#define MAX_GRID 4096

static const char *const TOWER_HINT =
    "the file must hold a complete CLIP ViT image tower, with Hugging Face (vision_model.*, "
    "visual_projection.weight) or OpenAI (visual.*) names";

/* One tensor the model needs: its name and shape in the file, and where it goes. */
typedef struct wspec {
    char name[160];
    int ndim;
    int64_t shape[4];
    float *dst;     /* NULL while only checking */
    int transpose;  /* 1: file [a, b] → dst [b, a] */
} wspec;

static void spec_add(wspec *s, size_t *n, float *dst, int transpose, int ndim, const int64_t *shape,
                     const char *fmt, ...) BMC_PRINTF(7, 8);
static void spec_add(wspec *s, size_t *n, float *dst, int transpose, int ndim, const int64_t *shape,
                     const char *fmt, ...) {
    wspec *w = &s[(*n)++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->name, sizeof w->name, fmt, ap);
    va_end(ap);
    w->ndim = ndim;
    memcpy(w->shape, shape, (size_t)ndim * sizeof *shape);
    w->dst = dst;
    w->transpose = transpose;
}

static size_t max_specs(const vit_config *c) { return 8 + 16 * (size_t)c->num_layers; }

/* Every tensor of the model under naming nm, for config c; dst pointers into m when m != NULL. */
static size_t build_specs(const vit_config *c, clip_naming nm, vit_model *m, wspec *s) {
    const int64_t W = c->hidden_size, C = c->num_channels, P = c->patch_size, T = c->tokens;
    const int64_t I = c->intermediate_size, D = c->projection_dim, W3 = 3 * W;
    const int hf = nm == CLIP_NAMES_HF;
    const size_t WW = (size_t)W * (size_t)W;
    size_t n = 0;
#define M(expr) (m ? (expr) : NULL)
#define SH(...) ((const int64_t[]){__VA_ARGS__})
    spec_add(s, &n, M(m->class_emb), 0, 1, SH(W), "%s", hf ? "vision_model.embeddings.class_embedding" : "visual.class_embedding");
    spec_add(s, &n, M(m->patch_w), 0, 4, SH(W, C, P, P), "%s",
             hf ? "vision_model.embeddings.patch_embedding.weight" : "visual.conv1.weight");
    spec_add(s, &n, M(m->pos_emb), 0, 2, SH(T, W), "%s",
             hf ? "vision_model.embeddings.position_embedding.weight" : "visual.positional_embedding");
    const char *pre = hf ? "vision_model.pre_layrnorm" : "visual.ln_pre";
    spec_add(s, &n, M(m->pre_ln_w), 0, 1, SH(W), "%s.weight", pre);
    spec_add(s, &n, M(m->pre_ln_b), 0, 1, SH(W), "%s.bias", pre);
    for (int l = 0; l < c->num_layers; l++) {
        vit_layer *L = m ? &m->layers[l] : NULL;
        if (hf) {
            const char *p = "vision_model.encoder.layers";
            spec_add(s, &n, M(L->ln1_w), 0, 1, SH(W), "%s.%d.layer_norm1.weight", p, l);
            spec_add(s, &n, M(L->ln1_b), 0, 1, SH(W), "%s.%d.layer_norm1.bias", p, l);
            static const char qkv[3] = {'q', 'k', 'v'};
            for (int k = 0; k < 3; k++) {
                spec_add(s, &n, M(L->qkv_w + (size_t)k * WW), 0, 2, SH(W, W), "%s.%d.self_attn.%c_proj.weight", p, l, qkv[k]);
                spec_add(s, &n, M(L->qkv_b + (size_t)k * (size_t)W), 0, 1, SH(W), "%s.%d.self_attn.%c_proj.bias", p, l, qkv[k]);
            }
            spec_add(s, &n, M(L->out_w), 0, 2, SH(W, W), "%s.%d.self_attn.out_proj.weight", p, l);
            spec_add(s, &n, M(L->out_b), 0, 1, SH(W), "%s.%d.self_attn.out_proj.bias", p, l);
            spec_add(s, &n, M(L->ln2_w), 0, 1, SH(W), "%s.%d.layer_norm2.weight", p, l);
            spec_add(s, &n, M(L->ln2_b), 0, 1, SH(W), "%s.%d.layer_norm2.bias", p, l);
            spec_add(s, &n, M(L->fc1_w), 0, 2, SH(I, W), "%s.%d.mlp.fc1.weight", p, l);
            spec_add(s, &n, M(L->fc1_b), 0, 1, SH(I), "%s.%d.mlp.fc1.bias", p, l);
            spec_add(s, &n, M(L->fc2_w), 0, 2, SH(W, I), "%s.%d.mlp.fc2.weight", p, l);
            spec_add(s, &n, M(L->fc2_b), 0, 1, SH(W), "%s.%d.mlp.fc2.bias", p, l);
        } else {
            const char *p = "visual.transformer.resblocks";
            spec_add(s, &n, M(L->ln1_w), 0, 1, SH(W), "%s.%d.ln_1.weight", p, l);
            spec_add(s, &n, M(L->ln1_b), 0, 1, SH(W), "%s.%d.ln_1.bias", p, l);
            spec_add(s, &n, M(L->qkv_w), 0, 2, SH(W3, W), "%s.%d.attn.in_proj_weight", p, l);
            spec_add(s, &n, M(L->qkv_b), 0, 1, SH(W3), "%s.%d.attn.in_proj_bias", p, l);
            spec_add(s, &n, M(L->out_w), 0, 2, SH(W, W), "%s.%d.attn.out_proj.weight", p, l);
            spec_add(s, &n, M(L->out_b), 0, 1, SH(W), "%s.%d.attn.out_proj.bias", p, l);
            spec_add(s, &n, M(L->ln2_w), 0, 1, SH(W), "%s.%d.ln_2.weight", p, l);
            spec_add(s, &n, M(L->ln2_b), 0, 1, SH(W), "%s.%d.ln_2.bias", p, l);
            spec_add(s, &n, M(L->fc1_w), 0, 2, SH(I, W), "%s.%d.mlp.c_fc.weight", p, l);
            spec_add(s, &n, M(L->fc1_b), 0, 1, SH(I), "%s.%d.mlp.c_fc.bias", p, l);
            spec_add(s, &n, M(L->fc2_w), 0, 2, SH(W, I), "%s.%d.mlp.c_proj.weight", p, l);
            spec_add(s, &n, M(L->fc2_b), 0, 1, SH(W), "%s.%d.mlp.c_proj.bias", p, l);
        }
    }
    const char *post = hf ? "vision_model.post_layernorm" : "visual.ln_post";
    spec_add(s, &n, M(m->post_ln_w), 0, 1, SH(W), "%s.weight", post);
    spec_add(s, &n, M(m->post_ln_b), 0, 1, SH(W), "%s.bias", post);
    if (hf) spec_add(s, &n, M(m->proj), 0, 2, SH(D, W), "visual_projection.weight");
    else spec_add(s, &n, M(m->proj), 1, 2, SH(W, D), "visual.proj");
#undef M
#undef SH
    BMC_CHECK(n <= max_specs(c));
    return n;
}

static void format_dims(const int64_t *shape, int ndim, char *buf, size_t len) {
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

static int is_float_dtype(st_dtype d) { return d == ST_F32 || d == ST_F16 || d == ST_BF16 || d == ST_F64; }

/* A tensor used to infer hyperparameters: present, floating point, with ndim dimensions. */
static const st_tensor *need_tensor(const st_file *st, const char *name, int ndim, const char *layout,
                                    bmc_err *err) {
    const st_tensor *t = st_find(st, name);
    char found[160];
    if (!t) {
        bmc_err_set(err, TOWER_HINT, "%s: missing tensor '%s'", st_path(st), name);
        return NULL;
    }
    if (t->ndim != ndim) {
        format_dims(t->shape, t->ndim, found, sizeof found);
        bmc_err_set(err, TOWER_HINT, "%s: tensor '%s' has shape %s; expected %d dimensions %s", st_path(st), name,
                    found, ndim, layout);
        return NULL;
    }
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] < 1 || t->shape[i] > MAX_SIZE) {
            format_dims(t->shape, t->ndim, found, sizeof found);
            bmc_err_set(err, TOWER_HINT, "%s: tensor '%s' has shape %s, with a size outside 1..%d", st_path(st),
                        name, found, MAX_SIZE);
            return NULL;
        }
    return t;
}

/* Highest layer index + 1 among the names with the naming's layer prefix (0 when none). */
static int count_layers(const st_file *st, clip_naming nm, const char **example) {
    const char *prefix = nm == CLIP_NAMES_HF ? "vision_model.encoder.layers." : "visual.transformer.resblocks.";
    size_t plen = strlen(prefix);
    long top = -1;
    for (size_t i = 0; i < st_count(st); i++) {
        const char *name = st_tensor_at(st, i)->name;
        if (strncmp(name, prefix, plen) != 0) continue;
        char *end;
        long idx = strtol(name + plen, &end, 10);
        if (end == name + plen || *end != '.' || idx < 0 || idx >= MAX_SIZE) continue;
        if (idx > top) {
            top = idx;
            *example = name;
        }
    }
    return (int)(top + 1);
}

int clip_weights_infer_config(const st_file *st, vit_config *c, clip_naming *naming, bmc_err *err) {
    const char *path = st_path(st);
    memset(c, 0, sizeof *c);
    if (st_find(st, "vision_model.embeddings.class_embedding")) *naming = CLIP_NAMES_HF;
    else if (st_find(st, "visual.class_embedding")) *naming = CLIP_NAMES_OPENAI;
    else
        return bmc_err_set(err, TOWER_HINT,
                           "%s: no CLIP image tower found (neither 'vision_model.embeddings.class_embedding' nor "
                           "'visual.class_embedding'; %zu tensors, the first '%s')",
                           path, st_count(st), st_count(st) ? st_tensor_at(st, 0)->name : "");
    const int hf = *naming == CLIP_NAMES_HF;
    const st_tensor *cls = need_tensor(st, hf ? "vision_model.embeddings.class_embedding" : "visual.class_embedding", 1, "[W]", err);
    const st_tensor *conv = cls ? need_tensor(st, hf ? "vision_model.embeddings.patch_embedding.weight" : "visual.conv1.weight", 4, "[W, C, P, P]", err) : NULL;
    const st_tensor *pos = conv ? need_tensor(st, hf ? "vision_model.embeddings.position_embedding.weight" : "visual.positional_embedding", 2, "[T, W]", err) : NULL;
    const st_tensor *fc1 = pos ? need_tensor(st, hf ? "vision_model.encoder.layers.0.mlp.fc1.weight" : "visual.transformer.resblocks.0.mlp.c_fc.weight", 2, "[I, W]", err) : NULL;
    const st_tensor *proj = fc1 ? need_tensor(st, hf ? "visual_projection.weight" : "visual.proj", 2, hf ? "[D, W]" : "[W, D]", err) : NULL;
    if (!proj) {
        if (hf && !st_find(st, "visual_projection.weight"))
            snprintf(err->hint, sizeof err->hint, "a CLIPVisionModel export has no projection; use a "
                     "CLIPVisionModelWithProjection or full CLIPModel checkpoint");
        return -1;
    }
    const char *bias = hf ? "vision_model.embeddings.patch_embedding.bias" : "visual.conv1.bias";
    if (st_find(st, bias))
        return bmc_err_set(err, TOWER_HINT, "%s: tensor '%s' is a patch-embedding bias, which CLIP does not have",
                           path, bias);
    char found[160];
    if (conv->shape[2] != conv->shape[3]) {
        format_dims(conv->shape, 4, found, sizeof found);
        return bmc_err_set(err, TOWER_HINT, "%s: tensor '%s' has shape %s; the patches must be square", path,
                           conv->name, found);
    }
    int64_t g = 0;
    while ((g + 1) * (g + 1) <= pos->shape[0] - 1 && g < MAX_GRID) g++;
    if (g < 1 || g * g != pos->shape[0] - 1) {
        format_dims(pos->shape, 2, found, sizeof found);
        return bmc_err_set(err, TOWER_HINT, "%s: tensor '%s' has shape %s: %lld rows is not 1 + g² tokens for a "
                           "square grid of patches", path, pos->name, found, (long long)pos->shape[0]);
    }
    const char *example = NULL;
    c->hidden_size = (int)cls->shape[0];
    c->num_channels = (int)conv->shape[1];
    c->patch_size = (int)conv->shape[2];
    c->image_size = (int)(g * conv->shape[2]);
    c->num_layers = count_layers(st, *naming, &example);
    c->intermediate_size = (int)fc1->shape[0];
    c->projection_dim = (int)(hf ? proj->shape[0] : proj->shape[1]);
    c->layer_norm_eps = 1e-5f;
    c->quick_gelu = 1;
    /* OpenAI's rule; 0 (unknown) when it does not divide the width. */
    int heads = c->hidden_size >= 64 ? c->hidden_size / 64 : 1;
    c->num_heads = 1;
    char msg[256];
    if (vit_config_derive(c, msg, sizeof msg))
        return bmc_err_set(err, TOWER_HINT, "%s: hyperparameters inferred from the tensor shapes are inconsistent: %s",
                           path, msg);
    c->num_heads = c->hidden_size % heads ? 0 : heads;
    c->head_dim = c->num_heads ? c->hidden_size / c->num_heads : 0;
    return 0;
}

/* ---- config.json ---- */

static int json_int(const cJSON *obj, const char *key, const char *path, int lo, int hi, int *out, bmc_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1.0;
    if (!cJSON_IsNumber(v) || !(d >= lo && d <= hi) || d != floor(d))
        return bmc_err_set(err, "fix the value, or remove config.json to infer it from the weights",
                           "%s: '%s' must be an integer in %d..%d", path, key, lo, hi);
    *out = (int)d;
    return 0;
}

int clip_config_read_json(const char *path, vit_config *c, bmc_err *err) {
    memset(c, 0, sizeof *c);
    c->quick_gelu = -1;
    size_t len = 0;
    char *text = bmc_read_file(path, &len, err);
    if (!text) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bmc_err_set(err, "config.json must be a JSON object (a Hugging Face CLIPVisionConfig or CLIPConfig)",
                           "%s: not a valid JSON object", path);
    }
    const cJSON *vis = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    if (vis && !cJSON_IsObject(vis)) {
        cJSON_Delete(root);
        return bmc_err_set(err, NULL, "%s: 'vision_config' is not an object", path);
    }
    const cJSON *o = vis ? vis : root;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "model_type");
    if (cJSON_IsString(type) && !strstr(type->valuestring, "clip"))
        bmc_log_warn("%s: model_type '%s' is not a CLIP model; loading it as CLIP anyway", path, type->valuestring);
    int rc = json_int(o, "image_size", path, 1, MAX_SIZE, &c->image_size, err);
    if (!rc) rc = json_int(o, "patch_size", path, 1, MAX_SIZE, &c->patch_size, err);
    if (!rc) rc = json_int(o, "hidden_size", path, 1, MAX_SIZE, &c->hidden_size, err);
    if (!rc) rc = json_int(o, "num_hidden_layers", path, 1, MAX_SIZE, &c->num_layers, err);
    if (!rc) rc = json_int(o, "num_attention_heads", path, 1, MAX_SIZE, &c->num_heads, err);
    if (!rc) rc = json_int(o, "intermediate_size", path, 1, MAX_SIZE, &c->intermediate_size, err);
    if (!rc) rc = json_int(o, "num_channels", path, 1, MAX_SIZE, &c->num_channels, err);
    /* A full CLIPConfig keeps the projection size at the top level. */
    if (!rc && vis) rc = json_int(root, "projection_dim", path, 1, MAX_SIZE, &c->projection_dim, err);
    if (!rc && !c->projection_dim) rc = json_int(o, "projection_dim", path, 1, MAX_SIZE, &c->projection_dim, err);
    if (!rc && c->image_size && c->patch_size && c->image_size / c->patch_size > MAX_GRID)
        rc = bmc_err_set(err, NULL, "%s: image_size / patch_size is above %d", path, MAX_GRID);
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(o, "hidden_act");
    if (!rc && act) {
        if (cJSON_IsString(act) && !strcmp(act->valuestring, "quick_gelu")) c->quick_gelu = 1;
        else if (cJSON_IsString(act) && !strcmp(act->valuestring, "gelu")) c->quick_gelu = 0;
        else
            rc = bmc_err_set(err, "CLIP uses quick_gelu (OpenAI's models) or gelu",
                             "%s: unsupported 'hidden_act' (supported: \"quick_gelu\", \"gelu\")", path);
    }
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(o, "layer_norm_eps");
    if (!rc && eps) {
        if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0.0 && eps->valuedouble < 1.0))
            rc = bmc_err_set(err, NULL, "%s: 'layer_norm_eps' must be a number in (0, 1)", path);
        else c->layer_norm_eps = (float)eps->valuedouble;
    }
    cJSON_Delete(root);
    return rc;
}

/* Fields of cfg (from config.json) that are absent are taken from inferred. */
static void overlay(vit_config *cfg, const vit_config *inferred) {
#define TAKE(f) if (!cfg->f) cfg->f = inferred->f
    TAKE(image_size); TAKE(patch_size); TAKE(hidden_size); TAKE(num_layers); TAKE(intermediate_size);
    TAKE(projection_dim); TAKE(num_channels); TAKE(num_heads);
#undef TAKE
    if (!(cfg->layer_norm_eps > 0.0f)) cfg->layer_norm_eps = inferred->layer_norm_eps;
    if (cfg->quick_gelu < 0) cfg->quick_gelu = inferred->quick_gelu;
}

/* ---- loading ---- */

/* Check presence, dtype and shape of every spec; and that the file has no extra layers. */
static int check_specs(const st_file *st, const wspec *s, size_t n, const vit_config *c, clip_naming nm,
                       const char *source, bmc_err *err) {
    char hint[BMC_ERR_HINT_MAX], want[160], found[160];
    snprintf(hint, sizeof hint, "hyperparameters from %s: image_size %d, patch_size %d, hidden_size %d, layers %d, "
             "intermediate_size %d, projection_dim %d, channels %d; check that they belong to this weights file",
             source, c->image_size, c->patch_size, c->hidden_size, c->num_layers, c->intermediate_size,
             c->projection_dim, c->num_channels);
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_find(st, s[i].name);
        if (!t) return bmc_err_set(err, TOWER_HINT, "%s: missing tensor '%s'", st_path(st), s[i].name);
        if (!is_float_dtype(t->dtype))
            return bmc_err_set(err, "weights must be F32, F16, BF16 or F64; convert the checkpoint",
                               "%s: tensor '%s' has dtype %s, not a floating-point type", st_path(st), t->name,
                               st_dtype_name(t->dtype));
        int same = t->ndim == s[i].ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == s[i].shape[d];
        if (!same) {
            format_dims(s[i].shape, s[i].ndim, want, sizeof want);
            format_dims(t->shape, t->ndim, found, sizeof found);
            return bmc_err_set(err, hint, "%s: tensor '%s' has shape %s but %s expects %s", st_path(st), t->name,
                               found, source, want);
        }
    }
    const char *example = NULL;
    int layers = count_layers(st, nm, &example);
    if (layers > c->num_layers)
        return bmc_err_set(err, hint, "%s: tensor '%s' belongs to layer %d, but %s has %d layers", st_path(st),
                           example, layers - 1, source, c->num_layers);
    return 0;
}

/* A weight that is NaN or infinite would make every feature non-finite: refuse the tensor,
 * naming the file, the tensor and the first bad element (flat index, as stored). */
static int check_finite(const st_file *st, const st_tensor *t, const float *v, bmc_err *err) {
    for (size_t i = 0; i < t->numel; i++)
        if (!isfinite(v[i]))
            return bmc_err_set(err, "the checkpoint is damaged or was saved after a diverged update",
                               "%s: tensor '%s' element %zu is %g, not a finite number", st_path(st),
                               t->name, i, (double)v[i]);
    return 0;
}

static int read_specs(const st_file *st, const wspec *s, size_t n, bmc_err *err) {
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_find(st, s[i].name);
        BMC_CHECK(t && s[i].dst);
        if (!s[i].transpose) {
            if (st_read_f32(st, t, s[i].dst, t->numel, err) || check_finite(st, t, s[i].dst, err))
                return -1;
            continue;
        }
        size_t rows = (size_t)t->shape[0], cols = (size_t)t->shape[1];
        float *tmp = XNEW(tmp, t->numel);
        int rc = st_read_f32(st, t, tmp, t->numel, err);
        if (!rc) rc = check_finite(st, t, tmp, err);
        for (size_t r = 0; r < rows && !rc; r++)
            for (size_t k = 0; k < cols; k++) s[i].dst[k * rows + r] = tmp[r * cols + k];
        free(tmp);
        if (rc) return -1;
    }
    return 0;
}

int clip_weights_load(vit_model *m, const char *safetensors_path, const char *config_json_path, bmc_err *err) {
    st_file *st = st_open(safetensors_path, err);
    if (!st) return -1;
    vit_config inferred, cfg;
    clip_naming nm;
    int rc = clip_weights_infer_config(st, &inferred, &nm, err);
    if (!rc && config_json_path) {
        rc = clip_config_read_json(config_json_path, &cfg, err);
        if (!rc && !cfg.num_heads && inferred.num_heads && bmc_log_rank() == 0)
            bmc_log_warn("%s has no num_attention_heads; using CLIP's rule heads = width / 64 = %d",
                         config_json_path, inferred.num_heads);
        if (!rc) overlay(&cfg, &inferred);
    } else if (!rc) {
        cfg = inferred;
        if (cfg.num_heads && bmc_log_rank() == 0) /* warnings print on every rank */
            bmc_log_warn("%s: no config.json; hyperparameters inferred from the tensor shapes, and heads = width / 64 "
                         "= %d by CLIP's rule (pass config.json if the model differs)", safetensors_path, cfg.num_heads);
    }
    if (!rc && !cfg.num_heads)
        rc = bmc_err_set(err, "pass the model's config.json with num_attention_heads",
                         "%s: the number of attention heads is not in the weights, and CLIP's rule width / 64 does "
                         "not divide the width %d", safetensors_path, cfg.hidden_size);
    char msg[256];
    if (!rc && vit_config_derive(&cfg, msg, sizeof msg))
        rc = bmc_err_set(err, "fix config.json or remove it to infer the sizes from the weights", "%s: %s",
                         config_json_path ? config_json_path : safetensors_path, msg);
    const char *source = config_json_path ? config_json_path : "the other tensors' shapes";
    wspec *specs = NULL;
    size_t n = 0;
    if (!rc) {
        specs = XNEW(specs, max_specs(&cfg));
        n = build_specs(&cfg, nm, NULL, specs);
        rc = check_specs(st, specs, n, &cfg, nm, source, err);
    }
    if (!rc) {
        vit_model model = {0};
        model.cfg = cfg;
        vit_model_alloc(&model);
        build_specs(&cfg, nm, &model, specs);
        rc = read_specs(st, specs, n, err);
        if (rc) vit_model_free(&model);
        else *m = model;
    }
    if (!rc) {
        const st_tensor *cls = st_find(st, specs[0].name);
        bmc_log_info("%s: CLIP ViT, %s names, %s: image %d, patch %d (grid %d, %d tokens), width %d, %d layers, "
                     "%d heads, MLP %d, projection %d, %s, layer_norm_eps %g (hyperparameters from %s)",
                     safetensors_path, nm == CLIP_NAMES_HF ? "Hugging Face" : "OpenAI", st_dtype_name(cls->dtype),
                     cfg.image_size, cfg.patch_size, cfg.grid, cfg.tokens, cfg.hidden_size, cfg.num_layers,
                     cfg.num_heads, cfg.intermediate_size, cfg.projection_dim,
                     cfg.quick_gelu ? "quick_gelu" : "gelu", (double)cfg.layer_norm_eps,
                     config_json_path ? config_json_path : "tensor shapes");
    }
    free(specs);
    st_close(st);
    return rc;
}

char *clip_weights_find_config(const char *weights_path) {
    char *dir = bmc_dirname(weights_path);
    char *cfg = bmc_path_join(dir, "config.json");
    free(dir);
    if (bmc_path_exists(cfg) && !bmc_is_dir(cfg)) return cfg;
    free(cfg);
    return NULL;
}

/* ---- writing ---- */

int clip_weights_save_hf(const vit_model *m, const char *path, st_dtype dtype, const char *const (*meta)[2],
                         size_t n_meta, bmc_err *err) {
    const vit_config *c = &m->cfg;
    size_t cap = max_specs(c);
    wspec *specs = XNEW(specs, cap);
    size_t n = build_specs(c, CLIP_NAMES_HF, (vit_model *)m, specs);
    st_write_tensor *tw = xcalloc(n, sizeof *tw);
    for (size_t i = 0; i < n; i++) {
        tw[i].name = specs[i].name;
        tw[i].ndim = specs[i].ndim;
        memcpy(tw[i].shape, specs[i].shape, sizeof specs[i].shape);
        tw[i].data = specs[i].dst;
    }
    const char *(*all)[2] = xcalloc(n_meta + 1, sizeof *all);
    all[0][0] = "format";
    all[0][1] = "pt";
    for (size_t i = 0; i < n_meta; i++) {
        all[i + 1][0] = meta[i][0];
        all[i + 1][1] = meta[i][1];
    }
    int rc = st_write(path, tw, n, dtype, (const char *const (*)[2])all, n_meta + 1, err);
    free(all);
    free(tw);
    free(specs);
    return rc;
}

int clip_config_write_json(const vit_config *c, const char *path, const char *torch_dtype, bmc_err *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("CLIPVisionModelWithProjection"));
    cJSON_AddStringToObject(o, "model_type", "clip_vision_model");
    cJSON_AddNumberToObject(o, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(o, "intermediate_size", c->intermediate_size);
    cJSON_AddNumberToObject(o, "projection_dim", c->projection_dim);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->num_layers);
    cJSON_AddNumberToObject(o, "num_attention_heads", c->num_heads);
    cJSON_AddNumberToObject(o, "num_channels", c->num_channels);
    cJSON_AddNumberToObject(o, "image_size", c->image_size);
    cJSON_AddNumberToObject(o, "patch_size", c->patch_size);
    cJSON_AddStringToObject(o, "hidden_act", c->quick_gelu ? "quick_gelu" : "gelu");
    /* The shortest decimal that reads back as the same float ("1e-05", not 9.99999974e-06). */
    char eps[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(eps, sizeof eps, "%.*g", digits, (double)c->layer_norm_eps);
        if (strtof(eps, NULL) == c->layer_norm_eps) break;
    }
    cJSON_AddRawToObject(o, "layer_norm_eps", eps);
    cJSON_AddStringToObject(o, "torch_dtype", torch_dtype);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    BMC_CHECK(text != NULL);
    size_t len = strlen(text);
    char *with_nl = xmalloc(len + 2);
    memcpy(with_nl, text, len);
    with_nl[len] = '\n';
    with_nl[len + 1] = '\0';
    cJSON_free(text);
    int rc = bmc_write_file_atomic(path, with_nl, len + 1, err);
    free(with_nl);
    return rc;
}
