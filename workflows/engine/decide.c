/* decide.c — what is up to date, and why the rest is not.
 *
 * An instance is up to date when every output exists and carries its fingerprint (the HDF5
 * attribute `stage_fingerprint`, else the first line of the `.fingerprint` sidecar). When
 * the fingerprint differs, the instance's record (pipeline_info/instances/) holds the tree
 * the outputs' fingerprint was computed from, and the reason names what changed: which
 * param (old → new), which program, which input (and which files of a folder input).
 * --force marks a stage or an instance and everything downstream.
 * Not here: computing fingerprints (fingerprint.c), running (execute.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "workflow.h"

/* Why an instance whose outputs carry `stored` (not its fingerprint) must run. */
static char *why_changed(const wf_workflow *wf, const wf_instance *in, const char *stored) {
    bmc_cfg_node *rec = wf_record_read(wf, in);
    char *reason = NULL;
    if (rec) {
        const bmc_cfg_node *fp = bmc_cfg_get(rec, "fingerprint");
        const bmc_cfg_node *state = bmc_cfg_get(rec, "state");
        int rec_is_current = fp && fp->text && !strcmp(fp->text, in->fingerprint);
        if (rec_is_current && state && state->text && strcmp(state->text, "completed"))
            reason = bmc_xasprintf("its last run %s", !strcmp(state->text, "failed")
                                                          ? "failed"
                                                          : "did not finish");
        else if (fp && fp->text && stored && !strcmp(fp->text, stored)) {
            char *diff = wf_fingerprint_diff(in, bmc_cfg_get(rec, "fingerprint_of"),
                                             bmc_cfg_get(rec, "input_files"));
            if (diff) reason = bmc_xasprintf("changed: %s", diff);
            free(diff);
        }
        bmc_cfg_free(rec);
    }
    if (!reason && !stored) reason = xstrdup("fingerprint changed (an output carries none)");
    if (!reason && !strcmp(stored, "pending"))
        reason = xstrdup("an earlier run did not finish replacing its outputs");
    return reason ? reason : xstrdup("fingerprint changed");
}

void wf_decide(wf_workflow *wf) {
    for (size_t o = 0; o < wf->n_inst; o++) {
        wf_instance *in = &wf->inst[wf->order[o]];
        free(in->reason);
        in->reason = NULL;
        in->forced = wf->stages[in->stage].forced || in->user_forced ? 1 : 0;
        for (size_t i = 0; i < in->n_inputs && !in->forced; i++)
            if (in->inputs[i].producer != WF_NONE && wf->inst[in->inputs[i].producer].forced)
                in->forced = 2;
        in->action = WF_ACT_RUN;
        if (in->forced) {
            in->reason = xstrdup(in->forced == 1 ? "forced" : "forced upstream");
            continue;
        }
        char *missing = NULL, *stored_bad = NULL;
        int changed = 0;
        for (size_t j = 0; j < in->n_outputs; j++) {
            const char *path = in->outputs[j].path;
            if (!bmc_path_exists(path)) {
                char *m = missing ? bmc_xasprintf("%s, %s", missing, path)
                                  : bmc_xasprintf("outputs missing: %s", path);
                free(missing);
                missing = m;
                continue;
            }
            char *stored = wf_stored_fingerprint(path);
            if (!changed && (!stored || strcmp(stored, in->fingerprint))) {
                changed = 1;
                stored_bad = stored;
            } else {
                free(stored);
            }
        }
        if (missing) {
            in->reason = missing;
        } else if (changed) {
            in->reason = why_changed(wf, in, stored_bad);
        } else {
            in->action = WF_ACT_SKIP;
            in->reason = xstrdup("up to date");
        }
        free(stored_bad);
    }
}

void wf_print_plan(const wf_workflow *wf) {
    int width = 0;
    size_t n_run = 0;
    for (size_t k = 0; k < wf->n_inst; k++) {
        int len = (int)strlen(wf->inst[k].name);
        if (len > width) width = len;
        n_run += wf->inst[k].action == WF_ACT_RUN;
    }
    for (size_t o = 0; o < wf->n_inst; o++) {
        const wf_instance *in = &wf->inst[wf->order[o]];
        printf("%-4s  %-*s  %s\n", in->action == WF_ACT_RUN ? "run" : "skip", width, in->name,
               in->reason);
    }
    fflush(stdout);
    fprintf(stderr, "plan: %zu of %zu instances to run, %zu up to date (dry run: nothing done)\n",
            n_run, wf->n_inst, wf->n_inst - n_run);
}
