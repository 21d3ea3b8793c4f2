# bmc-extract-clip through its command line: golden parity, rank count, kill and resume,
# bad inputs. The golden set lives in tests/data/clip-tiny.
set(BMC_CLIP_TINY "${BMC_TESTDATA_DIR}/clip-tiny")
bmc_add_test(NAME clip.extract.e2e LABEL e2e pipeline TIMEOUT 600
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_extract_clip.py
          $<TARGET_FILE:bmc-extract-clip> $<TARGET_FILE:bmc-synth> ${BMC_CLIP_TINY})
