/*
 * query_text.c — full-text queries: match, match_phrase, multi_match, and
 * the query_string subset behind the URI `q=` parameter.
 */
#include "search/search_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Phrases                                                                  */

typedef struct phrase_iter {
    doc_iter base;
    doc_iter *conj;          /* conjunction of the terms (not scoring) */
    doc_iter **terms;        /* borrowed from conj's tree: the postings iterators */
    uint32_t *offsets;       /* each term's position in the phrase */
    size_t n;
    int slop;
    bool scores;
    bm25_weight w;
    norms_reader nr;
    float freq;
    uint64_t cost;
    /* work */
    const uint32_t **pos;
    uint32_t *npos;
    uint32_t *idx;
} phrase_iter;

/* Exact phrase: every start where each term sits at start + its offset. */
static float exact_freq(phrase_iter *p)
{
    float freq = 0;
    for (uint32_t a = 0; a < p->npos[0]; a++) {
        int64_t start = (int64_t)p->pos[0][a] - p->offsets[0];
        bool ok = true;
        for (size_t i = 1; i < p->n && ok; i++) {
            int64_t want = start + p->offsets[i];
            while (p->idx[i] < p->npos[i] && (int64_t)p->pos[i][p->idx[i]] < want) p->idx[i]++;
            ok = p->idx[i] < p->npos[i] && (int64_t)p->pos[i][p->idx[i]] == want;
        }
        if (ok) freq += 1;
    }
    return freq;
}

/* Lucene's SloppyPhraseMatcher (without repeated terms): matches whose span
 * (max - min of position - offset) is <= slop, each adding 1 / (1 + span). */
static float sloppy_freq(phrase_iter *p)
{
    size_t n = p->n;
    int64_t cur[64];
    if (n > 64) n = 64;
    int64_t end = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        p->idx[i] = 0;
        if (!p->npos[i]) return 0;
        cur[i] = (int64_t)p->pos[i][0] - p->offsets[i];
        if (cur[i] > end) end = cur[i];
    }
    float freq = 0;
    for (;;) {
        /* pop the min */
        size_t mi = 0;
        for (size_t i = 1; i < n; i++)
            if (cur[i] < cur[mi]) mi = i;
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < n; i++)
            if (i != mi && cur[i] < next) next = cur[i];
        int64_t match_len = end - cur[mi];
        bool done = false;
        for (;;) {
            /* advance the lead */
            if (++p->idx[mi] >= p->npos[mi]) {
                done = true;
                break;
            }
            cur[mi] = (int64_t)p->pos[mi][p->idx[mi]] - p->offsets[mi];
            if (cur[mi] > end) end = cur[mi];
            if (cur[mi] > next) {
                if (match_len <= p->slop) freq += 1.0f / (1.0f + (float)match_len);
                break;
            }
            int64_t ml2 = end - cur[mi];
            if (ml2 < match_len) match_len = ml2;
        }
        if (done) {
            if (match_len <= p->slop) freq += 1.0f / (1.0f + (float)match_len);
            break;
        }
    }
    return freq;
}

static uint64_t phrase_check(phrase_iter *p, uint64_t doc)
{
    while (doc != DOC_NO_MORE) {
        for (size_t i = 0; i < p->n; i++) {
            p->pos[i] = postings_positions(p->terms[i], &p->npos[i]);
            p->idx[i] = 0;
        }
        p->freq = p->slop ? sloppy_freq(p) : exact_freq(p);
        if (p->freq > 0) return p->base.doc = doc;
        doc = doc_iter_next(p->conj);
    }
    return p->base.doc = DOC_NO_MORE;
}

static uint64_t ph_next(doc_iter *it) { phrase_iter *p = (phrase_iter *)it; return phrase_check(p, doc_iter_next(p->conj)); }
static uint64_t ph_advance(doc_iter *it, uint64_t t)
{
    phrase_iter *p = (phrase_iter *)it;
    return phrase_check(p, doc_iter_advance(p->conj, t));
}
static float ph_score(doc_iter *it)
{
    phrase_iter *p = (phrase_iter *)it;
    if (!p->scores) return 0;
    return bm25_score(&p->w, p->freq, norms_get(&p->nr, it->doc));
}
static uint64_t ph_cost(doc_iter *it) { return ((phrase_iter *)it)->cost; }
static void ph_free(doc_iter *it)
{
    phrase_iter *p = (phrase_iter *)it;
    doc_iter_free(p->conj);
    norms_close(&p->nr);
    free(p->terms);
    free(p->offsets);
    free(p->pos);
    free(p->npos);
    free(p->idx);
    free(p);
}
static const doc_iter_ops ph_ops = { ph_next, ph_advance, ph_score, ph_cost, ph_free };

static doc_iter *phrase_build(shard_searcher *s, const mfield *f, const index_token *toks, size_t n, int slop,
                              float boost, unsigned flags, es_err *err)
{
    phrase_iter *p = xcalloc(1, sizeof *p);
    p->base.ops = &ph_ops;
    p->n = n;
    p->slop = slop;
    p->terms = xcalloc(n, sizeof *p->terms);
    p->offsets = xcalloc(n, sizeof *p->offsets);
    p->pos = xcalloc(n, sizeof *p->pos);
    p->npos = xcalloc(n, sizeof *p->npos);
    p->idx = xcalloc(n, sizeof *p->idx);
    double idf = 0;
    field_stats fs;
    if (shard_field_stats(s, f->path, &fs, err) < 0) goto fail;
    for (size_t i = 0; i < n; i++) {
        postings_opts po = { true, false, 1.0f };
        p->terms[i] = postings_iter(s, f->path, toks[i].term, toks[i].len, &po, err);
        if (!p->terms[i]) goto fail;
        p->offsets[i] = toks[i].position - toks[0].position;
        term_stats ts;
        if (shard_term_stats(s, f->path, toks[i].term, toks[i].len, &ts, err) < 0) goto fail;
        idf += bm25_idf(ts.doc_freq, fs.doc_count);
        if (ts.doc_freq == 0) {
            for (size_t j = 0; j <= i; j++) doc_iter_free(p->terms[j]);
            memset(p->terms, 0, n * sizeof *p->terms);
            ph_free(&p->base);
            return doc_iter_empty();
        }
    }
    doc_iter **copy = xmalloc(n * sizeof *copy);
    memcpy(copy, p->terms, n * sizeof *copy);
    p->conj = doc_iter_and(copy, n, NULL, 0);
    free(copy);
    p->cost = doc_iter_cost(p->conj);
    p->scores = flags & QI_SCORES;
    bm25_weight_init(&p->w, boost, (float)idf, &fs);
    norms_open(&p->nr, s, f->path, p->scores && search_field_has_norms(f));
    return &p->base;
fail:
    for (size_t i = 0; i < n; i++) doc_iter_free(p->terms[i]);
    memset(p->terms, 0, n * sizeof *p->terms);
    ph_free(&p->base);
    return NULL;
}

/* ======================================================================== */
/* One field's full-text query                                              */

enum { MT_MATCH, MT_PHRASE };

typedef struct match_spec {
    const char *text;
    size_t len;
    const json_val *value;
    int kind;
    bool op_and;
    const char *msm;
    const char *analyzer;
    bool zero_all;
    bool lenient;
    int slop;
} match_spec;

static bool is_text(const mfield *f) { return f->type == FT_TEXT || f->type == FT_MATCH_ONLY_TEXT; }

static doc_iter *match_field_iter(shard_searcher *s, const mfield *f, const match_spec *m, float boost,
                                  unsigned flags, es_err *err)
{
    if (!is_text(f)) {
        if (m->analyzer && (f->type == FT_KEYWORD || f->type == FT_WILDCARD)) {
            /* an explicit analyzer on a keyword field: analyze the text with it */
        } else {
            return field_term_iter(s, f, m->value, m->value ? NULL : m->text, boost, flags, m->lenient, err);
        }
    }
    arena a = { 0 };
    index_token *toks;
    size_t n;
    int rc = m->analyzer
                 ? index_analyze_named(shard_searcher_analysis(s), m->analyzer, m->text, m->len, 0, &a, &toks, &n, err)
                 : index_analyze(shard_searcher_analysis(s), f, true, m->text, m->len, 0, &a, &toks, &n, NULL, err);
    if (rc < 0) {
        arena_free(&a);
        if (m->analyzer) {
            char *why = xstrdup(err->reason ? err->reason : "");
            es_err_free(err);
            shard_query_error(s, err, "[match] analyzer [%s] not found", m->analyzer);
            free(why);
        }
        return NULL;
    }
    doc_iter *res;
    bool scores = flags & QI_SCORES;
    bool constant = f->type == FT_MATCH_ONLY_TEXT;
    if (n == 0) {
        res = m->zero_all ? doc_iter_all(s, scores ? boost : 0) : doc_iter_empty();
    } else if (n == 1 || (m->kind == MT_MATCH && false)) {
        postings_opts po = { false, scores && !constant, boost };
        res = postings_iter(s, f->path, toks[0].term, toks[0].len, &po, err);
        if (res && constant) res = doc_iter_const(res, scores ? boost : 0);
    } else if (m->kind == MT_PHRASE && !constant) {
        res = phrase_build(s, f, toks, n, m->slop, boost, flags, err);
    } else {
        doc_iter **its = xcalloc(n, sizeof *its);
        res = NULL;
        size_t k = 0;
        for (; k < n; k++) {
            postings_opts po = { false, scores && !constant, boost };
            its[k] = postings_iter(s, f->path, toks[k].term, toks[k].len, &po, err);
            if (!its[k]) break;
            if (constant) its[k] = doc_iter_const(its[k], scores ? boost : 0);
        }
        if (k < n) {
            for (size_t j = 0; j < k; j++) doc_iter_free(its[j]);
        } else if (m->kind == MT_PHRASE || m->op_and) {
            res = doc_iter_and(its, n, NULL, 0);
        } else {
            int msm = m->msm ? min_should_match((int)n, m->msm) : 1;
            if (msm < 1) msm = 1;
            res = doc_iter_or(its, n, (size_t)msm);
        }
        free(its);
    }
    arena_free(&a);
    return res;
}

/* ======================================================================== */
/* match / match_phrase                                                     */

typedef struct q_match {
    query base;
    const char *field;
    match_spec spec;
} q_match;

static doc_iter *match_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_match *m = (const q_match *)q;
    if (!strcmp(m->field, "_id") || !strcmp(m->field, "_index")) {
        /* term semantics on metadata fields */
        const mfield *none = NULL;
        (void)none;
    }
    arena a = { 0 };
    const mfield **fs;
    size_t n = expand_fields(s, m->field, &fs, &a);
    doc_iter *r;
    if (n == 0) r = doc_iter_empty();
    else if (n == 1) r = match_field_iter(s, fs[0], &m->spec, boost, flags, err);
    else {
        doc_iter **its = xcalloc(n, sizeof *its);
        r = NULL;
        size_t k = 0;
        for (; k < n; k++) {
            match_spec sp = m->spec;
            if (!is_text(fs[k])) sp.lenient = true;
            if (!(its[k] = match_field_iter(s, fs[k], &sp, boost, flags, err))) break;
        }
        if (k == n) r = doc_iter_dismax(its, n, 0);
        else for (size_t j = 0; j < k; j++) doc_iter_free(its[j]);
        free(its);
    }
    arena_free(&a);
    return r;
}

static const query_ops match_ops = { "match", match_iter };
static const query_ops match_phrase_ops = { "match_phrase", match_iter };

static query *parse_match(query_parse_ctx *ctx, const json_val *v, int kind, es_err *err)
{
    const char *qn = kind == MT_PHRASE ? "match_phrase" : "match";
    q_match *m = qnew(ctx, sizeof *m, kind == MT_PHRASE ? &match_phrase_ops : &match_ops);
    m->spec.kind = kind;
    const json_val *value = NULL;
    json_iter it = json_iter_begin(v);
    const char *key;
    size_t kl;
    const json_val *x;
    while ((x = json_iter_next(&it, &key, &kl))) {
        if (m->field)
            return qerr_parsing(err, ctx, x, false, "[%s] query doesn't support multiple fields, found [%s] and [%s]", qn,
                                m->field, key);
        m->field = key;
        if (json_type_of(x) != JSON_OBJECT) {
            if (json_type_of(x) == JSON_ARRAY)
                return qerr_parsing(err, ctx, x, false, "[%s] unknown token [START_ARRAY] after [%s]", qn, key);
            value = x;
            continue;
        }
        json_iter it2 = json_iter_begin(x);
        const char *k;
        size_t kl2;
        const json_val *y;
        while ((y = json_iter_next(&it2, &k, &kl2))) {
            if (json_type_of(y) == JSON_OBJECT || json_type_of(y) == JSON_ARRAY)
                return qerr_parsing(err, ctx, y, false, "[%s] unknown token [%s] after [%s]", qn, json_token_name(y), k);
            if (!strcmp(k, "query")) value = y;
            else if (!strcmp(k, "analyzer")) m->spec.analyzer = qtext(ctx, y);
            else if (!strcmp(k, "operator") && kind == MT_MATCH) {
                const char *op = qtext(ctx, y);
                if (op && !strcasecmp(op, "and")) m->spec.op_and = true;
                else if (op && !strcasecmp(op, "or")) m->spec.op_and = false;
                else {
                    es_err_set(err, ES_ILLEGAL_ARGUMENT, "No enum constant org.elasticsearch.index.query.Operator.%s",
                               op ? op : "null");
                    return NULL;
                }
            } else if (!strcmp(k, "minimum_should_match") && kind == MT_MATCH) m->spec.msm = qtext(ctx, y);
            else if (!strcmp(k, "zero_terms_query")) {
                const char *z = qtext(ctx, y);
                if (z && !strcasecmp(z, "all")) m->spec.zero_all = true;
                else if (z && !strcasecmp(z, "none")) m->spec.zero_all = false;
                else return qerr_parsing(err, ctx, y, false, "Unsupported zero_terms_query value [%s]", z ? z : "null");
            } else if (!strcmp(k, "lenient") && kind == MT_MATCH) {
                if (!qbool(y, &m->spec.lenient)) return qerr_parsing(err, ctx, y, false, "[%s] query does not support [%s]", qn, k);
            } else if (!strcmp(k, "slop") && kind == MT_PHRASE) {
                int64_t sl;
                if (!qint(y, &sl)) return qerr_parsing(err, ctx, y, false, "[%s] query does not support [%s]", qn, k);
                m->spec.slop = (int)sl;
            } else if (!strcmp(k, "fuzziness") && kind == MT_MATCH) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "[match] fuzziness is not supported by this node");
                return NULL;
            } else if (kind == MT_MATCH && (!strcmp(k, "prefix_length") || !strcmp(k, "max_expansions") ||
                                            !strcmp(k, "fuzzy_transpositions") || !strcmp(k, "fuzzy_rewrite") ||
                                            !strcmp(k, "auto_generate_synonyms_phrase_query") ||
                                            !strcmp(k, "cutoff_frequency"))) {
                /* accepted; they only matter with fuzziness or synonyms */
            } else {
                int r = qstd(ctx, &m->base, qn, k, y, err);
                if (r < 0) return NULL;
                if (r == 0) return qerr_parsing(err, ctx, y, false, "[%s] query does not support [%s]", qn, k);
            }
        }
    }
    if (!m->field) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s] requires fieldName", qn);
        return NULL;
    }
    if (!value || json_is_null(value)) {
        if (!value) return qerr_parsing(err, ctx, v, false, "No text specified for text query");
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s] requires query value", qn);
        return NULL;
    }
    m->spec.value = value;
    m->spec.text = qtext(ctx, value);
    m->spec.len = m->spec.text ? strlen(m->spec.text) : 0;
    if (json_type_of(value) == JSON_STRING) json_str(value, &m->spec.len);
    return &m->base;
}

query *qp_match(query_parse_ctx *ctx, const json_val *v, es_err *err) { return parse_match(ctx, v, MT_MATCH, err); }
query *qp_match_phrase(query_parse_ctx *ctx, const json_val *v, es_err *err) { return parse_match(ctx, v, MT_PHRASE, err); }

/* ======================================================================== */
/* multi_match                                                              */

enum { MM_BEST, MM_MOST, MM_PHRASE };

typedef struct q_multi {
    query base;
    const char **fields;
    float *fboost;
    size_t nf;
    match_spec spec;
    int type;
    float tie;
    bool tie_set;
} q_multi;

/* "title^2" → name and boost. */
static void field_boost(query_parse_ctx *ctx, const char *spec, const char **name, float *boost)
{
    const char *hat = strrchr(spec, '^');
    *boost = 1.0f;
    if (hat) {
        *boost = strtof(hat + 1, NULL);
        *name = arena_strndup(ctx->mem, spec, (size_t)(hat - spec));
    } else {
        *name = spec;
    }
}

static doc_iter *multi_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_multi *m = (const q_multi *)q;
    arena a = { 0 };
    doc_iter **its = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < m->nf; i++) {
        const mfield **fs;
        size_t nf = expand_fields(s, m->fields[i], &fs, &a);
        bool wild = strchr(m->fields[i], '*') != NULL;
        for (size_t k = 0; k < nf; k++) {
            match_spec sp = m->spec;
            if (wild && !is_text(fs[k])) sp.lenient = true;
            if (m->type == MM_PHRASE) sp.kind = MT_PHRASE;
            doc_iter *it = match_field_iter(s, fs[k], &sp, boost * m->fboost[i], flags, err);
            if (!it) {
                for (size_t j = 0; j < n; j++) doc_iter_free(its[j]);
                free(its);
                arena_free(&a);
                return NULL;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                its = xrealloc(its, cap * sizeof *its);
            }
            its[n++] = it;
        }
    }
    arena_free(&a);
    doc_iter *r;
    if (n == 0) r = doc_iter_empty();
    else if (n == 1) r = its[0];
    else if (m->type == MM_MOST) r = doc_iter_or(its, n, 1);
    else r = doc_iter_dismax(its, n, m->tie);
    free(its);
    return r;
}

static const query_ops multi_ops = { "multi_match", multi_iter };

query *qp_multi_match(query_parse_ctx *ctx, const json_val *v, es_err *err)
{
    q_multi *m = qnew(ctx, sizeof *m, &multi_ops);
    const json_val *value = NULL, *fields = NULL;
    json_iter it = json_iter_begin(v);
    const char *k;
    size_t kl;
    const json_val *y;
    while ((y = json_iter_next(&it, &k, &kl))) {
        if (!strcmp(k, "fields")) {
            if (json_type_of(y) != JSON_ARRAY && json_type_of(y) != JSON_STRING)
                return qerr_parsing(err, ctx, y, false, "[multi_match] query does not support [%s]", k);
            fields = y;
            continue;
        }
        if (json_type_of(y) == JSON_OBJECT || json_type_of(y) == JSON_ARRAY)
            return qerr_parsing(err, ctx, y, false, "[multi_match] unknown token [%s] after [%s]", json_token_name(y), k);
        if (!strcmp(k, "query")) value = y;
        else if (!strcmp(k, "type")) {
            const char *t = qtext(ctx, y);
            if (t && !strcmp(t, "best_fields")) m->type = MM_BEST;
            else if (t && !strcmp(t, "most_fields")) m->type = MM_MOST;
            else if (t && !strcmp(t, "phrase")) m->type = MM_PHRASE;
            else if (t && (!strcmp(t, "cross_fields") || !strcmp(t, "phrase_prefix") || !strcmp(t, "bool_prefix"))) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "[multi_match] query type [%s] is not supported by this node", t);
                return NULL;
            } else {
                return qerr_parsing(err, ctx, y, false, "[multi_match] query does not allow type [%s]", t ? t : "null");
            }
        } else if (!strcmp(k, "analyzer")) m->spec.analyzer = qtext(ctx, y);
        else if (!strcmp(k, "operator")) {
            const char *op = qtext(ctx, y);
            if (op && !strcasecmp(op, "and")) m->spec.op_and = true;
            else if (op && !strcasecmp(op, "or")) m->spec.op_and = false;
            else {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "No enum constant org.elasticsearch.index.query.Operator.%s", op ? op : "null");
                return NULL;
            }
        } else if (!strcmp(k, "minimum_should_match")) m->spec.msm = qtext(ctx, y);
        else if (!strcmp(k, "tie_breaker")) {
            if (!qfloat(y, &m->tie)) return qerr_parsing(err, ctx, y, false, "[multi_match] query does not support [%s]", k);
            m->tie_set = true;
        } else if (!strcmp(k, "lenient")) {
            if (!qbool(y, &m->spec.lenient)) return qerr_parsing(err, ctx, y, false, "[multi_match] query does not support [%s]", k);
        } else if (!strcmp(k, "zero_terms_query")) {
            const char *z = qtext(ctx, y);
            if (z && !strcasecmp(z, "all")) m->spec.zero_all = true;
            else if (z && !strcasecmp(z, "none")) m->spec.zero_all = false;
            else return qerr_parsing(err, ctx, y, false, "Unsupported zero_terms_query value [%s]", z ? z : "null");
        } else if (!strcmp(k, "slop")) {
            int64_t sl;
            if (!qint(y, &sl)) return qerr_parsing(err, ctx, y, false, "[multi_match] query does not support [%s]", k);
            m->spec.slop = (int)sl;
        } else if (!strcmp(k, "fuzziness")) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "[multi_match] fuzziness is not supported by this node");
            return NULL;
        } else if (!strcmp(k, "prefix_length") || !strcmp(k, "max_expansions") || !strcmp(k, "fuzzy_transpositions") ||
                   !strcmp(k, "fuzzy_rewrite") || !strcmp(k, "auto_generate_synonyms_phrase_query") ||
                   !strcmp(k, "cutoff_frequency")) {
        } else {
            int r = qstd(ctx, &m->base, "multi_match", k, y, err);
            if (r < 0) return NULL;
            if (r == 0) return qerr_parsing(err, ctx, y, false, "[multi_match] query does not support [%s]", k);
        }
    }
    if (!value || json_is_null(value)) return qerr_parsing(err, ctx, v, false, "No text specified for multi_match query");
    if (!fields) {
        m->nf = 1;
        m->fields = arena_alloc(ctx->mem, sizeof *m->fields);
        m->fboost = arena_alloc(ctx->mem, sizeof *m->fboost);
        m->fields[0] = "*";
        m->fboost[0] = 1.0f;
    } else if (json_type_of(fields) == JSON_STRING) {
        m->nf = 1;
        m->fields = arena_alloc(ctx->mem, sizeof *m->fields);
        m->fboost = arena_alloc(ctx->mem, sizeof *m->fboost);
        field_boost(ctx, qtext(ctx, fields), &m->fields[0], &m->fboost[0]);
    } else {
        m->nf = json_len(fields);
        m->fields = arena_alloc(ctx->mem, (m->nf + 1) * sizeof *m->fields);
        m->fboost = arena_alloc(ctx->mem, (m->nf + 1) * sizeof *m->fboost);
        for (size_t i = 0; i < m->nf; i++) {
            const char *t = qtext(ctx, json_arr_get(fields, i));
            if (!t) return qerr_parsing(err, ctx, json_arr_get(fields, i), false, "[multi_match] query does not support [fields]");
            field_boost(ctx, t, &m->fields[i], &m->fboost[i]);
        }
    }
    m->spec.value = value;
    m->spec.text = qtext(ctx, value);
    m->spec.len = m->spec.text ? strlen(m->spec.text) : 0;
    if (json_type_of(value) == JSON_STRING) json_str(value, &m->spec.len);
    return &m->base;
}

/* ======================================================================== */
/* query_string (a subset) and simple_query_string                          */

typedef struct qs_clause {
    char occur;               /* '+' must, '-' must_not, 0 default */
    const char *field;        /* NULL: the default fields */
    const char *text;         /* term, phrase text, or pattern */
    bool phrase;
    bool pattern;             /* contains * or ? */
    bool exists;              /* _exists_:field */
    bool regexp;              /* /regex/ */
    bool range;
    const char *lo, *hi;      /* range bounds (NULL: open) */
    bool lo_incl, hi_incl;
    float boost;
} qs_clause;

typedef struct q_qstring {
    query base;
    qs_clause *c;
    size_t n;
    const char **fields;      /* default fields (patterns, with ^boost) */
    float *fboost;
    size_t nf;
    bool op_and;
    bool lenient;
    bool lenient_set;
    const char *analyzer;
} q_qstring;

static doc_iter *qs_clause_iter(const q_qstring *q, const qs_clause *c, shard_searcher *s, float boost,
                                unsigned flags, es_err *err)
{
    const char *def_all[] = { "*" };
    float def_boost[] = { 1.0f };
    const char *const *fields = c->field ? &c->field : q->nf ? q->fields : def_all;
    const float *fb = c->field ? def_boost : q->nf ? q->fboost : def_boost;
    size_t nfp = c->field ? 1 : q->nf ? q->nf : 1;
    arena a = { 0 };
    doc_iter **its = NULL;
    size_t n = 0, cap = 0;
    float cb = c->boost * boost;
    for (size_t i = 0; i < nfp; i++) {
        if (c->exists) {
            const mfield **fs;
            size_t nf = expand_fields(s, c->text, &fs, &a);
            for (size_t k = 0; k < nf; k++) {
                doc_iter *it = field_exists_iter(s, fs[k]->path, (flags & QI_SCORES) ? cb : 0, err);
                if (!it) goto fail;
                if (n == cap) { cap = cap ? cap * 2 : 8; its = xrealloc(its, cap * sizeof *its); }
                its[n++] = it;
            }
            break;
        }
        const mfield **fs;
        size_t nf = expand_fields(s, fields[i], &fs, &a);
        bool wild = strchr(fields[i], '*') != NULL;
        for (size_t k = 0; k < nf; k++) {
            const mfield *f = fs[k];
            bool lenient = q->lenient || (wild && !q->lenient_set);
            doc_iter *it = NULL;
            if (c->regexp) {
                if (!(f->type == FT_TEXT || f->type == FT_KEYWORD || f->type == FT_WILDCARD ||
                      f->type == FT_MATCH_ONLY_TEXT)) {
                    if (lenient) continue;
                }
                it = regexp_field_iter(s, f->path, c->text, false, cb * fb[i], flags, err);
            } else if (c->range) {
                json_doc *dl = NULL, *dh = NULL;
                buf b = { 0 };
                if (c->lo) {
                    json_escape(&b, c->lo, strlen(c->lo));
                    dl = json_parse(b.p, b.len, NULL, NULL);
                    buf_reset(&b);
                }
                if (c->hi) {
                    json_escape(&b, c->hi, strlen(c->hi));
                    dh = json_parse(b.p, b.len, NULL, NULL);
                }
                buf_free(&b);
                range_bounds rb = { dl ? json_doc_root(dl) : NULL, dh ? json_doc_root(dh) : NULL, c->lo_incl, c->hi_incl,
                                    NULL, NULL, now_millis() };
                it = field_range_iter(s, f, &rb, (flags & QI_SCORES) ? cb * fb[i] : 0, err);
                json_doc_free(dl);
                json_doc_free(dh);
            } else if (c->pattern) {
                if (!(f->type == FT_TEXT || f->type == FT_KEYWORD || f->type == FT_WILDCARD ||
                      f->type == FT_MATCH_ONLY_TEXT)) {
                    if (lenient) continue;
                    it = shard_query_error(s, err, "Can only use wildcard queries on keyword, text and wildcard fields - not on [%s] which is of type [%s]",
                                           f->path, field_type_name(f->type));
                } else {
                    /* normalize like the field's analyzer would (lowercase for text) */
                    char *pat = xstrdup(c->text);
                    if (f->type == FT_TEXT || f->type == FT_MATCH_ONLY_TEXT)
                        for (char *p = pat; *p; p++) *p = (char)tolower((unsigned char)*p);
                    size_t lit = 0, plen = strlen(pat);
                    while (lit < plen && pat[lit] != '*' && pat[lit] != '?') lit++;
                    if (lit + 1 == plen && pat[lit] == '*') {
                        it = terms_union_iter(s, f->path, NULL, 0, false, NULL, 0, false, pat, lit,
                                              (flags & QI_SCORES) ? cb * fb[i] : 0, err);
                    } else {
                        /* general wildcard: through the wildcard query */
                        json_doc *jd;
                        buf b = { 0 };
                        buf_puts(&b, "{\"");
                        json_escape(&b, f->path, strlen(f->path));
                        b.len = 0;
                        buf_puts(&b, "{");
                        json_escape(&b, f->path, strlen(f->path));
                        buf_puts(&b, ":");
                        json_escape(&b, pat, plen);
                        buf_puts(&b, "}");
                        jd = json_parse(b.p, b.len, NULL, NULL);
                        buf_free(&b);
                        if (jd) {
                            arena qa = { 0 };
                            query_parse_ctx pc = { .mem = &qa };
                            query *wq = qp_wildcard(&pc, json_doc_root(jd), err);
                            if (wq) it = query_iter(wq, s, cb * fb[i], flags, err);
                            arena_free(&qa);
                            json_doc_free(jd);
                        }
                    }
                    free(pat);
                }
            } else {
                match_spec sp = { 0 };
                sp.text = c->text;
                sp.len = strlen(c->text);
                sp.kind = c->phrase ? MT_PHRASE : MT_MATCH;
                sp.lenient = lenient;
                sp.analyzer = q->analyzer;
                sp.op_and = false;
                it = match_field_iter(s, f, &sp, cb * fb[i], flags, err);
            }
            if (!it) goto fail;
            if (n == cap) { cap = cap ? cap * 2 : 8; its = xrealloc(its, cap * sizeof *its); }
            its[n++] = it;
        }
    }
    arena_free(&a);
    doc_iter *r = n == 0 ? doc_iter_empty() : n == 1 ? its[0] : doc_iter_dismax(its, n, 0);
    free(its);
    return r;
fail:
    for (size_t j = 0; j < n; j++) doc_iter_free(its[j]);
    free(its);
    arena_free(&a);
    return NULL;
}

static doc_iter *qstring_iter(const query *q, shard_searcher *s, float boost, unsigned flags, es_err *err)
{
    const q_qstring *qs = (const q_qstring *)q;
    doc_iter **must = xcalloc(qs->n + 1, sizeof *must), **should = xcalloc(qs->n + 1, sizeof *should),
             **not = xcalloc(qs->n + 1, sizeof *not);
    size_t nm = 0, ns = 0, nn = 0;
    doc_iter *res = NULL;
    for (size_t i = 0; i < qs->n; i++) {
        const qs_clause *c = &qs->c[i];
        doc_iter *it = qs_clause_iter(qs, c, s, boost, c->occur == '-' ? QI_FILTER : flags, err);
        if (!it) goto done;
        if (c->occur == '-') not[nn++] = it;
        else if (c->occur == '+' || qs->op_and) must[nm++] = it;
        else should[ns++] = it;
    }
    if (nm) {
        res = doc_iter_and(must, nm, NULL, 0);
        nm = 0;
        if (ns) res = doc_iter_req_opt(res, doc_iter_or(should, ns, 1));
        ns = 0;
    } else if (ns) {
        res = doc_iter_or(should, ns, 1);
        ns = 0;
    } else {
        res = doc_iter_all(s, 0);
    }
    if (nn) {
        res = doc_iter_not(res, nn == 1 ? not[0] : doc_iter_or(not, nn, 1));
        nn = 0;
    }
done:
    for (size_t i = 0; i < nm; i++) doc_iter_free(must[i]);
    for (size_t i = 0; i < ns; i++) doc_iter_free(should[i]);
    for (size_t i = 0; i < nn; i++) doc_iter_free(not[i]);
    free(must);
    free(should);
    free(not);
    return res;
}

static const query_ops qstring_ops = { "query_string", qstring_iter };
static const query_ops sqs_ops = { "simple_query_string", qstring_iter };

/* Parses the query text. Supported: terms, "phrases", field:value, field:"phrase", +/- prefixes,
 * AND / OR / NOT between terms, wildcards (* ?), field:[a TO b] / {a TO b}, field:>x >=x <x <=x,
 * _exists_:field, term^boost. Anything else is refused. */
static bool qs_parse_text(query_parse_ctx *ctx, q_qstring *q, const char *text, bool simple, es_err *err)
{
    size_t cap = 8;
    q->c = arena_alloc(ctx->mem, cap * sizeof *q->c);
    q->n = 0;
    const char *p = text;
    char pending = 0;  /* occur from AND/NOT keywords */
    bool saw_and = false;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        if (!*p) break;
        if (!simple && (!strncmp(p, "AND ", 4) || !strncmp(p, "&& ", 3))) {
            p += p[0] == 'A' ? 4 : 3;
            saw_and = true;
            if (q->n && !q->c[q->n - 1].occur) q->c[q->n - 1].occur = '+';
            pending = '+';
            continue;
        }
        if (!simple && (!strncmp(p, "OR ", 3) || !strncmp(p, "|| ", 3))) {
            p += 3;
            continue;
        }
        if (!simple && (!strncmp(p, "NOT ", 4) || *p == '!')) {
            p += *p == '!' ? 1 : 4;
            pending = '-';
            continue;
        }
        qs_clause c = { 0 };
        c.boost = 1.0f;
        c.occur = pending;
        pending = 0;
        if (*p == '+' || *p == '-') c.occur = *p++;
        if (!simple && (*p == '(' || *p == ')')) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "query_string: grouping with parentheses is not supported by this node: [%s]", text);
            return false;
        }
        /* field: */
        const char *start = p;
        const char *colon = NULL;
        if (!simple && *p != '"' && *p != '/') {
            const char *q2 = p;
            while (*q2 && *q2 != ' ' && *q2 != ':' && *q2 != '"') {
                if (*q2 == '\\' && q2[1]) q2++;
                q2++;
            }
            if (*q2 == ':') colon = q2;
        }
        if (colon) {
            c.field = arena_strndup(ctx->mem, start, (size_t)(colon - start));
            p = colon + 1;
        }
        if (!simple && *p == '/') {
            /* a regular expression up to the next unescaped '/' */
            const char *e = p + 1;
            buf b = { 0 };
            while (*e && *e != '/') {
                if (*e == '\\' && e[1] == '/') e++;
                buf_putc(&b, *e++);
            }
            if (*e != '/') {
                buf_free(&b);
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse query [%s]", text);
                err->type_name = "query_shard_exception";
                return false;
            }
            c.text = arena_strndup(ctx->mem, b.p ? b.p : "", b.len);
            buf_free(&b);
            c.regexp = true;
            p = e + 1;
        } else if (*p == '"') {
            const char *e = strchr(p + 1, '"');
            if (!e) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse query [%s]", text);
                err->type_name = "query_shard_exception";
                return false;
            }
            c.text = arena_strndup(ctx->mem, p + 1, (size_t)(e - p - 1));
            c.phrase = true;
            p = e + 1;
        } else if (!simple && (*p == '[' || *p == '{')) {
            c.range = true;
            c.lo_incl = *p == '[';
            const char *e = p + 1;
            while (*e && *e != ']' && *e != '}') e++;
            if (!*e) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse query [%s]", text);
                err->type_name = "query_shard_exception";
                return false;
            }
            c.hi_incl = *e == ']';
            char *inner = arena_strndup(ctx->mem, p + 1, (size_t)(e - p - 1));
            char *to = strstr(inner, " TO ");
            if (!to) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse query [%s]", text);
                err->type_name = "query_shard_exception";
                return false;
            }
            *to = 0;
            c.lo = strcmp(inner, "*") ? inner : NULL;
            c.hi = strcmp(to + 4, "*") ? to + 4 : NULL;
            p = e + 1;
        } else {
            const char *e = p;
            if (!simple && (*e == '>' || *e == '<')) {
                bool gt = *e == '>';
                e++;
                bool eq = *e == '=';
                if (eq) e++;
                const char *vs = e;
                while (*e && *e != ' ') e++;
                c.range = true;
                char *val = arena_strndup(ctx->mem, vs, (size_t)(e - vs));
                if (gt) { c.lo = val; c.lo_incl = eq; c.hi_incl = true; }
                else { c.hi = val; c.hi_incl = eq; c.lo_incl = true; }
                p = e;
            } else {
                buf b = { 0 };
                while (*e && *e != ' ' && *e != '\t' && *e != '\n') {
                    if (!simple && *e == '\\' && e[1]) {
                        e++;
                        buf_putc(&b, *e++);
                        continue;
                    }
                    if (!simple && (*e == '(' || *e == ')' || *e == '~')) break;
                    if (*e == '^' && !simple) break;
                    if (*e == '*' || *e == '?') c.pattern = true;
                    buf_putc(&b, *e++);
                }
                c.text = arena_strndup(ctx->mem, b.p ? b.p : "", b.len);
                buf_free(&b);
                p = e;
            }
        }
        if (!simple && *p == '~') {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "query_string: fuzzy and proximity operators (~) are not supported by this node: [%s]", text);
            return false;
        }
        if (!simple && *p == '^') {
            char *end;
            c.boost = strtof(p + 1, &end);
            p = end;
        }
        if (!simple && (*p == '(' || *p == ')')) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "query_string: grouping with parentheses is not supported by this node: [%s]", text);
            return false;
        }
        if (c.field && !strcmp(c.field, "_exists_")) {
            c.exists = true;
            c.field = NULL;
        }
        if (!c.range && !c.exists && c.text && !*c.text && !c.phrase) continue;
        if (q->n == cap) {
            size_t nc = cap * 2;
            qs_clause *nv = arena_alloc(ctx->mem, nc * sizeof *nv);
            memcpy(nv, q->c, q->n * sizeof *nv);
            q->c = nv;
            cap = nc;
        }
        q->c[q->n++] = c;
    }
    (void)saw_and;
    return true;
}

static void parse_fields_list(query_parse_ctx *ctx, q_qstring *q, const json_val *fields)
{
    if (json_type_of(fields) == JSON_STRING) {
        q->nf = 1;
        q->fields = arena_alloc(ctx->mem, sizeof *q->fields);
        q->fboost = arena_alloc(ctx->mem, sizeof *q->fboost);
        field_boost(ctx, qtext(ctx, fields), &q->fields[0], &q->fboost[0]);
        return;
    }
    q->nf = json_len(fields);
    q->fields = arena_alloc(ctx->mem, (q->nf + 1) * sizeof *q->fields);
    q->fboost = arena_alloc(ctx->mem, (q->nf + 1) * sizeof *q->fboost);
    size_t k = 0;
    for (size_t i = 0; i < q->nf; i++) {
        const char *t = qtext(ctx, json_arr_get(fields, i));
        if (t) {
            field_boost(ctx, t, &q->fields[k], &q->fboost[k]);
            k++;
        }
    }
    q->nf = k;
}

static query *parse_qstring(query_parse_ctx *ctx, const json_val *v, bool simple, es_err *err)
{
    const char *qn = simple ? "simple_query_string" : "query_string";
    q_qstring *q = qnew(ctx, sizeof *q, simple ? &sqs_ops : &qstring_ops);
    const char *text = NULL;
    json_iter it = json_iter_begin(v);
    const char *k;
    size_t kl;
    const json_val *y;
    while ((y = json_iter_next(&it, &k, &kl))) {
        if (!strcmp(k, "fields")) {
            parse_fields_list(ctx, q, y);
        } else if (!strcmp(k, "query")) {
            text = qtext(ctx, y);
        } else if (!strcmp(k, "default_field")) {
            q->nf = 1;
            q->fields = arena_alloc(ctx->mem, sizeof *q->fields);
            q->fboost = arena_alloc(ctx->mem, sizeof *q->fboost);
            field_boost(ctx, qtext(ctx, y), &q->fields[0], &q->fboost[0]);
        } else if (!strcmp(k, "default_operator")) {
            const char *op = qtext(ctx, y);
            q->op_and = op && !strcasecmp(op, "and");
        } else if (!strcmp(k, "lenient")) {
            qbool(y, &q->lenient);
            q->lenient_set = true;
        } else if (!strcmp(k, "analyzer")) {
            q->analyzer = qtext(ctx, y);
        } else if (!strcmp(k, "analyze_wildcard") || !strcmp(k, "allow_leading_wildcard") || !strcmp(k, "flags") ||
                   !strcmp(k, "auto_generate_synonyms_phrase_query") || !strcmp(k, "minimum_should_match")) {
        } else {
            int r = qstd(ctx, &q->base, qn, k, y, err);
            if (r < 0) return NULL;
            if (r == 0) return qerr_parsing(err, ctx, y, false, "[%s] query does not support [%s]", qn, k);
        }
    }
    if (!text) return qerr_parsing(err, ctx, v, false, "[%s] must be provided with a [query]", qn);
    if (!qs_parse_text(ctx, q, text, simple, err)) return NULL;
    return &q->base;
}

query *qp_query_string(query_parse_ctx *ctx, const json_val *v, es_err *err) { return parse_qstring(ctx, v, false, err); }
query *qp_simple_query_string(query_parse_ctx *ctx, const json_val *v, es_err *err) { return parse_qstring(ctx, v, true, err); }

/* The URI q= form: {"query_string": {"query": q, "default_field": df, ...}}. */
query *query_from_uri(query_parse_ctx *ctx, const char *q, const char *df, const char *default_operator,
                      const char *an_name, bool lenient, bool lenient_set, es_err *err);
query *query_from_uri(query_parse_ctx *ctx, const char *qtext_, const char *df, const char *default_operator,
                      const char *an_name, bool lenient, bool lenient_set, es_err *err)
{
    q_qstring *q = qnew(ctx, sizeof *q, &qstring_ops);
    if (df) {
        q->nf = 1;
        q->fields = arena_alloc(ctx->mem, sizeof *q->fields);
        q->fboost = arena_alloc(ctx->mem, sizeof *q->fboost);
        q->fields[0] = qdup(ctx, df);
        q->fboost[0] = 1.0f;
    }
    q->op_and = default_operator && !strcasecmp(default_operator, "and");
    q->analyzer = qdup(ctx, an_name);
    q->lenient = lenient;
    q->lenient_set = lenient_set;
    if (!qs_parse_text(ctx, q, qtext_, false, err)) return NULL;
    return &q->base;
}
