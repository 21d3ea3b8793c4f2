/* bmc_stage.h — what every stage executable does at start and end.
 *
 * A stage is run as `bmc-<name> [subcommand] --config STAGE.yaml` (the workflow engine
 * writes that file; users may write it by hand). The file holds `inputs` and `outputs`
 * (name → path), `params` (the stage's own schema), and from the engine `stage`,
 * `instance`, `fingerprint` and `resources`. bmc_stage_begin initialises MPI and logging,
 * handles --help/--version, loads and checks the file on every rank (errors agreed), and
 * bmc_stage_provenance stamps outputs. Not here: any stage's parameters.
 */
#ifndef BMC_STAGE_H
#define BMC_STAGE_H

#include <mpi.h>
#include "bmc_config.h"
#include "bmc_error.h"
#include "bmc_fingerprint.h"
#include "bmc_h5io.h"

typedef struct bmc_stage {
    MPI_Comm comm;                 /* MPI_COMM_WORLD                                     */
    int rank, size;
    const char *program;           /* "bmc-synth stimuli"                                */
    const char *config_path;
    bmc_cfg_node *config;          /* the whole stage file (owned)                       */
    const bmc_cfg_node *inputs, *outputs, *params; /* maps (never NULL after begin)      */
    const char *fingerprint;       /* engine's fingerprint, NULL when run by hand        */
    char params_sha256[BMC_SHA256_HEX];
    double t_start;
} bmc_stage;

/* Collective over MPI_COMM_WORLD. argv holds the arguments after the program (and
 * subcommand) name. Prints `usage` for --help and the version for --version, then
 * finishes the program with status 0. A missing/bad --config, a YAML error or an unknown
 * top-level key ends every rank with an agreed error. */
void bmc_stage_begin(bmc_stage *s, int argc, char **argv, const char *program, const char *usage);

/* Path of a required input/output by name (error at the config's position when missing). */
const char *bmc_stage_input(const bmc_stage *s, const char *name, bmc_err *err);
const char *bmc_stage_output(const bmc_stage *s, const char *name, bmc_err *err);
/* An input given as one path or a list of paths: *paths (heap array of n pointers into the
 * config; caller frees the array only). Error when missing, empty or not paths. Local. */
int bmc_stage_input_list(const bmc_stage *s, const char *name, const char ***paths, size_t *n,
                         bmc_err *err);
/* Reject input/output names not in the lists (the stage's own schema). 0 or -1. */
int bmc_stage_check_names(const bmc_stage *s, const char *const *inputs, size_t n_inputs,
                          const char *const *outputs, size_t n_outputs, bmc_err *err);

/* Collective: write provenance attributes to f: created_by, the params' SHA-256, the
 * engine's fingerprint (as `stage_fingerprint`), and every input with its content SHA-256
 * (computed by rank 0). Returns an agreed status. */
int bmc_stage_provenance(bmc_stage *s, bmc_h5 *f, bmc_err *err);

/* Log the total wall time, free the config, finalize MPI. */
void bmc_stage_end(bmc_stage *s);

/* "bmc-synth 0.1.0 (abc123def456)" */
void bmc_stage_version_string(const char *program, char *buf, size_t n);

#endif
