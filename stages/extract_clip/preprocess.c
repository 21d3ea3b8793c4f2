/* preprocess.c — CLIP preprocessing, bit-exact with Pillow 9.4's 8-bit BICUBIC resize, the
 * ties-to-even centre crop and torchvision's float32 ToTensor + Normalize (preprocess.h).
 *
 * Resize follows libImaging/Resample.c line by line: precompute_coeffs (double taps,
 * renormalised at the borders), normalize_coeffs_8bpc (22-bit fixed point, away from zero),
 * ImagingResampleHorizontal/Vertical_8bpc (int32 sums from 2^21, clip8). The windowed entry
 * computes only the output pixels a crop keeps; every pixel it computes equals Pillow's.
 * Not here: file decoding, colour conversion, the ViT.
 */
#include "preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"

/* Floating-point contraction (FMA) would change the double taps and the float32 pixel
 * values; GCC ignores the standard pragma, so it gets its own. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif
#if defined(__FAST_MATH__)
#error "preprocess.c must not be compiled with -ffast-math: CLIP preprocessing is bit-exact"
#endif

const float clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
const float clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};

#define PRECISION_BITS 22 /* Pillow: 32 - 8 - 2 */

/* ---- sizes and offsets ------------------------------------------------------------- */

void clip_resize_shape(int w, int h, int R, int *w2, int *h2) {
    BMC_CHECK(w >= 1 && h >= 1 && w <= CLIP_MAX_IMAGE_SIDE && h <= CLIP_MAX_IMAGE_SIDE);
    BMC_CHECK(R >= 1 && R <= CLIP_MAX_RESOLUTION);
    if (w <= h) {
        *w2 = R;
        *h2 = (int)((int64_t)R * h / w);
    } else {
        *h2 = R;
        *w2 = (int)((int64_t)R * w / h);
    }
}

/* round(d / 2) with ties to even, for d ≥ 0 (Python's round of a half-integer). */
static int half_round_even(int d) {
    if (d % 2 == 0) return d / 2;
    int q = (d - 1) / 2;
    return (q % 2 == 0) ? q : q + 1;
}

void clip_center_crop_offsets(int w2, int h2, int R, int *top, int *left) {
    BMC_CHECK(R >= 1 && w2 >= R && h2 >= R);
    *top = half_round_even(h2 - R);
    *left = half_round_even(w2 - R);
}

/* ---- Pillow's coefficients ---------------------------------------------------------- */

/* Pillow's bicubic_filter, a = -0.5, written with the same operation order. */
static double bicubic_filter(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* Pillow's normalize_coeffs_8bpc for one tap. */
static int32_t fixed_tap(double w) {
    if (w < 0) return (int32_t)(-0.5 + w * (1 << PRECISION_BITS));
    return (int32_t)(0.5 + w * (1 << PRECISION_BITS));
}

/* Pillow's clip8: the shifted sum clamped to 0..255. */
static uint8_t clip8(int32_t sum) {
    if (sum >= (1 << PRECISION_BITS << 8)) return 255;
    if (sum <= 0) return 0;
    return (uint8_t)(sum >> PRECISION_BITS);
}

static void *grow(void *p, size_t *cap, size_t n, size_t elem) {
    size_t need = bmc_mul_size(n, elem);
    if (need <= *cap && p != NULL) return p;
    *cap = need;
    return xrealloc(p, need > 0 ? need : 1);
}

/* Fill the tables of axis for outputs first..first+count-1 of in_size → out_size, exactly as
 * Pillow's precompute_coeffs + normalize_coeffs_8bpc (box = the whole axis). */
static void clip_axis_prepare(clip_axis *ax, int in_size, int out_size, int first, int count) {
    BMC_CHECK(in_size >= 1 && out_size >= 1 && first >= 0 && count >= 1);
    BMC_CHECK(first + count <= out_size);
    if (ax->count == count && ax->in_size == in_size && ax->out_size == out_size &&
        ax->first == first)
        return;
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale; /* bicubic support is 2 */
    double ss = 1.0 / filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    ax->bounds = grow(ax->bounds, &ax->cap_bounds, (size_t)count * 2, sizeof *ax->bounds);
    ax->coeffs = grow(ax->coeffs, &ax->cap_coeffs, bmc_mul_size((size_t)count, (size_t)ksize),
                      sizeof *ax->coeffs);
    ax->work = grow(ax->work, &ax->cap_work, (size_t)ksize, sizeof *ax->work);
    for (int o = 0; o < count; o++) {
        int xx = first + o;
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        BMC_CHECK(xmax >= 1 && xmax <= ksize);
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            double w = bicubic_filter((x + xmin - center + 0.5) * ss);
            ax->work[x] = w;
            ww += w;
        }
        int32_t *k = ax->coeffs + (size_t)o * (size_t)ksize;
        for (int x = 0; x < xmax; x++) {
            double w = ax->work[x];
            if (ww != 0.0) w /= ww;
            k[x] = fixed_tap(w);
        }
        for (int x = xmax; x < ksize; x++) k[x] = 0;
        ax->bounds[2 * o] = xmin;
        ax->bounds[2 * o + 1] = xmax;
    }
    ax->in_size = in_size;
    ax->out_size = out_size;
    ax->first = first;
    ax->count = count;
    ax->ksize = ksize;
}

static void clip_axis_free(clip_axis *ax) {
    free(ax->bounds);
    free(ax->coeffs);
    free(ax->work);
    memset(ax, 0, sizeof *ax);
}

void clip_preprocess_ws_free(clip_preprocess_ws *ws) {
    if (ws == NULL) return;
    clip_axis_free(&ws->horiz);
    clip_axis_free(&ws->vert);
    free(ws->tmp);
    free(ws->cropped);
    memset(ws, 0, sizeof *ws);
}

/* ---- the two passes ------------------------------------------------------------------ */

/* dst [rows][ax->count][C] (row stride dst_stride bytes) = horizontal pass of the source
 * rows src_row0.. of src [.][w][C] (Pillow's ImagingResampleHorizontal_8bpc). */
static void resample_horizontal(uint8_t *dst, size_t dst_stride, const uint8_t *src, int w,
                                int C, int src_row0, int rows, const clip_axis *ax) {
    size_t src_stride = (size_t)w * (size_t)C;
    for (int r = 0; r < rows; r++) {
        const uint8_t *in_row = src + (size_t)(src_row0 + r) * src_stride;
        uint8_t *out_row = dst + (size_t)r * dst_stride;
        for (int o = 0; o < ax->count; o++) {
            int xmin = ax->bounds[2 * o], n = ax->bounds[2 * o + 1];
            const int32_t *k = ax->coeffs + (size_t)o * (size_t)ax->ksize;
            const uint8_t *p = in_row + (size_t)xmin * (size_t)C;
            int32_t ss[4] = {1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1),
                             1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1)};
            for (int x = 0; x < n; x++, p += C)
                for (int c = 0; c < C; c++) ss[c] += (int32_t)p[c] * k[x];
            for (int c = 0; c < C; c++) out_row[(size_t)o * (size_t)C + (size_t)c] = clip8(ss[c]);
        }
    }
}

/* dst [ax->count][cols][C] = vertical pass over src rows (Pillow's
 * ImagingResampleVertical_8bpc); src (row stride src_stride bytes) starts at input row
 * src_row0, and its first column is the first output column. */
static void resample_vertical(uint8_t *dst, int cols, int C, const uint8_t *src,
                              size_t src_stride, int src_row0, const clip_axis *ax) {
    size_t dst_stride = (size_t)cols * (size_t)C;
    for (int o = 0; o < ax->count; o++) {
        int ymin = ax->bounds[2 * o] - src_row0, n = ax->bounds[2 * o + 1];
        const int32_t *k = ax->coeffs + (size_t)o * (size_t)ax->ksize;
        uint8_t *out_row = dst + (size_t)o * dst_stride;
        for (int xx = 0; xx < cols; xx++) {
            const uint8_t *p = src + (size_t)ymin * src_stride + (size_t)xx * (size_t)C;
            int32_t ss[4] = {1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1),
                             1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1)};
            for (int y = 0; y < n; y++, p += src_stride)
                for (int c = 0; c < C; c++) ss[c] += (int32_t)p[c] * k[y];
            for (int c = 0; c < C; c++) out_row[(size_t)xx * (size_t)C + (size_t)c] = clip8(ss[c]);
        }
    }
}

void pil_resize_bicubic_window_u8(uint8_t *out, clip_preprocess_ws *ws, const uint8_t *in,
                                  int w, int h, int channels, int w2, int h2, int x0, int y0,
                                  int ow, int oh) {
    BMC_CHECK(out != NULL && ws != NULL && in != NULL);
    BMC_CHECK(channels >= 1 && channels <= 4 && w >= 1 && h >= 1 && w2 >= 1 && h2 >= 1);
    BMC_CHECK(x0 >= 0 && y0 >= 0 && ow >= 1 && oh >= 1 && x0 + ow <= w2 && y0 + oh <= h2);
    const int C = channels;
    const size_t in_stride = (size_t)w * (size_t)C, out_stride = (size_t)ow * (size_t)C;
    int need_h = w2 != w, need_v = h2 != h;

    /* Input rows the vertical pass reads (Pillow's ybox_first / ybox_last). */
    int row_first = y0, row_end = y0 + oh;
    if (need_v) {
        clip_axis_prepare(&ws->vert, h, h2, y0, oh);
        row_first = ws->vert.bounds[0];
        row_end = ws->vert.bounds[2 * (oh - 1)] + ws->vert.bounds[2 * (oh - 1) + 1];
    }
    if (need_h) clip_axis_prepare(&ws->horiz, w, w2, x0, ow);

    if (need_h && !need_v) {
        resample_horizontal(out, out_stride, in, w, C, y0, oh, &ws->horiz);
    } else if (need_h && need_v) {
        int rows = row_end - row_first;
        ws->tmp = grow(ws->tmp, &ws->cap_tmp, bmc_mul_size((size_t)rows, out_stride), 1);
        resample_horizontal(ws->tmp, out_stride, in, w, C, row_first, rows, &ws->horiz);
        resample_vertical(out, ow, C, ws->tmp, out_stride, row_first, &ws->vert);
    } else if (need_v) {
        /* No horizontal pass: read the input's columns x0.. directly. */
        resample_vertical(out, ow, C, in + (size_t)x0 * (size_t)C, in_stride, 0, &ws->vert);
    } else {
        for (int r = 0; r < oh; r++)
            memcpy(out + (size_t)r * out_stride,
                   in + (size_t)(y0 + r) * in_stride + (size_t)x0 * (size_t)C, out_stride);
    }
}

void pil_resize_bicubic_u8(uint8_t *out, int w2, int h2, const uint8_t *in, int w, int h,
                           int channels) {
    clip_preprocess_ws ws = {0};
    pil_resize_bicubic_window_u8(out, &ws, in, w, h, channels, w2, h2, 0, 0, w2, h2);
    clip_preprocess_ws_free(&ws);
}

/* ---- the naive twin (tests only) ----------------------------------------------------- */

/* floor(a / 2^22) for any sign, written without shifts. */
static int64_t floor_div_fixed(int64_t a) {
    const int64_t d = (int64_t)1 << PRECISION_BITS;
    return a >= 0 ? a / d : -((-a + d - 1) / d);
}

/* Output i of one axis in_size → out_size, where input j is line[j * step]: the taps are
 * evaluated on the spot, then quantised and summed in int64. */
static uint8_t naive_sample(const uint8_t *line, size_t step, int in_size, int out_size,
                            int i) {
    double scale = (double)in_size / (double)out_size;
    double filterscale = scale > 1.0 ? scale : 1.0;
    double center = ((double)i + 0.5) * scale;
    double lo = center - 2.0 * filterscale + 0.5, hi = center + 2.0 * filterscale + 0.5;
    int j0 = (int)lo, j1 = (int)hi; /* C casts truncate, as in Pillow */
    if (j0 < 0) j0 = 0;
    if (j1 > in_size) j1 = in_size;
    double total = 0.0;
    for (int j = j0; j < j1; j++)
        total += bicubic_filter(((double)j - center + 0.5) * (1.0 / filterscale));
    int64_t acc = (int64_t)1 << (PRECISION_BITS - 1);
    for (int j = j0; j < j1; j++) {
        double wj = bicubic_filter(((double)j - center + 0.5) * (1.0 / filterscale));
        if (total != 0.0) wj = wj / total;
        acc += (int64_t)line[(size_t)j * step] * (int64_t)fixed_tap(wj);
    }
    int64_t v = floor_div_fixed(acc);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

void pil_resize_bicubic_u8_naive(uint8_t *out, int w2, int h2, const uint8_t *in, int w,
                                 int h, int channels) {
    BMC_CHECK(channels >= 1 && channels <= 4 && w >= 1 && h >= 1 && w2 >= 1 && h2 >= 1);
    size_t C = (size_t)channels;
    /* Horizontal pass over every input row into a full h × w2 uint8 image. */
    uint8_t *mid = XNEW(mid, bmc_mul_size(bmc_mul_size((size_t)h, (size_t)w2), C));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w2; x++)
            for (size_t c = 0; c < C; c++) {
                const uint8_t *line = in + ((size_t)y * (size_t)w) * C + c;
                mid[((size_t)y * (size_t)w2 + (size_t)x) * C + c] =
                    w2 == w ? line[(size_t)x * C] : naive_sample(line, C, w, w2, x);
            }
    /* Vertical pass over the uint8 intermediate. */
    for (int y = 0; y < h2; y++)
        for (int x = 0; x < w2; x++)
            for (size_t c = 0; c < C; c++) {
                const uint8_t *column = mid + (size_t)x * C + c;
                out[((size_t)y * (size_t)w2 + (size_t)x) * C + c] =
                    h2 == h ? column[(size_t)y * (size_t)w2 * C]
                            : naive_sample(column, (size_t)w2 * C, h, h2, y);
            }
    free(mid);
}

/* ---- crop, normalise, compose ------------------------------------------------------- */

void clip_center_crop_u8(uint8_t *out, int *top, int *left, const uint8_t *in, int w2, int h2,
                         int R, int channels) {
    BMC_CHECK(channels >= 1 && channels <= 4);
    int t, l;
    clip_center_crop_offsets(w2, h2, R, &t, &l);
    size_t C = (size_t)channels, row = (size_t)R * C;
    for (int y = 0; y < R; y++)
        memcpy(out + (size_t)y * row, in + ((size_t)(t + y) * (size_t)w2 + (size_t)l) * C, row);
    if (top) *top = t;
    if (left) *left = l;
}

void clip_to_pixel_values(float *out, const uint8_t *in, int R, const float mean[3],
                          const float std[3]) {
    BMC_CHECK(R >= 1);
    size_t plane = (size_t)R * (size_t)R;
    for (int c = 0; c < 3; c++) {
        const float m = mean[c], s = std[c];
        float *dst = out + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++) {
            float x = (float)in[3 * i + (size_t)c] / 255.0f; /* ToTensor: one float32 division */
            float centred = x - m;                           /* Normalize: sub_, then div_   */
            dst[i] = centred / s;
        }
    }
}

void clip_preprocess(float *out, clip_preprocess_ws *ws, const uint8_t *img, int w, int h,
                     int R, const float mean[3], const float std[3]) {
    BMC_CHECK(out != NULL && ws != NULL && img != NULL);
    int w2, h2, top, left;
    clip_resize_shape(w, h, R, &w2, &h2);
    clip_center_crop_offsets(w2, h2, R, &top, &left);
    ws->cropped = grow(ws->cropped, &ws->cap_cropped, bmc_mul_size((size_t)R * (size_t)R, 3), 1);
    pil_resize_bicubic_window_u8(ws->cropped, ws, img, w, h, 3, w2, h2, left, top, R, R);
    clip_to_pixel_values(out, ws->cropped, R, mean, std);
    ws->resized_w = w2;
    ws->resized_h = h2;
    ws->crop_top = top;
    ws->crop_left = left;
}
