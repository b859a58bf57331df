/*
 * query.c — the query DSL framework: the registry of query types, the outer
 * shape of a query clause ({"<type>": {...}}) with Elasticsearch's errors,
 * positions for [line:col], shared parameter helpers, and the compound
 * queries (match_all, match_none, bool, constant_score, dis_max).
 */
#include "search/search_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Positions and errors                                                     */

void qpos(const query_parse_ctx *ctx, const json_val *v, bool key, uint32_t *line, uint32_t *col)
{
    json_location(ctx->doc, v, key, line, col);
}

void query_ctx_pos(const query_parse_ctx *ctx, const json_val *v, uint32_t *line, uint32_t *col)
{
    qpos(ctx, v, false, line, col);
}

query *qerr_parsing(es_err *err, const query_parse_ctx *ctx, const json_val *at, bool key, const char *fmt, ...)
{
    if (es_err_isset(err)) return NULL;
    va_list ap;
    va_start(ap, fmt);
    buf b = { 0 };
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    es_err_set(err, ES_PARSING, "%s", b.p);
    buf_free(&b);
    uint32_t l, c;
    qpos(ctx, at, key, &l, &c);
    char n[16];
    snprintf(n, sizeof n, "%u", l);
    es_err_extra(err, "line", n, true);
    snprintf(n, sizeof n, "%u", c);
    es_err_extra(err, "col", n, true);
    return NULL;
}

query *qerr_x(es_err *err, const query_parse_ctx *ctx, const json_val *at, bool key, const char *fmt, ...)
{
    if (es_err_isset(err)) return NULL;
    va_list ap;
    va_start(ap, fmt);
    buf b = { 0 };
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    uint32_t l, c;
    qpos(ctx, at, key, &l, &c);
    es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", l, c, b.p);
    buf_free(&b);
    return NULL;
}

bool qfloat(const json_val *v, float *out)
{
    if (json_is_number(v)) {
        *out = (float)json_num(v);
        return true;
    }
    size_t n;
    const char *s = json_str(v, &n);
    if (!s || !n) return false;
    char *end;
    double d = strtod(s, &end);
    if (*end) return false;
    *out = (float)d;
    return true;
}

bool qint(const json_val *v, int64_t *out)
{
    if (json_type_of(v) == JSON_INT) {
        *out = json_int(v);
        return true;
    }
    if (json_type_of(v) == JSON_DOUBLE) {
        *out = (int64_t)json_num(v);
        return true;
    }
    size_t n;
    const char *s = json_str(v, &n);
    if (!s || !n) return false;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (*end) return false;
    *out = x;
    return true;
}

bool qbool(const json_val *v, bool *out)
{
    if (json_type_of(v) == JSON_BOOL) {
        *out = json_bool(v);
        return true;
    }
    size_t n;
    const char *s = json_str(v, &n);
    if (s && !strcmp(s, "true")) { *out = true; return true; }
    if (s && !strcmp(s, "false")) { *out = false; return true; }
    return false;
}

const char *qtext(query_parse_ctx *ctx, const json_val *v)
{
    size_t n;
    switch (json_type_of(v)) {
    case JSON_STRING:
        return json_str(v, &n);
    case JSON_BOOL:
        return json_bool(v) ? "true" : "false";
    case JSON_INT: case JSON_BIGINT: case JSON_DOUBLE: {
        const char *raw = ctx->doc ? json_raw(ctx->doc, v, &n) : NULL;
        if (raw) return arena_strndup(ctx->mem, raw, n);
        char tmp[40];
        if (json_type_of(v) == JSON_INT) snprintf(tmp, sizeof tmp, "%lld", (long long)json_int(v));
        else json_fmt_double(json_num(v), tmp);
        return arena_strndup(ctx->mem, tmp, strlen(tmp));
    }
    default:
        return NULL;
    }
}

void *qnew(query_parse_ctx *ctx, size_t size, const query_ops *ops)
{
    query *q = arena_alloc(ctx->mem, size);
    memset(q, 0, size);
    q->ops = ops;
    q->boost = 1.0f;
    return q;
}

char *qdup(query_parse_ctx *ctx, const char *s)
{
    return s ? arena_strndup(ctx->mem, s, strlen(s)) : NULL;
}

int qstd(query_parse_ctx *ctx, query *q, const char *qname, const char *key, const json_val *v, es_err *err)
{
    if (!strcmp(key, "boost")) {
        if (!qfloat(v, &q->boost)) {
            qerr_parsing(err, ctx, v, false, "[%s] query does not support [%s] of type %s", qname, key, json_token_name(v));
            return -1;
        }
        return 1;
    }
    if (!strcmp(key, "_name")) {
        const char *t = qtext(ctx, v);
        if (!t) {
            qerr_parsing(err, ctx, v, false, "[%s] query does not support [%s] of type %s", qname, key, json_token_name(v));
            return -1;
        }
        q->name = t;
        return 1;
    }
    return 0;
}

/* ======================================================================== */
/* Registry                                                                 */

typedef struct qreg {
    const char *name;
    query_parse_fn fn;
} qreg;

static qreg builtin[] = {
    { "bool", qp_bool },
    { "constant_score", qp_constant_score },
    { "dis_max", qp_dis_max },
    { "exists", qp_exists },
    { "ids", qp_ids },
    { "match", qp_match },
    { "match_all", qp_match_all },
    { "match_none", qp_match_none },
    { "match_phrase", qp_match_phrase },
    { "multi_match", qp_multi_match },
    { "prefix", qp_prefix },
    { "query_string", qp_query_string },
    { "range", qp_range },
    { "regexp", qp_regexp },
    { "simple_query_string", qp_simple_query_string },
    { "term", qp_term },
    { "terms", qp_terms },
    { "wildcard", qp_wildcard },
};

/* Elasticsearch's other query names: known, so a typo close to them is suggested, but unsupported. */
static const char *const known_unsupported[] = {
    "boosting", "combined_fields", "distance_feature", "function_score", "fuzzy", "geo_bounding_box",
    "geo_distance", "geo_polygon", "geo_shape", "has_child", "has_parent", "intervals", "knn",
    "match_bool_prefix", "match_phrase_prefix", "more_like_this", "nested", "parent_id", "percolate",
    "pinned", "rank_feature", "script", "script_score", "shape", "span_containing",
    "span_field_masking", "span_first", "span_multi", "span_near", "span_not", "span_or", "span_term",
    "span_within", "sparse_vector", "term_set", "text_expansion", "weighted_tokens", "wrapper",
};

static qreg *extra_reg;
static size_t n_extra_reg;

void query_register(const char *name, query_parse_fn fn)
{
    extra_reg = xrealloc(extra_reg, (n_extra_reg + 1) * sizeof *extra_reg);
    extra_reg[n_extra_reg++] = (qreg){ xstrdup(name), fn };
}

static query_parse_fn lookup(const char *name)
{
    for (size_t i = 0; i < n_extra_reg; i++)
        if (!strcmp(extra_reg[i].name, name)) return extra_reg[i].fn;
    for (size_t i = 0; i < ARRAY_LEN(builtin); i++)
        if (!strcmp(builtin[i].name, name)) return builtin[i].fn;
    return NULL;
}

/* Elasticsearch's SuggestingErrorOnUnknown: " did you mean [x]?" / " did you mean any of [x, y]?". */
static void suggest(const char *name, buf *out)
{
    typedef struct { const char *n; float s; } cand;
    cand c[96];
    size_t nc = 0;
    const char *all[96];
    size_t na = 0;
    for (size_t i = 0; i < ARRAY_LEN(builtin) && na < 96; i++) all[na++] = builtin[i].name;
    for (size_t i = 0; i < ARRAY_LEN(known_unsupported) && na < 96; i++) all[na++] = known_unsupported[i];
    for (size_t i = 0; i < n_extra_reg && na < 96; i++) all[na++] = extra_reg[i].name;
    for (size_t i = 0; i < na; i++) {
        float s = str_similarity(name, all[i]);
        if (s > 0.7f) c[nc++] = (cand){ all[i], s };
    }
    if (!nc) return;
    /* by similarity desc, then name */
    for (size_t i = 1; i < nc; i++)
        for (size_t j = i; j > 0 && (c[j].s > c[j - 1].s || (c[j].s == c[j - 1].s && strcmp(c[j].n, c[j - 1].n) < 0)); j--) {
            cand t = c[j];
            c[j] = c[j - 1];
            c[j - 1] = t;
        }
    if (nc == 1) {
        buf_printf(out, " did you mean [%s]?", c[0].n);
        return;
    }
    buf_puts(out, " did you mean any of [");
    for (size_t i = 0; i < nc; i++) buf_printf(out, "%s%s", i ? ", " : "", c[i].n);
    buf_puts(out, "]?");
}

query *query_parse(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    if (json_type_of(v) != JSON_OBJECT)
        return qerr_parsing(err, ctx, v, false, "[_na] query malformed, must start with start_object");
    if (json_len(v) == 0) {
        uint32_t l, c;
        qpos(ctx, v, false, &l, &c);
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "query malformed, empty clause found at [%u:%u]", l, c + 1);
        return NULL;
    }
    if (ctx->depth > 100) return qerr_parsing(err, ctx, v, false, "query nested too deeply");
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t klen;
    const json_val *body = json_iter_next(&it, &key, &klen);
    if (json_type_of(body) != JSON_OBJECT) {
        /* Elasticsearch's short forms are all objects at this level. */
        return qerr_parsing(err, ctx, body, false, "[%s] query malformed, no start_object after query name", key);
    }
    query_parse_fn fn = lookup(key);
    if (!fn) {
        buf msg = { 0 };
        buf_printf(&msg, "unknown query [%s]", key);
        suggest(key, &msg);
        qerr_parsing(err, ctx, body, false, "%s", msg.p);
        buf_free(&msg);
        return NULL;
    }
    ctx->depth++;
    query *q = fn(ctx, body, err);
    ctx->depth--;
    if (!q) {
        if (!es_err_isset(err)) es_err_set(err, ES_PARSING, "[%s] failed to parse", key);
        return NULL;
    }
    const json_val *second = json_iter_next(&it, &key, &klen);
    if (second) {
        char first[128];
        snprintf(first, sizeof first, "%s", q->ops->name);
        return qerr_parsing(err, ctx, second, true, "[%s] malformed query, expected [END_OBJECT] but found [FIELD_NAME]",
                            first);
    }
    return q;
}

doc_iter *query_iter(const query *q, shard_searcher *s, float parent_boost, unsigned flags, es_err *err)
{
    return q->ops->iter(q, s, parent_boost * q->boost, flags, err);
}

/* ======================================================================== */
/* ObjectParser-style queries: unknown fields are x_content_parse_exceptions */

static query *unknown_field(query_parse_ctx *ctx, const char *qname, const char *key, const json_val *v,
                            const char *const *known, size_t n_known, es_err *err)
{
    buf msg = { 0 };
    buf_printf(&msg, "[%s] unknown field [%s]", qname, key);
    typedef struct { const char *n; float s; } cand;
    cand c[16];
    size_t nc = 0;
    for (size_t i = 0; i < n_known && nc < 16; i++) {
        float sim = str_similarity(key, known[i]);
        if (sim > 0.7f) c[nc++] = (cand){ known[i], sim };
    }
    if (nc == 1) buf_printf(&msg, " did you mean [%s]?", c[0].n);
    else if (nc > 1) {
        buf_puts(&msg, " did you mean any of [");
        for (size_t i = 0; i < nc; i++) buf_printf(&msg, "%s%s", i ? ", " : "", c[i].n);
        buf_puts(&msg, "]?");
    }
    qerr_x(err, ctx, v, true, "%s", msg.p);
    buf_free(&msg);
    return NULL;
}

/* boost / _name in an ObjectParser query. 1 handled, 0 not, -1 error. */
static int ostd(query_parse_ctx *ctx, query *q, const char *qname, const char *key, const json_val *v, es_err *err)
{
    if (!strcmp(key, "boost")) {
        if (!json_is_number(v) && json_type_of(v) != JSON_STRING) {
            qerr_x(err, ctx, v, false, "[%s] boost doesn't support values of type: %s", qname, json_token_name(v));
            return -1;
        }
        if (!qfloat(v, &q->boost)) {
            qerr_x(err, ctx, v, false, "[%s] failed to parse field [boost]", qname);
            return -1;
        }
        return 1;
    }
    if (!strcmp(key, "_name")) {
        if (json_type_of(v) != JSON_STRING) {
            qerr_x(err, ctx, v, false, "[%s] _name doesn't support values of type: %s", qname, json_token_name(v));
            return -1;
        }
        q->name = qtext(ctx, v);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* match_all / match_none */

static doc_iter *match_all_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    return doc_iter_all(s, boost);
}

static doc_iter *match_none_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    return doc_iter_empty();
}

static const query_ops match_all_ops = { "match_all", match_all_iter };
static const query_ops match_none_ops = { "match_none", match_none_iter };

static query *parse_simple(query_parse_ctx *ctx, const json_val *v, const query_ops *ops, es_err *err)
{
    query *q = qnew(ctx, sizeof *q, ops);
    static const char *const known[] = { "boost", "_name" };
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        int r = ostd(ctx, q, ops->name, key, m, err);
        if (r < 0) return NULL;
        if (r == 0) return unknown_field(ctx, ops->name, key, m, known, 2, err);
    }
    return q;
}

query *qp_match_all(query_parse_ctx *ctx, const json_val *v, es_err *err) { return parse_simple(ctx, v, &match_all_ops, err); }
query *qp_match_none(query_parse_ctx *ctx, const json_val *v, es_err *err) { return parse_simple(ctx, v, &match_none_ops, err); }

query *query_match_all(query_parse_ctx *ctx)
{
    return qnew(ctx, sizeof(query), &match_all_ops);
}

/* ------------------------------------------------------------------------ */
/* minimum_should_match */

static int parse_int_strict(const char *s, bool *ok)
{
    char *end;
    while (*s == ' ') s++;
    long v = strtol(s, &end, 10);
    while (*end == ' ') end++;
    *ok = end != s && !*end;
    return (int)v;
}

int min_should_match(int optional, const char *spec)
{
    int result = optional;
    while (*spec == ' ') spec++;
    if (strchr(spec, '<')) {
        /* conditional: "N<spec N<spec" */
        char *copy = xstrdup(spec);
        /* remove spaces around '<' */
        char *w = copy;
        for (const char *r = copy; *r; r++) {
            if (*r == ' ') {
                const char *n = r;
                while (*n == ' ') n++;
                if (*n == '<' || (w > copy && w[-1] == '<')) continue;
            }
            *w++ = *r;
        }
        *w = 0;
        char *save = NULL;
        for (char *part = strtok_r(copy, " ", &save); part; part = strtok_r(NULL, " ", &save)) {
            char *lt = strchr(part, '<');
            if (!lt) continue;
            *lt = 0;
            bool ok;
            int upper = parse_int_strict(part, &ok);
            if (optional <= upper) break;
            result = min_should_match(optional, lt + 1);
        }
        free(copy);
        return result;
    }
    size_t n = strlen(spec);
    bool ok;
    if (n && spec[n - 1] == '%') {
        char *t = xstrndup(spec, n - 1);
        int percent = parse_int_strict(t, &ok);
        free(t);
        float calc = (float)(result * percent) * (1 / 100.0f);
        result = calc < 0 ? result + (int)calc : (int)calc;
    } else {
        int calc = parse_int_strict(spec, &ok);
        result = calc < 0 ? result + calc : calc;
    }
    return result < 0 ? 0 : result;
}

/* ------------------------------------------------------------------------ */
/* bool */

typedef struct q_bool {
    query base;
    const query **must, **should, **filter, **must_not;
    size_t n_must, n_should, n_filter, n_must_not;
    const char *msm;
    bool adjust_pure_negative;
} q_bool;

static doc_iter **build_all(const query **qs, size_t n, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    doc_iter **its = xcalloc(n ? n : 1, sizeof *its);
    for (size_t i = 0; i < n; i++) {
        its[i] = query_iter(qs[i], s, boost, flags, err);
        if (!its[i]) {
            for (size_t j = 0; j < i; j++) doc_iter_free(its[j]);
            free(its);
            return NULL;
        }
    }
    return its;
}

static doc_iter *bool_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_bool *b = (const q_bool *)q;
    bool scores = flags & QI_SCORES;
    unsigned fflags = QI_FILTER; /* filter and must_not clauses: no scores, filter context */
    doc_iter **must = NULL, **should = NULL, **filter = NULL, **must_not = NULL;
    must = build_all(b->must, b->n_must, s, boost, flags & ~0u, err);
    if (!must) return NULL;
    should = build_all(b->should, b->n_should, s, boost, flags, err);
    filter = should ? build_all(b->filter, b->n_filter, s, boost, fflags, err) : NULL;
    must_not = filter ? build_all(b->must_not, b->n_must_not, s, boost, fflags, err) : NULL;
    if (!must_not) {
        for (size_t i = 0; i < b->n_must; i++) doc_iter_free(must[i]);
        if (should) for (size_t i = 0; i < b->n_should; i++) doc_iter_free(should[i]);
        if (filter) for (size_t i = 0; i < b->n_filter; i++) doc_iter_free(filter[i]);
        free(must);
        free(should);
        free(filter);
        return NULL;
    }
    /* minimum_should_match (filter context: should needs one unless said otherwise) */
    const char *msm_spec = b->msm;
    if (!msm_spec && (flags & QI_FILTER) && b->n_should > 0) msm_spec = "1";
    int msm = msm_spec ? min_should_match((int)b->n_should, msm_spec) : 0;
    size_t n_req = b->n_must + b->n_filter;
    doc_iter *res;
    if (b->n_should > 0 && msm > (int)b->n_should) {
        /* cannot match */
        for (size_t i = 0; i < b->n_must; i++) doc_iter_free(must[i]);
        for (size_t i = 0; i < b->n_should; i++) doc_iter_free(should[i]);
        for (size_t i = 0; i < b->n_filter; i++) doc_iter_free(filter[i]);
        for (size_t i = 0; i < b->n_must_not; i++) doc_iter_free(must_not[i]);
        res = doc_iter_empty();
    } else if (n_req == 0 && b->n_should == 0) {
        /* only must_not (or nothing): a match-all filter, score 0 (or match all with the boost when empty) */
        if (b->n_must_not == 0) res = doc_iter_all(s, scores ? boost : 0);
        else res = doc_iter_all(s, 0);
    } else if (n_req == 0) {
        res = doc_iter_or(should, b->n_should, msm > 0 ? (size_t)msm : 1);
    } else {
        doc_iter *req = doc_iter_and(must, b->n_must, filter, b->n_filter);
        if (b->n_must == 0) req = doc_iter_const(req, 0); /* filters alone score 0 */
        if (b->n_should > 0) {
            if (msm > 0) {
                doc_iter *sh = doc_iter_or(should, b->n_should, (size_t)msm);
                doc_iter *both[2] = { req, sh };
                res = doc_iter_and(both, 2, NULL, 0);
            } else if (scores) {
                res = doc_iter_req_opt(req, doc_iter_or(should, b->n_should, 1));
            } else {
                for (size_t i = 0; i < b->n_should; i++) doc_iter_free(should[i]);
                res = req;
            }
        } else {
            res = req;
        }
    }
    if (b->n_must_not > 0 && !(b->n_should > 0 && msm > (int)b->n_should)) {
        doc_iter *excl = b->n_must_not == 1 ? must_not[0] : doc_iter_or(must_not, b->n_must_not, 1);
        res = doc_iter_not(res, excl);
    }
    free(must);
    free(should);
    free(filter);
    free(must_not);
    return res;
}

static const query_ops bool_ops = { "bool", bool_iter };

static bool parse_clauses(query_parse_ctx *ctx, const char *field, const json_val *v, const query ***out, size_t *n,
                          es_err *err)
{
    const json_val *items[1];
    size_t cnt;
    const json_val *const *list;
    if (json_type_of(v) == JSON_NULL) return true;
    if (json_type_of(v) == JSON_OBJECT) {
        items[0] = v;
        list = items;
        cnt = 1;
    } else if (json_type_of(v) == JSON_ARRAY) {
        cnt = json_len(v);
        list = NULL;
    } else {
        qerr_x(err, ctx, v, false, "[bool] %s doesn't support values of type: %s", field, json_token_name(v));
        return false;
    }
    const query **arr = arena_alloc(ctx->mem, (*n + cnt + 1) * sizeof *arr);
    if (*n) memcpy(arr, *out, *n * sizeof *arr);
    for (size_t i = 0; i < cnt; i++) {
        const json_val *e = list ? list[i] : json_arr_get(v, i);
        if (json_type_of(e) != JSON_OBJECT) {
            /* ObjectParser: an array of objects only */
            qerr_x(err, ctx, e, false, "[bool] failed to parse field [%s]", field);
            return false;
        }
        es_err inner = { 0 };
        const query *q = query_parse(ctx, e, &inner);
        if (!q) {
            /* Elasticsearch wraps: x_content_parse_exception "[l:c] [bool] failed to parse field [must]"
             * (caused_by the inner error). */
            if (inner.type == ES_X_CONTENT_PARSE || inner.type == ES_ILLEGAL_ARGUMENT) {
                *err = inner;
                return false;
            }
            uint32_t l = 1, c = 1;
            for (size_t k = 0; k < inner.n_extra; k++) {
                if (!strcmp(inner.extra[k].key, "line")) l = (uint32_t)atoi(inner.extra[k].value);
                if (!strcmp(inner.extra[k].key, "col")) c = (uint32_t)atoi(inner.extra[k].value);
            }
            /* Elasticsearch chains the inner error as caused_by; the REST envelope here would then
             * report it as the root cause (x_content_parse_exception is not an ElasticsearchException,
             * so Elasticsearch's root_cause is the wrapper itself): the cause is left out. */
            es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [bool] failed to parse field [%s]", l, c, field);
            es_err_free(&inner);
            return false;
        }
        arr[(*n)++] = q;
    }
    *out = arr;
    return true;
}

query *qp_bool(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_bool *b = qnew(ctx, sizeof *b, &bool_ops);
    b->adjust_pure_negative = true;
    static const char *const known[] = { "must", "should", "must_not", "filter", "minimum_should_match",
                                         "adjust_pure_negative", "boost", "_name", "mustNot",
                                         "minimum_number_should_match" };
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        bool ok = true;
        if (!strcmp(key, "must")) ok = parse_clauses(ctx, key, m, &b->must, &b->n_must, err);
        else if (!strcmp(key, "should")) ok = parse_clauses(ctx, key, m, &b->should, &b->n_should, err);
        else if (!strcmp(key, "filter")) ok = parse_clauses(ctx, key, m, &b->filter, &b->n_filter, err);
        else if (!strcmp(key, "must_not") || !strcmp(key, "mustNot"))
            ok = parse_clauses(ctx, "must_not", m, &b->must_not, &b->n_must_not, err);
        else if (!strcmp(key, "minimum_should_match") || !strcmp(key, "minimum_number_should_match")) {
            if (json_type_of(m) == JSON_NULL) b->msm = NULL;
            else if (json_type_of(m) == JSON_OBJECT || json_type_of(m) == JSON_ARRAY)
                return qerr_x(err, ctx, m, false, "[bool] minimum_should_match doesn't support values of type: %s",
                              json_token_name(m));
            else b->msm = qtext(ctx, m);
        } else if (!strcmp(key, "adjust_pure_negative")) {
            if (!qbool(m, &b->adjust_pure_negative))
                return qerr_x(err, ctx, m, false, "[bool] failed to parse field [adjust_pure_negative]");
        } else {
            int r = ostd(ctx, &b->base, "bool", key, m, err);
            if (r < 0) return NULL;
            if (r == 0) return unknown_field(ctx, "bool", key, m, known, 8, err);
        }
        if (!ok) return NULL;
    }
    return &b->base;
}

/* ------------------------------------------------------------------------ */
/* constant_score */

typedef struct q_const {
    query base;
    const query *filter;
} q_const;

static doc_iter *const_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_const *c = (const q_const *)q;
    doc_iter *in = query_iter(c->filter, s, 1.0f, QI_FILTER, err);
    if (!in) return NULL;
    return doc_iter_const(in, (flags & QI_SCORES) ? boost : 0);
}

static const query_ops const_ops = { "constant_score", const_iter };

query *qp_constant_score(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_const *c = qnew(ctx, sizeof *c, &const_ops);
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    bool seen = false;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (json_type_of(m) == JSON_OBJECT) {
            if (!strcmp(key, "filter")) {
                c->filter = query_parse(ctx, m, err);
                if (!c->filter) return NULL;
                seen = true;
            } else {
                return qerr_parsing(err, ctx, m, false, "[constant_score] query does not support [%s]", key);
            }
        } else if (json_type_of(m) == JSON_ARRAY) {
            return qerr_parsing(err, ctx, m, false, "unexpected token [START_ARRAY]");
        } else {
            int r = qstd(ctx, &c->base, "constant_score", key, m, err);
            if (r < 0) return NULL;
            if (r == 0) return qerr_parsing(err, ctx, m, false, "[constant_score] query does not support [%s]", key);
        }
    }
    if (!seen) return qerr_parsing(err, ctx, v, false, "[constant_score] requires a 'filter' element");
    return &c->base;
}

/* ------------------------------------------------------------------------ */
/* dis_max */

typedef struct q_dismax {
    query base;
    const query **qs;
    size_t n;
    float tie;
} q_dismax;

static doc_iter *dismax_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_dismax *d = (const q_dismax *)q;
    doc_iter **its = build_all(d->qs, d->n, s, boost, flags, err);
    if (!its) return NULL;
    doc_iter *r = d->n == 1 ? its[0] : doc_iter_dismax(its, d->n, d->tie);
    free(its);
    return r;
}

static const query_ops dismax_ops = { "dis_max", dismax_iter };

query *qp_dis_max(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_dismax *d = qnew(ctx, sizeof *d, &dismax_ops);
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    bool seen = false;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (!strcmp(key, "queries")) {
            seen = true;
            size_t n = json_type_of(m) == JSON_ARRAY ? json_len(m) : 1;
            d->qs = arena_alloc(ctx->mem, (n + 1) * sizeof *d->qs);
            for (size_t i = 0; i < n; i++) {
                const json_val *e = json_type_of(m) == JSON_ARRAY ? json_arr_get(m, i) : m;
                if (!(d->qs[d->n++] = query_parse(ctx, e, err))) return NULL;
            }
        } else if (!strcmp(key, "tie_breaker")) {
            if (!qfloat(m, &d->tie)) return qerr_parsing(err, ctx, m, false, "[dis_max] query does not support [%s]", key);
        } else {
            int r = qstd(ctx, &d->base, "dis_max", key, m, err);
            if (r < 0) return NULL;
            if (r == 0) return qerr_parsing(err, ctx, m, false, "[dis_max] query does not support [%s]", key);
        }
    }
    if (!seen) return qerr_parsing(err, ctx, v, false, "[dis_max] requires 'queries' field with at least one clause");
    return &d->base;
}
