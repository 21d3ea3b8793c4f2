/* subst.c — placeholders (`{run_dir}`, `{subject:02d}`, ...) and word splitting.
 *
 * A placeholder is `{name}` or `{name:spec}` where spec is `[0][width]d` (integers only);
 * `{{` and `}}` stand for literal braces. Which names exist depends on the stage's foreach.
 * Errors are reported at the position of the string that holds the placeholder.
 * Not here: deciding which strings are expanded (workflow.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "workflow.h"

/* A growable heap string. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

static void sb_add(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static const char *const all_names[] = {"run_dir", "workflow", "subject", "train", "test",
                                         "subjects"};
#define N_NAMES (sizeof all_names / sizeof all_names[0])

/* Value of placeholder `name` for these vars; *known = 0 when the name does not exist at
 * all, 1 when it exists but is not available under this foreach. Returns NULL unless the
 * value is available; *subj is set for subject-valued names. */
static const char *lookup(const wf_vars *v, const char *name, int *known,
                          const wf_subject **subj) {
    *known = 0;
    *subj = NULL;
    for (size_t k = 0; k < N_NAMES; k++)
        if (!strcmp(name, all_names[k])) *known = 1;
    if (!strcmp(name, "run_dir")) return v->run_dir;
    if (!strcmp(name, "workflow")) return v->workflow;
    if (!strcmp(name, "subject") && v->each) *subj = v->each;
    else if (!strcmp(name, "subject") && v->foreach == WF_FOREACH_SUBJECTS) *subj = v->subject;
    if (!strcmp(name, "train") && v->foreach == WF_FOREACH_PAIRS) *subj = v->train;
    if (!strcmp(name, "test") && v->foreach == WF_FOREACH_PAIRS) *subj = v->test;
    return *subj ? (*subj)->text : NULL;
}

/* "{run_dir}, {workflow}, {subject}" for the names available under vars. */
static void available_list(const wf_vars *v, char *buf, size_t n) {
    snprintf(buf, n, "{run_dir}, {workflow}%s",
             v->foreach == WF_FOREACH_SUBJECTS ? ", {subject}"
             : v->foreach == WF_FOREACH_PAIRS  ? ", {train}, {test}"
                                               : "");
}

/* Error for a name that is unknown or unavailable here. Returns NULL. */
static char *name_error(const wf_vars *v, const char *name, int known, const bmc_cfg_node *pos,
                        const char *where, bmc_err *err) {
    char avail[128], hint[BMC_ERR_HINT_MAX];
    available_list(v, avail, sizeof avail);
    if (!strcmp(name, "subjects")) {
        bmc_cfg_error_at(pos, err,
                         "write it alone as a params value (`subjects: \"{subjects}\"`), or "
                         "give an input `{foreach: subjects, path: \"...{subject}...\"}`",
                         "placeholder '{subjects}' (the list of subjects) cannot be part of "
                         "a text, in %s",
                         where);
        return NULL;
    }
    if (known) {
        const char *fe = strcmp(name, "subject") ? "subject_pairs" : "subjects";
        snprintf(hint, sizeof hint, "add `foreach: %s` to stage '%s', or remove the placeholder",
                 fe, v->stage_name);
        bmc_cfg_error_at(pos, err, hint, "placeholder '{%s}' in %s needs `foreach: %s`", name,
                         where, fe);
        return NULL;
    }
    const char *best = bmc_cfg_nearest(name, all_names, N_NAMES);
    if (best)
        snprintf(hint, sizeof hint, "did you mean '{%s}'? placeholders here: %s", best, avail);
    else
        snprintf(hint, sizeof hint, "placeholders here: %s (write '{{' for a literal '{')",
                 avail);
    bmc_cfg_error_at(pos, err, hint, "unknown placeholder '{%s}' in %s", name, where);
    return NULL;
}

/* Format a subject value with spec ("" or "[0][width]d"). Returns 0 or -1 (bad spec). */
static int format_value(const char *value, const wf_subject *subj, const char *spec,
                        strbuf *out) {
    if (!spec[0]) {
        sb_add(out, value, strlen(value));
        return 0;
    }
    const char *p = spec;
    int zero = 0;
    if (*p == '0') zero = 1, p++;
    int width = 0;
    while (isdigit((unsigned char)*p) && width < 100) width = width * 10 + (*p++ - '0');
    if (strcmp(p, "d") || width > 64 || !subj || !subj->is_int) return -1;
    char tmp[96];
    if (zero)
        snprintf(tmp, sizeof tmp, "%0*lld", width, subj->value);
    else
        snprintf(tmp, sizeof tmp, "%*lld", width, subj->value);
    sb_add(out, tmp, strlen(tmp));
    return 0;
}

char *wf_subst(const char *text, const wf_vars *v, const bmc_cfg_node *pos, const char *where,
               bmc_err *err) {
    strbuf out = {0};
    sb_add(&out, "", 0);
    const char *p = text;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            sb_add(&out, p, 1);
            p += 2;
            continue;
        }
        if (*p != '{') {
            sb_add(&out, p++, 1);
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close) {
            bmc_cfg_error_at(pos, err, "close it with '}', or write '{{' for a literal '{'",
                             "unterminated placeholder in %s: '%s'", where, text);
            free(out.s);
            return NULL;
        }
        size_t inner_len = (size_t)(close - p - 1);
        char *inner = xmalloc(inner_len + 1);
        memcpy(inner, p + 1, inner_len);
        inner[inner_len] = '\0';
        char *colon = strchr(inner, ':');
        const char *spec = "";
        if (colon) *colon = '\0', spec = colon + 1;
        int known;
        const wf_subject *subj;
        const char *value = lookup(v, inner, &known, &subj);
        if (!value) {
            name_error(v, inner, known, pos, where, err);
            free(inner);
            free(out.s);
            return NULL;
        }
        if (format_value(value, subj, spec, &out) != 0) {
            bmc_cfg_error_at(pos, err,
                             "format specs like {subject:02d} zero-pad integer subjects only",
                             "unsupported format '{%s:%s}' in %s", inner, spec, where);
            free(inner);
            free(out.s);
            return NULL;
        }
        free(inner);
        p = close + 1;
    }
    return out.s;
}

char **wf_split_words(const char *text, size_t *n) {
    size_t count = 0, cap = 4;
    char **words = XNEW(words, cap);
    const char *p = text;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *start = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (count == cap) cap *= 2, words = xrealloc(words, bmc_mul_size(cap, sizeof *words));
        size_t len = (size_t)(p - start);
        words[count] = xmalloc(len + 1);
        memcpy(words[count], start, len);
        words[count][len] = '\0';
        count++;
    }
    *n = count;
    return words;
}

void wf_free_words(char **words, size_t n) {
    if (!words) return;
    for (size_t k = 0; k < n; k++) free(words[k]);
    free(words);
}

char *wf_join_words(char *const *words, size_t n) {
    strbuf b = {0};
    sb_add(&b, "", 0);
    for (size_t k = 0; k < n; k++) {
        if (k) sb_add(&b, " ", 1);
        sb_add(&b, words[k], strlen(words[k]));
    }
    return b.s;
}
