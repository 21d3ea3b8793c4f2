/* proc.c — child processes of the workflow engine: finding executables, capturing a
 * command's `--version`, and running a stage with its output sent to a log file.
 *
 * Uses fork + execv directly (no shell), so arguments are never re-split or expanded.
 * SIGINT/SIGTERM received while a stage runs are forwarded to it, and the engine records
 * the stage as failed instead of dying with the trace half written.
 * Not here: what to run (plan.c) and bookkeeping (execute.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "workflow.h"

/* 1 when path is a regular file we may execute. */
static int is_executable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Absolute, normalised heap copy of path (relative to the current directory). */
static char *absolute(const char *path) {
    char *out;
    if (path[0] == '/') {
        out = xstrdup(path);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return xstrdup(path);
        out = bmc_path_join(cwd, path);
    }
    wf_normalise_path(out);
    return out;
}

char *wf_find_executable(const char *name) {
    if (!name[0]) return NULL;
    if (strchr(name, '/')) return is_executable_file(name) ? absolute(name) : NULL;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *dir = bmc_dirname(self);
        char *cand = bmc_path_join(dir, name);
        free(dir);
        if (is_executable_file(cand)) {
            char *abs = absolute(cand);
            free(cand);
            return abs;
        }
        free(cand);
    }
    const char *path_env = getenv("PATH");
    if (!path_env) path_env = "/usr/local/bin:/usr/bin:/bin";
    char *copy = xstrdup(path_env);
    char *result = NULL;
    char *p = copy;
    for (;;) {
        char *colon = strchr(p, ':');
        if (colon) *colon = '\0';
        char *cand = bmc_path_join(p[0] ? p : ".", name);
        if (is_executable_file(cand)) result = absolute(cand);
        free(cand);
        if (result || !colon) break;
        p = colon + 1;
    }
    free(copy);
    return result;
}

/* Exit status of a waitpid() status word: the code, or 128 + signal. */
static int status_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

/* A running job: pid, and its stdout/stderr pipes (-1 once closed). */
typedef struct running {
    pid_t pid;
    int fd[2];
    size_t len[2], cap[2];
    char *buf[2];
    double deadline;
    int timed_out;
} running;

/* Start job j with its stdout and stderr on pipes. 0, or -1 (status 127). */
static int start_job(running *r, char *const *argv, double timeout_s) {
    int out[2], err[2];
    memset(r, 0, sizeof *r);
    r->fd[0] = r->fd[1] = -1;
    if (pipe(out) != 0) return -1;
    if (pipe(err) != 0) {
        close(out[0]), close(out[1]);
        return -1;
    }
    fflush(NULL);
    r->pid = fork();
    if (r->pid < 0) {
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        return -1;
    }
    if (r->pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    r->fd[0] = out[0];
    r->fd[1] = err[0];
    r->deadline = bmc_now() + timeout_s;
    return 0;
}

/* Read what is available on stream k of r; close it at end of file. */
static void drain(running *r, int k) {
    if (r->len[k] + 4096 + 1 > r->cap[k]) {
        r->cap[k] = 2 * (r->len[k] + 4096 + 1);
        r->buf[k] = xrealloc(r->buf[k], r->cap[k]);
    }
    ssize_t got = read(r->fd[k], r->buf[k] + r->len[k], 4096);
    if (got < 0 && errno == EINTR) return;
    if (got <= 0) {
        close(r->fd[k]);
        r->fd[k] = -1;
        return;
    }
    r->len[k] += (size_t)got;
}

/* Heap copy of a captured stream with trailing blanks trimmed. */
static char *finish_stream(running *r, int k) {
    char *s = r->buf[k] ? r->buf[k] : xmalloc(1);
    size_t len = r->len[k];
    s[len] = '\0';
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ')) s[--len] = '\0';
    return s;
}

/* Wait for r's process and fill job. */
static void reap(running *r, wf_job *job) {
    for (int k = 0; k < 2; k++)
        if (r->fd[k] >= 0) close(r->fd[k]);
    if (r->timed_out) kill(r->pid, SIGKILL);
    int status = 0;
    while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR) {
    }
    job->out = finish_stream(r, 0);
    job->err = finish_stream(r, 1);
    job->status = r->timed_out ? 124 : status_code(status);
}

void wf_capture_all(wf_job *jobs, size_t n, size_t max_parallel, double timeout_s) {
    if (max_parallel < 1) max_parallel = 1;
    running *run = xcalloc(max_parallel, sizeof *run);
    size_t *which = xcalloc(max_parallel, sizeof *which);
    size_t next = 0, active = 0;
    struct pollfd *pfd = xcalloc(2 * max_parallel, sizeof *pfd);
    while (next < n || active > 0) {
        for (size_t slot = 0; slot < max_parallel && next < n; slot++) {
            if (run[slot].pid > 0) continue;
            if (start_job(&run[slot], jobs[next].argv, timeout_s) != 0) {
                jobs[next].out = xstrdup("");
                jobs[next].err = xstrdup("could not start the program");
                jobs[next++].status = 127;
                run[slot].pid = 0;
                continue;
            }
            which[slot] = next++;
            active++;
        }
        size_t np = 0;
        double now = bmc_now(), wait_s = timeout_s;
        for (size_t slot = 0; slot < max_parallel; slot++) {
            running *r = &run[slot];
            if (r->pid <= 0) continue;
            if (r->fd[0] < 0 && r->fd[1] < 0) { /* both streams ended: collect it */
                reap(r, &jobs[which[slot]]);
                memset(r, 0, sizeof *r);
                active--;
                continue;
            }
            if (now >= r->deadline) {
                r->timed_out = 1;
                reap(r, &jobs[which[slot]]);
                memset(r, 0, sizeof *r);
                active--;
                continue;
            }
            if (r->deadline - now < wait_s) wait_s = r->deadline - now;
            for (int k = 0; k < 2; k++)
                if (r->fd[k] >= 0) pfd[np++] = (struct pollfd){r->fd[k], POLLIN, 0};
        }
        if (np == 0) continue;
        int got = poll(pfd, (nfds_t)np, (int)(wait_s * 1000) + 1);
        if (got <= 0) continue;
        for (size_t slot = 0; slot < max_parallel; slot++)
            for (int k = 0; k < 2; k++)
                for (size_t q = 0; q < np; q++)
                    if (run[slot].pid > 0 && pfd[q].fd == run[slot].fd[k] &&
                        (pfd[q].revents & (POLLIN | POLLHUP | POLLERR)))
                        drain(&run[slot], k);
    }
    free(pfd);
    free(which);
    free(run);
}

int wf_capture(char *const *argv, double timeout_s, char **out) {
    wf_job job = {argv, NULL, NULL, 0};
    wf_capture_all(&job, 1, 1, timeout_s);
    free(job.err);
    if (out)
        *out = job.out;
    else
        free(job.out);
    return job.status;
}

/* ---- running a stage ------------------------------------------------------------------ */

static volatile sig_atomic_t g_child = 0;
static volatile sig_atomic_t g_signal = 0;

static void forward_signal(int sig) {
    g_signal = sig;
    if (g_child > 0) kill((pid_t)g_child, sig);
}

int wf_run_logged(char *const *argv, char *const *env_set, const char *log_path,
                  int *interrupted) {
    *interrupted = 0;
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) return 127;
    fflush(NULL);
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_signal = 0;
    pid_t pid = fork();
    if (pid < 0) {
        close(log_fd);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return 127;
    }
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
        for (size_t k = 0; env_set && env_set[k]; k++) {
            char *eq = strchr(env_set[k], '=');
            if (!eq) continue;
            *eq = '\0'; /* the child's copy of the string */
            setenv(env_set[k], eq + 1, 1);
        }
        execv(argv[0], argv);
        dprintf(2, "bmc-workflow: could not start '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    g_child = pid;
    close(log_fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = 1 << 8;
            break;
        }
    }
    g_child = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    *interrupted = g_signal;
    return status_code(status);
}
