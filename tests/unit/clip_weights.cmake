# CLIP weights: safetensors reader/writer, the HF/OpenAI loader, and bmc-synth clip-weights.
# Reference values come from numpy (clip_weights_ref.py parses safetensors by hand); bad
# inputs are generated at test time by test_clip_weights_bad.c.
bmc_add_test_exe(test_clip_weights ${CMAKE_CURRENT_LIST_DIR}/test_clip_weights.c)
target_link_libraries(test_clip_weights PRIVATE bmc_clip bmc_stage_synth)
bmc_add_test_exe(test_clip_weights_bad ${CMAKE_CURRENT_LIST_DIR}/test_clip_weights_bad.c)
target_link_libraries(test_clip_weights_bad PRIVATE bmc_clip)

set(clip_ref ${CMAKE_CURRENT_LIST_DIR}/clip_weights_ref.py)
foreach(group golden convert writer)
  bmc_add_test(NAME clip.weights.${group} LABEL unit TARGET test_clip_weights ARGS ${group} ${clip_ref})
endforeach()
bmc_add_test(NAME clip.weights.bad LABEL unit TARGET test_clip_weights_bad)

# bmc-synth clip-weights through its entry point: 1 and 2 ranks give identical bytes.
set(clip_synth_dir ${CMAKE_CURRENT_BINARY_DIR}/clip_weights)
set(clip_synth_tiny "{image_size: 56, patch_size: 14, hidden_size: 64, num_layers: 4, num_heads: 4, projection_dim: 32, seed: 3}")
foreach(np 1 2)
  file(WRITE ${clip_synth_dir}/np${np}.yaml
    "outputs:\n  weights: \"${clip_synth_dir}/np${np}/model.safetensors\"\n"
    "  config: \"${clip_synth_dir}/np${np}/config.json\"\nparams: ${clip_synth_tiny}\n")
endforeach()
bmc_add_test(NAME clip.weights.synth.np1 LABEL mpi NP 1 TARGET test_clip_weights
  ARGS synth ${clip_synth_dir}/np1.yaml ${clip_synth_dir}/np1/model.safetensors
       ${clip_synth_dir}/np1/config.json F32)
bmc_add_test(NAME clip.weights.synth.np2 LABEL mpi NP 2 TARGET test_clip_weights
  ARGS synth ${clip_synth_dir}/np2.yaml ${clip_synth_dir}/np2/model.safetensors
       ${clip_synth_dir}/np2/config.json F32 ${clip_synth_dir}/np1/model.safetensors)
set_tests_properties(clip.weights.synth.np2 PROPERTIES DEPENDS clip.weights.synth.np1)
file(WRITE ${clip_synth_dir}/f16.yaml
  "outputs: {weights: \"${clip_synth_dir}/f16/w.safetensors\", config: \"${clip_synth_dir}/f16/config.json\"}\n"
  "params: {image_size: 32, patch_size: 8, hidden_size: 96, num_layers: 2, num_heads: 3, "
  "intermediate_size: 200, projection_dim: 24, seed: 5, dtype: float16}\n")
bmc_add_test(NAME clip.weights.synth.f16 LABEL mpi NP 1 TARGET test_clip_weights
  ARGS synth ${clip_synth_dir}/f16.yaml ${clip_synth_dir}/f16/w.safetensors ${clip_synth_dir}/f16/config.json F16)
file(WRITE ${clip_synth_dir}/bad.yaml
  "outputs: {weights: \"${clip_synth_dir}/bad/w.safetensors\", config: \"${clip_synth_dir}/bad/config.json\"}\n"
  "params: {image_size: 50, patch_size: 14}\n")
bmc_add_test(NAME clip.weights.synth.bad_params.np2 LABEL mpi
  COMMAND ${BMC_PYTHON3} ${CMAKE_SOURCE_DIR}/tests/mpi/check_exit_together.py
          --np 2 --status 2 --count 1 --expect "image_size 50 is not a multiple of patch_size 14"
          -- $<TARGET_FILE:test_clip_weights> synth ${clip_synth_dir}/bad.yaml x y F32)
