# The CLIP ViT forward pass (common/clip/vit.c) against the clip-tiny golden set,
# its naive twins, a random model of another shape, and PyTorch when python3 has torch.
bmc_add_test_exe(test_clip_vit ${CMAKE_CURRENT_LIST_DIR}/test_clip_vit.c)
target_link_libraries(test_clip_vit PRIVATE bmc_clip)
foreach(case golden naive request kernels random torch)
  bmc_add_test(NAME clip.vit.${case} LABEL unit TARGET test_clip_vit ARGS ${case})
endforeach()
