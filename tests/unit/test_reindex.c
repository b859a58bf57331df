/* Unit tests for src/reindex: remote host parsing and its messages, the whitelist (wildcards,
 * IPv6), remote versions and the request shape each version gets, Elasticsearch's backoff,
 * request validation messages, password masking in descriptions, requests_per_second and
 * float texts, time values, source filtering. */
#include "reindex/reindex.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static config *load_cfg(const char *const *over, size_t n)
{
    static bool registered;
    if (!registered) {
        config_register(reindex_settings, reindex_settings_count);
        registered = true;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-rx-XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
    char *msg = NULL;
    config *c = config_load(tmpdir, over, n, &msg);
    if (!c) {
        printf("config: %s\n", msg);
        abort();
    }
    return c;
}

static void drop_cfg(config *c)
{
    config_free(c);
    rmdir(tmpdir);
}

/* ------------------------------------------------------------------------ */

TEST(host_forms)
{
    rx_host h;
    es_err err = { 0 };
    CHECK_EQ_INT(rx_host_parse("http://localhost:9200", &h, &err), 0);
    CHECK_EQ_STR(h.scheme, "http");
    CHECK_EQ_STR(h.host, "localhost");
    CHECK_EQ_INT(h.port, 9200);
    CHECK(h.path_prefix == NULL);
    rx_host_free(&h);

    CHECK_EQ_INT(rx_host_parse("https://es.example.com:443/proxy/es", &h, &err), 0);
    CHECK_EQ_STR(h.scheme, "https");
    CHECK_EQ_STR(h.host, "es.example.com");
    CHECK_EQ_INT(h.port, 443);
    CHECK_EQ_STR(h.path_prefix, "/proxy/es");
    rx_host_free(&h);

    CHECK_EQ_INT(rx_host_parse("http://[::1]:9200", &h, &err), 0);
    CHECK_EQ_STR(h.host, "[::1]");
    CHECK_EQ_INT(h.port, 9200);
    rx_host_free(&h);

    CHECK_EQ_INT(rx_host_parse("http://127.0.0.1:0", &h, &err), 0);
    CHECK_EQ_INT(h.port, 0);
    rx_host_free(&h);

    /* userinfo is accepted (and ignored) as java.net.URI does */
    CHECK_EQ_INT(rx_host_parse("http://u:p@h1:9200/", &h, &err), 0);
    CHECK_EQ_STR(h.host, "h1");
    CHECK_EQ_STR(h.path_prefix, "/");
    rx_host_free(&h);
    CHECK(!es_err_isset(&err));
}

static void expect_bad_host(const char *s, const char *shown)
{
    rx_host h;
    es_err err = { 0 };
    CHECK_EQ_INT(rx_host_parse(s, &h, &err), -1);
    char *want = xasprintf("[host] must be of the form [scheme]://[host]:[port](/[pathPrefix])? but was [%s]", shown);
    CHECK_EQ_STR(err.reason, want);
    CHECK_EQ_INT(err.status, 400);
    free(want);
    es_err_free(&err);
}

TEST(host_errors)
{
    expect_bad_host("badremote", "badremote");
    expect_bad_host("http://badremote", "http://badremote");
    expect_bad_host("localhost:9200", "localhost:9200");        /* opaque URI: no port */
    expect_bad_host("http://my_host:9200", "http://my_host:9200"); /* registry authority */
    expect_bad_host("http://host:", "http://host:");
    expect_bad_host("http://[::1:9200", "http://[::1:9200");
    expect_bad_host("http://a b:9200", "http://a b:9200");
    expect_bad_host("http://x.1com:9200", "http://x.1com:9200"); /* top label must start with a letter */
    /* credentials in the URI never reach the message */
    expect_bad_host("http://user:secret@host", "http://<<>>@host");
}

TEST(whitelist)
{
    es_err err = { 0 };
    const char *wl[] = { "otherhost:9200", "127.0.10.*:9200", "localhost:*", "*.example.com:9200", "[::1]:*" };
    CHECK_EQ_INT(rx_whitelist_check(wl, 5, "reindex.remote.whitelist", "otherhost", 9200, &err), 0);
    CHECK_EQ_INT(rx_whitelist_check(wl, 5, "reindex.remote.whitelist", "127.0.10.3", 9200, &err), 0);
    CHECK_EQ_INT(rx_whitelist_check(wl, 5, "reindex.remote.whitelist", "localhost", 1, &err), 0);
    CHECK_EQ_INT(rx_whitelist_check(wl, 5, "reindex.remote.whitelist", "a.b.example.com", 9200, &err), 0);
    CHECK_EQ_INT(rx_whitelist_check(wl, 5, "reindex.remote.whitelist", "[::1]", 9201, &err), 0);
    CHECK(!es_err_isset(&err));

    CHECK_EQ_INT(rx_whitelist_check(wl, 5, "reindex.remote.whitelist", "otherhost", 9201, &err), -1);
    CHECK_EQ_STR(err.reason, "[otherhost:9201] not whitelisted in reindex.remote.whitelist");
    CHECK_EQ_INT(err.status, 400);
    es_err_free(&err);
    /* case-sensitive, IPv6 keeps its brackets */
    CHECK_EQ_INT(rx_whitelist_check(wl, 5, "reindex.remote.whitelist", "OTHERHOST", 9200, &err), -1);
    es_err_free(&err);
    CHECK_EQ_INT(rx_whitelist_check(wl, 5, "reindex.remote.whitelist", "[::2]", 9200, &err), -1);
    CHECK_EQ_STR(err.reason, "[[::2]:9200] not whitelisted in reindex.remote.whitelist");
    es_err_free(&err);
    /* an empty list denies everything */
    CHECK_EQ_INT(rx_whitelist_check(NULL, 0, "reindex.remote.whitelist", "localhost", 9200, &err), -1);
    CHECK_EQ_STR(err.reason, "[localhost:9200] not whitelisted in reindex.remote.whitelist");
    es_err_free(&err);
    /* '*' matches every host:port (accepted since Elasticsearch PR #135546) */
    const char *all[] = { "*" };
    CHECK_EQ_INT(rx_whitelist_check(all, 1, "reindex.remote.whitelist", "[fe80::1]", 1, &err), 0);
    /* OpenSearch's name gives OpenSearch's message */
    CHECK_EQ_INT(rx_whitelist_check(wl, 1, "reindex.remote.allowlist", "badremote", 9200, &err), -1);
    CHECK_EQ_STR(err.reason, "[badremote:9200] not allowlisted in reindex.remote.allowlist");
    es_err_free(&err);
}

TEST(versions)
{
    CHECK_EQ_INT(rx_version_id("0.90.13", NULL), 901399);
    CHECK_EQ_INT(rx_version_id("1.7.6", NULL), 1070699);
    CHECK_EQ_INT(rx_version_id("7.17.3", NULL), 7170399);
    CHECK_EQ_INT(rx_version_id("8.17.0", NULL), 8170099);
    CHECK_EQ_INT(rx_version_id("8.0.0-rc1", NULL), 8000099);
    CHECK_EQ_INT(rx_version_id("7.10.2-SNAPSHOT", NULL), 7100299);
    CHECK_EQ_INT(rx_version_id("5.0.0-alpha5-SNAPSHOT", NULL), 5000099);
    CHECK_EQ_INT(rx_version_id("2.11.1", "opensearch"), 7100299); /* OpenSearch speaks 7.10.2's wire */
    CHECK_EQ_INT(rx_version_id("3.0.0", "OpenSearch"), 7100299);
    CHECK_EQ_INT(rx_version_id("garbage", NULL), 0);
    CHECK_EQ_INT(rx_version_id(NULL, NULL), 0);
}

TEST(version_plans)
{
    rx_remote_plan p = rx_plan_for(901399); /* 0.90 */
    CHECK(p.scroll_in_ms && p.scan && !p.sort_param && !p.allow_partial && !p.source_in_body && p.plain_text_scroll);
    CHECK_EQ_STR(p.fields, "_source,_parent,_routing,_ttl");
    p = rx_plan_for(1070699); /* 1.7 */
    CHECK_EQ_STR(p.fields, "_parent,_routing,_ttl");
    CHECK(p.source_in_body && p.scan && p.plain_text_scroll && p.ignore_clear_404);
    p = rx_plan_for(2000099); /* 2.0: JSON scroll bodies, still scan */
    CHECK(p.fields == NULL && p.scan && !p.plain_text_scroll && p.scroll_in_ms);
    p = rx_plan_for(2010099); /* 2.1: sort=_doc */
    CHECK(!p.scan && p.sort_param && p.scroll_in_ms && !p.sliced_scroll);
    p = rx_plan_for(5000099);
    CHECK(!p.scroll_in_ms && p.sliced_scroll && !p.allow_partial);
    p = rx_plan_for(6020499);
    CHECK(!p.allow_partial);
    p = rx_plan_for(6030099);
    CHECK(p.allow_partial && !p.total_is_object);
    p = rx_plan_for(7000099);
    CHECK(p.total_is_object);
}

static rx_request *parse(reindex_env *env, const char *body, es_err *err)
{
    rx_params p = { 0 };
    rx_request *r = NULL;
    rx_request_parse(env, RX_REINDEX, body, strlen(body), &p, &r, err);
    return r;
}

TEST(request_shapes_by_version)
{
    config *c = load_cfg(NULL, 0);
    reindex_env *env = reindex_env_open(c, NULL, NULL, "8.17.0");
    es_err err = { 0 };
    rx_request *r = parse(env,
                          "{\"source\":{\"index\":[\"a b\",\"c/d\"],\"remote\":{\"host\":\"http://h:9200/pre/\"},"
                          "\"query\":{\"match\":{\"t\":\"x\"}},\"_source\":{\"excludes\":[\"f\"]},\"size\":50},"
                          "\"dest\":{\"index\":\"d\",\"version_type\":\"external\"}}",
                          &err);
    CHECK(r != NULL);
    if (!r) {
        printf("  %s\n", err.reason);
        es_err_free(&err);
        reindex_env_close(env);
        drop_cfg(c);
        return;
    }
    char *path, *body;
    rx_remote_plan p = rx_plan_for(rx_version_id("8.17.0", NULL));
    rx_remote_first_search(r, &p, 0, 1, &path, &body);
    CHECK_EQ_STR(path, "/pre/a+b,c%2Fd/_search?scroll=5m&size=50&version=true&sort=_doc%3Aasc"
                       "&allow_partial_search_results=false");
    CHECK_EQ_STR(body, "{\"query\":{\"match\":{\"t\":\"x\"}},\"_source\":{\"excludes\":[\"f\"]}}");
    free(path);
    free(body);

    p = rx_plan_for(rx_version_id("6.2.4", NULL));
    rx_remote_first_search(r, &p, 1, 4, &path, &body);
    CHECK_EQ_STR(path, "/pre/a+b,c%2Fd/_search?scroll=5m&size=50&version=true&sort=_doc%3Aasc");
    CHECK_EQ_STR(body, "{\"query\":{\"match\":{\"t\":\"x\"}},\"_source\":{\"excludes\":[\"f\"]},"
                       "\"slice\":{\"id\":1,\"max\":4}}");
    free(path);
    free(body);

    p = rx_plan_for(rx_version_id("1.7.6", NULL));
    rx_remote_first_search(r, &p, 0, 1, &path, &body);
    CHECK_EQ_STR(path, "/pre/a+b,c%2Fd/_search?scroll=300000ms&size=50&version=true&search_type=scan"
                       "&fields=_parent%2C_routing%2C_ttl");
    free(path);
    free(body);

    p = rx_plan_for(rx_version_id("0.90.13", NULL));
    rx_remote_first_search(r, &p, 0, 1, &path, &body);
    CHECK_EQ_STR(body, "{\"query\":{\"match\":{\"t\":\"x\"}}}"); /* no _source filtering before 1.0 */
    free(path);
    free(body);
    rx_request_free(r);

    /* no query: match_all with its boost, as Elasticsearch serializes it */
    r = parse(env, "{\"source\":{\"index\":\"s\",\"remote\":{\"host\":\"http://h:9200\"}},\"dest\":{\"index\":\"d\"}}", &err);
    CHECK(r != NULL);
    p = rx_plan_for(rx_version_id("7.17.0", NULL));
    rx_remote_first_search(r, &p, 0, 1, &path, &body);
    CHECK_EQ_STR(path, "/s/_search?scroll=5m&size=1000&version=false&sort=_doc%3Aasc&allow_partial_search_results=false");
    CHECK_EQ_STR(body, "{\"query\":{\"match_all\":{\"boost\":1.0}},\"_source\":true}");
    CHECK_EQ_STR(rx_request_description(r),
                 "reindex from [host=h port=9200 query={\n  \"match_all\" : {\n    \"boost\" : 1.0\n  }\n}][s] to [d]");
    free(path);
    free(body);
    rx_request_free(r);
    reindex_env_close(env);
    drop_cfg(c);
}

TEST(backoff_schedule)
{
    static const int64_t want[] = { 500, 510, 530, 600, 730, 1030, 1700, 3190, 6500, 13880, 30290 };
    int64_t total = 0;
    for (int i = 0; i < 11; i++) {
        CHECK_EQ_INT(rx_backoff_ms(500, i), want[i]);
        total += rx_backoff_ms(500, i);
    }
    CHECK_EQ_INT(total, 59460);
    CHECK_EQ_INT(rx_backoff_ms(50, 0), 50);
}

static void expect_error(reindex_env *env, const char *body, const char *type, const char *reason_part)
{
    es_err err = { 0 };
    rx_request *r = parse(env, body, &err);
    CHECK(r == NULL);
    rx_request_free(r);
    if (!es_err_isset(&err)) {
        UNIT_FAIL("no error for %s", body);
        return;
    }
    const char *t = es_err_type_name(&err);
    bool found = strstr(err.reason, reason_part) != NULL;
    for (es_err *c = err.caused_by; c && !found; c = c->caused_by)
        if (strstr(c->reason, reason_part)) found = true;
    if (strcmp(t, type) || !found) UNIT_FAIL("for %s got [%s] %s", body, t, err.reason);
    es_err_free(&err);
}

TEST(validation_messages)
{
    const char *strict[] = { "ferry.reindex.remote_slices=false" };
    config *c = load_cfg(strict, 1);
    reindex_env *env = reindex_env_open(c, NULL, NULL, "8.17.0");
    expect_error(env, "{\"junk\":{\"more_junk\":null}}", "x_content_parse_exception", "[1:2] [reindex] unknown field [junk]");
    expect_error(env, "{\"source\":{\"junk\":{}}}", "parsing_exception", "Unknown key for a START_OBJECT in [junk].");
    expect_error(env, "{\"dest\":{\"junk\":{}}}", "x_content_parse_exception", "[dest] unknown field [junk]");
    expect_error(env, "{\"dest\":{}}", "action_request_validation_exception", "index must be specified");
    expect_error(env, "{\"source\":{\"size\":\"cat\"},\"dest\":{\"index\":\"d\"}}", "x_content_parse_exception",
                 "For input string: \"cat\"");
    expect_error(env, "{\"source\":{\"from\":1},\"dest\":{\"index\":\"d\"}}", "action_request_validation_exception",
                 "from is not supported in this context");
    expect_error(env, "{\"dest\":{\"version\":10}}", "x_content_parse_exception", "[dest] unknown field [version]");
    expect_error(env, "{\"conflicts\":\"cat\"}", "x_content_parse_exception",
                 "conflicts may only be \"proceed\" or \"abort\" but was [cat]");
    expect_error(env, "{\"source\":{\"index\":\"t\"},\"dest\":{\"index\":\"d\"},\"size\":-4}", "x_content_parse_exception",
                 "[max_docs] parameter cannot be negative, found [-4]");
    expect_error(env, "{\"source\":{\"index\":\"t\"},\"dest\":{\"index\":\"d\"},\"size\":4,\"max_docs\":5}",
                 "x_content_parse_exception", "[max_docs] set to two different values [4] and [5]");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"stored_fields\":[\"_id\"]},\"dest\":{\"index\":\"d\"}}",
                 "action_request_validation_exception", "stored_fields is not supported in this context");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"_source\":false},\"dest\":{\"index\":\"d\"}}",
                 "action_request_validation_exception", "_source:false is not supported in this context");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"remote\":{\"host\":\"badremote\",\"weird\":\"stuff\"}},\"dest\":{\"index\":\"d\"}}",
                 "x_content_parse_exception", "[host] must be of the form [scheme]://[host]:[port](/[pathPrefix])? but was [badremote]");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"remote\":{\"host\":\"http://okremote:9200\",\"weird\":\"stuff\",\"badkey\":\"is bad\"}},\"dest\":{\"index\":\"d\"}}",
                 "x_content_parse_exception", "Unsupported fields in [remote]: [weird,badkey]");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"remote\":{\"host\":\"http://okremote:9200\",\"socket_timeout\":\"borked\"}},\"dest\":{\"index\":\"d\"}}",
                 "x_content_parse_exception", "For input string: \"borke\"");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"remote\":{\"host\":\"http://h:9200\",\"username\":\"u\"}},\"dest\":{\"index\":\"d\"}}",
                 "action_request_validation_exception", "reindex from remote source included username but not password");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"remote\":{\"host\":\"http://h:9200\",\"password\":\"p\"}},\"dest\":{\"index\":\"d\"}}",
                 "action_request_validation_exception", "reindex from remote source included password but not username");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"remote\":{}},\"dest\":{\"index\":\"d\"}}", "x_content_parse_exception",
                 "[host] must be specified to reindex from a remote cluster");
    expect_error(env, "{\"source\":{\"index\":\"t\",\"remote\":{\"host\":\"http://h:9200\",\"api_key\":\"k\",\"headers\":{\"authorization\":\"x\"}}},\"dest\":{\"index\":\"d\"}}",
                 "x_content_parse_exception", "Cannot specify both [api_key] and [headers] including [Authorization] key");
    expect_error(env, "{\"source\":{\"index\":\"t\"},\"dest\":{\"index\":\"d\",\"routing\":\"junk\"}}",
                 "action_request_validation_exception", "routing must be unset, [keep], [discard] or [=<some new value>]");
    expect_error(env, "{\"source\":{\"index\":\"t\"},\"dest\":{\"index\":\"d\"},\"script\":{\"source\":\"ctx._source.x=1\"}}",
                 "illegal_argument_exception", "no scripting engine");
    /* slices with a remote: Elasticsearch's refusal in strict mode */
    {
        rx_params p = { .slices = "2" };
        rx_request *r = NULL;
        es_err err = { 0 };
        const char *b = "{\"source\":{\"index\":\"t\",\"remote\":{\"host\":\"http://h:9200\"}},\"dest\":{\"index\":\"d\"}}";
        CHECK_EQ_INT(rx_request_parse(env, RX_REINDEX, b, strlen(b), &p, &r, &err), -1);
        CHECK(err.reason && strstr(err.reason, "reindex from remote sources doesn't support slices > 1 but was [2]"));
        es_err_free(&err);
        p.slices = "auto";
        CHECK_EQ_INT(rx_request_parse(env, RX_REINDEX, b, strlen(b), &p, &r, &err), -1);
        CHECK(err.reason && strstr(err.reason, "doesn't support slices > 1 but was [0]"));
        es_err_free(&err);
        p.slices = "junk";
        CHECK_EQ_INT(rx_request_parse(env, RX_REINDEX, b, strlen(b), &p, &r, &err), -1);
        CHECK_EQ_STR(err.reason, "[slices] must be a positive integer or the string \"auto\", but was [junk]");
        es_err_free(&err);
        p.slices = NULL;
        p.pipeline = "x";
        CHECK_EQ_INT(rx_request_parse(env, RX_REINDEX, b, strlen(b), &p, &r, &err), -1);
        CHECK_EQ_STR(err.reason,
                     "_reindex doesn't support [pipeline] as a query parameter. Specify it in the [dest] object instead.");
        es_err_free(&err);
        p.pipeline = NULL;
        p.max_docs = "5";
        const char *b2 = "{\"source\":{\"index\":\"t\"},\"dest\":{\"index\":\"d\"},\"max_docs\":4}";
        CHECK_EQ_INT(rx_request_parse(env, RX_REINDEX, b2, strlen(b2), &p, &r, &err), -1);
        CHECK_EQ_STR(err.reason, "[max_docs] set to two different values [4] and [5]");
        es_err_free(&err);
        p.max_docs = "1";
        p.slices = "2";
        const char *b3 = "{\"source\":{\"index\":\"t\"},\"dest\":{\"index\":\"d\"}}";
        CHECK_EQ_INT(rx_request_parse(env, RX_REINDEX, b3, strlen(b3), &p, &r, &err), -1);
        CHECK_EQ_STR(err.reason, "Validation Failed: 1: [max_docs] should be >= [slices];");
        es_err_free(&err);
    }
    reindex_env_close(env);
    drop_cfg(c);
}

TEST(password_masking)
{
    config *c = load_cfg(NULL, 0);
    reindex_env *env = reindex_env_open(c, NULL, NULL, "8.17.0");
    es_err err = { 0 };
    rx_request *r = parse(env,
                          "{\"source\":{\"index\":[\"a\",\"b\"],\"remote\":{\"host\":\"https://x.example:443\",\"username\":\"elastic\","
                          "\"password\":\"s3cr3t-p@ss\"},\"query\":{\"term\":{\"k\":\"v\"}}},\"dest\":{\"index\":\"d\"}}",
                          &err);
    CHECK(r != NULL);
    if (r) {
        const char *d = rx_request_description(r);
        CHECK_EQ_STR(d, "reindex from [scheme=https host=x.example port=443 query={\n  \"term\" : {\n    \"k\" : \"v\"\n  }\n} "
                        "username=elastic password=<<>>][a, b] to [d]");
        CHECK(strstr(d, "s3cr3t") == NULL);
        rx_request_free(r);
    }
    /* a malformed password is not echoed either */
    r = parse(env, "{\"source\":{\"index\":\"a\",\"remote\":{\"host\":\"http://h:9200\",\"username\":\"u\",\"password\":[\"s3cr3t\"]}},\"dest\":{\"index\":\"d\"}}", &err);
    CHECK(r == NULL);
    CHECK(err.reason && !strstr(err.reason, "s3cr3t"));
    for (es_err *e = err.caused_by; e; e = e->caused_by) CHECK(!strstr(e->reason, "s3cr3t"));
    es_err_free(&err);
    reindex_env_close(env);
    drop_cfg(c);
}

TEST(requests_per_second)
{
    float v;
    es_err err = { 0 };
    const char *bad[] = { "", "-12", "0", "unlimited", "NaN", "-0.5", "1x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(rx_parse_rps(bad[i], &v, &err), -1);
        CHECK_EQ_STR(err.reason, "[requests_per_second] must be a float greater than 0. Use -1 to disable throttling.");
        es_err_free(&err);
    }
    CHECK_EQ_INT(rx_parse_rps("-1", &v, &err), 0);
    CHECK(isinf(v));
    CHECK_EQ_INT(rx_parse_rps(".00000001", &v, &err), 0);
    CHECK(v > 0 && v < 1e-7f);
    CHECK_EQ_INT(rx_parse_rps("1e3", &v, &err), 0);
    CHECK(v == 1000.0f);
    CHECK_EQ_INT(rx_parse_rps(" 2.5f ", &v, &err), 0);
    CHECK(v == 2.5f);

    char t[32];
    rx_float_text(-1.0f, t);
    CHECK_EQ_STR(t, "-1.0");
    rx_float_text(1.0f, t);
    CHECK_EQ_STR(t, "1.0");
    rx_float_text(0.0001f, t);
    CHECK_EQ_STR(t, "1.0E-4");
    rx_float_text(1e-8f, t);
    CHECK_EQ_STR(t, "1.0E-8");
    rx_float_text(2.5f, t);
    CHECK_EQ_STR(t, "2.5");
    rx_float_text(0.1f, t);
    CHECK_EQ_STR(t, "0.1");
    rx_float_text(1234567.0f, t);
    CHECK_EQ_STR(t, "1234567.0");
}

TEST(source_filter)
{
    const char *src = "{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"e\":[{\"f\":1,\"g\":2}],\"h\":\"x\"}";
    buf out = { 0 };
    char *exc[] = { "b.c", "h" };
    CHECK(rx_filter_source(src, strlen(src), NULL, 0, exc, 2, &out));
    CHECK_EQ_STR(out.p, "{\"a\":1,\"b\":{\"d\":3},\"e\":[{\"f\":1,\"g\":2}]}");
    buf_free(&out);
    char *inc[] = { "b.*", "e.f" };
    CHECK(rx_filter_source(src, strlen(src), inc, 2, NULL, 0, &out));
    CHECK_EQ_STR(out.p, "{\"b\":{\"c\":2,\"d\":3},\"e\":[{\"f\":1}]}");
    buf_free(&out);
    char *inc2[] = { "a", "b" };
    char *exc2[] = { "b.d" };
    CHECK(rx_filter_source(src, strlen(src), inc2, 2, exc2, 1, &out));
    CHECK_EQ_STR(out.p, "{\"a\":1,\"b\":{\"c\":2}}");
    buf_free(&out);
    char *none[] = { "zzz" };
    CHECK(rx_filter_source(src, strlen(src), none, 1, NULL, 0, &out));
    CHECK_EQ_STR(out.p, "{}");
    buf_free(&out);
}

int main(void)
{
    RUN(host_forms);
    RUN(host_errors);
    RUN(whitelist);
    RUN(versions);
    RUN(version_plans);
    RUN(request_shapes_by_version);
    RUN(backoff_schedule);
    RUN(validation_messages);
    RUN(password_masking);
    RUN(requests_per_second);
    RUN(source_filter);
    return unit_report();
}
