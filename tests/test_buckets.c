/* The relative-position bucket function over every distance in
 * [-4096, 4096]: equal to an independent float64 evaluation of Hugging
 * Face's formula for each supported setting (float32 and float64 agree
 * there, so no bucket depends on rounding), in range, and monotonic. The
 * fixtures' own bucket tables (-400..400) are checked in test_parity. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "backend/position_bias.h"

static int bucket_f64(int64_t rel, int bidirectional, int num_buckets, int max_distance) {
    int bucket = 0;
    int64_t n;
    if (bidirectional) {
        num_buckets /= 2;
        bucket = rel > 0 ? num_buckets : 0;
        n = llabs(rel);
    } else {
        n = rel < 0 ? -rel : 0;
    }
    int max_exact = num_buckets / 2;
    if (n < max_exact) return bucket + (int)n;
    int64_t large = max_exact + (int64_t)(log((double)n / max_exact) / log((double)max_distance / max_exact) *
                                          (num_buckets - max_exact));
    return bucket + (int)(large < num_buckets - 1 ? large : num_buckets - 1);
}

int main(void) {
    static const int settings[][2] = {{32, 128}, {16, 64}, {32, 256}, {64, 128}};
    for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
        int nb = settings[s][0], md = settings[s][1];
        for (int bidi = 0; bidi <= 1; bidi++) {
            int mismatches = 0, out_of_range = 0, not_monotonic = 0, prev_pos = -1, prev_neg = -1;
            for (int64_t rel = 0; rel <= 4096; rel++) {
                for (int sign = -1; sign <= 1; sign += 2) {
                    int64_t r = sign * rel;
                    int b = position_bucket(r, bidi, nb, md);
                    mismatches += b != bucket_f64(r, bidi, nb, md);
                    out_of_range += b < 0 || b >= nb;
                    int *prev = sign > 0 ? &prev_pos : &prev_neg;
                    not_monotonic += b < *prev;
                    *prev = b;
                }
            }
            CHECK(mismatches == 0, "(%d, %d) %s: %d distances differ from float64", nb, md,
                  bidi ? "bidirectional" : "causal", mismatches);
            CHECK(out_of_range == 0, "(%d, %d): %d buckets out of range", nb, md, out_of_range);
            CHECK(not_monotonic == 0, "(%d, %d): buckets not monotonic in distance", nb, md);
        }
    }
    /* hand-checked values of the (32, 128) encoder table */
    CHECK(position_bucket(0, 1, 32, 128) == 0, "distance 0");
    CHECK(position_bucket(1, 1, 32, 128) == 17, "distance +1");
    CHECK(position_bucket(-1, 1, 32, 128) == 1, "distance -1");
    CHECK(position_bucket(-4096, 1, 32, 128) == 15, "clamped far left");
    CHECK(position_bucket(4096, 1, 32, 128) == 31, "clamped far right");
    CHECK(position_bucket(5, 0, 32, 128) == 0, "causal future");
    CHECK(position_bucket(-20, 0, 32, 128) == 17, "causal log bucket");
    return harness_finish("buckets");
}
