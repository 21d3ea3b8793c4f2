/* bmc_config_get.c — typed reads of a loaded config tree, with errors that point at the text.
 *
 * Typed getters (type and range checked, defaults for optional keys) and the unknown-key check
 * that suggests the nearest known key (edit distance). Every error reads "file:line:col: ..."
 * at the offending value or key, names the key and what was allowed, and carries a hint.
 * Not here: loading (bmc_config.c), output and builders (bmc_config_emit.c), key meanings.
 */
#include "bmc_config.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"

/* "'two' (string)", "a mapping", "an empty value (null)" — what a message says was found. */
static void describe_found(const bmc_cfg_node *n, char *buf, size_t size) {
    if (n->type == BMC_CFG_MAP || n->type == BMC_CFG_SEQ) {
        snprintf(buf, size, "a %s", bmc_cfg_type_name(n->type));
    } else if (n->type == BMC_CFG_NULL && (!n->text || !n->text[0])) {
        snprintf(buf, size, "an empty value (null)");
    } else {
        const char *text = n->text ? n->text : "";
        int cut = strlen(text) > 60;
        snprintf(buf, size, "'%.60s%s' (%s)", text, cut ? "..." : "", bmc_cfg_type_name(n->type));
    }
}

/* ---------------------------------------------------------------- unknown keys */

/* Levenshtein distance between two byte strings (insert, delete, substitute: cost 1). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = XNEW(row, lb + 1);
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

const char *bmc_cfg_nearest(const char *word, const char *const *names, size_t n_names) {
    size_t len = strlen(word), limit = len / 3 > 2 ? len / 3 : 2, best_d = (size_t)-1;
    const char *best = NULL;
    for (size_t k = 0; k < n_names; k++) {
        size_t d = edit_distance(word, names[k]);
        if (d < best_d) best_d = d, best = names[k];
    }
    return best && best_d <= limit && best_d < len ? best : NULL;
}

/* "'a', 'b', 'c'" into buf, ending in ", ..." when the names do not all fit. */
static void list_names(const char *const *names, size_t n_names, char *buf, size_t size) {
    size_t used = 0;
    BMC_CHECK(size >= 16);
    buf[0] = '\0';
    for (size_t k = 0; k < n_names; k++) {
        if (used + strlen(names[k]) + 4 + 6 >= size) {
            snprintf(buf + used, size - used, "%s...", k ? ", " : "");
            return;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s'%s'", k ? ", " : "", names[k]);
    }
}

int bmc_cfg_check_keys(const bmc_cfg_node *map, const char *const *known, size_t n_known,
                       const char *where, bmc_err *err) {
    char found[128], hint[BMC_ERR_HINT_MAX], names[BMC_ERR_HINT_MAX - 32];
    if (!map) return 0;
    if (map->type != BMC_CFG_MAP) {
        describe_found(map, found, sizeof found);
        return bmc_cfg_error_at(map, err, "write 'key: value' lines here",
                                "%s must be a mapping, got %s", where, found);
    }
    for (size_t k = 0; k < map->n; k++) {
        size_t j = 0;
        while (j < n_known && strcmp(known[j], map->keys[k])) j++;
        if (j < n_known) continue;
        const char *near = bmc_cfg_nearest(map->keys[k], known, n_known);
        if (near) {
            snprintf(hint, sizeof hint, "did you mean '%s'?", near);
        } else {
            list_names(known, n_known, names, sizeof names);
            snprintf(hint, sizeof hint, "known keys: %s", n_known ? names : "(none)");
        }
        bmc_cfg_node at; /* the key's position, for the message */
        memset(&at, 0, sizeof at);
        at.file = map->file, at.line = map->key_line[k], at.col = map->key_col[k];
        return bmc_cfg_error_at(&at, err, hint, "unknown key '%s' in %s", map->keys[k], where);
    }
    return 0;
}

/* ---------------------------------------------------------------- typed getters */

/* 1 = found (*value set), 0 = absent and optional, -1 = error recorded. `expect` describes
 * the allowed values ("an integer in [1, 4096]") for the missing-key hint. */
static int lookup_value(const bmc_cfg_node *map, const char *key, int required,
                        const char *expect, const bmc_cfg_node **value, bmc_err *err) {
    char found[128], hint[BMC_ERR_HINT_MAX];
    BMC_CHECK(key && err);
    if (map && map->type != BMC_CFG_MAP) {
        describe_found(map, found, sizeof found);
        return bmc_cfg_error_at(map, err, "write 'key: value' lines here",
                                "expected a mapping holding '%s', got %s", key, found);
    }
    *value = bmc_cfg_get(map, key);
    if (*value) return 1;
    if (!required) return 0;
    snprintf(hint, sizeof hint, "add '%s: <%s>' to this mapping", key, expect);
    return bmc_cfg_error_at(map, err, hint, "missing key '%s' in this mapping", key);
}

static int wrong_value(const bmc_cfg_node *v, const char *key, const char *expect,
                       const char *hint, bmc_err *err) {
    char found[128];
    describe_found(v, found, sizeof found);
    return bmc_cfg_error_at(v, err, hint, "'%s' must be %s, got %s", key, expect, found);
}

/* A quoted string that the loader would have typed as `t` had it been written plainly
 * (only on error paths: it runs the loader on the text). */
static int quoted_as(const bmc_cfg_node *v, bmc_cfg_type t) {
    if (v->type != BMC_CFG_STRING || strchr(v->text, '\n')) return 0;
    bmc_err ignored = {0};
    bmc_cfg_node *plain = bmc_cfg_load_string(v->text, "(probe)", &ignored);
    int same = plain && plain->type == t;
    bmc_cfg_free(plain);
    return same;
}

int bmc_cfg_int(const bmc_cfg_node *map, const char *key, int required, long long def,
                long long min, long long max, long long *out, bmc_err *err) {
    char expect[96];
    BMC_CHECK(out && min <= max);
    if (min == LLONG_MIN && max == LLONG_MAX) snprintf(expect, sizeof expect, "an integer");
    else snprintf(expect, sizeof expect, "an integer in [%lld, %lld]", min, max);
    const bmc_cfg_node *v = NULL;
    int rc = lookup_value(map, key, required, expect, &v, err);
    if (rc <= 0) {
        if (rc == 0) *out = def;
        return rc;
    }
    if (v->type != BMC_CFG_INT || v->v.i < min || v->v.i > max) {
        const char *hint = quoted_as(v, BMC_CFG_INT) ? "remove the quotes: a quoted value is text"
                           : v->type == BMC_CFG_INT  ? "use a value inside the range"
                                                     : "write a whole number without quotes";
        return wrong_value(v, key, expect, hint, err);
    }
    *out = v->v.i;
    return 0;
}

int bmc_cfg_double(const bmc_cfg_node *map, const char *key, int required, double def,
                   double min, double max, double *out, bmc_err *err) {
    char expect[96];
    BMC_CHECK(out && min <= max);
    if (isinf(min) && isinf(max)) snprintf(expect, sizeof expect, "a number");
    else snprintf(expect, sizeof expect, "a number in [%.17g, %.17g]", min, max);
    const bmc_cfg_node *v = NULL;
    int rc = lookup_value(map, key, required, expect, &v, err);
    if (rc <= 0) {
        if (rc == 0) *out = def;
        return rc;
    }
    double x = v->type == BMC_CFG_INT ? (double)v->v.i : v->type == BMC_CFG_FLOAT ? v->v.f : NAN;
    if (!(x >= min && x <= max)) { /* also refuses NaN */
        int number = v->type == BMC_CFG_INT || v->type == BMC_CFG_FLOAT;
        const char *hint = quoted_as(v, BMC_CFG_INT) || quoted_as(v, BMC_CFG_FLOAT)
                               ? "remove the quotes: a quoted value is text"
                           : number && isnan(x) ? "NaN is not accepted here: write a number"
                           : number ? "use a value inside the range"
                                    : "write a number such as 0.5 or 1e-3 without quotes";
        return wrong_value(v, key, expect, hint, err);
    }
    *out = x;
    return 0;
}

int bmc_cfg_bool(const bmc_cfg_node *map, const char *key, int required, int def, int *out,
                 bmc_err *err) {
    BMC_CHECK(out);
    const bmc_cfg_node *v = NULL;
    int rc = lookup_value(map, key, required, "true or false", &v, err);
    if (rc <= 0) {
        if (rc == 0) *out = def;
        return rc;
    }
    if (v->type != BMC_CFG_BOOL) {
        const char *hint = quoted_as(v, BMC_CFG_BOOL)
                               ? "remove the quotes: a quoted value is text"
                               : "write true or false (YAML 1.2 reads yes/no/on/off as text)";
        return wrong_value(v, key, "true or false", hint, err);
    }
    *out = v->v.b;
    return 0;
}

int bmc_cfg_string(const bmc_cfg_node *map, const char *key, int required, const char *def,
                   const char **out, bmc_err *err) {
    BMC_CHECK(out);
    const bmc_cfg_node *v = NULL;
    int rc = lookup_value(map, key, required, "text", &v, err);
    if (rc <= 0) {
        if (rc == 0) *out = def;
        return rc;
    }
    if (v->type == BMC_CFG_NULL || v->type == BMC_CFG_MAP || v->type == BMC_CFG_SEQ)
        return wrong_value(v, key, "a string", "write a single value on the same line as the key",
                           err);
    *out = v->text;
    return 0;
}

int bmc_cfg_enum(const bmc_cfg_node *map, const char *key, int required, int def,
                 const char *const *choices, size_t n_choices, int *out, bmc_err *err) {
    char names[BMC_ERR_HINT_MAX - 32], expect[BMC_ERR_HINT_MAX], hint[BMC_ERR_HINT_MAX];
    BMC_CHECK(out && choices && n_choices > 0 && n_choices <= INT_MAX);
    list_names(choices, n_choices, names, sizeof names);
    snprintf(expect, sizeof expect, "one of %s", names);
    const bmc_cfg_node *v = NULL;
    int rc = lookup_value(map, key, required, expect, &v, err);
    if (rc <= 0) {
        if (rc == 0) *out = def;
        return rc;
    }
    int scalar = v->type != BMC_CFG_NULL && v->type != BMC_CFG_MAP && v->type != BMC_CFG_SEQ;
    for (size_t k = 0; scalar && k < n_choices; k++) {
        if (!strcmp(choices[k], v->text)) {
            *out = (int)k;
            return 0;
        }
    }
    const char *near = scalar ? bmc_cfg_nearest(v->text, choices, n_choices) : NULL;
    if (near) snprintf(hint, sizeof hint, "did you mean '%s'?", near);
    else snprintf(hint, sizeof hint, "choose one of the listed values");
    return wrong_value(v, key, expect, hint, err);
}

/* "a finite number > 0", "a number in [0, 1]", ...: what a list entry of spec must be. */
static void describe_entry(const bmc_cfg_list_spec *spec, char *buf, size_t size) {
    int has_min = spec->min > -DBL_MAX, has_max = spec->max < DBL_MAX;
    const char *kind = spec->max == DBL_MAX ? "a finite number" : "a number";
    if (has_min && has_max)
        snprintf(buf, size, "%s in %c%.17g, %.17g]", kind, spec->above_min ? '(' : '[',
                 spec->min, spec->max);
    else if (has_min)
        snprintf(buf, size, "%s %s %.17g", kind, spec->above_min ? ">" : ">=", spec->min);
    else if (has_max)
        snprintf(buf, size, "%s <= %.17g", kind, spec->max);
    else
        snprintf(buf, size, "%s", kind);
}

int bmc_cfg_double_list(const bmc_cfg_node *map, const char *key, int required,
                        const bmc_cfg_list_spec *spec, double **values, size_t *n,
                        bmc_err *err) {
    BMC_CHECK(spec && values && n && spec->min <= spec->max);
    char entry[128], what[160], found[128], hint[BMC_ERR_HINT_MAX];
    *values = NULL;
    *n = 0;
    describe_entry(spec, entry, sizeof entry);
    snprintf(what, sizeof what, "%s%s%s", spec->what ? "invalid " : "",
             spec->what ? spec->what : "", spec->what ? ": " : "");
    const bmc_cfg_node *v = NULL;
    int rc = lookup_value(map, key, required, "a list of numbers", &v, err);
    if (rc <= 0) return rc;
    if (v->type == BMC_CFG_NULL && !required) return 0;
    if (v->type != BMC_CFG_SEQ || v->n == 0) {
        if (v->type == BMC_CFG_SEQ) snprintf(found, sizeof found, "an empty list");
        else describe_found(v, found, sizeof found);
        snprintf(hint, sizeof hint, "write a list such as %s",
                 spec->example ? spec->example : "[0.5, 1, 2]");
        return bmc_cfg_error_at(v, err, hint,
                                "%s'%s' must be a non-empty list of numbers, got %s", what, key,
                                found);
    }
    snprintf(hint, sizeof hint, "entries of '%s' must be %s%s", key, entry,
             spec->increasing ? ", in strictly increasing order without duplicates" : "");
    double *out = XNEW(out, v->n);
    for (size_t k = 0; k < v->n; k++) {
        const bmc_cfg_node *it = v->items[k];
        double x = it->type == BMC_CFG_INT ? (double)it->v.i
                   : it->type == BMC_CFG_FLOAT ? it->v.f : NAN;
        int ok = x >= spec->min && x <= spec->max && !(spec->above_min && x == spec->min);
        if (!ok) {
            free(out);
            describe_found(it, found, sizeof found);
            const char *why = quoted_as(it, BMC_CFG_INT) || quoted_as(it, BMC_CFG_FLOAT)
                                  ? "remove the quotes: a quoted value is text"
                                  : hint;
            return bmc_cfg_error_at(it, err, why, "%s'%s' entry %zu must be %s, got %s", what,
                                    key, k, entry, found);
        }
        if (spec->increasing && k > 0 && !(x > out[k - 1])) {
            free(out);
            return bmc_cfg_error_at(it, err, hint,
                                    "%s'%s' entry %zu (%s) is not above entry %zu (%s)", what,
                                    key, k, it->text ? it->text : "?", k - 1,
                                    v->items[k - 1]->text ? v->items[k - 1]->text : "?");
        }
        out[k] = x;
    }
    *values = out;
    *n = v->n;
    return 0;
}

int bmc_cfg_mem(const bmc_cfg_node *map, const char *key, size_t def, size_t *out, bmc_err *err) {
    const bmc_cfg_node *n = bmc_cfg_get(map, key);
    *out = def;
    if (!n || n->type == BMC_CFG_NULL) return 0;
    if (n->type == BMC_CFG_INT && n->v.i > 0) {
        *out = (size_t)n->v.i;
        return 0;
    }
    char *end = NULL;
    double v = n->text ? strtod(n->text, &end) : -1.0;
    double mult = 1.0;
    if (end && *end) {
        switch (*end == 'i' ? 0 : *end) {
        case 'k': case 'K': mult = 1024.0; break;
        case 'm': case 'M': mult = 1048576.0; break;
        case 'g': case 'G': mult = 1073741824.0; break;
        case 't': case 'T': mult = 1099511627776.0; break;
        default: mult = -1.0;
        }
        end++;
        if (*end == 'i') end++;
        if (*end == 'B' || *end == 'b') end++;
    }
    if (!(v > 0) || mult < 0 || (end && *end) || v * mult < 1.0 || v * mult > 1e18)
        return bmc_cfg_error_at(n, err, "write bytes or a size such as 512M or 2G",
                                "%s '%s' is not a memory size", key, n->text ? n->text : "?");
    *out = (size_t)(v * mult);
    return 0;
}
