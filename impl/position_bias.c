#include "position_bias.h"

#include <math.h>

int position_bucket(int64_t relative_position, int bidirectional, int num_buckets, int max_distance) {
    int bucket = 0;
    int64_t n;
    if (bidirectional) {
        num_buckets /= 2;
        if (relative_position > 0) bucket += num_buckets;
        n = relative_position < 0 ? -relative_position : relative_position;
    } else {
        n = relative_position < 0 ? -relative_position : 0;
    }
    int max_exact = num_buckets / 2;
    if (n < max_exact) return bucket + (int)n;
    /* float32 arithmetic, truncation toward zero, as modeling_t5.py does */
    float ratio = logf((float)n / (float)max_exact) / (float)log((double)max_distance / max_exact);
    int64_t large = max_exact + (int64_t)(ratio * (float)(num_buckets - max_exact));
    if (large > num_buckets - 1) large = num_buckets - 1;
    return bucket + (int)large;
}
