/* bmc_config.c — load a YAML file with libyaml into the typed tree of bmc_config.h, and read it.
 *
 * Walks libyaml's event stream (one document), types plain scalars with YAML 1.2's core schema
 * and records file:line:col on every node and key. Anchors, aliases, non-standard tags,
 * non-scalar or duplicate keys and extra documents are load errors. Also here: lookup, type
 * names, errors at a node, and freeing.
 * Not here: typed getters and key checks (bmc_config_get.c); canonical text, YAML output,
 * builders and clone (bmc_config_emit.c); what any key means (each stage owns its schema).
 */
#include "bmc_config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "bmc_alloc.h"

/* Deeper nesting than this is refused (the walk is recursive). */
#define CFG_MAX_DEPTH 256
#define YAML_STD_TAG "tag:yaml.org,2002:"

static const char *const SYNTAX_HINT =
    "check the indentation (spaces only; keys of one mapping start in the same column) and "
    "quote values that contain ': ' or ' #' or start with one of [ ] { } * & ! | > % @ `";

/* ---------------------------------------------------------------- errors and positions */

static int error_at_posv(const char *file, int line, int col, bmc_err *err, const char *hint,
                         const char *fmt, va_list ap) {
    char msg[BMC_ERR_MSG_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (file && line > 0) return bmc_err_set(err, hint, "%s:%d:%d: %s", file, line, col, msg);
    if (file) return bmc_err_set(err, hint, "%s: %s", file, msg);
    return bmc_err_set(err, hint, "%s", msg);
}

static int error_at_pos(const char *file, int line, int col, bmc_err *err, const char *hint,
                        const char *fmt, ...) BMC_PRINTF(6, 7);
static int error_at_pos(const char *file, int line, int col, bmc_err *err, const char *hint,
                        const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    error_at_posv(file, line, col, err, hint, fmt, ap);
    va_end(ap);
    return -1;
}

int bmc_cfg_error_at(const bmc_cfg_node *node, bmc_err *err, const char *hint, const char *fmt,
                     ...) {
    va_list ap;
    va_start(ap, fmt);
    error_at_posv(node ? node->file : NULL, node ? node->line : 0, node ? node->col : 0, err,
                  hint, fmt, ap);
    va_end(ap);
    return -1;
}

/* libyaml marks are 0-based size_t; ours are 1-based int. */
static int mark_pos(size_t zero_based) {
    return zero_based >= (size_t)INT_MAX ? INT_MAX : (int)zero_based + 1;
}

const char *bmc_cfg_type_name(bmc_cfg_type t) {
    switch (t) {
    case BMC_CFG_NULL: return "null";
    case BMC_CFG_BOOL: return "boolean";
    case BMC_CFG_INT: return "integer";
    case BMC_CFG_FLOAT: return "float";
    case BMC_CFG_STRING: return "string";
    case BMC_CFG_MAP: return "mapping";
    case BMC_CFG_SEQ: return "sequence";
    }
    return "unknown";
}

/* ---------------------------------------------------------------- scalar typing (core schema) */

static size_t span_of(const char *s, const char *set) { return strspn(s, set); }

static int is_null_text(const char *s) {
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* 1 true, 0 false, -1 not a boolean. */
static int bool_text(const char *s) {
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return 0;
    return -1;
}

/* 1 integer (value in *v), 0 not integer syntax, -1 integer syntax but out of range. */
static int int_text(const char *s, long long *v) {
    const char *digits = s + (s[0] == '+' || s[0] == '-');
    int base = 0;
    const char *from = s;
    if (*digits && span_of(digits, "0123456789") == strlen(digits)) {
        base = 10;
    } else if (s[0] == '0' && s[1] == 'x' && s[2] && span_of(s + 2, "0123456789abcdefABCDEF") ==
                                                         strlen(s + 2)) {
        base = 16, from = s + 2;
    } else if (s[0] == '0' && s[1] == 'o' && s[2] && span_of(s + 2, "01234567") == strlen(s + 2)) {
        base = 8, from = s + 2;
    }
    if (!base) return 0;
    errno = 0;
    *v = strtoll(from, NULL, base);
    return errno == ERANGE ? -1 : 1;
}

/* 1 float (value in *v), 0 not float syntax, -1 finite syntax whose value overflows. */
static int float_text(const char *s, double *v) {
    const char *p = s + (s[0] == '+' || s[0] == '-');
    if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
        *v = s[0] == '-' ? -INFINITY : INFINITY;
        return 1;
    }
    if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
        *v = NAN;
        return 1;
    }
    size_t before = span_of(p, "0123456789"), after = 0;
    p += before;
    if (*p == '.') after = span_of(++p, "0123456789"), p += after;
    if (before + after == 0) return 0;
    if (*p == 'e' || *p == 'E') {
        p += (p[1] == '+' || p[1] == '-') ? 2 : 1;
        size_t exp_digits = span_of(p, "0123456789");
        if (!exp_digits) return 0;
        p += exp_digits;
    }
    if (*p) return 0;
    *v = strtod(s, NULL);
    return isinf(*v) ? -1 : 1;
}

/* Types a scalar text with the core schema into n (type and v); returns 0, or -1 with a
 * message in why when the text is a number out of range. */
static int type_scalar(const char *text, bmc_cfg_node *n, const char **why) {
    int r;
    if (is_null_text(text)) {
        n->type = BMC_CFG_NULL;
    } else if ((r = bool_text(text)) >= 0) {
        n->type = BMC_CFG_BOOL, n->v.b = r;
    } else if ((r = int_text(text, &n->v.i)) != 0) {
        n->type = BMC_CFG_INT;
        if (r < 0) return *why = "does not fit in a 64-bit integer", -1;
    } else if ((r = float_text(text, &n->v.f)) != 0) {
        n->type = BMC_CFG_FLOAT;
        if (r < 0) return *why = "is too large for a double", -1;
    } else {
        n->type = BMC_CFG_STRING;
    }
    return 0;
}

/* ---------------------------------------------------------------- the libyaml walk */

typedef struct {
    yaml_parser_t parser;
    const char *file;                /* the name in messages; becomes root->file */
    const unsigned char *text;       /* the whole input (for reader-error positions) */
    size_t len;
    bmc_err *err;
} cfg_loader;

static int load_error(cfg_loader *L, yaml_mark_t mark, const char *hint, const char *fmt, ...)
    BMC_PRINTF(4, 5);
static int load_error(cfg_loader *L, yaml_mark_t mark, const char *hint, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    error_at_posv(L->file, mark_pos(mark.line), mark_pos(mark.column), L->err, hint, fmt, ap);
    va_end(ap);
    return -1;
}

/* Records libyaml's own error (reader, scanner or parser) with position and a hint. */
static void parser_error(cfg_loader *L) {
    const yaml_parser_t *p = &L->parser;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR) BMC_BUG("libyaml ran out of memory parsing %s", L->file);
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset: turn it into line:col (columns in characters). */
        size_t end = p->problem_offset < L->len ? p->problem_offset : L->len, line = 0, col = 0;
        for (size_t k = 0; k < end; k++) {
            if (L->text[k] == '\n') line++, col = 0;
            else if ((L->text[k] & 0xC0) != 0x80) col++;
        }
        error_at_pos(L->file, mark_pos(line), mark_pos(col), L->err,
                     "save the file as UTF-8 text; control characters other than tab and "
                     "newline are not allowed",
                     "%s (value 0x%02X)", problem, (unsigned)p->problem_value);
        return;
    }
    const char *hint = SYNTAX_HINT;
    size_t at = p->problem_mark.index;
    if (strstr(problem, "tab") || (at < L->len && L->text[at] == '\t'))
        hint = "YAML does not allow tabs for indentation: use spaces";
    else if (p->context && strstr(p->context, "quoted scalar"))
        hint = "a quoted string is not closed, or contains an invalid escape: check its quotes";
    else if (p->context && strstr(p->context, "flow"))
        hint = "a '[' or '{' is not closed, or its items are not separated by commas";
    if (p->context)
        load_error(L, p->problem_mark, hint, "%s (%s at line %d, column %d)", problem,
                   p->context, mark_pos(p->context_mark.line), mark_pos(p->context_mark.column));
    else
        load_error(L, p->problem_mark, hint, "%s", problem);
}

static int next_event(cfg_loader *L, yaml_event_t *ev) {
    if (yaml_parser_parse(&L->parser, ev)) return 0;
    parser_error(L);
    return -1;
}

/* 0 when the tag is absent, "!" or standard for this kind of node (collection: "map" or
 * "seq"; NULL for a scalar), else -1 with an error at mark. */
static int check_tag(cfg_loader *L, const yaml_char_t *tag, const char *collection,
                     yaml_mark_t mark) {
    if (!tag) return 0;
    const char *t = (const char *)tag;
    if (!strcmp(t, "!")) return 0;
    size_t std_len = strlen(YAML_STD_TAG);
    int standard = !strncmp(t, YAML_STD_TAG, std_len);
    const char *name = standard ? t + std_len : t;
    if (standard && !collection &&
        (!strcmp(name, "str") || !strcmp(name, "int") || !strcmp(name, "float") ||
         !strcmp(name, "bool") || !strcmp(name, "null")))
        return 0;
    if (standard && collection && !strcmp(name, collection)) return 0;
    const char *kind = !collection ? "scalar" : !strcmp(collection, "map") ? "mapping" : "sequence";
    return load_error(L, mark,
                      "remove the tag; only !!str, !!int, !!float, !!bool, !!null (scalars), "
                      "!!map (mappings) and !!seq (sequences) are accepted",
                      "unsupported tag '%s%s' on a %s", standard ? "!!" : "", name, kind);
}

static int refuse_anchor(cfg_loader *L, const yaml_char_t *anchor, yaml_mark_t mark) {
    if (!anchor) return 0;
    return load_error(L, mark, "write the value out again instead of using &anchor / *alias",
                      "anchor '&%s' is not supported", (const char *)anchor);
}

static bmc_cfg_node *new_positioned(cfg_loader *L, bmc_cfg_type type, yaml_mark_t mark) {
    bmc_cfg_node *n = xcalloc(1, sizeof *n);
    n->type = type;
    n->file = L->file;
    n->line = mark_pos(mark.line);
    n->col = mark_pos(mark.column);
    return n;
}

/* A scalar node from its event: typed when plain (or when a standard tag asks for a type). */
static bmc_cfg_node *make_scalar(cfg_loader *L, const yaml_event_t *ev) {
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (refuse_anchor(L, ev->data.scalar.anchor, ev->start_mark)) return NULL;
    if (check_tag(L, ev->data.scalar.tag, NULL, ev->start_mark)) return NULL;
    if (memchr(value, '\0', len)) {
        load_error(L, ev->start_mark, "remove the \\0 escape", "string contains a NUL character");
        return NULL;
    }
    bmc_cfg_node *n = new_positioned(L, BMC_CFG_STRING, ev->start_mark);
    n->text = xmalloc(len + 1);
    memcpy(n->text, value, len);
    n->text[len] = '\0';
    const char *tag = (const char *)ev->data.scalar.tag;
    const char *tag_type = tag && tag[0] != '!' ? tag + strlen(YAML_STD_TAG) : NULL;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag;
    if (!plain && (!tag_type || !strcmp(tag_type, "str"))) return n; /* quoted, block, !!str */
    const char *why = NULL;
    if (type_scalar(n->text, n, &why)) {
        load_error(L, ev->start_mark, "quote it to keep it as text, or use a smaller value",
                   "number '%s' %s", n->text, why);
        bmc_cfg_free(n);
        return NULL;
    }
    if (!tag_type) return n;
    bmc_cfg_type want = !strcmp(tag_type, "int")     ? BMC_CFG_INT
                        : !strcmp(tag_type, "float") ? BMC_CFG_FLOAT
                        : !strcmp(tag_type, "bool")  ? BMC_CFG_BOOL
                                                     : BMC_CFG_NULL;
    if (want == BMC_CFG_FLOAT && n->type == BMC_CFG_INT)
        n->type = BMC_CFG_FLOAT, n->v.f = (double)n->v.i;
    if (n->type != want) {
        load_error(L, ev->start_mark, "remove the tag or fix the value",
                   "'%s' is not a valid value for tag !!%s", n->text, tag_type);
        bmc_cfg_free(n);
        return NULL;
    }
    return n;
}

static bmc_cfg_node *parse_node(cfg_loader *L, const yaml_event_t *ev, int depth);

static bmc_cfg_node *parse_seq(cfg_loader *L, const yaml_event_t *start, int depth) {
    bmc_cfg_node *seq = new_positioned(L, BMC_CFG_SEQ, start->start_mark);
    for (;;) {
        yaml_event_t ev;
        if (next_event(L, &ev)) break;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return seq;
        }
        bmc_cfg_node *item = parse_node(L, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!item) break;
        bmc_cfg_seq_push(seq, item);
    }
    bmc_cfg_free(seq);
    return NULL;
}

/* Reads one map key event into a fresh string; NULL on error (recorded). */
static char *parse_key(cfg_loader *L, const yaml_event_t *ev, const bmc_cfg_node *map) {
    if (ev->type == YAML_ALIAS_EVENT) {
        load_error(L, ev->start_mark, "write the key out instead of using *alias",
                   "alias '*%s' is not supported", (const char *)ev->data.alias.anchor);
        return NULL;
    }
    if (ev->type != YAML_SCALAR_EVENT) {
        load_error(L, ev->start_mark, "use a plain word or a quoted string as the key",
                   "a mapping key must be a scalar, not a %s",
                   ev->type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
        return NULL;
    }
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (refuse_anchor(L, ev->data.scalar.anchor, ev->start_mark)) return NULL;
    if (check_tag(L, ev->data.scalar.tag, NULL, ev->start_mark)) return NULL;
    if (memchr(value, '\0', len)) {
        load_error(L, ev->start_mark, "remove the \\0 escape", "key contains a NUL character");
        return NULL;
    }
    for (size_t k = 0; k < map->n; k++) {
        if (!strcmp(map->keys[k], value)) {
            load_error(L, ev->start_mark, "a mapping cannot repeat a key: remove or merge one",
                       "duplicate key '%s' (first defined at line %d)", value, map->key_line[k]);
            return NULL;
        }
    }
    return xstrdup(value);
}

static bmc_cfg_node *parse_map(cfg_loader *L, const yaml_event_t *start, int depth) {
    bmc_cfg_node *map = new_positioned(L, BMC_CFG_MAP, start->start_mark);
    for (;;) {
        yaml_event_t ev;
        if (next_event(L, &ev)) break;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return map;
        }
        char *key = parse_key(L, &ev, map);
        yaml_mark_t key_mark = ev.start_mark;
        yaml_event_delete(&ev);
        if (!key) break;
        bmc_cfg_node *value = NULL;
        if (!next_event(L, &ev)) {
            value = parse_node(L, &ev, depth + 1);
            yaml_event_delete(&ev);
        }
        if (!value) {
            free(key);
            break;
        }
        bmc_cfg_map_set(map, key, value); /* appends: duplicates were refused above */
        BMC_CHECK(map->n > 0 && !strcmp(map->keys[map->n - 1], key));
        map->key_line[map->n - 1] = mark_pos(key_mark.line);
        map->key_col[map->n - 1] = mark_pos(key_mark.column);
        free(key);
    }
    bmc_cfg_free(map);
    return NULL;
}

/* Builds the node that starts with event ev (the caller deletes ev); NULL on error. */
static bmc_cfg_node *parse_node(cfg_loader *L, const yaml_event_t *ev, int depth) {
    if (depth > CFG_MAX_DEPTH) {
        load_error(L, ev->start_mark, "flatten the structure",
                   "nesting is deeper than %d levels", CFG_MAX_DEPTH);
        return NULL;
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        load_error(L, ev->start_mark, "write the value out again instead of using *alias",
                   "alias '*%s' is not supported", (const char *)ev->data.alias.anchor);
        return NULL;
    case YAML_SCALAR_EVENT: return make_scalar(L, ev);
    case YAML_SEQUENCE_START_EVENT:
        if (refuse_anchor(L, ev->data.sequence_start.anchor, ev->start_mark) ||
            check_tag(L, ev->data.sequence_start.tag, "seq", ev->start_mark))
            return NULL;
        return parse_seq(L, ev, depth);
    case YAML_MAPPING_START_EVENT:
        if (refuse_anchor(L, ev->data.mapping_start.anchor, ev->start_mark) ||
            check_tag(L, ev->data.mapping_start.tag, "map", ev->start_mark))
            return NULL;
        return parse_map(L, ev, depth);
    default: BMC_BUG("unexpected libyaml event %d in %s", (int)ev->type, L->file);
    }
}

/* Reads the stream: no document → a NULL-typed root; exactly one document → its tree. */
static bmc_cfg_node *load_stream(cfg_loader *L) {
    yaml_event_t ev;
    bmc_cfg_node *root = NULL;
    if (next_event(L, &ev)) return NULL;
    BMC_CHECK(ev.type == YAML_STREAM_START_EVENT);
    yaml_event_delete(&ev);
    if (next_event(L, &ev)) return NULL;
    if (ev.type == YAML_STREAM_END_EVENT) {
        root = new_positioned(L, BMC_CFG_NULL, ev.start_mark);
        root->line = root->col = 1;
        root->text = xstrdup("");
        yaml_event_delete(&ev);
        return root;
    }
    BMC_CHECK(ev.type == YAML_DOCUMENT_START_EVENT);
    yaml_event_delete(&ev);
    if (next_event(L, &ev)) return NULL;
    root = parse_node(L, &ev, 0);
    yaml_event_delete(&ev);
    if (!root) return NULL;
    int failed = next_event(L, &ev); /* document end */
    if (!failed) {
        BMC_CHECK(ev.type == YAML_DOCUMENT_END_EVENT);
        yaml_event_delete(&ev);
        failed = next_event(L, &ev);
    }
    if (!failed) {
        if (ev.type == YAML_DOCUMENT_START_EVENT)
            failed = load_error(L, ev.start_mark,
                                "keep one document per file: remove this '---' and what follows, "
                                "or move it to another file",
                                "a second YAML document starts here (only one is allowed)");
        yaml_event_delete(&ev);
    }
    if (failed) {
        bmc_cfg_free(root);
        return NULL;
    }
    return root;
}

static bmc_cfg_node *load_buffer(const unsigned char *text, size_t len, const char *name,
                                 bmc_err *err) {
    cfg_loader L;
    memset(&L, 0, sizeof L);
    char *file = xstrdup(name);
    L.file = file, L.text = text, L.len = len, L.err = err;
    if (!yaml_parser_initialize(&L.parser)) BMC_BUG("yaml_parser_initialize failed");
    yaml_parser_set_input_string(&L.parser, text, len);
    bmc_cfg_node *root = load_stream(&L);
    yaml_parser_delete(&L.parser);
    if (!root) {
        free(file);
        return NULL;
    }
    root->owns_file = 1;
    return root;
}

bmc_cfg_node *bmc_cfg_load_string(const char *text, const char *name, bmc_err *err) {
    BMC_CHECK(text && name && err);
    return load_buffer((const unsigned char *)text, strlen(text), name, err);
}

bmc_cfg_node *bmc_cfg_load_file(const char *path, bmc_err *err) {
    BMC_CHECK(path && err);
    FILE *f = fopen(path, "rb");
    if (!f) {
        bmc_err_set(err, "check that the file exists and is readable", "%s: cannot open: %s",
                    path, strerror(errno));
        return NULL;
    }
    size_t len = 0, cap = 4096;
    unsigned char *buf = xmalloc(cap);
    for (;;) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        cap = bmc_mul_size(cap, 2);
        buf = xrealloc(buf, cap);
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    bmc_cfg_node *root = NULL;
    if (read_errno)
        bmc_err_set(err, "check that the path names a readable file", "%s: cannot read: %s", path,
                    strerror(read_errno));
    else
        root = load_buffer(buf, len, path, err);
    free(buf);
    return root;
}

/* ---------------------------------------------------------------- freeing and lookup */

void bmc_cfg_free_node(bmc_cfg_node *node) {
    if (!node) return;
    for (size_t k = 0; k < node->n; k++) {
        bmc_cfg_free_node(node->items[k]);
        if (node->keys) free(node->keys[k]);
    }
    free(node->items);
    free(node->keys);
    free(node->key_line);
    free(node->key_col);
    free(node->text);
    /* A loaded root owns the file name of its document, wherever it now sits. */
    if (node->owns_file) free((char *)node->file);
    free(node);
}

void bmc_cfg_free(bmc_cfg_node *root) { bmc_cfg_free_node(root); }

const bmc_cfg_node *bmc_cfg_get(const bmc_cfg_node *map, const char *key) {
    if (!map || map->type != BMC_CFG_MAP || !key) return NULL;
    for (size_t k = 0; k < map->n; k++)
        if (!strcmp(map->keys[k], key)) return map->items[k];
    return NULL;
}
