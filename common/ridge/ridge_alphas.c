/* ridge_alphas.c — the penalty grid of a stage's config: RIDGE_DEFAULT_ALPHAS when the key is
 * absent, else a list checked by bmc_cfg_double_list (finite, > 0, strictly increasing) so
 * that every error points at the config's line. Local, no MPI (the caller agrees).
 * Not here: the check of a grid given in code (ridge_check_problem, cv.c).
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "ridge.h"

int ridge_read_alphas(const bmc_cfg_node *params, const char *key, double **alphas,
                      int *n_alpha, bmc_err *err) {
    BMC_CHECK(key != NULL && alphas != NULL && n_alpha != NULL && err != NULL);
    static const bmc_cfg_list_spec spec = {
        .min = 0.0,
        .max = DBL_MAX,
        .above_min = 1,
        .increasing = 1,
        .what = "penalty grid",
        .example = "[0.1, 1, 10, 100]",
    };
    *alphas = NULL;
    *n_alpha = 0;
    double *v = NULL;
    size_t n = 0;
    if (bmc_cfg_double_list(params, key, 0, &spec, &v, &n, err) != 0) return -1;
    if (v == NULL) {
        static const double grid[RIDGE_DEFAULT_N_ALPHA] = RIDGE_DEFAULT_ALPHAS;
        n = RIDGE_DEFAULT_N_ALPHA;
        v = XNEW(v, n);
        memcpy(v, grid, sizeof grid);
    }
    BMC_CHECK(n <= 2147483647u);
    *alphas = v;
    *n_alpha = (int)n;
    return 0;
}
