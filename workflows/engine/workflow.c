/* workflow.c — parse and validate a workflow YAML, then expand its stages into instances.
 *
 * Every schema problem (unknown or missing key, wrong type, value out of range, bad name,
 * bad placeholder, duplicate output) is reported at its file:line:col with a hint, before
 * anything touches the disk. Expansion: one instance per stage, per subject (foreach:
 * subjects) or per ordered subject pair (foreach: subject_pairs), with `run`, paths and
 * every string in `params` resolved; an input `{foreach: subjects, path: P}` becomes the
 * list of P over every subject and a params string "{subjects}" the list of subjects, so
 * adding a subject needs no other edit. Subject and run names cannot be made of dots only,
 * so no placeholder value can climb out of the results folder.
 * Not here: dependencies and fingerprints (plan.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "workflow.h"

static const char *const top_keys[] = {"workflow", "description", "subjects", "launcher",
                                       "stages"};
static const char *const stage_keys[] = {"run",     "foreach", "inputs",
                                         "outputs", "params",  "resources"};
static const char *const resource_keys[] = {"tasks", "cpus_per_task", "mem_mb", "runtime"};
static const char *const foreach_choices[] = {"subjects", "subject_pairs"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void wf_normalise_path(char *path) {
    if (!path[0]) return;
    int absolute = path[0] == '/';
    char *out = path, *p = path;
    if (absolute) *out++ = '/', p++;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (!(len == 1 && p[0] == '.')) {
            if (out > path && out[-1] != '/') *out++ = '/';
            memmove(out, p, len);
            out += len;
        }
        p += len;
    }
    if (out == path) *out++ = '.';
    *out = '\0';
}

/* Error at a map key's position: "file:line:col: <msg>". Returns -1. */
static int key_error(const bmc_cfg_node *map, size_t k, bmc_err *err, const char *hint,
                     const char *fmt, ...) BMC_PRINTF(5, 6);
static int key_error(const bmc_cfg_node *map, size_t k, bmc_err *err, const char *hint,
                     const char *fmt, ...) {
    char msg[BMC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bmc_err_set(err, hint, "%s:%d:%d: %s", map->file ? map->file : "?",
                       map->key_line[k], map->key_col[k], msg);
}

/* 1 when s is a non-empty [A-Za-z0-9_-]+ (plus '.' when allow_dot, but not dots only: a
 * value that is "." or ".." would move a path). */
static int valid_name(const char *s, int allow_dot) {
    if (!s || !s[0] || strspn(s, ".") == strlen(s)) return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || (allow_dot && c == '.');
        if (!ok) return 0;
    }
    return 1;
}

/* Map-valued key: absent → *out = NULL; present but not a map → error. */
static int get_map(const bmc_cfg_node *parent, const char *key, const char *where,
                   const bmc_cfg_node **out, bmc_err *err) {
    *out = bmc_cfg_get(parent, key);
    if (*out && (*out)->type == BMC_CFG_NULL) *out = NULL;
    if (*out && (*out)->type != BMC_CFG_MAP)
        return bmc_cfg_error_at(*out, err, "write it as `name: value` pairs, one per line",
                                "'%s' in %s must be a mapping, not a %s", key, where,
                                bmc_cfg_type_name((*out)->type));
    return 0;
}

static int parse_subjects(wf_workflow *wf, bmc_err *err) {
    const bmc_cfg_node *seq = bmc_cfg_get(wf->root, "subjects");
    if (!seq || seq->type == BMC_CFG_NULL) return 0;
    if (seq->type != BMC_CFG_SEQ)
        return bmc_cfg_error_at(seq, err, "write `subjects: [1, 2]`",
                                "'subjects' must be a list, not a %s",
                                bmc_cfg_type_name(seq->type));
    wf->subjects = xcalloc(seq->n ? seq->n : 1, sizeof *wf->subjects);
    for (size_t k = 0; k < seq->n; k++) {
        const bmc_cfg_node *it = seq->items[k];
        wf_subject *s = &wf->subjects[wf->n_subjects];
        if (it->type == BMC_CFG_INT && it->v.i >= 0 && it->v.i <= 999999999) {
            s->is_int = 1;
            s->value = it->v.i;
            s->text = bmc_xasprintf("%lld", it->v.i);
        } else if (it->type == BMC_CFG_STRING && valid_name(it->text, 1)) {
            s->text = xstrdup(it->text);
        } else {
            return bmc_cfg_error_at(it, err,
                                    "use integers 0..999999999 or names of letters, digits, "
                                    "'_', '-' and '.' (not dots only)",
                                    "invalid subject '%s' in 'subjects'",
                                    it->text ? it->text : "(not a scalar)");
        }
        wf->n_subjects++;
        for (size_t j = 0; j + 1 < wf->n_subjects; j++)
            if (!strcmp(wf->subjects[j].text, s->text))
                return bmc_cfg_error_at(it, err, "list each subject once",
                                        "subject '%s' is listed twice in 'subjects'", s->text);
    }
    return 0;
}

static int parse_stage(wf_workflow *wf, size_t k, bmc_err *err) {
    const bmc_cfg_node *stages = wf->stages_node;
    wf_stage *st = &wf->stages[k];
    st->name = xstrdup(stages->keys[k]);
    st->node = stages->items[k];
    st->key_line = stages->key_line[k];
    st->key_col = stages->key_col[k];
    if (!valid_name(st->name, 0))
        return key_error(stages, k, err, "use letters, digits, '_' and '-' only",
                         "invalid stage name '%s'", st->name);
    if (st->node->type != BMC_CFG_MAP)
        return key_error(stages, k, err,
                         "give the stage `run`, `outputs` and optionally `inputs`, `params`, "
                         "`foreach`, `resources`",
                         "stage '%s' must be a mapping, not a %s", st->name,
                         bmc_cfg_type_name(st->node->type));
    char where[160];
    snprintf(where, sizeof where, "stage '%s'", st->name);
    if (bmc_cfg_check_keys(st->node, stage_keys, COUNT(stage_keys), where, err)) return -1;
    const char *run_text;
    if (bmc_cfg_string(st->node, "run", 1, NULL, &run_text, err)) return -1;
    st->run = bmc_cfg_get(st->node, "run");
    size_t n_words;
    char **words = wf_split_words(run_text, &n_words);
    wf_free_words(words, n_words);
    if (n_words == 0)
        return bmc_cfg_error_at(st->run, err, "write the executable and its fixed arguments",
                                "'run' of stage '%s' is empty", st->name);
    int fe = -1;
    if (bmc_cfg_enum(st->node, "foreach", 0, -1, foreach_choices, COUNT(foreach_choices), &fe,
                     err))
        return -1;
    st->foreach = fe == 0 ? WF_FOREACH_SUBJECTS : fe == 1 ? WF_FOREACH_PAIRS : WF_FOREACH_NONE;
    if (st->foreach != WF_FOREACH_NONE && wf->n_subjects == 0)
        return bmc_cfg_error_at(bmc_cfg_get(st->node, "foreach"), err,
                                "add `subjects: [1, 2]` at the top level of the workflow",
                                "stage '%s' has foreach '%s' but the workflow lists no subjects",
                                st->name, foreach_choices[fe]);
    if (get_map(st->node, "inputs", where, &st->inputs, err)) return -1;
    if (get_map(st->node, "outputs", where, &st->outputs, err)) return -1;
    if (get_map(st->node, "params", where, &st->params, err)) return -1;
    if (!st->outputs)
        return bmc_cfg_error_at(st->node, err,
                                "add `outputs: {name: path}`: a stage must write something",
                                "missing key 'outputs' in stage '%s'", st->name);
    if (st->outputs->n == 0)
        return bmc_cfg_error_at(st->outputs, err,
                                "add `name: path` entries: a stage must write something",
                                "stage '%s' has no outputs", st->name);
    const bmc_cfg_node *res;
    if (get_map(st->node, "resources", where, &res, err)) return -1;
    st->tasks = 1, st->cpus_per_task = 1, st->mem_mb = 1000, st->runtime = 60;
    if (res) {
        char rwhere[200];
        snprintf(rwhere, sizeof rwhere, "resources of stage '%s'", st->name);
        if (bmc_cfg_check_keys(res, resource_keys, COUNT(resource_keys), rwhere, err) ||
            bmc_cfg_int(res, "tasks", 0, 1, 1, 65536, &st->tasks, err) ||
            bmc_cfg_int(res, "cpus_per_task", 0, 1, 1, 1024, &st->cpus_per_task, err) ||
            bmc_cfg_int(res, "mem_mb", 0, 1000, 1, 16LL * 1024 * 1024, &st->mem_mb, err) ||
            bmc_cfg_int(res, "runtime", 0, 60, 1, 60LL * 24 * 365, &st->runtime, err))
            return -1;
    }
    return 0;
}

/* The scalar text of a path value, or an error. */
static const char *path_text(const bmc_cfg_node *node, const char *what, bmc_err *err) {
    if (node->type == BMC_CFG_MAP || node->type == BMC_CFG_SEQ || node->type == BMC_CFG_NULL ||
        !node->text || !node->text[0]) {
        bmc_cfg_error_at(node, err, "write a path such as \"{run_dir}/file.h5\"",
                         "%s must be a path, not %s", what,
                         node->type == BMC_CFG_NULL ? "empty" : bmc_cfg_type_name(node->type));
        return NULL;
    }
    return node->text;
}

/* Append one resolved path to *arr. Returns 0 or -1. */
static int add_path(wf_path **arr, size_t *n, size_t *cap, const char *name, int list_index,
                    const bmc_cfg_node *node, const char *what, const wf_vars *vars,
                    bmc_err *err) {
    const char *text = path_text(node, what, err);
    if (!text) return -1;
    char *path = wf_subst(text, vars, node, what, err);
    if (!path) return -1;
    wf_normalise_path(path);
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 4;
        *arr = xrealloc(*arr, bmc_mul_size(*cap, sizeof **arr));
    }
    wf_path *p = &(*arr)[(*n)++];
    memset(p, 0, sizeof *p);
    p->name = xstrdup(name);
    p->path = path;
    p->canonical = bmc_path_canonical(path);
    p->list_index = list_index;
    p->node = node;
    p->producer = WF_NONE;
    return 0;
}

/* An input `{foreach: subjects, path: P}`: one list entry per subject, with {subject} that
 * subject (the stage's own placeholders stay available). */
static int expand_each(const char *name, const bmc_cfg_node *v, const char *what,
                       const wf_vars *vars, wf_path **arr, size_t *n, size_t *cap,
                       bmc_err *err) {
    static const char *const keys[] = {"foreach", "path"};
    static const char *const choices[] = {"subjects"};
    int fe;
    if (bmc_cfg_check_keys(v, keys, 2, what, err) ||
        bmc_cfg_enum(v, "foreach", 1, 0, choices, 1, &fe, err))
        return -1;
    const bmc_cfg_node *path = bmc_cfg_get(v, "path");
    if (!path)
        return bmc_cfg_error_at(v, err, "write {foreach: subjects, path: \"...{subject}...\"}",
                                "missing key 'path' in %s", what);
    const wf_subject *all = vars->subjects;
    if (vars->n_subjects == 0)
        return bmc_cfg_error_at(v, err, "add `subjects: [1, 2]` at the top level of the workflow",
                                "%s iterates over subjects, but the workflow lists none", what);
    wf_vars each = *vars;
    for (size_t j = 0; j < vars->n_subjects; j++) {
        each.each = &all[j];
        if (add_path(arr, n, cap, name, (int)j, path, what, &each, err)) return -1;
    }
    return 0;
}

/* Resolve the paths of an inputs/outputs map (inputs may give a list of paths). */
static int expand_paths(const bmc_cfg_node *map, const char *kind, int allow_list,
                        const wf_vars *vars, wf_path **arr, size_t *n, bmc_err *err) {
    size_t cap = 0;
    if (!map) return 0;
    for (size_t k = 0; k < map->n; k++) {
        char what[256];
        snprintf(what, sizeof what, "%s '%s' of stage '%s'", kind, map->keys[k], vars->stage_name);
        if (!valid_name(map->keys[k], 0))
            return key_error(map, k, err, "use letters, digits, '_' and '-' only",
                             "invalid %s name '%s'", kind, map->keys[k]);
        const bmc_cfg_node *v = map->items[k];
        if (allow_list && v->type == BMC_CFG_SEQ) {
            for (size_t j = 0; j < v->n; j++)
                if (add_path(arr, n, &cap, map->keys[k], (int)j, v->items[j], what, vars, err))
                    return -1;
            continue;
        }
        if (allow_list && v->type == BMC_CFG_MAP) {
            if (expand_each(map->keys[k], v, what, vars, arr, n, &cap, err)) return -1;
            continue;
        }
        if (add_path(arr, n, &cap, map->keys[k], -1, v, what, vars, err)) return -1;
    }
    return 0;
}

/* The subject a param string stands for when it is exactly one subject placeholder
 * ("{subject}", "{train}", "{test}"), else NULL. */
static const wf_subject *whole_subject_placeholder(const char *text, const wf_vars *vars) {
    if (!strcmp(text, "{subject}")) return vars->subject;
    if (!strcmp(text, "{train}")) return vars->train;
    if (!strcmp(text, "{test}")) return vars->test;
    return NULL;
}

/* A built node placed at pos's workflow position (so a stage's error about it points there). */
static bmc_cfg_node *at_node(bmc_cfg_node *built, const bmc_cfg_node *pos) {
    built->file = pos->file;
    built->line = pos->line;
    built->col = pos->col;
    return built;
}

/* A copy of a params subtree with every string's placeholders resolved. NULL on error.
 * A string that is exactly one integer subject placeholder becomes an integer
 * (`subject: "{subject}"` → `subject: 1`), so stages read subject numbers as numbers. */
static bmc_cfg_node *resolve_params(const bmc_cfg_node *node, const wf_vars *vars,
                                    const char *where, bmc_err *err) {
    if (node->type == BMC_CFG_MAP || node->type == BMC_CFG_SEQ) {
        bmc_cfg_node *out =
            at_node(node->type == BMC_CFG_MAP ? bmc_cfg_new_map() : bmc_cfg_new_seq(), node);
        for (size_t k = 0; k < node->n; k++) {
            bmc_cfg_node *child = resolve_params(node->items[k], vars, where, err);
            if (!child) {
                bmc_cfg_free_node(out);
                return NULL;
            }
            if (node->type == BMC_CFG_MAP) {
                bmc_cfg_map_set(out, node->keys[k], child);
                out->key_line[out->n - 1] = node->key_line[k];
                out->key_col[out->n - 1] = node->key_col[k];
            } else
                bmc_cfg_seq_push(out, child);
        }
        return out;
    }
    if (node->type != BMC_CFG_STRING) return bmc_cfg_clone(node);
    const wf_subject *whole = whole_subject_placeholder(node->text, vars);
    if (whole && whole->is_int) return at_node(bmc_cfg_new_int(whole->value), node);
    if (!strcmp(node->text, "{subjects}")) {
        bmc_cfg_node *list = at_node(bmc_cfg_new_seq(), node);
        for (size_t k = 0; k < vars->n_subjects; k++) {
            const wf_subject *s = &vars->subjects[k];
            bmc_cfg_seq_push(list, at_node(s->is_int ? bmc_cfg_new_int(s->value)
                                                     : bmc_cfg_new_string(s->text),
                                           node));
        }
        return list;
    }
    char *text = wf_subst(node->text, vars, node, where, err);
    if (!text) return NULL;
    bmc_cfg_node *out = at_node(bmc_cfg_new_string(text), node);
    free(text);
    return out;
}

static int expand_instance(wf_workflow *wf, size_t s, wf_instance *in, const wf_vars *vars,
                           bmc_err *err) {
    wf_stage *st = &wf->stages[s];
    in->stage = s;
    if (vars->foreach == WF_FOREACH_SUBJECTS) {
        in->name = bmc_xasprintf("%s[%s]", st->name, vars->subject->text);
        in->file_name = bmc_xasprintf("%s-%s", st->name, vars->subject->text);
    } else if (vars->foreach == WF_FOREACH_PAIRS) {
        in->name = bmc_xasprintf("%s[%s,%s]", st->name, vars->train->text, vars->test->text);
        in->file_name =
            bmc_xasprintf("%s-%s-%s", st->name, vars->train->text, vars->test->text);
    } else {
        in->name = xstrdup(st->name);
        in->file_name = xstrdup(st->name);
    }
    char where[200];
    snprintf(where, sizeof where, "'run' of stage '%s'", st->name);
    in->run_words = wf_split_words(st->run->text, &in->n_run_words);
    for (size_t w = 0; w < in->n_run_words; w++) {
        char *r = wf_subst(in->run_words[w], vars, st->run, where, err);
        if (!r) return -1;
        free(in->run_words[w]);
        in->run_words[w] = r;
    }
    if (expand_paths(st->inputs, "input", 1, vars, &in->inputs, &in->n_inputs, err) ||
        expand_paths(st->outputs, "output", 0, vars, &in->outputs, &in->n_outputs, err))
        return -1;
    snprintf(where, sizeof where, "'params' of stage '%s'", st->name);
    in->params = st->params ? resolve_params(st->params, vars, where, err) : bmc_cfg_new_map();
    return in->params ? 0 : -1;
}

static int expand_all(wf_workflow *wf, bmc_err *err) {
    size_t total = 0;
    for (size_t s = 0; s < wf->n_stages; s++) {
        wf_foreach fe = wf->stages[s].foreach;
        total += fe == WF_FOREACH_SUBJECTS ? wf->n_subjects
                 : fe == WF_FOREACH_PAIRS  ? wf->n_subjects * wf->n_subjects
                                           : 1;
    }
    wf->inst = xcalloc(total ? total : 1, sizeof *wf->inst);
    for (size_t s = 0; s < wf->n_stages; s++) {
        wf_stage *st = &wf->stages[s];
        st->first_instance = wf->n_inst;
        wf_vars v = {.run_dir = wf->run_dir, .workflow = wf->name, .foreach = st->foreach,
                     .stage_name = st->name, .subjects = wf->subjects,
                     .n_subjects = wf->n_subjects};
        size_t n = st->foreach == WF_FOREACH_SUBJECTS ? wf->n_subjects
                   : st->foreach == WF_FOREACH_PAIRS  ? wf->n_subjects * wf->n_subjects
                                                      : 1;
        for (size_t j = 0; j < n; j++) {
            if (st->foreach == WF_FOREACH_SUBJECTS) v.subject = &wf->subjects[j];
            if (st->foreach == WF_FOREACH_PAIRS) {
                v.train = &wf->subjects[j / wf->n_subjects];
                v.test = &wf->subjects[j % wf->n_subjects];
            }
            wf_instance *in = &wf->inst[wf->n_inst++];
            if (expand_instance(wf, s, in, &v, err)) return -1;
            for (size_t o = 0; o + 1 < wf->n_inst; o++)
                if (!strcmp(wf->inst[o].file_name, in->file_name))
                    return bmc_err_set(err, "rename one of the stages",
                                       "%s:%d:%d: instances '%s' and '%s' would share the log "
                                       "and config name '%s'",
                                       wf->path, st->key_line, st->key_col, wf->inst[o].name,
                                       in->name, in->file_name);
        }
        st->n_instances = n;
    }
    return 0;
}

/* Two outputs naming one path (same or different instances) are an error at the second. */
static int check_duplicate_outputs(const wf_workflow *wf, bmc_err *err) {
    for (size_t a = 0; a < wf->n_inst; a++)
        for (size_t i = 0; i < wf->inst[a].n_outputs; i++)
            for (size_t b = a; b < wf->n_inst; b++)
                for (size_t j = (b == a ? i + 1 : 0); j < wf->inst[b].n_outputs; j++) {
                    const wf_path *p = &wf->inst[a].outputs[i], *q = &wf->inst[b].outputs[j];
                    if (strcmp(p->path, q->path)) continue;
                    char hint[BMC_ERR_HINT_MAX];
                    snprintf(hint, sizeof hint,
                             "give each output its own path (use {subject}, {train}, {test} "
                             "in foreach stages); the other one is at %s:%d:%d",
                             p->node->file, p->node->line, p->node->col);
                    return bmc_cfg_error_at(
                        q->node, err, hint,
                        "output '%s' of '%s' is the same path as output '%s' of '%s' "
                        "(%s:%d:%d): '%s'",
                        q->name, wf->inst[b].name, p->name, wf->inst[a].name, p->node->file,
                        p->node->line, p->node->col, q->path);
                }
    return 0;
}

/* --force names a stage (every instance) or one instance ("fmri[1]"). Unknown names are an
 * error at `stages:` with the nearest name as a hint. */
static int check_force(wf_workflow *wf, const wf_options *opt, bmc_err *err) {
    for (size_t f = 0; f < opt->n_force; f++) {
        const char *want = opt->force[f];
        int found = 0;
        for (size_t s = 0; s < wf->n_stages; s++)
            if (!strcmp(wf->stages[s].name, want)) found = wf->stages[s].forced = 1;
        for (size_t k = 0; k < wf->n_inst; k++)
            if (!strcmp(wf->inst[k].name, want)) found = wf->inst[k].user_forced = 1;
        if (found) continue;
        size_t n_names = wf->n_stages + wf->n_inst;
        const char **names = XNEW(names, n_names);
        for (size_t s = 0; s < wf->n_stages; s++) names[s] = wf->stages[s].name;
        for (size_t k = 0; k < wf->n_inst; k++) names[wf->n_stages + k] = wf->inst[k].name;
        const char *best = bmc_cfg_nearest(want, names, n_names);
        char hint[BMC_ERR_HINT_MAX];
        size_t len = 0;
        if (best) len = (size_t)snprintf(hint, sizeof hint, "did you mean '%s'? ", best);
        len += (size_t)snprintf(hint + len, sizeof hint - len, "stages:");
        for (size_t s = 0; s < wf->n_stages && len < sizeof hint; s++)
            len += (size_t)snprintf(hint + len, sizeof hint - len, " %s", wf->stages[s].name);
        if (len < sizeof hint)
            snprintf(hint + len, sizeof hint - len, " (or one instance, e.g. '%s')",
                     wf->inst[wf->n_inst - 1].name);
        free(names);
        return bmc_cfg_error_at(wf->stages_node, err, hint,
                                "--force names '%s', which is neither a stage nor an instance "
                                "of this workflow",
                                want);
    }
    return 0;
}

static int load_top(wf_workflow *wf, const wf_options *opt, bmc_err *err) {
    const bmc_cfg_node *root = wf->root;
    if (root->type != BMC_CFG_MAP)
        return bmc_cfg_error_at(root, err, "start with `workflow: NAME` and `stages:`",
                                "a workflow must be a mapping, not a %s",
                                bmc_cfg_type_name(root->type));
    if (bmc_cfg_check_keys(root, top_keys, COUNT(top_keys), "the workflow", err)) return -1;
    const char *name, *desc, *launcher;
    if (bmc_cfg_string(root, "workflow", 1, NULL, &name, err)) return -1;
    if (!valid_name(name, 0))
        return bmc_cfg_error_at(bmc_cfg_get(root, "workflow"), err,
                                "use letters, digits, '_' and '-' only",
                                "invalid workflow name '%s'", name);
    wf->name = xstrdup(name);
    if (bmc_cfg_string(root, "description", 0, "", &desc, err)) return -1;
    if (bmc_cfg_string(root, "launcher", 0, NULL, &launcher, err)) return -1;
    if (parse_subjects(wf, err)) return -1;
    wf->stages_node = bmc_cfg_get(root, "stages");
    if (!wf->stages_node)
        return bmc_cfg_error_at(root, err, "add `stages:` with at least one stage",
                                "missing key 'stages' in the workflow");
    if (wf->stages_node->type != BMC_CFG_MAP || wf->stages_node->n == 0)
        return bmc_cfg_error_at(wf->stages_node, err,
                                "write `stages:` followed by `NAME: {run: ..., outputs: ...}`",
                                "'stages' must be a non-empty mapping of stage names");
    wf->launcher_node = opt->launcher ? NULL : bmc_cfg_get(root, "launcher");
    wf->launcher = xstrdup(opt->launcher ? opt->launcher : launcher ? launcher
                                                                    : WF_DEFAULT_LAUNCHER);
    return 0;
}

static int set_run_dir(wf_workflow *wf, const wf_options *opt, bmc_err *err) {
    const char *run = opt->run_name ? opt->run_name : wf->name;
    if (!valid_name(run, 1))
        return bmc_err_set(err, "use letters, digits, '_', '-' and '.' only (not dots only)",
                           "invalid run name '%s' (--run)", run);
    const char *results = opt->results_dir ? opt->results_dir : "results";
    if (!results[0])
        return bmc_err_set(err, "give a folder, e.g. --results results", "--results is empty");
    wf->run_name = xstrdup(run);
    wf->results_dir = xstrdup(results);
    wf_normalise_path(wf->results_dir);
    wf->run_dir = bmc_path_join(wf->results_dir, run);
    wf_normalise_path(wf->run_dir);
    wf->hash_cache = bmc_path_join(wf->results_dir, ".bmc-hash-cache");
    return 0;
}

wf_workflow *wf_load(const wf_options *opt, bmc_err *err) {
    wf_workflow *wf = xcalloc(1, sizeof *wf);
    wf->t_start = bmc_now();
    wf->path = opt->workflow_path;
    wf->root = bmc_cfg_load_file(opt->workflow_path, err);
    if (!wf->root || load_top(wf, opt, err) || set_run_dir(wf, opt, err)) goto fail;
    wf->n_stages = wf->stages_node->n;
    wf->stages = xcalloc(wf->n_stages, sizeof *wf->stages);
    for (size_t s = 0; s < wf->n_stages; s++)
        if (parse_stage(wf, s, err)) goto fail;
    if (expand_all(wf, err) || check_force(wf, opt, err) || check_duplicate_outputs(wf, err))
        goto fail;
    return wf;
fail:
    wf_free(wf);
    return NULL;
}

static void free_paths(wf_path *p, size_t n) {
    for (size_t k = 0; k < n; k++) {
        free(p[k].name);
        free(p[k].path);
        free(p[k].canonical);
        wf_free_words(p[k].reads, p[k].n_reads);
        wf_free_words(p[k].missing, p[k].n_missing);
    }
    free(p);
}

void wf_free(wf_workflow *wf) {
    if (!wf) return;
    for (size_t k = 0; k < wf->n_inst; k++) {
        wf_instance *in = &wf->inst[k];
        free(in->name);
        free(in->file_name);
        wf_free_words(in->run_words, in->n_run_words);
        free(in->exe);
        free_paths(in->inputs, in->n_inputs);
        free_paths(in->outputs, in->n_outputs);
        if (in->params) bmc_cfg_free_node(in->params);
        wf_free_words(in->speed_only, in->n_speed_only);
        if (in->fp_tree) bmc_cfg_free_node(in->fp_tree);
        if (in->input_files) bmc_cfg_free_node(in->input_files);
        free(in->reason);
    }
    free(wf->inst);
    for (size_t s = 0; s < wf->n_stages; s++) free(wf->stages[s].name);
    free(wf->stages);
    for (size_t k = 0; k < wf->n_subjects; k++) free(wf->subjects[k].text);
    free(wf->subjects);
    for (size_t k = 0; k < wf->n_versions; k++)
        free(wf->versions[k].command), free(wf->versions[k].output);
    free(wf->versions);
    free(wf->order);
    free(wf->name);
    free(wf->results_dir);
    free(wf->run_name);
    free(wf->run_dir);
    free(wf->launcher);
    free(wf->launcher_exe);
    free(wf->hash_cache);
    if (wf->root) bmc_cfg_free(wf->root);
    free(wf);
}
