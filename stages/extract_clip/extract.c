/* extract.c — bmc-extract-clip's plan (params → what to compute) and its batch loop.
 *
 * Batches are fixed slices [kB, (k+1)B) of the selected images, whatever the rank count,
 * and each rank owns a block of whole batches: so every image is computed in the same batch
 * (hence bit-identical features) on any number of ranks and after a resume. After every
 * batch each rank writes its rows of every output collectively and then marks them in
 * /done. The file's metadata is flushed once the
 * layout exists (and every FLUSH_SECONDS), so a killed run leaves a .partial whose /done
 * rows are complete: a rerun skips them. An error (agreed) discards the .partial instead. Every rank takes part in the same number of collective calls
 * (ranks that run out of work write zero rows).
 * Not here: decoding images (source.c), the ViT (vit.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "extract.h"
#include "preprocess.h"
#include "weights.h"

/* Seconds between flushes of the output (each costs an fsync of the file). */
#define FLUSH_SECONDS 30.0

static const char *const out_names[OUT_KINDS] = {"detail", "semantic", "pooled", "token_embeds",
                                                 "pooler_output"};

int extract_read_plan(const bmc_stage *s, extract_plan *p, bmc_err *err) {
    memset(p, 0, sizeof *p);
    static const char *const ins[] = {"images", "weights", "config"};
    static const char *const outs[] = {"features"};
    static const bmc_param_key keys[] = {{"dataset", 0},       {"image_ids", 0}, {"outputs", 0},
                                         {"hidden_states", 0}, {"detail_layers", 0},
                                         {"dtype", 0},         {"batch_size", 1}, {"threads", 1}};
    if (bmc_stage_check_names(s, ins, 3, outs, 1, err)) return -1;
    if (!(p->images = bmc_stage_input(s, "images", err))) return -1;
    if (!(p->weights = bmc_stage_input(s, "weights", err))) return -1;
    if (!(p->out = bmc_stage_output(s, "features", err))) return -1;
    if (bmc_cfg_get(s->inputs, "config")) {
        const char *c = bmc_stage_input(s, "config", err);
        if (!c) return -1;
        p->weights_config = xstrdup(c);
    } else {
        p->weights_config = clip_weights_find_config(p->weights);
    }
    const bmc_cfg_node *pm = s->params;
    if (bmc_stage_check_params(s, keys, sizeof keys / sizeof *keys, "bmc-extract-clip params", err))
        return -1;
    if (bmc_cfg_string(pm, "dataset", 0, "imgBrick", &p->dataset, err)) return -1;
    p->ids_node = bmc_cfg_get(pm, "image_ids");
    p->hidden_node = bmc_cfg_get(pm, "hidden_states");
    p->detail_node = bmc_cfg_get(pm, "detail_layers");
    static const char *const dtypes[] = {"float32", "float16"};
    int dt;
    if (bmc_cfg_enum(pm, "dtype", 0, 0, dtypes, 2, &dt, err)) return -1;
    p->dtype = dt ? BMC_F16 : BMC_F32;
    long long v;
    if (bmc_cfg_int(pm, "batch_size", 0, 8, 1, 4096, &v, err)) return -1;
    p->batch_size = (int)v;
    if (bmc_cfg_int(pm, "threads", 0, 0, 0, 1024, &v, err)) return -1;
    p->threads = (int)v;

    const bmc_cfg_node *o = bmc_cfg_get(pm, "outputs");
    if (!o || o->type == BMC_CFG_NULL) {
        p->want[OUT_DETAIL] = p->want[OUT_SEMANTIC] = p->want[OUT_POOLED] = 1;
        return 0;
    }
    if (o->type != BMC_CFG_SEQ)
        return bmc_cfg_error_at(o, err, "write a list, e.g. [detail, semantic, pooled]",
                                "outputs must be a list");
    for (size_t i = 0; i < o->n; i++) {
        const bmc_cfg_node *it = o->items[i];
        int k = -1;
        for (int j = 0; j < OUT_KINDS && it->text; j++)
            if (!strcmp(it->text, out_names[j])) k = j;
        if (k < 0)
            return bmc_cfg_error_at(it, err, "one of detail, semantic, pooled, token_embeds, pooler_output",
                                    "unknown output '%s'", it->text ? it->text : "?");
        p->want[k] = 1;
    }
    return 0;
}

/* One layer index from a node: an integer in [0, L]. */
static int layer_at(const bmc_cfg_node *n, int L, const char *what, int *out, bmc_err *err) {
    if (n->type != BMC_CFG_INT || n->v.i < 0 || n->v.i > L)
        return bmc_cfg_error_at(n, err, "0 is the output of pre_layrnorm, k the output of block k",
                                "%s '%s' is not a layer in [0, %d] of this model",
                                what, n->text ? n->text : "?", L);
    *out = (int)n->v.i;
    return 0;
}

int extract_resolve_outputs(extract_plan *p, const vit_config *c, bmc_err *err) {
    int L = c->num_layers;
    if (p->detail_node && p->detail_node->type != BMC_CFG_NULL) {
        const bmc_cfg_node *d = p->detail_node;
        if (d->type != BMC_CFG_SEQ || d->n != 2)
            return bmc_cfg_error_at(d, err, "write [first, last], both inclusive",
                                    "detail_layers must be a list of two layers");
        if (layer_at(d->items[0], L, "detail layer", &p->detail_first, err) ||
            layer_at(d->items[1], L, "detail layer", &p->detail_last, err))
            return -1;
        if (p->detail_first > p->detail_last)
            return bmc_cfg_error_at(d, err, "write [first, last] with first <= last",
                                    "detail_layers [%d, %d] is empty", p->detail_first,
                                    p->detail_last);
    } else {
        /* BrainMCLIP's blocks 11..20 of ViT-L/14's 24, scaled to this model's depth. */
        p->detail_first = (int)lround(11.0 * L / 24.0);
        p->detail_last = (int)lround(20.0 * L / 24.0);
        if (p->detail_first < 1) p->detail_first = 1;
        if (p->detail_last < p->detail_first) p->detail_last = p->detail_first;
    }
    const bmc_cfg_node *h = p->hidden_node;
    if (h && h->type != BMC_CFG_NULL) {
        if (h->type != BMC_CFG_SEQ)
            return bmc_cfg_error_at(h, err, "write a list of layers, e.g. [12, 24]",
                                    "hidden_states must be a list");
        p->hidden_layers = XNEW(p->hidden_layers, h->n ? h->n : 1);
        for (size_t i = 0; i < h->n; i++) {
            int l = -1;
            if (layer_at(h->items[i], L, "hidden state", &l, err)) return -1;
            for (int j = 0; j < p->n_hidden; j++)
                if (p->hidden_layers[j] == l)
                    return bmc_cfg_error_at(h->items[i], err, "list each layer once",
                                            "hidden state %d is listed twice", l);
            p->hidden_layers[p->n_hidden++] = l;
        }
    }
    int any = p->n_hidden > 0;
    for (int k = 0; k < OUT_KINDS; k++) any |= p->want[k];
    if (!any)
        return bmc_err_set(err, "list at least one of outputs or hidden_states",
                           "bmc-extract-clip: nothing to compute");
    return 0;
}

void extract_free_plan(extract_plan *p) {
    free(p->weights_config);
    free(p->hidden_layers);
    memset(p, 0, sizeof *p);
}

/* ---- the run ------------------------------------------------------------------------ */

/* Per-rank buffers of one batch: pixels and every requested output. */
typedef struct batch_buffers {
    float *pixels;              /* [B, C, R, R]      */
    float *out[OUT_KINDS];      /* [B, ...] or NULL  */
    float **hidden;             /* [L+1] → [B, T, W] or NULL */
    size_t row_len[OUT_KINDS];  /* floats per image  */
    uint8_t *ones;              /* [B] of 1          */
} batch_buffers;

static void dataset_name(char *buf, size_t n, int layer) {
    snprintf(buf, n, "/hidden_states/%02d", layer);
}

static size_t out_row_len(int k, const vit_config *c) {
    size_t T = (size_t)c->tokens, W = (size_t)c->hidden_size, D = (size_t)c->projection_dim;
    switch (k) {
    case OUT_DETAIL: return T * W;
    case OUT_SEMANTIC: case OUT_TOKEN_EMBEDS: return T * D;
    case OUT_POOLED: return D;
    default: return W;
    }
}

/* Collective: create every dataset and attribute of a fresh output. */
static int create_layout(bmc_stage *s, bmc_h5 *f, const extract_plan *p, const vit_config *c,
                         long n, bmc_err *err) {
    hsize_t N = (hsize_t)n, T = (hsize_t)c->tokens, W = (hsize_t)c->hidden_size,
            D = (hsize_t)c->projection_dim;
    int rc = bmc_h5_create_dataset(f, "/image_ids", BMC_I64, 1, &N, NULL, err);
    if (!rc) rc = bmc_h5_create_dataset(f, "/done", BMC_U8, 1, &N, NULL, err);
    for (int k = 0; k < OUT_KINDS && !rc; k++) {
        if (!p->want[k]) continue;
        hsize_t dims[3] = {N, T, k == OUT_DETAIL ? W : D};
        int nd = 3;
        if (k == OUT_POOLED || k == OUT_POOLER_OUTPUT) {
            dims[1] = k == OUT_POOLED ? D : W;
            nd = 2;
        }
        char name[64];
        snprintf(name, sizeof name, "/%s", out_names[k]);
        rc = bmc_h5_create_dataset(f, name, p->dtype, nd, dims, NULL, err);
    }
    for (int i = 0; i < p->n_hidden && !rc; i++) {
        char name[64];
        dataset_name(name, sizeof name, p->hidden_layers[i]);
        hsize_t dims[3] = {N, T, W};
        rc = bmc_h5_create_dataset(f, name, p->dtype, 3, dims, NULL, err);
    }
    const char *attr_i[] = {"image_size", "patch_size", "hidden_size", "num_layers", "num_heads",
                            "projection_dim", "tokens", "detail_first", "detail_last"};
    long long attr_v[] = {c->image_size, c->patch_size, c->hidden_size, c->num_layers, c->num_heads,
                          c->projection_dim, c->tokens, p->detail_first, p->detail_last};
    for (size_t i = 0; i < sizeof attr_v / sizeof *attr_v && !rc; i++)
        rc = bmc_h5_attr_set_i64(f, "/", attr_i[i], attr_v[i], err);
    if (!rc) rc = bmc_h5_attr_set_str(f, "/", "images", p->images, err);
    if (!rc) rc = bmc_h5_attr_set_str(f, "/", "weights", p->weights, err);
    if (!rc) rc = bmc_stage_provenance(s, f, err);
    return rc;
}

/* Next not-done batch of this rank at or after batch *cursor (batches kb0 .. kb0+nb-1 of
 * size B over n rows; done[] is indexed from row kb0·B). A batch counts as done only when
 * every row of it is (batch_size changes only speed, so a resume with another batch size
 * redoes the batches it cuts). Sets *first (global row); returns its size, 0 when none. */
static long next_batch(const uint8_t *done, long n, long kb0, long nb, int B, long *cursor,
                       long *first) {
    while (*cursor < nb) {
        long k = kb0 + (*cursor)++;
        long r0 = k * B, r1 = r0 + B < n ? r0 + B : n, all = 1;
        for (long r = r0; r < r1 && all; r++) all = done[r - kb0 * B];
        if (!all) {
            *first = r0;
            return r1 - r0;
        }
    }
    *first = 0;
    return 0;
}

/* The resume key: the engine's fingerprint, or (run by hand) a hash of the params and the
 * input paths. Local; key holds BMC_SHA256_HEX chars. */
static void resume_key(char *key, const bmc_stage *s, const extract_plan *p) {
    if (s->fingerprint) {
        snprintf(key, BMC_SHA256_HEX, "%s", s->fingerprint);
        return;
    }
    char *text = bmc_xasprintf("%s\n%s\n%s\n%s", s->params_sha256, p->images, p->weights,
                               p->weights_config ? p->weights_config : "");
    bmc_sha256_str(text, key);
    free(text);
}

/* Collective: create the output (layout, this rank's image ids, an all-zero /done) or resume
 * it, and fill done[0..nrows) with the /done rows [row0, row0 + nrows) of this rank.
 * Returns 1 resumed, 0 created, -1 (agreed) on error, in which case nothing is left open
 * (a .partial created here is discarded). */
static int output_open(bmc_h5 *f, uint8_t *done, bmc_stage *s, const extract_plan *p,
                       const vit_config *c, const clip_source *src, long row0, long nrows,
                       bmc_err *err) {
    char key[BMC_SHA256_HEX];
    resume_key(key, s, p);
    int resumed = bmc_h5_create_or_resume_as(f, s->comm, p->out, BMC_FMT_CLIP, key, err);
    if (resumed < 0) return -1;
    int rc;
    if (resumed) {
        rc = bmc_h5_read_rows(f, "/done", BMC_U8, (hsize_t)row0, (hsize_t)nrows, done, err);
    } else {
        long long *ids = XNEW(ids, nrows > 0 ? nrows : 1);
        for (long i = 0; i < nrows; i++) ids[i] = src->ids[row0 + i];
        rc = create_layout(s, f, p, c, src->n, err);
        if (!rc) rc = bmc_h5_write_rows(f, "/image_ids", BMC_I64, (hsize_t)row0, (hsize_t)nrows, ids, err);
        if (!rc) rc = bmc_h5_write_rows(f, "/done", BMC_U8, (hsize_t)row0, (hsize_t)nrows, done, err);
        if (!rc) rc = bmc_h5_flush(f, err);
        free(ids);
    }
    if (rc) {
        bmc_h5_discard(f);
        return -1;
    }
    return resumed;
}

/* Allocate bb for batches of B images and point req at its outputs (the requested ones
 * only). Local; a request the model cannot serve is a bug (abort). */
static void batch_buffers_alloc(batch_buffers *bb, vit_outputs *req, const extract_plan *p,
                                const vit_config *c, int B, bmc_err *err) {
    size_t RR = (size_t)c->image_size * (size_t)c->image_size;
    memset(bb, 0, sizeof *bb);
    bb->pixels = XNEW(bb->pixels, (size_t)B * (size_t)c->num_channels * RR);
    for (int k = 0; k < OUT_KINDS; k++) {
        bb->row_len[k] = out_row_len(k, c);
        if (p->want[k]) bb->out[k] = XNEW(bb->out[k], (size_t)B * bb->row_len[k]);
    }
    *req = (vit_outputs){
        .detail = bb->out[OUT_DETAIL],
        .detail_first = p->detail_first,
        .detail_last = p->detail_last,
        .semantic = bb->out[OUT_SEMANTIC],
        .image_embeds = bb->out[OUT_POOLED],
        .token_embeds = bb->out[OUT_TOKEN_EMBEDS],
        .pooled = bb->out[OUT_POOLER_OUTPUT],
    };
    if (p->n_hidden) {
        bb->hidden = xcalloc((size_t)c->num_layers + 1, sizeof *bb->hidden);
        for (int i = 0; i < p->n_hidden; i++)
            bb->hidden[p->hidden_layers[i]] = xmalloc(bmc_mul_size(
                (size_t)B * (size_t)c->tokens * (size_t)c->hidden_size, sizeof(float)));
        req->hidden_states = bb->hidden;
    }
    bb->ones = xmalloc((size_t)B);
    memset(bb->ones, 1, (size_t)B);
    BMC_CHECK(vit_outputs_check(req, c, err) == 0);
}

static void batch_buffers_free(batch_buffers *bb, const vit_config *c) {
    free(bb->pixels);
    for (int k = 0; k < OUT_KINDS; k++) free(bb->out[k]);
    if (bb->hidden)
        for (int l = 0; l <= c->num_layers; l++) free(bb->hidden[l]);
    free(bb->hidden);
    free(bb->ones);
    memset(bb, 0, sizeof *bb);
}

/* What reading one batch needs besides the source: the model's input size, the decode
 * buffer (grown as needed) and the preprocessing workspace. */
typedef struct batch_reader {
    const vit_config *c;
    uint8_t *img;
    size_t img_cap;
    clip_preprocess_ws pws;
} batch_reader;

/* Preprocess one decoded w×h RGB image into slot j of the batch's pixels [B, 3, R, R]. */
static void preprocess_into(float *pixels, batch_reader *rd, long j, const uint8_t *img, int w,
                            int h) {
    size_t RR = (size_t)rd->c->image_size * (size_t)rd->c->image_size;
    clip_preprocess(pixels + (size_t)j * 3 * RR, &rd->pws, img, w, h, rd->c->image_size,
                    clip_mean, clip_std);
}

/* HDF5 source, contiguous selection: images first .. first+b-1 in ONE collective read.
 * Collective; agreed status. */
static int read_batch_run(float *pixels, batch_reader *rd, clip_source *src, long first, long b,
                          bmc_err *err) {
    size_t img_bytes = (size_t)src->height * (size_t)src->width * 3;
    int rc = clip_source_read_run(src, first, b, &rd->img, &rd->img_cap, err);
    for (long j = 0; j < b && !rc; j++)
        preprocess_into(pixels, rd, j, rd->img + (size_t)j * img_bytes, src->width, src->height);
    return rc;
}

/* HDF5 source, scattered selection: one collective read per image slot; every rank makes
 * B calls, passing -1 past its b images. Collective; agreed status. */
static int read_batch_each(float *pixels, batch_reader *rd, clip_source *src, long first, long b,
                           int B, bmc_err *err) {
    int rc = 0;
    for (long j = 0; j < B && !rc; j++) {
        int w = 0, h = 0;
        long k = j < b ? first + j : -1;
        rc = clip_source_read(src, k, &rd->img, &rd->img_cap, &w, &h, err);
        if (!rc && k >= 0) preprocess_into(pixels, rd, j, rd->img, w, h);
    }
    return rc;
}

/* Folder source: each rank decodes its b files locally (stopping at its first error); the
 * ranks then agree. Collective; agreed status. */
static int read_batch_folder(float *pixels, batch_reader *rd, clip_source *src, MPI_Comm comm,
                             long first, long b, bmc_err *err) {
    bmc_err local = {0};
    for (long j = 0; j < b && !local.failed; j++) {
        int w = 0, h = 0;
        if (clip_source_read(src, first + j, &rd->img, &rd->img_cap, &w, &h, &local) == 0)
            preprocess_into(pixels, rd, j, rd->img, w, h);
    }
    if (bmc_err_agree(comm, &local)) {
        *err = local;
        return -1;
    }
    return 0;
}

/* Collective: write this rank's b rows from global row first (b may be 0) of every
 * requested output, then mark them in /done. Agreed status. */
static int write_batch(bmc_h5 *f, const extract_plan *p, const batch_buffers *bb, long first,
                       long b, bmc_err *err) {
    hsize_t r = (hsize_t)(b > 0 ? first : 0), cnt = (hsize_t)b;
    int rc = 0;
    for (int k = 0; k < OUT_KINDS && !rc; k++) {
        if (!p->want[k]) continue;
        char name[64];
        snprintf(name, sizeof name, "/%s", out_names[k]);
        rc = bmc_h5_write_rows(f, name, BMC_F32, r, cnt, bb->out[k], err);
    }
    for (int i = 0; i < p->n_hidden && !rc; i++) {
        char name[64];
        dataset_name(name, sizeof name, p->hidden_layers[i]);
        rc = bmc_h5_write_rows(f, name, BMC_F32, r, cnt, bb->hidden[p->hidden_layers[i]], err);
    }
    if (!rc) rc = bmc_h5_write_rows(f, "/done", BMC_U8, r, cnt, bb->ones, err);
    return rc;
}

/* Collective: flush f when rank 0's clock says FLUSH_SECONDS have passed since *t_flush
 * (rank 0 decides, so every rank makes the same call). Agreed status. */
static int flush_if_due(bmc_h5 *f, const bmc_stage *s, double *t_flush, bmc_err *err) {
    int flush = s->rank == 0 && bmc_now() - *t_flush > FLUSH_SECONDS;
    BMC_MPI(MPI_Bcast(&flush, 1, MPI_INT, 0, s->comm));
    if (!flush) return 0;
    *t_flush = bmc_now();
    return bmc_h5_flush(f, err);
}

int extract_run(bmc_stage *s, const extract_plan *p, const vit_model *m, clip_source *src,
                bmc_err *err) {
    const vit_config *c = &m->cfg;
    int B = p->batch_size;
    long n = src->n, kb0, nb;
    bmc_rowblock((n + B - 1) / B, s->size, s->rank, &kb0, &nb);
    long row0 = nb > 0 ? kb0 * B : 0;
    long nrows = nb > 0 ? ((kb0 + nb) * B < n ? (kb0 + nb) * B : n) - row0 : 0;

    bmc_h5 f;
    uint8_t *done = xcalloc((size_t)(nrows > 0 ? nrows : 1), 1);
    int resumed = output_open(&f, done, s, p, c, src, row0, nrows, err);
    if (resumed < 0) {
        free(done);
        return -1;
    }
    int rc = 0;
    long done_local = 0;
    for (long i = 0; i < nrows; i++) done_local += done[i];
    long done_total = 0;
    BMC_MPI(MPI_Allreduce(&done_local, &done_total, 1, MPI_LONG, MPI_SUM, s->comm));
    if (resumed)
        bmc_log_info("resuming %s: %ld of %ld images already done", p->out, done_total, n);

    /* Batches this rank needs, and the most any rank needs (the collective loop count). */
    long cursor = 0, first, my_batches = 0, max_batches = 0;
    while (next_batch(done, n, kb0, nb, B, &cursor, &first) > 0) my_batches++;
    BMC_MPI(MPI_Allreduce(&my_batches, &max_batches, 1, MPI_LONG, MPI_MAX, s->comm));

    batch_buffers bb;
    vit_outputs req;
    batch_buffers_alloc(&bb, &req, p, c, B, err);
    vit_workspace ws;
    vit_workspace_alloc(&ws, c, B);
    batch_reader rd = {.c = c};
    const char *fault = getenv("BMC_TEST_ABORT_AFTER_BATCHES");
    long abort_after = fault ? atol(fault) : -1;

    bmc_progress prog;
    bmc_progress_start(&prog, "extract", "images", n);
    cursor = 0;
    double t_flush = bmc_now();
    for (long it = 0; it < max_batches && !rc; it++) {
        long b = next_batch(done, n, kb0, nb, B, &cursor, &first);
        if (src->is_folder) rc = read_batch_folder(bb.pixels, &rd, src, s->comm, first, b, err);
        else if (src->contiguous) rc = read_batch_run(bb.pixels, &rd, src, first, b, err);
        else rc = read_batch_each(bb.pixels, &rd, src, first, b, B, err);
        if (rc) break;
        if (b > 0) vit_forward(m, &ws, bb.pixels, (int)b, &req, NULL);
        rc = write_batch(&f, p, &bb, first, b, err);
        if (!rc) rc = flush_if_due(&f, s, &t_flush, err);
        long add = 0;
        BMC_MPI(MPI_Allreduce(&b, &add, 1, MPI_LONG, MPI_SUM, s->comm));
        done_total += add;
        if (s->rank == 0) bmc_progress_update(&prog, done_total);
        if (abort_after >= 0 && it + 1 >= abort_after) {
            /* Test hook: die like a killed job, after the flush of this batch. */
            bmc_log_warn("BMC_TEST_ABORT_AFTER_BATCHES=%ld: aborting on purpose", abort_after);
            MPI_Abort(s->comm, 9);
        }
    }
    if (!rc) rc = bmc_h5_commit(&f, err);
    if (rc) bmc_h5_discard(&f); /* an error leaves nothing; only a killed run leaves a .partial */
    else if (s->rank == 0) bmc_progress_finish(&prog, n);

    vit_workspace_free(&ws);
    clip_preprocess_ws_free(&rd.pws);
    free(rd.img);
    batch_buffers_free(&bb, c);
    free(done);
    return rc;
}
