/*
 * rest_scroll.c — scroll and point in time over HTTP:
 *
 *   GET|POST   /_search/scroll[/{scroll_id}]     next page of a scroll
 *   DELETE     /_search/scroll[/{scroll_id}]     clear scrolls (ids, or _all)
 *   POST       /{index}/_pit?keep_alive=         open a point in time
 *   DELETE     /_pit                             close one
 *
 * and the part of _search that opens a scroll (?scroll=) or searches a
 * point in time (body "pit"), reached through rest_search_hook, which the
 * _search handler calls before anything else. Also registers the
 * aggregation engine (search_register_aggs) for plain searches.
 */
#include "rest/rest_int.h"
#include "search/search.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Helpers                                                                  */

static int64_t setting_int(rest_node *node, const char *key, int64_t def)
{
    char *v = indices_cluster_setting(node->ix, key);
    if (!v) return def;
    char *e;
    long long x = strtoll(v, &e, 10);
    int64_t r = *e || e == v ? def : x;
    free(v);
    return r;
}

static int64_t setting_time(rest_node *node, const char *key, int64_t def)
{
    char *v = indices_cluster_setting(node->ix, key);
    if (!v) return def;
    int64_t ms;
    if (!parse_time_value(v, &ms)) ms = def;
    free(v);
    return ms;
}

static search_ctx_limits limits(rest_node *node)
{
    search_ctx_limits l;
    l.max_keep_alive_ms = setting_time(node, "search.max_keep_alive", 86400000);
    l.max_open_scroll = setting_int(node, "search.max_open_scroll_context", 500);
    return l;
}

/* ActionRequestValidationException: "Validation Failed: 1: a;2: b;" */
typedef struct vlist {
    buf b;
    int n;
} vlist;

static void vadd(vlist *v, const char *msg)
{
    if (!v->n) buf_puts(&v->b, "Validation Failed: ");
    buf_printf(&v->b, "%d: %s;", ++v->n, msg);
}

static bool vfail(vlist *v, http_resp *resp)
{
    if (!v->n) {
        buf_free(&v->b);
        return false;
    }
    es_err err = { 0 };
    es_err_set(&err, ES_ACTION_REQUEST_VALIDATION, "%s", v->b.p);
    buf_free(&v->b);
    rest_fail(resp, &err);
    return true;
}

/* With ?routing=, only the shards the routing values hash to. */
static void filter_routing(const char *routing, shard_searcher **ss, size_t *n)
{
    if (!routing || !*routing) return;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        bool keep = false;
        index_view *v = shard_searcher_view(ss[i]);
        const char *p = routing;
        while (*p && !keep) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (len && store_shard_for(v->si, p, len) == shard_searcher_shard(ss[i])) keep = true;
            p = e ? e + 1 : p + len;
        }
        if (keep) ss[k++] = ss[i];
        else shard_searcher_close(ss[i]);
    }
    *n = k;
}

/* The sort entries of a request (body "sort" or the sort parameter): how many, and whether
 * the last names _shard_doc; *any_shard_doc: one of them does. */
static size_t sort_entries(const json_val *root, const char *sort_param, bool *last_shard_doc, bool *any_shard_doc)
{
    *last_shard_doc = *any_shard_doc = false;
    const json_val *s = root ? json_obj_get(root, "sort") : NULL;
    size_t n = 0;
    if (s) {
        size_t cnt = json_type_of(s) == JSON_ARRAY ? json_len(s) : 1;
        for (size_t i = 0; i < cnt; i++) {
            const json_val *e = json_type_of(s) == JSON_ARRAY ? json_arr_get(s, i) : s;
            const char *name = json_str(e, NULL);
            if (!name && json_type_of(e) == JSON_OBJECT && json_len(e) == 1) {
                json_iter it = json_iter_begin(e);
                size_t kl;
                json_iter_next(&it, &name, &kl);
            }
            bool sd = name && !strcmp(name, "_shard_doc");
            if (sd) *any_shard_doc = true;
            *last_shard_doc = sd;
            n++;
        }
        return n;
    }
    if (sort_param && *sort_param) {
        const char *p = sort_param;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            const char *colon = memchr(p, ':', len);
            size_t nl = colon ? (size_t)(colon - p) : len;
            bool sd = nl == 10 && !strncmp(p, "_shard_doc", 10);
            if (sd) *any_shard_doc = true;
            *last_shard_doc = sd;
            n++;
            p = e ? e + 1 : p + len;
        }
    }
    return n;
}

/* ======================================================================== */
/* _search with ?scroll= or a "pit"                                         */

static void scroll_search(http_req *req, http_resp *resp, rest_node *node, const search_url_params *p,
                          const json_val *root, json_doc *doc)
{
    es_err err = { 0 };
    index_view **views = NULL;
    size_t nv = 0;
    shard_searcher **ss = NULL;
    size_t ns = 0;
    int64_t keep = http_param_time(req, "scroll", -1, &err);
    if (es_err_isset(&err)) goto fail;
    bool request_cache = http_param_bool(req, "request_cache", false, &err);
    if (es_err_isset(&err)) goto fail;
    bool typed_keys = http_param_bool(req, "typed_keys", false, &err);
    if (es_err_isset(&err)) goto fail;
    /* the request is validated before the indices are resolved, as Elasticsearch does */
    search_request sr;
    if (search_request_parse(&sr, http_req_arena(req), doc, root, p, NULL, 0, false, &err) < 0) goto fail;
    if (search_scroll_validate(&sr, p, request_cache, &err) < 0) goto fail;
    resolve_opts ro = resolve_opts_default();
    if (rest_resolve_opts(req, &ro, &err) < 0) goto fail;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &ro, &views, &nv, &err) < 0) goto fail;
    if (search_shards_open(indices_store(node->ix), views, nv, &ss, &ns, &err) < 0) goto fail;
    filter_routing(http_param(req, "routing"), ss, &ns);
    size_t blen;
    const char *body = http_body(req, &blen);
    search_ctx_limits lim = limits(node);
    search_scroll_args a = { 0 };
    a.body = body;
    a.body_len = blen;
    a.params = p;
    a.views = views;
    a.n_views = nv;
    a.index_expr = http_path_param(req, "index");
    a.shards = ss;
    a.n_shards = ns;
    a.keep_alive_ms = keep;
    a.lim = &lim;
    a.typed_keys = typed_keys;
    a.request_cache = request_cache;
    ss = NULL; /* owned by the scroll now */
    json_w *w = http_resp_json(resp, 200);
    if (search_scroll_open(&a, w, &err) < 0) goto fail;
    goto done;
fail:
    rest_fail(resp, &err);
done:
    search_shards_close(ss, ns);
    if (views) indices_views_free(views, nv);
}

/* search_after with one value more than sort: the last is the implicit _shard_doc tiebreaker's;
 * the body is rewritten without it (*doc2 owns the copy). */
static const json_val *strip_tiebreaker(const json_val *root, json_doc **doc2, const json_val **tiebreaker)
{
    const json_val *sa = json_obj_get(root, "search_after");
    size_t n = json_len(sa);
    *tiebreaker = json_arr_get(sa, n - 1);
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_obj_begin(&w);
    json_iter it = json_iter_begin(root);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        jw_keyn(&w, k, kl);
        if (v == sa) {
            jw_arr_begin(&w);
            for (size_t i = 0; i + 1 < n; i++) jw_val(&w, json_arr_get(sa, i));
            jw_arr_end(&w);
        } else {
            jw_val(&w, v);
        }
    }
    jw_obj_end(&w);
    *doc2 = json_parse(b.p, b.len, NULL, NULL);
    buf_free(&b);
    return *doc2 ? json_doc_root(*doc2) : root;
}

static void pit_search(http_req *req, http_resp *resp, rest_node *node, const search_url_params *p,
                       const json_val *root, json_doc *doc, const json_val *pit)
{
    es_err err = { 0 };
    json_doc *doc2 = NULL;
    const json_val *tiebreaker = NULL;
    bool typed_keys = http_param_bool(req, "typed_keys", false, &err);
    if (es_err_isset(&err)) goto fail;
    if (json_type_of(pit) != JSON_OBJECT) {
        es_err_set(&err, ES_PARSING, "[pit] failed to parse field [pit]");
        goto fail;
    }
    const json_val *idv = json_obj_get(pit, "id");
    const char *id = json_str(idv, NULL);
    if (!id) {
        es_err_set(&err, ES_X_CONTENT_PARSE, "Required [id]");
        goto fail;
    }
    int64_t keep = -1;
    const json_val *ka = json_obj_get(pit, "keep_alive");
    if (ka && !json_is_null(ka)) {
        const char *t = json_str(ka, NULL);
        if (!t || !parse_time_value(t, &keep)) {
            es_err_set(&err, ES_PARSE,
                       "failed to parse setting [keep_alive] with value [%s] as a time value: unit is missing or "
                       "unrecognized",
                       t ? t : "");
            goto fail;
        }
    }
    json_iter it = json_iter_begin(pit);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl)))
        if (strcmp(k, "id") && strcmp(k, "keep_alive")) {
            es_err_set(&err, ES_X_CONTENT_PARSE, "[pit] unknown field [%s]", k);
            goto fail;
        }
    /* the implicit tiebreaker's search_after value */
    bool last_sd, any_sd;
    size_t nsorts = sort_entries(root, p->sort, &last_sd, &any_sd);
    const json_val *sa = json_obj_get(root, "search_after");
    const json_val *body = root;
    if (sa && json_type_of(sa) == JSON_ARRAY && nsorts && !last_sd && json_len(sa) == nsorts + 1)
        body = strip_tiebreaker(root, &doc2, &tiebreaker);
    search_request sr;
    if (search_request_parse(&sr, http_req_arena(req), doc2 ? doc2 : doc, body, p, NULL, 0, false, &err) < 0)
        goto fail;
    search_ctx_limits lim = limits(node);
    search_pit_args a = { 0 };
    a.id = id;
    a.keep_alive_ms = keep;
    a.req = &sr;
    a.doc = doc2 ? doc2 : doc;
    a.params = p;
    a.tiebreaker_after = tiebreaker;
    a.lim = &lim;
    a.typed_keys = typed_keys;
    json_w *w = http_resp_json(resp, 200);
    if (search_pit_search(&a, w, &err) < 0) goto fail;
    goto done;
fail:
    rest_fail(resp, &err);
done:
    json_doc_free(doc2);
}

int rest_search_hook(http_req *req, http_resp *resp, rest_node *node, json_doc *doc, const json_val *root,
                     const search_url_params *p, bool is_count)
{
    if (is_count) return 0;
    es_err e = { 0 };
    agg_request_context(doc, http_param_bool(req, "typed_keys", false, &e));
    es_err_free(&e);
    const json_val *pit = root ? json_obj_get(root, "pit") : NULL;
    bool scroll = p->scroll != NULL;
    vlist vl = { { 0 }, 0 };
    if (pit && !json_is_null(pit)) {
        /* RestSearchAction.preparePointInTime, then SearchRequest.validate */
        if (http_path_param(req, "index"))
            vadd(&vl, "[indices] cannot be used with point in time. Do not specify any index with point in time.");
        if (http_param(req, "ignore_unavailable") || http_param(req, "allow_no_indices") ||
            http_param(req, "expand_wildcards"))
            vadd(&vl, "[indicesOptions] cannot be used with point in time");
        if (http_param(req, "routing")) vadd(&vl, "[routing] cannot be used with point in time");
        if (http_param(req, "preference")) vadd(&vl, "[preference] cannot be used with point in time");
        if (vl.n) return vfail(&vl, resp), 1;
        if (scroll) {
            vadd(&vl, "using [point in time] is not allowed in a scroll context");
            return vfail(&vl, resp), 1;
        }
        pit_search(req, resp, node, p, root, doc, pit);
        return 1;
    }
    if (scroll) {
        scroll_search(req, resp, node, p, root, doc);
        return 1;
    }
    /* a plain search: what only a scroll or a PIT may use */
    bool last_sd, any_sd;
    sort_entries(root, p->sort, &last_sd, &any_sd);
    if (root && json_obj_get(root, "slice"))
        vadd(&vl, "[slice] can only be used with [scroll] or [point-in-time] requests");
    if (any_sd) vadd(&vl, "[_shard_doc] sort field cannot be used without [point in time]");
    if (vfail(&vl, resp)) return 1;
    return 0;
}

/* ======================================================================== */
/* GET|POST /_search/scroll                                                 */

/* A bare scroll id as the whole body (clients of Elasticsearch before 2.0). */
static bool raw_id(const char *body, size_t len, char *out, size_t cap)
{
    while (len && isspace((unsigned char)body[len - 1])) len--;
    while (len && isspace((unsigned char)*body)) {
        body++;
        len--;
    }
    if (!len || len >= cap) return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)body[i]) && !strchr("-_=+/", body[i])) return false;
    memcpy(out, body, len);
    out[len] = 0;
    return true;
}

static void handle_scroll(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    const char *id = http_path_param(req, "scroll_id");
    if (!id) id = http_param(req, "scroll_id");
    const char *scroll = http_param(req, "scroll");
    char rawbuf[256];
    char *idcopy = NULL, *scrollcopy = NULL;
    bool as_int = http_param_bool(req, "rest_total_hits_as_int", false, &err);
    if (es_err_isset(&err)) goto fail;
    size_t blen;
    const char *body = http_body(req, &blen);
    if (body && blen) {
        if (raw_id(body, blen, rawbuf, sizeof rawbuf) && body[0] != '{') {
            id = rawbuf;
        } else {
            const json_val *root = http_body_json(req, &err);
            if (!root) goto fail;
            if (json_type_of(root) != JSON_OBJECT) {
                es_err_set(&err, ES_ILLEGAL_ARGUMENT, "Malformed content, must start with an object");
                goto fail;
            }
            /* values in the body win over the parameters */
            json_iter it = json_iter_begin(root);
            const json_val *v;
            const char *k;
            size_t kl;
            while ((v = json_iter_next(&it, &k, &kl))) {
                if (!strcmp(k, "scroll_id") && json_type_of(v) == JSON_STRING) {
                    id = idcopy = xstrdup(json_str(v, NULL));
                } else if (!strcmp(k, "scroll") && json_type_of(v) == JSON_STRING) {
                    scroll = scrollcopy = xstrdup(json_str(v, NULL));
                } else {
                    es_err_set(&err, ES_ILLEGAL_ARGUMENT,
                               "Unknown parameter [%s] in request body or parameter is of the wrong type[%s] ", k,
                               json_type_of(v) == JSON_STRING ? "VALUE_STRING"
                               : json_type_of(v) == JSON_OBJECT ? "START_OBJECT"
                               : json_type_of(v) == JSON_ARRAY  ? "START_ARRAY"
                                                                : "VALUE_NUMBER");
                    goto fail;
                }
            }
        }
    }
    if (!id || !*id) {
        es_err_set(&err, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: scrollId is missing;");
        goto fail;
    }
    int64_t keep = -1;
    if (scroll && !parse_time_value(scroll, &keep)) {
        es_err_set(&err, ES_PARSE,
                   "failed to parse setting [scroll] with value [%s] as a time value: unit is missing or unrecognized",
                   scroll);
        goto fail;
    }
    search_ctx_limits lim = limits(node);
    json_w *w = http_resp_json(resp, 200);
    if (search_scroll_next(id, keep, &lim, as_int, w, &err) < 0) goto fail;
    goto done;
fail:
    rest_fail(resp, &err);
done:
    free(idcopy);
    free(scrollcopy);
}

/* ======================================================================== */
/* DELETE /_search/scroll, DELETE /_pit                                     */

static void answer_freed(http_resp *resp, size_t freed)
{
    json_w *w = http_resp_json(resp, freed ? 200 : 404);
    jw_obj_begin(w);
    jw_kbool(w, "succeeded", true);
    jw_kint(w, "num_freed", (int64_t)freed);
    jw_obj_end(w);
}

static void add_id(char ***ids, size_t *n, const char *s, size_t len)
{
    *ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
    (*ids)[(*n)++] = xstrndup(s, len);
}

static void split_ids(char ***ids, size_t *n, const char *list)
{
    const char *p = list;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) add_id(ids, n, p, len);
        p = e ? e + 1 : p + len;
    }
}

static void handle_clear_scroll(http_req *req, http_resp *resp, void *ctx)
{
    es_err err = { 0 };
    char **ids = NULL;
    size_t n = 0;
    const char *path_ids = http_path_param(req, "scroll_id");
    split_ids(&ids, &n, path_ids ? path_ids : http_param(req, "scroll_id"));
    size_t blen;
    const char *body = http_body(req, &blen);
    char rawbuf[256];
    if (body && blen) {
        if (body[0] != '{' && raw_id(body, blen, rawbuf, sizeof rawbuf)) {
            for (size_t i = 0; i < n; i++) free(ids[i]);
            n = 0;
            split_ids(&ids, &n, rawbuf);
        } else {
            const json_val *root = http_body_json(req, &err);
            if (!root) goto fail;
            if (json_type_of(root) != JSON_OBJECT) {
                es_err_set(&err, ES_ILLEGAL_ARGUMENT, "Malformed content, must start with an object");
                goto fail;
            }
            const json_val *v = json_obj_get(root, "scroll_id");
            if (v) {
                for (size_t i = 0; i < n; i++) free(ids[i]);
                n = 0;
                if (json_type_of(v) == JSON_STRING) {
                    size_t l;
                    const char *s = json_str(v, &l);
                    add_id(&ids, &n, s, l);
                } else if (json_type_of(v) == JSON_ARRAY) {
                    for (size_t i = 0; i < json_len(v); i++) {
                        size_t l;
                        const char *s = json_str(json_arr_get(v, i), &l);
                        if (!s) {
                            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "scroll_id array element should only contain scroll_id");
                            goto fail;
                        }
                        add_id(&ids, &n, s, l);
                    }
                } else {
                    es_err_set(&err, ES_ILLEGAL_ARGUMENT,
                               "Unknown parameter [scroll_id] in request body or parameter is of the wrong type[%s] ",
                               json_type_of(v) == JSON_OBJECT ? "START_OBJECT" : "VALUE_NUMBER");
                    goto fail;
                }
            }
            json_iter it = json_iter_begin(root);
            const char *k;
            size_t kl;
            while ((v = json_iter_next(&it, &k, &kl)))
                if (strcmp(k, "scroll_id")) {
                    es_err_set(&err, ES_ILLEGAL_ARGUMENT,
                               "Unknown parameter [%s] in request body or parameter is of the wrong type[%s] ", k,
                               json_type_of(v) == JSON_STRING ? "VALUE_STRING" : "START_OBJECT");
                    goto fail;
                }
        }
    }
    if (!n) {
        es_err_set(&err, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: no scroll ids specified;");
        goto fail;
    }
    size_t freed = 0;
    if (n == 1 && !strcmp(ids[0], "_all")) {
        freed = search_ctx_clear_all(SEARCH_CTX_SCROLL);
    } else if (search_ctx_clear((const char *const *)ids, n, SEARCH_CTX_SCROLL, &freed, &err) < 0) {
        goto fail;
    }
    answer_freed(resp, freed);
    goto done;
fail:
    rest_fail(resp, &err);
done:
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

static void handle_close_pit(http_req *req, http_resp *resp, void *ctx)
{
    es_err err = { 0 };
    const json_val *root = http_body_json(req, &err);
    if (es_err_isset(&err)) {
        rest_fail(resp, &err);
        return;
    }
    const char *id = root && json_type_of(root) == JSON_OBJECT ? json_str(json_obj_get(root, "id"), NULL) : NULL;
    if (!id || !*id) {
        es_err_set(&err, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: [id] of point-in-time must be provided;");
        rest_fail(resp, &err);
        return;
    }
    size_t freed = 0;
    if (search_ctx_clear(&id, 1, SEARCH_CTX_PIT, &freed, &err) < 0) {
        rest_fail(resp, &err);
        return;
    }
    answer_freed(resp, freed);
}

/* ======================================================================== */
/* POST /{index}/_pit                                                       */

static void handle_open_pit(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    index_view **views = NULL;
    size_t nv = 0;
    shard_searcher **ss = NULL;
    size_t ns = 0;
    char *id = NULL;
    vlist vl = { { 0 }, 0 };
    const char *ka = http_param(req, "keep_alive");
    if (!ka) vadd(&vl, "[keep_alive] is not specified");
    if (vfail(&vl, resp)) return;
    int64_t keep = http_param_time(req, "keep_alive", -1, &err);
    if (es_err_isset(&err)) goto fail;
    /* an index_filter keeps only the shards with a matching document */
    const json_val *root = http_body_json(req, &err);
    if (es_err_isset(&err)) goto fail;
    const json_val *filter = NULL;
    if (root) {
        json_iter it = json_iter_begin(root);
        const json_val *v;
        const char *k;
        size_t kl;
        while ((v = json_iter_next(&it, &k, &kl))) {
            if (!strcmp(k, "index_filter")) filter = v;
            else {
                es_err_set(&err, ES_X_CONTENT_PARSE, "[open_point_in_time] unknown field [%s]", k);
                goto fail;
            }
        }
    }
    /* OpenPointInTimeRequest's default options: open indices, closed ones forbidden */
    resolve_opts ro = resolve_opts_default();
    ro.allow_no_indices = true;
    if (rest_resolve_opts(req, &ro, &err) < 0) goto fail;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &ro, &views, &nv, &err) < 0) goto fail;
    if (search_shards_open(indices_store(node->ix), views, nv, &ss, &ns, &err) < 0) goto fail;
    filter_routing(http_param(req, "routing"), ss, &ns);
    if (filter) {
        query_parse_ctx qc = { 0 };
        qc.mem = http_req_arena(req);
        qc.views = views;
        qc.n_views = nv;
        qc.now_ms = now_millis();
        query *q = query_parse(&qc, filter, &err);
        if (!q) goto fail;
        size_t k = 0;
        for (size_t i = 0; i < ns; i++) {
            count_collector cc;
            count_collector_init(&cc);
            search_collector *c = &cc.base;
            collect_result cr;
            if (shard_collect(ss[i], (uint32_t)i, q, &c, 1, NULL, 0, NULL, &cr, &err) < 0) goto fail;
            if (cc.count) ss[k++] = ss[i];
            else shard_searcher_close(ss[i]);
        }
        ns = k;
    }
    search_ctx_limits lim = limits(node);
    size_t total = ns;
    shard_searcher **owned = ss;
    ss = NULL;
    if (search_pit_open(views, nv, owned, total, http_path_param(req, "index"), keep, &lim, &id, &err) < 0) goto fail;
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_kstr(w, "id", id);
    jw_key(w, "_shards");
    jw_obj_begin(w);
    jw_kint(w, "total", (int64_t)total);
    jw_kint(w, "successful", (int64_t)total);
    jw_kint(w, "skipped", 0);
    jw_kint(w, "failed", 0);
    jw_obj_end(w);
    jw_obj_end(w);
    goto done;
fail:
    rest_fail(resp, &err);
done:
    free(id);
    search_shards_close(ss, ns);
    if (views) indices_views_free(views, nv);
}

/* ======================================================================== */
/* Routes                                                                   */

#define SCROLL_PARAMS "scroll,scroll_id,rest_total_hits_as_int"
#define PIT_PARAMS                                                                                                \
    "keep_alive,ignore_unavailable,expand_wildcards,allow_no_indices,routing,preference,"                        \
    "allow_partial_search_results,max_concurrent_shard_requests"

static const http_route routes[] = {
    { HTTP_GET | HTTP_POST, "/_search/scroll", handle_scroll, SCROLL_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_GET | HTTP_POST, "/_search/scroll/{scroll_id}", handle_scroll, SCROLL_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_DELETE, "/_search/scroll", handle_clear_scroll, "scroll_id", HTTP_ROUTE_BODY },
    { HTTP_DELETE, "/_search/scroll/{scroll_id}", handle_clear_scroll, "", HTTP_ROUTE_BODY },
    { HTTP_POST, "/{index}/_pit", handle_open_pit, PIT_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_DELETE, "/_pit", handle_close_pit, "", HTTP_ROUTE_BODY },
};

void rest_register_scroll(http_server *srv, rest_node *node)
{
    /* the aggregation engine of plain searches (search_aggs_engine) */
    agg_register_engine();
    http_add_routes(srv, routes, ARRAY_LEN(routes), node);
}
