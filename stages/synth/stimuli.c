/* stimuli.c — `bmc-synth stimuli`: N procedural RGB images in an NSD-like stimuli file.
 *
 * Output `images`: HDF5 with /imgBrick uint8 [N, H, W, 3] (the layout of NSD's
 * nsd_stimuli.hdf5) and /category int32 [N]. Each image is one of K seeded "categories"
 * (a shape family, a hue, a texture) drawn on a gradient background with per-image position,
 * size, rotation and noise; image i depends only on (seed, i), so any rank count writes the
 * same bytes. Images are split over ranks in row blocks and written collectively in chunks.
 * Not here: CLIP features or fMRI (other subcommands).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_h5io.h"
#include "bmc_log.h"
#include "bmc_stage.h"
#include "synth.h"

static const char stimuli_usage[] =
    "usage: bmc-synth stimuli --config STAGE.yaml\n"
    "\n"
    "Writes N procedural RGB images as an NSD-like stimuli file (/imgBrick uint8 [N,H,W,3]).\n"
    "\n"
    "outputs:\n"
    "  images        the HDF5 file to write (atomically: NAME.partial, then renamed)\n"
    "params:\n"
    "  n_images      number of images (default 64)\n"
    "  height, width image size in pixels (default 425 x 425, as NSD)\n"
    "  n_categories  number of seeded image categories (default 8)\n"
    "  seed          random seed (default 0)\n";

typedef struct stimuli_params {
    long long n_images, height, width, n_categories, seed;
} stimuli_params;

/* One image's drawing recipe, drawn from its (seed, id) stream. */
typedef struct image_recipe {
    int shape;              /* 0 disk, 1 square, 2 triangle, 3 ring, 4 stripes, 5 checker,
                               6 cross, 7 blobs                                           */
    double fg[3], fg2[3];   /* foreground colours (RGB in [0,1])                           */
    double bg0[3], bg1[3];  /* background gradient end colours                             */
    double gdir[2];         /* gradient direction                                          */
    double cx, cy, size, angle, freq, noise;
    double blob[4][3];      /* blob centres and radii (shape 7)                            */
} image_recipe;

static void hsv_to_rgb(double h, double s, double v, double rgb[3]) {
    h = h - floor(h);
    double f = h * 6.0;
    int i = (int)f;
    double fr = f - i, p = v * (1 - s), q = v * (1 - s * fr), t = v * (1 - s * (1 - fr));
    double r[6] = {v, q, p, p, t, v}, g[6] = {t, v, v, q, p, p}, b[6] = {p, p, t, v, v, q};
    rgb[0] = r[i % 6];
    rgb[1] = g[i % 6];
    rgb[2] = b[i % 6];
}

static void make_recipe(image_recipe *r, int category, int n_categories, uint64_t seed,
                        uint64_t id) {
    bmc_rng g;
    bmc_rng_seed(&g, seed, id);
    r->shape = category % 8;
    double hue = (double)category / n_categories + 0.04 * bmc_rng_normal(&g);
    hsv_to_rgb(hue, 0.55 + 0.4 * bmc_rng_uniform(&g), 0.6 + 0.4 * bmc_rng_uniform(&g), r->fg);
    hsv_to_rgb(hue + 0.5, 0.5, 0.3 + 0.5 * bmc_rng_uniform(&g), r->fg2);
    double bh = bmc_rng_uniform(&g);
    hsv_to_rgb(bh, 0.3 * bmc_rng_uniform(&g), 0.2 + 0.6 * bmc_rng_uniform(&g), r->bg0);
    hsv_to_rgb(bh + 0.2 * bmc_rng_normal(&g), 0.3 * bmc_rng_uniform(&g),
               0.2 + 0.6 * bmc_rng_uniform(&g), r->bg1);
    double a = 6.283185307179586 * bmc_rng_uniform(&g);
    r->gdir[0] = cos(a);
    r->gdir[1] = sin(a);
    r->cx = 0.5 * (bmc_rng_uniform(&g) - 0.5);
    r->cy = 0.5 * (bmc_rng_uniform(&g) - 0.5);
    r->size = 0.3 + 0.3 * bmc_rng_uniform(&g);
    r->angle = 6.283185307179586 * bmc_rng_uniform(&g);
    r->freq = 3.0 + (category / 8) % 4 * 2.0 + 2.0 * bmc_rng_uniform(&g);
    r->noise = 0.02 + 0.04 * bmc_rng_uniform(&g);
    for (int k = 0; k < 4; k++) {
        r->blob[k][0] = r->cx + 0.4 * (bmc_rng_uniform(&g) - 0.5);
        r->blob[k][1] = r->cy + 0.4 * (bmc_rng_uniform(&g) - 0.5);
        r->blob[k][2] = 0.1 + 0.15 * bmc_rng_uniform(&g);
    }
}

/* Signed distance (negative inside) of the recipe's shape at rotated coordinates (x, y). */
static double shape_distance(const image_recipe *r, double u, double v) {
    double ca = cos(r->angle), sa = sin(r->angle);
    double dx = u - r->cx, dy = v - r->cy;
    double x = ca * dx + sa * dy, y = -sa * dx + ca * dy, s = r->size;
    switch (r->shape) {
    case 0: return sqrt(x * x + y * y) - s;
    case 1: return fmax(fabs(x), fabs(y)) - 0.8 * s;
    case 2: return fmax(fmax(-y - 0.5 * s, 0.866 * x + 0.5 * y - 0.5 * s), -0.866 * x + 0.5 * y - 0.5 * s);
    case 3: return fabs(sqrt(x * x + y * y) - s) - 0.25 * s;
    case 4: return fmax(fabs(x), fabs(y)) - 1.1 * s;  /* striped square, stripes in colour */
    case 5: return fmax(fabs(x), fabs(y)) - 1.0 * s;  /* checkered square                  */
    case 6: return fmin(fmax(fabs(x) - s, fabs(y) - 0.25 * s), fmax(fabs(x) - 0.25 * s, fabs(y) - s));
    default: {
        double d = 1e9;
        for (int k = 0; k < 4; k++)
            d = fmin(d, hypot(u - r->blob[k][0], v - r->blob[k][1]) - r->blob[k][2]);
        return d;
    }
    }
}

/* out: [H, W, 3] uint8. */
static void render_image(uint8_t *out, const image_recipe *r, int h, int w, uint64_t seed,
                         uint64_t id) {
    bmc_rng noise;
    bmc_rng_seed(&noise, seed ^ 0x5DEECE66Dull, id);
    double px = 2.0 / (h < w ? h : w); /* one pixel in normalised units (antialiasing) */
    double ca = cos(r->angle), sa = sin(r->angle);
    for (int i = 0; i < h; i++) {
        for (int j = 0; j < w; j++) {
            double u = 2.0 * (j + 0.5) / w - 1.0, v = 2.0 * (i + 0.5) / h - 1.0;
            double t = 0.5 + 0.5 * (r->gdir[0] * u + r->gdir[1] * v);
            double d = shape_distance(r, u, v);
            double cover = fmin(1.0, fmax(0.0, 0.5 - d / px)); /* antialiased edge */
            double x = ca * (u - r->cx) + sa * (v - r->cy), y = -sa * (u - r->cx) + ca * (v - r->cy);
            double tex = 1.0;
            if (r->shape == 4) tex = sin(r->freq * 3.14159 * x) > 0 ? 1.0 : 0.0;
            if (r->shape == 5) tex = (sin(r->freq * 3.14159 * x) > 0) ^ (sin(r->freq * 3.14159 * y) > 0);
            double e = r->noise * bmc_rng_normal(&noise);
            for (int c = 0; c < 3; c++) {
                double bg = (1 - t) * r->bg0[c] + t * r->bg1[c];
                double fg = tex * r->fg[c] + (1 - tex) * r->fg2[c];
                double val = (1 - cover) * bg + cover * fg + e;
                val = val < 0 ? 0 : val > 1 ? 1 : val;
                out[((size_t)i * (size_t)w + (size_t)j) * 3 + (size_t)c] = (uint8_t)lround(255.0 * val);
            }
        }
    }
}

static void read_params(const bmc_stage *s, stimuli_params *p, bmc_err *err) {
    static const bmc_param_key keys[] = {
        {"n_images", 0}, {"height", 0}, {"width", 0}, {"n_categories", 0}, {"seed", 0}};
    if (bmc_stage_check_params(s, keys, sizeof keys / sizeof *keys, "bmc-synth stimuli params", err)) return;
    if (bmc_cfg_int(s->params, "n_images", 0, 64, 1, 10000000, &p->n_images, err)) return;
    if (bmc_cfg_int(s->params, "height", 0, 425, 8, 4096, &p->height, err)) return;
    if (bmc_cfg_int(s->params, "width", 0, 425, 8, 4096, &p->width, err)) return;
    if (bmc_cfg_int(s->params, "n_categories", 0, 8, 1, 1000, &p->n_categories, err)) return;
    bmc_cfg_int(s->params, "seed", 0, 0, 0, (long long)1 << 53, &p->seed, err);
}

int synth_stimuli_main(int argc, char **argv) {
    bmc_stage s;
    bmc_stage_begin(&s, argc, argv, "bmc-synth stimuli", stimuli_usage);
    bmc_err err = {0};
    stimuli_params p = {0};
    static const char *const outs[] = {"images"};
    const char *path = NULL;
    if (!bmc_stage_check_names(&s, NULL, 0, outs, 1, &err)) path = bmc_stage_output(&s, "images", &err);
    if (!err.failed) read_params(&s, &p, &err);
    bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_checked(&s);

    long n = (long)p.n_images;
    int h = (int)p.height, w = (int)p.width;
    size_t image_bytes = (size_t)h * (size_t)w * 3;
    bmc_log_info("writing %ld images of %dx%d in %lld categories to %s", n, h, w,
                 p.n_categories, path);

    bmc_h5 f;
    if (bmc_h5_create_as(&f, s.comm, path, BMC_FMT_STIMULI, &err)) bmc_err_exit_if_any(s.comm, &err);
    hsize_t dims[4] = {(hsize_t)n, (hsize_t)h, (hsize_t)w, 3};
    hsize_t ndim1[1] = {(hsize_t)n};
    int rc = bmc_h5_create_dataset(&f, "/imgBrick", BMC_U8, 4, dims, NULL, &err);
    if (!rc) rc = bmc_h5_create_dataset(&f, "/category", BMC_I32, 1, ndim1, NULL, &err);
    if (!rc) rc = bmc_h5_attr_set_i64(&f, "/", "n_categories", p.n_categories, &err);
    if (!rc) rc = bmc_h5_attr_set_i64(&f, "/", "seed", p.seed, &err);
    if (!rc) rc = bmc_stage_provenance(&s, &f, &err);

    /* This rank's images, written in chunks of ~32 MiB; every rank takes part in the same
     * number of collective writes (ranks that run out write zero rows). */
    long row0, nrows;
    bmc_rowblock(n, s.size, s.rank, &row0, &nrows);
    long chunk = (long)((32u << 20) / image_bytes);
    if (chunk < 1) chunk = 1;
    long block = bmc_rowblock_size(n, s.size);
    long n_chunks = (block + chunk - 1) / chunk;
    uint8_t *pix = xmalloc(bmc_mul_size((size_t)chunk, image_bytes));
    int32_t *cat = XNEW(cat, chunk);
    bmc_progress prog;
    bmc_progress_start(&prog, "stimuli", "images", n);
    for (long c = 0; c < n_chunks && !rc; c++) {
        long first = row0 + c * chunk, count = nrows - c * chunk;
        if (count > chunk) count = chunk;
        if (count < 0) count = 0;
        for (long k = 0; k < count; k++) {
            uint64_t id = (uint64_t)(first + k);
            int category = (int)(id % (uint64_t)p.n_categories);
            image_recipe r;
            make_recipe(&r, category, (int)p.n_categories, (uint64_t)p.seed, id);
            render_image(pix + (size_t)k * image_bytes, &r, h, w, (uint64_t)p.seed, id);
            cat[k] = category;
        }
        rc = bmc_h5_write_rows(&f, "/imgBrick", BMC_U8, (hsize_t)(count ? first : 0), (hsize_t)count, pix, &err);
        if (!rc) rc = bmc_h5_write_rows(&f, "/category", BMC_I32, (hsize_t)(count ? first : 0), (hsize_t)count, cat, &err);
        long done_local = (c + 1) * chunk < nrows ? (c + 1) * chunk : nrows, done = 0;
        MPI_Allreduce(&done_local, &done, 1, MPI_LONG, MPI_SUM, s.comm);
        if (s.rank == 0) bmc_progress_update(&prog, done);
    }
    free(pix);
    free(cat);
    if (!rc) rc = bmc_h5_commit(&f, &err);
    if (rc) {
        bmc_h5_discard(&f);
        bmc_err_exit_if_any(s.comm, &err);
    }
    if (s.rank == 0) bmc_progress_finish(&prog, n);
    bmc_stage_end(&s);
    return 0;
}
