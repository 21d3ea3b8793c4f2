/* bmc_h5io_data.c — datasets of bmc_h5io.h: creation (intermediate groups, optional
 * chunks), shape and type queries, and collective transfers of row blocks and hyperslabs.
 *
 * Ranges are checked against the shape and agreed before any collective HDF5 call, so a bad
 * request on one rank makes every rank return -1 instead of hanging the others. Transfers
 * are collective (H5FD_MPIO_COLLECTIVE); ranks without data select nothing.
 * Not here: files (bmc_h5io.c), attributes (bmc_h5io_attr.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fault.h"
#include "bmc_h5io.h"
#include "bmc_fs.h"
#include "bmc_h5io_internal.h"

/* ---- element types ------------------------------------------------------------------- */

/* IEEE binary16, little-endian: HDF5 1.10 has no predefined half type, so derive it from
 * float32 (sign bit 15, exponent bits 10..14 with bias 15, mantissa bits 0..9). Made once
 * per process and never closed (HDF5 releases it at exit). */
static hid_t half_type(void) {
    static hid_t t = H5I_INVALID_HID;
    if (t < 0) {
        t = H5Tcopy(H5T_IEEE_F32LE);
        BMC_CHECK(t >= 0 && H5Tset_fields(t, 15, 10, 5, 0, 10) >= 0);
        BMC_CHECK(H5Tset_precision(t, 16) >= 0 && H5Tset_size(t, 2) >= 0);
        BMC_CHECK(H5Tset_ebias(t, 15) >= 0);
    }
    return t;
}

/* Little-endian file type of t (what brainmclip stores on disk). */
static hid_t file_type(bmc_dtype t) {
    switch (t) {
    case BMC_U8: return H5T_STD_U8LE;
    case BMC_I16: return H5T_STD_I16LE;
    case BMC_I32: return H5T_STD_I32LE;
    case BMC_I64: return H5T_STD_I64LE;
    case BMC_F32: return H5T_IEEE_F32LE;
    case BMC_F64: return H5T_IEEE_F64LE;
    case BMC_F16: return half_type();
    }
    BMC_BUG("bad dtype %d", (int)t);
}

/* Native memory type of t (what callers' buffers hold). */
static hid_t mem_type(bmc_dtype t) {
    switch (t) {
    case BMC_U8: return H5T_NATIVE_UINT8;
    case BMC_I16: return H5T_NATIVE_INT16;
    case BMC_I32: return H5T_NATIVE_INT32;
    case BMC_I64: return H5T_NATIVE_INT64;
    case BMC_F32: return H5T_NATIVE_FLOAT;
    case BMC_F64: return H5T_NATIVE_DOUBLE;
    case BMC_F16: return half_type();
    }
    BMC_BUG("bad dtype %d", (int)t);
}

/* ---- datasets ------------------------------------------------------------------------ */

int bmc_h5_exists(bmc_h5 *f, const char *name) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->fid >= 0 && name);
    int mine = bmc_h5i_exists_local(f->fid, name), all = 0;
    BMC_MPI(MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_LAND, f->comm));
    return all;
}

int bmc_h5_create_dataset(bmc_h5 *f, const char *name, bmc_dtype t, int ndims,
                          const hsize_t *dims, const hsize_t *chunk, bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->fid >= 0 && name && dims);
    bmc_err e = {0};
    char what[BMC_ERR_MSG_MAX / 2];
    bmc_h5i_label(what, sizeof what, f, name);
    hsize_t maxdims[BMC_H5_MAXDIMS], chunk_used[BMC_H5_MAXDIMS];
    if (!f->writable)
        bmc_err_set(&e, "open the output with bmc_h5_create", "%s: file is read-only", what);
    else if (!bmc_h5i_dtype_valid(t))
        bmc_err_set(&e, NULL, "%s: invalid element type %d", what, (int)t);
    else if (ndims < 1 || ndims > BMC_H5_MAXDIMS)
        bmc_err_set(&e, NULL, "%s: %d dimensions requested (1 to %d supported)", what, ndims,
                    BMC_H5_MAXDIMS);
    else if (bmc_h5i_exists_local(f->fid, name))
        bmc_err_set(&e, "each dataset is created once; check bmc_h5_exists before creating",
                    "%s: dataset already exists", what);
    for (int d = 0; !e.failed && d < ndims; d++) {
        /* Chunks are clamped to the shape; a zero-length dimension of a chunked dataset
         * gets an unlimited maximum, as HDF5 requires chunk ≤ maximum size. */
        maxdims[d] = dims[d];
        if (!chunk) continue;
        if (chunk[d] == 0) {
            bmc_err_set(&e, NULL, "%s: chunk size 0 in dimension %d", what, d);
            break;
        }
        chunk_used[d] = dims[d] == 0 ? chunk[d] : (chunk[d] < dims[d] ? chunk[d] : dims[d]);
        if (dims[d] == 0) maxdims[d] = H5S_UNLIMITED;
    }
    if (bmc_h5i_agree(f->comm, &e, err)) return -1;

    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    /* Unwritten elements are left as they are on disk instead of being filled first: a
     * stage writes every row, and filling would double the I/O of big outputs. */
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    if (chunk) H5Pset_chunk(dcpl, ndims, chunk_used);
    hid_t space = H5Screate_simple(ndims, dims, maxdims);
    hid_t dset = H5Dcreate2(f->fid, name, file_type(t), space, lcpl, dcpl, H5P_DEFAULT);
    if (dset < 0)
        bmc_h5i_set_err(&e, "check free space on the output folder",
                        "%s: cannot create dataset", what);
    else
        H5Dclose(dset);
    H5Sclose(space);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    return bmc_h5i_agree(f->comm, &e, err);
}

int bmc_h5_check_extent(const char *path, const char *what, int ndims, const hsize_t *dims,
                        size_t elem_size, bmc_err *err) {
    char shape[160] = "";
    size_t used = 0;
    uint64_t bytes = elem_size, cap = BMC_H5_MAX_DATASET_BYTES;
    int over = 0;
    for (int d = 0; d < ndims; d++) {
        used += (size_t)snprintf(shape + used, used < sizeof shape ? sizeof shape - used : 0,
                                 "%s%llu", d ? ", " : "", (unsigned long long)dims[d]);
        if (used >= sizeof shape) used = sizeof shape - 1;
        if (dims[d] && bytes > cap / dims[d]) over = 1;
        else bytes *= dims[d];
    }
    if (over)
        return bmc_err_set(err, "the file is damaged or the dataset is not what brainmclip reads",
                           "%s: shape (%s) claims more than %llu bytes", what, shape,
                           (unsigned long long)cap);
    int64_t size = bmc_file_size(path);
    if (size >= 0 && bytes > BMC_H5_SMALL_DATASET_BYTES &&
        bytes / BMC_H5_MAX_EXPANSION > (uint64_t)size)
        return bmc_err_set(err, "the file is damaged, was not fully written, or the dataset's "
                                "shape is wrong (check it with `h5ls -v`)",
                           "%s: shape (%s) claims %llu bytes, but the file holds only %lld",
                           what, shape, (unsigned long long)bytes, (long long)size);
    return 0;
}

/* Open dataset `name` and read its shape; errors name the file and dataset. Local. */
static hid_t open_dataset(bmc_h5 *f, const char *name, const char *what, int *ndims,
                          hsize_t dims[BMC_H5_MAXDIMS], bmc_err *e) {
    if (!bmc_h5i_exists_local(f->fid, name)) {
        char hint[BMC_ERR_HINT_MAX];
        snprintf(hint, sizeof hint, "list the file's contents with `h5ls -r %s`", f->path);
        bmc_err_set(e, hint, "%s: no such dataset", what);
        return H5I_INVALID_HID;
    }
    hid_t dset = H5Dopen2(f->fid, name, H5P_DEFAULT);
    if (dset < 0) {
        H5Eclear2(H5E_DEFAULT);
        bmc_err_set(e, "the path names a group or another object, not a dataset",
                    "%s: not a dataset", what);
        return H5I_INVALID_HID;
    }
    hid_t space = H5Dget_space(dset);
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0 || nd > BMC_H5_MAXDIMS) {
        bmc_err_set(e, "brainmclip reads datasets of 1 to 4 dimensions",
                    "%s: dataset has %d dimensions", what, nd);
    } else {
        for (int d = 0; d < BMC_H5_MAXDIMS; d++) dims[d] = 0;
        H5Sget_simple_extent_dims(space, dims, NULL);
        *ndims = nd;
        /* Inputs only: a file being written may not have grown to its datasets yet. */
        if (!f->writable) {
            hid_t type = H5Dget_type(dset);
            bmc_h5_check_extent(f->path, what, nd, dims, H5Tget_size(type), e);
            H5Tclose(type);
        }
    }
    H5Sclose(space);
    if (e->failed) {
        H5Dclose(dset);
        return H5I_INVALID_HID;
    }
    return dset;
}

/* Closest bmc_dtype of an HDF5 type, or -1 with a printable name of the type in `name`. */
static int dtype_of(hid_t type, char *name, size_t n) {
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    if (cls == H5T_INTEGER) {
        int is_signed = H5Tget_sign(type) == H5T_SGN_2;
        if (size == 1 && !is_signed) return BMC_U8;
        if (is_signed && size == 2) return BMC_I16;
        if (is_signed && size == 4) return BMC_I32;
        if (is_signed && size == 8) return BMC_I64;
        snprintf(name, n, "%sint%zu", is_signed ? "" : "u", 8 * size);
    } else if (cls == H5T_FLOAT) {
        if (size == 2) return BMC_F16;
        if (size == 4) return BMC_F32;
        if (size == 8) return BMC_F64;
        snprintf(name, n, "float%zu", 8 * size);
    } else {
        const char *c = cls == H5T_STRING      ? "string"
                        : cls == H5T_COMPOUND  ? "compound"
                        : cls == H5T_ENUM      ? "enum"
                        : cls == H5T_ARRAY     ? "array"
                        : cls == H5T_VLEN      ? "variable-length"
                        : cls == H5T_OPAQUE    ? "opaque"
                        : cls == H5T_BITFIELD  ? "bitfield"
                        : cls == H5T_REFERENCE ? "reference"
                                               : "unknown";
        snprintf(name, n, "%s", c);
    }
    return -1;
}

int bmc_h5_dataset_info(bmc_h5 *f, const char *name, bmc_dtype *t, int *ndims,
                        hsize_t dims[BMC_H5_MAXDIMS], bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->fid >= 0 && name && t && ndims && dims);
    bmc_err e = {0};
    char what[BMC_ERR_MSG_MAX / 2];
    bmc_h5i_label(what, sizeof what, f, name);
    hid_t dset = open_dataset(f, name, what, ndims, dims, &e);
    if (dset >= 0) {
        hid_t type = H5Dget_type(dset);
        char tname[64] = "";
        int code = dtype_of(type, tname, sizeof tname);
        if (code < 0)
            bmc_err_set(&e, "brainmclip reads uint8, int16, int32, int64, float32 and float64",
                        "%s: element type %s is not supported", what, tname);
        else
            *t = (bmc_dtype)code;
        H5Tclose(type);
        H5Dclose(dset);
    }
    return bmc_h5i_agree(f->comm, &e, err);
}

/* Order of [first, last] element intervals by first element (qsort). */
static int cmp_interval(const void *a, const void *b) {
    const unsigned long long *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Collective: whether the file extents (first to last selected element, row-major) of two
 * ranks' selections overlap. Open MPI 4.1's OMPIO collective read (fcoll vulcan/dynamic)
 * returns zeros past the end of the extent of the rank with the largest start when extents
 * overlap (e.g. ranks reading overlapping row ranges), so such reads go independent. */
static int extents_overlap(MPI_Comm comm, int ndims, const hsize_t *dims, const hsize_t *start,
                           const hsize_t *count, hsize_t nelem) {
    unsigned long long mine[2] = {1, 0}; /* empty: first > last */
    if (nelem > 0) {
        unsigned long long first = 0, last = 0;
        for (int d = 0; d < ndims; d++) {
            first = first * dims[d] + start[d];
            last = last * dims[d] + start[d] + count[d] - 1;
        }
        mine[0] = first;
        mine[1] = last;
    }
    int size = 1;
    BMC_MPI(MPI_Comm_size(comm, &size));
    unsigned long long *all = XNEW(all, 2 * (size_t)size);
    BMC_MPI(MPI_Allgather(mine, 2, MPI_UNSIGNED_LONG_LONG, all, 2, MPI_UNSIGNED_LONG_LONG,
                          comm));
    size_t n = 0; /* keep the non-empty intervals */
    for (int r = 0; r < size; r++)
        if (all[2 * r] <= all[2 * r + 1]) {
            all[2 * n] = all[2 * r];
            all[2 * n + 1] = all[2 * r + 1];
            n++;
        }
    qsort(all, n, 2 * sizeof *all, cmp_interval);
    /* Sorted by first element: an interval overlaps an earlier one iff it starts at or
     * before the largest last element seen so far. */
    int overlap = 0;
    unsigned long long max_last = n > 0 ? all[1] : 0;
    for (size_t i = 1; i < n && !overlap; i++) {
        overlap = all[2 * i] <= max_last;
        if (all[2 * i + 1] > max_last) max_last = all[2 * i + 1];
    }
    free(all);
    return overlap;
}

/* ---- transfers ---------------------------------------------------------------------- */
/* A transfer runs in three steps, one function each: xfer_open (checks the request and opens
 * the dataset), one selection per kind of request (select_rows, select_block, select_rowset:
 * what this rank moves, checked against the shape), and xfer_run (one agreement, then the
 * collective move with its type conversion). The first two are local and only record errors
 * in x->e, so that every rank reaches the single agreement in xfer_run. */

typedef struct xfer {
    bmc_h5 *f;
    bmc_dtype mt;                       /* memory type of buf                          */
    int writing;
    void *buf;
    char what[BMC_ERR_MSG_MAX / 2];     /* "file.h5:/name", for messages               */
    hid_t dset, fspace;                 /* H5I_INVALID_HID until opened                */
    int ndims;
    hsize_t dims[BMC_H5_MAXDIMS];       /* the dataset's shape                         */
    hsize_t start[BMC_H5_MAXDIMS];      /* this rank's block (a row set: its first row) */
    hsize_t count[BMC_H5_MAXDIMS];      /* ... and its size (a row set: nrows rows)    */
    hsize_t extent[BMC_H5_MAXDIMS];     /* rows spanned in dim 0, for overlapping reads */
    hsize_t nelem;                      /* elements this rank moves                    */
    bmc_err e;
} xfer;

/* Local: check the memory type and the file's mode, open dataset `name` (at least 1-D) and
 * its file space. Errors go to x->e. */
static void xfer_open(xfer *x, bmc_h5 *f, const char *name, bmc_dtype mt, int writing,
                      void *buf) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->fid >= 0 && name);
    *x = (xfer){.f = f, .mt = mt, .writing = writing, .buf = buf, .dset = H5I_INVALID_HID,
                .fspace = H5I_INVALID_HID};
    bmc_h5i_label(x->what, sizeof x->what, f, name);
    if (!bmc_h5i_dtype_valid(mt))
        bmc_err_set(&x->e, NULL, "%s: invalid memory type %d", x->what, (int)mt);
    else if (writing && !f->writable)
        bmc_err_set(&x->e, "writes go to a file made by bmc_h5_create", "%s: file is read-only",
                    x->what);
    else x->dset = open_dataset(f, name, x->what, &x->ndims, x->dims, &x->e);
    if (x->dset >= 0 && x->ndims < 1)
        bmc_err_set(&x->e, "scalar values are stored as attributes, not datasets",
                    "%s: dataset is a scalar; rows and blocks need at least 1 dimension", x->what);
    if (x->dset >= 0) x->fspace = H5Dget_space(x->dset);
}

/* 1 when the open step succeeded and a selection may be made. */
static int xfer_selectable(const xfer *x) { return x->dset >= 0 && !x->e.failed; }

static void count_elements(xfer *x) {
    x->nelem = 1;
    for (int d = 0; d < x->ndims; d++) x->nelem *= x->count[d];
    memcpy(x->extent, x->count, sizeof x->extent);
}

/* Local: dimensions d0.. of x's block must lie inside the shape (an empty block always
 * does: a rank with nothing to move takes part without data). */
static void check_block_extent(xfer *x, int d0) {
    for (int d = d0; x->nelem > 0 && !x->e.failed && d < x->ndims; d++) {
        if (x->count[d] <= x->dims[d] && x->start[d] <= x->dims[d] - x->count[d]) continue;
        bmc_err_set(&x->e, "the block must lie inside the dataset's shape",
                    "%s: block [%llu, %llu) out of range in dimension %d (size %llu)", x->what,
                    (unsigned long long)x->start[d],
                    (unsigned long long)(x->start[d] + x->count[d]), d,
                    (unsigned long long)x->dims[d]);
    }
}

/* Local: select x's block in the file space (nothing when it is empty). */
static void select_hyperslab(xfer *x) {
    if (x->e.failed) return;
    if (x->nelem == 0) H5Sselect_none(x->fspace);
    else H5Sselect_hyperslab(x->fspace, H5S_SELECT_SET, x->start, NULL, x->count, NULL);
}

/* Local: rows [row0, row0 + nrows), the other dimensions whole. */
static void select_rows(xfer *x, hsize_t row0, hsize_t nrows) {
    if (!xfer_selectable(x)) return;
    for (int d = 0; d < x->ndims; d++) {
        x->start[d] = d == 0 ? row0 : 0;
        x->count[d] = d == 0 ? nrows : x->dims[d];
    }
    count_elements(x);
    if (x->nelem > 0 && (nrows > x->dims[0] || row0 > x->dims[0] - nrows))
        bmc_err_set(&x->e, "rows must lie inside the dataset; check how rows are split "
                           "over ranks",
                    "%s: rows [%llu, %llu) out of range (dataset has %llu rows)", x->what,
                    (unsigned long long)row0, (unsigned long long)(row0 + nrows),
                    (unsigned long long)x->dims[0]);
    select_hyperslab(x);
}

/* Local: the block start[d], count[d] over every dimension. */
static void select_block(xfer *x, const hsize_t *start, const hsize_t *count) {
    if (!xfer_selectable(x)) return;
    memcpy(x->start, start, (size_t)x->ndims * sizeof *start);
    memcpy(x->count, count, (size_t)x->ndims * sizeof *count);
    count_elements(x);
    check_block_extent(x, 0);
    select_hyperslab(x);
}

/* Local: the strictly increasing rows[0..nrows) in dimension 0, and in the others the block
 * start_tail/count_tail (or everything when NULL). One hyperslab per run of consecutive
 * rows, OR-ed in increasing order, so the selection's row-major order is that of rows. */
static void select_rowset(xfer *x, const hsize_t *rows, hsize_t nrows, const hsize_t *start_tail,
                          const hsize_t *count_tail) {
    if (!xfer_selectable(x)) return;
    for (int d = 0; d < x->ndims; d++) {
        x->start[d] = d == 0 ? (nrows ? rows[0] : 0) : start_tail ? start_tail[d - 1] : 0;
        x->count[d] = d == 0 ? nrows : count_tail ? count_tail[d - 1] : x->dims[d];
    }
    count_elements(x);
    if (x->nelem == 0) {
        H5Sselect_none(x->fspace);
        return;
    }
    for (hsize_t k = 1; !x->e.failed && k < nrows; k++)
        if (rows[k] <= rows[k - 1])
            bmc_err_set(&x->e, "pass the rows sorted, without repeats",
                        "%s: row set not strictly increasing at entry %llu", x->what,
                        (unsigned long long)k);
    if (!x->e.failed && rows[nrows - 1] >= x->dims[0])
        bmc_err_set(&x->e, "rows must lie inside the dataset",
                    "%s: row %llu out of range (dataset has %llu rows)", x->what,
                    (unsigned long long)rows[nrows - 1], (unsigned long long)x->dims[0]);
    check_block_extent(x, 1);
    if (x->e.failed) return;
    x->extent[0] = rows[nrows - 1] - rows[0] + 1;
    hsize_t s0[BMC_H5_MAXDIMS], c0[BMC_H5_MAXDIMS];
    memcpy(s0, x->start, sizeof s0);
    memcpy(c0, x->count, sizeof c0);
    for (hsize_t k = 0; k < nrows;) {
        hsize_t run = 1;
        while (k + run < nrows && rows[k + run] == rows[k] + run) run++;
        s0[0] = rows[k];
        c0[0] = run;
        H5Sselect_hyperslab(x->fspace, k == 0 ? H5S_SELECT_SET : H5S_SELECT_OR, s0, NULL, c0,
                            NULL);
        k += run;
    }
}

/* Local (the H5Dread/H5Dwrite inside is collective): move the selected elements between buf
 * and the file. HDF5 falls back to independent I/O when it converts types, so when the
 * memory type differs from the stored one, the stored type moves collectively and is
 * converted here with H5Tconvert (the same conversion rules, one staging copy). */
static void xfer_move(xfer *x, hid_t mspace) {
    hid_t ftype = H5Dget_type(x->dset);
    char unused[64];
    int stored = dtype_of(ftype, unused, sizeof unused);
    H5Tclose(ftype);
    bmc_dtype mt = x->mt, io_t = stored >= 0 ? (bmc_dtype)stored : mt;
    size_t n = (size_t)x->nelem, esize = bmc_dtype_size(io_t);
    if (bmc_dtype_size(mt) > esize) esize = bmc_dtype_size(mt);
    void *stage = io_t != mt && n > 0 ? xmalloc(bmc_mul_size(n, esize)) : NULL;
    if (stage && x->writing) {
        memcpy(stage, x->buf, n * bmc_dtype_size(mt));
        BMC_CHECK(H5Tconvert(mem_type(mt), mem_type(io_t), n, stage, NULL, H5P_DEFAULT) >= 0);
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    /* Overlapping reads still enter H5Dread together but move their data independently
     * (see extents_overlap); writes of brainmclip never overlap. */
    if (!x->writing &&
        extents_overlap(x->f->comm, x->ndims, x->dims, x->start, x->extent, x->nelem))
        H5Pset_dxpl_mpio_collective_opt(dxpl, H5FD_MPIO_INDIVIDUAL_IO);
    unsigned char dummy = 0;
    void *data = stage ? stage : x->buf ? x->buf : &dummy;
    herr_t rc = x->writing ? H5Dwrite(x->dset, mem_type(io_t), mspace, x->fspace, dxpl, data)
                           : H5Dread(x->dset, mem_type(io_t), mspace, x->fspace, dxpl, data);
    if (rc < 0)
        bmc_h5i_set_err(&x->e, x->writing ? "check free space and quota on the output folder"
                                          : "the file may be truncated or damaged",
                        "%s: %s of %llu elements (%s) failed", x->what,
                        x->writing ? "write" : "read", (unsigned long long)x->nelem,
                        bmc_dtype_name(mt));
    if (stage && !x->writing && rc >= 0) {
        BMC_CHECK(H5Tconvert(mem_type(io_t), mem_type(mt), n, stage, NULL, H5P_DEFAULT) >= 0);
        memcpy(x->buf, stage, n * bmc_dtype_size(mt));
    }
    free(stage);
    H5Pclose(dxpl);
}

/* Collective: agree on the request (every rank's checks), then move the data and release
 * the dataset. Returns the agreed status. */
static int xfer_run(xfer *x, bmc_err *err) {
    if (!x->e.failed && x->nelem > 0 && !x->buf)
        bmc_err_set(&x->e, NULL, "%s: NULL buffer for %llu elements", x->what,
                    (unsigned long long)x->nelem);
    int rc = bmc_h5i_agree(x->f->comm, &x->e, err);
    /* An empty dataset (a zero dimension, the same on every rank) has no storage to
     * move: HDF5 fails a collective transfer on it with "addr overflow". */
    hsize_t total = 1;
    for (int d = 0; d < x->ndims; d++) total *= x->dims[d];
    if (!rc) {
        if (total > 0) {
            hsize_t one = 1;
            hid_t mspace = x->nelem == 0 ? H5Screate_simple(1, &one, NULL)
                                         : H5Screate_simple(x->ndims, x->count, NULL);
            if (x->nelem == 0) H5Sselect_none(mspace);
            xfer_move(x, mspace);
            H5Sclose(mspace);
        }
        bmc_fault_point(x->writing ? "write" : "read");
        rc = bmc_h5i_agree(x->f->comm, &x->e, err);
    }
    if (x->fspace >= 0) H5Sclose(x->fspace);
    if (x->dset >= 0) H5Dclose(x->dset);
    return rc;
}

int bmc_h5_write_rows(bmc_h5 *f, const char *name, bmc_dtype mt, hsize_t row0, hsize_t nrows,
                      const void *buf, bmc_err *err) {
    xfer x;
    xfer_open(&x, f, name, mt, 1, (void *)(uintptr_t)buf);
    select_rows(&x, row0, nrows);
    return xfer_run(&x, err);
}

int bmc_h5_read_rows(bmc_h5 *f, const char *name, bmc_dtype mt, hsize_t row0, hsize_t nrows,
                     void *buf, bmc_err *err) {
    xfer x;
    xfer_open(&x, f, name, mt, 0, buf);
    select_rows(&x, row0, nrows);
    return xfer_run(&x, err);
}

int bmc_h5_write_block(bmc_h5 *f, const char *name, bmc_dtype mt, const hsize_t *start,
                       const hsize_t *count, const void *buf, bmc_err *err) {
    BMC_CHECK(start && count);
    xfer x;
    xfer_open(&x, f, name, mt, 1, (void *)(uintptr_t)buf);
    select_block(&x, start, count);
    return xfer_run(&x, err);
}

int bmc_h5_read_block(bmc_h5 *f, const char *name, bmc_dtype mt, const hsize_t *start,
                      const hsize_t *count, void *buf, bmc_err *err) {
    BMC_CHECK(start && count);
    xfer x;
    xfer_open(&x, f, name, mt, 0, buf);
    select_block(&x, start, count);
    return xfer_run(&x, err);
}

int bmc_h5_read_rowset(bmc_h5 *f, const char *name, bmc_dtype mt, const hsize_t *rows,
                       hsize_t nrows, const hsize_t *start_tail, const hsize_t *count_tail,
                       void *buf, bmc_err *err) {
    BMC_CHECK((rows || nrows == 0) && (!start_tail) == (!count_tail));
    xfer x;
    xfer_open(&x, f, name, mt, 0, buf);
    select_rowset(&x, rows, nrows, start_tail, count_tail);
    return xfer_run(&x, err);
}
