/* figures.h — what the figure files of bmc-aggregate share (internal to the stage): the
 * decoder colours, rendering one figure into the figures folder and recording its caption.
 * Not here: the drawing engine (common/plot/include/plot.h).
 */
#ifndef BMC_AGGREGATE_FIGURES_H
#define BMC_AGGREGATE_FIGURES_H

#include "aggregate.h"
#include "plot.h"

/* The colour of branch b (detail, semantic, fused) in every figure. */
const plot_rgb *ag_decoder_color(int b);
/* Record a written figure file (name inside the folder) and its caption. */
void ag_figure_add(ag_out *o, const char *file, const char *caption);
/* Local: render fn as <dir>/<name>.png (+ .svg when the plan says so) and record it. */
int ag_figure_render(ag_out *o, const char *dir, const char *name, double w_in, double h_in,
                     plot_draw_fn fn, const void *ctx, const char *caption, bmc_err *err);
/* Local: the axial slices of every encoding R² map with ROI outlines (figures_maps.c). */
int ag_figures_maps(ag_out *o, const char *dir, bmc_err *err);

#endif
