/* safetensors.c — the safetensors reader (mmap, untrusted header) and a float writer.
 *
 * st_open checks the header completely before any data is read: length against the file
 * size, JSON syntax (cJSON), each entry's dtype, shape and data_offsets (overflow-safe), then
 * that the tensors tile the data area exactly (no overlap, no gap, no trailing bytes), as the
 * reference Rust reader requires. Tensors are kept sorted by name for st_find.
 * Not here: CLIP naming (weights.c); integer conversions (only float dtypes convert).
 */
#define _XOPEN_SOURCE 700
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"

/* The format's own limit on the header (the Rust reader refuses larger ones). */
#define ST_MAX_HEADER ((uint64_t)100000000)
/* Largest integer a JSON number (a double in cJSON) holds exactly. */
#define ST_MAX_JSON_INT 9007199254740992.0

struct st_file {
    char *path;
    unsigned char *map;
    size_t map_size;
    const unsigned char *data;  /* map + 8 + header length */
    size_t data_size;
    st_tensor *tensors;         /* sorted by name */
    size_t n_tensors;
    char **meta_keys, **meta_values;
    size_t n_meta;
};

static const char *const dtype_names[ST_DTYPE_COUNT] = {
    "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
    "I32", "U32", "F32", "F64", "I64", "U64"};
static const size_t dtype_sizes[ST_DTYPE_COUNT] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};

const char *st_dtype_name(st_dtype d) {
    BMC_CHECK((int)d >= 0 && d < ST_DTYPE_COUNT);
    return dtype_names[d];
}

size_t st_dtype_size(st_dtype d) {
    BMC_CHECK((int)d >= 0 && d < ST_DTYPE_COUNT);
    return dtype_sizes[d];
}

/* ---- half / bfloat16 conversions ---- */

float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0 && mant == 0) {
        bits = sign;
    } else if (exp == 0) { /* subnormal: mant·2^-24, normalise */
        uint32_t shifts = 0;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            shifts++;
        }
        bits = sign | ((113u - shifts) << 23) | ((mant & 0x3ffu) << 13);
    } else if (exp == 31) { /* inf / NaN (payload kept) */
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t st_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u, absx = x & 0x7fffffffu, e = absx >> 23;
    if (absx > 0x7f800000u) { /* NaN: keep the top payload bits, stay a NaN */
        uint32_t m = (absx >> 13) & 0x3ffu;
        return (uint16_t)(sign | 0x7c00u | (m ? m : 0x200u));
    }
    if (e >= 143) return (uint16_t)(sign | 0x7c00u); /* ≥ 2^16, or inf */
    if (e <= 112) {                                   /* below 2^-14: half subnormal or 0 */
        uint32_t m = (absx & 0x7fffffu) | (e ? 0x800000u : 0u);
        uint32_t shift = 126 - e;
        if (shift > 24) return (uint16_t)sign;
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t mant = absx & 0x7fffffu;
    uint32_t q = ((e - 112u) << 10) | (mant >> 13), rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++; /* carry may reach inf: right */
    return (uint16_t)(sign | q);
}

float st_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

/* ---- reader ---- */

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* A JSON number that is a non-negative integer a double holds exactly. */
static int json_size(const cJSON *v, size_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d > ST_MAX_JSON_INT || d != floor(d)) return -1;
    if (d > (double)SIZE_MAX) return -1;
    *out = (size_t)d;
    return 0;
}

static void format_shape(const st_tensor *t, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

#define BAD_FILE_HINT "the file is damaged or was not written by a safetensors writer; fetch or export it again"

/* Parse one header entry into t (name already set). */
static int parse_entry(const st_file *st, const cJSON *entry, st_tensor *t, bmc_err *err) {
    const char *p = st->path, *nm = t->name;
    if (!cJSON_IsObject(entry))
        return bmc_err_set(err, BAD_FILE_HINT, "%s: tensor '%s': header entry is not a JSON object", p, nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dt))
        return bmc_err_set(err, BAD_FILE_HINT, "%s: tensor '%s': missing or non-string 'dtype'", p, nm);
    int found = -1;
    for (int d = 0; d < ST_DTYPE_COUNT; d++)
        if (!strcmp(dt->valuestring, dtype_names[d])) found = d;
    if (found < 0)
        return bmc_err_set(err, "known dtypes: BOOL U8 I8 F8_E5M2 F8_E4M3 I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64",
                           "%s: tensor '%s': unknown dtype '%.40s'", p, nm, dt->valuestring);
    t->dtype = (st_dtype)found;
    if (!cJSON_IsArray(sh))
        return bmc_err_set(err, BAD_FILE_HINT, "%s: tensor '%s': missing or non-array 'shape'", p, nm);
    int ndim = cJSON_GetArraySize(sh);
    if (ndim > ST_MAX_DIMS)
        return bmc_err_set(err, BAD_FILE_HINT, "%s: tensor '%s': shape has %d dimensions (at most %d supported)",
                           p, nm, ndim, ST_MAX_DIMS);
    t->ndim = ndim;
    t->numel = 1;
    int overflow = 0;
    for (int i = 0; i < ndim; i++) {
        size_t dim;
        if (json_size(cJSON_GetArrayItem(sh, i), &dim))
            return bmc_err_set(err, BAD_FILE_HINT,
                               "%s: tensor '%s': shape entry %d is not a non-negative integer", p, nm, i);
        t->shape[i] = (int64_t)dim;
        if (dim != 0 && t->numel > SIZE_MAX / dim) overflow = 1;
        else t->numel *= dim;
    }
    size_t esize = dtype_sizes[t->dtype];
    if (overflow || t->numel > SIZE_MAX / esize) {
        char shape[160];
        format_shape(t, shape, sizeof shape);
        return bmc_err_set(err, BAD_FILE_HINT, "%s: tensor '%s': shape %s is too large (overflows)", p, nm, shape);
    }
    size_t begin, end;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        json_size(cJSON_GetArrayItem(off, 0), &begin) || json_size(cJSON_GetArrayItem(off, 1), &end))
        return bmc_err_set(err, BAD_FILE_HINT,
                           "%s: tensor '%s': 'data_offsets' must be two non-negative integers [begin, end]", p, nm);
    if (end < begin)
        return bmc_err_set(err, BAD_FILE_HINT, "%s: tensor '%s': data_offsets [%zu, %zu] end before they begin",
                           p, nm, begin, end);
    if (end > st->data_size)
        return bmc_err_set(err, "the file is probably truncated (an interrupted download or copy); fetch it again",
                           "%s: tensor '%s': data_offsets [%zu, %zu] exceed the data size %zu", p, nm, begin, end,
                           st->data_size);
    if (end - begin != t->numel * esize) {
        char shape[160];
        format_shape(t, shape, sizeof shape);
        return bmc_err_set(err, BAD_FILE_HINT,
                           "%s: tensor '%s': data_offsets [%zu, %zu] hold %zu bytes but shape %s of %s needs %zu",
                           p, nm, begin, end, end - begin, shape, dtype_names[t->dtype], t->numel * esize);
    }
    t->begin = begin;
    t->end = end;
    return 0;
}

static int parse_metadata(st_file *st, const cJSON *meta, bmc_err *err) {
    if (!cJSON_IsObject(meta))
        return bmc_err_set(err, BAD_FILE_HINT, "%s: '__metadata__' is not a JSON object", st->path);
    size_t n = (size_t)cJSON_GetArraySize(meta);
    st->meta_keys = xcalloc(n ? n : 1, sizeof *st->meta_keys);
    st->meta_values = xcalloc(n ? n : 1, sizeof *st->meta_values);
    for (const cJSON *it = meta->child; it; it = it->next) {
        if (!cJSON_IsString(it))
            return bmc_err_set(err, BAD_FILE_HINT, "%s: '__metadata__' value of '%s' is not a string", st->path,
                               it->string);
        st->meta_keys[st->n_meta] = xstrdup(it->string);
        st->meta_values[st->n_meta] = xstrdup(it->valuestring);
        st->n_meta++;
    }
    return 0;
}

/* Parse the header JSON (text of len bytes) into st->tensors and the metadata. */
static int parse_header(st_file *st, const char *text, size_t len, bmc_err *err) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t pos = (at && at >= text && at <= text + len) ? (size_t)(at - text) : 0;
        return bmc_err_set(err, BAD_FILE_HINT, "%s: the header is not valid JSON (error near byte %zu of %zu)",
                           st->path, pos, len);
    }
    int rc = 0;
    for (const char *q = end; q && q < text + len && !rc; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
            rc = bmc_err_set(err, BAD_FILE_HINT, "%s: the header has bytes after its JSON object (at byte %zu of %zu)",
                             st->path, (size_t)(q - text), len);
    if (!rc && !cJSON_IsObject(root))
        rc = bmc_err_set(err, BAD_FILE_HINT, "%s: the header is JSON but not an object", st->path);
    if (rc) {
        cJSON_Delete(root);
        return rc;
    }
    size_t n = 0;
    for (const cJSON *it = root->child; it; it = it->next) n += strcmp(it->string, "__metadata__") != 0;
    st->tensors = xcalloc(n ? n : 1, sizeof *st->tensors);
    for (const cJSON *it = root->child; it && !rc; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) {
            if (st->meta_keys)
                rc = bmc_err_set(err, BAD_FILE_HINT, "%s: '__metadata__' appears twice", st->path);
            else
                rc = parse_metadata(st, it, err);
            continue;
        }
        st_tensor *t = &st->tensors[st->n_tensors++];
        t->name = xstrdup(it->string);
        rc = parse_entry(st, it, t, err);
    }
    cJSON_Delete(root);
    return rc;
}

/* Names unique; tensors tile [0, data_size) exactly. */
static int check_layout(st_file *st, bmc_err *err) {
    qsort(st->tensors, st->n_tensors, sizeof *st->tensors, cmp_tensor_name);
    for (size_t i = 1; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i - 1].name, st->tensors[i].name))
            return bmc_err_set(err, BAD_FILE_HINT, "%s: tensor '%s' appears twice in the header", st->path,
                               st->tensors[i].name);
    const st_tensor **byoff = XNEW(byoff, st->n_tensors ? st->n_tensors : 1);
    for (size_t i = 0; i < st->n_tensors; i++) byoff[i] = &st->tensors[i];
    qsort(byoff, st->n_tensors, sizeof *byoff, cmp_tensor_offset);
    size_t pos = 0;
    const st_tensor *prev = NULL;
    int rc = 0;
    for (size_t i = 0; i < st->n_tensors && !rc; i++) {
        const st_tensor *t = byoff[i];
        if (t->begin < pos)
            rc = bmc_err_set(err, BAD_FILE_HINT, "%s: tensors '%s' [%zu, %zu] and '%s' [%zu, %zu] overlap in the data area",
                             st->path, prev->name, prev->begin, prev->end, t->name, t->begin, t->end);
        else if (t->begin > pos)
            rc = bmc_err_set(err, BAD_FILE_HINT, "%s: the data area has a gap of %zu bytes before tensor '%s' (offset %zu)",
                             st->path, t->begin - pos, t->name, t->begin);
        pos = t->end;
        prev = t;
    }
    if (!rc && pos != st->data_size)
        rc = bmc_err_set(err, BAD_FILE_HINT, "%s: the data area holds %zu bytes after the last tensor (data size %zu)",
                         st->path, st->data_size - pos, st->data_size);
    free(byoff);
    return rc;
}

st_file *st_open(const char *path, bmc_err *err) {
    BMC_CHECK(host_is_little_endian());
    st_file *st = xcalloc(1, sizeof *st);
    st->path = xstrdup(path);
    int fd = open(path, O_RDONLY);
    struct stat sb;
    int rc = 0;
    if (fd < 0) {
        rc = bmc_err_set(err, "check the path of the weights file", "cannot open '%s': %s", path, strerror(errno));
    } else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = bmc_err_set(err, "give the path of a .safetensors file", "'%s' is not a regular file", path);
    } else if ((uint64_t)sb.st_size < 8) {
        rc = bmc_err_set(err, "the file is truncated or empty; fetch it again",
                         "%s: truncated: %lld bytes, fewer than the 8-byte header length of a safetensors file",
                         path, (long long)sb.st_size);
    } else {
        st->map_size = (size_t)sb.st_size;
        void *map = mmap(NULL, st->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
            rc = bmc_err_set(err, NULL, "%s: cannot map the file: %s", path, strerror(errno));
        else
            st->map = map;
    }
    if (fd >= 0) close(fd);
    if (!rc) {
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | st->map[i];
        if (hlen > st->map_size - 8)
            rc = bmc_err_set(err, "the file is truncated or not a safetensors file",
                             "%s: header length %llu exceeds the file size %zu (8 + header + data)", path,
                             (unsigned long long)hlen, st->map_size);
        else if (hlen > ST_MAX_HEADER)
            rc = bmc_err_set(err, "this is not a safetensors file",
                             "%s: header length %llu is beyond the format's limit of 100 MB", path,
                             (unsigned long long)hlen);
        else if (hlen < 2)
            rc = bmc_err_set(err, BAD_FILE_HINT, "%s: header length %llu is too short for a JSON object", path,
                             (unsigned long long)hlen);
        if (!rc) {
            st->data = st->map + 8 + hlen;
            st->data_size = st->map_size - 8 - (size_t)hlen;
            rc = parse_header(st, (const char *)st->map + 8, (size_t)hlen, err);
        }
    }
    if (!rc) rc = check_layout(st, err);
    if (rc) {
        st_close(st);
        return NULL;
    }
    return st;
}

void st_close(st_file *st) {
    if (!st) return;
    if (st->map) munmap(st->map, st->map_size);
    for (size_t i = 0; i < st->n_tensors; i++) free((char *)st->tensors[i].name);
    free(st->tensors);
    for (size_t i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->meta_keys);
    free(st->meta_values);
    free(st->path);
    free(st);
}

const st_tensor *st_find(const st_file *st, const char *name) {
    size_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->tensors[mid].name, name);
        if (c == 0) return &st->tensors[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

size_t st_count(const st_file *st) { return st->n_tensors; }

const st_tensor *st_tensor_at(const st_file *st, size_t i) {
    BMC_CHECK(i < st->n_tensors);
    return &st->tensors[i];
}

const char *st_metadata(const st_file *st, const char *key) {
    for (size_t i = 0; i < st->n_meta; i++)
        if (!strcmp(st->meta_keys[i], key)) return st->meta_values[i];
    return NULL;
}

const char *st_path(const st_file *st) { return st->path; }

const void *st_raw(const st_file *st, const st_tensor *t) {
    BMC_CHECK(t->end <= st->data_size && t->begin <= t->end);
    return st->data + t->begin;
}

int st_read_f32(const st_file *st, const st_tensor *t, float *dst, size_t n, bmc_err *err) {
    BMC_CHECK(t >= st->tensors && t < st->tensors + st->n_tensors);
    BMC_CHECK(n == t->numel);
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && t->dtype != ST_F64)
        return bmc_err_set(err, "weights must be stored as F32, F16, BF16 or F64; convert the checkpoint",
                           "%s: tensor '%s' has dtype %s, which cannot be read as floating point", st->path,
                           t->name, dtype_names[t->dtype]);
    if (n == 0) return 0;
    const unsigned char *src = st->data + t->begin;
    if (t->dtype == ST_F32) {
        memcpy(dst, src, n * sizeof(float));
    } else if (t->dtype == ST_F64) {
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, sizeof d);
            dst[i] = (float)d;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
            dst[i] = t->dtype == ST_F16 ? st_f16_to_f32(h) : st_bf16_to_f32(h);
        }
    }
    return 0;
}

/* ---- writer ---- */

/* Append s to buf as a JSON string literal. */
static void json_append_string(char **buf, size_t *len, size_t *cap, const char *s) {
    size_t need = *len + 6 * strlen(s) + 3;
    if (need > *cap) {
        *cap = 2 * need;
        *buf = xrealloc(*buf, *cap);
    }
    char *o = *buf + *len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            o += sprintf(o, "\\u%04x", *p);
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    *len = (size_t)(o - *buf);
}

static void append_text(char **buf, size_t *len, size_t *cap, const char *s) {
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = 2 * (*len + n + 1);
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static int cmp_write_name(const void *a, const void *b) {
    return strcmp((*(const st_write_tensor *const *)a)->name, (*(const st_write_tensor *const *)b)->name);
}

static size_t write_numel(const st_write_tensor *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n = bmc_mul_size(n, (size_t)t->shape[d]);
    return n;
}

/* Header JSON (space-padded so that 8 + length is a multiple of 8) for the sorted tensors. */
static char *build_header(const st_write_tensor *const *sorted, size_t n, st_dtype dtype,
                          const char *const (*meta)[2], size_t n_meta, size_t *out_len) {
    size_t len = 0, cap = 256, offset = 0;
    char *buf = xmalloc(cap), num[96];
    buf[0] = '\0';
    append_text(&buf, &len, &cap, "{");
    if (n_meta) {
        append_text(&buf, &len, &cap, "\"__metadata__\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i) append_text(&buf, &len, &cap, ",");
            json_append_string(&buf, &len, &cap, meta[i][0]);
            append_text(&buf, &len, &cap, ":");
            json_append_string(&buf, &len, &cap, meta[i][1]);
        }
        append_text(&buf, &len, &cap, "}");
    }
    for (size_t i = 0; i < n; i++) {
        const st_write_tensor *t = sorted[i];
        if (i || n_meta) append_text(&buf, &len, &cap, ",");
        json_append_string(&buf, &len, &cap, t->name);
        snprintf(num, sizeof num, ":{\"dtype\":\"%s\",\"shape\":[", dtype_names[dtype]);
        append_text(&buf, &len, &cap, num);
        for (int d = 0; d < t->ndim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            append_text(&buf, &len, &cap, num);
        }
        size_t bytes = bmc_mul_size(write_numel(t), dtype_sizes[dtype]);
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        append_text(&buf, &len, &cap, num);
        offset += bytes;
    }
    append_text(&buf, &len, &cap, "}");
    while ((8 + len) % 8) append_text(&buf, &len, &cap, " ");
    *out_len = len;
    return buf;
}

static int check_write_args(const char *path, const st_write_tensor *const *sorted, size_t n, st_dtype dtype,
                            bmc_err *err) {
    if (dtype != ST_F32 && dtype != ST_F16)
        return bmc_err_set(err, NULL, "%s: can only write F32 or F16, not %s", path, st_dtype_name(dtype));
    for (size_t i = 0; i < n; i++) {
        const st_write_tensor *t = sorted[i];
        if (!t->name || !t->name[0] || !strcmp(t->name, "__metadata__"))
            return bmc_err_set(err, NULL, "%s: tensor %zu has an empty or reserved name", path, i);
        if (i && !strcmp(sorted[i - 1]->name, t->name))
            return bmc_err_set(err, NULL, "%s: tensor '%s' is given twice", path, t->name);
        if (t->ndim < 0 || t->ndim > ST_MAX_DIMS)
            return bmc_err_set(err, NULL, "%s: tensor '%s' has %d dimensions", path, t->name, t->ndim);
        for (int d = 0; d < t->ndim; d++)
            if (t->shape[d] < 0)
                return bmc_err_set(err, NULL, "%s: tensor '%s' has a negative dimension", path, t->name);
        if (!t->data && write_numel(t) > 0)
            return bmc_err_set(err, NULL, "%s: tensor '%s' has no data", path, t->name);
    }
    return 0;
}

int st_write(const char *path, const st_write_tensor *tensors, size_t n, st_dtype dtype,
             const char *const (*meta)[2], size_t n_meta, bmc_err *err) {
    BMC_CHECK(host_is_little_endian());
    const st_write_tensor **sorted = XNEW(sorted, n ? n : 1);
    for (size_t i = 0; i < n; i++) sorted[i] = &tensors[i];
    qsort(sorted, n, sizeof *sorted, cmp_write_name);
    if (check_write_args(path, sorted, n, dtype, err)) {
        free(sorted);
        return -1;
    }
    size_t hlen;
    char *header = build_header(sorted, n, dtype, meta, n_meta, &hlen);
    char *tmp = bmc_xasprintf("%s.partial", path);
    FILE *f = fopen(tmp, "wb");
    int ok = f != NULL;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(((uint64_t)hlen >> (8 * i)) & 0xffu);
    if (ok) ok = fwrite(len8, 1, 8, f) == 8 && fwrite(header, 1, hlen, f) == hlen;
    uint16_t *half = NULL;
    for (size_t i = 0; i < n && ok; i++) {
        size_t numel = write_numel(sorted[i]);
        if (numel == 0) continue;
        if (dtype == ST_F32) {
            ok = fwrite(sorted[i]->data, sizeof(float), numel, f) == numel;
            continue;
        }
        half = xrealloc(half, bmc_mul_size(numel ? numel : 1, sizeof *half));
        for (size_t k = 0; k < numel; k++) half[k] = st_f32_to_f16(sorted[i]->data[k]);
        ok = fwrite(half, sizeof *half, numel, f) == numel;
    }
    if (ok) ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved_errno = errno;
    if (f && fclose(f) != 0) ok = 0;
    int rc = 0;
    if (!ok) {
        rc = bmc_err_set(err, "check free space and permissions of the output folder", "cannot write '%s': %s",
                         tmp, strerror(saved_errno));
        unlink(tmp);
    } else {
        rc = bmc_rename_durable(tmp, path, err);
    }
    free(half);
    free(tmp);
    free(header);
    free(sorted);
    return rc;
}
