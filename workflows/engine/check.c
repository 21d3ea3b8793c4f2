/* check.c — every stage instance validated by its own program before anything runs.
 *
 * For each instance whose program prints `stage-protocol: check` in its --version, the
 * engine writes the stage config it would get (without the fingerprint, not yet known) to a
 * temporary file and runs `PROGRAM ARGS --check --config TMP`, several at a time. The stage
 * reads its parameters with the same code as for a run and either prints its report (YAML:
 * speed_only, reads, missing) or an `error: TMP:L:C: ...` line. The config was emitted from
 * a tree whose nodes carry their workflow positions, so reading it back and walking both
 * trees side by side maps any position in TMP to the workflow's file:line:col.
 * Not here: what the report is used for (fingerprint.c), the stage side (bmc_stage.c).
 */
#define _GNU_SOURCE /* mkstemps */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "workflow.h"

#define CHECK_TIMEOUT_S 60.0
#define MAX_PARALLEL 8

/* A position in the temporary config and the workflow position it stands for. */
typedef struct pos_pair {
    int line, col;
    const char *file;
    int src_line, src_col;
} pos_pair;

typedef struct pos_map {
    pos_pair *v;
    size_t n, cap;
} pos_map;

static void map_add(pos_map *m, int line, int col, const char *file, int src_line, int src_col) {
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->v = xrealloc(m->v, bmc_mul_size(m->cap, sizeof *m->v));
    }
    m->v[m->n++] = (pos_pair){line, col, file, src_line, src_col};
}

/* Walk the reloaded tree g and the tree s it was emitted from (same shape); s's nodes
 * without a position take the nearest positioned ancestor's (at). Keys and children come
 * first: a block map starts where its first key does, and the key is the better answer. */
static void map_walk(pos_map *m, const bmc_cfg_node *g, const bmc_cfg_node *s,
                     const bmc_cfg_node *at) {
    if (s->line > 0) at = s;
    for (size_t k = 0; k < g->n && g->n == s->n && g->type == s->type; k++) {
        if (g->type == BMC_CFG_MAP) {
            int has = s->key_line && s->key_line[k] > 0;
            map_add(m, g->key_line[k], g->key_col[k], at->file, has ? s->key_line[k] : at->line,
                    has ? s->key_col[k] : at->col);
        }
        map_walk(m, g->items[k], s->items[k], at);
    }
    map_add(m, g->line, g->col, at->file, at->line, at->col);
}

/* One instance's check: its temporary config, the position map, the command. */
typedef struct check_job {
    size_t inst;
    char *config;
    pos_map map;
    char **argv;
} check_job;

/* Write the instance's stage config to a temporary file and map its positions. */
static int prepare(const wf_workflow *wf, size_t k, check_job *cj, bmc_err *err) {
    const wf_instance *in = &wf->inst[k];
    const wf_stage *st = &wf->stages[in->stage];
    cj->inst = k;
    bmc_cfg_node *tree = wf_stage_config(wf, in, 0);
    size_t len = 0;
    char *text = wf_emit_yaml(tree, NULL, &len);
    const char *tmpdir = getenv("TMPDIR");
    cj->config = bmc_xasprintf("%s/bmc-check-%s-XXXXXX.yaml",
                               tmpdir && tmpdir[0] ? tmpdir : "/tmp", in->file_name);
    int fd = mkstemps(cj->config, 5);
    int rc = 0;
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        rc = bmc_err_set(err, "set TMPDIR to a writable folder",
                         "cannot write a temporary stage config %s", cj->config);
    }
    if (fd >= 0) close(fd);
    bmc_err quiet = {0};
    bmc_cfg_node *again = rc ? NULL : bmc_cfg_load_string(text, cj->config, &quiet);
    BMC_CHECK(rc || again != NULL);
    bmc_cfg_node stage_pos = {.file = st->node->file, .line = st->key_line, .col = st->key_col};
    if (again) map_walk(&cj->map, again, tree, &stage_pos);
    if (again) bmc_cfg_free(again);
    bmc_cfg_free_node(tree);
    free(text);
    cj->argv = XNEW(cj->argv, in->n_run_words + 4);
    size_t a = 0;
    cj->argv[a++] = in->exe;
    for (size_t w = 1; w < in->n_run_words; w++) cj->argv[a++] = in->run_words[w];
    cj->argv[a++] = "--check";
    cj->argv[a++] = "--config";
    cj->argv[a++] = cj->config;
    cj->argv[a] = NULL;
    return rc;
}

/* The line of text starting with prefix (a heap copy without the prefix), or NULL. */
static char *line_after(const char *text, const char *prefix) {
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, n)) {
            size_t len = strcspn(p + n, "\n");
            char *s = xmalloc(len + 1);
            memcpy(s, p + n, len);
            s[len] = '\0';
            return s;
        }
    return NULL;
}

/* The stage's own error, at the workflow position its `TMP:L:C:` prefix maps to. */
static int report_failure(const wf_workflow *wf, const check_job *cj, const wf_job *job,
                          bmc_err *err) {
    const wf_instance *in = &wf->inst[cj->inst];
    const wf_stage *st = &wf->stages[in->stage];
    const char *said = strstr(job->err, "error: ") ? job->err : job->out; /* stderr first */
    char *msg = line_after(said, "error: ");
    char *hint = line_after(said, "  hint: ");
    int rc;
    if (!msg) {
        char *last = strrchr(job->err, '\n');
        rc = bmc_cfg_error_at(st->run, err, "run the stage's --check by hand to see why",
                              "`%s --check` of '%s' failed with exit code %d%s%s", in->run_words[0],
                              in->name, job->status, job->err[0] ? ": " : "",
                              last ? last + 1 : job->err);
    } else {
        size_t plen = strlen(cj->config);
        int line = 0, col = 0, used = 0;
        const char *file = wf->path;
        int src_line = st->key_line, src_col = st->key_col;
        const char *text = msg;
        if (!strncmp(msg, cj->config, plen) &&
            sscanf(msg + plen, ":%d:%d: %n", &line, &col, &used) == 2 && used > 0) {
            text = msg + plen + used;
            for (size_t k = 0; k < cj->map.n; k++)
                if (cj->map.v[k].line == line && cj->map.v[k].col == col) {
                    file = cj->map.v[k].file;
                    src_line = cj->map.v[k].src_line;
                    src_col = cj->map.v[k].src_col;
                    break;
                }
        }
        rc = bmc_err_set(err, hint ? hint : "see the stage's --help", "%s:%d:%d: %s (%s)", file,
                         src_line, src_col, text, in->name);
    }
    free(msg);
    free(hint);
    return rc;
}

/* The strings of a sequence node (heap words), *n = count. */
static char **strings_of(const bmc_cfg_node *seq, size_t *n) {
    *n = 0;
    if (!seq || seq->type != BMC_CFG_SEQ) return NULL;
    char **out = XNEW(out, seq->n ? seq->n : 1);
    for (size_t k = 0; k < seq->n; k++)
        if (seq->items[k]->text) out[(*n)++] = xstrdup(seq->items[k]->text);
    return out;
}

/* Take the stage's report: speed-only keys and the declared reads of each input. */
static int take_report(wf_workflow *wf, const check_job *cj, const wf_job *job, bmc_err *err) {
    wf_instance *in = &wf->inst[cj->inst];
    bmc_err perr = {0};
    bmc_cfg_node *rep = bmc_cfg_load_string(job->out, "--check report", &perr);
    const bmc_cfg_node *marker = rep ? bmc_cfg_get(rep, "bmc-check") : NULL;
    if (!marker || marker->type != BMC_CFG_INT || marker->v.i != 1) {
        if (rep) bmc_cfg_free(rep);
        return bmc_cfg_error_at(wf->stages[in->stage].run, err,
                                "the program says it speaks `--check` but printed something "
                                "else; run it by hand",
                                "`%s --check` of '%s' printed no report", in->run_words[0],
                                in->name);
    }
    in->speed_only = strings_of(bmc_cfg_get(rep, "speed_only"), &in->n_speed_only);
    const bmc_cfg_node *reads = bmc_cfg_get(rep, "reads"), *missing = bmc_cfg_get(rep, "missing");
    for (size_t i = 0; i < in->n_inputs; i++) {
        wf_path *p = &in->inputs[i];
        const bmc_cfg_node *r = bmc_cfg_get(reads, p->name), *m = bmc_cfg_get(missing, p->name);
        if (!r && !m) continue;
        p->declared = 1;
        p->reads = strings_of(r, &p->n_reads);
        p->missing = strings_of(m, &p->n_missing);
    }
    bmc_cfg_free(rep);
    return 0;
}

int wf_check_stages(wf_workflow *wf, bmc_err *err) {
    check_job *cj = xcalloc(wf->n_inst ? wf->n_inst : 1, sizeof *cj);
    size_t n = 0;
    int rc = 0;
    for (size_t o = 0; o < wf->n_inst && !rc; o++) {
        size_t k = wf->order[o];
        if (!wf->versions[wf->inst[k].version].checks) continue;
        rc = prepare(wf, k, &cj[n], err);
        n++;
    }
    wf_job *jobs = xcalloc(n ? n : 1, sizeof *jobs);
    for (size_t j = 0; j < n; j++) jobs[j].argv = cj[j].argv;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t parallel = cpus < 1 ? 1 : cpus > MAX_PARALLEL ? MAX_PARALLEL : (size_t)cpus;
    if (!rc) wf_capture_all(jobs, n, parallel, CHECK_TIMEOUT_S);
    for (size_t j = 0; j < n; j++) {
        if (!rc && jobs[j].status != 0) rc = report_failure(wf, &cj[j], &jobs[j], err);
        if (!rc) rc = take_report(wf, &cj[j], &jobs[j], err);
        unlink(cj[j].config);
        free(cj[j].config);
        free(cj[j].map.v);
        free(cj[j].argv);
        free(jobs[j].out);
        free(jobs[j].err);
    }
    free(jobs);
    free(cj);
    return rc ? -1 : 0;
}
