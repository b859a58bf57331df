/*
 * iter.c — the generic iterators: empty, all, a docnum list, conjunction,
 * disjunction (minimum_should_match), dis_max, exclusion, required+optional,
 * constant score and boost. Scores combine as Lucene 9's scorers do: sums in
 * double rounded to float (conjunctions, disjunctions), float sums for
 * required+optional, dis_max as max + tie_breaker * the others.
 */
#include "search/search_int.h"

#include <stdlib.h>
#include <string.h>

void doc_iter_free(doc_iter *it)
{
    if (it) it->ops->free(it);
}

static float no_score(doc_iter *it)
{
    (void)it;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* empty */

static uint64_t empty_next(doc_iter *it) { return it->doc = DOC_NO_MORE; }
static uint64_t empty_advance(doc_iter *it, uint64_t t) { (void)t; return it->doc = DOC_NO_MORE; }
static uint64_t empty_cost(doc_iter *it) { (void)it; return 0; }
static void plain_free(doc_iter *it) { free(it); }
static const doc_iter_ops empty_ops = { empty_next, empty_advance, no_score, empty_cost, plain_free };

doc_iter *doc_iter_empty(void)
{
    doc_iter *it = xcalloc(1, sizeof *it);
    it->ops = &empty_ops;
    return it;
}

/* ------------------------------------------------------------------------ */
/* all docnums [1, max_doc) */

typedef struct all_iter {
    doc_iter base;
    uint64_t max_doc;
    float score;
} all_iter;

static uint64_t all_advance(doc_iter *it, uint64_t t)
{
    all_iter *a = (all_iter *)it;
    if (t == 0) t = 1;
    return it->doc = t < a->max_doc ? t : DOC_NO_MORE;
}
static uint64_t all_next(doc_iter *it) { return it->doc == DOC_NO_MORE ? DOC_NO_MORE : all_advance(it, it->doc + 1); }
static float all_score(doc_iter *it) { return ((all_iter *)it)->score; }
static uint64_t all_cost(doc_iter *it) { return ((all_iter *)it)->max_doc; }
static const doc_iter_ops all_ops = { all_next, all_advance, all_score, all_cost, plain_free };

doc_iter *doc_iter_all(shard_searcher *s, float score)
{
    all_iter *a = xcalloc(1, sizeof *a);
    a->base.ops = &all_ops;
    a->max_doc = shard_searcher_max_doc(s);
    a->score = score;
    return &a->base;
}

/* ------------------------------------------------------------------------ */
/* a sorted docnum array */

typedef struct list_iter {
    doc_iter base;
    uint64_t *docs;
    size_t n, i;
    float score;
} list_iter;

static uint64_t list_advance(doc_iter *it, uint64_t t)
{
    list_iter *l = (list_iter *)it;
    while (l->i < l->n && l->docs[l->i] < t) l->i++;
    return it->doc = l->i < l->n ? l->docs[l->i] : DOC_NO_MORE;
}
static uint64_t list_next(doc_iter *it) { return it->doc == DOC_NO_MORE ? DOC_NO_MORE : list_advance(it, it->doc + 1); }
static float list_score(doc_iter *it) { return ((list_iter *)it)->score; }
static uint64_t list_cost(doc_iter *it) { return ((list_iter *)it)->n; }
static void list_free(doc_iter *it)
{
    free(((list_iter *)it)->docs);
    free(it);
}
static const doc_iter_ops list_ops = { list_next, list_advance, list_score, list_cost, list_free };

doc_iter *doc_iter_docs(const uint64_t *docs, size_t n, float score)
{
    list_iter *l = xcalloc(1, sizeof *l);
    l->base.ops = &list_ops;
    l->docs = xmalloc((n ? n : 1) * sizeof *l->docs);
    if (n) memcpy(l->docs, docs, n * sizeof *docs);
    l->n = n;
    l->score = score;
    return &l->base;
}

/* ------------------------------------------------------------------------ */
/* conjunction */

typedef struct and_iter {
    doc_iter base;
    doc_iter **all;       /* sorted by cost; the first leads */
    size_t n;
    size_t n_scoring;
    doc_iter **scoring;   /* in the order given (score sum order) */
} and_iter;

static uint64_t and_align(and_iter *a, uint64_t doc)
{
    for (;;) {
        if (doc == DOC_NO_MORE) return a->base.doc = DOC_NO_MORE;
        bool ok = true;
        for (size_t i = 1; i < a->n; i++) {
            doc_iter *c = a->all[i];
            uint64_t cd = c->doc;
            if (cd < doc) cd = doc_iter_advance(c, doc);
            if (cd == DOC_NO_MORE) return a->base.doc = DOC_NO_MORE;
            if (cd > doc) {
                doc = doc_iter_advance(a->all[0], cd);
                ok = false;
                break;
            }
        }
        if (ok) return a->base.doc = doc;
    }
}

static uint64_t and_next(doc_iter *it)
{
    and_iter *a = (and_iter *)it;
    return and_align(a, doc_iter_next(a->all[0]));
}

static uint64_t and_advance(doc_iter *it, uint64_t t)
{
    and_iter *a = (and_iter *)it;
    return and_align(a, doc_iter_advance(a->all[0], t));
}

static float and_score(doc_iter *it)
{
    and_iter *a = (and_iter *)it;
    double sum = 0;
    for (size_t i = 0; i < a->n_scoring; i++) sum += doc_iter_score(a->scoring[i]);
    return (float)sum;
}

static uint64_t and_cost(doc_iter *it) { return doc_iter_cost(((and_iter *)it)->all[0]); }

static void and_free(doc_iter *it)
{
    and_iter *a = (and_iter *)it;
    for (size_t i = 0; i < a->n; i++) doc_iter_free(a->all[i]);
    free(a->all);
    free(a->scoring);
    free(a);
}

static const doc_iter_ops and_ops = { and_next, and_advance, and_score, and_cost, and_free };

static int cmp_cost(const void *x, const void *y)
{
    doc_iter *a = *(doc_iter *const *)x, *b = *(doc_iter *const *)y;
    uint64_t ca = doc_iter_cost(a), cb = doc_iter_cost(b);
    return (ca > cb) - (ca < cb);
}

doc_iter *doc_iter_and(doc_iter **scoring, size_t n_scoring, doc_iter **filters, size_t n_filters)
{
    size_t n = n_scoring + n_filters;
    if (n == 0) return doc_iter_empty();
    if (n == 1 && n_scoring == 1) return scoring[0];
    and_iter *a = xcalloc(1, sizeof *a);
    a->base.ops = &and_ops;
    a->all = xmalloc(n * sizeof *a->all);
    for (size_t i = 0; i < n_scoring; i++) a->all[i] = scoring[i];
    for (size_t i = 0; i < n_filters; i++) a->all[n_scoring + i] = filters[i];
    a->n = n;
    a->scoring = xmalloc((n_scoring ? n_scoring : 1) * sizeof *a->scoring);
    memcpy(a->scoring, scoring, n_scoring * sizeof *scoring);
    a->n_scoring = n_scoring;
    qsort(a->all, n, sizeof *a->all, cmp_cost);
    return &a->base;
}

/* ------------------------------------------------------------------------ */
/* disjunction with minimum_should_match, and dis_max */

typedef struct or_iter {
    doc_iter base;
    doc_iter **its;
    size_t n;
    size_t msm;
    bool dismax;
    float tie;
    uint64_t cost;
} or_iter;

static uint64_t or_from(or_iter *o, uint64_t target)
{
    for (;;) {
        if (target == DOC_NO_MORE) return o->base.doc = DOC_NO_MORE;
        uint64_t min = DOC_NO_MORE;
        for (size_t i = 0; i < o->n; i++) {
            doc_iter *c = o->its[i];
            uint64_t d = c->doc;
            if (d < target) d = doc_iter_advance(c, target);
            if (d < min) min = d;
        }
        if (min == DOC_NO_MORE) return o->base.doc = DOC_NO_MORE;
        if (o->msm <= 1) return o->base.doc = min;
        size_t cnt = 0;
        for (size_t i = 0; i < o->n; i++) cnt += o->its[i]->doc == min;
        if (cnt >= o->msm) return o->base.doc = min;
        target = min + 1;
    }
}

static uint64_t or_next(doc_iter *it) { return it->doc == DOC_NO_MORE ? DOC_NO_MORE : or_from((or_iter *)it, it->doc + 1); }
static uint64_t or_advance(doc_iter *it, uint64_t t) { return or_from((or_iter *)it, t); }

static float or_score(doc_iter *it)
{
    or_iter *o = (or_iter *)it;
    if (o->dismax) {
        float max = 0;
        double others = 0;
        for (size_t i = 0; i < o->n; i++) {
            if (o->its[i]->doc != it->doc) continue;
            float s = doc_iter_score(o->its[i]);
            if (s >= max) {
                others += max;
                max = s;
            } else {
                others += s;
            }
        }
        return (float)(max + others * o->tie);
    }
    double sum = 0;
    for (size_t i = 0; i < o->n; i++)
        if (o->its[i]->doc == it->doc) sum += doc_iter_score(o->its[i]);
    return (float)sum;
}

static uint64_t or_cost(doc_iter *it) { return ((or_iter *)it)->cost; }

static void or_free(doc_iter *it)
{
    or_iter *o = (or_iter *)it;
    for (size_t i = 0; i < o->n; i++) doc_iter_free(o->its[i]);
    free(o->its);
    free(o);
}

static const doc_iter_ops or_ops = { or_next, or_advance, or_score, or_cost, or_free };

static doc_iter *or_make(doc_iter **its, size_t n, size_t msm, bool dismax, float tie)
{
    if (msm < 1) msm = 1;
    if (n == 0 || msm > n) {
        for (size_t i = 0; i < n; i++) doc_iter_free(its[i]);
        return doc_iter_empty();
    }
    if (n == 1 && !dismax) return its[0];
    if (msm == n && !dismax) return doc_iter_and(its, n, NULL, 0);
    or_iter *o = xcalloc(1, sizeof *o);
    o->base.ops = &or_ops;
    o->its = xmalloc(n * sizeof *o->its);
    memcpy(o->its, its, n * sizeof *its);
    o->n = n;
    o->msm = msm;
    o->dismax = dismax;
    o->tie = tie;
    for (size_t i = 0; i < n; i++) o->cost += doc_iter_cost(its[i]);
    return &o->base;
}

doc_iter *doc_iter_or(doc_iter **its, size_t n, size_t min_should_match)
{
    return or_make(its, n, min_should_match, false, 0);
}

doc_iter *doc_iter_dismax(doc_iter **its, size_t n, float tie_breaker)
{
    return or_make(its, n, 1, true, tie_breaker);
}

/* ------------------------------------------------------------------------ */
/* req minus excl */

typedef struct not_iter {
    doc_iter base;
    doc_iter *req, *excl;
} not_iter;

static uint64_t not_check(not_iter *n, uint64_t doc)
{
    while (doc != DOC_NO_MORE) {
        uint64_t e = n->excl->doc;
        if (e < doc) e = doc_iter_advance(n->excl, doc);
        if (e != doc) break;
        doc = doc_iter_next(n->req);
    }
    return n->base.doc = doc;
}

static uint64_t not_next(doc_iter *it) { not_iter *n = (not_iter *)it; return not_check(n, doc_iter_next(n->req)); }
static uint64_t not_advance(doc_iter *it, uint64_t t)
{
    not_iter *n = (not_iter *)it;
    return not_check(n, doc_iter_advance(n->req, t));
}
static float not_score(doc_iter *it) { return doc_iter_score(((not_iter *)it)->req); }
static uint64_t not_cost(doc_iter *it) { return doc_iter_cost(((not_iter *)it)->req); }
static void not_free(doc_iter *it)
{
    not_iter *n = (not_iter *)it;
    doc_iter_free(n->req);
    doc_iter_free(n->excl);
    free(n);
}
static const doc_iter_ops not_ops = { not_next, not_advance, not_score, not_cost, not_free };

doc_iter *doc_iter_not(doc_iter *req, doc_iter *excl)
{
    not_iter *n = xcalloc(1, sizeof *n);
    n->base.ops = &not_ops;
    n->req = req;
    n->excl = excl;
    return &n->base;
}

/* ------------------------------------------------------------------------ */
/* required + optional */

typedef struct reqopt_iter {
    doc_iter base;
    doc_iter *req, *opt;
} reqopt_iter;

static uint64_t ro_next(doc_iter *it) { return it->doc = doc_iter_next(((reqopt_iter *)it)->req); }
static uint64_t ro_advance(doc_iter *it, uint64_t t) { return it->doc = doc_iter_advance(((reqopt_iter *)it)->req, t); }
static float ro_score(doc_iter *it)
{
    reqopt_iter *r = (reqopt_iter *)it;
    float s = doc_iter_score(r->req);
    uint64_t od = r->opt->doc;
    if (od < it->doc) od = doc_iter_advance(r->opt, it->doc);
    if (od == it->doc) s += doc_iter_score(r->opt);
    return s;
}
static uint64_t ro_cost(doc_iter *it) { return doc_iter_cost(((reqopt_iter *)it)->req); }
static void ro_free(doc_iter *it)
{
    reqopt_iter *r = (reqopt_iter *)it;
    doc_iter_free(r->req);
    doc_iter_free(r->opt);
    free(r);
}
static const doc_iter_ops ro_ops = { ro_next, ro_advance, ro_score, ro_cost, ro_free };

doc_iter *doc_iter_req_opt(doc_iter *req, doc_iter *opt)
{
    reqopt_iter *r = xcalloc(1, sizeof *r);
    r->base.ops = &ro_ops;
    r->req = req;
    r->opt = opt;
    return &r->base;
}

/* ------------------------------------------------------------------------ */
/* constant score, boost */

typedef struct wrap_iter {
    doc_iter base;
    doc_iter *in;
    float v;
} wrap_iter;

static uint64_t wrap_next(doc_iter *it) { return it->doc = doc_iter_next(((wrap_iter *)it)->in); }
static uint64_t wrap_advance(doc_iter *it, uint64_t t) { return it->doc = doc_iter_advance(((wrap_iter *)it)->in, t); }
static float const_score(doc_iter *it) { return ((wrap_iter *)it)->v; }
static float boost_score(doc_iter *it) { wrap_iter *w = (wrap_iter *)it; return doc_iter_score(w->in) * w->v; }
static uint64_t wrap_cost(doc_iter *it) { return doc_iter_cost(((wrap_iter *)it)->in); }
static void wrap_free(doc_iter *it)
{
    doc_iter_free(((wrap_iter *)it)->in);
    free(it);
}
static const doc_iter_ops const_ops = { wrap_next, wrap_advance, const_score, wrap_cost, wrap_free };
static const doc_iter_ops boost_ops = { wrap_next, wrap_advance, boost_score, wrap_cost, wrap_free };

doc_iter *doc_iter_const(doc_iter *inner, float score)
{
    wrap_iter *w = xcalloc(1, sizeof *w);
    w->base.ops = &const_ops;
    w->in = inner;
    w->v = score;
    return &w->base;
}

doc_iter *doc_iter_boost(doc_iter *inner, float factor)
{
    wrap_iter *w = xcalloc(1, sizeof *w);
    w->base.ops = &boost_ops;
    w->in = inner;
    w->v = factor;
    return &w->base;
}
