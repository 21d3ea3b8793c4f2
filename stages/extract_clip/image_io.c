/* image_io.c — PNG (libpng) and JPEG (libjpeg) files to 8-bit RGB HWC, and folder listing.
 *
 * Both decoders report through a longjmp out of the library's error callbacks (libpng's
 * setjmp protocol, libjpeg's error_exit override) into a bmc_err that names the file; the
 * state that must survive the jump lives in a context struct owned by the caller of the
 * function that calls setjmp. JPEG "corrupt data" warnings (truncation, bad codes) are
 * errors here: libjpeg would otherwise fill the missing part with grey.
 * Not here: colour conversion (non-RGB images are refused, see image_io.h), resizing.
 */
#define _POSIX_C_SOURCE 200809L

#include "image_io.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h> /* before jerror.h, whose message list depends on jconfig.h */
#include <jerror.h>
#include <png.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "preprocess.h"

_Static_assert(IMAGE_MAX_SIDE == CLIP_MAX_IMAGE_SIDE, "image_io and preprocess size limits");

static const char *const HINT_DAMAGED =
    "the file is damaged or incomplete: copy or export it again";
static const char *const HINT_CONVERT =
    "convert it to 8-bit RGB first, for example with Pillow: "
    "Image.open(p).convert(\"RGB\").save(p2); brainmclip does not guess how to drop alpha "
    "or colour a grayscale stimulus";

/* Check the size the header announces; 0 if acceptable. */
static int check_size(const char *path, const char *fmt, unsigned long w, unsigned long h,
                      bmc_err *err) {
    if (w < 1 || h < 1 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE ||
        (size_t)w * (size_t)h > IMAGE_MAX_PIXELS)
        return bmc_err_set(err, "only images up to 65536 pixels a side and 2^28 pixels are read",
                           "%s: %s image of %lux%lu pixels is empty or too large", path, fmt,
                           w, h);
    return 0;
}

/* ---- PNG ------------------------------------------------------------------------------ */

typedef struct png_ctx {
    const char *path;
    FILE *fp;
    png_structp png;
    png_infop info;
    uint8_t *pixels; /* [h][w][3] */
    png_bytep *rows;
    int w, h;
    char msg[256]; /* libpng's last error message */
} png_ctx;

static void png_error_cb(png_structp png, png_const_charp msg) {
    png_ctx *c = (png_ctx *)png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg) {
    (void)png; /* ancillary-chunk warnings (e.g. an odd iCCP profile) do not matter here */
    (void)msg;
}

static const char *png_color_name(int color_type, int *channels) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: *channels = 1; return "grayscale";
    case PNG_COLOR_TYPE_GRAY_ALPHA: *channels = 2; return "grayscale+alpha";
    case PNG_COLOR_TYPE_RGB: *channels = 3; return "RGB";
    case PNG_COLOR_TYPE_RGB_ALPHA: *channels = 4; return "RGBA";
    case PNG_COLOR_TYPE_PALETTE: *channels = 3; return "palette";
    default: *channels = 0; return "unknown colour type";
    }
}

/* Decode c->fp into c->pixels. All state that outlives a longjmp is in *c. */
static int png_decode(png_ctx *c, bmc_err *err) {
    if (setjmp(png_jmpbuf(c->png)))
        return bmc_err_set(err, HINT_DAMAGED,
                           "%s: cannot decode PNG, the file is damaged or truncated (libpng: %s)",
                           c->path, c->msg);
    png_init_io(c->png, c->fp);
    png_read_info(c->png, c->info);
    png_uint_32 w = png_get_image_width(c->png, c->info);
    png_uint_32 h = png_get_image_height(c->png, c->info);
    int depth = png_get_bit_depth(c->png, c->info);
    int color = png_get_color_type(c->png, c->info);
    int channels;
    const char *name = png_color_name(color, &channels);
    if (color == PNG_COLOR_TYPE_PALETTE && png_get_valid(c->png, c->info, PNG_INFO_tRNS))
        return bmc_err_set(err, HINT_CONVERT,
                           "%s: PNG is a palette image with transparency (4 channels, RGBA, "
                           "once expanded); brainmclip reads 8-bit RGB images (3 channels)",
                           c->path);
    if (channels != 3)
        return bmc_err_set(err, HINT_CONVERT,
                           "%s: PNG is %d-bit %s (%d channel%s); brainmclip reads 8-bit RGB "
                           "images (3 channels)",
                           c->path, depth, name, channels, channels == 1 ? "" : "s");
    if (depth != 8 && color == PNG_COLOR_TYPE_RGB)
        return bmc_err_set(err, HINT_CONVERT,
                           "%s: PNG is %d-bit RGB (%d bits per channel); brainmclip reads 8-bit "
                           "RGB images",
                           c->path, depth, depth);
    if (check_size(c->path, "PNG", (unsigned long)w, (unsigned long)h, err)) return -1;
    /* Deflate expands at most 1032:1: the stored rows (a filter byte each, then 1 palette
     * index or 3 samples a pixel at the header's bit depth) must fit what the file's
     * compressed bytes can hold. */
    int64_t bytes = bmc_file_size(c->path);
    uint64_t row_bits = (uint64_t)w * (color == PNG_COLOR_TYPE_PALETTE ? 1 : 3) * (uint64_t)depth;
    if (bytes >= 0 && (uint64_t)h * (1 + (row_bits + 7) / 8) > 1032 * (uint64_t)bytes)
        return bmc_err_set(err, HINT_DAMAGED,
                           "%s: PNG header claims %lux%lu pixels, more than its %lld bytes can "
                           "hold", c->path, (unsigned long)w, (unsigned long)h, (long long)bytes);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(c->png);
    (void)png_set_interlace_handling(c->png);
    png_read_update_info(c->png, c->info);
    size_t row_bytes = (size_t)w * 3;
    BMC_CHECK(png_get_rowbytes(c->png, c->info) == row_bytes);
    c->w = (int)w;
    c->h = (int)h;
    c->pixels = xmalloc(bmc_mul_size(row_bytes, (size_t)h));
    c->rows = XNEW(c->rows, h);
    for (png_uint_32 y = 0; y < h; y++) c->rows[y] = c->pixels + (size_t)y * row_bytes;
    png_read_image(c->png, c->rows);
    png_read_end(c->png, NULL);
    return 0;
}

static int load_png(const char *path, FILE *fp, uint8_t **pixels, int *w, int *h,
                    bmc_err *err) {
    png_ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.fp = fp;
    c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_error_cb, png_warning_cb);
    if (c.png) c.info = png_create_info_struct(c.png);
    if (!c.png || !c.info) BMC_BUG("libpng could not allocate its read structures");
    int rc = png_decode(&c, err);
    png_destroy_read_struct(&c.png, &c.info, NULL);
    free(c.rows);
    if (rc != 0) {
        free(c.pixels);
        return -1;
    }
    *pixels = c.pixels;
    *w = c.w;
    *h = c.h;
    return 0;
}

/* ---- JPEG ----------------------------------------------------------------------------- */

typedef struct jpeg_ctx {
    struct jpeg_error_mgr mgr; /* first, so cinfo->err is also the context */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    const char *path;
    uint8_t *pixels; /* [h][w][3] */
    int w, h;
} jpeg_ctx;

static void jpeg_error_exit_cb(j_common_ptr cinfo) {
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, c->msg);
    longjmp(c->jump, 1);
}

/* Warnings that mean the image data itself is missing or damaged become errors. */
static void jpeg_emit_message_cb(j_common_ptr cinfo, int level) {
    if (level >= 0) return; /* trace messages */
    int code = cinfo->err->msg_code;
    int damaged = code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER ||
                  code == JWRN_HUFF_BAD_CODE || code == JWRN_MUST_RESYNC;
#if JPEG_LIB_VERSION >= 70 || defined(D_ARITH_CODING_SUPPORTED) || defined(C_ARITH_CODING_SUPPORTED)
    damaged = damaged || code == JWRN_ARITH_BAD_CODE;
#endif
    if (damaged) jpeg_error_exit_cb(cinfo);
    cinfo->err->num_warnings++;
}

static void jpeg_output_message_cb(j_common_ptr cinfo) {
    (void)cinfo; /* every message reaches the user through bmc_err instead */
}

static int jpeg_decode(jpeg_ctx *c, struct jpeg_decompress_struct *cinfo, FILE *fp,
                       bmc_err *err) {
    if (setjmp(c->jump))
        return bmc_err_set(err, HINT_DAMAGED,
                           "%s: cannot decode JPEG, the file is damaged or truncated (libjpeg: %s)",
                           c->path, c->msg);
    jpeg_create_decompress(cinfo);
    jpeg_stdio_src(cinfo, fp);
    (void)jpeg_read_header(cinfo, TRUE);
    int comps = cinfo->num_components;
    J_COLOR_SPACE cs = cinfo->jpeg_color_space;
    if (cs == JCS_GRAYSCALE || cs == JCS_CMYK || cs == JCS_YCCK || comps != 3)
        return bmc_err_set(err, HINT_CONVERT,
                           "%s: JPEG is %s (%d channel%s); brainmclip reads 8-bit RGB images "
                           "(3 channels)",
                           c->path,
                           cs == JCS_GRAYSCALE ? "grayscale"
                           : cs == JCS_CMYK    ? "CMYK"
                           : cs == JCS_YCCK    ? "YCCK (CMYK)"
                                               : "in an unsupported colour space",
                           comps, comps == 1 ? "" : "s");
    if (check_size(c->path, "JPEG", (unsigned long)cinfo->image_width,
                   (unsigned long)cinfo->image_height, err))
        return -1;
    cinfo->out_color_space = JCS_RGB; /* libjpeg's defaults otherwise, as Pillow uses them */
    (void)jpeg_start_decompress(cinfo);
    BMC_CHECK(cinfo->output_components == 3);
    c->w = (int)cinfo->output_width;
    c->h = (int)cinfo->output_height;
    size_t row_bytes = (size_t)c->w * 3;
    c->pixels = xmalloc(bmc_mul_size(row_bytes, (size_t)c->h));
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = c->pixels + (size_t)cinfo->output_scanline * row_bytes;
        (void)jpeg_read_scanlines(cinfo, &row, 1);
    }
    (void)jpeg_finish_decompress(cinfo);
    return 0;
}

static int load_jpeg(const char *path, FILE *fp, uint8_t **pixels, int *w, int *h,
                     bmc_err *err) {
    struct jpeg_decompress_struct cinfo;
    jpeg_ctx c;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&c, 0, sizeof c);
    c.path = path;
    cinfo.err = jpeg_std_error(&c.mgr);
    c.mgr.error_exit = jpeg_error_exit_cb;
    c.mgr.emit_message = jpeg_emit_message_cb;
    c.mgr.output_message = jpeg_output_message_cb;
    int rc = jpeg_decode(&c, &cinfo, fp, err);
    jpeg_destroy_decompress(&cinfo);
    if (rc != 0) {
        free(c.pixels);
        return -1;
    }
    *pixels = c.pixels;
    *w = c.w;
    *h = c.h;
    return 0;
}

/* ---- dispatch -------------------------------------------------------------------------- */

int image_load_rgb(const char *path, uint8_t **pixels, int *w, int *h, bmc_err *err) {
    BMC_CHECK(path != NULL && pixels != NULL && w != NULL && h != NULL);
    *pixels = NULL;
    *w = *h = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return bmc_err_set(err, "check the path and its permissions", "%s: cannot open image: %s",
                           path, strerror(errno));
    unsigned char sig[8] = {0};
    size_t got = fread(sig, 1, sizeof sig, fp);
    rewind(fp);
    int rc;
    if (got == 8 && png_sig_cmp(sig, 0, 8) == 0) {
        rc = load_png(path, fp, pixels, w, h, err);
    } else if (got >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF) {
        rc = load_jpeg(path, fp, pixels, w, h, err);
    } else if (got == 0) {
        rc = bmc_err_set(err, HINT_DAMAGED, "%s: image file is empty", path);
    } else {
        rc = bmc_err_set(err, "only PNG and JPEG images are read; convert other formats first",
                         "%s: not a PNG or JPEG file (unrecognised signature)", path);
    }
    fclose(fp);
    return rc;
}

/* ---- folders --------------------------------------------------------------------------- */

static int has_image_extension(const char *name) {
    static const char *const exts[] = {".png", ".jpg", ".jpeg"};
    size_t len = strlen(name);
    for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
        size_t el = strlen(exts[e]);
        if (len <= el) continue;
        const char *tail = name + len - el;
        size_t i = 0;
        while (i < el && tolower((unsigned char)tail[i]) == exts[e][i]) i++;
        if (i == el) return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int image_list_folder(const char *dir, char ***paths, size_t *n, bmc_err *err) {
    BMC_CHECK(dir != NULL && paths != NULL && n != NULL);
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return bmc_err_set(err, "check that the image folder exists and is readable",
                           "%s: cannot read image folder: %s", dir, strerror(errno));
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || !has_image_extension(ent->d_name)) continue;
        char *full = bmc_path_join(dir, ent->d_name);
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            continue;
        }
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            names = xrealloc(names, bmc_mul_size(cap, sizeof *names));
        }
        names[count++] = full;
    }
    closedir(d);
    if (count == 0) {
        free(names);
        return bmc_err_set(err, "put the stimuli there as *.png, *.jpg or *.jpeg files",
                           "no PNG/JPEG images in %s", dir);
    }
    qsort(names, count, sizeof *names, cmp_str);
    *paths = names;
    *n = count;
    return 0;
}

void image_list_free(char **paths, size_t n) {
    if (!paths) return;
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
}
