/* Unit tests for src/json: the reader, the writer, and the data-driven corpus
 * under tests/data/json (or $FERRY_JSON_CORPUS). */
#include "core/core.h"
#include "json/json.h"
#include "unit.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* helpers */

static json_doc *P(const char *s)
{
    return json_parse(s, strlen(s), NULL, NULL);
}

static json_doc *PE(const char *s, json_err *e)
{
    return json_parse(s, strlen(s), NULL, e);
}

static bool fails(const char *s)
{
    json_err e;
    json_doc *d = json_parse(s, strlen(s), NULL, &e);
    if (d) {
        json_doc_free(d);
        return false;
    }
    return e.msg[0] != 0;
}

/* Compact (or pretty) text of the parse of s; heap, caller frees; NULL if s fails. */
static char *reformat(const char *s, size_t n, bool pretty)
{
    buf b = { 0 };
    if (!json_reformat(s, n, pretty, &b)) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

static char *compact(const char *s) { return reformat(s, strlen(s), false); }

#define CHECK_COMPACT(in, want)                                                                    \
    do {                                                                                           \
        char *got_ = compact(in);                                                                  \
        CHECK_EQ_STR(got_, want);                                                                  \
        free(got_);                                                                                \
    } while (0)

static char *dbl_text(double v)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_double(&w, v);
    return buf_detach(&b, NULL);
}

#define CHECK_DOUBLE(v, want)                                                                      \
    do {                                                                                           \
        char *got_ = dbl_text(v);                                                                  \
        CHECK_EQ_STR(got_, want);                                                                  \
        free(got_);                                                                                \
    } while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static bool same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* ------------------------------------------------------------------------ */
/* reader: types and accessors */

TEST(every_type)
{
    json_doc *d = P("{\"n\":null,\"t\":true,\"f\":false,\"i\":-42,\"big\":18446744073709551616,"
                    "\"d\":2.5,\"s\":\"hi\",\"a\":[1,2],\"o\":{\"x\":1}}");
    CHECK(d != NULL);
    const json_val *r = json_doc_root(d);
    CHECK_EQ_INT(json_type_of(r), JSON_OBJECT);
    CHECK_EQ_INT(json_len(r), 9);
    CHECK_EQ_INT(json_type_of(json_obj_get(r, "n")), JSON_NULL);
    CHECK(json_is_null(json_obj_get(r, "n")));
    CHECK(json_is_null(json_obj_get(r, "missing")));
    CHECK_EQ_INT(json_type_of(json_obj_get(r, "t")), JSON_BOOL);
    CHECK(json_bool(json_obj_get(r, "t")));
    CHECK(!json_bool(json_obj_get(r, "f")));
    CHECK_EQ_INT(json_type_of(json_obj_get(r, "i")), JSON_INT);
    CHECK_EQ_INT(json_int(json_obj_get(r, "i")), -42);
    CHECK(json_num(json_obj_get(r, "i")) == -42.0);
    CHECK_EQ_INT(json_type_of(json_obj_get(r, "big")), JSON_BIGINT);
    size_t n;
    const char *bt = json_num_text(json_obj_get(r, "big"), &n);
    CHECK(bt && n == 20 && !memcmp(bt, "18446744073709551616", 20));
    CHECK(json_num(json_obj_get(r, "big")) == 18446744073709551616.0);
    CHECK_EQ_INT(json_type_of(json_obj_get(r, "d")), JSON_DOUBLE);
    CHECK(json_num(json_obj_get(r, "d")) == 2.5);
    CHECK_EQ_INT(json_int(json_obj_get(r, "d")), 2);
    CHECK_EQ_INT(json_type_of(json_obj_get(r, "s")), JSON_STRING);
    CHECK_EQ_STR(json_str(json_obj_get(r, "s"), &n), "hi");
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(json_type_of(json_obj_get(r, "a")), JSON_ARRAY);
    CHECK_EQ_INT(json_len(json_obj_get(r, "a")), 2);
    CHECK_EQ_INT(json_type_of(json_obj_get(r, "o")), JSON_OBJECT);
    CHECK(json_is_number(json_obj_get(r, "i")) && json_is_number(json_obj_get(r, "big")) &&
          json_is_number(json_obj_get(r, "d")) && !json_is_number(json_obj_get(r, "s")));
    /* wrong-type accessors give the documented defaults */
    CHECK(json_str(json_obj_get(r, "i"), &n) == NULL && n == 0);
    CHECK(json_num_text(json_obj_get(r, "i"), NULL) == NULL);
    CHECK_EQ_INT(json_len(json_obj_get(r, "s")), 0);
    CHECK_EQ_INT(json_int(json_obj_get(r, "s")), 0);
    CHECK(json_num(json_obj_get(r, "s")) == 0);
    CHECK(json_arr_get(r, 0) == NULL);
    CHECK(json_obj_get(json_obj_get(r, "a"), "x") == NULL);
    CHECK_EQ_STR(json_type_name(JSON_NULL), "null");
    CHECK_EQ_STR(json_type_name(JSON_BOOL), "boolean");
    CHECK_EQ_STR(json_type_name(JSON_INT), "number");
    CHECK_EQ_STR(json_type_name(JSON_BIGINT), "number");
    CHECK_EQ_STR(json_type_name(JSON_DOUBLE), "number");
    CHECK_EQ_STR(json_type_name(JSON_STRING), "string");
    CHECK_EQ_STR(json_type_name(JSON_ARRAY), "array");
    CHECK_EQ_STR(json_type_name(JSON_OBJECT), "object");
    json_doc_free(d);
}

TEST(null_safety)
{
    CHECK_EQ_INT(json_type_of(NULL), JSON_NULL);
    CHECK(json_is_null(NULL));
    CHECK(!json_bool(NULL));
    CHECK_EQ_INT(json_int(NULL), 0);
    CHECK(json_num(NULL) == 0);
    CHECK(json_str(NULL, NULL) == NULL);
    CHECK_EQ_INT(json_len(NULL), 0);
    CHECK(json_arr_get(NULL, 0) == NULL);
    CHECK(json_obj_get(NULL, "a") == NULL);
    CHECK(json_path(NULL, "a") == NULL);
    CHECK(json_doc_root(NULL) == NULL);
    json_iter it = json_iter_begin(NULL);
    CHECK(json_iter_next(&it, NULL, NULL) == NULL);
    json_doc_free(NULL);
    json_doc *d = json_parse(NULL, 0, NULL, NULL);
    CHECK(d == NULL);
}

TEST(root_scalars)
{
    json_doc *d = P(" 7 ");
    CHECK(d && json_int(json_doc_root(d)) == 7);
    json_doc_free(d);
    d = P("\"x\"");
    CHECK(d && !strcmp(json_str(json_doc_root(d), NULL), "x"));
    json_doc_free(d);
    d = P("null");
    CHECK(d && json_type_of(json_doc_root(d)) == JSON_NULL);
    json_doc_free(d);
    d = P("false");
    CHECK(d && json_type_of(json_doc_root(d)) == JSON_BOOL && !json_bool(json_doc_root(d)));
    json_doc_free(d);
}

TEST(input_not_referenced)
{
    char *s = xstrdup("{\"key\":\"value\",\"n\":[1.25]}");
    json_doc *d = json_parse(s, strlen(s), NULL, NULL);
    memset(s, 'x', strlen(s));
    free(s);
    CHECK(d != NULL);
    CHECK_EQ_STR(json_str(json_obj_get(json_doc_root(d), "key"), NULL), "value");
    size_t n;
    const char *raw = json_raw(d, json_obj_get(json_doc_root(d), "n"), &n);
    CHECK(n == 6 && !memcmp(raw, "[1.25]", 6));
    json_doc_free(d);
}

/* ------------------------------------------------------------------------ */
/* strings */

TEST(escapes)
{
    json_doc *d = P("[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"]");
    CHECK(d != NULL);
    size_t n;
    const char *s = json_str(json_arr_get(json_doc_root(d), 0), &n);
    CHECK_EQ_STR(s, "\" \\ / \b \f \n \r \t");
    CHECK_EQ_INT(n, 15);
    json_doc_free(d);

    d = P("\"\\u0041\\u00e9\\u20AC\\uffff\"");
    CHECK(d && !strcmp(json_str(json_doc_root(d), NULL), "A\xc3\xa9\xe2\x82\xac\xef\xbf\xbf"));
    json_doc_free(d);

    d = P("\"a\\u0000b\"");
    s = json_str(json_doc_root(d), &n);
    CHECK(n == 3 && s[0] == 'a' && s[1] == 0 && s[2] == 'b' && s[3] == 0);
    json_doc_free(d);

    CHECK(fails("\"\\x\""));
    CHECK(fails("\"\\u12\""));
    CHECK(fails("\"\\u12g4\""));
    CHECK(fails("\"\\U0041\""));
    CHECK(fails("\"\\"));
    CHECK(fails("\"\\u"));
    CHECK(fails("\"\\'\""));
}

TEST(surrogates)
{
    json_doc *d = P("\"\\ud83d\\ude00|\\uD800\\uDC00|\\uDBFF\\uDFFF\"");
    CHECK(d != NULL);
    CHECK_EQ_STR(json_str(json_doc_root(d), NULL), "\xf0\x9f\x98\x80|\xf0\x90\x80\x80|\xf4\x8f\xbf\xbf");
    json_doc_free(d);
    CHECK(fails("\"\\ud800\""));
    CHECK(fails("\"\\ud800x\""));
    CHECK(fails("\"\\ud800\\n\""));
    CHECK(fails("\"\\ud800\\u0041\""));
    CHECK(fails("\"\\ud800\\ud800\""));
    CHECK(fails("\"\\udc00\""));
    CHECK(fails("\"\\udfff\\ud800\""));
    CHECK(fails("\"\\ud800\\udc0"));
}

TEST(utf8_validation)
{
    /* valid: every length, the edges of each range */
    CHECK(!fails("\"\x7f \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf "
                  "\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf\""));
    json_doc *d = P("\"caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"");
    CHECK(d && !strcmp(json_str(json_doc_root(d), NULL), "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"));
    json_doc_free(d);
    CHECK(fails("\"\x80\""));             /* lone continuation */
    CHECK(fails("\"\xc0\xaf\""));         /* overlong 2 */
    CHECK(fails("\"\xc1\xbf\""));         /* overlong 2 */
    CHECK(fails("\"\xe0\x80\xaf\""));     /* overlong 3 */
    CHECK(fails("\"\xe0\x9f\xbf\""));     /* overlong 3 */
    CHECK(fails("\"\xf0\x80\x80\xaf\"")); /* overlong 4 */
    CHECK(fails("\"\xf0\x8f\xbf\xbf\"")); /* overlong 4 */
    CHECK(fails("\"\xed\xa0\x80\""));     /* U+D800 */
    CHECK(fails("\"\xed\xbf\xbf\""));     /* U+DFFF */
    CHECK(fails("\"\xf4\x90\x80\x80\"")); /* U+110000 */
    CHECK(fails("\"\xf5\x80\x80\x80\""));
    CHECK(fails("\"\xff\""));
    CHECK(fails("\"\xfe\""));
    CHECK(fails("\"\xe2\x82\""));     /* truncated before the quote */
    CHECK(fails("\"\xe2\x82"));       /* truncated at the end */
    CHECK(fails("\"\xf0\x9f\x98\"")); /* truncated 4 */
    CHECK(fails("\"\xc3\""));
    CHECK(fails("\"\xc3"));
    CHECK(fails("\"a\xc3\xa9\xc3\""));
    /* a bad byte at every position of a long string (the 16-byte scanner's lanes) */
    for (int i = 0; i < 40; i++) {
        char s[64];
        memset(s, 'a', sizeof s);
        s[0] = '"';
        s[1 + i] = (char)0xff;
        s[50] = '"';
        s[51] = 0;
        CHECK(fails(s));
        s[1 + i] = (char)0xc3; /* truncated: the next byte is 'a' */
        CHECK(fails(s));
        s[1 + i] = 0x1f;
        CHECK(fails(s));
    }
    json_err e;
    CHECK(PE("[\"ab\xff\"]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Invalid UTF-8 start byte 0xff");
    CHECK_EQ_INT(e.offset, 4);
    CHECK(PE("[\"ab\xc3(\"]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Invalid UTF-8 middle byte 0x28");
}

TEST(control_characters)
{
    CHECK(fails("\"a\x01\""));
    CHECK(fails("\"a\nb\""));
    CHECK(fails("\"a\tb\""));
    CHECK(fails("\"\x1f\""));
    char withnul[] = "\"a\0b\"";
    CHECK(json_parse(withnul, sizeof withnul - 1, NULL, NULL) == NULL);
    char nul_outside[] = "[1,\0 2]";
    CHECK(json_parse(nul_outside, sizeof nul_outside - 1, NULL, NULL) == NULL);
    CHECK(!fails("\"a\x7f\"")); /* DEL is not a control character in JSON */
    json_err e;
    CHECK(PE("{\"a\":\"x\ny\"}", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Illegal unquoted character ((CTRL-CHAR, code 10)): has to be escaped using backslash "
                        "to be included in string value");
    CHECK_EQ_INT(e.offset, 7);
}

TEST(long_strings_and_escape_positions)
{
    /* strings of many lengths with an escape at many positions: the scanner's lanes */
    for (int len = 0; len < 70; len++) {
        for (int at = 0; at <= len; at += 3) {
            buf in = { 0 }, want = { 0 };
            buf_putc(&in, '"');
            for (int i = 0; i < len; i++) {
                if (i == at) {
                    buf_puts(&in, "\\n");
                    buf_putc(&want, '\n');
                } else {
                    buf_putc(&in, (char)('a' + i % 26));
                    buf_putc(&want, (char)('a' + i % 26));
                }
            }
            buf_putc(&in, '"');
            json_doc *d = json_parse(in.p, in.len, NULL, NULL);
            size_t n = 0;
            const char *s = d ? json_str(json_doc_root(d), &n) : NULL;
            if (!s || n != want.len || memcmp(s, want.p ? want.p : "", n) != 0 || s[n] != 0)
                UNIT_FAIL("string len %d escape at %d", len, at);
            char *back = reformat(in.p, in.len, false);
            if (!back || strcmp(back, in.p) != 0) UNIT_FAIL("round trip len %d at %d: %s", len, at, back);
            free(back);
            json_doc_free(d);
            buf_free(&in);
            buf_free(&want);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* numbers */

TEST(integers_at_the_edges)
{
    json_doc *d = P("[9223372036854775807,-9223372036854775808,9223372036854775808,-9223372036854775809,"
                    "0,-0,123456789012345678,-1,99999999999999999999999]");
    CHECK(d != NULL);
    const json_val *r = json_doc_root(d);
    CHECK_EQ_INT(json_type_of(json_arr_get(r, 0)), JSON_INT);
    CHECK(json_int(json_arr_get(r, 0)) == INT64_MAX);
    CHECK_EQ_INT(json_type_of(json_arr_get(r, 1)), JSON_INT);
    CHECK(json_int(json_arr_get(r, 1)) == INT64_MIN);
    CHECK_EQ_INT(json_type_of(json_arr_get(r, 2)), JSON_BIGINT);
    size_t n;
    const char *t = json_num_text(json_arr_get(r, 2), &n);
    CHECK(t && n == 19 && !memcmp(t, "9223372036854775808", 19));
    CHECK(json_num(json_arr_get(r, 2)) == 9223372036854775808.0);
    CHECK_EQ_INT(json_int(json_arr_get(r, 2)), 0); /* the contract: else 0 */
    CHECK_EQ_INT(json_type_of(json_arr_get(r, 3)), JSON_BIGINT);
    t = json_num_text(json_arr_get(r, 3), &n);
    CHECK(t && n == 20 && !memcmp(t, "-9223372036854775809", 20));
    CHECK_EQ_INT(json_type_of(json_arr_get(r, 4)), JSON_INT);
    CHECK_EQ_INT(json_int(json_arr_get(r, 5)), 0);
    CHECK_EQ_INT(json_type_of(json_arr_get(r, 5)), JSON_INT);
    CHECK(json_int(json_arr_get(r, 6)) == 123456789012345678LL);
    CHECK_EQ_INT(json_int(json_arr_get(r, 7)), -1);
    CHECK_EQ_INT(json_type_of(json_arr_get(r, 8)), JSON_BIGINT);
    CHECK(json_num(json_arr_get(r, 8)) == 1e23);
    json_doc_free(d);
    /* exact round trip of the text, including -0 and BIGINTs */
    CHECK_COMPACT("[9223372036854775807,-9223372036854775808,9223372036854775808,-0,"
                  "123456789012345678901234567890]",
                  "[9223372036854775807,-9223372036854775808,9223372036854775808,-0,"
                  "123456789012345678901234567890]");
}

TEST(doubles)
{
    json_doc *d = P("[1e308,1e-320,4.9e-324,2.2250738585072014e-308,-0.0,0.1,1e400,1e-400,"
                    "1.7976931348623157e308,0.1000000000000000055511151231257827,1E2,1e+2,-1.5e-3,"
                    "0.000000000000000000000000001234,0e99999,123456789012345678.5]");
    CHECK(d != NULL);
    const json_val *r = json_doc_root(d);
    for (size_t i = 0; i < json_len(r); i++) CHECK_EQ_INT(json_type_of(json_arr_get(r, i)), JSON_DOUBLE);
    CHECK(json_num(json_arr_get(r, 0)) == 1e308);
    CHECK(json_num(json_arr_get(r, 1)) == strtod("1e-320", NULL));
    CHECK(json_num(json_arr_get(r, 1)) > 0 && json_num(json_arr_get(r, 1)) < 2.2250738585072014e-308);
    CHECK(json_num(json_arr_get(r, 2)) == 4.9e-324);
    CHECK(json_num(json_arr_get(r, 3)) == 2.2250738585072014e-308);
    CHECK(json_num(json_arr_get(r, 4)) == 0 && signbit(json_num(json_arr_get(r, 4))));
    CHECK(json_num(json_arr_get(r, 5)) == 0.1);
    CHECK(isinf(json_num(json_arr_get(r, 6))));
    CHECK(json_num(json_arr_get(r, 7)) == 0);
    CHECK(json_num(json_arr_get(r, 8)) == 1.7976931348623157e308);
    CHECK(json_num(json_arr_get(r, 9)) == 0.1);
    CHECK(json_num(json_arr_get(r, 10)) == 100);
    CHECK(json_num(json_arr_get(r, 11)) == 100);
    CHECK(json_num(json_arr_get(r, 12)) == -1.5e-3);
    CHECK(json_num(json_arr_get(r, 13)) == 1.234e-27);
    CHECK(json_num(json_arr_get(r, 14)) == 0);
    CHECK(json_num(json_arr_get(r, 15)) == 123456789012345678.5);
    CHECK(json_int(json_arr_get(r, 0)) == INT64_MAX); /* saturates */
    CHECK_EQ_INT(json_int(json_arr_get(r, 12)), 0);
    json_doc_free(d);
    CHECK_COMPACT("[1.50,1E2,-0.0,1e-320]", "[1.50,1E2,-0.0,1e-320]");
}

TEST(random_doubles_round_trip)
{
    /* %.17g text of random bit patterns must parse back to the same bits, and
     * so must the writer's shortest text */
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = rnd();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) continue;
        char txt[64];
        snprintf(txt, sizeof txt, "%.17g", v);
        json_doc *d = P(txt);
        if (!d || !same_bits(json_num(json_doc_root(d)), v)) {
            if (bad++ < 5) UNIT_FAIL("parse %s", txt);
        }
        json_doc_free(d);
        char *w = dbl_text(v);
        d = P(w);
        if (!d || !same_bits(json_num(json_doc_root(d)), v)) {
            if (bad++ < 5) UNIT_FAIL("write %s -> %s", txt, w);
        }
        /* never longer than %.17g's digits */
        json_doc_free(d);
        free(w);
    }
    /* short decimals (the fast path) agree with strtod exactly */
    for (int i = 0; i < 50000; i++) {
        char txt[64];
        uint64_t m = rnd() % 1000000000000000ull;
        int e = (int)(rnd() % 60) - 30;
        int frac = (int)(rnd() % 16);
        if (frac)
            snprintf(txt, sizeof txt, "%s%llu.%0*llue%d", rnd() & 1 ? "-" : "", (unsigned long long)(m / 1000),
                     frac, (unsigned long long)(rnd() % 1000000000000000ull) % 1000000000000000ull / 1, e);
        else
            snprintf(txt, sizeof txt, "%llue%d", (unsigned long long)m, e);
        json_doc *d = P(txt);
        if (!d || !same_bits(json_num(json_doc_root(d)), strtod(txt, NULL))) {
            if (bad++ < 5) UNIT_FAIL("fast path %s", txt);
        }
        json_doc_free(d);
    }
    /* 0.1 + k ulp neighbours */
    double x = 0.1;
    for (int i = 0; i < 1000; i++) {
        char *w = dbl_text(x);
        json_doc *d = P(w);
        if (!d || !same_bits(json_num(json_doc_root(d)), x)) {
            if (bad++ < 5) UNIT_FAIL("ulp walk %s", w);
        }
        json_doc_free(d);
        free(w);
        x = nextafter(x, 1);
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(number_errors)
{
    const char *bad[] = { "01",   "-01", "00",  "1.",     ".5",       "+1",        "1e",  "1e+",
                          "1E-",  "-",   "--1", "0x1F",   "1.5e",     "NaN",       "-NaN", "Infinity",
                          "-Infinity", "[1.e5]", "[1.5.2]", "[1e5e5]", "[-.5]", "[1ee5]", "[0.-1]" };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (!fails(bad[i])) UNIT_FAIL("accepted %s", bad[i]);
    json_err e;
    CHECK(PE("[01]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Invalid numeric value: Leading zeroes not allowed");
    CHECK(PE("[NaN]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Non-standard token 'NaN': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow");
    CHECK(PE("[1.x]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character ('x' (code 120)) in numeric value: Decimal point not followed by a digit");
    CHECK(PE("[-x]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character ('x' (code 120)) in numeric value: expected digit (0-9) to follow "
                        "minus sign, for valid numeric value");
    CHECK(PE("[1e]", &e) == NULL);
    CHECK_EQ_STR(e.msg,
                 "Unexpected character (']' (code 93)) in numeric value: Exponent indicator not followed by a digit");
}

/* ------------------------------------------------------------------------ */
/* structure and errors */

TEST(jackson_messages)
{
    json_err e;
    CHECK(PE("{\"a\":1,}", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character ('}' (code 125)): was expecting double-quote to start field name");
    CHECK_EQ_INT(e.offset, 7);
    CHECK(PE("{\"a\":1", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected end-of-input: expected close marker for Object");
    CHECK(PE("[1,2", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected end-of-input: expected close marker for Array");
    CHECK(PE("{\"a\":", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected end-of-input: expected close marker for Object");
    CHECK(PE("[1,", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected end-of-input: expected close marker for Array");
    CHECK(PE("tru", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or token "
                        "'null', 'true' or 'false')");
    CHECK(PE("[truex]", &e) == NULL);
    CHECK(strstr(e.msg, "Unrecognized token 'truex'") == e.msg);
    CHECK(PE("[x]", &e) == NULL);
    CHECK(strstr(e.msg, "Unrecognized token 'x'") == e.msg);
    CHECK(PE("[#]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character ('#' (code 35)): expected a valid value (JSON String, Number, "
                        "Array, Object or token 'null', 'true' or 'false')");
    CHECK(PE("[1,]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character (']' (code 93)): expected a value");
    CHECK(PE("{\"a\" 1}", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value");
    CHECK(PE("{\"a\":1 \"b\":2}", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries");
    CHECK(PE("[1 2]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries");
    CHECK(PE("{'a':1}", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected character (''' (code 39)): was expecting double-quote to start field name");
    CHECK(PE("\"abc", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unexpected end-of-input: was expecting closing quote for a string value");
    CHECK(PE("", &e) == NULL);
    CHECK(strstr(e.msg, "end-of-input") != NULL);
    CHECK(PE("   ", &e) == NULL);
    CHECK(strstr(e.msg, "end-of-input") != NULL);
    CHECK(PE("[\xc3\xa9]", &e) == NULL);
    CHECK(strstr(e.msg, "\xc3\xa9") != NULL);
    CHECK(PE("[\x01]", &e) == NULL);
    CHECK(strstr(e.msg, "(CTRL-CHAR, code 1)") != NULL);
    CHECK(PE("[\"\\q\"]", &e) == NULL);
    CHECK_EQ_STR(e.msg, "Unrecognized character escape 'q' (code 113)");
}

TEST(error_positions)
{
    json_err e;
    const char *s = "{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}";
    CHECK(PE(s, &e) == NULL);
    CHECK_EQ_INT(e.line, 3);
    CHECK_EQ_INT(e.col, 14);
    CHECK_EQ_INT(e.offset, (size_t)(strstr(s, ",,") - s) + 1);
    CHECK(PE("[1,\n2,\n\"x\ty\"]", &e) == NULL);
    CHECK_EQ_INT(e.line, 3);
    CHECK_EQ_INT(e.col, 3);
    CHECK_EQ_INT(e.offset, 9);
    CHECK(PE("x", &e) == NULL);
    CHECK_EQ_INT(e.line, 1);
    CHECK_EQ_INT(e.col, 1);
    CHECK_EQ_INT(e.offset, 0);
    CHECK(PE("[1,2", &e) == NULL);
    CHECK_EQ_INT(e.offset, 4);
    CHECK_EQ_INT(e.col, 5);
}

TEST(trailing_data)
{
    CHECK(fails("{} x"));
    CHECK(fails("{}{}"));
    CHECK(fails("1 2"));
    CHECK(fails("[1]]"));
    CHECK(!fails(" {} \n\t\r "));
    json_err e;
    CHECK(PE("{}  x", &e) == NULL);
    CHECK_EQ_INT(e.offset, 4);

    /* allow_trailing: NDJSON */
    const char *nd = "{\"a\":1}\n{\"b\":[2,3]}\n  7\n\"s\"\n";
    json_parse_opts o = { .allow_trailing = true };
    size_t off = 0, n = strlen(nd);
    int docs = 0;
    while (off < n) {
        while (off < n && (nd[off] == '\n' || nd[off] == ' ')) off++;
        if (off >= n) break;
        json_doc *d = json_parse(nd + off, n - off, &o, &e);
        CHECK(d != NULL);
        if (!d) break;
        docs++;
        size_t rl;
        const char *raw = json_raw(d, json_doc_root(d), &rl);
        CHECK(raw != NULL && off + e.offset <= n);
        CHECK(e.offset >= rl);
        off += e.offset;
        json_doc_free(d);
    }
    CHECK_EQ_INT(docs, 4);
    json_doc *d = json_parse("{\"a\":1}xyz", 10, &o, &e);
    CHECK(d != NULL && e.offset == 7);
    json_doc_free(d);
    d = json_parse("  123 ", 6, &o, &e);
    CHECK(d != NULL && e.offset == 5 && json_int(json_doc_root(d)) == 123);
    json_doc_free(d);
    CHECK(json_parse("  ", 2, &o, &e) == NULL);
    CHECK(json_parse("[1,", 3, &o, &e) == NULL);

    /* values longer than the reader's first window, and ones ending right at it */
    for (size_t target = 4000; target < 4200; target += 7) {
        buf b = { 0 };
        buf_puts(&b, "{\"s\":\"");
        while (b.len < target) buf_putc(&b, 'x');
        buf_puts(&b, "\",\"n\":12345}");
        size_t vlen = b.len;
        buf_puts(&b, "\n{\"next\":1}\n");
        for (int i = 0; i < 600; i++) buf_puts(&b, "{\"pad\":true}\n");
        d = json_parse(b.p, b.len, &o, &e);
        CHECK(d != NULL && e.offset == vlen);
        CHECK_EQ_INT(json_int(json_obj_get(json_doc_root(d), "n")), 12345);
        json_doc_free(d);
        buf_free(&b);
    }
    for (size_t len = 4090; len < 4100; len++) {
        /* a number that the first window would cut */
        buf b = { 0 };
        while (b.len < len - 6) buf_putc(&b, ' ');
        buf_puts(&b, "123456789 ");
        d = json_parse(b.p, b.len, &o, &e);
        CHECK(d && json_int(json_doc_root(d)) == 123456789);
        json_doc_free(d);
        /* a literal cut by the first window */
        buf_reset(&b);
        while (b.len < len - 3) buf_putc(&b, ' ');
        buf_puts(&b, "truex");
        d = json_parse(b.p, b.len, &o, &e);
        CHECK(d == NULL);
        buf_free(&b);
    }
    /* a value over many lines: the window grows past the first newline */
    {
        buf pb = { 0 };
        json_w w;
        jw_init(&w, &pb, true);
        jw_obj_begin(&w);
        for (int i = 0; i < 3000; i++) {
            char k[16];
            snprintf(k, sizeof k, "k%d", i);
            jw_kint(&w, k, i);
        }
        jw_obj_end(&w);
        size_t vlen = pb.len;
        buf_puts(&pb, "\n{\"next\":1}\n");
        d = json_parse(pb.p, pb.len, &o, &e);
        CHECK(d != NULL && e.offset == vlen);
        CHECK_EQ_INT(json_len(json_doc_root(d)), 3000);
        json_doc_free(d);
        d = json_parse("[1,\n2]\n[3]", 11, &o, &e);
        CHECK(d != NULL && e.offset == 6 && json_len(json_doc_root(d)) == 2);
        json_doc_free(d);
        /* a bad first line fails where it is wrong, however much follows */
        buf_reset(&pb);
        buf_puts(&pb, "{bad}\n");
        for (int i = 0; i < 5000; i++) buf_puts(&pb, "{\"pad\":true}\n");
        d = json_parse(pb.p, pb.len, &o, &e);
        CHECK(d == NULL && e.offset == 1 && e.line == 1 && e.col == 2);
        /* an unclosed value reports the end of all the input */
        d = json_parse("[1,\n2,\n", 7, &o, &e);
        CHECK(d == NULL && e.offset == 7 && e.line == 3);
        buf_free(&pb);
    }
    /* a syntax error far after the first window */
    buf b = { 0 };
    buf_putc(&b, '[');
    for (int i = 0; i < 3000; i++) buf_puts(&b, "1,");
    buf_puts(&b, "]");
    d = json_parse(b.p, b.len, &o, &e);
    CHECK(d == NULL && e.offset == b.len - 1);
    CHECK_EQ_STR(e.msg, "Unexpected character (']' (code 93)): expected a value");
    buf_free(&b);
}

TEST(depth_limit)
{
    buf b = { 0 };
    for (int i = 0; i < 1000; i++) buf_putc(&b, '[');
    for (int i = 0; i < 1000; i++) buf_putc(&b, ']');
    json_doc *d = json_parse(b.p, b.len, NULL, NULL);
    CHECK(d != NULL);
    char *back = reformat(b.p, b.len, false);
    CHECK(back && !strcmp(back, b.p));
    free(back);
    back = reformat(b.p, b.len, true);
    CHECK(back != NULL);
    free(back);
    json_doc_free(d);
    buf_reset(&b);
    for (int i = 0; i < 1001; i++) buf_putc(&b, '[');
    for (int i = 0; i < 1001; i++) buf_putc(&b, ']');
    json_err e;
    CHECK(json_parse(b.p, b.len, NULL, &e) == NULL);
    CHECK_EQ_STR(e.msg, "Document nesting depth (1001) exceeds the maximum allowed (1000, from "
                        "`StreamReadConstraints.getMaxNestingDepth()`)");
    CHECK_EQ_INT(e.offset, 1000);
    json_parse_opts o = { .max_depth = 2000 };
    d = json_parse(b.p, b.len, &o, NULL);
    CHECK(d != NULL);
    json_doc_free(d);
    o.max_depth = 3;
    d = json_parse("[[[]]]", 6, &o, NULL);
    CHECK(d != NULL);
    json_doc_free(d);
    CHECK(json_parse("[[[[]]]]", 8, &o, NULL) == NULL);
    CHECK(json_parse("{\"a\":{\"b\":{\"c\":{}}}}", 20, &o, NULL) == NULL);
    buf_free(&b);
}

TEST(dense_documents_grow_the_tape)
{
    buf b = { 0 };
    buf_putc(&b, '[');
    for (int i = 0; i < 100000; i++) buf_printf(&b, "%s%d", i ? "," : "", i % 10);
    buf_putc(&b, ']');
    json_doc *d = json_parse(b.p, b.len, NULL, NULL);
    CHECK(d != NULL);
    const json_val *r = json_doc_root(d);
    CHECK_EQ_INT(json_len(r), 100000);
    CHECK_EQ_INT(json_int(json_arr_get(r, 99999)), 9);
    CHECK_EQ_INT(json_int(json_arr_get(r, 12345)), 5);
    char *back = reformat(b.p, b.len, false);
    CHECK(back && !strcmp(back, b.p));
    free(back);
    json_doc_free(d);
    buf_reset(&b);
    buf_putc(&b, '[');
    for (int i = 0; i < 30000; i++) buf_puts(&b, i ? ",[]" : "[]");
    buf_putc(&b, ']');
    d = json_parse(b.p, b.len, NULL, NULL);
    CHECK(d && json_len(json_doc_root(d)) == 30000);
    CHECK(json_type_of(json_arr_get(json_doc_root(d), 29999)) == JSON_ARRAY);
    json_doc_free(d);
    buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* navigation */

TEST(iteration_order_and_duplicates)
{
    json_doc *d = P("{\"z\":1,\"a\":{\"deep\":[1,2,3]},\"m\":[],\"a\":2,\"k\":\"v\"}");
    CHECK(d != NULL);
    const json_val *r = json_doc_root(d);
    CHECK_EQ_INT(json_len(r), 5);
    json_iter it = json_iter_begin(r);
    const char *keys[5];
    size_t i = 0, kl;
    const json_val *v;
    const char *k;
    while ((v = json_iter_next(&it, &k, &kl)) && i < 5) keys[i++] = k;
    CHECK_EQ_INT(i, 5);
    CHECK_EQ_STR(keys[0], "z");
    CHECK_EQ_STR(keys[1], "a");
    CHECK_EQ_STR(keys[2], "m");
    CHECK_EQ_STR(keys[3], "a");
    CHECK_EQ_STR(keys[4], "k");
    CHECK_EQ_INT(json_int(json_obj_get(r, "a")), 2); /* the last duplicate wins */
    CHECK_EQ_INT(json_int(json_obj_getn(r, "abc", 1)), 2);
    CHECK(json_obj_get(r, "") == NULL);
    /* arrays: key NULL */
    const json_val *arr = json_path(r, "a.deep");
    CHECK(arr == NULL); /* "a" resolves to the last member, 2 */
    it = json_iter_begin(json_obj_get(r, "m"));
    CHECK(json_iter_next(&it, &k, &kl) == NULL);
    json_doc_free(d);

    d = P("[1,{\"x\":[1,2]},\"s\",[[],[3]],null]");
    r = json_doc_root(d);
    it = json_iter_begin(r);
    int types[5], n = 0;
    while ((v = json_iter_next(&it, &k, NULL))) {
        CHECK(k == NULL);
        if (n < 5) types[n] = json_type_of(v);
        n++;
    }
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(types[0], JSON_INT);
    CHECK_EQ_INT(types[1], JSON_OBJECT);
    CHECK_EQ_INT(types[2], JSON_STRING);
    CHECK_EQ_INT(types[3], JSON_ARRAY);
    CHECK_EQ_INT(types[4], JSON_NULL);
    CHECK_EQ_STR(json_str(json_arr_get(r, 2), NULL), "s");
    CHECK_EQ_INT(json_type_of(json_arr_get(r, 4)), JSON_NULL);
    CHECK(json_arr_get(r, 5) == NULL);
    json_doc_free(d);
}

TEST(paths)
{
    json_doc *d = P("{\"version\":{\"number\":\"8.15.0\"},\"hits\":{\"hits\":[{\"_id\":\"a\"},{\"_id\":\"b\","
                    "\"0\":\"zero\"}]},\"o\":{\"1\":\"one\"},\"arr\":[[10,20],[30]]}");
    const json_val *r = json_doc_root(d);
    CHECK_EQ_STR(json_str(json_path(r, "version.number"), NULL), "8.15.0");
    CHECK_EQ_STR(json_str(json_path(r, "hits.hits.0._id"), NULL), "a");
    CHECK_EQ_STR(json_str(json_path(r, "hits.hits.1._id"), NULL), "b");
    CHECK_EQ_STR(json_str(json_path(r, "hits.hits.1.0"), NULL), "zero");
    CHECK_EQ_STR(json_str(json_path(r, "o.1"), NULL), "one");
    CHECK_EQ_INT(json_int(json_path(r, "arr.0.1")), 20);
    CHECK_EQ_INT(json_int(json_path(r, "arr.1.0")), 30);
    CHECK(json_path(r, "arr.2") == NULL);
    CHECK(json_path(r, "hits.hits.2._id") == NULL);
    CHECK(json_path(r, "hits.hits.x") == NULL);
    CHECK(json_path(r, "version.number.x") == NULL);
    CHECK(json_path(r, "nope") == NULL);
    CHECK(json_path(r, "version.") == NULL);
    CHECK(json_path(r, "") == r);
    json_doc_free(d);
}

TEST(raw_spans)
{
    const char *s = " { \"a\" : [ 1 , 2 ] , \"s\" : \"x\\ny\" , \"n\" : -1.5e3 , \"o\":{ } , \"t\":true } ";
    json_doc *d = P(s);
    const json_val *r = json_doc_root(d);
    size_t n;
    const char *raw = json_raw(d, r, &n);
    CHECK(n == strlen(s) - 2 && !memcmp(raw, s + 1, n));
    raw = json_raw(d, json_obj_get(r, "a"), &n);
    CHECK(n == 9 && !memcmp(raw, "[ 1 , 2 ]", n));
    raw = json_raw(d, json_obj_get(r, "s"), &n);
    CHECK(n == 6 && !memcmp(raw, "\"x\\ny\"", n));
    raw = json_raw(d, json_obj_get(r, "n"), &n);
    CHECK(n == 6 && !memcmp(raw, "-1.5e3", n));
    raw = json_raw(d, json_obj_get(r, "o"), &n);
    CHECK(n == 3 && !memcmp(raw, "{ }", n));
    raw = json_raw(d, json_obj_get(r, "t"), &n);
    CHECK(n == 4 && !memcmp(raw, "true", n));
    raw = json_raw(d, json_arr_get(json_obj_get(r, "a"), 1), &n);
    CHECK(n == 1 && raw[0] == '2');
    CHECK(json_raw(d, NULL, &n) == NULL && n == 0);
    json_doc_free(d);
}

/* ------------------------------------------------------------------------ */
/* writer */

TEST(pretty_layout)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, true);
    jw_obj_begin(&w);
    jw_kstr(&w, "name", "node-1");
    jw_key(&w, "tags");
    jw_arr_begin(&w);
    jw_str(&w, "a");
    jw_str(&w, "b");
    jw_arr_end(&w);
    jw_key(&w, "empty");
    jw_obj_begin(&w);
    jw_obj_end(&w);
    jw_obj_end(&w);
    CHECK_EQ_STR(b.p, "{\n  \"name\" : \"node-1\",\n  \"tags\" : [\n    \"a\",\n    \"b\"\n  ],\n  \"empty\" : { }\n}");
    /* the same through the DOM */
    char *p = reformat(b.p, b.len, true);
    CHECK_EQ_STR(p, b.p);
    free(p);
    p = reformat(b.p, b.len, false);
    CHECK_EQ_STR(p, "{\"name\":\"node-1\",\"tags\":[\"a\",\"b\"],\"empty\":{}}");
    free(p);
    buf_free(&b);

    p = reformat("[]", 2, true);
    CHECK_EQ_STR(p, "[ ]");
    free(p);
    p = reformat("{}", 2, true);
    CHECK_EQ_STR(p, "{ }");
    free(p);
    p = reformat("[[],{},[[1]],{\"a\":[]}]", 22, true);
    CHECK_EQ_STR(p, "[\n  [ ],\n  { },\n  [\n    [\n      1\n    ]\n  ],\n  {\n    \"a\" : [ ]\n  }\n]");
    free(p);
    p = reformat(" 12 ", 4, true);
    CHECK_EQ_STR(p, "12");
    free(p);
}

TEST(writer_compact_and_scalars)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_obj_begin(&w);
    jw_kint(&w, "min", INT64_MIN);
    jw_kint(&w, "max", INT64_MAX);
    jw_key(&w, "u");
    jw_uint(&w, UINT64_MAX);
    jw_kbool(&w, "t", true);
    jw_kbool(&w, "f", false);
    jw_key(&w, "n");
    jw_null(&w);
    jw_key(&w, "s");
    jw_str(&w, NULL);
    jw_key(&w, "e");
    jw_strn(&w, "a\"b\\c/d\x01\x1f\b\f\n\r\t\x7f\xc3\xa9", 17);
    jw_key(&w, "arr");
    jw_arr_begin(&w);
    jw_arr_end(&w);
    jw_key(&w, "raw");
    jw_raw(&w, " { \"x\" : [1, 2] } ", 18);
    jw_key(&w, "d");
    jw_double(&w, 1.0);
    jw_key(&w, "nan");
    jw_double(&w, NAN);
    jw_key(&w, "inf");
    jw_double(&w, -INFINITY);
    jw_obj_end(&w);
    CHECK_EQ_STR(b.p, "{\"min\":-9223372036854775808,\"max\":9223372036854775807,\"u\":18446744073709551615,"
                      "\"t\":true,\"f\":false,\"n\":null,\"s\":null,"
                      "\"e\":\"a\\\"b\\\\c/d\\u0001\\u001f\\b\\f\\n\\r\\t\x7f\xc3\xa9\",\"arr\":[],"
                      "\"raw\":{ \"x\" : [1, 2] },\"d\":1.0,\"nan\":null,\"inf\":null}");
    CHECK(!fails(b.p));
    buf_free(&b);

    /* jw_raw in pretty mode re-lays the text out at the current depth */
    jw_init(&w, &b, true);
    jw_obj_begin(&w);
    jw_key(&w, "_source");
    jw_raw(&w, "{\"a\":[1,{\"b\":null}]}", 20);
    jw_obj_end(&w);
    CHECK_EQ_STR(b.p, "{\n  \"_source\" : {\n    \"a\" : [\n      1,\n      {\n        \"b\" : null\n      }\n    ]\n  }\n}");
    buf_free(&b);

    /* jw_val of a parsed value as a member, both modes */
    json_doc *d = P("{\"x\" : [ 1.50 , \"\\u00e9\\/\" , {} ]}");
    jw_init(&w, &b, false);
    jw_arr_begin(&w);
    jw_int(&w, 1);
    jw_val(&w, json_obj_get(json_doc_root(d), "x"));
    jw_val(&w, NULL);
    jw_arr_end(&w);
    CHECK_EQ_STR(b.p, "[1,[1.50,\"\xc3\xa9/\",{}],null]");
    buf_free(&b);
    jw_init(&w, &b, true);
    jw_obj_begin(&w);
    jw_key(&w, "v");
    jw_val(&w, json_obj_get(json_doc_root(d), "x"));
    jw_obj_end(&w);
    CHECK_EQ_STR(b.p, "{\n  \"v\" : [\n    1.50,\n    \"\xc3\xa9/\",\n    { }\n  ]\n}");
    buf_free(&b);
    json_doc_free(d);

    json_escape(&b, "q\"\n\x02", 4);
    CHECK_EQ_STR(b.p, "\"q\\\"\\n\\u0002\"");
    buf_free(&b);
    /* long strings through the 16-byte escaper: specials in every lane */
    for (int at = 0; at < 40; at++) {
        char s[48];
        memset(s, 'x', sizeof s);
        s[at] = '"';
        buf_reset(&b);
        json_escape(&b, s, 40);
        buf want = { 0 };
        buf_putc(&want, '"');
        for (int i = 0; i < 40; i++) buf_puts(&want, i == at ? "\\\"" : "x");
        buf_putc(&want, '"');
        CHECK_EQ_STR(b.p, want.p);
        buf_free(&want);
    }
    buf_free(&b);
}

TEST(java_doubles)
{
    CHECK_DOUBLE(1.0, "1.0");
    CHECK_DOUBLE(-1.0, "-1.0");
    CHECK_DOUBLE(0.0, "0.0");
    CHECK_DOUBLE(-0.0, "-0.0");
    CHECK_DOUBLE(1e10, "1.0E10");
    CHECK_DOUBLE(1e-5, "1.0E-5");
    CHECK_DOUBLE(1e7, "1.0E7");
    CHECK_DOUBLE(9999999.0, "9999999.0");
    CHECK_DOUBLE(0.001, "0.001");
    CHECK_DOUBLE(0.0001, "1.0E-4");
    CHECK_DOUBLE(0.1, "0.1");
    CHECK_DOUBLE(123.456, "123.456");
    CHECK_DOUBLE(100.0, "100.0");
    CHECK_DOUBLE(12345678.9, "1.23456789E7");
    CHECK_DOUBLE(1.7976931348623157e308, "1.7976931348623157E308");
    CHECK_DOUBLE(4.9e-324, "4.9E-324");
    CHECK_DOUBLE(2.2250738585072014e-308, "2.2250738585072014E-308");
    CHECK_DOUBLE(1e23, "1.0E23");
    CHECK_DOUBLE(2.0 / 3.0, "0.6666666666666666");
    CHECK_DOUBLE(0.1 + 0.2, "0.30000000000000004");
    CHECK_DOUBLE(-1.5e-7, "-1.5E-7");
    CHECK_DOUBLE(3.0e-3, "0.003");
    CHECK_DOUBLE(1234567.0, "1234567.0");
    CHECK_DOUBLE(NAN, "null");
    char t[32];
    CHECK(json_fmt_double(NAN, t) == 3 && !strcmp(t, "NaN"));
    CHECK(json_fmt_double(-INFINITY, t) == 9 && !strcmp(t, "-Infinity"));
    CHECK(json_fmt_double(2.5e-5, t) == 6 && !strcmp(t, "2.5E-5"));
    CHECK_DOUBLE(INFINITY, "null");
}

/* The reference for shortest digits: the least precision whose correctly
 * rounded digits read back as v. */
static int ref_shortest(double v, char *dig, int *e10)
{
    for (int prec = 1; prec <= 17; prec++) {
        char t[64];
        snprintf(t, sizeof t, "%.*e", prec - 1, v);
        if (strtod(t, NULL) == v || prec == 17) {
            int nd = 0;
            const char *s = t;
            for (; *s && *s != 'e'; s++)
                if (*s >= '0' && *s <= '9') dig[nd++] = *s;
            *e10 = atoi(s + 1);
            while (nd > 1 && dig[nd - 1] == '0') nd--;
            dig[nd] = 0;
            return nd;
        }
    }
    return 0;
}

TEST(shortest_doubles_match_reference)
{
    int bad = 0;
    for (int i = 0; i < 60000; i++) {
        double v;
        if (i % 3 == 0) {
            uint64_t bits = rnd() & ~(1ull << 63);
            memcpy(&v, &bits, sizeof v);
        } else if (i % 3 == 1) {
            char t[64];
            snprintf(t, sizeof t, "%llu.%llue%d", (unsigned long long)(rnd() % 100000),
                     (unsigned long long)(rnd() % 1000000), (int)(rnd() % 24) - 12);
            v = strtod(t, NULL);
        } else {
            v = (double)(rnd() % 10000000) / (double)(1 + rnd() % 1000);
        }
        if (!isfinite(v) || v == 0 || v < 2.2250738585072014e-308) continue;
        char ref[24];
        int e10;
        int nd = ref_shortest(v, ref, &e10);
        (void)nd;
        char got[40];
        json_fmt_double(v, got);
        /* got's digits and exponent */
        char gd[24];
        int gn = 0, ge = 0, point = -1, lead = -1;
        const char *s = got;
        for (; *s && *s != 'E'; s++) {
            if (*s == '.') {
                point = gn;
                continue;
            }
            if (lead < 0 && *s == '0') {
                gn++;
                continue;
            }
            if (lead < 0) lead = gn;
            gd[gn++ - lead] = *s;
        }
        int digits = gn - lead;
        if (*s == 'E') ge = atoi(s + 1);
        /* exponent of the first significant digit */
        int ex = (point < 0 ? gn : point) - lead - 1 + ge;
        while (digits > 1 && gd[digits - 1] == '0') digits--;
        gd[digits] = 0;
        if (strcmp(gd, ref) != 0 || ex != e10) {
            if (bad++ < 10) UNIT_FAIL("%.17g: got %s, want digits %s e%d", v, got, ref, e10);
        }
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(compact_round_trip_and_reformat)
{
    const char *in = " {\"a\" : [1, -2.50e+3, true, false, null, \"x\\u0041\\t\"], \"b\": {\"c\": {}}, \"d\": [] } ";
    char *c = compact(in);
    CHECK_EQ_STR(c, "{\"a\":[1,-2.50e+3,true,false,null,\"xA\\t\"],\"b\":{\"c\":{}},\"d\":[]}");
    char *c2 = compact(c);
    CHECK_EQ_STR(c2, c);
    char *p = reformat(in, strlen(in), true);
    CHECK_EQ_STR(p, "{\n  \"a\" : [\n    1,\n    -2.50e+3,\n    true,\n    false,\n    null,\n    \"xA\\t\"\n  ],\n"
                    "  \"b\" : {\n    \"c\" : { }\n  },\n  \"d\" : [ ]\n}");
    char *c3 = compact(p);
    CHECK_EQ_STR(c3, c);
    free(c);
    free(c2);
    free(c3);
    free(p);
    buf b = { 0 };
    CHECK(!json_reformat("{", 1, false, &b));
    CHECK(!json_reformat("", 0, true, &b));
    CHECK(b.len == 0);
    buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* the data-driven corpus */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = { 0 };
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(&b, tmp, n);
    fclose(f);
    if (!b.p) buf_reserve(&b, 0);
    return buf_detach(&b, len);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

TEST(corpus)
{
    const char *dir = getenv("FERRY_JSON_CORPUS");
    if (!dir || !*dir) dir = "tests/data/json";
    DIR *dp = opendir(dir);
    if (!dp) {
        UNIT_FAIL("cannot open corpus folder %s (run from the repository root or set FERRY_JSON_CORPUS)", dir);
        return;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        const char *nm = de->d_name;
        if ((nm[0] == 'y' || nm[0] == 'n' || nm[0] == 'i') && nm[1] == '_' && str_has_suffix(nm, ".json")) {
            names = xrealloc(names, (count + 1) * sizeof *names);
            names[count++] = xstrdup(nm);
        }
    }
    closedir(dp);
    qsort(names, count, sizeof *names, cmp_str);
    int ny = 0, nn = 0, ni = 0;
    for (size_t i = 0; i < count; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        size_t len;
        char *text = read_file(path, &len);
        if (!text) {
            UNIT_FAIL("cannot read %s", path);
            free(path);
            continue;
        }
        json_err e;
        json_doc *d = json_parse(text, len, NULL, &e);
        char kind = names[i][0];
        if (kind == 'y') {
            ny++;
            if (!d) UNIT_FAIL("%s: rejected: %s (line %u col %u)", names[i], e.msg, e.line, e.col);
        } else if (kind == 'n') {
            nn++;
            if (d) UNIT_FAIL("%s: accepted", names[i]);
            else if (!e.msg[0] || e.offset > len || e.line < 1 || e.col < 1)
                UNIT_FAIL("%s: bad error report", names[i]);
        } else
            ni++;
        if (d) {
            /* parse -> write -> parse -> write is stable; pretty parses and compacts back */
            buf c1 = { 0 }, c2 = { 0 }, pr = { 0 }, c3 = { 0 };
            json_w w;
            jw_init(&w, &c1, false);
            jw_val(&w, json_doc_root(d));
            json_doc *d2 = json_parse(c1.p, c1.len, NULL, &e);
            if (!d2)
                UNIT_FAIL("%s: compact output does not parse: %s", names[i], e.msg);
            else {
                jw_init(&w, &c2, false);
                jw_val(&w, json_doc_root(d2));
                if (c1.len != c2.len || memcmp(c1.p, c2.p, c1.len)) UNIT_FAIL("%s: compact output unstable", names[i]);
                json_doc_free(d2);
            }
            jw_init(&w, &pr, true);
            jw_val(&w, json_doc_root(d));
            json_doc *d3 = json_parse(pr.p, pr.len, NULL, &e);
            if (!d3)
                UNIT_FAIL("%s: pretty output does not parse: %s", names[i], e.msg);
            else {
                jw_init(&w, &c3, false);
                jw_val(&w, json_doc_root(d3));
                if (c1.len != c3.len || memcmp(c1.p, c3.p, c1.len))
                    UNIT_FAIL("%s: pretty output compacts differently", names[i]);
                json_doc_free(d3);
            }
            buf r = { 0 };
            if (!json_reformat(text, len, false, &r) || r.len != c1.len || memcmp(r.p, c1.p, c1.len))
                UNIT_FAIL("%s: json_reformat disagrees", names[i]);
            buf_free(&r);
            buf_free(&c1);
            buf_free(&c2);
            buf_free(&c3);
            buf_free(&pr);
            json_doc_free(d);
        }
        free(text);
        free(path);
        free(names[i]);
    }
    free(names);
    CHECK(ny >= 20 && nn >= 20);
    printf("  corpus: %d y_, %d n_, %d i_ files\n", ny, nn, ni);
}

int main(void)
{
    RUN(every_type);
    RUN(null_safety);
    RUN(root_scalars);
    RUN(input_not_referenced);
    RUN(escapes);
    RUN(surrogates);
    RUN(utf8_validation);
    RUN(control_characters);
    RUN(long_strings_and_escape_positions);
    RUN(integers_at_the_edges);
    RUN(doubles);
    RUN(random_doubles_round_trip);
    RUN(number_errors);
    RUN(jackson_messages);
    RUN(error_positions);
    RUN(trailing_data);
    RUN(depth_limit);
    RUN(dense_documents_grow_the_tape);
    RUN(iteration_order_and_duplicates);
    RUN(paths);
    RUN(raw_spans);
    RUN(pretty_layout);
    RUN(writer_compact_and_scalars);
    RUN(java_doubles);
    RUN(shortest_doubles_match_reference);
    RUN(compact_round_trip_and_reformat);
    RUN(corpus);
    return unit_report();
}
