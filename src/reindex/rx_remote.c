/*
 * rx_remote.c — talking to a remote cluster: the HTTP connection (one reused
 * libcurl easy handle per worker, TLS sessions and DNS shared node-wide), the
 * whitelist, version detection and the request shape each version expects,
 * the scroll source (with retries and clear-scroll on every exit) and a
 * remote `_bulk` sink.
 */
#include "reindex/reindex_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ======================================================================== */
/* Pure helpers: whitelist, versions, plans, backoff                        */

int rx_whitelist_check(const char *const *patterns, size_t n, const char *setting, const char *host, int port,
                       es_err *err)
{
    char check[512];
    snprintf(check, sizeof check, "%s:%d", host, port);
    for (size_t i = 0; i < n; i++)
        if (patterns[i] && indices_simple_match(patterns[i], check)) return 0;
    bool allow = setting && strstr(setting, "allowlist");
    return es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s] not %s in %s", check, allow ? "allowlisted" : "whitelisted",
                      setting ? setting : "reindex.remote.whitelist");
}

int32_t rx_version_id(const char *number, const char *distribution)
{
    if (distribution && !strcasecmp(distribution, "opensearch")) {
        /* OpenSearch 1.x-3.x speak the wire of the Elasticsearch 7.10.2 they forked. */
        return 7100299;
    }
    if (!number) return 0;
    char v[64];
    snprintf(v, sizeof v, "%s", number);
    char *snap = strstr(v, "-SNAPSHOT");
    if (snap) memmove(snap, snap + 9, strlen(snap + 9) + 1);
    char *dash = strchr(v, '-');
    if (dash) *dash = 0; /* -alpha1, -beta2, -rc1 */
    int maj = 0, min = 0, rev = 0;
    int n = sscanf(v, "%d.%d.%d", &maj, &min, &rev);
    if (n < 2 || maj < 0 || min < 0 || rev < 0 || maj > 99 || min > 99 || rev > 99) return 0;
    return maj * 1000000 + min * 10000 + rev * 100 + 99;
}

rx_remote_plan rx_plan_for(int32_t v)
{
    rx_remote_plan p = { 0 };
    p.scroll_in_ms = v < 5000099;
    p.scan = v < 2010099;
    p.sort_param = v >= 2010099;
    p.fields = v < 1000099 ? "_source,_parent,_routing,_ttl" : v < 2000099 ? "_parent,_routing,_ttl" : NULL;
    p.allow_partial = v >= 6030099;
    p.source_in_body = v >= 1000099;
    p.plain_text_scroll = v < 2000099;
    p.ignore_clear_404 = v < 2000099;
    p.total_is_object = v >= 7000099;
    p.sliced_scroll = v >= 5000099;
    return p;
}

int64_t rx_backoff_ms(int64_t start_ms, int n)
{
    return start_ms + 10 * ((int64_t)exp(0.8 * n) - 1);
}

/* Java's URLEncoder.encode(s, UTF-8). */
static void form_encode(buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
            c == '*' || c == '_') {
            buf_putc(b, (char)c);
        } else if (c == ' ') {
            buf_putc(b, '+');
        } else {
            buf_putc(b, '%');
            buf_putc(b, hex[c >> 4]);
            buf_putc(b, hex[c & 15]);
        }
    }
}

static void keepalive_text(buf *b, const rx_request *r, const rx_remote_plan *plan, int64_t extra_ms, bool first)
{
    int64_t ms = r->scroll_ms + (extra_ms > 0 ? extra_ms : 0);
    if (plan->scroll_in_ms) {
        buf_printf(b, "%" PRId64 "ms", ms);
    } else if (first || extra_ms <= 0) {
        if (first && r->scroll_text) form_encode(b, r->scroll_text);
        else if (ms % 60000 == 0) buf_printf(b, "%" PRId64 "m", ms / 60000);
        else if (ms % 1000 == 0) buf_printf(b, "%" PRId64 "s", ms / 1000);
        else buf_printf(b, "%" PRId64 "ms", ms);
    } else {
        buf_printf(b, "%" PRId64 "nanos", ms * 1000000);
    }
}

void rx_remote_first_search(const rx_request *r, const rx_remote_plan *plan, int slice_id, int slice_max, char **path,
                            char **body)
{
    buf p = { 0 };
    if (r->remote && r->remote->h.path_prefix && strcmp(r->remote->h.path_prefix, "/")) {
        const char *pp = r->remote->h.path_prefix;
        size_t n = strlen(pp);
        while (n && pp[n - 1] == '/') n--;
        buf_append(&p, pp, n);
    }
    if (r->n_indices) {
        buf_putc(&p, '/');
        for (size_t i = 0; i < r->n_indices; i++) {
            if (i) buf_putc(&p, ',');
            form_encode(&p, r->indices[i]);
        }
    }
    buf_puts(&p, "/_search?scroll=");
    keepalive_text(&p, r, plan, 0, true);
    buf_printf(&p, "&size=%" PRId64, r->size);
    buf_printf(&p, "&version=%s", r->vt_external ? "true" : "false");
    bool default_sort = !r->sort_url;
    if (plan->scan && default_sort) buf_puts(&p, "&search_type=scan");
    else {
        buf_puts(&p, "&sort=");
        form_encode(&p, r->sort_url ? r->sort_url : "_doc:asc");
    }
    if (plan->fields) {
        buf_puts(&p, "&fields=");
        form_encode(&p, plan->fields);
    }
    if (plan->allow_partial) buf_puts(&p, "&allow_partial_search_results=false");
    *path = buf_detach(&p, NULL);

    buf b = { 0 };
    buf_puts(&b, "{\"query\":");
    const char *q = r->remote ? r->remote->query_compact : NULL;
    buf_puts(&b, q ? q : "{\"match_all\":{\"boost\":1.0}}");
    if (plan->source_in_body) {
        buf_puts(&b, ",\"_source\":");
        if (!r->source_json || (!r->n_inc && !r->n_exc)) {
            buf_puts(&b, "true");
        } else {
            json_w w;
            jw_init(&w, &b, false);
            jw_obj_begin(&w);
            if (r->n_inc) {
                jw_key(&w, "includes");
                jw_arr_begin(&w);
                for (size_t i = 0; i < r->n_inc; i++) jw_str(&w, r->src_inc[i]);
                jw_arr_end(&w);
            }
            if (r->n_exc) {
                jw_key(&w, "excludes");
                jw_arr_begin(&w);
                for (size_t i = 0; i < r->n_exc; i++) jw_str(&w, r->src_exc[i]);
                jw_arr_end(&w);
            }
            jw_obj_end(&w);
        }
    }
    if (slice_max > 1) {
        buf_printf(&b, ",\"slice\":{\"id\":%d,\"max\":%d", slice_id, slice_max);
        if (r->slice_field) {
            buf_puts(&b, ",\"field\":");
            json_escape(&b, r->slice_field, strlen(r->slice_field));
        }
        buf_putc(&b, '}');
    }
    buf_putc(&b, '}');
    *body = buf_detach(&b, NULL);
}

/* ======================================================================== */
/* Connection                                                               */

struct rx_conn {
    CURL *h;
    rx_tls *tls;
    atomic_bool *abort;
    bool ignore_abort;
    const rx_host *host;
    char *base;
    char target[300];
    struct curl_slist *hdr_none, *hdr_json, *hdr_text, *hdr_ndjson;
    int64_t socket_timeout_ms;
    /* per request */
    rx_resp *cur;
    int64_t last_progress_ns;
    curl_off_t last_bytes;
    bool timed_out;
    bool too_large;
    int64_t too_large_n;
    int64_t declared_len;       /* Content-Length of the answer, -1 when none */
};

void rx_resp_free(rx_resp *r)
{
    free(r->ctype);
    buf_free(&r->body);
    memset(r, 0, sizeof *r);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    rx_conn *c = ud;
    size_t n = size * nmemb;
    if ((int64_t)(c->cur->body.len + n) > RX_MAX_RESPONSE) {
        c->too_large = true;
        c->too_large_n = (int64_t)(c->cur->body.len + n);
        return 0;
    }
    buf_append(&c->cur->body, data, n);
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    rx_conn *c = ud;
    size_t n = size * nmemb;
    if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
        /* A new response (after 100 Continue, for instance): start over. */
        size_t l = n;
        while (l && (data[l - 1] == '\r' || data[l - 1] == '\n')) l--;
        if (l >= sizeof c->cur->status_line) l = sizeof c->cur->status_line - 1;
        memcpy(c->cur->status_line, data, l);
        c->cur->status_line[l] = 0;
        free(c->cur->ctype);
        c->cur->ctype = NULL;
        c->declared_len = -1;
    } else if (n > 15 && !strncasecmp(data, "Content-Length:", 15)) {
        c->declared_len = strtoll(data + 15, NULL, 10);
    } else if (n > 13 && !strncasecmp(data, "Content-Type:", 13)) {
        const char *v = data + 13;
        size_t l = n - 13;
        while (l && (*v == ' ' || *v == '\t')) v++, l--;
        while (l && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' ')) l--;
        free(c->cur->ctype);
        c->cur->ctype = xstrndup(v, l);
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    rx_conn *c = ud;
    if (!c->ignore_abort && c->abort && atomic_load(c->abort)) return 1;
    int64_t now = mono_nanos();
    curl_off_t bytes = dlnow + ulnow;
    if (bytes != c->last_bytes) {
        c->last_bytes = bytes;
        c->last_progress_ns = now;
    } else if (c->socket_timeout_ms > 0 && now - c->last_progress_ns > c->socket_timeout_ms * 1000000) {
        c->timed_out = true;
        return 1;
    }
    return 0;
}

static struct curl_slist *headers_with(const rx_endpoint *ep, const char *ctype)
{
    struct curl_slist *l = NULL;
    bool user_ct = false;
    for (size_t i = 0; i < ep->n_hdr; i++) {
        char *h = xasprintf("%s: %s", ep->hdr_k[i], ep->hdr_v[i]);
        l = curl_slist_append(l, h);
        explicit_bzero(h, strlen(h));
        free(h);
        if (!strcasecmp(ep->hdr_k[i], "Content-Type")) user_ct = true;
    }
    if (ep->api_key) {
        char *h = xasprintf("Authorization: ApiKey %s", ep->api_key);
        l = curl_slist_append(l, h);
        explicit_bzero(h, strlen(h));
        free(h);
    }
    if (ctype && !user_ct) {
        char *h = xasprintf("Content-Type: %s", ctype);
        l = curl_slist_append(l, h);
        free(h);
    }
    l = curl_slist_append(l, "Expect:");
    return l;
}

rx_conn *rx_conn_new(const rx_endpoint *ep, rx_tls *tls, CURLSH *share, atomic_bool *abort)
{
    rx_conn *c = xcalloc(1, sizeof *c);
    c->h = curl_easy_init();
    c->tls = tls;
    atomic_fetch_add(&tls->refs, 1);
    c->abort = abort;
    c->host = ep->h;
    c->socket_timeout_ms = ep->socket_timeout_ms;
    snprintf(c->target, sizeof c->target, "%s:%d", ep->h->host, ep->h->port);
    buf b = { 0 };
    buf_printf(&b, "%s://%s:%d", ep->h->scheme, ep->h->host, ep->h->port);
    c->base = buf_detach(&b, NULL);
    c->hdr_none = headers_with(ep, NULL);
    c->hdr_json = headers_with(ep, "application/json; charset=UTF-8");
    c->hdr_text = headers_with(ep, "text/plain; charset=ISO-8859-1");
    c->hdr_ndjson = headers_with(ep, "application/x-ndjson");
    CURL *h = c->h;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(ep->connect_timeout_ms > 0 ? ep->connect_timeout_ms : 30000));
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RX_MAX_RESPONSE);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ferry-reindex/" FERRY_VERSION);
    if (share) curl_easy_setopt(h, CURLOPT_SHARE, share);
    if (ep->username) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, ep->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, ep->password ? ep->password : "");
    }
    /* TLS */
    curl_easy_setopt(h, CURLOPT_SSLVERSION, tls->sslversion);
    if (tls->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, tls->ca_file);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, tls->verify == RX_VERIFY_NONE ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, tls->verify == RX_VERIFY_FULL ? 2L : 0L);
    if (tls->cert_file) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, tls->cert_file);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY, tls->key_file);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        if (tls->key_pass) curl_easy_setopt(h, CURLOPT_KEYPASSWD, tls->key_pass);
    }
    return c;
}

void rx_conn_free(rx_conn *c)
{
    if (!c) return;
    curl_easy_cleanup(c->h);
    curl_slist_free_all(c->hdr_none);
    curl_slist_free_all(c->hdr_json);
    curl_slist_free_all(c->hdr_text);
    curl_slist_free_all(c->hdr_ndjson);
    free(c->base);
    rx_tls_release(c->tls);
    free(c);
}

const char *rx_conn_target(const rx_conn *c)
{
    return c->target;
}

int rx_conn_request(rx_conn *c, const char *method, const char *path, const char *ctype, const char *body, size_t len,
                    bool ignore_abort, rx_resp *out, rx_net *kind, es_err *err)
{
    memset(out, 0, sizeof *out);
    *kind = RXN_OK;
    if (!ignore_abort && c->abort && atomic_load(c->abort)) {
        *kind = RXN_ABORTED;
        es_err_set(err, ES_TASK_CANCELLED, "task cancelled");
        return -1;
    }
    CURL *h = c->h;
    char *url = xasprintf("%s%s", c->base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    struct curl_slist *hdrs = c->hdr_none;
    if (body) {
        if (ctype && !strncmp(ctype, "text/plain", 10)) hdrs = c->hdr_text;
        else if (ctype && !strcmp(ctype, "application/x-ndjson")) hdrs = c->hdr_ndjson;
        else hdrs = c->hdr_json;
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, (char *)NULL);
    if (!strcmp(method, "GET") && !body) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
        if (strcmp(method, "POST")) curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    c->cur = out;
    c->ignore_abort = ignore_abort;
    /* The end-of-job requests (clear-scroll) go over a new connection: the one the pages came
     * over may be parked behind a handler that waits for this very job on a node that reads
     * from itself (its server thread then serves nobody else until the wait ends). */
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, ignore_abort ? 1L : 0L);
    c->timed_out = false;
    c->too_large = false;
    c->declared_len = -1;
    c->last_bytes = -1;
    c->last_progress_ns = mono_nanos();
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, (char *)NULL);
    c->cur = NULL;
    free(url);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        return 0;
    }
    if (c->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        *kind = RXN_TOO_LARGE;
        int64_t n = c->declared_len > 0 ? c->declared_len : c->too_large_n;
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Remote responded with a chunk that was too large. Use a smaller batch size.");
        es_err *cause = xcalloc(1, sizeof *cause);
        es_err_set(cause, ES_CONTENT_TOO_LONG, "entity content is too long [%" PRId64 "] for the configured buffer limit [%lld]",
                   n, (long long)RX_MAX_RESPONSE);
        es_err_cause(err, cause);
        rx_resp_free(out);
        return -1;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        rx_resp_free(out);
        if (c->timed_out) {
            *kind = RXN_TIMEOUT;
            es_err_set(err, ES_INTERNAL, "%" PRId64 " milliseconds timeout on connection to [%s] (source.remote.socket_timeout)",
                       c->socket_timeout_ms, c->target);
            err->type_name = "socket_timeout_exception";
            return -1;
        }
        *kind = RXN_ABORTED;
        es_err_set(err, ES_TASK_CANCELLED, "task cancelled");
        return -1;
    }
    long fresh = 0; /* a TLS refusal shows on a connection made for this request */
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &fresh);
    bool nothing_back = !out->status_line[0] && fresh > 0;
    rx_resp_free(out);
    rx_tls_explain(c->tls, c->host, rc, ebuf, nothing_back, err, kind);
    return -1;
}

/* ======================================================================== */
/* Reading answers                                                          */

/* Remote HTTP status >= 300: status_exception with the remote's status and body. */
static void status_error(const rx_resp *rs, es_err *err)
{
    static const int known[] = { 100, 101, 200, 201, 202, 203, 204, 205, 206, 207, 300, 301, 302, 303, 304, 305, 307, 308,
                                 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416,
                                 417, 422, 423, 424, 426, 429, 500, 501, 502, 503, 504, 505, 507 };
    bool ok = false;
    for (size_t i = 0; i < ARRAY_LEN(known); i++)
        if (known[i] == rs->status) ok = true;
    buf b = { 0 };
    if (!ok) buf_printf(&b, "Couldn't extract status [%ld]. ", rs->status);
    if (rs->body.len) {
        buf_puts(&b, "body=");
        buf_append(&b, rs->body.p, rs->body.len);
    } else {
        buf_puts(&b, "No error body.");
    }
    es_err_set(err, ES_STATUS, "%s", b.p);
    err->status = ok ? (int)rs->status : 500;
    buf_free(&b);
}

static bool is_json_type(const char *ct)
{
    if (!ct) return false;
    return !strncasecmp(ct, "application/json", 16) || strstr(ct, "+json") != NULL;
}

/* Parses a 2xx answer as JSON with Elasticsearch's errors for what is not one. */
static json_doc *parse_answer(const rx_resp *rs, es_err *err)
{
    if (!rs->ctype) {
        es_err_set(err, ES_INTERNAL, "Response didn't include Content-Type: body=%.*s", (int)(rs->body.len > 4096 ? 4096 : rs->body.len),
                   rs->body.p ? rs->body.p : "");
        return NULL;
    }
    if (!is_json_type(rs->ctype)) {
        es_err_set(err, ES_INTERNAL,
                   "Error parsing the response, remote is likely not an Elasticsearch instance (Content-Type [%s] is "
                   "not JSON; ferry reads JSON answers only)",
                   rs->ctype);
        return NULL;
    }
    json_err je;
    json_doc *d = json_parse(rs->body.p ? rs->body.p : "", rs->body.len, NULL, &je);
    if (!d || json_type_of(json_doc_root(d)) != JSON_OBJECT) {
        es_err_set(err, ES_INTERNAL, "Error parsing the response, remote is likely not an Elasticsearch instance");
        es_err *cause = xcalloc(1, sizeof *cause);
        if (!d) es_err_set(cause, ES_X_CONTENT_PARSE, "[%u:%u] %s", je.line, je.col, je.msg);
        else es_err_set(cause, ES_X_CONTENT_PARSE, "[1:1] expected an object but found %s", json_type_name(json_type_of(json_doc_root(d))));
        es_err_cause(err, cause);
        json_doc_free(d);
        return NULL;
    }
    return d;
}

/* A remote error object ({type, reason, caused_by}) as RemoteResponseParsers builds it. */
static void remote_throwable(const json_val *v, es_err *out)
{
    if (json_type_of(v) == JSON_STRING) {
        es_err_set(out, ES_INTERNAL, "Unknown remote exception with reason=[%s]", json_str(v, NULL));
        return;
    }
    const char *type = json_str(json_obj_get(v, "type"), NULL);
    const char *reason = json_str(json_obj_get(v, "reason"), NULL);
    if (!type) type = "exception";
    if (!reason) reason = "";
    if (!strcmp(type, "es_rejected_execution_exception") || !strcmp(type, "rejected_execution_exception")) {
        es_err_set(out, ES_ES_REJECTED_EXECUTION, "%s", reason);
    } else if (!strcmp(type, "parsing_exception")) {
        es_err_set(out, ES_PARSING, "%s", reason);
        const json_val *line = json_obj_get(v, "line"), *col = json_obj_get(v, "col");
        if (line && col) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%" PRId64, json_int(line));
            es_err_extra(out, "line", tmp, true);
            snprintf(tmp, sizeof tmp, "%" PRId64, json_int(col));
            es_err_extra(out, "col", tmp, true);
        }
    } else {
        es_err_set(out, ES_INTERNAL, "%s: %s", type, reason);
        out->type_name = "runtime_exception";
    }
    const json_val *cb = json_obj_get(v, "caused_by");
    if (cb && json_type_of(cb) == JSON_OBJECT) {
        es_err *c = xcalloc(1, sizeof *c);
        remote_throwable(cb, c);
        es_err_cause(out, c);
    }
}

static void page_add_failure(rx_page *p, const char *index, int32_t shard, const char *node, const json_val *reason)
{
    p->failures = xrealloc(p->failures, (p->n_failures + 1) * sizeof *p->failures);
    rx_search_failure *f = &p->failures[p->n_failures++];
    memset(f, 0, sizeof *f);
    f->index = index ? xstrdup(index) : NULL;
    f->shard = shard;
    f->node = node ? xstrdup(node) : NULL;
    remote_throwable(reason, &f->reason);
    f->status = f->reason.type == ES_ES_REJECTED_EXECUTION ? 429 : f->reason.type == ES_PARSING ? 400 : 500;
}

/* Reads a search/scroll answer into a page (hits point into the JSON document the page keeps). */
static int read_page(json_doc *d, const rx_remote_plan *plan, rx_page *p, char **scroll_id, es_err *err)
{
    const json_val *root = json_doc_root(d);
    p->doc = d;
    p->total = -1;
    const json_val *sid = json_obj_get(root, "_scroll_id");
    if (sid && json_type_of(sid) == JSON_STRING) {
        free(*scroll_id);
        *scroll_id = xstrdup(json_str(sid, NULL));
    }
    p->timed_out = json_bool(json_obj_get(root, "timed_out"));
    const json_val *error = json_obj_get(root, "error");
    if (error && json_type_of(error) != JSON_NULL) page_add_failure(p, NULL, -1, NULL, error);
    const json_val *fails = json_path(root, "_shards.failures");
    for (size_t i = 0; fails && i < json_len(fails); i++) {
        const json_val *f = json_arr_get(fails, i);
        const json_val *reason = json_obj_get(f, "reason");
        const json_val *shard = json_obj_get(f, "shard");
        page_add_failure(p, json_str(json_obj_get(f, "index"), NULL), shard ? (int32_t)json_int(shard) : -1,
                         json_str(json_obj_get(f, "node"), NULL), reason ? reason : f);
    }
    const json_val *hits = json_obj_get(root, "hits");
    const json_val *total = json_obj_get(hits, "total");
    if (json_type_of(total) == JSON_OBJECT) p->total = json_int(json_obj_get(total, "value"));
    else if (total && json_is_number(total)) p->total = json_int(total);
    const json_val *arr = json_obj_get(hits, "hits");
    size_t n = json_len(arr);
    if (n) p->hits = xcalloc(n, sizeof *p->hits);
    for (size_t i = 0; i < n; i++) {
        const json_val *h = json_arr_get(arr, i);
        rx_hit *x = &p->hits[p->n];
        x->index = json_str(json_obj_get(h, "_index"), NULL);
        x->id = json_str(json_obj_get(h, "_id"), &x->idlen);
        if (!x->index || !x->id) {
            es_err_set(err, ES_INTERNAL, "Error parsing the response, remote is likely not an Elasticsearch instance");
            es_err *c = xcalloc(1, sizeof *c);
            es_err_set(c, ES_X_CONTENT_PARSE, "[hit] a hit has no [%s]", x->index ? "_id" : "_index");
            es_err_cause(err, c);
            return -1;
        }
        const json_val *ver = json_obj_get(h, "_version");
        x->version = ver && json_is_number(ver) ? json_int(ver) : -1;
        x->seq_no = -2;
        const json_val *rt = json_obj_get(h, "_routing");
        if (!rt) rt = json_path(h, "fields._routing");
        if (rt && json_type_of(rt) == JSON_ARRAY) rt = json_arr_get(rt, 0);
        if (rt && json_type_of(rt) == JSON_STRING) x->routing = json_str(rt, &x->routing_len);
        const json_val *src = json_obj_get(h, "_source");
        if (src && json_type_of(src) != JSON_NULL) x->source = json_raw(d, src, &x->srclen);
        p->n++;
    }
    (void)plan;
    return 0;
}

/* ======================================================================== */
/* The remote source                                                        */

typedef struct remote_src {
    rx_source base;
    reindex_env *env;
    const rx_request *r;
    rx_worker *w;
    rx_conn *c;
    rx_tls *tls;
    int slice, max;
    int64_t size;
    int32_t version;
    rx_remote_plan plan;
    char *scroll_id;
    bool contacted;             /* the remote answered once: connection failures are retried from now on */
    int64_t seen;
    int64_t total;
    bool continuation_retried;
} remote_src;

/*
 * One call with the retry policy: 429 always (Elasticsearch), 5xx and
 * connection failures once the remote has answered (ferry, OpenSearch-style),
 * each retry after rx_backoff_ms, counted in retries.search.
 */
static int remote_call(remote_src *s, const char *method, const char *path, const char *ctype, const char *body,
                       size_t len, bool continuation, rx_resp *out, es_err *err)
{
    for (int attempt = 0;; attempt++) {
        es_err e = { 0 };
        rx_net kind;
        int rc = rx_conn_request(s->c, method, path, ctype, body, len, false, out, &kind, &e);
        bool retry = false;
        if (rc == 0) {
            s->contacted = true;
            if (out->status == 429) retry = true;
            else if (out->status >= 500 && out->status != 501 && out->status != 505) retry = true;
            if (!retry || attempt >= s->env->retry_max) {
                es_err_free(&e);
                return 0;
            }
        } else {
            if (kind == RXN_ABORTED || kind == RXN_TOO_LARGE || kind == RXN_TLS || kind == RXN_OTHER ||
                kind == RXN_TIMEOUT || !s->contacted || attempt >= s->env->retry_max) {
                *err = e;
                return -1;
            }
            retry = true;
        }
        int64_t delay = rx_backoff_ms(s->env->retry_initial_ms, attempt);
        log_info("reindex", "remote [%s] answered %s%s on %s; retry %d/%d in %" PRId64 "ms", rx_conn_target(s->c),
                 rc == 0 ? "status " : "", rc == 0 ? out->status_line : e.reason, method, attempt + 1,
                 s->env->retry_max, delay);
        es_err_free(&e);
        if (rc == 0) rx_resp_free(out);
        if (continuation) s->continuation_retried = true;
        rx_worker_count_search_retry(s->w);
        if (!rx_worker_sleep(s->w, delay)) {
            es_err_set(err, ES_TASK_CANCELLED, "task cancelled");
            return -1;
        }
    }
}

static void page_fail(rx_page *p, es_err *e)
{
    p->error = true;
    p->err = *e;
    memset(e, 0, sizeof *e);
}

static bool detect_version(remote_src *s, rx_page *out)
{
    char *path = xasprintf("%s/", s->r->remote->h.path_prefix && strcmp(s->r->remote->h.path_prefix, "/")
                                      ? s->r->remote->h.path_prefix
                                      : "");
    /* "/prefix/" → the prefix as given plus "/" */
    size_t pl = strlen(path);
    if (pl >= 2 && path[pl - 2] == '/') path[pl - 1] = 0;
    rx_resp rs;
    es_err e = { 0 };
    int rc = remote_call(s, "GET", path, NULL, NULL, 0, false, &rs, &e);
    free(path);
    if (rc) {
        page_fail(out, &e);
        return false;
    }
    if (rs.status >= 300) {
        status_error(&rs, &e);
        rx_resp_free(&rs);
        page_fail(out, &e);
        return false;
    }
    json_doc *d = parse_answer(&rs, &e);
    rx_resp_free(&rs);
    if (!d) {
        page_fail(out, &e);
        return false;
    }
    const json_val *root = json_doc_root(d);
    const char *number = json_str(json_path(root, "version.number"), NULL);
    const char *dist = json_str(json_path(root, "version.distribution"), NULL);
    s->version = rx_version_id(number, dist);
    json_doc_free(d);
    if (!s->version) {
        es_err_set(&e, ES_INTERNAL, "Error parsing the response, remote is likely not an Elasticsearch instance");
        es_err *c = xcalloc(1, sizeof *c);
        es_err_set(c, ES_X_CONTENT_PARSE, "[main] failed to parse field [version]: no usable [version.number]");
        es_err_cause(&e, c);
        page_fail(out, &e);
        return false;
    }
    s->plan = rx_plan_for(s->version);
    return true;
}

/* Sends a search or scroll request and reads the page. */
static void fetch_page(remote_src *s, const char *path, const char *ctype, const char *body, bool continuation,
                       rx_page *out)
{
    rx_resp rs;
    es_err e = { 0 };
    if (remote_call(s, "POST", path, ctype, body, body ? strlen(body) : 0, continuation, &rs, &e)) {
        page_fail(out, &e);
        return;
    }
    if (rs.status >= 300) {
        status_error(&rs, &e);
        rx_resp_free(&rs);
        page_fail(out, &e);
        return;
    }
    json_doc *d = parse_answer(&rs, &e);
    rx_resp_free(&rs);
    if (!d) {
        page_fail(out, &e);
        return;
    }
    if (read_page(d, &s->plan, out, &s->scroll_id, &e)) {
        page_fail(out, &e);
        return;
    }
    s->seen += (int64_t)out->n;
}

static void remote_first(rx_source *base, rx_page *out)
{
    remote_src *s = (remote_src *)base;
    memset(out, 0, sizeof *out);
    out->total = -1;
    if (s->tls->error) {
        es_err e = { 0 };
        es_err_set(&e, ES_ILLEGAL_STATE, "%s", s->tls->error);
        e.type_name = "ssl_config_exception";
        page_fail(out, &e);
        return;
    }
    if (!detect_version(s, out)) return;
    if (s->max > 1 && !s->plan.sliced_scroll) {
        es_err e = { 0 };
        es_err_set(&e, ES_ILLEGAL_ARGUMENT,
                   "the remote cluster's version does not support sliced scrolls (needs 5.0 or later); use slices=1");
        page_fail(out, &e);
        return;
    }
    char *path, *body;
    rx_remote_first_search(s->r, &s->plan, s->slice, s->max, &path, &body);
    fetch_page(s, path, "application/json", body, false, out);
    free(path);
    free(body);
    if (!out->error) s->total = out->total;
    /* An old "scan" answer has a scroll id and no hits yet: the first scroll brings them. */
    if (!out->error && out->n == 0 && s->scroll_id && s->plan.scan) {
        int64_t total = out->total;
        rx_page_free(out);
        base->next(base, 0, out);
        if (!out->error) out->total = total;
    }
}

static void remote_next(rx_source *base, int64_t extra_ms, rx_page *out)
{
    remote_src *s = (remote_src *)base;
    memset(out, 0, sizeof *out);
    out->total = -1;
    if (!s->scroll_id) return; /* no scroll: the first page was the only one */
    buf p = { 0 };
    if (s->r->remote->h.path_prefix && strcmp(s->r->remote->h.path_prefix, "/")) {
        const char *pp = s->r->remote->h.path_prefix;
        size_t n = strlen(pp);
        while (n && pp[n - 1] == '/') n--;
        buf_append(&p, pp, n);
    }
    buf_puts(&p, "/_search/scroll?scroll=");
    keepalive_text(&p, s->r, &s->plan, extra_ms, false);
    if (s->plan.plain_text_scroll) {
        fetch_page(s, p.p, "text/plain", s->scroll_id, true, out);
    } else {
        buf b = { 0 };
        json_w w;
        jw_init(&w, &b, false);
        jw_obj_begin(&w);
        jw_kstr(&w, "scroll_id", s->scroll_id);
        jw_obj_end(&w);
        fetch_page(s, p.p, "application/json", b.p, true, out);
        buf_free(&b);
    }
    buf_free(&p);
    /* The end, when a retried continuation may have skipped a page: say so rather than report a
     * complete copy (a scroll cursor that advanced before its answer was lost cannot be rewound). */
    if (!out->error && out->n == 0 && s->continuation_retried && s->total >= 0 && s->seen < s->total &&
        s->r->max_docs < 0) {
        rx_search_failure f = { 0 };
        f.shard = -1;
        f.status = 500;
        es_err_set(&f.reason, ES_ILLEGAL_STATE,
                   "the remote reported [%" PRId64 "] matching documents but returned [%" PRId64
                   "]: a scroll page was probably lost while retrying a failed scroll request; run the reindex again "
                   "(with op_type create and conflicts proceed to copy only what is missing)",
                   s->total, s->seen);
        out->failures = xcalloc(1, sizeof *out->failures);
        out->failures[0] = f;
        out->n_failures = 1;
    }
}

static void remote_close(rx_source *base)
{
    remote_src *s = (remote_src *)base;
    if (s->scroll_id && s->c) {
        buf p = { 0 };
        if (s->r->remote->h.path_prefix && strcmp(s->r->remote->h.path_prefix, "/")) {
            const char *pp = s->r->remote->h.path_prefix;
            size_t n = strlen(pp);
            while (n && pp[n - 1] == '/') n--;
            buf_append(&p, pp, n);
        }
        buf_puts(&p, "/_search/scroll");
        rx_resp rs;
        es_err e = { 0 };
        rx_net kind;
        int rc;
        if (s->plan.plain_text_scroll) {
            rc = rx_conn_request(s->c, "DELETE", p.p, "text/plain", s->scroll_id, strlen(s->scroll_id), true, &rs, &kind,
                                 &e);
        } else {
            buf b = { 0 };
            json_w w;
            jw_init(&w, &b, false);
            jw_obj_begin(&w);
            jw_key(&w, "scroll_id");
            jw_arr_begin(&w);
            jw_str(&w, s->scroll_id);
            jw_arr_end(&w);
            jw_obj_end(&w);
            rc = rx_conn_request(s->c, "DELETE", p.p, "application/json", b.p, b.len, true, &rs, &kind, &e);
            buf_free(&b);
        }
        if (rc) {
            log_warn("reindex", "failed to clear the scroll on [%s]: %s", rx_conn_target(s->c), e.reason);
        } else {
            if (rs.status >= 300 && !(rs.status == 404 && s->plan.ignore_clear_404))
                log_warn("reindex", "failed to clear the scroll on [%s]: status %ld", rx_conn_target(s->c), rs.status);
            rx_resp_free(&rs);
        }
        es_err_free(&e);
        buf_free(&p);
    }
    free(s->scroll_id);
    rx_conn_free(s->c);
    rx_tls_release(s->tls);
    free(s);
}

rx_source *rx_remote_source(reindex_env *env, const rx_request *r, rx_worker *w, int slice, int max, int64_t size)
{
    remote_src *s = xcalloc(1, sizeof *s);
    s->base.first = remote_first;
    s->base.next = remote_next;
    s->base.close = remote_close;
    s->env = env;
    s->r = r;
    s->w = w;
    s->slice = slice;
    s->max = max;
    s->size = size;
    s->total = -1;
    s->tls = rx_tls_current(env->tls);
    const rx_remote_info *ri = r->remote;
    rx_endpoint ep = { .h = &ri->h,
                       .username = ri->username,
                       .password = ri->password,
                       .api_key = ri->api_key,
                       .hdr_k = ri->hdr_k,
                       .hdr_v = ri->hdr_v,
                       .n_hdr = ri->n_hdr,
                       .socket_timeout_ms = ri->socket_timeout_ms,
                       .connect_timeout_ms = ri->connect_timeout_ms };
    s->c = rx_conn_new(&ep, s->tls, rx_env_share(env), rx_worker_abort_flag(w));
    return &s->base;
}

/* ======================================================================== */
/* A remote _bulk target (the sink `ferry migrate` writes through)          */

struct rx_remote_target {
    reindex_env *env;
    rx_host h;
    rx_tls *tls;
    rx_conn *c;
    atomic_bool abort;
    int32_t version;
    bool typed;                 /* < 7.0: every action names _type "_doc" */
    bool contacted;             /* refused connections are retried once the remote answered */
    char *user, *pass, *api_key;
};

/* One call with the 429 / connection retry policy (no 5xx retries: a bulk may have been applied). */
static int target_call(rx_remote_target *t, const char *method, const char *path, const char *ctype, const char *body,
                       size_t len, rx_resp *out, int *retries, es_err *err)
{
    for (int attempt = 0;; attempt++) {
        es_err e = { 0 };
        rx_net kind;
        int rc = rx_conn_request(t->c, method, path, ctype, body, len, false, out, &kind, &e);
        bool retry = rc == 0 ? out->status == 429 : kind == RXN_CONNECT && t->contacted;
        if (!retry || attempt >= t->env->retry_max) {
            if (rc) *err = e;
            else es_err_free(&e);
            return rc;
        }
        es_err_free(&e);
        if (rc == 0) rx_resp_free(out);
        if (retries) (*retries)++;
        struct timespec ts = { rx_backoff_ms(t->env->retry_initial_ms, attempt) / 1000,
                               (rx_backoff_ms(t->env->retry_initial_ms, attempt) % 1000) * 1000000 };
        nanosleep(&ts, NULL);
    }
}

static char *prefixed(const rx_host *h, const char *path)
{
    buf b = { 0 };
    if (h->path_prefix && strcmp(h->path_prefix, "/")) {
        size_t n = strlen(h->path_prefix);
        while (n && h->path_prefix[n - 1] == '/') n--;
        buf_append(&b, h->path_prefix, n);
    }
    buf_puts(&b, path);
    return buf_detach(&b, NULL);
}

int rx_remote_target_open(reindex_env *env, const char *url, const char *username, const char *password,
                          const char *api_key, rx_remote_target **out, es_err *err)
{
    *out = NULL;
    rx_remote_target *t = xcalloc(1, sizeof *t);
    t->env = env;
    atomic_init(&t->abort, false);
    if (rx_host_parse(url, &t->h, err)) {
        free(t);
        return -1;
    }
    t->tls = rx_tls_current(env->tls);
    if (t->tls->error) {
        es_err_set(err, ES_ILLEGAL_STATE, "%s", t->tls->error);
        err->type_name = "ssl_config_exception";
        rx_remote_target_close(t);
        return -1;
    }
    t->user = username ? xstrdup(username) : NULL;
    t->pass = password ? xstrdup(password) : NULL;
    t->api_key = api_key ? xstrdup(api_key) : NULL;
    rx_endpoint ep = { .h = &t->h, .username = t->user, .password = t->pass, .api_key = t->api_key,
                       .socket_timeout_ms = 60000, .connect_timeout_ms = 30000 };
    t->c = rx_conn_new(&ep, t->tls, env->share, &t->abort);
    char *path = prefixed(&t->h, "/");
    rx_resp rs;
    int rc = target_call(t, "GET", path, NULL, NULL, 0, &rs, NULL, err);
    free(path);
    if (rc) {
        rx_remote_target_close(t);
        return -1;
    }
    if (rs.status >= 300) {
        status_error(&rs, err);
        rx_resp_free(&rs);
        rx_remote_target_close(t);
        return -1;
    }
    json_doc *d = parse_answer(&rs, err);
    rx_resp_free(&rs);
    if (!d) {
        rx_remote_target_close(t);
        return -1;
    }
    t->version = rx_version_id(json_str(json_path(json_doc_root(d), "version.number"), NULL),
                               json_str(json_path(json_doc_root(d), "version.distribution"), NULL));
    json_doc_free(d);
    t->typed = t->version && t->version < 7000099;
    t->contacted = true;
    *out = t;
    return 0;
}

/* A remote item error: known Elasticsearch types keep their type, others are "type: reason". */
static void item_error(const json_val *v, int status, es_err *out)
{
    static const struct { const char *name; es_error_type t; } known[] = {
        { "version_conflict_engine_exception", ES_VERSION_CONFLICT },
        { "es_rejected_execution_exception", ES_ES_REJECTED_EXECUTION },
        { "mapper_parsing_exception", ES_MAPPER_PARSING },
        { "document_parsing_exception", ES_DOCUMENT_PARSING },
        { "strict_dynamic_mapping_exception", ES_STRICT_DYNAMIC_MAPPING },
        { "index_not_found_exception", ES_INDEX_NOT_FOUND },
        { "illegal_argument_exception", ES_ILLEGAL_ARGUMENT },
        { "action_request_validation_exception", ES_ACTION_REQUEST_VALIDATION },
        { "invalid_index_name_exception", ES_INVALID_INDEX_NAME },
        { "circuit_breaking_exception", ES_CIRCUIT_BREAKING },
    };
    const char *type = json_type_of(v) == JSON_STRING ? NULL : json_str(json_obj_get(v, "type"), NULL);
    const char *reason = json_type_of(v) == JSON_STRING ? json_str(v, NULL) : json_str(json_obj_get(v, "reason"), NULL);
    for (size_t i = 0; type && i < ARRAY_LEN(known); i++) {
        if (!strcmp(type, known[i].name)) {
            es_err_set(out, known[i].t, "%s", reason ? reason : "");
            out->status = status;
            return;
        }
    }
    es_err_set(out, ES_INTERNAL, "%s%s%s", type ? type : "", type ? ": " : "", reason ? reason : "");
    out->type_name = "runtime_exception";
    out->status = status;
}

int rx_remote_target_bulk(rx_remote_target *t, const write_op *ops, size_t n, write_result *res, int *retries,
                          es_err *err)
{
    buf b = { 0 };
    json_w w;
    for (size_t i = 0; i < n; i++) {
        const write_op *op = &ops[i];
        jw_init(&w, &b, false);
        jw_obj_begin(&w);
        jw_key(&w, op->kind == WOP_DELETE ? "delete" : op->kind == WOP_CREATE ? "create" : "index");
        jw_obj_begin(&w);
        jw_kstr(&w, "_index", op->index);
        if (t->typed) jw_kstr(&w, "_type", "_doc");
        if (op->id) jw_kstr(&w, "_id", op->id);
        if (op->routing) jw_kstr(&w, "routing", op->routing);
        if (op->has_version) {
            jw_kint(&w, "version", op->version);
            jw_kstr(&w, "version_type", op->version_type == STORE_VERSION_EXTERNAL_GTE ? "external_gte" : "external");
        }
        if (op->has_if_seq_no) {
            jw_kint(&w, "if_seq_no", op->if_seq_no);
            jw_kint(&w, "if_primary_term", op->if_primary_term);
        }
        if (op->pipeline) jw_kstr(&w, "pipeline", op->pipeline);
        if (op->require_alias) jw_kbool(&w, "require_alias", true);
        jw_obj_end(&w);
        jw_obj_end(&w);
        buf_putc(&b, '\n');
        if (op->kind != WOP_DELETE) {
            /* one line per source: pretty-printed sources are compacted */
            if (memchr(op->source, '\n', op->source_len) || memchr(op->source, '\r', op->source_len)) {
                if (!json_reformat(op->source, op->source_len, false, &b)) buf_append(&b, op->source, op->source_len);
            } else {
                buf_append(&b, op->source, op->source_len);
            }
            buf_putc(&b, '\n');
        }
    }
    char *path = prefixed(&t->h, "/_bulk");
    rx_resp rs;
    int rc = target_call(t, "POST", path, "application/x-ndjson", b.p, b.len, &rs, retries, err);
    free(path);
    buf_free(&b);
    if (rc) return -1;
    if (rs.status >= 300) {
        status_error(&rs, err);
        rx_resp_free(&rs);
        return -1;
    }
    json_doc *d = parse_answer(&rs, err);
    rx_resp_free(&rs);
    if (!d) return -1;
    const json_val *items = json_obj_get(json_doc_root(d), "items");
    if (json_len(items) != n) {
        json_doc_free(d);
        return es_err_set(err, ES_ILLEGAL_STATE, "the remote _bulk answered %zu items for %zu operations",
                          json_len(items), n);
    }
    for (size_t i = 0; i < n; i++) {
        const json_val *it = json_arr_get(items, i);
        json_iter ji = json_iter_begin(it);
        const char *k;
        size_t kl;
        const json_val *v = json_iter_next(&ji, &k, &kl);
        write_result *r = &res[i];
        r->status = (int)json_int(json_obj_get(v, "status"));
        const char *ix = json_str(json_obj_get(v, "_index"), NULL);
        const char *id = json_str(json_obj_get(v, "_id"), NULL);
        r->index = xstrdup(ix ? ix : ops[i].index);
        r->id = xstrdup(id ? id : ops[i].id ? ops[i].id : "");
        const json_val *e = json_obj_get(v, "error");
        if (e) {
            item_error(e, r->status, &r->err);
            continue;
        }
        const char *result = json_str(json_obj_get(v, "result"), NULL);
        r->r.result = !result ? (r->status == 201 ? STORE_RESULT_CREATED : STORE_RESULT_UPDATED)
                      : !strcmp(result, "created")   ? STORE_RESULT_CREATED
                      : !strcmp(result, "deleted")   ? STORE_RESULT_DELETED
                      : !strcmp(result, "not_found") ? STORE_RESULT_NOT_FOUND
                      : !strcmp(result, "noop")      ? STORE_RESULT_NOOP
                                                     : STORE_RESULT_UPDATED;
        const json_val *ver = json_obj_get(v, "_version");
        r->r.version = ver ? json_int(ver) : -1;
        const json_val *sq = json_obj_get(v, "_seq_no");
        r->r.seq_no = sq ? json_int(sq) : -2;
    }
    json_doc_free(d);
    return 0;
}

int rx_remote_target_refresh(rx_remote_target *t, const char *index, es_err *err)
{
    buf p = { 0 };
    buf_putc(&p, '/');
    form_encode(&p, index);
    buf_puts(&p, "/_refresh");
    char *path = prefixed(&t->h, p.p);
    buf_free(&p);
    rx_resp rs;
    int rc = target_call(t, "POST", path, NULL, NULL, 0, &rs, NULL, err);
    free(path);
    if (rc) return -1;
    if (rs.status >= 300) {
        status_error(&rs, err);
        rc = -1;
    }
    rx_resp_free(&rs);
    return rc;
}

int32_t rx_remote_target_version(const rx_remote_target *t)
{
    return t->version;
}

void rx_remote_target_close(rx_remote_target *t)
{
    if (!t) return;
    rx_conn_free(t->c);
    rx_tls_release(t->tls);
    rx_host_free(&t->h);
    free(t->user);
    if (t->pass) explicit_bzero(t->pass, strlen(t->pass));
    free(t->pass);
    if (t->api_key) explicit_bzero(t->api_key, strlen(t->api_key));
    free(t->api_key);
    free(t);
}
