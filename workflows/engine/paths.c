/* paths.c — refuse, before anything runs, every output that could destroy something.
 *
 * Paths are compared as files: canonical paths (links resolved, `..` folded) and, for files
 * that exist, device and inode numbers (so a hard link is caught too). An output may not be
 * another output or nest with one, be an external input or nest with one, be the workflow
 * file or a program of the workflow, hold the run directory, lie in its pipeline_info/ or
 * logs/, or be the hash cache; and an existing output must carry brainmclip's stamp
 * (bmc_output_owned). Errors point at the output's position in the workflow.
 * Not here: the same checks inside each stage (bmc_stage_out.c), dependencies (plan.c).
 */
#define _XOPEN_SOURCE 700 /* lstat */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_stage.h"
#include "workflow.h"

/* One path to compare against: its canonical text and, when it exists, its inode. */
typedef struct ident {
    const char *what;            /* "output 'model' of 'train[1]'" (heap)          */
    char *canonical;             /* heap                                            */
    int exists;
    dev_t dev;
    ino_t ino;
} ident;

static ident ident_of(const char *path, char *what) {
    ident id = {what, bmc_path_canonical(path), 0, 0, 0};
    struct stat st;
    if (stat(path, &st) == 0) id.exists = 1, id.dev = st.st_dev, id.ino = st.st_ino;
    return id;
}

static int same(const ident *a, const ident *b) {
    if (a->exists && b->exists) return a->dev == b->dev && a->ino == b->ino;
    return !strcmp(a->canonical, b->canonical);
}

/* 1 when canonical path inner lies strictly below canonical folder outer. */
static int below(const char *inner, const char *outer) {
    size_t n = strlen(outer);
    if (!strcmp(outer, "/")) return strcmp(inner, "/") != 0;
    return !strncmp(inner, outer, n) && inner[n] == '/';
}

typedef struct ident_list {
    ident *v;
    size_t n, cap;
} ident_list;

static void add(ident_list *l, ident id) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->v = xrealloc(l->v, bmc_mul_size(l->cap, sizeof *l->v));
    }
    l->v[l->n++] = id;
}

static void list_free(ident_list *l) {
    for (size_t k = 0; k < l->n; k++) free((char *)l->v[k].what), free(l->v[k].canonical);
    free(l->v);
}

/* Error when output o and path q are the same file or nest. */
static int clash(const wf_path *o, const char *oname, const ident *io, const ident *q,
                 int q_is_output, bmc_err *err) {
    const char *how = same(io, q)                             ? "is"
                      : below(q->canonical, io->canonical)    ? "would replace a folder that holds"
                      : below(io->canonical, q->canonical)    ? "lies inside"
                                                              : NULL;
    if (!how) return 0;
    return bmc_cfg_error_at(o->node, err,
                            q_is_output ? "give each output its own file: an output folder "
                                          "is replaced whole, with whatever it holds"
                                        : "give the output its own path: a stage never writes "
                                          "over or into what it reads",
                            "output '%s' of '%s' (%s) %s %s (%s)", o->name, oname, o->path, how,
                            q->what, q->canonical);
}

/* The paths no output may touch: external inputs, the workflow file, the programs and
 * scripts of `run`, the hash cache. */
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void protected_paths(const wf_workflow *wf, ident_list *l) {
    /* External inputs: no output has their canonical path (the rule links use), links
     * aside: an output that is a symbolic link to an input does not make it produced. */
    size_t n_out = 0;
    for (size_t k = 0; k < wf->n_inst; k++) n_out += wf->inst[k].n_outputs;
    const char **outs = XNEW(outs, n_out ? n_out : 1);
    n_out = 0;
    for (size_t k = 0; k < wf->n_inst; k++)
        for (size_t o = 0; o < wf->inst[k].n_outputs; o++) {
            struct stat st;
            if (lstat(wf->inst[k].outputs[o].path, &st) == 0 && S_ISLNK(st.st_mode)) continue;
            outs[n_out++] = wf->inst[k].outputs[o].canonical;
        }
    if (n_out) qsort(outs, n_out, sizeof *outs, cmp_str);
    for (size_t k = 0; k < wf->n_inst; k++) {
        const wf_instance *in = &wf->inst[k];
        for (size_t i = 0; i < in->n_inputs; i++) {
            const wf_path *p = &in->inputs[i];
            const char *key = p->canonical;
            if (n_out && bsearch(&key, outs, n_out, sizeof *outs, cmp_str)) continue;
            int dup = 0;
            for (size_t j = 0; j < l->n && !dup; j++) dup = !strcmp(l->v[j].canonical, p->canonical);
            if (!dup)
                add(l, ident_of(p->path, bmc_xasprintf("input '%s' of '%s'", p->name, in->name)));
        }
    }
    free(outs);
    add(l, ident_of(wf->path, xstrdup("the workflow file")));
    add(l, ident_of(wf->hash_cache, xstrdup("the hash cache")));
    for (size_t k = 0; k < wf->n_inst; k++) {
        const wf_instance *in = &wf->inst[k];
        if (k > 0 && !strcmp(in->exe, wf->inst[k - 1].exe)) continue;
        add(l, ident_of(in->exe, bmc_xasprintf("the program of '%s'", in->name)));
    }
}

/* Error when output o is or holds the run directory, or lies in its bookkeeping folders. */
static int reserved(const wf_workflow *wf, const wf_path *o, const char *oname, const ident *io,
                    bmc_err *err) {
    char *run = bmc_path_canonical(wf->run_dir);
    char *info = bmc_path_join(run, "pipeline_info"), *logs = bmc_path_join(run, "logs");
    const char *how = NULL;
    if (!strcmp(io->canonical, run) || below(run, io->canonical))
        how = "would replace the run directory";
    else if (!strcmp(io->canonical, info) || below(io->canonical, info))
        how = "lies in the run's pipeline_info/, which bmc-workflow writes";
    else if (!strcmp(io->canonical, logs) || below(io->canonical, logs))
        how = "lies in the run's logs/, which bmc-workflow writes";
    int rc = 0;
    if (how)
        rc = bmc_cfg_error_at(o->node, err, "write outputs to files or folders of their own "
                                            "inside {run_dir}",
                              "output '%s' of '%s' (%s) %s", o->name, oname, o->path, how);
    free(run);
    free(info);
    free(logs);
    return rc;
}

int wf_check_paths(const wf_workflow *wf, bmc_err *err) {
    ident_list prot = {0}, outs = {0};
    protected_paths(wf, &prot);
    int rc = 0;
    char why[BMC_ERR_MSG_MAX / 2];
    for (size_t k = 0; k < wf->n_inst && !rc; k++) {
        const wf_instance *in = &wf->inst[k];
        for (size_t o = 0; o < in->n_outputs && !rc; o++) {
            const wf_path *p = &in->outputs[o];
            ident io = ident_of(p->path, bmc_xasprintf("output '%s' of '%s'", p->name, in->name));
            rc = reserved(wf, p, in->name, &io, err);
            for (size_t j = 0; j < prot.n && !rc; j++) rc = clash(p, in->name, &io, &prot.v[j], 0, err);
            for (size_t j = 0; j < outs.n && !rc; j++) rc = clash(p, in->name, &io, &outs.v[j], 1, err);
            if (!rc && !bmc_output_owned(p->path, why, sizeof why))
                rc = bmc_cfg_error_at(p->node, err,
                                      "brainmclip replaces only what it wrote: move it away, or "
                                      "choose another output path",
                                      "output '%s' of '%s' (%s) %s", p->name, in->name, p->path,
                                      why);
            if (!rc && !bmc_partial_owned(p->path, why, sizeof why))
                rc = bmc_cfg_error_at(p->node, err, "brainmclip replaces only what it wrote",
                                      "output '%s' of '%s': %s", p->name, in->name, why);
            add(&outs, io);
        }
    }
    list_free(&prot);
    list_free(&outs);
    return rc ? -1 : 0;
}
