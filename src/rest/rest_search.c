/*
 * rest_search.c — the search APIs: GET|POST /_search, /{index}/_search,
 * GET|POST /_count, /{index}/_count. Parsing, execution and the answer's
 * shape live in src/search; this file resolves indices and URL parameters
 * and speaks HTTP.
 */
#include "rest/rest_int.h"
#include "search/search.h"

#include <stdlib.h>
#include <string.h>

#define SEARCH_PARAMS                                                                                           \
    "analyzer,analyze_wildcard,ccs_minimize_roundtrips,default_operator,df,explain,stored_fields,"              \
    "docvalue_fields,from,ignore_unavailable,ignore_throttled,allow_no_indices,expand_wildcards,lenient,"      \
    "preference,q,routing,scroll,search_type,size,sort,_source,_source_excludes,_source_includes,"            \
    "terminate_after,stats,suggest_field,suggest_mode,suggest_size,suggest_text,timeout,track_scores,"        \
    "track_total_hits,allow_partial_search_results,typed_keys,version,seq_no_primary_term,request_cache,"     \
    "batched_reduce_size,max_concurrent_shard_requests,pre_filter_shard_size,rest_total_hits_as_int,"         \
    "min_compatible_shard_node,include_named_queries_score,force_synthetic_source"

#define COUNT_PARAMS                                                                                            \
    "ignore_unavailable,ignore_throttled,allow_no_indices,expand_wildcards,min_score,preference,routing,q,"   \
    "analyzer,analyze_wildcard,default_operator,df,lenient,terminate_after"

/* Terms lookup: a document's _source by index and id. */
static int fetch_source(void *fctx, const char *index, const char *id, const char *routing, char **src, size_t *len,
                        es_err *err)
{
    rest_node *node = fctx;
    index_view *v = indices_get(node->ix, index);
    if (!v) {
        indices_not_found(err, index);
        return -1;
    }
    const char *r = routing ? routing : id;
    uint32_t shard = store_shard_for(v->si, r, strlen(r));
    store_txn *t;
    if (store_read_begin(v->si, shard, &t, err) < 0) {
        index_view_release(v);
        return -1;
    }
    store_doc d;
    int rc = store_doc_get(t, id, strlen(id), &d, err);
    if (rc == 1) {
        *src = xstrndup(d.source, d.srclen);
        *len = d.srclen;
    }
    store_read_end(t);
    index_view_release(v);
    return rc;
}

/* Parses the body (keeping its document for [line:col] in errors). */
static int body_doc(http_req *req, json_doc **doc, const json_val **root, es_err *err)
{
    size_t len;
    const char *body = http_body(req, &len);
    *doc = NULL;
    *root = NULL;
    if (!body || !len) return 0;
    json_err jerr;
    *doc = json_parse(body, len, NULL, &jerr);
    if (!*doc) {
        http_body_json(req, err); /* Elasticsearch's parse error, as every handler reports it */
        if (!es_err_isset(err)) es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", jerr.line, jerr.col, jerr.msg);
        return -1;
    }
    *root = json_doc_root(*doc);
    return 0;
}

static void url_params(http_req *req, search_url_params *p, rest_node *node)
{
    memset(p, 0, sizeof *p);
    p->q = http_param(req, "q");
    p->df = http_param(req, "df");
    p->default_operator = http_param(req, "default_operator");
    p->analyzer = http_param(req, "analyzer");
    p->lenient = http_param(req, "lenient");
    p->analyze_wildcard = http_param(req, "analyze_wildcard");
    p->from = http_param(req, "from");
    p->size = http_param(req, "size");
    p->sort = http_param(req, "sort");
    p->_source = http_param(req, "_source");
    p->_source_includes = http_param(req, "_source_includes");
    p->_source_excludes = http_param(req, "_source_excludes");
    p->stored_fields = http_param(req, "stored_fields");
    p->docvalue_fields = http_param(req, "docvalue_fields");
    p->track_total_hits = http_param(req, "track_total_hits");
    p->rest_total_hits_as_int = http_param(req, "rest_total_hits_as_int");
    p->track_scores = http_param(req, "track_scores");
    p->version = http_param(req, "version");
    p->seq_no_primary_term = http_param(req, "seq_no_primary_term");
    p->timeout = http_param(req, "timeout");
    p->terminate_after = http_param(req, "terminate_after");
    p->min_score = http_param(req, "min_score");
    p->explain = http_param(req, "explain");
    p->search_type = http_param(req, "search_type");
    p->scroll = http_param(req, "scroll");
    p->allow_partial_search_results = http_param(req, "allow_partial_search_results");
    p->fetch_source = fetch_source;
    p->fetch_ctx = node;
}

/* With ?routing=, only the shards the routing values hash to (per index). */
static void filter_routing(http_req *req, shard_searcher **ss, size_t *n)
{
    const char *routing = http_param(req, "routing");
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

/* indices_boost: [{"index": boost}, ...] (or one object); the first entry naming an index wins. */
static int apply_indices_boost(rest_node *node, const json_val *ib, shard_searcher **ss, size_t n,
                               const resolve_opts *ro, es_err *err)
{
    size_t entries = json_type_of(ib) == JSON_ARRAY ? json_len(ib) : 1;
    bool *set = xcalloc(n + 1, sizeof *set);
    int rc = 0;
    for (size_t e = 0; e < entries && rc == 0; e++) {
        const json_val *obj = json_type_of(ib) == JSON_ARRAY ? json_arr_get(ib, e) : ib;
        json_iter it = json_iter_begin(obj);
        const char *name;
        size_t nl;
        const json_val *bv;
        while ((bv = json_iter_next(&it, &name, &nl)) && rc == 0) {
            index_view **views = NULL;
            size_t nv = 0;
            if (indices_resolve(node->ix, name, ro, &views, &nv, err) < 0) {
                rc = -1;
                break;
            }
            float boost = (float)json_num(bv);
            for (size_t i = 0; i < n; i++) {
                if (set[i]) continue;
                for (size_t k = 0; k < nv; k++)
                    if (shard_searcher_view(ss[i])->si == views[k]->si) {
                        shard_searcher_set_boost(ss[i], boost);
                        set[i] = true;
                    }
            }
            indices_views_free(views, nv);
        }
    }
    free(set);
    return rc;
}

/*
 * Filtered aliases: a shard reached only through aliases that all have filters searches
 * with the OR of those filters (an alias without a filter, or the index named itself or by a
 * wildcard, lifts them). The filters' documents are kept in *docs until the request ends.
 */
static int apply_alias_filters(http_req *req, const char *expr, shard_searcher **ss, size_t n, json_doc ***docs,
                               size_t *ndocs, es_err *err)
{
    if (!expr || !*expr || !strcmp(expr, "_all")) return 0;
    for (size_t i = 0; i < n; i++) {
        index_view *v = shard_searcher_view(ss[i]);
        if (!v->n_aliases) continue;
        bool unfiltered = false;
        buf filters = { 0 };
        size_t nf = 0;
        char *copy = xstrdup(expr);
        for (char *save = NULL, *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
            if (*e == '-') continue;
            if (indices_simple_match(e, v->name)) unfiltered = true;
            for (size_t a = 0; a < v->n_aliases; a++) {
                if (!indices_simple_match(e, v->aliases[a].name)) continue;
                if (!v->aliases[a].filter_json) {
                    unfiltered = true;
                    continue;
                }
                if (nf++) buf_putc(&filters, ',');
                buf_puts(&filters, v->aliases[a].filter_json);
            }
        }
        free(copy);
        if (!unfiltered && nf) {
            buf q = { 0 };
            if (nf == 1) buf_append(&q, filters.p, filters.len);
            else buf_printf(&q, "{\"bool\":{\"should\":[%s]}}", filters.p);
            json_doc *d = json_parse(q.p, q.len, NULL, NULL);
            buf_free(&q);
            if (d) {
                *docs = xrealloc(*docs, (*ndocs + 1) * sizeof **docs);
                (*docs)[(*ndocs)++] = d;
                query_parse_ctx qc = { .mem = http_req_arena(req), .doc = d, .now_ms = now_millis() };
                const query *fq = query_parse(&qc, json_doc_root(d), err);
                if (!fq) {
                    buf_free(&filters);
                    return -1;
                }
                shard_searcher_set_filter(ss[i], fq);
            }
        }
        buf_free(&filters);
    }
    return 0;
}

typedef struct aggs_write_ctx {
    const search_aggs_ops *ops;
    search_aggs *aggs;
} aggs_write_ctx;

static void write_aggs(json_w *w, void *ctx)
{
    aggs_write_ctx *a = ctx;
    a->ops->write(a->aggs, w);
}

static void run(http_req *req, http_resp *resp, rest_node *node, bool is_count)
{
    es_err err = { 0 };
    json_doc *doc = NULL;
    const json_val *root = NULL;
    index_view **views = NULL;
    size_t nv = 0;
    shard_searcher **ss = NULL;
    size_t ns = 0;
    search_result res = { 0 };
    bool have_res = false;
    search_aggs *aggs = NULL;
    const search_aggs_ops *aops = NULL;
    json_doc **filter_docs = NULL;
    size_t n_filter_docs = 0;

    if (body_doc(req, &doc, &root, &err) < 0) goto fail;
    search_url_params p;
    url_params(req, &p, node);
    /* scroll and point in time searches, and what only they accept (rest_scroll.c) */
    if (rest_search_hook(req, resp, node, doc, root, &p, is_count)) goto done;
    if (is_count) {
        /* _count takes fewer parameters; those it does not know never reach here */
        p.from = p.size = p.sort = NULL;
    }
    /* The request is validated before the indices are resolved, as Elasticsearch does. */
    search_request sr;
    if (search_request_parse(&sr, http_req_arena(req), doc, root, &p, NULL, 0, is_count, &err) < 0) goto fail;
    resolve_opts ro = resolve_opts_default();
    if (rest_resolve_opts(req, &ro, &err) < 0) goto fail;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &ro, &views, &nv, &err) < 0) goto fail;
    if (search_request_validate(&sr, views, nv, p.scroll, &err) < 0) goto fail;
    if (search_shards_open(indices_store(node->ix), views, nv, &ss, &ns, &err) < 0) goto fail;
    filter_routing(req, ss, &ns);
    if (apply_alias_filters(req, http_path_param(req, "index"), ss, ns, &filter_docs, &n_filter_docs, &err) < 0)
        goto fail;
    if (sr.indices_boost && apply_indices_boost(node, sr.indices_boost, ss, ns, &ro, &err) < 0) goto fail;
    search_collector *extra[1];
    size_t n_extra = 0;
    if (sr.aggs && !is_count) {
        aops = search_aggs_engine();
        if (!aops) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "aggregations are not supported by this node yet");
            goto fail;
        }
        if (!(aggs = aops->create(&sr, ss, ns, &err))) goto fail;
        extra[n_extra++] = aops->collector(aggs);
    }
    if (search_execute(&sr, ss, ns, extra, n_extra, &res, &err) < 0) goto fail;
    have_res = true;
    json_w *w = http_resp_json(resp, 200);
    if (is_count) {
        jw_obj_begin(w);
        jw_kint(w, "count", (int64_t)res.total);
        if (sr.terminate_after > 0) jw_kbool(w, "terminated_early", res.terminated_early);
        search_write_shards(w, &res, ss);
        jw_obj_end(w);
    } else {
        if (ns == 0) res.max_score = 0.0f;
        aggs_write_ctx ac = { aops, aggs };
        if (search_write_response(&sr, &res, ss, w, NULL, NULL, aggs ? write_aggs : NULL, &ac, &err) < 0) goto fail;
    }
    goto done;
fail:
    rest_fail(resp, &err);
done:
    if (have_res) search_result_free(&res);
    if (aggs) aops->free(aggs);
    search_shards_close(ss, ns);
    for (size_t i = 0; i < n_filter_docs; i++) json_doc_free(filter_docs[i]);
    free(filter_docs);
    if (views) indices_views_free(views, nv);
    json_doc_free(doc);
}

static void handle_search(http_req *req, http_resp *resp, void *ctx) { run(req, resp, ctx, false); }
static void handle_count(http_req *req, http_resp *resp, void *ctx) { run(req, resp, ctx, true); }

static const http_route routes[] = {
    { HTTP_GET | HTTP_POST, "/_search", handle_search, SEARCH_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_GET | HTTP_POST, "/{index}/_search", handle_search, SEARCH_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_GET | HTTP_POST, "/_count", handle_count, COUNT_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_GET | HTTP_POST, "/{index}/_count", handle_count, COUNT_PARAMS, HTTP_ROUTE_BODY },
};

void rest_register_search(http_server *srv, rest_node *node)
{
    http_add_routes(srv, routes, ARRAY_LEN(routes), node);
}
