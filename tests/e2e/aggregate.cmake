# bmc-aggregate through its command line. aggregate.e2e and aggregate.bad-input run on a small
# complete run written by aggregate_fixture.py (no other stage runs, so the sanitizer pass
# covers the stage): every summary.csv row vs the NumPy reference aggregate_reference.py,
# 1/2/3 ranks byte-identical, valid figures, the page in headless Chromium (screenshot under
# test-artifacts/), and missing / duplicated / foreign inputs (exit 2, nothing written).
# aggregate.demo does the same on the demo workflow's real outputs (label pipeline).
set(BMC_ARTEFACT_DIR ${CMAKE_BINARY_DIR}/test-artifacts)
bmc_add_test(NAME aggregate.e2e LABEL e2e TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_aggregate.py
          $<TARGET_FILE:bmc-aggregate> --only fixture --artefacts ${BMC_ARTEFACT_DIR})
bmc_add_test(NAME aggregate.bad-input LABEL bad-input TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_aggregate.py
          $<TARGET_FILE:bmc-aggregate> --only bad --artefacts ${BMC_ARTEFACT_DIR})
bmc_add_test(NAME aggregate.demo LABEL e2e pipeline TIMEOUT 900
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_aggregate.py
          $<TARGET_FILE:bmc-aggregate> $<TARGET_FILE:bmc-workflow>
          ${CMAKE_SOURCE_DIR}/workflows/demo.yaml --only demo --artefacts ${BMC_ARTEFACT_DIR})
# Exit 77: the browser check was skipped because chromium is not installed.
set_tests_properties(aggregate.e2e aggregate.demo PROPERTIES SKIP_RETURN_CODE 77)
