# bmc-train through its command line (check_train.py writes small bmc.fmri / bmc.clip files
# with h5py): decoders and encoding maps vs scikit-learn RidgeCV, NIfTI R² maps via nibabel,
# 1/2/4 ranks agree, token/group granularity, voxel weighting, a tiny memory budget; and every
# bad input of the stage's contract (exit 2, one message, no model file, no .partial).
bmc_add_test(NAME train.e2e LABEL e2e pipeline TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_train.py
          $<TARGET_FILE:bmc-train> --only parity)
bmc_add_test(NAME train.bad-input LABEL bad-input TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/check_train.py
          $<TARGET_FILE:bmc-train> --only bad)
