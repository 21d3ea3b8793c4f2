/* model_io.c — model_subjXX.h5 (format bmc.model v1, docs/FORMATS.md): each decoder's
 * weights in the smaller form (primal W, or dual coefficients with the centred training X),
 * normalisation, penalties, validation curves and the Brain-Diffuser rescaling statistics;
 * each encoding map's R² (per voxel, per ROI). Distributed arrays are written collectively
 * by row blocks; global vectors by rank 0 inside the same collective calls.
 * Not here: the fits (main.c, encoding.c), NIfTI maps (encoding.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "train.h"

int train_write_global(bmc_h5 *f, const char *name, bmc_dtype ft, bmc_dtype mt, int ndims,
                       const hsize_t *dims, const void *data, bmc_err *err) {
    if (bmc_h5_create_dataset(f, name, ft, ndims, dims, NULL, err)) return -1;
    hsize_t n = f->rank == 0 ? dims[0] : 0;
    return bmc_h5_write_rows(f, name, mt, 0, n, data, err);
}

/* Collective: population mean and sd (ddof 0) of the columns of rows (nloc × tb). */
static void column_stats(const double *rows, long nloc, int tb, long n, MPI_Comm comm,
                         double *mean, double *sd) {
    for (int k = 0; k < tb; k++) mean[k] = sd[k] = 0.0;
    for (long i = 0; i < nloc; i++)
        for (int k = 0; k < tb; k++) mean[k] += rows[(size_t)i * (size_t)tb + (size_t)k];
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, mean, tb, MPI_DOUBLE, MPI_SUM, comm));
    for (int k = 0; k < tb; k++) mean[k] /= (double)n;
    for (long i = 0; i < nloc; i++)
        for (int k = 0; k < tb; k++) {
            double d = rows[(size_t)i * (size_t)tb + (size_t)k] - mean[k];
            sd[k] += d * d;
        }
    BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, sd, tb, MPI_DOUBLE, MPI_SUM, comm));
    for (int k = 0; k < tb; k++) sd[k] = sqrt(sd[k] / (double)n);
}

int decoder_train_stats(const ridge_model *md, const ridge_result *rr, const double *x_rows,
                        feat_reader *fr, decoder_out *o, bmc_err *err) {
    const bmc_grid *g = md->grid;
    size_t t = (size_t)md->t;
    o->y_train_mean = XNEW(o->y_train_mean, t);
    o->y_train_std = XNEW(o->y_train_std, t);
    o->pred_train_mean = XNEW(o->pred_train_mean, t);
    o->pred_train_std = XNEW(o->pred_train_std, t);
    int tbmax = rr->block_cols > 0 ? rr->block_cols : md->t;
    long r0, nr, c0, nc;
    bmc_rowblock(md->n, g->size, g->rank, &r0, &nr);
    bmc_rowblock(md->dual ? md->n : md->p, g->size, g->rank, &c0, &nc);
    double *y = XNEW(y, (size_t)nr * (size_t)tbmax + 1);
    double *pred = XNEW(pred, (size_t)nr * (size_t)tbmax + 1);
    double *coef = XNEW(coef, (size_t)nc * (size_t)tbmax + 1);
    int rc = 0;
    for (int col0 = 0; col0 < md->t && !rc; col0 += tbmax) {
        int tb = md->t - col0 < tbmax ? md->t - col0 : tbmax;
        rc = feat_reader_fill(fr, col0, tb, y, err);
        if (rc) break;
        column_stats(y, nr, tb, md->n, g->comm, o->y_train_mean + col0, o->y_train_std + col0);
        /* A view of the model restricted to columns [col0, col0 + tb). */
        ridge_model sub = *md;
        sub.t = tb;
        sub.y_mean = md->y_mean + col0;
        sub.intercept = md->intercept + col0;
        for (long i = 0; i < nc; i++)
            memcpy(coef + (size_t)i * (size_t)tb, md->coef_rows + (size_t)i * t + (size_t)col0,
                   (size_t)tb * sizeof(double));
        sub.coef_rows = coef;
        rc = ridge_predict(&sub, md->n, x_rows, pred, err);
        if (!rc)
            column_stats(pred, nr, tb, md->n, g->comm, o->pred_train_mean + col0,
                         o->pred_train_std + col0);
    }
    free(y);
    free(pred);
    free(coef);
    return rc;
}

static int attr_str(bmc_h5 *f, const char *obj, const char *k, const char *v, int rc,
                    bmc_err *err) {
    return rc ? rc : bmc_h5_attr_set_str(f, obj, k, v, err);
}
static int attr_int(bmc_h5 *f, const char *obj, const char *k, long long v, int rc, bmc_err *err) {
    return rc ? rc : bmc_h5_attr_set_i64(f, obj, k, v, err);
}
static int attr_f64(bmc_h5 *f, const char *obj, const char *k, double v, int rc, bmc_err *err) {
    return rc ? rc : bmc_h5_attr_set_f64(f, obj, k, v, err);
}

int model_write_root(bmc_h5 *f, const train_plan *p, const train_inputs *in, bmc_err *err) {
    size_t len = 1;
    for (int i = 0; i < p->n_map; i++) len += strlen(p->map[i].name) + 1;
    char *names = xcalloc(len, 1);
    for (int i = 0; i < p->n_map; i++)
        if (p->map[i].run) {
            if (*names) strcat(names, "\n");
            strcat(names, p->map[i].name);
        }
    int rc = attr_int(f, "/", "subject", in->subject, 0, err);
    rc = attr_str(f, "/", "fmri", p->fmri, rc, err);
    rc = attr_str(f, "/", "features", p->features, rc, err);
    rc = attr_str(f, "/", "mappings", names, rc, err);
    rc = attr_int(f, "/", "n_train", in->n_train, rc, err);
    rc = attr_int(f, "/", "n_test", in->n_test, rc, err);
    rc = attr_int(f, "/", "encoding", p->encoding, rc, err);
    free(names);
    return rc;
}

static const char *const cv_names[] = {"loo", "gcv", "kfold"};
static const char *const grain_names[] = {"target", "token", "group"};
static const char *const voxw_names[] = {"none", "weight", "select"};

int model_write_decoder(bmc_h5 *f, const train_plan *p, const decoder_out *o,
                        const ridge_result *rr, const ridge_model *md, bmc_err *err) {
    char base[300], name[400];
    snprintf(base, sizeof base, "/mappings/%s", o->m->name);
#define DS(leaf) (snprintf(name, sizeof name, "%s/%s", base, leaf), name)
    hsize_t dp = (hsize_t)o->p, dt = (hsize_t)o->t, dn = (hsize_t)o->n,
            dna = (hsize_t)p->n_alpha;
    const bmc_grid *g = md->grid;
    int rc = 0;
    /* The weights: row blocks of W (p × t) or of the dual coefficients (n × t) and Xc. */
    long r0, nr;
    bmc_rowblock(md->dual ? md->n : md->p, g->size, g->rank, &r0, &nr);
    hsize_t wd[2] = {md->dual ? dn : dp, dt};
    const char *wname = md->dual ? "dual_coef" : "W";
    rc = bmc_h5_create_dataset(f, DS(wname), p->dtype, 2, wd, NULL, err);
    if (!rc) rc = bmc_h5_write_rows(f, name, BMC_F64, (hsize_t)r0, (hsize_t)nr, md->coef_rows, err);
    if (!rc && md->dual) {
        hsize_t xd[2] = {dn, dp};
        bmc_rowblock(md->n, g->size, g->rank, &r0, &nr);
        rc = bmc_h5_create_dataset(f, DS("X_train_centred"), p->dtype, 2, xd, NULL, err);
        if (!rc) rc = bmc_h5_write_rows(f, name, BMC_F64, (hsize_t)r0, (hsize_t)nr, md->xc_rows, err);
    }
    /* Global vectors. */
    struct { const char *leaf; const double *v; hsize_t n; } vec[] = {
        {"x_mean", md->x_mean, dp},          {"y_mean", md->y_mean, dt},
        {"intercept", md->intercept, dt},    {"alpha", rr->best_alpha, dt},
        {"alphas", p->alphas, dna},          {"voxel_scale", o->voxel_scale, dp},
        {"y_train_mean", o->y_train_mean, dt}, {"y_train_std", o->y_train_std, dt},
        {"pred_train_mean", o->pred_train_mean, dt}, {"pred_train_std", o->pred_train_std, dt}};
    for (size_t i = 0; i < sizeof vec / sizeof *vec && !rc; i++)
        rc = train_write_global(f, DS(vec[i].leaf), BMC_F64, BMC_F64, 1, &vec[i].n, vec[i].v, err);
    hsize_t sd[2] = {dna, dt};
    if (!rc) rc = train_write_global(f, DS("scores"), BMC_F64, BMC_F64, 2, sd, rr->scores, err);
    if (!rc && rr->n_groups > 0) {
        hsize_t gd[2] = {dna, (hsize_t)rr->n_groups};
        rc = train_write_global(f, DS("group_scores"), BMC_F64, BMC_F64, 2, gd, rr->group_scores, err);
    }
    if (!rc) rc = train_write_global(f, DS("alpha_index"), BMC_I32, BMC_I32, 1, &dt, rr->best_index, err);
    if (!rc) rc = train_write_global(f, DS("voxel_index"), BMC_I32, BMC_I32, 1, &dp, o->voxel_index, err);
    hsize_t ntok = (hsize_t)o->fr->n_tok;
    if (!rc) rc = train_write_global(f, DS("token_index"), BMC_I32, BMC_I32, 1, &ntok, o->fr->tok, err);
    if (!rc) rc = train_write_global(f, DS("train_image_ids"), BMC_I64, BMC_I64, 1, &dn, o->train_ids, err);
#undef DS
    rc = attr_str(f, base, "form", md->dual ? "dual" : "primal", rc, err);
    rc = attr_str(f, base, "x_group", o->m->x_group, rc, err);
    rc = attr_str(f, base, "y_dataset", o->m->y_dataset, rc, err);
    rc = attr_int(f, base, "tokens", o->fr->n_tok, rc, err);
    rc = attr_int(f, base, "width", o->fr->W, rc, err);
    rc = attr_int(f, base, "y_ndims", o->fr->ndims, rc, err);
    rc = attr_int(f, base, "n", o->n, rc, err);
    rc = attr_int(f, base, "p", o->p, rc, err);
    rc = attr_int(f, base, "t", o->t, rc, err);
    rc = attr_str(f, base, "cv", cv_names[p->mode], rc, err);
    rc = attr_int(f, base, "folds", p->mode == RIDGE_MODE_KFOLD ? p->kfold : 0, rc, err);
    rc = attr_str(f, base, "granularity", grain_names[p->grain], rc, err);
    /* what the scores are: float64 everywhere, or the float32 screen with ties rescored */
    rc = attr_str(f, base, "score_precision", rr->mixed ? "mixed" : "double", rc, err);
    rc = attr_int(f, base, "rescored_targets", rr->rescored, rc, err);
    rc = attr_f64(f, base, "global_weight", p->global_weight, rc, err);
    rc = attr_f64(f, base, "fine_weight", p->fine_weight, rc, err);
    rc = attr_str(f, base, "voxel_weighting", voxw_names[p->voxel_weighting], rc, err);
    rc = attr_f64(f, base, "r2_threshold", p->r2_threshold, rc, err);
    rc = attr_int(f, base, "block_cols", rr->block_cols, rc, err);
    rc = attr_int(f, base, "mem_peak", (long long)rr->mem_peak, rc, err);
    return rc;
}

int model_write_encoding(bmc_h5 *f, const encoding_result *e, bmc_err *err) {
    char base[300], name[400];
    snprintf(base, sizeof base, "/encoding/%s", e->name);
    hsize_t dp = (hsize_t)e->p_vox, dr = (hsize_t)e->n_rois;
    snprintf(name, sizeof name, "%s/r2", base);
    int rc = train_write_global(f, name, BMC_F64, BMC_F64, 1, &dp, e->r2, err);
    snprintf(name, sizeof name, "%s/alpha", base);
    if (!rc) rc = train_write_global(f, name, BMC_F64, BMC_F64, 1, &dp, e->alpha, err);
    snprintf(name, sizeof name, "%s/roi_r2", base);
    if (!rc) rc = train_write_global(f, name, BMC_F64, BMC_F64, 1, &dr, e->roi_r2, err);
    snprintf(name, sizeof name, "%s/roi_n_voxels", base);
    if (!rc) rc = train_write_global(f, name, BMC_I64, BMC_I64, 1, &dr, e->roi_n, err);
    rc = attr_str(f, base, "clip_dataset", e->dataset, rc, err);
    rc = attr_str(f, base, "fmri_group", e->group, rc, err);
    rc = attr_str(f, base, "rois", e->rois, rc, err);
    rc = attr_int(f, base, "n_train", e->n_train, rc, err);
    rc = attr_int(f, base, "n_test", e->n_test, rc, err);
    rc = attr_int(f, base, "n_features", e->n_features, rc, err);
    rc = attr_f64(f, base, "mean_r2", e->mean_r2, rc, err);
    return rc;
}
