/* safetensors.h — read and write `.safetensors` files (Hugging Face's tensor container).
 *
 * Layout: 8-byte little-endian header length n, n bytes of JSON
 * {"__metadata__": {str: str}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}},
 * then the raw little-endian data; offsets are relative to the data start. The reader mmaps the
 * file read-only and treats the header as untrusted: every length, shape and offset is checked
 * (overflow-safe) before any byte of data is touched. Not here: what the tensors mean
 * (weights.c maps CLIP names into a vit_model).
 */
#ifndef BMC_SAFETENSORS_H
#define BMC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "bmc_error.h"

typedef enum st_dtype {
    ST_BOOL, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_I16, ST_U16, ST_F16, ST_BF16,
    ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64,
    ST_DTYPE_COUNT
} st_dtype;

#define ST_MAX_DIMS 8

typedef struct st_tensor {
    const char *name;             /* owned by the st_file                              */
    st_dtype dtype;
    int ndim;                     /* 0 = scalar                                        */
    int64_t shape[ST_MAX_DIMS];
    size_t numel;                 /* product of shape (1 for a scalar)                 */
    size_t begin, end;            /* byte range inside the data area                   */
} st_tensor;

typedef struct st_file st_file;

/* "F32", "BF16", ... */
const char *st_dtype_name(st_dtype d);
/* Bytes per element (1 for BOOL and the F8 types). */
size_t st_dtype_size(st_dtype d);

/* Open and validate a safetensors file. Returns NULL with an error naming the file (and the
 * tensor, when one entry is at fault) on: a file shorter than 8 bytes, a header length beyond
 * the file, invalid JSON, an entry without a valid dtype/shape/data_offsets, offsets outside
 * the data area or not matching prod(shape)·dtype size, overlapping tensors, gaps or trailing
 * bytes in the data area, duplicate names, a non-string metadata value. */
st_file *st_open(const char *path, bmc_err *err);
/* Unmap and free (NULL is fine). Tensor pointers obtained from st become invalid. */
void st_close(st_file *st);

/* The tensor named `name`, or NULL. `__metadata__` is not a tensor. */
const st_tensor *st_find(const st_file *st, const char *name);
/* Number of tensors, and the i-th in name order (0 <= i < st_count). */
size_t st_count(const st_file *st);
const st_tensor *st_tensor_at(const st_file *st, size_t i);
/* Value of a `__metadata__` key, or NULL. */
const char *st_metadata(const st_file *st, const char *key);
/* The path given to st_open (for messages). */
const char *st_path(const st_file *st);
/* The tensor's raw little-endian bytes (t->end - t->begin of them). */
const void *st_raw(const st_file *st, const st_tensor *t);

/* Convert the tensor to float32 into dst (n must equal t->numel). F32 is copied, F16 (with
 * subnormals, inf and NaN), BF16 and F64 are converted (F64 rounds to nearest). Any other
 * dtype is an error naming the file, the tensor and its dtype. Returns 0 or -1. */
int st_read_f32(const st_file *st, const st_tensor *t, float *dst, size_t n, bmc_err *err);

/* IEEE half <-> float conversions (exact both ways where representable; float→half rounds to
 * nearest even, overflows to ±inf, keeps NaN a NaN). */
float st_f16_to_f32(uint16_t h);
uint16_t st_f32_to_f16(float f);
float st_bf16_to_f32(uint16_t b);

/* One tensor to write: name, shape, and numel float32 values. */
typedef struct st_write_tensor {
    const char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const float *data;
} st_write_tensor;

/* Write n tensors to path as dtype ST_F32 or ST_F16, atomically (path.partial, fsync, rename).
 * Tensors are stored in name order, contiguous; the header is space-padded so that 8 + n is a
 * multiple of 8. meta holds n_meta (key, value) string pairs for `__metadata__` (may be NULL
 * when n_meta = 0). Returns 0, or -1 with an error (duplicate/empty name, bad shape, I/O). */
int st_write(const char *path, const st_write_tensor *tensors, size_t n, st_dtype dtype,
             const char *const (*meta)[2], size_t n_meta, bmc_err *err);

#endif
