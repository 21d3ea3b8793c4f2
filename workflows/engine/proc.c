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

int wf_capture(char *const *argv, double timeout_s, char **out) {
    if (out) *out = NULL;
    int fds[2];
    if (pipe(fds) != 0) return 127;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return 127;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) dup2(devnull, 0), dup2(devnull, 2);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0, cap = 256;
    char *buf = xmalloc(cap);
    double deadline = bmc_now() + timeout_s;
    int timed_out = 0;
    for (;;) {
        double left = deadline - bmc_now();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        if (len + 4096 + 1 > cap) cap = 2 * (len + 4096 + 1), buf = xrealloc(buf, cap);
        ssize_t got = read(fds[0], buf + len, 4096);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(fds[0]);
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    if (out)
        *out = buf;
    else
        free(buf);
    return timed_out ? 124 : status_code(status);
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
