/* encoding.c — the image branch of Cross-Reconstruction: ridge encoding models from CLIP
 * features to fMRI voxels (the same solver as the decoders, the other direction), fitted on
 * the training images and scored on the held-out test images (R² per voxel, mean per ROI),
 * and the R² map written as a NIfTI-1 float32 volume on the subject's grid.
 * Not here: choosing which maps to fit (main.c), the model file (model_io.c).
 */
#include <math.h>
#include <nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_nifti.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "train.h"

/* Voxel size of the maps when no reference NIfTI is given (NSD's func1pt8mm). */
#define DEFAULT_VOXEL_MM 1.8

/* Collective: this rank's rows of the features of the given fMRI rows, as doubles. */
static int load_features(train_inputs *in, const char *dataset, const bmc_cfg_node *tokens,
                         long nloc, const long *frow, const long long *ids, size_t mem,
                         double **out, int *ncols, bmc_err *err) {
    feat_reader fr;
    *out = NULL;
    if (feat_reader_open(&fr, in, dataset, tokens, nloc, frow, ids, mem, err)) return -1;
    *ncols = feat_reader_cols(&fr);
    *out = XNEW(*out, (size_t)nloc * (size_t)*ncols + 1);
    int rc = feat_reader_fill(&fr, 0, *ncols, *out, err);
    feat_reader_close(&fr);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* The sink of an encoding fit: each solved block of voxels predicted on the test rows and its
 * residual sums of squares kept (this rank's rows; summed over ranks after the fit). */
typedef struct encoding_sink {
    const train_group *g;
    long n_test;
    const double *xt;       /* this rank's test features                                  */
    ridge_predictor pred;   /* formed at the first block                                  */
    int have_pred;
    double *ss_res;         /* p_vox: this rank's Σ (y − ŷ)²                              */
} encoding_sink;

/* Collective (ridge_sink_fn): the block's test predictions and residual sums. */
static int encoding_block(void *ctx, const ridge_block_out *out, bmc_err *err) {
    encoding_sink *es = ctx;
    const ridge_model *blk = out->block;
    const train_group *g = es->g;
    if (!es->have_pred) {
        if (ridge_predictor_init(&es->pred, blk, (int)es->n_test, es->xt, err)) return -1;
        es->have_pred = 1;
    }
    size_t tb = (size_t)blk->t, P = (size_t)g->p, c0 = (size_t)out->col0;
    double *pred = XNEW(pred, (size_t)g->tnloc * tb + 1);
    ridge_predict_cols(&es->pred, blk, pred);
    for (long i = 0; i < g->tnloc; i++)
        for (size_t j = 0; j < tb; j++) {
            double e = g->xt[(size_t)i * P + c0 + j] - pred[(size_t)i * tb + j];
            es->ss_res[c0 + j] += e * e;
        }
    free(pred);
    return 0;
}

int encoding_fit(const train_plan *p, const bmc_grid *grid, train_inputs *in,
                 const train_group *g, const char *dataset, const bmc_cfg_node *tokens,
                 encoding_result *res, bmc_err *err) {
    memset(res, 0, sizeof *res);
    MPI_Comm comm = grid->comm;
    size_t reader_mem = p->mem_per_rank / 8;
    double *x = NULL, *xt = NULL;
    int pf = 0, pft = 0;
    if (load_features(in, dataset, tokens, g->nloc, in->train_frow + g->row0,
                      in->train_ids + g->row0, reader_mem, &x, &pf, err))
        return -1;
    if (load_features(in, dataset, tokens, g->tnloc, in->test_frow + g->trow0,
                      in->test_ids + g->trow0, reader_mem, &xt, &pft, err)) {
        free(x);
        return -1;
    }
    BMC_CHECK(pf == pft);
    unsigned long used = (unsigned long)((size_t)(g->nloc + g->tnloc) * ((size_t)pf + (size_t)g->p) *
                                         sizeof(double)),
                  umax = 0;
    BMC_MPI(MPI_Allreduce(&used, &umax, 1, MPI_UNSIGNED_LONG, MPI_MAX, comm));
    int dual = (int)in->n_train <= pf;
    size_t pred_peak = 0;
    size_t pred_bytes = ridge_predictor_bytes(grid, (int)in->n_test, (int)in->n_train, pf, dual,
                                              &pred_peak);
    /* beside the solver: the runtime, the features (the reader is closed by now) and the test
     * predictor's lhs; forming it is the sink's one-time set-up */
    size_t held = TRAIN_RUNTIME_BYTES + umax + pred_bytes;
    size_t left = p->mem_per_rank > held ? p->mem_per_rank - held : 1;
    ridge_problem pb = {
        .grid = grid,
        .n = (int)in->n_train,
        .p = pf,
        .t = g->p,
        .n_alpha = p->n_alpha,
        .alphas = p->alphas,
        .mode = p->mode,
        .kfold = p->kfold,
        .grain = RIDGE_GRAIN_TARGET,
        .mem_budget = left,
        .precision = p->precision,
        .sink_setup_bytes = pred_peak > pred_bytes ? pred_peak - pred_bytes : 0,
        .sink_col_bytes = (size_t)g->tnloc * sizeof(double) +
                          ridge_predict_col_bytes(grid, (int)in->n_test, (int)in->n_train, pf, dual),
    };
    ridge_result rr;
    ridge_model md;
    size_t P = (size_t)g->p;
    double *sum = xcalloc(3 * P, sizeof *sum), *ss_tot = sum + P, *ss_res = ss_tot + P;
    encoding_sink es = {.g = g, .n_test = in->n_test, .xt = xt, .ss_res = ss_res};
    int rc = ridge_fit_rows_stream(&pb, x, g->x, encoding_block, &es, &rr, &md, err);
    if (es.have_pred) ridge_predictor_free(&es.pred);
    free(x);
    free(xt);
    if (rc) {
        free(sum);
        return -1;
    }
    {
        for (long i = 0; i < g->tnloc; i++)
            for (size_t j = 0; j < P; j++) sum[j] += g->xt[(size_t)i * P + j];
        BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, sum, g->p, MPI_DOUBLE, MPI_SUM, comm));
        for (size_t j = 0; j < P; j++) sum[j] /= (double)in->n_test;
        for (long i = 0; i < g->tnloc; i++)
            for (size_t j = 0; j < P; j++) {
                double d = g->xt[(size_t)i * P + j] - sum[j];
                ss_tot[j] += d * d;
            }
        BMC_MPI(MPI_Allreduce(MPI_IN_PLACE, ss_tot, 2 * g->p, MPI_DOUBLE, MPI_SUM, comm));
        res->p_vox = g->p;
        res->r2 = XNEW(res->r2, P);
        res->alpha = XNEW(res->alpha, P);
        double tot = 0.0;
        long nfin = 0;
        for (size_t j = 0; j < P; j++) {
            res->r2[j] = ss_tot[j] > 0 ? 1.0 - ss_res[j] / ss_tot[j] : NAN;
            res->alpha[j] = rr.best_alpha[j];
            if (isfinite(res->r2[j])) {
                tot += res->r2[j];
                nfin++;
            }
        }
        res->mean_r2 = nfin ? tot / (double)nfin : NAN;
        res->n_rois = g->n_rois;
        res->rois = g->rois;
        res->roi_r2 = xcalloc((size_t)g->n_rois, sizeof *res->roi_r2);
        res->roi_n = xcalloc((size_t)g->n_rois, sizeof *res->roi_n);
        long *nf = xcalloc((size_t)g->n_rois, sizeof *nf);
        for (size_t j = 0; j < P; j++) {
            res->roi_n[g->roi[j]]++;
            if (isfinite(res->r2[j])) {
                res->roi_r2[g->roi[j]] += res->r2[j];
                nf[g->roi[j]]++;
            }
        }
        for (int k = 0; k < g->n_rois; k++) res->roi_r2[k] = nf[k] ? res->roi_r2[k] / (double)nf[k] : NAN;
        free(nf);
        res->dataset = dataset;
        res->group = g->name;
        res->n_train = (int)in->n_train;
        res->n_test = (int)in->n_test;
        res->n_features = pf;
    }
    free(sum);
    ridge_result_free(&rr);
    ridge_model_free(&md);
    return rc;
}

void encoding_result_free(encoding_result *r) {
    free(r->name);
    free(r->r2);
    free(r->alpha);
    free(r->roi_r2);
    free(r->roi_n);
    memset(r, 0, sizeof *r);
}

/* Local: geometry of the map: a reference image's qform/sform, or 1.8 mm centred RAS. */
static int set_geometry(nifti_image *nim, const int dims[3], const char *reference,
                        bmc_err *err) {
    if (reference) {
        nifti_image *ref = nifti_image_read(reference, 0);
        if (!ref)
            return bmc_err_set(err, "give a readable NIfTI file", "%s: cannot read the NIfTI "
                               "header of the reference", reference);
        int rc = 0;
        if (ref->nx != dims[0] || ref->ny != dims[1] || ref->nz != dims[2])
            rc = bmc_err_set(err, "use a volume of the subject (e.g. its nsdgeneral.nii.gz)",
                             "%s: reference grid %lldx%lldx%lld differs from the fMRI grid "
                             "%dx%dx%d", reference, (long long)ref->nx, (long long)ref->ny,
                             (long long)ref->nz, dims[0], dims[1], dims[2]);
        else {
            nim->dx = ref->dx;
            nim->dy = ref->dy;
            nim->dz = ref->dz;
            for (int a = 1; a <= 3; a++) nim->pixdim[a] = ref->pixdim[a];
            nim->xyz_units = ref->xyz_units;
            nim->qform_code = ref->qform_code;
            nim->sform_code = ref->sform_code;
            nim->quatern_b = ref->quatern_b;
            nim->quatern_c = ref->quatern_c;
            nim->quatern_d = ref->quatern_d;
            nim->qoffset_x = ref->qoffset_x;
            nim->qoffset_y = ref->qoffset_y;
            nim->qoffset_z = ref->qoffset_z;
            nim->qfac = ref->qfac;
            nim->qto_xyz = ref->qto_xyz;
            nim->sto_xyz = ref->sto_xyz;
        }
        nifti_image_free(ref);
        return rc;
    }
    bmc_nifti_centred_geometry(nim, dims, DEFAULT_VOXEL_MM);
    return 0;
}

/* Local (rank 0): build and write the volume, then read the header back. */
static int write_volume(const char *path, const train_inputs *in, const train_group *g,
                        const encoding_result *res, const char *reference, bmc_err *err) {
    int dims[3];
    for (int a = 0; a < 3; a++) {
        if (in->grid[a] < 1 || in->grid[a] > 100000)
            return bmc_err_set(err, NULL, "%s: grid attribute (%ld, %ld, %ld) is not a volume",
                               in->fmri_path, in->grid[0], in->grid[1], in->grid[2]);
        dims[a] = (int)in->grid[a];
    }
    int64_t nd[8] = {3, dims[0], dims[1], dims[2], 1, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(nd, DT_FLOAT32, 1);
    if (!nim) return bmc_err_set(err, NULL, "%s: libnifti2 cannot make the image", path);
    float *v = nim->data;
    size_t nvox = (size_t)dims[0] * (size_t)dims[1] * (size_t)dims[2];
    for (size_t q = 0; q < nvox; q++) v[q] = NAN;
    int rc = 0;
    for (int j = 0; j < g->p && !rc; j++) {
        const int *c = g->ijk + 3 * j;
        if (c[0] < 0 || c[1] < 0 || c[2] < 0 || c[0] >= dims[0] || c[1] >= dims[1] ||
            c[2] >= dims[2])
            rc = bmc_err_set(err, NULL, "%s:/voxels/%s/ijk: voxel %d at (%d, %d, %d) is outside "
                             "the grid", in->fmri_path, g->name, j, c[0], c[1], c[2]);
        else
            v[(size_t)c[0] + (size_t)dims[0] * ((size_t)c[1] + (size_t)dims[1] * (size_t)c[2])] =
                (float)res->r2[j];
    }
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1; /* one .nii(.gz) file, NIfTI-1 */
    if (!rc) rc = set_geometry(nim, dims, reference, err);
    snprintf(nim->descrip, sizeof nim->descrip, "bmc-train encoding R2 %s", res->name);
    if (!rc && nifti_set_filenames(nim, path, 0, 1))
        rc = bmc_err_set(err, NULL, "%s: not a NIfTI file name", path);
    if (!rc) nifti_image_write(nim);
    nifti_image_free(nim);
    if (rc) return rc;
    nifti_image *chk = nifti_image_read(path, 0);
    if (!chk || chk->nx != dims[0] || chk->ny != dims[1] || chk->nz != dims[2])
        rc = bmc_err_set(err, "check that the folder is writable and not full",
                         "%s: writing the NIfTI file failed", path);
    if (chk) nifti_image_free(chk);
    return rc;
}

int encoding_write_nifti(const char *path, const train_inputs *in, const train_group *g,
                         const encoding_result *res, const char *reference, MPI_Comm comm,
                         bmc_err *err) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) write_volume(path, in, g, res, reference, err);
    return bmc_err_agree(comm, err) ? -1 : 0;
}
