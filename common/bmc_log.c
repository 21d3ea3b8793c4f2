/* bmc_log.c — rank-aware log lines and progress reporting (see bmc_log.h).
 *
 * Timestamps are UTC wall clock; durations use the monotonic clock. Progress lines redraw
 * with '\r' only when stderr is a terminal; in files (Slurm logs) they are plain lines at
 * most every `interval` seconds. Not here: error agreement (bmc_error.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "bmc_log.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char log_program[64] = "brainmclip";
static int log_level = BMC_LOG_INFO;

int bmc_log_rank(void) {
    int init = 0, fin = 0, rank = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

void bmc_log_init(const char *program, int level) {
    snprintf(log_program, sizeof log_program, "%s", program ? program : "brainmclip");
    if (level >= 0) {
        log_level = level;
        return;
    }
    const char *env = getenv("BMC_LOG_LEVEL");
    log_level = BMC_LOG_INFO;
    if (!env) return;
    if (!strcasecmp(env, "debug")) log_level = BMC_LOG_DEBUG;
    else if (!strcasecmp(env, "warn")) log_level = BMC_LOG_WARN;
    else if (!strcasecmp(env, "quiet")) log_level = BMC_LOG_QUIET;
}

double bmc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bmc_utc_timestamp(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void log_line(const char *level, int rank, const char *fmt, va_list ap) {
    char ts[32], msg[2048];
    bmc_utc_timestamp(ts, sizeof ts);
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* One fprintf per line so lines of different ranks do not interleave mid-line. */
    fprintf(stderr, "%s [r%d] %s %s: %s\n", ts, rank, log_program, level, msg);
    fflush(stderr);
}

#define LOG_BODY(lvl, name, any_rank)                                                      \
    do {                                                                                   \
        if (log_level > (lvl)) return;                                                     \
        int rank_ = bmc_log_rank();                                                        \
        if (!(any_rank) && rank_ != 0) return;                                             \
        va_list ap;                                                                        \
        va_start(ap, fmt);                                                                 \
        log_line(name, rank_, fmt, ap);                                                    \
        va_end(ap);                                                                        \
    } while (0)

void bmc_log_debug(const char *fmt, ...) { LOG_BODY(BMC_LOG_DEBUG, "debug", 0); }
void bmc_log_info(const char *fmt, ...) { LOG_BODY(BMC_LOG_INFO, "info", 0); }
void bmc_log_warn(const char *fmt, ...) { LOG_BODY(BMC_LOG_WARN, "warning", 1); }
void bmc_log_all(const char *fmt, ...) { LOG_BODY(BMC_LOG_INFO, "info", 1); }

/* ---- progress ------------------------------------------------------------------------ */

static void format_hms(double s, char *buf, size_t n) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

void bmc_progress_start(bmc_progress *p, const char *label, const char *what, long total) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    snprintf(p->what, sizeof p->what, "%s", what);
    p->total = total;
    p->t_start = p->t_last = bmc_now();
    p->tty = isatty(STDERR_FILENO);
    const char *env = getenv("BMC_PROGRESS_INTERVAL");
    p->interval = env ? atof(env) : 10.0;
    if (p->tty) p->interval = 0.5;
}

void bmc_progress_format(const bmc_progress *p, long done, double now, char *buf, size_t n) {
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    double pct = p->total > 0 ? 100.0 * (double)done / (double)p->total : 100.0;
    char eta[32];
    if (done > 0 && rate > 0) format_hms((double)(p->total - done) / rate, eta, sizeof eta);
    else snprintf(eta, sizeof eta, "?");
    snprintf(buf, n, "%s: %ld/%ld %s (%.1f%%), %.3g %s/s, ETA %s", p->label, done, p->total,
             p->what, pct, rate, p->what, eta);
}

void bmc_progress_update(bmc_progress *p, long done) {
    if (log_level > BMC_LOG_INFO) return;
    double now = bmc_now();
    if (done < p->total && now - p->t_last < p->interval) return;
    p->t_last = now;
    char line[256];
    bmc_progress_format(p, done, now, line, sizeof line);
    if (p->tty) {
        fprintf(stderr, "\r%s\033[K", line);
        if (done >= p->total) fputc('\n', stderr);
    } else {
        char ts[32];
        bmc_utc_timestamp(ts, sizeof ts);
        fprintf(stderr, "%s [r%d] %s progress: %s\n", ts, bmc_log_rank(), log_program, line);
    }
    fflush(stderr);
    p->printed = 1;
}

void bmc_progress_finish(bmc_progress *p, long done) {
    if (log_level > BMC_LOG_INFO) return;
    double elapsed = bmc_now() - p->t_start;
    if (p->tty && p->printed) fputs("\r\033[K", stderr);
    char ts[32], hms[32];
    bmc_utc_timestamp(ts, sizeof ts);
    format_hms(elapsed, hms, sizeof hms);
    fprintf(stderr, "%s [r%d] %s info: %s: %ld %s in %s (%.3g %s/s)\n", ts, bmc_log_rank(),
            log_program, p->label, done, p->what, hms,
            elapsed > 0 ? (double)done / elapsed : 0.0, p->what);
    fflush(stderr);
}
