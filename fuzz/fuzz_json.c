/*
 * fuzz_json.c — libFuzzer target for src/json.
 *
 * Properties, for any input:
 *   - parsing never crashes (strict, and with allow_trailing and a small depth limit);
 *   - an accepted document written compactly parses again, and writing that
 *     gives the same bytes (compact output is a fixed point);
 *   - its pretty output parses, and compacts to the same bytes;
 *   - json_reformat agrees with parse + jw_val, both ways;
 *   - json_raw of the root is the input less surrounding whitespace;
 *   - a rejected input has an error with an offset inside it and a message;
 *   - the first 8 bytes as a double: jw_double's text parses back to it exactly.
 */
#include "core/core.h"
#include "json/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_json: property failed: %s (line %d)\n", #c, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void write_val(buf *out, const json_val *v, bool pretty)
{
    json_w w;
    jw_init(&w, out, pretty);
    jw_val(&w, v);
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_err err;
    json_doc *d = json_parse(text, size, NULL, &err);
    if (!d) {
        REQUIRE(err.msg[0] != 0);
        REQUIRE(err.offset <= size);
        REQUIRE(err.line >= 1 && err.col >= 1);
        buf r = { 0 };
        REQUIRE(!json_reformat(text, size, false, &r));
        buf_free(&r);
    } else {
        const json_val *root = json_doc_root(d);
        size_t rl;
        const char *raw = json_raw(d, root, &rl);
        size_t a = 0, b = size;
        while (a < b && is_ws(text[a])) a++;
        while (b > a && is_ws(text[b - 1])) b--;
        REQUIRE(rl == b - a && memcmp(raw, text + a, rl) == 0);

        buf c1 = { 0 }, c2 = { 0 }, pr = { 0 }, c3 = { 0 }, rf = { 0 }, rp = { 0 };
        write_val(&c1, root, false);
        REQUIRE(c1.len <= size);
        json_doc *d2 = json_parse(c1.p, c1.len, NULL, &err);
        REQUIRE(d2 != NULL);
        write_val(&c2, json_doc_root(d2), false);
        REQUIRE(c1.len == c2.len && memcmp(c1.p, c2.p, c1.len) == 0);
        json_doc_free(d2);

        write_val(&pr, root, true);
        json_doc *d3 = json_parse(pr.p, pr.len, NULL, &err);
        REQUIRE(d3 != NULL);
        write_val(&c3, json_doc_root(d3), false);
        REQUIRE(c1.len == c3.len && memcmp(c1.p, c3.p, c1.len) == 0);
        json_doc_free(d3);

        REQUIRE(json_reformat(text, size, false, &rf));
        REQUIRE(rf.len == c1.len && memcmp(rf.p, c1.p, c1.len) == 0);
        REQUIRE(json_reformat(text, size, true, &rp));
        REQUIRE(rp.len == pr.len && memcmp(rp.p, pr.p, pr.len) == 0);

        /* walk everything through the accessors */
        json_iter it = json_iter_begin(root);
        const json_val *v;
        const char *k;
        size_t kl;
        while ((v = json_iter_next(&it, &k, &kl))) {
            if (k) REQUIRE(json_obj_getn(root, k, kl) != NULL);
            (void)json_num(v);
            (void)json_str(v, NULL);
            (void)json_len(v);
        }
        buf_free(&c1);
        buf_free(&c2);
        buf_free(&c3);
        buf_free(&pr);
        buf_free(&rf);
        buf_free(&rp);
        json_doc_free(d);
    }

    if (size >= 8) {
        double v;
        memcpy(&v, data, sizeof v);
        buf t = { 0 };
        json_w w;
        jw_init(&w, &t, false);
        jw_double(&w, v);
        json_doc *dd = json_parse(t.p, t.len, NULL, &err);
        REQUIRE(dd != NULL);
        if (isfinite(v)) {
            double back = json_num(json_doc_root(dd));
            REQUIRE(memcmp(&back, &v, sizeof v) == 0);
            REQUIRE(json_type_of(json_doc_root(dd)) == JSON_DOUBLE);
        } else
            REQUIRE(json_type_of(json_doc_root(dd)) == JSON_NULL);
        json_doc_free(dd);
        buf_free(&t);
    }

    /* NDJSON-style reading and a tight depth limit must be just as safe */
    json_parse_opts o = { .allow_trailing = true, .max_depth = 8 };
    size_t off = 0;
    for (int i = 0; i < 16 && off < size; i++) {
        json_doc *t = json_parse(text + off, size - off, &o, &err);
        if (!t) break;
        REQUIRE(err.offset > 0 && err.offset <= size - off);
        size_t rl;
        json_raw(t, json_doc_root(t), &rl);
        REQUIRE(rl <= err.offset);
        off += err.offset;
        json_doc_free(t);
    }
    return 0;
}
