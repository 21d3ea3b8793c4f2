/* brain.c — `bmc-synth brain`: a complete synthetic NSD tree (docs/FORMATS.md "NSD's own
 * files") for S subjects whose voxels respond to the images' CLIP features.
 *
 * This file: the command line, the parameters and every input check (all before anything is
 * written), the experimental design, and the run. Rules of the design:
 *  - images: a seeded permutation of the N stimuli; its first `shared_images` ids (sorted) are
 *    the shared test set (sharedix), the first columns of every subject's subjectim row. The
 *    other u = images_per_subject − shared ids of subject s are u consecutive entries of the
 *    rest of the permutation, starting at (s−1)·u and wrapping (disjoint across all 8 NSD
 *    subjects when 8·u ≤ N − shared, overlapping otherwise), sorted. Rows of subjects not
 *    synthesised are 0 in the .mat file.
 *  - repeats: the sessions × trials_per_session trials (one masterordering for all subjects,
 *    as in NSD) must number between images_per_subject and images_per_subject × repeats. Each
 *    image gets ⌊trials / images⌋ repeats and the first trials mod images images (the shared
 *    ones first) one more; the trial list is then shuffled with a seeded Fisher–Yates.
 *  - files: the tree is written into `<nsd_root>.partial/` (a stale one is removed first) and
 *    rank 0 renames it to nsd_root at the end (replacing an older nsd_root); a failed run
 *    removes the .partial folder. Betas files are written by all ranks collectively, session
 *    by session (each rank a block of trials), through bmc_h5io: they carry bmc's format
 *    (`bmc.synth-betas`) and provenance attributes, which NSD readers ignore. Rank 0 writes the
 *    NIfTI, MATLAB, CSV and ctab files and copies the stimuli.
 * Not here: the voxel model (brain_model.c), the non-HDF5 writers (brain_write.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_grid.h"
#include "bmc_h5io.h"
#include "bmc_log.h"
#include "bmc_stage.h"
#include "brain.h"

static const char brain_usage[] =
    "usage: bmc-synth brain --config STAGE.yaml\n"
    "\n"
    "Writes a synthetic NSD tree (betas per session, ROI NIfTI files, ncsnr, nsd_expdesign.mat,\n"
    "nsd_stim_info_merged.csv, the stimuli, ctabs) whose voxels respond to CLIP features:\n"
    "prf-visualrois voxels to CLIP-Detail, floc voxels to CLIP-Semantic, other nsdgeneral\n"
    "voxels to a weak mix, through a low-rank encoding model with NSD-like noise. The model is\n"
    "saved as groundtruth/subjXX.h5.\n"
    "\n"
    "inputs:\n"
    "  stimuli             NSD-layout HDF5 with /imgBrick uint8 [N,H,W,3] (bmc-synth stimuli)\n"
    "  features            bmc.clip file of the same N images (bmc-extract-clip; /detail,\n"
    "                      /semantic, /image_ids)\n"
    "outputs:\n"
    "  nsd_root            the folder to write (via NAME.partial, renamed at the end)\n"
    "params:\n"
    "  subjects            NSD subject numbers 1..8 (default [1, 2])\n"
    "  images_per_subject  images each subject sees (default 120)\n"
    "  shared_images       images every subject sees, the test set (default 40)\n"
    "  sessions            scan sessions per subject (default 4)\n"
    "  trials_per_session  trials per session (default 90); sessions x trials_per_session\n"
    "                      must lie in [images_per_subject, images_per_subject x repeats]\n"
    "  repeats             most presentations of one image (default 3, as NSD)\n"
    "  grid                base grid [X, Y, Z] (default [20, 24, 18]); each subject's differs\n"
    "                      by up to 2 voxels per axis\n"
    "  rank                rank of the encoding model (default 4)\n"
    "  snr                 noise-ceiling SNR (ncsnr) of ROI voxels (default 0.6)\n"
    "  drift               per-session offset sd, in units of the noise sd (default 0.3)\n"
    "  invalid_fraction    fraction of brain voxels that are 0 in every trial of some\n"
    "                      session (default 0.01)\n"
    "  seed                random seed (default 0)\n";

void brain_rng(bmc_rng *g, uint64_t seed, int subject, int purpose, uint64_t index) {
    BMC_CHECK(index < ((uint64_t)1 << 48));
    bmc_rng_seed(g, seed ^ 0xB7A1C5D3E9F20461ull,
                   ((uint64_t)subject << 56) | ((uint64_t)purpose << 48) | index);
}

/* ---- parameters ------------------------------------------------------------------------ */

/* Read the integer list `key` of `map` into out[0..*n): absent → def[0..n_def); each item in
 * [lo, hi]; exact_n > 0 demands that many items, else 1..max_n. 0 or -1. */
static int read_int_list(const bmc_cfg_node *map, const char *key, const long *def, int n_def,
                         int exact_n, int max_n, long lo, long hi, long *out, int *n,
                         bmc_err *err) {
    const bmc_cfg_node *v = bmc_cfg_get(map, key);
    if (!v) {
        for (int i = 0; i < n_def; i++) out[i] = def[i];
        *n = n_def;
        return 0;
    }
    if (v->type != BMC_CFG_SEQ || v->n == 0 || (exact_n > 0 && v->n != (size_t)exact_n) ||
        (exact_n <= 0 && v->n > (size_t)max_n)) {
        if (exact_n > 0)
            return bmc_cfg_error_at(v, err, "write it as a list, e.g. [20, 24, 18]",
                                    "bmc-synth brain params: '%s' must be a list of %d integers",
                                    key, exact_n);
        return bmc_cfg_error_at(v, err, "write it as a list, e.g. [1, 2]",
                                "bmc-synth brain params: '%s' must be a list of 1 to %d integers",
                                key, max_n);
    }
    for (size_t i = 0; i < v->n; i++) {
        const bmc_cfg_node *it = v->items[i];
        if (it->type != BMC_CFG_INT || it->v.i < lo || it->v.i > hi)
            return bmc_cfg_error_at(it, err, NULL,
                                    "bmc-synth brain params: '%s' items must be integers in "
                                    "[%ld, %ld], got '%s'",
                                    key, lo, hi, it->text ? it->text : "a collection");
        out[i] = (long)it->v.i;
    }
    *n = (int)v->n;
    return 0;
}

/* The node to blame for a constraint between keys: the value of key, else the map. */
static const bmc_cfg_node *blame(const bmc_cfg_node *map, const char *key) {
    const bmc_cfg_node *v = bmc_cfg_get(map, key);
    return v ? v : map;
}

static int read_params(const bmc_stage *s, brain_params *p, bmc_err *err) {
    static const bmc_param_key keys[] = {
        {"subjects", 0}, {"images_per_subject", 0}, {"shared_images", 0}, {"sessions", 0},
        {"trials_per_session", 0}, {"repeats", 0}, {"grid", 0},           {"rank", 0},
        {"snr", 0},      {"drift", 0},              {"invalid_fraction", 0}, {"seed", 0}};
    const bmc_cfg_node *m = s->params;
    if (bmc_stage_check_params(s, keys, sizeof keys / sizeof *keys, "bmc-synth brain params", err))
        return -1;
    static const long def_subjects[] = {1, 2}, def_grid[] = {20, 24, 18};
    long subj[BRAIN_MAX_SUBJECTS];
    int n = 0, ng = 0;
    if (read_int_list(m, "subjects", def_subjects, 2, 0, BRAIN_MAX_SUBJECTS, 1, 8, subj, &n, err))
        return -1;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            if (subj[i] == subj[j])
                return bmc_cfg_error_at(blame(m, "subjects"), err, "list each subject once",
                                        "bmc-synth brain params: 'subjects' lists subject %ld twice",
                                        subj[i]);
        p->subjects[i] = (int)subj[i];
    }
    p->n_subjects = n;
    if (read_int_list(m, "grid", def_grid, 3, 3, 3, 10, 256, p->grid, &ng, err)) return -1;
    long long v[6];
    double snr, drift, inv;
    long long seed;
    if (bmc_cfg_int(m, "images_per_subject", 0, 120, 1, 1000000, &v[0], err) ||
        bmc_cfg_int(m, "shared_images", 0, 40, 1, 1000000, &v[1], err) ||
        bmc_cfg_int(m, "sessions", 0, 4, 1, 99, &v[2], err) ||
        bmc_cfg_int(m, "trials_per_session", 0, 90, 1, 100000, &v[3], err) ||
        bmc_cfg_int(m, "repeats", 0, 3, 1, 100, &v[4], err) ||
        bmc_cfg_int(m, "rank", 0, 4, 1, 256, &v[5], err) ||
        bmc_cfg_double(m, "snr", 0, 0.6, 1e-3, 100.0, &snr, err) ||
        bmc_cfg_double(m, "drift", 0, 0.3, 0.0, 100.0, &drift, err) ||
        bmc_cfg_double(m, "invalid_fraction", 0, 0.01, 0.0, 0.5, &inv, err) ||
        bmc_cfg_int(m, "seed", 0, 0, 0, (long long)1 << 53, &seed, err))
        return -1;
    p->images_per_subject = (long)v[0];
    p->shared_images = (long)v[1];
    p->sessions = (long)v[2];
    p->trials_per_session = (long)v[3];
    p->repeats = (long)v[4];
    p->rank = (long)v[5];
    p->snr = snr;
    p->drift = drift;
    p->invalid_fraction = inv;
    p->seed = (uint64_t)seed;
    if (p->shared_images > p->images_per_subject)
        return bmc_cfg_error_at(blame(m, "shared_images"), err,
                                "the shared images are the first of each subject's images",
                                "bmc-synth brain params: shared_images (%ld) exceeds "
                                "images_per_subject (%ld)", p->shared_images, p->images_per_subject);
    long long trials = (long long)p->sessions * p->trials_per_session;
    if (trials < p->images_per_subject || trials > (long long)p->images_per_subject * p->repeats)
        return bmc_cfg_error_at(blame(m, "trials_per_session"), err,
                                "every image needs one trial and at most `repeats` trials: "
                                "choose sessions x trials_per_session in [images, images x repeats]",
                                "bmc-synth brain params: sessions x trials_per_session = %lld "
                                "trials do not fit %ld images shown 1..%ld times",
                                trials, p->images_per_subject, p->repeats);
    return 0;
}

/* ---- inputs ----------------------------------------------------------------------------- */

/* Collective: check both inputs and that they describe the same N images; leaves the features
 * file open in *ff and its /image_ids in *ids. Agreed status. */
static int open_inputs(const char *stim_path, const char *feat_path, bmc_h5 *ff, int64_t **ids,
                       long *n_out, MPI_Comm comm, bmc_err *err) {
    bmc_h5 sf;
    bmc_dtype t;
    int nd;
    hsize_t dims[BMC_H5_MAXDIMS];
    if (bmc_h5_open(&sf, comm, stim_path, NULL, 0, err)) return -1;
    int rc = bmc_h5_dataset_info(&sf, "/imgBrick", &t, &nd, dims, err);
    bmc_h5_close(&sf);
    if (rc) return -1;
    if (nd != 4 || dims[3] != 3 || t != BMC_U8 || dims[0] == 0) {
        bmc_err_set(err, "give an NSD-layout stimuli file (bmc-synth stimuli writes one)",
                    "%s:/imgBrick: expected uint8 [N, H, W, 3] with N > 0, found %s with %d dimensions",
                    stim_path, bmc_dtype_name(t), nd);
        return bmc_err_agree(comm, err) ? -1 : 0;
    }
    long n = (long)dims[0];
    if (bmc_h5_open_as(ff, comm, feat_path, BMC_FMT_CLIP, err)) return -1;
    static const char *const groups[] = {"/detail", "/semantic"};
    hsize_t t_tokens = 0;
    for (int g = 0; g < 2 && !rc; g++) {
        rc = bmc_h5_dataset_info(ff, groups[g], &t, &nd, dims, err);
        if (!rc && (nd != 3 || (long)dims[0] != n || (g == 1 && dims[1] != t_tokens))) {
            bmc_err_set(err, "extract the features of the same stimuli file with outputs [detail, semantic]",
                        "%s:%s: expected [%ld, T, W] (the stimuli file %s holds %ld images), found "
                        "%d dimensions with %llu rows",
                        feat_path, groups[g], n, stim_path, n, nd, (unsigned long long)dims[0]);
            rc = bmc_err_agree(comm, err) ? -1 : 0;
        }
        t_tokens = dims[1];
    }
    if (!rc) rc = bmc_h5_dataset_info(ff, "/image_ids", &t, &nd, dims, err);
    if (!rc && (nd != 1 || (long)dims[0] != n)) {
        bmc_err_set(err, "the features file is damaged: extract it again",
                    "%s:/image_ids: expected %ld ids", feat_path, n);
        rc = bmc_err_agree(comm, err) ? -1 : 0;
    }
    *ids = XNEW(*ids, n);
    if (!rc) rc = bmc_h5_read_rows(ff, "/image_ids", BMC_I64, 0, (hsize_t)n, *ids, err);
    if (!rc) {
        uint8_t *seen = xcalloc((size_t)n, 1);
        for (long i = 0; i < n && !err->failed; i++) {
            if ((*ids)[i] < 0 || (*ids)[i] >= n || seen[(*ids)[i]])
                bmc_err_set(err, "extract the features of every stimulus (no image_ids param)",
                            "%s:/image_ids: row %ld holds id %lld; the ids must be each of 0..%ld "
                            "once (the images of %s)",
                            feat_path, i, (long long)(*ids)[i], n - 1, stim_path);
            else
                seen[(*ids)[i]] = 1;
        }
        free(seen);
        rc = bmc_err_agree(comm, err) ? -1 : 0;
    }
    if (rc) bmc_h5_close(ff);
    *n_out = n;
    return rc;
}

/* ---- design ----------------------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Uniform integer in [0, n) from g. */
static long rng_below(bmc_rng *g, long n) {
    long k = (long)(bmc_rng_uniform(g) * (double)n);
    return k < n ? k : n - 1;
}

/* The design of the file header comment (local, identical on every rank). */
static void build_design(brain_design *d, const brain_params *p, long n_stimuli) {
    long ips = p->images_per_subject, ns = p->shared_images, u = ips - ns;
    d->n_stimuli = n_stimuli;
    d->n_trials = p->sessions * p->trials_per_session;
    int64_t *perm = XNEW(perm, n_stimuli);
    bmc_rng g;
    brain_rng(&g, p->seed, 0, BRAIN_RNG_SELECT, 0);
    for (long i = 0; i < n_stimuli; i++) perm[i] = i;
    for (long i = n_stimuli - 1; i > 0; i--) {
        long j = rng_below(&g, i + 1);
        int64_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    d->sharedix = XNEW(d->sharedix, ns);
    memcpy(d->sharedix, perm, (size_t)ns * sizeof *perm);
    qsort(d->sharedix, (size_t)ns, sizeof *d->sharedix, cmp_i64);
    const int64_t *pool = perm + ns;
    long n_pool = n_stimuli - ns;
    BMC_CHECK(u <= n_pool);
    d->subjectim = XNEW(d->subjectim, BRAIN_MAX_SUBJECTS * ips);
    for (long i = 0; i < BRAIN_MAX_SUBJECTS * ips; i++) d->subjectim[i] = -1;
    for (int k = 0; k < p->n_subjects; k++) {
        int s = p->subjects[k];
        int64_t *row = d->subjectim + (long)(s - 1) * ips;
        memcpy(row, d->sharedix, (size_t)ns * sizeof *row);
        for (long j = 0; j < u; j++) row[ns + j] = pool[((long)(s - 1) * u + j) % n_pool];
        qsort(row + ns, (size_t)u, sizeof *row, cmp_i64);
    }
    free(perm);

    long base = d->n_trials / ips, extra = d->n_trials % ips;
    d->n_repeats = XNEW(d->n_repeats, ips);
    d->masterordering = XNEW(d->masterordering, d->n_trials);
    long t = 0;
    for (long k = 0; k < ips; k++) {
        d->n_repeats[k] = (int)(base + (k < extra));
        for (int r = 0; r < d->n_repeats[k]; r++) d->masterordering[t++] = (int32_t)(k + 1);
    }
    BMC_CHECK(t == d->n_trials);
    d->max_repeats = (int)(base + (extra > 0));
    brain_rng(&g, p->seed, 0, BRAIN_RNG_ORDER, 0);
    for (long i = d->n_trials - 1; i > 0; i--) {
        long j = rng_below(&g, i + 1);
        int32_t tmp = d->masterordering[i];
        d->masterordering[i] = d->masterordering[j];
        d->masterordering[j] = tmp;
    }
}

static void design_free(brain_design *d) {
    free(d->masterordering);
    free(d->subjectim);
    free(d->sharedix);
    free(d->n_repeats);
}

/* ---- the run ---------------------------------------------------------------------------- */

/* Provenance of every HDF5 file of the tree, with the inputs hashed once (rank 0). */
typedef struct brain_prov {
    bmc_provenance p;
    char created_by[256];
    const char *paths[2];
    char sha[2][BMC_SHA256_HEX];
    const char *shap[2];
} brain_prov;

static int prov_build(brain_prov *bp, bmc_stage *s, const char *stim, const char *feat,
                      bmc_err *err) {
    memset(bp, 0, sizeof *bp);
    bp->paths[0] = stim;
    bp->paths[1] = feat;
    for (int i = 0; i < 2; i++) {
        bp->shap[i] = bp->sha[i];
        if (s->rank == 0 && !err->failed) bmc_sha256_path(bp->paths[i], bp->sha[i], err);
    }
    if (bmc_err_agree(s->comm, err)) return -1;
    BMC_MPI(MPI_Bcast(bp->sha, 2 * BMC_SHA256_HEX, MPI_CHAR, 0, s->comm));
    bmc_stage_version_string(s->program, bp->created_by, sizeof bp->created_by);
    bp->p = (bmc_provenance){.created_by = bp->created_by,
                             .config_sha256 = s->params_sha256,
                             .stage_fingerprint = s->fingerprint,
                             .n_inputs = 2,
                             .input_paths = bp->paths,
                             .input_sha256 = bp->shap};
    return 0;
}

/* Collective: on an agreed error, rank 0 removes the partial tree (when it is one of ours);
 * then every rank exits. */
static void fail_if_any(bmc_stage *s, bmc_err *err, const char *partial) {
    if (!bmc_err_agree(s->comm, err)) return;
    bmc_stage_folder_discard(s, partial);
    bmc_err_exit_if_any(s->comm, err);
}

/* Rank 0: make `root/rel` (mkdir -p); returns the heap path, NULL after an error. */
static char *make_dir(const char *root, const char *rel, bmc_err *err) {
    char *path = bmc_path_join(root, rel);
    if (bmc_mkdir_p(path, err)) {
        free(path);
        return NULL;
    }
    return path;
}

/* Collective: write one subject's ROI files, ground truth and betas. */
static void write_subject(bmc_stage *s, const brain_prov *bp, const char *root, int subject,
                          const brain_params *p, const brain_design *d, const brain_features *bf,
                          bmc_progress *prog, long *sessions_done, bmc_err *err) {
    brain_subject sub;
    brain_subject_build(&sub, subject, p, d, bf);
    bmc_log_info("subj%02d: grid %dx%dx%d, %ld brain voxels, %ld invalid", subject, sub.dims[0],
                 sub.dims[1], sub.dims[2], sub.n_brain, sub.n_invalid);
    char rel[256];
    if (s->rank == 0) {
        snprintf(rel, sizeof rel, "nsddata/ppdata/subj%02d/func1pt8mm/roi", subject);
        char *roi_dir = make_dir(root, rel, err);
        snprintf(rel, sizeof rel, "nsddata/freesurfer/subj%02d/label", subject);
        char *label_dir = roi_dir ? make_dir(root, rel, err) : NULL;
        snprintf(rel, sizeof rel, "nsddata_betas/ppdata/subj%02d/func1pt8mm/betas_fithrf_GLMdenoise_RR",
                 subject);
        char *betas_dir = label_dir ? make_dir(root, rel, err) : NULL;
        if (betas_dir) {
            char *func_dir = bmc_dirname(roi_dir);
            brain_write_nifti_rois(&sub, func_dir, label_dir, err);
            free(func_dir);
        }
        free(roi_dir);
        free(label_dir);
        free(betas_dir);
    }
    if (bmc_err_agree(s->comm, err)) {
        brain_subject_free(&sub);
        return;
    }
    snprintf(rel, sizeof rel, "groundtruth/subj%02d.h5", subject);
    char *path = bmc_path_join(root, rel);
    int rc = brain_write_groundtruth(s->comm, &bp->p, path, &sub, p, d, bf, err);
    free(path);

    long row0, nrows, tps = p->trials_per_session;
    bmc_rowblock(tps, s->size, s->rank, &row0, &nrows);
    int16_t *slab = XNEW(slab, bmc_mul_size((size_t)(nrows > 0 ? nrows : 1), sub.n_grid));
    for (long ses = 0; ses < p->sessions && !rc; ses++) {
        snprintf(rel, sizeof rel,
                 "nsddata_betas/ppdata/subj%02d/func1pt8mm/betas_fithrf_GLMdenoise_RR/"
                 "betas_session%02ld.hdf5", subject, ses + 1);
        path = bmc_path_join(root, rel);
        bmc_h5 f;
        rc = bmc_h5_create(&f, s->comm, path, "bmc.synth-betas", 1, err);
        free(path);
        if (rc) break;
        hsize_t dims[4] = {(hsize_t)tps, (hsize_t)sub.dims[2], (hsize_t)sub.dims[1],
                           (hsize_t)sub.dims[0]};
        rc = bmc_h5_create_dataset(&f, "/betas", BMC_I16, 4, dims, NULL, err);
        if (!rc) rc = bmc_h5_write_provenance(&f, &bp->p, err);
        if (!rc) rc = bmc_h5_attr_set_i64(&f, "/", "subject", subject, err);
        if (!rc) rc = bmc_h5_attr_set_i64(&f, "/", "session", ses + 1, err);
        if (!rc) {
            if (nrows > 0) brain_betas(&sub, p, d, ses * tps + row0, nrows, slab);
            rc = bmc_h5_write_rows(&f, "/betas", BMC_I16, (hsize_t)(nrows > 0 ? row0 : 0),
                                   (hsize_t)nrows, slab, err);
        }
        if (!rc) rc = bmc_h5_commit(&f, err);
        else bmc_h5_discard(&f);
        if (s->rank == 0 && !rc) bmc_progress_update(prog, ++*sessions_done);
    }
    free(slab);
    brain_subject_free(&sub);
}

int synth_brain_main(int argc, char **argv) {
    bmc_stage s;
    bmc_stage_begin(&s, argc, argv, "bmc-synth brain", brain_usage);
    bmc_err err = {0};
    brain_params p;
    memset(&p, 0, sizeof p);
    static const char *const ins[] = {"stimuli", "features"}, *const outs[] = {"nsd_root"};
    const char *stim = NULL, *feat = NULL, *root = NULL;
    if (!bmc_stage_check_names(&s, ins, 2, outs, 1, &err)) {
        stim = bmc_stage_input(&s, "stimuli", &err);
        if (stim) feat = bmc_stage_input(&s, "features", &err);
        if (feat) root = bmc_stage_output(&s, "nsd_root", &err);
    }
    if (!err.failed) read_params(&s, &p, &err);
    bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_checked(&s);

    /* Inputs, then the constraints that need N; nothing is written before this passes. */
    bmc_h5 ff;
    int64_t *ids = NULL;
    long n = 0;
    if (open_inputs(stim, feat, &ff, &ids, &n, s.comm, &err)) {
        free(ids);
        bmc_err_exit_if_any(s.comm, &err);
    }
    if (p.images_per_subject > n)
        bmc_cfg_error_at(blame(s.params, "images_per_subject"), &err,
                         "use at most as many images as the stimuli file holds",
                         "bmc-synth brain params: images_per_subject (%ld) exceeds the %ld images of %s",
                         p.images_per_subject, n, stim);
    if (bmc_err_agree(s.comm, &err)) {
        bmc_h5_close(&ff);
        free(ids);
        bmc_err_exit_if_any(s.comm, &err);
    }
    brain_features bf;
    brain_features_build(&bf, &ff, ids, n, &p, &err);
    bmc_h5_close(&ff);
    free(ids);
    bmc_err_exit_if_any(s.comm, &err);
    brain_design d;
    build_design(&d, &p, n);
    brain_prov bp;
    prov_build(&bp, &s, stim, feat, &err);
    bmc_err_exit_if_any(s.comm, &err);
    bmc_log_info("%d subjects x %ld sessions x %ld trials of %ld images (%ld shared) from %ld stimuli",
                 p.n_subjects, p.sessions, p.trials_per_session, p.images_per_subject,
                 p.shared_images, n);

    /* The tree, in root.partial. */
    char *partial = NULL;
    if (bmc_stage_folder_begin(&s, root, &partial, &err) != 0) fail_if_any(&s, &err, NULL);
    if (s.rank == 0) {
        char *dir = make_dir(partial, "nsddata/experiments/nsd", &err);
        char *sdir = dir ? make_dir(partial, "nsddata_stimuli/stimuli/nsd", &err) : NULL;
        char *gdir = sdir ? make_dir(partial, "groundtruth", &err) : NULL;
        if (gdir) {
            char *f1 = bmc_path_join(dir, "nsd_expdesign.mat");
            char *f2 = bmc_path_join(dir, "nsd_stim_info_merged.csv");
            char *f3 = bmc_path_join(sdir, "nsd_stimuli.hdf5");
            if (!brain_write_expdesign(f1, &p, &d, &err) && !brain_write_stim_info(f2, &p, &d, &err))
                brain_copy_file(stim, f3, &err);
            free(f1);
            free(f2);
            free(f3);
        }
        free(dir);
        free(sdir);
        free(gdir);
    }
    fail_if_any(&s, &err, partial);

    bmc_progress prog;
    long done = 0;
    bmc_progress_start(&prog, "brain", "sessions", (long)p.n_subjects * p.sessions);
    for (int k = 0; k < p.n_subjects; k++) {
        write_subject(&s, &bp, partial, p.subjects[k], &p, &d, &bf, &prog, &done, &err);
        fail_if_any(&s, &err, partial);
    }
    if (s.rank == 0) bmc_progress_finish(&prog, done);

    bmc_stage_folder_commit(&s, root, partial, &err);
    fail_if_any(&s, &err, partial);
    bmc_log_info("wrote %s", root);
    free(partial);
    design_free(&d);
    brain_features_free(&bf);
    bmc_stage_end(&s);
    return 0;
}
