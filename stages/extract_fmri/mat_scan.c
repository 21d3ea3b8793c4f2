/* mat_scan.c — a bounds check of a MATLAB v5/v7 .mat file's structure before matio reads it
 * (declared in nsd.h). matio allocates whatever sizes the file's tags claim (a dims tag of
 * 2 GB in a 300-byte file makes it malloc 4 GB), so every tag, dimension and element count
 * is checked here against the bytes that really hold it: the file's size, the enclosing
 * element's length, and for compressed variables the inflated stream (bounded by zlib's
 * 1032:1 ratio and MAT_SCAN_MAX_BYTES). Nested cell and struct arrays are walked too.
 * Not here: reading values (nsd.c through matio). v7.3 files (HDF5) pass through unscanned.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "nsd.h"

#define MAT_HEADER 128
#define MAT_SCAN_MAX_BYTES ((size_t)1 << 28) /* inflated size of one variable, 256 MiB */
#define MAT_SCAN_MAX_DEPTH 8
#define MAT_SCAN_MAX_RANK 32
enum { MI_INT8 = 1, MI_INT32 = 5, MI_UINT32 = 6, MI_MATRIX = 14, MI_COMPRESSED = 15 };
enum { MX_CELL = 1, MX_STRUCT = 2, MX_OBJECT = 3, MX_CHAR = 4, MX_SPARSE = 5, MX_UINT64 = 15 };

typedef struct mat_cursor {
    const uint8_t *p;
    size_t n;        /* bytes left */
    int swap;        /* file written with the other byte order */
} mat_cursor;

static uint32_t rd32(const uint8_t *p, int swap) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return swap ? __builtin_bswap32(v) : v;
}

/* Next data element of c: its type, its payload (within c) and length. A tag that claims more
 * bytes than c holds is an error. Advances c past the element and its padding. */
static int next_element(mat_cursor *c, uint32_t *type, const uint8_t **data, size_t *len,
                        const char *path, bmc_err *err) {
    if (c->n < 8)
        return bmc_err_set(err, "the file is truncated or damaged",
                           "%s: a data element's tag is cut off (%zu bytes left)", path, c->n);
    uint32_t t = rd32(c->p, c->swap), nb;
    if (t >> 16) { /* small data element: type and length in one word, data in the next */
        nb = t >> 16;
        t &= 0xffff;
        if (nb > 4)
            return bmc_err_set(err, "the file is damaged", "%s: a small data element claims %u "
                               "bytes (at most 4)", path, nb);
        *type = t, *data = c->p + 4, *len = nb;
        c->p += 8, c->n -= 8;
        return 0;
    }
    nb = rd32(c->p + 4, c->swap);
    if (nb > c->n - 8)
        return bmc_err_set(err, "the file is truncated or damaged",
                           "%s: a data element claims %u bytes but only %zu follow", path, nb,
                           c->n - 8);
    *type = t, *data = c->p + 8, *len = nb;
    /* Compressed elements are not padded; the others are to 8 bytes. */
    size_t step = 8 + (size_t)nb + (t == MI_COMPRESSED ? 0 : (8 - nb % 8) % 8);
    if (step > c->n) step = c->n;
    c->p += step, c->n -= step;
    return 0;
}

/* The payload (n bytes) of one top-level or nested miMATRIX element. */
static int scan_matrix(const uint8_t *p, size_t n, int swap, int depth, const char *path,
                       bmc_err *err) {
    const char *hint = "the .mat file is damaged; re-save it with MATLAB or scipy.io.savemat";
    if (depth > MAT_SCAN_MAX_DEPTH)
        return bmc_err_set(err, hint, "%s: cell/struct arrays nested deeper than %d", path,
                           MAT_SCAN_MAX_DEPTH);
    /* An empty matrix element: MATLAB writes these inside cells, never as a variable. matio
     * reads a top-level one's flags, dims and name from the bytes after it anyway. */
    if (n == 0 && depth == 0)
        return bmc_err_set(err, hint, "%s: a variable of 0 bytes", path);
    if (n == 0) return 0;
    mat_cursor c = {p, n, swap};
    uint32_t type;
    const uint8_t *d;
    size_t len;
    if (next_element(&c, &type, &d, &len, path, err)) return -1;
    if (type != MI_UINT32 || len != 8)
        return bmc_err_set(err, hint, "%s: a matrix without its array-flags element", path);
    uint32_t cls = rd32(d, swap) & 0xff, nzmax = rd32(d + 4, swap);
    if (cls < MX_CELL || cls > MX_UINT64 || cls == MX_OBJECT)
        return bmc_err_set(err, "brainmclip reads numeric, char, cell and struct arrays",
                           "%s: unsupported MATLAB array class %u", path, cls);
    if (next_element(&c, &type, &d, &len, path, err)) return -1;
    if (type != MI_INT32 || len % 4 || len / 4 < 2 || len / 4 > MAT_SCAN_MAX_RANK)
        return bmc_err_set(err, hint, "%s: a matrix dimensions element of %zu bytes", path, len);
    /* Every stored element takes at least one byte of this matrix, so the element count is
     * bounded by n (cells and structs hold at least an 8-byte tag per element). */
    uint64_t count = 1, last = 0;
    for (size_t k = 0; k < len / 4; k++) {
        uint32_t dim = rd32(d + 4 * k, swap);
        if (dim > (uint32_t)INT32_MAX)
            return bmc_err_set(err, hint, "%s: a negative matrix dimension", path);
        count = count > n ? count : count * dim; /* saturates above n, never overflows */
        last = dim;
    }
    /* A sparse matrix stores nzmax entries and one column index per column. */
    uint64_t claimed = cls == MX_SPARSE ? (nzmax > last ? nzmax : last) : count;
    if (claimed > n)
        return bmc_err_set(err, "the file is truncated or its header is damaged",
                           "%s: a matrix claims %s%llu elements but holds only %zu bytes", path,
                           count > n && cls != MX_SPARSE ? "more than " : "",
                           (unsigned long long)(count > n && cls != MX_SPARSE ? n : claimed), n);
    if (next_element(&c, &type, &d, &len, path, err)) return -1; /* array name */
    if (type != MI_INT8)
        return bmc_err_set(err, hint, "%s: a matrix without its name element", path);
    uint64_t children = cls == MX_CELL ? count : 0;
    if (cls == MX_STRUCT) {
        if (next_element(&c, &type, &d, &len, path, err)) return -1;
        uint32_t name_len = len == 4 ? rd32(d, swap) : 0;
        if (type != MI_INT32 || name_len == 0)
            return bmc_err_set(err, hint, "%s: a struct without its field-name length", path);
        if (next_element(&c, &type, &d, &len, path, err)) return -1;
        if (type != MI_INT8 || len % name_len)
            return bmc_err_set(err, hint, "%s: a struct's field names are damaged", path);
        children = count * (len / name_len);
        if (children > n)
            return bmc_err_set(err, hint, "%s: a struct claims %llu fields but holds only %zu "
                               "bytes", path, (unsigned long long)children, n);
    }
    for (uint64_t k = 0; k < children; k++) {
        if (next_element(&c, &type, &d, &len, path, err)) return -1;
        if (type != MI_MATRIX)
            return bmc_err_set(err, hint, "%s: a cell or struct element is not a matrix", path);
        if (scan_matrix(d, len, swap, depth + 1, path, err)) return -1;
    }
    /* Numeric, char and sparse data: each remaining element's length was checked by
     * next_element against the matrix's bytes; its type must be a numeric or text one
     * (miINT8..miUINT64, miUTF8..miUTF32), never a nested matrix or compressed stream. */
    while (c.n > 0) {
        if (next_element(&c, &type, &d, &len, path, err)) return -1;
        if (type < MI_INT8 || type > 18 || type == 8 || type == 10 || type == 11 ||
            type == MI_MATRIX || type == MI_COMPRESSED)
            return bmc_err_set(err, hint, "%s: a matrix data element of type %u", path, type);
    }
    return 0;
}

/* Inflate one miCOMPRESSED payload (whole, at most MAT_SCAN_MAX_BYTES) and scan it. */
static int scan_compressed(const uint8_t *p, size_t n, int swap, const char *path,
                           bmc_err *err) {
    size_t cap = n > MAT_SCAN_MAX_BYTES / 1032 ? MAT_SCAN_MAX_BYTES : n * 1032 + 64;
    uint8_t *out = XNEW(out, cap);
    z_stream z = {0};
    int rc = inflateInit(&z);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (rc == Z_OK) rc = inflate(&z, Z_FINISH);
    size_t got = cap - z.avail_out;
    inflateEnd(&z);
    int fail = 0;
    if (rc != Z_STREAM_END) {
        fail = bmc_err_set(err, "the file is truncated or damaged",
                           "%s: a compressed variable does not inflate (%s)", path,
                           rc == Z_BUF_ERROR && got == cap ? "larger than 256 MiB"
                                                           : "corrupt zlib stream");
    } else {
        mat_cursor c = {out, got, swap};
        uint32_t type;
        const uint8_t *d;
        size_t len;
        fail = next_element(&c, &type, &d, &len, path, err);
        if (!fail && type != MI_MATRIX)
            fail = bmc_err_set(err, NULL, "%s: a compressed element that is not a matrix", path);
        if (!fail) fail = scan_matrix(d, len, swap, 0, path, err);
    }
    free(out);
    return fail ? -1 : 0;
}

int nsd_mat_scan(const char *path, bmc_err *err) {
    size_t n = 0;
    bmc_err local = {0};
    uint8_t *buf = (uint8_t *)bmc_read_file(path, &n, &local);
    if (!buf) return bmc_err_set(err, NULL, "%s: unreadable (%s)", path, local.msg);
    int rc = 0;
    if (n < MAT_HEADER || buf[126] + buf[127] != 'I' + 'M' || (buf[126] != 'I' && buf[126] != 'M')) {
        rc = bmc_err_set(err, "it must be a MATLAB .mat file (v5, v7 or v7.3)",
                         "%s: not a MATLAB v5/v7 file (no 128-byte header)", path);
    } else {
        int swap = buf[126] == 'M';
        unsigned version = swap ? (unsigned)buf[124] << 8 | buf[125] : (unsigned)buf[125] << 8 | buf[124];
        mat_cursor c = {buf + MAT_HEADER, n - MAT_HEADER, swap};
        if (version == 0x0200) c.n = 0; /* v7.3: an HDF5 file, matio checks it */
        while (c.n > 0 && !rc) {
            uint32_t type;
            const uint8_t *d;
            size_t len;
            rc = next_element(&c, &type, &d, &len, path, err);
            if (!rc && type == MI_MATRIX) rc = scan_matrix(d, len, swap, 0, path, err);
            else if (!rc && type == MI_COMPRESSED) rc = scan_compressed(d, len, swap, path, err);
        }
    }
    free(buf);
    return rc ? -1 : 0;
}
