/*
 * sort.c — the natural orders of scrolls and points in time:
 *
 *   _shard_doc  (shard index, docnum): the PIT tiebreaker, and the order of
 *               a score-sorted match_all (every score is equal, so
 *               Elasticsearch's tie-break on shard then doc decides);
 *   _doc        (docnum, shard index): Elasticsearch's _doc sort merges the
 *               shards' doc ids, ties broken by shard.
 *
 * A page in one of these orders resumes right after a cursor: every shard's
 * iterator jumps to the cursor (advance, not a scan) and stops after `size`
 * live matches, so a page costs O(size) per shard wherever the cursor is —
 * unlike the top-k collector, which visits every match to pick the best.
 * Field sorts, _score on other queries and search_after on them go through
 * the top-k collector (collect.c).
 */
#include "search/context_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool sort_is_shard_doc(const sort_spec *s)
{
    return s->kind == SORT_FIELD && s->field && !strcmp(s->field, "_shard_doc");
}

bool query_is_match_all(const query *q)
{
    return q && q->ops && q->ops->name && !strcmp(q->ops->name, "match_all");
}

/* ======================================================================== */
/* Documents from a docnum on                                               */

typedef struct from_query {
    query base;
    const query *inner;
    uint64_t from;
} from_query;

typedef struct from_iter {
    doc_iter base;
    doc_iter *in;
    uint64_t from;
} from_iter;

static uint64_t from_next(doc_iter *it)
{
    from_iter *f = (from_iter *)it;
    uint64_t d = f->in->doc;
    if (d < f->from) d = doc_iter_advance(f->in, f->from);
    else d = doc_iter_next(f->in);
    return it->doc = d;
}

static uint64_t from_advance(doc_iter *it, uint64_t target)
{
    from_iter *f = (from_iter *)it;
    if (target < f->from) target = f->from;
    uint64_t d = f->in->doc;
    if (d < target) d = doc_iter_advance(f->in, target);
    return it->doc = d;
}

static float from_score(doc_iter *it) { return doc_iter_score(((from_iter *)it)->in); }
static uint64_t from_cost(doc_iter *it) { return doc_iter_cost(((from_iter *)it)->in); }

static void from_free(doc_iter *it)
{
    doc_iter_free(((from_iter *)it)->in);
    free(it);
}

static const doc_iter_ops from_iter_ops = { from_next, from_advance, from_score, from_cost, from_free };

static doc_iter *from_query_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const from_query *fq = (const from_query *)q;
    doc_iter *in = query_iter(fq->inner, s, boost, flags, err);
    if (!in) return NULL;
    from_iter *f = xcalloc(1, sizeof *f);
    f->base.ops = &from_iter_ops;
    f->in = in;
    f->from = fq->from ? fq->from : 1;
    return &f->base;
}

static const query_ops from_query_ops = { "ferry_from_doc", from_query_iter };

query *query_from_doc(arena *mem, const query *inner, uint64_t from)
{
    from_query *q = arena_alloc(mem, sizeof *q);
    memset(q, 0, sizeof *q);
    q->base.ops = &from_query_ops;
    q->base.boost = 1.0f;
    q->inner = inner;
    q->from = from;
    return &q->base;
}

/* ======================================================================== */
/* Page collection                                                          */

typedef struct page_col {
    search_collector base;
    uint32_t shard_index;
    search_hit *hits;
    size_t n, cap;
    size_t left;            /* hits still wanted from this shard */
} page_col;

static int page_begin(search_collector *c, shard_searcher *s, uint32_t shard_index, es_err *err)
{
    ((page_col *)c->ctx)->shard_index = shard_index;
    return 0;
}

static int page_collect(search_collector *c, uint64_t docnum, float score, es_err *err)
{
    page_col *p = c->ctx;
    if (!p->left) return 1;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->hits = xrealloc(p->hits, p->cap * sizeof *p->hits);
    }
    p->hits[p->n++] = (search_hit){ p->shard_index, docnum, score, NULL };
    return --p->left ? 0 : 1;
}

static int run_shard(const search_request *req, const query *q, shard_searcher *s, uint32_t idx, page_col *pc,
                     es_err *err)
{
    search_collector *c = &pc->base;
    collect_opts co = { 0 };
    co.has_min_score = req->has_min_score;
    co.min_score = req->min_score;
    co.post_filter = req->post_filter;
    collect_result cr;
    if (req->post_filter) return shard_collect(s, idx, q, NULL, 0, &c, 1, &co, &cr, err);
    return shard_collect(s, idx, q, &c, 1, NULL, 0, &co, &cr, err);
}

static int hit_doc_cmp(const void *a, const void *b)
{
    const search_hit *x = a, *y = b;
    if (x->docnum != y->docnum) return x->docnum < y->docnum ? -1 : 1;
    return (x->shard_index > y->shard_index) - (x->shard_index < y->shard_index);
}

int page_run(const search_request *req, const query *q, shard_searcher **shards, size_t n, page_order order,
             bool has_cursor, uint32_t cshard, uint64_t cdoc, size_t size, bool scores, search_hit **out,
             size_t *n_out, es_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (!size) return 0;
    page_col pc;
    memset(&pc, 0, sizeof pc);
    pc.base.needs_scores = scores;
    pc.base.begin_shard = page_begin;
    pc.base.collect = page_collect;
    pc.base.ctx = &pc;
    arena mem = { 0 };
    int rc = 0;
    if (order == ORDER_SHARD_DOC) {
        for (size_t j = has_cursor ? cshard : 0; j < n && pc.n < size; j++) {
            uint64_t from = has_cursor && j == cshard ? cdoc + 1 : 1;
            const query *qj = from > 1 ? query_from_doc(&mem, q, from) : q;
            pc.left = size - pc.n;
            if (run_shard(req, qj, shards[j], (uint32_t)j, &pc, err) < 0) {
                rc = -1;
                break;
            }
        }
    } else {
        for (size_t j = 0; j < n; j++) {
            uint64_t from = !has_cursor ? 1 : j <= cshard ? cdoc + 1 : cdoc;
            const query *qj = from > 1 ? query_from_doc(&mem, q, from) : q;
            pc.left = size;
            if (run_shard(req, qj, shards[j], (uint32_t)j, &pc, err) < 0) {
                rc = -1;
                break;
            }
        }
        if (rc == 0) {
            if (pc.n > 1) qsort(pc.hits, pc.n, sizeof *pc.hits, hit_doc_cmp);
            if (pc.n > size) pc.n = size;
        }
    }
    arena_free(&mem);
    if (rc < 0) {
        free(pc.hits);
        return -1;
    }
    if (!scores)
        for (size_t i = 0; i < pc.n; i++) pc.hits[i].score = NAN;
    *out = pc.hits;
    *n_out = pc.n;
    return 0;
}

void page_hits_free(search_hit *h, size_t n)
{
    if (!h) return;
    for (size_t i = 0; i < n; i++) free(h[i].sort);
    free(h);
}

/* ======================================================================== */
/* Counting                                                                 */

typedef struct count_col {
    search_collector base;
    uint64_t n;
    uint64_t limit;
} count_col;

static int count_collect(search_collector *c, uint64_t docnum, float score, es_err *err)
{
    count_col *k = c->ctx;
    return ++k->n >= k->limit ? 1 : 0;
}

int count_hits(const search_request *req, const query *q, bool plain_match_all, shard_searcher **shards, size_t n,
               int64_t limit, uint64_t *out, bool *gte, es_err *err)
{
    *out = 0;
    *gte = false;
    if (limit < 0) return 0;
    uint64_t lim = limit == INT64_MAX ? UINT64_MAX : (uint64_t)limit + 1;
    if (plain_match_all && !req->post_filter && !req->has_min_score) {
        uint64_t t = 0;
        for (size_t i = 0; i < n; i++) t += shard_searcher_num_docs(shards[i]);
        *out = t;
    } else {
        count_col k;
        memset(&k, 0, sizeof k);
        k.base.collect = count_collect;
        k.base.ctx = &k;
        k.base.needs_scores = false;
        k.limit = lim;
        for (size_t i = 0; i < n && k.n < lim; i++) {
            search_collector *c = &k.base;
            collect_opts co = { 0 };
            co.has_min_score = req->has_min_score;
            co.min_score = req->min_score;
            co.post_filter = req->post_filter;
            collect_result cr;
            int rc = req->post_filter ? shard_collect(shards[i], (uint32_t)i, q, NULL, 0, &c, 1, &co, &cr, err)
                                      : shard_collect(shards[i], (uint32_t)i, q, &c, 1, NULL, 0, &co, &cr, err);
            if (rc < 0) return -1;
        }
        *out = k.n;
    }
    if (limit != INT64_MAX && *out > (uint64_t)limit) {
        *out = (uint64_t)limit;
        *gte = true;
    }
    return 0;
}
