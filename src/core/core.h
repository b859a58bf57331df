/*
 * core — the base layer every other module of ferry stands on.
 *
 * Allocation wrappers (abort on exhaustion, as a server must not limp on with
 * half-built state), a growable byte buffer with a named maximum, a bump
 * arena, logging, clocks, and Elasticsearch's error vocabulary (one table of
 * error types with their HTTP statuses).
 *
 * Depends on nothing but libc. Thread-safe unless a function says otherwise.
 */
#ifndef FERRY_CORE_H
#define FERRY_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_VERSION "0.1.0"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FERRY_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define FERRY_NODISCARD __attribute__((warn_unused_result))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ------------------------------------------------------------------------ */
/* Allocation: every allocation goes through these; they never return NULL. */

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string; caller frees. */
char *xasprintf(const char *fmt, ...) FERRY_PRINTF(1, 2);

/* ------------------------------------------------------------------------ */
/* buf: a growable byte buffer. Always NUL-terminated after any append (the
 * NUL is not counted in len), so p can be handed to C string functions.
 * A zeroed buf is empty and valid. */

typedef struct buf {
    char *p;
    size_t len;
    size_t cap;
} buf;

void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *data, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) FERRY_PRINTF(2, 3);
void buf_vprintf(buf *b, const char *fmt, va_list ap);
static inline void buf_reset(buf *b) { b->len = 0; if (b->p) b->p[0] = 0; }
void buf_free(buf *b);
/* Hands the heap block to the caller (who frees it) and leaves b empty. */
char *buf_detach(buf *b, size_t *len);

/* ------------------------------------------------------------------------ */
/* arena: bump allocation in chunks, freed all at once. Not thread-safe. */

typedef struct arena_chunk arena_chunk;
typedef struct arena {
    arena_chunk *head;
    char *cur;
    char *end;
    size_t chunk_size; /* 0 means the default (16 KiB) */
} arena;

void *arena_alloc(arena *a, size_t n);  /* 8-byte aligned */
char *arena_strndup(arena *a, const char *s, size_t n);
void arena_free(arena *a);

/* ------------------------------------------------------------------------ */
/* Logging to stderr in Elasticsearch's line shape:
 *   [2026-11-29T07:15:00,123][INFO ][module] message
 * Never pass credentials to these functions. */

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
void log_set_level(log_level lvl);
void log_msg(log_level lvl, const char *module, const char *fmt, ...) FERRY_PRINTF(3, 4);
#define log_debug(mod, ...) log_msg(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...) log_msg(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_msg(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_ERROR, mod, __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Clocks. */

int64_t now_millis(void);     /* wall clock, ms since the epoch */
int64_t mono_nanos(void);     /* monotonic clock */

/* ------------------------------------------------------------------------ */
/* Small string helpers. */

typedef struct strv {
    const char *p;
    size_t len;
} strv;

static inline strv strv_c(const char *s);
bool strv_eq(strv a, const char *s);
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Levenshtein-style similarity as Lucene's LevenshteinDistance (0..1). */
float str_similarity(const char *a, const char *b);
/* Parses an Elasticsearch byte size ("100mb", "1gb", "512b", "10kb") into bytes. */
bool parse_byte_size(const char *s, int64_t *out);
/* Parses an Elasticsearch time value ("30s", "1m", "500ms", "2h", "1d", "-1") into ms. */
bool parse_time_value(const char *s, int64_t *out_ms);
/* Random bytes from the kernel; aborts if none can be had. */
void random_bytes(void *out, size_t n);
/* URL-safe base64 without padding, as Elasticsearch's UUIDs. out needs 4*ceil(n/3)+1. */
size_t base64url_encode(const uint8_t *in, size_t n, char *out);
/* A random 22-character id (Elasticsearch's random base64 UUID form). */
void random_uuid(char out[23]);

static inline strv strv_c(const char *s)
{
    strv v = { s, 0 };
    if (s)
        while (s[v.len]) v.len++;
    return v;
}

/* ------------------------------------------------------------------------ */
/* Elasticsearch's error vocabulary: type name and the HTTP status it maps to.
 * One table, so the status and the `type` a client switches on never drift. */

#define ES_ERROR_TYPES(X)                                                                 \
    X(ILLEGAL_ARGUMENT, "illegal_argument_exception", 400)                                \
    X(PARSE, "parse_exception", 400)                                                      \
    X(PARSING, "parsing_exception", 400)                                                  \
    X(X_CONTENT_PARSE, "x_content_parse_exception", 400)                                  \
    X(JSON_PARSE, "json_parse_exception", 400)                                            \
    X(ACTION_REQUEST_VALIDATION, "action_request_validation_exception", 400)              \
    X(MAPPER_PARSING, "mapper_parsing_exception", 400)                                    \
    X(DOCUMENT_PARSING, "document_parsing_exception", 400)                                \
    X(STRICT_DYNAMIC_MAPPING, "strict_dynamic_mapping_exception", 400)                    \
    X(VALIDATION, "validation_exception", 400)                                            \
    X(INVALID_INDEX_NAME, "invalid_index_name_exception", 400)                            \
    X(INVALID_ALIAS_NAME, "invalid_alias_name_exception", 400)                            \
    X(ALIASES_NOT_FOUND, "aliases_not_found_exception", 404)                              \
    X(ROUTING_MISSING, "routing_missing_exception", 400)                                  \
    X(RESOURCE_ALREADY_EXISTS, "resource_already_exists_exception", 400)                  \
    X(ILLEGAL_STATE, "illegal_state_exception", 500)                                      \
    X(INDEX_NOT_FOUND, "index_not_found_exception", 404)                                  \
    X(RESOURCE_NOT_FOUND, "resource_not_found_exception", 404)                            \
    X(DOCUMENT_MISSING, "document_missing_exception", 404)                                \
    X(SEARCH_CONTEXT_MISSING, "search_context_missing_exception", 404)                    \
    X(VERSION_CONFLICT, "version_conflict_engine_exception", 409)                         \
    X(STATUS, "status_exception", 500)                                                    \
    X(SECURITY, "security_exception", 401)                                                \
    X(CONTENT_TOO_LONG, "content_too_long_exception", 413)                                \
    X(MEDIA_TYPE_HEADER, "media_type_header_exception", 400)                              \
    X(TASK_CANCELLED, "task_cancelled_exception", 400)                                    \
    X(ES_REJECTED_EXECUTION, "es_rejected_execution_exception", 429)                      \
    X(CIRCUIT_BREAKING, "circuit_breaking_exception", 429)                                \
    X(TIMEOUT, "timeout_exception", 500)                                                  \
    X(NOT_X_CONTENT, "not_x_content_exception", 400)                                      \
    X(INTERNAL, "exception", 500)

typedef enum {
#define X(id, name, status) ES_##id,
    ES_ERROR_TYPES(X)
#undef X
    ES_ERROR_TYPE_COUNT
} es_error_type;

const char *es_error_name(es_error_type t);
int es_error_status(es_error_type t);

/*
 * es_err: one Elasticsearch error, as its REST envelope reports it.
 * `extra` holds the members Elasticsearch adds beside type and reason (e.g.
 * "index": "x", "index_uuid": "_na_"), in order; a raw one is already-encoded
 * JSON, the others are strings. `caused_by` chains a cause.
 */
typedef struct es_err_member {
    char *key;
    char *value;
    bool raw;
} es_err_member;

typedef struct es_err {
    es_error_type type;
    int status;            /* the HTTP status; defaults to the table's */
    char *reason;          /* heap; NULL when no error is set */
    es_err_member *extra;  /* heap array of n_extra */
    size_t n_extra;
    struct es_err *caused_by;
    const char *type_name; /* overrides the table's name when set (static storage) */
} es_err;

/* Sets *err (which must be zeroed or already freed); returns -1 for use as `return es_err_set(...)`. */
int es_err_set(es_err *err, es_error_type type, const char *fmt, ...) FERRY_PRINTF(3, 4);
/* Adds a member to err->extra: a string, or (raw) already-encoded JSON. */
void es_err_extra(es_err *err, const char *key, const char *value, bool raw);
void es_err_cause(es_err *err, es_err *cause); /* takes ownership of a heap-allocated cause */
void es_err_free(es_err *err);
static inline bool es_err_isset(const es_err *err) { return err->reason != NULL; }
const char *es_err_type_name(const es_err *err);

#endif
