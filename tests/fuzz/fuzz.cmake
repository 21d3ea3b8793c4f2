# Fuzz targets (the fuzz preset only: clang, -fsanitize=fuzzer,address,undefined; every
# library of the tree is built with -fsanitize=fuzzer-no-link so that libFuzzer sees its
# coverage). One target per parser of untrusted bytes; tests/fuzz/README.md says how to run
# each for real. In CI each target runs BMC_FUZZ_RUNS executions from its seed corpus
# (tests/fuzz/corpus/<target>/), and the committed crash inputs of
# tests/fuzz/regressions/<target>/ are replayed.
set(BMC_FUZZ_RUNS 2000 CACHE STRING "executions per fuzz target in the ctest short run")
set(BMC_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

# bmc_add_fuzzer(NAME name LIBS libs...): builds fuzz_<name> from tests/fuzz/fuzz_<name>.c and
# declares its short run (and its regression replay when regressions/<name>/ exists).
function(bmc_add_fuzzer)
  cmake_parse_arguments(F "" "NAME" "LIBS" ${ARGN})
  set(exe fuzz_${F_NAME})
  add_executable(${exe} ${BMC_FUZZ_DIR}/${exe}.c)
  target_link_libraries(${exe} PRIVATE ${F_LIBS} bmc_warnings bmc_sanitize)
  target_include_directories(${exe} PRIVATE ${BMC_FUZZ_DIR})
  target_link_options(${exe} PRIVATE -fsanitize=fuzzer)
  bmc_add_test(NAME fuzz_${F_NAME}_short LABEL fuzz TIMEOUT 120
    COMMAND ${BMC_FUZZ_DIR}/run_fuzzer.sh short $<TARGET_FILE:${exe}> ${BMC_FUZZ_RUNS}
            ${BMC_FUZZ_DIR}/corpus/${F_NAME})
  if(EXISTS ${BMC_FUZZ_DIR}/regressions/${F_NAME})
    bmc_add_test(NAME fuzz_${F_NAME}_regressions LABEL fuzz TIMEOUT 120
      COMMAND ${BMC_FUZZ_DIR}/run_fuzzer.sh replay $<TARGET_FILE:${exe}>
              ${BMC_FUZZ_DIR}/regressions/${F_NAME})
  endif()
endfunction()

bmc_add_fuzzer(NAME config LIBS bmc_common)
bmc_add_fuzzer(NAME workflow LIBS bmc_stage_workflow)
bmc_add_fuzzer(NAME safetensors LIBS bmc_clip)
bmc_add_fuzzer(NAME weights_config LIBS bmc_clip)
bmc_add_fuzzer(NAME nsd_design LIBS bmc_stage_extract_fmri)
bmc_add_fuzzer(NAME ctab LIBS bmc_stage_extract_fmri)
bmc_add_fuzzer(NAME nifti LIBS bmc_stage_extract_fmri)
bmc_add_fuzzer(NAME image LIBS bmc_stage_extract_clip)
