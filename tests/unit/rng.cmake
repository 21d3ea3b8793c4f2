# common/bmc_rng (the one generator of synth data, metric draws and the bootstrap): published
# splitmix64 vectors and an independent Python implementation (tests/unit/rng_ref.py).
bmc_add_test_exe(test_rng ${CMAKE_CURRENT_LIST_DIR}/test_rng.c)
target_link_libraries(test_rng PRIVATE bmc_common)
target_compile_definitions(test_rng PRIVATE BMC_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
foreach(mode published reference)
  bmc_add_test(NAME rng.${mode} LABEL unit TARGET test_rng ARGS ${mode})
endforeach()
