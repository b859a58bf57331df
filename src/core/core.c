/*
 * core.c — allocation, buffers, arenas, logging, clocks and the error table.
 */
#include "core/core.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Allocation */

static void oom(size_t n)
{
    fprintf(stderr, "ferry: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (UNLIKELY(!p)) oom(n);
    return p;
}

void *xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (UNLIKELY(!p)) oom(count * n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (UNLIKELY(!q)) oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------------ */
/* buf */

void buf_reserve(buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap < (1u << 20) ? cap * 2 : cap + cap / 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
    b->p[b->len] = 0;
}

void buf_append(buf *b, const void *data, size_t n)
{
    buf_reserve(b, n);
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0;
}

void buf_puts(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(buf *b, char c)
{
    buf_reserve(b, 1);
    b->p[b->len++] = c;
    b->p[b->len] = 0;
}

void buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    buf_reserve(b, 64);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t)n;
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *buf_detach(buf *b, size_t *len)
{
    if (!b->p) buf_reserve(b, 0);
    char *p = b->p;
    if (len) *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ------------------------------------------------------------------------ */
/* arena */

struct arena_chunk {
    arena_chunk *next;
    size_t size;
    char data[];
};

void *arena_alloc(arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (UNLIKELY((size_t)(a->end - a->cur) < n || !a->cur)) {
        size_t cs = a->chunk_size ? a->chunk_size : 16384;
        if (cs < n) cs = n;
        arena_chunk *c = xmalloc(sizeof *c + cs);
        c->size = cs;
        c->next = a->head;
        a->head = c;
        a->cur = c->data;
        a->end = c->data + cs;
        if (a->chunk_size && a->chunk_size < (1u << 20)) a->chunk_size *= 2;
    }
    void *p = a->cur;
    a->cur += n;
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void arena_free(arena *a)
{
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->cur = a->end = NULL;
}

/* ------------------------------------------------------------------------ */
/* logging */

static log_level g_log_level = LOG_INFO;
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level(log_level lvl)
{
    g_log_level = lvl;
}

void log_msg(log_level lvl, const char *module, const char *fmt, ...)
{
    static const char *names[] = { "DEBUG", "INFO ", "WARN ", "ERROR" };
    if (lvl < g_log_level) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    buf line = { 0 };
    buf_printf(&line, "[%s,%03ld][%s][%s] ", when, ts.tv_nsec / 1000000, names[lvl], module);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&line, fmt, ap);
    va_end(ap);
    buf_putc(&line, '\n');
    pthread_mutex_lock(&g_log_lock);
    fwrite(line.p, 1, line.len, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&g_log_lock);
    buf_free(&line);
}

/* ------------------------------------------------------------------------ */
/* clocks */

int64_t now_millis(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* strings */

bool strv_eq(strv a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && memcmp(a.p, s, n) == 0;
}

bool str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

float str_similarity(const char *a, const char *b)
{
    /* 1 - distance / max(len) with Levenshtein distance, as Lucene's LevenshteinDistance. */
    size_t n = strlen(a), m = strlen(b);
    if (n == 0 || m == 0) return n == m ? 1.0f : 0.0f;
    size_t *prev = xmalloc((m + 1) * sizeof *prev), *cur = xmalloc((m + 1) * sizeof *cur);
    for (size_t j = 0; j <= m; j++) prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v) v = prev[j - 1] + cost;
            cur[j] = v;
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    float d = (float)prev[m];
    free(prev);
    free(cur);
    return 1.0f - d / (float)(n > m ? n : m);
}

/* Reads a plain decimal number ("12", "1.5") spanning [s, unit_start); nothing else. */
static bool parse_unit_number(const char *s, const char *unit_start, bool allow_fraction, double *out)
{
    size_t n = (size_t)(unit_start - s);
    if (n == 0 || n >= 32) return false;
    bool dot = false, digit = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') digit = true;
        else if (s[i] == '.' && !dot && allow_fraction) dot = true;
        else return false;
    }
    if (!digit) return false;
    char tmp[32];
    memcpy(tmp, s, n);
    tmp[n] = 0;
    *out = strtod(tmp, NULL);
    return true;
}

bool parse_byte_size(const char *s, int64_t *out)
{
    static const struct { const char *unit; int64_t mult; } units[] = {
        { "pb", 1LL << 50 }, { "tb", 1LL << 40 }, { "gb", 1LL << 30 }, { "mb", 1LL << 20 },
        { "kb", 1LL << 10 }, { "p", 1LL << 50 },  { "t", 1LL << 40 },  { "g", 1LL << 30 },
        { "m", 1LL << 20 },  { "k", 1LL << 10 },  { "b", 1 },
    };
    if (!s || !*s) return false;
    if (strcmp(s, "-1") == 0) {
        *out = -1;
        return true;
    }
    size_t n = strlen(s);
    char low[64];
    if (n >= sizeof low) return false;
    for (size_t i = 0; i <= n; i++) low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (str_has_suffix(low, units[i].unit)) {
            double v;
            if (!parse_unit_number(low, low + n - strlen(units[i].unit), true, &v)) return false;
            if (v * (double)units[i].mult >= 9.2e18) return false;
            *out = (int64_t)(v * (double)units[i].mult);
            return true;
        }
    }
    /* Elasticsearch requires a unit, except for the bare values 0 and -1. */
    if (strcmp(low, "0") == 0) {
        *out = 0;
        return true;
    }
    return false;
}

bool parse_time_value(const char *s, int64_t *out_ms)
{
    static const struct { const char *unit; double mult; } units[] = {
        { "nanos", 1e-6 }, { "micros", 1e-3 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
        { "h", 3600000 },  { "d", 86400000 },
    };
    if (!s || !*s) return false;
    if (strcmp(s, "-1") == 0) {
        *out_ms = -1;
        return true;
    }
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return true;
    }
    size_t n = strlen(s);
    char low[64];
    if (n >= sizeof low) return false;
    for (size_t i = 0; i <= n; i++) low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    /* "ms" must not be read as "m" + "s": a unit is accepted only when the rest is a number. */
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (str_has_suffix(low, units[i].unit)) {
            double v;
            if (!parse_unit_number(low, low + n - strlen(units[i].unit), false, &v)) continue;
            if (v * units[i].mult >= 9.2e18) return false;
            *out_ms = (int64_t)(v * units[i].mult);
            return true;
        }
    }
    return false;
}

void random_bytes(void *out, size_t n)
{
    uint8_t *p = out;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "ferry: getrandom failed\n");
            abort();
        }
        p += r;
        n -= (size_t)r;
    }
}

size_t base64url_encode(const uint8_t *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
    }
    out[o] = 0;
    return o;
}

void random_uuid(char out[23])
{
    /* 16 random bytes with the version-4 bits set, as Elasticsearch's RandomBasedUUIDGenerator. */
    uint8_t b[16];
    random_bytes(b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    base64url_encode(b, sizeof b, out);
}

/* ------------------------------------------------------------------------ */
/* errors */

static const struct {
    const char *name;
    int status;
} es_error_table[] = {
#define X(id, name, status) { name, status },
    ES_ERROR_TYPES(X)
#undef X
};

const char *es_error_name(es_error_type t)
{
    return t < ES_ERROR_TYPE_COUNT ? es_error_table[t].name : "exception";
}

int es_error_status(es_error_type t)
{
    return t < ES_ERROR_TYPE_COUNT ? es_error_table[t].status : 500;
}

int es_err_set(es_err *err, es_error_type type, const char *fmt, ...)
{
    if (!err) return -1;
    if (err->reason) return -1; /* the first error wins */
    err->type = type;
    err->status = es_error_status(type);
    buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    err->reason = buf_detach(&b, NULL);
    return -1;
}

void es_err_extra(es_err *err, const char *key, const char *value, bool raw)
{
    err->extra = xrealloc(err->extra, (err->n_extra + 1) * sizeof *err->extra);
    err->extra[err->n_extra++] = (es_err_member){ xstrdup(key), xstrdup(value), raw };
}

void es_err_cause(es_err *err, es_err *cause)
{
    if (err->caused_by) {
        es_err_free(err->caused_by);
        free(err->caused_by);
    }
    err->caused_by = cause;
}

void es_err_free(es_err *err)
{
    if (!err) return;
    free(err->reason);
    for (size_t i = 0; i < err->n_extra; i++) {
        free(err->extra[i].key);
        free(err->extra[i].value);
    }
    free(err->extra);
    if (err->caused_by) {
        es_err_free(err->caused_by);
        free(err->caused_by);
    }
    memset(err, 0, sizeof *err);
}

const char *es_err_type_name(const es_err *err)
{
    return err->type_name ? err->type_name : es_error_name(err->type);
}
