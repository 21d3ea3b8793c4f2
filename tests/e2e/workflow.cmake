# Tests of bmc-workflow (the engine): every bad workflow under tests/bad-input/workflows/
# must fail with exit 2, one `error: file:line:col:` line and a hint, and create nothing
# (label bad-input); engine behaviour with a fake stage program (label e2e).
file(GLOB BMC_WORKFLOW_BAD_INPUTS ${CMAKE_SOURCE_DIR}/tests/bad-input/workflows/*.yaml)
list(SORT BMC_WORKFLOW_BAD_INPUTS)
foreach(bad ${BMC_WORKFLOW_BAD_INPUTS})
  get_filename_component(case ${bad} NAME_WE)
  bmc_add_test(NAME workflow.bad.${case} LABEL bad-input TIMEOUT 60
    COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/workflow/check_error.py
            $<TARGET_FILE:bmc-workflow> ${bad})
endforeach()

foreach(scenario first_run_then_skip pipeline_info param_change force delete_output
                 inputs_and_version dry_run failure missing_output)
  bmc_add_test(NAME workflow.engine.${scenario} LABEL e2e TIMEOUT 120
    COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/workflow/engine_test.py
            $<TARGET_FILE:bmc-workflow> ${scenario})
endforeach()

foreach(scenario stage_typo speed_only force_instance exe_hash hash_cache folder_reads
                 symlink_loop subjects_added user_files names_inside lock race records)
  bmc_add_test(NAME workflow.safety.${scenario} LABEL e2e TIMEOUT 180
    COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/workflow/engine_safety_test.py
            $<TARGET_FILE:bmc-workflow> ${scenario})
endforeach()

# The engine's string helpers (placeholders, paths, words), linked from its sources.
bmc_add_test_exe(test_workflow_subst ${CMAKE_CURRENT_LIST_DIR}/workflow/test_subst.c
  ${CMAKE_SOURCE_DIR}/workflows/engine/subst.c ${CMAKE_SOURCE_DIR}/workflows/engine/workflow.c)
target_include_directories(test_workflow_subst PRIVATE ${CMAKE_SOURCE_DIR}/workflows/engine)
bmc_add_test(NAME workflow.unit.subst LABEL unit TARGET test_workflow_subst)

# Path identity, the folder swap, the content-hash cache and link loops (common/bmc_fs.c,
# common/bmc_fingerprint.c).
bmc_add_test_exe(test_fs_cache ${CMAKE_CURRENT_LIST_DIR}/workflow/test_fs_cache.c)
bmc_add_test(NAME workflow.unit.fs_cache LABEL unit TARGET test_fs_cache TIMEOUT 60)

# The real stage programs under the same rules: --check through the demo workflow, each
# stage's report, and a stage run by hand refusing to destroy anything.
foreach(scenario demo_typo demo_bad_value check_reports stage_refuses)
  bmc_add_test(NAME workflow.stages.${scenario} LABEL e2e TIMEOUT 120
    COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/workflow/stages_test.py
            $<TARGET_FILE_DIR:bmc-workflow> ${CMAKE_SOURCE_DIR}/workflows/demo.yaml ${scenario})
endforeach()
# The 89-instance study plans every stage's --check: a pipeline for the sanitizer pass.
bmc_add_test(NAME workflow.stages.study_tree LABEL e2e pipeline TIMEOUT 120
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/workflow/stages_test.py
          $<TARGET_FILE_DIR:bmc-workflow> ${CMAKE_SOURCE_DIR}/workflows/demo.yaml study_tree)
