/*
 * reindex — the engine behind _reindex, _update_by_query and
 * _delete_by_query: documents flow from a source (a local index read through
 * one consistent snapshot, or a remote Elasticsearch/OpenSearch/ferry cluster
 * read with scroll requests over libcurl) to a sink (the local write pipeline,
 * indices_write; or a remote `_bulk` endpoint), batch by batch.
 *
 * Each worker (one per slice) runs two threads around a queue of depth 2: a
 * fetcher that asks for the next page while the writer writes the previous
 * one. Throttling (requests_per_second) paces the fetcher between pages, as
 * Elasticsearch paces its scroll requests; cancellation and rethrottling wake
 * any wait at once; a cancelled or failed job always clears its remote scroll.
 *
 * Every job is a task (tasks.h): its status is the live counters, its result
 * Elasticsearch's BulkByScrollResponse. Request parsing and validation follow
 * Elasticsearch's ReindexRequest/RemoteInfo and their messages.
 *
 * Remote sources: host `scheme://host:port[/pathPrefix]`, pre-emptive Basic
 * auth, optional api_key and headers, connect/socket timeouts; the host:port
 * must match reindex.remote.whitelist (or .allowlist); TLS comes from the
 * node's reindex.ssl.* settings (CA/certificate/key files are re-read when
 * they change on disk); 429 answers are retried with Elasticsearch's backoff,
 * and so are 5xx answers and connection failures (ferry extension, bounded by
 * reindex.remote.retry.*). See docs/REINDEX.md.
 *
 * Depends on: core, json, config, indices, store, tasks, libcurl (GnuTLS),
 * pki (certificate descriptions in TLS errors).
 * Thread-safety: every function may be called from any thread.
 */
#ifndef FERRY_REINDEX_H
#define FERRY_REINDEX_H

#include "config/config.h"
#include "core/core.h"
#include "indices/indices.h"
#include "json/json.h"
#include "tasks/tasks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Settings this module owns (registered by cli before config_load). */
extern const setting_def reindex_settings[];
extern const size_t reindex_settings_count;

/* The node-wide reindex context: settings, TLS material, the remote whitelist. */
typedef struct reindex_env reindex_env;

/*
 * Reads the reindex settings. Problems with the TLS files are logged and
 * reported by every remote reindex until fixed (they are re-read each time).
 * version: the version this node reports (ferry.reported_version).
 */
reindex_env *reindex_env_open(const config *cfg, indices *ix, tasks *tm, const char *version);
/* After tasks_stop: frees the context. */
void reindex_env_close(reindex_env *env);

typedef enum { RX_REINDEX, RX_UPDATE_BY_QUERY, RX_DELETE_BY_QUERY } rx_kind;

/* URL parameters as the client sent them (NULL when absent). */
typedef struct rx_params {
    const char *refresh, *timeout, *wait_for_active_shards, *wait_for_completion, *requests_per_second;
    const char *require_alias, *scroll, *slices, *max_docs, *pipeline;
    bool human;
    /* _update_by_query / _delete_by_query */
    const char *index;            /* the {index} path part */
    const char *conflicts, *scroll_size, *routing, *q, *df, *analyzer, *default_operator, *lenient;
    const char *analyze_wildcard, *sort, *_source, *_source_includes, *_source_excludes;
    const char *ignore_unavailable, *allow_no_indices, *expand_wildcards, *search_timeout;
    const char *terminate_after, *version, *version_type, *preference, *search_type, *stats;
}rx_params;

typedef struct rx_request rx_request;

/*
 * Parses a request: the body (text, may be empty) and URL parameters, with
 * Elasticsearch's errors (x_content_parse_exception "[1:2] [reindex] unknown
 * field [junk]", "[max_docs] parameter cannot be negative, found [-4]", the
 * remote host form, "[requests_per_second] must be a float greater than 0. Use
 * -1 to disable throttling.", ...). Then validates it as
 * AbstractBulkByScrollRequest.validate does (action_request_validation_exception
 * "Validation Failed: 1: ...;"). *out is freed with rx_request_free.
 */
int rx_request_parse(reindex_env *env, rx_kind kind, const char *body, size_t len, const rx_params *p,
                     rx_request **out, es_err *err);
void rx_request_free(rx_request *r);
bool rx_request_wait_for_completion(const rx_request *r);
/* What a request reads and writes, for authorization before it starts: the source index
 * expressions (local sources; 0 for a remote one), and the destination (reindex; NULL
 * otherwise) with whether its documents are created (op_type create). */
size_t rx_request_sources(const rx_request *r, const char *const **names);
bool rx_request_is_remote(const rx_request *r);
const char *rx_request_dest(const rx_request *r, bool *create);

/* Deprecation warnings the request earned (e.g. the sort option); may be 0. */
size_t rx_request_warnings(const rx_request *r, const char *const **out);

/*
 * Starts the job as a task and returns that task (one reference for the
 * caller); the request is taken over (also on failure). Its result, once the
 * task completes (task_wait), is the response (task_result): the HTTP status
 * Elasticsearch computes (200, 408 when timed out, else the highest failure
 * status) and the BulkByScrollResponse body, or the error that ended the job.
 * Jobs started with wait_for_completion=false store their result in .tasks.
 */
task *reindex_start(reindex_env *env, rx_request *r, es_err *err);

/*
 * Changes requests_per_second of a running job (the task of a job or of one
 * of its slices). rps <= 0 or infinite: unlimited. Returns the task (a
 * reference) whose info the answer shows, or NULL with
 * resource_not_found_exception "task [x] is missing" /
 * "task [x] doesn't support this operation".
 */
task *reindex_rethrottle(reindex_env *env, uint64_t task_id, float rps, es_err *err);

/*
 * Parses requests_per_second as Elasticsearch's REST layer does: -1 → +inf;
 * other values must be floats > 0 ("[requests_per_second] must be a float
 * greater than 0. Use -1 to disable throttling.").
 */
int rx_parse_rps(const char *s, float *out, es_err *err);

/* Java's Float.toString of v (the text Elasticsearch writes for a float), into out[32]. */
void rx_float_text(float v, char out[32]);

/* ------------------------------------------------------------------------ */
/* Building blocks exposed for unit tests and for `ferry migrate`.          */

/* A remote host as source.remote.host gives it. */
typedef struct rx_host {
    char *scheme;       /* as given ("http", "https") */
    char *host;         /* URI host, IPv6 with its brackets ("[::1]") */
    int port;
    char *path_prefix;  /* NULL when the URI has no path */
} rx_host;

/* Parses "scheme://host:port[/pathPrefix]" as java.net.URI does; on failure
 * illegal_argument_exception "[host] must be of the form
 * [scheme]://[host]:[port](/[pathPrefix])? but was [<s>]". */
int rx_host_parse(const char *s, rx_host *out, es_err *err);
void rx_host_free(rx_host *h);

/* The whitelist check: "<host>:<port>" against simple-match patterns ('*' any
 * run). n == 0: every remote is denied. Returns 0 or -1 with
 * illegal_argument_exception "[h:p] not whitelisted in <setting>". */
int rx_whitelist_check(const char *const *patterns, size_t n, const char *setting, const char *host, int port,
                       es_err *err);

/* A remote version ("7.17.3", "1.7.6-SNAPSHOT", "8.0.0-rc1") as Elasticsearch's Version id
 * (major*1000000 + minor*10000 + revision*100 + 99); OpenSearch numbers (distribution
 * "opensearch") map to the Elasticsearch wire they speak (7.10.2). 0 when unparsable. */
int32_t rx_version_id(const char *number, const char *distribution);

/* What a remote of a given version is sent (RemoteRequestBuilders, by version). */
typedef struct rx_remote_plan {
    bool scroll_in_ms;          /* < 5.0: keep-alive as "<n>ms" (ceil) instead of TimeValue text */
    bool scan;                  /* < 2.1 with the default sort: search_type=scan, no sort */
    bool sort_param;            /* >= 2.1 (or a user sort) : sort=_doc:asc / field:order */
    const char *fields;         /* < 2.0: "_parent,_routing,_ttl" (< 1.0: "_source,_parent,_routing,_ttl") */
    bool allow_partial;         /* >= 6.3: allow_partial_search_results=false */
    bool source_in_body;        /* >= 1.0: "_source" in the body */
    bool plain_text_scroll;     /* < 2.0: scroll and clear-scroll bodies are the raw id (text/plain) */
    bool ignore_clear_404;      /* < 2.0 */
    bool total_is_object;       /* >= 7.0 answers hits.total as an object (both are read) */
    bool sliced_scroll;         /* >= 5.0 supports "slice" in a scroll search */
} rx_remote_plan;

rx_remote_plan rx_plan_for(int32_t version_id);

/* The delay (ms) before retry number n (0-based) with Elasticsearch's exponential
 * backoff: start + 10 * ((int) exp(0.8 * n) - 1). */
int64_t rx_backoff_ms(int64_t start_ms, int n);

/* The task description of a request ("reindex from [scheme=https host=h port=9200
 * query={...} username=u password=<<>>][src] to [dst]"). Borrowed. */
const char *rx_request_description(const rx_request *r);

/* The remote search request a plan gives for a request: path with query string and
 * body (heap strings). For tests and diagnostics. */
void rx_remote_first_search(const rx_request *r, const rx_remote_plan *plan, int slice_id, int slice_max,
                            char **path, char **body);

/*
 * A remote `_bulk` target, for `ferry migrate` and other pushes: url is
 * "scheme://host:port[/prefix]"; TLS from reindex.ssl.*; the version is read with
 * GET / (remotes before 7.0 get "_type":"_doc" in each action). Bulks are retried on 429
 * and refused connections with Elasticsearch's backoff (retries counts them), never on
 * 5xx (a bulk may have been applied). Sources holding newlines are compacted to one line.
 * Item results come back as write_result (status, index, id, result or err).
 */
typedef struct rx_remote_target rx_remote_target;
int rx_remote_target_open(reindex_env *env, const char *url, const char *username, const char *password,
                          const char *api_key, rx_remote_target **out, es_err *err);
int rx_remote_target_bulk(rx_remote_target *t, const write_op *ops, size_t n, write_result *res, int *retries,
                          es_err *err);
int rx_remote_target_refresh(rx_remote_target *t, const char *index, es_err *err);
int32_t rx_remote_target_version(const rx_remote_target *t);
void rx_remote_target_close(rx_remote_target *t);

/* Elasticsearch's source filtering (XContentMapValues.filter: '*' wildcards, dotted paths,
 * objects inside arrays) of a JSON object into out. false when src is not a JSON object. */
bool rx_filter_source(const char *src, size_t len, char *const *inc, size_t n_inc, char *const *exc, size_t n_exc,
                      buf *out);

#endif
