# CLIP preprocessing (bit-exact Pillow bicubic, crop, normalise) and PNG/JPEG loading:
# golden clip-tiny vectors, the naive twin, Pillow itself (tests/unit/clip_preprocess_ref.py),
# decoding and refusal of unsupported or damaged files, folder listing.
# preprocess.c and image_io.c are the extraction stage's own (library bmc_stage_extract_clip).
bmc_add_test_exe(test_clip_preprocess ${CMAKE_CURRENT_LIST_DIR}/test_clip_preprocess.c)
target_link_libraries(test_clip_preprocess PRIVATE bmc_stage_extract_clip)
target_compile_definitions(test_clip_preprocess PRIVATE BMC_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
foreach(mode golden naive pillow io folder)
  bmc_add_test(NAME clip.preprocess.${mode} LABEL unit TARGET test_clip_preprocess ARGS ${mode})
endforeach()
