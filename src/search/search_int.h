/*
 * search_int.h — shared by the files of src/search only.
 */
#ifndef FERRY_SEARCH_INT_H
#define FERRY_SEARCH_INT_H

#include "search/search.h"

#include <math.h>

struct shard_searcher {
    store *st;
    index_view *view;
    uint32_t shard;
    store_txn *txn;
    index_tables tb;
    store_shard_counters cnt;
    es_err err;                 /* first storage error (reason NULL when none) */
    const struct analysis *an;  /* the index's analysis (or the default) */
    float boost;                /* indices_boost */
    const query *filter;        /* alias filter (shard_searcher_set_filter) */
    /* liveness: every docnum below max_doc is live (nothing ever removed), or ix.dels accounts
     * for every removed docnum (bitmap blocks cached), or else _docs is read (block-cached) */
    int live_mode;              /* LIVE_ALL, LIVE_DELS, LIVE_DOCS */
    uint64_t dels_block;        /* cached ix.dels block (UINT64_MAX none) */
    const uint8_t *dels_bits;
    size_t dels_len;
    /* liveness cache: a block of LIVE_BLOCK docnums */
    uint64_t live_block;        /* UINT64_MAX: none */
    bool live_loaded;
    uint32_t live_probes;
    uint64_t live_bits[64];
    /* stored docs fetched (for shard_searcher_doc) keep snapshot pointers: nothing to free */
};

#define LIVE_SHIFT 12 /* 4096 docnums per liveness block */
enum { LIVE_ALL = 0, LIVE_DELS, LIVE_DOCS };

/* Records a storage error in the searcher (copies err's contents). */
void searcher_fail(shard_searcher *s, es_err *err);

/* Norms of one field, block-cached. */
typedef struct norms_reader {
    shard_searcher *s;
    char *field;
    bool has_norms;             /* false: every doc reads 1 (Lucene without norms) */
    uint64_t block;             /* cached block (UINT64_MAX none) */
    const uint8_t *bytes;
    size_t len;
} norms_reader;

void norms_open(norms_reader *r, shard_searcher *s, const char *field, bool has_norms);
uint8_t norms_get(norms_reader *r, uint64_t docnum);
void norms_close(norms_reader *r);

/* A set of docnums (a bitset over [0, max_doc)), turned into a constant-score iterator. */
typedef struct docset {
    uint64_t *bits;
    uint64_t max_doc;
    uint64_t count;             /* approximate (bits set, duplicates not double counted) */
} docset;

void docset_init(docset *d, uint64_t max_doc);
static inline void docset_add(docset *d, uint64_t doc)
{
    if (doc < d->max_doc) {
        uint64_t m = 1ull << (doc & 63);
        if (!(d->bits[doc >> 6] & m)) {
            d->bits[doc >> 6] |= m;
            d->count++;
        }
    }
}
/* Adds every doc of an iterator (consumed, not freed). */
void docset_add_iter(docset *d, doc_iter *it);
/* The iterator (takes the bits; d is emptied). */
doc_iter *docset_iter(docset *d, float score);
void docset_free(docset *d);

/* The term dictionary walk behind shard_terms_visit, handing over each raw entry. */
typedef int (*term_entry_fn)(void *ctx, const void *term, size_t len, const term_entry *te, es_err *err);
int terms_visit_entries(shard_searcher *s, const char *field, const void *lo, size_t lo_len, bool lo_excl,
                        const void *hi, size_t hi_len, bool hi_excl, const void *prefix, size_t prefix_len,
                        term_entry_fn fn, void *ctx, es_err *err);
/* Adds a term's documents to a set; te (from terms_visit_entries; may be NULL) saves the lookup
 * and, for terms with all their postings in the tail block, the iterator. */
int docset_add_term(docset *d, shard_searcher *s, const char *field, const void *term, size_t len,
                    const term_entry *te, es_err *err);

/* Whether a field path is mapped in the searcher's view (and the mfield). */
const mfield *searcher_field(shard_searcher *s, const char *path);

bool search_field_has_norms(const mfield *f);



/* ======================================================================== */
/* Query parsing helpers (query.c)                                          */

/* [line:col] of a value (key: of the member name whose value v is). */
void qpos(const query_parse_ctx *ctx, const json_val *v, bool key, uint32_t *line, uint32_t *col);
/* parsing_exception with "line"/"col" members. Returns NULL (for `return qerr_...`). */
query *qerr_parsing(es_err *err, const query_parse_ctx *ctx, const json_val *at, bool key, const char *fmt, ...)
    FERRY_PRINTF(5, 6);
/* x_content_parse_exception "[l:c] msg". */
query *qerr_x(es_err *err, const query_parse_ctx *ctx, const json_val *at, bool key, const char *fmt, ...)
    FERRY_PRINTF(5, 6);
/* Jackson's token name of a value: VALUE_STRING, VALUE_NUMBER, VALUE_BOOLEAN, VALUE_NULL, START_OBJECT, START_ARRAY. */
/* A float parameter (number or numeric string). */
bool qfloat(const json_val *v, float *out);
bool qint(const json_val *v, int64_t *out);
bool qbool(const json_val *v, bool *out);
/* parser.text()/objectText(): strings as is, numbers and booleans as their text; NULL otherwise. */
const char *qtext(query_parse_ctx *ctx, const json_val *v);
/* Allocates a query node of `size` bytes in the arena with ops and boost 1. */
void *qnew(query_parse_ctx *ctx, size_t size, const query_ops *ops);
/* Copies a string into the arena. */
char *qdup(query_parse_ctx *ctx, const char *s);
/* The standard fields (boost, _name): 1 handled, 0 not one of them, -1 bad value (err set, parsing_exception). */
int qstd(query_parse_ctx *ctx, query *q, const char *qname, const char *key, const json_val *v, es_err *err);

/* Query parsers, one per type (query_*.c). */
query *qp_match_all(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_match_none(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_bool(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_constant_score(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_dis_max(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_match(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_match_phrase(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_multi_match(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_term(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_terms(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_range(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_exists(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_ids(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_prefix(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_wildcard(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_regexp(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_query_string(query_parse_ctx *ctx, const json_val *v, es_err *err);
query *qp_simple_query_string(query_parse_ctx *ctx, const json_val *v, es_err *err);

/* Minimum should match (Elasticsearch's Queries.calculateMinShouldMatch). */
int min_should_match(int optional, const char *spec);

/* ======================================================================== */
/* Field-level queries (fieldq.c): what each field type's termQuery /      */
/* rangeQuery does, as shard-level iterators.                              */

/* query_shard_exception "failed to create query: <why>" for the searcher's index. */
doc_iter *shard_query_error(shard_searcher *s, es_err *err, const char *fmt, ...) FERRY_PRINTF(3, 4);

/* term query of one value on a mapped field (f non-NULL). Text/keyword/boolean:
 * BM25 postings; numbers, dates, ips: constant score `boost`. NULL on error. */
doc_iter *field_term_iter(shard_searcher *s, const mfield *f, const json_val *value, const char *text, float boost,
                          unsigned flags, bool lenient, es_err *err);
/* The indexed term bytes of a value for a field (for terms sets); 1 ok, 0 no match possible, -1 error. */
int field_value_term(shard_searcher *s, const mfield *f, const json_val *value, const char *text, uint8_t *tb,
                     const uint8_t **term, size_t *len, es_err *err);
/* Range over a field: any bound may be NULL. Constant score. */
typedef struct range_bounds {
    const json_val *lo, *hi;
    bool lo_incl, hi_incl;
    const char *format;      /* NULL: the field's */
    const char *time_zone;   /* NULL: UTC */
    int64_t now_ms;
} range_bounds;
doc_iter *field_range_iter(shard_searcher *s, const mfield *f, const range_bounds *rb, float boost, es_err *err);
/* Union of the postings of the terms of a field in [lo, hi] / with a prefix, constant score. */
doc_iter *terms_union_iter(shard_searcher *s, const char *field, const void *lo, size_t lo_len, bool lo_excl,
                           const void *hi, size_t hi_len, bool hi_excl, const void *prefix, size_t prefix_len,
                           float boost, es_err *err);
/* The regexp query on one field (index.max_regex_length checked), constant score. */
doc_iter *regexp_field_iter(shard_searcher *s, const char *field, const char *value, bool case_insensitive,
                            float boost, unsigned flags, es_err *err);
/* Docs with a value in the field (the _field_names postings). */
doc_iter *field_exists_iter(shard_searcher *s, const char *field, float boost, es_err *err);
/* Expands a field pattern ("title", "tit*", "*", "user.*") into mapped leaf fields (arena). */
size_t expand_fields(shard_searcher *s, const char *pattern, const mfield ***out, arena *mem);

/* Date math ("now-1d/d", "2020-01-01||+1M") with Elasticsearch's rounding
 * (round_up: to the last millisecond of the unit). 0 or -1 (*err: parse_exception). */
int date_math_parse(const char *s, size_t len, const date_format *fmt, const char *time_zone, int64_t now_ms,
                    bool round_up, int64_t *out_ms, es_err *err);

#endif
