/*
 * http.c — the server: libmicrohttpd glue, request life cycle, routing,
 * parameter checks, content negotiation and response finishing.
 *
 * Life of a request:
 *   uri_log_cb        raw URI arrives → an http_req is allocated (MHD's con_cls)
 *   access_cb #1      method, URI parsing, early 413 on a declared oversize body
 *   access_cb #2..n   body chunks appended (bounded by http.max_content_length)
 *   access_cb last    dispatch(): inflate, negotiate, route, check params,
 *                     run the handler, finish (filter_path, pretty, gzip), queue
 *   completed_cb      the http_req is freed
 */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const common_params[] = {
    "pretty", "human", "error_trace", "filter_path", "format", "source", "source_content_type",
};

#define JSON_TYPE "application/json; charset=UTF-8"

const char *http_method_name(http_method m)
{
    switch (m) {
    case HTTP_GET: return "GET";
    case HTTP_POST: return "POST";
    case HTTP_PUT: return "PUT";
    case HTTP_DELETE: return "DELETE";
    case HTTP_HEAD: return "HEAD";
    case HTTP_PATCH: return "PATCH";
    case HTTP_OPTIONS: return "OPTIONS";
    }
    return "?";
}

static http_method parse_method(const char *m)
{
    static const struct { const char *name; http_method m; } tbl[] = {
        { "GET", HTTP_GET },       { "POST", HTTP_POST }, { "PUT", HTTP_PUT },
        { "DELETE", HTTP_DELETE }, { "HEAD", HTTP_HEAD }, { "PATCH", HTTP_PATCH },
        { "OPTIONS", HTTP_OPTIONS },
    };
    for (size_t i = 0; i < ARRAY_LEN(tbl); i++)
        if (strcmp(m, tbl[i].name) == 0) return tbl[i].m;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Request parsing */

static void add_param(http_req *req, char *key, char *value)
{
    /* A repeated parameter keeps the last value, as Elasticsearch's decoder does. */
    for (size_t i = 0; i < req->n_params; i++) {
        if (strcmp(req->params[i].key, key) == 0) {
            free(req->params[i].value);
            free(key);
            req->params[i].value = value;
            return;
        }
    }
    req->params = xrealloc(req->params, (req->n_params + 1) * sizeof *req->params);
    req->params[req->n_params++] = (http_kv){ key, value, false };
}

static bool parse_uri(http_req *req)
{
    const char *uri = req->raw_uri;
    const char *q = strchr(uri, '?');
    size_t plen = q ? (size_t)(q - uri) : strlen(uri);
    bool ok = true;

    /* Path: split on '/', then percent-decode each segment, so that %2F stays inside one. */
    buf path = { 0 };
    const char *p = uri, *end = uri + plen;
    while (p < end) {
        while (p < end && *p == '/') p++;
        if (p >= end) break;
        const char *s = p;
        while (p < end && *p != '/') p++;
        buf seg = { 0 };
        if (!http_percent_decode(s, (size_t)(p - s), false, &seg)) ok = false;
        req->segs = xrealloc(req->segs, (req->nsegs + 1) * sizeof *req->segs);
        req->segs[req->nsegs++] = buf_detach(&seg, NULL);
        buf_putc(&path, '/');
        buf_puts(&path, req->segs[req->nsegs - 1]);
    }
    if (!path.len) buf_putc(&path, '/');
    req->path = buf_detach(&path, NULL);

    /* Query: key=value pairs, '+' is a space, as Netty's QueryStringDecoder. */
    if (q) {
        const char *a = q + 1;
        while (*a) {
            const char *amp = strchr(a, '&');
            size_t n = amp ? (size_t)(amp - a) : strlen(a);
            if (n) {
                const char *eq = memchr(a, '=', n);
                size_t kn = eq ? (size_t)(eq - a) : n;
                buf k = { 0 }, v = { 0 };
                if (!http_percent_decode(a, kn, true, &k)) ok = false;
                if (eq && !http_percent_decode(eq + 1, n - kn - 1, true, &v)) ok = false;
                if (!v.p) buf_reserve(&v, 0);
                if (!k.p) buf_reserve(&k, 0);
                add_param(req, buf_detach(&k, NULL), buf_detach(&v, NULL));
            }
            if (!amp) break;
            a = amp + 1;
        }
    }
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Request accessors */

http_method http_req_method(const http_req *req) { return req->method; }
const char *http_req_path(const http_req *req) { return req->path; }
arena *http_req_arena(http_req *req) { return &req->arena; }
void http_req_set_user(http_req *req, void *user) { req->user = user; }
const http_route *http_req_route(const http_req *req) { return req->route ? req->route->route : NULL; }
const char *http_req_uri(const http_req *req) { return req->raw_uri; }
void *http_req_user(const http_req *req) { return req->user; }

bool http_req_is_tls(const http_req *req)
{
    return req->srv->opts.tls_cert_pem != NULL;
}

const char *http_path_param(const http_req *req, const char *name)
{
    const route_entry *re = req->route;
    if (!re) return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < re->nsegs && i < req->nsegs; i++) {
        const char *t = re->segs[i];
        if (t[0] == '{' && strncmp(t + 1, name, n) == 0 && t[n + 1] == '}' && t[n + 2] == 0)
            return req->segs[i];
    }
    return NULL;
}

const char *http_param(const http_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].key, name) == 0) return req->params[i].value;
    return NULL;
}

bool http_param_bool(const http_req *req, const char *name, bool def, es_err *err)
{
    const char *v = http_param(req, name);
    if (!v) return def;
    if (!*v || strcmp(v, "true") == 0) return true;
    if (strcmp(v, "false") == 0) return false;
    es_err_set(err, ES_ILLEGAL_ARGUMENT,
               "Failed to parse value [%s] only [true] or [false] are allowed.", v);
    return def;
}

int64_t http_param_int(const http_req *req, const char *name, int64_t def, es_err *err)
{
    const char *v = http_param(req, name);
    if (!v) return def;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse int parameter [%s] with value [%s]",
                   name, v);
        return def;
    }
    return n;
}

int64_t http_param_time(const http_req *req, const char *name, int64_t def, es_err *err)
{
    const char *v = http_param(req, name);
    if (!v) return def;
    int64_t ms;
    if (!parse_time_value(v, &ms)) {
        es_err_set(err, ES_PARSE,
                   "failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized",
                   name, v);
        return def;
    }
    return ms;
}

const char *http_header(const http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->con, MHD_HEADER_KIND, name);
}

const char *http_body(const http_req *req, size_t *len)
{
    if (len) *len = req->body.len;
    return req->body.len ? req->body.p : NULL;
}

bool http_has_body(const http_req *req)
{
    return req->body.len > 0;
}

/* The Jackson-style location Elasticsearch appends to JSON parse errors. */
#define JSON_SOURCE_NOTE "Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"

const json_val *http_body_json(http_req *req, es_err *err)
{
    if (req->body_parsed) return req->body_doc ? json_doc_root(req->body_doc) : NULL;
    req->body_parsed = true;
    if (!req->body.len) return NULL;
    json_err jerr;
    req->body_doc = json_parse(req->body.p, req->body.len, NULL, &jerr);
    if (!req->body_doc) {
        es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", jerr.line, jerr.col, jerr.msg);
        es_err *cause = xcalloc(1, sizeof *cause);
        es_err_set(cause, ES_JSON_PARSE, "%s\n at [" JSON_SOURCE_NOTE "; line: %u, column: %u]",
                   jerr.msg, jerr.line, jerr.col);
        es_err_cause(err, cause);
        return NULL;
    }
    return json_doc_root(req->body_doc);
}

/* ------------------------------------------------------------------------ */
/* Responses */

json_w *http_resp_json(http_resp *resp, int status)
{
    resp->status = status;
    resp->set = true;
    resp->is_json = true;
    free(resp->content_type);
    resp->content_type = NULL;
    buf_reset(&resp->body);
    jw_init(&resp->w, &resp->body, false);
    return &resp->w;
}

void http_resp_body(http_resp *resp, int status, const char *content_type, const char *body, size_t n)
{
    resp->status = status;
    resp->set = true;
    resp->is_json = false;
    free(resp->content_type);
    resp->content_type = xstrdup(content_type);
    buf_reset(&resp->body);
    buf_append(&resp->body, body, n);
}

void http_resp_status(http_resp *resp, int status)
{
    resp->status = status;
    resp->set = true;
    resp->is_json = false;
    buf_reset(&resp->body);
}

void http_resp_header(http_resp *resp, const char *name, const char *value)
{
    resp->headers = xrealloc(resp->headers, (resp->n_headers + 1) * sizeof *resp->headers);
    resp->headers[resp->n_headers++] = (resp_header){ xstrdup(name), xstrdup(value) };
}

/* Types that are not ElasticsearchExceptions (Java's own, Jackson's, and the x-content
 * parser's, which extend IllegalArgumentException): root_cause does not descend into them. */
static bool is_java_exception(const char *type)
{
    static const char *const java[] = {
        "illegal_argument_exception", "illegal_state_exception", "json_parse_exception",
        "number_format_exception", "exception", "i_o_exception", "null_pointer_exception",
        "timeout_exception", "date_time_parse_exception", "array_index_out_of_bounds_exception",
        "x_content_parse_exception", "named_object_not_found_exception", "arithmetic_exception",
        "unsupported_operation_exception", "input_coercion_exception", "json_e_o_f_exception",
    };
    for (size_t i = 0; i < ARRAY_LEN(java); i++)
        if (strcmp(type, java[i]) == 0) return true;
    return false;
}

static bool is_x_content_exception(const char *type)
{
    return !strcmp(type, "x_content_parse_exception") || !strcmp(type, "named_object_not_found_exception");
}

/*
 * root_cause as Elasticsearch guesses it: an Elasticsearch exception descends into its
 * cause while that is an Elasticsearch exception too; a parse exception descends into
 * inner parse exceptions or an Elasticsearch cause (the innermost one tells the user most);
 * any other error is its own root.
 */
static const es_err *root_cause(const es_err *e)
{
    for (;;) {
        const es_err *c = e->caused_by;
        if (!c) return e;
        const char *t = es_err_type_name(e), *ct = es_err_type_name(c);
        bool es = !is_java_exception(t), ces = !is_java_exception(ct);
        if (es ? ces : (is_x_content_exception(t) && (ces || is_x_content_exception(ct)))) e = c;
        else return e;
    }
}

static void write_error_fields(json_w *w, const es_err *err, bool with_cause)
{
    jw_kstr(w, "type", es_err_type_name(err));
    jw_kstr(w, "reason", err->reason);
    for (size_t i = 0; i < err->n_extra; i++) {
        jw_key(w, err->extra[i].key);
        if (err->extra[i].raw) jw_raw(w, err->extra[i].value, strlen(err->extra[i].value));
        else jw_str(w, err->extra[i].value);
    }
    if (with_cause && err->caused_by) {
        jw_key(w, "caused_by");
        http_write_error_object(w, err->caused_by);
    }
}

void http_write_error_object(json_w *w, const es_err *err)
{
    jw_obj_begin(w);
    write_error_fields(w, err, true);
    jw_obj_end(w);
}

void http_resp_error(http_resp *resp, const es_err *err)
{
    int status = err->status ? err->status : es_error_status(err->type);
    json_w *w = http_resp_json(resp, status);
    const es_err *root = root_cause(err);
    jw_obj_begin(w);
    jw_key(w, "error");
    jw_obj_begin(w);
    jw_key(w, "root_cause");
    jw_arr_begin(w);
    jw_obj_begin(w);
    write_error_fields(w, root, false);
    jw_obj_end(w);
    jw_arr_end(w);
    write_error_fields(w, err, true);
    jw_obj_end(w);
    jw_kint(w, "status", status);
    jw_obj_end(w);
}

/* The plain {"error":"…","status":N} shape Elasticsearch uses for routing failures. */
static void resp_simple_error(http_resp *resp, int status, const char *msg)
{
    json_w *w = http_resp_json(resp, status);
    jw_obj_begin(w);
    jw_kstr(w, "error", msg);
    jw_kint(w, "status", status);
    jw_obj_end(w);
}

/* ------------------------------------------------------------------------ */
/* Routing */

static route_entry *compile_route(const http_route *r, void *ctx)
{
    route_entry *re = xcalloc(1, sizeof *re);
    re->route = r;
    re->ctx = ctx;
    const char *p = r->path;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *s = p;
        while (*p && *p != '/') p++;
        re->segs = xrealloc(re->segs, (re->nsegs + 1) * sizeof *re->segs);
        re->segs[re->nsegs++] = xstrndup(s, (size_t)(p - s));
    }
    return re;
}

void http_add_routes(http_server *srv, const http_route *routes, size_t n, void *ctx)
{
    srv->routes = xrealloc(srv->routes, (srv->n_routes + n) * sizeof *srv->routes);
    for (size_t i = 0; i < n; i++) {
        route_entry *re = compile_route(&routes[i], ctx);
        srv->routes[srv->n_routes++] = *re;
        free(re);
    }
}

/*
 * Matches the path against a template. Returns a score where literal
 * segments weigh more the earlier they stand, so "/_search" beats "/{index}"
 * and "/{index}/_doc" beats "/{index}/{x}"; -1 when it does not match.
 */
static int64_t match_score(const route_entry *re, char **segs, size_t nsegs)
{
    if (re->nsegs != nsegs) return -1;
    int64_t score = 0;
    for (size_t i = 0; i < nsegs; i++) {
        const char *t = re->segs[i];
        score <<= 1;
        if (t[0] == '{') {
            /* A parameter never captures an empty segment. */
            if (!segs[i][0]) return -1;
            continue;
        }
        if (strcmp(t, segs[i]) != 0) return -1;
        score |= 1;
    }
    return score;
}

/* The declared methods only: like Elasticsearch, a GET route does not answer HEAD unless
 * it says so (exists-style APIs declare HEAD). */
static unsigned route_methods(const route_entry *re)
{
    return re->route->methods;
}

/*
 * Finds the route: the best-scoring template that matches the path and takes the
 * method. *allowed gets the methods of every template matching the path (as
 * Elasticsearch's 405 lists them); when it holds the method, a less specific
 * template takes the request (PUT /_nodes reaches PUT /{index}, as in Elasticsearch).
 */
static const route_entry *find_route(http_server *srv, http_req *req, unsigned *allowed)
{
    const route_entry *best = NULL;
    int64_t best_score = -1;
    *allowed = 0;
    for (size_t i = 0; i < srv->n_routes; i++) {
        const route_entry *re = &srv->routes[i];
        int64_t s = match_score(re, req->segs, req->nsegs);
        if (s < 0) continue;
        *allowed |= re->route->methods;
        if ((route_methods(re) & req->method) && s > best_score) {
            best = re;
            best_score = s;
        }
    }
    return best;
}

static void format_allowed(buf *b, unsigned allowed, const char *sep)
{
    /* In the order of Elasticsearch's RestRequest.Method enum. */
    static const http_method order[] = { HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS,
                                         HTTP_HEAD, HTTP_PATCH };
    bool first = true;
    for (size_t i = 0; i < ARRAY_LEN(order); i++) {
        if (!(allowed & order[i])) continue;
        if (!first) buf_puts(b, sep);
        buf_puts(b, http_method_name(order[i]));
        first = false;
    }
}

static bool param_accepted(const route_entry *re, const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(common_params); i++)
        if (strcmp(common_params[i], key) == 0) return true;
    const char *list = re->route->params;
    if (!list) return false;
    size_t n = strlen(key);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t m = e ? (size_t)(e - p) : strlen(p);
        if (m == n && memcmp(p, key, n) == 0) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

typedef struct cand {
    char name[64];
    float sim;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->sim != y->sim) return x->sim > y->sim ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* "did you mean" candidates, as Elasticsearch's unrecognized-parameter message. */
static void suggest(buf *b, const route_entry *re, const char *key)
{
    cand c[64];
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_LEN(common_params) && n < 64; i++) {
        float s = str_similarity(key, common_params[i]);
        if (s > 0.5f) {
            snprintf(c[n].name, sizeof c[n].name, "%s", common_params[i]);
            c[n++].sim = s;
        }
    }
    for (const char *p = re->route->params; p && *p && n < 64;) {
        const char *e = strchr(p, ',');
        size_t m = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)m, p);
        float s = str_similarity(key, name);
        if (s > 0.5f) {
            memcpy(c[n].name, name, sizeof name);
            c[n++].sim = s;
        }
        if (!e) break;
        p = e + 1;
    }
    if (!n) return;
    qsort(c, n, sizeof *c, cand_cmp);
    if (n == 1) {
        buf_printf(b, " -> did you mean [%s]?", c[0].name);
        return;
    }
    buf_puts(b, " -> did you mean any of [");
    for (size_t i = 0; i < n; i++) buf_printf(b, "%s%s", i ? ", " : "", c[i].name);
    buf_puts(b, "]?");
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sets *err when the request has parameters the route does not know (listed sorted, as
 * Elasticsearch does). */
static bool check_params(http_req *req, es_err *err)
{
    const route_entry *re = req->route;
    const char **bad = xmalloc((req->n_params + 1) * sizeof *bad);
    size_t nbad = 0;
    for (size_t i = 0; i < req->n_params; i++)
        if (!param_accepted(re, req->params[i].key)) bad[nbad++] = req->params[i].key;
    if (!nbad) {
        free(bad);
        return true;
    }
    qsort(bad, nbad, sizeof *bad, str_ptr_cmp);
    buf msg = { 0 };
    buf_printf(&msg, "request [%s] contains unrecognized parameter%s: ", req->path,
               nbad > 1 ? "s" : "");
    for (size_t i = 0; i < nbad; i++) {
        buf_printf(&msg, "%s[%s]", i ? ", " : "", bad[i]);
        suggest(&msg, re, bad[i]);
    }
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s", msg.p);
    buf_free(&msg);
    free(bad);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Media types */

/* Parses "compatible-with=N" out of an Elasticsearch vendor media type; 0 when absent. */
static int compat_version_of(const char *mt)
{
    if (!mt) return 0;
    const char *v = strstr(mt, "compatible-with");
    if (!v) return 0;
    v += strlen("compatible-with");
    while (*v == ' ') v++;
    if (*v != '=') return -1;
    v++;
    while (*v == ' ') v++;
    return atoi(v);
}

static bool is_vendor_type(const char *mt)
{
    return mt && strstr(mt, "application/vnd.elasticsearch+") != NULL;
}

/* Checks Accept and Content-Type. Returns 0, or the status of an error written to resp. */
static int negotiate(http_req *req, http_resp *resp)
{
    const char *accept = http_header(req, "Accept");
    if (is_vendor_type(accept)) {
        int v = compat_version_of(accept);
        if (v != 7 && v != 8 && v != 9) {
            es_err e = { 0 };
            es_err_set(&e, ES_MEDIA_TYPE_HEADER,
                       "Invalid media-type value on headers [Accept]");
            es_err *cause = xcalloc(1, sizeof *cause);
            es_err_set(cause, ES_STATUS, "A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version. Accept=%s, Content-Type=%s",
                       accept, http_header(req, "Content-Type") ? http_header(req, "Content-Type") : "null");
            cause->status = 400;
            es_err_cause(&e, cause);
            http_resp_error(resp, &e);
            es_err_free(&e);
            return 400;
        }
        req->compat_version = v;
    }
    if (!req->body.len) return 0;
    const char *ct = http_header(req, "Content-Type");
    const char *sct = http_param(req, "source_content_type");
    if (http_param(req, "source") && sct) ct = sct;
    if (!ct) {
        resp_simple_error(resp, 406, "Content-Type header is missing");
        return 406;
    }
    static const char *const ok[] = {
        "application/json", "application/x-ndjson", "application/vnd.elasticsearch+json",
        "application/vnd.elasticsearch+x-ndjson",
    };
    for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
        size_t n = strlen(ok[i]);
        if (strncasecmp(ct, ok[i], n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ')) {
            if (is_vendor_type(ct)) {
                int v = compat_version_of(ct);
                if (v != 7 && v != 8 && v != 9) break;
            }
            return 0;
        }
    }
    char *msg = xasprintf("Content-Type header [%s] is not supported", ct);
    resp_simple_error(resp, 406, msg);
    free(msg);
    return 406;
}

/* ------------------------------------------------------------------------ */
/* Dispatch */

static void handle(http_req *req, http_resp *resp)
{
    http_server *srv = req->srv;
    es_err err = { 0 };

    if (req->bad_uri) {
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "unterminated escape sequence at end of string: %s",
                   req->raw_uri);
        http_resp_error(resp, &err);
        goto done;
    }
    if (req->too_large) goto too_large;

    /* Inflate compressed bodies, under the same limit. */
    const char *enc = http_header(req, "Content-Encoding");
    if (enc && req->body.len && strcasecmp(enc, "identity") != 0) {
        bool gz = strcasecmp(enc, "gzip") == 0 || strcasecmp(enc, "x-gzip") == 0;
        if (!gz && strcasecmp(enc, "deflate") != 0) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "unsupported Content-Encoding [%s]", enc);
            http_resp_error(resp, &err);
            goto done;
        }
        buf plain = { 0 };
        int rc = http_inflate(req->body.p, req->body.len, gz, req->max_body, &plain);
        if (rc == -2) {
            buf_free(&plain);
            goto too_large;
        }
        if (rc != 0) {
            buf_free(&plain);
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "failed to decompress request body (%s)", enc);
            http_resp_error(resp, &err);
            goto done;
        }
        buf_free(&req->body);
        req->body = plain;
    }

    /* `source` carries the body in the query string. */
    const char *src = http_param(req, "source");
    if (src && !req->body.len) buf_puts(&req->body, src);

    if (negotiate(req, resp)) goto done;

    unsigned allowed;
    req->route = find_route(srv, req, &allowed);
    if (!req->route) {
        char *msg;
        if (req->method == HTTP_OPTIONS && allowed) {
            buf b = { 0 };
            format_allowed(&b, allowed, ",");
            http_resp_status(resp, 200);
            http_resp_header(resp, "Allow", b.p);
            buf_free(&b);
            goto done;
        }
        if (allowed) {
            buf b = { 0 }, h = { 0 };
            format_allowed(&b, allowed, ", ");
            format_allowed(&h, allowed, ",");
            msg = xasprintf("Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]",
                            req->raw_uri, http_method_name(req->method), b.p);
            resp_simple_error(resp, 405, msg);
            http_resp_header(resp, "Allow", h.p);
            buf_free(&b);
            buf_free(&h);
        } else {
            msg = xasprintf("no handler found for uri [%s] and method [%s]", req->raw_uri,
                            req->method ? http_method_name(req->method) : "UNKNOWN");
            /* Elasticsearch's answer here is {"error":"…"} without a status member. */
            json_w *w = http_resp_json(resp, 400);
            jw_obj_begin(w);
            jw_kstr(w, "error", msg);
            jw_obj_end(w);
        }
        free(msg);
        goto done;
    }

    if (srv->opts.authenticate && !srv->opts.authenticate(req, resp, srv->opts.auth_ctx)) {
        req->auth_rejected = true;
        goto done;
    }

    if (!check_params(req, &err)) {
        http_resp_error(resp, &err);
        goto done;
    }
    http_param_bool(req, "pretty", false, &err);
    http_param_bool(req, "human", false, &err);
    http_param_bool(req, "error_trace", false, &err);
    if (es_err_isset(&err)) {
        http_resp_error(resp, &err);
        goto done;
    }

    if (req->body.len && !(req->route->route->flags & (HTTP_ROUTE_BODY | HTTP_ROUTE_NDJSON))) {
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "request [%s %s] does not support having a body",
                   http_method_name(req->method), req->path);
        http_resp_error(resp, &err);
        goto done;
    }

    req->route->route->handler(req, resp, req->route->ctx);
    if (!resp->set) {
        es_err_set(&err, ES_INTERNAL, "handler for [%s] produced no response", req->path);
        http_resp_error(resp, &err);
    }
    goto done;

too_large:
    es_err_set(&err, ES_CONTENT_TOO_LONG,
               "request body is too large: the limit (http.max_content_length) is [%" PRId64 "b]",
               req->max_body);
    http_resp_error(resp, &err);
done:
    es_err_free(&err);
}

/* filter_path and pretty, applied to the finished JSON body. */
static void finish_body(http_req *req, http_resp *resp)
{
    if (!resp->is_json || !resp->body.len) return;
    const char *fp = http_param(req, "filter_path");
    if (fp && *fp) {
        buf out = { 0 };
        if (http_filter_path(resp->body.p, resp->body.len, fp, &out)) {
            buf_free(&resp->body);
            resp->body = out;
        } else {
            buf_free(&out);
        }
    }
    const char *pretty = http_param(req, "pretty");
    /* A route's pretty default is its handler's; security's errors are compact, as ES's. */
    bool pretty_default = req->route && !req->auth_rejected && (req->route->route->flags & HTTP_ROUTE_PRETTY);
    if (pretty ? (!*pretty || strcmp(pretty, "true") == 0) : pretty_default) {
        buf out = { 0 };
        if (json_reformat(resp->body.p, resp->body.len, true, &out)) {
            buf_putc(&out, '\n');
            buf_free(&resp->body);
            resp->body = out;
        } else {
            buf_free(&out);
        }
    }
}

static bool accepts_gzip(const http_req *req)
{
    const char *ae = http_header(req, "Accept-Encoding");
    if (!ae) return false;
    /* gzip listed without q=0 */
    const char *g = strcasestr(ae, "gzip");
    if (!g) return false;
    const char *q = g + 4;
    while (*q == ' ') q++;
    if (*q == ';') {
        const char *qv = strstr(q, "q=");
        if (qv && atof(qv + 2) == 0.0) return false;
    }
    return true;
}

static enum MHD_Result send_response(http_req *req, http_resp *resp)
{
    finish_body(req, resp);
    bool gz = false;
    buf out = { 0 };
    if (req->srv->opts.compression && resp->body.len >= 256 && req->method != HTTP_HEAD &&
        accepts_gzip(req)) {
        gz = http_gzip(resp->body.p, resp->body.len, &out);
        if (!gz) buf_free(&out);
    }
    if (!gz) out = resp->body, resp->body = (buf){ 0 };
    size_t n;
    char *data = buf_detach(&out, &n);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, data, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "X-elastic-product", "Elasticsearch");
    if (resp->is_json || resp->content_type) {
        const char *ct = resp->content_type;
        char vnd[96];
        if (!ct) {
            if (req->compat_version) {
                snprintf(vnd, sizeof vnd, "application/vnd.elasticsearch+json;compatible-with=%d",
                         req->compat_version);
                ct = vnd;
            } else {
                ct = JSON_TYPE;
            }
        }
        MHD_add_response_header(r, "content-type", ct);
    }
    if (gz) MHD_add_response_header(r, "content-encoding", "gzip");
    for (size_t i = 0; i < resp->n_headers; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    enum MHD_Result rc = MHD_queue_response(req->con, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return rc;
}

static void resp_free(http_resp *resp)
{
    buf_free(&resp->body);
    free(resp->content_type);
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->headers[i].name);
        free(resp->headers[i].value);
    }
    free(resp->headers);
}

static enum MHD_Result reply_now(http_req *req, void (*fill)(http_req *, http_resp *))
{
    http_resp resp = { 0 };
    fill(req, &resp);
    enum MHD_Result rc = send_response(req, &resp);
    resp_free(&resp);
    return rc;
}

static void fill_too_large(http_req *req, http_resp *resp)
{
    req->too_large = true;
    handle(req, resp);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *con, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    http_server *srv = cls;
    http_req *req = *con_cls;
    if (!req) return MHD_NO; /* no URI log callback ran: cannot happen with our options */
    if (!req->started) {
        req->started = true;
        req->srv = srv;
        req->con = con;
        req->method = parse_method(method);
        req->max_body = srv->opts.max_content_length;
        if (!parse_uri(req)) req->bad_uri = true;
        const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
        if (cl && req->max_body > 0 && strtoll(cl, NULL, 10) > req->max_body)
            return reply_now(req, fill_too_large);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->too_large) {
            if (req->max_body > 0 && (int64_t)(req->body.len + *upload_data_size) > req->max_body) {
                req->too_large = true;
                buf_free(&req->body);
            } else {
                buf_append(&req->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    http_resp resp = { 0 };
    handle(req, &resp);
    enum MHD_Result rc = send_response(req, &resp);
    resp_free(&resp);
    return rc;
}

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *con)
{
    http_req *req = xcalloc(1, sizeof *req);
    req->raw_uri = xstrdup(uri ? uri : "/");
    return req;
}

static void completed_cb(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_req *req = *con_cls;
    if (!req) return;
    free(req->raw_uri);
    free(req->path);
    for (size_t i = 0; i < req->nsegs; i++) free(req->segs[i]);
    free(req->segs);
    for (size_t i = 0; i < req->n_params; i++) {
        free(req->params[i].key);
        free(req->params[i].value);
    }
    free(req->params);
    buf_free(&req->body);
    if (req->body_doc) json_doc_free(req->body_doc);
    arena_free(&req->arena);
    free(req);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    buf b = { 0 };
    buf_vprintf(&b, fmt, ap);
    while (b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r')) b.p[--b.len] = 0;
    log_debug("http", "%s", b.p);
    buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Server */

/*
 * Client certificates. libmicrohttpd loads tls_trust_pem into its credentials and
 * would only ask for a certificate without checking it; here, once the TLS session
 * exists and before its handshake, the session is told whether to ask for one
 * (required: the handshake fails without) and to verify any certificate sent
 * against those CAs during the handshake, so an untrusted certificate fails the
 * handshake itself.
 */
static int verify_client_cert(gnutls_session_t session)
{
    unsigned n = 0;
    if (!gnutls_certificate_get_peers(session, &n) || n == 0) return 0; /* none sent (optional) */
    unsigned status = 0;
    if (gnutls_certificate_verify_peers2(session, &status) < 0 || status != 0) return -1;
    return 0;
}

static void notify_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    http_server *srv = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED || !srv->cert_pem) return;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!ci || !ci->tls_session) return;
    gnutls_session_t session = ci->tls_session;
    int mode = srv->trust_pem ? srv->opts.tls_client_auth : 0;
    if (mode == 0) {
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE);
        return;
    }
    gnutls_certificate_server_set_request(session, mode == 2 ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST);
    gnutls_session_set_verify_function(session, verify_client_cert);
}

http_server *http_server_new(const http_server_opts *opts)
{
    http_server *srv = xcalloc(1, sizeof *srv);
    srv->opts = *opts;
    return srv;
}

int http_server_listen(http_server *srv, char **errmsg)
{
    const http_server_opts *opts = &srv->opts;
    const char *host = opts->host && *opts->host ? opts->host : "127.0.0.1";

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    bool v6 = false;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    char hostbuf[256];
    snprintf(hostbuf, sizeof hostbuf, "%s", host);
    if (hostbuf[0] == '[') {
        memmove(hostbuf, hostbuf + 1, strlen(hostbuf));
        char *rb = strchr(hostbuf, ']');
        if (rb) *rb = 0;
    }
    if (strcmp(hostbuf, "localhost") == 0 || strcmp(hostbuf, "_local_") == 0)
        snprintf(hostbuf, sizeof hostbuf, "127.0.0.1");
    if (strcmp(hostbuf, "0.0.0.0") == 0 || strcmp(hostbuf, "_site_") == 0) {
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, hostbuf, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, hostbuf, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        v6 = true;
    } else {
        *errmsg = xasprintf("cannot bind to [%s]: not an IP address", host);
        return -1;
    }

    /* Handlers may block (an fsync'ed commit, a _reindex or task wait_for_completion), and a
     * blocked pool thread stalls the other connections it polls: keep the pool wide. The real
     * cure, suspending waiting connections (MHD_suspend_connection), is still to come. */
    unsigned threads = opts->threads;
    if (!threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)cores * 8 : 16;
        if (threads < 16) threads = 16;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    if (opts->tls_cert_pem) {
        flags |= MHD_USE_TLS;
        srv->cert_pem = xstrdup(opts->tls_cert_pem);
        srv->key_pem = xstrdup(opts->tls_key_pem ? opts->tls_key_pem : "");
        if (opts->tls_key_password) srv->key_password = xstrdup(opts->tls_key_password);
        srv->priorities = xstrdup(opts->tls_priorities ? opts->tls_priorities
                                                       : "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
        if (opts->tls_trust_pem) srv->trust_pem = xstrdup(opts->tls_trust_pem);
    }

    int port = opts->port, last = opts->port_max > opts->port ? opts->port_max : opts->port;
    for (; port <= last; port++) {
        if (v6) s6->sin6_port = htons((uint16_t)port);
        else s4->sin_port = htons((uint16_t)port);
        struct MHD_OptionItem tls_opts[8];
        size_t nt = 0;
        if (srv->cert_pem) {
            tls_opts[nt++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem };
            tls_opts[nt++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key_pem };
            tls_opts[nt++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, srv->priorities };
            if (srv->key_password)
                tls_opts[nt++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_KEY_PASSWORD, 0, srv->key_password };
            if (srv->trust_pem)
                tls_opts[nt++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, srv->trust_pem };
        }
        tls_opts[nt++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
        srv->daemon = MHD_start_daemon(
            flags, (uint16_t)port, NULL, NULL, access_cb, srv,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
            MHD_OPTION_THREAD_POOL_SIZE, threads,
            MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, srv,
            MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
            MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv,
            MHD_OPTION_ARRAY, tls_opts,
            MHD_OPTION_END);
        if (srv->daemon) break;
        if (opts->port == 0) break;
    }
    if (!srv->daemon) {
        *errmsg = xasprintf("failed to bind HTTP on [%s] port [%d%s%d]: %s", host, opts->port,
                            last > opts->port ? "-" : "", last > opts->port ? last : opts->port,
                            errno ? strerror(errno) : "address in use or invalid TLS material");
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : port;
    return 0;
}

void http_server_each_route(const http_server *srv, void (*fn)(const http_route *r, void *ctx), void *ctx)
{
    for (size_t i = 0; i < srv->n_routes; i++) fn(srv->routes[i].route, ctx);
}

int http_server_port(const http_server *srv)
{
    return srv->port;
}

void http_server_stop(http_server *srv)
{
    if (!srv) return;
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    for (size_t i = 0; i < srv->n_routes; i++) {
        for (size_t j = 0; j < srv->routes[i].nsegs; j++) free(srv->routes[i].segs[j]);
        free(srv->routes[i].segs);
    }
    free(srv->routes);
    free(srv->cert_pem);
    free(srv->key_pem);
    free(srv->key_password);
    free(srv->priorities);
    free(srv->trust_pem);
    free(srv);
}
