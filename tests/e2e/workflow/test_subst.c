/* test_subst.c — unit tests of the workflow engine's string helpers: placeholders
 * (wf_subst), path normalisation, word splitting and the edit distance used for hints.
 * Not here: whole workflows (engine_test.py, check_error.py).
 */
#include <stdlib.h>

#include "bmc_test.h"
#include "workflow.h"

/* Expand text for the given vars; NULL on error (message in err). */
static char *expand(const char *text, const wf_vars *v, const bmc_cfg_node *pos, bmc_err *err) {
    *err = (bmc_err){0};
    return wf_subst(text, v, pos, "test string", err);
}

static void test_placeholders(const bmc_cfg_node *pos) {
    wf_subject s7 = {"7", 1, 7}, sa = {"sub-A", 0, 0}, s12 = {"12", 1, 12};
    wf_vars none = {.run_dir = "results/demo", .workflow = "demo", .foreach = WF_FOREACH_NONE,
                    .stage_name = "stage"};
    wf_vars subj = {.run_dir = "results/demo", .workflow = "demo",
                    .foreach = WF_FOREACH_SUBJECTS, .subject = &s7, .stage_name = "fmri"};
    wf_vars pair = {.run_dir = "r", .workflow = "w", .foreach = WF_FOREACH_PAIRS, .train = &s12,
                    .test = &sa, .stage_name = "eval"};
    bmc_err err;
    char *s;

    s = expand("{run_dir}/x_{workflow}.h5", &none, pos, &err);
    TEST_STREQ(s, "results/demo/x_demo.h5");
    free(s);
    s = expand("{run_dir}/fmri_{subject:02d}_{subject}_{subject:4d}|", &subj, pos, &err);
    TEST_STREQ(s, "results/demo/fmri_07_7_   7|");
    free(s);
    s = expand("{train:03d}-{test}", &pair, pos, &err);
    TEST_STREQ(s, "012-sub-A");
    free(s);
    s = expand("{{literal}} and }} {{", &none, pos, &err);
    TEST_STREQ(s, "{literal} and } {");
    free(s);
    s = expand("no placeholders", &none, pos, &err);
    TEST_STREQ(s, "no placeholders");
    free(s);

    s = expand("{subjcet}", &subj, pos, &err);
    TEST_CHECK(s == NULL && err.failed, "unknown placeholder must fail");
    TEST_CHECK(strstr(err.msg, "t.yaml:3:6: unknown placeholder '{subjcet}'") != NULL, "%s",
               err.msg);
    TEST_CHECK(strstr(err.hint, "did you mean '{subject}'") != NULL, "%s", err.hint);
    s = expand("{subject}", &none, pos, &err);
    TEST_CHECK(s == NULL && strstr(err.msg, "needs `foreach: subjects`"), "%s", err.msg);
    s = expand("{test}", &subj, pos, &err);
    TEST_CHECK(s == NULL && strstr(err.msg, "needs `foreach: subject_pairs`"), "%s", err.msg);
    s = expand("{test:02d}", &pair, pos, &err); /* "sub-A" is not an integer */
    TEST_CHECK(s == NULL && strstr(err.msg, "unsupported format"), "%s", err.msg);
    s = expand("{subject:02x}", &subj, pos, &err);
    TEST_CHECK(s == NULL && strstr(err.msg, "unsupported format"), "%s", err.msg);
    s = expand("{run_dir:02d}", &subj, pos, &err);
    TEST_CHECK(s == NULL && err.failed, "a format on a string value must fail");
    s = expand("abc{run_dir", &none, pos, &err);
    TEST_CHECK(s == NULL && strstr(err.msg, "unterminated placeholder"), "%s", err.msg);
    s = expand("{}", &none, pos, &err);
    TEST_CHECK(s == NULL && strstr(err.msg, "unknown placeholder '{}'"), "%s", err.msg);
}

static void test_normalise(void) {
    const char *cases[][2] = {
        {"./a/b", "a/b"},   {"a//b///c/", "a/b/c"}, {"a/./b/.", "a/b"}, {"/", "/"},
        {"//x//", "/x"},    {".", "."},             {"./", "."},        {"../x/./y", "../x/y"},
        {"/abs/./p", "/abs/p"}, {"", ""},           {"a", "a"},         {"results/demo", "results/demo"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", cases[k][0]);
        wf_normalise_path(buf);
        TEST_CHECK(!strcmp(buf, cases[k][1]), "'%s' → '%s', expected '%s'", cases[k][0], buf,
                   cases[k][1]);
    }
}

static void test_words(void) {
    size_t n;
    char **w = wf_split_words("  bmc-synth\tstimuli   --x 1 ", &n);
    TEST_CHECK(n == 4, "%zu words", n);
    if (n == 4) {
        TEST_STREQ(w[0], "bmc-synth");
        TEST_STREQ(w[3], "1");
        char *j = wf_join_words(w, n);
        TEST_STREQ(j, "bmc-synth stimuli --x 1");
        free(j);
    }
    wf_free_words(w, n);
    w = wf_split_words("   ", &n);
    TEST_CHECK(n == 0, "%zu words in blanks", n);
    wf_free_words(w, n);
    static const char *const keys[] = {"inputs", "outputs", "params"};
    TEST_STREQ(bmc_cfg_nearest("inptus", keys, 3), "inputs");
    TEST_CHECK(bmc_cfg_nearest("zzzzzz", keys, 3) == NULL, "no suggestion for a far word");
}

int main(void) {
    bmc_err err = {0};
    bmc_cfg_node *root = bmc_cfg_load_string("a: 1\nb:\n  c: \"{x}\"\n", "t.yaml", &err);
    TEST_CHECK(root != NULL, "%s", err.msg);
    if (root) {
        const bmc_cfg_node *pos = bmc_cfg_get(bmc_cfg_get(root, "b"), "c");
        TEST_CHECK(pos && pos->line == 3 && pos->col == 6, "position of the test node");
        if (pos) test_placeholders(pos);
        bmc_cfg_free(root);
    }
    test_normalise();
    test_words();
    return test_summary();
}
