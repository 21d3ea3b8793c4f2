/* bmc_stage.h — what every stage executable does at start and end.
 *
 * A stage is run as `bmc-<name> [subcommand] --config STAGE.yaml` (the workflow engine
 * writes that file; users may write it by hand). The file holds `inputs` and `outputs`
 * (name → path), `params` (the stage's own schema), and from the engine `stage`,
 * `instance`, `fingerprint`, `resources` and `hash_cache`. bmc_stage_begin initialises MPI
 * and logging, handles --help/--version, loads and checks the file on every rank (errors
 * agreed), and refuses outputs that would destroy something: an output that is an input or
 * the stage file under another spelling, lies inside an input folder or holds another output,
 * or exists without brainmclip's stamp. bmc_stage_provenance stamps HDF5 outputs; the
 * `.fingerprint` sidecar stamps every other output; folder outputs are built beside their
 * target and swapped in.
 *
 * `--check` (no MPI): the stage reads its parameters exactly as for a run (the same code, so
 * the schema has one source of truth), then bmc_stage_checked prints a report on stdout and
 * exits 0: which params change only speed (bmc_param_key.speed_only) and which files of its
 * folder inputs it would read. Errors are the usual `error:` lines, exit 2.
 * Not here: any stage's parameters.
 */
#ifndef BMC_STAGE_H
#define BMC_STAGE_H

#include <mpi.h>
#include "bmc_config.h"
#include "bmc_error.h"
#include "bmc_fingerprint.h"
#include "bmc_h5io.h"

/* One key of a stage's params. speed_only: changing it changes how fast or in what memory
 * the stage runs, not what it computes (beyond rounding), so the engine leaves it out of the
 * fingerprint. */
typedef struct bmc_param_key {
    const char *name;
    int speed_only;
} bmc_param_key;

struct bmc_stage_report; /* what --check reports (bmc_stage.c) */

typedef struct bmc_stage {
    MPI_Comm comm;                 /* MPI_COMM_WORLD                                     */
    int rank, size;                /* --check: rank 0, size = resources.tasks            */
    const char *program;           /* "bmc-synth stimuli"                                */
    const char *config_path;
    bmc_cfg_node *config;          /* the whole stage file (owned)                       */
    const bmc_cfg_node *inputs, *outputs, *params; /* maps (never NULL after begin)      */
    const char *fingerprint;       /* engine's fingerprint, NULL when run by hand        */
    char params_sha256[BMC_SHA256_HEX];
    double t_start;
    int checking;                  /* --check: MPI is not initialised                    */
    struct bmc_stage_report *report; /* filled through const pointers too                */
} bmc_stage;

/* Collective over MPI_COMM_WORLD (local with --check). argv holds the arguments after the
 * program (and subcommand) name. Prints `usage` for --help and the version (plus the line
 * `stage-protocol: check`) for --version, then finishes the program with status 0, before
 * MPI starts. A missing/bad --config, a YAML error, an unknown top-level key or an unsafe
 * output ends every rank with an agreed error. */
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
/* Reject params keys not in keys[0..n) ("unknown key 'x' in <where>", nearest key as hint)
 * and remember which are speed-only for --check. Local. 0 or -1. */
int bmc_stage_check_params(const bmc_stage *s, const bmc_param_key *keys, size_t n,
                           const char *where, bmc_err *err);
/* Record that the stage reads `path`, a file inside the folder given as input `input`
 * (missing files are recorded as such). Local; used by --check. */
void bmc_stage_declare_read(const bmc_stage *s, const char *input, const char *path);
/* With --check: print the report (YAML: bmc-check, speed_only, reads, missing) and exit 0.
 * Otherwise nothing. Call it once the parameters are read, before any MPI call. */
void bmc_stage_checked(bmc_stage *s);

/* Collective: write provenance attributes to f: created_by, the params' SHA-256, the
 * engine's fingerprint (as `stage_fingerprint`), and every input with its content SHA-256
 * (computed by rank 0). Returns an agreed status. */
int bmc_stage_provenance(bmc_stage *s, bmc_h5 *f, bmc_err *err);

/* ---- folder outputs ------------------------------------------------------------------
 * Built in PATH.partial/ (which holds a `.bmc-partial` marker while it is being written),
 * then swapped in for PATH (bmc_swap_in) with its sidecar written: the old folder is
 * removed only once the new one is in place. */

/* Collective: rank 0 makes a fresh PATH.partial/ (removing a stale one only when it carries
 * the marker). *partial = heap path on every rank. Agreed status. */
int bmc_stage_folder_begin(bmc_stage *s, const char *path, char **partial, bmc_err *err);
/* Collective: swap partial in for path and write path's sidecar. Agreed status. */
int bmc_stage_folder_commit(bmc_stage *s, const char *path, const char *partial, bmc_err *err);
/* Rank 0 removes a partial folder (after an agreed error). */
void bmc_stage_folder_discard(const bmc_stage *s, const char *partial);

/* ---- ownership stamps (local; also used by the workflow engine) -------------------------- */

/* 1 when path may be replaced by a stage: it does not exist, or it is an HDF5 file with a
 * brainmclip `format` (bmc.*), or it has a PATH.fingerprint sidecar (for a folder: and every
 * entry inside is listed in it). Else 0 with the reason in why. */
int bmc_output_owned(const char *path, char *why, size_t why_len);
/* 1 when a leftover PATH.partial may be replaced: absent, an HDF5 file of brainmclip, or a
 * folder holding the `.bmc-partial` marker. Else 0 with the reason in why. */
int bmc_partial_owned(const char *path, char *why, size_t why_len);
/* Write PATH.fingerprint atomically: `fingerprint` (NULL → "none") on the first line, then
 * for a folder one `dir REL` / `file REL` line per entry (its manifest). 0 or -1. */
int bmc_sidecar_write(const char *path, const char *fingerprint, bmc_err *err);
/* Before an output is replaced: an existing sidecar's fingerprint becomes "pending" (the
 * stamp and manifest stay), so an interrupted replacement is never taken as up to date.
 * No sidecar: nothing to do. 0 or -1. */
int bmc_sidecar_mark_pending(const char *path, bmc_err *err);
/* First line of PATH.fingerprint (heap), or NULL when there is none. */
char *bmc_sidecar_fingerprint(const char *path);

/* Write the sidecars of the non-HDF5 outputs, save the hash cache, log the total wall time,
 * free the config, finalize MPI. */
void bmc_stage_end(bmc_stage *s);

/* "bmc-synth 0.1.0 (abc123def456)" */
void bmc_stage_version_string(const char *program, char *buf, size_t n);

#endif
