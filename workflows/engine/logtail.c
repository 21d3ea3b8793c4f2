/* logtail.c — what a failed stage said: its own `error:` line and the end of its log.
 *
 * A stage reports a user error as `error: MESSAGE` and `  hint: HINT` (bmc_err_print); the
 * last such pair in the log is the cause to show first. The log's last lines follow, leaving
 * out the launcher's own closing report (Open MPI's dashed blocks), so the stage's last words
 * are what one sees. Not here: running stages (execute.c, proc.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "workflow.h"

#define LOG_TAIL_LINES 10

char *wf_log_error(const char *log_path, char *hint, size_t hint_len) {
    hint[0] = '\0';
    bmc_err ignored = {0};
    char *text = bmc_read_file(log_path, NULL, &ignored);
    if (!text) return NULL;
    char *found = NULL;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        if (!strncmp(line, "error: ", 7)) {
            free(found);
            found = xstrdup(line + 7);
            hint[0] = '\0';
            if (nl && !strncmp(nl + 1, "  hint: ", 8)) {
                size_t n = strcspn(nl + 9, "\n");
                snprintf(hint, hint_len, "%.*s", (int)n, nl + 9);
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return found;
}

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
void wf_print_log_tail(const char *log_path) {
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

