/* fuzz_nsd_design.c — libFuzzer target of the NSD design reader (stages/extract_fmri/nsd.c):
 * any bytes as nsd_expdesign.mat through nsd_design_read (matio underneath; MATLAB v5/v7).
 * Not here: the ROI and label readers (fuzz_nifti.c, fuzz_ctab.c).
 */
#include "fuzz_file.h"
#include "nsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nsd_design d;
    bmc_err err = {0};
    if (!nsd_design_read(fuzz_write_file(data, size, ".mat"), &d, &err)) nsd_design_free(&d);
    return 0;
}
