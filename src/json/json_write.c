/*
 * json_write.c — the streaming writer (compact, or Elasticsearch's pretty
 * layout), the escaper, DOM output and re-layout.
 *
 * Compact output of a parsed value is never longer than the value's raw text
 * (whitespace goes, escapes only shrink or stay, numbers are copied from their
 * raw text), so jw_val reserves that much once and then writes without bounds
 * checks, walking the tape in order.
 */
#include "json/json_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------------ */
/* Escaping */

/* 0: copied as is; otherwise the letter after the backslash ('u': \u00XX). */
static const char esc_tab[256] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
    [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u', [0x06] = 'u',
    [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u', [0x11] = 'u', [0x12] = 'u',
    [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u', [0x17] = 'u', [0x18] = 'u', [0x19] = 'u',
    [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u', [0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u',
    ['"'] = '"', ['\\'] = '\\',
};

static const char hexdig[] = "0123456789abcdef";

static inline char *esc_one(char *o, uint8_t c)
{
    char e = esc_tab[c];
    o[0] = '\\';
    o[1] = e;
    if (e != 'u') return o + 2;
    o[2] = '0';
    o[3] = '0';
    o[4] = hexdig[c >> 4];
    o[5] = hexdig[c & 15];
    return o + 6;
}

#ifdef __SSE2__
static inline unsigned special_mask(__m128i x)
{
    const __m128i vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\'), v1f = _mm_set1_epi8(0x1f);
    __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vq), _mm_cmpeq_epi8(x, vb)),
                              _mm_cmpeq_epi8(_mm_min_epu8(x, v1f), x));
    return (unsigned)_mm_movemask_epi8(sp);
}
#endif

/* Escapes n bytes at s into o (room for 6n is the caller's); reads only s[0..n). */
static char *esc_safe(char *o, const uint8_t *s, size_t n)
{
    const uint8_t *e = s + n;
#ifdef __SSE2__
    while (e - s >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)s);
        _mm_storeu_si128((__m128i *)o, x);
        unsigned m = special_mask(x);
        if (!m) {
            s += 16;
            o += 16;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctz(m);
        s += k;
        o += k;
        o = esc_one(o, *s++);
    }
#endif
    while (s < e) {
        uint8_t c = *s++;
        if (LIKELY(!esc_tab[c]))
            *o++ = (char)c;
        else
            o = esc_one(o, c);
    }
    return o;
}

/* Escapes a DOM string: its area is padded, so 16-byte loads past the end are
 * safe, and o has 16 bytes of slack past the output. */
static inline char *esc_dom(char *o, const char *str, size_t n)
{
#ifdef __SSE2__
    const uint8_t *s = (const uint8_t *)str;
    for (;;) {
        __m128i x = _mm_loadu_si128((const __m128i *)s);
        _mm_storeu_si128((__m128i *)o, x);
        unsigned m = special_mask(x);
        if (n < 16) m &= (1u << n) - 1;
        if (LIKELY(!m)) {
            if (n <= 16) return o + n;
            s += 16;
            o += 16;
            n -= 16;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctz(m);
        o = esc_one(o + k, s[k]);
        s += k + 1;
        n -= k + 1;
    }
#else
    return esc_safe(o, (const uint8_t *)str, n);
#endif
}

void json_escape(buf *out, const char *s, size_t n)
{
    buf_reserve(out, 6 * n + 2);
    char *o = out->p + out->len;
    *o++ = '"';
    o = esc_safe(o, (const uint8_t *)s, n);
    *o++ = '"';
    out->len = (size_t)(o - out->p);
    out->p[out->len] = 0;
}

/* ------------------------------------------------------------------------ */
/* Numbers */

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static char *u64_to_dec(char *o, uint64_t v)
{
    char tmp[24];
    char *e = tmp + sizeof tmp, *q = e;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        q -= 2;
        memcpy(q, digits2 + 2 * r, 2);
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, digits2 + 2 * v, 2);
    } else
        *--q = (char)('0' + v);
    size_t n = (size_t)(e - q);
    memcpy(o, q, n);
    return o + n;
}

/* Digits of v's decimal form with prec significant digits; returns the count. */
static int sci_digits(double v, int prec, char *dig, int *exp10)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    int nd = 0;
    const char *s = tmp;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') dig[nd++] = *s;
    *exp10 = *s == 'e' ? atoi(s + 1) : 0;
    return nd;
}

static bool digits_roundtrip(const char *dig, int nd, int exp10, double v)
{
    char tmp[48];
    int n = 0;
    tmp[n++] = dig[0];
    tmp[n++] = '.';
    for (int i = 1; i < nd; i++) tmp[n++] = dig[i];
    if (nd == 1) tmp[n++] = '0';
    n += snprintf(tmp + n, sizeof tmp - (size_t)n, "e%d", exp10);
    return json_strtod_c(tmp, (size_t)n) == v;
}

static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                              1e12, 1e13, 1e14, 1e15, 1e16, 1e17 };

/*
 * The fast path: v == m / 10^k for the least k and an integer m < 2^53. Both
 * are exact doubles and the division is correctly rounded, so the decimal m
 * e-k reads back as v; a shorter decimal would have fewer fraction digits, and
 * each smaller k was tried (the nearest integer to v * 10^k is the only
 * candidate). Covers integers, prices, scores: most doubles a node prints.
 */
static int short_decimal_digits(double v, char *dig, int *exp10)
{
    if (!(v >= 1e-7 && v < 9007199254740992.0)) return 0;
    for (int k = 0; k < (int)ARRAY_LEN(p10); k++) {
        double x = v * p10[k];
        if (x >= 9007199254740992.0) return 0;
        double m = nearbyint(x);
        if (m / p10[k] != v || m < 1) continue;
        char tmp[24];
        char *e = u64_to_dec(tmp, (uint64_t)m);
        int nd = (int)(e - tmp);
        memcpy(dig, tmp, (size_t)nd);
        *exp10 = nd - 1 - k;
        while (nd > 1 && dig[nd - 1] == '0') nd--;
        return nd;
    }
    return 0;
}

/* Shortest digits that read back as v (v finite, > 0); Java's choice when one
 * digit would do: the closest of one or two digits. */
static int shortest_digits(double v, char *dig, int *exp10)
{
    int nd = short_decimal_digits(v, dig, exp10);
    if (nd) return nd; /* a normal double: one digit is also the closest of two */
    if (v >= 2.2250738585072014e-308) {
        /* a normal double: every decimal of <= 15 digits survives the round
         * trip, so when 15 digits do, the shortest is them without trailing zeros */
        for (int prec = 15; prec <= 17; prec++) {
            nd = sci_digits(v, prec, dig, exp10);
            if (prec == 17 || digits_roundtrip(dig, nd, *exp10, v)) break;
        }
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            nd = sci_digits(v, prec, dig, exp10);
            if (prec == 17 || digits_roundtrip(dig, nd, *exp10, v)) break;
        }
    }
    while (nd > 1 && dig[nd - 1] == '0') nd--;
    if (nd == 1) {
        char d2[24];
        int e2;
        int n2 = sci_digits(v, 2, d2, &e2);
        while (n2 > 1 && d2[n2 - 1] == '0') n2--;
        if (n2 == 2 && digits_roundtrip(d2, n2, e2, v)) {
            memcpy(dig, d2, 2);
            *exp10 = e2;
            nd = 2;
        }
    }
    return nd;
}

size_t json_fmt_double(double v, char *out)
{
    char *o = out;
    if (v != v) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (signbit(v)) {
        *o++ = '-';
        v = -v;
    }
    if (isinf(v)) {
        memcpy(o, "Infinity", 9);
        return (size_t)(o - out) + 8;
    }
    if (v == 0) {
        memcpy(o, "0.0", 4);
        return (size_t)(o - out) + 3;
    }
    char dig[24];
    int e;
    int nd = shortest_digits(v, dig, &e);
    if (v >= 1e-3 && v < 1e7) {
        if (e >= 0) {
            for (int i = 0; i <= e; i++) *o++ = i < nd ? dig[i] : '0';
            *o++ = '.';
            if (nd > e + 1)
                for (int i = e + 1; i < nd; i++) *o++ = dig[i];
            else
                *o++ = '0';
        } else {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -e - 1; i++) *o++ = '0';
            for (int i = 0; i < nd; i++) *o++ = dig[i];
        }
    } else {
        *o++ = dig[0];
        *o++ = '.';
        if (nd > 1)
            for (int i = 1; i < nd; i++) *o++ = dig[i];
        else
            *o++ = '0';
        *o++ = 'E';
        if (e < 0) {
            *o++ = '-';
            e = -e;
        }
        o = u64_to_dec(o, (uint64_t)e);
    }
    *o = 0;
    return (size_t)(o - out);
}

/* ------------------------------------------------------------------------ */
/* The streaming writer */

static const char spaces[] = "\n                                                                "
                             "                                                                ";

static inline char *wr_begin(json_w *w, size_t n)
{
    buf_reserve(w->out, n);
    return w->out->p + w->out->len;
}

static inline void wr_end(json_w *w, char *o)
{
    w->out->len = (size_t)(o - w->out->p);
    w->out->p[w->out->len] = 0;
}

static void nl_indent(json_w *w, uint32_t depth)
{
    size_t n = 2 * (size_t)depth + 1;
    char *o = wr_begin(w, n);
    if (n <= sizeof spaces - 1) {
        memcpy(o, spaces, n);
        o += n;
    } else {
        *o++ = '\n';
        memset(o, ' ', n - 1);
        o += n - 1;
    }
    wr_end(w, o);
}

static inline void put1(json_w *w, char c)
{
    char *o = wr_begin(w, 1);
    *o++ = c;
    wr_end(w, o);
}

/* Before a value: the separator and, pretty, the new line. */
static inline void w_sep(json_w *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0) return;
    if (w->need_comma) put1(w, ',');
    if (w->pretty) nl_indent(w, w->depth);
}

void jw_init(json_w *w, buf *out, bool pretty)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->pretty = pretty;
}

static void w_open(json_w *w, char c)
{
    w_sep(w);
    put1(w, c);
    w->depth++;
    w->need_comma = false;
}

static void w_close(json_w *w, char c)
{
    if (w->depth) w->depth--;
    if (w->pretty) {
        if (w->need_comma)
            nl_indent(w, w->depth);
        else
            put1(w, ' ');
    }
    put1(w, c);
    w->need_comma = true;
    w->after_key = false;
}

void jw_obj_begin(json_w *w) { w_open(w, '{'); }
void jw_obj_end(json_w *w) { w_close(w, '}'); }
void jw_arr_begin(json_w *w) { w_open(w, '['); }
void jw_arr_end(json_w *w) { w_close(w, ']'); }

void jw_keyn(json_w *w, const char *key, size_t n)
{
    if (w->depth && w->need_comma) put1(w, ',');
    if (w->pretty && w->depth) nl_indent(w, w->depth);
    char *o = wr_begin(w, 6 * n + 8);
    *o++ = '"';
    o = esc_safe(o, (const uint8_t *)key, n);
    *o++ = '"';
    if (w->pretty) {
        memcpy(o, " : ", 3);
        o += 3;
    } else
        *o++ = ':';
    wr_end(w, o);
    w->after_key = true;
    w->need_comma = true;
}

void jw_key(json_w *w, const char *key)
{
    jw_keyn(w, key ? key : "", key ? strlen(key) : 0);
}

void jw_strn(json_w *w, const char *s, size_t n)
{
    w_sep(w);
    char *o = wr_begin(w, 6 * n + 2);
    *o++ = '"';
    o = esc_safe(o, (const uint8_t *)s, n);
    *o++ = '"';
    wr_end(w, o);
    w->need_comma = true;
}

void jw_str(json_w *w, const char *s)
{
    if (!s)
        jw_null(w);
    else
        jw_strn(w, s, strlen(s));
}

void jw_int(json_w *w, int64_t v)
{
    w_sep(w);
    char *o = wr_begin(w, 24);
    if (v < 0) {
        *o++ = '-';
        o = u64_to_dec(o, 0 - (uint64_t)v);
    } else
        o = u64_to_dec(o, (uint64_t)v);
    wr_end(w, o);
    w->need_comma = true;
}

void jw_uint(json_w *w, uint64_t v)
{
    w_sep(w);
    char *o = wr_begin(w, 24);
    o = u64_to_dec(o, v);
    wr_end(w, o);
    w->need_comma = true;
}

static void w_lit(json_w *w, const char *s, size_t n)
{
    w_sep(w);
    char *o = wr_begin(w, n);
    memcpy(o, s, n);
    wr_end(w, o + n);
    w->need_comma = true;
}

void jw_double(json_w *w, double v)
{
    if (!isfinite(v)) {
        w_lit(w, "null", 4);
        return;
    }
    char tmp[40];
    size_t n = json_fmt_double(v, tmp);
    w_lit(w, tmp, n);
}

void jw_bool(json_w *w, bool v)
{
    if (v)
        w_lit(w, "true", 4);
    else
        w_lit(w, "false", 5);
}

void jw_null(json_w *w)
{
    w_lit(w, "null", 4);
}

/* ------------------------------------------------------------------------ */
/* DOM output */

typedef struct wframe {
    const json_val *end;
    bool obj;
} wframe;

typedef struct wstack {
    wframe local[64];
    wframe *f;
    size_t cap, n;
} wstack;

static void ws_init(wstack *s)
{
    s->f = s->local;
    s->cap = ARRAY_LEN(s->local);
    s->n = 0;
}

static __attribute__((noinline)) void ws_grow(wstack *s)
{
    size_t ncap = s->cap * 4;
    if (s->f == s->local) {
        s->f = xmalloc(ncap * sizeof *s->f);
        memcpy(s->f, s->local, sizeof s->local);
    } else
        s->f = xrealloc(s->f, ncap * sizeof *s->f);
    s->cap = ncap;
}

static inline void ws_push(wstack *s, const json_val *end, bool obj)
{
    if (UNLIKELY(s->n == s->cap)) ws_grow(s);
    s->f[s->n].end = end;
    s->f[s->n].obj = obj;
    s->n++;
}

static void ws_free(wstack *s)
{
    if (s->f != s->local) free(s->f);
}

/* Copies a short raw token (the input copy is padded, o has slack). */
static inline char *copy_raw(char *o, const char *raw, size_t n)
{
    if (LIKELY(n <= 16)) {
#ifdef __SSE2__
        _mm_storeu_si128((__m128i *)o, _mm_loadu_si128((const __m128i *)raw));
#else
        memcpy(o, raw, 16);
#endif
    } else
        memcpy(o, raw, n);
    return o + n;
}

/* Compact output of a DOM value into o, which has room for v->rlen + 32 bytes. */
static char *write_compact(char *o, const json_val *v)
{
    wstack st;
    ws_init(&st);
    const json_val *cur = v;
    bool first = true;
    do {
        if (st.n) {
            if (!first) *o++ = ',';
            if (st.f[st.n - 1].obj) {
                *o++ = '"';
                o = esc_dom(o, cur->u.s, jv_len(cur));
                *o++ = '"';
                *o++ = ':';
                cur++;
            }
        }
        switch (jv_type(cur)) {
        case JSON_STRING:
            *o++ = '"';
            o = esc_dom(o, cur->u.s, jv_len(cur));
            *o++ = '"';
            cur++;
            break;
        case JSON_INT:
        case JSON_BIGINT:
        case JSON_DOUBLE:
            o = copy_raw(o, cur->raw, cur->rlen);
            cur++;
            break;
        case JSON_BOOL:
            if (jv_len(cur)) {
                memcpy(o, "true", 4);
                o += 4;
            } else {
                memcpy(o, "false", 5);
                o += 5;
            }
            cur++;
            break;
        case JSON_NULL:
            memcpy(o, "null", 4);
            o += 4;
            cur++;
            break;
        case JSON_OBJECT:
        case JSON_ARRAY: {
            bool obj = jv_type(cur) == JSON_OBJECT;
            if (cur->u.size == 1) {
                o[0] = obj ? '{' : '[';
                o[1] = obj ? '}' : ']';
                o += 2;
                cur++;
                break;
            }
            *o++ = obj ? '{' : '[';
            ws_push(&st, cur + cur->u.size, obj);
            cur++;
            first = true;
            continue;
        }
        }
        first = false;
        while (st.n && cur == st.f[st.n - 1].end) {
            *o++ = st.f[st.n - 1].obj ? '}' : ']';
            st.n--;
        }
    } while (st.n);
    ws_free(&st);
    return o;
}

static void w_scalar(json_w *w, const json_val *v)
{
    switch (jv_type(v)) {
    case JSON_STRING: jw_strn(w, v->u.s, jv_len(v)); break;
    case JSON_INT:
    case JSON_BIGINT:
    case JSON_DOUBLE: w_lit(w, v->raw, v->rlen); break;
    case JSON_BOOL: jw_bool(w, jv_len(v) != 0); break;
    default: jw_null(w); break;
    }
}

/* Through the streaming writer (pretty output). */
static void write_stream(json_w *w, const json_val *v)
{
    wstack st;
    ws_init(&st);
    const json_val *cur = v;
    do {
        if (st.n && st.f[st.n - 1].obj) {
            jw_keyn(w, cur->u.s, jv_len(cur));
            cur++;
        }
        if (jv_is_container(cur)) {
            bool obj = jv_type(cur) == JSON_OBJECT;
            w_open(w, obj ? '{' : '[');
            ws_push(&st, cur + cur->u.size, obj);
            cur++;
        } else {
            w_scalar(w, cur);
            cur++;
        }
        while (st.n && cur == st.f[st.n - 1].end) {
            w_close(w, st.f[st.n - 1].obj ? '}' : ']');
            st.n--;
        }
    } while (st.n);
    ws_free(&st);
}

void jw_val(json_w *w, const json_val *v)
{
    if (!v) {
        jw_null(w);
        return;
    }
    if (w->pretty) {
        write_stream(w, v);
        return;
    }
    w_sep(w);
    char *o = wr_begin(w, (size_t)v->rlen + 32);
    o = write_compact(o, v);
    wr_end(w, o);
    w->need_comma = true;
}

void jw_raw(json_w *w, const char *json, size_t n)
{
    if (!json) {
        jw_null(w);
        return;
    }
    if (w->pretty) {
        json_doc *doc = json_parse(json, n, NULL, NULL);
        if (doc) {
            write_stream(w, json_doc_root(doc));
            json_doc_free(doc);
            return;
        }
    }
    /* compact (or not valid JSON after all): splice the text, trimmed */
    while (n && (json[0] == ' ' || json[0] == '\t' || json[0] == '\n' || json[0] == '\r')) {
        json++;
        n--;
    }
    while (n && (json[n - 1] == ' ' || json[n - 1] == '\t' || json[n - 1] == '\n' || json[n - 1] == '\r')) n--;
    w_lit(w, json, n);
}

bool json_reformat(const char *text, size_t len, bool pretty, buf *out)
{
    json_doc *doc = json_parse(text, len, NULL, NULL);
    if (!doc) return false;
    json_w w;
    jw_init(&w, out, pretty);
    jw_val(&w, json_doc_root(doc));
    json_doc_free(doc);
    return true;
}
