/* inputs.c — the eval files of a run, checked to belong together before anything is written:
 * format and version, each file's fingerprint against the instance of the run that writes
 * that path (a file of another run or made by hand is foreign), no duplicated path or
 * subject pair, every eval output of the run present, one evaluation image set, one cohort,
 * one set of metric settings; then the per-image and per-draw arrays, read on every rank.
 * Predictions and montages are matched to their eval by the instance that wrote them.
 * Not here: the models (models.c), the maps (maps.c), pipeline_info (runinfo.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fs.h"

const char *const ag_branch_name[AG_N_BRANCH] = {"detail", "semantic", "fused"};

const ag_metric_info ag_metric[AG_N_METRIC] = {
    [AG_PEARSON] = {"pearson", "Pearson r", "Pearson r (mean over targets)", "pearson",
                    "pearson", AG_PER_TARGET, 1, ""},
    [AG_R2] = {"r2", "R²", "R² (mean over targets)", "r2", "r2", AG_PER_TARGET, 1, ""},
    [AG_COS_GLOBAL] = {"cosine_global", "Cosine (CLS)", "cosine similarity (first token)",
                       "cosine_global", "cosine_global", AG_PER_IMAGE, 1, ""},
    [AG_COS_ALL] = {"cosine_all", "Cosine (all)", "cosine similarity (all tokens)",
                    "cosine_all", "cosine_all", AG_PER_IMAGE, 1, ""},
    [AG_TWO_WAY] = {"two_way", "2-way ident.", "two-way identification (fraction)",
                    "two_way_per_image", "two_way", AG_PER_IMAGE, 1, ""},
    [AG_RET_B2I] = {"retrieval_brain_to_image", "Retrieval brain→image",
                    "top-1 accuracy, brain→image", "retrieval_image_hits",
                    "retrieval_image_mean", AG_PER_DRAW, 1, "MindEye bwd"},
    [AG_RET_I2B] = {"retrieval_image_to_brain", "Retrieval image→brain",
                    "top-1 accuracy, image→brain", "retrieval_brain_hits",
                    "retrieval_brain_mean", AG_PER_DRAW, 1, "MindEye fwd"},
    [AG_PIXCORR] = {"pixcorr", "PixCorr", "PixCorr (Pearson r of pixels)", "pixcorr", "pixcorr",
                    AG_PER_IMAGE, 1, "retrieval-based reconstruction"},
    [AG_SSIM] = {"ssim", "SSIM", "SSIM", "ssim", "ssim", AG_PER_IMAGE, 1,
                 "retrieval-based reconstruction"},
};

/* The per-draw accuracies dataset behind a hits dataset. */
static const char *draw_dataset(int k) {
    return k == AG_RET_B2I ? "retrieval_image" : "retrieval_brain";
}

/* ---- small readers (collective; every rank reads the whole dataset) ----------------- */

/* Shape check: dataset `name` exists with ndims dims equal to want[0..ndims) (want[d] < 0:
 * any). dims out. */
static int ds_shape(bmc_h5 *f, const char *name, int ndims, const long *want, hsize_t *dims,
                    bmc_err *err) {
    if (!bmc_h5_exists(f, name))
        return bmc_err_set(err, "rerun the evaluate stage with the current bmc-evaluate",
                           "%s: dataset %s is missing", f->path, name);
    bmc_dtype t;
    int nd;
    hsize_t d[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(f, name, &t, &nd, d, err)) return -1;
    int ok = nd == ndims;
    for (int i = 0; ok && i < nd; i++) ok = want[i] < 0 || d[i] == (hsize_t)want[i];
    if (!ok) {
        char got[96] = "", exp[96] = "";
        for (int i = 0; i < nd; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", i ? ", " : "",
                     (unsigned long long)d[i]);
        for (int i = 0; i < ndims; i++)
            snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%s%ld", i ? ", " : "", want[i]);
        return bmc_err_set(err, "the file is damaged or was not written by bmc-evaluate; rerun "
                           "the evaluate stage",
                           "%s: dataset %s has shape (%s), expected (%s)", f->path, name, got, exp);
    }
    for (int i = 0; i < nd && dims; i++) dims[i] = d[i];
    return 0;
}

/* A whole dataset of shape (n0) or (n0, n1) (n1 = 0: 1-D) into a heap buffer of type t. */
static void *read_whole(bmc_h5 *f, const char *name, bmc_dtype t, long n0, long n1,
                        bmc_err *err) {
    long want[2] = {n0, n1};
    if (ds_shape(f, name, n1 ? 2 : 1, want, NULL, err)) return NULL;
    size_t n = bmc_mul_size((size_t)n0, (size_t)(n1 ? n1 : 1));
    void *buf = xmalloc(bmc_mul_size(n ? n : 1, bmc_dtype_size(t)));
    if (bmc_h5_read_rows(f, name, t, 0, (hsize_t)n0, buf, err)) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int attr_str(bmc_h5 *f, const char *obj, const char *k, char *out, size_t n,
                    bmc_err *err) {
    char *v = NULL;
    if (bmc_h5_attr_get_str(f, obj, k, &v, err)) return -1;
    snprintf(out, n, "%s", v);
    free(v);
    return 0;
}

/* ---- one eval file ---------------------------------------------------------------------- */

typedef struct eval_head {      /* root attributes every file must share                */
    long m, way, draws, n_align, n_gallery;
    double fusion_weight;
    long long seed, align_seed;
    char gallery[32], ssim_mode[32];
} eval_head;

static int read_head(bmc_h5 *f, ag_eval *e, eval_head *h, bmc_err *err) {
    long long v[8];
    static const char *const keys[] = {"train_subject", "test_subject", "cross", "n_eval",
                                       "way", "draws", "n_align", "n_gallery"};
    for (int i = 0; i < 8; i++)
        if (bmc_h5_attr_get_i64(f, "/", keys[i], &v[i], err)) return -1;
    e->train = v[0], e->test = v[1], e->cross = (int)v[2];
    h->m = (long)v[3], h->way = (long)v[4], h->draws = (long)v[5];
    h->n_align = (long)v[6], h->n_gallery = (long)v[7];
    if (bmc_h5_attr_get_i64(f, "/", "seed", &h->seed, err) ||
        bmc_h5_attr_get_i64(f, "/", "align_seed", &h->align_seed, err) ||
        bmc_h5_attr_get_f64(f, "/", "fusion_weight", &h->fusion_weight, err) ||
        attr_str(f, "/", "rescale", e->rescale, sizeof e->rescale, err) ||
        attr_str(f, "/", "gallery", h->gallery, sizeof h->gallery, err) ||
        attr_str(f, "/", "ssim_mode", h->ssim_mode, sizeof h->ssim_mode, err) ||
        bmc_h5_attr_get_str(f, "/", "models", &e->models, err))
        return -1;
    if (h->m < 2 || h->way < 1 || h->way > h->m || h->draws < 1)
        return bmc_err_set(err, "rerun the evaluate stage", "%s: n_eval %ld, way %ld, draws %ld "
                           "are not a valid evaluation", f->path, h->m, h->way, h->draws);
    return 0;
}

/* The file's fingerprint must be the one the run gave the instance that writes this path. */
static int check_fingerprint(bmc_h5 *f, const char *path, const ag_runinfo *ri, char *fp,
                             size_t n, const char *what, bmc_err *err) {
    const ag_instance *in = ag_runinfo_producer(ri, path, NULL);
    if (!in)
        return bmc_err_set(err, "list only outputs of this run (pipeline_info/config_resolved.yaml "
                           "names them), or rerun the workflow that includes it",
                           "%s: foreign %s: no instance of run '%s' writes this path", path, what,
                           ri->run ? ri->run : "?");
    char *got = NULL;
    bmc_err tmp = {0};
    if (bmc_h5_attr_get_str(f, "/", "stage_fingerprint", &got, &tmp)) {
        return bmc_err_set(err, "it was made by hand or by another workflow; rerun the workflow "
                           "so that its instance writes it",
                           "%s: foreign %s: it has no stage_fingerprint (instance %s expects %.12s…)",
                           path, what, in->name, in->fingerprint);
    }
    int rc = 0;
    if (strcmp(got, in->fingerprint))
        rc = bmc_err_set(err, "rerun the workflow (bmc-workflow run) so every output is of this run",
                         "%s: foreign %s: its fingerprint %.12s… is not the fingerprint %.12s… "
                         "of instance %s in this run",
                         path, what, got, in->fingerprint, in->name);
    snprintf(fp, n, "%s", got);
    free(got);
    return rc;
}

/* Per-branch datasets and summaries. */
static int read_branch(bmc_h5 *f, const eval_head *h, int b, ag_branch *br, bmc_err *err) {
    char obj[64], name[160];
    snprintf(obj, sizeof obj, "/%s", ag_branch_name[b]);
    for (int k = 0; k < AG_N_METRIC; k++) {
        const ag_metric_info *mi = &ag_metric[k];
        if (mi->kind == AG_PER_TARGET && b == AG_FUSED) continue;
        snprintf(name, sizeof name, "%s/%s", obj, mi->dataset);
        if ((k == AG_PIXCORR || k == AG_SSIM) && !bmc_h5_exists(f, name)) continue;
        if (bmc_h5_attr_get_f64(f, obj, mi->attr, &br->point[k], err)) return -1;
        if (!isfinite(br->point[k]))
            return bmc_err_set(err, "rerun the evaluate stage", "%s: %s:%s is not finite",
                               f->path, obj, mi->attr);
        br->has[k] = 1;
        if (mi->kind == AG_PER_IMAGE) {
            double *v = read_whole(f, name, BMC_F64, h->m, 0, err);
            if (!v) return -1;
            br->per_image[k] = v;
            for (long i = 0; i < h->m; i++)
                if (!isfinite(v[i]))
                    return bmc_err_set(err, "rerun the evaluate stage",
                                       "%s: %s[%ld] is not finite", f->path, name, i);
        } else if (mi->kind == AG_PER_DRAW) {
            uint8_t *hit = read_whole(f, name, BMC_U8, h->draws, h->way, err);
            if (!hit) return -1;
            br->hits[k] = hit;
            char acc_name[160];
            snprintf(acc_name, sizeof acc_name, "%s/%s", obj, draw_dataset(k));
            double *acc = read_whole(f, acc_name, BMC_F64, h->draws, 0, err);
            if (!acc) return -1;
            for (long d = 0; d < h->draws && !err->failed; d++) {
                long s = 0;
                for (long j = 0; j < h->way; j++) s += hit[d * h->way + j];
                if ((double)s / (double)h->way != acc[d])
                    bmc_err_set(err, "the file is damaged; rerun the evaluate stage",
                                "%s: the hits of draw %ld in %s do not give %s[%ld] = %g",
                                f->path, d, name, acc_name, d, acc[d]);
            }
            free(acc);
            if (err->failed) return -1;
        }
    }
    if (b != AG_FUSED &&
        (attr_str(f, obj, "mapping", br->mapping, sizeof br->mapping, err) ||
         attr_str(f, obj, "y_dataset", br->y_dataset, sizeof br->y_dataset, err) ||
         bmc_h5_attr_get_i64(f, obj, "t", &br->t, err)))
        return -1;
    return 0;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static long find_id(const long long *ids, long n, long long id) {
    const long long *hit = bsearch(&id, ids, (size_t)n, sizeof *ids, cmp_ll);
    return hit ? (long)(hit - ids) : -1;
}

/* The first file fixes the image set and settings; later ones must agree. */
static int same_set(ag_set *set, const eval_head *h, const eval_head *h0, bmc_h5 *f,
                    const char *first, bmc_err *err) {
    const char *diff = NULL;
    if (h->m != h0->m) diff = "n_eval";
    else if (h->way != h0->way) diff = "way";
    else if (h->draws != h0->draws) diff = "draws";
    else if (h->seed != h0->seed) diff = "seed";
    else if (h->n_align != h0->n_align) diff = "n_align";
    else if (h->align_seed != h0->align_seed) diff = "align_seed";
    else if (h->n_gallery != h0->n_gallery) diff = "n_gallery";
    else if (h->fusion_weight != h0->fusion_weight) diff = "fusion_weight";
    else if (strcmp(h->gallery, h0->gallery)) diff = "gallery";
    else if (strcmp(h->ssim_mode, h0->ssim_mode)) diff = "ssim_mode";
    if (diff)
        return bmc_err_set(err, "aggregate evaluations of one run: give every evaluate instance "
                           "the same way, draws, seed, align_images, align_seed, fusion_weight, "
                           "gallery and ssim",
                           "%s: metric setting '%s' differs from %s", f->path, diff, first);
    static const char *const sets[] = {"/images/eval_ids", "/images/align_ids",
                                       "/images/gallery_ids"};
    long lens[] = {h->m, h->n_align, h->n_gallery};
    long long **keep[] = {&set->eval_ids, &set->align_ids, &set->gallery_ids};
    for (int i = 0; i < 3; i++) {
        long long *ids = read_whole(f, sets[i], BMC_I64, lens[i], 0, err);
        if (!ids) return -1;
        int same = 1;
        if (!*keep[i]) *keep[i] = ids, ids = NULL;
        else same = !memcmp(ids, *keep[i], (size_t)lens[i] * sizeof *ids);
        free(ids);
        if (!same)
            return bmc_err_set(err, "evaluate every pair on the same shared images (same cohort, "
                               "align_images and align_seed)",
                               "%s: %s differs from %s: not the same evaluation image set", f->path,
                               sets[i], first);
    }
    return 0;
}

/* The draws' image subsets as positions into eval_ids (first file), or a check against them. */
static int read_draws(ag_set *set, bmc_h5 *f, const char *first, bmc_err *err) {
    long long *ids = read_whole(f, "/images/retrieval_draws", BMC_I64, set->draws, set->way, err);
    if (!ids) return -1;
    size_t n = (size_t)set->draws * (size_t)set->way;
    long *pos = XNEW(pos, n);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        pos[i] = find_id(set->eval_ids, set->m, ids[i]);
        if (pos[i] < 0)
            rc = bmc_err_set(err, "the file is damaged; rerun the evaluate stage",
                             "%s: /images/retrieval_draws holds image %lld, which is not an "
                             "evaluation image", f->path, ids[i]);
    }
    if (!rc && set->draw_pos && memcmp(pos, set->draw_pos, n * sizeof *pos))
        rc = bmc_err_set(err, "evaluate every pair with the same seed and way",
                         "%s: the retrieval draws differ from those of %s", f->path, first);
    if (!rc && !set->draw_pos) set->draw_pos = pos, pos = NULL;
    free(pos);
    free(ids);
    return rc;
}

/* Collective: open, check and read one eval file into e. */
static int read_eval(ag_set *set, ag_eval *e, const char *path, const ag_runinfo *ri,
                     eval_head *h0, MPI_Comm comm, bmc_err *err) {
    bmc_h5 f;
    if (bmc_h5_open_as(&f, comm, path, BMC_FMT_EVAL, err)) return -1;
    long long ver = 0;
    eval_head h;
    memset(&h, 0, sizeof h);
    int rc = bmc_h5_attr_get_i64(&f, "/", "format_version", &ver, err);
    if (!rc && ver < 2)
        rc = bmc_err_set(err, "rerun the evaluate stage with the current bmc-evaluate (version 2 "
                         "stores each draw's images and hits)",
                         "%s: bmc.eval version %lld lacks the per-draw data the bootstrap needs",
                         path, ver);
    e->path = path;
    if (!rc) rc = check_fingerprint(&f, path, ri, e->fingerprint, sizeof e->fingerprint,
                                    "eval file", err);
    if (!rc) rc = read_head(&f, e, &h, err);
    const char *first = set->n_eval ? set->ev[0].path : path;
    if (!rc && set->n_eval == 0) {
        *h0 = h;
        set->m = h.m, set->way = h.way, set->draws = h.draws, set->n_align = h.n_align;
        set->n_gallery = h.n_gallery, set->fusion_weight = h.fusion_weight;
        set->seed = h.seed, set->align_seed = h.align_seed;
        snprintf(set->gallery, sizeof set->gallery, "%s", h.gallery);
        snprintf(set->ssim_mode, sizeof set->ssim_mode, "%s", h.ssim_mode);
    }
    if (!rc) rc = same_set(set, &h, h0, &f, first, err);
    if (!rc) rc = read_draws(set, &f, first, err);
    for (int b = 0; b < AG_N_BRANCH && !rc; b++) rc = read_branch(&f, &h, b, &e->br[b], err);
    bmc_h5_close(&f);
    return bmc_err_agree(comm, err) ? -1 : rc;
}

/* ---- the set ---------------------------------------------------------------------------- */

/* Every instance of the stage that wrote the first eval must have its `key` output listed. */
static int check_missing(const ag_set *set, const ag_plan *p, const ag_runinfo *ri,
                         bmc_err *err) {
    const char *key = NULL;
    const ag_instance *first = ag_runinfo_producer(ri, set->ev[0].path, &key);
    BMC_CHECK(first && key);
    for (size_t i = 0; i < ri->n_inst; i++) {
        const ag_instance *in = &ri->inst[i];
        if (!in->stage || !first->stage || strcmp(in->stage, first->stage)) continue;
        for (size_t k = 0; k < in->n_outputs; k++) {
            if (strcmp(in->out_keys[k], key)) continue;
            int listed = 0;
            for (size_t j = 0; j < p->n_evals && !listed; j++) {
                char *np = ag_normpath(p->evals[j]);
                listed = !strcmp(np, in->out_paths[k]);
                free(np);
            }
            if (!listed)
                return bmc_err_set(err, bmc_path_exists(in->out_paths[k])
                                            ? "add it to the aggregate stage's input 'evals'"
                                            : "run the workflow to the end (bmc-workflow run)",
                                   "missing eval file %s (output '%s' of instance %s of this run) "
                                   "is not among the inputs 'evals'%s",
                                   in->out_paths[k], key, in->name,
                                   bmc_path_exists(in->out_paths[k]) ? "" : " and does not exist");
        }
    }
    return 0;
}

static int cmp_eval(const void *a, const void *b) {
    const ag_eval *x = a, *y = b;
    int c = strcmp(x->rescale, y->rescale);
    if (c) return c;
    if (x->train != y->train) return x->train < y->train ? -1 : 1;
    return x->test < y->test ? -1 : x->test > y->test;
}

/* Subjects, rescale settings, duplicated pairs (local; same on every rank). */
static int cohort(ag_set *set, bmc_err *err) {
    qsort(set->ev, set->n_eval, sizeof *set->ev, cmp_eval);
    for (size_t i = 1; i < set->n_eval; i++) {
        const ag_eval *a = &set->ev[i - 1], *b = &set->ev[i];
        if (!cmp_eval(a, b))
            return bmc_err_set(err, "list each (train, test) pair once",
                               "duplicated eval: %s and %s both score subject %lld's decoders "
                               "on subject %lld (rescale %s)",
                               a->path, b->path, a->train, a->test, a->rescale);
    }
    set->subjects = XNEW(set->subjects, 2 * set->n_eval);
    int n = 0;
    set->n_rescale = 0;
    for (size_t i = 0; i < set->n_eval; i++) {
        const ag_eval *e = &set->ev[i];
        if (e->cross != (e->train != e->test))
            return bmc_err_set(err, "rerun the evaluate stage", "%s: cross = %d but train "
                               "subject %lld, test subject %lld", e->path, e->cross, e->train,
                               e->test);
        set->subjects[n++] = e->train;
        set->subjects[n++] = e->test;
        if (i == 0 || strcmp(e->rescale, set->ev[i - 1].rescale)) set->n_rescale++;
    }
    qsort(set->subjects, (size_t)n, sizeof *set->subjects, cmp_ll);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (!u || set->subjects[u - 1] != set->subjects[i]) set->subjects[u++] = set->subjects[i];
    set->n_subj = u;
    /* One decoder per branch: the mapping names agree across files. */
    for (size_t i = 1; i < set->n_eval; i++)
        for (int b = 0; b < 2; b++)
            if (strcmp(set->ev[i].br[b].mapping, set->ev[0].br[b].mapping))
                return bmc_err_set(err, "evaluate every pair with the same detail_mapping and "
                                   "semantic_mapping",
                                   "%s: the %s branch is decoder '%s', in %s it is '%s'",
                                   set->ev[i].path, ag_branch_name[b], set->ev[i].br[b].mapping,
                                   set->ev[0].path, set->ev[0].br[b].mapping);
    return 0;
}

/* Collective: bmc.predictions files, matched to evals by fingerprint (same instance). */
static int match_predictions(ag_set *set, const ag_plan *p, const ag_runinfo *ri,
                             MPI_Comm comm, bmc_err *err) {
    for (size_t j = 0; j < p->n_predictions; j++) {
        const char *path = p->predictions[j];
        bmc_h5 f;
        if (bmc_h5_open_as(&f, comm, path, BMC_FMT_PREDICTIONS, err)) return -1;
        char fp[72] = "";
        int rc = check_fingerprint(&f, path, ri, fp, sizeof fp, "predictions file", err);
        long e = -1;
        for (size_t i = 0; !rc && i < set->n_eval && e < 0; i++)
            if (!strcmp(set->ev[i].fingerprint, fp)) e = (long)i;
        if (!rc && e < 0)
            rc = bmc_err_set(err, "list the predictions of the evaluate instances whose eval "
                             "files are aggregated",
                             "%s: its instance wrote none of the eval files listed", path);
        if (!rc && set->ev[e].predictions)
            rc = bmc_err_set(err, "list each predictions file once",
                             "duplicated predictions: %s and %s belong to the same eval %s",
                             set->ev[e].predictions, path, set->ev[e].path);
        if (!rc) {
            long long *ids = read_whole(&f, "/image_ids", BMC_I64, set->m, 0, err);
            if (ids && memcmp(ids, set->eval_ids, (size_t)set->m * sizeof *ids))
                bmc_err_set(err, "rerun the evaluate stage",
                            "%s: /image_ids are not the evaluation images of %s", path,
                            set->ev[e].path);
            rc = err->failed ? -1 : 0;
            free(ids);
        }
        if (!rc) set->ev[e].predictions = path;
        bmc_h5_close(&f);
        if (bmc_err_agree(comm, err)) return -1;
    }
    for (size_t i = 0; p->n_predictions && i < set->n_eval; i++)
        if (!set->ev[i].predictions)
            return bmc_err_set(err, "list the predictions output of every evaluate instance, or "
                               "none",
                               "missing predictions file for %s (input 'predictions' lists %zu "
                               "files)", set->ev[i].path, p->n_predictions);
    return 0;
}

/* Local: montage PNGs, matched to evals by the instance that wrote them (its sidecar
 * fingerprint must be that instance's). */
static int match_montages(ag_set *set, const ag_plan *p, const ag_runinfo *ri, bmc_err *err) {
    for (size_t j = 0; j < p->n_montages; j++) {
        const char *path = p->montages[j];
        const ag_instance *in = ag_runinfo_producer(ri, path, NULL);
        if (!in)
            return bmc_err_set(err, "list the montage outputs of this run's evaluate instances",
                               "%s: foreign montage: no instance of this run writes it", path);
        char *side = bmc_xasprintf("%s.fingerprint", path);
        bmc_err tmp = {0};
        char *fp = bmc_path_exists(side) ? bmc_read_file(side, NULL, &tmp) : NULL;
        free(side);
        int ok = fp && !strncmp(fp, in->fingerprint, strlen(in->fingerprint));
        free(fp);
        if (!ok)
            return bmc_err_set(err, "rerun the workflow so that the montage is of this run",
                               "%s: foreign montage: no sidecar fingerprint of instance %s",
                               path, in->name);
        long e = -1;
        for (size_t i = 0; i < set->n_eval && e < 0; i++)
            if (!strcmp(set->ev[i].fingerprint, in->fingerprint)) e = (long)i;
        if (e < 0)
            return bmc_err_set(err, "list the montages of the evaluate instances aggregated",
                               "%s: instance %s wrote none of the eval files listed", path,
                               in->name);
        set->ev[e].montage = path;
    }
    return 0;
}

int ag_evals_read(ag_set *set, const ag_plan *p, const ag_runinfo *ri, MPI_Comm comm,
                  bmc_err *err) {
    memset(set, 0, sizeof *set);
    int rc = 0;
    for (size_t i = 0; i < p->n_evals && !rc; i++) {
        char *a = ag_normpath(p->evals[i]);
        for (size_t j = 0; j < i && !rc; j++) {
            char *b = ag_normpath(p->evals[j]);
            if (!strcmp(a, b))
                rc = bmc_err_set(err, "list each eval file once",
                                 "duplicated eval file %s (entries %zu and %zu of 'evals')",
                                 p->evals[i], j, i);
            free(b);
        }
        if (!rc && !bmc_path_exists(p->evals[i]))
            rc = bmc_err_set(err, "run the evaluate stage first (bmc-workflow run)",
                             "missing eval file %s (entry %zu of 'evals') does not exist",
                             p->evals[i], i);
        free(a);
    }
    if (bmc_err_agree(comm, err)) return -1;
    set->ev = xcalloc(p->n_evals, sizeof *set->ev);
    eval_head h0;
    memset(&h0, 0, sizeof h0);
    for (size_t i = 0; i < p->n_evals && !rc; i++) {
        rc = read_eval(set, &set->ev[set->n_eval], p->evals[i], ri, &h0, comm, err);
        set->n_eval++;
    }
    if (!rc) rc = check_missing(set, p, ri, err);
    if (!rc) rc = cohort(set, err);
    if (bmc_err_agree(comm, err)) return -1;
    if (match_predictions(set, p, ri, comm, err)) return -1;
    if (match_montages(set, p, ri, err)) rc = -1;
    return bmc_err_agree(comm, err) ? -1 : rc;
}

void ag_set_free(ag_set *set) {
    for (size_t i = 0; i < set->n_eval; i++) {
        ag_eval *e = &set->ev[i];
        free(e->models);
        for (int b = 0; b < AG_N_BRANCH; b++)
            for (int k = 0; k < AG_N_METRIC; k++) free(e->br[b].per_image[k]), free(e->br[b].hits[k]);
    }
    free(set->ev);
    free(set->eval_ids);
    free(set->align_ids);
    free(set->gallery_ids);
    free(set->draw_pos);
    free(set->subjects);
    memset(set, 0, sizeof *set);
}

long ag_find_eval(const ag_set *set, long long train, long long test, const char *rescale) {
    for (size_t i = 0; i < set->n_eval; i++)
        if (set->ev[i].train == train && set->ev[i].test == test &&
            !strcmp(set->ev[i].rescale, rescale))
            return (long)i;
    return -1;
}
