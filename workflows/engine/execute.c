/* execute.c — run a plan locally, one stage instance at a time, and record it.
 *
 * For each instance in order: skip it when up to date, else write its stage config, create
 * its output folders, turn the sidecars of its outputs to "pending", record it as running,
 * run `<launcher> <exe> <args> --config <stage config>` with the output to its log, check
 * its outputs and stamp the non-HDF5 ones (sidecar with fingerprint and manifest), record
 * the outcome. The first failure stops the run and shows the stage's own `error:` line.
 * pipeline_info/ gets a copy of the workflow, the resolved config, the software versions
 * and an execution trace (rows flushed as instances end).
 * Its helpers for run info, outputs and stage configs are shared with the Slurm mode.
 * Not here: deciding what runs (decide.c), the lock (state.c, taken by the caller), Slurm.
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
#include "bmc_stage.h"
#include "bmc_version.h"
#include "workflow.h"

/* Emit a tree as YAML to path atomically, after a comment line. Returns 0 or -1. */
int wf_write_yaml(const char *path, const char *comment, const bmc_cfg_node *tree,
                  bmc_err *err) {
    size_t len = 0;
    char *buf = wf_emit_yaml(tree, comment, &len);
    int rc = bmc_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
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
        bmc_cfg_map_set(i, "resources", wf_resources_tree(&wf->stages[in->stage]));
        bmc_cfg_node *speed = bmc_cfg_new_seq();
        for (size_t k = 0; k < in->n_speed_only; k++)
            bmc_cfg_seq_push(speed, bmc_cfg_new_string(in->speed_only[k]));
        bmc_cfg_map_set(i, "speed_only", speed);
        bmc_cfg_map_set(i, "fingerprint", bmc_cfg_new_string(in->fingerprint));
        bmc_cfg_map_set(i, "action", bmc_cfg_new_string(in->action == WF_ACT_RUN ? "run" : "skip"));
        bmc_cfg_map_set(i, "reason", bmc_cfg_new_string(in->reason));
        bmc_cfg_seq_push(list, i);
    }
    bmc_cfg_map_set(t, "instances", list);
    int rc = wf_write_yaml(path, "every stage instance of this run, resolved (bmc-workflow)", t,
                           err);
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
    int rc = wf_write_yaml(path, "software used by this run (bmc-workflow)", t, err);
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
    char code[16], ranks[24];
    if (exit_code < 0)
        snprintf(code, sizeof code, "-");
    else
        snprintf(code, sizeof code, "%d", exit_code);
    long long r = wf_ranks(wf, st);
    if (r > 0)
        snprintf(ranks, sizeof ranks, "%lld", r);
    else
        snprintf(ranks, sizeof ranks, "-");
    fprintf(tr->f, "%s\t%s\t%s\t%s\t%s\t%.3f\t%s\t%lld\t%s\t%s\n", in->name, status, code, start,
            end, wall_s, ranks, st->cpus_per_task, in->fingerprint, log);
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

int wf_claim_outputs(const wf_instance *in, bmc_err *err) {
    for (size_t o = 0; o < in->n_outputs; o++) {
        char *dir = bmc_dirname(in->outputs[o].path);
        int rc = bmc_mkdir_p(dir, err);
        free(dir);
        if (rc) return -1;
        /* Claim the path for this stage: what it leaves there, even if the run is killed,
         * is ours to replace later; but without a fingerprint, it is never up to date. */
        const char *path = in->outputs[o].path;
        if (bmc_path_exists(path) ? bmc_sidecar_mark_pending(path, err)
                                  : bmc_sidecar_write(path, "pending", err))
            return -1;
    }
    return 0;
}

/* Prepare folders and the stage config, then run the instance. Returns the exit code (or
 * -1 for a setup error in err) and sets *interrupted. */
static int launch(const wf_workflow *wf, const wf_instance *in, const char *config_path,
                  const char *log_path, int *interrupted, bmc_err *err) {
    const wf_stage *st = &wf->stages[in->stage];
    if (wf_claim_outputs(in, err)) return -1;
    bmc_cfg_node *cfg = wf_stage_config(wf, in, 1);
    int rc = wf_write_yaml(config_path, "stage config written by bmc-workflow", cfg, err);
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
int wf_finish_outputs(const wf_instance *in, bmc_err *err) {
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
        if (!bmc_h5_is_hdf5(p->path) && bmc_sidecar_write(p->path, in->fingerprint, err))
            return -1;
    }
    return 0;
}

/* ---- the run ----------------------------------------------------------------------------- */

int wf_write_run_info(const wf_workflow *wf, const char *info_dir, const char *logs_dir,
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

/* After a failure: what the stage left at its non-HDF5 output paths is its own (nothing
 * else was there: plan time refuses foreign files), so it gets a sidecar that says so but
 * carries no fingerprint ("pending"), and a rerun may replace it; the claims on paths it
 * left empty are withdrawn. */
void wf_stamp_failed(const wf_instance *in) {
    for (size_t o = 0; o < in->n_outputs; o++) {
        const char *path = in->outputs[o].path;
        bmc_err ignored = {0};
        if (bmc_path_exists(path) && !bmc_h5_is_hdf5(path)) {
            bmc_sidecar_write(path, "pending", &ignored);
        } else if (!bmc_path_exists(path)) { /* nothing written: no claim left behind */
            char *side = bmc_xasprintf("%s.fingerprint", path);
            unlink(side);
            free(side);
        }
    }
}

/* The paths of one instance's stage config and log. */
typedef struct instance_files {
    char *config, *log;
} instance_files;

static instance_files files_of(const wf_instance *in, const char *stages_dir,
                               const char *logs_dir) {
    char *c = bmc_xasprintf("%s.yaml", in->file_name), *l = bmc_xasprintf("%s.log", in->file_name);
    instance_files f = {bmc_path_join(stages_dir, c), bmc_path_join(logs_dir, l)};
    free(c);
    free(l);
    return f;
}

/* Run one instance that is not up to date, with its records, trace row and messages.
 * Returns 0 when it completed, 1 when it failed, 2 on a setup error. */
static int run_instance(wf_workflow *wf, const wf_instance *in, size_t step, trace *tr,
                        const instance_files *f, bmc_err *err) {
    const wf_stage *st = &wf->stages[in->stage];
    long long ranks = wf_ranks(wf, st);
    if (ranks > 0)
        bmc_log_info("[%zu/%zu] %s: running on %lld rank%s (%s)", step, wf->n_inst, in->name,
                     ranks, ranks == 1 ? "" : "s", in->reason);
    else
        bmc_log_info("[%zu/%zu] %s: running under '%s' (%s)", step, wf->n_inst, in->name,
                     wf->launcher, in->reason);
    char start[32], end[32];
    bmc_utc_timestamp(start, sizeof start);
    wf_record rec = {"running", start, NULL, -1, -1, ranks, f->log, f->config, NULL};
    if (wf_record_write(wf, in, &rec, err)) return 2;
    double t0 = bmc_now();
    int interrupted = 0;
    int code = launch(wf, in, f->config, f->log, &interrupted, err);
    double wall = bmc_now() - t0;
    bmc_utc_timestamp(end, sizeof end);
    if (code < 0) return 2;
    rec.end = end, rec.wall_s = wall, rec.exit_code = code;
    int status = 0;
    char *stage_error = NULL;
    if (code != 0 || interrupted) {
        char hint[BMC_ERR_HINT_MAX / 2];
        stage_error = wf_log_error(f->log, hint, sizeof hint);
        char full_hint[BMC_ERR_HINT_MAX];
        snprintf(full_hint, sizeof full_hint, "%s%ssee its log: %s", hint, hint[0] ? "; " : "",
                 f->log);
        if (interrupted)
            bmc_err_set(err, full_hint, "stage '%s' was interrupted by signal %d", in->name,
                        interrupted);
        else if (stage_error)
            bmc_err_set(err, full_hint, "stage '%s' failed with exit code %d: %s", in->name, code,
                        stage_error);
        else
            bmc_err_set(err, full_hint, "stage '%s' failed with exit code %d", in->name, code);
        bmc_err_print(MPI_COMM_NULL, err);
        wf_print_log_tail(f->log);
        status = 1;
    } else if (wf_finish_outputs(in, err)) {
        bmc_err_print(MPI_COMM_NULL, err);
        fprintf(stderr, "  log: %s\n", f->log);
        stage_error = xstrdup(err->msg);
        status = 1;
    }
    if (status) wf_stamp_failed(in);
    rec.state = status ? (interrupted ? "interrupted" : "failed") : "completed";
    rec.error = stage_error;
    bmc_err rerr = {0};
    if (wf_record_write(wf, in, &rec, &rerr)) bmc_log_warn("%s", rerr.msg);
    trace_row(tr, wf, in, status ? "FAILED" : "COMPLETED", code, start, end, wall, f->log);
    if (!status) bmc_log_info("[%zu/%zu] %s: done in %.1f s", step, wf->n_inst, in->name, wall);
    free(stage_error);
    return status;
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
    if (wf_write_run_info(wf, info_dir, logs_dir, stages_dir, &err) ||
        trace_open(&tr, info_dir, &err)) {
        bmc_err_print(MPI_COMM_NULL, &err);
        status = 2;
    }
    for (size_t o = 0; o < wf->n_inst && status == 0; o++) {
        const wf_instance *in = &wf->inst[wf->order[o]];
        if (in->action == WF_ACT_SKIP) {
            bmc_log_info("[%zu/%zu] %s: up to date, skipped", o + 1, wf->n_inst, in->name);
            trace_row(&tr, wf, in, "SKIPPED", -1, "-", "-", 0.0, "-");
            continue;
        }
        instance_files f = files_of(in, stages_dir, logs_dir);
        status = run_instance(wf, in, o + 1, &tr, &f, &err);
        if (status == 2) bmc_err_print(MPI_COMM_NULL, &err);
        n_ran += status == 0;
        free(f.config);
        free(f.log);
    }
    trace_close(&tr);
    if (status == 0)
        bmc_log_info("run '%s' finished in %.1f s (%.1f s of it planning): %zu ran, %zu up to "
                     "date; results in %s",
                     wf->run_name, bmc_now() - wf->t_start, t_run - wf->t_start, n_ran,
                     wf->n_inst - n_ran, wf->run_dir);
    free(info_dir);
    free(logs_dir);
    free(stages_dir);
    return status;
}
