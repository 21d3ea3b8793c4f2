/* metrics.h — the evaluation metrics of MindEye's evaluation code, as a pure C library.
 *
 * Feature metrics (metrics.c): per-target Pearson r and R² (encoding models), per-row cosine,
 * two-way identification, top-1 retrieval over seeded draws. Image metrics (image_metrics.c):
 * torch-style bilinear resize, PixCorr, SSIM (on skimage's rgb2gray). Every public name
 * starts with metric_ (or ssim_ for SSIM's mode). Inputs are float32, sums are
 * double. No MPI, no I/O: the bmc-evaluate stage distributes the work (e.g. retrieval draws).
 * Images are planar CHW float in [0, 1] (the layout of a torch tensor), row-major.
 */
#ifndef BMC_EVAL_METRICS_H
#define BMC_EVAL_METRICS_H

#include <stdint.h>

/* ---- feature metrics (metrics.c) ---------------------------------------------------------- */

/* r[t]; pred, real [n, t] row-major. Pearson correlation of column k of pred with column k of
 * real, over the n rows. A column with zero variance in pred or real gives r = 0 (NumPy gives
 * NaN). Needs n ≥ 1, t ≥ 1. */
void metric_pearson_per_target(double *r, const float *pred, const float *real, long n, long t);

/* r2[t]; pred, real [n, t]. scikit-learn r2_score(real, pred, multioutput='raw_values'):
 * 1 − Σ(real − pred)² / Σ(real − mean(real))². A constant real column follows scikit-learn:
 * 1 when the predictions are exact, else 0. Needs n ≥ 1, t ≥ 1. */
void metric_r2_per_target(double *r2, const float *pred, const float *real, long n, long t);

/* cos[n]; a, b [n, d]. Cosine similarity of row i of a with row i of b (callers pass the
 * global token, or all tokens flattened into d). 0 when either row is all zeros. */
void metric_cosine_rows(double *cos, const float *a, const float *b, long n, long d);

/* pred, real [n, d]. MindEye's two-way identification: R[i, j] = Pearson r of real row i with
 * pred row j; for every column j the fraction of i ≠ j with R[i, j] < R[j, j]; the mean over j.
 * Rows are standardised in double and R comes from one DGEMM (n×n doubles, O(n²) memory).
 * A zero-variance row correlates 0 with everything (NumPy: NaN, which never wins). n ≥ 2. */
double metric_two_way(const float *pred, const float *real, long n, long d);

/* S[n, n]; pred, real [n, d]. S[i, j] = cosine of pred row i with real row j, i.e. the
 * similarity of the L2-normalised rows (zero rows stay zero). d is processed in blocks, so the
 * working set beyond S is O(n · block). Retrieval reads its draws from this matrix. */
void metric_cosine_matrix(double *S, const float *pred, const float *real, long n, long d);

/* The way distinct items of draw number `draw` (0, 1, …): a partial Fisher–Yates shuffle of
 * 0..n−1 driven by splitmix64 seeded with seed + draw (rejection sampling, no modulo bias);
 * deterministic across platforms. idx[way]; needs 1 ≤ way ≤ n. */
void metric_draw_items(long *idx, long n, long way, uint64_t seed, long draw);

/* One retrieval draw on the cosine matrix S [n, n] of metric_cosine_matrix: the items of
 * metric_draw_items(·, n, min(way, n), seed, draw); *image_acc = fraction of drawn pred rows
 * whose own real column has the strictly largest similarity among the drawn columns (brain →
 * image: a prediction picks its image; MindEye's "bwd"); *brain_acc = the same for real rows
 * over drawn pred rows (image → brain: an image picks its prediction; MindEye's "fwd").
 * MindEye's batchwise_cosine_similarity(Z, B) returns cos(B_r, Z_c) at [r, c] (a transpose),
 * so its fwd_sim = batchwise_cosine_similarity(brain, clip) has image rows and its top-1 per
 * row is image → brain (docs/FORMATS.md, bmc.eval). Ties count as misses. way > n is clamped
 * to n. */
void metric_retrieval_draw(double *image_acc, double *brain_acc, const double *S, long n,
                           long way, uint64_t seed, long draw);

/* The same draw item by item: items[k] (k < min(way, n)) = the k-th drawn item (the order of
 * metric_draw_items), image_hit[k] / brain_hit[k] = 1 when item k is retrieved correctly in
 * that direction, else 0. The accuracies of metric_retrieval_draw are the means of the hits.
 * Returns min(way, n). Any output may be NULL. */
long metric_retrieval_draw_hits(long *items, uint8_t *image_hit, uint8_t *brain_hit,
                                const double *S, long n, long way, uint64_t seed, long draw);

/* Mean and 95 % interval of per-draw accuracies, as MindEye: sd = population standard
 * deviation (np.std, ddof = 0), interval = mean ± z·sd/√draws with z = 1.959963984540054
 * (scipy.stats.norm.interval(0.95)). */
typedef struct metric_interval {
    double mean, lo, hi;
} metric_interval;

/* out from acc[draws] (draws ≥ 1). */
void metric_interval_of(metric_interval *out, const double *acc, long draws);

typedef struct metric_retrieval {
    metric_interval image; /* brain → image (pred row picks among real columns; MindEye bwd) */
    metric_interval brain; /* image → brain (real row picks among pred rows; MindEye fwd)    */
    long way;              /* the way actually used: min(way, n)                 */
    long draws;
} metric_retrieval;

/* out; pred, real [n, d]: top-1 retrieval over draws = 0..draws−1 of metric_retrieval_draw
 * (MindEye: way = 300, draws = 30). way > n uses way = n (then every draw is all items and
 * the interval collapses). per_draw_image / per_draw_brain [draws] may be NULL. */
void metric_retrieval_topk(metric_retrieval *out, double *per_draw_image, double *per_draw_brain,
                           const float *pred, const float *real, long n, long d, long way,
                           long draws, uint64_t seed);

/* ---- image metrics (image_metrics.c) ------------------------------------------------------ */

/* Output size of torchvision Resize(short_side) (int size): the short edge becomes
 * short_side, the long edge int(short_side · long / short) (truncation, as torchvision). */
void metric_resize_short_side_size(int *out_h, int *out_w, int in_h, int in_w, int short_side);

/* out[c, out_h, out_w]; in[c, in_h, in_w] float. torch.nn.functional.interpolate(mode=
 * 'bilinear', align_corners=False, antialias=False) — what torchvision 0.14 Resize(...,
 * BILINEAR) does on tensors. Source indices and weights are those of PyTorch's CPU kernel
 * (float scale, double coordinate, float weights); the blend is in double, so the output is
 * within float rounding of torch's. */
void metric_resize_bilinear(float *out, int out_h, int out_w, const float *in, int c, int in_h,
                           int in_w);

/* out[3, h, w] float = in[h, w, 3] uint8 / 255 (torchvision ToTensor / float()/255). */
void metric_u8_hwc_to_float_chw(float *out, const uint8_t *in, int h, int w);

/* a, b [c, h, w] (any c, typically 3 × 425 × 425 after the resize): Pearson r of the two
 * flattened images (MindEye's PixCorr, per image). 0 when either image is constant. */
double metric_pixcorr(const float *a, const float *b, int c, int h, int w);

/* How SSIM treats the gray image. */
typedef enum ssim_mode {
    /* MindEye's call ssim(rec, im, multichannel=True, ...) on a 2-D gray image: skimage then
     * takes the last axis (columns) as channels, so this is the mean over the w columns of the
     * 1-D SSIM along each column (length h). This is what MindEye's published numbers use. */
    SSIM_MINDEYE_COLUMNS = 0,
    /* The textbook 2-D SSIM: structural_similarity(gray_a, gray_b) without multichannel. */
    SSIM_2D = 1
} ssim_mode;

/* a, b [3, h, w] RGB in [0, 1]. skimage 0.19 structural_similarity(rgb2gray(a), rgb2gray(b),
 * gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0) in double:
 * Gaussian window of radius 5 (truncate 3.5, scipy 'reflect' borders), K1 = 0.01,
 * K2 = 0.03, the 5-pixel border cropped before the mean. Needs h ≥ 11 (and w ≥ 11 for
 * SSIM_2D). */
double metric_ssim(const float *a, const float *b, int h, int w, ssim_mode mode);

#endif
