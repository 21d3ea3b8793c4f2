#!/usr/bin/python3
"""rng_ref.py — an independent reference for common/bmc_rng: splitmix64 as specified by
Steele, Lea & Flood (state += golden gamma; two xor-shift-multiplies; a final xor-shift) in
Python integers masked to 64 bits, and the derived draws written from their definitions in
bmc_rng.h (rejection-sampled bounded integers, 53-bit uniforms, Box–Muller normals), not from
the C code. Prints one line per value: `kind key... value` (integers in decimal, doubles as
float.hex()), the cases test_rng.c recomputes.
"""
import math

M = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


class Stream:
    def __init__(self, state):
        self.state = state & M

    def next(self):
        self.state = (self.state + GAMMA) & M
        return mix(self.state)

    def below(self, n):
        limit = (1 << 64) % n          # values under 2^64 mod n would bias the modulo
        while True:
            x = self.next()
            if x >= limit:
                return x % n

    def uniform(self):
        return (self.next() >> 11) / float(1 << 53)

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)


def keyed(seed, stream):
    x = ((seed * 0xD1B54A32D192ED03) & M) ^ ((stream + 0x8CB92BA72F3D8DD7) & M)
    return Stream(mix((x + GAMMA) & M))


for state in (0, 1234567, M, 0xDEADBEEF):
    s = Stream(state)
    print("next", state, " ".join(str(s.next()) for _ in range(6)))
    print("at", state, mix((state + GAMMA) & M))
for state, n in ((7, 1), (7, 3), (11, 1000), (13, (1 << 63) + 5), (17, (1 << 64) - 1)):
    s = Stream(state)
    print("below", state, n, " ".join(str(s.below(n)) for _ in range(8)))
for seed, stream in ((0, 0), (42, 3), (M, 1 << 40), (123456789, 987654321)):
    r = keyed(seed, stream)
    print("u64", seed, stream, " ".join(str(r.next()) for _ in range(3)))
    r = keyed(seed, stream)
    print("uniform", seed, stream, " ".join(r.uniform().hex() for _ in range(4)))
    r = keyed(seed, stream)
    print("normal", seed, stream, " ".join(r.normal().hex() for _ in range(4)))
