/* image_metrics.c — the low-level image metrics of MindEye's evaluation (metrics.h):
 * torchvision/PyTorch bilinear resize (no antialias), skimage rgb2gray, PixCorr and SSIM
 * (skimage 0.19 structural_similarity with Gaussian weights; MindEye's per-column variant
 * and the 2-D one).
 *
 * Images are planar CHW float in [0, 1]. Not here: image decoding (stages/extract_clip's
 * image_io), the network-based metrics (AlexNet, Inception, CLIP, EffNet, SwAV).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "metrics.h"

/* ---- resize ------------------------------------------------------------------------------ */

void metric_resize_short_side_size(int *out_h, int *out_w, int in_h, int in_w, int short_side) {
    BMC_CHECK(in_h >= 1 && in_w >= 1 && short_side >= 1);
    int w_is_short = in_w <= in_h;
    long shorter = w_is_short ? in_w : in_h, longer = w_is_short ? in_h : in_w;
    int new_long = (int)((double)((long)short_side * longer) / (double)shorter);
    *out_w = w_is_short ? short_side : new_long;
    *out_h = w_is_short ? new_long : short_side;
}

/* One axis of PyTorch's linear interpolation (align_corners=False, no scale factor):
 * i0, i1 [out] source indices and l0, l1 [out] weights as ATen's CPU kernel (torch 1.13)
 * makes them, probed weight by weight: scale = in/out in float, the source coordinate
 * scale·(o + 0.5) − 0.5 in double, λ1 = float(src − i0), λ0 = 1 − λ1 in float. */
static void linear_axis(long *i0, long *i1, float *l0, float *l1, int in, int out) {
    float scale = (float)in / (float)out;
    for (int o = 0; o < out; o++) {
        if (in == out) {
            i0[o] = i1[o] = o;
            l0[o] = 1.0f;
            l1[o] = 0.0f;
            continue;
        }
        double src = (double)scale * ((double)o + 0.5) - 0.5; /* not rounded to float */
        if (src < 0.0) src = 0.0;
        long idx = (long)src;
        i0[o] = idx;
        i1[o] = idx + (idx < in - 1 ? 1 : 0);
        float lambda = (float)(src - (double)idx);
        lambda = lambda < 0.0f ? 0.0f : (lambda > 1.0f ? 1.0f : lambda);
        l1[o] = lambda;
        l0[o] = 1.0f - lambda;
    }
}

void metric_resize_bilinear(float *out, int out_h, int out_w, const float *in, int c, int in_h,
                           int in_w) {
    BMC_CHECK(out_h >= 1 && out_w >= 1 && c >= 1 && in_h >= 1 && in_w >= 1);
    long *y0 = XNEW(y0, out_h), *y1 = XNEW(y1, out_h), *x0 = XNEW(x0, out_w),
         *x1 = XNEW(x1, out_w);
    float *wy0 = XNEW(wy0, out_h), *wy1 = XNEW(wy1, out_h), *wx0 = XNEW(wx0, out_w),
          *wx1 = XNEW(wx1, out_w);
    linear_axis(y0, y1, wy0, wy1, in_h, out_h);
    linear_axis(x0, x1, wx0, wx1, in_w, out_w);
    for (int ch = 0; ch < c; ch++) {
        const float *plane = in + (size_t)ch * (size_t)in_h * (size_t)in_w;
        float *dst = out + (size_t)ch * (size_t)out_h * (size_t)out_w;
        for (int oy = 0; oy < out_h; oy++) {
            const float *r0 = plane + (size_t)y0[oy] * (size_t)in_w;
            const float *r1 = plane + (size_t)y1[oy] * (size_t)in_w;
            for (int ox = 0; ox < out_w; ox++) {
                double top = (double)wx0[ox] * r0[x0[ox]] + (double)wx1[ox] * r0[x1[ox]];
                double bot = (double)wx0[ox] * r1[x0[ox]] + (double)wx1[ox] * r1[x1[ox]];
                dst[(size_t)oy * (size_t)out_w + (size_t)ox] =
                    (float)((double)wy0[oy] * top + (double)wy1[oy] * bot);
            }
        }
    }
    free(y0), free(y1), free(x0), free(x1), free(wy0), free(wy1), free(wx0), free(wx1);
}

void metric_u8_hwc_to_float_chw(float *out, const uint8_t *in, int h, int w) {
    size_t hw = (size_t)h * (size_t)w;
    for (size_t p = 0; p < hw; p++)
        for (size_t ch = 0; ch < 3; ch++) out[ch * hw + p] = (float)in[p * 3 + ch] / 255.0f;
}

/* gray[h, w] = 0.2125 R + 0.7154 G + 0.0721 B of rgb[3, h, w] (skimage rgb2gray). */
static void rgb2gray(double *gray, const float *rgb, int h, int w) {
    size_t hw = (size_t)h * (size_t)w;
    for (size_t p = 0; p < hw; p++)
        gray[p] = (double)rgb[p] * 0.2125 + (double)rgb[hw + p] * 0.7154 +
                  (double)rgb[2 * hw + p] * 0.0721;
}

double metric_pixcorr(const float *a, const float *b, int c, int h, int w) {
    size_t m = (size_t)c * (size_t)h * (size_t)w;
    BMC_CHECK(m >= 1);
    double ma = 0.0, mb = 0.0;
    for (size_t k = 0; k < m; k++) ma += (double)a[k], mb += (double)b[k];
    ma /= (double)m, mb /= (double)m;
    double saa = 0.0, sbb = 0.0, sab = 0.0;
    for (size_t k = 0; k < m; k++) {
        double da = (double)a[k] - ma, db = (double)b[k] - mb;
        saa += da * da, sbb += db * db, sab += da * db;
    }
    return (saa > 0.0 && sbb > 0.0) ? sab / sqrt(saa * sbb) : 0.0;
}

/* ---- SSIM -------------------------------------------------------------------------------- */

enum { SSIM_RADIUS = 5 }; /* int(truncate 3.5 · sigma 1.5 + 0.5): an 11-tap window */

/* scipy.ndimage._gaussian_kernel1d(1.5, 0, 5): exp(−0.5/σ² · x²), normalised. */
static void gaussian_kernel(double kern[2 * SSIM_RADIUS + 1]) {
    const double sigma2 = 1.5 * 1.5;
    double sum = 0.0;
    for (int x = -SSIM_RADIUS; x <= SSIM_RADIUS; x++) {
        kern[x + SSIM_RADIUS] = exp(-0.5 / sigma2 * (double)(x * x));
        sum += kern[x + SSIM_RADIUS];
    }
    for (int k = 0; k < 2 * SSIM_RADIUS + 1; k++) kern[k] /= sum;
}

/* scipy 'reflect' (d c b a | a b c d | d c b a) for −n ≤ i < 2n. Kept for the full SSIM map;
 * the cropped mean never reads a reflected sample (crop = window radius). */
static long reflect_index(long i, long n) {
    if (i < 0) return -i - 1;
    if (i >= n) return 2 * n - i - 1;
    return i;
}

/* out[h, w] = in filtered along axis 0 (rows index), then along axis 1 when both_axes, as
 * scipy.ndimage.gaussian_filter (axes in order, double intermediate). tmp [h, w]. */
static void gaussian_filter(double *out, const double *in, double *tmp, int h, int w,
                            int both_axes, const double *kern) {
    double *first = both_axes ? tmp : out;
    for (long y = 0; y < h; y++) {
        double *dst = first + (size_t)y * (size_t)w;
        memset(dst, 0, (size_t)w * sizeof *dst);
        for (long k = -SSIM_RADIUS; k <= SSIM_RADIUS; k++) {
            const double *src = in + (size_t)reflect_index(y + k, h) * (size_t)w;
            double wk = kern[k + SSIM_RADIUS];
            for (long x = 0; x < w; x++) dst[x] += wk * src[x];
        }
    }
    if (!both_axes) return;
    for (long y = 0; y < h; y++) {
        const double *src = tmp + (size_t)y * (size_t)w;
        double *dst = out + (size_t)y * (size_t)w;
        for (long x = 0; x < w; x++) {
            double acc = 0.0;
            for (long k = -SSIM_RADIUS; k <= SSIM_RADIUS; k++)
                acc += kern[k + SSIM_RADIUS] * src[reflect_index(x + k, w)];
            dst[x] = acc;
        }
    }
}

double metric_ssim(const float *a, const float *b, int h, int w, ssim_mode mode) {
    int both_axes = (mode == SSIM_2D);
    BMC_CHECK(mode == SSIM_2D || mode == SSIM_MINDEYE_COLUMNS);
    BMC_CHECK(h >= 2 * SSIM_RADIUS + 1 && (!both_axes || w >= 2 * SSIM_RADIUS + 1) && w >= 1);
    size_t hw = (size_t)h * (size_t)w;
    /* One block carved into the nine planes: a single allocation per call (separate
     * megabyte-sized ones were mmapped and faulted in on every call, 5x the filter time). */
    double *block = XNEW(block, 9 * hw);
    double *x = block, *y = x + hw, *prod = y + hw, *tmp = prod + hw;
    double *ux = tmp + hw, *uy = ux + hw, *uxx = uy + hw, *uyy = uxx + hw, *uxy = uyy + hw;
    double kern[2 * SSIM_RADIUS + 1];
    gaussian_kernel(kern);
    rgb2gray(x, a, h, w);
    rgb2gray(y, b, h, w);
    gaussian_filter(ux, x, tmp, h, w, both_axes, kern);
    gaussian_filter(uy, y, tmp, h, w, both_axes, kern);
    for (size_t p = 0; p < hw; p++) prod[p] = x[p] * x[p];
    gaussian_filter(uxx, prod, tmp, h, w, both_axes, kern);
    for (size_t p = 0; p < hw; p++) prod[p] = y[p] * y[p];
    gaussian_filter(uyy, prod, tmp, h, w, both_axes, kern);
    for (size_t p = 0; p < hw; p++) prod[p] = x[p] * y[p];
    gaussian_filter(uxy, prod, tmp, h, w, both_axes, kern);

    const double c1 = (0.01 * 1.0) * (0.01 * 1.0), c2 = (0.03 * 1.0) * (0.03 * 1.0);
    int x_lo = both_axes ? SSIM_RADIUS : 0, x_hi = both_axes ? w - SSIM_RADIUS : w;
    double sum = 0.0;
    for (int r = SSIM_RADIUS; r < h - SSIM_RADIUS; r++)
        for (int col = x_lo; col < x_hi; col++) {
            size_t p = (size_t)r * (size_t)w + (size_t)col;
            double vx = uxx[p] - ux[p] * ux[p], vy = uyy[p] - uy[p] * uy[p];
            double vxy = uxy[p] - ux[p] * uy[p];
            double a1 = 2.0 * ux[p] * uy[p] + c1, a2 = 2.0 * vxy + c2;
            double b1 = ux[p] * ux[p] + uy[p] * uy[p] + c1, b2 = vx + vy + c2;
            sum += (a1 * a2) / (b1 * b2);
        }
    double count = (double)(h - 2 * SSIM_RADIUS) * (double)(x_hi - x_lo);
    free(block);
    return sum / count;
}
