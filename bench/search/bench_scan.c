/*
 * bench_scan — the peers of bench_search.py: what the same work costs without an index.
 *
 *   bench_scan --scan DATA INDEX MATCH_WORD MUST_WORD SHOULD_WORD RANGE_HI
 *       Opens a stopped node's data folder with the store API and walks every document of
 *       INDEX with an LMDB cursor: once bare (scan_raw_ms), then once per query, parsing each
 *       _source and computing by brute force the match query (title has MATCH_WORD), the
 *       bool query (body has MUST_WORD and 0 <= n < RANGE_HI; SHOULD_WORD only scores) and
 *       the terms aggregation on tag (top 3). Prints key=value lines: times in ms, counts.
 *
 *   bench_scan --write DIR NDJSON PER
 *       Writes every line of NDJSON (one _source per line) into a fresh store with the
 *       store's own document writes, PER documents per committed transaction, no analysis:
 *       write_docs_per_s.
 */
#include "core/core.h"
#include "json/json.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool has_word(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= n;) {
        size_t j = i;
        while (j < n && s[j] != ' ') j++;
        if (j - i == wl && !memcmp(s + i, w, wl)) return true;
        i = j + 1;
    }
    return false;
}

typedef enum { Q_RAW, Q_MATCH, Q_BOOL, Q_TERMS } qkind;

typedef struct tagc {
    char name[32];
    long n;
} tagc;

static int tag_cmp(const void *a, const void *b)
{
    const tagc *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->name, y->name);
}

static long run(store_index *idx, qkind k, const char *w1, const char *w2, long hi, tagc *tags, size_t *ntags,
                long *docs)
{
    long count = 0;
    *docs = 0;
    es_err err = { 0 };
    for (uint32_t s = 0; s < store_index_num_shards(idx); s++) {
        store_txn *t;
        if (store_read_begin(idx, s, &t, &err) < 0) {
            fprintf(stderr, "read: %s\n", err.reason);
            exit(1);
        }
        store_cursor *c;
        if (store_docs_open(t, 0, &c, &err) < 0) exit(1);
        store_doc d;
        while (store_docs_next(c, &d, &err) == 1) {
            (*docs)++;
            if (k == Q_RAW) {
                count += d.srclen > 0;
                continue;
            }
            json_doc *jd = json_parse(d.source, d.srclen, NULL, NULL);
            if (!jd) continue;
            const json_val *root = json_doc_root(jd);
            size_t n;
            if (k == Q_MATCH) {
                const char *title = json_str(json_obj_get(root, "title"), &n);
                if (title && has_word(title, n, w1)) count++;
            } else if (k == Q_BOOL) {
                const char *body = json_str(json_obj_get(root, "body"), &n);
                long v = (long)json_int(json_obj_get(root, "n"));
                if (body && v >= 0 && v < hi && has_word(body, n, w1)) count++;
            } else {
                const char *tag = json_str(json_obj_get(root, "tag"), &n);
                if (tag) {
                    size_t i = 0;
                    while (i < *ntags && strcmp(tags[i].name, tag)) i++;
                    if (i == *ntags && *ntags < 256) {
                        snprintf(tags[i].name, sizeof tags[i].name, "%s", tag);
                        tags[i].n = 0;
                        (*ntags)++;
                    }
                    if (i < 256) tags[i].n++;
                }
            }
            json_doc_free(jd);
        }
        store_cursor_close(c);
        store_read_end(t);
    }
    (void)w2;
    return count;
}

static int scan_main(int argc, char **argv)
{
    if (argc < 8) return fprintf(stderr, "usage: bench_scan --scan DATA INDEX MATCH MUST SHOULD HI\n"), 2;
    es_err err = { 0 };
    store *st = store_open(argv[2], &err);
    if (!st) return fprintf(stderr, "open: %s\n", err.reason), 1;
    store_index *idx = store_index_get(st, argv[3]);
    if (!idx) return fprintf(stderr, "no index %s\n", argv[3]), 1;
    long hi = atol(argv[7]), docs;
    tagc tags[256];
    size_t ntags = 0;
    double t = now_ms();
    run(idx, Q_RAW, NULL, NULL, 0, NULL, NULL, &docs);
    printf("scan_raw_ms=%.1f\nscan_docs=%ld\n", now_ms() - t, docs);
    t = now_ms();
    long m = run(idx, Q_MATCH, argv[4], NULL, 0, NULL, NULL, &docs);
    printf("scan_match_ms=%.1f\nmatch_total=%ld\n", now_ms() - t, m);
    t = now_ms();
    long b = run(idx, Q_BOOL, argv[5], argv[6], hi, NULL, NULL, &docs);
    printf("scan_bool_ms=%.1f\nbool_total=%ld\n", now_ms() - t, b);
    t = now_ms();
    run(idx, Q_TERMS, NULL, NULL, 0, tags, &ntags, &docs);
    double tt = now_ms() - t;
    qsort(tags, ntags, sizeof *tags, tag_cmp);
    printf("scan_terms_ms=%.1f\nterms_top=", tt);
    for (size_t i = 0; i < ntags && i < 3; i++) printf("%s%s:%ld", i ? "," : "", tags[i].name, tags[i].n);
    printf("\n");
    store_index_release(idx);
    store_close(st);
    return 0;
}

static int write_main(int argc, char **argv)
{
    if (argc < 5) return fprintf(stderr, "usage: bench_scan --write DIR NDJSON PER\n"), 2;
    FILE *f = fopen(argv[3], "rb");
    if (!f) return perror(argv[3]), 1;
    buf all = { 0 };
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&all, chunk, n);
    fclose(f);
    long per = atol(argv[4]);
    es_err err = { 0 };
    store *st = store_open(argv[2], &err);
    if (!st) return fprintf(stderr, "open: %s\n", err.reason), 1;
    store_index_spec spec = { .name = "raw", .number_of_shards = 1 };
    store_index *idx;
    if (store_index_create(st, &spec, &idx, &err) < 0) return fprintf(stderr, "create: %s\n", err.reason), 1;
    double t = now_ms();
    long docs = 0;
    char *p = all.p, *end = all.p + all.len;
    while (p < end) {
        store_txn *txn;
        if (store_write_begin(idx, 0, &txn, &err) < 0) return fprintf(stderr, "begin: %s\n", err.reason), 1;
        for (long i = 0; i < per && p < end; i++) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) nl = end;
            char id[24];
            int il = snprintf(id, sizeof id, "%ld", docs);
            store_write_opts o = { 0 };
            o.borrow = true;
            if (store_doc_index(txn, id, (size_t)il, p, (size_t)(nl - p), &o, NULL, &err) != 0)
                return fprintf(stderr, "index: %s\n", err.reason), 1;
            docs++;
            p = nl + 1;
        }
        if (store_write_commit(txn, &err) < 0) return fprintf(stderr, "commit: %s\n", err.reason), 1;
    }
    double ms = now_ms() - t;
    printf("write_docs_per_s=%.0f\nwrite_docs=%ld\n", docs / (ms / 1000.0), docs);
    store_index_release(idx);
    store_close(st);
    buf_free(&all);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--scan")) return scan_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "--write")) return write_main(argc, argv);
    fprintf(stderr, "usage: bench_scan --scan DATA INDEX MATCH MUST SHOULD HI | --write DIR NDJSON PER\n");
    return 2;
}
