# Error agreement under MPI: one rank fails → every rank exits non-zero within seconds.
bmc_add_test_exe(test_error_agree ${CMAKE_CURRENT_LIST_DIR}/test_error_agree.c)
foreach(np 1 2 4)
  bmc_add_test(NAME errors.agree.np${np} LABEL mpi NP ${np} TARGET test_error_agree ARGS agree)
  math(EXPR last "${np} - 1")
  bmc_add_test(NAME errors.exit_together.np${np} LABEL mpi
    COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_exit_together.py
            --np ${np} --status 2 --count 1
            --expect "error: rank ${last} could not open 'missing.h5'"
            -- $<TARGET_FILE:test_error_agree> exit ${last})
endforeach()
bmc_add_test(NAME errors.bug_aborts.np2 LABEL mpi
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_exit_together.py
          --np 2 --status -1 --expect "[rank 1] internal error at"
          -- $<TARGET_FILE:test_error_agree> bug)
