/*
 * index_int.h — private to src/index: the mapping's internals shared by the
 * mapping parser/merger/writer and the document parser.
 */
#ifndef FERRY_INDEX_INT_H
#define FERRY_INDEX_INT_H

#include "index/index.h"

#include <stdatomic.h>

/* ---- errors ---- */

/* Moves the error in *err into a heap cause and sets a new outer error. */
int err_wrap(es_err *err, es_error_type type, const char *fmt, ...) FERRY_PRINTF(3, 4);
/* Sets a Java-typed error (e.g. "number_format_exception") on a table type. */
int err_set_named(es_err *err, es_error_type type, const char *type_name, const char *fmt, ...)
    FERRY_PRINTF(4, 5);

/* ---- JSON helpers ---- */

/* Compact JSON text of a value (heap). */
char *json_compact(const json_val *v);
/* Java's toString of a parsed value (Map: {a=b, c=d}, List: [a, b]), as ES echoes values. */
void json_java_string(const json_val *v, buf *out);
/* The scalar's text: a string's contents, a number's JSON text, true/false/null. */
const char *json_scalar_text(const json_val *v, size_t *len, buf *tmp);

/* ---- mapping internals ---- */

typedef enum {
    PK_BOOL,
    PK_INT,       /* non-negative int */
    PK_DOUBLE,
    PK_STRING,
    PK_JSON,      /* any JSON value kept as compact text (meta, index_prefixes...) */
    PK_NULL_VALUE,
    PK_FORMAT,
} param_kind;

typedef struct param_def {
    const char *name;
    param_kind kind;
    uint64_t types;      /* bitmask of field_type it applies to */
    bool updatable;
    const char *dflt;    /* default as compact JSON ("true", "-1"...); NULL: none ("null" for messages) */
    const char *dflt_display; /* how a merge conflict shows the default; NULL: dflt or "null" */
} param_def;

struct mparam {
    const param_def *def;
    char *json;          /* compact JSON of the normalized value */
};

struct mapping {
    atomic_int refs;
    uint64_t version;
    bool empty;                  /* nothing ever given */
    mfield *root;                /* FT_OBJECT, name "_doc", path "" */
    /* Root parameters: each "_json" member is compact JSON or NULL when not given. */
    int date_detection;          /* -1 unset, 0/1 */
    int numeric_detection;       /* -1 unset, 0/1 */
    char **dynamic_date_formats; /* NULL: default */
    size_t n_dynamic_date_formats;
    date_format **ddf;           /* compiled dynamic_date_formats (or the defaults) */
    size_t n_ddf;
    dyn_template *templates;
    size_t n_templates;
    bool templates_set;
    char *meta_json;             /* _meta */
    int source_enabled;          /* -1 unset */
    char **source_includes, **source_excludes;
    size_t n_source_includes, n_source_excludes;
    bool source_includes_set, source_excludes_set;
    char *source_mode;
    int routing_required;        /* -1 unset */
};

const param_def *param_lookup(const char *name, field_type t);
const param_def *param_defs(size_t *n);

mfield *mfield_new(const char *name, const char *parent_path, field_type t);
mfield *mfield_clone(const mfield *f);
void mfield_free(mfield *f);
/* Applies the decoded defaults of a type, then the params in f->params. */
void mfield_decode(mfield *f);
/* Inserts a child keeping the array sorted (replacing one of the same name). */
void mfield_put_child(mfield *parent, mfield *child, bool multi);
mfield *mfield_child(const mfield *parent, const char *name, bool multi);
const mparam *mfield_param(const mfield *f, const char *name);
void mfield_set_param(mfield *f, const param_def *d, const char *json);

mapping *mapping_alloc(void);
mapping *mapping_clone(const mapping *m);
void mapping_finish(mapping *m); /* compiles ddf etc. after changes */

/* Parses one field definition (used by mapping_parse and dynamic templates). */
mfield *mfield_parse(const char *name, const char *parent_path, const json_val *def, int depth, bool multi,
                     es_err *err);

size_t mfield_count(const mfield *f); /* f and below (objects, fields, multi-fields) */
int mapping_check_limits(const mapping *m, const mapping_limits *l, es_err *err);

/* Simple wildcard match ('*' only). */
bool simple_match(const char *pattern, const char *s);

/* ---- values ---- */

/*
 * Parses a scalar JSON value for a leaf field of type f->type. On success
 * fills out->kind/v/str (strings into a). On failure sets err to the cause
 * (illegal_argument_exception "For input string: \"abc\"" and the like) and
 * returns -1. A JSON string of length 0 for numeric/boolean/date/ip types is
 * reported as *is_null = true.
 */
int value_parse(const mfield *f, const json_val *v, arena *a, index_field_value *out, bool *is_null, es_err *err);
/* Geo point validation of one point value (object, string, [lon,lat]). */
int geo_parse_point(const json_val *v, double *lat, double *lon, es_err *err, const char *field);

/* ---- analysis internals (analysis*.c) ---- */

#include <pthread.h>

/* A token while it flows through an analyzer. */
typedef struct atok {
    char *term;          /* bytes; NUL-terminated */
    uint32_t len;
    uint32_t pos_inc;
    uint32_t pos_len;
    uint32_t start, end; /* tokenizers: byte offsets in the filtered text; after: UTF-16 in the original */
    const char *type;
    bool keyword;
} atok;

typedef struct atoks {
    atok *t;
    size_t n, cap;
    arena *mem;
    uint32_t end_inc;    /* position increment left at the end (removed trailing tokens) */
} atoks;

void atoks_push(atoks *ts, atok t);
/* A copy of n bytes into the token arena (NUL-terminated). */
char *atoks_strdup(atoks *ts, const char *s, size_t n);

/* Named word set (stop words, keywords, articles): sorted, lowercased when ignore_case. */
typedef struct word_set {
    char **w;
    size_t n;
    bool ignore_case;
} word_set;
bool word_set_has(const word_set *ws, const char *s, size_t n);

/* Component parameters: a definition from index settings or inline JSON, flattened. */
typedef struct an_kv {
    const char *key;     /* relative: "stopwords", "max_token_length" */
    const char *val;     /* NULL for a list */
    const char **list;
    size_t n_list;
    bool is_list;
} an_kv;
typedef struct an_params {
    an_kv *kv;
    size_t n;
} an_params;

/* Where a component is being built: the index (settings for limits) and the memory it lives in. */
typedef struct an_defer {
    void (*fn)(void *);
    void *obj;
} an_defer;
typedef struct an_ctx {
    arena *mem;
    const index_settings *index;  /* NULL: no index (global _analyze) */
    an_defer *defer;              /* cleanups run when the owner is freed (stemmer pools, regexes) */
    size_t n_defer, cap_defer;
} an_ctx;
void an_ctx_defer(an_ctx *c, void (*fn)(void *), void *obj);
/* An index setting for a component's limits (index.max_ngram_diff...); dflt without an index. */
static inline int64_t an_index_int(const an_ctx *c, const char *key, int64_t dflt)
{
    return c->index ? index_settings_get_int(c->index, key, dflt) : dflt;
}
void an_ctx_release(an_ctx *c); /* runs the cleanups, frees the arena */

const char *an_param_str(const an_params *p, const char *key);
bool an_param_has(const an_params *p, const char *key);
/* A list value; a single string counts as a one-element list. NULL (n 0) when absent. */
const char **an_param_list(const an_params *p, const char *key, size_t *n);
int an_param_int(const an_params *p, const char *key, int64_t dflt, int64_t *out, es_err *err);
int an_param_bool(const an_params *p, const char *key, bool dflt, bool *out, es_err *err);
/* ES's parseWords: "_none_", named lists ("_english_"), or words. has=false when absent. */
int an_param_words(const an_params *p, const char *key, an_ctx *c, bool ignore_case, word_set *out, bool *has,
                   es_err *err);
void word_set_from(an_ctx *c, const char *const *words, size_t n, bool ignore_case, word_set *out);
extern const char *const an_english_stop_words[];
extern const size_t an_english_stop_words_count;

/* ---- tokenizers (analysis_token.c) ---- */

typedef enum {
    TK_STANDARD,
    TK_UAX_URL_EMAIL,
    TK_WHITESPACE,
    TK_KEYWORD,
    TK_LETTER,
    TK_LOWERCASE,
    TK_NGRAM,
    TK_EDGE_NGRAM,
    TK_PATH_HIERARCHY,
    TK_CHAR_GROUP,
    TK_PATTERN,
} an_tok_kind;

/* ngram token_chars classes */
enum { TC_LETTER = 1, TC_DIGIT = 2, TC_WHITESPACE = 4, TC_PUNCTUATION = 8, TC_SYMBOL = 16, TC_CUSTOM = 32 };

typedef struct an_pattern an_pattern;

typedef struct an_tokenizer {
    an_tok_kind kind;
    const char *name;
    uint32_t max_len;            /* standard, whitespace, letter, lowercase, char_group */
    uint32_t min_gram, max_gram; /* ngram, edge_ngram */
    unsigned token_chars;        /* ngram: TC_* (0: every character) */
    uint32_t *chars;             /* ngram custom_token_chars / char_group characters */
    size_t n_chars;
    unsigned split_classes;      /* char_group: TC_* classes to split on */
    uint32_t delimiter, replacement; /* path_hierarchy */
    bool reverse;
    uint32_t skip;
    an_pattern *pattern;         /* pattern */
    int group;                   /* pattern: -1 splits */
    bool lowercase;              /* pattern analyzer: lowercase the tokens */
} an_tokenizer;

/* Builds a tokenizer of type `type` from params (NULL: defaults). */
an_tokenizer *an_tokenizer_new(an_ctx *c, const char *type, const char *name, const an_params *p, es_err *err);
bool an_tokenizer_type_known(const char *type);
/* Tokenizes text; tokens get byte offsets into text. */
void an_tokenize(const an_tokenizer *tk, const char *text, size_t len, atoks *out);

/* A compiled Java-style regular expression (a subset: classes, \w \W \s \S \d \D, quantifiers,
 * groups, alternation), translated to POSIX ERE. NULL with *err when unsupported. */
an_pattern *an_pattern_compile(an_ctx *c, const char *java_regex, bool case_insensitive, es_err *err);
/* Next match at or after `from`; false when none. */
bool an_pattern_next(const an_pattern *p, const char *text, size_t len, size_t from, size_t *ms, size_t *me,
                     int group, size_t *gs, size_t *ge);
void an_pattern_free(an_pattern *p);

/* ---- token filters (analysis_filter.c) ---- */

typedef enum {
    TF_LOWERCASE,
    TF_UPPERCASE,
    TF_ASCIIFOLDING,
    TF_STOP,
    TF_PORTER,
    TF_SNOWBALL,
    TF_MINIMAL_EN,
    TF_POSSESSIVE_EN,
    TF_LENGTH,
    TF_TRIM,
    TF_UNIQUE,
    TF_TRUNCATE,
    TF_REVERSE,
    TF_SHINGLE,
    TF_NGRAM,
    TF_EDGE_NGRAM,
    TF_KEYWORD_MARKER,
    TF_ELISION,
    TF_APOSTROPHE,
    TF_DECIMAL_DIGIT,
    TF_LIMIT,
    TF_FINGERPRINT,
    TF_REMOVE_DUPLICATES,
} an_filter_kind;

typedef struct stem_pool stem_pool;

typedef struct an_filter {
    an_filter_kind kind;
    const char *name;
    bool normalizing;          /* allowed in normalizers */
    bool keyword_attr;         /* adds Lucene's KeywordAttribute */
    word_set words;            /* stop, keyword_marker, elision */
    int64_t min, max;          /* length, ngram, shingle sizes; truncate/limit: max */
    bool preserve;             /* asciifolding/ngram preserve_original, shingle output_unigrams,
                                * unique only_on_same_position, limit consume_all_tokens */
    bool if_no_shingles;       /* shingle output_unigrams_if_no_shingles */
    const char *sep;           /* shingle token_separator, fingerprint separator */
    const char *filler;        /* shingle filler_token */
    int lang;                  /* lowercase: 0, 1 greek, 2 irish, 3 turkish */
    stem_pool *pool;           /* snowball */
} an_filter;

an_filter *an_filter_new(an_ctx *c, const char *type, const char *name, const an_params *p, es_err *err);
bool an_filter_type_known(const char *type);
/* Runs one filter: reads in, writes out (both in the same token arena). */
void an_filter_run(const an_filter *f, const atoks *in, atoks *out);

/* ---- char filters (analysis_filter.c) ---- */

typedef enum { CF_MAPPING, CF_HTML_STRIP } an_cf_kind;

typedef struct an_map_rule {
    char *from;
    size_t flen;
    char *to;
    size_t tlen;
} an_map_rule;

typedef struct an_charfilter {
    an_cf_kind kind;
    const char *name;
    an_map_rule *rules;        /* mapping: sorted by from */
    size_t n_rules;
    uint32_t first[257];       /* mapping: rules[first[b]..first[b+1]) start with byte b */
    word_set escaped;          /* html_strip escaped_tags (lowercase) */
    bool normalizing;
} an_charfilter;

/* Offset corrections of one char filter: output offset -> cumulative diff (UTF-16 units). */
typedef struct an_offmap {
    uint32_t *off;
    int32_t *diff;
    size_t n, cap;
} an_offmap;

an_charfilter *an_charfilter_new(an_ctx *c, const char *type, const char *name, const an_params *p, es_err *err);
bool an_charfilter_type_known(const char *type);
/* Filters text into *out (arena memory) and records the corrections in *map. */
void an_charfilter_run(const an_charfilter *cf, const char *text, size_t len, arena *mem, char **out,
                       size_t *out_len, an_offmap *map);
uint32_t an_offmap_correct(const an_offmap *m, uint32_t off);

/* ---- stemming and folding (analysis_stem.c, analysis_fold.c) ---- */

/* Lucene's PorterStemmer (Martin Porter's algorithm with his C version's departures).
 * Stems b[0..len) in place (b needs len+1 bytes); returns the new length. */
size_t an_porter_stem(char *b, size_t len);
/* Lucene's EnglishMinimalStemmer (the S-stemmer). */
size_t an_minimal_english_stem(char *b, size_t len);
/* libstemmer algorithm name for a snowball language ("English" -> "english"); NULL when unknown. */
const char *an_snowball_algorithm(const char *language);
stem_pool *stem_pool_new(const char *algorithm);
void stem_pool_free(stem_pool *p);
/* Stems s into the arena; returns the stem (may be s itself) and its length. */
const char *stem_pool_stem(stem_pool *p, const char *s, size_t n, arena *mem, size_t *out_len);
/* Lucene's ASCIIFoldingFilter for one code point: ASCII bytes into out (up to 8); 0 when kept as is. */
size_t an_fold_ascii(uint32_t cp, char out[8]);

/* Java's Character.isWhitespace. */
bool an_java_whitespace(uint32_t cp);
/* UTF-16 length of UTF-8 bytes. */
uint32_t an_utf16_len(const char *s, size_t n);

#endif
