/* bmc_alloc.h — allocation that never returns NULL.
 *
 * Running out of memory is treated as an internal failure: the helpers print the size and the
 * call site, then abort every rank (MPI_Abort). Sizes are checked for overflow.
 * Not here: memory budgets (each stage plans its own blocks).
 */
#ifndef BMC_ALLOC_H
#define BMC_ALLOC_H

#include <stddef.h>

#include "bmc_attr.h"

void *bmc_xmalloc_at(size_t size, const char *file, int line);
void *bmc_xcalloc_at(size_t n, size_t size, const char *file, int line);
void *bmc_xrealloc_at(void *p, size_t size, const char *file, int line);
char *bmc_xstrdup_at(const char *s, const char *file, int line);
/* n * size with an overflow check (internal error on overflow). */
size_t bmc_mul_size_at(size_t n, size_t size, const char *file, int line);

#define xmalloc(size) bmc_xmalloc_at((size), __FILE__, __LINE__)
#define xcalloc(n, size) bmc_xcalloc_at((n), (size), __FILE__, __LINE__)
#define xrealloc(p, size) bmc_xrealloc_at((p), (size), __FILE__, __LINE__)
#define xstrdup(s) bmc_xstrdup_at((s), __FILE__, __LINE__)
#define bmc_mul_size(n, size) bmc_mul_size_at((n), (size), __FILE__, __LINE__)
/* Array of n elements of *ptr's type: `double *a = XNEW(a, n);` */
#define XNEW(ptr, n) xmalloc(bmc_mul_size((size_t)(n), sizeof *(ptr)))

/* printf into a fresh heap string. */
char *bmc_xasprintf(const char *fmt, ...) BMC_PRINTF(1, 2);

#endif
