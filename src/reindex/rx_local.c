/*
 * rx_local.c — the local side of the engine: a source reading the request's
 * indices through read snapshots of their shards (search's shard searchers,
 * the query run as an iterator in document-number order, so pages stream
 * without a collector or a scroll context), source filtering as
 * Elasticsearch's XContentMapValues.filter, and the sink writing through
 * indices_write (one durable transaction per shard touched per batch).
 */
#include "reindex/reindex_int.h"

#include "search/search.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Source filtering: the index module's (the one GET, mget and search hits use) */

bool rx_filter_source(const char *src, size_t len, char *const *inc, size_t n_inc, char *const *exc, size_t n_exc,
                      buf *out)
{
    size_t i = 0;
    while (i < len && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r')) i++;
    if (i >= len || src[i] != '{') return false;
    json_w w;
    jw_init(&w, out, false);
    source_filter_write((const char *const *)inc, n_inc, (const char *const *)exc, n_exc, src, len, &w);
    return true;
}

/* ======================================================================== */
/* Snapshot and source                                                      */

struct rx_local_snapshot {
    reindex_env *env;
    index_view **views;
    size_t n_views;
    uint32_t total_shards;
    uint32_t min_shards;
    json_doc *qdoc;
    arena mem;
    const query *q;             /* NULL: every document */
};

int rx_local_snapshot_open(reindex_env *env, const rx_request *r, rx_local_snapshot **out, es_err *err)
{
    *out = NULL;
    rx_local_snapshot *s = xcalloc(1, sizeof *s);
    s->env = env;
    buf expr = { 0 };
    for (size_t i = 0; i < r->n_indices; i++) buf_printf(&expr, "%s%s", i ? "," : "", r->indices[i]);
    resolve_opts o = r->ropts;
    int rc = indices_resolve(env->ix, expr.p ? expr.p : "", &o, &s->views, &s->n_views, err);
    buf_free(&expr);
    if (rc) {
        free(s);
        return -1;
    }
    s->min_shards = UINT32_MAX;
    for (size_t i = 0; i < s->n_views; i++) {
        uint32_t ns = store_index_num_shards(s->views[i]->si);
        s->total_shards += ns;
        if (ns < s->min_shards) s->min_shards = ns;
    }
    if (!s->n_views) s->min_shards = 1;
    if (r->query) {
        json_err je;
        s->qdoc = json_parse(r->query, strlen(r->query), NULL, &je);
        if (!s->qdoc) {
            es_err_set(err, ES_PARSING, "[query] malformed: %s", je.msg);
            rx_local_snapshot_free(s);
            return -1;
        }
        query_parse_ctx ctx = { .mem = &s->mem, .doc = s->qdoc, .views = s->views, .n_views = s->n_views,
                                .now_ms = now_millis() };
        s->q = query_parse(&ctx, json_doc_root(s->qdoc), err);
        if (!s->q) {
            rx_local_snapshot_free(s);
            return -1;
        }
    }
    *out = s;
    return 0;
}

void rx_local_snapshot_free(rx_local_snapshot *s)
{
    if (!s) return;
    indices_views_free(s->views, s->n_views);
    json_doc_free(s->qdoc);
    arena_free(&s->mem);
    free(s);
}

uint32_t rx_local_snapshot_min_shards(const rx_local_snapshot *s)
{
    return s->min_shards;
}

bool rx_local_snapshot_has(const rx_local_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->n_views; i++)
        if (!strcmp(s->views[i]->name, name)) return true;
    return false;
}

typedef struct local_src {
    rx_source base;
    rx_local_snapshot *snap;
    const rx_request *r;
    int slice, max;
    bool by_shard;              /* slice i reads shard i (slices == shards) */
    int64_t size;
    shard_searcher **sh;        /* opened in first(): one consistent read per shard */
    size_t n_sh;
    size_t cur;                 /* current shard */
    doc_iter *it;
    bool started;
    int64_t total;
    /* sorted reads (the deprecated source.sort): top-k pages after the last hit */
    bool sorted;
    arena mem;
    json_doc *bdoc;
    search_request req;
    search_hit after;
    bool have_after;
    bool sorted_done;
} local_src;

static void local_fail(rx_page *p, es_err *e)
{
    p->error = true;
    p->err = *e;
    memset(e, 0, sizeof *e);
}

static bool in_slice(const local_src *s, const char *id, size_t idlen)
{
    if (s->max <= 1 || s->by_shard) return true;
    uint32_t h = store_murmur3_32(id, idlen, 0);
    return (int)(h % (uint32_t)s->max) == s->slice;
}

/* Counts the matching documents of this source (the "total" of the first page). */
static int64_t count_matches(local_src *s, es_err *err)
{
    int64_t total = 0;
    for (size_t i = 0; i < s->n_sh; i++) {
        doc_iter *it = s->snap->q ? query_iter(s->snap->q, s->sh[i], 1.0f, QI_FILTER, err) : doc_iter_all(s->sh[i], 0);
        if (!it) return -1;
        uint64_t d;
        while ((d = doc_iter_next(it)) != DOC_NO_MORE) {
            if (!shard_searcher_is_live(s->sh[i], d)) continue;
            if (s->max > 1 && !s->by_shard) {
                store_doc doc;
                if (shard_searcher_doc(s->sh[i], d, &doc, err) != 1) continue;
                if (!in_slice(s, doc.id, doc.idlen)) continue;
            }
            total++;
        }
        doc_iter_free(it);
        const es_err *se = shard_searcher_error(s->sh[i]);
        if (se) {
            es_err_set(err, se->type, "%s", se->reason);
            return -1;
        }
    }
    return total;
}

static void local_read(local_src *s, rx_page *out)
{
    es_err e = { 0 };
    size_t cap = (size_t)(s->size > 0 ? s->size : RX_DEFAULT_SIZE);
    out->hits = xcalloc(cap, sizeof *out->hits);
    buf filtered = { 0 };
    size_t *foff = NULL;
    bool filter = s->r->n_inc || s->r->n_exc;
    if (filter) foff = xcalloc(cap, sizeof *foff);
    while (out->n < cap && s->cur < s->n_sh) {
        shard_searcher *sh = s->sh[s->cur];
        if (!s->it) {
            s->it = s->snap->q ? query_iter(s->snap->q, sh, 1.0f, QI_FILTER, &e) : doc_iter_all(sh, 0);
            if (!s->it) {
                local_fail(out, &e);
                break;
            }
        }
        uint64_t d = doc_iter_next(s->it);
        if (d == DOC_NO_MORE) {
            doc_iter_free(s->it);
            s->it = NULL;
            const es_err *se = shard_searcher_error(sh);
            if (se) {
                rx_search_failure f = { 0 };
                f.index = xstrdup(shard_searcher_view(sh)->name);
                f.shard = (int32_t)shard_searcher_shard(sh);
                f.status = se->status ? se->status : 500;
                es_err_set(&f.reason, se->type, "%s", se->reason);
                out->failures = xrealloc(out->failures, (out->n_failures + 1) * sizeof *out->failures);
                out->failures[out->n_failures++] = f;
                break;
            }
            s->cur++;
            continue;
        }
        if (!shard_searcher_is_live(sh, d)) continue;
        store_doc doc;
        int f = shard_searcher_doc(sh, d, &doc, &e);
        if (f < 0) {
            local_fail(out, &e);
            break;
        }
        if (f == 0) continue;
        if (!in_slice(s, doc.id, doc.idlen)) continue;
        rx_hit *h = &out->hits[out->n];
        h->index = shard_searcher_view(sh)->name;
        h->id = doc.id;
        h->idlen = doc.idlen;
        h->routing = doc.routing;
        h->routing_len = doc.routing_len;
        bool stored = mapping_source_enabled(shard_searcher_view(sh)->mapping);
        h->source = stored ? doc.source : NULL;
        h->srclen = stored ? doc.srclen : 0;
        h->version = doc.version;
        h->seq_no = doc.seq_no;
        h->primary_term = doc.primary_term;
        if (filter && h->source) {
            foff[out->n] = filtered.len;
            buf one = { 0 };
            if (rx_filter_source(doc.source, doc.srclen, s->r->src_inc, s->r->n_inc, s->r->src_exc, s->r->n_exc, &one)) {
                buf_append(&filtered, one.p, one.len);
                h->srclen = one.len;
            } else {
                buf_append(&filtered, doc.source, doc.srclen);
            }
            buf_free(&one);
        }
        out->n++;
    }
    if (filter) {
        out->mem = buf_detach(&filtered, NULL);
        for (size_t i = 0; i < out->n; i++)
            if (out->hits[i].source) out->hits[i].source = out->mem + foff[i];
        free(foff);
    }
}

/* One page in sort order: the best `size` hits after the previous page's last one
 * (ties by shard and document number, as scroll cursors). */
static void sorted_read(local_src *s, rx_page *out)
{
    es_err e = { 0 };
    size_t cap = (size_t)(s->size > 0 ? s->size : RX_DEFAULT_SIZE);
    out->hits = xcalloc(cap, sizeof *out->hits);
    bool filter = s->r->n_inc || s->r->n_exc;
    buf filtered = { 0 };
    size_t *foff = filter ? xcalloc(cap, sizeof *foff) : NULL;
    while (!out->n && !s->sorted_done) {
        s->req.size = (int64_t)cap;
        s->req.from = 0;
        s->req.search_after = s->have_after ? &s->after : NULL;
        s->req.n_search_after = s->have_after ? s->req.n_sorts : 0;
        search_result res = { 0 };
        if (search_execute(&s->req, s->sh, s->n_sh, NULL, 0, &res, &e)) {
            local_fail(out, &e);
            break;
        }
        if (s->total < 0) s->total = (int64_t)res.total;
        if (res.n_hits < cap) s->sorted_done = true;
        for (size_t i = 0; i < res.n_hits; i++) {
            const search_hit *sh = &res.hits[i];
            shard_searcher *ss = s->sh[sh->shard_index];
            store_doc doc;
            int f = shard_searcher_doc(ss, sh->docnum, &doc, &e);
            if (f < 0) {
                local_fail(out, &e);
                break;
            }
            if (f == 0 || !in_slice(s, doc.id, doc.idlen)) continue;
            rx_hit *h = &out->hits[out->n];
            bool stored = mapping_source_enabled(shard_searcher_view(ss)->mapping);
            h->index = shard_searcher_view(ss)->name;
            h->id = doc.id;
            h->idlen = doc.idlen;
            h->routing = doc.routing;
            h->routing_len = doc.routing_len;
            h->source = stored ? doc.source : NULL;
            h->srclen = stored ? doc.srclen : 0;
            h->version = doc.version;
            h->seq_no = doc.seq_no;
            h->primary_term = doc.primary_term;
            if (filter && h->source) {
                foff[out->n] = filtered.len;
                buf one = { 0 };
                if (rx_filter_source(doc.source, doc.srclen, s->r->src_inc, s->r->n_inc, s->r->src_exc, s->r->n_exc,
                                     &one)) {
                    buf_append(&filtered, one.p, one.len);
                    h->srclen = one.len;
                } else {
                    buf_append(&filtered, doc.source, doc.srclen);
                }
                buf_free(&one);
            }
            out->n++;
        }
        if (res.n_hits) {
            /* the cursor: the last hit, its sort values copied (the result owns them) */
            const search_hit *last = &res.hits[res.n_hits - 1];
            s->after = *last;
            s->after.sort = NULL;
            if (last->sort && s->req.n_sorts) {
                s->after.sort = arena_alloc(&s->mem, s->req.n_sorts * sizeof *s->after.sort);
                for (size_t k = 0; k < s->req.n_sorts; k++) {
                    s->after.sort[k] = last->sort[k];
                    if (last->sort[k].kind == SV_STR && last->sort[k].s)
                        s->after.sort[k].s = arena_strndup(&s->mem, last->sort[k].s, last->sort[k].slen);
                }
            }
            s->have_after = true;
        }
        search_result_free(&res);
        if (out->error) break;
    }
    if (filter) {
        out->mem = buf_detach(&filtered, NULL);
        for (size_t i = 0; i < out->n; i++)
            if (out->hits[i].source) out->hits[i].source = out->mem + foff[i];
        free(foff);
    }
}

/* The search `routing` parameter (update/delete by query): only the shards its values route to. */
static bool routed_to(const index_view *v, uint32_t shard, const char *routing)
{
    const char *p = routing;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && store_shard_for(v->si, p, len) == shard) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

static void local_first(rx_source *base, rx_page *out)
{
    local_src *s = (local_src *)base;
    memset(out, 0, sizeof *out);
    out->total = -1;
    es_err e = { 0 };
    store *st = indices_store(s->snap->env->ix);
    uint32_t shard_index = 0;
    for (size_t v = 0; v < s->snap->n_views; v++) {
        index_view *view = s->snap->views[v];
        uint32_t ns = store_index_num_shards(view->si);
        for (uint32_t k = 0; k < ns; k++, shard_index++) {
            if (s->by_shard && (int)shard_index != s->slice) continue;
            if (s->r->url_routing && !routed_to(view, k, s->r->url_routing)) continue;
            shard_searcher *sh = NULL;
            if (shard_searcher_open(st, view, k, &sh, &e)) {
                local_fail(out, &e);
                return;
            }
            s->sh = xrealloc(s->sh, (s->n_sh + 1) * sizeof *s->sh);
            s->sh[s->n_sh++] = sh;
        }
    }
    if (s->sorted) {
        /* a search request: query and sort parsed by the search module */
        buf body = { 0 };
        buf_puts(&body, "{\"track_total_hits\":true,\"query\":");
        buf_puts(&body, s->r->query ? s->r->query : "{\"match_all\":{}}");
        buf_puts(&body, ",\"sort\":");
        buf_puts(&body, s->r->sort_json);
        buf_putc(&body, '}');
        s->bdoc = json_parse(body.p, body.len, NULL, NULL);
        buf_free(&body);
        search_url_params up = { 0 };
        if (!s->bdoc || search_request_parse(&s->req, &s->mem, s->bdoc, json_doc_root(s->bdoc), &up, s->snap->views,
                                             s->snap->n_views, false, &e)) {
            if (!es_err_isset(&e)) es_err_set(&e, ES_PARSING, "cannot parse the sort");
            local_fail(out, &e);
            return;
        }
        s->total = -1;
        sorted_read(s, out);
        if (s->total >= 0 && s->max > 1 && !s->by_shard) s->total = count_matches(s, &e);
        out->total = s->total;
        return;
    }
    s->total = count_matches(s, &e);
    if (s->total < 0) {
        local_fail(out, &e);
        return;
    }
    local_read(s, out);
    out->total = s->total;
}

static void local_next(rx_source *base, int64_t extra_ms, rx_page *out)
{
    local_src *s = (local_src *)base;
    memset(out, 0, sizeof *out);
    out->total = -1;
    (void)extra_ms;
    if (s->sorted) sorted_read(s, out);
    else local_read(s, out);
}

static void local_close(rx_source *base)
{
    local_src *s = (local_src *)base;
    doc_iter_free(s->it);
    search_shards_close(s->sh, s->n_sh);
    json_doc_free(s->bdoc);
    arena_free(&s->mem);
    free(s);
}

rx_source *rx_local_source(rx_local_snapshot *snap, const rx_request *r, int slice, int max, int64_t size)
{
    local_src *s = xcalloc(1, sizeof *s);
    s->base.first = local_first;
    s->base.next = local_next;
    s->base.close = local_close;
    s->snap = snap;
    s->r = r;
    s->slice = slice;
    s->max = max;
    s->size = size;
    s->by_shard = max > 1 && (uint32_t)max == snap->total_shards && !r->has_slice;
    s->sorted = r->sort_json != NULL;
    s->total = -1;
    return &s->base;
}

/* ======================================================================== */
/* Sink                                                                     */

typedef struct local_sink {
    rx_sink base;
    reindex_env *env;
    const rx_request *r;
    rx_worker *w;
} local_sink;

/* Elasticsearch's wait_for_active_shards on one node: only primaries are ever active. */
static bool enough_copies(local_sink *k, const write_op *op, int *required, int64_t *copies)
{
    if (k->r->wait_active == 1 || k->r->wait_active == 0) return true;
    index_view *v = NULL;
    const char *ar = NULL;
    es_err e = { 0 };
    if (indices_write_target(k->env->ix, op->index, false, false, &v, &ar, &e)) {
        es_err_free(&e);
        return true;
    }
    *copies = 1 + index_view_replicas(v);
    index_view_release(v);
    *required = k->r->wait_active < 0 ? (int)*copies : k->r->wait_active;
    return *required <= 1;
}

static int local_write(rx_sink *base, const write_op *ops, size_t n, rx_item *res, es_err *err)
{
    local_sink *k = (local_sink *)base;
    int required = 1;
    int64_t copies = 1;
    if (n && !enough_copies(k, &ops[0], &required, &copies)) {
        /* Wait as a bulk would for the copies to come, then fail each item. */
        rx_worker_sleep(k->w, k->r->timeout_ms);
        char tv[32];
        tasks_time_human(k->r->timeout_ms * 1000000, tv);
        for (size_t i = 0; i < n; i++) {
            res[i].kind = RXI_FAILED;
            res[i].status = 503;
            res[i].index = xstrdup(ops[i].index);
            res[i].id = xstrdup(ops[i].id ? ops[i].id : "");
            es_err_set(&res[i].err, ES_INTERNAL,
                       "[%s][0] Not enough active copies to meet shard count of [%d] (have 1, needed %d). Timeout: [%s], "
                       "request: [BulkShardRequest [[%s][0]] containing [%zu] requests]",
                       ops[i].index, required, required, tv, ops[i].index, n);
            res[i].err.type_name = "unavailable_shards_exception";
            res[i].err.status = 503;
        }
        (void)copies;
        return 0;
    }
    write_result *wr = xcalloc(n, sizeof *wr);
    write_opts wo = { .auto_create = true };
    int rc = indices_write(k->env->ix, ops, n, &wo, wr, err);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            rx_item *it = &res[i];
            it->index = wr[i].index ? xstrdup(wr[i].index) : xstrdup(ops[i].index);
            it->id = wr[i].id ? xstrdup(wr[i].id) : xstrdup(ops[i].id ? ops[i].id : "");
            it->status = wr[i].status;
            if (es_err_isset(&wr[i].err)) {
                it->kind = RXI_FAILED;
                it->err = wr[i].err;
                memset(&wr[i].err, 0, sizeof wr[i].err);
                if (!it->status) it->status = it->err.status ? it->err.status : es_error_status(it->err.type);
            } else {
                switch (wr[i].r.result) {
                case STORE_RESULT_CREATED: it->kind = RXI_CREATED; break;
                case STORE_RESULT_UPDATED: it->kind = RXI_UPDATED; break;
                case STORE_RESULT_DELETED:
                case STORE_RESULT_NOT_FOUND: it->kind = RXI_DELETED; break;
                default: it->kind = RXI_NOOP; break;
                }
            }
        }
    }
    for (size_t i = 0; i < n; i++) write_result_free(&wr[i]);
    free(wr);
    return rc;
}

static int local_refresh(rx_sink *base, es_err *err)
{
    (void)base;
    (void)err;
    return 0; /* every acknowledged write is visible at commit */
}

static void local_sink_close(rx_sink *base)
{
    free(base);
}

rx_sink *rx_local_sink(reindex_env *env, const rx_request *r, rx_worker *w)
{
    local_sink *k = xcalloc(1, sizeof *k);
    k->base.write = local_write;
    k->base.refresh = local_refresh;
    k->base.close = local_sink_close;
    k->env = env;
    k->r = r;
    k->w = w;
    return &k->base;
}
