# bmc-evaluate through its command line (check_evaluate.py writes small bmc.fmri / bmc.clip /
# bmc.stimuli files with h5py and trains real models with bmc-train): within- and
# cross-subject runs vs the NumPy/scikit-learn/scikit-image reference eval_reference.py,
# every rescale/gallery/SSIM mode, 1/2/3 ranks bit-identical, the montage; and the stage's
# bad inputs (exit 2, one message, no eval/json/png/predictions file, no .partial).
bmc_add_test(NAME evaluate.e2e LABEL e2e pipeline TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_evaluate.py
          $<TARGET_FILE:bmc-evaluate> $<TARGET_FILE:bmc-train> --only parity)
bmc_add_test(NAME evaluate.bad-input LABEL bad-input TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_evaluate.py
          $<TARGET_FILE:bmc-evaluate> $<TARGET_FILE:bmc-train> --only bad)
