/* bmc_stage.c — the shared start/end of stage executables (see bmc_stage.h).
 *
 * Every rank parses the same stage file (small; parsing is cheaper than broadcasting a
 * tree), so a YAML error is seen identically everywhere and agreed anyway for safety.
 * Not here: stage logic and parameter schemas.
 */
#include "bmc_stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_log.h"
#include "bmc_version.h"

void bmc_stage_version_string(const char *program, char *buf, size_t n) {
    snprintf(buf, n, "%s %s (%s)", program, bmc_version(), bmc_git_commit());
}

static const char *const stage_keys[] = {"stage",  "instance", "fingerprint", "inputs",
                                         "outputs", "params",  "resources"};

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

void bmc_stage_begin(bmc_stage *s, int argc, char **argv, const char *program, const char *usage) {
    memset(s, 0, sizeof *s);
    int init = 0;
    MPI_Initialized(&init);
    if (!init) BMC_MPI(MPI_Init(NULL, NULL));
    s->comm = MPI_COMM_WORLD;
    BMC_MPI(MPI_Comm_rank(s->comm, &s->rank));
    BMC_MPI(MPI_Comm_size(s->comm, &s->size));
    s->program = program;
    s->t_start = bmc_now();
    bmc_log_init(program, -1);

    bmc_err err = {0};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (s->rank == 0) fputs(usage, stdout);
            bmc_finish(0);
        } else if (!strcmp(argv[i], "--version")) {
            char v[256];
            bmc_stage_version_string(program, v, sizeof v);
            if (s->rank == 0) printf("%s\n", v);
            bmc_finish(0);
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            s->config_path = argv[++i];
        } else {
            bmc_err_set(&err, "run with --help for the usage", "%s: unexpected argument '%s'",
                        program, argv[i]);
        }
    }
    if (!s->config_path && !err.failed)
        bmc_err_set(&err, "run with --help for the usage",
                    "%s: missing --config STAGE.yaml", program);
    bmc_err_exit_if_any(s->comm, &err);

    s->config = bmc_cfg_load_file(s->config_path, &err);
    if (s->config && s->config->type != BMC_CFG_MAP)
        bmc_cfg_error_at(s->config, &err, "see docs/WORKFLOWS.md for the stage file's keys",
                         "a stage file must be a mapping");
    if (!err.failed)
        bmc_cfg_check_keys(s->config, stage_keys, sizeof stage_keys / sizeof *stage_keys,
                           "the stage file", &err);
    if (!err.failed) s->inputs = section(s, "inputs", &err);
    if (!err.failed) s->outputs = section(s, "outputs", &err);
    if (!err.failed) s->params = section(s, "params", &err);
    if (!err.failed) {
        const char *fp = NULL;
        if (bmc_cfg_string(s->config, "fingerprint", 0, NULL, &fp, &err) == 0) s->fingerprint = fp;
        bmc_sha256_cfg(s->params, s->params_sha256);
    }
    bmc_err_exit_if_any(s->comm, &err);
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
        bmc_provenance p = {created_by, s->params_sha256, s->fingerprint, n, paths, shap};
        rc = bmc_h5_write_provenance(f, &p, err);
    }
    free(paths);
    free(sha);
    free(shap);
    return rc;
}

void bmc_stage_end(bmc_stage *s) {
    bmc_log_info("done in %.2f s", bmc_now() - s->t_start);
    bmc_cfg_free(s->config);
    s->config = NULL;
    BMC_MPI(MPI_Finalize());
}
