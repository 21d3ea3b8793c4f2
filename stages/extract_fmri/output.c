/* output.c — write the bmc.fmri file (see output.h and docs/FORMATS.md).
 *
 * Rows live in the row blocks of average.c (train rows, then test rows); each rank's block
 * is split at the train/test boundary and written to the two datasets collectively. The
 * small per-voxel tables are written by rank 0 (other ranks take part with zero rows).
 * Not here: computing the values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "output.h"

/* bmc_h5_write_rows, skipped (by every rank alike) when the dataset has no rows at all: a
 * collective write into an empty contiguous dataset fails in HDF5 (it has no storage). */
static int write_rows(bmc_h5 *f, const char *name, bmc_dtype t, long total, long row0,
                      long nrows, const void *buf, bmc_err *err) {
    if (total == 0) return 0;
    return bmc_h5_write_rows(f, name, t, (hsize_t)row0, (hsize_t)nrows, buf, err);
}

long fmri_group_kept(const fmri_group *g, const fmri_ingest *in, const fmri_rows *rows,
                     long **kept) {
    long *valid_of = XNEW(valid_of, in->n_vox ? in->n_vox : 1);
    for (long c = 0; c < in->n_vox; c++) valid_of[c] = -1;
    for (long v = 0; v < rows->n_valid; v++) valid_of[rows->valid[v]] = v;
    *kept = XNEW(*kept, g->p ? g->p : 1);
    long n = 0;
    for (long k = 0; k < g->p; k++)
        if (valid_of[g->col[k]] >= 0) (*kept)[n++] = valid_of[g->col[k]];
    free(valid_of);
    return n;
}

/* Input lines for provenance: the small files of the plan and every betas file. */
static int write_provenance(bmc_stage *s, const fmri_params *p, const fmri_plan *plan,
                            const fmri_ingest *in, bmc_h5 *f, bmc_err *err) {
    size_t nf = plan->n_files, n = nf + (size_t)plan->n_sessions;
    char (*sha)[BMC_SHA256_HEX] = xcalloc((size_t)plan->n_sessions, sizeof *sha);
    int *counts = XNEW(counts, s->size), *displs = XNEW(displs, s->size);
    for (int r = 0; r < s->size; r++) {
        long s0, ns;
        bmc_rowblock(plan->n_sessions, s->size, r, &s0, &ns);
        counts[r] = (int)ns * BMC_SHA256_HEX;
        displs[r] = (int)s0 * BMC_SHA256_HEX;
    }
    BMC_MPI(MPI_Allgatherv(in->sha, (int)in->ns * BMC_SHA256_HEX, MPI_CHAR, sha, counts, displs,
                           MPI_CHAR, s->comm));
    free(counts);
    free(displs);
    const char **paths = XNEW(paths, n), **hashes = XNEW(hashes, n);
    char **betas = XNEW(betas, plan->n_sessions);
    for (size_t i = 0; i < nf; i++) {
        paths[i] = plan->files[i];
        hashes[i] = plan->files_sha256[i];
    }
    for (long si = 0; si < plan->n_sessions; si++) {
        betas[si] = fmri_plan_betas_path(p, plan, si);
        paths[nf + (size_t)si] = betas[si];
        hashes[nf + (size_t)si] = p->hash_betas ? sha[si] : "not-hashed";
    }
    char created_by[256];
    bmc_stage_version_string(s->program, created_by, sizeof created_by);
    bmc_provenance prov = {.created_by = created_by,
                           .config_sha256 = s->params_sha256,
                           .stage_fingerprint = s->fingerprint,
                           .n_inputs = n,
                           .input_paths = paths,
                           .input_sha256 = hashes};
    int rc = bmc_h5_write_provenance(f, &prov, err);
    for (long si = 0; si < plan->n_sessions; si++) free(betas[si]);
    free(betas);
    free(paths);
    free(hashes);
    free(sha);
    return rc;
}

static int write_attributes(bmc_stage *s, const fmri_params *p, const fmri_plan *plan,
                            const fmri_ingest *in, bmc_h5 *f, bmc_err *err) {
    long long grid[3] = {plan->grid[0], plan->grid[1], plan->grid[2]};
    long long *sess = XNEW(sess, plan->n_sessions);
    for (int i = 0; i < plan->n_sessions; i++) sess[i] = plan->sessions[i];
    size_t len = 1;
    for (size_t i = 0; i < plan->n_groups; i++) len += strlen(plan->groups[i].name) + 1;
    char *groups = xmalloc(len), *end = groups;
    *end = '\0';
    for (size_t i = 0; i < plan->n_groups; i++)
        end += sprintf(end, "%s%s", i ? "\n" : "", plan->groups[i].name);
    int rc = bmc_h5_attr_set_i64(f, "/", "subject", plan->subject, err);
    if (!rc) rc = bmc_h5_attr_set_i64_array(f, "/", "grid", grid, 3, err);
    if (!rc) rc = bmc_h5_attr_set_i64(f, "/", "sessions", plan->n_sessions, err);
    if (!rc)
        rc = bmc_h5_attr_set_i64_array(f, "/", "session_ids", sess, (size_t)plan->n_sessions,
                                       err);
    if (!rc)
        rc = bmc_h5_attr_set_i64(f, "/", "trials_per_session", plan->trials_per_session, err);
    if (!rc)
        rc = bmc_h5_attr_set_str(f, "/", "zscore", p->zscore_train ? "train" : "session", err);
    if (!rc) rc = bmc_h5_attr_set_str(f, "/", "groups", groups, err);
    if (!rc) rc = bmc_h5_attr_set_i64(f, "/", "n_invalid_voxels", in->n_invalid, err);
    if (!rc) rc = bmc_h5_attr_set_i64(f, "/", "n_constant_voxels", in->n_constant, err);
    if (!rc) rc = bmc_h5_attr_set_str(f, "/", "stimuli", plan->stimuli_path, err);
    if (!rc) rc = bmc_h5_attr_set_str(f, "/", "dataset", p->dataset, err);
    if (!rc) rc = bmc_h5_attr_set_i64(f, "/", "n_stimuli", plan->n_stimuli, err);
    if (!rc) rc = write_provenance(s, p, plan, in, f, err);
    free(groups);
    free(sess);
    return rc;
}

/* One group: its train/test matrices (this rank's rows, staged in buf: nr × p floats at
 * least) and, from rank 0, its voxel table. */
static int write_group(bmc_stage *s, const fmri_plan *plan, const fmri_group *g,
                       const fmri_ingest *in, const fmri_rows *rows, float *buf, bmc_h5 *f,
                       bmc_err *err) {
    long *kept = NULL;
    long pg = fmri_group_kept(g, in, rows, &kept);
    hsize_t dims[2] = {(hsize_t)rows->n_train, (hsize_t)pg}, n1 = (hsize_t)pg;
    char name[3][512];
    snprintf(name[0], sizeof name[0], "/train/%s", g->name);
    snprintf(name[1], sizeof name[1], "/test/%s", g->name);
    int rc = bmc_h5_create_dataset(f, name[0], BMC_F32, 2, dims, NULL, err);
    dims[0] = (hsize_t)rows->n_test;
    if (!rc) rc = bmc_h5_create_dataset(f, name[1], BMC_F32, 2, dims, NULL, err);

    const float *m = rows->avg; /* a group of every kept voxel: its rows are avg's rows */
    if (pg != rows->n_valid) {
        for (long r = 0; r < rows->nr; r++)
            for (long k = 0; k < pg; k++)
                buf[(size_t)r * (size_t)pg + (size_t)k] =
                    rows->avg[(size_t)r * (size_t)rows->n_valid + (size_t)kept[k]];
        m = buf;
    }
    long r0 = rows->r0, r1 = rows->r0 + rows->nr, nt = rows->n_train;
    long a = r0 < nt ? r0 : nt, b = r1 < nt ? r1 : nt;           /* train rows [a, b) */
    long c = r0 > nt ? r0 : nt, d = r1 > nt ? r1 : nt;           /* test rows [c, d)  */
    if (!rc)
        rc = write_rows(f, name[0], BMC_F32, nt, a, b - a, m, err);
    if (!rc)
        rc = write_rows(f, name[1], BMC_F32, rows->n_test, c - nt, d - c,
                        m + (size_t)(c - r0) * (size_t)pg, err);

    /* Voxel table: ijk, label, roi of the kept voxels. */
    int32_t *ijk = XNEW(ijk, (size_t)(pg ? pg : 1) * 3);
    int32_t *label = XNEW(label, pg ? pg : 1), *roi = XNEW(roi, pg ? pg : 1);
    long X = plan->grid[0], Y = plan->grid[1], j = 0;
    for (long k = 0; k < g->p; k++) {
        if (in->invalid[g->col[k]]) continue;
        int64_t v = plan->vox[g->col[k]];
        ijk[3 * j] = (int32_t)(v % X);
        ijk[3 * j + 1] = (int32_t)((v / X) % Y);
        ijk[3 * j + 2] = (int32_t)(v / (X * Y));
        label[j] = g->label[k];
        roi[j] = g->roi[k];
        j++;
    }
    BMC_CHECK(j == pg);
    hsize_t dims3[2] = {(hsize_t)pg, 3}, mine = s->rank == 0 ? (hsize_t)pg : 0;
    snprintf(name[2], sizeof name[2], "/voxels/%s/ijk", g->name);
    if (!rc) rc = bmc_h5_create_dataset(f, name[2], BMC_I32, 2, dims3, NULL, err);
    if (!rc) rc = bmc_h5_write_rows(f, name[2], BMC_I32, 0, mine, ijk, err);
    snprintf(name[2], sizeof name[2], "/voxels/%s/label", g->name);
    if (!rc) rc = bmc_h5_create_dataset(f, name[2], BMC_I32, 1, &n1, NULL, err);
    if (!rc) rc = bmc_h5_write_rows(f, name[2], BMC_I32, 0, mine, label, err);
    snprintf(name[2], sizeof name[2], "/voxels/%s/roi", g->name);
    if (!rc) rc = bmc_h5_create_dataset(f, name[2], BMC_I32, 1, &n1, NULL, err);
    if (!rc) rc = bmc_h5_write_rows(f, name[2], BMC_I32, 0, mine, roi, err);
    snprintf(name[2], sizeof name[2], "/voxels/%s", g->name);
    if (!rc) rc = bmc_h5_attr_set_str(f, name[2], "rois", g->rois, err);
    if (!rc)
        rc = bmc_h5_attr_set_i64(f, name[2], "within_nsdgeneral", g->within_nsdgeneral, err);
    if (!rc) rc = bmc_h5_attr_set_i64(f, name[2], "n_invalid_voxels", g->p - pg, err);
    free(ijk);
    free(label);
    free(roi);
    free(kept);
    return rc;
}

int fmri_write(bmc_stage *s, const fmri_params *p, const fmri_plan *plan,
               const fmri_ingest *in, const fmri_rows *rows, bmc_err *err) {
    bmc_h5 f;
    if (bmc_h5_create_as(&f, s->comm, p->out, BMC_FMT_FMRI, err)) return -1;
    hsize_t ntr = (hsize_t)rows->n_train, nte = (hsize_t)rows->n_test;
    int rc = bmc_h5_create_dataset(&f, "/train/image_ids", BMC_I64, 1, &ntr, NULL, err);
    if (!rc) rc = bmc_h5_create_dataset(&f, "/test/image_ids", BMC_I64, 1, &nte, NULL, err);
    if (!rc) rc = bmc_h5_create_dataset(&f, "/train/n_repeats", BMC_I32, 1, &ntr, NULL, err);
    if (!rc) rc = bmc_h5_create_dataset(&f, "/test/n_repeats", BMC_I32, 1, &nte, NULL, err);
    long r0 = rows->r0, r1 = rows->r0 + rows->nr, nt = rows->n_train;
    long a = r0 < nt ? r0 : nt, b = r1 < nt ? r1 : nt, c = r0 > nt ? r0 : nt,
         d = r1 > nt ? r1 : nt;
    if (!rc)
        rc = write_rows(&f, "/train/image_ids", BMC_I64, nt, a, b - a, rows->ids + a, err);
    if (!rc)
        rc = write_rows(&f, "/test/image_ids", BMC_I64, rows->n_test, c - nt, d - c,
                        rows->ids + c, err);
    if (!rc)
        rc = write_rows(&f, "/train/n_repeats", BMC_I32, nt, a, b - a, rows->n_repeats + a,
                        err);
    if (!rc)
        rc = write_rows(&f, "/test/n_repeats", BMC_I32, rows->n_test, c - nt, d - c,
                        rows->n_repeats + c, err);
    /* One buffer for every group's rows (big outputs: page faults cost on fresh memory). */
    long widest = 1;
    for (size_t i = 0; i < plan->n_groups; i++)
        if (plan->groups[i].p > widest) widest = plan->groups[i].p;
    float *m = XNEW(m, (size_t)(rows->nr ? rows->nr : 1) * (size_t)widest);
    for (size_t i = 0; i < plan->n_groups && !rc; i++)
        rc = write_group(s, plan, &plan->groups[i], in, rows, m, &f, err);
    free(m);
    if (!rc) rc = write_attributes(s, p, plan, in, &f, err);
    if (!rc) rc = bmc_h5_commit(&f, err);
    if (rc) bmc_h5_discard(&f);
    return rc;
}
