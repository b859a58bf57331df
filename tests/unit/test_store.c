/* Unit tests for src/store: index metadata, documents and versioning, bulk
 * durability, routing, map growth, concurrency, snapshots, caller tables. */
#include "store/store.h"
#include "unit.h"

#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* helpers */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static char *tmpdir(void)
{
    char *d = xstrdup("/tmp/ferry-store-XXXXXX");
    if (!mkdtemp(d)) {
        perror("mkdtemp");
        abort();
    }
    return d;
}

static void rmdir_all(char *d)
{
    nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static bool exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static const char *extra(const es_err *e, const char *key)
{
    for (size_t i = 0; i < e->n_extra; i++)
        if (strcmp(e->extra[i].key, key) == 0) return e->extra[i].value;
    return NULL;
}

static store *open_or_die(const char *dir, const store_options *o)
{
    es_err err = { 0 };
    store *st = store_open_ex(dir, o, &err);
    if (!st) {
        printf("store_open: %s\n", err.reason);
        abort();
    }
    return st;
}

static store_index *mk_index(store *st, const char *name, uint32_t shards)
{
    es_err err = { 0 };
    store_index_spec sp = { .name = name, .number_of_shards = shards };
    store_index *idx = NULL;
    if (store_index_create(st, &sp, &idx, &err) != 0) {
        printf("create %s: %s\n", name, err.reason);
        abort();
    }
    return idx;
}

/* Index one document in its own transaction; returns the store code. */
static int put1(store_index *idx, uint32_t shard, const char *id, const char *src, const store_write_opts *o,
                store_write_result *res, es_err *err)
{
    store_txn *t;
    if (store_write_begin(idx, shard, &t, err) != 0) return -1;
    int r = store_doc_index(t, id, strlen(id), src, strlen(src), o, res, err);
    if (r < 0) {
        store_write_abort(t);
        return r;
    }
    if (store_write_commit(t, err) != 0) return -1;
    return r;
}

static int del1(store_index *idx, uint32_t shard, const char *id, const store_write_opts *o,
                store_write_result *res, es_err *err)
{
    store_txn *t;
    if (store_write_begin(idx, shard, &t, err) != 0) return -1;
    int r = store_doc_delete(t, id, strlen(id), o, res, err);
    if (r < 0) {
        store_write_abort(t);
        return r;
    }
    if (store_write_commit(t, err) != 0) return -1;
    return r;
}

/* Source bytes of a document, or NULL (heap). */
static char *get_src(store_index *idx, uint32_t shard, const char *id, store_doc *out)
{
    es_err err = { 0 };
    store_txn *s;
    if (store_read_begin(idx, shard, &s, &err) != 0) return NULL;
    store_doc d;
    char *r = NULL;
    if (store_doc_get(s, id, strlen(id), &d, &err) == 1) {
        r = xstrndup(d.source, d.srclen);
        if (out) *out = d;
    }
    store_read_end(s);
    es_err_free(&err);
    return r;
}

static uint64_t shard_docs(store_index *idx, uint32_t shard)
{
    es_err err = { 0 };
    store_shard_stats ss;
    if (store_shard_stats_get(idx, shard, &ss, &err) != 0) {
        es_err_free(&err);
        return UINT64_MAX;
    }
    return ss.doc_count;
}

static void fill_random(uint8_t *p, size_t n, uint64_t *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(*seed >> 56);
    }
}

/* ------------------------------------------------------------------------ */
/* tests */

TEST(murmur3_vectors)
{
    CHECK_EQ_INT(store_murmur3_32("", 0, 0), 0);
    CHECK_EQ_INT(store_murmur3_32("", 0, 1), 0x514E28B7u);
    CHECK_EQ_INT(store_murmur3_32("", 0, 0xffffffffu), 0x81F16F39u);
    CHECK_EQ_INT(store_murmur3_32("\xff\xff\xff\xff", 4, 0), 0x76293B50u);
    CHECK_EQ_INT(store_murmur3_32("\x21\x43\x65\x87", 4, 0), 0xF55B516Bu);
    CHECK_EQ_INT(store_murmur3_32("\x21\x43\x65", 3, 0), 0x7E4A8634u);
    CHECK_EQ_INT(store_murmur3_32("\x21\x43", 2, 0), 0xA0F7B07Au);
    CHECK_EQ_INT(store_murmur3_32("\x21", 1, 0), 0x72661CF4u);
    CHECK_EQ_INT(store_murmur3_32("\0\0\0\0", 4, 0), 0x2362F9DEu);
    CHECK_EQ_INT(store_murmur3_32("\x21\x43\x65\x87", 4, 0x5082EDEEu), 0x2362F9DEu);
    CHECK_EQ_INT(store_murmur3_32("aaaa", 4, 0x9747b28c), 0x5A97808Au);
    CHECK_EQ_INT(store_murmur3_32("Hello, world!", 13, 0x9747b28c), 0x24884CBAu);
    CHECK_EQ_INT(store_murmur3_32("foo", 3, 0), 0xF6A5C420u);
    CHECK_EQ_INT(store_murmur3_32("The quick brown fox jumps over the lazy dog", 43, 0x9747b28c), 0x2FA826CDu);
}

TEST(node_ids_stable_across_reopen)
{
    char *dir = tmpdir();
    char n1[23], c1[23], n2[23], c2[23];
    store *st = open_or_die(dir, NULL);
    store_node_ids(st, n1, c1);
    CHECK_EQ_INT(strlen(n1), 22);
    CHECK_EQ_INT(strlen(c1), 22);
    CHECK(strcmp(n1, c1) != 0);
    CHECK_EQ_INT(store_meta_version(st), 1);

    /* A second store on the same path is refused (node lock). */
    es_err err = { 0 };
    store *st2 = store_open(dir, &err);
    CHECK(st2 == NULL);
    CHECK_EQ_STR(es_err_type_name(&err), "illegal_state_exception");
    CHECK(err.reason && strstr(err.reason, "failed to obtain node locks"));
    es_err_free(&err);
    store_close(st);

    st = open_or_die(dir, NULL);
    store_node_ids(st, n2, c2);
    CHECK_EQ_STR(n1, n2);
    CHECK_EQ_STR(c1, c2);
    store_close(st);
    rmdir_all(dir);
}

TEST(index_metadata_create_list_update_delete_reopen)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    es_err err = { 0 };

    const char *settings = "{\"index\":{\"number_of_replicas\":\"1\"}}";
    const char *mappings = "{\"properties\":{\"a\":{\"type\":\"keyword\"}}}";
    store_index_spec sp = { .name = "beta", .number_of_shards = 2, .creation_date = 1700000000123,
                            .settings = { settings, strlen(settings) }, .mappings = { mappings, strlen(mappings) },
                            .aliases = { "{}", 2 } };
    store_index *beta = NULL;
    CHECK_EQ_INT(store_index_create(st, &sp, &beta, &err), 0);
    CHECK(beta != NULL);
    store_index *alpha = mk_index(st, "alpha", 1);
    CHECK_EQ_INT(store_meta_version(st), 3);
    char beta_uuid[23];
    strcpy(beta_uuid, store_index_uuid(beta));
    CHECK_EQ_INT(strlen(beta_uuid), 22);
    CHECK(strcmp(beta_uuid, store_index_uuid(alpha)) != 0);

    /* folders */
    char *p = xasprintf("%s/indices/%s/1", dir, beta_uuid);
    CHECK(exists(p));
    free(p);

    /* duplicate */
    store_index_spec dup = { .name = "beta", .number_of_shards = 1 };
    CHECK_EQ_INT(store_index_create(st, &dup, NULL, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "resource_already_exists_exception");
    CHECK_EQ_INT(err.status, 400);
    char *want = xasprintf("index [beta/%s] already exists", beta_uuid);
    CHECK_EQ_STR(err.reason, want);
    free(want);
    CHECK_EQ_STR(extra(&err, "index_uuid"), beta_uuid);
    CHECK_EQ_STR(extra(&err, "index"), "beta");
    es_err_free(&err);

    /* bad shard count */
    store_index_spec bad = { .name = "zero", .number_of_shards = 0 };
    CHECK_EQ_INT(store_index_create(st, &bad, NULL, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "illegal_argument_exception");
    es_err_free(&err);

    /* list is sorted */
    store_index **list;
    size_t n;
    store_index_list(st, &list, &n);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_STR(store_index_name(list[0]), "alpha");
        CHECK_EQ_STR(store_index_name(list[1]), "beta");
    }
    store_index_list_free(list, n);

    /* metadata snapshot survives an update */
    const store_index_meta *m0 = store_index_meta_acquire(beta);
    CHECK_EQ_STR(m0->mappings.p, mappings);
    CHECK_EQ_INT(m0->version, 1);
    CHECK_EQ_INT(m0->creation_date, 1700000000123);
    const char *m2 = "{\"properties\":{\"a\":{\"type\":\"keyword\"},\"b\":{\"type\":\"long\"}}}";
    store_index_update up = { .name = "beta", .set_mappings = true, .mappings = { m2, strlen(m2) }, .if_version = 1 };
    CHECK_EQ_INT(store_index_update_meta(st, &up, 1, &err), 0);
    CHECK_EQ_STR(m0->mappings.p, mappings); /* old snapshot unchanged */
    store_index_meta_release(m0);
    const store_index_meta *m1 = store_index_meta_acquire(beta);
    CHECK_EQ_STR(m1->mappings.p, m2);
    CHECK_EQ_STR(m1->settings.p, settings);
    CHECK_EQ_INT(m1->version, 2);
    CHECK_EQ_INT(m1->mappings_version, 2);
    CHECK_EQ_INT(m1->settings_version, 1);
    store_index_meta_release(m1);

    /* stale compare-and-set */
    CHECK_EQ_INT(store_index_update_meta(st, &up, 1, &err), STORE_REJECTED);
    CHECK_EQ_STR(es_err_type_name(&err), "version_conflict_engine_exception");
    es_err_free(&err);

    /* an aliases change over two indices, atomically; one missing -> none applied */
    store_index_update two[2] = {
        { .name = "alpha", .set_aliases = true, .aliases = { "{\"x\":{}}", 8 } },
        { .name = "nope", .set_aliases = true, .aliases = { "{\"x\":{}}", 8 } },
    };
    CHECK_EQ_INT(store_index_update_meta(st, two, 2, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "index_not_found_exception");
    es_err_free(&err);
    two[1].name = "beta";
    CHECK_EQ_INT(store_index_update_meta(st, two, 2, &err), 0);
    int64_t mv = store_meta_version(st);

    /* delete */
    CHECK_EQ_INT(store_index_delete(st, "nope", &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "index_not_found_exception");
    CHECK_EQ_STR(err.reason, "no such index [nope]");
    CHECK_EQ_INT(err.status, 404);
    CHECK_EQ_STR(extra(&err, "resource.id"), "nope");
    es_err_free(&err);
    char *alpha_dir = xasprintf("%s/indices/%s", dir, store_index_uuid(alpha));
    store_index_release(alpha);
    CHECK_EQ_INT(store_index_delete(st, "alpha", &err), 0);
    CHECK(!exists(alpha_dir));
    CHECK(store_index_get(st, "alpha") == NULL);
    CHECK_EQ_INT(store_meta_version(st), mv + 1);
    store_index_release(beta);
    store_close(st);

    /* an orphan folder is removed at open */
    char *orphan_dir = xasprintf("%s/indices/AAAAAAAAAAAAAAAAAAAAAA", dir);
    char *orphan = xasprintf("%s/0", orphan_dir);
    CHECK_EQ_INT(mkdir(orphan_dir, 0755), 0);
    CHECK_EQ_INT(mkdir(orphan, 0755), 0);

    st = open_or_die(dir, NULL);
    CHECK(!exists(orphan_dir));
    CHECK_EQ_INT(store_meta_version(st), mv + 1);
    store_index_list(st, &list, &n);
    CHECK_EQ_INT(n, 1);
    store_index_list_free(list, n);
    beta = store_index_get(st, "beta");
    CHECK(beta != NULL);
    if (beta) {
        CHECK_EQ_STR(store_index_uuid(beta), beta_uuid);
        CHECK_EQ_INT(store_index_num_shards(beta), 2);
        const store_index_meta *m = store_index_meta_acquire(beta);
        CHECK_EQ_STR(m->mappings.p, m2);
        CHECK_EQ_INT(m->mappings.len, strlen(m2));
        CHECK_EQ_STR(m->settings.p, settings);
        CHECK_EQ_STR(m->aliases.p, "{\"x\":{}}");
        CHECK_EQ_INT(m->version, 3);
        CHECK_EQ_INT(m->aliases_version, 2);
        CHECK_EQ_INT(m->creation_date, 1700000000123);
        store_index_meta_release(m);
        store_index_release(beta);
    }
    CHECK(store_index_get(st, "alpha") == NULL);
    store_close(st);
    free(orphan);
    free(orphan_dir);
    free(alpha_dir);
    rmdir_all(dir);
}

TEST(documents_versions_and_seq_nos)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "docs", 1);
    es_err err = { 0 };
    store_write_result r;

    CHECK_EQ_INT(put1(idx, 0, "1", "{\"a\":1}", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_CREATED);
    CHECK_EQ_STR(store_result_name(r.result), "created");
    CHECK_EQ_INT(r.version, 1);
    CHECK_EQ_INT(r.seq_no, 0);
    CHECK_EQ_INT(r.primary_term, 1);

    store_doc d1, d2;
    char *s = get_src(idx, 0, "1", &d1);
    CHECK_EQ_STR(s, "{\"a\":1}");
    free(s);
    CHECK_EQ_INT(d1.version, 1);
    CHECK_EQ_INT(d1.seq_no, 0);
    CHECK(d1.routing == NULL);

    store_write_opts ro = { .routing = "user7", .routing_len = 5 };
    CHECK_EQ_INT(put1(idx, 0, "1", "{ \"a\" : 2.50 }", &ro, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_UPDATED);
    CHECK_EQ_INT(r.version, 2);
    CHECK_EQ_INT(r.seq_no, 1);
    s = get_src(idx, 0, "1", &d2);
    CHECK_EQ_STR(s, "{ \"a\" : 2.50 }"); /* bytes exactly as sent */
    free(s);
    CHECK(d2.docnum > d1.docnum);

    /* the old record is gone; routing kept; doc iteration sees one doc */
    store_txn *snap;
    CHECK_EQ_INT(store_read_begin(idx, 0, &snap, &err), 0);
    store_doc d;
    CHECK_EQ_INT(store_doc_get_num(snap, d1.docnum, &d, &err), 0);
    CHECK_EQ_INT(store_doc_get_num(snap, d2.docnum, &d, &err), 1);
    CHECK_EQ_INT(d.routing_len, 5);
    CHECK(d.routing && memcmp(d.routing, "user7", 5) == 0);
    CHECK_EQ_INT(d.idlen, 1);
    store_shard_counters c;
    CHECK_EQ_INT(store_txn_counters(snap, &c, &err), 0);
    CHECK_EQ_INT(c.doc_count, 1);
    CHECK_EQ_INT(c.max_seq_no, 1);
    store_read_end(snap);

    CHECK_EQ_INT(del1(idx, 0, "1", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_DELETED);
    CHECK_EQ_INT(r.version, 3);
    CHECK_EQ_INT(r.seq_no, 2);
    CHECK(get_src(idx, 0, "1", NULL) == NULL);

    /* deleting again: not_found, the tombstone's version + 1, still a seq_no */
    CHECK_EQ_INT(del1(idx, 0, "1", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_NOT_FOUND);
    CHECK_EQ_STR(store_result_name(r.result), "not_found");
    CHECK_EQ_INT(r.version, 4);
    CHECK_EQ_INT(r.seq_no, 3);

    /* re-creating within gc_deletes continues the version */
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_CREATED);
    CHECK_EQ_INT(r.version, 5);
    CHECK_EQ_INT(r.seq_no, 4);

    /* a never-existing document */
    CHECK_EQ_INT(del1(idx, 0, "never", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_NOT_FOUND);
    CHECK_EQ_INT(r.version, 1);
    CHECK_EQ_INT(r.seq_no, 5);

    store_shard_stats ss;
    CHECK_EQ_INT(store_shard_stats_get(idx, 0, &ss, &err), 0);
    CHECK_EQ_INT(ss.doc_count, 1);
    CHECK_EQ_INT(ss.deleted, 1);
    CHECK_EQ_INT(ss.max_seq_no, 5);
    CHECK(ss.store_size > 0);
    CHECK(ss.map_size >= (32ull << 30));
    CHECK(!es_err_isset(&err));

    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(create_vs_index_op_types)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "ops", 1);
    es_err err = { 0 };
    store_write_result r;
    store_write_opts create = { .op_type = STORE_OP_CREATE };

    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &create, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_CREATED);
    CHECK_EQ_INT(r.version, 1);

    CHECK_EQ_INT(put1(idx, 0, "1", "{\"x\":1}", &create, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(es_err_type_name(&err), "version_conflict_engine_exception");
    CHECK_EQ_INT(err.status, 409);
    CHECK_EQ_STR(err.reason, "[1]: version conflict, document already exists (current version [1])");
    CHECK_EQ_STR(extra(&err, "index_uuid"), store_index_uuid(idx));
    CHECK_EQ_STR(extra(&err, "shard"), "0");
    CHECK_EQ_STR(extra(&err, "index"), "ops");
    CHECK_EQ_INT(r.result, STORE_RESULT_NONE);
    CHECK_EQ_INT(r.version, 1);
    CHECK_EQ_INT(r.seq_no, -2);
    es_err_free(&err);
    char *s = get_src(idx, 0, "1", NULL);
    CHECK_EQ_STR(s, "{}");
    free(s);

    CHECK_EQ_INT(put1(idx, 0, "1", "{\"x\":2}", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_UPDATED);
    CHECK_EQ_INT(r.version, 2);
    CHECK_EQ_INT(r.seq_no, 1); /* the conflict took no seq_no */

    /* create after delete is fine */
    CHECK_EQ_INT(del1(idx, 0, "1", NULL, &r, &err), 0);
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &create, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_CREATED);
    CHECK_EQ_INT(r.version, 4);

    /* validation */
    store_write_opts bad = { .op_type = STORE_OP_CREATE, .version_type = STORE_VERSION_EXTERNAL, .version = 3 };
    CHECK_EQ_INT(put1(idx, 0, "2", "{}", &bad, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(es_err_type_name(&err), "action_request_validation_exception");
    CHECK_EQ_STR(err.reason,
                 "Validation Failed: 1: create operations only support internal versioning. use index instead;");
    es_err_free(&err);
    store_write_opts cas_create = { .op_type = STORE_OP_CREATE, .if_seq_no_set = true, .if_primary_term = 1 };
    CHECK_EQ_INT(put1(idx, 0, "2", "{}", &cas_create, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason,
                 "Validation Failed: 1: create operations do not support compare and set. use index instead;");
    es_err_free(&err);
    char longid[600];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    CHECK_EQ_INT(put1(idx, 0, longid, "{}", NULL, &r, &err), STORE_REJECTED);
    CHECK(err.reason && strstr(err.reason, "is too long, must be no longer than 512 bytes but was: 599"));
    es_err_free(&err);

    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(external_versioning)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "ext", 1);
    es_err err = { 0 };
    store_write_result r;
    store_write_opts ext = { .version_type = STORE_VERSION_EXTERNAL, .version = 5 };

    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &ext, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_CREATED);
    CHECK_EQ_INT(r.version, 5);

    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &ext, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[1]: version conflict, current version [5] is higher or equal to the one provided [5]");
    es_err_free(&err);

    ext.version = 7;
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &ext, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_UPDATED);
    CHECK_EQ_INT(r.version, 7);

    store_write_opts gte = { .version_type = STORE_VERSION_EXTERNAL_GTE, .version = 7 };
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &gte, &r, &err), 0);
    CHECK_EQ_INT(r.version, 7);
    gte.version = 6;
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &gte, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[1]: version conflict, current version [7] is higher than the one provided [6]");
    CHECK_EQ_STR(es_err_type_name(&err), "version_conflict_engine_exception");
    es_err_free(&err);

    /* external delete, then a lower external version conflicts with the tombstone */
    ext.version = 10;
    CHECK_EQ_INT(del1(idx, 0, "1", &ext, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_DELETED);
    CHECK_EQ_INT(r.version, 10);
    ext.version = 9;
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &ext, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[1]: version conflict, current version [10] is higher or equal to the one provided [9]");
    es_err_free(&err);
    ext.version = 11;
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &ext, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_CREATED);
    CHECK_EQ_INT(r.version, 11);

    /* external delete of a missing document: not_found with the given version */
    ext.version = 3;
    CHECK_EQ_INT(del1(idx, 0, "ghost", &ext, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_NOT_FOUND);
    CHECK_EQ_INT(r.version, 3);

    store_write_opts neg = { .version_type = STORE_VERSION_EXTERNAL, .version = -1 };
    CHECK_EQ_INT(put1(idx, 0, "n", "{}", &neg, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "Validation Failed: 1: illegal version value [-1] for version type [EXTERNAL];");
    es_err_free(&err);

    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(if_seq_no_compare_and_set)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "cas", 1);
    es_err err = { 0 };
    store_write_result r;

    CHECK_EQ_INT(put1(idx, 0, "1", "{}", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.seq_no, 0);
    store_write_opts cas = { .if_seq_no_set = true, .if_seq_no = 0, .if_primary_term = 1 };
    CHECK_EQ_INT(put1(idx, 0, "1", "{\"v\":2}", &cas, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_UPDATED);
    CHECK_EQ_INT(r.seq_no, 1);
    CHECK_EQ_INT(r.version, 2);

    CHECK_EQ_INT(put1(idx, 0, "1", "{\"v\":3}", &cas, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[1]: version conflict, required seqNo [0], primary term [1]. current document has "
                             "seqNo [1] and primary term [1]");
    CHECK_EQ_INT(err.status, 409);
    es_err_free(&err);

    cas.if_seq_no = 1;
    cas.if_primary_term = 2;
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", &cas, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[1]: version conflict, required seqNo [1], primary term [2]. current document has "
                             "seqNo [1] and primary term [1]");
    es_err_free(&err);

    store_write_opts miss = { .if_seq_no_set = true, .if_seq_no = 3, .if_primary_term = 1 };
    CHECK_EQ_INT(put1(idx, 0, "nope", "{}", &miss, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[nope]: version conflict, required seqNo [3], primary term [1]. but no document was found");
    es_err_free(&err);

    /* delete with CAS: wrong then right */
    CHECK_EQ_INT(del1(idx, 0, "1", &miss, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[1]: version conflict, required seqNo [3], primary term [1]. current document has "
                             "seqNo [1] and primary term [1]");
    es_err_free(&err);
    store_write_opts ok = { .if_seq_no_set = true, .if_seq_no = 1, .if_primary_term = 1 };
    CHECK_EQ_INT(del1(idx, 0, "1", &ok, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_DELETED);
    /* a deleted document has no seq_no to match */
    CHECK_EQ_INT(del1(idx, 0, "1", &ok, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[1]: version conflict, required seqNo [1], primary term [1]. but no document was found");
    es_err_free(&err);

    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(per_item_conflict_does_not_abort_the_transaction)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "bulk", 1);
    es_err err = { 0 };
    store_write_result r;
    store_txn *t;
    store_write_opts create = { .op_type = STORE_OP_CREATE };

    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    CHECK_EQ_INT(store_doc_index(t, "a", 1, "{\"n\":1}", 7, NULL, &r, &err), 0);
    CHECK_EQ_INT(store_doc_index(t, "a", 1, "{\"n\":2}", 7, &create, &r, &err), STORE_REJECTED);
    CHECK_EQ_STR(err.reason, "[a]: version conflict, document already exists (current version [1])");
    es_err_free(&err);
    CHECK_EQ_INT(store_doc_index(t, "b", 1, "{\"n\":3}", 7, NULL, &r, &err), 0);
    CHECK_EQ_INT(r.seq_no, 1);
    /* read-your-writes inside the transaction */
    store_doc d;
    CHECK_EQ_INT(store_doc_get(t, "a", 1, &d, &err), 1);
    CHECK(d.srclen == 7 && memcmp(d.source, "{\"n\":1}", 7) == 0);
    CHECK_EQ_INT(store_write_commit(t, &err), 0);

    char *a = get_src(idx, 0, "a", NULL), *b = get_src(idx, 0, "b", NULL);
    CHECK_EQ_STR(a, "{\"n\":1}");
    CHECK_EQ_STR(b, "{\"n\":3}");
    free(a);
    free(b);

    /* an aborted transaction leaves nothing */
    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    CHECK_EQ_INT(store_doc_index(t, "c", 1, "{}", 2, NULL, &r, &err), 0);
    store_write_abort(t);
    CHECK(get_src(idx, 0, "c", NULL) == NULL);
    CHECK_EQ_INT(shard_docs(idx, 0), 2);

    /* a second write transaction on the same shard from the same thread is refused, not a deadlock */
    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    store_txn *t2;
    CHECK_EQ_INT(store_write_begin(idx, 0, &t2, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "illegal_state_exception");
    es_err_free(&err);
    store_write_abort(t);

    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

#define BULK_N 10000

static size_t bulk_len(int i) { return (size_t)(i * 37 % 1500) + 1; }

TEST(bulk_of_10k_in_one_txn_survives_reopen)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "big", 1);
    es_err err = { 0 };
    uint8_t *src = xmalloc(2000);
    uint64_t seed = 42;
    store_txn *t;
    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    for (int i = 0; i < BULK_N; i++) {
        char id[32];
        snprintf(id, sizeof id, "doc-%05d", (i * 7919) % BULK_N);
        fill_random(src, bulk_len(i), &seed);
        store_write_result r;
        if (store_doc_index(t, id, strlen(id), src, bulk_len(i), NULL, &r, &err) != 0) {
            UNIT_FAIL("index %d: %s", i, err.reason);
            break;
        }
        if (r.seq_no != i) UNIT_FAIL("seq_no %" PRId64 " at %d", r.seq_no, i);
    }
    CHECK_EQ_INT(store_write_commit(t, &err), 0);
    store_index_release(idx);
    store_close(st);

    st = open_or_die(dir, NULL);
    idx = store_index_get(st, "big");
    CHECK(idx != NULL);
    store_txn *s;
    CHECK_EQ_INT(store_read_begin(idx, 0, &s, &err), 0);
    seed = 42;
    int bad = 0;
    for (int i = 0; i < BULK_N; i++) {
        char id[32];
        snprintf(id, sizeof id, "doc-%05d", (i * 7919) % BULK_N);
        fill_random(src, bulk_len(i), &seed);
        store_doc d;
        if (store_doc_get(s, id, strlen(id), &d, &err) != 1 || d.srclen != bulk_len(i) ||
            memcmp(d.source, src, d.srclen) != 0 || d.seq_no != i || d.version != 1)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* document order is write order, from any starting number */
    store_cursor *c;
    CHECK_EQ_INT(store_docs_open(s, 0, &c, &err), 0);
    store_doc d;
    int n = 0, r;
    uint64_t prev = 0, first = 0, mid = 0;
    while ((r = store_docs_next(c, &d, &err)) == 1) {
        if (d.docnum <= prev || d.seq_no != n) bad++;
        if (n == 0) first = d.docnum;
        if (n == 5000) mid = d.docnum;
        prev = d.docnum;
        n++;
    }
    store_cursor_close(c);
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(n, BULK_N);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(first, 1);
    CHECK_EQ_INT(store_docs_open(s, mid, &c, &err), 0);
    CHECK_EQ_INT(store_docs_next(c, &d, &err), 1);
    CHECK_EQ_INT(d.docnum, mid);
    CHECK_EQ_INT(d.seq_no, 5000);
    store_cursor_close(c);
    store_shard_counters cnt;
    CHECK_EQ_INT(store_txn_counters(s, &cnt, &err), 0);
    CHECK_EQ_INT(cnt.doc_count, BULK_N);
    CHECK_EQ_INT(cnt.next_docnum, BULK_N + 1);
    store_read_end(s);
    store_index_release(idx);
    store_close(st);
    free(src);
    rmdir_all(dir);
}

TEST(routing_is_deterministic_and_docs_land_in_their_shard)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "routed", 3);
    es_err err = { 0 };
    uint32_t before[300];
    int per[3] = { 0, 0, 0 };
    store_txn *t[3];
    for (int s = 0; s < 3; s++) CHECK_EQ_INT(store_write_begin(idx, (uint32_t)s, &t[s], &err), 0);
    for (int i = 0; i < 300; i++) {
        char id[16];
        snprintf(id, sizeof id, "u%d", i);
        uint32_t sh = store_shard_for(idx, id, strlen(id));
        before[i] = sh;
        CHECK(sh < 3);
        CHECK_EQ_INT(sh, store_murmur3_32(id, strlen(id), 0) % 3);
        per[sh]++;
        CHECK_EQ_INT(store_doc_index(t[sh], id, strlen(id), id, strlen(id), NULL, NULL, &err), 0);
    }
    for (int s = 0; s < 3; s++) CHECK_EQ_INT(store_write_commit(t[s], &err), 0);
    for (int s = 0; s < 3; s++) CHECK(per[s] > 50); /* spread */
    store_index_release(idx);
    store_close(st);

    st = open_or_die(dir, NULL);
    idx = store_index_get(st, "routed");
    for (int s = 0; s < 3; s++) CHECK_EQ_INT(shard_docs(idx, (uint32_t)s), per[s]);
    int misplaced = 0;
    for (int i = 0; i < 300; i++) {
        char id[16];
        snprintf(id, sizeof id, "u%d", i);
        uint32_t sh = store_shard_for(idx, id, strlen(id));
        if (sh != before[i]) misplaced++;
        for (uint32_t s = 0; s < 3; s++) {
            char *src = get_src(idx, s, id, NULL);
            if ((src != NULL) != (s == sh)) misplaced++;
            free(src);
        }
    }
    CHECK_EQ_INT(misplaced, 0);
    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(map_full_grows_and_replays_transparently)
{
    char *dir = tmpdir();
    static const char *const tables[] = { "postings", NULL };
    store_options o = { .shard_map_size = 256 << 10, .tables = tables };
    store *st = open_or_die(dir, &o);
    store_table postings;
    es_err err = { 0 };
    CHECK_EQ_INT(store_table_register(st, "postings", &postings, &err), 0);
    store_index *idx = mk_index(st, "tiny", 1);

    /* Seed a table so a cursor can be open on it while the map grows. */
    store_txn *t;
    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    for (int i = 0; i < 10; i++) {
        char k[16];
        snprintf(k, sizeof k, "seed%02d", i);
        CHECK_EQ_INT(store_kv_put(t, postings, k, strlen(k), "v", 1, 0, &err), 0);
    }
    CHECK_EQ_INT(store_write_commit(t, &err), 0);
    store_shard_stats ss;
    CHECK_EQ_INT(store_shard_stats_get(idx, 0, &ss, &err), 0);
    CHECK_EQ_INT(ss.map_size, 256 << 10);

    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    store_cursor *c;
    store_range pr = { .prefix = { "seed", 4 } };
    CHECK_EQ_INT(store_cursor_open(t, postings, &pr, &c, &err), 0);
    store_blob k, v;
    CHECK_EQ_INT(store_cursor_next(c, &k, &v, &err), 1);
    CHECK(k.len == 6 && memcmp(k.p, "seed00", 6) == 0);
    CHECK_EQ_INT(store_cursor_next(c, &k, &v, &err), 1);

    /* Sources live in one stable buffer so odd documents can be borrowed
     * (the store keeps pointers, not copies, for a replay). */
    enum { GN = 3000, GL = 700 };
    uint8_t *srcs = xmalloc((size_t)GN * GL);
    uint64_t seed = 7;
    fill_random(srcs, (size_t)GN * GL, &seed);
    int failed = 0;
    for (int i = 0; i < GN; i++) {
        char id[16];
        snprintf(id, sizeof id, "g%d", i);
        store_write_opts wo = { .borrow = (i & 1) != 0 };
        store_write_result r;
        if (store_doc_index(t, id, strlen(id), srcs + (size_t)i * GL, GL, &wo, &r, &err) != 0 || r.seq_no != i)
            failed++;
        char pk[32];
        snprintf(pk, sizeof pk, "zp%06d", i); /* sorts after the seeds: APPEND */
        if (store_kv_put(t, postings, pk, strlen(pk), id, strlen(id), STORE_KV_APPEND, &err) != 0) failed++;
    }
    CHECK_EQ_INT(failed, 0);
    if (failed) printf("  %s\n", err.reason);
    /* the cursor is back where it was: the next key is seed02 */
    int cr = store_cursor_next(c, &k, &v, &err);
    CHECK_EQ_INT(cr, 1);
    CHECK(cr == 1 && k.len == 6 && memcmp(k.p, "seed02", 6) == 0);
    es_err_free(&err);
    store_cursor_close(c);
    CHECK_EQ_INT(store_write_commit(t, &err), 0);

    CHECK_EQ_INT(store_shard_stats_get(idx, 0, &ss, &err), 0);
    CHECK(ss.map_grows >= 3); /* 256 KiB -> at least 2 MiB */
    CHECK(ss.replays > 0);
    CHECK(ss.map_size > (256u << 10));
    CHECK_EQ_INT(ss.doc_count, 3000);
    store_index_release(idx);
    store_close(st);

    /* reopen with the same tiny configured size: the grown map is kept, data intact */
    st = open_or_die(dir, &o);
    idx = store_index_get(st, "tiny");
    int bad = 0;
    store_txn *s;
    CHECK_EQ_INT(store_read_begin(idx, 0, &s, &err), 0);
    for (int i = 0; i < GN; i++) {
        char id[16];
        snprintf(id, sizeof id, "g%d", i);
        store_doc d;
        if (store_doc_get(s, id, strlen(id), &d, &err) != 1 || d.srclen != GL ||
            memcmp(d.source, srcs + (size_t)i * GL, GL) != 0 || d.seq_no != i)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    store_blob val;
    CHECK_EQ_INT(store_kv_get(s, postings, "zp002999", 8, &val, &err), 1);
    CHECK(val.len == 5 && memcmp(val.p, "g2999", 5) == 0);
    store_read_end(s);
    store_index_release(idx);
    store_close(st);
    free(srcs);
    rmdir_all(dir);
}

TEST(growth_blocked_by_an_open_snapshot_fails_cleanly)
{
    char *dir = tmpdir();
    store_options o = { .shard_map_size = 256 << 10, .grow_wait_ms = 50 };
    store *st = open_or_die(dir, &o);
    store_index *idx = mk_index(st, "pinned", 1);
    es_err err = { 0 };
    CHECK_EQ_INT(put1(idx, 0, "keep", "{\"k\":1}", NULL, NULL, &err), 0);

    store_txn *snap, *t;
    CHECK_EQ_INT(store_read_begin(idx, 0, &snap, &err), 0);
    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    uint8_t src[1000];
    memset(src, 'z', sizeof src);
    int r = 0, i;
    for (i = 0; i < 2000 && r == 0; i++) {
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        r = store_doc_index(t, id, strlen(id), src, sizeof src, NULL, NULL, &err);
    }
    CHECK_EQ_INT(r, -1);
    CHECK_EQ_STR(es_err_type_name(&err), "es_rejected_execution_exception");
    CHECK_EQ_INT(err.status, 429);
    CHECK(err.reason && strstr(err.reason, "read snapshot"));
    es_err_free(&err);
    /* the transaction is now failed: further calls and commit fail */
    CHECK_EQ_INT(store_doc_index(t, "y", 1, "{}", 2, NULL, NULL, &err), -1);
    es_err_free(&err);
    CHECK_EQ_INT(store_write_commit(t, &err), -1);
    es_err_free(&err);
    /* the snapshot still reads */
    store_doc d;
    CHECK_EQ_INT(store_doc_get(snap, "keep", 4, &d, &err), 1);
    store_read_end(snap);

    /* without the snapshot the same write goes through */
    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    r = 0;
    for (i = 0; i < 2000 && r == 0; i++) {
        char id[16];
        snprintf(id, sizeof id, "x%d", i);
        r = store_doc_index(t, id, strlen(id), src, sizeof src, NULL, NULL, &err);
    }
    CHECK_EQ_INT(r, 0);
    CHECK_EQ_INT(store_write_commit(t, &err), 0);
    CHECK_EQ_INT(shard_docs(idx, 0), 2001);
    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

struct writer_arg {
    store_index *idx;
    uint32_t shard;
    int txns, per_txn;
    int failures;
};

static void *writer_main(void *p)
{
    struct writer_arg *a = p;
    es_err err = { 0 };
    char src[256];
    memset(src, 'a' + (int)a->shard, sizeof src);
    for (int x = 0; x < a->txns; x++) {
        store_txn *t;
        if (store_write_begin(a->idx, a->shard, &t, &err) != 0) {
            a->failures++;
            es_err_free(&err);
            continue;
        }
        for (int i = 0; i < a->per_txn; i++) {
            char id[32];
            snprintf(id, sizeof id, "s%u-%d-%d", a->shard, x, i);
            if (store_doc_index(t, id, strlen(id), src, sizeof src, NULL, NULL, &err) != 0) a->failures++;
        }
        if (store_write_commit(t, &err) != 0) a->failures++;
        es_err_free(&err);
    }
    return NULL;
}

TEST(concurrent_writers_on_different_shards)
{
    char *dir = tmpdir();
    store_options o = { .shard_map_size = 1 << 20 }; /* growth under concurrency too */
    store *st = open_or_die(dir, &o);
    store_index *idx = mk_index(st, "par", 2);
    struct writer_arg a[3] = { { idx, 0, 20, 150, 0 }, { idx, 1, 20, 150, 0 }, { idx, 1, 10, 50, 0 } };
    pthread_t th[3];
    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, writer_main, &a[i]);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(a[i].failures, 0);
    CHECK_EQ_INT(shard_docs(idx, 0), 3000);
    /* thread 3 wrote s1-x-i ids too, overlapping ids s1-0..9-0..49: updates */
    CHECK_EQ_INT(shard_docs(idx, 1), 3000);
    es_err err = { 0 };
    store_shard_stats ss;
    CHECK_EQ_INT(store_shard_stats_get(idx, 1, &ss, &err), 0);
    CHECK_EQ_INT(ss.max_seq_no, 3000 + 500 - 1);
    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

struct reader_arg {
    store_txn *snap;
    int found;
};

static void *reader_main(void *p)
{
    struct reader_arg *a = p;
    es_err err = { 0 };
    store_doc d;
    a->found = store_doc_get(a->snap, "old", 3, &d, &err) + store_doc_get(a->snap, "new", 3, &d, &err);
    es_err_free(&err);
    return NULL;
}

TEST(snapshot_isolation_and_cross_thread_use)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "snap", 1);
    es_err err = { 0 };
    CHECK_EQ_INT(put1(idx, 0, "old", "{\"v\":1}", NULL, NULL, &err), 0);

    store_txn *before;
    CHECK_EQ_INT(store_read_begin(idx, 0, &before, &err), 0);
    CHECK_EQ_INT(put1(idx, 0, "new", "{}", NULL, NULL, &err), 0);
    CHECK_EQ_INT(put1(idx, 0, "old", "{\"v\":2}", NULL, NULL, &err), 0);
    CHECK_EQ_INT(del1(idx, 0, "old", NULL, NULL, &err), 0);

    store_doc d;
    CHECK_EQ_INT(store_doc_get(before, "new", 3, &d, &err), 0);
    CHECK_EQ_INT(store_doc_get(before, "old", 3, &d, &err), 1);
    CHECK(d.srclen == 7 && memcmp(d.source, "{\"v\":1}", 7) == 0);
    store_shard_counters c;
    CHECK_EQ_INT(store_txn_counters(before, &c, &err), 0);
    CHECK_EQ_INT(c.doc_count, 1);
    CHECK_EQ_INT(c.max_seq_no, 0);

    /* the same snapshot, used from another thread */
    struct reader_arg ra = { before, -1 };
    pthread_t th;
    pthread_create(&th, NULL, reader_main, &ra);
    pthread_join(th, NULL);
    CHECK_EQ_INT(ra.found, 1);
    store_read_end(before);

    store_txn *after;
    CHECK_EQ_INT(store_read_begin(idx, 0, &after, &err), 0);
    CHECK_EQ_INT(store_doc_get(after, "new", 3, &d, &err), 1);
    CHECK_EQ_INT(store_doc_get(after, "old", 3, &d, &err), 0);
    store_read_end(after);
    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(delete_index_while_a_handle_is_held)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "gone", 2);
    es_err err = { 0 };
    CHECK_EQ_INT(put1(idx, 1, "a", "{\"a\":1}", NULL, NULL, &err), 0);
    char *folder = xasprintf("%s/indices/%s", dir, store_index_uuid(idx));
    store_txn *snap, *inflight;
    CHECK_EQ_INT(store_read_begin(idx, 1, &snap, &err), 0);
    CHECK_EQ_INT(store_write_begin(idx, 0, &inflight, &err), 0);
    CHECK_EQ_INT(store_doc_index(inflight, "w", 1, "{}", 2, NULL, NULL, &err), 0);

    CHECK_EQ_INT(store_index_delete(st, "gone", &err), 0);
    /* a write already in flight finishes (into the doomed index) */
    CHECK_EQ_INT(store_doc_index(inflight, "w2", 2, "{}", 2, NULL, NULL, &err), 0);
    CHECK_EQ_INT(store_write_commit(inflight, &err), 0);
    CHECK(store_index_is_deleted(idx));
    CHECK(store_index_get(st, "gone") == NULL);
    CHECK(exists(folder)); /* still referenced */

    /* readers in flight keep working */
    store_doc d;
    CHECK_EQ_INT(store_doc_get(snap, "a", 1, &d, &err), 1);
    /* new writes are refused */
    store_txn *t;
    CHECK_EQ_INT(store_write_begin(idx, 1, &t, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "index_not_found_exception");
    CHECK_EQ_STR(err.reason, "no such index [gone]");
    es_err_free(&err);

    /* the name is free again at once */
    store_index *again = mk_index(st, "gone", 1);
    CHECK(strcmp(store_index_uuid(again), store_index_uuid(idx)) != 0);
    CHECK(get_src(again, 0, "a", NULL) == NULL);

    /* the handle alone (snapshot ended) still keeps the folder; the last release removes it */
    store_read_end(snap);
    CHECK(exists(folder));
    store_index_release(idx);
    CHECK(!exists(folder));

    store_index_release(again);
    store_close(st);
    st = open_or_die(dir, NULL);
    again = store_index_get(st, "gone");
    CHECK(again != NULL);
    if (again) CHECK_EQ_INT(store_index_num_shards(again), 1);
    store_index_release(again);
    store_close(st);
    free(folder);
    rmdir_all(dir);
}

TEST(caller_tables_put_get_cursor_and_on_demand_creation)
{
    char *dir = tmpdir();
    static const char *const tables[] = { "terms", NULL };
    store_options o = { .tables = tables };
    store *st = open_or_die(dir, &o);
    es_err err = { 0 };
    store_table terms, dv, again;
    CHECK_EQ_INT(store_table_register(st, "terms", &terms, &err), 0);
    CHECK_EQ_INT(store_table_register(st, "terms", &again, &err), 0);
    CHECK_EQ_INT(terms, again);
    CHECK_EQ_INT(store_table_register(st, "_bad", &again, &err), -1);
    es_err_free(&err);
    store_index *idx = mk_index(st, "kv", 1);

    /* a table registered after the shard opened is created on demand */
    store_txn *pre;
    CHECK_EQ_INT(store_read_begin(idx, 0, &pre, &err), 0); /* opens the shard */
    CHECK_EQ_INT(store_table_register(st, "docvalues", &dv, &err), 0);
    CHECK(dv != terms);

    store_txn *t;
    CHECK_EQ_INT(store_write_begin(idx, 0, &t, &err), 0);
    CHECK_EQ_INT(store_doc_index(t, "d1", 2, "{\"t\":\"x\"}", 9, NULL, NULL, &err), 0);
    const char *keys[] = { "apple", "apricot", "banana", "blueberry", "cherry" };
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(store_kv_put(t, terms, keys[i], strlen(keys[i]), keys[i], 1, 0, &err), 0);
    CHECK_EQ_INT(store_kv_put(t, dv, "d1", 2, "42", 2, 0, &err), 0);
    CHECK_EQ_INT(store_kv_put(t, terms, "apple", 5, "z", 1, STORE_KV_NOOVERWRITE, &err), 1);
    CHECK_EQ_INT(store_kv_put(t, terms, "aaa", 3, "z", 1, STORE_KV_APPEND, &err), 1);
    CHECK_EQ_INT(store_kv_put(t, terms, "zzz", 3, "z", 1, STORE_KV_APPEND, &err), 0);
    CHECK_EQ_INT(store_kv_del(t, terms, "zzz", 3, &err), 1);
    CHECK_EQ_INT(store_kv_del(t, terms, "zzz", 3, &err), 0);
    store_blob v;
    CHECK_EQ_INT(store_kv_get(t, dv, "d1", 2, &v, &err), 1); /* visible in its own txn */
    /* a cursor on the write txn sees its writes; left open, it dies with the commit */
    store_cursor *wc;
    store_blob wk;
    CHECK_EQ_INT(store_cursor_open(t, dv, NULL, &wc, &err), 0);
    CHECK_EQ_INT(store_cursor_next(wc, &wk, &v, &err), 1);
    CHECK(wk.len == 2 && memcmp(wk.p, "d1", 2) == 0);
    CHECK_EQ_INT(store_write_commit(t, &err), 0);
    CHECK_EQ_INT(store_cursor_next(wc, &wk, &v, &err), -1);
    es_err_free(&err);
    store_cursor_close(wc);

    /* an older snapshot sees neither the docs nor the new table */
    CHECK_EQ_INT(store_kv_get(pre, dv, "d1", 2, &v, &err), 0);
    CHECK_EQ_INT(store_kv_get(pre, terms, "apple", 5, &v, &err), 0);
    store_cursor *c;
    store_blob k;
    CHECK_EQ_INT(store_cursor_open(pre, dv, NULL, &c, &err), 0);
    CHECK_EQ_INT(store_cursor_next(c, &k, &v, &err), 0);
    store_cursor_close(c);
    store_read_end(pre);

    store_txn *s;
    CHECK_EQ_INT(store_read_begin(idx, 0, &s, &err), 0);
    CHECK_EQ_INT(store_kv_get(s, dv, "d1", 2, &v, &err), 1);
    CHECK(v.len == 2 && memcmp(v.p, "42", 2) == 0);
    CHECK_EQ_INT(store_kv_get(s, terms, "apple", 5, &v, &err), 1);
    CHECK(v.len == 1 && memcmp(v.p, "a", 1) == 0);

    /* prefix */
    store_range pr = { .prefix = { "ap", 2 } };
    CHECK_EQ_INT(store_cursor_open(s, terms, &pr, &c, &err), 0);
    int n = 0;
    while (store_cursor_next(c, &k, &v, &err) == 1) n++;
    CHECK_EQ_INT(n, 2);
    store_cursor_close(c);
    /* range [apricot, cherry) */
    store_range rr = { .lo = { "apricot", 7 }, .hi = { "cherry", 6 } };
    CHECK_EQ_INT(store_cursor_open(s, terms, &rr, &c, &err), 0);
    buf got = { 0 };
    while (store_cursor_next(c, &k, &v, &err) == 1) {
        buf_append(&got, k.p, k.len);
        buf_putc(&got, ',');
    }
    CHECK_EQ_STR(got.p, "apricot,banana,blueberry,");
    buf_free(&got);
    store_cursor_close(c);
    /* a cursor left open is closed by the snapshot's end; closing it afterwards is safe */
    CHECK_EQ_INT(store_cursor_open(s, terms, NULL, &c, &err), 0);
    CHECK_EQ_INT(store_cursor_next(c, &k, &v, &err), 1);
    store_read_end(s);
    CHECK_EQ_INT(store_cursor_next(c, &k, &v, &err), -1);
    es_err_free(&err);
    store_cursor_close(c);

    /* writes on a snapshot are refused */
    CHECK_EQ_INT(store_read_begin(idx, 0, &s, &err), 0);
    CHECK_EQ_INT(store_kv_put(s, terms, "x", 1, "y", 1, 0, &err), -1);
    es_err_free(&err);
    CHECK_EQ_INT(store_doc_index(s, "x", 1, "{}", 2, NULL, NULL, &err), -1);
    es_err_free(&err);
    store_read_end(s);
    store_index_release(idx);
    store_close(st);

    /* after a restart, tables found on disk are opened even if nobody registers them yet */
    st = open_or_die(dir, NULL);
    idx = store_index_get(st, "kv");
    CHECK_EQ_INT(store_read_begin(idx, 0, &s, &err), 0);
    store_table dv2;
    CHECK_EQ_INT(store_table_register(st, "docvalues", &dv2, &err), 0);
    CHECK_EQ_INT(store_kv_get(s, dv2, "d1", 2, &v, &err), 1);
    store_read_end(s);
    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(tombstones_expire_after_gc_deletes)
{
    char *dir = tmpdir();
    store_options o = { .gc_deletes_ms = 30 };
    store *st = open_or_die(dir, &o);
    store_index *idx = mk_index(st, "gc", 1);
    es_err err = { 0 };
    store_write_result r;
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", NULL, &r, &err), 0);
    CHECK_EQ_INT(del1(idx, 0, "1", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.version, 2);
    usleep(80 * 1000);
    CHECK_EQ_INT(put1(idx, 0, "2", "{}", NULL, &r, &err), 0); /* a commit prunes */
    CHECK_EQ_INT(put1(idx, 0, "1", "{}", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_CREATED);
    CHECK_EQ_INT(r.version, 1);
    store_index_release(idx);
    store_close(st);

    /* no tombstones at all */
    o.gc_deletes_ms = -1;
    st = open_or_die(dir, &o);
    idx = store_index_get(st, "gc");
    CHECK_EQ_INT(del1(idx, 0, "1", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_DELETED);
    CHECK_EQ_INT(del1(idx, 0, "1", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_NOT_FOUND);
    CHECK_EQ_INT(r.version, 1);
    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(ids_up_to_512_bytes)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "long", 1);
    es_err err = { 0 };
    char a[513], b[513];
    memset(a, 'q', 512);
    a[512] = 0;
    memcpy(b, a, sizeof a);
    b[511] = 'r'; /* same 495-byte prefix */
    store_write_result r;
    CHECK_EQ_INT(put1(idx, 0, a, "{\"w\":\"a\"}", NULL, &r, &err), 0);
    CHECK_EQ_INT(put1(idx, 0, b, "{\"w\":\"b\"}", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_CREATED);
    store_doc d;
    char *sa = get_src(idx, 0, a, &d);
    CHECK_EQ_STR(sa, "{\"w\":\"a\"}");
    free(sa);
    char *sb = get_src(idx, 0, b, &d);
    CHECK_EQ_STR(sb, "{\"w\":\"b\"}");
    free(sb);
    CHECK_EQ_INT(put1(idx, 0, a, "{}", NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_UPDATED);
    CHECK_EQ_INT(del1(idx, 0, b, NULL, &r, &err), 0);
    CHECK_EQ_INT(r.result, STORE_RESULT_DELETED);
    CHECK_EQ_INT(shard_docs(idx, 0), 1);
    store_index_release(idx);
    store_close(st);
    rmdir_all(dir);
}

TEST(disk_full_fails_the_commit_and_changes_nothing)
{
    char *dir = tmpdir();
    store *st = open_or_die(dir, NULL);
    store_index *idx = mk_index(st, "full", 1);
    es_err err = { 0 };
    CHECK_EQ_INT(put1(idx, 0, "before", "{\"ok\":true}", NULL, NULL, &err), 0);
    char *data = xasprintf("%s/indices/%s/0/data.mdb", dir, store_index_uuid(idx));
    struct stat sb;
    CHECK_EQ_INT(stat(data, &sb), 0);

    /* Simulate a full disk: the data file may not grow (EFBIG, as ENOSPC would). */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    store_txn *t;
    int begin = store_write_begin(idx, 0, &t, &err);
    int ins = 0;
    uint8_t src[4000];
    memset(src, 'f', sizeof src);
    for (int i = 0; begin == 0 && i < 500; i++) {
        char id[16];
        snprintf(id, sizeof id, "f%d", i);
        if (store_doc_index(t, id, strlen(id), src, sizeof src, NULL, NULL, &err) == 0) ins++;
    }
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size;
    setrlimit(RLIMIT_FSIZE, &lim);
    int commit = begin == 0 ? store_write_commit(t, &err) : -2;
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);

    CHECK_EQ_INT(begin, 0);
    CHECK_EQ_INT(ins, 500);
    CHECK_EQ_INT(commit, -1);
    CHECK(err.reason && strstr(err.reason, "nothing of this write was applied"));
    es_err_free(&err);
    CHECK_EQ_INT(shard_docs(idx, 0), 1);
    CHECK(get_src(idx, 0, "f0", NULL) == NULL);
    store_index_release(idx);
    store_close(st);

    st = open_or_die(dir, NULL);
    idx = store_index_get(st, "full");
    char *s = get_src(idx, 0, "before", NULL);
    CHECK_EQ_STR(s, "{\"ok\":true}");
    free(s);
    CHECK_EQ_INT(put1(idx, 0, "after", "{}", NULL, NULL, &err), 0);
    CHECK_EQ_INT(shard_docs(idx, 0), 2);
    store_shard_stats ss;
    CHECK_EQ_INT(store_shard_stats_get(idx, 0, &ss, &err), 0);
    CHECK_EQ_INT(ss.max_seq_no, 1);
    store_index_release(idx);
    store_close(st);
    free(data);
    rmdir_all(dir);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    RUN(murmur3_vectors);
    RUN(node_ids_stable_across_reopen);
    RUN(index_metadata_create_list_update_delete_reopen);
    RUN(documents_versions_and_seq_nos);
    RUN(create_vs_index_op_types);
    RUN(external_versioning);
    RUN(if_seq_no_compare_and_set);
    RUN(per_item_conflict_does_not_abort_the_transaction);
    RUN(bulk_of_10k_in_one_txn_survives_reopen);
    RUN(routing_is_deterministic_and_docs_land_in_their_shard);
    RUN(map_full_grows_and_replays_transparently);
    RUN(growth_blocked_by_an_open_snapshot_fails_cleanly);
    RUN(concurrent_writers_on_different_shards);
    RUN(snapshot_isolation_and_cross_thread_use);
    RUN(delete_index_while_a_handle_is_held);
    RUN(caller_tables_put_get_cursor_and_on_demand_creation);
    RUN(tombstones_expire_after_gc_deletes);
    RUN(ids_up_to_512_bytes);
    RUN(disk_full_fails_the_commit_and_changes_nothing);
    return unit_report();
}
