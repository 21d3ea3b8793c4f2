/* plot.c — cairo rendering of figures to PNG and SVG, and the drawing helpers of plot.h.
 * All drawing is in points; plot_render scales the PNG surface to the requested dpi.
 * Not here: any figure's content.
 */
#include "plot.h"

#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"

const plot_rgb plot_okabe_ito[8] = {
    {0.000, 0.000, 0.000}, {0.902, 0.624, 0.000}, {0.337, 0.706, 0.914},
    {0.000, 0.620, 0.451}, {0.941, 0.894, 0.259}, {0.000, 0.447, 0.698},
    {0.835, 0.369, 0.000}, {0.800, 0.475, 0.655}};

static const char font_family[] = "DejaVu Sans";

/* ---- rendering --------------------------------------------------------------------------- */

static int cairo_failed(cairo_status_t st, const char *path, const char *what, bmc_err *err) {
    if (st == CAIRO_STATUS_SUCCESS) return 0;
    return bmc_err_set(err, "check that the output folder exists and is writable",
                       "%s: cannot %s: %s", path, what, cairo_status_to_string(st));
}

void plot_release_caches(void) {
    cairo_debug_reset_static_data();
    FcFini();
}

int plot_render(const char *base_path, double width_in, double height_in, int dpi, int svg,
                plot_draw_fn draw, const void *ctx, bmc_err *err) {
    BMC_CHECK(width_in > 0 && height_in > 0 && dpi > 0 && draw);
    double wpt = width_in * 72.0, hpt = height_in * 72.0, scale = dpi / 72.0;
    int wpx = (int)lround(width_in * dpi), hpx = (int)lround(height_in * dpi);
    char *png = bmc_xasprintf("%s.png", base_path);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, wpx, hpx);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, scale, scale);
    draw(cr, wpt, hpt, ctx);
    int rc = cairo_failed(cairo_status(cr), png, "draw the figure", err);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    if (!rc) rc = cairo_failed(cairo_surface_write_to_png(s, png), png, "write the PNG", err);
    cairo_surface_destroy(s);
    free(png);
    if (rc || !svg) return rc;

    char *path = bmc_xasprintf("%s.svg", base_path);
    s = cairo_svg_surface_create(path, wpt, hpt);
    cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    draw(cr, wpt, hpt, ctx);
    rc = cairo_failed(cairo_status(cr), path, "draw the figure", err);
    cairo_destroy(cr);
    cairo_surface_finish(s);
    if (!rc) rc = cairo_failed(cairo_surface_status(s), path, "write the SVG", err);
    cairo_surface_destroy(s);
    free(path);
    return rc;
}

/* ---- text ------------------------------------------------------------------------------ */

static void set_font(cairo_t *cr, double size_pt, int bold) {
    cairo_select_font_face(cr, font_family, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size_pt);
}

double plot_text_width(cairo_t *cr, double size_pt, int bold, const char *text) {
    cairo_text_extents_t e;
    set_font(cr, size_pt, bold);
    cairo_text_extents(cr, text, &e);
    return e.x_advance;
}

void plot_text(cairo_t *cr, double x, double y, double size_pt, int bold, double angle_deg,
               plot_halign ha, plot_valign va, const char *text) {
    cairo_font_extents_t fe;
    set_font(cr, size_pt, bold);
    cairo_font_extents(cr, &fe);
    double w = plot_text_width(cr, size_pt, bold, text);
    double dx = ha == PLOT_LEFT ? 0 : ha == PLOT_CENTER ? -w / 2 : -w;
    /* Vertical placement from the font's ascent (caps height ≈ 0.72 em for DejaVu Sans). */
    double cap = 0.72 * size_pt;
    double dy = va == PLOT_TOP ? cap : va == PLOT_MIDDLE ? cap / 2 : va == PLOT_BASELINE ? 0
                                                                              : -fe.descent;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -angle_deg * 3.14159265358979323846 / 180.0);
    cairo_move_to(cr, dx, dy);
    cairo_show_text(cr, text);
    cairo_new_path(cr);
    cairo_restore(cr);
}

/* ---- axes ------------------------------------------------------------------------------ */

double plot_ax_x(const plot_axes *a, double v) {
    double u = a->logx ? log10(v) : v;
    return a->x + (u - a->x0) / (a->x1 - a->x0) * a->w;
}

double plot_ax_y(const plot_axes *a, double v) {
    return a->y + a->h - (v - a->y0) / (a->y1 - a->y0) * a->h;
}

/* The nice step (1, 2, 2.5, 5 × 10^k) giving at most max_ticks ticks over span. */
static double nice_step(double span, int max_ticks) {
    double raw = span / (max_ticks > 1 ? max_ticks - 1 : 1);
    double p = pow(10.0, floor(log10(raw)));
    static const double m[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (m[i] * p >= raw * (1 - 1e-9)) return m[i] * p;
    return 10 * p;
}

int plot_nice_ticks(double lo, double hi, int max_ticks, double *ticks) {
    BMC_CHECK(hi > lo && max_ticks >= 2);
    double step = nice_step(hi - lo, max_ticks);
    int n = 0;
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step && n < 16; t += step)
        ticks[n++] = fabs(t) < 1e-12 * step ? 0.0 : t;
    return n;
}

void plot_nice_range(double lo, double hi, double *out_lo, double *out_hi) {
    if (!(hi > lo)) {
        double d = fabs(lo) > 0 ? 0.1 * fabs(lo) : 1.0;
        lo -= d, hi += d;
    }
    double step = nice_step(hi - lo, 5);
    *out_lo = floor(lo / step + 1e-9) * step;
    *out_hi = ceil(hi / step - 1e-9) * step;
}

/* Local: tick label text of value v for a tick spacing step. */
static void tick_label(char *buf, size_t n, double v, double step) {
    int dec = 0; /* the fewest decimals that write the step exactly (0.25 needs 2) */
    while (dec < 6 && fabs(step * pow(10, dec) - nearbyint(step * pow(10, dec))) > 1e-6) dec++;
    snprintf(buf, n, "%.*f", dec, v);
    if (!strcmp(buf, "-0")) snprintf(buf, n, "0");
}

void plot_axes_draw(cairo_t *cr, const plot_axes *a, const char *xlabel, const char *ylabel,
                    int xticks, double font_pt) {
    double tick = 0.25 * font_pt, lw = 0.6;
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, lw);
    cairo_move_to(cr, a->x, a->y);
    cairo_line_to(cr, a->x, a->y + a->h);
    cairo_line_to(cr, a->x + a->w, a->y + a->h);
    cairo_stroke(cr);
    double t[16];
    int n = plot_nice_ticks(a->y0, a->y1, 5, t);
    double step = n > 1 ? t[1] - t[0] : 1.0, maxw = 0;
    char buf[64];
    for (int i = 0; i < n; i++) {
        double y = plot_ax_y(a, t[i]);
        cairo_move_to(cr, a->x - tick, y);
        cairo_line_to(cr, a->x, y);
        cairo_stroke(cr);
        tick_label(buf, sizeof buf, t[i], step);
        double w = plot_text_width(cr, font_pt, 0, buf);
        if (w > maxw) maxw = w;
        plot_text(cr, a->x - 1.6 * tick, y, font_pt, 0, 0, PLOT_RIGHT, PLOT_MIDDLE, buf);
    }
    if (xticks) {
        if (a->logx) {
            for (double d = ceil(a->x0 - 1e-9); d <= a->x1 + 1e-9; d += 1) {
                double x = a->x + (d - a->x0) / (a->x1 - a->x0) * a->w;
                cairo_move_to(cr, x, a->y + a->h);
                cairo_line_to(cr, x, a->y + a->h + tick);
                cairo_stroke(cr);
                snprintf(buf, sizeof buf, "1e%d", (int)d);
                plot_text(cr, x, a->y + a->h + 1.6 * tick, font_pt, 0, 0, PLOT_CENTER, PLOT_TOP,
                          buf);
            }
        } else {
            n = plot_nice_ticks(a->x0, a->x1, 6, t);
            step = n > 1 ? t[1] - t[0] : 1.0;
            for (int i = 0; i < n; i++) {
                double x = plot_ax_x(a, t[i]);
                cairo_move_to(cr, x, a->y + a->h);
                cairo_line_to(cr, x, a->y + a->h + tick);
                cairo_stroke(cr);
                tick_label(buf, sizeof buf, t[i], step);
                plot_text(cr, x, a->y + a->h + 1.6 * tick, font_pt, 0, 0, PLOT_CENTER,
                          PLOT_TOP, buf);
            }
        }
    }
    if (xlabel)
        plot_text(cr, a->x + a->w / 2, a->y + a->h + (xticks ? 2.3 : 1.2) * font_pt, font_pt,
                  0, 0, PLOT_CENTER, PLOT_TOP, xlabel);
    if (ylabel)
        plot_text(cr, a->x - 1.6 * tick - maxw - 0.5 * font_pt, a->y + a->h / 2, font_pt, 0, 90,
                  PLOT_CENTER, PLOT_BOTTOM, ylabel);
}

double plot_legend(cairo_t *cr, double x, double y, const char *const *names,
                   const plot_rgb *colors, int n, int lines, double font_pt) {
    double row = 1.35 * font_pt, sw = 0.8 * font_pt;
    for (int i = 0; i < n; i++) {
        double cy = y + i * row + row / 2;
        plot_set_rgb(cr, colors[i]);
        if (lines) {
            cairo_set_line_width(cr, 1.2);
            cairo_move_to(cr, x, cy);
            cairo_line_to(cr, x + 1.6 * sw, cy);
            cairo_stroke(cr);
        } else {
            cairo_rectangle(cr, x, cy - sw / 2, sw, sw);
            cairo_fill(cr);
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        plot_text(cr, x + (lines ? 2.0 : 1.4) * sw, cy, font_pt, 0, 0, PLOT_LEFT, PLOT_MIDDLE,
                  names[i]);
    }
    return n * row;
}

/* ---- colour ---------------------------------------------------------------------------- */

void plot_set_rgb(cairo_t *cr, plot_rgb c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

static plot_rgb mix(plot_rgb a, plot_rgb b, double t) {
    return (plot_rgb){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

plot_rgb plot_diverging(double t) {
    static const plot_rgb blue = {0.129, 0.400, 0.675}, red = {0.698, 0.094, 0.169},
                          white = {0.969, 0.969, 0.969};
    if (!(t == t)) t = 0; /* NaN */
    t = t < -1 ? -1 : t > 1 ? 1 : t;
    return t < 0 ? mix(white, blue, -t) : mix(white, red, t);
}

plot_rgb plot_sequential(double t, plot_rgb hue) {
    if (!(t == t)) t = 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return mix((plot_rgb){1, 1, 1}, hue, t);
}

void plot_colorbar(cairo_t *cr, double x, double y, double w, double h, double vmin,
                   double vmax, plot_cmap_fn map, const void *ctx, const char *label,
                   double font_pt) {
    int steps = 64;
    for (int i = 0; i < steps; i++) {
        double v = vmin + (vmax - vmin) * (i + 0.5) / steps;
        plot_set_rgb(cr, map(v, ctx));
        cairo_rectangle(cr, x, y + h - (i + 1) * h / steps, w, h / steps + 0.2);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.5);
    cairo_rectangle(cr, x, y, w, h);
    cairo_stroke(cr);
    double t[16];
    int n = plot_nice_ticks(vmin, vmax, 5, t);
    double step = n > 1 ? t[1] - t[0] : 1.0, maxw = 0;
    char buf[64];
    for (int i = 0; i < n; i++) {
        double ty = y + h - (t[i] - vmin) / (vmax - vmin) * h;
        cairo_move_to(cr, x + w, ty);
        cairo_line_to(cr, x + w + 0.25 * font_pt, ty);
        cairo_stroke(cr);
        tick_label(buf, sizeof buf, t[i], step);
        double tw = plot_text_width(cr, font_pt, 0, buf);
        if (tw > maxw) maxw = tw;
        plot_text(cr, x + w + 0.4 * font_pt, ty, font_pt, 0, 0, PLOT_LEFT, PLOT_MIDDLE, buf);
    }
    if (label)
        plot_text(cr, x + w + 0.7 * font_pt + maxw, y + h / 2, font_pt, 0, 90, PLOT_CENTER,
                  PLOT_TOP, label);
}
