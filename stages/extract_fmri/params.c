/* params.c — bmc-extract-fmri's stage file → fmri_params (see plan.h and the usage text in
 * main.c). Every error points at the YAML (file:line:col) and says what is allowed.
 * Not here: anything that needs the NSD files (plan.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "plan.h"

/* BrainMCLIP's ROI groups (DESIGN.md §1): fMRI-Detail and fMRI-Semantic. */
static const char *const floc_files[] = {"floc-bodies", "floc-faces", "floc-places",
                                         "floc-words"};

static void add_all(fmri_group_spec *g, const char *file) {
    fmri_roi_spec *r = &g->rois[g->n_rois++];
    memset(r, 0, sizeof *r);
    r->file = xstrdup(file);
    r->all = 1;
}

static void default_groups(fmri_params *p) {
    p->n_groups = 2;
    p->groups = xcalloc(2, sizeof *p->groups);
    fmri_group_spec *d = &p->groups[0], *s = &p->groups[1];
    d->name = xstrdup("detail");
    s->name = xstrdup("semantic");
    d->rois = xcalloc(5, sizeof *d->rois);
    s->rois = xcalloc(4, sizeof *s->rois);
    d->within_nsdgeneral = s->within_nsdgeneral = 1;
    add_all(d, "prf-visualrois");
    for (int k = 0; k < 4; k++) {
        add_all(d, floc_files[k]);
        add_all(s, floc_files[k]);
    }
}

/* A name that is safe as one HDF5 path component and does not collide with the datasets
 * that sit beside the groups. */
static int check_name(const bmc_cfg_node *at, const char *name, const char *what, bmc_err *err) {
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
        !strcmp(name, "image_ids") || !strcmp(name, "n_repeats"))
        return bmc_cfg_error_at(at, err, "use a plain name such as detail or semantic",
                                "%s '%s' is not allowed", what, name);
    return 0;
}

static int read_labels(const bmc_cfg_node *item, fmri_roi_spec *r, bmc_err *err) {
    const bmc_cfg_node *l = bmc_cfg_get(item, "labels");
    if (!l || l->type == BMC_CFG_NULL || (l->type == BMC_CFG_STRING && !strcmp(l->text, "all"))) {
        r->all = 1;
        return 0;
    }
    if (l->type != BMC_CFG_SEQ || l->n == 0)
        return bmc_cfg_error_at(l, err, "write `all` or a list of label names from the ROI's "
                                        ".ctab, e.g. [V1v, V1d]",
                                "labels of ROI '%s' must be `all` or a non-empty list", r->file);
    r->labels = xcalloc(l->n, sizeof *r->labels);
    for (size_t i = 0; i < l->n; i++) {
        const bmc_cfg_node *it = l->items[i];
        if (it->type == BMC_CFG_MAP || it->type == BMC_CFG_SEQ || it->type == BMC_CFG_NULL)
            return bmc_cfg_error_at(it, err, "write label names as in the .ctab",
                                    "a label of ROI '%s' must be a name", r->file);
        for (size_t j = 0; j < r->n_labels; j++)
            if (!strcmp(r->labels[j], it->text))
                return bmc_cfg_error_at(it, err, "list each label once",
                                        "label '%s' of ROI '%s' is listed twice", it->text,
                                        r->file);
        r->labels[r->n_labels++] = xstrdup(it->text);
    }
    return 0;
}

static int read_group(const char *name, const bmc_cfg_node *gn, fmri_group_spec *g,
                      bmc_err *err) {
    static const char *const gkeys[] = {"rois", "within_nsdgeneral"};
    static const char *const rkeys[] = {"file", "labels"};
    g->name = xstrdup(name);
    if (gn->type != BMC_CFG_MAP)
        return bmc_cfg_error_at(gn, err, "write {rois: [{file: prf-visualrois, labels: all}], "
                                         "within_nsdgeneral: true}",
                                "group '%s' must be a mapping", name);
    if (bmc_cfg_check_keys(gn, gkeys, 2, "a group of bmc-extract-fmri", err)) return -1;
    if (bmc_cfg_bool(gn, "within_nsdgeneral", 0, 1, &g->within_nsdgeneral, err)) return -1;
    const bmc_cfg_node *rs = bmc_cfg_get(gn, "rois");
    if (!rs || rs->type != BMC_CFG_SEQ || rs->n == 0)
        return bmc_cfg_error_at(rs ? rs : gn, err,
                                "write rois: [{file: floc-faces, labels: [FFA-1, FFA-2]}, ...]",
                                "group '%s' needs a non-empty list `rois`", name);
    g->rois = xcalloc(rs->n, sizeof *g->rois);
    for (size_t i = 0; i < rs->n; i++) {
        const bmc_cfg_node *it = rs->items[i];
        if (it->type != BMC_CFG_MAP)
            return bmc_cfg_error_at(it, err, "write {file: prf-visualrois, labels: all}",
                                    "an ROI of group '%s' must be a mapping", name);
        if (bmc_cfg_check_keys(it, rkeys, 2, "an ROI of bmc-extract-fmri", err)) return -1;
        const char *file = NULL;
        if (bmc_cfg_string(it, "file", 1, NULL, &file, err)) return -1;
        if (!file[0] || strchr(file, '/'))
            return bmc_cfg_error_at(bmc_cfg_get(it, "file"), err,
                                    "give the file's stem under roi/, e.g. floc-faces",
                                    "ROI file '%s' is not a file stem", file);
        for (size_t j = 0; j < g->n_rois; j++)
            if (!strcmp(g->rois[j].file, file))
                return bmc_cfg_error_at(it, err, "merge its labels into one entry",
                                        "ROI file '%s' is listed twice in group '%s'", file,
                                        name);
        fmri_roi_spec *r = &g->rois[g->n_rois++];
        r->file = xstrdup(file);
        if (read_labels(it, r, err)) return -1;
    }
    return 0;
}

static int read_sessions(const bmc_cfg_node *pm, fmri_params *p, bmc_err *err) {
    const bmc_cfg_node *sn = bmc_cfg_get(pm, "sessions");
    if (!sn || sn->type == BMC_CFG_NULL) return 0;
    if (sn->type == BMC_CFG_INT) {
        long long n;
        if (bmc_cfg_int(pm, "sessions", 1, 0, 1, 99, &n, err)) return -1;
        p->n_sessions = (int)n;
        p->sessions = XNEW(p->sessions, n);
        for (int i = 0; i < (int)n; i++) p->sessions[i] = i + 1;
        return 0;
    }
    if (sn->type != BMC_CFG_SEQ || sn->n == 0)
        return bmc_cfg_error_at(sn, err, "write a count n (sessions 1..n) or a list, e.g. [1, 2, 5]",
                                "sessions must be a count or a non-empty list");
    p->sessions = XNEW(p->sessions, sn->n);
    for (size_t i = 0; i < sn->n; i++) {
        const bmc_cfg_node *it = sn->items[i];
        if (it->type != BMC_CFG_INT || it->v.i < 1 || it->v.i > 99)
            return bmc_cfg_error_at(it, err, "sessions are numbered 1..99 (betas_sessionNN)",
                                    "session '%s' is not a session number",
                                    it->text ? it->text : "?");
        int s = (int)it->v.i, k = p->n_sessions;
        for (int j = 0; j < p->n_sessions; j++)
            if (p->sessions[j] == s)
                return bmc_cfg_error_at(it, err, "list each session once",
                                        "session %d is listed twice", s);
        while (k > 0 && p->sessions[k - 1] > s) { /* keep the list sorted */
            p->sessions[k] = p->sessions[k - 1];
            k--;
        }
        p->sessions[k] = s;
        p->n_sessions++;
    }
    return 0;
}

int fmri_params_read(const bmc_stage *s, fmri_params *p, bmc_err *err) {
    memset(p, 0, sizeof *p);
    static const char *const ins[] = {"nsd_root"};
    static const char *const outs[] = {"fmri"};
    static const bmc_param_key keys[] = {{"subject", 0},  {"sessions", 0},     {"zscore", 0},
                                         {"groups", 0},   {"dataset", 0},      {"block_voxels", 1},
                                         {"hash_betas", 1}};
    if (bmc_stage_check_names(s, ins, 1, outs, 1, err)) return -1;
    if (!(p->nsd_root = bmc_stage_input(s, "nsd_root", err))) return -1;
    if (!(p->out = bmc_stage_output(s, "fmri", err))) return -1;
    const bmc_cfg_node *pm = s->params;
    if (bmc_stage_check_params(s, keys, sizeof keys / sizeof *keys, "bmc-extract-fmri params", err))
        return -1;
    long long v;
    if (bmc_cfg_int(pm, "subject", 1, 0, 1, 99, &v, err)) return -1;
    p->subject = (int)v;
    if (read_sessions(pm, p, err)) return -1;
    static const char *const modes[] = {"session", "train"};
    if (bmc_cfg_enum(pm, "zscore", 0, 0, modes, 2, &p->zscore_train, err)) return -1;
    if (bmc_cfg_string(pm, "dataset", 0, "imgBrick", &p->dataset, err)) return -1;
    if (bmc_cfg_int(pm, "block_voxels", 0, 0, 0, 1LL << 40, &v, err)) return -1;
    p->block_voxels = (long)v;
    if (bmc_cfg_bool(pm, "hash_betas", 0, 1, &p->hash_betas, err)) return -1;

    const bmc_cfg_node *gs = bmc_cfg_get(pm, "groups");
    if (!gs || gs->type == BMC_CFG_NULL) {
        default_groups(p);
        return 0;
    }
    if (gs->type != BMC_CFG_MAP || gs->n == 0)
        return bmc_cfg_error_at(gs, err, "write groups: {name: {rois: [...], within_nsdgeneral: "
                                         "true}, ...}",
                                "groups must be a non-empty mapping");
    p->groups = xcalloc(gs->n, sizeof *p->groups);
    for (size_t i = 0; i < gs->n; i++) {
        const bmc_cfg_node *key_at = gs->items[i];
        if (check_name(key_at, gs->keys[i], "group name", err)) return -1;
        p->n_groups++;
        if (read_group(gs->keys[i], gs->items[i], &p->groups[i], err)) return -1;
    }
    return 0;
}

void fmri_params_free(fmri_params *p) {
    for (size_t i = 0; i < p->n_groups; i++) {
        fmri_group_spec *g = &p->groups[i];
        for (size_t j = 0; j < g->n_rois; j++) {
            for (size_t k = 0; k < g->rois[j].n_labels; k++) free(g->rois[j].labels[k]);
            free(g->rois[j].labels);
            free(g->rois[j].file);
        }
        free(g->rois);
        free(g->name);
    }
    free(p->groups);
    free(p->sessions);
    memset(p, 0, sizeof *p);
}
