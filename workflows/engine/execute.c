/* execute.c — run a plan locally, one stage instance at a time, and record it.
 *
 * For each instance in order: skip it when up to date, else write its stage config, create
 * its output folders, run `<launcher> <exe> <args> --config <stage config>` with the output
 * to its log, check its outputs and write sidecar fingerprints for non-HDF5 outputs. The
 * first failure stops the run. pipeline_info/ gets a copy of the workflow, the resolved
 * config, the software versions and an execution trace (rows flushed as instances end).
 * Not here: deciding what runs (plan.c), Slurm.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_h5io.h"
#include "bmc_log.h"
#include "bmc_version.h"
#include "workflow.h"

#define LOG_TAIL_LINES 10

/* Emit a tree as YAML to path atomically, after a comment line. Returns 0 or -1. */
static int write_yaml(const char *path, const char *comment, const bmc_cfg_node *tree,
                      bmc_err *err) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) return bmc_err_set(err, NULL, "%s: cannot allocate a buffer", path);
    fprintf(mem, "# %s\n", comment);
    int rc = bmc_cfg_emit(tree, mem);
    fclose(mem);
    if (rc != 0) {
        free(buf);
        return bmc_err_set(err, NULL, "%s: could not emit YAML", path);
    }
    rc = bmc_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

static bmc_cfg_node *resources_tree(const wf_stage *st) {
    bmc_cfg_node *r = bmc_cfg_new_map();
    bmc_cfg_map_set(r, "tasks", bmc_cfg_new_int(st->tasks));
    bmc_cfg_map_set(r, "cpus_per_task", bmc_cfg_new_int(st->cpus_per_task));
    bmc_cfg_map_set(r, "mem_mb", bmc_cfg_new_int(st->mem_mb));
    bmc_cfg_map_set(r, "runtime", bmc_cfg_new_int(st->runtime));
    return r;
}

/* The stage config handed to the stage with --config (exactly these keys). */
static bmc_cfg_node *stage_config(const wf_workflow *wf, const wf_instance *in) {
    bmc_cfg_node *t = bmc_cfg_new_map();
    bmc_cfg_map_set(t, "stage", bmc_cfg_new_string(wf->stages[in->stage].name));
    bmc_cfg_map_set(t, "instance", bmc_cfg_new_string(in->name));
    bmc_cfg_map_set(t, "fingerprint", bmc_cfg_new_string(in->fingerprint));
    bmc_cfg_map_set(t, "inputs", wf_paths_tree(in->inputs, in->n_inputs, 0));
    bmc_cfg_map_set(t, "outputs", wf_paths_tree(in->outputs, in->n_outputs, 0));
    bmc_cfg_map_set(t, "params", bmc_cfg_clone(in->params));
    bmc_cfg_map_set(t, "resources", resources_tree(&wf->stages[in->stage]));
    return t;
}

static int write_config_resolved(const wf_workflow *wf, const char *path, bmc_err *err) {
    bmc_cfg_node *t = bmc_cfg_new_map();
    bmc_cfg_map_set(t, "workflow", bmc_cfg_new_string(wf->name));
    bmc_cfg_map_set(t, "workflow_file", bmc_cfg_new_string(wf->path));
    bmc_cfg_map_set(t, "run", bmc_cfg_new_string(wf->run_name));
    bmc_cfg_map_set(t, "run_dir", bmc_cfg_new_string(wf->run_dir));
    bmc_cfg_map_set(t, "launcher", bmc_cfg_new_string(wf->launcher));
    bmc_cfg_node *list = bmc_cfg_new_seq();
    for (size_t o = 0; o < wf->n_inst; o++) {
        const wf_instance *in = &wf->inst[wf->order[o]];
        bmc_cfg_node *i = bmc_cfg_new_map();
        bmc_cfg_map_set(i, "instance", bmc_cfg_new_string(in->name));
        bmc_cfg_map_set(i, "stage", bmc_cfg_new_string(wf->stages[in->stage].name));
        bmc_cfg_node *run = bmc_cfg_new_seq();
        for (size_t w = 0; w < in->n_run_words; w++)
            bmc_cfg_seq_push(run, bmc_cfg_new_string(in->run_words[w]));
        bmc_cfg_map_set(i, "run", run);
        bmc_cfg_map_set(i, "executable", bmc_cfg_new_string(in->exe));
        bmc_cfg_map_set(i, "inputs", wf_paths_tree(in->inputs, in->n_inputs, 0));
        bmc_cfg_map_set(i, "outputs", wf_paths_tree(in->outputs, in->n_outputs, 0));
        bmc_cfg_map_set(i, "params", bmc_cfg_clone(in->params));
        bmc_cfg_map_set(i, "resources", resources_tree(&wf->stages[in->stage]));
        bmc_cfg_map_set(i, "fingerprint", bmc_cfg_new_string(in->fingerprint));
        bmc_cfg_map_set(i, "action", bmc_cfg_new_string(in->action == WF_ACT_RUN ? "run" : "skip"));
        bmc_cfg_map_set(i, "reason", bmc_cfg_new_string(in->reason));
        bmc_cfg_seq_push(list, i);
    }
    bmc_cfg_map_set(t, "instances", list);
    int rc = write_yaml(path, "every stage instance of this run, resolved (bmc-workflow)", t, err);
    bmc_cfg_free_node(t);
    return rc;
}

/* First line of a text (heap copy). */
static char *first_line(const char *text) {
    size_t n = strcspn(text, "\r\n");
    char *s = xmalloc(n + 1);
    memcpy(s, text, n);
    s[n] = '\0';
    return s;
}

static int write_software_versions(const wf_workflow *wf, const char *path, bmc_err *err) {
    bmc_cfg_node *t = bmc_cfg_new_map(), *me = bmc_cfg_new_map(), *exes = bmc_cfg_new_map();
    bmc_cfg_map_set(me, "version", bmc_cfg_new_string(bmc_version()));
    bmc_cfg_map_set(me, "commit", bmc_cfg_new_string(bmc_git_commit()));
    bmc_cfg_map_set(t, "bmc-workflow", me);
    for (size_t v = 0; v < wf->n_versions; v++) {
        char *line = first_line(wf->versions[v].output);
        bmc_cfg_map_set(exes, wf->versions[v].command, bmc_cfg_new_string(line));
        free(line);
    }
    bmc_cfg_map_set(t, "executables", exes);
    char *launcher = NULL;
    if (wf->launcher_exe) {
        char *argv[] = {wf->launcher_exe, "--version", NULL}, *out = NULL;
        int rc = wf_capture(argv, 30.0, &out);
        launcher = rc == 0 ? first_line(out) : bmc_xasprintf("unknown (exit code %d)", rc);
        free(out);
    } else {
        launcher = xstrdup("none");
    }
    bmc_cfg_map_set(t, "launcher", bmc_cfg_new_string(launcher));
    free(launcher);
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    char h5[64];
    snprintf(h5, sizeof h5, "%u.%u.%u", maj, min, rel);
    bmc_cfg_map_set(t, "hdf5", bmc_cfg_new_string(h5));
    int rc = write_yaml(path, "software used by this run (bmc-workflow)", t, err);
    bmc_cfg_free_node(t);
    return rc;
}

/* ---- execution trace ------------------------------------------------------------------ */

typedef struct trace {
    FILE *f;
    char *partial, *final;
} trace;

static int trace_open(trace *tr, const char *info_dir, bmc_err *err) {
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int k = 0;; k++) {
        char name[64];
        if (k == 0)
            snprintf(name, sizeof name, "execution_trace_%s.tsv", stamp);
        else
            snprintf(name, sizeof name, "execution_trace_%s_%d.tsv", stamp, k);
        tr->final = bmc_path_join(info_dir, name);
        tr->partial = bmc_xasprintf("%s.partial", tr->final);
        if (!bmc_path_exists(tr->final) && !bmc_path_exists(tr->partial)) break;
        free(tr->final);
        free(tr->partial);
    }
    tr->f = fopen(tr->partial, "w");
    if (!tr->f)
        return bmc_err_set(err, "check that the results folder is writable",
                           "cannot create %s: %s", tr->partial, strerror(errno));
    fprintf(tr->f, "instance\tstatus\texit_code\tstart\tend\twall_s\tranks\tcpus_per_task\t"
                   "fingerprint\tlog\n");
    fflush(tr->f);
    fsync(fileno(tr->f));
    return 0;
}

static void trace_row(trace *tr, const wf_workflow *wf, const wf_instance *in,
                      const char *status, int exit_code, const char *start, const char *end,
                      double wall_s, const char *log) {
    const wf_stage *st = &wf->stages[in->stage];
    char code[16];
    if (exit_code < 0)
        snprintf(code, sizeof code, "-");
    else
        snprintf(code, sizeof code, "%d", exit_code);
    fprintf(tr->f, "%s\t%s\t%s\t%s\t%s\t%.3f\t%lld\t%lld\t%s\t%s\n", in->name, status, code, start,
            end, wall_s, st->tasks, st->cpus_per_task, in->fingerprint, log);
    fflush(tr->f);
    fsync(fileno(tr->f));
}

static void trace_close(trace *tr) {
    if (tr->f) {
        fclose(tr->f);
        bmc_err ignored = {0};
        if (bmc_rename_durable(tr->partial, tr->final, &ignored) == 0)
            bmc_log_info("execution trace: %s", tr->final);
    }
    free(tr->partial);
    free(tr->final);
}

/* ---- one instance ---------------------------------------------------------------------- */

/* 1 when a log line belongs to Open MPI's own report about a failed job. */
static int is_dash_line(const char *line) {
    size_t n = strspn(line, "-");
    return n >= 20 && line[n] == '\0';
}

static int is_launcher_noise(const char *line) {
    return !strncmp(line, "Primary job ", 12) || !strncmp(line, "a non-zero exit code. Per", 25) ||
           line[0] == '\0';
}

/* Print the last lines of a log to stderr, indented, leaving out the launcher's trailing
 * report blocks (between dashed lines) so that the stage's own last words show. */
static void print_log_tail(const char *log_path) {
    bmc_err ignored = {0};
    char *text = bmc_read_file(log_path, NULL, &ignored);
    if (!text) return;
    size_t n = 0, cap = 64;
    char **lines = XNEW(lines, cap);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (n == cap) cap *= 2, lines = xrealloc(lines, bmc_mul_size(cap, sizeof *lines));
        lines[n++] = line;
        line = nl ? nl + 1 : NULL;
    }
    size_t end = n;
    int omitted = 0;
    while (end > 0) {
        if (is_launcher_noise(lines[end - 1])) {
            end--, omitted |= lines[end][0] != '\0';
            continue;
        }
        if (!is_dash_line(lines[end - 1])) break;
        size_t k = end - 1;
        while (k > 0 && !is_dash_line(lines[k - 1])) k--;
        if (k == 0) break;
        end = k - 1;
        omitted = 1;
    }
    if (end == 0) end = n, omitted = 0; /* nothing but launcher messages: show those */
    size_t start = end > LOG_TAIL_LINES ? end - LOG_TAIL_LINES : 0;
    if (end > start)
        fprintf(stderr, "  last lines of the log%s:\n", omitted ? " (launcher messages left out)" : "");
    for (size_t k = start; k < end; k++) fprintf(stderr, "    %s\n", lines[k]);
    free(lines);
    free(text);
}

/* Prepare folders and the stage config, then run the instance. Returns the exit code (or
 * -1 for a setup error in err) and sets *interrupted. */
static int launch(const wf_workflow *wf, const wf_instance *in, const char *config_path,
                  const char *log_path, int *interrupted, bmc_err *err) {
    const wf_stage *st = &wf->stages[in->stage];
    for (size_t o = 0; o < in->n_outputs; o++) {
        char *dir = bmc_dirname(in->outputs[o].path);
        int rc = bmc_mkdir_p(dir, err);
        free(dir);
        if (rc) return -1;
        char *side = bmc_xasprintf("%s.fingerprint", in->outputs[o].path);
        if (unlink(side) != 0 && errno != ENOENT) {
            bmc_err_set(err, "check the folder's permissions", "cannot remove stale %s: %s", side,
                        strerror(errno));
            free(side);
            return -1;
        }
        free(side);
    }
    bmc_cfg_node *cfg = stage_config(wf, in);
    int rc = write_yaml(config_path, "stage config written by bmc-workflow", cfg, err);
    bmc_cfg_free_node(cfg);
    if (rc) return -1;
    size_t n_launch;
    char **launch_words = wf_launcher_words(wf, st->tasks, st->cpus_per_task, &n_launch);
    char **argv = XNEW(argv, n_launch + in->n_run_words + 3);
    size_t a = 0;
    for (size_t w = 0; w < n_launch; w++) argv[a++] = w == 0 ? wf->launcher_exe : launch_words[w];
    argv[a++] = in->exe;
    for (size_t w = 1; w < in->n_run_words; w++) argv[a++] = in->run_words[w];
    argv[a++] = "--config";
    argv[a++] = (char *)config_path;
    argv[a] = NULL;
    char *env[3];
    env[0] = bmc_xasprintf("OPENBLAS_NUM_THREADS=%lld", st->cpus_per_task);
    env[1] = bmc_xasprintf("OMP_NUM_THREADS=%lld", st->cpus_per_task);
    env[2] = NULL;
    char *command = wf_join_words(argv, a);
    bmc_log_debug("%s: %s", in->name, command);
    free(command);
    rc = wf_run_logged(argv, env, log_path, interrupted);
    free(env[0]);
    free(env[1]);
    free(argv);
    wf_free_words(launch_words, n_launch);
    return rc;
}

/* After a successful exit: every output must exist (HDF5 ones with the fingerprint); then
 * sidecars are written for the others. Returns 0 or -1 with err set. */
static int finish_outputs(const wf_instance *in, bmc_err *err) {
    for (size_t o = 0; o < in->n_outputs; o++) {
        const wf_path *p = &in->outputs[o];
        if (!bmc_path_exists(p->path))
            return bmc_err_set(err, "the stage's log may say why; fix the stage or the path",
                               "stage '%s' did not write output '%s' (%s)", in->name, p->name,
                               p->path);
        if (bmc_h5_is_hdf5(p->path)) {
            char *fp = wf_stored_fingerprint(p->path);
            int ok = fp && !strcmp(fp, in->fingerprint);
            free(fp);
            if (!ok)
                return bmc_err_set(err,
                                   "an HDF5 output must carry the stage config's fingerprint as "
                                   "root attribute 'stage_fingerprint'",
                                   "stage '%s' did not write output '%s' (%s) for this "
                                   "fingerprint",
                                   in->name, p->name, p->path);
        }
    }
    for (size_t o = 0; o < in->n_outputs; o++) {
        const wf_path *p = &in->outputs[o];
        if (bmc_h5_is_hdf5(p->path)) continue;
        char *side = bmc_xasprintf("%s.fingerprint", p->path);
        char *text = bmc_xasprintf("%s\n", in->fingerprint);
        int rc = bmc_write_file_atomic(side, text, strlen(text), err);
        free(side);
        free(text);
        if (rc) return -1;
    }
    return 0;
}

/* ---- the run ----------------------------------------------------------------------------- */

static int setup(const wf_workflow *wf, const char *info_dir, const char *logs_dir,
                 const char *stages_dir, bmc_err *err) {
    if (bmc_mkdir_p(stages_dir, err) || bmc_mkdir_p(logs_dir, err)) return -1;
    size_t len = 0;
    char *text = bmc_read_file(wf->path, &len, err);
    if (!text) return -1;
    char *copy = bmc_path_join(info_dir, "workflow.yaml");
    int rc = bmc_write_file_atomic(copy, text, len, err);
    free(copy);
    free(text);
    if (rc) return -1;
    char *resolved = bmc_path_join(info_dir, "config_resolved.yaml");
    char *versions = bmc_path_join(info_dir, "software_versions.yaml");
    rc = write_config_resolved(wf, resolved, err) || write_software_versions(wf, versions, err);
    free(resolved);
    free(versions);
    return rc ? -1 : 0;
}

int wf_execute(wf_workflow *wf) {
    bmc_err err = {0};
    char *info_dir = bmc_path_join(wf->run_dir, "pipeline_info");
    char *logs_dir = bmc_path_join(wf->run_dir, "logs");
    char *stages_dir = bmc_path_join(info_dir, "stages");
    trace tr = {0};
    int status = 0;
    size_t n_ran = 0;
    double t_run = bmc_now();
    if (setup(wf, info_dir, logs_dir, stages_dir, &err) || trace_open(&tr, info_dir, &err)) {
        bmc_err_print(MPI_COMM_NULL, &err);
        status = 2;
    }
    for (size_t o = 0; o < wf->n_inst && status == 0; o++) {
        const wf_instance *in = &wf->inst[wf->order[o]];
        const wf_stage *st = &wf->stages[in->stage];
        if (in->action == WF_ACT_SKIP) {
            bmc_log_info("[%zu/%zu] %s: up to date, skipped", o + 1, wf->n_inst, in->name);
            trace_row(&tr, wf, in, "SKIPPED", -1, "-", "-", 0.0, "-");
            continue;
        }
        char *file = bmc_xasprintf("%s.yaml", in->file_name);
        char *config_path = bmc_path_join(stages_dir, file);
        free(file);
        file = bmc_xasprintf("%s.log", in->file_name);
        char *log_path = bmc_path_join(logs_dir, file);
        free(file);
        bmc_log_info("[%zu/%zu] %s: running on %lld rank%s (%s)", o + 1, wf->n_inst, in->name,
                     st->tasks, st->tasks == 1 ? "" : "s", in->reason);
        char start[32], end[32];
        bmc_utc_timestamp(start, sizeof start);
        double t0 = bmc_now();
        int interrupted = 0;
        int code = launch(wf, in, config_path, log_path, &interrupted, &err);
        double wall = bmc_now() - t0;
        bmc_utc_timestamp(end, sizeof end);
        if (code < 0) {
            bmc_err_print(MPI_COMM_NULL, &err);
            status = 2;
        } else if (code != 0 || interrupted) {
            trace_row(&tr, wf, in, "FAILED", code, start, end, wall, log_path);
            char hint[BMC_ERR_HINT_MAX];
            snprintf(hint, sizeof hint, "see its log: %s", log_path);
            if (interrupted)
                bmc_err_set(&err, hint, "stage '%s' was interrupted by signal %d", in->name,
                            interrupted);
            else
                bmc_err_set(&err, hint, "stage '%s' failed with exit code %d", in->name, code);
            bmc_err_print(MPI_COMM_NULL, &err);
            print_log_tail(log_path);
            status = 1;
        } else if (finish_outputs(in, &err)) {
            trace_row(&tr, wf, in, "FAILED", code, start, end, wall, log_path);
            bmc_err_print(MPI_COMM_NULL, &err);
            fprintf(stderr, "  log: %s\n", log_path);
            status = 1;
        } else {
            trace_row(&tr, wf, in, "COMPLETED", code, start, end, wall, log_path);
            bmc_log_info("[%zu/%zu] %s: done in %.1f s", o + 1, wf->n_inst, in->name, wall);
            n_ran++;
        }
        free(config_path);
        free(log_path);
    }
    trace_close(&tr);
    if (status == 0)
        bmc_log_info("run '%s' finished in %.1f s: %zu ran, %zu up to date; results in %s",
                     wf->run_name, bmc_now() - t_run, n_ran, wf->n_inst - n_ran, wf->run_dir);
    free(info_dir);
    free(logs_dir);
    free(stages_dir);
    return status;
}
