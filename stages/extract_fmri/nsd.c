/* nsd.c — NSD paths, the experimental design (nsd_expdesign.mat via matio) and ROI label
 * tables (.mgz.ctab), as declared in nsd.h.
 *
 * The .mat reader accepts MATLAB v5/v7 files (and v7.3 where matio was built with HDF5);
 * MATLAB matrices are column-major and are converted to row-major here. matio's own log
 * lines are silenced: problems come back as bmc_err messages naming file and variable.
 * Not here: NIfTI volumes and HDF5 betas (nsd_volume.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <matio.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "nsd.h"

/* ---- paths ---------------------------------------------------------------------------- */

char *nsd_design_path(const char *root) {
    return bmc_xasprintf("%s/nsddata/experiments/nsd/nsd_expdesign.mat", root);
}

char *nsd_stimuli_path(const char *root) {
    return bmc_xasprintf("%s/nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5", root);
}

char *nsd_betas_path(const char *root, int subject, int session) {
    return bmc_xasprintf("%s/nsddata_betas/ppdata/subj%02d/func1pt8mm/"
                         "betas_fithrf_GLMdenoise_RR/betas_session%02d.hdf5",
                         root, subject, session);
}

char *nsd_roi_path(const char *root, int subject, const char *name) {
    char *gz = bmc_xasprintf("%s/nsddata/ppdata/subj%02d/func1pt8mm/roi/%s.nii.gz", root,
                             subject, name);
    if (bmc_path_exists(gz)) return gz;
    char *plain = bmc_xasprintf("%s/nsddata/ppdata/subj%02d/func1pt8mm/roi/%s.nii", root,
                                subject, name);
    if (bmc_path_exists(plain)) {
        free(gz);
        return plain;
    }
    free(plain);
    return gz;
}

char *nsd_ctab_path(const char *root, int subject, const char *name) {
    return bmc_xasprintf("%s/nsddata/freesurfer/subj%02d/label/%s.mgz.ctab", root, subject, name);
}

/* ---- nsd_expdesign.mat ---------------------------------------------------------------- */

static void matio_quiet(int level, char *message) {
    (void)level;
    (void)message;
}

/* Element i of a real numeric matio array as double. */
static double mat_elem(const matvar_t *v, size_t i) {
    switch (v->class_type) {
    case MAT_C_DOUBLE: return ((const double *)v->data)[i];
    case MAT_C_SINGLE: return ((const float *)v->data)[i];
    case MAT_C_INT8: return ((const int8_t *)v->data)[i];
    case MAT_C_UINT8: return ((const uint8_t *)v->data)[i];
    case MAT_C_INT16: return ((const int16_t *)v->data)[i];
    case MAT_C_UINT16: return ((const uint16_t *)v->data)[i];
    case MAT_C_INT32: return ((const int32_t *)v->data)[i];
    case MAT_C_UINT32: return ((const uint32_t *)v->data)[i];
    case MAT_C_INT64: return (double)((const int64_t *)v->data)[i];
    case MAT_C_UINT64: return (double)((const uint64_t *)v->data)[i];
    default: return NAN;
    }
}

/* Read variable `name` as a 2-D real numeric matrix of integers into a row-major int64 array.
 * The MATLAB shape goes to rows and cols. */
static int mat_read_ints(mat_t *mat, const char *path, const char *name, long *rows, long *cols,
                         int64_t **out, bmc_err *err) {
    matvar_t *v = Mat_VarRead(mat, name);
    if (!v)
        return bmc_err_set(err, "NSD's nsd_expdesign.mat holds masterordering, subjectim and "
                                "sharedix",
                           "%s: no variable '%s'", path, name);
    int rc = 0;
    int numeric = v->class_type >= MAT_C_DOUBLE && v->class_type <= MAT_C_UINT64;
    size_t count = v->rank == 2 ? v->dims[0] * v->dims[1] : 0;
    if (!numeric || v->isComplex || v->rank != 2 || (count && !v->data)) {
        rc = bmc_err_set(err, "it must be a real numeric 2-D matrix (double in NSD)",
                         "%s: variable '%s' is not a real numeric matrix (rank %d, class %d)",
                         path, name, v->rank, (int)v->class_type);
    } else {
        size_t r = v->dims[0], c = v->dims[1];
        *rows = (long)r;
        *cols = (long)c;
        int64_t *a = XNEW(a, r * c > 0 ? r * c : 1);
        for (size_t i = 0; i < r && !rc; i++) {
            for (size_t j = 0; j < c; j++) {
                double x = mat_elem(v, i + r * j); /* MATLAB is column-major */
                if (!(fabs(x) < 9.0e15) || x != floor(x)) {
                    rc = bmc_err_set(err, "design entries are 1-based integer indices",
                                     "%s: %s(%zu,%zu) = %g is not an integer", path, name, i + 1,
                                     j + 1, x);
                    break;
                }
                a[i * c + j] = (int64_t)x;
            }
        }
        if (rc) free(a);
        else *out = a;
    }
    Mat_VarFree(v);
    return rc ? -1 : 0;
}

/* A vector variable (1×n or n×1) → int64 array of length *n. */
static int mat_read_vector(mat_t *mat, const char *path, const char *name, long *n,
                           int64_t **out, bmc_err *err) {
    long r = 0, c = 0;
    if (mat_read_ints(mat, path, name, &r, &c, out, err)) return -1;
    if (r != 1 && c != 1) {
        free(*out);
        *out = NULL;
        return bmc_err_set(err, "it must be a vector (1 x n)", "%s: variable '%s' is %ld x %ld",
                           path, name, r, c);
    }
    *n = r * c;
    return 0;
}

int nsd_design_read(const char *path, nsd_design *d, bmc_err *err) {
    memset(d, 0, sizeof *d);
    if (!bmc_path_exists(path))
        return bmc_err_set(err, "nsd_root must be NSD's root folder (it holds nsddata/)",
                           "missing design file %s", path);
    Mat_LogInitFunc("bmc-extract-fmri", matio_quiet);
    if (nsd_mat_scan(path, err)) return -1;
    mat_t *mat = Mat_Open(path, MAT_ACC_RDONLY);
    if (!mat)
        return bmc_err_set(err, "it must be a MATLAB .mat file (v5, v7 or v7.3)",
                           "%s: not a readable MATLAB file", path);
    int64_t *shared = NULL;
    int rc = mat_read_vector(mat, path, "masterordering", &d->n_order, &d->order, err);
    if (!rc)
        rc = mat_read_ints(mat, path, "subjectim", &d->n_subjects, &d->n_images, &d->subjectim,
                           err);
    if (!rc) rc = mat_read_vector(mat, path, "sharedix", &d->n_shared, &shared, err);
    Mat_Close(mat);
    free(shared);
    if (!rc && (d->n_order < 1 || d->n_subjects < 1 || d->n_images < 1))
        rc = bmc_err_set(err, NULL, "%s: empty masterordering or subjectim", path);
    if (!rc && d->n_shared > d->n_images)
        rc = bmc_err_set(err, "sharedix lists the shared images, a subset of each subject's",
                         "%s: sharedix has %ld entries but subjectim only %ld columns", path,
                         d->n_shared, d->n_images);
    for (long t = 0; t < d->n_order && !rc; t++)
        if (d->order[t] < 1 || d->order[t] > d->n_images)
            rc = bmc_err_set(err, "masterordering holds 1-based columns of subjectim",
                             "%s: masterordering(%ld) = %lld is outside 1..%ld", path, t + 1,
                             (long long)d->order[t], d->n_images);
    if (rc) nsd_design_free(d);
    return rc ? -1 : 0;
}

void nsd_design_free(nsd_design *d) {
    free(d->order);
    free(d->subjectim);
    memset(d, 0, sizeof *d);
}

/* ---- ctab ----------------------------------------------------------------------------- */

int nsd_ctab_read(const char *path, nsd_ctab *c, bmc_err *err) {
    memset(c, 0, sizeof *c);
    bmc_err local = {0};
    char *text = bmc_read_file(path, NULL, &local);
    if (!text)
        return bmc_err_set(err, "NSD keeps label tables in nsddata/freesurfer/subjXX/label/",
                           "missing or unreadable label table %s", path);
    size_t cap = 16;
    c->value = XNEW(c->value, cap);
    c->name = XNEW(c->name, cap);
    int rc = 0, line_no = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !rc;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        char *end = NULL;
        errno = 0;
        long v = strtol(p, &end, 10);
        char *q = end;
        while (*q == ' ' || *q == '\t') q++;
        size_t len = 0;
        while (q[len] && !isspace((unsigned char)q[len])) len++;
        if (end == p || errno || v < -2147483647L || v > 2147483647L || len == 0) {
            rc = bmc_err_set(err, "each line must read `value name`, e.g. `1 V1v`",
                             "%s:%d: malformed label line '%.60s'", path, line_no, line);
            break;
        }
        for (size_t k = 0; k < c->n; k++)
            if (c->value[k] == (int)v)
                rc = bmc_err_set(err, "each label value may appear once",
                                 "%s:%d: label value %ld is listed twice", path, line_no, v);
        if (rc) break;
        if (c->n == cap) {
            cap *= 2;
            c->value = xrealloc(c->value, cap * sizeof *c->value);
            c->name = xrealloc(c->name, cap * sizeof *c->name);
        }
        c->value[c->n] = (int)v;
        c->name[c->n] = xmalloc(len + 1);
        memcpy(c->name[c->n], q, len);
        c->name[c->n][len] = '\0';
        c->n++;
    }
    free(text);
    if (rc) nsd_ctab_free(c);
    return rc;
}

void nsd_ctab_free(nsd_ctab *c) {
    for (size_t k = 0; k < c->n; k++) free(c->name[k]);
    free(c->name);
    free(c->value);
    memset(c, 0, sizeof *c);
}

long nsd_ctab_find(const nsd_ctab *c, const char *name) {
    for (size_t k = 0; k < c->n; k++)
        if (!strcmp(c->name[k], name)) return (long)k;
    return -1;
}

long nsd_ctab_find_value(const nsd_ctab *c, int value) {
    for (size_t k = 0; k < c->n; k++)
        if (c->value[k] == value) return (long)k;
    return -1;
}

char *nsd_ctab_names(const nsd_ctab *c) {
    size_t len = 1;
    for (size_t k = 0; k < c->n; k++) len += strlen(c->name[k]) + 2;
    char *s = xmalloc(len), *end = s;
    *end = '\0';
    for (size_t k = 0; k < c->n; k++)
        if (c->value[k] > 0) end += sprintf(end, "%s%s", end == s ? "" : ", ", c->name[k]);
    return s;
}
