/* plan.c — bmc-aggregate's configuration: inputs (eval files, models, optional maps,
 * predictions with their features, montages), outputs (summary.md/.csv/.json, index.html,
 * the figures folder) and params, checked locally with errors at the config's line.
 * Not here: anything that opens a file (inputs.c, models.c, maps.c, runinfo.c).
 */
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fs.h"

/* Local: an optional list input (n = 0 when absent). */
static int optional_list(const bmc_stage *s, const char *name, const char ***v, size_t *n,
                         bmc_err *err) {
    *v = NULL;
    *n = 0;
    if (!bmc_cfg_get(s->inputs, name)) return 0;
    return bmc_stage_input_list(s, name, v, n, err);
}

/* Local: <dir>/pipeline_info when the stage file sits in <dir>/pipeline_info/stages/ (where
 * bmc-workflow writes it), else NULL. Heap string. */
static char *default_pipeline_info(const char *config_path) {
    char *stages = bmc_dirname(config_path);
    char *info = bmc_dirname(stages);
    const char *base = strrchr(info, '/');
    base = base ? base + 1 : info;
    const char *sb = strrchr(stages, '/');
    sb = sb ? sb + 1 : stages;
    int ok = !strcmp(base, "pipeline_info") && !strcmp(sb, "stages");
    free(stages);
    if (!ok) {
        free(info);
        return NULL;
    }
    return info;
}

int ag_read_plan(const bmc_stage *s, ag_plan *p, bmc_err *err) {
    memset(p, 0, sizeof *p);
    static const char *const ins[] = {"evals", "models", "maps", "predictions", "montages",
                                      "features"};
    static const char *const outs[] = {"md", "csv", "json", "html", "figures"};
    /* Every key changes the outputs (none is speed-only). */
    static const bmc_param_key keys[] = {{"resamples", 0}, {"seed", 0}, {"ci_level", 0},
                                         {"pipeline_info", 0}, {"svg", 0}, {"dpi", 0}};
    if (bmc_stage_check_names(s, ins, 6, outs, 5, err)) return -1;
    if (bmc_stage_input_list(s, "evals", &p->evals, &p->n_evals, err) ||
        bmc_stage_input_list(s, "models", &p->models, &p->n_models, err) ||
        optional_list(s, "maps", &p->maps, &p->n_maps, err) ||
        optional_list(s, "predictions", &p->predictions, &p->n_predictions, err) ||
        optional_list(s, "montages", &p->montages, &p->n_montages, err))
        return -1;
    if (bmc_cfg_get(s->inputs, "features") && !(p->features = bmc_stage_input(s, "features", err)))
        return -1;
    if (p->n_maps && p->n_maps != p->n_models)
        return bmc_cfg_error_at(bmc_cfg_get(s->inputs, "maps"), err,
                                "list one maps folder per model file, in the order of 'models'",
                                "input 'maps' has %zu entries but 'models' has %zu", p->n_maps,
                                p->n_models);
    if (p->n_predictions && !p->features)
        return bmc_cfg_error_at(s->inputs, err,
                                "add the bmc.clip file the evaluations scored against as input "
                                "'features'",
                                "input 'predictions' needs the input 'features'");
    if (!(p->out_md = bmc_stage_output(s, "md", err)) ||
        !(p->out_csv = bmc_stage_output(s, "csv", err)) ||
        !(p->out_json = bmc_stage_output(s, "json", err)) ||
        !(p->out_html = bmc_stage_output(s, "html", err)) ||
        !(p->out_figures = bmc_stage_output(s, "figures", err)))
        return -1;

    const bmc_cfg_node *pm = s->params;
    if (bmc_stage_check_params(s, keys, sizeof keys / sizeof *keys, "bmc-aggregate params", err))
        return -1;
    long long v;
    if (bmc_cfg_int(pm, "resamples", 0, 1000, 10, 1000000, &v, err)) return -1;
    p->resamples = (long)v;
    if (bmc_cfg_int(pm, "seed", 0, 0, 0, (1LL << 62), &v, err)) return -1;
    p->seed = (uint64_t)v;
    if (bmc_cfg_double(pm, "ci_level", 0, 0.95, 0.5, 0.999, &p->level, err)) return -1;
    if (bmc_cfg_bool(pm, "svg", 0, 1, &p->svg, err)) return -1;
    if (bmc_cfg_int(pm, "dpi", 0, 300, 72, 1200, &v, err)) return -1;
    p->dpi = (int)v;
    const char *info = NULL;
    if (bmc_cfg_string(pm, "pipeline_info", 0, NULL, &info, err)) return -1;
    if (info) {
        p->pipeline_info = xstrdup(info);
    } else {
        p->pipeline_info = default_pipeline_info(s->config_path);
        /* --check reads a copy of the stage file elsewhere; the run reads pipeline_info/. */
        if (!p->pipeline_info && !s->checking)
            return bmc_cfg_error_at(pm, err,
                                    "set params.pipeline_info to the run's pipeline_info/ folder "
                                    "(bmc-workflow writes it in results/<run>/)",
                                    "the stage file is not in <run>/pipeline_info/stages/, so "
                                    "the run's pipeline_info/ is unknown");
    }
    return 0;
}

void ag_free_plan(ag_plan *p) {
    free(p->evals);
    free(p->models);
    free(p->maps);
    free(p->predictions);
    free(p->montages);
    free((char *)p->pipeline_info);
    memset(p, 0, sizeof *p);
}
