/* bmc_h5io.h — parallel HDF5 (MPI-IO) files, the way every brainmclip stage reads and writes.
 *
 * Files are opened collectively on a communicator with the MPI-IO driver; blocks of rows of
 * 2-D/3-D (any rank ≤ 4) datasets move with collective transfers. Outputs are atomic: a stage
 * writes `NAME.partial`, and bmc_h5_commit closes it collectively, fsyncs and lets rank 0
 * rename it to NAME, so a file that exists is complete. Every bmc output carries root
 * attributes `format`, `format_version` and provenance (DESIGN.md §3); readers check them.
 * Every collective function here returns an *agreed* status: -1 on all ranks when any rank
 * failed, with the same message in err on all ranks. HDF5's own error stack is silenced and
 * turned into messages that name the file and dataset.
 * Not here: what datasets a stage writes (docs/FORMATS.md), NIfTI/MAT files.
 */
#ifndef BMC_H5IO_H
#define BMC_H5IO_H

#include <hdf5.h>
#include <stdint.h>
#include <mpi.h>
#include <stddef.h>
#include "bmc_error.h"
#include "bmc_formats.h"

#define BMC_H5_MAXDIMS 4

/* BMC_F16 is IEEE binary16 on disk (h5py reads it as float16); an F16 memory buffer holds
 * the raw binary16 bits. Stages usually pass float32 buffers and let h5io convert. */
typedef enum { BMC_U8, BMC_I16, BMC_I32, BMC_I64, BMC_F32, BMC_F64, BMC_F16 } bmc_dtype;

size_t bmc_dtype_size(bmc_dtype t);
const char *bmc_dtype_name(bmc_dtype t); /* "uint8", "int16", ..., "float64", "float16" */

typedef struct bmc_h5 {
    hid_t fid;           /* H5I_INVALID_HID when closed                         */
    MPI_Comm comm;       /* not owned                                           */
    int rank, size;
    int writable;
    char *path;          /* final path                                          */
    char *partial_path;  /* path + ".partial" while writing, else NULL          */
} bmc_h5;

/* ---- files (all collective over comm) ---------------------------------------------- */

/* Create `path.partial` (replacing a stale one) and write root attributes `format` and
 * `format_version`. The final `path` is not touched until bmc_h5_commit. The parent
 * directory must exist. */
int bmc_h5_create(bmc_h5 *f, MPI_Comm comm, const char *path, const char *format,
                  int format_version, bmc_err *err);

/* Resume an interrupted output: when `path.partial` exists, is a readable HDF5 file, has the
 * same `format` and its root attribute `stage_fingerprint` equals `fingerprint`, open it
 * read-write and return 1; otherwise behave as bmc_h5_create and return 0. -1 on error. */
int bmc_h5_create_or_resume(bmc_h5 *f, MPI_Comm comm, const char *path, const char *format,
                            int format_version, const char *fingerprint, bmc_err *err);

/* Close, fsync, and have rank 0 rename path.partial → path (and fsync the directory).
 * Ends with a barrier, so every rank sees the final file on return. */
int bmc_h5_commit(bmc_h5 *f, bmc_err *err);

/* Close and delete path.partial (after an agreed error). Never fails loudly. */
void bmc_h5_discard(bmc_h5 *f);

/* Open a complete file read-only. When `format` is non-NULL, the root attribute `format`
 * must equal it and `format_version` must be ≤ max_version; errors name the file and say what
 * was found and how to fix it. format == NULL opens a foreign file (NSD's HDF5 files). */
int bmc_h5_open(bmc_h5 *f, MPI_Comm comm, const char *path, const char *format,
                int max_version, bmc_err *err);

/* The same three for brainmclip's own formats, by their row of bmc_formats.h: a writer
 * stamps the table's name and version, a reader accepts that name and versions up to it. */
int bmc_h5_create_as(bmc_h5 *f, MPI_Comm comm, const char *path, bmc_format_id fmt,
                     bmc_err *err);
int bmc_h5_create_or_resume_as(bmc_h5 *f, MPI_Comm comm, const char *path, bmc_format_id fmt,
                               const char *fingerprint, bmc_err *err);
int bmc_h5_open_as(bmc_h5 *f, MPI_Comm comm, const char *path, bmc_format_id fmt,
                   bmc_err *err);

/* Collective: flush data and metadata to disk, so that a run killed after this point
 * leaves a .partial that bmc_h5_create_or_resume can reopen. */
int bmc_h5_flush(bmc_h5 *f, bmc_err *err);

/* Close a file opened for reading (or give up a writable one without renaming). */
void bmc_h5_close(bmc_h5 *f);

/* ---- datasets (collective) ----------------------------------------------------------- */

/* Create dataset `name` (absolute or relative to the root; intermediate groups are created)
 * with file type t and shape dims[0..ndims). chunk == NULL → contiguous layout. */
int bmc_h5_create_dataset(bmc_h5 *f, const char *name, bmc_dtype t, int ndims,
                          const hsize_t *dims, const hsize_t *chunk, bmc_err *err);

/* Shape and element type of a dataset. *t is the closest bmc_dtype of the stored type
 * (error for types that have none, such as strings or compound types). */
int bmc_h5_dataset_info(bmc_h5 *f, const char *name, bmc_dtype *t, int *ndims,
                        hsize_t dims[BMC_H5_MAXDIMS], bmc_err *err);

/* Sizes read from a file are user input. A dataset of file `path` with shape dims[0..ndims)
 * of elem_size-byte elements is refused when the shape overflows, when it is above
 * BMC_H5_MAX_DATASET_BYTES, or when it is above BMC_H5_SMALL_DATASET_BYTES and more than
 * BMC_H5_MAX_EXPANSION (gzip's 1032:1 bound) times the file's real size: a dataset that
 * claims 2^40 rows in a small file is damaged, not fully written or mis-shaped. The error
 * names `what` (e.g. "file.h5:/betas") and its shape. bmc_h5_dataset_info and the row/block
 * readers apply it to every dataset of a file opened read-only. 0 or -1. Local. */
#define BMC_H5_MAX_DATASET_BYTES ((uint64_t)1 << 42)
#define BMC_H5_SMALL_DATASET_BYTES ((uint64_t)64 << 20)
#define BMC_H5_MAX_EXPANSION 1032
int bmc_h5_check_extent(const char *path, const char *what, int ndims, const hsize_t *dims,
                        size_t elem_size, bmc_err *err);

/* 1 if an object (group, dataset) exists at `name`, else 0. Collective, cannot fail. */
int bmc_h5_exists(bmc_h5 *f, const char *name);

/* Each rank transfers rows [row0, row0 + nrows) of dataset `name` (dimension 0 = rows, the
 * other dimensions whole); buf holds nrows × prod(dims[1..]) elements in C order of memory
 * type mt (HDF5 converts to/from the file type). nrows may be 0 on some ranks. Ranges are
 * checked against the shape before any I/O. */
int bmc_h5_write_rows(bmc_h5 *f, const char *name, bmc_dtype mt, hsize_t row0, hsize_t nrows,
                      const void *buf, bmc_err *err);
int bmc_h5_read_rows(bmc_h5 *f, const char *name, bmc_dtype mt, hsize_t row0, hsize_t nrows,
                     void *buf, bmc_err *err);

/* General hyperslab: start[d], count[d] for every dimension of the dataset; buf is the
 * C-ordered block. A rank with a zero count in any dimension takes part without data. */
int bmc_h5_write_block(bmc_h5 *f, const char *name, bmc_dtype mt, const hsize_t *start,
                       const hsize_t *count, const void *buf, bmc_err *err);
int bmc_h5_read_block(bmc_h5 *f, const char *name, bmc_dtype mt, const hsize_t *start,
                      const hsize_t *count, void *buf, bmc_err *err);

/* Each rank reads its own set of rows (dimension 0): rows[0..nrows), strictly increasing
 * (ranks' sets may overlap), and in the other dimensions the block start_tail/count_tail
 * (ndims − 1 entries each), or everything when both are NULL. buf holds the rows in the
 * order given. For gathering scattered images or feature rows by id. */
int bmc_h5_read_rowset(bmc_h5 *f, const char *name, bmc_dtype mt, const hsize_t *rows,
                       hsize_t nrows, const hsize_t *start_tail, const hsize_t *count_tail,
                       void *buf, bmc_err *err);

/* ---- attributes (collective; every rank passes the same values) ----------------------- */
/* `obj` is the object holding the attribute: "/" for the root, or a dataset/group path. */

int bmc_h5_attr_set_str(bmc_h5 *f, const char *obj, const char *name, const char *value,
                        bmc_err *err);
int bmc_h5_attr_set_i64(bmc_h5 *f, const char *obj, const char *name, long long value,
                        bmc_err *err);
int bmc_h5_attr_set_f64(bmc_h5 *f, const char *obj, const char *name, double value,
                        bmc_err *err);
int bmc_h5_attr_set_i64_array(bmc_h5 *f, const char *obj, const char *name,
                              const long long *values, size_t n, bmc_err *err);
/* Readers. A missing attribute is an error naming file, object and attribute.
 * *out of get_str is a heap string (caller frees). */
int bmc_h5_attr_get_str(bmc_h5 *f, const char *obj, const char *name, char **out, bmc_err *err);
int bmc_h5_attr_get_i64(bmc_h5 *f, const char *obj, const char *name, long long *out,
                        bmc_err *err);
int bmc_h5_attr_get_f64(bmc_h5 *f, const char *obj, const char *name, double *out, bmc_err *err);
/* An integer array attribute of exactly n (> 0) values (what set_i64_array wrote). */
int bmc_h5_attr_get_i64_array(bmc_h5 *f, const char *obj, const char *name, long long *out,
                              size_t n, bmc_err *err);

/* ---- provenance (DESIGN.md §3) --------------------------------------------------------- */

typedef struct bmc_provenance {
    const char *created_by;        /* NULL → "<program> <version> (<git commit>)"            */
    const char *config_sha256;     /* SHA-256 of the canonical stage parameters               */
    const char *stage_fingerprint; /* from the workflow engine; NULL when run by hand         */
    size_t n_inputs;
    const char *const *input_paths;
    const char *const *input_sha256; /* content fingerprints, parallel to input_paths         */
} bmc_provenance;

/* Write root attributes created_by, created_at (UTC), config_sha256, stage_fingerprint (if
 * given), inputs ("path<TAB>sha256" lines), mpi_size. Collective. */
int bmc_h5_write_provenance(bmc_h5 *f, const bmc_provenance *p, bmc_err *err);

/* ---- serial peek (no MPI needed; for the workflow engine) ------------------------------ */

/* 1 if `path` starts with the HDF5 signature, else 0. */
int bmc_h5_is_hdf5(const char *path);
/* Read a root string attribute of a file without MPI. Returns 0 and a heap string, or -1
 * (missing file, not HDF5, no such attribute); never prints. */
int bmc_h5_peek_root_str(const char *path, const char *name, char **out);

#endif
