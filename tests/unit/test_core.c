/* Unit tests for src/core: buffers, arenas, size/time parsing, ids, errors. */
#include "core/core.h"
#include "unit.h"

#include <stdlib.h>

TEST(buf_grows_and_stays_terminated)
{
    buf b = { 0 };
    for (int i = 0; i < 1000; i++) buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK_EQ_INT(strlen(b.p), b.len);
    CHECK(str_has_prefix(b.p, "0,1,2,"));
    CHECK(str_has_suffix(b.p, "998,999,"));
    size_t n;
    char *p = buf_detach(&b, &n);
    CHECK(b.p == NULL && b.len == 0);
    CHECK_EQ_INT(strlen(p), n);
    free(p);
}

TEST(arena_allocations_are_aligned_and_distinct)
{
    arena a = { 0 };
    char *prev = NULL;
    for (int i = 1; i < 5000; i++) {
        char *p = arena_alloc(&a, (size_t)(i % 37) + 1);
        CHECK(((uintptr_t)p & 7) == 0);
        CHECK(p != prev);
        memset(p, 'x', (size_t)(i % 37) + 1);
        prev = p;
    }
    char *big = arena_alloc(&a, 1 << 20);
    memset(big, 0, 1 << 20);
    CHECK_EQ_STR(arena_strndup(&a, "hello world", 5), "hello");
    arena_free(&a);
}

TEST(byte_sizes)
{
    int64_t v;
    CHECK(parse_byte_size("100mb", &v) && v == 100LL << 20);
    CHECK(parse_byte_size("1gb", &v) && v == 1LL << 30);
    CHECK(parse_byte_size("512b", &v) && v == 512);
    CHECK(parse_byte_size("10KB", &v) && v == 10240);
    CHECK(parse_byte_size("0", &v) && v == 0);
    CHECK(parse_byte_size("1.5kb", &v) && v == 1536);
    CHECK(!parse_byte_size("100", &v));
    CHECK(!parse_byte_size("abc", &v));
    CHECK(!parse_byte_size("", &v));
    CHECK(!parse_byte_size("-5mb", &v));
    CHECK(!parse_byte_size("infmb", &v));
    CHECK(!parse_byte_size("1e30pb", &v));
    CHECK(!parse_byte_size("99999999999pb", &v));
}

TEST(time_values)
{
    int64_t v;
    CHECK(parse_time_value("30s", &v) && v == 30000);
    CHECK(parse_time_value("500ms", &v) && v == 500);
    CHECK(parse_time_value("1m", &v) && v == 60000);
    CHECK(parse_time_value("2h", &v) && v == 7200000);
    CHECK(parse_time_value("1d", &v) && v == 86400000);
    CHECK(parse_time_value("-1", &v) && v == -1);
    CHECK(parse_time_value("0", &v) && v == 0);
    CHECK(!parse_time_value("30", &v));
    CHECK(!parse_time_value("xs", &v));
    CHECK(!parse_time_value("", &v));
    CHECK(parse_time_value("10S", &v) && v == 10000);
    CHECK(!parse_time_value("1.5s", &v));   /* fractional time values are not supported */
    CHECK(!parse_time_value(" 1s", &v));
    CHECK(!parse_time_value("0x10s", &v));
    CHECK(!parse_time_value("infs", &v));
}

TEST(uuids_are_22_urlsafe_chars)
{
    char a[23], b[23];
    random_uuid(a);
    random_uuid(b);
    CHECK_EQ_INT(strlen(a), 22);
    CHECK(strcmp(a, b) != 0);
    for (int i = 0; i < 22; i++)
        CHECK((a[i] >= 'A' && a[i] <= 'Z') || (a[i] >= 'a' && a[i] <= 'z') ||
              (a[i] >= '0' && a[i] <= '9') || a[i] == '-' || a[i] == '_');
    char out[8];
    base64url_encode((const uint8_t *)"\xfb\xff", 2, out);
    CHECK_EQ_STR(out, "-_8");
}

TEST(errors_first_one_wins)
{
    es_err e = { 0 };
    CHECK(!es_err_isset(&e));
    CHECK_EQ_INT(es_err_set(&e, ES_INDEX_NOT_FOUND, "no such index [%s]", "x"), -1);
    es_err_set(&e, ES_ILLEGAL_ARGUMENT, "later");
    CHECK(es_err_isset(&e));
    CHECK_EQ_STR(e.reason, "no such index [x]");
    CHECK_EQ_INT(e.status, 404);
    CHECK_EQ_STR(es_err_type_name(&e), "index_not_found_exception");
    es_err_extra(&e, "index", "x", false);
    CHECK_EQ_INT(e.n_extra, 1);
    es_err_free(&e);
    CHECK(!es_err_isset(&e));
}

TEST(similarity)
{
    CHECK(str_similarity("pretty", "pretty") == 1.0f);
    CHECK(str_similarity("prety", "pretty") > 0.8f);
    CHECK(str_similarity("abc", "xyz") < 0.1f);
}

int main(void)
{
    RUN(buf_grows_and_stays_terminated);
    RUN(arena_allocations_are_aligned_and_distinct);
    RUN(byte_sizes);
    RUN(time_values);
    RUN(uuids_are_22_urlsafe_chars);
    RUN(errors_first_one_wins);
    RUN(similarity);
    return unit_report();
}
