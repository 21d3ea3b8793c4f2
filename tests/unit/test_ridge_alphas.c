/* test_ridge_alphas.c — the penalty grid reader of the ridge engine (common/ridge/ridge_alphas.c)
 * and its default: RIDGE_DEFAULT_ALPHAS is 10^(−1 + i/2), i = 0..16, to the last bit (within
 * one ulp of libm's pow), strictly increasing; an absent or null key gives it, a list gives its
 * values, and bad lists fail with "invalid penalty grid" at the config's line and column.
 * Not here: the general list getter (test_config.c, group lists), the solver's own check of a
 * grid given in code (test_ridge --errors).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_test.h"
#include "ridge.h"

/* Whether a and b are the same double or neighbours. */
static int within_ulp(double a, double b) {
    return a == b || nextafter(a, b) == b;
}

static void test_default_table(void) {
    static const double grid[RIDGE_DEFAULT_N_ALPHA] = RIDGE_DEFAULT_ALPHAS;
    TEST_CHECK(sizeof grid / sizeof *grid == 17, "%zu values", sizeof grid / sizeof *grid);
    for (int i = 0; i < RIDGE_DEFAULT_N_ALPHA; i++) {
        double want = pow(10.0, -1.0 + 0.5 * i);
        TEST_CHECK(within_ulp(grid[i], want), "alpha %d = %.17g, 10^(%g) = %.17g", i, grid[i],
                   -1.0 + 0.5 * i, want);
        TEST_CHECK(i == 0 || grid[i] > grid[i - 1], "not increasing at %d", i);
    }
}

static bmc_cfg_node *load(const char *doc) {
    bmc_err e = {0};
    bmc_cfg_node *root = bmc_cfg_load_string(doc, "p.yaml", &e);
    TEST_CHECK(root != NULL, "load: %s", e.msg);
    return root;
}

static void test_reader(void) {
    static const double grid[RIDGE_DEFAULT_N_ALPHA] = RIDGE_DEFAULT_ALPHAS;
    bmc_cfg_node *r = load("given: [1, 2.5, 1e3]\n"
                           "none:\n"
                           "down: [1, 2, 2]\n"
                           "neg: [-1, 1]\n"
                           "empty: []\n"
                           "word: [a]\n");
    if (!r) return;
    double *a = NULL;
    int n = -1;
    bmc_err e = {0};
    TEST_CHECK(ridge_read_alphas(r, "absent", &a, &n, &e) == 0 && n == RIDGE_DEFAULT_N_ALPHA &&
                   a && memcmp(a, grid, sizeof grid) == 0,
               "absent key: n %d", n);
    free(a);
    TEST_CHECK(ridge_read_alphas(r, "none", &a, &n, &e) == 0 && n == RIDGE_DEFAULT_N_ALPHA &&
                   a && memcmp(a, grid, sizeof grid) == 0,
               "null: n %d", n);
    free(a);
    TEST_CHECK(ridge_read_alphas(NULL, "alphas", &a, &n, &e) == 0 && n == RIDGE_DEFAULT_N_ALPHA,
               "no params: n %d", n);
    free(a);
    TEST_CHECK(ridge_read_alphas(r, "given", &a, &n, &e) == 0 && n == 3 && a[0] == 1.0 &&
                   a[1] == 2.5 && a[2] == 1000.0,
               "given: n %d", n);
    free(a);
    TEST_CHECK(!e.failed, "error on success: %s", e.msg);
    static const struct {
        const char *key, *msg;
    } bad[] = {
        {"down", "p.yaml:3:14: invalid penalty grid: 'down' entry 2 (2) is not above entry 1 (2)"},
        {"neg", "p.yaml:4:7: invalid penalty grid: 'neg' entry 0 must be a finite number > 0, "
                "got '-1' (integer)"},
        {"empty", "p.yaml:5:8: invalid penalty grid: 'empty' must be a non-empty list of "
                  "numbers, got an empty list"},
        {"word", "p.yaml:6:8: invalid penalty grid: 'word' entry 0 must be a finite number > 0, "
                 "got 'a' (string)"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        bmc_err eb = {0};
        a = NULL;
        n = -1;
        TEST_CHECK(ridge_read_alphas(r, bad[k].key, &a, &n, &eb) == -1 && a == NULL && n == 0,
                   "%s accepted", bad[k].key);
        TEST_CHECK(!strcmp(eb.msg, bad[k].msg), "%s: '%s' vs '%s'", bad[k].key, eb.msg,
                   bad[k].msg);
        TEST_CHECK(eb.hint[0] != '\0', "%s: no hint", bad[k].key);
    }
    bmc_cfg_free(r);
}

int main(void) {
    test_default_table();
    test_reader();
    return test_summary();
}
