# The stages themselves, end to end, and the demo workflow through bmc-workflow.
bmc_add_test(NAME synth.stimuli.ranks LABEL e2e TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_stimuli_ranks.py $<TARGET_FILE:bmc-synth>)
bmc_add_test(NAME demo.workflow LABEL e2e pipeline TIMEOUT 900
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_demo.py
          $<TARGET_FILE:bmc-workflow> ${CMAKE_SOURCE_DIR}/workflows/demo.yaml)
