# bmc-extract-fmri through its command line, on a small NSD-format tree that the test writes
# itself (tests/e2e/nsd_tree.py): parity with an independent NumPy/nibabel/h5py reading
# (fmri_reference.py) in both z-scoring modes, bit-identical outputs on 1, 2 and 4 ranks,
# and every bad input of the stage's contract (exit 2, one message, no output).
bmc_add_test(NAME fmri.extract.e2e LABEL e2e TIMEOUT 600
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_extract_fmri.py
          $<TARGET_FILE:bmc-extract-fmri> --only parity)
bmc_add_test(NAME fmri.extract.bad-input LABEL bad-input TIMEOUT 600
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_extract_fmri.py
          $<TARGET_FILE:bmc-extract-fmri> --only bad)
