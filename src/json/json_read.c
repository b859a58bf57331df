/*
 * json_read.c — the strict RFC 8259 reader: one pass over a padded copy of the
 * input into a pre-order tape of nodes (see json_impl.h), plus the DOM
 * accessors.
 *
 * Speed comes from: one malloc per document (header, tape, input copy and
 * string area in one block, the tape sized from the input and moved out only
 * when a document is unusually dense); 64 zero bytes after the copy so the
 * scanners never check bounds (a NUL is never valid JSON outside a string, and
 * the string scanner stops on it as a control character); strings scanned and
 * copied 16 bytes at a time; integers and short doubles converted without
 * strtod.
 */
#include "json/json_impl.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define PAD 64 /* zero bytes after the input copy; slack after the string area */
#define JSON_MAX_INPUT ((size_t)UINT32_MAX - 2 * PAD)

/* ------------------------------------------------------------------------ */
/* Character classes */

enum { C_WS = 1, C_DIGIT = 2, C_IDENT = 4 };

static const uint8_t cclass[256] = {
    ['\t'] = C_WS, ['\n'] = C_WS, ['\r'] = C_WS, [' '] = C_WS,
#define D(c) [c] = C_DIGIT | C_IDENT
    D('0'), D('1'), D('2'), D('3'), D('4'), D('5'), D('6'), D('7'), D('8'), D('9'),
#undef D
#define R8(a) [a] = C_IDENT, [a + 1] = C_IDENT, [a + 2] = C_IDENT, [a + 3] = C_IDENT, \
              [a + 4] = C_IDENT, [a + 5] = C_IDENT, [a + 6] = C_IDENT, [a + 7] = C_IDENT
    R8('A'), R8('A' + 8), R8('A' + 16), ['Y'] = C_IDENT, ['Z'] = C_IDENT,
    R8('a'), R8('a' + 8), R8('a' + 16), ['y'] = C_IDENT, ['z'] = C_IDENT,
    ['_'] = C_IDENT, ['$'] = C_IDENT,
    R8(0x80), R8(0x88), R8(0x90), R8(0x98), R8(0xa0), R8(0xa8), R8(0xb0), R8(0xb8),
    R8(0xc0), R8(0xc8), R8(0xd0), R8(0xd8), R8(0xe0), R8(0xe8), R8(0xf0), R8(0xf8),
#undef R8
};

static inline bool is_digit(uint8_t c) { return (unsigned)(c - '0') < 10; }

/* Whitespace skip: a token never starts with a byte <= ' ' other than the
 * four whitespace characters, so the common case is one compare. */
#define WS_MASK ((1ull << ' ') | (1ull << '\t') | (1ull << '\n') | (1ull << '\r'))
static inline const uint8_t *skip_ws(const uint8_t *p)
{
    while (*p <= ' ' && ((WS_MASK >> *p) & 1)) p++;
    return p;
}

/* ------------------------------------------------------------------------ */
/* The C locale, for strtod_l */

static locale_t g_c_locale;
static pthread_once_t g_c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void)
{
    g_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}
double json_strtod_c(const char *s, size_t n)
{
    char tmp[128];
    char *heap = NULL, *z = tmp;
    if (n >= sizeof tmp) z = heap = xmalloc(n + 1);
    memcpy(z, s, n);
    z[n] = 0;
    pthread_once(&g_c_locale_once, c_locale_init);
    double d = g_c_locale ? strtod_l(z, NULL, g_c_locale) : strtod(z, NULL);
    free(heap);
    return d;
}

/* ------------------------------------------------------------------------ */
/* Parser state and errors */

typedef struct frame {
    uint32_t ci;  /* tape index of the open container */
    uint32_t cnt; /* members so far */
} frame;

typedef struct pctx {
    const uint8_t *base; /* the copy */
    const uint8_t *end;  /* base + n; *end == 0 */
    json_err *err;
    size_t err_off;      /* where the error is, for the window logic */
    bool failed;
} pctx;

static __attribute__((cold, noinline)) void perr_at(pctx *c, const uint8_t *at, const char *fmt, ...)
    FERRY_PRINTF(3, 4);
static __attribute__((cold, noinline)) void perr_at(pctx *c, const uint8_t *at, const char *fmt, ...)
{
    c->failed = true;
    c->err_off = (size_t)(at - c->base);
    if (!c->err) return;
    json_err *e = c->err;
    e->offset = c->err_off;
    uint32_t line = 1;
    size_t ls = 0;
    for (size_t i = 0; i < e->offset; i++)
        if (c->base[i] == '\n') {
            line++;
            ls = i + 1;
        }
    e->line = line;
    e->col = (uint32_t)(e->offset - ls + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* Decodes the UTF-8 sequence at p if valid; returns its length or 0. */
static int utf8_decode(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    uint32_t v;
    uint8_t lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) { n = 2; v = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3; v = c & 0x0f;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4; v = c & 0x07;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (p + n > end) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    v = (v << 6) | (p[1] & 0x3f);
    for (int i = 2; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    *cp = v;
    return n;
}

/* Jackson's description of a character: 'x' (code 120), (CTRL-CHAR, code 10). */
static void char_desc(const pctx *c, const uint8_t *p, char *out, size_t outn)
{
    uint32_t cp;
    int n = utf8_decode(p, c->end, &cp);
    if (n == 0)
        snprintf(out, outn, "(code 0x%x)", p[0]);
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
        snprintf(out, outn, "(CTRL-CHAR, code %u)", cp);
    else if (cp > 255)
        snprintf(out, outn, "'%.*s' (code %u / 0x%x)", n, (const char *)p, cp, cp);
    else
        snprintf(out, outn, "'%.*s' (code %u)", n, (const char *)p, cp);
}

static __attribute__((cold, noinline)) void perr_invalid_utf8(pctx *c, const uint8_t *p)
{
    uint8_t b = p[0];
    bool start_ok = (b >= 0xc2 && b <= 0xf4);
    if (!start_ok) {
        perr_at(c, p, "Invalid UTF-8 start byte 0x%x", b);
        return;
    }
    int n = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
    for (int i = 1; i < n; i++) {
        if (p + i >= c->end) {
            perr_at(c, c->end, "Unexpected end-of-input: was expecting closing quote for a string value");
            return;
        }
        uint8_t m = p[i];
        bool ok = i == 1 ? (m >= lo && m <= hi) : ((m & 0xc0) == 0x80);
        if (!ok) {
            perr_at(c, p + i, "Invalid UTF-8 middle byte 0x%x", m);
            return;
        }
    }
    perr_at(c, p, "Invalid UTF-8 start byte 0x%x", b);
}

/* "Unexpected character (...): <what>" or its end-of-input form. */
static __attribute__((cold, noinline)) void perr_unexpected(pctx *c, const uint8_t *p, const char *what,
                                                          const char *eof_what)
{
    if (p >= c->end) {
        perr_at(c, p, "Unexpected end-of-input%s", eof_what);
        return;
    }
    if (*p >= 0x80) {
        uint32_t cp;
        if (!utf8_decode(p, c->end, &cp)) {
            perr_invalid_utf8(c, p);
            return;
        }
    }
    char d[64];
    char_desc(c, p, d, sizeof d);
    perr_at(c, p, "Unexpected character (%s): %s", d, what);
}

#define VALID_VALUES "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"

/* A bad token where a value should start (letters: Jackson's "Unrecognized token"). */
static __attribute__((cold, noinline)) void perr_value(pctx *c, const uint8_t *p, uint32_t depth, bool in_obj)
{
    if (p >= c->end) {
        if (depth == 0)
            perr_at(c, p, "Unexpected end-of-input: expected a value");
        else
            perr_at(c, p, "Unexpected end-of-input: expected close marker for %s", in_obj ? "Object" : "Array");
        return;
    }
    uint8_t ch = *p;
    if (ch == ']' || ch == '}' || ch == ',') {
        perr_unexpected(c, p, "expected a value", "");
        return;
    }
    if (ch == '+') {
        perr_unexpected(c, p,
                        "JSON spec does not allow numbers to have plus signs: enable "
                        "`JsonReadFeature.ALLOW_LEADING_PLUS_SIGN_FOR_NUMBERS` to allow", "");
        return;
    }
    if ((cclass[ch] & C_IDENT) && !is_digit(ch)) {
        const uint8_t *q = p;
        while (q < c->end && (cclass[*q] & C_IDENT) && q - p < 100) q++;
        int n = (int)(q - p);
        if ((n == 3 && !memcmp(p, "NaN", 3)) || (n == 8 && !memcmp(p, "Infinity", 8))) {
            perr_at(c, p,
                    "Non-standard token '%.*s': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
                    n, (const char *)p);
            return;
        }
        if (ch >= 0x80) {
            uint32_t cp;
            if (!utf8_decode(p, c->end, &cp)) {
                perr_invalid_utf8(c, p);
                return;
            }
        }
        perr_at(c, p, "Unrecognized token '%.*s%s': was expecting " VALID_VALUES, n, (const char *)p,
                q - p >= 100 ? "..." : "");
        return;
    }
    perr_unexpected(c, p, "expected a valid value " VALID_VALUES, "");
}

/* A literal that started well but did not finish (tru, nul, truex). */
static __attribute__((cold, noinline)) void perr_token(pctx *c, const uint8_t *p)
{
    const uint8_t *q = p;
    while (q < c->end && (cclass[*q] & C_IDENT) && q - p < 100) q++;
    int n = (int)(q - p);
    perr_at(c, p, "Unrecognized token '%.*s%s': was expecting " VALID_VALUES, n, (const char *)p,
            q - p >= 100 ? "..." : "");
}

/* ------------------------------------------------------------------------ */
/* Strings */

/* hex digit value + 1; 0 for anything else */
static const uint8_t hexval1[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* Four hex digits at p; -1 (and the error set) when one is not a hex digit. */
static inline int32_t hex4(pctx *c, const uint8_t *p)
{
    int32_t a = hexval1[p[0]] - 1, b = hexval1[p[1]] - 1, d = hexval1[p[2]] - 1, e = hexval1[p[3]] - 1;
    if (UNLIKELY((a | b | d | e) < 0)) {
        const uint8_t *q = p;
        while (hexval1[*q]) q++;
        perr_unexpected(c, q, "expected a hex-digit for character escape sequence",
                        " in character escape sequence");
        return -1;
    }
    return (a << 12) | (b << 8) | (d << 4) | e;
}

/* An escape at p (p[0] == '\\'): decodes into *pd; returns the input after it, or NULL. */
static __attribute__((noinline)) const uint8_t *scan_escape(pctx *c, const uint8_t *p, char **pd)
{
    char *d = *pd;
    uint8_t e = p[1];
    switch (e) {
    case '"': *d++ = '"'; break;
    case '\\': *d++ = '\\'; break;
    case '/': *d++ = '/'; break;
    case 'b': *d++ = '\b'; break;
    case 'f': *d++ = '\f'; break;
    case 'n': *d++ = '\n'; break;
    case 'r': *d++ = '\r'; break;
    case 't': *d++ = '\t'; break;
    case 'u': {
        int32_t u = hex4(c, p + 2);
        if (u < 0) return NULL;
        uint32_t cp = (uint32_t)u;
        const uint8_t *start = p;
        p += 6;
        if (cp >= 0xd800 && cp <= 0xdfff) {
            if (cp >= 0xdc00) {
                perr_at(c, start, "Invalid Unicode escape: lone low surrogate \\u%04x", cp);
                return NULL;
            }
            if (p[0] != '\\' || p[1] != 'u') {
                perr_at(c, start, "Invalid Unicode escape: high surrogate \\u%04x not followed by a low surrogate",
                        cp);
                return NULL;
            }
            int32_t lo = hex4(c, p + 2);
            if (lo < 0) return NULL;
            if (lo < 0xdc00 || lo > 0xdfff) {
                perr_at(c, start, "Invalid Unicode escape: high surrogate \\u%04x not followed by a low surrogate",
                        cp);
                return NULL;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            p += 6;
        }
        if (cp < 0x80)
            *d++ = (char)cp;
        else if (cp < 0x800) {
            *d++ = (char)(0xc0 | (cp >> 6));
            *d++ = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            *d++ = (char)(0xe0 | (cp >> 12));
            *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
            *d++ = (char)(0x80 | (cp & 0x3f));
        } else {
            *d++ = (char)(0xf0 | (cp >> 18));
            *d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
            *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
            *d++ = (char)(0x80 | (cp & 0x3f));
        }
        *pd = d;
        return p;
    }
    default:
        if (p + 1 >= c->end)
            perr_at(c, p + 1, "Unexpected end-of-input in character escape sequence");
        else if (e < 0x20 || e >= 0x80)
            perr_unexpected(c, p + 1, "Unrecognized character escape", "");
        else
            perr_at(c, p + 1, "Unrecognized character escape '%c' (code %u)", e, e);
        return NULL;
    }
    *pd = d;
    return p + 2;
}

/* Validates and copies a run of non-ASCII UTF-8 at p; returns the input after it, or NULL. */
static __attribute__((noinline)) const uint8_t *scan_utf8(pctx *c, const uint8_t *p, char **pd)
{
    char *d = *pd;
    do {
        uint8_t b = p[0];
        int n;
        if (b >= 0xc2 && b <= 0xdf) {
            if ((p[1] & 0xc0) != 0x80) goto bad;
            n = 2;
        } else if (b >= 0xe0 && b <= 0xef) {
            uint8_t lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
            if (p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80) goto bad;
            n = 3;
        } else if (b >= 0xf0 && b <= 0xf4) {
            uint8_t lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
            if (p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) goto bad;
            n = 4;
        } else
            goto bad;
        memcpy(d, p, 4); /* the string area has slack; only n bytes count */
        d += n;
        p += n;
    } while (*p >= 0x80);
    *pd = d;
    return p;
bad:
    perr_invalid_utf8(c, p);
    return NULL;
}

/* The string whose opening quote is at p[-1]: decodes it NUL-terminated into
 * *pd (advanced past the NUL) and returns the input after the closing quote,
 * or NULL on error. */
static inline const uint8_t *scan_string(pctx *c, const uint8_t *p, char **pd)
{
    char *d = *pd;
#ifdef __SSE2__
    const __m128i vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\'), v1f = _mm_set1_epi8(0x1f);
    for (;;) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        _mm_storeu_si128((__m128i *)d, x);
        __m128i sp = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vq), _mm_cmpeq_epi8(x, vb)),
                                  _mm_cmpeq_epi8(_mm_min_epu8(x, v1f), x));
        unsigned m = (unsigned)_mm_movemask_epi8(sp) | (unsigned)_mm_movemask_epi8(x);
        if (m == 0) {
            p += 16;
            d += 16;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctz(m);
        p += k;
        d += k;
#else
    for (;;) {
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') *d++ = (char)*p++;
#endif
        uint8_t ch = *p;
        if (LIKELY(ch == '"')) {
            *d++ = 0;
            *pd = d;
            return p + 1;
        }
        if (ch == '\\') {
            p = scan_escape(c, p, &d);
            if (!p) return NULL;
        } else if (ch >= 0x80) {
            p = scan_utf8(c, p, &d);
            if (!p) return NULL;
        } else {
            if (p >= c->end)
                perr_at(c, p, "Unexpected end-of-input: was expecting closing quote for a string value");
            else
                perr_at(c, p,
                        "Illegal unquoted character ((CTRL-CHAR, code %u)): has to be escaped using backslash "
                        "to be included in string value",
                        ch);
            return NULL;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Numbers */

static const double pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static __attribute__((cold, noinline)) void perr_number(pctx *c, const uint8_t *p, const char *what)
{
    if (p >= c->end)
        perr_at(c, p, "Unexpected end-of-input in a Number value");
    else {
        char d[64];
        char_desc(c, p, d, sizeof d);
        perr_at(c, p, "Unexpected character (%s) in numeric value: %s", d, what);
    }
}

/* The number at p (a '-' or a digit): fills *t; returns the input after it, or NULL. */
static inline const uint8_t *scan_number(pctx *c, const uint8_t *p, json_val *t)
{
    const uint8_t *s = p;
    bool neg = *p == '-';
    p += neg;
    uint64_t m;
    int nd; /* significant digits accumulated into m (a lone leading 0 does not count) */
    if (*p == '0') {
        p++;
        m = 0;
        nd = 0;
        if (UNLIKELY(is_digit(*p))) {
            perr_at(c, p, "Invalid numeric value: Leading zeroes not allowed");
            return NULL;
        }
    } else if (LIKELY(is_digit(*p))) {
        const uint8_t *ds = p;
        m = (uint64_t)(*p++ - '0');
        while (is_digit(*p)) m = m * 10 + (uint64_t)(*p++ - '0');
        nd = (int)(p - ds);
    } else {
        if (*p == 'I' && !memcmp(p, "Infinity", 8))
            perr_at(c, s, "Non-standard token '-Infinity': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow");
        else
            perr_number(c, p, "expected digit (0-9) to follow minus sign, for valid numeric value");
        return NULL;
    }
    if (LIKELY(*p != '.' && (*p | 0x20) != 'e')) {
        t->raw = (const char *)s;
        t->rlen = (uint32_t)(p - s);
        if (LIKELY(nd <= 18)) {
            t->tag = JSON_INT;
            t->u.i = neg ? -(int64_t)m : (int64_t)m;
            return p;
        }
        if (nd == 19 && m <= (uint64_t)INT64_MAX + neg) {
            t->tag = JSON_INT;
            t->u.i = neg ? (int64_t)(0 - m) : (int64_t)m;
            return p;
        }
        t->tag = JSON_BIGINT;
        t->u.d = json_strtod_c((const char *)s, t->rlen);
        return p;
    }
    int64_t e10 = 0;
    if (*p == '.') {
        p++;
        if (UNLIKELY(!is_digit(*p))) {
            perr_number(c, p, "Decimal point not followed by a digit");
            return NULL;
        }
        const uint8_t *fs = p;
        /* leading zeros of a fraction after a 0 integer part are not significant */
        if (nd == 0)
            while (*p == '0') p++;
        const uint8_t *sig = p;
        while (is_digit(*p)) m = m * 10 + (uint64_t)(*p++ - '0');
        nd += (int)(p - sig);
        e10 = -(int64_t)(p - fs);
    }
    if ((*p | 0x20) == 'e') {
        p++;
        bool eneg = false;
        if (*p == '-' || *p == '+') eneg = *p++ == '-';
        if (UNLIKELY(!is_digit(*p))) {
            perr_number(c, p, "Exponent indicator not followed by a digit");
            return NULL;
        }
        int64_t ev = 0;
        while (is_digit(*p)) {
            if (ev < 100000000) ev = ev * 10 + (*p - '0');
            p++;
        }
        e10 += eneg ? -ev : ev;
    }
    t->tag = JSON_DOUBLE;
    t->raw = (const char *)s;
    t->rlen = (uint32_t)(p - s);
    double d;
    if (LIKELY(nd <= 19 && m <= (1ull << 53) && e10 >= -22 && e10 <= 22)) {
        d = (double)m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        if (neg) d = -d;
    } else if (nd <= 19 && m == 0) {
        d = neg ? -0.0 : 0.0;
    } else {
        d = json_strtod_c((const char *)s, t->rlen);
    }
    t->u.d = d;
    return p;
}

/* ------------------------------------------------------------------------ */
/* The parser */

enum { P_OK, P_ERR, P_MORE };

static const uint32_t LIT_TRUE = 't' | 'r' << 8 | 'u' << 16 | (uint32_t)'e' << 24;
static const uint32_t LIT_NULL = 'n' | 'u' << 8 | 'l' << 16 | (uint32_t)'l' << 24;
static const uint32_t LIT_ALSE = 'a' | 'l' << 8 | 's' << 16 | (uint32_t)'e' << 24;

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static __attribute__((noinline)) json_val *tape_grow(json_doc *doc, json_val *t, json_val **tend)
{
    size_t used = (size_t)(t - doc->tape), cap = (size_t)(*tend - doc->tape);
    size_t ncap = cap * 2 + 64;
    json_val *nt;
    if (doc->tape_heap) {
        nt = xrealloc(doc->tape_heap, ncap * sizeof *nt);
    } else {
        nt = xmalloc(ncap * sizeof *nt);
        memcpy(nt, doc->tape, used * sizeof *nt);
    }
    doc->tape_heap = nt;
    doc->tape = nt;
    *tend = nt + ncap;
    return nt + used;
}

/*
 * Parses a window of n bytes. final: the window is the whole input (else the
 * caller retries with a larger one when P_MORE comes back). Only with
 * allow_trailing can a window be partial.
 */
static json_doc *parse_window(const char *text, size_t n, uint32_t max_depth, bool trailing, bool final,
                              json_err *err, int *status)
{
    size_t cap_nodes = n / 6 + 16;
    size_t hdr = (sizeof(json_doc) + 15) & ~(size_t)15;
    size_t tape_bytes = cap_nodes * sizeof(json_val);
    char *blk = xmalloc(hdr + tape_bytes + (n + PAD) + (n + PAD));
    json_doc *doc = (json_doc *)blk;
    doc->tape = (json_val *)(blk + hdr);
    doc->tape_heap = NULL;
    uint8_t *copy = (uint8_t *)blk + hdr + tape_bytes;
    memcpy(copy, text, n);
    memset(copy + n, 0, PAD);
    doc->text = (const char *)copy;
    doc->text_len = n;
    char *sd = (char *)copy + n + PAD; /* the string area */

    pctx cx = { .base = copy, .end = copy + n, .err = err, .err_off = 0, .failed = false };
    pctx *c = &cx;

    frame stack_local[64];
    frame *stack = stack_local;
    size_t stack_cap = ARRAY_LEN(stack_local);
    uint32_t depth = 0;

    json_val *t = doc->tape, *tend = doc->tape + cap_nodes;
    const uint8_t *p = skip_ws(copy);
    uint32_t ci = 0, cnt = 0; /* the open container and its member count */
    bool in_obj = false;

#define NEED_NODE()                                                                                \
    do {                                                                                           \
        if (UNLIKELY(t == tend)) t = tape_grow(doc, t, &tend);                                     \
    } while (0)

value:
    NEED_NODE();
    switch (*p) {
    case '"': {
        char *s0 = sd;
        const uint8_t *q = scan_string(c, p + 1, &sd);
        if (UNLIKELY(!q)) goto fail;
        size_t len = (size_t)(sd - s0) - 1;
        if (UNLIKELY(len > JV_MAX_LEN)) {
            perr_at(c, p, "String value length exceeds the maximum allowed");
            goto fail;
        }
        t->tag = JSON_STRING | (uint32_t)len << JV_TYPE_BITS;
        t->raw = (const char *)p;
        t->rlen = (uint32_t)(q - p);
        t->u.s = s0;
        t++;
        p = q;
        goto after_value;
    }
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8':
    case '9': {
        const uint8_t *q = scan_number(c, p, t);
        if (UNLIKELY(!q)) goto fail;
        t++;
        p = q;
        goto after_value;
    }
    case 't':
        if (LIKELY(load32(p) == LIT_TRUE && !(cclass[p[4]] & C_IDENT))) {
            t->tag = JSON_BOOL | 1u << JV_TYPE_BITS;
            t->rlen = 4;
            t->raw = (const char *)p;
            t->u.i = 1;
            t++;
            p += 4;
            goto after_value;
        }
        perr_token(c, p);
        goto fail;
    case 'f':
        if (LIKELY(load32(p + 1) == LIT_ALSE && !(cclass[p[5]] & C_IDENT))) {
            t->tag = JSON_BOOL;
            t->rlen = 5;
            t->raw = (const char *)p;
            t->u.i = 0;
            t++;
            p += 5;
            goto after_value;
        }
        perr_token(c, p);
        goto fail;
    case 'n':
        if (LIKELY(load32(p) == LIT_NULL && !(cclass[p[4]] & C_IDENT))) {
            t->tag = JSON_NULL;
            t->rlen = 4;
            t->raw = (const char *)p;
            t->u.i = 0;
            t++;
            p += 4;
            goto after_value;
        }
        perr_token(c, p);
        goto fail;
    case '{':
    case '[': {
        bool obj = *p == '{';
        if (UNLIKELY(depth >= max_depth)) {
            perr_at(c, p,
                    "Document nesting depth (%u) exceeds the maximum allowed (%u, from "
                    "`StreamReadConstraints.getMaxNestingDepth()`)",
                    depth + 1, max_depth);
            goto fail;
        }
        if (UNLIKELY(depth == stack_cap)) {
            size_t ncap = stack_cap * 4;
            if (stack == stack_local) {
                stack = xmalloc(ncap * sizeof *stack);
                memcpy(stack, stack_local, sizeof stack_local);
            } else
                stack = xrealloc(stack, ncap * sizeof *stack);
            stack_cap = ncap;
        }
        stack[depth].ci = ci;
        stack[depth].cnt = cnt;
        depth++;
        ci = (uint32_t)(t - doc->tape);
        cnt = 0;
        in_obj = obj;
        t->tag = obj ? JSON_OBJECT : JSON_ARRAY;
        t->raw = (const char *)p;
        t++;
        p = skip_ws(p + 1);
        if (obj) {
            if (*p == '}') goto close;
            if (LIKELY(*p == '"')) goto obj_key;
            perr_unexpected(c, p, "was expecting double-quote to start field name",
                            ": expected close marker for Object");
            goto fail;
        }
        if (*p == ']') goto close;
        goto value;
    }
    default:
        perr_value(c, p, depth, in_obj);
        goto fail;
    }

obj_key: {
    /* p at the opening quote of a member name */
    NEED_NODE();
    char *s0 = sd;
    const uint8_t *q = scan_string(c, p + 1, &sd);
    if (UNLIKELY(!q)) goto fail;
    size_t len = (size_t)(sd - s0) - 1;
    if (UNLIKELY(len > JV_MAX_LEN)) {
        perr_at(c, p, "String value length exceeds the maximum allowed");
        goto fail;
    }
    t->tag = JSON_STRING | (uint32_t)len << JV_TYPE_BITS;
    t->raw = (const char *)p;
    t->rlen = (uint32_t)(q - p);
    t->u.s = s0;
    t++;
    p = q;
    if (LIKELY(*p == ':'))
        p++;
    else {
        p = skip_ws(p);
        if (UNLIKELY(*p != ':')) {
            perr_unexpected(c, p, "was expecting a colon to separate field name and value",
                            " within/between Object entries");
            goto fail;
        }
        p++;
    }
    p = skip_ws(p);
    goto value;
}

after_value:
    if (UNLIKELY(depth == 0)) goto done;
    cnt++;
    if (in_obj) {
        if (LIKELY(*p == ','))
            p++;
        else {
            p = skip_ws(p);
            if (*p == '}') goto close;
            if (UNLIKELY(*p != ',')) {
                perr_unexpected(c, p, "was expecting comma to separate Object entries",
                                ": expected close marker for Object");
                goto fail;
            }
            p++;
        }
        p = skip_ws(p);
        if (LIKELY(*p == '"')) goto obj_key;
        perr_unexpected(c, p, "was expecting double-quote to start field name",
                        ": expected close marker for Object");
        goto fail;
    } else {
        if (LIKELY(*p == ','))
            p++;
        else {
            p = skip_ws(p);
            if (*p == ']') goto close;
            if (UNLIKELY(*p != ',')) {
                perr_unexpected(c, p, "was expecting comma to separate Array entries",
                                ": expected close marker for Array");
                goto fail;
            }
            p++;
        }
        p = skip_ws(p);
        goto value;
    }

close: {
    /* p at the closing bracket of the container at ci */
    if (UNLIKELY(cnt > JV_MAX_LEN)) {
        perr_at(c, p, "Container has too many members");
        goto fail;
    }
    json_val *cv = doc->tape + ci;
    p++;
    cv->tag |= cnt << JV_TYPE_BITS;
    cv->rlen = (uint32_t)((const char *)p - cv->raw);
    cv->u.size = (uint64_t)(t - cv);
    depth--;
    ci = stack[depth].ci;
    cnt = stack[depth].cnt;
    if (depth) in_obj = jv_type(doc->tape + ci) == JSON_OBJECT;
    goto after_value;
}

done: {
    size_t vend = (size_t)(p - copy);
    if (trailing) {
        if (!final && vend >= n) {
            *status = P_MORE;
            goto out_fail;
        }
        if (err) {
            memset(err, 0, sizeof *err);
            err->offset = vend;
            err->line = 1;
            err->col = 1;
        }
    } else {
        p = skip_ws(p);
        if (p < c->end || *p != 0) {
            perr_unexpected(c, p, "was expecting end-of-input", "");
            goto fail;
        }
    }
    memset(sd, 0, 32); /* define the bytes the writer's 16-byte loads may see */
    doc->nodes = (size_t)(t - doc->tape);
    if (stack != stack_local) free(stack);
    *status = P_OK;
    return doc;
}

fail:
    if (!final && c->err_off >= n)
        *status = P_MORE;
    else
        *status = P_ERR;
out_fail:
    if (stack != stack_local) free(stack);
    free(doc->tape_heap);
    free(blk);
    return NULL;
#undef NEED_NODE
}

/* With allow_trailing, the reader copies and parses a window of the input
 * that ends just after a newline (or is all of it): for NDJSON that is the
 * line. No token spans a newline, so within such a window only running out
 * of input (an error at its very end) can be the window's fault; then the
 * window grows fourfold, to the next newline, and the parse starts over. */
static size_t next_window(const char *text, size_t len, size_t from)
{
    if (from >= len) return len;
    const char *nl = memchr(text + from, '\n', len - from);
    return nl ? (size_t)(nl - text) + 1 : len;
}

json_doc *json_parse(const char *text, size_t len, const json_parse_opts *opts, json_err *err)
{
    uint32_t max_depth = opts && opts->max_depth ? opts->max_depth : JSON_DEFAULT_MAX_DEPTH;
    bool trailing = opts && opts->allow_trailing;
    if (err) {
        err->offset = 0;
        err->line = 1;
        err->col = 1;
        err->msg[0] = 0;
    }
    if (!text) {
        text = "";
        len = 0;
    }
    size_t w = len;
    if (trailing) {
        size_t first = 0;
        while (first < len && (uint8_t)text[first] <= ' ' && (WS_MASK >> (uint8_t)text[first] & 1)) first++;
        w = next_window(text, len, first);
    }
    for (;;) {
        if (w > JSON_MAX_INPUT) {
            if (err) snprintf(err->msg, sizeof err->msg, "Document too large (more than %zu bytes)", JSON_MAX_INPUT);
            return NULL;
        }
        int status;
        json_doc *doc = parse_window(text, w, max_depth, trailing, w == len, err, &status);
        if (status != P_MORE) return doc;
        w = next_window(text, len, w < 1024 ? 4096 : w * 4);
    }
}

void json_doc_free(json_doc *doc)
{
    if (!doc) return;
    free(doc->tape_heap);
    free(doc);
}

const json_val *json_doc_root(const json_doc *doc)
{
    return doc ? doc->tape : NULL;
}

/* ------------------------------------------------------------------------ */
/* Accessors */

json_type json_type_of(const json_val *v)
{
    return v ? jv_type(v) : JSON_NULL;
}

const char *json_type_name(json_type t)
{
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "boolean";
    case JSON_INT:
    case JSON_BIGINT:
    case JSON_DOUBLE: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
    }
    return "unknown";
}

bool json_is_number(const json_val *v)
{
    if (!v) return false;
    json_type t = jv_type(v);
    return t == JSON_INT || t == JSON_BIGINT || t == JSON_DOUBLE;
}

bool json_bool(const json_val *v)
{
    return v && jv_type(v) == JSON_BOOL && jv_len(v);
}

int64_t json_int(const json_val *v)
{
    if (!v) return 0;
    switch (jv_type(v)) {
    case JSON_INT: return v->u.i;
    case JSON_DOUBLE: {
        double d = v->u.d;
        if (d != d) return 0;
        if (d >= 9223372036854775807.0) return INT64_MAX;
        if (d <= -9223372036854775808.0) return INT64_MIN;
        return (int64_t)d;
    }
    default: return 0;
    }
}

double json_num(const json_val *v)
{
    if (!v) return 0;
    switch (jv_type(v)) {
    case JSON_INT: return (double)v->u.i;
    case JSON_DOUBLE:
    case JSON_BIGINT: return v->u.d;
    default: return 0;
    }
}

const char *json_num_text(const json_val *v, size_t *len)
{
    if (!v || jv_type(v) != JSON_BIGINT) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = v->rlen;
    return v->raw;
}

const char *json_str(const json_val *v, size_t *len)
{
    if (!v || jv_type(v) != JSON_STRING) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = jv_len(v);
    return v->u.s;
}

size_t json_len(const json_val *v)
{
    return v && jv_is_container(v) ? jv_len(v) : 0;
}

const json_val *json_arr_get(const json_val *arr, size_t i)
{
    if (!arr || jv_type(arr) != JSON_ARRAY || i >= jv_len(arr)) return NULL;
    /* all-scalar arrays (the subtree is one node per element) index directly */
    if (arr->u.size == (uint64_t)jv_len(arr) + 1) return arr + 1 + i;
    const json_val *v = arr + 1;
    while (i--) v = jv_next(v);
    return v;
}

const json_val *json_obj_getn(const json_val *obj, const char *key, size_t keylen)
{
    if (!obj || jv_type(obj) != JSON_OBJECT || !key) return NULL;
    const json_val *found = NULL;
    const json_val *k = obj + 1;
    for (uint32_t i = jv_len(obj); i; i--) {
        const json_val *v = k + 1;
        if (jv_len(k) == keylen && !memcmp(k->u.s, key, keylen)) found = v;
        k = jv_next(v);
    }
    return found;
}

const json_val *json_obj_get(const json_val *obj, const char *key)
{
    return key ? json_obj_getn(obj, key, strlen(key)) : NULL;
}

json_iter json_iter_begin(const json_val *v)
{
    json_iter it = { NULL, 0, false };
    if (v && jv_is_container(v)) {
        it.cur = v + 1;
        it.left = jv_len(v);
        it.object = jv_type(v) == JSON_OBJECT;
    }
    return it;
}

const json_val *json_iter_next(json_iter *it, const char **key, size_t *keylen)
{
    if (!it->left) {
        if (key) *key = NULL;
        if (keylen) *keylen = 0;
        return NULL;
    }
    const json_val *v = it->cur;
    if (it->object) {
        if (key) *key = v->u.s;
        if (keylen) *keylen = jv_len(v);
        v++;
    } else {
        if (key) *key = NULL;
        if (keylen) *keylen = 0;
    }
    it->cur = jv_next(v);
    it->left--;
    return v;
}

const json_val *json_path(const json_val *root, const char *dotted)
{
    if (!root || !dotted) return NULL;
    const json_val *v = root;
    const char *s = dotted;
    if (!*s) return v;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        const json_val *next = NULL;
        if (jv_type(v) == JSON_OBJECT) {
            next = json_obj_getn(v, s, n);
        } else if (jv_type(v) == JSON_ARRAY && n > 0 && n <= 18) {
            size_t idx = 0;
            bool digits = true;
            for (size_t i = 0; i < n; i++) {
                if (!is_digit((uint8_t)s[i])) {
                    digits = false;
                    break;
                }
                idx = idx * 10 + (size_t)(s[i] - '0');
            }
            if (digits) next = json_arr_get(v, idx);
        }
        if (!next) return NULL;
        v = next;
        if (!dot) return v;
        s = dot + 1;
    }
}

const char *json_raw(const json_doc *doc, const json_val *v, size_t *len)
{
    if (!v) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = v->rlen;
    return v->raw;
}

const char *json_token_name(const json_val *v)
{
    switch (json_type_of(v)) {
    case JSON_OBJECT: return "START_OBJECT";
    case JSON_ARRAY: return "START_ARRAY";
    case JSON_STRING: return "VALUE_STRING";
    case JSON_BOOL: return "VALUE_BOOLEAN";
    case JSON_INT:
    case JSON_BIGINT:
    case JSON_DOUBLE: return "VALUE_NUMBER";
    case JSON_NULL: break;
    }
    return "VALUE_NULL";
}

static bool json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void json_location(const json_doc *doc, const json_val *v, bool key, uint32_t *line, uint32_t *col)
{
    *line = 1;
    *col = 1;
    if (!doc || !v) return;
    size_t n;
    const char *base = json_raw(doc, json_doc_root(doc), &n);
    const char *p = json_raw(doc, v, &n);
    if (!base || !p || p < base) return;
    if (key) {
        /* back over `"key" :` to the member name's opening quote */
        const char *q = p - 1;
        while (q > base && json_space(*q)) q--;
        if (q > base && *q == ':') q--;
        while (q > base && json_space(*q)) q--;
        if (q > base && *q == '"') {
            q--;
            while (q > base && !(*q == '"' && q[-1] != '\\')) q--;
            p = q;
        }
    }
    uint32_t l = 1, c = 1;
    for (const char *q = base; q < p; q++) {
        if (*q == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}
