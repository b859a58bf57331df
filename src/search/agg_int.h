/*
 * agg_int.h — shared by the aggregation files (agg*.c) only: the parsed
 * aggregation tree, the per-kind operations, buckets, value reading, the
 * interning hash map, and the date printing / rounding helpers.
 *
 * Model (as Elasticsearch's, simplified to one process):
 *   agg_spec    one parsed aggregation ("name": {"terms": {...}, "aggs": {...}}),
 *               immutable once parsed, lives in the request's arena.
 *   state       what an aggregation accumulated (counts, sums, buckets). A bucket
 *               aggregation's buckets each hold one state per sub-aggregation.
 *               Each shard collects into its own states; end_shard merges them into
 *               the run's (the reduce), then the states are written once at the end.
 *   agg_exec    per shard and per spec: doc values reader, filter iterators.
 */
#ifndef FERRY_AGG_INT_H
#define FERRY_AGG_INT_H

#include "search/search.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct agg_spec agg_spec;
typedef struct agg_kind agg_kind;
typedef struct agg_shard agg_shard;

/* ------------------------------------------------------------------------ */
/* Value types and formats (Elasticsearch's DocValueFormat)                 */

typedef enum {
    VT_NONE = 0,   /* unmapped in every index */
    VT_LONG,       /* long, integer, short, byte */
    VT_ULONG,      /* unsigned_long */
    VT_DOUBLE,     /* double, float, half_float */
    VT_SCALED,     /* scaled_float: long / scaling_factor */
    VT_DATE,       /* epoch millis */
    VT_DATE_NANOS, /* epoch nanos in doc values; millis for aggregations */
    VT_BOOL,
    VT_KEYWORD,
    VT_IP,
    VT_TEXT,       /* text / match_only_text: no doc values (an error when aggregated) */
    VT_OTHER,      /* mapped, but with no usable doc values (geo, binary, object...) */
} val_type;

/* A compiled date printer (agg_date.c). */
typedef struct dfmt dfmt;

typedef enum { FMT_RAW = 0, FMT_DATE, FMT_BOOL, FMT_IP, FMT_DECIMAL } fmt_kind;

typedef struct agg_format {
    fmt_kind kind;
    dfmt *date;          /* FMT_DATE (owned by the run's spec arena list; see agg_dfmt_get) */
    int32_t tz_sec;      /* FMT_DATE: offset applied when printing */
    const char *decimal; /* FMT_DECIMAL: a java.text.DecimalFormat pattern ("#,##0.00") */
} agg_format;

/* A number through a DecimalFormat pattern (prefix/suffix literals, grouping, minimum integer
 * digits, minimum and maximum fraction digits, a trailing %). */
void agg_format_decimal(const char *pattern, double v, buf *out);

/* Writes a double value as Elasticsearch formats it with fmt ("value_as_string"). */
void agg_format_double(const agg_format *f, double v, buf *out);
/* Writes a long (dates: epoch millis). */
void agg_format_long(const agg_format *f, int64_t v, buf *out);

/* ------------------------------------------------------------------------ */
/* Dates (agg_date.c)                                                       */

/* Compiles the printer of the first alternative of a format spec
 * ("strict_date_optional_time||epoch_millis" prints as strict_date_optional_time).
 * NULL with illegal_argument_exception when the pattern cannot be printed. */
dfmt *dfmt_compile(const char *spec, es_err *err);
void dfmt_free(dfmt *f);
/* Prints an instant: epoch seconds + nanos, in a fixed offset zone (seconds east of UTC). */
void dfmt_print(const dfmt *f, int64_t sec, int32_t nanos, int32_t tz_sec, buf *out);
/* Convenience: epoch millis. */
void dfmt_print_millis(const dfmt *f, int64_t ms, int32_t tz_sec, buf *out);
/* Whether the printer prints epoch numbers (epoch_millis / epoch_second). */
bool dfmt_is_epoch(const dfmt *f);

/* Parses a time_zone: "UTC", "Z", "GMT", "Etc/UTC", "+01:00", "-0800", "+1", "UTC+01:00"...
 * Region ids ("Europe/Paris") are refused with illegal_argument_exception. */
int agg_tz_parse(const char *s, int32_t *sec, es_err *err);

/* Calendar units of date_histogram's calendar_interval. */
typedef enum { CAL_NONE = 0, CAL_SECOND, CAL_MINUTE, CAL_HOUR, CAL_DAY, CAL_WEEK, CAL_MONTH, CAL_QUARTER, CAL_YEAR } cal_unit;
/* "1d", "day", "1M", "month"... (CAL_NONE when not a calendar interval). */
cal_unit agg_cal_unit(const char *s);
/* The start (epoch ms) of the calendar unit holding ms, in a fixed-offset zone. */
int64_t agg_cal_round(int64_t ms, cal_unit u, int32_t tz_sec);
/* The start of the next unit after a rounded key. */
int64_t agg_cal_next(int64_t key, cal_unit u, int32_t tz_sec);

/* Civil date helpers (proleptic Gregorian, days since 1970-01-01). */
void agg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* ------------------------------------------------------------------------ */
/* Interning hash map: byte keys -> dense indexes 0..n-1                    */

typedef struct kmap {
    uint32_t *slots;       /* index + 1, 0 = empty */
    uint64_t *hashes;      /* per index */
    uint32_t *koff, *klen; /* per index: key bytes in keys */
    buf keys;
    size_t cap;            /* slots, a power of two */
    size_t n;
    size_t ncap;           /* capacity of the per-index arrays */
} kmap;

uint64_t agg_hash(const void *p, size_t n);
/* The index of key (added when absent: *added true). */
size_t kmap_put(kmap *m, const void *key, size_t len, bool *added);
/* -1 when absent. */
int64_t kmap_get(const kmap *m, const void *key, size_t len);
static inline const uint8_t *kmap_key(const kmap *m, size_t idx, size_t *len)
{
    *len = m->klen[idx];
    return (const uint8_t *)m->keys.p + m->koff[idx];
}
void kmap_free(kmap *m);

/* ------------------------------------------------------------------------ */
/* Buckets                                                                  */

typedef struct agg_bucket {
    uint64_t doc_count;
    void **subs;          /* one state per sub-aggregation (NULL until first used) */
} agg_bucket;

/* Collects doc into a bucket: doc_count + every sub-aggregation. */
int agg_bucket_collect(agg_shard *sh, const agg_spec *parent, agg_bucket *b, uint64_t doc, es_err *err);
/* Merges src into dst (src emptied). */
void agg_bucket_merge(const agg_spec *parent, agg_bucket *dst, agg_bucket *src);
void agg_bucket_free(const agg_spec *parent, agg_bucket *b);
/* Writes the sub-aggregations' members of a bucket (after doc_count). */
void agg_bucket_write_subs(const agg_spec *parent, const agg_bucket *b, json_w *w);
/* A sub-aggregation's state in a bucket, created when absent. */
void *agg_bucket_sub(const agg_spec *parent, agg_bucket *b, size_t i);

/*
 * The value of an order path ("_count", "_key" are handled by the caller;
 * "avg_price", "stats.max", "filter_agg>avg", "filter_agg" = its doc_count)
 * for a bucket. false when the path names nothing (then the bucket sorts as NaN).
 */
bool agg_bucket_path_value(const agg_spec *parent, const agg_bucket *b, const char *path, double *out);
/* Checks an order path at parse time; -1 with Elasticsearch's error. */
int agg_check_order_path(const agg_spec *parent, const char *path, es_err *err);

/* ------------------------------------------------------------------------ */
/* Values of a field for one document                                       */

typedef struct agg_vals {
    size_t n;
    int kind;             /* DV_LONG, DV_ULONG, DV_DOUBLE, DV_BYTES */
    const int64_t *l;
    const double *d;
    const strv *s;
} agg_vals;

/* Per shard, per spec. */
typedef struct agg_exec {
    dv_reader *dv;
    int dv_kind;
    val_type vt;          /* this shard's type of the field */
    double scale;         /* VT_SCALED */
    uint64_t cache_doc;   /* last document read (0: none) */
    agg_vals cache;
    int64_t miss_l;       /* the "missing" value as one value of the doc values kind */
    double miss_d;
    strv miss_s;
    char *miss_own;       /* heap text of a non-string "missing" on a keyword field */
    bool constant;        /* every document has the one value miss_s (the _index field) */
    uint8_t miss_ip[16];
    void *x;              /* kind-specific per-shard data */
} agg_exec;

struct agg_shard {
    shard_searcher *s;
    uint32_t shard_index;
    agg_exec *ex;         /* by spec id */
};

/* The values of a's field for doc (the "missing" value when it has none and one
 * is given). 0 none, n > 0, -1 storage error. */
int agg_values(agg_shard *sh, const agg_spec *a, uint64_t doc, agg_vals *out, es_err *err);
/* A value as a double for metrics (dates in millis, booleans 0/1, scaled floats divided). */
double agg_val_double(const agg_exec *e, const agg_vals *v, size_t i);

/* ------------------------------------------------------------------------ */
/* Specs and kinds                                                          */

enum {
    AK_BUCKET = 1,        /* accepts sub-aggregations */
    AK_FIELD = 2,         /* reads a field ("field", "missing", "format") */
    AK_NUMERIC = 4,       /* numeric values only (metrics other than value_count/cardinality) */
};

struct agg_spec {
    const agg_kind *kind;
    const char *name;
    const json_val *meta;
    agg_spec **subs;
    size_t n_subs;
    uint32_t id;
    /* values source */
    const char *field;
    val_type vt;             /* from the views (the first index that maps the field) */
    const mfield *mf;        /* that field (borrowed from a view held by the request) */
    const json_val *missing; /* the "missing" value as given (NULL: none) */
    const char *format;      /* "format" as given */
    agg_format fmt;          /* the output format */
    void *p;                 /* kind parameters */
};

/* Parse context. */
typedef struct agg_pctx {
    arena *mem;
    const json_doc *doc;
    index_view **views;
    size_t n_views;
    int64_t now_ms;
    query_parse_ctx *qctx;    /* for filter / filters */
    dfmt **dfmts;             /* compiled printers, freed with the tree */
    size_t n_dfmts, cap_dfmts;
    uint32_t next_id;
    uint32_t depth;
    /* heap objects freed with the tree */
    struct agg_owned *owned;
    size_t n_owned, cap_owned;
} agg_pctx;

/* Registers a heap object to free (with fn) when the tree is freed. */
void agg_pctx_own(agg_pctx *c, void *p, void (*fn)(void *));

struct agg_kind {
    const char *name;
    unsigned flags;
    /* Typed-keys prefix ("sterms", "min"...); NULL: the name. */
    const char *(*typed_name)(const agg_spec *a);
    /* Parses the kind's body into a->p (and the common value-source members). */
    int (*parse)(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err);
    /* Checks once the sub-aggregations are parsed (order paths); may be NULL. */
    int (*validate)(agg_pctx *c, agg_spec *a, es_err *err);
    /* Per-shard set-up beyond the doc values reader (filters); may be NULL. */
    int (*open)(agg_shard *sh, const agg_spec *a, agg_exec *e, es_err *err);
    void (*close)(const agg_spec *a, agg_exec *e);
    void *(*state_new)(const agg_spec *a);
    void (*state_free)(const agg_spec *a, void *st);
    int (*collect)(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err);
    /* Merges src into dst and frees src. */
    void (*merge)(const agg_spec *a, void *dst, void *src);
    /* Writes the aggregation's object body members (inside its {}). */
    void (*write)(const agg_spec *a, void *st, json_w *w);
    /* Metrics: the value named by `which` (NULL: the single value) for ordering. */
    bool (*value)(const agg_spec *a, const void *st, const char *which, double *out);
    /* Single-bucket aggregations (filter): the bucket, for order paths. */
    const agg_bucket *(*single)(const agg_spec *a, const void *st);
};

/* The kinds (agg_metric.c, agg_bucket.c, agg_histo.c). */
extern const agg_kind agg_kind_min, agg_kind_max, agg_kind_sum, agg_kind_avg, agg_kind_value_count,
    agg_kind_cardinality, agg_kind_stats, agg_kind_extended_stats, agg_kind_terms, agg_kind_range,
    agg_kind_filter, agg_kind_filters, agg_kind_histogram, agg_kind_date_histogram, agg_kind_missing,
    agg_kind_global;

/* global: feeds every live document of the shard to a top-level global aggregation. */
int agg_global_collect_all(agg_shard *sh, const agg_spec *a, void *st, es_err *err);

/* ------------------------------------------------------------------------ */
/* Parse helpers (agg.c)                                                    */

/* parsing_exception with line/col at v. Returns -1. */
int agg_err_parsing(agg_pctx *c, es_err *err, const json_val *at, bool key, const char *fmt, ...) FERRY_PRINTF(5, 6);
/* x_content_parse_exception "[l:c] msg". Returns -1. */
int agg_err_x(agg_pctx *c, es_err *err, const json_val *at, bool key, const char *fmt, ...) FERRY_PRINTF(5, 6);
/* "[kind] unknown field [k]" with Elasticsearch's suggestion among known (NULL-terminated). */
int agg_err_unknown_field(agg_pctx *c, es_err *err, const json_val *at, const char *kind, const char *k,
                          const char *const *known);
/* Common value-source members: field, missing, format, value_type, script (refused).
 * 1 handled, 0 not one of them, -1 error. */
int agg_parse_vs_member(agg_pctx *c, agg_spec *a, const char *k, const json_val *v, es_err *err);
/* Resolves the field's type from the views, the format and validates
 * (numeric-only kinds). Called by kinds after parsing. */
int agg_resolve_field(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err);
char *agg_strdup(agg_pctx *c, const char *s);
/* Numbers given as numbers or numeric strings. */
bool agg_json_int(const json_val *v, int64_t *out);
bool agg_json_double(const json_val *v, double *out);
/* Java's Double.toString (and ES's RAW format of doubles). */
void agg_put_double(buf *b, double v);
/* A date value for a date field (number = epoch ms; string: date math with
 * the field's or the given format). 0 or -1 (err set: parse_exception). */
int agg_parse_date(agg_pctx *c, const agg_spec *a, const json_val *v, int64_t *ms, es_err *err);

/* The key strings of bucket orders. */
typedef enum { ORD_COUNT, ORD_KEY, ORD_PATH } agg_order_kind;
typedef struct agg_order {
    agg_order_kind kind;
    bool asc;
    const char *path;
} agg_order;
/* Parses "order": {"_count":"desc"} | [{...},{...}]. */
int agg_parse_order(agg_pctx *c, agg_spec *a, const json_val *v, bool histogram, agg_order **out, size_t *n,
                    es_err *err);

/* Text of a keyword/ip key (ip: canonical text). */
void agg_key_text(val_type vt, const uint8_t *p, size_t len, buf *out);

#endif
