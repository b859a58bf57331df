/*
 * collect.c — running a query over a shard (shard_collect: liveness,
 * min_score, terminate_after, timeout, post_filter) and the collectors: top-k
 * by score or sort fields (with search_after / scroll cursors), counting.
 */
#include "search/search_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* shard_collect                                                            */

int shard_collect(shard_searcher *s, uint32_t shard_index, const query *q, search_collector **cs, size_t n,
                  search_collector **post_cs, size_t n_post, const collect_opts *opts, collect_result *res,
                  es_err *err)
{
    memset(res, 0, sizeof *res);
    collect_opts none = { 0 };
    if (!opts) opts = &none;
    bool scores = opts->has_min_score;
    for (size_t i = 0; i < n; i++) scores |= cs[i]->needs_scores;
    for (size_t i = 0; i < n_post; i++) scores |= post_cs[i]->needs_scores;
    doc_iter *it = query_iter(q, s, s->boost, scores ? QI_SCORES : 0, err);
    if (!it) return -1;
    if (s->filter) {
        doc_iter *f = query_iter(s->filter, s, 1.0f, QI_FILTER, err);
        if (!f) {
            doc_iter_free(it);
            return -1;
        }
        doc_iter *sc[1] = { it }, *fl[1] = { f };
        it = doc_iter_and(sc, 1, fl, 1);
    }
    doc_iter *pf = NULL;
    if (opts->post_filter && n_post) {
        pf = query_iter(opts->post_filter, s, 1.0f, QI_FILTER, err);
        if (!pf) {
            doc_iter_free(it);
            return -1;
        }
    }
    int rc = 0;
    bool *done = xcalloc(n + n_post + 1, sizeof *done);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (cs[i]->begin_shard && cs[i]->begin_shard(cs[i], s, shard_index, err) < 0) rc = -1;
    for (size_t i = 0; i < n_post && rc == 0; i++)
        if (post_cs[i]->begin_shard && post_cs[i]->begin_shard(post_cs[i], s, shard_index, err) < 0) rc = -1;
    uint64_t count = 0, iter = 0;
    size_t active = n + n_post;
    for (uint64_t doc = rc == 0 ? doc_iter_next(it) : DOC_NO_MORE; doc != DOC_NO_MORE && active;
         doc = doc_iter_next(it)) {
        if (opts->deadline_ns > 0 && (++iter & 255) == 0 && mono_nanos() > opts->deadline_ns) {
            res->timed_out = true;
            break;
        }
        if (!shard_searcher_is_live(s, doc)) continue;
        float score = scores ? doc_iter_score(it) : NAN;
        if (opts->has_min_score && !(score >= opts->min_score)) continue;
        for (size_t i = 0; i < n; i++) {
            if (done[i]) continue;
            int r = cs[i]->collect(cs[i], doc, score, err);
            if (r < 0) { rc = -1; break; }
            if (r > 0) { done[i] = true; active--; }
        }
        if (rc < 0) break;
        bool pass = true;
        if (n_post && opts->post_filter) {
            uint64_t pd = pf->doc;
            if (pd < doc) pd = doc_iter_advance(pf, doc);
            pass = pd == doc;
        }
        if (pass) {
            for (size_t i = 0; i < n_post; i++) {
                if (done[n + i]) continue;
                int r = post_cs[i]->collect(post_cs[i], doc, score, err);
                if (r < 0) { rc = -1; break; }
                if (r > 0) { done[n + i] = true; active--; }
            }
        }
        if (rc < 0) break;
        count++;
        if (opts->terminate_after > 0 && count >= (uint64_t)opts->terminate_after) {
            res->terminated_early = true;
            break;
        }
    }
    res->collected = count;
    for (size_t i = 0; i < n; i++)
        if (cs[i]->end_shard && cs[i]->end_shard(cs[i], s, rc < 0 ? NULL : err) < 0 && rc == 0) rc = -1;
    for (size_t i = 0; i < n_post; i++)
        if (post_cs[i]->end_shard && post_cs[i]->end_shard(post_cs[i], s, rc < 0 ? NULL : err) < 0 && rc == 0) rc = -1;
    free(done);
    doc_iter_free(it);
    doc_iter_free(pf);
    if (rc == 0 && shard_searcher_error(s)) {
        const es_err *e = shard_searcher_error(s);
        es_err_set(err, e->type, "%s", e->reason);
        rc = -1;
    }
    return rc;
}

/* ======================================================================== */
/* count                                                                    */

static int count_collect(search_collector *c, uint64_t docnum, float score, es_err *err)
{
    ((count_collector *)c)->count++;
    return 0;
}

void count_collector_init(count_collector *c)
{
    memset(c, 0, sizeof *c);
    c->base.collect = count_collect;
}

/* ======================================================================== */
/* top-k                                                                    */

typedef struct hit_ent {
    search_hit h;
    bool *missing;          /* per sort value: the document had no value */
} hit_ent;

struct topk_collector {
    search_collector base;
    size_t k;
    sort_spec *sorts;
    size_t n_sorts;
    bool track_scores;
    int64_t track_total;
    const search_hit *after;
    bool after_set;
    hit_ent *heap;          /* worst at [0] */
    size_t n;
    uint64_t total;
    float max_score;
    /* current shard */
    shard_searcher *cur;
    uint32_t shard_index;
    dv_reader **dvs;
    int *dv_kinds;
    const mfield **sfields;
    arena mem;
    /* scratch for the candidate */
    sort_value *cand_sort;
    bool *cand_missing;
    sort_value *after_vals; /* after's values converted for the current shard's fields */
    int *date_scale;        /* per sort: 0 none, 1 field ms -> ns, -1 field ns -> ms (numeric_type) */
    search_hit *out;        /* sorted result */
    size_t n_out;
};

/* Compares two values of one sort: <0 when a comes first. */
static int cmp_value(const sort_spec *sp, const sort_value *a, bool am, const sort_value *b, bool bm)
{
    bool desc = sp->desc;
    if (am || bm) {
        if (am && bm) return 0;
        /* missing: _last by default whatever the order; _first puts them before */
        int r = am ? 1 : -1;
        return sp->missing_first ? -r : r;
    }
    int c = 0;
    switch (a->kind) {
    case SV_LONG: c = (a->l > b->l) - (a->l < b->l); break;
    case SV_ULONG: c = ((uint64_t)a->l > (uint64_t)b->l) - ((uint64_t)a->l < (uint64_t)b->l); break;
    case SV_DOUBLE: c = (a->d > b->d) - (a->d < b->d); break;
    case SV_STR: {
        size_t n = a->slen < b->slen ? a->slen : b->slen;
        c = n ? memcmp(a->s, b->s, n) : 0;
        if (!c) c = (a->slen > b->slen) - (a->slen < b->slen);
        break;
    }
    case SV_NULL: c = 0; break;
    }
    return desc ? -c : c;
}

/* <0 when a sorts before b (is better). */
static int cmp_hits(const topk_collector *t, const search_hit *a, const bool *am, const search_hit *b, const bool *bm)
{
    if (t->n_sorts == 0) {
        /* score desc (NaN last), then shard, then doc */
        if (a->score != b->score) {
            if (isnan(a->score)) return 1;
            if (isnan(b->score)) return -1;
            return a->score > b->score ? -1 : 1;
        }
    } else {
        for (size_t i = 0; i < t->n_sorts; i++) {
            int c = cmp_value(&t->sorts[i], &a->sort[i], am ? am[i] : false, &b->sort[i], bm ? bm[i] : false);
            if (c) return c;
        }
    }
    if (a->shard_index != b->shard_index) return a->shard_index < b->shard_index ? -1 : 1;
    return (a->docnum > b->docnum) - (a->docnum < b->docnum);
}

static void heap_swap(hit_ent *a, hit_ent *b)
{
    hit_ent t = *a;
    *a = *b;
    *b = t;
}

/* worst at the root: parent is "worse or equal" than children */
static void sift_down(topk_collector *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < t->n && cmp_hits(t, &t->heap[l].h, t->heap[l].missing, &t->heap[w].h, t->heap[w].missing) > 0) w = l;
        if (r < t->n && cmp_hits(t, &t->heap[r].h, t->heap[r].missing, &t->heap[w].h, t->heap[w].missing) > 0) w = r;
        if (w == i) return;
        heap_swap(&t->heap[i], &t->heap[w]);
        i = w;
    }
}

static void sift_up(topk_collector *t, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (cmp_hits(t, &t->heap[i].h, t->heap[i].missing, &t->heap[p].h, t->heap[p].missing) <= 0) return;
        heap_swap(&t->heap[i], &t->heap[p]);
        i = p;
    }
}


/* The sort values of a document. */
static int doc_sort_values(topk_collector *t, uint64_t docnum, float score, sort_value *sv, bool *missing, es_err *err)
{
    for (size_t i = 0; i < t->n_sorts; i++) {
        const sort_spec *sp = &t->sorts[i];
        missing[i] = false;
        memset(&sv[i], 0, sizeof sv[i]);
        if (sp->kind == SORT_SCORE) {
            sv[i].kind = SV_DOUBLE;
            sv[i].d = score;
            continue;
        }
        if (sp->kind == SORT_DOC) {
            sv[i].kind = SV_LONG;
            sv[i].l = (int64_t)docnum;
            continue;
        }
        dv_reader *r = t->dvs ? t->dvs[i] : NULL;
        dv_values v;
        if (!r || dv_read(r, docnum, &v, err) <= 0) {
            if (es_err_isset(err)) return -1;
            int k = t->dv_kinds ? t->dv_kinds[i] : DV_NONE;
            sv[i].kind = k == DV_DOUBLE ? SV_DOUBLE : k == DV_BYTES ? SV_STR : k == DV_ULONG ? SV_ULONG : SV_LONG;
            if (sp->missing_json) {
                /* "missing": a value stands in for the document's */
                const char *mj = sp->missing_json;
                if (sv[i].kind == SV_STR) {
                    size_t n = strlen(mj);
                    if (n >= 2 && mj[0] == '"') {
                        sv[i].s = mj + 1;
                        sv[i].slen = n - 2;
                    } else {
                        sv[i].s = mj;
                        sv[i].slen = n;
                    }
                } else {
                    const char *num = mj[0] == '"' ? mj + 1 : mj;
                    double d = strtod(num, NULL);
                    if (sv[i].kind == SV_DOUBLE) sv[i].d = d;
                    else sv[i].l = (int64_t)d;
                }
                missing[i] = false;
                continue;
            }
            missing[i] = true;
            continue;
        }
        bool use_max = sp->mode == SORT_MODE_MAX || (sp->mode == SORT_MODE_DEFAULT && sp->desc);
        size_t pick = use_max ? v.n - 1 : 0;
        switch (r ? dv_reader_kind(r) : DV_NONE) {
        case DV_LONG:
        case DV_ULONG:
            sv[i].kind = dv_reader_kind(r) == DV_ULONG ? SV_ULONG : SV_LONG;
            if (sp->mode == SORT_MODE_SUM || sp->mode == SORT_MODE_AVG) {
                int64_t sum = 0;
                for (size_t k = 0; k < v.n; k++) sum += v.l[k];
                sv[i].l = sp->mode == SORT_MODE_AVG ? sum / (int64_t)v.n : sum;
            } else if (sp->mode == SORT_MODE_MEDIAN) {
                sv[i].l = v.n % 2 ? v.l[v.n / 2] : (v.l[v.n / 2 - 1] + v.l[v.n / 2]) / 2;
            } else {
                sv[i].l = v.l[pick];
            }
            if (t->date_scale[i] > 0) sv[i].l *= 1000000;
            else if (t->date_scale[i] < 0) sv[i].l = sv[i].l >= 0 ? sv[i].l / 1000000 : -((-sv[i].l + 999999) / 1000000);
            break;
        case DV_DOUBLE:
            sv[i].kind = SV_DOUBLE;
            if (sp->mode == SORT_MODE_SUM || sp->mode == SORT_MODE_AVG) {
                double sum = 0;
                for (size_t k = 0; k < v.n; k++) sum += v.d[k];
                sv[i].d = sp->mode == SORT_MODE_AVG ? sum / (double)v.n : sum;
            } else if (sp->mode == SORT_MODE_MEDIAN) {
                sv[i].d = v.n % 2 ? v.d[v.n / 2] : (v.d[v.n / 2 - 1] + v.d[v.n / 2]) / 2;
            } else {
                sv[i].d = v.d[pick];
            }
            break;
        case DV_BYTES:
            sv[i].kind = SV_STR;
            sv[i].s = v.s[pick].p;
            sv[i].slen = v.s[pick].len;
            break;
        default:
            missing[i] = true;
        }
    }
    return 0;
}

static int convert_after(topk_collector *t, shard_searcher *s, es_err *err);

static int topk_begin(search_collector *c, shard_searcher *s, uint32_t shard_index, es_err *err)
{
    topk_collector *t = c->ctx;
    t->cur = s;
    t->shard_index = shard_index;
    for (size_t i = 0; i < t->n_sorts; i++) {
        if (t->sorts[i].kind != SORT_FIELD) continue;
        const mfield *f = searcher_field(s, t->sorts[i].field);
        t->sfields[i] = f;
        if (!f && !t->sorts[i].unmapped_type) {
            shard_query_error(s, err, "No mapping found for [%s] in order to sort on", t->sorts[i].field);
            return -1;
        }
        if (f && (f->type == FT_TEXT || f->type == FT_MATCH_ONLY_TEXT)) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "Text fields are not optimised for operations that require per-document field data like "
                       "aggregations and sorting, so these operations are disabled by default. Please use a keyword "
                       "field instead. Alternatively, set fielddata=true on [%s] in order to load field data by "
                       "uninverting the inverted index. Note that this can use significant memory.",
                       t->sorts[i].field);
            return -1;
        }
        t->date_scale[i] = 0;
        if (f && t->sorts[i].numeric_type) {
            if (f->type == FT_DATE && !strcmp(t->sorts[i].numeric_type, "date_nanos")) t->date_scale[i] = 1;
            if (f->type == FT_DATE_NANOS && !strcmp(t->sorts[i].numeric_type, "date")) t->date_scale[i] = -1;
        }
        t->dvs[i] = f ? dv_open(s, t->sorts[i].field) : NULL;
        t->dv_kinds[i] = f ? index_dv_kind(f) : DV_NONE;
        if (!f && t->sorts[i].unmapped_type) {
            field_type ut = field_type_from_name(t->sorts[i].unmapped_type);
            mfield tmp;
            memset(&tmp, 0, sizeof tmp);
            tmp.type = ut;
            tmp.doc_values = true;
            t->dv_kinds[i] = index_dv_kind(&tmp);
        }
    }
    return convert_after(t, s, err);
}

/* search_after values as the current shard's fields read them (date strings parsed). */
static int convert_after(topk_collector *t, shard_searcher *s, es_err *err)
{
    if (!t->after || !t->n_sorts) return 0;
    if (!t->after_vals) t->after_vals = xcalloc(t->n_sorts, sizeof *t->after_vals);
    for (size_t i = 0; i < t->n_sorts; i++) {
        sort_value v = t->after->sort[i];
        const mfield *f = t->sfields[i];
        if (v.kind == SV_STR && f && (f->type == FT_DATE || f->type == FT_DATE_NANOS)) {
            date_format *own = NULL;
            const date_format *fmt = f->format;
            if (t->sorts[i].format) {
                es_err fe = { 0 };
                own = date_format_compile(t->sorts[i].format, &fe);
                es_err_free(&fe);
                if (own) fmt = own;
            }
            int64_t sec;
            int32_t nanos;
            bool ok = fmt && date_format_parse(fmt, v.s, v.slen, false, &sec, &nanos);
            if (!ok) {
                es_err_set(err, ES_PARSE, "failed to parse date field [%.*s] with format [%s]", (int)v.slen, v.s,
                           fmt ? date_format_spec(fmt) : DATE_FORMAT_DEFAULT);
                date_format_free(own);
                return -1;
            }
            date_format_free(own);
            bool as_nanos = t->sorts[i].numeric_type ? !strcmp(t->sorts[i].numeric_type, "date_nanos")
                                                     : f->type == FT_DATE_NANOS;
            v.kind = SV_LONG;
            v.l = as_nanos ? sec * 1000000000 + nanos : sec * 1000 + nanos / 1000000;
        } else if (v.kind == SV_STR && f && index_dv_kind(f) != DV_BYTES) {
            char *end;
            char *tmp = xstrndup(v.s, v.slen);
            double d = strtod(tmp, &end);
            bool num = *end == 0 && end != tmp;
            free(tmp);
            if (num) {
                if (index_dv_kind(f) == DV_DOUBLE) { v.kind = SV_DOUBLE; v.d = d; }
                else { v.kind = SV_LONG; v.l = (int64_t)d; }
            }
        }
        t->after_vals[i] = v;
    }
    return 0;
}

static int topk_end(search_collector *c, shard_searcher *s, es_err *err)
{
    topk_collector *t = c->ctx;
    for (size_t i = 0; i < t->n_sorts; i++) {
        dv_close(t->dvs[i]);
        t->dvs[i] = NULL;
    }
    return 0;
}

static int topk_collect(search_collector *c, uint64_t docnum, float score, es_err *err)
{
    topk_collector *t = c->ctx;
    if (t->track_total < 0 || t->total < (uint64_t)t->track_total) t->total++;
    else t->total = (uint64_t)t->track_total + 1; /* marks "more" */
    if (!isnan(score) && (isnan(t->max_score) || score > t->max_score)) t->max_score = score;
    if (t->k == 0) return 0;
    search_hit cand = { t->shard_index, docnum, score, t->cand_sort };
    if (t->n_sorts && doc_sort_values(t, docnum, score, t->cand_sort, t->cand_missing, err) < 0) return -1;
    if (t->after) {
        int cmp = 0;
        if (t->n_sorts) {
            for (size_t i = 0; i < t->n_sorts && !cmp; i++) {
                const sort_value *av = t->after_vals ? &t->after_vals[i] : &t->after->sort[i];
                bool am = av->kind == SV_NULL;
                sort_value conv = *av;
                /* compare like with like */
                if (!am && conv.kind != t->cand_sort[i].kind && !t->cand_missing[i]) {
                    if (conv.kind == SV_LONG && t->cand_sort[i].kind == SV_DOUBLE) { conv.kind = SV_DOUBLE; conv.d = (double)conv.l; }
                    else if (conv.kind == SV_DOUBLE && t->cand_sort[i].kind == SV_LONG) { conv.kind = SV_LONG; conv.l = (int64_t)conv.d; }
                    else if (conv.kind == SV_LONG && t->cand_sort[i].kind == SV_ULONG) conv.kind = SV_ULONG;
                }
                cmp = cmp_value(&t->sorts[i], &t->cand_sort[i], t->cand_missing[i], &conv, am);
            }
        } else if (score != t->after->score) {
            cmp = score > t->after->score ? -1 : 1;
        }
        if (cmp == 0 && t->after->shard_index != UINT32_MAX) {
            if (t->shard_index != t->after->shard_index) cmp = t->shard_index < t->after->shard_index ? -1 : 1;
            else cmp = (docnum > t->after->docnum) - (docnum < t->after->docnum);
        } else if (cmp == 0) {
            cmp = -1; /* equal values: skipped */
        }
        if (cmp <= 0) return 0;
    }
    if (t->n == t->k) {
        if (cmp_hits(t, &cand, t->cand_missing, &t->heap[0].h, t->heap[0].missing) >= 0) return 0;
        /* replace the worst */
        hit_ent *w = &t->heap[0];
        w->h.shard_index = cand.shard_index;
        w->h.docnum = docnum;
        w->h.score = score;
        for (size_t i = 0; i < t->n_sorts; i++) {
            w->h.sort[i] = t->cand_sort[i];
            w->missing[i] = t->cand_missing[i];
            if (w->h.sort[i].kind == SV_STR && w->h.sort[i].s)
                w->h.sort[i].s = arena_strndup(&t->mem, w->h.sort[i].s, w->h.sort[i].slen);
        }
        sift_down(t, 0);
        return 0;
    }
    hit_ent *e = &t->heap[t->n];
    e->h = cand;
    if (t->n_sorts) {
        e->h.sort = arena_alloc(&t->mem, t->n_sorts * sizeof *e->h.sort);
        e->missing = arena_alloc(&t->mem, t->n_sorts * sizeof *e->missing);
        for (size_t i = 0; i < t->n_sorts; i++) {
            e->h.sort[i] = t->cand_sort[i];
            e->missing[i] = t->cand_missing[i];
            if (e->h.sort[i].kind == SV_STR && e->h.sort[i].s)
                e->h.sort[i].s = arena_strndup(&t->mem, e->h.sort[i].s, e->h.sort[i].slen);
        }
    } else {
        e->h.sort = NULL;
        e->missing = NULL;
    }
    t->n++;
    sift_up(t, t->n - 1);
    return 0;
}

topk_collector *topk_new(size_t k, const sort_spec *sorts, size_t n_sorts, bool track_scores,
                         int64_t track_total_hits, const search_hit *after)
{
    topk_collector *t = xcalloc(1, sizeof *t);
    t->k = k;
    t->n_sorts = n_sorts;
    if (n_sorts) {
        t->sorts = xmalloc(n_sorts * sizeof *t->sorts);
        memcpy(t->sorts, sorts, n_sorts * sizeof *sorts);
        /* a lone score sort is the default order */
        t->dvs = xcalloc(n_sorts, sizeof *t->dvs);
        t->dv_kinds = xcalloc(n_sorts, sizeof *t->dv_kinds);
        t->date_scale = xcalloc(n_sorts, sizeof *t->date_scale);
        t->sfields = xcalloc(n_sorts, sizeof *t->sfields);
        t->cand_sort = xcalloc(n_sorts, sizeof *t->cand_sort);
        t->cand_missing = xcalloc(n_sorts, sizeof *t->cand_missing);
    }
    t->track_scores = track_scores;
    t->track_total = track_total_hits;
    t->after = after;
    t->heap = xcalloc(k ? k : 1, sizeof *t->heap);
    t->max_score = NAN;
    t->mem.chunk_size = 64 * 1024;
    bool scores = n_sorts == 0 || track_scores;
    for (size_t i = 0; i < n_sorts; i++)
        if (sorts[i].kind == SORT_SCORE) scores = true;
    t->base.needs_scores = scores;
    t->base.begin_shard = topk_begin;
    t->base.collect = topk_collect;
    t->base.end_shard = topk_end;
    t->base.ctx = t;
    return t;
}

search_collector *topk_collector_of(topk_collector *t) { return &t->base; }

static __thread topk_collector *sort_ctx;
static int cmp_ent(const void *a, const void *b)
{
    const hit_ent *x = a, *y = b;
    return cmp_hits(sort_ctx, &x->h, x->missing, &y->h, y->missing);
}

const search_hit *topk_hits(topk_collector *t, size_t *n)
{
    if (!t->out) {
        /* qsort needs the collector: a thread-local pointer keeps it reentrant */
        sort_ctx = t;
        qsort(t->heap, t->n, sizeof *t->heap, cmp_ent);
        t->out = xcalloc(t->n + 1, sizeof *t->out);
        for (size_t i = 0; i < t->n; i++) {
            t->out[i] = t->heap[i].h;
            /* missing values become Elasticsearch's substitutes */
            for (size_t k = 0; k < t->n_sorts; k++) {
                if (!t->heap[i].missing[k]) continue;
                sort_value *v = &t->out[i].sort[k];
                const sort_spec *sp = &t->sorts[k];
                bool high = sp->missing_first ? sp->desc : !sp->desc;
                if (v->kind == SV_LONG) v->l = high ? INT64_MAX : INT64_MIN;
                else if (v->kind == SV_ULONG) v->l = high ? -1 : 0;
                else if (v->kind == SV_DOUBLE) v->d = high ? INFINITY : -INFINITY;
                else v->kind = SV_NULL;
            }
        }
        t->n_out = t->n;
    }
    *n = t->n_out;
    return t->out;
}

uint64_t topk_total(const topk_collector *t, bool *gte)
{
    if (t->track_total >= 0 && t->total > (uint64_t)t->track_total) {
        *gte = true;
        return (uint64_t)t->track_total;
    }
    *gte = false;
    return t->total;
}

float topk_max_score(const topk_collector *t) { return t->max_score; }

void topk_free(topk_collector *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_sorts; i++) dv_close(t->dvs[i]);
    free(t->dvs);
    free(t->dv_kinds);
    free(t->date_scale);
    free(t->sfields);
    free(t->cand_sort);
    free(t->cand_missing);
    free(t->after_vals);
    free(t->sorts);
    free(t->heap);
    free(t->out);
    arena_free(&t->mem);
    free(t);
}

