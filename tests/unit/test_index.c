/* Unit tests for src/index: names, settings, dates, ips, mappings, documents. */
#include "index/index.h"
#include "unit.h"

#include <stdlib.h>

/* ---- helpers ---- */

static json_doc *J(const char *s)
{
    json_err e;
    json_doc *d = json_parse(s, strlen(s), NULL, &e);
    if (!d) printf("  bad test JSON: %s: %s\n", s, e.msg);
    return d;
}

static char *settings_json(const index_settings *s, unsigned flags)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    index_settings_write(s, flags, &w);
    return buf_detach(&b, NULL);
}

static mapping *M(const char *s, es_err *err)
{
    json_doc *d = J(s);
    mapping *m = mapping_parse(d ? json_doc_root(d) : NULL, NULL, err);
    json_doc_free(d);
    return m;
}

/* Parses json, checks it round-trips to want (NULL: itself). */
static void check_roundtrip(const char *json, const char *want, int line)
{
    es_err err = { 0 };
    mapping *m = M(json, &err);
    if (!m) {
        printf("  line %d: mapping failed: %s\n", line, err.reason);
        unit_cur_failed = 1;
        es_err_free(&err);
        return;
    }
    char *out = mapping_to_json(m);
    if (strcmp(out, want ? want : json) != 0) {
        printf("  line %d: mapping round trip\n    got  %s\n    want %s\n", line, out, want ? want : json);
        unit_cur_failed = 1;
    }
    /* and the output parses back to itself */
    mapping *m2 = M(out, &err);
    char *out2 = m2 ? mapping_to_json(m2) : NULL;
    if (!out2 || strcmp(out2, out) != 0) {
        printf("  line %d: re-parse differs: %s\n", line, out2 ? out2 : err.reason);
        unit_cur_failed = 1;
    }
    free(out);
    free(out2);
    mapping_unref(m);
    mapping_unref(m2);
    es_err_free(&err);
}
#define ROUNDTRIP(json, want) check_roundtrip(json, want, __LINE__)

static void check_mapping_error(const char *json, const char *type, const char *reason, const char *cause, int line)
{
    es_err err = { 0 };
    mapping *m = M(json, &err);
    if (m) {
        printf("  line %d: mapping accepted: %s\n", line, json);
        unit_cur_failed = 1;
        mapping_unref(m);
        return;
    }
    if (strcmp(es_err_type_name(&err), type) != 0 || strcmp(err.reason, reason) != 0) {
        printf("  line %d: error\n    got  %s: %s\n    want %s: %s\n", line, es_err_type_name(&err), err.reason, type, reason);
        unit_cur_failed = 1;
    }
    if (cause && (!err.caused_by || strcmp(err.caused_by->reason, cause) != 0)) {
        printf("  line %d: cause\n    got  %s\n    want %s\n", line, err.caused_by ? err.caused_by->reason : "(none)", cause);
        unit_cur_failed = 1;
    }
    es_err_free(&err);
}
#define MAPPING_ERROR(json, type, reason, cause) check_mapping_error(json, type, reason, cause, __LINE__)

/* Parses a document; returns 0/-1; fills pd and err. */
static int doc(const mapping *m, const char *src, const char *id, parsed_doc *pd, es_err *err)
{
    json_doc *d = J(src);
    doc_parse_opts o = { .id = id, .src = src, .src_len = strlen(src), .doc = d };
    memset(pd, 0, sizeof *pd);
    int rc = mapping_parse_document(m, json_doc_root(d), &o, pd, err);
    json_doc_free(d);
    return rc;
}

static const index_field_value *find_value(const parsed_doc *pd, const char *path, int nth)
{
    for (size_t i = 0; i < pd->n_values; i++)
        if (strcmp(pd->values[i].path, path) == 0 && nth-- == 0) return &pd->values[i];
    return NULL;
}

/* ---- index names ---- */

static void check_name(const char *name, const char *reason, int line)
{
    es_err err = { 0 };
    int rc = index_name_validate(name, &err);
    if (!reason) {
        if (rc != 0) {
            printf("  line %d: [%s] rejected: %s\n", line, name, err.reason);
            unit_cur_failed = 1;
        }
    } else if (rc == 0 || strcmp(err.reason, reason) != 0 || strcmp(es_err_type_name(&err), "invalid_index_name_exception") != 0) {
        printf("  line %d: got %s want %s\n", line, rc ? err.reason : "(accepted)", reason);
        unit_cur_failed = 1;
    }
    es_err_free(&err);
}
#define NAME(n, r) check_name(n, r, __LINE__)

TEST(index_names)
{
    NAME("test", NULL);
    NAME("logs-2024.01.01", NULL);
    NAME(".kibana", NULL);
    NAME("Foo", "Invalid index name [Foo], must be lowercase");
    NAME("a b", "Invalid index name [a b], must not contain the following characters [' ','\"','*',',','/','<','>','?','\\','|']");
    NAME("a*", "Invalid index name [a*], must not contain the following characters [' ','\"','*',',','/','<','>','?','\\','|']");
    NAME("A,b", "Invalid index name [A,b], must not contain the following characters [' ','\"','*',',','/','<','>','?','\\','|']");
    NAME("a#b", "Invalid index name [a#b], must not contain '#'");
    NAME("a:b", "Invalid index name [a:b], must not contain ':'");
    NAME("_a", "Invalid index name [_a], must not start with '_', '-', or '+'");
    NAME("-a", "Invalid index name [-a], must not start with '_', '-', or '+'");
    NAME("+a", "Invalid index name [+a], must not start with '_', '-', or '+'");
    NAME(".", "Invalid index name [.], must not be '.' or '..'");
    NAME("..", "Invalid index name [..], must not be '.' or '..'");
    NAME("\xc3\x89t\xc3\xa9", "Invalid index name [\xc3\x89t\xc3\xa9], must be lowercase");
    char longname[301];
    memset(longname, 'a', 300);
    longname[300] = 0;
    char want[400];
    snprintf(want, sizeof want, "Invalid index name [%s], index name is too long, (300 > 255)", longname);
    NAME(longname, want);
    es_err err = { 0 };
    index_name_validate("Foo", &err);
    CHECK_EQ_INT(err.status, 400);
    CHECK_EQ_INT(err.n_extra, 2);
    CHECK_EQ_STR(err.extra[0].key, "index_uuid");
    CHECK_EQ_STR(err.extra[0].value, "_na_");
    CHECK_EQ_STR(err.extra[1].key, "index");
    CHECK_EQ_STR(err.extra[1].value, "Foo");
    es_err_free(&err);
}

/* ---- settings ---- */

static index_settings *S(const char *json, settings_mode mode, es_err *err)
{
    json_doc *d = J(json);
    index_settings *s = NULL;
    index_settings_parse(json_doc_root(d), mode, &s, err);
    json_doc_free(d);
    return s;
}

static void check_settings_error(const char *json, settings_mode mode, const char *type, const char *reason, int line)
{
    es_err err = { 0 };
    index_settings *s = S(json, mode, &err);
    if (s) {
        printf("  line %d: settings accepted: %s\n", line, json);
        unit_cur_failed = 1;
        index_settings_free(s);
        return;
    }
    if (strcmp(es_err_type_name(&err), type) != 0 || strcmp(err.reason, reason) != 0) {
        printf("  line %d:\n    got  %s: %s\n    want %s: %s\n", line, es_err_type_name(&err), err.reason, type, reason);
        unit_cur_failed = 1;
    }
    es_err_free(&err);
}
#define SETTINGS_ERROR(json, type, reason) check_settings_error(json, SETTINGS_CREATE, type, reason, __LINE__)

TEST(settings_normalize)
{
    es_err err = { 0 };
    index_settings *s = S("{\"index.number_of_shards\":1,\"number_of_replicas\":\"0\",\"index\":{\"refresh_interval\":\"5s\","
                          "\"analysis\":{\"analyzer\":{\"a\":{\"type\":\"custom\",\"tokenizer\":\"standard\",\"filter\":[\"lowercase\"]}}}},"
                          "\"blocks.write\":true,\"max_result_window\":5000}",
                          SETTINGS_CREATE, &err);
    CHECK(s != NULL);
    if (!s) {
        printf("  %s\n", err.reason);
        es_err_free(&err);
        return;
    }
    CHECK_EQ_STR(index_settings_get(s, "index.number_of_shards"), "1");
    CHECK_EQ_STR(index_settings_get(s, "index.number_of_replicas"), "0");
    CHECK_EQ_STR(index_settings_get(s, "index.refresh_interval"), "5s");
    CHECK_EQ_STR(index_settings_get(s, "index.blocks.write"), "true");
    CHECK_EQ_INT(index_settings_get_int(s, "index.max_result_window", 10000), 5000);
    char *flat = settings_json(s, SETTINGS_WRITE_FLAT);
    CHECK_EQ_STR(flat, "{\"index.analysis.analyzer.a.filter\":[\"lowercase\"],\"index.analysis.analyzer.a.tokenizer\":\"standard\","
                       "\"index.analysis.analyzer.a.type\":\"custom\",\"index.blocks.write\":\"true\",\"index.max_result_window\":\"5000\","
                       "\"index.number_of_replicas\":\"0\",\"index.number_of_shards\":\"1\",\"index.refresh_interval\":\"5s\"}");
    char *nested = settings_json(s, 0);
    CHECK_EQ_STR(nested, "{\"index\":{\"analysis\":{\"analyzer\":{\"a\":{\"filter\":[\"lowercase\"],\"tokenizer\":\"standard\","
                         "\"type\":\"custom\"}}},\"blocks\":{\"write\":\"true\"},\"max_result_window\":\"5000\","
                         "\"number_of_replicas\":\"0\",\"number_of_shards\":\"1\",\"refresh_interval\":\"5s\"}}");
    free(flat);
    free(nested);

    index_create_info info = { .provided_name = "test", .uuid = "abcdefghijklmnopqrstuv", .creation_date = 1700000000000,
                               .version_created = "8521000" };
    index_settings_fill_defaults(s, &info);
    CHECK_EQ_STR(index_settings_get(s, "index.uuid"), "abcdefghijklmnopqrstuv");
    CHECK_EQ_STR(index_settings_get(s, "index.provided_name"), "test");
    CHECK_EQ_STR(index_settings_get(s, "index.creation_date"), "1700000000000");
    CHECK_EQ_STR(index_settings_get(s, "index.version.created"), "8521000");
    CHECK_EQ_STR(index_settings_get(s, "index.number_of_shards"), "1");
    CHECK_EQ_STR(index_settings_get(s, "index.routing.allocation.include._tier_preference"), "data_content");
    index_settings_free(s);

    /* defaults of an empty body */
    s = S("{}", SETTINGS_CREATE, &err);
    index_settings_fill_defaults(s, &info);
    char *j = settings_json(s, 0);
    CHECK_EQ_STR(j, "{\"index\":{\"creation_date\":\"1700000000000\",\"number_of_replicas\":\"1\",\"number_of_shards\":\"1\","
                    "\"provided_name\":\"test\",\"routing\":{\"allocation\":{\"include\":{\"_tier_preference\":\"data_content\"}}},"
                    "\"uuid\":\"abcdefghijklmnopqrstuv\",\"version\":{\"created\":\"8521000\"}}}");
    free(j);
    /* include_defaults: known defaults not set */
    j = settings_json(s, SETTINGS_WRITE_DEFAULTS | SETTINGS_WRITE_FLAT);
    CHECK(strstr(j, "\"index.max_result_window\":\"10000\"") != NULL);
    CHECK(strstr(j, "\"index.refresh_interval\":\"1s\"") != NULL);
    CHECK(strstr(j, "\"index.number_of_shards\"") == NULL);
    free(j);
    index_settings_free(s);

    /* uuid and provided_name given by a user are replaced by the node's */
    s = S("{\"index.uuid\":\"mine\",\"index.provided_name\":\"x\"}", SETTINGS_CREATE, &err);
    CHECK(s && !index_settings_get(s, "index.uuid") && !index_settings_get(s, "index.provided_name"));
    index_settings_free(s);
    es_err_free(&err);
}

TEST(settings_validation)
{
    SETTINGS_ERROR("{\"index.foo\":1}", "illegal_argument_exception",
                   "unknown setting [index.foo] please check that any required plugins are installed, or check the breaking "
                   "changes documentation for removed settings");
    SETTINGS_ERROR("{\"foo\":{\"bar\":1}}", "illegal_argument_exception",
                   "unknown setting [index.foo.bar] please check that any required plugins are installed, or check the breaking "
                   "changes documentation for removed settings");
    SETTINGS_ERROR("{\"index.number_of_shard\":1}", "illegal_argument_exception",
                   "unknown setting [index.number_of_shard] did you mean [index.number_of_shards]?");
    SETTINGS_ERROR("{\"number_of_shards\":\"abc\"}", "illegal_argument_exception",
                   "Failed to parse value [abc] for setting [index.number_of_shards]");
    SETTINGS_ERROR("{\"number_of_shards\":0}", "illegal_argument_exception",
                   "Failed to parse value [0] for setting [index.number_of_shards] must be >= 1");
    SETTINGS_ERROR("{\"number_of_shards\":2000}", "illegal_argument_exception",
                   "Failed to parse value [2000] for setting [index.number_of_shards] must be <= 1024");
    SETTINGS_ERROR("{\"number_of_replicas\":-1}", "illegal_argument_exception",
                   "Failed to parse value [-1] for setting [index.number_of_replicas] must be >= 0");
    SETTINGS_ERROR("{\"max_result_window\":0}", "illegal_argument_exception",
                   "Failed to parse value [0] for setting [index.max_result_window] must be >= 1");
    SETTINGS_ERROR("{\"blocks.read_only\":\"yes\"}", "illegal_argument_exception",
                   "Failed to parse value [yes] as only [true] or [false] are allowed.");
    SETTINGS_ERROR("{\"refresh_interval\":\"abc\"}", "illegal_argument_exception",
                   "failed to parse setting [index.refresh_interval] with value [abc] as a time value: unit is missing or unrecognized");
    SETTINGS_ERROR("{\"index.version.created\":\"7000099\"}", "validation_exception",
                   "Validation Failed: 1: private index setting [index.version.created] can not be set explicitly;");
    SETTINGS_ERROR("{\"soft_deletes.enabled\":false}", "illegal_argument_exception",
                   "Creating indices with soft-deletes disabled is no longer supported. Please do not specify a value for setting [index.soft_deletes.enabled].");
    SETTINGS_ERROR("{\"codec\":\"zip\"}", "illegal_argument_exception",
                   "unknown value for [index.codec] must be one of [default, best_compression, legacy_default, legacy_best_compression, lucene_default] but was: zip");
    es_err err = { 0 };
    index_settings *s = S("{\"number_of_shards\":\"x\"}", SETTINGS_CREATE, &err);
    CHECK(!s && err.caused_by && strcmp(es_err_type_name(err.caused_by), "number_format_exception") == 0);
    CHECK(err.caused_by && strcmp(err.caused_by->reason, "For input string: \"x\"") == 0);
    es_err_free(&err);
    s = S("{\"refresh_interval\":\"-1\",\"auto_expand_replicas\":\"0-all\",\"translog.durability\":\"async\"}", SETTINGS_CREATE, &err);
    CHECK(s != NULL);
    index_settings_free(s);
    es_err_free(&err);
}

TEST(settings_update)
{
    es_err err = { 0 };
    index_settings *cur = S("{\"number_of_shards\":1,\"number_of_replicas\":1,\"refresh_interval\":\"1s\"}", SETTINGS_CREATE, &err);
    index_settings *up = S("{\"index\":{\"number_of_replicas\":0,\"refresh_interval\":null}}", SETTINGS_UPDATE, &err);
    CHECK(cur && up);
    index_settings *out = NULL;
    CHECK_EQ_INT(index_settings_merge_update(cur, up, true, "test", "uuid1", &out, &err), 0);
    CHECK_EQ_STR(index_settings_get(out, "index.number_of_replicas"), "0");
    CHECK(index_settings_find(out, "index.refresh_interval") == NULL);
    index_settings_free(out);
    index_settings_free(up);

    up = S("{\"number_of_shards\":2,\"codec\":\"best_compression\"}", SETTINGS_UPDATE, &err);
    CHECK_EQ_INT(index_settings_merge_update(cur, up, true, "test", "uuid1", &out, &err), -1);
    CHECK_EQ_STR(err.reason, "Can't update non dynamic settings [[index.codec, index.number_of_shards]] for open indices [[test/uuid1]]");
    es_err_free(&err);
    index_settings_free(up);

    up = S("{\"codec\":\"best_compression\"}", SETTINGS_UPDATE, &err);
    CHECK_EQ_INT(index_settings_merge_update(cur, up, false, "test", "uuid1", &out, &err), 0);
    CHECK_EQ_STR(index_settings_get(out, "index.codec"), "best_compression");
    index_settings_free(out);
    index_settings_free(up);

    up = S("{\"number_of_shards\":3}", SETTINGS_UPDATE, &err);
    CHECK_EQ_INT(index_settings_merge_update(cur, up, false, "test", "uuid1", &out, &err), -1);
    CHECK_EQ_STR(err.reason, "final index setting [index.number_of_shards], not updateable");
    es_err_free(&err);
    index_settings_free(up);

    up = S("{\"index.uuid\":\"x\"}", SETTINGS_UPDATE, &err);
    CHECK(up == NULL);
    CHECK_EQ_STR(err.reason, "private index setting [index.uuid] can not be set explicitly");
    es_err_free(&err);
    CHECK(index_setting_is_dynamic("index.number_of_replicas"));
    CHECK(!index_setting_is_dynamic("index.number_of_shards"));
    CHECK(index_setting_is_dynamic("index.routing.allocation.require._name"));
    CHECK(!index_setting_is_dynamic("index.analysis.analyzer.x.type"));
    index_settings_free(cur);
}

/* ---- dates ---- */

static void check_date(const char *fmt, const char *in, int64_t want_ms, int line)
{
    es_err err = { 0 };
    date_format *f = date_format_compile(fmt, &err);
    if (!f) {
        printf("  line %d: format %s: %s\n", line, fmt, err.reason);
        unit_cur_failed = 1;
        es_err_free(&err);
        return;
    }
    int64_t ms;
    if (!date_format_parse_millis(f, in, strlen(in), &ms)) {
        printf("  line %d: [%s] with [%s] did not parse\n", line, in, fmt);
        unit_cur_failed = 1;
    } else if (ms != want_ms) {
        printf("  line %d: [%s] with [%s]: %lld != %lld\n", line, in, fmt, (long long)ms, (long long)want_ms);
        unit_cur_failed = 1;
    }
    date_format_free(f);
}
#define DATE(f, in, ms) check_date(f, in, ms, __LINE__)

static void check_bad_date(const char *fmt, const char *in, int line)
{
    es_err err = { 0 };
    date_format *f = date_format_compile(fmt, &err);
    int64_t ms;
    if (f && date_format_parse_millis(f, in, strlen(in), &ms)) {
        printf("  line %d: [%s] with [%s] parsed to %lld\n", line, in, fmt, (long long)ms);
        unit_cur_failed = 1;
    }
    date_format_free(f);
    es_err_free(&err);
}
#define BAD_DATE(f, in) check_bad_date(f, in, __LINE__)

TEST(dates)
{
    const char *d = DATE_FORMAT_DEFAULT;
    DATE(d, "2015-01-01", 1420070400000);
    DATE(d, "2015-01-01T12:10:30Z", 1420114230000);
    DATE(d, "2015-01-01T12:10:30.123Z", 1420114230123);
    DATE(d, "2015-01-01T12:10:30.123456789Z", 1420114230123);
    DATE(d, "2015-01-01T12:10:30+01:00", 1420110630000);
    DATE(d, "2015-01-01T12:10:30-0530", 1420134030000);
    DATE(d, "2015-01-01T12:10", 1420114200000);
    DATE(d, "2015-01", 1420070400000);
    DATE(d, "2015", 1420070400000);
    DATE(d, "1420070400001", 1420070400001);
    DATE(d, "-1000", -1000);
    DATE(d, "1969-12-31T23:59:59.999Z", -1);
    DATE(d, "1900-03-01", -2203891200000);
    DATE(d, "2000-02-29", 951782400000);
    DATE("epoch_second", "1420070400", 1420070400000);
    DATE("epoch_second", "-1.5", -1500);
    DATE("epoch_millis", "1.5", 1);
    DATE("yyyy-MM-dd HH:mm:ss", "2015-01-01 12:10:30", 1420114230000);
    DATE("dd/MM/yyyy", "31/12/2014", 1419984000000);
    DATE("yyyyMMdd", "20150101", 1420070400000);
    DATE("basic_date", "20150101", 1420070400000);
    DATE("basic_date_time", "20150101T121030.123Z", 1420114230123);
    DATE("strict_date_time", "2015-01-01T12:10:30.123+02:00", 1420107030123);
    DATE("date_time_no_millis", "2015-01-01T12:10:30Z", 1420114230000);
    DATE("strict_date_hour_minute_second", "2015-01-01T12:10:30", 1420114230000);
    DATE("date", "2015-1-1", 1420070400000);
    DATE("strict_date", "2015-01-01", 1420070400000);
    DATE("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2015-01-01T12:10:30.123+01:00", 1420110630123);
    DATE("yyyy-MM-dd'T'HH:mm:ssZ", "2015-01-01T12:10:30+0100", 1420110630000);
    DATE("dd MMM yyyy", "01 Jan 2015", 1420070400000);
    DATE("EEE, dd MMM yyyy HH:mm:ss Z", "Thu, 01 Jan 2015 12:10:30 +0000", 1420114230000);
    DATE("hh:mm a", "01:30 PM", 48600000);
    DATE("yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis", "2015/09/02", 1441152000000);
    DATE("yyyy-MM-dd[ HH:mm]", "2015-01-01 10:00", 1420106400000);
    DATE("yyyy-MM-dd[ HH:mm]", "2015-01-01", 1420070400000);
    DATE("yy-MM-dd", "15-01-01", 1420070400000);
    DATE("strict_ordinal_date", "2015-032", 1422748800000);
    BAD_DATE(d, "2015-13-01");
    BAD_DATE(d, "2015-02-29");
    BAD_DATE(d, "abc");
    BAD_DATE(d, "2015-01-01T25:00");
    BAD_DATE("strict_date", "2015-1-1");
    BAD_DATE("yyyy-MM-dd", "2015-01-01 extra");
    es_err err = { 0 };
    CHECK(date_format_compile("yyyy-MM-dd bb", &err) == NULL);
    CHECK_EQ_STR(err.reason, "Invalid format: [yyyy-MM-dd bb]: Unknown pattern letter: b");
    es_err_free(&err);
    buf b = { 0 };
    date_format_iso(1420114230, 123000000, &b);
    CHECK_EQ_STR(b.p, "2015-01-01T12:10:30.123Z");
    buf_reset(&b);
    date_format_iso(-1, 0, &b);
    CHECK_EQ_STR(b.p, "1969-12-31T23:59:59Z");
    buf_free(&b);
}

/* ---- ip ---- */

static void check_ip(const char *in, const char *canon, int line)
{
    uint8_t a[16];
    char c[64];
    bool ok = ip_parse(in, strlen(in), a, c);
    if (!canon) {
        if (ok) {
            printf("  line %d: [%s] accepted as %s\n", line, in, c);
            unit_cur_failed = 1;
        }
        return;
    }
    if (!ok || strcmp(c, canon) != 0) {
        printf("  line %d: [%s] -> %s, want %s\n", line, in, ok ? c : "(rejected)", canon);
        unit_cur_failed = 1;
    }
}
#define IP(in, canon) check_ip(in, canon, __LINE__)

TEST(ips)
{
    IP("192.168.0.1", "192.168.0.1");
    IP("0.0.0.0", "0.0.0.0");
    IP("::1", "::1");
    IP("::", "::");
    IP("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
    IP("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
    IP("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329");
    IP("::ffff:10.0.0.1", "10.0.0.1");
    IP("fe80::1:0:0:0", "fe80::1:0:0:0");
    IP("fe80:0:0:1::", "fe80:0:0:1::");
    IP("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0");
    IP("256.1.1.1", NULL);
    IP("1.2.3", NULL);
    IP("010.1.1.1", NULL);
    IP("garbage", NULL);
    IP("", NULL);
    uint8_t a[16];
    CHECK(ip_parse("1.2.3.4", 7, a, NULL));
    CHECK(a[10] == 0xff && a[11] == 0xff && a[12] == 1 && a[15] == 4);
}

/* ---- mappings ---- */

TEST(mapping_roundtrip)
{
    ROUNDTRIP("{}", NULL);
    ROUNDTRIP("{\"properties\":{\"b\":{\"type\":\"text\"},\"a\":{\"type\":\"keyword\"}}}",
              "{\"properties\":{\"a\":{\"type\":\"keyword\"},\"b\":{\"type\":\"text\"}}}");
    /* defaults are omitted */
    ROUNDTRIP("{\"properties\":{\"k\":{\"type\":\"keyword\",\"index\":true,\"doc_values\":true,\"ignore_above\":10}}}",
              "{\"properties\":{\"k\":{\"type\":\"keyword\",\"ignore_above\":10}}}");
    ROUNDTRIP("{\"properties\":{\"t\":{\"type\":\"text\",\"analyzer\":\"whitespace\",\"fields\":{\"raw\":{\"type\":\"keyword\"}},"
              "\"copy_to\":\"all\"},\"all\":{\"type\":\"text\"}}}",
              "{\"properties\":{\"all\":{\"type\":\"text\"},\"t\":{\"type\":\"text\",\"analyzer\":\"whitespace\","
              "\"fields\":{\"raw\":{\"type\":\"keyword\"}},\"copy_to\":[\"all\"]}}}");
    ROUNDTRIP("{\"dynamic\":\"strict\",\"_source\":{\"enabled\":false},\"_routing\":{\"required\":true},\"_meta\":{\"v\":1},"
              "\"date_detection\":false,\"numeric_detection\":true,\"properties\":{\"n\":{\"type\":\"long\",\"null_value\":\"5\"}}}",
              "{\"dynamic\":\"strict\",\"_meta\":{\"v\":1},\"_routing\":{\"required\":true},\"_source\":{\"enabled\":false},"
              "\"date_detection\":false,\"numeric_detection\":true,\"properties\":{\"n\":{\"type\":\"long\",\"null_value\":5}}}");
    ROUNDTRIP("{\"dynamic\":false,\"properties\":{\"o\":{\"dynamic\":true,\"properties\":{\"x\":{\"type\":\"ip\"}}}}}",
              "{\"dynamic\":\"false\",\"properties\":{\"o\":{\"dynamic\":\"true\",\"properties\":{\"x\":{\"type\":\"ip\"}}}}}");
    ROUNDTRIP("{\"properties\":{\"o\":{\"type\":\"object\"},\"n\":{\"type\":\"nested\",\"properties\":{\"a\":{\"type\":\"boolean\"}}},"
              "\"e\":{\"type\":\"object\",\"enabled\":false}}}",
              "{\"properties\":{\"e\":{\"enabled\":false},\"n\":{\"type\":\"nested\",\"properties\":{\"a\":{\"type\":\"boolean\"}}},"
              "\"o\":{\"type\":\"object\"}}}");
    ROUNDTRIP("{\"properties\":{\"a.b.c\":{\"type\":\"keyword\"}}}",
              "{\"properties\":{\"a\":{\"properties\":{\"b\":{\"properties\":{\"c\":{\"type\":\"keyword\"}}}}}}}");
    ROUNDTRIP("{\"properties\":{\"d\":{\"type\":\"date\",\"format\":\"yyyy-MM-dd\"},\"d2\":{\"type\":\"date\",\"format\":\"strict_date_optional_time||epoch_millis\"},"
              "\"s\":{\"type\":\"scaled_float\",\"scaling_factor\":100},\"g\":{\"type\":\"geo_point\"},\"f\":{\"type\":\"flattened\"},"
              "\"dn\":{\"type\":\"date_nanos\"},\"h\":{\"type\":\"half_float\",\"coerce\":false,\"ignore_malformed\":true}}}",
              "{\"properties\":{\"d\":{\"type\":\"date\",\"format\":\"yyyy-MM-dd\"},\"d2\":{\"type\":\"date\"},\"dn\":{\"type\":\"date_nanos\"},"
              "\"f\":{\"type\":\"flattened\"},\"g\":{\"type\":\"geo_point\"},\"h\":{\"type\":\"half_float\",\"ignore_malformed\":true,\"coerce\":false},"
              "\"s\":{\"type\":\"scaled_float\",\"scaling_factor\":100.0}}}");
    ROUNDTRIP("{\"dynamic_templates\":[{\"strings\":{\"match_mapping_type\":\"string\",\"mapping\":{\"type\":\"keyword\"}}},"
              "{\"names\":{\"match\":[\"*name\",\"user*\"],\"unmatch\":\"*x\",\"mapping\":{\"type\":\"text\"}}}]}",
              "{\"dynamic_templates\":[{\"strings\":{\"match_mapping_type\":\"string\",\"mapping\":{\"type\":\"keyword\"}}},"
              "{\"names\":{\"match\":[\"*name\",\"user*\"],\"unmatch\":\"*x\",\"mapping\":{\"type\":\"text\"}}}]}");
    ROUNDTRIP("{\"properties\":{\"k\":{\"type\":\"keyword\",\"meta\":{\"unit\":\"ms\"}}}}", NULL);
    ROUNDTRIP("{\"dynamic_templates\":[{\"t\":{\"mapping\":{\"type\":\"keyword\",\"doc_values\":false}}},"
              "{\"u\":{\"match\":\"x*\",\"match_mapping_type\":\"*\",\"mapping\":{\"type\":\"keyword\"}}}]}",
              "{\"dynamic_templates\":[{\"t\":{\"match_mapping_type\":\"*\",\"mapping\":{\"doc_values\":false,\"type\":\"keyword\"}}},"
              "{\"u\":{\"match\":\"x*\",\"mapping\":{\"type\":\"keyword\"}}}]}");
}

TEST(mapping_errors)
{
    MAPPING_ERROR("{\"foo\":\"bar\"}", "mapper_parsing_exception",
                  "Failed to parse mapping: Root mapping definition has unsupported parameters:  [foo : bar]",
                  "Root mapping definition has unsupported parameters:  [foo : bar]");
    MAPPING_ERROR("{\"foo\":\"bar\",\"baz\":{\"a\":1}}", "mapper_parsing_exception",
                  "Failed to parse mapping: Root mapping definition has unsupported parameters:  [foo : bar] [baz : {a=1}]", NULL);
    MAPPING_ERROR("{\"properties\":{\"bar\":{\"type\":\"foo\"}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: No handler for type [foo] declared on field [bar]", "No handler for type [foo] declared on field [bar]");
    MAPPING_ERROR("{\"properties\":{\"field\":{\"type\":\"keyword\",\"foo\":1}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: unknown parameter [foo] on mapper [field] of type [keyword]", NULL);
    MAPPING_ERROR("{\"properties\":{\"field\":{\"type\":\"long\",\"analyzer\":\"x\"}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: unknown parameter [analyzer] on mapper [field] of type [long]", NULL);
    MAPPING_ERROR("{\"properties\":{\"s\":{\"type\":\"scaled_float\"}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: Field [scaling_factor] is required", NULL);
    MAPPING_ERROR("{\"properties\":{\"\":{\"type\":\"keyword\"}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: field name cannot be an empty string", NULL);
    es_err err = { 0 };
    mapping *m = M("{\"properties\":{\"\":{\"type\":\"keyword\"}}}", &err);
    CHECK(!m && err.caused_by && strcmp(es_err_type_name(err.caused_by), "illegal_argument_exception") == 0);
    es_err_free(&err);
    MAPPING_ERROR("{\"properties\":{\"x\":{}}}", "mapper_parsing_exception", "Failed to parse mapping: No type specified for field [x]", NULL);
    MAPPING_ERROR("{\"properties\":{\"n\":{\"type\":\"long\",\"null_value\":\"abc\"}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: Error parsing [null_value] on field [n]: For input string: \"abc\"", NULL);
    MAPPING_ERROR("{\"properties\":{\"d\":{\"type\":\"date\",\"format\":\"yyyy-MM-dd bb\"}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: Error parsing [format] on field [d]: Invalid format: [yyyy-MM-dd bb]: Unknown pattern letter: b", NULL);
    MAPPING_ERROR("{\"properties\":{\"k\":{\"type\":\"keyword\",\"fields\":{\"o\":{\"type\":\"object\"}}}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: Type [object] cannot be used in multi field", NULL);
    MAPPING_ERROR("{\"properties\":{\"k\":{\"type\":\"keyword\",\"index\":\"maybe\"}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: Could not convert [k.index] to boolean", NULL);
    MAPPING_ERROR("{\"properties\":{\"k\":{\"type\":\"keyword\",\"ignore_above\":null}}}", "mapper_parsing_exception",
                  "Failed to parse mapping: [ignore_above] on mapper [k] of type [keyword] must not have a [null] value", NULL);
    MAPPING_ERROR("{\"_doc\":{\"properties\":{}}}", "illegal_argument_exception",
                  "The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true.", NULL);
}

static void check_merge(const char *base, const char *in, const char *want, const char *want_err, int line)
{
    es_err err = { 0 };
    mapping *a = M(base, &err), *b = M(in, &err), *out = NULL;
    if (!a || !b) {
        printf("  line %d: parse failed: %s\n", line, err.reason);
        unit_cur_failed = 1;
        es_err_free(&err);
        mapping_unref(a);
        mapping_unref(b);
        return;
    }
    int rc = mapping_merge(a, b, NULL, &out, &err);
    if (want_err) {
        if (rc == 0 || strcmp(err.reason, want_err) != 0 || strcmp(es_err_type_name(&err), "illegal_argument_exception") != 0) {
            printf("  line %d: merge error\n    got  %s\n    want %s\n", line, rc ? err.reason : "(merged)", want_err);
            unit_cur_failed = 1;
        }
    } else if (rc != 0) {
        printf("  line %d: merge failed: %s\n", line, err.reason);
        unit_cur_failed = 1;
    } else {
        char *j = mapping_to_json(out);
        if (strcmp(j, want) != 0) {
            printf("  line %d: merge\n    got  %s\n    want %s\n", line, j, want);
            unit_cur_failed = 1;
        }
        free(j);
    }
    /* the base is untouched */
    mapping_unref(out);
    mapping_unref(a);
    mapping_unref(b);
    es_err_free(&err);
}
#define MERGE(a, b, want) check_merge(a, b, want, NULL, __LINE__)
#define MERGE_ERROR(a, b, err) check_merge(a, b, NULL, err, __LINE__)

TEST(mapping_merge)
{
    MERGE("{\"properties\":{\"a\":{\"type\":\"keyword\"}}}", "{\"properties\":{\"b\":{\"type\":\"long\"}}}",
          "{\"properties\":{\"a\":{\"type\":\"keyword\"},\"b\":{\"type\":\"long\"}}}");
    MERGE("{\"properties\":{\"t\":{\"type\":\"text\",\"analyzer\":\"whitespace\"}}}",
          "{\"properties\":{\"t\":{\"type\":\"text\",\"analyzer\":\"whitespace\",\"fields\":{\"raw\":{\"type\":\"keyword\"}}}}}",
          "{\"properties\":{\"t\":{\"type\":\"text\",\"analyzer\":\"whitespace\",\"fields\":{\"raw\":{\"type\":\"keyword\"}}}}}");
    MERGE("{\"properties\":{\"k\":{\"type\":\"keyword\",\"ignore_above\":10}}}", "{\"properties\":{\"k\":{\"type\":\"keyword\",\"ignore_above\":20}}}",
          "{\"properties\":{\"k\":{\"type\":\"keyword\",\"ignore_above\":20}}}");
    MERGE("{\"properties\":{\"k\":{\"type\":\"keyword\",\"meta\":{\"bar\":\"baz\"}}}}", "{\"properties\":{\"k\":{\"type\":\"keyword\",\"meta\":{\"baz\":\"quux\"}}}}",
          "{\"properties\":{\"k\":{\"type\":\"keyword\",\"meta\":{\"baz\":\"quux\"}}}}");
    MERGE("{\"dynamic\":\"strict\",\"properties\":{\"o\":{\"properties\":{\"x\":{\"type\":\"long\"}}}}}",
          "{\"properties\":{\"o\":{\"properties\":{\"y\":{\"type\":\"long\"}}}}}",
          "{\"dynamic\":\"strict\",\"properties\":{\"o\":{\"properties\":{\"x\":{\"type\":\"long\"},\"y\":{\"type\":\"long\"}}}}}");
    MERGE("{}", "{\"dynamic\":false}", "{\"dynamic\":\"false\"}");
    MERGE_ERROR("{\"properties\":{\"f\":{\"type\":\"keyword\"}}}", "{\"properties\":{\"f\":{\"type\":\"text\"}}}",
                "mapper [f] cannot be changed from type [keyword] to [text]");
    MERGE_ERROR("{\"properties\":{\"f\":{\"type\":\"keyword\"}}}", "{\"properties\":{\"f\":{\"type\":\"keyword\",\"index\":false}}}",
                "Mapper for [f] conflicts with existing mapper:\n\tCannot update parameter [index] from [true] to [false]");
    MERGE_ERROR("{\"properties\":{\"f\":{\"type\":\"keyword\",\"index\":false,\"store\":true}}}", "{\"properties\":{\"f\":{\"type\":\"keyword\"}}}",
                "Mapper for [f] conflicts with existing mapper:\n\tCannot update parameter [index] from [false] to [true]\n\tCannot update parameter [store] from [true] to [false]");
    MERGE_ERROR("{\"properties\":{\"t\":{\"type\":\"text\"}}}", "{\"properties\":{\"t\":{\"type\":\"text\",\"analyzer\":\"english\"}}}",
                "Mapper for [t] conflicts with existing mapper:\n\tCannot update parameter [analyzer] from [default] to [english]");
    MERGE_ERROR("{\"properties\":{\"o\":{\"properties\":{\"f\":{\"type\":\"long\"}}}}}", "{\"properties\":{\"o\":{\"type\":\"keyword\"}}}",
                "can't merge a non object mapping [o] with an object mapping");
    MERGE_ERROR("{\"properties\":{\"o\":{\"type\":\"keyword\"}}}", "{\"properties\":{\"o\":{\"properties\":{\"f\":{\"type\":\"long\"}}}}}",
                "mapper [o] cannot be changed from type [keyword] to [object]");
    MERGE_ERROR("{\"properties\":{\"o\":{\"properties\":{\"f\":{\"type\":\"long\"}}}}}", "{\"properties\":{\"o\":{\"type\":\"nested\"}}}",
                "can't merge a nested mapping [o] with a non-nested mapping");
    MERGE_ERROR("{\"properties\":{\"t\":{\"type\":\"text\",\"fields\":{\"raw\":{\"type\":\"keyword\"}}}}}",
                "{\"properties\":{\"t\":{\"type\":\"text\",\"fields\":{\"raw\":{\"type\":\"long\"}}}}}",
                "mapper [t.raw] cannot be changed from type [keyword] to [long]");
    MERGE_ERROR("{\"_source\":{\"enabled\":false}}", "{\"_source\":{\"enabled\":true}}",
                "Mapper for [_source] conflicts with existing mapper:\n\tCannot update parameter [enabled] from [false] to [true]");
    MERGE("{\"_source\":{\"mode\":\"stored\"}}", "{\"_source\":{\"mode\":\"synthetic\"}}", "{\"_source\":{\"mode\":\"synthetic\"}}");
    MERGE_ERROR("{\"_source\":{\"mode\":\"synthetic\"}}", "{\"_source\":{\"mode\":\"stored\"}}",
                "Mapper for [_source] conflicts with existing mapper:\n\tCannot update parameter [mode] from [synthetic] to [stored]");
    MERGE("{\"properties\":{\"a\":{\"type\":\"long\"}}}", "{\"properties\":{\"subfield.text3\":{\"type\":\"text\"}}}",
          "{\"properties\":{\"a\":{\"type\":\"long\"},\"subfield\":{\"properties\":{\"text3\":{\"type\":\"text\"}}}}}");
    /* total fields limit on merge */
    es_err err = { 0 };
    mapping *a = M("{\"properties\":{\"a\":{\"type\":\"long\"}}}", &err), *b = M("{\"properties\":{\"b\":{\"type\":\"long\"}}}", &err), *out;
    mapping_limits lim;
    mapping_limits_default(&lim);
    lim.total_fields = 1;
    CHECK_EQ_INT(mapping_merge(a, b, &lim, &out, &err), -1);
    CHECK_EQ_STR(err.reason, "Limit of total fields [1] has been exceeded");
    es_err_free(&err);
    /* merging something already there gives the same mapping back */
    CHECK_EQ_INT(mapping_merge(a, a, NULL, &out, &err), 0);
    CHECK(out == a);
    mapping_unref(out);
    mapping_unref(a);
    mapping_unref(b);
}

/* ---- documents ---- */

static void check_doc_error(const char *mapping_json, const char *src, const char *type, const char *reason, const char *cause_type,
                            const char *cause, int line)
{
    es_err err = { 0 };
    mapping *m = M(mapping_json, &err);
    parsed_doc pd;
    int rc = doc(m, src, "1", &pd, &err);
    if (rc == 0) {
        printf("  line %d: document accepted: %s\n", line, src);
        unit_cur_failed = 1;
    } else {
        if (strcmp(es_err_type_name(&err), type) != 0 || strcmp(err.reason, reason) != 0) {
            printf("  line %d:\n    got  %s: %s\n    want %s: %s\n", line, es_err_type_name(&err), err.reason, type, reason);
            unit_cur_failed = 1;
        }
        if (cause && (!err.caused_by || strcmp(err.caused_by->reason, cause) != 0 ||
                      strcmp(es_err_type_name(err.caused_by), cause_type) != 0)) {
            printf("  line %d: cause\n    got  %s: %s\n    want %s: %s\n", line, err.caused_by ? es_err_type_name(err.caused_by) : "",
                   err.caused_by ? err.caused_by->reason : "(none)", cause_type, cause);
            unit_cur_failed = 1;
        }
    }
    parsed_doc_free(&pd);
    mapping_unref(m);
    es_err_free(&err);
}
#define DOC_ERROR(m, src, type, reason, ctype, cause) check_doc_error(m, src, type, reason, ctype, cause, __LINE__)

static void check_doc_ok(const char *mapping_json, const char *src, int line)
{
    es_err err = { 0 };
    mapping *m = M(mapping_json, &err);
    parsed_doc pd;
    if (doc(m, src, "1", &pd, &err) != 0) {
        printf("  line %d: document rejected: %s: %s\n", line, src, err.reason);
        unit_cur_failed = 1;
    }
    parsed_doc_free(&pd);
    mapping_unref(m);
    es_err_free(&err);
}
#define DOC_OK(m, src) check_doc_ok(m, src, __LINE__)

#define P1(name, type) "{\"properties\":{\"" name "\":{\"type\":\"" type "\"}}}"

TEST(document_types)
{
    DOC_ERROR(P1("age", "long"), "{\"name\":\"x\",\"age\":\"abc\"}", "document_parsing_exception",
              "[1:19] failed to parse field [age] of type [long] in document with id '1'. Preview of field's value: 'abc'",
              "illegal_argument_exception", "For input string: \"abc\"");
    DOC_OK(P1("age", "long"), "{\"age\":\"5\"}");
    DOC_OK(P1("age", "long"), "{\"age\":5.9}");
    DOC_OK(P1("age", "long"), "{\"age\":[1,2,null,\"3\"]}");
    DOC_ERROR(P1("age", "long"), "{\"age\":1e30}", "document_parsing_exception",
              "[1:8] failed to parse field [age] of type [long] in document with id '1'. Preview of field's value: '1.0E30'",
              "illegal_argument_exception", "Value [1.0E30] is out of range for a long");
    DOC_ERROR("{\"properties\":{\"age\":{\"type\":\"long\",\"coerce\":false}}}", "{\"age\":\"5\"}", "document_parsing_exception",
              "[1:8] failed to parse field [age] of type [long] in document with id '1'. Preview of field's value: '5'",
              "illegal_argument_exception", "Long value passed as String");
    DOC_ERROR("{\"properties\":{\"age\":{\"type\":\"long\",\"coerce\":false}}}", "{\"age\":5.5}", "document_parsing_exception",
              "[1:8] failed to parse field [age] of type [long] in document with id '1'. Preview of field's value: '5.5'",
              "illegal_argument_exception", "Value [5.5] has a decimal part");
    DOC_OK(P1("i", "integer"), "{\"i\":2147483647}");
    DOC_ERROR(P1("i", "integer"), "{\"i\":2147483648}", "document_parsing_exception",
              "[1:6] failed to parse field [i] of type [integer] in document with id '1'. Preview of field's value: '2147483648'",
              "illegal_argument_exception", "Value [2147483648] is out of range for an integer");
    DOC_OK(P1("s", "short"), "{\"s\":-32768}");
    DOC_ERROR(P1("s", "short"), "{\"s\":40000}", "document_parsing_exception",
              "[1:6] failed to parse field [s] of type [short] in document with id '1'. Preview of field's value: '40000'",
              "illegal_argument_exception", "Value [40000] is out of range for a short");
    DOC_OK(P1("b", "byte"), "{\"b\":\"127\"}");
    DOC_ERROR(P1("b", "byte"), "{\"b\":128}", "document_parsing_exception",
              "[1:6] failed to parse field [b] of type [byte] in document with id '1'. Preview of field's value: '128'",
              "illegal_argument_exception", "Value [128] is out of range for a byte");
    DOC_OK(P1("d", "double"), "{\"d\":\"1.5e3\"}");
    DOC_ERROR(P1("d", "double"), "{\"d\":\"x\"}", "document_parsing_exception",
              "[1:6] failed to parse field [d] of type [double] in document with id '1'. Preview of field's value: 'x'",
              "number_format_exception", "For input string: \"x\"");
    DOC_OK(P1("f", "float"), "{\"f\":3.4e38}");
    DOC_ERROR(P1("f", "float"), "{\"f\":3.5e38}", "document_parsing_exception",
              "[1:6] failed to parse field [f] of type [float] in document with id '1'. Preview of field's value: '3.5E38'",
              "illegal_argument_exception", "[float] supports only finite values, but got [Infinity]");
    DOC_OK(P1("h", "half_float"), "{\"h\":65504}");
    DOC_ERROR(P1("h", "half_float"), "{\"h\":70000}", "document_parsing_exception",
              "[1:6] failed to parse field [h] of type [half_float] in document with id '1'. Preview of field's value: '70000'",
              "illegal_argument_exception", "[half_float] supports only finite values, but got [Infinity]");
    DOC_OK("{\"properties\":{\"s\":{\"type\":\"scaled_float\",\"scaling_factor\":10}}}", "{\"s\":1.25}");
    DOC_OK(P1("b", "boolean"), "{\"b\":[true,\"false\",\"\"]}");
    DOC_ERROR(P1("b", "boolean"), "{\"b\":\"yes\"}", "document_parsing_exception",
              "[1:6] failed to parse field [b] of type [boolean] in document with id '1'. Preview of field's value: 'yes'",
              "illegal_argument_exception", "Failed to parse value [yes] as only [true] or [false] are allowed.");
    DOC_OK(P1("d", "date"), "{\"d\":[\"2015-01-01\",1420070400000,\"2015-01-01T10:00:00+01:00\"]}");
    DOC_ERROR(P1("d", "date"), "{\"d\":\"01/01/2015\"}", "document_parsing_exception",
              "[1:6] failed to parse field [d] of type [date] in document with id '1'. Preview of field's value: '01/01/2015'",
              "illegal_argument_exception", "failed to parse date field [01/01/2015] with format [strict_date_optional_time||epoch_millis]");
    DOC_ERROR(P1("date", "date_nanos"), "{\"date\" : \"1969-10-28T12:12:12.123456789Z\"}", "document_parsing_exception",
              "[1:11] failed to parse field [date] of type [date_nanos] in document with id '1'. Preview of field's value: '1969-10-28T12:12:12.123456789Z'",
              "illegal_argument_exception", "date[1969-10-28T12:12:12.123456789Z] is before the epoch in 1970 and cannot be stored in nanosecond resolution");
    DOC_ERROR(P1("date", "date_nanos"), "{\"date\":\"2263-10-29T12:12:12.123456789Z\"}", "document_parsing_exception",
              "[1:9] failed to parse field [date] of type [date_nanos] in document with id '1'. Preview of field's value: '2263-10-29T12:12:12.123456789Z'",
              "illegal_argument_exception", "date[2263-10-29T12:12:12.123456789Z] is after 2262-04-11T23:47:16.854775807 and cannot be stored in nanosecond resolution");
    DOC_OK(P1("ip", "ip"), "{\"ip\":[\"10.0.0.1\",\"::1\"]}");
    DOC_ERROR(P1("ip", "ip"), "{\"ip\":\"garbage\"}", "document_parsing_exception",
              "[1:7] failed to parse field [ip] of type [ip] in document with id '1'. Preview of field's value: 'garbage'",
              "illegal_argument_exception", "'garbage' is not an IP string literal.");
    DOC_ERROR("{\"properties\":{\"ip\":{\"type\":\"ip\",\"ignore_malformed\":true}}}", "{\"ip\":{\"object\":\"wow\"}}",
              "document_parsing_exception",
              "[1:7] failed to parse field [ip] of type [ip] in document with id '1'. Preview of field's value: '{object=wow}'", NULL, NULL);
    DOC_OK(P1("k", "keyword"), "{\"k\":[\"a\",1,true]}");
    DOC_ERROR(P1("foo", "keyword"), "{\"foo\":{\"bar\":\"hello world\"}}", "document_parsing_exception",
              "[1:8] failed to parse field [foo] of type [keyword] in document with id '1'. Preview of field's value: '{bar=hello world}'",
              "illegal_state_exception", "Can't get text on a START_OBJECT at 1:8");
    DOC_OK(P1("g", "geo_point"), "{\"g\":[{\"lat\":41.12,\"lon\":-71.34},\"41.12,-71.34\",[-71.34,41.12],\"drm3btev3e86\",\"POINT (-71.34 41.12)\"]}");
    DOC_ERROR(P1("g", "geo_point"), "{\"g\":{\"lat\":100,\"lon\":0}}", "document_parsing_exception",
              "[1:6] failed to parse field [g] of type [geo_point] in document with id '1'. Preview of field's value: '{lat=100, lon=0}'",
              "illegal_argument_exception", "illegal latitude value [100.0] for g");
    DOC_OK(P1("f", "flattened"), "{\"f\":{\"a\":{\"b\":\"x\"},\"c\":[1,2]}}");
    DOC_OK(P1("bin", "binary"), "{\"bin\":\"U29tZSBiaW5hcnkgYmxvYg==\"}");
    DOC_ERROR(P1("o", "object"), "{\"o\":\"x\"}", "document_parsing_exception",
              "[1:6] object mapping for [o] tried to parse field [o] as object, but found a concrete value", NULL, NULL);
}

TEST(document_values)
{
    es_err err = { 0 };
    mapping *m = M("{\"properties\":{\"title\":{\"type\":\"text\",\"fields\":{\"raw\":{\"type\":\"keyword\",\"ignore_above\":5}},"
                   "\"copy_to\":[\"all\"]},\"all\":{\"type\":\"text\"},\"n\":{\"type\":\"long\",\"null_value\":7},"
                   "\"bad\":{\"type\":\"integer\",\"ignore_malformed\":true},\"ip\":{\"type\":\"ip\"},"
                   "\"d\":{\"type\":\"date\"},\"s\":{\"type\":\"scaled_float\",\"scaling_factor\":100}}}",
                   &err);
    CHECK(m != NULL);
    parsed_doc pd;
    int rc = doc(m, "{\"title\":[\"hello\",\"long title\"],\"n\":null,\"bad\":\"x\",\"ip\":\"::ffff:1.2.3.4\","
                    "\"d\":\"2015-01-01T00:00:00.001Z\",\"s\":1.234}", "1", &pd, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc) printf("  %s\n", err.reason);
    const index_field_value *v = find_value(&pd, "title", 1);
    CHECK(v && v->kind == IFV_STRING && strcmp(v->str, "long title") == 0 && v->position == 1);
    v = find_value(&pd, "title.raw", 0);
    CHECK(v && (v->flags & IFV_FROM_MULTI) && strcmp(v->str, "hello") == 0);
    CHECK(find_value(&pd, "title.raw", 1) == NULL); /* ignore_above */
    v = find_value(&pd, "all", 1);
    CHECK(v && (v->flags & IFV_FROM_COPY_TO) && strcmp(v->str, "long title") == 0);
    v = find_value(&pd, "n", 0);
    CHECK(v && v->kind == IFV_LONG && v->v.l == 7 && (v->flags & IFV_NULL_VALUE));
    CHECK(find_value(&pd, "bad", 0) == NULL);
    v = find_value(&pd, "ip", 0);
    CHECK(v && v->kind == IFV_IP && strcmp(v->str, "1.2.3.4") == 0);
    v = find_value(&pd, "d", 0);
    CHECK(v && v->kind == IFV_DATE && v->v.l == 1420070400001);
    v = find_value(&pd, "s", 0);
    CHECK(v && v->scaled == 123);
    CHECK_EQ_INT(pd.n_ignored, 2);
    if (pd.n_ignored == 2) {
        CHECK_EQ_STR(pd.ignored[0], "bad");
        CHECK_EQ_STR(pd.ignored[1], "title.raw");
    }
    CHECK(pd.new_mapping == NULL && pd.dynamic_update == NULL);
    parsed_doc_free(&pd);
    mapping_unref(m);
    es_err_free(&err);
}

static void check_dynamic(const char *mapping_json, const char *src, const char *want_mapping, const char *want_update, int line)
{
    es_err err = { 0 };
    mapping *m = M(mapping_json, &err);
    parsed_doc pd;
    if (doc(m, src, "1", &pd, &err) != 0) {
        printf("  line %d: rejected: %s\n", line, err.reason);
        unit_cur_failed = 1;
    } else if (!want_mapping) {
        if (pd.new_mapping) {
            printf("  line %d: unexpected mapping update\n", line);
            unit_cur_failed = 1;
        }
    } else if (!pd.new_mapping) {
        printf("  line %d: no mapping update\n", line);
        unit_cur_failed = 1;
    } else {
        char *j = mapping_to_json(pd.new_mapping);
        if (strcmp(j, want_mapping) != 0) {
            printf("  line %d: dynamic mapping\n    got  %s\n    want %s\n", line, j, want_mapping);
            unit_cur_failed = 1;
        }
        free(j);
        if (want_update) {
            j = mapping_to_json(pd.dynamic_update);
            if (strcmp(j, want_update) != 0) {
                printf("  line %d: dynamic update\n    got  %s\n    want %s\n", line, j, want_update);
                unit_cur_failed = 1;
            }
            free(j);
        }
        /* merging the update into the base gives the same new mapping */
        mapping *merged;
        if (mapping_merge(m, pd.dynamic_update, NULL, &merged, &err) == 0) {
            char *a = mapping_to_json(merged), *b = mapping_to_json(pd.new_mapping);
            if (strcmp(a, b) != 0) {
                printf("  line %d: merge of update differs: %s\n", line, a);
                unit_cur_failed = 1;
            }
            free(a);
            free(b);
            mapping_unref(merged);
        } else {
            printf("  line %d: merge of update failed: %s\n", line, err.reason);
            unit_cur_failed = 1;
        }
    }
    parsed_doc_free(&pd);
    mapping_unref(m);
    es_err_free(&err);
}
#define DYNAMIC(m, src, want, upd) check_dynamic(m, src, want, upd, __LINE__)

TEST(dynamic_mapping)
{
    DYNAMIC("{}", "{\"s\":\"hello\",\"n\":5,\"f\":1.5,\"b\":true,\"d\":\"2015-01-01\",\"d2\":\"2015/09/02\",\"z\":\"12345\","
                  "\"o\":{\"x\":1},\"arr\":[null,\"2015-01-01T00:00:00Z\"],\"nul\":null,\"empty\":[],\"a.b\":\"c\"}",
            "{\"properties\":{\"a\":{\"properties\":{\"b\":{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\",\"ignore_above\":256}}}}},"
            "\"arr\":{\"type\":\"date\"},\"b\":{\"type\":\"boolean\"},\"d\":{\"type\":\"date\"},"
            "\"d2\":{\"type\":\"date\",\"format\":\"yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis\"},\"f\":{\"type\":\"float\"},"
            "\"n\":{\"type\":\"long\"},\"o\":{\"properties\":{\"x\":{\"type\":\"long\"}}},"
            "\"s\":{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\",\"ignore_above\":256}}},"
            "\"z\":{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\",\"ignore_above\":256}}}}}",
            NULL);
    /* only the new fields in the update */
    DYNAMIC("{\"properties\":{\"o\":{\"properties\":{\"x\":{\"type\":\"long\"}}},\"k\":{\"type\":\"keyword\"}}}",
            "{\"k\":\"v\",\"o\":{\"x\":1,\"y\":true}}",
            "{\"properties\":{\"k\":{\"type\":\"keyword\"},\"o\":{\"properties\":{\"x\":{\"type\":\"long\"},\"y\":{\"type\":\"boolean\"}}}}}",
            "{\"properties\":{\"o\":{\"properties\":{\"y\":{\"type\":\"boolean\"}}}}}");
    /* known fields only: no update */
    DYNAMIC(P1("k", "keyword"), "{\"k\":\"v\"}", NULL, NULL);
    /* detection switches */
    DYNAMIC("{\"date_detection\":false,\"numeric_detection\":true}", "{\"d\":\"2015-01-01\",\"n\":\"42\",\"f\":\"1.5\"}",
            "{\"date_detection\":false,\"numeric_detection\":true,\"properties\":{\"d\":{\"type\":\"text\",\"fields\":{\"keyword\":"
            "{\"type\":\"keyword\",\"ignore_above\":256}}},\"f\":{\"type\":\"float\"},\"n\":{\"type\":\"long\"}}}",
            NULL);
    DYNAMIC("{\"dynamic_date_formats\":[\"MM/dd/yyyy\"]}", "{\"d\":\"09/25/2015\"}",
            "{\"dynamic_date_formats\":[\"MM/dd/yyyy\"],\"properties\":{\"d\":{\"type\":\"date\",\"format\":\"MM/dd/yyyy\"}}}", NULL);
    /* templates */
    DYNAMIC("{\"dynamic_templates\":[{\"ints\":{\"match_mapping_type\":\"long\",\"mapping\":{\"type\":\"integer\"}}},"
            "{\"strs\":{\"match_mapping_type\":\"string\",\"unmatch\":\"*_text\",\"mapping\":{\"type\":\"keyword\"}}},"
            "{\"names\":{\"match\":\"*_name\",\"mapping\":{\"type\":\"text\",\"analyzer\":\"{name}\"}}},"
            "{\"all\":{\"match_mapping_type\":\"*\",\"path_match\":\"meta.*\",\"mapping\":{\"type\":\"{dynamic_type}\",\"index\":false}}}]}",
            "{\"count\":3,\"tag\":\"x\",\"body_text\":\"y\",\"meta\":{\"ok\":true}}",
            "{\"dynamic_templates\":[{\"ints\":{\"match_mapping_type\":\"long\",\"mapping\":{\"type\":\"integer\"}}},"
            "{\"strs\":{\"unmatch\":\"*_text\",\"match_mapping_type\":\"string\",\"mapping\":{\"type\":\"keyword\"}}},"
            "{\"names\":{\"match\":\"*_name\",\"mapping\":{\"analyzer\":\"{name}\",\"type\":\"text\"}}},"
            "{\"all\":{\"path_match\":\"meta.*\",\"mapping\":{\"index\":false,\"type\":\"{dynamic_type}\"}}}],"
            "\"properties\":{\"body_text\":{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\",\"ignore_above\":256}}},"
            "\"count\":{\"type\":\"integer\"},\"meta\":{\"properties\":{\"ok\":{\"type\":\"boolean\",\"index\":false}}},"
            "\"tag\":{\"type\":\"keyword\"}}}",
            NULL);
    DYNAMIC("{\"dynamic_templates\":[{\"n\":{\"match\":\"*_name\",\"mapping\":{\"type\":\"text\",\"analyzer\":\"{name}\"}}}]}",
            "{\"first_name\":\"a\"}",
            "{\"dynamic_templates\":[{\"n\":{\"match\":\"*_name\",\"mapping\":{\"analyzer\":\"{name}\",\"type\":\"text\"}}}],"
            "\"properties\":{\"first_name\":{\"type\":\"text\",\"analyzer\":\"first_name\"}}}",
            NULL);
    /* dynamic false: nothing added, nothing indexed for the unknown field */
    DYNAMIC("{\"dynamic\":false,\"properties\":{\"k\":{\"type\":\"keyword\"}}}", "{\"k\":\"v\",\"other\":1}", NULL, NULL);
    DYNAMIC("{\"properties\":{\"o\":{\"dynamic\":false,\"properties\":{}}}}", "{\"o\":{\"x\":1},\"y\":2}",
            "{\"properties\":{\"o\":{\"dynamic\":\"false\"},\"y\":{\"type\":\"long\"}}}", NULL);
    /* strict */
    DOC_ERROR("{\"dynamic\":\"strict\",\"properties\":{\"k\":{\"type\":\"keyword\"}}}", "{\"k\":\"v\", \"foo\": \"bar\"}",
              "strict_dynamic_mapping_exception",
              "[1:18] mapping set to strict, dynamic introduction of [foo] within [_doc] is not allowed", NULL, NULL);
    DOC_ERROR("{\"properties\":{\"o\":{\"dynamic\":\"strict\",\"properties\":{}}}}", "{\"o\":{\"foo\":1}}",
              "strict_dynamic_mapping_exception",
              "[1:13] mapping set to strict, dynamic introduction of [foo] within [o] is not allowed", NULL, NULL);
    /* copy_to a field that is not mapped yet: added dynamically from the copied value */
    DYNAMIC("{\"properties\":{\"a\":{\"type\":\"keyword\",\"copy_to\":\"grp.all\"}}}", "{\"a\":\"x\"}",
            "{\"properties\":{\"a\":{\"type\":\"keyword\",\"copy_to\":[\"grp.all\"]},\"grp\":{\"properties\":{\"all\":"
            "{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\",\"ignore_above\":256}}}}}}}",
            NULL);
    /* the document's values use the new fields */
    es_err err = { 0 };
    mapping *m = M("{}", &err);
    parsed_doc pd;
    CHECK_EQ_INT(doc(m, "{\"s\":\"Hello\",\"n\":[1,2]}", "1", &pd, &err), 0);
    CHECK(find_value(&pd, "s", 0) && find_value(&pd, "s.keyword", 0));
    const index_field_value *v = find_value(&pd, "n", 1);
    CHECK(v && v->kind == IFV_LONG && v->v.l == 2 && v->position == 1);
    parsed_doc_free(&pd);
    mapping_unref(m);
    /* bulk's dynamic_templates: a template chosen by name, and a missing one */
    m = M("{\"dynamic_templates\":[{\"location\":{\"mapping\":{\"type\":\"geo_point\"}}}]}", &err);
    const char *names[] = { "loc", "location", "other", "nope" };
    const char *src = "{\"loc\":\"41.12,-71.34\"}";
    json_doc *d = J(src);
    doc_parse_opts o = { .id = "1", .src = src, .src_len = strlen(src), .doc = d, .template_names = names, .n_template_names = 2 };
    memset(&pd, 0, sizeof pd);
    CHECK_EQ_INT(mapping_parse_document(m, json_doc_root(d), &o, &pd, &err), 0);
    CHECK(pd.new_mapping && mapping_field(pd.new_mapping, "loc") && mapping_field(pd.new_mapping, "loc")->type == FT_GEO_POINT);
    parsed_doc_free(&pd);
    json_doc_free(d);
    src = "{\"other\":1}";
    d = J(src);
    o = (doc_parse_opts){ .id = "1", .src = src, .src_len = strlen(src), .doc = d, .template_names = names, .n_template_names = 2 };
    memset(&pd, 0, sizeof pd);
    CHECK_EQ_INT(mapping_parse_document(m, json_doc_root(d), &o, &pd, &err), -1);
    CHECK_EQ_STR(err.reason, "[1:10] failed to parse: Can't find dynamic template for dynamic template name [nope] of field [other]");
    parsed_doc_free(&pd);
    json_doc_free(d);
    mapping_unref(m);
    es_err_free(&err);
}

TEST(dynamic_limits)
{
    es_err err = { 0 };
    mapping *m = M("{\"properties\":{\"a\":{\"type\":\"long\"}}}", &err);
    mapping_limits lim;
    mapping_limits_default(&lim);
    lim.total_fields = 3;
    json_doc *d = J("{\"a\":1,\"b\":2,\"c\":\"x\"}");
    const char *src = "{\"a\":1,\"b\":2,\"c\":\"x\"}";
    doc_parse_opts o = { .id = "1", .src = src, .src_len = strlen(src), .doc = d, .limits = &lim };
    parsed_doc pd = { 0 };
    CHECK_EQ_INT(mapping_parse_document(m, json_doc_root(d), &o, &pd, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "document_parsing_exception");
    CHECK_EQ_STR(err.reason, "[1:18] failed to parse: Limit of total fields [3] has been exceeded while adding new fields [3]");
    CHECK(err.caused_by && strcmp(err.caused_by->reason, "Limit of total fields [3] has been exceeded while adding new fields [3]") == 0);
    parsed_doc_free(&pd);
    es_err_free(&err);
    /* ignore_dynamic_beyond_limit */
    lim.ignore_dynamic_beyond_limit = true;
    memset(&pd, 0, sizeof pd);
    CHECK_EQ_INT(mapping_parse_document(m, json_doc_root(d), &o, &pd, &err), 0);
    CHECK(pd.n_ignored == 1 && strcmp(pd.ignored[0], "c") == 0);
    CHECK(pd.new_mapping && mapping_field(pd.new_mapping, "b") && !mapping_field(pd.new_mapping, "c"));
    parsed_doc_free(&pd);
    json_doc_free(d);
    /* depth */
    lim.depth = 2;
    lim.ignore_dynamic_beyond_limit = false;
    lim.total_fields = 1000;
    src = "{\"x\":{\"y\":{\"z\":1}}}";
    d = J(src);
    o = (doc_parse_opts){ .id = "1", .src = src, .src_len = strlen(src), .doc = d, .limits = &lim };
    memset(&pd, 0, sizeof pd);
    CHECK_EQ_INT(mapping_parse_document(m, json_doc_root(d), &o, &pd, &err), -1);
    CHECK_EQ_STR(err.reason, "[1:11] failed to parse: Limit of mapping depth [2] has been exceeded due to object field [x.y]");
    parsed_doc_free(&pd);
    json_doc_free(d);
    es_err_free(&err);
    mapping_unref(m);
}

int main(void)
{
    RUN(index_names);
    RUN(settings_normalize);
    RUN(settings_validation);
    RUN(settings_update);
    RUN(dates);
    RUN(ips);
    RUN(mapping_roundtrip);
    RUN(mapping_errors);
    RUN(mapping_merge);
    RUN(document_types);
    RUN(document_values);
    RUN(dynamic_mapping);
    RUN(dynamic_limits);
    return unit_report();
}
