# bmc-synth brain end to end: a synthetic NSD tree from stimuli + CLIP features, on 1 and 2
# ranks, read back with nibabel / h5py / scipy.io; bad parameters leave no output.
bmc_add_test(NAME synth.brain LABEL e2e pipeline TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_synth_brain.py
          $<TARGET_FILE:bmc-synth> $<TARGET_FILE:bmc-extract-clip> ${MPIEXEC_EXECUTABLE})
