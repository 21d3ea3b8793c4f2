# Sizes read from files are user input (tests/bad-input/check_sizes.py): HDF5 datasets,
# NIfTI headers, .mat dimensions, PNG headers and safetensors shapes that claim absurd sizes
# give exit 2 and a message naming the file, with nothing allocated first and nothing written.
bmc_add_test(NAME bad-input.sizes LABEL bad-input TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_sizes.py
          $<TARGET_FILE:bmc-extract-fmri> $<TARGET_FILE:bmc-extract-clip> ${BMC_TESTDATA_DIR})
