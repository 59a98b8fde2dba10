/* Model ids: opening through the Hub and its cache, and where converted
 * files of a Hub model are kept. The public calls' only way to hub/. */
#ifndef NT5_IMPL_API_HUB_H
#define NT5_IMPL_API_HUB_H

#include "model/model.h"

/* A Hub model's files in the cache: the snapshot directory (or encoder
 * part) and the commit it resolved to. */
typedef struct hub_snapshot {
    char dir[4096];       /* what to open: the snapshot, a component folder or a file in it */
    char tokenizer[4096]; /* a pipeline's tokenizer folder for a component without its own, or "" */
    char commit[41];
} hub_snapshot;

/* Opens Hub model `id`, a reference as hub/hub_ref.h reads it (fetched into
 * the cache, or found there offline). */
nt5_status api_open_id(const char *id, const nt5_model_options *o, const load_transforms *tf, nt5_model **out);
/* Opens fetched files of `id`, recording "id@commit" as the model's source. */
nt5_status api_open_snapshot(const char *id, const hub_snapshot *snap, const nt5_model_options *o,
                             const load_transforms *tf, nt5_model **out);
/* A tokenizer option that is a Hub reference (a repo, or a folder of one,
 * with spiece.model) fetched into the cache: o->tokenizer then names the
 * fetched folder, in dir[cap]. Other values are left as they are. */
nt5_status api_tokenizer_option(nt5_model_options *o, char *dir, size_t cap);
/* <nt5 cache>/<repo folder>/<commit>/converted/<name> (nt5's own cache
 * beside the Hub cache, hub/hub_cache.h) for the commit the
 * revision resolves to; the model's files are fetched first (into *snap,
 * so a conversion opens them without fetching again); the directory is
 * created. */
nt5_status api_converted_path(const char *id, const nt5_model_options *o, const char *name, char *path, size_t cap,
                              hub_snapshot *snap);

#endif
