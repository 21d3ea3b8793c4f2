/* test_clip_weights_bad.c — bad safetensors files and configs give clear errors, never crashes.
 *
 * Every fixture is generated here at test time (no committed binaries): headers of the real
 * clip-tiny model.safetensors edited with cJSON, hand-written small files, tensor sets
 * rewritten with st_write, bad config.json files, and a few hundred random header mutations.
 * Each case checks the return code and that the message names what is wrong (file, tensor,
 * expected vs found). Run under ASan/UBSan to prove no out-of-bounds read.
 */
#define _XOPEN_SOURCE 700
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "bmc_test.h"
#include "safetensors.h"
#include "weights.h"

static char tmp[] = "/tmp/bmc-clipw-bad-XXXXXX";
static char model_path[1100], config_path[1100], golden_path[1100];
static unsigned char *model;   /* the whole model.safetensors */
static size_t model_len, model_hlen;

static int find_testdata(void) {
    const char *dir = BMC_CLIP_TINY_DIR;
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", dir);
    snprintf(config_path, sizeof config_path, "%s/config.json", dir);
    snprintf(golden_path, sizeof golden_path, "%s/golden.safetensors", dir);
    return bmc_path_exists(model_path) ? 0 : -1;
}

static char *tmp_path(const char *name) { return bmc_path_join(tmp, name); }

static void write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    BMC_CHECK(f != NULL);
    BMC_CHECK(len == 0 || fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* 8-byte length (declared), header text, then data. */
static void write_st_raw(const char *path, uint64_t declared, const char *header, const void *data, size_t dlen) {
    size_t hl = strlen(header);
    unsigned char *buf = xmalloc(8 + hl + dlen + 1);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((declared >> (8 * i)) & 0xffu);
    memcpy(buf + 8, header, hl);
    if (dlen) memcpy(buf + 8 + hl, data, dlen);
    write_bytes(path, buf, 8 + hl + dlen);
    free(buf);
}

/* Checks a failure whose message contains every one of the given substrings (NULL-ended). */
static void expect_error(const char *what, int rc, const bmc_err *err, ...) {
    va_list ap;
    va_start(ap, err);
    int ok = rc == -1 && err->failed;
    const char *missing = NULL;
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!strstr(err->msg, s) && !missing) missing = s;
    va_end(ap);
    TEST_CHECK(ok && !missing, "%s: rc %d, message '%s' lacks '%s'", what, rc, err->msg, missing ? missing : "");
    printf("%-28s -> error: %s\n%-28s    hint: %s\n", what, err->msg, "", err->hint);
}

static void expect_open_error(const char *what, const char *path, ...) {
    bmc_err err = {0};
    st_file *st = st_open(path, &err);
    va_list ap;
    va_start(ap, path);
    int ok = st == NULL && err.failed;
    const char *missing = NULL;
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        if (!strstr(err.msg, s) && !missing) missing = s;
    va_end(ap);
    TEST_CHECK(ok && !missing, "%s: message '%s' lacks '%s'", what, err.msg, missing ? missing : "");
    printf("%-28s -> error: %s\n", what, err.msg);
    st_close(st);
}

/* The real header, edited by fn, written with the real data area (optionally cut). */
static void with_edited_header(const char *path, void (*fn)(cJSON *root)) {
    cJSON *root = cJSON_ParseWithLength((const char *)model + 8, model_hlen);
    BMC_CHECK(root != NULL);
    fn(root);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    write_st_raw(path, strlen(text), text, model + 8 + model_hlen, model_len - 8 - model_hlen);
    cJSON_free(text);
}

static cJSON *entry(cJSON *root, const char *name) {
    cJSON *e = cJSON_GetObjectItemCaseSensitive(root, name);
    BMC_CHECK(e != NULL);
    return e;
}

static void set_pair(cJSON *e, const char *key, double a, double b) {
    double v[2] = {a, b};
    cJSON_ReplaceItemInObjectCaseSensitive(e, key, cJSON_CreateDoubleArray(v, 2));
}

#define FC1_3 "vision_model.encoder.layers.3.mlp.fc1.weight"
#define CLS "vision_model.embeddings.class_embedding"
static void edit_offsets_beyond(cJSON *r) { set_pair(entry(r, FC1_3), "data_offsets", 700000, 2000000); }
static void edit_shape_mismatch(cJSON *r) {
    cJSON_ReplaceItemInObjectCaseSensitive(entry(r, CLS), "shape", cJSON_CreateIntArray((const int[]){63}, 1));
}
static void edit_overlap(cJSON *r) {
    cJSON *off = cJSON_GetObjectItemCaseSensitive(entry(r, CLS), "data_offsets");
    cJSON_ReplaceItemInObjectCaseSensitive(entry(r, "vision_model.encoder.layers.0.layer_norm1.bias"), "data_offsets",
                                           cJSON_Duplicate(off, 1));
}
static void edit_end_before_begin(cJSON *r) { set_pair(entry(r, CLS), "data_offsets", 256, 0); }
static void edit_fraction(cJSON *r) { set_pair(entry(r, CLS), "data_offsets", 0.5, 256); }
static void edit_negative(cJSON *r) { set_pair(entry(r, CLS), "data_offsets", -256, 0); }
static void edit_unknown_dtype(cJSON *r) {
    cJSON_ReplaceItemInObjectCaseSensitive(entry(r, CLS), "dtype", cJSON_CreateString("Q7"));
}
static void edit_i8(cJSON *r) {
    cJSON *e = entry(r, "vision_model.post_layernorm.bias");
    cJSON_ReplaceItemInObjectCaseSensitive(e, "dtype", cJSON_CreateString("I8"));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "shape", cJSON_CreateIntArray((const int[]){256}, 1));
}
static void edit_nine_dims(cJSON *r) {
    cJSON_ReplaceItemInObjectCaseSensitive(entry(r, CLS), "shape",
                                           cJSON_CreateIntArray((const int[]){1, 1, 1, 1, 1, 1, 1, 1, 64}, 9));
}
static void edit_overflow(cJSON *r) {
    double v[3] = {4503599627370496.0, 4503599627370496.0, 4.0};
    cJSON_ReplaceItemInObjectCaseSensitive(entry(r, CLS), "shape", cJSON_CreateDoubleArray(v, 3));
}
static void edit_string_offsets(cJSON *r) {
    const char *v[2] = {"0", "256"};
    cJSON_ReplaceItemInObjectCaseSensitive(entry(r, CLS), "data_offsets", cJSON_CreateStringArray(v, 2));
}
static void edit_meta_number(cJSON *r) {
    cJSON_AddNumberToObject(entry(r, "__metadata__"), "epoch", 3);
}
static void edit_no_shape(cJSON *r) { cJSON_DeleteItemFromObjectCaseSensitive(entry(r, CLS), "shape"); }

static void test_header_edits(void) {
    static const struct { const char *what; void (*fn)(cJSON *); const char *s1, *s2; } cases[] = {
        {"offsets beyond the data", edit_offsets_beyond, "'" FC1_3 "': data_offsets [700000, 2000000] exceed the data size", "edited.safetensors: "},
        {"size mismatch", edit_shape_mismatch, "'" CLS "'", "hold 256 bytes but shape [63] of F32 needs 252"},
        {"overlapping tensors", edit_overlap, "overlap", "layer_norm1.bias"},
        {"end before begin", edit_end_before_begin, "end before they begin", CLS},
        {"fractional offset", edit_fraction, "'data_offsets' must be two non-negative integers", CLS},
        {"negative offset", edit_negative, "'data_offsets' must be two non-negative integers", CLS},
        {"string offsets", edit_string_offsets, "'data_offsets'", CLS},
        {"unknown dtype", edit_unknown_dtype, "unknown dtype 'Q7'", CLS},
        {"nine dimensions", edit_nine_dims, "9 dimensions", CLS},
        {"shape overflow", edit_overflow, "too large", CLS},
        {"metadata not a string", edit_meta_number, "'__metadata__' value of 'epoch' is not a string", NULL},
        {"entry without shape", edit_no_shape, "missing or non-array 'shape'", CLS},
    };
    char *p = tmp_path("edited.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        with_edited_header(p, cases[i].fn);
        expect_open_error(cases[i].what, p, cases[i].s1, cases[i].s2, (const char *)NULL);
    }
    /* I8 where a weight belongs: the file is valid, the load is not */
    with_edited_header(p, edit_i8);
    bmc_err err = {0};
    vit_model m = {0};
    expect_error("I8 weight", clip_weights_load(&m, p, config_path, &err), &err,
                 "'vision_model.post_layernorm.bias' has dtype I8", (const char *)NULL);
    free(p);
}

static void test_framing(void) {
    char *p = tmp_path("framing.safetensors");
    write_bytes(p, model, 5);
    expect_open_error("5-byte file", p, "truncated: 5 bytes", (const char *)NULL);
    write_bytes(p, model, 0);
    expect_open_error("empty file", p, "truncated: 0 bytes", (const char *)NULL);
    write_bytes(p, model, 8 + model_hlen / 2);
    expect_open_error("cut inside the header", p, "exceeds the file size", (const char *)NULL);
    write_bytes(p, model, 8 + model_hlen + 1000);
    expect_open_error("cut inside the data", p, "exceed the data size 1000", "patch_embedding.weight", (const char *)NULL);
    write_bytes(p, model, model_len - 1);
    expect_open_error("last byte missing", p, "exceed the data size", (const char *)NULL);
    unsigned char *copy = xmalloc(model_len + 16);
    memcpy(copy, model, model_len);
    memset(copy + model_len, 0, 16);
    write_bytes(p, copy, model_len + 16);
    expect_open_error("trailing bytes", p, "16 bytes after the last tensor", (const char *)NULL);
    memcpy(copy, model, model_len);
    copy[7] = 0x80; /* length 2^63 + ... */
    write_bytes(p, copy, model_len);
    expect_open_error("huge header length", p, "exceeds the file size", (const char *)NULL);
    memcpy(copy, model, model_len);
    copy[8] = '#'; /* the opening brace */
    write_bytes(p, copy, model_len);
    expect_open_error("invalid JSON", p, "not valid JSON", (const char *)NULL);
    free(copy);
    float data[4] = {1, 2, 3, 4};
    write_st_raw(p, 0, "", NULL, 0);
    expect_open_error("header length 0", p, "too short", (const char *)NULL);
    write_st_raw(p, 8, "[1,2,3] ", NULL, 0);
    expect_open_error("header is an array", p, "not an object", (const char *)NULL);
    write_st_raw(p, 16, "{}    xx        ", NULL, 0);
    expect_open_error("bytes after the JSON", p, "bytes after its JSON object", (const char *)NULL);
    const char *dup = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    write_st_raw(p, strlen(dup), dup, data, 16);
    expect_open_error("duplicate name", p, "tensor 'a' appears twice", (const char *)NULL);
    const char *gap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    write_st_raw(p, strlen(gap), gap, data, 16);
    expect_open_error("gap in the data", p, "gap of 8 bytes before tensor 'a'", (const char *)NULL);
    const char *ok = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}  ";
    write_st_raw(p, strlen(ok), ok, data, 4);
    bmc_err err = {0};
    st_file *st = st_open(p, &err);
    TEST_CHECK(st && st_count(st) == 1 && st_find(st, "a")->numel == 1, "valid minimal file: %s", err.msg);
    st_close(st);
    char *missing = tmp_path("does-not-exist.safetensors");
    expect_open_error("missing file", missing, "cannot open", "does-not-exist.safetensors", (const char *)NULL);
    expect_open_error("a folder", tmp, "not a regular file", (const char *)NULL);
    free(missing);
    free(p);
}

/* model.safetensors rewritten with st_write: tensor `drop` left out, `reshape` given dims,
 * `add` (1-D of 4) added. */
static void rewrite_model(const char *path, const char *drop, const char *reshape, const int64_t *dims, int ndim,
                          const char *add) {
    bmc_err err = {0};
    st_file *st = st_open(model_path, &err);
    BMC_CHECK(st != NULL);
    size_t n = st_count(st), k = 0;
    st_write_tensor *tw = xcalloc(n + 1, sizeof *tw);
    float **bufs = xcalloc(n, sizeof *bufs);
    static const float four[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(st, i);
        if (drop && !strcmp(t->name, drop)) continue;
        bufs[i] = XNEW(bufs[i], t->numel);
        BMC_CHECK(st_read_f32(st, t, bufs[i], t->numel, &err) == 0);
        tw[k] = (st_write_tensor){.name = t->name, .ndim = t->ndim, .data = bufs[i]};
        memcpy(tw[k].shape, t->shape, sizeof t->shape);
        if (reshape && !strcmp(t->name, reshape)) {
            tw[k].ndim = ndim;
            memcpy(tw[k].shape, dims, (size_t)ndim * sizeof *dims);
        }
        k++;
    }
    if (add) tw[k++] = (st_write_tensor){.name = add, .ndim = 1, .shape = {4}, .data = four};
    BMC_CHECK(st_write(path, tw, k, ST_F32, NULL, 0, &err) == 0);
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(tw);
    st_close(st);
}

static void test_model_contents(void) {
    char *p = tmp_path("model.safetensors");
    bmc_err err = {0};
    vit_model m = {0};
    rewrite_model(p, "vision_model.encoder.layers.2.self_attn.k_proj.bias", NULL, NULL, 0, NULL);
    expect_error("missing k_proj.bias", clip_weights_load(&m, p, config_path, &err), &err,
                 "missing tensor 'vision_model.encoder.layers.2.self_attn.k_proj.bias'", (const char *)NULL);
    err = (bmc_err){0};
    rewrite_model(p, NULL, "vision_model.encoder.layers.1.mlp.fc2.weight", (const int64_t[]){256, 64}, 2, NULL);
    expect_error("transposed fc2", clip_weights_load(&m, p, config_path, &err), &err,
                 "tensor 'vision_model.encoder.layers.1.mlp.fc2.weight' has shape [256, 64] but", "expects [64, 256]",
                 (const char *)NULL);
    err = (bmc_err){0};
    expect_error("transposed fc2, no config", clip_weights_load(&m, p, NULL, &err), &err,
                 "layers.1.mlp.fc2.weight' has shape [256, 64] but the other tensors' shapes expects [64, 256]",
                 (const char *)NULL);
    err = (bmc_err){0};
    rewrite_model(p, "visual_projection.weight", NULL, NULL, 0, NULL);
    expect_error("no projection", clip_weights_load(&m, p, NULL, &err), &err,
                 "missing tensor 'visual_projection.weight'", (const char *)NULL);
    TEST_CHECK(strstr(err.hint, "CLIPVisionModel") != NULL, "hint: %s", err.hint);
    err = (bmc_err){0};
    rewrite_model(p, NULL, NULL, NULL, 0, "vision_model.embeddings.patch_embedding.bias");
    expect_error("patch bias", clip_weights_load(&m, p, NULL, &err), &err, "patch-embedding bias", (const char *)NULL);
    err = (bmc_err){0};
    rewrite_model(p, NULL, NULL, NULL, 0, "vision_model.encoder.layers.7.layer_norm1.weight");
    expect_error("extra layer", clip_weights_load(&m, p, config_path, &err), &err,
                 "'vision_model.encoder.layers.7.layer_norm1.weight' belongs to layer 7", "has 4 layers",
                 (const char *)NULL);
    err = (bmc_err){0};
    rewrite_model(p, NULL, "vision_model.embeddings.position_embedding.weight", (const int64_t[]){16, 64}, 2, NULL);
    expect_error("16 position rows", clip_weights_load(&m, p, NULL, &err), &err, "16 rows is not 1 + g²",
                 (const char *)NULL);
    err = (bmc_err){0};
    expect_error("not a CLIP file", clip_weights_load(&m, golden_path, NULL, &err), &err, "no CLIP image tower found",
                 (const char *)NULL);
    TEST_CHECK(m.params == NULL, "model untouched after failures");
    free(p);
}

static void test_configs(void) {
    static const struct { const char *what, *json, *s1, *s2; } cases[] = {
        {"hidden_size 48", "{\"hidden_size\": 48}", "'vision_model.embeddings.class_embedding' has shape [64] but", "expects [48]"},
        {"num_hidden_layers 3", "{\"num_hidden_layers\": 3}", "'vision_model.encoder.layers.3.", "has 3 layers"},
        {"image_size 70", "{\"image_size\": 70}", "'vision_model.embeddings.position_embedding.weight' has shape [17, 64]", "expects [26, 64]"},
        {"patch_size 16", "{\"image_size\": 64, \"patch_size\": 16}", "patch_embedding.weight' has shape [64, 3, 14, 14]", "expects [64, 3, 16, 16]"},
        {"intermediate_size 512", "{\"intermediate_size\": 512}", "'vision_model.encoder.layers.0.mlp.fc1.weight' has shape [256, 64]", "expects [512, 64]"},
        {"CLIPConfig projection 48", "{\"projection_dim\": 48, \"vision_config\": {\"hidden_size\": 64}}", "'visual_projection.weight' has shape [32, 64]", "expects [48, 64]"},
        {"heads 5", "{\"num_attention_heads\": 5}", "hidden_size 64 is not a multiple of num_attention_heads 5", NULL},
        {"hidden_act relu", "{\"hidden_act\": \"relu\"}", "unsupported 'hidden_act'", NULL},
        {"hidden_size as text", "{\"hidden_size\": \"64\"}", "'hidden_size' must be an integer", NULL},
        {"negative eps", "{\"layer_norm_eps\": -1}", "'layer_norm_eps' must be a number", NULL},
        {"broken JSON", "{\"hidden_size\": 64,", "not a valid JSON object", NULL},
        {"vision_config not object", "{\"vision_config\": 3}", "'vision_config' is not an object", NULL},
    };
    char *cp = tmp_path("config.json");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_bytes(cp, cases[i].json, strlen(cases[i].json));
        bmc_err err = {0};
        vit_model m = {0};
        expect_error(cases[i].what, clip_weights_load(&m, model_path, cp, &err), &err, cases[i].s1, cases[i].s2,
                     (const char *)NULL);
        TEST_CHECK(strstr(err.msg, "config.json") != NULL || strstr(err.hint, "config.json") != NULL,
                   "%s: the config file is named", cases[i].what);
    }
    /* a full CLIPConfig: vision_config plus the top-level projection_dim (which wins) */
    const char *full = "{\"projection_dim\": 32, \"text_config\": {\"hidden_size\": 512}, \"vision_config\": "
                       "{\"hidden_size\": 64, \"num_attention_heads\": 4, \"projection_dim\": 512, \"image_size\": 56, "
                       "\"patch_size\": 14, \"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-6}}";
    write_bytes(cp, full, strlen(full));
    bmc_err err = {0};
    vit_model m = {0};
    TEST_CHECK(clip_weights_load(&m, model_path, cp, &err) == 0 && m.cfg.num_heads == 4 && m.cfg.projection_dim == 32 &&
                   m.cfg.quick_gelu == 0 && m.cfg.layer_norm_eps == 1e-6f,
               "full CLIPConfig: %s", err.msg);
    vit_model_free(&m);
    /* no config and a width that CLIP's heads rule does not divide */
    vit_model w = {0};
    w.cfg = (vit_config){.image_size = 2, .patch_size = 2, .hidden_size = 200, .num_layers = 1, .num_heads = 1,
                         .intermediate_size = 8, .projection_dim = 4, .num_channels = 3, .layer_norm_eps = 1e-5f,
                         .quick_gelu = 1};
    char msg[200];
    BMC_CHECK(vit_config_derive(&w.cfg, msg, sizeof msg) == 0);
    vit_model_alloc(&w);
    char *wp = tmp_path("w200.safetensors");
    TEST_CHECK(clip_weights_save_hf(&w, wp, ST_F32, NULL, 0, &err) == 0, "%s", err.msg);
    vit_model_free(&w);
    remove(cp); /* keep find_config from seeing it; load is given no config anyway */
    expect_error("heads rule fails", clip_weights_load(&m, wp, NULL, &err), &err, "number of attention heads",
                 "width 200", (const char *)NULL);
    free(wp);
    free(cp);
}

/* Random header mutations and cuts of a small valid model: any outcome but a crash. */
static void test_mutations(void) {
    vit_model m = {0};
    m.cfg = (vit_config){.image_size = 4, .patch_size = 2, .hidden_size = 8, .num_layers = 1, .num_heads = 2,
                         .intermediate_size = 16, .projection_dim = 4, .num_channels = 3, .layer_norm_eps = 1e-5f,
                         .quick_gelu = 1};
    char msg[200];
    BMC_CHECK(vit_config_derive(&m.cfg, msg, sizeof msg) == 0);
    vit_model_alloc(&m);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] = (float)i;
    bmc_err err = {0};
    char *src = tmp_path("small.safetensors"), *p = tmp_path("mutant.safetensors");
    BMC_CHECK(clip_weights_save_hf(&m, src, ST_F16, NULL, 0, &err) == 0);
    vit_model_free(&m);
    size_t len = 0;
    unsigned char *orig = (unsigned char *)bmc_read_file(src, &len, &err);
    size_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | orig[i];
    unsigned char *buf = xmalloc(len);
    static const char alphabet[] = "0123456789[]{}\",:.-e \\x";
    uint64_t state = 12345;
    int opened = 0, loaded = 0, rejected = 0;
    bmc_log_init("test_clip_weights_bad", BMC_LOG_QUIET); /* 400 loads would log */
    for (int it = 0; it < 400; it++) {
        memcpy(buf, orig, len);
        size_t cut = len;
        int flips = 1 + it % 3;
        for (int f = 0; f < flips; f++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(state >> 33) % (it % 50 == 0 ? 8 : hlen) + (it % 50 == 0 ? 0 : 8);
            buf[pos] = (unsigned char)alphabet[(state >> 20) % (sizeof alphabet - 1)];
        }
        if (it % 7 == 0) cut = (size_t)(state >> 40) % len;
        write_bytes(p, buf, cut);
        bmc_err e = {0};
        st_file *st = st_open(p, &e);
        if (st) {
            opened++;
            st_close(st);
            vit_model x = {0};
            bmc_err e2 = {0};
            if (clip_weights_load(&x, p, NULL, &e2) == 0) loaded++;
            else rejected += e2.failed && e2.msg[0];
            vit_model_free(&x);
        } else {
            rejected += e.failed && e.msg[0];
        }
    }
    bmc_log_init("test_clip_weights_bad", BMC_LOG_INFO);
    printf("mutations: 400 files, %d opened, %d loaded, %d rejected with a message\n", opened, loaded, rejected);
    TEST_CHECK(rejected + loaded == 400, "every mutant either loads or is rejected with a message");
    free(orig);
    free(buf);
    free(src);
    free(p);
}

int main(void) {
    if (find_testdata()) {
        fprintf(stderr, "clip-tiny test data not found (%s)\n", BMC_CLIP_TINY_DIR);
        return 1;
    }
    TEST_CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    bmc_err err = {0};
    model = (unsigned char *)bmc_read_file(model_path, &model_len, &err);
    BMC_CHECK(model && model_len > 8);
    for (int i = 7; i >= 0; i--) model_hlen = (model_hlen << 8) | model[i];
    test_framing();
    test_header_edits();
    test_model_contents();
    test_configs();
    test_mutations();
    free(model);
    bmc_remove_tree(tmp);
    return test_summary();
}
