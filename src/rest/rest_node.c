/*
 * rest_node.c — the node's own endpoints: `GET|HEAD /`, `GET /_cluster/health`,
 * `GET /_nodes[...]`.
 */
#include "rest/rest_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef FERRY_BUILD_HASH
#define FERRY_BUILD_HASH "unknown"
#endif

rest_version_info rest_version_for(const char *version)
{
    /* What Elasticsearch reports beside its version, by major line. */
    if (version[0] == '7' && version[1] == '.')
        return (rest_version_info){ "8.11.3", "6.8.0", "6.0.0-beta1", "2024-08-05T10:05:34.233336849Z" };
    if (version[0] == '9' && version[1] == '.')
        return (rest_version_info){ "10.1.0", "8.18.0", "8.0.0", "2025-04-09T22:07:03.407363210Z" };
    return (rest_version_info){ "9.12.0", "7.17.0", "7.0.0", "2024-12-11T12:08:05.663969764Z" };
}

/* GET / and HEAD / */
static void handle_root(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    rest_version_info vi = rest_version_for(node->version);
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_kstr(w, "name", node->node_name);
    jw_kstr(w, "cluster_name", node->cluster_name);
    jw_kstr(w, "cluster_uuid", node->cluster_uuid);
    jw_key(w, "version");
    jw_obj_begin(w);
    jw_kstr(w, "number", node->version);
    jw_kstr(w, "build_flavor", "default");
    jw_kstr(w, "build_type", "tar");
    jw_kstr(w, "build_hash", FERRY_BUILD_HASH);
    jw_kstr(w, "build_date", vi.build_date);
    jw_kbool(w, "build_snapshot", false);
    jw_kstr(w, "lucene_version", vi.lucene);
    jw_kstr(w, "minimum_wire_compatibility_version", vi.min_wire);
    jw_kstr(w, "minimum_index_compatibility_version", vi.min_index);
    jw_obj_end(w);
    jw_kstr(w, "tagline", "You Know, for Search");
    jw_obj_end(w);
}

/* GET /_cluster/health[/{index}] — one node holds every primary; replicas stay unassigned. */
static void handle_health(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    const char *want = http_param(req, "wait_for_status");
    if (want && strcmp(want, "green") && strcmp(want, "yellow") && strcmp(want, "red")) {
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "unknown cluster health status [%s]", want);
        rest_fail(resp, &err);
        return;
    }
    const char *level = http_param(req, "level");
    if (level && strcmp(level, "cluster") && strcmp(level, "indices") && strcmp(level, "shards")) {
        es_err_set(&err, ES_ILLEGAL_ARGUMENT,
                   "level must be one of [cluster, indices, shards] but was [%s]", level);
        rest_fail(resp, &err);
        return;
    }
    int64_t timeout = http_param_time(req, "timeout", 30000, &err);
    http_param_time(req, "master_timeout", 30000, &err);
    http_param_bool(req, "local", false, &err);
    resolve_opts o = resolve_opts_default();
    o.ignore_unavailable = true;
    o.allow_no_indices = true;
    o.expand_wildcards = EXPAND_ALL;
    if (es_err_isset(&err) || rest_resolve_opts(req, &o, &err)) {
        rest_fail(resp, &err);
        return;
    }

    /* The health of one node never changes by waiting, except that indices may appear:
     * a wait that the current state does not meet is re-checked until the timeout. */
    const char *index = http_path_param(req, "index");
    health_status wanted = !want ? HEALTH_RED : !strcmp(want, "green") ? HEALTH_GREEN
                         : !strcmp(want, "yellow") ? HEALTH_YELLOW : HEALTH_RED;
    int64_t deadline = mono_nanos() / 1000000 + (timeout > 0 ? timeout : 0);
    cluster_health h;
    bool missing, timed_out = false;
    for (;;) {
        memset(&h, 0, sizeof h);
        if (indices_health(node->ix, index, &o, &h, &err)) {
            rest_fail(resp, &err);
            return;
        }
        /* An index named (not a pattern) that does not exist makes the health red. */
        missing = index && *index && !strchr(index, '*') && h.n_indices == 0 && strcmp(index, "_all");
        if (missing) h.status = HEALTH_RED;
        /* A named index that does not exist is waited for, like a status not yet reached. */
        if (h.status <= wanted && !missing) break;
        if (mono_nanos() / 1000000 >= deadline) {
            timed_out = true;
            break;
        }
        cluster_health_free(&h);
        struct timespec ts = { 0, 100 * 1000000 };
        nanosleep(&ts, NULL);
    }

    json_w *w = http_resp_json(resp, timed_out ? 408 : 200);
    jw_obj_begin(w);
    jw_kstr(w, "cluster_name", node->cluster_name);
    jw_kstr(w, "status", health_status_name(h.status));
    jw_kbool(w, "timed_out", timed_out);
    jw_kint(w, "number_of_nodes", 1);
    jw_kint(w, "number_of_data_nodes", 1);
    jw_kint(w, "active_primary_shards", h.active_primary_shards);
    jw_kint(w, "active_shards", h.active_shards);
    jw_kint(w, "relocating_shards", 0);
    jw_kint(w, "initializing_shards", 0);
    jw_kint(w, "unassigned_shards", h.unassigned_shards);
    jw_kint(w, "unassigned_primary_shards", h.unassigned_primary_shards);
    jw_kint(w, "delayed_unassigned_shards", 0);
    jw_kint(w, "number_of_pending_tasks", 0);
    jw_kint(w, "number_of_in_flight_fetch", 0);
    jw_kint(w, "task_max_waiting_in_queue_millis", 0);
    jw_key(w, "active_shards_percent_as_number");
    jw_double(w, h.active_shards_percent);
    if (level && strcmp(level, "cluster") != 0) cluster_health_write_indices(&h, !strcmp(level, "shards"), w);
    jw_obj_end(w);
    cluster_health_free(&h);
}

/* Whether a node selector (`_local`, `_all`, `_master`, id, name, wildcard) picks this node. */
static bool node_selected(const rest_node *node, const char *sel)
{
    if (!sel || !*sel) return true;
    bool hit = false;
    char *copy = xstrdup(sel);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "_local") || !strcmp(tok, "_all") || !strcmp(tok, "_master") ||
            !strcmp(tok, "*") || !strcmp(tok, node->node_id) || !strcmp(tok, node->node_name) ||
            !strncmp(tok, "master:", 7) || !strncmp(tok, "data:", 5))
            hit = true;
    }
    free(copy);
    return hit;
}

static const char *const node_metrics[] = {
    "settings", "os", "process", "jvm", "thread_pool", "transport", "http", "plugins", "ingest",
    "aggregations", "indices", "remote_cluster_server", "_all", "_none",
};

static bool is_metric_list(const char *s)
{
    char *copy = xstrdup(s);
    bool all = true;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool known = false;
        for (size_t i = 0; i < ARRAY_LEN(node_metrics); i++)
            if (!strcmp(tok, node_metrics[i])) known = true;
        if (!known) all = false;
    }
    free(copy);
    return all;
}

static bool metric_on(const char *metrics, const char *name)
{
    if (!metrics || strstr(metrics, "_all")) return true;
    size_t n = strlen(name);
    for (const char *p = metrics; (p = strstr(p, name)); p += n)
        if ((p == metrics || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return true;
    return false;
}

/* GET /_nodes, /_nodes/{node_id}, /_nodes/{metric}, /_nodes/{node_id}/{metric} */
static void handle_nodes(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    const char *sel = http_path_param(req, "node_id");
    const char *metrics = http_path_param(req, "metric");
    if (sel && !metrics && is_metric_list(sel)) {
        metrics = sel;
        sel = NULL;
    }
    if (metrics && !is_metric_list(metrics)) {
        es_err err = { 0 };
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "request [%s] contains unrecognized metric: [%s]",
                   http_req_path(req), metrics);
        http_resp_error(resp, &err);
        es_err_free(&err);
        return;
    }
    bool picked = node_selected(node, sel);
    rest_version_info vi = rest_version_for(node->version);
    struct utsname un;
    uname(&un);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_key(w, "_nodes");
    jw_obj_begin(w);
    jw_kint(w, "total", picked);
    jw_kint(w, "successful", picked);
    jw_kint(w, "failed", 0);
    jw_obj_end(w);
    jw_kstr(w, "cluster_name", node->cluster_name);
    jw_key(w, "nodes");
    jw_obj_begin(w);
    if (picked) {
        char host[sizeof node->http_address];
        memcpy(host, node->http_address, sizeof host);
        char *colon = strrchr(host, ':');
        if (colon) *colon = 0;
        jw_key(w, node->node_id);
        jw_obj_begin(w);
        jw_kstr(w, "name", node->node_name);
        char transport[sizeof host + 8];
        snprintf(transport, sizeof transport, "%s:9300", host);
        jw_kstr(w, "transport_address", transport);
        jw_kstr(w, "host", host);
        jw_kstr(w, "ip", host);
        jw_kstr(w, "version", node->version);
        jw_kstr(w, "build_flavor", "default");
        jw_kstr(w, "build_type", "tar");
        jw_kstr(w, "build_hash", FERRY_BUILD_HASH);
        jw_kint(w, "total_indexing_buffer", 0);
        jw_key(w, "roles");
        jw_arr_begin(w);
        jw_str(w, "data");
        jw_str(w, "ingest");
        jw_str(w, "master");
        jw_arr_end(w);
        jw_key(w, "attributes");
        jw_obj_begin(w);
        jw_obj_end(w);
        if (metric_on(metrics, "os")) {
            jw_key(w, "os");
            jw_obj_begin(w);
            jw_kint(w, "refresh_interval_in_millis", 1000);
            jw_kstr(w, "name", "Linux");
            jw_kstr(w, "pretty_name", "Linux");
            jw_kstr(w, "arch", un.machine);
            jw_kstr(w, "version", un.release);
            jw_kint(w, "available_processors", cores);
            jw_kint(w, "allocated_processors", cores);
            jw_obj_end(w);
        }
        if (metric_on(metrics, "process")) {
            jw_key(w, "process");
            jw_obj_begin(w);
            jw_kint(w, "refresh_interval_in_millis", 1000);
            jw_kint(w, "id", getpid());
            jw_kbool(w, "mlockall", false);
            jw_obj_end(w);
        }
        if (metric_on(metrics, "http")) {
            jw_key(w, "http");
            jw_obj_begin(w);
            jw_key(w, "bound_address");
            jw_arr_begin(w);
            jw_str(w, node->http_address);
            jw_arr_end(w);
            jw_kstr(w, "publish_address", node->http_address);
            jw_kint(w, "max_content_length_in_bytes", node->max_content_length);
            jw_obj_end(w);
        }
        (void)vi;
        jw_obj_end(w);
    }
    jw_obj_end(w);
    jw_obj_end(w);
}

static const http_route node_routes[] = {
    { HTTP_GET | HTTP_HEAD, "/", handle_root, NULL, HTTP_ROUTE_PRETTY },
    { HTTP_GET, "/_cluster/health", handle_health,
      "wait_for_status,wait_for_nodes,timeout,master_timeout,level,local,wait_for_active_shards,"
      "wait_for_events,wait_for_no_relocating_shards,wait_for_no_initializing_shards,expand_wildcards",
      0 },
    { HTTP_GET, "/_cluster/health/{index}", handle_health,
      "wait_for_status,wait_for_nodes,timeout,master_timeout,level,local,wait_for_active_shards,"
      "wait_for_events,wait_for_no_relocating_shards,wait_for_no_initializing_shards,expand_wildcards",
      0 },
    { HTTP_GET, "/_nodes", handle_nodes, "flat_settings,timeout", 0 },
    { HTTP_GET, "/_nodes/{node_id}", handle_nodes, "flat_settings,timeout", 0 },
    { HTTP_GET, "/_nodes/{node_id}/{metric}", handle_nodes, "flat_settings,timeout", 0 },
};

void rest_register_node(http_server *srv, rest_node *node)
{
    http_add_routes(srv, node_routes, ARRAY_LEN(node_routes), node);
}
