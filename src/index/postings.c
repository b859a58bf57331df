/*
 * postings.c — the index writer: documents analysed into per-document
 * buffers (index_doc_build, outside any lock), then a batch written into the
 * shard's write transaction (index_writer_*): term entries with their tail
 * blocks, sealed postings blocks, norms, doc values and field statistics.
 * Formats: docs/SEARCH.md and postings_codec.c.
 */
#include "index/index.h"
#include "store/store.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Tables                                                                   */

int index_tables_get(store *st, index_tables *out, es_err *err)
{
    static const char *const names[] = { "ix.fields", "ix.terms", "ix.post", "ix.norms", "ix.dv", "ix.dels" };
    store_table ids[6];
    for (size_t i = 0; i < 6; i++)
        if (store_table_register(st, names[i], &ids[i], err) < 0) return -1;
    out->fields = ids[0];
    out->terms = ids[1];
    out->post = ids[2];
    out->norms = ids[3];
    out->dv = ids[4];
    out->dels = ids[5];
    return 0;
}

/* ======================================================================== */
/* Per-document buffers                                                     */

typedef struct doc_term {
    const char *field;
    uint32_t flen;
    uint32_t tlen;
    const uint8_t *term;
    uint32_t freq;
    uint8_t flags;          /* PB_FREQS | PB_POSITIONS */
    const uint32_t *pos;    /* freq positions, ascending (PB_POSITIONS) */
    uint64_t thash;         /* bytes_hash of the term (in-memory grouping only) */
} doc_term;

/* A hash of n bytes, 8 at a time (in-memory tables only, never stored). */
static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    while (n >= 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        h = (h ^ x) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x |= (uint64_t)p[i] << (8 * i);
    h = (h ^ x) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static inline uint64_t mix_id(uint64_t h, uint32_t id)
{
    h ^= (uint64_t)(id + 1) * 0x9E3779B97F4A7C15ull;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 31);
}

typedef struct doc_field {
    const char *field;
    uint64_t ttf;           /* sum of the term freqs (docs-only fields: distinct terms) */
    uint32_t distinct;
    uint8_t norm;           /* 0: none */
} doc_field;

typedef struct doc_dv {
    const char *field;
    int kind;
    const uint8_t *bytes;   /* the encoded entry values (count values, dv block format) */
    uint32_t len;
    uint32_t count;
} doc_dv;

struct index_doc {
    arena mem;
    doc_term *terms;
    size_t n_terms;
    doc_field *fields;
    size_t n_fields;
    doc_dv *dvs;
    size_t n_dvs;
};

void index_doc_free(index_doc *d)
{
    if (!d) return;
    arena_free(&d->mem);
    free(d);
}

/* One token of the document before grouping. */
typedef struct raw_tok {
    uint32_t path;          /* index into the path table */
    uint32_t len;
    const uint8_t *term;
    uint32_t position;
} raw_tok;

typedef struct path_state {
    const char *path;
    const mfield *field;
    uint8_t flags;
    bool has_norms;
    bool seen_text;
    uint32_t next_pos;      /* text: where the next value's tokens start */
    uint32_t ntok, noverlap;
    int dv_kind;
    /* doc values gathered for this path */
    int64_t *dl;
    double *dd;
    strv *ds;
    size_t ndv, capdv;
} path_state;

typedef struct build_ctx {
    arena *mem;
    path_state *paths;
    size_t n_paths, cap_paths;
    raw_tok *toks;
    size_t n_toks, cap_toks;
} build_ctx;

static uint32_t path_index(build_ctx *b, const index_field_value *v)
{
    for (size_t i = b->n_paths; i-- > 0;)
        if (b->paths[i].field == v->field && !strcmp(b->paths[i].path, v->path)) return (uint32_t)i;
    if (b->n_paths == b->cap_paths) {
        b->cap_paths = b->cap_paths ? b->cap_paths * 2 : 16;
        b->paths = xrealloc(b->paths, b->cap_paths * sizeof *b->paths);
    }
    path_state *p = &b->paths[b->n_paths];
    memset(p, 0, sizeof *p);
    p->path = arena_strndup(b->mem, v->path, strlen(v->path));
    p->field = v->field;
    bool text = v->type == FT_TEXT;
    p->flags = text ? (PB_FREQS | PB_POSITIONS) : 0;
    p->has_norms = v->field && v->field->norms && (text || v->type == FT_KEYWORD);
    p->dv_kind = index_dv_kind(v->field);
    return (uint32_t)b->n_paths++;
}

static void tok_add(build_ctx *b, uint32_t path, const uint8_t *term, size_t len, uint32_t pos)
{
    if (b->n_toks == b->cap_toks) {
        b->cap_toks = b->cap_toks ? b->cap_toks * 2 : 256;
        b->toks = xrealloc(b->toks, b->cap_toks * sizeof *b->toks);
    }
    b->toks[b->n_toks++] = (raw_tok){ path, (uint32_t)len, term, pos };
}

static void dv_add(path_state *p, const index_field_value *v)
{
    if (p->ndv == p->capdv) {
        p->capdv = p->capdv ? p->capdv * 2 : 4;
        if (p->dv_kind == IDV_DOUBLE) p->dd = xrealloc(p->dd, p->capdv * sizeof *p->dd);
        else if (p->dv_kind == IDV_BYTES) p->ds = xrealloc(p->ds, p->capdv * sizeof *p->ds);
        else p->dl = xrealloc(p->dl, p->capdv * sizeof *p->dl);
    }
    switch (p->dv_kind) {
    case IDV_LONG:
    case IDV_ULONG:
        if (v->kind == IFV_BOOL) p->dl[p->ndv++] = v->v.b;
        else if (v->type == FT_SCALED_FLOAT) p->dl[p->ndv++] = v->scaled;
        else if (v->kind == IFV_DOUBLE) p->dl[p->ndv++] = (int64_t)v->v.d;
        else p->dl[p->ndv++] = v->v.l;
        break;
    case IDV_DOUBLE: {
        double d = v->kind == IFV_DOUBLE ? v->v.d : (double)v->v.l;
        if (v->type == FT_FLOAT) d = (float)d;
        else if (v->type == FT_HALF_FLOAT) d = (float)(_Float16)(float)d;
        p->dd[p->ndv++] = d;
        break;
    }
    case IDV_BYTES:
        if (v->kind == IFV_IP) p->ds[p->ndv++] = (strv){ (const char *)v->v.ip, 16 };
        else if (v->kind == IFV_STRING) p->ds[p->ndv++] = (strv){ v->str, v->str_len };
        break;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static int cmp_strv(const void *a, const void *b)
{
    const strv *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->p, y->p, n) : 0;
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Encodes the sorted doc values of one path into the arena (dv block value format). */
static void dv_encode(arena *mem, path_state *p, doc_dv *out)
{
    size_t n = p->ndv;
    switch (p->dv_kind) {
    case IDV_LONG: qsort(p->dl, n, sizeof *p->dl, cmp_i64); break;
    case IDV_ULONG: qsort(p->dl, n, sizeof *p->dl, cmp_u64); break;
    case IDV_DOUBLE: qsort(p->dd, n, sizeof *p->dd, cmp_dbl); break;
    case IDV_BYTES: {
        qsort(p->ds, n, sizeof *p->ds, cmp_strv);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!m || cmp_strv(&p->ds[m - 1], &p->ds[i])) p->ds[m++] = p->ds[i];
        n = m;
        break;
    }
    }
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) cap += p->dv_kind == IDV_BYTES ? p->ds[i].len + 10 : 10;
    uint8_t *q = arena_alloc(mem, cap + 1), *s = q;
    for (size_t i = 0; i < n; i++) {
        switch (p->dv_kind) {
        case IDV_LONG: {
            int64_t x = p->dl[i];
            q += ix_varint_put(q, ((uint64_t)x << 1) ^ (uint64_t)(x >> 63));
            break;
        }
        case IDV_ULONG:
            q += ix_varint_put(q, (uint64_t)p->dl[i]);
            break;
        case IDV_DOUBLE:
            memcpy(q, &p->dd[i], 8); /* little-endian hosts only (x86-64, arm64) */
            q += 8;
            break;
        case IDV_BYTES:
            q += ix_varint_put(q, p->ds[i].len);
            memcpy(q, p->ds[i].p, p->ds[i].len);
            q += p->ds[i].len;
            break;
        }
    }
    out->field = p->path;
    out->kind = p->dv_kind;
    out->bytes = s;
    out->len = (uint32_t)(q - s);
    out->count = (uint32_t)n;
}

static bool type_indexed_as_terms(field_type t)
{
    switch (t) {
    case FT_OBJECT: case FT_NESTED: case FT_BINARY: case FT_GEO_POINT:
        return false;
    default:
        return true;
    }
}

index_doc *index_doc_build(const struct analysis *an, const parsed_doc *pd, es_err *err)
{
    index_doc *d = xcalloc(1, sizeof *d);
    d->mem.chunk_size = 64 * 1024;
    build_ctx b = { .mem = &d->mem };
    int rc = 0;

    for (size_t i = 0; i < pd->n_values && rc == 0; i++) {
        const index_field_value *v = &pd->values[i];
        if (!type_indexed_as_terms(v->type)) continue;
        bool want_terms = v->indexed && v->field && v->field->index;
        bool want_dv = v->doc_values;
        if (!want_terms && !want_dv) continue;
        uint32_t pi = path_index(&b, v);
        path_state *p = &b.paths[pi];
        if (want_dv && p->dv_kind != IDV_NONE) dv_add(p, v);
        if (!want_terms) continue;
        if (v->type == FT_TEXT || v->type == FT_MATCH_ONLY_TEXT) {
            uint32_t base = p->seen_text ? p->next_pos + index_analyze_gap(an, v->field) : 0;
            index_token *toks;
            size_t nt;
            uint32_t end_pos = base;
            if (index_analyze(an, v->field, false, v->str, v->str_len, base, &d->mem, &toks, &nt, &end_pos,
                              err) < 0) {
                rc = -1;
                break;
            }
            p = &b.paths[pi];
            for (size_t k = 0; k < nt; k++) {
                if (k > 0 && toks[k].position == toks[k - 1].position) p->noverlap++;
                p->ntok++;
                tok_add(&b, pi, (const uint8_t *)toks[k].term, toks[k].len, toks[k].position);
            }
            /* Lucene adds the gap only between values of a field already seen. */
            p->next_pos = end_pos;
            p->seen_text = true;
        } else if (v->kind == IFV_STRING && (v->type == FT_KEYWORD || v->type == FT_WILDCARD)) {
            index_token *toks;
            size_t nt;
            if (index_analyze(an, v->field, false, v->str, v->str_len, 0, &d->mem, &toks, &nt, NULL, err) < 0) {
                rc = -1;
                break;
            }
            p = &b.paths[pi];
            for (size_t k = 0; k < nt; k++) {
                uint8_t *c = arena_alloc(&d->mem, toks[k].len ? toks[k].len : 1);
                if (toks[k].len) memcpy(c, toks[k].term, toks[k].len);
                p->ntok++;
                tok_add(&b, pi, c, toks[k].len, 0);
            }
        } else {
            uint8_t tmp[INDEX_TERM_MAX];
            const uint8_t *t;
            size_t tl = index_term_encode(v, tmp, &t);
            uint8_t *c = arena_alloc(&d->mem, tl ? tl : 1);
            if (tl) memcpy(c, t, tl);
            t = c;
            p->ntok++;
            tok_add(&b, pi, t, tl, 0);
        }
    }

    if (rc == 0) {
        /* Group tokens by (path, term) with a hash table: one doc_term each, positions in
         * production order (ascending: values are analysed in order, each after the last). */
        size_t cap = 16;
        while (cap < b.n_toks * 2) cap <<= 1;
        uint32_t *slots = xmalloc(cap * sizeof *slots);
        memset(slots, 0xff, cap * sizeof *slots);
        uint32_t *gid = xmalloc((b.n_toks ? b.n_toks : 1) * sizeof *gid);
        uint32_t *first = xmalloc((b.n_toks ? b.n_toks : 1) * sizeof *first); /* a token of each group */
        uint32_t *cnt = xcalloc(b.n_toks ? b.n_toks : 1, sizeof *cnt);
        uint64_t *ghash = xmalloc((b.n_toks ? b.n_toks : 1) * sizeof *ghash); /* term hash of each group */
        size_t nterms = 0;
        for (size_t i = 0; i < b.n_toks; i++) {
            const raw_tok *t = &b.toks[i];
            uint64_t th = bytes_hash(t->term, t->len);
            uint64_t h = mix_id(th, t->path);
            size_t sl = (size_t)h & (cap - 1);
            for (;;) {
                uint32_t g = slots[sl];
                if (g == UINT32_MAX) {
                    g = (uint32_t)nterms++;
                    slots[sl] = g;
                    first[g] = (uint32_t)i;
                    ghash[g] = th;
                    break;
                }
                const raw_tok *o = &b.toks[first[g]];
                if (o->path == t->path && o->len == t->len && (!t->len || !memcmp(o->term, t->term, t->len))) break;
                sl = (sl + 1) & (cap - 1);
            }
            gid[i] = slots[sl];
            cnt[gid[i]]++;
        }
        free(slots);
        d->terms = arena_alloc(&d->mem, (nterms + b.n_paths + 1) * sizeof *d->terms);
        uint32_t *posbuf = arena_alloc(&d->mem, (b.n_toks ? b.n_toks : 1) * sizeof *posbuf);
        size_t np = 0;
        for (size_t g = 0; g < nterms; g++) {
            const raw_tok *t0 = &b.toks[first[g]];
            path_state *p = &b.paths[t0->path];
            doc_term *t = &d->terms[d->n_terms++];
            t->field = p->path;
            t->flen = (uint32_t)strlen(p->path);
            t->term = t0->term;
            t->tlen = t0->len;
            t->flags = p->flags;
            t->freq = (p->flags & PB_FREQS) ? cnt[g] : 1;
            t->thash = ghash[g];
            t->pos = NULL;
            if (p->flags & PB_POSITIONS) {
                t->pos = posbuf + np;
                np += cnt[g];
            }
            cnt[g] = 0; /* reused as the fill cursor */
        }
        for (size_t i = 0; i < b.n_toks; i++) {
            doc_term *t = &d->terms[gid[i]];
            if (t->pos) ((uint32_t *)t->pos)[cnt[gid[i]]++] = b.toks[i].position;
        }
        /* positions ascending (an analyzer may emit a token at an earlier position, e.g. shingles) */
        for (size_t g = 0; g < nterms; g++) {
            doc_term *t = &d->terms[g];
            if (!t->pos) continue;
            uint32_t *pp = (uint32_t *)t->pos;
            for (uint32_t x = 1; x < t->freq; x++)
                for (uint32_t y = x; y > 0 && pp[y] < pp[y - 1]; y--) {
                    uint32_t tmp = pp[y];
                    pp[y] = pp[y - 1];
                    pp[y - 1] = tmp;
                }
        }
        free(gid);
        free(first);
        free(cnt);
        free(ghash);
        /* _field_names: one term per path with a value (exists queries). */
        for (size_t i = 0; i < b.n_paths; i++) {
            path_state *p = &b.paths[i];
            if (!p->ntok && !p->ndv) continue;
            doc_term *t = &d->terms[d->n_terms++];
            t->field = "_field_names";
            t->flen = 12;
            t->term = (const uint8_t *)p->path;
            t->tlen = (uint32_t)strlen(p->path);
            t->flags = 0;
            t->freq = 1;
            t->thash = bytes_hash(t->term, t->tlen);
            t->pos = NULL;
        }
        /* Per-field summaries and doc values. */
        d->fields = arena_alloc(&d->mem, (b.n_paths ? b.n_paths : 1) * sizeof *d->fields);
        d->dvs = arena_alloc(&d->mem, (b.n_paths ? b.n_paths : 1) * sizeof *d->dvs);
        for (size_t i = 0; i < b.n_paths; i++) {
            path_state *p = &b.paths[i];
            if (p->ntok) {
                doc_field *f = &d->fields[d->n_fields++];
                f->field = p->path;
                f->distinct = 0;
                f->ttf = 0;
                f->norm = 0;
                if (p->has_norms) {
                    uint32_t len = p->ntok - p->noverlap;
                    if (len) f->norm = index_norm_encode(len);
                }
            }
            if (p->ndv) dv_encode(&d->mem, p, &d->dvs[d->n_dvs++]);
        }
        for (size_t i = 0; i < d->n_terms; i++) {
            doc_term *t = &d->terms[i];
            for (size_t k = 0; k < d->n_fields; k++) {
                if (d->fields[k].field != t->field) continue;
                d->fields[k].distinct++;
                d->fields[k].ttf += t->freq;
                break;
            }
        }
        /* Fields whose every value analysed to nothing do not count. */
        size_t m = 0;
        for (size_t i = 0; i < d->n_fields; i++)
            if (d->fields[i].distinct) d->fields[m++] = d->fields[i];
        d->n_fields = m;
    }

    for (size_t i = 0; i < b.n_paths; i++) {
        free(b.paths[i].dl);
        free(b.paths[i].dd);
        free(b.paths[i].ds);
    }
    free(b.paths);
    free(b.toks);
    if (rc < 0) {
        index_doc_free(d);
        return NULL;
    }
    return d;
}

/* ======================================================================== */
/* The batch writer                                                         */

typedef struct wdoc {
    const index_doc *d;
    uint64_t docnum;
} wdoc;

struct index_writer {
    store *st;
    store_txn *txn;
    wdoc *docs;
    size_t n, cap;
    uint64_t *dels;        /* removed docnums of the batch */
    size_t n_dels, cap_dels;
    arena vals;            /* values handed to the store with STORE_KV_BORROW: live until freed */
    buf scratch;
    struct fdict *fd;      /* the flushing batch's field names */
};

index_writer *index_writer_begin(store *st, store_txn *txn)
{
    index_writer *w = xcalloc(1, sizeof *w);
    w->st = st;
    w->txn = txn;
    w->vals.chunk_size = 256 * 1024;
    return w;
}

void index_writer_add(index_writer *w, const index_doc *doc, uint64_t docnum)
{
    if (!doc) return;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->docs = xrealloc(w->docs, w->cap * sizeof *w->docs);
    }
    w->docs[w->n++] = (wdoc){ doc, docnum };
}

void index_writer_delete(index_writer *w, uint64_t docnum)
{
    if (!w || !docnum) return;
    if (w->n_dels == w->cap_dels) {
        w->cap_dels = w->cap_dels ? w->cap_dels * 2 : 64;
        w->dels = xrealloc(w->dels, w->cap_dels * sizeof *w->dels);
    }
    w->dels[w->n_dels++] = docnum;
}

void index_writer_free(index_writer *w)
{
    if (!w) return;
    free(w->dels);
    free(w->docs);
    arena_free(&w->vals);
    buf_free(&w->scratch);
    free(w);
}

static int put(index_writer *w, store_table t, const uint8_t *key, size_t klen, const void *val, size_t vlen,
               es_err *err)
{
    void *copy = arena_alloc(&w->vals, vlen ? vlen : 1);
    if (vlen) memcpy(copy, val, vlen);
    return store_kv_put(w->txn, t, key, klen, copy, vlen, STORE_KV_BORROW, err) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Postings                                                                 */

/* One posting being written: a docnum with its freq and positions. */
typedef struct wpost {
    uint64_t docnum;
    uint32_t freq;
    const uint32_t *pos;
} wpost;

typedef struct ref {
    const doc_term *t;
    uint64_t docnum;
} ref;

static int cmp_term_key(const doc_term *a, const doc_term *b)
{
    if (a->field != b->field) {
        int c = strcmp(a->field, b->field);
        if (c) return c;
    }
    size_t n = a->tlen < b->tlen ? a->tlen : b->tlen;
    int c = n ? memcmp(a->term, b->term, n) : 0;
    if (c) return c;
    return (a->tlen > b->tlen) - (a->tlen < b->tlen);
}

static int cmp_ref(const void *x, const void *y)
{
    const ref *a = x, *b = y;
    int c = cmp_term_key(a->t, b->t);
    if (c) return c;
    return (a->docnum > b->docnum) - (a->docnum < b->docnum);
}

/* Encodes n postings as one block. */
/* Appends the records of n postings (docnum deltas from prev; the first record has none when
 * first_in_block). Reserve first: worst case 10 + 5 + 5 bytes per posting plus 5 per position. */
static uint8_t *records_encode(uint8_t *q, const wpost *p, size_t n, uint8_t flags, uint64_t prev,
                               bool first_in_block)
{
    for (size_t i = 0; i < n; i++) {
        if (!(first_in_block && i == 0)) q += ix_varint_put(q, p[i].docnum - prev);
        prev = p[i].docnum;
        if (flags & PB_FREQS) q += ix_varint_put(q, p[i].freq);
        if (flags & PB_POSITIONS) {
            /* the length first: positions are written 1 byte on, then moved if it takes more */
            uint8_t *lenp = q, *ps = q + 1, *pq = ps;
            uint32_t pprev = 0;
            for (uint32_t k = 0; k < p[i].freq; k++) {
                pq += ix_varint_put(pq, p[i].pos[k] - pprev);
                pprev = p[i].pos[k];
            }
            size_t plen = (size_t)(pq - ps);
            uint8_t lb[10];
            size_t ll = ix_varint_put(lb, plen);
            if (ll > 1) memmove(lenp + ll, ps, plen);
            memcpy(lenp, lb, ll);
            q = lenp + ll + plen;
        }
    }
    return q;
}

static size_t records_bound(const wpost *p, size_t n, uint8_t flags)
{
    size_t b = n * 25;
    if (flags & PB_POSITIONS)
        for (size_t i = 0; i < n; i++) b += (size_t)p[i].freq * 5;
    return b;
}

static uint8_t *header_encode(uint8_t *q, uint8_t flags, size_t n, uint64_t first, uint64_t last)
{
    *q++ = flags;
    q += ix_varint_put(q, n);
    q += ix_varint_put(q, first);
    q += ix_varint_put(q, last);
    return q;
}

/* Encodes n postings as one block. */
static void block_encode(buf *out, const wpost *p, size_t n, uint8_t flags)
{
    buf_reset(out);
    buf_reserve(out, 32 + records_bound(p, n, flags));
    uint8_t *q = header_encode((uint8_t *)out->p, flags, n, p[0].docnum, p[n - 1].docnum);
    q = records_encode(q, p, n, flags, p[0].docnum, true);
    out->len = (size_t)(q - (uint8_t *)out->p);
}

typedef struct term_work {
    wpost *posts;
    size_t n, cap;
    uint32_t *pos;          /* decoded tail positions */
    size_t npos, cappos;
    buf val;
    buf blk;
    wpost *np;              /* the new postings of the term being written */
    size_t capnp;
} term_work;

static void tw_push(term_work *tw, uint64_t docnum, uint32_t freq, const uint32_t *pos)
{
    if (tw->n == tw->cap) {
        tw->cap = tw->cap ? tw->cap * 2 : 256;
        tw->posts = xrealloc(tw->posts, tw->cap * sizeof *tw->posts);
    }
    tw->posts[tw->n++] = (wpost){ docnum, freq, pos };
}

static int corrupt(es_err *err, const char *what)
{
    return es_err_set(err, ES_ILLEGAL_STATE, "corrupt index: bad %s", what);
}

/* Decodes a tail block into tw->posts (positions made absolute into tw->pos). */
static int tail_decode(term_work *tw, const uint8_t *tail, size_t tail_len, uint8_t *flags)
{
    postings_block pb;
    if (postings_block_decode(tail, tail_len, &pb) < 0) return -1;
    *flags = pb.flags; /* keep the term's layout */
    size_t total = 0;
    for (uint32_t i = 0; i < pb.n; i++) total += pb.freqs[i];
    if ((pb.flags & PB_POSITIONS) && tw->cappos < total) {
        tw->cappos = total;
        tw->pos = xrealloc(tw->pos, total * sizeof *tw->pos);
    }
    size_t off = 0;
    for (uint32_t i = 0; i < pb.n; i++) {
        const uint32_t *pp = NULL;
        if (pb.flags & PB_POSITIONS) {
            const uint8_t *q = pb.pos[i], *end = pb.pos[i] + pb.pos_len[i];
            uint32_t acc = 0;
            for (uint32_t k = 0; k < pb.freqs[i]; k++) {
                uint64_t dlt;
                if (!(q = ix_varint_get(q, end, &dlt))) return -1;
                acc += (uint32_t)dlt;
                tw->pos[off + k] = acc;
            }
            pp = tw->pos + off;
            off += pb.freqs[i];
        }
        tw_push(tw, pb.docs[i], pb.freqs[i], pp);
    }
    return 0;
}

/* Appends the postings refs[a..b) (one field and term, docnum ascending) to the term. */
static int write_term(index_writer *w, const index_tables *tb, const ref *refs, size_t n, term_work *tw,
                      es_err *err)
{
    const doc_term *t0 = refs[0].t;
    uint8_t key[INDEX_KEY_MAX];
    size_t klen = index_key_term(key, t0->field, t0->term, t0->tlen);
    store_blob cur;
    int rc = store_kv_get(w->txn, tb->terms, key, klen, &cur, err);
    if (rc < 0) return -1;
    uint64_t df = 0, ttf = 0;
    uint8_t flags = t0->flags;
    const uint8_t *tail = NULL;
    size_t tail_len = 0;
    tw->n = 0;
    tw->npos = 0;
    if (rc == 1) {
        term_entry te;
        if (term_entry_decode(cur.p, cur.len, &te) < 0) return corrupt(err, "term entry");
        df = te.doc_freq;
        ttf = te.total_term_freq;
        tail = te.tail;
        tail_len = te.tail_len;
    }
    /* the new postings */
    uint8_t tflags = flags;
    uint32_t tn = 0;
    uint64_t tfirst = 0, tlast = 0;
    const uint8_t *body = NULL;
    size_t body_len = 0;
    if (tail_len && postings_block_header(tail, tail_len, &tflags, &tn, &tfirst, &tlast, &body, &body_len) < 0)
        return corrupt(err, "tail block");
    if (tail_len) flags = tflags;
    static const uint32_t zero_pos[1] = { 0 };
    size_t first_new = 0;
    uint64_t last = tail_len ? tlast : 0;
    while (first_new < n && refs[first_new].docnum <= last) first_new++; /* never: docnums only grow */
    size_t nn = 0;
    /* new postings into tw->posts (after any decoded tail, see below) */
    if (tw->capnp < n) {
        tw->capnp = n > 2 * tw->capnp ? n : 2 * tw->capnp;
        tw->np = xrealloc(tw->np, tw->capnp * sizeof *tw->np);
    }
    wpost *np = tw->np;
    for (size_t i = first_new; i < n; i++) {
        const doc_term *t = refs[i].t;
        if (nn && refs[i].docnum <= np[nn - 1].docnum) continue;
        uint32_t freq = (flags & PB_FREQS) ? t->freq : 1;
        const uint32_t *pos = t->pos;
        if ((flags & PB_POSITIONS) && !pos) pos = zero_pos, freq = 1;
        np[nn++] = (wpost){ refs[i].docnum, freq, pos };
        df++;
        ttf += freq;
    }
    uint8_t tmp[10];
    buf_reset(&tw->val);
    buf_append(&tw->val, tmp, ix_varint_put(tmp, df));
    buf_append(&tw->val, tmp, ix_varint_put(tmp, ttf));
    if (!nn) {
        return 0;
    }
    if (tn + nn < POSTINGS_BLOCK_MAX) {
        /* the common case: the tail grows by appending records (no decoding) */
        buf_reserve(&tw->val, 32 + body_len + records_bound(np, nn, flags));
        uint8_t *q = (uint8_t *)tw->val.p + tw->val.len;
        uint64_t first = tn ? tfirst : np[0].docnum;
        q = header_encode(q, flags, tn + nn, first, np[nn - 1].docnum);
        if (body_len) {
            memcpy(q, body, body_len);
            q += body_len;
        }
        q = records_encode(q, np, nn, flags, tn ? tlast : np[0].docnum, tn == 0);
        tw->val.len = (size_t)(q - (uint8_t *)tw->val.p);
        return put(w, tb->terms, key, klen, tw->val.p, tw->val.len, err);
    }
    /* the tail fills up: decode it, seal full blocks into ix.post, keep the rest as the tail */
    if (tail_len && tail_decode(tw, tail, tail_len, &flags) < 0) {
        return corrupt(err, "tail block");
    }
    for (size_t i = 0; i < nn; i++) tw_push(tw, np[i].docnum, np[i].freq, np[i].pos);
    size_t start = 0;
    while (tw->n - start >= POSTINGS_BLOCK_MAX) {
        block_encode(&tw->blk, tw->posts + start, POSTINGS_BLOCK_MAX, flags);
        uint8_t pkey[INDEX_KEY_MAX];
        size_t pklen = index_key_post(pkey, t0->field, t0->term, t0->tlen, tw->posts[start].docnum);
        if (put(w, tb->post, pkey, pklen, tw->blk.p, tw->blk.len, err) < 0) return -1;
        start += POSTINGS_BLOCK_MAX;
    }
    if (tw->n > start) {
        block_encode(&tw->blk, tw->posts + start, tw->n - start, flags);
        buf_append(&tw->val, tw->blk.p, tw->blk.len);
    }
    return put(w, tb->terms, key, klen, tw->val.p, tw->val.len, err);
}

/* The batch's field names, interned (documents carry their own copies of each
 * path), with their rank in byte order: grouping and ordering by field then
 * compare integers, not strings. */
typedef struct fdict {
    const char **names;
    uint64_t *hashes;
    size_t n, cap;
    uint32_t *slots;       /* open addressing, UINT32_MAX: empty */
    size_t scap;
    uint32_t *rank;        /* by id, after fdict_rank */
    const char *last_ptr;  /* one-entry cache by pointer */
    uint32_t last_id;
    uint32_t *tid, *fid, *vid; /* field ids of the batch's terms, fields and doc values, in batch order */
} fdict;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h ^ (h >> 31);
}

static void fdict_grow(fdict *d)
{
    size_t scap = d->scap ? d->scap * 2 : 64;
    uint32_t *slots = xmalloc(scap * sizeof *slots);
    memset(slots, 0xff, scap * sizeof *slots);
    for (size_t i = 0; i < d->n; i++) {
        size_t sl = (size_t)d->hashes[i] & (scap - 1);
        while (slots[sl] != UINT32_MAX) sl = (sl + 1) & (scap - 1);
        slots[sl] = (uint32_t)i;
    }
    free(d->slots);
    d->slots = slots;
    d->scap = scap;
}

static uint32_t fdict_id(fdict *d, const char *f)
{
    if (f == d->last_ptr) return d->last_id;
    if ((d->n + 1) * 2 > d->scap) fdict_grow(d);
    uint64_t h = str_hash(f);
    size_t sl = (size_t)h & (d->scap - 1);
    uint32_t id;
    for (;;) {
        id = d->slots[sl];
        if (id == UINT32_MAX) {
            if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 32;
                d->names = xrealloc(d->names, d->cap * sizeof *d->names);
                d->hashes = xrealloc(d->hashes, d->cap * sizeof *d->hashes);
            }
            id = (uint32_t)d->n++;
            d->names[id] = f;
            d->hashes[id] = h;
            d->slots[sl] = id;
            break;
        }
        if (d->hashes[id] == h && !strcmp(d->names[id], f)) break;
        sl = (sl + 1) & (d->scap - 1);
    }
    d->last_ptr = f;
    d->last_id = id;
    return id;
}

static __thread const char *const *fdict_sort_names; /* qsort context (per thread) */
static int cmp_name_idx(const void *x, const void *y)
{
    return strcmp(fdict_sort_names[*(const uint32_t *)x], fdict_sort_names[*(const uint32_t *)y]);
}

/* Ranks the names in byte order (call after every id was assigned). */
static void fdict_rank(fdict *d)
{
    uint32_t *order = xmalloc((d->n ? d->n : 1) * sizeof *order);
    for (size_t i = 0; i < d->n; i++) order[i] = (uint32_t)i;
    fdict_sort_names = d->names;
    qsort(order, d->n, sizeof *order, cmp_name_idx);
    free(d->rank);
    d->rank = xmalloc((d->n ? d->n : 1) * sizeof *d->rank);
    for (size_t i = 0; i < d->n; i++) d->rank[order[i]] = (uint32_t)i;
    free(order);
}


static void fdict_free(fdict *d)
{
    free(d->names);
    free(d->hashes);
    free(d->slots);
    free(d->rank);
    free(d->tid);
    free(d->fid);
    free(d->vid);
}

/* A distinct (field, term) of the batch. */
typedef struct tgroup {
    const doc_term *t;     /* a representative */
    uint32_t field_rank;   /* the field's position in byte order among the batch's fields */
    uint64_t hash;
    size_t count, start;   /* its refs: sorted[start .. start + count) */
} tgroup;


/* A group to order: the field's rank and the term's first 4 bytes (zero-padded,
 * big-endian) as one integer, which orders like (rank, memcmp, length) whenever
 * it differs; equal keys compare the terms. */
typedef struct gkey {
    uint64_t key;
    uint32_t g;
} gkey;

static uint64_t group_key(uint32_t rank, const uint8_t *t, size_t n)
{
    uint64_t k = (uint64_t)rank << 32;
    for (size_t i = 0; i < 4 && i < n; i++) k |= (uint64_t)t[i] << (24 - 8 * i);
    return k;
}

static __thread const tgroup *sort_groups_base; /* qsort context (per thread) */
static int cmp_gkey(const void *x, const void *y)
{
    const gkey *p = x, *q = y;
    if (p->key != q->key) return p->key < q->key ? -1 : 1;
    const tgroup *a = &sort_groups_base[p->g], *b = &sort_groups_base[q->g];
    if (a->field_rank != b->field_rank) return a->field_rank < b->field_rank ? -1 : 1;
    size_t n = a->t->tlen < b->t->tlen ? a->t->tlen : b->t->tlen;
    int c = n ? memcmp(a->t->term, b->t->term, n) : 0;
    if (c) return c;
    return (a->t->tlen > b->t->tlen) - (a->t->tlen < b->t->tlen);
}


/*
 * Groups the batch's postings by (field, term) with a hash table (documents
 * arrive in docnum order, so each group's postings are already ascending),
 * then writes the groups in key order for locality in the B-tree.
 */
static int flush_postings(index_writer *w, const index_tables *tb, es_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < w->n; i++) total += w->docs[i].d->n_terms;
    if (!total) return 0;

    /* fields: interned, ranked in byte order (by index_writer_flush) */
    fdict *fd = w->fd;
    uint32_t *tf = xmalloc(total * sizeof *tf); /* field id of each posting */
    size_t k = 0;
    for (; k < total; k++) tf[k] = fd->tid[k];
    const uint32_t *rank = fd->rank;

    /* hash (field, term) -> group */
    size_t cap = 64;
    while (cap < total * 2) cap <<= 1;
    uint32_t *slots = xmalloc(cap * sizeof *slots);
    memset(slots, 0xff, cap * sizeof *slots);
    tgroup *groups = xmalloc(total * sizeof *groups);
    uint32_t *gid = xmalloc(total * sizeof *gid);
    size_t ng = 0;
    k = 0;
    for (size_t i = 0; i < w->n; i++) {
        const index_doc *d = w->docs[i].d;
        for (size_t j = 0; j < d->n_terms; j++, k++) {
            const doc_term *t = &d->terms[j];
            uint64_t h = mix_id(t->thash, tf[k]);
            size_t sl = (size_t)h & (cap - 1);
            for (;;) {
                uint32_t g = slots[sl];
                if (g == UINT32_MAX) {
                    g = (uint32_t)ng++;
                    groups[g] = (tgroup){ t, rank[tf[k]], h, 0, 0 };
                    slots[sl] = g;
                    gid[k] = g;
                    break;
                }
                const tgroup *G = &groups[g];
                if (G->hash == h && G->field_rank == rank[tf[k]] && G->t->tlen == t->tlen &&
                    (!t->tlen || !memcmp(G->t->term, t->term, t->tlen))) {
                    gid[k] = g;
                    break;
                }
                sl = (sl + 1) & (cap - 1);
            }
            groups[gid[k]].count++;
        }
    }
    free(slots);
    /* counting sort of the postings by group, keeping batch (docnum) order inside */
    size_t acc = 0;
    for (size_t g = 0; g < ng; g++) {
        groups[g].start = acc;
        acc += groups[g].count;
        groups[g].count = 0;
    }
    ref *sorted = xmalloc(total * sizeof *sorted);
    k = 0;
    bool ordered = true;
    for (size_t i = 0; i < w->n; i++) {
        const index_doc *d = w->docs[i].d;
        if (i && w->docs[i].docnum <= w->docs[i - 1].docnum) ordered = false;
        for (size_t j = 0; j < d->n_terms; j++, k++) {
            tgroup *G = &groups[gid[k]];
            sorted[G->start + G->count++] = (ref){ &d->terms[j], w->docs[i].docnum };
        }
    }
    gkey *order = xmalloc((ng ? ng : 1) * sizeof *order);
    for (size_t g = 0; g < ng; g++)
        order[g] = (gkey){ group_key(groups[g].field_rank, groups[g].t->term, groups[g].t->tlen), (uint32_t)g };
    sort_groups_base = groups;
    qsort(order, ng, sizeof *order, cmp_gkey);

    term_work tw = { 0 };
    int rc = 0;
    for (size_t x = 0; x < ng && rc == 0; x++) {
        tgroup *G = &groups[order[x].g];
        if (!ordered) qsort(sorted + G->start, G->count, sizeof *sorted, cmp_ref);
        rc = write_term(w, tb, sorted + G->start, G->count, &tw, err);
    }
    free(tw.posts);
    free(tw.pos);
    free(tw.np);
    buf_free(&tw.val);
    buf_free(&tw.blk);
    free(order);
    free(sorted);
    free(groups);
    free(gid);
    free(tf);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Field statistics                                                         */

static int flush_fields(index_writer *w, const index_tables *tb, es_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < w->n; i++) total += w->docs[i].d->n_fields;
    if (!total) return 0;
    /* group by field (counting sort on the field's rank), fields in byte order */
    fdict *fd = w->fd;
    size_t nf = fd->n;
    size_t *start = xcalloc(nf + 1, sizeof *start);
    uint32_t *fr = xmalloc(total * sizeof *fr); /* rank of each entry */
    size_t k = 0;
    for (size_t i = 0; i < w->n; i++)
        for (size_t j = 0; j < w->docs[i].d->n_fields; j++) {
            fr[k] = fd->rank[fd->fid[k]];
            start[fr[k] + 1]++;
            k++;
        }
    for (size_t r = 0; r < nf; r++) start[r + 1] += start[r];
    const doc_field **sorted = xmalloc(total * sizeof *sorted);
    size_t *fill = xmalloc((nf ? nf : 1) * sizeof *fill);
    memcpy(fill, start, (nf ? nf : 1) * sizeof *fill);
    k = 0;
    for (size_t i = 0; i < w->n; i++)
        for (size_t j = 0; j < w->docs[i].d->n_fields; j++) sorted[fill[fr[k++]]++] = &w->docs[i].d->fields[j];
    int rc = 0;
    for (size_t r = 0; r < nf && rc == 0; r++) {
        if (start[r] == start[r + 1]) continue;
        index_field_stats add = { 0 };
        for (size_t j = start[r]; j < start[r + 1]; j++) {
            add.doc_count++;
            add.sum_ttf += sorted[j]->ttf;
            add.sum_df += sorted[j]->distinct;
        }
        const char *field = sorted[start[r]]->field;
        size_t klen = strlen(field);
        store_blob cur;
        int g = store_kv_get(w->txn, tb->fields, field, klen, &cur, err);
        if (g < 0) { rc = -1; break; }
        if (g == 1) {
            index_field_stats old;
            if (index_field_stats_decode(cur.p, cur.len, &old) < 0) { rc = corrupt(err, "field stats"); break; }
            add.doc_count += old.doc_count;
            add.sum_ttf += old.sum_ttf;
            add.sum_df += old.sum_df;
        }
        uint8_t v[30];
        size_t vl = ix_varint_put(v, add.doc_count);
        vl += ix_varint_put(v + vl, add.sum_ttf);
        vl += ix_varint_put(v + vl, add.sum_df);
        rc = put(w, tb->fields, (const uint8_t *)field, klen, v, vl, err);
    }
    free(fill);
    free(sorted);
    free(fr);
    free(start);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Norms and doc values: per (field, block of docnums)                      */

typedef struct bref {
    const char *field;
    uint32_t rank;         /* the field's rank in byte order (fdict) */
    uint64_t docnum;
    const void *item;      /* doc_field (norms) or doc_dv */
} bref;

static int cmp_bref(const void *x, const void *y)
{
    const bref *a = x, *b = y;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    return (a->docnum > b->docnum) - (a->docnum < b->docnum);
}

static int flush_norms(index_writer *w, const index_tables *tb, es_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < w->n; i++)
        for (size_t j = 0; j < w->docs[i].d->n_fields; j++) total += w->docs[i].d->fields[j].norm != 0;
    if (!total) return 0;
    bref *br = xmalloc(total * sizeof *br);
    size_t k = 0, x = 0;
    for (size_t i = 0; i < w->n; i++)
        for (size_t j = 0; j < w->docs[i].d->n_fields; j++, x++)
            if (w->docs[i].d->fields[j].norm)
                br[k++] = (bref){ w->docs[i].d->fields[j].field, w->fd->rank[w->fd->fid[x]], w->docs[i].docnum,
                                  &w->docs[i].d->fields[j] };
    qsort(br, total, sizeof *br, cmp_bref);
    int rc = 0;
    const uint64_t bsize = 1u << INDEX_NORMS_BLOCK_SHIFT;
    for (size_t i = 0; i < total && rc == 0;) {
        uint64_t block = br[i].docnum >> INDEX_NORMS_BLOCK_SHIFT;
        size_t j = i;
        while (j < total && br[j].rank == br[i].rank && (br[j].docnum >> INDEX_NORMS_BLOCK_SHIFT) == block) j++;
        uint8_t key[INDEX_KEY_MAX];
        size_t klen = index_key_block(key, br[i].field, block);
        store_blob cur;
        int g = store_kv_get(w->txn, tb->norms, key, klen, &cur, err);
        if (g < 0) { rc = -1; break; }
        size_t need = (size_t)(br[j - 1].docnum - block * bsize) + 1;
        size_t have = g == 1 ? cur.len : 0;
        size_t len = need > have ? need : have;
        uint8_t *v = arena_alloc(&w->vals, len);
        memset(v, 0, len);
        if (have) memcpy(v, cur.p, have);
        for (size_t m = i; m < j; m++) v[br[m].docnum - block * bsize] = ((const doc_field *)br[m].item)->norm;
        rc = store_kv_put(w->txn, tb->norms, key, klen, v, len, STORE_KV_BORROW, err) < 0 ? -1 : 0;
        i = j;
    }
    free(br);
    return rc;
}

static int flush_dv(index_writer *w, const index_tables *tb, es_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < w->n; i++) total += w->docs[i].d->n_dvs;
    if (!total) return 0;
    bref *br = xmalloc(total * sizeof *br);
    size_t k = 0;
    for (size_t i = 0; i < w->n; i++)
        for (size_t j = 0; j < w->docs[i].d->n_dvs; j++)
            br[k] = (bref){ w->docs[i].d->dvs[j].field, w->fd->rank[w->fd->vid[k]], w->docs[i].docnum,
                            &w->docs[i].d->dvs[j] }, k++;
    qsort(br, total, sizeof *br, cmp_bref);
    int rc = 0;
    for (size_t i = 0; i < total && rc == 0;) {
        uint64_t block = br[i].docnum >> INDEX_DV_BLOCK_SHIFT;
        size_t j = i;
        size_t add = 0;
        while (j < total && br[j].rank == br[i].rank && (br[j].docnum >> INDEX_DV_BLOCK_SHIFT) == block) {
            add += ((const doc_dv *)br[j].item)->len + 12;
            j++;
        }
        uint8_t key[INDEX_KEY_MAX];
        size_t klen = index_key_block(key, br[i].field, block);
        store_blob cur;
        int g = store_kv_get(w->txn, tb->dv, key, klen, &cur, err);
        if (g < 0) { rc = -1; break; }
        size_t have = g == 1 ? cur.len : 0;
        uint8_t *v = arena_alloc(&w->vals, have + add);
        if (have) memcpy(v, cur.p, have);
        uint8_t *q = v + have;
        uint64_t prev = UINT64_MAX;
        for (size_t m = i; m < j; m++) {
            const doc_dv *dv = br[m].item;
            if (br[m].docnum == prev) continue;
            prev = br[m].docnum;
            *q++ = (uint8_t)(br[m].docnum & ((1u << INDEX_DV_BLOCK_SHIFT) - 1));
            q += ix_varint_put(q, dv->count);
            memcpy(q, dv->bytes, dv->len);
            q += dv->len;
        }
        rc = store_kv_put(w->txn, tb->dv, key, klen, v, (size_t)(q - v), STORE_KV_BORROW, err) < 0 ? -1 : 0;
        i = j;
    }
    free(br);
    return rc;
}

static int cmp_u64v(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Sets the removed docnums' bits in ix.dels and adds them to its count. */
static int flush_dels(index_writer *w, const index_tables *tb, es_err *err)
{
    if (!w->n_dels) return 0;
    qsort(w->dels, w->n_dels, sizeof *w->dels, cmp_u64v);
    uint64_t added = 0;
    for (size_t i = 0; i < w->n_dels;) {
        uint64_t block = w->dels[i] >> INDEX_DELS_BLOCK_SHIFT;
        size_t j = i;
        while (j < w->n_dels && (w->dels[j] >> INDEX_DELS_BLOCK_SHIFT) == block) j++;
        uint8_t key[8];
        for (int k = 7, x = 0; k >= 0; k--, x++) key[k] = (uint8_t)(block >> (8 * x));
        store_blob cur;
        int g = store_kv_get(w->txn, tb->dels, key, 8, &cur, err);
        if (g < 0) return -1;
        uint64_t base = block << INDEX_DELS_BLOCK_SHIFT;
        size_t need = (size_t)((w->dels[j - 1] - base) >> 3) + 1;
        size_t have = g == 1 ? cur.len : 0;
        size_t len = need > have ? need : have;
        uint8_t *v = arena_alloc(&w->vals, len);
        memset(v, 0, len);
        if (have) memcpy(v, cur.p, have);
        for (size_t m = i; m < j; m++) {
            uint64_t off = w->dels[m] - base;
            if (!(v[off >> 3] & (1u << (off & 7)))) added++;
            v[off >> 3] |= (uint8_t)(1u << (off & 7));
        }
        if (store_kv_put(w->txn, tb->dels, key, 8, v, len, STORE_KV_BORROW, err) < 0) return -1;
        i = j;
    }
    store_blob cur;
    int g = store_kv_get(w->txn, tb->dels, "#", 1, &cur, err);
    if (g < 0) return -1;
    uint64_t count = 0;
    if (g == 1 && !ix_varint_get(cur.p, (const uint8_t *)cur.p + cur.len, &count)) count = 0;
    count += added;
    uint8_t v[10];
    size_t vl = ix_varint_put(v, count);
    if (put(w, tb->dels, (const uint8_t *)"#", 1, v, vl, err) < 0) return -1;
    w->n_dels = 0;
    return 0;
}

int index_writer_flush(index_writer *w, es_err *err)
{
    if (!w->n && !w->n_dels) return 0;
    index_tables tb;
    if (index_tables_get(w->st, &tb, err) < 0) return -1;
    if (flush_dels(w, &tb, err) < 0) return -1;
    /* intern the batch's field names, then rank them */
    fdict fd = { 0 };
    size_t nt = 0, nf = 0, nv = 0;
    for (size_t i = 0; i < w->n; i++) {
        nt += w->docs[i].d->n_terms;
        nf += w->docs[i].d->n_fields;
        nv += w->docs[i].d->n_dvs;
    }
    fd.tid = xmalloc((nt ? nt : 1) * sizeof *fd.tid);
    fd.fid = xmalloc((nf ? nf : 1) * sizeof *fd.fid);
    fd.vid = xmalloc((nv ? nv : 1) * sizeof *fd.vid);
    nt = nf = nv = 0;
    for (size_t i = 0; i < w->n; i++) {
        /* a document's entries share its few path pointers: a small cache by pointer first */
        const index_doc *d = w->docs[i].d;
        struct { const char *p; uint32_t id; } lc[64];
        size_t nlc = 0;
#define DOC_FIELD_ID(dst, f)                                                   \
        do {                                                                   \
            const char *f_ = (f);                                              \
            size_t c_ = nlc;                                                   \
            while (c_ > 0 && lc[c_ - 1].p != f_) c_--;                         \
            if (c_) {                                                          \
                (dst) = lc[c_ - 1].id;                                         \
            } else {                                                           \
                (dst) = fdict_id(&fd, f_);                                     \
                if (nlc < ARRAY_LEN(lc)) lc[nlc].p = f_, lc[nlc++].id = (dst); \
            }                                                                  \
        } while (0)
        for (size_t j = 0; j < d->n_fields; j++) {
            uint32_t id;
            DOC_FIELD_ID(id, d->fields[j].field);
            fd.fid[nf++] = id;
        }
        for (size_t j = 0; j < d->n_dvs; j++) {
            uint32_t id;
            DOC_FIELD_ID(id, d->dvs[j].field);
            fd.vid[nv++] = id;
        }
        const char *last = NULL;
        uint32_t last_id = 0;
        for (size_t j = 0; j < d->n_terms; j++) {
            if (d->terms[j].field != last) {
                last = d->terms[j].field;
                DOC_FIELD_ID(last_id, last);
            }
            fd.tid[nt++] = last_id;
        }
#undef DOC_FIELD_ID
    }
    fdict_rank(&fd);
    w->fd = &fd;
    int rc = 0;
    if (flush_postings(w, &tb, err) < 0 || flush_fields(w, &tb, err) < 0 || flush_norms(w, &tb, err) < 0 ||
        flush_dv(w, &tb, err) < 0)
        rc = -1;
    w->fd = NULL;
    fdict_free(&fd);
    if (rc < 0) return -1;
    w->n = 0;
    return 0;
}
