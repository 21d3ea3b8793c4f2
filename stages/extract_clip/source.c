/* source.c — image sources of bmc-extract-clip (see source.h).
 *
 * HDF5 stacks are read one image per collective call (each rank its own row, or none), so
 * a rank never holds more than its batch. Folders are listed once on every rank (the sorted
 * list is deterministic) and each rank decodes only its own files.
 * Not here: what happens to the pixels afterwards.
 */
#include "source.h"

#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "image_io.h"

/* Parse the selection node into s->ids (ids in [0, n_total)). Local; every rank parses the
 * same node, so every rank reaches the same verdict. */
static int parse_ids(clip_source *s, const bmc_cfg_node *node, bmc_err *err) {
    if (!node || node->type == BMC_CFG_NULL) {
        s->n = (long)s->n_total;
        s->ids = XNEW(s->ids, s->n ? s->n : 1);
        for (long i = 0; i < s->n; i++) s->ids[i] = i;
        return 0;
    }
    if (node->type == BMC_CFG_MAP) {
        static const char *const keys[] = {"start", "stop"};
        long long start, stop;
        if (bmc_cfg_check_keys(node, keys, 2, "image_ids", err) ||
            bmc_cfg_int(node, "start", 0, 0, 0, s->n_total, &start, err) ||
            bmc_cfg_int(node, "stop", 0, s->n_total, 0, s->n_total, &stop, err))
            return -1;
        if (stop <= start)
            return bmc_cfg_error_at(node, err, "stop is exclusive and must exceed start",
                                    "image_ids range [%lld, %lld) is empty", start, stop);
        s->n = (long)(stop - start);
        s->ids = XNEW(s->ids, s->n);
        for (long i = 0; i < s->n; i++) s->ids[i] = start + i;
        return 0;
    }
    if (node->type != BMC_CFG_SEQ)
        return bmc_cfg_error_at(node, err, "write a list of ids, {start: a, stop: b}, or leave it out for all",
                                "image_ids must be a list or a range, got %s",
                                bmc_cfg_type_name(node->type));
    if (node->n == 0)
        return bmc_cfg_error_at(node, err, "list at least one image id", "image_ids is empty");
    s->n = (long)node->n;
    s->ids = XNEW(s->ids, s->n);
    for (size_t i = 0; i < node->n; i++) {
        const bmc_cfg_node *v = node->items[i];
        if (v->type != BMC_CFG_INT || v->v.i < 0 || v->v.i >= s->n_total)
            return bmc_cfg_error_at(v, err, "ids are 0-based positions in the image source",
                                    "image id '%s' is not an integer in [0, %lld)",
                                    v->text ? v->text : "?", s->n_total);
        s->ids[i] = v->v.i;
    }
    return 0;
}

int clip_source_open(clip_source *s, MPI_Comm comm, const char *path, const char *dataset,
                     const bmc_cfg_node *ids_node, bmc_err *err) {
    memset(s, 0, sizeof *s);
    s->h5.fid = H5I_INVALID_HID;
    s->path = xstrdup(path);
    bmc_err e = {0};
    s->is_folder = bmc_is_dir(path);
    if (s->is_folder) {
        if (image_list_folder(path, &s->files, &s->n_files, &e) == 0)
            s->n_total = (long long)s->n_files;
    } else if (bmc_h5_open(&s->h5, comm, path, NULL, 0, &e) == 0) {
        s->dataset = xstrdup(dataset);
        bmc_dtype t;
        int nd;
        hsize_t dims[BMC_H5_MAXDIMS];
        if (bmc_h5_dataset_info(&s->h5, dataset, &t, &nd, dims, &e) == 0) {
            if (t != BMC_U8 || nd != 4)
                bmc_err_set(&e, "images must be a uint8 [N, H, W, 3] dataset (NSD's /imgBrick layout)",
                            "%s:%s: %s dataset with %d dimensions is not an image stack", path,
                            dataset, bmc_dtype_name(t), nd);
            else if (dims[3] != 3)
                bmc_err_set(&e, "convert the images to RGB (3 channels); grayscale and RGBA are refused",
                            "%s:%s: images have %llu channels, expected 3 (RGB)", path, dataset,
                            (unsigned long long)dims[3]);
            else if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0)
                bmc_err_set(&e, "the image set is empty; check the file",
                            "%s:%s: empty image stack (%llu x %llu x %llu x 3)", path, dataset,
                            (unsigned long long)dims[0], (unsigned long long)dims[1],
                            (unsigned long long)dims[2]);
            else if (dims[1] > 65536 || dims[2] > 65536)
                bmc_err_set(&e, NULL, "%s:%s: images of %llu x %llu pixels are too large", path,
                            dataset, (unsigned long long)dims[1], (unsigned long long)dims[2]);
            s->n_total = (long long)dims[0];
            s->height = (int)dims[1];
            s->width = (int)dims[2];
        }
    }
    if (!e.failed && parse_ids(s, ids_node, &e) == 0) {
        s->contiguous = !s->is_folder;
        for (long i = 1; i < s->n && s->contiguous; i++) s->contiguous = s->ids[i] == s->ids[0] + i;
    }
    if (bmc_err_agree(comm, &e)) {
        *err = e;
        clip_source_close(s);
        return -1;
    }
    return 0;
}

int clip_source_read(clip_source *s, long k, uint8_t **pixels, size_t *cap, int *w, int *h,
                     bmc_err *err) {
    if (s->is_folder) {
        if (k < 0) return 0;
        uint8_t *img = NULL;
        if (image_load_rgb(s->files[s->ids[k]], &img, w, h, err)) return -1;
        size_t need = (size_t)*w * (size_t)*h * 3;
        if (need > *cap) {
            free(*pixels);
            *pixels = img;
            *cap = need;
        } else {
            memcpy(*pixels, img, need);
            free(img);
        }
        return 0;
    }
    size_t need = (size_t)s->height * (size_t)s->width * 3;
    if (need > *cap) {
        *pixels = xrealloc(*pixels, need);
        *cap = need;
    }
    *w = s->width;
    *h = s->height;
    hsize_t row = k >= 0 ? (hsize_t)s->ids[k] : 0, nrows = k >= 0 ? 1 : 0;
    return bmc_h5_read_rows(&s->h5, s->dataset, BMC_U8, row, nrows, *pixels, err);
}

int clip_source_read_run(clip_source *s, long k0, long count, uint8_t **pixels, size_t *cap,
                         bmc_err *err) {
    BMC_CHECK(s->contiguous && !s->is_folder);
    size_t need = bmc_mul_size((size_t)(count > 0 ? count : 1),
                               (size_t)s->height * (size_t)s->width * 3);
    if (need > *cap) {
        *pixels = xrealloc(*pixels, need);
        *cap = need;
    }
    hsize_t row = count > 0 ? (hsize_t)s->ids[k0] : 0;
    return bmc_h5_read_rows(&s->h5, s->dataset, BMC_U8, row, (hsize_t)count, *pixels, err);
}

void clip_source_close(clip_source *s) {
    if (s->h5.fid >= 0) bmc_h5_close(&s->h5);
    if (s->files) image_list_free(s->files, s->n_files);
    free(s->path);
    free(s->dataset);
    free(s->ids);
    memset(s, 0, sizeof *s);
    s->h5.fid = H5I_INVALID_HID;
}
