/* ridge_eig.h — the one-process symmetric eigensolver of the ridge fit (ridge_eig.c): all
 * eigenpairs of a dense symmetric matrix, as LAPACK's dsyevd computes them, with a faster
 * back-transformation. Internal to common/ridge; the distributed path is ScaLAPACK's pdsyevd.
 */
#ifndef BMC_RIDGE_EIG_H
#define BMC_RIDGE_EIG_H

#include <stddef.h>

/* Reflectors per block of the back-transformation (dormtr applies 32). */
enum { RIDGE_EIG_BT_NB = 128 };

/* Local, pure: doubles of workspace ridge_eig_local needs for order n (≥ 1); *liwork (if not
 * NULL) receives the ints. */
size_t ridge_eig_work(int n, size_t *liwork);

/* Local: eigenvalues of the symmetric n × n matrix a (lower triangle used, column-major, lda ≥ n)
 * ascending into w (n), orthonormal eigenvectors as the columns of z (n × n, ldz ≥ n). a is
 * overwritten. work/iwork: at least ridge_eig_work(n) doubles / ints. Returns LAPACK's info
 * (0 on success; > 0 when dstedc did not converge). */
int ridge_eig_local(int n, double *a, int lda, double *w, double *z, int ldz, double *work,
                    size_t lwork, int *iwork, size_t liwork);

/* The reference twin: LAPACK's dsyevd (its own workspace, allocated here), vectors copied to
 * z. Same contract and results up to rounding. */
int ridge_eig_local_naive(int n, double *a, int lda, double *w, double *z, int ldz);

#endif
