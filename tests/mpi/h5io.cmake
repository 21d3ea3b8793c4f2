# Tests of the parallel HDF5 layer (common/bmc_h5io.c, bmc_h5io_data.c, bmc_h5io_attr.c):
# h5io.npN (round trips of every dtype with uneven row splits, column blocks, attributes,
# provenance, atomic outputs, resume, agreed errors, peek) on 1, 2 and 4 ranks;
# h5io.h5py_check (a file written by 3 ranks, verified independently with h5py + NumPy);
# h5io.peek_serial (the serial peek functions in a process that never calls MPI_Init).
bmc_add_test_exe(test_h5io ${CMAKE_CURRENT_LIST_DIR}/test_h5io.c)
foreach(np 1 2 4)
  # A few seconds normally; the generous limit is for ASan builds on 2 busy cores.
  bmc_add_test(NAME h5io.np${np} LABEL mpi NP ${np} TIMEOUT 180 TARGET test_h5io)
endforeach()
bmc_add_test(NAME h5io.h5py_check LABEL mpi TIMEOUT 180
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_h5io.py --np 3
          --mpiexec ${MPIEXEC_EXECUTABLE} --numproc-flag=${MPIEXEC_NUMPROC_FLAG}
          -- $<TARGET_FILE:test_h5io>)
set_tests_properties(h5io.h5py_check PROPERTIES PROCESSORS 3)
bmc_add_test(NAME h5io.peek_serial LABEL unit TARGET test_h5io ARGS --peek-serial)

# float16 storage and flush-then-resume.
bmc_add_test_exe(test_h5io_half ${CMAKE_CURRENT_LIST_DIR}/test_h5io_half.c)
foreach(np 1 2)
  bmc_add_test(NAME h5io.half.np${np} LABEL mpi NP ${np} TARGET test_h5io_half)
endforeach()
