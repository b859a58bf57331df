/*
 * agg_histo.c — histogram (double keys) and date_histogram (epoch-millis
 * keys; calendar_interval and fixed_interval, time_zone as UTC or a fixed
 * offset, offset, format / key_as_string), with Elasticsearch's defaults:
 * min_doc_count 0 fills the gaps between the first and last buckets (and out
 * to extended_bounds), order by _key ascending, keyed output on request.
 */
#include "search/agg_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct histo_params {
    bool date;
    /* histogram */
    double interval, offset;
    /* date_histogram */
    cal_unit cal;             /* CAL_NONE: fixed */
    int64_t fixed_ms;
    int64_t offset_ms;
    int32_t tz;
    /* common */
    int64_t min_doc_count;
    bool has_ext, has_hard;
    double ext_min, ext_max;  /* NaN when a side is not given */
    double hard_min, hard_max;
    bool keyed;
    agg_order *order;
    size_t n_order;
} histo_params;

typedef struct histo_state {
    kmap keys;                /* 8 bytes: double (histogram) or int64 (date) */
    agg_bucket *b;
    size_t cap;
} histo_state;

static void *histo_new(const agg_spec *a) { return xcalloc(1, sizeof(histo_state)); }

static void histo_free(const agg_spec *a, void *st)
{
    histo_state *h = st;
    for (size_t i = 0; i < h->keys.n; i++) agg_bucket_free(a, &h->b[i]);
    free(h->b);
    kmap_free(&h->keys);
    free(h);
}

static size_t histo_slot(histo_state *h, const void *key8)
{
    bool added;
    size_t i = kmap_put(&h->keys, key8, 8, &added);
    if (added) {
        if (i >= h->cap) {
            h->cap = h->cap ? h->cap * 2 : 16;
            h->b = xrealloc(h->b, h->cap * sizeof *h->b);
        }
        memset(&h->b[i], 0, sizeof h->b[i]);
    }
    return i;
}

static double round_d(const histo_params *p, double v)
{
    return floor((v - p->offset) / p->interval) * p->interval + p->offset;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int64_t round_l(const histo_params *p, int64_t ms)
{
    int64_t t = ms - p->offset_ms;
    int64_t k;
    if (p->cal != CAL_NONE) {
        k = agg_cal_round(t, p->cal, p->tz);
    } else {
        int64_t local = t + (int64_t)p->tz * 1000;
        k = floor_div(local, p->fixed_ms) * p->fixed_ms - (int64_t)p->tz * 1000;
    }
    return k + p->offset_ms;
}

static int64_t next_l(const histo_params *p, int64_t key)
{
    if (p->cal != CAL_NONE) return agg_cal_next(key - p->offset_ms, p->cal, p->tz) + p->offset_ms;
    return key + p->fixed_ms;
}

static int histo_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    const histo_params *p = a->p;
    histo_state *h = st;
    agg_vals v;
    int n = agg_values(sh, a, doc, &v, err);
    if (n <= 0) return n;
    const agg_exec *e = &sh->ex[a->id];
    uint8_t prev[8];
    bool have_prev = false;
    for (int i = 0; i < n; i++) {
        uint8_t key[8];
        if (p->date) {
            int64_t ms;
            if (v.kind == DV_LONG) ms = e->vt == VT_DATE_NANOS ? v.l[i] / 1000000 : v.l[i];
            else ms = (int64_t)agg_val_double(e, &v, (size_t)i);
            if (p->has_hard && (!isnan(p->hard_min) && (double)ms < p->hard_min)) continue;
            if (p->has_hard && (!isnan(p->hard_max) && (double)ms >= p->hard_max)) continue;
            int64_t k = round_l(p, ms);
            memcpy(key, &k, 8);
        } else {
            double d = agg_val_double(e, &v, (size_t)i);
            if (isnan(d)) continue;
            if (p->has_hard && (!isnan(p->hard_min) && d < p->hard_min)) continue;
            if (p->has_hard && (!isnan(p->hard_max) && d > p->hard_max)) continue;
            double k = round_d(p, d);
            if (k == 0) k = 0;
            memcpy(key, &k, 8);
        }
        /* a document counts once per bucket (values are sorted, so equal keys are adjacent) */
        if (have_prev && !memcmp(prev, key, 8)) continue;
        memcpy(prev, key, 8);
        have_prev = true;
        size_t idx = histo_slot(h, key);
        if (agg_bucket_collect(sh, a, &h->b[idx], doc, err) < 0) return -1;
    }
    return 0;
}

static void histo_merge(const agg_spec *a, void *dst, void *src)
{
    histo_state *d = dst, *s = src;
    for (size_t i = 0; i < s->keys.n; i++) {
        size_t len;
        const uint8_t *k = kmap_key(&s->keys, i, &len);
        size_t j = histo_slot(d, k);
        agg_bucket_merge(a, &d->b[j], &s->b[i]);
    }
    histo_free(a, s);
}

static double key_d(histo_state *h, size_t i)
{
    size_t len;
    double d;
    memcpy(&d, kmap_key(&h->keys, i, &len), 8);
    return d;
}

static int64_t key_l(histo_state *h, size_t i)
{
    size_t len;
    int64_t x;
    memcpy(&x, kmap_key(&h->keys, i, &len), 8);
    return x;
}

typedef struct hsort {
    const agg_spec *a;
    histo_state *h;
} hsort;
static __thread hsort *hsort_ctx;

static int hkey_cmp(histo_state *h, bool date, size_t i, size_t j)
{
    if (date) {
        int64_t x = key_l(h, i), y = key_l(h, j);
        return (x > y) - (x < y);
    }
    double x = key_d(h, i), y = key_d(h, j);
    return (x > y) - (x < y);
}

static int histo_cmp(const void *pa, const void *pb)
{
    size_t i = *(const size_t *)pa, j = *(const size_t *)pb;
    const histo_params *p = hsort_ctx->a->p;
    histo_state *h = hsort_ctx->h;
    bool key_seen = false;
    for (size_t k = 0; k < p->n_order; k++) {
        const agg_order *o = &p->order[k];
        int c;
        if (o->kind == ORD_KEY) {
            c = hkey_cmp(h, p->date, i, j);
            key_seen = true;
        } else if (o->kind == ORD_COUNT) {
            c = (h->b[i].doc_count > h->b[j].doc_count) - (h->b[i].doc_count < h->b[j].doc_count);
        } else {
            double u = NAN, v = NAN;
            agg_bucket_path_value(hsort_ctx->a, &h->b[i], o->path, &u);
            agg_bucket_path_value(hsort_ctx->a, &h->b[j], o->path, &v);
            if (isnan(u) || isnan(v)) {
                if (isnan(u) && isnan(v)) continue;
                return isnan(u) ? 1 : -1;
            }
            c = (u > v) - (u < v);
        }
        if (c) return o->asc ? c : -c;
    }
    return key_seen ? 0 : hkey_cmp(h, p->date, i, j);
}

static void histo_fill(const agg_spec *a, histo_state *h)
{
    const histo_params *p = a->p;
    if (p->min_doc_count != 0) return;
    /* the range to cover: the buckets seen, widened by extended_bounds */
    bool any = h->keys.n > 0;
    if (p->date) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < h->keys.n; i++) {
            int64_t k = key_l(h, i);
            if (k < lo) lo = k;
            if (k > hi) hi = k;
        }
        if (p->has_ext) {
            if (!isnan(p->ext_min)) {
                int64_t k = round_l(p, (int64_t)p->ext_min);
                if (!any || k < lo) lo = k;
            }
            if (!isnan(p->ext_max)) {
                int64_t k = round_l(p, (int64_t)p->ext_max);
                if (!any || k > hi) hi = k;
            }
            if (!any && (isnan(p->ext_min) || isnan(p->ext_max))) return;
            any = true;
        }
        if (!any) return;
        size_t guard = 0;
        for (int64_t k = lo; k <= hi && guard < 1000000; k = next_l(p, k), guard++) histo_slot(h, &k);
    } else {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < h->keys.n; i++) {
            double k = key_d(h, i);
            if (k < lo) lo = k;
            if (k > hi) hi = k;
        }
        if (p->has_ext) {
            if (!isnan(p->ext_min)) {
                double k = round_d(p, p->ext_min);
                if (!any || k < lo) lo = k;
            }
            if (!isnan(p->ext_max)) {
                double k = round_d(p, p->ext_max);
                if (!any || k > hi) hi = k;
            }
            if (!any && (isnan(p->ext_min) || isnan(p->ext_max))) return;
            any = true;
        }
        if (!any) return;
        size_t guard = 0;
        for (double k = lo; k <= hi && guard < 1000000; k = round_d(p, k + p->interval), guard++) {
            double kk = k == 0 ? 0 : k;
            histo_slot(h, &kk);
        }
    }
}

static void histo_write(const agg_spec *a, void *st, json_w *w)
{
    const histo_params *p = a->p;
    histo_state *h = st;
    histo_fill(a, h);
    size_t *idx = xmalloc((h->keys.n + 1) * sizeof *idx);
    size_t n = 0;
    for (size_t i = 0; i < h->keys.n; i++)
        if (h->b[i].doc_count >= (uint64_t)p->min_doc_count) idx[n++] = i;
    hsort ctx = { a, h };
    hsort *saved = hsort_ctx;
    hsort_ctx = &ctx;
    qsort(idx, n, sizeof *idx, histo_cmp);
    hsort_ctx = saved;
    jw_key(w, "buckets");
    if (p->keyed) jw_obj_begin(w);
    else jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        size_t b = idx[i];
        buf ks = { 0 };
        bool has_string = a->fmt.kind != FMT_RAW || p->date;
        if (p->date) {
            agg_format f = a->fmt;
            f.tz_sec = p->tz;
            if (f.kind != FMT_DATE) buf_printf(&ks, "%lld", (long long)key_l(h, b));
            else agg_format_long(&f, key_l(h, b), &ks);
        } else if (a->fmt.kind != FMT_RAW) {
            agg_format_double(&a->fmt, key_d(h, b), &ks);
        } else {
            agg_put_double(&ks, key_d(h, b));
        }
        if (p->keyed) {
            jw_key(w, ks.p);
            jw_obj_begin(w);
        } else {
            jw_obj_begin(w);
        }
        if (has_string) jw_kstr(w, "key_as_string", ks.p);
        jw_key(w, "key");
        if (p->date) jw_int(w, key_l(h, b));
        else jw_double(w, key_d(h, b));
        jw_kint(w, "doc_count", (int64_t)h->b[b].doc_count);
        agg_bucket_write_subs(a, &h->b[b], w);
        jw_obj_end(w);
        buf_free(&ks);
    }
    if (p->keyed) jw_obj_end(w);
    else jw_arr_end(w);
    free(idx);
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

static int parse_bounds(agg_pctx *c, agg_spec *a, const json_val *v, const char *what, double *lo, double *hi,
                        es_err *err)
{
    *lo = NAN;
    *hi = NAN;
    if (json_type_of(v) != JSON_OBJECT)
        return agg_err_parsing(c, err, v, false, "Unexpected token %s in [%s].", "VALUE_STRING", what);
    const histo_params *p = a->p;
    json_iter it = json_iter_begin(v);
    const json_val *x;
    const char *k;
    size_t kn;
    while ((x = json_iter_next(&it, &k, &kn))) {
        double *dst = !strcmp(k, "min") ? lo : !strcmp(k, "max") ? hi : NULL;
        if (!dst) {
            static const char *const known[] = { "min", "max", NULL };
            return agg_err_unknown_field(c, err, x, what, k, known);
        }
        if (json_is_null(x)) continue;
        if (p->date) {
            int64_t ms;
            if (agg_parse_date(c, a, x, &ms, err) < 0) return -1;
            *dst = (double)ms;
        } else if (!agg_json_double(x, dst)) {
            return agg_err_x(c, err, x, true, "[%s] failed to parse field [%s]", what, k);
        }
    }
    if (!isnan(*lo) && !isnan(*hi) && *lo > *hi) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s.min][%s] cannot be greater than [%s.max][%s] for histogram [%s]",
                   what, "min", what, "max", a->name);
        return -1;
    }
    return 0;
}

/* "+6h", "-1d", "30m" as ms. */
static bool parse_offset(const json_val *v, int64_t *out)
{
    if (json_type_of(v) == JSON_INT) {
        *out = json_int(v);
        return true;
    }
    const char *s = json_str(v, NULL);
    if (!s || !*s) return false;
    int sign = 1;
    if (*s == '+') s++;
    else if (*s == '-') {
        sign = -1;
        s++;
    }
    int64_t ms;
    if (!parse_time_value(s, &ms)) return false;
    *out = sign * ms;
    return true;
}

static int histo_parse_common(agg_pctx *c, agg_spec *a, const json_val *body, bool date, es_err *err)
{
    static const char *const hknown[] = { "field", "missing", "format", "script", "value_type", "interval", "offset",
                                          "min_doc_count", "extended_bounds", "hard_bounds", "order", "keyed", NULL };
    static const char *const dknown[] = { "field", "missing", "format", "script", "value_type", "calendar_interval",
                                          "fixed_interval", "offset", "time_zone", "min_doc_count", "extended_bounds",
                                          "hard_bounds", "order", "keyed", NULL };
    histo_params *p = arena_alloc(c->mem, sizeof *p);
    memset(p, 0, sizeof *p);
    p->date = date;
    a->p = p;
    const json_val *ext = NULL, *hard = NULL, *tz = NULL;
    const char *cal = NULL, *fixed = NULL;
    const json_val *cal_at = NULL, *fixed_at = NULL;
    bool has_interval = false;
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        int r = agg_parse_vs_member(c, a, k, v, err);
        if (r < 0) return -1;
        if (r) continue;
        if (!date && !strcmp(k, "interval")) {
            if (!agg_json_double(v, &p->interval))
                return agg_err_x(c, err, v, true, "[histogram] failed to parse field [interval]");
            if (!(p->interval > 0)) {
                agg_err_x(c, err, v, true, "[histogram] failed to parse field [interval]");
                es_err *cause = xcalloc(1, sizeof *cause);
                char t[40];
                json_fmt_double(p->interval, t);
                es_err_set(cause, ES_ILLEGAL_ARGUMENT, "[interval] must be >0 for histogram aggregation [%s]",
                           a->name);
                es_err_cause(err, cause);
                return -1;
            }
            has_interval = true;
        } else if (!date && !strcmp(k, "offset")) {
            if (!agg_json_double(v, &p->offset))
                return agg_err_x(c, err, v, true, "[histogram] failed to parse field [offset]");
        } else if (date && !strcmp(k, "calendar_interval")) {
            cal = json_str(v, NULL);
            cal_at = v;
        } else if (date && !strcmp(k, "fixed_interval")) {
            fixed = json_str(v, NULL);
            fixed_at = v;
        } else if (date && !strcmp(k, "offset")) {
            if (!parse_offset(v, &p->offset_ms)) {
                const char *s = json_str(v, NULL);
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "failed to parse setting [date_histogram.offset] with value [%s] as a time value: unit is "
                           "missing or unrecognized",
                           s ? s : "");
                return -1;
            }
        } else if (date && !strcmp(k, "time_zone")) {
            tz = v;
        } else if (!strcmp(k, "min_doc_count")) {
            if (!agg_json_int(v, &p->min_doc_count))
                return agg_err_x(c, err, v, true, "[%s] failed to parse field [min_doc_count]", a->kind->name);
            if (p->min_doc_count < 0) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "[minDocCount] must be greater than or equal to 0. Found [%lld] in [%s]",
                           (long long)p->min_doc_count, a->name);
                return -1;
            }
        } else if (!strcmp(k, "extended_bounds")) {
            ext = v;
        } else if (!strcmp(k, "hard_bounds")) {
            hard = v;
        } else if (!strcmp(k, "order")) {
            if (agg_parse_order(c, a, v, true, &p->order, &p->n_order, err) < 0) return -1;
        } else if (!strcmp(k, "keyed")) {
            p->keyed = json_bool(v);
        } else {
            return agg_err_unknown_field(c, err, v, a->kind->name, k, date ? dknown : hknown);
        }
    }
    if (agg_resolve_field(c, a, body, err) < 0) return -1;
    if (date) {
        if (tz) {
            const char *s = json_str(tz, NULL);
            if (!s) return agg_err_x(c, err, tz, true, "[date_histogram] failed to parse field [time_zone]");
            if (agg_tz_parse(s, &p->tz, err) < 0) return -1;
        }
        if (cal && fixed) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "Cannot use [fixed_interval] with [calendar_interval] configuration option.");
            return -1;
        }
        if (cal) {
            p->cal = agg_cal_unit(cal);
            if (p->cal == CAL_NONE) {
                agg_err_x(c, err, cal_at, true, "[date_histogram] failed to parse field [calendar_interval]");
                es_err *cause = xcalloc(1, sizeof *cause);
                es_err_set(cause, ES_ILLEGAL_ARGUMENT, "The supplied interval [%s] could not be parsed as a calendar interval.", cal);
                es_err_cause(err, cause);
                return -1;
            }
        } else if (fixed) {
            int64_t ms;
            size_t n = strlen(fixed);
            bool ok = n > 1 && parse_time_value(fixed, &ms) && ms > 0;
            /* fixed intervals take ms, s, m, h, d only */
            if (ok && (fixed[n - 1] == 'w' || fixed[n - 1] == 'M' || fixed[n - 1] == 'y' || fixed[n - 1] == 'q'))
                ok = false;
            if (!ok) {
                agg_err_x(c, err, fixed_at, true, "[date_histogram] failed to parse field [fixed_interval]");
                es_err *cause = xcalloc(1, sizeof *cause);
                es_err_set(cause, ES_ILLEGAL_ARGUMENT,
                           "failed to parse setting [date_histogram.fixedInterval] with value [%s] as a time value: "
                           "unit is missing or unrecognized",
                           fixed);
                es_err_cause(err, cause);
                return -1;
            }
            p->fixed_ms = ms;
        } else {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid interval specified, must be non-null and non-empty");
            return -1;
        }
        if (a->fmt.kind != FMT_DATE) {
            /* a date_histogram on a numeric field still prints its keys as dates */
            dfmt *f = dfmt_compile(a->format ? a->format : "strict_date_optional_time", err);
            if (!f) return -1;
            agg_pctx_own(c, f, (void (*)(void *))dfmt_free);
            a->fmt.kind = FMT_DATE;
            a->fmt.date = f;
        }
        if (a->vt == VT_KEYWORD || a->vt == VT_IP) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Field [%s] of type [%s] is not supported for aggregation [%s]",
                       a->field, a->mf ? field_type_name(a->mf->type) : "keyword", a->kind->name);
            return -1;
        }
    } else if (!has_interval) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[interval] must be >0 for histogram aggregation [%s]", a->name);
        return -1;
    } else {
        p->offset = fmod(p->offset, p->interval);
        if (p->offset < 0) p->offset += p->interval;
    }
    if (ext) {
        if (parse_bounds(c, a, ext, "extended_bounds", &p->ext_min, &p->ext_max, err) < 0) return -1;
        p->has_ext = true;
    }
    if (hard) {
        if (parse_bounds(c, a, hard, "hard_bounds", &p->hard_min, &p->hard_max, err) < 0) return -1;
        p->has_hard = true;
    }
    if (!p->n_order) {
        p->order = arena_alloc(c->mem, sizeof *p->order);
        p->order[0] = (agg_order){ ORD_KEY, true, NULL };
        p->n_order = 1;
    }
    return 0;
}

static int histogram_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    return histo_parse_common(c, a, body, false, err);
}

static int date_histogram_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    return histo_parse_common(c, a, body, true, err);
}

static int histo_validate(agg_pctx *c, agg_spec *a, es_err *err)
{
    histo_params *p = a->p;
    for (size_t i = 0; i < p->n_order; i++)
        if (p->order[i].kind == ORD_PATH && agg_check_order_path(a, p->order[i].path, err) < 0) return -1;
    return 0;
}

const agg_kind agg_kind_histogram = { .name = "histogram", .flags = AK_BUCKET | AK_FIELD | AK_NUMERIC,
                                      .parse = histogram_parse, .validate = histo_validate, .state_new = histo_new,
                                      .state_free = histo_free, .collect = histo_collect, .merge = histo_merge,
                                      .write = histo_write };

const agg_kind agg_kind_date_histogram = { .name = "date_histogram", .flags = AK_BUCKET | AK_FIELD,
                                           .parse = date_histogram_parse, .validate = histo_validate,
                                           .state_new = histo_new, .state_free = histo_free,
                                           .collect = histo_collect, .merge = histo_merge, .write = histo_write };
