/*
 * http — the REST transport: Elasticsearch's HTTP conventions on GNU
 * libmicrohttpd (thread pool + epoll).
 *
 * A route table (method set + path template such as "/{index}/_doc/{id}")
 * dispatches each request to a handler. Before a handler runs, this layer has
 * already: percent-decoded the path segments, checked the method (405 with the
 * allowed list), rejected unknown query parameters with Elasticsearch's text,
 * read the body up to http.max_content_length (413 beyond), inflated gzip or
 * deflate bodies, and checked the media type. After the handler, it applies the
 * common parameters (filter_path, pretty), compresses when the client allows,
 * and sets X-Elastic-Product and the content type on every answer.
 *
 * Depends on: core, json. Handlers run on the server's pool threads, many at
 * once: a handler must only touch shared state through thread-safe modules.
 */
#ifndef FERRY_HTTP_H
#define FERRY_HTTP_H

#include "core/core.h"
#include "json/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HTTP_GET = 1 << 0,
    HTTP_POST = 1 << 1,
    HTTP_PUT = 1 << 2,
    HTTP_DELETE = 1 << 3,
    HTTP_HEAD = 1 << 4,
    HTTP_PATCH = 1 << 5,
    HTTP_OPTIONS = 1 << 6,
} http_method;

const char *http_method_name(http_method m);

typedef struct http_req http_req;
typedef struct http_resp http_resp;
typedef struct http_server http_server;

typedef void (*http_handler)(http_req *req, http_resp *resp, void *ctx);

/* Route flags. */
enum {
    HTTP_ROUTE_NDJSON = 1 << 0,     /* body is newline-delimited JSON (_bulk, _msearch) */
    HTTP_ROUTE_TEXT = 1 << 1,       /* answers text by default (_cat); `format` selects json */
    HTTP_ROUTE_BODY = 1 << 2,       /* takes a request body; elsewhere a body is refused (400) */
    HTTP_ROUTE_PRETTY = 1 << 3,     /* pretty unless ?pretty=false (Elasticsearch's GET /) */
};

typedef struct http_route {
    unsigned methods;       /* HTTP_GET | HTTP_HEAD ...: only these (HEAD is not implied) */
    const char *path;       /* "/{index}/_doc/{id}"; literal segments win over {params} */
    http_handler handler;
    const char *params;     /* comma-separated query parameters the route accepts,
                               beyond the common ones (pretty, human, error_trace,
                               filter_path, source, source_content_type) */
    unsigned flags;
} http_route;

typedef struct http_server_opts {
    const char *host;          /* bind address; NULL = 127.0.0.1 */
    int port;                  /* 0 = any free port (see http_server_port) */
    int port_max;              /* try port..port_max; 0 = just port */
    int64_t max_content_length;
    bool compression;          /* gzip responses when Accept-Encoding allows */
    unsigned threads;          /* 0 = 8 × cores, at least 16 */
    /* TLS (PEM in memory); NULL = plain HTTP. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    const char *tls_key_password;
    const char *tls_priorities;   /* GnuTLS priority string; NULL = secure defaults */
    const char *tls_trust_pem;    /* client CA(s) when verifying client certificates */
    int tls_client_auth;          /* 0 none, 1 optional (a certificate sent must verify against
                                     tls_trust_pem), 2 required (the handshake fails without one) */
    /* Called once the route is known, before parameter and body checks (as Elasticsearch
     * authenticates before its handlers look at the request); may answer (e.g. 401, 403)
     * by filling resp and returning false. Not called for 404/405/406 answers. */
    bool (*authenticate)(http_req *req, http_resp *resp, void *ctx);
    void *auth_ctx;
} http_server_opts;

/* Calls fn for every registered route, in registration order (start-up checks). */
void http_server_each_route(const http_server *srv, void (*fn)(const http_route *r, void *ctx), void *ctx);
/* Creates a server that does not listen yet: add every route first (the route table is
 * not guarded, so it must be complete before the first request), then listen. */
http_server *http_server_new(const http_server_opts *opts);
/* Adds routes (the array must outlive the server); ctx is passed to their handlers.
 * Only before http_server_listen. */
void http_add_routes(http_server *srv, const http_route *routes, size_t n, void *ctx);
/* Binds and starts serving. Returns -1 and a message in *errmsg (heap) on failure; the
 * server is then still to be freed with http_server_stop. */
int http_server_listen(http_server *srv, char **errmsg);
int http_server_port(const http_server *srv);
/* Stops serving (if listening) and frees the server. */
void http_server_stop(http_server *srv);

/* ------------------------------------------------------------------------ */
/* Request access (valid during the handler). */

http_method http_req_method(const http_req *req);
const char *http_req_path(const http_req *req);       /* decoded path, no query */
/* A {param} of the route template, percent-decoded; NULL when the route has none. */
const char *http_path_param(const http_req *req, const char *name);
/* Query parameter (decoded) or NULL. "" for a bare `?flag`. */
const char *http_param(const http_req *req, const char *name);
/* Boolean query parameter as Elasticsearch parses it: absent → def; "" or "true" → true;
 * "false" → false; anything else sets *err (illegal_argument_exception) and returns def. */
bool http_param_bool(const http_req *req, const char *name, bool def, es_err *err);
/* Integer parameter; bad number sets *err. */
int64_t http_param_int(const http_req *req, const char *name, int64_t def, es_err *err);
/* Time parameter ("30s"), in ms; bad value sets *err. */
int64_t http_param_time(const http_req *req, const char *name, int64_t def, es_err *err);
const char *http_header(const http_req *req, const char *name); /* case-insensitive */
const char *http_body(const http_req *req, size_t *len);        /* NULL / 0 when none */
bool http_has_body(const http_req *req);
/* Parses the body as one JSON value. On malformed JSON sets *err to Elasticsearch's
 * parse error (x_content_parse_exception / json_parse_exception with [line:col]) and
 * returns NULL. The value lives until the request ends. Empty body → NULL, no error. */
const json_val *http_body_json(http_req *req, es_err *err);
/* Request-scoped arena, freed when the request ends. */
arena *http_req_arena(http_req *req);
/* The route that matched (set before the authenticate hook runs); NULL before routing. */
const http_route *http_req_route(const http_req *req);
/* The request URI as the client sent it (path and query, not decoded), as Elasticsearch
 * quotes it in security messages. */
const char *http_req_uri(const http_req *req);
/* The authenticated principal set by the authenticate hook (or NULL). */
void http_req_set_user(http_req *req, void *user);
void *http_req_user(const http_req *req);
bool http_req_is_tls(const http_req *req);

/* ------------------------------------------------------------------------ */
/* Responses. A handler sets a status and body; JSON is the default type. */

/* Starts a JSON body with status; returns the writer (compact; pretty is applied later). */
json_w *http_resp_json(http_resp *resp, int status);
/* Raw body with a content type (copied). */
void http_resp_body(http_resp *resp, int status, const char *content_type, const char *body, size_t n);
/* Elasticsearch's error envelope {"error":{"root_cause":[…],"type":…,"reason":…},"status":N}. */
void http_resp_error(http_resp *resp, const es_err *err);
/* The status alone, empty body (HEAD-style answers, 404 exists checks). */
void http_resp_status(http_resp *resp, int status);
void http_resp_header(http_resp *resp, const char *name, const char *value);
/* Writes one error object ({"type":…,"reason":…,…}) as Elasticsearch renders causes and
 * per-item failures (bulk items, reindex failures). */
void http_write_error_object(json_w *w, const es_err *err);

#endif
