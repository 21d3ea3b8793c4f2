/* bmc_config_emit.c — config trees out of the program: canonical text, YAML output, builders.
 *
 * bmc_cfg_canonical prints a subtree as compact JSON-like flow text with sorted keys (the input
 * of fingerprints); bmc_cfg_emit prints readable block YAML that bmc_cfg_load_* reads back into
 * an equal tree; the builders, clone, map_set and seq_push make trees in code.
 * Not here: parsing (bmc_config.c), typed getters (bmc_config_get.c).
 */
#include "bmc_config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"

/* ---------------------------------------------------------------- a growing string */

typedef struct {
    char *s;
    size_t len, cap;
} strbuf;

static void sb_putn(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap = bmc_mul_size(cap, 2);
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(strbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(strbuf *b, const char *fmt, ...) BMC_PRINTF(2, 3);
static void sb_printf(strbuf *b, const char *fmt, ...) {
    char small[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    BMC_CHECK(n >= 0 && (size_t)n < sizeof small);
    sb_putn(b, small, (size_t)n);
}

/* ---------------------------------------------------------------- scalars as text */

/* A double as text that the loader reads back as the same float: .inf/-.inf/.nan, else
 * "%.17g" with ".0" appended when the digits alone would read as an integer. When shortest:
 * the fewest digits that round-trip, positional like Python's repr for 1e-4 <= |v| < 1e16,
 * and always with a '.' (1.0e+16) so that YAML 1.1 readers (PyYAML) also see a float.
 * buf must hold 40 bytes. */
static void format_double(double v, int shortest, char *buf, size_t size) {
    if (isnan(v)) {
        snprintf(buf, size, ".nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? ".inf" : "-.inf");
        return;
    }
    int digits = shortest ? 1 : 17;
    for (; digits < 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(buf, size, "%.*g", digits, v);
    if (shortest && strchr(buf, 'e')) { /* like Python's repr: positional for 1e-4 <= |v| < 1e16 */
        char sci[64];
        snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
        int exponent = atoi(strchr(sci, 'e') + 1);
        if (exponent >= -4 && exponent < 16)
            snprintf(buf, size, "%.*f", digits - 1 - exponent > 0 ? digits - 1 - exponent : 0, v);
    }
    char *e = strchr(buf, 'e');
    if (shortest && e && !strchr(buf, '.')) { /* "1e+16" → "1.0e+16": YAML 1.1 readers need it */
        memmove(e + 2, e, strlen(e) + 1);
        memcpy(e, ".0", 2);
    }
    if (!strpbrk(buf, ".eEni")) strncat(buf, ".0", size - strlen(buf) - 1);
}

/* JSON string: escapes " \ and control characters (short forms where JSON has them). */
static void put_json_string(strbuf *b, const char *s) {
    sb_putn(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\b': sb_puts(b, "\\b"); break;
        case '\f': sb_puts(b, "\\f"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\r': sb_puts(b, "\\r"); break;
        case '\t': sb_puts(b, "\\t"); break;
        default:
            if (*p < 0x20) sb_printf(b, "\\u%04x", *p);
            else sb_putn(b, (const char *)p, 1);
        }
    }
    sb_putn(b, "\"", 1);
}

/* ---------------------------------------------------------------- canonical text */

typedef struct {
    const char *key;
    const bmc_cfg_node *value;
} map_entry;

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const map_entry *)a)->key, ((const map_entry *)b)->key);
}

static void put_canonical(strbuf *b, const bmc_cfg_node *n) {
    char num[64];
    if (!n) {
        sb_puts(b, "null");
        return;
    }
    switch (n->type) {
    case BMC_CFG_NULL: sb_puts(b, "null"); break;
    case BMC_CFG_BOOL: sb_puts(b, n->v.b ? "true" : "false"); break;
    case BMC_CFG_INT: sb_printf(b, "%lld", n->v.i); break;
    case BMC_CFG_FLOAT:
        format_double(n->v.f, 0, num, sizeof num);
        sb_puts(b, num);
        break;
    case BMC_CFG_STRING: put_json_string(b, n->text); break;
    case BMC_CFG_SEQ:
        sb_putn(b, "[", 1);
        for (size_t k = 0; k < n->n; k++) {
            if (k) sb_putn(b, ",", 1);
            put_canonical(b, n->items[k]);
        }
        sb_putn(b, "]", 1);
        break;
    case BMC_CFG_MAP: {
        map_entry *sorted = XNEW(sorted, n->n ? n->n : 1);
        for (size_t k = 0; k < n->n; k++) sorted[k] = (map_entry){n->keys[k], n->items[k]};
        qsort(sorted, n->n, sizeof *sorted, entry_cmp);
        sb_putn(b, "{", 1);
        for (size_t k = 0; k < n->n; k++) {
            if (k) sb_putn(b, ",", 1);
            put_json_string(b, sorted[k].key);
            sb_putn(b, ":", 1);
            put_canonical(b, sorted[k].value);
        }
        sb_putn(b, "}", 1);
        free(sorted);
        break;
    }
    }
}

char *bmc_cfg_canonical(const bmc_cfg_node *node) {
    strbuf b = {0};
    put_canonical(&b, node);
    return b.s;
}

/* ---------------------------------------------------------------- block YAML */

/* Decodes one UTF-8 character at p (valid, shortest form, no surrogates); returns its length,
 * or 0 when the bytes are not valid UTF-8. */
static size_t utf8_decode(const unsigned char *p, uint32_t *cp) {
    size_t len = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 0;
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (!len || p[0] > 0xF4) return 0;
    uint32_t c = p[0] & (0x7Fu >> len);
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (p[k] & 0x3Fu);
    }
    if (c < min_cp[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

/* A YAML double-quoted string. Escapes what libyaml would not read back verbatim: quotes,
 * backslash, control characters, DEL, C1 controls (NEL is a line break in YAML), the line and
 * paragraph separators and BOM/non-characters. Returns -1 on invalid UTF-8. */
static int put_yaml_quoted(strbuf *b, const char *s) {
    sb_putn(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p < 0x80) {
            if (*p == '"') sb_puts(b, "\\\"");
            else if (*p == '\\') sb_puts(b, "\\\\");
            else if (*p == '\n') sb_puts(b, "\\n");
            else if (*p == '\t') sb_puts(b, "\\t");
            else if (*p == '\r') sb_puts(b, "\\r");
            else if (*p < 0x20 || *p == 0x7F) sb_printf(b, "\\x%02X", *p);
            else sb_putn(b, (const char *)p, 1);
            p++;
            continue;
        }
        uint32_t cp = 0;
        size_t len = utf8_decode(p, &cp);
        if (!len) return -1;
        if (cp < 0xA0) sb_printf(b, "\\x%02X", (unsigned)cp);
        else if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF)
            sb_printf(b, "\\u%04X", (unsigned)cp);
        else sb_putn(b, (const char *)p, len);
        p += len;
    }
    sb_putn(b, "\"", 1);
    return 0;
}

/* Keys made of letters, digits, '_', '-', '.' and starting with a letter or '_' are written
 * plain, unless YAML 1.2 or 1.1 would read them as null or a boolean (null, true, yes, on, y,
 * ...: PyYAML would); any other key is double-quoted. Either way they read back as the text. */
static int put_yaml_key(strbuf *b, const char *key) {
    static const char *const typed[] = {"null", "true", "false", "yes", "no",
                                        "on",   "off",  "y",     "n"};
    int plain = (key[0] >= 'A' && key[0] <= 'Z') || (key[0] >= 'a' && key[0] <= 'z') ||
                key[0] == '_';
    plain = plain && strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789_-.") == strlen(key);
    for (size_t k = 0; plain && k < sizeof typed / sizeof *typed; k++) {
        size_t len = strlen(typed[k]), j = 0;
        while (j < len && key[j] && (key[j] | 0x20) == typed[k][j]) j++;
        if (j == len && !key[j]) plain = 0; /* any capitalisation */
    }
    if (plain) {
        sb_puts(b, key);
        return 0;
    }
    return put_yaml_quoted(b, key);
}

static int put_yaml_scalar(strbuf *b, const bmc_cfg_node *n) {
    char num[64];
    switch (n ? n->type : BMC_CFG_NULL) {
    case BMC_CFG_NULL: sb_puts(b, "null"); return 0;
    case BMC_CFG_BOOL: sb_puts(b, n->v.b ? "true" : "false"); return 0;
    case BMC_CFG_INT: sb_printf(b, "%lld", n->v.i); return 0;
    case BMC_CFG_FLOAT:
        format_double(n->v.f, 1, num, sizeof num);
        sb_puts(b, num);
        return 0;
    case BMC_CFG_STRING: return put_yaml_quoted(b, n->text);
    case BMC_CFG_MAP: sb_puts(b, "{}"); return 0; /* only empty collections get here */
    case BMC_CFG_SEQ: sb_puts(b, "[]"); return 0;
    }
    return -1;
}

enum { AT_ROOT, AFTER_KEY, AFTER_DASH };

/* Writes node n whose entries sit at column `indent`. The cursor is at the start of a line
 * (AT_ROOT), right after "key:" (AFTER_KEY) or right after "-" (AFTER_DASH: a non-empty
 * collection then starts on the dash's line, "- a: 1" / "- - x"). */
static int put_yaml_node(strbuf *b, const bmc_cfg_node *n, size_t indent, int where) {
    int collection = n && (n->type == BMC_CFG_MAP || n->type == BMC_CFG_SEQ) && n->n > 0;
    if (!collection) {
        if (where != AT_ROOT) sb_putn(b, " ", 1);
        if (put_yaml_scalar(b, n)) return -1;
        sb_putn(b, "\n", 1);
        return 0;
    }
    int first_inline = where == AFTER_DASH;
    if (where == AFTER_KEY) sb_putn(b, "\n", 1);
    if (where == AFTER_DASH) sb_putn(b, " ", 1);
    for (size_t k = 0; k < n->n; k++) {
        if (k > 0 || !first_inline)
            for (size_t s = 0; s < indent; s++) sb_putn(b, " ", 1);
        if (n->type == BMC_CFG_MAP) {
            if (put_yaml_key(b, n->keys[k])) return -1;
            sb_putn(b, ":", 1);
            if (put_yaml_node(b, n->items[k], indent + 2, AFTER_KEY)) return -1;
        } else {
            sb_putn(b, "-", 1);
            if (put_yaml_node(b, n->items[k], indent + 2, AFTER_DASH)) return -1;
        }
    }
    return 0;
}

int bmc_cfg_emit(const bmc_cfg_node *node, FILE *out) {
    BMC_CHECK(out);
    strbuf b = {0};
    int rc = put_yaml_node(&b, node, 0, AT_ROOT); /* invalid UTF-8 in a string: nothing written */
    if (rc == 0 && fwrite(b.s, 1, b.len, out) != b.len) rc = -1;
    free(b.s);
    return rc;
}

/* ---------------------------------------------------------------- building trees */

static bmc_cfg_node *new_node(bmc_cfg_type type, char *text) {
    bmc_cfg_node *n = xcalloc(1, sizeof *n);
    n->type = type;
    n->text = text;
    return n;
}

bmc_cfg_node *bmc_cfg_new_map(void) { return new_node(BMC_CFG_MAP, NULL); }
bmc_cfg_node *bmc_cfg_new_seq(void) { return new_node(BMC_CFG_SEQ, NULL); }

bmc_cfg_node *bmc_cfg_new_string(const char *s) {
    BMC_CHECK(s);
    return new_node(BMC_CFG_STRING, xstrdup(s));
}

bmc_cfg_node *bmc_cfg_new_int(long long v) {
    bmc_cfg_node *n = new_node(BMC_CFG_INT, bmc_xasprintf("%lld", v));
    n->v.i = v;
    return n;
}

bmc_cfg_node *bmc_cfg_new_double(double v) {
    char num[64];
    format_double(v, 1, num, sizeof num);
    bmc_cfg_node *n = new_node(BMC_CFG_FLOAT, xstrdup(num));
    n->v.f = v;
    return n;
}

bmc_cfg_node *bmc_cfg_new_bool(int v) {
    bmc_cfg_node *n = new_node(BMC_CFG_BOOL, xstrdup(v ? "true" : "false"));
    n->v.b = v ? 1 : 0;
    return n;
}

bmc_cfg_node *bmc_cfg_clone(const bmc_cfg_node *node) {
    if (!node) return NULL;
    bmc_cfg_node *c = xcalloc(1, sizeof *c);
    *c = *node;
    c->owns_file = 0;
    c->text = node->text ? xstrdup(node->text) : NULL;
    c->keys = NULL, c->key_line = c->key_col = NULL, c->items = NULL;
    if (node->n) {
        c->items = XNEW(c->items, node->n);
        for (size_t k = 0; k < node->n; k++) c->items[k] = bmc_cfg_clone(node->items[k]);
    }
    if (node->type == BMC_CFG_MAP && node->n) {
        c->keys = XNEW(c->keys, node->n);
        c->key_line = XNEW(c->key_line, node->n);
        c->key_col = XNEW(c->key_col, node->n);
        for (size_t k = 0; k < node->n; k++) c->keys[k] = xstrdup(node->keys[k]);
        memcpy(c->key_line, node->key_line, node->n * sizeof *c->key_line);
        memcpy(c->key_col, node->key_col, node->n * sizeof *c->key_col);
    }
    return c;
}

void bmc_cfg_map_set(bmc_cfg_node *map, const char *key, bmc_cfg_node *child) {
    BMC_CHECK(map && map->type == BMC_CFG_MAP && key && child && child != map);
    for (size_t k = 0; k < map->n; k++) {
        if (!strcmp(map->keys[k], key)) {
            bmc_cfg_free_node(map->items[k]);
            map->items[k] = child;
            return;
        }
    }
    size_t n = map->n + 1;
    map->keys = xrealloc(map->keys, bmc_mul_size(n, sizeof *map->keys));
    map->key_line = xrealloc(map->key_line, bmc_mul_size(n, sizeof *map->key_line));
    map->key_col = xrealloc(map->key_col, bmc_mul_size(n, sizeof *map->key_col));
    map->items = xrealloc(map->items, bmc_mul_size(n, sizeof *map->items));
    map->keys[n - 1] = xstrdup(key);
    map->key_line[n - 1] = map->key_col[n - 1] = 0;
    map->items[n - 1] = child;
    map->n = n;
}

void bmc_cfg_seq_push(bmc_cfg_node *seq, bmc_cfg_node *child) {
    BMC_CHECK(seq && seq->type == BMC_CFG_SEQ && child && child != seq);
    seq->items = xrealloc(seq->items, bmc_mul_size(seq->n + 1, sizeof *seq->items));
    seq->items[seq->n++] = child;
}
