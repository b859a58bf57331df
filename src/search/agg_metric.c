/*
 * agg_metric.c — metric aggregations: min, max, sum, avg, value_count,
 * cardinality (exact: a set of the distinct values), stats, extended_stats.
 * Sums use Kahan (compensated) summation as Elasticsearch's CompensatedSum,
 * within a shard and when shards are merged, so doubles come out the same.
 */
#include "search/agg_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct mstate {
    uint64_t count;
    double sum, comp;       /* compensated sum */
    double sq, sqcomp;      /* compensated sum of squares (extended_stats) */
    double min, max;
} mstate;

typedef struct mparams {
    double sigma;           /* extended_stats */
} mparams;

static void ksum(double *value, double *delta, double v, double vdelta)
{
    if (!isfinite(v)) *value = v + *value;
    if (isfinite(*value)) {
        double corrected = v + (*delta + vdelta);
        double updated = *value + corrected;
        *delta = corrected - (updated - *value);
        *value = updated;
    }
}

static void *m_new(const agg_spec *a)
{
    mstate *m = xcalloc(1, sizeof *m);
    m->min = INFINITY;
    m->max = -INFINITY;
    return m;
}

static void m_free(const agg_spec *a, void *st) { free(st); }

static int m_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    mstate *m = st;
    agg_vals v;
    int n = agg_values(sh, a, doc, &v, err);
    if (n <= 0) return n;
    const agg_exec *e = &sh->ex[a->id];
    for (int i = 0; i < n; i++) {
        double d = agg_val_double(e, &v, (size_t)i);
        m->count++;
        ksum(&m->sum, &m->comp, d, 0);
        ksum(&m->sq, &m->sqcomp, d * d, 0);
        if (d < m->min) m->min = d;
        if (d > m->max) m->max = d;
    }
    return 0;
}

static void m_merge(const agg_spec *a, void *dst, void *src)
{
    mstate *d = dst, *s = src;
    d->count += s->count;
    ksum(&d->sum, &d->comp, s->sum, s->comp);
    ksum(&d->sq, &d->sqcomp, s->sq, s->sqcomp);
    if (s->min < d->min) d->min = s->min;
    if (s->max > d->max) d->max = s->max;
    free(s);
}

static int m_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    static const char *const known[] = { "field", "missing", "format", "script", "value_type", NULL };
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        int r = agg_parse_vs_member(c, a, k, v, err);
        if (r < 0) return -1;
        if (r) continue;
        return agg_err_unknown_field(c, err, v, a->kind->name, k, known);
    }
    return agg_resolve_field(c, a, body, err);
}

static void put_value(const agg_spec *a, const char *key, double v, bool with_string, json_w *w)
{
    jw_key(w, key);
    jw_double(w, v);
    if (with_string && a->fmt.kind != FMT_RAW) {
        buf b = { 0 };
        agg_format_double(&a->fmt, v, &b);
        char *k2 = xasprintf("%s_as_string", key);
        jw_kstr(w, k2, b.p ? b.p : "");
        free(k2);
        buf_free(&b);
    }
}

static void min_write(const agg_spec *a, void *st, json_w *w)
{
    mstate *m = st;
    if (!m->count || isinf(m->min)) {
        jw_key(w, "value");
        jw_null(w);
        return;
    }
    put_value(a, "value", m->min, true, w);
}

static void max_write(const agg_spec *a, void *st, json_w *w)
{
    mstate *m = st;
    if (!m->count || isinf(m->max)) {
        jw_key(w, "value");
        jw_null(w);
        return;
    }
    put_value(a, "value", m->max, true, w);
}

static void sum_write(const agg_spec *a, void *st, json_w *w)
{
    put_value(a, "value", ((mstate *)st)->sum, true, w);
}

static void avg_write(const agg_spec *a, void *st, json_w *w)
{
    mstate *m = st;
    if (!m->count) {
        jw_key(w, "value");
        jw_null(w);
        return;
    }
    put_value(a, "value", m->sum / (double)m->count, true, w);
}

static void stats_members(const agg_spec *a, const mstate *m, json_w *w)
{
    jw_kint(w, "count", (int64_t)m->count);
    if (m->count) {
        double avg = m->sum / (double)m->count;
        jw_key(w, "min");
        jw_double(w, m->min);
        jw_key(w, "max");
        jw_double(w, m->max);
        jw_key(w, "avg");
        jw_double(w, avg);
        jw_key(w, "sum");
        jw_double(w, m->sum);
        if (a->fmt.kind != FMT_RAW) {
            const double vals[4] = { m->min, m->max, avg, m->sum };
            const char *const names[4] = { "min_as_string", "max_as_string", "avg_as_string", "sum_as_string" };
            for (int i = 0; i < 4; i++) {
                buf b = { 0 };
                agg_format_double(&a->fmt, vals[i], &b);
                jw_kstr(w, names[i], b.p ? b.p : "");
                buf_free(&b);
            }
        }
    } else {
        jw_key(w, "min");
        jw_null(w);
        jw_key(w, "max");
        jw_null(w);
        jw_key(w, "avg");
        jw_null(w);
        jw_key(w, "sum");
        jw_double(w, 0.0);
    }
}

static void stats_write(const agg_spec *a, void *st, json_w *w)
{
    stats_members(a, st, w);
}

static double var_pop(const mstate *m)
{
    double v = (m->sq - (m->sum * m->sum) / (double)m->count) / (double)m->count;
    return v < 0 ? 0 : v;
}

static double var_samp(const mstate *m)
{
    if (m->count < 2) return NAN;
    double v = (m->sq - (m->sum * m->sum) / (double)m->count) / (double)(m->count - 1);
    return v < 0 ? 0 : v;
}

static void dbl_or_null(json_w *w, const char *k, double v)
{
    jw_key(w, k);
    if (isfinite(v)) jw_double(w, v);
    else jw_null(w);
}

static void ext_write(const agg_spec *a, void *st, json_w *w)
{
    mstate *m = st;
    const mparams *p = a->p;
    stats_members(a, m, w);
    static const char *const bnames[6] = { "upper", "lower", "upper_population", "lower_population",
                                           "upper_sampling", "lower_sampling" };
    if (m->count) {
        double avg = m->sum / (double)m->count;
        double vp = var_pop(m), vs = var_samp(m);
        double sp = sqrt(vp), ss = sqrt(vs);
        jw_key(w, "sum_of_squares");
        jw_double(w, m->sq);
        jw_key(w, "variance");
        jw_double(w, vp);
        jw_key(w, "variance_population");
        jw_double(w, vp);
        dbl_or_null(w, "variance_sampling", vs);
        jw_key(w, "std_deviation");
        jw_double(w, sp);
        jw_key(w, "std_deviation_population");
        jw_double(w, sp);
        dbl_or_null(w, "std_deviation_sampling", ss);
        jw_key(w, "std_deviation_bounds");
        jw_obj_begin(w);
        double b[6] = { avg + p->sigma * sp, avg - p->sigma * sp, avg + p->sigma * sp,
                        avg - p->sigma * sp, avg + p->sigma * ss, avg - p->sigma * ss };
        for (int i = 0; i < 6; i++) dbl_or_null(w, bnames[i], b[i]);
        jw_obj_end(w);
        if (a->fmt.kind != FMT_RAW) {
            buf t = { 0 };
            agg_format_double(&a->fmt, m->sq, &t);
            jw_kstr(w, "sum_of_squares_as_string", t.p ? t.p : "");
            buf_reset(&t);
            agg_format_double(&a->fmt, vp, &t);
            jw_kstr(w, "variance_as_string", t.p ? t.p : "");
            buf_reset(&t);
            agg_format_double(&a->fmt, sp, &t);
            jw_kstr(w, "std_deviation_as_string", t.p ? t.p : "");
            buf_free(&t);
        }
    } else {
        const char *const nulls[] = { "sum_of_squares", "variance", "variance_population", "variance_sampling",
                                      "std_deviation", "std_deviation_population", "std_deviation_sampling" };
        for (size_t i = 0; i < ARRAY_LEN(nulls); i++) {
            jw_key(w, nulls[i]);
            jw_null(w);
        }
        jw_key(w, "std_deviation_bounds");
        jw_obj_begin(w);
        for (int i = 0; i < 6; i++) {
            jw_key(w, bnames[i]);
            jw_null(w);
        }
        jw_obj_end(w);
    }
}

static int ext_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    static const char *const known[] = { "field", "missing", "format", "script", "value_type", "sigma", NULL };
    mparams *p = arena_alloc(c->mem, sizeof *p);
    p->sigma = 2.0;
    a->p = p;
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        int r = agg_parse_vs_member(c, a, k, v, err);
        if (r < 0) return -1;
        if (r) continue;
        if (!strcmp(k, "sigma")) {
            if (!agg_json_double(v, &p->sigma))
                return agg_err_x(c, err, v, true, "[extended_stats] failed to parse field [sigma]");
            if (p->sigma < 0)
                return agg_err_x(c, err, v, true, "[sigma] must be greater than or equal to 0. Found [%s] in [%s]",
                                 "negative", a->name);
            continue;
        }
        return agg_err_unknown_field(c, err, v, a->kind->name, k, known);
    }
    return agg_resolve_field(c, a, body, err);
}

static bool single_value(const agg_spec *a, const void *st, const char *which, double *out)
{
    const mstate *m = st;
    if (which) return false;
    if (a->kind == &agg_kind_min) *out = m->count ? m->min : INFINITY;
    else if (a->kind == &agg_kind_max) *out = m->count ? m->max : -INFINITY;
    else if (a->kind == &agg_kind_sum) *out = m->sum;
    else *out = m->count ? m->sum / (double)m->count : NAN;
    return true;
}

static bool stats_value(const agg_spec *a, const void *st, const char *which, double *out)
{
    const mstate *m = st;
    if (!which) return false;
    if (!strcmp(which, "count")) *out = (double)m->count;
    else if (!strcmp(which, "min")) *out = m->count ? m->min : INFINITY;
    else if (!strcmp(which, "max")) *out = m->count ? m->max : -INFINITY;
    else if (!strcmp(which, "sum")) *out = m->sum;
    else if (!strcmp(which, "avg")) *out = m->count ? m->sum / (double)m->count : NAN;
    else if (a->kind == &agg_kind_extended_stats && m->count) {
        if (!strcmp(which, "sum_of_squares")) *out = m->sq;
        else if (!strcmp(which, "variance") || !strcmp(which, "variance_population")) *out = var_pop(m);
        else if (!strcmp(which, "variance_sampling")) *out = var_samp(m);
        else if (!strcmp(which, "std_deviation") || !strcmp(which, "std_deviation_population")) *out = sqrt(var_pop(m));
        else if (!strcmp(which, "std_deviation_sampling")) *out = sqrt(var_samp(m));
        else return false;
    } else return false;
    return true;
}

const agg_kind agg_kind_min = { .name = "min", .flags = AK_FIELD | AK_NUMERIC, .parse = m_parse, .state_new = m_new,
                                .state_free = m_free, .collect = m_collect, .merge = m_merge, .write = min_write,
                                .value = single_value };
const agg_kind agg_kind_max = { .name = "max", .flags = AK_FIELD | AK_NUMERIC, .parse = m_parse, .state_new = m_new,
                                .state_free = m_free, .collect = m_collect, .merge = m_merge, .write = max_write,
                                .value = single_value };
const agg_kind agg_kind_sum = { .name = "sum", .flags = AK_FIELD | AK_NUMERIC, .parse = m_parse, .state_new = m_new,
                                .state_free = m_free, .collect = m_collect, .merge = m_merge, .write = sum_write,
                                .value = single_value };
const agg_kind agg_kind_avg = { .name = "avg", .flags = AK_FIELD | AK_NUMERIC, .parse = m_parse, .state_new = m_new,
                                .state_free = m_free, .collect = m_collect, .merge = m_merge, .write = avg_write,
                                .value = single_value };
const agg_kind agg_kind_stats = { .name = "stats", .flags = AK_FIELD | AK_NUMERIC, .parse = m_parse,
                                  .state_new = m_new, .state_free = m_free, .collect = m_collect, .merge = m_merge,
                                  .write = stats_write, .value = stats_value };
const agg_kind agg_kind_extended_stats = { .name = "extended_stats", .flags = AK_FIELD | AK_NUMERIC,
                                           .parse = ext_parse, .state_new = m_new, .state_free = m_free,
                                           .collect = m_collect, .merge = m_merge, .write = ext_write,
                                           .value = stats_value };

/* ------------------------------------------------------------------------ */
/* value_count                                                              */

typedef struct vc_state {
    uint64_t n;
} vc_state;

static void *vc_new(const agg_spec *a) { return xcalloc(1, sizeof(vc_state)); }

static int vc_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    agg_vals v;
    int n = agg_values(sh, a, doc, &v, err);
    if (n < 0) return -1;
    ((vc_state *)st)->n += (uint64_t)n;
    return 0;
}

static void vc_merge(const agg_spec *a, void *dst, void *src)
{
    ((vc_state *)dst)->n += ((vc_state *)src)->n;
    free(src);
}

static void vc_write(const agg_spec *a, void *st, json_w *w)
{
    jw_kint(w, "value", (int64_t)((vc_state *)st)->n);
}

static bool vc_value(const agg_spec *a, const void *st, const char *which, double *out)
{
    if (which) return false;
    *out = (double)((const vc_state *)st)->n;
    return true;
}

const agg_kind agg_kind_value_count = { .name = "value_count", .flags = AK_FIELD, .parse = m_parse,
                                        .state_new = vc_new, .state_free = m_free, .collect = vc_collect,
                                        .merge = vc_merge, .write = vc_write, .value = vc_value };

/* ------------------------------------------------------------------------ */
/* cardinality (exact)                                                      */

static void *card_new(const agg_spec *a) { return xcalloc(1, sizeof(kmap)); }

static void card_free(const agg_spec *a, void *st)
{
    kmap_free(st);
    free(st);
}

static int card_collect(agg_shard *sh, const agg_spec *a, void *st, uint64_t doc, es_err *err)
{
    agg_vals v;
    int n = agg_values(sh, a, doc, &v, err);
    if (n <= 0) return n;
    const agg_exec *e = &sh->ex[a->id];
    for (int i = 0; i < n; i++) {
        uint8_t key[9];
        if (v.kind == DV_BYTES) {
            kmap_put(st, v.s[i].p, v.s[i].len, NULL);
            continue;
        }
        /* numbers: a tag and the value's bits (doubles normalised so 0.0 == -0.0) */
        if (v.kind == DV_DOUBLE || e->vt == VT_SCALED) {
            double d = agg_val_double(e, &v, (size_t)i);
            if (d == 0) d = 0;
            key[0] = 'D';
            memcpy(key + 1, &d, 8);
        } else {
            key[0] = 'L';
            memcpy(key + 1, &v.l[i], 8);
        }
        kmap_put(st, key, 9, NULL);
    }
    return 0;
}

static void card_merge(const agg_spec *a, void *dst, void *src)
{
    kmap *s = src;
    for (size_t i = 0; i < s->n; i++) {
        size_t len;
        const uint8_t *k = kmap_key(s, i, &len);
        kmap_put(dst, k, len, NULL);
    }
    card_free(a, src);
}

static void card_write(const agg_spec *a, void *st, json_w *w)
{
    jw_kint(w, "value", (int64_t)((kmap *)st)->n);
}

static bool card_value(const agg_spec *a, const void *st, const char *which, double *out)
{
    if (which) return false;
    *out = (double)((const kmap *)st)->n;
    return true;
}

static int card_parse(agg_pctx *c, agg_spec *a, const json_val *body, es_err *err)
{
    static const char *const known[] = { "field", "missing", "format", "script", "value_type",
                                         "precision_threshold", "rehash", "execution_hint", NULL };
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        int r = agg_parse_vs_member(c, a, k, v, err);
        if (r < 0) return -1;
        if (r) continue;
        if (!strcmp(k, "precision_threshold")) {
            int64_t x;
            if (!agg_json_int(v, &x)) return agg_err_x(c, err, v, true, "[cardinality] failed to parse field [precision_threshold]");
            if (x < 0)
                return agg_err_x(c, err, v, true,
                                 "[precisionThreshold] must be greater than or equal to 0. Found [%lld] in [%s]",
                                 (long long)x, a->name);
            continue;
        }
        if (!strcmp(k, "rehash") || !strcmp(k, "execution_hint")) continue;
        return agg_err_unknown_field(c, err, v, a->kind->name, k, known);
    }
    return agg_resolve_field(c, a, body, err);
}

const agg_kind agg_kind_cardinality = { .name = "cardinality", .flags = AK_FIELD, .parse = card_parse,
                                        .state_new = card_new, .state_free = card_free, .collect = card_collect,
                                        .merge = card_merge, .write = card_write, .value = card_value };
