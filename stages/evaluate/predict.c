/* predict.c — the column-block engine of bmc-evaluate. A branch's targets (tokens × width)
 * are cut into blocks of whole tokens, sized by the memory budget but never by the rank
 * count; block j goes to rank j mod P. Per block: the decoder's weight columns are read,
 * predictions made (X'·W or, in the dual form, (X'·Xcᵀ)·C) and rescaled, the real and gallery
 * features of the same columns read, per-target Pearson r / R² written, and the sums behind
 * every per-image metric (pred·realᵀ, pred·galleryᵀ, row sums and squares) formed. Rank 0 adds
 * the block sums in block order, so results are bit-identical for any rank count.
 * Not here: turning the sums into scores (report.c).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_log.h"
#include "evaluate.h"

/* Rows of a file to read in increasing order, and where each goes (rowset reads). */
typedef struct rowmap {
    hsize_t *rows; /* n, increasing                                          */
    long *dest;    /* n: destination row of rows[k]                          */
    long n;
} rowmap;

static int cmp_pair(const void *a, const void *b) {
    const long *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Local: the increasing order of frow[0..n) (distinct rows). */
static void rowmap_init(rowmap *rm, const long *frow, long n) {
    long *pairs = XNEW(pairs, 2 * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) {
        pairs[2 * i] = frow[i];
        pairs[2 * i + 1] = i;
    }
    qsort(pairs, (size_t)n, 2 * sizeof *pairs, cmp_pair);
    rm->rows = XNEW(rm->rows, n > 0 ? n : 1);
    rm->dest = XNEW(rm->dest, n > 0 ? n : 1);
    for (long k = 0; k < n; k++) {
        rm->rows[k] = (hsize_t)pairs[2 * k];
        rm->dest[k] = pairs[2 * k + 1];
    }
    rm->n = n;
    free(pairs);
}

static void rowmap_free(rowmap *rm) {
    free(rm->rows);
    free(rm->dest);
}

/* Collective: token `tok` (width values) of the rows of rm from dataset `dset` (3-D
 * [N, T, W], or 2-D [N, W] with tok 0) into columns [col0, col0 + width) of dst (rm->n rows,
 * leading dimension ld). have = 0: take part without data. tmp holds rm->n × width. */
static int read_token(bmc_h5 *f, const char *dset, int ndims, const rowmap *rm, int have,
                      int tok, int width, double *tmp, double *dst, long ld, long col0,
                      bmc_err *err) {
    hsize_t start[2] = {(hsize_t)tok, 0}, count[2] = {1, (hsize_t)width};
    const hsize_t *st = ndims == 3 ? start : start + 1, *ct = ndims == 3 ? count : count + 1;
    if (bmc_h5_read_rowset(f, dset, BMC_F64, rm->rows, have ? (hsize_t)rm->n : 0, st, ct, tmp,
                           err))
        return -1;
    for (long k = 0; have && k < rm->n && !err->failed; k++) {
        const double *src = tmp + (size_t)k * (size_t)width;
        double *d = dst + (size_t)rm->dest[k] * (size_t)ld + (size_t)col0;
        for (int c = 0; c < width; c++) {
            if (!isfinite(src[c])) {
                bmc_err_set(err, "re-extract the features; NaN/Inf cannot be scored",
                            "%s:%s: non-finite value in row %llu, token %d", f->path, dset,
                            (unsigned long long)rm->rows[k], tok);
                break;
            }
            d[c] = src[c];
        }
    }
    return bmc_err_agree(f->comm, err) ? -1 : 0;
}

/* Local: per-target Pearson r and R² of pred against real (m × cb, row-major), in double,
 * with metrics.h's conventions (r = 0 for a constant column; R² of a constant real column
 * 1 when exact, else 0). */
static void target_scores(double *r, double *r2, const double *pred, const double *real, long m,
                          long cb) {
    for (long c = 0; c < cb; c++) {
        double mp = 0, mr = 0;
        for (long i = 0; i < m; i++) {
            mp += pred[i * cb + c];
            mr += real[i * cb + c];
        }
        mp /= (double)m;
        mr /= (double)m;
        double spp = 0, srr = 0, spr = 0, sse = 0;
        for (long i = 0; i < m; i++) {
            double dp = pred[i * cb + c] - mp, dr = real[i * cb + c] - mr;
            double e = real[i * cb + c] - pred[i * cb + c];
            spp += dp * dp;
            srr += dr * dr;
            spr += dp * dr;
            sse += e * e;
        }
        r[c] = spp > 0 && srr > 0 ? spr / sqrt(spp * srr) : 0.0;
        r2[c] = srr > 0 ? 1.0 - sse / srr : (sse == 0 ? 1.0 : 0.0);
    }
}

/* Local: the rescaling of docs/FORMATS.md on pred (m × cb) for targets [c0, c0 + cb). */
static void rescale_block(double *pred, long m, long cb, long c0, const ev_decoder *d,
                          ev_rescale mode) {
    if (mode == EV_RESCALE_NONE) return;
    for (long c = 0; c < cb; c++) {
        double mean, sd;
        if (mode == EV_RESCALE_TEST) {
            mean = 0;
            for (long i = 0; i < m; i++) mean += pred[i * cb + c];
            mean /= (double)m;
            double ss = 0;
            for (long i = 0; i < m; i++) ss += (pred[i * cb + c] - mean) * (pred[i * cb + c] - mean);
            sd = sqrt(ss / (double)m);
        } else {
            mean = d->pred_train_mean[c0 + c];
            sd = d->pred_train_std[c0 + c];
        }
        double ys = d->y_train_std[c0 + c], ym = d->y_train_mean[c0 + c];
        for (long i = 0; i < m; i++) {
            double z = sd > 0 ? (pred[i * cb + c] - mean) / sd : 0.0;
            pred[i * cb + c] = z * ys + ym;
        }
    }
}

/* Local: the fixed layout of one block's sums (doubles). */
typedef struct sums_layout {
    size_t rp, pg, sum_p, sum_r, ss_p, ss_r, ss_g, cos_global, target_sums, total;
} sums_layout;

static sums_layout layout_of(long m, long G) {
    sums_layout L;
    size_t mm = (size_t)m * (size_t)m, mg = (size_t)m * (size_t)G;
    L.rp = 0;
    L.pg = mm;
    L.sum_p = L.pg + mg;
    L.sum_r = L.sum_p + (size_t)m;
    L.ss_p = L.sum_r + (size_t)m;
    L.ss_r = L.ss_p + (size_t)m;
    L.ss_g = L.ss_r + (size_t)m;
    L.cos_global = L.ss_g + (size_t)G;
    L.target_sums = L.cos_global + (size_t)m; /* Σ Pearson r, Σ R² over the block's targets */
    L.total = L.target_sums + 2;
    return L;
}

/* Local: the sums of one block into part (layout L, overwritten). first: the block holds the
 * first selected token (its first `width` columns give cos_global). */
static void block_sums(double *part, const sums_layout *L, const double *pred,
                       const double *real, const double *gal, long m, long G, long cb, int width,
                       int first) {
    memset(part, 0, L->total * sizeof *part);
    int im = (int)m, ig = (int)G, ic = (int)cb;
    /* rp[i, j] = Σ_c real[i, c] · pred[j, c];  pg[i, g] = Σ_c pred[i, c] · gal[g, c] */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, im, im, ic, 1.0, real, ic, pred, ic, 0.0,
                part + L->rp, im);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, im, ig, ic, 1.0, pred, ic, gal, ic, 0.0,
                part + L->pg, ig);
    for (long i = 0; i < m; i++) {
        double sp = 0, sr = 0, qp = 0, qr = 0;
        for (long c = 0; c < cb; c++) {
            double p = pred[i * cb + c], r = real[i * cb + c];
            sp += p;
            sr += r;
            qp += p * p;
            qr += r * r;
        }
        part[L->sum_p + (size_t)i] = sp;
        part[L->sum_r + (size_t)i] = sr;
        part[L->ss_p + (size_t)i] = qp;
        part[L->ss_r + (size_t)i] = qr;
        if (first) {
            double dot = 0, np = 0, nr = 0;
            for (int c = 0; c < width; c++) {
                double p = pred[i * cb + c], r = real[i * cb + c];
                dot += p * r;
                np += p * p;
                nr += r * r;
            }
            part[L->cos_global + (size_t)i] = np > 0 && nr > 0 ? dot / (sqrt(np) * sqrt(nr)) : 0.0;
        }
    }
    for (long g = 0; g < G; g++) {
        double q = 0;
        for (long c = 0; c < cb; c++) q += gal[g * cb + c] * gal[g * cb + c];
        part[L->ss_g + (size_t)g] = q;
    }
}

/* Collective: K = X'·Xcᵀ (m × n) for a dual decoder, Xc read in row chunks of the budget. */
static int dual_kernel(bmc_h5 *f, const ev_decoder *d, const double *xb, long m, size_t budget,
                       double *K, bmc_err *err) {
    char name[300];
    snprintf(name, sizeof name, "%s/X_train_centred", d->group);
    long chunk = (long)(budget / ((size_t)d->p * sizeof(double) + 1));
    if (chunk < 1) chunk = 1;
    if (chunk > d->n) chunk = d->n;
    double *xc = XNEW(xc, (size_t)chunk * (size_t)d->p);
    int rc = 0;
    for (long r0 = 0; r0 < d->n && !rc; r0 += chunk) {
        long nr = d->n - r0 < chunk ? d->n - r0 : chunk;
        rc = bmc_h5_read_rows(f, name, BMC_F64, (hsize_t)r0, (hsize_t)nr, xc, err);
        if (!rc)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nr, d->p, 1.0, xb,
                        d->p, xc, d->p, 0.0, K + r0, d->n);
    }
    free(xc);
    return rc;
}

/* Local: X' = X[:, voxel_index] · voxel_scale (m × p), the primal form's left-hand side. */
static double *lhs_primal(const ev_decoder *d, const double *xg, int pg, long m) {
    double *xb = XNEW(xb, (size_t)m * (size_t)d->p + 1);
    for (long i = 0; i < m; i++)
        for (int j = 0; j < d->p; j++)
            xb[(size_t)i * (size_t)d->p + (size_t)j] =
                xg[(size_t)i * (size_t)pg + (size_t)d->voxel_index[j]] * d->voxel_scale[j];
    return xb;
}

/* Collective: K = X'·Xcᵀ (m × n), the dual form's left-hand side (dual_kernel). Returns NULL
 * with an agreed err when reading Xc fails. */
static double *lhs_dual(bmc_h5 *mf, const ev_decoder *d, const double *xg, int pg, long m,
                        size_t budget, bmc_err *err) {
    double *xb = lhs_primal(d, xg, pg, m);
    double *K = XNEW(K, (size_t)m * (size_t)d->n + 1);
    int rc = dual_kernel(mf, d, xb, m, budget, K, err);
    free(xb);
    if (rc) {
        free(K);
        return NULL;
    }
    return K;
}

/* The column blocks of a branch: tokens per block from the budget (never from the rank
 * count); block j goes to rank j mod P. */
typedef struct branch_geometry {
    long tpb, J, rounds, cbmax; /* tokens per block, blocks, rounds of P blocks, widest    */
    int wrows;                  /* rows of the weights: n (dual) or p                      */
    size_t bytes;               /* the predicted working set per rank                       */
} branch_geometry;

static branch_geometry plan_blocks(const ev_decoder *d, long m, long G, size_t budget, int P) {
    branch_geometry bg = {.wrows = d->dual ? d->n : d->p};
    size_t per_col = sizeof(double) * (size_t)(3 * m + G + bg.wrows + 2);
    size_t fixed = sizeof(double) * ((size_t)m * (size_t)(d->p + (d->dual ? d->n : 0)) +
                                     2 * (size_t)m * (size_t)(m + G));
    size_t avail = budget > fixed ? budget - fixed : 0;
    bg.tpb = (long)(avail / (per_col * (size_t)d->width + 1));
    if (bg.tpb < 1) bg.tpb = 1;
    if (bg.tpb > d->tokens) bg.tpb = d->tokens;
    bg.J = (d->tokens + bg.tpb - 1) / bg.tpb;
    bg.rounds = (bg.J + P - 1) / P;
    bg.cbmax = bg.tpb * d->width;
    bg.bytes = fixed + per_col * (size_t)bg.cbmax;
    return bg;
}

/* Collective: the branch's datasets (/<branch>/pearson, r2; the predictions when asked). */
static int create_branch_outputs(const ev_decoder *d, int b, long m, bmc_h5 *out,
                                 bmc_h5 *pred_out, bmc_err *err) {
    char name[300];
    hsize_t dt = (hsize_t)d->t;
    snprintf(name, sizeof name, "/%s/pearson", ev_branch_name[b]);
    int rc = bmc_h5_create_dataset(out, name, BMC_F64, 1, &dt, NULL, err);
    snprintf(name, sizeof name, "/%s/r2", ev_branch_name[b]);
    if (!rc) rc = bmc_h5_create_dataset(out, name, BMC_F64, 1, &dt, NULL, err);
    hsize_t pdims[3] = {(hsize_t)m, (hsize_t)d->tokens, (hsize_t)d->width};
    if (d->y_ndims == 2) pdims[1] = (hsize_t)d->width;
    snprintf(name, sizeof name, "/%s", ev_branch_name[b]);
    if (!rc && pred_out)
        rc = bmc_h5_create_dataset(pred_out, name, BMC_F32, d->y_ndims, pdims, NULL, err);
    return rc;
}

/* One block's buffers (sized for the widest block) and where it lies. */
typedef struct block_work {
    double *coef, *pred, *real, *gal, *tmp, *tr, *part;
    float *pf;
    int have;            /* this rank has a block this round                              */
    long j, tok0, ntok;  /* block index, first token, tokens                              */
    long c0, cb;         /* first target column, columns                                  */
} block_work;

static void block_work_init(block_work *w, const ev_decoder *d, const branch_geometry *bg,
                            long m, long G, size_t sums_total, int with_pred) {
    memset(w, 0, sizeof *w);
    size_t cb = (size_t)bg->cbmax;
    w->coef = XNEW(w->coef, (size_t)bg->wrows * cb);
    w->pred = XNEW(w->pred, (size_t)m * cb);
    w->real = XNEW(w->real, (size_t)m * cb);
    w->gal = XNEW(w->gal, (size_t)G * cb);
    w->tmp = XNEW(w->tmp, (size_t)(m > G ? m : G) * (size_t)d->width);
    w->tr = XNEW(w->tr, 2 * cb);
    w->pf = with_pred ? XNEW(w->pf, (size_t)m * cb) : NULL;
    w->part = XNEW(w->part, sums_total);
}

static void block_work_free(block_work *w) {
    free(w->coef);
    free(w->pred);
    free(w->real);
    free(w->gal);
    free(w->tmp);
    free(w->tr);
    free(w->pf);
    free(w->part);
}

/* Collective: the weights (columns [c0, c0 + cb) of W or C) and the real and gallery features
 * of this rank's block of round q (every rank makes the same calls). */
static int read_block(ev_inputs *in, const ev_decoder *d, const branch_geometry *bg,
                      const rowmap *rm_eval, const rowmap *rm_gal, block_work *w, bmc_err *err) {
    char name[300], fname[300];
    hsize_t ws[2] = {0, (hsize_t)w->c0}, wc[2] = {(hsize_t)bg->wrows, (hsize_t)w->cb};
    snprintf(name, sizeof name, "%s/%s", d->group, d->dual ? "dual_coef" : "W");
    snprintf(fname, sizeof fname, "/%s", d->y_dataset);
    int rc = bmc_h5_read_block(&in->model[d->file], name, BMC_F64, ws, wc, w->coef, err);
    for (long k = 0; k < bg->tpb && !rc; k++) { /* one token at a time */
        int hk = w->have && k < w->ntok;
        int tok = hk ? d->token_index[w->tok0 + k] : 0;
        rc = read_token(&in->feat, fname, d->y_ndims, rm_eval, hk, tok, d->width, w->tmp,
                        w->real, w->cb, k * d->width, err);
        if (!rc)
            rc = read_token(&in->feat, fname, d->y_ndims, rm_gal, hk, tok, d->width, w->tmp,
                            w->gal, w->cb, k * d->width, err);
    }
    return rc;
}

/* Local: the block's predictions (lhs · weights + intercept, rescaled), per-target scores and
 * sums (layout L) into w. */
static void score_block(const ev_plan *p, const ev_decoder *d, const branch_geometry *bg,
                        const double *lhs, long m, long G, const sums_layout *L, block_work *w) {
    long cb = w->cb, c0 = w->c0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)cb, bg->wrows, 1.0, lhs,
                bg->wrows, w->coef, (int)cb, 0.0, w->pred, (int)cb);
    for (long i = 0; i < m; i++)
        for (long c = 0; c < cb; c++) w->pred[i * cb + c] += d->intercept[c0 + c];
    rescale_block(w->pred, m, cb, c0, d, p->rescale);
    target_scores(w->tr, w->tr + cb, w->pred, w->real, m, cb);
    block_sums(w->part, L, w->pred, w->real, w->gal, m, G, cb, d->width, w->j == 0);
    for (long c = 0; c < cb; c++) {
        w->part[L->target_sums] += w->tr[c];
        w->part[L->target_sums + 1] += w->tr[cb + c];
    }
}

/* Collective: the block's per-target Pearson r and R² (and its predictions as float32). */
static int write_block(const ev_decoder *d, int b, long m, bmc_h5 *out, bmc_h5 *pred_out,
                       block_work *w, bmc_err *err) {
    char name[300];
    hsize_t ts = (hsize_t)w->c0, tc = (hsize_t)w->cb;
    snprintf(name, sizeof name, "/%s/pearson", ev_branch_name[b]);
    int rc = bmc_h5_write_block(out, name, BMC_F64, &ts, &tc, w->tr, err);
    snprintf(name, sizeof name, "/%s/r2", ev_branch_name[b]);
    if (!rc) rc = bmc_h5_write_block(out, name, BMC_F64, &ts, &tc, w->tr + w->cb, err);
    if (!rc && pred_out) {
        for (size_t i = 0; i < (size_t)m * (size_t)w->cb; i++) w->pf[i] = (float)w->pred[i];
        hsize_t s3[3] = {0, (hsize_t)w->tok0, 0},
                c3[3] = {(hsize_t)m, (hsize_t)w->ntok, (hsize_t)d->width};
        hsize_t s2[2] = {0, 0}, c2[2] = {(hsize_t)m, (hsize_t)(w->have ? d->width : 0)};
        snprintf(name, sizeof name, "/%s", ev_branch_name[b]);
        rc = bmc_h5_write_block(pred_out, name, BMC_F32, d->y_ndims == 3 ? s3 : s2,
                                d->y_ndims == 3 ? c3 : c2, w->pf, err);
    }
    return rc;
}

/* Collective: rank 0 adds round q's block sums into acc in block order (bit-identical for
 * any rank count). */
static void reduce_round(long q, long J, const sums_layout *L, block_work *w, double *acc,
                         int rank, int P, MPI_Comm comm) {
    if (rank == 0) {
        for (int r = 0; r < P && q * P + r < J; r++) {
            if (r > 0)
                BMC_MPI(MPI_Recv(w->part, (int)L->total, MPI_DOUBLE, r,
                                 (int)((q * P + r) % 32768), comm, MPI_STATUS_IGNORE));
            for (size_t e = 0; e < L->total; e++) acc[e] += w->part[e];
        }
    } else if (w->have) {
        BMC_MPI(MPI_Send(w->part, (int)L->total, MPI_DOUBLE, 0, (int)(w->j % 32768), comm));
    }
}

/* Local (rank 0): the branch's sums out of the accumulated layout. */
static void sums_from_acc(ev_sums *sums, const double *acc, const sums_layout *L, long m,
                          long G, int t) {
    sums->m = m;
    sums->G = G;
    sums->cols = t;
    sums->rp = XNEW(sums->rp, (size_t)m * (size_t)m);
    sums->pg = XNEW(sums->pg, (size_t)m * (size_t)(G ? G : 1));
    double **vec[] = {&sums->sum_p, &sums->sum_r, &sums->ss_p, &sums->ss_r, &sums->cos_global};
    size_t off[] = {L->sum_p, L->sum_r, L->ss_p, L->ss_r, L->cos_global};
    for (int k = 0; k < 5; k++) {
        *vec[k] = XNEW(*vec[k], m);
        memcpy(*vec[k], acc + off[k], (size_t)m * sizeof(double));
    }
    sums->ss_g = XNEW(sums->ss_g, G ? G : 1);
    memcpy(sums->rp, acc + L->rp, (size_t)m * (size_t)m * sizeof(double));
    memcpy(sums->pg, acc + L->pg, (size_t)m * (size_t)G * sizeof(double));
    memcpy(sums->ss_g, acc + L->ss_g, (size_t)G * sizeof(double));
    sums->sum_pearson = acc[L->target_sums];
    sums->sum_r2 = acc[L->target_sums + 1];
}

int ev_predict_branch(const ev_plan *p, ev_inputs *in, int b, const double *xg, int pg,
                      bmc_h5 *out, bmc_h5 *pred_out, MPI_Comm comm, ev_sums *sums,
                      bmc_err *err) {
    const ev_decoder *d = &in->dec[b];
    int rank, P;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    BMC_MPI(MPI_Comm_size(comm, &P));
    long m = in->m, G = in->G;
    memset(sums, 0, sizeof *sums);
    double *lhs = d->dual ? lhs_dual(&in->model[d->file], d, xg, pg, m, p->mem_per_rank / 4, err)
                          : lhs_primal(d, xg, pg, m);
    int rc = lhs ? 0 : -1;
    branch_geometry bg = plan_blocks(d, m, G, p->mem_per_rank, P);
    bmc_log_info("%s branch: %d targets in %ld blocks of up to %ld tokens; about %.1f MiB per "
                 "rank", ev_branch_name[b], d->t, bg.J, bg.tpb, (double)bg.bytes / 1048576.0);
    if (!rc) rc = create_branch_outputs(d, b, m, out, pred_out, err);

    sums_layout L = layout_of(m, G);
    block_work w;
    block_work_init(&w, d, &bg, m, G, L.total, pred_out != NULL);
    double *acc = rank == 0 ? xcalloc(L.total, sizeof *acc) : NULL;
    rowmap rm_eval, rm_gal;
    rowmap_init(&rm_eval, in->eval_frow, m);
    rowmap_init(&rm_gal, in->gallery_frow, G);
    bmc_progress prog;
    bmc_progress_start(&prog, ev_branch_name[b], "blocks", bg.J);
    for (long q = 0; q < bg.rounds && !rc; q++) {
        w.j = q * P + rank;
        w.have = w.j < bg.J;
        w.tok0 = w.have ? w.j * bg.tpb : 0;
        w.ntok = w.have ? (d->tokens - w.tok0 < bg.tpb ? d->tokens - w.tok0 : bg.tpb) : 0;
        w.cb = w.ntok * d->width;
        w.c0 = w.tok0 * d->width;
        rc = read_block(in, d, &bg, &rm_eval, &rm_gal, &w, err);
        if (rc) break;
        if (w.have) score_block(p, d, &bg, lhs, m, G, &L, &w);
        rc = write_block(d, b, m, out, pred_out, &w, err);
        if (rc) break;
        reduce_round(q, bg.J, &L, &w, acc, rank, P, comm);
        bmc_progress_update(&prog, (q + 1) * P < bg.J ? (q + 1) * P : bg.J);
    }
    bmc_progress_finish(&prog, bg.J);
    if (!rc && rank == 0) sums_from_acc(sums, acc, &L, m, G, d->t);
    rowmap_free(&rm_eval);
    rowmap_free(&rm_gal);
    free(acc);
    block_work_free(&w);
    free(lhs);
    return rc;
}

void ev_sums_free(ev_sums *s) {
    free(s->rp);
    free(s->pg);
    free(s->sum_p);
    free(s->sum_r);
    free(s->ss_p);
    free(s->ss_r);
    free(s->ss_g);
    free(s->cos_global);
    memset(s, 0, sizeof *s);
}
