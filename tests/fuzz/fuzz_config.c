/* fuzz_config.c — libFuzzer target of the YAML loader (common/bmc_config.c): any bytes
 * through bmc_cfg_load_string, then every consumer of a loaded tree (canonical text, block
 * emit, clone). Anchors, aliases, deep nesting and huge scalars must give an error or a tree,
 * never a crash, a leak or unbounded recursion. Not here: what keys mean (fuzz_workflow.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bmc_config.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_string(data, size);
    bmc_err err = {0};
    bmc_cfg_node *root = bmc_cfg_load_string(text, "fuzz.yaml", &err);
    if (root) {
        free(bmc_cfg_canonical(root));
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            bmc_cfg_emit(root, null);
            fclose(null);
        }
        bmc_cfg_node *copy = bmc_cfg_clone(root);
        bmc_cfg_free_node(copy);
        long long i;
        bmc_cfg_int(root, "version", 0, 0, 0, 100, &i, &err);
        bmc_cfg_free(root);
    }
    free(text);
    return 0;
}
