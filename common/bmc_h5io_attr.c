/* bmc_h5io_attr.c — attributes, provenance and the serial peek helpers of bmc_h5io.h.
 *
 * Strings are stored as scalar variable-length UTF-8 strings (h5py reads them as `str`);
 * integers as int64 LE, reals as float64 LE. Attribute writes modify metadata, which parallel
 * HDF5 requires every rank to do with identical values: writers check that with a hash
 * allreduce and agree on every outcome. Readers accept fixed- or variable-length strings and
 * any integer/float width. The peek functions use the serial (sec2) driver and need no MPI.
 * Not here: files (bmc_h5io.c), datasets (bmc_h5io_data.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bmc_alloc.h"
#include "bmc_h5io.h"
#include "bmc_h5io_internal.h"
#include "bmc_version.h"

/* Program name in the default created_by (bmc_log's program name is not used, so this file
 * does not depend on logging being initialised). */
#define BMC_PROGRAM_NAME "brainmclip"

/* FNV-1a, to check that every rank writes the same attribute. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* ---- writers ------------------------------------------------------------------------- */

/* Create or replace attribute obj@name with the given file type, dataspace and data (in
 * memory type mtype). value_hash covers the value; every rank must pass the same. */
static int attr_write(bmc_h5 *f, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                      hid_t space, const void *data, uint64_t value_hash, bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->fid >= 0 && obj && name);
    bmc_err e = {0};
    char what[BMC_ERR_MSG_MAX / 2];
    bmc_h5i_label(what, sizeof what, f, obj);
    if (!f->writable)
        bmc_err_set(&e, "attributes are written to files made by bmc_h5_create",
                    "%s: cannot set attribute '%s': file is read-only", what, name);
    else if (!name[0])
        bmc_err_set(&e, NULL, "%s: empty attribute name", what);
    else if (!bmc_h5i_exists_local(f->fid, obj))
        bmc_err_set(&e, "create the dataset or group before setting its attributes",
                    "%s: cannot set attribute '%s': no such object", what, name);
    uint64_t h = fnv1a(fnv1a(fnv1a(14695981039346656037ULL, obj, strlen(obj) + 1), name,
                             strlen(name) + 1),
                       &value_hash, sizeof value_hash);
    uint64_t mine[2] = {h, ~h}, most[2];
    BMC_MPI(MPI_Allreduce(mine, most, 2, MPI_UINT64_T, MPI_MAX, f->comm));
    if (most[0] != h || most[1] != ~h)
        bmc_err_set(&e, "this is a bug in the calling stage: metadata must be identical on "
                        "all ranks",
                    "%s: ranks passed different values for attribute '%s'", what, name);
    if (bmc_h5i_agree(f->comm, &e, err)) return -1;

    hid_t oid = H5Oopen(f->fid, obj, H5P_DEFAULT);
    herr_t rc = -1;
    if (oid >= 0) {
        if (H5Aexists(oid, name) > 0) H5Adelete(oid, name);
        hid_t aid = H5Acreate2(oid, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
        if (aid >= 0) {
            rc = H5Awrite(aid, mtype, data);
            H5Aclose(aid);
        }
        H5Oclose(oid);
    }
    if (rc < 0)
        bmc_h5i_set_err(&e, "check free space on the output folder",
                        "%s: cannot write attribute '%s'", what, name);
    return bmc_h5i_agree(f->comm, &e, err);
}

int bmc_h5_attr_set_str(bmc_h5 *f, const char *obj, const char *name, const char *value,
                        bmc_err *err) {
    BMC_CHECK(value);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    H5Tset_strpad(st, H5T_STR_NULLTERM);
    hid_t space = H5Screate(H5S_SCALAR);
    uint64_t vh = fnv1a(14695981039346656037ULL, value, strlen(value) + 1);
    int rc = attr_write(f, obj, name, st, st, space, &value, vh, err);
    H5Sclose(space);
    H5Tclose(st);
    return rc;
}

int bmc_h5_attr_set_i64(bmc_h5 *f, const char *obj, const char *name, long long value,
                        bmc_err *err) {
    hid_t space = H5Screate(H5S_SCALAR);
    uint64_t vh = fnv1a(14695981039346656037ULL, &value, sizeof value);
    int rc = attr_write(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, space, &value, vh, err);
    H5Sclose(space);
    return rc;
}

int bmc_h5_attr_set_f64(bmc_h5 *f, const char *obj, const char *name, double value,
                        bmc_err *err) {
    hid_t space = H5Screate(H5S_SCALAR);
    uint64_t vh = fnv1a(14695981039346656037ULL, &value, sizeof value);
    int rc = attr_write(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space, &value, vh, err);
    H5Sclose(space);
    return rc;
}

int bmc_h5_attr_set_i64_array(bmc_h5 *f, const char *obj, const char *name,
                              const long long *values, size_t n, bmc_err *err) {
    BMC_CHECK(values || n == 0);
    hsize_t dim = n;
    hid_t space = H5Screate_simple(1, &dim, NULL);
    uint64_t vh = fnv1a(14695981039346656037ULL, &dim, sizeof dim);
    if (n) vh = fnv1a(vh, values, n * sizeof *values);
    long long dummy = 0;
    int rc = attr_write(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, space,
                        n ? (const void *)values : (const void *)&dummy, vh, err);
    H5Sclose(space);
    return rc;
}

/* ---- readers ------------------------------------------------------------------------- */

/* Open attribute obj@name holding exactly `want` values; -1 with a message in why
 * otherwise. */
static hid_t open_values(hid_t fid, const char *obj, const char *name, size_t want, char *why,
                         size_t n) {
    if (!bmc_h5i_exists_local(fid, obj)) {
        snprintf(why, n, "no such object");
        return H5I_INVALID_HID;
    }
    if (H5Aexists_by_name(fid, obj, name, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(why, n, "no attribute '%s'", name);
        return H5I_INVALID_HID;
    }
    hid_t aid = H5Aopen_by_name(fid, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (aid < 0) {
        H5Eclear2(H5E_DEFAULT);
        snprintf(why, n, "cannot open attribute '%s'", name);
        return H5I_INVALID_HID;
    }
    hid_t space = H5Aget_space(aid);
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    if (npoints < 0 || (size_t)npoints != want) {
        if (want == 1)
            snprintf(why, n, "attribute '%s' holds %lld values, expected one", name,
                     (long long)npoints);
        else
            snprintf(why, n, "attribute '%s' holds %lld values, expected %zu", name,
                     (long long)npoints, want);
        H5Aclose(aid);
        return H5I_INVALID_HID;
    }
    return aid;
}

/* Read a single string attribute (fixed or variable length). 0 and a heap string, or -1
 * with a message in why. Local; used by the collective getter and by peek. */
static int read_str(hid_t fid, const char *obj, const char *name, char **out, char *why,
                    size_t n) {
    *out = NULL;
    hid_t aid = open_values(fid, obj, name, 1, why, n);
    if (aid < 0) return -1;
    hid_t ftype = H5Aget_type(aid);
    int rc = -1;
    if (H5Tget_class(ftype) != H5T_STRING) {
        snprintf(why, n, "attribute '%s' is not a string", name);
    } else if (H5Tis_variable_str(ftype) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ftype));
        char *s = NULL;
        if (H5Aread(aid, mt, &s) >= 0) {
            *out = xstrdup(s ? s : "");
            H5free_memory(s);
            rc = 0;
        }
        H5Tclose(mt);
    } else {
        size_t size = H5Tget_size(ftype);
        char *s = xcalloc(size + 1, 1);
        hid_t mt = H5Tcopy(ftype);
        if (H5Aread(aid, mt, s) >= 0) {
            if (H5Tget_strpad(ftype) == H5T_STR_SPACEPAD)
                for (size_t len = strlen(s); len > 0 && s[len - 1] == ' '; len--) s[len - 1] = 0;
            *out = s;
            rc = 0;
        } else {
            free(s);
        }
        H5Tclose(mt);
    }
    if (rc < 0 && !why[0]) snprintf(why, n, "cannot read attribute '%s'", name);
    H5Eclear2(H5E_DEFAULT);
    H5Tclose(ftype);
    H5Aclose(aid);
    return rc;
}

static const char *attr_hint(const bmc_h5 *f, char *buf, size_t n) {
    snprintf(buf, n,
             "the file may come from another tool or an older brainmclip; list its "
             "attributes with `h5dump -A %s`",
             f->path);
    return buf;
}

int bmc_h5_attr_get_str(bmc_h5 *f, const char *obj, const char *name, char **out, bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->fid >= 0 && obj && name && out);
    bmc_err e = {0};
    char why[256] = "", what[BMC_ERR_MSG_MAX / 2], hint[BMC_ERR_HINT_MAX];
    bmc_h5i_label(what, sizeof what, f, obj);
    if (read_str(f->fid, obj, name, out, why, sizeof why) != 0)
        bmc_err_set(&e, attr_hint(f, hint, sizeof hint), "%s: %s", what, why);
    if (bmc_h5i_agree(f->comm, &e, err)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Collective reader of a numeric attribute of exactly `count` values into out (memory
 * type mt); integers only when want_int, integers or reals otherwise. */
static int get_numbers(bmc_h5 *f, const char *obj, const char *name, hid_t mt, int want_int,
                       size_t count, void *out, bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->fid >= 0 && obj && name && out);
    bmc_err e = {0};
    char why[256] = "", what[BMC_ERR_MSG_MAX / 2], hint[BMC_ERR_HINT_MAX];
    bmc_h5i_label(what, sizeof what, f, obj);
    hid_t aid = open_values(f->fid, obj, name, count, why, sizeof why);
    if (aid >= 0) {
        hid_t ftype = H5Aget_type(aid);
        H5T_class_t cls = H5Tget_class(ftype);
        if (cls != H5T_INTEGER && (want_int || cls != H5T_FLOAT))
            snprintf(why, sizeof why, "attribute '%s' is not %s", name,
                     want_int ? "an integer" : "a number");
        else if (H5Aread(aid, mt, out) < 0)
            snprintf(why, sizeof why, "cannot read attribute '%s'", name);
        H5Eclear2(H5E_DEFAULT);
        H5Tclose(ftype);
        H5Aclose(aid);
    }
    if (why[0]) bmc_err_set(&e, attr_hint(f, hint, sizeof hint), "%s: %s", what, why);
    return bmc_h5i_agree(f->comm, &e, err);
}

int bmc_h5_attr_get_i64(bmc_h5 *f, const char *obj, const char *name, long long *out,
                        bmc_err *err) {
    return get_numbers(f, obj, name, H5T_NATIVE_LLONG, 1, 1, out, err);
}

int bmc_h5_attr_get_i64_array(bmc_h5 *f, const char *obj, const char *name, long long *out,
                              size_t n, bmc_err *err) {
    BMC_CHECK(n > 0);
    return get_numbers(f, obj, name, H5T_NATIVE_LLONG, 1, n, out, err);
}

int bmc_h5_attr_get_f64(bmc_h5 *f, const char *obj, const char *name, double *out,
                        bmc_err *err) {
    return get_numbers(f, obj, name, H5T_NATIVE_DOUBLE, 0, 1, out, err);
}

/* ---- provenance ---------------------------------------------------------------------- */

int bmc_h5_write_provenance(bmc_h5 *f, const bmc_provenance *p, bmc_err *err) {
    BMC_CHECK(f && p);
    BMC_CHECK(p->n_inputs == 0 || (p->input_paths && p->input_sha256));
    char created_by[256];
    if (p->created_by) snprintf(created_by, sizeof created_by, "%s", p->created_by);
    else
        snprintf(created_by, sizeof created_by, "%s %s (%s)", BMC_PROGRAM_NAME, bmc_version(),
                 bmc_git_commit());
    /* Rank 0's clock decides, so every rank writes the same value. */
    char created_at[32] = "";
    if (f->rank == 0) {
        time_t now = time(NULL);
        struct tm utc;
        gmtime_r(&now, &utc);
        strftime(created_at, sizeof created_at, "%Y-%m-%dT%H:%M:%SZ", &utc);
    }
    BMC_MPI(MPI_Bcast(created_at, (int)sizeof created_at, MPI_CHAR, 0, f->comm));
    size_t len = 1;
    for (size_t i = 0; i < p->n_inputs; i++)
        len += strlen(p->input_paths[i]) + strlen(p->input_sha256[i]) + 2;
    char *inputs = xmalloc(len), *end = inputs;
    *end = '\0';
    for (size_t i = 0; i < p->n_inputs; i++)
        end += sprintf(end, "%s%s\t%s", i ? "\n" : "", p->input_paths[i], p->input_sha256[i]);
    int rc = bmc_h5_attr_set_str(f, "/", "created_by", created_by, err);
    if (rc == 0) rc = bmc_h5_attr_set_str(f, "/", "created_at", created_at, err);
    if (rc == 0)
        rc = bmc_h5_attr_set_str(f, "/", "config_sha256",
                                 p->config_sha256 ? p->config_sha256 : "", err);
    if (rc == 0 && p->stage_fingerprint)
        rc = bmc_h5_attr_set_str(f, "/", "stage_fingerprint", p->stage_fingerprint, err);
    if (rc == 0) rc = bmc_h5_attr_set_str(f, "/", "inputs", inputs, err);
    if (rc == 0) rc = bmc_h5_attr_set_i64(f, "/", "mpi_size", f->size, err);
    free(inputs);
    return rc;
}

/* ---- serial peek --------------------------------------------------------------------- */

int bmc_h5_is_hdf5(const char *path) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *fp = path ? fopen(path, "rb") : NULL;
    if (!fp) return 0;
    /* The superblock sits at 0 or, after a user block, at 512, 1024, 2048, ... */
    int found = 0;
    for (long off = 0; !found && off <= (1L << 30); off = off ? 2 * off : 512) {
        unsigned char buf[8];
        if (fseek(fp, off, SEEK_SET) != 0 || fread(buf, 1, 8, fp) != 8) break;
        found = memcmp(buf, sig, 8) == 0;
    }
    fclose(fp);
    return found;
}

int bmc_h5_peek_root_str(const char *path, const char *name, char **out) {
    BMC_CHECK(out && name);
    *out = NULL;
    if (!bmc_h5_is_hdf5(path)) return -1;
    bmc_h5i_silence();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2(fapl);
    H5Pset_file_locking(fapl, 0, 1); /* a reader never blocks on or fails for a writer */
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    int rc = -1;
    if (fid >= 0) {
        char why[256] = "";
        rc = read_str(fid, "/", name, out, why, sizeof why);
        H5Fclose(fid);
    }
    H5Eclear2(H5E_DEFAULT);
    return rc;
}
