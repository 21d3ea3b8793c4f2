/* figures.c — the study's figures (PNG at the plan's dpi, SVG beside them) with bmc_plot:
 * metric bars per subject and decoder with bootstrap whiskers, the subjects × subjects
 * heatmap of every metric with its values printed, the validation curves (penalty vs score)
 * of every decoder, and copies of the evaluate stage's retrieval montages. One colour per
 * decoder everywhere (Okabe–Ito: detail blue, semantic vermillion, fused bluish green).
 * Paper sizes: 7.0 in (two columns) or 3.5 in (one column) wide, 7-pt text.
 * Not here: the encoding R² slices (figures_maps.c), the drawing engine (common/plot).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "figures.h"
#include "plot.h"

const plot_rgb *ag_decoder_color(int b) {
    static const int idx[AG_N_BRANCH] = {5, 6, 3}; /* blue, vermillion, bluish green */
    return &plot_okabe_ito[idx[b]];
}

void ag_figure_add(ag_out *o, const char *file, const char *caption) {
    o->figures = xrealloc(o->figures, (o->n_figures + 1) * sizeof *o->figures);
    o->captions = xrealloc(o->captions, (o->n_figures + 1) * sizeof *o->captions);
    o->figures[o->n_figures] = xstrdup(file);
    o->captions[o->n_figures++] = xstrdup(caption);
}

int ag_figure_render(ag_out *o, const char *dir, const char *name, double w_in, double h_in,
                     plot_draw_fn fn, const void *ctx, const char *caption, bmc_err *err) {
    char *base = bmc_path_join(dir, name);
    int rc = plot_render(base, w_in, h_in, o->plan->dpi, o->plan->svg, fn, ctx, err);
    free(base);
    if (rc) return -1;
    char *png = bmc_xasprintf("%s.png", name);
    ag_figure_add(o, png, caption);
    free(png);
    return 0;
}

/* ---- metric bars -------------------------------------------------------------------------- */

typedef struct bars_ctx {
    const ag_out *o;
    const char *rescale;
    int ks[AG_N_METRIC], nk;
    long long subj[64];         /* groups: within-subject pairs …                           */
    int ng, cross;              /* … and, when cross = 1, the pooled cross-subject group     */
} bars_ctx;

static const ag_row *bar_row(const bars_ctx *c, int g, int b, int k) {
    const ag_rows *rows = c->o->rows;
    ag_scope sc = g < c->ng ? AG_SCOPE_PAIR : AG_SCOPE_CROSS;
    long long s = g < c->ng ? c->subj[g] : -1;
    for (size_t i = 0; i < rows->n; i++) {
        const ag_row *r = &rows->row[i];
        if (r->section == AG_SEC_METRIC && r->scope == sc && r->k == k && r->train == s &&
            r->test == s && !strcmp(r->decoder, ag_branch_name[b]) &&
            !strcmp(r->rescale, c->rescale))
            return r;
    }
    return NULL;
}

static void draw_bars(cairo_t *cr, double W, double H, const void *vctx) {
    const bars_ctx *c = vctx;
    const double font = 7.0, legend_h = 18;
    int ncol = 3, nrow = (c->nk + ncol - 1) / ncol;
    double pw = W / ncol, ph = (H - legend_h) / nrow;
    int groups = c->ng + c->cross;
    for (int j = 0; j < c->nk; j++) {
        int k = c->ks[j];
        double lo = 0, hi = 0;
        for (int g = 0; g < groups; g++)
            for (int b = 0; b < AG_N_BRANCH; b++) {
                const ag_row *r = bar_row(c, g, b, k);
                if (!r) continue;
                double a = isnan(r->lo) ? r->value : r->lo, z = isnan(r->hi) ? r->value : r->hi;
                lo = fmin(lo, a), hi = fmax(hi, z);
            }
        plot_axes ax = {.x = (j % ncol) * pw + 38, .y = legend_h + (j / ncol) * ph + 14,
                        .w = pw - 46, .h = ph - 40};
        plot_nice_range(lo, hi, &ax.y0, &ax.y1);
        ax.x0 = 0, ax.x1 = groups;
        cairo_set_source_rgb(cr, 0, 0, 0);
        plot_text(cr, ax.x + ax.w / 2, ax.y - 5, font, 1, 0, PLOT_CENTER, PLOT_BOTTOM,
                  ag_metric[k].label);
        plot_axes_draw(cr, &ax, NULL, ag_metric[k].unit, 0, font);
        if (ax.y0 < 0 && ax.y1 > 0) { /* zero line */
            cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
            cairo_set_line_width(cr, 0.4);
            cairo_move_to(cr, ax.x, plot_ax_y(&ax, 0));
            cairo_line_to(cr, ax.x + ax.w, plot_ax_y(&ax, 0));
            cairo_stroke(cr);
        }
        int nb = ag_metric[k].kind == AG_PER_TARGET ? 2 : 3;
        for (int g = 0; g < groups; g++) {
            double gx = plot_ax_x(&ax, g), gw = plot_ax_x(&ax, g + 1) - gx;
            double bw = 0.8 * gw / nb;
            for (int b = 0; b < nb; b++) {
                const ag_row *r = bar_row(c, g, b, k);
                if (!r) continue;
                double x = gx + 0.1 * gw + b * bw, y0 = plot_ax_y(&ax, fmax(ax.y0, 0.0));
                double y1 = plot_ax_y(&ax, r->value);
                plot_set_rgb(cr, *ag_decoder_color(b));
                cairo_rectangle(cr, x + 0.08 * bw, fmin(y0, y1), 0.84 * bw, fabs(y1 - y0));
                cairo_fill(cr);
                if (!isnan(r->lo)) { /* the bootstrap interval */
                    double xm = x + bw / 2, ylo = plot_ax_y(&ax, r->lo), yhi = plot_ax_y(&ax, r->hi);
                    cairo_set_source_rgb(cr, 0, 0, 0);
                    cairo_set_line_width(cr, 0.6);
                    cairo_move_to(cr, xm, ylo);
                    cairo_line_to(cr, xm, yhi);
                    cairo_move_to(cr, xm - 0.2 * bw, ylo);
                    cairo_line_to(cr, xm + 0.2 * bw, ylo);
                    cairo_move_to(cr, xm - 0.2 * bw, yhi);
                    cairo_line_to(cr, xm + 0.2 * bw, yhi);
                    cairo_stroke(cr);
                }
            }
            char lab[48];
            if (g < c->ng) snprintf(lab, sizeof lab, "subj %02lld", c->subj[g]);
            else snprintf(lab, sizeof lab, "cross (mean)");
            cairo_set_source_rgb(cr, 0, 0, 0);
            plot_text(cr, gx + gw / 2, ax.y + ax.h + 3, font, 0, 0, PLOT_CENTER, PLOT_TOP, lab);
        }
    }
    const char *names[AG_N_BRANCH];
    plot_rgb cols[AG_N_BRANCH];
    for (int b = 0; b < AG_N_BRANCH; b++) names[b] = ag_branch_name[b], cols[b] = *ag_decoder_color(b);
    double x = 38;
    for (int b = 0; b < AG_N_BRANCH; b++) {
        plot_legend(cr, x, 2, &names[b], &cols[b], 1, 0, font);
        x += 20 + plot_text_width(cr, font, 0, names[b]);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    plot_text(cr, x + 10, 2 + 0.675 * font, font, 0, 0, PLOT_LEFT, PLOT_MIDDLE,
              "whiskers: bootstrap interval over test images");
}

static int fig_bars(ag_out *o, const char *dir, const char *rescale, bmc_err *err) {
    bars_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o, c.rescale = rescale;
    const ag_set *set = o->set;
    for (int k = 0; k < AG_N_METRIC; k++) {
        int any = 0;
        for (size_t e = 0; e < set->n_eval; e++) any |= set->ev[e].br[AG_DETAIL].has[k];
        if (any) c.ks[c.nk++] = k;
    }
    for (size_t e = 0; e < set->n_eval; e++) {
        const ag_eval *ev = &set->ev[e];
        if (strcmp(ev->rescale, rescale)) continue;
        if (!ev->cross && c.ng < 64) c.subj[c.ng++] = ev->train;
        if (ev->cross) c.cross = 1;
    }
    if (!c.nk || !(c.ng + c.cross)) return 0;
    int nrow = (c.nk + 2) / 3;
    char name[96], cap[512];
    snprintf(name, sizeof name, "metrics%s%s", set->n_rescale > 1 ? "_" : "",
             set->n_rescale > 1 ? rescale : "");
    snprintf(cap, sizeof cap, "Every metric per decoder (detail, semantic, fused) for each "
             "within-subject pair and the mean over cross-subject pairs (rescale %s); whiskers: "
             "%g %% bootstrap intervals over the %ld test images.", rescale,
             100 * o->plan->level, set->m);
    return ag_figure_render(o, dir, name, 7.0, 0.25 + 1.9 * nrow, draw_bars, &c, cap, err);
}

/* ---- subjects × subjects heatmaps ----------------------------------------------------------- */

typedef struct heat_ctx {
    const ag_set *set;
    const char *rescale;
    int k;
    int br[AG_N_BRANCH], nb;
    double vmin, vmax;
} heat_ctx;

static void draw_heat(cairo_t *cr, double W, double H, const void *vctx) {
    const heat_ctx *c = vctx;
    const ag_set *set = c->set;
    const double font = 7.0, top = 26, left = 30, gap = 16;
    int S = set->n_subj;
    double side = fmin((W - left - gap * c->nb) / c->nb, H - top - 28);
    double cellw = side / S;
    char buf[64];
    cairo_set_source_rgb(cr, 0, 0, 0);
    plot_text(cr, W / 2, 3, font + 0.5, 1, 0, PLOT_CENTER, PLOT_TOP, ag_metric[c->k].label);
    for (int q = 0; q < c->nb; q++) {
        int b = c->br[q];
        double x0 = left + q * (side + gap), y0 = top;
        cairo_set_source_rgb(cr, 0, 0, 0);
        plot_text(cr, x0 + side / 2, y0 - 4, font, 1, 0, PLOT_CENTER, PLOT_BOTTOM,
                  ag_branch_name[b]);
        for (int r = 0; r < S; r++)
            for (int cc = 0; cc < S; cc++) {
                long e = ag_find_eval(set, set->subjects[r], set->subjects[cc], c->rescale);
                double x = x0 + cc * cellw, y = y0 + r * cellw;
                if (e < 0 || !set->ev[e].br[b].has[c->k]) {
                    cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
                    cairo_rectangle(cr, x, y, cellw, cellw);
                    cairo_fill(cr);
                    continue;
                }
                double v = set->ev[e].br[b].point[c->k];
                double t = c->vmax > c->vmin ? (v - c->vmin) / (c->vmax - c->vmin) : 0.5;
                plot_set_rgb(cr, plot_sequential(0.15 + 0.85 * t, *ag_decoder_color(b)));
                cairo_rectangle(cr, x, y, cellw, cellw);
                cairo_fill(cr);
                snprintf(buf, sizeof buf, "%.3f", v);
                if (t > 0.55) cairo_set_source_rgb(cr, 1, 1, 1);
                else cairo_set_source_rgb(cr, 0, 0, 0);
                double fs = fmin(font, cellw / 3.2);
                plot_text(cr, x + cellw / 2, y + cellw / 2, fs, 0, 0, PLOT_CENTER, PLOT_MIDDLE,
                          buf);
            }
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 0.5);
        cairo_rectangle(cr, x0, y0, side, side);
        cairo_stroke(cr);
        for (int i = 0; i < S; i++) {
            snprintf(buf, sizeof buf, "%lld", set->subjects[i]);
            plot_text(cr, x0 + (i + 0.5) * cellw, y0 + side + 3, font, 0, 0, PLOT_CENTER,
                      PLOT_TOP, buf);
            if (q == 0)
                plot_text(cr, x0 - 3, y0 + (i + 0.5) * cellw, font, 0, 0, PLOT_RIGHT,
                          PLOT_MIDDLE, buf);
        }
        plot_text(cr, x0 + side / 2, y0 + side + 4 + 1.2 * font, font, 0, 0, PLOT_CENTER,
                  PLOT_TOP, "test subject");
        if (q == 0)
            plot_text(cr, x0 - 6 - plot_text_width(cr, font, 0, "00"), y0 + side / 2, font, 0,
                      90, PLOT_CENTER, PLOT_BOTTOM, "train subject");
    }
}

static int fig_heatmaps(ag_out *o, const char *dir, const char *rescale, bmc_err *err) {
    const ag_set *set = o->set;
    if (set->n_subj < 2) return 0;
    for (int k = 0; k < AG_N_METRIC; k++) {
        heat_ctx c = {.set = set, .rescale = rescale, .k = k, .vmin = INFINITY, .vmax = -INFINITY};
        for (int b = 0; b < AG_N_BRANCH; b++) {
            int any = 0;
            for (size_t e = 0; e < set->n_eval; e++)
                if (!strcmp(set->ev[e].rescale, rescale) && set->ev[e].br[b].has[k]) {
                    any = 1;
                    c.vmin = fmin(c.vmin, set->ev[e].br[b].point[k]);
                    c.vmax = fmax(c.vmax, set->ev[e].br[b].point[k]);
                }
            if (any) c.br[c.nb++] = b;
        }
        if (!c.nb) continue;
        char name[128], cap[512];
        snprintf(name, sizeof name, "cross_subject_%s%s%s", ag_metric[k].key,
                 set->n_rescale > 1 ? "_" : "", set->n_rescale > 1 ? rescale : "");
        snprintf(cap, sizeof cap, "%s for every (train, test) subject pair and decoder "
                 "(rescale %s): rows = the subject whose decoders are applied, columns = the "
                 "subject decoded; the diagonal is within-subject. Shade from the lowest to the "
                 "highest value of the figure.", ag_metric[k].label, rescale);
        double w = set->n_subj > 4 ? 7.0 : 3.5 + (c.nb == 3 ? 1.0 : 0.0);
        double side = (w * 72 - 30 - 16 * c.nb) / c.nb;
        if (ag_figure_render(o, dir, name, w, (side + 60) / 72.0, draw_heat, &c, cap, err))
            return -1;
    }
    return 0;
}

/* ---- validation curves ------------------------------------------------------------------------ */

typedef struct curve_ctx {
    const ag_out *o;
    const ag_mapping *map[2][64]; /* [branch][subject] */
    int ns;
} curve_ctx;

static const double dashes[4][4] = {{0, 0, 0, 0}, {3, 1.5, 0, 0}, {1, 1.2, 0, 0}, {4, 1, 1, 1}};
static const int n_dash[4] = {0, 2, 2, 4};

static void draw_curves(cairo_t *cr, double W, double H, const void *vctx) {
    const curve_ctx *c = vctx;
    const double font = 7.0;
    for (int b = 0; b < 2; b++) {
        double lo = INFINITY, hi = -INFINITY, a0 = INFINITY, a1 = -INFINITY;
        const char *cv = "loo";
        for (int s = 0; s < c->ns; s++) {
            const ag_mapping *m = c->map[b][s];
            if (!m) continue;
            cv = m->cv;
            for (int a = 0; a < m->n_alpha; a++) {
                lo = fmin(lo, m->curve[a]), hi = fmax(hi, m->curve[a]);
                a0 = fmin(a0, log10(m->alphas[a])), a1 = fmax(a1, log10(m->alphas[a]));
            }
        }
        if (!(hi >= lo)) continue;
        plot_axes ax = {.x = b * W / 2 + 46, .y = 16, .w = W / 2 - 60, .h = H - 60, .logx = 1};
        plot_nice_range(lo, hi, &ax.y0, &ax.y1);
        ax.x0 = floor(a0), ax.x1 = ceil(a1);
        if (ax.x1 <= ax.x0) ax.x1 = ax.x0 + 1;
        char title[400];
        const ag_mapping *m0 = NULL;
        for (int s = 0; s < c->ns && !m0; s++) m0 = c->map[b][s];
        snprintf(title, sizeof title, "%s decoder (%s → %s)", ag_branch_name[b], m0->x_group,
                 m0->y_dataset);
        cairo_set_source_rgb(cr, 0, 0, 0);
        plot_text(cr, ax.x + ax.w / 2, ax.y - 5, font, 1, 0, PLOT_CENTER, PLOT_BOTTOM, title);
        const char *ylab = !strcmp(cv, "gcv") ? "GCV score (mean over targets)"
                           : !strcmp(cv, "kfold") ? "k-fold MSE (mean over targets)"
                                                  : "LOO MSE (mean over targets)";
        plot_axes_draw(cr, &ax, "ridge penalty α (log scale)", ylab, 1, font);
        for (int s = 0; s < c->ns; s++) {
            const ag_mapping *m = c->map[b][s];
            if (!m) continue;
            plot_set_rgb(cr, *ag_decoder_color(b));
            cairo_set_line_width(cr, 1.0);
            cairo_set_dash(cr, dashes[s % 4], n_dash[s % 4], 0);
            for (int a = 0; a < m->n_alpha; a++) {
                double x = plot_ax_x(&ax, m->alphas[a]), y = plot_ax_y(&ax, m->curve[a]);
                if (a) cairo_line_to(cr, x, y);
                else cairo_move_to(cr, x, y);
            }
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            /* The median chosen α, on the curve (log-linear interpolation). */
            double la = log10(m->alpha_median), y = m->curve[0];
            for (int a = 1; a < m->n_alpha; a++) {
                double l0 = log10(m->alphas[a - 1]), l1 = log10(m->alphas[a]);
                if (la >= l0 && la <= l1)
                    y = m->curve[a - 1] + (m->curve[a] - m->curve[a - 1]) * (la - l0) / (l1 - l0);
            }
            if (la > log10(m->alphas[m->n_alpha - 1])) y = m->curve[m->n_alpha - 1];
            cairo_arc(cr, plot_ax_x(&ax, m->alpha_median), plot_ax_y(&ax, y), 1.8, 0, 6.2832);
            cairo_fill(cr);
        }
    }
    /* Legend row: one line style per subject (colours are the decoders'). */
    double lx = 46, ly = H - 6;
    cairo_set_line_width(cr, 1.0);
    for (int s = 0; s < c->ns; s++) {
        const ag_mapping *m = c->map[0][s] ? c->map[0][s] : c->map[1][s];
        if (!m) continue;
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        cairo_set_dash(cr, dashes[s % 4], n_dash[s % 4], 0);
        cairo_move_to(cr, lx, ly - 2.5);
        cairo_line_to(cr, lx + 16, ly - 2.5);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        char lab[64];
        snprintf(lab, sizeof lab, "subject %lld", m->subject);
        cairo_set_source_rgb(cr, 0, 0, 0);
        plot_text(cr, lx + 19, ly, font, 0, 0, PLOT_LEFT, PLOT_BASELINE, lab);
        lx += 30 + plot_text_width(cr, font, 0, lab);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    plot_text(cr, lx + 6, ly, font, 0, 0, PLOT_LEFT, PLOT_BASELINE,
              "dot: median of the penalties chosen per target");
}

static int fig_curves(ag_out *o, const char *dir, bmc_err *err) {
    curve_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    const ag_set *set = o->set;
    for (int s = 0; s < set->n_subj && s < 64; s++) {
        const ag_eval *ev = NULL;
        for (size_t e = 0; e < set->n_eval && !ev; e++)
            if (set->ev[e].train == set->subjects[s]) ev = &set->ev[e];
        for (int b = 0; ev && b < 2; b++)
            c.map[b][c.ns] = ag_find_mapping(o->models, set->subjects[s], ev->br[b].mapping);
        if (ev) c.ns++;
    }
    if (!c.ns) return 0;
    return ag_figure_render(o, dir, "validation_curves", 7.0, 2.6, draw_curves, &c,
                            "Validation curves of the decoders: mean validation score over "
                            "targets against the ridge penalty α, one line per train subject; "
                            "the dot marks the median of the penalties chosen per target.",
                            err);
}

/* ---- montages ------------------------------------------------------------------------------ */

static int copy_montages(ag_out *o, const char *dir, bmc_err *err) {
    const ag_set *set = o->set;
    for (size_t e = 0; e < set->n_eval; e++) {
        const ag_eval *ev = &set->ev[e];
        if (!ev->montage) continue;
        size_t len = 0;
        char *data = bmc_read_file(ev->montage, &len, err);
        if (!data) return -1;
        char name[128], cap[512];
        snprintf(name, sizeof name, "montage_subj%02lld_on_subj%02lld%s%s.png", ev->train,
                 ev->test, set->n_rescale > 1 ? "_" : "", set->n_rescale > 1 ? ev->rescale : "");
        char *path = bmc_path_join(dir, name);
        int rc = bmc_write_file_atomic(path, data, len, err);
        free(path);
        free(data);
        if (rc) return -1;
        snprintf(cap, sizeof cap, "Retrieval-based reconstruction, subject %lld's decoders on "
                 "subject %lld (copy of %s): ground truth, then the gallery image nearest to the "
                 "fused, semantic and detail predictions.", ev->train, ev->test, ev->montage);
        ag_figure_add(o, name, cap);
    }
    return 0;
}

int ag_write_figures(ag_out *o, const char *dir, bmc_err *err) {
    const ag_set *set = o->set;
    for (size_t e = 0; e < set->n_eval; e++) {
        if (e && !strcmp(set->ev[e].rescale, set->ev[e - 1].rescale)) continue;
        if (fig_bars(o, dir, set->ev[e].rescale, err)) return -1;
        if (fig_heatmaps(o, dir, set->ev[e].rescale, err)) return -1;
    }
    if (fig_curves(o, dir, err)) return -1;
    if (ag_figures_maps(o, dir, err)) return -1;
    return copy_montages(o, dir, err);
}
