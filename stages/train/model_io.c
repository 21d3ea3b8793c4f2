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

size_t decoder_sink_col_bytes(const bmc_grid *g, int n, int p, int dual) {
    long r0, nr, c0, nc;
    bmc_rowblock(n, g->size, g->rank, &r0, &nr);
    bmc_rowblock(dual ? n : p, g->size, g->rank, &c0, &nc);
    size_t pcb = ridge_predict_col_bytes(g, n, n, p, dual), stage = (size_t)nc * sizeof(double);
    return 2 * (size_t)nr * sizeof(double) + (pcb > stage ? pcb : stage) + sizeof(double);
}

size_t decoder_sink_fixed_bytes(const bmc_grid *g, int n, int p, int dual, size_t *peak) {
    return ridge_predictor_bytes(g, n, n, p, dual, peak);
}

/* DS(base, leaf): the full dataset name in a caller's buffer `name`. */
#define DS(leaf) (snprintf(name, sizeof name, "%s/%s", base, leaf), name)

int model_decoder_create(bmc_h5 *f, const train_plan *p, const decoder_out *o, int dual,
                         bmc_err *err) {
    char base[300], name[400];
    snprintf(base, sizeof base, "/mappings/%s", o->m->name);
    hsize_t wd[2] = {(hsize_t)(dual ? o->n : o->p), (hsize_t)o->t}, dt = (hsize_t)o->t;
    int rc = bmc_h5_create_dataset(f, DS(dual ? "dual_coef" : "W"), p->dtype, 2, wd, NULL, err);
    static const char *const per_col[] = {"y_mean", "intercept", "alpha"};
    for (int i = 0; i < 3 && !rc; i++)
        rc = bmc_h5_create_dataset(f, DS(per_col[i]), BMC_F64, 1, &dt, NULL, err);
    return rc;
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

/* Collective: the Brain-Diffuser statistics of the block's training targets (read again) and
 * training predictions into o's t-sized arrays. */
static int block_train_stats(decoder_sink *ds, const ridge_model *blk, int col0, bmc_err *err) {
    const bmc_grid *g = blk->grid;
    decoder_out *o = ds->o;
    long r0, nr;
    bmc_rowblock(blk->n, g->size, g->rank, &r0, &nr);
    int tb = blk->t;
    if (!ds->have_pred) { /* training X·Xcᵀ (or X) once, at the first block */
        if (ridge_predictor_init(&ds->pred, blk, blk->n, ds->x_rows, err)) return -1;
        ds->have_pred = 1;
    }
    double *y = XNEW(y, (size_t)nr * (size_t)tb + 1);
    int rc = feat_reader_fill(ds->fr, col0, tb, y, err);
    if (!rc) {
        column_stats(y, nr, tb, blk->n, g->comm, o->y_train_mean + col0, o->y_train_std + col0);
        double *pred = XNEW(pred, (size_t)nr * (size_t)tb + 1);
        ridge_predict_cols(&ds->pred, blk, pred);
        column_stats(pred, nr, tb, blk->n, g->comm, o->pred_train_mean + col0,
                     o->pred_train_std + col0);
        free(pred);
    }
    free(y);
    return rc;
}

int decoder_sink_block(void *ctx, const ridge_block_out *out, bmc_err *err) {
    decoder_sink *ds = ctx;
    const ridge_model *blk = out->block;
    const bmc_grid *g = blk->grid;
    if (block_train_stats(ds, blk, out->col0, err)) return -1;
    char base[300], name[400];
    snprintf(base, sizeof base, "/mappings/%s", ds->o->m->name);
    long r0, nr;
    bmc_rowblock(blk->dual ? blk->n : blk->p, g->size, g->rank, &r0, &nr);
    hsize_t ws[2] = {(hsize_t)r0, (hsize_t)out->col0}, wc[2] = {(hsize_t)nr, (hsize_t)blk->t};
    int rc = bmc_h5_write_block(ds->f, DS(blk->dual ? "dual_coef" : "W"), BMC_F64, ws, wc,
                                blk->coef_rows, err);
    double *alpha = XNEW(alpha, (size_t)blk->t);
    for (int k = 0; k < blk->t; k++) alpha[k] = ds->p->alphas[out->best_index[k]];
    hsize_t vs = (hsize_t)out->col0, vc = g->rank == 0 ? (hsize_t)blk->t : 0;
    const double *vec[] = {blk->y_mean, blk->intercept, alpha};
    static const char *const leaf[] = {"y_mean", "intercept", "alpha"};
    for (int i = 0; i < 3 && !rc; i++)
        rc = bmc_h5_write_block(ds->f, DS(leaf[i]), BMC_F64, &vs, &vc, vec[i], err);
    free(alpha);
    return rc;
}

void decoder_sink_free(decoder_sink *ds) {
    if (ds->have_pred) ridge_predictor_free(&ds->pred);
    ds->have_pred = 0;
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
    hsize_t dp = (hsize_t)o->p, dt = (hsize_t)o->t, dn = (hsize_t)o->n,
            dna = (hsize_t)p->n_alpha;
    const bmc_grid *g = md->grid;
    int rc = 0;
    /* The centred training X of the dual form (W or dual_coef went out block by block). */
    if (md->dual) {
        long r0, nr;
        hsize_t xd[2] = {dn, dp};
        bmc_rowblock(md->n, g->size, g->rank, &r0, &nr);
        rc = bmc_h5_create_dataset(f, DS("X_train_centred"), p->dtype, 2, xd, NULL, err);
        if (!rc) rc = bmc_h5_write_rows(f, name, BMC_F64, (hsize_t)r0, (hsize_t)nr, md->xc_rows, err);
    }
    /* Global vectors. */
    struct { const char *leaf; const double *v; hsize_t n; } vec[] = {
        {"x_mean", md->x_mean, dp},          {"alphas", p->alphas, dna},
        {"voxel_scale", o->voxel_scale, dp},
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

#undef DS

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
