/* weights.h — CLIP ViT image-tower weights: safetensors (Hugging Face or OpenAI names) and
 * config.json into a vit_model, and the reverse (a vit_model written with HF names).
 *
 * Hugging Face: vision_model.* + visual_projection.weight (CLIPVisionModelWithProjection or a
 * full CLIPModel). OpenAI: visual.* (a full CLIP state dict is fine). Tensors the image tower
 * does not use (text tower, logit_scale, position_ids) are ignored. Any float dtype loads.
 * Not here: the safetensors format itself (safetensors.h), the forward pass (vit.h).
 */
#ifndef BMC_CLIP_WEIGHTS_H
#define BMC_CLIP_WEIGHTS_H

#include "bmc_error.h"
#include "safetensors.h"
#include "vit.h"

typedef enum clip_naming { CLIP_NAMES_HF, CLIP_NAMES_OPENAI } clip_naming;

/* Load a CLIP image tower into m (allocated here; free with vit_model_free).
 * Hyperparameters come from config_json_path when given (HF CLIPVisionConfig fields, or a full
 * CLIPConfig with a `vision_config` object; fields it lacks are taken from the tensor shapes),
 * else from the shapes alone; the head count, which no shape reveals, then follows CLIP's rule
 * heads = W / 64 (with a warning; an error when that does not divide W). Every tensor is checked against the final hyperparameters:
 * a missing one fails with its full name, a mis-shaped one with its name and the expected and
 * found shapes. Logs the hyperparameters. Returns 0, or -1 with m untouched. Local (no MPI). */
int clip_weights_load(vit_model *m, const char *safetensors_path, const char *config_json_path,
                      bmc_err *err);

/* `config.json` in the folder of weights_path when it exists (heap string), else NULL. */
char *clip_weights_find_config(const char *weights_path);

/* The naming of an open file and the hyperparameters its tensor shapes imply (heads by the
 * W / 64 rule, or 0 when that does not divide W; layer_norm_eps 1e-5, quick_gelu). grid and
 * tokens are derived, head_dim too when heads > 0. 0 or -1 (missing/ill-shaped tensor). */
int clip_weights_infer_config(const st_file *st, vit_config *c, clip_naming *naming, bmc_err *err);

/* Read a config.json. Fields it lacks stay 0 (sizes, layer_norm_eps) or -1 (quick_gelu);
 * c is not derived. A present field of the wrong type or range is an error naming the key. */
int clip_config_read_json(const char *path, vit_config *c, bmc_err *err);

/* Write m's weights with Hugging Face CLIPVisionModelWithProjection names as F32 or F16
 * (atomically), with `format: pt` plus the given metadata pairs. 0 or -1. */
int clip_weights_save_hf(const vit_model *m, const char *path, st_dtype dtype,
                         const char *const (*meta)[2], size_t n_meta, bmc_err *err);

/* Write c as a Hugging Face CLIPVisionConfig config.json (atomically); torch_dtype is
 * "float32" or "float16". 0 or -1. */
int clip_config_write_json(const vit_config *c, const char *path, const char *torch_dtype, bmc_err *err);

#endif
