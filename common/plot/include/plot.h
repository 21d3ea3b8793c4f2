/* plot.h — paper figures with cairo: one drawing function rendered to PNG and SVG.
 *
 * A figure is a function that draws in points (1/72 in) on a cairo context of the figure's
 * size; plot_render calls it once for a PNG image surface scaled to the requested dpi and
 * once for an SVG surface, so both files show the same drawing. Helpers cover what study
 * figures need: text with alignment (DejaVu Sans), axes with "nice" ticks (linear or log10
 * x), legends, colour maps and a colour bar. Colours are the Okabe–Ito palette (readable
 * with colour-vision deficiencies). Local: no MPI; callers draw on one rank.
 * Not here: what any figure shows (stages/aggregate/figures*.c), reading data.
 */
#ifndef BMC_PLOT_H
#define BMC_PLOT_H

#include <cairo.h>

#include "bmc_error.h"

typedef struct plot_rgb {
    double r, g, b; /* 0 … 1 */
} plot_rgb;

/* Okabe–Ito: black, orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple. */
extern const plot_rgb plot_okabe_ito[8];

/* Draws the whole figure on cr, in points, into [0, width_pt] × [0, height_pt] (y down). */
typedef void (*plot_draw_fn)(cairo_t *cr, double width_pt, double height_pt, const void *ctx);

/* Render `draw` to base_path + ".png" (width_in × height_in inches at dpi, white background)
 * and, when svg != 0, to base_path + ".svg". Local. 0, or -1 with an error naming the file. */
int plot_render(const char *base_path, double width_in, double height_in, int dpi, int svg,
                plot_draw_fn draw, const void *ctx, bmc_err *err);

/* Free cairo's process-wide caches (font faces) and fontconfig's configuration once every
 * figure is drawn, so leak checkers see no library-held memory. Call at most once, after the
 * last plot_render; drawing afterwards is allowed (caches are rebuilt). Local. */
void plot_release_caches(void);

/* ---- text ------------------------------------------------------------------------------ */

typedef enum { PLOT_LEFT, PLOT_CENTER, PLOT_RIGHT } plot_halign;
typedef enum { PLOT_TOP, PLOT_MIDDLE, PLOT_BASELINE, PLOT_BOTTOM } plot_valign;

/* Draw `text` (UTF-8) at (x, y) in the current colour, size_pt points, rotated by angle_deg
 * counter-clockwise about (x, y), aligned by ha/va to that point. */
void plot_text(cairo_t *cr, double x, double y, double size_pt, int bold, double angle_deg,
               plot_halign ha, plot_valign va, const char *text);
/* Advance width of text at size_pt (points). */
double plot_text_width(cairo_t *cr, double size_pt, int bold, const char *text);

/* ---- axes ------------------------------------------------------------------------------ */

typedef struct plot_axes {
    double x, y, w, h;  /* the plotting frame in points (y down)                       */
    double x0, x1;      /* data range of x (log10 of the values when logx)              */
    double y0, y1;      /* data range of y                                             */
    int logx;           /* 1: x values are mapped through log10                        */
} plot_axes;

/* Frame coordinates of data values. */
double plot_ax_x(const plot_axes *a, double v);
double plot_ax_y(const plot_axes *a, double v);

/* Up to max_ticks "nice" values (1, 2, 2.5, 5 × 10^k steps) covering [lo, hi] inside it,
 * into ticks[0 … return) (at most 16). lo < hi. */
int plot_nice_ticks(double lo, double hi, int max_ticks, double *ticks);
/* A range [*lo, *hi] widened to nice tick values around [lo, hi] (equal ends get ±1 or ±10 %). */
void plot_nice_range(double lo, double hi, double *out_lo, double *out_hi);

/* Left and bottom spines, y ticks and labels, x ticks (xticks != 0; decades when logx) and the
 * axis labels (NULL: none), in black, font_pt points. */
void plot_axes_draw(cairo_t *cr, const plot_axes *a, const char *xlabel, const char *ylabel,
                    int xticks, double font_pt);

/* A legend box at (x, y) (top left): a swatch (filled square, or a line when lines != 0) and
 * the name for each of n entries, one per row. Returns the height used. */
double plot_legend(cairo_t *cr, double x, double y, const char *const *names,
                   const plot_rgb *colors, int n, int lines, double font_pt);

/* ---- colour ---------------------------------------------------------------------------- */

void plot_set_rgb(cairo_t *cr, plot_rgb c);
/* t ∈ [−1, 1] → blue (−1), white (0), red (+1) (ColorBrewer RdBu ends); clamped. */
plot_rgb plot_diverging(double t);
/* t ∈ [0, 1] → white (0) to `hue` (1); clamped. */
plot_rgb plot_sequential(double t, plot_rgb hue);

/* Colour of data value v (ctx: the map's own parameters). */
typedef plot_rgb (*plot_cmap_fn)(double v, const void *ctx);

/* A vertical colour bar in the frame (x, y, w, h) for values vmin (bottom) … vmax (top),
 * coloured by map, with ticks and a rotated label right of it. */
void plot_colorbar(cairo_t *cr, double x, double y, double w, double h, double vmin,
                   double vmax, plot_cmap_fn map, const void *ctx, const char *label,
                   double font_pt);

#endif
