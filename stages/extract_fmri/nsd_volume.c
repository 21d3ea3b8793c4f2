/* nsd_volume.c — ROI volumes (NIfTI through libnifti2) and NSD's HDF5 files (betas, the
 * stimuli file's row count), as declared in nsd.h.
 *
 * HDF5 files are opened with the serial sec2 driver on one process: each rank reads its own
 * sessions, so MPI-IO buys nothing here. HDF5's automatic error printing is switched off and
 * failures become bmc_err messages naming file and dataset. libnifti2's own messages are
 * silenced the same way. Not here: the design and ctab files (nsd.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_h5io.h"
#include "bmc_nifti.h"
#include "nsd.h"

/* ---- NIfTI ---------------------------------------------------------------------------- */

/* Largest ROI side and voxel count accepted (NSD's 1.8 mm grid is 81 x 104 x 83). */
#define ROI_MAX_SIDE 100000
#define ROI_MAX_VOXELS ((int64_t)1 << 30)
/* zlib cannot expand a stream by more than about 1032:1, so a .nii.gz holds at most this
 * many data bytes per byte of file. */
#define GZIP_MAX_RATIO 1032

/* The header's shape, datatype and data offset (NIfTI-1 or -2, as libnifti2 reads it). */
typedef struct roi_header {
    int64_t dim[8], vox_offset;
    int datatype;
} roi_header;

/* Check the header of `path` before libnifti2 converts it or allocates its data: a known
 * datatype, dim[0] in 1..7, every dimension >= 1, at most 3 of them above 1 (sides capped),
 * and data that fits the file (the file's real size, or its inflated bound for .gz). A bad
 * or hostile header is a user error naming the file and field; libnifti2 itself is never
 * handed it (it crashes on some, and allocates whatever the header claims). Local. */
static int roi_header_check(const char *path, bmc_err *err) {
    int nver = 0;
    void *raw = nifti_read_header(path, &nver, 0);
    if (!raw)
        return bmc_err_set(err, "it must be a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz)",
                           "%s: not a readable NIfTI volume", path);
    roi_header h = {0};
    /* nifti_read_header returns the bytes as stored: swap a big-endian header here. */
    if (nver == 2) {
        nifti_2_header *n2 = raw;
        if (n2->sizeof_hdr != 540) nifti_swap_as_nifti2(n2);
        for (int k = 0; k < 8; k++) h.dim[k] = n2->dim[k];
        h.vox_offset = n2->vox_offset;
        h.datatype = n2->datatype;
    } else {
        nifti_1_header *n1 = raw;
        if (n1->sizeof_hdr != 348) nifti_swap_as_nifti1(n1);
        for (int k = 0; k < 8; k++) h.dim[k] = n1->dim[k];
        h.vox_offset = isfinite(n1->vox_offset) && n1->vox_offset >= 0 && n1->vox_offset < 1e15
                           ? (int64_t)n1->vox_offset : -1;
        h.datatype = n1->datatype;
    }
    free(raw);
    const char *hint = "ROI files are 3-D label volumes (X, Y, Z); the file may be damaged";
    if (h.dim[0] < 1 || h.dim[0] > 7)
        return bmc_err_set(err, hint, "%s: NIfTI header dim[0] = %lld is outside 1..7", path,
                           (long long)h.dim[0]);
    int64_t nvox = 1;
    for (int k = 1; k <= h.dim[0]; k++) {
        int64_t cap = k <= 3 ? ROI_MAX_SIDE : 1;
        if (h.dim[k] < 1 || h.dim[k] > cap)
            return bmc_err_set(err, hint, "%s: NIfTI header dim[%d] = %lld is outside 1..%lld",
                               path, k, (long long)h.dim[k], (long long)cap);
        nvox *= h.dim[k];
    }
    if (nvox > ROI_MAX_VOXELS)
        return bmc_err_set(err, hint, "%s: NIfTI header claims %lld voxels (at most %lld)", path,
                           (long long)nvox, (long long)ROI_MAX_VOXELS);
    int nbyper = 0, swapsize = 0;
    nifti_datatype_sizes(h.datatype, &nbyper, &swapsize);
    if (nbyper < 1 || !nifti_datatype_is_valid(h.datatype, 1))
        return bmc_err_set(err, "store labels as an integer or float type",
                           "%s: unsupported NIfTI datatype %d", path, h.datatype);
    int64_t size = bmc_file_size(path);
    int gz = strlen(path) > 3 && !strcmp(path + strlen(path) - 3, ".gz");
    if (h.vox_offset < 0 || size < 0 || (!gz && h.vox_offset > size))
        return bmc_err_set(err, "the file is truncated or its header is damaged",
                           "%s: NIfTI header vox_offset %lld is outside the %lld-byte file", path,
                           (long long)h.vox_offset, (long long)size);
    int64_t room = gz ? size * GZIP_MAX_RATIO : size - h.vox_offset; /* no overflow: both checked */
    if (nvox * nbyper > room)
        return bmc_err_set(err, "the file is truncated or its header is damaged",
                           "%s: NIfTI header claims %lld voxels of %d bytes from offset %lld, "
                           "more than the %lld-byte file holds",
                           path, (long long)nvox, nbyper, (long long)h.vox_offset,
                           (long long)size);
    return 0;
}

int nsd_volume_read(const char *path, nsd_volume *vol, bmc_err *err) {
    memset(vol, 0, sizeof *vol);
    if (!bmc_path_exists(path))
        return bmc_err_set(err, "NSD keeps ROI volumes in nsddata/ppdata/subjXX/func1pt8mm/roi/",
                           "missing ROI file %s", path);
    nifti_set_debug_level(0);
    if (roi_header_check(path, err)) return -1;
    nifti_image *nim = nifti_image_read(path, 1);
    if (!nim || !nim->data) {
        if (nim) nifti_image_free(nim);
        return bmc_err_set(err, "it must be a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz)",
                           "%s: not a readable NIfTI volume", path);
    }
    int rc = 0;
    int64_t nx = nim->nx, ny = nim->ny, nz = nim->nz;
    if (nx < 1 || ny < 1 || nz < 1 || nim->nvox != nx * ny * nz || nx > 100000 || ny > 100000 ||
        nz > 100000) {
        rc = bmc_err_set(err, "ROI files are 3-D volumes (X, Y, Z)",
                         "%s: expected a 3-D volume, found dim = (%lld, %lld, %lld, ...) with "
                         "%lld voxels",
                         path, (long long)nx, (long long)ny, (long long)nz,
                         (long long)nim->nvox);
    } else if (isnan(bmc_nifti_elem(nim, 0))) {
        rc = bmc_err_set(err, "store labels as an integer or float type",
                         "%s: unsupported NIfTI datatype %d (%s)", path, nim->datatype,
                         nifti_datatype_string(nim->datatype));
    }
    if (!rc) {
        double slope = nim->scl_slope, inter = nim->scl_inter;
        int scaled = isfinite(slope) && slope != 0.0 && (slope != 1.0 || inter != 0.0);
        size_t n = (size_t)nim->nvox;
        vol->dims[0] = (int)nx;
        vol->dims[1] = (int)ny;
        vol->dims[2] = (int)nz;
        vol->v = XNEW(vol->v, n);
        for (size_t i = 0; i < n; i++) {
            double x = bmc_nifti_elem(nim, i);
            if (scaled) x = x * slope + inter;
            double r = nearbyint(x);
            if (!(fabs(x - r) <= 1e-6) || fabs(r) > 2147483647.0) {
                size_t X = (size_t)nx, Y = (size_t)ny;
                rc = bmc_err_set(err, "ROI volumes hold integer labels (-1 outside the brain, 0 "
                                      "outside the ROI, k > 0 label k)",
                                 "%s: voxel (%zu, %zu, %zu) holds %g, not an integer label",
                                 path, i % X, (i / X) % Y, i / (X * Y), x);
                break;
            }
            vol->v[i] = (int32_t)r;
        }
    }
    nifti_image_free(nim);
    if (rc) nsd_volume_free(vol);
    return rc;
}

void nsd_volume_free(nsd_volume *vol) {
    free(vol->v);
    memset(vol, 0, sizeof *vol);
}

/* ---- HDF5 (serial) -------------------------------------------------------------------- */

static hid_t open_serial(const char *path, bmc_err *err) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!bmc_path_exists(path)) {
        bmc_err_set(err, NULL, "missing file %s", path);
        return H5I_INVALID_HID;
    }
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fid < 0) bmc_err_set(err, "it must be an HDF5 file", "%s: not a readable HDF5 file", path);
    return fid;
}

int nsd_h5_rows(const char *path, const char *dataset, long *n, bmc_err *err) {
    hid_t fid = open_serial(path, err);
    if (fid < 0) return -1;
    int rc = 0;
    hid_t did = H5Dopen2(fid, dataset, H5P_DEFAULT);
    if (did < 0) {
        rc = bmc_err_set(err, "set params.dataset to the stimuli dataset (NSD: imgBrick)",
                         "%s: no dataset '%s'", path, dataset);
    } else {
        hid_t sp = H5Dget_space(did);
        hsize_t dims[H5S_MAX_RANK];
        int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
        hid_t ty = H5Dget_type(did);
        char what[BMC_ERR_MSG_MAX / 2];
        snprintf(what, sizeof what, "%s:/%s", path, dataset);
        if (nd < 1)
            rc = bmc_err_set(err, NULL, "%s:/%s: a scalar, not an image array", path, dataset);
        else
            rc = bmc_h5_check_extent(path, what, nd, dims, H5Tget_size(ty), err);
        if (!rc) *n = (long)dims[0];
        H5Tclose(ty);
        H5Sclose(sp);
        H5Dclose(did);
    }
    H5Fclose(fid);
    return rc;
}

int nsd_betas_open(const char *path, nsd_betas *b, bmc_err *err) {
    memset(b, 0, sizeof *b);
    b->fid = b->did = H5I_INVALID_HID;
    b->fid = open_serial(path, err);
    if (b->fid < 0) return -1;
    b->path = xstrdup(path);
    /* A larger chunk cache so that chunked betas files are not re-read per plane. */
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 10007, (size_t)64 << 20, 1.0);
    b->did = H5Dopen2(b->fid, "betas", dapl);
    H5Pclose(dapl);
    if (b->did < 0) {
        bmc_err_set(err, "NSD betas files hold one dataset /betas (trials, Z, Y, X) int16",
                    "%s: no dataset /betas", path);
        nsd_betas_close(b);
        return -1;
    }
    hid_t sp = H5Dget_space(b->did), ty = H5Dget_type(b->did);
    hsize_t dims[H5S_MAX_RANK];
    int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
    int rc = 0;
    if (nd != 4) {
        rc = bmc_err_set(err, "NSD betas are (trials, Z, Y, X) int16, percent signal change x 300",
                         "%s:/betas has %d dimensions, expected 4", path, nd);
    } else if (H5Tget_class(ty) != H5T_INTEGER || H5Tget_size(ty) > 2) {
        rc = bmc_err_set(err, "NSD betas are int16 (percent signal change x 300)",
                         "%s:/betas is not a 16-bit integer dataset", path);
    } else {
        char what[BMC_ERR_MSG_MAX / 2];
        snprintf(what, sizeof what, "%s:/betas", path);
        rc = bmc_h5_check_extent(path, what, 4, dims, H5Tget_size(ty), err);
        for (int k = 0; k < 4 && !rc; k++) b->dims[k] = (long)dims[k];
    }
    H5Tclose(ty);
    H5Sclose(sp);
    if (rc) nsd_betas_close(b);
    return rc;
}

int nsd_betas_check_grid(const nsd_betas *b, const int grid[3], const char *grid_file,
                         bmc_err *err) {
    const long *d = b->dims;
    if (d[1] == grid[2] && d[2] == grid[1] && d[3] == grid[0]) return 0;
    int transposed = d[1] == grid[0] && d[2] == grid[1] && d[3] == grid[2];
    return bmc_err_set(err,
                       transposed ? "this file looks stored as (trials, X, Y, Z): NSD stores "
                                    "betas as (trials, Z, Y, X) in C order (h5py's shape), the "
                                    "NIfTI grid reversed; transpose it"
                                  : "NSD stores betas as (trials, Z, Y, X) in C order (h5py's "
                                    "shape), the NIfTI grid (X, Y, Z) reversed; check that the "
                                    "betas and ROI files belong to the same subject and space",
                       "%s:/betas: shape (%ld, %ld, %ld, %ld) does not match the ROI grid "
                       "(X, Y, Z) = (%d, %d, %d) of %s: expected (trials, %d, %d, %d)",
                       b->path, d[0], d[1], d[2], d[3], grid[0], grid[1], grid[2], grid_file,
                       grid[2], grid[1], grid[0]);
}

int nsd_betas_read(nsd_betas *b, long t0, long nt, long z0, long nz, int16_t *buf,
                   bmc_err *err) {
    hsize_t start[4] = {(hsize_t)t0, (hsize_t)z0, 0, 0};
    hsize_t count[4] = {(hsize_t)nt, (hsize_t)nz, (hsize_t)b->dims[2], (hsize_t)b->dims[3]};
    hid_t fsp = H5Dget_space(b->did);
    hid_t msp = H5Screate_simple(4, count, NULL);
    herr_t st = H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL);
    if (st >= 0) st = H5Dread(b->did, H5T_NATIVE_INT16, msp, fsp, H5P_DEFAULT, buf);
    H5Sclose(msp);
    H5Sclose(fsp);
    if (st < 0)
        return bmc_err_set(err, "the file may be truncated or damaged",
                           "%s:/betas: reading trials %ld..%ld failed", b->path, t0,
                           t0 + nt - 1);
    return 0;
}

void nsd_betas_close(nsd_betas *b) {
    if (b->did >= 0) H5Dclose(b->did);
    if (b->fid >= 0) H5Fclose(b->fid);
    free(b->path);
    b->did = b->fid = H5I_INVALID_HID;
    b->path = NULL;
}
