/*
 * search — reading the index: the query DSL, iterators, BM25 scoring,
 * collectors (top hits, counts, aggregation hooks), the fetch phase and the
 * search request/response of Elasticsearch 8.
 *
 * Layers (see docs/SEARCH.md for the storage layout and the scoring notes):
 *
 *   shard_searcher   one read snapshot of one shard (store_read_begin) plus
 *                    the index view it was opened with (mapping, settings,
 *                    analysis). Everything below reads through one.
 *   doc_iter         Lucene's DocIdSetIterator + Scorer in one: next /
 *                    advance / score / cost over ascending docnums.
 *   query            a parsed query DSL node (a tree); query_iter() turns it
 *                    into a doc_iter tree over one shard_searcher.
 *   dv_reader        per-field doc values of a shard (sorting, aggregations).
 *   search_collector receives every live matching (docnum, score) of a shard.
 *   search_request   a parsed _search / _count request; search_execute runs
 *                    it over a set of open shard_searchers (the caller opens
 *                    them — a scroll or PIT keeps them open across requests).
 *
 * Depends on: core, json, store, index, indices (index_view).
 *
 * Thread-safety: a shard_searcher (and every iterator, dv_reader and
 * collector made over it) is used by one thread at a time; it may move
 * between threads between calls (the snapshot is MDB_NOTLS), so a scroll or
 * PIT context can keep it across requests. Parsed queries and requests are
 * immutable once parsed and may be shared by threads (they live in the arena
 * they were parsed into).
 *
 * Errors: functions returning int give 0 (or a documented positive value) or
 * -1 with *err set (Elasticsearch's type/reason). Iterators cannot return
 * errors: a storage error met while iterating is recorded in the searcher
 * (shard_searcher_error) and the iterator ends (DOC_NO_MORE); the executor
 * checks it after each shard.
 */
#ifndef FERRY_SEARCH_H
#define FERRY_SEARCH_H

#include "core/core.h"
#include "index/index.h"
#include "indices/indices.h"
#include "json/json.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ======================================================================== */
/* Shard searcher                                                           */
/* ======================================================================== */

/* Docnums are the store's (>= 1, ascending in last-write order). */
#define DOC_NO_MORE UINT64_MAX

typedef struct shard_searcher shard_searcher;
typedef struct query query; /* a parsed query (see Queries below) */

/*
 * Opens a read snapshot of shard `shard` of the view's index and keeps a
 * reference to the view. st: the node's store (indices_store), whose table
 * ids the index structures use. Errors: store_read_begin's (reader slots exhausted:
 * es_rejected_execution_exception). Close with shard_searcher_close (NULL is
 * a no-op). A searcher sees exactly the documents committed before it opened.
 */
int shard_searcher_open(store *st, index_view *v, uint32_t shard, shard_searcher **out, es_err *err);
void shard_searcher_close(shard_searcher *s);

index_view *shard_searcher_view(const shard_searcher *s);     /* borrowed */
uint32_t shard_searcher_shard(const shard_searcher *s);
store_txn *shard_searcher_txn(const shard_searcher *s);        /* the read snapshot (borrowed) */
/* Every docnum of this snapshot is < max_doc (the store's next_docnum). */
uint64_t shard_searcher_max_doc(const shard_searcher *s);
/* Live documents of the snapshot (the store's doc_count). */
uint64_t shard_searcher_num_docs(const shard_searcher *s);

/*
 * Whether docnum names a live document in this snapshot (it is in the
 * store's _docs table: not deleted, not replaced). Postings keep deleted and
 * replaced documents (like a Lucene segment before a merge); the executor
 * filters them with this, as Lucene filters with liveDocs. Cheap for
 * ascending calls (block-cached). A storage error counts as "not live" and
 * is recorded (shard_searcher_error).
 */
bool shard_searcher_is_live(shard_searcher *s, uint64_t docnum);

/* A stored document by docnum: 1 found (*doc borrowed until the searcher
 * closes), 0 not found, -1 error. */
int shard_searcher_doc(shard_searcher *s, uint64_t docnum, store_doc *doc, es_err *err);

/* A filter every match of this shard must also pass (a filtered alias's filter; NULL: none).
 * The query must outlive the searcher's use (the request's arena). */
void shard_searcher_set_filter(shard_searcher *s, const query *filter);

/* The index boost (the request's indices_boost) every score of this shard is
 * multiplied by, as Elasticsearch boosts the query per index. Default 1. */
void shard_searcher_set_boost(shard_searcher *s, float boost);
float shard_searcher_boost(const shard_searcher *s);

/* The first storage error met by an iterator or reader of this searcher
 * (NULL when none). The executor turns it into a shard failure. */
const es_err *shard_searcher_error(const shard_searcher *s);
/* Records an error (the first one wins). Takes ownership of *err's contents
 * and zeroes it. For iterator and collector implementations. */
void shard_searcher_set_error(shard_searcher *s, es_err *err);

/* The index's analysis (for index_analyze / index_analyze_named; never NULL
 * once the analysis module is linked). */
const struct analysis *shard_searcher_analysis(const shard_searcher *s);

/* ------------------------------------------------------------------------ */
/* Statistics (shard-local, as Elasticsearch's query_then_fetch uses them)   */

/* Lucene's CollectionStatistics of a field, counting deleted documents until
 * they are purged (Lucene: until merged; ferry: never — see docs/SEARCH.md). */
typedef struct field_stats {
    uint64_t doc_count;   /* documents with at least one term in the field */
    uint64_t sum_ttf;     /* sum of total term frequencies (= sum of field lengths) */
    uint64_t sum_df;      /* sum of document frequencies over the field's terms */
} field_stats;

/* Lucene's TermStatistics. */
typedef struct term_stats {
    uint64_t doc_freq;
    uint64_t total_term_freq;
} term_stats;

/* 0 (zeroed *out when the field has no indexed data) or -1. */
int shard_field_stats(shard_searcher *s, const char *field, field_stats *out, es_err *err);
/* 1 found, 0 absent (zeroed *out), -1 error. term: the indexed bytes (index_term_encode). */
int shard_term_stats(shard_searcher *s, const char *field, const void *term, size_t len, term_stats *out,
                     es_err *err);

/* ======================================================================== */
/* Doc values                                                               */
/* ======================================================================== */

typedef enum {
    DV_NONE = 0,
    DV_LONG,     /* long/integer/short/byte, date (epoch ms), date_nanos (epoch ns), boolean (0/1),
                    scaled_float (the scaled long; divide by scaling_factor) */
    DV_ULONG,    /* unsigned_long: the unsigned value's bits in l (compare unsigned) */
    DV_DOUBLE,   /* double, float, half_float (the float value widened) */
    DV_BYTES,    /* keyword (UTF-8), ip (16 bytes, ::ffff:a.b.c.d for v4) */
} dv_kind;

/* The values of one document for one field, in Lucene's order: numbers
 * ascending (duplicates kept: SortedNumericDocValues), bytes ascending
 * bytewise and distinct (SortedSetDocValues). Borrowed from the reader:
 * valid until its next dv_read or dv_close. */
typedef struct dv_values {
    size_t n;
    const int64_t *l;     /* DV_LONG, DV_ULONG */
    const double *d;      /* DV_DOUBLE */
    const strv *s;        /* DV_BYTES */
} dv_values;

typedef struct dv_reader dv_reader;

/*
 * Opens the doc values of a field path ("price", "tags.keyword"). Returns
 * NULL (no error) when the field is unmapped, has no doc values (text,
 * doc_values: false) or has no data in this shard. Reads are fastest in
 * ascending docnum order (a block is cached); random order works too.
 */
dv_reader *dv_open(shard_searcher *s, const char *field);
dv_kind dv_reader_kind(const dv_reader *r);
const mfield *dv_reader_field(const dv_reader *r);
/* Fills *out: 1 the document has values, 0 it has none (out->n == 0), -1 storage error
 * (also recorded in the searcher). */
int dv_read(dv_reader *r, uint64_t docnum, dv_values *out, es_err *err);
void dv_close(dv_reader *r);

/* ======================================================================== */
/* Iterators                                                                */
/* ======================================================================== */

typedef struct doc_iter doc_iter;

typedef struct doc_iter_ops {
    /* Moves to the next matching docnum (> current) and returns it, or DOC_NO_MORE. */
    uint64_t (*next)(doc_iter *it);
    /* Moves to the first matching docnum >= target (target > current) and returns it. */
    uint64_t (*advance)(doc_iter *it, uint64_t target);
    /* The score of the current document (only when made with scores; else 0). */
    float (*score)(doc_iter *it);
    /* An upper bound of the number of documents it can match (for ordering conjunctions). */
    uint64_t (*cost)(doc_iter *it);
    void (*free)(doc_iter *it);
} doc_iter_ops;

/*
 * The base every iterator starts with. `doc` is the current docnum: 0 before
 * the first next/advance, DOC_NO_MORE when exhausted. Iterators match deleted
 * documents too (see shard_searcher_is_live); collectors see live ones only.
 */
struct doc_iter {
    const doc_iter_ops *ops;
    uint64_t doc;
};

static inline uint64_t doc_iter_next(doc_iter *it) { return it->ops->next(it); }
static inline uint64_t doc_iter_advance(doc_iter *it, uint64_t t) { return it->ops->advance(it, t); }
static inline float doc_iter_score(doc_iter *it) { return it->ops->score(it); }
static inline uint64_t doc_iter_cost(doc_iter *it) { return it->ops->cost(it); }
void doc_iter_free(doc_iter *it); /* NULL is a no-op */

/* Building blocks (owned trees: freeing the parent frees the children). */
doc_iter *doc_iter_empty(void);
doc_iter *doc_iter_all(shard_searcher *s, float score);        /* every docnum 1..max_doc-1 that is live */
/* A sorted, distinct docnum array (copied), constant score. */
doc_iter *doc_iter_docs(const uint64_t *docs, size_t n, float score);
/* Conjunction: scores are the sum of the scoring children's; `filters` match but do not score. */
doc_iter *doc_iter_and(doc_iter **scoring, size_t n_scoring, doc_iter **filters, size_t n_filters);
/* Disjunction with minimum_should_match (>= 1): the sum of the matching children's scores. */
doc_iter *doc_iter_or(doc_iter **its, size_t n, size_t min_should_match);
/* Dis_max / best_fields: max + tie_breaker * (sum - max) of the matching children. */
doc_iter *doc_iter_dismax(doc_iter **its, size_t n, float tie_breaker);
/* `req` minus the documents `excl` matches; scores are req's. */
doc_iter *doc_iter_not(doc_iter *req, doc_iter *excl);
/* req's documents; score = req's + opt's when opt also matches (Lucene's ReqOptSumScorer). */
doc_iter *doc_iter_req_opt(doc_iter *req, doc_iter *opt);
/* Same documents, constant score. */
doc_iter *doc_iter_const(doc_iter *inner, float score);
/* Same documents, score * factor. */
doc_iter *doc_iter_boost(doc_iter *inner, float factor);

/* ------------------------------------------------------------------------ */
/* Postings and BM25                                                        */

/* Norm bytes: index_norm_encode / index_norm_decode (index.h). */

/* Per-term BM25 weight: boost * (k1 + 1) * idf, and 1 / (k1 * (1 - b + b * dl / avgdl))
 * for each norm byte, as Lucene 9's BM25Similarity computes them (floats). */
typedef struct bm25_weight {
    float weight;          /* (boost * (k1 + 1)) * idf */
    float cache[256];      /* 1 / (k1 * ((1 - b) + b * LENGTH_TABLE[n] / avgdl)) */
} bm25_weight;

#define BM25_K1 1.2f
#define BM25_B 0.75f

/* idf = (float) ln(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5)) (computed in double, as Lucene). */
float bm25_idf(uint64_t doc_freq, uint64_t doc_count);
/* weight = (boost * (k1 + 1)) * idf — Elasticsearch's LegacyBM25Similarity keeps the classic
 * (k1 + 1) numerator by scaling the boost (idf: one term's, or a phrase's sum of idfs as a float). */
void bm25_weight_init(bm25_weight *w, float boost, float idf, const field_stats *fs);
/* Lucene's BM25Scorer.score: weight - weight / (1 + freq * cache[norm]). */
static inline float bm25_score(const bm25_weight *w, float freq, uint8_t norm)
{
    return w->weight - w->weight / (1.0f + freq * w->cache[norm]);
}

/*
 * The postings of one term of one field: docnums ascending with their
 * frequency (and positions when asked). With scores, each document scores
 * Lucene 9's BM25 with this shard's statistics: idf(docFreq, docCount of the
 * field), avgdl = sumTotalTermFreq / docCount, dl from the document's norm
 * byte — or norm byte 1 (dl = 1) for fields indexed without norms (keyword,
 * boolean), as Lucene does when a field has no norms. Returns an empty
 * iterator when the term is absent; NULL only on error (*err set).
 */
typedef struct postings_opts {
    bool positions;   /* decode positions (phrase queries) */
    bool scores;
    float boost;
} postings_opts;

doc_iter *postings_iter(shard_searcher *s, const char *field, const void *term, size_t len,
                        const postings_opts *opts, es_err *err);
/* For phrase matching: the frequency and positions of the current doc of a
 * postings iterator made with positions (borrowed until it moves). */
uint32_t postings_freq(doc_iter *it);
const uint32_t *postings_positions(doc_iter *it, uint32_t *n);

/*
 * Enumerates a field's terms in byte order from `lo` (inclusive unless
 * lo_excl) to `hi` (inclusive unless hi_excl); NULL bounds are open; prefix
 * (may be NULL) restricts to terms starting with it. Calls fn for each term
 * with its stats; fn returns 0 to go on, 1 to stop, -1 to fail (err set).
 */
typedef int (*term_visit_fn)(void *ctx, const void *term, size_t len, const term_stats *ts, es_err *err);
int shard_terms_visit(shard_searcher *s, const char *field, const void *lo, size_t lo_len, bool lo_excl,
                      const void *hi, size_t hi_len, bool hi_excl, const void *prefix, size_t prefix_len,
                      term_visit_fn fn, void *ctx, es_err *err);

/* ======================================================================== */
/* Queries                                                                  */
/* ======================================================================== */

typedef struct query query;
typedef struct query_parse_ctx query_parse_ctx;

/* What a query node can do. New query types implement these and register a
 * parser (query_register); nothing else changes. */
typedef struct query_ops {
    const char *name;   /* "match", "bool"... */
    /* Builds the iterator tree of this node over a shard. `boost` is the
     * product of the ancestors' boosts and q->boost (Lucene pushes boosts down
     * into the leaves' weights; doing the same keeps float scores identical).
     * flags: QI_SCORES (scores are needed), QI_FILTER (filter context, as
     * Elasticsearch's context.isFilter(): a bool's should clauses then need
     * one match). NULL with *err set on failure (a shard failure, e.g.
     * query_shard_exception); an empty iterator when nothing can match. */
    doc_iter *(*iter)(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err);
} query_ops;

/* A parsed query node; type-specific nodes embed it first. Arena-allocated. */
struct query {
    const query_ops *ops;
    float boost;          /* 1.0 unless given */
    const char *name;     /* _name (NULL when none) */
};

/*
 * Parsing context: the request's arena (every node and string lives there),
 * the document the JSON came from (for [line:col] in errors; may be NULL),
 * and the views the query will run on (to check fields, analyzers, formats;
 * may be empty). `now_ms` anchors date math ("now-1d/d"), fixed per request.
 */
struct query_parse_ctx {
    arena *mem;
    const json_doc *doc;
    index_view **views;
    size_t n_views;
    int64_t now_ms;
    uint32_t depth;       /* internal: nesting */
    /* Fetches a document's _source for terms lookup ({"terms":{"f":{"index","id","path"}}});
     * 1 found (*src heap, caller frees), 0 not found, -1 error. NULL: lookups are refused. */
    int (*fetch_source)(void *fctx, const char *index, const char *id, const char *routing, char **src,
                        size_t *len, es_err *err);
    void *fetch_ctx;
};

/*
 * Parses one query object ({"match": {...}}) with Elasticsearch's errors:
 *   parsing_exception "unknown query [foo]" (line, col; caused_by named_object_not_found_exception)
 *   parsing_exception "[match] query doesn't support multiple fields, found [a] and [b]"
 *   x_content_parse_exception "[1:27] [bool] failed to parse field [must]"
 * Returns NULL with *err set on failure.
 */
query *query_parse(query_parse_ctx *ctx, const json_val *v, es_err *err);

#define QI_SCORES 1u
#define QI_FILTER 2u

/* The iterator tree of a query over one shard: q->ops->iter(q, s, parent_boost * q->boost, flags, err).
 * Top level: parent_boost 1, flags QI_SCORES when scores are needed. */
doc_iter *query_iter(const query *q, shard_searcher *s, float parent_boost, unsigned flags, es_err *err);

/* Convenience nodes (used by the URI `q=` parser, scroll and PIT). */
query *query_match_all(query_parse_ctx *ctx);

/* Registers a query type parser (before any search; not thread-safe). The
 * parser receives the value under the query's name ({"term": <v>}). */
typedef query *(*query_parse_fn)(query_parse_ctx *ctx, const json_val *v, es_err *err);
void query_register(const char *name, query_parse_fn fn);

/* [line:col] of a value in the parsed document ("1:27"), for error texts; "1:1" when unknown. */
void query_ctx_pos(const query_parse_ctx *ctx, const json_val *v, uint32_t *line, uint32_t *col);

/* ======================================================================== */
/* Collectors                                                               */
/* ======================================================================== */

/*
 * A collector sees every live matching document of each shard, docnums
 * ascending within a shard. Aggregations implement this: open dv_readers in
 * begin_shard, read them in collect, close them in end_shard.
 */
typedef struct search_collector search_collector;
struct search_collector {
    bool needs_scores;
    /* shard_index: the position of the searcher in the array given to search_execute. */
    int (*begin_shard)(search_collector *c, shard_searcher *s, uint32_t shard_index, es_err *err);
    /* 0 go on, 1 this collector is done with this shard, -1 error. */
    int (*collect)(search_collector *c, uint64_t docnum, float score, es_err *err);
    int (*end_shard)(search_collector *c, shard_searcher *s, es_err *err);
    void *ctx;
};

/* Runs a query over one shard, handing each live match to the collectors.
 * Returns 0, or -1 (err set; also for a storage error met by an iterator). */
typedef struct collect_opts {
    float min_score;          /* with has_min_score: drop hits scoring below */
    bool has_min_score;
    int64_t terminate_after;  /* > 0: stop after this many collected docs */
    const query *post_filter; /* NULL: none; applies to top hits only, not to aggregations */
    int64_t deadline_ns;      /* > 0: mono_nanos() deadline (timeout): stop, and set timed_out */
} collect_opts;

typedef struct collect_result {
    uint64_t collected;       /* live matches handed to collectors */
    bool terminated_early;
    bool timed_out;
} collect_result;

int shard_collect(shard_searcher *s, uint32_t shard_index, const query *q, search_collector **cs, size_t n,
                  search_collector **post_cs, size_t n_post, const collect_opts *opts, collect_result *res,
                  es_err *err);

/* ------------------------------------------------------------------------ */
/* Sorting                                                                  */

typedef enum { SORT_SCORE, SORT_DOC, SORT_FIELD } sort_kind;
typedef enum { SORT_MODE_DEFAULT, SORT_MODE_MIN, SORT_MODE_MAX, SORT_MODE_SUM, SORT_MODE_AVG, SORT_MODE_MEDIAN } sort_mode;

typedef struct sort_spec {
    sort_kind kind;
    const char *field;        /* SORT_FIELD */
    bool desc;                /* default: desc for _score, asc otherwise */
    sort_mode mode;
    /* missing: "_last" (default), "_first", or a value (missing_json: compact JSON text). */
    bool missing_first;
    const char *missing_json;
    const char *unmapped_type;  /* NULL: an unmapped field is an error unless given */
    const char *format;       /* dates: the format of the sort value as written ("sort" values stay numbers) */
    const char *numeric_type; /* "date" / "date_nanos" / "long" / "double": values converted to it
                                 (sorting date and date_nanos fields together); NULL: the field's */
} sort_spec;

/* A sort value as ES returns it in "sort": null, a long, a double or a string. */
typedef enum { SV_NULL = 0, SV_LONG, SV_ULONG, SV_DOUBLE, SV_STR } sort_value_kind;
typedef struct sort_value {
    sort_value_kind kind;
    int64_t l;
    double d;
    const char *s;            /* SV_STR (arena or heap, see owner) */
    size_t slen;
} sort_value;

/* ------------------------------------------------------------------------ */
/* Top hits                                                                 */

/* One hit of the query phase: which shard (index into the searcher array), which doc. */
typedef struct search_hit {
    uint32_t shard_index;
    uint64_t docnum;
    float score;              /* NaN when not computed */
    sort_value *sort;         /* n_sort values (sorted searches); NULL otherwise */
} search_hit;

/*
 * The top-k collector: the best `k` hits over every shard it sees, ordered by
 * the sort specs (default: _score desc, then shard, then docnum asc as
 * Elasticsearch breaks ties). `after` (may be NULL) skips hits that sort at
 * or before it: its `sort` values (n_sorts of them; for a score sort the
 * score) are compared first; when they are equal, a hit is skipped unless
 * after->shard_index is not UINT32_MAX and (shard_index, docnum) come after
 * after's (search_after: UINT32_MAX — equal values are skipped; scroll
 * cursors: the last hit returned). Also counts total hits up to
 * track_total_hits (then relation "gte"; -1: no counting).
 */
typedef struct topk_collector topk_collector;
topk_collector *topk_new(size_t k, const sort_spec *sorts, size_t n_sorts, bool track_scores,
                         int64_t track_total_hits, const search_hit *after);
search_collector *topk_collector_of(topk_collector *t);
/* The hits, best first: *n of them (borrowed until topk_free). */
const search_hit *topk_hits(topk_collector *t, size_t *n);
uint64_t topk_total(const topk_collector *t, bool *gte);
float topk_max_score(const topk_collector *t);   /* NaN when none or not scored */
void topk_free(topk_collector *t);

/* Counts live matches (the _count API; track_total_hits). */
typedef struct count_collector {
    search_collector base;
    uint64_t count;
} count_collector;
void count_collector_init(count_collector *c);

/* ======================================================================== */
/* The search request                                                       */
/* ======================================================================== */

/* _source filtering: "_source": false | "a*" | ["a","b"] | {"includes":[],"excludes":[]}. */
typedef struct source_filter {
    bool fetch;               /* false: "_source": false */
    const char **includes;
    size_t n_includes;
    const char **excludes;
    size_t n_excludes;
} source_filter;

/* A "fields" / "docvalue_fields" entry. */
typedef struct field_and_format {
    const char *field;        /* may contain wildcards */
    const char *format;       /* NULL when none */
} field_and_format;

typedef struct search_request {
    arena *mem;
    const query *query;       /* never NULL after parsing (match_all when absent) */
    const query *post_filter; /* NULL when none */
    int64_t from;             /* default 0 */
    int64_t size;             /* default 10 */
    sort_spec *sorts;         /* NULL/0: by score */
    size_t n_sorts;
    bool track_scores;
    int64_t track_total_hits; /* -1: false (no total); INT64_MAX: true; else the threshold (default 10000) */
    bool rest_total_hits_as_int;
    source_filter source;
    bool has_stored_fields;   /* "stored_fields" given: _source only when asked for explicitly */
    bool stored_fields_none;  /* "stored_fields": "_none_": no _id, no _source */
    const char **stored_fields;
    size_t n_stored_fields;
    field_and_format *docvalue_fields;
    size_t n_docvalue_fields;
    field_and_format *fields;
    size_t n_fields;
    bool version;
    bool seq_no_primary_term;
    bool explain;
    int64_t timeout_ms;       /* -1: none */
    int64_t terminate_after;  /* 0: none */
    bool has_min_score;
    float min_score;
    search_hit *search_after; /* a parsed "search_after": its sort values (shard_index UINT32_MAX) */
    size_t n_search_after;
    const json_val *aggs;     /* "aggs"/"aggregations" as given (for the aggregation engine); NULL */
    const json_val *body;     /* the whole body (NULL when none), for extensions */
    const json_val *pit;      /* "pit" as given; NULL */
    const json_val *slice;    /* "slice" as given; NULL */
    const json_val *indices_boost; /* "indices_boost" as given (resolved by the caller: shard_searcher_set_boost) */
    int64_t now_ms;
    bool is_count;            /* the _count API */
    int64_t rescore_window;   /* internal: "rescore" given (-1: no) — refused after the window check */
    int64_t n_script_fields;  /* internal: "script_fields" given — refused after the limit check */
} search_request;

/* URL parameters of _search/_count that shape the request (NULL: absent). */
typedef struct search_url_params {
    const char *q, *df, *default_operator, *analyzer, *lenient, *analyze_wildcard;
    const char *from, *size, *sort, *_source, *_source_includes, *_source_excludes;
    const char *stored_fields, *docvalue_fields, *track_total_hits, *rest_total_hits_as_int;
    const char *track_scores, *version, *seq_no_primary_term, *timeout, *terminate_after;
    const char *min_score, *explain, *search_type, *scroll, *allow_partial_search_results;
    /* terms lookup (see query_parse_ctx.fetch_source); may be NULL */
    int (*fetch_source)(void *fctx, const char *index, const char *id, const char *routing, char **src,
                        size_t *len, es_err *err);
    void *fetch_ctx;
} search_url_params;

/*
 * Parses a _search (or _count when is_count) body plus URL parameters, with
 * Elasticsearch's validation and errors (unknown keys: parsing_exception
 * "Unknown key for a START_OBJECT in [foo]."; the result window:
 * illegal_argument_exception "Result window is too large, from + size must be
 * less than or equal to: [10000] but was [10001]. ..." — checked against each
 * view's index.max_result_window). body may be NULL. doc is body's document
 * (positions in errors; may be NULL). All memory in `mem`.
 */
int search_request_parse(search_request *out, arena *mem, const json_doc *doc, const json_val *body,
                         const search_url_params *p, index_view **views, size_t n_views, bool is_count,
                         es_err *err);

/*
 * The per-index checks of a parsed request (Elasticsearch makes them on the
 * shards): index.max_result_window (or, with scroll, the batch size),
 * index.max_docvalue_fields_search, index.max_script_fields,
 * index.max_rescore_window. search_request_parse runs it when given views;
 * callers that parse before resolving indices (as Elasticsearch validates the
 * request first) call it after resolution.
 */
int search_request_validate(search_request *r, index_view **views, size_t n_views, const char *scroll, es_err *err);

/* ------------------------------------------------------------------------ */
/* Execution                                                                */

/* What one shard answered (for "_shards" and "failures"). */
typedef struct shard_outcome {
    bool failed;
    es_err err;
} shard_outcome;

typedef struct search_result {
    int64_t took_ms;
    bool timed_out;
    bool terminated_early;
    bool has_terminated_early;   /* terminate_after given */
    uint32_t n_shards;
    uint32_t n_failed;
    shard_outcome *shards;       /* n_shards */
    uint64_t total;
    bool total_gte;
    float max_score;             /* NaN: null */
    search_hit *hits;            /* from..from+size of the merged order (heap copy) */
    size_t n_hits;
    sort_spec *sorts;            /* the request's, for writing "sort" values */
    size_t n_sorts;
    void *internal;              /* keeps the hits' sort values alive */
} search_result;

/*
 * Runs the query phase of req over the given open shard searchers (any mix of
 * indices; shard_index = position in the array), feeding the extra collectors
 * too (aggregations; may be NULL/0). A shard that fails is reported in
 * res->shards and the others are still answered (unless all fail: -1).
 * Free with search_result_free.
 */
int search_execute(const search_request *req, shard_searcher **shards, size_t n_shards,
                   search_collector **extra, size_t n_extra, search_result *res, es_err *err);
void search_result_free(search_result *res);

/*
 * Writes the whole _search answer: {"took","timed_out","_shards",
 * "hits":{"total","max_score","hits":[...]}} — each hit fetched from its
 * shard searcher (_index, _id, _score, _routing, _source filtered, fields,
 * sort...). `aggs_writer` (may be NULL) writes members after "hits"
 * ("aggregations"); `extra_writer` (may be NULL) writes members before
 * "took" (scroll's "_scroll_id", PIT's "pit_id").
 */
typedef void (*search_member_writer)(json_w *w, void *ctx);
int search_write_response(const search_request *req, const search_result *res, shard_searcher **shards,
                          json_w *w, search_member_writer extra_writer, void *extra_ctx,
                          search_member_writer aggs_writer, void *aggs_ctx, es_err *err);

/* Writes one hit object (the fetch phase of one document). */
int search_write_hit(const search_request *req, const search_result *res, const search_hit *h,
                     shard_searcher *s, json_w *w, es_err *err);

/* A float as Java's Float.toString writes it (and so Elasticsearch's _score):
 * the shortest digits that read back as the same float, "0.2876821", "1.0",
 * "1.0E7". out needs 48 bytes; returns the length. */
size_t search_fmt_float(float f, char *out);

/* "_shards":{"total","successful","skipped","failed"[,"failures":[...]]} */
void search_write_shards(json_w *w, const search_result *res, shard_searcher **shards);

/* ------------------------------------------------------------------------ */
/* Aggregations hook                                                        */

/*
 * The aggregation engine plugs in here (search_register_aggs, once at
 * start-up). When a request has "aggs", the REST layer calls create, adds
 * the collector to search_execute's extra collectors (it sees every match,
 * post_filter or not), and write after "hits" (it writes the
 * "aggregations" member itself). Without an engine, "aggs" is refused with
 * illegal_argument_exception.
 */
typedef struct search_aggs search_aggs;
typedef struct search_aggs_ops {
    search_aggs *(*create)(const search_request *req, shard_searcher **shards, size_t n, es_err *err);
    search_collector *(*collector)(search_aggs *a);
    void (*write)(search_aggs *a, json_w *w);
    void (*free)(search_aggs *a);
} search_aggs_ops;
void search_register_aggs(const search_aggs_ops *ops);
const search_aggs_ops *search_aggs_engine(void);

/* Opens a searcher for every shard of every view (in order); *out heap array
 * of *n (close with search_shards_close). */
int search_shards_open(store *st, index_view **views, size_t n_views, shard_searcher ***out, size_t *n,
                       es_err *err);
void search_shards_close(shard_searcher **s, size_t n);

/* ======================================================================== */
/* Beyond the core: aggregations, sort values, scroll and point in time     */
/* (src/search/agg*.c, sort*.c, context*.c; REST side: rest/rest_scroll.c)  */
/* ======================================================================== */

/* ------------------------------------------------------------------------ */
/* Aggregations                                                             */

/*
 * A parsed "aggs"/"aggregations" object (terms, range, histogram,
 * date_histogram, filter, filters, missing, global, min, max, sum, avg,
 * value_count, cardinality, stats, extended_stats; sub-aggregations at any
 * depth). Strings and nodes live in mem; free the tree (its date printers)
 * with agg_tree_free before mem goes. views: the indices searched (field
 * types, formats). aggs NULL: *out = NULL, 0. Errors as Elasticsearch's
 * (parsing_exception "Unknown aggregation type [foo] did you mean [bar]?",
 * x_content_parse_exception "[1:30] [terms] unknown field [x]"...).
 * Shard-level errors (a text field, a keyword field under avg) are raised by
 * the collector's begin_shard, as Elasticsearch fails the shard.
 */
typedef struct agg_tree agg_tree;
int agg_tree_parse(arena *mem, const json_doc *doc, const json_val *aggs, index_view **views, size_t n_views,
                   int64_t now_ms, agg_tree **out, es_err *err);
void agg_tree_free(agg_tree *t);

/*
 * One execution of a tree: a collector to hand to search_execute (extra
 * collectors; each shard collects into its own states, merged at the end of
 * the shard), then agg_run_write as search_write_response's aggs_writer
 * (writes "aggregations":{...}; typed_keys prefixes names with their type,
 * "sterms#name"). One thread at a time.
 */
typedef struct agg_run agg_run;
agg_run *agg_run_new(const agg_tree *t, bool typed_keys);
search_collector *agg_run_collector(agg_run *r);
void agg_run_write(json_w *w, void *run);
void agg_run_free(agg_run *r);

/* Registers the engine with search_register_aggs (plain _search requests). */
void agg_register_engine(void);
/* The body document and typed_keys of the request this thread is about to run
 * (the engine's create callback has no room for them): [line:col] in errors and
 * typed names. Set by the REST layer before each search. */
void agg_request_context(const json_doc *doc, bool typed_keys);

/* ------------------------------------------------------------------------ */
/* Scroll and point in time (context*.c, sort.c)                            */

/*
 * Contexts keep one read snapshot per shard (shard_searcher) across requests.
 * They live in a process-wide registry: thread-safe; requests on one context
 * run one at a time. A context expires keep-alive after the end of its last
 * request (a reaper thread frees it within a second; an expired id is refused
 * at once). Ids are 24 URL-safe base64 characters, opaque to clients.
 */
typedef enum { SEARCH_CTX_SCROLL = 1, SEARCH_CTX_PIT = 2 } search_ctx_kind;

/* Node limits, read by the caller from the cluster settings (0: the default). */
typedef struct search_ctx_limits {
    int64_t max_keep_alive_ms;  /* search.max_keep_alive, default 24h */
    int64_t max_open_scroll;    /* search.max_open_scroll_context, default 500 (counted per shard) */
} search_ctx_limits;

/* Checks a keep-alive against search.max_keep_alive ("Keep alive for request (2m) is too large..."). */
int search_ctx_check_keep_alive(int64_t keep_alive_ms, const search_ctx_limits *lim, es_err *err);

typedef struct search_scroll_args {
    const char *body;            /* the _search body text (copied; NULL: none) */
    size_t body_len;
    const search_url_params *params;  /* copied */
    index_view **views;          /* the indices searched (the context takes its own references) */
    size_t n_views;
    const char *index_expr;      /* the index expression searched (filtered aliases apply); NULL: all */
    shard_searcher **shards;     /* open searchers: ownership passes to the call, even on failure */
    size_t n_shards;
    int64_t keep_alive_ms;
    const search_ctx_limits *lim;
    bool typed_keys;
    bool request_cache;          /* ?request_cache=true (refused in a scroll context) */
} search_scroll_args;

/* The checks Elasticsearch makes on a scroll request before resolving indices
 * (action_request_validation_exception "Validation Failed: 1: [size] cannot be [0] in a scroll context;"...). */
int search_scroll_validate(const search_request *r, const search_url_params *p, bool request_cache, es_err *err);

/*
 * The first page of a scroll (_search?scroll=): parses the request into a new
 * context, validates it as Elasticsearch does for scrolls ("[size] cannot be
 * [0] in a scroll context"...), counts the total exactly, writes the whole
 * answer with "_scroll_id" first (and "aggregations" when asked).
 */
int search_scroll_open(const search_scroll_args *a, json_w *w, es_err *err);
/* The next page of a scroll; keep_alive_ms < 0 keeps the context's. Errors: illegal_argument_exception
 * "Cannot parse scroll id"; search_phase_execution_exception (404) caused by
 * search_context_missing_exception "No search context found for id [N]". */
int search_scroll_next(const char *scroll_id, int64_t keep_alive_ms, const search_ctx_limits *lim,
                       bool rest_total_hits_as_int, json_w *w, es_err *err);

/* Opens a point in time over the shards (ownership passes, even on failure); index_expr: the
 * expression opened (its filtered aliases filter the PIT's searches); *id is heap. */
int search_pit_open(index_view **views, size_t n_views, shard_searcher **shards, size_t n_shards,
                    const char *index_expr, int64_t keep_alive_ms, const search_ctx_limits *lim, char **id,
                    es_err *err);

typedef struct search_pit_args {
    const char *id;
    int64_t keep_alive_ms;       /* < 0: unchanged */
    search_request *req;         /* parsed without views; validated here against the PIT's indices */
    const json_doc *doc;         /* req's body document (positions in errors; may be NULL) */
    const search_url_params *params;
    /* The value search_after gave for the implicit _shard_doc tiebreaker (the
     * caller takes it off before parsing when search_after has one value more
     * than sort); NULL when none. */
    const json_val *tiebreaker_after;
    const search_ctx_limits *lim;
    bool typed_keys;
} search_pit_args;

/* A search over a point in time; writes the answer with "pit_id" first. */
int search_pit_search(const search_pit_args *a, json_w *w, es_err *err);

/* Frees contexts by id (every id must parse first: else -1 with "Cannot parse scroll id"
 * / "invalid id: [x]"); *freed counts the ones that existed. */
int search_ctx_clear(const char *const *ids, size_t n, search_ctx_kind kind, size_t *freed, es_err *err);
size_t search_ctx_clear_all(search_ctx_kind kind);
/* Open contexts of a kind (for statistics). */
size_t search_ctx_count(search_ctx_kind kind);
/* Frees every context and stops the reaper: call before the store closes. */
void search_ctx_shutdown(void);

#endif
