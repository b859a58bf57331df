/*
 * rx_request.c — parsing and validating _reindex, _update_by_query and
 * _delete_by_query requests as Elasticsearch's ReindexRequest, RemoteInfo,
 * AbstractBulkByScrollRequest and their REST handlers do, with their exact
 * messages; the task description; small value parsers shared by the module.
 */
#include "reindex/reindex_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_SOURCE_NOTE "Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"

/* ======================================================================== */
/* Small helpers                                                            */

static char **strv_push(char **v, size_t *n, const char *s, size_t len)
{
    v = xrealloc(v, (*n + 1) * sizeof *v);
    v[(*n)++] = xstrndup(s, len);
    return v;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Elasticsearch's name of the token a value starts with. */
/* How Java prints a value parsed into a map (Map.toString / List.toString). */
static void java_text(buf *b, const json_val *v)
{
    size_t len;
    switch (json_type_of(v)) {
    case JSON_NULL: buf_puts(b, "null"); break;
    case JSON_BOOL: buf_puts(b, json_bool(v) ? "true" : "false"); break;
    case JSON_STRING: {
        const char *s = json_str(v, &len);
        buf_append(b, s, len);
        break;
    }
    case JSON_DOUBLE: {
        char tmp[32];
        json_fmt_double(json_num(v), tmp);
        buf_puts(b, tmp);
        break;
    }
    case JSON_INT: buf_printf(b, "%" PRId64, json_int(v)); break;
    case JSON_BIGINT: {
        const char *t = json_num_text(v, &len);
        buf_append(b, t, len);
        break;
    }
    case JSON_ARRAY: {
        buf_putc(b, '[');
        for (size_t i = 0; i < json_len(v); i++) {
            if (i) buf_puts(b, ", ");
            java_text(b, json_arr_get(v, i));
        }
        buf_putc(b, ']');
        break;
    }
    case JSON_OBJECT: {
        buf_putc(b, '{');
        json_iter it = json_iter_begin(v);
        const json_val *m;
        const char *k;
        size_t kl;
        bool first = true;
        while ((m = json_iter_next(&it, &k, &kl))) {
            if (!first) buf_puts(b, ", ");
            first = false;
            buf_append(b, k, kl);
            buf_putc(b, '=');
            java_text(b, m);
        }
        buf_putc(b, '}');
        break;
    }
    }
}

/* A located document: [line:col] of keys and values for ObjectParser's messages. */
typedef struct located {
    const char *text;
    size_t len;
    const json_doc *doc;
} located;

static void text_location(const char *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static size_t value_offset(const located *l, const json_val *v)
{
    if (!l || !l->doc) return 0;
    size_t rl, vl;
    const char *root = json_raw(l->doc, json_doc_root(l->doc), &rl);
    const char *p = json_raw(l->doc, v, &vl);
    size_t lead = 0;
    while (lead < l->len && (l->text[lead] == ' ' || l->text[lead] == '\t' || l->text[lead] == '\n' ||
                             l->text[lead] == '\r'))
        lead++;
    return (size_t)(p - root) + lead;
}

/* The location of the key whose value is v (its opening quote). */
static void key_location(const located *l, const json_val *v, unsigned *line, unsigned *col)
{
    if (!l || !l->doc) {
        *line = *col = 1;
        return;
    }
    size_t i = value_offset(l, v);
    while (i > 0 && l->text[i - 1] != ':') i--;
    if (i > 0) i--;
    while (i > 0 && l->text[i - 1] != '"') i--;
    if (i > 0) i--;
    while (i > 0) {
        if (l->text[i - 1] == '"') {
            size_t bs = 0;
            while (i >= bs + 2 && l->text[i - 2 - bs] == '\\') bs++;
            if (bs % 2 == 0) {
                i--;
                break;
            }
        }
        i--;
    }
    text_location(l->text, l->len, i, line, col);
}

static void value_location(const located *l, const json_val *v, unsigned *line, unsigned *col)
{
    if (!l || !l->doc) {
        *line = *col = 1;
        return;
    }
    text_location(l->text, l->len, value_offset(l, v), line, col);
}

/* x_content_parse_exception "[l:c] [parser] failed to parse field [f]" caused by cause (taken). */
static int failed_field(es_err *err, const located *l, const json_val *v, const char *parser, const char *field,
                        es_err *cause)
{
    unsigned line, col;
    value_location(l, v, &line, &col);
    es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [%s] failed to parse field [%s]", line, col, parser, field);
    es_err *c = xcalloc(1, sizeof *c);
    *c = *cause;
    memset(cause, 0, sizeof *cause);
    es_err_cause(err, c);
    return -1;
}

static int unknown_field(es_err *err, const located *l, const json_val *v, const char *parser, const char *field)
{
    unsigned line, col;
    key_location(l, v, &line, &col);
    return es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [%s] unknown field [%s]", line, col, parser, field);
}

static int wrong_type(es_err *err, const located *l, const json_val *v, const char *parser, const char *field)
{
    unsigned line, col;
    value_location(l, v, &line, &col);
    return es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [%s] %s doesn't support values of type: %s", line, col,
                      parser, field, json_token_name(v));
}

/* Java's Integer.parseInt / Long.parseLong of a whole string. */
static bool parse_java_long(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!s || !*s) return false;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static void number_format(es_err *e, const char *input)
{
    es_err_set(e, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", input);
    e->type_name = "number_format_exception";
}

/* An int field as ObjectParser.declareInt reads it (numbers, numeric strings; floats truncated). */
static int int_value(const json_val *v, int64_t *out, es_err *cause)
{
    if (json_type_of(v) == JSON_INT) {
        int64_t x = json_int(v);
        if (x < INT32_MIN || x > INT32_MAX) {
            es_err_set(cause, ES_ILLEGAL_ARGUMENT, "Numeric value (%" PRId64 ") out of range of int", x);
            return -1;
        }
        *out = x;
        return 0;
    }
    if (json_type_of(v) == JSON_DOUBLE) {
        double d = json_num(v);
        if (d < INT32_MIN || d > INT32_MAX) {
            es_err_set(cause, ES_ILLEGAL_ARGUMENT, "Numeric value (%g) out of range of int", d);
            return -1;
        }
        *out = (int64_t)d;
        return 0;
    }
    if (json_type_of(v) == JSON_STRING) {
        const char *s = json_str(v, NULL);
        if (parse_java_long(s, INT32_MIN, INT32_MAX, out)) return 0;
        char *end;
        double d = strtod(s, &end);
        if (*s && !*end && d >= INT32_MIN && d <= INT32_MAX) {
            *out = (int64_t)d;
            return 0;
        }
        number_format(cause, s);
        return -1;
    }
    es_err_set(cause, ES_ILLEGAL_ARGUMENT, "Current token (%s) not numeric, can not use numeric value accessors",
               json_token_name(v));
    return -1;
}

/* ======================================================================== */
/* Values: time, requests_per_second, floats                                */

int rx_parse_time(const char *s, const char *name, int64_t *ms, es_err *err)
{
    if (!s) return es_err_set(err, ES_PARSE, "failed to parse setting [%s] with value [null] as a time value", name);
    size_t n = strlen(s);
    char low[128];
    if (n >= sizeof low) n = sizeof low - 1;
    for (size_t i = 0; i < n; i++) low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    low[n] = 0;
    if (!strcmp(low, "-1")) {
        *ms = -1;
        return 0;
    }
    if (!strcmp(low, "0")) {
        *ms = 0;
        return 0;
    }
    static const struct { const char *suffix; double ms; } units[] = {
        { "nanos", 1e-6 }, { "micros", 1e-3 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
        { "d", 86400000 },
    };
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        size_t sl = strlen(units[i].suffix);
        if (n < sl || strcmp(low + n - sl, units[i].suffix)) continue;
        /* "ms" must win over "s", "nanos" over "s", "micros" over "s": the table is ordered so. */
        char num[128];
        memcpy(num, low, n - sl);
        num[n - sl] = 0;
        /* trim */
        char *p = num;
        while (*p == ' ') p++;
        size_t pl = strlen(p);
        while (pl && p[pl - 1] == ' ') p[--pl] = 0;
        int64_t v;
        if (parse_java_long(p, INT64_MIN, INT64_MAX, &v)) {
            if (v < -1) {
                return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                                  "failed to parse setting [%s] with value [%s] as a time value: negative durations "
                                  "are not supported",
                                  name, s);
            }
            double total = (double)v * units[i].ms;
            *ms = total > 9.2e18 ? INT64_MAX : (int64_t)ceil(total);
            return 0;
        }
        char *end;
        strtod(p, &end);
        es_err *cause = xcalloc(1, sizeof *cause);
        number_format(cause, p);
        if (*p && !*end) es_err_set(err, ES_PARSE, "failed to parse [%s], fractional time values are not supported", s);
        else es_err_set(err, ES_PARSE, "failed to parse [%s]", s);
        es_err_cause(err, cause);
        return -1;
    }
    return es_err_set(err, ES_PARSE,
                      "failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized",
                      name, s);
}

/* Java's Float.parseFloat, enough of it: decimal and exponent forms, "Infinity", "NaN", a
 * trailing f/F/d/D, surrounding whitespace. */
static bool java_parse_float(const char *s, float *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    if (!n || n > 64) return false;
    char tmp[72];
    memcpy(tmp, s, n);
    tmp[n] = 0;
    const char *p = tmp;
    if (*p == '+' || *p == '-') p++;
    if (!strcmp(p, "Infinity") || !strcmp(p, "NaN")) {
        *out = !strcmp(p, "NaN") ? NAN : (tmp[0] == '-' ? -INFINITY : INFINITY);
        return true;
    }
    if (n > 1 && strchr("fFdD", tmp[n - 1])) tmp[--n] = 0;
    /* digits, one dot, an exponent: nothing else (no hex, no "inf") */
    bool digit = false, dot = false, exp = false;
    for (const char *q = p; *q; q++) {
        if (*q >= '0' && *q <= '9') digit = true;
        else if (*q == '.' && !dot && !exp) dot = true;
        else if ((*q == 'e' || *q == 'E') && digit && !exp) {
            exp = true;
            digit = false;
            if (q[1] == '+' || q[1] == '-') q++;
        } else return false;
    }
    if (!digit) return false;
    *out = strtof(tmp, NULL);
    return true;
}

int rx_parse_rps(const char *s, float *out, es_err *err)
{
    float v;
    if (!java_parse_float(s, &v)) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[requests_per_second] must be a float greater than 0. Use -1 to disable throttling.");
        es_err *cause = xcalloc(1, sizeof *cause);
        if (!*s) es_err_set(cause, ES_ILLEGAL_ARGUMENT, "empty String");
        else es_err_set(cause, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", s);
        cause->type_name = "number_format_exception";
        es_err_cause(err, cause);
        return -1;
    }
    if (v == -1.0f) {
        *out = INFINITY;
        return 0;
    }
    if (!(v > 0)) /* also NaN */
        return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                          "[requests_per_second] must be a float greater than 0. Use -1 to disable throttling.");
    *out = v;
    return 0;
}

void rx_float_text(float v, char out[32])
{
    if (isinf(v)) {
        snprintf(out, 32, "%s", v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (isnan(v)) {
        snprintf(out, 32, "NaN");
        return;
    }
    /* The shortest decimal that reads back as the same float, then Java's layout for it. */
    char digits[48];
    for (int p = 1; p <= 9; p++) {
        snprintf(digits, sizeof digits, "%.*g", p, (double)v);
        if (strtof(digits, NULL) == v) break;
    }
    json_fmt_double(strtod(digits, NULL), out);
}

/* ======================================================================== */
/* Remote host (java.net.URI rules)                                         */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* URI hostname rule (RFC 2396 as java.net.URI applies it). */
static bool java_hostname(const char *s, size_t n)
{
    size_t p = 0, last = SIZE_MAX;
    while (p < n) {
        if (!is_alnum(s[p])) return false;
        last = p;
        size_t q = p;
        while (q < n && (is_alnum(s[q]) || s[q] == '-')) q++;
        if (s[q - 1] == '-') return false;
        p = q;
        if (p < n) {
            if (s[p] != '.') return false;
            p++;
        }
    }
    if (last == SIZE_MAX) return false;
    if (last > 0 && !is_alpha(s[last])) return false;
    return true;
}

static bool java_ipv4(const char *s, size_t n)
{
    int parts = 0;
    size_t p = 0;
    while (p < n) {
        size_t q = p;
        int v = 0;
        while (q < n && s[q] >= '0' && s[q] <= '9' && q - p < 4) v = v * 10 + (s[q++] - '0');
        if (q == p || v > 255) return false;
        parts++;
        p = q;
        if (p < n) {
            if (s[p] != '.') return false;
            p++;
            if (p == n) return false;
        }
    }
    return parts == 4;
}

static int host_form_error(const char *s, es_err *err)
{
    /* Never echo credentials given as userinfo. */
    buf b = { 0 };
    const char *at = strchr(s, '@');
    const char *ss = strstr(s, "//");
    if (at && ss && at > ss) {
        buf_append(&b, s, (size_t)(ss + 2 - s));
        buf_puts(&b, "<<>>");
        buf_puts(&b, at);
    } else {
        buf_puts(&b, s);
    }
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "[host] must be of the form [scheme]://[host]:[port](/[pathPrefix])? but was [%s]",
               b.p);
    buf_free(&b);
    return -1;
}

int rx_host_parse(const char *s, rx_host *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(s);
    /* scheme */
    size_t i = 0;
    if (!n || !is_alpha(s[0])) return host_form_error(s, err);
    while (i < n && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) i++;
    if (i >= n || s[i] != ':') return host_form_error(s, err);
    size_t scheme_len = i;
    i++;
    if (i + 1 >= n || s[i] != '/' || s[i + 1] != '/') return host_form_error(s, err); /* opaque: no port */
    i += 2;
    size_t a0 = i;
    while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#') i++;
    size_t a1 = i;
    size_t p0 = i;
    while (i < n && s[i] != '?' && s[i] != '#') i++;
    size_t p1 = i;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)s[k] <= ' ' || s[k] == '"' || s[k] == '<' || s[k] == '>' || s[k] == '\\' || s[k] == '^' ||
            s[k] == '`' || s[k] == '{' || s[k] == '|' || s[k] == '}')
            return host_form_error(s, err);
    /* server authority: [userinfo@]host[:port] */
    const char *auth = s + a0;
    size_t alen = a1 - a0;
    const char *at = memchr(auth, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    size_t hlen;
    const char *rest;
    if (alen && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        if (!close) return host_form_error(s, err);
        hlen = (size_t)(close - auth) + 1;
        char v6[64];
        size_t inner = hlen - 2;
        if (inner == 0 || inner >= sizeof v6) return host_form_error(s, err);
        memcpy(v6, auth + 1, inner);
        v6[inner] = 0;
        char *pct = strchr(v6, '%');
        if (pct) *pct = 0;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, v6, &a6) != 1) return host_form_error(s, err);
    } else {
        hlen = 0;
        while (hlen < alen && auth[hlen] != ':') hlen++;
        if (!hlen || !(java_ipv4(auth, hlen) || java_hostname(auth, hlen))) return host_form_error(s, err);
    }
    rest = auth + hlen;
    size_t rlen = alen - hlen;
    if (!rlen || rest[0] != ':' || rlen == 1) return host_form_error(s, err);
    int64_t port = 0;
    for (size_t k = 1; k < rlen; k++) {
        if (rest[k] < '0' || rest[k] > '9') return host_form_error(s, err);
        port = port * 10 + (rest[k] - '0');
        if (port > 65535) return host_form_error(s, err);
    }
    out->scheme = xstrndup(s, scheme_len);
    out->host = xstrndup(auth, hlen);
    out->port = (int)port;
    if (p1 > p0) out->path_prefix = xstrndup(s + p0, p1 - p0);
    return 0;
}

void rx_host_free(rx_host *h)
{
    free(h->scheme);
    free(h->host);
    free(h->path_prefix);
    memset(h, 0, sizeof *h);
}

/* ======================================================================== */
/* The request                                                              */

void rx_request_free(rx_request *r)
{
    if (!r) return;
    strv_free(r->indices, r->n_indices);
    free(r->query);
    free(r->source_json);
    strv_free(r->src_inc, r->n_inc);
    strv_free(r->src_exc, r->n_exc);
    free(r->sort_url);
    free(r->sort_json);
    free(r->slice_field);
    if (r->remote) {
        rx_remote_info *ri = r->remote;
        rx_host_free(&ri->h);
        free(ri->username);
        if (ri->password) explicit_bzero(ri->password, strlen(ri->password));
        free(ri->password);
        if (ri->api_key) explicit_bzero(ri->api_key, strlen(ri->api_key));
        free(ri->api_key);
        strv_free(ri->hdr_k, ri->n_hdr);
        for (size_t i = 0; i < ri->n_hdr; i++)
            if (ri->hdr_v[i]) explicit_bzero(ri->hdr_v[i], strlen(ri->hdr_v[i]));
        strv_free(ri->hdr_v, ri->n_hdr);
        free(ri->query_pretty);
        free(ri->query_compact);
        free(ri);
    }
    free(r->dest_index);
    free(r->pipeline);
    free(r->routing_value);
    free(r->scroll_text);
    free(r->url_routing);
    free(r->description);
    strv_free(r->warnings, r->n_warnings);
    free(r);
}

bool rx_request_wait_for_completion(const rx_request *r)
{
    return r->wait_for_completion;
}

size_t rx_request_sources(const rx_request *r, const char *const **names)
{
    *names = (const char *const *)r->indices;
    return r->remote ? 0 : r->n_indices;
}

bool rx_request_is_remote(const rx_request *r)
{
    return r->remote != NULL;
}

const char *rx_request_dest(const rx_request *r, bool *create)
{
    if (create) *create = r->op_create;
    return r->kind == RX_REINDEX ? r->dest_index : NULL;
}

size_t rx_request_warnings(const rx_request *r, const char *const **out)
{
    *out = (const char *const *)r->warnings;
    return r->n_warnings;
}

const char *rx_request_description(const rx_request *r)
{
    return r->description ? r->description : "";
}

static void add_warning(rx_request *r, const char *msg)
{
    for (size_t i = 0; i < r->n_warnings; i++)
        if (!strcmp(r->warnings[i], msg)) return;
    r->warnings = strv_push(r->warnings, &r->n_warnings, msg, strlen(msg));
}

/* Every key SearchSourceBuilder.parseXContent knows (others: "Unknown key for a ... in [k]."). */
static const char *const search_keys[] = {
    "from", "size", "timeout", "terminate_after", "min_score", "version", "seq_no_primary_term", "explain",
    "track_scores", "track_total_hits", "_source", "stored_fields", "docvalue_fields", "fields", "script_fields",
    "sort", "query", "post_filter", "knn", "rank", "retriever", "sub_searches", "aggregations", "aggs", "highlight",
    "suggest", "rescore", "ext", "slice", "collapse", "search_after", "pit", "runtime_mappings", "indices_boost",
    "stats", "profile", "point_in_time",
};

static bool is_search_key(const char *k)
{
    for (size_t i = 0; i < ARRAY_LEN(search_keys); i++)
        if (!strcmp(k, search_keys[i])) return true;
    return false;
}

/* FetchSourceContext.fromXContent (the index module's parser). Returns 1 for "_source": false. */
static int parse_source_filter(rx_request *r, const json_val *v, es_err *err)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_val(&w, v);
    r->source_json = buf_detach(&b, NULL);
    int fetch;
    if (source_filter_parse(v, &fetch, &r->src_inc, &r->n_inc, &r->src_exc, &r->n_exc, err)) return -1;
    return fetch == 0 ? 1 : 0;
}

/* Sort to the remote's URL form (field:order): plain field sorts only. */
static int parse_sort(rx_request *r, const json_val *v, es_err *err)
{
    r->has_sort = true;
    {
        buf sj = { 0 };
        json_w sw;
        jw_init(&sw, &sj, false);
        jw_val(&sw, v);
        free(r->sort_json);
        r->sort_json = buf_detach(&sj, NULL);
    }
    buf b = { 0 };
    const json_val *items[64];
    size_t n = 0;
    if (json_type_of(v) == JSON_ARRAY) {
        for (size_t i = 0; i < json_len(v) && n < ARRAY_LEN(items); i++) items[n++] = json_arr_get(v, i);
    } else {
        items[n++] = v;
    }
    for (size_t i = 0; i < n; i++) {
        const json_val *s = items[i];
        if (b.len) buf_putc(&b, ',');
        if (json_type_of(s) == JSON_STRING) {
            const char *f = json_str(s, NULL);
            buf_printf(&b, "%s:%s", f, !strcmp(f, "_score") ? "desc" : "asc");
        } else if (json_type_of(s) == JSON_OBJECT && json_len(s) == 1) {
            json_iter it = json_iter_begin(s);
            const char *k;
            size_t kl;
            const json_val *o = json_iter_next(&it, &k, &kl);
            const char *order = !strcmp(k, "_score") ? "desc" : "asc";
            if (json_type_of(o) == JSON_STRING) {
                order = json_str(o, NULL);
            } else if (json_type_of(o) == JSON_OBJECT) {
                const json_val *ov = json_obj_get(o, "order");
                if (json_len(o) != (ov ? 1u : 0u) || (ov && json_type_of(ov) != JSON_STRING)) goto unsupported;
                if (ov) order = json_str(ov, NULL);
            } else {
                goto unsupported;
            }
            if (strcmp(order, "asc") && strcmp(order, "desc")) goto unsupported;
            buf_printf(&b, "%s:%s", k, order);
        } else {
            goto unsupported;
        }
    }
    r->sort_url = buf_detach(&b, NULL);
    return 0;
unsupported : {
    buf t = { 0 };
    java_text(&t, v);
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unsupported sort [%s]", t.p);
    buf_free(&t);
    buf_free(&b);
    return -1;
}
}

static int extract_string(const json_val *v, const char *name, char **out, es_err *err)
{
    if (!v || json_type_of(v) == JSON_NULL) return 0;
    if (json_type_of(v) != JSON_STRING) {
        buf b = { 0 };
        java_text(&b, v);
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Expected [%s] to be a string but was [%s]", name, b.p);
        buf_free(&b);
        return -1;
    }
    size_t len;
    const char *s = json_str(v, &len);
    *out = xstrndup(s, len);
    return 0;
}

static int build_remote(rx_request *r, const json_val *remote, const json_val *query, es_err *err)
{
    rx_remote_info *ri = xcalloc(1, sizeof *ri);
    r->remote = ri;
    if (json_type_of(remote) != JSON_OBJECT) {
        buf b = { 0 };
        java_text(&b, remote);
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Expected [remote] to be an object but was [%s]", b.p);
        buf_free(&b);
        return -1;
    }
    /* Keys are consumed as RemoteInfo does; what is left is reported. */
    size_t nkeys = json_len(remote);
    bool *used = xcalloc(nkeys ? nkeys : 1, sizeof *used);
    int rc = -1;
    const json_val *user = NULL, *pass = NULL, *host = NULL, *headers = NULL, *api_key = NULL, *sto = NULL,
                   *cto = NULL;
    {
        json_iter it = json_iter_begin(remote);
        const json_val *m;
        const char *k;
        size_t kl;
        size_t i = 0;
        while ((m = json_iter_next(&it, &k, &kl))) {
            /* the last duplicate wins, as a map */
            if (!strcmp(k, "username")) user = m, used[i] = true;
            else if (!strcmp(k, "password")) pass = m, used[i] = true;
            else if (!strcmp(k, "host")) host = m, used[i] = true;
            else if (!strcmp(k, "headers")) headers = m, used[i] = true;
            else if (!strcmp(k, "api_key")) api_key = m, used[i] = true;
            else if (!strcmp(k, "socket_timeout")) sto = m, used[i] = true;
            else if (!strcmp(k, "connect_timeout")) cto = m, used[i] = true;
            i++;
        }
    }
    if (extract_string(user, "username", &ri->username, err)) goto out;
    if (pass && json_type_of(pass) != JSON_NULL && json_type_of(pass) != JSON_STRING) {
        /* Never echo a password, even a malformed one. */
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Expected [password] to be a string but was [<<>>]");
        goto out;
    }
    if (extract_string(pass, "password", &ri->password, err)) goto out;
    char *hoststr = NULL;
    if (extract_string(host, "host", &hoststr, err)) goto out;
    if (!hoststr) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[host] must be specified to reindex from a remote cluster");
        err->type_name = "null_pointer_exception";
        goto out;
    }
    if (rx_host_parse(hoststr, &ri->h, err)) {
        free(hoststr);
        goto out;
    }
    free(hoststr);
    if (headers && json_type_of(headers) != JSON_NULL) {
        if (json_type_of(headers) != JSON_OBJECT) {
            buf b = { 0 };
            java_text(&b, headers);
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Expected [headers] to be an object containing strings but was [%s]", b.p);
            buf_free(&b);
            goto out;
        }
        json_iter it = json_iter_begin(headers);
        const json_val *m;
        const char *k;
        size_t kl;
        while ((m = json_iter_next(&it, &k, &kl))) {
            if (json_type_of(m) != JSON_STRING) {
                buf b = { 0 };
                java_text(&b, m);
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Expected [headers] to be an object containing strings but has [%.*s=%s]",
                           (int)kl, k, b.p);
                buf_free(&b);
                goto out;
            }
            size_t vl;
            const char *vs = json_str(m, &vl);
            if (memchr(k, '\n', kl) || memchr(k, '\r', kl) || memchr(k, ':', kl) || memchr(vs, '\n', vl) ||
                memchr(vs, '\r', vl) || !kl) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid header [%.*s] in [headers]: names and values must be single lines",
                           (int)kl, k);
                goto out;
            }
            size_t n0 = ri->n_hdr;
            ri->hdr_k = strv_push(ri->hdr_k, &ri->n_hdr, k, kl);
            ri->n_hdr = n0;
            ri->hdr_v = strv_push(ri->hdr_v, &ri->n_hdr, vs, vl);
        }
    }
    if (extract_string(api_key, "api_key", &ri->api_key, err)) goto out;
    if (ri->api_key) {
        for (size_t i = 0; i < ri->n_hdr; i++)
            if (!strcasecmp(ri->hdr_k[i], "Authorization")) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Cannot specify both [api_key] and [headers] including [Authorization] key");
                goto out;
            }
    }
    ri->socket_timeout_ms = RX_DEFAULT_TIMEOUT_MS;
    ri->connect_timeout_ms = RX_DEFAULT_TIMEOUT_MS;
    char *t = NULL;
    if (extract_string(sto, "socket_timeout", &t, err)) goto out;
    if (t) {
        int trc = rx_parse_time(t, "socket_timeout", &ri->socket_timeout_ms, err);
        free(t);
        if (trc) goto out;
    }
    t = NULL;
    if (extract_string(cto, "connect_timeout", &t, err)) goto out;
    if (t) {
        int trc = rx_parse_time(t, "connect_timeout", &ri->connect_timeout_ms, err);
        free(t);
        if (trc) goto out;
    }
    {
        buf b = { 0 };
        size_t i = 0, shown = 0;
        json_iter it = json_iter_begin(remote);
        const json_val *m;
        const char *k;
        size_t kl;
        while ((m = json_iter_next(&it, &k, &kl))) {
            if (!used[i]) {
                buf_printf(&b, "%s%.*s", shown ? "," : "", (int)kl, k);
                shown++;
            }
            i++;
        }
        if (shown) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unsupported fields in [remote]: [%s]", b.p);
            buf_free(&b);
            goto out;
        }
        buf_free(&b);
    }
    /* The query: kept as given, sent unvalidated. */
    if (query && json_type_of(query) != JSON_NULL) {
        if (json_type_of(query) != JSON_OBJECT) {
            buf b = { 0 };
            java_text(&b, query);
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Expected [query] to be an object but was [%s]", b.p);
            buf_free(&b);
            goto out;
        }
        buf c = { 0 }, p = { 0 };
        json_w w;
        jw_init(&w, &c, false);
        jw_val(&w, query);
        json_reformat(c.p, c.len, true, &p);
        ri->query_compact = buf_detach(&c, NULL);
        ri->query_pretty = buf_detach(&p, NULL);
    } else {
        ri->query_compact = xstrdup("{\"match_all\":{\"boost\":1.0}}");
        ri->query_pretty = xstrdup("{\n  \"match_all\" : {\n    \"boost\" : 1.0\n  }\n}");
    }
    rc = 0;
out:
    free(used);
    return rc;
}

/* "source": the index list, remote, then the rest as a search body. */
static int parse_source(reindex_env *env, rx_request *r, const located *l, const json_val *src, bool *source_false,
                        es_err *err)
{
    const json_val *index = NULL, *remote = NULL, *query = NULL;
    json_iter it = json_iter_begin(src);
    const json_val *m;
    const char *k;
    size_t kl;
    while ((m = json_iter_next(&it, &k, &kl))) {
        if (!strcmp(k, "index")) index = m;
        else if (!strcmp(k, "remote")) remote = m;
        else if (!strcmp(k, "query")) query = m;
    }
    if (index && json_type_of(index) != JSON_NULL) {
        if (json_type_of(index) == JSON_STRING) {
            const char *s = json_str(index, NULL);
            const char *p = s;
            while (*p) {
                const char *e = strchr(p, ',');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                /* Strings.splitStringByCommaToArray keeps the parts as given (trimmed by nothing) */
                if (len) r->indices = strv_push(r->indices, &r->n_indices, p, len);
                if (!e) break;
                p = e + 1;
            }
        } else if (json_type_of(index) == JSON_ARRAY) {
            for (size_t i = 0; i < json_len(index); i++) {
                const json_val *e = json_arr_get(index, i);
                buf b = { 0 };
                java_text(&b, e);
                r->indices = strv_push(r->indices, &r->n_indices, b.p ? b.p : "", b.len);
                buf_free(&b);
            }
        } else {
            buf b = { 0 };
            java_text(&b, index);
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Expected [index] to be a list or a string but was [%s]", b.p);
            buf_free(&b);
            return -1;
        }
    }
    if (remote && json_type_of(remote) != JSON_NULL) {
        if (build_remote(r, remote, query, err)) return -1;
    }
    (void)env;
    /* What is left: a search body. */
    it = json_iter_begin(src);
    while ((m = json_iter_next(&it, &k, &kl))) {
        if (!strcmp(k, "index") || !strcmp(k, "remote")) continue;
        if (!strcmp(k, "query") && r->remote) continue;
        if (!is_search_key(k)) {
            unsigned line, col;
            key_location(l, m, &line, &col);
            es_err_set(err, ES_PARSING, "Unknown key for a %s in [%s].", json_token_name(m), k);
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%u", line);
            es_err_extra(err, "line", tmp, true);
            snprintf(tmp, sizeof tmp, "%u", col);
            es_err_extra(err, "col", tmp, true);
            return -1;
        }
        if (!strcmp(k, "size")) {
            es_err cause = { 0 };
            int64_t v;
            if (int_value(m, &v, &cause)) return failed_field(err, l, src, "reindex", "source", &cause);
            r->size = v;
        } else if (!strcmp(k, "query")) {
            if (json_type_of(m) != JSON_OBJECT) {
                unsigned line, col;
                value_location(l, m, &line, &col);
                return es_err_set(err, ES_PARSING, "[query] failed to parse field [query]");
            }
            buf b = { 0 };
            json_w w;
            jw_init(&w, &b, false);
            jw_val(&w, m);
            r->query = buf_detach(&b, NULL);
        } else if (!strcmp(k, "_source")) {
            int s = parse_source_filter(r, m, err);
            if (s < 0) return -1;
            if (s == 1) *source_false = true;
        } else if (!strcmp(k, "sort")) {
            if (parse_sort(r, m, err)) return -1;
        } else if (!strcmp(k, "slice")) {
            if (json_type_of(m) != JSON_OBJECT) return es_err_set(err, ES_PARSING, "[slice] failed to parse field [slice]");
            r->has_slice = true;
            r->slice_id = -1;
            r->slice_max = -1;
            json_iter si = json_iter_begin(m);
            const json_val *sv;
            const char *sk;
            size_t skl;
            while ((sv = json_iter_next(&si, &sk, &skl))) {
                es_err cause = { 0 };
                int64_t x;
                if (!strcmp(sk, "id") || !strcmp(sk, "max")) {
                    if (int_value(sv, &x, &cause)) return failed_field(err, l, sv, "slice", sk, &cause);
                    if (!strcmp(sk, "id")) r->slice_id = (int32_t)x;
                    else r->slice_max = (int32_t)x;
                } else if (!strcmp(sk, "field")) {
                    if (extract_string(sv, "field", &r->slice_field, err)) return -1;
                } else {
                    return unknown_field(err, l, sv, "slice", sk);
                }
            }
            if (r->slice_max <= 1) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "max must be greater than 1");
            if (r->slice_id < 0) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "id must be greater than or equal to 0");
            if (r->slice_id >= r->slice_max) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "max must be greater than id");
        }
    }
    return 0;
}

static int parse_dest(rx_request *r, const located *l, const json_val *dest, es_err *err)
{
    json_iter it = json_iter_begin(dest);
    const json_val *m;
    const char *k;
    size_t kl;
    while ((m = json_iter_next(&it, &k, &kl))) {
        bool known = !strcmp(k, "index") || !strcmp(k, "routing") || !strcmp(k, "op_type") || !strcmp(k, "pipeline") ||
                     !strcmp(k, "version_type");
        if (!known) return unknown_field(err, l, m, "dest", k);
        if (json_type_of(m) == JSON_NULL) continue;
        if (json_type_of(m) != JSON_STRING) return wrong_type(err, l, m, "dest", k);
        const char *s = json_str(m, NULL);
        if (!strcmp(k, "index")) {
            free(r->dest_index);
            r->dest_index = xstrdup(s);
        } else if (!strcmp(k, "routing")) {
            if (!strcmp(s, "keep")) {
                r->routing = RX_ROUTE_KEEP;
            } else if (!strcmp(s, "discard")) {
                r->routing = RX_ROUTE_DISCARD;
            } else if (s[0] == '=') {
                r->routing = RX_ROUTE_SET;
                free(r->routing_value);
                r->routing_value = xstrdup(s + 1);
            } else {
                r->routing = (rx_routing)99; /* invalid: reported by validate */
            }
        } else if (!strcmp(k, "op_type")) {
            if (!strcasecmp(s, "create")) r->op_create = true;
            else if (!strcasecmp(s, "index")) r->op_create = false;
            else {
                es_err cause = { 0 };
                es_err_set(&cause, ES_ILLEGAL_ARGUMENT, "opType must be 'create' or 'index', found: [%s]", s);
                return failed_field(err, l, m, "dest", k, &cause);
            }
        } else if (!strcmp(k, "pipeline")) {
            free(r->pipeline);
            r->pipeline = xstrdup(s);
        } else if (!strcmp(k, "version_type")) {
            if (!strcmp(s, "internal")) {
                r->vt = STORE_VERSION_INTERNAL;
                r->vt_external = false;
            } else if (!strcmp(s, "external") || !strcmp(s, "external_gt")) {
                r->vt = STORE_VERSION_EXTERNAL;
                r->vt_external = true;
            } else if (!strcmp(s, "external_gte")) {
                r->vt = STORE_VERSION_EXTERNAL_GTE;
                r->vt_external = true;
            } else {
                es_err cause = { 0 };
                es_err_set(&cause, ES_ILLEGAL_ARGUMENT, "No version type match [%s]", s);
                return failed_field(err, l, m, "dest", k, &cause);
            }
        }
    }
    return 0;
}

static int set_max_docs(rx_request *r, int64_t v, es_err *err)
{
    if (v < 0) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "[max_docs] parameter cannot be negative, found [%" PRId64 "]", v);
    if (r->max_docs != -1 && r->max_docs != v)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "[max_docs] set to two different values [%" PRId64 "] and [%" PRId64 "]",
                          r->max_docs, v);
    r->max_docs = v;
    return 0;
}

static int parse_conflicts(rx_request *r, const char *s, es_err *err)
{
    if (!strcmp(s, "proceed")) r->abort_on_conflict = false;
    else if (!strcmp(s, "abort")) r->abort_on_conflict = true;
    else return es_err_set(err, ES_ILLEGAL_ARGUMENT, "conflicts may only be \"proceed\" or \"abort\" but was [%s]", s);
    return 0;
}

static int parse_reindex_body(reindex_env *env, rx_request *r, const located *l, const json_val *root,
                              bool *source_false, bool *has_from, bool *has_stored_fields, es_err *err)
{
    json_iter it = json_iter_begin(root);
    const json_val *m;
    const char *k;
    size_t kl;
    while ((m = json_iter_next(&it, &k, &kl))) {
        if (!strcmp(k, "source")) {
            if (json_type_of(m) == JSON_NULL) continue;
            if (json_type_of(m) != JSON_OBJECT) return wrong_type(err, l, m, "reindex", "source");
            if (json_obj_get(m, "from")) *has_from = true;
            if (json_obj_get(m, "stored_fields")) *has_stored_fields = true;
            es_err inner = { 0 };
            if (parse_source(env, r, l, m, source_false, &inner)) {
                /* Errors of the source's own parsing come back as ObjectParser wraps them. */
                if (inner.type == ES_X_CONTENT_PARSE || inner.type == ES_PARSING) {
                    *err = inner;
                    return -1;
                }
                return failed_field(err, l, m, "reindex", "source", &inner);
            }
        } else if (!strcmp(k, "dest")) {
            if (json_type_of(m) == JSON_NULL) continue;
            if (json_type_of(m) != JSON_OBJECT) return wrong_type(err, l, m, "reindex", "dest");
            if (parse_dest(r, l, m, err)) return -1;
        } else if (!strcmp(k, "max_docs") || !strcmp(k, "size")) {
            es_err cause = { 0 };
            int64_t v;
            if (int_value(m, &v, &cause) || set_max_docs(r, v, &cause)) return failed_field(err, l, m, "reindex", k, &cause);
            if (!strcmp(k, "size")) add_warning(r, "Deprecated field [size] used, expected [max_docs] instead");
        } else if (!strcmp(k, "script")) {
            if (json_type_of(m) != JSON_NULL) r->has_script = true;
        } else if (!strcmp(k, "conflicts")) {
            if (json_type_of(m) != JSON_STRING) return wrong_type(err, l, m, "reindex", "conflicts");
            es_err cause = { 0 };
            if (parse_conflicts(r, json_str(m, NULL), &cause)) return failed_field(err, l, m, "reindex", k, &cause);
        } else {
            return unknown_field(err, l, m, "reindex", k);
        }
    }
    return 0;
}

/* _update_by_query / _delete_by_query bodies: query, max_docs, conflicts, slice, script
 * (update), sort, _source, size (as max_docs, deprecated). */
static int parse_byquery_body(rx_request *r, const located *l, const json_val *root, bool *has_from,
                              bool *has_stored_fields, es_err *err)
{
    const char *parser = r->kind == RX_UPDATE_BY_QUERY ? "update_by_query" : "delete_by_query";
    json_iter it = json_iter_begin(root);
    const json_val *m;
    const char *k;
    size_t kl;
    while ((m = json_iter_next(&it, &k, &kl))) {
        if (!strcmp(k, "max_docs") || !strcmp(k, "size")) {
            es_err cause = { 0 };
            int64_t v;
            if (int_value(m, &v, &cause) || set_max_docs(r, v, &cause)) return failed_field(err, l, m, parser, k, &cause);
        } else if (!strcmp(k, "conflicts")) {
            if (json_type_of(m) != JSON_STRING) return wrong_type(err, l, m, parser, "conflicts");
            if (parse_conflicts(r, json_str(m, NULL), err)) return -1;
        } else if (!strcmp(k, "script") && r->kind == RX_UPDATE_BY_QUERY) {
            if (json_type_of(m) != JSON_NULL) r->has_script = true;
        } else if (!strcmp(k, "query")) {
            if (json_type_of(m) != JSON_OBJECT) return es_err_set(err, ES_PARSING, "[query] failed to parse field [query]");
            buf b = { 0 };
            json_w w;
            jw_init(&w, &b, false);
            jw_val(&w, m);
            free(r->query);
            r->query = buf_detach(&b, NULL);
        } else if (!strcmp(k, "_source")) {
            if (parse_source_filter(r, m, err) < 0) return -1;
        } else if (!strcmp(k, "sort")) {
            if (parse_sort(r, m, err)) return -1;
        } else if (!strcmp(k, "slice")) {
            json_val const *id = json_obj_get(m, "id"), *max = json_obj_get(m, "max");
            r->has_slice = true;
            r->slice_id = id ? (int32_t)json_int(id) : -1;
            r->slice_max = max ? (int32_t)json_int(max) : -1;
            if (r->slice_max <= 1) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "max must be greater than 1");
            if (r->slice_id < 0) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "id must be greater than or equal to 0");
            if (r->slice_id >= r->slice_max) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "max must be greater than id");
        } else if (!strcmp(k, "from")) {
            *has_from = true;
        } else if (!strcmp(k, "stored_fields")) {
            *has_stored_fields = true;
        } else if (!is_search_key(k)) {
            unsigned line, col;
            key_location(l, m, &line, &col);
            es_err_set(err, ES_PARSING, "Unknown key for a %s in [%s].", json_token_name(m), k);
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%u", line);
            es_err_extra(err, "line", tmp, true);
            snprintf(tmp, sizeof tmp, "%u", col);
            es_err_extra(err, "col", tmp, true);
            return -1;
        }
    }
    return 0;
}

static void build_description(rx_request *r)
{
    buf b = { 0 };
    if (r->kind == RX_REINDEX) {
        buf_puts(&b, "reindex from ");
        if (r->remote) {
            rx_remote_info *ri = r->remote;
            buf_putc(&b, '[');
            if (strcmp(ri->h.scheme, "http")) buf_printf(&b, "scheme=%s ", ri->h.scheme);
            buf_printf(&b, "host=%s port=%d", ri->h.host, ri->h.port);
            if (ri->h.path_prefix) buf_printf(&b, " pathPrefix=%s", ri->h.path_prefix);
            buf_printf(&b, " query=%s", ri->query_pretty);
            if (ri->username) buf_printf(&b, " username=%s", ri->username);
            if (ri->password) buf_puts(&b, " password=<<>>");
            buf_putc(&b, ']');
        }
    } else {
        buf_puts(&b, r->kind == RX_UPDATE_BY_QUERY ? "update-by-query " : "delete-by-query ");
    }
    if (r->n_indices) {
        buf_putc(&b, '[');
        for (size_t i = 0; i < r->n_indices; i++) buf_printf(&b, "%s%s", i ? ", " : "", r->indices[i]);
        buf_putc(&b, ']');
    } else {
        buf_puts(&b, "[all indices]");
    }
    if (r->kind == RX_REINDEX) buf_printf(&b, " to [%s]", r->dest_index ? r->dest_index : "null");
    r->description = buf_detach(&b, NULL);
}

/* ActionRequestValidationException: "Validation Failed: 1: a;2: b;" */
typedef struct verrs {
    buf b;
    int n;
} verrs;

static void verr(verrs *v, const char *fmt, ...) FERRY_PRINTF(2, 3);
static void verr(verrs *v, const char *fmt, ...)
{
    if (!v->n) buf_puts(&v->b, "Validation Failed: ");
    buf_printf(&v->b, "%d: ", ++v->n);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&v->b, fmt, ap);
    va_end(ap);
    buf_putc(&v->b, ';');
}

static int url_params(reindex_env *env, rx_request *r, const rx_params *p, es_err *err)
{
    if (p->refresh) {
        if (!*p->refresh || !strcmp(p->refresh, "true")) r->refresh = true;
        else if (!strcmp(p->refresh, "false")) r->refresh = false;
        else
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "Failed to parse value [%s] as only [true] or [false] are allowed.", p->refresh);
    }
    if (p->timeout && rx_parse_time(p->timeout, "timeout", &r->timeout_ms, err)) return -1;
    if (p->slices) {
        int64_t v;
        if (!strcmp(p->slices, "auto")) {
            r->slices = 0;
        } else if (!parse_java_long(p->slices, INT32_MIN, INT32_MAX, &v) || v < 1) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "[slices] must be a positive integer or the string \"auto\", but was [%s]", p->slices);
            int64_t tmp;
            if (!parse_java_long(p->slices, INT32_MIN, INT32_MAX, &tmp)) {
                es_err *c = xcalloc(1, sizeof *c);
                number_format(c, p->slices);
                es_err_cause(err, c);
            }
            return -1;
        } else {
            r->slices = (int32_t)v;
        }
    }
    if (p->wait_for_active_shards) {
        const char *s = p->wait_for_active_shards;
        int64_t v;
        if (!strcmp(s, "all")) r->wait_active = -1;
        else if (!strcmp(s, "default") || !*s) r->wait_active = 1;
        else if (parse_java_long(s, INT32_MIN, INT32_MAX, &v) && v >= 0) r->wait_active = (int32_t)v;
        else return es_err_set(err, ES_ILLEGAL_ARGUMENT, "cannot parse ActiveShardCount[%s]", s);
    }
    if (p->requests_per_second && rx_parse_rps(p->requests_per_second, &r->rps, err)) return -1;
    if (p->max_docs) {
        int64_t v;
        if (!parse_java_long(p->max_docs, INT32_MIN, INT32_MAX, &v)) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse int parameter [max_docs] with value [%s]", p->max_docs);
            es_err *c = xcalloc(1, sizeof *c);
            number_format(c, p->max_docs);
            es_err_cause(err, c);
            return -1;
        }
        if (set_max_docs(r, v, err)) return -1;
    }
    if (p->wait_for_completion) {
        if (!*p->wait_for_completion || !strcmp(p->wait_for_completion, "true")) r->wait_for_completion = true;
        else if (!strcmp(p->wait_for_completion, "false")) r->wait_for_completion = false;
        else
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "Failed to parse value [%s] as only [true] or [false] are allowed.",
                              p->wait_for_completion);
    }
    (void)env;
    return 0;
}

int rx_request_parse(reindex_env *env, rx_kind kind, const char *body, size_t len, const rx_params *p,
                     rx_request **out, es_err *err)
{
    *out = NULL;
    rx_request *r = xcalloc(1, sizeof *r);
    r->kind = kind;
    r->size = RX_DEFAULT_SIZE;
    r->max_docs = -1;
    r->abort_on_conflict = true;
    r->timeout_ms = 60000;
    r->wait_active = 1;
    r->wait_for_completion = true;
    r->rps = INFINITY;
    r->scroll_ms = RX_DEFAULT_SCROLL_MS;
    r->slices = 1;
    r->human = p->human;
    r->ropts = resolve_opts_default();
    json_doc *doc = NULL;
    bool source_false = false, has_from = false, has_stored_fields = false;

    if (kind == RX_REINDEX && p->pipeline) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "_reindex doesn't support [pipeline] as a query parameter. Specify it in the [dest] object instead.");
        goto fail;
    }
    /* The body. */
    bool empty = true;
    for (size_t i = 0; body && i < len; i++)
        if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t') empty = false;
    if (empty && kind == RX_REINDEX) {
        es_err_set(err, ES_PARSE, "request body is required");
        goto fail;
    }
    if (!empty) {
        json_err je;
        doc = json_parse(body, len, NULL, &je);
        if (!doc) {
            es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", je.line, je.col, je.msg);
            es_err *cause = xcalloc(1, sizeof *cause);
            es_err_set(cause, ES_JSON_PARSE, "%s\n at [" JSON_SOURCE_NOTE "; line: %u, column: %u]", je.msg, je.line,
                       je.col);
            es_err_cause(err, cause);
            goto fail;
        }
        const json_val *root = json_doc_root(doc);
        located l = { body, len, doc };
        if (json_type_of(root) != JSON_OBJECT) {
            es_err_set(err, ES_PARSE, "request body is required");
            goto fail;
        }
        if (kind == RX_REINDEX) {
            if (parse_reindex_body(env, r, &l, root, &source_false, &has_from, &has_stored_fields, err)) goto fail;
        } else {
            if (parse_byquery_body(r, &l, root, &has_from, &has_stored_fields, err)) goto fail;
        }
    }
    if (kind != RX_REINDEX) {
        /* The {index} path part and the search-style URL parameters. */
        const char *ix = p->index ? p->index : "";
        const char *q = ix;
        while (*q) {
            const char *e = strchr(q, ',');
            size_t l2 = e ? (size_t)(e - q) : strlen(q);
            if (l2) r->indices = strv_push(r->indices, &r->n_indices, q, l2);
            if (!e) break;
            q = e + 1;
        }
        if (p->conflicts && parse_conflicts(r, p->conflicts, err)) goto fail;
        if (p->scroll_size) {
            int64_t v;
            if (!parse_java_long(p->scroll_size, INT32_MIN, INT32_MAX, &v)) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse int parameter [scroll_size] with value [%s]",
                           p->scroll_size);
                goto fail;
            }
            r->size = v;
        }
        if (p->routing) r->url_routing = xstrdup(p->routing);
        if (p->pipeline && kind == RX_UPDATE_BY_QUERY) r->pipeline = xstrdup(p->pipeline);
        if (p->q) {
            /* q= is a query_string query on the URL. */
            buf b = { 0 };
            json_w w;
            jw_init(&w, &b, false);
            jw_obj_begin(&w);
            jw_key(&w, "query_string");
            jw_obj_begin(&w);
            jw_kstr(&w, "query", p->q);
            if (p->df) jw_kstr(&w, "default_field", p->df);
            if (p->default_operator) jw_kstr(&w, "default_operator", p->default_operator);
            if (p->analyzer) jw_kstr(&w, "analyzer", p->analyzer);
            jw_obj_end(&w);
            jw_obj_end(&w);
            free(r->query);
            r->query = buf_detach(&b, NULL);
        }
    }
    if (resolve_opts_parse(&r->ropts, p->ignore_unavailable, p->allow_no_indices, p->expand_wildcards, err)) goto fail;
    if (p->scroll) {
        if (rx_parse_time(p->scroll, "scroll", &r->scroll_ms, err)) goto fail;
        r->scroll_text = xstrdup(p->scroll);
    }
    if (p->require_alias) {
        if (!*p->require_alias || !strcmp(p->require_alias, "true")) r->require_alias = true;
        else if (!strcmp(p->require_alias, "false")) r->require_alias = false;
        else {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] as only [true] or [false] are allowed.",
                       p->require_alias);
            goto fail;
        }
    }
    if (url_params(env, r, p, err)) goto fail;
    if (r->has_sort)
        add_warning(r, "The sort option in reindex is deprecated. Instead consider using query filtering to find the "
                       "desired subset of data.");

    /* validate() */
    verrs v = { 0 };
    if (has_from) verr(&v, "from is not supported in this context");
    if (has_stored_fields) verr(&v, "stored_fields is not supported in this context");
    if (r->has_slice && r->slices != 1) verr(&v, "can't specify both manual and automatic slicing at the same time");
    if (r->max_docs != -1 && r->slices > 1 && r->max_docs < r->slices) verr(&v, "[max_docs] should be >= [slices]");
    if (kind == RX_REINDEX) {
        if (!r->n_indices) verr(&v, "use _all if you really want to copy from all existing indexes");
        if (source_false) verr(&v, "_source:false is not supported in this context");
        if (!r->dest_index) verr(&v, "index must be specified");
        if (r->routing != RX_ROUTE_KEEP && r->routing != RX_ROUTE_DISCARD && r->routing != RX_ROUTE_SET)
            verr(&v, "routing must be unset, [keep], [discard] or [=<some new value>]");
        if (r->remote) {
            if ((r->slices == 0 || r->slices > 1) && !env->remote_slices)
                verr(&v, "reindex from remote sources doesn't support slices > 1 but was [%d]", r->slices);
            if (r->remote->username && !r->remote->password)
                verr(&v, "reindex from remote source included username but not password");
            if (r->remote->password && !r->remote->username)
                verr(&v, "reindex from remote source included password but not username");
        }
    }
    if (r->size <= 0 && !v.n) {
        /* SearchRequest.validate on a scroll: size 0 returns no hits and would never end. */
        verr(&v, "[size] cannot be [0] in a scroll context");
    }
    if (v.n) {
        es_err_set(err, ES_ACTION_REQUEST_VALIDATION, "%s", v.b.p);
        buf_free(&v.b);
        goto fail;
    }
    if (r->has_script) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "[script] is not supported by this node: ferry has no scripting engine yet; remove [script] from "
                   "the request (or transform the documents with an ingest step after the copy)");
        goto fail;
    }
    if (kind == RX_REINDEX && r->remote && r->has_slice && !env->remote_slices) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "reindex from remote sources doesn't support source.slice");
        goto fail;
    }
    /* max_docs smaller than a batch: ask for no more than needed. */
    if (r->max_docs != -1 && r->max_docs < r->size) r->size = r->max_docs;
    if (r->size <= 0) r->size = 1;
    build_description(r);
    json_doc_free(doc);
    *out = r;
    return 0;
fail:
    json_doc_free(doc);
    rx_request_free(r);
    return -1;
}
