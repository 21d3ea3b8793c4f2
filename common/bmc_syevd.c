/* bmc_syevd.c — pdsyevd made safe (bmc_syevd.h explains both library defects): its workspace
 * and the call that hands every process the same sorted eigenvalues.
 * Not here: what the eigenvectors are used for (common/ridge/ridge_basis.c).
 */
#include "bmc_syevd.h"

#include "bmc_error.h"
#include "bmc_scalapack.h"

void bmc_pdsyevd_workspace_library(int n, int nb, const bmc_grid *g, int *lwork, int *liwork) {
    int desc[9], info = 0, zero = 0, one = 1;
    int lld = bmc_numroc(n, nb, g->myrow, 0, g->nprow);
    if (lld < 1) lld = 1;
    descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &g->ctxt, &lld, &info);
    BMC_CHECK(info == 0);
    double dummy = 0.0, wq = 0.0;
    int iwq = 0, lw = -1, liw = -1;
    pdsyevd_("V", "L", &n, &dummy, &one, &one, desc, &dummy, &dummy, &one, &one, desc, &wq, &lw,
             &iwq, &liw, &info, 1, 1);
    BMC_CHECK(info == 0 && wq >= 1.0 && wq < 2147483647.0);
    *lwork = (int)wq;
    *liwork = iwq > 1 ? iwq : 1;
}

void bmc_pdsyevd_inner_needs(int n, int nb, int nprow, int npcol, int myrow, int mycol,
                             long *ormtr, long *lasrt) {
    long np = bmc_numroc(n, nb, myrow, 0, nprow), nq = bmc_numroc(n, nb, mycol, 0, npcol);
    long b = nb;
    /* PDORMTR('L', 'L', 'N', n, n, A, 1, 1, ..., Z, 1, 1, ...): C = Z(2:n, 1:n), so MpC0 =
     * numroc(n − 1 + 1, ...) = NP and NqC0 = NQ. */
    long tri = b * (b - 1) / 2, panel = (np + nq) * b;
    *ormtr = (tri > panel ? tri : panel) + b * b;
    /* PDLASRT runs after the distributed divide and conquer: n > NB, several processes. */
    *lasrt = 0;
    if (n > nb && nprow * npcol > 1) *lasrt = np * (b + nq) > n ? np * (b + nq) : n;
}

void bmc_pdsyevd_workspace(int n, int nb, const bmc_grid *g, int *lwork, int *liwork) {
    int lw = 0, liw = 0;
    bmc_pdsyevd_workspace_library(n, nb, g, &lw, &liw);
    /* The query's formula is monotone in NP and NQ, which process (0, 0) holds the most of;
     * take its value (and liwork's, which is the same everywhere) on every process. */
    long np0 = bmc_numroc(n, nb, 0, 0, g->nprow), nq0 = bmc_numroc(n, nb, 0, 0, g->npcol);
    long a = 1 + 6L * n + 2 * np0 * nq0;
    long tri = 3L * n + (nb * (np0 + 1) > 3L * nb ? nb * (np0 + 1) : 3L * nb);
    long query0 = (a > tri ? a : tri) + 2L * n;
    long ormtr = 0, lasrt = 0;
    bmc_pdsyevd_inner_needs(n, nb, g->nprow, g->npcol, 0, 0, &ormtr, &lasrt);
    long need = 2L * n + (ormtr > lasrt ? ormtr : lasrt);
    long best = lw;
    if (query0 > best) best = query0;
    if (need > best) best = need;
    BMC_CHECK(best < 2147483647L);
    *lwork = (int)best;
    *liwork = liw;
}

int bmc_pdsyevd(bmc_distmat *a, double *w, bmc_distmat *z, double *work, int lwork, int *iwork,
                int liwork) {
    const bmc_grid *g = a->grid;
    BMC_CHECK(a->m == a->n && z->m == a->m && z->n == a->n && a->mb == a->nb && z->grid == g);
    int n = a->m, one = 1, info = 0;
    pdsyevd_("V", "L", &n, a->data, &one, &one, a->desc, w, z->data, &one, &one, z->desc, work,
             &lwork, iwork, &liwork, &info, 1, 1);
    /* Only the owner of block (0, 0) is certain to hold the sorted eigenvalues (for n ≤ nb
     * PDSTEDC solves on that process alone and broadcasts nothing). */
    int mine = g->myrow == 0 && g->mycol == 0 ? g->rank : g->size, root = 0, worst = 0;
    BMC_MPI(MPI_Allreduce(&mine, &root, 1, MPI_INT, MPI_MIN, g->comm));
    BMC_CHECK(root < g->size);
    if (n > 0) BMC_MPI(MPI_Bcast(w, n, MPI_DOUBLE, root, g->comm));
    int bad = info != 0 ? (info < 0 ? -info : info) : 0;
    BMC_MPI(MPI_Allreduce(&bad, &worst, 1, MPI_INT, MPI_MAX, g->comm));
    return worst;
}
