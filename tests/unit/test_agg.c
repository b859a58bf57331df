/* Unit tests for aggregations (src/search/agg*.c), the natural-order paging and slices of
 * scrolls and points in time (sort.c, context_slice.c): date printing, time zones and
 * calendar rounding, the interning map, aggregation results over several shards equal
 * to one shard's (the reduce), paging that returns every document once from any cursor,
 * and slices that partition exactly. */
#include "index/index.h"
#include "indices/indices.h"
#include "search/agg_int.h"
#include "search/context_int.h"
#include "search/search.h"
#include "store/store.h"
#include "unit.h"

#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Dates                                                                    */

static char *print_ms(const char *spec, int64_t ms, int32_t tz)
{
    static char out[128];
    es_err err = { 0 };
    dfmt *f = dfmt_compile(spec, &err);
    if (!f) {
        snprintf(out, sizeof out, "ERR %s", err.reason);
        es_err_free(&err);
        return out;
    }
    buf b = { 0 };
    dfmt_print_millis(f, ms, tz, &b);
    snprintf(out, sizeof out, "%s", b.p ? b.p : "");
    buf_free(&b);
    dfmt_free(f);
    return out;
}

TEST(date_printing)
{
    int64_t t = 1420088400123; /* 2015-01-01T05:00:00.123Z, a Thursday */
    CHECK_EQ_STR(print_ms("strict_date_optional_time||epoch_millis", t, 0), "2015-01-01T05:00:00.123Z");
    CHECK_EQ_STR(print_ms("date_optional_time", 1420070400000, 0), "2015-01-01T00:00:00.000Z");
    CHECK_EQ_STR(print_ms("strict_date_optional_time", t, 3600), "2015-01-01T06:00:00.123+01:00");
    CHECK_EQ_STR(print_ms("strict_date_optional_time", t, -5 * 3600 - 1800), "2014-12-31T23:30:00.123-05:30");
    CHECK_EQ_STR(print_ms("epoch_millis", t, 0), "1420088400123");
    CHECK_EQ_STR(print_ms("epoch_second", 1420088400000, 0), "1420088400");
    CHECK_EQ_STR(print_ms("yyyy-MM-dd", t, 0), "2015-01-01");
    CHECK_EQ_STR(print_ms("strict_date", t, 0), "2015-01-01");
    CHECK_EQ_STR(print_ms("basic_date", t, 0), "20150101");
    CHECK_EQ_STR(print_ms("year_month", t, 0), "2015-01");
    CHECK_EQ_STR(print_ms("dd/MM/yyyy HH:mm:ss.SSS", t, 0), "01/01/2015 05:00:00.123");
    CHECK_EQ_STR(print_ms("yyyy-MM-dd'T'HH:mm:ssZ", t, 0), "2015-01-01T05:00:00+0000");
    CHECK_EQ_STR(print_ms("EEE, dd MMM yyyy", t, 0), "Thu, 01 Jan 2015");
    CHECK_EQ_STR(print_ms("EEEE d MMMM yy h a", t, 0), "Thursday 1 January 15 5 AM");
    CHECK_EQ_STR(print_ms("yyyy-DDD", 1426809600000, 0), "2015-079");
    CHECK_EQ_STR(print_ms("yyyy-MM-dd", -86400000, 0), "1969-12-31");
    CHECK_EQ_STR(print_ms("strict_date_optional_time", -1, 0), "1969-12-31T23:59:59.999Z");
    CHECK(strncmp(print_ms("yyyy-qq", t, 0), "ERR", 3) == 0);
    /* nanosecond precision */
    es_err err = { 0 };
    dfmt *f = dfmt_compile("strict_date_optional_time_nanos", &err);
    CHECK(f != NULL);
    buf b = { 0 };
    dfmt_print(f, 1571646604, 828733000, 0, &b);
    CHECK_EQ_STR(b.p, "2019-10-21T08:30:04.828733Z");
    buf_reset(&b);
    dfmt_print(f, 1571646604, 828000000, 0, &b);
    CHECK_EQ_STR(b.p, "2019-10-21T08:30:04.828Z");
    buf_free(&b);
    dfmt_free(f);
}

static char *dec(const char *pattern, double v)
{
    static char out[64];
    buf b = { 0 };
    agg_format_decimal(pattern, v, &b);
    snprintf(out, sizeof out, "%s", b.p ? b.p : "");
    buf_free(&b);
    return out;
}

TEST(decimal_formats)
{
    CHECK_EQ_STR(dec("#.00", 2.25), "2.25");
    CHECK_EQ_STR(dec("#.00", 0.5), ".50");
    CHECK_EQ_STR(dec("0.00", 0.5), "0.50");
    CHECK_EQ_STR(dec("#.##", 2.0), "2");
    CHECK_EQ_STR(dec("#,##0.00", 1234567.891), "1,234,567.89");
    CHECK_EQ_STR(dec("0000", 42), "0042");
    CHECK_EQ_STR(dec("#", 3.7), "4");
    CHECK_EQ_STR(dec("$#,##0.0 USD", -1234.5), "-$1,234.5 USD");
    CHECK_EQ_STR(dec("#%", 0.25), "25%");
    CHECK_EQ_STR(dec("0.###", 1.0005), "1");
}

TEST(time_zones)
{
    es_err err = { 0 };
    int32_t tz = 1;
    CHECK(agg_tz_parse("UTC", &tz, &err) == 0 && tz == 0);
    CHECK(agg_tz_parse("Z", &tz, &err) == 0 && tz == 0);
    CHECK(agg_tz_parse("Etc/UTC", &tz, &err) == 0 && tz == 0);
    CHECK(agg_tz_parse("+01:00", &tz, &err) == 0 && tz == 3600);
    CHECK(agg_tz_parse("-0830", &tz, &err) == 0 && tz == -(8 * 3600 + 1800));
    CHECK(agg_tz_parse("+5", &tz, &err) == 0 && tz == 5 * 3600);
    CHECK(agg_tz_parse("UTC+02:00", &tz, &err) == 0 && tz == 7200);
    CHECK(agg_tz_parse("GMT-3", &tz, &err) == 0 && tz == -3 * 3600);
    CHECK(agg_tz_parse("Europe/Paris", &tz, &err) < 0);
    CHECK(err.reason && strstr(err.reason, "Europe/Paris"));
    es_err_free(&err);
    CHECK(agg_tz_parse("+25:00", &tz, &err) < 0);
    es_err_free(&err);
    CHECK(agg_tz_parse("nowhere", &tz, &err) < 0);
    es_err_free(&err);
}

TEST(calendar_rounding)
{
    int64_t t = 1420088400000; /* 2015-01-01T05:00Z, Thursday */
    CHECK_EQ_INT(agg_cal_round(t, CAL_DAY, 0), 1420070400000);
    CHECK_EQ_INT(agg_cal_round(t, CAL_DAY, 3600), 1420066800000);     /* local 06:00 on the 1st */
    CHECK_EQ_INT(agg_cal_round(t, CAL_DAY, -6 * 3600), 1419984000000 + 6 * 3600000); /* local Dec 31 23:00 */
    CHECK_EQ_INT(agg_cal_round(t, CAL_WEEK, 0), 1419811200000);       /* Monday 2014-12-29 */
    CHECK_EQ_INT(agg_cal_round(t, CAL_MONTH, 0), 1420070400000);
    CHECK_EQ_INT(agg_cal_round(1426809600000, CAL_QUARTER, 0), 1420070400000);
    CHECK_EQ_INT(agg_cal_round(1435708800000, CAL_QUARTER, 0), 1435708800000); /* 2015-07-01 */
    CHECK_EQ_INT(agg_cal_round(t, CAL_YEAR, 0), 1420070400000);
    CHECK_EQ_INT(agg_cal_round(t + 1234, CAL_HOUR, 0), t);
    CHECK_EQ_INT(agg_cal_round(t + 61234, CAL_MINUTE, 0), t + 60000);
    CHECK_EQ_INT(agg_cal_round(-1, CAL_DAY, 0), -86400000);
    CHECK_EQ_INT(agg_cal_round(-1, CAL_YEAR, 0), -31536000000);
    CHECK_EQ_INT(agg_cal_next(1420070400000, CAL_MONTH, 0), 1422748800000);
    CHECK_EQ_INT(agg_cal_next(1417392000000, CAL_MONTH, 0), 1420070400000); /* December -> January */
    CHECK_EQ_INT(agg_cal_next(1420070400000, CAL_QUARTER, 0), 1427846400000);
    CHECK_EQ_INT(agg_cal_next(1420070400000, CAL_YEAR, 0), 1451606400000);
    CHECK_EQ_INT(agg_cal_next(1419811200000, CAL_WEEK, 0), 1420416000000);
    /* every month start of 2015 in +05:30 rounds to itself, and next walks them */
    int64_t k = agg_cal_round(1420070400000, CAL_MONTH, 19800);
    for (int i = 0; i < 24; i++) {
        CHECK_EQ_INT(agg_cal_round(k, CAL_MONTH, 19800), k);
        CHECK_EQ_INT(agg_cal_round(k - 1, CAL_MONTH, 19800) < k, 1);
        k = agg_cal_next(k, CAL_MONTH, 19800);
    }
    CHECK(agg_cal_unit("1M") == CAL_MONTH && agg_cal_unit("month") == CAL_MONTH && agg_cal_unit("1m") == CAL_MINUTE);
    CHECK(agg_cal_unit("2d") == CAL_NONE);
}

TEST(kmap_interning)
{
    kmap m = { 0 };
    char key[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        bool added;
        CHECK_EQ_INT(kmap_put(&m, key, (size_t)n, &added), i);
        CHECK(added);
    }
    for (int i = 0; i < 20000; i += 7) {
        int n = snprintf(key, sizeof key, "k%d", i);
        bool added;
        CHECK_EQ_INT(kmap_put(&m, key, (size_t)n, &added), i);
        CHECK(!added);
        CHECK_EQ_INT(kmap_get(&m, key, (size_t)n), i);
        size_t len;
        const uint8_t *p = kmap_key(&m, (size_t)i, &len);
        CHECK(len == (size_t)n && !memcmp(p, key, len));
    }
    CHECK_EQ_INT(kmap_get(&m, "nope", 4), -1);
    CHECK_EQ_INT(kmap_put(&m, "", 0, NULL), 20000);
    CHECK_EQ_INT(kmap_get(&m, "", 0), 20000);
    kmap_free(&m);
}

/* ------------------------------------------------------------------------ */
/* A store with one index of N shards; documents routed as the node routes  */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) { return remove(p); }

typedef struct fixture {
    char dir[64];
    store *st;
    index_view *v;
    uint32_t shards;
} fixture;

static const char *const MAPPING =
    "{\"properties\":{\"tag\":{\"type\":\"keyword\"},\"n\":{\"type\":\"long\"},\"price\":{\"type\":\"double\"},"
    "\"day\":{\"type\":\"date\"}}}";

static void fx_open(fixture *fx, uint32_t shards)
{
    snprintf(fx->dir, sizeof fx->dir, "/tmp/ferry-agg-XXXXXX");
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
    v->mapping = mapping_parse_text(MAPPING, strlen(MAPPING), NULL, &err);
    CHECK(v->mapping != NULL);
    mapping_limits_default(&v->limits);
    atomic_init(&v->refs, 1);
    fx->v = v;
    fx->shards = shards;
    es_err_free(&err);
}

static void fx_close(fixture *fx)
{
    index_view_release(fx->v);
    store_close(fx->st);
    nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Indexes (or replaces) one document with id. */
static void fx_put(fixture *fx, const char *id, const char *doc)
{
    es_err err = { 0 };
    uint32_t shard = store_shard_for(fx->v->si, id, strlen(id));
    store_txn *txn;
    CHECK(store_write_begin(fx->v->si, shard, &txn, &err) == 0);
    index_writer *w = index_writer_begin(fx->st, txn);
    json_doc *jd = json_parse(doc, strlen(doc), NULL, NULL);
    CHECK(jd != NULL);
    parsed_doc pd = { 0 };
    doc_parse_opts po = { .src = doc, .src_len = strlen(doc), .doc = jd };
    CHECK(mapping_parse_document(fx->v->mapping, json_doc_root(jd), &po, &pd, &err) == 0);
    index_doc *idoc = index_doc_build(NULL, &pd, &err);
    CHECK(idoc != NULL);
    parsed_doc_free(&pd);
    json_doc_free(jd);
    store_write_result wr;
    CHECK(store_doc_index(txn, id, strlen(id), doc, strlen(doc), NULL, &wr, &err) == 0);
    index_writer_add(w, idoc, wr.docnum);
    CHECK(index_writer_flush(w, &err) == 0);
    CHECK(store_write_commit(txn, &err) == 0);
    index_writer_free(w);
    index_doc_free(idoc);
    if (es_err_isset(&err)) printf("  err: %s\n", err.reason);
    es_err_free(&err);
}

static void fx_fill(fixture *fx, int n)
{
    static const char *const tags[] = { "alpha", "beta", "gamma", "delta", "eps" };
    for (int i = 0; i < n; i++) {
        char id[16], doc[256];
        snprintf(id, sizeof id, "%d", i);
        /* skewed tags, so counts differ; every 7th document has no price */
        if (i % 7 == 3)
            snprintf(doc, sizeof doc, "{\"tag\":\"%s\",\"n\":%d,\"day\":\"2020-01-%02dT10:00:00Z\"}",
                     tags[(i * i) % 5], i, 1 + i % 28);
        else
            snprintf(doc, sizeof doc, "{\"tag\":[\"%s\",\"%s\"],\"n\":%d,\"price\":%d.25,\"day\":\"2020-01-%02dT10:00:00Z\"}",
                     tags[(i * i) % 5], tags[i % 3], i, i % 50, 1 + i % 28);
        fx_put(fx, id, doc);
    }
}

/* Runs "aggs" (JSON text) over every shard; returns the "aggregations" JSON (heap) or NULL. */
static char *fx_aggs(fixture *fx, const char *query_json, const char *aggs_json)
{
    es_err err = { 0 };
    json_doc *ad = json_parse(aggs_json, strlen(aggs_json), NULL, NULL);
    json_doc *qd = json_parse(query_json, strlen(query_json), NULL, NULL);
    CHECK(ad && qd);
    arena mem = { 0 };
    query_parse_ctx qc = { .mem = &mem, .doc = qd, .views = &fx->v, .n_views = 1, .now_ms = now_millis() };
    query *q = query_parse(&qc, json_doc_root(qd), &err);
    CHECK(q != NULL);
    agg_tree *t = NULL;
    char *out = NULL;
    if (agg_tree_parse(&mem, ad, json_doc_root(ad), &fx->v, 1, now_millis(), &t, &err) == 0) {
        agg_run *run = agg_run_new(t, false);
        search_collector *c = agg_run_collector(run);
        bool ok = true;
        for (uint32_t i = 0; i < fx->shards && ok; i++) {
            shard_searcher *s;
            CHECK(shard_searcher_open(fx->st, fx->v, i, &s, &err) == 0);
            collect_result cr;
            ok = shard_collect(s, i, q, &c, 1, NULL, 0, NULL, &cr, &err) == 0;
            shard_searcher_close(s);
        }
        if (ok) {
            buf b = { 0 };
            json_w w;
            jw_init(&w, &b, false);
            jw_obj_begin(&w);
            agg_run_write(&w, run);
            jw_obj_end(&w);
            out = buf_detach(&b, NULL);
        }
        agg_run_free(run);
        agg_tree_free(t);
    }
    if (es_err_isset(&err)) printf("  err: %s: %s\n", es_err_type_name(&err), err.reason);
    es_err_free(&err);
    arena_free(&mem);
    json_doc_free(ad);
    json_doc_free(qd);
    return out;
}

static const char *const AGGS =
    "{\"t\":{\"terms\":{\"field\":\"tag\",\"size\":3},\"aggs\":{\"p\":{\"stats\":{\"field\":\"price\"}},"
    "\"n\":{\"terms\":{\"field\":\"n\",\"size\":2,\"order\":{\"_key\":\"desc\"}}}}},"
    "\"h\":{\"histogram\":{\"field\":\"price\",\"interval\":10},\"aggs\":{\"c\":{\"cardinality\":{\"field\":\"tag\"}}}},"
    "\"d\":{\"date_histogram\":{\"field\":\"day\",\"calendar_interval\":\"week\"},\"aggs\":{\"s\":{\"sum\":{\"field\":\"price\"}}}},"
    "\"r\":{\"range\":{\"field\":\"n\",\"ranges\":[{\"to\":50},{\"from\":50,\"to\":150},{\"from\":150}]}},"
    "\"f\":{\"filters\":{\"filters\":{\"cheap\":{\"range\":{\"price\":{\"lt\":10}}},\"b\":{\"term\":{\"tag\":\"beta\"}}}}},"
    "\"m\":{\"missing\":{\"field\":\"price\"}},\"a\":{\"avg\":{\"field\":\"price\"}},\"x\":{\"max\":{\"field\":\"day\"}},"
    "\"ex\":{\"extended_stats\":{\"field\":\"n\"}},\"vc\":{\"value_count\":{\"field\":\"tag\"}}}";

TEST(aggs_reduce_equals_one_shard)
{
    fixture one, many;
    fx_open(&one, 1);
    fx_open(&many, 5);
    fx_fill(&one, 300);
    fx_fill(&many, 300);
    const char *queries[] = { "{\"match_all\":{}}", "{\"range\":{\"n\":{\"gte\":100,\"lt\":260}}}",
                              "{\"term\":{\"tag\":\"gamma\"}}", "{\"term\":{\"tag\":\"none\"}}" };
    for (size_t i = 0; i < ARRAY_LEN(queries); i++) {
        char *a = fx_aggs(&one, queries[i], AGGS);
        char *b = fx_aggs(&many, queries[i], AGGS);
        CHECK(a != NULL && b != NULL);
        if (a && b && strcmp(a, b)) UNIT_FAIL("one shard and five differ for %s:\n%s\n%s", queries[i], a, b);
        free(a);
        free(b);
    }
    /* spot checks against counts computed here */
    char *r = fx_aggs(&many, "{\"match_all\":{}}", "{\"c\":{\"value_count\":{\"field\":\"n\"}},\"m\":{\"missing\":{\"field\":\"price\"}}}");
    CHECK_EQ_STR(r, "{\"aggregations\":{\"c\":{\"value\":300},\"m\":{\"doc_count\":43}}}");
    free(r);
    fx_close(&one);
    fx_close(&many);
}

TEST(aggs_parse_errors)
{
    fixture fx;
    fx_open(&fx, 1);
    struct {
        const char *aggs, *type, *reason;
    } cases[] = {
        { "{\"a\":{\"trems\":{\"field\":\"tag\"}}}", "parsing_exception", "Unknown aggregation type [trems] did you mean [terms]?" },
        { "{\"a\":{\"avgg\":{}}}", "parsing_exception", "Unknown aggregation type [avgg] did you mean [avg]?" },
        { "{\"a\":{}}", "parsing_exception", "Missing definition for aggregation [a]" },
        { "{\"a\":[]}", "parsing_exception", "Expected [START_OBJECT] under [a], but got a [START_ARRAY] in [a]" },
        { "{\"a\":{\"terms\":{\"field\":\"tag\"},\"avg\":{\"field\":\"n\"}}}", "parsing_exception",
          "Found two aggregation type definitions in [a]: [terms] and [avg]" },
        { "{\"a[1]\":{\"avg\":{\"field\":\"n\"}}}", "parsing_exception",
          "Invalid aggregation name [a[1]]. Aggregation names can contain any character except '[', ']', and '>'" },
        { "{\"a\":{\"terms\":{\"field\":\"tag\",\"sise\":1}}}", "x_content_parse_exception",
          "[1:30] [terms] unknown field [sise] did you mean [size]?" },
        { "{\"a\":{\"date_histogram\":{\"field\":\"day\",\"calendar_interval\":\"1d\",\"time_zone\":\"Mars/Olympus\"}}}",
          "illegal_argument_exception", NULL },
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        json_doc *d = json_parse(cases[i].aggs, strlen(cases[i].aggs), NULL, NULL);
        CHECK(d != NULL);
        arena mem = { 0 };
        es_err err = { 0 };
        agg_tree *t = NULL;
        CHECK(agg_tree_parse(&mem, d, json_doc_root(d), &fx.v, 1, 0, &t, &err) < 0);
        CHECK(t == NULL);
        CHECK_EQ_STR(es_err_type_name(&err), cases[i].type);
        if (cases[i].reason) CHECK_EQ_STR(err.reason, cases[i].reason);
        es_err_free(&err);
        arena_free(&mem);
        json_doc_free(d);
    }
    fx_close(&fx);
}

/* ------------------------------------------------------------------------ */
/* Paging and slices                                                        */

static int open_all(fixture *fx, shard_searcher **ss)
{
    es_err err = { 0 };
    for (uint32_t i = 0; i < fx->shards; i++)
        if (shard_searcher_open(fx->st, fx->v, i, &ss[i], &err) < 0) return -1;
    return 0;
}

/* Reads every id of q through pages of `size` in `order`; counts how often each id (0..n-1) came. */
static void page_all(fixture *fx, shard_searcher **ss, const query *q, page_order order, size_t size, int *seen,
                     int n)
{
    search_request req;
    memset(&req, 0, sizeof req);
    bool has = false;
    uint32_t cs = 0;
    uint64_t cd = 0;
    int guard = 0;
    for (;;) {
        search_hit *h;
        size_t nh;
        es_err err = { 0 };
        CHECK(page_run(&req, q, ss, fx->shards, order, has, cs, cd, size, false, &h, &nh, &err) == 0);
        if (!nh || ++guard > 10000) {
            page_hits_free(h, nh);
            break;
        }
        for (size_t i = 0; i < nh; i++) {
            store_doc d;
            CHECK(shard_searcher_doc(ss[h[i].shard_index], h[i].docnum, &d, &err) == 1);
            int id = atoi(d.id);
            if (id >= 0 && id < n) seen[id]++;
            if (i) {
                /* strictly increasing in the order */
                const search_hit *p = &h[i - 1];
                if (order == ORDER_SHARD_DOC)
                    CHECK(p->shard_index < h[i].shard_index ||
                          (p->shard_index == h[i].shard_index && p->docnum < h[i].docnum));
                else
                    CHECK(p->docnum < h[i].docnum || (p->docnum == h[i].docnum && p->shard_index < h[i].shard_index));
            }
        }
        has = true;
        cs = h[nh - 1].shard_index;
        cd = h[nh - 1].docnum;
        page_hits_free(h, nh);
    }
}

TEST(paging_every_document_once)
{
    fixture fx;
    fx_open(&fx, 3);
    int n = 400;
    fx_fill(&fx, n);
    /* replace a few: new docnums, old ones dead */
    for (int i = 0; i < n; i += 9) {
        char id[16];
        snprintf(id, sizeof id, "%d", i);
        fx_put(&fx, id, "{\"tag\":\"replaced\",\"n\":-1}");
    }
    shard_searcher *ss[3];
    CHECK(open_all(&fx, ss) == 0);
    arena mem = { 0 };
    query_parse_ctx qc = { .mem = &mem, .views = &fx.v, .n_views = 1 };
    query *all = query_match_all(&qc);
    size_t sizes[] = { 1, 7, 64, 1000 };
    for (size_t s = 0; s < ARRAY_LEN(sizes); s++) {
        for (int o = 0; o < 2; o++) {
            int *seen = xcalloc((size_t)n, sizeof *seen);
            page_all(&fx, ss, all, o ? ORDER_DOC : ORDER_SHARD_DOC, sizes[s], seen, n);
            for (int i = 0; i < n; i++)
                if (seen[i] != 1) {
                    UNIT_FAIL("order %d size %zu: id %d seen %d times", o, sizes[s], i, seen[i]);
                    break;
                }
            free(seen);
        }
    }
    /* a slice partition: every document in exactly one slice, for several max */
    int64_t maxes[] = { 2, 3, 5, 7, 11 };
    for (size_t m = 0; m < ARRAY_LEN(maxes); m++) {
        int *seen = xcalloc((size_t)n, sizeof *seen);
        for (int64_t id = 0; id < maxes[m]; id++) {
            slice_spec sl = { id, maxes[m], NULL };
            query *q = slice_wrap(&mem, all, &sl, ss, fx.shards);
            page_all(&fx, ss, q, ORDER_SHARD_DOC, 50, seen, n);
        }
        for (int i = 0; i < n; i++)
            if (seen[i] != 1) {
                UNIT_FAIL("max %lld: id %d in %d slices", (long long)maxes[m], i, seen[i]);
                break;
            }
        free(seen);
    }
    /* counting: a bare match_all counts live documents */
    search_request req;
    memset(&req, 0, sizeof req);
    uint64_t total;
    bool gte;
    es_err err = { 0 };
    CHECK(count_hits(&req, all, true, ss, fx.shards, INT64_MAX, &total, &gte, &err) == 0);
    CHECK_EQ_INT(total, n);
    CHECK(count_hits(&req, all, false, ss, fx.shards, 100, &total, &gte, &err) == 0);
    CHECK_EQ_INT(total, 100);
    CHECK(gte);
    for (uint32_t i = 0; i < fx.shards; i++) shard_searcher_close(ss[i]);
    arena_free(&mem);
    fx_close(&fx);
}

TEST(shard_doc_encoding)
{
    uint32_t s;
    uint64_t d;
    shard_doc_decode(shard_doc_encode(0, 1), &s, &d);
    CHECK(s == 0 && d == 1);
    shard_doc_decode(shard_doc_encode(7, 123456789012ull), &s, &d);
    CHECK(s == 7 && d == 123456789012ull);
    CHECK(shard_doc_encode(1, 0) > shard_doc_encode(0, (1ull << 40) - 1));
    CHECK_EQ_INT(shard_doc_encode(2, 1), 2199023255553ll);
}

int main(void)
{
    RUN(date_printing);
    RUN(decimal_formats);
    RUN(time_zones);
    RUN(calendar_rounding);
    RUN(kmap_interning);
    RUN(aggs_reduce_equals_one_shard);
    RUN(aggs_parse_errors);
    RUN(paging_every_document_once);
    RUN(shard_doc_encoding);
    return unit_report();
}
