/* rois.c — ROI groups → voxel lists (rank 0, while building the plan; see rois.h).
 *
 * Each group is a list of (ROI file, labels) selections; its ROI list expands them into
 * `file:label-name` entries (labels in .ctab order, `all` = every value > 0). A voxel belongs
 * to the group when its value in some selected file is a selected label (and nsdgeneral > 0
 * when within_nsdgeneral); its `roi` is the first matching entry in list order and its `label`
 * that entry's value. Voxels are ordered x fastest, then y, then z. Every volume must share
 * one grid. Not here: betas (ingest.c), the design (plan.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "nsd.h"
#include "rois.h"

/* One loaded ROI file and its label table. */
typedef struct roi_file {
    char *name, *path, *ctab_path;
    nsd_volume vol;
    nsd_ctab ctab;
    int has_ctab;
    int warned;     /* unnamed label values already reported */
} roi_file;

typedef struct roi_cache {
    size_t n, cap;
    roi_file *files;
    char *grid_file;   /* first volume read: the grid every other one must match */
    int grid[3];
} roi_cache;

/* The loaded file `name`, reading it (and its ctab when present) on first use. */
static roi_file *load(roi_cache *c, const fmri_params *p, fmri_plan *plan, const char *name,
                      bmc_err *err) {
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->files[i].name, name)) return &c->files[i];
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        c->files = xrealloc(c->files, c->cap * sizeof *c->files);
    }
    roi_file *f = &c->files[c->n];
    memset(f, 0, sizeof *f);
    f->name = xstrdup(name);
    f->path = nsd_roi_path(p->nsd_root, p->subject, name);
    f->ctab_path = nsd_ctab_path(p->nsd_root, p->subject, name);
    c->n++; /* owned by the cache from here on, even when reading fails */
    if (nsd_volume_read(f->path, &f->vol, err)) return NULL;
    fmri_plan_add_file(plan, f->path);
    if (!c->grid_file) {
        c->grid_file = xstrdup(f->path);
        memcpy(c->grid, f->vol.dims, sizeof c->grid);
    } else if (memcmp(c->grid, f->vol.dims, sizeof c->grid)) {
        bmc_err_set(err, "all ROI files of a subject share its functional grid (func1pt8mm)",
                    "%s: grid (%d, %d, %d) differs from (%d, %d, %d) of %s", f->path,
                    f->vol.dims[0], f->vol.dims[1], f->vol.dims[2], c->grid[0], c->grid[1],
                    c->grid[2], c->grid_file);
        return NULL;
    }
    if (bmc_path_exists(f->ctab_path)) {
        if (nsd_ctab_read(f->ctab_path, &f->ctab, err)) return NULL;
        f->has_ctab = 1;
        fmri_plan_add_file(plan, f->ctab_path);
    }
    return f;
}

/* One entry of a group's ROI list. */
typedef struct roi_entry {
    size_t sel;     /* selection (file) it belongs to */
    int value;
    char *name;
} roi_entry;

typedef struct entry_list {
    size_t n, cap;
    roi_entry *e;
} entry_list;

static void add_entry(entry_list *l, size_t sel, int value, const char *name) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->e = xrealloc(l->e, l->cap * sizeof *l->e);
    }
    l->e[l->n++] = (roi_entry){sel, value, xstrdup(name)};
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Entries of selection `sel` (ROI file f): the named labels, or `all`. */
static int expand(const fmri_roi_spec *r, size_t sel, roi_file *f, entry_list *l,
                  bmc_err *err) {
    if (!r->all) {
        if (!f->has_ctab)
            return bmc_err_set(err, "labels are named by the ROI's .ctab; write `labels: all` "
                                    "to use every label without one",
                               "missing label table %s (needed for the labels of ROI '%s')",
                               f->ctab_path, r->file);
        for (size_t k = 0; k < r->n_labels; k++) {
            long i = nsd_ctab_find(&f->ctab, r->labels[k]);
            if (i < 0) {
                char *names = nsd_ctab_names(&f->ctab);
                bmc_err_set(err, "use one of the names the table lists, or `all`",
                            "label '%s' is not in %s (its labels: %s)", r->labels[k],
                            f->ctab_path, names);
                free(names);
                return -1;
            }
            if (f->ctab.value[i] <= 0)
                return bmc_err_set(err, "only values > 0 are ROI labels (0 = outside the ROI)",
                                   "label '%s' has value %d in %s", r->labels[k],
                                   f->ctab.value[i], f->ctab_path);
            add_entry(l, sel, f->ctab.value[i], r->labels[k]);
        }
        return 0;
    }
    if (f->has_ctab)
        for (size_t i = 0; i < f->ctab.n; i++)
            if (f->ctab.value[i] > 0) add_entry(l, sel, f->ctab.value[i], f->ctab.name[i]);
    /* Positive values the table does not name (or every value, without a table). */
    size_t nv = (size_t)f->vol.dims[0] * (size_t)f->vol.dims[1] * (size_t)f->vol.dims[2];
    int *seen = NULL;
    size_t n_seen = 0, cap = 0;
    for (size_t v = 0; v < nv; v++) {
        int x = f->vol.v[v];
        if (x <= 0 || (f->has_ctab && nsd_ctab_find_value(&f->ctab, x) >= 0)) continue;
        int dup = 0;
        for (size_t j = 0; j < n_seen && !dup; j++) dup = seen[j] == x;
        if (dup) continue;
        if (n_seen == cap) {
            cap = cap ? 2 * cap : 16;
            seen = xrealloc(seen, cap * sizeof *seen);
        }
        seen[n_seen++] = x;
    }
    if (n_seen) {
        qsort(seen, n_seen, sizeof *seen, cmp_int);
        if (!f->warned)
            bmc_log_warn("%s: %zu label value%s not named in %s; named by number", f->path,
                         n_seen, n_seen == 1 ? "" : "s",
                         f->has_ctab ? f->ctab_path : "a label table (there is none)");
        f->warned = 1;
        for (size_t j = 0; j < n_seen; j++) {
            char name[16];
            snprintf(name, sizeof name, "%d", seen[j]);
            add_entry(l, sel, seen[j], name);
        }
    }
    free(seen);
    return 0;
}

/* Build group g's voxels from its spec (every file already in the cache). *in_union marks
 * the voxels of any group. */
static int build_group(const fmri_params *p, const fmri_group_spec *gs, roi_file **files,
                       const nsd_volume *general, fmri_group *g, uint8_t *in_union,
                       bmc_err *err) {
    entry_list l = {0};
    int rc = 0;
    for (size_t i = 0; i < gs->n_rois && !rc; i++)
        rc = expand(&gs->rois[i], i, files[i], &l, err);
    size_t len = 1;
    for (size_t k = 0; k < l.n; k++)
        len += strlen(gs->rois[l.e[k].sel].file) + strlen(l.e[k].name) + 2;
    g->name = xstrdup(gs->name);
    g->within_nsdgeneral = gs->within_nsdgeneral;
    g->rois = xmalloc(len);
    char *end = g->rois;
    *end = '\0';
    for (size_t k = 0; k < l.n; k++)
        end += sprintf(end, "%s%s:%s", k ? "\n" : "", gs->rois[l.e[k].sel].file, l.e[k].name);

    size_t nv = (size_t)files[0]->vol.dims[0] * (size_t)files[0]->vol.dims[1] *
                (size_t)files[0]->vol.dims[2];
    size_t cap = 1024;
    g->col = XNEW(g->col, cap); /* holds the linear index until plan.c maps it to a column */
    g->label = XNEW(g->label, cap);
    g->roi = XNEW(g->roi, cap);
    for (size_t v = 0; v < nv && !rc; v++) {
        if (general && general->v[v] <= 0) continue;
        long hit = -1;
        for (size_t k = 0; k < l.n && hit < 0; k++)
            if (files[l.e[k].sel]->vol.v[v] == l.e[k].value) hit = (long)k;
        if (hit < 0) continue;
        if ((size_t)g->p == cap) {
            cap *= 2;
            g->col = xrealloc(g->col, cap * sizeof *g->col);
            g->label = xrealloc(g->label, cap * sizeof *g->label);
            g->roi = xrealloc(g->roi, cap * sizeof *g->roi);
        }
        g->col[g->p] = (int64_t)v;
        g->label[g->p] = l.e[hit].value;
        g->roi[g->p] = (int32_t)hit;
        g->p++;
        in_union[v] = 1;
    }
    if (!rc && g->p == 0)
        rc = bmc_err_set(err, gs->within_nsdgeneral
                                  ? "check its labels, or set within_nsdgeneral: false"
                                  : "check its ROI files and labels",
                         "group '%s' has no voxels: none of its labels occur%s in subject "
                         "%02d's ROI files",
                         gs->name, gs->within_nsdgeneral ? " within nsdgeneral" : "",
                         p->subject);
    for (size_t k = 0; k < l.n; k++) free(l.e[k].name);
    free(l.e);
    return rc;
}

int fmri_rois_resolve(const fmri_params *p, fmri_plan *plan, char **grid_file, bmc_err *err) {
    roi_cache c = {0};
    int rc = 0;
    const nsd_volume *general = NULL;
    plan->n_groups = p->n_groups;
    plan->groups = xcalloc(p->n_groups, sizeof *plan->groups);
    /* Load every file first, so that grid errors come before selection errors. */
    int need_general = 0;
    for (size_t i = 0; i < p->n_groups; i++) need_general |= p->groups[i].within_nsdgeneral;
    if (need_general && !load(&c, p, plan, "nsdgeneral", err)) rc = -1;
    for (size_t i = 0; i < p->n_groups && !rc; i++)
        for (size_t j = 0; j < p->groups[i].n_rois && !rc; j++)
            if (!load(&c, p, plan, p->groups[i].rois[j].file, err)) rc = -1;
    /* Pointers into the cache are taken only now: loading may have moved it. */
    if (!rc && need_general) general = &load(&c, p, plan, "nsdgeneral", err)->vol;
    size_t nv = 0;
    uint8_t *in_union = NULL;
    if (!rc) {
        memcpy(plan->grid, c.grid, sizeof plan->grid);
        nv = (size_t)c.grid[0] * (size_t)c.grid[1] * (size_t)c.grid[2];
        in_union = xcalloc(nv, 1);
    }
    for (size_t i = 0; i < p->n_groups && !rc; i++) {
        const fmri_group_spec *gs = &p->groups[i];
        roi_file **files = XNEW(files, gs->n_rois);
        for (size_t j = 0; j < gs->n_rois; j++)
            files[j] = load(&c, p, plan, gs->rois[j].file, err); /* cached: cannot fail */
        rc = build_group(p, gs, files, gs->within_nsdgeneral ? general : NULL,
                         &plan->groups[i], in_union, err);
        free(files);
    }
    if (!rc) {
        /* The union, ascending; then each group's linear indices become union columns. */
        int64_t *col_of = XNEW(col_of, nv);
        plan->vox = XNEW(plan->vox, nv);
        for (size_t v = 0; v < nv; v++) {
            col_of[v] = in_union[v] ? plan->n_vox : -1;
            if (in_union[v]) plan->vox[plan->n_vox++] = (int64_t)v;
        }
        for (size_t i = 0; i < plan->n_groups; i++)
            for (long k = 0; k < plan->groups[i].p; k++)
                plan->groups[i].col[k] = col_of[plan->groups[i].col[k]];
        free(col_of);
        *grid_file = xstrdup(c.grid_file);
    }
    free(in_union);
    for (size_t i = 0; i < c.n; i++) {
        free(c.files[i].name);
        free(c.files[i].path);
        free(c.files[i].ctab_path);
        nsd_volume_free(&c.files[i].vol);
        nsd_ctab_free(&c.files[i].ctab);
    }
    free(c.files);
    free(c.grid_file);
    return rc;
}
