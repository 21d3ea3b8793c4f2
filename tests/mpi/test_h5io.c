/* test_h5io.c — parallel HDF5 I/O of common/bmc_h5io.h under 1, 2 and 4 ranks.
 *
 *   test_h5io                 round trips (rows, blocks, every dtype), attributes, provenance,
 *                             atomic outputs, resume, agreed errors, peek (in a mkdtemp dir)
 *   test_h5io --emit FILE     write FILE for the independent h5py check (check_h5io.py)
 *   test_h5io --peek-serial   the serial peek functions without MPI_Init
 * Values are functions of the element's global index, so any split of rows can be checked.
 */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmc_h5io.h"
#include "bmc_test.h"
#include "bmc_version.h"

static int rank_, size_;
static char dir_[256];

/* ---- helpers ------------------------------------------------------------------------- */

/* Value of global element k in dtype t as a double (exact in every type). */
static double value_at(bmc_dtype t, size_t k) {
    switch (t) {
    case BMC_U8: return (double)((k * 7 + 3) % 256);
    case BMC_I16: return (double)((long)(k * 37 % 2000) - 1000);
    case BMC_I32: return (double)((long)k * 12345 - 99999);
    case BMC_I64: return (double)(((long long)k - 3) * 1000000007LL);
    case BMC_F32: return (double)(k % 97) * 0.125 - 5.0;
    case BMC_F64: return (double)k * 0.1 - 2.5;
    case BMC_F16: break; /* covered by test_h5io_half.c */
    }
    return 0;
}

static void fill(bmc_dtype t, void *buf, size_t k0, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double v = value_at(t, k0 + i);
        switch (t) {
        case BMC_U8: ((uint8_t *)buf)[i] = (uint8_t)v; break;
        case BMC_I16: ((int16_t *)buf)[i] = (int16_t)v; break;
        case BMC_I32: ((int32_t *)buf)[i] = (int32_t)v; break;
        case BMC_I64: ((int64_t *)buf)[i] = ((int64_t)(k0 + i) - 3) * 1000000007LL; break;
        case BMC_F32: ((float *)buf)[i] = (float)v; break;
        case BMC_F64: ((double *)buf)[i] = v; break;
        case BMC_F16: break;
        }
    }
}

/* Number of elements of buf (type t) that differ from the expected values. */
static size_t mismatches(bmc_dtype t, const void *buf, size_t k0, size_t n) {
    void *want = malloc(n * bmc_dtype_size(t) + 1);
    fill(t, want, k0, n);
    size_t bad = 0, sz = bmc_dtype_size(t);
    for (size_t i = 0; i < n; i++)
        bad += memcmp((const char *)buf + i * sz, (const char *)want + i * sz, sz) != 0;
    free(want);
    return bad;
}

/* Uneven split of n rows: weights 1, 0, 3, 4, ... (rank 1 holds nothing when size > 2). */
static void split(hsize_t n, int reversed, hsize_t *r0, hsize_t *nr) {
    hsize_t cum = 0, total = 0, mine = 0;
    for (int r = 0; r < size_; r++) {
        int q = reversed ? size_ - 1 - r : r;
        hsize_t w = (size_ > 2 && q == 1) ? 0 : (hsize_t)q + 1;
        if (r < rank_) cum += w;
        if (r == rank_) mine = w;
        total += w;
    }
    *r0 = n * cum / total;
    *nr = n * (cum + mine) / total - *r0;
}

static char *path_in(const char *name) {
    char *p = malloc(strlen(dir_) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir_, name);
    return p;
}

/* 1 when path exists, as seen by this rank. */
static int exists(const char *path) { return access(path, F_OK) == 0; }

/* 1 on every rank when every rank holds the same message and hint. */
static int same_everywhere(const bmc_err *e) {
    uint64_t h = 1469598103934665603ULL;
    for (const char *s = e->msg; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    for (const char *s = e->hint; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    uint64_t v[2] = {h, ~h}, m[2];
    MPI_Allreduce(v, m, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return m[0] == h && m[1] == ~h;
}

#define CHECK_AGREED_ERR(call, e, text)                                                    \
    do {                                                                                   \
        bmc_err e_ = {0};                                                                  \
        int rc_ = (call);                                                                  \
        TEST_CHECK(rc_ == -1, "%s must fail on every rank (rank %d got %d)", #call, rank_, \
                   rc_);                                                                   \
        TEST_CHECK(e.failed && strstr(e.msg, text) != NULL, "message '%s' lacks '%s'",    \
                   e.msg, text);                                                           \
        TEST_CHECK(same_everywhere(&e), "message differs between ranks: %s", e.msg);       \
        e = e_;                                                                            \
    } while (0)

/* ---- round trips --------------------------------------------------------------------- */

typedef struct {
    const char *name;
    bmc_dtype t;
    int ndims;
    hsize_t dims[BMC_H5_MAXDIMS];
    int chunked;
} spec;

static const spec specs[] = {
    {"images/u8", BMC_U8, 4, {11, 3, 2, 3}, 0},
    {"features/f32", BMC_F32, 2, {13, 7}, 1},
    {"/features/deep/f64", BMC_F64, 3, {9, 4, 5}, 0},
    {"i16", BMC_I16, 2, {10, 6}, 1},
    {"i32", BMC_I32, 1, {5}, 0},
    {"i64", BMC_I64, 2, {6, 2}, 0},
};
#define NSPECS (sizeof specs / sizeof specs[0])

static size_t row_len(const spec *s) {
    size_t n = 1;
    for (int d = 1; d < s->ndims; d++) n *= s->dims[d];
    return n;
}

/* Every spec's dataset, written with the uneven split. */
static int write_all(bmc_h5 *f, bmc_err *e) {
    for (size_t i = 0; i < NSPECS; i++) {
        const spec *s = &specs[i];
        hsize_t chunk[BMC_H5_MAXDIMS] = {4, 3, 2, 3};
        if (bmc_h5_create_dataset(f, s->name, s->t, s->ndims, s->dims, s->chunked ? chunk : NULL,
                                  e) != 0)
            return -1;
        hsize_t r0, nr;
        split(s->dims[0], 0, &r0, &nr);
        size_t n = (size_t)nr * row_len(s);
        void *buf = n ? malloc(n * bmc_dtype_size(s->t)) : NULL;
        if (buf) fill(s->t, buf, (size_t)r0 * row_len(s), n);
        int rc = bmc_h5_write_rows(f, s->name, s->t, r0, nr, buf, e);
        free(buf);
        if (rc != 0) return -1;
    }
    return 0;
}

static void test_roundtrip(void) {
    char *path = path_in("rows.h5");
    bmc_h5 f;
    bmc_err e = {0};
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 2, &e) == 0, "%s", e.msg);
    TEST_CHECK(write_all(&f, &e) == 0, "write: %s", e.msg);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "commit: %s", e.msg);

    TEST_CHECK(bmc_h5_open(&f, MPI_COMM_WORLD, path, "bmc.test", 2, &e) == 0, "%s", e.msg);
    for (size_t i = 0; i < NSPECS && !e.failed; i++) {
        const spec *s = &specs[i];
        bmc_dtype t;
        int nd;
        hsize_t dims[BMC_H5_MAXDIMS];
        TEST_CHECK(bmc_h5_dataset_info(&f, s->name, &t, &nd, dims, &e) == 0, "%s", e.msg);
        TEST_CHECK(t == s->t && nd == s->ndims, "%s: dtype %d ndims %d", s->name, (int)t, nd);
        for (int d = 0; d < nd; d++) TEST_CHECK(dims[d] == s->dims[d], "%s dim %d", s->name, d);
        hsize_t r0, nr;
        split(s->dims[0], 1, &r0, &nr); /* read with a different split than the writers' */
        size_t n = (size_t)nr * row_len(s);
        void *buf = malloc(n * bmc_dtype_size(s->t) + 1);
        TEST_CHECK(bmc_h5_read_rows(&f, s->name, s->t, r0, nr, buf, &e) == 0, "%s", e.msg);
        TEST_CHECK(mismatches(s->t, buf, (size_t)r0 * row_len(s), n) == 0, "%s values", s->name);
        /* The same rows converted to float64 by HDF5. */
        double *d64 = malloc(n * sizeof *d64 + 1);
        TEST_CHECK(bmc_h5_read_rows(&f, s->name, BMC_F64, r0, nr, d64, &e) == 0, "%s", e.msg);
        size_t bad = 0;
        for (size_t k = 0; k < n; k++)
            bad += d64[k] != value_at(s->t, (size_t)r0 * row_len(s) + k);
        TEST_CHECK(bad == 0, "%s as float64: %zu wrong", s->name, bad);
        free(d64);
        free(buf);
    }
    TEST_CHECK(bmc_h5_exists(&f, "/features") == 1, "group exists");
    TEST_CHECK(bmc_h5_exists(&f, "features/deep/f64") == 1, "relative dataset path");
    TEST_CHECK(bmc_h5_exists(&f, "/features/nothing/x") == 0, "missing nested path");
    TEST_CHECK(bmc_h5_exists(&f, "/") == 1, "root");
    bmc_h5_close(&f);
    free(path);
}

/* Column blocks: each rank writes its columns of every row; everyone reads a sub-block. */
/* Empty datasets (a zero dimension): writing and reading zero rows succeeds on every rank
 * (HDF5 itself fails a collective transfer on unallocated empty storage). */
static void test_empty(void) {
    char *path = path_in("empty.h5");
    bmc_h5 f;
    bmc_err e = {0};
    hsize_t d1 = 0, d2[2] = {0, 4};
    long long none = 0;
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "ids", BMC_I64, 1, &d1, NULL, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "m", BMC_F32, 2, d2, NULL, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_write_rows(&f, "ids", BMC_I64, 0, 0, &none, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_write_rows(&f, "m", BMC_F64, 0, 0, NULL, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_read_rows(&f, "ids", BMC_I64, 0, 0, &none, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    free(path);
}

static void test_blocks(void) {
    char *path = path_in("blocks.h5");
    bmc_h5 f;
    bmc_err e = {0};
    const hsize_t rows = 8, cols = 10;
    hsize_t dims[2] = {rows, cols};
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "m", BMC_F64, 2, dims, NULL, &e) == 0, "%s", e.msg);
    hsize_t c0, nc;
    split(cols, 0, &c0, &nc);
    double *blk = malloc(rows * cols * sizeof *blk);
    for (hsize_t r = 0; r < rows; r++)
        for (hsize_t c = 0; c < nc; c++) blk[r * nc + c] = value_at(BMC_F64, r * cols + c0 + c);
    hsize_t start[2] = {0, c0}, count[2] = {rows, nc};
    TEST_CHECK(bmc_h5_write_block(&f, "m", BMC_F64, start, count, blk, &e) == 0, "%s", e.msg);
    /* Read rows [2,5), columns [3,9) everywhere, except the last rank, which reads nothing. */
    hsize_t rs[2] = {2, 3}, rc[2] = {3, rank_ == size_ - 1 && size_ > 1 ? 0 : 6};
    TEST_CHECK(bmc_h5_read_block(&f, "m", BMC_F64, rs, rc, blk, &e) == 0, "%s", e.msg);
    size_t bad = 0;
    for (hsize_t r = 0; r < rc[0]; r++)
        for (hsize_t c = 0; c < rc[1]; c++)
            bad += blk[r * rc[1] + c] != value_at(BMC_F64, (r + 2) * cols + c + 3);
    TEST_CHECK(bad == 0, "block values (%zu wrong)", bad);
    /* Out of range in the column dimension on the last rank only. */
    hsize_t bs[2] = {0, rank_ == size_ - 1 ? 8 : 0}, bc[2] = {1, 3};
    CHECK_AGREED_ERR(bmc_h5_read_block(&f, "m", BMC_F64, bs, bc, blk, &e), e,
                     "m: block [8, 11) out of range in dimension 1 (size 10)");
    /* float64 memory into a float32 dataset (converted locally, written collectively). */
    TEST_CHECK(bmc_h5_create_dataset(&f, "m32", BMC_F32, 2, dims, NULL, &e) == 0, "%s", e.msg);
    hsize_t r0, nr;
    split(rows, 0, &r0, &nr);
    for (hsize_t k = 0; k < nr * cols; k++) blk[k] = value_at(BMC_F32, r0 * cols + k);
    TEST_CHECK(bmc_h5_write_rows(&f, "m32", BMC_F64, r0, nr, blk, &e) == 0, "%s", e.msg);
    float *b32 = malloc(rows * cols * sizeof *b32);
    split(rows, 1, &r0, &nr);
    TEST_CHECK(bmc_h5_read_rows(&f, "m32", BMC_F32, r0, nr, b32, &e) == 0, "%s", e.msg);
    TEST_CHECK(mismatches(BMC_F32, b32, (size_t)(r0 * cols), (size_t)(nr * cols)) == 0,
               "float64 → float32 rows");
    free(b32);
    free(blk);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    free(path);
}

/* Overlapping reads of a 3-D [N, T, W] float32 dataset in one collective call: rank 0 reads
 * every row, rank r rows [r, N - 2r) (so the rank with the largest start does not have the
 * largest end), and the last of 3+ ranks reads nothing; whole tokens and a partial
 * (token, width) block. Regression: Open MPI's collective read returned zeros past the end
 * of the rank with the largest start when the ranks' file extents overlapped. */
static void test_overlapping_reads(void) {
    char *path = path_in("overlap.h5");
    bmc_h5 f;
    bmc_err e = {0};
    enum { N = 20, T = 5, W = 6 };
    hsize_t dims[3] = {N, T, W};
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "feat", BMC_F32, 3, dims, NULL, &e) == 0, "%s", e.msg);
    hsize_t r0, nr;
    split(N, 0, &r0, &nr);
    float *buf = malloc((size_t)N * T * W * sizeof *buf);
    fill(BMC_F32, buf, (size_t)(r0 * T * W), (size_t)(nr * T * W));
    TEST_CHECK(bmc_h5_write_rows(&f, "feat", BMC_F32, r0, nr, buf, &e) == 0, "%s", e.msg);
    const hsize_t blocks[2][4] = {{0, T, 0, W}, {1, 3, 2, 3}}; /* token0, ntok, w0, nw */
    for (int b = 0; b < 2; b++) {
        hsize_t row0 = (hsize_t)rank_, nrows = 3 * rank_ < N ? (hsize_t)(N - 3 * rank_) : 0;
        if (size_ > 2 && rank_ == size_ - 1) nrows = 0;
        hsize_t st[3] = {row0, blocks[b][0], blocks[b][2]};
        hsize_t ct[3] = {nrows, blocks[b][1], blocks[b][3]};
        memset(buf, 0, (size_t)N * T * W * sizeof *buf);
        TEST_CHECK(bmc_h5_read_block(&f, "feat", BMC_F32, st, ct, buf, &e) == 0, "%s", e.msg);
        size_t bad = 0, first_bad = 0;
        for (hsize_t i = 0; i < ct[0]; i++)
            for (hsize_t t = 0; t < ct[1]; t++)
                for (hsize_t w = 0; w < ct[2]; w++) {
                    size_t k = (size_t)(((st[0] + i) * T + st[1] + t) * W + st[2] + w);
                    float got = buf[(i * ct[1] + t) * ct[2] + w];
                    if (got != (float)value_at(BMC_F32, k) && bad++ == 0) first_bad = k;
                }
        TEST_CHECK(bad == 0, "overlapping 3-D read %d, rows [%llu, %llu): %zu wrong values, "
                   "first at element %zu", b, (unsigned long long)st[0],
                   (unsigned long long)(st[0] + ct[0]), bad, first_bad);
    }
    free(buf);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    free(path);
}

/* Row sets: each rank reads its own scattered, increasing rows (runs and singletons, sets
 * overlapping between ranks, one rank with none), whole rows and a (token, width) block, and
 * a float → double conversion; unsorted or out-of-range sets are agreed errors. */
static void test_rowsets(void) {
    char *path = path_in("rowset.h5");
    bmc_h5 f;
    bmc_err e = {0};
    enum { N = 23, T = 4, W = 5 };
    hsize_t dims[3] = {N, T, W};
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "feat", BMC_F32, 3, dims, NULL, &e) == 0, "%s", e.msg);
    hsize_t r0, nr;
    split(N, 0, &r0, &nr);
    float *buf = malloc((size_t)N * T * W * sizeof *buf);
    fill(BMC_F32, buf, (size_t)(r0 * T * W), (size_t)(nr * T * W));
    TEST_CHECK(bmc_h5_write_rows(&f, "feat", BMC_F32, r0, nr, buf, &e) == 0, "%s", e.msg);
    free(buf);
    /* rank r: rows r, r+1, r+2 (a run), then every (r+3)-th row after 6. */
    hsize_t rows[N];
    hsize_t n = 0;
    if (!(size_ > 2 && rank_ == size_ - 1)) {
        for (hsize_t k = 0; k < 3; k++) rows[n++] = (hsize_t)rank_ + k;
        for (hsize_t k = 6; k < N; k += (hsize_t)rank_ + 3) rows[n++] = k;
    }
    double *got = calloc((size_t)N * T * W, sizeof *got);
    const hsize_t tail[2][4] = {{0, T, 0, W}, {2, 1, 1, 3}}; /* token0, ntok, w0, nw */
    for (int b = 0; b < 2; b++) {
        hsize_t st[2] = {tail[b][0], tail[b][2]}, ct[2] = {tail[b][1], tail[b][3]};
        TEST_CHECK(bmc_h5_read_rowset(&f, "feat", BMC_F64, rows, n, b ? st : NULL,
                                      b ? ct : NULL, got, &e) == 0, "%s", e.msg);
        size_t bad = 0;
        for (hsize_t i = 0; i < n; i++)
            for (hsize_t t = 0; t < ct[0]; t++)
                for (hsize_t w = 0; w < ct[1]; w++) {
                    size_t k = (size_t)((rows[i] * T + st[0] + t) * W + st[1] + w);
                    bad += got[(i * ct[0] + t) * ct[1] + w] != (double)(float)value_at(BMC_F32, k);
                }
        TEST_CHECK(bad == 0, "row set read %d: %zu wrong values", b, bad);
    }
    hsize_t unsorted[2] = {5, 5}, outside[1] = {N};
    CHECK_AGREED_ERR(bmc_h5_read_rowset(&f, "feat", BMC_F64, unsorted, rank_ == 0 ? 2 : 0, NULL,
                                        NULL, got, &e), e, "not strictly increasing");
    CHECK_AGREED_ERR(bmc_h5_read_rowset(&f, "feat", BMC_F64, outside, rank_ == size_ - 1, NULL,
                                        NULL, got, &e), e, "out of range");
    free(got);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    free(path);
}

/* ---- attributes and provenance --------------------------------------------------------- */

static void test_attributes(void) {
    char *path = path_in("attrs.h5");
    bmc_h5 f;
    bmc_err e = {0};
    hsize_t dims[1] = {4};
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 3, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "/g/d", BMC_F32, 1, dims, NULL, &e) == 0, "%s", e.msg);
    long long arr[3] = {-1, 0, 1LL << 40};
    TEST_CHECK(bmc_h5_attr_set_str(&f, "/", "s", "first", &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_attr_set_str(&f, "/", "s", "caf\xc3\xa9 \xce\xb2", &e) == 0, "replace");
    TEST_CHECK(bmc_h5_attr_set_str(&f, "/", "empty", "", &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_attr_set_i64(&f, "/g/d", "n", -(1LL << 50), &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_attr_set_f64(&f, "g/d", "x", 3.141592653589793, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_attr_set_i64_array(&f, "/g", "arr", arr, 3, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_attr_set_i64_array(&f, "/g", "none", NULL, 0, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_attr_set_str(&f, "/g/d", "n2", "str", &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_attr_set_i64(&f, "/g/d", "n2", 7, &e) == 0, "replace with another type");
    CHECK_AGREED_ERR(bmc_h5_attr_set_i64(&f, "/nowhere", "n", 1, &e), e,
                     "attrs.h5:/nowhere: cannot set attribute 'n': no such object");
    if (size_ > 1)
        CHECK_AGREED_ERR(bmc_h5_attr_set_i64(&f, "/", "r", rank_, &e), e,
                         "ranks passed different values for attribute 'r'");
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);

    TEST_CHECK(bmc_h5_open(&f, MPI_COMM_WORLD, path, "bmc.test", 3, &e) == 0, "%s", e.msg);
    char *s = NULL;
    long long n = 0;
    double x = 0;
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "s", &s, &e) == 0, "%s", e.msg);
    TEST_STREQ(s, "caf\xc3\xa9 \xce\xb2");
    free(s);
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "empty", &s, &e) == 0, "%s", e.msg);
    TEST_STREQ(s, "");
    free(s);
    TEST_CHECK(bmc_h5_attr_get_i64(&f, "/g/d", "n", &n, &e) == 0 && n == -(1LL << 50), "i64");
    TEST_CHECK(bmc_h5_attr_get_i64(&f, "/g/d", "n2", &n, &e) == 0 && n == 7, "replaced i64");
    TEST_CHECK(bmc_h5_attr_get_f64(&f, "/g/d", "x", &x, &e) == 0 && x == 3.141592653589793,
               "f64");
    TEST_CHECK(bmc_h5_attr_get_f64(&f, "/g/d", "n", &x, &e) == 0 && x == -(double)(1LL << 50),
               "integer read as f64");
    TEST_CHECK(bmc_h5_attr_get_i64(&f, "/", "format_version", &n, &e) == 0 && n == 3, "ver");
    CHECK_AGREED_ERR(bmc_h5_attr_get_str(&f, "/g", "missing", &s, &e), e,
                     "attrs.h5:/g: no attribute 'missing'");
    TEST_CHECK(s == NULL, "no string on failure");
    CHECK_AGREED_ERR(bmc_h5_attr_get_i64(&f, "/", "s", &n, &e), e, "is not an integer");
    CHECK_AGREED_ERR(bmc_h5_attr_get_i64(&f, "/g", "arr", &n, &e), e, "holds 3 values");
    long long back[4] = {0};
    TEST_CHECK(bmc_h5_attr_get_i64_array(&f, "/g", "arr", back, 3, &e) == 0, "%s", e.msg);
    TEST_CHECK(back[0] == arr[0] && back[1] == arr[1] && back[2] == arr[2], "i64 array");
    CHECK_AGREED_ERR(bmc_h5_attr_get_i64_array(&f, "/g", "arr", back, 4, &e), e,
                     "attrs.h5:/g: attribute 'arr' holds 3 values, expected 4");
    CHECK_AGREED_ERR(bmc_h5_attr_get_i64_array(&f, "/", "s", back, 1, &e), e,
                     "is not an integer");
    CHECK_AGREED_ERR(bmc_h5_attr_set_i64(&f, "/", "w", 1, &e), e, "file is read-only");
    bmc_h5_close(&f);
    free(path);
}

static void test_provenance(void) {
    char *path = path_in("prov.h5");
    bmc_h5 f;
    bmc_err e = {0};
    const char *paths[2] = {"in/a.h5", "in/b.h5"}, *shas[2] = {"aaaa", "bbbb"};
    bmc_provenance p = {.config_sha256 = "cfgsha", .stage_fingerprint = "fp123", .n_inputs = 2,
                        .input_paths = paths, .input_sha256 = shas};
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_write_provenance(&f, &p, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_open(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    char *s = NULL, want[256];
    long long n = 0;
    snprintf(want, sizeof want, "brainmclip %s (%s)", bmc_version(), bmc_git_commit());
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "created_by", &s, &e) == 0, "%s", e.msg);
    const char *want_by = want;
    TEST_STREQ(s, want_by);
    free(s);
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "created_at", &s, &e) == 0, "%s", e.msg);
    TEST_CHECK(s && strlen(s) == 20 && s[10] == 'T' && s[19] == 'Z', "created_at '%s'", s);
    free(s);
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "config_sha256", &s, &e) == 0, "%s", e.msg);
    TEST_STREQ(s, "cfgsha");
    free(s);
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "stage_fingerprint", &s, &e) == 0, "%s", e.msg);
    TEST_STREQ(s, "fp123");
    free(s);
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "inputs", &s, &e) == 0, "%s", e.msg);
    TEST_STREQ(s, "in/a.h5\taaaa\nin/b.h5\tbbbb");
    free(s);
    TEST_CHECK(bmc_h5_attr_get_i64(&f, "/", "mpi_size", &n, &e) == 0 && n == size_, "mpi_size");
    bmc_h5_close(&f);
    /* Without a fingerprint the attribute is absent; created_by is taken as given. */
    bmc_provenance q = {.created_by = "tool 1.0"};
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_write_provenance(&f, &q, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "created_by", &s, &e) == 0, "%s", e.msg);
    TEST_STREQ(s, "tool 1.0");
    free(s);
    CHECK_AGREED_ERR(bmc_h5_attr_get_str(&f, "/", "stage_fingerprint", &s, &e), e,
                     "no attribute 'stage_fingerprint'");
    bmc_h5_discard(&f);
    free(path);
}

/* ---- atomic outputs, resume, agreed errors --------------------------------------------- */

static void test_atomic(void) {
    char *path = path_in("atomic.h5"), *partial = path_in("atomic.h5.partial");
    bmc_h5 f;
    bmc_err e = {0};
    hsize_t dims[2] = {10, 3};
    /* A partial that brainmclip did not write is never overwritten: the create fails on
     * every rank and the file survives. */
    if (rank_ == 0) {
        FILE *fp = fopen(partial, "w");
        fputs("junk", fp);
        fclose(fp);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) != 0 &&
               strstr(e.msg, "is not a brainmclip HDF5 file"), "foreign partial refused: %s",
               e.msg);
    e = (bmc_err){0};
    if (rank_ == 0) {
        FILE *fp = fopen(partial, "r");
        char buf[8] = "";
        TEST_CHECK(fp && fgets(buf, sizeof buf, fp) && !strcmp(buf, "junk"), "junk survives");
        if (fp) fclose(fp);
        unlink(partial);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    /* A stale partial of brainmclip's own (an interrupted run) is replaced. */
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    bmc_h5_close(&f); /* given up without a rename: the partial stays */
    TEST_CHECK(exists(partial), "stale partial left");
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(exists(partial) && !exists(path), "while writing: partial only");
    TEST_CHECK(bmc_h5_create_dataset(&f, "d", BMC_F32, 2, dims, NULL, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    TEST_CHECK(exists(path) && !exists(partial), "after commit: final only (rank %d)", rank_);
    TEST_CHECK(f.fid == H5I_INVALID_HID && f.path == NULL, "handle released");

    /* Discard leaves nothing, and leaves an earlier final file alone. */
    char *other = path_in("discarded.h5"), *other_partial = path_in("discarded.h5.partial");
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, other, "bmc.test", 1, &e) == 0, "%s", e.msg);
    bmc_h5_discard(&f);
    TEST_CHECK(!exists(other) && !exists(other_partial), "discard leaves nothing");

    /* An agreed error in the middle: the last rank writes out of range. */
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, other, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "/x/d", BMC_F32, 2, dims, NULL, &e) == 0, "%s", e.msg);
    float buf[32 * 3] = {0};
    hsize_t r0 = rank_ == size_ - 1 ? 8 : 0, nr = rank_ == size_ - 1 ? 32 : 1;
    CHECK_AGREED_ERR(bmc_h5_write_rows(&f, "/x/d", BMC_F32, r0, nr, buf, &e), e,
                     "discarded.h5:/x/d: rows [8, 40) out of range (dataset has 10 rows)");
    TEST_CHECK(!exists(other), "no final file after a failed write");
    bmc_h5_discard(&f);
    TEST_CHECK(!exists(other) && !exists(other_partial), "failed write leaves nothing");

    /* Other agreed errors on an open writable file. */
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, other, "bmc.test", 1, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "d", BMC_F32, 2, dims, NULL, &e) == 0, "%s", e.msg);
    CHECK_AGREED_ERR(bmc_h5_create_dataset(&f, "d", BMC_F32, 2, dims, NULL, &e), e,
                     "discarded.h5:/d: dataset already exists");
    CHECK_AGREED_ERR(bmc_h5_write_rows(&f, rank_ == size_ - 1 ? "nope" : "d", BMC_F32, 0, 1, buf,
                                       &e),
                     e, "discarded.h5:/nope: no such dataset");
    CHECK_AGREED_ERR(bmc_h5_read_rows(&f, "/", BMC_F32, 0, 1, buf, &e), e, "not a dataset");
    bmc_h5_discard(&f);

    /* Creating in a missing folder. */
    char *bad = path_in("no/such/dir/out.h5");
    CHECK_AGREED_ERR(bmc_h5_create(&f, MPI_COMM_WORLD, bad, "bmc.test", 1, &e), e,
                     "cannot create output: folder");
    TEST_CHECK(f.path == NULL && f.fid == H5I_INVALID_HID, "failed create releases the handle");
    free(bad);
    free(other);
    free(other_partial);
    free(path);
    free(partial);
}

static void test_resume(void) {
    char *path = path_in("resume.h5"), *partial = path_in("resume.h5.partial");
    bmc_h5 f;
    bmc_err e = {0};
    hsize_t dims[2] = {10, 4}, r0, nr;
    float buf[40];
    /* First run: fresh, writes rows [0,5), then is "interrupted" (closed, not committed). */
    TEST_CHECK(bmc_h5_create_or_resume(&f, MPI_COMM_WORLD, path, "bmc.test", 1, "fpA", &e) == 0,
               "fresh: %s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "d", BMC_F32, 2, dims, NULL, &e) == 0, "%s", e.msg);
    split(5, 0, &r0, &nr);
    fill(BMC_F32, buf, (size_t)r0 * 4, (size_t)nr * 4);
    TEST_CHECK(bmc_h5_write_rows(&f, "d", BMC_F32, r0, nr, buf, &e) == 0, "%s", e.msg);
    bmc_h5_close(&f);
    TEST_CHECK(exists(partial) && !exists(path), "interrupted run leaves its partial");

    /* Same fingerprint: resumed, earlier rows kept; the rest is written and committed. */
    TEST_CHECK(bmc_h5_create_or_resume(&f, MPI_COMM_WORLD, path, "bmc.test", 1, "fpA", &e) == 1,
               "resume: %s", e.msg);
    TEST_CHECK(bmc_h5_exists(&f, "d") == 1, "dataset kept");
    split(5, 1, &r0, &nr);
    TEST_CHECK(bmc_h5_read_rows(&f, "d", BMC_F32, r0, nr, buf, &e) == 0, "%s", e.msg);
    TEST_CHECK(mismatches(BMC_F32, buf, (size_t)r0 * 4, (size_t)nr * 4) == 0, "kept rows");
    split(5, 0, &r0, &nr);
    fill(BMC_F32, buf, (size_t)(5 + r0) * 4, (size_t)nr * 4);
    TEST_CHECK(bmc_h5_write_rows(&f, "d", BMC_F32, 5 + r0, nr, buf, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_open(&f, MPI_COMM_WORLD, path, "bmc.test", 1, &e) == 0, "%s", e.msg);
    split(10, 1, &r0, &nr);
    TEST_CHECK(bmc_h5_read_rows(&f, "d", BMC_F32, r0, nr, buf, &e) == 0, "%s", e.msg);
    TEST_CHECK(mismatches(BMC_F32, buf, (size_t)r0 * 4, (size_t)nr * 4) == 0, "all rows");
    bmc_h5_close(&f);

    /* Another fingerprint (or another format): a fresh file. */
    TEST_CHECK(bmc_h5_create_or_resume(&f, MPI_COMM_WORLD, path, "bmc.test", 1, "fpB", &e) == 0,
               "fresh B: %s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "d", BMC_F32, 2, dims, NULL, &e) == 0, "%s", e.msg);
    bmc_h5_close(&f);
    TEST_CHECK(bmc_h5_create_or_resume(&f, MPI_COMM_WORLD, path, "bmc.test", 1, "fpC", &e) == 0,
               "mismatch starts fresh: %s", e.msg);
    TEST_CHECK(bmc_h5_exists(&f, "d") == 0, "fresh file has no dataset");
    bmc_h5_close(&f);
    TEST_CHECK(bmc_h5_create_or_resume(&f, MPI_COMM_WORLD, path, "bmc.other", 1, "fpC", &e) == 0,
               "other format starts fresh");
    bmc_h5_discard(&f);
    TEST_CHECK(!exists(partial) && exists(path), "discard keeps the committed file");
    free(path);
    free(partial);
}

/* A foreign (non-brainmclip) file written serially by rank 0: a group, a uint16 dataset and
 * a fixed-length string attribute. */
static void make_foreign(const char *path) {
    if (rank_ == 0) {
        hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        H5Gclose(H5Gcreate2(fid, "grp", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        hsize_t n = 3;
        hid_t sp = H5Screate_simple(1, &n, NULL);
        hid_t d = H5Dcreate2(fid, "u16", H5T_STD_U16LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        uint16_t v[3] = {1, 65535, 7};
        H5Dwrite(d, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
        H5Dclose(d);
        H5Sclose(sp);
        hid_t st = H5Tcopy(H5T_C_S1), sc = H5Screate(H5S_SCALAR);
        H5Tset_size(st, 8);
        hid_t a = H5Acreate2(fid, "fixed", st, sc, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, st, "hello\0\0\0");
        H5Aclose(a);
        H5Sclose(sc);
        H5Tclose(st);
        H5Fclose(fid);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

static void test_open_errors(void) {
    char *good = path_in("fmt.h5"), *foreign = path_in("foreign.h5"), *text = path_in("t.txt");
    char *missing = path_in("missing.h5");
    bmc_h5 f;
    bmc_err e = {0};
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, good, "bmc.test", 5, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    make_foreign(foreign);
    if (rank_ == 0) {
        FILE *fp = fopen(text, "w");
        fputs("not hdf5\n", fp);
        fclose(fp);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_AGREED_ERR(bmc_h5_open(&f, MPI_COMM_WORLD, good, "bmc.other", 5, &e), e,
                     "fmt.h5: file format is 'bmc.test', expected 'bmc.other'");
    TEST_CHECK(f.fid == H5I_INVALID_HID && f.path == NULL, "failed open releases the handle");
    bmc_err v = {0};
    TEST_CHECK(bmc_h5_open(&f, MPI_COMM_WORLD, good, "bmc.test", 4, &v) == -1, "newer");
    TEST_CHECK(strstr(v.msg, "bmc.test format_version 5 is newer than this brainmclip reads "
                             "(up to 4)") != NULL, "%s", v.msg);
    TEST_CHECK(strstr(v.hint, "upgrade brainmclip") != NULL, "hint: %s", v.hint);
    TEST_CHECK(same_everywhere(&v), "agreed");
    v = (bmc_err){0};
    TEST_CHECK(bmc_h5_open(&f, MPI_COMM_WORLD, foreign, "bmc.test", 1, &v) == -1, "foreign");
    TEST_CHECK(strstr(v.msg, "foreign.h5: not a brainmclip file (no 'format' attribute)") &&
                   strstr(v.hint, "expected a bmc.test file written by"), "%s / %s", v.msg, v.hint);
    TEST_CHECK(same_everywhere(&v), "agreed");
    CHECK_AGREED_ERR(bmc_h5_open(&f, MPI_COMM_WORLD, missing, "bmc.test", 1, &e), e,
                     "missing.h5: no such file");
    CHECK_AGREED_ERR(bmc_h5_open(&f, MPI_COMM_WORLD, text, NULL, 1, &e), e,
                     "t.txt: not an HDF5 file");

    /* A foreign file opens with format == NULL; its types and objects give clear errors. */
    TEST_CHECK(bmc_h5_open(&f, MPI_COMM_WORLD, foreign, NULL, 0, &e) == 0, "%s", e.msg);
    bmc_dtype t;
    int nd;
    hsize_t dims[BMC_H5_MAXDIMS];
    CHECK_AGREED_ERR(bmc_h5_dataset_info(&f, "u16", &t, &nd, dims, &e), e,
                     "foreign.h5:/u16: element type uint16 is not supported");
    CHECK_AGREED_ERR(bmc_h5_dataset_info(&f, "grp", &t, &nd, dims, &e), e,
                     "foreign.h5:/grp: not a dataset");
    int32_t u[3] = {0};
    hsize_t r0 = rank_ == 0 ? 0 : 3, nr = rank_ == 0 ? 3 : 0; /* a type with no bmc_dtype */
    TEST_CHECK(bmc_h5_read_rows(&f, "u16", BMC_I32, r0, nr, u, &e) == 0, "%s", e.msg);
    TEST_CHECK(rank_ != 0 || (u[0] == 1 && u[1] == 65535 && u[2] == 7), "uint16 as int32");
    char *s = NULL;
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "fixed", &s, &e) == 0, "%s", e.msg);
    TEST_STREQ(s, "hello");
    free(s);
    bmc_h5_close(&f);

    /* Serial peek (MPI is running here; --peek-serial checks it without). */
    TEST_CHECK(bmc_h5_is_hdf5(good) == 1 && bmc_h5_is_hdf5(text) == 0 &&
                   bmc_h5_is_hdf5(missing) == 0, "is_hdf5");
    TEST_CHECK(bmc_h5_peek_root_str(good, "format", &s) == 0, "peek");
    TEST_STREQ(s, "bmc.test");
    free(s);
    TEST_CHECK(bmc_h5_peek_root_str(foreign, "fixed", &s) == 0, "peek fixed-length");
    TEST_STREQ(s, "hello");
    free(s);
    TEST_CHECK(bmc_h5_peek_root_str(good, "nothing", &s) == -1 && s == NULL, "peek missing attr");
    TEST_CHECK(bmc_h5_peek_root_str(missing, "format", &s) == -1, "peek missing file");
    TEST_CHECK(bmc_h5_peek_root_str(text, "format", &s) == -1, "peek text file");
    free(good);
    free(foreign);
    free(text);
    free(missing);
}

/* ---- modes --------------------------------------------------------------------------- */

/* The file check_h5io.py verifies: every spec, attributes of each kind, provenance. */
static int emit(const char *path) {
    bmc_h5 f;
    bmc_err e = {0};
    const char *paths[1] = {"inputs/stimuli.h5"}, *shas[1] = {"0123abcd"};
    bmc_provenance p = {.config_sha256 = "c0ffee", .stage_fingerprint = "fp-emit", .n_inputs = 1,
                        .input_paths = paths, .input_sha256 = shas};
    long long arr[4] = {3, -2, 1LL << 40, 0};
    if (bmc_h5_create(&f, MPI_COMM_WORLD, path, "bmc.h5io-check", 7, &e) == 0 &&
        write_all(&f, &e) == 0 && bmc_h5_write_provenance(&f, &p, &e) == 0 &&
        bmc_h5_attr_set_str(&f, "/features/f32", "units", "z-score \xc2\xb1", &e) == 0 &&
        bmc_h5_attr_set_i64(&f, "/features/f32", "count", -42, &e) == 0 &&
        bmc_h5_attr_set_f64(&f, "/features", "scale", 0.1, &e) == 0 &&
        bmc_h5_attr_set_i64_array(&f, "/images/u8", "shape_hint", arr, 4, &e) == 0 &&
        bmc_h5_commit(&f, &e) == 0)
        return 0;
    bmc_err_print(MPI_COMM_WORLD, &e);
    bmc_h5_discard(&f);
    return 1;
}

/* Peek without MPI: write a file with the serial driver, then peek at it. */
static int peek_serial(void) {
    char tmpl[] = "/tmp/bmc-h5io-peek-XXXXXX";
    if (!mkdtemp(tmpl)) return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/p.h5", tmpl);
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t st = H5Tcopy(H5T_C_S1), sc = H5Screate(H5S_SCALAR);
    H5Tset_size(st, H5T_VARIABLE);
    const char *v = "bmc.peek";
    hid_t a = H5Acreate2(fid, "format", st, sc, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, st, &v);
    H5Aclose(a);
    H5Sclose(sc);
    H5Tclose(st);
    H5Fclose(fid);
    char *s = NULL;
    TEST_CHECK(bmc_h5_is_hdf5(path) == 1, "is_hdf5");
    TEST_CHECK(bmc_h5_peek_root_str(path, "format", &s) == 0, "peek");
    TEST_STREQ(s, "bmc.peek");
    free(s);
    TEST_CHECK(bmc_h5_peek_root_str(path, "other", &s) == -1 && s == NULL, "missing attribute");
    int init = 1;
    MPI_Initialized(&init);
    TEST_CHECK(!init, "MPI must not have been initialised");
    unlink(path);
    rmdir(tmpl);
    return test_summary();
}

static int remove_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* The format table: well-formed rows, and the _as functions stamp and check exactly them. */
static void test_format_table(void) {
    for (int i = 0; i < BMC_FMT_COUNT; i++) {
        const bmc_format *F = &bmc_formats[i];
        TEST_CHECK(F->name && strncmp(F->name, "bmc.", 4) == 0 && F->version >= 1 && F->what &&
                       F->what[0], "row %d is complete", i);
        for (int j = 0; j < i && F->name; j++)
            TEST_CHECK(strcmp(F->name, bmc_formats[j].name) != 0, "%s listed twice", F->name);
    }
    const bmc_format *clip = &bmc_formats[BMC_FMT_CLIP], *fmri = &bmc_formats[BMC_FMT_FMRI];
    char *path = path_in("table.h5"), *newer = path_in("newer.h5");
    bmc_h5 f;
    bmc_err e = {0};
    TEST_CHECK(bmc_h5_create_as(&f, MPI_COMM_WORLD, path, BMC_FMT_CLIP, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_open_as(&f, MPI_COMM_WORLD, path, BMC_FMT_CLIP, &e) == 0, "%s", e.msg);
    char *name = NULL;
    long long version = 0;
    TEST_CHECK(bmc_h5_attr_get_str(&f, "/", "format", &name, &e) == 0 &&
                   bmc_h5_attr_get_i64(&f, "/", "format_version", &version, &e) == 0, "%s", e.msg);
    TEST_CHECK(name && strcmp(name, clip->name) == 0 && version == clip->version,
               "stamped %s v%lld", name ? name : "?", version);
    free(name);
    bmc_h5_close(&f);
    /* The wrong format: the message names the file and both formats, the hint says what the
     * expected one holds. */
    bmc_err w = {0};
    TEST_CHECK(bmc_h5_open_as(&f, MPI_COMM_WORLD, path, BMC_FMT_FMRI, &w) == -1, "wrong format");
    char msg[256];
    snprintf(msg, sizeof msg, "table.h5: file format is '%s', expected '%s'", clip->name,
             fmri->name);
    TEST_CHECK(strstr(w.msg, msg) != NULL, "%s", w.msg);
    TEST_CHECK(strstr(w.hint, fmri->what) != NULL, "hint: %s", w.hint);
    TEST_CHECK(same_everywhere(&w), "agreed");
    /* A newer version than the table's is refused. */
    TEST_CHECK(bmc_h5_create(&f, MPI_COMM_WORLD, newer, clip->name, clip->version + 1, &e) == 0,
               "%s", e.msg);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);
    CHECK_AGREED_ERR(bmc_h5_open_as(&f, MPI_COMM_WORLD, newer, BMC_FMT_CLIP, &e), e,
                     "is newer than this brainmclip reads");
    free(path);
    free(newer);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--peek-serial") == 0) return peek_serial();
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (argc == 3 && strcmp(argv[1], "--emit") == 0) {
        int rc = emit(argv[2]);
        MPI_Finalize();
        return rc;
    }
    if (rank_ == 0) {
        snprintf(dir_, sizeof dir_, "/tmp/bmc-h5io-XXXXXX");
        if (!mkdtemp(dir_)) dir_[0] = '\0';
    }
    MPI_Bcast(dir_, sizeof dir_, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (!dir_[0]) {
        fprintf(stderr, "mkdtemp failed\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    TEST_CHECK(bmc_dtype_size(BMC_I16) == 2 && bmc_dtype_size(BMC_F64) == 8, "sizes");
    TEST_STREQ(bmc_dtype_name(BMC_U8), "uint8");
    TEST_STREQ(bmc_dtype_name(BMC_F32), "float32");
    test_roundtrip();
    test_blocks();
    test_empty();
    test_overlapping_reads();
    test_rowsets();
    test_attributes();
    test_provenance();
    test_atomic();
    test_resume();
    test_open_errors();
    test_format_table();
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank_ == 0) nftw(dir_, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
    int rc = test_summary_mpi(MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
