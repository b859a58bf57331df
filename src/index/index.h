/*
 * index — what an Elasticsearch index *means*: its name rules, its settings,
 * its mapping, and how a document's _source reads against that mapping.
 *
 * A pure library: no I/O, no HTTP, no clocks except where a caller passes a
 * value in. The REST handlers call it; the store keeps the bytes it writes
 * (settings and mappings are persisted as the JSON this module writes and
 * re-read with the same parse functions).
 *
 * Errors: every fallible function returns 0 / -1 and fills an es_err with
 * Elasticsearch's type, reason and causes (the first error set wins).
 *
 * Depends on: core, json.
 *
 * Thread-safety:
 *   - index_name_validate and the date/ip/value helpers are pure.
 *   - index_settings: a plain value; one thread mutates it at a time, any
 *     number may read it concurrently when nobody mutates it.
 *   - mapping: immutable once returned by mapping_parse / mapping_merge and
 *     reference counted (atomic). Share it across threads with mapping_ref,
 *     drop it with mapping_unref. Updates never modify a mapping in place:
 *     mapping_merge returns a new mapping (copy-on-write), and the caller
 *     swaps its "current" pointer under its own lock.
 *   - parsed_doc: belongs to the thread that made it.
 */
#ifndef FERRY_INDEX_H
#define FERRY_INDEX_H

#include "core/core.h"
#include "json/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ======================================================================== */
/* Index names                                                              */
/* ======================================================================== */

#define INDEX_NAME_MAX_BYTES 255

/*
 * Checks an index name against Elasticsearch's rules, in Elasticsearch's
 * order: forbidden characters, '#', ':', leading '_' '-' '+', length in UTF-8
 * bytes (> 255), "." / "..", then lowercase. On failure: -1 and
 * invalid_index_name_exception "Invalid index name [X], <why>" with the
 * extra members "index_uuid":"_na_" and "index":"X".
 * An empty name is rejected with "must not be empty".
 */
int index_name_validate(const char *name, es_err *err);

/* ======================================================================== */
/* Index settings                                                           */
/* ======================================================================== */

/*
 * Settings in Elasticsearch's normalized form: every key fully qualified
 * with the "index." prefix ("index.number_of_shards"), every value a string
 * or a list of strings (as GET /{index}/_settings answers them). Kept sorted
 * by key. Owned by the struct (heap); free with index_settings_free.
 */
typedef struct index_setting {
    char *key;     /* "index.number_of_shards" */
    char *value;   /* "1"; NULL when the value is a list (or a null in an update) */
    char **list;   /* the strings of a list value; NULL otherwise */
    size_t n_list;
    bool is_list;
    bool is_null;  /* only in an update: reset to default */
} index_setting;

typedef struct index_settings {
    index_setting *items;
    size_t n;
} index_settings;

/* What a settings body is for: validation differs a little. */
typedef enum {
    SETTINGS_CREATE,  /* PUT /{index}: node-set keys (uuid, provided_name) are ignored,
                       * private ones (version.created) rejected */
    SETTINGS_UPDATE,  /* PUT /{index}/_settings: null resets a key; node-set keys rejected */
    SETTINGS_STORED,  /* re-read from the store: everything accepted, nothing validated */
} settings_mode;

/*
 * Reads a settings body ({"index":{...}} nested, "index.x" flat, "x" bare,
 * or any mix) into *out (a fresh struct, caller frees). Scalars become
 * strings (true -> "true", 1 -> "1", 1.5 -> "1.5"); arrays become lists of
 * strings; objects nest into dotted keys. Every key is checked against the
 * known index settings and every known value validated, with
 * Elasticsearch's texts:
 *   unknown setting [index.foo] please check that any required plugins are installed, or
 *     check the breaking changes documentation for removed settings
 *   unknown setting [index.numbr_of_shards] did you mean [index.number_of_shards]?
 *   Failed to parse value [abc] for setting [index.number_of_shards]   (caused_by number_format_exception)
 *   Failed to parse value [0] for setting [index.number_of_shards] must be >= 1
 * v may be NULL (empty settings). Returns 0 or -1 (*out left NULL).
 */
int index_settings_parse(const json_val *v, settings_mode mode, index_settings **out, es_err *err);

index_settings *index_settings_new(void);
index_settings *index_settings_clone(const index_settings *s);
void index_settings_free(index_settings *s);

/* The string value of a key ("index.number_of_shards"); NULL when absent or a list. */
const char *index_settings_get(const index_settings *s, const char *key);
const index_setting *index_settings_find(const index_settings *s, const char *key);
/* Sets (replaces) a string value. */
void index_settings_set(index_settings *s, const char *key, const char *value);
bool index_settings_remove(index_settings *s, const char *key);

/* Typed reads with the setting's default when absent. */
int64_t index_settings_get_int(const index_settings *s, const char *key, int64_t dflt);
bool index_settings_get_bool(const index_settings *s, const char *key, bool dflt);

/* What the node fills in when it creates an index. */
typedef struct index_create_info {
    const char *provided_name;   /* the name as given (before date math) */
    const char *uuid;            /* NULL: a random one is made */
    int64_t creation_date;       /* ms since the epoch; 0: now */
    const char *version_created; /* e.g. "8521000"; NULL: INDEX_VERSION_CREATED_DEFAULT */
} index_create_info;

#define INDEX_VERSION_CREATED_DEFAULT "8521000"

/*
 * Completes the settings of a new index: number_of_shards "1" and
 * number_of_replicas "1" when not given, routing.allocation.include._tier_preference
 * "data_content", uuid, provided_name, creation_date (kept when the user set
 * one) and version.created.
 */
void index_settings_fill_defaults(index_settings *s, const index_create_info *info);

/* Output flags for index_settings_write. */
enum {
    SETTINGS_WRITE_FLAT = 1,     /* "index.number_of_shards":"1" instead of nested objects */
    SETTINGS_WRITE_DEFAULTS = 2, /* only the defaults of known settings that s does not set
                                  * (for the "defaults" member of include_defaults=true) */
};

/* Writes the settings as one JSON object value (nested by default, keys sorted). */
void index_settings_write(const index_settings *s, unsigned flags, json_w *w);

/*
 * PUT /{index}/_settings: applies update (parsed with SETTINGS_UPDATE) to
 * cur, returning a new settings struct in *out. A null value resets the key
 * to its default (removes it). For an open index, changing a static setting
 * fails with
 *   Can't update non dynamic settings [[index.number_of_shards]] for open indices [[name/uuid]]
 * (all offending keys listed, sorted, comma-separated). index_name/uuid are
 * for that message. A closed index accepts static updates except final ones
 * (number_of_shards: "final index setting [index.number_of_shards], not updateable").
 */
int index_settings_merge_update(const index_settings *cur, const index_settings *update, bool index_open,
                                const char *index_name, const char *index_uuid, index_settings **out,
                                es_err *err);

/* Whether a known setting key may be changed on an open index. Unknown keys: false. */
bool index_setting_is_dynamic(const char *key);

/* ======================================================================== */
/* Dates                                                                    */
/* ======================================================================== */

/*
 * A compiled date format: "strict_date_optional_time||epoch_millis",
 * "yyyy-MM-dd HH:mm:ss", "dd/MM/yyyy||epoch_second"... Alternatives split
 * on "||" are tried in order. Named formats (Elasticsearch's built-ins) and
 * Java-style patterns are both supported:
 *   y u (year: yyyy 4+ digits, yy two-digit year 2000-2099, y 1+), M (M, MM,
 *   MMM Jan, MMMM January), d, D (day of year), H, k, h + a (AM/PM), m, s,
 *   S... (fraction, exactly as many digits), E/EEE/EEEE (day name, checked
 *   for form only), Z, X, XX, XXX, x, O (offset; every form of +HH, +HHmm,
 *   +HH:mm and "Z" is accepted), z/VV (UTC, GMT, Z, or an offset),
 *   'literal', '' (a quote), [optional sections], other characters literal.
 * Immutable once compiled; shareable across threads.
 */
typedef struct date_format date_format;

#define DATE_FORMAT_DEFAULT "strict_date_optional_time||epoch_millis"

/* Compiles a format; NULL with illegal_argument_exception "Invalid format: [x]: ..." on failure. */
date_format *date_format_compile(const char *spec, es_err *err);
void date_format_free(date_format *f);
const char *date_format_spec(const date_format *f);

/*
 * Parses text with the format. On success *sec (seconds since the epoch, may
 * be negative) and *nanos (0..999999999) are set and true returned.
 * Missing fields default to 1970-01-01T00:00:00Z; no zone means UTC.
 * skip_epoch: ignore epoch_millis/epoch_second alternatives (date detection).
 */
bool date_format_parse(const date_format *f, const char *s, size_t len, bool skip_epoch, int64_t *sec,
                       int32_t *nanos);
/* Convenience: epoch millis (floor). */
bool date_format_parse_millis(const date_format *f, const char *s, size_t len, int64_t *ms);

/* Java Instant.toString of an instant: "2015-01-01T12:10:30.123Z" (fraction in 3-digit groups, none when 0). */
void date_format_iso(int64_t sec, int32_t nanos, buf *out);
/* Days since 1970-01-01 of a proleptic Gregorian civil date. */
int64_t date_days_from_civil(int64_t y, unsigned m, unsigned d);

/* ======================================================================== */
/* IP addresses                                                             */
/* ======================================================================== */

/*
 * Parses an IPv4 or IPv6 literal (no scope id, no leading zeros in IPv4
 * octets) into 16 bytes (IPv4 as ::ffff:a.b.c.d, as Lucene stores it) and
 * its canonical text (dotted IPv4 for v4 and v4-mapped; RFC 5952 for v6).
 * canon needs 46 bytes; may be NULL.
 */
bool ip_parse(const char *s, size_t len, uint8_t out[16], char *canon);

/* ======================================================================== */
/* Mappings                                                                 */
/* ======================================================================== */

typedef enum {
    FT_OBJECT = 0,
    FT_NESTED,
    FT_TEXT,
    FT_MATCH_ONLY_TEXT,
    FT_KEYWORD,
    FT_CONSTANT_KEYWORD,
    FT_WILDCARD,
    FT_LONG,
    FT_INTEGER,
    FT_SHORT,
    FT_BYTE,
    FT_DOUBLE,
    FT_FLOAT,
    FT_HALF_FLOAT,
    FT_SCALED_FLOAT,
    FT_UNSIGNED_LONG,
    FT_BOOLEAN,
    FT_DATE,
    FT_DATE_NANOS,
    FT_IP,
    FT_BINARY,
    FT_FLATTENED,
    FT_GEO_POINT,
    FT_COUNT
} field_type;

const char *field_type_name(field_type t);
/* FT_COUNT when the name is not a known type. */
field_type field_type_from_name(const char *name);
static inline bool field_type_is_object(field_type t) { return t == FT_OBJECT || t == FT_NESTED; }

typedef enum {
    DYNAMIC_INHERIT = 0, /* not set on this object: the parent's applies (root: true) */
    DYNAMIC_TRUE,
    DYNAMIC_FALSE,
    DYNAMIC_STRICT,
    DYNAMIC_RUNTIME,
} dynamic_mode;

/*
 * One mapped field (or object). Read-only to callers: the mapping owns it.
 * Params that matter at indexing time are decoded into the typed members;
 * every explicitly given parameter is also kept for writing and merging.
 */
typedef struct mfield mfield;
typedef struct mparam mparam; /* internal: a parameter as given */

struct mfield {
    char *name;          /* leaf name ("city") */
    char *path;          /* full dotted path ("address.city"); multi-fields: "title.keyword" */
    field_type type;
    /* Decoded parameters (defaults filled in). */
    bool index, doc_values, store, ignore_malformed, coerce, norms;
    bool enabled;            /* objects, flattened */
    dynamic_mode dynamic;    /* objects: as set here (DYNAMIC_INHERIT when not set) */
    int64_t ignore_above;    /* -1: none */
    double scaling_factor;   /* scaled_float */
    date_format *format;     /* date, date_nanos */
    char *analyzer;          /* text: the analyzer name (NULL: "default"); kept for analysis later */
    char *search_analyzer;
    char **copy_to;
    size_t n_copy_to;
    bool has_null_value;
    char *null_value;        /* compact JSON text of null_value */
    /* Tree. */
    mfield **props;          /* objects: children sorted by name */
    size_t n_props;
    mfield **fields;         /* multi-fields sorted by name */
    size_t n_fields;
    bool is_multi;           /* this is a multi-field of its parent */
    /* Internal. */
    mparam *params;
    size_t n_params;
};

/* A dynamic template as given. */
typedef struct dyn_template {
    char *name;
    char **match, **unmatch, **path_match, **path_unmatch, **match_mapping_type;
    size_t n_match, n_unmatch, n_path_match, n_path_unmatch, n_match_mapping_type;
    bool match_is_list, unmatch_is_list, path_match_is_list, path_unmatch_is_list, mmt_is_list;
    bool regex;             /* match_pattern: regex */
    bool runtime;           /* a "runtime" template rather than "mapping" */
    char *mapping_json;     /* compact JSON of "mapping" (or "runtime") */
} dyn_template;

typedef struct mapping mapping;

/* Limits from index settings that apply to mappings (index_settings_mapping_limits). */
typedef struct mapping_limits {
    int64_t total_fields;      /* index.mapping.total_fields.limit, default 1000 */
    int64_t depth;             /* index.mapping.depth.limit, default 20 */
    int64_t nested_fields;     /* index.mapping.nested_fields.limit, default 50 */
    int64_t field_name_length; /* index.mapping.field_name_length.limit, default unlimited (INT64_MAX) */
    bool ignore_dynamic_beyond_limit; /* index.mapping.total_fields.ignore_dynamic_beyond_limit */
} mapping_limits;

void mapping_limits_default(mapping_limits *l);
void index_settings_mapping_limits(const index_settings *s, mapping_limits *l);

/*
 * Parses a mapping definition (the "mappings" of PUT /{index}, the body of
 * PUT /{index}/_mapping, or a stored mapping) — NULL or {} give the empty
 * mapping. The typeless form only: {"_doc":{...}} is parsed as a field
 * named "_doc" would be... except that ES 8 rejects it, which this does too:
 *   illegal_argument_exception "The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true."
 * Errors are Elasticsearch's: mapper_parsing_exception
 *   "Failed to parse mapping: <why>" with caused_by the inner error, e.g.
 *   "Root mapping definition has unsupported parameters:  [foo : bar]"
 *   "No handler for type [foo] declared on field [bar]"
 *   "unknown parameter [foo] on mapper [field] of type [keyword]"
 * limits may be NULL (defaults). Returns a mapping with one reference.
 */
mapping *mapping_parse(const json_val *v, const mapping_limits *limits, es_err *err);
mapping *mapping_parse_text(const char *json, size_t len, const mapping_limits *limits, es_err *err);
mapping *mapping_empty(void);

mapping *mapping_ref(mapping *m);
void mapping_unref(mapping *m);

/* True when no mapping was ever given (GET /{index}/_mapping answers "mappings":{}). */
bool mapping_is_empty(const mapping *m);
/* A counter that grows with each merge that changed something; for compare-and-swap by callers. */
uint64_t mapping_version(const mapping *m);

/*
 * PUT /{index}/_mapping and dynamic updates: merges incoming into base and
 * returns a new mapping in *out (base is untouched). When nothing changes,
 * *out is a new reference to base. Conflicts are Elasticsearch's
 * illegal_argument_exception texts:
 *   mapper [f] cannot be changed from type [keyword] to [text]
 *   Mapper for [f] conflicts with existing mapper:\n\tCannot update parameter [index] from [true] to [false]
 *   Limit of total fields [1000] has been exceeded
 * Merging is safe for racing dynamic updates: merging the same new field
 * twice is a no-op, and a field added by another writer with another type
 * is a conflict (the caller re-parses its document against the new mapping).
 */
int mapping_merge(const mapping *base, const mapping *incoming, const mapping_limits *limits, mapping **out,
                  es_err *err);

/* Writes the mapping as GET /{index}/_mapping's "mappings" value: {} or
 * {"dynamic":..., "_source":..., "properties":{...}} with the fields sorted
 * and default parameters omitted, as Elasticsearch does. */
void mapping_write(const mapping *m, json_w *w);
/* Same, into a fresh heap string (compact). */
char *mapping_to_json(const mapping *m);

/* Lookup of a field by full path ("a.b", "title.keyword"); NULL when unmapped. */
const mfield *mapping_field(const mapping *m, const char *path);
/* The root object (its props are the top-level fields). */
const mfield *mapping_root(const mapping *m);
/* Number of mapped fields as counted for index.mapping.total_fields.limit
 * (leaf fields, multi-fields and objects; the root not counted). */
size_t mapping_total_fields(const mapping *m);

/* Root-level parameters. */
bool mapping_source_enabled(const mapping *m);
bool mapping_routing_required(const mapping *m);
const dyn_template *mapping_dynamic_templates(const mapping *m, size_t *n);

/* ======================================================================== */
/* Documents against a mapping                                              */
/* ======================================================================== */

/* The kind of value an index_field_value carries. */
typedef enum {
    IFV_STRING,   /* text, keyword, wildcard, constant_keyword, flattened leaves, binary (base64 text) */
    IFV_LONG,     /* long, integer, short, byte, unsigned_long (as its bits) */
    IFV_DOUBLE,   /* double, float, half_float; scaled_float: the scaled value (see below) */
    IFV_BOOL,
    IFV_DATE,     /* date: epoch millis; date_nanos: epoch nanos (l) */
    IFV_IP,       /* 16 bytes + canonical text in str */
    IFV_GEO,      /* lat/lon */
} ifv_kind;

enum {
    IFV_FROM_MULTI = 1,   /* produced by a multi-field of the source field */
    IFV_FROM_COPY_TO = 2, /* copied by copy_to */
    IFV_NULL_VALUE = 4,   /* the mapping's null_value stood in for a JSON null */
};

/*
 * One indexed value of a document, for the search/indexing layer. All
 * pointers are into the parsed_doc's arena. Text fields are not analyzed
 * here: str holds the raw string for the analysis layer.
 */
typedef struct index_field_value {
    const char *path;     /* "title", "title.keyword", "user.name" */
    const mfield *field;  /* the mapping's field (valid while the mapping lives) */
    field_type type;
    ifv_kind kind;
    uint32_t position;    /* index among this path's values in this document (array order) */
    uint32_t flags;       /* IFV_FROM_* */
    uint32_t src_offset;  /* byte offset of the JSON value in the source (copy_to: the original's) */
    const char *str;      /* IFV_STRING: the string; IFV_IP: canonical text; else the JSON text */
    size_t str_len;
    union {
        int64_t l;        /* IFV_LONG, IFV_DATE */
        double d;         /* IFV_DOUBLE (scaled_float: round(value * scaling_factor) in l too) */
        bool b;
        uint8_t ip[16];
        struct { double lat, lon; } geo;
    } v;
    int64_t scaled;       /* scaled_float: the long actually indexed */
    bool indexed, doc_values, stored;
} index_field_value;

typedef struct parsed_doc {
    arena mem;                  /* owns every string and array below */
    index_field_value *values;  /* in document order (multi-fields and copies right after their source) */
    size_t n_values;
    size_t cap_values;
    const char **ignored;       /* field paths for _ignored (ignore_malformed, ignore_above), sorted, unique */
    size_t n_ignored;
    /*
     * Dynamic mapping: when the document introduced new fields, dynamic_update
     * holds a mapping with just those fields (and their parent objects) and
     * new_mapping the base merged with it. Both NULL otherwise. The caller
     * persists new_mapping — or, if the index's mapping changed since it
     * parsed (mapping_version), merges dynamic_update into the current one
     * with mapping_merge.
     */
    mapping *dynamic_update;
    mapping *new_mapping;
    mapping *held;              /* internal: keeps alive the mapping the values point into */
} parsed_doc;

typedef struct doc_parse_opts {
    const char *id;                 /* for messages: "in document with id '1'"; NULL: "a document" */
    const char *src;                /* the raw source bytes the json_doc was parsed from, for [line:col] */
    size_t src_len;
    const json_doc *doc;            /* the document holding source (for json_raw offsets) */
    const mapping_limits *limits;   /* NULL: defaults */
    /* bulk's dynamic_templates parameter: field path -> template name pairs (may be NULL). */
    const char *const *template_names; /* 2*n strings: path, name, path, name... */
    size_t n_template_names;
} doc_parse_opts;

/*
 * Walks a document's _source against the mapping: validates every value
 * against its mapped type, applies coercion, ignore_malformed, ignore_above,
 * null_value, multi-fields and copy_to, and dynamic mapping (dynamic
 * templates, date and numeric detection) for new fields. Fills *out (zero
 * it first; free with parsed_doc_free even on failure).
 *
 * Errors (Elasticsearch's, with the [line:col] of the value in the source):
 *   document_parsing_exception "[1:8] failed to parse field [age] of type [long] in document
 *     with id '1'. Preview of field's value: 'abc'"  caused_by the value's error
 *   strict_dynamic_mapping_exception "[1:9] mapping set to strict, dynamic introduction of
 *     [foo] within [_doc] is not allowed"
 *   document_parsing_exception "[1:2] failed to parse: Limit of total fields [1000] has been
 *     exceeded while adding new fields [1]"  caused_by illegal_argument_exception
 *
 * Coercion (coerce true, the default): numeric strings are accepted by
 * numeric fields; fractions are truncated towards zero for integer types
 * ("5.9" -> 5, 5.9 -> 5). coerce false: strings are rejected ("Long value
 * passed as String"), and so are fractions ("Value [5.5] has a decimal part").
 */
int mapping_parse_document(const mapping *m, const json_val *source, const doc_parse_opts *opts, parsed_doc *out,
                           es_err *err);
void parsed_doc_free(parsed_doc *d);


/* ======================================================================== */
/* Postings, norms and doc values (index-time structures)                   */
/* Owner: the search engineer (src/index/postings*.c, dv*.c). Layout and    */
/* formats: docs/SEARCH.md. Readers are in src/search/search.h.             */
/* ======================================================================== */

struct store;
struct store_txn;
struct analysis;

/* The shard tables (node-wide ids; see store_table_register). */
typedef struct index_tables {
    uint32_t fields, terms, post, norms, dv, dels;
} index_tables;

/* Registers (idempotent) and returns the tables of store st. Thread-safe. */
int index_tables_get(struct store *st, index_tables *out, es_err *err);

/*
 * The indexed form of one typed value as a term (docs/SEARCH.md): text and
 * keyword values as their bytes, numbers/dates as 8 sortable bytes, booleans
 * "F"/"T", ips 16 bytes. out needs INDEX_TERM_MAX bytes for non-strings;
 * returns the length. For IFV_STRING the term is the string itself (*ptr set
 * to it, out unused).
 */
#define INDEX_TERM_MAX 16
size_t index_term_encode(const index_field_value *v, uint8_t out[INDEX_TERM_MAX], const uint8_t **ptr);
/* Sortable 8-byte forms (big-endian, sign flipped) used by terms. */
void index_term_long(int64_t v, uint8_t out[8]);
void index_term_double(double v, uint8_t out[8]);
int64_t index_term_long_decode(const uint8_t in[8]);
double index_term_double_decode(const uint8_t in[8]);

/*
 * One document analysed for the index, built outside any lock (before the
 * shard transaction): its terms per field with frequencies and positions,
 * field lengths (norms), doc values. Owns its memory; free with
 * index_doc_free. an may be NULL (every text field then uses the standard
 * analyzer). Fails only when analysis fails (*err set, NULL returned).
 */
typedef struct index_doc index_doc;
index_doc *index_doc_build(const struct analysis *an, const parsed_doc *pd, es_err *err);
void index_doc_free(index_doc *d);

/*
 * A batch of documents written into one shard write transaction:
 *   w = index_writer_begin(st, txn);               after store_write_begin
 *   index_writer_add(w, doc, res.docnum);          after each successful store_doc_index
 *   index_writer_flush(w, &err);                   before store_write_commit (-1: abort the txn)
 *   index_writer_free(w);                          always (also after an abort)
 * add only records (doc, docnum) — the doc must stay alive until flush; flush
 * sorts the batch's postings by (field, term, docnum) and writes terms,
 * postings blocks, norms, doc values and field statistics. Deletes need no
 * call: readers filter through the store's _docs table.
 */
typedef struct index_writer index_writer;
index_writer *index_writer_begin(struct store *st, struct store_txn *txn);
void index_writer_add(index_writer *w, const index_doc *doc, uint64_t docnum);
/* Marks a removed document version (store_write_result.replaced_docnum; 0 is ignored) in
 * ix.dels, the shard's deleted-docnums bitmap, so readers skip it without reading _docs. */
void index_writer_delete(index_writer *w, uint64_t docnum);
int index_writer_flush(index_writer *w, es_err *err);
void index_writer_free(index_writer *w);

/* ------------------------------------------------------------------------ */
/* Codecs shared by the writer (src/index) and the readers (src/search).    */

/* LEB128 varints. put: p needs 10 bytes; returns bytes written. get: NULL when
 * the input ends inside a varint (a corrupt value). */
static inline size_t ix_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) { p[n++] = (uint8_t)(v | 0x80); v >>= 7; }
    p[n++] = (uint8_t)v;
    return n;
}
static inline const uint8_t *ix_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *v = r; return p; }
    }
    return NULL;
}

/* Keys (docs/SEARCH.md). out needs STORE_MAX_KEY_LEN (511) bytes; the
 * functions return the key length. Terms too long for a key are cut and
 * end with an 8-byte hash of the whole term. */
#define INDEX_KEY_MAX 511
size_t index_key_term(uint8_t *out, const char *field, const void *term, size_t tlen);
size_t index_key_post(uint8_t *out, const char *field, const void *term, size_t tlen, uint64_t first_docnum);
size_t index_key_block(uint8_t *out, const char *field, uint64_t block);
/* The term part of an ix.terms key whose field part is flen bytes. */
static inline const uint8_t *index_key_term_part(const uint8_t *key, size_t klen, size_t flen, size_t *tlen)
{
    *tlen = klen > flen + 1 ? klen - flen - 1 : 0;
    return key + flen + 1;
}

#define INDEX_NORMS_BLOCK_SHIFT 10 /* 1024 docnums per ix.norms value */
#define INDEX_DELS_BLOCK_SHIFT 15  /* 32768 docnums per ix.dels bitmap (4 KiB) */
/* ix.dels: key u64 BE block -> bitmap bytes (only up to the last set bit); key "#" -> varint count
 * of docnums marked (readers trust the bitmap only when it accounts for every removed docnum). */
#define INDEX_DV_BLOCK_SHIFT 8     /* 256 docnums per ix.dv value */

/*
 * A postings block (docs/SEARCH.md): a header, then one record per document,
 * so a tail block grows by appending records:
 *   u8 flags; varint n; varint first_docnum; varint last_docnum;
 *   per document: [varint docnum delta (not for the first)] [varint freq (PB_FREQS)]
 *                 [varint positions bytes, then freq varint position deltas (PB_POSITIONS)]
 * Decoded: docs and freqs; positions stay encoded (pos[i], pos_len[i]).
 */
#define POSTINGS_BLOCK_MAX 128
enum { PB_FREQS = 1, PB_POSITIONS = 2 };
typedef struct postings_block {
    uint32_t n;
    uint8_t flags;
    uint64_t docs[POSTINGS_BLOCK_MAX];
    uint32_t freqs[POSTINGS_BLOCK_MAX];
    const uint8_t *pos[POSTINGS_BLOCK_MAX];  /* each document's position deltas (PB_POSITIONS) */
    uint32_t pos_len[POSTINGS_BLOCK_MAX];
    const uint8_t *body;   /* the records (after the header), body_len bytes */
    size_t body_len;
} postings_block;
/* 0, or -1 when the bytes are not a valid block. */
int postings_block_decode(const void *p, size_t len, postings_block *out);
/* The header alone (flags, n, first and last docnum, the records' span): 0 or -1. */
int postings_block_header(const void *p, size_t len, uint8_t *flags, uint32_t *n, uint64_t *first, uint64_t *last,
                          const uint8_t **body, size_t *body_len);

/* An ix.terms entry: statistics and the tail block (bytes, may be empty). */
typedef struct term_entry {
    uint64_t doc_freq;
    uint64_t total_term_freq;
    const uint8_t *tail;
    size_t tail_len;
} term_entry;
int term_entry_decode(const void *p, size_t len, term_entry *out);

/* An ix.fields entry. */
typedef struct index_field_stats {
    uint64_t doc_count, sum_ttf, sum_df;
} index_field_stats;
int index_field_stats_decode(const void *p, size_t len, index_field_stats *out);

/* Doc values kinds (search.h's dv_kind has the same values). */
enum { IDV_NONE = 0, IDV_LONG, IDV_ULONG, IDV_DOUBLE, IDV_BYTES };
/* The doc values kind of a field (IDV_NONE: no doc values). */
int index_dv_kind(const mfield *f);

/* Walks the entries of an ix.dv block: each is (offset in block, count,
 * values). next returns 1 with the entry, 0 at the end, -1 when corrupt.
 * Values: LONG zigzag varints, ULONG varints, DOUBLE 8 bytes little-endian,
 * BYTES varint length + bytes; the raw bytes of the entry's values are
 * [*vals, *vals_end). */
typedef struct dv_block_iter {
    const uint8_t *p, *end;
    int kind;
} dv_block_iter;
int dv_block_next(dv_block_iter *it, uint32_t *offset, uint32_t *count, const uint8_t **vals,
                  const uint8_t **vals_end);

/* Analysis as the index and the queries use it (the one place that calls the
 * analysis module). an NULL: analysis_default(). Tokens live in mem.
 * Text fields go through analysis_for_field(an, f, search); other fields
 * give one token, the text (keyword: after its normalizer, if any).
 * *end_pos (may be NULL) gets the base a following value of the same field
 * continues from (add index_analyze_gap). */
typedef struct index_token {
    const char *term;
    uint32_t len;
    uint32_t position;
} index_token;
int index_analyze(const struct analysis *an, const mfield *f, bool search, const char *text, size_t len,
                  uint32_t pos_base, arena *mem, index_token **out, size_t *n, uint32_t *end_pos, es_err *err);
/* The position_increment_gap between the values of a text field (100 unless customised). */
uint32_t index_analyze_gap(const struct analysis *an, const mfield *f);
/* Same as index_analyze with an analyzer named explicitly (the "analyzer" of a
 * match query): -1 with illegal_argument_exception
 * "[name] analyzer not found"... when unknown. */
int index_analyze_named(const struct analysis *an, const char *name, const char *text, size_t len,
                        uint32_t pos_base, arena *mem, index_token **out, size_t *n, es_err *err);

/*
 * The analysis of an index (analysis_build of its settings), shared and
 * cached per (index uuid, settings_version), so writers and searchers do not
 * rebuild it per request. Settings without index.analysis.* give
 * analysis_default(). NULL with *err when the settings do not build (they
 * were validated at creation, so only on corruption). Release every
 * acquired one. Thread-safe.
 */
const struct analysis *index_analysis_acquire(const index_settings *s, const char *uuid, int64_t settings_version,
                                              es_err *err);
void index_analysis_release(const struct analysis *a);

/* Lucene's SmallFloat.intToByte4 / byte4ToInt (norms). */
uint8_t index_norm_encode(uint32_t length);
uint32_t index_norm_decode(uint8_t b);

/* ======================================================================== */
/* Analysis                                                                 */
/* ======================================================================== */

/*
 * Text analysis as Elasticsearch (Lucene) does it: char filters, one
 * tokenizer, token filters. An `analysis` holds the analyzers of one index:
 * the built-in ones and the custom ones its settings define under
 * index.analysis.{analyzer,tokenizer,filter,char_filter,normalizer}.
 *
 * Supported (names as Elasticsearch spells them):
 *   analyzers   standard, simple, whitespace, stop, keyword, english, snowball
 *               (English/Porter stemmers + the snowball languages libstemmer
 *               has), fingerprint, pattern, custom
 *   tokenizers  standard, whitespace, keyword, letter, lowercase, ngram,
 *               edge_ngram, path_hierarchy (PathHierarchy), char_group,
 *               uax_url_email, pattern (a Java regex subset run as POSIX ERE:
 *               classes, \w \W \s \S \d \D, groups, alternation, bounds;
 *               lookaround, lazy quantifiers and \p{..} are refused)
 *   filters     lowercase, uppercase, asciifolding, stop, stemmer, porter_stem,
 *               snowball, length, trim, unique, truncate, reverse, shingle,
 *               ngram, edge_ngram, keyword_marker, elision, apostrophe,
 *               decimal_digit, limit, fingerprint, remove_duplicates
 *   char filters html_strip, mapping
 * Anything else is refused with Elasticsearch's "unknown type" / "failed to
 * find" errors, so an index never silently analyzes differently.
 *
 * Thread-safety: an analysis and its analyzers are immutable once built and
 * may run from any number of threads at once (stemmers are pooled per
 * filter behind a mutex). token_list belongs to its caller.
 */
typedef struct analysis analysis;
typedef struct analyzer analyzer;

typedef struct token {
    const char *term;      /* the term bytes (UTF-8, NUL-terminated), valid until the list is freed */
    size_t len;
    uint32_t position;     /* position_base + Lucene's position (stopwords leave gaps) */
    uint32_t start_offset; /* UTF-16 code unit offsets into the original text, as Lucene reports */
    uint32_t end_offset;
    const char *type;      /* "<ALPHANUM>", "<NUM>", "<IDEOGRAPHIC>", "word", "shingle", ... */
    /* Additions. */
    uint32_t position_length; /* 1, or the number of positions a shingle spans */
    bool keyword;             /* marked by keyword_marker (not stemmed) */
} token;

typedef struct token_list {
    token *t;
    size_t n;
    arena mem;
    /* Additions (set by each analyzer_run): */
    size_t cap;
    uint32_t end_position; /* the position_base a following value would use with a gap of 0:
                            * last position + 1 + trailing removed positions */
    uint32_t end_offset;   /* Lucene's final offset of the run (UTF-16 length of the text) */
} token_list;

/*
 * Builds the analysis of an index from its settings (NULL: built-ins only).
 * Errors are Elasticsearch's illegal_argument_exception texts, e.g.
 *   Custom Analyzer [a] failed to find tokenizer under name [foo]
 *   Custom Analyzer [a] failed to find filter under name [foo]
 *   analyzer [a] must specify either an analyzer type, or a tokenizer
 *   Unknown filter type [foo] for [my_filter]
 * This is the check index creation and settings updates should run.
 */
analysis *analysis_build(const index_settings *settings, es_err *err);
/* The built-ins only (what an index without analysis settings has). Shared: never freed. */
analysis *analysis_default(void);
void analysis_free(analysis *a); /* no-op for analysis_default() and NULL */

/* An analyzer by name ("standard", "english", a custom one, "default"); NULL when unknown. */
const analyzer *analysis_get(const analysis *a, const char *name);
/* A normalizer by name (custom ones and "lowercase"); NULL when unknown. */
const analyzer *analysis_normalizer(const analysis *a, const char *name);
/*
 * The analyzer of a field:
 *   text, match_only_text: index time: the field's analyzer, else "default";
 *     search time: search_analyzer, else the field's analyzer, else
 *     "default_search", else "default".
 *   keyword (and wildcard, constant_keyword): its normalizer, else the keyword analyzer.
 *   anything else: as text (the index's default analyzer).
 * f may be NULL (an unmapped field: the default analyzer). Never NULL when
 * the mapping was checked with analysis_check_mapping.
 */
const analyzer *analysis_for_field(const analysis *a, const mfield *f, bool search);

/*
 * Checks that every analyzer, search_analyzer, search_quote_analyzer and
 * normalizer a mapping names exists in a. Error as Elasticsearch's:
 * mapper_parsing_exception "Failed to parse mapping: analyzer [x] has not
 * been configured in mappings" (caused_by illegal_argument_exception), and
 * "normalizer [x] not found for field [f]".
 */
int analysis_check_mapping(const analysis *a, const mapping *m, es_err *err);

/*
 * Analyzes len bytes of UTF-8 text, appending tokens to *out (zero it first;
 * it may be reused for the values of a multi-valued field). A token's
 * position is position_base + its Lucene position, so for the next value of
 * a field pass out->end_position + analyzer_position_increment_gap(an)
 * (what Lucene's indexing chain does). Offsets are relative to this text.
 * Returns 0, or -1 with *err set (invalid UTF-8).
 */
int analyzer_run(const analyzer *an, const char *text, size_t len, uint32_t position_base, token_list *out,
                 es_err *err);
void token_list_free(token_list *l);

const char *analyzer_name(const analyzer *an);
/* Elasticsearch's position_increment_gap of an index analyzer: 100, or a custom
 * analyzer's position_increment_gap setting. */
int analyzer_position_increment_gap(const analyzer *an);

/* ---- For the _analyze API ---------------------------------------------- */

/* A component of an ad hoc analyzer: a name, or an inline JSON definition. */
typedef struct analysis_component {
    const char *name;      /* NULL when def is given */
    const json_val *def;   /* {"type":"stop","stopwords":[...]} */
} analysis_component;

/*
 * Builds an analyzer from components as _analyze does (tokenizer + filters +
 * char filters). a: the index's analysis (names resolve against its custom
 * components, then the built-ins) or NULL for the global form ("failed to
 * find global filter under [x]"). tokenizer NULL: the normalizer form
 * (keyword tokenizer; only normalizing filters allowed). Free with
 * analyzer_free.
 */
analyzer *analyzer_build_adhoc(const analysis *a, const analysis_component *tokenizer,
                               const analysis_component *char_filters, size_t n_char_filters,
                               const analysis_component *filters, size_t n_filters, es_err *err);
void analyzer_free(analyzer *an); /* ad hoc analyzers only; others are owned by their analysis */

/* Explain: an analyzer made of components (custom / ad hoc / normalizer) shows its stages. */
bool analyzer_is_custom(const analyzer *an);
size_t analyzer_char_filter_count(const analyzer *an);
const char *analyzer_char_filter_name(const analyzer *an, size_t i);
const char *analyzer_tokenizer_name(const analyzer *an);
size_t analyzer_filter_count(const analyzer *an);
const char *analyzer_filter_name(const analyzer *an, size_t i);
/* The text after the first n char filters (heap, caller frees). */
char *analyzer_char_filter_text(const analyzer *an, size_t n, const char *text, size_t len, size_t *out_len);
/* As analyzer_run, stopping after the first n_filters token filters (SIZE_MAX: all). */
int analyzer_run_partial(const analyzer *an, size_t n_filters, const char *text, size_t len,
                         uint32_t position_base, token_list *out, es_err *err);
/* Whether that stage's stream carries Lucene's KeywordAttribute (explain shows "keyword"). */
bool analyzer_has_keyword_attr(const analyzer *an, size_t n_filters);
/* index.analyze.max_token_count of the analysis' index (10000 by default). */
int64_t analysis_max_token_count(const analysis *a);

/* ======================================================================== */
/* _source filtering                                                        */
/* ======================================================================== */

/*
 * Writes a document's source filtered by includes/excludes as Elasticsearch does
 * for GET, mget, search hits and reindex: dotted path patterns where '*' matches
 * any run of characters (dots included); an include that matches an object keeps
 * all its members; excludes win; objects left empty by the includes disappear.
 * With no pattern at all the source is written byte for byte. source_filter.c.
 */
void source_filter_write(const char *const *includes, size_t n_inc, const char *const *excludes, size_t n_exc,
                         const void *src, size_t len, json_w *w);
/* The same over an already parsed object. */
void source_filter_write_value(const char *const *includes, size_t n_inc, const char *const *excludes,
                               size_t n_exc, const json_val *obj, json_w *w);
/*
 * Reads `_source` as Elasticsearch's FetchSourceContext does: a boolean, a pattern, a list of
 * patterns, or {includes|include, excludes|exclude}. *fetch gets 0/1 for a boolean and -1
 * otherwise; patterns are appended to the heap arrays (heap strings). Errors are
 * parsing_exception with Elasticsearch's texts.
 */
int source_filter_parse(const json_val *v, int *fetch, char ***inc, size_t *ninc, char ***exc, size_t *nexc,
                        es_err *err);
/* Whether a source pattern ('*' = any run, dots included) matches path[0..len). */
bool source_pattern_match(const char *pattern, const char *path, size_t len);

#endif
