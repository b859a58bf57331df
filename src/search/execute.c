/*
 * execute.c — running a parsed search request over shard searchers (query
 * phase, merged top hits, shard failures) and writing Elasticsearch's answer
 * (fetch phase: _source filtering, fields, docvalue_fields, sort values).
 */
#include "search/search_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Floats as Java writes them                                               */

size_t search_fmt_float(float f, char *out)
{
    if (isnan(f)) return (size_t)sprintf(out, "NaN");
    if (isinf(f)) return (size_t)sprintf(out, f > 0 ? "Infinity" : "-Infinity");
    if (f == 0) return (size_t)sprintf(out, signbit(f) ? "-0.0" : "0.0");
    char e[32];
    int p;
    for (p = 1; p <= 9; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, (double)f);
        if (strtof(e, NULL) == f) break;
    }
    /* e = [-]d[.ddd]e[+-]XX */
    bool neg = e[0] == '-';
    const char *m = neg ? e + 1 : e;
    char digits[16];
    size_t nd = 0;
    const char *q = m;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char *o = out;
    if (neg) *o++ = '-';
    float a = fabsf(f);
    if (a >= 1e-3f && a < 1e7f) {
        if (exp >= 0) {
            for (int i = 0; i <= exp; i++) *o++ = (size_t)i < nd ? digits[i] : '0';
            *o++ = '.';
            if ((size_t)(exp + 1) < nd)
                for (size_t i = (size_t)exp + 1; i < nd; i++) *o++ = digits[i];
            else *o++ = '0';
        } else {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -exp - 1; i++) *o++ = '0';
            for (size_t i = 0; i < nd; i++) *o++ = digits[i];
        }
    } else {
        *o++ = digits[0];
        *o++ = '.';
        if (nd > 1)
            for (size_t i = 1; i < nd; i++) *o++ = digits[i];
        else *o++ = '0';
        o += sprintf(o, "E%d", exp);
    }
    *o = 0;
    return (size_t)(o - out);
}

static void jw_float(json_w *w, float f)
{
    if (isnan(f)) {
        jw_null(w);
        return;
    }
    char b[48];
    size_t n = search_fmt_float(f, b);
    jw_raw(w, b, n);
}

/* ======================================================================== */
/* Shards                                                                   */

int search_shards_open(store *st, index_view **views, size_t n_views, shard_searcher ***out, size_t *n, es_err *err)
{
    size_t total = 0;
    for (size_t i = 0; i < n_views; i++) total += store_index_num_shards(views[i]->si);
    shard_searcher **s = xcalloc(total ? total : 1, sizeof *s);
    size_t k = 0;
    for (size_t i = 0; i < n_views; i++) {
        uint32_t ns = store_index_num_shards(views[i]->si);
        for (uint32_t j = 0; j < ns; j++) {
            if (shard_searcher_open(st, views[i], j, &s[k], err) < 0) {
                search_shards_close(s, k);
                return -1;
            }
            k++;
        }
    }
    *out = s;
    *n = k;
    return 0;
}

void search_shards_close(shard_searcher **s, size_t n)
{
    if (!s) return;
    for (size_t i = 0; i < n; i++) shard_searcher_close(s[i]);
    free(s);
}

/* ======================================================================== */
/* Aggregations hook                                                        */

static const search_aggs_ops *aggs_engine;
void search_register_aggs(const search_aggs_ops *ops) { aggs_engine = ops; }
const search_aggs_ops *search_aggs_engine(void) { return aggs_engine; }

/* ======================================================================== */
/* Execution                                                                */

static void copy_err(es_err *dst, const es_err *src)
{
    memset(dst, 0, sizeof *dst);
    es_err_set(dst, src->type, "%s", src->reason ? src->reason : "");
    dst->status = src->status;
    dst->type_name = src->type_name;
    for (size_t i = 0; i < src->n_extra; i++) es_err_extra(dst, src->extra[i].key, src->extra[i].value, src->extra[i].raw);
    if (src->caused_by) {
        es_err *c = xcalloc(1, sizeof *c);
        copy_err(c, src->caused_by);
        es_err_cause(dst, c);
    }
}

static void write_error_object(json_w *w, const es_err *e)
{
    jw_obj_begin(w);
    jw_kstr(w, "type", es_err_type_name(e));
    jw_kstr(w, "reason", e->reason ? e->reason : "");
    for (size_t i = 0; i < e->n_extra; i++) {
        jw_key(w, e->extra[i].key);
        if (e->extra[i].raw) jw_raw(w, e->extra[i].value, strlen(e->extra[i].value));
        else jw_str(w, e->extra[i].value);
    }
    if (e->caused_by) {
        jw_key(w, "caused_by");
        write_error_object(w, e->caused_by);
    }
    jw_obj_end(w);
}

static void write_failure(json_w *w, const shard_outcome *o, shard_searcher *s)
{
    jw_obj_begin(w);
    jw_kint(w, "shard", shard_searcher_shard(s));
    jw_kstr(w, "index", shard_searcher_view(s)->name);
    char node[23];
    store_node_ids(s->st, node, NULL);
    jw_kstr(w, "node", node);
    jw_key(w, "reason");
    write_error_object(w, &o->err);
    jw_obj_end(w);
}

int search_execute(const search_request *req, shard_searcher **shards, size_t n_shards, search_collector **extra,
                   size_t n_extra, search_result *res, es_err *err)
{
    memset(res, 0, sizeof *res);
    int64_t t0 = mono_nanos();
    res->n_shards = (uint32_t)n_shards;
    res->shards = xcalloc(n_shards ? n_shards : 1, sizeof *res->shards);
    res->max_score = NAN;
    res->sorts = req->sorts;
    res->n_sorts = req->n_sorts;
    res->has_terminated_early = req->terminate_after > 0;
    size_t k = req->is_count ? 0 : (size_t)(req->from + req->size);
    int64_t track = req->is_count ? INT64_MAX : req->track_total_hits;
    topk_collector *tk = topk_new(k, req->sorts, req->n_sorts, req->track_scores, track, req->search_after);
    res->internal = tk;
    search_collector **cs = xcalloc(n_extra + 2, sizeof *cs);
    search_collector **post = xcalloc(2, sizeof *post);
    size_t ncs = 0, npost = 0;
    if (req->post_filter) post[npost++] = topk_collector_of(tk);
    else cs[ncs++] = topk_collector_of(tk);
    for (size_t i = 0; i < n_extra; i++) cs[ncs++] = extra[i];
    collect_opts co = { 0 };
    co.has_min_score = req->has_min_score;
    co.min_score = req->min_score;
    co.terminate_after = req->terminate_after;
    co.post_filter = req->post_filter;
    if (req->timeout_ms >= 0) co.deadline_ns = t0 + req->timeout_ms * 1000000;
    if (req->post_filter && !npost) co.post_filter = NULL;
    for (size_t i = 0; i < n_shards; i++) {
        collect_result cr;
        es_err e = { 0 };
        if (shard_collect(shards[i], (uint32_t)i, req->query, cs, ncs, post, npost, &co, &cr, &e) < 0) {
            res->shards[i].failed = true;
            res->shards[i].err = e;
            res->n_failed++;
            continue;
        }
        if (cr.timed_out) res->timed_out = true;
        if (cr.terminated_early) res->terminated_early = true;
    }
    free(cs);
    free(post);
    if (n_shards && res->n_failed == n_shards) {
        /* search_phase_execution_exception "all shards failed" */
        const es_err *first = &res->shards[0].err;
        int status = first->status ? first->status : es_error_status(first->type);
        es_err_set(err, ES_INTERNAL, "all shards failed");
        err->type_name = "search_phase_execution_exception";
        err->status = status;
        es_err_extra(err, "phase", "query", false);
        es_err_extra(err, "grouped", "true", true);
        buf b = { 0 };
        json_w w;
        jw_init(&w, &b, false);
        jw_arr_begin(&w);
        /* grouped: one failure per distinct (index, reason) */
        for (size_t i = 0; i < n_shards; i++) {
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = !strcmp(shard_searcher_view(shards[j])->name, shard_searcher_view(shards[i])->name) &&
                      res->shards[j].err.reason && res->shards[i].err.reason &&
                      !strcmp(res->shards[j].err.reason, res->shards[i].err.reason);
            if (!dup) write_failure(&w, &res->shards[i], shards[i]);
        }
        jw_arr_end(&w);
        es_err_extra(err, "failed_shards", b.p, true);
        buf_free(&b);
        es_err *cause = xcalloc(1, sizeof *cause);
        copy_err(cause, first);
        es_err_cause(err, cause);
        search_result_free(res);
        return -1;
    }
    res->total = topk_total(tk, &res->total_gte);
    res->max_score = topk_max_score(tk);
    size_t nh;
    const search_hit *hits = topk_hits(tk, &nh);
    size_t from = (size_t)req->from;
    if (from < nh) {
        res->n_hits = nh - from;
        if (res->n_hits > (size_t)req->size) res->n_hits = (size_t)req->size;
        res->hits = xcalloc(res->n_hits, sizeof *res->hits);
        memcpy(res->hits, hits + from, res->n_hits * sizeof *res->hits);
    }
    res->took_ms = (mono_nanos() - t0) / 1000000;
    return 0;
}

void search_result_free(search_result *res)
{
    if (!res) return;
    for (uint32_t i = 0; i < res->n_shards; i++) es_err_free(&res->shards[i].err);
    free(res->shards);
    free(res->hits);
    topk_free(res->internal);
    memset(res, 0, sizeof *res);
}

/* ======================================================================== */
/* Response                                                                 */

void search_write_shards(json_w *w, const search_result *res, shard_searcher **shards)
{
    jw_key(w, "_shards");
    jw_obj_begin(w);
    jw_kint(w, "total", res->n_shards);
    jw_kint(w, "successful", res->n_shards - res->n_failed);
    jw_kint(w, "skipped", 0);
    jw_kint(w, "failed", res->n_failed);
    if (res->n_failed) {
        jw_key(w, "failures");
        jw_arr_begin(w);
        for (uint32_t i = 0; i < res->n_shards; i++)
            if (res->shards[i].failed) write_failure(w, &res->shards[i], shards[i]);
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

static void write_source(json_w *w, const source_filter *sf, const void *src, size_t len)
{
    source_filter_write(sf->includes, sf->n_includes, sf->excludes, sf->n_excludes, src, len, w);
}

/* ------------------------------------------------------------------------ */
/* fields / docvalue_fields                                                 */

static void ip_to_text(const uint8_t *ip, char *out)
{
    static const uint8_t v4[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (!memcmp(ip, v4, 12)) {
        sprintf(out, "%u.%u.%u.%u", ip[12], ip[13], ip[14], ip[15]);
        return;
    }
    /* RFC 5952: longest run of zero groups as :: */
    unsigned g[8];
    for (int i = 0; i < 8; i++) g[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
    int best = -1, bestlen = 0;
    for (int i = 0; i < 8;) {
        if (g[i]) { i++; continue; }
        int j = i;
        while (j < 8 && !g[j]) j++;
        if (j - i > bestlen && j - i > 1) { best = i; bestlen = j - i; }
        i = j;
    }
    char *o = out;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            o += sprintf(o, "::");
            i += bestlen - 1;
            continue;
        }
        if (i && o[-1] != ':') *o++ = ':';
        o += sprintf(o, "%x", g[i]);
    }
    *o = 0;
}

static void write_date(json_w *w, int64_t v, bool nanos)
{
    int64_t sec = nanos ? (v >= 0 ? v / 1000000000 : -((-v + 999999999) / 1000000000)) : (v >= 0 ? v / 1000 : -((-v + 999) / 1000));
    int32_t ns = (int32_t)(nanos ? v - sec * 1000000000 : (v - sec * 1000) * 1000000);
    buf b = { 0 };
    date_format_iso(sec, ns, &b);
    /* Elasticsearch's strict_date_optional_time printer keeps milliseconds */
    if (!nanos && !strchr(b.p, '.') && b.len && b.p[b.len - 1] == 'Z') {
        b.len--;
        buf_puts(&b, ".000Z");
    }
    jw_strn(w, b.p, b.len);
    buf_free(&b);
}

/* A number through a java.text.DecimalFormat pattern ("#.0", "0.00", "#"): fraction digits only. */
static void write_decimal(json_w *w, double d, const char *pattern)
{
    const char *dot = strchr(pattern, '.');
    int min = 0, max = 0;
    if (dot)
        for (const char *p = dot + 1; *p; p++) {
            if (*p == '0') { min++; max++; }
            else if (*p == '#') max++;
        }
    char b[64];
    snprintf(b, sizeof b, "%.*f", max, d);
    if (max > min) {
        char *e = b + strlen(b);
        int frac = max;
        while (frac > min && e[-1] == '0') { *--e = 0; frac--; }
        if (frac == 0 && e[-1] == '.') *--e = 0;
    }
    jw_str(w, b);
}

static bool decimal_pattern(const char *f)
{
    if (!f || !*f) return false;
    for (const char *p = f; *p; p++)
        if (!strchr("#0.,", *p)) return false;
    return true;
}

static void write_dv_values(json_w *w, dv_reader *r, const dv_values *v, const char *format)
{
    const mfield *f = dv_reader_field(r);
    if (decimal_pattern(format) && (dv_reader_kind(r) == DV_DOUBLE ||
                                    (dv_reader_kind(r) == DV_LONG && f->type != FT_DATE && f->type != FT_DATE_NANOS &&
                                     f->type != FT_BOOLEAN))) {
        for (size_t i = 0; i < v->n; i++)
            write_decimal(w, dv_reader_kind(r) == DV_DOUBLE ? v->d[i]
                             : f->type == FT_SCALED_FLOAT ? (double)v->l[i] / f->scaling_factor
                                                           : (double)v->l[i],
                          format);
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        switch (dv_reader_kind(r)) {
        case DV_LONG:
            if (f->type == FT_DATE || f->type == FT_DATE_NANOS) {
                if (format && !strcmp(format, "epoch_millis")) {
                    char t[32];
                    snprintf(t, sizeof t, "%lld", (long long)(f->type == FT_DATE_NANOS ? v->l[i] / 1000000 : v->l[i]));
                    jw_str(w, t);
                } else {
                    write_date(w, v->l[i], f->type == FT_DATE_NANOS);
                }
            } else if (f->type == FT_BOOLEAN) jw_bool(w, v->l[i] != 0);
            else if (f->type == FT_SCALED_FLOAT) jw_double(w, (double)v->l[i] / f->scaling_factor);
            else jw_int(w, v->l[i]);
            break;
        case DV_ULONG:
            jw_uint(w, (uint64_t)v->l[i]);
            break;
        case DV_DOUBLE:
            if (f->type == FT_FLOAT || f->type == FT_HALF_FLOAT) jw_float(w, (float)v->d[i]);
            else jw_double(w, v->d[i]);
            break;
        case DV_BYTES:
            if (f->type == FT_IP) {
                char t[64];
                ip_to_text((const uint8_t *)v->s[i].p, t);
                jw_str(w, t);
            } else {
                jw_strn(w, v->s[i].p, v->s[i].len);
            }
            break;
        default:
            break;
        }
    }
}

/* "fields": values from _source for mapped leaf fields matching the patterns. */
typedef struct fval {
    const char *name;
    buf vals;          /* comma-separated JSON values */
    size_t n;
} fval;

static fval *fval_get(fval **arr, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].name, name)) return &(*arr)[i];
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    fval *f = &(*arr)[(*n)++];
    memset(f, 0, sizeof *f);
    f->name = name;
    return f;
}

static void fval_add_json(fval *f, const char *json, size_t len)
{
    if (f->n) buf_putc(&f->vals, ',');
    buf_append(&f->vals, json, len);
    f->n++;
}

static void source_leaf_values(const mapping *m, const field_and_format *pats, size_t np, const json_val *v,
                               const char *path, fval **out, size_t *nout, arena *mem);

static void emit_leaf(const mapping *m, const field_and_format *pats, size_t np, const json_val *v, const char *path,
                      fval **out, size_t *nout, arena *mem)
{
    const mfield *f = mapping_field(m, path);
    if (!f || field_type_is_object(f->type)) return;
    /* the field itself and its multi-fields */
    for (size_t k = 0; k <= f->n_fields; k++) {
        const mfield *g = k == 0 ? f : f->fields[k - 1];
        bool want = false;
        for (size_t i = 0; i < np && !want; i++) want = indices_simple_match(pats[i].field, g->path);
        if (!want) continue;
        buf b = { 0 };
        json_w w;
        jw_init(&w, &b, false);
        if (json_is_number(v) && (g->type == FT_KEYWORD || g->type == FT_TEXT)) {
            const char *t;
            size_t tl;
            char tmp[40];
            if (json_type_of(v) == JSON_INT) snprintf(tmp, sizeof tmp, "%lld", (long long)json_int(v));
            else if ((t = json_num_text(v, &tl))) snprintf(tmp, sizeof tmp, "%.*s", (int)tl, t);
            else json_fmt_double(json_num(v), tmp);
            jw_str(&w, tmp);
        } else if (json_type_of(v) == JSON_STRING && (g->type == FT_LONG || g->type == FT_INTEGER ||
                                                       g->type == FT_SHORT || g->type == FT_BYTE)) {
            size_t sl;
            const char *s = json_str(v, &sl);
            jw_int(&w, strtoll(s, NULL, 10));
        } else if (json_type_of(v) == JSON_STRING && (g->type == FT_DOUBLE || g->type == FT_FLOAT)) {
            size_t sl;
            jw_double(&w, strtod(json_str(v, &sl), NULL));
        } else if (json_is_number(v) && g->type == FT_DOUBLE) {
            jw_double(&w, json_num(v));
        } else if (json_is_number(v) && (g->type == FT_FLOAT || g->type == FT_HALF_FLOAT)) {
            jw_float(&w, (float)json_num(v));
        } else if (json_type_of(v) == JSON_BOOL && g->type == FT_KEYWORD) {
            jw_str(&w, json_bool(v) ? "true" : "false");
        } else if (g->type == FT_DATE && json_type_of(v) == JSON_STRING) {
            size_t sl;
            const char *s = json_str(v, &sl);
            int64_t ms;
            if (g->format && date_format_parse_millis(g->format, s, sl, &ms)) write_date(&w, ms, false);
            else jw_val(&w, v);
        } else if (g->type == FT_DATE && json_type_of(v) == JSON_INT) {
            write_date(&w, json_int(v), false);
        } else {
            jw_val(&w, v);
        }
        fval_add_json(fval_get(out, nout, arena_strndup(mem, g->path, strlen(g->path))), b.p, b.len);
        buf_free(&b);
    }
}

static void source_leaf_values(const mapping *m, const field_and_format *pats, size_t np, const json_val *v,
                               const char *path, fval **out, size_t *nout, arena *mem)
{
    if (json_type_of(v) == JSON_OBJECT) {
        json_iter it = json_iter_begin(v);
        const char *k;
        size_t kl;
        const json_val *x;
        while ((x = json_iter_next(&it, &k, &kl))) {
            char *full = path[0] ? xasprintf("%s.%.*s", path, (int)kl, k) : xstrndup(k, kl);
            source_leaf_values(m, pats, np, x, full, out, nout, mem);
            free(full);
        }
        return;
    }
    if (json_type_of(v) == JSON_ARRAY) {
        for (size_t i = 0; i < json_len(v); i++) source_leaf_values(m, pats, np, json_arr_get(v, i), path, out, nout, mem);
        return;
    }
    if (json_is_null(v)) return;
    emit_leaf(m, pats, np, v, path, out, nout, mem);
}

static int cmp_fval(const void *a, const void *b)
{
    return strcmp(((const fval *)a)->name, ((const fval *)b)->name);
}

static void write_fields(json_w *w, const search_request *req, shard_searcher *s, const store_doc *doc)
{
    if (!req->n_fields && !req->n_docvalue_fields) return;
    arena mem = { 0 };
    fval *vals = NULL;
    size_t nv = 0;
    const mapping *m = shard_searcher_view(s)->mapping;
    if (req->n_fields) {
        json_doc *d = json_parse(doc->source, doc->srclen, NULL, NULL);
        if (d) {
            source_leaf_values(m, req->fields, req->n_fields, json_doc_root(d), "", &vals, &nv, &mem);
            json_doc_free(d);
        }
    }
    for (size_t i = 0; i < req->n_docvalue_fields; i++) {
        const mfield **fs;
        size_t n = expand_fields(s, req->docvalue_fields[i].field, &fs, &mem);
        for (size_t k = 0; k < n; k++) {
            dv_reader *r = dv_open(s, fs[k]->path);
            if (!r) continue;
            dv_values v;
            es_err e = { 0 };
            if (dv_read(r, doc->docnum, &v, &e) == 1) {
                buf b = { 0 };
                json_w bw;
                jw_init(&bw, &b, false);
                jw_arr_begin(&bw);
                write_dv_values(&bw, r, &v, req->docvalue_fields[i].format);
                jw_arr_end(&bw);
                /* strip the brackets: values are appended */
                fval *f = fval_get(&vals, &nv, arena_strndup(&mem, fs[k]->path, strlen(fs[k]->path)));
                if (!f->n) fval_add_json(f, b.p + 1, b.len - 2);
                f->n += v.n - 1;
                buf_free(&b);
            }
            es_err_free(&e);
            dv_close(r);
        }
    }
    if (nv) {
        qsort(vals, nv, sizeof *vals, cmp_fval);
        jw_key(w, "fields");
        jw_obj_begin(w);
        for (size_t i = 0; i < nv; i++) {
            jw_key(w, vals[i].name);
            buf b = { 0 };
            buf_putc(&b, '[');
            buf_append(&b, vals[i].vals.p, vals[i].vals.len);
            buf_putc(&b, ']');
            jw_raw(w, b.p, b.len);
            buf_free(&b);
            buf_free(&vals[i].vals);
        }
        jw_obj_end(w);
    }
    free(vals);
    arena_free(&mem);
}

/* Formats an instant with a date format's first alternative: the named ISO formats, epoch_millis,
 * epoch_second, or a Java pattern (y M d H h m s S a, 'literals'). */
static void format_date(buf *out, int64_t v, bool nanos, const char *fmt)
{
    char *spec = xstrdup(fmt);
    char *bars = strstr(spec, "||");
    if (bars) *bars = 0;
    int64_t ns_total = nanos ? v : v * 1000000;
    int64_t sec = ns_total >= 0 ? ns_total / 1000000000 : -((-ns_total + 999999999) / 1000000000);
    int64_t nsr = ns_total - sec * 1000000000;
    if (!strcmp(spec, "epoch_millis")) {
        buf_printf(out, "%lld", (long long)(nanos ? v / 1000000 : v));
    } else if (!strcmp(spec, "epoch_second")) {
        buf_printf(out, "%lld", (long long)sec);
    } else if (!strchr(spec, 'y') && !strchr(spec, 'u')) {
        /* a named ISO format */
        buf b = { 0 };
        date_format_iso(sec, (int32_t)nsr, &b);
        if (!strchr(b.p, '.') && b.len && b.p[b.len - 1] == 'Z') {
            b.len--;
            buf_puts(&b, ".000Z");
        }
        buf_append(out, b.p, b.len);
        buf_free(&b);
    } else {
        int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
        int64_t rem = sec - days * 86400;
        /* civil from days */
        int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
        int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
        static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        for (const char *p = spec; *p;) {
            char c = *p;
            size_t n = 1;
            while (p[n] == c) n++;
            if (c == '\'') {
                const char *e = strchr(p + 1, '\'');
                if (!e) break;
                if (e == p + 1) buf_putc(out, '\'');
                else buf_append(out, p + 1, (size_t)(e - p - 1));
                p = e + 1;
                continue;
            }
            switch (c) {
            case 'y': case 'u':
                if (n == 2) buf_printf(out, "%02lld", (long long)(y % 100));
                else buf_printf(out, "%0*lld", (int)n, (long long)y);
                break;
            case 'M':
                if (n >= 3) buf_puts(out, mon[m - 1]);
                else buf_printf(out, "%0*u", (int)n, m);
                break;
            case 'd': buf_printf(out, "%0*u", (int)n, d); break;
            case 'H': buf_printf(out, "%0*u", (int)n, (unsigned)(rem / 3600)); break;
            case 'h': buf_printf(out, "%0*u", (int)n, (unsigned)((rem / 3600) % 12 ? (rem / 3600) % 12 : 12)); break;
            case 'a': buf_puts(out, rem / 3600 < 12 ? "AM" : "PM"); break;
            case 'm': buf_printf(out, "%0*u", (int)n, (unsigned)(rem / 60 % 60)); break;
            case 's': buf_printf(out, "%0*u", (int)n, (unsigned)(rem % 60)); break;
            case 'S': {
                char frac[16];
                snprintf(frac, sizeof frac, "%09lld", (long long)nsr);
                buf_append(out, frac, n > 9 ? 9 : n);
                break;
            }
            case 'X': case 'Z': case 'x': buf_puts(out, c == 'X' ? "Z" : "+0000"); break;
            default: buf_append(out, p, n); break;
            }
            p += n;
        }
    }
    free(spec);
}

static void write_sort_value(json_w *w, const sort_value *v, const sort_spec *sp, shard_searcher *s)
{
    switch (v->kind) {
    case SV_NULL: jw_null(w); break;
    case SV_LONG:
        if (sp && sp->kind == SORT_FIELD && sp->format && s) {
            const mfield *f = searcher_field(s, sp->field);
            if (f && (f->type == FT_DATE || f->type == FT_DATE_NANOS) && v->l != INT64_MAX && v->l != INT64_MIN) {
                buf b = { 0 };
                bool nanos = sp->numeric_type ? !strcmp(sp->numeric_type, "date_nanos") : f->type == FT_DATE_NANOS;
                format_date(&b, v->l, nanos, sp->format);
                jw_strn(w, b.p, b.len);
                buf_free(&b);
                break;
            }
        }
        jw_int(w, v->l);
        break;
    case SV_ULONG: jw_uint(w, (uint64_t)v->l); break;
    case SV_DOUBLE:
        if (sp && sp->kind == SORT_SCORE) jw_float(w, (float)v->d);
        else if (isinf(v->d)) jw_raw(w, v->d > 0 ? "Infinity" : "-Infinity", v->d > 0 ? 8 : 9);
        else jw_double(w, v->d);
        break;
    case SV_STR:
        if (sp && sp->kind == SORT_FIELD && s) {
            const mfield *f = searcher_field(s, sp->field);
            if (f && f->type == FT_IP && v->slen == 16) {
                char t[64];
                ip_to_text((const uint8_t *)v->s, t);
                jw_str(w, t);
                break;
            }
        }
        jw_strn(w, v->s, v->slen);
        break;
    }
}

int search_write_hit(const search_request *req, const search_result *res, const search_hit *h, shard_searcher *s,
                     json_w *w, es_err *err)
{
    store_doc doc;
    int rc = shard_searcher_doc(s, h->docnum, &doc, err);
    if (rc < 0) return -1;
    index_view *v = shard_searcher_view(s);
    jw_obj_begin(w);
    if (req->explain) {
        char sh[300], node[23];
        snprintf(sh, sizeof sh, "[%s][%u]", v->name, shard_searcher_shard(s));
        jw_kstr(w, "_shard", sh);
        store_node_ids(s->st, node, NULL);
        jw_kstr(w, "_node", node);
    }
    jw_kstr(w, "_index", v->name);
    if (rc == 1 && !req->stored_fields_none) {
        jw_key(w, "_id");
        jw_strn(w, doc.id, doc.idlen);
    }
    if (rc == 1 && req->version) jw_kint(w, "_version", doc.version);
    if (rc == 1 && req->seq_no_primary_term) {
        jw_kint(w, "_seq_no", doc.seq_no);
        jw_kint(w, "_primary_term", doc.primary_term);
    }
    jw_key(w, "_score");
    jw_float(w, h->score);
    if (rc == 1 && doc.routing && !req->stored_fields_none) {
        jw_key(w, "_routing");
        jw_strn(w, doc.routing, doc.routing_len);
    }
    bool want_source = req->source.fetch && !req->stored_fields_none;
    if (req->has_stored_fields && !req->source.n_includes && !req->source.n_excludes &&
        !(req->body && json_obj_get(req->body, "_source"))) {
        /* stored_fields without an explicit _source: only when "_source" is one of them */
        bool listed = false;
        for (size_t i = 0; i < req->n_stored_fields; i++) listed |= !strcmp(req->stored_fields[i], "_source");
        want_source = want_source && listed;
    }
    if (rc == 1 && want_source && mapping_source_enabled(v->mapping)) {
        jw_key(w, "_source");
        write_source(w, &req->source, doc.source, doc.srclen);
    }
    if (rc == 1) write_fields(w, req, s, &doc);
    if (req->explain) {
        /* the score only: ferry does not build Lucene's explanation tree */
        jw_key(w, "_explanation");
        jw_obj_begin(w);
        jw_key(w, "value");
        jw_float(w, isnan(h->score) ? 1.0f : h->score);
        jw_kstr(w, "description", "score");
        jw_key(w, "details");
        jw_arr_begin(w);
        jw_arr_end(w);
        jw_obj_end(w);
    }
    if (res->n_sorts && h->sort) {
        jw_key(w, "sort");
        jw_arr_begin(w);
        for (size_t i = 0; i < res->n_sorts; i++) write_sort_value(w, &h->sort[i], &res->sorts[i], s);
        jw_arr_end(w);
    }
    jw_obj_end(w);
    return 0;
}

int search_write_response(const search_request *req, const search_result *res, shard_searcher **shards, json_w *w,
                          search_member_writer extra_writer, void *extra_ctx, search_member_writer aggs_writer,
                          void *aggs_ctx, es_err *err)
{
    jw_obj_begin(w);
    if (extra_writer) extra_writer(w, extra_ctx);
    jw_kint(w, "took", res->took_ms);
    jw_kbool(w, "timed_out", res->timed_out);
    if (res->has_terminated_early) jw_kbool(w, "terminated_early", res->terminated_early);
    search_write_shards(w, res, shards);
    jw_key(w, "hits");
    jw_obj_begin(w);
    if (req->track_total_hits == -1 && req->rest_total_hits_as_int) {
        jw_kint(w, "total", -1);
    } else if (req->track_total_hits != -1) {
        jw_key(w, "total");
        if (req->rest_total_hits_as_int) {
            jw_uint(w, res->total);
        } else {
            jw_obj_begin(w);
            jw_kint(w, "value", (int64_t)res->total);
            jw_kstr(w, "relation", res->total_gte ? "gte" : "eq");
            jw_obj_end(w);
        }
    }
    jw_key(w, "max_score");
    jw_float(w, res->max_score);
    jw_key(w, "hits");
    jw_arr_begin(w);
    for (size_t i = 0; i < res->n_hits; i++)
        if (search_write_hit(req, res, &res->hits[i], shards[res->hits[i].shard_index], w, err) < 0) return -1;
    jw_arr_end(w);
    jw_obj_end(w);
    if (aggs_writer) aggs_writer(w, aggs_ctx);
    jw_obj_end(w);
    return 0;
}
