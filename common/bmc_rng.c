/* bmc_rng.c — splitmix64 streams, unbiased bounded integers, uniforms and normals
 * (see bmc_rng.h). Not here: seeding policies (each caller documents how it keys its streams).
 */
#include "bmc_rng.h"

#include <math.h>

#define BMC_GOLDEN_GAMMA 0x9E3779B97F4A7C15ULL

uint64_t bmc_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t bmc_splitmix64_next(uint64_t *state) {
    *state += BMC_GOLDEN_GAMMA;
    return bmc_mix64(*state);
}

uint64_t bmc_splitmix64_at(uint64_t x) { return bmc_mix64(x + BMC_GOLDEN_GAMMA); }

uint64_t bmc_uniform_below(uint64_t *state, uint64_t range) {
    uint64_t threshold = (0 - range) % range; /* 2^64 mod range */
    for (;;) {
        uint64_t x = bmc_splitmix64_next(state);
        if (x >= threshold) return x % range;
    }
}

void bmc_rng_seed(bmc_rng *r, uint64_t seed, uint64_t stream) {
    r->state = bmc_splitmix64_at(seed * 0xD1B54A32D192ED03ULL ^ (stream + 0x8CB92BA72F3D8DD7ULL));
}

uint64_t bmc_rng_u64(bmc_rng *r) { return bmc_splitmix64_next(&r->state); }

double bmc_rng_uniform(bmc_rng *r) { return (double)(bmc_rng_u64(r) >> 11) * 0x1.0p-53; }

double bmc_rng_normal(bmc_rng *r) {
    /* u1 in (0, 1] so the log is finite. */
    double u1 = 1.0 - bmc_rng_uniform(r), u2 = bmc_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
