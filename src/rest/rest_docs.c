/*
 * rest_docs.c — Elasticsearch's document APIs:
 *   PUT|POST /{index}/_doc/{id}, POST /{index}/_doc, PUT|POST /{index}/_create/{id},
 *   GET|HEAD /{index}/_doc/{id}, GET|HEAD /{index}/_source/{id},
 *   DELETE /{index}/_doc/{id}, POST /{index}/_update/{id},
 *   GET|POST /_mget, /{index}/_mget, and POST|PUT /_bulk, /{index}/_bulk.
 *
 * Writes go through indices_write (one durable transaction per shard
 * touched); reads use a read snapshot of the document's shard. Request
 * validation follows Elasticsearch's request classes (IndexRequest,
 * DeleteRequest, UpdateRequest, MultiGetRequest, BulkRequestParser) and their
 * messages, since clients match on them.
 */
#include "rest/rest_int.h"
#include "security/security.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Elasticsearch's markers for "not given". */
#define MATCH_ANY (-3)
#define MATCH_DELETED (-4)
#define UNASSIGNED_SEQ_NO (-2)
#define UNASSIGNED_PRIMARY_TERM 0

#define JSON_SOURCE_NOTE "Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)"

/* ======================================================================== */
/* Small helpers                                                            */

static char *dupn(const char *s, size_t n)
{
    return xstrndup(s, n);
}

/* Splits "a,b,c" (Elasticsearch's splitStringByCommaToArray: empty parts dropped). */
static void split_commas(const char *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!s) return;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            *out = xrealloc(*out, (*n + 1) * sizeof **out);
            (*out)[(*n)++] = dupn(p, len);
        }
        if (!e) break;
        p = e + 1;
    }
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void push_str(char ***v, size_t *n, const char *s, size_t len)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = dupn(s, len);
}

/* Elasticsearch's name of the token a JSON value starts with. */
/* parser.text() of a scalar: the string, or a number's / boolean's text. */
static char *scalar_text(const json_val *v)
{
    size_t len;
    switch (json_type_of(v)) {
    case JSON_STRING: {
        const char *s = json_str(v, &len);
        return dupn(s, len);
    }
    case JSON_BOOL: return xstrdup(json_bool(v) ? "true" : "false");
    case JSON_NULL: return xstrdup("null");
    default: {
        const char *raw = json_raw(NULL, v, &len);
        return dupn(raw, len);
    }
    }
}

/* Parses a long as Java's Long.parseLong. */
static bool parse_long(const char *s, int64_t *out)
{
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || s[0] == ' ' || s[0] == '\t') return false;
    *out = v;
    return true;
}

/* request.paramAsLong */
static int64_t param_long(http_req *req, const char *name, int64_t def, es_err *err)
{
    const char *v = http_param(req, name);
    if (!v) return def;
    int64_t out;
    if (!parse_long(v, &out)) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse long parameter [%s] with value [%s]", name, v);
        return def;
    }
    return out;
}

static int parse_version_type(const char *s, store_version_type *out, es_err *err)
{
    if (!strcmp(s, "internal")) *out = STORE_VERSION_INTERNAL;
    else if (!strcmp(s, "external") || !strcmp(s, "external_gt")) *out = STORE_VERSION_EXTERNAL;
    else if (!strcmp(s, "external_gte")) *out = STORE_VERSION_EXTERNAL_GTE;
    else return es_err_set(err, ES_ILLEGAL_ARGUMENT, "No version type match [%s]", s);
    return 0;
}

static const char *version_type_upper(store_version_type vt)
{
    switch (vt) {
    case STORE_VERSION_EXTERNAL: return "EXTERNAL";
    case STORE_VERSION_EXTERNAL_GTE: return "EXTERNAL_GTE";
    default: return "INTERNAL";
    }
}

/* The common write parameters every write route accepts: checked for their shape. */
static void check_write_params(http_req *req, es_err *err)
{
    http_param_time(req, "timeout", 60000, err);
    const char *w = http_param(req, "wait_for_active_shards");
    if (w && strcmp(w, "all") != 0 && strcmp(w, "index-setting") != 0) {
        int64_t n;
        if (!parse_long(w, &n) || n < -2)
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse int parameter [wait_for_active_shards] with value [%s]", w);
    }
    http_param_bool(req, "require_data_stream", false, err);
    http_param_bool(req, "list_executed_pipelines", false, err);
    http_param_bool(req, "include_source_on_error", true, err);
}

/* Parses the request body as JSON into *doc (the caller frees it), with the
 * error the http layer gives for a malformed body. */
static int parse_body(http_req *req, json_doc **doc, es_err *err)
{
    *doc = NULL;
    size_t len;
    const char *body = http_body(req, &len);
    if (!body) return 0;
    json_err je;
    *doc = json_parse(body, len, NULL, &je);
    if (*doc) return 0;
    es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", je.line, je.col, je.msg);
    es_err *cause = xcalloc(1, sizeof *cause);
    es_err_set(cause, ES_JSON_PARSE, "%s\n at [" JSON_SOURCE_NOTE "; line: %u, column: %u]", je.msg, je.line, je.col);
    es_err_cause(err, cause);
    return -1;
}

/* [line:col] of byte offset off in text. */
static void text_location(const char *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* A parsed text and where its values sit, for [line:col] in error messages. */
typedef struct located {
    const char *text;
    size_t len;
    const json_doc *doc;
} located;

static size_t value_offset(const located *l, const json_val *v)
{
    size_t rl, vl;
    const char *root = json_raw(l->doc, json_doc_root(l->doc), &rl);
    const char *p = json_raw(l->doc, v, &vl);
    size_t lead = 0;
    while (lead < l->len && (l->text[lead] == ' ' || l->text[lead] == '\t' || l->text[lead] == '\n' ||
                             l->text[lead] == '\r'))
        lead++;
    return (size_t)(p - root) + lead;
}

/* The location of the key whose value is v: its opening quote. */
static void key_location(const located *l, const json_val *v, unsigned *line, unsigned *col)
{
    size_t off = value_offset(l, v);
    size_t i = off;
    while (i > 0 && l->text[i - 1] != ':') i--;
    if (i > 0) i--;
    while (i > 0 && l->text[i - 1] != '"') i--; /* the key's closing quote */
    if (i > 0) i--;
    while (i > 0) {
        if (l->text[i - 1] == '"') {
            size_t bs = 0;
            while (i - 1 >= bs + 1 && l->text[i - 2 - bs] == '\\') bs++;
            if (bs % 2 == 0) {
                i--;
                break;
            }
        }
        i--;
    }
    text_location(l->text, l->len, i, line, col);
}

static void value_location(const located *l, const json_val *v, unsigned *line, unsigned *col)
{
    text_location(l->text, l->len, value_offset(l, v), line, col);
}

/* Java's Locale-independent URLEncoder, for the Location header. */
static void url_encode(buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
            c == '*' || c == '_') {
            buf_putc(b, (char)c);
        } else if (c == ' ') {
            buf_putc(b, '+');
        } else {
            buf_putc(b, '%');
            buf_putc(b, hex[c >> 4]);
            buf_putc(b, hex[c & 15]);
        }
    }
}

static void set_location(http_resp *resp, const char *index, const char *id, const char *routing)
{
    buf b = { 0 };
    buf_putc(&b, '/');
    url_encode(&b, index);
    buf_puts(&b, "/_doc/");
    url_encode(&b, id);
    if (routing) {
        buf_puts(&b, "?routing=");
        url_encode(&b, routing);
    }
    http_resp_header(resp, "Location", b.p);
    buf_free(&b);
}

/* "Validation Failed: 1: a;2: b;" accumulated as Elasticsearch's ActionRequestValidationException. */
typedef struct verrs {
    buf b;
    int n;
} verrs;

static void verr(verrs *v, const char *fmt, ...) FERRY_PRINTF(2, 3);
static void verr(verrs *v, const char *fmt, ...)
{
    if (!v->n) buf_puts(&v->b, "Validation Failed: ");
    buf_printf(&v->b, "%d: ", ++v->n);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&v->b, fmt, ap);
    va_end(ap);
    buf_putc(&v->b, ';');
}

static int verr_finish(verrs *v, es_err *err)
{
    if (!v->n) {
        buf_free(&v->b);
        return 0;
    }
    es_err_set(err, ES_ACTION_REQUEST_VALIDATION, "%s", v->b.p);
    buf_free(&v->b);
    return -1;
}

/* ======================================================================== */
/* Request validation (IndexRequest / DeleteRequest / UpdateRequest)        */

/* What a write request carries before it becomes a write_op. */
typedef struct wreq {
    write_op_kind kind;
    const char *index;
    const char *id;             /* NULL when not given */
    int64_t version;            /* MATCH_ANY when not given */
    store_version_type vt;
    int64_t if_seq_no;          /* UNASSIGNED_SEQ_NO when not given */
    int64_t if_primary_term;    /* 0 when not given */
    const char *pipeline;
    int retry_on_conflict;
    const json_val *update;     /* update body */
} wreq;

static bool version_valid_for_writes(store_version_type vt, int64_t v)
{
    if (vt == STORE_VERSION_INTERNAL) return v > 0 || v == MATCH_ANY || v == MATCH_DELETED;
    return v >= 0;
}

static void validate_cas(verrs *v, const wreq *w)
{
    if (!version_valid_for_writes(w->vt, w->version))
        verr(v, "illegal version value [%" PRId64 "] for version type [%s]", w->version, version_type_upper(w->vt));
    if (w->vt == STORE_VERSION_INTERNAL && w->version != MATCH_ANY && w->version != MATCH_DELETED)
        verr(v, "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead");
    if (w->if_seq_no != UNASSIGNED_SEQ_NO && (w->vt != STORE_VERSION_INTERNAL || w->version != MATCH_ANY))
        verr(v, "compare and write operations can not use versioning");
    if (w->if_primary_term == UNASSIGNED_PRIMARY_TERM && w->if_seq_no != UNASSIGNED_SEQ_NO)
        verr(v, "ifSeqNo is set, but primary term is [0]");
    if (w->if_primary_term != UNASSIGNED_PRIMARY_TERM && w->if_seq_no == UNASSIGNED_SEQ_NO)
        verr(v, "ifSeqNo is unassigned, but primary term is [%" PRId64 "]", w->if_primary_term);
}

static void validate_id_length(verrs *v, const char *id)
{
    if (id && strlen(id) > STORE_MAX_ID_LEN)
        verr(v, "id [%s] is too long, must be no longer than 512 bytes but was: %zu", id, strlen(id));
}

static void validate_wreq(verrs *v, const wreq *w)
{
    if (!w->index) verr(v, "index is missing");
    switch (w->kind) {
    case WOP_INDEX:
    case WOP_CREATE: {
        bool create = w->kind == WOP_CREATE;
        int64_t resolved = create && w->version == MATCH_ANY ? MATCH_DELETED : w->version;
        if (create) {
            if (w->vt != STORE_VERSION_INTERNAL) {
                verr(v, "create operations only support internal versioning. use index instead");
                return;
            }
            if (resolved != MATCH_DELETED) {
                verr(v, "create operations do not support explicit versions. use index instead");
                return;
            }
            if (w->if_seq_no != UNASSIGNED_SEQ_NO || w->if_primary_term != UNASSIGNED_PRIMARY_TERM) {
                verr(v, "create operations do not support compare and set. use index instead");
                return;
            }
        }
        if (!w->id && (w->vt != STORE_VERSION_INTERNAL || (resolved != MATCH_DELETED && resolved != MATCH_ANY)))
            verr(v, "an id must be provided if version type or value are set");
        validate_cas(v, w);
        validate_id_length(v, w->id);
        if (w->pipeline && !*w->pipeline) verr(v, "pipeline cannot be an empty string");
        break;
    }
    case WOP_DELETE:
        if (!w->id || !*w->id) verr(v, "id is missing");
        validate_cas(v, w);
        validate_id_length(v, w->id);
        break;
    case WOP_UPDATE: {
        if (!w->id || !*w->id) verr(v, "id is missing");
        validate_cas(v, w);
        validate_id_length(v, w->id);
        const json_val *doc = json_obj_get(w->update, "doc");
        const json_val *script = json_obj_get(w->update, "script");
        const json_val *upsert = json_obj_get(w->update, "upsert");
        const json_val *dau = json_obj_get(w->update, "doc_as_upsert");
        bool doc_as_upsert = dau && ((json_type_of(dau) == JSON_BOOL && json_bool(dau)) ||
                                     (json_type_of(dau) == JSON_STRING && !strcmp(json_str(dau, NULL), "true")));
        if (w->if_seq_no != UNASSIGNED_SEQ_NO) {
            if (w->retry_on_conflict > 0) verr(v, "compare and write operations can not be retried");
            if (doc_as_upsert) verr(v, "compare and write operations can not be used with upsert");
            if (upsert) verr(v, "upsert requests don't support `if_seq_no` and `if_primary_term`");
        }
        if (!script && !doc) verr(v, "script or doc is missing");
        if (script && doc) verr(v, "can't provide both script and doc");
        if (!doc && doc_as_upsert) verr(v, "doc must be specified if doc_as_upsert is enabled");
        break;
    }
    }
}

static void wreq_to_op(const wreq *w, write_op *op)
{
    op->kind = w->kind;
    op->index = w->index;
    op->id = w->id;
    op->has_version = w->version != MATCH_ANY && w->version != MATCH_DELETED;
    op->version = op->has_version ? w->version : 0;
    op->version_type = w->vt;
    op->has_if_seq_no = w->if_seq_no != UNASSIGNED_SEQ_NO;
    op->if_seq_no = w->if_seq_no;
    op->if_primary_term = w->if_primary_term;
    op->pipeline = w->pipeline;
    op->retry_on_conflict = w->retry_on_conflict;
    op->update = w->update;
}

/* ======================================================================== */
/* Update bodies (UpdateRequest's parser)                                   */

static const char *const update_fields[] = {
    "script", "scripted_upsert", "upsert", "doc", "doc_as_upsert", "detect_noop", "_source", "if_seq_no",
    "if_primary_term",
};

typedef struct cand {
    const char *name;
    float sim;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->sim != y->sim) return x->sim > y->sim ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* ObjectParser's "unknown field [x] did you mean [y]?" */
static void unknown_field_msg(buf *b, const char *parser, const char *field, const char *const *known, size_t n)
{
    buf_printf(b, "[%s] unknown field [%s]", parser, field);
    cand c[16];
    size_t nc = 0;
    for (size_t i = 0; i < n && nc < 16; i++) {
        float s = str_similarity(field, known[i]);
        if (s > 0.5f) c[nc++] = (cand){ known[i], s };
    }
    if (!nc) return;
    qsort(c, nc, sizeof *c, cand_cmp);
    if (nc == 1) {
        buf_printf(b, " did you mean [%s]?", c[0].name);
        return;
    }
    buf_puts(b, " did you mean any of [");
    for (size_t i = 0; i < nc; i++) buf_printf(b, "%s%s", i ? ", " : "", c[i].name);
    buf_puts(b, "]?");
}

static bool is_bool_like(const json_val *v)
{
    if (json_type_of(v) == JSON_BOOL) return true;
    if (json_type_of(v) != JSON_STRING) return false;
    const char *s = json_str(v, NULL);
    return !strcmp(s, "true") || !strcmp(s, "false");
}

/* Checks an update body as UpdateRequest.fromXContent reads it. */
static int check_update_body(const located *l, const json_val *body, es_err *err)
{
    unsigned line, col;
    if (json_type_of(body) != JSON_OBJECT) {
        value_location(l, body, &line, &col);
        return es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [UpdateRequest] Expected START_OBJECT but was: %s", line,
                          col, json_token_name(body));
    }
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        bool known = false;
        for (size_t i = 0; i < ARRAY_LEN(update_fields); i++)
            if (!strcmp(k, update_fields[i])) known = true;
        if (!known) {
            buf m = { 0 };
            unknown_field_msg(&m, "UpdateRequest", k, update_fields, ARRAY_LEN(update_fields));
            key_location(l, v, &line, &col);
            es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", line, col, m.p);
            buf_free(&m);
            return -1;
        }
        if ((!strcmp(k, "doc") || !strcmp(k, "upsert")) && json_type_of(v) != JSON_OBJECT) {
            value_location(l, v, &line, &col);
            return es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [UpdateRequest] %s doesn't support values of type: %s",
                              line, col, k, json_token_name(v));
        }
        if ((!strcmp(k, "doc_as_upsert") || !strcmp(k, "detect_noop") || !strcmp(k, "scripted_upsert")) &&
            !is_bool_like(v)) {
            value_location(l, v, &line, &col);
            es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [UpdateRequest] failed to parse field [%s]", line, col, k);
            es_err *cause = xcalloc(1, sizeof *cause);
            char *t = scalar_text(v);
            es_err_set(cause, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] as only [true] or [false] are allowed.", t);
            free(t);
            es_err_cause(err, cause);
            return -1;
        }
        if ((!strcmp(k, "if_seq_no") || !strcmp(k, "if_primary_term")) && json_type_of(v) != JSON_INT) {
            value_location(l, v, &line, &col);
            return es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] [UpdateRequest] failed to parse field [%s]", line, col,
                              k);
        }
    }
    return 0;
}

/* ======================================================================== */
/* Source filtering (_source, _source_includes, _source_excludes)           */

typedef struct src_filter {
    int fetch;      /* -1 not given, 0 false, 1 true */
    char **inc;
    size_t ninc;
    char **exc;
    size_t nexc;
    bool given;     /* any of the three was given */
} src_filter;

static void src_filter_free(src_filter *f)
{
    free_strs(f->inc, f->ninc);
    free_strs(f->exc, f->nexc);
    memset(f, 0, sizeof *f);
    f->fetch = -1;
}

static void src_filter_copy(src_filter *dst, const src_filter *src)
{
    *dst = *src;
    dst->inc = NULL;
    dst->exc = NULL;
    dst->ninc = dst->nexc = 0;
    for (size_t i = 0; i < src->ninc; i++) push_str(&dst->inc, &dst->ninc, src->inc[i], strlen(src->inc[i]));
    for (size_t i = 0; i < src->nexc; i++) push_str(&dst->exc, &dst->nexc, src->exc[i], strlen(src->exc[i]));
}

/* FetchSourceContext.parseFromRestRequest */
static void src_filter_from_params(http_req *req, src_filter *f)
{
    memset(f, 0, sizeof *f);
    f->fetch = -1;
    const char *s = http_param(req, "_source");
    if (s) {
        f->given = true;
        if (!strcmp(s, "true")) f->fetch = 1;
        else if (!strcmp(s, "false")) f->fetch = 0;
        else split_commas(s, &f->inc, &f->ninc);
    }
    const char *in = http_param(req, "_source_includes");
    if (in) {
        f->given = true;
        free_strs(f->inc, f->ninc);
        split_commas(in, &f->inc, &f->ninc);
    }
    const char *ex = http_param(req, "_source_excludes");
    if (ex) {
        f->given = true;
        split_commas(ex, &f->exc, &f->nexc);
    }
}

/* FetchSourceContext.fromXContent, through the index module's parser. */
static int src_filter_from_json(const json_val *v, src_filter *f, es_err *err)
{
    memset(f, 0, sizeof *f);
    f->given = true;
    return source_filter_parse(v, &f->fetch, &f->inc, &f->ninc, &f->exc, &f->nexc, err);
}

static bool src_filter_has_patterns(const src_filter *f)
{
    return f->ninc || f->nexc;
}

/* Writes a stored source, filtered (byte for byte when no pattern applies). */
static void write_source(json_w *w, const char *src, size_t len, const src_filter *f)
{
    if (!f) jw_raw(w, src, len);
    else source_filter_write((const char *const *)f->inc, f->ninc, (const char *const *)f->exc, f->nexc, src, len, w);
}

/* ======================================================================== */
/* Write answers                                                            */

/* _shards.total: the primary plus the replicas the index asks for (unassigned on one node). */
static int64_t shards_total(indices *ix, const char *index)
{
    index_view *v = indices_get(ix, index);
    if (!v) return 1;
    int64_t total = 1 + index_view_replicas(v);
    index_view_release(v);
    return total;
}

/* Looks totals up once per index name within a request. */
typedef struct totals_cache {
    char **names;
    int64_t *totals;
    size_t n;
} totals_cache;

static int64_t cached_total(indices *ix, totals_cache *c, const char *index)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->names[i], index)) return c->totals[i];
    c->names = xrealloc(c->names, (c->n + 1) * sizeof *c->names);
    c->totals = xrealloc(c->totals, (c->n + 1) * sizeof *c->totals);
    c->names[c->n] = xstrdup(index);
    c->totals[c->n] = shards_total(ix, index);
    return c->totals[c->n++];
}

static void totals_free(totals_cache *c)
{
    free_strs(c->names, c->n);
    free(c->totals);
}

/* The "get" of an update answer, with includes/excludes applied. */
static void write_update_get(json_w *w, const char *get_json, const src_filter *f)
{
    jw_key(w, "get");
    if (!f || !src_filter_has_patterns(f)) {
        jw_raw(w, get_json, strlen(get_json));
        return;
    }
    json_doc *d = json_parse(get_json, strlen(get_json), NULL, NULL);
    if (!d) {
        jw_raw(w, get_json, strlen(get_json));
        return;
    }
    const json_val *root = json_doc_root(d);
    jw_obj_begin(w);
    json_iter it = json_iter_begin(root);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        jw_keyn(w, k, kl);
        if (!strcmp(k, "_source") && json_type_of(v) == JSON_OBJECT) {
            source_filter_write_value((const char *const *)f->inc, f->ninc, (const char *const *)f->exc, f->nexc, v, w);
        } else {
            jw_val(w, v);
        }
    }
    jw_obj_end(w);
    json_doc_free(d);
}

/* DocWriteResponse's members: _index, _id, _version, result, forced_refresh, _shards, _seq_no, _primary_term [, get]. */
static void write_doc_response_members(json_w *w, const write_result *r, int64_t total, const src_filter *f)
{
    jw_kstr(w, "_index", r->index);
    jw_kstr(w, "_id", r->id);
    jw_kint(w, "_version", r->r.version);
    jw_kstr(w, "result", store_result_name(r->r.result));
    if (r->forced_refresh) jw_kbool(w, "forced_refresh", true);
    jw_key(w, "_shards");
    jw_obj_begin(w);
    bool noop = r->r.result == STORE_RESULT_NOOP;
    jw_kint(w, "total", noop ? 0 : total);
    jw_kint(w, "successful", noop ? 0 : 1);
    jw_kint(w, "failed", 0);
    jw_obj_end(w);
    if (r->r.seq_no >= 0) {
        jw_kint(w, "_seq_no", r->r.seq_no);
        jw_kint(w, "_primary_term", r->r.primary_term);
    }
    if (r->get_json) write_update_get(w, r->get_json, f);
}

/* Answers a single-document write (index, create, delete, update). */
static void answer_write(http_req *req, http_resp *resp, rest_node *node, write_result *r, const char *routing,
                         const src_filter *f)
{
    if (es_err_isset(&r->err)) {
        http_resp_error(resp, &r->err);
        return;
    }
    json_w *w = http_resp_json(resp, r->status);
    jw_obj_begin(w);
    write_doc_response_members(w, r, shards_total(node->ix, r->index), f);
    jw_obj_end(w);
    if (r->status == 201) set_location(resp, r->index, r->id, routing);
}

/* ======================================================================== */
/* Index / create                                                           */

#define WRITE_COMMON_PARAMS "wait_for_active_shards,refresh,routing,timeout"
#define INDEX_PARAMS                                                                                              \
    WRITE_COMMON_PARAMS ",op_type,version,version_type,if_seq_no,if_primary_term,pipeline,require_alias,"        \
                        "require_data_stream,list_executed_pipelines,include_source_on_error"

typedef enum { IDX_WITH_ID, IDX_AUTO_ID, IDX_CREATE } index_route;

/*
 * Per-item authorization for writes (a no-op without security): the item's own
 * operation on the index it names, and the right to auto-create that index when it
 * does not exist yet, as Elasticsearch checks bulk items one by one.
 */
typedef struct write_auth {
    http_req *req;
    rest_node *node;
} write_auth;

static int authorize_write(void *ctx, const write_op *op, const char *index, bool may_create, es_err *err)
{
    write_auth *a = ctx;
    sec_doc_op sop = op->kind == WOP_CREATE ? SEC_OP_CREATE
                   : op->kind == WOP_UPDATE ? SEC_OP_UPDATE
                   : op->kind == WOP_DELETE ? SEC_OP_DELETE : SEC_OP_INDEX;
    if (security_check_doc_op(a->req, sop, index, err)) return -1;
    if (!may_create || !http_req_user(a->req)) return 0;
    index_view *v = NULL;
    es_err probe = { 0 };
    int exists = indices_write_target(a->node->ix, index, false, false, &v, NULL, &probe) == 0;
    es_err_free(&probe);
    if (v) index_view_release(v);
    return exists ? 0 : security_check(a->req, "indices:admin/auto_create", index, err);
}

static void do_index(http_req *req, http_resp *resp, rest_node *node, index_route route)
{
    es_err err = { 0 };
    const char *index = http_path_param(req, "index");
    const char *id = route == IDX_AUTO_ID ? NULL : http_path_param(req, "id");
    const char *op_type = http_param(req, "op_type");
    write_op_kind kind = WOP_INDEX;
    if (route == IDX_CREATE) {
        if (op_type && strcasecmp(op_type, "create") != 0) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "opType must be 'create', found: [%s]", op_type);
            return rest_fail(resp, &err);
        }
        kind = WOP_CREATE;
    } else if (op_type) {
        if (!strcasecmp(op_type, "create")) kind = WOP_CREATE;
        else if (strcasecmp(op_type, "index") != 0) {
            es_err_set(&err, ES_ILLEGAL_ARGUMENT, "opType must be 'create' or 'index', found: [%s]", op_type);
            return rest_fail(resp, &err);
        }
    } else if (route == IDX_AUTO_ID) {
        kind = WOP_CREATE; /* POST /{index}/_doc defaults to op_type create */
    }

    wreq w = { .kind = kind, .index = index, .id = id, .version = MATCH_ANY, .vt = STORE_VERSION_INTERNAL,
               .if_seq_no = UNASSIGNED_SEQ_NO, .if_primary_term = UNASSIGNED_PRIMARY_TERM };
    int refresh = rest_refresh_param(req, &err);
    w.version = param_long(req, "version", MATCH_ANY, &err);
    const char *vt = http_param(req, "version_type");
    if (vt) parse_version_type(vt, &w.vt, &err);
    w.if_seq_no = param_long(req, "if_seq_no", UNASSIGNED_SEQ_NO, &err);
    w.if_primary_term = param_long(req, "if_primary_term", UNASSIGNED_PRIMARY_TERM, &err);
    if (!es_err_isset(&err) && w.if_seq_no < 0 && w.if_seq_no != UNASSIGNED_SEQ_NO)
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "sequence numbers must be non negative. got [%" PRId64 "].", w.if_seq_no);
    if (!es_err_isset(&err) && w.if_primary_term < 0)
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "primary term must be non negative. got [%" PRId64 "]", w.if_primary_term);
    bool require_alias = http_param_bool(req, "require_alias", false, &err);
    check_write_params(req, &err);
    w.pipeline = http_param(req, "pipeline");
    if (es_err_isset(&err)) return rest_fail(resp, &err);

    size_t len;
    const char *body = http_body(req, &len);
    if (!body) {
        es_err_set(&err, ES_PARSE, "request body is required");
        return rest_fail(resp, &err);
    }
    verrs v = { 0 };
    validate_wreq(&v, &w);
    if (verr_finish(&v, &err)) return rest_fail(resp, &err);

    write_op op = { 0 };
    wreq_to_op(&w, &op);
    op.routing = http_param(req, "routing");
    op.source = body;
    op.source_len = len;
    op.require_alias = require_alias;
    write_auth auth = { req, node };
    write_opts wo = { .auto_create = true, .refresh = refresh, .authorize = authorize_write, .authorize_ctx = &auth };
    write_result r = { 0 };
    if (indices_write(node->ix, &op, 1, &wo, &r, &err)) {
        write_result_free(&r);
        return rest_fail(resp, &err);
    }
    answer_write(req, resp, node, &r, op.routing, NULL);
    write_result_free(&r);
}

static void handle_index(http_req *req, http_resp *resp, void *ctx)
{
    do_index(req, resp, ctx, IDX_WITH_ID);
}

static void handle_index_auto(http_req *req, http_resp *resp, void *ctx)
{
    do_index(req, resp, ctx, IDX_AUTO_ID);
}

static void handle_create(http_req *req, http_resp *resp, void *ctx)
{
    do_index(req, resp, ctx, IDX_CREATE);
}

/* ======================================================================== */
/* Delete                                                                   */

#define DELETE_PARAMS WRITE_COMMON_PARAMS ",if_seq_no,if_primary_term,version,version_type"

static void handle_delete(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    wreq w = { .kind = WOP_DELETE, .index = http_path_param(req, "index"), .id = http_path_param(req, "id"),
               .version = MATCH_ANY, .vt = STORE_VERSION_INTERNAL, .if_seq_no = UNASSIGNED_SEQ_NO,
               .if_primary_term = UNASSIGNED_PRIMARY_TERM };
    int refresh = rest_refresh_param(req, &err);
    w.version = param_long(req, "version", MATCH_ANY, &err);
    const char *vt = http_param(req, "version_type");
    if (vt) parse_version_type(vt, &w.vt, &err);
    w.if_seq_no = param_long(req, "if_seq_no", UNASSIGNED_SEQ_NO, &err);
    w.if_primary_term = param_long(req, "if_primary_term", UNASSIGNED_PRIMARY_TERM, &err);
    if (!es_err_isset(&err) && w.if_seq_no < 0 && w.if_seq_no != UNASSIGNED_SEQ_NO)
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "sequence numbers must be non negative. got [%" PRId64 "].", w.if_seq_no);
    if (!es_err_isset(&err) && w.if_primary_term < 0)
        es_err_set(&err, ES_ILLEGAL_ARGUMENT, "primary term must be non negative. got [%" PRId64 "]", w.if_primary_term);
    check_write_params(req, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    verrs v = { 0 };
    validate_wreq(&v, &w);
    if (verr_finish(&v, &err)) return rest_fail(resp, &err);

    write_op op = { 0 };
    wreq_to_op(&w, &op);
    op.routing = http_param(req, "routing");
    write_auth auth = { req, node };
    write_opts wo = { .auto_create = true, .refresh = refresh, .authorize = authorize_write, .authorize_ctx = &auth };
    write_result r = { 0 };
    if (indices_write(node->ix, &op, 1, &wo, &r, &err)) {
        write_result_free(&r);
        return rest_fail(resp, &err);
    }
    answer_write(req, resp, node, &r, op.routing, NULL);
    write_result_free(&r);
}

/* ======================================================================== */
/* Update                                                                   */

#define UPDATE_PARAMS                                                                                             \
    WRITE_COMMON_PARAMS ",_source,_source_excludes,_source_includes,lang,retry_on_conflict,if_seq_no,"            \
                        "if_primary_term,require_alias,version,version_type,include_source_on_error"

static void handle_update(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    wreq w = { .kind = WOP_UPDATE, .index = http_path_param(req, "index"), .id = http_path_param(req, "id"),
               .version = MATCH_ANY, .vt = STORE_VERSION_INTERNAL, .if_seq_no = UNASSIGNED_SEQ_NO,
               .if_primary_term = UNASSIGNED_PRIMARY_TERM };
    int refresh = rest_refresh_param(req, &err);
    if (!es_err_isset(&err) && (http_param(req, "version") || http_param(req, "version_type"))) {
        es_err_set(&err, ES_ACTION_REQUEST_VALIDATION,
                   "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. "
                   "Please use `if_seq_no` and `if_primary_term` instead;");
        return rest_fail(resp, &err);
    }
    w.if_seq_no = param_long(req, "if_seq_no", UNASSIGNED_SEQ_NO, &err);
    w.if_primary_term = param_long(req, "if_primary_term", UNASSIGNED_PRIMARY_TERM, &err);
    int64_t roc = param_long(req, "retry_on_conflict", 0, &err);
    w.retry_on_conflict = (int)roc;
    bool require_alias = http_param_bool(req, "require_alias", false, &err);
    check_write_params(req, &err);
    src_filter f;
    src_filter_from_params(req, &f);
    if (es_err_isset(&err)) {
        src_filter_free(&f);
        return rest_fail(resp, &err);
    }

    json_doc *doc = NULL;
    if (parse_body(req, &doc, &err)) {
        src_filter_free(&f);
        return rest_fail(resp, &err);
    }
    json_doc *empty = NULL;
    if (!doc) empty = json_parse("{}", 2, NULL, NULL);
    const json_val *body = json_doc_root(doc ? doc : empty);
    size_t blen;
    const char *btext = http_body(req, &blen);
    located loc = { btext, blen, doc };
    if (doc && check_update_body(&loc, body, &err)) goto out;

    /* The body's if_seq_no / if_primary_term / _source stand beside the parameters. */
    const json_val *bs = json_obj_get(body, "if_seq_no");
    if (bs) w.if_seq_no = json_int(bs);
    const json_val *bt = json_obj_get(body, "if_primary_term");
    if (bt) w.if_primary_term = json_int(bt);
    const json_val *bsrc = json_obj_get(body, "_source");
    if (bsrc && !f.given) {
        if (src_filter_from_json(bsrc, &f, &err)) goto out;
    }
    w.update = body;
    verrs v = { 0 };
    validate_wreq(&v, &w);
    if (verr_finish(&v, &err)) goto out;

    write_op op = { 0 };
    wreq_to_op(&w, &op);
    op.routing = http_param(req, "routing");
    op.require_alias = require_alias;
    /* A fetch request for the answer's "get": any form but _source=false. */
    json_doc *want = NULL;
    if (f.given && f.fetch != 0) {
        want = json_parse("true", 4, NULL, NULL);
        op.source_filter = json_doc_root(want);
    }
    write_auth auth = { req, node };
    write_opts wo = { .auto_create = true, .refresh = refresh, .authorize = authorize_write, .authorize_ctx = &auth };
    write_result r = { 0 };
    if (indices_write(node->ix, &op, 1, &wo, &r, &err) == 0) answer_write(req, resp, node, &r, op.routing, &f);
    write_result_free(&r);
    if (want) json_doc_free(want);
out:
    if (es_err_isset(&err)) rest_fail(resp, &err);
    src_filter_free(&f);
    if (doc) json_doc_free(doc);
    if (empty) json_doc_free(empty);
}

/* ======================================================================== */
/* Reads: GET, HEAD, _source, _mget                                         */

#define GET_PARAMS                                                                                                \
    "stored_fields,preference,realtime,refresh,routing,_source,_source_excludes,_source_includes,version,"        \
    "version_type,force_synthetic_source"
#define SOURCE_PARAMS                                                                                             \
    "preference,realtime,refresh,routing,_source,_source_excludes,_source_includes,version,version_type"

/* One document to read and how to answer it. */
typedef struct get_spec {
    const char *index;
    const char *id;
    const char *routing;
    src_filter src;
    char **stored;      /* stored_fields, or NULL when not given */
    size_t nstored;
    bool stored_given;
    int64_t version;    /* MATCH_ANY when not given */
    store_version_type vt;
} get_spec;

/* The single index a name stands for (concrete name or alias). */
static int resolve_single(rest_node *node, const char *name, index_view **out, es_err *err)
{
    *out = NULL;
    resolve_opts ro = resolve_opts_default();
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, name, &ro, &views, &n, err)) return -1;
    if (n == 1) {
        *out = views[0];
        free(views);
        return 0;
    }
    if (n == 0) {
        indices_views_free(views, n);
        indices_not_found(err, name);
        return -1;
    }
    buf names = { 0 };
    for (size_t i = 0; i < n; i++) buf_printf(&names, "%s%s", i ? ", " : "", views[i]->name);
    if (strchr(name, '*') || strchr(name, ',')) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "unable to return a single index as the index and options provided got resolved to multiple indices");
    } else {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "alias [%s] has more than one index associated with it [[%s]], can't execute a single index op",
                   name, names.p);
    }
    buf_free(&names);
    indices_views_free(views, n);
    return -1;
}

static void routing_missing(es_err *e, const char *index, const char *id)
{
    es_err_set(e, ES_ILLEGAL_ARGUMENT, "routing is required for [%s]/[%s]", index, id);
    e->type_name = "routing_missing_exception";
    e->status = 400;
    es_err_extra(e, "index_uuid", "_na_", false);
    es_err_extra(e, "index", index, false);
}

/* VersionType.isVersionConflictForReads: every type wants the exact version. */
static int check_read_version(const get_spec *g, const index_view *v, uint32_t shard, const store_doc *d, es_err *err)
{
    if (g->version == MATCH_ANY || d->version == g->version) return 0;
    es_err_set(err, ES_VERSION_CONFLICT,
               "[%s]: version conflict, current version [%" PRId64 "] is different than the one provided [%" PRId64 "]",
               g->id, d->version, g->version);
    char sh[16];
    snprintf(sh, sizeof sh, "%" PRIu32, shard);
    es_err_extra(err, "index_uuid", v->uuid, false);
    es_err_extra(err, "shard", sh, false);
    es_err_extra(err, "index", v->name, false);
    return -1;
}

/* Reads a document: 1 found (*d filled, valid until *snap ends), 0 missing, -1 error. */
static int read_doc(const index_view *v, const get_spec *g, store_txn **snap, uint32_t *shard, store_doc *d,
                    es_err *err)
{
    *snap = NULL;
    if (!g->routing && mapping_routing_required(v->mapping)) {
        routing_missing(err, v->name, g->id);
        return -1;
    }
    const char *key = g->routing ? g->routing : g->id;
    *shard = store_shard_for(v->si, key, strlen(key));
    if (store_read_begin(v->si, *shard, snap, err)) return -1;
    int rc = store_doc_get(*snap, g->id, strlen(g->id), d, err);
    if (rc <= 0) {
        store_read_end(*snap);
        *snap = NULL;
    }
    return rc;
}

static bool want_source(const get_spec *g)
{
    if (g->src.given) return g->src.fetch != 0;
    if (!g->stored_given) return true;
    for (size_t i = 0; i < g->nstored; i++)
        if (!strcmp(g->stored[i], "_source")) return true;
    return false;
}

static void write_iso_millis(buf *b, int64_t ms)
{
    int64_t sec = ms / 1000, msr = ms % 1000;
    if (msr < 0) {
        msr += 1000;
        sec--;
    }
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* civil from days (Howard Hinnant's algorithm) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    buf_printf(b, "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%03" PRId64 "Z",
               y, m, d, rem / 3600, rem / 60 % 60, rem % 60, msr);
}

static void write_field_value(json_w *w, const index_field_value *fv)
{
    switch (fv->kind) {
    case IFV_LONG: jw_int(w, fv->v.l); break;
    case IFV_DOUBLE: jw_double(w, fv->v.d); break;
    case IFV_BOOL: jw_bool(w, fv->v.b); break;
    case IFV_DATE: {
        if (fv->type == FT_DATE_NANOS) {
            jw_strn(w, fv->str, fv->str_len);
            break;
        }
        buf b = { 0 };
        write_iso_millis(&b, fv->v.l);
        jw_str(w, b.p);
        buf_free(&b);
        break;
    }
    case IFV_GEO: {
        char tmp[96];
        snprintf(tmp, sizeof tmp, "%.17g, %.17g", fv->v.geo.lat, fv->v.geo.lon);
        jw_str(w, tmp);
        break;
    }
    default: jw_strn(w, fv->str, fv->str_len); break;
    }
}

/* "fields": the requested stored fields, read from the source against the mapping. */
static void write_stored_fields(json_w *w, const index_view *v, const get_spec *g, const store_doc *d)
{
    bool any_field = false;
    for (size_t i = 0; i < g->nstored; i++)
        if (g->stored[i][0] != '_') any_field = true;
    if (!any_field) return;
    json_doc *doc = json_parse(d->source, d->srclen, NULL, NULL);
    if (!doc) return;
    parsed_doc pd = { 0 };
    es_err e = { 0 };
    doc_parse_opts po = { .id = g->id, .src = d->source, .src_len = d->srclen, .doc = doc, .limits = &v->limits };
    if (mapping_parse_document(v->mapping, json_doc_root(doc), &po, &pd, &e) == 0) {
        bool opened = false;
        for (size_t i = 0; i < g->nstored; i++) {
            const char *name = g->stored[i];
            if (name[0] == '_') continue;
            bool wild = strchr(name, '*') != NULL;
            /* Every stored path this request names, in document order of first appearance. */
            for (size_t a = 0; a < pd.n_values; a++) {
                const index_field_value *fa = &pd.values[a];
                if (!fa->stored) continue;
                bool match = wild ? source_pattern_match(name, fa->path, strlen(fa->path)) : !strcmp(fa->path, name);
                if (!match) continue;
                bool seen = false;
                for (size_t p = 0; p < a && !seen; p++)
                    if (pd.values[p].stored && !strcmp(pd.values[p].path, fa->path)) seen = true;
                if (seen) continue;
                if (!opened) {
                    jw_key(w, "fields");
                    jw_obj_begin(w);
                    opened = true;
                }
                jw_key(w, fa->path);
                jw_arr_begin(w);
                for (size_t b = a; b < pd.n_values; b++)
                    if (pd.values[b].stored && !strcmp(pd.values[b].path, fa->path)) write_field_value(w, &pd.values[b]);
                jw_arr_end(w);
            }
        }
        if (opened) jw_obj_end(w);
    }
    es_err_free(&e);
    parsed_doc_free(&pd);
    json_doc_free(doc);
}

/* GetResult.toXContent of a found document (the object's members). */
static void write_found(json_w *w, const index_view *v, const get_spec *g, const store_doc *d)
{
    jw_kstr(w, "_index", v->name);
    jw_keyn(w, "_id", 3);
    jw_strn(w, d->id, d->idlen);
    jw_kint(w, "_version", d->version);
    jw_kint(w, "_seq_no", d->seq_no);
    jw_kint(w, "_primary_term", d->primary_term);
    if (d->routing) {
        jw_key(w, "_routing");
        jw_strn(w, d->routing, d->routing_len);
    }
    jw_kbool(w, "found", true);
    if (want_source(g) && mapping_source_enabled(v->mapping)) {
        jw_key(w, "_source");
        write_source(w, d->source, d->srclen, &g->src);
    }
    if (g->stored_given) write_stored_fields(w, v, g, d);
}

static void write_not_found(json_w *w, const char *index, const char *id)
{
    jw_kstr(w, "_index", index);
    jw_kstr(w, "_id", id);
    jw_kbool(w, "found", false);
}

static void get_spec_free(get_spec *g)
{
    src_filter_free(&g->src);
    free_strs(g->stored, g->nstored);
}

/* Reads the parameters GET, HEAD and _source share. */
static int get_spec_from_params(http_req *req, get_spec *g, bool stored_fields, es_err *err)
{
    memset(g, 0, sizeof *g);
    g->index = http_path_param(req, "index");
    g->id = http_path_param(req, "id");
    g->routing = http_param(req, "routing");
    g->version = MATCH_ANY;
    src_filter_from_params(req, &g->src);
    if (stored_fields) {
        const char *sf = http_param(req, "stored_fields");
        if (sf) {
            g->stored_given = true;
            split_commas(sf, &g->stored, &g->nstored);
        }
    }
    http_param_bool(req, "realtime", true, err);
    http_param_bool(req, "refresh", false, err);
    http_param_bool(req, "force_synthetic_source", false, err);
    g->version = param_long(req, "version", MATCH_ANY, err);
    const char *vt = http_param(req, "version_type");
    if (vt) parse_version_type(vt, &g->vt, err);
    return es_err_isset(err) ? -1 : 0;
}

static void fail_head_or_body(http_resp *resp, bool head, es_err *err)
{
    if (head) {
        http_resp_status(resp, err->status ? err->status : es_error_status(err->type));
        es_err_free(err);
        return;
    }
    rest_fail(resp, err);
}

static void handle_get(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    bool head = http_req_method(req) == HTTP_HEAD;
    es_err err = { 0 };
    get_spec g;
    index_view *v = NULL;
    store_txn *snap = NULL;
    if (get_spec_from_params(req, &g, true, &err) || resolve_single(node, g.index, &v, &err)) goto fail;
    store_doc d;
    uint32_t shard;
    int rc = read_doc(v, &g, &snap, &shard, &d, &err);
    if (rc < 0) goto fail;
    if (rc == 1 && check_read_version(&g, v, shard, &d, &err)) goto fail;
    if (head) {
        http_resp_status(resp, rc == 1 ? 200 : 404);
    } else {
        json_w *w = http_resp_json(resp, rc == 1 ? 200 : 404);
        jw_obj_begin(w);
        if (rc == 1) write_found(w, v, &g, &d);
        else write_not_found(w, v->name, g.id);
        jw_obj_end(w);
    }
    goto done;
fail:
    fail_head_or_body(resp, head, &err);
done:
    if (snap) store_read_end(snap);
    if (v) index_view_release(v);
    get_spec_free(&g);
}

static void handle_get_source(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    bool head = http_req_method(req) == HTTP_HEAD;
    es_err err = { 0 };
    get_spec g;
    index_view *v = NULL;
    store_txn *snap = NULL;
    if (get_spec_from_params(req, &g, false, &err) || resolve_single(node, g.index, &v, &err)) goto fail;
    store_doc d;
    uint32_t shard;
    int rc = read_doc(v, &g, &snap, &shard, &d, &err);
    if (rc < 0) goto fail;
    if (rc == 1 && check_read_version(&g, v, shard, &d, &err)) goto fail;
    if (rc == 0) {
        es_err_set(&err, ES_RESOURCE_NOT_FOUND, "Document not found [%s]/[%s]", v->name, g.id);
        goto fail;
    }
    if (!mapping_source_enabled(v->mapping) || (g.src.given && g.src.fetch == 0)) {
        es_err_set(&err, ES_RESOURCE_NOT_FOUND, "Source not found [%s]/[%s]", v->name, g.id);
        goto fail;
    }
    if (head) {
        http_resp_status(resp, 200);
    } else {
        json_w *w = http_resp_json(resp, 200);
        write_source(w, d.source, d.srclen, &g.src);
    }
    goto done;
fail:
    fail_head_or_body(resp, head, &err);
done:
    if (snap) store_read_end(snap);
    if (v) index_view_release(v);
    get_spec_free(&g);
}

/* ---- _mget ---- */

#define MGET_PARAMS                                                                                               \
    "stored_fields,preference,realtime,refresh,routing,_source,_source_excludes,_source_includes,"                \
    "force_synthetic_source"

typedef struct mget_item {
    get_spec g;
    char *index, *id, *routing;
} mget_item;

/* Writes one error the way a multi-item answer carries it: "error":{root_cause, type, reason, …}. */
static void write_item_error(json_w *w, const es_err *err)
{
    const es_err *root = err;
    for (const es_err *e = err->caused_by; e; e = e->caused_by) root = e;
    jw_key(w, "error");
    jw_obj_begin(w);
    jw_key(w, "root_cause");
    jw_arr_begin(w);
    es_err shallow = *root;
    shallow.caused_by = NULL;
    http_write_error_object(w, &shallow);
    jw_arr_end(w);
    jw_kstr(w, "type", es_err_type_name(err));
    jw_kstr(w, "reason", err->reason);
    for (size_t i = 0; i < err->n_extra; i++) {
        jw_key(w, err->extra[i].key);
        if (err->extra[i].raw) jw_raw(w, err->extra[i].value, strlen(err->extra[i].value));
        else jw_str(w, err->extra[i].value);
    }
    if (err->caused_by) {
        jw_key(w, "caused_by");
        http_write_error_object(w, err->caused_by);
    }
    jw_obj_end(w);
}

static int mget_parse_doc(const json_val *dv, size_t idx, mget_item *it, const get_spec *defaults, es_err *err)
{
    if (json_type_of(dv) != JSON_OBJECT)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "docs array element should include an object");
    bool src_given = false;
    json_iter i = json_iter_begin(dv);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&i, &k, &kl))) {
        json_type t = json_type_of(v);
        if (t == JSON_ARRAY) {
            if (!strcmp(k, "fields"))
                return es_err_set(err, ES_PARSING, "Unsupported field [fields] used, expected [stored_fields] instead");
            if (!strcmp(k, "stored_fields")) {
                free_strs(it->g.stored, it->g.nstored);
                it->g.stored = NULL;
                it->g.nstored = 0;
                it->g.stored_given = true;
                for (size_t a = 0; a < json_len(v); a++) {
                    char *s = scalar_text(json_arr_get(v, a));
                    push_str(&it->g.stored, &it->g.nstored, s, strlen(s));
                    free(s);
                }
            } else if (!strcmp(k, "_source")) {
                src_filter_free(&it->g.src);
                if (src_filter_from_json(v, &it->g.src, err)) return -1;
                src_given = true;
            } else {
                return es_err_set(err, ES_PARSE, "failed to parse multi get request. unknown field [%s]", k);
            }
        } else if (t == JSON_OBJECT) {
            if (!strcmp(k, "_source")) {
                src_filter_free(&it->g.src);
                if (src_filter_from_json(v, &it->g.src, err)) return -1;
                src_given = true;
            } else {
                return es_err_set(err, ES_PARSE, "failed to parse multi get request. unknown field [%s]", k);
            }
        } else if (t == JSON_NULL) {
            continue;
        } else if (!strcmp(k, "_index")) {
            free(it->index);
            it->index = scalar_text(v);
        } else if (!strcmp(k, "_id")) {
            free(it->id);
            it->id = scalar_text(v);
        } else if (!strcmp(k, "routing")) {
            free(it->routing);
            it->routing = scalar_text(v);
        } else if (!strcmp(k, "fields")) {
            return es_err_set(err, ES_PARSING, "Unsupported field [fields] used, expected [stored_fields] instead");
        } else if (!strcmp(k, "stored_fields")) {
            free_strs(it->g.stored, it->g.nstored);
            it->g.stored = NULL;
            it->g.nstored = 0;
            it->g.stored_given = true;
            char *s = scalar_text(v);
            push_str(&it->g.stored, &it->g.nstored, s, strlen(s));
            free(s);
        } else if (!strcmp(k, "version")) {
            char *s = scalar_text(v);
            bool ok = parse_long(s, &it->g.version);
            free(s);
            if (!ok) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to parse [version] of doc %zu", idx);
        } else if (!strcmp(k, "version_type")) {
            char *s = scalar_text(v);
            int rc = parse_version_type(s, &it->g.vt, err);
            free(s);
            if (rc) return -1;
        } else if (!strcmp(k, "_source")) {
            src_filter_free(&it->g.src);
            if (t == JSON_BOOL) {
                src_filter_copy(&it->g.src, &defaults->src);
                it->g.src.given = true;
                it->g.src.fetch = json_bool(v) ? 1 : 0;
            } else if (t == JSON_STRING) {
                if (src_filter_from_json(v, &it->g.src, err)) return -1;
            } else {
                return es_err_set(err, ES_PARSE, "illegal type for _source: [%s]", json_token_name(v));
            }
            src_given = true;
        } else {
            return es_err_set(err, ES_PARSE, "failed to parse multi get request. unknown field [%s]", k);
        }
    }
    if (!src_given) src_filter_copy(&it->g.src, &defaults->src);
    return 0;
}

static void mget_item_free(mget_item *it)
{
    get_spec_free(&it->g);
    free(it->index);
    free(it->id);
    free(it->routing);
}

static void handle_mget(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    es_err err = { 0 };
    get_spec defaults;
    json_doc *doc = NULL;
    mget_item *items = NULL;
    size_t n = 0;
    get_spec_from_params(req, &defaults, true, &err);
    const char *default_index = http_path_param(req, "index");
    if (es_err_isset(&err) || parse_body(req, &doc, &err)) goto fail;

    const json_val *body = doc ? json_doc_root(doc) : NULL;
    if (body && json_type_of(body) != JSON_OBJECT) {
        es_err_set(&err, ES_PARSE, "Failed to derive xcontent");
        goto fail;
    }
    json_iter bi = json_iter_begin(body);
    const json_val *bv;
    const char *bk;
    size_t bkl;
    while (body && (bv = json_iter_next(&bi, &bk, &bkl))) {
        if (json_type_of(bv) != JSON_ARRAY) {
            es_err_set(&err, ES_PARSING, "unexpected token [%s], expected [docs] or [ids]", json_token_name(bv));
            goto fail;
        }
        bool docs = !strcmp(bk, "docs"), ids = !strcmp(bk, "ids");
        if (!docs && !ids) {
            es_err_set(&err, ES_PARSING, "unknown key [%s] for a START_ARRAY, expected [docs] or [ids]", bk);
            goto fail;
        }
        for (size_t i = 0; i < json_len(bv); i++) {
            const json_val *e = json_arr_get(bv, i);
            items = xrealloc(items, (n + 1) * sizeof *items);
            mget_item *it = &items[n++];
            memset(it, 0, sizeof *it);
            it->g.version = MATCH_ANY;
            it->g.src.fetch = -1;
            if (defaults.stored_given) {
                it->g.stored_given = true;
                for (size_t s = 0; s < defaults.nstored; s++)
                    push_str(&it->g.stored, &it->g.nstored, defaults.stored[s], strlen(defaults.stored[s]));
            }
            if (default_index) it->index = xstrdup(default_index);
            if (defaults.routing) it->routing = xstrdup(defaults.routing);
            if (ids) {
                if (json_type_of(e) == JSON_OBJECT || json_type_of(e) == JSON_ARRAY) {
                    es_err_set(&err, ES_ILLEGAL_ARGUMENT, "ids array element should only contain ids");
                    goto fail;
                }
                it->id = scalar_text(e);
                src_filter_copy(&it->g.src, &defaults.src);
            } else if (mget_parse_doc(e, n - 1, it, &defaults, &err)) {
                goto fail;
            }
        }
    }
    verrs ve = { 0 };
    if (!n) verr(&ve, "no documents to get");
    for (size_t i = 0; i < n; i++) {
        if (!items[i].index) verr(&ve, "index is missing for doc %zu", i);
        if (!items[i].id) verr(&ve, "id is missing for doc %zu", i);
    }
    if (verr_finish(&ve, &err)) goto fail;

    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_key(w, "docs");
    jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        mget_item *it = &items[i];
        it->g.index = it->index;
        it->g.id = it->id;
        it->g.routing = it->routing;
        es_err e = { 0 };
        index_view *v = NULL;
        store_txn *snap = NULL;
        store_doc d;
        uint32_t shard = 0;
        int rc = -1;
        if (security_check(req, "indices:data/read/mget[shard]", it->index, &e) == 0 &&
            resolve_single(node, it->index, &v, &e) == 0) {
            rc = read_doc(v, &it->g, &snap, &shard, &d, &e);
            if (rc == 1 && check_read_version(&it->g, v, shard, &d, &e)) rc = -1;
        }
        jw_obj_begin(w);
        if (rc < 0) {
            jw_kstr(w, "_index", v ? v->name : it->index);
            jw_kstr(w, "_id", it->id);
            write_item_error(w, &e);
        } else if (rc == 0) {
            write_not_found(w, v->name, it->id);
        } else {
            write_found(w, v, &it->g, &d);
        }
        jw_obj_end(w);
        es_err_free(&e);
        if (snap) store_read_end(snap);
        if (v) index_view_release(v);
    }
    jw_arr_end(w);
    jw_obj_end(w);
    goto done;
fail:
    rest_fail(resp, &err);
done:
    for (size_t i = 0; i < n; i++) mget_item_free(&items[i]);
    free(items);
    get_spec_free(&defaults);
    if (doc) json_doc_free(doc);
}

/* ======================================================================== */
/* _bulk                                                                    */

#define BULK_PARAMS                                                                                               \
    WRITE_COMMON_PARAMS ",_source,_source_excludes,_source_includes,pipeline,require_alias,"                      \
                        "require_data_stream,list_executed_pipelines,include_source_on_error"

typedef enum { BA_INDEX, BA_CREATE, BA_UPDATE, BA_DELETE } bulk_action;

typedef struct bulk_item {
    bulk_action action;
    bool as_create;         /* index with op_type create */
    wreq w;
    char *index, *id, *routing, *pipeline;
    bool require_alias;
    const char *src;        /* index/create: the source line, byte for byte */
    size_t srclen;
    json_doc *upd;          /* update: the parsed body */
    src_filter fsrc;        /* update: _source from the action line or the body */
    char **dt;              /* dynamic_templates as path/name pairs */
    size_t ndt;
} bulk_item;

static void bulk_item_free(bulk_item *b)
{
    free(b->index);
    free(b->id);
    free(b->routing);
    free(b->pipeline);
    if (b->upd) json_doc_free(b->upd);
    src_filter_free(&b->fsrc);
    free_strs(b->dt, b->ndt);
}

static int malformed(es_err *err, int line, const char *fmt, const char *arg)
{
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "Malformed action/metadata line [%d], %s [%s]", line, fmt, arg);
    return -1;
}

static int not_simple(es_err *err, int line, const char *field, const json_val *v)
{
    es_err_set(err, ES_ILLEGAL_ARGUMENT,
               "Malformed action/metadata line [%d], expected a simple value for field [%s] but found [%s]", line, field,
               json_token_name(v));
    return -1;
}

static bool json_bool_value(const json_val *v, bool *out)
{
    if (json_type_of(v) == JSON_BOOL) {
        *out = json_bool(v);
        return true;
    }
    if (json_type_of(v) == JSON_STRING) {
        const char *s = json_str(v, NULL);
        if (!strcmp(s, "true") || !strcmp(s, "false")) {
            *out = !strcmp(s, "true");
            return true;
        }
    }
    return false;
}

static int meta_long(const json_val *v, int64_t *out, es_err *err)
{
    char *s = scalar_text(v);
    int64_t n;
    bool ok = json_type_of(v) != JSON_BOOL && parse_long(s, &n);
    if (!ok && json_type_of(v) == JSON_DOUBLE) {
        n = json_int(v);
        ok = true;
    }
    if (!ok) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%s\"", s);
        err->type_name = "number_format_exception";
        err->status = 400;
        free(s);
        return -1;
    }
    free(s);
    *out = n;
    return 0;
}

/* Reads the metadata object of an action line into *b. */
static int bulk_parse_meta(const json_val *meta, int line, bulk_item *b, es_err *err)
{
    json_iter it = json_iter_begin(meta);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        json_type t = json_type_of(v);
        if (t == JSON_NULL) continue;
        if (t == JSON_ARRAY) return not_simple(err, line, k, v);
        if (t == JSON_OBJECT) {
            if (!strcmp(k, "dynamic_templates")) {
                free_strs(b->dt, b->ndt);
                b->dt = NULL;
                b->ndt = 0;
                json_iter di = json_iter_begin(v);
                const json_val *dv;
                const char *dk;
                size_t dkl;
                while ((dv = json_iter_next(&di, &dk, &dkl))) {
                    if (json_type_of(dv) != JSON_STRING) {
                        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Malformed action/metadata line [%d], expected a string for dynamic template [%s] but found [%s]",
                                   line, dk, json_token_name(dv));
                        return -1;
                    }
                    size_t sl;
                    const char *s = json_str(dv, &sl);
                    push_str(&b->dt, &b->ndt, dk, dkl);
                    push_str(&b->dt, &b->ndt, s, sl);
                }
                continue;
            }
            if (!strcmp(k, "_source")) {
                src_filter_free(&b->fsrc);
                if (src_filter_from_json(v, &b->fsrc, err)) return -1;
                continue;
            }
            return not_simple(err, line, k, v);
        }
        if (!strcmp(k, "_index")) {
            free(b->index);
            b->index = scalar_text(v);
        } else if (!strcmp(k, "_id")) {
            free(b->id);
            b->id = scalar_text(v);
        } else if (!strcmp(k, "routing")) {
            free(b->routing);
            b->routing = scalar_text(v);
        } else if (!strcmp(k, "op_type")) {
            char *s = scalar_text(v);
            if (b->action == BA_INDEX) b->as_create = !strcmp(s, "create");
            free(s);
        } else if (!strcmp(k, "version")) {
            if (meta_long(v, &b->w.version, err)) return -1;
        } else if (!strcmp(k, "version_type")) {
            char *s = scalar_text(v);
            int rc = parse_version_type(s, &b->w.vt, err);
            free(s);
            if (rc) return -1;
        } else if (!strcmp(k, "if_seq_no")) {
            if (meta_long(v, &b->w.if_seq_no, err)) return -1;
            if (b->w.if_seq_no < 0 && b->w.if_seq_no != UNASSIGNED_SEQ_NO)
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "sequence numbers must be non negative. got [%" PRId64 "].",
                                  b->w.if_seq_no);
        } else if (!strcmp(k, "if_primary_term")) {
            if (meta_long(v, &b->w.if_primary_term, err)) return -1;
            if (b->w.if_primary_term < 0)
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "primary term must be non negative. got [%" PRId64 "]",
                                  b->w.if_primary_term);
        } else if (!strcmp(k, "retry_on_conflict")) {
            int64_t n;
            if (meta_long(v, &n, err)) return -1;
            b->w.retry_on_conflict = (int)n;
        } else if (!strcmp(k, "pipeline")) {
            free(b->pipeline);
            b->pipeline = scalar_text(v);
        } else if (!strcmp(k, "_source")) {
            src_filter_free(&b->fsrc);
            if (src_filter_from_json(v, &b->fsrc, err)) return -1;
        } else if (!strcmp(k, "require_alias") || !strcmp(k, "require_data_stream") ||
                   !strcmp(k, "list_executed_pipelines")) {
            bool bv;
            if (!json_bool_value(v, &bv)) {
                char *s = scalar_text(v);
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] as only [true] or [false] are allowed.", s);
                free(s);
                return -1;
            }
            if (!strcmp(k, "require_alias")) b->require_alias = bv;
        } else {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Action/metadata line [%d] contains an unknown parameter [%s]", line, k);
            return -1;
        }
    }
    return 0;
}

typedef struct bulk_defaults {
    const char *index;
    const char *routing;
    const char *pipeline;
    bool require_alias;
    src_filter src;
} bulk_defaults;

/* BulkRequestParser: NDJSON into items; any structural error fails the whole request. */
static int bulk_parse(const char *body, size_t len, const bulk_defaults *d, bulk_item **out, size_t *nout, es_err *err)
{
    static const char *const actions[] = { "index", "create", "update", "delete" };
    bulk_item *items = NULL;
    size_t n = 0;
    size_t pos = 0;
    int line = 0;
    int rc = 0;
    while (rc == 0) {
        const char *nl = memchr(body + pos, '\n', len - pos);
        if (!nl) {
            if (pos != len) rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "The bulk request must be terminated by a newline [\\n]");
            break;
        }
        line++;
        const char *ls = body + pos;
        size_t ll = (size_t)(nl - ls);
        pos = (size_t)(nl - body) + 1;
        bool blank = true;
        for (size_t i = 0; i < ll && blank; i++)
            if (ls[i] != ' ' && ls[i] != '\t' && ls[i] != '\r') blank = false;
        if (blank) continue;

        json_parse_opts po = { .allow_trailing = true };
        json_err je;
        json_doc *ad = json_parse(ls, ll, &po, &je);
        if (!ad) {
            es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", je.line, je.col, je.msg);
            es_err *cause = xcalloc(1, sizeof *cause);
            es_err_set(cause, ES_JSON_PARSE, "%s\n at [" JSON_SOURCE_NOTE "; line: %u, column: %u]", je.msg, je.line,
                       je.col);
            es_err_cause(err, cause);
            rc = -1;
            break;
        }
        const json_val *root = json_doc_root(ad);
        if (json_type_of(root) != JSON_OBJECT) {
            rc = malformed(err, line, "expected START_OBJECT but found", json_token_name(root));
            json_doc_free(ad);
            break;
        }
        json_iter ai = json_iter_begin(root);
        const char *action;
        size_t al;
        const json_val *meta = json_iter_next(&ai, &action, &al);
        if (!meta) {
            rc = malformed(err, line, "expected FIELD_NAME but found", "END_OBJECT");
            json_doc_free(ad);
            break;
        }
        int act = -1;
        for (int a = 0; a < 4; a++)
            if (!strcmp(action, actions[a])) act = a;
        if (act < 0) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "Malformed action/metadata line [%d], expected field [create], [delete], [index] or [update] but found [%s]",
                       line, action);
            json_doc_free(ad);
            rc = -1;
            break;
        }
        if (json_type_of(meta) != JSON_OBJECT) {
            rc = malformed(err, line, "expected START_OBJECT or END_OBJECT but found", json_token_name(meta));
            json_doc_free(ad);
            break;
        }
        items = xrealloc(items, (n + 1) * sizeof *items);
        bulk_item *b = &items[n++];
        memset(b, 0, sizeof *b);
        b->action = (bulk_action)act;
        b->w = (wreq){ .version = MATCH_ANY, .vt = STORE_VERSION_INTERNAL, .if_seq_no = UNASSIGNED_SEQ_NO,
                       .if_primary_term = UNASSIGNED_PRIMARY_TERM };
        b->fsrc.fetch = -1;
        if (d->index) b->index = xstrdup(d->index);
        if (d->routing) b->routing = xstrdup(d->routing);
        if (d->pipeline) b->pipeline = xstrdup(d->pipeline);
        b->require_alias = d->require_alias;
        int mrc = bulk_parse_meta(meta, line, b, err);
        json_doc_free(ad);
        if (mrc) {
            rc = -1;
            break;
        }
        if (b->action == BA_DELETE) {
            if (b->ndt) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Delete request in line [%d] does not accept dynamic_templates", line);
                rc = -1;
            }
            continue;
        }

        const char *nl2 = memchr(body + pos, '\n', len - pos);
        if (!nl2) {
            if (pos != len) rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "The bulk request must be terminated by a newline [\\n]");
            /* An action without its source line at the very end is dropped, as Elasticsearch does. */
            bulk_item_free(b);
            n--;
            break;
        }
        line++;
        const char *ss = body + pos;
        size_t sl = (size_t)(nl2 - ss);
        pos = (size_t)(nl2 - body) + 1;
        if (sl && ss[sl - 1] == '\r') sl--;
        if (b->action != BA_UPDATE) {
            b->src = ss;
            b->srclen = sl;
            continue;
        }
        if (b->w.version != MATCH_ANY || b->w.vt != STORE_VERSION_INTERNAL) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT,
                            "Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead");
            break;
        }
        b->upd = json_parse(ss, sl, NULL, &je);
        if (!b->upd) {
            es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", je.line, je.col, je.msg);
            es_err *cause = xcalloc(1, sizeof *cause);
            es_err_set(cause, ES_JSON_PARSE, "%s\n at [" JSON_SOURCE_NOTE "; line: %u, column: %u]", je.msg, je.line,
                       je.col);
            es_err_cause(err, cause);
            rc = -1;
            break;
        }
        located loc = { ss, sl, b->upd };
        const json_val *ub = json_doc_root(b->upd);
        if (check_update_body(&loc, ub, err)) {
            rc = -1;
            break;
        }
        const json_val *bs = json_obj_get(ub, "if_seq_no");
        if (bs) b->w.if_seq_no = json_int(bs);
        const json_val *bt = json_obj_get(ub, "if_primary_term");
        if (bt) b->w.if_primary_term = json_int(bt);
        const json_val *bsrc = json_obj_get(ub, "_source");
        if (bsrc && !b->fsrc.given) {
            if (src_filter_from_json(bsrc, &b->fsrc, err)) {
                rc = -1;
                break;
            }
        }
        if (!b->fsrc.given && d->src.given) src_filter_copy(&b->fsrc, &d->src);
    }
    *out = items;
    *nout = n;
    return rc;
}

static const char *bulk_op_name(const bulk_item *b)
{
    switch (b->action) {
    case BA_INDEX: return b->as_create ? "create" : "index";
    case BA_CREATE: return "create";
    case BA_UPDATE: return "update";
    case BA_DELETE: return "delete";
    }
    return "index";
}

static void handle_bulk(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    int64_t start = mono_nanos();
    es_err err = { 0 };
    bulk_defaults d = { .index = http_path_param(req, "index"), .routing = http_param(req, "routing"),
                        .pipeline = http_param(req, "pipeline") };
    int refresh = rest_refresh_param(req, &err);
    d.require_alias = http_param_bool(req, "require_alias", false, &err);
    check_write_params(req, &err);
    src_filter_from_params(req, &d.src);
    bulk_item *items = NULL;
    size_t n = 0;
    write_op *ops = NULL;
    write_result *res = NULL;
    if (es_err_isset(&err)) goto fail;

    size_t len;
    const char *body = http_body(req, &len);
    if (!body) {
        es_err_set(&err, ES_PARSE, "request body is required");
        goto fail;
    }
    if (bulk_parse(body, len, &d, &items, &n, &err)) goto fail;

    /* BulkRequest.validate: every item's own validation, all reported at once. */
    verrs ve = { 0 };
    if (!n) verr(&ve, "no requests added");
    for (size_t i = 0; i < n; i++) {
        bulk_item *b = &items[i];
        b->w.kind = b->action == BA_UPDATE ? WOP_UPDATE
                    : b->action == BA_DELETE ? WOP_DELETE
                    : (b->action == BA_CREATE || b->as_create) ? WOP_CREATE
                                                               : WOP_INDEX;
        b->w.index = b->index;
        b->w.id = b->id;
        b->w.pipeline = b->pipeline;
        b->w.update = b->upd ? json_doc_root(b->upd) : NULL;
        if (b->w.kind == WOP_INDEX || b->w.kind == WOP_CREATE) {
            if (b->id && !*b->id) b->w.id = "x"; /* an empty _id fails alone, later */
        }
        validate_wreq(&ve, &b->w);
        b->w.id = b->id;
    }
    if (verr_finish(&ve, &err)) goto fail;

    ops = xcalloc(n, sizeof *ops);
    res = xcalloc(n, sizeof *res);
    json_doc *want = json_parse("true", 4, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        bulk_item *b = &items[i];
        write_op *op = &ops[i];
        wreq_to_op(&b->w, op);
        op->routing = b->routing;
        op->source = b->src;
        op->source_len = b->srclen;
        op->require_alias = b->require_alias;
        op->dynamic_templates = (const char *const *)b->dt;
        op->n_dynamic_templates = b->ndt / 2;
        if (b->action == BA_UPDATE && b->fsrc.given && b->fsrc.fetch != 0) op->source_filter = json_doc_root(want);
    }
    write_auth auth = { req, node };
    write_opts wo = { .auto_create = true, .default_index = d.index, .refresh = refresh,
                      .authorize = authorize_write, .authorize_ctx = &auth };
    if (indices_write(node->ix, ops, n, &wo, res, &err)) {
        json_doc_free(want);
        goto fail;
    }
    json_doc_free(want);

    bool errors = false;
    for (size_t i = 0; i < n; i++)
        if (es_err_isset(&res[i].err)) errors = true;
    totals_cache tc = { 0 };
    json_w *w = http_resp_json(resp, 200);
    jw_obj_begin(w);
    jw_kbool(w, "errors", errors);
    jw_kint(w, "took", (mono_nanos() - start) / 1000000);
    jw_key(w, "items");
    jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        write_result *r = &res[i];
        jw_obj_begin(w);
        jw_key(w, bulk_op_name(&items[i]));
        jw_obj_begin(w);
        if (es_err_isset(&r->err)) {
            jw_kstr(w, "_index", r->index);
            jw_kstr(w, "_id", r->id);
            jw_kint(w, "status", r->status);
            jw_key(w, "error");
            http_write_error_object(w, &r->err);
        } else {
            write_doc_response_members(w, r, cached_total(node->ix, &tc, r->index), &items[i].fsrc);
            jw_kint(w, "status", r->status);
        }
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
    totals_free(&tc);
    goto done;
fail:
    rest_fail(resp, &err);
done:
    if (res)
        for (size_t i = 0; i < n; i++) write_result_free(&res[i]);
    free(res);
    free(ops);
    for (size_t i = 0; i < n; i++) bulk_item_free(&items[i]);
    free(items);
    src_filter_free(&d.src);
}

/* ======================================================================== */

static const http_route doc_routes[] = {
    { HTTP_PUT | HTTP_POST, "/{index}/_doc/{id}", handle_index, INDEX_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_POST, "/{index}/_doc", handle_index_auto, INDEX_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_PUT | HTTP_POST, "/{index}/_create/{id}", handle_create, INDEX_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_GET | HTTP_HEAD, "/{index}/_doc/{id}", handle_get, GET_PARAMS, 0 },
    { HTTP_DELETE, "/{index}/_doc/{id}", handle_delete, DELETE_PARAMS, 0 },
    { HTTP_GET | HTTP_HEAD, "/{index}/_source/{id}", handle_get_source, SOURCE_PARAMS, 0 },
    { HTTP_POST, "/{index}/_update/{id}", handle_update, UPDATE_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_GET | HTTP_POST, "/_mget", handle_mget, MGET_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_GET | HTTP_POST, "/{index}/_mget", handle_mget, MGET_PARAMS, HTTP_ROUTE_BODY },
    { HTTP_POST | HTTP_PUT, "/_bulk", handle_bulk, BULK_PARAMS, HTTP_ROUTE_NDJSON },
    { HTTP_POST | HTTP_PUT, "/{index}/_bulk", handle_bulk, BULK_PARAMS, HTTP_ROUTE_NDJSON },
};

void rest_register_docs(http_server *srv, rest_node *node)
{
    http_add_routes(srv, doc_routes, ARRAY_LEN(doc_routes), node);
}
