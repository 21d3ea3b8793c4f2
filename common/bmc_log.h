/* bmc_log.h — rank-aware logging and progress lines.
 *
 * Lines look like `2026-11-26T22:55:40Z [r0] info: text` on stderr. By default only rank 0
 * prints info/debug; warnings and bmc_log_all print from any rank. Progress lines
 * (done/total, rate, ETA) redraw in place on a terminal and print one line every few seconds
 * to a file (Slurm logs), never with escape codes. Not here: error agreement (bmc_error.h).
 */
#ifndef BMC_LOG_H
#define BMC_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "bmc_attr.h"

typedef enum { BMC_LOG_DEBUG = 0, BMC_LOG_INFO = 1, BMC_LOG_WARN = 2, BMC_LOG_QUIET = 3 } bmc_log_level;

/* Set the program name shown in logs and the minimum level; reads BMC_LOG_LEVEL
 * (debug|info|warn|quiet) from the environment when level < 0. Call after MPI_Init. Local. */
void bmc_log_init(const char *program, int level);
/* Rank of this process in MPI_COMM_WORLD (0 when MPI is not running). */
int bmc_log_rank(void);

void bmc_log_debug(const char *fmt, ...) BMC_PRINTF(1, 2);
void bmc_log_info(const char *fmt, ...) BMC_PRINTF(1, 2);
void bmc_log_warn(const char *fmt, ...) BMC_PRINTF(1, 2);
/* Info from every rank, tagged with the rank. */
void bmc_log_all(const char *fmt, ...) BMC_PRINTF(1, 2);

/* Wall clock in seconds (monotonic). */
double bmc_now(void);
/* "2026-11-26T22:55:40Z" into buf (at least 21 bytes). */
void bmc_utc_timestamp(char *buf, size_t n);

/* A progress reporter for long loops. Only the rank that calls it prints (callers usually
 * reduce their counts and report from rank 0). */
typedef struct bmc_progress {
    char what[64];      /* "images" */
    char label[64];     /* "extract" */
    long total;
    double t_start, t_last;
    double interval;    /* seconds between lines when not a TTY */
    int tty;
    int printed;
} bmc_progress;

void bmc_progress_start(bmc_progress *p, const char *label, const char *what, long total);
/* Report `done` items finished; prints when enough time has passed (or done == total). */
void bmc_progress_update(bmc_progress *p, long done);
/* Final line with the total time and mean rate. */
void bmc_progress_finish(bmc_progress *p, long done);
/* Format "label: done/total (pct%) rate what/s ETA h:mm:ss" into buf (for tests). */
void bmc_progress_format(const bmc_progress *p, long done, double now, char *buf, size_t n);

#endif
