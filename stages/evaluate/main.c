/* main.c — bmc-evaluate: one train subject's decoders scored on one test subject's responses
 * (within-subject, or cross-subject through a ridge alignment on shared images), with the
 * metrics MindEye publishes, per branch (CLIP-Detail, CLIP-Semantic) and fused. Validates every
 * input before any output exists, writes eval_<train>_on_<test>.h5 (.partial, renamed at the
 * end), the JSON summary, and optionally the montage PNG and the predictions for generation.
 * Not here: inputs (inputs.c), alignment (crosssubject.c), blocks (predict.c), scores and
 * outputs (report.c), pixel metrics and the montage (recon.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "bmc_stage.h"
#include "evaluate.h"
#include "recon.h"

static const char usage[] =
    "usage: bmc-evaluate --config STAGE.yaml\n"
    "\n"
    "Scores a train subject's decoders (bmc-train) on a test subject's fMRI responses to the\n"
    "evaluation images: predictions of CLIP-Detail and CLIP-Semantic, per-target Pearson r and\n"
    "R², per-image cosine, two-way identification, 300-way image/brain retrieval over seeded\n"
    "draws, retrieval-based reconstruction from a gallery (PixCorr, SSIM), each for the detail,\n"
    "semantic and fused decoders. Cross-subject (train subject != test subject): the test\n"
    "subject's voxels are first mapped to the train subject's by ridge regression on\n"
    "align_images shared images; every run is scored on the remaining shared images.\n"
    "\n"
    "inputs:\n"
    "  models         bmc.model file(s) of the train subject (one path or a list)\n"
    "  train_fmri     the train subject's bmc.fmri file (the one the models were trained on)\n"
    "  test_fmri      the test subject's bmc.fmri file (the same file within-subject)\n"
    "  features       bmc.clip file with the evaluation and gallery images\n"
    "  stimuli        optional: stimuli (/imgBrick) for PixCorr, SSIM and the montage\n"
    "  cohort         optional list of bmc.fmri files: shared images = test images all share\n"
    "outputs:\n"
    "  eval           eval_<train>_on_<test>.h5 (format bmc.eval, docs/FORMATS.md)\n"
    "  json           the summary as JSON\n"
    "  montage        optional PNG: ground truth | retrieved by fused, semantic, detail\n"
    "  predictions    optional bmc.predictions file: predicted CLIP-Detail and CLIP-Semantic\n"
    "params:\n"
    "  train_subject, test_subject   subject numbers (required; checked against the files)\n"
    "  detail_mapping, semantic_mapping   decoder names (default detail, semantic)\n"
    "  fusion_weight  weight of the detail branch in the fused decoder (default 0.5)\n"
    "  rescale        test | train | none (default test: Brain-Diffuser's rescaling)\n"
    "  align_images   shared images for the cross-subject alignment (default 0; >= 1 when\n"
    "                 the subjects differ); align_seed picks them (default 0)\n"
    "  align_alphas   penalty grid of the alignment (default 17 values 10^-1 .. 10^7)\n"
    "  way, draws, seed   retrieval: way-way top-1 over draws seeded draws (300, 30, 0)\n"
    "  gallery        not_test | unseen: images for retrieval-based reconstruction\n"
    "                 (default not_test: every features image outside the test set)\n"
    "  montage_images rows of the montage (default 8)\n"
    "  ssim           mindeye | 2d (default mindeye: MindEye's column-wise SSIM)\n"
    "  mem_per_rank   memory budget per rank, e.g. 512M, 2G (default 1G)\n";

typedef struct run_state {
    ev_plan plan;
    ev_inputs in;
    recon_source rs;
    int rs_open;
    double *xg[2], *align_alpha[2];
    int pg[2];
    ev_sums sums[2];
    ev_scores sc[EV_N_BRANCH];
    int scored;
} run_state;

/* Collective: /align/<group>/alpha of each aligned group (cross-subject only). */
static int write_alignment(run_state *r, bmc_h5 *out, bmc_err *err) {
    int rc = 0;
    for (int b = 0; b < 2 && !rc && r->in.cross; b++) {
        if (b == 1 && r->align_alpha[1] == r->align_alpha[0]) break;
        char name[300];
        snprintf(name, sizeof name, "/align/%s/alpha", r->in.dec[b].x_group);
        hsize_t n = (hsize_t)r->pg[b];
        rc = bmc_h5_create_dataset(out, name, BMC_F64, 1, &n, NULL, err);
        if (!rc)
            rc = bmc_h5_write_rows(out, name, BMC_F64, 0, out->rank == 0 ? n : 0,
                                   r->align_alpha[b], err);
    }
    return rc;
}

/* Collective: the predictions file's ids and attributes (its datasets are written by
 * ev_predict_branch). */
static int write_predictions_meta(run_state *r, bmc_h5 *f, bmc_err *err) {
    hsize_t m = (hsize_t)r->in.m;
    int rc = bmc_h5_create_dataset(f, "/image_ids", BMC_I64, 1, &m, NULL, err);
    if (!rc) rc = bmc_h5_write_rows(f, "/image_ids", BMC_I64, 0, f->rank == 0 ? m : 0,
                                    r->in.eval_ids, err);
    if (!rc) rc = bmc_h5_attr_set_i64(f, "/", "train_subject", r->plan.train_subject, err);
    if (!rc) rc = bmc_h5_attr_set_i64(f, "/", "test_subject", r->plan.test_subject, err);
    for (int b = 0; b < 2 && !rc; b++) {
        const ev_decoder *d = &r->in.dec[b];
        char name[64];
        snprintf(name, sizeof name, "/%s", ev_branch_name[b]);
        long long *tok = XNEW(tok, d->tokens);
        for (int k = 0; k < d->tokens; k++) tok[k] = d->token_index[k];
        rc = bmc_h5_attr_set_str(f, name, "mapping", d->mapping, err);
        if (!rc) rc = bmc_h5_attr_set_str(f, name, "y_dataset", d->y_dataset, err);
        if (!rc) rc = bmc_h5_attr_set_i64_array(f, name, "token_index", tok, (size_t)d->tokens, err);
        if (!rc) rc = bmc_h5_attr_set_str(f, name, "rescale", ev_rescale_name[r->plan.rescale], err);
        free(tok);
    }
    return rc;
}

/* Collective: PixCorr and SSIM of the retrieved images of the three branches. */
static int score_pixels(run_state *r, bmc_err *err) {
    long m = r->in.m;
    long long *ret = XNEW(ret, 3 * (size_t)m);
    for (int b = 0; b < EV_N_BRANCH; b++)
        memcpy(ret + (size_t)b * (size_t)m, r->sc[b].retrieved, (size_t)m * sizeof *ret);
    double *pc = XNEW(pc, 3 * (size_t)m), *ss = XNEW(ss, 3 * (size_t)m);
    bmc_log_info("scoring %ld retrieved images per branch on pixels (425x425)", m);
    int rc = recon_score(&r->rs, m, r->in.eval_ids, EV_N_BRANCH, ret, r->plan.ssim, pc, ss, err);
    for (int b = 0; b < EV_N_BRANCH && !rc; b++) {
        ev_scores *s = &r->sc[b];
        s->pixcorr = XNEW(s->pixcorr, m);
        s->ssim = XNEW(s->ssim, m);
        memcpy(s->pixcorr, pc + (size_t)b * (size_t)m, (size_t)m * sizeof(double));
        memcpy(s->ssim, ss + (size_t)b * (size_t)m, (size_t)m * sizeof(double));
        double a = 0, c = 0;
        for (long i = 0; i < m; i++) {
            a += s->pixcorr[i];
            c += s->ssim[i];
        }
        s->mean_pixcorr = a / (double)m;
        s->mean_ssim = c / (double)m;
    }
    free(ret);
    free(pc);
    free(ss);
    return rc;
}

/* Collective: the montage, columns ground truth | fused | semantic | detail. */
static int draw_montage(run_state *r, bmc_err *err) {
    long m = r->in.m;
    long long *ret = XNEW(ret, 3 * (size_t)m);
    const int order[3] = {EV_FUSED, EV_SEMANTIC, EV_DETAIL};
    const char *names[3];
    for (int k = 0; k < 3; k++) {
        memcpy(ret + (size_t)k * (size_t)m, r->sc[order[k]].retrieved, (size_t)m * sizeof *ret);
        names[k] = ev_branch_name[order[k]];
    }
    int rc = recon_montage_rows(&r->rs, r->plan.out_montage, r->plan.montage_images, m,
                                r->in.eval_ids, 3, names, ret, err);
    free(ret);
    return rc;
}

static void log_summary(const run_state *r) {
    for (int b = 0; b < EV_N_BRANCH; b++) {
        const ev_scores *s = &r->sc[b];
        bmc_log_info("%-8s cosine %.4f  two-way %.4f  retrieval image %.4f brain %.4f%s%.4f%s%.4f",
                     ev_branch_name[b], s->mean_cos_all, s->mean_two_way, s->image.mean,
                     s->brain.mean, s->pixcorr ? "  PixCorr " : "",
                     s->pixcorr ? s->mean_pixcorr : 0.0, s->pixcorr ? "  SSIM " : "",
                     s->pixcorr ? s->mean_ssim : 0.0);
    }
}

/* Collective: everything; on error no output remains. */
static int run(bmc_stage *s, run_state *r, bmc_err *err) {
    ev_plan *p = &r->plan;
    if (ev_inputs_open(&r->in, s->comm, p, err)) return -1;
    if (p->way > r->in.m && s->rank == 0)
        bmc_log_warn("way %ld is more than the %ld evaluation images: retrieval is %ld-way "
                     "(recorded as way = %ld, way_requested = %ld)",
                     p->way, r->in.m, r->in.m, r->in.m, p->way);
    if (p->stimuli) {
        if (recon_open(&r->rs, s->comm, p->stimuli, err)) return -1;
        r->rs_open = 1;
    }
    bmc_h5 out, pred;
    int out_made = 0, pred_made = 0, montage_made = 0;
    int rc = bmc_h5_create_as(&out, s->comm, p->out_eval, BMC_FMT_EVAL, err);
    out_made = !rc;
    if (!rc) rc = bmc_stage_provenance(s, &out, err);
    if (!rc && p->out_predictions) {
        rc = bmc_h5_create_as(&pred, s->comm, p->out_predictions, BMC_FMT_PREDICTIONS, err);
        pred_made = !rc;
        if (!rc) rc = bmc_stage_provenance(s, &pred, err);
    }
    if (!rc) rc = ev_fmri_rows(p, &r->in, s->comm, r->xg, r->align_alpha, r->pg, err);
    if (!rc) rc = write_alignment(r, &out, err);
    for (int b = 0; b < 2 && !rc; b++)
        rc = ev_predict_branch(p, &r->in, b, r->xg[b], r->pg[b], &out, pred_made ? &pred : NULL,
                               s->comm, &r->sums[b], err);
    if (!rc) {
        ev_score(p, &r->in, r->sums, s->comm, r->sc);
        r->scored = 1;
    }
    if (!rc && r->rs_open) rc = score_pixels(r, err);
    if (!rc) rc = ev_write_eval(p, &r->in, r->sc, &out, err);
    if (!rc && pred_made) rc = write_predictions_meta(r, &pred, err);
    if (!rc && p->out_montage) {
        rc = draw_montage(r, err);
        montage_made = !rc;
    }
    if (!rc) log_summary(r);
    /* Commit: eval, predictions, then the JSON; any failure removes what was renamed. */
    if (!rc) {
        rc = bmc_h5_commit(&out, err);
        out_made = rc ? out_made : 2;
    }
    if (!rc && pred_made) {
        rc = bmc_h5_commit(&pred, err);
        pred_made = rc ? pred_made : 2;
    }
    if (!rc) rc = ev_write_json(p, &r->in, r->sc, p->out_json, s->comm, err);
    if (rc) {
        if (out_made == 1) bmc_h5_discard(&out);
        if (pred_made == 1) bmc_h5_discard(&pred);
        if (s->rank == 0) {
            if (out_made == 2) remove(p->out_eval);
            if (pred_made == 2) remove(p->out_predictions);
            if (montage_made) remove(p->out_montage);
        }
    }
    return rc;
}

int main(int argc, char **argv) {
    bmc_stage s;
    bmc_stage_begin(&s, argc - 1, argv + 1, "bmc-evaluate", usage);
    bmc_err err = {0};
    run_state r;
    memset(&r, 0, sizeof r);
    ev_read_plan(&s, &r.plan, &err);
    bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_checked(&s);
    int rc = run(&s, &r, &err);
    if (r.rs_open) recon_close(&r.rs);
    ev_inputs_close(&r.in);
    if (r.xg[1] != r.xg[0]) free(r.xg[1]);
    free(r.xg[0]);
    if (r.align_alpha[1] != r.align_alpha[0]) free(r.align_alpha[1]);
    free(r.align_alpha[0]);
    for (int b = 0; b < 2; b++) ev_sums_free(&r.sums[b]);
    if (r.scored)
        for (int b = 0; b < EV_N_BRANCH; b++) ev_scores_free(&r.sc[b]);
    ev_free_plan(&r.plan);
    if (rc) bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_end(&s);
    return 0;
}
