/* Unit tests for the index-time structures (src/index/postings*.c) and the
 * search layer (src/search): codecs, norms, iterators, BM25 against numbers
 * computed by hand from the formula, queries over a small corpus. */
#include "index/index.h"
#include "indices/indices.h"
#include "search/search.h"
#include "store/store.h"
#include "unit.h"

#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* fixture: a store, one index, a hand-made view                            */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) { return remove(p); }

typedef struct fixture {
    char dir[64];
    store *st;
    index_view *v;
} fixture;

static void fx_open(fixture *fx, const char *mapping_json, uint32_t shards)
{
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ferry-search-XXXXXX");
    if (!mkdtemp(fx->dir)) abort();
    es_err err = { 0 };
    fx->st = store_open(fx->dir, &err);
    CHECK(fx->st != NULL);
    store_index_spec spec = { .name = "test", .number_of_shards = shards };
    store_index *si = NULL;
    CHECK(store_index_create(fx->st, &spec, &si, &err) == 0);
    index_view *v = xcalloc(1, sizeof *v);
    v->si = si;
    v->meta = store_index_meta_acquire(si);
    v->name = store_index_name(si);
    v->uuid = store_index_uuid(si);
    v->settings = index_settings_new();
    v->mapping = mapping_parse_text(mapping_json, strlen(mapping_json), NULL, &err);
    CHECK(v->mapping != NULL);
    mapping_limits_default(&v->limits);
    atomic_init(&v->refs, 1);
    fx->v = v;
    es_err_free(&err);
}

static void fx_close(fixture *fx)
{
    index_view_release(fx->v);
    store_close(fx->st);
    nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Indexes docs (id "1", "2"... from first_id) into shard 0 in one transaction. */
static void fx_index(fixture *fx, const char *const *docs, size_t n, int first_id)
{
    es_err err = { 0 };
    store_txn *txn;
    CHECK(store_write_begin(fx->v->si, 0, &txn, &err) == 0);
    index_writer *w = index_writer_begin(fx->st, txn);
    index_doc **ids = xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        json_doc *jd = json_parse(docs[i], strlen(docs[i]), NULL, NULL);
        CHECK(jd != NULL);
        parsed_doc pd = { 0 };
        doc_parse_opts po = { .src = docs[i], .src_len = strlen(docs[i]), .doc = jd };
        CHECK(mapping_parse_document(fx->v->mapping, json_doc_root(jd), &po, &pd, &err) == 0);
        ids[i] = index_doc_build(NULL, &pd, &err);
        CHECK(ids[i] != NULL);
        parsed_doc_free(&pd);
        json_doc_free(jd);
        char id[16];
        snprintf(id, sizeof id, "%d", first_id + (int)i);
        store_write_result wr;
        CHECK(store_doc_index(txn, id, strlen(id), docs[i], strlen(docs[i]), NULL, &wr, &err) == 0);
        CHECK(wr.docnum > 0);
        index_writer_add(w, ids[i], wr.docnum);
    }
    CHECK(index_writer_flush(w, &err) == 0);
    CHECK(store_write_commit(txn, &err) == 0);
    index_writer_free(w);
    for (size_t i = 0; i < n; i++) index_doc_free(ids[i]);
    free(ids);
    if (es_err_isset(&err)) printf("  err: %s\n", err.reason);
    es_err_free(&err);
}

/* Replaces or deletes through the index writer (so ix.dels records the removed docnum). */
static void fx_write_marked(fixture *fx, const char *id, const char *doc)
{
    es_err err = { 0 };
    store_txn *txn;
    CHECK(store_write_begin(fx->v->si, 0, &txn, &err) == 0);
    index_writer *w = index_writer_begin(fx->st, txn);
    index_doc *idoc = NULL;
    store_write_result wr;
    if (doc) {
        json_doc *jd = json_parse(doc, strlen(doc), NULL, NULL);
        parsed_doc pd = { 0 };
        doc_parse_opts po = { .src = doc, .src_len = strlen(doc), .doc = jd };
        CHECK(mapping_parse_document(fx->v->mapping, json_doc_root(jd), &po, &pd, &err) == 0);
        idoc = index_doc_build(NULL, &pd, &err);
        parsed_doc_free(&pd);
        json_doc_free(jd);
        CHECK(store_doc_index(txn, id, strlen(id), doc, strlen(doc), NULL, &wr, &err) == 0);
        index_writer_add(w, idoc, wr.docnum);
    } else {
        CHECK(store_doc_delete(txn, id, strlen(id), NULL, &wr, &err) == 0);
    }
    CHECK(wr.replaced_docnum > 0);
    index_writer_delete(w, wr.replaced_docnum);
    CHECK(index_writer_flush(w, &err) == 0);
    CHECK(store_write_commit(txn, &err) == 0);
    index_writer_free(w);
    index_doc_free(idoc);
    es_err_free(&err);
}

static void fx_delete(fixture *fx, const char *id)
{
    es_err err = { 0 };
    store_txn *txn;
    CHECK(store_write_begin(fx->v->si, 0, &txn, &err) == 0);
    store_write_result wr;
    CHECK(store_doc_delete(txn, id, strlen(id), NULL, &wr, &err) == 0);
    CHECK(store_write_commit(txn, &err) == 0);
    es_err_free(&err);
}

typedef struct hitv {
    char id[16];
    float score;
} hitv;

/* Runs a query (JSON text) over shard 0; fills up to max hits (best first); returns the total or -1. */
static int64_t fx_search(fixture *fx, const char *qjson, hitv *out, size_t max, es_err *err)
{
    json_doc *jd = json_parse(qjson, strlen(qjson), NULL, NULL);
    if (!jd) return -1;
    arena mem = { 0 };
    query_parse_ctx ctx = { .mem = &mem, .doc = jd, .views = &fx->v, .n_views = 1, .now_ms = now_millis() };
    query *q = query_parse(&ctx, json_doc_root(jd), err);
    int64_t total = -1;
    if (q) {
        shard_searcher *s;
        if (shard_searcher_open(fx->st, fx->v, 0, &s, err) == 0) {
            topk_collector *t = topk_new(max, NULL, 0, false, INT64_MAX, NULL);
            search_collector *c = topk_collector_of(t);
            collect_result cr;
            if (shard_collect(s, 0, q, &c, 1, NULL, 0, NULL, &cr, err) == 0) {
                bool gte;
                total = (int64_t)topk_total(t, &gte);
                size_t n;
                const search_hit *h = topk_hits(t, &n);
                for (size_t i = 0; i < n && i < max; i++) {
                    store_doc d;
                    if (shard_searcher_doc(s, h[i].docnum, &d, err) == 1)
                        snprintf(out[i].id, sizeof out[i].id, "%.*s", (int)d.idlen, d.id);
                    out[i].score = h[i].score;
                }
            }
            topk_free(t);
            shard_searcher_close(s);
        }
    }
    arena_free(&mem);
    json_doc_free(jd);
    return total;
}

#define CHECK_SCORE(got, want)                                                                  \
    do {                                                                                        \
        double g_ = (got), w_ = (want);                                                          \
        if (fabs(g_ - w_) > 1e-6) UNIT_FAIL("score %s: %.9g != %.9g", #got, g_, w_);             \
    } while (0)

/* ------------------------------------------------------------------------ */
/* codecs */

TEST(norms_small_float)
{
    /* SmallFloat.intToByte4: lengths below 24 are exact */
    for (uint32_t i = 0; i < 24; i++) {
        CHECK_EQ_INT(index_norm_encode(i), i);
        CHECK_EQ_INT(index_norm_decode((uint8_t)i), i);
    }
    /* 100: 100 - 24 = 76 = 0b1001100 (7 bits): shift 3, mantissa (76 >> 3) & 7 = 1,
     * encoded 1 | (3 + 1) << 3 = 33, byte 24 + 33 = 57; decoded 24 + ((1 | 8) << 3) = 96 */
    CHECK_EQ_INT(index_norm_encode(100), 57);
    CHECK_EQ_INT(index_norm_decode(57), 96);
    /* monotonic, and decode(encode(x)) <= x */
    uint8_t prev = 0;
    for (uint32_t i = 0; i < 100000; i += 7) {
        uint8_t b = index_norm_encode(i);
        CHECK(b >= prev);
        CHECK(index_norm_decode(b) <= i);
        prev = b;
    }
    CHECK_EQ_INT(index_norm_encode(INT32_MAX), 255);
}

TEST(sortable_terms)
{
    int64_t ls[] = { INT64_MIN, -5, -1, 0, 1, 42, INT64_MAX };
    for (size_t i = 0; i + 1 < ARRAY_LEN(ls); i++) {
        uint8_t a[8], b[8];
        index_term_long(ls[i], a);
        index_term_long(ls[i + 1], b);
        CHECK(memcmp(a, b, 8) < 0);
        CHECK_EQ_INT(index_term_long_decode(a), ls[i]);
    }
    double ds[] = { -INFINITY, -1e300, -2.5, -0.0, 0.0, 1e-300, 3.14, INFINITY };
    for (size_t i = 0; i + 1 < ARRAY_LEN(ds); i++) {
        uint8_t a[8], b[8];
        index_term_double(ds[i], a);
        index_term_double(ds[i + 1], b);
        CHECK(memcmp(a, b, 8) < 0);
        CHECK(index_term_double_decode(a) == ds[i]);
    }
}

TEST(varints)
{
    uint64_t vs[] = { 0, 1, 127, 128, 300, 1ull << 35, UINT64_MAX };
    uint8_t b[10];
    for (size_t i = 0; i < ARRAY_LEN(vs); i++) {
        size_t n = ix_varint_put(b, vs[i]);
        uint64_t v = 0;
        const uint8_t *e = ix_varint_get(b, b + n, &v);
        CHECK(e == b + n);
        CHECK(v == vs[i]);
        CHECK(ix_varint_get(b, b + n - 1, &v) == NULL || n == 1);
    }
}

TEST(float_format)
{
    char b[48];
    search_fmt_float(0.2876821f, b);
    CHECK_EQ_STR(b, "0.2876821");
    search_fmt_float(1.0f, b);
    CHECK_EQ_STR(b, "1.0");
    search_fmt_float(1.3411059f, b);
    CHECK_EQ_STR(b, "1.3411059");
    search_fmt_float(1e7f, b);
    CHECK_EQ_STR(b, "1.0E7");
    search_fmt_float(0.0001f, b);
    CHECK_EQ_STR(b, "1.0E-4");
    search_fmt_float(123.5f, b);
    CHECK_EQ_STR(b, "123.5");
}

/* ------------------------------------------------------------------------ */
/* iterators                                                                */

static size_t drain(doc_iter *it, uint64_t *out, size_t max)
{
    size_t n = 0;
    for (uint64_t d = doc_iter_next(it); d != DOC_NO_MORE; d = doc_iter_next(it))
        if (n < max) out[n++] = d;
    doc_iter_free(it);
    return n;
}

TEST(iterators)
{
    static const uint64_t a[] = { 1, 3, 5, 7, 9, 11 }, b[] = { 3, 4, 5, 9, 12 }, c[] = { 5, 9, 20 };
    uint64_t out[32];

    doc_iter *two[2] = { doc_iter_docs(a, 6, 1), doc_iter_docs(b, 5, 2) };
    size_t n = drain(doc_iter_and(two, 2, NULL, 0), out, 32);
    CHECK_EQ_INT(n, 3);
    CHECK(out[0] == 3 && out[1] == 5 && out[2] == 9);

    doc_iter *or2[2] = { doc_iter_docs(a, 6, 1), doc_iter_docs(b, 5, 2) };
    n = drain(doc_iter_or(or2, 2, 1), out, 32);
    CHECK_EQ_INT(n, 8); /* 1 3 4 5 7 9 11 12 */
    CHECK(out[2] == 4 && out[7] == 12);

    doc_iter *or3[3] = { doc_iter_docs(a, 6, 1), doc_iter_docs(b, 5, 2), doc_iter_docs(c, 3, 4) };
    n = drain(doc_iter_or(or3, 3, 2), out, 32); /* in at least two: 3 5 9 */
    CHECK_EQ_INT(n, 3);
    CHECK(out[0] == 3 && out[1] == 5 && out[2] == 9);

    n = drain(doc_iter_not(doc_iter_docs(a, 6, 1), doc_iter_docs(b, 5, 1)), out, 32); /* 1 7 11 */
    CHECK_EQ_INT(n, 3);
    CHECK(out[0] == 1 && out[1] == 7 && out[2] == 11);

    /* scores: sums, dis_max, req+opt */
    doc_iter *s2[2] = { doc_iter_docs(a, 6, 1.5f), doc_iter_docs(b, 5, 2.0f) };
    doc_iter *o = doc_iter_or(s2, 2, 1);
    CHECK(doc_iter_advance(o, 5) == 5);
    CHECK(doc_iter_score(o) == 3.5f);
    CHECK(doc_iter_next(o) == 7);
    CHECK(doc_iter_score(o) == 1.5f);
    doc_iter_free(o);

    doc_iter *dm[2] = { doc_iter_docs(a, 6, 1.0f), doc_iter_docs(b, 5, 2.0f) };
    doc_iter *d = doc_iter_dismax(dm, 2, 0.5f);
    CHECK(doc_iter_advance(d, 3) == 3);
    CHECK(doc_iter_score(d) == 2.5f); /* max 2 + 0.5 * 1 */
    doc_iter_free(d);

    doc_iter *ro = doc_iter_req_opt(doc_iter_docs(a, 6, 1.0f), doc_iter_docs(c, 3, 0.25f));
    CHECK(doc_iter_next(ro) == 1);
    CHECK(doc_iter_score(ro) == 1.0f);
    CHECK(doc_iter_advance(ro, 5) == 5);
    CHECK(doc_iter_score(ro) == 1.25f);
    CHECK(doc_iter_advance(ro, 100) == DOC_NO_MORE);
    doc_iter_free(ro);
}

/* ------------------------------------------------------------------------ */
/* BM25 over a small corpus                                                 */

static const char *const MAPPING =
    "{\"properties\":{\"title\":{\"type\":\"text\"},\"tag\":{\"type\":\"keyword\"},\"n\":{\"type\":\"integer\"},"
    "\"d\":{\"type\":\"date\"},\"p\":{\"type\":\"double\"}}}";

static const char *const CORPUS[] = {
    "{\"title\":\"the quick brown fox\",\"tag\":\"a\",\"n\":1,\"d\":\"2020-01-01\",\"p\":1.5}",
    "{\"title\":\"quick quick dog\",\"tag\":\"b\",\"n\":5,\"d\":\"2021-06-01T10:00:00Z\",\"p\":-2}",
    "{\"title\":\"lazy dog sleeps\",\"tag\":\"a\",\"n\":10}",
};

/*
 * Expected scores, from Elasticsearch's LegacyBM25Similarity (k1 = 1.2, b = 0.75), in float:
 *   N = docCount(title) = 3; sumTotalTermFreq = 4 + 3 + 3 = 10; avgdl = 10 / 3 = 3.3333333
 *   idf(df = 2) = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln(1.6) = 0.47000363
 *   idf(df = 1) = ln(1 + 2.5 / 1.5) = ln(2.6666667) = 0.98082924
 *   weight = (boost * 2.2) * idf
 *   cache(dl) = 1 / (1.2 * (0.25 + 0.75 * dl / avgdl)):  dl 3 -> 1 / 1.11 = 0.9009009;  dl 4 -> 1 / 1.38 = 0.7246377
 *   score = weight - weight / (1 + freq * cache)
 *   "quick" in doc 2 (freq 2, dl 3): 1.0340080 * (1 - 1 / 2.8018018) = 0.66495693
 *   "dog"   in doc 2 (freq 1, dl 3): 1.0340080 * (1 - 1 / 1.9009009) = 0.49005115
 *   "quick" in doc 1 (freq 1, dl 4): 1.0340080 * (1 - 1 / 1.7246377) = 0.43445712
 *   match "quick dog": doc 2 = 0.66495693 + 0.49005115 = 1.1550081; doc 3 = 0.49005115; doc 1 = 0.43445712
 *   phrase "quick brown" in doc 1: idf = 0.47000363 + 0.98082924 = 1.4508329, freq 1, dl 4:
 *     (2.2 * 1.4508329) * (1 - 1 / 1.7246377) = 1.3411059
 *   keyword term tag:a (no norms: dl = 1 = avgdl): cache = 1 / 1.2; 1.0340080 * (1 - 1 / 1.8333333) = 0.47000360
 */
TEST(bm25_scores)
{
    fixture fx;
    fx_open(&fx, MAPPING, 1);
    fx_index(&fx, CORPUS, 3, 1);
    hitv h[8];
    es_err err = { 0 };

    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":\"quick dog\"}}", h, 8, &err), 3);
    CHECK_EQ_STR(h[0].id, "2");
    CHECK_SCORE(h[0].score, 1.15500808);
    CHECK_EQ_STR(h[1].id, "3");
    CHECK_SCORE(h[1].score, 0.49005115);
    CHECK_EQ_STR(h[2].id, "1");
    CHECK_SCORE(h[2].score, 0.43445712);

    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":{\"query\":\"quick dog\",\"operator\":\"and\"}}}", h, 8, &err), 1);
    CHECK_SCORE(h[0].score, 1.15500808);

    CHECK_EQ_INT(fx_search(&fx, "{\"match_phrase\":{\"title\":\"quick brown\"}}", h, 8, &err), 1);
    CHECK_EQ_STR(h[0].id, "1");
    CHECK_SCORE(h[0].score, 1.34110594);
    CHECK_EQ_INT(fx_search(&fx, "{\"match_phrase\":{\"title\":\"brown quick\"}}", h, 8, &err), 0);
    CHECK_EQ_INT(fx_search(&fx, "{\"match_phrase\":{\"title\":{\"query\":\"quick fox\",\"slop\":1}}}", h, 8, &err), 1);

    CHECK_EQ_INT(fx_search(&fx, "{\"term\":{\"tag\":\"a\"}}", h, 8, &err), 2);
    CHECK_SCORE(h[0].score, 0.47000360);

    /* boost 2 on "dog": weight doubles before the tf part: 0.98010230 for doc 3 */
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":{\"query\":\"dog\",\"boost\":2}}}", h, 8, &err), 2);
    CHECK_EQ_STR(h[1].id, "3");
    CHECK_SCORE(h[1].score, 0.98010230);

    /* bool: must + should sum; filter and must_not do not score */
    CHECK_EQ_INT(fx_search(&fx, "{\"bool\":{\"must\":{\"match\":{\"title\":\"dog\"}},\"filter\":{\"term\":{\"tag\":\"a\"}}}}",
                           h, 8, &err), 1);
    CHECK_EQ_STR(h[0].id, "3");
    CHECK_SCORE(h[0].score, 0.49005115);
    CHECK_EQ_INT(fx_search(&fx, "{\"bool\":{\"should\":[{\"match\":{\"title\":\"quick\"}},{\"match\":{\"title\":\"dog\"}}],"
                                "\"must_not\":{\"term\":{\"n\":5}}}}", h, 8, &err), 2);
    CHECK_EQ_INT(fx_search(&fx, "{\"bool\":{\"should\":[{\"match\":{\"title\":\"quick\"}},{\"match\":{\"title\":\"dog\"}}],"
                                "\"minimum_should_match\":2}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"bool\":{\"filter\":{\"term\":{\"tag\":\"a\"}}}}", h, 8, &err), 2);
    CHECK_SCORE(h[0].score, 0);
    CHECK_EQ_INT(fx_search(&fx, "{\"constant_score\":{\"filter\":{\"term\":{\"tag\":\"a\"}},\"boost\":3}}", h, 8, &err), 2);
    CHECK_SCORE(h[0].score, 3);

    /* term-level queries on numbers, dates, keywords */
    CHECK_EQ_INT(fx_search(&fx, "{\"range\":{\"n\":{\"gte\":2,\"lt\":10}}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"range\":{\"n\":{\"gt\":1}}}", h, 8, &err), 2);
    CHECK_EQ_INT(fx_search(&fx, "{\"range\":{\"p\":{\"lt\":0}}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"range\":{\"d\":{\"gte\":\"2020-01-01||+1M\"}}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"range\":{\"d\":{\"lte\":\"2020\"}}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"range\":{\"tag\":{\"gt\":\"a\"}}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"term\":{\"n\":10}}", h, 8, &err), 1);
    CHECK_SCORE(h[0].score, 1.0);
    CHECK_EQ_INT(fx_search(&fx, "{\"terms\":{\"n\":[1,5,7]}}", h, 8, &err), 2);
    CHECK_EQ_INT(fx_search(&fx, "{\"exists\":{\"field\":\"d\"}}", h, 8, &err), 2);
    CHECK_EQ_INT(fx_search(&fx, "{\"ids\":{\"values\":[\"3\",\"1\",\"9\"]}}", h, 8, &err), 2);
    CHECK_EQ_INT(fx_search(&fx, "{\"prefix\":{\"title\":\"sl\"}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"wildcard\":{\"title\":\"*o?\"}}", h, 8, &err), 3); /* fox, dog, dog */
    CHECK_EQ_INT(fx_search(&fx, "{\"match_all\":{}}", h, 8, &err), 3);
    CHECK_EQ_INT(fx_search(&fx, "{\"match_none\":{}}", h, 8, &err), 0);

    /* a deleted document stops matching at once (its postings stay) */
    fx_delete(&fx, "2");
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":\"quick\"}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"match_all\":{}}", h, 8, &err), 2);
    es_err_free(&err);
    fx_close(&fx);
}

TEST(query_errors)
{
    fixture fx;
    fx_open(&fx, MAPPING, 1);
    hitv h[4];
    es_err err = { 0 };
    CHECK(fx_search(&fx, "{\"foo\":{}}", h, 4, &err) < 0);
    CHECK_EQ_STR(err.reason, "unknown query [foo]");
    CHECK_EQ_STR(es_err_type_name(&err), "parsing_exception");
    es_err_free(&err);
    CHECK(fx_search(&fx, "{\"mach\":{}}", h, 4, &err) < 0);
    CHECK_EQ_STR(err.reason, "unknown query [mach] did you mean [match]?");
    es_err_free(&err);
    CHECK(fx_search(&fx, "{\"match\":{\"a\":\"x\",\"b\":\"y\"}}", h, 4, &err) < 0);
    CHECK_EQ_STR(err.reason, "[match] query doesn't support multiple fields, found [a] and [b]");
    es_err_free(&err);
    CHECK(fx_search(&fx, "{\"bool\":{\"must\":[{\"foo\":{}}]}}", h, 4, &err) < 0);
    CHECK_EQ_STR(es_err_type_name(&err), "x_content_parse_exception");
    /* the inner failure sits at the unknown query's object, col 25 */
    CHECK_EQ_STR(err.reason, "[1:25] [bool] failed to parse field [must]");
    es_err_free(&err);
    CHECK(fx_search(&fx, "{\"bool\":{\"foo\":1}}", h, 4, &err) < 0);
    CHECK_EQ_STR(err.reason, "[1:10] [bool] unknown field [foo]");
    es_err_free(&err);
    CHECK(fx_search(&fx, "{\"term\":{\"f\":[1]}}", h, 4, &err) < 0);
    CHECK_EQ_STR(err.reason, "[term] query does not support array of values");
    es_err_free(&err);
    /* a shard-level failure: a number field asked for text */
    CHECK(fx_search(&fx, "{\"term\":{\"n\":\"abc\"}}", h, 4, &err) < 0);
    CHECK_EQ_STR(es_err_type_name(&err), "query_shard_exception");
    CHECK_EQ_STR(err.reason, "failed to create query: For input string: \"abc\"");
    es_err_free(&err);
    fx_close(&fx);
}

/* Postings spanning sealed blocks and several batches. */
TEST(postings_blocks)
{
    fixture fx;
    fx_open(&fx, MAPPING, 1);
    char *docs[100];
    for (int batch = 0; batch < 5; batch++) {
        for (int i = 0; i < 100; i++) {
            int k = batch * 100 + i;
            docs[i] = xasprintf("{\"title\":\"common %s w%d\",\"n\":%d}", k % 3 == 0 ? "three" : "other", k, k);
        }
        fx_index(&fx, (const char *const *)docs, 100, batch * 100 + 1);
        for (int i = 0; i < 100; i++) free(docs[i]);
    }
    hitv h[4];
    es_err err = { 0 };
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":\"common\"}}", h, 4, &err), 500);
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":\"three\"}}", h, 4, &err), 167);
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":{\"query\":\"three common\",\"operator\":\"and\"}}}", h, 4, &err), 167);
    CHECK_EQ_INT(fx_search(&fx, "{\"range\":{\"n\":{\"gte\":250,\"lt\":260}}}", h, 4, &err), 10);
    CHECK_EQ_INT(fx_search(&fx, "{\"match_phrase\":{\"title\":\"common three\"}}", h, 4, &err), 167);

    /* statistics as Lucene keeps them */
    shard_searcher *s;
    CHECK(shard_searcher_open(fx.st, fx.v, 0, &s, &err) == 0);
    field_stats fs;
    CHECK(shard_field_stats(s, "title", &fs, &err) == 0);
    CHECK_EQ_INT(fs.doc_count, 500);
    CHECK_EQ_INT(fs.sum_ttf, 1500);
    CHECK_EQ_INT(fs.sum_df, 1500);
    term_stats ts;
    CHECK(shard_term_stats(s, "title", "common", 6, &ts, &err) == 1);
    CHECK_EQ_INT(ts.doc_freq, 500);
    CHECK_EQ_INT(ts.total_term_freq, 500);
    /* doc values */
    dv_reader *r = dv_open(s, "n");
    CHECK(r != NULL);
    dv_values v = { 0 };
    CHECK(dv_read(r, 42, &v, &err) == 1);
    CHECK_EQ_INT(v.n, 1);
    CHECK_EQ_INT(v.l[0], 41);
    dv_close(r);
    CHECK(dv_open(s, "title") == NULL);
    shard_searcher_close(s);
    es_err_free(&err);
    fx_close(&fx);
}

/* Liveness three ways: nothing removed; removals recorded in ix.dels; a removal the
 * writer never saw (store only), which falls back to reading _docs. */
TEST(liveness_modes)
{
    fixture fx;
    fx_open(&fx, MAPPING, 1);
    fx_index(&fx, CORPUS, 3, 1);
    hitv h[8];
    es_err err = { 0 };
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":\"dog\"}}", h, 8, &err), 2);
    /* replace doc 2 (dog -> cat) and delete doc 3, both marked */
    fx_write_marked(&fx, "2", "{\"title\":\"quick cat\"}");
    fx_write_marked(&fx, "3", NULL);
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":\"dog\"}}", h, 8, &err), 0);
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":\"cat\"}}", h, 8, &err), 1);
    CHECK_EQ_STR(h[0].id, "2");
    CHECK_EQ_INT(fx_search(&fx, "{\"match_all\":{}}", h, 8, &err), 2);
    /* doc 1 removed behind the writer's back: ix.dels no longer accounts for everything */
    fx_delete(&fx, "1");
    CHECK_EQ_INT(fx_search(&fx, "{\"match_all\":{}}", h, 8, &err), 1);
    CHECK_EQ_INT(fx_search(&fx, "{\"match\":{\"title\":\"quick\"}}", h, 8, &err), 1);
    es_err_free(&err);
    fx_close(&fx);
}

int main(void)
{
    RUN(norms_small_float);
    RUN(sortable_terms);
    RUN(varints);
    RUN(float_format);
    RUN(iterators);
    RUN(bm25_scores);
    RUN(query_errors);
    RUN(postings_blocks);
    RUN(liveness_modes);
    return unit_report();
}
