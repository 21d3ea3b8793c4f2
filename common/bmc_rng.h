/* bmc_rng.h — counter-based random numbers: splitmix64 streams and unbiased integers.
 *
 * A stream is a 64-bit state; bmc_splitmix64_next advances it by the golden-ratio increment
 * and returns the mixed value (Steele, Lea & Flood's splitmix64). Streams keyed by (seed,
 * item) make results independent of which rank draws them. Not a cryptographic generator.
 * Not here: what any stage draws (metric draws, bootstrap resamples, synthetic data).
 */
#ifndef BMC_RNG_H
#define BMC_RNG_H

#include <stdint.h>

/* splitmix64's output function: z = (z ^ z>>30)·0xBF58476D1CE4E5B9; z = (z ^ z>>27)·
 * 0x94D049BB133111EB; z ^ z>>31 (64-bit wrap-around). Local, pure. */
uint64_t bmc_mix64(uint64_t z);

/* *state += 0x9E3779B97F4A7C15, then bmc_mix64(*state). Local. */
uint64_t bmc_splitmix64_next(uint64_t *state);

/* Uniform integer in [0, range), range ≥ 1, by rejection: x = next(state) until
 * x ≥ 2^64 mod range, then x mod range (no modulo bias). Local. */
uint64_t bmc_uniform_below(uint64_t *state, uint64_t range);

#endif
