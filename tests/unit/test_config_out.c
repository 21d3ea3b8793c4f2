/* test_config_out.c — unit tests of config trees going out (common/bmc_config_emit.c).
 *
 * One program, one group per ctest test (argv[1]): canonical text (equal across key order,
 * formatting and comments; exact spelling), an independent Python/PyYAML reference
 * (tests/unit/config_data/canonical_ref.py) on our loader and on our emitted YAML, emit → load
 * round trips, builders and clone. Not here: load errors and getters (test_config.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "bmc_config.h"

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

/* Canonical text of a document (fresh string). */
static char *canon_of(const char *doc) {
    bmc_cfg_node *root = load(doc, "c.yaml");
    char *text = bmc_cfg_canonical(root);
    bmc_cfg_free(root);
    return text;
}

static char *emit_to_string(const bmc_cfg_node *node, int *rc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    BMC_CHECK(f);
    *rc = bmc_cfg_emit(node, f);
    fclose(f);
    return buf;
}

/* Emits node, loads the text again and checks the canonical texts agree. */
static void check_round_trip(const bmc_cfg_node *node, const char *what) {
    int rc = -1;
    char *yaml = emit_to_string(node, &rc);
    TEST_CHECK(rc == 0, "emit failed for %s", what);
    bmc_err e = {0};
    bmc_cfg_node *back = bmc_cfg_load_string(yaml, "emitted.yaml", &e);
    TEST_CHECK(back != NULL, "%s: emitted YAML does not load: %s\n%s", what, e.msg, yaml);
    char *c1 = bmc_cfg_canonical(node), *c2 = bmc_cfg_canonical(back);
    TEST_CHECK(strcmp(c1, c2) == 0, "%s: round trip changed the tree:\n%s\n%s\nYAML:\n%s", what,
               c1, c2, yaml);
    free(c1);
    free(c2);
    bmc_cfg_free(back);
    free(yaml);
}

/* ---------------------------------------------------------------- groups */

static void test_canonical(void) {
    char *a = canon_of("b: [1, 2]\na: {y: true, x: null}\nc: 'str'\n");
    char *b = canon_of("# comment\nc: str   # trailing\n\na:\n  x: ~\n  y: True\nb:\n- 1\n- 0x2\n");
    char *c = canon_of("{\"c\": \"str\", b: [1, 2], a: {x: , y: TRUE}}");
    char *changed = canon_of("b: [1, 3]\na: {y: true, x: null}\nc: 'str'\n");
    char *reordered = canon_of("b: [2, 1]\na: {y: true, x: null}\nc: 'str'\n");
    char *typed = canon_of("b: [1, 2]\na: {y: true, x: null}\nc: '1'\n");
    TEST_STREQ(a, "{\"a\":{\"x\":null,\"y\":true},\"b\":[1,2],\"c\":\"str\"}");
    TEST_STREQ(a, b);
    TEST_STREQ(a, c);
    TEST_CHECK(strcmp(a, changed) != 0, "a changed value must change the text");
    TEST_CHECK(strcmp(a, reordered) != 0, "sequence order matters");
    TEST_CHECK(strcmp(a, typed) != 0, "value change");
    free(a), free(b), free(c), free(changed), free(reordered), free(typed);

    struct {
        const char *doc, *want;
    } cases[] = {
        {"[2.0, 1e3, 0.1, -0.0, 1.5e-7, 1e20, .inf, -.inf, .nan, 3, 1.0]",
         "[2.0,1000.0,0.10000000000000001,-0.0,1.4999999999999999e-07,1e+20,.inf,-.inf,.nan,3,"
         "1.0]"},
        {"[1, '1', 1.0, true, 'true', ~, '~', '']",
         "[1,\"1\",1.0,true,\"true\",null,\"~\",\"\"]"},
        {"s: \"q\\\"\\\\\\n\\t\\x01\\x1f\\x7f\u00e9\"",
         "{\"s\":\"q\\\"\\\\\\n\\t\\u0001\\u001f\x7f\u00e9\"}"},
        {"{b: 1, B: 2, a: 3, _: 4, \"\": 5, aa: 6}",
         "{\"\":5,\"B\":2,\"_\":4,\"a\":3,\"aa\":6,\"b\":1}"},
        {"{}", "{}"},
        {"[]", "[]"},
        {"", "null"},
        {"x: 0o17\ny: 0x10\nz: -007", "{\"x\":15,\"y\":16,\"z\":-7}"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char *t = canon_of(cases[k].doc);
        TEST_CHECK(t && !strcmp(t, cases[k].want), "case %zu: '%s' vs '%s'", k, t, cases[k].want);
        free(t);
    }
    char *null_text = bmc_cfg_canonical(NULL);
    TEST_STREQ(null_text, "null");
    free(null_text);
}

/* Runs the Python reference on a file; returns its stdout (fresh string) or NULL. */
static char *python_reference(const char *mode, const char *path) {
    const char *py = getenv("BMC_PYTHON3");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s/canonical_ref.py' %s '%s'",
             py && *py ? py : "/usr/bin/python3", BMC_CONFIG_DATA_DIR, mode, path);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    BMC_CHECK(out);
    len = fread(out, 1, cap - 1, p);
    out[len] = '\0';
    int status = pclose(p);
    TEST_CHECK(status == 0 && len < cap - 1, "python reference failed (status %d): %s", status,
               cmd);
    return out;
}

static void compare_with_python(const char *file, const char *mode) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", BMC_CONFIG_DATA_DIR, file);
    bmc_err e = {0};
    bmc_cfg_node *root = bmc_cfg_load_file(path, &e);
    TEST_CHECK(root != NULL, "%s: %s", file, e.msg);
    if (!root) return;
    char *ours = bmc_cfg_canonical(root), *ref = python_reference(mode, path);
    TEST_CHECK(ref && !strcmp(ours, ref), "%s (%s):\n ours: %s\n  ref: %s", file, mode, ours,
               ref ? ref : "(none)");
    free(ref);
    /* Our emitted YAML, read by PyYAML, gives the same tree as well. */
    char tmp[] = "/tmp/bmc_config_emitXXXXXX";
    int fd = mkstemp(tmp);
    TEST_CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        FILE *f = fdopen(fd, "w");
        TEST_CHECK(bmc_cfg_emit(root, f) == 0, "emit");
        fclose(f);
        char *ref2 = python_reference(mode, tmp);
        TEST_CHECK(ref2 && !strcmp(ours, ref2), "%s emitted, read by PyYAML:\n ours: %s\n  ref: %s",
                   file, ours, ref2 ? ref2 : "(none)");
        free(ref2);
        unlink(tmp);
    }
    free(ours);
    bmc_cfg_free(root);
}

static void test_python(void) {
    compare_with_python("plain.yaml", "json");
    compare_with_python("floats.yaml", "canon");
}

static void test_emit(void) {
    const char *docs[] = {
        "a: 1\nb: [1, 2.0, x, \"y\", ~, true, 0x1F, -.inf, .nan, 1e3, -0.0, 0.1]\n"
        "c: {d: \"lit\\neral\\n\", e: {}, f: [], g: [[], {}, [[1]]]}\n"
        "h:\n- {p: 1, q: [2, 3]}\n- - x\n  - y\n-\n- - - deep\n",
        "\"key: with colon\": 1\n\"\": empty key\n\"123\": numeric key\ntrue: bool key\n"
        "\"null\": 2\nOn: 3\n\"#hash\": 4\n\"- dash\": 5\n",
        "[\"tab\\tq\\\" \\u00e9 \\u0085 \\u2028 \\u2029 \\x7f \\x01 \\ufeff \\x9f \\U0001F600\", "
        "'  lead and trail  ', '# not a comment', '*star', '&amp', '!bang', '%pct', '@at', "
        "'`tick', '|', '>', '-', '? q', ': c', \"multi\\nline\\n\\n\"]",
        "42\n",
        "\"just a string\"\n",
        "{}\n",
        "[]\n",
        "",
    };
    for (size_t k = 0; k < sizeof docs / sizeof *docs; k++) {
        bmc_cfg_node *r = load(docs[k], "rt.yaml");
        if (!r) continue;
        char what[32];
        snprintf(what, sizeof what, "doc %zu", k);
        check_round_trip(r, what);
        bmc_cfg_free(r);
    }
    /* The layout is block style, strings quoted, readable. */
    bmc_cfg_node *r = load("name: x\nlist: [1, {a: b}]\nmap: {k: 1.5}\n", "rt.yaml");
    int rc = -1;
    char *yaml = emit_to_string(r, &rc);
    TEST_STREQ(yaml, "name: \"x\"\nlist:\n  - 1\n  - a: \"b\"\nmap:\n  k: 1.5\n");
    free(yaml);
    bmc_cfg_free(r);
    /* Floats are written short but exact, always with a '.', so 1.1 readers see floats too. */
    bmc_cfg_node *fl = load("[0.1, 1e16, 1e-5, 2.5e-4, 1e300, 1000.0, 5e-324, -0.0]", "f.yaml");
    yaml = emit_to_string(fl, &rc);
    TEST_STREQ(yaml, "- 0.1\n- 1.0e+16\n- 1.0e-05\n- 0.00025\n- 1.0e+300\n- 1000.0\n- 5.0e-324\n"
                     "- -0.0\n");
    free(yaml);
    bmc_cfg_free(fl);
    /* Invalid UTF-8 in a built string: -1 and nothing written. */
    bmc_cfg_node *bad = bmc_cfg_new_seq();
    bmc_cfg_seq_push(bad, bmc_cfg_new_string("ok"));
    bmc_cfg_seq_push(bad, bmc_cfg_new_string("bad \xc3\x28"));
    yaml = emit_to_string(bad, &rc);
    TEST_CHECK(rc == -1 && yaml && !yaml[0], "invalid UTF-8: rc %d, wrote '%s'", rc, yaml);
    free(yaml);
    bmc_cfg_free_node(bad);
}

static void test_builders(void) {
    bmc_cfg_node *m = bmc_cfg_new_map();
    bmc_cfg_map_set(m, "name", bmc_cfg_new_string("demo"));
    bmc_cfg_map_set(m, "tasks", bmc_cfg_new_int(4));
    bmc_cfg_map_set(m, "alpha", bmc_cfg_new_double(0.5));
    bmc_cfg_map_set(m, "dry", bmc_cfg_new_bool(7));
    bmc_cfg_node *seq = bmc_cfg_new_seq();
    bmc_cfg_seq_push(seq, bmc_cfg_new_int(-1));
    bmc_cfg_seq_push(seq, bmc_cfg_new_double(1e300));
    bmc_cfg_seq_push(seq, bmc_cfg_new_string("line\nbreak \"q\""));
    bmc_cfg_seq_push(seq, bmc_cfg_new_map());
    bmc_cfg_map_set(m, "list", seq);
    bmc_cfg_map_set(m, "tasks", bmc_cfg_new_int(8)); /* replaces, keeps the slot */
    TEST_CHECK(m->n == 5 && !strcmp(m->keys[1], "tasks") && m->items[1]->v.i == 8, "replace");
    TEST_CHECK(m->line == 0 && m->col == 0 && m->file == NULL && !m->owns_file, "built pos");
    const bmc_cfg_node *t = bmc_cfg_get(m, "tasks"), *al = bmc_cfg_get(m, "alpha");
    TEST_CHECK(t && !strcmp(t->text, "8") && al && !strcmp(al->text, "0.5") &&
                   bmc_cfg_get(m, "dry")->v.b == 1 && !strcmp(bmc_cfg_get(m, "dry")->text, "true"),
               "texts of built scalars");
    char *text = bmc_cfg_canonical(m);
    TEST_STREQ(text, "{\"alpha\":0.5,\"dry\":true,\"list\":[-1,1.0000000000000001e+300,"
                     "\"line\\nbreak \\\"q\\\"\",{}],\"name\":\"demo\",\"tasks\":8}");
    check_round_trip(m, "built tree");

    /* Clone: equal text, independent storage. */
    bmc_cfg_node *c = bmc_cfg_clone(m);
    char *ctext = bmc_cfg_canonical(c);
    TEST_STREQ(text, ctext);
    bmc_cfg_map_set(c, "name", bmc_cfg_new_string("other"));
    bmc_cfg_seq_push((bmc_cfg_node *)bmc_cfg_get(c, "list"), bmc_cfg_new_bool(0));
    char *after = bmc_cfg_canonical(m);
    TEST_STREQ(text, after);
    free(text), free(ctext), free(after);
    bmc_cfg_free_node(c);

    /* A loaded tree: clone keeps positions and the file pointer but does not own it; a
     * loaded root moved into a built tree is freed with it (file included). */
    bmc_cfg_node *loaded = load("a:\n  b: [1, 2]\n", "l.yaml");
    if (loaded) {
        bmc_cfg_node *lc = bmc_cfg_clone(bmc_cfg_get(loaded, "a"));
        TEST_CHECK(lc->file == loaded->file && !lc->owns_file && lc->line == 2 &&
                       lc->col == 3 && lc->key_line[0] == 2 && lc->key_col[0] == 3,
                   "clone positions");
        bmc_cfg_node *root_clone = bmc_cfg_clone(loaded);
        TEST_CHECK(!root_clone->owns_file, "clone does not own the file");
        bmc_cfg_free_node(root_clone);
        bmc_cfg_free_node(lc);
        bmc_cfg_map_set(m, "resolved", loaded);
        char *t2 = bmc_cfg_canonical(bmc_cfg_get(m, "resolved"));
        TEST_STREQ(t2, "{\"a\":{\"b\":[1,2]}}");
        free(t2);
    }
    bmc_cfg_free_node(m);
    TEST_CHECK(bmc_cfg_clone(NULL) == NULL, "clone NULL");
    bmc_cfg_free(NULL);
    bmc_cfg_free_node(NULL);

    /* Edge values survive a round trip. */
    bmc_cfg_node *edge = bmc_cfg_new_seq();
    bmc_cfg_seq_push(edge, bmc_cfg_new_int(LLONG_MIN));
    bmc_cfg_seq_push(edge, bmc_cfg_new_int(LLONG_MAX));
    bmc_cfg_seq_push(edge, bmc_cfg_new_double(-INFINITY));
    bmc_cfg_seq_push(edge, bmc_cfg_new_double(NAN));
    bmc_cfg_seq_push(edge, bmc_cfg_new_double(4.9406564584124654e-324));
    bmc_cfg_seq_push(edge, bmc_cfg_new_double(0.1 + 0.2));
    bmc_cfg_seq_push(edge, bmc_cfg_new_string(""));
    bmc_cfg_seq_push(edge, bmc_cfg_new_string("true"));
    bmc_cfg_seq_push(edge, bmc_cfg_new_string("\xc2\x85 nel \xe2\x80\xa8 ls"));
    check_round_trip(edge, "edge values");
    bmc_cfg_free_node(edge);
}

int main(int argc, char **argv) {
    static const struct {
        const char *name;
        void (*run)(void);
    } groups[] = {
        {"canonical", test_canonical}, {"python", test_python},
        {"emit", test_emit},           {"builders", test_builders},
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
