/* figures_maps.c — axial slices of every encoding R² map (the NIfTI maps bmc-train wrote) with
 * the outlines of the ROIs the group's voxels come from: up to 8 slices that hold voxels of the
 * map, voxels as squares (x to the right, y up), a diverging colour scale symmetric about 0
 * (blue: negative held-out R², red: positive), voxels outside the group grey, outlines drawn
 * where neighbouring voxels differ in ROI label, coloured by ROI file.
 * Not here: reading maps and ROIs (maps.c), the other figures (figures.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figures.h"

typedef struct slices_ctx {
    const ag_map *m;
    int z[8], nz;
    double vmax;
} slices_ctx;

/* ROI file colours (not the decoders'), fixed for NSD's files so every map agrees: orange
 * prf-visualrois, sky blue floc-bodies, olive floc-faces, reddish purple floc-places, black
 * floc-words; other names by position. */
static plot_rgb roi_color(const ag_map *m, int file) {
    static const char *const known[] = {"prf-visualrois", "floc-bodies", "floc-faces",
                                        "floc-places", "floc-words"};
    static const plot_rgb col[] = {{0.902, 0.624, 0.000}, {0.337, 0.706, 0.914},
                                   {0.55, 0.45, 0.05}, {0.800, 0.475, 0.655},
                                   {0.25, 0.25, 0.25}};
    for (int i = 0; i < 5; i++)
        if (!strcmp(m->roi_files[file], known[i])) return col[i];
    return col[file % 5];
}

static plot_rgb r2_color(double v, const void *ctx) {
    return plot_diverging(v / *(const double *)ctx);
}

static size_t vox(const ag_map *m, int x, int y, int z) {
    return (size_t)x + (size_t)m->dims[0] * ((size_t)y + (size_t)m->dims[1] * (size_t)z);
}

/* Local: one outline segment between voxel a and its neighbour b (labels differ). */
static void edge(cairo_t *cr, const ag_map *m, size_t a, size_t b, double x0, double y0,
                 double x1, double y1) {
    int la = m->label[a], lb = m->label[b];
    if (la == lb || (!la && !lb)) return;
    int fa = m->roi[a], fb = m->roi[b];
    plot_rgb c = fa && fb && fa != fb ? plot_okabe_ito[0] : roi_color(m, (fa ? fa : fb) - 1);
    plot_set_rgb(cr, c);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
}

static void draw_slices(cairo_t *cr, double W, double H, const void *vctx) {
    const slices_ctx *c = vctx;
    const ag_map *m = c->m;
    (void)H;
    const double font = 7.0, top = 16, right = 62;
    int X = m->dims[0], Y = m->dims[1], ncol = c->nz < 4 ? c->nz : 4;
    double pw = (W - right - 8) / ncol, cell = fmin((pw - 6) / X, 150.0 / Y), ph = cell * Y;
    char buf[256];
    cairo_set_source_rgb(cr, 0, 0, 0);
    snprintf(buf, sizeof buf, "subject %lld: encoding map %s, held-out R² per voxel", m->subject,
             m->name);
    plot_text(cr, 8, 3, font + 0.5, 1, 0, PLOT_LEFT, PLOT_TOP, buf);
    for (int i = 0; i < c->nz; i++) {
        int z = c->z[i];
        double px = 8 + (i % ncol) * pw, py = top + 6 + (i / ncol) * (ph + 14);
        /* The slice as an image (one pixel per voxel, y up) scaled without smoothing. */
        cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, X, Y);
        unsigned char *pix = cairo_image_surface_get_data(img);
        int stride = cairo_image_surface_get_stride(img);
        cairo_surface_flush(img);
        for (int y = 0; y < Y; y++)
            for (int x = 0; x < X; x++) {
                double v = m->r2[vox(m, x, y, z)];
                plot_rgb col = isnan(v) ? (plot_rgb){0.90, 0.90, 0.90} : r2_color(v, &c->vmax);
                uint32_t rgb = (uint32_t)lround(col.r * 255) << 16 |
                               (uint32_t)lround(col.g * 255) << 8 | (uint32_t)lround(col.b * 255);
                memcpy(pix + (size_t)(Y - 1 - y) * (size_t)stride + 4 * (size_t)x, &rgb, 4);
            }
        cairo_surface_mark_dirty(img);
        cairo_save(cr);
        cairo_translate(cr, px, py);
        cairo_scale(cr, cell, cell);
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
        cairo_rectangle(cr, 0, 0, X, Y);
        cairo_fill(cr);
        cairo_restore(cr);
        cairo_surface_destroy(img);
        cairo_set_line_width(cr, fmax(0.35, 0.12 * cell));
        for (int y = 0; y < Y; y++)
            for (int x = 0; x < X; x++) {
                size_t a = vox(m, x, y, z);
                double gx = px + x * cell, gy = py + (Y - 1 - y) * cell;
                if (x + 1 < X) edge(cr, m, a, vox(m, x + 1, y, z), gx + cell, gy, gx + cell, gy + cell);
                if (y + 1 < Y) edge(cr, m, a, vox(m, x, y + 1, z), gx, gy, gx + cell, gy);
            }
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "z = %d", z);
        plot_text(cr, px + X * cell / 2, py + ph + 2, font, 0, 0, PLOT_CENTER, PLOT_TOP, buf);
    }
    int rows = (c->nz + ncol - 1) / ncol;
    double bar_h = fmin(rows * (ph + 14) - 14, 120);
    plot_colorbar(cr, W - right + 6, top + 6, 8, bar_h, -c->vmax, c->vmax, r2_color, &c->vmax,
                  "held-out R²", font);
    double ly = top + 6 + rows * (ph + 14) + 2, lx = 8;
    for (int f = 0; f < m->n_roi_files; f++) {
        plot_rgb col = roi_color(m, f);
        plot_legend(cr, lx, ly, (const char *const *)&m->roi_files[f], &col, 1, 1, font);
        lx += 30 + plot_text_width(cr, font, 0, m->roi_files[f]);
    }
    /* The note on the legend's line when it fits, else on a line of its own below. */
    const char *note = "outlines: ROI borders; grey: outside the group";
    if (lx + 4 + plot_text_width(cr, font, 0, note) > W - 4) lx = 4, ly += 11;
    cairo_set_source_rgb(cr, 0, 0, 0);
    plot_text(cr, lx + 4, ly + 0.675 * font, font, 0, 0, PLOT_LEFT, PLOT_MIDDLE, note);
}

int ag_figures_maps(ag_out *o, const char *dir, bmc_err *err) {
    for (size_t i = 0; i < o->maps->n; i++) {
        const ag_map *m = &o->maps->map[i];
        slices_ctx c = {.m = m, .vmax = 0};
        int used[4096], nu = 0;
        for (int z = 0; z < m->dims[2] && nu < 4096; z++) {
            int any = 0;
            for (int y = 0; y < m->dims[1] && !any; y++)
                for (int x = 0; x < m->dims[0] && !any; x++) any = !isnan(m->r2[vox(m, x, y, z)]);
            if (any) used[nu++] = z;
        }
        for (size_t j = 0; j < (size_t)m->dims[0] * (size_t)m->dims[1] * (size_t)m->dims[2]; j++)
            if (!isnan(m->r2[j])) c.vmax = fmax(c.vmax, fabs(m->r2[j]));
        if (!nu) continue;
        c.vmax = c.vmax > 0 ? ceil(c.vmax * 10 - 1e-9) / 10 : 1.0;
        c.nz = nu < 8 ? nu : 8;
        for (int k = 0; k < c.nz; k++)
            c.z[k] = used[c.nz == 1 ? 0 : (int)lround((double)k * (nu - 1) / (c.nz - 1))];
        int ncol = c.nz < 4 ? c.nz : 4, rows = (c.nz + 3) / 4;
        double pw = (7.0 * 72 - 62 - 8) / ncol;
        double cell = fmin((pw - 6) / m->dims[0], 150.0 / m->dims[1]);
        double h = 16 + 6 + rows * (cell * m->dims[1] + 14) + 18 + 11; /* + the note's line */
        char name[200], cap[600];
        snprintf(name, sizeof name, "encoding_r2_subj%02lld_%s", m->subject, m->name);
        snprintf(cap, sizeof cap, "Axial slices (z) of subject %lld's encoding map %s: held-out "
                 "R² of each voxel of fMRI group '%s' predicted from CLIP features (blue < 0 < "
                 "red, symmetric scale ±%.1f), with the outlines of its ROIs (%d ROI files).",
                 m->subject, m->name, m->group, c.vmax, m->n_roi_files);
        if (ag_figure_render(o, dir, name, 7.0, h / 72.0, draw_slices, &c, cap, err)) return -1;
    }
    return 0;
}
