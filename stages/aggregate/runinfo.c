/* runinfo.c — the one reader of a run's pipeline_info/ (bmc-workflow's record of the run):
 * instances with their fingerprints, outputs and params (config_resolved.yaml), stage times
 * and ranks (execution_trace_*.tsv, also the .partial of the run in progress) and software
 * versions. Keys and columns it does not use are ignored, so the format may grow.
 * Not here: deciding whether inputs belong to the run (inputs.c, models.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fs.h"

char *ag_normpath(const char *path) {
    char *out = xstrdup(path);
    size_t w = 0;
    for (size_t r = 0; path[r]; r++) {
        if (path[r] == '/' && w > 0 && out[w - 1] == '/') continue; /* "//" */
        out[w++] = path[r];
    }
    out[w] = 0;
    while (!strncmp(out, "./", 2) && out[2]) memmove(out, out + 2, strlen(out + 2) + 1);
    char *q;
    while ((q = strstr(out, "/./"))) memmove(q, q + 2, strlen(q + 2) + 1);
    w = strlen(out);
    while (w > 1 && out[w - 1] == '/') out[--w] = 0;
    return out;
}

/* A path relative to folder `from` (both relative to the same working folder, or both
 * absolute): common leading components dropped, ".." for the rest of `from`. Heap. */
char *ag_relpath(const char *from, const char *to) {
    char *f = ag_normpath(from), *t = ag_normpath(to);
    if (!strcmp(f, ".")) {
        free(f);
        return t;
    }
    /* Common leading components: f = "a/b", t = "a/b/c" or "a/x" (compare whole names). */
    size_t fl = strlen(f), common = 0;
    for (size_t i = 0;; i++) {
        int fend = i == fl || f[i] == '/', tend = !t[i] || t[i] == '/';
        if (fend && tend) {
            common = i;
            if (i == fl || !t[i]) break;
        } else if (f[i] != t[i]) {
            break;
        }
    }
    const char *frest = f + common, *trest = t + common;
    while (*frest == '/') frest++;
    while (*trest == '/') trest++;
    size_t ups = *frest ? 1 : 0;
    for (const char *p = frest; *p; p++) ups += *p == '/';
    char *out = xcalloc(ups * 3 + strlen(trest) + 2, 1);
    for (size_t u = 0; u < ups; u++) strcat(out, "../");
    strcat(out, trest);
    size_t n = strlen(out);
    if (n && out[n - 1] == '/') out[n - 1] = 0;
    if (!*out) strcpy(out, ".");
    free(f);
    free(t);
    return out;
}

/* Local: a required string key of an instance map. */
static char *str_of(const bmc_cfg_node *map, const char *key) {
    const bmc_cfg_node *n = bmc_cfg_get(map, key);
    return n && n->text ? xstrdup(n->text) : NULL;
}

static int read_instances(ag_runinfo *ri, const char *path, bmc_err *err) {
    bmc_cfg_node *root = bmc_cfg_load_file(path, err);
    if (!root) return -1;
    int rc = 0;
    const bmc_cfg_node *list = bmc_cfg_get(root, "instances");
    if (!list || list->type != BMC_CFG_SEQ) {
        rc = bmc_err_set(err, "rerun the workflow with bmc-workflow run (it rewrites the file)",
                         "%s: no 'instances' list", path);
        goto done;
    }
    ri->workflow = str_of(root, "workflow");
    ri->run = str_of(root, "run");
    ri->inst = xcalloc(list->n ? list->n : 1, sizeof *ri->inst);
    for (size_t i = 0; i < list->n; i++) {
        const bmc_cfg_node *it = list->items[i];
        ag_instance *in = &ri->inst[ri->n_inst];
        in->name = str_of(it, "instance");
        in->stage = str_of(it, "stage");
        in->fingerprint = str_of(it, "fingerprint");
        in->wall_s = NAN;
        if (!in->name || !in->fingerprint) {
            free(in->name), free(in->stage), free(in->fingerprint);
            rc = bmc_err_set(err, "rerun the workflow with bmc-workflow run",
                             "%s: instance %zu has no 'instance' or 'fingerprint'", path, i);
            goto done;
        }
        ri->n_inst++;
        const bmc_cfg_node *outs = bmc_cfg_get(it, "outputs");
        size_t n = outs && outs->type == BMC_CFG_MAP ? outs->n : 0;
        in->out_keys = xcalloc(n ? n : 1, sizeof *in->out_keys);
        in->out_paths = xcalloc(n ? n : 1, sizeof *in->out_paths);
        for (size_t k = 0; k < n; k++) {
            if (!outs->items[k]->text) continue;
            in->out_keys[in->n_outputs] = xstrdup(outs->keys[k]);
            in->out_paths[in->n_outputs++] = ag_normpath(outs->items[k]->text);
        }
        const bmc_cfg_node *pm = bmc_cfg_get(it, "params");
        in->params = pm ? bmc_cfg_clone(pm) : NULL;
    }
done:
    bmc_cfg_free(root);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Local: split line (modified in place) at tabs into at most max fields. */
static int split_tabs(char *line, char **f, int max) {
    int n = 0;
    for (char *s = line; n < max;) {
        f[n++] = s;
        char *t = strchr(s, '\t');
        if (!t) break;
        *t = 0;
        s = t + 1;
    }
    return n;
}

static ag_instance *find_instance(ag_runinfo *ri, const char *name) {
    for (size_t i = 0; i < ri->n_inst; i++)
        if (!strcmp(ri->inst[i].name, name)) return &ri->inst[i];
    return NULL;
}

/* Local: apply the COMPLETED rows of one trace file (later files override earlier ones). */
static int read_trace(ag_runinfo *ri, const char *path, bmc_err *err) {
    char *text = bmc_read_file(path, NULL, err);
    if (!text) return -1;
    enum { MAXF = 64 };
    char *f[MAXF];
    int col_inst = -1, col_status = -1, col_wall = -1, col_ranks = -1, col_fp = -1, nh = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int nf = split_tabs(line, f, MAXF);
        if (col_inst < 0 && nh == 0) {
            nh = nf;
            for (int c = 0; c < nf; c++) {
                if (!strcmp(f[c], "instance")) col_inst = c;
                if (!strcmp(f[c], "status")) col_status = c;
                if (!strcmp(f[c], "wall_s")) col_wall = c;
                if (!strcmp(f[c], "ranks")) col_ranks = c;
                if (!strcmp(f[c], "fingerprint")) col_fp = c;
            }
            if (col_inst < 0 || col_status < 0 || col_fp < 0) break; /* not a trace we know */
            continue;
        }
        if (nf <= col_inst || nf <= col_status || nf <= col_fp) continue;
        if (strcmp(f[col_status], "COMPLETED")) continue;
        ag_instance *in = find_instance(ri, f[col_inst]);
        if (!in || strcmp(in->fingerprint, f[col_fp])) continue;
        if (col_wall >= 0 && col_wall < nf) in->wall_s = strtod(f[col_wall], NULL);
        if (col_ranks >= 0 && col_ranks < nf) in->ranks = strtol(f[col_ranks], NULL, 10);
    }
    free(text);
    return 0;
}

static int read_traces(ag_runinfo *ri, bmc_err *err) {
    DIR *d = opendir(ri->dir);
    if (!d)
        return bmc_err_set(err, "set params.pipeline_info to the run's pipeline_info/ folder",
                           "%s: cannot open the folder", ri->dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        int tsv = len > 4 && !strcmp(nm + len - 4, ".tsv");
        int part = len > 12 && !strcmp(nm + len - 12, ".tsv.partial");
        if (strncmp(nm, "execution_trace_", 16) || !(tsv || part)) continue;
        if (n == cap) names = xrealloc(names, (cap = cap ? 2 * cap : 8) * sizeof *names);
        names[n++] = xstrdup(nm);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = bmc_path_join(ri->dir, names[i]);
        if (!rc) rc = read_trace(ri, path, err);
        free(path);
        free(names[i]);
    }
    free(names);
    return rc;
}

int ag_runinfo_read(ag_runinfo *ri, const char *dir, bmc_err *err) {
    memset(ri, 0, sizeof *ri);
    ri->dir = xstrdup(dir);
    char *cfg = bmc_path_join(dir, "config_resolved.yaml");
    int rc = 0;
    if (!bmc_path_exists(cfg))
        rc = bmc_err_set(err, "run the workflow with bmc-workflow run (it writes pipeline_info/), "
                         "or set params.pipeline_info",
                         "%s does not exist: the run's record is needed to check fingerprints",
                         cfg);
    if (!rc) rc = read_instances(ri, cfg, err);
    if (!rc) rc = read_traces(ri, err);
    free(cfg);
    char *sv = bmc_path_join(dir, "software_versions.yaml");
    if (!rc && bmc_path_exists(sv)) {
        bmc_err ignore = {0}; /* optional: a malformed file only loses the versions table */
        ri->software = bmc_cfg_load_file(sv, &ignore);
    }
    free(sv);
    return rc;
}

void ag_runinfo_free(ag_runinfo *ri) {
    for (size_t i = 0; i < ri->n_inst; i++) {
        ag_instance *in = &ri->inst[i];
        for (size_t k = 0; k < in->n_outputs; k++) free(in->out_keys[k]), free(in->out_paths[k]);
        free(in->out_keys), free(in->out_paths);
        free(in->name), free(in->stage), free(in->fingerprint);
        if (in->params) bmc_cfg_free_node(in->params);
    }
    free(ri->inst);
    free(ri->dir), free(ri->workflow), free(ri->run);
    if (ri->software) bmc_cfg_free(ri->software);
    memset(ri, 0, sizeof *ri);
}

const ag_instance *ag_runinfo_producer(const ag_runinfo *ri, const char *path,
                                       const char **key) {
    char *np = ag_normpath(path);
    const ag_instance *hit = NULL;
    for (size_t i = 0; i < ri->n_inst && !hit; i++)
        for (size_t k = 0; k < ri->inst[i].n_outputs; k++)
            if (!strcmp(ri->inst[i].out_paths[k], np)) {
                hit = &ri->inst[i];
                if (key) *key = ri->inst[i].out_keys[k];
                break;
            }
    free(np);
    return hit;
}
