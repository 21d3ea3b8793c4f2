/* extract.h — the plan and the main loop of bmc-extract-clip: which outputs, which layers,
 * which batches, and resuming an interrupted output file.
 * Not here: argument handling (main.c), image decoding (source.c), the model (vit.c).
 */
#ifndef BMC_CLIP_EXTRACT_H
#define BMC_CLIP_EXTRACT_H

#include "bmc_h5io.h"
#include "bmc_stage.h"
#include "source.h"
#include "vit.h"

/* Output kinds, in the order their datasets are written. */
enum { OUT_DETAIL, OUT_SEMANTIC, OUT_POOLED, OUT_TOKEN_EMBEDS, OUT_POOLER_OUTPUT, OUT_KINDS };

typedef struct extract_plan {
    const char *images, *weights, *out;  /* paths (point into the stage config)           */
    char *weights_config;                /* config.json to use, or NULL (heap)             */
    const char *dataset;                 /* HDF5 dataset of the images                     */
    const bmc_cfg_node *ids_node;        /* image_ids (NULL = all)                         */
    int want[OUT_KINDS];
    const bmc_cfg_node *hidden_node;     /* hidden_states list (checked against L later)  */
    const bmc_cfg_node *detail_node;     /* detail_layers [first, last] or NULL            */
    int *hidden_layers, n_hidden;        /* resolved by extract_resolve_outputs            */
    int detail_first, detail_last;
    bmc_dtype dtype;                     /* BMC_F32 or BMC_F16 on disk                     */
    int batch_size, threads;
} extract_plan;

/* Read and check the stage's inputs, outputs and params (local; the caller agrees). */
int extract_read_plan(const bmc_stage *s, extract_plan *p, bmc_err *err);
/* Check layer choices against the model's depth and fill the defaults. Local. */
int extract_resolve_outputs(extract_plan *p, const vit_config *c, bmc_err *err);
void extract_free_plan(extract_plan *p);

/* Collective: run the extraction into p->out (created, or resumed when its .partial carries
 * the same fingerprint), commit it, and return 0; -1 (agreed) with err on failure, in which
 * case no final file exists. */
int extract_run(bmc_stage *s, const extract_plan *p, const vit_model *m, clip_source *src,
                bmc_err *err);

#endif
