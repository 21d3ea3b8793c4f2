/* workflow.h — the workflow engine's data model, shared by its four parts.
 *
 * workflow.c parses and validates a workflow YAML and expands each stage into instances
 * (foreach over subjects or subject pairs, placeholders resolved); plan.c links instances
 * into a DAG by their input/output paths, orders them, resolves executables, computes
 * fingerprints and decides what is up to date; execute.c runs the plan locally and writes
 * pipeline_info. Everything before execute.c creates nothing on disk.
 * Not here: Slurm submission (a later mode of the engine), the stages' own parameter schemas.
 */
#ifndef BMC_WORKFLOW_H
#define BMC_WORKFLOW_H

#include <stddef.h>

#include "bmc_config.h"
#include "bmc_error.h"
#include "bmc_fingerprint.h"

#define WF_NONE ((size_t)-1)
#define WF_DEFAULT_LAUNCHER "mpiexec -n {tasks}"

typedef enum { WF_FOREACH_NONE = 0, WF_FOREACH_SUBJECTS, WF_FOREACH_PAIRS } wf_foreach;

/* What the user asked on the command line (main.c fills it). */
typedef struct wf_options {
    const char *workflow_path;  /* the YAML file                                  */
    const char *run_name;       /* NULL → the workflow's name                    */
    const char *results_dir;    /* NULL → "results"                              */
    const char *launcher;       /* NULL → the workflow's, else the default       */
    const char **force;         /* stage names to rerun with everything downstream */
    size_t n_force;
    int dry_run;
} wf_options;

typedef struct wf_subject {
    char *text;       /* as it appears in instance names: "1", "sub-A"  */
    int is_int;
    long long value;  /* when is_int                                     */
} wf_subject;

typedef struct wf_stage {
    char *name;
    const bmc_cfg_node *node;    /* the stage's mapping                          */
    int key_line, key_col;       /* position of its name under `stages:`          */
    const bmc_cfg_node *run;     /* the `run` scalar                              */
    wf_foreach foreach;
    const bmc_cfg_node *inputs, *outputs, *params; /* may be NULL (outputs never) */
    long long tasks, cpus_per_task, mem_mb, runtime;
    size_t first_instance, n_instances;
    int forced;                  /* named by --force                              */
} wf_stage;

/* One resolved input or output path. Inputs given as a list have one entry per item, all with
 * the same name and list_index 0, 1, ...; a single path has list_index -1. */
typedef struct wf_path {
    char *name;
    char *path;                  /* placeholders resolved, normalised             */
    int list_index;
    const bmc_cfg_node *node;    /* where it was written (for messages)           */
    size_t producer;             /* inputs: producing instance or WF_NONE         */
    char fingerprint[BMC_SHA256_HEX]; /* inputs: upstream fingerprint or content hash */
} wf_path;

typedef enum { WF_ACT_RUN = 0, WF_ACT_SKIP } wf_action;

typedef struct wf_instance {
    size_t stage;                /* index into wf->stages                         */
    char *name;                  /* "fmri", "fmri[1]", "eval[1,2]"                */
    char *file_name;             /* "fmri", "fmri-1", "eval-1-2" (logs, configs)  */
    char **run_words;            /* resolved `run`; word 0 as written              */
    size_t n_run_words;
    char *exe;                   /* absolute path of word 0                       */
    size_t version;              /* index into wf->versions                       */
    wf_path *inputs;
    size_t n_inputs;
    wf_path *outputs;
    size_t n_outputs;
    bmc_cfg_node *params;        /* resolved copy (a map, possibly empty); owned   */
    char fingerprint[BMC_SHA256_HEX];
    /* plan */
    wf_action action;
    int forced;                  /* 1 forced, 2 downstream of a forced instance   */
    char *reason;                /* "outputs missing: x", "up to date", ...        */
} wf_instance;

/* One distinct resolved run command and its `--version` output. */
typedef struct wf_version {
    char *command;               /* words joined by spaces, word 0 as absolute path */
    char *output;                /* stdout of `command --version`, trailing space trimmed */
} wf_version;

typedef struct wf_workflow {
    bmc_cfg_node *root;
    const char *path;            /* the YAML file, as given                        */
    char *name;
    wf_subject *subjects;
    size_t n_subjects;
    const bmc_cfg_node *stages_node;
    wf_stage *stages;
    size_t n_stages;
    wf_instance *inst;
    size_t n_inst;
    size_t *order;               /* topological order: indices into inst           */
    wf_version *versions;
    size_t n_versions;
    char *results_dir, *run_name, *run_dir;
    char *launcher;              /* template, e.g. "mpiexec -n {tasks}" ("" = none) */
    const bmc_cfg_node *launcher_node; /* NULL when from the CLI or the default     */
    char *launcher_exe;          /* absolute path of the launcher's first word, or NULL */
} wf_workflow;

/* ---- workflow.c ---------------------------------------------------------------------- */

/* Load and validate the YAML and the options, then expand every stage into instances with
 * resolved run words, paths and params. Creates nothing on disk. Returns NULL with err set
 * ("file:line:col: what" + hint) on any problem. */
wf_workflow *wf_load(const wf_options *opt, bmc_err *err);
void wf_free(wf_workflow *wf);

/* Normalise a path in place: collapse "//", drop "." components and a trailing "/".
 * ".." is kept (no file-system access). "" stays "". */
void wf_normalise_path(char *path);

/* ---- placeholders (subst.c) -------------------------------------------------------- */

/* Values of the placeholders for one instance. */
typedef struct wf_vars {
    const char *run_dir, *workflow;
    wf_foreach foreach;
    const wf_subject *subject;   /* foreach subjects                               */
    const wf_subject *train, *test; /* foreach subject_pairs                       */
    const char *stage_name;      /* for hints                                      */
} wf_vars;

/* Expand `{name}` / `{name:spec}` placeholders in text; `{{` and `}}` are literal braces.
 * Errors are reported at `pos` ("file:l:c: unknown placeholder '{x}' in <where>").
 * Returns a heap string, or NULL with err set. */
char *wf_subst(const char *text, const wf_vars *vars, const bmc_cfg_node *pos, const char *where,
               bmc_err *err);

/* Split on blanks into a heap array of heap words; *n = count. */
char **wf_split_words(const char *text, size_t *n);
void wf_free_words(char **words, size_t n);
/* Words joined by single spaces (heap). */
char *wf_join_words(char *const *words, size_t n);

/* ---- plan.c (and proc.c for processes) -------------------------------------------------------------------------- */

/* Link inputs to producers, reject missing inputs and cycles, order the instances, resolve
 * executables and the launcher, run each distinct command's --version, hash external inputs
 * and compute every instance's fingerprint, then decide run/skip with a reason. Creates
 * nothing on disk. Returns 0 or -1 with err set. */
int wf_plan(wf_workflow *wf, bmc_err *err);

/* Look an executable up: a name with a '/' is taken as a path; otherwise next to this
 * program (dirname of /proc/self/exe), then on PATH. Returns an absolute heap path or NULL. */
char *wf_find_executable(const char *name);

/* Run argv (argv[0] absolute) with stdout captured (stderr discarded), for at most
 * timeout_s seconds. Returns the exit status (128+signal when killed, 127 when it could not
 * start) and the heap output in *out (may be NULL when not wanted). */
int wf_capture(char *const *argv, double timeout_s, char **out);

/* Run argv (argv[0] absolute) with the "KEY=VALUE" strings of env_set (NULL-terminated) added
 * to the environment and stdout+stderr written to log_path (truncated). SIGINT/SIGTERM
 * received meanwhile are forwarded to the child; *interrupted = that signal, else 0.
 * Returns the exit status (128+signal when killed, 127 when it could not start). */
int wf_run_logged(char *const *argv, char *const *env_set, const char *log_path,
                  int *interrupted);

/* Fingerprint stored with an output: the root attribute `stage_fingerprint` of an HDF5 file,
 * else the sidecar `<path>.fingerprint`. Heap string or NULL when there is none. */
char *wf_stored_fingerprint(const char *path);

/* The launcher template's words with {tasks} and {cpus_per_task} replaced (heap words). */
char **wf_launcher_words(const wf_workflow *wf, long long tasks, long long cpus, size_t *n);

/* A map name → path (fingerprints = 0) or name → input fingerprint (1); list inputs become
 * sequences. Caller frees with bmc_cfg_free_node. */
bmc_cfg_node *wf_paths_tree(const wf_path *paths, size_t n, int fingerprints);

/* Print the plan (one line per instance, in execution order) to stdout. */
void wf_print_plan(const wf_workflow *wf);

/* ---- execute.c ----------------------------------------------------------------------- */

/* Run the plan: pipeline_info, one stage instance at a time under the launcher, sidecar
 * fingerprints, the execution trace. Returns 0 on success, 1 when a stage failed (message
 * printed), 2 on a setup error (message printed). */
int wf_execute(wf_workflow *wf);

#endif
