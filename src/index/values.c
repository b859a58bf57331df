/*
 * values.c — one JSON value read as a field type: numbers with
 * Elasticsearch's coercion and range rules, booleans, dates, IP addresses,
 * geo points; plus the error and JSON helpers the module shares.
 */
#include "index/index_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Errors */

int err_wrap(es_err *err, es_error_type type, const char *fmt, ...)
{
    if (!err) return -1;
    es_err *cause = NULL;
    if (es_err_isset(err)) {
        cause = xmalloc(sizeof *cause);
        *cause = *err;
        memset(err, 0, sizeof *err);
    }
    buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    es_err_set(err, type, "%s", b.p ? b.p : "");
    buf_free(&b);
    if (cause) es_err_cause(err, cause);
    return -1;
}

int err_set_named(es_err *err, es_error_type type, const char *type_name, const char *fmt, ...)
{
    if (!err || es_err_isset(err)) return -1;
    buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    es_err_set(err, type, "%s", b.p ? b.p : "");
    buf_free(&b);
    err->type_name = type_name;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* JSON helpers */

char *json_compact(const json_val *v)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_val(&w, v);
    if (!b.p) buf_puts(&b, "null");
    return buf_detach(&b, NULL);
}

/* Java's Double.toString, close enough: integral values keep ".0". */
static void java_double(double d, buf *out)
{
    if (isnan(d)) {
        buf_puts(out, "NaN");
        return;
    }
    if (isinf(d)) {
        buf_puts(out, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    double a = fabs(d);
    if (a >= 1e-3 && a < 1e7) {
        char tmp[64];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*f", prec, d);
            if (strtod(tmp, NULL) == d) break;
        }
        buf_puts(out, tmp);
        return;
    }
    if (d == 0) {
        buf_puts(out, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    char tmp[64];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d) break;
    }
    /* 1.5e+20 -> 1.5E20; a mantissa without '.' gets ".0" */
    char *e = strchr(tmp, 'e');
    if (!e) {
        buf_puts(out, tmp);
        return;
    }
    *e = 0;
    buf_puts(out, tmp);
    if (!strchr(tmp, '.')) buf_puts(out, ".0");
    int ex = atoi(e + 1);
    buf_printf(out, "E%d", ex);
}

void json_java_string(const json_val *v, buf *out)
{
    switch (json_type_of(v)) {
    case JSON_NULL: buf_puts(out, "null"); break;
    case JSON_BOOL: buf_puts(out, json_bool(v) ? "true" : "false"); break;
    case JSON_INT: buf_printf(out, "%lld", (long long)json_int(v)); break;
    case JSON_BIGINT: {
        size_t n;
        const char *t = json_num_text(v, &n);
        buf_append(out, t, n);
        break;
    }
    case JSON_DOUBLE: java_double(json_num(v), out); break;
    case JSON_STRING: {
        size_t n;
        const char *s = json_str(v, &n);
        buf_append(out, s, n);
        break;
    }
    case JSON_ARRAY: {
        buf_putc(out, '[');
        json_iter it = json_iter_begin(v);
        const json_val *e;
        bool first = true;
        while ((e = json_iter_next(&it, NULL, NULL))) {
            if (!first) buf_puts(out, ", ");
            first = false;
            json_java_string(e, out);
        }
        buf_putc(out, ']');
        break;
    }
    case JSON_OBJECT: {
        buf_putc(out, '{');
        json_iter it = json_iter_begin(v);
        const json_val *e;
        const char *k;
        size_t kl;
        bool first = true;
        while ((e = json_iter_next(&it, &k, &kl))) {
            if (!first) buf_puts(out, ", ");
            first = false;
            buf_append(out, k, kl);
            buf_putc(out, '=');
            json_java_string(e, out);
        }
        buf_putc(out, '}');
        break;
    }
    }
}

const char *json_scalar_text(const json_val *v, size_t *len, buf *tmp)
{
    buf_reset(tmp);
    switch (json_type_of(v)) {
    case JSON_STRING: return json_str(v, len);
    case JSON_BOOL: *len = json_bool(v) ? 4 : 5; return json_bool(v) ? "true" : "false";
    case JSON_NULL: *len = 4; return "null";
    case JSON_INT: buf_printf(tmp, "%lld", (long long)json_int(v)); break;
    case JSON_BIGINT: {
        const char *t = json_num_text(v, len);
        return t;
    }
    case JSON_DOUBLE: {
        /* Keep the shortest round-trip text, as the writer does. */
        json_w w;
        jw_init(&w, tmp, false);
        jw_double(&w, json_num(v));
        break;
    }
    default: json_java_string(v, tmp); break;
    }
    *len = tmp->len;
    return tmp->p ? tmp->p : "";
}

/* ------------------------------------------------------------------------ */
/* IP addresses */

static void format_v6(const uint8_t a[16], char *out)
{
    uint16_t w[8];
    for (int i = 0; i < 8; i++) w[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
    /* Longest run of zero groups (length >= 2), first one on ties (RFC 5952). */
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (w[i] == 0) {
            int j = i;
            while (j < 8 && w[j] == 0) j++;
            if (j - i > best_len && j - i >= 2) {
                best = i;
                best_len = j - i;
            }
            i = j;
        } else {
            i++;
        }
    }
    char *p = out;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            *p++ = ':';
            if (i == 0) *p++ = ':';
            i += best_len - 1;
            continue;
        }
        p += sprintf(p, "%x", w[i]);
        if (i < 7) *p++ = ':';
    }
    *p = 0;
}

bool ip_parse(const char *s, size_t len, uint8_t out[16], char *canon)
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp) return false;
    memcpy(tmp, s, len);
    tmp[len] = 0;
    if (memchr(tmp, 0, len)) return false;
    uint8_t a[16] = { 0 };
    if (strchr(tmp, ':')) {
        if (inet_pton(AF_INET6, tmp, a) != 1) return false;
    } else {
        uint8_t v4[4];
        if (inet_pton(AF_INET, tmp, v4) != 1) return false;
        a[10] = a[11] = 0xff;
        memcpy(a + 12, v4, 4);
    }
    memcpy(out, a, 16);
    if (canon) {
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(a, mapped, 12) == 0) sprintf(canon, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
        else format_v6(a, canon);
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Numbers */

static const char *int_type_article(field_type t)
{
    switch (t) {
    case FT_INTEGER: return "an integer";
    case FT_SHORT: return "a short";
    case FT_BYTE: return "a byte";
    default: return "a long";
    }
}

static void int_type_range(field_type t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case FT_INTEGER: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case FT_SHORT: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case FT_BYTE: *lo = INT8_MIN; *hi = INT8_MAX; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

static const char *coerce_class(field_type t)
{
    switch (t) {
    case FT_LONG: case FT_UNSIGNED_LONG: return "Long";
    case FT_INTEGER: case FT_SHORT: case FT_BYTE: return "Integer";
    case FT_FLOAT: case FT_HALF_FLOAT: return "Float";
    default: return "Double";
    }
}

/* A decimal number as Java's BigDecimal accepts it: [+-]digits[.digits][e[+-]digits]. */
static bool big_decimal_syntax(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    size_t d = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, d++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, d++;
    }
    if (d == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t e = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, e++;
        if (e == 0) return false;
    }
    return i == n;
}

/* Java's Double.parseDouble: trims whitespace; accepts NaN, Infinity, d/f suffixes. */
static bool java_parse_double(const char *s, size_t n, double *out)
{
    while (n && (unsigned char)*s <= ' ') s++, n--;
    while (n && (unsigned char)s[n - 1] <= ' ') n--;
    if (n == 0 || n > 400) return false;
    char tmp[512];
    memcpy(tmp, s, n);
    tmp[n] = 0;
    const char *p = tmp;
    if (*p == '+' || *p == '-') p++;
    if (strcmp(p, "NaN") == 0) {
        *out = NAN;
        return true;
    }
    if (strcmp(p, "Infinity") == 0) {
        *out = tmp[0] == '-' ? -INFINITY : INFINITY;
        return true;
    }
    if (n > 1 && strchr("dDfF", tmp[n - 1])) tmp[--n] = 0;
    if (!big_decimal_syntax(tmp, n)) return false;
    *out = strtod(tmp, NULL);
    return true;
}

/* Numbers.toLong as Elasticsearch: exact long, else a decimal truncated (coerce) or rejected. */
static int text_to_long(const char *s, size_t n, bool coerce, field_type t, int64_t *out, es_err *err)
{
    char tmp[512];
    if (n >= sizeof tmp) n = sizeof tmp - 1;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    /* Plain integer first. */
    {
        size_t i = 0;
        if (tmp[i] == '-' || tmp[i] == '+') i++;
        bool digits = tmp[i] != 0;
        for (size_t j = i; tmp[j]; j++)
            if (tmp[j] < '0' || tmp[j] > '9') digits = false;
        if (digits) {
            errno = 0;
            long long v = strtoll(tmp, NULL, 10);
            if (errno == 0) {
                *out = v;
                return 0;
            }
        }
    }
    if (!big_decimal_syntax(tmp, n))
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", tmp);
    long double v = strtold(tmp, NULL);
    if (v >= 9223372036854775808.0L || v < -9223372036854775808.0L)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%s] is out of range for %s", tmp, t == FT_LONG ? "a long" : int_type_article(t));
    long double tr = v < 0 ? ceill(v) : floorl(v);
    if (!coerce && tr != v) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%s] has a decimal part", tmp);
    *out = (int64_t)tr;
    return 0;
}

static int parse_integer(const mfield *f, const json_val *v, const char *text, size_t tlen, int64_t *out, es_err *err)
{
    field_type t = f->type;
    int64_t lo, hi;
    int_type_range(t, &lo, &hi);
    int64_t r = 0;
    switch (json_type_of(v)) {
    case JSON_INT:
        r = json_int(v);
        break;
    case JSON_BIGINT:
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%.*s] is out of range for %s", (int)tlen, text, int_type_article(t));
    case JSON_DOUBLE: {
        double d = json_num(v);
        if (d >= 9223372036854775808.0 || d < -9223372036854775808.0 || isnan(d))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%.*s] is out of range for %s", (int)tlen, text, int_type_article(t));
        if (!f->coerce && d != trunc(d))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%.*s] has a decimal part", (int)tlen, text);
        r = (int64_t)trunc(d);
        break;
    }
    case JSON_STRING:
        if (!f->coerce) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s value passed as String", coerce_class(t));
        if (text_to_long(text, tlen, f->coerce, t, &r, err) < 0) return -1;
        break;
    default:
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%.*s\"", (int)tlen, text);
    }
    if (r < lo || r > hi)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%.*s] is out of range for %s", (int)tlen, text, int_type_article(t));
    *out = r;
    return 0;
}

static double to_half(double d)
{
    /* Round to the nearest half-precision value (10-bit mantissa). */
    if (d == 0 || isnan(d) || isinf(d)) return d;
    double a = fabs(d);
    if (a > 65504.0 + 16.0) return d > 0 ? INFINITY : -INFINITY;
    int e;
    frexp(a, &e); /* a = m * 2^e, m in [0.5,1) */
    int exp = e - 1;
    if (exp < -14) exp = -14; /* subnormals */
    double q = ldexp(1.0, exp - 10);
    double r = nearbyint(a / q) * q;
    if (r > 65504.0) return d > 0 ? INFINITY : -INFINITY;
    return d < 0 ? -r : r;
}

static int parse_floating(const mfield *f, const json_val *v, const char *text, size_t tlen, double *out, es_err *err)
{
    double d;
    switch (json_type_of(v)) {
    case JSON_INT: case JSON_BIGINT: case JSON_DOUBLE:
        d = json_num(v);
        break;
    case JSON_STRING:
        if (!f->coerce) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s value passed as String", coerce_class(f->type));
        if (!java_parse_double(text, tlen, &d))
            return err_set_named(err, ES_ILLEGAL_ARGUMENT, "number_format_exception", "For input string: \"%.*s\"",
                                 (int)tlen, text);
        break;
    default:
        return err_set_named(err, ES_ILLEGAL_ARGUMENT, "number_format_exception", "For input string: \"%.*s\"", (int)tlen,
                             text);
    }
    if (f->type == FT_FLOAT) d = (double)(float)d;
    else if (f->type == FT_HALF_FLOAT) d = to_half(d);
    if (!isfinite(d)) {
        buf b = { 0 };
        java_double(d, &b);
        if (f->type == FT_SCALED_FLOAT)
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "[scaled_float] only supports finite values, but got [%s]", b.p);
        else
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s] supports only finite values, but got [%s]", field_type_name(f->type), b.p);
        buf_free(&b);
        return -1;
    }
    *out = d;
    return 0;
}

static int parse_unsigned_long(const mfield *f, const json_val *v, const char *text, size_t tlen, int64_t *out, es_err *err)
{
    if (json_type_of(v) == JSON_STRING && !f->coerce)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Long value passed as String");
    char tmp[64];
    if (tlen == 0 || tlen >= sizeof tmp)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%.*s\"", (int)tlen, text);
    memcpy(tmp, text, tlen);
    tmp[tlen] = 0;
    size_t i = 0;
    bool digits = true;
    for (; tmp[i]; i++)
        if (tmp[i] < '0' || tmp[i] > '9') digits = false;
    if (digits) {
        errno = 0;
        unsigned long long u = strtoull(tmp, NULL, 10);
        if (errno) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%s] is out of range for unsigned long", tmp);
        *out = (int64_t)u;
        return 0;
    }
    if (!big_decimal_syntax(tmp, tlen)) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", tmp);
    long double d = strtold(tmp, NULL);
    if (d < 0 || d >= 18446744073709551616.0L)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%s] is out of range for unsigned long", tmp);
    long double tr = floorl(d);
    if (!f->coerce && tr != d) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%s] has a decimal part", tmp);
    *out = (int64_t)(unsigned long long)tr;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Geo points */

static const char geohash_chars[] = "0123456789bcdefghjkmnpqrstuvwxyz";

static bool geohash_decode(const char *s, size_t n, double *lat, double *lon)
{
    if (n == 0 || n > 12) return false;
    double la[2] = { -90, 90 }, lo[2] = { -180, 180 };
    bool even = true;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(geohash_chars, s[i]);
        if (!p || !s[i]) return false;
        int cd = (int)(p - geohash_chars);
        for (int b = 4; b >= 0; b--) {
            int bit = (cd >> b) & 1;
            double *r = even ? lo : la;
            double mid = (r[0] + r[1]) / 2;
            if (bit) r[0] = mid;
            else r[1] = mid;
            even = !even;
        }
    }
    *lat = (la[0] + la[1]) / 2;
    *lon = (lo[0] + lo[1]) / 2;
    return true;
}

static bool num_of(const json_val *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_num(v);
        return true;
    }
    size_t n;
    const char *s = json_str(v, &n);
    return s && java_parse_double(s, n, out);
}

static int geo_check(double lat, double lon, es_err *err, const char *field)
{
    buf b = { 0 };
    if (isnan(lat) || lat < -90 || lat > 90) {
        java_double(lat, &b);
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "illegal latitude value [%s] for %s", b.p, field);
        buf_free(&b);
        return -1;
    }
    if (isnan(lon) || lon < -180 || lon > 180) {
        java_double(lon, &b);
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "illegal longitude value [%s] for %s", b.p, field);
        buf_free(&b);
        return -1;
    }
    return 0;
}

int geo_parse_point(const json_val *v, double *lat, double *lon, es_err *err, const char *field)
{
    switch (json_type_of(v)) {
    case JSON_OBJECT: {
        const json_val *la = json_obj_get(v, "lat"), *lo = json_obj_get(v, "lon");
        if (json_obj_get(v, "type") && json_obj_get(v, "coordinates")) {
            const json_val *c = json_obj_get(v, "coordinates");
            if (json_len(c) < 2 || !num_of(json_arr_get(c, 0), lon) || !num_of(json_arr_get(c, 1), lat))
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to parse [%s]: invalid GeoJSON point", field);
            return geo_check(*lat, *lon, err, field);
        }
        if (!la || !lo) {
            const json_val *gh = json_obj_get(v, "geohash");
            size_t n;
            const char *s = json_str(gh, &n);
            if (s && geohash_decode(s, n, lat, lon)) return 0;
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "field [%s] missing", !la ? "lat" : "lon");
        }
        if (!num_of(la, lat)) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "latitude must be a number");
        if (!num_of(lo, lon)) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "longitude must be a number");
        return geo_check(*lat, *lon, err, field);
    }
    case JSON_ARRAY: {
        size_t n = json_len(v);
        if (n < 2 || n > 3 || !json_is_number(json_arr_get(v, 0)) || !json_is_number(json_arr_get(v, 1)))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "[geo_point] field type does not accept > 3 dimensions");
        *lon = json_num(json_arr_get(v, 0));
        *lat = json_num(json_arr_get(v, 1));
        return geo_check(*lat, *lon, err, field);
    }
    case JSON_STRING: {
        size_t n;
        const char *s = json_str(v, &n);
        const char *comma = memchr(s, ',', n);
        if (comma) {
            double a, b;
            if (!java_parse_double(s, (size_t)(comma - s), &a)) goto bad_str;
            const char *rest = comma + 1;
            size_t rn = n - (size_t)(rest - s);
            const char *c2 = memchr(rest, ',', rn);
            if (!java_parse_double(rest, c2 ? (size_t)(c2 - rest) : rn, &b)) goto bad_str;
            if (c2) {
                double z;
                if (!java_parse_double(c2 + 1, n - (size_t)(c2 + 1 - s), &z)) goto bad_str;
            }
            *lat = a;
            *lon = b;
            return geo_check(*lat, *lon, err, field);
        }
        if (n > 6 && strncasecmp(s, "POINT", 5) == 0) {
            double a, b;
            char tmp[128];
            if (n >= sizeof tmp) goto bad_str;
            memcpy(tmp, s, n);
            tmp[n] = 0;
            char tail;
            if (sscanf(tmp + 5, " ( %lf %lf %c", &a, &b, &tail) == 3 && tail == ')') {
                *lon = a;
                *lat = b;
                return geo_check(*lat, *lon, err, field);
            }
            goto bad_str;
        }
        if (geohash_decode(s, n, lat, lon)) return 0;
    bad_str:
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "unsupported symbol [%c] in geohash [%.*s]",
                          n ? s[0] : ' ', (int)n, s);
    }
    default:
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "geo_point expected");
    }
}

/* ------------------------------------------------------------------------ */
/* One scalar for a field */

static bool base64_valid(const char *s, size_t n)
{
    size_t pad = 0, cnt = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad) return false;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
              c == '\n' || c == '\r'))
            return false;
        if (c != '\n' && c != '\r') cnt++;
    }
    return pad <= 2 && (cnt + pad) % 4 != 1;
}

int value_parse(const mfield *f, const json_val *v, arena *a, index_field_value *out, bool *is_null, es_err *err)
{
    buf tmp = { 0 };
    size_t tlen;
    const char *text = json_scalar_text(v, &tlen, &tmp);
    json_type jt = json_type_of(v);
    int rc = 0;
    *is_null = false;
    out->str = arena_strndup(a, text, tlen);
    out->str_len = tlen;
    bool empty_str = jt == JSON_STRING && tlen == 0;

    switch (f->type) {
    case FT_TEXT: case FT_MATCH_ONLY_TEXT: case FT_KEYWORD: case FT_CONSTANT_KEYWORD: case FT_WILDCARD:
    case FT_FLATTENED:
        out->kind = IFV_STRING;
        break;
    case FT_BINARY:
        out->kind = IFV_STRING;
        if (jt != JSON_STRING || !base64_valid(text, tlen))
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Illegal base64 character");
        break;
    case FT_LONG: case FT_INTEGER: case FT_SHORT: case FT_BYTE:
        if (empty_str) goto null;
        out->kind = IFV_LONG;
        rc = parse_integer(f, v, text, tlen, &out->v.l, err);
        break;
    case FT_UNSIGNED_LONG:
        if (empty_str) goto null;
        out->kind = IFV_LONG;
        rc = parse_unsigned_long(f, v, text, tlen, &out->v.l, err);
        break;
    case FT_DOUBLE: case FT_FLOAT: case FT_HALF_FLOAT: case FT_SCALED_FLOAT:
        if (empty_str) goto null;
        out->kind = IFV_DOUBLE;
        rc = parse_floating(f, v, text, tlen, &out->v.d, err);
        if (rc == 0 && f->type == FT_SCALED_FLOAT) {
            double s = out->v.d * f->scaling_factor;
            out->scaled = (int64_t)llround(s);
        }
        break;
    case FT_BOOLEAN:
        out->kind = IFV_BOOL;
        if (jt == JSON_BOOL) out->v.b = json_bool(v);
        else if (empty_str) goto null;
        else if (jt == JSON_STRING && tlen == 4 && memcmp(text, "true", 4) == 0) out->v.b = true;
        else if (jt == JSON_STRING && tlen == 5 && memcmp(text, "false", 5) == 0) out->v.b = false;
        else
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%.*s] as only [true] or [false] are allowed.",
                            (int)tlen, text);
        break;
    case FT_DATE: case FT_DATE_NANOS: {
        out->kind = IFV_DATE;
        int64_t sec;
        int32_t ns;
        const date_format *df = f->format;
        if (jt == JSON_BOOL) {
            rc = -1;
        } else if (!df || !date_format_parse(df, text, tlen, false, &sec, &ns)) {
            rc = -1;
        } else if (f->type == FT_DATE) {
            if (sec > INT64_MAX / 1000 - 1 || sec < INT64_MIN / 1000 + 1) rc = -1;
            else out->v.l = sec * 1000 + ns / 1000000;
        } else {
            /* date_nanos: 1970-01-01 .. 2262-04-11T23:47:16.854775807 */
            if (sec < 0) {
                buf b = { 0 };
                date_format_iso(sec, ns, &b);
                err_set_named(err, ES_ILLEGAL_ARGUMENT, "illegal_argument_exception",
                              "date[%s] is before the epoch in 1970 and cannot be stored in nanosecond resolution", b.p);
                buf_free(&b);
                rc = -2;
            } else if (sec > 9223372036LL || (sec == 9223372036LL && ns > 854775807)) {
                buf b = { 0 };
                date_format_iso(sec, ns, &b);
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "date[%s] is after 2262-04-11T23:47:16.854775807 and cannot be stored in nanosecond resolution", b.p);
                buf_free(&b);
                rc = -2;
            } else {
                out->v.l = sec * 1000000000LL + ns;
            }
        }
        if (rc == -1) {
            es_err *cause = xcalloc(1, sizeof *cause);
            err_set_named(cause, ES_ILLEGAL_ARGUMENT, "date_time_parse_exception", "Failed to parse with all enclosed parsers");
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to parse date field [%.*s] with format [%s]", (int)tlen, text,
                       df ? date_format_spec(df) : DATE_FORMAT_DEFAULT);
            es_err_cause(err, cause);
        }
        if (rc) rc = -1;
        break;
    }
    case FT_IP: {
        out->kind = IFV_IP;
        if (empty_str) goto null;
        char canon[64];
        if (jt != JSON_STRING || !ip_parse(text, tlen, out->v.ip, canon)) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "'%.*s' is not an IP string literal.", (int)tlen, text);
        } else {
            out->str = arena_strndup(a, canon, strlen(canon));
            out->str_len = strlen(canon);
        }
        break;
    }
    case FT_GEO_POINT: {
        out->kind = IFV_GEO;
        rc = geo_parse_point(v, &out->v.geo.lat, &out->v.geo.lon, err, f->path);
        break;
    }
    case FT_OBJECT: case FT_NESTED: case FT_COUNT:
        rc = es_err_set(err, ES_ILLEGAL_STATE, "not a leaf field");
        break;
    }
    buf_free(&tmp);
    return rc;
null:
    buf_free(&tmp);
    *is_null = true;
    return 0;
}
