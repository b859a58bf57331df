/*
 * agg.c — the aggregation framework: parsing the "aggs" tree with
 * Elasticsearch's errors, the collector the search executor feeds (one set of
 * states per shard, merged into the run's at the end of each shard: the
 * reduce), buckets and sub-aggregations, reading field values, the interning
 * hash map, and writing "aggregations".
 */
#include "search/agg_int.h"
#include "search/search_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ======================================================================== */
/* Registry                                                                 */

static const agg_kind *const kinds[] = {
    &agg_kind_terms, &agg_kind_range, &agg_kind_histogram, &agg_kind_date_histogram, &agg_kind_filter,
    &agg_kind_filters, &agg_kind_min, &agg_kind_max, &agg_kind_sum, &agg_kind_avg, &agg_kind_value_count,
    &agg_kind_cardinality, &agg_kind_stats, &agg_kind_extended_stats, &agg_kind_missing, &agg_kind_global,
};

/* Every aggregation name Elasticsearch 8 registers: the candidates of its
 * "did you mean" suggestion for an unknown type (a fact about ES's registry). */
static const char *const es_agg_names[] = {
    "adjacency_matrix", "auto_date_histogram", "avg", "avg_bucket", "boxplot", "bucket_count_ks_test",
    "bucket_correlation", "bucket_script", "bucket_selector", "bucket_sort", "cardinality", "categorize_text",
    "children", "composite", "cumulative_cardinality", "cumulative_sum", "date_histogram", "date_range",
    "derivative", "diversified_sampler", "extended_stats", "extended_stats_bucket", "filter", "filters",
    "frequent_item_sets", "geo_bounds", "geo_centroid", "geo_distance", "geo_line", "geohash_grid", "geohex_grid",
    "geotile_grid", "global", "histogram", "inference", "ip_prefix", "ip_range", "kstest", "matrix_stats", "max",
    "max_bucket", "median_absolute_deviation", "min", "min_bucket", "missing", "moving_fn", "moving_percentiles",
    "multi_terms", "nested", "normalize", "parent", "percentile_ranks", "percentiles", "percentiles_bucket",
    "random_sampler", "range", "rare_terms", "rate", "reverse_nested", "sampler", "scripted_metric", "serial_diff",
    "significant_terms", "significant_text", "stats", "stats_bucket", "string_stats", "sum", "sum_bucket", "t_test",
    "terms", "time_series", "top_hits", "top_metrics", "value_count", "variable_width_histogram", "weighted_avg",
};

static const agg_kind *find_kind(const char *name, size_t n)
{
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
        if (strlen(kinds[i]->name) == n && !memcmp(kinds[i]->name, name, n)) return kinds[i];
    return NULL;
}

static bool es_knows(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(es_agg_names); i++)
        if (!strcmp(es_agg_names[i], name)) return true;
    return false;
}

/* ======================================================================== */
/* Errors                                                                   */

static void pos_of(agg_pctx *c, const json_val *v, bool key, uint32_t *line, uint32_t *col)
{
    json_location(c->doc, v, key, line, col);
}

int agg_err_parsing(agg_pctx *c, es_err *err, const json_val *at, bool key, const char *fmt, ...)
{
    if (es_err_isset(err)) return -1;
    va_list ap;
    va_start(ap, fmt);
    buf b = { 0 };
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    es_err_set(err, ES_PARSING, "%s", b.p);
    buf_free(&b);
    uint32_t l, col;
    pos_of(c, at, key, &l, &col);
    char t[16];
    snprintf(t, sizeof t, "%u", l);
    es_err_extra(err, "line", t, true);
    snprintf(t, sizeof t, "%u", col);
    es_err_extra(err, "col", t, true);
    return -1;
}

int agg_err_x(agg_pctx *c, es_err *err, const json_val *at, bool key, const char *fmt, ...)
{
    if (es_err_isset(err)) return -1;
    va_list ap;
    va_start(ap, fmt);
    buf b = { 0 };
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    uint32_t l, col;
    pos_of(c, at, key, &l, &col);
    es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", l, col, b.p);
    buf_free(&b);
    return -1;
}

typedef struct sugg {
    float d;
    const char *s;
} sugg;

static int sugg_cmp(const void *a, const void *b)
{
    const sugg *x = a, *y = b;
    if (x->d != y->d) return x->d > y->d ? -1 : 1;
    return strcmp(x->s, y->s);
}

/* Elasticsearch's SuggestingErrorOnUnknown: candidates closer than 0.5 (Levenshtein similarity),
 * best first. Appends " did you mean [x]?" / " did you mean any of [x, y]?". */
static void suggest(buf *b, const char *unknown, const char *const *cands, size_t n)
{
    sugg *sc = xmalloc((n + 1) * sizeof *sc);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        float d = str_similarity(unknown, cands[i]);
        if (d > 0.5f) sc[k++] = (sugg){ d, cands[i] };
    }
    if (k) {
        qsort(sc, k, sizeof *sc, sugg_cmp);
        buf_puts(b, " did you mean ");
        if (k == 1) {
            buf_printf(b, "[%s]", sc[0].s);
        } else {
            buf_puts(b, "any of [");
            for (size_t i = 0; i < k; i++) buf_printf(b, "%s%s", i ? ", " : "", sc[i].s);
            buf_puts(b, "]");
        }
        buf_puts(b, "?");
    }
    free(sc);
}

int agg_err_unknown_field(agg_pctx *c, es_err *err, const json_val *at, const char *kind, const char *k,
                          const char *const *known)
{
    size_t n = 0;
    while (known && known[n]) n++;
    buf b = { 0 };
    buf_printf(&b, "[%s] unknown field [%s]", kind, k);
    suggest(&b, k, known, n);
    agg_err_x(c, err, at, true, "%s", b.p);
    buf_free(&b);
    return -1;
}

/* ======================================================================== */
/* Small helpers                                                            */

char *agg_strdup(agg_pctx *c, const char *s)
{
    return arena_strndup(c->mem, s, strlen(s));
}

bool agg_json_int(const json_val *v, int64_t *out)
{
    if (!v) return false;
    switch (json_type_of(v)) {
    case JSON_INT: *out = json_int(v); return true;
    case JSON_DOUBLE: {
        double d = json_num(v);
        if (d != floor(d) || fabs(d) > 9.2e18) return false;
        *out = (int64_t)d;
        return true;
    }
    case JSON_STRING: {
        const char *s = json_str(v, NULL);
        char *e;
        if (!*s) return false;
        long long x = strtoll(s, &e, 10);
        if (*e) return false;
        *out = x;
        return true;
    }
    default: return false;
    }
}

bool agg_json_double(const json_val *v, double *out)
{
    if (!v) return false;
    if (json_is_number(v)) {
        *out = json_num(v);
        return true;
    }
    if (json_type_of(v) == JSON_STRING) {
        const char *s = json_str(v, NULL);
        char *e;
        if (!*s) return false;
        double d = strtod(s, &e);
        if (*e) return false;
        *out = d;
        return true;
    }
    return false;
}

void agg_put_double(buf *b, double v)
{
    char t[40];
    json_fmt_double(v, t);
    buf_puts(b, t);
}

void agg_key_text(val_type vt, const uint8_t *p, size_t len, buf *out)
{
    if (vt == VT_IP && len == 16) {
        static const uint8_t v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (!memcmp(p, v4, 12)) {
            buf_printf(out, "%u.%u.%u.%u", p[12], p[13], p[14], p[15]);
            return;
        }
        /* RFC 5952: longest run (>= 2) of zero groups becomes "::" */
        unsigned g[8];
        for (int i = 0; i < 8; i++) g[i] = (unsigned)p[2 * i] << 8 | p[2 * i + 1];
        int best = -1, bestn = 0;
        for (int i = 0; i < 8;) {
            if (g[i]) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && !g[j]) j++;
            if (j - i > bestn && j - i >= 2) {
                best = i;
                bestn = j - i;
            }
            i = j;
        }
        for (int i = 0; i < 8; i++) {
            if (i == best) {
                buf_puts(out, "::");
                i += bestn - 1;
                continue;
            }
            if (i && i != best + bestn) buf_putc(out, ':');
            buf_printf(out, "%x", g[i]);
        }
        return;
    }
    buf_append(out, p, len);
}

/* ======================================================================== */
/* Formats                                                                  */

void agg_format_long(const agg_format *f, int64_t v, buf *out)
{
    switch (f->kind) {
    case FMT_DATE: dfmt_print_millis(f->date, v, f->tz_sec, out); return;
    case FMT_BOOL: buf_puts(out, v ? "true" : "false"); return;
    case FMT_DECIMAL: agg_format_decimal(f->decimal, (double)v, out); return;
    default: buf_printf(out, "%lld", (long long)v); return;
    }
}

void agg_format_double(const agg_format *f, double v, buf *out)
{
    switch (f->kind) {
    case FMT_DATE:
        if (!isfinite(v)) {
            agg_put_double(out, v);
            return;
        }
        dfmt_print_millis(f->date, (int64_t)v, f->tz_sec, out);
        return;
    case FMT_BOOL: buf_puts(out, (int64_t)v != 0 ? "true" : "false"); return;
    case FMT_DECIMAL: agg_format_decimal(f->decimal, v, out); return;
    default: agg_put_double(out, v); return;
    }
}

void agg_format_decimal(const char *pattern, double v, buf *out)
{
    if (!isfinite(v)) {
        buf_puts(out, isnan(v) ? "NaN" : v > 0 ? "\u221e" : "-\u221e");
        return;
    }
    /* the positive subpattern: prefix, number part, suffix */
    const char *semi = strchr(pattern, ';');
    size_t plen = semi ? (size_t)(semi - pattern) : strlen(pattern);
    size_t a = 0;
    while (a < plen && !strchr("#0,.", pattern[a])) a++;
    size_t b = a;
    while (b < plen && strchr("#0,.", pattern[b])) b++;
    int min_int = 0, min_frac = 0, max_frac = 0, group = 0;
    bool in_frac = false, percent = memchr(pattern + b, '%', plen - b) != NULL;
    for (size_t i = a; i < b; i++) {
        char c = pattern[i];
        if (c == '.') in_frac = true;
        else if (c == ',') group = 0;
        else if (in_frac) {
            max_frac++;
            if (c == '0') min_frac++;
        } else {
            group++;
            if (c == '0') min_int++;
        }
    }
    const char *comma = memchr(pattern + a, ',', b - a);
    if (!comma) group = 0;
    if (percent) v *= 100;
    char digits[400];
    snprintf(digits, sizeof digits, "%.*f", max_frac, fabs(v));
    char *dot = strchr(digits, '.');
    size_t int_len = dot ? (size_t)(dot - digits) : strlen(digits);
    const char *frac = dot ? dot + 1 : "";
    size_t frac_len = strlen(frac);
    while ((int)frac_len > min_frac && frac[frac_len - 1] == '0') frac_len--;
    bool negative = v < 0 && (strspn(digits, "0.") != strlen(digits));
    if (negative) buf_putc(out, '-');
    buf_append(out, pattern, a);
    /* integer part without leading zeros, padded to min_int */
    const char *ip = digits;
    while (int_len > 1 && *ip == '0') {
        ip++;
        int_len--;
    }
    if (int_len == 1 && *ip == '0' && min_int == 0) int_len = 0;
    for (int i = (int)int_len; i < min_int; i++) buf_putc(out, '0');
    for (size_t i = 0; i < int_len; i++) {
        buf_putc(out, ip[i]);
        size_t left = int_len - i - 1;
        if (group > 0 && left > 0 && left % (size_t)group == 0) buf_putc(out, ',');
    }
    if (frac_len) {
        buf_putc(out, '.');
        buf_append(out, frac, frac_len);
    } else if (!int_len && min_int == 0) {
        buf_putc(out, '0');
    }
    buf_append(out, pattern + b, plen - b);
}

/* ======================================================================== */
/* kmap                                                                     */

uint64_t agg_hash(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t k;
        memcpy(&k, p, 8);
        k *= 0x87c37b91114253d5ull;
        k = (k << 31) | (k >> 33);
        k *= 0x4cf5ad432745937full;
        h ^= k;
        h = ((h << 27) | (h >> 37)) * 5 + 0x52dce729;
        p += 8;
        n -= 8;
    }
    uint64_t k = 0;
    for (size_t i = 0; i < n; i++) k |= (uint64_t)p[i] << (8 * i);
    k *= 0x87c37b91114253d5ull;
    k = (k << 31) | (k >> 33);
    k *= 0x4cf5ad432745937full;
    h ^= k;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static void kmap_grow(kmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    uint32_t *slots = xcalloc(ncap, sizeof *slots);
    for (size_t i = 0; i < m->n; i++) {
        size_t s = m->hashes[i] & (ncap - 1);
        while (slots[s]) s = (s + 1) & (ncap - 1);
        slots[s] = (uint32_t)i + 1;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = ncap;
}

int64_t kmap_get(const kmap *m, const void *key, size_t len)
{
    if (!m->cap) return -1;
    uint64_t h = agg_hash(key, len);
    for (size_t s = h & (m->cap - 1);; s = (s + 1) & (m->cap - 1)) {
        uint32_t e = m->slots[s];
        if (!e) return -1;
        size_t i = e - 1;
        if (m->hashes[i] == h && m->klen[i] == len && !memcmp(m->keys.p + m->koff[i], key, len)) return (int64_t)i;
    }
}

size_t kmap_put(kmap *m, const void *key, size_t len, bool *added)
{
    if ((m->n + 1) * 4 > m->cap * 3) kmap_grow(m);
    uint64_t h = agg_hash(key, len);
    size_t s = h & (m->cap - 1);
    for (;; s = (s + 1) & (m->cap - 1)) {
        uint32_t e = m->slots[s];
        if (!e) break;
        size_t i = e - 1;
        if (m->hashes[i] == h && m->klen[i] == len && !memcmp(m->keys.p + m->koff[i], key, len)) {
            if (added) *added = false;
            return i;
        }
    }
    if (m->n == m->ncap) {
        m->ncap = m->ncap ? m->ncap * 2 : 16;
        m->hashes = xrealloc(m->hashes, m->ncap * sizeof *m->hashes);
        m->koff = xrealloc(m->koff, m->ncap * sizeof *m->koff);
        m->klen = xrealloc(m->klen, m->ncap * sizeof *m->klen);
    }
    size_t i = m->n++;
    m->hashes[i] = h;
    m->koff[i] = (uint32_t)m->keys.len;
    m->klen[i] = (uint32_t)len;
    buf_append(&m->keys, key, len);
    m->slots[s] = (uint32_t)i + 1;
    if (added) *added = true;
    return i;
}

void kmap_free(kmap *m)
{
    free(m->slots);
    free(m->hashes);
    free(m->koff);
    free(m->klen);
    buf_free(&m->keys);
    memset(m, 0, sizeof *m);
}

/* ======================================================================== */
/* Buckets                                                                  */

void *agg_bucket_sub(const agg_spec *parent, agg_bucket *b, size_t i)
{
    if (!b->subs) b->subs = xcalloc(parent->n_subs ? parent->n_subs : 1, sizeof *b->subs);
    if (!b->subs[i]) b->subs[i] = parent->subs[i]->kind->state_new(parent->subs[i]);
    return b->subs[i];
}

int agg_bucket_collect(agg_shard *sh, const agg_spec *parent, agg_bucket *b, uint64_t doc, es_err *err)
{
    b->doc_count++;
    for (size_t i = 0; i < parent->n_subs; i++) {
        const agg_spec *s = parent->subs[i];
        if (s->kind->collect(sh, s, agg_bucket_sub(parent, b, i), doc, err) < 0) return -1;
    }
    return 0;
}

void agg_bucket_merge(const agg_spec *parent, agg_bucket *dst, agg_bucket *src)
{
    dst->doc_count += src->doc_count;
    if (src->subs) {
        for (size_t i = 0; i < parent->n_subs; i++) {
            if (!src->subs[i]) continue;
            const agg_spec *s = parent->subs[i];
            if (!dst->subs) dst->subs = xcalloc(parent->n_subs, sizeof *dst->subs);
            if (!dst->subs[i]) dst->subs[i] = src->subs[i];
            else s->kind->merge(s, dst->subs[i], src->subs[i]);
            src->subs[i] = NULL;
        }
        free(src->subs);
        src->subs = NULL;
    }
    src->doc_count = 0;
}

void agg_bucket_free(const agg_spec *parent, agg_bucket *b)
{
    if (b->subs) {
        for (size_t i = 0; i < parent->n_subs; i++)
            if (b->subs[i]) parent->subs[i]->kind->state_free(parent->subs[i], b->subs[i]);
        free(b->subs);
    }
    b->subs = NULL;
}

static void write_agg(const agg_spec *a, void *st, bool typed, json_w *w);

/* typed_keys travels through a thread-local flag while writing (the writer callbacks have no room for it). */
static __thread bool write_typed;

void agg_bucket_write_subs(const agg_spec *parent, const agg_bucket *b, json_w *w)
{
    for (size_t i = 0; i < parent->n_subs; i++) {
        const agg_spec *s = parent->subs[i];
        void *st = b->subs ? b->subs[i] : NULL;
        bool fresh = false;
        if (!st) {
            st = s->kind->state_new(s);
            fresh = true;
        }
        write_agg(s, st, write_typed, w);
        if (fresh) s->kind->state_free(s, st);
    }
}

static const agg_spec *find_sub(const agg_spec *parent, const char *name, size_t n)
{
    for (size_t i = 0; i < parent->n_subs; i++)
        if (strlen(parent->subs[i]->name) == n && !memcmp(parent->subs[i]->name, name, n)) return parent->subs[i];
    return NULL;
}

static size_t sub_index(const agg_spec *parent, const agg_spec *s)
{
    for (size_t i = 0; i < parent->n_subs; i++)
        if (parent->subs[i] == s) return i;
    return 0;
}

bool agg_bucket_path_value(const agg_spec *parent, const agg_bucket *b, const char *path, double *out)
{
    /* "a>b>c.metric" or "a[.metric]" */
    const char *gt = strchr(path, '>');
    if (gt) {
        const agg_spec *s = find_sub(parent, path, (size_t)(gt - path));
        if (!s || !s->kind->single) return false;
        void *st = b->subs ? b->subs[sub_index(parent, s)] : NULL;
        if (!st) {
            /* an empty single bucket: values of an empty sub-tree */
            agg_bucket empty = { 0, NULL };
            return agg_bucket_path_value(s, &empty, gt + 1, out);
        }
        return agg_bucket_path_value(s, s->kind->single(s, st), gt + 1, out);
    }
    const char *dot = strrchr(path, '.');
    const agg_spec *s = find_sub(parent, path, strlen(path));
    const char *which = NULL;
    if (!s && dot) {
        s = find_sub(parent, path, (size_t)(dot - path));
        which = dot + 1;
    }
    if (!s) return false;
    void *st = b->subs ? b->subs[sub_index(parent, s)] : NULL;
    bool fresh = false;
    if (!st) {
        st = s->kind->state_new(s);
        fresh = true;
    }
    bool ok = false;
    if (s->kind->value) {
        ok = s->kind->value(s, st, which, out);
    } else if (s->kind->single && !which) {
        *out = (double)s->kind->single(s, st)->doc_count;
        ok = true;
    } else if (s->kind->single && which && !strcmp(which, "doc_count")) {
        *out = (double)s->kind->single(s, st)->doc_count;
        ok = true;
    }
    if (fresh) s->kind->state_free(s, st);
    return ok;
}

int agg_check_order_path(const agg_spec *parent, const char *path, es_err *err)
{
    const char *gt = strchr(path, '>');
    if (gt) {
        const agg_spec *s = find_sub(parent, path, (size_t)(gt - path));
        if (!s) goto invalid;
        if (!s->kind->single) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "Buckets can only be sorted on a sub-aggregator path that is built out of zero or more "
                       "single-bucket aggregations within the path and a final single-bucket or a metrics "
                       "aggregation at the path end. Sub-path [%.*s] points to non single-bucket aggregation",
                       (int)(gt - path), path);
            return -1;
        }
        return agg_check_order_path(s, gt + 1, err);
    }
    const agg_spec *s = find_sub(parent, path, strlen(path));
    const char *dot = strrchr(path, '.');
    if (!s && dot) s = find_sub(parent, path, (size_t)(dot - path));
    if (!s) goto invalid;
    if (!s->kind->value && !s->kind->single) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "Buckets can only be sorted on a sub-aggregator path that is built out of zero or more "
                   "single-bucket aggregations within the path and a final single-bucket or a metrics "
                   "aggregation at the path end.");
        return -1;
    }
    return 0;
invalid:
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid aggregator order path [%s]. Unknown aggregation [%s]", path,
               path);
    return -1;
}

/* ======================================================================== */
/* Values                                                                   */

int agg_values(agg_shard *sh, const agg_spec *a, uint64_t doc, agg_vals *out, es_err *err)
{
    agg_exec *e = &sh->ex[a->id];
    if (e->cache_doc == doc) {
        *out = e->cache;
        return (int)out->n;
    }
    memset(out, 0, sizeof *out);
    if (e->constant) {
        out->n = 1;
        out->kind = DV_BYTES;
        out->s = &e->miss_s;
        return 1;
    }
    if (e->dv) {
        dv_values v;
        int rc = dv_read(e->dv, doc, &v, err);
        if (rc < 0) return -1;
        if (rc > 0 && v.n) {
            out->n = v.n;
            out->kind = e->dv_kind;
            out->l = v.l;
            out->d = v.d;
            out->s = v.s;
        }
    }
    if (!out->n && a->missing) {
        out->n = 1;
        out->kind = e->dv_kind;
        switch (e->dv_kind) {
        case DV_LONG:
        case DV_ULONG: out->l = &e->miss_l; break;
        case DV_DOUBLE: out->d = &e->miss_d; break;
        case DV_BYTES: out->s = &e->miss_s; break;
        default: out->n = 0; break;
        }
    }
    e->cache_doc = doc;
    e->cache = *out;
    return (int)out->n;
}

double agg_val_double(const agg_exec *e, const agg_vals *v, size_t i)
{
    switch (v->kind) {
    case DV_LONG:
        if (e->vt == VT_SCALED) return (double)v->l[i] / e->scale;
        if (e->vt == VT_DATE_NANOS) return (double)(v->l[i] / 1000000);
        return (double)v->l[i];
    case DV_ULONG: return (double)(uint64_t)v->l[i];
    case DV_DOUBLE: return v->d[i];
    default: return NAN;
    }
}

static val_type vt_of(const mfield *f)
{
    if (!f) return VT_NONE;
    switch (f->type) {
    case FT_LONG: case FT_INTEGER: case FT_SHORT: case FT_BYTE: return VT_LONG;
    case FT_UNSIGNED_LONG: return VT_ULONG;
    case FT_DOUBLE: case FT_FLOAT: case FT_HALF_FLOAT: return VT_DOUBLE;
    case FT_SCALED_FLOAT: return VT_SCALED;
    case FT_DATE: return VT_DATE;
    case FT_DATE_NANOS: return VT_DATE_NANOS;
    case FT_BOOLEAN: return VT_BOOL;
    case FT_KEYWORD: case FT_CONSTANT_KEYWORD: case FT_WILDCARD: return VT_KEYWORD;
    case FT_IP: return VT_IP;
    case FT_TEXT: case FT_MATCH_ONLY_TEXT: return VT_TEXT;
    default: return VT_OTHER;
    }
}

static int dv_kind_of_vt(val_type vt)
{
    switch (vt) {
    case VT_LONG: case VT_SCALED: case VT_DATE: case VT_DATE_NANOS: case VT_BOOL: return DV_LONG;
    case VT_ULONG: return DV_ULONG;
    case VT_DOUBLE: return DV_DOUBLE;
    case VT_KEYWORD: case VT_IP: return DV_BYTES;
    default: return DV_NONE;
    }
}

/* ======================================================================== */
/* Value-source parsing                                                     */

int agg_parse_vs_member(agg_pctx *c, agg_spec *a, const char *k, const json_val *v, es_err *err)
{
    if (!strcmp(k, "field")) {
        const char *s = json_str(v, NULL);
        if (!s) return agg_err_x(c, err, v, true, "[%s] field doesn't support values of type: %s", a->kind->name,
                                 json_type_of(v) == JSON_OBJECT ? "START_OBJECT" : json_type_of(v) == JSON_ARRAY ? "START_ARRAY" : "VALUE_NUMBER");
        a->field = agg_strdup(c, s);
        return 1;
    }
    if (!strcmp(k, "missing")) {
        if (json_type_of(v) == JSON_OBJECT || json_type_of(v) == JSON_ARRAY)
            return agg_err_x(c, err, v, true, "[%s] missing doesn't support values of type: %s", a->kind->name,
                             json_type_of(v) == JSON_OBJECT ? "START_OBJECT" : "START_ARRAY");
        a->missing = json_is_null(v) ? NULL : v;
        return 1;
    }
    if (!strcmp(k, "format")) {
        const char *s = json_str(v, NULL);
        if (!s) return agg_err_x(c, err, v, true, "[%s] format doesn't support values of type: %s", a->kind->name,
                                 "VALUE_NUMBER");
        a->format = agg_strdup(c, s);
        return 1;
    }
    if (!strcmp(k, "value_type")) return 1; /* accepted; the mapping decides */
    if (!strcmp(k, "script")) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s] scripts are not supported by this node (ferry has no scripting)",
                   a->kind->name);
        return -1;
    }
    return 0;
}

int agg_parse_date(agg_pctx *c, const agg_spec *a, const json_val *v, int64_t *ms, es_err *err)
{
    if (json_is_number(v)) {
        *ms = (int64_t)json_num(v);
        return 0;
    }
    const char *s = json_str(v, NULL);
    if (!s) {
        es_err_set(err, ES_PARSE, "failed to parse date field [%s]", "null");
        return -1;
    }
    const date_format *df = NULL;
    date_format *own = NULL;
    if (a->format) {
        es_err e2 = { 0 };
        own = date_format_compile(a->format, &e2);
        es_err_free(&e2);
        df = own;
    }
    if (!df && a->mf && a->mf->format) df = a->mf->format;
    if (!df) {
        es_err e2 = { 0 };
        own = date_format_compile(DATE_FORMAT_DEFAULT, &e2);
        es_err_free(&e2);
        df = own;
    }
    int rc = date_math_parse(s, strlen(s), df, NULL, c->now_ms, false, ms, err);
    date_format_free(own);
    return rc;
}

int agg_resolve_field(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    a->vt = VT_NONE;
    a->mf = NULL;
    if (a->field && !strcmp(a->field, "_index")) {
        a->vt = VT_KEYWORD;
    } else if (a->field) {
        for (size_t i = 0; i < c->n_views; i++) {
            const mfield *f = c->views[i]->mapping ? mapping_field(c->views[i]->mapping, a->field) : NULL;
            if (f && !field_type_is_object(f->type)) {
                a->mf = f;
                a->vt = vt_of(f);
                break;
            }
        }
    } else if (!a->missing) {
        if (!es_err_isset(err))
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Required one of fields [field, script], but none were specified. ");
        return -1;
    }
    /* format */
    memset(&a->fmt, 0, sizeof a->fmt);
    if (a->vt == VT_DATE || a->vt == VT_DATE_NANOS) {
        const char *spec = a->format ? a->format
                                     : (a->mf && a->mf->format ? date_format_spec(a->mf->format) : DATE_FORMAT_DEFAULT);
        dfmt *f = dfmt_compile(spec, err);
        if (!f) return -1;
        if (c->n_dfmts == c->cap_dfmts) {
            c->cap_dfmts = c->cap_dfmts ? c->cap_dfmts * 2 : 4;
            c->dfmts = xrealloc(c->dfmts, c->cap_dfmts * sizeof *c->dfmts);
        }
        c->dfmts[c->n_dfmts++] = f;
        a->fmt.kind = FMT_DATE;
        a->fmt.date = f;
    } else if (a->vt == VT_BOOL) {
        a->fmt.kind = FMT_BOOL;
    } else if (a->vt == VT_IP) {
        a->fmt.kind = FMT_IP;
    } else if (a->format && (a->vt == VT_LONG || a->vt == VT_ULONG || a->vt == VT_DOUBLE || a->vt == VT_SCALED)) {
        a->fmt.kind = FMT_DECIMAL;
        a->fmt.decimal = a->format;
    }
    return 0;
}

/* The shard-level checks of a value source (Elasticsearch fails the shard). */
static int check_field_shard(agg_shard *sh, const agg_spec *a, const mfield *f, es_err *err)
{
    val_type vt = vt_of(f);
    if (vt == VT_TEXT) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "Text fields are not optimised for operations that require per-document field data like "
                   "aggregations and sorting, so these operations are disabled by default. Please use a keyword "
                   "field instead. Alternatively, set fielddata=true on [%s] in order to load field data by "
                   "uninverting the inverted index. Note that this can use significant memory.",
                   a->field);
        return -1;
    }
    if (f && !f->doc_values && vt != VT_OTHER && vt != VT_NONE) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "Can't load fielddata on [%s] because fielddata is unsupported on fields of type [%s]. Use a "
                   "field with doc values instead.",
                   a->field, field_type_name(f->type));
        return -1;
    }
    if (vt == VT_OTHER) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Field [%s] of type [%s] is not supported for aggregation [%s]", a->field,
                   field_type_name(f->type), a->kind->name);
        return -1;
    }
    if ((a->kind->flags & AK_NUMERIC) && (vt == VT_KEYWORD || vt == VT_IP)) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Field [%s] of type [%s] is not supported for aggregation [%s]", a->field,
                   field_type_name(f->type), a->kind->name);
        return -1;
    }
    return 0;
}

/* Sets the exec's "missing" value in the shard's value kind. */
static int set_missing(agg_shard *sh, const agg_spec *a, agg_exec *e, es_err *err)
{
    const json_val *m = a->missing;
    if (!m) return 0;
    if (e->dv_kind == DV_NONE) {
        /* unmapped here: infer the kind from the value */
        if (json_type_of(m) == JSON_STRING) {
            e->dv_kind = DV_BYTES;
            e->vt = VT_KEYWORD;
        } else if (json_type_of(m) == JSON_BOOL) {
            e->dv_kind = DV_LONG;
            e->vt = VT_BOOL;
        } else if (json_type_of(m) == JSON_INT) {
            e->dv_kind = DV_LONG;
            e->vt = VT_LONG;
        } else {
            e->dv_kind = DV_DOUBLE;
            e->vt = VT_DOUBLE;
        }
    }
    size_t n;
    switch (e->dv_kind) {
    case DV_BYTES:
        if (e->vt == VT_IP) {
            const char *s = json_str(m, &n);
            if (!s || !ip_parse(s, n, e->miss_ip, NULL)) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "'%s' is not an IP string literal.", s ? s : "");
                return -1;
            }
            e->miss_s.p = (const char *)e->miss_ip;
            e->miss_s.len = 16;
        } else if (json_type_of(m) == JSON_STRING) {
            e->miss_s.p = json_str(m, &e->miss_s.len);
        } else {
            /* numbers and booleans as their text */
            if (json_type_of(m) == JSON_BOOL) e->miss_own = xstrdup(json_bool(m) ? "true" : "false");
            else if (json_type_of(m) == JSON_INT) e->miss_own = xasprintf("%lld", (long long)json_int(m));
            else {
                buf b = { 0 };
                agg_put_double(&b, json_num(m));
                e->miss_own = buf_detach(&b, NULL);
            }
            e->miss_s.p = e->miss_own;
            e->miss_s.len = strlen(e->miss_own);
        }
        break;
    case DV_LONG:
    case DV_ULONG:
        if (e->vt == VT_DATE || e->vt == VT_DATE_NANOS) {
            int64_t ms;
            if (json_is_number(m)) {
                ms = json_int(m);
            } else {
                const char *s = json_str(m, &n);
                date_format *df = NULL;
                const date_format *use = a->mf && a->mf->format ? a->mf->format : NULL;
                if (!use) {
                    es_err e2 = { 0 };
                    df = date_format_compile(DATE_FORMAT_DEFAULT, &e2);
                    es_err_free(&e2);
                    use = df;
                }
                bool ok = s && date_format_parse_millis(use, s, n, &ms);
                date_format_free(df);
                if (!ok) {
                    es_err_set(err, ES_PARSE, "failed to parse date field [%s] with format [%s]", s ? s : "",
                               use ? date_format_spec(use) : DATE_FORMAT_DEFAULT);
                    return -1;
                }
            }
            e->miss_l = e->vt == VT_DATE_NANOS ? ms * 1000000 : ms;
        } else if (e->vt == VT_BOOL) {
            const char *s = json_str(m, NULL);
            if (json_type_of(m) == JSON_BOOL) e->miss_l = json_bool(m);
            else if (s && !strcmp(s, "true")) e->miss_l = 1;
            else if (s && (!strcmp(s, "false") || !*s)) e->miss_l = 0;
            else if (json_is_number(m)) e->miss_l = json_num(m) != 0;
            else {
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "Failed to parse value [%s] as only [true] or [false] are allowed.", s ? s : "");
                return -1;
            }
        } else {
            double d;
            if (!agg_json_double(m, &d)) {
                const char *s = json_str(m, NULL);
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", s ? s : "");
                err->type_name = "number_format_exception";
                return -1;
            }
            e->miss_l = e->vt == VT_SCALED ? (int64_t)llround(d * e->scale) : (int64_t)d;
        }
        break;
    case DV_DOUBLE: {
        double d;
        if (!agg_json_double(m, &d)) {
            const char *s = json_str(m, NULL);
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", s ? s : "");
            err->type_name = "number_format_exception";
            return -1;
        }
        e->miss_d = d;
        break;
    }
    default: break;
    }
    return 0;
}

/* ======================================================================== */
/* Parsing the tree                                                         */

static bool bad_name(const char *s)
{
    return strpbrk(s, "[]>") != NULL;
}

static int parse_aggs(agg_pctx *c, const json_val *v, agg_spec *parent, es_err *err);

static int parse_one(agg_pctx *c, const char *name, const json_val *def, agg_spec *parent, agg_spec **out,
                     es_err *err)
{
    if (json_type_of(def) != JSON_OBJECT)
        return agg_err_parsing(c, err, def, false,
                               "Expected [START_OBJECT] under [%s], but got a [%s] in [%s]", name,
                               json_type_of(def) == JSON_ARRAY ? "START_ARRAY" : "VALUE_STRING", name);
    agg_spec *a = arena_alloc(c->mem, sizeof *a);
    memset(a, 0, sizeof *a);
    a->name = agg_strdup(c, name);
    const json_val *body = NULL, *subs = NULL, *sub_at = NULL, *kind_at = NULL;
    const agg_kind *kind = NULL;
    const char *kind_name = NULL;
    json_iter it = json_iter_begin(def);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        if (!strcmp(k, "meta")) {
            if (json_type_of(v) != JSON_OBJECT)
                return agg_err_parsing(c, err, v, false,
                                       "Expected [START_OBJECT] under [meta], but got a [%s] in [%s]",
                                       json_type_of(v) == JSON_ARRAY ? "START_ARRAY" : "VALUE_STRING", name);
            a->meta = v;
            continue;
        }
        if (!strcmp(k, "aggs") || !strcmp(k, "aggregations")) {
            if (subs)
                return agg_err_parsing(c, err, v, true, "Found two sub aggregation definitions under [%s]", name);
            if (json_type_of(v) != JSON_OBJECT)
                return agg_err_parsing(c, err, v, false,
                                       "Expected [START_OBJECT] under [%s], but got a [%s] in [%s]", k,
                                       json_type_of(v) == JSON_ARRAY ? "START_ARRAY" : "VALUE_STRING", name);
            subs = v;
            sub_at = v;
            continue;
        }
        if (json_type_of(v) != JSON_OBJECT)
            return agg_err_parsing(c, err, v, false,
                                   "Expected [START_OBJECT] under [%s], but got a [%s] in [%s]", k,
                                   json_type_of(v) == JSON_ARRAY ? "START_ARRAY"
                                   : json_type_of(v) == JSON_STRING ? "VALUE_STRING"
                                   : json_type_of(v) == JSON_BOOL   ? "VALUE_BOOLEAN"
                                   : json_type_of(v) == JSON_NULL   ? "VALUE_NULL"
                                                                    : "VALUE_NUMBER",
                                   name);
        if (kind_name)
            return agg_err_parsing(c, err, v, true, "Found two aggregation type definitions in [%s]: [%s] and [%s]",
                                   name, kind_name, k);
        kind_name = k;
        kind_at = v;
        kind = find_kind(k, kn);
        if (!kind) {
            buf b = { 0 };
            buf_printf(&b, "Unknown aggregation type [%s]", k);
            suggest(&b, k, es_agg_names, ARRAY_LEN(es_agg_names));
            agg_err_parsing(c, err, v, true, "%s", b.p);
            buf_free(&b);
            es_err *cause = xcalloc(1, sizeof *cause);
            uint32_t l, col;
            pos_of(c, v, true, &l, &col);
            if (es_knows(k))
                es_err_set(cause, ES_ILLEGAL_ARGUMENT, "[%u:%u] aggregation [%s] is not supported by this node", l,
                           col, k);
            else
                es_err_set(cause, ES_ILLEGAL_ARGUMENT, "[%u:%u] unknown field [%s]", l, col, k);
            cause->type_name = "named_object_not_found_exception";
            es_err_cause(err, cause);
            return -1;
        }
        body = v;
    }
    if (!kind) return agg_err_parsing(c, err, def, false, "Missing definition for aggregation [%s]", name);
    (void)kind_at;
    a->kind = kind;
    a->id = c->next_id++;
    if (kind->parse(c, a, body, err) < 0) return -1;
    if (subs) {
        if (!(kind->flags & AK_BUCKET)) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Aggregator [%s] of type [%s] cannot accept sub-aggregations", name,
                       kind->name);
            err->type_name = "aggregation_initialization_exception";
            err->status = 500;
            (void)sub_at;
            return -1;
        }
        if (++c->depth > 100) return agg_err_parsing(c, err, subs, false, "aggregations nested too deeply");
        if (parse_aggs(c, subs, a, err) < 0) return -1;
        c->depth--;
    }
    if (kind->validate && kind->validate(c, a, err) < 0) return -1;
    (void)parent;
    *out = a;
    return 0;
}

static int parse_aggs(agg_pctx *c, const json_val *v, agg_spec *parent, es_err *err)
{
    size_t n = json_len(v);
    parent->subs = arena_alloc(c->mem, (n + 1) * sizeof *parent->subs);
    parent->n_subs = 0;
    json_iter it = json_iter_begin(v);
    const json_val *def;
    const char *k;
    size_t kn;
    while ((def = json_iter_next(&it, &k, &kn))) {
        if (bad_name(k))
            return agg_err_parsing(c, err, def, true,
                                   "Invalid aggregation name [%s]. Aggregation names can contain any character except "
                                   "'[', ']', and '>'",
                                   k);
        for (size_t i = 0; i < parent->n_subs; i++)
            if (!strcmp(parent->subs[i]->name, k)) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Two sibling aggregations cannot have the same name: [%s]", k);
                return -1;
            }
        agg_spec *a = NULL;
        if (parse_one(c, k, def, parent, &a, err) < 0) return -1;
        parent->subs[parent->n_subs++] = a;
    }
    return 0;
}

struct agg_owned {
    void *p;
    void (*fn)(void *);
};

void agg_pctx_own(agg_pctx *c, void *p, void (*fn)(void *))
{
    if (c->n_owned == c->cap_owned) {
        c->cap_owned = c->cap_owned ? c->cap_owned * 2 : 4;
        c->owned = xrealloc(c->owned, c->cap_owned * sizeof *c->owned);
    }
    c->owned[c->n_owned++] = (struct agg_owned){ p, fn };
}

struct agg_tree {
    agg_spec root;
    dfmt **dfmts;
    size_t n_dfmts;
    struct agg_owned *owned;
    size_t n_owned;
    uint32_t n_specs;
};

int agg_tree_parse(arena *mem, const json_doc *doc, const json_val *aggs, index_view **views, size_t n_views,
                   int64_t now_ms, agg_tree **out, es_err *err)
{
    *out = NULL;
    if (!aggs) return 0;
    agg_pctx c = { 0 };
    c.mem = mem;
    c.doc = doc;
    c.views = views;
    c.n_views = n_views;
    c.now_ms = now_ms;
    query_parse_ctx qc = { 0 };
    qc.mem = mem;
    qc.doc = doc;
    qc.views = views;
    qc.n_views = n_views;
    qc.now_ms = now_ms;
    c.qctx = &qc;
    if (json_type_of(aggs) != JSON_OBJECT) {
        agg_err_parsing(&c, err, aggs, false, "Unexpected token %s in [aggs].",
                        json_type_of(aggs) == JSON_ARRAY ? "START_ARRAY" : "VALUE_STRING");
        return -1;
    }
    agg_tree *t = xcalloc(1, sizeof *t);
    t->root.name = "";
    int rc = parse_aggs(&c, aggs, &t->root, err);
    t->dfmts = c.dfmts;
    t->n_dfmts = c.n_dfmts;
    t->owned = c.owned;
    t->n_owned = c.n_owned;
    t->n_specs = c.next_id;
    if (rc < 0) {
        agg_tree_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

void agg_tree_free(agg_tree *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_dfmts; i++) dfmt_free(t->dfmts[i]);
    free(t->dfmts);
    for (size_t i = 0; i < t->n_owned; i++) t->owned[i].fn(t->owned[i].p);
    free(t->owned);
    free(t);
}

/* ======================================================================== */
/* The run: a collector over the shards                                     */

struct agg_run {
    search_collector base;
    const agg_tree *t;
    bool typed_keys;
    agg_bucket total;       /* merged states of the top-level aggregations */
    /* current shard */
    agg_shard sh;
    agg_bucket cur;
    bool in_shard;
};

static void exec_close(agg_run *r, const agg_spec *a)
{
    agg_exec *e = &r->sh.ex[a->id];
    if (a->kind->close) a->kind->close(a, e);
    dv_close(e->dv);
    free(e->miss_own);
    memset(e, 0, sizeof *e);
    for (size_t i = 0; i < a->n_subs; i++) exec_close(r, a->subs[i]);
}

static void exec_close_all(agg_run *r)
{
    if (!r->sh.ex) return;
    for (size_t i = 0; i < r->t->root.n_subs; i++) exec_close(r, r->t->root.subs[i]);
    free(r->sh.ex);
    r->sh.ex = NULL;
}

static int open_spec(agg_run *r, const agg_spec *a, es_err *err)
{
    agg_exec *e = &r->sh.ex[a->id];
    if ((a->kind->flags & AK_FIELD) && a->field && !strcmp(a->field, "_index")) {
        /* the metadata field _index: one keyword value per shard, the index's name */
        if (a->kind->flags & AK_NUMERIC) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Field [_index] of type [_index] is not supported for aggregation [%s]",
                       a->kind->name);
            return -1;
        }
        e->vt = VT_KEYWORD;
        e->dv_kind = DV_BYTES;
        e->constant = true;
        e->miss_s = strv_c(shard_searcher_view(r->sh.s)->name);
    } else if (a->kind->flags & AK_FIELD) {
        const mfield *f = a->field ? mapping_field(shard_searcher_view(r->sh.s)->mapping, a->field) : NULL;
        if (f && field_type_is_object(f->type)) f = NULL;
        if (f && check_field_shard(&r->sh, a, f, err) < 0) return -1;
        e->vt = f ? vt_of(f) : a->vt;
        e->scale = f && f->type == FT_SCALED_FLOAT && f->scaling_factor > 0 ? f->scaling_factor : 1.0;
        e->dv = f ? dv_open(r->sh.s, a->field) : NULL;
        e->dv_kind = f ? dv_kind_of_vt(e->vt) : (a->vt != VT_NONE ? dv_kind_of_vt(a->vt) : DV_NONE);
        if (e->dv) e->dv_kind = dv_reader_kind(e->dv);
        if (set_missing(&r->sh, a, e, err) < 0) return -1;
    }
    if (a->kind->open && a->kind->open(&r->sh, a, e, err) < 0) return -1;
    for (size_t i = 0; i < a->n_subs; i++)
        if (open_spec(r, a->subs[i], err) < 0) return -1;
    return 0;
}

static int run_begin(search_collector *c, shard_searcher *s, uint32_t shard_index, es_err *err)
{
    agg_run *r = c->ctx;
    r->sh.s = s;
    r->sh.shard_index = shard_index;
    r->sh.ex = xcalloc(r->t->n_specs ? r->t->n_specs : 1, sizeof *r->sh.ex);
    memset(&r->cur, 0, sizeof r->cur);
    r->in_shard = true;
    const agg_spec *root = &r->t->root;
    for (size_t i = 0; i < root->n_subs; i++)
        if (open_spec(r, root->subs[i], err) < 0) goto fail;
    for (size_t i = 0; i < root->n_subs; i++)
        if (root->subs[i]->kind == &agg_kind_global &&
            agg_global_collect_all(&r->sh, root->subs[i], agg_bucket_sub(root, &r->cur, i), err) < 0)
            goto fail;
    return 0;
fail:
    exec_close_all(r);
    agg_bucket_free(root, &r->cur);
    r->in_shard = false;
    return -1;
}

static int run_collect(search_collector *c, uint64_t doc, float score, es_err *err)
{
    agg_run *r = c->ctx;
    const agg_spec *root = &r->t->root;
    for (size_t i = 0; i < root->n_subs; i++) {
        const agg_spec *a = root->subs[i];
        if (a->kind->collect(&r->sh, a, agg_bucket_sub(root, &r->cur, i), doc, err) < 0) return -1;
    }
    return 0;
}

static int run_end(search_collector *c, shard_searcher *s, es_err *err)
{
    agg_run *r = c->ctx;
    if (!r->in_shard) return 0;
    /* a shard that failed (err NULL) contributes nothing */
    if (err) agg_bucket_merge(&r->t->root, &r->total, &r->cur);
    agg_bucket_free(&r->t->root, &r->cur);
    exec_close_all(r);
    r->in_shard = false;
    return 0;
}

agg_run *agg_run_new(const agg_tree *t, bool typed_keys)
{
    agg_run *r = xcalloc(1, sizeof *r);
    r->t = t;
    r->typed_keys = typed_keys;
    r->base.needs_scores = false;
    r->base.begin_shard = run_begin;
    r->base.collect = run_collect;
    r->base.end_shard = run_end;
    r->base.ctx = r;
    return r;
}

search_collector *agg_run_collector(agg_run *r) { return &r->base; }

void agg_run_free(agg_run *r)
{
    if (!r) return;
    if (r->in_shard) {
        agg_bucket_free(&r->t->root, &r->cur);
        exec_close_all(r);
    }
    agg_bucket_free(&r->t->root, &r->total);
    free(r);
}

/* ======================================================================== */
/* Writing                                                                  */

static void write_agg(const agg_spec *a, void *st, bool typed, json_w *w)
{
    if (typed) {
        const char *tn = a->kind->typed_name ? a->kind->typed_name(a) : a->kind->name;
        char *k = xasprintf("%s#%s", tn, a->name);
        jw_key(w, k);
        free(k);
    } else {
        jw_key(w, a->name);
    }
    jw_obj_begin(w);
    if (a->meta) {
        jw_key(w, "meta");
        jw_val(w, a->meta);
    }
    a->kind->write(a, st, w);
    jw_obj_end(w);
}

void agg_run_write(json_w *w, void *ctx)
{
    agg_run *r = ctx;
    bool saved = write_typed;
    write_typed = r->typed_keys;
    jw_key(w, "aggregations");
    jw_obj_begin(w);
    agg_bucket_write_subs(&r->t->root, &r->total, w);
    jw_obj_end(w);
    write_typed = saved;
}

/* ======================================================================== */
/* Orders                                                                   */

int agg_parse_order(agg_pctx *c, agg_spec *a, const json_val *v, bool histogram, agg_order **out, size_t *n,
                    es_err *err)
{
    size_t cnt = json_type_of(v) == JSON_ARRAY ? json_len(v) : 1;
    agg_order *o = arena_alloc(c->mem, (cnt + 1) * sizeof *o);
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        const json_val *e = json_type_of(v) == JSON_ARRAY ? json_arr_get(v, i) : v;
        if (json_type_of(e) != JSON_OBJECT || json_len(e) != 1)
            return agg_err_parsing(c, err, e, false, "Unexpected token %s for [order]",
                                   json_type_of(e) == JSON_ARRAY ? "START_ARRAY" : json_type_of(e) == JSON_OBJECT ? "END_OBJECT" : "VALUE_STRING");
        json_iter it = json_iter_begin(e);
        const char *key;
        size_t kn;
        const json_val *dir = json_iter_next(&it, &key, &kn);
        const char *d = json_str(dir, NULL);
        if (!d || (strcasecmp(d, "asc") && strcasecmp(d, "desc")))
            return agg_err_parsing(c, err, dir, false, "Unknown order direction [%s]", d ? d : "");
        o[k].asc = !strcasecmp(d, "asc");
        o[k].path = NULL;
        if (!strcmp(key, "_count")) o[k].kind = ORD_COUNT;
        else if (!strcmp(key, "_key") || (!histogram && !strcmp(key, "_term")) || (histogram && !strcmp(key, "_time")))
            o[k].kind = ORD_KEY;
        else {
            o[k].kind = ORD_PATH;
            o[k].path = agg_strdup(c, key);
        }
        k++;
    }
    *out = o;
    *n = k;
    return 0;
}

/* ======================================================================== */
/* The engine behind search_aggs_ops (plain _search requests)               */

static __thread const json_doc *tl_doc;
static __thread bool tl_typed;

void agg_request_context(const json_doc *doc, bool typed_keys)
{
    tl_doc = doc;
    tl_typed = typed_keys;
}

struct search_aggs {
    agg_tree *tree;
    agg_run *run;
};

static search_aggs *engine_create(const search_request *req, shard_searcher **shards, size_t n, es_err *err)
{
    /* the views of the shards, each once */
    index_view **views = xcalloc(n + 1, sizeof *views);
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        index_view *v = shard_searcher_view(shards[i]);
        bool seen = false;
        for (size_t j = 0; j < nv && !seen; j++) seen = views[j] == v;
        if (!seen) views[nv++] = v;
    }
    /* the document only when it is this request's */
    const json_doc *doc = tl_doc && req->body && json_doc_root(tl_doc) == req->body ? tl_doc : NULL;
    bool typed = doc ? tl_typed : false;
    tl_doc = NULL;
    agg_tree *t = NULL;
    int rc = agg_tree_parse(req->mem, doc, req->aggs, views, nv, req->now_ms, &t, err);
    free(views);
    if (rc < 0) return NULL;
    search_aggs *a = xcalloc(1, sizeof *a);
    a->tree = t;
    a->run = agg_run_new(t, typed);
    return a;
}

static search_collector *engine_collector(search_aggs *a) { return agg_run_collector(a->run); }
static void engine_write(search_aggs *a, json_w *w) { agg_run_write(w, a->run); }

static void engine_free(search_aggs *a)
{
    if (!a) return;
    agg_run_free(a->run);
    agg_tree_free(a->tree);
    free(a);
}

static const search_aggs_ops engine_ops = { engine_create, engine_collector, engine_write, engine_free };

void agg_register_engine(void) { search_register_aggs(&engine_ops); }
