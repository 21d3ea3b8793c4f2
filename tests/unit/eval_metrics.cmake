# Evaluation metrics (common/metrics, library bmc_metrics): feature metrics, two-way, retrieval,
# resize, PixCorr and SSIM against NumPy / scikit-learn / scikit-image / torch
# (tests/unit/eval_metrics_ref.py) and against their defining properties.
bmc_add_test_exe(test_eval_metrics ${CMAKE_CURRENT_LIST_DIR}/test_eval_metrics.c)
target_link_libraries(test_eval_metrics PRIVATE bmc_metrics)
target_compile_definitions(test_eval_metrics PRIVATE BMC_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
foreach(mode features images sanity)
  bmc_add_test(NAME eval.metrics.${mode} LABEL unit TARGET test_eval_metrics ARGS ${mode})
endforeach()
