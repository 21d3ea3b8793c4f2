/* fuzz_safetensors.c — libFuzzer target of the safetensors reader (common/clip/safetensors.c)
 * and the CLIP naming/shape inference on top of it (weights.c): any bytes as a .safetensors
 * file through st_open, every tensor converted with st_read_f32, then
 * clip_weights_infer_config. Header lengths, shapes and offsets are untrusted. Not here: the
 * forward pass.
 */
#include <stdlib.h>

#include "fuzz_file.h"
#include "safetensors.h"
#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bmc_err err = {0};
    st_file *st = st_open(fuzz_write_file(data, size, ".safetensors"), &err);
    if (!st) return 0;
    st_metadata(st, "format");
    for (size_t i = 0; i < st_count(st); i++) {
        const st_tensor *t = st_tensor_at(st, i);
        if (st_find(st, t->name) != t) abort();
        float *dst = malloc((t->numel ? t->numel : 1) * sizeof *dst);
        bmc_err e2 = {0};
        if (dst) st_read_f32(st, t, dst, t->numel, &e2);
        free(dst);
    }
    vit_config c;
    clip_naming naming;
    bmc_err e3 = {0};
    clip_weights_infer_config(st, &c, &naming, &e3);
    st_close(st);
    return 0;
}
