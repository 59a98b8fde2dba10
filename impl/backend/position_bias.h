/* T5's relative-position buckets, computed as Hugging Face computes them.
 * The inline parts are shared with the CUDA kernels (kernels/device/attention.cu),
 * so both backends bucket alike. */
#ifndef NT5_IMPL_POSITION_BIAS_H
#define NT5_IMPL_POSITION_BIAS_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define NT5_HOST_DEVICE __host__ __device__
#else
#define NT5_HOST_DEVICE
#endif

/* Distances below max_exact get a bucket each: half the buckets (per
 * direction: half again when bidirectional). */
static inline NT5_HOST_DEVICE int position_max_exact(int bidirectional, int num_buckets) {
    return (bidirectional ? num_buckets / 2 : num_buckets) / 2;
}

/* log(max_distance / max_exact), in double and then rounded to float as
 * modeling_t5.py's float32 division sees it. */
static inline float position_log_ratio(int bidirectional, int num_buckets, int max_distance) {
    int max_exact = position_max_exact(bidirectional, num_buckets);
    return max_exact > 0 ? (float)log((double)max_distance / max_exact) : 1.0f;
}

/* Bucket of relative_position = key_pos - query_pos, given
 * position_log_ratio(). bidirectional: the encoder's rule (half the buckets
 * per direction); otherwise the causal decoder's rule (future positions
 * share bucket 0). float32 arithmetic, truncation toward zero. */
static inline NT5_HOST_DEVICE int position_bucket_with(int64_t relative_position, int bidirectional, int num_buckets,
                                                       float log_ratio) {
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
    float ratio = logf((float)n / (float)max_exact) / log_ratio;
    int64_t large = max_exact + (int64_t)(ratio * (float)(num_buckets - max_exact));
    if (large > num_buckets - 1) large = num_buckets - 1;
    return bucket + (int)large;
}

/* position_bucket_with() for a max_distance. */
int position_bucket(int64_t relative_position, int bidirectional, int num_buckets, int max_distance);

#endif
