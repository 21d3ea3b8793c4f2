/* test_clip_preprocess.c — CLIP preprocessing and image loading against independent references.
 *
 * Usage: test_clip_preprocess golden|naive|pillow|io|folder
 *   golden: clip-tiny's golden.h5 (/resized, /cropped, /pixel_values, sizes, offsets) and its
 *           PNG/raw files, bit-exact;
 *   naive:  the table-driven resize and its windows against the naive double-precision twin;
 *   pillow: Pillow 9.4's resize and the torchvision transform (tests/unit/clip_preprocess_ref.py)
 *           on random images of many sizes, bit-exact;
 *   io:     PNG/JPEG decoding equal to Pillow's, and clear errors for refused/damaged files;
 *   folder: image_list_folder's filter, order and errors.
 * Not here: the ViT (its own tests).
 */
#define _POSIX_C_SOURCE 200809L

#include <hdf5.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_test.h"
#include "image_io.h"
#include "preprocess.h"

/* ---- small helpers ------------------------------------------------------------------- */

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return (v && v[0]) ? v : fallback;
}

/* Folder of the clip-tiny golden set (tests/data/clip-tiny). */
static char *testdata_dir(void) { return xstrdup(BMC_CLIP_TINY_DIR); }

/* Whole file, which must have exactly `expect` bytes; NULL (and a failed check) otherwise. */
static uint8_t *read_exact(const char *path, size_t expect) {
    bmc_err e = {0};
    size_t len = 0;
    char *buf = bmc_read_file(path, &len, &e);
    TEST_CHECK(buf != NULL && len == expect, "%s: %zu bytes, expected %zu (%s)", path, len,
               expect, e.msg);
    if (buf == NULL || len != expect) {
        free(buf);
        return NULL;
    }
    return (uint8_t *)buf;
}

static size_t count_diff(const uint8_t *a, const uint8_t *b, size_t n, int *maxd) {
    size_t d = 0;
    *maxd = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) {
            d++;
            int v = abs((int)a[i] - (int)b[i]);
            if (v > *maxd) *maxd = v;
        }
    return d;
}

/* Checks float arrays: bitwise-equal count and max abs difference ≤ tol. */
static void check_floats(const float *got, const float *want, size_t n, double tol,
                         const char *what) {
    double maxabs = 0.0;
    size_t bits_differ = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (d > maxabs) maxabs = d;
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0) bits_differ++;
    }
    TEST_CHECK(maxabs <= tol, "%s: max abs diff %.3g > %.3g", what, maxabs, tol);
    TEST_CHECK(bits_differ == 0, "%s: %zu of %zu values not bit-identical (max abs %.3g)", what,
               bits_differ, n, maxabs);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int rng_int(int lo, int hi) { return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1)); }

/* ---- golden ---------------------------------------------------------------------------- */

/* Read a whole dataset of native type mtype; returns a heap buffer and its dims. */
static void *h5_read_all(hid_t f, const char *name, hid_t mtype, size_t esize, int *ndims,
                         hsize_t dims[4]) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    TEST_CHECK(d >= 0, "golden.h5: cannot open %s", name);
    if (d < 0) return NULL;
    hid_t s = H5Dget_space(d);
    *ndims = H5Sget_simple_extent_ndims(s);
    BMC_CHECK(*ndims >= 1 && *ndims <= 4);
    H5Sget_simple_extent_dims(s, dims, NULL);
    size_t n = 1;
    for (int i = 0; i < *ndims; i++) n *= (size_t)dims[i];
    void *buf = xmalloc(n * esize);
    herr_t rc = H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    TEST_CHECK(rc >= 0, "golden.h5: cannot read %s", name);
    H5Sclose(s);
    H5Dclose(d);
    return buf;
}

static void test_offsets_and_shapes(void) {
    /* round(d/2), ties to even, for d = 0..9 (Python: [round(d/2) for d in range(10)]). */
    static const int want[10] = {0, 0, 1, 2, 2, 2, 3, 4, 4, 4};
    for (int d = 0; d < 10; d++) {
        int top, left;
        clip_center_crop_offsets(56 + d, 56 + (9 - d), 56, &top, &left);
        TEST_CHECK(left == want[d] && top == want[9 - d], "d=%d: top %d left %d", d, top, left);
    }
    int w2, h2; /* README §5 table, and both orientations of a square */
    clip_resize_shape(50, 91, 56, &w2, &h2);
    TEST_CHECK(w2 == 56 && h2 == 101, "50x91 -> %dx%d", w2, h2);
    clip_resize_shape(120, 100, 56, &w2, &h2);
    TEST_CHECK(w2 == 67 && h2 == 56, "120x100 -> %dx%d", w2, h2);
    clip_resize_shape(7, 7, 224, &w2, &h2);
    TEST_CHECK(w2 == 224 && h2 == 224, "7x7 -> %dx%d", w2, h2);
    clip_resize_shape(65536, 1, 4096, &w2, &h2);
    TEST_CHECK(w2 == 65536 * 4096 && h2 == 4096, "65536x1 -> %dx%d", w2, h2);
}

static void test_golden(void) {
    char *dir = testdata_dir();
    char *h5path = bmc_xasprintf("%s/golden.h5", dir);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(h5path, H5F_ACC_RDONLY, H5P_DEFAULT);
    TEST_CHECK(f >= 0, "cannot open %s", h5path);
    if (f < 0) goto out;
    int nd;
    hsize_t dims[4], cdims[4], pdims[4];
    int32_t *orig_hw = h5_read_all(f, "/orig_hw", H5T_NATIVE_INT32, 4, &nd, dims);
    int32_t *res_hw = h5_read_all(f, "/resized_hw", H5T_NATIVE_INT32, 4, &nd, dims);
    int32_t *crop_tl = h5_read_all(f, "/crop_top_left", H5T_NATIVE_INT32, 4, &nd, dims);
    uint8_t *cropped = h5_read_all(f, "/cropped", H5T_NATIVE_UINT8, 1, &nd, cdims);
    float *pixels = h5_read_all(f, "/pixel_values", H5T_NATIVE_FLOAT, 4, &nd, pdims);
    const int N = (int)cdims[0], R = (int)cdims[1];
    TEST_CHECK(N >= 1 && cdims[2] == (hsize_t)R && cdims[3] == 3 && pdims[0] == (hsize_t)N &&
                   pdims[1] == 3 && pdims[2] == (hsize_t)R,
               "unexpected golden shapes");
    const size_t crop_n = (size_t)R * (size_t)R * 3;
    clip_preprocess_ws ws = {0};
    float *pix = XNEW(pix, crop_n);
    uint8_t *crop = XNEW(crop, crop_n);
    for (int k = 0; k < N; k++) {
        char name[64];
        hsize_t idims[4], rdims[4];
        snprintf(name, sizeof name, "/images/%d", k);
        uint8_t *img = h5_read_all(f, name, H5T_NATIVE_UINT8, 1, &nd, idims);
        snprintf(name, sizeof name, "/resized/%d", k);
        uint8_t *want_res = h5_read_all(f, name, H5T_NATIVE_UINT8, 1, &nd, rdims);
        int H = (int)idims[0], W = (int)idims[1];
        TEST_CHECK(orig_hw[2 * k] == H && orig_hw[2 * k + 1] == W, "image %d size", k);
        int w2, h2, top, left, diff;
        clip_resize_shape(W, H, R, &w2, &h2);
        TEST_CHECK(h2 == res_hw[2 * k] && w2 == res_hw[2 * k + 1] && rdims[0] == (hsize_t)h2 &&
                       rdims[1] == (hsize_t)w2,
                   "image %d: resized %dx%d, golden (h,w) = (%d,%d)", k, w2, h2, res_hw[2 * k],
                   res_hw[2 * k + 1]);
        size_t rn = (size_t)w2 * (size_t)h2 * 3;
        uint8_t *res = XNEW(res, rn), *res_naive = XNEW(res_naive, rn);
        pil_resize_bicubic_u8(res, w2, h2, img, W, H, 3);
        size_t nd_res = count_diff(res, want_res, rn, &diff);
        TEST_CHECK(nd_res == 0, "image %d: /resized differs in %zu of %zu bytes (max %d)", k,
                   nd_res, rn, diff);
        pil_resize_bicubic_u8_naive(res_naive, w2, h2, img, W, H, 3);
        TEST_CHECK(memcmp(res_naive, want_res, rn) == 0, "image %d: naive resize differs", k);
        clip_center_crop_u8(crop, &top, &left, res, w2, h2, R, 3);
        TEST_CHECK(top == crop_tl[2 * k] && left == crop_tl[2 * k + 1],
                   "image %d: crop (%d,%d), golden (%d,%d)", k, top, left, crop_tl[2 * k],
                   crop_tl[2 * k + 1]);
        TEST_CHECK(memcmp(crop, cropped + (size_t)k * crop_n, crop_n) == 0,
                   "image %d: /cropped differs", k);
        /* The composed, windowed path. */
        clip_preprocess(pix, &ws, img, W, H, R, clip_mean, clip_std);
        TEST_CHECK(ws.resized_w == w2 && ws.resized_h == h2 && ws.crop_top == top &&
                       ws.crop_left == left,
                   "image %d: clip_preprocess sizes", k);
        TEST_CHECK(memcmp(ws.cropped, cropped + (size_t)k * crop_n, crop_n) == 0,
                   "image %d: clip_preprocess crop differs", k);
        snprintf(name, sizeof name, "image %d pixel_values", k);
        check_floats(pix, pixels + (size_t)k * crop_n, crop_n, 1e-6, name);
        /* ToTensor + Normalize alone, from the golden crop. */
        clip_to_pixel_values(pix, cropped + (size_t)k * crop_n, R, clip_mean, clip_std);
        check_floats(pix, pixels + (size_t)k * crop_n, crop_n, 1e-6, name);
        /* The PNG and raw files of the same image. */
        char *png = bmc_xasprintf("%s/images/img%d_%dx%d.png", dir, k, W, H);
        char *raw = bmc_xasprintf("%s/images/img%d_%dx%d.raw", dir, k, W, H);
        uint8_t *loaded = NULL, *rawb = read_exact(raw, (size_t)W * (size_t)H * 3);
        int lw, lh;
        bmc_err e = {0};
        int rc = image_load_rgb(png, &loaded, &lw, &lh, &e);
        TEST_CHECK(rc == 0 && lw == W && lh == H, "%s: %s", png, e.msg);
        if (rc == 0 && rawb) {
            size_t n = (size_t)W * (size_t)H * 3;
            TEST_CHECK(memcmp(loaded, rawb, n) == 0, "%s differs from %s", png, raw);
            TEST_CHECK(memcmp(loaded, img, n) == 0, "%s differs from /images/%d", png, k);
        }
        free(loaded);
        free(rawb);
        free(png);
        free(raw);
        free(res);
        free(res_naive);
        free(img);
        free(want_res);
    }
    clip_preprocess_ws_free(&ws);
    free(pix);
    free(crop);
    free(orig_hw);
    free(res_hw);
    free(crop_tl);
    free(cropped);
    free(pixels);
    H5Fclose(f);
out:
    free(h5path);
    free(dir);
}

/* ---- naive twin and windows -------------------------------------------------------------- */

static void fill_image(uint8_t *img, size_t n, int kind) {
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next();
        img[i] = kind == 0 ? (uint8_t)r : (uint8_t)((r & 1) ? 255 : 0); /* noise / saturated */
    }
}

static void test_naive_and_windows(void) {
    clip_preprocess_ws ws = {0}; /* shared by every case: stale tables would show up */
    int cases = 0, bad_naive = 0, bad_window = 0;
    for (int t = 0; t < 260; t++) {
        int C = 1 + t % 4, w, h, w2, h2;
        if (t < 200) {
            w = rng_int(1, 48), h = rng_int(1, 48), w2 = rng_int(1, 96), h2 = rng_int(1, 96);
        } else { /* strong down- and upscaling, extreme aspect ratios */
            w = rng_int(1, 400), h = rng_int(1, 6), w2 = rng_int(1, 8), h2 = rng_int(1, 200);
            if (t % 2) { int s = w; w = h; h = s; s = w2; w2 = h2; h2 = s; }
        }
        size_t in_n = (size_t)w * (size_t)h * (size_t)C;
        size_t out_n = (size_t)w2 * (size_t)h2 * (size_t)C;
        uint8_t *in = XNEW(in, in_n), *fast = XNEW(fast, out_n), *slow = XNEW(slow, out_n);
        fill_image(in, in_n, t % 3 == 0);
        pil_resize_bicubic_u8(fast, w2, h2, in, w, h, C);
        pil_resize_bicubic_u8_naive(slow, w2, h2, in, w, h, C);
        int diff;
        size_t nd = count_diff(fast, slow, out_n, &diff);
        if (nd) {
            bad_naive++;
            fprintf(stderr, "  %dx%dx%d -> %dx%d: %zu bytes differ (max %d)\n", w, h, C, w2, h2,
                    nd, diff);
        }
        /* A random window of the same resize equals the sub-block. */
        int x0 = rng_int(0, w2 - 1), y0 = rng_int(0, h2 - 1);
        int ow = rng_int(1, w2 - x0), oh = rng_int(1, h2 - y0);
        uint8_t *win = XNEW(win, (size_t)ow * (size_t)oh * (size_t)C);
        pil_resize_bicubic_window_u8(win, &ws, in, w, h, C, w2, h2, x0, y0, ow, oh);
        for (int r = 0; r < oh; r++)
            if (memcmp(win + (size_t)r * (size_t)ow * (size_t)C,
                       fast + (((size_t)(y0 + r) * (size_t)w2) + (size_t)x0) * (size_t)C,
                       (size_t)ow * (size_t)C) != 0) {
                bad_window++;
                fprintf(stderr, "  window (%d,%d %dx%d) of %dx%d -> %dx%d differs\n", x0, y0, ow,
                        oh, w, h, w2, h2);
                break;
            }
        cases++;
        free(in);
        free(fast);
        free(slow);
        free(win);
    }
    TEST_CHECK(bad_naive == 0, "%d of %d resizes differ from the naive twin", bad_naive, cases);
    TEST_CHECK(bad_window == 0, "%d of %d windows differ from the full resize", bad_window, cases);
    clip_preprocess_ws_free(&ws);
}

/* ---- Pillow references -------------------------------------------------------------------- */

/* Run clip_preprocess_ref.py MODE into a fresh temp dir; returns it (or NULL on failure). */
static char *make_reference(const char *mode) {
    char tmpl[] = "/tmp/bmc-clip-prep-XXXXXX";
    char *dir = mkdtemp(tmpl);
    TEST_CHECK(dir != NULL, "mkdtemp failed");
    if (!dir) return NULL;
    const char *src = env_or("BMC_SOURCE_DIR", BMC_TEST_SOURCE_DIR);
    char *cmd = bmc_xasprintf("'%s' '%s/tests/unit/clip_preprocess_ref.py' '%s' %s",
                              env_or("BMC_PYTHON3", "/usr/bin/python3"), src, dir, mode);
    int rc = system(cmd);
    TEST_CHECK(rc == 0, "reference generator failed (rc %d): %s (needs python3 with numpy and "
                        "Pillow: apt-get install python3-pil)", rc, cmd);
    free(cmd);
    if (rc != 0) {
        bmc_remove_tree(dir);
        return NULL;
    }
    return xstrdup(dir);
}

/* Split a manifest line in place at tabs; returns the field count. */
static int split_tabs(char *line, char **fields, int max) {
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, "\t\n", &save); tok && n < max;
         tok = strtok_r(NULL, "\t\n", &save))
        fields[n++] = tok;
    return n;
}

static uint8_t *read_ref(const char *dir, const char *name, size_t n) {
    char *p = bmc_path_join(dir, name);
    uint8_t *b = read_exact(p, n);
    free(p);
    return b;
}

static void run_resize_case(const char *dir, char **f) {
    int w = atoi(f[2]), h = atoi(f[3]), C = atoi(f[4]), w2 = atoi(f[5]), h2 = atoi(f[6]);
    size_t in_n = (size_t)w * (size_t)h * (size_t)C, out_n = (size_t)w2 * (size_t)h2 * (size_t)C;
    uint8_t *in = read_ref(dir, f[1], in_n), *want = read_ref(dir, f[7], out_n);
    if (in && want) {
        uint8_t *got = XNEW(got, out_n);
        pil_resize_bicubic_u8(got, w2, h2, in, w, h, C);
        int diff;
        size_t nd = count_diff(got, want, out_n, &diff);
        TEST_CHECK(nd == 0,
                   "Pillow resize %dx%dx%d -> %dx%d (%s): %zu of %zu bytes differ (max %d)",
                   w, h, C, w2, h2, f[8], nd, out_n, diff);
        free(got);
    }
    free(in);
    free(want);
}

static void run_clip_case(const char *dir, char **f, clip_preprocess_ws *ws) {
    int w = atoi(f[2]), h = atoi(f[3]), R = atoi(f[4]), w2 = atoi(f[5]), h2 = atoi(f[6]);
    int top = atoi(f[7]), left = atoi(f[8]);
    size_t crop_n = (size_t)R * (size_t)R * 3;
    uint8_t *in = read_ref(dir, f[1], (size_t)w * (size_t)h * 3);
    uint8_t *want_crop = read_ref(dir, f[9], crop_n);
    float *want_pix = (float *)read_ref(dir, f[10], crop_n * sizeof(float));
    if (in && want_crop && want_pix) {
        float *pix = XNEW(pix, crop_n);
        clip_preprocess(pix, ws, in, w, h, R, clip_mean, clip_std);
        TEST_CHECK(ws->resized_w == w2 && ws->resized_h == h2 && ws->crop_top == top &&
                       ws->crop_left == left,
                   "%dx%d R=%d: resized %dx%d crop (%d,%d); torchvision %dx%d (%d,%d)", w, h, R,
                   ws->resized_w, ws->resized_h, ws->crop_top, ws->crop_left, w2, h2, top, left);
        int diff;
        size_t nd = count_diff(ws->cropped, want_crop, crop_n, &diff);
        TEST_CHECK(nd == 0, "%dx%d R=%d: crop differs in %zu bytes (max %d)", w, h, R, nd, diff);
        char what[64];
        snprintf(what, sizeof what, "%dx%d R=%d pixel values", w, h, R);
        check_floats(pix, want_pix, crop_n, 1e-6, what);
        free(pix);
    }
    free(in);
    free(want_crop);
    free(want_pix);
}

static void test_pillow(void) {
    char *dir = make_reference("resize");
    if (!dir) return;
    char *mpath = bmc_path_join(dir, "manifest.tsv");
    FILE *m = fopen(mpath, "r");
    TEST_CHECK(m != NULL, "cannot open %s", mpath);
    clip_preprocess_ws ws = {0};
    char line[1024], *f[16];
    int n_resize = 0, n_clip = 0;
    while (m && fgets(line, sizeof line, m)) {
        int nf = split_tabs(line, f, 16);
        if (nf == 9 && strcmp(f[0], "resize") == 0) {
            run_resize_case(dir, f);
            n_resize++;
        } else if (nf == 11 && strcmp(f[0], "clip") == 0) {
            run_clip_case(dir, f, &ws);
            n_clip++;
        } else {
            TEST_CHECK(0, "bad manifest line (%d fields)", nf);
        }
    }
    TEST_CHECK(n_resize >= 40 && n_clip >= 20, "only %d resize and %d clip cases", n_resize,
               n_clip);
    printf("compared %d resizes and %d CLIP transforms with Pillow\n", n_resize, n_clip);
    if (m) fclose(m);
    clip_preprocess_ws_free(&ws);
    free(mpath);
    bmc_remove_tree(dir);
    free(dir);
}

/* ---- image loading --------------------------------------------------------------------- */

static void test_io(void) {
    char *dir = make_reference("io");
    if (!dir) return;
    char *mpath = bmc_path_join(dir, "manifest.tsv");
    FILE *m = fopen(mpath, "r");
    TEST_CHECK(m != NULL, "cannot open %s", mpath);
    char line[1024], *f[16];
    int n_load = 0, n_reject = 0;
    while (m && fgets(line, sizeof line, m)) {
        int nf = split_tabs(line, f, 16);
        char *path = bmc_path_join(dir, nf > 1 ? f[1] : "");
        uint8_t *px = NULL;
        int w = -1, h = -1;
        bmc_err e = {0};
        int rc = image_load_rgb(path, &px, &w, &h, &e);
        if (nf == 5 && strcmp(f[0], "load") == 0) {
            int ew = atoi(f[2]), eh = atoi(f[3]);
            TEST_CHECK(rc == 0 && w == ew && h == eh, "%s: rc %d, %dx%d (want %dx%d): %s", f[1],
                       rc, w, h, ew, eh, e.msg);
            uint8_t *want = read_ref(dir, f[4], (size_t)ew * (size_t)eh * 3);
            if (rc == 0 && want) {
                int diff;
                size_t nd = count_diff(px, want, (size_t)ew * (size_t)eh * 3, &diff);
                TEST_CHECK(nd == 0, "%s: %zu bytes differ from Pillow's decode (max %d)", f[1], nd,
                           diff);
            }
            free(want);
            n_load++;
        } else if (nf >= 3 && strcmp(f[0], "reject") == 0) {
            TEST_CHECK(rc == -1 && px == NULL && e.failed, "%s: loaded, but must be refused", f[1]);
            char *all = bmc_xasprintf("%s | %s", e.msg, e.hint);
            TEST_CHECK(strstr(e.msg, path) != NULL, "%s: message does not name the file: %s",
                       f[1], all);
            for (int i = 2; i < nf; i++)
                TEST_CHECK(strstr(all, f[i]) != NULL, "%s: message lacks '%s': %s", f[1], f[i],
                           all);
            printf("  %-18s -> %s\n", f[1], e.msg + strlen(dir) + 1);
            free(all);
            n_reject++;
        } else {
            TEST_CHECK(0, "bad manifest line (%d fields)", nf);
        }
        free(px);
        free(path);
    }
    TEST_CHECK(n_load >= 10 && n_reject >= 14, "only %d load and %d reject cases", n_load,
               n_reject);
    if (m) fclose(m);
    free(mpath);
    bmc_remove_tree(dir);
    free(dir);
}

static void touch(const char *dir, const char *name) {
    char *p = bmc_path_join(dir, name);
    FILE *fp = fopen(p, "w");
    TEST_CHECK(fp != NULL, "cannot create %s", p);
    if (fp) fclose(fp);
    free(p);
}

static void test_folder(void) {
    char tmpl[] = "/tmp/bmc-clip-folder-XXXXXX";
    char *dir = mkdtemp(tmpl);
    TEST_CHECK(dir != NULL, "mkdtemp failed");
    if (!dir) return;
    char **paths = NULL;
    size_t n = 99;
    bmc_err e = {0};
    TEST_CHECK(image_list_folder(dir, &paths, &n, &e) == -1 && paths == NULL && n == 0,
               "empty folder accepted");
    char *want_msg = bmc_xasprintf("no PNG/JPEG images in %s", dir);
    TEST_STREQ(e.msg, want_msg);
    free(want_msg);
    touch(dir, "notes.txt");
    touch(dir, ".hidden.png");
    bmc_err e2 = {0};
    TEST_CHECK(image_list_folder(dir, &paths, &n, &e2) == -1, "folder without images accepted");
    const char *names[] = {"b.jpg", "a.PNG", "c.JPEG", "z.jpeg", "B.png", "x.png.bak", "jpg"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) touch(dir, names[i]);
    char *sub = bmc_path_join(dir, "sub.png");
    TEST_CHECK(mkdir(sub, 0755) == 0, "mkdir %s", sub);
    bmc_err e3 = {0};
    int rc = image_list_folder(dir, &paths, &n, &e3);
    const char *want[] = {"B.png", "a.PNG", "b.jpg", "c.JPEG", "z.jpeg"};
    TEST_CHECK(rc == 0 && n == 5, "rc %d, %zu images: %s", rc, n, e3.msg);
    for (size_t i = 0; rc == 0 && i < n && i < 5; i++) {
        char *p = bmc_path_join(dir, want[i]);
        TEST_STREQ(paths[i], p);
        free(p);
    }
    image_list_free(paths, n);
    bmc_err e4 = {0};
    char *missing = bmc_path_join(dir, "does-not-exist");
    TEST_CHECK(image_list_folder(missing, &paths, &n, &e4) == -1 && strstr(e4.msg, missing),
               "missing folder: %s", e4.msg);
    free(missing);
    free(sub);
    bmc_remove_tree(dir);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "golden") == 0) {
        test_offsets_and_shapes();
        test_golden();
    } else if (strcmp(mode, "naive") == 0) {
        test_naive_and_windows();
    } else if (strcmp(mode, "pillow") == 0) {
        test_pillow();
    } else if (strcmp(mode, "io") == 0) {
        test_io();
    } else if (strcmp(mode, "folder") == 0) {
        test_folder();
    } else {
        fprintf(stderr, "usage: %s golden|naive|pillow|io|folder\n", argv[0]);
        return 2;
    }
    return test_summary();
}
