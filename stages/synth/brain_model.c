/* brain_model.c — the generative model of `bmc-synth brain`.
 *
 * Features → projections: P_g = z(F_g) · A_g (g = detail, semantic; z standardises each column
 * over the N images; A_g a fixed seeded [K_g, rank] Gaussian matrix / √K_g, shared by all
 * subjects). Anatomy: a seeded ellipsoidal brain on a grid near the base grid, nsdgeneral
 * = its posterior part, prf-visualrois = shells around the occipital pole (ventral/dorsal
 * split), floc-* = pairs of mirrored blobs more anterior. Voxels: prf voxels follow detail,
 * floc voxels semantic, other nsdgeneral voxels a weak mix (signal sd 0.3), the rest noise;
 * response = signal (sd 1 over the subject's images) + noise (sd 1/snr_v, snr_v = snr ·
 * exp(0.25·N(0,1)) per voxel) + a per-session drift (sd drift/snr_v); betas =
 * round(300 · (2 + 1.5 · response)) as int16, 0 outside the brain and for invalid
 * (voxel, session) pairs (a valid beta that would round to 0 is stored as 1).
 * Every number comes from a counter-based stream (subject, purpose, voxel or trial).
 * Not here: the design (brain.c), non-HDF5 files (brain_write.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_h5io.h"
#include "brain.h"

const brain_roi_file brain_roi_files[BRAIN_N_ROI_FILES] = {
    {"nsdgeneral", 1, {"nsdgeneral"}},
    {"prf-visualrois", 7, {"V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4"}},
    {"floc-bodies", 4, {"EBA", "FBA-1", "FBA-2", "mTL-bodies"}},
    {"floc-faces", 5, {"OFA", "FFA-1", "FFA-2", "mTL-faces", "aTL-faces"}},
    {"floc-places", 3, {"OPA", "PPA", "RSC"}},
    {"floc-words", 5, {"OWFA", "VWFA-1", "VWFA-2", "mfs-words", "mTL-words"}},
};

/* Blob centres (u lateral, v posterior→anterior, w inferior→superior, in units of the brain's
 * radii) and radii of the floc labels, in brain_roi_files order (files 2..5). */
static const double floc_blobs[4][5][4] = {
    {{0.75, -0.55, 0.0, 0.22}, {0.55, -0.35, -0.45, 0.18}, {0.55, -0.1, -0.5, 0.18},
     {0.7, 0.05, -0.35, 0.15}},
    {{0.7, -0.6, -0.2, 0.18}, {0.5, -0.4, -0.55, 0.18}, {0.5, -0.2, -0.6, 0.18},
     {0.75, 0.05, -0.45, 0.15}, {0.7, 0.3, -0.5, 0.15}},
    {{0.6, -0.65, 0.35, 0.2}, {0.35, -0.3, -0.55, 0.22}, {0.15, -0.3, 0.3, 0.18}},
    {{0.6, -0.55, -0.35, 0.16}, {0.45, -0.35, -0.6, 0.16}, {0.45, -0.15, -0.6, 0.16},
     {0.35, -0.05, -0.45, 0.15}, {0.65, 0.1, -0.4, 0.15}},
};

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* ---- features --------------------------------------------------------------------------- */

int brain_features_build(brain_features *bf, bmc_h5 *f, const int64_t *ids, long n,
                         const brain_params *p, bmc_err *err) {
    static const char *const names[2] = {"/detail", "/semantic"};
    static const int purposes[2] = {BRAIN_RNG_PROJ_DETAIL, BRAIN_RNG_PROJ_SEMANTIC};
    memset(bf, 0, sizeof *bf);
    bf->n = n;
    long rank = p->rank;
    for (int g = 0; g < 2; g++) {
        bmc_dtype t;
        int nd;
        hsize_t dims[BMC_H5_MAXDIMS];
        if (bmc_h5_dataset_info(f, names[g], &t, &nd, dims, err)) return -1;
        long k_dim = (long)(dims[1] * dims[2]);
        bf->dim[g] = k_dim;
        double *a = bf->proj[g] = XNEW(a, bmc_mul_size((size_t)k_dim, (size_t)rank));
        double inv_sqrt = 1.0 / sqrt((double)k_dim);
        for (long k = 0; k < k_dim; k++) {
            bmc_rng r;
            brain_rng(&r, p->seed, 0, purposes[g], (uint64_t)k);
            for (long j = 0; j < rank; j++) a[k * rank + j] = bmc_rng_normal(&r) * inv_sqrt;
        }
        double *mean = xcalloc((size_t)k_dim, sizeof *mean), *m2 = xcalloc((size_t)k_dim, sizeof *m2);
        long block = (long)((16u << 20) / ((size_t)k_dim * sizeof(float)));
        if (block < 1) block = 1;
        if (block > n) block = n;
        float *buf = XNEW(buf, bmc_mul_size((size_t)block, (size_t)k_dim));
        double *pg = bf->projected[g] = xcalloc(bmc_mul_size((size_t)n, (size_t)rank), sizeof *pg);
        /* Pass 0: Welford mean and M2 per column; pass 1: projections. Every rank reads every
         * row in the same order, so the sums are identical for any rank count. */
        for (int pass = 0; pass < 2; pass++) {
            for (long row0 = 0; row0 < n; row0 += block) {
                long cnt = n - row0 < block ? n - row0 : block;
                if (bmc_h5_read_rows(f, names[g], BMC_F32, (hsize_t)row0, (hsize_t)cnt, buf, err)) {
                    free(buf);
                    free(mean);
                    free(m2);
                    return -1;
                }
                for (long i = 0; i < cnt; i++) {
                    const float *x = buf + (size_t)i * (size_t)k_dim;
                    if (pass == 0) {
                        double c = (double)(row0 + i + 1);
                        for (long k = 0; k < k_dim; k++) {
                            double dlt = x[k] - mean[k];
                            mean[k] += dlt / c;
                            m2[k] += dlt * (x[k] - mean[k]);
                        }
                        continue;
                    }
                    double *out = pg + ids[row0 + i] * rank;
                    for (long k = 0; k < k_dim; k++) {
                        double z = (x[k] - mean[k]) * m2[k]; /* m2 holds 1/sd after pass 0 */
                        for (long j = 0; j < rank; j++) out[j] += z * a[k * rank + j];
                    }
                }
            }
            if (pass == 0) {
                long bad = -1;
                for (long k = 0; k < k_dim; k++) {
                    double sd = sqrt(m2[k] / (double)n);
                    if (!isfinite(sd) || !isfinite(mean[k])) bad = k;
                    m2[k] = sd > 0 ? 1.0 / sd : 0.0; /* a constant column contributes nothing */
                }
                if (bad >= 0)
                    bmc_err_set(err, "extract the features again",
                                "%s:%s: column %ld holds non-finite values", f->path, names[g], bad);
                if (bmc_err_agree(f->comm, err)) {
                    free(buf);
                    free(mean);
                    free(m2);
                    return -1;
                }
            }
        }
        free(buf);
        free(mean);
        free(m2);
    }
    return 0;
}

void brain_features_free(brain_features *bf) {
    for (int g = 0; g < 2; g++) {
        free(bf->proj[g]);
        free(bf->projected[g]);
    }
    memset(bf, 0, sizeof *bf);
}

/* ---- anatomy ---------------------------------------------------------------------------- */

/* The seeded shape of one subject's brain and ROIs. */
typedef struct brain_shape {
    double c[3], r[3];            /* ellipsoid centre and radii (voxels)                      */
    double ng_v0, ng_curv, ng_top; /* nsdgeneral: v < ng_v0 + ng_curv·u², -0.85 < w < ng_top  */
    double pole_w, rho[4];        /* prf: shells around (0, −1, pole_w); ventral: w < pole_w   */
    double blob[4][5][2][4];      /* floc: [file][label][hemisphere] centre u, v, w, radius    */
} brain_shape;

static void make_shape(brain_shape *sh, const int dims[3], int subject, const brain_params *p) {
    bmc_rng g;
    brain_rng(&g, p->seed, subject, BRAIN_RNG_SHAPE, 0);
    for (int a = 0; a < 3; a++) {
        sh->c[a] = (dims[a] - 1) / 2.0 + 0.3 * bmc_rng_normal(&g);
        sh->r[a] = dims[a] * clampd(0.44 + 0.015 * bmc_rng_normal(&g), 0.40, 0.47);
    }
    sh->ng_v0 = -0.1 + 0.05 * bmc_rng_normal(&g);
    sh->ng_curv = 0.25 + 0.05 * bmc_rng_normal(&g);
    sh->ng_top = 0.55 + 0.05 * bmc_rng_normal(&g);
    sh->pole_w = -0.1 + 0.05 * bmc_rng_normal(&g);
    static const double rho0[4] = {0.35, 0.5, 0.62, 0.72};
    for (int i = 0; i < 4; i++) sh->rho[i] = rho0[i] + 0.02 * bmc_rng_normal(&g);
    double r_min = fmin(sh->r[0], fmin(sh->r[1], sh->r[2]));
    for (int f = 0; f < 4; f++) {
        for (int l = 0; l < brain_roi_files[f + 2].n_labels; l++) {
            for (int h = 0; h < 2; h++) {
                double *b = sh->blob[f][l][h];
                for (int a = 0; a < 3; a++)
                    b[a] = floc_blobs[f][l][a] * (a == 0 && h ? -1 : 1) + 0.05 * bmc_rng_normal(&g);
                double norm = sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
                if (norm > 0.88)
                    for (int a = 0; a < 3; a++) b[a] *= 0.88 / norm;
                /* at least ~1.2 voxels, so small grids keep every label */
                b[3] = fmax(floc_blobs[f][l][3] * clampd(1 + 0.15 * bmc_rng_normal(&g), 0.6, 1.5),
                            1.2 / r_min);
            }
        }
    }
}

/* Labels of grid voxel (x, y, z): roi[0..6) values (-1 outside the brain). */
static void label_voxel(const brain_shape *sh, int x, int y, int z, int16_t out[BRAIN_N_ROI_FILES]) {
    double u = (x - sh->c[0]) / sh->r[0], v = (y - sh->c[1]) / sh->r[1], w = (z - sh->c[2]) / sh->r[2];
    if (u * u + v * v + w * w > 1.0) {
        for (int f = 0; f < BRAIN_N_ROI_FILES; f++) out[f] = -1;
        return;
    }
    for (int f = 0; f < BRAIN_N_ROI_FILES; f++) out[f] = 0;
    int ng = v < sh->ng_v0 + sh->ng_curv * u * u && w < sh->ng_top && w > -0.85;
    out[0] = (int16_t)ng;
    if (ng) {
        double rho = sqrt(u * u + (v + 1) * (v + 1) + (w - sh->pole_w) * (w - sh->pole_w));
        int ventral = w < sh->pole_w;
        if (rho < sh->rho[0]) out[1] = (int16_t)(ventral ? 1 : 2);
        else if (rho < sh->rho[1]) out[1] = (int16_t)(ventral ? 3 : 4);
        else if (rho < sh->rho[2]) out[1] = (int16_t)(ventral ? 5 : 6);
        else if (rho < sh->rho[3] && ventral) out[1] = 7;
    }
    for (int f = 0; f < 4; f++) {
        for (int l = 0; l < brain_roi_files[f + 2].n_labels && !out[f + 2]; l++) {
            for (int h = 0; h < 2; h++) {
                const double *b = sh->blob[f][l][h];
                double du = u - b[0], dv = v - b[1], dw = w - b[2];
                if (du * du + dv * dv + dw * dw <= b[3] * b[3]) out[f + 2] = (int16_t)(l + 1);
            }
        }
    }
}

/* ---- voxel model ------------------------------------------------------------------------ */

typedef struct key_index { double key; long index; } key_index;

static int cmp_key(const void *a, const void *b) {
    const key_index *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Choose the invalid (voxel, session) pairs: the n_invalid voxels with the smallest seeded
 * keys, each invalid in one seeded session and in each other session with probability 1/4. */
static void choose_invalid(brain_subject *s, const brain_params *p) {
    long nb = s->n_brain, ns = p->sessions;
    s->invalid = xcalloc(bmc_mul_size((size_t)nb, (size_t)ns), 1);
    long n_inv = p->invalid_fraction > 0 ? (long)llround(p->invalid_fraction * (double)nb) : 0;
    if (p->invalid_fraction > 0 && n_inv < 1) n_inv = 1;
    if (n_inv > nb) n_inv = nb;
    key_index *keys = XNEW(keys, nb);
    for (long v = 0; v < nb; v++) {
        bmc_rng g;
        brain_rng(&g, p->seed, s->subject, BRAIN_RNG_INVALID_KEY, (uint64_t)s->lin[v]);
        keys[v].key = bmc_rng_uniform(&g);
        keys[v].index = v;
    }
    qsort(keys, (size_t)nb, sizeof *keys, cmp_key);
    for (long i = 0; i < n_inv; i++) {
        long v = keys[i].index;
        bmc_rng g;
        brain_rng(&g, p->seed, s->subject, BRAIN_RNG_INVALID_SESSIONS, (uint64_t)s->lin[v]);
        long s0 = (long)(bmc_rng_uniform(&g) * (double)ns);
        for (long ses = 0; ses < ns; ses++) {
            double u = bmc_rng_uniform(&g);
            s->invalid[v * ns + ses] = (uint8_t)(ses == s0 || u < 0.25);
        }
    }
    s->n_invalid = n_inv;
    free(keys);
}

/* Raw (unscaled) signal of brain voxel v for subject image k. */
static double raw_signal(const brain_subject *s, long rank, long v, long k) {
    double acc = 0;
    for (int g = 0; g < 2; g++) {
        const double *pk = s->projected[g] + k * rank, *c = s->coef[g] + v * rank;
        for (long j = 0; j < rank; j++) acc += pk[j] * c[j];
    }
    return acc;
}

void brain_subject_build(brain_subject *s, int subject, const brain_params *p,
                         const brain_design *d, const brain_features *bf) {
    memset(s, 0, sizeof *s);
    s->subject = subject;
    bmc_rng g;
    brain_rng(&g, p->seed, subject, BRAIN_RNG_GRID, 0);
    for (int a = 0; a < 3; a++)
        s->dims[a] = (int)p->grid[a] + (int)(bmc_rng_uniform(&g) * 5.0) - 2;
    s->n_grid = (size_t)s->dims[0] * (size_t)s->dims[1] * (size_t)s->dims[2];
    brain_shape sh;
    make_shape(&sh, s->dims, subject, p);
    for (int f = 0; f < BRAIN_N_ROI_FILES; f++) s->roi[f] = XNEW(s->roi[f], s->n_grid);
    s->lin = XNEW(s->lin, s->n_grid);
    size_t i = 0;
    for (int z = 0; z < s->dims[2]; z++)
        for (int y = 0; y < s->dims[1]; y++)
            for (int x = 0; x < s->dims[0]; x++, i++) {
                int16_t lab[BRAIN_N_ROI_FILES];
                label_voxel(&sh, x, y, z, lab);
                for (int f = 0; f < BRAIN_N_ROI_FILES; f++) s->roi[f][i] = lab[f];
                if (lab[0] >= 0) s->lin[s->n_brain++] = (int64_t)i;
            }

    long nb = s->n_brain, rank = p->rank, ips = p->images_per_subject;
    for (int gi = 0; gi < 2; gi++) {
        s->coef[gi] = xcalloc(bmc_mul_size((size_t)nb, (size_t)rank), sizeof(double));
        s->projected[gi] = XNEW(s->projected[gi], bmc_mul_size((size_t)ips, (size_t)rank));
        const int64_t *row = d->subjectim + (long)(subject - 1) * ips;
        for (long k = 0; k < ips; k++)
            memcpy(s->projected[gi] + k * rank, bf->projected[gi] + row[k] * rank,
                   (size_t)rank * sizeof(double));
    }
    s->kind = XNEW(s->kind, nb);
    s->sig_mean = XNEW(s->sig_mean, nb);
    s->sig_scale = XNEW(s->sig_scale, nb);
    s->signal_sd = XNEW(s->signal_sd, nb);
    s->noise_sd = XNEW(s->noise_sd, nb);
    s->drift = XNEW(s->drift, bmc_mul_size((size_t)nb, (size_t)p->sessions));
    s->ncsnr = xcalloc(s->n_grid, sizeof *s->ncsnr);
    for (long v = 0; v < nb; v++) {
        int64_t li = s->lin[v];
        int in_prf = s->roi[1][li] > 0, in_floc = 0;
        for (int f = 2; f < BRAIN_N_ROI_FILES; f++) in_floc |= s->roi[f][li] > 0;
        int kind = in_prf ? BRAIN_KIND_DETAIL : in_floc ? BRAIN_KIND_SEMANTIC
                 : s->roi[0][li] > 0 ? BRAIN_KIND_MIX : BRAIN_KIND_NOISE;
        s->kind[v] = kind;
        brain_rng(&g, p->seed, subject, BRAIN_RNG_VOXEL, (uint64_t)li);
        for (int gi = 0; gi < 2; gi++) {
            int used = kind == BRAIN_KIND_MIX || (gi == BRAIN_DETAIL && kind == BRAIN_KIND_DETAIL) ||
                       (gi == BRAIN_SEMANTIC && kind == BRAIN_KIND_SEMANTIC);
            for (long j = 0; j < rank; j++) {
                double c = bmc_rng_normal(&g); /* drawn for every voxel: streams stay aligned */
                s->coef[gi][v * rank + j] = used ? c : 0.0;
            }
        }
        s->noise_sd[v] = exp(-0.25 * bmc_rng_normal(&g)) / p->snr;
        double target = kind == BRAIN_KIND_MIX ? BRAIN_MIX_SIGNAL_SD : kind == BRAIN_KIND_NOISE ? 0.0 : 1.0;
        double mean = 0, m2 = 0;
        for (long k = 0; k < ips; k++) {
            double x = raw_signal(s, rank, v, k), dlt = x - mean;
            mean += dlt / (double)(k + 1);
            m2 += dlt * (x - mean);
        }
        double sd = sqrt(m2 / (double)ips);
        s->sig_mean[v] = mean;
        s->sig_scale[v] = sd > 0 ? target / sd : 0.0;
        s->signal_sd[v] = sd > 0 ? target : 0.0;
        s->ncsnr[li] = (float)(s->signal_sd[v] / s->noise_sd[v]);
        brain_rng(&g, p->seed, subject, BRAIN_RNG_DRIFT, (uint64_t)li);
        for (long ses = 0; ses < p->sessions; ses++)
            s->drift[v * p->sessions + ses] = p->drift * s->noise_sd[v] * bmc_rng_normal(&g);
    }
    choose_invalid(s, p);
}

void brain_subject_free(brain_subject *s) {
    for (int f = 0; f < BRAIN_N_ROI_FILES; f++) free(s->roi[f]);
    for (int g = 0; g < 2; g++) {
        free(s->coef[g]);
        free(s->projected[g]);
    }
    free(s->ncsnr);
    free(s->lin);
    free(s->kind);
    free(s->sig_mean);
    free(s->sig_scale);
    free(s->signal_sd);
    free(s->noise_sd);
    free(s->drift);
    free(s->invalid);
    memset(s, 0, sizeof *s);
}

/* ---- betas ------------------------------------------------------------------------------ */

void brain_betas(const brain_subject *s, const brain_params *p, const brain_design *d,
                 long t0, long nt, int16_t *out) {
    long ns = p->sessions, rank = p->rank;
    memset(out, 0, bmc_mul_size(bmc_mul_size((size_t)nt, s->n_grid), sizeof *out));
    for (long tt = 0; tt < nt; tt++) {
        long t = t0 + tt, ses = t / p->trials_per_session, k = d->masterordering[t] - 1;
        BMC_CHECK(t < d->n_trials && ses == t0 / p->trials_per_session);
        int16_t *vol = out + (size_t)tt * s->n_grid;
        bmc_rng g;
        brain_rng(&g, p->seed, s->subject, BRAIN_RNG_NOISE, (uint64_t)t);
        for (long v = 0; v < s->n_brain; v++) {
            double e = bmc_rng_normal(&g); /* drawn for every voxel: streams stay aligned */
            if (s->invalid[v * ns + ses]) continue;
            double sig = s->sig_scale[v] * (raw_signal(s, rank, v, k) - s->sig_mean[v]);
            double resp = sig + s->noise_sd[v] * e + s->drift[v * ns + ses];
            double b = clampd(BRAIN_BETA_SCALE * (BRAIN_PSC_OFFSET + BRAIN_PSC_GAIN * resp),
                              -32768.0, 32767.0);
            long q = lround(b);
            vol[s->lin[v]] = (int16_t)(q == 0 ? 1 : q); /* 0 means invalid in NSD's files */
        }
    }
}

/* ---- ground truth ----------------------------------------------------------------------- */
/* bmc.groundtruth v1 (one per subject; n = brain voxels in x-fastest order, r = rank):
 *   /image_ids int64 [ips]              the subject's images (0-based; subjectim row − 1)
 *   /projection/{detail,semantic} [K, r] A_g;  /projected/{detail,semantic} [ips, r] P_g rows
 *   /voxels/ijk int32 [n, 3], /voxels/kind int32 [n] (BRAIN_KIND_*)
 *   /voxels/coef_{detail,semantic} [n, r], /voxels/signal_{mean,scale,sd} [n], /voxels/noise_sd
 *   /voxels/drift [n, sessions], /voxels/invalid uint8 [n, sessions]
 * Noiseless response of voxel v to image k: signal_scale·(P_D[k]·c_D + P_S[k]·c_S − signal_mean);
 * betas = round(beta_scale · (psc_offset + psc_gain · (signal + noise + drift))). */

/* Collective: create dataset `name` [d0] or [d0, d1] and let rank 0 write buf. */
static int put(bmc_h5 *f, const char *name, bmc_dtype t, hsize_t d0, hsize_t d1, const void *buf,
               bmc_err *err) {
    hsize_t dims[2] = {d0, d1};
    if (bmc_h5_create_dataset(f, name, t, d1 ? 2 : 1, dims, NULL, err)) return -1;
    return bmc_h5_write_rows(f, name, t, 0, f->rank == 0 ? d0 : 0, buf, err);
}

int brain_write_groundtruth(MPI_Comm comm, const bmc_provenance *prov, const char *path,
                            const brain_subject *s, const brain_params *p,
                            const brain_design *d, const brain_features *bf, bmc_err *err) {
    bmc_h5 f;
    if (bmc_h5_create_as(&f, comm, path, BMC_FMT_GROUNDTRUTH, err)) return -1;
    hsize_t nb = (hsize_t)s->n_brain, rank = (hsize_t)p->rank, ips = (hsize_t)p->images_per_subject;
    hsize_t ns = (hsize_t)p->sessions;
    int32_t *ijk = XNEW(ijk, 3 * nb);
    for (hsize_t v = 0; v < nb; v++) {
        int64_t li = s->lin[v];
        ijk[3 * v] = (int32_t)(li % s->dims[0]);
        ijk[3 * v + 1] = (int32_t)(li / s->dims[0] % s->dims[1]);
        ijk[3 * v + 2] = (int32_t)(li / ((int64_t)s->dims[0] * s->dims[1]));
    }
    const int64_t *ids = d->subjectim + (long)(s->subject - 1) * p->images_per_subject;
    long long grid[3] = {s->dims[0], s->dims[1], s->dims[2]};
    int rc = bmc_h5_write_provenance(&f, prov, err);
    if (!rc) rc = put(&f, "/image_ids", BMC_I64, ips, 0, ids, err);
    if (!rc) rc = put(&f, "/projection/detail", BMC_F64, (hsize_t)bf->dim[0], rank, bf->proj[0], err);
    if (!rc) rc = put(&f, "/projection/semantic", BMC_F64, (hsize_t)bf->dim[1], rank, bf->proj[1], err);
    if (!rc) rc = put(&f, "/projected/detail", BMC_F64, ips, rank, s->projected[0], err);
    if (!rc) rc = put(&f, "/projected/semantic", BMC_F64, ips, rank, s->projected[1], err);
    if (!rc) rc = put(&f, "/voxels/ijk", BMC_I32, nb, 3, ijk, err);
    if (!rc) rc = put(&f, "/voxels/kind", BMC_I32, nb, 0, s->kind, err);
    if (!rc) rc = put(&f, "/voxels/coef_detail", BMC_F64, nb, rank, s->coef[0], err);
    if (!rc) rc = put(&f, "/voxels/coef_semantic", BMC_F64, nb, rank, s->coef[1], err);
    if (!rc) rc = put(&f, "/voxels/signal_mean", BMC_F64, nb, 0, s->sig_mean, err);
    if (!rc) rc = put(&f, "/voxels/signal_scale", BMC_F64, nb, 0, s->sig_scale, err);
    if (!rc) rc = put(&f, "/voxels/signal_sd", BMC_F64, nb, 0, s->signal_sd, err);
    if (!rc) rc = put(&f, "/voxels/noise_sd", BMC_F64, nb, 0, s->noise_sd, err);
    if (!rc) rc = put(&f, "/voxels/drift", BMC_F64, nb, ns, s->drift, err);
    if (!rc) rc = put(&f, "/voxels/invalid", BMC_U8, nb, ns, s->invalid, err);
    if (!rc) rc = bmc_h5_attr_set_i64(&f, "/", "subject", s->subject, err);
    if (!rc) rc = bmc_h5_attr_set_i64_array(&f, "/", "grid", grid, 3, err);
    if (!rc) rc = bmc_h5_attr_set_i64(&f, "/", "rank", p->rank, err);
    if (!rc) rc = bmc_h5_attr_set_i64(&f, "/", "seed", (long long)p->seed, err);
    if (!rc) rc = bmc_h5_attr_set_f64(&f, "/", "snr", p->snr, err);
    if (!rc) rc = bmc_h5_attr_set_f64(&f, "/", "drift", p->drift, err);
    if (!rc) rc = bmc_h5_attr_set_f64(&f, "/", "beta_scale", BRAIN_BETA_SCALE, err);
    if (!rc) rc = bmc_h5_attr_set_f64(&f, "/", "psc_offset", BRAIN_PSC_OFFSET, err);
    if (!rc) rc = bmc_h5_attr_set_f64(&f, "/", "psc_gain", BRAIN_PSC_GAIN, err);
    free(ijk);
    if (!rc) return bmc_h5_commit(&f, err);
    bmc_h5_discard(&f);
    return -1;
}
