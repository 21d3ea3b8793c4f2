/* maps.c — the encoding R² maps bmc-train wrote (NIfTI, one folder per model file) and the
 * ROI outlines drawn on them. Each folder must carry its model instance's fingerprint (the
 * engine's sidecar). A map <dataset>_to_<group> gets the ROI list of /voxels/<group> of the
 * model's bmc.fmri file; the ROI volumes and colour tables are the files bmc-extract-fmri read
 * (paths and SHA-256 from that file's `inputs` attribute, hashes checked). Rank 0 reads.
 * Not here: drawing (figures_maps.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fingerprint.h"
#include "bmc_fs.h"
#include "bmc_nifti.h"

/* A NIfTI volume as doubles (scaled), dims out; NULL with err. */
static double *read_volume(const char *path, int dims[3], bmc_err *err) {
    nifti_set_debug_level(0);
    nifti_image *nim = nifti_image_read(path, 1);
    if (!nim || !nim->data || nim->nx < 1 || nim->ny < 1 || nim->nz < 1 ||
        nim->nvox != (int64_t)nim->nx * nim->ny * nim->nz || isnan(bmc_nifti_elem(nim, 0))) {
        if (nim) nifti_image_free(nim);
        bmc_err_set(err, "rerun the stage that wrote it", "%s: not a readable 3-D NIfTI volume",
                    path);
        return NULL;
    }
    dims[0] = (int)nim->nx, dims[1] = (int)nim->ny, dims[2] = (int)nim->nz;
    double slope = nim->scl_slope, inter = nim->scl_inter;
    int scaled = isfinite(slope) && slope != 0.0 && (slope != 1.0 || inter != 0.0);
    double *v = XNEW(v, nim->nvox);
    for (size_t i = 0; i < (size_t)nim->nvox; i++) {
        double x = bmc_nifti_elem(nim, i);
        v[i] = scaled ? x * slope + inter : x;
    }
    nifti_image_free(nim);
    return v;
}

/* The path in a bmc.fmri `inputs` attribute ("path<TAB>sha" lines) whose file name is `base`,
 * with its SHA-256; NULL when absent. */
static char *input_path(const char *inputs, const char *base, char sha[BMC_SHA256_HEX]) {
    size_t bl = strlen(base);
    for (const char *line = inputs; line && *line;) {
        const char *end = strchr(line, '\n'), *tab = strchr(line, '\t');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (tab && tab < line + len) {
            size_t pl = (size_t)(tab - line);
            if (pl >= bl && !strncmp(tab - bl, base, bl) && (pl == bl || tab[-(long)bl - 1] == '/')) {
                snprintf(sha, BMC_SHA256_HEX, "%.*s", (int)(len - pl - 1), tab + 1);
                return bmc_xasprintf("%.*s", (int)pl, line);
            }
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

/* The value of label `name` in a .ctab file ("value name" lines); a name that is a number and
 * absent from the table is its own value (bmc-extract-fmri names unnamed labels by number). */
static int ctab_value(const char *ctab_text, const char *name, long *value) {
    for (const char *line = ctab_text; line && *line;) {
        long v;
        char nm[256];
        if (sscanf(line, "%ld %255s", &v, nm) == 2 && !strcmp(nm, name)) {
            *value = v;
            return 0;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    char *end;
    long v = strtol(name, &end, 10);
    if (*name && !*end) {
        *value = v;
        return 0;
    }
    return -1;
}

/* Local (rank 0): voxels outside the group's /voxels/<group>/ijk become NaN (libnifti2 reads
 * the NaN that bmc-train writes there as 0). */
static int group_mask(ag_map *m, bmc_h5 *f, const char *obj, size_t nvox, bmc_err *err) {
    char ds[240];
    snprintf(ds, sizeof ds, "%s/ijk", obj);
    bmc_dtype t;
    int nd;
    hsize_t d[BMC_H5_MAXDIMS];
    if (bmc_h5_dataset_info(f, ds, &t, &nd, d, err)) return -1;
    if (nd != 2 || d[1] != 3)
        return bmc_err_set(err, "rerun bmc-extract-fmri", "%s:%s is not a (voxels, 3) array",
                           f->path, ds);
    int32_t *ijk = XNEW(ijk, 3 * (size_t)(d[0] ? d[0] : 1));
    if (bmc_h5_read_rows(f, ds, BMC_I32, 0, d[0], ijk, err)) {
        free(ijk);
        return -1;
    }
    unsigned char *in = xcalloc(nvox, 1);
    int rc = 0;
    for (hsize_t v = 0; v < d[0] && !rc; v++) {
        int x = ijk[3 * v], y = ijk[3 * v + 1], z = ijk[3 * v + 2];
        if (x < 0 || y < 0 || z < 0 || x >= m->dims[0] || y >= m->dims[1] || z >= m->dims[2])
            rc = bmc_err_set(err, "the map and the bmc.fmri file must share the subject's grid",
                             "%s: voxel (%d, %d, %d) of %s lies outside the map's %d×%d×%d grid",
                             f->path, x, y, z, ds, m->dims[0], m->dims[1], m->dims[2]);
        else
            in[(size_t)x + (size_t)m->dims[0] * ((size_t)y + (size_t)m->dims[1] * (size_t)z)] = 1;
    }
    for (size_t i = 0; i < nvox && !rc; i++)
        if (!in[i]) m->r2[i] = NAN;
    free(in);
    free(ijk);
    return rc;
}

/* Local (rank 0): the group's ROI list, volumes and label image for map m. */
static int map_rois(ag_map *m, const char *fmri, bmc_err *err) {
    bmc_h5 f;
    if (bmc_h5_open_as(&f, MPI_COMM_SELF, fmri, BMC_FMT_FMRI, err)) return -1;
    char obj[200], *rois = NULL, *inputs = NULL;
    snprintf(obj, sizeof obj, "/voxels/%s", m->group);
    int rc = bmc_h5_attr_get_str(&f, obj, "rois", &rois, err);
    if (!rc) rc = bmc_h5_attr_get_str(&f, "/", "inputs", &inputs, err);
    size_t nvox = (size_t)m->dims[0] * (size_t)m->dims[1] * (size_t)m->dims[2];
    if (!rc) rc = group_mask(m, &f, obj, nvox, err);
    bmc_h5_close(&f);
    m->roi = xcalloc(nvox, sizeof *m->roi);
    m->label = xcalloc(nvox, sizeof *m->label);
    double **vol = NULL;
    int entry = 0;
    for (char *save = NULL, *e = rc ? NULL : strtok_r(rois, "\n", &save); e && !rc;
         e = strtok_r(NULL, "\n", &save), entry++) {
        char *colon = strchr(e, ':');
        if (!colon) {
            rc = bmc_err_set(err, "rerun bmc-extract-fmri", "%s:%s: ROI entry '%s' is not "
                             "file:label", fmri, obj, e);
            break;
        }
        *colon = 0;
        int fi = -1;
        for (int k = 0; k < m->n_roi_files; k++)
            if (!strcmp(m->roi_files[k], e)) fi = k;
        if (fi < 0) { /* first use of this ROI file: read and verify it */
            char sha[BMC_SHA256_HEX], got[BMC_SHA256_HEX];
            char *base = bmc_xasprintf("%s.nii.gz", e);
            char *path = input_path(inputs, base, sha);
            free(base);
            if (!path) {
                rc = bmc_err_set(err, "rerun bmc-extract-fmri", "%s: its inputs list no ROI file "
                                 "%s.nii.gz", fmri, e);
                break;
            }
            if (bmc_sha256_path(path, got, err) || strcmp(got, sha)) {
                if (!err->failed)
                    bmc_err_set(err, "rerun the workflow from bmc-extract-fmri",
                                "%s changed since bmc-extract-fmri read it for %s", path, fmri);
                free(path);
                rc = -1;
                break;
            }
            int d[3];
            double *v = read_volume(path, d, err);
            if (v && (d[0] != m->dims[0] || d[1] != m->dims[1] || d[2] != m->dims[2])) {
                bmc_err_set(err, "the map and the ROIs must share the subject's grid",
                            "%s: grid %d×%d×%d, the R² map has %d×%d×%d", path, d[0], d[1], d[2],
                            m->dims[0], m->dims[1], m->dims[2]);
                free(v);
                v = NULL;
            }
            free(path);
            if (!v) {
                rc = -1;
                break;
            }
            m->roi_files = xrealloc(m->roi_files, (size_t)(m->n_roi_files + 1) * sizeof(char *));
            vol = xrealloc(vol, (size_t)(m->n_roi_files + 1) * sizeof *vol);
            m->roi_files[m->n_roi_files] = xstrdup(e);
            vol[m->n_roi_files] = v;
            fi = m->n_roi_files++;
        }
        char sha[BMC_SHA256_HEX];
        char *base = bmc_xasprintf("%s.mgz.ctab", e);
        char *ctab = input_path(inputs, base, sha);
        free(base);
        char *text = ctab ? bmc_read_file(ctab, NULL, err) : NULL;
        long value;
        if (ctab_value(text ? text : "", colon + 1, &value)) {
            if (!err->failed)
                bmc_err_set(err, "rerun bmc-extract-fmri", "%s: ROI label '%s' of %s is not in "
                            "its colour table", fmri, colon + 1, e);
            rc = -1;
        }
        free(text);
        free(ctab);
        for (size_t i = 0; !rc && i < nvox; i++)
            if (!m->label[i] && vol[fi][i] == (double)value) {
                m->label[i] = entry + 1;
                m->roi[i] = fi + 1;
            }
    }
    for (int k = 0; k < m->n_roi_files; k++) free(vol[k]);
    free(vol);
    free(rois);
    free(inputs);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Local (rank 0): every map of folder i. */
static int read_folder(ag_maps *mp, const ag_plan *p, const ag_models *md, size_t i,
                       bmc_err *err) {
    const char *dir = p->maps[i];
    char *side = bmc_xasprintf("%s.fingerprint", dir);
    bmc_err tmp = {0};
    char *fp = bmc_path_exists(side) ? bmc_read_file(side, NULL, &tmp) : NULL;
    free(side);
    int ok = fp && !strncmp(fp, md->fingerprint[i], strlen(md->fingerprint[i]));
    free(fp);
    if (!ok)
        return bmc_err_set(err, "list, for each model, the maps folder its train instance wrote",
                           "%s: foreign maps folder: its sidecar fingerprint is not that of "
                           "model %s", dir, md->path[i]);
    DIR *d = opendir(dir);
    if (!d) return bmc_err_set(err, "run the train stage with output 'maps'",
                               "%s: cannot open the maps folder", dir);
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "encoding_r2_", 12) || len < 20 ||
            strcmp(e->d_name + len - 7, ".nii.gz"))
            continue;
        names = xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        if (!rc) {
            mp->map = xrealloc(mp->map, (mp->n + 1) * sizeof *mp->map);
            ag_map *m = &mp->map[mp->n++];
            memset(m, 0, sizeof *m);
            m->subject = md->subject[i];
            size_t len = strlen(names[k]);
            snprintf(m->name, sizeof m->name, "%.*s", (int)(len - 12 - 7), names[k] + 12);
            const char *to = strstr(m->name, "_to_");
            snprintf(m->group, sizeof m->group, "%s", to ? to + 4 : "");
            char *path = bmc_path_join(dir, names[k]);
            double *v = read_volume(path, m->dims, err);
            free(path);
            if (!v) rc = -1;
            if (!rc) {
                size_t nv = (size_t)m->dims[0] * (size_t)m->dims[1] * (size_t)m->dims[2];
                m->r2 = XNEW(m->r2, nv);
                for (size_t j = 0; j < nv; j++) m->r2[j] = (float)v[j];
                rc = map_rois(m, md->fmri[i], err);
            }
            free(v);
        }
        free(names[k]);
    }
    free(names);
    return rc;
}

int ag_maps_read(ag_maps *mp, const ag_plan *p, const ag_models *md, MPI_Comm comm,
                 bmc_err *err) {
    memset(mp, 0, sizeof *mp);
    int rank;
    BMC_MPI(MPI_Comm_rank(comm, &rank));
    for (size_t i = 0; rank == 0 && i < p->n_maps && !err->failed; i++)
        read_folder(mp, p, md, i, err);
    return bmc_err_agree(comm, err) ? -1 : 0;
}

void ag_maps_free(ag_maps *mp) {
    for (size_t i = 0; i < mp->n; i++) {
        ag_map *m = &mp->map[i];
        free(m->r2), free(m->roi), free(m->label);
        for (int k = 0; k < m->n_roi_files; k++) free(m->roi_files[k]);
        free(m->roi_files);
    }
    free(mp->map);
    memset(mp, 0, sizeof *mp);
}
