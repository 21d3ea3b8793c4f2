/* crosssubject.c — the fMRI rows the train subject's decoders see: within-subject, the
 * subject's own responses to the evaluation images; cross-subject, the test subject's
 * responses mapped onto the train subject's voxels by a ridge regression fitted on the
 * alignment images (bmc-train's solver, exact LOO penalty per target voxel).
 * The alignment is small (k images) and solved on rank 0 alone on a 1×1 grid, then broadcast,
 * so it is the same for any rank count. Not here: the decoders themselves (predict.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "evaluate.h"
#include "ridge.h"

/* Collective: rows[0..n) of /test/<group> of f (every rank passes the same rows when
 * `everyone`, else only rank 0 reads), as doubles, n × *pg. *pg = the group's voxels. */
static int read_group_rows(bmc_h5 *f, const char *group, const long *rows, long n, int everyone,
                           double **out, int *pg, bmc_err *err) {
    char name[300];
    snprintf(name, sizeof name, "/test/%s", group);
    bmc_dtype t;
    int nd;
    hsize_t dims[BMC_H5_MAXDIMS];
    *out = NULL;
    if (bmc_h5_dataset_info(f, name, &t, &nd, dims, err)) return -1;
    if (nd != 2) {
        bmc_err_set(err, "rewrite the file with bmc-extract-fmri",
                    "%s:%s: expected [images, voxels], found %d dimensions", f->path, name, nd);
        bmc_err_agree(f->comm, err);
        return -1;
    }
    *pg = (int)dims[1];
    long nr = everyone || f->rank == 0 ? n : 0;
    hsize_t *hr = XNEW(hr, n + 1);
    for (long i = 0; i < n; i++) hr[i] = (hsize_t)rows[i];
    *out = XNEW(*out, (size_t)(n > 0 ? n : 1) * dims[1]);
    int rc = bmc_h5_read_rowset(f, name, BMC_F64, hr, (hsize_t)nr, NULL, NULL, *out, err);
    free(hr);
    for (size_t i = 0; !rc && i < (size_t)nr * dims[1] && !err->failed; i++)
        if (!isfinite((*out)[i]))
            bmc_err_set(err, "re-extract the subject's fMRI; NaN/Inf voxels must not reach the "
                        "decoders",
                        "%s:%s: non-finite value in row %ld, voxel %llu", f->path, name,
                        rows[i / dims[1]], (unsigned long long)(i % dims[1]));
    if (!rc && bmc_err_agree(f->comm, err)) rc = -1;
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* Local (rank 0): fit test-voxels → train-voxels on the alignment rows and map the
 * evaluation rows. xa_t k × pt, xa_s k × ps, xe_t m × pt → *out m × ps, alpha ps. */
static int align_fit_local(const ev_plan *p, long k, int pt, int ps, const double *xa_t,
                           const double *xa_s, long m, const double *xe_t, double *out,
                           double *alpha, bmc_err *err) {
    bmc_grid g;
    if (bmc_grid_init(&g, MPI_COMM_SELF, 1, 1, err)) return -1;
    ridge_problem pb = {
        .grid = &g,
        .n = (int)k,
        .p = pt,
        .t = ps,
        .n_alpha = p->n_align_alpha,
        .alphas = p->align_alphas,
        .mode = RIDGE_MODE_LOO,
        .grain = RIDGE_GRAIN_TARGET,
        .precision = RIDGE_PRECISION_DOUBLE,
    };
    ridge_result rr;
    ridge_model md;
    int rc = ridge_fit_rows(&pb, xa_t, xa_s, &rr, &md, err);
    if (!rc) {
        memcpy(alpha, rr.best_alpha, (size_t)ps * sizeof *alpha);
        rc = ridge_predict(&md, (int)m, xe_t, out, err);
        ridge_result_free(&rr);
        ridge_model_free(&md);
    }
    bmc_grid_free(&g);
    return rc;
}

int ev_fmri_rows(const ev_plan *p, ev_inputs *in, MPI_Comm comm, double *xg[2],
                 double *alpha_out[2], int pg[2], bmc_err *err) {
    int rank;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    xg[0] = xg[1] = NULL;
    alpha_out[0] = alpha_out[1] = NULL;
    for (int b = 0; b < 2; b++) {
        const char *group = in->dec[b].x_group;
        if (b == 1 && !strcmp(group, in->dec[0].x_group)) {
            xg[1] = xg[0];
            alpha_out[1] = alpha_out[0];
            pg[1] = pg[0];
            break;
        }
        if (!in->cross) {
            if (read_group_rows(&in->test, group, in->eval_test_row, in->m, 1, &xg[b], &pg[b],
                                err))
                return -1;
            continue;
        }
        /* Cross-subject: rank 0 reads the rows and fits, everyone receives the result. */
        double *xa_t = NULL, *xa_s = NULL, *xe_t = NULL;
        int pt = 0, ps = 0;
        int rc = read_group_rows(&in->test, group, in->align_test_row, in->k, 0, &xa_t, &pt, err);
        if (!rc) rc = read_group_rows(&in->train, group, in->align_train_row, in->k, 0, &xa_s, &ps, err);
        if (!rc) rc = read_group_rows(&in->test, group, in->eval_test_row, in->m, 0, &xe_t, &pt, err);
        if (!rc) {
            pg[b] = ps;
            xg[b] = XNEW(xg[b], (size_t)in->m * (size_t)ps);
            alpha_out[b] = XNEW(alpha_out[b], ps);
            if (rank == 0) {
                bmc_log_info("aligning group %s: %d voxels of subject %lld -> %d voxels of "
                             "subject %lld on %ld shared images", group, pt, p->test_subject,
                             ps, p->train_subject, in->k);
                align_fit_local(p, in->k, pt, ps, xa_t, xa_s, in->m, xe_t, xg[b], alpha_out[b],
                                err);
                if (err->failed) bmc_err_prefix(err, "aligning group '%s'", group);
            }
            rc = bmc_err_agree(comm, err) ? -1 : 0;
        }
        free(xa_t);
        free(xa_s);
        free(xe_t);
        if (rc) return -1;
        BMC_MPI(MPI_Bcast(xg[b], (int)((size_t)in->m * (size_t)ps), MPI_DOUBLE, 0, comm));
        BMC_MPI(MPI_Bcast(alpha_out[b], ps, MPI_DOUBLE, 0, comm));
    }
    return 0;
}
