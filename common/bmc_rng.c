/* bmc_rng.c — splitmix64 streams and unbiased bounded integers (see bmc_rng.h).
 * Not here: seeding policies (each caller documents how it keys its streams).
 */
#include "bmc_rng.h"

uint64_t bmc_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t bmc_splitmix64_next(uint64_t *state) {
    *state += 0x9E3779B97F4A7C15ULL;
    return bmc_mix64(*state);
}

uint64_t bmc_uniform_below(uint64_t *state, uint64_t range) {
    uint64_t threshold = (0 - range) % range; /* 2^64 mod range */
    for (;;) {
        uint64_t x = bmc_splitmix64_next(state);
        if (x >= threshold) return x % range;
    }
}
