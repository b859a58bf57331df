/* gen.h — the JSON benchmark's deterministic corpus generator. */
#ifndef FERRY_BENCH_GEN_H
#define FERRY_BENCH_GEN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_N(a) (sizeof(a) / sizeof((a)[0]))

/* ndocs compact JSON documents, one a line ("\n" after each), followed by pad
 * zero bytes. offsets[i] is where document i starts; offsets[ndocs] == *len.
 * The caller frees the text and the offsets. */
char *gen_corpus(size_t ndocs, uint64_t seed, size_t pad, size_t *len, size_t **offsets);

#endif
