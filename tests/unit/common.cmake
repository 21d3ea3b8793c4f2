# Serial unit tests of the common library pieces the lead owns: fingerprints, logging; and of
# the ridge engine's serial parts: its one-process eigensolver, its penalty-grid reader.
bmc_add_test_exe(test_fingerprint ${CMAKE_CURRENT_LIST_DIR}/test_fingerprint.c)
bmc_add_test(NAME fingerprint LABEL unit TARGET test_fingerprint)
bmc_add_test_exe(test_log ${CMAKE_CURRENT_LIST_DIR}/test_log.c)
bmc_add_test(NAME log.progress LABEL unit TARGET test_log)
bmc_add_test_exe(test_ridge_eig ${CMAKE_CURRENT_LIST_DIR}/test_ridge_eig.c)
target_link_libraries(test_ridge_eig PRIVATE bmc_ridge)
# ridge_eig.h is the solver's private header: the test reaches it by its folder.
target_include_directories(test_ridge_eig PRIVATE ${CMAKE_SOURCE_DIR}/common/ridge)
bmc_add_test(NAME ridge.eig LABEL unit TARGET test_ridge_eig)
bmc_add_test_exe(test_ridge_alphas ${CMAKE_CURRENT_LIST_DIR}/test_ridge_alphas.c)
target_link_libraries(test_ridge_alphas PRIVATE bmc_ridge)
bmc_add_test(NAME ridge.alphas LABEL unit TARGET test_ridge_alphas)
