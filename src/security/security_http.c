/*
 * security_http.c — security on the REST layer: the http authenticate hook,
 * the table mapping each REST route to the Elasticsearch action it performs,
 * and GET /_security/_authenticate.
 *
 * Why a table here rather than an `action` member in every route table: the
 * mapping is security's knowledge (ES's action names, which check applies, which
 * path segment holds the indices), it is reviewed in one place against ES's
 * list, and route files stay free of security concerns. A route missing from
 * the table fails closed (superuser only) and is reported at start-up by
 * security_check_routes, so a new route cannot silently widen access.
 *
 * Templates match by shape: parameter names are ignored ("/{index}/_doc/{id}"
 * matches "/{target}/_doc/{docid}"); "{index}" in this table marks the segment
 * holding the comma-separated index names.
 */
#include "security/security_int.h"

#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GET = HTTP_GET, HEAD = HTTP_HEAD, POST = HTTP_POST, PUT = HTTP_PUT, DEL = HTTP_DELETE };
enum { C = SEC_KIND_CLUSTER, I = SEC_KIND_INDEX, A = SEC_KIND_ANY_INDEX, U = SEC_KIND_AUTHENTICATED };
enum { NOOP = -1, OP_INDEX = SEC_OP_INDEX, OP_CREATE = SEC_OP_CREATE, OP_UPDATE = SEC_OP_UPDATE,
       OP_DELETE = SEC_OP_DELETE };

typedef struct route_action {
    unsigned methods;
    const char *path;
    const char *action;
    int kind;
    int op;
} route_action;

static const route_action table[] = {
    /* Node and cluster */
    { GET | HEAD, "/", "cluster:monitor/main", C, NOOP },
    { GET, "/_cluster/health", "cluster:monitor/health", C, NOOP },
    { GET, "/_cluster/health/{index}", "cluster:monitor/health", C, NOOP },
    { GET, "/_cluster/state", "cluster:monitor/state", C, NOOP },
    { GET, "/_cluster/state/{metric}", "cluster:monitor/state", C, NOOP },
    { GET, "/_cluster/state/{metric}/{index}", "cluster:monitor/state", C, NOOP },
    { GET, "/_cluster/settings", "cluster:monitor/settings", C, NOOP },
    { PUT, "/_cluster/settings", "cluster:admin/settings/update", C, NOOP },
    { GET, "/_cluster/stats", "cluster:monitor/stats", C, NOOP },
    { GET, "/_cluster/pending_tasks", "cluster:monitor/task", C, NOOP },
    { GET | POST, "/_cluster/allocation/explain", "cluster:monitor/allocation/explain", C, NOOP },
    { GET, "/_nodes", "cluster:monitor/nodes/info", C, NOOP },
    { GET, "/_nodes/{node_id}", "cluster:monitor/nodes/info", C, NOOP },
    { GET, "/_nodes/{node_id}/{metric}", "cluster:monitor/nodes/info", C, NOOP },
    { GET, "/_nodes/stats", "cluster:monitor/nodes/stats", C, NOOP },
    { GET, "/_nodes/stats/{metric}", "cluster:monitor/nodes/stats", C, NOOP },
    { GET, "/_nodes/{node_id}/stats", "cluster:monitor/nodes/stats", C, NOOP },
    { GET, "/_nodes/{node_id}/stats/{metric}", "cluster:monitor/nodes/stats", C, NOOP },
    { GET, "/_nodes/usage", "cluster:monitor/nodes/usage", C, NOOP },
    { GET, "/_nodes/hot_threads", "cluster:monitor/nodes/hot_threads", C, NOOP },
    { GET, "/_capabilities", "cluster:monitor/nodes/capabilities", C, NOOP },
    { GET, "/_license", "cluster:monitor/xpack/license/get", C, NOOP },
    { GET, "/_xpack", "cluster:monitor/xpack/info", C, NOOP },
    { GET, "/_xpack/usage", "cluster:monitor/xpack/usage", C, NOOP },
    { GET, "/_security/_authenticate", "cluster:admin/xpack/security/user/authenticate", U, NOOP },

    /* Tasks */
    { GET, "/_tasks", "cluster:monitor/tasks/lists", C, NOOP },
    { GET, "/_tasks/{task_id}", "cluster:monitor/task/get", C, NOOP },
    { POST, "/_tasks/_cancel", "cluster:admin/tasks/cancel", C, NOOP },
    { POST, "/_tasks/{task_id}/_cancel", "cluster:admin/tasks/cancel", C, NOOP },
    { GET, "/_reindex/{task_id}", "cluster:monitor/task/get", C, NOOP },
    { POST, "/_reindex/{task_id}/_rethrottle", "cluster:admin/reindex/rethrottle", C, NOOP },
    { POST, "/_reindex/{task_id}/_cancel", "cluster:admin/tasks/cancel", C, NOOP },
    { POST, "/_update_by_query/{task_id}/_rethrottle", "cluster:admin/reindex/rethrottle", C, NOOP },
    { POST, "/_delete_by_query/{task_id}/_rethrottle", "cluster:admin/reindex/rethrottle", C, NOOP },

    /* Templates and pipelines (cluster-level in ES's model) */
    { GET, "/_index_template", "indices:admin/index_template/get", C, NOOP },
    { GET | HEAD, "/_index_template/{name}", "indices:admin/index_template/get", C, NOOP },
    { PUT | POST, "/_index_template/{name}", "indices:admin/index_template/put", C, NOOP },
    { DEL, "/_index_template/{name}", "indices:admin/index_template/delete", C, NOOP },
    { GET, "/_template", "indices:admin/template/get", C, NOOP },
    { GET | HEAD, "/_template/{name}", "indices:admin/template/get", C, NOOP },
    { PUT | POST, "/_template/{name}", "indices:admin/template/put", C, NOOP },
    { DEL, "/_template/{name}", "indices:admin/template/delete", C, NOOP },
    { GET, "/_component_template", "cluster:admin/component_template/get", C, NOOP },
    { GET | HEAD, "/_component_template/{name}", "cluster:admin/component_template/get", C, NOOP },
    { PUT | POST, "/_component_template/{name}", "cluster:admin/component_template/put", C, NOOP },
    { DEL, "/_component_template/{name}", "cluster:admin/component_template/delete", C, NOOP },
    { GET, "/_ingest/pipeline", "cluster:admin/ingest/pipeline/get", C, NOOP },
    { GET, "/_ingest/pipeline/{id}", "cluster:admin/ingest/pipeline/get", C, NOOP },
    { PUT, "/_ingest/pipeline/{id}", "cluster:admin/ingest/pipeline/put", C, NOOP },
    { DEL, "/_ingest/pipeline/{id}", "cluster:admin/ingest/pipeline/delete", C, NOOP },

    /* _cat: the first action each runs in ES */
    { GET, "/_cat", NULL, U, NOOP },
    { GET, "/_cat/health", "cluster:monitor/health", C, NOOP },
    { GET, "/_cat/nodes", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/master", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/allocation", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/allocation/{node_id}", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/templates", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/templates/{name}", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/nodeattrs", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/plugins", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/pending_tasks", "cluster:monitor/task", C, NOOP },
    { GET, "/_cat/thread_pool", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/thread_pool/{pattern}", "cluster:monitor/state", C, NOOP },
    { GET, "/_cat/tasks", "cluster:monitor/tasks/lists", C, NOOP },
    { GET, "/_cat/fielddata", "cluster:monitor/nodes/stats", C, NOOP },
    { GET, "/_cat/indices", "indices:monitor/settings/get", I, NOOP },
    { GET, "/_cat/indices/{index}", "indices:monitor/settings/get", I, NOOP },
    { GET, "/_cat/count", "indices:data/read/search", I, NOOP },
    { GET, "/_cat/count/{index}", "indices:data/read/search", I, NOOP },
    { GET, "/_cat/aliases", "indices:admin/aliases/get", I, NOOP },
    { GET, "/_cat/aliases/{name}", "indices:admin/aliases/get", I, NOOP },
    { GET, "/_cat/shards", "indices:monitor/stats", I, NOOP },
    { GET, "/_cat/shards/{index}", "indices:monitor/stats", I, NOOP },
    { GET, "/_cat/segments", "indices:monitor/segments", I, NOOP },
    { GET, "/_cat/segments/{index}", "indices:monitor/segments", I, NOOP },
    { GET, "/_cat/recovery", "indices:monitor/recovery", I, NOOP },
    { GET, "/_cat/recovery/{index}", "indices:monitor/recovery", I, NOOP },

    /* Index administration */
    { PUT | POST, "/{index}", "indices:admin/create", I, NOOP },
    { DEL, "/{index}", "indices:admin/delete", I, NOOP },
    { GET | HEAD, "/{index}", "indices:admin/get", I, NOOP },
    { GET, "/_mapping", "indices:admin/mappings/get", I, NOOP },
    { GET, "/{index}/_mapping", "indices:admin/mappings/get", I, NOOP },
    { GET, "/_mapping/field/{fields}", "indices:admin/mappings/fields/get", I, NOOP },
    { GET, "/{index}/_mapping/field/{fields}", "indices:admin/mappings/fields/get", I, NOOP },
    { PUT | POST, "/{index}/_mapping", "indices:admin/mapping/put", I, NOOP },
    { GET, "/_settings", "indices:monitor/settings/get", I, NOOP },
    { GET, "/_settings/{name}", "indices:monitor/settings/get", I, NOOP },
    { GET, "/{index}/_settings", "indices:monitor/settings/get", I, NOOP },
    { GET, "/{index}/_settings/{name}", "indices:monitor/settings/get", I, NOOP },
    { PUT, "/_settings", "indices:admin/settings/update", I, NOOP },
    { PUT, "/{index}/_settings", "indices:admin/settings/update", I, NOOP },
    { GET | POST, "/_refresh", "indices:admin/refresh", I, NOOP },
    { GET | POST, "/{index}/_refresh", "indices:admin/refresh", I, NOOP },
    { GET | POST, "/_flush", "indices:admin/flush", I, NOOP },
    { GET | POST, "/{index}/_flush", "indices:admin/flush", I, NOOP },
    { POST, "/_forcemerge", "indices:admin/forcemerge", I, NOOP },
    { POST, "/{index}/_forcemerge", "indices:admin/forcemerge", I, NOOP },
    { POST, "/{index}/_open", "indices:admin/open", I, NOOP },
    { POST, "/{index}/_close", "indices:admin/close", I, NOOP },
    { GET, "/_stats", "indices:monitor/stats", I, NOOP },
    { GET, "/_stats/{metric}", "indices:monitor/stats", I, NOOP },
    { GET, "/{index}/_stats", "indices:monitor/stats", I, NOOP },
    { GET, "/{index}/_stats/{metric}", "indices:monitor/stats", I, NOOP },
    { GET | HEAD, "/_alias", "indices:admin/aliases/get", I, NOOP },
    { GET | HEAD, "/_alias/{name}", "indices:admin/aliases/get", I, NOOP },
    { GET | HEAD, "/{index}/_alias", "indices:admin/aliases/get", I, NOOP },
    { GET | HEAD, "/{index}/_alias/{name}", "indices:admin/aliases/get", I, NOOP },
    { GET, "/_aliases", "indices:admin/aliases/get", I, NOOP },
    { GET, "/{index}/_aliases", "indices:admin/aliases/get", I, NOOP },
    { PUT | POST | DEL, "/{index}/_alias/{name}", "indices:admin/aliases", I, NOOP },
    { PUT | POST | DEL, "/{index}/_aliases/{name}", "indices:admin/aliases", I, NOOP },
    { PUT | POST, "/{index}/_alias", "indices:admin/aliases", I, NOOP },
    { PUT | POST, "/{index}/_aliases", "indices:admin/aliases", I, NOOP },
    { PUT | POST, "/_alias/{name}", "indices:admin/aliases", I, NOOP },
    { PUT | POST, "/_alias", "indices:admin/aliases", I, NOOP },
    { POST, "/_aliases", "indices:admin/aliases", A, NOOP },
    { GET, "/_resolve/index/{index}", "indices:admin/resolve/index", I, NOOP },
    { GET | POST, "/_analyze", "indices:admin/analyze", A, NOOP },
    { GET | POST, "/{index}/_analyze", "indices:admin/analyze", I, NOOP },
    { GET | POST, "/_validate/query", "indices:admin/validate/query", I, NOOP },
    { GET | POST, "/{index}/_validate/query", "indices:admin/validate/query", I, NOOP },

    /* Documents */
    { PUT | POST, "/{index}/_doc/{id}", "indices:data/write/index", I, OP_INDEX },
    { POST, "/{index}/_doc", "indices:data/write/index", I, OP_CREATE },
    { PUT | POST, "/{index}/_create/{id}", "indices:data/write/index", I, OP_CREATE },
    { PUT | POST, "/{index}/{type}/{id}/_create", "indices:data/write/index", I, OP_CREATE },
    { POST, "/{index}/_update/{id}", "indices:data/write/update", I, OP_UPDATE },
    { POST, "/{index}/{type}/{id}/_update", "indices:data/write/update", I, OP_UPDATE },
    { DEL, "/{index}/_doc/{id}", "indices:data/write/delete", I, OP_DELETE },
    { GET | HEAD, "/{index}/_doc/{id}", "indices:data/read/get", I, NOOP },
    { GET | HEAD, "/{index}/_source/{id}", "indices:data/read/get", I, NOOP },
    { GET | POST, "/{index}/_explain/{id}", "indices:data/read/explain", I, NOOP },
    { GET | POST, "/{index}/_termvectors", "indices:data/read/tv", I, NOOP },
    { GET | POST, "/{index}/_termvectors/{id}", "indices:data/read/tv", I, NOOP },
    { GET | POST, "/_mget", "indices:data/read/mget", A, NOOP },
    { GET | POST, "/{index}/_mget", "indices:data/read/mget", A, NOOP },
    { POST | PUT, "/_bulk", "indices:data/write/bulk", A, NOOP },
    { POST | PUT, "/{index}/_bulk", "indices:data/write/bulk", A, NOOP },

    /* Search */
    { GET | POST, "/_search", "indices:data/read/search", I, NOOP },
    { GET | POST, "/{index}/_search", "indices:data/read/search", I, NOOP },
    { GET | POST, "/_count", "indices:data/read/search", I, NOOP },
    { GET | POST, "/{index}/_count", "indices:data/read/search", I, NOOP },
    { GET | POST, "/_search/scroll", "indices:data/read/scroll", A, NOOP },
    { GET | POST, "/_search/scroll/{scroll_id}", "indices:data/read/scroll", A, NOOP },
    { DEL, "/_search/scroll", "indices:data/read/scroll/clear", A, NOOP },
    { DEL, "/_search/scroll/{scroll_id}", "indices:data/read/scroll/clear", A, NOOP },
    { POST, "/{index}/_pit", "indices:data/read/open_point_in_time", I, NOOP },
    { DEL, "/_pit", "indices:data/read/close_point_in_time", A, NOOP },
    { GET | POST, "/_msearch", "indices:data/read/msearch", A, NOOP },
    { GET | POST, "/{index}/_msearch", "indices:data/read/msearch", A, NOOP },
    { GET | POST, "/_field_caps", "indices:data/read/field_caps", I, NOOP },
    { GET | POST, "/{index}/_field_caps", "indices:data/read/field_caps", I, NOOP },

    /* Reindex and by-query */
    { POST, "/_reindex", "indices:data/write/reindex", A, NOOP },
    { POST, "/{index}/_update_by_query", "indices:data/write/update/byquery", I, NOOP },
    { POST, "/{index}/_delete_by_query", "indices:data/write/delete/byquery", I, NOOP },
};

/* Routes without an entry: superusers only (cluster privilege `all`). */
#define UNMAPPED_ACTION "cluster:admin/ferry/unmapped_route"

/* Compares two templates by shape: literal segments equal, any {param} equal to any other. */
static bool same_shape(const char *a, const char *b)
{
    for (;;) {
        while (*a == '/') a++;
        while (*b == '/') b++;
        if (!*a || !*b) return !*a && !*b;
        const char *ea = strchr(a, '/'), *eb = strchr(b, '/');
        size_t na = ea ? (size_t)(ea - a) : strlen(a), nb = eb ? (size_t)(eb - b) : strlen(b);
        bool pa = a[0] == '{', pb = b[0] == '{';
        if (pa != pb) return false;
        if (!pa && (na != nb || memcmp(a, b, na) != 0)) return false;
        a += na;
        b += nb;
    }
}

/* Which segment (0-based) of a template is "{index}"; -1 when none. */
static int index_segment(const char *t)
{
    int i = 0;
    for (const char *p = t; *p;) {
        while (*p == '/') p++;
        if (!*p) break;
        if (strncmp(p, "{index}", 7) == 0 && (p[7] == '/' || !p[7])) return i;
        while (*p && *p != '/') p++;
        i++;
    }
    return -1;
}

const char *security_route_action(http_method m, const char *path_template, sec_action_kind *kind,
                                  int *index_pos, int *op)
{
    for (size_t i = 0; i < ARRAY_LEN(table); i++) {
        if (!(table[i].methods & m) || !same_shape(table[i].path, path_template)) continue;
        *kind = (sec_action_kind)table[i].kind;
        *index_pos = index_segment(table[i].path);
        *op = table[i].op;
        return table[i].action ? table[i].action : "";
    }
    return NULL;
}

/* The name of the template's parameter in segment pos ("{target}" → "target"), into out. */
static bool param_name_at(const char *t, int pos, char *out, size_t outlen)
{
    int i = 0;
    for (const char *p = t; *p;) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (i == pos) {
            if (n < 3 || p[0] != '{' || p[n - 1] != '}' || n - 2 >= outlen) return false;
            memcpy(out, p + 1, n - 2);
            out[n - 2] = 0;
            return true;
        }
        p += n;
        i++;
    }
    return false;
}

/* Splits "a,b,c" into the request's arena. */
static size_t split_indices(arena *a, const char *s, const char ***out)
{
    size_t n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    const char **v = arena_alloc(a, n * sizeof *v);
    size_t k = 0;
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        v[k++] = arena_strndup(a, p, len);
        if (!c) break;
        p = c + 1;
    }
    *out = v;
    return k;
}

static bool fail(http_resp *resp, es_err *err)
{
    http_resp_error(resp, err);
    if (err->status == 401) http_resp_header(resp, "WWW-Authenticate", SEC_WWW_AUTHENTICATE);
    es_err_free(err);
    return false;
}

bool security_http_hook(http_req *req, http_resp *resp, void *ctx)
{
    security *s = ctx;
    es_err err = { 0 };
    sec_principal *p = security_authenticate(s, http_header(req, "Authorization"), http_req_uri(req),
                                             http_req_arena(req), &err);
    if (!p) return fail(resp, &err);
    http_req_set_user(req, p);

    const http_route *r = http_req_route(req);
    if (!r) return true;
    http_method m = http_req_method(req);
    sec_action_kind kind;
    int pos, op;
    const char *action = security_route_action(m, r->path, &kind, &pos, &op);
    if (!action) {
        log_debug("security", "route [%s %s] has no security action; superusers only", http_method_name(m),
                  r->path);
        if (security_authorize_cluster(p, UNMAPPED_ACTION, &err) < 0) return fail(resp, &err);
        return true;
    }
    switch (kind) {
    case SEC_KIND_AUTHENTICATED:
        return true;
    case SEC_KIND_CLUSTER:
        if (security_authorize_cluster(p, action, &err) < 0) return fail(resp, &err);
        return true;
    case SEC_KIND_ANY_INDEX:
        if (security_authorize_any_index(p, action, &err) < 0) return fail(resp, &err);
        return true;
    case SEC_KIND_INDEX:
        break;
    }
    const char **names;
    size_t n;
    char pname[64];
    const char *value = pos >= 0 && param_name_at(r->path, pos, pname, sizeof pname) ? http_path_param(req, pname)
                                                                                    : NULL;
    if (value) {
        n = split_indices(http_req_arena(req), value, &names);
    } else {
        static const char *all[] = { "_all" };
        names = all;
        n = 1;
    }
    if (security_authorize_indices(p, action, names, n, &err) < 0) return fail(resp, &err);
    if (op >= 0 && value) {
        /* The document operation itself, as ES checks each bulk item. */
        sec_doc_op dop = (sec_doc_op)op;
        const char *op_type = http_param(req, "op_type");
        if (dop == SEC_OP_INDEX && op_type && strcmp(op_type, "create") == 0) dop = SEC_OP_CREATE;
        for (size_t i = 0; i < n; i++)
            if (security_check_doc_op(req, dop, names[i], &err) < 0) return fail(resp, &err);
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Start-up check */

static void check_one(const http_route *r, void *ctx)
{
    size_t *missing = ctx;
    static const http_method ms[] = { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_PATCH };
    for (size_t i = 0; i < ARRAY_LEN(ms); i++) {
        if (!(r->methods & ms[i])) continue;
        sec_action_kind k;
        int pos, op;
        if (!security_route_action(ms[i], r->path, &k, &pos, &op)) {
            log_warn("security", "route [%s %s] has no action in the security table: only superusers may call it",
                     http_method_name(ms[i]), r->path);
            (*missing)++;
        }
    }
}

size_t security_check_routes(http_server *srv)
{
    size_t missing = 0;
    http_server_each_route(srv, check_one, &missing);
    return missing;
}

/* ------------------------------------------------------------------------ */
/* GET /_security/_authenticate */

static void handle_authenticate(http_req *req, http_resp *resp, void *ctx)
{
    const sec_principal *p = http_req_user(req);
    if (!p) {
        es_err err = { 0 };
        es_err_set(&err, ES_SECURITY,
                   "Security must be explicitly enabled when using a [basic] license. Enable security by setting "
                   "[xpack.security.enabled] to [true] in the elasticsearch.yml file and restart the node.");
        err.status = 500;
        http_resp_error(resp, &err);
        es_err_free(&err);
        return;
    }
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_kstr(w, "username", p->username);
    jw_key(w, "roles");
    jw_arr_begin(w);
    for (size_t i = 0; i < p->n_roles; i++) jw_str(w, p->roles[i]);
    jw_arr_end(w);
    jw_key(w, "full_name");
    jw_null(w);
    jw_key(w, "email");
    jw_null(w);
    jw_key(w, "metadata");
    jw_obj_begin(w);
    if (p->reserved) jw_kbool(w, "_reserved", true);
    jw_obj_end(w);
    jw_kbool(w, "enabled", true);
    jw_key(w, "authentication_realm");
    jw_obj_begin(w);
    jw_kstr(w, "name", p->realm_name);
    jw_kstr(w, "type", p->realm_type);
    jw_obj_end(w);
    jw_key(w, "lookup_realm");
    jw_obj_begin(w);
    jw_kstr(w, "name", p->realm_name);
    jw_kstr(w, "type", p->realm_type);
    jw_obj_end(w);
    jw_kstr(w, "authentication_type", "realm");
    jw_obj_end(w);
}

static const http_route security_routes[] = {
    { HTTP_GET, "/_security/_authenticate", handle_authenticate, NULL, 0 },
};

void security_register_routes(http_server *srv, security *s)
{
    http_add_routes(srv, security_routes, ARRAY_LEN(security_routes), s);
}
