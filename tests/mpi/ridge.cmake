# Tests of the distributed ridge solver (common/ridge: ridge.c, cv.c):
# ridge.npN: ridge_ref.py writes random problems (n < p and n > p; LOO, GCV, k-fold; token
# and group granularity; a memory budget that forces column blocks; a constant X column),
# test_ridge fits them on every grid shape of N ranks (and on 1 rank for comparison), and
# ridge_ref.py checks them against scikit-learn's RidgeCV and NumPy references.
# ridge.errors.npN: bad input gives the same error on every rank.
bmc_add_test_exe(test_ridge ${CMAKE_CURRENT_LIST_DIR}/test_ridge.c)
target_link_libraries(test_ridge PRIVATE bmc_ridge)
foreach(np 1 2 4)
  bmc_add_test(NAME ridge.np${np} LABEL mpi TIMEOUT 600
    COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/ridge_ref.py --np ${np}
            --mpiexec ${MPIEXEC_EXECUTABLE} --numproc-flag=${MPIEXEC_NUMPROC_FLAG}
            -- $<TARGET_FILE:test_ridge>)
  set_tests_properties(ridge.np${np} PROPERTIES PROCESSORS ${np})
  bmc_add_test(NAME ridge.errors.np${np} LABEL mpi NP ${np} TIMEOUT 120 TARGET test_ridge
    ARGS --errors)
endforeach()
