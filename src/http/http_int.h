/*
 * http_int.h — shared only by the .c files of src/http.
 */
#ifndef FERRY_HTTP_INT_H
#define FERRY_HTTP_INT_H

#include "http/http.h"

#include <microhttpd.h>

typedef struct http_kv {
    char *key;
    char *value;
    bool used;
} http_kv;

typedef struct route_entry {
    const http_route *route;
    void *ctx;
    char **segs;       /* template segments ("_doc", "{id}") */
    size_t nsegs;
} route_entry;

typedef struct resp_header {
    char *name;
    char *value;
} resp_header;

struct http_resp {
    int status;
    buf body;
    char *content_type;  /* heap; NULL = JSON */
    bool is_json;
    bool set;
    json_w w;
    resp_header *headers;
    size_t n_headers;
};

struct http_server {
    struct MHD_Daemon *daemon;
    http_server_opts opts;
    char *cert_pem, *key_pem, *key_password, *priorities, *trust_pem;
    route_entry *routes;
    size_t n_routes;
    int port;
};

struct http_req {
    http_server *srv;
    struct MHD_Connection *con;
    http_method method;
    char *raw_uri;
    char *path;              /* decoded, without the query */
    char **segs;             /* decoded path segments */
    size_t nsegs;
    http_kv *params;
    size_t n_params;
    const route_entry *route;
    buf body;
    int64_t max_body;
    bool started;
    bool too_large;
    bool bad_uri;
    arena arena;
    json_doc *body_doc;
    bool body_parsed;
    void *user;
    bool auth_rejected;      /* the authenticate hook answered (401/403): no pretty-by-default */
    int compat_version;      /* 0, or 7/8/9 from Accept compatible-with */
};

/* http_filter.c: Elasticsearch's filter_path over a rendered JSON body.
 * Returns false when body is not JSON (the body is then left alone). */
bool http_filter_path(const char *json, size_t len, const char *filter_path, buf *out);

/* http_codec.c: request body inflation and response compression. */
int http_inflate(const char *in, size_t n, bool gzip, int64_t limit, buf *out); /* 0 ok, -1 bad, -2 too big */
bool http_gzip(const char *in, size_t n, buf *out);

/* http_url.c: percent-decoding and query parsing. */
bool http_percent_decode(const char *s, size_t n, bool plus_is_space, buf *out);

#endif
