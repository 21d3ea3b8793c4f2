/* bmc_stage.c — the shared start/end of stage executables (see bmc_stage.h): arguments,
 * the stage file, --check and its report, provenance.
 *
 * Every rank parses the same stage file (small; parsing is cheaper than broadcasting a
 * tree), so a YAML error is seen identically everywhere and agreed anyway for safety.
 * --help, --version and --check never start MPI: the engine calls them while planning.
 * Not here: stage logic and parameter schemas; outputs (their safety, stamps and folder
 * swaps: bmc_stage_out.c).
 */
#include "bmc_stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "bmc_stage_internal.h"
#include "bmc_version.h"

void bmc_stage_version_string(const char *program, char *buf, size_t n) {
    snprintf(buf, n, "%s %s (%s)", program, bmc_version(), bmc_git_commit());
}

static const char *const stage_keys[] = {"stage",   "instance",  "fingerprint", "inputs",
                                         "outputs", "params",    "resources",   "hash_cache"};

/* What --check reports: speed-only params and the files read inside folder inputs. */
typedef struct read_decl {
    char *input, *rel;
    int missing;
} read_decl;

struct bmc_stage_report {
    const char **speed;
    size_t n_speed;
    read_decl *reads;
    size_t n_reads, cap_reads;
};

static const bmc_cfg_node *empty_map(bmc_stage *s, const char *key) {
    /* Give absent sections an empty map owned by the tree, so callers never see NULL. */
    bmc_cfg_node *m = bmc_cfg_new_map();
    bmc_cfg_map_set(s->config, key, m);
    return m;
}

static const bmc_cfg_node *section(bmc_stage *s, const char *key, bmc_err *err) {
    const bmc_cfg_node *n = bmc_cfg_get(s->config, key);
    if (!n || n->type == BMC_CFG_NULL) return empty_map(s, key);
    if (n->type != BMC_CFG_MAP) {
        bmc_cfg_error_at(n, err, "write it as a mapping (name: value)",
                         "'%s' must be a mapping, got %s", key, bmc_cfg_type_name(n->type));
        return NULL;
    }
    return n;
}

/* Local: --help, --version, --check and --config; help and version end the program. */
static void parse_args(bmc_stage *s, int argc, char **argv, const char *usage, bmc_err *err) {
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            bmc_finish(0);
        } else if (!strcmp(argv[i], "--version")) {
            char v[256];
            bmc_stage_version_string(s->program, v, sizeof v);
            printf("%s\nstage-protocol: check\n", v);
            bmc_finish(0);
        } else if (!strcmp(argv[i], "--check")) {
            s->checking = 1;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            s->config_path = argv[++i];
        } else {
            bmc_err_set(err, "run with --help for the usage", "%s: unexpected argument '%s'",
                        s->program, argv[i]);
        }
    }
    if (!s->config_path && !err->failed)
        bmc_err_set(err, "run with --help for the usage", "%s: missing --config STAGE.yaml",
                    s->program);
}

/* Local: the stage file's sections, the engine's fingerprint and (with --check) the rank
 * count the run would have. */
static void load_config(bmc_stage *s, bmc_err *err) {
    s->config = bmc_cfg_load_file(s->config_path, err);
    if (s->config && s->config->type != BMC_CFG_MAP)
        bmc_cfg_error_at(s->config, err, "see docs/WORKFLOWS.md for the stage file's keys",
                         "a stage file must be a mapping");
    if (!err->failed)
        bmc_cfg_check_keys(s->config, stage_keys, sizeof stage_keys / sizeof *stage_keys,
                           "the stage file", err);
    if (!err->failed) s->inputs = section(s, "inputs", err);
    if (!err->failed) s->outputs = section(s, "outputs", err);
    if (!err->failed) s->params = section(s, "params", err);
    if (err->failed) return;
    const char *fp = NULL, *cache = NULL;
    if (bmc_cfg_string(s->config, "fingerprint", 0, NULL, &fp, err) == 0) s->fingerprint = fp;
    if (!err->failed && bmc_cfg_string(s->config, "hash_cache", 0, NULL, &cache, err) == 0 &&
        cache && cache[0])
        bmc_hash_cache_open(cache);
    if (!err->failed && s->checking) {
        const bmc_cfg_node *res = bmc_cfg_get(s->config, "resources");
        long long tasks = 1;
        if (res && res->type == BMC_CFG_MAP &&
            bmc_cfg_int(res, "tasks", 0, 1, 1, 1LL << 30, &tasks, err) == 0)
            s->size = (int)tasks;
    }
    if (!err->failed) bmc_sha256_cfg(s->params, s->params_sha256);
}

void bmc_stage_begin(bmc_stage *s, int argc, char **argv, const char *program, const char *usage) {
    memset(s, 0, sizeof *s);
    s->program = program;
    s->t_start = bmc_now();
    s->report = xcalloc(1, sizeof *s->report);
    s->size = 1;
    bmc_err err = {0};
    parse_args(s, argc, argv, usage, &err);
    if (!s->checking) {
        int init = 0;
        MPI_Initialized(&init);
        if (!init) BMC_MPI(MPI_Init(NULL, NULL));
        BMC_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &s->rank));
        BMC_MPI(MPI_Comm_size(MPI_COMM_WORLD, &s->size));
    }
    s->comm = MPI_COMM_WORLD;
    bmc_log_init(program, -1);
    bmc_err_exit_if_any(s->comm, &err);
    load_config(s, &err);
    /* Nothing may be destroyed: rank 0 looks at every output before the stage starts. */
    if (!err.failed && s->rank == 0) bmc_stage_check_outputs(s, &err);
    bmc_err_exit_if_any(s->comm, &err);
    if (!s->checking)
        bmc_log_info("%d rank%s, config %s", s->size, s->size == 1 ? "" : "s", s->config_path);
}

static const char *named_path(const bmc_cfg_node *map, const char *what, const char *name,
                              bmc_err *err) {
    const bmc_cfg_node *n = bmc_cfg_get(map, name);
    if (!n) {
        if (map->line > 0)
            bmc_cfg_error_at(map, err, "add it to the stage's section", "missing %s '%s'", what, name);
        else
            bmc_err_set(err, "add it to the stage's section", "missing %s '%s'", what, name);
        return NULL;
    }
    if (n->type != BMC_CFG_STRING || !n->text[0]) {
        bmc_cfg_error_at(n, err, "write the path as a string", "%s '%s' must be a path", what, name);
        return NULL;
    }
    return n->text;
}

const char *bmc_stage_input(const bmc_stage *s, const char *name, bmc_err *err) {
    return named_path(s->inputs, "input", name, err);
}

const char *bmc_stage_output(const bmc_stage *s, const char *name, bmc_err *err) {
    return named_path(s->outputs, "output", name, err);
}

int bmc_stage_check_names(const bmc_stage *s, const char *const *inputs, size_t n_inputs,
                          const char *const *outputs, size_t n_outputs, bmc_err *err) {
    if (bmc_cfg_check_keys(s->inputs, inputs, n_inputs, "the stage's inputs", err)) return -1;
    return bmc_cfg_check_keys(s->outputs, outputs, n_outputs, "the stage's outputs", err);
}

int bmc_stage_input_list(const bmc_stage *s, const char *name, const char ***paths, size_t *n,
                         bmc_err *err) {
    *paths = NULL;
    *n = 0;
    const bmc_cfg_node *v = bmc_cfg_get(s->inputs, name);
    if (!v) {
        if (s->inputs->line > 0)
            return bmc_cfg_error_at(s->inputs, err, "add it to the stage's inputs",
                                    "missing input '%s'", name);
        return bmc_err_set(err, "add it to the stage's inputs", "missing input '%s'", name);
    }
    if (v->type != BMC_CFG_SEQ) {
        if (!bmc_stage_input(s, name, err)) return -1;
        *paths = XNEW(*paths, 1);
        (*paths)[0] = v->text;
        *n = 1;
        return 0;
    }
    if (v->n == 0)
        return bmc_cfg_error_at(v, err, "list at least one path", "input '%s' is an empty list",
                                name);
    for (size_t k = 0; k < v->n; k++)
        if (v->items[k]->type != BMC_CFG_STRING || !v->items[k]->text[0])
            return bmc_cfg_error_at(v->items[k], err, "write each path as a string",
                                    "input '%s' entry %zu must be a path", name, k);
    *paths = XNEW(*paths, v->n);
    for (size_t k = 0; k < v->n; k++) (*paths)[k] = v->items[k]->text;
    *n = v->n;
    return 0;
}

int bmc_stage_check_params(const bmc_stage *s, const bmc_param_key *keys, size_t n,
                           const char *where, bmc_err *err) {
    const char **names = XNEW(names, n ? n : 1);
    struct bmc_stage_report *r = s->report;
    free(r->speed);
    r->speed = XNEW(r->speed, n ? n : 1);
    r->n_speed = 0;
    for (size_t k = 0; k < n; k++) {
        names[k] = keys[k].name;
        if (keys[k].speed_only) r->speed[r->n_speed++] = keys[k].name;
    }
    int rc = bmc_cfg_check_keys(s->params, names, n, where, err);
    free(names);
    return rc;
}

void bmc_stage_declare_read(const bmc_stage *s, const char *input, const char *path) {
    const bmc_cfg_node *root = bmc_cfg_get(s->inputs, input);
    BMC_CHECK(root && root->type == BMC_CFG_STRING);
    size_t len = strlen(root->text);
    while (len > 1 && root->text[len - 1] == '/') len--;
    BMC_CHECK(!strncmp(path, root->text, len) && path[len] == '/');
    struct bmc_stage_report *r = s->report;
    if (r->n_reads == r->cap_reads) {
        r->cap_reads = r->cap_reads ? 2 * r->cap_reads : 64;
        r->reads = xrealloc(r->reads, bmc_mul_size(r->cap_reads, sizeof *r->reads));
    }
    const char *rel = path + len;
    while (*rel == '/') rel++;
    struct stat st;
    r->reads[r->n_reads++] =
        (read_decl){xstrdup(input), xstrdup(rel), !(stat(path, &st) == 0 && S_ISREG(st.st_mode))};
}

/* {input: [rel, ...]} of the declared reads that are (missing = 0) or are not present. */
static bmc_cfg_node *reads_tree(const struct bmc_stage_report *r, int missing) {
    bmc_cfg_node *map = bmc_cfg_new_map();
    for (size_t k = 0; k < r->n_reads; k++) {
        if (r->reads[k].missing != missing) continue;
        bmc_cfg_node *list = (bmc_cfg_node *)bmc_cfg_get(map, r->reads[k].input);
        if (!list) {
            list = bmc_cfg_new_seq();
            bmc_cfg_map_set(map, r->reads[k].input, list);
        }
        bmc_cfg_seq_push(list, bmc_cfg_new_string(r->reads[k].rel));
    }
    return map;
}

void bmc_stage_checked(bmc_stage *s) {
    if (!s->checking) return;
    const struct bmc_stage_report *r = s->report;
    bmc_cfg_node *t = bmc_cfg_new_map(), *speed = bmc_cfg_new_seq();
    bmc_cfg_map_set(t, "bmc-check", bmc_cfg_new_int(1));
    bmc_cfg_map_set(t, "program", bmc_cfg_new_string(s->program));
    for (size_t k = 0; k < r->n_speed; k++) bmc_cfg_seq_push(speed, bmc_cfg_new_string(r->speed[k]));
    bmc_cfg_map_set(t, "speed_only", speed);
    bmc_cfg_map_set(t, "reads", reads_tree(r, 0));
    bmc_cfg_map_set(t, "missing", reads_tree(r, 1));
    int rc = bmc_cfg_emit(t, stdout);
    bmc_cfg_free_node(t);
    bmc_finish(rc == 0 ? 0 : 70);
}

int bmc_stage_provenance(bmc_stage *s, bmc_h5 *f, bmc_err *err) {
    /* Every input path, list inputs flattened in order. */
    size_t n = 0;
    for (size_t i = 0; i < s->inputs->n; i++)
        n += s->inputs->items[i]->type == BMC_CFG_SEQ ? s->inputs->items[i]->n : 1;
    const char **paths = XNEW(paths, n ? n : 1);
    char (*sha)[BMC_SHA256_HEX] = xcalloc(n ? n : 1, sizeof *sha);
    const char **shap = XNEW(shap, n ? n : 1);
    bmc_err local = {0};
    size_t k = 0;
    for (size_t i = 0; i < s->inputs->n; i++) {
        const bmc_cfg_node *v = s->inputs->items[i];
        size_t m = v->type == BMC_CFG_SEQ ? v->n : 1;
        for (size_t j = 0; j < m; j++, k++) {
            const bmc_cfg_node *e = v->type == BMC_CFG_SEQ ? v->items[j] : v;
            paths[k] = e->text ? e->text : "";
            shap[k] = sha[k];
            if (s->rank == 0 && !local.failed) bmc_sha256_path(paths[k], sha[k], &local);
        }
    }
    int rc = 0;
    if (bmc_err_agree(s->comm, &local)) {
        *err = local;
        rc = -1;
    } else {
        if (n) BMC_MPI(MPI_Bcast(sha, (int)(n * BMC_SHA256_HEX), MPI_CHAR, 0, s->comm));
        char created_by[256];
        bmc_stage_version_string(s->program, created_by, sizeof created_by);
        bmc_provenance p = {.created_by = created_by,
                            .config_sha256 = s->params_sha256,
                            .stage_fingerprint = s->fingerprint,
                            .n_inputs = n,
                            .input_paths = paths,
                            .input_sha256 = shap};
        rc = bmc_h5_write_provenance(f, &p, err);
    }
    free(paths);
    free(sha);
    free(shap);
    return rc;
}

static void report_free(struct bmc_stage_report *r) {
    if (!r) return;
    for (size_t k = 0; k < r->n_reads; k++) free(r->reads[k].input), free(r->reads[k].rel);
    free(r->reads);
    free(r->speed);
    free(r);
}

void bmc_stage_end(bmc_stage *s) {
    bmc_err err = {0};
    if (s->rank == 0) bmc_stage_stamp_outputs(s, &err);
    if (err.failed) bmc_log_warn("%s (%s)", err.msg, err.hint);
    bmc_err cache_err = {0};
    if (bmc_hash_cache_save(0, &cache_err) != 0)
        bmc_log_warn("hash cache not saved: %s", cache_err.msg);
    bmc_hash_cache_close();
    bmc_log_info("done in %.2f s", bmc_now() - s->t_start);
    bmc_cfg_free(s->config);
    s->config = NULL;
    report_free(s->report);
    s->report = NULL;
    BMC_MPI(MPI_Finalize());
}
