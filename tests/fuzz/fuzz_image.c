/* fuzz_image.c — libFuzzer target of the stimulus image loaders (stages/extract_clip/
 * image_io.c): any bytes through image_load_rgb (PNG via libpng, JPEG via libjpeg, chosen by
 * signature). Damaged files must give an error, never a crash or a huge allocation. Not here:
 * resizing (preprocess.c).
 */
#include <stdlib.h>

#include "fuzz_file.h"
#include "image_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *pixels = NULL;
    int w = 0, h = 0;
    bmc_err err = {0};
    if (!image_load_rgb(fuzz_write_file(data, size, ".img"), &pixels, &w, &h, &err)) {
        if (w < 1 || h < 1 || !pixels) abort();
        free(pixels);
    }
    return 0;
}
