/* main.c — bmc-workflow: run a workflow of stage executables in dependency order.
 *
 * `bmc-workflow run W.yaml [--run NAME] [--results DIR] [--dry-run] [--force NAME]...
 * [--launcher CMD]`: validate everything first, every stage's params included (exit 2 on any
 * problem, nothing created), take the run directory's lock (exit 3 when another run holds
 * it), then run what is not up to date, locally, one stage instance at a time (exit 1 when
 * a stage fails). `bmc-workflow unlock RUN_DIR` clears a stale lock. Does not initialise
 * MPI: the stages are MPI programs, the engine is not.
 * Not here: the engine itself (workflow.c, plan.c, ..., execute.c); Slurm submission.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_log.h"
#include "bmc_version.h"
#include "workflow.h"

static const char usage[] =
    "usage: bmc-workflow run WORKFLOW.yaml [options]\n"
    "       bmc-workflow unlock RUN_DIR\n"
    "       bmc-workflow --help | --version\n"
    "\n"
    "Runs the stages of a workflow in dependency order, skipping every stage instance whose\n"
    "outputs exist and carry its current fingerprint (inputs, parameters that change results,\n"
    "program content and version). Everything is validated before anything is created, each\n"
    "stage's own parameters included (its --check). One run per run directory at a time.\n"
    "See docs/WORKFLOWS.md.\n"
    "\n"
    "options:\n"
    "  --run NAME       name of this run; outputs go to RESULTS/NAME (default: the workflow's name)\n"
    "  --results DIR    results folder (default: results)\n"
    "  --dry-run        print the plan (run/skip and why for each instance), create nothing\n"
    "  --force NAME     rerun stage NAME (or one instance, e.g. 'fmri[1]') and everything\n"
    "                   downstream (repeatable)\n"
    "  --launcher CMD   how stages start, with {tasks} and {cpus_per_task}\n"
    "                   (default: the workflow's `launcher`, else \"mpiexec -n {tasks}\";\n"
    "                   \"\" runs stages directly)\n"
    "\n"
    "\n"
    "unlock RUN_DIR: clear the lock a killed run left in RUN_DIR (refused while a run holds it)\n"
    "\n"
    "exit status: 0 done, 1 a stage failed, 2 invalid command line or workflow,\n"
    "             3 the run directory is in use (or holds a stale lock)\n";

static const char *const options_with_value[] = {"--run", "--results", "--force", "--launcher"};
static const char *const flag_options[] = {"--dry-run", "--help"};

static int usage_error(const char *hint, const char *fmt, const char *arg) {
    bmc_err err = {0};
    bmc_err_set(&err, hint, fmt, arg);
    bmc_err_print(MPI_COMM_NULL, &err);
    return 2;
}

/* "did you mean" for an unknown option. */
static int unknown_option(const char *arg) {
    size_t arg_len = strcspn(arg, "=");
    char *name = xmalloc(arg_len + 1);
    memcpy(name, arg, arg_len);
    name[arg_len] = '\0';
    const char *all[6];
    for (size_t k = 0; k < 4; k++) all[k] = options_with_value[k];
    for (size_t k = 0; k < 2; k++) all[4 + k] = flag_options[k];
    const char *best = bmc_cfg_nearest(name, all, 6);
    char hint[256];
    if (best)
        snprintf(hint, sizeof hint, "did you mean '%s'? see bmc-workflow --help", best);
    else
        snprintf(hint, sizeof hint, "see bmc-workflow --help");
    int rc = usage_error(hint, "unknown option '%s'", name);
    free(name);
    return rc;
}

/* Parse `run` arguments into opt. Returns 0, or an exit status (2 usage error, -1 help). */
static int parse_run_args(int argc, char **argv, wf_options *opt) {
    opt->force = xcalloc((size_t)argc + 1, sizeof *opt->force);
    for (int k = 0; k < argc; k++) {
        const char *arg = argv[k];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return -1;
        if (!strcmp(arg, "--dry-run")) {
            opt->dry_run = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || !strcmp(arg, "--")) {
            if (!strcmp(arg, "--")) {
                if (++k >= argc) break;
                arg = argv[k];
            }
            if (opt->workflow_path)
                return usage_error("give one workflow file", "unexpected argument '%s'", arg);
            opt->workflow_path = arg;
            continue;
        }
        const char *value = NULL;
        size_t name_len = strcspn(arg, "=");
        int known = 0;
        for (size_t o = 0; o < 4; o++)
            if (strlen(options_with_value[o]) == name_len &&
                !strncmp(arg, options_with_value[o], name_len))
                known = 1;
        if (!known) return unknown_option(arg);
        if (arg[name_len] == '=') {
            value = arg + name_len + 1;
        } else {
            if (k + 1 >= argc)
                return usage_error("see bmc-workflow --help", "option '%s' needs a value", arg);
            value = argv[++k];
        }
        if (!strncmp(arg, "--run", name_len))
            opt->run_name = value;
        else if (!strncmp(arg, "--results", name_len))
            opt->results_dir = value;
        else if (!strncmp(arg, "--force", name_len))
            opt->force[opt->n_force++] = value;
        else
            opt->launcher = value;
    }
    if (!opt->workflow_path)
        return usage_error("usage: bmc-workflow run WORKFLOW.yaml [options]",
                           "%s: no workflow file given", "run");
    return 0;
}

static int cmd_run(int argc, char **argv) {
    wf_options opt = {0};
    int rc = parse_run_args(argc, argv, &opt);
    if (rc != 0) {
        free(opt.force);
        if (rc == -1) fputs(usage, stdout);
        return rc == -1 ? 0 : rc;
    }
    bmc_err err = {0};
    wf_workflow *wf = wf_load(&opt, &err);
    /* A run in progress (or a stale lock) is said first: its half-written outputs would
     * otherwise make the plan fail for the wrong reason. */
    if (wf && wf_lock_probe(wf->run_dir, &err) != 0) {
        bmc_err_print(MPI_COMM_NULL, &err);
        free(opt.force);
        wf_free(wf);
        return WF_EXIT_LOCKED;
    }
    if (wf && wf_plan(wf, &err) != 0) {
        wf_free(wf);
        wf = NULL;
    }
    free(opt.force);
    if (!wf) {
        bmc_err_print(MPI_COMM_NULL, &err);
        return BMC_EXIT_USER_ERROR;
    }
    if (opt.dry_run) {
        double t0 = bmc_now();
        wf_decide(wf);
        bmc_log_debug("planning: decisions in %.3f s", bmc_now() - t0);
        wf_print_plan(wf);
        wf_free(wf);
        return 0;
    }
    wf_lock lock;
    char *command = bmc_xasprintf("run %s", wf->path);
    if (wf_lock_take(wf->run_dir, command, &lock, &err) != 0) {
        bmc_err_print(MPI_COMM_NULL, &err);
        rc = WF_EXIT_LOCKED;
    } else {
        wf_decide(wf); /* under the lock: another run may have just finished */
        rc = wf_execute(wf);
        wf_lock_release(&lock);
    }
    free(command);
    wf_free(wf);
    return rc;
}

static int cmd_unlock(int argc, char **argv) {
    if (argc != 1 || argv[0][0] == '-')
        return usage_error("usage: bmc-workflow unlock RUN_DIR (e.g. results/demo)",
                           "%s: give one run directory", "unlock");
    bmc_err err = {0};
    if (wf_lock_clear(argv[0], &err) == 0) return 0;
    bmc_err_print(MPI_COMM_NULL, &err);
    return WF_EXIT_LOCKED;
}

int main(int argc, char **argv) {
    bmc_log_init("bmc-workflow", -1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("bmc-workflow %s (%s)\n", bmc_version(), bmc_git_commit());
        return 0;
    }
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 2, argv + 2);
    if (!strcmp(argv[1], "unlock")) return cmd_unlock(argc - 2, argv + 2);
    return usage_error("the commands are `run` and `unlock`; see bmc-workflow --help",
                       "unknown command '%s'", argv[1]);
}
