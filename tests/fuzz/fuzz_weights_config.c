/* fuzz_weights_config.c — libFuzzer target of the weights' config.json reader
 * (common/clip/weights.c): any bytes through clip_config_read_json, then vit_config_derive on
 * what it accepted. Not here: the safetensors file (fuzz_safetensors.c).
 */
#include "fuzz_file.h"
#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vit_config c;
    bmc_err err = {0};
    if (!clip_config_read_json(fuzz_write_file(data, size, ".json"), &c, &err)) {
        char msg[256];
        if (c.quick_gelu < 0) c.quick_gelu = 1;
        if (!(c.layer_norm_eps > 0.0f)) c.layer_norm_eps = 1e-5f;
        vit_config_derive(&c, msg, sizeof msg);
    }
    return 0;
}
