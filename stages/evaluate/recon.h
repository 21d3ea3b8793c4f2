/* recon.h — retrieval-based "reconstruction" scores and the montage of bmc-evaluate.
 *
 * Each evaluation image has, per branch, a retrieved gallery image (chosen by the stage). Here
 * both are read from the stimuli (/imgBrick uint8 [N, H, W, 3] of a bmc.stimuli file or of
 * NSD's nsd_stimuli.hdf5), scored on pixels (PixCorr and SSIM of metrics.h after a 425×425
 * bilinear resize, as MindEye) and drawn side by side in a PNG (cairo). All functions are
 * collective over the communicator of recon_open and return agreed statuses.
 * Not here: choosing the retrieved images, writing bmc.eval datasets (the stage does both).
 */
#ifndef BMC_EVAL_RECON_H
#define BMC_EVAL_RECON_H

#include <mpi.h>

#include "bmc_error.h"
#include "bmc_h5io.h"
#include "metrics.h"

/* Both images are resized to this square before PixCorr and SSIM (MindEye). */
#define RECON_EVAL_SIZE 425
/* Images each rank converts per round of collective reads (bounds memory: at most
 * chunk × (1 + branches) uint8 images per rank at a time). */
#define RECON_CHUNK_DEFAULT 32

/* Montage layout (pixels): a header row of RECON_HEADER, then per image row a gap of
 * RECON_GAP and tiles of RECON_TILE × RECON_TILE separated by RECON_GAP, so the PNG is
 * (RECON_GAP + cols·(RECON_TILE + RECON_GAP)) wide and
 * (RECON_HEADER + rows·(RECON_GAP + RECON_TILE) + RECON_GAP) high, cols = 1 + branches. */
#define RECON_TILE 128
#define RECON_GAP 4
#define RECON_HEADER 22

typedef struct recon_source {      /* the stimuli: /imgBrick uint8 [N, H, W, 3] */
    bmc_h5 f;
    long n, h, w;
    long chunk; /* images per rank per round (RECON_CHUNK_DEFAULT; tests lower it) */
    long m;     /* evaluation images of the last recon_score call (0 before): the stride
                   of `retrieved` that recon_montage uses */
} recon_source;

/* Width and height in pixels of a montage of `rows` image rows and nb branches (local). */
void recon_montage_size(long rows, int nb, long *width, long *height);

/* Collective: open `path` read-only (a bmc.stimuli file, or NSD's own nsd_stimuli.hdf5 which
 * has no format attribute: open with format NULL and accept both), check /imgBrick is uint8
 * [N, H, W, 3] with H, W ≥ 11 (SSIM needs it). Agreed error naming the file otherwise. */
int recon_open(recon_source *src, MPI_Comm comm, const char *path, bmc_err *err);
/* Collective (closes the file); safe on a source that failed to open. */
void recon_close(recon_source *src);

/* Collective; every rank passes the same arrays. eval_ids[m]: ground-truth images (rows of
 * imgBrick); retrieved[nb × m] (branch-major): the retrieved image of each evaluation image per
 * branch. Ids out of range → agreed error naming the id and the file. Image i is processed on
 * the rank owning it in the contiguous split of m over ranks; both images are converted to float
 * CHW in [0,1], resized to 425×425 (MindEye), then pixcorr[b*m+i] = metric_pixcorr, ssim[b*m+i]
 * = metric_ssim(mode). Outputs are filled on every rank (gather exact values), so they are
 * bit-identical for any rank count. Log progress (bmc_log) every few seconds on long runs. */
int recon_score(recon_source *src, long m, const long long *eval_ids, int nb,
                const long long *retrieved, ssim_mode mode, double *pixcorr, double *ssim,
                bmc_err *err);

/* Collective (rank 0 draws and writes): a PNG with k = min(k, m) rows: ground truth
 * eval_ids[i], then retrieved[b*m+i] for b = 0..nb-1, each tile scaled to 128×128, a small gap,
 * and a header row naming the columns ("ground truth", names[b]...). Written with cairo
 * to `png_path.partial`, fsynced, renamed to png_path (bmc_rename_durable); on error no file and
 * no .partial remain. Agreed status. eval_ids [m] and retrieved [nb × m] are the arrays of
 * recon_score: m is src->m, set by the last recon_score call (internal error when unset; use
 * recon_montage_rows to pass m explicitly). Needs k ≥ 1; the height of recon_montage_size must
 * stay within cairo's 32767 pixels (k ≤ 248). Ids out of range → agreed error. */
int recon_montage(recon_source *src, const char *png_path, long k, const long long *eval_ids,
                  int nb, const char *const *names, const long long *retrieved, bmc_err *err);
/* The same with m given: eval_ids [m], retrieved [nb × m] (branch-major). */
int recon_montage_rows(recon_source *src, const char *png_path, long k, long m,
                       const long long *eval_ids, int nb, const char *const *names,
                       const long long *retrieved, bmc_err *err);

#endif
