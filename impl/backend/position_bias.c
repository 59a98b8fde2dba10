#include "backend/position_bias.h"

int position_bucket(int64_t relative_position, int bidirectional, int num_buckets, int max_distance) {
    return position_bucket_with(relative_position, bidirectional, num_buckets,
                                position_log_ratio(bidirectional, num_buckets, max_distance));
}
