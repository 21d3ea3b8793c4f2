/* models.c — the run's decoders (bmc.model files): fingerprints against the run, every eval's
 * models among the inputs, each mapping's shape (→ parameter count), chosen penalties and the
 * validation curve (mean score over targets per penalty). Large arrays are read on rank 0,
 * the small summaries broadcast.
 * Not here: encoding R² maps (maps.c), eval files (inputs.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fs.h"

long long ag_param_count(const ag_param_shape *s, char *how, size_t how_size) {
    BMC_CHECK(s->p >= 1 && s->t >= 1 && s->rank >= 0);
    if (s->rank > 0) {
        snprintf(how, how_size, "reduced rank %lld: A (p × r) + B (r × t) + intercept (t)",
                 s->rank);
        return s->rank * (s->p + s->t) + s->t;
    }
    if (s->dual)
        snprintf(how, how_size, "full map, stored dual (n = %lld): counted as the primal "
                 "W = Xcᵀ·C (p × t) + intercept (t)", s->n);
    else
        snprintf(how, how_size, "full map: W (p × t) + intercept (t)");
    return s->p * s->t + s->t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Local (rank 0): penalty statistics of alpha[t] on the grid alphas[n_alpha]. */
static void penalty_stats(ag_mapping *m, double *alpha, long t) {
    double lg = 0;
    long low = 0, high = 0;
    for (long c = 0; c < t; c++) {
        lg += log(alpha[c]);
        low += alpha[c] == m->alphas[0];
        high += alpha[c] == m->alphas[m->n_alpha - 1];
    }
    qsort(alpha, (size_t)t, sizeof *alpha, cmp_double);
    m->alpha_median = t % 2 ? alpha[t / 2] : 0.5 * (alpha[t / 2 - 1] + alpha[t / 2]);
    m->alpha_gmean = exp(lg / (double)t);
    m->alpha_min = alpha[0];
    m->alpha_max = alpha[t - 1];
    m->frac_low = (double)low / (double)t;
    m->frac_high = (double)high / (double)t;
}

/* Collective: one mapping group of an open model file. */
static int read_mapping(bmc_h5 *f, const char *name, ag_mapping *m, bmc_err *err) {
    char g[200], ds[260], *form = NULL, *s = NULL;
    snprintf(g, sizeof g, "/mappings/%s", name);
    snprintf(m->name, sizeof m->name, "%s", name);
    int rc = 0;
    if (!bmc_h5_exists(f, g))
        return bmc_err_set(err, "rerun the train stage", "%s: mapping %s is listed but %s is "
                           "missing", f->path, name, g);
    if (bmc_h5_attr_get_str(f, g, "form", &form, err)) return -1;
    m->shape.dual = !strcmp(form, "dual");
    free(form);
    rc = bmc_h5_attr_get_i64(f, g, "n", &m->shape.n, err);
    if (!rc) rc = bmc_h5_attr_get_i64(f, g, "p", &m->shape.p, err);
    if (!rc) rc = bmc_h5_attr_get_i64(f, g, "t", &m->shape.t, err);
    if (!rc && !bmc_h5_attr_get_str(f, g, "x_group", &s, err))
        snprintf(m->x_group, sizeof m->x_group, "%s", s), free(s), s = NULL;
    if (!rc && !bmc_h5_attr_get_str(f, g, "y_dataset", &s, err))
        snprintf(m->y_dataset, sizeof m->y_dataset, "%s", s), free(s), s = NULL;
    if (!rc && !bmc_h5_attr_get_str(f, g, "cv", &s, err))
        snprintf(m->cv, sizeof m->cv, "%s", s), free(s), s = NULL;
    if (err->failed || rc) return -1;
    if (m->shape.p < 1 || m->shape.t < 1)
        return bmc_err_set(err, "rerun the train stage", "%s: %s has p = %lld, t = %lld", f->path,
                           g, m->shape.p, m->shape.t);
    /* A reduced-rank decoder stores its factors A (p × r) and B (r × t). */
    snprintf(ds, sizeof ds, "%s/A", g);
    if (bmc_h5_exists(f, ds)) {
        bmc_dtype t;
        int nd;
        hsize_t d[BMC_H5_MAXDIMS];
        if (bmc_h5_dataset_info(f, ds, &t, &nd, d, err)) return -1;
        m->shape.rank = nd == 2 ? (long long)d[1] : 0;
    }
    m->params = ag_param_count(&m->shape, m->params_how, sizeof m->params_how);

    snprintf(ds, sizeof ds, "%s/alphas", g);
    bmc_dtype t;
    int nd;
    hsize_t d[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(f, ds, &t, &nd, d, err)) return -1;
    m->n_alpha = (int)d[0];
    m->alphas = XNEW(m->alphas, m->n_alpha);
    m->curve = XNEW(m->curve, m->n_alpha);
    if (bmc_h5_read_rows(f, ds, BMC_F64, 0, d[0], m->alphas, err)) return -1;
    int root = f->rank == 0;
    long tt = (long)m->shape.t;
    double *alpha = root ? XNEW(alpha, tt) : NULL;
    double *scores = root ? XNEW(scores, (size_t)m->n_alpha * (size_t)tt) : NULL;
    snprintf(ds, sizeof ds, "%s/alpha", g);
    rc = bmc_h5_read_rows(f, ds, BMC_F64, 0, root ? (hsize_t)tt : 0, alpha, err);
    snprintf(ds, sizeof ds, "%s/scores", g);
    if (!rc) rc = bmc_h5_read_rows(f, ds, BMC_F64, 0, root ? (hsize_t)m->n_alpha : 0, scores, err);
    double stats[6];
    if (!rc && root) {
        for (int a = 0; a < m->n_alpha; a++) {
            double sum = 0;
            for (long c = 0; c < tt; c++) sum += scores[(size_t)a * (size_t)tt + (size_t)c];
            m->curve[a] = sum / (double)tt;
        }
        penalty_stats(m, alpha, tt);
        stats[0] = m->alpha_median, stats[1] = m->alpha_gmean, stats[2] = m->alpha_min;
        stats[3] = m->alpha_max, stats[4] = m->frac_low, stats[5] = m->frac_high;
    }
    free(alpha);
    free(scores);
    if (rc) return -1;
    BMC_MPI(MPI_Bcast(m->curve, m->n_alpha, MPI_DOUBLE, 0, f->comm));
    BMC_MPI(MPI_Bcast(stats, 6, MPI_DOUBLE, 0, f->comm));
    m->alpha_median = stats[0], m->alpha_gmean = stats[1], m->alpha_min = stats[2];
    m->alpha_max = stats[3], m->frac_low = stats[4], m->frac_high = stats[5];
    return 0;
}

/* Collective: one model file. */
static int read_model(ag_models *md, size_t i, const ag_runinfo *ri, MPI_Comm comm,
                      bmc_err *err) {
    const char *path = md->path[i];
    bmc_h5 f;
    if (bmc_h5_open_as(&f, comm, path, BMC_FMT_MODEL, err)) return -1;
    const ag_instance *in = ag_runinfo_producer(ri, path, NULL);
    char *fp = NULL, *names = NULL;
    int rc = 0;
    bmc_err tmp = {0};
    if (!in)
        rc = bmc_err_set(err, "list only model outputs of this run",
                         "%s: foreign model file: no instance of this run writes it", path);
    else if (bmc_h5_attr_get_str(&f, "/", "stage_fingerprint", &fp, &tmp) || strcmp(fp, in->fingerprint))
        rc = bmc_err_set(err, "rerun the workflow so that the model is of this run",
                         "%s: foreign model file: its fingerprint is not that of instance %s",
                         path, in->name);
    if (!rc) snprintf(md->fingerprint[i], sizeof md->fingerprint[i], "%s", fp);
    free(fp);
    if (!rc) rc = bmc_h5_attr_get_i64(&f, "/", "subject", &md->subject[i], err);
    if (!rc) rc = bmc_h5_attr_get_str(&f, "/", "fmri", &md->fmri[i], err);
    if (!rc) rc = bmc_h5_attr_get_str(&f, "/", "mappings", &names, err);
    for (char *save = NULL, *nm = rc ? NULL : strtok_r(names, "\n", &save); nm && !rc;
         nm = strtok_r(NULL, "\n", &save)) {
        md->map = xrealloc(md->map, (md->n_map + 1) * sizeof *md->map);
        ag_mapping *m = &md->map[md->n_map++];
        memset(m, 0, sizeof *m);
        m->subject = md->subject[i];
        m->model = (int)i;
        rc = read_mapping(&f, nm, m, err);
    }
    free(names);
    bmc_h5_close(&f);
    return bmc_err_agree(comm, err) ? -1 : rc;
}

/* Local: every eval's models are inputs, of its train subject, with its branches' decoders. */
static int check_evals(const ag_models *md, const ag_set *set, bmc_err *err) {
    for (size_t e = 0; e < set->n_eval; e++) {
        const ag_eval *ev = &set->ev[e];
        char *list = xstrdup(ev->models), *save = NULL;
        int rc = 0;
        for (char *m = strtok_r(list, "\n", &save); m && !rc; m = strtok_r(NULL, "\n", &save)) {
            char *nm = ag_normpath(m);
            long hit = -1;
            for (size_t i = 0; i < md->n_file && hit < 0; i++) {
                char *np = ag_normpath(md->path[i]);
                if (!strcmp(np, nm)) hit = (long)i;
                free(np);
            }
            if (hit < 0)
                rc = bmc_err_set(err, "add every model file the evaluations used to the input "
                                 "'models'",
                                 "%s was scored with model %s, which is not among the inputs "
                                 "'models'", ev->path, m);
            else if (md->subject[hit] != ev->train)
                rc = bmc_err_set(err, "rerun the evaluate stage",
                                 "%s: train subject %lld, but its model %s is subject %lld's",
                                 ev->path, ev->train, m, md->subject[hit]);
            free(nm);
        }
        free(list);
        for (int b = 0; b < 2 && !rc; b++)
            if (!ag_find_mapping(md, ev->train, ev->br[b].mapping))
                rc = bmc_err_set(err, "rerun the evaluate stage with the models given",
                                 "%s: decoder '%s' (%s branch) is in none of subject %lld's "
                                 "models", ev->path, ev->br[b].mapping, ag_branch_name[b],
                                 ev->train);
        if (rc) return -1;
    }
    return 0;
}

int ag_models_read(ag_models *md, const ag_plan *p, const ag_runinfo *ri, const ag_set *set,
                   MPI_Comm comm, bmc_err *err) {
    memset(md, 0, sizeof *md);
    md->n_file = p->n_models;
    md->path = p->models;
    md->subject = xcalloc(p->n_models, sizeof *md->subject);
    md->fingerprint = xcalloc(p->n_models, sizeof *md->fingerprint);
    md->fmri = xcalloc(p->n_models, sizeof *md->fmri);
    for (size_t i = 0; i < p->n_models; i++) {
        if (!bmc_path_exists(p->models[i]))
            return bmc_err_set(err, "run the train stage first",
                               "missing model file %s (entry %zu of 'models')", p->models[i], i);
        for (size_t j = 0; j < i; j++) {
            char *a = ag_normpath(p->models[i]), *b = ag_normpath(p->models[j]);
            int same = !strcmp(a, b);
            free(a), free(b);
            if (same)
                return bmc_err_set(err, "list each model file once",
                                   "duplicated model file %s (entries %zu and %zu)",
                                   p->models[i], j, i);
        }
    }
    for (size_t i = 0; i < p->n_models; i++)
        if (read_model(md, i, ri, comm, err)) return -1;
    for (size_t a = 0; a < md->n_map; a++)
        for (size_t b = 0; b < a; b++)
            if (md->map[a].subject == md->map[b].subject &&
                !strcmp(md->map[a].name, md->map[b].name))
                return bmc_err_set(err, "list one model file per subject and decoder",
                                   "duplicated decoder: subject %lld's mapping '%s' is in %s and "
                                   "%s", md->map[a].subject, md->map[a].name,
                                   md->path[md->map[b].model], md->path[md->map[a].model]);
    return check_evals(md, set, err);
}

void ag_models_free(ag_models *md) {
    for (size_t i = 0; i < md->n_map; i++) free(md->map[i].alphas), free(md->map[i].curve);
    for (size_t i = 0; i < md->n_file; i++) free(md->fmri ? md->fmri[i] : NULL);
    free(md->map);
    free(md->subject);
    free(md->fingerprint);
    free(md->fmri);
    memset(md, 0, sizeof *md);
}

const ag_mapping *ag_find_mapping(const ag_models *md, long long subject, const char *name) {
    for (size_t i = 0; i < md->n_map; i++)
        if (md->map[i].subject == subject && !strcmp(md->map[i].name, name)) return &md->map[i];
    return NULL;
}
