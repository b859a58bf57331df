/*
 * query_term.c — term-level queries: term, terms (with lookup), range,
 * exists, ids, prefix, wildcard.
 */
#include "search/search_int.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* term                                                                     */

typedef struct q_term {
    query base;
    const char *field;
    const json_val *value;
    bool case_insensitive;
} q_term;

typedef struct ci_ctx {
    const char *want;
    size_t wlen;
    shard_searcher *s;
    const char *field;
    docset ds;
} ci_ctx;

static bool ci_equal(const char *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn) return false;
    for (size_t i = 0; i < an; i++) {
        unsigned char x = (unsigned char)a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return false;
    }
    return true;
}

static int ci_visit(void *c, const void *term, size_t len, const term_entry *te, es_err *err)
{
    ci_ctx *x = c;
    if (!ci_equal(x->want, x->wlen, term, len)) return 0;
    return docset_add_term(&x->ds, x->s, x->field, term, len, te, err);
}

/* Metadata fields a term-level query may name. 1 handled (*out set), 0 not metadata. */
static int meta_field_iter(shard_searcher *s, const char *field, const json_val *const *values, size_t n,
                           float boost, unsigned flags, doc_iter **out, es_err *err)
{
    float sc = (flags & QI_SCORES) ? boost : 0;
    if (!strcmp(field, "_id")) {
        uint64_t *docs = xmalloc((n ? n : 1) * sizeof *docs);
        size_t nd = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            char tmp[64];
            const char *id = json_str(values[i], &len);
            if (!id && json_type_of(values[i]) == JSON_INT) {
                snprintf(tmp, sizeof tmp, "%lld", (long long)json_int(values[i]));
                id = tmp;
                len = strlen(tmp);
            }
            if (!id) continue;
            store_doc d;
            int rc = store_doc_get(shard_searcher_txn(s), id, len, &d, err);
            if (rc < 0) {
                free(docs);
                return -1;
            }
            if (rc == 1) docs[nd++] = d.docnum;
        }
        for (size_t i = 1; i < nd; i++)
            for (size_t j = i; j > 0 && docs[j] < docs[j - 1]; j--) {
                uint64_t t = docs[j];
                docs[j] = docs[j - 1];
                docs[j - 1] = t;
            }
        size_t m = 0;
        for (size_t i = 0; i < nd; i++)
            if (!m || docs[m - 1] != docs[i]) docs[m++] = docs[i];
        *out = doc_iter_docs(docs, m, sc);
        free(docs);
        return 1;
    }
    if (!strcmp(field, "_index")) {
        const char *name = shard_searcher_view(s)->name;
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const char *v = json_str(values[i], &len);
            if (v && indices_simple_match(v, name)) {
                *out = doc_iter_all(s, sc);
                return 1;
            }
        }
        *out = doc_iter_empty();
        return 1;
    }
    return 0;
}

static doc_iter *term_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_term *t = (const q_term *)q;
    doc_iter *meta;
    int m = meta_field_iter(s, t->field, &t->value, 1, boost, flags, &meta, err);
    if (m < 0) return NULL;
    if (m > 0) return meta;
    const mfield *f = searcher_field(s, t->field);
    if (!f) return doc_iter_empty();
    if (t->case_insensitive && json_type_of(t->value) == JSON_STRING) {
        ci_ctx c = { 0 };
        c.want = json_str(t->value, &c.wlen);
        c.s = s;
        c.field = f->path;
        docset_init(&c.ds, shard_searcher_max_doc(s));
        if (terms_visit_entries(s, f->path, NULL, 0, false, NULL, 0, false, NULL, 0, ci_visit, &c, err) < 0) {
            docset_free(&c.ds);
            return NULL;
        }
        return docset_iter(&c.ds, (flags & QI_SCORES) ? boost : 0);
    }
    return field_term_iter(s, f, t->value, NULL, boost, flags, false, err);
}

static const query_ops term_ops = { "term", term_iter };

query *qp_term(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_term *t = qnew(ctx, sizeof *t, &term_ops);
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (json_type_of(m) == JSON_OBJECT) {
            if (t->field)
                return qerr_parsing(err, ctx, m, false, "[term] query doesn't support multiple fields, found [%s] and [%s]",
                                    t->field, key);
            t->field = key;
            json_iter it2 = json_iter_begin(m);
            const char *k2;
            size_t kl2;
            const json_val *m2;
            while ((m2 = json_iter_next(&it2, &k2, &kl2))) {
                if (json_type_of(m2) == JSON_OBJECT || json_type_of(m2) == JSON_ARRAY)
                    return qerr_parsing(err, ctx, m2, false, "[term] unknown token [%s] after [%s]", json_token_name(m2), k2);
                if (!strcmp(k2, "value")) t->value = m2;
                else if (!strcmp(k2, "case_insensitive")) {
                    if (!qbool(m2, &t->case_insensitive))
                        return qerr_parsing(err, ctx, m2, false, "[term] query does not support [%s]", k2);
                } else {
                    int r = qstd(ctx, &t->base, "term", k2, m2, err);
                    if (r < 0) return NULL;
                    if (r == 0) return qerr_parsing(err, ctx, m2, false, "[term] query does not support [%s]", k2);
                }
            }
        } else if (json_type_of(m) == JSON_ARRAY) {
            return qerr_parsing(err, ctx, m, false, "[term] query does not support array of values");
        } else {
            if (t->field)
                return qerr_parsing(err, ctx, m, false, "[term] query doesn't support multiple fields, found [%s] and [%s]",
                                    t->field, key);
            t->field = key;
            t->value = m;
        }
    }
    if (!t->field || !*t->field) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "field name is null or empty");
        return NULL;
    }
    if (json_is_null(t->value)) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "value cannot be null");
        return NULL;
    }
    return &t->base;
}

/* ======================================================================== */
/* terms                                                                    */

typedef struct q_terms {
    query base;
    const char *field;
    const json_val **values;
    size_t n;
    const char **texts;       /* terms lookup: the values as text (values NULL) */
} q_terms;

static doc_iter *terms_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_terms *t = (const q_terms *)q;
    int64_t max = index_settings_get_int(shard_searcher_view(s)->settings, "index.max_terms_count", 65536);
    if ((int64_t)t->n > max)
        return shard_query_error(s, err,
                                 "The number of terms [%zu] used in the Terms Query request has exceeded the allowed "
                                 "maximum of [%lld]. This maximum can be set by changing the [index.max_terms_count] "
                                 "index level setting.",
                                 t->n, (long long)max);
    doc_iter *meta;
    int m = t->values ? meta_field_iter(s, t->field, t->values, t->n, boost, flags, &meta, err) : 0;
    if (m < 0) return NULL;
    if (m > 0) return meta;
    const mfield *f = searcher_field(s, t->field);
    if (!f || !t->n) return doc_iter_empty();
    docset ds;
    docset_init(&ds, shard_searcher_max_doc(s));
    for (size_t i = 0; i < t->n; i++) {
        doc_iter *it = field_term_iter(s, f, t->values ? t->values[i] : NULL, t->texts ? t->texts[i] : NULL, 1.0f, 0,
                                       false, err);
        if (!it) {
            docset_free(&ds);
            return NULL;
        }
        docset_add_iter(&ds, it);
        doc_iter_free(it);
    }
    return docset_iter(&ds, (flags & QI_SCORES) ? boost : 0);
}

static const query_ops terms_ops = { "terms", terms_iter };

/* Values at a dotted path of a source (arrays flattened). */
static void path_values(const json_val *v, const char *path, const json_val ***out, size_t *n, size_t *cap, arena *mem)
{
    if (json_type_of(v) == JSON_ARRAY) {
        for (size_t i = 0; i < json_len(v); i++) path_values(json_arr_get(v, i), path, out, n, cap, mem);
        return;
    }
    if (!*path) {
        if (json_is_null(v) || json_type_of(v) == JSON_OBJECT) return;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            const json_val **nv = arena_alloc(mem, nc * sizeof *nv);
            if (*n) memcpy(nv, *out, *n * sizeof *nv);
            *out = nv;
            *cap = nc;
        }
        (*out)[(*n)++] = v;
        return;
    }
    if (json_type_of(v) != JSON_OBJECT) return;
    const char *dot = strchr(path, '.');
    size_t seg = dot ? (size_t)(dot - path) : strlen(path);
    const json_val *c = json_obj_getn(v, path, seg);
    if (c) path_values(c, dot ? dot + 1 : "", out, n, cap, mem);
    /* a key containing dots */
    if (dot) {
        json_iter it = json_iter_begin(v);
        const char *key;
        size_t kl;
        const json_val *m;
        while ((m = json_iter_next(&it, &key, &kl)))
            if (kl > seg && !strncmp(path, key, kl) && path[kl] == '.' && memchr(key, '.', kl))
                path_values(m, path + kl + 1, out, n, cap, mem);
    }
}

query *qp_terms(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_terms *t = qnew(ctx, sizeof *t, &terms_ops);
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (json_type_of(m) == JSON_ARRAY) {
            if (t->field)
                return qerr_parsing(err, ctx, m, false, "[terms] query does not support multiple fields");
            t->field = key;
            t->n = json_len(m);
            t->values = arena_alloc(ctx->mem, (t->n + 1) * sizeof *t->values);
            for (size_t i = 0; i < t->n; i++) {
                t->values[i] = json_arr_get(m, i);
                if (json_is_null(t->values[i]))
                    return qerr_parsing(err, ctx, t->values[i], false, "No value specified for terms query");
            }
        } else if (json_type_of(m) == JSON_OBJECT) {
            if (t->field)
                return qerr_parsing(err, ctx, m, false, "[terms] query does not support multiple fields");
            t->field = key;
            const json_val *idx = json_obj_get(m, "index"), *id = json_obj_get(m, "id"), *path = json_obj_get(m, "path"),
                           *routing = json_obj_get(m, "routing");
            size_t n;
            if (!id || !path || !json_str(path, &n) || !idx) {
                return qerr_parsing(err, ctx, m, false, "[terms] query lookup element requires specifying the %s",
                                    !id ? "id" : !path ? "path" : "index");
            }
            if (!ctx->fetch_source) return qerr_parsing(err, ctx, m, false, "[terms] query lookup is not supported here");
            char tmp[64];
            const char *ids = json_str(id, &n);
            if (!ids && json_type_of(id) == JSON_INT) {
                snprintf(tmp, sizeof tmp, "%lld", (long long)json_int(id));
                ids = tmp;
            }
            char *src = NULL;
            size_t slen = 0;
            int rc = ctx->fetch_source(ctx->fetch_ctx, json_str(idx, &n), ids ? ids : "",
                                       routing ? json_str(routing, &n) : NULL, &src, &slen, err);
            if (rc < 0) return NULL;
            t->n = 0;
            if (rc == 1) {
                json_doc *d = json_parse(src, slen, NULL, NULL);
                free(src);
                if (d) {
                    const json_val **vals = NULL;
                    size_t nv = 0, cap = 0;
                    arena tmpa = { 0 };
                    path_values(json_doc_root(d), json_str(path, &n), &vals, &nv, &cap, &tmpa);
                    t->texts = arena_alloc(ctx->mem, (nv + 1) * sizeof *t->texts);
                    for (size_t i = 0; i < nv; i++) {
                        const char *tx = qtext(ctx, vals[i]);
                        if (tx) t->texts[t->n++] = arena_strndup(ctx->mem, tx, strlen(tx));
                    }
                    arena_free(&tmpa);
                    json_doc_free(d);
                }
            }
        } else {
            int r = qstd(ctx, &t->base, "terms", key, m, err);
            if (r < 0) return NULL;
            if (r == 0) return qerr_parsing(err, ctx, m, false, "[terms] query does not support [%s]", key);
        }
    }
    if (!t->field) return qerr_parsing(err, ctx, v, false, "[terms] query requires a field name, followed by array of terms or a document lookup specification");
    return &t->base;
}

/* ======================================================================== */
/* range                                                                    */

typedef struct q_range {
    query base;
    const char *field;
    const json_val *lo, *hi;
    bool lo_incl, hi_incl;
    const char *format, *time_zone;
    int64_t now_ms;
} q_range;

static doc_iter *range_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_range *r = (const q_range *)q;
    const mfield *f = searcher_field(s, r->field);
    if (!f) return doc_iter_empty();
    if (f->type == FT_TEXT || f->type == FT_MATCH_ONLY_TEXT || f->type == FT_KEYWORD || f->type == FT_WILDCARD) {
        if (r->format || r->time_zone) {
            /* Elasticsearch refuses these on string fields: */
            return shard_query_error(s, err, "[range] time_zone and format can only be used on date fields, not on [%s]",
                                     r->field);
        }
    }
    range_bounds rb = { r->lo, r->hi, r->lo_incl, r->hi_incl, r->format, r->time_zone, r->now_ms };
    return field_range_iter(s, f, &rb, (flags & QI_SCORES) ? boost : 0, err);
}

static const query_ops range_ops = { "range", range_iter };

query *qp_range(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_range *r = qnew(ctx, sizeof *r, &range_ops);
    r->lo_incl = r->hi_incl = true;
    r->now_ms = ctx->now_ms;
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (json_type_of(m) != JSON_OBJECT) {
            int rr = qstd(ctx, &r->base, "range", key, m, err);
            if (rr < 0) return NULL;
            if (rr > 0) continue;
            return qerr_parsing(err, ctx, m, false, "[range] query does not support [%s]", key);
        }
        if (r->field)
            return qerr_parsing(err, ctx, m, false, "[range] query doesn't support multiple fields, found [%s] and [%s]",
                                r->field, key);
        r->field = key;
        json_iter it2 = json_iter_begin(m);
        const char *k;
        size_t kl2;
        const json_val *x;
        while ((x = json_iter_next(&it2, &k, &kl2))) {
            if (json_type_of(x) == JSON_OBJECT || json_type_of(x) == JSON_ARRAY)
                return qerr_parsing(err, ctx, x, false, "[range] query does not support [%s]", k);
            if (!strcmp(k, "gt")) { r->lo = x; r->lo_incl = false; }
            else if (!strcmp(k, "gte")) { r->lo = x; r->lo_incl = true; }
            else if (!strcmp(k, "lt")) { r->hi = x; r->hi_incl = false; }
            else if (!strcmp(k, "lte")) { r->hi = x; r->hi_incl = true; }
            else if (!strcmp(k, "from")) r->lo = x;
            else if (!strcmp(k, "to")) r->hi = x;
            else if (!strcmp(k, "include_lower")) { if (!qbool(x, &r->lo_incl)) goto bad; }
            else if (!strcmp(k, "include_upper")) { if (!qbool(x, &r->hi_incl)) goto bad; }
            else if (!strcmp(k, "format")) r->format = qtext(ctx, x);
            else if (!strcmp(k, "time_zone")) r->time_zone = qtext(ctx, x);
            else if (!strcmp(k, "relation")) {
                const char *rel = qtext(ctx, x);
                if (!rel || (strcmp(rel, "intersects") && strcmp(rel, "within") && strcmp(rel, "contains") &&
                             strcmp(rel, "INTERSECTS") && strcmp(rel, "WITHIN") && strcmp(rel, "CONTAINS"))) {
                    es_err_set(err, ES_ILLEGAL_ARGUMENT, "[range] query does not support relation [%s]", rel ? rel : "");
                    return NULL;
                }
            } else {
                int rr = qstd(ctx, &r->base, "range", k, x, err);
                if (rr < 0) return NULL;
                if (rr == 0) return qerr_parsing(err, ctx, x, false, "[range] query does not support [%s]", k);
            }
            continue;
        bad:
            return qerr_parsing(err, ctx, x, false, "[range] query does not support [%s]", k);
        }
    }
    if (!r->field) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "field name is null or empty");
        return NULL;
    }
    return &r->base;
}

/* ======================================================================== */
/* exists                                                                   */

typedef struct q_exists {
    query base;
    const char *field;
} q_exists;

static doc_iter *exists_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_exists *e = (const q_exists *)q;
    float sc = (flags & QI_SCORES) ? boost : 0;
    if (!strcmp(e->field, "_id") || !strcmp(e->field, "_index") || !strcmp(e->field, "_source") ||
        !strcmp(e->field, "_seq_no") || !strcmp(e->field, "_version"))
        return doc_iter_all(s, sc);
    arena a = { 0 };
    const mfield **fs;
    size_t n = expand_fields(s, e->field, &fs, &a);
    if (!n) {
        arena_free(&a);
        return doc_iter_empty();
    }
    doc_iter **its = xmalloc(n * sizeof *its);
    for (size_t i = 0; i < n; i++) {
        its[i] = field_exists_iter(s, fs[i]->path, 1.0f, err);
        if (!its[i]) {
            for (size_t j = 0; j < i; j++) doc_iter_free(its[j]);
            free(its);
            arena_free(&a);
            return NULL;
        }
    }
    doc_iter *r = doc_iter_const(doc_iter_or(its, n, 1), sc);
    free(its);
    arena_free(&a);
    return r;
}

static const query_ops exists_ops = { "exists", exists_iter };

query *qp_exists(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_exists *e = qnew(ctx, sizeof *e, &exists_ops);
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (!strcmp(key, "field")) {
            e->field = qtext(ctx, m);
            if (!e->field) return qerr_parsing(err, ctx, m, false, "[exists] unknown token [%s] after [field]", json_token_name(m));
        } else {
            int r = qstd(ctx, &e->base, "exists", key, m, err);
            if (r < 0) return NULL;
            if (r == 0) return qerr_parsing(err, ctx, m, false, "[exists] query does not support [%s]", key);
        }
    }
    if (!e->field) return qerr_parsing(err, ctx, v, false, "[exists] must be provided with a [field]");
    return &e->base;
}

/* ======================================================================== */
/* ids                                                                      */

typedef struct q_ids {
    query base;
    const json_val **values;
    size_t n;
} q_ids;

static doc_iter *ids_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_ids *x = (const q_ids *)q;
    doc_iter *out = NULL;
    if (meta_field_iter(s, "_id", x->values, x->n, boost, flags, &out, err) < 0) return NULL;
    return out;
}

static const query_ops ids_ops = { "ids", ids_iter };

query *qp_ids(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_ids *x = qnew(ctx, sizeof *x, &ids_ops);
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (!strcmp(key, "values")) {
            if (json_type_of(m) != JSON_ARRAY)
                return qerr_x(err, ctx, m, false, "[ids] values doesn't support values of type: %s", json_token_name(m));
            x->n = json_len(m);
            x->values = arena_alloc(ctx->mem, (x->n + 1) * sizeof *x->values);
            for (size_t i = 0; i < x->n; i++) x->values[i] = json_arr_get(m, i);
        } else if (!strcmp(key, "boost")) {
            if (!qfloat(m, &x->base.boost)) return qerr_x(err, ctx, m, false, "[ids] failed to parse field [boost]");
        } else if (!strcmp(key, "_name")) {
            x->base.name = qtext(ctx, m);
        } else if (!strcmp(key, "type") || !strcmp(key, "types") || !strcmp(key, "_type")) {
            return qerr_x(err, ctx, m, true, "[ids] unknown field [%s]", key);
        } else {
            return qerr_x(err, ctx, m, true, "[ids] unknown field [%s]", key);
        }
    }
    return &x->base;
}

/* ======================================================================== */
/* prefix, wildcard                                                         */

typedef struct q_pattern {
    query base;
    const char *field;
    const char *value;
    size_t len;
    bool wildcard;
    bool case_insensitive;
} q_pattern;

/* Lucene's WildcardQuery: '*' any run, '?' one character (UTF-8 aware), '\' escapes. */
static bool wild_match(const char *p, size_t pn, const uint8_t *s, size_t sn, bool ci)
{
    size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
    while (si < sn) {
        if (pi < pn && p[pi] == '*') {
            star_p = ++pi;
            star_s = si;
            continue;
        }
        if (pi < pn && p[pi] == '?') {
            pi++;
            si++;
            while (si < sn && (s[si] & 0xC0) == 0x80) si++;
            continue;
        }
        if (pi < pn) {
            size_t q = pi;
            if (p[q] == '\\' && q + 1 < pn) q++;
            unsigned char a = (unsigned char)p[q], b = s[si];
            if (ci) {
                if (a >= 'A' && a <= 'Z') a += 32;
                if (b >= 'A' && b <= 'Z') b += 32;
            }
            if (a == b) {
                pi = q + 1;
                si++;
                continue;
            }
        }
        if (star_p == SIZE_MAX) return false;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < pn && p[pi] == '*') pi++;
    return pi == pn;
}

typedef struct pat_ctx {
    const q_pattern *q;
    shard_searcher *s;
    const char *field;
    docset ds;
} pat_ctx;

static int pat_visit(void *c, const void *term, size_t len, const term_entry *te, es_err *err)
{
    pat_ctx *x = c;
    bool ok;
    if (x->q->wildcard) ok = wild_match(x->q->value, x->q->len, term, len, x->q->case_insensitive);
    else ok = len >= x->q->len && (x->q->case_insensitive ? wild_match(x->q->value, x->q->len, term, x->q->len, true)
                                                          : !memcmp(term, x->q->value, x->q->len));
    if (!ok) return 0;
    return docset_add_term(&x->ds, x->s, x->field, term, len, te, err);
}

static doc_iter *pattern_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_pattern *p = (const q_pattern *)q;
    float sc = (flags & QI_SCORES) ? boost : 0;
    if (!strcmp(p->field, "_id") || !strcmp(p->field, "_index")) {
        /* a pattern over _id: scan the stored ids */
        if (!strcmp(p->field, "_index")) {
            const char *name = shard_searcher_view(s)->name;
            bool ok = p->wildcard ? wild_match(p->value, p->len, (const uint8_t *)name, strlen(name), p->case_insensitive)
                                  : !strncmp(name, p->value, p->len);
            return ok ? doc_iter_all(s, sc) : doc_iter_empty();
        }
        docset ds;
        docset_init(&ds, shard_searcher_max_doc(s));
        store_cursor *c;
        if (store_docs_open(shard_searcher_txn(s), 1, &c, err) < 0) {
            docset_free(&ds);
            return NULL;
        }
        store_doc d;
        int rc;
        while ((rc = store_docs_next(c, &d, err)) == 1) {
            bool ok = p->wildcard ? wild_match(p->value, p->len, (const uint8_t *)d.id, d.idlen, p->case_insensitive)
                                  : d.idlen >= p->len && !memcmp(d.id, p->value, p->len);
            if (ok) docset_add(&ds, d.docnum);
        }
        store_cursor_close(c);
        if (rc < 0) {
            docset_free(&ds);
            return NULL;
        }
        return docset_iter(&ds, sc);
    }
    const mfield *f = searcher_field(s, p->field);
    if (!f) return doc_iter_empty();
    if (!(f->type == FT_KEYWORD || f->type == FT_TEXT || f->type == FT_WILDCARD || f->type == FT_CONSTANT_KEYWORD ||
          f->type == FT_MATCH_ONLY_TEXT || f->type == FT_FLATTENED || f->type == FT_IP)) {
        return shard_query_error(s, err, "Can only use %s queries on keyword, text and wildcard fields - not on [%s] which is of type [%s]",
                                 p->wildcard ? "wildcard" : "prefix", p->field, field_type_name(f->type));
    }
    /* the literal prefix narrows the term range */
    size_t lit = 0;
    if (!p->case_insensitive) {
        if (p->wildcard) {
            while (lit < p->len && p->value[lit] != '*' && p->value[lit] != '?' && p->value[lit] != '\\') lit++;
        } else {
            lit = p->len;
        }
    }
    pat_ctx c = { p, s, f->path, { 0 } };
    docset_init(&c.ds, shard_searcher_max_doc(s));
    if (terms_visit_entries(s, f->path, NULL, 0, false, NULL, 0, false, lit ? p->value : NULL, lit, pat_visit, &c,
                            err) < 0) {
        docset_free(&c.ds);
        return NULL;
    }
    return docset_iter(&c.ds, sc);
}

static const query_ops prefix_ops = { "prefix", pattern_iter };
static const query_ops wildcard_ops = { "wildcard", pattern_iter };

static query *parse_pattern(query_parse_ctx *ctx, const json_val *v, bool wildcard, es_err *err)
{
    const char *qn = wildcard ? "wildcard" : "prefix";
    q_pattern *p = qnew(ctx, sizeof *p, wildcard ? &wildcard_ops : &prefix_ops);
    p->wildcard = wildcard;
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (p->field)
            return qerr_parsing(err, ctx, m, false, "[%s] query doesn't support multiple fields, found [%s] and [%s]", qn,
                                p->field, key);
        p->field = key;
        if (json_type_of(m) == JSON_OBJECT) {
            json_iter it2 = json_iter_begin(m);
            const char *k;
            size_t kl2;
            const json_val *x;
            while ((x = json_iter_next(&it2, &k, &kl2))) {
                if (json_type_of(x) == JSON_OBJECT || json_type_of(x) == JSON_ARRAY)
                    return qerr_parsing(err, ctx, x, false, "[%s] unknown token [%s] after [%s]", qn, json_token_name(x), k);
                if (!strcmp(k, "value") || (wildcard && !strcmp(k, "wildcard"))) {
                    p->value = qtext(ctx, x);
                } else if (!strcmp(k, "case_insensitive")) {
                    if (!qbool(x, &p->case_insensitive))
                        return qerr_parsing(err, ctx, x, false, "[%s] query does not support [%s]", qn, k);
                } else if (!strcmp(k, "rewrite")) {
                    /* accepted: every rewrite scores constant here */
                } else {
                    int r = qstd(ctx, &p->base, qn, k, x, err);
                    if (r < 0) return NULL;
                    if (r == 0) return qerr_parsing(err, ctx, x, false, "[%s] query does not support [%s]", qn, k);
                }
            }
        } else if (json_type_of(m) == JSON_ARRAY) {
            return qerr_parsing(err, ctx, m, false, "[%s] unknown token [START_ARRAY] after [%s]", qn, key);
        } else {
            p->value = qtext(ctx, m);
        }
    }
    if (!p->field || !*p->field) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "field name is null or empty");
        return NULL;
    }
    if (!p->value) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "value cannot be null");
        return NULL;
    }
    p->len = strlen(p->value);
    return &p->base;
}

query *qp_prefix(query_parse_ctx *ctx, const json_val *v, es_err *err) { return parse_pattern(ctx, v, false, err); }
query *qp_wildcard(query_parse_ctx *ctx, const json_val *v, es_err *err) { return parse_pattern(ctx, v, true, err); }

/* ======================================================================== */
/* regexp (Lucene's syntax is close to POSIX ERE for the common operators)  */

typedef struct q_regexp {
    query base;
    const char *field;
    const char *value;
    bool case_insensitive;
} q_regexp;

typedef struct re_ctx {
    regex_t re;
    shard_searcher *s;
    const char *field;
    docset ds;
} re_ctx;

static int re_visit(void *c, const void *term, size_t len, const term_entry *te, es_err *err)
{
    re_ctx *x = c;
    char *t = xstrndup(term, len);
    bool ok = regexec(&x->re, t, 0, NULL, 0) == 0;
    free(t);
    if (!ok) return 0;
    return docset_add_term(&x->ds, x->s, x->field, term, len, te, err);
}

static doc_iter *regexp_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_regexp *r = (const q_regexp *)q;
    return regexp_field_iter(s, r->field, r->value, r->case_insensitive, boost, flags, err);
}

doc_iter *regexp_field_iter(shard_searcher *s, const char *field, const char *value, bool case_insensitive,
                            float boost, unsigned flags, es_err *err)
{
    const struct { const char *field, *value; bool case_insensitive; } rr = { field, value, case_insensitive }, *r = &rr;
    int64_t max = index_settings_get_int(shard_searcher_view(s)->settings, "index.max_regex_length", 1000);
    size_t len = strlen(r->value);
    if ((int64_t)len > max)
        return shard_query_error(s, err,
                                 "The length of regex [%zu] used in the Regexp Query request has exceeded the allowed "
                                 "maximum of [%lld]. This maximum can be set by changing the [index.max_regex_length] "
                                 "index level setting.",
                                 len, (long long)max);
    const mfield *f = searcher_field(s, r->field);
    if (!f) return doc_iter_empty();
    if (!(f->type == FT_KEYWORD || f->type == FT_TEXT || f->type == FT_WILDCARD || f->type == FT_MATCH_ONLY_TEXT ||
          f->type == FT_CONSTANT_KEYWORD))
        return shard_query_error(s, err, "Can only use regexp queries on keyword and text fields - not on [%s] which is of type [%s]",
                                 r->field, field_type_name(f->type));
    re_ctx c = { .s = s, .field = f->path };
    char *anch = xasprintf("^(%s)$", r->value);
    int rc = regcomp(&c.re, anch, REG_EXTENDED | REG_NOSUB | (r->case_insensitive ? REG_ICASE : 0));
    free(anch);
    if (rc) return shard_query_error(s, err, "failed to create query: invalid regular expression [%s]", r->value);
    docset_init(&c.ds, shard_searcher_max_doc(s));
    rc = terms_visit_entries(s, f->path, NULL, 0, false, NULL, 0, false, NULL, 0, re_visit, &c, err);
    regfree(&c.re);
    if (rc < 0) {
        docset_free(&c.ds);
        return NULL;
    }
    return docset_iter(&c.ds, (flags & QI_SCORES) ? boost : 0);
}

static const query_ops regexp_ops = { "regexp", regexp_iter };

query *qp_regexp(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_regexp *r = qnew(ctx, sizeof *r, &regexp_ops);
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *m;
    while ((m = json_iter_next(&it, &key, &kl))) {
        if (r->field)
            return qerr_parsing(err, ctx, m, false, "[regexp] query doesn't support multiple fields, found [%s] and [%s]",
                                r->field, key);
        r->field = key;
        if (json_type_of(m) != JSON_OBJECT) {
            r->value = qtext(ctx, m);
            continue;
        }
        json_iter it2 = json_iter_begin(m);
        const char *k;
        size_t kl2;
        const json_val *x;
        while ((x = json_iter_next(&it2, &k, &kl2))) {
            if (!strcmp(k, "value")) r->value = qtext(ctx, x);
            else if (!strcmp(k, "case_insensitive")) {
                if (!qbool(x, &r->case_insensitive))
                    return qerr_parsing(err, ctx, x, false, "[regexp] query does not support [%s]", k);
            } else if (!strcmp(k, "flags") || !strcmp(k, "flags_value") || !strcmp(k, "max_determinized_states") ||
                       !strcmp(k, "rewrite")) {
            } else {
                int rr = qstd(ctx, &r->base, "regexp", k, x, err);
                if (rr < 0) return NULL;
                if (rr == 0) return qerr_parsing(err, ctx, x, false, "[regexp] query does not support [%s]", k);
            }
        }
    }
    if (!r->field || !*r->field) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "field name is null or empty");
        return NULL;
    }
    if (!r->value) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "value cannot be null");
        return NULL;
    }
    return &r->base;
}
