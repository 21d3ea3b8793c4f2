/* fuzz_ctab.c — libFuzzer target of the ROI label-table reader (stages/extract_fmri/nsd.c):
 * any bytes as a .mgz.ctab through nsd_ctab_read, then the lookups and the name list used in
 * messages. Not here: the ROI volumes (fuzz_nifti.c).
 */
#include <stdlib.h>

#include "fuzz_file.h"
#include "nsd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nsd_ctab c;
    bmc_err err = {0};
    if (nsd_ctab_read(fuzz_write_file(data, size, ".ctab"), &c, &err)) return 0;
    free(nsd_ctab_names(&c));
    nsd_ctab_find(&c, "V1v");
    nsd_ctab_find_value(&c, 1);
    nsd_ctab_free(&c);
    return 0;
}
