/* The directory a corpus run writes: shard-NNNNN.safetensors (see
 * corpus_shard.h), index.jsonl (one JSON object per input line, in input
 * order: {"line", "sha256", "shard", "row", "length"}, or {"line", "error"}
 * for a line skipped) and manifest.json (what was run: the model, the
 * options, the nt5 version; "complete" once the input was all encoded).
 *
 * Crash safety: a shard's index lines are appended and flushed to disk
 * before the shard file is renamed into place, so the complete shards, in
 * order, always have their index lines; a resumed run cuts the index back to
 * the last complete shard's end_line and goes on from there. */
#ifndef NT5_CLI_CORPUS_OUTPUT_H
#define NT5_CLI_CORPUS_OUTPUT_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>

typedef struct corpus_output {
    const char *dir;
    FILE *index;   /* index.jsonl, open for reading (resume) and appending */
    char *pending; /* index lines of the shard being gathered */
    size_t pending_len, pending_cap;
    uint64_t shards; /* complete shards */
    cJSON *manifest; /* what manifest.json holds */
} corpus_output;

/* Opens dir for the run `identity` (a JSON object: model, options; taken
 * over). A new or empty dir gets a manifest; one with the same identity is
 * resumed (stale temporaries removed, complete shards counted); another
 * run's dir, or a foreign non-empty one, is refused. Returns 0 to run, 1 on
 * an error (printed), 3 when that run is already complete. */
int corpus_output_open(corpus_output *o, const char *dir, cJSON *identity);
/* The path of shard k, into buf. */
void corpus_shard_path(const corpus_output *o, uint64_t k, char *buf, size_t cap);
/* Queues one index line (a JSON object's text without the newline); 0, or
 * -1 without memory. */
int corpus_index_queue(corpus_output *o, const char *line);
/* Appends the queued lines to index.jsonl and flushes them to disk; 0, or 1
 * (printed). */
int corpus_index_flush(corpus_output *o);
/* Marks the run complete in the manifest, with its totals (taken over). */
int corpus_output_complete(corpus_output *o, cJSON *totals);
void corpus_output_close(corpus_output *o);

#endif
