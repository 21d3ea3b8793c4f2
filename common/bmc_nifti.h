/* bmc_nifti.h — small helpers around libnifti2 (header-only; targets that include it link
 * the bmc_nifti interface target). Not here: reading NSD's ROI files (stages/extract_fmri).
 */
#ifndef BMC_NIFTI_H
#define BMC_NIFTI_H

#include <nifti2_io.h>
#include <string.h>

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
