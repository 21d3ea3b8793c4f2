/* fuzz_nifti.c — libFuzzer target of the ROI volume reader (stages/extract_fmri/
 * nsd_volume.c): any bytes as a .nii file through nsd_volume_read (header checks, datatype,
 * scaling, integer labels; libnifti2 underneath). Not here: the label tables (fuzz_ctab.c).
 */
#include "fuzz_file.h"
#include "nsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nsd_volume v;
    bmc_err err = {0};
    if (!nsd_volume_read(fuzz_write_file(data, size, ".nii"), &v, &err)) nsd_volume_free(&v);
    return 0;
}
