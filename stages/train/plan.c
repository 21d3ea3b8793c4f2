/* plan.c — bmc-train's stage file → train_plan (see train.h and the usage text in main.c):
 * inputs, outputs, the mappings and `only`, the penalty grid (ridge_read_alphas) and the
 * params with their defaults, checked locally; every error points at the YAML
 * (file:line:col) and says what is allowed.
 * Not here: anything that opens a file (mapping.c), the run (main.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "train.h"

/* Local: p->map from params.mappings (default: detail and semantic, each fMRI group to the
 * CLIP dataset of its name) and each mapping's run flag from params.only (default all). */
static int read_mappings(const bmc_cfg_node *pm, train_plan *p, bmc_err *err) {
    const bmc_cfg_node *m = bmc_cfg_get(pm, "mappings");
    if (!m || m->type == BMC_CFG_NULL) {
        p->n_map = 2;
        p->map = xcalloc(2, sizeof *p->map);
        p->map[0] = (train_mapping){.name = "detail", .x_group = "detail",
                                    .y_dataset = "detail", .run = 1};
        p->map[1] = (train_mapping){.name = "semantic", .x_group = "semantic",
                                    .y_dataset = "semantic", .run = 1};
    } else {
        if (m->type != BMC_CFG_MAP || m->n == 0)
            return bmc_cfg_error_at(m, err, "write name: {x: GROUP, y: DATASET}",
                                    "mappings must be a non-empty mapping");
        p->n_map = (int)m->n;
        p->map = xcalloc(m->n, sizeof *p->map);
        static const char *const keys[] = {"x", "y", "tokens"};
        for (size_t i = 0; i < m->n; i++) {
            const bmc_cfg_node *e = m->items[i];
            train_mapping *t = &p->map[i];
            t->name = m->keys[i];
            t->run = 1;
            for (const char *c = t->name; *c; c++)
                if (*c == '/' || *c == '\n' || *c == ' ')
                    return bmc_cfg_error_at(e, err, "use letters, digits, - and _",
                                            "mapping name '%s' has a '/', space or newline",
                                            t->name);
            if (e->type != BMC_CFG_MAP)
                return bmc_cfg_error_at(e, err, "write {x: GROUP, y: DATASET}",
                                        "mapping '%s' must be a mapping", t->name);
            if (bmc_cfg_check_keys(e, keys, 3, "a mapping", err) ||
                bmc_cfg_string(e, "x", 1, NULL, &t->x_group, err) ||
                bmc_cfg_string(e, "y", 1, NULL, &t->y_dataset, err))
                return -1;
            t->tokens = bmc_cfg_get(e, "tokens");
        }
    }
    const bmc_cfg_node *only = bmc_cfg_get(pm, "only");
    if (!only || only->type == BMC_CFG_NULL) return 0;
    if (only->type != BMC_CFG_SEQ || only->n == 0)
        return bmc_cfg_error_at(only, err, "write a list of mapping names, e.g. [detail]",
                                "only must be a non-empty list");
    const char **names = XNEW(names, p->n_map);
    for (int i = 0; i < p->n_map; i++) {
        names[i] = p->map[i].name;
        p->map[i].run = 0;
    }
    int rc = 0;
    for (size_t k = 0; k < only->n && !rc; k++) {
        const char *w = only->items[k]->text ? only->items[k]->text : "";
        int found = 0;
        for (int i = 0; i < p->n_map; i++)
            if (!strcmp(w, p->map[i].name)) found = p->map[i].run = 1;
        if (!found) {
            const char *near = bmc_cfg_nearest(w, names, (size_t)p->n_map);
            char hint[300];
            snprintf(hint, sizeof hint, near ? "did you mean '%s'?" : "name one of mappings%s",
                     near ? near : "");
            rc = bmc_cfg_error_at(only->items[k], err, hint, "only: no mapping '%s'", w);
        }
    }
    free(names);
    return rc;
}

int train_read_plan(const bmc_stage *s, train_plan *p, bmc_err *err) {
    memset(p, 0, sizeof *p);
    static const char *const ins[] = {"fmri", "features", "reference"};
    static const char *const outs[] = {"model", "maps"};
    static const bmc_param_key keys[] = {
        {"mappings", 0},     {"only", 0},         {"alphas", 0},          {"cv", 0},
        {"folds", 0},        {"granularity", 0},  {"global_weight", 0},   {"fine_weight", 0},
        {"mem_per_rank", 1}, {"grid", 1},         {"encoding", 0},        {"voxel_weighting", 0},
        {"r2_threshold", 0}, {"dtype", 0},        {"score_precision", 0}};
    if (bmc_stage_check_names(s, ins, 3, outs, 2, err)) return -1;
    if (!(p->fmri = bmc_stage_input(s, "fmri", err))) return -1;
    if (!(p->features = bmc_stage_input(s, "features", err))) return -1;
    if (!(p->model = bmc_stage_output(s, "model", err))) return -1;
    if (bmc_cfg_get(s->inputs, "reference") && !(p->reference = bmc_stage_input(s, "reference", err)))
        return -1;
    if (bmc_cfg_get(s->outputs, "maps") && !(p->maps = bmc_stage_output(s, "maps", err)))
        return -1;
    const bmc_cfg_node *pm = s->params;
    if (bmc_stage_check_params(s, keys, sizeof keys / sizeof *keys, "bmc-train params", err))
        return -1;
    if (read_mappings(pm, p, err) ||
        ridge_read_alphas(pm, "alphas", &p->alphas, &p->n_alpha, err))
        return -1;
    static const char *const cvs[] = {"loo", "gcv", "kfold"};
    static const char *const grains[] = {"target", "token", "group"};
    static const char *const voxw[] = {"none", "weight", "select"};
    static const char *const dtypes[] = {"float32", "float64"};
    int v, dt;
    long long k;
    if (bmc_cfg_enum(pm, "cv", 0, 0, cvs, 3, &v, err)) return -1;
    p->mode = (ridge_mode)v;
    if (bmc_cfg_int(pm, "folds", 0, 5, 2, 1000000, &k, err)) return -1;
    p->kfold = (int)k;
    if (bmc_cfg_enum(pm, "granularity", 0, 0, grains, 3, &v, err)) return -1;
    p->grain = (ridge_grain)v;
    if (bmc_cfg_double(pm, "global_weight", 0, 1.0, 0.0, 1e12, &p->global_weight, err) ||
        bmc_cfg_double(pm, "fine_weight", 0, 1.0, 0.0, 1e12, &p->fine_weight, err))
        return -1;
    if (bmc_cfg_mem(pm, "mem_per_rank", (size_t)1 << 30, &p->mem_per_rank, err)) return -1;
    if (bmc_cfg_bool(pm, "encoding", 0, 1, &p->encoding, err)) return -1;
    if (bmc_cfg_enum(pm, "voxel_weighting", 0, 0, voxw, 3, &p->voxel_weighting, err)) return -1;
    if (bmc_cfg_double(pm, "r2_threshold", 0, 0.0, -1e300, 1.0, &p->r2_threshold, err)) return -1;
    if (bmc_cfg_enum(pm, "dtype", 0, 0, dtypes, 2, &dt, err)) return -1;
    static const char *const precisions[] = {"double", "mixed"};
    if (bmc_cfg_enum(pm, "score_precision", 0, 1, precisions, 2, &v, err)) return -1;
    p->precision = (ridge_precision)v;
    p->dtype = dt ? BMC_F64 : BMC_F32;
    if (p->voxel_weighting != VOXW_NONE && !p->encoding)
        return bmc_cfg_error_at(bmc_cfg_get(pm, "voxel_weighting"), err,
                                "set encoding: true (weights come from the encoding R²)",
                                "voxel_weighting needs the encoding models");
    const bmc_cfg_node *g = bmc_cfg_get(pm, "grid");
    if (g && g->type != BMC_CFG_NULL) {
        if (g->type != BMC_CFG_SEQ || g->n != 2 || g->items[0]->type != BMC_CFG_INT ||
            g->items[1]->type != BMC_CFG_INT || g->items[0]->v.i < 1 || g->items[1]->v.i < 1 ||
            g->items[0]->v.i * g->items[1]->v.i != s->size)
            return bmc_cfg_error_at(g, err, "write [nprow, npcol] with nprow·npcol = ranks",
                                    "grid must be two positive integers whose product is the "
                                    "number of MPI ranks (%d)", s->size);
        p->nprow = (int)g->items[0]->v.i;
        p->npcol = (int)g->items[1]->v.i;
    }
    return 0;
}

void train_free_plan(train_plan *p) {
    free(p->map);
    free(p->alphas);
    memset(p, 0, sizeof *p);
}
