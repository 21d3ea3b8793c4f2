/* test_clip_weights.c — CLIP weight loading (weights.c) and safetensors I/O (safetensors.c).
 *
 * Groups (argv[1]): golden — the clip-tiny files: HF and OpenAI names load to bit-identical
 * models, config.json agrees with the shapes, values match a numpy read; convert — F16, BF16,
 * F64 against numpy (all 65536 half patterns) and a mixed-dtype full checkpoint; writer —
 * st_write / clip_weights_save_hf round trips, F16 rounding checked by numpy; synth — runs
 * `bmc-synth clip-weights` (under MPI) and loads its output. Bad inputs: test_clip_weights_bad.c.
 */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "bmc_fs.h"
#include "bmc_test.h"
#include "safetensors.h"
#include "weights.h"

int synth_clip_weights_main(int argc, char **argv);

static char testdata[1024];
static const char *ref_script; /* clip_weights_ref.py */

/* The clip-tiny folder, tests/data/clip-tiny (BMC_CLIP_TINY_DIR). */
static int find_testdata(void) {
    snprintf(testdata, sizeof testdata, "%s", BMC_CLIP_TINY_DIR);
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/model.safetensors", testdata);
    return bmc_path_exists(probe) ? 0 : -1;
}

static char *td(const char *name) { return bmc_path_join(testdata, name); }

static int run_python(const char *args) {
    const char *py = getenv("BMC_PYTHON3");
    char *cmd = bmc_xasprintf("%s %s %s", py && *py ? py : "/usr/bin/python3", ref_script, args);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

/* Every carved tensor of a model, named, for per-tensor comparisons. */
typedef struct carved { char name[48]; const float *p; size_t n; } carved;

static size_t list_carved(const vit_model *m, carved *out) {
    const vit_config *c = &m->cfg;
    size_t W = (size_t)c->hidden_size, I = (size_t)c->intermediate_size, n = 0;
    size_t CPP = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
#define ADD(nm, ptr, cnt) (snprintf(out[n].name, sizeof out[n].name, "%s", nm), out[n].p = (ptr), out[n++].n = (cnt))
    ADD("patch_w", m->patch_w, W * CPP);
    ADD("class_emb", m->class_emb, W);
    ADD("pos_emb", m->pos_emb, (size_t)c->tokens * W);
    ADD("pre_ln_w", m->pre_ln_w, W);
    ADD("pre_ln_b", m->pre_ln_b, W);
    for (int l = 0; l < c->num_layers; l++) {
        const vit_layer *L = &m->layers[l];
        char nm[48];
        static const char *const part[] = {"q_w", "k_w", "v_w", "q_b", "k_b", "v_b"};
        for (int k = 0; k < 3; k++) {
            snprintf(nm, sizeof nm, "layer%d.%s", l, part[k]);
            ADD(nm, L->qkv_w + (size_t)k * W * W, W * W);
            snprintf(nm, sizeof nm, "layer%d.%s", l, part[3 + k]);
            ADD(nm, L->qkv_b + (size_t)k * W, W);
        }
        const float *ptr[] = {L->ln1_w, L->ln1_b, L->out_w, L->out_b, L->ln2_w, L->ln2_b, L->fc1_w, L->fc1_b, L->fc2_w, L->fc2_b};
        size_t cnt[] = {W, W, W * W, W, W, W, I * W, I, W * I, W};
        static const char *const nms[] = {"ln1_w", "ln1_b", "out_w", "out_b", "ln2_w", "ln2_b", "fc1_w", "fc1_b", "fc2_w", "fc2_b"};
        for (int k = 0; k < 10; k++) {
            snprintf(nm, sizeof nm, "layer%d.%s", l, nms[k]);
            ADD(nm, ptr[k], cnt[k]);
        }
    }
    ADD("post_ln_w", m->post_ln_w, W);
    ADD("post_ln_b", m->post_ln_b, W);
    ADD("proj", m->proj, (size_t)c->projection_dim * W);
#undef ADD
    return n;
}

/* Bitwise equality of every carved tensor; reports the first differing ones. */
static void check_models_identical(const vit_model *a, const vit_model *b, const char *what) {
    TEST_CHECK(a->n_params == b->n_params, "%s: %zu vs %zu params", what, a->n_params, b->n_params);
    if (a->n_params != b->n_params || a->cfg.num_layers != b->cfg.num_layers) return;
    carved *ca = XNEW(ca, 8 + 16 * (size_t)a->cfg.num_layers), *cb = XNEW(cb, 8 + 16 * (size_t)a->cfg.num_layers);
    size_t n = list_carved(a, ca), total = 0;
    list_carved(b, cb);
    int differing = 0;
    for (size_t i = 0; i < n; i++) {
        total += ca[i].n;
        int same = memcmp(ca[i].p, cb[i].p, ca[i].n * sizeof(float)) == 0;
        TEST_CHECK(same, "%s: tensor %s differs", what, ca[i].name);
        differing += !same;
    }
    TEST_CHECK(total == a->n_params, "%s: carved tensors cover %zu of %zu params", what, total, a->n_params);
    printf("%s: %zu tensors compared bitwise, %d differ\n", what, n, differing);
    free(ca);
    free(cb);
}

static int same_config(const vit_config *a, const vit_config *b, int compare_heads) {
    return a->image_size == b->image_size && a->patch_size == b->patch_size && a->hidden_size == b->hidden_size &&
           a->num_layers == b->num_layers && a->intermediate_size == b->intermediate_size &&
           a->projection_dim == b->projection_dim && a->num_channels == b->num_channels &&
           a->layer_norm_eps == b->layer_norm_eps && a->quick_gelu == b->quick_gelu &&
           (!compare_heads || a->num_heads == b->num_heads);
}

/* Where an HF tensor lives in the model (independent of weights.c's tables). */
static const float *hf_location(const vit_model *m, const char *name) {
    size_t W = (size_t)m->cfg.hidden_size;
    int l, off;
    char rest[128];
    if (!strcmp(name, "vision_model.embeddings.class_embedding")) return m->class_emb;
    if (!strcmp(name, "vision_model.embeddings.patch_embedding.weight")) return m->patch_w;
    if (!strcmp(name, "vision_model.embeddings.position_embedding.weight")) return m->pos_emb;
    if (!strcmp(name, "vision_model.pre_layrnorm.weight")) return m->pre_ln_w;
    if (!strcmp(name, "vision_model.pre_layrnorm.bias")) return m->pre_ln_b;
    if (!strcmp(name, "vision_model.post_layernorm.weight")) return m->post_ln_w;
    if (!strcmp(name, "vision_model.post_layernorm.bias")) return m->post_ln_b;
    if (!strcmp(name, "visual_projection.weight")) return m->proj;
    if (sscanf(name, "vision_model.encoder.layers.%d.%n", &l, &off) != 1 || l < 0 || l >= m->cfg.num_layers) return NULL;
    snprintf(rest, sizeof rest, "%s", name + off);
    const vit_layer *L = &m->layers[l];
    static const char *const qkv[3] = {"q", "k", "v"};
    for (int k = 0; k < 3; k++) {
        char w[64], b[64];
        snprintf(w, sizeof w, "self_attn.%s_proj.weight", qkv[k]);
        snprintf(b, sizeof b, "self_attn.%s_proj.bias", qkv[k]);
        if (!strcmp(rest, w)) return L->qkv_w + (size_t)k * W * W;
        if (!strcmp(rest, b)) return L->qkv_b + (size_t)k * W;
    }
    static const char *const names[] = {"layer_norm1.weight", "layer_norm1.bias", "self_attn.out_proj.weight",
                                         "self_attn.out_proj.bias", "layer_norm2.weight", "layer_norm2.bias",
                                         "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"};
    const float *ptrs[] = {L->ln1_w, L->ln1_b, L->out_w, L->out_b, L->ln2_w, L->ln2_b, L->fc1_w, L->fc1_b, L->fc2_w, L->fc2_b};
    for (int k = 0; k < 10; k++)
        if (!strcmp(rest, names[k])) return ptrs[k];
    return NULL;
}

static void test_golden(const char *tmp) {
    char *hf = td("model.safetensors"), *oa = td("openai_visual.safetensors"), *cfg_path = td("config.json");
    bmc_err err = {0};
    vit_model a = {0}, b = {0}, c = {0};
    TEST_CHECK(clip_weights_load(&a, hf, cfg_path, &err) == 0, "load HF: %s", err.msg);
    TEST_CHECK(clip_weights_load(&b, oa, cfg_path, &err) == 0, "load OpenAI: %s", err.msg);
    TEST_CHECK(clip_weights_load(&c, oa, NULL, &err) == 0, "load OpenAI without config: %s", err.msg);
    if (err.failed) return;
    /* config.json values (README §1) */
    const vit_config *k = &a.cfg;
    TEST_CHECK(k->image_size == 56 && k->patch_size == 14 && k->hidden_size == 64 && k->num_layers == 4 &&
                   k->num_heads == 4 && k->intermediate_size == 256 && k->projection_dim == 32 &&
                   k->num_channels == 3 && k->quick_gelu == 1 && k->layer_norm_eps == 1e-5f && k->grid == 4 &&
                   k->tokens == 17 && k->head_dim == 16,
               "config R%d P%d W%d L%d H%d I%d D%d", k->image_size, k->patch_size, k->hidden_size, k->num_layers,
               k->num_heads, k->intermediate_size, k->projection_dim);
    check_models_identical(&a, &b, "HF vs OpenAI names");
    check_models_identical(&a, &c, "with vs without config.json");
    TEST_CHECK(same_config(&a.cfg, &b.cfg, 1), "HF and OpenAI configs differ");
    TEST_CHECK(same_config(&a.cfg, &c.cfg, 0) && c.cfg.num_heads == 1, "inferred config (heads %d by W/64)",
               c.cfg.num_heads);
    /* the transposed projection: proj[d, w] == visual.proj[w, d] */
    st_file *st = st_open(oa, &err);
    TEST_CHECK(st != NULL, "%s", err.msg);
    if (st) {
        const st_tensor *p = st_find(st, "visual.proj");
        const float *raw = st_raw(st, p);
        TEST_CHECK(p && p->shape[0] == 64 && p->shape[1] == 32 && raw[5 * 32 + 7] == b.proj[7 * 64 + 5] &&
                       raw[63 * 32 + 31] == b.proj[31 * 64 + 63],
                   "visual.proj transpose");
        vit_config inf, js;
        clip_naming nm;
        TEST_CHECK(clip_weights_infer_config(st, &inf, &nm, &err) == 0 && nm == CLIP_NAMES_OPENAI, "%s", err.msg);
        TEST_CHECK(clip_config_read_json(cfg_path, &js, &err) == 0, "%s", err.msg);
        TEST_CHECK(same_config(&inf, &js, 0) && js.num_heads == 4 && inf.tokens == 17,
                   "config.json vs shapes: R %d/%d P %d/%d W %d/%d L %d/%d I %d/%d D %d/%d", inf.image_size,
                   js.image_size, inf.patch_size, js.patch_size, inf.hidden_size, js.hidden_size, inf.num_layers,
                   js.num_layers, inf.intermediate_size, js.intermediate_size, inf.projection_dim, js.projection_dim);
        st_close(st);
    }
    st = st_open(hf, &err);
    TEST_CHECK(st && st_count(st) == 72 && st_metadata(st, "format") && !strcmp(st_metadata(st, "format"), "pt") &&
                   st_find(st, "__metadata__") == NULL,
               "HF file: 72 tensors and format pt");
    st_close(st);
    char *found = clip_weights_find_config(hf);
    TEST_STREQ(found, cfg_path);
    free(found);
    char *none_path = bmc_path_join(tmp, "x.safetensors");
    TEST_CHECK(clip_weights_find_config(none_path) == NULL, "no config.json in %s", tmp);
    free(none_path);
    /* spot values from numpy's own parse of model.safetensors */
    char *args = bmc_xasprintf("fixtures %s %s", tmp, hf), *spot = bmc_path_join(tmp, "spot.txt");
    TEST_CHECK(run_python(args) == 0, "python fixtures");
    FILE *f = fopen(spot, "r");
    TEST_CHECK(f != NULL, "cannot read %s", spot);
    char name[200];
    size_t idx, lines = 0, tensors_seen = 0;
    unsigned bits;
    char last[200] = "";
    while (f && fscanf(f, "%199s %zu %x", name, &idx, &bits) == 3) {
        const float *loc = hf_location(&a, name);
        uint32_t got = 0;
        if (loc) memcpy(&got, loc + idx, 4);
        TEST_CHECK(loc && got == bits, "%s[%zu]: 0x%08x, numpy 0x%08x", name, idx, got, bits);
        lines++;
        if (strcmp(last, name)) tensors_seen++;
        snprintf(last, sizeof last, "%s", name);
    }
    if (f) fclose(f);
    TEST_CHECK(tensors_seen == 72 && lines >= 72 * 3, "spot checks: %zu values in %zu tensors", lines, tensors_seen);
    free(args);
    free(spot);
    vit_model_free(&a);
    vit_model_free(&b);
    vit_model_free(&c);
    free(hf);
    free(oa);
    free(cfg_path);
}

/* Raw little-endian float32 file of n values. */
static float *read_f32_file(const char *path, size_t n) {
    size_t len = 0;
    bmc_err err = {0};
    char *buf = bmc_read_file(path, &len, &err);
    if (!buf || len != n * 4) {
        free(buf);
        return NULL;
    }
    float *out = XNEW(out, n);
    memcpy(out, buf, n * 4);
    free(buf);
    return out;
}

static void compare_bits(const char *what, const float *got, const float *want, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&got[i], &want[i], 4) != 0) {
            if (bad < 5) {
                uint32_t g, w;
                memcpy(&g, &got[i], 4);
                memcpy(&w, &want[i], 4);
                fprintf(stderr, "%s[%zu]: 0x%08x, numpy 0x%08x\n", what, i, g, w);
            }
            bad++;
        }
    }
    TEST_CHECK(bad == 0, "%s: %zu of %zu values differ from numpy", what, bad, n);
}

static void test_convert(const char *tmp) {
    char *hf = td("model.safetensors"), *cfg_path = td("config.json");
    char *args = bmc_xasprintf("fixtures %s %s", tmp, hf);
    TEST_CHECK(run_python(args) == 0, "python fixtures");
    free(args);
    char *conv = bmc_path_join(tmp, "convert.safetensors");
    bmc_err err = {0};
    st_file *st = st_open(conv, &err);
    TEST_CHECK(st != NULL, "%s", err.msg);
    static const char *const names[] = {"h", "b", "d"};
    for (int k = 0; st && k < 3; k++) {
        const st_tensor *t = st_find(st, names[k]);
        char file[32];
        snprintf(file, sizeof file, "convert_%s.f32", names[k]);
        char *ref_path = bmc_path_join(tmp, file);
        float *want = t ? read_f32_file(ref_path, t->numel) : NULL;
        float *got = t ? XNEW(got, t->numel) : NULL;
        TEST_CHECK(t && want && st_read_f32(st, t, got, t->numel, &err) == 0, "%s: %s", names[k], err.msg);
        if (t && want) compare_bits(st_dtype_name(t->dtype), got, want, t->numel);
        free(want);
        free(got);
        free(ref_path);
    }
    st_close(st);
    free(conv);
    /* float→half: exact inverse on every non-NaN half, NaN stays NaN */
    size_t bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = st_f16_to_f32((uint16_t)h);
        uint16_t back = st_f32_to_f16(f);
        if (isnan(f) ? !isnan(st_f16_to_f32(back)) : back != h) bad++;
    }
    TEST_CHECK(bad == 0, "f16 → f32 → f16 changed %zu patterns", bad);
    /* a full checkpoint with mixed dtypes and unused tensors vs numpy's upcast */
    char *mixed = bmc_path_join(tmp, "mixed.safetensors"), *up = bmc_path_join(tmp, "mixed_as_f32.safetensors");
    vit_model a = {0}, b = {0};
    TEST_CHECK(clip_weights_load(&a, mixed, cfg_path, &err) == 0, "mixed-dtype full checkpoint: %s", err.msg);
    TEST_CHECK(clip_weights_load(&b, up, cfg_path, &err) == 0, "%s", err.msg);
    if (a.params && b.params) check_models_identical(&a, &b, "F16/BF16/F64/F32 checkpoint vs numpy upcast");
    vit_model_free(&a);
    vit_model_free(&b);
    free(mixed);
    free(up);
    free(hf);
    free(cfg_path);
}

static void test_writer(const char *tmp) {
    bmc_err err = {0};
    /* generic round trip: scalar, empty and odd-named tensors, metadata needing escapes */
    float vals[24], scalar = -3.25f;
    for (int i = 0; i < 24; i++) vals[i] = (float)i * 0.37f - 4.0f;
    vals[3] = INFINITY;
    vals[4] = -0.0f;
    vals[5] = 1e-41f; /* float subnormal */
    vals[6] = 65519.0f;
    vals[7] = 65520.0f;
    vals[8] = 5.9604645e-08f; /* smallest half subnormal */
    vals[9] = 2.9802322e-08f; /* half of it: ties to 0 */
    vals[10] = 1.0f + 1.0f / 2048.0f; /* tie: rounds to even 1.0 */
    vals[11] = 1.0f + 3.0f / 2048.0f; /* tie: rounds up */
    vals[12] = NAN;
    st_write_tensor tw[] = {
        {"zeta.weight", 3, {2, 3, 4}, vals},
        {"alpha \"quoted\"\\name", 1, {24}, vals},
        {"scalar", 0, {0}, &scalar},
        {"empty", 2, {0, 5}, NULL},
    };
    const char *const meta[][2] = {{"format", "pt"}, {"note", "line\nbreak \"q\" \\ \x01"}};
    char *p32 = bmc_path_join(tmp, "w32.safetensors"), *p16 = bmc_path_join(tmp, "w16.safetensors");
    TEST_CHECK(st_write(p32, tw, 4, ST_F32, meta, 2, &err) == 0, "%s", err.msg);
    TEST_CHECK(st_write(p16, tw, 4, ST_F16, meta, 2, &err) == 0, "%s", err.msg);
    char *partial = bmc_xasprintf("%s.partial", p32);
    TEST_CHECK(!bmc_path_exists(partial), "a .partial file was left behind");
    free(partial);
    size_t len = 0;
    char *bytes = bmc_read_file(p32, &len, &err);
    uint64_t hlen = 0;
    for (int i = 7; bytes && len >= 8 && i >= 0; i--) hlen = (hlen << 8) | (unsigned char)bytes[i];
    TEST_CHECK(bytes && (8 + hlen) % 8 == 0 && bytes[8] == '{', "header length %llu not padded to 8",
               (unsigned long long)hlen);
    free(bytes);
    st_file *st = st_open(p32, &err);
    TEST_CHECK(st != NULL, "reopen: %s", err.msg);
    if (st) {
        TEST_CHECK(st_count(st) == 4, "%zu tensors", st_count(st));
        TEST_STREQ(st_metadata(st, "note"), meta[1][1]);
        const st_tensor *t = st_find(st, "zeta.weight"), *q = st_find(st, tw[1].name);
        const st_tensor *s = st_find(st, "scalar"), *e = st_find(st, "empty");
        TEST_CHECK(t && q && s && e && t->ndim == 3 && t->shape[2] == 4 && s->ndim == 0 && s->numel == 1 &&
                       e->numel == 0 && e->ndim == 2,
                   "shapes read back");
        float back[24], sback = 0;
        if (t && s) {
            TEST_CHECK(st_read_f32(st, t, back, 24, &err) == 0 && memcmp(back, vals, sizeof vals) == 0,
                       "F32 values round trip");
            TEST_CHECK(st_read_f32(st, s, &sback, 1, &err) == 0 && sback == scalar, "scalar");
        }
        st_close(st);
    }
    char *args = bmc_xasprintf("check_f16 %s %s", p32, p16);
    TEST_CHECK(run_python(args) == 0, "F16 writer rounding differs from numpy");
    free(args);
    /* a whole model: F32 bit-identical; F16 equals rounding; config.json round trip */
    vit_model m = {0}, back32 = {0}, back16 = {0};
    m.cfg = (vit_config){.image_size = 12, .patch_size = 4, .hidden_size = 24, .num_layers = 2, .num_heads = 3,
                         .intermediate_size = 40, .projection_dim = 8, .num_channels = 3, .layer_norm_eps = 1e-6f,
                         .quick_gelu = 0};
    char msg[256];
    TEST_CHECK(vit_config_derive(&m.cfg, msg, sizeof msg) == 0, "%s", msg);
    vit_model_alloc(&m);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] = (float)sin(0.731 * (double)i) * 1.5f;
    char *mw = bmc_path_join(tmp, "m.safetensors"), *mw16 = bmc_path_join(tmp, "m16.safetensors");
    char *mc = bmc_path_join(tmp, "config.json");
    const char *const extra[][2] = {{"generator", "test"}};
    TEST_CHECK(clip_weights_save_hf(&m, mw, ST_F32, extra, 1, &err) == 0, "%s", err.msg);
    TEST_CHECK(clip_weights_save_hf(&m, mw16, ST_F16, NULL, 0, &err) == 0, "%s", err.msg);
    TEST_CHECK(clip_config_write_json(&m.cfg, mc, "float32", &err) == 0, "%s", err.msg);
    char *found = clip_weights_find_config(mw);
    TEST_STREQ(found, mc);
    free(found);
    TEST_CHECK(clip_weights_load(&back32, mw, mc, &err) == 0, "%s", err.msg);
    TEST_CHECK(clip_weights_load(&back16, mw16, mc, &err) == 0, "%s", err.msg);
    if (back32.params) {
        check_models_identical(&m, &back32, "save_hf F32 round trip");
        TEST_CHECK(same_config(&m.cfg, &back32.cfg, 1), "config.json round trip (eps %g, gelu %d)",
                   (double)back32.cfg.layer_norm_eps, back32.cfg.quick_gelu);
    }
    if (back16.params) {
        size_t bad = 0;
        for (size_t i = 0; i < m.n_params; i++) bad += back16.params[i] != st_f16_to_f32(st_f32_to_f16(m.params[i]));
        TEST_CHECK(bad == 0 && back16.n_params == m.n_params, "F16 model: %zu values differ from rounding", bad);
    }
    bytes = bmc_read_file(mc, &len, &err);
    TEST_CHECK(bytes && strstr(bytes, "\"layer_norm_eps\":\t1e-06") && strstr(bytes, "\"hidden_act\":\t\"gelu\""),
               "config.json text: %s", bytes ? bytes : "");
    free(bytes);
    vit_model_free(&m);
    vit_model_free(&back32);
    vit_model_free(&back16);
    /* writer argument errors */
    st_write_tensor dup[] = {{"a", 1, {1}, vals}, {"a", 1, {1}, vals}};
    bmc_err e2 = {0};
    TEST_CHECK(st_write(p32, dup, 2, ST_F32, NULL, 0, &e2) == -1 && strstr(e2.msg, "'a' is given twice"), "%s", e2.msg);
    free(p32);
    free(p16);
    free(mw);
    free(mw16);
    free(mc);
}

/* argv: synth STAGE.yaml WEIGHTS CONFIG F32|F16 [REFERENCE_WEIGHTS] */
static void test_synth(int argc, char **argv) {
    char *sargv[] = {"--config", argv[2], NULL};
    TEST_CHECK(synth_clip_weights_main(2, sargv) == 0, "synth_clip_weights_main");
    /* MPI is finalised now; every rank checks the files on its own. */
    bmc_err err = {0};
    vit_model m = {0};
    TEST_CHECK(clip_weights_load(&m, argv[3], argv[4], &err) == 0, "%s", err.msg);
    char *partial = bmc_xasprintf("%s.partial", argv[3]);
    TEST_CHECK(!bmc_path_exists(partial), "no .partial left");
    free(partial);
    st_file *st = st_open(argv[3], &err);
    const st_tensor *t = st ? st_find(st, "vision_model.encoder.layers.0.self_attn.k_proj.bias") : NULL;
    TEST_CHECK(t && !strcmp(st_dtype_name(t->dtype), argv[5]), "dtype %s", t ? st_dtype_name(t->dtype) : "?");
    TEST_CHECK(st && st_metadata(st, "generator") && st_metadata(st, "seed"), "metadata");
    st_close(st);
    if (!m.params) return;
    const vit_config *c = &m.cfg;
    size_t W = (size_t)c->hidden_size;
    /* initialisation scales (README §1) over the largest tensors */
    double sum = 0, sq = 0;
    size_t n = 3 * W * W * (size_t)c->num_layers;
    for (int l = 0; l < c->num_layers; l++)
        for (size_t i = 0; i < 3 * W * W; i++) {
            double v = m.layers[l].qkv_w[i];
            sum += v;
            sq += v * v;
        }
    double sd = sqrt(sq / (double)n), want = 1.2 / sqrt((double)W);
    TEST_CHECK(fabs(sd / want - 1) < 0.05 && fabs(sum / (double)n) < 0.1 * want, "qkv std %g, want %g", sd, want);
    double g = 0;
    for (size_t i = 0; i < W; i++) g += m.layers[0].ln1_w[i];
    TEST_CHECK(fabs(g / (double)W - 1.0) < 0.1, "LayerNorm gains mean %g", g / (double)W);
    int distinct = memcmp(m.layers[0].qkv_w, m.layers[0].qkv_w + W * W, W * W * sizeof(float)) != 0 &&
                   memcmp(m.layers[0].qkv_b, m.layers[0].qkv_b + W, W * sizeof(float)) != 0;
    TEST_CHECK(distinct, "q and k drawn from different streams");
    if (!strcmp(argv[5], "F16")) {
        size_t bad = 0;
        for (size_t i = 0; i < m.n_params; i++) bad += m.params[i] != st_f16_to_f32(st_f32_to_f16(m.params[i]));
        TEST_CHECK(bad == 0, "F16 file: %zu values not half-representable", bad);
    }
    if (argc > 6 && bmc_path_exists(argv[6])) { /* same seed and sizes on another rank count */
        size_t la = 0, lb = 0;
        char *a = bmc_read_file(argv[3], &la, &err), *b = bmc_read_file(argv[6], &lb, &err);
        TEST_CHECK(a && b && la == lb && memcmp(a, b, la) == 0, "%s and %s differ", argv[3], argv[6]);
        free(a);
        free(b);
    }
    vit_model_free(&m);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_clip_weights golden|convert|writer REF_SCRIPT | synth STAGE.yaml WEIGHTS CONFIG "
                        "F32|F16 [REFERENCE]\n");
        return 2;
    }
    if (!strcmp(argv[1], "synth")) {
        test_synth(argc, argv);
        return test_summary();
    }
    ref_script = argv[2];
    if (find_testdata()) {
        fprintf(stderr, "clip-tiny test data not found (%s)\n", BMC_CLIP_TINY_DIR);
        return 1;
    }
    char tmp[] = "/tmp/bmc-clipw-XXXXXX";
    TEST_CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    if (!strcmp(argv[1], "golden")) test_golden(tmp);
    else if (!strcmp(argv[1], "convert")) test_convert(tmp);
    else if (!strcmp(argv[1], "writer")) test_writer(tmp);
    else TEST_CHECK(0, "unknown group '%s'", argv[1]);
    bmc_remove_tree(tmp);
    return test_summary();
}
