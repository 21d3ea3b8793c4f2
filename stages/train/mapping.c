/* mapping.c — bmc-train's inputs: the bmc.fmri and bmc.clip files opened and matched by image
 * id, one fMRI group loaded and validated (finite, no constant voxel), and the CLIP feature
 * reader that streams Y's column blocks to the ridge solver (hyperslabs of whole or partial
 * tokens over the range of feature rows a rank needs, in bounded chunks).
 * Not here: the config (main.c), the fits (main.c, encoding.c), the output (model_io.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "train.h"

/* Collective: a whole 1-D dataset of int64 read by every rank (*n its length). */
static int read_ids(bmc_h5 *f, const char *name, long long **out, long *n, bmc_err *err) {
    bmc_dtype t;
    int nd;
    hsize_t dims[BMC_H5_MAXDIMS];
    *out = NULL;
    if (!bmc_h5_exists(f, name)) { /* exists is collective: every rank agrees already */
        bmc_err_set(err, "was it written by bmc-extract-fmri / bmc-extract-clip?",
                    "%s: dataset %s is missing", f->path, name);
        bmc_err_agree(f->comm, err);
        return -1;
    }
    if (bmc_h5_dataset_info(f, name, &t, &nd, dims, err)) return -1;
    if (nd != 1) {
        bmc_err_set(err, NULL, "%s:%s: expected a 1-D array of image ids, found %d dimensions",
                    f->path, name, nd);
        bmc_err_agree(f->comm, err);
        return -1;
    }
    *n = (long)dims[0];
    *out = XNEW(*out, *n > 0 ? *n : 1);
    if (bmc_h5_read_rows(f, name, BMC_I64, 0, dims[0], *out, err)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

typedef struct id_row {
    long long id;
    long row;
} id_row;

static int cmp_id_row(const void *a, const void *b) {
    const id_row *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Local: frow[i] = row of ids[i] in the sorted table, -1 when absent. */
static void match_ids(const id_row *table, long nt, const long long *ids, long n, long *frow) {
    for (long i = 0; i < n; i++) {
        long lo = 0, hi = nt;
        while (lo < hi) {
            long mid = lo + (hi - lo) / 2;
            if (table[mid].id < ids[i]) lo = mid + 1;
            else hi = mid;
        }
        frow[i] = lo < nt && table[lo].id == ids[i] ? table[lo].row : -1;
    }
}

int train_inputs_open(train_inputs *in, MPI_Comm comm, const char *fmri, const char *features,
                      int need_test, bmc_err *err) {
    memset(in, 0, sizeof *in);
    in->fmri_path = fmri;
    in->feat_path = features;
    in->fmri.fid = in->feat.fid = H5I_INVALID_HID;
    if (bmc_h5_open_as(&in->fmri, comm, fmri, BMC_FMT_FMRI, err)) return -1;
    if (bmc_h5_open_as(&in->feat, comm, features, BMC_FMT_CLIP, err)) {
        bmc_h5_close(&in->fmri);
        return -1;
    }
    long long *fids = NULL;
    int rc = read_ids(&in->fmri, "/train/image_ids", &in->train_ids, &in->n_train, err);
    if (!rc) rc = read_ids(&in->fmri, "/test/image_ids", &in->test_ids, &in->n_test, err);
    if (!rc) rc = read_ids(&in->feat, "/image_ids", &fids, &in->n_feat, err);
    if (!rc) {
        long long g[3] = {0, 0, 0};
        bmc_h5_attr_get_i64_array(&in->fmri, "/", "grid", g, 3, err);
        if (!err->failed) bmc_h5_attr_get_i64(&in->fmri, "/", "subject", &in->subject, err);
        for (int a = 0; a < 3; a++) in->grid[a] = (long)g[a];
        rc = bmc_err_agree(comm, err) ? -1 : 0;
    }
    if (!rc) {
        id_row *table = XNEW(table, in->n_feat > 0 ? in->n_feat : 1);
        for (long i = 0; i < in->n_feat; i++) table[i] = (id_row){fids[i], i};
        qsort(table, (size_t)in->n_feat, sizeof *table, cmp_id_row);
        for (long i = 1; i < in->n_feat && !err->failed; i++)
            if (table[i].id == table[i - 1].id)
                bmc_err_set(err, "extract each image once", "%s:/image_ids: image id %lld appears twice",
                            features, table[i].id);
        in->train_frow = XNEW(in->train_frow, in->n_train > 0 ? in->n_train : 1);
        in->test_frow = XNEW(in->test_frow, in->n_test > 0 ? in->n_test : 1);
        match_ids(table, in->n_feat, in->train_ids, in->n_train, in->train_frow);
        match_ids(table, in->n_feat, in->test_ids, in->n_test, in->test_frow);
        free(table);
        if (in->n_train < 2)
            bmc_err_set(err, "the training split needs at least 2 images",
                        "%s:/train/image_ids: %ld training images", fmri, in->n_train);
        for (long i = 0; i < in->n_train && !err->failed; i++)
            if (in->train_frow[i] < 0)
                bmc_err_set(err,
                            "extract the CLIP features of every image of the fMRI file (same "
                            "stimuli, same ids), or check that the two files belong together",
                            "image ids do not match: training image id %lld (row %ld of %s:"
                            "/train/image_ids) is not in %s:/image_ids",
                            in->train_ids[i], i, fmri, features);
        for (long i = 0; need_test && i < in->n_test && !err->failed; i++)
            if (in->test_frow[i] < 0)
                bmc_err_set(err,
                            "extract the CLIP features of the test images too (the encoding "
                            "models are scored on them), or set encoding: false",
                            "image ids do not match: test image id %lld (row %ld of %s:"
                            "/test/image_ids) is not in %s:/image_ids",
                            in->test_ids[i], i, fmri, features);
        if (need_test && in->n_test < 2)
            bmc_err_set(err, "encoding models are scored on the test split; set encoding: false",
                        "%s:/test/image_ids: %ld test images (need at least 2)", fmri, in->n_test);
        rc = bmc_err_agree(comm, err) ? -1 : 0;
    }
    free(fids);
    if (rc) train_inputs_close(in);
    return rc;
}

void train_inputs_close(train_inputs *in) {
    if (in->fmri.fid != H5I_INVALID_HID) bmc_h5_close(&in->fmri);
    if (in->feat.fid != H5I_INVALID_HID) bmc_h5_close(&in->feat);
    in->fmri.fid = in->feat.fid = H5I_INVALID_HID;
    free(in->train_ids);
    free(in->test_ids);
    free(in->train_frow);
    free(in->test_frow);
    in->train_ids = in->test_ids = NULL;
    in->train_frow = in->test_frow = NULL;
}

/* ---- fMRI groups ------------------------------------------------------------------------ */

/* Local: the first non-finite value of rows (n × p) as an error naming file and image. */
static void check_finite(const double *x, long n, long p, long row0, const long long *ids,
                         const char *file, const char *dset, bmc_err *err) {
    for (long i = 0; i < n; i++)
        for (long j = 0; j < p; j++)
            if (!isfinite(x[i * p + j])) {
                bmc_err_set(err, "remove or re-extract the bad values (NaN/Inf) upstream",
                            "%s:%s: value of image id %lld (row %ld), column %ld is %g "
                            "(not finite)",
                            file, dset, ids[row0 + i], row0 + i, j, x[i * p + j]);
                return;
            }
}

int train_group_load(train_inputs *in, const char *name, int with_test, train_group *g,
                     bmc_err *err) {
    memset(g, 0, sizeof *g);
    g->name = name;
    bmc_h5 *f = &in->fmri;
    MPI_Comm comm = f->comm;
    char dtrain[300], dtest[300], dvox[300], dijk[320], droi[320];
    snprintf(dtrain, sizeof dtrain, "/train/%s", name);
    snprintf(dtest, sizeof dtest, "/test/%s", name);
    snprintf(dvox, sizeof dvox, "/voxels/%s", name);
    snprintf(dijk, sizeof dijk, "/voxels/%s/ijk", name);
    snprintf(droi, sizeof droi, "/voxels/%s/roi", name);
    if (!bmc_h5_exists(f, dtrain) || !bmc_h5_exists(f, dijk)) {
        char *groups = NULL;
        bmc_err tmp = {0};
        bmc_h5_attr_get_str(f, "/", "groups", &groups, &tmp);
        char hint[400];
        snprintf(hint, sizeof hint, "use a group the file has (%s), or add '%s' to "
                 "bmc-extract-fmri's groups", groups ? groups : "?", name);
        for (char *c = hint; *c; c++)
            if (*c == '\n') *c = ',';
        bmc_err_set(err, hint, "%s: fMRI group '%s' is empty: no dataset %s", f->path, name,
                    dtrain);
        free(groups);
        bmc_err_agree(comm, err);
        return -1;
    }
    bmc_dtype t;
    int nd;
    hsize_t dims[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(f, dtrain, &t, &nd, dims, err)) return -1;
    if (nd != 2 || (long)dims[0] != in->n_train) {
        bmc_err_set(err, NULL, "%s:%s: expected [%ld, voxels], found %d dimensions", f->path,
                    dtrain, in->n_train, nd);
        bmc_err_agree(comm, err);
        return -1;
    }
    if (dims[1] == 0 || dims[1] > 0x7fffffff) {
        bmc_err_set(err, "select ROIs with voxels in bmc-extract-fmri's groups",
                    "%s: fMRI group '%s' is empty (%llu voxels)", f->path, name,
                    (unsigned long long)dims[1]);
        bmc_err_agree(comm, err);
        return -1;
    }
    g->p = (int)dims[1];
    size_t p = (size_t)g->p;
    bmc_rowblock(in->n_train, f->size, f->rank, &g->row0, &g->nloc);
    g->x = XNEW(g->x, (size_t)g->nloc * p + 1);
    g->ijk = XNEW(g->ijk, 3 * p);
    g->roi = XNEW(g->roi, p);
    int rc = bmc_h5_read_rows(f, dtrain, BMC_F64, (hsize_t)g->row0, (hsize_t)g->nloc, g->x, err);
    if (!rc) rc = bmc_h5_read_rows(f, dijk, BMC_I32, 0, p, g->ijk, err);
    if (!rc && bmc_h5_exists(f, droi)) rc = bmc_h5_read_rows(f, droi, BMC_I32, 0, p, g->roi, err);
    else memset(g->roi, 0, p * sizeof *g->roi);
    if (!rc && bmc_h5_attr_get_str(f, dvox, "rois", &g->rois, err)) {
        /* a file without ROI names still trains: one ROI called "all" */
        *err = (bmc_err){0};
        g->rois = xstrdup("all");
        memset(g->roi, 0, p * sizeof *g->roi);
    }
    if (!rc && with_test) {
        bmc_rowblock(in->n_test, f->size, f->rank, &g->trow0, &g->tnloc);
        g->xt = XNEW(g->xt, (size_t)g->tnloc * p + 1);
        rc = bmc_h5_read_rows(f, dtest, BMC_F64, (hsize_t)g->trow0, (hsize_t)g->tnloc, g->xt, err);
    }
    if (rc) {
        train_group_free(g);
        return -1;
    }
    g->n_rois = 1;
    for (const char *c = g->rois; *c; c++) g->n_rois += *c == '\n' && c[1] != '\0';
    for (size_t j = 0; j < p && !err->failed; j++)
        if (g->roi[j] < 0 || g->roi[j] >= g->n_rois) g->roi[j] = 0;
    check_finite(g->x, g->nloc, g->p, g->row0, in->train_ids, f->path, dtrain, err);
    if (with_test)
        check_finite(g->xt, g->tnloc, g->p, g->trow0, in->test_ids, f->path, dtest, err);
    if (bmc_err_agree(comm, err)) {
        train_group_free(g);
        return -1;
    }
    /* Constant voxels over the training images: exact min == max. */
    double *mn = XNEW(mn, 2 * p);
    double *mx = mn + p;
    for (size_t j = 0; j < p; j++) {
        mn[j] = INFINITY;
        mx[j] = -INFINITY;
    }
    for (long i = 0; i < g->nloc; i++)
        for (size_t j = 0; j < p; j++) {
            double v = g->x[(size_t)i * p + j];
            if (v < mn[j]) mn[j] = v;
            if (v > mx[j]) mx[j] = v;
        }
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, mn, g->p, MPI_DOUBLE, MPI_MIN, comm));
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, mx, g->p, MPI_DOUBLE, MPI_MAX, comm));
    long count = 0, first = -1;
    for (size_t j = 0; j < p; j++)
        if (mn[j] == mx[j]) {
            if (first < 0) first = (long)j;
            count++;
        }
    free(mn);
    if (count > 0) {
        const int *q = g->ijk + 3 * first;
        bmc_err_set(err,
                    "constant voxels carry no information and break the encoding R²: drop "
                    "them (check the betas of those voxels, or z-score with zscore: session)",
                    "%s:%s: %ld voxel%s of group '%s' %s constant over the %ld training "
                    "images (zero variance); the first is voxel %ld at ijk (%d, %d, %d)",
                    f->path, dtrain, count, count == 1 ? "" : "s", name,
                    count == 1 ? "is" : "are", in->n_train, first, q[0], q[1], q[2]);
        bmc_err_agree(comm, err);
        train_group_free(g);
        return -1;
    }
    return 0;
}

void train_group_free(train_group *g) {
    free(g->x);
    free(g->xt);
    free(g->ijk);
    free(g->roi);
    free(g->rois);
    memset(g, 0, sizeof *g);
}

/* ---- CLIP features ------------------------------------------------------------------------ */

/* Local: the token selection → r->tok (strictly increasing file indices). */
static int parse_tokens(feat_reader *r, const bmc_cfg_node *tk, bmc_err *err) {
    r->tok = XNEW(r->tok, r->T);
    if (!tk || tk->type == BMC_CFG_NULL) {
        for (int i = 0; i < r->T; i++) r->tok[i] = i;
        r->n_tok = r->T;
        return 0;
    }
    if (tk->type == BMC_CFG_MAP) {
        static const char *const keys[] = {"start", "stop"};
        long long a, b;
        if (bmc_cfg_check_keys(tk, keys, 2, "tokens", err) ||
            bmc_cfg_int(tk, "start", 0, 0, 0, r->T - 1, &a, err) ||
            bmc_cfg_int(tk, "stop", 0, r->T, a + 1, r->T, &b, err))
            return -1;
        for (long long i = a; i < b; i++) r->tok[r->n_tok++] = (int)i;
        return 0;
    }
    if (tk->type != BMC_CFG_SEQ || tk->n == 0)
        return bmc_cfg_error_at(tk, err, "write a list such as [0] or {start: 1, stop: 257}",
                                "tokens must be a non-empty list or {start, stop}");
    for (size_t i = 0; i < tk->n; i++) {
        const bmc_cfg_node *it = tk->items[i];
        if (it->type != BMC_CFG_INT || it->v.i < 0 || it->v.i >= r->T ||
            (r->n_tok > 0 && it->v.i <= r->tok[r->n_tok - 1]))
            return bmc_cfg_error_at(it, err, "list distinct tokens in increasing order",
                                    "token '%s' is not in [0, %d) or not increasing",
                                    it->text ? it->text : "?", r->T);
        r->tok[r->n_tok++] = (int)it->v.i;
    }
    return 0;
}

int feat_reader_open(feat_reader *r, train_inputs *in, const char *dataset,
                     const bmc_cfg_node *tokens, long nloc, const long *frow,
                     const long long *ids, size_t mem_cap, bmc_err *err) {
    memset(r, 0, sizeof *r);
    r->in = in;
    snprintf(r->dset, sizeof r->dset, "/%s", dataset);
    bmc_h5 *f = &in->feat;
    if (!bmc_h5_exists(f, r->dset)) {
        bmc_err_set(err, "list it in bmc-extract-clip's outputs, or use detail/semantic/pooled",
                    "%s: CLIP dataset %s is missing", f->path, r->dset);
        bmc_err_agree(f->comm, err);
        return -1;
    }
    bmc_dtype t;
    hsize_t dims[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(f, r->dset, &t, &r->ndims, dims, err)) return -1;
    if ((r->ndims != 2 && r->ndims != 3) || (long)dims[0] != in->n_feat ||
        dims[r->ndims - 1] == 0 || dims[1] == 0) {
        bmc_err_set(err, NULL, "%s:%s: expected [N, T, W] or [N, D] with N = %ld", f->path,
                    r->dset, in->n_feat);
        bmc_err_agree(f->comm, err);
        return -1;
    }
    r->T = r->ndims == 3 ? (int)dims[1] : 1;
    r->W = (int)dims[r->ndims - 1];
    parse_tokens(r, tokens, err);
    if (bmc_err_agree(f->comm, err)) {
        feat_reader_close(r);
        return -1;
    }
    r->nloc = nloc;
    r->frow = frow;
    r->ids = ids;
    /* no more than one read of every selected column of the rows' span can use */
    long lo = 0, hi = -1;
    for (long i = 0; i < nloc; i++) {
        if (i == 0 || frow[i] < lo) lo = frow[i];
        if (i == 0 || frow[i] > hi) hi = frow[i];
    }
    size_t most = (size_t)(hi - lo + 1) * (size_t)r->n_tok * (size_t)r->W;
    r->cap = mem_cap / sizeof(float);
    if (r->cap > most) r->cap = most;
    if (r->cap < (size_t)r->W) r->cap = (size_t)r->W;
    r->buf = XNEW(r->buf, r->cap);
    return 0;
}

void feat_reader_close(feat_reader *r) {
    free(r->tok);
    free(r->buf);
    r->tok = NULL;
    r->buf = NULL;
}

int feat_reader_fill(void *ctx, int col0, int ncols, double *rows, bmc_err *err) {
    feat_reader *r = ctx;
    bmc_h5 *f = &r->in->feat;
    const int W = r->W;
    const int k0 = col0 / W, k1 = (col0 + ncols - 1) / W;
    long lo = 0, hi = -1;
    for (long i = 0; i < r->nloc; i++) {
        if (i == 0 || r->frow[i] < lo) lo = r->frow[i];
        if (i == 0 || r->frow[i] > hi) hi = r->frow[i];
    }
    bmc_err bad = {0};
    int rc = 0;
    for (int k = k0; k <= k1 && !rc;) {
        int ke = k; /* a run of consecutive file tokens that fits the buffer */
        while (ke < k1 && r->tok[ke + 1] == r->tok[ke] + 1 &&
               (size_t)(ke + 2 - k) * (size_t)W <= r->cap)
            ke++;
        int w0 = 0, w1 = W;
        if (ke == k) {
            if (k == k0) w0 = col0 % W;
            if (k == k1) w1 = (col0 + ncols - 1) % W + 1;
        }
        size_t ntk = (size_t)(ke - k + 1), wn = (size_t)(w1 - w0), per_row = ntk * wn;
        long R = (long)(r->cap / per_row);
        long chunks = hi >= lo ? (hi - lo + R) / R : 0, max_chunks = 0;
        BMC_MPI(MPI_Allreduce(&chunks, &max_chunks, 1, MPI_LONG, MPI_MAX, f->comm));
        for (long c = 0; c < max_chunks && !rc; c++) {
            long a = lo + c * R, cnt = c < chunks ? (hi + 1 - a < R ? hi + 1 - a : R) : 0;
            hsize_t st[3] = {(hsize_t)(cnt > 0 ? a : 0), (hsize_t)r->tok[k], (hsize_t)w0};
            hsize_t ct[3] = {(hsize_t)cnt, ntk, wn};
            if (r->ndims == 2) {
                st[1] = (hsize_t)w0;
                ct[1] = wn;
            }
            rc = bmc_h5_read_block(f, r->dset, BMC_F32, st, ct, r->buf, err);
            for (long i = 0; i < r->nloc && !rc && cnt > 0; i++) {
                long fr = r->frow[i];
                if (fr < a || fr >= a + cnt) continue;
                const float *src = r->buf + (size_t)(fr - a) * per_row;
                for (size_t j = 0; j < ntk; j++)
                    for (size_t w = 0; w < wn; w++) {
                        long col = (long)(k + (int)j) * W + w0 + (long)w - col0;
                        if (col < 0 || col >= ncols) continue;
                        double v = src[j * wn + w];
                        if (!isfinite(v) && !bad.failed)
                            bmc_err_set(&bad, "re-extract the features (NaN/Inf in CLIP outputs)",
                                        "%s:%s: image id %lld (row %ld), token %d, feature %ld "
                                        "is %g (not finite)",
                                        f->path, r->dset, r->ids[i], fr, r->tok[k + (int)j],
                                        (long)w0 + (long)w, v);
                        rows[(size_t)i * (size_t)ncols + (size_t)col] = v;
                    }
            }
        }
        k = ke + 1;
    }
    if (rc) return -1;
    if (bmc_err_agree(f->comm, &bad)) {
        *err = bad;
        return -1;
    }
    return 0;
}
