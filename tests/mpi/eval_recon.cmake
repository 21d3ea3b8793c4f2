# Retrieval-based reconstruction scores and montage (stages/evaluate/recon.c, library bmc_stage_evaluate):
# eval.recon runs test_eval_recon at 1, 2 and 3 ranks on inputs written by
# eval_recon_check.py (h5py), which then compares PixCorr/SSIM with torch + skimage, checks
# that the scores are bit-identical for every rank count and reads the montage PNGs with PIL.
# The C program itself checks agreed errors (ids out of range, bad /imgBrick), chunked rounds
# and that failed montages leave no file.
bmc_add_test_exe(test_eval_recon ${CMAKE_CURRENT_LIST_DIR}/test_eval_recon.c)
target_link_libraries(test_eval_recon PRIVATE bmc_stage_evaluate)
bmc_add_test(NAME eval.recon LABEL mpi TIMEOUT 300
  COMMAND ${BMC_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/eval_recon_check.py --np 1 2 3
          --mpiexec ${MPIEXEC_EXECUTABLE} --numproc-flag=${MPIEXEC_NUMPROC_FLAG}
          -- $<TARGET_FILE:test_eval_recon>)
set_tests_properties(eval.recon PROPERTIES PROCESSORS 3)
