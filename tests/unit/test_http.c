/* Unit tests for src/http internals: filter_path, percent-decoding, body codecs. */
#include "http/http_int.h"
#include "unit.h"

#include <stdlib.h>

static const char *doc =
    "{\"name\":\"n1\",\"cluster_name\":\"c\",\"version\":{\"number\":\"8.17.0\",\"lucene_version\":\"9.12.0\"},"
    "\"hits\":{\"total\":{\"value\":2},\"hits\":[{\"_id\":\"1\",\"_source\":{\"a\":1,\"b\":2}},"
    "{\"_id\":\"2\",\"_source\":{\"a\":3}}]},\"tagline\":\"You Know, for Search\",\"_scroll_id\":\"abc\"}";

static char *filtered(const char *fp)
{
    buf out = { 0 };
    if (!http_filter_path(doc, strlen(doc), fp, &out)) return NULL;
    return buf_detach(&out, NULL);
}

#define CHECK_FILTER(fp, want)                                                 \
    do {                                                                       \
        char *got_ = filtered(fp);                                             \
        CHECK_EQ_STR(got_, want);                                              \
        free(got_);                                                            \
    } while (0)

TEST(filter_path_includes)
{
    CHECK_FILTER("name", "{\"name\":\"n1\"}");
    CHECK_FILTER("version.number", "{\"version\":{\"number\":\"8.17.0\"}}");
    CHECK_FILTER("name,tagline", "{\"name\":\"n1\",\"tagline\":\"You Know, for Search\"}");
    CHECK_FILTER("version.*_version", "{\"version\":{\"lucene_version\":\"9.12.0\"}}");
    CHECK_FILTER("hits.hits._id", "{\"hits\":{\"hits\":[{\"_id\":\"1\"},{\"_id\":\"2\"}]}}");
    CHECK_FILTER("hits.hits._source,_scroll_id",
                 "{\"hits\":{\"hits\":[{\"_source\":{\"a\":1,\"b\":2}},{\"_source\":{\"a\":3}}]},\"_scroll_id\":\"abc\"}");
    CHECK_FILTER("nothing.here", "{}");
}

TEST(filter_path_double_wildcard)
{
    CHECK_FILTER("**.number", "{\"version\":{\"number\":\"8.17.0\"}}");
    CHECK_FILTER("**.b", "{\"hits\":{\"hits\":[{\"_source\":{\"b\":2}}]}}");
    CHECK_FILTER("hits.**.a", "{\"hits\":{\"hits\":[{\"_source\":{\"a\":1}},{\"_source\":{\"a\":3}}]}}");
}

TEST(filter_path_excludes)
{
    CHECK_FILTER("-hits,-version,-_scroll_id,-tagline", "{\"name\":\"n1\",\"cluster_name\":\"c\"}");
    CHECK_FILTER("-**.a,hits.hits._source",
                 "{\"hits\":{\"hits\":[{\"_source\":{\"b\":2}}]}}");
    CHECK_FILTER("version,-version.number", "{\"version\":{\"lucene_version\":\"9.12.0\"}}");
}

TEST(filter_path_on_non_json_is_refused)
{
    buf out = { 0 };
    CHECK(!http_filter_path("not json", 8, "a", &out));
    buf_free(&out);
}

TEST(percent_decoding)
{
    buf b = { 0 };
    CHECK(http_percent_decode("a%2Cb", 5, false, &b));
    CHECK_EQ_STR(b.p, "a,b");
    buf_reset(&b);
    CHECK(http_percent_decode("node%3A12+x", 11, true, &b));
    CHECK_EQ_STR(b.p, "node:12 x");
    buf_reset(&b);
    CHECK(http_percent_decode("a+b", 3, false, &b));
    CHECK_EQ_STR(b.p, "a+b");
    buf_reset(&b);
    CHECK(!http_percent_decode("bad%2", 5, false, &b));
    buf_reset(&b);
    CHECK(!http_percent_decode("bad%zz", 6, false, &b));
    buf_free(&b);
}

TEST(gzip_round_trip_and_bomb_limit)
{
    buf plain = { 0 };
    for (int i = 0; i < 10000; i++) buf_printf(&plain, "{\"i\":%d}\n", i);
    buf gz = { 0 }, back = { 0 };
    CHECK(http_gzip(plain.p, plain.len, &gz));
    CHECK(gz.len < plain.len / 4);
    CHECK_EQ_INT(http_inflate(gz.p, gz.len, true, 0, &back), 0);
    CHECK_EQ_INT(back.len, plain.len);
    CHECK(memcmp(back.p, plain.p, plain.len) == 0);
    buf_reset(&back);
    /* A limit smaller than the inflated size is a "too large", not a failure to decode. */
    CHECK_EQ_INT(http_inflate(gz.p, gz.len, true, 1000, &back), -2);
    buf_reset(&back);
    /* Truncated input is an error. */
    CHECK_EQ_INT(http_inflate(gz.p, gz.len / 2, true, 0, &back), -1);
    buf_reset(&back);
    CHECK_EQ_INT(http_inflate("garbage!", 8, true, 0, &back), -1);
    buf_free(&plain);
    buf_free(&gz);
    buf_free(&back);
}

int main(void)
{
    RUN(filter_path_includes);
    RUN(filter_path_double_wildcard);
    RUN(filter_path_excludes);
    RUN(filter_path_on_non_json_is_refused);
    RUN(percent_decoding);
    RUN(gzip_round_trip_and_bomb_limit);
    return unit_report();
}
