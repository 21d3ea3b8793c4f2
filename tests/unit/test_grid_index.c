/* test_grid_index.c — serial checks of bmc_grid's index helpers and row-block math.
 *
 * The 0-based helpers (bmc_numroc, bmc_l2g and its unchecked bmc_l2g_fast, bmc_g2l, bmc_g2p)
 * are compared with ScaLAPACK's own 1-based numroc_/indxl2g_/indxg2l_/indxg2p_ over
 * exhaustive small ranges; the row-block partition is checked to cover 0..n exactly once with
 * the documented block size; and every prototype of bmc_scalapack.h (BLACS, ScaLAPACK, PBLAS
 * and the Fortran BLAS/LAPACK section) is resolved at link time. No MPI (nothing here
 * communicates).
 */
#include <limits.h>
#include <stdint.h>

#include "bmc_grid.h"
#include "bmc_scalapack.h"
#include "bmc_test.h"

enum { MAX_N = 40, MAX_NB = 9, MAX_NPROCS = 6 };

/* One comparison family: counts mismatches, remembers the first one for the report. */
typedef struct mismatch {
    long count, checked;
    char first[160];
} mismatch;

static void note(mismatch *mm, int ok, int n, int nb, int iproc, int isrc, int nprocs, int idx,
                 int mine, int theirs) {
    mm->checked++;
    if (ok) return;
    if (mm->count++ == 0)
        snprintf(mm->first, sizeof mm->first,
                 "n=%d nb=%d iproc=%d isrc=%d nprocs=%d index=%d: bmc %d vs scalapack %d", n,
                 nb, iproc, isrc, nprocs, idx, mine, theirs);
}

static void test_numroc(void) {
    mismatch mm = {0};
    long total_check = 0, total_bad = 0;
    for (int n = 0; n <= MAX_N; n++)
        for (int nb = 1; nb <= MAX_NB; nb++)
            for (int nprocs = 1; nprocs <= MAX_NPROCS; nprocs++)
                for (int isrc = 0; isrc < nprocs; isrc++) {
                    int sum = 0;
                    for (int p = 0; p < nprocs; p++) {
                        int mine = bmc_numroc(n, nb, p, isrc, nprocs);
                        int theirs = numroc_(&n, &nb, &p, &isrc, &nprocs);
                        note(&mm, mine == theirs, n, nb, p, isrc, nprocs, -1, mine, theirs);
                        sum += mine;
                    }
                    total_check++;
                    if (sum != n) total_bad++;
                }
    TEST_CHECK(mm.count == 0 && mm.checked > 10000, "numroc: %ld of %ld differ; first: %s",
               mm.count, mm.checked, mm.first);
    TEST_CHECK(total_bad == 0, "numroc: %ld of %ld layouts do not sum to n", total_bad,
               total_check);
}

/* l2g (and its unchecked twin bmc_l2g_fast) against indxl2g_, and the round trip g2p/g2l of
 * it, for every local index. */
static void test_l2g(void) {
    mismatch l2g = {0}, fast = {0}, back = {0};
    int zero = 0;
    for (int n = 1; n <= MAX_N; n++)
        for (int nb = 1; nb <= MAX_NB; nb++)
            for (int nprocs = 1; nprocs <= MAX_NPROCS; nprocs++)
                for (int p = 0; p < nprocs; p++) {
                    int nloc = bmc_numroc(n, nb, p, 0, nprocs);
                    for (int l = 0; l < nloc; l++) {
                        int l1 = l + 1;
                        int mine = bmc_l2g(l, nb, p, nprocs);
                        int theirs = indxl2g_(&l1, &nb, &p, &zero, &nprocs) - 1;
                        note(&l2g, mine == theirs, n, nb, p, 0, nprocs, l, mine, theirs);
                        int quick = bmc_l2g_fast(l, nb, p, nprocs);
                        note(&fast, quick == theirs, n, nb, p, 0, nprocs, l, quick, theirs);
                        int ok = mine >= 0 && mine < n && bmc_g2p(mine, nb, nprocs) == p &&
                                 bmc_g2l(mine, nb, nprocs) == l;
                        note(&back, ok, n, nb, p, 0, nprocs, l, mine, -1);
                    }
                }
    TEST_CHECK(l2g.count == 0 && l2g.checked > 5000, "l2g: %ld of %ld differ; first: %s",
               l2g.count, l2g.checked, l2g.first);
    TEST_CHECK(fast.count == 0 && fast.checked == l2g.checked,
               "l2g_fast: %ld of %ld differ; first: %s", fast.count, fast.checked, fast.first);
    TEST_CHECK(back.count == 0, "g2p/g2l(l2g(l)) != (p, l): %ld of %ld; first: %s", back.count,
               back.checked, back.first);
}

/* g2p and g2l against indxg2p_ / indxg2l_ for every global index. */
static void test_g2l_g2p(void) {
    mismatch g2p = {0}, g2l = {0}, g2lsrc = {0};
    int zero = 0;
    for (int n = 1; n <= MAX_N; n++)
        for (int nb = 1; nb <= MAX_NB; nb++)
            for (int nprocs = 1; nprocs <= MAX_NPROCS; nprocs++)
                for (int g = 0; g < n; g++) {
                    int g1 = g + 1;
                    int p_mine = bmc_g2p(g, nb, nprocs);
                    int p_theirs = indxg2p_(&g1, &nb, &zero, &zero, &nprocs);
                    note(&g2p, p_mine == p_theirs, n, nb, 0, 0, nprocs, g, p_mine, p_theirs);
                    int l_mine = bmc_g2l(g, nb, nprocs);
                    int l_theirs = indxg2l_(&g1, &nb, &p_theirs, &zero, &nprocs) - 1;
                    note(&g2l, l_mine == l_theirs, n, nb, p_theirs, 0, nprocs, g, l_mine,
                         l_theirs);
                    /* The owner's local index is below its numroc, and maps back. */
                    int ok = l_mine < bmc_numroc(n, nb, p_mine, 0, nprocs) &&
                             bmc_l2g(l_mine, nb, p_mine, nprocs) == g;
                    note(&g2lsrc, ok, n, nb, p_mine, 0, nprocs, g, l_mine, -1);
                }
    TEST_CHECK(g2p.count == 0 && g2p.checked > 5000, "g2p: %ld of %ld differ; first: %s",
               g2p.count, g2p.checked, g2p.first);
    TEST_CHECK(g2l.count == 0 && g2l.checked > 5000, "g2l: %ld of %ld differ; first: %s",
               g2l.count, g2l.checked, g2l.first);
    TEST_CHECK(g2lsrc.count == 0, "l2g(g2l(g)) != g: %ld of %ld; first: %s", g2lsrc.count,
               g2lsrc.checked, g2lsrc.first);
}

/* Row blocks: size ceil(n/P) (at least 1); ranks in order cover [0, n) exactly once; every
 * rank before the last non-empty one is full; the layout equals numroc with that block. */
static void test_rowblock(void) {
    long bad_size = 0, bad_cover = 0, bad_numroc = 0, layouts = 0;
    for (long n = 0; n <= 60; n++)
        for (int nprocs = 1; nprocs <= 9; nprocs++) {
            layouts++;
            long block = bmc_rowblock_size(n, nprocs);
            long expect = n == 0 ? 1 : (n + nprocs - 1) / nprocs;
            if (block != expect || block < 1) bad_size++;
            long next = 0;
            int seen_short = 0;
            for (int r = 0; r < nprocs; r++) {
                long row0, nrows;
                bmc_rowblock(n, nprocs, r, &row0, &nrows);
                if (nrows < 0 || nrows > block || (nrows > 0 && row0 != next) ||
                    (seen_short && nrows > 0))
                    bad_cover++;
                if (nrows < block) seen_short = 1;
                next += nrows;
                int ni = (int)n, bi = (int)block, zero = 0;
                if (numroc_(&ni, &bi, &r, &zero, &nprocs) != (int)nrows) bad_numroc++;
            }
            if (next != n) bad_cover++;
        }
    TEST_CHECK(bad_size == 0, "rowblock size wrong in %ld of %ld layouts", bad_size, layouts);
    TEST_CHECK(bad_cover == 0, "rowblock partition wrong in %ld of %ld layouts", bad_cover,
               layouts);
    TEST_CHECK(bad_numroc == 0, "rowblock differs from numroc in %ld of %ld", bad_numroc,
               layouts);

    /* Explicit cases, including m < P (trailing ranks hold nothing) and a huge n. */
    long row0, nrows;
    bmc_rowblock(3, 4, 2, &row0, &nrows);
    TEST_CHECK(row0 == 2 && nrows == 1, "n=3 P=4 rank 2: rows [%ld, +%ld)", row0, nrows);
    bmc_rowblock(3, 4, 3, &row0, &nrows);
    TEST_CHECK(row0 == 3 && nrows == 0, "n=3 P=4 rank 3: rows [%ld, +%ld)", row0, nrows);
    bmc_rowblock(10, 4, 3, &row0, &nrows);
    TEST_CHECK(row0 == 9 && nrows == 1, "n=10 P=4 rank 3: rows [%ld, +%ld)", row0, nrows);
    bmc_rowblock(9, 4, 3, &row0, &nrows); /* block 3: ranks hold 3, 3, 3, 0 */
    TEST_CHECK(row0 == 9 && nrows == 0, "n=9 P=4 rank 3: rows [%ld, +%ld)", row0, nrows);
    bmc_rowblock(0, 3, 1, &row0, &nrows);
    TEST_CHECK(row0 == 0 && nrows == 0, "n=0: rows [%ld, +%ld)", row0, nrows);
    TEST_CHECK(bmc_rowblock_size(0, 5) == 1, "empty matrix block %ld", bmc_rowblock_size(0, 5));
    long big = 3000000007L;
    TEST_CHECK(bmc_rowblock_size(big, 7) == 428571430L, "big block %ld",
               bmc_rowblock_size(big, 7));
    bmc_rowblock(big, 7, 6, &row0, &nrows);
    TEST_CHECK(row0 == 6 * 428571430L && nrows == big - 6 * 428571430L,
               "big n rank 6: rows [%ld, +%ld)", row0, nrows);
}

/* Explicit known values, independent of ScaLAPACK (a 2-cycle of blocks of 2 on 3 procs). */
static void test_known_values(void) {
    /* n = 11, nb = 2, 3 procs: blocks 0..5 go to procs 0,1,2,0,1,2 (the last block has 1). */
    TEST_CHECK(bmc_numroc(11, 2, 0, 0, 3) == 4, "%d", bmc_numroc(11, 2, 0, 0, 3));
    TEST_CHECK(bmc_numroc(11, 2, 1, 0, 3) == 4, "%d", bmc_numroc(11, 2, 1, 0, 3));
    TEST_CHECK(bmc_numroc(11, 2, 2, 0, 3) == 3, "%d", bmc_numroc(11, 2, 2, 0, 3));
    TEST_CHECK(bmc_numroc(11, 2, 2, 1, 3) == 4, "source 1: %d", bmc_numroc(11, 2, 2, 1, 3));
    TEST_CHECK(bmc_l2g(3, 2, 1, 3) == 9, "%d", bmc_l2g(3, 2, 1, 3));
    TEST_CHECK(bmc_g2p(9, 2, 3) == 1 && bmc_g2l(9, 2, 3) == 3, "%d %d", bmc_g2p(9, 2, 3),
               bmc_g2l(9, 2, 3));
    TEST_CHECK(bmc_g2p(10, 2, 3) == 2 && bmc_g2l(10, 2, 3) == 2, "%d %d", bmc_g2p(10, 2, 3),
               bmc_g2l(10, 2, 3));
}

/* Every routine declared in bmc_scalapack.h must exist in the library: taking the addresses
 * makes the link fail if one is missing or misspelt. */
typedef void (*any_fn)(void);
static void test_symbols_link(void) {
    any_fn fns[] = {
        (any_fn)Cblacs_pinfo,  (any_fn)Cblacs_get,       (any_fn)Cblacs_gridinit,
        (any_fn)Cblacs_gridmap, (any_fn)Cblacs_gridinfo, (any_fn)Cblacs_pnum,
        (any_fn)Cblacs_gridexit, (any_fn)Cblacs_exit,    (any_fn)Cblacs_barrier,
        (any_fn)Cblacs_abort,  (any_fn)Csys2blacs_handle, (any_fn)Cfree_blacs_system_handle,
        (any_fn)Cblacs2sys_handle,
        (any_fn)numroc_,       (any_fn)descinit_,        (any_fn)indxg2p_,
        (any_fn)indxg2l_,      (any_fn)indxl2g_,         (any_fn)pdgemr2d_,
        (any_fn)psgemr2d_,     (any_fn)Cpdgemr2d,        (any_fn)Cpsgemr2d,
        (any_fn)pdgemm_,       (any_fn)psgemm_,          (any_fn)pdsyrk_,
        (any_fn)pssyrk_,       (any_fn)pdgeadd_,         (any_fn)psgeadd_,
        (any_fn)pdtran_,       (any_fn)pstran_,          (any_fn)pdlacpy_,
        (any_fn)pslacpy_,      (any_fn)pdlaset_,         (any_fn)pdlange_,
        (any_fn)pslange_,      (any_fn)pdelset_,         (any_fn)pdelget_,
        (any_fn)pdpotrf_,      (any_fn)pdpotrs_,         (any_fn)pdsyevd_,
        (any_fn)pssyevd_,
        (any_fn)dgemm_,        (any_fn)sgemm_,           (any_fn)dsyrk_,
        (any_fn)dsytrd_,       (any_fn)dstedc_,          (any_fn)dlarft_,
        (any_fn)dlarfb_,       (any_fn)dlansy_,          (any_fn)dsyevd_,
    };
    size_t missing = 0;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (fns[i] == NULL) missing++;
    TEST_CHECK(missing == 0, "%zu routines unresolved", missing);
}

int main(void) {
    test_numroc();
    test_l2g();
    test_g2l_g2p();
    test_rowblock();
    test_known_values();
    test_symbols_link();
    return test_summary();
}
