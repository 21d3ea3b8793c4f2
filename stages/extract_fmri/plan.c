/* plan.c — the resolved plan of bmc-extract-fmri (see plan.h): sessions, trials → images
 * (from nsd_expdesign.mat), the header of every betas file, the stimuli check; then the
 * broadcast of rank 0's plan to every rank.
 *
 * NSD conventions used: session s (1-based) holds trials (s−1)·T … s·T−1 of masterordering,
 * with T the trials per session of the betas files; trial t shows stimulus
 * subjectim[subject, masterordering[t]] (1-based, so the 0-based id is that − 1); it is a
 * shared (test) image when masterordering[t] ≤ length(sharedix). Not here: ROI groups
 * (rois.c), reading betas (ingest.c).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fingerprint.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "nsd.h"
#include "plan.h"
#include "rois.h"

void fmri_plan_add_file(fmri_plan *plan, const char *path) {
    plan->files = xrealloc(plan->files, (plan->n_files + 1) * sizeof *plan->files);
    plan->files[plan->n_files++] = xstrdup(path);
}

char *fmri_plan_betas_path(const fmri_params *p, const fmri_plan *plan, long si) {
    return nsd_betas_path(p->nsd_root, p->subject, plan->sessions[si]);
}

/* Declare one file of nsd_root and free its path. */
static void declare(const bmc_stage *s, char *path) {
    bmc_stage_declare_read(s, "nsd_root", path);
    free(path);
}

/* Declare ROI file `name` (as nsd_roi_path finds it) and its label table when present. */
static void declare_roi(const bmc_stage *s, const fmri_params *p, const char *name) {
    declare(s, nsd_roi_path(p->nsd_root, p->subject, name));
    char *ctab = nsd_ctab_path(p->nsd_root, p->subject, name);
    if (bmc_path_exists(ctab)) bmc_stage_declare_read(s, "nsd_root", ctab);
    free(ctab);
}

void fmri_declare_reads(const bmc_stage *s, const fmri_params *p) {
    declare(s, nsd_design_path(p->nsd_root));
    declare(s, nsd_stimuli_path(p->nsd_root));
    int need_general = 0;
    for (size_t i = 0; i < p->n_groups; i++) need_general |= p->groups[i].within_nsdgeneral;
    if (need_general) declare_roi(s, p, "nsdgeneral");
    for (size_t i = 0; i < p->n_groups; i++)
        for (size_t j = 0; j < p->groups[i].n_rois; j++) {
            const char *file = p->groups[i].rois[j].file;
            int seen = !strcmp(file, "nsdgeneral") && need_general;
            for (size_t a = 0; a <= i && !seen; a++)
                for (size_t b = 0; b < (a == i ? j : p->groups[a].n_rois) && !seen; b++)
                    seen = !strcmp(p->groups[a].rois[b].file, file);
            if (!seen) declare_roi(s, p, file);
        }
    for (int k = 0; k < p->n_sessions; k++)
        declare(s, nsd_betas_path(p->nsd_root, p->subject, p->sessions[k]));
    for (int session = 1; p->n_sessions == 0 && session <= 99; session++) {
        char *path = nsd_betas_path(p->nsd_root, p->subject, session);
        int present = bmc_path_exists(path);
        if (present || session == 1) bmc_stage_declare_read(s, "nsd_root", path);
        free(path);
        if (!present) break;
    }
}

/* The sessions to use: the configured list (every file must exist), or every file present
 * from session 1 on. */
static int resolve_sessions(const fmri_params *p, fmri_plan *plan, bmc_err *err) {
    if (p->n_sessions > 0) {
        plan->n_sessions = p->n_sessions;
        plan->sessions = XNEW(plan->sessions, p->n_sessions);
        for (int i = 0; i < p->n_sessions; i++) {
            plan->sessions[i] = p->sessions[i];
            char *path = nsd_betas_path(p->nsd_root, p->subject, p->sessions[i]);
            int ok = bmc_path_exists(path);
            if (!ok)
                bmc_err_set(err, "list only sessions that exist for this subject (NSD: 30 to 40)",
                            "missing session file %s (session %d of subject %02d)", path,
                            p->sessions[i], p->subject);
            free(path);
            if (!ok) return -1;
        }
        return 0;
    }
    plan->sessions = XNEW(plan->sessions, 99);
    for (int s = 1; s <= 99; s++) {
        char *path = nsd_betas_path(p->nsd_root, p->subject, s);
        int ok = bmc_path_exists(path);
        if (!ok && s == 1)
            bmc_err_set(err, "check nsd_root and subject; NSD keeps betas in "
                             "nsddata_betas/ppdata/subjXX/func1pt8mm/betas_fithrf_GLMdenoise_RR/",
                        "missing session file %s: subject %02d has no betas", path, p->subject);
        free(path);
        if (!ok) break;
        plan->sessions[plan->n_sessions++] = s;
    }
    return plan->n_sessions ? 0 : -1;
}

/* Open every session file's /betas: all must have the ROI grid and the same trial count. */
static int check_betas(const fmri_params *p, fmri_plan *plan, const char *grid_file,
                       bmc_err *err) {
    for (long si = 0; si < plan->n_sessions; si++) {
        char *path = fmri_plan_betas_path(p, plan, si);
        nsd_betas b;
        int rc = nsd_betas_open(path, &b, err);
        if (!rc) rc = nsd_betas_check_grid(&b, plan->grid, grid_file, err);
        if (!rc && si == 0) plan->trials_per_session = b.dims[0];
        if (!rc && b.dims[0] != plan->trials_per_session)
            rc = bmc_err_set(err, "every session of a subject has the same number of trials "
                                  "(NSD: 750)",
                             "%s:/betas has %ld trials, but session %d has %ld", path,
                             b.dims[0], plan->sessions[0], plan->trials_per_session);
        if (!rc && b.dims[0] < 1) rc = bmc_err_set(err, NULL, "%s:/betas has no trials", path);
        if (b.fid >= 0) nsd_betas_close(&b);
        free(path);
        if (rc) return -1;
    }
    return 0;
}

typedef struct id_flag { int64_t id; int shared; } id_flag;

static int cmp_id_flag(const void *a, const void *b) {
    const id_flag *x = a, *y = b;
    if (x->id != y->id) return (x->id > y->id) - (x->id < y->id);
    return x->shared - y->shared;
}

/* Trials → images, the design's coverage and the stimuli check. */
static int resolve_trials(const fmri_params *p, const nsd_design *d, const char *design_path,
                          fmri_plan *plan, bmc_err *err) {
    long T = plan->trials_per_session;
    long last = plan->sessions[plan->n_sessions - 1];
    if (last * T > d->n_order)
        return bmc_err_set(err, "the design and the betas files must belong together (NSD: 750 "
                                "trials per session, 30000 in masterordering)",
                           "%s covers %ld trials, but session %ld with %ld trials per session "
                           "needs %ld",
                           design_path, d->n_order, last, T, last * T);
    plan->stimuli_path = nsd_stimuli_path(p->nsd_root);
    if (nsd_h5_rows(plan->stimuli_path, p->dataset, &plan->n_stimuli, err)) return -1;
    plan->n_trials = plan->n_sessions * T;
    plan->image = XNEW(plan->image, plan->n_trials);
    plan->shared = XNEW(plan->shared, plan->n_trials);
    const int64_t *row = d->subjectim + (size_t)(p->subject - 1) * (size_t)d->n_images;
    for (long k = 0; k < plan->n_trials; k++) {
        long session = plan->sessions[k / T], t = (session - 1) * T + k % T;
        int64_t col = d->order[t]; /* 1..n_images, checked by the reader */
        int64_t id = row[col - 1] - 1;
        if (id < 0 || id >= plan->n_stimuli)
            return bmc_err_set(err, "use the stimuli file that belongs to this design (NSD: "
                                    "73000 images)",
                               "the design %s names image %lld (subjectim(%d,%lld) = %lld; "
                               "trial %ld of session %ld), which the stimuli file %s lacks: "
                               "its /%s has %ld images",
                               design_path, (long long)id, p->subject, (long long)col,
                               (long long)id + 1, k % T + 1, session, plan->stimuli_path,
                               p->dataset, plan->n_stimuli);
        plan->image[k] = id;
        plan->shared[k] = col <= d->n_shared;
    }
    /* An image is either shared or not, whatever trial shows it. */
    id_flag *f = XNEW(f, plan->n_trials);
    for (long k = 0; k < plan->n_trials; k++) f[k] = (id_flag){plan->image[k], plan->shared[k]};
    qsort(f, (size_t)plan->n_trials, sizeof *f, cmp_id_flag);
    int rc = 0;
    for (long k = 1; k < plan->n_trials && !rc; k++)
        if (f[k].id == f[k - 1].id && f[k].shared != f[k - 1].shared)
            rc = bmc_err_set(err, "shared images are subjectim columns 1..length(sharedix)",
                             "%s: image %lld is shown both as a shared and as a non-shared "
                             "image of subject %d",
                             design_path, (long long)f[k].id, p->subject);
    free(f);
    return rc;
}

int fmri_plan_build(const fmri_params *p, fmri_plan *plan, bmc_err *err) {
    memset(plan, 0, sizeof *plan);
    plan->subject = p->subject;
    char *design_path = nsd_design_path(p->nsd_root), *grid_file = NULL;
    nsd_design d;
    int rc = nsd_design_read(design_path, &d, err);
    if (!rc) fmri_plan_add_file(plan, design_path);
    if (!rc && p->subject > d.n_subjects)
        rc = bmc_err_set(err, "choose a subject the design has (NSD: 1..8)",
                         "subject %d is not in the design %s: its subjectim has %ld subject%s",
                         p->subject, design_path, d.n_subjects, d.n_subjects == 1 ? "" : "s");
    if (!rc) rc = resolve_sessions(p, plan, err);
    if (!rc) rc = fmri_rois_resolve(p, plan, &grid_file, err);
    if (!rc) rc = check_betas(p, plan, grid_file, err);
    if (!rc) rc = resolve_trials(p, &d, design_path, plan, err);
    plan->files_sha256 = xcalloc(plan->n_files ? plan->n_files : 1, sizeof *plan->files_sha256);
    for (size_t i = 0; i < plan->n_files && !rc; i++) {
        plan->files_sha256[i] = xmalloc(BMC_SHA256_HEX);
        rc = bmc_sha256_path(plan->files[i], plan->files_sha256[i], err);
    }
    if (!rc && !d.n_shared)
        bmc_log_warn("%s: sharedix is empty, so there is no test set", design_path);
    if (d.order) nsd_design_free(&d);
    free(design_path);
    free(grid_file);
    return rc;
}

/* ---- broadcast ------------------------------------------------------------------------ */

typedef struct packbuf {
    unsigned char *data;
    size_t len, cap, pos;
} packbuf;

static void put(packbuf *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = xrealloc(b->data, b->cap);
    }
    if (n) memcpy(b->data + b->len, src, n);
    b->len += n;
}

static void get(packbuf *b, void *dst, size_t n) {
    BMC_CHECK(b->pos + n <= b->len);
    if (n) memcpy(dst, b->data + b->pos, n);
    b->pos += n;
}

/* An array of n elements: packed as is, unpacked into a fresh allocation. */
static void *xfer(packbuf *b, int packing, void *a, size_t n, size_t elem) {
    if (packing) {
        put(b, a, n * elem);
        return a;
    }
    void *out = xmalloc(bmc_mul_size(n ? n : 1, elem));
    get(b, out, n * elem);
    return out;
}

static char *xfer_str(packbuf *b, int packing, char *s) {
    uint64_t n = packing ? strlen(s) + 1 : 0;
    if (packing) put(b, &n, sizeof n);
    else get(b, &n, sizeof n);
    return xfer(b, packing, s, (size_t)n, 1);
}

/* Pack (rank 0) or unpack (others) every field, in one order. */
static void pack_plan(packbuf *b, int packing, fmri_plan *pl) {
#define SCALAR(x) (packing ? put(b, &(x), sizeof(x)) : get(b, &(x), sizeof(x)))
    SCALAR(pl->subject);
    SCALAR(pl->grid);
    SCALAR(pl->n_sessions);
    SCALAR(pl->trials_per_session);
    SCALAR(pl->n_trials);
    SCALAR(pl->n_stimuli);
    SCALAR(pl->n_vox);
    SCALAR(pl->n_groups);
    SCALAR(pl->n_files);
    pl->sessions = xfer(b, packing, pl->sessions, (size_t)pl->n_sessions, sizeof *pl->sessions);
    pl->image = xfer(b, packing, pl->image, (size_t)pl->n_trials, sizeof *pl->image);
    pl->shared = xfer(b, packing, pl->shared, (size_t)pl->n_trials, 1);
    pl->vox = xfer(b, packing, pl->vox, (size_t)pl->n_vox, sizeof *pl->vox);
    pl->stimuli_path = xfer_str(b, packing, pl->stimuli_path);
    if (!packing) {
        pl->groups = xcalloc(pl->n_groups, sizeof *pl->groups);
        pl->files = xcalloc(pl->n_files ? pl->n_files : 1, sizeof *pl->files);
        pl->files_sha256 = xcalloc(pl->n_files ? pl->n_files : 1, sizeof *pl->files_sha256);
    }
    for (size_t i = 0; i < pl->n_groups; i++) {
        fmri_group *g = &pl->groups[i];
        SCALAR(g->within_nsdgeneral);
        SCALAR(g->p);
        g->name = xfer_str(b, packing, g->name);
        g->rois = xfer_str(b, packing, g->rois);
        g->col = xfer(b, packing, g->col, (size_t)g->p, sizeof *g->col);
        g->label = xfer(b, packing, g->label, (size_t)g->p, sizeof *g->label);
        g->roi = xfer(b, packing, g->roi, (size_t)g->p, sizeof *g->roi);
    }
    for (size_t i = 0; i < pl->n_files; i++) {
        pl->files[i] = xfer_str(b, packing, pl->files[i]);
        pl->files_sha256[i] = xfer_str(b, packing, pl->files_sha256[i]);
    }
#undef SCALAR
}

void fmri_plan_bcast(fmri_plan *plan, MPI_Comm comm) {
    int rank;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    packbuf b = {0};
    if (rank == 0) pack_plan(&b, 1, plan);
    uint64_t len = b.len;
    BMC_MPI(MPI_Bcast(&len, 1, MPI_UINT64_T, 0, comm));
    if (rank != 0) {
        b.data = xmalloc(len ? len : 1);
        b.len = b.cap = len;
    }
    for (uint64_t off = 0; off < len; off += (uint64_t)1 << 30) { /* MPI counts are int */
        uint64_t n = len - off < ((uint64_t)1 << 30) ? len - off : (uint64_t)1 << 30;
        BMC_MPI(MPI_Bcast(b.data + off, (int)n, MPI_BYTE, 0, comm));
    }
    if (rank != 0) {
        memset(plan, 0, sizeof *plan);
        pack_plan(&b, 0, plan);
        BMC_CHECK(b.pos == b.len);
    }
    free(b.data);
}

void fmri_plan_free(fmri_plan *plan) {
    for (size_t i = 0; i < plan->n_groups; i++) {
        fmri_group *g = &plan->groups[i];
        free(g->name);
        free(g->rois);
        free(g->col);
        free(g->label);
        free(g->roi);
    }
    for (size_t i = 0; i < plan->n_files; i++) {
        free(plan->files[i]);
        if (plan->files_sha256) free(plan->files_sha256[i]);
    }
    free(plan->files);
    free(plan->files_sha256);
    free(plan->groups);
    free(plan->sessions);
    free(plan->image);
    free(plan->shared);
    free(plan->vox);
    free(plan->stimuli_path);
    memset(plan, 0, sizeof *plan);
}
