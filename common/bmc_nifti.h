/* bmc_nifti.h — small helpers around libnifti2 (header-only; targets that include it link
 * the bmc_nifti interface target): a voxel as double, a centred geometry.
 * Not here: reading NSD's ROI files (stages/extract_fmri).
 */
#ifndef BMC_NIFTI_H
#define BMC_NIFTI_H

#include <math.h>
#include <nifti2_io.h>
#include <stdint.h>
#include <string.h>

/* Voxel i of a NIfTI data block as double (before scl_slope/scl_inter); NAN for a type that
 * is not a real scalar. Local, pure. */
static inline double bmc_nifti_elem(const nifti_image *nim, size_t i) {
    const void *d = nim->data;
    switch (nim->datatype) {
    case DT_INT8: return ((const int8_t *)d)[i];
    case DT_UINT8: return ((const uint8_t *)d)[i];
    case DT_INT16: return ((const int16_t *)d)[i];
    case DT_UINT16: return ((const uint16_t *)d)[i];
    case DT_INT32: return ((const int32_t *)d)[i];
    case DT_UINT32: return ((const uint32_t *)d)[i];
    case DT_INT64: return (double)((const int64_t *)d)[i];
    case DT_UINT64: return (double)((const uint64_t *)d)[i];
    case DT_FLOAT32: return ((const float *)d)[i];
    case DT_FLOAT64: return ((const double *)d)[i];
    default: return NAN;
    }
}

/* Give nim an isotropic grid of voxel_mm (mm) centred on the origin, with identical qform and
 * sform (scanner coordinates, no rotation). dims are the volume's X, Y, Z. Local, pure. */
static inline void bmc_nifti_centred_geometry(nifti_image *nim, const int dims[3], double voxel_mm) {
    double off[3];
    for (int a = 0; a < 3; a++) off[a] = -voxel_mm * (dims[a] - 1) / 2.0;
    nim->dx = nim->dy = nim->dz = voxel_mm;
    nim->pixdim[1] = nim->pixdim[2] = nim->pixdim[3] = voxel_mm;
    nim->xyz_units = NIFTI_UNITS_MM;
    nim->qform_code = nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->quatern_b = nim->quatern_c = nim->quatern_d = 0.0;
    nim->qfac = 1.0;
    nim->qoffset_x = off[0];
    nim->qoffset_y = off[1];
    nim->qoffset_z = off[2];
    memset(&nim->sto_xyz, 0, sizeof nim->sto_xyz);
    for (int a = 0; a < 3; a++) {
        nim->sto_xyz.m[a][a] = voxel_mm;
        nim->sto_xyz.m[a][3] = off[a];
    }
    nim->sto_xyz.m[3][3] = 1.0;
    nim->qto_xyz = nim->sto_xyz;
}

#endif
