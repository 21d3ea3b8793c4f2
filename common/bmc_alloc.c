/* bmc_alloc.c — xmalloc and friends: never NULL, overflow-checked, failures abort with the
 * size and call site (an allocation failure is not something a rank can recover from
 * without deadlocking the others). */
#include "bmc_alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_error.h"

void *bmc_xmalloc_at(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) bmc_bug(file, line, "out of memory allocating %zu bytes", size);
    return p;
}

void *bmc_xcalloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) bmc_bug(file, line, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *bmc_xrealloc_at(void *p, size_t size, const char *file, int line) {
    void *q = realloc(p, size ? size : 1);
    if (!q) bmc_bug(file, line, "out of memory reallocating to %zu bytes", size);
    return q;
}

char *bmc_xstrdup_at(const char *s, const char *file, int line) {
    size_t n = strlen(s) + 1;
    char *p = bmc_xmalloc_at(n, file, line);
    memcpy(p, s, n);
    return p;
}

size_t bmc_mul_size_at(size_t n, size_t size, const char *file, int line) {
    if (size && n > SIZE_MAX / size) bmc_bug(file, line, "size overflow: %zu x %zu", n, size);
    return n * size;
}

char *bmc_xasprintf(const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    BMC_CHECK(n >= 0);
    char *s = xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}
