/*
 * fieldq.c — field-level queries as each Elasticsearch field type builds
 * them: term (termQuery), range (rangeQuery), term unions for multi-term
 * queries, exists, field pattern expansion, and date math.
 */
#include "search/search_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Shard-level errors                                                       */

doc_iter *shard_query_error(shard_searcher *s, es_err *err, const char *fmt, ...)
{
    if (es_err_isset(err)) return NULL;
    va_list ap;
    va_start(ap, fmt);
    buf b = { 0 };
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s", b.p);
    err->type_name = "query_shard_exception";
    buf_free(&b);
    index_view *v = shard_searcher_view(s);
    es_err_extra(err, "index_uuid", v->uuid, false);
    es_err_extra(err, "index", v->name, false);
    return NULL;
}

static doc_iter *create_error(shard_searcher *s, es_err *err, const char *cause_type, const char *why)
{
    shard_query_error(s, err, "failed to create query: %s", why);
    if (cause_type) {
        es_err *c = xcalloc(1, sizeof *c);
        es_err_set(c, ES_ILLEGAL_ARGUMENT, "%s", why);
        if (strcmp(cause_type, "illegal_argument_exception")) c->type_name = cause_type;
        es_err_cause(err, c);
    }
    return NULL;
}

/* ======================================================================== */
/* Values of a query as typed terms                                         */

static bool is_long_type(field_type t)
{
    return t == FT_LONG || t == FT_INTEGER || t == FT_SHORT || t == FT_BYTE;
}

static bool is_double_type(field_type t)
{
    return t == FT_DOUBLE || t == FT_FLOAT || t == FT_HALF_FLOAT;
}

static bool is_keyword_type(field_type t)
{
    return t == FT_KEYWORD || t == FT_WILDCARD || t == FT_CONSTANT_KEYWORD || t == FT_FLATTENED;
}

static bool is_text_type(field_type t) { return t == FT_TEXT || t == FT_MATCH_ONLY_TEXT; }

/* The value as text: strings as is, numbers as written. */
static const char *value_text(const json_val *v, const char *text, char *tmp, size_t tmpn)
{
    if (text) return text;
    if (!v) return NULL;
    size_t n;
    switch (json_type_of(v)) {
    case JSON_STRING: return json_str(v, &n);
    case JSON_BOOL: return json_bool(v) ? "true" : "false";
    case JSON_INT: snprintf(tmp, tmpn, "%lld", (long long)json_int(v)); return tmp;
    case JSON_BIGINT: { const char *d = json_num_text(v, &n); snprintf(tmp, tmpn, "%.*s", (int)n, d); return tmp; }
    case JSON_DOUBLE: json_fmt_double(json_num(v), tmp); return tmp;
    default: return NULL;
    }
}

/* A number from a value (JSON number or numeric string). */
static bool value_double(const json_val *v, const char *text, double *out)
{
    if (!text && v && json_is_number(v)) {
        *out = json_num(v);
        return true;
    }
    char tmp[64];
    const char *s = value_text(v, text, tmp, sizeof tmp);
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    while (*end == ' ') end++;
    if (*end || end == s) return false;
    *out = d;
    return true;
}

static void long_range(field_type t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case FT_BYTE: *lo = -128; *hi = 127; break;
    case FT_SHORT: *lo = -32768; *hi = 32767; break;
    case FT_INTEGER: *lo = INT32_MIN; *hi = INT32_MAX; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

static const char *type_word(field_type t)
{
    switch (t) {
    case FT_BYTE: return "byte";
    case FT_SHORT: return "short";
    case FT_INTEGER: return "integer";
    default: return "long";
    }
}

/* ip: "1.2.3.4" or CIDR "1.2.3.0/24" → [lo, hi] 16-byte bounds. */
static bool ip_or_cidr(const char *s, uint8_t lo[16], uint8_t hi[16], bool *is_range)
{
    const char *slash = strchr(s, '/');
    *is_range = false;
    if (!slash) {
        if (!ip_parse(s, strlen(s), lo, NULL)) return false;
        memcpy(hi, lo, 16);
        return true;
    }
    if (!ip_parse(s, (size_t)(slash - s), lo, NULL)) return false;
    char *end;
    long bits = strtol(slash + 1, &end, 10);
    if (*end || end == slash + 1) return false;
    bool v4 = !memchr(s, ':', (size_t)(slash - s));
    long total = v4 ? bits + 96 : bits;
    if (bits < 0 || total > 128 || (v4 && bits > 32)) return false;
    memcpy(hi, lo, 16);
    for (int i = 0; i < 128; i++) {
        if (i < total) continue;
        lo[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
        hi[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    }
    *is_range = true;
    return true;
}

int field_value_term(shard_searcher *s, const mfield *f, const json_val *value, const char *text, uint8_t *tb,
                     const uint8_t **term, size_t *len, es_err *err)
{
    char tmp[64];
    field_type t = f->type;
    if (is_long_type(t) || t == FT_DATE || t == FT_DATE_NANOS || t == FT_SCALED_FLOAT || t == FT_UNSIGNED_LONG) {
        if (t == FT_DATE || t == FT_DATE_NANOS) {
            const char *str = value_text(value, text, tmp, sizeof tmp);
            if (!str) return 0;
            int64_t ms;
            if (date_math_parse(str, strlen(str), f->format, NULL, now_millis(), false, &ms, err) < 0) return -1;
            int64_t v = t == FT_DATE_NANOS ? ms * 1000000 : ms;
            index_term_long(v, tb);
        } else {
            double d;
            if (!value_double(value, text, &d)) {
                const char *str = value_text(value, text, tmp, sizeof tmp);
                snprintf(tmp, sizeof tmp, "For input string: \"%s\"", str ? str : "");
                create_error(s, err, "number_format_exception", tmp);
                return -1;
            }
            if (t == FT_SCALED_FLOAT) {
                index_term_long((int64_t)llround(d * f->scaling_factor), tb);
            } else if (t == FT_UNSIGNED_LONG) {
                if (d != floor(d) || d < 0) return 0;
                uint64_t u = (uint64_t)d;
                for (int i = 7; i >= 0; i--) { tb[i] = (uint8_t)u; u >>= 8; }
            } else {
                if (d != floor(d)) return 0; /* "has a decimal part": no match */
                int64_t lo, hi;
                long_range(t, &lo, &hi);
                if (d < (double)lo || d > (double)hi) {
                    const char *str = value_text(value, text, tmp, sizeof tmp);
                    char why[160];
                    snprintf(why, sizeof why, "Value [%s] is out of range for %s %s", str ? str : "",
                             t == FT_INTEGER ? "an" : "a", type_word(t));
                    create_error(s, err, "illegal_argument_exception", why);
                    return -1;
                }
                int64_t l = !text && value && json_type_of(value) == JSON_INT ? json_int(value) : (int64_t)d;
                index_term_long(l, tb);
            }
        }
        *term = tb;
        *len = 8;
        return 1;
    }
    if (is_double_type(t)) {
        double d;
        if (!value_double(value, text, &d)) {
            const char *str = value_text(value, text, tmp, sizeof tmp);
            snprintf(tmp, sizeof tmp, "For input string: \"%s\"", str ? str : "");
            create_error(s, err, "number_format_exception", tmp);
            return -1;
        }
        if (t == FT_FLOAT) d = (float)d;
        else if (t == FT_HALF_FLOAT) d = (float)(_Float16)(float)d;
        index_term_double(d, tb);
        *term = tb;
        *len = 8;
        return 1;
    }
    if (t == FT_BOOLEAN) {
        const char *str = value_text(value, text, tmp, sizeof tmp);
        if (!str) return 0;
        if (!strcmp(str, "true")) tb[0] = 'T';
        else if (!strcmp(str, "false") || !*str) tb[0] = 'F';
        else {
            char why[160];
            snprintf(why, sizeof why, "Can't parse boolean value [%s], expected [true] or [false]", str);
            create_error(s, err, "illegal_argument_exception", why);
            return -1;
        }
        *term = tb;
        *len = 1;
        return 1;
    }
    if (t == FT_IP) {
        const char *str = value_text(value, text, tmp, sizeof tmp);
        uint8_t hi[16];
        bool range;
        if (!str || !ip_or_cidr(str, tb, hi, &range) || range) {
            char why[160];
            snprintf(why, sizeof why, "'%s' is not an IP string literal.", str ? str : "");
            create_error(s, err, "illegal_argument_exception", why);
            return -1;
        }
        *term = tb;
        *len = 16;
        return 1;
    }
    /* keyword-like and text: the bytes (keyword: normalized) */
    const char *str = value_text(value, text, tmp, sizeof tmp);
    if (!str) return 0;
    size_t n = strlen(str);
    if (!text && value && json_type_of(value) == JSON_STRING) json_str(value, &n);
    if (is_keyword_type(t)) {
        arena a = { 0 };
        index_token *toks;
        size_t nt;
        if (index_analyze(shard_searcher_analysis(s), f, true, str, n, 0, &a, &toks, &nt, NULL, err) < 0) {
            arena_free(&a);
            return -1;
        }
        if (nt == 1 && toks[0].len <= 1024) {
            memcpy(tb, toks[0].term, toks[0].len);
            *term = tb;
            *len = toks[0].len;
            arena_free(&a);
            return 1;
        }
        arena_free(&a);
        if (n > 1024) return 0;
    }
    if (n > 1024) return 0;
    memcpy(tb, str, n);
    *term = tb;
    *len = n;
    return 1;
}

static bool scored_terms(field_type t)
{
    return is_text_type(t) || is_keyword_type(t) || t == FT_BOOLEAN;
}

doc_iter *field_term_iter(shard_searcher *s, const mfield *f, const json_val *value, const char *text, float boost,
                          unsigned flags, bool lenient, es_err *err)
{
    if (!f->index) return doc_iter_empty(); /* doc-values-only term queries: not supported yet */
    if (f->type == FT_IP) {
        char tmp[64];
        const char *str = value_text(value, text, tmp, sizeof tmp);
        uint8_t lo[16], hi[16];
        bool range;
        if (str && ip_or_cidr(str, lo, hi, &range) && range)
            return doc_iter_const(terms_union_iter(s, f->path, lo, 16, false, hi, 16, false, NULL, 0, 1.0f, err),
                                  (flags & QI_SCORES) ? boost : 0);
    }
    if (f->type == FT_DATE || f->type == FT_DATE_NANOS) {
        range_bounds rb = { value, value, true, true, NULL, NULL, now_millis() };
        char tmp[64];
        const char *str = value_text(value, text, tmp, sizeof tmp);
        if (text || !str) {
            /* text given: a JSON string value standing in for it */
            doc_iter *it = NULL;
            json_doc *d = NULL;
            buf b = { 0 };
            json_escape(&b, str ? str : "", str ? strlen(str) : 0);
            d = json_parse(b.p, b.len, NULL, NULL);
            buf_free(&b);
            if (d) {
                range_bounds r2 = rb;
                r2.lo = r2.hi = json_doc_root(d);
                it = field_range_iter(s, f, &r2, (flags & QI_SCORES) ? boost : 0, err);
                json_doc_free(d);
            }
            if (!it && lenient) {
                es_err_free(err);
                return doc_iter_empty();
            }
            return it;
        }
        doc_iter *it = field_range_iter(s, f, &rb, (flags & QI_SCORES) ? boost : 0, err);
        if (!it && lenient) {
            es_err_free(err);
            return doc_iter_empty();
        }
        return it;
    }
    uint8_t tb[1100];
    const uint8_t *term;
    size_t len;
    int rc = field_value_term(s, f, value, text, tb, &term, &len, err);
    if (rc < 0) {
        if (lenient) {
            es_err_free(err);
            return doc_iter_empty();
        }
        return NULL;
    }
    if (rc == 0) return doc_iter_empty();
    if (scored_terms(f->type)) {
        postings_opts po = { false, (flags & QI_SCORES) != 0, boost };
        return postings_iter(s, f->path, term, len, &po, err);
    }
    postings_opts po = { false, false, 1.0f };
    doc_iter *it = postings_iter(s, f->path, term, len, &po, err);
    if (!it) return NULL;
    return doc_iter_const(it, (flags & QI_SCORES) ? boost : 0);
}

/* ======================================================================== */
/* Term unions                                                              */

typedef struct union_ctx {
    shard_searcher *s;
    const char *field;
    docset ds;
    size_t nterms;
} union_ctx;

static int union_visit(void *c, const void *term, size_t len, const term_entry *te, es_err *err)
{
    union_ctx *u = c;
    u->nterms++;
    return docset_add_term(&u->ds, u->s, u->field, term, len, te, err);
}

doc_iter *terms_union_iter(shard_searcher *s, const char *field, const void *lo, size_t lo_len, bool lo_excl,
                           const void *hi, size_t hi_len, bool hi_excl, const void *prefix, size_t prefix_len,
                           float boost, es_err *err)
{
    union_ctx u = { s, field, { 0 }, 0 };
    docset_init(&u.ds, shard_searcher_max_doc(s));
    if (terms_visit_entries(s, field, lo, lo_len, lo_excl, hi, hi_len, hi_excl, prefix, prefix_len, union_visit, &u,
                            err) < 0) {
        docset_free(&u.ds);
        return NULL;
    }
    return docset_iter(&u.ds, boost);
}

doc_iter *field_exists_iter(shard_searcher *s, const char *field, float boost, es_err *err)
{
    postings_opts po = { false, false, 1.0f };
    doc_iter *it = postings_iter(s, "_field_names", field, strlen(field), &po, err);
    if (!it) return NULL;
    return doc_iter_const(it, boost);
}

/* ======================================================================== */
/* Ranges                                                                   */

static doc_iter *range_error(shard_searcher *s, es_err *err, const char *why)
{
    return create_error(s, err, NULL, why);
}

/* A long bound from a double, as NumberType.LONG.rangeQuery rounds them. */
static bool long_bound(double d, bool lower, bool incl, int64_t *out)
{
    if (lower) {
        double x = incl ? ceil(d) : floor(d) + 1;
        if (x > 9.2233720368547758e18) return false;
        *out = x < -9.2233720368547758e18 ? INT64_MIN : (int64_t)x;
    } else {
        double x = incl ? floor(d) : ceil(d) - 1;
        if (x < -9.2233720368547758e18) return false;
        *out = x >= 9.2233720368547758e18 ? INT64_MAX : (int64_t)x;
    }
    return true;
}

doc_iter *field_range_iter(shard_searcher *s, const mfield *f, const range_bounds *rb, float boost, es_err *err)
{
    field_type t = f->type;
    uint8_t lo[1100], hi[1100];
    size_t lo_len = 0, hi_len = 0;
    bool has_lo = rb->lo && !json_is_null(rb->lo), has_hi = rb->hi && !json_is_null(rb->hi);
    char tmp[128];
    if (is_long_type(t) || t == FT_SCALED_FLOAT || t == FT_DATE || t == FT_DATE_NANOS) {
        int64_t l = INT64_MIN, h = INT64_MAX;
        if (t == FT_DATE || t == FT_DATE_NANOS) {
            date_format *own = NULL;
            const date_format *fmt = f->format;
            if (rb->format) {
                es_err fe = { 0 };
                own = date_format_compile(rb->format, &fe);
                if (!own) {
                    doc_iter *r = range_error(s, err, fe.reason);
                    es_err_free(&fe);
                    return r;
                }
                fmt = own;
            }
            int rc = 0;
            for (int side = 0; side < 2 && rc == 0; side++) {
                const json_val *v = side ? rb->hi : rb->lo;
                if (!(side ? has_hi : has_lo)) continue;
                const char *str = value_text(v, NULL, tmp, sizeof tmp);
                if (!str) { rc = -1; range_error(s, err, "invalid date"); break; }
                bool incl = side ? rb->hi_incl : rb->lo_incl;
                bool round_up = side ? incl : !incl;
                int64_t ms;
                if (date_math_parse(str, strlen(str), fmt, rb->time_zone, rb->now_ms, round_up, &ms, err) < 0) {
                    rc = -1;
                    break;
                }
                int64_t v64 = t == FT_DATE_NANOS ? ms * 1000000 : ms;
                if (side == 0) l = incl ? v64 : v64 + 1;
                else h = incl ? v64 : v64 - 1;
            }
            date_format_free(own);
            if (rc < 0) {
                if (es_err_isset(err) && !strstr(es_err_type_name(err), "query_shard")) {
                    /* wrap parse errors as Elasticsearch's shard failure */
                    es_err inner = *err;
                    memset(err, 0, sizeof *err);
                    shard_query_error(s, err, "failed to create query: %s", inner.reason);
                    es_err *c = xcalloc(1, sizeof *c);
                    *c = inner;
                    es_err_cause(err, c);
                }
                return NULL;
            }
        } else {
            for (int side = 0; side < 2; side++) {
                const json_val *v = side ? rb->hi : rb->lo;
                if (!(side ? has_hi : has_lo)) continue;
                double d;
                if (!value_double(v, NULL, &d)) {
                    const char *str = value_text(v, NULL, tmp, sizeof tmp);
                    char why[200];
                    snprintf(why, sizeof why, "For input string: \"%s\"", str ? str : "");
                    return create_error(s, err, "number_format_exception", why);
                }
                if (t == FT_SCALED_FLOAT) d *= f->scaling_factor;
                int64_t x;
                bool incl = side ? rb->hi_incl : rb->lo_incl;
                if (t == FT_SCALED_FLOAT) {
                    /* ScaledFloat: bounds rounded like doubles then scaled */
                    double r = side ? floor(d) : ceil(d);
                    if (!incl && r == d) r = side ? r - 1 : r + 1;
                    x = (int64_t)r;
                } else if (!long_bound(d, side == 0, incl, &x)) {
                    return doc_iter_empty();
                }
                if (side == 0) l = x;
                else h = x;
            }
            int64_t tl, th;
            long_range(t, &tl, &th);
            if (t != FT_SCALED_FLOAT) {
                if (l < tl) l = tl;
                if (h > th) h = th;
            }
        }
        if (l > h) return doc_iter_empty();
        index_term_long(l, lo);
        index_term_long(h, hi);
        return terms_union_iter(s, f->path, lo, 8, false, hi, 8, false, NULL, 0, boost, err);
    }
    if (is_double_type(t)) {
        double l = -INFINITY, h = INFINITY;
        for (int side = 0; side < 2; side++) {
            const json_val *v = side ? rb->hi : rb->lo;
            if (!(side ? has_hi : has_lo)) continue;
            double d;
            if (!value_double(v, NULL, &d)) {
                const char *str = value_text(v, NULL, tmp, sizeof tmp);
                char why[200];
                snprintf(why, sizeof why, "For input string: \"%s\"", str ? str : "");
                return create_error(s, err, "number_format_exception", why);
            }
            bool incl = side ? rb->hi_incl : rb->lo_incl;
            if (t == FT_FLOAT || t == FT_HALF_FLOAT) {
                float x = (float)d;
                if (t == FT_HALF_FLOAT) x = (float)(_Float16)x;
                if (!incl) x = side ? nextafterf(x, -INFINITY) : nextafterf(x, INFINITY);
                d = x;
            } else if (!incl) {
                d = side ? nextafter(d, -INFINITY) : nextafter(d, INFINITY);
            }
            if (side == 0) l = d;
            else h = d;
        }
        if (l > h) return doc_iter_empty();
        index_term_double(l, lo);
        index_term_double(h, hi);
        return terms_union_iter(s, f->path, lo, 8, false, hi, 8, false, NULL, 0, boost, err);
    }
    if (t == FT_UNSIGNED_LONG) {
        uint64_t l = 0, h = UINT64_MAX;
        for (int side = 0; side < 2; side++) {
            const json_val *v = side ? rb->hi : rb->lo;
            if (!(side ? has_hi : has_lo)) continue;
            double d;
            if (!value_double(v, NULL, &d)) return range_error(s, err, "invalid unsigned_long bound");
            bool incl = side ? rb->hi_incl : rb->lo_incl;
            double x = side ? (incl ? floor(d) : ceil(d) - 1) : (incl ? ceil(d) : floor(d) + 1);
            if (side == 0) l = x < 0 ? 0 : (uint64_t)x;
            else {
                if (x < 0) return doc_iter_empty();
                h = x >= 1.8446744073709552e19 ? UINT64_MAX : (uint64_t)x;
            }
        }
        if (l > h) return doc_iter_empty();
        for (int i = 7; i >= 0; i--) { lo[i] = (uint8_t)l; l >>= 8; hi[i] = (uint8_t)h; h >>= 8; }
        return terms_union_iter(s, f->path, lo, 8, false, hi, 8, false, NULL, 0, boost, err);
    }
    if (t == FT_IP) {
        bool li = rb->lo_incl, hiincl = rb->hi_incl;
        memset(lo, 0, 16);
        memset(hi, 0xff, 16);
        for (int side = 0; side < 2; side++) {
            const json_val *v = side ? rb->hi : rb->lo;
            if (!(side ? has_hi : has_lo)) continue;
            const char *str = value_text(v, NULL, tmp, sizeof tmp);
            uint8_t a[16], b[16];
            bool range;
            if (!str || !ip_or_cidr(str, a, b, &range)) {
                char why[160];
                snprintf(why, sizeof why, "'%s' is not an IP string literal.", str ? str : "");
                return create_error(s, err, "illegal_argument_exception", why);
            }
            memcpy(side ? hi : lo, side ? b : a, 16);
        }
        return terms_union_iter(s, f->path, lo, 16, !li && has_lo, hi, 16, !hiincl && has_hi, NULL, 0, boost, err);
    }
    if (t == FT_BOOLEAN) {
        bool incl[2] = { rb->lo_incl, rb->hi_incl };
        uint8_t b[2] = { 'F', 'T' };
        for (int side = 0; side < 2; side++) {
            const json_val *v = side ? rb->hi : rb->lo;
            if (!(side ? has_hi : has_lo)) continue;
            const char *str = value_text(v, NULL, tmp, sizeof tmp);
            if (str && !strcmp(str, "true")) b[side] = 'T';
            else if (str && (!strcmp(str, "false") || !*str)) b[side] = 'F';
            else return range_error(s, err, "Can't parse boolean value");
        }
        return terms_union_iter(s, f->path, has_lo ? &b[0] : NULL, 1, has_lo && !incl[0], has_hi ? &b[1] : NULL, 1,
                                has_hi && !incl[1], NULL, 0, boost, err);
    }
    /* keyword / text: term range on bytes */
    const char *ls = has_lo ? value_text(rb->lo, NULL, tmp, sizeof tmp) : NULL;
    if (ls) {
        lo_len = strlen(ls);
        if (lo_len > 1024) lo_len = 1024;
        memcpy(lo, ls, lo_len);
    }
    char tmp2[128];
    const char *hs = has_hi ? value_text(rb->hi, NULL, tmp2, sizeof tmp2) : NULL;
    if (hs) {
        hi_len = strlen(hs);
        if (hi_len > 1024) hi_len = 1024;
        memcpy(hi, hs, hi_len);
    }
    return terms_union_iter(s, f->path, ls ? lo : NULL, lo_len, ls && !rb->lo_incl, hs ? hi : NULL, hi_len,
                            hs && !rb->hi_incl, NULL, 0, boost, err);
}

/* ======================================================================== */
/* Field patterns                                                           */

static void collect(const mfield *f, const char *pattern, const mfield ***out, size_t *n, size_t *cap, arena *mem)
{
    if (!field_type_is_object(f->type) && indices_simple_match(pattern, f->path)) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            const mfield **nv = arena_alloc(mem, nc * sizeof *nv);
            if (*n) memcpy(nv, *out, *n * sizeof *nv);
            *out = nv;
            *cap = nc;
        }
        (*out)[(*n)++] = f;
    }
    for (size_t i = 0; i < f->n_props; i++) collect(f->props[i], pattern, out, n, cap, mem);
    for (size_t i = 0; i < f->n_fields; i++) collect(f->fields[i], pattern, out, n, cap, mem);
}

size_t expand_fields(shard_searcher *s, const char *pattern, const mfield ***out, arena *mem)
{
    *out = NULL;
    const mapping *m = shard_searcher_view(s)->mapping;
    if (!strchr(pattern, '*')) {
        const mfield *f = mapping_field(m, pattern);
        if (!f) return 0;
        if (field_type_is_object(f->type)) {
            size_t n = 0, cap = 0;
            char *p = xasprintf("%s.*", pattern);
            collect(mapping_root(m), p, out, &n, &cap, mem);
            free(p);
            return n;
        }
        *out = arena_alloc(mem, sizeof **out);
        (*out)[0] = f;
        return 1;
    }
    size_t n = 0, cap = 0;
    const mfield *root = mapping_root(m);
    for (size_t i = 0; i < root->n_props; i++) collect(root->props[i], pattern, out, &n, &cap, mem);
    return n;
}

/* ======================================================================== */
/* Date math                                                                */

static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static unsigned mdays(int64_t y, unsigned m)
{
    static const unsigned dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b) && ((a < 0) != (b < 0))) q--;
    return q;
}

/* Fixed offsets only ("+01:00", "-0530", "Z", "UTC"); named zones other than UTC/GMT are refused. */
static bool tz_offset(const char *tz, int64_t *off_ms)
{
    *off_ms = 0;
    if (!tz || !*tz || !strcmp(tz, "Z") || !strcmp(tz, "UTC") || !strcmp(tz, "GMT") || !strcmp(tz, "Etc/UTC"))
        return true;
    const char *p = tz;
    if (!strncmp(p, "UTC", 3) || !strncmp(p, "GMT", 3)) p += 3;
    int sign = *p == '-' ? -1 : *p == '+' ? 1 : 0;
    if (!sign) return false;
    p++;
    int h = 0, m = 0;
    if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
        h = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
    } else if (isdigit((unsigned char)p[0])) {
        h = p[0] - '0';
        p++;
    } else {
        return false;
    }
    if (*p == ':') p++;
    if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1])) {
        m = (p[0] - '0') * 10 + (p[1] - '0');
        p += 2;
    }
    if (*p) return false;
    *off_ms = sign * ((int64_t)h * 3600000 + (int64_t)m * 60000);
    return true;
}

typedef struct civ {
    int64_t y;
    unsigned mo, d, h, mi, s, ms;
} civ;

static civ to_civ(int64_t ms)
{
    civ c;
    int64_t days = floordiv(ms, 86400000);
    int64_t rem = ms - days * 86400000;
    civil(days, &c.y, &c.mo, &c.d);
    c.h = (unsigned)(rem / 3600000);
    c.mi = (unsigned)(rem / 60000 % 60);
    c.s = (unsigned)(rem / 1000 % 60);
    c.ms = (unsigned)(rem % 1000);
    return c;
}

static int64_t from_civ(const civ *c)
{
    return date_days_from_civil(c->y, c->mo, c->d) * 86400000 + (int64_t)c->h * 3600000 + (int64_t)c->mi * 60000 +
           (int64_t)c->s * 1000 + c->ms;
}

static int64_t add_months(int64_t ms, int64_t months)
{
    civ c = to_civ(ms);
    int64_t total = c.y * 12 + (c.mo - 1) + months;
    c.y = floordiv(total, 12);
    c.mo = (unsigned)(total - c.y * 12 + 1);
    unsigned md = mdays(c.y, c.mo);
    if (c.d > md) c.d = md;
    return from_civ(&c);
}

/* Floors local ms to the start of a unit. */
static int64_t round_unit(int64_t ms, char unit)
{
    civ c = to_civ(ms);
    switch (unit) {
    case 'y': c.mo = 1; /* fallthrough */
    case 'M': c.d = 1; /* fallthrough */
    case 'd': c.h = 0; /* fallthrough */
    case 'h': case 'H': c.mi = 0; /* fallthrough */
    case 'm': c.s = 0; /* fallthrough */
    case 's': c.ms = 0; break;
    case 'w': {
        int64_t days = floordiv(ms, 86400000);
        int64_t dow = ((days % 7) + 7 + 3) % 7; /* 1970-01-01 was a Thursday; Monday = 0 */
        return (days - dow) * 86400000;
    }
    }
    return from_civ(&c);
}

static int64_t add_unit(int64_t ms, int64_t n, char unit)
{
    switch (unit) {
    case 'y': return add_months(ms, n * 12);
    case 'M': return add_months(ms, n);
    case 'w': return ms + n * 7 * 86400000;
    case 'd': return ms + n * 86400000;
    case 'h': case 'H': return ms + n * 3600000;
    case 'm': return ms + n * 60000;
    case 's': return ms + n * 1000;
    }
    return ms;
}

/* The smallest unit the text of a date gives (for rounding up plain dates): from the format's pattern
 * letters, or for ISO-like text its shape. */
static char date_precision(const char *s, size_t len)
{
    /* digits only: epoch millis, exact */
    bool digits = len > 0;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)s[i]) && !(i == 0 && s[i] == '-')) digits = false;
    if (digits && len > 4) return 0;
    const char *t = memchr(s, 'T', len);
    if (!t) t = memchr(s, ' ', len);
    if (!t) {
        int dashes = 0;
        for (size_t i = 1; i < len; i++) dashes += s[i] == '-' || s[i] == '/';
        return dashes >= 2 ? 'd' : dashes == 1 ? 'M' : 'y';
    }
    size_t rest = len - (size_t)(t - s) - 1;
    const char *r = t + 1;
    int colons = 0;
    bool frac = false;
    for (size_t i = 0; i < rest; i++) {
        if (r[i] == ':') colons++;
        if (r[i] == '.' || r[i] == ',') frac = true;
        if (r[i] == 'Z' || r[i] == '+' || (r[i] == '-' && i > 0)) break;
    }
    if (frac) return 0;
    return colons >= 2 ? 's' : colons == 1 ? 'm' : 'h';
}

int date_math_parse(const char *s, size_t len, const date_format *fmt, const char *time_zone, int64_t now_ms,
                    bool round_up, int64_t *out_ms, es_err *err)
{
    int64_t off;
    if (!tz_offset(time_zone, &off)) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unknown time-zone ID: %s", time_zone);
        return -1;
    }
    int64_t t;
    const char *math;
    size_t mlen;
    if (len >= 3 && !strncmp(s, "now", 3)) {
        t = now_ms + off; /* local */
        math = s + 3;
        mlen = len - 3;
    } else {
        const char *bars = NULL;
        for (size_t i = 0; i + 1 < len; i++)
            if (s[i] == '|' && s[i + 1] == '|') { bars = s + i; break; }
        size_t dlen = bars ? (size_t)(bars - s) : len;
        int64_t ms;
        bool ok = fmt ? date_format_parse_millis(fmt, s, dlen, &ms) : false;
        if (!fmt) {
            date_format *dflt = date_format_compile(DATE_FORMAT_DEFAULT, NULL);
            ok = dflt && date_format_parse_millis(dflt, s, dlen, &ms);
            date_format_free(dflt);
        }
        if (!ok) {
            es_err_set(err, ES_PARSE, "failed to parse date field [%.*s] with format [%s]", (int)dlen, s,
                       fmt ? date_format_spec(fmt) : DATE_FORMAT_DEFAULT);
            return -1;
        }
        /* a date without an explicit offset is in time_zone */
        bool has_zone = false;
        for (size_t i = 10; i < dlen; i++)
            if (s[i] == 'Z' || s[i] == '+' || (s[i] == '-' && i > 10)) has_zone = true;
        t = has_zone ? ms + off : ms;
        if (round_up && !bars) {
            char p = date_precision(s, dlen);
            if (p) t = add_unit(round_unit(t, p), 1, p) - 1;
            *out_ms = t - off;
            return 0;
        }
        math = bars ? bars + 2 : s + len;
        mlen = bars ? len - dlen - 2 : 0;
    }
    size_t i = 0;
    while (i < mlen) {
        char op = math[i++];
        if (op == '/') {
            if (i >= mlen) goto bad;
            char u = math[i++];
            if (!strchr("yMwdhHms", u)) goto bad;
            t = round_unit(t, u);
            if (round_up) t = add_unit(t, 1, u) - 1;
        } else if (op == '+' || op == '-') {
            int64_t n = 0;
            bool any = false;
            while (i < mlen && isdigit((unsigned char)math[i])) {
                n = n * 10 + (math[i++] - '0');
                any = true;
            }
            if (!any) n = 1;
            if (i >= mlen) goto bad;
            char u = math[i++];
            if (!strchr("yMwdhHms", u)) goto bad;
            t = add_unit(t, op == '-' ? -n : n, u);
        } else {
            goto bad;
        }
    }
    *out_ms = t - off;
    return 0;
bad:
    es_err_set(err, ES_PARSE, "operator not supported for date math [%.*s]", (int)mlen, math);
    return -1;
}
