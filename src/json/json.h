/*
 * json — ferry's JSON reader and writer: the hot path of every request.
 *
 * Reader: strict RFC 8259 into a read-only DOM that lives in one arena per
 * document (json_doc); every json_val is borrowed from its document and valid
 * until json_doc_free. UTF-8 is validated, every escape (surrogate pairs
 * included) is decoded, integers that fit int64 are kept exact, other numbers
 * are doubles that round-trip, and integers beyond int64 keep their text.
 * Errors carry the byte offset, line and column.
 *
 * Writer: a streaming builder into a core `buf`, compact or pretty (in
 * Elasticsearch's pretty layout), with exact number output.
 *
 * Depends on: core. Thread-safety: a document may be read from many threads
 * at once; a writer belongs to one thread.
 */
#ifndef FERRY_JSON_H
#define FERRY_JSON_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Reader */

typedef enum {
    JSON_NULL = 0,
    JSON_BOOL,
    JSON_INT,    /* fits int64: json_int() exact */
    JSON_BIGINT, /* an integer outside int64: json_num_text() has its digits, json_num() a double */
    JSON_DOUBLE, /* has a fraction or exponent */
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

typedef struct json_doc json_doc;
typedef struct json_val json_val;

typedef struct json_parse_opts {
    uint32_t max_depth; /* 0 means JSON_DEFAULT_MAX_DEPTH */
    bool allow_trailing; /* stop after the first value; json_err.offset gets where it ended */
} json_parse_opts;

#define JSON_DEFAULT_MAX_DEPTH 1000

typedef struct json_err {
    size_t offset;  /* byte offset of the problem in the input */
    uint32_t line;  /* 1-based */
    uint32_t col;   /* 1-based, in bytes */
    char msg[160];  /* e.g. "Unexpected character ('}' (code 125)): was expecting double-quote to start field name" */
} json_err;

/*
 * Parses len bytes of text. The input is not referenced after the call
 * returns (strings are copied into the document's arena), so the caller may
 * free it. Returns NULL and fills *err on malformed input (err may be NULL).
 * opts may be NULL.
 */
json_doc *json_parse(const char *text, size_t len, const json_parse_opts *opts, json_err *err);
void json_doc_free(json_doc *doc);
const json_val *json_doc_root(const json_doc *doc);

json_type json_type_of(const json_val *v);
const char *json_type_name(json_type t); /* "null", "boolean", "number", "string", "array", "object" */
static inline bool json_is_null(const json_val *v) { return !v || json_type_of(v) == JSON_NULL; }
bool json_is_number(const json_val *v); /* INT, BIGINT or DOUBLE */
/* The parser token a value starts with, as Elasticsearch's messages name it:
 * "START_OBJECT", "START_ARRAY", "VALUE_STRING", "VALUE_NUMBER", "VALUE_BOOLEAN", "VALUE_NULL". */
const char *json_token_name(const json_val *v);

bool json_bool(const json_val *v);                 /* false unless a true BOOL */
int64_t json_int(const json_val *v);               /* INT as is; DOUBLE truncated; else 0 */
double json_num(const json_val *v);                /* any number as a double; else 0 */
const char *json_num_text(const json_val *v, size_t *len); /* BIGINT's digits; NULL otherwise */
/* A STRING's bytes (NUL-terminated, may contain NULs inside: use len); NULL if not a string. */
const char *json_str(const json_val *v, size_t *len);

size_t json_len(const json_val *v);                /* elements of an array, members of an object; else 0 */
const json_val *json_arr_get(const json_val *arr, size_t i);
/* Object member by key; NULL when absent or v is not an object. The last one wins on duplicates. */
const json_val *json_obj_get(const json_val *obj, const char *key);
const json_val *json_obj_getn(const json_val *obj, const char *key, size_t keylen);

/* Iteration over an array or object, in document order:
 *   json_iter it = json_iter_begin(v);
 *   const json_val *val; const char *key; size_t klen;
 *   while ((val = json_iter_next(&it, &key, &klen))) ...    // key NULL for arrays
 */
typedef struct json_iter {
    const json_val *cur;
    size_t left;
    bool object;
} json_iter;
json_iter json_iter_begin(const json_val *v);
const json_val *json_iter_next(json_iter *it, const char **key, size_t *keylen);

/* Dotted path lookup through objects ("version.number"; an all-digit segment
 * also indexes an array: "hits.hits.0._id"). NULL when any step is missing. */
const json_val *json_path(const json_val *root, const char *dotted);

/* The exact input bytes a value was parsed from (e.g. a _source object to pass
 * through untouched). Points into a copy kept by the document. */
const char *json_raw(const json_doc *doc, const json_val *v, size_t *len);

/* Where a value (or, with key, the member name before it) starts in the document's text:
 * 1-based line and column in characters, as Elasticsearch's [line:col] locations. 1:1 when
 * doc or v is NULL. */
void json_location(const json_doc *doc, const json_val *v, bool key, uint32_t *line, uint32_t *col);

/* ------------------------------------------------------------------------ */
/* Writer */

typedef struct json_w {
    buf *out;
    uint32_t depth;
    bool pretty;
    bool need_comma;   /* internal state */
    bool after_key;    /* internal state */
    uint64_t first_bits[4]; /* internal: per depth, whether a container is still empty (depth < 256) */
} json_w;

void jw_init(json_w *w, buf *out, bool pretty);
void jw_obj_begin(json_w *w);
void jw_obj_end(json_w *w);
void jw_arr_begin(json_w *w);
void jw_arr_end(json_w *w);
void jw_key(json_w *w, const char *key);
void jw_keyn(json_w *w, const char *key, size_t n);
void jw_str(json_w *w, const char *s);           /* NULL writes null */
void jw_strn(json_w *w, const char *s, size_t n);
void jw_int(json_w *w, int64_t v);
void jw_uint(json_w *w, uint64_t v);
void jw_double(json_w *w, double v);             /* shortest text that round-trips; NaN/Inf as null */
void jw_bool(json_w *w, bool v);
void jw_null(json_w *w);
/* Splices already-valid JSON text as one value. In pretty mode it is re-laid
 * out; in compact mode it is copied as is (surrounding whitespace trimmed). */
void jw_raw(json_w *w, const char *json, size_t n);
/* Writes a parsed value (deep). */
void jw_val(json_w *w, const json_val *v);

/* Convenience for members: key + value. */
static inline void jw_kstr(json_w *w, const char *k, const char *s) { jw_key(w, k); jw_str(w, s); }
static inline void jw_kint(json_w *w, const char *k, int64_t v) { jw_key(w, k); jw_int(w, v); }
static inline void jw_kbool(json_w *w, const char *k, bool v) { jw_key(w, k); jw_bool(w, v); }

/* Appends s as a JSON string literal (quotes included) with all required escapes. */
void json_escape(buf *out, const char *s, size_t n);

/* Formats v as Java's Double.toString does (and so as Elasticsearch prints
 * doubles): the shortest digits that read back as v, plain between 1e-3 and
 * 1e7 ("1.0", "0.001", "1234567.0"), else "1.0E10" / "1.5E-7"; "NaN",
 * "Infinity", "-Infinity" as Java spells them (jw_double writes null for
 * those). out needs 32 bytes; returns the length (out is NUL-terminated). */
size_t json_fmt_double(double v, char *out);

/* Re-lays out valid JSON text: pretty (Elasticsearch's layout, 2-space indent,
 * `"key" : value`) or compact, appended to out without a trailing newline.
 * Numbers keep their input text. Returns false if text is not valid JSON. */
bool json_reformat(const char *text, size_t len, bool pretty, buf *out);

#endif
