/* bmc_h5io_internal.h — helpers shared by the three files of the HDF5 layer: bmc_h5io.c
 * (files), bmc_h5io_data.c (datasets) and bmc_h5io_attr.c (attributes, provenance, peek).
 * Private: not part of the contract in bmc_h5io.h; nothing else includes it.
 */
#ifndef BMC_H5IO_INTERNAL_H
#define BMC_H5IO_INTERNAL_H

#include <stddef.h>
#include "bmc_h5io.h"

static inline int bmc_h5i_dtype_valid(bmc_dtype t) {
    return (int)t >= (int)BMC_U8 && (int)t <= (int)BMC_F16;
}

/* Turn off HDF5's automatic error printing (failures become bmc_err messages). Local. */
void bmc_h5i_silence(void);

/* Record an error (first one wins) whose message ends with " (HDF5: <innermost HDF5 error
 * description>)" when HDF5's error stack has one; clears the stack. Local. */
void bmc_h5i_set_err(bmc_err *e, const char *hint, const char *fmt, ...) BMC_PRINTF(3, 4);

/* Collective: agree on `local`; on failure copy it into *out (unless *out already holds an
 * error; out may be NULL) and return -1 on every rank, else 0. */
int bmc_h5i_agree(MPI_Comm comm, bmc_err *local, bmc_err *out);

/* "file.h5:/group/name" (the final path, and the name made absolute) for messages. */
void bmc_h5i_label(char *buf, size_t n, const bmc_h5 *f, const char *name);

/* 1 when every link along `name` exists and the last one resolves to an object ("/" always
 * exists). Local; never leaves an HDF5 error on the stack. */
int bmc_h5i_exists_local(hid_t fid, const char *name);

#endif
