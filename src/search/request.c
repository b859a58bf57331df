/*
 * request.c — parsing a _search / _count request (body + URL parameters)
 * into a search_request, with Elasticsearch's validation and errors.
 */
#include "search/search_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

query *query_from_uri(query_parse_ctx *ctx, const char *q, const char *df, const char *default_operator,
                      const char *an_name, bool lenient, bool lenient_set, es_err *err);

static int bad(es_err *err, const char *fmt, const char *a)
{
    es_err_set(err, ES_ILLEGAL_ARGUMENT, fmt, a);
    return -1;
}

/* A JSON string copied into the arena (its length in *len). */
static char *jdup(arena *m, const json_val *v, size_t *len)
{
    const char *s = json_str(v, len);
    return arena_strndup(m, s ? s : "", s ? *len : 0);
}

static char *adup(arena *m, const char *s)
{
    return s ? arena_strndup(m, s, strlen(s)) : NULL;
}

/* Splits a comma-separated list into the arena. */
static size_t split_list(arena *m, const char *s, const char ***out)
{
    size_t n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    const char **v = arena_alloc(m, (n + 1) * sizeof *v);
    size_t k = 0;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == ',' || !*p) {
            if (p > start) v[k++] = arena_strndup(m, start, (size_t)(p - start));
            if (!*p) break;
            start = p + 1;
        }
    }
    *out = v;
    return k;
}

static int parse_source_filter(query_parse_ctx *ctx, const json_val *v, source_filter *sf, es_err *err)
{
    arena *m = ctx->mem;
    switch (json_type_of(v)) {
    case JSON_BOOL:
        sf->fetch = json_bool(v);
        return 0;
    case JSON_STRING: {
        size_t n;
        sf->fetch = true;
        sf->includes = arena_alloc(m, sizeof *sf->includes);
        sf->includes[0] = jdup(m, v, &n);
        sf->n_includes = 1;
        return 0;
    }
    case JSON_ARRAY: {
        sf->fetch = true;
        sf->n_includes = json_len(v);
        sf->includes = arena_alloc(m, (sf->n_includes + 1) * sizeof *sf->includes);
        for (size_t i = 0; i < sf->n_includes; i++) {
            size_t n;
            const char *s = json_str(json_arr_get(v, i), &n);
            if (!s) {
                qerr_parsing(err, ctx, json_arr_get(v, i), false, "Unknown key for a %s in [_source].",
                             json_token_name(json_arr_get(v, i)));
                return -1;
            }
            sf->includes[i] = arena_strndup(m, s, n);
        }
        return 0;
    }
    case JSON_OBJECT: {
        sf->fetch = true;
        json_iter it = json_iter_begin(v);
        const char *k;
        size_t kl;
        const json_val *x;
        while ((x = json_iter_next(&it, &k, &kl))) {
            const char ***dst;
            size_t *dn;
            if (!strcmp(k, "includes") || !strcmp(k, "include")) { dst = &sf->includes; dn = &sf->n_includes; }
            else if (!strcmp(k, "excludes") || !strcmp(k, "exclude")) { dst = &sf->excludes; dn = &sf->n_excludes; }
            else {
                qerr_parsing(err, ctx, x, false, "Unknown key for a %s in [%s].", json_token_name(x), k);
                return -1;
            }
            if (json_type_of(x) == JSON_STRING) {
                size_t n;
                *dst = arena_alloc(m, sizeof **dst);
                (*dst)[0] = jdup(m, x, &n);
                *dn = 1;
            } else if (json_type_of(x) == JSON_ARRAY) {
                *dn = json_len(x);
                *dst = arena_alloc(m, (*dn + 1) * sizeof **dst);
                for (size_t i = 0; i < *dn; i++) {
                    size_t n;
                    const char *s = json_str(json_arr_get(x, i), &n);
                    if (!s) {
                        qerr_parsing(err, ctx, json_arr_get(x, i), false, "Unknown key for a %s in [%s].",
                                     json_token_name(json_arr_get(x, i)), k);
                        return -1;
                    }
                    (*dst)[i] = arena_strndup(m, s, n);
                }
            } else {
                qerr_parsing(err, ctx, x, false, "Unknown key for a %s in [%s].", json_token_name(x), k);
                return -1;
            }
        }
        return 0;
    }
    default:
        qerr_parsing(err, ctx, v, false, "Unknown key for a %s in [_source].", json_token_name(v));
        return -1;
    }
}

static int sort_order(const char *o, bool *desc, es_err *err)
{
    if (!strcasecmp(o, "asc")) *desc = false;
    else if (!strcasecmp(o, "desc")) *desc = true;
    else return bad(err, "Unknown SortOrder [%s]", o);
    return 0;
}

static void sort_init(sort_spec *s, const char *name, arena *m)
{
    memset(s, 0, sizeof *s);
    if (!strcmp(name, "_score")) {
        s->kind = SORT_SCORE;
        s->desc = true;
    } else if (!strcmp(name, "_doc")) {
        s->kind = SORT_DOC;
    } else {
        s->kind = SORT_FIELD;
        s->field = adup(m, name);
    }
}

static int parse_sort_entry(query_parse_ctx *ctx, const json_val *e, sort_spec *s, es_err *err)
{
    size_t n;
    if (json_type_of(e) == JSON_STRING) {
        sort_init(s, json_str(e, &n), ctx->mem);
        return 0;
    }
    if (json_type_of(e) != JSON_OBJECT || json_len(e) != 1) {
        qerr_parsing(err, ctx, e, false, "[sort] unknown token [%s]", json_token_name(e));
        return -1;
    }
    json_iter it = json_iter_begin(e);
    const char *name;
    size_t nl;
    const json_val *v = json_iter_next(&it, &name, &nl);
    sort_init(s, name, ctx->mem);
    if (json_type_of(v) == JSON_STRING) return sort_order(json_str(v, &n), &s->desc, err);
    if (json_type_of(v) != JSON_OBJECT) {
        qerr_parsing(err, ctx, v, false, "[sort] unknown token [%s]", json_token_name(v));
        return -1;
    }
    json_iter it2 = json_iter_begin(v);
    const char *k;
    size_t kl;
    const json_val *x;
    while ((x = json_iter_next(&it2, &k, &kl))) {
        const char *t = qtext(ctx, x);
        if (!strcmp(k, "order")) {
            if (!t || sort_order(t, &s->desc, err) < 0) return -1;
        } else if (!strcmp(k, "missing")) {
            if (t && !strcmp(t, "_first")) s->missing_first = true;
            else if (t && !strcmp(t, "_last")) s->missing_first = false;
            else {
                buf b = { 0 };
                json_w w;
                jw_init(&w, &b, false);
                jw_val(&w, x);
                s->missing_json = arena_strndup(ctx->mem, b.p, b.len);
                buf_free(&b);
            }
        } else if (!strcmp(k, "mode")) {
            if (!t) return bad(err, "Unknown SortMode [%s]", "null");
            if (!strcmp(t, "min")) s->mode = SORT_MODE_MIN;
            else if (!strcmp(t, "max")) s->mode = SORT_MODE_MAX;
            else if (!strcmp(t, "sum")) s->mode = SORT_MODE_SUM;
            else if (!strcmp(t, "avg")) s->mode = SORT_MODE_AVG;
            else if (!strcmp(t, "median")) s->mode = SORT_MODE_MEDIAN;
            else return bad(err, "Unknown SortMode [%s]", t);
        } else if (!strcmp(k, "unmapped_type")) {
            s->unmapped_type = t;
        } else if (!strcmp(k, "format")) {
            s->format = t;
        } else if (!strcmp(k, "numeric_type")) {
            if (!t || (strcmp(t, "date") && strcmp(t, "date_nanos") && strcmp(t, "long") && strcmp(t, "double")))
                return bad(err, "Unsupported numeric type [%s]", t ? t : "null");
            s->numeric_type = t;
        } else {
            qerr_parsing(err, ctx, x, false, "[%s] unknown field [%s]", s->kind == SORT_FIELD ? "field_sort" : name, k);
            return -1;
        }
    }
    return 0;
}

static int parse_sort(query_parse_ctx *ctx, const json_val *v, search_request *r, es_err *err)
{
    size_t n = json_type_of(v) == JSON_ARRAY ? json_len(v) : 1;
    r->sorts = arena_alloc(ctx->mem, (n + 1) * sizeof *r->sorts);
    r->n_sorts = 0;
    for (size_t i = 0; i < n; i++) {
        const json_val *e = json_type_of(v) == JSON_ARRAY ? json_arr_get(v, i) : v;
        if (parse_sort_entry(ctx, e, &r->sorts[r->n_sorts], err) < 0) return -1;
        r->n_sorts++;
    }
    return 0;
}

static int parse_fields(query_parse_ctx *ctx, const json_val *v, const char *what, field_and_format **out, size_t *n,
                        es_err *err)
{
    size_t cnt = json_type_of(v) == JSON_ARRAY ? json_len(v) : 1;
    *out = arena_alloc(ctx->mem, (cnt + 1) * sizeof **out);
    *n = 0;
    for (size_t i = 0; i < cnt; i++) {
        const json_val *e = json_type_of(v) == JSON_ARRAY ? json_arr_get(v, i) : v;
        field_and_format *f = &(*out)[(*n)++];
        memset(f, 0, sizeof *f);
        size_t len;
        if (json_type_of(e) == JSON_STRING) {
            f->field = jdup(ctx->mem, e, &len);
        } else if (json_type_of(e) == JSON_OBJECT) {
            const json_val *fv = json_obj_get(e, "field"), *fmt = json_obj_get(e, "format");
            if (!fv || json_type_of(fv) != JSON_STRING) {
                qerr_x(err, ctx, e, false, "[%s] Required [field]", what);
                return -1;
            }
            f->field = jdup(ctx->mem, fv, &len);
            if (fmt && json_type_of(fmt) == JSON_STRING) f->format = jdup(ctx->mem, fmt, &len);
        } else {
            qerr_parsing(err, ctx, e, false, "Unknown key for a %s in [%s].", json_token_name(e), what);
            return -1;
        }
    }
    return 0;
}

static int parse_track_total(const json_val *v, int64_t *out, es_err *err)
{
    if (json_type_of(v) == JSON_BOOL) {
        *out = json_bool(v) ? INT64_MAX : -1;
        return 0;
    }
    int64_t x;
    if (json_type_of(v) == JSON_INT) x = json_int(v);
    else return bad(err, "%s", "[track_total_hits] must be a boolean or an integer");
    if (x < -1) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[track_total_hits] parameter must be positive or equals to -1, got %lld",
                   (long long)x);
        return -1;
    }
    *out = x == -1 ? INT64_MAX : x;
    return 0;
}

static int parse_search_after(query_parse_ctx *ctx, const json_val *v, search_request *r, es_err *err)
{
    if (json_type_of(v) != JSON_ARRAY) {
        qerr_parsing(err, ctx, v, false, "Unknown key for a %s in [search_after].", json_token_name(v));
        return -1;
    }
    size_t n = json_len(v);
    search_hit *h = arena_alloc(ctx->mem, sizeof *h);
    memset(h, 0, sizeof *h);
    h->shard_index = UINT32_MAX;
    h->sort = arena_alloc(ctx->mem, (n + 1) * sizeof *h->sort);
    for (size_t i = 0; i < n; i++) {
        const json_val *e = json_arr_get(v, i);
        sort_value *sv = &h->sort[i];
        memset(sv, 0, sizeof *sv);
        size_t len;
        switch (json_type_of(e)) {
        case JSON_INT: sv->kind = SV_LONG; sv->l = json_int(e); sv->d = (double)sv->l; break;
        case JSON_BIGINT: sv->kind = SV_ULONG; sv->l = (int64_t)strtoull(json_num_text(e, &len), NULL, 10); break;
        case JSON_DOUBLE: sv->kind = SV_DOUBLE; sv->d = json_num(e); break;
        case JSON_STRING: sv->kind = SV_STR; sv->s = jdup(ctx->mem, e, &len); sv->slen = len; break;
        case JSON_BOOL: sv->kind = SV_LONG; sv->l = json_bool(e); break;
        default: sv->kind = SV_NULL; break;
        }
        if (i == 0) h->score = (float)(sv->kind == SV_DOUBLE ? sv->d : (double)sv->l);
    }
    r->search_after = h;
    r->n_search_after = n;
    return 0;
}

int search_request_parse(search_request *r, arena *mem, const json_doc *doc, const json_val *body,
                         const search_url_params *p, index_view **views, size_t n_views, bool is_count, es_err *err)
{
    memset(r, 0, sizeof *r);
    r->mem = mem;
    r->size = 10;
    r->track_total_hits = 10000;
    r->source.fetch = true;
    r->timeout_ms = -1;
    r->now_ms = now_millis();
    r->is_count = is_count;
    r->body = body;
    r->rescore_window = -1;
    query_parse_ctx ctx = { .mem = mem, .doc = doc, .views = views, .n_views = n_views, .now_ms = r->now_ms };
    if (p) {
        ctx.fetch_source = p->fetch_source;
        ctx.fetch_ctx = p->fetch_ctx;
    }
    bool size_set = false;

    if (body && json_type_of(body) != JSON_OBJECT) {
        qerr_parsing(err, &ctx, body, false, "Unknown key for a %s in [null].", json_token_name(body));
        return -1;
    }
    json_iter it = json_iter_begin(body);
    const char *k;
    size_t kl;
    const json_val *v;
    while (body && (v = json_iter_next(&it, &k, &kl))) {
        if (!strcmp(k, "query")) {
            if (json_type_of(v) != JSON_OBJECT) {
                qerr_parsing(err, &ctx, v, false, "Unknown key for a %s in [query].", json_token_name(v));
                return -1;
            }
            if (!(r->query = query_parse(&ctx, v, err))) return -1;
            continue;
        }
        if (is_count && strcmp(k, "query")) {
            if (!strcmp(k, "min_score") || !strcmp(k, "terminate_after")) {
                /* accepted by _count as URL parameters only; Elasticsearch's body parser refuses them */
            }
            qerr_parsing(err, &ctx, v, true, "request does not support [%s]", k);
            return -1;
        }
        if (!strcmp(k, "post_filter")) {
            if (json_type_of(v) != JSON_OBJECT) {
                qerr_parsing(err, &ctx, v, false, "Unknown key for a %s in [post_filter].", json_token_name(v));
                return -1;
            }
            if (!(r->post_filter = query_parse(&ctx, v, err))) return -1;
        } else if (!strcmp(k, "from")) {
            int64_t x;
            if (!qint(v, &x)) goto wrong_type;
            if (x < 0) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "[from] parameter cannot be negative, found [%lld]", (long long)x);
                return -1;
            }
            r->from = x;
        } else if (!strcmp(k, "size")) {
            int64_t x;
            if (!qint(v, &x)) goto wrong_type;
            if (x < 0) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "[size] parameter cannot be negative, found [%lld]", (long long)x);
                return -1;
            }
            r->size = x;
            size_set = true;
        } else if (!strcmp(k, "sort")) {
            if (parse_sort(&ctx, v, r, err) < 0) return -1;
        } else if (!strcmp(k, "_source")) {
            if (parse_source_filter(&ctx, v, &r->source, err) < 0) return -1;
        } else if (!strcmp(k, "stored_fields")) {
            const json_val *one[1] = { v };
            size_t n = json_type_of(v) == JSON_ARRAY ? json_len(v) : 1;
            r->stored_fields = arena_alloc(mem, (n + 1) * sizeof *r->stored_fields);
            r->n_stored_fields = 0;
            for (size_t i = 0; i < n; i++) {
                const json_val *e = json_type_of(v) == JSON_ARRAY ? json_arr_get(v, i) : one[0];
                size_t len;
                const char *s = json_str(e, &len);
                if (!s) goto wrong_type;
                if (!strcmp(s, "_none_")) r->stored_fields_none = true;
                r->stored_fields[r->n_stored_fields++] = arena_strndup(mem, s, len);
            }
            r->has_stored_fields = true;
        } else if (!strcmp(k, "docvalue_fields")) {
            if (parse_fields(&ctx, v, "docvalue_fields", &r->docvalue_fields, &r->n_docvalue_fields, err) < 0) return -1;
        } else if (!strcmp(k, "fields")) {
            if (parse_fields(&ctx, v, "fields", &r->fields, &r->n_fields, err) < 0) return -1;
        } else if (!strcmp(k, "track_total_hits")) {
            if (parse_track_total(v, &r->track_total_hits, err) < 0) return -1;
        } else if (!strcmp(k, "track_scores")) {
            if (!qbool(v, &r->track_scores)) goto wrong_type;
        } else if (!strcmp(k, "version")) {
            if (!qbool(v, &r->version)) goto wrong_type;
        } else if (!strcmp(k, "seq_no_primary_term")) {
            if (!qbool(v, &r->seq_no_primary_term)) goto wrong_type;
        } else if (!strcmp(k, "explain")) {
            if (!qbool(v, &r->explain)) goto wrong_type;
        } else if (!strcmp(k, "timeout")) {
            const char *t = qtext(&ctx, v);
            if (!t || !parse_time_value(t, &r->timeout_ms)) {
                es_err_set(err, ES_PARSE, "failed to parse setting [timeout] with value [%s] as a time value: unit is missing or unrecognized",
                           t ? t : "");
                return -1;
            }
        } else if (!strcmp(k, "terminate_after")) {
            int64_t x;
            if (!qint(v, &x)) goto wrong_type;
            if (x < 0) return bad(err, "%s", "terminateAfter must be > 0");
            r->terminate_after = x;
        } else if (!strcmp(k, "min_score")) {
            if (!qfloat(v, &r->min_score)) goto wrong_type;
            r->has_min_score = true;
        } else if (!strcmp(k, "aggs") || !strcmp(k, "aggregations")) {
            if (json_type_of(v) != JSON_OBJECT) {
                qerr_parsing(err, &ctx, v, false, "Unknown key for a %s in [%s].", json_token_name(v), k);
                return -1;
            }
            r->aggs = v;
        } else if (!strcmp(k, "search_after")) {
            if (parse_search_after(&ctx, v, r, err) < 0) return -1;
        } else if (!strcmp(k, "pit")) {
            r->pit = v;
        } else if (!strcmp(k, "slice")) {
            r->slice = v;
        } else if (!strcmp(k, "highlight") || !strcmp(k, "profile") || !strcmp(k, "stats") || !strcmp(k, "ext") ||
                   !strcmp(k, "suggest")) {
            /* accepted and not acted upon (no highlighting, profiling or suggestions yet) */
        } else if (!strcmp(k, "indices_boost")) {
            if (json_type_of(v) != JSON_ARRAY && json_type_of(v) != JSON_OBJECT) {
                qerr_parsing(err, &ctx, v, false, "Unknown key for a %s in [%s].", json_token_name(v), k);
                return -1;
            }
            r->indices_boost = v;
        } else if (!strcmp(k, "script_fields")) {
            r->n_script_fields = (int64_t)json_len(v);
        } else if (!strcmp(k, "rescore")) {
            const json_val *first = json_type_of(v) == JSON_ARRAY ? json_arr_get(v, 0) : v;
            const json_val *ws = first ? json_obj_get(first, "window_size") : NULL;
            r->rescore_window = ws ? json_int(ws) : 10;
        } else if (!strcmp(k, "collapse") || !strcmp(k, "knn") ||
                   !strcmp(k, "runtime_mappings") || !strcmp(k, "rank") || !strcmp(k, "retriever")) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s] is not supported by this node", k);
            return -1;
        } else {
            qerr_parsing(err, &ctx, v, false, "Unknown key for a %s in [%s].", json_token_name(v), k);
            return -1;
        }
        continue;
    wrong_type:
        qerr_parsing(err, &ctx, v, false, "[%s] failed to parse field [%s]", "search_source", k);
        return -1;
    }

    /* URL parameters (they win over the body, as in Elasticsearch) */
    if (p) {
        if (p->q) {
            bool lenient = false, lenient_set = false;
            if (p->lenient) {
                lenient_set = true;
                lenient = !strcmp(p->lenient, "true") || !*p->lenient;
            }
            query_parse_ctx qc = ctx;
            qc.doc = NULL;
            if (!(r->query = query_from_uri(&qc, p->q, p->df, p->default_operator, p->analyzer, lenient, lenient_set,
                                            err)))
                return -1;
        }
        if (p->from) {
            char *e;
            long long x = strtoll(p->from, &e, 10);
            if (*e || e == p->from) return bad(err, "Failed to parse int parameter [from] with value [%s]", p->from);
            if (x < 0) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "[from] parameter cannot be negative, found [%lld]", x);
                return -1;
            }
            r->from = x;
        }
        if (p->size) {
            char *e;
            long long x = strtoll(p->size, &e, 10);
            if (*e || e == p->size) return bad(err, "Failed to parse int parameter [size] with value [%s]", p->size);
            if (x == -1) x = 10;
            if (x < 0) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "[size] parameter cannot be negative, found [%lld]", x);
                return -1;
            }
            r->size = x;
            size_set = true;
        }
        if (p->sort) {
            const char **parts;
            size_t n = split_list(mem, p->sort, &parts);
            r->sorts = arena_alloc(mem, (n + 1) * sizeof *r->sorts);
            r->n_sorts = 0;
            for (size_t i = 0; i < n; i++) {
                char *c = strrchr(parts[i], ':');
                if (c) *c = 0;
                sort_init(&r->sorts[r->n_sorts], parts[i], mem);
                if (c && sort_order(c + 1, &r->sorts[r->n_sorts].desc, err) < 0) return -1;
                r->n_sorts++;
            }
        }
        if (p->_source || p->_source_includes || p->_source_excludes) memset(&r->source, 0, sizeof r->source),
                                                                            r->source.fetch = true;
        if (p->_source) {
            if (!strcmp(p->_source, "false")) r->source.fetch = false;
            else if (!strcmp(p->_source, "true") || !*p->_source) r->source.fetch = true;
            else {
                r->source.fetch = true;
                r->source.n_includes = split_list(mem, p->_source, &r->source.includes);
            }
        }
        if (p->_source_includes) {
            r->source.fetch = true;
            r->source.n_includes = split_list(mem, p->_source_includes, &r->source.includes);
        }
        if (p->_source_excludes) {
            r->source.fetch = true;
            r->source.n_excludes = split_list(mem, p->_source_excludes, &r->source.excludes);
        }
        if (p->stored_fields) {
            r->n_stored_fields = split_list(mem, p->stored_fields, &r->stored_fields);
            r->has_stored_fields = true;
            for (size_t i = 0; i < r->n_stored_fields; i++)
                if (!strcmp(r->stored_fields[i], "_none_")) r->stored_fields_none = true;
        }
        if (p->docvalue_fields) {
            const char **parts;
            size_t n = split_list(mem, p->docvalue_fields, &parts);
            r->docvalue_fields = arena_alloc(mem, (n + 1) * sizeof *r->docvalue_fields);
            for (size_t i = 0; i < n; i++) r->docvalue_fields[i] = (field_and_format){ parts[i], NULL };
            r->n_docvalue_fields = n;
        }
        if (p->track_total_hits) {
            const char *t = p->track_total_hits;
            if (!strcmp(t, "true") || !*t) r->track_total_hits = INT64_MAX;
            else if (!strcmp(t, "false")) r->track_total_hits = -1;
            else {
                char *e;
                long long x = strtoll(t, &e, 10);
                if (*e || e == t) return bad(err, "Failed to parse int parameter [track_total_hits] with value [%s]", t);
                if (x < -1) {
                    es_err_set(err, ES_ILLEGAL_ARGUMENT,
                               "[track_total_hits] parameter must be positive or equals to -1, got %lld", x);
                    return -1;
                }
                r->track_total_hits = x == -1 ? INT64_MAX : x;
            }
        }
        if (p->track_scores) r->track_scores = !strcmp(p->track_scores, "true") || !*p->track_scores;
        if (p->version) r->version = !strcmp(p->version, "true") || !*p->version;
        if (p->seq_no_primary_term) r->seq_no_primary_term = !strcmp(p->seq_no_primary_term, "true") || !*p->seq_no_primary_term;
        if (p->explain) r->explain = !strcmp(p->explain, "true") || !*p->explain;
        if (p->timeout) {
            if (!parse_time_value(p->timeout, &r->timeout_ms)) {
                es_err_set(err, ES_PARSE,
                           "failed to parse setting [timeout] with value [%s] as a time value: unit is missing or unrecognized",
                           p->timeout);
                return -1;
            }
        }
        if (p->terminate_after) {
            char *e;
            long long x = strtoll(p->terminate_after, &e, 10);
            if (*e || e == p->terminate_after)
                return bad(err, "Failed to parse int parameter [terminate_after] with value [%s]", p->terminate_after);
            if (x < 0) return bad(err, "%s", "terminateAfter must be > 0");
            r->terminate_after = x;
        }
        if (p->min_score) {
            char *e;
            r->min_score = strtof(p->min_score, &e);
            if (*e || e == p->min_score)
                return bad(err, "Failed to parse float parameter [min_score] with value [%s]", p->min_score);
            r->has_min_score = true;
        }
        if (p->search_type && strcmp(p->search_type, "query_then_fetch") && strcmp(p->search_type, "dfs_query_then_fetch")) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "No search type for [%s]", p->search_type);
            return -1;
        }
        if (p->rest_total_hits_as_int) r->rest_total_hits_as_int = !strcmp(p->rest_total_hits_as_int, "true") ||
                                                                   !*p->rest_total_hits_as_int;
    }
    (void)size_set;
    if (!r->query) r->query = query_match_all(&ctx);
    if (r->rest_total_hits_as_int && r->track_total_hits != INT64_MAX && r->track_total_hits != 10000 &&
        r->track_total_hits != -1) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "[rest_total_hits_as_int] cannot be used if the tracking of total hits is not accurate, got %lld",
                   (long long)r->track_total_hits);
        return -1;
    }
    if (r->rest_total_hits_as_int && r->track_total_hits == 10000) r->track_total_hits = INT64_MAX;
    if (r->search_after && r->n_sorts && r->n_search_after != r->n_sorts) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "search_after has %zu value(s) but sort has %zu.", r->n_search_after, r->n_sorts);
        return -1;
    }
    if (n_views && search_request_validate(r, views, n_views, p ? p->scroll : NULL, err) < 0) return -1;
    return 0;
}

int search_request_validate(search_request *r, index_view **views, size_t n_views, const char *scroll, es_err *err)
{
    if (!r->is_count) {
        /* index.max_result_window (checked per index: the smallest limit applies) */
        for (size_t i = 0; i < n_views; i++) {
            int64_t max = index_settings_get_int(views[i]->settings, "index.max_result_window", 10000);
            if (scroll) {
                if (r->size > max) {
                    es_err_set(err, ES_ILLEGAL_ARGUMENT,
                               "Batch size is too large, size must be less than or equal to: [%lld] but was [%lld]. "
                               "Scroll batch sizes cost as much memory as result windows so they are controlled by "
                               "the [index.max_result_window] index level setting.",
                               (long long)max, (long long)r->size);
                    return -1;
                }
            } else if (r->from + r->size > max) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "Result window is too large, from + size must be less than or equal to: [%lld] but was "
                           "[%lld]. See the scroll api for a more efficient way to request large data sets. This "
                           "limit can be set by changing the [index.max_result_window] index level setting.",
                           (long long)max, (long long)(r->from + r->size));
                return -1;
            }
            int64_t maxdv = index_settings_get_int(views[i]->settings, "index.max_docvalue_fields_search", 100);
            if ((int64_t)r->n_docvalue_fields > maxdv) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "Trying to retrieve too many docvalue_fields. Must be less than or equal to: [%lld] but "
                           "was [%zu]. This limit can be set by changing the [index.max_docvalue_fields_search] index "
                           "level setting.",
                           (long long)maxdv, r->n_docvalue_fields);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < n_views && r->n_script_fields; i++) {
        int64_t max = index_settings_get_int(views[i]->settings, "index.max_script_fields", 32);
        if (r->n_script_fields > max) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "Trying to retrieve too many script_fields. Must be less than or equal to: [%lld] but was "
                       "[%lld]. This limit can be set by changing the [index.max_script_fields] index level setting.",
                       (long long)max, (long long)r->n_script_fields);
            return -1;
        }
    }
    if (r->rescore_window >= 0) {
        for (size_t i = 0; i < n_views; i++) {
            int64_t max = index_settings_get_int(views[i]->settings, "index.max_rescore_window",
                                                 index_settings_get_int(views[i]->settings, "index.max_result_window", 10000));
            if (r->rescore_window > max) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "Rescore window [%lld] is too large. It must be less than [%lld]. This prevents allocating "
                           "massive heaps for storing the results to be rescored. This limit can be set by changing "
                           "the [index.max_rescore_window] index level setting.",
                           (long long)r->rescore_window, (long long)max);
                return -1;
            }
        }
        return bad(err, "%s", "[rescore] is not supported by this node");
    }
    if (r->n_script_fields) return bad(err, "%s", "[script_fields] is not supported by this node");
    return 0;
}
