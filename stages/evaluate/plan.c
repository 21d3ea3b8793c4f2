/* plan.c — bmc-evaluate's configuration: inputs (model files, both subjects' fMRI, features,
 * optional stimuli and cohort), outputs (eval, json, optional montage and predictions) and
 * params with their defaults, checked locally with errors at the config's line.
 * Not here: anything that opens a file (inputs.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "evaluate.h"
#include "ridge.h"

const char *const ev_branch_name[EV_N_BRANCH] = {"detail", "semantic", "fused"};
const char *const ev_rescale_name[3] = {"none", "test", "train"};

/* Local: an optional output path (NULL when absent). */
static int optional_output(const bmc_stage *s, const char *name, const char **out, bmc_err *err) {
    *out = NULL;
    if (!bmc_cfg_get(s->outputs, name)) return 0;
    *out = bmc_stage_output(s, name, err);
    return *out ? 0 : -1;
}

int ev_read_plan(const bmc_stage *s, ev_plan *p, bmc_err *err) {
    memset(p, 0, sizeof *p);
    static const char *const ins[] = {"models", "train_fmri", "test_fmri", "features", "stimuli",
                                      "cohort"};
    static const char *const outs[] = {"eval", "json", "montage", "predictions"};
    static const bmc_param_key keys[] = {
        {"train_subject", 0}, {"test_subject", 0}, {"detail_mapping", 0}, {"semantic_mapping", 0},
        {"fusion_weight", 0}, {"rescale", 0},      {"align_images", 0},   {"align_seed", 0},
        {"align_alphas", 0},  {"way", 0},          {"draws", 0},          {"seed", 0},
        {"gallery", 0},       {"montage_images", 0}, {"ssim", 0},         {"mem_per_rank", 1}};
    if (bmc_stage_check_names(s, ins, 6, outs, 4, err)) return -1;
    if (bmc_stage_input_list(s, "models", &p->models, &p->n_models, err)) return -1;
    if (bmc_cfg_get(s->inputs, "cohort") &&
        bmc_stage_input_list(s, "cohort", &p->cohort, &p->n_cohort, err))
        return -1;
    if (!(p->train_fmri = bmc_stage_input(s, "train_fmri", err)) ||
        !(p->test_fmri = bmc_stage_input(s, "test_fmri", err)) ||
        !(p->features = bmc_stage_input(s, "features", err)))
        return -1;
    if (bmc_cfg_get(s->inputs, "stimuli") && !(p->stimuli = bmc_stage_input(s, "stimuli", err)))
        return -1;
    if (!(p->out_eval = bmc_stage_output(s, "eval", err)) ||
        !(p->out_json = bmc_stage_output(s, "json", err)) ||
        optional_output(s, "montage", &p->out_montage, err) ||
        optional_output(s, "predictions", &p->out_predictions, err))
        return -1;
    if (p->out_montage && !p->stimuli)
        return bmc_cfg_error_at(bmc_cfg_get(s->outputs, "montage"), err,
                                "add the stimuli file as input 'stimuli'",
                                "output 'montage' needs the input 'stimuli'");

    const bmc_cfg_node *pm = s->params;
    if (bmc_stage_check_params(s, keys, sizeof keys / sizeof *keys, "bmc-evaluate params", err))
        return -1;
    static const char *const rescales[] = {"none", "test", "train"};
    static const char *const galleries[] = {"not_test", "unseen"};
    static const char *const ssims[] = {"mindeye", "2d"};
    long long v;
    int e;
    if (bmc_cfg_int(pm, "train_subject", 1, 0, 0, (1LL << 62), &p->train_subject, err) ||
        bmc_cfg_int(pm, "test_subject", 1, 0, 0, (1LL << 62), &p->test_subject, err) ||
        bmc_cfg_string(pm, "detail_mapping", 0, "detail", &p->mapping[EV_DETAIL], err) ||
        bmc_cfg_string(pm, "semantic_mapping", 0, "semantic", &p->mapping[EV_SEMANTIC], err) ||
        bmc_cfg_double(pm, "fusion_weight", 0, 0.5, 0.0, 1.0, &p->fusion_weight, err))
        return -1;
    if (bmc_cfg_enum(pm, "rescale", 0, 1, rescales, 3, &e, err)) return -1;
    p->rescale = (ev_rescale)e;
    if (bmc_cfg_int(pm, "align_images", 0, 0, 0, 1LL << 40, &v, err)) return -1;
    p->align_images = (long)v;
    if (bmc_cfg_int(pm, "align_seed", 0, 0, 0, (1LL << 62), &v, err)) return -1;
    p->align_seed = (uint64_t)v;
    if (ridge_read_alphas(pm, "align_alphas", &p->align_alphas, &p->n_align_alpha, err))
        return -1;
    if (bmc_cfg_int(pm, "way", 0, 300, 2, 1LL << 40, &v, err)) return -1;
    p->way = (long)v;
    if (bmc_cfg_int(pm, "draws", 0, 30, 1, 1000000, &v, err)) return -1;
    p->draws = (long)v;
    if (bmc_cfg_int(pm, "seed", 0, 0, 0, (1LL << 62), &v, err)) return -1;
    p->seed = (uint64_t)v;
    if (bmc_cfg_enum(pm, "gallery", 0, 0, galleries, 2, &p->gallery_unseen, err)) return -1;
    if (bmc_cfg_int(pm, "montage_images", 0, 8, 1, 10000, &v, err)) return -1;
    p->montage_images = (long)v;
    if (bmc_cfg_enum(pm, "ssim", 0, 0, ssims, 2, &e, err)) return -1;
    p->ssim = e ? SSIM_2D : SSIM_MINDEYE_COLUMNS;
    if (bmc_cfg_mem(pm, "mem_per_rank", (size_t)1 << 30, &p->mem_per_rank, err)) return -1;
    if (!strcmp(p->mapping[EV_DETAIL], p->mapping[EV_SEMANTIC]))
        return bmc_cfg_error_at(bmc_cfg_get(pm, "semantic_mapping"), err,
                                "name two different decoders of the models",
                                "detail_mapping and semantic_mapping are both '%s'",
                                p->mapping[EV_DETAIL]);
    if (p->train_subject != p->test_subject && p->align_images == 0)
        return bmc_cfg_error_at(pm, err,
                                "set align_images to the number of shared images that fit the "
                                "alignment (e.g. half of them)",
                                "cross-subject run (train subject %lld, test subject %lld) "
                                "needs align_images >= 1",
                                p->train_subject, p->test_subject);
    return 0;
}

void ev_free_plan(ev_plan *p) {
    free(p->models);
    free(p->cohort);
    free(p->align_alphas);
    memset(p, 0, sizeof *p);
}
