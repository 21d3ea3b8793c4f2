/* rng.c — counter-based random numbers for the synthetic data (splitmix64 streams).
 * A stream is fixed by (seed, stream id), so any rank can draw the numbers of any image or
 * voxel without communication, and results never depend on the rank count.
 * Not a cryptographic generator.
 */
#include <math.h>

#include "synth.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void synth_rng_seed(synth_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed * 0xD1B54A32D192ED03ull ^ (stream + 0x8CB92BA72F3D8DD7ull);
    r->state = splitmix64(&x);
}

uint64_t synth_rng_u64(synth_rng *r) { return splitmix64(&r->state); }

double synth_rng_uniform(synth_rng *r) { return (double)(synth_rng_u64(r) >> 11) * 0x1.0p-53; }

double synth_rng_normal(synth_rng *r) {
    /* Box–Muller; u1 in (0, 1] so the log is finite. */
    double u1 = 1.0 - synth_rng_uniform(r), u2 = synth_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
