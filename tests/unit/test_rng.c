/* test_rng.c — common/bmc_rng, the project's one generator, against published splitmix64
 * vectors (Vigna's splitmix64.c for seeds 1234567 and 0, as listed on Rosetta Code) and
 * against rng_ref.py, an independent Python implementation of every function in bmc_rng.h
 * (streams, the alignment hash, bounded integers, keyed streams, uniforms, normals): integers
 * must match exactly, doubles bit for bit except the normals (libm's log/cos: 4 ulp).
 * Not here: what the stages draw (tests of synth, evaluate, aggregate).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_rng.h"
#include "bmc_test.h"

static void test_published(void) {
    static const uint64_t seed_1234567[5] = {6457827717110365317ULL, 3203168211198807973ULL,
                                             9817491932198370423ULL, 4593380528125082431ULL,
                                             16408922859458223821ULL};
    static const uint64_t seed_0[2] = {0xE220A8397B1DCDAFULL, 0x6E789E6AA1B965F4ULL};
    uint64_t s = 1234567;
    for (int k = 0; k < 5; k++) {
        uint64_t x = bmc_splitmix64_next(&s);
        TEST_CHECK(x == seed_1234567[k], "seed 1234567 output %d: %" PRIu64, k, x);
    }
    s = 0;
    for (int k = 0; k < 2; k++) {
        uint64_t x = bmc_splitmix64_next(&s);
        TEST_CHECK(x == seed_0[k], "seed 0 output %d: %" PRIx64, k, x);
    }
    TEST_CHECK(bmc_splitmix64_at(1234567) == seed_1234567[0], "splitmix64_at(1234567)");
}

static uint64_t next_u64(char **p) { return strtoull(*p, p, 10); }
static double next_hex(char **p) { return strtod(*p, p); }

/* One reference line: recompute it and compare. Returns the number of values checked. */
static int check_line(char *line) {
    char kind[16];
    int used = 0;
    if (sscanf(line, "%15s%n", kind, &used) != 1) return 0;
    char *p = line + used;
    int n = 0;
    if (strcmp(kind, "next") == 0 || strcmp(kind, "at") == 0) {
        uint64_t state = next_u64(&p), first = state;
        if (kind[0] == 'a') {
            uint64_t want = next_u64(&p);
            TEST_CHECK(bmc_splitmix64_at(first) == want, "at(%" PRIu64 ")", first);
            return 1;
        }
        for (; n < 6; n++) {
            uint64_t want = next_u64(&p), got = bmc_splitmix64_next(&state);
            TEST_CHECK(got == want, "next from %" PRIu64 " #%d: %" PRIu64 " != %" PRIu64, first,
                       n, got, want);
        }
    } else if (strcmp(kind, "below") == 0) {
        uint64_t state = next_u64(&p), range = next_u64(&p);
        for (; n < 8; n++) {
            uint64_t want = next_u64(&p), got = bmc_uniform_below(&state, range);
            TEST_CHECK(got == want && got < range, "below %" PRIu64 " #%d: %" PRIu64 " != %" PRIu64,
                       range, n, got, want);
        }
    } else {
        uint64_t seed = next_u64(&p), stream = next_u64(&p);
        bmc_rng r;
        bmc_rng_seed(&r, seed, stream);
        int count = kind[0] == 'u' && kind[1] == '6' ? 3 : 4;
        for (; n < count; n++) {
            if (strcmp(kind, "u64") == 0) {
                uint64_t want = next_u64(&p), got = bmc_rng_u64(&r);
                TEST_CHECK(got == want, "u64 (%" PRIu64 ", %" PRIu64 ") #%d", seed, stream, n);
            } else {
                double want = next_hex(&p);
                double got = kind[0] == 'u' ? bmc_rng_uniform(&r) : bmc_rng_normal(&r);
                double tol = kind[0] == 'u' ? 0.0 : 4.0 * fabs(nextafter(want, INFINITY) - want);
                TEST_CHECK(fabs(got - want) <= tol, "%s (%" PRIu64 ", %" PRIu64 ") #%d: %a != %a",
                           kind, seed, stream, n, got, want);
            }
        }
    }
    return n;
}

static void test_reference(void) {
    const char *py = getenv("BMC_PYTHON3"), *src = getenv("BMC_SOURCE_DIR");
    char *cmd = bmc_xasprintf("'%s' '%s/tests/unit/rng_ref.py'", (py && py[0]) ? py : "/usr/bin/python3",
                              (src && src[0]) ? src : BMC_TEST_SOURCE_DIR);
    FILE *f = popen(cmd, "r");
    TEST_CHECK(f != NULL, "cannot run %s", cmd);
    char line[4096];
    int values = 0, lines = 0;
    while (f && fgets(line, sizeof line, f)) values += check_line(line), lines++;
    int rc = f ? pclose(f) : -1;
    TEST_CHECK(rc == 0 && lines == 25, "reference %s: exit %d, %d lines", cmd, rc, lines);
    printf("rng: %d values on %d reference lines\n", values, lines);
    free(cmd);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "published") == 0) test_published();
    else if (strcmp(mode, "reference") == 0) test_reference();
    else TEST_CHECK(0, "unknown mode '%s' (published|reference)", mode);
    return test_summary();
}
