/* bmc_h5io.c — parallel HDF5 files (see bmc_h5io.h): atomic outputs (create, resume, commit,
 * discard), opening for reading with the format/version check, and the helpers the three
 * files of this layer share (bmc_h5io_internal.h).
 *
 * Every collective function validates its arguments *before* any collective HDF5 call and
 * agrees on the outcome (bmc_err_agree), so a problem seen by one rank makes every rank return
 * -1 with the same message instead of hanging the others. A final path only ever appears by
 * rank 0's rename of a closed, fsynced NAME.partial.
 * Not here: datasets (bmc_h5io_data.c), attributes, provenance and peek (bmc_h5io_attr.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fault.h"
#include "bmc_h5io.h"
#include "bmc_fs.h"
#include "bmc_h5io_internal.h"
#include "bmc_version.h"

/* ---- element types ------------------------------------------------------------------- */

size_t bmc_dtype_size(bmc_dtype t) {
    static const size_t sizes[] = {1, 2, 4, 8, 4, 8, 2};
    BMC_CHECK(bmc_h5i_dtype_valid(t));
    return sizes[t];
}

const char *bmc_dtype_name(bmc_dtype t) {
    static const char *const names[] = {"uint8",   "int16",   "int32",  "int64",
                                         "float32", "float64", "float16"};
    BMC_CHECK(bmc_h5i_dtype_valid(t));
    return names[t];
}

/* ---- helpers shared by bmc_h5io*.c (declared in bmc_h5io_internal.h) ---------------- */

void bmc_h5i_silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data) {
    (void)n;
    char *out = data;
    if (!out[0] && e->desc && e->desc[0]) snprintf(out, 256, "%s", e->desc);
    return 0;
}

void bmc_h5i_set_err(bmc_err *e, const char *hint, const char *fmt, ...) {
    char detail[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, detail);
    H5Eclear2(H5E_DEFAULT);
    char msg[BMC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (detail[0]) bmc_err_set(e, hint, "%s (HDF5: %s)", msg, detail);
    else bmc_err_set(e, hint, "%s", msg);
}

int bmc_h5i_agree(MPI_Comm comm, bmc_err *local, bmc_err *out) {
    if (!bmc_err_agree(comm, local)) return 0;
    if (out && !out->failed) *out = *local;
    return -1;
}

void bmc_h5i_label(char *buf, size_t n, const bmc_h5 *f, const char *name) {
    snprintf(buf, n, "%s:%s%s", f->path ? f->path : "?", name[0] == '/' ? "" : "/", name);
}

int bmc_h5i_exists_local(hid_t fid, const char *name) {
    if (!name[0] || strcmp(name, "/") == 0 || strcmp(name, ".") == 0) return 1;
    size_t len = strlen(name);
    char *prefix = xstrdup(name);
    int ok = 1;
    for (size_t i = 1; i <= len && ok; i++) {
        if (i < len && name[i] != '/') continue;
        if (name[i - 1] == '/') continue; /* "//" or trailing "/" */
        prefix[i] = '\0';
        if (H5Lexists(fid, prefix, H5P_DEFAULT) <= 0) ok = 0;
        prefix[i] = name[i];
    }
    if (ok && H5Oexists_by_name(fid, name, H5P_DEFAULT) <= 0) ok = 0;
    H5Eclear2(H5E_DEFAULT);
    free(prefix);
    return ok;
}

static hid_t mpio_fapl(MPI_Comm comm) {
    int mpi_init = 0;
    MPI_Initialized(&mpi_init);
    BMC_CHECK(mpi_init);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    BMC_CHECK(fapl >= 0);
    BMC_CHECK(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) >= 0);
    return fapl;
}

static void init_handle(bmc_h5 *f, MPI_Comm comm, const char *path, int writable) {
    BMC_CHECK(f && path);
    f->fid = H5I_INVALID_HID;
    f->comm = comm;
    BMC_MPI(MPI_Comm_rank(comm, &f->rank));
    BMC_MPI(MPI_Comm_size(comm, &f->size));
    f->writable = writable;
    f->path = xstrdup(path);
    f->partial_path = writable ? bmc_xasprintf("%s.partial", path) : NULL;
}

static void release_handle(bmc_h5 *f) {
    free(f->path);
    free(f->partial_path);
    f->path = NULL;
    f->partial_path = NULL;
    f->fid = H5I_INVALID_HID;
    f->writable = 0;
}

/* ---- files --------------------------------------------------------------------------- */

/* 1 when path is an HDF5 file written by brainmclip (root attribute format "bmc.*"). */
static int is_bmc_file(const char *path) {
    char *format = NULL;
    int ours = bmc_h5_is_hdf5(path) && bmc_h5_peek_root_str(path, "format", &format) == 0 &&
               !strncmp(format, "bmc.", 4);
    free(format);
    return ours;
}

/* Rank 0 checks that the output's folder exists, that path is not a folder, and that
 * neither path nor path.partial is a file brainmclip did not write (never overwritten). */
static void check_output_path(const bmc_h5 *f, bmc_err *e) {
    if (f->rank != 0) return;
    char *dir = bmc_dirname(f->path);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        bmc_err_set(e, "create the folder first, or choose another output path",
                    "%s: cannot create output: folder '%s' does not exist", f->path, dir);
    else if (stat(f->path, &st) == 0 && S_ISDIR(st.st_mode))
        bmc_err_set(e, "choose a file name, not a folder, for the output",
                    "%s: cannot create output: it is a folder", f->path);
    else if (stat(f->path, &st) == 0 && !is_bmc_file(f->path))
        bmc_err_set(e, "brainmclip replaces only files it wrote: move it away, or choose "
                       "another output path",
                    "%s: cannot create output: the file exists and is not a brainmclip "
                    "HDF5 file (no 'format: bmc.*' attribute)", f->path);
    else if (lstat(f->partial_path, &st) == 0 && !is_bmc_file(f->partial_path))
        bmc_err_set(e, "if it is left over from an interrupted run, remove it",
                    "%s: cannot create output: '%s' exists and is not a brainmclip HDF5 file",
                    f->path, f->partial_path);
    free(dir);
}

/* Collective H5Fcreate of f->partial_path (truncating a stale one) plus the format attributes. */
static int create_partial(bmc_h5 *f, const char *format, int format_version, bmc_err *e) {
    hid_t fapl = mpio_fapl(f->comm);
    f->fid = H5Fcreate(f->partial_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f->fid < 0) /* before any other HDF5 call, which would clear the error stack */
        bmc_h5i_set_err(e, "check that the output folder is writable and not full",
                        "%s: cannot create '%s'", f->path, f->partial_path);
    H5Pclose(fapl);
    if (bmc_err_agree(f->comm, e)) {
        if (f->fid >= 0) H5Fclose(f->fid);
        f->fid = H5I_INVALID_HID;
        return -1;
    }
    if (bmc_h5_attr_set_str(f, "/", "format", format, e) != 0 ||
        bmc_h5_attr_set_i64(f, "/", "format_version", format_version, e) != 0)
        return -1;
    /* The superblock and the root attributes reach the disk now, not at the close: a run
     * killed later leaves a .partial that a rerun recognises as brainmclip's and replaces
     * (without this flush it holds zeros where the signature goes, and is refused). */
    if (H5Fflush(f->fid, H5F_SCOPE_GLOBAL) < 0)
        bmc_h5i_set_err(e, "check free space and quota on the output folder",
                        "%s: flushing '%s' failed", f->path, f->partial_path);
    if (bmc_err_agree(f->comm, e)) return -1;
    bmc_fault_point("create");
    return 0;
}

int bmc_h5_create(bmc_h5 *f, MPI_Comm comm, const char *path, const char *format,
                  int format_version, bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(format && format[0]);
    init_handle(f, comm, path, 1);
    bmc_err e = {0};
    if (!path[0]) bmc_err_set(&e, "pass a file name", "empty output path");
    else check_output_path(f, &e);
    if (bmc_h5i_agree(comm, &e, err)) {
        release_handle(f);
        return -1;
    }
    if (create_partial(f, format, format_version, &e) != 0) {
        bmc_h5_discard(f);
        return bmc_h5i_agree(comm, &e, err);
    }
    return 0;
}

/* Collective: 1 when the open file f (a partial) has this format, version and fingerprint. */
static int partial_matches(bmc_h5 *f, const char *format, int format_version,
                           const char *fingerprint) {
    bmc_err quiet = {0};
    char *found_format = NULL, *found_fp = NULL;
    long long found_version = -1;
    int match = bmc_h5_attr_get_str(f, "/", "format", &found_format, &quiet) == 0 &&
                bmc_h5_attr_get_i64(f, "/", "format_version", &found_version, &quiet) == 0 &&
                bmc_h5_attr_get_str(f, "/", "stage_fingerprint", &found_fp, &quiet) == 0 &&
                strcmp(found_format, format) == 0 && found_version == format_version &&
                strcmp(found_fp, fingerprint) == 0;
    free(found_format);
    free(found_fp);
    int all = 0;
    BMC_MPI(MPI_Allreduce(&match, &all, 1, MPI_INT, MPI_LAND, f->comm));
    return all;
}

int bmc_h5_create_or_resume(bmc_h5 *f, MPI_Comm comm, const char *path, const char *format,
                            int format_version, const char *fingerprint, bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(format && format[0]);
    if (fingerprint && fingerprint[0]) {
        init_handle(f, comm, path, 1);
        int candidate = f->rank == 0 ? bmc_h5_is_hdf5(f->partial_path) : 0;
        BMC_MPI(MPI_Bcast(&candidate, 1, MPI_INT, 0, comm));
        if (candidate) {
            hid_t fapl = mpio_fapl(comm);
            f->fid = H5Fopen(f->partial_path, H5F_ACC_RDWR, fapl);
            H5Pclose(fapl);
            H5Eclear2(H5E_DEFAULT);
            int opened = f->fid >= 0, all_opened = 0;
            BMC_MPI(MPI_Allreduce(&opened, &all_opened, 1, MPI_INT, MPI_LAND, comm));
            if (all_opened && partial_matches(f, format, format_version, fingerprint))
                return 1;
            if (f->fid >= 0) H5Fclose(f->fid);
            H5Eclear2(H5E_DEFAULT);
        }
        release_handle(f);
    }
    if (bmc_h5_create(f, comm, path, format, format_version, err) != 0) return -1;
    if (fingerprint && fingerprint[0] &&
        bmc_h5_attr_set_str(f, "/", "stage_fingerprint", fingerprint, err) != 0) {
        bmc_h5_discard(f);
        return -1;
    }
    return 0;
}

int bmc_h5_commit(bmc_h5 *f, bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->writable && f->partial_path && f->fid >= 0);
    bmc_err e = {0};
    bmc_fault_point("close");
    if (H5Fclose(f->fid) < 0)
        bmc_h5i_set_err(&e, "check free space and quota on the output folder",
                        "%s: closing '%s' failed; the output is incomplete", f->path,
                        f->partial_path);
    f->fid = H5I_INVALID_HID;
    if (!bmc_err_agree(f->comm, &e) && f->rank == 0) {
        if (bmc_fsync_path(f->partial_path) != 0)
            bmc_err_set(&e, "check free space and the health of the file system",
                        "%s: fsync of '%s' failed: %s", f->path, f->partial_path,
                        strerror(errno));
        else {
            bmc_fault_point("rename");
            if (bmc_rename_durable(f->partial_path, f->path, &e) == 0) bmc_fault_point("renamed");
        }
    }
    if (e.failed && f->rank == 0) unlink(f->partial_path); /* never a half-made output */
    /* The agreement below is also the barrier: rank 0 has renamed before entering it. */
    int rc = bmc_h5i_agree(f->comm, &e, err);
    release_handle(f);
    return rc;
}

void bmc_h5_discard(bmc_h5 *f) {
    if (!f || !f->path) return;
    bmc_h5i_silence();
    if (f->fid >= 0) H5Fclose(f->fid);
    H5Eclear2(H5E_DEFAULT);
    f->fid = H5I_INVALID_HID;
    if (f->partial_path && f->rank == 0) unlink(f->partial_path);
    if (f->partial_path) MPI_Barrier(f->comm);
    release_handle(f);
}

/* Collective: root attributes `format` == format and `format_version` ≤ max_version. `what`
 * (the format's line in bmc_formats.h, or NULL) goes into the hints. */
static int check_format(bmc_h5 *f, const char *format, int max_version, const char *what,
                        bmc_err *e) {
    char expected[BMC_ERR_HINT_MAX / 2];
    if (what) snprintf(expected, sizeof expected, "%s file (%s)", format, what);
    else snprintf(expected, sizeof expected, "%s file", format);
    htri_t has = H5Aexists_by_name(f->fid, "/", "format", H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    if (has <= 0) {
        char hint[BMC_ERR_HINT_MAX];
        snprintf(hint, sizeof hint,
                 "expected a %s written by brainmclip; check that the path points to the "
                 "output of the right stage",
                 expected);
        return bmc_err_set(e, hint, "%s: not a brainmclip file (no 'format' attribute)",
                           f->path);
    }
    char *found = NULL;
    long long version = 0;
    if (bmc_h5_attr_get_str(f, "/", "format", &found, e) != 0) return -1;
    if (strcmp(found, format) != 0) {
        char hint[BMC_ERR_HINT_MAX];
        snprintf(hint, sizeof hint, "pass a %s here, not a %s file (check the paths)",
                 expected, found);
        bmc_err_set(e, hint, "%s: file format is '%s', expected '%s'", f->path, found, format);
        free(found);
        return -1;
    }
    free(found);
    if (bmc_h5_attr_get_i64(f, "/", "format_version", &version, e) != 0) return -1;
    if (version > max_version) {
        char hint[BMC_ERR_HINT_MAX];
        snprintf(hint, sizeof hint,
                 "upgrade brainmclip (this is %s), or regenerate the file with this version",
                 bmc_version());
        return bmc_err_set(e, hint,
                           "%s: %s format_version %lld is newer than this brainmclip reads "
                           "(up to %d)",
                           f->path, format, version, max_version);
    }
    return 0;
}

/* bmc_h5_open, with the format's description (or NULL) for the hints. */
static int open_checked(bmc_h5 *f, MPI_Comm comm, const char *path, const char *format,
                        int max_version, const char *what, bmc_err *err) {
    bmc_h5i_silence();
    init_handle(f, comm, path, 0);
    bmc_err e = {0};
    if (f->rank == 0) {
        struct stat st;
        char *partial = bmc_xasprintf("%s.partial", path);
        if (stat(path, &st) != 0)
            bmc_err_set(&e,
                        stat(partial, &st) == 0
                            ? "an interrupted run left a .partial file; rerun the stage that "
                              "writes it"
                            : "check the path, or run the stage that writes it first",
                        "%s: no such file", path);
        else if (!bmc_h5_is_hdf5(path))
            bmc_err_set(&e, "check the path; it should be an HDF5 (.h5) file",
                        "%s: not an HDF5 file", path);
        free(partial);
    }
    if (!bmc_err_agree(comm, &e)) {
        hid_t fapl = mpio_fapl(comm);
        f->fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        if (f->fid < 0)
            bmc_h5i_set_err(&e, "check that the file is readable and complete",
                            "%s: cannot open as HDF5", path);
        H5Pclose(fapl);
        if (!bmc_err_agree(comm, &e) && format) check_format(f, format, max_version, what, &e);
    }
    if (bmc_h5i_agree(comm, &e, err)) {
        bmc_h5_close(f);
        return -1;
    }
    return 0;
}

int bmc_h5_open(bmc_h5 *f, MPI_Comm comm, const char *path, const char *format,
                int max_version, bmc_err *err) {
    return open_checked(f, comm, path, format, max_version, NULL, err);
}

int bmc_h5_open_as(bmc_h5 *f, MPI_Comm comm, const char *path, bmc_format_id fmt,
                   bmc_err *err) {
    BMC_CHECK(fmt >= 0 && fmt < BMC_FMT_COUNT);
    const bmc_format *F = &bmc_formats[fmt];
    return open_checked(f, comm, path, F->name, F->version, F->what, err);
}

int bmc_h5_create_as(bmc_h5 *f, MPI_Comm comm, const char *path, bmc_format_id fmt,
                     bmc_err *err) {
    BMC_CHECK(fmt >= 0 && fmt < BMC_FMT_COUNT);
    return bmc_h5_create(f, comm, path, bmc_formats[fmt].name, bmc_formats[fmt].version, err);
}

int bmc_h5_create_or_resume_as(bmc_h5 *f, MPI_Comm comm, const char *path, bmc_format_id fmt,
                               const char *fingerprint, bmc_err *err) {
    BMC_CHECK(fmt >= 0 && fmt < BMC_FMT_COUNT);
    return bmc_h5_create_or_resume(f, comm, path, bmc_formats[fmt].name,
                                   bmc_formats[fmt].version, fingerprint, err);
}

int bmc_h5_flush(bmc_h5 *f, bmc_err *err) {
    bmc_h5i_silence();
    BMC_CHECK(f && f->fid >= 0);
    bmc_err e = {0};
    if (H5Fflush(f->fid, H5F_SCOPE_GLOBAL) < 0)
        bmc_h5i_set_err(&e, "check free space and quota on the output folder",
                        "%s: flushing '%s' failed", f->path,
                        f->partial_path ? f->partial_path : f->path);
    return bmc_h5i_agree(f->comm, &e, err);
}

void bmc_h5_close(bmc_h5 *f) {
    if (!f) return;
    bmc_h5i_silence();
    if (f->fid >= 0) H5Fclose(f->fid);
    H5Eclear2(H5E_DEFAULT);
    release_handle(f);
}
