/* test_eval_recon.c — MPI test of stages/evaluate/recon.c (PixCorr/SSIM of retrieved images,
 * montage PNG), driven by tests/mpi/eval_recon_check.py.
 *
 * usage: test_eval_recon DIR. DIR (written by the Python driver with h5py) holds stimuli.h5
 * (bmc.stimuli), nsd.h5 (the same images without a format attribute, like NSD's file),
 * bad_*.h5 (wrong /imgBrick), ids.txt ("m nb k" then eval ids, then retrieved ids
 * branch-major) and a folder isdir.png/ (not empty). This program checks what needs no
 * reference: agreed errors (every rank −1, the same message naming id and file), PixCorr the
 * same in both SSIM modes, self-retrievals score 1, NSD file = bmc.stimuli file, montage
 * failures leave nothing behind. It writes DIR/scores.npN.f64 (pixcorr, ssim mindeye, ssim 2d; each
 * [nb × m]) and DIR/montage.npN.png, DIR/montage_all.npN.png for the driver, which compares
 * them with torch/skimage, across rank counts, and reads the PNGs with PIL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmc_alloc.h"
#include "bmc_error.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "bmc_test.h"
#include "recon.h"

static int rank, nprocs;

/* FNV-1a of a string: to compare messages across ranks. */
static unsigned long long hash_str(const char *s) {
    unsigned long long h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Collective: rc is −1 on every rank, the message is the same everywhere and contains each
 * non-NULL needle. */
static void expect_agreed_failure(const char *what, int rc, const bmc_err *e, const char *n1,
                                  const char *n2) {
    int lo = 0, hi = 0;
    MPI_Allreduce(&rc, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&rc, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    TEST_CHECK(lo == -1 && hi == -1, "%s: rc on ranks in [%d, %d], want -1 everywhere", what, lo,
               hi);
    unsigned long long h = hash_str(e->msg), hmin = 0, hmax = 0;
    MPI_Allreduce(&h, &hmin, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&h, &hmax, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    TEST_CHECK(e->failed && hmin == hmax, "%s: message differs across ranks: %s", what, e->msg);
    TEST_CHECK(!n1 || strstr(e->msg, n1), "%s: message lacks '%s': %s", what, n1, e->msg);
    TEST_CHECK(!n2 || strstr(e->msg, n2), "%s: message lacks '%s': %s", what, n2, e->msg);
    if (rank == 0) printf("%-28s error: %s\n", what, e->msg);
}

static void expect_open_fails(const char *dir, const char *file, const char *needle) {
    char *path = bmc_path_join(dir, file);
    recon_source src;
    bmc_err e = {0};
    int rc = recon_open(&src, MPI_COMM_WORLD, path, &e);
    expect_agreed_failure(file, rc, &e, path, needle);
    recon_close(&src); /* safe after a failed open */
    free(path);
}

/* 1 if path exists (checked on rank 0, broadcast). */
static int exists_everywhere(const char *path) {
    int ex = rank == 0 ? bmc_path_exists(path) : 0;
    MPI_Bcast(&ex, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return ex;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nprocs);
    bmc_log_init("test_eval_recon", -1);
    if (argc != 2) {
        if (rank == 0) fprintf(stderr, "usage: test_eval_recon DIR\n");
        MPI_Finalize();
        return 2;
    }
    const char *dir = argv[1];

    /* ids.txt: m nb k, eval ids [m], retrieved [nb × m] */
    char *ids_path = bmc_path_join(dir, "ids.txt");
    FILE *fp = fopen(ids_path, "r");
    if (!fp) BMC_BUG("cannot read %s", ids_path);
    long m = 0, k = 0;
    int nb = 0;
    if (fscanf(fp, "%ld %d %ld", &m, &nb, &k) != 3 || m < 2 || nb < 1 || k < 1 || k >= m)
        BMC_BUG("bad header in %s", ids_path);
    long long *eval_ids = XNEW(eval_ids, m), *retrieved = XNEW(retrieved, nb * m);
    for (long i = 0; i < m; i++)
        if (fscanf(fp, "%lld", &eval_ids[i]) != 1) BMC_BUG("short %s", ids_path);
    for (long i = 0; i < nb * m; i++)
        if (fscanf(fp, "%lld", &retrieved[i]) != 1) BMC_BUG("short %s", ids_path);
    fclose(fp);
    free(ids_path);
    const char *names[] = {"fused", "semantic", "detail", "extra", "more", "most"};
    BMC_CHECK(nb <= 6);

    /* ---- scores: MindEye's SSIM in rounds of 2 images per rank, the 2-D one in one round;
     * the driver compares both with the reference, so rounds cannot change a value ---- */
    char *stim_path = bmc_path_join(dir, "stimuli.h5");
    recon_source src;
    bmc_err e = {0};
    int rc = recon_open(&src, MPI_COMM_WORLD, stim_path, &e);
    TEST_CHECK(rc == 0, "open %s: %s", stim_path, e.msg);
    if (rc != 0) {
        int status = test_summary_mpi(MPI_COMM_WORLD);
        MPI_Finalize();
        return status;
    }
    TEST_CHECK(src.h == 48 && src.w == 64 && src.n == 40 && src.chunk == RECON_CHUNK_DEFAULT,
               "shape %ld %ld %ld, chunk %ld", src.n, src.h, src.w, src.chunk);
    size_t nm = (size_t)(nb * m);
    double *pix = XNEW(pix, nm), *s_cols = XNEW(s_cols, nm), *pix2 = XNEW(pix2, nm),
           *s_2d = XNEW(s_2d, nm), *pix3 = XNEW(pix3, nm), *s_cols3 = XNEW(s_cols3, nm);
    src.chunk = 2;
    rc = recon_score(&src, m, eval_ids, nb, retrieved, SSIM_MINDEYE_COLUMNS, pix, s_cols, &e);
    TEST_CHECK(rc == 0 && src.m == m, "score (mindeye): %s", e.msg);
    src.chunk = RECON_CHUNK_DEFAULT;
    rc = recon_score(&src, m, eval_ids, nb, retrieved, SSIM_2D, pix2, s_2d, &e);
    TEST_CHECK(rc == 0, "score (2d): %s", e.msg);
    TEST_CHECK(memcmp(pix, pix2, nm * sizeof *pix) == 0, "pixcorr differs between the calls");
    /* an image retrieved for itself scores 1 */
    for (int b = 0; b < nb; b++)
        for (long i = 0; i < m; i++)
            if (retrieved[b * m + i] == eval_ids[i])
                TEST_CHECK(fabs(pix[b * m + i] - 1.0) < 1e-12 && fabs(s_cols[b * m + i] - 1.0) <
                               1e-12 && fabs(s_2d[b * m + i] - 1.0) < 1e-12,
                           "self-retrieval of %lld scores %g %g %g", eval_ids[i],
                           pix[b * m + i], s_cols[b * m + i], s_2d[b * m + i]);
    if (rank == 0) {
        char *out = bmc_xasprintf("%s/scores.np%d.f64", dir, nprocs);
        FILE *fo = fopen(out, "wb");
        TEST_CHECK(fo != NULL, "cannot write %s", out);
        if (fo) {
            fwrite(pix, sizeof *pix, nm, fo);
            fwrite(s_cols, sizeof *pix, nm, fo);
            fwrite(s_2d, sizeof *pix, nm, fo);
            fclose(fo);
        }
        free(out);
    }

    /* ---- ids out of range: agreed errors naming id and file ---- */
    long long saved = retrieved[(nb - 1) * m + m - 1];
    retrieved[(nb - 1) * m + m - 1] = 4000;
    bmc_err e2 = {0};
    rc = recon_score(&src, m, eval_ids, nb, retrieved, SSIM_2D, pix3, s_cols3, &e2);
    expect_agreed_failure("retrieved id 4000", rc, &e2, "4000", stim_path);
    retrieved[(nb - 1) * m + m - 1] = saved;
    saved = eval_ids[1];
    eval_ids[1] = -3;
    bmc_err e3 = {0};
    rc = recon_score(&src, m, eval_ids, nb, retrieved, SSIM_2D, pix3, s_cols3, &e3);
    expect_agreed_failure("eval id -3", rc, &e3, "-3", stim_path);
    eval_ids[1] = saved;

    /* ---- montages ---- */
    char *png = bmc_xasprintf("%s/montage.np%d.png", dir, nprocs);
    char *png_all = bmc_xasprintf("%s/montage_all.np%d.png", dir, nprocs);
    src.chunk = 2; /* k rows over several read rounds */
    rc = recon_montage(&src, png, k, eval_ids, nb, names, retrieved, &e);
    TEST_CHECK(rc == 0, "montage: %s", e.msg);
    src.chunk = RECON_CHUNK_DEFAULT;
    rc = recon_montage_rows(&src, png_all, 10 * m, m, eval_ids, nb, names, retrieved, &e);
    TEST_CHECK(rc == 0, "montage of all rows: %s", e.msg);
    char *partial = bmc_xasprintf("%s.partial", png);
    TEST_CHECK(exists_everywhere(png) && exists_everywhere(png_all) && !exists_everywhere(partial),
               "montage files: %s exists %d, .partial exists %d", png, bmc_path_exists(png),
               bmc_path_exists(partial));
    free(partial);

    /* a folder that does not exist: agreed error, nothing written */
    char *missing = bmc_xasprintf("%s/no-such-folder/montage.png", dir);
    char *missing_partial = bmc_xasprintf("%s.partial", missing);
    bmc_err e4 = {0};
    rc = recon_montage(&src, missing, k, eval_ids, nb, names, retrieved, &e4);
    expect_agreed_failure("montage in missing folder", rc, &e4, "no-such-folder", NULL);
    TEST_CHECK(!exists_everywhere(missing) && !exists_everywhere(missing_partial),
               "files left by the failed montage");
    /* the target is a non-empty folder: the .partial is written, the rename fails, and the
     * .partial must be removed again */
    char *isdir = bmc_xasprintf("%s/isdir.png", dir);
    char *isdir_partial = bmc_xasprintf("%s.partial", isdir);
    bmc_err e5 = {0};
    rc = recon_montage(&src, isdir, k, eval_ids, nb, names, retrieved, &e5);
    expect_agreed_failure("montage onto a folder", rc, &e5, "isdir.png", "rename");
    TEST_CHECK(bmc_is_dir(isdir) && !exists_everywhere(isdir_partial),
               "the failed rename left %s", isdir_partial);
    /* an out-of-range id in the montage rows */
    char *bad_png = bmc_xasprintf("%s/bad.np%d.png", dir, nprocs);
    saved = retrieved[1 * m + 0];
    retrieved[1 * m + 0] = 40;
    bmc_err e6 = {0};
    rc = recon_montage(&src, bad_png, k, eval_ids, nb, names, retrieved, &e6);
    expect_agreed_failure("montage id 40", rc, &e6, "id 40", stim_path);
    retrieved[1 * m + 0] = saved;
    TEST_CHECK(!exists_everywhere(bad_png), "failed montage left %s", bad_png);
    bmc_err e7 = {0};
    rc = recon_montage(&src, bad_png, 0, eval_ids, nb, names, retrieved, &e7);
    expect_agreed_failure("montage of 0 rows", rc, &e7, "0 images", NULL);
    recon_close(&src);

    /* ---- NSD's layout without a format attribute gives the same scores (2 images) ---- */
    char *nsd_path = bmc_path_join(dir, "nsd.h5");
    rc = recon_open(&src, MPI_COMM_WORLD, nsd_path, &e);
    TEST_CHECK(rc == 0, "open %s: %s", nsd_path, e.msg);
    if (rc == 0) {
        enum { M3 = 2 };
        long long sub_eval[M3], sub_ret[6 * M3];
        for (int i = 0; i < M3; i++) {
            sub_eval[i] = eval_ids[m - 1 - i];
            for (int b = 0; b < nb; b++) sub_ret[b * M3 + i] = retrieved[b * m + m - 1 - i];
        }
        rc = recon_score(&src, M3, sub_eval, nb, sub_ret, SSIM_MINDEYE_COLUMNS, pix3, s_cols3,
                         &e);
        TEST_CHECK(rc == 0, "NSD-layout score: %s", e.msg);
        for (int i = 0; rc == 0 && i < M3; i++)
            for (int b = 0; b < nb; b++)
                TEST_CHECK(pix3[b * M3 + i] == pix[b * m + m - 1 - i] &&
                               s_cols3[b * M3 + i] == s_cols[b * m + m - 1 - i],
                           "NSD-layout file scores differ at image %d branch %d", i, b);
        recon_close(&src);
    }

    /* ---- bad stimuli files ---- */
    expect_open_fails(dir, "bad_float.h5", "float32");
    expect_open_fails(dir, "bad_channels.h5", "expected uint8 [N, H, W, 3]");
    expect_open_fails(dir, "bad_rank.h5", "expected uint8 [N, H, W, 3]");
    expect_open_fails(dir, "bad_small.h5", "10 × 64");
    expect_open_fails(dir, "no_imgbrick.h5", "no dataset /imgBrick");
    expect_open_fails(dir, "missing.h5", "no such file");

    free(stim_path), free(nsd_path), free(png), free(png_all), free(missing);
    free(missing_partial), free(isdir), free(isdir_partial), free(bad_png);
    free(pix), free(pix2), free(pix3), free(s_cols), free(s_2d), free(s_cols3);
    free(eval_ids), free(retrieved);
    int status = test_summary_mpi(MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
