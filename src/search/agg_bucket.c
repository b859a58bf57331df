/*
 * agg_bucket.c — bucket aggregations: terms, range, filter, filters,
 * missing and global.
 *
 * terms counts exactly: every shard keeps all of its terms (no shard_size
 * cut) and the merge adds them up, so doc_count_error_upper_bound is always
 * 0 and sum_other_doc_count is exact (Elasticsearch's numbers equal these on
 * a one-shard index; on several shards ES may approximate, ferry does not).
 */
#include "search/agg_int.h"

#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ======================================================================== */
/* terms                                                                    */

/* Key tags (first byte of a key): the value type decides how it prints and sorts. */
enum { TK_STR = 'S', TK_IP = 'I', TK_LONG = 'L', TK_DATE = 'T', TK_BOOL = 'B', TK_ULONG = 'U', TK_DOUBLE = 'D' };

typedef struct terms_params {
    int64_t size;
    int64_t min_doc_count;
    agg_order *order;
    size_t n_order;
    bool show_error;
    /* include / exclude */
    bool has_inc_re, has_exc_re;
    regex_t inc_re, exc_re;
    kmap inc_set, exc_set;      /* exact values as text */
    bool has_inc_set, has_exc_set;
    int64_t partition, num_partitions;  /* num_partitions > 0: partitioned include */
    /* min_doc_count 0: every term of the field seen in any shard */
    kmap zero;
} terms_params;

typedef struct terms_state {
    kmap keys;
    agg_bucket *b;
    uint8_t *skip;              /* per key: excluded by include/exclude */
    size_t cap;
} terms_state;

static void terms_params_free(void *p)
{
    terms_params *t = p;
    if (t->has_inc_re) regfree(&t->inc_re);
    if (t->has_exc_re) regfree(&t->exc_re);
    kmap_free(&t->inc_set);
    kmap_free(&t->exc_set);
    kmap_free(&t->zero);
}

static void *terms_new(const agg_spec *a) { return xcalloc(1, sizeof(terms_state)); }

static void terms_free(const agg_spec *a, void *st)
{
    terms_state *t = st;
    for (size_t i = 0; i < t->keys.n; i++) agg_bucket_free(a, &t->b[i]);
    free(t->b);
    free(t->skip);
    kmap_free(&t->keys);
    free(t);
}

static void key_text(const uint8_t *k, size_t len, buf *out)
{
    switch (k[0]) {
    case TK_STR: buf_append(out, k + 1, len - 1); break;
    case TK_IP: agg_key_text(VT_IP, k + 1, len - 1, out); break;
    case TK_BOOL: {
        int64_t v;
        memcpy(&v, k + 1, 8);
        buf_puts(out, v ? "true" : "false");
        break;
    }
    case TK_DOUBLE: {
        double d;
        memcpy(&d, k + 1, 8);
        agg_put_double(out, d);
        break;
    }
    case TK_ULONG: {
        uint64_t v;
        memcpy(&v, k + 1, 8);
        buf_printf(out, "%llu", (unsigned long long)v);
        break;
    }
    default: {
        int64_t v;
        memcpy(&v, k + 1, 8);
        buf_printf(out, "%lld", (long long)v);
        break;
    }
    }
}

/* Whether include/exclude lets a key through. */
static bool key_allowed(const terms_params *p, const uint8_t *k, size_t len)
{
    if (!p->has_inc_re && !p->has_exc_re && !p->has_inc_set && !p->has_exc_set && p->num_partitions <= 0)
        return true;
    buf t = { 0 };
    key_text(k, len, &t);
    const char *s = t.p ? t.p : "";
    bool ok = true;
    if (p->num_partitions > 0) {
        uint32_t h = store_murmur3_32(s, t.len, 31);
        int64_t part = (int64_t)((int32_t)h) % p->num_partitions;
        if (part < 0) part += p->num_partitions;
        ok = part == p->partition;
    }
    if (ok && p->has_inc_re) ok = regexec(&p->inc_re, s, 0, NULL, 0) == 0;
    if (ok && p->has_inc_set) ok = kmap_get(&p->inc_set, s, t.len) >= 0;
    if (ok && p->has_exc_re) ok = regexec(&p->exc_re, s, 0, NULL, 0) != 0;
    if (ok && p->has_exc_set) ok = kmap_get(&p->exc_set, s, t.len) < 0;
    buf_free(&t);
    return ok;
}

static size_t terms_slot(const agg_spec *a, terms_state *t, const uint8_t *k, size_t len)
{
    bool added;
    size_t i = kmap_put(&t->keys, k, len, &added);
    if (added) {
        if (i >= t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 16;
            t->b = xrealloc(t->b, nc * sizeof *t->b);
            t->skip = xrealloc(t->skip, nc);
            t->cap = nc;
        }
        memset(&t->b[i], 0, sizeof t->b[i]);
        t->skip[i] = !key_allowed(a->p, k, len);
    }
    return i;
}

/* The key of value i of v (tag + payload) into k; returns its length. */
static size_t make_key(const agg_exec *e, const agg_vals *v, size_t i, uint8_t *k, const uint8_t **big)
{
    *big = NULL;
    switch (v->kind) {
    case DV_BYTES:
        return 0; /* handled by the caller (variable length) */
    case DV_DOUBLE: {
        double d = v->d[i];
        if (d == 0) d = 0;
        k[0] = TK_DOUBLE;
        memcpy(k + 1, &d, 8);
        return 9;
    }
    case DV_ULONG:
        k[0] = TK_ULONG;
        memcpy(k + 1, &v->l[i], 8);
        return 9;
    default: {
        int64_t x = v->l[i];
        if (e->vt == VT_SCALED) {
            double d = (double)x / e->scale;
            if (d == 0) d = 0;
            k[0] = TK_DOUBLE;
            memcpy(k + 1, &d, 8);
            return 9;
        }
        k[0] = e->vt == VT_BOOL ? TK_BOOL : (e->vt == VT_DATE || e->vt == VT_DATE_NANOS) ? TK_DATE : TK_LONG;
        if (e->vt == VT_DATE_NANOS) x /= 1000000;
        memcpy(k + 1, &x, 8);
        return 9;
    }
    }
}

static int terms_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    terms_state *t = st;
    agg_vals v;
    int n = agg_values(sh, a, doc, &v, err);
    if (n <= 0) return n;
    const agg_exec *e = &sh->ex[a->id];
    if (v.kind == DV_BYTES) {
        uint8_t small[256];
        for (int i = 0; i < n; i++) {
            size_t len = v.s[i].len + 1;
            uint8_t *k = len <= sizeof small ? small : xmalloc(len);
            k[0] = e->vt == VT_IP ? TK_IP : TK_STR;
            memcpy(k + 1, v.s[i].p, v.s[i].len);
            size_t idx = terms_slot(a, t, k, len);
            if (k != small) free(k);
            if (t->skip[idx]) continue;
            if (agg_bucket_collect(sh, a, &t->b[idx], doc, err) < 0) return -1;
        }
        return 0;
    }
    uint8_t prev[9];
    size_t prev_len = 0;
    for (int i = 0; i < n; i++) {
        uint8_t k[9];
        const uint8_t *big;
        size_t len = make_key(e, &v, (size_t)i, k, &big);
        /* a document counts once per distinct value */
        if (prev_len == len && !memcmp(prev, k, len)) continue;
        memcpy(prev, k, len);
        prev_len = len;
        size_t idx = terms_slot(a, t, k, len);
        if (t->skip[idx]) continue;
        if (agg_bucket_collect(sh, a, &t->b[idx], doc, err) < 0) return -1;
    }
    return 0;
}

static void terms_merge(const agg_spec *a, void *dst, void *src)
{
    terms_state *d = dst, *s = src;
    for (size_t i = 0; i < s->keys.n; i++) {
        size_t len;
        const uint8_t *k = kmap_key(&s->keys, i, &len);
        size_t j = terms_slot(a, d, k, len);
        agg_bucket_merge(a, &d->b[j], &s->b[i]);
    }
    terms_free(a, s);
}

/* Per shard: with min_doc_count 0, remember every term of the field. */
typedef struct zero_visit {
    kmap *zero;
    val_type vt;
    double scale;
} zero_visit;

static int zero_fn(void *ctx, const void *term, size_t len, const term_stats *ts, es_err *err)
{
    zero_visit *z = ctx;
    uint8_t k[INDEX_KEY_MAX + 2];
    size_t kl;
    switch (z->vt) {
    case VT_KEYWORD:
        if (len + 1 > sizeof k) return 0;
        k[0] = TK_STR;
        memcpy(k + 1, term, len);
        kl = len + 1;
        break;
    case VT_IP:
        if (len != 16) return 0;
        k[0] = TK_IP;
        memcpy(k + 1, term, 16);
        kl = 17;
        break;
    case VT_BOOL: {
        if (len != 1) return 0;
        int64_t x = ((const char *)term)[0] == 'T';
        k[0] = TK_BOOL;
        memcpy(k + 1, &x, 8);
        kl = 9;
        break;
    }
    case VT_LONG: case VT_DATE: case VT_DATE_NANOS: {
        if (len != 8) return 0;
        int64_t x = index_term_long_decode(term);
        if (z->vt == VT_DATE_NANOS) x /= 1000000;
        k[0] = z->vt == VT_LONG ? TK_LONG : TK_DATE;
        memcpy(k + 1, &x, 8);
        kl = 9;
        break;
    }
    case VT_SCALED: {
        if (len != 8) return 0;
        double d = (double)index_term_long_decode(term) / z->scale;
        k[0] = TK_DOUBLE;
        memcpy(k + 1, &d, 8);
        kl = 9;
        break;
    }
    case VT_DOUBLE: {
        if (len != 8) return 0;
        double d = index_term_double_decode(term);
        if (d == 0) d = 0;
        k[0] = TK_DOUBLE;
        memcpy(k + 1, &d, 8);
        kl = 9;
        break;
    }
    case VT_ULONG: {
        if (len != 8) return 0;
        uint64_t x = 0;
        for (int i = 0; i < 8; i++) x = x << 8 | ((const uint8_t *)term)[i];
        k[0] = TK_ULONG;
        memcpy(k + 1, &x, 8);
        kl = 9;
        break;
    }
    default: return 1;
    }
    kmap_put(z->zero, k, kl, NULL);
    return 0;
}

static int terms_open(agg_shard *sh, const agg_spec *a, agg_exec *e, es_err *err)
{
    terms_params *p = a->p;
    if (p->min_doc_count != 0 || !e->dv) return 0;
    zero_visit z = { &p->zero, e->vt, e->scale };
    return shard_terms_visit(sh->s, a->field, NULL, 0, false, NULL, 0, false, NULL, 0, zero_fn, &z, err) < 0 ? -1 : 0;
}

/* Sorting */
typedef struct tsort {
    const agg_spec *a;
    terms_state *t;
} tsort;
static __thread tsort *tsort_ctx;

static int key_cmp(const uint8_t *x, size_t xl, const uint8_t *y, size_t yl)
{
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    switch (x[0]) {
    case TK_STR:
    case TK_IP: {
        size_t n = xl < yl ? xl : yl;
        int c = memcmp(x + 1, y + 1, n - 1);
        if (c) return c;
        return (xl > yl) - (xl < yl);
    }
    case TK_DOUBLE: {
        double a, b;
        memcpy(&a, x + 1, 8);
        memcpy(&b, y + 1, 8);
        return (a > b) - (a < b);
    }
    case TK_ULONG: {
        uint64_t a, b;
        memcpy(&a, x + 1, 8);
        memcpy(&b, y + 1, 8);
        return (a > b) - (a < b);
    }
    default: {
        int64_t a, b;
        memcpy(&a, x + 1, 8);
        memcpy(&b, y + 1, 8);
        return (a > b) - (a < b);
    }
    }
}

static int path_cmp(const agg_spec *a, const agg_bucket *x, const agg_bucket *y, const char *path)
{
    double u = NAN, v = NAN;
    agg_bucket_path_value(a, x, path, &u);
    agg_bucket_path_value(a, y, path, &v);
    /* NaN (no value) sorts last either way, as Elasticsearch's compareKey */
    if (isnan(u) || isnan(v)) return isnan(u) && isnan(v) ? 0 : isnan(u) ? 2 : -2;
    return (u > v) - (u < v);
}

static int bucket_order_cmp(const agg_spec *a, const agg_order *o, size_t n, const uint8_t *kx, size_t lx,
                            const agg_bucket *bx, const uint8_t *ky, size_t ly, const agg_bucket *by)
{
    bool key_seen = false;
    for (size_t i = 0; i < n; i++) {
        int c;
        switch (o[i].kind) {
        case ORD_COUNT: c = (bx->doc_count > by->doc_count) - (bx->doc_count < by->doc_count); break;
        case ORD_KEY: c = key_cmp(kx, lx, ky, ly); key_seen = true; break;
        default:
            c = path_cmp(a, bx, by, o[i].path);
            if (c == 2 || c == -2) return c / 2;
            break;
        }
        if (c) return o[i].asc ? c : -c;
    }
    if (!key_seen) return key_cmp(kx, lx, ky, ly);
    return 0;
}

static int terms_cmp(const void *pa, const void *pb)
{
    size_t i = *(const size_t *)pa, j = *(const size_t *)pb;
    const terms_params *p = tsort_ctx->a->p;
    size_t li, lj;
    const uint8_t *ki = kmap_key(&tsort_ctx->t->keys, i, &li), *kj = kmap_key(&tsort_ctx->t->keys, j, &lj);
    return bucket_order_cmp(tsort_ctx->a, p->order, p->n_order, ki, li, &tsort_ctx->t->b[i], kj, lj,
                            &tsort_ctx->t->b[j]);
}

static const char *terms_typed(const agg_spec *a)
{
    switch (a->vt) {
    case VT_NONE: return a->missing ? (json_type_of(a->missing) == JSON_STRING ? "sterms" : "lterms") : "umterms";
    case VT_KEYWORD: case VT_IP: return "sterms";
    case VT_DOUBLE: case VT_SCALED: return "dterms";
    case VT_ULONG: return "ulterms";
    default: return "lterms";
    }
}

static void write_key(const agg_spec *a, const uint8_t *k, size_t len, json_w *w)
{
    buf t = { 0 };
    switch (k[0]) {
    case TK_STR:
        jw_key(w, "key");
        jw_strn(w, (const char *)k + 1, len - 1);
        break;
    case TK_IP:
        key_text(k, len, &t);
        jw_kstr(w, "key", t.p);
        break;
    case TK_DOUBLE: {
        double d;
        memcpy(&d, k + 1, 8);
        jw_key(w, "key");
        jw_double(w, d);
        if (a->fmt.kind == FMT_DATE) {
            agg_format_double(&a->fmt, d, &t);
            jw_kstr(w, "key_as_string", t.p);
        }
        break;
    }
    case TK_ULONG: {
        uint64_t v;
        memcpy(&v, k + 1, 8);
        jw_key(w, "key");
        jw_uint(w, v);
        break;
    }
    default: {
        int64_t v;
        memcpy(&v, k + 1, 8);
        jw_kint(w, "key", v);
        if (k[0] == TK_BOOL) {
            jw_kstr(w, "key_as_string", v ? "true" : "false");
        } else if (k[0] == TK_DATE) {
            agg_format f = a->fmt;
            if (f.kind != FMT_DATE) break;
            agg_format_long(&f, v, &t);
            jw_kstr(w, "key_as_string", t.p);
        }
        break;
    }
    }
    buf_free(&t);
}

static void terms_write(const agg_spec *a, void *st, json_w *w)
{
    terms_state *t = st;
    terms_params *p = a->p;
    /* zero-count terms */
    if (p->min_doc_count == 0) {
        for (size_t i = 0; i < p->zero.n; i++) {
            size_t len;
            const uint8_t *k = kmap_key(&p->zero, i, &len);
            terms_slot(a, t, k, len);
        }
    }
    size_t *idx = xmalloc((t->keys.n + 1) * sizeof *idx);
    size_t n = 0;
    for (size_t i = 0; i < t->keys.n; i++)
        if (!t->skip[i] && t->b[i].doc_count >= (uint64_t)p->min_doc_count) idx[n++] = i;
    tsort ctx = { a, t };
    tsort *saved = tsort_ctx;
    tsort_ctx = &ctx;
    qsort(idx, n, sizeof *idx, terms_cmp);
    tsort_ctx = saved;
    size_t shown = n < (size_t)p->size ? n : (size_t)p->size;
    uint64_t other = 0;
    for (size_t i = shown; i < n; i++) other += t->b[idx[i]].doc_count;
    jw_kint(w, "doc_count_error_upper_bound", 0);
    jw_kint(w, "sum_other_doc_count", (int64_t)other);
    jw_key(w, "buckets");
    jw_arr_begin(w);
    for (size_t i = 0; i < shown; i++) {
        size_t len;
        const uint8_t *k = kmap_key(&t->keys, idx[i], &len);
        jw_obj_begin(w);
        write_key(a, k, len, w);
        jw_kint(w, "doc_count", (int64_t)t->b[idx[i]].doc_count);
        if (p->show_error) jw_kint(w, "doc_count_error_upper_bound", 0);
        agg_bucket_write_subs(a, &t->b[idx[i]], w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    free(idx);
}

static int parse_incexc(agg_pctx *c, agg_spec *a, const json_val *v, bool inc, terms_params *p, es_err *err)
{
    if (json_type_of(v) == JSON_STRING) {
        const char *s = json_str(v, NULL);
        char *pat = xasprintf("^(%s)$", s);
        regex_t *re = inc ? &p->inc_re : &p->exc_re;
        int rc = regcomp(re, pat, REG_EXTENDED | REG_NOSUB);
        free(pat);
        if (rc) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "invalid regular expression [%s] in [%s]", s, inc ? "include" : "exclude");
            return -1;
        }
        if (inc) p->has_inc_re = true;
        else p->has_exc_re = true;
        return 0;
    }
    if (json_type_of(v) == JSON_ARRAY) {
        kmap *m = inc ? &p->inc_set : &p->exc_set;
        for (size_t i = 0; i < json_len(v); i++) {
            const json_val *e = json_arr_get(v, i);
            buf t = { 0 };
            if (json_type_of(e) == JSON_STRING) {
                size_t n;
                const char *s = json_str(e, &n);
                buf_append(&t, s, n);
            } else if (json_type_of(e) == JSON_INT) {
                buf_printf(&t, "%lld", (long long)json_int(e));
            } else if (json_is_number(e)) {
                agg_put_double(&t, json_num(e));
            } else if (json_type_of(e) == JSON_BOOL) {
                buf_puts(&t, json_bool(e) ? "true" : "false");
            }
            kmap_put(m, t.p ? t.p : "", t.len, NULL);
            buf_free(&t);
        }
        if (inc) p->has_inc_set = true;
        else p->has_exc_set = true;
        return 0;
    }
    if (inc && json_type_of(v) == JSON_OBJECT) {
        const json_val *pt = json_obj_get(v, "partition"), *np = json_obj_get(v, "num_partitions");
        if (!pt || !np || !agg_json_int(pt, &p->partition) || !agg_json_int(np, &p->num_partitions) ||
            p->num_partitions <= 0)
            return agg_err_parsing(c, err, v, false, "Missing [num_partitions] parameter for partition-based include");
        return 0;
    }
    return agg_err_parsing(c, err, v, false, "Unexpected token %s in [%s].", "VALUE_NUMBER", inc ? "include" : "exclude");
}

static int terms_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    static const char *const known[] = { "field", "missing", "format", "script", "value_type", "size", "shard_size",
                                         "min_doc_count", "shard_min_doc_count", "order", "include", "exclude",
                                         "execution_hint", "collect_mode", "show_term_doc_count_error", NULL };
    terms_params *p = arena_alloc(c->mem, sizeof *p);
    memset(p, 0, sizeof *p);
    p->size = 10;
    p->min_doc_count = 1;
    a->p = p;
    agg_pctx_own(c, p, terms_params_free);
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        int r = agg_parse_vs_member(c, a, k, v, err);
        if (r < 0) return -1;
        if (r) continue;
        if (!strcmp(k, "size") || !strcmp(k, "shard_size") || !strcmp(k, "min_doc_count") ||
            !strcmp(k, "shard_min_doc_count")) {
            int64_t x;
            if (!agg_json_int(v, &x)) return agg_err_x(c, err, v, true, "[terms] failed to parse field [%s]", k);
            if (!strcmp(k, "size")) {
                if (x <= 0) {
                    agg_err_x(c, err, v, true, "[terms] failed to parse field [size]");
                    es_err *cause = xcalloc(1, sizeof *cause);
                    es_err_set(cause, ES_ILLEGAL_ARGUMENT, "[size] must be greater than 0. Found [%lld] in [%s]",
                               (long long)x, a->name);
                    es_err_cause(err, cause);
                    return -1;
                }
                p->size = x;
            } else if (!strcmp(k, "min_doc_count")) {
                if (x < 0) {
                    agg_err_x(c, err, v, true, "[terms] failed to parse field [min_doc_count]");
                    es_err *cause = xcalloc(1, sizeof *cause);
                    es_err_set(cause, ES_ILLEGAL_ARGUMENT,
                               "[minDocCount] must be greater than or equal to 0. Found [%lld] in [%s]", (long long)x,
                               a->name);
                    es_err_cause(err, cause);
                    return -1;
                }
                p->min_doc_count = x;
            }
            continue;
        }
        if (!strcmp(k, "order")) {
            if (agg_parse_order(c, a, v, false, &p->order, &p->n_order, err) < 0) return -1;
            continue;
        }
        if (!strcmp(k, "include") || !strcmp(k, "exclude")) {
            if (parse_incexc(c, a, v, k[0] == 'i', p, err) < 0) return -1;
            continue;
        }
        if (!strcmp(k, "show_term_doc_count_error")) {
            p->show_error = json_bool(v) || (json_str(v, NULL) && !strcmp(json_str(v, NULL), "true"));
            continue;
        }
        if (!strcmp(k, "execution_hint") || !strcmp(k, "collect_mode")) continue;
        return agg_err_unknown_field(c, err, v, a->kind->name, k, known);
    }
    if (!p->n_order) {
        p->order = arena_alloc(c->mem, sizeof *p->order);
        p->order[0] = (agg_order){ ORD_COUNT, false, NULL };
        p->n_order = 1;
    }
    return agg_resolve_field(c, a, body, err);
}

static int terms_validate(agg_pctx *c, agg_spec *a, es_err *err)
{
    terms_params *p = a->p;
    for (size_t i = 0; i < p->n_order; i++)
        if (p->order[i].kind == ORD_PATH && agg_check_order_path(a, p->order[i].path, err) < 0) return -1;
    return 0;
}

const agg_kind agg_kind_terms = { .name = "terms", .flags = AK_BUCKET | AK_FIELD, .typed_name = terms_typed,
                                  .parse = terms_parse, .validate = terms_validate, .open = terms_open,
                                  .state_new = terms_new, .state_free = terms_free, .collect = terms_collect,
                                  .merge = terms_merge, .write = terms_write };

/* ======================================================================== */
/* range                                                                    */

typedef struct range_def {
    const char *key;        /* given key, or NULL */
    double from, to;        /* -inf / +inf when open */
    size_t order;           /* position in the request */
} range_def;

typedef struct range_params {
    range_def *r;
    size_t n;
    bool keyed;
} range_params;

typedef struct range_state {
    agg_bucket *b;          /* n */
} range_state;

static void *range_new(const agg_spec *a)
{
    const range_params *p = a->p;
    range_state *s = xcalloc(1, sizeof *s);
    s->b = xcalloc(p->n ? p->n : 1, sizeof *s->b);
    return s;
}

static void range_free(const agg_spec *a, void *st)
{
    const range_params *p = a->p;
    range_state *s = st;
    for (size_t i = 0; i < p->n; i++) agg_bucket_free(a, &s->b[i]);
    free(s->b);
    free(s);
}

static int range_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    const range_params *p = a->p;
    range_state *s = st;
    agg_vals v;
    int n = agg_values(sh, a, doc, &v, err);
    if (n <= 0) return n;
    const agg_exec *e = &sh->ex[a->id];
    for (size_t r = 0; r < p->n; r++) {
        for (int i = 0; i < n; i++) {
            double d = agg_val_double(e, &v, (size_t)i);
            if (d >= p->r[r].from && d < p->r[r].to) {
                if (agg_bucket_collect(sh, a, &s->b[r], doc, err) < 0) return -1;
                break;
            }
        }
    }
    return 0;
}

static void range_merge(const agg_spec *a, void *dst, void *src)
{
    const range_params *p = a->p;
    range_state *d = dst, *s = src;
    for (size_t i = 0; i < p->n; i++) agg_bucket_merge(a, &d->b[i], &s->b[i]);
    range_free(a, src);
}

static void range_key(const agg_spec *a, const range_def *r, buf *out)
{
    if (r->key) {
        buf_puts(out, r->key);
        return;
    }
    if (isinf(r->from)) buf_putc(out, '*');
    else agg_format_double(&a->fmt, r->from, out);
    buf_putc(out, '-');
    if (isinf(r->to)) buf_putc(out, '*');
    else agg_format_double(&a->fmt, r->to, out);
}

static void range_write(const agg_spec *a, void *st, json_w *w)
{
    const range_params *p = a->p;
    range_state *s = st;
    jw_key(w, "buckets");
    if (p->keyed) jw_obj_begin(w);
    else jw_arr_begin(w);
    for (size_t i = 0; i < p->n; i++) {
        const range_def *r = &p->r[i];
        buf k = { 0 };
        range_key(a, r, &k);
        if (p->keyed) {
            jw_key(w, k.p);
            jw_obj_begin(w);
        } else {
            jw_obj_begin(w);
            jw_kstr(w, "key", k.p);
        }
        buf_free(&k);
        if (!isinf(r->from)) {
            jw_key(w, "from");
            jw_double(w, r->from);
            if (a->fmt.kind != FMT_RAW) {
                buf t = { 0 };
                agg_format_double(&a->fmt, r->from, &t);
                jw_kstr(w, "from_as_string", t.p);
                buf_free(&t);
            }
        }
        if (!isinf(r->to)) {
            jw_key(w, "to");
            jw_double(w, r->to);
            if (a->fmt.kind != FMT_RAW) {
                buf t = { 0 };
                agg_format_double(&a->fmt, r->to, &t);
                jw_kstr(w, "to_as_string", t.p);
                buf_free(&t);
            }
        }
        jw_kint(w, "doc_count", (int64_t)s->b[i].doc_count);
        agg_bucket_write_subs(a, &s->b[i], w);
        jw_obj_end(w);
    }
    if (p->keyed) jw_obj_end(w);
    else jw_arr_end(w);
}

static int range_bound(agg_pctx *c, agg_spec *a, const json_val *v, double *out, es_err *err)
{
    if (json_is_null(v)) return 1;
    if (a->vt == VT_DATE || a->vt == VT_DATE_NANOS) {
        int64_t ms;
        if (json_type_of(v) == JSON_STRING || json_is_number(v)) {
            if (agg_parse_date(c, a, v, &ms, err) < 0) return -1;
            *out = (double)ms;
            return 0;
        }
    }
    if (!agg_json_double(v, out)) {
        if (json_type_of(v) == JSON_STRING) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", json_str(v, NULL));
            err->type_name = "number_format_exception";
            return -1;
        }
        return agg_err_parsing(c, err, v, false, "Unexpected token %s [from] in [%s].", "START_OBJECT", a->name);
    }
    return 0;
}

static int range_cmp(const void *x, const void *y)
{
    const range_def *a = x, *b = y;
    if (a->from != b->from) return a->from < b->from ? -1 : 1;
    if (a->to != b->to) return a->to < b->to ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

static int range_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    static const char *const known[] = { "field", "missing", "format", "script", "value_type", "ranges", "keyed", NULL };
    range_params *p = arena_alloc(c->mem, sizeof *p);
    memset(p, 0, sizeof *p);
    a->p = p;
    const json_val *ranges = NULL;
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        int r = agg_parse_vs_member(c, a, k, v, err);
        if (r < 0) return -1;
        if (r) continue;
        if (!strcmp(k, "ranges")) {
            if (json_type_of(v) != JSON_ARRAY)
                return agg_err_x(c, err, v, true, "[range] ranges doesn't support values of type: %s",
                                 json_type_of(v) == JSON_OBJECT ? "START_OBJECT" : "VALUE_STRING");
            ranges = v;
            continue;
        }
        if (!strcmp(k, "keyed")) {
            p->keyed = json_bool(v);
            continue;
        }
        return agg_err_unknown_field(c, err, v, a->kind->name, k, known);
    }
    if (agg_resolve_field(c, a, body, err) < 0) return -1;
    if (!ranges || !json_len(ranges)) {
        agg_err_x(c, err, body, false, "[range] failed to parse");
        es_err_free(err);
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "No [ranges] specified for the [%s] aggregation", a->name);
        return -1;
    }
    p->n = json_len(ranges);
    p->r = arena_alloc(c->mem, p->n * sizeof *p->r);
    for (size_t i = 0; i < p->n; i++) {
        const json_val *e = json_arr_get(ranges, i);
        range_def *r = &p->r[i];
        r->key = NULL;
        r->from = -INFINITY;
        r->to = INFINITY;
        r->order = i;
        if (json_type_of(e) != JSON_OBJECT)
            return agg_err_parsing(c, err, e, false, "Unexpected token %s in [ranges].", "VALUE_STRING");
        json_iter ri = json_iter_begin(e);
        const json_val *rv;
        const char *rk;
        size_t rkn;
        while ((rv = json_iter_next(&ri, &rk, &rkn))) {
            if (!strcmp(rk, "key")) {
                const char *s = json_str(rv, NULL);
                if (s) r->key = agg_strdup(c, s);
            } else if (!strcmp(rk, "from")) {
                if (range_bound(c, a, rv, &r->from, err) < 0) return -1;
            } else if (!strcmp(rk, "to")) {
                if (range_bound(c, a, rv, &r->to, err) < 0) return -1;
            } else {
                static const char *const rknown[] = { "key", "from", "to", NULL };
                return agg_err_unknown_field(c, err, rv, "range", rk, rknown);
            }
        }
    }
    qsort(p->r, p->n, sizeof *p->r, range_cmp);
    return 0;
}

static const char *range_typed(const agg_spec *a)
{
    return a->vt == VT_DATE || a->vt == VT_DATE_NANOS ? "date_range" : "range";
}

const agg_kind agg_kind_range = { .name = "range", .flags = AK_BUCKET | AK_FIELD | AK_NUMERIC,
                                  .typed_name = range_typed, .parse = range_parse, .state_new = range_new,
                                  .state_free = range_free, .collect = range_collect, .merge = range_merge,
                                  .write = range_write };

/* ======================================================================== */
/* filter, filters                                                          */

typedef struct filters_params {
    const query **q;
    const char **names;     /* NULL: anonymous */
    size_t n;
    bool keyed;
    bool other;
    const char *other_key;
} filters_params;

typedef struct filters_state {
    agg_bucket *b;          /* n (+ 1 other) */
} filters_state;

typedef struct filters_exec {
    doc_iter **it;
    size_t n;
} filters_exec;

static size_t f_count(const agg_spec *a)
{
    const filters_params *p = a->p;
    return p->n + (p->other ? 1 : 0);
}

static void *filters_new(const agg_spec *a)
{
    filters_state *s = xcalloc(1, sizeof *s);
    s->b = xcalloc(f_count(a) + 1, sizeof *s->b);
    return s;
}

static void filters_free(const agg_spec *a, void *st)
{
    filters_state *s = st;
    for (size_t i = 0; i < f_count(a); i++) agg_bucket_free(a, &s->b[i]);
    free(s->b);
    free(s);
}

static int filters_open(agg_shard *sh, const agg_spec *a, agg_exec *e, es_err *err)
{
    const filters_params *p = a->p;
    filters_exec *x = xcalloc(1, sizeof *x);
    x->it = xcalloc(p->n + 1, sizeof *x->it);
    x->n = p->n;
    e->x = x;
    for (size_t i = 0; i < p->n; i++) {
        x->it[i] = query_iter(p->q[i], sh->s, 1.0f, QI_FILTER, err);
        if (!x->it[i]) return -1;
    }
    return 0;
}

static void filters_close(const agg_spec *a, agg_exec *e)
{
    filters_exec *x = e->x;
    if (!x) return;
    for (size_t i = 0; i < x->n; i++) doc_iter_free(x->it[i]);
    free(x->it);
    free(x);
    e->x = NULL;
}

static bool iter_matches(doc_iter *it, uint64_t doc)
{
    uint64_t d = it->doc;
    if (d < doc) d = doc_iter_advance(it, doc);
    return d == doc;
}

static int filters_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    const filters_params *p = a->p;
    filters_state *s = st;
    filters_exec *x = sh->ex[a->id].x;
    bool any = false;
    for (size_t i = 0; i < p->n; i++) {
        if (!iter_matches(x->it[i], doc)) continue;
        any = true;
        if (agg_bucket_collect(sh, a, &s->b[i], doc, err) < 0) return -1;
    }
    if (!any && p->other && agg_bucket_collect(sh, a, &s->b[p->n], doc, err) < 0) return -1;
    return 0;
}

static void filters_merge(const agg_spec *a, void *dst, void *src)
{
    filters_state *d = dst, *s = src;
    for (size_t i = 0; i < f_count(a); i++) agg_bucket_merge(a, &d->b[i], &s->b[i]);
    filters_free(a, src);
}

static void filters_write(const agg_spec *a, void *st, json_w *w)
{
    const filters_params *p = a->p;
    filters_state *s = st;
    jw_key(w, "buckets");
    if (p->keyed) jw_obj_begin(w);
    else jw_arr_begin(w);
    for (size_t i = 0; i < f_count(a); i++) {
        const char *name = i < p->n ? (p->names ? p->names[i] : NULL) : p->other_key;
        if (p->keyed) {
            jw_key(w, name ? name : "");
            jw_obj_begin(w);
        } else {
            jw_obj_begin(w);
            if (name && p->names) jw_kstr(w, "key", name);
        }
        jw_kint(w, "doc_count", (int64_t)s->b[i].doc_count);
        agg_bucket_write_subs(a, &s->b[i], w);
        jw_obj_end(w);
    }
    if (p->keyed) jw_obj_end(w);
    else jw_arr_end(w);
}

typedef struct named_q {
    const char *name;
    const query *q;
} named_q;

static int named_cmp(const void *x, const void *y)
{
    return strcmp(((const named_q *)x)->name, ((const named_q *)y)->name);
}

static int filters_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    static const char *const known[] = { "filters", "other_bucket", "other_bucket_key", "keyed", NULL };
    filters_params *p = arena_alloc(c->mem, sizeof *p);
    memset(p, 0, sizeof *p);
    a->p = p;
    const json_val *fs = NULL;
    int keyed = -1;
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        if (!strcmp(k, "filters")) fs = v;
        else if (!strcmp(k, "other_bucket")) p->other = json_bool(v);
        else if (!strcmp(k, "other_bucket_key")) {
            const char *s = json_str(v, NULL);
            if (s) {
                p->other_key = agg_strdup(c, s);
                p->other = true;
            }
        } else if (!strcmp(k, "keyed")) keyed = json_bool(v);
        else return agg_err_unknown_field(c, err, v, a->kind->name, k, known);
    }
    if (!fs || (json_type_of(fs) != JSON_OBJECT && json_type_of(fs) != JSON_ARRAY))
        return agg_err_parsing(c, err, body, false, "[filters] cannot be null.");
    p->n = json_len(fs);
    p->q = arena_alloc(c->mem, (p->n + 1) * sizeof *p->q);
    if (json_type_of(fs) == JSON_OBJECT) {
        named_q *nq = xmalloc((p->n + 1) * sizeof *nq);
        json_iter fi = json_iter_begin(fs);
        const json_val *qv;
        const char *qk;
        size_t qkn, i = 0;
        while ((qv = json_iter_next(&fi, &qk, &qkn))) {
            query *q = query_parse(c->qctx, qv, err);
            if (!q) {
                free(nq);
                return -1;
            }
            nq[i].name = agg_strdup(c, qk);
            nq[i].q = q;
            i++;
        }
        /* Elasticsearch keeps named filters sorted by key */
        qsort(nq, p->n, sizeof *nq, named_cmp);
        p->names = arena_alloc(c->mem, (p->n + 1) * sizeof *p->names);
        for (size_t j = 0; j < p->n; j++) {
            p->names[j] = nq[j].name;
            p->q[j] = nq[j].q;
        }
        free(nq);
        p->keyed = keyed != 0;
    } else {
        for (size_t i = 0; i < p->n; i++) {
            query *q = query_parse(c->qctx, json_arr_get(fs, i), err);
            if (!q) return -1;
            p->q[i] = q;
        }
        p->keyed = keyed == 1;
    }
    if (p->other && !p->other_key) p->other_key = "_other_";
    return 0;
}

const agg_kind agg_kind_filters = { .name = "filters", .flags = AK_BUCKET, .parse = filters_parse,
                                    .open = filters_open, .close = filters_close, .state_new = filters_new,
                                    .state_free = filters_free, .collect = filters_collect, .merge = filters_merge,
                                    .write = filters_write };

/* filter: one bucket of the documents a query matches */

typedef struct single_state {
    agg_bucket b;
} single_state;

static void *single_new(const agg_spec *a) { return xcalloc(1, sizeof(single_state)); }

static void single_free(const agg_spec *a, void *st)
{
    agg_bucket_free(a, &((single_state *)st)->b);
    free(st);
}

static void single_merge(const agg_spec *a, void *dst, void *src)
{
    agg_bucket_merge(a, &((single_state *)dst)->b, &((single_state *)src)->b);
    single_free(a, src);
}

static void single_write(const agg_spec *a, void *st, json_w *w)
{
    single_state *s = st;
    jw_kint(w, "doc_count", (int64_t)s->b.doc_count);
    agg_bucket_write_subs(a, &s->b, w);
}

static const agg_bucket *single_bucket(const agg_spec *a, const void *st) { return &((const single_state *)st)->b; }

static int filter_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    query *q = query_parse(c->qctx, body, err);
    if (!q) return -1;
    a->p = q;
    return 0;
}

static int filter_open(agg_shard *sh, const agg_spec *a, agg_exec *e, es_err *err)
{
    doc_iter *it = query_iter(a->p, sh->s, 1.0f, QI_FILTER, err);
    if (!it) return -1;
    e->x = it;
    return 0;
}

static void filter_close(const agg_spec *a, agg_exec *e)
{
    doc_iter_free(e->x);
    e->x = NULL;
}

static int filter_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    if (!iter_matches(sh->ex[a->id].x, doc)) return 0;
    return agg_bucket_collect(sh, a, &((single_state *)st)->b, doc, err);
}

const agg_kind agg_kind_filter = { .name = "filter", .flags = AK_BUCKET, .parse = filter_parse, .open = filter_open,
                                   .close = filter_close, .state_new = single_new, .state_free = single_free,
                                   .collect = filter_collect, .merge = single_merge, .write = single_write,
                                   .single = single_bucket };

/* missing: the documents without a value */

static int missing_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    static const char *const known[] = { "field", "format", "script", "value_type", NULL };
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        if (!strcmp(k, "missing")) return agg_err_unknown_field(c, err, v, a->kind->name, k, known);
        int r = agg_parse_vs_member(c, a, k, v, err);
        if (r < 0) return -1;
        if (r) continue;
        return agg_err_unknown_field(c, err, v, a->kind->name, k, known);
    }
    return agg_resolve_field(c, a, body, err);
}

static int missing_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    agg_vals v;
    int n = agg_values(sh, a, doc, &v, err);
    if (n < 0) return -1;
    if (n > 0) return 0;
    return agg_bucket_collect(sh, a, &((single_state *)st)->b, doc, err);
}

const agg_kind agg_kind_missing = { .name = "missing", .flags = AK_BUCKET | AK_FIELD, .parse = missing_parse,
                                    .state_new = single_new, .state_free = single_free,
                                    .collect = missing_collect, .merge = single_merge, .write = single_write,
                                    .single = single_bucket };

/* global: every document of the indices, whatever the query (top level only;
 * the run feeds it at the start of each shard, see agg_global_collect_all). */

static int global_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    if (json_len(body)) {
        json_iter it = json_iter_begin(body);
        const char *k;
        size_t kn;
        const json_val *v = json_iter_next(&it, &k, &kn);
        static const char *const none[] = { NULL };
        return agg_err_unknown_field(c, err, v, a->kind->name, k, none);
    }
    if (c->depth > 0) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Aggregation [%s] must be a top level aggregation", a->name);
        err->type_name = "aggregation_initialization_exception";
        return -1;
    }
    return 0;
}

static int global_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err) { return 0; }

int agg_global_collect_all(agg_shard *sh, const agg_spec *a, void *st, es_err *err)
{
    doc_iter *it = doc_iter_all(sh->s, 1.0f);
    if (!it) return 0;
    int rc = 0;
    for (uint64_t d = doc_iter_next(it); d != DOC_NO_MORE; d = doc_iter_next(it)) {
        if (!shard_searcher_is_live(sh->s, d)) continue;
        if (agg_bucket_collect(sh, a, &((single_state *)st)->b, d, err) < 0) {
            rc = -1;
            break;
        }
    }
    doc_iter_free(it);
    return rc;
}

const agg_kind agg_kind_global = { .name = "global", .flags = AK_BUCKET, .parse = global_parse,
                                   .state_new = single_new, .state_free = single_free, .collect = global_collect,
                                   .merge = single_merge, .write = single_write, .single = single_bucket };
