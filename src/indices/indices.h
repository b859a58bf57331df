/*
 * indices — the node's live indices: the store (bytes on LMDB) joined with
 * what the index module says they mean (settings, mappings, aliases), and the
 * write pipeline every document takes on its way in (the _doc APIs, _bulk,
 * _update, reindex's local sink).
 *
 * Two halves:
 *   metadata  (indices_meta.c)  name resolution (lists, wildcards, aliases,
 *             exclusions), create/delete, mapping/settings/alias updates,
 *             auto-create, cluster settings, and a cache of parsed views.
 *   writes    (indices_write.c) a batch of write operations → parsed against
 *             the mapping (outside any lock), dynamic mapping persisted first,
 *             grouped per shard, one durable transaction per shard touched.
 *
 * Depends on: core, json, config, store, index.
 * Thread-safety: every function may be called from any thread concurrently.
 * Views are immutable snapshots, refcounted.
 */
#ifndef FERRY_INDICES_H
#define FERRY_INDICES_H

#include "config/config.h"
#include "core/core.h"
#include "index/index.h"
#include "json/json.h"
#include "store/store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct indices indices;

/* Settings this module owns (registered by cli before config_load). */
extern const setting_def indices_settings[];
extern const size_t indices_settings_count;

/*
 * Opens the node's data under path.data (the store, cluster settings). Returns
 * NULL with *err set on failure (e.g. another node holds the data folder).
 */
indices *indices_open(const config *cfg, es_err *err);
void indices_close(indices *ix);
store *indices_store(indices *ix);

/* ======================================================================== */
/* Views: an index's metadata, parsed                                       */

typedef struct index_alias {
    char *name;
    bool is_write_index;       /* explicitly set */
    bool has_is_write_index;
    bool is_hidden;
    char *filter_json;         /* compact JSON or NULL */
    char *index_routing;       /* NULL when none */
    char *search_routing;
} index_alias;

/*
 * An immutable snapshot of one index: its store handle and its parsed
 * metadata as of one metadata version. Acquire with indices_view, release
 * with index_view_release. Never modified; a metadata change makes a new view.
 */
typedef struct index_view {
    store_index *si;               /* reference held by the view */
    const store_index_meta *meta;  /* acquired snapshot */
    const char *name;
    const char *uuid;
    index_settings *settings;
    mapping *mapping;
    mapping_limits limits;
    index_alias *aliases;          /* sorted by name */
    size_t n_aliases;
    bool hidden;                   /* index.hidden */
    bool closed;                   /* reserved: ferry does not close indices yet */
    atomic_int refs;               /* internal */
} index_view;

/* A view of a store index (never NULL for a live handle). */
index_view *indices_view(indices *ix, store_index *si);
index_view *index_view_ref(index_view *v);
void index_view_release(index_view *v);

/* ======================================================================== */
/* Name resolution                                                          */

enum {
    EXPAND_OPEN = 1,
    EXPAND_CLOSED = 2,
    EXPAND_HIDDEN = 4,
    EXPAND_ALL = 7,
};

typedef struct resolve_opts {
    bool ignore_unavailable;   /* missing concrete names are skipped */
    bool allow_no_indices;     /* a wildcard matching nothing (or _all on no index) is fine */
    unsigned expand_wildcards; /* EXPAND_*; 0 means EXPAND_OPEN */
    bool no_aliases;           /* aliases do not count (e.g. DELETE /{index}) */
} resolve_opts;

/* Elasticsearch's defaults for read APIs: not ignore_unavailable, allow_no_indices, open. */
resolve_opts resolve_opts_default(void);
/* Reads ignore_unavailable, allow_no_indices, expand_wildcards from query parameter values
 * (any may be NULL: keep the default). Bad values set *err. */
int resolve_opts_parse(resolve_opts *o, const char *ignore_unavailable, const char *allow_no_indices,
                       const char *expand_wildcards, es_err *err);

/*
 * Resolves an index expression ("a,b", "log-*", "alias", "_all", "*", "-excluded",
 * NULL or "" = all) to the distinct concrete indices, sorted by name. *out is a
 * heap array of *n views (release each, then free the array: indices_views_free).
 * Errors: index_not_found_exception "no such index [x]" with the members
 * resource.type "index_or_alias", resource.id, index_uuid "_na_", index.
 */
int indices_resolve(indices *ix, const char *expr, const resolve_opts *opts, index_view ***out,
                    size_t *n, es_err *err);
void indices_views_free(index_view **views, size_t n);

/* The view of one concrete index by exact name (no aliases, no wildcards); NULL when absent. */
index_view *indices_get(indices *ix, const char *name);

/* Sets Elasticsearch's index_not_found_exception for name, with its members. */
void indices_not_found(es_err *err, const char *name);

/*
 * The index a write to `name` goes to: a concrete index, or an alias's write
 * index (the alias's single index, or the one with is_write_index). With
 * auto_create, a missing index is created as action.auto_create_index allows.
 * require_alias: name must be an alias (ES's require_alias parameter).
 * *alias_routing gets the alias's index_routing (or NULL; borrowed from the view).
 * Errors: index_not_found_exception (also "no such index [x] and
 * [action.auto_create_index] is [false]" / "... ([patterns]) doesn't match"),
 * illegal_argument_exception "no write index is defined for alias [a]. The write
 * index may be explicitly disabled using is_write_index=false or the alias points
 * to multiple indices without one being designated as a write index",
 * "no such index [x] and [require_alias] request flag is [true] and [x] is not an alias" (index_not_found).
 */
int indices_write_target(indices *ix, const char *name, bool auto_create, bool require_alias,
                         index_view **out, const char **alias_routing, es_err *err);

/* ======================================================================== */
/* Index lifecycle and metadata                                             */

/*
 * Creates an index from a PUT /{index} body ({settings, mappings, aliases}; body
 * may be NULL). Validates the name, settings, mappings and aliases with
 * Elasticsearch's errors (invalid_index_name_exception,
 * resource_already_exists_exception "index [x/uuid] already exists", …).
 * On success *out (may be NULL) gets the new view.
 */
int indices_create(indices *ix, const char *name, const json_val *body, index_view **out, es_err *err);

/* Deletes the indices an expression names (no aliases; wildcards honour
 * action.destructive_requires_name). */
int indices_delete(indices *ix, const char *expr, const resolve_opts *opts, es_err *err);

/* PUT /{index}/_mapping: merges body into each index's mapping (all or none). */
int indices_put_mapping(indices *ix, index_view **views, size_t n, const json_val *body, es_err *err);

/* PUT /{index}/_settings: applies a settings update to each index (all or none). */
int indices_put_settings(indices *ix, index_view **views, size_t n, const json_val *body,
                         bool preserve_existing, es_err *err);

/* One action of POST /_aliases (or PUT/DELETE /{index}/_alias/{name}). */
typedef enum { ALIAS_ADD, ALIAS_REMOVE, ALIAS_REMOVE_INDEX } alias_action_kind;
typedef struct alias_action {
    alias_action_kind kind;
    const char *index;         /* expression (wildcards allowed) */
    const char *alias;         /* expression for remove; a name for add */
    const json_val *filter;
    const char *routing, *index_routing, *search_routing;
    int is_write_index;        /* -1 unset, 0 false, 1 true */
    int is_hidden;             /* -1 unset */
    bool must_exist;           /* remove: fail when absent */
} alias_action;

/* Applies alias actions atomically (one metadata transaction). */
int indices_update_aliases(indices *ix, const alias_action *acts, size_t n, es_err *err);

/*
 * Persists a dynamic mapping update found while parsing a document: merges
 * `update` into the index's current mapping (compare-and-set, retried on races).
 * On success *out gets the fresh view (release it).
 */
int indices_apply_dynamic_mapping(indices *ix, index_view *v, const mapping *update, index_view **out,
                                  es_err *err);

/* ======================================================================== */
/* Cluster settings (PUT/GET /_cluster/settings)                            */

/* The current value of a dynamic cluster setting: transient, then persistent,
 * then elasticsearch.yml, then the default. Caller frees. NULL when unset. */
char *indices_cluster_setting(indices *ix, const char *key);
/* Applies {"persistent":{...},"transient":{...}}; writes the acknowledged answer. */
int indices_cluster_settings_update(indices *ix, const json_val *body, json_w *answer, es_err *err);
/* Writes {"persistent":{...},"transient":{...}} (flat or nested). */
void indices_cluster_settings_write(indices *ix, bool flat, json_w *w);

/* ======================================================================== */
/* Writes                                                                   */

typedef enum { WOP_INDEX, WOP_CREATE, WOP_UPDATE, WOP_DELETE } write_op_kind;

/*
 * One write operation, as a _doc request or a _bulk item describes it. All
 * pointers are borrowed for the duration of indices_write.
 */
typedef struct write_op {
    write_op_kind kind;
    const char *index;          /* name or alias (auto-created when allowed) */
    const char *id;             /* NULL: an auto-generated id (index/create only) */
    const char *routing;        /* NULL: none */
    /* index/create: the document exactly as sent (kept byte for byte as _source). */
    const char *source;
    size_t source_len;
    /* update: the parsed update body ({doc, upsert, doc_as_upsert, detect_noop, script…}). */
    const json_val *update;
    int retry_on_conflict;
    /* Versioning (Elasticsearch's parameters, validated by the caller's parser). */
    bool has_version;
    int64_t version;
    store_version_type version_type;
    bool has_if_seq_no;
    int64_t if_seq_no;
    int64_t if_primary_term;
    bool require_alias;
    const char *pipeline;       /* non-NULL: ES's error for a missing pipeline */
    const char *const *dynamic_templates; /* path/name pairs (bulk); may be NULL */
    size_t n_dynamic_templates;
    /* update: return the updated _source (the `_source` parameter / body member). */
    const json_val *source_filter;
} write_op;

/* The outcome of one operation, rendered by the REST layer. */
typedef struct write_result {
    int status;                 /* 200, 201, or the error's status */
    es_err err;                 /* set when the item failed */
    char *index;                /* the concrete index (heap) */
    char *id;                   /* the document id (heap; generated ones too) */
    store_write_result r;       /* result, version, seq_no, primary_term */
    uint32_t shard;
    bool forced_refresh;
    char *get_json;             /* update with _source requested: the "get" object (heap) */
} write_result;

void write_result_free(write_result *r);

typedef struct write_opts {
    bool auto_create;           /* action.auto_create_index applies (default true) */
    const char *default_index;  /* bulk: items without _index; may be NULL */
    int refresh;                /* 0 false, 1 true, 2 wait_for (all visible at commit anyway) */
    /* Optional per-item authorization, called before an item's target is resolved, with
     * the index name as the item gives it; may_create tells whether a missing index would
     * be auto-created for it. Returning -1 with *err set (a 403) fails that item alone. */
    int (*authorize)(void *ctx, const write_op *op, const char *index, bool may_create, es_err *err);
    void *authorize_ctx;
} write_opts;

/*
 * Executes n operations (n >= 1) and fills res[0..n-1] (zero them first; free
 * each with write_result_free). Items fail alone (their res[i].err); the
 * others are applied: one durable transaction per shard touched. Returns 0 when
 * the batch ran (even if items failed), -1 only for a failure of the whole
 * request (*err set), e.g. a storage failure that lost every item.
 */
int indices_write(indices *ix, const write_op *ops, size_t n, const write_opts *opts,
                  write_result *res, es_err *err);

/* A new auto-generated document id: 20 URL-safe base64 characters, time-ordered
 * (Elasticsearch's time-based UUID layout). out needs 21 bytes. */
void indices_auto_id(char out[21]);

/* ======================================================================== */
/* rest_indices additions (indices_stats.c): per-index statistics and       */
/* health as one node sees them, for _stats, _cat and _cluster/health.      */

/* The replicas an index asks for on this node: index.number_of_replicas, or
 * with index.auto_expand_replicas ("0-1", "1-all") the number Elasticsearch
 * expands it to on one data node (the lower bound, as no other node exists). */
int64_t index_view_replicas(const index_view *v);

typedef enum { HEALTH_GREEN = 0, HEALTH_YELLOW, HEALTH_RED } health_status;

/* "green", "yellow", "red". */
const char *health_status_name(health_status s);
/* One node holds every primary and no replica: yellow when the index has
 * replicas (they stay unassigned), green otherwise. */
health_status index_view_health(const index_view *v);

/* Documents and bytes of one shard, as the store counts them. */
typedef struct index_shard_stats {
    uint64_t docs;       /* live documents */
    uint64_t deleted;    /* documents removed by deletes (the store's counter) */
    uint64_t store_size; /* bytes of the shard's data file */
} index_shard_stats;

/* An index's statistics summed over its shards (primaries: ferry keeps one copy). */
typedef struct index_stats {
    uint32_t shards;
    uint64_t docs;
    uint64_t deleted;
    uint64_t store_size;
    index_shard_stats *per_shard; /* heap array of `shards` entries, or NULL when not asked */
} index_stats;

/* Fills *out for a view (opening its shard environments if needed); per_shard
 * keeps the per-shard numbers. Free with index_stats_free. */
int indices_index_stats(const index_view *v, bool per_shard, index_stats *out, es_err *err);
void index_stats_free(index_stats *s);

/* Health of one index as GET /_cluster/health?level=indices reports it. */
typedef struct index_health {
    char *name;                      /* heap */
    health_status status;
    uint32_t number_of_shards;
    uint32_t number_of_replicas;
    uint32_t active_primary_shards;
    uint32_t active_shards;
    uint32_t unassigned_shards;      /* the replicas: every one of them */
    uint32_t unassigned_primary_shards;
} index_health;

/* The cluster's health over the indices of an expression. */
typedef struct cluster_health {
    health_status status;            /* the worst of the indices (green when none) */
    uint32_t active_primary_shards;
    uint32_t active_shards;
    uint32_t unassigned_shards;
    uint32_t unassigned_primary_shards;
    double active_shards_percent;    /* 100.0 when there is no shard at all */
    index_health *indices;           /* heap, sorted by name */
    size_t n_indices;
} cluster_health;

/*
 * Health over the indices `expr` resolves to (NULL or "" = every index, hidden
 * ones included, as Elasticsearch's health counts them). opts NULL means
 * Elasticsearch's defaults for cluster health: ignore_unavailable,
 * allow_no_indices, expand open, closed and hidden. Errors are
 * indices_resolve's. Free *out with cluster_health_free.
 */
int indices_health(indices *ix, const char *expr, const resolve_opts *opts, cluster_health *out, es_err *err);
void cluster_health_free(cluster_health *h);
/* Writes the "indices" member of a health answer: each index's object
 * (status, number_of_shards, ... unassigned_primary_shards), with a "shards"
 * object per index when shards is true (level=shards). */
void cluster_health_write_indices(const cluster_health *h, bool shards, json_w *w);

/* Elasticsearch's Regex.simpleMatch: '*' matches any run of characters; no other metacharacter. */
bool indices_simple_match(const char *pattern, const char *s);

#endif
