/* recon.c — PixCorr/SSIM of ground truth vs retrieved images and the montage PNG (recon.h).
 *
 * The images come from /imgBrick of the stimuli in rounds of collective row-set reads: each
 * round a rank reads the distinct images of at most `chunk` of its evaluation images (ground
 * truth + one retrieved image per branch), scores them with metrics.h, and the per-image
 * scores are gathered exactly at the end. The montage is read and drawn by rank 0 (cairo).
 * Not here: which image is retrieved, the metrics themselves (image_metrics.c).
 */
#include <cairo.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "recon.h"

#define IMG_DATASET "/imgBrick"
#define MIN_SIDE 11     /* SSIM's 11-pixel Gaussian window */
#define CAIRO_MAX 32767 /* largest image surface side cairo accepts */

/* Local: record an error if eval_ids[i] or retrieved[b·m + i] for i < count is outside
 * [0, src->n); every rank passes the same arrays, so every rank finds the same first bad id. */
static void check_ids(const recon_source *src, long count, long m, const long long *eval_ids,
                      int nb, const long long *retrieved, bmc_err *e) {
    for (long i = 0; i < count && !e->failed; i++)
        if (eval_ids[i] < 0 || eval_ids[i] >= src->n)
            bmc_err_set(e, "the evaluation images must be images of the stimuli file",
                        "%s:%s: evaluation image id %lld (entry %ld) is out of range "
                        "(the file has %ld images)",
                        src->f.path, IMG_DATASET, eval_ids[i], i, src->n);
    for (int b = 0; b < nb && !e->failed; b++)
        for (long i = 0; i < count && !e->failed; i++) {
            long long id = retrieved[(long)b * m + i];
            if (id < 0 || id >= src->n)
                bmc_err_set(e, "the gallery (features file) must index the same stimuli file",
                            "%s:%s: retrieved image id %lld (branch %d, evaluation image %ld) "
                            "is out of range (the file has %ld images)",
                            src->f.path, IMG_DATASET, id, b, i, src->n);
        }
}

/* Collective: agree on e; on failure copy it into err (first error wins) and return -1. */
static int agree(MPI_Comm comm, bmc_err *e, bmc_err *err) {
    if (!bmc_err_agree(comm, e)) return 0;
    if (err && !err->failed) *err = *e;
    return -1;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Local: sort ids[n] and drop repeats; the distinct ids go to rows (hsize_t); returns their
 * count. ids is reordered. */
static hsize_t unique_rows(long long *ids, long n, hsize_t *rows) {
    qsort(ids, (size_t)n, sizeof *ids, cmp_ll);
    hsize_t nu = 0;
    for (long k = 0; k < n; k++)
        if (k == 0 || ids[k] != ids[k - 1]) rows[nu++] = (hsize_t)ids[k];
    return nu;
}

/* Local: the image of id in a buffer holding the rows[nrows] images (each img_bytes). */
static const uint8_t *image_of(long long id, const hsize_t *rows, hsize_t nrows,
                               const uint8_t *pix, size_t img_bytes) {
    hsize_t key = (hsize_t)id, lo = 0, hi = nrows;
    while (lo < hi) {
        hsize_t mid = lo + (hi - lo) / 2;
        if (rows[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    BMC_CHECK(lo < nrows && rows[lo] == key);
    return pix + (size_t)lo * img_bytes;
}

/* One round's row set: ids of rows [c0, c1) of the m evaluation images (ground truth and
 * every branch's retrieved image), sorted and unique, into rows; returns their count. ids has
 * room for (c1 − c0)(1 + nb) entries. */
static hsize_t round_rows(long c0, long c1, long m, const long long *eval_ids, int nb,
                          const long long *retrieved, long long *ids, hsize_t *rows) {
    long n = 0;
    for (long i = c0; i < c1; i++) {
        ids[n++] = eval_ids[i];
        for (int b = 0; b < nb; b++) ids[n++] = retrieved[(long)b * m + i];
    }
    return unique_rows(ids, n, rows);
}

void recon_montage_size(long rows, int nb, long *width, long *height) {
    *width = RECON_GAP + (long)(nb + 1) * (RECON_TILE + RECON_GAP);
    *height = RECON_HEADER + rows * (RECON_GAP + RECON_TILE) + RECON_GAP;
}

/* ---- opening ------------------------------------------------------------------------------ */

int recon_open(recon_source *src, MPI_Comm comm, const char *path, bmc_err *err) {
    BMC_CHECK(src && path);
    memset(src, 0, sizeof *src);
    src->f.fid = H5I_INVALID_HID;
    src->chunk = RECON_CHUNK_DEFAULT;
    bmc_err e = {0};
    if (bmc_h5_open(&src->f, comm, path, NULL, 0, &e) != 0) return agree(comm, &e, err);
    const char *hint = "pass a bmc.stimuli file (bmc-synth stimuli) or NSD's nsd_stimuli.hdf5";
    bmc_dtype t = BMC_U8;
    int ndims = 0;
    hsize_t dims[BMC_H5_MAXDIMS] = {0};
    if (!bmc_h5_exists(&src->f, IMG_DATASET))
        bmc_err_set(&e, hint, "%s: no dataset %s (the RGB images of the stimuli)", path,
                    IMG_DATASET);
    else if (bmc_h5_dataset_info(&src->f, IMG_DATASET, &t, &ndims, dims, &e) == 0) {
        if (t != BMC_U8 || ndims != 4 || dims[3] != 3) {
            char shape[128] = "";
            size_t used = 0;
            for (int d = 0; d < ndims && used < sizeof shape; d++)
                used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%llu",
                                         d ? ", " : "", (unsigned long long)dims[d]);
            bmc_err_set(&e, hint, "%s:%s: is %s [%s], expected uint8 [N, H, W, 3] RGB images",
                        path, IMG_DATASET, bmc_dtype_name(t), shape);
        } else if (dims[1] < MIN_SIDE || dims[2] < MIN_SIDE || dims[1] > INT_MAX / 4 ||
                   dims[2] > INT_MAX / 4 || dims[0] > (hsize_t)LONG_MAX)
            bmc_err_set(&e, "SSIM's Gaussian window needs images of at least 11 × 11 pixels",
                        "%s:%s: images are %llu × %llu pixels (height × width)", path,
                        IMG_DATASET, (unsigned long long)dims[1], (unsigned long long)dims[2]);
    }
    if (agree(comm, &e, err)) {
        bmc_h5_close(&src->f);
        return -1;
    }
    src->n = (long)dims[0];
    src->h = (long)dims[1];
    src->w = (long)dims[2];
    return 0;
}

void recon_close(recon_source *src) {
    if (src) bmc_h5_close(&src->f);
}

/* ---- scores ------------------------------------------------------------------------------- */

int recon_score(recon_source *src, long m, const long long *eval_ids, int nb,
                const long long *retrieved, ssim_mode mode, double *pixcorr, double *ssim,
                bmc_err *err) {
    BMC_CHECK(src && src->f.fid >= 0 && m >= 0 && nb >= 1);
    BMC_CHECK(m == 0 || (eval_ids && retrieved && pixcorr && ssim));
    BMC_CHECK((long long)m * 2 * nb <= INT_MAX);
    MPI_Comm comm = src->f.comm;
    int rank = src->f.rank, size = src->f.size;
    bmc_err e = {0};
    check_ids(src, m, m, eval_ids, nb, retrieved, &e);
    if (agree(comm, &e, err)) return -1;
    src->m = m;

    long i0 = 0, ni = 0;
    bmc_rowblock(m, size, rank, &i0, &ni);
    long chunk = src->chunk > 0 ? src->chunk : RECON_CHUNK_DEFAULT;
    long rounds = (bmc_rowblock_size(m, size) + chunk - 1) / chunk; /* same on every rank */
    int h = (int)src->h, w = (int)src->w, side = RECON_EVAL_SIZE;
    size_t img_bytes = (size_t)h * (size_t)w * 3;
    size_t per_round = (size_t)chunk * (size_t)(nb + 1);
    long long *ids = ni > 0 ? XNEW(ids, per_round) : NULL;
    hsize_t *rows = ni > 0 ? XNEW(rows, per_round) : NULL;
    uint8_t *pix = ni > 0 ? xmalloc(bmc_mul_size(per_round, img_bytes)) : NULL;
    float *in = ni > 0 ? XNEW(in, img_bytes) : NULL;
    float *truth = ni > 0 ? XNEW(truth, 3 * (size_t)side * (size_t)side) : NULL;
    float *other = ni > 0 ? XNEW(other, 3 * (size_t)side * (size_t)side) : NULL;
    /* local[(j·nb + b)·2 + {0, 1}] = PixCorr, SSIM of this rank's image j, branch b */
    double *local = XNEW(local, (size_t)(ni > 0 ? ni : 1) * (size_t)nb * 2);

    bmc_progress progress;
    if (rank == 0) bmc_progress_start(&progress, "pixel metrics", "images", m);
    int rc = 0;
    for (long r = 0; r < rounds && rc == 0; r++) {
        long c0 = r * chunk < ni ? r * chunk : ni, c1 = c0 + chunk < ni ? c0 + chunk : ni;
        hsize_t nrows = c1 > c0 ? round_rows(i0 + c0, i0 + c1, m, eval_ids, nb, retrieved,
                                             ids, rows)
                                : 0;
        if (bmc_h5_read_rowset(&src->f, IMG_DATASET, BMC_U8, rows, nrows, NULL, NULL, pix,
                               &e) != 0) {
            rc = agree(comm, &e, err);
            break;
        }
        for (long j = c0; j < c1; j++) {
            long i = i0 + j;
            metric_u8_hwc_to_float_chw(in, image_of(eval_ids[i], rows, nrows, pix, img_bytes), h,
                                      w);
            metric_resize_bilinear(truth, side, side, in, 3, h, w);
            for (int b = 0; b < nb; b++) {
                long long id = retrieved[(long)b * m + i];
                metric_u8_hwc_to_float_chw(in, image_of(id, rows, nrows, pix, img_bytes), h, w);
                metric_resize_bilinear(other, side, side, in, 3, h, w);
                double *out = local + ((size_t)j * (size_t)nb + (size_t)b) * 2;
                out[0] = metric_pixcorr(truth, other, 3, side, side);
                out[1] = metric_ssim(truth, other, side, side, mode);
            }
        }
        long done = 0, mine = c1; /* this rank's images [0, c1) are scored */
        BMC_MPI(MPI_Reduce(&mine, &done, 1, MPI_LONG, MPI_SUM, 0, comm));
        if (rank == 0 && done < m) bmc_progress_update(&progress, done);
    }
    if (rank == 0 && progress.printed && rc == 0) bmc_progress_finish(&progress, m);

    if (rc == 0 && m > 0) {
        int *counts = XNEW(counts, (size_t)size), *displs = XNEW(displs, (size_t)size);
        for (int p = 0; p < size; p++) {
            long p0, pn;
            bmc_rowblock(m, size, p, &p0, &pn);
            counts[p] = (int)(pn * nb * 2);
            displs[p] = (int)(p0 * nb * 2);
        }
        double *all = XNEW(all, (size_t)m * (size_t)nb * 2);
        BMC_MPI(MPI_Allgatherv(local, counts[rank], MPI_DOUBLE, all, counts, displs,
                               MPI_DOUBLE, comm));
        for (long i = 0; i < m; i++)
            for (int b = 0; b < nb; b++) {
                pixcorr[(long)b * m + i] = all[((size_t)i * (size_t)nb + (size_t)b) * 2];
                ssim[(long)b * m + i] = all[((size_t)i * (size_t)nb + (size_t)b) * 2 + 1];
            }
        free(all);
        free(counts);
        free(displs);
    }
    free(ids);
    free(rows);
    free(pix);
    free(in);
    free(truth);
    free(other);
    free(local);
    return rc;
}

/* ---- montage ------------------------------------------------------------------------------ */

/* Rank 0: draw the h × w × 3 uint8 image as a TILE × TILE tile with its top-left at (x, y). */
static void draw_tile(cairo_t *cr, const uint8_t *img, int h, int w, double x, double y) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
        cairo_surface_flush(s);
        unsigned char *data = cairo_image_surface_get_data(s);
        int stride = cairo_image_surface_get_stride(s);
        for (int r = 0; r < h; r++) {
            uint32_t *line = (uint32_t *)(void *)(data + (size_t)r * (size_t)stride);
            const uint8_t *p = img + (size_t)r * (size_t)w * 3;
            for (int c = 0; c < w; c++, p += 3)
                line[c] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | (uint32_t)p[2];
        }
        cairo_surface_mark_dirty(s);
        cairo_save(cr);
        cairo_rectangle(cr, x, y, RECON_TILE, RECON_TILE);
        cairo_clip(cr);
        cairo_translate(cr, x, y);
        cairo_scale(cr, (double)RECON_TILE / w, (double)RECON_TILE / h);
        cairo_set_source_surface(cr, s, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
        cairo_paint(cr);
        cairo_restore(cr);
    }
    cairo_surface_destroy(s); /* a failed surface leaves cr's status as it was: checked later */
}

/* Rank 0: the header row, one centred label per column, clipped to the column. */
static void draw_header(cairo_t *cr, int nb, const char *const *names) {
    /* "@cairo:" = cairo's built-in font: no fontconfig, the same pixels on every system */
    cairo_select_font_face(cr, "@cairo:sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 13.0);
    cairo_set_source_rgb(cr, 0.0, 0.0, 0.0);
    for (int col = 0; col <= nb; col++) {
        const char *label = col == 0 ? "ground truth" : names[col - 1];
        double x = RECON_GAP + col * (RECON_TILE + RECON_GAP);
        cairo_text_extents_t ext;
        cairo_text_extents(cr, label, &ext);
        double tx = x + (RECON_TILE - ext.width) / 2 - ext.x_bearing;
        if (tx < x) tx = x;
        cairo_save(cr);
        cairo_rectangle(cr, x, 0, RECON_TILE, RECON_HEADER);
        cairo_clip(cr);
        cairo_move_to(cr, tx, RECON_HEADER - 6);
        cairo_show_text(cr, label);
        cairo_restore(cr);
    }
}

/* Rank 0: write the surface to path.partial, fsync, rename to path; on failure neither
 * file remains. */
static void write_png(cairo_surface_t *surface, const char *path, bmc_err *e) {
    char *partial = bmc_xasprintf("%s.partial", path);
    cairo_status_t st = cairo_surface_write_to_png(surface, partial);
    if (st != CAIRO_STATUS_SUCCESS)
        bmc_err_set(e, "check that the output folder exists and is writable",
                    "%s: cannot write the montage PNG: %s", partial,
                    cairo_status_to_string(st));
    else if (bmc_fsync_path(partial) != 0)
        bmc_err_set(e, "check free space and the health of the output folder",
                    "%s: cannot fsync the montage PNG", partial);
    else
        bmc_rename_durable(partial, path, e);
    if (e->failed) unlink(partial);
    free(partial);
}

int recon_montage(recon_source *src, const char *png_path, long k, const long long *eval_ids,
                  int nb, const char *const *names, const long long *retrieved, bmc_err *err) {
    BMC_CHECK(src);
    if (src->m < 1)
        BMC_BUG("recon_montage needs the m of a recon_score call (src->m = %ld); use "
                "recon_montage_rows",
                src->m);
    return recon_montage_rows(src, png_path, k, src->m, eval_ids, nb, names, retrieved, err);
}

int recon_montage_rows(recon_source *src, const char *png_path, long k, long m,
                       const long long *eval_ids, int nb, const char *const *names,
                       const long long *retrieved, bmc_err *err) {
    BMC_CHECK(src && src->f.fid >= 0 && png_path && nb >= 1 && m >= 0);
    BMC_CHECK(m == 0 || (eval_ids && retrieved && names));
    for (int b = 0; b < nb; b++) BMC_CHECK(names[b] != NULL);
    MPI_Comm comm = src->f.comm;
    int rank = src->f.rank;
    bmc_err e = {0};
    long rows_total = k < m ? k : m, width = 0, height = 0;
    recon_montage_size(rows_total, nb, &width, &height);
    if (rows_total < 1)
        bmc_err_set(&e, "ask for at least one montage image (montage_images ≥ 1)",
                    "%s: montage of %ld images requested (%ld evaluation images)", png_path, k,
                    m);
    else if (width > CAIRO_MAX || height > CAIRO_MAX)
        bmc_err_set(&e, "lower montage_images (at most 248 rows fit in one PNG)",
                    "%s: a montage of %ld rows × %d columns would be %ld × %ld pixels, more "
                    "than cairo's %d",
                    png_path, rows_total, nb + 1, width, height, CAIRO_MAX);
    else check_ids(src, rows_total, m, eval_ids, nb, retrieved, &e);
    if (agree(comm, &e, err)) return -1;

    int h = (int)src->h, w = (int)src->w;
    size_t img_bytes = (size_t)h * (size_t)w * 3;
    long chunk = src->chunk > 0 ? src->chunk : RECON_CHUNK_DEFAULT;
    size_t per_round = (size_t)chunk * (size_t)(nb + 1);
    long long *ids = rank == 0 ? XNEW(ids, per_round) : NULL;
    hsize_t *rows = rank == 0 ? XNEW(rows, per_round) : NULL;
    uint8_t *pix = rank == 0 ? xmalloc(bmc_mul_size(per_round, img_bytes)) : NULL;
    cairo_surface_t *surface = NULL;
    cairo_t *cr = NULL;
    if (rank == 0) {
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
        cr = cairo_create(surface);
        cairo_set_source_rgb(cr, 1.0, 1.0, 1.0);
        cairo_paint(cr);
        draw_header(cr, nb, names);
    }
    int rc = 0;
    for (long c0 = 0; c0 < rows_total; c0 += chunk) {
        long c1 = c0 + chunk < rows_total ? c0 + chunk : rows_total;
        hsize_t nrows = 0;
        if (rank == 0) nrows = round_rows(c0, c1, m, eval_ids, nb, retrieved, ids, rows);
        if (bmc_h5_read_rowset(&src->f, IMG_DATASET, BMC_U8, rows, nrows, NULL, NULL, pix,
                               &e) != 0) {
            rc = agree(comm, &e, err);
            break;
        }
        for (long i = c0; rank == 0 && i < c1; i++) {
            double y = RECON_HEADER + RECON_GAP + (double)i * (RECON_TILE + RECON_GAP);
            for (int col = 0; col <= nb; col++) {
                long long id = col == 0 ? eval_ids[i] : retrieved[(long)(col - 1) * m + i];
                draw_tile(cr, image_of(id, rows, nrows, pix, img_bytes), h, w,
                          RECON_GAP + col * (RECON_TILE + RECON_GAP), y);
            }
        }
    }
    if (rank == 0) {
        cairo_status_t st = cairo_status(cr);
        if (rc == 0 && st != CAIRO_STATUS_SUCCESS)
            bmc_err_set(&e, NULL, "%s: drawing the montage failed: %s", png_path,
                        cairo_status_to_string(st));
        if (rc == 0 && !e.failed) {
            cairo_surface_flush(surface);
            write_png(surface, png_path, &e);
        }
        cairo_destroy(cr);
        cairo_surface_destroy(surface);
    }
    free(ids);
    free(rows);
    free(pix);
    if (rc != 0) return rc;
    return agree(comm, &e, err);
}
