/* One shard of an encoded corpus, gathered in memory row by row and written
 * as shard-NNNNN.safetensors: "hidden_states" [rows, seq, d_model] (F32,
 * F16 or BF16), "lengths" I64 [rows], "token_ids" I32 [rows, seq], where seq
 * is the longest row's stored positions; shorter rows are padded with zeros
 * and the pad id. The metadata names the input lines the shard's window
 * covered ("first_line", "end_line": end exclusive), which is where a
 * resumed run goes on. */
#ifndef NT5_CLI_CORPUS_SHARD_H
#define NT5_CLI_CORPUS_SHARD_H

#include <stddef.h>
#include <stdint.h>

#define CORPUS_SHARD_FORMAT "nt5 corpus shard 1"

typedef struct corpus_shard {
    int32_t dtype, pad_id;
    size_t d_model, elem;  /* elem: bytes per value */
    size_t rows;           /* rows held */
    size_t *start;         /* [rows + 1] first position of each row; start[rows] = positions held */
    int64_t *lengths;      /* [rows] real tokens */
    unsigned char *hidden; /* [positions held, d_model] values */
    int32_t *ids;          /* [positions held] */
    size_t start_cap, lengths_cap, hidden_cap, ids_cap; /* room, in items */
} corpus_shard;

void corpus_shard_init(corpus_shard *s, int32_t dtype, size_t d_model, int32_t pad_id);
void corpus_shard_free(corpus_shard *s);
/* Appends a row: `stored` positions of hidden [stored, d_model] and ids
 * [stored], of which `length` are real. 0, or -1 without memory. */
int corpus_shard_add(corpus_shard *s, const void *hidden, const int32_t *ids, size_t stored, size_t length);
/* Writes the rows to path atomically and empties the shard; 0, or 1
 * (printed). */
int corpus_shard_write(corpus_shard *s, const char *path, uint64_t first_line, uint64_t end_line);
/* Reads the "end_line" of a complete shard file; 0, or 1 (printed) when it
 * is not one. */
int corpus_shard_end_line(const char *path, uint64_t *end_line);

#endif
