/* Unit tests for src/indices/indices_write.c: auto ids, the write pipeline (targets,
 * per-shard transactions, results in order), updates inside a batch, and concurrent
 * writers racing dynamic mapping updates. */
#include "indices/indices.h"
#include "unit.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];
static config *cfg;

static const setting_def test_settings[] = {
    { "path.data", SETTING_STRING, "data", NULL, 0, 0, NULL },
};

static indices *open_fresh(void)
{
    static bool registered;
    if (!registered) {
        config_register(test_settings, ARRAY_LEN(test_settings));
        config_register(indices_settings, indices_settings_count);
        registered = true;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-iw-XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
    char *data = xasprintf("path.data=%s/data", tmpdir);
    const char *over[] = { data };
    char *msg = NULL;
    cfg = config_load(tmpdir, over, 1, &msg);
    free(data);
    if (!cfg) {
        printf("config: %s\n", msg);
        abort();
    }
    es_err err = { 0 };
    indices *ix = indices_open(cfg, &err);
    if (!ix) {
        printf("open: %s\n", err.reason);
        abort();
    }
    return ix;
}

static void close_fresh(indices *ix)
{
    indices_close(ix);
    config_free(cfg);
    char *cmd = xasprintf("rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("cleanup failed\n");
    free(cmd);
}

static json_doc *J(const char *s)
{
    json_doc *d = json_parse(s, strlen(s), NULL, NULL);
    if (!d) abort();
    return d;
}

static write_op index_op(const char *index, const char *id, const char *src)
{
    return (write_op){ .kind = WOP_INDEX, .index = index, .id = id, .source = src, .source_len = strlen(src) };
}

/* The stored source of a document (heap) or NULL. */
static char *stored(indices *ix, const char *index, const char *id, int64_t *version)
{
    index_view *v = indices_get(ix, index);
    if (!v) return NULL;
    uint32_t shard = store_shard_for(v->si, id, strlen(id));
    store_txn *t;
    es_err err = { 0 };
    char *out = NULL;
    if (store_read_begin(v->si, shard, &t, &err) == 0) {
        store_doc d;
        if (store_doc_get(t, id, strlen(id), &d, &err) == 1) {
            out = xstrndup(d.source, d.srclen);
            if (version) *version = d.version;
        }
        store_read_end(t);
    }
    es_err_free(&err);
    index_view_release(v);
    return out;
}

/* ------------------------------------------------------------------------ */

TEST(auto_id_shape_and_uniqueness)
{
    enum { N = 100000 };
    char(*ids)[21] = xmalloc(N * sizeof *ids);
    for (int i = 0; i < N; i++) indices_auto_id(ids[i]);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        if (strlen(ids[i]) != 20) bad++;
        for (const char *p = ids[i]; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                  *p == '_'))
                bad++;
    }
    CHECK_EQ_INT(bad, 0);
    qsort(ids, N, sizeof *ids, (int (*)(const void *, const void *))strcmp);
    int dups = 0;
    for (int i = 1; i < N; i++)
        if (!strcmp(ids[i - 1], ids[i])) dups++;
    CHECK_EQ_INT(dups, 0);
    free(ids);
}

/* The timestamp bytes of an id decode back to about now (Elasticsearch's layout). */
TEST(auto_id_carries_the_time)
{
    char id[21];
    int64_t before = now_millis();
    indices_auto_id(id);
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t b[15] = { 0 };
    uint32_t acc = 0;
    int bits = 0, o = 0;
    for (int i = 0; i < 20; i++) {
        acc = (acc << 6) | (uint32_t)(strchr(tbl, id[i]) - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            b[o++] = (uint8_t)(acc >> bits);
        }
    }
    CHECK_EQ_INT(o, 15);
    int64_t ts = ((int64_t)b[5] << 40) | ((int64_t)b[4] << 32) | ((int64_t)b[3] << 24) | ((int64_t)b[2] << 16) |
                 ((int64_t)b[12] << 8) | (int64_t)b[14];
    CHECK(ts >= before && ts <= now_millis() + 1);
}

static void *ids_thread(void *arg)
{
    char(*ids)[21] = arg;
    for (int i = 0; i < 20000; i++) indices_auto_id(ids[i]);
    return NULL;
}

TEST(auto_ids_from_threads_are_unique)
{
    enum { T = 4, N = 20000 };
    char(*ids)[21] = xmalloc(T * N * sizeof *ids);
    pthread_t th[T];
    for (int t = 0; t < T; t++) pthread_create(&th[t], NULL, ids_thread, ids + t * N);
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    qsort(ids, T * N, sizeof *ids, (int (*)(const void *, const void *))strcmp);
    int dups = 0;
    for (int i = 1; i < T * N; i++)
        if (!strcmp(ids[i - 1], ids[i])) dups++;
    CHECK_EQ_INT(dups, 0);
    free(ids);
}

TEST(batch_results_in_order_over_shards_and_indices)
{
    indices *ix = open_fresh();
    es_err err = { 0 };
    json_doc *body = J("{\"settings\":{\"number_of_shards\":3}}");
    CHECK_EQ_INT(indices_create(ix, "many", json_doc_root(body), NULL, &err), 0);
    json_doc_free(body);
    char ids[40][16];
    write_op ops[40];
    for (int i = 0; i < 40; i++) {
        snprintf(ids[i], sizeof ids[i], "d%d", i);
        ops[i] = index_op(i % 5 == 0 ? "other" : "many", ids[i], "{\"n\":1}");
    }
    write_result res[40] = { 0 };
    write_opts wo = { .auto_create = true };
    CHECK_EQ_INT(indices_write(ix, ops, 40, &wo, res, &err), 0);
    for (int i = 0; i < 40; i++) {
        CHECK(!es_err_isset(&res[i].err));
        CHECK_EQ_STR(res[i].id, ids[i]);
        CHECK_EQ_STR(res[i].index, i % 5 == 0 ? "other" : "many");
        CHECK_EQ_INT(res[i].status, 201);
        CHECK_EQ_INT(res[i].r.version, 1);
        write_result_free(&res[i]);
    }
    char *s = stored(ix, "many", "d7", NULL);
    CHECK_EQ_STR(s, "{\"n\":1}");
    free(s);
    close_fresh(ix);
}

TEST(items_fail_alone)
{
    indices *ix = open_fresh();
    es_err err = { 0 };
    json_doc *upd = J("{\"doc\":{\"x\":1}}");
    write_op ops[] = {
        index_op("t", "1", "{\"n\":1}"),
        { .kind = WOP_CREATE, .index = "t", .id = "1", .source = "{}", .source_len = 2 },
        index_op("t", "2", "{\"n\":\"many\"}"),
        index_op("t", "3", "{bad"),
        { .kind = WOP_UPDATE, .index = "t", .id = "nope", .update = json_doc_root(upd) },
        { .kind = WOP_DELETE, .index = "missing_index", .id = "1" },
        { .kind = WOP_INDEX, .index = "t", .id = "", .source = "{}", .source_len = 2 },
        { .kind = WOP_INDEX, .index = "t", .id = "4", .source = "{}", .source_len = 2, .pipeline = "p" },
        index_op("t", "5", "{\"n\":5}"),
    };
    size_t n = ARRAY_LEN(ops);
    write_result res[ARRAY_LEN(ops)];
    memset(res, 0, sizeof res);
    write_opts wo = { .auto_create = true };
    CHECK_EQ_INT(indices_write(ix, ops, n, &wo, res, &err), 0);
    CHECK_EQ_INT(res[0].status, 201);
    CHECK_EQ_INT(res[1].status, 409);
    CHECK_EQ_STR(es_err_type_name(&res[1].err), "version_conflict_engine_exception");
    CHECK_EQ_STR(es_err_type_name(&res[2].err), "document_parsing_exception");
    CHECK_EQ_STR(es_err_type_name(&res[3].err), "document_parsing_exception");
    CHECK_EQ_STR(es_err_type_name(&res[4].err), "document_missing_exception");
    CHECK_EQ_INT(res[4].status, 404);
    CHECK_EQ_STR(es_err_type_name(&res[5].err), "index_not_found_exception");
    CHECK_EQ_STR(res[6].err.reason, "if _id is specified it must not be empty");
    CHECK_EQ_STR(res[7].err.reason, "pipeline with id [p] does not exist");
    CHECK_EQ_INT(res[8].status, 201);
    CHECK_EQ_INT(res[8].r.seq_no, 1); /* failed items take no sequence number */
    for (size_t i = 0; i < n; i++) write_result_free(&res[i]);
    json_doc_free(upd);
    CHECK(indices_get(ix, "missing_index") == NULL);
    close_fresh(ix);
}

TEST(updates_see_earlier_items_of_the_batch)
{
    indices *ix = open_fresh();
    es_err err = { 0 };
    json_doc *u1 = J("{\"doc\":{\"b\":{\"c\":\"2024-01-01\"}}}");
    json_doc *u2 = J("{\"doc\":{\"b\":{\"c\":\"2024-01-01\"}}}");
    json_doc *u3 = J("{\"doc\":{\"z\":1},\"upsert\":{\"u\":true}}");
    json_doc *want = J("true");
    write_op ops[] = {
        index_op("t", "1", "{\"a\":1,\"b\":{\"d\":2}}"),
        { .kind = WOP_UPDATE, .index = "t", .id = "1", .update = json_doc_root(u1) },
        { .kind = WOP_UPDATE, .index = "t", .id = "1", .update = json_doc_root(u2), .source_filter = json_doc_root(want) },
        { .kind = WOP_UPDATE, .index = "t", .id = "2", .update = json_doc_root(u3) },
        { .kind = WOP_DELETE, .index = "t", .id = "1" },
    };
    write_result res[5] = { 0 };
    write_opts wo = { .auto_create = true, .refresh = 1 };
    CHECK_EQ_INT(indices_write(ix, ops, 5, &wo, res, &err), 0);
    CHECK_EQ_INT(res[1].r.result, STORE_RESULT_UPDATED);
    CHECK_EQ_INT(res[1].r.version, 2);
    CHECK(res[1].forced_refresh);
    CHECK_EQ_INT(res[2].r.result, STORE_RESULT_NOOP);
    CHECK_EQ_INT(res[2].r.version, 2);
    CHECK(!res[2].forced_refresh);
    CHECK_EQ_STR(res[2].get_json,
                 "{\"_seq_no\":1,\"_primary_term\":1,\"found\":true,\"_source\":{\"a\":1,\"b\":{\"d\":2,\"c\":\"2024-01-01\"}}}");
    CHECK_EQ_INT(res[3].r.result, STORE_RESULT_CREATED);
    CHECK_EQ_INT(res[3].status, 201);
    CHECK_EQ_INT(res[4].r.result, STORE_RESULT_DELETED);
    for (int i = 0; i < 5; i++) write_result_free(&res[i]);
    char *s = stored(ix, "t", "2", NULL);
    CHECK_EQ_STR(s, "{\"u\":true}");
    free(s);
    /* The update's new field reached the mapping. */
    index_view *v = indices_get(ix, "t");
    const mfield *f = mapping_field(v->mapping, "b.c");
    CHECK(f && f->type == FT_DATE);
    index_view_release(v);
    json_doc_free(u1);
    json_doc_free(u2);
    json_doc_free(u3);
    json_doc_free(want);
    close_fresh(ix);
}

typedef struct racer {
    indices *ix;
    int n;
    int failures;
} racer;

/* Every writer adds its own fields and shares some; all of them land in the mapping. */
static void *race_thread(void *arg)
{
    racer *r = arg;
    for (int b = 0; b < 20; b++) {
        char src[10][160], id[10][32];
        write_op ops[10];
        for (int i = 0; i < 10; i++) {
            snprintf(id[i], sizeof id[i], "w%d-%d-%d", r->n, b, i);
            snprintf(src[i], sizeof src[i], "{\"shared\":%d,\"own_%d_%d\":\"x\",\"obj\":{\"f%d\":true}}", i, r->n, b,
                     i % 3);
            ops[i] = index_op("race", id[i], src[i]);
        }
        write_result res[10] = { 0 };
        es_err err = { 0 };
        write_opts wo = { .auto_create = true };
        if (indices_write(r->ix, ops, 10, &wo, res, &err)) r->failures++;
        for (int i = 0; i < 10; i++) {
            if (es_err_isset(&res[i].err)) {
                if (!r->failures) printf("  writer %d: %s\n", r->n, res[i].err.reason);
                r->failures++;
            }
            write_result_free(&res[i]);
        }
    }
    return NULL;
}

TEST(concurrent_writers_race_dynamic_mapping)
{
    indices *ix = open_fresh();
    enum { T = 4 };
    racer rs[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        rs[t] = (racer){ ix, t, 0 };
        pthread_create(&th[t], NULL, race_thread, &rs[t]);
    }
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++) CHECK_EQ_INT(rs[t].failures, 0);
    index_view *v = indices_get(ix, "race");
    CHECK(v != NULL);
    if (v) {
        CHECK(mapping_field(v->mapping, "shared") != NULL);
        CHECK(mapping_field(v->mapping, "obj.f2") != NULL);
        int missing = 0;
        for (int t = 0; t < T; t++)
            for (int b = 0; b < 20; b++) {
                char name[32];
                snprintf(name, sizeof name, "own_%d_%d", t, b);
                if (!mapping_field(v->mapping, name)) missing++;
            }
        CHECK_EQ_INT(missing, 0);
        index_view_release(v);
    }
    close_fresh(ix);
}

/* Two writers introduce the same field with different types: one wins, the other's
 * document fails alone against the winner's mapping; nothing crashes. */
static void *conflict_thread(void *arg)
{
    racer *r = arg;
    char src[64], id[32];
    snprintf(id, sizeof id, "c%d", r->n);
    snprintf(src, sizeof src, r->n % 2 ? "{\"f\":{\"inner\":1}}" : "{\"f\":\"text\"}");
    write_op op = index_op("conflict", id, src);
    write_result res = { 0 };
    es_err err = { 0 };
    write_opts wo = { .auto_create = true };
    indices_write(r->ix, &op, 1, &wo, &res, &err);
    if (es_err_isset(&res.err)) r->failures++;
    write_result_free(&res);
    return NULL;
}

TEST(conflicting_dynamic_fields)
{
    indices *ix = open_fresh();
    enum { T = 8 };
    racer rs[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        rs[t] = (racer){ ix, t, 0 };
        pthread_create(&th[t], NULL, conflict_thread, &rs[t]);
    }
    int failed = 0;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        failed += rs[t].failures;
    }
    CHECK_EQ_INT(failed, T / 2);
    close_fresh(ix);
}

int main(void)
{
    RUN(auto_id_shape_and_uniqueness);
    RUN(auto_id_carries_the_time);
    RUN(auto_ids_from_threads_are_unique);
    RUN(batch_results_in_order_over_shards_and_indices);
    RUN(items_fail_alone);
    RUN(updates_see_earlier_items_of_the_batch);
    RUN(concurrent_writers_race_dynamic_mapping);
    RUN(conflicting_dynamic_fields);
    return unit_report();
}
