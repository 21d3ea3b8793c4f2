/* plan.c — from expanded instances to an ordered plan: links, order, programs, versions,
 * and the planning sequence (wf_plan) that also runs the path checks, the stages' --check and
 * the fingerprints.
 *
 * Inputs are linked to the instance that writes the same file, under any spelling (canonical
 * paths: links resolved); an input no one writes must exist on disk. The order is
 * topological, ties broken by definition order (stage, then foreach item). A cycle is
 * reported as `a → b → a`. Nothing is created on disk.
 * Not here: what is up to date (decide.c), running anything but `--version` and `--check`.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_h5io.h"
#include "bmc_log.h"
#include "bmc_stage.h"
#include "workflow.h"

#define VERSION_TIMEOUT_S 60.0

typedef struct out_ref {
    const char *path;
    size_t inst;
} out_ref;

static int cmp_out_ref(const void *a, const void *b) {
    return strcmp(((const out_ref *)a)->path, ((const out_ref *)b)->path);
}

/* Set every input's producer; an input nobody writes must exist. */
static int link_inputs(wf_workflow *wf, bmc_err *err) {
    size_t n_out = 0;
    for (size_t k = 0; k < wf->n_inst; k++) n_out += wf->inst[k].n_outputs;
    out_ref *refs = XNEW(refs, n_out ? n_out : 1);
    size_t m = 0;
    for (size_t k = 0; k < wf->n_inst; k++)
        for (size_t o = 0; o < wf->inst[k].n_outputs; o++)
            refs[m++] = (out_ref){wf->inst[k].outputs[o].canonical, k};
    if (n_out) qsort(refs, n_out, sizeof *refs, cmp_out_ref);
    int rc = 0;
    for (size_t k = 0; k < wf->n_inst && rc == 0; k++) {
        wf_instance *in = &wf->inst[k];
        for (size_t i = 0; i < in->n_inputs && rc == 0; i++) {
            wf_path *p = &in->inputs[i];
            out_ref key = {p->canonical, 0};
            const out_ref *hit = n_out ? bsearch(&key, refs, n_out, sizeof *refs, cmp_out_ref)
                                       : NULL;
            if (hit) {
                p->producer = hit->inst;
            } else if (!bmc_path_exists(p->path)) {
                rc = bmc_cfg_error_at(
                    p->node, err,
                    "check the path (relative paths start at the current folder), create the "
                    "file, or add a stage that lists it among its outputs",
                    "input '%s' of '%s' is '%s', which no stage writes and which does not exist",
                    p->name, in->name, p->path);
            }
        }
    }
    free(refs);
    return rc;
}

/* Report a cycle among the instances not yet placed (placed[k] == 0). Returns -1. */
static int report_cycle(const wf_workflow *wf, const char *placed, bmc_err *err) {
    size_t n = wf->n_inst;
    size_t *seen_at = XNEW(seen_at, n), *walk = XNEW(walk, n + 1);
    for (size_t k = 0; k < n; k++) seen_at[k] = WF_NONE;
    size_t v = 0;
    while (placed[v]) v++;
    size_t steps = 0;
    while (seen_at[v] == WF_NONE) {
        seen_at[v] = steps;
        walk[steps++] = v;
        const wf_instance *in = &wf->inst[v];
        size_t next = WF_NONE;
        for (size_t i = 0; i < in->n_inputs && next == WF_NONE; i++)
            if (in->inputs[i].producer != WF_NONE && !placed[in->inputs[i].producer])
                next = in->inputs[i].producer;
        BMC_CHECK(next != WF_NONE);
        v = next;
    }
    /* walk[j+1] writes an input of walk[j]: data flows walk[last] → ... → walk[first]. */
    size_t first = seen_at[v], len = steps - first;
    size_t start = 0; /* position (in data-flow order) of the earliest-defined stage */
    for (size_t j = 0; j < len; j++) {
        size_t a = walk[steps - 1 - j], b = walk[steps - 1 - start];
        if (a < b) start = j;
    }
    char msg[BMC_ERR_MSG_MAX];
    size_t used = (size_t)snprintf(msg, sizeof msg, "dependency cycle: ");
    for (size_t j = 0; j <= len && used < sizeof msg; j++) {
        size_t idx = walk[steps - 1 - (start + j) % len];
        used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", j ? " → " : "",
                                 wf->stages[wf->inst[idx].stage].name);
    }
    const wf_stage *st = &wf->stages[wf->inst[walk[steps - 1 - start]].stage];
    bmc_err_set(err,
                "a stage cannot read what it writes, directly or through other stages: "
                "remove one of these inputs or rename an output",
                "%s:%d:%d: %s", wf->path, st->key_line, st->key_col, msg);
    free(seen_at);
    free(walk);
    return -1;
}

/* Topological order, ties broken by instance index (definition order). */
static int order_instances(wf_workflow *wf, bmc_err *err) {
    size_t n = wf->n_inst;
    wf->order = XNEW(wf->order, n ? n : 1);
    char *placed = xcalloc(n ? n : 1, 1);
    for (size_t done = 0; done < n; done++) {
        size_t pick = WF_NONE;
        for (size_t k = 0; k < n && pick == WF_NONE; k++) {
            if (placed[k]) continue;
            int ready = 1;
            for (size_t i = 0; i < wf->inst[k].n_inputs && ready; i++) {
                size_t p = wf->inst[k].inputs[i].producer;
                if (p != WF_NONE && !placed[p]) ready = 0;
            }
            if (ready) pick = k;
        }
        if (pick == WF_NONE) {
            report_cycle(wf, placed, err);
            free(placed);
            return -1;
        }
        placed[pick] = 1;
        wf->order[done] = pick;
    }
    free(placed);
    return 0;
}

/* The launcher template's words with {tasks} and {cpus_per_task} replaced (heap). */
char **wf_launcher_words(const wf_workflow *wf, long long tasks, long long cpus, size_t *n) {
    char **words = wf_split_words(wf->launcher, n);
    for (size_t w = 0; w < *n; w++) {
        char *s = words[w], *p;
        while ((p = strstr(s, "{tasks}")) || (p = strstr(s, "{cpus_per_task}"))) {
            int is_tasks = !strncmp(p, "{tasks}", 7);
            char *r = bmc_xasprintf("%.*s%lld%s", (int)(p - s), s, is_tasks ? tasks : cpus,
                                    p + (is_tasks ? 7 : 15));
            free(s);
            s = r;
        }
        words[w] = s;
    }
    return words;
}

/* Error about the launcher, at its YAML position when it came from the workflow. */
static int launcher_error(const wf_workflow *wf, bmc_err *err, const char *hint, const char *what) {
    if (wf->launcher_node) return bmc_cfg_error_at(wf->launcher_node, err, hint, "%s", what);
    return bmc_err_set(err, hint, "%s", what);
}

static int check_launcher(wf_workflow *wf, bmc_err *err) {
    size_t n;
    char **words = wf_launcher_words(wf, 1, 1, &n);
    int rc = 0;
    char what[BMC_ERR_MSG_MAX];
    for (size_t w = 0; w < n && rc == 0; w++)
        if (strchr(words[w], '{') || strchr(words[w], '}')) {
            snprintf(what, sizeof what, "launcher '%s' has an unknown placeholder in '%s'",
                     wf->launcher, words[w]);
            rc = launcher_error(wf, err, "the launcher knows {tasks} and {cpus_per_task} only",
                                what);
        }
    if (rc == 0 && n > 0) {
        wf->launcher_exe = wf_find_executable(words[0]);
        if (!wf->launcher_exe) {
            snprintf(what, sizeof what, "launcher program '%s' not found on PATH", words[0]);
            rc = launcher_error(wf, err,
                                "install Open MPI (apt-get install openmpi-bin), or set "
                                "`launcher:` / --launcher (\"\" runs stages directly)",
                                what);
        }
    }
    wf_free_words(words, n);
    return rc;
}

static int resolve_executables(wf_workflow *wf, bmc_err *err) {
    for (size_t k = 0; k < wf->n_inst; k++) {
        wf_instance *in = &wf->inst[k];
        const wf_stage *st = &wf->stages[in->stage];
        in->exe = wf_find_executable(in->run_words[0]);
        if (!in->exe)
            return bmc_cfg_error_at(st->run, err,
                                    "build it, or give its path; programs are looked up next "
                                    "to bmc-workflow first, then on PATH",
                                    "executable '%s' of stage '%s' not found", in->run_words[0],
                                    st->name);
    }
    return 0;
}

/* Run each distinct command's `--version` once. */
static int query_versions(wf_workflow *wf, bmc_err *err) {
    wf->versions = XNEW(wf->versions, wf->n_inst ? wf->n_inst : 1);
    for (size_t k = 0; k < wf->n_inst; k++) {
        wf_instance *in = &wf->inst[k];
        char **argv = XNEW(argv, in->n_run_words + 2);
        argv[0] = in->exe;
        for (size_t w = 1; w < in->n_run_words; w++) argv[w] = in->run_words[w];
        argv[in->n_run_words] = "--version";
        argv[in->n_run_words + 1] = NULL;
        char *command = wf_join_words(argv, in->n_run_words);
        size_t v = 0;
        while (v < wf->n_versions && strcmp(wf->versions[v].command, command)) v++;
        if (v < wf->n_versions) {
            in->version = v;
            free(command);
            free(argv);
            continue;
        }
        char *output = NULL;
        int rc = wf_capture(argv, VERSION_TIMEOUT_S, &output);
        free(argv);
        if (rc != 0) {
            const wf_stage *st = &wf->stages[in->stage];
            char hint[BMC_ERR_HINT_MAX];
            snprintf(hint, sizeof hint,
                     "every stage program must print its version (it is part of the "
                     "fingerprint); run `%s --version` by hand to see why it fails",
                     command);
            if (rc == 124)
                bmc_cfg_error_at(st->run, err, hint,
                                 "`%s --version` of stage '%s' did not finish in %.0f s",
                                 command, st->name, VERSION_TIMEOUT_S);
            else
                bmc_cfg_error_at(st->run, err, hint,
                                 "`%s --version` of stage '%s' failed with exit code %d",
                                 command, st->name, rc);
            free(command);
            free(output);
            return -1;
        }
        wf->versions[wf->n_versions++] =
            (wf_version){command, output, strstr(output, "\nstage-protocol: check") != NULL};
        in->version = v;
    }
    return 0;
}

bmc_cfg_node *wf_paths_tree(const wf_path *paths, size_t n, int fingerprints) {
    bmc_cfg_node *map = bmc_cfg_new_map(), *list = NULL;
    for (size_t k = 0; k < n; k++) {
        const wf_path *p = &paths[k];
        bmc_cfg_node *value = bmc_cfg_new_string(fingerprints ? p->fingerprint : p->path);
        value->file = p->node->file, value->line = p->node->line, value->col = p->node->col;
        if (p->list_index < 0) {
            bmc_cfg_map_set(map, p->name, value);
            continue;
        }
        if (p->list_index == 0) {
            list = bmc_cfg_new_seq();
            bmc_cfg_map_set(map, p->name, list);
        }
        BMC_CHECK(list != NULL);
        bmc_cfg_seq_push(list, value);
    }
    return map;
}

char *wf_stored_fingerprint(const char *path) {
    char *fp = NULL;
    if (bmc_h5_is_hdf5(path)) {
        if (bmc_h5_peek_root_str(path, "stage_fingerprint", &fp) != 0) return NULL;
        return fp;
    }
    return bmc_sidecar_fingerprint(path);
}

long long wf_ranks(const wf_workflow *wf, const wf_stage *st) {
    if (!wf->launcher[0] || !wf->launcher_exe) return 1;
    return strstr(wf->launcher, "{tasks}") ? st->tasks : 0;
}

bmc_cfg_node *wf_resources_tree(const wf_stage *st) {
    bmc_cfg_node *r = bmc_cfg_new_map();
    bmc_cfg_map_set(r, "tasks", bmc_cfg_new_int(st->tasks));
    bmc_cfg_map_set(r, "cpus_per_task", bmc_cfg_new_int(st->cpus_per_task));
    bmc_cfg_map_set(r, "mem_mb", bmc_cfg_new_int(st->mem_mb));
    bmc_cfg_map_set(r, "runtime", bmc_cfg_new_int(st->runtime));
    return r;
}

bmc_cfg_node *wf_stage_config(const wf_workflow *wf, const wf_instance *in, int with_fingerprint) {
    const wf_stage *st = &wf->stages[in->stage];
    bmc_cfg_node *t = bmc_cfg_new_map();
    bmc_cfg_map_set(t, "stage", bmc_cfg_new_string(st->name));
    bmc_cfg_map_set(t, "instance", bmc_cfg_new_string(in->name));
    if (with_fingerprint) bmc_cfg_map_set(t, "fingerprint", bmc_cfg_new_string(in->fingerprint));
    bmc_cfg_map_set(t, "inputs", wf_paths_tree(in->inputs, in->n_inputs, 0));
    bmc_cfg_map_set(t, "outputs", wf_paths_tree(in->outputs, in->n_outputs, 0));
    bmc_cfg_node *params = bmc_cfg_clone(in->params);
    if (!params->line) params->file = st->node->file, params->line = st->key_line,
                       params->col = st->key_col;
    bmc_cfg_map_set(t, "params", params);
    bmc_cfg_map_set(t, "resources", wf_resources_tree(st));
    bmc_cfg_map_set(t, "hash_cache", bmc_cfg_new_string(wf->hash_cache));
    return t;
}

char *wf_emit_yaml(const bmc_cfg_node *tree, const char *comment, size_t *len) {
    char *buf = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&buf, &n);
    BMC_CHECK(mem != NULL);
    if (comment) fprintf(mem, "# %s\n", comment);
    int rc = bmc_cfg_emit(tree, mem);
    fclose(mem);
    BMC_CHECK(rc == 0);
    if (len) *len = n;
    return buf;
}

/* Run one planning step, timed at debug level. */
static int step(wf_workflow *wf, int (*fn)(wf_workflow *, bmc_err *), const char *what,
                bmc_err *err) {
    double t0 = bmc_now();
    int rc = fn(wf, err);
    bmc_log_debug("planning: %s in %.3f s", what, bmc_now() - t0);
    return rc;
}

static int check_paths(wf_workflow *wf, bmc_err *err) { return wf_check_paths(wf, err); }

int wf_plan(wf_workflow *wf, bmc_err *err) {
    if (step(wf, resolve_executables, "programs", err) ||
        step(wf, check_paths, "output checks", err) || step(wf, link_inputs, "links", err) ||
        step(wf, order_instances, "order", err) || step(wf, check_launcher, "launcher", err) ||
        step(wf, query_versions, "versions", err) ||
        step(wf, wf_check_stages, "stage checks", err) ||
        step(wf, wf_fingerprints, "fingerprints", err))
        return -1;
    return 0;
}
