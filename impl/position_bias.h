/* T5's relative-position buckets, computed as Hugging Face computes them. */
#ifndef NT5_IMPL_POSITION_BIAS_H
#define NT5_IMPL_POSITION_BIAS_H

#include <stdint.h>

/* Bucket of relative_position = key_pos - query_pos. bidirectional: the
 * encoder's rule (half the buckets per direction); otherwise the causal
 * decoder's rule (future positions share bucket 0). */
int position_bucket(int64_t relative_position, int bidirectional, int num_buckets, int max_distance);

#endif
