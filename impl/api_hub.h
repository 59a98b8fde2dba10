/* Model ids: opening through the Hub and its cache (see api_hub.c). */
#ifndef NT5_IMPL_API_HUB_H
#define NT5_IMPL_API_HUB_H

#include "model.h"

nt5_status model_open_id(const char *id, const nt5_model_options *o, nt5_model **out);
nt5_status hub_download_checked(const char *id, const nt5_model_options *o, char *dir, size_t capacity,
                                size_t *length);

#endif
