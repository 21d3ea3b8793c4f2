/* test_h5io_half.c — float16 datasets: float32 buffers stored as IEEE binary16 (values
 * exact in half precision round-trip exactly, others round to nearest), raw half bits read
 * back, h5py sees float16, and bmc_h5_flush leaves a .partial that reopens for resuming.
 */
#define _XOPEN_SOURCE 700
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_grid.h"
#include "bmc_h5io.h"
#include "bmc_test.h"

#define ROWS 10
#define COLS 6

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    char dir[64] = "/tmp/bmc-h5half-XXXXXX";
    if (rank == 0 && !mkdtemp(dir)) dir[0] = '\0';
    MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    char *path = bmc_xasprintf("%s/half.h5", dir);

    long r0, nr;
    bmc_rowblock(ROWS, size, rank, &r0, &nr);
    float *buf = XNEW(buf, ROWS * COLS);
    for (long i = 0; i < nr * COLS; i++) buf[i] = (float)((r0 * COLS + i) % 37) * 0.25f - 4.0f;
    if (nr > 0 && r0 == 0) buf[1] = 1.0f / 3.0f; /* not exact in half: rounds to 0x3555 */

    bmc_h5 f;
    bmc_err e = {0};
    hsize_t dims[2] = {ROWS, COLS};
    TEST_CHECK(bmc_h5_create_or_resume(&f, MPI_COMM_WORLD, path, "bmc.test", 1, "fp1", &e) == 0,
               "%s", e.msg);
    TEST_CHECK(bmc_h5_create_dataset(&f, "half", BMC_F16, 2, dims, NULL, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_write_rows(&f, "half", BMC_F32, (hsize_t)r0, (hsize_t)nr, buf, &e) == 0, "%s", e.msg);
    TEST_CHECK(bmc_h5_flush(&f, &e) == 0, "flush: %s", e.msg);
    /* Give the file up without commit (as a killed run would), then resume it. */
    bmc_h5_close(&f);
    int resumed = bmc_h5_create_or_resume(&f, MPI_COMM_WORLD, path, "bmc.test", 1, "fp1", &e);
    TEST_CHECK(resumed == 1, "flushed .partial resumes (got %d: %s)", resumed, e.msg);
    bmc_dtype t;
    int nd;
    hsize_t got[BMC_H5_MAXDIMS];
    TEST_CHECK(bmc_h5_dataset_info(&f, "half", &t, &nd, got, &e) == 0 && t == BMC_F16 && nd == 2,
               "dataset_info reports float16 (%d)", (int)t);
    float *back = XNEW(back, ROWS * COLS);
    TEST_CHECK(bmc_h5_read_rows(&f, "half", BMC_F32, 0, ROWS, back, &e) == 0, "%s", e.msg);
    uint16_t *bits = XNEW(bits, ROWS * COLS);
    TEST_CHECK(bmc_h5_read_rows(&f, "half", BMC_F16, 0, ROWS, bits, &e) == 0, "%s", e.msg);
    size_t bad = 0;
    for (long i = 2; i < ROWS * COLS; i++) bad += back[i] != (float)(i % 37) * 0.25f - 4.0f;
    TEST_CHECK(bad == 0, "%zu values changed in a float16 round trip", bad);
    TEST_CHECK(back[0] == -4.0f && bits[0] == 0xC400, "-4 is 0xC400 (got 0x%04x)", bits[0]);
    TEST_CHECK(bits[1] == 0x3555, "1/3 rounds to 0x3555 (got 0x%04x)", bits[1]);
    TEST_CHECK(bmc_h5_commit(&f, &e) == 0, "%s", e.msg);

    if (rank == 0) {
        char *cmd = bmc_xasprintf(
            "%s -c 'import h5py,numpy as np;d=h5py.File(\"%s\")[\"half\"];"
            "assert d.dtype==np.float16,d.dtype;v=d[()].ravel();"
            "assert v[1]==np.float16(1/3) and v[0]==-4 and v[5]==-2.75,v[:6];print(\"ok\")'",
            getenv("BMC_PYTHON3") ? getenv("BMC_PYTHON3") : "/usr/bin/python3", path);
        TEST_CHECK(system(cmd) == 0, "h5py reads float16 values");
        free(cmd);
        bmc_remove_tree(dir);
    }
    free(buf);
    free(back);
    free(bits);
    free(path);
    int rc = test_summary_mpi(MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
