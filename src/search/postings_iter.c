/*
 * postings_iter.c — reading one term's postings (sealed blocks from ix.post in
 * key order, then the tail block of its ix.terms entry) and scoring them with
 * Lucene 9's BM25.
 */
#include "search/search_int.h"

#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* BM25                                                                     */

float bm25_idf(uint64_t doc_freq, uint64_t doc_count)
{
    return (float)log(1.0 + ((double)doc_count - (double)doc_freq + 0.5) / ((double)doc_freq + 0.5));
}

void bm25_weight_init(bm25_weight *w, float boost, float idf, const field_stats *fs)
{
    float avgdl = fs->doc_count ? (float)((double)fs->sum_ttf / (double)fs->doc_count) : 1.0f;
    /* Elasticsearch's LegacyBM25Similarity: Lucene's BM25 scorer with the
     * boost multiplied by (k1 + 1), which keeps the classic numerator. */
    w->weight = (boost * (1 + BM25_K1)) * idf;
    for (int i = 0; i < 256; i++) {
        float len = (float)index_norm_decode((uint8_t)i);
        w->cache[i] = 1.0f / (BM25_K1 * ((1 - BM25_B) + BM25_B * len / avgdl));
    }
}

/* ======================================================================== */
/* The postings iterator                                                    */

typedef struct piter {
    doc_iter base;
    shard_searcher *s;
    store_cursor *cur;        /* sealed blocks; NULL when none or done */
    size_t post_klen;         /* the exact key length of this term's sealed blocks */
    const uint8_t *tail;      /* the tail block (consumed after the cursor) */
    size_t tail_len;
    /* the next raw block (lookahead) */
    bool has_next;
    const uint8_t *next_p;
    size_t next_len;
    uint64_t next_first;
    /* the current decoded block */
    bool blk_valid;
    postings_block blk;
    uint32_t i;
    /* positions */
    bool want_pos;
    uint32_t *posv;
    uint32_t posn, poscap;
    uint32_t pos_for;         /* block index whose positions posv holds (UINT32_MAX none) */
    /* scoring */
    bool scores;
    bm25_weight w;
    norms_reader nr;
    uint64_t cost;
} piter;

static void fetch_next(piter *p)
{
    p->has_next = false;
    if (p->cur) {
        store_blob k, v;
        es_err e = { 0 };
        int rc;
        while ((rc = store_cursor_next(p->cur, &k, &v, &e)) == 1) {
            if (k.len != p->post_klen) continue; /* another term sharing the prefix */
            const uint8_t *kb = (const uint8_t *)k.p + k.len - 8;
            uint64_t first = 0;
            for (int i = 0; i < 8; i++) first = first << 8 | kb[i];
            p->next_p = v.p;
            p->next_len = v.len;
            p->next_first = first;
            p->has_next = true;
            return;
        }
        if (rc < 0) searcher_fail(p->s, &e);
        store_cursor_close(p->cur);
        p->cur = NULL;
    }
    if (p->tail) {
        const uint8_t *q = p->tail, *end = p->tail + p->tail_len;
        uint64_t n, first;
        if (p->tail_len > 1 && (q = ix_varint_get(q + 1, end, &n)) && ix_varint_get(q, end, &first)) {
            p->next_p = p->tail;
            p->next_len = p->tail_len;
            p->next_first = first;
            p->has_next = true;
        }
        p->tail = NULL;
    }
}

static uint64_t p_advance(doc_iter *it, uint64_t t)
{
    piter *p = (piter *)it;
    if (t == DOC_NO_MORE) return it->doc = DOC_NO_MORE;
    for (;;) {
        if (p->blk_valid) {
            if (p->blk.docs[p->blk.n - 1] >= t) {
                while (p->blk.docs[p->i] < t) p->i++;
                return it->doc = p->blk.docs[p->i];
            }
        }
        if (!p->has_next) {
            p->blk_valid = false;
            return it->doc = DOC_NO_MORE;
        }
        const uint8_t *bp = p->next_p;
        size_t bl = p->next_len;
        fetch_next(p);
        while (p->has_next && p->next_first <= t) {
            bp = p->next_p;
            bl = p->next_len;
            fetch_next(p);
        }
        if (postings_block_decode(bp, bl, &p->blk) < 0) {
            es_err e = { 0 };
            es_err_set(&e, ES_ILLEGAL_STATE, "corrupt index: postings block");
            searcher_fail(p->s, &e);
            p->blk_valid = false;
            p->has_next = false;
            return it->doc = DOC_NO_MORE;
        }
        p->blk_valid = true;
        p->i = 0;
        p->pos_for = UINT32_MAX;
    }
}

static uint64_t p_next(doc_iter *it)
{
    piter *p = (piter *)it;
    if (it->doc == DOC_NO_MORE) return DOC_NO_MORE;
    if (p->blk_valid && p->i + 1 < p->blk.n && it->doc != 0) {
        p->i++;
        return it->doc = p->blk.docs[p->i];
    }
    return p_advance(it, it->doc + 1);
}

static float p_score(doc_iter *it)
{
    piter *p = (piter *)it;
    if (!p->scores) return 0;
    return bm25_score(&p->w, (float)p->blk.freqs[p->i], norms_get(&p->nr, it->doc));
}

static uint64_t p_cost(doc_iter *it) { return ((piter *)it)->cost; }

static void p_free(doc_iter *it)
{
    piter *p = (piter *)it;
    store_cursor_close(p->cur);
    norms_close(&p->nr);
    free(p->posv);
    free(p);
}

static const doc_iter_ops p_ops = { p_next, p_advance, p_score, p_cost, p_free };

uint32_t postings_freq(doc_iter *it)
{
    piter *p = (piter *)it;
    return p->blk_valid ? p->blk.freqs[p->i] : 0;
}

const uint32_t *postings_positions(doc_iter *it, uint32_t *n)
{
    piter *p = (piter *)it;
    *n = 0;
    if (!p->blk_valid || !(p->blk.flags & PB_POSITIONS)) return NULL;
    if (p->pos_for == p->i) {
        *n = p->posn;
        return p->posv;
    }
    uint32_t f = p->blk.freqs[p->i];
    if (f > p->poscap) {
        p->poscap = f;
        p->posv = xrealloc(p->posv, f * sizeof *p->posv);
    }
    const uint8_t *q = p->blk.pos[p->i], *end = q + p->blk.pos_len[p->i];
    uint32_t acc = 0;
    for (uint32_t k = 0; k < f; k++) {
        uint64_t v;
        if (!(q = ix_varint_get(q, end, &v))) return NULL;
        acc += (uint32_t)v;
        p->posv[k] = acc;
    }
    p->pos_for = p->i;
    p->posn = f;
    *n = f;
    return p->posv;
}

static bool field_has_norms(const mfield *f)
{
    return f && f->norms && (f->type == FT_TEXT || f->type == FT_KEYWORD);
}

doc_iter *postings_iter(shard_searcher *s, const char *field, const void *term, size_t len,
                        const postings_opts *opts, es_err *err)
{
    uint8_t key[INDEX_KEY_MAX];
    size_t klen = index_key_term(key, field, term, len);
    store_blob v;
    int rc = store_kv_get(s->txn, s->tb.terms, key, klen, &v, err);
    if (rc < 0) return NULL;
    if (rc == 0) return doc_iter_empty();
    term_entry te;
    if (term_entry_decode(v.p, v.len, &te) < 0) {
        es_err_set(err, ES_ILLEGAL_STATE, "corrupt index: term entry in [%s]", field);
        return NULL;
    }
    if (te.doc_freq == 0) return doc_iter_empty();
    piter *p = xcalloc(1, sizeof *p);
    p->base.ops = &p_ops;
    p->s = s;
    p->cost = te.doc_freq;
    p->tail = te.tail_len ? te.tail : NULL;
    p->tail_len = te.tail_len;
    p->want_pos = opts && opts->positions;
    p->pos_for = UINT32_MAX;
    if (te.doc_freq >= POSTINGS_BLOCK_MAX) {
        uint8_t pkey[INDEX_KEY_MAX];
        size_t pk = index_key_post(pkey, field, term, len, 0);
        p->post_klen = pk;
        store_range r = { 0 };
        r.prefix = (store_blob){ pkey, pk - 8 };
        if (store_cursor_open(s->txn, s->tb.post, &r, &p->cur, err) < 0) {
            free(p);
            return NULL;
        }
    }
    if (opts && opts->scores) {
        field_stats fs;
        if (shard_field_stats(s, field, &fs, err) < 0) {
            store_cursor_close(p->cur);
            free(p);
            return NULL;
        }
        p->scores = true;
        bm25_weight_init(&p->w, opts->boost, bm25_idf(te.doc_freq, fs.doc_count), &fs);
        norms_open(&p->nr, s, field, field_has_norms(searcher_field(s, field)));
    } else {
        norms_open(&p->nr, s, field, false);
    }
    fetch_next(p);
    return &p->base;
}

bool search_field_has_norms(const mfield *f) { return field_has_norms(f); }
