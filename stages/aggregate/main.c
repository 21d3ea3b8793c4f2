/* main.c — bmc-aggregate: the study's tables, figures and report page from every eval output
 * of a run. Checks first that the eval files, models, maps, predictions and montages belong
 * to the run and to each other (nothing is written when they do not), bootstraps every
 * statistic over the test images with resamples dealt over ranks, then writes summary.md,
 * summary.csv, summary.json, the figures folder and index.html as .partial and renames them
 * together at the end. Not here: the steps themselves (see aggregate.h for the files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "plot.h"

static const char usage[] =
    "usage: bmc-aggregate --config STAGE.yaml\n"
    "\n"
    "Aggregates every evaluation of a run into the study's tables, figures and report page:\n"
    "per subject pair and decoder (detail, semantic, fused) every metric of the eval files with\n"
    "a seeded bootstrap interval over the test images, means and SDs over subjects, the\n"
    "subjects x subjects matrices, the paired comparison fused vs semantic-only, parameter\n"
    "counts and chosen penalties of the decoders, validation curves, encoding R2 maps with ROI\n"
    "outlines and the retrieval montages. Checks first that all inputs belong to the run\n"
    "(fingerprints in pipeline_info/), share one evaluation image set, cohort and metric\n"
    "settings, and that no eval file is missing, duplicated or foreign; else nothing is written.\n"
    "\n"
    "inputs:\n"
    "  evals          every bmc.eval file of the run (bmc-evaluate, format version 2)\n"
    "  models         the bmc.model files the evaluations used\n"
    "  maps           optional: the encoding-map folder of each model file, same order\n"
    "  predictions    optional: the bmc.predictions file of every eval (bootstrap of the\n"
    "                 per-target Pearson r and R2; needs features)\n"
    "  features       the bmc.clip file the evaluations scored against (with predictions)\n"
    "  montages       optional: the montage PNGs of the evaluate instances (copied)\n"
    "outputs:\n"
    "  md, csv, json  summary.md / summary.csv / summary.json (format bmc.summary, FORMATS.md)\n"
    "  html           index.html: tables, figures, the run's parameters, links to every output\n"
    "  figures        folder of PNG (and SVG) figures\n"
    "params:\n"
    "  resamples      bootstrap resamples of the test images (default 1000)\n"
    "  seed           bootstrap seed (default 0)\n"
    "  ci_level       interval level (default 0.95)\n"
    "  pipeline_info  the run's pipeline_info/ folder (default: the folder holding this stage\n"
    "                 file's stages/ folder, where bmc-workflow writes it)\n"
    "  svg            also write SVG figures (default true)\n"
    "  dpi            PNG resolution (default 300)\n";

typedef struct run_state {
    ag_plan plan;
    ag_runinfo run;
    ag_set set;
    ag_models models;
    ag_maps maps;
    ag_boot boot;
    ag_rows rows;
    char *partial[5];   /* md, csv, json, html, figures (.partial names)                    */
    int made[5];
} run_state;

static const char marker[] = ".bmc-aggregate";

/* Local: the figures folder may be replaced only when bmc-aggregate made it (its marker). */
static int check_figures_output(const ag_plan *p, bmc_err *err) {
    if (!bmc_path_exists(p->out_figures)) return 0;
    char *m = bmc_path_join(p->out_figures, marker);
    int ours = bmc_is_dir(p->out_figures) && bmc_path_exists(m);
    free(m);
    if (!ours)
        return bmc_err_set(err, "remove or rename it, or choose another output 'figures'",
                           "%s exists and was not made by bmc-aggregate (no %s marker): it is "
                           "not replaced", p->out_figures, marker);
    return 0;
}

/* Rank 0: everything into the .partial names. */
static int write_outputs(run_state *r, bmc_stage *s, bmc_err *err) {
    ag_plan *p = &r->plan;
    char created_by[256];
    bmc_stage_version_string(s->program, created_by, sizeof created_by);
    ag_out o = {.plan = p, .set = &r->set, .boot = &r->boot, .models = &r->models,
                .maps = &r->maps, .run = &r->run, .rows = &r->rows, .created_by = created_by,
                .params_sha256 = s->params_sha256};
    const char *finals[5] = {p->out_md, p->out_csv, p->out_json, p->out_html, p->out_figures};
    for (int i = 0; i < 5; i++) r->partial[i] = bmc_xasprintf("%s.partial", finals[i]);
    int rc = 0;
    bmc_remove_tree(r->partial[4]);
    if (bmc_mkdir_p(r->partial[4], err)) return -1;
    r->made[4] = 1;
    char *mk = bmc_path_join(r->partial[4], marker);
    rc = bmc_write_file_atomic(mk, created_by, strlen(created_by), err);
    free(mk);
    double t0 = bmc_now();
    if (!rc) rc = ag_write_figures(&o, r->partial[4], err);
    plot_release_caches();
    if (!rc) bmc_log_info("%zu figures in %.2f s", o.n_figures, bmc_now() - t0);
    if (!rc) rc = ag_write_md(&o, r->partial[0], err), r->made[0] = !rc;
    if (!rc) rc = ag_write_csv(&o, r->partial[1], err), r->made[1] = !rc;
    if (!rc) rc = ag_write_json(&o, r->partial[2], err), r->made[2] = !rc;
    if (!rc) rc = ag_write_html(&o, r->partial[3], err), r->made[3] = !rc;
    for (size_t i = 0; i < o.n_figures; i++) free(o.figures[i]), free(o.captions[i]);
    free(o.figures), free(o.captions);
    return rc;
}

/* Rank 0: rename the .partial outputs (the figures folder replaces the one made before). */
static int commit_outputs(run_state *r, bmc_err *err) {
    const ag_plan *p = &r->plan;
    const char *finals[5] = {p->out_md, p->out_csv, p->out_json, p->out_html, p->out_figures};
    if (bmc_path_exists(p->out_figures)) bmc_remove_tree(p->out_figures);
    for (int i = 4; i >= 0; i--) {
        if (bmc_rename_durable(r->partial[i], finals[i], err)) return -1;
        r->made[i] = 0;
    }
    return 0;
}

static void discard_outputs(run_state *r) {
    for (int i = 0; i < 5; i++)
        if (r->made[i] && r->partial[i]) bmc_remove_tree(r->partial[i]);
}

/* Collective: check every input, bootstrap, write on rank 0. */
static int run(bmc_stage *s, run_state *r, bmc_err *err) {
    ag_plan *p = &r->plan;
    ag_runinfo_read(&r->run, p->pipeline_info, err);
    if (bmc_err_agree(s->comm, err)) return -1;
    if (ag_evals_read(&r->set, p, &r->run, s->comm, err)) return -1;
    bmc_log_info("%zu eval files of run '%s': %d subjects, %ld evaluation images, %ld-way "
                 "retrieval over %ld draws", r->set.n_eval, r->run.run ? r->run.run : "?",
                 r->set.n_subj, r->set.m, r->set.way, r->set.draws);
    ag_models_read(&r->models, p, &r->run, &r->set, s->comm, err);
    if (bmc_err_agree(s->comm, err)) return -1;
    if (ag_maps_read(&r->maps, p, &r->models, s->comm, err)) return -1;
    if (s->rank == 0) check_figures_output(p, err);
    if (bmc_err_agree(s->comm, err)) return -1;
    if (ag_bootstrap(&r->boot, p, &r->set, &r->models, s->comm, err)) return -1;
    if (s->rank == 0) {
        ag_build_rows(&r->rows, p, &r->set, &r->boot, &r->models);
        if (!write_outputs(r, s, err)) commit_outputs(r, err);
        if (err->failed) discard_outputs(r);
        else bmc_log_info("wrote %s, %s, %s, %s and %s/", p->out_md, p->out_csv, p->out_json,
                          p->out_html, p->out_figures);
    }
    return bmc_err_agree(s->comm, err) ? -1 : 0;
}

int main(int argc, char **argv) {
    bmc_stage s;
    bmc_stage_begin(&s, argc - 1, argv + 1, "bmc-aggregate", usage);
    bmc_err err = {0};
    run_state r;
    memset(&r, 0, sizeof r);
    ag_read_plan(&s, &r.plan, &err);
    bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_checked(&s);
    int rc = run(&s, &r, &err);
    ag_rows_free(&r.rows);
    ag_boot_free(&r.boot);
    ag_maps_free(&r.maps);
    ag_models_free(&r.models);
    ag_set_free(&r.set);
    ag_runinfo_free(&r.run);
    for (int i = 0; i < 5; i++) free(r.partial[i]);
    ag_free_plan(&r.plan);
    if (rc) bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_end(&s);
    return 0;
}
