/* test_config.c — unit tests of reading YAML configs (common/bmc_config.c, bmc_config_get.c).
 *
 * One program, one group per ctest test (argv[1]): types and positions, load errors with exact
 * file:line:col, duplicate keys, unknown-key suggestions, typed getters and their messages,
 * lists of numbers (bmc_cfg_double_list).
 * Not here: canonical text, emit and builders (test_config_out.c); any stage's keys.
 */
#define _POSIX_C_SOURCE 200809L
#include "bmc_config.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmc_test.h"

#ifndef BMC_CONFIG_DATA_DIR
#error "BMC_CONFIG_DATA_DIR must name tests/unit/config_data"
#endif

/* ---------------------------------------------------------------- helpers */

static bmc_cfg_node *load(const char *doc, const char *name) {
    bmc_err e = {0};
    bmc_cfg_node *root = bmc_cfg_load_string(doc, name, &e);
    TEST_CHECK(root != NULL, "unexpected load error: %s (hint: %s)", e.msg, e.hint);
    TEST_CHECK(!e.failed, "error recorded on success: %s", e.msg);
    return root;
}

static int starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The document must fail to load with a message starting with prefix and a hint containing
 * hint_part ("" = any hint). */
static void expect_load_error(const char *doc, const char *prefix, const char *hint_part) {
    bmc_err e = {0};
    bmc_cfg_node *root = bmc_cfg_load_string(doc, "t.yaml", &e);
    TEST_CHECK(root == NULL, "loaded although it should fail: %s", doc);
    bmc_cfg_free(root);
    TEST_CHECK(e.failed && starts_with(e.msg, prefix), "message '%s' does not start with '%s'",
               e.msg, prefix);
    TEST_CHECK(strstr(e.hint, hint_part) != NULL && e.hint[0], "hint '%s' lacks '%s'", e.hint,
               hint_part);
}

/* ---------------------------------------------------------------- groups */

static void test_types(void) {
    const char *doc = "name: demo\n"        /* 1 */
                      "count: 42\n"         /* 2 */
                      "neg: -7\n"           /* 3 */
                      "plus: +3\n"          /* 4 */
                      "hex: 0x1F\n"         /* 5 */
                      "oct: 0o17\n"         /* 6 */
                      "lead: 007\n"         /* 7 */
                      "f1: 1.5\n"           /* 8 */
                      "f2: 1e-3\n"          /* 9 */
                      "f3: .5\n"            /* 10 */
                      "f4: 2.\n"            /* 11 */
                      "inf: -.inf\n"        /* 12 */
                      "nan: .NaN\n"         /* 13 */
                      "t: True\n"           /* 14 */
                      "f: FALSE\n"          /* 15 */
                      "n1: ~\n"             /* 16 */
                      "n2: Null\n"          /* 17 */
                      "n3:\n"               /* 18 */
                      "q1: \"42\"\n"        /* 19 */
                      "q2: 'true'\n"        /* 20 */
                      "lit: |\n  a\n  b\n"  /* 21-23 */
                      "str: 1.2.3\n"        /* 24 */
                      "word: yes\n"         /* 25 */
                      "seq:\n"              /* 26 */
                      "  - a\n"             /* 27 */
                      "  - {k: v, n: 1}\n"  /* 28 */
                      "max: 9223372036854775807\n"
                      "tagf: !!float 3\n"
                      "tags: !!str 12\n";
    bmc_cfg_node *r = load(doc, "types.yaml");
    if (!r) return;
    TEST_CHECK(r->type == BMC_CFG_MAP && r->n == 27 && r->owns_file, "root n=%zu", r->n);
    TEST_STREQ(r->file, "types.yaml");
    TEST_CHECK(r->line == 1 && r->col == 1, "root at %d:%d", r->line, r->col);
    const bmc_cfg_node *v;
#define GET(key, ty) ((v = bmc_cfg_get(r, key)) && v->type == (ty))
    TEST_CHECK(GET("name", BMC_CFG_STRING) && !strcmp(v->text, "demo"), "name");
    TEST_CHECK(GET("count", BMC_CFG_INT) && v->v.i == 42 && v->line == 2 && v->col == 8,
               "count at %d:%d", v ? v->line : -1, v ? v->col : -1);
    TEST_CHECK(r->key_line[1] == 2 && r->key_col[1] == 1 && !strcmp(r->keys[1], "count"), "key");
    TEST_CHECK(GET("neg", BMC_CFG_INT) && v->v.i == -7, "neg");
    TEST_CHECK(GET("plus", BMC_CFG_INT) && v->v.i == 3, "plus");
    TEST_CHECK(GET("hex", BMC_CFG_INT) && v->v.i == 31 && !strcmp(v->text, "0x1F"), "hex");
    TEST_CHECK(GET("oct", BMC_CFG_INT) && v->v.i == 15, "oct");
    TEST_CHECK(GET("lead", BMC_CFG_INT) && v->v.i == 7, "lead");
    TEST_CHECK(GET("f1", BMC_CFG_FLOAT) && v->v.f == 1.5, "f1");
    TEST_CHECK(GET("f2", BMC_CFG_FLOAT) && v->v.f == 1e-3, "f2");
    TEST_CHECK(GET("f3", BMC_CFG_FLOAT) && v->v.f == 0.5, "f3");
    TEST_CHECK(GET("f4", BMC_CFG_FLOAT) && v->v.f == 2.0, "f4");
    TEST_CHECK(GET("inf", BMC_CFG_FLOAT) && isinf(v->v.f) && v->v.f < 0, "inf");
    TEST_CHECK(GET("nan", BMC_CFG_FLOAT) && isnan(v->v.f), "nan");
    TEST_CHECK(GET("t", BMC_CFG_BOOL) && v->v.b == 1, "t");
    TEST_CHECK(GET("f", BMC_CFG_BOOL) && v->v.b == 0, "f");
    TEST_CHECK(GET("n1", BMC_CFG_NULL) && !strcmp(v->text, "~"), "n1");
    TEST_CHECK(GET("n2", BMC_CFG_NULL), "n2");
    TEST_CHECK(GET("n3", BMC_CFG_NULL) && v->text && !v->text[0] && v->line == 18, "n3");
    TEST_CHECK(GET("q1", BMC_CFG_STRING) && !strcmp(v->text, "42") && v->col == 5, "q1");
    TEST_CHECK(GET("q2", BMC_CFG_STRING) && !strcmp(v->text, "true"), "q2");
    TEST_CHECK(GET("lit", BMC_CFG_STRING) && !strcmp(v->text, "a\nb\n") && v->line == 21, "lit");
    TEST_CHECK(GET("str", BMC_CFG_STRING) && !strcmp(v->text, "1.2.3"), "str");
    TEST_CHECK(GET("word", BMC_CFG_STRING) && !strcmp(v->text, "yes"), "yes is a string in 1.2");
    TEST_CHECK(GET("max", BMC_CFG_INT) && v->v.i == LLONG_MAX, "max");
    TEST_CHECK(GET("tagf", BMC_CFG_FLOAT) && v->v.f == 3.0, "!!float 3");
    TEST_CHECK(GET("tags", BMC_CFG_STRING) && !strcmp(v->text, "12"), "!!str 12");
    TEST_CHECK(GET("seq", BMC_CFG_SEQ) && v->n == 2 && v->line == 27 && v->col == 3, "seq");
    if (v && v->type == BMC_CFG_SEQ && v->n == 2) {
        const bmc_cfg_node *a = v->items[0], *m = v->items[1];
        TEST_CHECK(a->type == BMC_CFG_STRING && a->line == 27 && a->col == 5, "seq[0]");
        TEST_CHECK(m->type == BMC_CFG_MAP && m->line == 28 && m->col == 5 && m->n == 2, "seq[1]");
        TEST_CHECK(m->n == 2 && m->key_line[1] == 28 && m->key_col[1] == 12, "key n at %d:%d",
                   m->key_line[1], m->key_col[1]);
        TEST_CHECK(m->items[0]->file == r->file, "file shared by all nodes");
    }
#undef GET
    TEST_CHECK(bmc_cfg_get(r, "absent") == NULL && bmc_cfg_get(NULL, "x") == NULL, "absent");
    TEST_STREQ(bmc_cfg_type_name(BMC_CFG_INT), "integer");
    TEST_STREQ(bmc_cfg_type_name(BMC_CFG_MAP), "mapping");
    bmc_cfg_free(r);

    /* A root scalar, and documents with no content: NULL-typed root, not an error. */
    const char *empties[] = {"", "# only a comment\n", "---\n", "\n\n"};
    for (size_t k = 0; k < sizeof empties / sizeof *empties; k++) {
        bmc_cfg_node *e = load(empties[k], "empty.yaml");
        TEST_CHECK(e && e->type == BMC_CFG_NULL && e->owns_file, "empty doc %zu", k);
        bmc_cfg_free(e);
    }
    bmc_cfg_node *s = load("--- 12\n...\n", "scalar.yaml");
    TEST_CHECK(s && s->type == BMC_CFG_INT && s->v.i == 12, "root scalar");
    bmc_cfg_free(s);
}

static void test_load_errors(void) {
    const char *syntax = "check the indentation";
    expect_load_error("a: 1\nb: c: d\n", "t.yaml:2:5: mapping values are not allowed", syntax);
    expect_load_error("a:\n  b: 1\n c: 2\n",
                      "t.yaml:3:2: did not find expected key (while parsing a block mapping at "
                      "line 1, column 1)",
                      syntax);
    expect_load_error("a:\n\tb: 1\n", "t.yaml:2:1: found character that cannot start any token",
                      "tabs");
    expect_load_error("a: \"unclosed\nb: 2\n",
                      "t.yaml:3:1: found unexpected end of stream (while scanning a quoted "
                      "scalar at line 1, column 4)",
                      "quote");
    expect_load_error("a: [1, 2\nb: 3\n",
                      "t.yaml:2:2: did not find expected ',' or ']' (while parsing a flow "
                      "sequence at line 1, column 4)",
                      "is not closed");
    expect_load_error("a: \"\\q\"\n", "t.yaml:1:5: found unknown escape character", "escape");
    expect_load_error("a: &x 1\n", "t.yaml:1:4: anchor '&x' is not supported", "anchor");
    expect_load_error("a: 1\nb: *x\n", "t.yaml:2:4: alias '*x' is not supported", "alias");
    expect_load_error("a: 1\n*x : 2\n", "t.yaml:2:1: alias '*x' is not supported", "alias");
    expect_load_error("a: !foo 1\n", "t.yaml:1:4: unsupported tag '!foo' on a scalar", "!!str");
    expect_load_error("a: !!seq {}\n", "t.yaml:1:4: unsupported tag '!!seq' on a mapping", "");
    expect_load_error("a: !!int x\n", "t.yaml:1:4: 'x' is not a valid value for tag !!int", "");
    expect_load_error("a: 1\n---\nb: 2\n", "t.yaml:2:1: a second YAML document starts here",
                      "one document");
    expect_load_error("? [a, b]\n: 1\n", "t.yaml:1:3: a mapping key must be a scalar", "key");
    expect_load_error("{x: 1, {y: 2}: 3}\n", "t.yaml:1:8: a mapping key must be a scalar", "");
    expect_load_error("n: 99999999999999999999\n",
                      "t.yaml:1:4: number '99999999999999999999' does not fit in a 64-bit "
                      "integer",
                      "quote");
    expect_load_error("n: 0x8000000000000000\n", "t.yaml:1:4: number '0x8000000000000000'", "");
    expect_load_error("n: -9223372036854775809\n", "t.yaml:1:4: number", "");
    expect_load_error("x: 1e999\n", "t.yaml:1:4: number '1e999' is too large for a double", "");
    expect_load_error("x: \"a\\0b\"\n", "t.yaml:1:4: string contains a NUL character", "");
    expect_load_error("a: 1\nb: x\xff\n", "t.yaml:2:5: invalid leading UTF-8 octet (value 0xFF)",
                      "UTF-8");
    expect_load_error("a: 1\nb: \x01\n", "t.yaml:2:4: control characters are not allowed",
                      "UTF-8");
    /* Nesting limit: the 258th '[' (depth 257) is refused, at its own column. */
    char deep[700];
    memset(deep, '[', 300);
    memset(deep + 300, ']', 300);
    deep[600] = '\0';
    expect_load_error(deep, "t.yaml:1:258: nesting is deeper than 256 levels", "");
    char ok[600];
    memset(ok, '[', 257);
    memset(ok + 257, ']', 257);
    ok[514] = '\0';
    bmc_cfg_node *fine = load(ok, "deep.yaml");
    bmc_cfg_free(fine);

    /* Files: missing, a directory, and a real file (its name on every node). */
    bmc_err e = {0};
    TEST_CHECK(bmc_cfg_load_file("/nonexistent/dir/w.yaml", &e) == NULL, "missing file");
    TEST_STREQ(e.msg, "/nonexistent/dir/w.yaml: cannot open: No such file or directory");
    bmc_err e2 = {0};
    TEST_CHECK(bmc_cfg_load_file("/", &e2) == NULL, "directory");
    TEST_STREQ(e2.msg, "/: cannot read: Is a directory");
    bmc_err e3 = {0};
    bmc_cfg_node *f = bmc_cfg_load_file(BMC_CONFIG_DATA_DIR "/plain.yaml", &e3);
    TEST_CHECK(f && f->type == BMC_CFG_MAP && f->owns_file, "file load: %s", e3.msg);
    if (f) TEST_STREQ(f->file, BMC_CONFIG_DATA_DIR "/plain.yaml");
    bmc_cfg_free(f);
    /* The first error recorded wins. */
    bmc_err first = {0};
    bmc_err_set(&first, NULL, "earlier problem");
    TEST_CHECK(bmc_cfg_load_string("a: [", "t.yaml", &first) == NULL, "bad doc");
    TEST_STREQ(first.msg, "earlier problem");
}

static void test_duplicates(void) {
    expect_load_error("a: 1\nb:\n  c: 2\n  d: 3\n  c: 4\n",
                      "t.yaml:5:3: duplicate key 'c' (first defined at line 3)", "repeat");
    expect_load_error("{x: 1, y: 2, x: 3}\n", "t.yaml:1:14: duplicate key 'x' (first defined at "
                                              "line 1)", "");
    expect_load_error("a: 1\n'a': 2\n", "t.yaml:2:1: duplicate key 'a' (first defined at line 1)",
                      "");
    expect_load_error("- k: 1\n  j: 2\n  k: 3\n", "t.yaml:3:3: duplicate key 'k'", "");
    /* The same key in different mappings is fine. */
    bmc_cfg_node *r = load("a: {x: 1}\nb: {x: 2}\n", "t.yaml");
    bmc_cfg_free(r);
}

static void test_check_keys(void) {
    const char *doc = "stages:\n"             /* 1 */
                      "  stimuli:\n"          /* 2 */
                      "    run: bmc-synth\n"  /* 3 */
                      "    outputs: [x]\n"    /* 4 */
                      "    params:\n"         /* 5 */
                      "      n: 1\n"          /* 6 */
                      "    inptus: [a]\n";    /* 7 */
    static const char *const known[] = {"run",    "inputs",    "outputs",
                                        "params", "resources", "foreach"};
    bmc_cfg_node *r = load(doc, "demo.yaml");
    if (!r) return;
    const bmc_cfg_node *stage = bmc_cfg_get(bmc_cfg_get(r, "stages"), "stimuli");
    bmc_err e = {0};
    TEST_CHECK(bmc_cfg_check_keys(stage, known, 6, "stage 'stimuli'", &e) == -1, "unknown");
    TEST_STREQ(e.msg, "demo.yaml:7:5: unknown key 'inptus' in stage 'stimuli'");
    TEST_STREQ(e.hint, "did you mean 'inputs'?");

    struct {
        const char *doc, *msg, *hint;
    } cases[] = {
        {"resorces: 1\n", "k.yaml:1:1: unknown key 'resorces' in stage 's'",
         "did you mean 'resources'?"},
        {"run: x\nParams: 1\n", "k.yaml:2:1: unknown key 'Params' in stage 's'",
         "did you mean 'params'?"},
        {"run: x\n  # c\nzzzzzz: 1\n", "k.yaml:3:1: unknown key 'zzzzzz' in stage 's'",
         "known keys: 'run', 'inputs', 'outputs', 'params', 'resources', 'foreach'"},
        {"x: 1\n", "k.yaml:1:1: unknown key 'x' in stage 's'", "known keys: 'run', "},
        {"{run: 1, inputz: 2}", "k.yaml:1:10: unknown key 'inputz' in stage 's'",
         "did you mean 'inputs'?"},
        {"[run]\n", "k.yaml:1:1: stage 's' must be a mapping, got a sequence",
         "write 'key: value'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        bmc_cfg_node *m = load(cases[k].doc, "k.yaml");
        bmc_err ek = {0};
        TEST_CHECK(bmc_cfg_check_keys(m, known, 6, "stage 's'", &ek) == -1, "case %zu", k);
        TEST_CHECK(starts_with(ek.msg, cases[k].msg), "case %zu: '%s'", k, ek.msg);
        TEST_CHECK(starts_with(ek.hint, cases[k].hint), "case %zu: hint '%s'", k, ek.hint);
        bmc_cfg_free(m);
    }
    bmc_err none = {0};
    const bmc_cfg_node *params = bmc_cfg_get(stage, "params");
    static const char *const pknown[] = {"n"};
    TEST_CHECK(bmc_cfg_check_keys(params, pknown, 1, "params", &none) == 0 && !none.failed, "ok");
    TEST_CHECK(bmc_cfg_check_keys(NULL, pknown, 1, "params", &none) == 0, "NULL map: nothing");
    bmc_cfg_free(r);
}

static void test_getters(void) {
    const char *doc = "resources:\n"        /* 1 */
                      "  tasks: two\n"      /* 2 */
                      "  mem_mb: 1024\n"    /* 3 */
                      "  big: 5000\n"       /* 4 */
                      "  quoted: \"12\"\n"  /* 5 */
                      "  rate: 0.5\n"       /* 6 */
                      "  irate: 3\n"        /* 7 */
                      "  flag: yes\n"       /* 8 */
                      "  qflag: \"true\"\n" /* 9 */
                      "  ok: true\n"        /* 10 */
                      "  method: ridge\n"   /* 11 */
                      "  mthd: ridg\n"      /* 12 */
                      "  empty:\n"          /* 13 */
                      "  list: [1]\n"       /* 14 */
                      "  nan: .nan\n";      /* 15 */
    bmc_cfg_node *r = load(doc, "w.yaml");
    if (!r) return;
    const bmc_cfg_node *res = bmc_cfg_get(r, "resources");
    long long i = -1;
    double d = -1;
    int b = -1, idx = -1;
    const char *s = NULL;
    static const char *const methods[] = {"ols", "ridge"};

    struct {
        int rc;
        const char *msg, *hint;
    } got[16];
    size_t n = 0;
#define RUN(call)                                                                          \
    do {                                                                                   \
        bmc_err e_ = {0};                                                                  \
        got[n].rc = (call);                                                                \
        got[n].msg = e_.failed ? strdup(e_.msg) : NULL;                                    \
        got[n].hint = e_.failed ? strdup(e_.hint) : NULL;                                  \
        n++;                                                                               \
    } while (0)
#define E &e_
    RUN(bmc_cfg_int(res, "tasks", 1, 0, 1, 4096, &i, E));                /* 0 */
    RUN(bmc_cfg_int(res, "big", 1, 0, 1, 4096, &i, E));                  /* 1 */
    RUN(bmc_cfg_int(res, "quoted", 1, 0, 1, 4096, &i, E));               /* 2 */
    RUN(bmc_cfg_int(res, "cpus", 1, 0, 1, 4096, &i, E));                 /* 3 */
    RUN(bmc_cfg_double(res, "rate", 1, 0, 0.0, 0.25, &d, E));            /* 4 */
    RUN(bmc_cfg_double(res, "nan", 1, 0, -INFINITY, INFINITY, &d, E));   /* 5 */
    RUN(bmc_cfg_bool(res, "flag", 1, 0, &b, E));                         /* 6 */
    RUN(bmc_cfg_bool(res, "qflag", 1, 0, &b, E));                        /* 7 */
    RUN(bmc_cfg_string(res, "empty", 1, NULL, &s, E));                   /* 8 */
    RUN(bmc_cfg_string(res, "list", 1, NULL, &s, E));                    /* 9 */
    RUN(bmc_cfg_enum(res, "mthd", 1, 0, methods, 2, &idx, E));           /* 10 */
    RUN(bmc_cfg_int(bmc_cfg_get(res, "list"), "x", 0, 0, 0, 1, &i, E));  /* 11 */
    RUN(bmc_cfg_int(NULL, "x", 1, 0, 0, 1, &i, E));                      /* 12 */
    RUN(bmc_cfg_enum(res, "tasks", 1, 0, methods, 2, &idx, E));          /* 13 */
#undef E
#undef RUN
    const char *want_msg[] = {
        "w.yaml:2:10: 'tasks' must be an integer in [1, 4096], got 'two' (string)",
        "w.yaml:4:8: 'big' must be an integer in [1, 4096], got '5000' (integer)",
        "w.yaml:5:11: 'quoted' must be an integer in [1, 4096], got '12' (string)",
        "w.yaml:2:3: missing key 'cpus' in this mapping",
        "w.yaml:6:9: 'rate' must be a number in [0, 0.25], got '0.5' (float)",
        "w.yaml:15:8: 'nan' must be a number, got '.nan' (float)",
        "w.yaml:8:9: 'flag' must be true or false, got 'yes' (string)",
        "w.yaml:9:10: 'qflag' must be true or false, got 'true' (string)",
        "w.yaml:13:9: 'empty' must be a string, got an empty value (null)",
        "w.yaml:14:9: 'list' must be a string, got a sequence",
        "w.yaml:12:9: 'mthd' must be one of 'ols', 'ridge', got 'ridg' (string)",
        "w.yaml:14:9: expected a mapping holding 'x', got a sequence",
        "missing key 'x' in this mapping",
        "w.yaml:2:10: 'tasks' must be one of 'ols', 'ridge', got 'two' (string)",
    };
    const char *want_hint[] = {
        "write a whole number",     "use a value inside the range",
        "remove the quotes",        "add 'cpus: <an integer in [1, 4096]>' to this mapping",
        "use a value inside",       "NaN is not accepted",
        "write true or false",      "remove the quotes",
        "write a single value",     "write a single value",
        "did you mean 'ridge'?",    "write 'key: value'",
        "add 'x: <an integer in [0, 1]>'", "choose one of",
    };
    TEST_CHECK(n == sizeof want_msg / sizeof *want_msg, "case count %zu", n);
    for (size_t k = 0; k < n; k++) {
        TEST_CHECK(got[k].rc == -1 && got[k].msg, "getter case %zu did not fail", k);
        if (!got[k].msg) continue;
        TEST_CHECK(!strcmp(got[k].msg, want_msg[k]), "case %zu: '%s' vs '%s'", k, got[k].msg,
                   want_msg[k]);
        TEST_CHECK(starts_with(got[k].hint, want_hint[k]), "case %zu: hint '%s'", k, got[k].hint);
        free((char *)got[k].msg);
        free((char *)got[k].hint);
    }

    /* Successes and defaults. */
    bmc_err e = {0};
    TEST_CHECK(bmc_cfg_int(res, "mem_mb", 1, 0, 1, 1 << 20, &i, &e) == 0 && i == 1024, "int");
    TEST_CHECK(bmc_cfg_int(res, "cpus", 0, 7, 1, 64, &i, &e) == 0 && i == 7, "int default");
    TEST_CHECK(bmc_cfg_int(NULL, "cpus", 0, 8, 1, 64, &i, &e) == 0 && i == 8, "NULL map default");
    TEST_CHECK(bmc_cfg_int(res, "big", 1, 0, LLONG_MIN, LLONG_MAX, &i, &e) == 0 && i == 5000,
               "unbounded int");
    TEST_CHECK(bmc_cfg_double(res, "rate", 1, 0, 0, 1, &d, &e) == 0 && d == 0.5, "double");
    TEST_CHECK(bmc_cfg_double(res, "irate", 1, 0, 0, 10, &d, &e) == 0 && d == 3.0, "int as dbl");
    TEST_CHECK(bmc_cfg_double(res, "none", 0, 2.5, 0, 1, &d, &e) == 0 && d == 2.5, "dbl def");
    TEST_CHECK(bmc_cfg_bool(res, "ok", 1, 0, &b, &e) == 0 && b == 1, "bool");
    TEST_CHECK(bmc_cfg_bool(res, "none", 0, 1, &b, &e) == 0 && b == 1, "bool default");
    TEST_CHECK(bmc_cfg_string(res, "method", 1, NULL, &s, &e) == 0 && !strcmp(s, "ridge"), "str");
    TEST_CHECK(bmc_cfg_string(res, "mem_mb", 1, NULL, &s, &e) == 0 && !strcmp(s, "1024"),
               "any scalar reads as text");
    TEST_CHECK(bmc_cfg_string(res, "none", 0, "dflt", &s, &e) == 0 && !strcmp(s, "dflt"), "def");
    TEST_CHECK(bmc_cfg_enum(res, "method", 1, 0, methods, 2, &idx, &e) == 0 && idx == 1, "enum");
    TEST_CHECK(bmc_cfg_enum(res, "none", 0, 0, methods, 2, &idx, &e) == 0 && idx == 0, "enum d");
    TEST_CHECK(!e.failed, "no error on successes: %s", e.msg);

    /* Errors at built nodes carry no position. */
    bmc_cfg_node *built = bmc_cfg_new_map();
    bmc_cfg_map_set(built, "n", bmc_cfg_new_string("x"));
    bmc_err eb = {0};
    TEST_CHECK(bmc_cfg_int(built, "n", 1, 0, 0, 9, &i, &eb) == -1, "built");
    TEST_STREQ(eb.msg, "'n' must be an integer in [0, 9], got 'x' (string)");
    bmc_cfg_free_node(built);
    bmc_err ea = {0};
    TEST_CHECK(bmc_cfg_error_at(res, &ea, "h", "custom %d", 5) == -1, "error_at");
    TEST_STREQ(ea.msg, "w.yaml:2:3: custom 5");
    bmc_cfg_free(r);
}

/* bmc_cfg_double_list: entries, defaults, and every error with its position and hint. */
static void test_lists(void) {
    const char *doc = "grid: [0.1, 1, 10.5]\n"     /* 1 */
                      "flat: [3, 3, 2]\n"          /* 2 */
                      "down: [1, 0.5]\n"           /* 3 */
                      "zero: [0, 1]\n"             /* 4 */
                      "text: [1, two]\n"           /* 5 */
                      "quoted: [1, \"2\"]\n"       /* 6 */
                      "nan: [1, .nan]\n"           /* 7 */
                      "inf: [1, .inf]\n"           /* 8 */
                      "empty: []\n"                /* 9 */
                      "scalar: 4\n"                /* 10 */
                      "null:\n"                    /* 11 */
                      "nested: [[1]]\n"            /* 12 */
                      "big: [0.5, 2]\n";           /* 13 */
    bmc_cfg_node *r = load(doc, "l.yaml");
    if (!r) return;
    const bmc_cfg_list_spec pos = {.min = 0.0, .max = DBL_MAX, .above_min = 1, .increasing = 1,
                                   .what = "penalty grid", .example = "[0.1, 1, 10]"};
    const bmc_cfg_list_spec unit = {.min = 0.0, .max = 1.0};
    const bmc_cfg_list_spec any = {.min = -DBL_MAX, .max = DBL_MAX};
    double *v = NULL;
    size_t n = 99;
    bmc_err e = {0};
    TEST_CHECK(bmc_cfg_double_list(r, "grid", 1, &pos, &v, &n, &e) == 0 && n == 3 && v &&
                   v[0] == 0.1 && v[1] == 1.0 && v[2] == 10.5,
               "grid: n %zu", n);
    free(v);
    TEST_CHECK(bmc_cfg_double_list(r, "flat", 1, &any, &v, &n, &e) == 0 && n == 3 && v[2] == 2.0,
               "no order asked: %zu", n);
    free(v);
    TEST_CHECK(bmc_cfg_double_list(r, "absent", 0, &pos, &v, &n, &e) == 0 && v == NULL && n == 0,
               "absent, optional");
    TEST_CHECK(bmc_cfg_double_list(r, "null", 0, &pos, &v, &n, &e) == 0 && v == NULL && n == 0,
               "null, optional");
    TEST_CHECK(bmc_cfg_double_list(NULL, "x", 0, &pos, &v, &n, &e) == 0 && v == NULL,
               "no map, optional");
    TEST_CHECK(!e.failed, "no error on successes: %s", e.msg);

    static const struct {
        const char *key;
        int required, spec; /* 0 pos, 1 unit, 2 any */
        const char *msg, *hint;
    } bad[] = {
        {"flat", 1, 0, "l.yaml:2:11: invalid penalty grid: 'flat' entry 1 (3) is not above entry "
                       "0 (3)", "entries of 'flat' must be a finite number > 0, in strictly"},
        {"down", 1, 0, "l.yaml:3:11: invalid penalty grid: 'down' entry 1 (0.5) is not above "
                       "entry 0 (1)", "entries of 'down'"},
        {"zero", 1, 0, "l.yaml:4:8: invalid penalty grid: 'zero' entry 0 must be a finite number "
                       "> 0, got '0' (integer)", "entries of 'zero' must be a finite number > 0"},
        {"text", 1, 0, "l.yaml:5:11: invalid penalty grid: 'text' entry 1 must be a finite "
                       "number > 0, got 'two' (string)", "entries of 'text'"},
        {"quoted", 1, 0, "l.yaml:6:13: invalid penalty grid: 'quoted' entry 1 must be a finite "
                         "number > 0, got '2' (string)", "remove the quotes"},
        {"nan", 1, 2, "l.yaml:7:10: 'nan' entry 1 must be a finite number, got '.nan' (float)",
         "entries of 'nan' must be a finite number"},
        {"inf", 1, 2, "l.yaml:8:10: 'inf' entry 1 must be a finite number, got '.inf' (float)",
         "entries of 'inf'"},
        {"empty", 1, 0, "l.yaml:9:8: invalid penalty grid: 'empty' must be a non-empty list of "
                        "numbers, got an empty list", "write a list such as [0.1, 1, 10]"},
        {"scalar", 1, 1, "l.yaml:10:9: 'scalar' must be a non-empty list of numbers, got '4' "
                         "(integer)", "write a list such as [0.5, 1, 2]"},
        {"null", 1, 1, "l.yaml:11:6: 'null' must be a non-empty list of numbers, got an empty "
                       "value (null)", "write a list such as"},
        {"nested", 1, 1, "l.yaml:12:10: 'nested' entry 0 must be a number in [0, 1], got a "
                         "sequence", "entries of 'nested' must be a number in [0, 1]"},
        {"big", 1, 1, "l.yaml:13:12: 'big' entry 1 must be a number in [0, 1], got '2' (integer)",
         "entries of 'big'"},
        {"absent", 1, 0, "l.yaml:1:1: missing key 'absent' in this mapping",
         "add 'absent: <a list of numbers>'"},
    };
    const bmc_cfg_list_spec *specs[] = {&pos, &unit, &any};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        bmc_err eb = {0};
        v = (double *)&n; /* must come back NULL */
        int rc = bmc_cfg_double_list(r, bad[k].key, bad[k].required, specs[bad[k].spec], &v, &n,
                                     &eb);
        TEST_CHECK(rc == -1 && eb.failed && v == NULL, "%s: rc %d", bad[k].key, rc);
        TEST_CHECK(!strcmp(eb.msg, bad[k].msg), "%s: '%s' vs '%s'", bad[k].key, eb.msg,
                   bad[k].msg);
        TEST_CHECK(starts_with(eb.hint, bad[k].hint), "%s: hint '%s'", bad[k].key, eb.hint);
    }
    bmc_cfg_free(r);
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        void (*run)(void);
    } groups[] = {
        {"types", test_types},           {"load_errors", test_load_errors},
        {"duplicates", test_duplicates}, {"check_keys", test_check_keys},
        {"getters", test_getters},       {"lists", test_lists},
    };
    int ran = 0;
    for (size_t k = 0; k < sizeof groups / sizeof *groups; k++) {
        if (argc < 2 || !strcmp(argv[1], groups[k].name)) {
            groups[k].run();
            ran++;
        }
    }
    TEST_CHECK(ran > 0, "unknown group '%s'", argc > 1 ? argv[1] : "");
    return test_summary();
}
