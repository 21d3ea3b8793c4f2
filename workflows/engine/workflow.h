/* workflow.h — the workflow engine's data model, shared by its parts.
 *
 * Planning creates nothing on disk (except the results folder's hash cache): workflow.c
 * parses and validates a workflow YAML and expands each stage into instances (foreach over
 * subjects or subject pairs, placeholders resolved); plan.c links instances into a DAG by
 * their input/output paths (compared as files, not strings), orders them and resolves
 * programs; paths.c refuses outputs that would destroy something; check.c runs every
 * instance's `--check` (the stage's own parameter validation, speed-only params, the files
 * it reads of its folder inputs); fingerprint.c hashes what each instance depends on;
 * decide.c says what is up to date and why not. Execution is separate: state.c (the run
 * directory's lock and per-instance records, in a form a batch job can write too) and
 * execute.c (local runs under mpiexec).
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
#define WF_EXIT_LOCKED 3 /* the run directory is in use, or holds a stale lock */

typedef enum { WF_FOREACH_NONE = 0, WF_FOREACH_SUBJECTS, WF_FOREACH_PAIRS } wf_foreach;

/* What the user asked on the command line (main.c fills it). */
typedef struct wf_options {
    const char *workflow_path;  /* the YAML file                                  */
    const char *run_name;       /* NULL → the workflow's name                    */
    const char *results_dir;    /* NULL → "results"                              */
    const char *launcher;       /* NULL → the workflow's, else the default       */
    const char **force;         /* stage or instance names to rerun, with everything downstream */
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
    char *canonical;             /* bmc_path_canonical(path), for comparisons      */
    int list_index;
    const bmc_cfg_node *node;    /* where it was written (for messages)           */
    size_t producer;             /* inputs: producing instance or WF_NONE         */
    char fingerprint[BMC_SHA256_HEX]; /* inputs: upstream fingerprint or content hash */
    /* inputs: the files of this folder the stage declared it reads (--check), relative */
    char **reads, **missing;
    size_t n_reads, n_missing;
    int declared;                /* the stage declared reads for this input        */
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
    char **speed_only;           /* params keys the stage declared speed-only (--check) */
    size_t n_speed_only;
    char fingerprint[BMC_SHA256_HEX];
    bmc_cfg_node *fp_tree;       /* what the fingerprint hashes (owned)             */
    bmc_cfg_node *input_files;   /* external folder inputs: {name: {rel: sha}} (owned) */
    int user_forced;             /* named by --force (as an instance)              */
    /* plan */
    wf_action action;
    int forced;                  /* 1 forced, 2 downstream of a forced instance   */
    char *reason;                /* "outputs missing: x", "up to date", ...        */
} wf_instance;

/* One distinct resolved run command and its `--version` output. */
typedef struct wf_version {
    char *command;               /* words joined by spaces, word 0 as absolute path */
    char *output;                /* stdout of `command --version`, trailing space trimmed */
    int checks;                  /* it speaks `--check` (a `stage-protocol: check` line) */
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
    char *hash_cache;            /* <results>/.bmc-hash-cache                      */
    double t_start;              /* bmc_now() when loading began                   */
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
    const wf_subject *each;      /* inside `{foreach: subjects, path: ...}`: {subject} */
    const wf_subject *subjects;  /* every subject: {subjects}, input lists over subjects */
    size_t n_subjects;
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

/* ---- plan.c (and proc.c for processes) ----------------------------------------------- */

/* Link inputs to producers (the same file under any spelling), reject missing inputs and
 * cycles, order the instances, resolve executables and the launcher, run each distinct
 * command's --version, refuse unsafe outputs (paths.c), run every instance's --check
 * (check.c) and compute every fingerprint (fingerprint.c). Creates nothing on disk but the
 * hash cache. Returns 0 or -1 with err set. */
int wf_plan(wf_workflow *wf, bmc_err *err);

/* Look an executable up: a name with a '/' is taken as a path; otherwise next to this
 * program (dirname of /proc/self/exe), then on PATH. Returns an absolute heap path or NULL. */
char *wf_find_executable(const char *name);

/* One child process whose stdout and stderr are captured (wf_capture_all). */
typedef struct wf_job {
    char *const *argv;           /* argv[0] absolute                               */
    char *out, *err;             /* captured (heap), trailing blanks trimmed       */
    int status;                  /* exit status; 128+signal; 124 timed out; 127 could not start */
} wf_job;

/* Run the jobs, at most max_parallel at a time, each for at most timeout_s seconds. */
void wf_capture_all(wf_job *jobs, size_t n, size_t max_parallel, double timeout_s);

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
 * else the first line of the sidecar `<path>.fingerprint`. Heap string or NULL. */
char *wf_stored_fingerprint(const char *path);

/* The launcher template's words with {tasks} and {cpus_per_task} replaced (heap words). */
char **wf_launcher_words(const wf_workflow *wf, long long tasks, long long cpus, size_t *n);
/* Ranks an instance of stage st runs on under the launcher: tasks when the launcher has
 * {tasks}, 1 without a launcher, 0 when unknown (a launcher that ignores tasks). */
long long wf_ranks(const wf_workflow *wf, const wf_stage *st);

/* A map name → path (fingerprints = 0) or name → input fingerprint (1); list inputs become
 * sequences. Path nodes carry the workflow positions they were written at. Caller frees
 * with bmc_cfg_free_node. */
bmc_cfg_node *wf_paths_tree(const wf_path *paths, size_t n, int fingerprints);

/* The stage config of an instance (docs/WORKFLOWS.md): stage, instance, fingerprint (when
 * known), inputs, outputs, params, resources, hash_cache. Nodes keep workflow positions. */
bmc_cfg_node *wf_stage_config(const wf_workflow *wf, const wf_instance *in, int with_fingerprint);

/* {tasks, cpus_per_task, mem_mb, runtime} of a stage. */
bmc_cfg_node *wf_resources_tree(const wf_stage *st);
/* A tree as YAML text (heap), after a `# comment` line when comment is not NULL. */
char *wf_emit_yaml(const bmc_cfg_node *tree, const char *comment, size_t *len);

/* ---- paths.c ------------------------------------------------------------------------- */

/* Refuse, at the workflow's positions: two outputs on one file or nested; an output that is
 * an external input, lies inside one or holds one; an output that is the workflow file, the
 * program, the run directory, its pipeline_info/ or logs/, or the hash cache; an existing
 * output (or NAME.partial) that brainmclip did not write. 0 or -1. */
int wf_check_paths(const wf_workflow *wf, bmc_err *err);

/* ---- check.c ------------------------------------------------------------------------- */

/* Run `PROGRAM ARGS --check --config TMP` for every instance whose program speaks it
 * (several at a time), with the stage config it will get; a failure is reported at the
 * workflow position of the key the stage names. Fills speed_only and each input's
 * declared reads. 0 or -1. */
int wf_check_stages(wf_workflow *wf, bmc_err *err);

/* ---- fingerprint.c ------------------------------------------------------------------- */

/* Hash every external input (declared files of folder inputs only), every program and
 * script named in `run`, and compute each instance's fingerprint tree and digest, in
 * topological order; speed-only params are left out. Saves the hash cache. 0 or -1. */
int wf_fingerprints(wf_workflow *wf, bmc_err *err);

/* Differences between a recorded fingerprint tree and the current one, as a short text
 * ("param cv: loo → gcv; input fmri (upstream fmri[1])"), or NULL when they are equal. */
char *wf_fingerprint_diff(const wf_instance *in, const bmc_cfg_node *old_tree,
                          const bmc_cfg_node *old_files);

/* ---- decide.c ------------------------------------------------------------------------ */

/* Decide run/skip for every instance from its outputs (existence and stored fingerprint)
 * and --force, with a reason that names what changed. Reads the outputs and the records. */
void wf_decide(wf_workflow *wf);

/* Print the plan (one line per instance, in execution order) to stdout. */
void wf_print_plan(const wf_workflow *wf);

/* ---- state.c: the run directory's lock and per-instance records ------------------------ */

typedef struct wf_lock {
    int fd;                      /* -1 when not held                               */
    char *path;
} wf_lock;

/* Take <run_dir>/pipeline_info/lock for the life of the run (flock, plus host, pid, start
 * time and command written in the file). Refuses when another process holds it, and when a
 * previous holder died without releasing it (naming `bmc-workflow unlock RUN_DIR`). Creates
 * the run directory. 0, or -1 with err set. */
int wf_lock_take(const char *run_dir, const char *command, wf_lock *lk, bmc_err *err);
void wf_lock_release(wf_lock *lk);
/* Before planning: the same refusals as wf_lock_take (in use, stale) without taking it or
 * creating anything. 0 when free, or -1 with err set. */
int wf_lock_probe(const char *run_dir, bmc_err *err);
/* `bmc-workflow unlock RUN_DIR`: clear a stale lock (refused while its holder runs) and mark
 * the instances its run left `running` as `interrupted`. 0, or -1 with err set. */
int wf_lock_clear(const char *run_dir, bmc_err *err);

/* The record <run_dir>/pipeline_info/instances/<file name>.json of one instance. */
typedef struct wf_record {
    const char *state;           /* "running", "completed", "failed", "interrupted" */
    const char *start, *end;     /* UTC ISO 8601, NULL while unknown               */
    double wall_s;               /* < 0 while unknown                              */
    int exit_code;               /* < 0 while unknown                              */
    long long ranks;             /* 0 unknown                                      */
    const char *log, *config;
    const char *error;           /* the stage's own `error:` line, or NULL         */
} wf_record;

/* Write the record atomically (with the instance's fingerprint and its tree). 0 or -1. */
int wf_record_write(const wf_workflow *wf, const wf_instance *in, const wf_record *r,
                    bmc_err *err);
/* The record of an instance as a tree (free with bmc_cfg_free), or NULL when there is none. */
bmc_cfg_node *wf_record_read(const wf_workflow *wf, const wf_instance *in);

/* ---- logtail.c ----------------------------------------------------------------------- */

/* The message of the last `error: ` line of a log (heap, NULL when there is none); hint gets
 * the `  hint: ` line that follows it ("" when none). */
char *wf_log_error(const char *log_path, char *hint, size_t hint_len);
/* Print the last lines of a log to stderr, indented, without the launcher's closing report. */
void wf_print_log_tail(const char *log_path);

/* ---- execute.c ----------------------------------------------------------------------- */

/* Run the plan: pipeline_info, one stage instance at a time under the launcher, records,
 * sidecar fingerprints, the execution trace. The caller holds the lock. Returns 0 on
 * success, 1 when a stage failed (its own error shown), 2 on a setup error. */
int wf_execute(wf_workflow *wf);

/* Shared with the Slurm mode (execute.c). */
/* A tree as YAML to path atomically, after a `# comment` line. 0 or -1. */
int wf_write_yaml(const char *path, const char *comment, const bmc_cfg_node *tree, bmc_err *err);
/* Create info_dir/stages_dir/logs_dir; write pipeline_info's workflow.yaml copy,
 * config_resolved.yaml and software_versions.yaml. 0 or -1. */
int wf_write_run_info(const wf_workflow *wf, const char *info_dir, const char *logs_dir,
                      const char *stages_dir, bmc_err *err);
/* Before a stage runs: create its output folders and mark its outputs' sidecars pending
 * (uses in->outputs only). 0 or -1. */
int wf_claim_outputs(const wf_instance *in, bmc_err *err);
/* After exit 0: every output exists (HDF5 ones carrying in->fingerprint); sidecars written
 * for the others. Uses in->name, in->fingerprint, in->outputs only. 0 or -1 with err set. */
int wf_finish_outputs(const wf_instance *in, bmc_err *err);
/* After a failure: pending sidecars for what the stage left, claims withdrawn elsewhere. */
void wf_stamp_failed(const wf_instance *in);

#endif
