/* targets.c — the bootstrap over test images of the per-target metrics (mean Pearson r and R²
 * over a decoder's targets), from the predictions the evaluate stage exported and the real
 * features of the evaluation images. Targets are cut into blocks of whole tokens of at most
 * AG_TARGET_BLOCK targets (never by the rank count), block j goes to rank j mod P, which
 * forms for every resample at once the weighted sums of one block by a GEMM of the resample
 * counts (B × m) with the block's columns; rank 0 adds the per-block sums in block order, so
 * the result is the same for any rank count. Per target, with counts w (Σ w = m) and columns
 * centred at their mean over the m images: vp = Σw p² − (Σw p)²/m, vr likewise, cov =
 * Σw pr − Σw p·Σw r/m, sse = Σw (r − p)² (uncentred); a column counts as constant when its
 * v ≤ 1e-12·Σw x²; r = cov/√(vp·vr) (0 if either is constant); R² = 1 − sse/vr (constant
 * real: 1 if sse = 0, else 0) — metrics.h's conventions.
 * Not here: per-image and per-draw statistics (stats.c).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_log.h"
#include "bootstrap.h"

/* Feature rows of the evaluation images: rows[k] increasing, dest[k] its image position. */
typedef struct feat_rows {
    hsize_t *rows;
    long *dest;
    long n;
} feat_rows;

static int cmp_pair(const void *a, const void *b) {
    const long long *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Collective: feature rows of set->eval_ids in the bmc.clip file f. */
static int find_rows(feat_rows *fr, bmc_h5 *f, const ag_set *set, bmc_err *err) {
    bmc_dtype t;
    int nd;
    hsize_t d[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(f, "/image_ids", &t, &nd, d, err)) return -1;
    long N = (long)d[0];
    long long *ids = XNEW(ids, N > 0 ? N : 1);
    int rc = bmc_h5_read_rows(f, "/image_ids", BMC_I64, 0, (hsize_t)N, ids, err);
    long long *pairs = XNEW(pairs, 2 * (size_t)set->m);
    for (long i = 0; !rc && i < set->m; i++) {
        long row = -1;
        for (long r = 0; r < N && row < 0; r++)
            if (ids[r] == set->eval_ids[i]) row = r;
        if (row < 0) {
            rc = bmc_err_set(err, "give the features file the evaluations scored against",
                             "%s: evaluation image %lld is not in /image_ids", f->path,
                             set->eval_ids[i]);
            break;
        }
        pairs[2 * i] = row;
        pairs[2 * i + 1] = i;
    }
    if (!rc) {
        qsort(pairs, (size_t)set->m, 2 * sizeof *pairs, cmp_pair);
        fr->n = set->m;
        fr->rows = XNEW(fr->rows, set->m);
        fr->dest = XNEW(fr->dest, set->m);
        for (long k = 0; k < set->m; k++) {
            fr->rows[k] = (hsize_t)pairs[2 * k];
            fr->dest[k] = (long)pairs[2 * k + 1];
        }
    }
    free(pairs);
    free(ids);
    return rc;
}

/* One decoder's targets: the predictions' dataset and the real dataset with its tokens. */
typedef struct target_src {
    bmc_h5 *pred, *feat;
    char pred_ds[64], feat_ds[160];
    int ndims;          /* 3: [n, tokens, width]; 2: [n, width]                              */
    long tokens, width;
    int *token_index;   /* tokens: feature token behind each block of width targets          */
} target_src;

/* Local: per-target r and R² sums of one block for every resample (see the file comment). */
static void block_scores(double *sum_r, double *sum_r2, const double *W, long B, long m,
                         const double *pred, const double *real, long c) {
    size_t mc = (size_t)m * (size_t)c;
    double *X = XNEW(X, 6 * mc); /* m × 6c: p', r', p'², r'², p'r', (r − p)² */
    for (long j = 0; j < c; j++) {
        double mp = 0, mr = 0;
        for (long i = 0; i < m; i++) mp += pred[i * c + j], mr += real[i * c + j];
        mp /= (double)m, mr /= (double)m;
        for (long i = 0; i < m; i++) {
            double p = pred[i * c + j] - mp, r = real[i * c + j] - mr;
            double e = real[i * c + j] - pred[i * c + j];
            double *row = X + (size_t)i * 6 * (size_t)c;
            row[j] = p, row[c + j] = r, row[2 * c + j] = p * p, row[3 * c + j] = r * r;
            row[4 * c + j] = p * r, row[5 * c + j] = e * e;
        }
    }
    double *G = XNEW(G, (size_t)B * 6 * (size_t)c);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)(6 * c), (int)m, 1.0, W,
                (int)m, X, (int)(6 * c), 0.0, G, (int)(6 * c));
    for (long b = 0; b < B; b++) {
        const double *g = G + (size_t)b * 6 * (size_t)c;
        double sr = 0, sr2 = 0;
        for (long j = 0; j < c; j++) {
            double Sp = g[j], Sr = g[c + j], Spp = g[2 * c + j], Srr = g[3 * c + j];
            double Spr = g[4 * c + j], Se = g[5 * c + j];
            double vp = Spp - Sp * Sp / (double)m, vr = Srr - Sr * Sr / (double)m;
            double cov = Spr - Sp * Sr / (double)m;
            int cp = !(vp > 1e-12 * Spp), cr = !(vr > 1e-12 * Srr);
            sr += cp || cr ? 0.0 : cov / sqrt(vp * vr);
            sr2 += cr ? (Se == 0 ? 1.0 : 0.0) : 1.0 - Se / vr;
        }
        sum_r[b] = sr, sum_r2[b] = sr2;
    }
    free(G);
    free(X);
}

/* Collective: read the block of tokens [k0, k0 + nk) (nk = 0: take part without data). */
static int read_block(const target_src *ts, const feat_rows *fr, long m, long k0, long nk,
                      long tb, double *pred, double *real, double *tmp, bmc_err *err) {
    long W = ts->width, c = nk * W;
    hsize_t start[3] = {0, (hsize_t)k0, 0}, count[3] = {(hsize_t)(nk ? m : 0), (hsize_t)nk,
                                                         (hsize_t)W};
    if (ts->ndims == 2) start[1] = 0, count[1] = (hsize_t)W, count[2] = 0;
    double *buf = XNEW(buf, (size_t)m * (size_t)(c ? c : 1));
    int rc = bmc_h5_read_block(ts->pred, ts->pred_ds, BMC_F64, start, count, buf, err);
    if (!rc) memcpy(pred, buf, (size_t)m * (size_t)c * sizeof *buf);
    free(buf);
    for (long kk = 0; kk < tb && !rc; kk++) { /* every rank makes tb collective reads */
        int have = kk < nk;
        hsize_t st[2] = {have ? (hsize_t)ts->token_index[k0 + kk] : 0, 0}, ct[2] = {1, (hsize_t)W};
        const hsize_t *s = ts->ndims == 3 ? st : st + 1, *ctp = ts->ndims == 3 ? ct : ct + 1;
        rc = bmc_h5_read_rowset(ts->feat, ts->feat_ds, BMC_F64, fr->rows, have ? (hsize_t)fr->n : 0,
                                s, ctp, tmp, err);
        for (long k = 0; have && !rc && k < fr->n; k++)
            for (long j = 0; j < W; j++)
                real[(size_t)fr->dest[k] * (size_t)c + (size_t)(kk * W + j)] =
                    tmp[(size_t)k * (size_t)W + (size_t)j];
    }
    return rc;
}

/* Collective: the B resample means of r and R² of one decoder into out_r, out_r2 (rank 0). */
static int decoder_boot(const target_src *ts, const feat_rows *fr, const double *Wt, long B,
                        long m, MPI_Comm comm, double *out_r, double *out_r2, bmc_err *err) {
    int rank, P;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    BMC_MPI(MPI_Comm_size(comm, &P));
    long W = ts->width, tb = AG_TARGET_BLOCK / W > 0 ? AG_TARGET_BLOCK / W : 1;
    long nblocks = (ts->tokens + tb - 1) / tb, rounds = (nblocks + P - 1) / P;
    size_t cmax = (size_t)(tb * W);
    double *pred = XNEW(pred, (size_t)m * cmax), *real = XNEW(real, (size_t)m * cmax);
    double *tmp = XNEW(tmp, (size_t)m * (size_t)W);
    double *sums = XNEW(sums, 2 * (size_t)B);
    double *all = rank == 0 ? XNEW(all, 2 * (size_t)B * (size_t)P) : NULL;
    for (long b = 0; rank == 0 && b < B; b++) out_r[b] = out_r2[b] = 0.0;
    int rc = 0;
    for (long r = 0; r < rounds && !rc; r++) {
        long j = r * P + rank;
        long k0 = j < nblocks ? j * tb : 0;
        long nk = j < nblocks ? (k0 + tb <= ts->tokens ? tb : ts->tokens - k0) : 0;
        rc = read_block(ts, fr, m, k0, nk, tb, pred, real, tmp, err);
        if (bmc_err_agree(comm, err)) rc = -1;
        if (rc) break;
        if (nk) block_scores(sums, sums + B, Wt, B, m, pred, real, nk * W);
        BMC_MPI(MPI_Gather(sums, (int)(2 * B), MPI_DOUBLE, all, (int)(2 * B), MPI_DOUBLE, 0, comm));
        for (int q = 0; rank == 0 && q < P && r * P + q < nblocks; q++) /* block order */
            for (long b = 0; b < B; b++) {
                out_r[b] += all[(size_t)q * 2 * (size_t)B + (size_t)b];
                out_r2[b] += all[(size_t)q * 2 * (size_t)B + (size_t)(B + b)];
            }
    }
    double t = (double)(ts->tokens * W);
    for (long b = 0; rank == 0 && !rc && b < B; b++) out_r[b] /= t, out_r2[b] /= t;
    free(pred), free(real), free(tmp), free(sums), free(all);
    return rc;
}

/* Collective: the decoder of branch b of eval e (its mapping in the models). */
static int open_src(target_src *ts, bmc_h5 *pred, bmc_h5 *feat, const ag_eval *ev, int b,
                    long m, const ag_models *md, bmc_err *err) {
    memset(ts, 0, sizeof *ts);
    ts->pred = pred, ts->feat = feat;
    const ag_mapping *mp = ag_find_mapping(md, ev->train, ev->br[b].mapping);
    BMC_CHECK(mp);
    snprintf(ts->pred_ds, sizeof ts->pred_ds, "/%s", ag_branch_name[b]);
    snprintf(ts->feat_ds, sizeof ts->feat_ds, "/%s", mp->y_dataset);
    bmc_dtype t;
    int nd;
    hsize_t d[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(pred, ts->pred_ds, &t, &nd, d, err)) return -1;
    ts->ndims = nd;
    ts->tokens = nd == 3 ? (long)d[1] : 1;
    ts->width = nd == 3 ? (long)d[2] : (long)d[1];
    if ((nd != 2 && nd != 3) || (long long)(ts->tokens * ts->width) != mp->shape.t ||
        (long)d[0] != m)
        return bmc_err_set(err, "rerun the evaluate stage", "%s:%s has shape (%llu, %ld, %ld); "
                           "expected %ld images and decoder '%s''s t = %lld targets", pred->path,
                           ts->pred_ds, (unsigned long long)d[0], ts->tokens, ts->width, m,
                           mp->name, mp->shape.t);
    /* The token of the features behind each predicted token: the model's token_index. */
    bmc_h5 mf;
    if (bmc_h5_open_as(&mf, pred->comm, md->path[mp->model], BMC_FMT_MODEL, err)) return -1;
    char ds[300];
    snprintf(ds, sizeof ds, "/mappings/%s/token_index", mp->name);
    ts->token_index = XNEW(ts->token_index, ts->tokens);
    int rc = bmc_h5_read_rows(&mf, ds, BMC_I32, 0, (hsize_t)ts->tokens, ts->token_index, err);
    bmc_h5_close(&mf);
    return rc;
}

int ag_bootstrap_targets(ag_boot *bt, const ag_plan *p, const ag_set *set, const ag_models *md,
                         MPI_Comm comm, bmc_err *err) {
    if (!p->n_predictions) return 0;
    int rank;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    double t0 = bmc_now();
    bmc_h5 feat;
    if (bmc_h5_open_as(&feat, comm, p->features, BMC_FMT_CLIP, err)) return -1;
    feat_rows fr = {0};
    int rc = find_rows(&fr, &feat, set, err);
    if (bmc_err_agree(comm, err)) rc = -1;
    long B = bt->B, m = set->m;
    double *Wt = XNEW(Wt, (size_t)B * (size_t)m);
    int *w = XNEW(w, m);
    for (long b = 0; b < B; b++) {
        boot_counts(w, m, p->seed, b);
        for (long i = 0; i < m; i++) Wt[(size_t)b * (size_t)m + (size_t)i] = (double)w[i];
    }
    free(w);
    double *r = XNEW(r, B), *r2 = XNEW(r2, B);
    long done = 0;
    for (size_t e = 0; e < set->n_eval && !rc; e++) {
        const ag_eval *ev = &set->ev[e];
        bmc_h5 pred;
        if (bmc_h5_open_as(&pred, comm, ev->predictions, BMC_FMT_PREDICTIONS, err)) {
            rc = -1;
            break;
        }
        for (int b = 0; b < 2 && !rc; b++) {
            target_src ts;
            rc = open_src(&ts, &pred, &feat, ev, b, m, md, err);
            if (!rc) rc = decoder_boot(&ts, &fr, Wt, B, m, comm, r, r2, err);
            free(ts.token_index);
            for (long k = 0; rank == 0 && !rc && k < B; k++) {
                bt->theta[(size_t)k * bt->n_series + ag_series(e, b, AG_PEARSON)] = r[k];
                bt->theta[(size_t)k * bt->n_series + ag_series(e, b, AG_R2)] = r2[k];
            }
            done += !rc;
        }
        bmc_h5_close(&pred);
    }
    free(r), free(r2), free(Wt);
    free(fr.rows), free(fr.dest);
    bmc_h5_close(&feat);
    if (!rc)
        bmc_log_info("bootstrap of per-target metrics: %ld decoders from the predictions in %.2f s",
                     done, bmc_now() - t0);
    return bmc_err_agree(comm, err) ? -1 : rc;
}
