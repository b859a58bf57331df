/*
 * indices_write.c — the write pipeline: a batch of write operations (a _doc
 * request, a _bulk body, _update, reindex's local sink) taken to durable
 * shard transactions.
 *
 *   1. Per operation, in batch order: resolve the write target (auto-create),
 *      the id (auto ids), routing (an alias's index_routing wins; required
 *      routing checked) and shard; for index/create, parse the source and
 *      read it against the index's mapping — outside any store transaction.
 *      A dynamic mapping update is persisted before the document is written,
 *      and the next operations on that index parse against the new mapping.
 *   2. Operations are grouped by (index, shard), each group in batch order;
 *      one write transaction per group, committed (fsync) once. A large batch
 *      runs as consecutive windows (1024 items or 16 MiB of sources), so only
 *      one window's parsed documents are alive at a time.
 *      Updates read the current document inside that transaction, merge,
 *      and parse the result against the mapping; if the result needs a
 *      mapping update, what the transaction wrote so far is committed, the
 *      mapping persisted, and the update runs again in a fresh transaction.
 *
 * Items fail alone (their write_result.err); a failed commit fails every item
 * the transaction carried. Each written item keeps its parsed_doc until the
 * batch ends, so postings can be written beside the document in the same
 * transaction (see write_item).
 */
#include "indices/indices_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Elasticsearch's "no value" markers, as the REST layer uses them. */
#define SEQ_NO_UNASSIGNED (-2)

/* How often one item retries a dynamic mapping update that lost a race. */
#define MAPPING_ATTEMPTS 5

/* ======================================================================== */
/* Auto-generated ids                                                       */

static pthread_once_t auto_id_once = PTHREAD_ONCE_INIT;
static _Atomic uint32_t auto_id_seq;
static _Atomic int64_t auto_id_last_ts;
static uint8_t auto_id_node[6];

static void auto_id_init(void)
{
    uint32_t seq;
    random_bytes(&seq, sizeof seq);
    atomic_store(&auto_id_seq, seq);
    /* Elasticsearch munges the MAC address with random bytes: as good as random. */
    random_bytes(auto_id_node, sizeof auto_id_node);
}

void indices_auto_id(char out[21])
{
    pthread_once(&auto_id_once, auto_id_init);
    uint32_t seq = (atomic_fetch_add(&auto_id_seq, 1) + 1) & 0xffffff;
    int64_t now = now_millis();
    int64_t prev = atomic_load(&auto_id_last_ts), ts;
    do {
        ts = prev > now ? prev : now;
        if (seq == 0) ts++; /* the sequence wrapped: move time on so ids stay unique */
    } while (!atomic_compare_exchange_weak(&auto_id_last_ts, &prev, ts));

    /* Elasticsearch's byte order: the fast-changing sequence bytes first (sorting),
     * then slow timestamp bytes and the node part (prefix compression), then the rest. */
    uint8_t b[15];
    b[0] = (uint8_t)seq;
    b[1] = (uint8_t)(seq >> 16);
    b[2] = (uint8_t)(ts >> 16);
    b[3] = (uint8_t)(ts >> 24);
    b[4] = (uint8_t)(ts >> 32);
    b[5] = (uint8_t)(ts >> 40);
    memcpy(b + 6, auto_id_node, 6);
    b[12] = (uint8_t)(ts >> 8);
    b[13] = (uint8_t)(seq >> 8);
    b[14] = (uint8_t)ts;
    base64url_encode(b, sizeof b, out);
    out[20] = 0;
}

/* ======================================================================== */
/* Results                                                                  */

void write_result_free(write_result *r)
{
    if (!r) return;
    es_err_free(&r->err);
    free(r->index);
    free(r->id);
    free(r->get_json);
    memset(r, 0, sizeof *r);
}

/* ======================================================================== */
/* Batch state                                                              */

typedef struct witem {
    const write_op *op;
    index_view *view;          /* the target index (reference) */
    const char *routing;       /* effective routing (op's, or the alias's index_routing) */
    const char *id;
    size_t idlen;
    char auto_id[21];
    uint32_t shard;
    int group;
    bool failed;
    bool done;                 /* a result is set (written, noop or failed) */
    /* index/create: the source read against the mapping */
    json_doc *doc;
    parsed_doc pd;
    bool has_pd;
    index_doc *idoc;           /* pd analysed for the index (postings, norms, doc values) */
    /* update: the source written (heap; borrowed by the store until commit) */
    char *upd_src;
    size_t upd_len;
} witem;

/* The latest view of each index the batch touches. */
typedef struct cur_view {
    store_index *si;
    index_view *v;
} cur_view;

/* Write targets already resolved in this batch. */
typedef struct target {
    char *name;
    bool require_alias, auto_create;
    store_index *si;
    char *alias_routing;
} target;

typedef struct group {
    store_index *si;
    uint32_t shard;
    size_t *items;
    size_t n, cap;
} group;

typedef struct batch {
    indices *ix;
    const write_opts *opts;
    witem *it;
    write_result *res;
    size_t n;
    cur_view *views;
    size_t n_views;
    target *targets;
    size_t n_targets;
    group *groups;
    size_t n_groups;
    index_writer *iw;          /* the open transaction's index writer */
} batch;

static index_view *current_view(batch *b, store_index *si)
{
    for (size_t i = 0; i < b->n_views; i++)
        if (b->views[i].si == si) return b->views[i].v;
    return NULL;
}

/* Records v (a new reference, consumed) as the latest view of its index. */
static void set_current_view(batch *b, index_view *v)
{
    for (size_t i = 0; i < b->n_views; i++) {
        if (b->views[i].si == v->si) {
            index_view_release(b->views[i].v);
            b->views[i].v = v;
            return;
        }
    }
    b->views = xrealloc(b->views, (b->n_views + 1) * sizeof *b->views);
    b->views[b->n_views++] = (cur_view){ v->si, v };
}

static void fail(batch *b, size_t i, es_err *e)
{
    witem *it = &b->it[i];
    write_result *r = &b->res[i];
    es_err_free(&r->err);
    r->err = *e;
    memset(e, 0, sizeof *e);
    r->status = r->err.status ? r->err.status : es_error_status(r->err.type);
    r->r.result = STORE_RESULT_NONE;
    it->failed = true;
    it->done = true;
}

static void fail_msg(batch *b, size_t i, es_error_type type, const char *msg)
{
    es_err e = { 0 };
    es_err_set(&e, type, "%s", msg);
    fail(b, i, &e);
}

/* ======================================================================== */
/* Phase 1: targets, ids, routing, parsing                                  */

static int resolve_target(batch *b, const char *name, bool require_alias, bool auto_create, index_view **out,
                          const char **alias_routing, es_err *err)
{
    for (size_t i = 0; i < b->n_targets; i++) {
        target *t = &b->targets[i];
        if (t->require_alias == require_alias && t->auto_create == auto_create && !strcmp(t->name, name)) {
            index_view *v = current_view(b, t->si);
            if (v && !store_index_is_deleted(v->si)) {
                *out = index_view_ref(v);
                *alias_routing = t->alias_routing;
                return 0;
            }
        }
    }
    const char *ar = NULL;
    if (indices_write_target(b->ix, name, auto_create, require_alias, out, &ar, err)) return -1;
    /* Keep the newest view we know of this index (a dynamic update may be newer). */
    index_view *known = current_view(b, (*out)->si);
    if (!known || known->meta->version < (*out)->meta->version) set_current_view(b, index_view_ref(*out));
    b->targets = xrealloc(b->targets, (b->n_targets + 1) * sizeof *b->targets);
    target *t = &b->targets[b->n_targets++];
    t->name = xstrdup(name);
    t->require_alias = require_alias;
    t->auto_create = auto_create;
    t->si = (*out)->si;
    t->alias_routing = ar ? xstrdup(ar) : NULL;
    *alias_routing = t->alias_routing;
    /* Hand out the newest view. */
    index_view *cur = current_view(b, (*out)->si);
    if (cur != *out) {
        index_view_release(*out);
        *out = index_view_ref(cur);
    }
    return 0;
}

/* document_parsing_exception for a source that is not valid JSON, with the
 * parser's error as its cause (as the http layer words body parse errors). */
static void source_syntax_error(es_err *e, const json_err *je)
{
    es_err_set(e, ES_DOCUMENT_PARSING, "[%u:%u] failed to parse: %s", je->line, je->col, je->msg);
    es_err *cause = xcalloc(1, sizeof *cause);
    es_err_set(cause, ES_X_CONTENT_PARSE, "[%u:%u] %s", je->line, je->col, je->msg);
    es_err *inner = xcalloc(1, sizeof *inner);
    es_err_set(inner, ES_JSON_PARSE,
               "%s\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: %u, column: %u]",
               je->msg, je->line, je->col);
    es_err_cause(cause, inner);
    es_err_cause(e, cause);
}

static bool all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return false;
    return true;
}

/*
 * Reads src against the latest mapping of v's index, persisting a dynamic
 * mapping update first. On success *pd is filled (and *view_out gets the view
 * whose mapping the values point into, a new reference). 0 / -1 (*err set).
 */
static int parse_against_mapping(batch *b, witem *it, const char *src, size_t srclen, json_doc *doc, parsed_doc *pd,
                                  es_err *err)
{
    const write_op *op = it->op;
    const char *id = it->id;
    index_view *v = it->view;
    for (int attempt = 0;; attempt++) {
        index_view *cur = current_view(b, v->si);
        if (!cur) cur = v;
        doc_parse_opts po = {
            .id = id,
            .src = src,
            .src_len = srclen,
            .doc = doc,
            .limits = &cur->limits,
            .template_names = op->dynamic_templates,
            .n_template_names = op->n_dynamic_templates,
        };
        memset(pd, 0, sizeof *pd);
        if (mapping_parse_document(cur->mapping, json_doc_root(doc), &po, pd, err)) {
            parsed_doc_free(pd);
            return -1;
        }
        if (!pd->dynamic_update) {
            /* The values point into this view's mapping: the item holds it. */
            if (cur != it->view) {
                index_view_release(it->view);
                it->view = index_view_ref(cur);
            }
            return 0;
        }
        index_view *fresh = NULL;
        es_err merr = { 0 };
        if (indices_apply_dynamic_mapping(b->ix, cur, pd->dynamic_update, &fresh, &merr) == 0) {
            set_current_view(b, fresh);
            /* Parse again against the persisted mapping, so the values point into it. */
            parsed_doc_free(pd);
            continue;
        }
        parsed_doc_free(pd);
        if (attempt + 1 >= MAPPING_ATTEMPTS) {
            *err = merr;
            return -1;
        }
        /* Lost a race with another writer: read against the newest mapping. */
        es_err_free(&merr);
        set_current_view(b, indices_view(b->ix, v->si));
    }
}

/* Analyses the item's parsed document for the index writer (outside any transaction). */
static int analyse_item(witem *it, es_err *err)
{
    index_doc_free(it->idoc);
    it->idoc = NULL;
    const index_view *v = it->view;
    const struct analysis *an = index_analysis_acquire(v->settings, v->uuid, v->meta->settings_version, err);
    if (!an) return -1;
    it->idoc = index_doc_build(an, &it->pd, err);
    index_analysis_release(an);
    return it->idoc ? 0 : -1;
}

static void routing_missing(es_err *e, const char *index, const char *id)
{
    es_err_set(e, ES_ILLEGAL_ARGUMENT, "routing is required for [%s]/[%s]", index, id ? id : "null");
    e->type_name = "routing_missing_exception";
    e->status = 400;
    es_err_extra(e, "index_uuid", "_na_", false);
    es_err_extra(e, "index", index, false);
}

static void prepare_item(batch *b, size_t i)
{
    witem *it = &b->it[i];
    const write_op *op = it->op;
    write_result *r = &b->res[i];
    es_err e = { 0 };

    const char *name = op->index ? op->index : b->opts ? b->opts->default_index : NULL;
    r->index = xstrdup(name ? name : "");
    if (op->id) r->id = xstrdup(op->id);
    if (!name || !*name) {
        fail_msg(b, i, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: index is missing;");
        return;
    }
    if (op->pipeline && strcmp(op->pipeline, "_none") != 0) {
        es_err_set(&e, ES_ILLEGAL_ARGUMENT, "pipeline with id [%s] does not exist", op->pipeline);
        fail(b, i, &e);
        return;
    }
    if (op->kind == WOP_UPDATE && op->update && json_obj_get(op->update, "script")) {
        fail_msg(b, i, ES_ILLEGAL_ARGUMENT,
                 "scripted updates are not supported by this node yet: use [doc], [upsert] or [doc_as_upsert]");
        return;
    }
    if ((op->kind == WOP_UPDATE || op->kind == WOP_DELETE) && (!op->id || !*op->id)) {
        fail_msg(b, i, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: id is missing;");
        return;
    }
    if ((op->kind == WOP_INDEX || op->kind == WOP_CREATE) && op->id && !*op->id) {
        fail_msg(b, i, ES_ILLEGAL_ARGUMENT, "if _id is specified it must not be empty");
        return;
    }

    /* Deletes do not create indices, unless externally versioned (as Elasticsearch). */
    bool auto_create = !b->opts || b->opts->auto_create;
    if (op->kind == WOP_DELETE && op->version_type == STORE_VERSION_INTERNAL) auto_create = false;
    if (b->opts && b->opts->authorize && b->opts->authorize(b->opts->authorize_ctx, op, name, auto_create, &e)) {
        fail(b, i, &e);
        return;
    }
    const char *alias_routing = NULL;
    if (resolve_target(b, name, op->require_alias, auto_create, &it->view, &alias_routing, &e)) {
        fail(b, i, &e);
        return;
    }
    free(r->index);
    r->index = xstrdup(it->view->name);

    if (op->id) {
        it->id = op->id;
    } else {
        indices_auto_id(it->auto_id);
        it->id = it->auto_id;
        r->id = xstrdup(it->auto_id);
    }
    it->idlen = strlen(it->id);

    it->routing = op->routing;
    if (alias_routing) {
        if (op->routing && strcmp(op->routing, alias_routing) != 0) {
            es_err_set(&e, ES_ILLEGAL_ARGUMENT,
                       "Alias [%s] has index routing associated with it [%s], and was provided with routing value [%s], rejecting operation",
                       name, alias_routing, op->routing);
            fail(b, i, &e);
            return;
        }
        if (strchr(alias_routing, ',')) {
            es_err_set(&e, ES_ILLEGAL_ARGUMENT,
                       "index/alias [%s] provided with routing value [%s] that resolved to several routing values, rejecting operation",
                       name, alias_routing);
            fail(b, i, &e);
            return;
        }
        it->routing = alias_routing;
    }
    if (!it->routing && mapping_routing_required(current_view(b, it->view->si)->mapping)) {
        routing_missing(&e, it->view->name, it->id);
        fail(b, i, &e);
        return;
    }
    const char *key = it->routing ? it->routing : it->id;
    it->shard = store_shard_for(it->view->si, key, strlen(key));

    if (op->kind != WOP_INDEX && op->kind != WOP_CREATE) return;

    /* The source, read against the mapping (no store transaction is open). */
    if (!op->source || all_space(op->source, op->source_len)) {
        fail_msg(b, i, ES_DOCUMENT_PARSING, "failed to parse, document is empty");
        return;
    }
    json_err je;
    it->doc = json_parse(op->source, op->source_len, NULL, &je);
    if (!it->doc) {
        source_syntax_error(&e, &je);
        fail(b, i, &e);
        return;
    }
    if (parse_against_mapping(b, it, op->source, op->source_len, it->doc, &it->pd, &e)) {
        fail(b, i, &e);
        return;
    }
    it->has_pd = true;
    if (analyse_item(it, &e)) fail(b, i, &e);
}

/* ======================================================================== */
/* Updates: merge, noop detection, upsert                                   */

static json_type json_type_of_safe(const json_val *v)
{
    return v ? json_type_of(v) : JSON_NULL;
}

static bool json_equal(const json_val *a, const json_val *b)
{
    json_type ta = json_type_of(a), tb = json_type_of(b);
    if (ta != tb) return false;
    switch (ta) {
    case JSON_NULL: return true;
    case JSON_BOOL: return json_bool(a) == json_bool(b);
    case JSON_INT: return json_int(a) == json_int(b);
    case JSON_DOUBLE: return json_num(a) == json_num(b);
    case JSON_BIGINT: {
        size_t la, lb;
        const char *sa = json_num_text(a, &la), *sb = json_num_text(b, &lb);
        return la == lb && memcmp(sa, sb, la) == 0;
    }
    case JSON_STRING: {
        size_t la, lb;
        const char *sa = json_str(a, &la), *sb = json_str(b, &lb);
        return la == lb && memcmp(sa, sb, la) == 0;
    }
    case JSON_ARRAY: {
        if (json_len(a) != json_len(b)) return false;
        for (size_t i = 0; i < json_len(a); i++)
            if (!json_equal(json_arr_get(a, i), json_arr_get(b, i))) return false;
        return true;
    }
    case JSON_OBJECT: {
        if (json_len(a) != json_len(b)) return false;
        json_iter ia = json_iter_begin(a);
        const json_val *va;
        const char *k;
        size_t kl;
        while ((va = json_iter_next(&ia, &k, &kl))) {
            const json_val *vb = json_obj_getn(b, k, kl);
            if (!vb || !json_equal(va, vb)) return false;
        }
        return true;
    }
    }
    return false;
}

/* Whether this member is the last one of its key (duplicates: the last wins). */
static bool last_of_key(const json_val *obj, const char *k, size_t kl, const json_val *v)
{
    return json_obj_getn(obj, k, kl) == v;
}

/*
 * Elasticsearch's partial-document merge: objects merge recursively, any other
 * value replaces; existing keys keep their place, new ones follow in the
 * order given. *changed tells whether anything differs from cur.
 */
static void merge_objects(json_w *w, const json_val *cur, const json_val *upd, bool *changed)
{
    jw_obj_begin(w);
    json_iter it = json_iter_begin(cur);
    const json_val *cv;
    const char *k;
    size_t kl;
    while ((cv = json_iter_next(&it, &k, &kl))) {
        if (!last_of_key(cur, k, kl, cv)) continue;
        const json_val *uv = json_obj_getn(upd, k, kl);
        jw_keyn(w, k, kl);
        if (!uv) {
            jw_val(w, cv);
        } else if (json_type_of(cv) == JSON_OBJECT && json_type_of(uv) == JSON_OBJECT) {
            merge_objects(w, cv, uv, changed);
        } else {
            jw_val(w, uv);
            if (!json_equal(cv, uv)) *changed = true;
        }
    }
    it = json_iter_begin(upd);
    const json_val *uv;
    while ((uv = json_iter_next(&it, &k, &kl))) {
        if (!last_of_key(upd, k, kl, uv) || json_obj_getn(cur, k, kl)) continue;
        jw_keyn(w, k, kl);
        jw_val(w, uv);
        *changed = true;
    }
    jw_obj_end(w);
}

static char *compact_json(const json_val *v, size_t *len)
{
    buf out = { 0 };
    json_w w;
    jw_init(&w, &out, false);
    jw_val(&w, v);
    return buf_detach(&out, len);
}

/* The "get" object of an update answer; the renderer applies includes/excludes. */
static char *update_get_json(const store_write_result *wr, const char *src, size_t len)
{
    buf out = { 0 };
    json_w w;
    jw_init(&w, &out, false);
    jw_obj_begin(&w);
    jw_kint(&w, "_seq_no", wr->seq_no);
    jw_kint(&w, "_primary_term", wr->primary_term);
    jw_kbool(&w, "found", true);
    jw_key(&w, "_source");
    jw_raw(&w, src, len);
    jw_obj_end(&w);
    return buf_detach(&out, NULL);
}

static bool wants_source(const write_op *op)
{
    const json_val *f = op->source_filter;
    if (!f) return false;
    if (json_type_of(f) == JSON_BOOL) return json_bool(f);
    return true;
}

static void conflict_members(es_err *e, const witem *it)
{
    char shard[16];
    snprintf(shard, sizeof shard, "%" PRIu32, it->shard);
    es_err_extra(e, "index_uuid", it->view->uuid, false);
    es_err_extra(e, "shard", shard, false);
    es_err_extra(e, "index", it->view->name, false);
}

enum { UPD_DONE = 0, UPD_NEED_MAPPING = 1, UPD_TXN_FAILED = -1 };

/*
 * Runs an update inside the shard's transaction. UPD_NEED_MAPPING: the new
 * source needs a mapping update first (it->pd holds it; nothing was written).
 */
static int run_update(batch *b, size_t i, store_txn *txn, es_err *txn_err)
{
    witem *it = &b->it[i];
    const write_op *op = it->op;
    write_result *r = &b->res[i];
    const json_val *body = op->update;
    const json_val *doc = json_obj_get(body, "doc");
    const json_val *upsert = json_obj_get(body, "upsert");
    const json_val *dnv = json_obj_get(body, "detect_noop");
    bool detect_noop = !dnv || json_type_of(dnv) != JSON_BOOL || json_bool(dnv);
    const json_val *dau = json_obj_get(body, "doc_as_upsert");
    bool doc_as_upsert = dau && json_type_of(dau) == JSON_BOOL && json_bool(dau);
    es_err e = { 0 };

    free(it->upd_src);
    it->upd_src = NULL;
    if (it->has_pd) {
        parsed_doc_free(&it->pd);
        it->has_pd = false;
    }

    store_doc cur;
    int found = store_doc_get(txn, it->id, it->idlen, &cur, txn_err);
    if (found < 0) return UPD_TXN_FAILED;

    bool create = false;
    if (found && json_type_of_safe(doc) != JSON_OBJECT) {
        fail_msg(b, i, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: script or doc is missing;");
        return UPD_DONE;
    }
    if (found) {
        if (op->has_if_seq_no && (cur.seq_no != op->if_seq_no || cur.primary_term != op->if_primary_term)) {
            es_err_set(&e, ES_VERSION_CONFLICT,
                       "[%s]: version conflict, required seqNo [%" PRId64 "], primary term [%" PRId64
                       "]. current document has seqNo [%" PRId64 "] and primary term [%" PRId64 "]",
                       it->id, op->if_seq_no, op->if_primary_term, cur.seq_no, cur.primary_term);
            conflict_members(&e, it);
            fail(b, i, &e);
            return UPD_DONE;
        }
        json_err je;
        json_doc *cd = json_parse(cur.source, cur.srclen, NULL, &je);
        if (!cd || json_type_of(json_doc_root(cd)) != JSON_OBJECT) {
            if (cd) json_doc_free(cd);
            es_err_set(&e, ES_ILLEGAL_ARGUMENT, "[%s]: the current document source is not a JSON object", it->id);
            fail(b, i, &e);
            return UPD_DONE;
        }
        buf out = { 0 };
        json_w w;
        jw_init(&w, &out, false);
        bool changed = false;
        merge_objects(&w, json_doc_root(cd), doc, &changed);
        json_doc_free(cd);
        it->upd_src = buf_detach(&out, &it->upd_len);
        if (detect_noop && !changed) {
            r->r = (store_write_result){ STORE_RESULT_NOOP, cur.version, cur.seq_no, cur.primary_term, 0, 0 };
            r->status = 200;
            r->shard = it->shard;
            if (wants_source(op)) r->get_json = update_get_json(&r->r, it->upd_src, it->upd_len);
            it->done = true;
            return UPD_DONE;
        }
    } else {
        const json_val *src = upsert ? upsert : doc_as_upsert ? doc : NULL;
        if (!src) {
            es_err_set(&e, ES_DOCUMENT_MISSING, "[%s]: document missing", it->id);
            conflict_members(&e, it);
            fail(b, i, &e);
            return UPD_DONE;
        }
        if (json_type_of_safe(src) != JSON_OBJECT) {
            fail_msg(b, i, ES_ILLEGAL_ARGUMENT, "the upsert document must be a JSON object");
            return UPD_DONE;
        }
        it->upd_src = compact_json(src, &it->upd_len);
        create = true;
    }

    /* The new source, read against the mapping like any indexed document. */
    json_err je;
    json_doc *nd = json_parse(it->upd_src, it->upd_len, NULL, &je);
    if (!nd) {
        source_syntax_error(&e, &je);
        fail(b, i, &e);
        return UPD_DONE;
    }
    index_view *cv = current_view(b, it->view->si);
    doc_parse_opts po = { .id = it->id, .src = it->upd_src, .src_len = it->upd_len, .doc = nd, .limits = &cv->limits };
    memset(&it->pd, 0, sizeof it->pd);
    if (mapping_parse_document(cv->mapping, json_doc_root(nd), &po, &it->pd, &e)) {
        parsed_doc_free(&it->pd);
        json_doc_free(nd);
        fail(b, i, &e);
        return UPD_DONE;
    }
    it->has_pd = true;
    if (it->doc) json_doc_free(it->doc);
    it->doc = nd;
    if (cv != it->view) {
        index_view_release(it->view);
        it->view = index_view_ref(cv);
    }
    if (it->pd.dynamic_update) return UPD_NEED_MAPPING;
    if (analyse_item(it, &e)) {
        fail(b, i, &e);
        return UPD_DONE;
    }

    store_write_opts wo = {
        .op_type = create ? STORE_OP_CREATE : STORE_OP_INDEX,
        .routing = it->routing,
        .routing_len = it->routing ? strlen(it->routing) : 0,
        .borrow = true,
    };
    if (!create) {
        wo.if_seq_no_set = true;
        wo.if_seq_no = cur.seq_no;
        wo.if_primary_term = cur.primary_term;
    }
    store_write_result wr;
    int rc = store_doc_index(txn, it->id, it->idlen, it->upd_src, it->upd_len, &wo, &wr, &e);
    if (rc < 0) {
        *txn_err = e;
        return UPD_TXN_FAILED;
    }
    if (rc == STORE_REJECTED) {
        fail(b, i, &e);
        return UPD_DONE;
    }
    r->r = wr;
    r->status = wr.result == STORE_RESULT_CREATED ? 201 : 200;
    r->shard = it->shard;
    index_writer_add(b->iw, it->idoc, wr.docnum);
    index_writer_delete(b->iw, wr.replaced_docnum);
    if (wants_source(op)) r->get_json = update_get_json(&wr, it->upd_src, it->upd_len);
    it->done = true;
    return UPD_DONE;
}

/* ======================================================================== */
/* Phase 2: one transaction per (index, shard)                              */

static void group_items(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        witem *it = &b->it[i];
        if (it->failed) continue;
        group *g = NULL;
        for (size_t k = 0; k < b->n_groups; k++)
            if (b->groups[k].si == it->view->si && b->groups[k].shard == it->shard) g = &b->groups[k];
        if (!g) {
            b->groups = xrealloc(b->groups, (b->n_groups + 1) * sizeof *b->groups);
            g = &b->groups[b->n_groups++];
            memset(g, 0, sizeof *g);
            g->si = it->view->si;
            g->shard = it->shard;
        }
        if (g->n == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 8;
            g->items = xrealloc(g->items, g->cap * sizeof *g->items);
        }
        g->items[g->n++] = i;
    }
}

/*
 * Writes one index/create/delete item. The item's parsed_doc (it->pd) is what
 * the search layer turns into postings written in this same transaction.
 * Returns 0, or -1 when the transaction failed (*txn_err set).
 */
static int write_item(batch *b, size_t i, store_txn *txn, es_err *txn_err)
{
    witem *it = &b->it[i];
    const write_op *op = it->op;
    write_result *r = &b->res[i];
    store_write_opts wo = {
        .op_type = op->kind == WOP_CREATE ? STORE_OP_CREATE : STORE_OP_INDEX,
        .version_type = op->version_type,
        .version = op->version,
        .if_seq_no_set = op->has_if_seq_no,
        .if_seq_no = op->if_seq_no,
        .if_primary_term = op->if_primary_term,
        .routing = it->routing,
        .routing_len = it->routing ? strlen(it->routing) : 0,
        .borrow = true,
    };
    store_write_result wr;
    es_err e = { 0 };
    int rc = op->kind == WOP_DELETE
                 ? store_doc_delete(txn, it->id, it->idlen, &wo, &wr, &e)
                 : store_doc_index(txn, it->id, it->idlen, op->source, op->source_len, &wo, &wr, &e);
    if (rc < 0) {
        *txn_err = e;
        return -1;
    }
    if (rc == STORE_REJECTED) {
        fail(b, i, &e);
        return 0;
    }
    r->r = wr;
    r->shard = it->shard;
    if (op->kind != WOP_DELETE) index_writer_add(b->iw, it->idoc, wr.docnum);
    index_writer_delete(b->iw, wr.replaced_docnum);
    switch (wr.result) {
    case STORE_RESULT_CREATED: r->status = 201; break;
    case STORE_RESULT_NOT_FOUND: r->status = 404; break;
    default: r->status = 200; break;
    }
    it->done = true;
    return 0;
}

/* Fails every item of items[from..to) that a lost transaction carried. */
static void fail_segment(batch *b, const group *g, size_t from, size_t to, const es_err *why)
{
    for (size_t k = from; k < to; k++) {
        size_t i = g->items[k];
        write_result *r = &b->res[i];
        if (b->it[i].failed || r->r.result == STORE_RESULT_NOOP) continue;
        es_err e = { 0 };
        es_err_set(&e, why->type, "%s", why->reason ? why->reason : "write failed");
        e.status = why->status;
        e.type_name = why->type_name;
        free(r->get_json);
        r->get_json = NULL;
        fail(b, i, &e);
    }
}

static void run_group(batch *b, group *g)
{
    size_t pos = 0;
    int mapping_attempts = 0;
    while (pos < g->n) {
        store_txn *txn = NULL;
        es_err e = { 0 };
        if (store_write_begin(g->si, g->shard, &txn, &e)) {
            fail_segment(b, g, pos, g->n, &e);
            es_err_free(&e);
            return;
        }
        size_t seg = pos, written = 0;
        bool need_mapping = false, txn_failed = false;
        b->iw = index_writer_begin(indices_store(b->ix), txn);
        while (pos < g->n) {
            size_t i = g->items[pos];
            int rc;
            if (b->it[i].op->kind == WOP_UPDATE) {
                rc = run_update(b, i, txn, &e);
                if (rc == UPD_NEED_MAPPING) {
                    need_mapping = true;
                    break;
                }
            } else {
                rc = write_item(b, i, txn, &e);
            }
            if (rc < 0) {
                txn_failed = true;
                break;
            }
            if (!b->it[i].failed && b->res[i].r.result != STORE_RESULT_NOOP) written++;
            pos++;
        }
        if (!txn_failed && written && index_writer_flush(b->iw, &e)) txn_failed = true;
        if (txn_failed) {
            store_write_abort(txn);
            index_writer_free(b->iw);
            b->iw = NULL;
            fail_segment(b, g, seg, g->n, &e);
            es_err_free(&e);
            return;
        }
        if (!written) {
            store_write_abort(txn);
        } else if (store_write_commit(txn, &e)) {
            fail_segment(b, g, seg, pos, &e);
            es_err_free(&e);
        }
        index_writer_free(b->iw);
        b->iw = NULL;
        if (!need_mapping) continue;

        /* The update at pos needs its dynamic mapping persisted before it is written. */
        size_t i = g->items[pos];
        witem *it = &b->it[i];
        index_view *cur = current_view(b, it->view->si);
        index_view *fresh = NULL;
        es_err merr = { 0 };
        if (indices_apply_dynamic_mapping(b->ix, cur, it->pd.dynamic_update, &fresh, &merr) == 0) {
            set_current_view(b, fresh);
        } else if (++mapping_attempts < MAPPING_ATTEMPTS) {
            es_err_free(&merr);
            set_current_view(b, indices_view(b->ix, it->view->si));
        } else {
            fail(b, i, &merr);
            pos++;
            mapping_attempts = 0;
        }
        parsed_doc_free(&it->pd);
        it->has_pd = false;
    }
}

/* ======================================================================== */

/* Runs ops[0..n) (one window of a batch): phase 1, then one transaction per shard. */
static void run_window(indices *ix, const write_op *ops, size_t n, const write_opts *opts, write_result *res)
{
    batch b = { .ix = ix, .opts = opts, .res = res, .n = n };
    b.it = xcalloc(n ? n : 1, sizeof *b.it);
    for (size_t i = 0; i < n; i++) {
        b.it[i].op = &ops[i];
        res[i].r.seq_no = SEQ_NO_UNASSIGNED;
        res[i].r.version = -1;
    }

    for (size_t i = 0; i < n; i++) prepare_item(&b, i);
    group_items(&b);
    for (size_t g = 0; g < b.n_groups; g++) run_group(&b, &b.groups[g]);

    bool refresh = opts && opts->refresh == 1;
    for (size_t i = 0; i < n; i++) {
        witem *it = &b.it[i];
        if (!it->failed && it->done && res[i].r.result != STORE_RESULT_NOOP) res[i].forced_refresh = refresh;
        if (it->view) index_view_release(it->view);
        if (it->has_pd) parsed_doc_free(&it->pd);
        index_doc_free(it->idoc);
        if (it->doc) json_doc_free(it->doc);
        free(it->upd_src);
    }
    for (size_t g = 0; g < b.n_groups; g++) free(b.groups[g].items);
    free(b.groups);
    for (size_t t = 0; t < b.n_targets; t++) {
        free(b.targets[t].name);
        free(b.targets[t].alias_routing);
    }
    free(b.targets);
    for (size_t v = 0; v < b.n_views; v++) index_view_release(b.views[v].v);
    free(b.views);
    free(b.it);
}

/*
 * A large batch (a big _bulk) runs in windows, one after the other, so that the
 * parsed and analysed documents of only one window are alive at a time; each
 * window commits its own shard transactions, and later windows see what earlier
 * ones wrote. Elasticsearch does not make a bulk atomic either.
 */
#define WINDOW_ITEMS 1024
#define WINDOW_BYTES ((size_t)16 << 20)

int indices_write(indices *ix, const write_op *ops, size_t n, const write_opts *opts, write_result *res,
                  es_err *err)
{
    size_t off = 0;
    while (off < n) {
        size_t len = 0, bytes = 0;
        while (off + len < n && len < WINDOW_ITEMS && (len == 0 || bytes < WINDOW_BYTES)) {
            bytes += ops[off + len].source_len;
            len++;
        }
        run_window(ix, ops + off, len, opts, res + off);
        off += len;
    }
    (void)err;
    return 0;
}
