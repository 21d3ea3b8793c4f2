# Tests of the process grid and distributed matrix (common/bmc_grid.c, bmc_scalapack.h):
# grid.index (serial: index helpers and row-block math against ScaLAPACK's own functions,
# every prototype of bmc_scalapack.h resolved at link time) and grid.npN (grids of every
# shape on N ranks, redistribution round trips, pdgemm against a serial OpenBLAS reference,
# agreed errors for bad grid shapes).
bmc_add_test_exe(test_grid_index ${CMAKE_SOURCE_DIR}/tests/unit/test_grid_index.c)
bmc_add_test(NAME grid.index LABEL unit TARGET test_grid_index)

bmc_add_test_exe(test_grid ${CMAKE_SOURCE_DIR}/tests/mpi/test_grid.c)
target_link_libraries(test_grid PRIVATE PkgConfig::OPENBLAS)
foreach(np 1 2 4)
  bmc_add_test(NAME grid.np${np} LABEL mpi NP ${np} TIMEOUT 60 TARGET test_grid)
endforeach()

# ScaLAPACK's pdsyevd with one block as large as (or larger than) the matrix: the library's
# own workspace query is too small for its back-transformation and the result is silently
# wrong (common/bmc_syevd.h has the root cause); bmc_pdsyevd_workspace is the guard. The
# test documents the library's behaviour and fails only if the guarded solve is wrong.
bmc_add_test_exe(test_scalapack_bigblock ${CMAKE_CURRENT_LIST_DIR}/test_scalapack_bigblock.c)
foreach(np 1 2 4)
  bmc_add_test(NAME scalapack.bigblock.np${np} LABEL mpi NP ${np} TIMEOUT 120
               TARGET test_scalapack_bigblock)
endforeach()
