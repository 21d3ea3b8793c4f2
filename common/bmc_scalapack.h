/* bmc_scalapack.h — C prototypes of the BLACS, ScaLAPACK and PBLAS routines brainmclip calls,
 * and of the Fortran BLAS/LAPACK routines its one-process paths call directly.
 *
 * Debian's libscalapack-openmpi ships no C header (and the Fortran interface of BLAS/LAPACK has
 * none either), so every prototype is declared here, once.
 * Fortran ABI (Fortran and F77-interface routines): lowercase name + one underscore, every
 * argument by pointer, and one hidden `size_t` length per CHARACTER argument appended at the
 * end (gfortran >= 8; pass 1 for one-letter options). The Cblacs_* C interface takes values.
 * Indices in these routines are 1-based (ia, ja, ...). Each symbol was checked with
 * `nm -D libscalapack-openmpi.so` (ScaLAPACK 2.2.1) or OpenBLAS's libblas/liblapack (0.3.21);
 * tests/unit/test_grid_index.c links every one. Not here: wrappers (bmc_grid.h), the CBLAS
 * interface (<cblas.h>).
 */
#ifndef BMC_SCALAPACK_H
#define BMC_SCALAPACK_H

#include <mpi.h>
#include <stddef.h>

/* Positions in a ScaLAPACK array descriptor (int desc[9], dtype 1 = dense block-cyclic). */
enum {
    BMC_DESC_DTYPE = 0,
    BMC_DESC_CTXT = 1,
    BMC_DESC_M = 2,
    BMC_DESC_N = 3,
    BMC_DESC_MB = 4,
    BMC_DESC_NB = 5,
    BMC_DESC_RSRC = 6,
    BMC_DESC_CSRC = 7,
    BMC_DESC_LLD = 8,
    BMC_DESC_LEN = 9
};

/* ---- BLACS, C interface: process grids and contexts (values, not pointers) ------------- */
void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int ictxt, int what, int *val);
void Cblacs_gridinit(int *ictxt, const char *order, int nprow, int npcol);
void Cblacs_gridmap(int *ictxt, int *usermap, int ldumap, int nprow, int npcol);
void Cblacs_gridinfo(int ictxt, int *nprow, int *npcol, int *myrow, int *mycol);
int Cblacs_pnum(int ictxt, int prow, int pcol);
void Cblacs_gridexit(int ictxt);
/* notdone != 0 keeps MPI running; 0 calls MPI_Finalize. */
void Cblacs_exit(int notdone);
void Cblacs_barrier(int ictxt, const char *scope);
void Cblacs_abort(int ictxt, int errornum);
/* BLACS system handle of an MPI communicator (input to Cblacs_gridinit/gridmap), and its
 * release once the contexts built on it exist. */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
/* The MPI communicator behind a system handle (e.g. one from Cblacs_get(ctxt,
 * BMC_BLACS_GET_CONTEXT_COMM, &h), which is the context's own communicator). */
MPI_Comm Cblacs2sys_handle(int handle);
/* Cblacs_get `what` values (BLACS' SGET_SYSCONTXT and SGET_BLACSCONTXT). */
enum { BMC_BLACS_GET_SYSTEM = 0, BMC_BLACS_GET_CONTEXT_COMM = 10 };

/* ---- ScaLAPACK TOOLS: descriptors and index arithmetic (1-based indices) --------------- */
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc,
            const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ictxt, const int *lld,
               int *info);
int indxg2p_(const int *indxglob, const int *nb, const int *iproc, const int *isrcproc,
             const int *nprocs);
int indxg2l_(const int *indxglob, const int *nb, const int *iproc, const int *isrcproc,
             const int *nprocs);
int indxl2g_(const int *indxloc, const int *nb, const int *iproc, const int *isrcproc,
             const int *nprocs);

/* ---- REDIST: copy a submatrix between any two distributions; ictxt must span every
 * process of both descriptors' contexts. Fortran form (pointers, 1-based) and C form. ---- */
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja,
               const int *desca, double *b, const int *ib, const int *jb, const int *descb,
               const int *ictxt);
void psgemr2d_(const int *m, const int *n, const float *a, const int *ia, const int *ja,
               const int *desca, float *b, const int *ib, const int *jb, const int *descb,
               const int *ictxt);
void Cpdgemr2d(int m, int n, double *a, int ia, int ja, int *desca, double *b, int ib, int jb,
               int *descb, int ictxt);
void Cpsgemr2d(int m, int n, float *a, int ia, int ja, int *desca, float *b, int ib, int jb,
               int *descb, int ictxt);

/* ---- PBLAS level 3: products ------------------------------------------------------------ */
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja,
             const int *desca, const double *b, const int *ib, const int *jb,
             const int *descb, const double *beta, double *c, const int *ic, const int *jc,
             const int *descc, size_t transa_len, size_t transb_len);
void psgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
             const float *alpha, const float *a, const int *ia, const int *ja,
             const int *desca, const float *b, const int *ib, const int *jb, const int *descb,
             const float *beta, float *c, const int *ic, const int *jc, const int *descc,
             size_t transa_len, size_t transb_len);
/* C := alpha·op(A)·op(A)ᵀ + beta·C, only the `uplo` triangle of C is referenced. */
void pdsyrk_(const char *uplo, const char *trans, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja,
             const int *desca, const double *beta, double *c, const int *ic, const int *jc,
             const int *descc, size_t uplo_len, size_t trans_len);
void pssyrk_(const char *uplo, const char *trans, const int *n, const int *k,
             const float *alpha, const float *a, const int *ia, const int *ja,
             const int *desca, const float *beta, float *c, const int *ic, const int *jc,
             const int *descc, size_t uplo_len, size_t trans_len);

/* ---- PBLAS / ScaLAPACK auxiliaries: copies, sums, transposes, norms, elements ----------- */
/* C := beta·C + alpha·op(A). */
void pdgeadd_(const char *trans, const int *m, const int *n, const double *alpha,
              const double *a, const int *ia, const int *ja, const int *desca,
              const double *beta, double *c, const int *ic, const int *jc, const int *descc,
              size_t trans_len);
void psgeadd_(const char *trans, const int *m, const int *n, const float *alpha,
              const float *a, const int *ia, const int *ja, const int *desca,
              const float *beta, float *c, const int *ic, const int *jc, const int *descc,
              size_t trans_len);
/* C := beta·C + alpha·Aᵀ (A is n × m, C is m × n). */
void pdtran_(const int *m, const int *n, const double *alpha, const double *a, const int *ia,
             const int *ja, const int *desca, const double *beta, double *c, const int *ic,
             const int *jc, const int *descc);
void pstran_(const int *m, const int *n, const float *alpha, const float *a, const int *ia,
             const int *ja, const int *desca, const float *beta, float *c, const int *ic,
             const int *jc, const int *descc);
/* B := A on the `uplo` part ("U", "L", or anything else for all). */
void pdlacpy_(const char *uplo, const int *m, const int *n, const double *a, const int *ia,
              const int *ja, const int *desca, double *b, const int *ib, const int *jb,
              const int *descb, size_t uplo_len);
void pslacpy_(const char *uplo, const int *m, const int *n, const float *a, const int *ia,
              const int *ja, const int *desca, float *b, const int *ib, const int *jb,
              const int *descb, size_t uplo_len);
/* Off-diagonal entries := alpha, diagonal := beta. */
void pdlaset_(const char *uplo, const int *m, const int *n, const double *alpha,
              const double *beta, double *a, const int *ia, const int *ja, const int *desca,
              size_t uplo_len);
/* norm "M" (max abs), "1", "I" (infinity) or "F"; work: see the ScaLAPACK docs ("1" needs
 * Nq0 doubles, "I" Mp0; "M"/"F" need none). Result is valid on every process. */
double pdlange_(const char *norm, const int *m, const int *n, const double *a, const int *ia,
                const int *ja, const int *desca, double *work, size_t norm_len);
float pslange_(const char *norm, const int *m, const int *n, const float *a, const int *ia,
               const int *ja, const int *desca, float *work, size_t norm_len);
/* A(ia, ja) := alpha on its owner (no communication). */
void pdelset_(double *a, const int *ia, const int *ja, const int *desca, const double *alpha);
/* alpha := A(ia, ja), broadcast over `scope` ("R", "C" or "A") with topology `top` (" "). */
void pdelget_(const char *scope, const char *top, double *alpha, const double *a,
              const int *ia, const int *ja, const int *desca, size_t scope_len,
              size_t top_len);

/* ---- ScaLAPACK drivers: Cholesky and the symmetric eigensolver ------------------------ */
void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, int *info, size_t uplo_len);
void pdpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *ia,
              const int *ja, const int *desca, double *b, const int *ib, const int *jb,
              const int *descb, int *info, size_t uplo_len);
/* Divide and conquer; jobz must be "V". lwork = liwork = -1 is a workspace query. */
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, double *w, double *z, const int *iz,
              const int *jz, const int *descz, double *work, const int *lwork, int *iwork,
              const int *liwork, int *info, size_t jobz_len, size_t uplo_len);
void pssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *ia,
              const int *ja, const int *desca, float *w, float *z, const int *iz,
              const int *jz, const int *descz, float *work, const int *lwork, int *iwork,
              const int *liwork, int *info, size_t jobz_len, size_t uplo_len);

/* ---- BLAS (Fortran interface, column-major): the one-process products ------------------- */
/* C := alpha·op(A)·op(B) + beta·C. */
void dgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *b,
            const int *ldb, const double *beta, double *c, const int *ldc, size_t transa_len,
            size_t transb_len);
void sgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
            const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
            const float *beta, float *c, const int *ldc, size_t transa_len, size_t transb_len);
/* C := alpha·op(A)·op(A)ᵀ + beta·C, only the `uplo` triangle of C is referenced. */
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc,
            size_t uplo_len, size_t trans_len);

/* ---- LAPACK: the one-process symmetric eigensolver and its pieces ----------------------- */
/* Reduce the symmetric A to tridiagonal form (d, e) by reflectors (left in A, scalars tau). */
void dsytrd_(const char *uplo, const int *n, double *a, const int *lda, double *d, double *e,
             double *tau, double *work, const int *lwork, int *info, size_t uplo_len);
/* Eigenpairs of the symmetric tridiagonal (d, e) by divide and conquer. */
void dstedc_(const char *compz, const int *n, double *d, double *e, double *z, const int *ldz,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t compz_len);
/* The triangular factor T of a block of k reflectors (H = I − V·T·Vᵀ). */
void dlarft_(const char *direct, const char *storev, const int *n, const int *k, const double *v,
             const int *ldv, const double *tau, double *t, const int *ldt, size_t direct_len,
             size_t storev_len);
/* Apply a block reflector (V, T) to C from the `side`. */
void dlarfb_(const char *side, const char *trans, const char *direct, const char *storev,
             const int *m, const int *n, const int *k, const double *v, const int *ldv,
             const double *t, const int *ldt, double *c, const int *ldc, double *work,
             const int *ldwork, size_t side_len, size_t trans_len, size_t direct_len,
             size_t storev_len);
/* norm "M", "1", "I" or "F" of a symmetric matrix (work: n doubles for "1"/"I"). */
double dlansy_(const char *norm, const char *uplo, const int *n, const double *a, const int *lda,
               double *work, size_t norm_len, size_t uplo_len);
/* All eigenpairs of a symmetric matrix (divide and conquer); lwork = liwork = -1 queries. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);

#endif
