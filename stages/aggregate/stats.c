/* stats.c — the bootstrap over test images of every per-image and per-draw statistic.
 * Resample b (boot_counts(w, m, seed, b): m images drawn with replacement) is the same for
 * every eval file, branch and metric, so pooled and paired statistics are resampled jointly.
 * Resamples are dealt over ranks in contiguous blocks and gathered on rank 0 in resample
 * order; each value is computed by the same code whichever rank owns it, so the output is
 * identical for any rank count. Statistics (docs/FORMATS.md, bmc.summary):
 *   per-image metric v: Σ_i w_i v_i / Σ_i w_i;
 *   retrieval: the mean over draws d with W_d = Σ_k w[item_dk] > 0 of Σ_k w[item_dk]·hit_dk / W_d.
 * Not here: per-target metrics (targets.c), intervals and rows (rows.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "bootstrap.h"

double ag_stat_image(const int *w, const double *v, long m) {
    return boot_weighted_mean(w, v, m);
}

double ag_stat_draws(const int *w, const uint8_t *hits, const long *pos, long draws, long way) {
    double sum = 0.0;
    long used = 0;
    for (long d = 0; d < draws; d++) {
        long W = 0, H = 0;
        for (long k = 0; k < way; k++) {
            int c = w[pos[d * way + k]];
            W += c;
            H += c * hits[d * way + k];
        }
        if (W > 0) {
            sum += (double)H / (double)W;
            used++;
        }
    }
    return used ? sum / (double)used : NAN;
}

/* Local: the values of resample b for every per-image / per-draw series into row[n_series]. */
static void resample_row(double *row, const int *w, const ag_set *set) {
    for (size_t e = 0; e < set->n_eval; e++)
        for (int b = 0; b < AG_N_BRANCH; b++) {
            const ag_branch *br = &set->ev[e].br[b];
            for (int k = 0; k < AG_N_METRIC; k++) {
                if (!br->has[k]) continue;
                size_t s = ag_series(e, b, k);
                if (ag_metric[k].kind == AG_PER_IMAGE)
                    row[s] = ag_stat_image(w, br->per_image[k], set->m);
                else if (ag_metric[k].kind == AG_PER_DRAW)
                    row[s] = ag_stat_draws(w, br->hits[k], set->draw_pos, set->draws, set->way);
            }
        }
}

int ag_bootstrap(ag_boot *bt, const ag_plan *p, const ag_set *set, const ag_models *md,
                 MPI_Comm comm, bmc_err *err) {
    int rank, P;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    BMC_MPI(MPI_Comm_size(comm, &P));
    memset(bt, 0, sizeof *bt);
    bt->B = p->resamples;
    bt->n_series = ag_series(set->n_eval, 0, 0);
    size_t ns = bt->n_series;
    long b0, nb;
    bmc_rowblock(bt->B, P, rank, &b0, &nb);
    double *mine = XNEW(mine, (size_t)(nb > 0 ? nb : 1) * ns);
    for (size_t i = 0; i < (size_t)nb * ns; i++) mine[i] = NAN;
    int *w = XNEW(w, set->m);
    double t0 = bmc_now();
    for (long b = 0; b < nb; b++) {
        boot_counts(w, set->m, p->seed, b0 + b);
        resample_row(mine + (size_t)b * ns, w, set);
    }
    free(w);
    int *counts = XNEW(counts, P), *displs = XNEW(displs, P);
    for (int r = 0; r < P; r++) {
        long a, n;
        bmc_rowblock(bt->B, P, r, &a, &n);
        BMC_CHECK((double)(a + n) * (double)ns < 2147483647.0);
        counts[r] = (int)((size_t)n * ns);
        displs[r] = (int)((size_t)a * ns);
    }
    if (rank == 0) bt->theta = XNEW(bt->theta, (size_t)bt->B * ns);
    BMC_MPI(MPI_Gatherv(mine, (int)((size_t)nb * ns), MPI_DOUBLE, bt->theta, counts, displs,
                        MPI_DOUBLE, 0, comm));
    free(mine);
    free(counts);
    free(displs);
    bmc_log_info("bootstrap: %ld resamples of %zu series over %d rank%s in %.2f s", bt->B, ns, P,
                 P == 1 ? "" : "s", bmc_now() - t0);
    return ag_bootstrap_targets(bt, p, set, md, comm, err);
}

void ag_boot_free(ag_boot *bt) {
    free(bt->theta);
    memset(bt, 0, sizeof *bt);
}
