# Tests of the YAML config tree: test_config (loading, errors, getters, lists: common/bmc_config.c,
# bmc_config_get.c) and test_config_out (canonical text, emit, builders: bmc_config_emit.c),
# one ctest test per group. config.python compares the canonical text with an independent
# PyYAML reference (tests/unit/config_data/canonical_ref.py).
bmc_add_test_exe(test_config ${CMAKE_CURRENT_LIST_DIR}/test_config.c)
bmc_add_test_exe(test_config_out ${CMAKE_CURRENT_LIST_DIR}/test_config_out.c)
foreach(exe test_config test_config_out)
  target_compile_definitions(${exe} PRIVATE
    BMC_CONFIG_DATA_DIR="${CMAKE_CURRENT_LIST_DIR}/config_data")
endforeach()
foreach(group types load_errors duplicates check_keys getters lists)
  bmc_add_test(NAME config.${group} LABEL unit TIMEOUT 30 TARGET test_config ARGS ${group})
endforeach()
foreach(group canonical python emit builders)
  bmc_add_test(NAME config.${group} LABEL unit TIMEOUT 30 TARGET test_config_out ARGS ${group})
endforeach()
