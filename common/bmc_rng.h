/* bmc_rng.h — the project's one random-number generator: counter-based splitmix64 streams.
 *
 * A stream is a 64-bit state; bmc_splitmix64_next advances it by the golden-ratio increment
 * and returns the mixed value (Steele, Lea & Flood's splitmix64, Vigna's reference
 * splitmix64.c). Streams keyed by (seed, item) make results independent of which rank draws
 * them. Users: the synthetic data (bmc_rng_seed), the metric draws and the alignment key
 * (common/metrics, bmc-evaluate), the bootstrap (common/stats). Not cryptographic.
 * Not here: what any stage draws, or how it keys its streams (each caller documents that).
 */
#ifndef BMC_RNG_H
#define BMC_RNG_H

#include <stdint.h>

/* splitmix64's output function: z = (z ^ z>>30)·0xBF58476D1CE4E5B9; z = (z ^ z>>27)·
 * 0x94D049BB133111EB; z ^ z>>31 (64-bit wrap-around). Local, pure. */
uint64_t bmc_mix64(uint64_t z);

/* *state += 0x9E3779B97F4A7C15, then bmc_mix64(*state). Local. */
uint64_t bmc_splitmix64_next(uint64_t *state);

/* The first output of a stream whose state is x: bmc_mix64(x + 0x9E3779B97F4A7C15), a hash
 * of x (the alignment key of bmc-evaluate). Local, pure. */
uint64_t bmc_splitmix64_at(uint64_t x);

/* Uniform integer in [0, range), range ≥ 1, by rejection: x = next(state) until
 * x ≥ 2^64 mod range, then x mod range (no modulo bias). Local. */
uint64_t bmc_uniform_below(uint64_t *state, uint64_t range);

/* A stream keyed by (seed, stream id): state = bmc_splitmix64_at(seed·0xD1B54A32D192ED03 ^
 * (stream + 0x8CB92BA72F3D8DD7)). The synthetic data's streams (one per image, voxel,
 * weight tensor ...). */
typedef struct bmc_rng { uint64_t state; } bmc_rng;
void bmc_rng_seed(bmc_rng *r, uint64_t seed, uint64_t stream);
/* The next 64 bits: bmc_splitmix64_next(&r->state). Local. */
uint64_t bmc_rng_u64(bmc_rng *r);
/* Uniform in [0, 1): (u64 >> 11)·2^−53. Local. */
double bmc_rng_uniform(bmc_rng *r);
/* N(0, 1) by Box–Muller from two uniforms u1, u2: √(−2 ln(1 − u1))·cos(2π u2). Local. */
double bmc_rng_normal(bmc_rng *r);

#endif
