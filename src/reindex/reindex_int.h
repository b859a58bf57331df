/*
 * reindex_int.h — shared by the files of src/reindex only: the parsed
 * request, the remote connection, sources and sinks, jobs and workers.
 */
#ifndef FERRY_REINDEX_INT_H
#define FERRY_REINDEX_INT_H

#include "reindex/reindex.h"
#include "store/store.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#define RX_DEFAULT_SIZE 1000
#define RX_DEFAULT_SCROLL_MS (5 * 60 * 1000)
#define RX_DEFAULT_TIMEOUT_MS (30 * 1000)
#define RX_MAX_RESPONSE (100LL * 1024 * 1024) /* 100 MiB, as Elasticsearch's buffer */
#define RX_QUEUE_DEPTH 2

/* ======================================================================== */
/* Request                                                                  */

typedef enum { RX_ROUTE_KEEP = 0, RX_ROUTE_DISCARD, RX_ROUTE_SET } rx_routing;

typedef struct rx_remote_info {
    rx_host h;
    char *username;
    char *password;             /* never logged, never in descriptions or errors */
    char *api_key;
    char **hdr_k, **hdr_v;
    size_t n_hdr;
    int64_t socket_timeout_ms;
    int64_t connect_timeout_ms;
    char *query_pretty;         /* for the description (Elasticsearch's pretty layout) */
    char *query_compact;        /* re-emitted to the remote */
} rx_remote_info;

struct rx_request {
    rx_kind kind;
    char **indices;
    size_t n_indices;
    char *query;                /* local sources: compact JSON of the query; NULL = match_all */
    int64_t size;               /* batch size */
    char *source_json;          /* compact JSON of "_source" as given; NULL = whole source */
    char **src_inc, **src_exc;  /* the filter it describes */
    size_t n_inc, n_exc;
    char *sort_url;             /* remote: "f:asc,g:desc" (NULL: _doc) */
    char *sort_json;            /* local: the "sort" value as given (compact JSON), NULL: _doc order */
    bool has_sort;
    bool has_slice;             /* manual source.slice */
    int32_t slice_id, slice_max;
    char *slice_field;
    rx_remote_info *remote;
    /* dest */
    char *dest_index;
    bool op_create;
    store_version_type vt;
    bool vt_external;           /* a version_type other than internal: copy _version */
    char *pipeline;
    rx_routing routing;
    char *routing_value;        /* RX_ROUTE_SET */
    bool abort_on_conflict;
    int64_t max_docs;           /* -1: all */
    bool has_script;
    /* URL */
    bool refresh;
    int64_t timeout_ms;
    int32_t wait_active;        /* -1: all; >= 0 a count (default 1) */
    bool wait_for_completion;
    float rps;                  /* +inf: unlimited */
    bool require_alias;
    int64_t scroll_ms;
    char *scroll_text;          /* as given ("5m") */
    int32_t slices;             /* 0: auto */
    bool human;
    /* _update_by_query / _delete_by_query: resolve options and URL routing */
    resolve_opts ropts;
    char *url_routing;
    char *description;
    char **warnings;
    size_t n_warnings;
};

/* Elasticsearch's TimeValue parsing with its errors (parse_exception "failed to parse [x]"
 * caused by number_format_exception...). name: the setting/field name for messages. */
int rx_parse_time(const char *s, const char *name, int64_t *ms, es_err *err);

/* ======================================================================== */
/* TLS (rx_tls.c)                                                           */

typedef enum { RX_VERIFY_FULL = 0, RX_VERIFY_CERTIFICATE, RX_VERIFY_NONE } rx_verify;

/* One immutable TLS configuration, shared by the connections of the jobs started with it. */
typedef struct rx_tls {
    atomic_int refs;
    rx_verify verify;
    char *ca_file;              /* what curl reads (a CA file, or a private combined copy); NULL: system store */
    char *ca_temp;              /* the private combined copy to delete, or NULL */
    char *ca_desc;              /* "[config/my_ca/ca.pem]" for messages, or NULL */
    char *cert_file, *key_file, *key_pass;
    long sslversion;            /* CURLOPT_SSLVERSION (min | max) */
    char *protocols_desc;       /* "TLSv1.3, TLSv1.2" */
    char *error;                /* set when the files are unusable: every remote job fails with it */
} rx_tls;

typedef struct rx_tls_state rx_tls_state;
rx_tls_state *rx_tls_state_new(const config *cfg);
void rx_tls_state_free(rx_tls_state *st);
/* The current configuration (re-reading the files if they changed on disk): a reference. */
rx_tls *rx_tls_current(rx_tls_state *st);
void rx_tls_release(rx_tls *t);

/* ======================================================================== */
/* Remote connection (rx_remote.c)                                          */

typedef enum {
    RXN_OK = 0,
    RXN_CONNECT,     /* nothing was sent: refused, unreachable, DNS */
    RXN_BROKEN,      /* the connection broke after the request was (maybe) sent */
    RXN_TIMEOUT,     /* socket_timeout or connect_timeout */
    RXN_TLS,
    RXN_ABORTED,     /* cancelled */
    RXN_TOO_LARGE,   /* over the 100 MiB buffer */
    RXN_OTHER,
} rx_net;

typedef struct rx_resp {
    long status;
    char *ctype;                /* Content-Type or NULL */
    buf body;
    char status_line[160];
} rx_resp;

void rx_resp_free(rx_resp *r);

typedef struct rx_conn rx_conn;

typedef struct rx_endpoint {
    const rx_host *h;
    const char *username, *password, *api_key;
    char *const *hdr_k;
    char *const *hdr_v;
    size_t n_hdr;
    int64_t socket_timeout_ms, connect_timeout_ms;
} rx_endpoint;

/* A reused easy handle for one worker. abort: when it becomes true, transfers stop. */
rx_conn *rx_conn_new(const rx_endpoint *ep, rx_tls *tls, CURLSH *share, atomic_bool *abort);
void rx_conn_free(rx_conn *c);
/* One request: 0 with *out filled (any status), or -1 with *err and *kind. path includes the query
 * string and is appended to the path prefix. ignore_abort: run even when abort is set (clear-scroll). */
int rx_conn_request(rx_conn *c, const char *method, const char *path, const char *ctype, const char *body,
                    size_t len, bool ignore_abort, rx_resp *out, rx_net *kind, es_err *err);
/* "host:port" of the connection, for messages. */
const char *rx_conn_target(const rx_conn *c);

/* Maps a failed transfer to Elasticsearch-like errors with plain TLS explanations. */
void rx_tls_explain(const rx_tls *tls, const rx_host *h, CURLcode code, const char *curl_msg, bool nothing_back,
                    es_err *err, rx_net *kind);

/* ======================================================================== */
/* Sources and sinks                                                        */

typedef struct rx_hit {
    const char *index;
    const char *id;
    size_t idlen;
    const char *routing;        /* NULL: none */
    size_t routing_len;
    const char *source;         /* NULL: the hit has no _source */
    size_t srclen;
    int64_t version;            /* -1: unknown */
    int64_t seq_no, primary_term;
} rx_hit;

typedef struct rx_search_failure {
    char *index;                /* NULL when unknown */
    int32_t shard;              /* -1 when unknown */
    char *node;                 /* NULL when unknown */
    int status;
    es_err reason;
} rx_search_failure;

typedef struct rx_page {
    rx_hit *hits;
    size_t n;
    int64_t total;              /* first page: the total hits (-1 unknown) */
    bool timed_out;
    rx_search_failure *failures;
    size_t n_failures;
    bool error;                 /* the source failed: err */
    es_err err;
    /* what the hits point into */
    json_doc *doc;
    char *mem;
    arena ar;
} rx_page;

void rx_page_free(rx_page *p);

typedef struct rx_worker rx_worker;

typedef struct rx_source rx_source;
struct rx_source {
    /* First page (with total). Returns 0; failures are reported in the page (error). */
    void (*first)(rx_source *s, rx_page *out);
    /* Next page; extra_keepalive_ms extends the scroll keep-alive (throttling). */
    void (*next)(rx_source *s, int64_t extra_keepalive_ms, rx_page *out);
    /* Ends the read (clears the remote scroll) and frees the source. */
    void (*close)(rx_source *s);
};

typedef enum { RXI_CREATED, RXI_UPDATED, RXI_DELETED, RXI_NOOP, RXI_FAILED } rx_item_kind;

typedef struct rx_item {
    rx_item_kind kind;
    int status;
    es_err err;                 /* RXI_FAILED */
    char *index;                /* heap */
    char *id;                   /* heap */
} rx_item;

void rx_item_free(rx_item *it);

typedef struct rx_sink rx_sink;
struct rx_sink {
    /* Writes n operations; res[i] per operation. -1 (err) when the whole bulk failed. */
    int (*write)(rx_sink *k, const write_op *ops, size_t n, rx_item *res, es_err *err);
    /* Makes the written documents visible (refresh=true). */
    int (*refresh)(rx_sink *k, es_err *err);
    void (*close)(rx_sink *k);
};

/* Local source over a consistent snapshot of the request's indices (rx_local.c). */
typedef struct rx_local_snapshot rx_local_snapshot;
/* Opens snapshots of every shard of the source indices (and parses the query against them). */
int rx_local_snapshot_open(reindex_env *env, const rx_request *r, rx_local_snapshot **out, es_err *err);
void rx_local_snapshot_free(rx_local_snapshot *s);
/* The shards of the snapshot (for slices=auto: Elasticsearch uses the source's shard count). */
uint32_t rx_local_snapshot_min_shards(const rx_local_snapshot *s);
/* Whether the snapshot reads the concrete index `name`. */
bool rx_local_snapshot_has(const rx_local_snapshot *s, const char *name);
/* A source reading slice `slice` of `max` (max 1: everything). */
rx_source *rx_local_source(rx_local_snapshot *snap, const rx_request *r, int slice, int max, int64_t size);
rx_sink *rx_local_sink(reindex_env *env, const rx_request *r, rx_worker *w);

/* Remote source (rx_remote.c): version detection happens in first(). */
rx_source *rx_remote_source(reindex_env *env, const rx_request *r, rx_worker *w, int slice, int max, int64_t size);

/* ======================================================================== */
/* Engine (rx_engine.c)                                                     */

struct reindex_env {
    const config *cfg;
    indices *ix;
    tasks *tm;
    char *version;
    char **whitelist;
    size_t n_whitelist;
    const char *whitelist_setting;     /* the setting named in errors */
    rx_tls_state *tls;
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    int64_t retry_initial_ms;
    int retry_max;
    bool remote_slices;                /* ferry extension: sliced remote reads */
    pthread_mutex_t jobs_mu;
    pthread_cond_t jobs_cv;            /* signalled when a job ends */
    struct rx_job **jobs;
    size_t n_jobs;
};

/* Worker services for sources and sinks. */
/* Sleeps up to ms, waking early on cancel/stop. Returns false when the worker must stop. */
bool rx_worker_sleep(rx_worker *w, int64_t ms);
bool rx_worker_stopping(rx_worker *w);
void rx_worker_count_search_retry(rx_worker *w);
atomic_bool *rx_worker_abort_flag(rx_worker *w);
CURLSH *rx_env_share(reindex_env *env);

#endif
