/* preprocess.h — CLIP image preprocessing, bit-exact with OpenAI CLIP's `_transform(R)`:
 * Resize(R, bicubic) → CenterCrop(R) → ToTensor → Normalize (torchvision 0.14 + Pillow 9.4).
 *
 * The resize is Pillow's 8-bit `ImagingResample` BICUBIC (libImaging/Resample.c): per-axis
 * coefficient tables in double, 22-bit fixed-point taps rounded away from zero, a 2^21
 * rounding offset, a floor shift and a clamp to 0..255 after each pass, horizontal pass
 * first into a uint8 image, each pass skipped when its size does not change. The centre crop
 * rounds its offsets half to even (Python's round). Normalisation is float32 arithmetic.
 * Not here: decoding files (image_io.h), the ViT (vit.h), converting colour modes.
 */
#ifndef BMC_CLIP_PREPROCESS_H
#define BMC_CLIP_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

/* Largest image side and CLIP resolution accepted, so every size below fits an int. */
#define CLIP_MAX_IMAGE_SIDE 65536
#define CLIP_MAX_RESOLUTION 4096

/* OpenAI CLIP's normalisation constants (float32). */
extern const float clip_mean[3];
extern const float clip_std[3];

/* Output size of Resize(R) for a w×h image (README §5.1): the shorter side becomes R, the
 * longer one floor(R·long/short), in integer arithmetic. w2 == w && h2 == h means "no resize".
 * Requires 1 ≤ w, h ≤ CLIP_MAX_IMAGE_SIDE and 1 ≤ R ≤ CLIP_MAX_RESOLUTION. */
void clip_resize_shape(int w, int h, int R, int *w2, int *h2);

/* Top-left offset of CenterCrop(R) inside a w2×h2 image: round((h2-R)/2) and
 * round((w2-R)/2) with ties to even (torchvision's int(round(...))). Requires w2, h2 ≥ R. */
void clip_center_crop_offsets(int w2, int h2, int R, int *top, int *left);

/* The 8-bit Pillow-BICUBIC coefficients of one axis, in_size → out_size, for the output
 * indices first..first+count-1 (a window of the full axis). Reused between images of the
 * same size: clip_axis_prepare recomputes only when a parameter changes. */
typedef struct clip_axis {
    int in_size, out_size, first, count; /* what the tables hold (count 0 = nothing)        */
    int ksize;                           /* taps per output (Pillow's ceil(support)*2+1)     */
    int *bounds;                         /* [count][2]: first input index, number of taps    */
    int32_t *coeffs;                     /* [count][ksize]: 22-bit fixed-point taps          */
    double *work;                        /* [ksize]: double taps of one output               */
    size_t cap_bounds, cap_coeffs, cap_work;
} clip_axis;

/* Reusable buffers of the resize and of clip_preprocess, so the hot loop does not allocate
 * per image. Zero-initialise it (`clip_preprocess_ws ws = {0};`) and release it with
 * clip_preprocess_ws_free. After clip_preprocess, `cropped` holds the R×R×3 crop and
 * resized_w/resized_h/crop_top/crop_left describe what was done. Not thread-safe: one
 * workspace per thread. */
typedef struct clip_preprocess_ws {
    clip_axis horiz, vert;
    uint8_t *tmp;      /* horizontal-pass result (rows needed by the vertical pass only)   */
    size_t cap_tmp;
    uint8_t *cropped;  /* [R][R][3] after clip_preprocess                                 */
    size_t cap_cropped;
    int resized_w, resized_h, crop_top, crop_left;
} clip_preprocess_ws;

void clip_preprocess_ws_free(clip_preprocess_ws *ws);

/* out [h2][w2][channels] = Pillow's `img.resize((w2, h2), Image.BICUBIC)` of in [h][w][channels]
 * (HWC, row-major), for 1..4 interleaved 8-bit channels resampled independently (Pillow's
 * "L" and "RGB" modes; Pillow premultiplies alpha for "LA"/"RGBA", which this does not).
 * Bit-exact with Pillow 9.4.0. Allocates its own temporary buffers. */
void pil_resize_bicubic_u8(uint8_t *out, int w2, int h2, const uint8_t *in, int w, int h,
                           int channels);

/* out [oh][ow][channels] = the window rows y0..y0+oh-1, columns x0..x0+ow-1 of
 * pil_resize_bicubic_u8(w2, h2) of in, computing only what the window needs (identical
 * values). The window must lie inside w2×h2. Buffers come from ws. */
void pil_resize_bicubic_window_u8(uint8_t *out, clip_preprocess_ws *ws, const uint8_t *in,
                                  int w, int h, int channels, int w2, int h2, int x0, int y0,
                                  int ow, int oh);

/* out [h2][w2][channels]: a straightforward double-precision twin of pil_resize_bicubic_u8
 * (filter evaluated per output pixel, no tables, no pass skipping beyond Pillow's own, the
 * same fixed-point rounding). Slow; for tests only. */
void pil_resize_bicubic_u8_naive(uint8_t *out, int w2, int h2, const uint8_t *in, int w,
                                 int h, int channels);

/* out [R][R][channels] = in [h2][w2][channels] cropped at clip_center_crop_offsets.
 * *top and *left (may be NULL) receive the offsets. Requires w2, h2 ≥ R. */
void clip_center_crop_u8(uint8_t *out, int *top, int *left, const uint8_t *in, int w2, int h2,
                         int R, int channels);

/* out [3][R][R] (CHW float32) = ToTensor + Normalize of in [R][R][3] (HWC uint8):
 * x = (float)u8 / 255.0f, then (x - mean[c]) / std[c], each a single float32 operation
 * (no reciprocal, no fused multiply-add), exactly like torchvision. */
void clip_to_pixel_values(float *out, const uint8_t *in, int R, const float mean[3],
                          const float std[3]);

/* out [3][R][R] = the whole CLIP transform of the RGB image img [h][w][3]: resize (only the
 * crop window is computed), centre crop, ToTensor, Normalize. Uses and fills ws. Requires
 * 1 ≤ w, h ≤ CLIP_MAX_IMAGE_SIDE and 1 ≤ R ≤ CLIP_MAX_RESOLUTION (callers validate image
 * sizes with image_io's loaders, which enforce the same limit). */
void clip_preprocess(float *out, clip_preprocess_ws *ws, const uint8_t *img, int w, int h,
                     int R, const float mean[3], const float std[3]);

#endif
