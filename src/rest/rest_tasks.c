/*
 * rest_tasks.c — the task management API as Elasticsearch 8 answers it:
 *   GET /_tasks, GET /_tasks/{task_id}, POST /_tasks/_cancel,
 *   POST /_tasks/{task_id}/_cancel;
 * the node's task manager (created here), and rest_stop, which cancels the
 * running tasks and frees the task and reindex machinery before the server
 * stops.
 */
#include "rest/rest_int.h"
#include "search/search.h"

#include "reindex/reindex.h"
#include "tasks/tasks.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Handlers hold this for reading while they use node->tasks / node->reindex; rest_stop takes it
 * for writing once every task has ended, then frees both. */
static pthread_rwlock_t machinery_lock = PTHREAD_RWLOCK_INITIALIZER;

bool rest_tasks_enter(rest_node *node, http_resp *resp)
{
    pthread_rwlock_rdlock(&machinery_lock);
    if (node->tasks) return true;
    pthread_rwlock_unlock(&machinery_lock);
    es_err err = { 0 };
    es_err_set(&err, ES_ILLEGAL_STATE, "node is shutting down");
    err.status = 503;
    err.type_name = "node_closed_exception";
    rest_fail(resp, &err);
    return false;
}

void rest_tasks_leave(void)
{
    pthread_rwlock_unlock(&machinery_lock);
}

void rest_stop(rest_node *node)
{
    /* Scroll and point-in-time contexts hold store snapshots: free them before the store closes. */
    search_ctx_shutdown();
    if (!node->tasks) return;
    /* Cancel first, without the lock: handlers waiting for a task wake up when it ends. */
    tasks_stop(node->tasks, 30000);
    pthread_rwlock_wrlock(&machinery_lock);
    reindex_env_close(node->reindex);
    node->reindex = NULL;
    tasks_free(node->tasks);
    node->tasks = NULL;
    pthread_rwlock_unlock(&machinery_lock);
}

/* ======================================================================== */
/* Shared: the ListTasksResponse shapes                                     */

static void write_node_header(json_w *w, rest_node *node)
{
    char host[sizeof node->http_address];
    memcpy(host, node->http_address, sizeof host);
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    char transport[sizeof host + 8];
    snprintf(transport, sizeof transport, "%s:9300", host);
    jw_kstr(w, "name", node->node_name);
    jw_kstr(w, "transport_address", transport);
    jw_kstr(w, "host", host);
    jw_kstr(w, "ip", transport);
    jw_key(w, "roles");
    jw_arr_begin(w);
    jw_str(w, "data");
    jw_str(w, "ingest");
    jw_str(w, "master");
    jw_arr_end(w);
    jw_key(w, "attributes");
    jw_obj_begin(w);
    jw_obj_end(w);
}

static void rest_write_node_failure(json_w *w, const char *node_id, const es_err *cause)
{
    jw_obj_begin(w);
    jw_kstr(w, "type", "failed_node_exception");
    char reason[160];
    snprintf(reason, sizeof reason, "Failed node [%s]", node_id);
    jw_kstr(w, "reason", reason);
    jw_kstr(w, "node_id", node_id);
    jw_key(w, "caused_by");
    tasks_write_error(w, cause);
    jw_obj_end(w);
}

static void write_one(json_w *w, task *t, bool detailed, bool human)
{
    char id[64];
    task_id_string(t, id);
    jw_key(w, id);
    task_write_info(t, w, detailed, human);
}

/* Writes "node_failures" (when failure is set) and the tasks grouped as group_by says. */
void rest_tasks_write_list(json_w *w, rest_node *node, task **list, size_t n, const char *group_by, bool detailed,
                           bool human, const char *failed_node, const es_err *failure)
{
    jw_obj_begin(w);
    if (failure && es_err_isset(failure)) {
        jw_key(w, "node_failures");
        jw_arr_begin(w);
        rest_write_node_failure(w, failed_node ? failed_node : node->node_id, failure);
        jw_arr_end(w);
    }
    if (group_by && !strcmp(group_by, "none")) {
        jw_key(w, "tasks");
        jw_arr_begin(w);
        for (size_t i = 0; i < n; i++) task_write_info(list[i], w, detailed, human);
        jw_arr_end(w);
    } else if (group_by && !strcmp(group_by, "parents")) {
        jw_key(w, "tasks");
        jw_obj_begin(w);
        for (size_t i = 0; i < n; i++) {
            task *p = task_parent(list[i]);
            bool parent_listed = false;
            for (size_t k = 0; p && k < n; k++)
                if (list[k] == p) parent_listed = true;
            if (parent_listed) continue;
            char id[64];
            task_id_string(list[i], id);
            jw_key(w, id);
            /* the task's info plus "children" */
            buf b = { 0 };
            json_w tw;
            jw_init(&tw, &b, false);
            task_write_info(list[i], &tw, detailed, human);
            size_t kids = 0;
            for (size_t k = 0; k < n; k++)
                if (task_parent(list[k]) == list[i]) kids++;
            if (kids && b.len && b.p[b.len - 1] == '}') {
                b.len--;
                buf_puts(&b, ",\"children\":[");
                bool first = true;
                for (size_t k = 0; k < n; k++) {
                    if (task_parent(list[k]) != list[i]) continue;
                    if (!first) buf_putc(&b, ',');
                    first = false;
                    json_w cw;
                    jw_init(&cw, &b, false);
                    task_write_info(list[k], &cw, detailed, human);
                }
                buf_puts(&b, "]}");
            }
            jw_raw(w, b.p, b.len);
            buf_free(&b);
        }
        jw_obj_end(w);
    } else {
        jw_key(w, "nodes");
        jw_obj_begin(w);
        if (n) {
            jw_key(w, node->node_id);
            jw_obj_begin(w);
            write_node_header(w, node);
            jw_key(w, "tasks");
            jw_obj_begin(w);
            for (size_t i = 0; i < n; i++) write_one(w, list[i], detailed, human);
            jw_obj_end(w);
            jw_obj_end(w);
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

static int group_by_param(http_req *req, const char **out, es_err *err)
{
    const char *g = http_param(req, "group_by");
    if (!g) g = "nodes";
    if (strcmp(g, "nodes") && strcmp(g, "parents") && strcmp(g, "none"))
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "group_by must be one of [nodes, parents, none] but was [%s]", g);
    *out = g;
    return 0;
}

/* The node filter (`nodes`): this node by id, name, _local, _all, *, or a pattern. */
static bool node_matches(rest_node *node, const char *nodes)
{
    if (!nodes || !*nodes) return true;
    char *copy = xstrdup(nodes);
    bool hit = false;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "_all") || !strcmp(tok, "_local") || !strcmp(tok, "_master") ||
            indices_simple_match(tok, node->node_id) || indices_simple_match(tok, node->node_name))
            hit = true;
    }
    free(copy);
    return hit;
}

static bool action_matches(const char *actions, const char *action)
{
    if (!actions || !*actions) return true;
    char *copy = xstrdup(actions);
    bool hit = false;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (indices_simple_match(tok, action)) hit = true;
    free(copy);
    return hit;
}

/* The running tasks the filters select. */
static size_t select_tasks(rest_node *node, http_req *req, task ***out, es_err *err)
{
    *out = NULL;
    const char *parent = http_param(req, "parent_task_id");
    char *pnode = NULL;
    uint64_t pid = 0;
    if (parent && *parent && strcmp(parent, "-1") && task_id_parse(parent, &pnode, &pid, err)) return 0;
    task **all = NULL;
    size_t n = tasks_list(node->tasks, &all), k = 0;
    bool node_ok = node_matches(node, http_param(req, "nodes"));
    const char *actions = http_param(req, "actions");
    for (size_t i = 0; i < n; i++) {
        bool keep = node_ok && action_matches(actions, task_action(all[i]));
        if (keep && pnode) {
            task *p = task_parent(all[i]);
            keep = p && task_id(p) == pid && !strcmp(pnode, node->node_id);
        }
        if (keep) all[k++] = all[i];
        else task_release(all[i]);
    }
    free(pnode);
    *out = all;
    return k;
}

/* ======================================================================== */
/* GET /_tasks                                                              */

static void handle_list(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    bool detailed = http_param_bool(req, "detailed", false, &err);
    bool wait = http_param_bool(req, "wait_for_completion", false, &err);
    int64_t timeout = http_param_time(req, "timeout", 30000, &err);
    const char *group_by = NULL;
    if (es_err_isset(&err) || group_by_param(req, &group_by, &err)) {
        rest_fail(resp, &err);
        return;
    }
    if (!rest_tasks_enter(node, resp)) return;
    task **list = NULL;
    size_t n = select_tasks(node, req, &list, &err);
    if (es_err_isset(&err)) {
        tasks_list_free(list, n);
        rest_tasks_leave();
        rest_fail(resp, &err);
        return;
    }
    if (wait) {
        int64_t until = mono_nanos() + timeout * 1000000;
        for (size_t i = 0; i < n; i++) {
            int64_t left = (until - mono_nanos()) / 1000000;
            if (left < 0 || !task_wait(list[i], left)) {
                char id[64];
                task_id_string(list[i], id);
                es_err_set(&err, ES_INTERNAL, "Timed out waiting for completion of [%s]", id);
                err.type_name = "elasticsearch_timeout_exception";
                err.status = 408;
                break;
            }
        }
        /* What is left running after the wait. */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (task_completed(list[i])) task_release(list[i]);
            else list[k++] = list[i];
        }
        n = k;
    }
    if (es_err_isset(&err)) {
        tasks_list_free(list, n);
        rest_tasks_leave();
        rest_fail(resp, &err);
        return;
    }
    json_w *w = http_resp_json(resp, 200);
    rest_tasks_write_list(w, node, list, n, group_by, detailed, http_param(req, "human") != NULL, NULL, NULL);
    tasks_list_free(list, n);
    rest_tasks_leave();
}

/* ======================================================================== */
/* GET /_tasks/{task_id}                                                    */

/* The answer for a task that is not running: its stored result, or 404. */
static void answer_stored(rest_node *node, http_resp *resp, const char *id, const char *tnode)
{
    es_err err = { 0 };
    char *json = NULL;
    size_t len = 0;
    int f = tasks_stored_result(node->tasks, id, &json, &len, &err);
    if (f < 0) {
        rest_fail(resp, &err);
        return;
    }
    if (f == 0) {
        if (strcmp(tnode, node->node_id))
            es_err_set(&err, ES_RESOURCE_NOT_FOUND,
                       "task [%s] belongs to the node [%s] which isn't part of the cluster and there is no record of the task",
                       id, tnode);
        else
            es_err_set(&err, ES_RESOURCE_NOT_FOUND, "task [%s] isn't running and hasn't stored its results", id);
        rest_fail(resp, &err);
        return;
    }
    json_w *w = http_resp_json(resp, 200);
    jw_raw(w, json, len);
    free(json);
}

static void handle_get(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    const char *id = http_path_param(req, "task_id");
    bool wait = http_param_bool(req, "wait_for_completion", false, &err);
    int64_t timeout = http_param_time(req, "timeout", 30000, &err);
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
    if (!t) {
        answer_stored(node, resp, id, tnode);
    } else if (!wait) {
        json_w *w = http_resp_json(resp, 200);
        jw_obj_begin(w);
        jw_kbool(w, "completed", false);
        jw_key(w, "task");
        task_write_info(t, w, true, http_param(req, "human") != NULL);
        jw_obj_end(w);
    } else if (!task_wait(t, timeout)) {
        es_err_set(&err, ES_INTERNAL, "Timed out waiting for completion of task");
        err.type_name = "elasticsearch_timeout_exception";
        err.status = 408;
        rest_fail(resp, &err);
    } else {
        char *json = NULL;
        size_t len = 0;
        int f = tasks_stored_result(node->tasks, id, &json, &len, &err);
        es_err_free(&err);
        json_w *w = http_resp_json(resp, 200);
        if (f == 1) {
            jw_raw(w, json, len);
            free(json);
        } else {
            /* Not stored (a request that waited for completion): a snapshot of the finished task. */
            jw_obj_begin(w);
            jw_kbool(w, "completed", true);
            jw_key(w, "task");
            task_write_info(t, w, true, http_param(req, "human") != NULL);
            jw_obj_end(w);
        }
    }
    task_release(t);
    free(tnode);
    rest_tasks_leave();
}

/* ======================================================================== */
/* POST /_tasks/_cancel, /_tasks/{task_id}/_cancel                          */

static void handle_cancel(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    const char *id = http_path_param(req, "task_id");
    bool wait = http_param_bool(req, "wait_for_completion", false, &err);
    const char *group_by = NULL;
    if (es_err_isset(&err) || group_by_param(req, &group_by, &err)) {
        rest_fail(resp, &err);
        return;
    }
    char *tnode = NULL;
    uint64_t tid = 0;
    if (id && task_id_parse(id, &tnode, &tid, &err)) {
        rest_fail(resp, &err);
        return;
    }
    if (!rest_tasks_enter(node, resp)) {
        free(tnode);
        return;
    }
    task **list = NULL;
    size_t n = 0;
    es_err failure = { 0 };
    const char *failed_node = NULL;
    if (id) {
        if (strcmp(tnode, node->node_id)) {
            es_err_set(&failure, ES_INTERNAL, "No such node [%s]", tnode);
            failure.type_name = "no_such_node_exception";
            failure.status = 404;
            failed_node = tnode;
        } else {
            task *t = tasks_get(node->tasks, tid);
            if (!t) {
                es_err_set(&failure, ES_RESOURCE_NOT_FOUND, "task [%s] is missing", id);
            } else if (!action_matches(http_param(req, "actions"), task_action(t))) {
                es_err_set(&failure, ES_RESOURCE_NOT_FOUND, "task [%s] doesn't support this operation", id);
                task_release(t);
            } else {
                list = xcalloc(1, sizeof *list);
                list[n++] = t;
            }
        }
    } else {
        n = select_tasks(node, req, &list, &err);
        if (es_err_isset(&err)) {
            tasks_list_free(list, n);
            rest_tasks_leave();
            rest_fail(resp, &err);
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        es_err e = { 0 };
        task_cancel(list[i], TASK_CANCEL_BY_USER, &e);
        es_err_free(&e);
    }
    if (wait)
        for (size_t i = 0; i < n; i++) task_wait(list[i], -1);
    json_w *w = http_resp_json(resp, 200);
    rest_tasks_write_list(w, node, list, n, group_by, false, http_param(req, "human") != NULL, failed_node, &failure);
    tasks_list_free(list, n);
    es_err_free(&failure);
    free(tnode);
    rest_tasks_leave();
}

static const http_route task_routes[] = {
    { HTTP_GET, "/_tasks", handle_list,
      "nodes,actions,detailed,parent_task_id,wait_for_completion,group_by,timeout,master_timeout", 0 },
    { HTTP_GET, "/_tasks/{task_id}", handle_get, "wait_for_completion,timeout", 0 },
    { HTTP_POST, "/_tasks/_cancel", handle_cancel, "nodes,actions,parent_task_id,wait_for_completion,group_by", 0 },
    { HTTP_POST, "/_tasks/{task_id}/_cancel", handle_cancel,
      "nodes,actions,parent_task_id,wait_for_completion,group_by", 0 },
};

void rest_register_tasks(http_server *srv, rest_node *node)
{
    node->tasks = tasks_new(node->ix, node->node_id);
    http_add_routes(srv, task_routes, ARRAY_LEN(task_routes), node);
}
