/*
 * rest_indices.c — index administration as Elasticsearch 8 answers it:
 *
 *   PUT|GET|HEAD|DELETE /{index}
 *   GET /_mapping, GET /{index}/_mapping, PUT|POST /{index}/_mapping
 *   GET /_settings[/{name}], GET /{index}/_settings[/{name}], PUT /_settings, PUT /{index}/_settings
 *   POST|GET /_refresh, /{index}/_refresh, /_flush, /{index}/_flush
 *   aliases: GET|HEAD /_alias[/{name}], GET|HEAD /{index}/_alias[/{name}], PUT|POST|DELETE
 *            /{index}/_alias(es)/{name}, POST /_aliases
 *   GET /_stats[/{metric}], GET /{index}/_stats[/{metric}]
 *   GET /_cluster/state[/{metric}[/{index}]], GET|PUT /_cluster/settings
 *
 * The _cat family lives in rest_cat.c and is registered from here.
 */
#include "rest/rest_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* rest_cat.c */


/* ------------------------------------------------------------------------ */
/* Small helpers */

/* Answers an error; on a HEAD request only its status (Elasticsearch sends no body). */
static void fail(http_req *req, http_resp *resp, es_err *err)
{
    if (http_req_method(req) == HTTP_HEAD) {
        http_resp_status(resp, err->status ? err->status : es_error_status(err->type));
        es_err_free(err);
        return;
    }
    rest_fail(resp, err);
}

static void write_ack(http_resp *resp)
{
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_kbool(w, "acknowledged", true);
    jw_obj_end(w);
}

/* The answer of every alias update: IndicesAliasesResponse (8.14+). */
static void write_alias_ack(http_resp *resp)
{
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_kbool(w, "acknowledged", true);
    jw_kbool(w, "errors", false);
    jw_obj_end(w);
}

/* The common master-node parameters every admin route takes: validated, otherwise unused
 * (one node is its own master and answers at once). */
static void check_timeouts(http_req *req, es_err *err)
{
    http_param_time(req, "timeout", 30000, err);
    http_param_time(req, "master_timeout", 30000, err);
}

/*
 * The request body as a map, as Elasticsearch's convertToMap / parser.map() read it:
 * malformed JSON is the http layer's x_content_parse_exception; a body that is not an
 * object reads as an empty map (NULL here). `required`: a missing body is
 * Elasticsearch's "request body is required". Returns false when *err was set.
 */
static bool body_map(http_req *req, bool required, const json_val **out, es_err *err)
{
    *out = NULL;
    if (!http_has_body(req)) {
        if (required) {
            es_err_set(err, ES_PARSE, "request body is required");
            return false;
        }
        return true;
    }
    const json_val *v = http_body_json(req, err);
    if (es_err_isset(err)) return false;
    if (!v) {
        if (required) {
            es_err_set(err, ES_PARSE, "request body is required");
            return false;
        }
        return true;
    }
    if (json_type_of(v) == JSON_OBJECT) *out = v;
    return true;
}

/* [line:col] of the byte at `pos` in the request body (1-based, as Jackson counts). */
static void body_location(http_req *req, const char *pos, unsigned *line, unsigned *col)
{
    size_t n = 0;
    const char *body = http_body(req, &n);
    *line = 1;
    *col = 1;
    if (!body || !pos) return;
    /* pos points into the parsed document's copy; map it by offset from the root. */
    (void)n;
    for (const char *p = body; p < pos && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Where a value of the body starts, as a pointer into the request body (for [line:col]). */
static const char *body_pos_of(http_req *req, const json_val *root, const json_val *v)
{
    size_t blen = 0;
    const char *body = http_body(req, &blen);
    const json_doc *doc = NULL;
    (void)doc;
    if (!body || !root || !v) return body;
    /* The document keeps a verbatim copy of the input; the root's raw text starts at the
     * first byte of the root value, so offsets agree with the body after its leading
     * whitespace. */
    size_t rl = 0, vl = 0;
    const char *rr = json_raw(NULL, root, &rl);
    const char *vr = json_raw(NULL, v, &vl);
    if (!rr || !vr) return body;
    size_t lead = 0;
    while (lead < blen && (body[lead] == ' ' || body[lead] == '\t' || body[lead] == '\n' || body[lead] == '\r'))
        lead++;
    size_t off = lead + (size_t)(vr - rr);
    return off <= blen ? body + off : body;
}

/* Position of the key naming member value v: walks back from the value over ':' and
 * whitespace to the key's opening quote. */
static const char *key_pos_before(const char *body, const char *vpos)
{
    const char *p = vpos;
    if (!body || !p || p <= body) return body;
    p--;
    while (p > body && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p--;
    if (p > body && *p == ':') p--;
    while (p > body && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p--;
    if (*p != '"') return vpos;
    /* back to the unescaped opening quote */
    const char *q = p - 1;
    while (q > body) {
        if (*q == '"') {
            size_t bs = 0;
            for (const char *b = q - 1; b >= body && *b == '\\'; b--) bs++;
            if (bs % 2 == 0) break;
        }
        q--;
    }
    return q;
}

/* An x_content_parse_exception "[line:col] msg" at the key of member v (or at v itself). */
static es_err *xcontent_error_at(http_req *req, const json_val *root, const json_val *v, bool at_key,
                                 const char *fmt, ...) FERRY_PRINTF(5, 6);
static es_err *xcontent_error_at(http_req *req, const json_val *root, const json_val *v, bool at_key,
                                 const char *fmt, ...)
{
    size_t blen = 0;
    const char *body = http_body(req, &blen);
    const char *pos = body_pos_of(req, root, v);
    if (at_key) pos = key_pos_before(body, pos);
    unsigned line, col;
    body_location(req, pos, &line, &col);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    es_err *e = xcalloc(1, sizeof *e);
    es_err_set(e, ES_X_CONTENT_PARSE, "[%u:%u] %s", line, col, msg);
    return e;
}

/* Moves a heap error into *err (which must be unset). */
static void err_take(es_err *err, es_err *heap)
{
    *err = *heap;
    free(heap);
}

/* Wraps *inner (heap) as the cause of a new x_content_parse_exception put into *err. */
static void err_wrap(http_req *req, const json_val *root, const json_val *v, bool at_key, es_err *inner,
                     es_err *err, const char *fmt, const char *a, const char *b)
{
    es_err *outer = xcontent_error_at(req, root, v, at_key, fmt, a, b);
    es_err_cause(outer, inner);
    err_take(err, outer);
}

static size_t total_shard_copies(index_view **views, size_t n, size_t *primaries)
{
    size_t total = 0, prim = 0;
    for (size_t i = 0; i < n; i++) {
        size_t shards = store_index_num_shards(views[i]->si);
        prim += shards;
        total += shards * (size_t)(1 + index_view_replicas(views[i]));
    }
    if (primaries) *primaries = prim;
    return total;
}

/* Writes one alias object as AliasMetadata renders it. */
static void write_alias(json_w *w, const index_alias *a)
{
    jw_key(w, a->name);
    jw_obj_begin(w);
    if (a->filter_json) {
        jw_key(w, "filter");
        jw_raw(w, a->filter_json, strlen(a->filter_json));
    }
    if (a->index_routing) jw_kstr(w, "index_routing", a->index_routing);
    if (a->search_routing) jw_kstr(w, "search_routing", a->search_routing);
    if (a->has_is_write_index) jw_kbool(w, "is_write_index", a->is_write_index);
    if (a->is_hidden) jw_kbool(w, "is_hidden", true);
    jw_obj_end(w);
}

/* ------------------------------------------------------------------------ */
/* PUT /{index} */

/* wait_for_active_shards: "all", "index-setting", or a count >= 0. -1 = all, -2 = default. */
static int64_t parse_active_shards(const char *s, es_err *err)
{
    if (!s || !strcmp(s, "index-setting")) return -2;
    if (!strcmp(s, "all")) return -1;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v > INT32_MAX || v < INT32_MIN) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "cannot parse ActiveShardCount[%s]", s);
        es_err *cause = xcalloc(1, sizeof *cause);
        es_err_set(cause, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", s);
        cause->type_name = "number_format_exception";
        es_err_cause(err, cause);
        return -2;
    }
    if (v < 0) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "shard count cannot be a negative value");
        return -2;
    }
    return v;
}

static void handle_create(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    const char *name = http_path_param(req, "index");
    check_timeouts(req, &err);
    int64_t wait_ms = http_param_time(req, "timeout", 30000, &err);
    int64_t active = es_err_isset(&err) ? -2 : parse_active_shards(http_param(req, "wait_for_active_shards"), &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);

    const json_val *body = NULL;
    if (!body_map(req, false, &body, &err)) return rest_fail(resp, &err);
    /* CreateIndexRequest.source: only settings, mappings and aliases are known. */
    if (body) {
        json_iter it = json_iter_begin(body);
        const json_val *v;
        const char *k;
        size_t kl;
        while ((v = json_iter_next(&it, &k, &kl))) {
            if (!strcmp(k, "settings")) {
                if (json_type_of(v) != JSON_OBJECT) {
                    es_err_set(&err, ES_PARSE, "key [settings] must be an object");
                    return rest_fail(resp, &err);
                }
            } else if (strcmp(k, "mappings") != 0 && strcmp(k, "aliases") != 0) {
                es_err_set(&err, ES_PARSE, "unknown key [%s] for create index", k);
                return rest_fail(resp, &err);
            }
        }
    }

    /* wait_for_active_shards can never exceed the shard copies the index asks for. */
    if (active > 1 || active == -1) {
        int64_t replicas = 1;
        const json_val *s = body ? json_obj_get(body, "settings") : NULL;
        const json_val *r = NULL;
        if (s) {
            r = json_path(s, "index.number_of_replicas");
            if (!r) r = json_obj_get(s, "index.number_of_replicas");
            if (!r) r = json_obj_get(s, "number_of_replicas");
        }
        if (r && json_type_of(r) == JSON_INT) replicas = json_int(r);
        else if (r && json_type_of(r) == JSON_STRING) replicas = atoll(json_str(r, NULL));
        if (active > replicas + 1) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT,
                       "invalid wait_for_active_shards[%lld]: cannot be greater than number of shard copies [%lld]",
                       (long long)active, (long long)(replicas + 1));
            return rest_fail(resp, &err);
        }
    }

    index_view *v = NULL;
    if (indices_create(node->ix, name, body, &v, &err) != 0) return rest_fail(resp, &err);

    /* One node holds one copy of each shard: asking for more active copies than that
     * waits for the timeout, as Elasticsearch does, and then reports it not met. */
    bool shards_ack = true;
    int64_t copies_wanted = active == -1 ? 1 + index_view_replicas(v) : active;
    if (copies_wanted > 1) {
        shards_ack = false;
        if (wait_ms > 0) {
            struct timespec ts = { (time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_kbool(w, "acknowledged", true);
    jw_kbool(w, "shards_acknowledged", shards_ack);
    jw_kstr(w, "index", v->name);
    jw_obj_end(w);
    index_view_release(v);
}

/* ------------------------------------------------------------------------ */
/* DELETE /{index} */

static void handle_delete(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    check_timeouts(req, &err);
    resolve_opts o = resolve_opts_default();
    o.expand_wildcards = EXPAND_OPEN | EXPAND_CLOSED;
    o.no_aliases = true;
    if (!es_err_isset(&err)) rest_resolve_opts(req, &o, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    if (indices_delete(node->ix, http_path_param(req, "index"), &o, &err) != 0) return rest_fail(resp, &err);
    write_ack(resp);
}

/* ------------------------------------------------------------------------ */
/* GET /{index}, HEAD /{index} */

enum { FEAT_ALIASES = 1, FEAT_MAPPINGS = 2, FEAT_SETTINGS = 4 };

static unsigned parse_features(const char *s, es_err *err)
{
    if (!s) return FEAT_ALIASES | FEAT_MAPPINGS | FEAT_SETTINGS;
    unsigned f = 0;
    size_t n_bad = 0;
    buf bad = { 0 };
    buf_reserve(&bad, 0);
    /* String.split keeps inner empty items: "a,,b" names an invalid "" feature. */
    char *copy = xstrdup(s);
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        if (!strcasecmp(p, "aliases")) f |= FEAT_ALIASES;
        else if (!strcasecmp(p, "mappings")) f |= FEAT_MAPPINGS;
        else if (!strcasecmp(p, "settings")) f |= FEAT_SETTINGS;
        else buf_printf(&bad, "%s%s", n_bad++ ? "," : "", p);
        if (!comma) break;
        p = comma + 1;
    }
    if (n_bad) es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid features specified [%s]", bad.p);
    buf_free(&bad);
    free(copy);
    return f;
}

static void write_settings_member(json_w *w, const index_view *v, bool flat, bool defaults)
{
    jw_key(w, "settings");
    index_settings_write(v->settings, flat ? SETTINGS_WRITE_FLAT : 0, w);
    if (defaults) {
        jw_key(w, "defaults");
        index_settings_write(v->settings, SETTINGS_WRITE_DEFAULTS | (flat ? SETTINGS_WRITE_FLAT : 0), w);
    }
}

static void handle_get_index(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    resolve_opts o = resolve_opts_default();
    rest_resolve_opts(req, &o, &err);
    bool flat = http_param_bool(req, "flat_settings", false, &err);
    bool defaults = http_param_bool(req, "include_defaults", false, &err);
    http_param_bool(req, "local", false, &err);
    http_param_time(req, "master_timeout", 30000, &err);
    unsigned feats = FEAT_ALIASES | FEAT_MAPPINGS | FEAT_SETTINGS;
    if (!es_err_isset(&err)) feats = parse_features(http_param(req, "features"), &err);
    if (es_err_isset(&err)) return fail(req, resp, &err);

    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return fail(req, resp, &err);
    if (http_req_method(req) == HTTP_HEAD) {
        http_resp_status(resp, n ? 200 : 404);
        indices_views_free(views, n);
        return;
    }
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        index_view *v = views[i];
        jw_key(w, v->name);
        jw_obj_begin(w);
        if (feats & FEAT_ALIASES) {
            jw_key(w, "aliases");
            jw_obj_begin(w);
            for (size_t a = 0; a < v->n_aliases; a++) write_alias(w, &v->aliases[a]);
            jw_obj_end(w);
        }
        if (feats & FEAT_MAPPINGS) {
            jw_key(w, "mappings");
            mapping_write(v->mapping, w);
        }
        if (feats & FEAT_SETTINGS) write_settings_member(w, v, flat, defaults);
        jw_obj_end(w);
    }
    jw_obj_end(w);
    indices_views_free(views, n);
}

/* ------------------------------------------------------------------------ */
/* _mapping */

static void handle_get_mapping(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    resolve_opts o = resolve_opts_default();
    rest_resolve_opts(req, &o, &err);
    http_param_bool(req, "local", false, &err);
    http_param_time(req, "master_timeout", 30000, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return rest_fail(resp, &err);
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        jw_key(w, views[i]->name);
        jw_obj_begin(w);
        jw_key(w, "mappings");
        mapping_write(views[i]->mapping, w);
        jw_obj_end(w);
    }
    jw_obj_end(w);
    indices_views_free(views, n);
}

/* With write_index_only, an alias in the expression stands for its write index only. */
static int write_index_only_views(rest_node *node, const char *expr, const resolve_opts *o, index_view ***out,
                                  size_t *n, es_err *err)
{
    *out = NULL;
    *n = 0;
    char *copy = xstrdup(expr ? expr : "_all");
    size_t cap = 0;
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        index_view *single = indices_get(node->ix, tok);
        index_view **part = NULL;
        size_t np = 0;
        if (single) {
            part = xmalloc(sizeof *part);
            part[0] = single;
            np = 1;
        } else if (!strchr(tok, '*') && tok[0] != '-' && strcmp(tok, "_all") != 0) {
            index_view *wv = NULL;
            const char *routing = NULL;
            es_err e2 = { 0 };
            if (indices_write_target(node->ix, tok, false, false, &wv, &routing, &e2) == 0) {
                part = xmalloc(sizeof *part);
                part[0] = wv;
                np = 1;
            } else {
                es_err_free(&e2);
                if (indices_resolve(node->ix, tok, o, &part, &np, err) != 0) {
                    rc = -1;
                    break;
                }
            }
        } else if (indices_resolve(node->ix, tok, o, &part, &np, err) != 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < np; i++) {
            bool dup = false;
            for (size_t j = 0; j < *n; j++)
                if (!strcmp((*out)[j]->name, part[i]->name)) dup = true;
            if (dup) {
                index_view_release(part[i]);
                continue;
            }
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                *out = xrealloc(*out, cap * sizeof **out);
            }
            (*out)[(*n)++] = part[i];
        }
        free(part);
    }
    free(copy);
    if (rc) {
        indices_views_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static void handle_put_mapping(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    check_timeouts(req, &err);
    /* PutMappingRequest's default: strict, no empty match, open and closed. */
    resolve_opts o = resolve_opts_default();
    o.allow_no_indices = false;
    o.expand_wildcards = EXPAND_OPEN | EXPAND_CLOSED;
    rest_resolve_opts(req, &o, &err);
    bool wio = http_param_bool(req, "write_index_only", false, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    const json_val *body = NULL;
    if (!body_map(req, true, &body, &err)) return rest_fail(resp, &err);
    /* MapperService.isMappingSourceTyped: a single top-level key "_doc". */
    if (body && json_len(body) == 1) {
        json_iter it = json_iter_begin(body);
        const char *k;
        size_t kl;
        json_iter_next(&it, &k, &kl);
        if (!strcmp(k, "_doc")) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "Types cannot be provided in put mapping requests");
            return rest_fail(resp, &err);
        }
    }
    index_view **views = NULL;
    size_t n = 0;
    const char *expr = http_path_param(req, "index");
    int rc = wio ? write_index_only_views(node, expr, &o, &views, &n, &err)
                 : indices_resolve(node->ix, expr, &o, &views, &n, &err);
    if (rc != 0) return rest_fail(resp, &err);
    /* An absent or non-object body reads as an empty mapping. */
    json_doc *empty = NULL;
    if (!body) {
        empty = json_parse("{}", 2, NULL, NULL);
        body = json_doc_root(empty);
    }
    rc = n ? indices_put_mapping(node->ix, views, n, body, &err) : 0;
    indices_views_free(views, n);
    json_doc_free(empty);
    if (rc != 0) return rest_fail(resp, &err);
    write_ack(resp);
}

/* ------------------------------------------------------------------------ */
/* _settings */

/* A copy of s keeping the keys that match one of the comma-separated patterns
 * (Regex.simpleMatch against the full "index."-prefixed key). */
static index_settings *filter_settings(const index_settings *s, const char *names)
{
    index_settings *c = s ? index_settings_clone(s) : index_settings_new();
    for (size_t i = c->n; i-- > 0;) {
        bool hit = false;
        char *work = xstrdup(names);
        for (char *save = NULL, *tok = strtok_r(work, ",", &save); tok && !hit; tok = strtok_r(NULL, ",", &save))
            if (indices_simple_match(tok, c->items[i].key) || !strcmp(tok, "_all")) hit = true;
        free(work);
        if (!hit) {
            char *key = xstrdup(c->items[i].key);
            index_settings_remove(c, key);
            free(key);
        }
    }
    return c;
}

/* The defaults of the known settings that s does not set, as an index_settings (for filtering). */
static index_settings *defaults_of(const index_settings *s)
{
    /* index_settings_write(SETTINGS_WRITE_DEFAULTS) knows the table; read its output back. */
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    index_settings_write(s, SETTINGS_WRITE_DEFAULTS | SETTINGS_WRITE_FLAT, &w);
    index_settings *out = index_settings_new();
    json_doc *d = json_parse(b.p, b.len, NULL, NULL);
    if (d) {
        json_iter it = json_iter_begin(json_doc_root(d));
        const json_val *v;
        const char *k;
        size_t kl;
        while ((v = json_iter_next(&it, &k, &kl)))
            if (json_type_of(v) == JSON_STRING) index_settings_set(out, k, json_str(v, NULL));
        json_doc_free(d);
    }
    buf_free(&b);
    return out;
}

static void handle_get_settings(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    resolve_opts o = resolve_opts_default();
    rest_resolve_opts(req, &o, &err);
    bool flat = http_param_bool(req, "flat_settings", false, &err);
    bool defaults = http_param_bool(req, "include_defaults", false, &err);
    http_param_bool(req, "local", false, &err);
    http_param_time(req, "master_timeout", 30000, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    const char *names = http_path_param(req, "name");
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return rest_fail(resp, &err);
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        index_view *v = views[i];
        index_settings *s = names ? filter_settings(v->settings, names) : NULL;
        const index_settings *show = names ? s : v->settings;
        index_settings *d = NULL;
        if (defaults) {
            index_settings *all = defaults_of(v->settings);
            d = names ? filter_settings(all, names) : index_settings_clone(all);
            index_settings_free(all);
        }
        /* GetSettingsResponse leaves out an index whose (filtered) settings are empty,
         * unless defaults were asked for. */
        if (!d && (!show || show->n == 0)) {
            index_settings_free(s);
            index_settings_free(d);
            continue;
        }
        jw_key(w, v->name);
        jw_obj_begin(w);
        jw_key(w, "settings");
        index_settings_write(show, flat ? SETTINGS_WRITE_FLAT : 0, w);
        if (d) {
            jw_key(w, "defaults");
            index_settings_write(d, flat ? SETTINGS_WRITE_FLAT : 0, w);
        }
        jw_obj_end(w);
        index_settings_free(s);
        index_settings_free(d);
    }
    jw_obj_end(w);
    indices_views_free(views, n);
}

static void handle_put_settings(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    check_timeouts(req, &err);
    /* UpdateSettingsRequest's default: strict, no empty match, open and closed. */
    resolve_opts o = resolve_opts_default();
    o.allow_no_indices = false;
    o.expand_wildcards = EXPAND_OPEN | EXPAND_CLOSED;
    rest_resolve_opts(req, &o, &err);
    bool preserve = http_param_bool(req, "preserve_existing", false, &err);
    http_param_bool(req, "reopen", false, &err);
    http_param_bool(req, "flat_settings", false, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    const json_val *body = NULL;
    if (!body_map(req, true, &body, &err)) return rest_fail(resp, &err);
    /* RestUpdateSettingsAction unwraps {"settings":{...}}. */
    const json_val *inner = body ? json_obj_get(body, "settings") : NULL;
    if (inner && json_type_of(inner) == JSON_OBJECT) body = inner;
    if (!body || json_len(body) == 0) {
        es_err_set(&err, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: no settings to update;");
        return rest_fail(resp, &err);
    }
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return rest_fail(resp, &err);
    int rc = n ? indices_put_settings(node->ix, views, n, body, preserve, &err) : 0;
    indices_views_free(views, n);
    if (rc != 0) return rest_fail(resp, &err);
    write_ack(resp);
}

/* ------------------------------------------------------------------------ */
/* _refresh, _flush: every write is durable and visible at commit, so these only
 * report the shard copies they would have reached. */

static void handle_broadcast(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    resolve_opts o = resolve_opts_default();
    rest_resolve_opts(req, &o, &err);
    if (strstr(http_req_path(req), "_flush")) {
        http_param_bool(req, "force", false, &err);
        http_param_bool(req, "wait_if_ongoing", true, &err);
    }
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return rest_fail(resp, &err);
    size_t prim = 0;
    size_t total = total_shard_copies(views, n, &prim);
    indices_views_free(views, n);
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_key(w, "_shards");
    jw_obj_begin(w);
    jw_kint(w, "total", (int64_t)total);
    jw_kint(w, "successful", (int64_t)prim);
    jw_kint(w, "failed", 0);
    jw_obj_end(w);
    jw_obj_end(w);
}

/* ------------------------------------------------------------------------ */
/* Aliases: reading */

/* Alias name expression: comma-separated names, wildcards, _all, and "-x" exclusions
 * after the first wildcard (Elasticsearch's rule). */
typedef struct alias_expr {
    char **items;
    size_t n;
    size_t first_wildcard; /* n when none */
} alias_expr;

static void alias_expr_parse(const char *s, alias_expr *e)
{
    memset(e, 0, sizeof *e);
    if (!s) return;
    char *copy = xstrdup(s);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        e->items = xrealloc(e->items, (e->n + 1) * sizeof *e->items);
        e->items[e->n++] = xstrdup(tok);
    }
    free(copy);
    e->first_wildcard = e->n;
    for (size_t i = 0; i < e->n; i++)
        if (strchr(e->items[i], '*')) {
            e->first_wildcard = i;
            break;
        }
}

static void alias_expr_free(alias_expr *e)
{
    for (size_t i = 0; i < e->n; i++) free(e->items[i]);
    free(e->items);
}

static bool alias_expr_matches(const alias_expr *e, const char *name)
{
    bool hit = false;
    for (size_t i = 0; i < e->n; i++) {
        const char *it = e->items[i];
        if (it[0] == '-' && i > e->first_wildcard) {
            if (indices_simple_match(it + 1, name) || !strcmp(it + 1, "_all")) hit = false;
        } else if (!strcmp(it, "_all") || indices_simple_match(it, name)) {
            hit = true;
        }
    }
    return hit;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void handle_get_alias(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    resolve_opts o = resolve_opts_default();
    o.expand_wildcards = EXPAND_ALL;
    rest_resolve_opts(req, &o, &err);
    http_param_time(req, "master_timeout", 30000, &err);
    http_param_bool(req, "local", false, &err);
    if (es_err_isset(&err)) return fail(req, resp, &err);
    const char *names = http_path_param(req, "name");
    bool head = http_req_method(req) == HTTP_HEAD;
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return fail(req, resp, &err);

    alias_expr ex;
    alias_expr_parse(names, &ex);
    bool explicit = names != NULL;
    /* Which requested names were found. */
    const char **found = NULL;
    size_t n_found = 0;
    bool any = false;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < views[i]->n_aliases; a++)
            if (explicit && alias_expr_matches(&ex, views[i]->aliases[a].name)) {
                found = xrealloc(found, (n_found + 1) * sizeof *found);
                found[n_found++] = views[i]->aliases[a].name;
                any = true;
            }

    if (head) {
        http_resp_status(resp, (explicit ? any : n > 0) ? 200 : 404);
        free(found);
        alias_expr_free(&ex);
        indices_views_free(views, n);
        return;
    }

    /* Explicitly named aliases (no wildcard, not _all, not excluded later) that exist nowhere. */
    const char **missing = NULL;
    size_t n_missing = 0;
    for (size_t i = 0; explicit && i < ex.n; i++) {
        const char *it = ex.items[i];
        if (!strcmp(it, "_all") || strchr(it, '*') || (i > ex.first_wildcard && it[0] == '-')) continue;
        size_t j = i + 1 > ex.first_wildcard ? i + 1 : ex.first_wildcard;
        for (; j < ex.n; j++)
            if (ex.items[j][0] == '-' &&
                (indices_simple_match(ex.items[j] + 1, it) || !strcmp(ex.items[j] + 1, "_all")))
                break;
        if (j != ex.n) continue;
        bool hit = false;
        for (size_t f = 0; f < n_found && !hit; f++) hit = !strcmp(found[f], it);
        bool dup = false;
        for (size_t m = 0; m < n_missing && !dup; m++) dup = !strcmp(missing[m], it);
        if (!hit && !dup) {
            missing = xrealloc(missing, (n_missing + 1) * sizeof *missing);
            missing[n_missing++] = it;
        }
    }
    if (n_missing > 1) qsort(missing, n_missing, sizeof *missing, str_cmp);

    json_w *w = http_resp_json(resp, n_missing ? 404 : 200);
    jw_obj_begin(w);
    if (n_missing) {
        buf msg = { 0 };
        buf_puts(&msg, n_missing == 1 ? "alias [" : "aliases [");
        for (size_t m = 0; m < n_missing; m++) buf_printf(&msg, "%s%s", m ? "," : "", missing[m]);
        buf_puts(&msg, "] missing");
        jw_kstr(w, "error", msg.p);
        jw_kint(w, "status", 404);
        buf_free(&msg);
    }
    for (size_t i = 0; i < n; i++) {
        index_view *v = views[i];
        bool shown = !explicit;
        for (size_t a = 0; a < v->n_aliases && !shown; a++)
            if (alias_expr_matches(&ex, v->aliases[a].name)) shown = true;
        if (!shown) continue;
        jw_key(w, v->name);
        jw_obj_begin(w);
        jw_key(w, "aliases");
        jw_obj_begin(w);
        for (size_t a = 0; a < v->n_aliases; a++)
            if (!explicit || alias_expr_matches(&ex, v->aliases[a].name)) write_alias(w, &v->aliases[a]);
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_obj_end(w);
    free(missing);
    free(found);
    alias_expr_free(&ex);
    indices_views_free(views, n);
}

/* ------------------------------------------------------------------------ */
/* Aliases: writing */

/* A JSON scalar as text (routing may be given as a number). Heap or NULL. */
static char *scalar_text(const json_val *v)
{
    switch (json_type_of(v)) {
    case JSON_STRING: return xstrdup(json_str(v, NULL));
    case JSON_INT: return xasprintf("%lld", (long long)json_int(v));
    case JSON_BOOL: return xstrdup(json_bool(v) ? "true" : "false");
    case JSON_DOUBLE: {
        char tmp[32];
        json_fmt_double(json_num(v), tmp);
        return xstrdup(tmp);
    }
    default: return NULL;
    }
}

/* A boolean member as Elasticsearch's parser reads it: true/false or "true"/"false". */
static int bool_member(const json_val *v, int *out)
{
    if (json_type_of(v) == JSON_BOOL) {
        *out = json_bool(v);
        return 0;
    }
    if (json_type_of(v) == JSON_STRING) {
        const char *s = json_str(v, NULL);
        if (!strcmp(s, "true")) return *out = 1, 0;
        if (!strcmp(s, "false")) return *out = 0, 0;
    }
    return -1;
}

/* Strings kept alive for the alias actions of one request. */
typedef struct str_pool {
    char **items;
    size_t n;
} str_pool;

static const char *pool_keep(str_pool *p, char *s)
{
    if (!s) return NULL;
    p->items = xrealloc(p->items, (p->n + 1) * sizeof *p->items);
    p->items[p->n++] = s;
    return s;
}

static void pool_free(str_pool *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->items[i]);
    free(p->items);
}

/* PUT|POST /{index}/_alias/{name} (and the _aliases and body-named forms). */
static void handle_put_alias(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    check_timeouts(req, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    const json_val *body = NULL;
    if (http_has_body(req)) {
        body = http_body_json(req, &err);
        if (es_err_isset(&err)) return rest_fail(resp, &err);
        if (body && json_type_of(body) != JSON_OBJECT) body = NULL;
    }
    str_pool pool = { 0 };
    alias_action act = { .kind = ALIAS_ADD, .is_write_index = -1, .is_hidden = -1 };
    act.index = http_path_param(req, "index");
    act.alias = http_path_param(req, "name");
    if (body) {
        json_iter it = json_iter_begin(body);
        const json_val *v;
        const char *k;
        size_t kl;
        while ((v = json_iter_next(&it, &k, &kl))) {
            if (json_type_of(v) == JSON_OBJECT) {
                if (!strcmp(k, "filter")) act.filter = v;
                continue;
            }
            if (json_type_of(v) == JSON_ARRAY) continue;
            if (!strcmp(k, "index")) {
                act.index = pool_keep(&pool, scalar_text(v));
            } else if (!strcmp(k, "alias")) {
                act.alias = pool_keep(&pool, scalar_text(v));
            } else if (!strcmp(k, "routing")) {
                act.routing = pool_keep(&pool, scalar_text(v));
            } else if (!strcmp(k, "indexRouting") || !strcmp(k, "index-routing") || !strcmp(k, "index_routing")) {
                act.index_routing = pool_keep(&pool, scalar_text(v));
            } else if (!strcmp(k, "searchRouting") || !strcmp(k, "search-routing") ||
                       !strcmp(k, "search_routing")) {
                act.search_routing = pool_keep(&pool, scalar_text(v));
            } else if (!strcmp(k, "is_write_index") || !strcmp(k, "is_hidden")) {
                int b;
                if (bool_member(v, &b) != 0) {
                    es_err *e = xcontent_error_at(req, body, v, false,
                                                  "Failed to parse value [%s] as only [true] or [false] are allowed.",
                                                  json_type_of(v) == JSON_STRING ? json_str(v, NULL) : "?");
                    err_take(&err, e);
                    pool_free(&pool);
                    return rest_fail(resp, &err);
                }
                if (!strcmp(k, "is_write_index")) act.is_write_index = b;
                else act.is_hidden = b;
            }
        }
    }
    if (!act.alias || !*act.alias) {
        es_err_set(&err, ES_ACTION_REQUEST_VALIDATION,
                   "Validation Failed: 1: Alias action [add]: Property [alias/aliases] is either missing or null;");
        pool_free(&pool);
        return rest_fail(resp, &err);
    }
    if (!act.index || !*act.index) {
        es_err_set(&err, ES_ACTION_REQUEST_VALIDATION,
                   "Validation Failed: 1: Alias action [add]: Property [index/indices] is either missing or null;");
        pool_free(&pool);
        return rest_fail(resp, &err);
    }
    int rc = indices_update_aliases(node->ix, &act, 1, &err);
    pool_free(&pool);
    if (rc != 0) return rest_fail(resp, &err);
    write_alias_ack(resp);
}

/* DELETE /{index}/_alias/{name} */
static void handle_delete_alias(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    check_timeouts(req, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    alias_action act = { .kind = ALIAS_REMOVE, .is_write_index = -1, .is_hidden = -1, .must_exist = true };
    act.index = http_path_param(req, "index");
    act.alias = http_path_param(req, "name");
    if (indices_update_aliases(node->ix, &act, 1, &err) != 0) return rest_fail(resp, &err);
    write_alias_ack(resp);
}

/* Reads a string or array-of-strings member into a comma-joined expression (heap). */
static char *string_or_list(http_req *req, const json_val *root, const json_val *v, const char *field,
                            es_err **perr, const json_val **fail_at)
{
    if (json_type_of(v) == JSON_STRING) return xstrdup(json_str(v, NULL));
    if (json_type_of(v) == JSON_ARRAY) {
        buf b = { 0 };
        buf_reserve(&b, 0);
        for (size_t i = 0; i < json_len(v); i++) {
            const json_val *e = json_arr_get(v, i);
            if (json_type_of(e) != JSON_STRING) {
                *fail_at = e;
                *perr = xcontent_error_at(req, root, e, false, "[%s] failed to parse field [%s]", "alias_action", field);
                buf_free(&b);
                return NULL;
            }
            buf_printf(&b, "%s%s", i ? "," : "", json_str(e, NULL));
        }
        return buf_detach(&b, NULL);
    }
    *perr = xcontent_error_at(req, root, v, false, "[%s] failed to parse field [%s]", "alias_action", field);
    return NULL;
}

/* Parses one {"add"|"remove"|"remove_index": {...}} entry. Returns 0, or -1 with *inner set. */
static int parse_alias_action(http_req *req, const json_val *root, const json_val *entry, alias_action *act,
                              str_pool *pool, es_err **inner, const json_val **cur)
{
    *cur = entry;
    memset(act, 0, sizeof *act);
    act->is_write_index = -1;
    act->is_hidden = -1;
    if (json_type_of(entry) != JSON_OBJECT) {
        *inner = xcontent_error_at(req, root, entry, false, "[alias_action] Expected START_OBJECT but was: %s",
                                   json_type_of(entry) == JSON_ARRAY ? "START_ARRAY" : "VALUE");
        return -1;
    }
    const char *type = NULL;
    const json_val *spec = NULL;
    json_iter it = json_iter_begin(entry);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        *cur = v;
        if (strcmp(k, "add") && strcmp(k, "remove") && strcmp(k, "remove_index")) {
            *inner = xcontent_error_at(req, root, v, true, "[alias_action] unknown field [%s]", k);
            return -1;
        }
        if (type) {
            *inner = xcontent_error_at(req, root, v, false, "[alias_action] failed to parse field [%s]", k);
            es_err *c = xcalloc(1, sizeof *c);
            es_err_set(c, ES_ILLEGAL_ARGUMENT, "Too many operations declared on operation entry");
            es_err_cause(*inner, c);
            return -1;
        }
        type = k;
        spec = v;
    }
    if (!type) {
        *inner = xcontent_error_at(req, root, entry, false, "[alias_action] failed to parse, no operation given");
        return -1;
    }
    act->kind = !strcmp(type, "add") ? ALIAS_ADD : !strcmp(type, "remove") ? ALIAS_REMOVE : ALIAS_REMOVE_INDEX;
    act->must_exist = act->kind == ALIAS_REMOVE;
    if (json_type_of(spec) != JSON_OBJECT) {
        *inner = xcontent_error_at(req, root, spec, false, "[alias_action] %s doesn't support values of type: VALUE_%s",
                                   type, json_type_of(spec) == JSON_STRING ? "STRING" : "NUMBER");
        return -1;
    }
    bool has_index = false, has_alias = false;
    it = json_iter_begin(spec);
    while ((v = json_iter_next(&it, &k, &kl))) {
        es_err *bad = NULL;
        const json_val *fail_at = v;
        bool alias_field = !strcmp(k, "alias") || !strcmp(k, "aliases");
        bool known = !strcmp(k, "index") || !strcmp(k, "indices") || !strcmp(k, "must_exist");
        if (act->kind != ALIAS_REMOVE_INDEX)
            known = known || alias_field;
        if (act->kind == ALIAS_ADD)
            known = known || !strcmp(k, "filter") || !strcmp(k, "routing") || !strcmp(k, "index_routing") ||
                    !strcmp(k, "search_routing") || !strcmp(k, "is_write_index") || !strcmp(k, "is_hidden");
        if (act->kind == ALIAS_REMOVE_INDEX && !strcmp(k, "must_exist")) known = false;
        if (!known) {
            bad = xcontent_error_at(req, root, v, true, "[%s] unknown field [%s]", type, k);
        } else if (!strcmp(k, "index") || !strcmp(k, "indices")) {
            if (has_index) {
                bad = xcontent_error_at(req, root, v, false, "[%s] failed to parse field [%s]", type, k);
                es_err *c = xcalloc(1, sizeof *c);
                es_err_set(c, ES_ILLEGAL_ARGUMENT, "Only one of [index] and [indices] is supported");
                es_err_cause(bad, c);
            } else if (!strcmp(k, "index") && json_type_of(v) != JSON_STRING) {
                bad = xcontent_error_at(req, root, v, false, "[%s] index doesn't support values of type: %s", type,
                                        json_type_of(v) == JSON_ARRAY ? "START_ARRAY" : "VALUE_NUMBER");
            } else {
                char *s = string_or_list(req, root, v, k, &bad, &fail_at);
                if (s && !*s) {
                    free(s);
                    s = NULL;
                    bad = xcontent_error_at(req, root, v, false, "[%s] failed to parse field [%s]", type, k);
                    es_err *c = xcalloc(1, sizeof *c);
                    es_err_set(c, ES_ILLEGAL_ARGUMENT, "[%s] can't be empty string", k);
                    es_err_cause(bad, c);
                }
                act->index = pool_keep(pool, s);
                has_index = true;
            }
        } else if (alias_field) {
            if (has_alias) {
                bad = xcontent_error_at(req, root, v, false, "[%s] failed to parse field [%s]", type, k);
                es_err *c = xcalloc(1, sizeof *c);
                es_err_set(c, ES_ILLEGAL_ARGUMENT, "Only one of [alias] and [aliases] is supported");
                es_err_cause(bad, c);
            } else if (!strcmp(k, "alias") && json_type_of(v) != JSON_STRING) {
                bad = xcontent_error_at(req, root, v, false, "[%s] alias doesn't support values of type: %s", type,
                                        json_type_of(v) == JSON_ARRAY ? "START_ARRAY" : "VALUE_NUMBER");
            } else {
                char *s = string_or_list(req, root, v, k, &bad, &fail_at);
                if (s && !*s) {
                    free(s);
                    s = NULL;
                    bad = xcontent_error_at(req, root, v, false, "[%s] failed to parse field [%s]", type, k);
                    es_err *c = xcalloc(1, sizeof *c);
                    es_err_set(c, ES_ILLEGAL_ARGUMENT, "[%s] can't be empty string", k);
                    es_err_cause(bad, c);
                }
                act->alias = pool_keep(pool, s);
                has_alias = true;
            }
        } else if (!strcmp(k, "filter")) {
            if (json_type_of(v) == JSON_OBJECT) act->filter = v;
            else if (json_type_of(v) != JSON_NULL)
                bad = xcontent_error_at(req, root, v, false, "[%s] filter doesn't support values of type: VALUE_%s",
                                        type, json_type_of(v) == JSON_STRING ? "STRING" : "NUMBER");
        } else if (!strcmp(k, "routing") || !strcmp(k, "index_routing") || !strcmp(k, "search_routing")) {
            char *s = json_type_of(v) == JSON_NULL ? NULL : scalar_text(v);
            if (!s && json_type_of(v) != JSON_NULL)
                bad = xcontent_error_at(req, root, v, false, "[%s] %s doesn't support values of type: START_%s", type, k,
                                        json_type_of(v) == JSON_ARRAY ? "ARRAY" : "OBJECT");
            const char *kept = pool_keep(pool, s);
            if (!strcmp(k, "routing")) act->routing = kept;
            else if (!strcmp(k, "index_routing")) act->index_routing = kept;
            else act->search_routing = kept;
        } else {
            int b;
            if (bool_member(v, &b) != 0) {
                bad = xcontent_error_at(req, root, v, false, "[%s] failed to parse field [%s]", type, k);
            } else if (!strcmp(k, "is_write_index")) {
                act->is_write_index = b;
            } else if (!strcmp(k, "is_hidden")) {
                act->is_hidden = b;
            } else {
                act->must_exist = b;
            }
        }
        if (bad) {
            /* [alias_action] failed to parse field [add] → [add] ... */
            /* ObjectParser wraps with the location of the token it stopped on. */
            *cur = fail_at;
            es_err *outer = xcontent_error_at(req, root, fail_at, false, "[alias_action] failed to parse field [%s]", type);
            es_err_cause(outer, bad);
            *inner = outer;
            return -1;
        }
    }
    return 0;
}

/* POST /_aliases */
static void handle_update_aliases(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    check_timeouts(req, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    if (!http_has_body(req)) {
        es_err_set(&err, ES_PARSE, "request body is required");
        return rest_fail(resp, &err);
    }
    const json_val *body = http_body_json(req, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    if (!body || json_type_of(body) != JSON_OBJECT) {
        es_err *e = xcontent_error_at(req, body, body, false, "[aliases] Expected START_OBJECT but was: %s",
                                      body && json_type_of(body) == JSON_ARRAY ? "START_ARRAY" : "VALUE_STRING");
        err_take(&err, e);
        return rest_fail(resp, &err);
    }
    const json_val *actions = NULL;
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        if (strcmp(k, "actions") != 0) {
            es_err *e = xcontent_error_at(req, body, v, true, "[aliases] unknown field [%s]", k);
            err_take(&err, e);
            return rest_fail(resp, &err);
        }
        actions = v;
    }
    size_t n = 0;
    alias_action *acts = NULL;
    str_pool pool = { 0 };
    if (actions) {
        size_t cnt = json_type_of(actions) == JSON_ARRAY ? json_len(actions) : 1;
        acts = xcalloc(cnt ? cnt : 1, sizeof *acts);
        for (size_t i = 0; i < cnt; i++) {
            const json_val *entry = json_type_of(actions) == JSON_ARRAY ? json_arr_get(actions, i) : actions;
            es_err *inner = NULL;
            const json_val *cur = NULL;
            if (parse_alias_action(req, body, entry, &acts[n], &pool, &inner, &cur) != 0) {
                err_wrap(req, body, cur, false, inner, &err, "[%s] failed to parse field [%s]", "aliases", "actions");
                free(acts);
                pool_free(&pool);
                return rest_fail(resp, &err);
            }
            n++;
        }
    }
    /* IndicesAliasesRequest.validate */
    buf msg = { 0 };
    int nerr = 0;
    if (!n) buf_printf(&msg, "Validation Failed: %d: Must specify at least one alias action;", ++nerr);
    for (size_t i = 0; i < n; i++) {
        const char *tname = acts[i].kind == ALIAS_ADD ? "add" : acts[i].kind == ALIAS_REMOVE ? "remove" : "remove_index";
        if (acts[i].kind != ALIAS_REMOVE_INDEX && !acts[i].alias) {
            nerr++;
            buf_printf(&msg, "%s%d: Alias action [%s]: Property [alias/aliases] is either missing or null;",
                       nerr > 1 ? "" : "Validation Failed: ", nerr, tname);
        }
        if (!acts[i].index) {
            nerr++;
            buf_printf(&msg, "%s%d: Alias action [%s]: Property [index/indices] is either missing or null;",
                       nerr > 1 ? "" : "Validation Failed: ", nerr, tname);
        }
    }
    if (nerr) {
        es_err_set(&err, ES_ACTION_REQUEST_VALIDATION, "%s", msg.p);
        buf_free(&msg);
        free(acts);
        pool_free(&pool);
        return rest_fail(resp, &err);
    }
    buf_free(&msg);
    /* An add names aliases, not alias expressions: one action per alias. */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total++;
        if (acts[i].kind == ALIAS_ADD && acts[i].alias)
            for (const char *p = acts[i].alias; *p; p++) total += *p == ',';
    }
    alias_action *flat = xcalloc(total ? total : 1, sizeof *flat);
    size_t nf = 0;
    for (size_t i = 0; i < n; i++) {
        if (acts[i].kind != ALIAS_ADD || !acts[i].alias || !strchr(acts[i].alias, ',')) {
            flat[nf++] = acts[i];
            continue;
        }
        char *copy = (char *)pool_keep(&pool, xstrdup(acts[i].alias));
        for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            flat[nf] = acts[i];
            flat[nf++].alias = tok;
        }
    }
    free(acts);
    acts = flat;
    n = nf;
    int rc = indices_update_aliases(node->ix, acts, n, &err);
    free(acts);
    pool_free(&pool);
    if (rc != 0) return rest_fail(resp, &err);
    write_alias_ack(resp);
}

/* ------------------------------------------------------------------------ */
/* _stats */

static const char *const stats_metrics[] = {
    "_all", "docs", "store", "indexing", "get", "search", "merge", "refresh", "flush", "warmer",
    "query_cache", "fielddata", "completion", "segments", "translog", "request_cache", "recovery",
    "bulk", "shard_stats", "mappings", "dense_vector", "sparse_vector",
};

enum { SM_DOCS = 1, SM_STORE = 2, SM_INDEXING = 4, SM_GET = 8, SM_SEARCH = 16, SM_SHARDS = 32 };

static void human_bytes(uint64_t bytes, char *out, size_t n)
{
    static const char *const suf[] = { "b", "kb", "mb", "gb", "tb", "pb" };
    int u = 0;
    double v = (double)bytes;
    uint64_t scale = 1;
    while (u < 5 && bytes >= scale * 1024) {
        scale *= 1024;
        u++;
    }
    v = (double)bytes / (double)scale;
    char d[32];
    json_fmt_double(v, d);
    /* Strings.format1Decimals: one decimal, truncated, ".0" dropped. */
    char *dot = strchr(d, '.');
    char *e = strchr(d, 'E');
    char exp[16] = "";
    if (e) {
        snprintf(exp, sizeof exp, "%s", e);
        *e = 0;
    }
    if (dot) {
        if (dot[1] == '0' || !dot[1]) *dot = 0;
        else dot[2] = 0;
    }
    snprintf(out, n, "%s%s%s", d, exp, suf[u]);
}

static void kbytes(json_w *w, bool human, const char *hname, const char *name, uint64_t v)
{
    if (human) {
        char h[48];
        human_bytes(v, h, sizeof h);
        jw_kstr(w, hname, h);
    }
    jw_key(w, name);
    jw_uint(w, v);
}

static void kmillis(json_w *w, bool human, const char *hname, const char *name)
{
    if (human) jw_kstr(w, hname, "0s");
    jw_kint(w, name, 0);
}

static void write_common_stats(json_w *w, unsigned m, bool human, uint32_t shards, uint64_t docs, uint64_t deleted,
                               uint64_t store_bytes)
{
    jw_obj_begin(w);
    if (m & SM_DOCS) {
        jw_key(w, "docs");
        jw_obj_begin(w);
        jw_key(w, "count");
        jw_uint(w, docs);
        jw_key(w, "deleted");
        jw_uint(w, deleted);
        kbytes(w, human, "total_size", "total_size_in_bytes", store_bytes);
        jw_obj_end(w);
    }
    if (m & SM_SHARDS) {
        jw_key(w, "shard_stats");
        jw_obj_begin(w);
        jw_kint(w, "total_count", shards);
        jw_obj_end(w);
    }
    if (m & SM_STORE) {
        jw_key(w, "store");
        jw_obj_begin(w);
        kbytes(w, human, "size", "size_in_bytes", store_bytes);
        kbytes(w, human, "total_data_set_size", "total_data_set_size_in_bytes", store_bytes);
        kbytes(w, human, "reserved", "reserved_in_bytes", 0);
        jw_obj_end(w);
    }
    if (m & SM_INDEXING) {
        jw_key(w, "indexing");
        jw_obj_begin(w);
        jw_kint(w, "index_total", 0);
        kmillis(w, human, "index_time", "index_time_in_millis");
        jw_kint(w, "index_current", 0);
        jw_kint(w, "index_failed", 0);
        jw_kint(w, "index_failed_due_to_version_conflict", 0);
        jw_kint(w, "delete_total", 0);
        kmillis(w, human, "delete_time", "delete_time_in_millis");
        jw_kint(w, "delete_current", 0);
        jw_kint(w, "noop_update_total", 0);
        jw_kbool(w, "is_throttled", false);
        kmillis(w, human, "throttle_time", "throttle_time_in_millis");
        jw_key(w, "write_load");
        jw_double(w, 0.0);
        jw_obj_end(w);
    }
    if (m & SM_GET) {
        jw_key(w, "get");
        jw_obj_begin(w);
        jw_kint(w, "total", 0);
        kmillis(w, human, "getTime", "time_in_millis");
        jw_kint(w, "exists_total", 0);
        kmillis(w, human, "exists_time", "exists_time_in_millis");
        jw_kint(w, "missing_total", 0);
        kmillis(w, human, "missing_time", "missing_time_in_millis");
        jw_kint(w, "current", 0);
        jw_obj_end(w);
    }
    if (m & SM_SEARCH) {
        jw_key(w, "search");
        jw_obj_begin(w);
        jw_kint(w, "open_contexts", 0);
        jw_kint(w, "query_total", 0);
        kmillis(w, human, "query_time", "query_time_in_millis");
        jw_kint(w, "query_current", 0);
        jw_kint(w, "fetch_total", 0);
        kmillis(w, human, "fetch_time", "fetch_time_in_millis");
        jw_kint(w, "fetch_current", 0);
        jw_kint(w, "scroll_total", 0);
        kmillis(w, human, "scroll_time", "scroll_time_in_millis");
        jw_kint(w, "scroll_current", 0);
        jw_kint(w, "suggest_total", 0);
        kmillis(w, human, "suggest_time", "suggest_time_in_millis");
        jw_kint(w, "suggest_current", 0);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

static void handle_stats(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    resolve_opts o = resolve_opts_default();
    rest_resolve_opts(req, &o, &err);
    bool human = http_param_bool(req, "human", false, &err);
    http_param_bool(req, "include_segment_file_sizes", false, &err);
    http_param_bool(req, "include_unloaded_segments", false, &err);
    http_param_bool(req, "forbid_closed_indices", true, &err);
    const char *level = http_param(req, "level");
    if (!es_err_isset(&err) && level && strcmp(level, "cluster") && strcmp(level, "indices") && strcmp(level, "shards"))
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "level parameter must be one of [cluster] or [indices] or [shards] but was [%s]",
                   level);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    bool lvl_cluster = level && !strcmp(level, "cluster");
    bool lvl_shards = level && !strcmp(level, "shards");

    /* Metrics: a comma list; _all alone, unknown names refused with ES's text. */
    unsigned m = SM_DOCS | SM_STORE | SM_INDEXING | SM_GET | SM_SEARCH | SM_SHARDS;
    const char *metric = http_path_param(req, "metric");
    if (metric) {
        buf bad = { 0 };
        unsigned sel = 0;
        bool all = false;
        char *copy = xstrdup(metric);
        size_t count = 0;
        for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            count++;
            bool known = false;
            for (size_t i = 0; i < ARRAY_LEN(stats_metrics); i++)
                if (!strcmp(tok, stats_metrics[i])) known = true;
            if (!known) {
                buf_printf(&bad, "%s%s", bad.len ? ", " : "", tok);
                continue;
            }
            if (!strcmp(tok, "_all")) all = true;
            else if (!strcmp(tok, "docs")) sel |= SM_DOCS;
            else if (!strcmp(tok, "store")) sel |= SM_STORE;
            else if (!strcmp(tok, "indexing")) sel |= SM_INDEXING;
            else if (!strcmp(tok, "get")) sel |= SM_GET;
            else if (!strcmp(tok, "search")) sel |= SM_SEARCH;
            else if (!strcmp(tok, "shard_stats")) sel |= SM_SHARDS;
        }
        free(copy);
        if (bad.len) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "request [%s] contains unrecognized metric%s: [%s]", http_req_path(req),
                       strchr(bad.p, ',') ? "s" : "", bad.p);
            buf_free(&bad);
            return rest_fail(resp, &err);
        }
        if (all && count > 1) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "request [%s] contains _all and individual metrics [%s]",
                       http_req_path(req), metric);
            return rest_fail(resp, &err);
        }
        if (!all) m = sel;
    }

    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return rest_fail(resp, &err);
    index_stats *st = xcalloc(n ? n : 1, sizeof *st);
    for (size_t i = 0; i < n; i++) {
        if (indices_index_stats(views[i], lvl_shards, &st[i], &err) != 0) {
            for (size_t j = 0; j < i; j++) index_stats_free(&st[j]);
            free(st);
            indices_views_free(views, n);
            return rest_fail(resp, &err);
        }
    }
    size_t prim = 0;
    size_t total = total_shard_copies(views, n, &prim);
    uint64_t docs = 0, deleted = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        docs += st[i].docs;
        deleted += st[i].deleted;
        bytes += st[i].store_size;
    }

    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_key(w, "_shards");
    jw_obj_begin(w);
    jw_kint(w, "total", (int64_t)total);
    jw_kint(w, "successful", (int64_t)prim);
    jw_kint(w, "failed", 0);
    jw_obj_end(w);
    jw_key(w, "_all");
    jw_obj_begin(w);
    jw_key(w, "primaries");
    write_common_stats(w, m, human, (uint32_t)prim, docs, deleted, bytes);
    jw_key(w, "total");
    write_common_stats(w, m, human, (uint32_t)prim, docs, deleted, bytes);
    jw_obj_end(w);
    if (!lvl_cluster) {
        jw_key(w, "indices");
        jw_obj_begin(w);
        for (size_t i = 0; i < n; i++) {
            index_view *v = views[i];
            jw_key(w, v->name);
            jw_obj_begin(w);
            jw_kstr(w, "uuid", v->uuid);
            jw_kstr(w, "health", health_status_name(index_view_health(v)));
            jw_kstr(w, "status", v->closed ? "close" : "open");
            jw_key(w, "primaries");
            write_common_stats(w, m, human, st[i].shards, st[i].docs, st[i].deleted, st[i].store_size);
            jw_key(w, "total");
            write_common_stats(w, m, human, st[i].shards, st[i].docs, st[i].deleted, st[i].store_size);
            if (lvl_shards) {
                jw_key(w, "shards");
                jw_obj_begin(w);
                for (uint32_t s = 0; s < st[i].shards; s++) {
                    char key[16];
                    snprintf(key, sizeof key, "%u", s);
                    jw_key(w, key);
                    jw_arr_begin(w);
                    const index_shard_stats *ss = &st[i].per_shard[s];
                    /* The primary copy: routing first, as ShardStats renders it, then its stats. */
                    buf one = { 0 };
                    json_w sw;
                    jw_init(&sw, &one, false);
                    write_common_stats(&sw, m, human, 1, ss->docs, ss->deleted, ss->store_size);
                    /* Splice: {"routing":{...}, <stats members>} */
                    buf obj = { 0 };
                    buf_printf(&obj, "{\"routing\":{\"state\":\"STARTED\",\"primary\":true,\"node\":");
                    json_escape(&obj, node->node_id, strlen(node->node_id));
                    buf_puts(&obj, ",\"relocating_node\":null}");
                    if (one.len > 2) {
                        buf_putc(&obj, ',');
                        buf_append(&obj, one.p + 1, one.len - 1);
                    } else {
                        buf_putc(&obj, '}');
                    }
                    jw_raw(w, obj.p, obj.len);
                    buf_free(&obj);
                    buf_free(&one);
                    jw_arr_end(w);
                }
                jw_obj_end(w);
            }
            jw_obj_end(w);
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
    for (size_t i = 0; i < n; i++) index_stats_free(&st[i]);
    free(st);
    indices_views_free(views, n);
}

/* ------------------------------------------------------------------------ */
/* _cluster/state */

enum {
    CS_VERSION = 1,
    CS_MASTER = 2,
    CS_BLOCKS = 4,
    CS_NODES = 8,
    CS_METADATA = 16,
    CS_ROUTING_TABLE = 32,
    CS_ROUTING_NODES = 64,
    CS_CUSTOMS = 128,
    CS_ALL = 255,
};

static unsigned parse_state_metrics(const char *s)
{
    if (!s) return CS_ALL;
    static const struct { const char *name; unsigned bit; } tbl[] = {
        { "version", CS_VERSION },   { "master_node", CS_MASTER },       { "blocks", CS_BLOCKS },
        { "nodes", CS_NODES },       { "metadata", CS_METADATA },        { "routing_table", CS_ROUTING_TABLE },
        { "routing_nodes", CS_ROUTING_NODES }, { "customs", CS_CUSTOMS },
    };
    unsigned m = 0;
    char *copy = xstrdup(s);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "_all")) {
            m = CS_ALL;
            break;
        }
        /* Unknown metrics are ignored, as ClusterState.Metric.parseString(…, true). */
        for (size_t i = 0; i < ARRAY_LEN(tbl); i++)
            if (!strcmp(tok, tbl[i].name)) m |= tbl[i].bit;
    }
    free(copy);
    return m;
}

/* routing_num_shards as Elasticsearch computes it for indices created on 7.0+. */
static int64_t routing_num_shards(const index_view *v)
{
    int64_t set = index_settings_get_int(v->settings, "index.number_of_routing_shards", 0);
    if (set > 0) return set;
    uint32_t shards = store_index_num_shards(v->si);
    int log2_shards = shards <= 1 ? 0 : 32 - __builtin_clz(shards - 1);
    int splits = 10 - log2_shards;
    if (splits < 1) splits = 1;
    return (int64_t)shards << splits;
}

static void write_node_object(json_w *w, rest_node *node)
{
    char host[sizeof node->http_address];
    memcpy(host, node->http_address, sizeof host);
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    char transport[sizeof host + 8];
    snprintf(transport, sizeof transport, "%s:9300", host);
    jw_key(w, node->node_id);
    jw_obj_begin(w);
    jw_kstr(w, "name", node->node_name);
    jw_kstr(w, "ephemeral_id", node->node_id);
    jw_kstr(w, "transport_address", transport);
    jw_kstr(w, "external_id", node->node_name);
    jw_key(w, "attributes");
    jw_obj_begin(w);
    jw_obj_end(w);
    jw_key(w, "roles");
    jw_arr_begin(w);
    jw_str(w, "data");
    jw_str(w, "ingest");
    jw_str(w, "master");
    jw_arr_end(w);
    jw_kstr(w, "version", node->version);
    jw_obj_end(w);
}

static void handle_cluster_state(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    bool flat = http_param_bool(req, "flat_settings", false, &err);
    http_param_bool(req, "local", false, &err);
    http_param_time(req, "master_timeout", 30000, &err);
    http_param_time(req, "wait_for_timeout", 60000, &err);
    http_param_int(req, "wait_for_metadata_version", 0, &err);
    /* ClusterStateRequest's default: lenient, open and closed. */
    resolve_opts o = resolve_opts_default();
    o.ignore_unavailable = true;
    o.allow_no_indices = true;
    o.expand_wildcards = EXPAND_OPEN | EXPAND_CLOSED;
    if (!es_err_isset(&err)) rest_resolve_opts(req, &o, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    unsigned m = parse_state_metrics(http_path_param(req, "metric"));

    index_view **views = NULL;
    size_t n = 0;
    if ((m & (CS_METADATA | CS_ROUTING_TABLE | CS_ROUTING_NODES)) &&
        indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return rest_fail(resp, &err);

    store *st = indices_store(node->ix);
    int64_t meta_version = store_meta_version(st);
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_kstr(w, "cluster_name", node->cluster_name);
    jw_kstr(w, "cluster_uuid", node->cluster_uuid);
    if (m & CS_VERSION) {
        jw_kint(w, "version", meta_version);
        /* One state per metadata version: a stable id derived from both. */
        char su[23];
        uint8_t raw[16];
        char seed[64];
        int sl = snprintf(seed, sizeof seed, "%s/%lld", node->cluster_uuid, (long long)meta_version);
        uint32_t h1 = store_murmur3_32(seed, (size_t)sl, 1), h2 = store_murmur3_32(seed, (size_t)sl, 2);
        uint32_t h3 = store_murmur3_32(seed, (size_t)sl, 3), h4 = store_murmur3_32(seed, (size_t)sl, 4);
        memcpy(raw, &h1, 4);
        memcpy(raw + 4, &h2, 4);
        memcpy(raw + 8, &h3, 4);
        memcpy(raw + 12, &h4, 4);
        base64url_encode(raw, 16, su);
        su[22] = 0;
        jw_kstr(w, "state_uuid", su);
    }
    if (m & CS_MASTER) jw_kstr(w, "master_node", node->node_id);
    if (m & CS_BLOCKS) {
        jw_key(w, "blocks");
        jw_obj_begin(w);
        jw_obj_end(w);
    }
    if (m & CS_NODES) {
        jw_key(w, "nodes");
        jw_obj_begin(w);
        write_node_object(w, node);
        jw_obj_end(w);
    }
    if (m & CS_METADATA) {
        jw_key(w, "metadata");
        jw_obj_begin(w);
        jw_kstr(w, "cluster_uuid", node->cluster_uuid);
        jw_kbool(w, "cluster_uuid_committed", true);
        jw_key(w, "cluster_coordination");
        jw_obj_begin(w);
        jw_kint(w, "term", 1);
        jw_key(w, "last_committed_config");
        jw_arr_begin(w);
        jw_str(w, node->node_id);
        jw_arr_end(w);
        jw_key(w, "last_accepted_config");
        jw_arr_begin(w);
        jw_str(w, node->node_id);
        jw_arr_end(w);
        jw_key(w, "voting_config_exclusions");
        jw_arr_begin(w);
        jw_arr_end(w);
        jw_obj_end(w);
        jw_key(w, "templates");
        jw_obj_begin(w);
        jw_obj_end(w);
        jw_key(w, "indices");
        jw_obj_begin(w);
        for (size_t i = 0; i < n; i++) {
            index_view *v = views[i];
            jw_key(w, v->name);
            jw_obj_begin(w);
            jw_kint(w, "version", v->meta->version);
            jw_kint(w, "mapping_version", v->meta->mappings_version);
            jw_kint(w, "settings_version", v->meta->settings_version);
            jw_kint(w, "aliases_version", v->meta->aliases_version);
            jw_kint(w, "routing_num_shards", routing_num_shards(v));
            jw_kstr(w, "state", v->closed ? "close" : "open");
            jw_key(w, "settings");
            index_settings_write(v->settings, flat ? SETTINGS_WRITE_FLAT : 0, w);
            jw_key(w, "mappings");
            if (mapping_is_empty(v->mapping)) {
                jw_obj_begin(w);
                jw_obj_end(w);
            } else {
                jw_obj_begin(w);
                jw_key(w, "_doc");
                mapping_write(v->mapping, w);
                jw_obj_end(w);
            }
            jw_key(w, "aliases");
            jw_arr_begin(w);
            for (size_t a = 0; a < v->n_aliases; a++) jw_str(w, v->aliases[a].name);
            jw_arr_end(w);
            jw_key(w, "primary_terms");
            jw_obj_begin(w);
            for (uint32_t s = 0; s < store_index_num_shards(v->si); s++) {
                char key[16];
                snprintf(key, sizeof key, "%u", s);
                jw_kint(w, key, STORE_PRIMARY_TERM);
            }
            jw_obj_end(w);
            jw_key(w, "rollover_info");
            jw_obj_begin(w);
            jw_obj_end(w);
            jw_kbool(w, "system", false);
            jw_obj_end(w);
        }
        jw_obj_end(w);
        jw_obj_end(w);
    }
    if (m & CS_ROUTING_TABLE) {
        jw_key(w, "routing_table");
        jw_obj_begin(w);
        jw_key(w, "indices");
        jw_obj_begin(w);
        for (size_t i = 0; i < n; i++) {
            index_view *v = views[i];
            int64_t replicas = index_view_replicas(v);
            jw_key(w, v->name);
            jw_obj_begin(w);
            jw_key(w, "shards");
            jw_obj_begin(w);
            for (uint32_t s = 0; s < store_index_num_shards(v->si); s++) {
                char key[16];
                snprintf(key, sizeof key, "%u", s);
                jw_key(w, key);
                jw_arr_begin(w);
                jw_obj_begin(w);
                jw_kstr(w, "state", "STARTED");
                jw_kbool(w, "primary", true);
                jw_kstr(w, "node", node->node_id);
                jw_key(w, "relocating_node");
                jw_null(w);
                jw_kint(w, "shard", s);
                jw_kstr(w, "index", v->name);
                jw_obj_end(w);
                for (int64_t r = 0; r < replicas; r++) {
                    jw_obj_begin(w);
                    jw_kstr(w, "state", "UNASSIGNED");
                    jw_kbool(w, "primary", false);
                    jw_key(w, "node");
                    jw_null(w);
                    jw_key(w, "relocating_node");
                    jw_null(w);
                    jw_kint(w, "shard", s);
                    jw_kstr(w, "index", v->name);
                    jw_obj_end(w);
                }
                jw_arr_end(w);
            }
            jw_obj_end(w);
            jw_obj_end(w);
        }
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_obj_end(w);
    indices_views_free(views, n);
}

/* ------------------------------------------------------------------------ */
/* _cluster/settings */

static void handle_get_cluster_settings(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    bool flat = http_param_bool(req, "flat_settings", false, &err);
    bool defaults = http_param_bool(req, "include_defaults", false, &err);
    http_param_bool(req, "local", false, &err);
    check_timeouts(req, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    buf b = { 0 };
    json_w tw;
    jw_init(&tw, &b, false);
    indices_cluster_settings_write(node->ix, flat, &tw);
    json_w *w = http_resp_json(resp, 200);
    if (!defaults || b.len < 2 || b.p[b.len - 1] != '}') {
        jw_raw(w, b.p, b.len);
        buf_free(&b);
        return;
    }
    /* "defaults": the node's own settings and the defaults of the dynamic cluster
     * settings ferry knows that are set nowhere. */
    json_doc *cur = json_parse(b.p, b.len, NULL, NULL);
    index_settings *d = index_settings_new();
    for (size_t i = 0; i < indices_settings_count; i++) {
        const setting_def *def = &indices_settings[i];
        if (!def->def || strstr(def->name, ".*")) continue;
        char *v = indices_cluster_setting(node->ix, def->name);
        bool overridden = false;
        if (cur) {
            const json_val *p = json_obj_get(json_doc_root(cur), "persistent");
            const json_val *t = json_obj_get(json_doc_root(cur), "transient");
            overridden = (p && (json_obj_get(p, def->name) || json_path(p, def->name))) ||
                         (t && (json_obj_get(t, def->name) || json_path(t, def->name)));
        }
        if (!overridden) index_settings_set(d, def->name, v ? v : def->def);
        free(v);
    }
    for (size_t i = 0; i < config_count(node->cfg); i++) {
        const char *k = config_key_at(node->cfg, i);
        const char *v = config_str(node->cfg, k);
        if (v && !index_settings_find(d, k)) index_settings_set(d, k, v);
    }
    json_doc_free(cur);
    b.len--; /* drop the closing brace */
    b.p[b.len] = 0;
    buf_puts(&b, ",\"defaults\":");
    json_w dw;
    jw_init(&dw, &b, false);
    index_settings_write(d, flat ? SETTINGS_WRITE_FLAT : 0, &dw);
    buf_putc(&b, '}');
    jw_raw(w, b.p, b.len);
    index_settings_free(d);
    buf_free(&b);
}

static void handle_put_cluster_settings(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    http_param_bool(req, "flat_settings", false, &err);
    check_timeouts(req, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    if (!http_has_body(req)) {
        es_err_set(&err, ES_PARSE, "request body is required");
        return rest_fail(resp, &err);
    }
    const json_val *body = http_body_json(req, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    buf b = { 0 };
    json_w tw;
    jw_init(&tw, &b, false);
    if (indices_cluster_settings_update(node->ix, body, &tw, &err) != 0) {
        buf_free(&b);
        return rest_fail(resp, &err);
    }
    json_w *w = http_resp_json(resp, 200);
    jw_raw(w, b.p, b.len);
    buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Routes */

#define P_RESOLVE "ignore_unavailable,allow_no_indices,expand_wildcards"
#define P_MASTER "master_timeout,timeout"

static const http_route index_routes[] = {
    /* index lifecycle */
    { HTTP_PUT, "/{index}", handle_create, "wait_for_active_shards,timeout,master_timeout", HTTP_ROUTE_BODY },
    { HTTP_DELETE, "/{index}", handle_delete, P_MASTER "," P_RESOLVE, 0 },
    { HTTP_GET, "/{index}", handle_get_index,
      "local," P_RESOLVE ",features,flat_settings,include_defaults,master_timeout", 0 },
    { HTTP_HEAD, "/{index}", handle_get_index, "local," P_RESOLVE ",flat_settings,include_defaults,master_timeout", 0 },

    /* mappings */
    { HTTP_GET, "/_mapping", handle_get_mapping, P_RESOLVE ",master_timeout,local", 0 },
    { HTTP_GET, "/{index}/_mapping", handle_get_mapping, P_RESOLVE ",master_timeout,local", 0 },
    { HTTP_PUT | HTTP_POST, "/{index}/_mapping", handle_put_mapping, P_MASTER "," P_RESOLVE ",write_index_only",
      HTTP_ROUTE_BODY },

    /* settings */
    { HTTP_GET, "/_settings", handle_get_settings,
      "master_timeout," P_RESOLVE ",flat_settings,local,include_defaults", 0 },
    { HTTP_GET, "/_settings/{name}", handle_get_settings,
      "master_timeout," P_RESOLVE ",flat_settings,local,include_defaults", 0 },
    { HTTP_GET, "/{index}/_settings", handle_get_settings,
      "master_timeout," P_RESOLVE ",flat_settings,local,include_defaults", 0 },
    { HTTP_GET, "/{index}/_settings/{name}", handle_get_settings,
      "master_timeout," P_RESOLVE ",flat_settings,local,include_defaults", 0 },
    { HTTP_PUT, "/_settings", handle_put_settings,
      "master_timeout,timeout,preserve_existing,reopen," P_RESOLVE ",flat_settings", HTTP_ROUTE_BODY },
    { HTTP_PUT, "/{index}/_settings", handle_put_settings,
      "master_timeout,timeout,preserve_existing,reopen," P_RESOLVE ",flat_settings", HTTP_ROUTE_BODY },

    /* refresh, flush */
    { HTTP_GET | HTTP_POST, "/_refresh", handle_broadcast, P_RESOLVE, 0 },
    { HTTP_GET | HTTP_POST, "/{index}/_refresh", handle_broadcast, P_RESOLVE, 0 },
    { HTTP_GET | HTTP_POST, "/_flush", handle_broadcast, "force,wait_if_ongoing," P_RESOLVE, 0 },
    { HTTP_GET | HTTP_POST, "/{index}/_flush", handle_broadcast, "force,wait_if_ongoing," P_RESOLVE, 0 },

    /* aliases */
    { HTTP_GET, "/_alias", handle_get_alias, P_RESOLVE ",master_timeout,local", 0 },
    { HTTP_GET, "/_aliases", handle_get_alias, P_RESOLVE ",master_timeout,local", 0 },
    { HTTP_GET | HTTP_HEAD, "/_alias/{name}", handle_get_alias, P_RESOLVE ",master_timeout,local", 0 },
    { HTTP_GET | HTTP_HEAD, "/{index}/_alias", handle_get_alias, P_RESOLVE ",master_timeout,local", 0 },
    { HTTP_GET | HTTP_HEAD, "/{index}/_alias/{name}", handle_get_alias, P_RESOLVE ",master_timeout,local", 0 },
    { HTTP_PUT | HTTP_POST, "/{index}/_alias/{name}", handle_put_alias, P_MASTER, HTTP_ROUTE_BODY },
    { HTTP_PUT | HTTP_POST, "/{index}/_aliases/{name}", handle_put_alias, P_MASTER, HTTP_ROUTE_BODY },
    { HTTP_PUT | HTTP_POST, "/_alias/{name}", handle_put_alias, P_MASTER, HTTP_ROUTE_BODY },
    { HTTP_PUT, "/{index}/_alias", handle_put_alias, P_MASTER, HTTP_ROUTE_BODY },
    { HTTP_PUT, "/{index}/_aliases", handle_put_alias, P_MASTER, HTTP_ROUTE_BODY },
    { HTTP_PUT, "/_alias", handle_put_alias, P_MASTER, HTTP_ROUTE_BODY },
    { HTTP_DELETE, "/{index}/_alias/{name}", handle_delete_alias, P_MASTER, 0 },
    { HTTP_DELETE, "/{index}/_aliases/{name}", handle_delete_alias, P_MASTER, 0 },
    { HTTP_POST, "/_aliases", handle_update_aliases, P_MASTER, HTTP_ROUTE_BODY },

    /* stats */
    { HTTP_GET, "/_stats", handle_stats,
      "completion_fields,fielddata_fields,fields,groups,level,include_segment_file_sizes,"
      "include_unloaded_segments,forbid_closed_indices," P_RESOLVE, 0 },
    { HTTP_GET, "/_stats/{metric}", handle_stats,
      "completion_fields,fielddata_fields,fields,groups,level,include_segment_file_sizes,"
      "include_unloaded_segments,forbid_closed_indices," P_RESOLVE, 0 },
    { HTTP_GET, "/{index}/_stats", handle_stats,
      "completion_fields,fielddata_fields,fields,groups,level,include_segment_file_sizes,"
      "include_unloaded_segments,forbid_closed_indices," P_RESOLVE, 0 },
    { HTTP_GET, "/{index}/_stats/{metric}", handle_stats,
      "completion_fields,fielddata_fields,fields,groups,level,include_segment_file_sizes,"
      "include_unloaded_segments,forbid_closed_indices," P_RESOLVE, 0 },

    /* cluster state and settings */
    { HTTP_GET, "/_cluster/state", handle_cluster_state,
      "local,master_timeout,flat_settings,wait_for_metadata_version,wait_for_timeout," P_RESOLVE, 0 },
    { HTTP_GET, "/_cluster/state/{metric}", handle_cluster_state,
      "local,master_timeout,flat_settings,wait_for_metadata_version,wait_for_timeout," P_RESOLVE, 0 },
    { HTTP_GET, "/_cluster/state/{metric}/{index}", handle_cluster_state,
      "local,master_timeout,flat_settings,wait_for_metadata_version,wait_for_timeout," P_RESOLVE, 0 },
    { HTTP_GET, "/_cluster/settings", handle_get_cluster_settings,
      "flat_settings,include_defaults,master_timeout,timeout,local", 0 },
    { HTTP_PUT, "/_cluster/settings", handle_put_cluster_settings, "flat_settings,master_timeout,timeout",
      HTTP_ROUTE_BODY },
};

void rest_register_indices(http_server *srv, rest_node *node)
{
    http_add_routes(srv, index_routes, ARRAY_LEN(index_routes), node);
    rest_register_cat(srv, node);
}
