# CLIP preprocessing (bit-exact Pillow bicubic, crop, normalise) and PNG/JPEG loading:
# golden clip-tiny vectors, the naive twin, Pillow itself (tests/unit/clip_preprocess_ref.py),
# decoding and refusal of unsupported or damaged files, folder listing.
# The test compiles preprocess.c and image_io.c itself, so it does not depend on the rest of
# bmc_clip being buildable.
set(BMC_CLIP_DIR ${CMAKE_SOURCE_DIR}/stages/extract_clip)
bmc_add_test_exe(test_clip_preprocess ${CMAKE_CURRENT_LIST_DIR}/test_clip_preprocess.c
                 ${BMC_CLIP_DIR}/preprocess.c ${BMC_CLIP_DIR}/image_io.c)
target_include_directories(test_clip_preprocess PRIVATE ${BMC_CLIP_DIR})
target_link_libraries(test_clip_preprocess PRIVATE PkgConfig::PNG PkgConfig::JPEG)
target_compile_definitions(test_clip_preprocess PRIVATE BMC_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
foreach(mode golden naive pillow io folder)
  bmc_add_test(NAME clip.preprocess.${mode} LABEL unit TARGET test_clip_preprocess ARGS ${mode})
endforeach()
