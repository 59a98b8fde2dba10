/* Conversion for the public calls: nt5_convert, and f16 models opened by
 * Hub id (converted once into the cache). */
#ifndef NT5_IMPL_API_CONVERT_H
#define NT5_IMPL_API_CONVERT_H

#include "model/model.h"

/* A Hub id with weight_dtype f16, on a GPU: converted once into the cache
 * with calibrated scales, then opened. */
nt5_status api_open_id_f16(const char *id, const nt5_model_options *o, nt5_model **out);

#endif
