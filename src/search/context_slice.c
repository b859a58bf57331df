/*
 * context_slice.c — sliced scrolls and PITs: "slice": {"id", "max"[, "field"]}.
 *
 * The partition follows Elasticsearch's SliceBuilder:
 *   - several shards, max < shards: slice `id` takes the whole shards whose
 *     index (position among the request's shards) % max == id;
 *   - max >= shards (or one shard): slice `id` lives in shard id % shards and
 *     splits it again into the slices that fall there, by document;
 *   - within a shard, a document belongs to sub-slice
 *     floorMod(murmur3_x86_32(_id, seed 7919), n) — the _id, not the docnum,
 *     so every document is in exactly one slice even when each slice is a
 *     separate scroll with its own snapshot and documents are updated (moved
 *     to a new docnum) between them. With "field", the hash of the first doc
 *     value of that field instead (a document without one is in no slice,
 *     as in Elasticsearch).
 * Elasticsearch hashes its internal _id encoding, so the slice a given _id
 * lands in differs from Elasticsearch's; the partition is exact all the same.
 */
#include "search/context_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t mix_long(int64_t v)
{
    uint64_t k = (uint64_t)v;
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return (int32_t)k;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t m = a % b;
    return m < 0 ? m + b : m;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

static int slice_num(const json_val *v, int64_t *out)
{
    if (json_type_of(v) == JSON_INT) {
        *out = json_int(v);
        return 0;
    }
    const char *s = json_str(v, NULL);
    if (s && *s) {
        char *e;
        long long x = strtoll(s, &e, 10);
        if (!*e) {
            *out = x;
            return 0;
        }
    }
    return -1;
}

static int failed_field(es_err *err, const char *field, const char *why)
{
    es_err_set(err, ES_X_CONTENT_PARSE, "[slice] failed to parse field [%s]", field);
    es_err *cause = xcalloc(1, sizeof *cause);
    es_err_set(cause, ES_ILLEGAL_ARGUMENT, "%s", why);
    es_err_cause(err, cause);
    return -1;
}

int slice_parse(const json_val *v, arena *mem, slice_spec *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    out->id = -1;
    out->max = -1;
    if (json_type_of(v) != JSON_OBJECT) {
        es_err_set(err, ES_PARSING, "Unknown key for a %s in [slice].",
                   json_type_of(v) == JSON_ARRAY ? "START_ARRAY" : "VALUE_STRING");
        return -1;
    }
    json_iter it = json_iter_begin(v);
    const json_val *x;
    const char *k;
    size_t kn;
    while ((x = json_iter_next(&it, &k, &kn))) {
        if (!strcmp(k, "id")) {
            int64_t id;
            if (slice_num(x, &id) < 0) return failed_field(err, "id", "id must be a number");
            if (id < 0) return failed_field(err, "id", "id must be greater than or equal to 0");
            if (out->max >= 0 && id >= out->max) return failed_field(err, "id", "max must be greater than id");
            out->id = id;
        } else if (!strcmp(k, "max")) {
            int64_t max;
            if (slice_num(x, &max) < 0) return failed_field(err, "max", "max must be a number");
            if (max <= 1) return failed_field(err, "max", "max must be greater than 1");
            if (out->id >= 0 && out->id >= max) return failed_field(err, "max", "max must be greater than id");
            out->max = max;
        } else if (!strcmp(k, "field")) {
            size_t n;
            const char *s = json_str(x, &n);
            if (!s) return failed_field(err, "field", "field must be a string");
            out->field = arena_strndup(mem, s, n);
        } else {
            es_err_set(err, ES_X_CONTENT_PARSE, "[slice] unknown field [%s]", k);
            return -1;
        }
    }
    if (out->id < 0 || out->max < 0) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s", out->id < 0 ? "slice id is required" : "slice max is required");
        return -1;
    }
    if (out->field && !strcmp(out->field, "_id")) out->field = NULL;
    return 0;
}

int slice_check_limit(const slice_spec *sl, index_view **views, size_t n_views, es_err *err)
{
    for (size_t i = 0; i < n_views; i++) {
        int64_t lim = index_settings_get_int(views[i]->settings, "index.max_slices_per_scroll", 1024);
        if (sl->max > lim) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "The number of slices [%lld] is too large. It must be less than [%lld]. This limit can be set "
                       "by changing the [index.max_slices_per_scroll] index level setting.",
                       (long long)sl->max, (long long)lim);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The sliced query                                                         */

typedef struct slice_query {
    query base;
    const query *inner;
    slice_spec sl;
    shard_searcher **shards;
    size_t n;
} slice_query;

typedef struct slice_iter {
    doc_iter base;
    doc_iter *in;
    shard_searcher *s;
    int64_t k, m;           /* keep documents whose hash mod m == k */
    dv_reader *dv;          /* "field" slices */
    bool by_field;
} slice_iter;

static bool slice_keep(slice_iter *it, uint64_t doc)
{
    es_err e = { 0 };
    int32_t h;
    if (!it->by_field) {
        store_doc d;
        int rc = shard_searcher_doc(it->s, doc, &d, &e);
        if (rc < 0) {
            shard_searcher_set_error(it->s, &e);
            return false;
        }
        if (rc == 0) return false; /* replaced or deleted: not live anyway */
        h = (int32_t)store_murmur3_32(d.id, d.idlen, 7919);
    } else {
        if (!it->dv) return false;
        dv_values v;
        int rc = dv_read(it->dv, doc, &v, &e);
        if (rc < 0) {
            shard_searcher_set_error(it->s, &e);
            return false;
        }
        if (rc == 0 || !v.n) return false;
        switch (dv_reader_kind(it->dv)) {
        case DV_BYTES: h = (int32_t)store_murmur3_32(v.s[0].p, v.s[0].len, 7919); break;
        case DV_DOUBLE: {
            int64_t bits;
            memcpy(&bits, &v.d[0], 8);
            h = mix_long(bits);
            break;
        }
        default: h = mix_long(v.l[0]); break;
        }
    }
    es_err_free(&e);
    return floor_mod(h, it->m) == it->k;
}

static uint64_t slice_settle(slice_iter *it, uint64_t d)
{
    while (d != DOC_NO_MORE && !slice_keep(it, d)) {
        if (shard_searcher_error(it->s)) return it->base.doc = DOC_NO_MORE;
        d = doc_iter_next(it->in);
    }
    return it->base.doc = d;
}

static uint64_t slice_next(doc_iter *x)
{
    slice_iter *it = (slice_iter *)x;
    return slice_settle(it, doc_iter_next(it->in));
}

static uint64_t slice_advance(doc_iter *x, uint64_t target)
{
    slice_iter *it = (slice_iter *)x;
    uint64_t d = it->in->doc;
    if (d < target) d = doc_iter_advance(it->in, target);
    return slice_settle(it, d);
}

static float slice_score(doc_iter *x) { return doc_iter_score(((slice_iter *)x)->in); }
static uint64_t slice_cost(doc_iter *x) { return doc_iter_cost(((slice_iter *)x)->in); }

static void slice_free(doc_iter *x)
{
    slice_iter *it = (slice_iter *)x;
    doc_iter_free(it->in);
    dv_close(it->dv);
    free(it);
}

static const doc_iter_ops slice_iter_ops = { slice_next, slice_advance, slice_score, slice_cost, slice_free };

static doc_iter *slice_query_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const slice_query *sq = (const slice_query *)q;
    size_t idx = 0, n = sq->n;
    bool found = false;
    for (size_t i = 0; i < sq->n; i++)
        if (sq->shards[i] == s) {
            idx = i;
            found = true;
            break;
        }
    if (!found) {
        idx = 0;
        n = 1;
    }
    int64_t id = sq->sl.id, max = sq->sl.max, k, m;
    if (n == 1) {
        k = id;
        m = max;
    } else if (max >= (int64_t)n) {
        int64_t target = id % (int64_t)n;
        if ((int64_t)idx != target) return doc_iter_empty();
        m = max / (int64_t)n + (max % (int64_t)n > target ? 1 : 0);
        k = id / (int64_t)n;
    } else {
        return (int64_t)idx % max == id ? query_iter(sq->inner, s, boost, flags, err) : doc_iter_empty();
    }
    doc_iter *in = query_iter(sq->inner, s, boost, flags, err);
    if (!in) return NULL;
    if (m == 1) return in;
    slice_iter *it = xcalloc(1, sizeof *it);
    it->base.ops = &slice_iter_ops;
    it->in = in;
    it->s = s;
    it->k = k;
    it->m = m;
    if (sq->sl.field) {
        it->by_field = true;
        it->dv = dv_open(s, sq->sl.field);
    }
    return &it->base;
}

static const query_ops slice_query_ops = { "ferry_slice", slice_query_iter };

query *slice_wrap(arena *mem, const query *inner, const slice_spec *sl, shard_searcher **shards, size_t n)
{
    slice_query *q = arena_alloc(mem, sizeof *q);
    memset(q, 0, sizeof *q);
    q->base.ops = &slice_query_ops;
    q->base.boost = 1.0f;
    q->inner = inner;
    q->sl = *sl;
    q->shards = shards;
    q->n = n;
    return &q->base;
}
