/*
 * context_int.h — shared by sort.c and context*.c only: paging in the
 * natural orders (the fast path of scrolls and of PIT searches sorted on
 * _shard_doc), counting, the _shard_doc encoding, and slices.
 */
#ifndef FERRY_CONTEXT_INT_H
#define FERRY_CONTEXT_INT_H

#include "search/search.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* _shard_doc: a hit's position in a point in time, as one long sort value. */

/*
 * Elasticsearch encodes (shardRequestIndex << 32) | luceneDoc. ferry's docnums
 * are store-wide counters that may pass 2^32 on a busy shard, so the split is
 * 24 bits of shard index and 40 bits of docnum (10^12 writes per shard). The
 * value is opaque to clients, who only echo it back in search_after.
 */
#define SHARD_DOC_BITS 40
static inline int64_t shard_doc_encode(uint32_t shard_index, uint64_t docnum)
{
    return (int64_t)(((uint64_t)shard_index << SHARD_DOC_BITS) | (docnum & ((1ull << SHARD_DOC_BITS) - 1)));
}
static inline void shard_doc_decode(int64_t v, uint32_t *shard_index, uint64_t *docnum)
{
    *shard_index = (uint32_t)((uint64_t)v >> SHARD_DOC_BITS);
    *docnum = (uint64_t)v & ((1ull << SHARD_DOC_BITS) - 1);
}

/* Whether a parsed sort names _shard_doc. */
bool sort_is_shard_doc(const sort_spec *s);

/* ------------------------------------------------------------------------ */
/* Natural orders                                                           */

typedef enum {
    ORDER_GENERIC = 0, /* anything else: the top-k collector with a search_after cursor */
    ORDER_SHARD_DOC,   /* (shard index, docnum) ascending: _shard_doc, and _score on match_all */
    ORDER_DOC,         /* (docnum, shard index) ascending: Elasticsearch's _doc sort across shards */
} page_order;

/*
 * One page of at most `size` hits in a natural order, strictly after the
 * cursor (cshard, cdoc) when has_cursor. q is the query to run (the request's,
 * possibly wrapped by a slice); req gives post_filter and min_score. Each hit
 * gets its score when `scores` (NaN otherwise) and, for ORDER_DOC, one sort
 * value (the docnum, as _doc); *out is a heap array (free with page_hits_free).
 * Costs O(size) per shard visited, whatever the position of the cursor.
 */
int page_run(const search_request *req, const query *q, shard_searcher **shards, size_t n, page_order order,
             bool has_cursor, uint32_t cshard, uint64_t cdoc, size_t size, bool scores, search_hit **out,
             size_t *n_out, es_err *err);
void page_hits_free(search_hit *h, size_t n);

/* Counts the hits of q (post_filter and min_score as req says) up to limit
 * (INT64_MAX: exact; then *gte false). A bare match_all counts in O(shards). */
int count_hits(const search_request *req, const query *q, bool plain_match_all, shard_searcher **shards, size_t n,
               int64_t limit, uint64_t *out, bool *gte, es_err *err);

/* A query node matching inner's documents with docnum >= from (scores are inner's). */
query *query_from_doc(arena *mem, const query *inner, uint64_t from);

/* Whether q is a bare match_all (its scores are constant: the natural order is the score order). */
bool query_is_match_all(const query *q);

/* ------------------------------------------------------------------------ */
/* Slices (context_slice.c)                                                 */

typedef struct slice_spec {
    int64_t id, max;
    const char *field;      /* NULL or "_id": by _id */
} slice_spec;

/* Parses "slice": {"id", "max"[, "field"]} with Elasticsearch's errors. */
int slice_parse(const json_val *v, arena *mem, slice_spec *out, es_err *err);
/* Checks max against index.max_slices_per_scroll of every view. */
int slice_check_limit(const slice_spec *sl, index_view **views, size_t n_views, es_err *err);
/* The query restricted to the slice: an exact partition of the documents of
 * the shards (same array, same positions) for id 0..max-1. */
query *slice_wrap(arena *mem, const query *inner, const slice_spec *sl, shard_searcher **shards, size_t n);

#endif
