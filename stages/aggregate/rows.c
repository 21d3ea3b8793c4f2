/* rows.c — the rows of summary.csv, in their documented order (docs/FORMATS.md,
 * bmc.summary): per eval file and decoder every metric with its bootstrap interval; means and
 * SDs over the within-subject and the cross-subject pairs with the interval of the pooled
 * resamples; the paired difference fused − semantic per pair and pooled, with a verdict;
 * parameter counts and chosen-penalty statistics per subject and decoder.
 * Not here: resampling (stats.c, targets.c), writing (report.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bootstrap.h"

const char *const ag_section_name[4] = {"metric", "fused_minus_semantic", "parameters",
                                        "penalty"};
const char *const ag_scope_name[4] = {"pair", "within_subject", "cross_subject", "subject"};

static ag_row *new_row(ag_rows *rows, ag_section sec, ag_scope scope) {
    if (rows->n == rows->cap)
        rows->row = xrealloc(rows->row, (rows->cap = rows->cap ? 2 * rows->cap : 64) *
                                            sizeof *rows->row);
    ag_row *r = &rows->row[rows->n++];
    memset(r, 0, sizeof *r);
    r->section = sec, r->scope = scope;
    r->train = r->test = -1;
    r->k = -1, r->higher_better = -1;
    r->way = r->draws = r->n_images = r->n_subjects = r->resamples = -1;
    r->value = r->sd = r->lo = r->hi = NAN;
    return r;
}

/* Local: the metric columns of a row for metric k. */
static void metric_cols(ag_row *r, const ag_set *set, int k) {
    r->k = k;
    snprintf(r->metric, sizeof r->metric, "%s", ag_metric[k].key);
    r->higher_better = ag_metric[k].higher_better;
    r->n_images = set->m;
    if (ag_metric[k].kind == AG_PER_DRAW) r->way = set->way, r->draws = set->draws;
}

/* Local: interval of v[B] into the row (resamples set only when it exists). */
static void interval(ag_row *r, const double *v, long B, double level) {
    boot_percentile_interval(&r->lo, &r->hi, v, B, level);
    if (!isnan(r->lo)) r->resamples = B;
}

static double theta(const ag_boot *bt, long b, size_t s) {
    return bt->theta[(size_t)b * bt->n_series + s];
}

/* Local: mean and SD (ddof 1; NaN for one value) of x[n]. */
static void mean_sd(const double *x, size_t n, double *mean, double *sd) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    *mean = s / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
}

/* Evals of one rescale setting and scope (pair scope: all), with the metric in branch b
 * (and in `other` when ≥ 0). */
static size_t select_evals(size_t *out, const ag_set *set, const char *rescale, ag_scope sc,
                           int b, int other, int k) {
    size_t n = 0;
    for (size_t e = 0; e < set->n_eval; e++) {
        const ag_eval *ev = &set->ev[e];
        if (strcmp(ev->rescale, rescale) || !ev->br[b].has[k]) continue;
        if (other >= 0 && !ev->br[other].has[k]) continue;
        if (sc == AG_SCOPE_WITHIN && ev->cross) continue;
        if (sc == AG_SCOPE_CROSS && !ev->cross) continue;
        out[n++] = e;
    }
    return n;
}

static void verdict(ag_row *r) {
    snprintf(r->verdict, sizeof r->verdict, "%s",
             r->lo > 0 ? "fused_higher" : r->hi < 0 ? "semantic_higher" : "no_difference");
}

/* Local: a metric row (diff = 0) or a fused − semantic row (diff = 1) over evals idx[n]. */
static void stat_row(ag_rows *rows, const ag_plan *p, const ag_set *set, const ag_boot *bt,
                     ag_scope sc, const size_t *idx, size_t n, int b, int k, int diff) {
    ag_row *r = new_row(rows, diff ? AG_SEC_DIFF : AG_SEC_METRIC, sc);
    const ag_eval *e0 = &set->ev[idx[0]];
    metric_cols(r, set, k);
    snprintf(r->rescale, sizeof r->rescale, "%s", e0->rescale);
    snprintf(r->decoder, sizeof r->decoder, "%s", diff ? "fused-semantic" : ag_branch_name[b]);
    if (sc == AG_SCOPE_PAIR) r->train = e0->train, r->test = e0->test;
    r->n_subjects = (long)n;
    double *x = XNEW(x, n), *v = XNEW(v, bt->B);
    for (size_t i = 0; i < n; i++) {
        const ag_eval *ev = &set->ev[idx[i]];
        x[i] = diff ? ev->br[AG_FUSED].point[k] - ev->br[AG_SEMANTIC].point[k] : ev->br[b].point[k];
    }
    if (n == 1) r->value = x[0];
    else mean_sd(x, n, &r->value, &r->sd);
    for (long q = 0; q < bt->B; q++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += diff ? theta(bt, q, ag_series(idx[i], AG_FUSED, k)) -
                            theta(bt, q, ag_series(idx[i], AG_SEMANTIC, k))
                      : theta(bt, q, ag_series(idx[i], b, k));
        v[q] = s / (double)n;
    }
    interval(r, v, bt->B, p->level);
    if (diff) verdict(r);
    free(x), free(v);
}

/* Distinct rescale settings in eval order (sorted by rescale first). */
static size_t rescales(const char **out, const ag_set *set) {
    size_t n = 0;
    for (size_t e = 0; e < set->n_eval; e++)
        if (!n || strcmp(out[n - 1], set->ev[e].rescale)) out[n++] = set->ev[e].rescale;
    return n;
}

static void metric_rows(ag_rows *rows, const ag_plan *p, const ag_set *set, const ag_boot *bt) {
    const char **rs = XNEW(rs, set->n_eval);
    size_t nr = rescales(rs, set);
    size_t *idx = XNEW(idx, set->n_eval);
    for (size_t e = 0; e < set->n_eval; e++)
        for (int b = 0; b < AG_N_BRANCH; b++)
            for (int k = 0; k < AG_N_METRIC; k++)
                if (set->ev[e].br[b].has[k]) {
                    idx[0] = e;
                    stat_row(rows, p, set, bt, AG_SCOPE_PAIR, idx, 1, b, k, 0);
                }
    for (size_t i = 0; i < nr; i++)
        for (int sc = AG_SCOPE_WITHIN; sc <= AG_SCOPE_CROSS; sc++)
            for (int b = 0; b < AG_N_BRANCH; b++)
                for (int k = 0; k < AG_N_METRIC; k++) {
                    size_t n = select_evals(idx, set, rs[i], (ag_scope)sc, b, -1, k);
                    if (n) stat_row(rows, p, set, bt, (ag_scope)sc, idx, n, b, k, 0);
                }
    for (size_t i = 0; i < nr; i++)
        for (int sc = AG_SCOPE_PAIR; sc <= AG_SCOPE_CROSS; sc++)
            for (int k = 0; k < AG_N_METRIC; k++) {
                size_t n = select_evals(idx, set, rs[i], AG_SCOPE_PAIR, AG_FUSED, AG_SEMANTIC, k);
                if (sc == AG_SCOPE_PAIR) {
                    for (size_t j = 0; j < n; j++)
                        stat_row(rows, p, set, bt, AG_SCOPE_PAIR, &idx[j], 1, AG_FUSED, k, 1);
                    continue;
                }
                n = select_evals(idx, set, rs[i], (ag_scope)sc, AG_FUSED, AG_SEMANTIC, k);
                if (n) stat_row(rows, p, set, bt, (ag_scope)sc, idx, n, AG_FUSED, k, 1);
            }
    free(idx);
    free(rs);
}

/* Parameters and penalties of each train subject's decoders (the branches' mappings). */
static void model_rows(ag_rows *rows, const ag_set *set, const ag_models *md) {
    for (int si = 0; si < set->n_subj; si++) {
        long long s = set->subjects[si];
        const ag_eval *ev = NULL;
        for (size_t e = 0; e < set->n_eval && !ev; e++)
            if (set->ev[e].train == s) ev = &set->ev[e];
        if (!ev) continue;
        long long total = 0;
        for (int b = 0; b <= AG_N_BRANCH - 1; b++) {
            ag_row *r = new_row(rows, AG_SEC_PARAMS, AG_SCOPE_SUBJECT);
            r->train = s;
            snprintf(r->decoder, sizeof r->decoder, "%s", ag_branch_name[b]);
            snprintf(r->metric, sizeof r->metric, "parameters");
            if (b < 2) {
                const ag_mapping *m = ag_find_mapping(md, s, ev->br[b].mapping);
                total += m->params;
                r->value = (double)m->params;
            } else {
                r->value = (double)total;
            }
        }
        for (int b = 0; b < 2; b++) {
            const ag_mapping *m = ag_find_mapping(md, s, ev->br[b].mapping);
            const char *names[] = {"alpha_median", "alpha_geometric_mean", "alpha_min",
                                   "alpha_max", "fraction_at_lowest_alpha",
                                   "fraction_at_highest_alpha"};
            double vals[] = {m->alpha_median, m->alpha_gmean, m->alpha_min, m->alpha_max,
                             m->frac_low, m->frac_high};
            for (int j = 0; j < 6; j++) {
                ag_row *r = new_row(rows, AG_SEC_PENALTY, AG_SCOPE_SUBJECT);
                r->train = s;
                snprintf(r->decoder, sizeof r->decoder, "%s", ag_branch_name[b]);
                snprintf(r->metric, sizeof r->metric, "%s", names[j]);
                r->value = vals[j];
            }
        }
    }
}

void ag_build_rows(ag_rows *rows, const ag_plan *p, const ag_set *set, const ag_boot *bt,
                   const ag_models *md) {
    memset(rows, 0, sizeof *rows);
    metric_rows(rows, p, set, bt);
    model_rows(rows, set, md);
}

void ag_rows_free(ag_rows *rows) {
    free(rows->row);
    memset(rows, 0, sizeof *rows);
}

void ag_decoder_label(char *buf, size_t n, const ag_set *set, int branch, const char *rescale) {
    if (set->n_rescale > 1) snprintf(buf, n, "%s (rescale %s)", ag_branch_name[branch], rescale);
    else snprintf(buf, n, "%s", ag_branch_name[branch]);
}

void ag_fmt(char *buf, size_t n, double v, int dec) {
    if (isnan(v)) snprintf(buf, n, "—");
    else snprintf(buf, n, "%.*f", dec, v);
}

void ag_fmt_count(char *buf, size_t n, long long v) {
    if (v >= 1000000000LL) snprintf(buf, n, "%.2fG", (double)v / 1e9);
    else if (v >= 1000000LL) snprintf(buf, n, "%.2fM", (double)v / 1e6);
    else if (v >= 10000LL) snprintf(buf, n, "%.1fK", (double)v / 1e3);
    else snprintf(buf, n, "%lld", v);
}
