/* report.c — bmc-evaluate's scores and outputs. From the block sums on rank 0: the cosine
 * matrices (pred vs real, pred vs gallery), the correlation matrix of two-way identification,
 * per-image cosines, the fused matrices (w·detail + (1 − w)·semantic), the retrieved gallery
 * images; the retrieval draws are split over ranks. Then the bmc.eval datasets, attributes and
 * the JSON summary. Not here: predictions (predict.c), pixel metrics (recon.c).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_formats.h"
#include "bmc_fs.h"
#include "bmc_grid.h"
#include "evaluate.h"

static double safe_div(double a, double b) { return b > 0 ? a / b : 0.0; }

static double mean_of(const double *v, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) s += v[i];
    return n > 0 ? s / (double)n : NAN;
}

/* Local (rank 0): S, R, Q, per-image cosines of one branch from its sums. */
static void branch_matrices(ev_scores *sc, const ev_sums *s) {
    long m = s->m, G = s->G;
    double d = (double)s->cols;
    double *np_ = XNEW(np_, m), *nr = XNEW(nr, m), *ng = XNEW(ng, G ? G : 1);
    double *vp = XNEW(vp, m), *vr = XNEW(vr, m);
    for (long i = 0; i < m; i++) {
        np_[i] = sqrt(s->ss_p[i]);
        nr[i] = sqrt(s->ss_r[i]);
        vp[i] = s->ss_p[i] - s->sum_p[i] * s->sum_p[i] / d;
        vr[i] = s->ss_r[i] - s->sum_r[i] * s->sum_r[i] / d;
    }
    for (long g = 0; g < G; g++) ng[g] = sqrt(s->ss_g[g]);
    for (long i = 0; i < m; i++)
        for (long j = 0; j < m; j++) {
            /* rp[i, j] = real_i · pred_j */
            double rp_ji = s->rp[(size_t)j * (size_t)m + (size_t)i];
            double rp_ij = s->rp[(size_t)i * (size_t)m + (size_t)j];
            sc->S[(size_t)i * (size_t)m + (size_t)j] = safe_div(rp_ji, np_[i] * nr[j]);
            double cov = rp_ij - s->sum_r[i] * s->sum_p[j] / d;
            sc->R[(size_t)i * (size_t)m + (size_t)j] =
                vr[i] > 0 && vp[j] > 0 ? cov / sqrt(vr[i] * vp[j]) : 0.0;
        }
    for (long i = 0; i < m; i++)
        for (long g = 0; g < G; g++)
            sc->Q[(size_t)i * (size_t)G + (size_t)g] =
                safe_div(s->pg[(size_t)i * (size_t)G + (size_t)g], np_[i] * ng[g]);
    for (long i = 0; i < m; i++) {
        sc->cos_all[i] = sc->S[(size_t)i * (size_t)m + (size_t)i];
        sc->cos_global[i] = s->cos_global[i];
    }
    free(np_);
    free(nr);
    free(ng);
    free(vp);
    free(vr);
}

/* Local (rank 0): two-way per image and retrieved gallery ids from R and Q. */
static void branch_choices(ev_scores *sc, long m, long G, const long long *gallery_ids) {
    for (long j = 0; j < m; j++) {
        double own = sc->R[(size_t)j * (size_t)m + (size_t)j];
        long below = 0;
        for (long i = 0; i < m; i++)
            if (i != j && sc->R[(size_t)i * (size_t)m + (size_t)j] < own) below++;
        sc->two_way[j] = (double)below / (double)(m - 1);
    }
    for (long i = 0; i < m; i++) {
        long best = 0;
        for (long g = 1; g < G; g++)
            if (sc->Q[(size_t)i * (size_t)G + (size_t)g] > sc->Q[(size_t)i * (size_t)G + (size_t)best])
                best = g;
        sc->retrieved[i] = gallery_ids[best];
    }
}

/* The way actually used: min(way, m). */
static long way_used(const ev_plan *p, const ev_inputs *in) {
    return p->way < in->m ? p->way : in->m;
}

static void scores_alloc(ev_scores *sc, long m, long G, long draws, long way, int full) {
    memset(sc, 0, sizeof *sc);
    sc->S = XNEW(sc->S, (size_t)m * (size_t)m);
    if (full) {
        sc->R = XNEW(sc->R, (size_t)m * (size_t)m);
        sc->Q = XNEW(sc->Q, (size_t)m * (size_t)(G ? G : 1));
    }
    sc->cos_global = xcalloc((size_t)m, sizeof(double));
    sc->cos_all = xcalloc((size_t)m, sizeof(double));
    sc->two_way = xcalloc((size_t)m, sizeof(double));
    sc->ret_image = xcalloc((size_t)draws, sizeof(double));
    sc->ret_brain = xcalloc((size_t)draws, sizeof(double));
    sc->hit_image = xcalloc(bmc_mul_size((size_t)draws, (size_t)way), 1);
    sc->hit_brain = xcalloc(bmc_mul_size((size_t)draws, (size_t)way), 1);
    sc->retrieved = xcalloc((size_t)m, sizeof(long long));
    sc->mean_pixcorr = sc->mean_ssim = sc->mean_pearson = sc->mean_r2 = NAN;
}

void ev_scores_free(ev_scores *s) {
    free(s->S);
    free(s->R);
    free(s->Q);
    free(s->cos_global);
    free(s->cos_all);
    free(s->two_way);
    free(s->ret_image);
    free(s->ret_brain);
    free(s->hit_image);
    free(s->hit_brain);
    free(s->retrieved);
    free(s->pixcorr);
    free(s->ssim);
    memset(s, 0, sizeof *s);
}

void ev_score(const ev_plan *p, const ev_inputs *in, ev_sums sums[2], MPI_Comm comm,
              ev_scores sc[EV_N_BRANCH]) {
    int rank, P;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    BMC_MPI(MPI_Comm_size(comm, &P));
    long m = in->m, G = in->G;
    size_t mm = (size_t)m * (size_t)m, mg = (size_t)m * (size_t)G;
    long way = way_used(p, in);
    for (int b = 0; b < EV_N_BRANCH; b++) scores_alloc(&sc[b], m, G, p->draws, way, rank == 0);
    if (rank == 0) {
        double w = p->fusion_weight;
        for (int b = 0; b < 2; b++) {
            branch_matrices(&sc[b], &sums[b]);
            sc[b].mean_pearson = sums[b].sum_pearson / (double)sums[b].cols;
            sc[b].mean_r2 = sums[b].sum_r2 / (double)sums[b].cols;
        }
        ev_scores *f = &sc[EV_FUSED], *dd = &sc[EV_DETAIL], *ss = &sc[EV_SEMANTIC];
        for (size_t e = 0; e < mm; e++) {
            f->S[e] = w * dd->S[e] + (1.0 - w) * ss->S[e];
            f->R[e] = w * dd->R[e] + (1.0 - w) * ss->R[e];
        }
        for (size_t e = 0; e < mg; e++) f->Q[e] = w * dd->Q[e] + (1.0 - w) * ss->Q[e];
        for (long i = 0; i < m; i++) {
            f->cos_all[i] = w * dd->cos_all[i] + (1.0 - w) * ss->cos_all[i];
            f->cos_global[i] = w * dd->cos_global[i] + (1.0 - w) * ss->cos_global[i];
        }
        for (int b = 0; b < EV_N_BRANCH; b++) branch_choices(&sc[b], m, G, in->gallery_ids);
    }
    /* Retrieval draws: S everywhere, draws split over ranks, per-item hits gathered (exact). */
    long d0, nd;
    bmc_rowblock(p->draws, P, rank, &d0, &nd);
    int *counts = XNEW(counts, P), *displs = XNEW(displs, P);
    for (int r = 0; r < P; r++) {
        long a, n;
        bmc_rowblock(p->draws, P, r, &a, &n);
        counts[r] = (int)(n * way);
        displs[r] = (int)(a * way);
    }
    uint8_t *mine = XNEW(mine, 2 * (size_t)(nd > 0 ? nd : 1) * (size_t)way);
    for (int b = 0; b < EV_N_BRANCH; b++) {
        ev_scores *s = &sc[b];
        BMC_MPI(MPI_Bcast(s->S, (int)mm, MPI_DOUBLE, 0, comm));
        for (long k = 0; k < nd; k++)
            metric_retrieval_draw_hits(NULL, &mine[(size_t)k * (size_t)way],
                                       &mine[(size_t)(nd + k) * (size_t)way], s->S, m, p->way,
                                       p->seed, d0 + k);
        BMC_MPI(MPI_Allgatherv(mine, (int)(nd * way), MPI_UINT8_T, s->hit_image, counts, displs,
                               MPI_UINT8_T, comm));
        BMC_MPI(MPI_Allgatherv(mine + (size_t)nd * (size_t)way, (int)(nd * way), MPI_UINT8_T,
                               s->hit_brain, counts, displs, MPI_UINT8_T, comm));
        for (long d = 0; d < p->draws; d++) {
            long hi = 0, hb = 0;
            for (long k = 0; k < way; k++) {
                hi += s->hit_image[(size_t)d * (size_t)way + (size_t)k];
                hb += s->hit_brain[(size_t)d * (size_t)way + (size_t)k];
            }
            s->ret_image[d] = (double)hi / (double)way;
            s->ret_brain[d] = (double)hb / (double)way;
        }
        metric_interval_of(&s->image, s->ret_image, p->draws);
        metric_interval_of(&s->brain, s->ret_brain, p->draws);
        /* Per-image results and summaries to every rank. */
        BMC_MPI(MPI_Bcast(s->cos_global, (int)m, MPI_DOUBLE, 0, comm));
        BMC_MPI(MPI_Bcast(s->cos_all, (int)m, MPI_DOUBLE, 0, comm));
        BMC_MPI(MPI_Bcast(s->two_way, (int)m, MPI_DOUBLE, 0, comm));
        BMC_MPI(MPI_Bcast(s->retrieved, (int)m, MPI_LONG_LONG, 0, comm));
        double means[2] = {s->mean_pearson, s->mean_r2};
        BMC_MPI(MPI_Bcast(means, 2, MPI_DOUBLE, 0, comm));
        s->mean_pearson = means[0];
        s->mean_r2 = means[1];
        s->mean_cos_global = mean_of(s->cos_global, m);
        s->mean_cos_all = mean_of(s->cos_all, m);
        s->mean_two_way = mean_of(s->two_way, m);
    }
    free(mine);
    free(counts);
    free(displs);
}

/* ---- the eval file --------------------------------------------------------------------- */

/* Collective: a 1-D dataset written by rank 0 from data (same on every rank). */
static int write_vec(bmc_h5 *f, const char *name, bmc_dtype t, long n, const void *data,
                     bmc_err *err) {
    hsize_t dim = (hsize_t)n;
    if (bmc_h5_create_dataset(f, name, t, 1, &dim, NULL, err)) return -1;
    return bmc_h5_write_rows(f, name, t, 0, f->rank == 0 ? dim : 0, data, err);
}

/* Collective: a rows × cols dataset written by rank 0 from data (same on every rank). */
static int write_mat(bmc_h5 *f, const char *name, bmc_dtype t, long rows, long cols,
                     const void *data, bmc_err *err) {
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
    if (bmc_h5_create_dataset(f, name, t, 2, dims, NULL, err)) return -1;
    return bmc_h5_write_rows(f, name, t, 0, f->rank == 0 ? dims[0] : 0, data, err);
}

/* Collective: /images/retrieval_draws [draws, way]: the image ids of every draw, in the order
 * of metric_draw_items (the hits' order). */
static int write_draws(const ev_plan *p, const ev_inputs *in, bmc_h5 *out, bmc_err *err) {
    long way = way_used(p, in);
    size_t n = bmc_mul_size((size_t)p->draws, (size_t)way);
    long long *ids = XNEW(ids, n);
    long *idx = XNEW(idx, way);
    for (long d = 0; d < p->draws && out->rank == 0; d++) {
        metric_draw_items(idx, in->m, way, p->seed, d);
        for (long k = 0; k < way; k++)
            ids[(size_t)d * (size_t)way + (size_t)k] = in->eval_ids[idx[k]];
    }
    int rc = write_mat(out, "/images/retrieval_draws", BMC_I64, p->draws, way, ids, err);
    free(idx);
    free(ids);
    return rc;
}

static int set_f64(bmc_h5 *f, const char *obj, const char *k, double v, int rc, bmc_err *err) {
    return rc ? rc : bmc_h5_attr_set_f64(f, obj, k, v, err);
}
static int set_i64(bmc_h5 *f, const char *obj, const char *k, long long v, int rc, bmc_err *err) {
    return rc ? rc : bmc_h5_attr_set_i64(f, obj, k, v, err);
}
static int set_str(bmc_h5 *f, const char *obj, const char *k, const char *v, int rc, bmc_err *err) {
    return rc ? rc : bmc_h5_attr_set_str(f, obj, k, v, err);
}

/* Local: newline-joined list (heap). */
static char *join_paths(const char *const *v, size_t n) {
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(v[i]) + 1;
    char *s = xcalloc(len, 1);
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(s, "\n");
        strcat(s, v[i]);
    }
    return s;
}

int ev_write_eval(const ev_plan *p, const ev_inputs *in, const ev_scores sc[EV_N_BRANCH],
                  bmc_h5 *out, bmc_err *err) {
    int rc = write_vec(out, "/images/eval_ids", BMC_I64, in->m, in->eval_ids, err);
    if (!rc) rc = write_vec(out, "/images/align_ids", BMC_I64, in->k, in->align_ids, err);
    if (!rc) rc = write_vec(out, "/images/gallery_ids", BMC_I64, in->G, in->gallery_ids, err);
    if (!rc) rc = write_draws(p, in, out, err);
    long way = way_used(p, in);
    char name[300];
    for (int b = 0; b < EV_N_BRANCH && !rc; b++) {
        const ev_scores *s = &sc[b];
        const char *bn = ev_branch_name[b];
        struct { const char *leaf; const void *v; long n; bmc_dtype t; } ds[] = {
            {"cosine_global", s->cos_global, in->m, BMC_F64},
            {"cosine_all", s->cos_all, in->m, BMC_F64},
            {"two_way_per_image", s->two_way, in->m, BMC_F64},
            {"retrieval_image", s->ret_image, p->draws, BMC_F64},
            {"retrieval_brain", s->ret_brain, p->draws, BMC_F64},
            {"retrieved_ids", s->retrieved, in->m, BMC_I64},
            {"pixcorr", s->pixcorr, in->m, BMC_F64},
            {"ssim", s->ssim, in->m, BMC_F64}};
        for (size_t k = 0; k < sizeof ds / sizeof *ds && !rc; k++) {
            if (!ds[k].v) continue;
            snprintf(name, sizeof name, "/%s/%s", bn, ds[k].leaf);
            rc = write_vec(out, name, ds[k].t, ds[k].n, ds[k].v, err);
        }
        snprintf(name, sizeof name, "/%s/retrieval_image_hits", bn);
        if (!rc) rc = write_mat(out, name, BMC_U8, p->draws, way, s->hit_image, err);
        snprintf(name, sizeof name, "/%s/retrieval_brain_hits", bn);
        if (!rc) rc = write_mat(out, name, BMC_U8, p->draws, way, s->hit_brain, err);
        snprintf(name, sizeof name, "/%s", bn);
        if (b < 2) {
            const ev_decoder *d = &in->dec[b];
            rc = set_f64(out, name, "pearson", s->mean_pearson, rc, err);
            rc = set_f64(out, name, "r2", s->mean_r2, rc, err);
            rc = set_str(out, name, "mapping", d->mapping, rc, err);
            rc = set_str(out, name, "x_group", d->x_group, rc, err);
            rc = set_str(out, name, "y_dataset", d->y_dataset, rc, err);
            rc = set_str(out, name, "form", d->dual ? "dual" : "primal", rc, err);
            rc = set_i64(out, name, "t", d->t, rc, err);
        }
        rc = set_f64(out, name, "cosine_global", s->mean_cos_global, rc, err);
        rc = set_f64(out, name, "cosine_all", s->mean_cos_all, rc, err);
        rc = set_f64(out, name, "two_way", s->mean_two_way, rc, err);
        if (s->pixcorr) {
            rc = set_f64(out, name, "pixcorr", s->mean_pixcorr, rc, err);
            rc = set_f64(out, name, "ssim", s->mean_ssim, rc, err);
        }
        rc = set_f64(out, name, "retrieval_image_mean", s->image.mean, rc, err);
        rc = set_f64(out, name, "retrieval_image_lo", s->image.lo, rc, err);
        rc = set_f64(out, name, "retrieval_image_hi", s->image.hi, rc, err);
        rc = set_f64(out, name, "retrieval_brain_mean", s->brain.mean, rc, err);
        rc = set_f64(out, name, "retrieval_brain_lo", s->brain.lo, rc, err);
        rc = set_f64(out, name, "retrieval_brain_hi", s->brain.hi, rc, err);
    }
    char *models = join_paths(p->models, p->n_models);
    rc = set_i64(out, "/", "train_subject", p->train_subject, rc, err);
    rc = set_i64(out, "/", "test_subject", p->test_subject, rc, err);
    rc = set_i64(out, "/", "cross", in->cross, rc, err);
    rc = set_i64(out, "/", "n_eval", in->m, rc, err);
    rc = set_i64(out, "/", "n_align", in->k, rc, err);
    rc = set_i64(out, "/", "n_gallery", in->G, rc, err);
    rc = set_f64(out, "/", "fusion_weight", p->fusion_weight, rc, err);
    rc = set_str(out, "/", "rescale", ev_rescale_name[p->rescale], rc, err);
    rc = set_i64(out, "/", "way", way, rc, err);
    rc = set_i64(out, "/", "way_requested", p->way, rc, err);
    rc = set_i64(out, "/", "draws", p->draws, rc, err);
    rc = set_i64(out, "/", "seed", (long long)p->seed, rc, err);
    rc = set_i64(out, "/", "align_seed", (long long)p->align_seed, rc, err);
    rc = set_str(out, "/", "gallery", p->gallery_unseen ? "unseen" : "not_test", rc, err);
    rc = set_str(out, "/", "ssim_mode", p->ssim == SSIM_2D ? "2d" : "mindeye", rc, err);
    rc = set_str(out, "/", "models", models, rc, err);
    rc = set_str(out, "/", "train_fmri", p->train_fmri, rc, err);
    rc = set_str(out, "/", "test_fmri", p->test_fmri, rc, err);
    rc = set_str(out, "/", "features", p->features, rc, err);
    rc = set_str(out, "/", "stimuli", p->stimuli ? p->stimuli : "", rc, err);
    free(models);
    return rc;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static cJSON *interval_json(const metric_interval *v) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "mean", v->mean);
    cJSON_AddNumberToObject(o, "lo", v->lo);
    cJSON_AddNumberToObject(o, "hi", v->hi);
    return o;
}

int ev_write_json(const ev_plan *p, const ev_inputs *in, const ev_scores sc[EV_N_BRANCH],
                  const char *path, MPI_Comm comm, bmc_err *err) {
    int rank;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "format", bmc_formats[BMC_FMT_EVAL].name);
        cJSON_AddNumberToObject(root, "format_version", bmc_formats[BMC_FMT_EVAL].version);
        cJSON_AddNumberToObject(root, "train_subject", (double)p->train_subject);
        cJSON_AddNumberToObject(root, "test_subject", (double)p->test_subject);
        cJSON_AddBoolToObject(root, "cross", in->cross);
        cJSON_AddNumberToObject(root, "n_eval", (double)in->m);
        cJSON_AddNumberToObject(root, "n_align", (double)in->k);
        cJSON_AddNumberToObject(root, "n_gallery", (double)in->G);
        cJSON_AddNumberToObject(root, "way", (double)way_used(p, in));
        cJSON_AddNumberToObject(root, "way_requested", (double)p->way);
        cJSON_AddNumberToObject(root, "draws", (double)p->draws);
        cJSON_AddNumberToObject(root, "fusion_weight", p->fusion_weight);
        cJSON_AddStringToObject(root, "rescale", ev_rescale_name[p->rescale]);
        cJSON *metrics = cJSON_AddObjectToObject(root, "metrics");
        for (int b = 0; b < EV_N_BRANCH; b++) {
            const ev_scores *s = &sc[b];
            cJSON *o = cJSON_AddObjectToObject(metrics, ev_branch_name[b]);
            if (b < 2) {
                cJSON_AddNumberToObject(o, "pearson", s->mean_pearson);
                cJSON_AddNumberToObject(o, "r2", s->mean_r2);
            }
            cJSON_AddNumberToObject(o, "cosine_global", s->mean_cos_global);
            cJSON_AddNumberToObject(o, "cosine_all", s->mean_cos_all);
            cJSON_AddNumberToObject(o, "two_way", s->mean_two_way);
            cJSON_AddItemToObject(o, "retrieval_image", interval_json(&s->image));
            cJSON_AddItemToObject(o, "retrieval_brain", interval_json(&s->brain));
            if (s->pixcorr) {
                cJSON_AddNumberToObject(o, "pixcorr", s->mean_pixcorr);
                cJSON_AddNumberToObject(o, "ssim", s->mean_ssim);
            }
        }
        char *text = cJSON_Print(root);
        size_t len = strlen(text);
        char *withnl = xmalloc(len + 2);
        memcpy(withnl, text, len);
        withnl[len] = '\n';
        withnl[len + 1] = 0;
        bmc_write_file_atomic(path, withnl, len + 1, err);
        free(withnl);
        cJSON_free(text);
        cJSON_Delete(root);
    }
    return bmc_err_agree(comm, err) ? -1 : 0;
}
