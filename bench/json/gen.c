/*
 * gen.c — a deterministic NDJSON corpus of realistic mixed documents for the
 * JSON benchmark: order/log-like events with nested objects, arrays of
 * objects and numbers, timestamps, prices, coordinates, free text with the
 * occasional escape and non-ASCII UTF-8. Compact, one document a line.
 */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r)
{
    /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}
static unsigned rndn(rng *r, unsigned n) { return (unsigned)((rnd(r) >> 33) % n); }
static double rndf(rng *r) { return (double)(rnd(r) >> 11) / 9007199254740992.0; }

static const char *const words[] = {
    "alpha", "bravo", "delivery", "order", "shipping", "customer", "invoice", "product", "warehouse",
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "index", "cluster",
    "node", "shard", "replica", "query", "match", "term", "range", "filter", "bucket", "metric",
    "latency", "request", "response", "timeout", "retry", "error", "warning", "info", "debug",
    "payment", "refund", "discount", "coupon", "basket", "checkout", "session", "browser", "mobile",
    "café", "naïve", "Müller", "São", "Paulo", "Zürich", "niño", "façade", "crème", "brûlée",
    "東京", "日本語", "検索", "Москва", "данные", "αβγ", "😀", "🚀", "👍",
};
static const char *const cities[] = { "Paris", "Berlin", "Tokyo", "New York", "São Paulo", "Zürich",
                                      "Москва", "Sydney", "Toronto", "Madrid" };
static const char *const kinds[] = { "order", "refund", "view", "click", "purchase", "signup" };
static const char *const first[] = { "José", "Anna", "Li", "Olga", "Pierre", "Günter", "Aiko", "Mary",
                                     "John", "Fatima" };
static const char *const last[] = { "Müller", "Smith", "Dubois", "Tanaka", "Ivanova", "García",
                                    "O'Brien", "Nguyen", "Kowalski", "Rossi" };

typedef struct out {
    char *p;
    size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        while (o->len + n + 1 > o->cap) o->cap = o->cap ? o->cap * 2 : 1 << 20;
        o->p = realloc(o->p, o->cap);
        if (!o->p) abort();
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}
static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }
static void putf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(o, tmp, (size_t)n);
}

/* A JSON string literal of free text: words, sometimes an escape. */
static void text(out *o, rng *r, unsigned nwords)
{
    put(o, "\"", 1);
    for (unsigned i = 0; i < nwords; i++) {
        if (i) put(o, " ", 1);
        unsigned k = rndn(r, 100);
        if (k < 2)
            puts_(o, "\\\"quoted\\\"");
        else if (k < 3)
            puts_(o, "line\\nbreak");
        else if (k < 4)
            puts_(o, "tab\\tsep");
        else if (k < 5)
            puts_(o, "C:\\\\path");
        else if (k < 6)
            puts_(o, "caf\\u00e9");
        else {
            /* mostly ASCII words, a few non-ASCII */
            unsigned w = rndn(r, 100) < 90 ? rndn(r, 48) : rndn(r, ARRAY_N(words));
            puts_(o, words[w]);
        }
    }
    put(o, "\"", 1);
}

static void doc(out *o, rng *r, unsigned id)
{
    unsigned kind = rndn(r, ARRAY_N(kinds));
    long long ts = 1700000000000LL + (long long)rndn(r, 100000000) * 100 + rndn(r, 100);
    putf(o, "{\"@timestamp\":\"2024-%02u-%02uT%02u:%02u:%02u.%03uZ\",\"event\":{\"id\":%u,\"kind\":\"%s\","
            "\"dataset\":\"shop.%ss\",\"ingested\":%lld,\"sequence\":%u},",
         1 + rndn(r, 12), 1 + rndn(r, 28), rndn(r, 24), rndn(r, 60), rndn(r, 60), rndn(r, 1000),
         id, kinds[kind], kinds[kind], ts, rndn(r, 1000000));
    putf(o, "\"user\":{\"id\":\"u-%08x%04x\",\"name\":\"%s %s\",\"age\":%u,\"vip\":%s,\"balance\":%.2f,"
            "\"tags\":[",
         (unsigned)rnd(r), rndn(r, 65536), first[rndn(r, ARRAY_N(first))], last[rndn(r, ARRAY_N(last))],
         18 + rndn(r, 70), rndn(r, 4) ? "false" : "true", rndf(r) * 20000 - 2000);
    unsigned nt = rndn(r, 4);
    for (unsigned i = 0; i < nt; i++) putf(o, "%s\"%s\"", i ? "," : "", words[rndn(r, 40)]);
    putf(o, "]},\"geo\":{\"lat\":%.4f,\"lon\":%.4f,\"city\":\"%s\",\"accuracy_m\":%u},", rndf(r) * 180 - 90,
         rndf(r) * 360 - 180, cities[rndn(r, ARRAY_N(cities))], rndn(r, 5000));
    puts_(o, "\"items\":[");
    unsigned ni = 1 + rndn(r, 4);
    for (unsigned i = 0; i < ni; i++) {
        putf(o, "%s{\"sku\":\"SKU-%05u\",\"title\":", i ? "," : "", rndn(r, 100000));
        text(o, r, 2 + rndn(r, 5));
        putf(o, ",\"qty\":%u,\"price\":%.2f,\"discount\":%.2f,\"in_stock\":%s}", 1 + rndn(r, 9),
             rndf(r) * 500, rndf(r) * 0.5, rndn(r, 5) ? "true" : "false");
    }
    putf(o, "],\"total\":%.2f,\"currency\":\"%s\",\"message\":", rndf(r) * 2000, rndn(r, 2) ? "EUR" : "USD");
    text(o, r, 8 + rndn(r, 20));
    putf(o, ",\"http\":{\"method\":\"%s\",\"status\":%u,\"bytes\":%u,\"duration_ms\":%.3f,\"ok\":%s,"
            "\"url\":\"https://shop.example.com/api/v2/%s/%u?ref=%s\"},",
         rndn(r, 3) ? "GET" : "POST", rndn(r, 10) ? 200 : 404, rndn(r, 100000), rndf(r) * 250,
         rndn(r, 10) ? "true" : "false", kinds[kind], rndn(r, 1000000), words[rndn(r, 40)]);
    puts_(o, "\"scores\":[");
    unsigned ns = 2 + rndn(r, 8);
    for (unsigned i = 0; i < ns; i++) {
        if (rndn(r, 20) == 0)
            putf(o, "%s%.3e", i ? "," : "", rndf(r) * 1e-5);
        else
            putf(o, "%s%.4f", i ? "," : "", rndf(r));
    }
    putf(o, "],\"counts\":[%u,%u,%u,%d],\"labels\":%s,\"deleted\":false}", rndn(r, 100), rndn(r, 10000),
         rndn(r, 1000000), -(int)rndn(r, 50), rndn(r, 3) ? "null" : "{\"env\":\"prod\",\"team\":\"search\"}");
}

char *gen_corpus(size_t ndocs, uint64_t seed, size_t pad, size_t *len, size_t **offsets)
{
    rng r = { seed ? seed : 88172645463325252ull };
    out o = { 0 };
    size_t *offs = malloc((ndocs + 1) * sizeof *offs);
    if (!offs) abort();
    for (size_t i = 0; i < ndocs; i++) {
        offs[i] = o.len;
        doc(&o, &r, (unsigned)i);
        put(&o, "\n", 1);
    }
    offs[ndocs] = o.len;
    /* room for peers that read past the end (simdjson's padding) */
    if (o.len + pad + 1 > o.cap) {
        o.cap = o.len + pad + 1;
        o.p = realloc(o.p, o.cap);
        if (!o.p) abort();
    }
    memset(o.p + o.len, 0, pad + 1);
    *len = o.len;
    *offsets = offs;
    return o.p;
}
