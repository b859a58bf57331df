/*
 * rest_analyze.c — the analyze API as Elasticsearch 8 answers it:
 *
 *   GET|POST /_analyze, GET|POST /{index}/_analyze
 *
 * Body: text (a string or an array), and one of analyzer | tokenizer (+ filter,
 * char_filter; names or inline definitions) | filter / char_filter alone (a
 * normalizer: keyword tokenizer) | normalizer | field; explain, attributes.
 * Answers {"tokens":[...]} or, with explain, {"detail":{...}} with every stage.
 */
#include "rest/rest_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Request body errors with [line:col], as Elasticsearch's ObjectParser reports them */

static void body_location(http_req *req, const json_val *root, const json_val *v, bool at_key, unsigned *line,
                          unsigned *col)
{
    size_t blen = 0;
    const char *body = http_body(req, &blen);
    *line = 1;
    *col = 1;
    if (!body || !root || !v) return;
    size_t rl = 0, vl = 0;
    const char *rr = json_raw(NULL, root, &rl), *vr = json_raw(NULL, v, &vl);
    if (!rr || !vr) return;
    size_t lead = 0;
    while (lead < blen && (body[lead] == ' ' || body[lead] == '\t' || body[lead] == '\n' || body[lead] == '\r'))
        lead++;
    size_t off = lead + (size_t)(vr - rr);
    if (off > blen) return;
    const char *p = body + off;
    if (at_key && p > body) {
        /* back over ':' and blanks to the key's opening quote */
        const char *q = p - 1;
        while (q > body && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q--;
        if (q > body && *q == ':') q--;
        while (q > body && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q--;
        if (*q == '"' && q > body) {
            q--;
            while (q > body) {
                if (*q == '"') {
                    size_t bs = 0;
                    for (const char *b = q - 1; b >= body && *b == '\\'; b--) bs++;
                    if (bs % 2 == 0) break;
                }
                q--;
            }
            p = q;
        }
    }
    for (const char *c = body; c < p; c++) {
        if (*c == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int body_error(es_err *err, http_req *req, const json_val *root, const json_val *v, bool at_key,
                      const char *fmt, ...) FERRY_PRINTF(6, 7);
static int body_error(es_err *err, http_req *req, const json_val *root, const json_val *v, bool at_key,
                      const char *fmt, ...)
{
    unsigned line, col;
    body_location(req, root, v, at_key, &line, &col);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [analyze_request] %s", line, col, msg);
}

/* Jackson's token name of a value, for "doesn't support values of type". */
/* ------------------------------------------------------------------------ */
/* The request */

typedef struct analyze_req {
    const char **texts;
    size_t n_texts;
    bool has_text;
    const char *analyzer, *field, *normalizer;
    bool has_tokenizer;
    analysis_component tokenizer;
    analysis_component *filters, *char_filters;
    size_t n_filters, n_char_filters;
    bool explain;
    const char **attributes;
    size_t n_attributes;
} analyze_req;

static void analyze_req_free(analyze_req *r)
{
    free(r->texts);
    free(r->filters);
    free(r->char_filters);
    free(r->attributes);
}

static bool scalar_text(const json_val *v, const char **s)
{
    size_t n;
    switch (json_type_of(v)) {
    case JSON_STRING: *s = json_str(v, &n); return true;
    default: return false;
    }
}

/* A string field (Elasticsearch: VALUE_STRING only). */
static int str_field(http_req *req, const json_val *root, const json_val *v, const char *key, const char **out,
                     es_err *err)
{
    if (json_type_of(v) != JSON_STRING)
        return body_error(err, req, root, v, false, "%s doesn't support values of type: %s", key, json_token_name(v));
    size_t n;
    *out = json_str(v, &n);
    return 0;
}

/* A string array field (a string or an array of scalars). */
static int str_array_field(http_req *req, const json_val *root, const json_val *v, const char *key, const char ***out,
                           size_t *n, es_err *err)
{
    if (json_type_of(v) == JSON_STRING) {
        *out = xmalloc(sizeof **out);
        (*out)[0] = json_str(v, &(size_t){ 0 });
        *n = 1;
        return 0;
    }
    if (json_type_of(v) != JSON_ARRAY)
        return body_error(err, req, root, v, false, "%s doesn't support values of type: %s", key, json_token_name(v));
    size_t len = json_len(v);
    *out = xmalloc((len ? len : 1) * sizeof **out);
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        const json_val *e = json_arr_get(v, i);
        const char *s = "";
        if (json_type_of(e) == JSON_STRING) {
            scalar_text(e, &s);
        } else if (json_is_number(e) || json_type_of(e) == JSON_BOOL) {
            size_t rl;
            const char *raw = json_raw(NULL, e, &rl);
            s = raw ? arena_strndup(http_req_arena(req), raw, rl) : "";
        } else {
            free(*out);
            *out = NULL;
            return body_error(err, req, root, v, false, "failed to parse field [%s]", key);
        }
        (*out)[(*n)++] = s;
    }
    return 0;
}

/* A name or an inline definition ({"type": ...}). */
static int component(http_req *req, const json_val *root, const json_val *v, const char *key, analysis_component *out,
                     es_err *err)
{
    memset(out, 0, sizeof *out);
    if (json_type_of(v) == JSON_STRING) {
        out->name = json_str(v, &(size_t){ 0 });
        return 0;
    }
    if (json_type_of(v) == JSON_OBJECT) {
        out->def = v;
        return 0;
    }
    return body_error(err, req, root, v, false, "%s doesn't support values of type: %s", key, json_token_name(v));
}

static int component_array(http_req *req, const json_val *root, const json_val *v, const char *key,
                           analysis_component **out, size_t *n, es_err *err)
{
    if (json_type_of(v) == JSON_OBJECT) {
        *out = xmalloc(sizeof **out);
        *n = 1;
        return component(req, root, v, key, *out, err);
    }
    if (json_type_of(v) != JSON_ARRAY)
        return body_error(err, req, root, v, false, "%s doesn't support values of type: %s", key, json_token_name(v));
    size_t len = json_len(v);
    *out = xcalloc(len ? len : 1, sizeof **out);
    *n = len;
    for (size_t i = 0; i < len; i++)
        if (component(req, root, json_arr_get(v, i), key, &(*out)[i], err)) return -1;
    return 0;
}

static int parse_request(http_req *req, const json_val *body, analyze_req *r, es_err *err)
{
    if (json_type_of(body) != JSON_OBJECT)
        return body_error(err, req, body, body, false, "Expected START_OBJECT but was: %s", json_token_name(body));
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(kl < 63 ? kl : 63), k);
        if (!strcmp(key, "text")) {
            free(r->texts);
            r->texts = NULL;
            if (json_type_of(v) == JSON_NULL) continue;
            if (str_array_field(req, body, v, "text", &r->texts, &r->n_texts, err)) return -1;
            r->has_text = true;
        } else if (!strcmp(key, "analyzer")) {
            if (str_field(req, body, v, "analyzer", &r->analyzer, err)) return -1;
        } else if (!strcmp(key, "field")) {
            if (str_field(req, body, v, "field", &r->field, err)) return -1;
        } else if (!strcmp(key, "normalizer")) {
            if (str_field(req, body, v, "normalizer", &r->normalizer, err)) return -1;
        } else if (!strcmp(key, "tokenizer")) {
            if (json_type_of(v) != JSON_STRING && json_type_of(v) != JSON_OBJECT)
                return body_error(err, req, body, v, false, "tokenizer doesn't support values of type: %s",
                                  json_token_name(v));
            if (component(req, body, v, "tokenizer", &r->tokenizer, err)) return -1;
            r->has_tokenizer = true;
        } else if (!strcmp(key, "filter")) {
            free(r->filters);
            r->filters = NULL;
            if (component_array(req, body, v, "filter", &r->filters, &r->n_filters, err)) return -1;
        } else if (!strcmp(key, "char_filter")) {
            free(r->char_filters);
            r->char_filters = NULL;
            if (component_array(req, body, v, "char_filter", &r->char_filters, &r->n_char_filters, err)) return -1;
        } else if (!strcmp(key, "explain")) {
            size_t n;
            const char *s = json_str(v, &n);
            if (json_type_of(v) == JSON_BOOL) r->explain = json_bool(v);
            else if (s && !strcmp(s, "true")) r->explain = true;
            else if (s && !strcmp(s, "false")) r->explain = false;
            else if (s) {
                es_err *cause = xcalloc(1, sizeof *cause);
                es_err_set(cause, ES_ILLEGAL_ARGUMENT,
                           "Failed to parse value [%s] as only [true] or [false] are allowed.", s);
                body_error(err, req, body, v, false, "failed to parse field [explain]");
                es_err_cause(err, cause);
                return -1;
            } else
                return body_error(err, req, body, v, false, "explain doesn't support values of type: %s",
                                  json_token_name(v));
        } else if (!strcmp(key, "attributes")) {
            free(r->attributes);
            r->attributes = NULL;
            if (str_array_field(req, body, v, "attributes", &r->attributes, &r->n_attributes, err)) return -1;
        } else {
            return body_error(err, req, body, v, true, "unknown field [%.*s]", (int)kl, k);
        }
    }
    return 0;
}

static int validate(const analyze_req *r, const char *index, es_err *err)
{
    buf b = { 0 };
    int n = 0;
    bool extra = r->has_tokenizer || r->n_char_filters || r->n_filters;
#define ADD(msg)                                   \
    do {                                           \
        if (!n) buf_puts(&b, "Validation Failed: "); \
        buf_printf(&b, "%d: %s;", ++n, msg);       \
    } while (0)
    if (!r->has_text || !r->n_texts) ADD("text is missing");
    if ((!index || !*index) && r->normalizer) ADD("index is required if normalizer is specified");
    if (r->normalizer && (r->has_tokenizer || r->analyzer)) ADD("tokenizer/analyze should be null if normalizer is specified");
    if (r->analyzer && extra) ADD("cannot define extra components on a named analyzer");
    if (r->normalizer && extra) ADD("cannot define extra components on a named normalizer");
    if (r->field && extra) ADD("cannot define extra components on a field-specific analyzer");
#undef ADD
    if (n) es_err_set(err, ES_ACTION_REQUEST_VALIDATION, "%s", b.p);
    buf_free(&b);
    return n ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Output */

typedef struct stage_list {
    json_w *w;
    int64_t last_pos;
    int64_t last_off;
    size_t count;
} stage_list;

typedef struct attr_opts {
    bool extended;      /* explain: the extra attributes */
    bool keyword;       /* the stream has a KeywordAttribute */
    const char **only;  /* `attributes` (lowercase compare); n 0 = all */
    size_t n_only;
} attr_opts;

static bool attr_on(const attr_opts *o, const char *name)
{
    if (!o->n_only) return true;
    for (size_t i = 0; i < o->n_only; i++)
        if (!strcasecmp(o->only[i], name)) return true;
    return false;
}

static void write_token(json_w *w, const token *t, int64_t pos, int64_t off, const attr_opts *o)
{
    jw_obj_begin(w);
    jw_key(w, "token");
    jw_strn(w, t->term, t->len);
    jw_kint(w, "start_offset", off + t->start_offset);
    jw_kint(w, "end_offset", off + t->end_offset);
    jw_kstr(w, "type", t->type);
    jw_kint(w, "position", pos);
    if (t->position_length > 1) jw_kint(w, "positionLength", t->position_length);
    if (o->extended) {
        if (attr_on(o, "bytes")) {
            buf b = { 0 };
            buf_putc(&b, '[');
            for (size_t i = 0; i < t->len; i++) buf_printf(&b, i ? " %x" : "%x", (unsigned char)t->term[i]);
            buf_putc(&b, ']');
            jw_kstr(w, "bytes", b.p);
            buf_free(&b);
        }
        if (o->keyword && attr_on(o, "keyword")) jw_kbool(w, "keyword", t->keyword);
        if (attr_on(o, "positionLength")) jw_kint(w, "positionLength", t->position_length ? t->position_length : 1);
        if (attr_on(o, "termFrequency")) jw_kint(w, "termFrequency", 1);
    }
    jw_obj_end(w);
}

/* Runs one text through (a stage of) an analyzer and writes its tokens, keeping
 * positions and offsets running across texts as TransportAnalyzeAction does. */
static int stage_run(stage_list *sl, const analyzer *an, size_t n_filters, const char *text, int gap,
                     const attr_opts *o, int64_t max_tokens, es_err *err)
{
    token_list l = { 0 };
    uint32_t base = (uint32_t)(sl->last_pos + 1);
    if (analyzer_run_partial(an, n_filters, text, strlen(text), base, &l, err)) {
        token_list_free(&l);
        return -1;
    }
    for (size_t i = 0; i < l.n; i++) {
        if (++sl->count > (size_t)max_tokens) {
            token_list_free(&l);
            es_err_set(err, ES_ILLEGAL_STATE,
                       "The number of tokens produced by calling _analyze has exceeded the allowed maximum of [%lld]. "
                       "This limit can be set by changing the [index.analyze.max_token_count] index level setting.",
                       (long long)max_tokens);
            return -1;
        }
        if (sl->w) write_token(sl->w, &l.t[i], l.t[i].position, sl->last_off, o);
    }
    sl->last_pos = (int64_t)l.end_position - 1 + gap;
    sl->last_off += (int64_t)l.end_offset + 1;
    token_list_free(&l);
    return 0;
}

/* Every stage first without output (the token limit fails before anything is written). */
static int check_limits(const analyze_req *r, const analyzer *an, int gap, bool custom, int64_t max, es_err *err)
{
    attr_opts none = { 0 };
    size_t stages = custom ? analyzer_filter_count(an) + 1 : 1;
    for (size_t s = 0; s < stages; s++) {
        stage_list sl = { .last_pos = -1 };
        size_t nf = custom ? s : SIZE_MAX;
        for (size_t i = 0; i < r->n_texts; i++)
            if (stage_run(&sl, an, nf, r->texts[i], gap, &none, max, err)) return -1;
    }
    return 0;
}

static void respond(http_resp *resp, const analyze_req *r, const analyzer *an, int gap, int explain_gap,
                    int64_t max_tokens)
{
    es_err err = { 0 };
    bool custom = analyzer_is_custom(an);
    if (check_limits(r, an, r->explain && custom ? explain_gap : gap, r->explain && custom, max_tokens, &err)) {
        rest_fail(resp, &err);
        return;
    }
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    if (!r->explain) {
        jw_key(w, "tokens");
        jw_arr_begin(w);
        stage_list sl = { .w = w, .last_pos = -1 };
        attr_opts none = { 0 };
        for (size_t i = 0; i < r->n_texts; i++) stage_run(&sl, an, SIZE_MAX, r->texts[i], gap, &none, INT64_MAX, &err);
        jw_arr_end(w);
        jw_obj_end(w);
        es_err_free(&err);
        return;
    }
    attr_opts o = { .extended = true, .only = r->attributes, .n_only = r->n_attributes };
    jw_key(w, "detail");
    jw_obj_begin(w);
    jw_kbool(w, "custom_analyzer", custom);
    if (!custom) {
        jw_key(w, "analyzer");
        jw_obj_begin(w);
        jw_kstr(w, "name", analyzer_name(an));
        jw_key(w, "tokens");
        jw_arr_begin(w);
        o.keyword = analyzer_has_keyword_attr(an, SIZE_MAX);
        stage_list sl = { .w = w, .last_pos = -1 };
        for (size_t i = 0; i < r->n_texts; i++) stage_run(&sl, an, SIZE_MAX, r->texts[i], gap, &o, INT64_MAX, &err);
        jw_arr_end(w);
        jw_obj_end(w);
    } else {
        jw_key(w, "charfilters");
        jw_arr_begin(w);
        for (size_t c = 0; c < analyzer_char_filter_count(an); c++) {
            jw_obj_begin(w);
            jw_kstr(w, "name", analyzer_char_filter_name(an, c));
            jw_key(w, "filtered_text");
            jw_arr_begin(w);
            for (size_t i = 0; i < r->n_texts; i++) {
                size_t n;
                char *t = analyzer_char_filter_text(an, c + 1, r->texts[i], strlen(r->texts[i]), &n);
                jw_strn(w, t, n);
                free(t);
            }
            jw_arr_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_key(w, "tokenizer");
        jw_obj_begin(w);
        jw_kstr(w, "name", analyzer_tokenizer_name(an));
        jw_key(w, "tokens");
        jw_arr_begin(w);
        {
            o.keyword = false;
            stage_list sl = { .w = w, .last_pos = -1 };
            for (size_t i = 0; i < r->n_texts; i++)
                stage_run(&sl, an, 0, r->texts[i], explain_gap, &o, INT64_MAX, &err);
        }
        jw_arr_end(w);
        jw_obj_end(w);
        jw_key(w, "tokenfilters");
        jw_arr_begin(w);
        for (size_t f = 0; f < analyzer_filter_count(an); f++) {
            jw_obj_begin(w);
            jw_kstr(w, "name", analyzer_filter_name(an, f));
            jw_key(w, "tokens");
            jw_arr_begin(w);
            o.keyword = analyzer_has_keyword_attr(an, f + 1);
            stage_list sl = { .w = w, .last_pos = -1 };
            for (size_t i = 0; i < r->n_texts; i++)
                stage_run(&sl, an, f + 1, r->texts[i], explain_gap, &o, INT64_MAX, &err);
            jw_arr_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
    jw_obj_end(w);
    es_err_free(&err);
}

/* ------------------------------------------------------------------------ */
/* Handler */

static bool string_field_type(field_type t)
{
    return t == FT_TEXT || t == FT_MATCH_ONLY_TEXT || t == FT_KEYWORD || t == FT_WILDCARD ||
           t == FT_CONSTANT_KEYWORD;
}

static void handle_analyze(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    analyze_req r = { 0 };
    index_view *view = NULL;
    analysis *an_index = NULL;
    analyzer *adhoc = NULL;

    const char *index = http_path_param(req, "index");
    if (!index) index = http_param(req, "index");
    const json_val *body = http_has_body(req) ? http_body_json(req, &err) : NULL;
    if (es_err_isset(&err)) goto fail;
    if (!body) {
        es_err_set(&err, ES_PARSE, "request body or source parameter is required");
        goto fail;
    }
    if (parse_request(req, body, &r, &err) || validate(&r, index, &err)) goto fail;

    if (index && *index) {
        resolve_opts o = resolve_opts_default();
        o.allow_no_indices = false;
        index_view **views = NULL;
        size_t n = 0;
        if (indices_resolve(node->ix, index, &o, &views, &n, &err)) goto fail;
        if (n != 1) {
            buf names = { 0 };
            for (size_t i = 0; i < n; i++) buf_printf(&names, "%s%s", i ? ", " : "", views[i]->name);
            if (n == 0) indices_not_found(&err, index);
            else
                es_err_set(&err, ES_ILLEGAL_ARGUMENT,
                           "alias [%s] has more than one index associated with it [%s], can't execute a single "
                           "index op",
                           index, names.p);
            buf_free(&names);
            indices_views_free(views, n);
            goto fail;
        }
        view = index_view_ref(views[0]);
        indices_views_free(views, n);
        an_index = analysis_build(view->settings, &err);
        if (!an_index) goto fail;
    }

    const analyzer *an = NULL;
    int gap = 100;
    if (r.has_tokenizer || r.n_filters || r.n_char_filters) {
        adhoc = analyzer_build_adhoc(an_index, r.has_tokenizer ? &r.tokenizer : NULL, r.char_filters,
                                     r.n_char_filters, r.filters, r.n_filters, &err);
        if (!adhoc) goto fail;
        an = adhoc;
    } else if (r.analyzer) {
        if (an_index) {
            an = analysis_get(an_index, r.analyzer);
            if (!an) {
                es_err_set(&err, ES_ILLEGAL_ARGUMENT, "failed to find analyzer [%s]", r.analyzer);
                goto fail;
            }
            gap = analyzer_position_increment_gap(an);
        } else {
            an = strcmp(r.analyzer, "default") ? analysis_get(analysis_default(), r.analyzer) : NULL;
            if (!an) {
                es_err_set(&err, ES_ILLEGAL_ARGUMENT, "failed to find global analyzer [%s]", r.analyzer);
                goto fail;
            }
            gap = 0; /* the global pre-built analyzers keep Lucene's gap */
        }
    } else if (r.normalizer) {
        an = analysis_normalizer(an_index, r.normalizer);
        if (!an) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "failed to find normalizer under [%s]", r.normalizer);
            goto fail;
        }
        gap = 0;
    } else if (r.field) {
        if (!an_index) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "analysis based on a specific field requires an index");
            goto fail;
        }
        const mfield *f = mapping_field(view->mapping, r.field);
        if (f && !string_field_type(f->type)) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT,
                       "Can't process field [%s], Analysis requests are only supported on tokenized fields", r.field);
            goto fail;
        }
        an = analysis_for_field(an_index, f, false);
        gap = analyzer_position_increment_gap(an);
    } else if (an_index) {
        an = analysis_get(an_index, "default");
        gap = analyzer_position_increment_gap(an);
    } else {
        an = analysis_get(analysis_default(), "standard");
        gap = 0;
    }
    /* explain reads the gap of the unwrapped analyzer: an ad hoc one has Lucene's 0 */
    int explain_gap = adhoc ? 0 : gap;
    int64_t max_tokens = an_index ? analysis_max_token_count(an_index) : 10000;
    respond(resp, &r, an, gap, explain_gap, max_tokens);
    goto done;
fail:
    rest_fail(resp, &err);
done:
    analyzer_free(adhoc);
    analysis_free(an_index);
    if (view) index_view_release(view);
    analyze_req_free(&r);
}

static const http_route analyze_routes[] = {
    { HTTP_GET | HTTP_POST, "/_analyze", handle_analyze, "index", HTTP_ROUTE_BODY },
    { HTTP_GET | HTTP_POST, "/{index}/_analyze", handle_analyze, "index", HTTP_ROUTE_BODY },
};

void rest_register_analyze(http_server *srv, rest_node *node)
{
    http_add_routes(srv, analyze_routes, ARRAY_LEN(analyze_routes), node);
}
