/* state.c — what a run leaves in its run directory for others to read: the lock that keeps
 * one run per run directory, and one record per instance.
 *
 * The lock is pipeline_info/lock: an flock held for the run's life, and in the file the
 * holder's host, pid, start time and command. A second run refuses at once, naming the
 * holder. A file that still names a holder nobody locks is a stale lock (its run was killed
 * and its stage programs may still be running): it is reported with the command that clears
 * it, `bmc-workflow unlock RUN_DIR`, rather than taken over. The file is never deleted (an
 * flock on a deleted file would let a second run in); an empty file means free.
 * Records are pipeline_info/instances/<file name>.json, written atomically, self-contained
 * (state, times, exit code, log, the stage's own error line, the fingerprint and the tree it
 * hashes), so a batch job can write its own. Format: docs/WORKFLOWS.md.
 * Not here: running stages (execute.c).
 */
#define _GNU_SOURCE /* gethostname, flock */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "workflow.h"

/* ---- records ------------------------------------------------------------------------------ */

static char *record_path(const wf_workflow *wf, const wf_instance *in) {
    char *name = bmc_xasprintf("pipeline_info/instances/%s.json", in->file_name);
    char *path = bmc_path_join(wf->run_dir, name);
    free(name);
    return path;
}

/* A config tree as JSON (maps in their order). */
static cJSON *to_json(const bmc_cfg_node *n) {
    switch (n->type) {
    case BMC_CFG_NULL: return cJSON_CreateNull();
    case BMC_CFG_BOOL: return cJSON_CreateBool(n->v.b);
    case BMC_CFG_INT: return cJSON_CreateNumber((double)n->v.i);
    case BMC_CFG_FLOAT: return cJSON_CreateNumber(n->v.f);
    case BMC_CFG_STRING: return cJSON_CreateString(n->text);
    case BMC_CFG_SEQ: {
        cJSON *a = cJSON_CreateArray();
        for (size_t k = 0; k < n->n; k++) cJSON_AddItemToArray(a, to_json(n->items[k]));
        return a;
    }
    case BMC_CFG_MAP: {
        cJSON *o = cJSON_CreateObject();
        for (size_t k = 0; k < n->n; k++) cJSON_AddItemToObject(o, n->keys[k], to_json(n->items[k]));
        return o;
    }
    }
    return cJSON_CreateNull();
}

static void add_str(cJSON *o, const char *key, const char *value) {
    cJSON_AddItemToObject(o, key, value ? cJSON_CreateString(value) : cJSON_CreateNull());
}

int wf_record_write(const wf_workflow *wf, const wf_instance *in, const wf_record *r,
                    bmc_err *err) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cJSON *o = cJSON_CreateObject();
    add_str(o, "format", "bmc.instance-state");
    cJSON_AddNumberToObject(o, "format_version", 1);
    add_str(o, "instance", in->name);
    add_str(o, "stage", wf->stages[in->stage].name);
    add_str(o, "state", r->state);
    add_str(o, "fingerprint", in->fingerprint);
    add_str(o, "start", r->start);
    add_str(o, "end", r->end);
    cJSON_AddItemToObject(o, "wall_s", r->wall_s >= 0 ? cJSON_CreateNumber(r->wall_s)
                                                      : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "exit_code", r->exit_code >= 0 ? cJSON_CreateNumber(r->exit_code)
                                                            : cJSON_CreateNull());
    add_str(o, "host", host);
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddItemToObject(o, "ranks", r->ranks > 0 ? cJSON_CreateNumber((double)r->ranks)
                                                   : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "cpus_per_task", (double)wf->stages[in->stage].cpus_per_task);
    add_str(o, "log", r->log);
    add_str(o, "config", r->config);
    add_str(o, "error", r->error);
    cJSON_AddItemToObject(o, "fingerprint_of", in->fp_tree ? to_json(in->fp_tree) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "input_files", in->input_files ? to_json(in->input_files)
                                                            : cJSON_CreateObject());
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    char *path = record_path(wf, in);
    char *dir = bmc_dirname(path);
    char *withnl = bmc_xasprintf("%s\n", text);
    int rc = bmc_mkdir_p(dir, err) || bmc_write_file_atomic(path, withnl, strlen(withnl), err);
    free(withnl);
    free(dir);
    free(path);
    cJSON_free(text);
    return rc ? -1 : 0;
}

bmc_cfg_node *wf_record_read(const wf_workflow *wf, const wf_instance *in) {
    char *path = record_path(wf, in);
    bmc_err quiet = {0};
    bmc_cfg_node *t = bmc_path_exists(path) ? bmc_cfg_load_file(path, &quiet) : NULL;
    free(path);
    if (t && t->type != BMC_CFG_MAP) {
        bmc_cfg_free(t);
        t = NULL;
    }
    return t;
}

/* ---- the lock ------------------------------------------------------------------------------ */

static char *lock_path(const char *run_dir) {
    return bmc_path_join(run_dir, "pipeline_info/lock");
}

/* The holder written in the lock file ("" when free), one line. */
static char *holder_text(int fd) {
    char buf[1024];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0) n = 0;
    buf[n] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\n') *p = ' ';
    size_t len = strlen(buf);
    while (len > 0 && buf[len - 1] == ' ') buf[--len] = '\0';
    return xstrdup(buf);
}

/* Value of `key=` in a holder text (heap; "" when absent). */
static char *holder_field(const char *text, const char *key) {
    size_t n = strlen(key);
    for (const char *p = text; (p = strstr(p, key)); p++)
        if ((p == text || p[-1] == ' ') && p[n] == '=') {
            size_t len = strcspn(p + n + 1, " ");
            char *v = xmalloc(len + 1);
            memcpy(v, p + n + 1, len);
            v[len] = '\0';
            return v;
        }
    return xstrdup("");
}

/* "pid 123 on host h since T" from a holder text (heap). */
static char *describe(const char *text) {
    char *pid = holder_field(text, "pid"), *host = holder_field(text, "host");
    char *since = holder_field(text, "started");
    char *d = bmc_xasprintf("bmc-workflow pid %s on host %s since %s", pid, host, since);
    free(pid);
    free(host);
    free(since);
    return d;
}

/* The error for a lock held by a live run (fd's content names it). Returns -1. */
static int held_error(const char *run_dir, const char *path, int fd, bmc_err *err) {
    char *who = holder_text(fd), *d = describe(who);
    char hint[BMC_ERR_HINT_MAX];
    snprintf(hint, sizeof hint, "wait for it to finish, or use another run directory "
                                "(--run NAME); the lock is %s", path);
    bmc_err_set(err, hint, "run directory %s is in use by %s", run_dir, d);
    free(who);
    free(d);
    return -1;
}

/* The error for a lock file that names a holder nobody locks (who). Returns -1. */
static int stale_error(const char *run_dir, const char *path, const char *who, bmc_err *err) {
    char *d = describe(who), *host = holder_field(who, "host");
    char me[256] = "";
    gethostname(me, sizeof me - 1);
    char hint[BMC_ERR_HINT_MAX];
    snprintf(hint, sizeof hint, "%scheck that none of its stage programs still runs, then "
                                "clear it with: bmc-workflow unlock %s",
             strcmp(host, me) ? "it ran on another host, where the lock may still be held; " : "",
             run_dir);
    bmc_err_set(err, hint, "run directory %s has a stale lock: %s did not finish (killed?) "
                           "and left %s",
                run_dir, d, path);
    free(d);
    free(host);
    return -1;
}

/* 1 when another run holds the lock: flock on fd fails, and keeps failing while the file
 * names no holder (a probe's brief shared lock, or a holder about to write its name, is
 * waited out for up to 0.5 s). 0 when flock succeeded (or is not supported). */
static int lock_busy(int fd, int how) {
    for (int tries = 0;; tries++) {
        if (flock(fd, how | LOCK_NB) == 0 || errno != EWOULDBLOCK) return 0;
        char *who = holder_text(fd);
        int named = who[0] != '\0';
        free(who);
        if (named || tries == 50) return 1;
        struct timespec ms10 = {0, 10000000};
        nanosleep(&ms10, NULL);
    }
}

int wf_lock_probe(const char *run_dir, bmc_err *err) {
    char *path = lock_path(run_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
    if (fd >= 0) {
        if (lock_busy(fd, LOCK_SH)) {
            rc = held_error(run_dir, path, fd, err);
        } else {
            char *who = holder_text(fd);
            if (who[0]) rc = stale_error(run_dir, path, who, err);
            free(who);
        }
        close(fd); /* releases the shared lock */
    }
    free(path);
    return rc;
}

/* wf_lock_take's way out on an error: nothing held, nothing allocated; -1. */
static int take_failed(wf_lock *lk, int fd) {
    if (fd >= 0) close(fd);
    free(lk->path);
    lk->path = NULL;
    return -1;
}

int wf_lock_take(const char *run_dir, const char *command, wf_lock *lk, bmc_err *err) {
    lk->fd = -1;
    lk->path = lock_path(run_dir);
    char *dir = bmc_dirname(lk->path);
    int rc = bmc_mkdir_p(dir, err);
    free(dir);
    if (rc) return take_failed(lk, -1);
    int fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        bmc_err_set(err, "check the permissions of the run directory",
                    "cannot open the lock %s: %s", lk->path, strerror(errno));
        return take_failed(lk, -1);
    }
    if (lock_busy(fd, LOCK_EX)) {
        held_error(run_dir, lk->path, fd, err);
        return take_failed(lk, fd);
    }
    char *who = holder_text(fd);
    if (who[0]) { /* written by a run that is gone without releasing it */
        stale_error(run_dir, lk->path, who, err);
        free(who);
        return take_failed(lk, fd);
    }
    free(who);
    char host[256] = "", started[32];
    gethostname(host, sizeof host - 1);
    bmc_utc_timestamp(started, sizeof started);
    char *text = bmc_xasprintf("host=%s pid=%ld started=%s command=%s\n", host, (long)getpid(),
                               started, command);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, strlen(text), 0) != (ssize_t)strlen(text) ||
        fsync(fd) != 0)
        rc = bmc_err_set(err, "check free space in the run directory", "cannot write the lock %s: %s",
                         lk->path, strerror(errno));
    free(text);
    if (rc) return take_failed(lk, fd);
    lk->fd = fd;
    return 0;
}

void wf_lock_release(wf_lock *lk) {
    if (lk->fd >= 0) {
        if (ftruncate(lk->fd, 0) == 0) fsync(lk->fd);
        close(lk->fd); /* releases the flock */
    }
    lk->fd = -1;
    free(lk->path);
    lk->path = NULL;
}

/* Mark the records its run left `running` as `interrupted`. */
static void mark_interrupted(const char *run_dir) {
    char *dir = bmc_path_join(run_dir, "pipeline_info/instances");
    bmc_err quiet = {0};
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json")) continue;
        char *path = bmc_path_join(dir, e->d_name);
        char *text = bmc_read_file(path, NULL, &quiet);
        cJSON *o = text ? cJSON_Parse(text) : NULL;
        cJSON *state = o ? cJSON_GetObjectItemCaseSensitive(o, "state") : NULL;
        if (cJSON_IsString(state) && !strcmp(state->valuestring, "running")) {
            cJSON_ReplaceItemInObjectCaseSensitive(o, "state", cJSON_CreateString("interrupted"));
            char *out = cJSON_Print(o), *withnl = bmc_xasprintf("%s\n", out);
            if (bmc_write_file_atomic(path, withnl, strlen(withnl), &quiet) == 0)
                bmc_log_info("%s: marked interrupted", e->d_name);
            free(withnl);
            cJSON_free(out);
        }
        cJSON_Delete(o);
        free(text);
        free(path);
    }
    if (d) closedir(d);
    free(dir);
}

int wf_lock_clear(const char *run_dir, bmc_err *err) {
    char *path = lock_path(run_dir);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        bmc_log_info("%s has no lock: nothing to clear", run_dir);
        free(path);
        return 0;
    }
    int rc = 0;
    char *who = holder_text(fd);
    if (lock_busy(fd, LOCK_EX)) {
        char *d = describe(who);
        rc = bmc_err_set(err, "a run holds it now; wait for it, or stop it (Ctrl-C or kill PID)",
                         "run directory %s is in use by %s: not cleared", run_dir, d);
        free(d);
    } else if (!who[0]) {
        bmc_log_info("%s is not locked: nothing to clear", run_dir);
    } else if (ftruncate(fd, 0) != 0 || fsync(fd) != 0) {
        rc = bmc_err_set(err, "check the permissions of the run directory",
                         "cannot clear the lock %s: %s", path, strerror(errno));
    } else {
        char *d = describe(who);
        bmc_log_info("cleared the stale lock of %s", d);
        free(d);
        mark_interrupted(run_dir);
    }
    free(who);
    close(fd);
    free(path);
    return rc;
}
