/*
 * rest_reindex.c — the reindex family of Elasticsearch's REST API:
 *   POST /_reindex, POST /{index}/_update_by_query, POST /{index}/_delete_by_query,
 *   POST /_reindex/{task_id}/_rethrottle (and the _update_by_query /
 *   _delete_by_query forms), GET /_reindex/{task_id}, POST /_reindex/{task_id}/_cancel.
 *
 * Requests are parsed and validated by the reindex module (rx_request_parse)
 * and run as tasks; with wait_for_completion=false the answer is
 * {"task":"<node>:<n>"} and the result goes to .tasks.
 */
#include "rest/rest_int.h"

#include "reindex/reindex.h"
#include "security/security.h"
#include "tasks/tasks.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REINDEX_PARAMS \
    "refresh,timeout,wait_for_active_shards,wait_for_completion,requests_per_second,require_alias,scroll,slices," \
    "max_docs,pipeline,ignore_unavailable,allow_no_indices,expand_wildcards"
#define BYQUERY_PARAMS                                                                                              \
    "refresh,timeout,wait_for_active_shards,wait_for_completion,requests_per_second,scroll,slices,max_docs,"        \
    "pipeline,conflicts,scroll_size,routing,q,df,analyzer,default_operator,lenient,analyze_wildcard,sort,_source,"  \
    "_source_includes,_source_excludes,ignore_unavailable,allow_no_indices,expand_wildcards,search_timeout,"         \
    "terminate_after,version,version_type,preference,search_type,stats,request_cache,from"

static void add_warnings(http_resp *resp, rest_node *node, const rx_request *r)
{
    const char *const *ws;
    size_t n = rx_request_warnings(r, &ws);
    for (size_t i = 0; i < n; i++) {
        buf b = { 0 };
        buf_printf(&b, "299 Elasticsearch-%s \"", node->version);
        for (const char *p = ws[i]; *p; p++) {
            if (*p == '"' || *p == '\\') buf_putc(&b, '\\');
            buf_putc(&b, *p);
        }
        buf_putc(&b, '"');
        http_resp_header(resp, "Warning", b.p);
        buf_free(&b);
    }
}

static void run(http_req *req, http_resp *resp, rest_node *node, rx_kind kind)
{
    es_err err = { 0 };
    rx_params p = { 0 };
    p.refresh = http_param(req, "refresh");
    p.timeout = http_param(req, "timeout");
    p.wait_for_active_shards = http_param(req, "wait_for_active_shards");
    p.wait_for_completion = http_param(req, "wait_for_completion");
    p.requests_per_second = http_param(req, "requests_per_second");
    p.require_alias = http_param(req, "require_alias");
    p.scroll = http_param(req, "scroll");
    p.slices = http_param(req, "slices");
    p.max_docs = http_param(req, "max_docs");
    p.pipeline = http_param(req, "pipeline");
    p.human = http_param(req, "human") && strcmp(http_param(req, "human"), "false");
    if (kind != RX_REINDEX) {
        p.index = http_path_param(req, "index");
        p.conflicts = http_param(req, "conflicts");
        p.scroll_size = http_param(req, "scroll_size");
        p.routing = http_param(req, "routing");
        p.q = http_param(req, "q");
        p.df = http_param(req, "df");
        p.analyzer = http_param(req, "analyzer");
        p.default_operator = http_param(req, "default_operator");
    }
    p.ignore_unavailable = http_param(req, "ignore_unavailable");
    p.allow_no_indices = http_param(req, "allow_no_indices");
    p.expand_wildcards = http_param(req, "expand_wildcards");
    size_t len = 0;
    const char *body = http_body(req, &len);
    if (!rest_tasks_enter(node, resp)) return;
    rx_request *r = NULL;
    if (rx_request_parse(node->reindex, kind, body, len, &p, &r, &err)) {
        rest_tasks_leave();
        rest_fail(resp, &err);
        return;
    }
    /* With security on, what the job will read and write is authorized now, as the user
     * (Elasticsearch authorizes the search and bulk sub-requests with the user's rights). */
    const char *const *srcs;
    size_t ns = rx_request_sources(r, &srcs);
    for (size_t i = 0; i < ns && !es_err_isset(&err); i++) {
        security_check(req, "indices:data/read/search", srcs[i], &err);
        if (!es_err_isset(&err) && kind == RX_UPDATE_BY_QUERY) security_check_doc_op(req, SEC_OP_INDEX, srcs[i], &err);
        if (!es_err_isset(&err) && kind == RX_DELETE_BY_QUERY) security_check_doc_op(req, SEC_OP_DELETE, srcs[i], &err);
    }
    bool create = false;
    const char *dest = rx_request_dest(r, &create);
    if (!es_err_isset(&err) && dest) security_check_doc_op(req, create ? SEC_OP_CREATE : SEC_OP_INDEX, dest, &err);
    if (es_err_isset(&err)) {
        rx_request_free(r);
        rest_tasks_leave();
        rest_fail(resp, &err);
        return;
    }
    bool wait = rx_request_wait_for_completion(r);
    add_warnings(resp, node, r);
    task *t = reindex_start(node->reindex, r, &err); /* takes r */
    if (!t) {
        rest_tasks_leave();
        rest_fail(resp, &err);
        return;
    }
    if (!wait) {
        char id[64];
        task_id_string(t, id);
        json_w *w = http_resp_json(resp, 200);
        jw_obj_begin(w);
        jw_kstr(w, "task", id);
        jw_obj_end(w);
        task_release(t);
        rest_tasks_leave();
        return;
    }
    task_wait(t, -1);
    int status = 200;
    const char *json = NULL;
    if (task_result(t, &status, &json, &err) == 1) {
        rest_fail(resp, &err);
    } else {
        json_w *w = http_resp_json(resp, status);
        jw_raw(w, json, strlen(json));
    }
    task_release(t);
    rest_tasks_leave();
}

static void handle_reindex(http_req *req, http_resp *resp, void *ctx)
{
    run(req, resp, ctx, RX_REINDEX);
}

static void handle_ubq(http_req *req, http_resp *resp, void *ctx)
{
    run(req, resp, ctx, RX_UPDATE_BY_QUERY);
}

static void handle_dbq(http_req *req, http_resp *resp, void *ctx)
{
    run(req, resp, ctx, RX_DELETE_BY_QUERY);
}

/* POST /_reindex/{task_id}/_rethrottle */
static void handle_rethrottle(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    const char *id = http_path_param(req, "task_id");
    const char *rps_s = http_param(req, "requests_per_second");
    const char *g = http_param(req, "group_by");
    if (!g) g = "nodes";
    if (strcmp(g, "nodes") && strcmp(g, "parents") && strcmp(g, "none")) {
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "group_by must be one of [nodes, parents, none] but was [%s]", g);
        rest_fail(resp, &err);
        return;
    }
    if (!rps_s) {
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "requests_per_second is a required parameter");
        rest_fail(resp, &err);
        return;
    }
    float rps;
    if (rx_parse_rps(rps_s, &rps, &err)) {
        rest_fail(resp, &err);
        return;
    }
    char *tnode = NULL;
    uint64_t tid = 0;
    if (task_id_parse(id, &tnode, &tid, &err)) {
        rest_fail(resp, &err);
        return;
    }
    if (!rest_tasks_enter(node, resp)) {
        free(tnode);
        return;
    }
    es_err failure = { 0 };
    const char *failed_node = NULL;
    task *t = NULL;
    if (strcmp(tnode, node->node_id)) {
        es_err_set(&failure, ES_INTERNAL, "No such node [%s]", tnode);
        failure.type_name = "no_such_node_exception";
        failure.status = 404;
        failed_node = tnode;
    } else {
        t = reindex_rethrottle(node->reindex, tid, isinf(rps) ? -1.0f : rps, &failure);
    }
    json_w *w = http_resp_json(resp, 200);
    rest_tasks_write_list(w, node, t ? &t : NULL, t ? 1 : 0, g, true, http_param(req, "human") != NULL, failed_node,
                          &failure);
    task_release(t);
    es_err_free(&failure);
    free(tnode);
    rest_tasks_leave();
}

/* The reindex task (not an update/delete-by-query one) a GET/_cancel names; NULL with a 404. */
static bool is_reindex_action(const char *a)
{
    return a && !strcmp(a, "indices:data/write/reindex");
}

static void iso_millis(json_w *w, const char *key, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tmv;
    gmtime_r(&s, &tmv);
    char out[48];
    snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
             tmv.tm_hour, tmv.tm_min, tmv.tm_sec, (int)(ms % 1000));
    jw_kstr(w, key, out);
}

/* Copies the members of a stored TaskResult into the GET /_reindex/{id} shape. */
static void write_from_stored(json_w *w, const char *json, size_t len, bool human)
{
    json_doc *d = json_parse(json, len, NULL, NULL);
    const json_val *root = d ? json_doc_root(d) : NULL;
    const json_val *t = json_obj_get(root, "task");
    jw_obj_begin(w);
    jw_kbool(w, "completed", true);
    const json_val *desc = json_obj_get(t, "description");
    if (desc) {
        jw_key(w, "description");
        jw_val(w, desc);
    }
    jw_kbool(w, "cancelled", json_bool(json_obj_get(t, "cancelled")));
    int64_t start = json_int(json_obj_get(t, "start_time_in_millis"));
    int64_t running = json_int(json_obj_get(t, "running_time_in_nanos"));
    if (human) iso_millis(w, "start_time", start);
    jw_kint(w, "start_time_in_millis", start);
    if (human) {
        char hb[32];
        tasks_time_human(running, hb);
        jw_kstr(w, "running_time", hb);
    }
    jw_kint(w, "running_time_in_nanos", running);
    const json_val *st = json_obj_get(t, "status");
    if (st) {
        jw_key(w, "status");
        jw_val(w, st);
    }
    const json_val *r = json_obj_get(root, "response");
    const json_val *e = json_obj_get(root, "error");
    if (r) {
        jw_key(w, "response");
        jw_val(w, r);
    } else if (e) {
        jw_key(w, "error");
        jw_val(w, e);
    }
    jw_obj_end(w);
    json_doc_free(d);
}

/* GET /_reindex/{task_id} */
static void handle_get_reindex(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    const char *id = http_path_param(req, "task_id");
    bool wait = http_param_bool(req, "wait_for_completion", false, &err);
    int64_t timeout = http_param_time(req, "timeout", 30000, &err);
    bool human = http_param(req, "human") && strcmp(http_param(req, "human"), "false");
    char *tnode = NULL;
    uint64_t tid = 0;
    if (es_err_isset(&err) || task_id_parse(id, &tnode, &tid, &err)) {
        free(tnode);
        rest_fail(resp, &err);
        return;
    }
    if (!rest_tasks_enter(node, resp)) {
        free(tnode);
        return;
    }
    task *t = strcmp(tnode, node->node_id) ? NULL : tasks_get(node->tasks, tid);
    if (t && !is_reindex_action(task_action(t))) {
        task_release(t);
        t = NULL;
    }
    if (t && wait && !task_wait(t, timeout)) {
        es_err_set(&err, ES_INTERNAL, "Timed out waiting for completion of task");
        err.type_name = "elasticsearch_timeout_exception";
        err.status = 408;
        rest_fail(resp, &err);
    } else if (t && !task_completed(t)) {
        buf b = { 0 };
        json_w tw;
        jw_init(&tw, &b, false);
        task_write_info(t, &tw, true, false);
        json_doc *d = json_parse(b.p, b.len, NULL, NULL);
        const json_val *info = d ? json_doc_root(d) : NULL;
        json_w *w = http_resp_json(resp, 200);
        jw_obj_begin(w);
        jw_kbool(w, "completed", false);
        jw_key(w, "description");
        jw_val(w, json_obj_get(info, "description"));
        jw_kbool(w, "cancelled", json_bool(json_obj_get(info, "cancelled")));
        int64_t start = json_int(json_obj_get(info, "start_time_in_millis"));
        int64_t running = json_int(json_obj_get(info, "running_time_in_nanos"));
        if (human) iso_millis(w, "start_time", start);
        jw_kint(w, "start_time_in_millis", start);
        if (human) {
            char hb[32];
            tasks_time_human(running, hb);
            jw_kstr(w, "running_time", hb);
        }
        jw_kint(w, "running_time_in_nanos", running);
        const json_val *st = json_obj_get(info, "status");
        if (st) {
            jw_key(w, "status");
            jw_val(w, st);
        }
        jw_obj_end(w);
        json_doc_free(d);
        buf_free(&b);
    } else {
        char *json = NULL;
        size_t len = 0;
        int f = tasks_stored_result(node->tasks, id, &json, &len, &err);
        if (f < 0) {
            rest_fail(resp, &err);
        } else if (f == 0 || !strstr(json, "\"indices:data/write/reindex\"")) {
            es_err_free(&err);
            es_err_set(&err, ES_RESOURCE_NOT_FOUND, "Reindex operation [%s] not found", id);
            rest_fail(resp, &err);
        } else {
            json_w *w = http_resp_json(resp, 200);
            write_from_stored(w, json, len, human);
        }
        free(json);
    }
    task_release(t);
    free(tnode);
    rest_tasks_leave();
}

/* POST /_reindex/{task_id}/_cancel */
static void handle_cancel_reindex(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    const char *id = http_path_param(req, "task_id");
    bool wait = http_param_bool(req, "wait_for_completion", true, &err);
    int64_t timeout = http_param_time(req, "timeout", 30000, &err);
    char *tnode = NULL;
    uint64_t tid = 0;
    if (es_err_isset(&err)) {
        rest_fail(resp, &err);
        return;
    }
    if (task_id_parse(id, &tnode, &tid, &err)) {
        es_err_free(&err);
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "invalid taskId provided: %s", id);
        rest_fail(resp, &err);
        return;
    }
    if (!rest_tasks_enter(node, resp)) {
        free(tnode);
        return;
    }
    task *t = strcmp(tnode, node->node_id) ? NULL : tasks_get(node->tasks, tid);
    if (!t || !is_reindex_action(task_action(t)) || task_parent(t)) {
        es_err_set(&err, ES_RESOURCE_NOT_FOUND, "Reindex operation [%s] not found", id);
        rest_fail(resp, &err);
    } else {
        task_cancel(t, TASK_CANCEL_BY_USER, &err);
        es_err_free(&err);
        if (wait && !task_wait(t, timeout)) {
            es_err_set(&err, ES_INTERNAL, "Timed out waiting for completion of task");
            err.type_name = "elasticsearch_timeout_exception";
            err.status = 408;
            rest_fail(resp, &err);
        } else {
            json_w *w = http_resp_json(resp, 200);
            jw_obj_begin(w);
            jw_kbool(w, "acknowledged", true);
            jw_obj_end(w);
        }
    }
    task_release(t);
    free(tnode);
    rest_tasks_leave();
}

static const http_route reindex_routes[] = {
    { HTTP_POST, "/_reindex", handle_reindex, REINDEX_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_GET, "/_reindex/{task_id}", handle_get_reindex, "wait_for_completion,timeout", 0 },
    { HTTP_POST, "/_reindex/{task_id}/_cancel", handle_cancel_reindex, "wait_for_completion,timeout", 0 },
    { HTTP_POST, "/_reindex/{task_id}/_rethrottle", handle_rethrottle, "requests_per_second,group_by", 0 },
    { HTTP_POST, "/_update_by_query/{task_id}/_rethrottle", handle_rethrottle, "requests_per_second,group_by", 0 },
    { HTTP_POST, "/_delete_by_query/{task_id}/_rethrottle", handle_rethrottle, "requests_per_second,group_by", 0 },
    { HTTP_POST, "/{index}/_update_by_query", handle_ubq, BYQUERY_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_POST, "/{index}/_delete_by_query", handle_dbq, BYQUERY_PARAMS, HTTP_ROUTE_BODY },
};

void rest_register_reindex(http_server *srv, rest_node *node)
{
    node->reindex = reindex_env_open(node->cfg, node->ix, node->tasks, node->version);
    http_add_routes(srv, reindex_routes, ARRAY_LEN(reindex_routes), node);
}
