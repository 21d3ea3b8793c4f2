/* tables.c — the report's tables as cells, built once from the summary rows and rendered by
 * report.c (Markdown) and html.c: the MindEye-style main tables (decoders × metrics, mean ±
 * SD over subjects, best in bold), every pair with its bootstrap interval, the subjects ×
 * subjects matrices, fused vs semantic, decoders (parameters, penalties), stage times and the
 * separate table of published real-NSD results.
 * Not here: computing any number (rows.c), file formats (report.c, html.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"

/* ---- table building ------------------------------------------------------------------- */

static ag_table *table_new(ag_tables *tt, const char *id, int ncol, const char *title,
                           const char *note) {
    tt->t = xrealloc(tt->t, (tt->n + 1) * sizeof *tt->t);
    ag_table *t = &tt->t[tt->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%s", id);
    t->title = xstrdup(title);
    t->note = note ? xstrdup(note) : NULL;
    t->ncol = ncol;
    return t;
}

/* Append a row; returns its index. */
static int row_add(ag_table *t) {
    t->cells = xrealloc(t->cells, (size_t)(t->nrow + 1) * (size_t)t->ncol * sizeof *t->cells);
    t->bold = xrealloc(t->bold, (size_t)(t->nrow + 1) * (size_t)t->ncol);
    for (int c = 0; c < t->ncol; c++) {
        t->cells[(size_t)t->nrow * (size_t)t->ncol + (size_t)c] = xstrdup("");
        t->bold[(size_t)t->nrow * (size_t)t->ncol + (size_t)c] = 0;
    }
    return t->nrow++;
}

static void cell(ag_table *t, int r, int c, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void cell(ag_table *t, int r, int c, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t i = (size_t)r * (size_t)t->ncol + (size_t)c;
    free(t->cells[i]);
    t->cells[i] = xstrdup(buf);
}

/* The header of a metric column: label, arrow, and for retrieval direction and way. */
static void metric_header(char *buf, size_t n, const ag_set *set, int k) {
    const ag_metric_info *mi = &ag_metric[k];
    if (mi->kind == AG_PER_DRAW)
        snprintf(buf, n, "%s %s (%ld-way, %ld draws; %s)", mi->label,
                 mi->higher_better ? "↑" : "↓", set->way, set->draws, mi->note);
    else
        snprintf(buf, n, "%s %s", mi->label, mi->higher_better ? "↑" : "↓");
}

/* The row of section/scope for (rescale, decoder, metric, train, test), or NULL. */
static const ag_row *find_row(const ag_rows *rows, ag_section sec, ag_scope sc,
                              const char *rescale, const char *decoder, const char *metric,
                              long long train, long long test) {
    for (size_t i = 0; i < rows->n; i++) {
        const ag_row *r = &rows->row[i];
        if (r->section == sec && r->scope == sc && !strcmp(r->decoder, decoder) &&
            !strcmp(r->metric, metric) && (!rescale || !strcmp(r->rescale, rescale)) &&
            r->train == train && r->test == test)
            return r;
    }
    return NULL;
}

static size_t rescales(const char **out, const ag_set *set) {
    size_t n = 0;
    for (size_t e = 0; e < set->n_eval; e++)
        if (!n || strcmp(out[n - 1], set->ev[e].rescale)) out[n++] = set->ev[e].rescale;
    return n;
}

/* Metrics present in any eval (columns of the metric tables). */
static int metric_cols(int *ks, const ag_set *set) {
    int n = 0;
    for (int k = 0; k < AG_N_METRIC; k++) {
        int any = 0;
        for (size_t e = 0; e < set->n_eval && !any; e++)
            for (int b = 0; b < AG_N_BRANCH; b++) any |= set->ev[e].br[b].has[k];
        if (any) ks[n++] = k;
    }
    return n;
}

/* Mean parameter count of a decoder over the train subjects. */
static double mean_params(const ag_rows *rows, const char *decoder) {
    double s = 0;
    int n = 0;
    for (size_t i = 0; i < rows->n; i++)
        if (rows->row[i].section == AG_SEC_PARAMS && !strcmp(rows->row[i].decoder, decoder))
            s += rows->row[i].value, n++;
    return n ? s / n : NAN;
}

/* ---- the tables ------------------------------------------------------------------------ */

static void main_table(ag_tables *tt, const ag_out *o, ag_scope sc, const char *rescale) {
    const ag_set *set = o->set;
    int ks[AG_N_METRIC], nk = metric_cols(ks, set);
    char title[256], note[1024];
    long npair = 0;
    for (size_t e = 0; e < set->n_eval; e++)
        npair += !strcmp(set->ev[e].rescale, rescale) && (sc == AG_SCOPE_WITHIN) != set->ev[e].cross;
    if (!npair) return;
    snprintf(title, sizeof title, "%s decoding, rescale %s: mean ± SD over %ld %s",
             sc == AG_SCOPE_WITHIN ? "Within-subject" : "Cross-subject", rescale, npair,
             sc == AG_SCOPE_WITHIN ? "subjects" : "subject pairs");
    snprintf(note, sizeof note, "This run's numbers on %ld evaluation images. Best value per "
             "column in bold. ↑: higher is better. SD over %s (ddof 1; — for one). Params: mean "
             "over train subjects (fused = detail + semantic).", set->m,
             sc == AG_SCOPE_WITHIN ? "subjects" : "pairs");
    ag_table *t = table_new(tt, sc == AG_SCOPE_WITHIN ? "main" : "main_cross", nk + 2, title, note);
    int h = row_add(t);
    cell(t, h, 0, "Decoder");
    cell(t, h, 1, "Params");
    char buf[256];
    for (int j = 0; j < nk; j++) {
        metric_header(buf, sizeof buf, set, ks[j]);
        cell(t, h, j + 2, "%s", buf);
    }
    double best[AG_N_METRIC];
    for (int j = 0; j < nk; j++) best[j] = NAN;
    for (int b = 0; b < AG_N_BRANCH; b++)
        for (int j = 0; j < nk; j++) {
            const ag_row *r = find_row(o->rows, AG_SEC_METRIC, sc, rescale, ag_branch_name[b],
                                       ag_metric[ks[j]].key, -1, -1);
            if (r && (isnan(best[j]) || (ag_metric[ks[j]].higher_better ? r->value > best[j]
                                                                        : r->value < best[j])))
                best[j] = r->value;
        }
    for (int b = 0; b < AG_N_BRANCH; b++) {
        int r0 = row_add(t);
        ag_decoder_label(buf, sizeof buf, set, b, rescale);
        cell(t, r0, 0, "%s", buf);
        ag_fmt_count(buf, sizeof buf, (long long)llround(mean_params(o->rows, ag_branch_name[b])));
        cell(t, r0, 1, "%s", buf);
        for (int j = 0; j < nk; j++) {
            const ag_row *r = find_row(o->rows, AG_SEC_METRIC, sc, rescale, ag_branch_name[b],
                                       ag_metric[ks[j]].key, -1, -1);
            if (!r) {
                cell(t, r0, j + 2, "—");
                continue;
            }
            char v[64], s[64];
            ag_fmt(v, sizeof v, r->value, 3);
            ag_fmt(s, sizeof s, r->sd, 3);
            cell(t, r0, j + 2, "%s ± %s", v, s);
            t->bold[(size_t)r0 * (size_t)t->ncol + (size_t)(j + 2)] = r->value == best[j];
        }
    }
}

static void pair_table(ag_tables *tt, const ag_out *o) {
    const ag_set *set = o->set;
    int ks[AG_N_METRIC], nk = metric_cols(ks, set);
    char note[512], buf[256];
    snprintf(note, sizeof note, "Value [%g%% bootstrap interval over the %ld test images, %ld "
             "resamples]; — where a metric has no resamples (per-target metrics without the "
             "predictions input).", 100 * o->plan->level, set->m, o->boot->B);
    ag_table *t = table_new(tt, "pairs", nk + 3, "Every subject pair", note);
    int h = row_add(t);
    cell(t, h, 0, "Train");
    cell(t, h, 1, "Test");
    cell(t, h, 2, "Decoder");
    for (int j = 0; j < nk; j++) {
        metric_header(buf, sizeof buf, set, ks[j]);
        cell(t, h, j + 3, "%s", buf);
    }
    for (size_t e = 0; e < set->n_eval; e++)
        for (int b = 0; b < AG_N_BRANCH; b++) {
            const ag_eval *ev = &set->ev[e];
            int r0 = row_add(t);
            cell(t, r0, 0, "%lld", ev->train);
            cell(t, r0, 1, "%lld", ev->test);
            ag_decoder_label(buf, sizeof buf, set, b, ev->rescale);
            cell(t, r0, 2, "%s", buf);
            for (int j = 0; j < nk; j++) {
                const ag_row *r = find_row(o->rows, AG_SEC_METRIC, AG_SCOPE_PAIR, ev->rescale,
                                           ag_branch_name[b], ag_metric[ks[j]].key, ev->train,
                                           ev->test);
                if (!r) {
                    cell(t, r0, j + 3, "—");
                    continue;
                }
                char v[64], lo[64], hi[64];
                ag_fmt(v, sizeof v, r->value, 3);
                ag_fmt(lo, sizeof lo, r->lo, 3);
                ag_fmt(hi, sizeof hi, r->hi, 3);
                cell(t, r0, j + 3, "%s [%s, %s]", v, lo, hi);
            }
        }
}

static void matrix_tables(ag_tables *tt, const ag_out *o, const char *rescale) {
    const ag_set *set = o->set;
    int ks[AG_N_METRIC], nk = metric_cols(ks, set);
    if (set->n_subj < 2) return;
    for (int j = 0; j < nk; j++) {
        int k = ks[j];
        char title[600], id[64], buf[256];
        metric_header(buf, sizeof buf, set, k);
        snprintf(title, sizeof title, "Subjects × subjects: %s (rescale %s)", buf, rescale);
        snprintf(id, sizeof id, "matrix_%s", ag_metric[k].key);
        ag_table *t = table_new(tt, id, set->n_subj + 2, title,
                                "Rows: the subject whose decoders are applied (train); columns: "
                                "the subject whose responses are decoded (test). Diagonal: "
                                "within-subject.");
        int h = row_add(t);
        cell(t, h, 0, "Decoder");
        cell(t, h, 1, "Train \\ test");
        for (int c = 0; c < set->n_subj; c++) cell(t, h, c + 2, "%lld", set->subjects[c]);
        for (int b = 0; b < AG_N_BRANCH; b++)
            for (int rr = 0; rr < set->n_subj; rr++) {
                int any = 0;
                for (int c = 0; c < set->n_subj; c++) {
                    long e = ag_find_eval(set, set->subjects[rr], set->subjects[c], rescale);
                    any |= e >= 0 && set->ev[e].br[b].has[k];
                }
                if (!any) continue;
                int r0 = row_add(t);
                ag_decoder_label(buf, sizeof buf, set, b, rescale);
                cell(t, r0, 0, "%s", buf);
                cell(t, r0, 1, "%lld", set->subjects[rr]);
                for (int c = 0; c < set->n_subj; c++) {
                    long e = ag_find_eval(set, set->subjects[rr], set->subjects[c], rescale);
                    if (e < 0 || !set->ev[e].br[b].has[k]) {
                        cell(t, r0, c + 2, "—");
                        continue;
                    }
                    ag_fmt(buf, sizeof buf, set->ev[e].br[b].point[k], 3);
                    cell(t, r0, c + 2, "%s", buf);
                }
            }
    }
}

static void diff_table(ag_tables *tt, const ag_out *o, const char *rescale) {
    const ag_set *set = o->set;
    int ks[AG_N_METRIC], nk = metric_cols(ks, set);
    char note[512], buf[256];
    snprintf(note, sizeof note, "Paired bootstrap: fused − semantic on the same %ld resamples "
             "of the test images; the pooled rows average the pairs' differences. Verdict: "
             "fused_higher when the whole %g%% interval is above 0, semantic_higher when below, "
             "else no_difference.", o->boot->B, 100 * o->plan->level);
    char title[256];
    snprintf(title, sizeof title, "Does fusion help? fused − semantic-only (rescale %s)", rescale);
    ag_table *t = table_new(tt, "fusion", 5, title, note);
    int h = row_add(t);
    cell(t, h, 0, "Metric");
    cell(t, h, 1, "Scope");
    cell(t, h, 2, "Δ (fused − semantic)");
    cell(t, h, 3, "Interval");
    cell(t, h, 4, "Verdict");
    static const ag_scope scopes[2] = {AG_SCOPE_WITHIN, AG_SCOPE_CROSS};
    for (int j = 0; j < nk; j++)
        for (int q = 0; q < 2; q++) {
            ag_scope sc = scopes[q];
            const ag_row *r = find_row(o->rows, AG_SEC_DIFF, sc, rescale,
                                       "fused-semantic", ag_metric[ks[j]].key, -1, -1);
            if (!r) continue;
            int r0 = row_add(t);
            metric_header(buf, sizeof buf, set, ks[j]);
            cell(t, r0, 0, "%s", buf);
            cell(t, r0, 1, "%s (%ld)", sc == AG_SCOPE_WITHIN ? "within-subject" : "cross-subject",
                 r->n_subjects);
            char v[64], lo[64], hi[64];
            ag_fmt(v, sizeof v, r->value, 4);
            ag_fmt(lo, sizeof lo, r->lo, 4);
            ag_fmt(hi, sizeof hi, r->hi, 4);
            cell(t, r0, 2, "%s", v);
            cell(t, r0, 3, "[%s, %s]", lo, hi);
            cell(t, r0, 4, "%s", r->verdict);
            t->bold[(size_t)r0 * (size_t)t->ncol + 4] = strcmp(r->verdict, "no_difference") != 0;
        }
}

static void decoder_table(ag_tables *tt, const ag_out *o) {
    const ag_set *set = o->set;
    ag_table *t = table_new(tt, "decoders", 12, "Decoders: parameters and chosen penalties",
                            "Parameters from the model files (how: last column). α: the ridge "
                            "penalty chosen per target by the validation criterion (cv); "
                            "% at ends: targets whose α is the grid's lowest / highest value "
                            "(a grid that may be too narrow).");
    static const char *const hdr[] = {"Subject", "Decoder", "Mapping", "n", "p", "t", "Params",
                                      "cv", "α median", "α geo. mean", "α range", "% at ends"};
    int h = row_add(t);
    for (int c = 0; c < 12; c++) cell(t, h, c, "%s", hdr[c]);
    char buf[256], lo[64], hi[64];
    for (int si = 0; si < set->n_subj; si++)
        for (int b = 0; b < 2; b++) {
            long long s = set->subjects[si];
            const ag_eval *ev = NULL;
            for (size_t e = 0; e < set->n_eval && !ev; e++)
                if (set->ev[e].train == s) ev = &set->ev[e];
            if (!ev) continue;
            const ag_mapping *m = ag_find_mapping(o->models, s, ev->br[b].mapping);
            int r0 = row_add(t);
            cell(t, r0, 0, "%lld", s);
            cell(t, r0, 1, "%s", ag_branch_name[b]);
            cell(t, r0, 2, "%s (%s → %s)", m->name, m->x_group, m->y_dataset);
            cell(t, r0, 3, "%lld", m->shape.n);
            cell(t, r0, 4, "%lld", m->shape.p);
            cell(t, r0, 5, "%lld", m->shape.t);
            ag_fmt_count(buf, sizeof buf, m->params);
            cell(t, r0, 6, "%s (%lld; %s)", buf, m->params, m->params_how);
            cell(t, r0, 7, "%s", m->cv);
            cell(t, r0, 8, "%.4g", m->alpha_median);
            cell(t, r0, 9, "%.4g", m->alpha_gmean);
            snprintf(lo, sizeof lo, "%.3g", m->alpha_min);
            snprintf(hi, sizeof hi, "%.3g", m->alpha_max);
            cell(t, r0, 10, "%s … %s", lo, hi);
            cell(t, r0, 11, "%.1f / %.1f", 100 * m->frac_low, 100 * m->frac_high);
        }
}

static void stage_table(ag_tables *tt, const ag_out *o) {
    const ag_runinfo *ri = o->run;
    ag_table *t = table_new(tt, "stages", 4, "Stage instances of the run",
                            "From pipeline_info/: the latest completed run of each instance with "
                            "its current fingerprint (— when none is recorded yet, e.g. this "
                            "stage).");
    int h = row_add(t);
    cell(t, h, 0, "Instance");
    cell(t, h, 1, "Wall time (s)");
    cell(t, h, 2, "Ranks");
    cell(t, h, 3, "Fingerprint");
    double total = 0;
    for (size_t i = 0; i < ri->n_inst; i++) {
        const ag_instance *in = &ri->inst[i];
        int r0 = row_add(t);
        char buf[64];
        ag_fmt(buf, sizeof buf, in->wall_s, 2);
        cell(t, r0, 0, "%s", in->name);
        cell(t, r0, 1, "%s", buf);
        if (in->ranks > 0) cell(t, r0, 2, "%ld", in->ranks);
        else cell(t, r0, 2, "—");
        cell(t, r0, 3, "%.12s", in->fingerprint);
        if (!isnan(in->wall_s)) total += in->wall_s;
    }
    int r0 = row_add(t);
    cell(t, r0, 0, "total (recorded)");
    cell(t, r0, 1, "%.2f", total);
    t->bold[(size_t)r0 * (size_t)t->ncol] = 1;
}

static void published_table(ag_tables *tt) {
    ag_table *t = table_new(tt, "published", 4,
                            "Published real-NSD results, for orientation only (not this run)",
                            ag_published_note);
    int h = row_add(t);
    cell(t, h, 0, "Method");
    cell(t, h, 1, "What");
    cell(t, h, 2, "Value");
    cell(t, h, 3, "Source");
    for (size_t i = 0; i < ag_n_published; i++) {
        const ag_published *p = &ag_published_rows[i];
        int r0 = row_add(t);
        cell(t, r0, 0, "%s", p->method);
        cell(t, r0, 1, "%s", p->what);
        cell(t, r0, 2, "%s", p->value);
        cell(t, r0, 3, "%s", p->source);
    }
}

void ag_tables_build(ag_tables *tt, const ag_out *o) {
    memset(tt, 0, sizeof *tt);
    const char **rs = XNEW(rs, o->set->n_eval);
    size_t nr = rescales(rs, o->set);
    for (size_t i = 0; i < nr; i++) main_table(tt, o, AG_SCOPE_WITHIN, rs[i]);
    for (size_t i = 0; i < nr; i++) main_table(tt, o, AG_SCOPE_CROSS, rs[i]);
    for (size_t i = 0; i < nr; i++) diff_table(tt, o, rs[i]);
    pair_table(tt, o);
    for (size_t i = 0; i < nr; i++) matrix_tables(tt, o, rs[i]);
    decoder_table(tt, o);
    stage_table(tt, o);
    published_table(tt);
    free(rs);
}

void ag_tables_free(ag_tables *tt) {
    for (size_t i = 0; i < tt->n; i++) {
        ag_table *t = &tt->t[i];
        for (size_t c = 0; c < (size_t)t->nrow * (size_t)t->ncol; c++) free(t->cells[c]);
        free(t->cells), free(t->bold), free(t->title), free(t->note);
    }
    free(tt->t);
    memset(tt, 0, sizeof *tt);
}
