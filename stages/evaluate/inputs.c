/* inputs.c — bmc-evaluate's inputs, opened and cross-checked before any output exists: the
 * train subject's decoders (found by name in the model files), both subjects' bmc.fmri
 * files (subjects, groups, voxel counts, the model's training images), the CLIP features
 * (datasets, shapes, ids), and the image sets: shared, alignment, evaluation and gallery.
 * Every check is collective with an agreed error that names the file and says what to do.
 * Not here: reading voxel rows (crosssubject.c) or feature columns (predict.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_log.h"
#include "bmc_rng.h"
#include "evaluate.h"

/* Collective: a whole 1-D dataset read by every rank into *out (heap, converted to mt).
 * expect ≥ 0: its length must be expect. *n = its length. Agreed. */
static int read_vec(bmc_h5 *f, const char *name, bmc_dtype mt, long expect, void **out, long *n,
                    bmc_err *err) {
    bmc_dtype t;
    int nd;
    hsize_t dims[BMC_H5_MAXDIMS];
    *out = NULL;
    if (bmc_h5_dataset_info(f, name, &t, &nd, dims, err)) return -1;
    if (nd != 1 || (expect >= 0 && dims[0] != (hsize_t)expect)) {
        bmc_err_set(err, "was the file written by this version of brainmclip?",
                    "%s:%s: expected a vector of %ld values, found %d dimensions (first %llu)",
                    f->path, name, expect, nd, (unsigned long long)dims[0]);
        bmc_err_agree(f->comm, err);
        return -1;
    }
    if (n) *n = (long)dims[0];
    *out = xcalloc(dims[0] ? dims[0] : 1, bmc_dtype_size(mt));
    if (bmc_h5_read_rows(f, name, mt, 0, dims[0], *out, err)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Collective: open a bmc.fmri file and check its subject. */
static int open_fmri(bmc_h5 *f, MPI_Comm comm, const char *path, const char *role,
                     long long subject, bmc_err *err) {
    if (bmc_h5_open_as(f, comm, path, BMC_FMT_FMRI, err)) {
        bmc_err_prefix(err, "%s", role);
        return -1;
    }
    long long s = -1;
    if (bmc_h5_attr_get_i64(f, "/", "subject", &s, err)) return -1;
    if (s != subject && subject >= 0) {
        bmc_err_set(err, "pass the fMRI file of the subject named in the params, or fix the "
                    "subject number",
                    "%s %s is subject %lld, but the params say subject %lld", role, path, s,
                    subject);
        bmc_err_agree(comm, err);
        return -1;
    }
    return 0;
}

/* Local: row of id in sorted ids, or -1. */
static long row_of(const long long *ids, long n, long long id) {
    long lo = 0, hi = n;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (ids[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && ids[lo] == id ? lo : -1;
}

/* Local: 1 when sorted ids[0..n) contain id. */
static int has_id(const long long *ids, long n, long long id) { return row_of(ids, n, id) >= 0; }

/* Local: ids must be strictly increasing (bmc.fmri rows are sorted by image id). */
static int check_sorted(const long long *ids, long n, const char *path, const char *name,
                        bmc_err *err) {
    for (long i = 1; i < n; i++)
        if (ids[i] <= ids[i - 1])
            return bmc_err_set(err, "rewrite the file with bmc-extract-fmri",
                               "%s:%s: image ids not sorted or repeated at row %ld", path, name, i);
    return 0;
}

/* ---- decoders ------------------------------------------------------------------------- */

static int attr_int(bmc_h5 *f, const char *obj, const char *name, int min, int *out,
                    bmc_err *err) {
    long long v = 0;
    if (bmc_h5_attr_get_i64(f, obj, name, &v, err)) return -1;
    if (v < min || v > 2147483647LL) {
        bmc_err_set(err, "the model file is damaged; train it again", "%s:%s: attribute %s = %lld",
                    f->path, obj, name, v);
        bmc_err_agree(f->comm, err);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int attr_copy(bmc_h5 *f, const char *obj, const char *name, char *out, size_t n,
                     bmc_err *err) {
    char *s = NULL;
    if (bmc_h5_attr_get_str(f, obj, name, &s, err)) return -1;
    snprintf(out, n, "%s", s);
    free(s);
    return 0;
}

/* Collective: find decoder `name` in the model files and read everything but the weights. */
static int decoder_load(ev_inputs *in, const ev_plan *p, int b, bmc_err *err) {
    ev_decoder *d = &in->dec[b];
    d->mapping = p->mapping[b];
    snprintf(d->group, sizeof d->group, "/mappings/%s", d->mapping);
    d->file = -1;
    for (size_t i = 0; i < in->n_models; i++) {
        if (!bmc_h5_exists(&in->model[i], d->group)) continue;
        if (d->file >= 0) {
            bmc_err_set(err, "list each decoder in one model file only, or rename it with "
                        "detail_mapping / semantic_mapping",
                        "decoder '%s' is in two model files: %s and %s", d->mapping,
                        in->model[d->file].path, in->model[i].path);
            bmc_err_agree(in->model[0].comm, err);
            return -1;
        }
        d->file = (int)i;
    }
    if (d->file < 0) {
        char list[600] = "";
        for (size_t i = 0; i < in->n_models; i++) {
            char *names = NULL;
            bmc_err e2 = {0};
            if (bmc_h5_attr_get_str(&in->model[i], "/", "mappings", &names, &e2) == 0) {
                for (char *c = names; *c; c++)
                    if (*c == '\n') *c = ',';
                size_t len = strlen(list);
                snprintf(list + len, sizeof list - len, "%s%s: [%s]", i ? "; " : "",
                         in->model[i].path, names);
                free(names);
            }
        }
        bmc_err_set(err, "name one of the decoders listed with detail_mapping / semantic_mapping, "
                    "or add the model file that holds it",
                    "%s_mapping '%s': no such decoder in the model files (%s)",
                    ev_branch_name[b], d->mapping, list);
        bmc_err_agree(in->model[0].comm, err);
        return -1;
    }
    bmc_h5 *f = &in->model[d->file];
    char form[32];
    if (attr_copy(f, d->group, "form", form, sizeof form, err) ||
        attr_copy(f, d->group, "x_group", d->x_group, sizeof d->x_group, err) ||
        attr_copy(f, d->group, "y_dataset", d->y_dataset, sizeof d->y_dataset, err) ||
        attr_int(f, d->group, "n", 1, &d->n, err) || attr_int(f, d->group, "p", 1, &d->p, err) ||
        attr_int(f, d->group, "t", 1, &d->t, err) ||
        attr_int(f, d->group, "tokens", 1, &d->tokens, err) ||
        attr_int(f, d->group, "width", 1, &d->width, err) ||
        attr_int(f, d->group, "y_ndims", 2, &d->y_ndims, err))
        return -1;
    d->dual = !strcmp(form, "dual");
    if ((!d->dual && strcmp(form, "primal")) || (long)d->tokens * d->width != d->t ||
        d->y_ndims > 3) {
        bmc_err_set(err, "train the model again with bmc-train",
                    "%s:%s: inconsistent decoder (form '%s', tokens %d × width %d vs t %d, "
                    "y_ndims %d)", f->path, d->group, form, d->tokens, d->width, d->t,
                    d->y_ndims);
        bmc_err_agree(f->comm, err);
        return -1;
    }
    char name[400];
#define DS(leaf) (snprintf(name, sizeof name, "%s/%s", d->group, leaf), name)
    void *v;
    if (read_vec(f, DS("voxel_index"), BMC_I32, d->p, &v, NULL, err)) return -1;
    d->voxel_index = v;
    if (read_vec(f, DS("voxel_scale"), BMC_F64, d->p, &v, NULL, err)) return -1;
    d->voxel_scale = v;
    if (read_vec(f, DS("token_index"), BMC_I32, d->tokens, &v, NULL, err)) return -1;
    d->token_index = v;
    double **vecs[] = {&d->intercept, &d->y_train_mean, &d->y_train_std, &d->pred_train_mean,
                       &d->pred_train_std};
    const char *leaves[] = {"intercept", "y_train_mean", "y_train_std", "pred_train_mean",
                            "pred_train_std"};
    for (int k = 0; k < 5; k++) {
        if (read_vec(f, DS(leaves[k]), BMC_F64, d->t, &v, NULL, err)) return -1;
        *vecs[k] = v;
        for (int c = 0; c < d->t && !err->failed; c++)
            if (!isfinite((*vecs[k])[c]))
                bmc_err_set(err, "train the model again", "%s:%s: non-finite value at %d",
                            f->path, name, c);
        if (bmc_err_agree(f->comm, err)) return -1;
    }
    /* The weights' shapes (read by columns later). */
    bmc_dtype t;
    int nd;
    hsize_t dims[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(f, DS(d->dual ? "dual_coef" : "W"), &t, &nd, dims, err)) return -1;
    hsize_t rows = (hsize_t)(d->dual ? d->n : d->p);
    if (nd != 2 || dims[0] != rows || dims[1] != (hsize_t)d->t)
        bmc_err_set(err, "train the model again", "%s:%s: shape [%llu, %llu], expected [%llu, %d]",
                    f->path, name, (unsigned long long)dims[0], (unsigned long long)dims[1],
                    (unsigned long long)rows, d->t);
    if (bmc_err_agree(f->comm, err)) return -1;
    if (d->dual) {
        if (bmc_h5_dataset_info(f, DS("X_train_centred"), &t, &nd, dims, err)) return -1;
        if (nd != 2 || dims[0] != (hsize_t)d->n || dims[1] != (hsize_t)d->p)
            bmc_err_set(err, "train the model again", "%s:%s: shape [%llu, %llu], expected [%d, %d]",
                        f->path, name, (unsigned long long)dims[0], (unsigned long long)dims[1],
                        d->n, d->p);
        if (bmc_err_agree(f->comm, err)) return -1;
    }
#undef DS
    return 0;
}

static void decoder_free(ev_decoder *d) {
    free(d->voxel_index);
    free(d->voxel_scale);
    free(d->token_index);
    free(d->intercept);
    free(d->y_train_mean);
    free(d->y_train_std);
    free(d->pred_train_mean);
    free(d->pred_train_std);
    memset(d, 0, sizeof *d);
}

/* Collective: the decoder against the train subject's fMRI file (its training images, group
 * size and voxel indices) and the test subject's (the group exists). */
static int decoder_check_fmri(ev_inputs *in, int b, const long long *train_ids, long n_train,
                              bmc_err *err) {
    ev_decoder *d = &in->dec[b];
    const char *mpath = in->model[d->file].path;
    char name[300];
    snprintf(name, sizeof name, "%s/train_image_ids", d->group);
    void *v;
    long n;
    if (read_vec(&in->model[d->file], name, BMC_I64, -1, &v, &n, err)) return -1;
    long long *ids = v;
    if (n != n_train || memcmp(ids, train_ids, (size_t)n * sizeof *ids))
        bmc_err_set(err, "pass as train_fmri the bmc.fmri file the models were trained on",
                    "decoder '%s' of %s was trained on %ld images that are not the %ld training "
                    "images of %s", d->mapping, mpath, n, n_train, in->train.path);
    free(ids);
    if (bmc_err_agree(in->train.comm, err)) return -1;
    bmc_h5 *files[2] = {&in->train, &in->test};
    long pg[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        bmc_dtype t;
        int nd;
        hsize_t dims[BMC_H5_MAXDIMS];
        snprintf(name, sizeof name, "/test/%s", d->x_group);
        if (!bmc_h5_exists(files[k], name)) {
            bmc_err_set(err, "extract the group with bmc-extract-fmri, or use the models of the "
                        "same groups",
                        "decoder '%s' reads fMRI group '%s', which %s lacks", d->mapping,
                        d->x_group, files[k]->path);
            bmc_err_agree(files[k]->comm, err);
            return -1;
        }
        if (bmc_h5_dataset_info(files[k], name, &t, &nd, dims, err)) return -1;
        pg[k] = nd == 2 ? (long)dims[1] : -1;
    }
    char *voxw = NULL;
    if (bmc_h5_attr_get_str(&in->model[d->file], d->group, "voxel_weighting", &voxw, err))
        return -1;
    int all_voxels = !strcmp(voxw, "none");
    free(voxw);
    long maxv = -1;
    for (int j = 0; j < d->p; j++)
        if (d->voxel_index[j] > maxv) maxv = d->voxel_index[j];
    if ((all_voxels && pg[0] != d->p) || maxv >= pg[0] || d->p > pg[0])
        bmc_err_set(err, "pass as train_fmri the bmc.fmri file the models were trained on",
                    "decoder '%s' of %s uses %d voxels (largest index %ld) of group '%s', but "
                    "%s has %ld voxels in that group", d->mapping, mpath, d->p, maxv,
                    d->x_group, in->train.path, pg[0]);
    else if (!in->cross && pg[1] != pg[0])
        bmc_err_set(err, "a within-subject run reads the same subject's file twice",
                    "group '%s' has %ld voxels in %s but %ld in %s (same subject)", d->x_group,
                    pg[0], in->train.path, pg[1], in->test.path);
    return bmc_err_agree(in->train.comm, err) ? -1 : 0;
}

/* Collective: the decoder's CLIP dataset in the features file. */
static int decoder_check_features(ev_inputs *in, int b, bmc_err *err) {
    ev_decoder *d = &in->dec[b];
    char name[300];
    snprintf(name, sizeof name, "/%s", d->y_dataset);
    if (!bmc_h5_exists(&in->feat, name)) {
        bmc_err_set(err, "extract it with bmc-extract-clip (param outputs)",
                    "decoder '%s' predicts CLIP dataset '%s', which %s lacks", d->mapping,
                    d->y_dataset, in->feat.path);
        bmc_err_agree(in->feat.comm, err);
        return -1;
    }
    bmc_dtype t;
    int nd;
    hsize_t dims[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(&in->feat, name, &t, &nd, dims, err)) return -1;
    long T = nd == 3 ? (long)dims[1] : 1, W = nd >= 2 ? (long)dims[nd - 1] : 0;
    int bad_tok = 0;
    for (int k = 0; k < d->tokens; k++) bad_tok |= d->token_index[k] < 0 || d->token_index[k] >= T;
    if (nd != d->y_ndims || W != d->width || bad_tok || (t != BMC_F32 && t != BMC_F64 && t != BMC_F16))
        bmc_err_set(err, "use the features file the models were trained with (same CLIP model "
                    "and layers)",
                    "%s:%s has shape %s[%llu, %ld, %ld] (%s) but decoder '%s' predicts %d tokens "
                    "(largest index %d) × %d of a %d-D dataset", in->feat.path, name,
                    nd == 3 ? "" : "~", (unsigned long long)dims[0], T, W, bmc_dtype_name(t),
                    d->mapping, d->tokens, d->token_index[d->tokens - 1], d->width, d->y_ndims);
    return bmc_err_agree(in->feat.comm, err) ? -1 : 0;
}

/* ---- image sets ------------------------------------------------------------------------ */

typedef struct keyed {
    uint64_t key;
    long long id;
} keyed;

static int cmp_keyed(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}
static int cmp_ll(const void *a, const void *b) {
    const long long *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

/* Collective: shared, alignment, evaluation and gallery images and their rows. */
static int image_sets(ev_inputs *in, const ev_plan *p, MPI_Comm comm, bmc_err *err) {
    void *v;
    long n_ts, n_tt, n_trt, n_feat;
    if (read_vec(&in->train, "/test/image_ids", BMC_I64, -1, &v, &n_ts, err)) return -1;
    long long *ts = v;
    long long *tt = NULL, *trt = NULL, *fids = NULL, *shared = NULL;
    int rc = read_vec(&in->test, "/test/image_ids", BMC_I64, -1, &v, &n_tt, err);
    if (!rc) tt = v;
    if (!rc) rc = read_vec(&in->test, "/train/image_ids", BMC_I64, -1, &v, &n_trt, err);
    if (!rc) trt = v;
    if (!rc) rc = read_vec(&in->feat, "/image_ids", BMC_I64, -1, &v, &n_feat, err);
    if (!rc) fids = v;
    if (!rc) {
        if (!check_sorted(ts, n_ts, in->train.path, "/test/image_ids", err) &&
            !check_sorted(tt, n_tt, in->test.path, "/test/image_ids", err))
            check_sorted(trt, n_trt, in->test.path, "/train/image_ids", err);
        rc = bmc_err_agree(comm, err) ? -1 : 0;
    }
    long n_sh = 0;
    if (!rc) {
        shared = XNEW(shared, n_tt + 1);
        for (long i = 0; i < n_tt; i++)
            if (has_id(ts, n_ts, tt[i])) shared[n_sh++] = tt[i];
    }
    /* The cohort narrows the shared set to the images every listed subject saw. */
    for (size_t c = 0; !rc && c < p->n_cohort; c++) {
        bmc_h5 f;
        rc = open_fmri(&f, comm, p->cohort[c], "cohort file", -1, err);
        long nc = 0;
        if (!rc) rc = read_vec(&f, "/test/image_ids", BMC_I64, -1, &v, &nc, err);
        if (!rc) {
            long long *cid = v;
            check_sorted(cid, nc, p->cohort[c], "/test/image_ids", err);
            long w = 0;
            for (long i = 0; i < n_sh; i++)
                if (has_id(cid, nc, shared[i])) shared[w++] = shared[i];
            n_sh = w;
            free(cid);
            rc = bmc_err_agree(comm, err) ? -1 : 0;
        }
        if (f.fid >= 0) bmc_h5_close(&f);
    }
    if (!rc && n_sh - p->align_images < 2)
        bmc_err_set(err, p->align_images ? "lower align_images" : "check that the subjects' test "
                    "sets overlap (bmc.fmri /test/image_ids) and the cohort files",
                    "%ld shared test images (%s ∩ %s%s) minus align_images %ld leaves %ld "
                    "evaluation images; need at least 2", n_sh, in->train.path, in->test.path,
                    p->n_cohort ? " ∩ cohort" : "", p->align_images, n_sh - p->align_images);
    if (!rc && bmc_err_agree(comm, err)) rc = -1;
    if (!rc) {
        /* Alignment set: the align_images smallest keys; evaluation set: the rest. */
        keyed *kk = XNEW(kk, n_sh);
        for (long i = 0; i < n_sh; i++)
            kk[i] = (keyed){bmc_splitmix64_at(p->align_seed + (uint64_t)shared[i]), shared[i]};
        qsort(kk, (size_t)n_sh, sizeof *kk, cmp_keyed);
        in->k = p->align_images;
        in->m = n_sh - in->k;
        in->align_ids = XNEW(in->align_ids, in->k + 1);
        in->eval_ids = XNEW(in->eval_ids, in->m);
        for (long i = 0; i < in->k; i++) in->align_ids[i] = kk[i].id;
        for (long i = 0; i < in->m; i++) in->eval_ids[i] = kk[in->k + i].id;
        free(kk);
        qsort(in->align_ids, (size_t)in->k, sizeof *in->align_ids, cmp_ll);
        qsort(in->eval_ids, (size_t)in->m, sizeof *in->eval_ids, cmp_ll);
        in->eval_test_row = XNEW(in->eval_test_row, in->m);
        in->align_test_row = XNEW(in->align_test_row, in->k + 1);
        in->align_train_row = XNEW(in->align_train_row, in->k + 1);
        for (long i = 0; i < in->m; i++) in->eval_test_row[i] = row_of(tt, n_tt, in->eval_ids[i]);
        for (long i = 0; i < in->k; i++) {
            in->align_test_row[i] = row_of(tt, n_tt, in->align_ids[i]);
            in->align_train_row[i] = row_of(ts, n_ts, in->align_ids[i]);
        }
        /* Feature rows: ids sorted (sid) with the file row of each (srow). */
        long long *sid = XNEW(sid, n_feat + 1);
        long *srow = XNEW(srow, n_feat + 1);
        memcpy(sid, fids, (size_t)n_feat * sizeof *sid);
        qsort(sid, (size_t)n_feat, sizeof *sid, cmp_ll);
        for (long i = 1; i < n_feat && !err->failed; i++)
            if (sid[i] == sid[i - 1])
                bmc_err_set(err, "extract each image once", "%s:/image_ids: image id %lld appears "
                            "twice", in->feat.path, sid[i]);
        for (long i = 0; i < n_feat; i++) srow[row_of(sid, n_feat, fids[i])] = i;
        in->eval_frow = XNEW(in->eval_frow, in->m);
        for (long i = 0; i < in->m && !err->failed; i++) {
            long r = row_of(sid, n_feat, in->eval_ids[i]);
            if (r < 0)
                bmc_err_set(err, "extract features for every stimulus the subjects saw",
                            "evaluation image id %lld is not in %s:/image_ids", in->eval_ids[i],
                            in->feat.path);
            else in->eval_frow[i] = srow[r];
        }
        in->gallery_ids = XNEW(in->gallery_ids, n_feat + 1);
        in->gallery_frow = XNEW(in->gallery_frow, n_feat + 1);
        in->G = 0;
        for (long i = 0; i < n_feat; i++) {
            long long id = sid[i];
            if (has_id(tt, n_tt, id) || (p->gallery_unseen && has_id(trt, n_trt, id))) continue;
            in->gallery_ids[in->G] = id;
            in->gallery_frow[in->G++] = srow[i];
        }
        if (!err->failed && in->G == 0)
            bmc_err_set(err, "extract features of images outside the test set (e.g. all stimuli)",
                        "the gallery is empty: every image of %s is in the test subject's %s",
                        in->feat.path, p->gallery_unseen ? "images" : "test set");
        free(sid);
        free(srow);
        rc = bmc_err_agree(comm, err) ? -1 : 0;
    }
    free(ts);
    free(tt);
    free(trt);
    free(fids);
    free(shared);
    return rc;
}

/* ---- open / close --------------------------------------------------------------------- */

int ev_inputs_open(ev_inputs *in, MPI_Comm comm, const ev_plan *p, bmc_err *err) {
    memset(in, 0, sizeof *in);
    in->train.fid = in->test.fid = in->feat.fid = H5I_INVALID_HID;
    in->cross = p->train_subject != p->test_subject;
    in->n_models = p->n_models;
    in->model = xcalloc(p->n_models, sizeof *in->model);
    for (size_t i = 0; i < p->n_models; i++) in->model[i].fid = H5I_INVALID_HID;
    for (size_t i = 0; i < p->n_models; i++) {
        bmc_h5 *f = &in->model[i];
        if (bmc_h5_open_as(f, comm, p->models[i], BMC_FMT_MODEL, err)) return -1;
        long long s = -1;
        if (bmc_h5_attr_get_i64(f, "/", "subject", &s, err)) return -1;
        if (s != p->train_subject) {
            bmc_err_set(err, "list the model files of the train subject only, or fix "
                        "train_subject",
                        "model file %s belongs to subject %lld, but train_subject is %lld",
                        p->models[i], s, p->train_subject);
            bmc_err_agree(comm, err);
            return -1;
        }
    }
    if (open_fmri(&in->train, comm, p->train_fmri, "train_fmri", p->train_subject, err) ||
        open_fmri(&in->test, comm, p->test_fmri, "test_fmri", p->test_subject, err) ||
        bmc_h5_open_as(&in->feat, comm, p->features, BMC_FMT_CLIP, err))
        return -1;
    void *v;
    long n_train;
    if (read_vec(&in->train, "/train/image_ids", BMC_I64, -1, &v, &n_train, err)) return -1;
    long long *train_ids = v;
    int rc = 0;
    for (int b = 0; b < 2 && !rc; b++) {
        rc = decoder_load(in, p, b, err);
        if (!rc) rc = decoder_check_fmri(in, b, train_ids, n_train, err);
        if (!rc) rc = decoder_check_features(in, b, err);
    }
    free(train_ids);
    if (!rc) rc = image_sets(in, p, comm, err);
    if (!rc)
        bmc_log_info("train subject %lld, test subject %lld (%s): %ld evaluation images, %ld "
                     "alignment images, gallery of %ld", p->train_subject, p->test_subject,
                     in->cross ? "cross-subject" : "within-subject", in->m, in->k, in->G);
    for (int b = 0; b < 2 && !rc; b++) {
        const ev_decoder *d = &in->dec[b];
        bmc_log_info("%s branch: decoder '%s' (%s form) fMRI group %s (%d voxels) -> %s "
                     "(%d tokens x %d)", ev_branch_name[b], d->mapping, d->dual ? "dual" : "primal",
                     d->x_group, d->p, d->y_dataset, d->tokens, d->width);
    }
    return rc;
}

void ev_inputs_close(ev_inputs *in) {
    for (size_t i = 0; i < in->n_models; i++)
        if (in->model && in->model[i].fid >= 0) bmc_h5_close(&in->model[i]);
    free(in->model);
    bmc_h5 *f[3] = {&in->train, &in->test, &in->feat};
    for (int k = 0; k < 3; k++)
        if (f[k]->fid >= 0) bmc_h5_close(f[k]);
    for (int b = 0; b < 2; b++) decoder_free(&in->dec[b]);
    free(in->eval_ids);
    free(in->align_ids);
    free(in->gallery_ids);
    free(in->eval_frow);
    free(in->gallery_frow);
    free(in->eval_test_row);
    free(in->align_test_row);
    free(in->align_train_row);
    memset(in, 0, sizeof *in);
}
