/* Unit tests for src/indices metadata: views, resolution, create/delete, aliases,
 * write targets with auto-create, dynamic mapping persistence, cluster settings. */
#include "indices/indices.h"
#include "unit.h"

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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-ix-XXXXXX");
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
    if (!ix) printf("open: %s\n", err.reason);
    return ix;
}

static indices *reopen(indices *ix)
{
    indices_close(ix);
    es_err err = { 0 };
    return indices_open(cfg, &err);
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

static int create(indices *ix, const char *name, const char *body, es_err *err)
{
    json_doc *d = body ? J(body) : NULL;
    int rc = indices_create(ix, name, d ? json_doc_root(d) : NULL, NULL, err);
    if (d) json_doc_free(d);
    return rc;
}

static char *resolved(indices *ix, const char *expr, const resolve_opts *o)
{
    index_view **v;
    size_t n;
    es_err err = { 0 };
    if (indices_resolve(ix, expr, o, &v, &n, &err)) {
        char *r = xasprintf("ERR %s", err.reason);
        es_err_free(&err);
        return r;
    }
    buf b = { 0 };
    buf_reserve(&b, 0);
    for (size_t i = 0; i < n; i++) buf_printf(&b, "%s%s", i ? "," : "", v[i]->name);
    indices_views_free(v, n);
    return buf_detach(&b, NULL);
}

#define CHECK_RESOLVE(ix, expr, opts, want)                                    \
    do {                                                                       \
        char *got_ = resolved(ix, expr, opts);                                 \
        CHECK_EQ_STR(got_, want);                                              \
        free(got_);                                                            \
    } while (0)

TEST(create_view_and_reopen)
{
    indices *ix = open_fresh();
    es_err err = { 0 };
    CHECK_EQ_INT(create(ix, "logs-1", "{\"settings\":{\"number_of_shards\":2},\"mappings\":{\"properties\":{\"a\":{\"type\":\"keyword\"}}},\"aliases\":{\"logs\":{}}}", &err), 0);
    index_view *v = indices_get(ix, "logs-1");
    CHECK(v != NULL);
    if (v) {
        CHECK_EQ_STR(index_settings_get(v->settings, "index.number_of_shards"), "2");
        CHECK_EQ_STR(index_settings_get(v->settings, "index.number_of_replicas"), "1");
        CHECK_EQ_INT(store_index_num_shards(v->si), 2);
        CHECK(mapping_field(v->mapping, "a") != NULL);
        CHECK_EQ_INT(v->n_aliases, 1);
        index_view_release(v);
    }
    /* Same name again, a bad name, an unknown top-level key. */
    CHECK_EQ_INT(create(ix, "logs-1", NULL, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "resource_already_exists_exception");
    es_err_free(&err);
    CHECK_EQ_INT(create(ix, "Logs", NULL, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "invalid_index_name_exception");
    es_err_free(&err);
    CHECK_EQ_INT(create(ix, "x", "{\"foo\":1}", &err), -1);
    CHECK_EQ_STR(err.reason, "unknown key [foo] for create index");
    es_err_free(&err);
    CHECK_EQ_INT(create(ix, "logs", NULL, &err), -1);
    CHECK_EQ_STR(err.reason, "Invalid index name [logs], already exists as alias");
    es_err_free(&err);
    ix = reopen(ix);
    v = indices_get(ix, "logs-1");
    CHECK(v && v->n_aliases == 1 && !strcmp(v->aliases[0].name, "logs"));
    if (v) index_view_release(v);
    close_fresh(ix);
}

TEST(resolution)
{
    indices *ix = open_fresh();
    es_err err = { 0 };
    create(ix, "a1", NULL, &err);
    create(ix, "a2", "{\"aliases\":{\"xal\":{}}}", &err);
    create(ix, "b1", "{\"aliases\":{\"xal\":{}}}", &err);
    create(ix, "h1", "{\"settings\":{\"index.hidden\":true}}", &err);
    CHECK(!es_err_isset(&err));
    resolve_opts o = resolve_opts_default();
    CHECK_RESOLVE(ix, "a*", &o, "a1,a2");
    CHECK_RESOLVE(ix, "*", &o, "a1,a2,b1");
    CHECK_RESOLVE(ix, "_all", &o, "a1,a2,b1");
    CHECK_RESOLVE(ix, NULL, &o, "a1,a2,b1");
    CHECK_RESOLVE(ix, "xal", &o, "a2,b1");
    CHECK_RESOLVE(ix, "x*", &o, "a2,b1"); /* wildcards match aliases too, as in Elasticsearch */
    CHECK_RESOLVE(ix, "*,-a*", &o, "b1");
    CHECK_RESOLVE(ix, "b1,a1", &o, "a1,b1");
    CHECK_RESOLVE(ix, "h1", &o, "h1");
    CHECK_RESOLVE(ix, "nope", &o, "ERR no such index [nope]");
    CHECK_RESOLVE(ix, "z*", &o, "");
    o.allow_no_indices = false;
    CHECK_RESOLVE(ix, "z*", &o, "ERR no such index [z*]");
    o = resolve_opts_default();
    o.ignore_unavailable = true;
    CHECK_RESOLVE(ix, "nope,a1", &o, "a1");
    CHECK_EQ_INT(resolve_opts_parse(&o, NULL, NULL, "all", &err), 0);
    CHECK_RESOLVE(ix, "*", &o, "a1,a2,b1,h1");
    CHECK_EQ_INT(resolve_opts_parse(&o, "maybe", NULL, NULL, &err), -1);
    es_err_free(&err);
    close_fresh(ix);
}

TEST(delete_rules)
{
    indices *ix = open_fresh();
    es_err err = { 0 };
    create(ix, "d1", "{\"aliases\":{\"dal\":{}}}", &err);
    create(ix, "d2", NULL, &err);
    CHECK_EQ_INT(indices_delete(ix, "d*", NULL, &err), -1);
    CHECK_EQ_STR(err.reason, "Wildcard expressions or all indices are not allowed");
    es_err_free(&err);
    CHECK_EQ_INT(indices_delete(ix, "dal", NULL, &err), -1);
    CHECK(err.reason && strstr(err.reason, "matches an alias"));
    es_err_free(&err);
    CHECK_EQ_INT(indices_delete(ix, "d1,d2", NULL, &err), 0);
    CHECK(indices_get(ix, "d1") == NULL);
    CHECK_EQ_INT(indices_delete(ix, "d1", NULL, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "index_not_found_exception");
    es_err_free(&err);
    close_fresh(ix);
}

TEST(write_targets_and_auto_create)
{
    indices *ix = open_fresh();
    es_err err = { 0 };
    index_view *v = NULL;
    const char *routing = NULL;
    CHECK_EQ_INT(indices_write_target(ix, "auto1", true, false, &v, &routing, &err), 0);
    CHECK(v && !strcmp(v->name, "auto1"));
    index_view_release(v);
    CHECK_EQ_INT(indices_write_target(ix, "missing", false, false, &v, NULL, &err), -1);
    CHECK_EQ_STR(err.reason, "no such index [missing]");
    es_err_free(&err);
    CHECK_EQ_INT(indices_write_target(ix, "auto1", false, true, &v, NULL, &err), -1);
    CHECK_EQ_STR(err.reason, "no such index [auto1] and [require_alias] request flag is [true] and [auto1] is not an alias");
    es_err_free(&err);
    /* Aliases: single index, routing, several without a write index, an explicit write index. */
    create(ix, "w1", "{\"aliases\":{\"one\":{\"index_routing\":\"7\"},\"multi\":{}}}", &err);
    create(ix, "w2", "{\"aliases\":{\"multi\":{}}}", &err);
    CHECK_EQ_INT(indices_write_target(ix, "one", false, true, &v, &routing, &err), 0);
    CHECK(v && !strcmp(v->name, "w1"));
    CHECK_EQ_STR(routing, "7");
    index_view_release(v);
    CHECK_EQ_INT(indices_write_target(ix, "multi", true, false, &v, NULL, &err), -1);
    CHECK(err.reason && str_has_prefix(err.reason, "no write index is defined for alias [multi]"));
    es_err_free(&err);
    alias_action act = { .kind = ALIAS_ADD, .index = "w2", .alias = "multi", .is_write_index = 1, .is_hidden = -1 };
    CHECK_EQ_INT(indices_update_aliases(ix, &act, 1, &err), 0);
    CHECK_EQ_INT(indices_write_target(ix, "multi", true, false, &v, NULL, &err), 0);
    CHECK(v && !strcmp(v->name, "w2"));
    index_view_release(v);
    /* A second write index for the same alias is refused. */
    act.index = "w1";
    CHECK_EQ_INT(indices_update_aliases(ix, &act, 1, &err), -1);
    CHECK(err.reason && strstr(err.reason, "has more than one write index"));
    es_err_free(&err);
    /* action.auto_create_index patterns. */
    json_doc *d = J("{\"persistent\":{\"action.auto_create_index\":\"+logs-*,-*\"}}");
    buf ans = { 0 };
    json_w w;
    jw_init(&w, &ans, false);
    CHECK_EQ_INT(indices_cluster_settings_update(ix, json_doc_root(d), &w, &err), 0);
    CHECK_EQ_STR(ans.p, "{\"acknowledged\":true,\"persistent\":{\"action\":{\"auto_create_index\":\"+logs-*,-*\"}},\"transient\":{}}");
    json_doc_free(d);
    buf_free(&ans);
    CHECK_EQ_INT(indices_write_target(ix, "logs-x", true, false, &v, NULL, &err), 0);
    index_view_release(v);
    CHECK_EQ_INT(indices_write_target(ix, "other", true, false, &v, NULL, &err), -1);
    CHECK_EQ_STR(err.reason, "no such index [other] and [action.auto_create_index] contains [-*] which forbids automatic creation of the index");
    es_err_free(&err);
    /* Persistent cluster settings survive a restart. */
    ix = reopen(ix);
    char *s = indices_cluster_setting(ix, "action.auto_create_index");
    CHECK_EQ_STR(s, "+logs-*,-*");
    free(s);
    d = J("{\"persistent\":{\"action\":{\"auto_create_index\":false}}}");
    jw_init(&w, &ans, false);
    CHECK_EQ_INT(indices_cluster_settings_update(ix, json_doc_root(d), &w, &err), 0);
    json_doc_free(d);
    buf_free(&ans);
    CHECK_EQ_INT(indices_write_target(ix, "other", true, false, &v, NULL, &err), -1);
    CHECK_EQ_STR(err.reason, "no such index [other] and [action.auto_create_index] is [false]");
    es_err_free(&err);
    d = J("{\"persistent\":{\"no.such.setting\":1}}");
    jw_init(&w, &ans, false);
    CHECK_EQ_INT(indices_cluster_settings_update(ix, json_doc_root(d), &w, &err), -1);
    CHECK_EQ_STR(err.reason, "persistent setting [no.such.setting], not recognized");
    es_err_free(&err);
    json_doc_free(d);
    buf_free(&ans);
    close_fresh(ix);
}

TEST(mapping_updates)
{
    indices *ix = open_fresh();
    es_err err = { 0 };
    create(ix, "m", "{\"mappings\":{\"properties\":{\"k\":{\"type\":\"keyword\"}}}}", &err);
    index_view *v = indices_get(ix, "m");
    json_doc *d = J("{\"properties\":{\"n\":{\"type\":\"long\"}}}");
    CHECK_EQ_INT(indices_put_mapping(ix, &v, 1, json_doc_root(d), &err), 0);
    json_doc_free(d);
    d = J("{\"properties\":{\"k\":{\"type\":\"text\"}}}");
    CHECK_EQ_INT(indices_put_mapping(ix, &v, 1, json_doc_root(d), &err), -1);
    CHECK_EQ_STR(err.reason, "mapper [k] cannot be changed from type [keyword] to [text]");
    es_err_free(&err);
    json_doc_free(d);
    /* A dynamic update merged against a stale view still lands. */
    const char *dyn = "{\"properties\":{\"dyn\":{\"type\":\"boolean\"}}}";
    mapping *upd = mapping_parse_text(dyn, strlen(dyn), NULL, &err);
    CHECK(upd != NULL);
    index_view *fresh = NULL;
    CHECK_EQ_INT(indices_apply_dynamic_mapping(ix, v, upd, &fresh, &err), 0);
    CHECK(fresh && mapping_field(fresh->mapping, "dyn") && mapping_field(fresh->mapping, "n"));
    mapping_unref(upd);
    if (fresh) index_view_release(fresh);
    index_view_release(v);
    /* Settings: dynamic ones update, static ones are refused on an open index. */
    v = indices_get(ix, "m");
    d = J("{\"index\":{\"number_of_replicas\":0}}");
    CHECK_EQ_INT(indices_put_settings(ix, &v, 1, json_doc_root(d), false, &err), 0);
    json_doc_free(d);
    d = J("{\"number_of_shards\":3}");
    CHECK_EQ_INT(indices_put_settings(ix, &v, 1, json_doc_root(d), false, &err), -1);
    CHECK(err.reason && str_has_prefix(err.reason, "Can't update non dynamic settings [[index.number_of_shards]]"));
    es_err_free(&err);
    json_doc_free(d);
    index_view_release(v);
    v = indices_get(ix, "m");
    CHECK_EQ_STR(index_settings_get(v->settings, "index.number_of_replicas"), "0");
    index_view_release(v);
    close_fresh(ix);
}

int main(void)
{
    RUN(create_view_and_reopen);
    RUN(resolution);
    RUN(delete_rules);
    RUN(write_targets_and_auto_create);
    RUN(mapping_updates);
    return unit_report();
}
