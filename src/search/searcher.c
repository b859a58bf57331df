/*
 * searcher.c — shard searchers (a read snapshot + the index view), liveness,
 * statistics, the term dictionary, norms and doc values readers.
 */
#include "search/search_int.h"

#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Open / close                                                             */

int shard_searcher_open(store *st, index_view *v, uint32_t shard, shard_searcher **out, es_err *err)
{
    *out = NULL;
    shard_searcher *s = xcalloc(1, sizeof *s);
    s->st = st;
    s->shard = shard;
    s->live_block = UINT64_MAX;
    s->boost = 1.0f;
    if (index_tables_get(st, &s->tb, err) < 0) {
        free(s);
        return -1;
    }
    if (store_read_begin(v->si, shard, &s->txn, err) < 0) {
        free(s);
        return -1;
    }
    if (store_txn_counters(s->txn, &s->cnt, err) < 0) {
        store_read_end(s->txn);
        free(s);
        return -1;
    }
    s->view = index_view_ref(v);
    /* how liveness is decided (see search_int.h) */
    s->dels_block = UINT64_MAX;
    uint64_t removed = s->cnt.next_docnum > 0 ? s->cnt.next_docnum - 1 - s->cnt.doc_count : 0;
    s->live_mode = LIVE_ALL;
    if (removed) {
        store_blob cv;
        es_err ce = { 0 };
        uint64_t marked = 0;
        int g = store_kv_get(s->txn, s->tb.dels, "#", 1, &cv, &ce);
        if (g == 1 && !ix_varint_get(cv.p, (const uint8_t *)cv.p + cv.len, &marked)) marked = 0;
        es_err_free(&ce);
        s->live_mode = marked == removed ? LIVE_DELS : LIVE_DOCS;
    }
    es_err ae = { 0 };
    s->an = index_analysis_acquire(v->settings, v->uuid, v->meta->settings_version, &ae);
    if (!s->an) s->an = analysis_default();
    es_err_free(&ae);
    *out = s;
    return 0;
}

void shard_searcher_close(shard_searcher *s)
{
    if (!s) return;
    store_read_end(s->txn);
    index_view_release(s->view);
    index_analysis_release(s->an);
    es_err_free(&s->err);
    free(s);
}

index_view *shard_searcher_view(const shard_searcher *s) { return s->view; }
void shard_searcher_set_boost(shard_searcher *s, float boost) { s->boost = boost; }
void shard_searcher_set_filter(shard_searcher *s, const query *filter) { s->filter = filter; }
float shard_searcher_boost(const shard_searcher *s) { return s->boost; }
uint32_t shard_searcher_shard(const shard_searcher *s) { return s->shard; }
store_txn *shard_searcher_txn(const shard_searcher *s) { return s->txn; }
uint64_t shard_searcher_max_doc(const shard_searcher *s) { return s->cnt.next_docnum; }
uint64_t shard_searcher_num_docs(const shard_searcher *s) { return s->cnt.doc_count; }

const es_err *shard_searcher_error(const shard_searcher *s)
{
    return es_err_isset(&s->err) ? &s->err : NULL;
}

void shard_searcher_set_error(shard_searcher *s, es_err *err)
{
    if (!es_err_isset(&s->err)) {
        s->err = *err;
        memset(err, 0, sizeof *err);
    } else {
        es_err_free(err);
    }
}

void searcher_fail(shard_searcher *s, es_err *err)
{
    shard_searcher_set_error(s, err);
}

const struct analysis *shard_searcher_analysis(const shard_searcher *s)
{
    return s->an;
}

const mfield *searcher_field(shard_searcher *s, const char *path)
{
    return mapping_field(s->view->mapping, path);
}

/* ======================================================================== */
/* Liveness                                                                 */

static void live_load(shard_searcher *s, uint64_t block)
{
    memset(s->live_bits, 0, sizeof s->live_bits);
    uint64_t start = block << LIVE_SHIFT, end = start + (1u << LIVE_SHIFT);
    store_cursor *c = NULL;
    es_err e = { 0 };
    if (store_docs_open(s->txn, start ? start : 1, &c, &e) < 0) {
        searcher_fail(s, &e);
        return;
    }
    store_doc d;
    int rc;
    while ((rc = store_docs_next(c, &d, &e)) == 1) {
        if (d.docnum >= end) break;
        uint64_t off = d.docnum - start;
        s->live_bits[off >> 6] |= 1ull << (off & 63);
    }
    if (rc < 0) searcher_fail(s, &e);
    store_cursor_close(c);
    s->live_loaded = true;
}

bool shard_searcher_is_live(shard_searcher *s, uint64_t docnum)
{
    if (docnum == 0 || docnum >= s->cnt.next_docnum) return false;
    if (s->live_mode == LIVE_ALL) return true;
    if (s->live_mode == LIVE_DELS) {
        uint64_t block = docnum >> INDEX_DELS_BLOCK_SHIFT;
        if (block != s->dels_block) {
            s->dels_block = block;
            s->dels_bits = NULL;
            s->dels_len = 0;
            uint8_t key[8];
            for (int k = 7, x = 0; k >= 0; k--, x++) key[k] = (uint8_t)(block >> (8 * x));
            store_blob v;
            es_err e = { 0 };
            int rc = store_kv_get(s->txn, s->tb.dels, key, 8, &v, &e);
            if (rc < 0) {
                searcher_fail(s, &e);
                return false;
            }
            if (rc == 1) {
                s->dels_bits = v.p;
                s->dels_len = v.len;
            }
        }
        uint64_t off = docnum - (block << INDEX_DELS_BLOCK_SHIFT);
        return !((off >> 3) < s->dels_len && (s->dels_bits[off >> 3] >> (off & 7)) & 1);
    }
    uint64_t block = docnum >> LIVE_SHIFT;
    if (block != s->live_block) {
        s->live_block = block;
        s->live_loaded = false;
        s->live_probes = 0;
    }
    if (!s->live_loaded) {
        if (s->live_probes < 16) {
            s->live_probes++;
            store_doc d;
            es_err e = { 0 };
            int rc = store_doc_get_num(s->txn, docnum, &d, &e);
            if (rc < 0) {
                searcher_fail(s, &e);
                return false;
            }
            return rc == 1;
        }
        live_load(s, block);
    }
    uint64_t off = docnum - (block << LIVE_SHIFT);
    return (s->live_bits[off >> 6] >> (off & 63)) & 1;
}

int shard_searcher_doc(shard_searcher *s, uint64_t docnum, store_doc *doc, es_err *err)
{
    return store_doc_get_num(s->txn, docnum, doc, err);
}

/* ======================================================================== */
/* Statistics and the term dictionary                                       */

int shard_field_stats(shard_searcher *s, const char *field, field_stats *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    store_blob v;
    int rc = store_kv_get(s->txn, s->tb.fields, field, strlen(field), &v, err);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
    index_field_stats fs;
    if (index_field_stats_decode(v.p, v.len, &fs) < 0)
        return es_err_set(err, ES_ILLEGAL_STATE, "corrupt index: field stats of [%s]", field);
    out->doc_count = fs.doc_count;
    out->sum_ttf = fs.sum_ttf;
    out->sum_df = fs.sum_df;
    return 0;
}

int shard_term_stats(shard_searcher *s, const char *field, const void *term, size_t len, term_stats *out,
                     es_err *err)
{
    memset(out, 0, sizeof *out);
    uint8_t key[INDEX_KEY_MAX];
    size_t klen = index_key_term(key, field, term, len);
    store_blob v;
    int rc = store_kv_get(s->txn, s->tb.terms, key, klen, &v, err);
    if (rc <= 0) return rc;
    term_entry te;
    if (term_entry_decode(v.p, v.len, &te) < 0)
        return es_err_set(err, ES_ILLEGAL_STATE, "corrupt index: term entry in [%s]", field);
    out->doc_freq = te.doc_freq;
    out->total_term_freq = te.total_term_freq;
    return 1;
}

int terms_visit_entries(shard_searcher *s, const char *field, const void *lo, size_t lo_len, bool lo_excl,
                        const void *hi, size_t hi_len, bool hi_excl, const void *prefix, size_t prefix_len,
                        term_entry_fn fn, void *ctx, es_err *err)
{
    size_t flen = strlen(field);
    uint8_t kpre[INDEX_KEY_MAX], klo[INDEX_KEY_MAX], khi[INDEX_KEY_MAX + 1];
    size_t npre = index_key_term(kpre, field, prefix, prefix ? prefix_len : 0);
    store_range r = { 0 };
    r.prefix = (store_blob){ kpre, npre };
    if (lo) {
        size_t n = index_key_term(klo, field, lo, lo_len);
        r.lo = (store_blob){ klo, n };
    }
    if (hi) {
        size_t n = index_key_term(khi, field, hi, hi_len);
        if (!hi_excl) khi[n++] = 0; /* the smallest key after hi */
        r.hi = (store_blob){ khi, n };
    }
    store_cursor *c;
    if (store_cursor_open(s->txn, s->tb.terms, &r, &c, err) < 0) return -1;
    store_blob k, v;
    int rc;
    while ((rc = store_cursor_next(c, &k, &v, err)) == 1) {
        size_t tlen;
        const uint8_t *t = index_key_term_part(k.p, k.len, flen, &tlen);
        if (lo && lo_excl && tlen == lo_len && !memcmp(t, lo, lo_len)) continue;
        term_entry te;
        if (term_entry_decode(v.p, v.len, &te) < 0) {
            rc = es_err_set(err, ES_ILLEGAL_STATE, "corrupt index: term entry in [%s]", field);
            break;
        }
        int f = fn(ctx, t, tlen, &te, err);
        if (f < 0) { rc = -1; break; }
        if (f > 0) { rc = 0; break; }
    }
    store_cursor_close(c);
    return rc < 0 ? -1 : 0;
}

typedef struct stats_visit {
    term_visit_fn fn;
    void *ctx;
} stats_visit;

static int stats_visit_cb(void *c, const void *term, size_t len, const term_entry *te, es_err *err)
{
    stats_visit *sv = c;
    term_stats ts = { te->doc_freq, te->total_term_freq };
    return sv->fn(sv->ctx, term, len, &ts, err);
}

int shard_terms_visit(shard_searcher *s, const char *field, const void *lo, size_t lo_len, bool lo_excl,
                      const void *hi, size_t hi_len, bool hi_excl, const void *prefix, size_t prefix_len,
                      term_visit_fn fn, void *ctx, es_err *err)
{
    stats_visit sv = { fn, ctx };
    return terms_visit_entries(s, field, lo, lo_len, lo_excl, hi, hi_len, hi_excl, prefix, prefix_len,
                               stats_visit_cb, &sv, err);
}

int docset_add_term(docset *d, shard_searcher *s, const char *field, const void *term, size_t len,
                    const term_entry *te, es_err *err)
{
    if (te && te->doc_freq < POSTINGS_BLOCK_MAX) {
        /* everything is in the tail block: no second lookup, no iterator */
        if (!te->tail_len) return 0;
        postings_block pb;
        if (postings_block_decode(te->tail, te->tail_len, &pb) < 0)
            return es_err_set(err, ES_ILLEGAL_STATE, "corrupt index: postings of [%s]", field);
        for (uint32_t i = 0; i < pb.n; i++) docset_add(d, pb.docs[i]);
        return 0;
    }
    postings_opts po = { false, false, 1.0f };
    doc_iter *it = postings_iter(s, field, term, len, &po, err);
    if (!it) return -1;
    docset_add_iter(d, it);
    doc_iter_free(it);
    return 0;
}

/* ======================================================================== */
/* Norms                                                                    */

void norms_open(norms_reader *r, shard_searcher *s, const char *field, bool has_norms)
{
    memset(r, 0, sizeof *r);
    r->s = s;
    r->field = xstrdup(field);
    r->has_norms = has_norms;
    r->block = UINT64_MAX;
}

uint8_t norms_get(norms_reader *r, uint64_t docnum)
{
    if (!r->has_norms) return 1;
    uint64_t block = docnum >> INDEX_NORMS_BLOCK_SHIFT;
    if (block != r->block) {
        r->block = block;
        r->bytes = NULL;
        r->len = 0;
        uint8_t key[INDEX_KEY_MAX];
        size_t klen = index_key_block(key, r->field, block);
        store_blob v;
        es_err e = { 0 };
        int rc = store_kv_get(r->s->txn, r->s->tb.norms, key, klen, &v, &e);
        if (rc < 0) searcher_fail(r->s, &e);
        if (rc == 1) {
            r->bytes = v.p;
            r->len = v.len;
        }
    }
    uint64_t off = docnum & ((1u << INDEX_NORMS_BLOCK_SHIFT) - 1);
    return off < r->len ? r->bytes[off] : 0;
}

void norms_close(norms_reader *r)
{
    free(r->field);
    r->field = NULL;
}

/* ======================================================================== */
/* Doc values                                                               */

struct dv_reader {
    shard_searcher *s;
    const mfield *f;
    char *field;
    int kind;
    uint64_t block;
    const uint8_t *ent[1u << INDEX_DV_BLOCK_SHIFT];
    const uint8_t *ent_end[1u << INDEX_DV_BLOCK_SHIFT];
    uint32_t cnt[1u << INDEX_DV_BLOCK_SHIFT];
    int64_t *l;
    double *d;
    strv *sv;
    size_t cap;
};

dv_reader *dv_open(shard_searcher *s, const char *field)
{
    const mfield *f = searcher_field(s, field);
    int kind = index_dv_kind(f);
    if (kind == IDV_NONE) return NULL;
    dv_reader *r = xcalloc(1, sizeof *r);
    r->s = s;
    r->f = f;
    r->field = xstrdup(field);
    r->kind = kind;
    r->block = UINT64_MAX;
    return r;
}

dv_kind dv_reader_kind(const dv_reader *r) { return (dv_kind)r->kind; }
const mfield *dv_reader_field(const dv_reader *r) { return r->f; }

void dv_close(dv_reader *r)
{
    if (!r) return;
    free(r->field);
    free(r->l);
    free(r->d);
    free(r->sv);
    free(r);
}

static int dv_load(dv_reader *r, uint64_t block, es_err *err)
{
    r->block = block;
    memset(r->ent, 0, sizeof r->ent);
    uint8_t key[INDEX_KEY_MAX];
    size_t klen = index_key_block(key, r->field, block);
    store_blob v;
    int rc = store_kv_get(r->s->txn, r->s->tb.dv, key, klen, &v, err);
    if (rc <= 0) return rc;
    dv_block_iter it = { v.p, (const uint8_t *)v.p + v.len, r->kind };
    uint32_t off, cnt;
    const uint8_t *vals, *vend;
    while ((rc = dv_block_next(&it, &off, &cnt, &vals, &vend)) == 1) {
        r->ent[off] = vals;
        r->ent_end[off] = vend;
        r->cnt[off] = cnt;
    }
    if (rc < 0) return es_err_set(err, ES_ILLEGAL_STATE, "corrupt index: doc values of [%s]", r->field);
    return 1;
}

int dv_read(dv_reader *r, uint64_t docnum, dv_values *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    uint64_t block = docnum >> INDEX_DV_BLOCK_SHIFT;
    if (block != r->block && dv_load(r, block, err) < 0) {
        es_err copy = { 0 };
        es_err_set(&copy, err->type, "%s", err->reason);
        searcher_fail(r->s, &copy);
        r->block = UINT64_MAX;
        return -1;
    }
    uint32_t off = (uint32_t)(docnum & ((1u << INDEX_DV_BLOCK_SHIFT) - 1));
    const uint8_t *p = r->ent[off];
    if (!p) return 0;
    uint32_t n = r->cnt[off];
    const uint8_t *end = r->ent_end[off];
    if (n > r->cap) {
        r->cap = n;
        r->l = xrealloc(r->l, n * sizeof *r->l);
        r->d = xrealloc(r->d, n * sizeof *r->d);
        r->sv = xrealloc(r->sv, n * sizeof *r->sv);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v = 0;
        switch (r->kind) {
        case IDV_LONG:
            p = ix_varint_get(p, end, &v);
            r->l[i] = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            break;
        case IDV_ULONG:
            p = ix_varint_get(p, end, &v);
            r->l[i] = (int64_t)v;
            break;
        case IDV_DOUBLE:
            memcpy(&r->d[i], p, 8);
            p += 8;
            break;
        case IDV_BYTES:
            p = ix_varint_get(p, end, &v);
            r->sv[i] = (strv){ (const char *)p, (size_t)v };
            p += v;
            break;
        }
        if (!p) return es_err_set(err, ES_ILLEGAL_STATE, "corrupt index: doc values of [%s]", r->field);
    }
    out->n = n;
    if (r->kind == IDV_LONG || r->kind == IDV_ULONG) out->l = r->l;
    else if (r->kind == IDV_DOUBLE) out->d = r->d;
    else out->s = r->sv;
    return 1;
}

/* ======================================================================== */
/* Doc sets                                                                 */

void docset_init(docset *d, uint64_t max_doc)
{
    d->max_doc = max_doc;
    d->count = 0;
    d->bits = xcalloc((max_doc + 63) / 64 + 1, sizeof *d->bits);
}

void docset_add_iter(docset *d, doc_iter *it)
{
    for (uint64_t doc = doc_iter_next(it); doc != DOC_NO_MORE; doc = doc_iter_next(it)) docset_add(d, doc);
}

void docset_free(docset *d)
{
    free(d->bits);
    d->bits = NULL;
}

typedef struct bits_iter {
    doc_iter base;
    uint64_t *bits;
    uint64_t max_doc;
    uint64_t count;
    float score;
} bits_iter;

static uint64_t bits_advance(doc_iter *it, uint64_t target)
{
    bits_iter *b = (bits_iter *)it;
    if (target >= b->max_doc) return it->doc = DOC_NO_MORE;
    uint64_t w = target >> 6;
    uint64_t word = b->bits[w] & (~0ull << (target & 63));
    uint64_t nwords = (b->max_doc + 63) / 64;
    while (!word) {
        if (++w >= nwords) return it->doc = DOC_NO_MORE;
        word = b->bits[w];
    }
    uint64_t doc = (w << 6) + (uint64_t)__builtin_ctzll(word);
    return it->doc = doc < b->max_doc ? doc : DOC_NO_MORE;
}

static uint64_t bits_next(doc_iter *it)
{
    return it->doc == DOC_NO_MORE ? DOC_NO_MORE : bits_advance(it, it->doc + 1);
}

static float bits_score(doc_iter *it) { return ((bits_iter *)it)->score; }
static uint64_t bits_cost(doc_iter *it) { return ((bits_iter *)it)->count; }
static void bits_free(doc_iter *it)
{
    free(((bits_iter *)it)->bits);
    free(it);
}

static const doc_iter_ops bits_ops = { bits_next, bits_advance, bits_score, bits_cost, bits_free };

doc_iter *docset_iter(docset *d, float score)
{
    if (!d->count) {
        docset_free(d);
        return doc_iter_empty();
    }
    bits_iter *b = xcalloc(1, sizeof *b);
    b->base.ops = &bits_ops;
    b->bits = d->bits;
    b->max_doc = d->max_doc;
    b->count = d->count;
    b->score = score;
    d->bits = NULL;
    return &b->base;
}
