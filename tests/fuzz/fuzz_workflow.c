/* fuzz_workflow.c — libFuzzer target of the workflow loader (workflows/engine/workflow.c):
 * any bytes as a workflow YAML through wf_load (validation, foreach expansion, placeholders,
 * duplicate outputs). wf_load creates nothing on disk and runs nothing. Not here: planning
 * and execution (they resolve and run executables).
 */
#include "fuzz_file.h"
#include "workflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wf_options opt = {.workflow_path = fuzz_write_file(data, size, ".yaml"),
                      .results_dir = "/nonexistent-fuzz-results", .dry_run = 1};
    bmc_err err = {0};
    wf_free(wf_load(&opt, &err));
    return 0;
}
