/*
 * context.c — scroll and point-in-time contexts: a registry of open read
 * snapshots (one shard_searcher per shard, kept across requests), their ids,
 * keep-alive and expiry, the open-scroll limit, and the page logic of
 * scrolls and PIT searches.
 *
 * Lifetime. A context is registered with one reference; each request using it
 * takes another and holds the context's `use` lock (a shard searcher serves one
 * thread at a time; requests on one context run one after the other). Its
 * expiry is now + keep-alive, reset at the end of every request that uses it,
 * as Elasticsearch's lastAccessTime + keepAlive. Expired contexts are freed by
 * the reaper thread (at least once a second, at the exact expiry when
 * sooner) and refused on access, so a forgotten scroll releases its
 * snapshots — which pin LMDB pages and block map growth — within a second
 * of its keep-alive; search.max_open_scroll_context bounds how many exist.
 *
 * Totals. A scroll counts its hits exactly on the first page (Elasticsearch
 * forces track_total_hits on scrolls) and reports that total on every page:
 * the snapshot does not change, so neither does the number.
 *
 * Pages. A scroll sorted on _doc, or unsorted over match_all (every score
 * equal: shard then doc order), resumes each page at its cursor in O(page)
 * (sort.c). Other sorts re-run the query with the last hit as a search_after
 * cursor that includes its shard and docnum, so ties never repeat or skip.
 */
#include "search/context_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ID_BYTES 18 /* kind, version, id (8), token (8) */

typedef struct search_ctx search_ctx;

struct search_ctx {
    struct search_ctx *prev, *next;
    uint64_t id, tok;
    search_ctx_kind kind;
    char idstr[32];
    pthread_mutex_t use;
    int refs;                 /* the registry's + each user's (under reg.mu) */
    bool registered;
    int64_t expires_ms;       /* monotonic */
    int64_t keep_alive_ms;
    index_view **views;
    size_t n_views;
    shard_searcher **shards;
    size_t n_shards;
    /* scroll */
    arena mem;
    char *body;
    json_doc *doc;
    search_request req;
    const query *query;       /* req.query, restricted to the slice */
    bool plain_match_all;
    page_order order;
    bool has_cursor;
    search_hit cursor;
    uint64_t total;
    /* filtered aliases: the filters' documents (queries in mem) */
    json_doc **filter_docs;
    size_t n_filter_docs;
    bool filtered;            /* some shard searches through an alias filter */
    /* PIT: the last count (same snapshot, same query: same number) */
    char *count_key;
    uint64_t count_val;
    bool count_gte;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    search_ctx *head;
    uint64_t next_id;
    size_t scroll_shards;     /* shard contexts held by scrolls (Elasticsearch counts per shard) */
    size_t n_scroll, n_pit;
    bool reaper_on;
    bool stopping;
    pthread_t reaper;
} reg = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static int64_t now_ms_mono(void) { return mono_nanos() / 1000000; }

/* ======================================================================== */
/* Ids                                                                      */

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-' || c == '+') return 62;
    if (c == '_' || c == '/') return 63;
    return -1;
}

static bool id_decode(const char *s, search_ctx_kind *kind, uint64_t *id, uint64_t *tok)
{
    uint8_t out[ID_BYTES + 4];
    size_t n = 0, len = strlen(s);
    while (len && s[len - 1] == '=') len--;
    if (len != 24) return false;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64v((unsigned char)s[i]);
        if (v < 0) return false;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < sizeof out) out[n++] = (uint8_t)(acc >> bits);
        }
    }
    if (n != ID_BYTES || out[1] != 1) return false;
    if (out[0] == 'S') *kind = SEARCH_CTX_SCROLL;
    else if (out[0] == 'P') *kind = SEARCH_CTX_PIT;
    else return false;
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; i++) a = a << 8 | out[2 + i];
    for (int i = 0; i < 8; i++) b = b << 8 | out[10 + i];
    *id = a;
    *tok = b;
    return true;
}

static void id_encode(search_ctx *c)
{
    uint8_t raw[ID_BYTES];
    raw[0] = c->kind == SEARCH_CTX_SCROLL ? 'S' : 'P';
    raw[1] = 1;
    for (int i = 0; i < 8; i++) raw[2 + i] = (uint8_t)(c->id >> (56 - 8 * i));
    for (int i = 0; i < 8; i++) raw[10 + i] = (uint8_t)(c->tok >> (56 - 8 * i));
    base64url_encode(raw, sizeof raw, c->idstr);
}

/* ======================================================================== */
/* Errors                                                                   */

static void missing_err(es_err *err, uint64_t id, search_ctx_kind kind)
{
    /* Elasticsearch: search_phase_execution_exception (404) wrapping
     * search_context_missing_exception, one failed shard -1 without an index */
    es_err_set(err, ES_INTERNAL, "all shards failed");
    err->type_name = "search_phase_execution_exception";
    err->status = 404;
    es_err_extra(err, "phase", "query", false);
    es_err_extra(err, "grouped", "true", true);
    char *f = xasprintf("[{\"shard\":-1,\"index\":null,\"reason\":{\"type\":\"search_context_missing_exception\","
                        "\"reason\":\"No search context found for id [%llu]\"}}]",
                        (unsigned long long)id);
    es_err_extra(err, "failed_shards", f, true);
    free(f);
    es_err *cause = xcalloc(1, sizeof *cause);
    es_err_set(cause, ES_SEARCH_CONTEXT_MISSING, "No search context found for id [%llu]", (unsigned long long)id);
    es_err_cause(err, cause);
    (void)kind;
}

/* A shard-level failure of every shard, as Elasticsearch reports it. */
static void phase_failure(es_err *err, es_err *cause_src, shard_searcher **shards, size_t n)
{
    es_err *cause = xcalloc(1, sizeof *cause);
    *cause = *cause_src;
    memset(cause_src, 0, sizeof *cause_src);
    int status = cause->status ? cause->status : es_error_status(cause->type);
    es_err_set(err, ES_INTERNAL, "all shards failed");
    err->type_name = "search_phase_execution_exception";
    err->status = status;
    es_err_extra(err, "phase", "query", false);
    es_err_extra(err, "grouped", "true", true);
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_arr_begin(&w);
    jw_obj_begin(&w);
    jw_kint(&w, "shard", n ? (int64_t)shard_searcher_shard(shards[0]) : -1);
    jw_key(&w, "index");
    if (n) jw_str(&w, shard_searcher_view(shards[0])->name);
    else jw_null(&w);
    jw_key(&w, "reason");
    jw_obj_begin(&w);
    jw_kstr(&w, "type", es_err_type_name(cause));
    jw_kstr(&w, "reason", cause->reason ? cause->reason : "");
    jw_obj_end(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    es_err_extra(err, "failed_shards", b.p, true);
    buf_free(&b);
    es_err_cause(err, cause);
}

/* TimeValue.toString: the largest unit, one decimal, ".0" dropped ("2m", "1.5h", "1d"). */
static void time_value_str(int64_t ms, char *out, size_t n)
{
    static const struct {
        const char *u;
        int64_t ms;
    } units[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 } };
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (ms >= units[i].ms) {
            double v = (double)ms / (double)units[i].ms;
            double r = floor(v * 10 + 0.5) / 10;
            if (r == floor(r)) snprintf(out, n, "%lld%s", (long long)r, units[i].u);
            else snprintf(out, n, "%.1f%s", r, units[i].u);
            return;
        }
    }
    snprintf(out, n, "%lldms", (long long)ms);
}

int search_ctx_check_keep_alive(int64_t keep_alive_ms, const search_ctx_limits *lim, es_err *err)
{
    int64_t max = lim && lim->max_keep_alive_ms > 0 ? lim->max_keep_alive_ms : 86400000;
    if (keep_alive_ms <= max) return 0;
    char a[32], b[32];
    time_value_str(keep_alive_ms, a, sizeof a);
    time_value_str(max, b, sizeof b);
    es_err cause = { 0 };
    es_err_set(&cause, ES_ILLEGAL_ARGUMENT,
               "Keep alive for request (%s) is too large. It must be less than (%s). This limit can be set by changing "
               "the [search.max_keep_alive] cluster level setting.",
               a, b);
    phase_failure(err, &cause, NULL, 0);
    return -1;
}

/* ======================================================================== */
/* Registry                                                                 */

static void ctx_destroy(search_ctx *c)
{
    search_shards_close(c->shards, c->n_shards);
    if (c->views) indices_views_free(c->views, c->n_views);
    free(c->cursor.sort);
    free(c->count_key);
    for (size_t i = 0; i < c->n_filter_docs; i++) json_doc_free(c->filter_docs[i]);
    free(c->filter_docs);
    json_doc_free(c->doc);
    free(c->body);
    arena_free(&c->mem);
    pthread_mutex_destroy(&c->use);
    free(c);
}

/* Under reg.mu. */
static void unlink_ctx(search_ctx *c)
{
    if (!c->registered) return;
    if (c->prev) c->prev->next = c->next;
    else reg.head = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->registered = false;
    if (c->kind == SEARCH_CTX_SCROLL) {
        reg.scroll_shards -= c->n_shards;
        reg.n_scroll--;
    } else {
        reg.n_pit--;
    }
}

/* Drops one reference (not under reg.mu). */
static void ctx_unref(search_ctx *c)
{
    pthread_mutex_lock(&reg.mu);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&reg.mu);
    if (last) ctx_destroy(c);
}

static void *reaper_main(void *arg)
{
    pthread_mutex_lock(&reg.mu);
    while (!reg.stopping) {
        int64_t now = now_ms_mono(), next = now + 1000;
        search_ctx *dead = NULL;
        for (search_ctx *c = reg.head, *nx; c; c = nx) {
            nx = c->next;
            if (c->refs == 1 && c->expires_ms <= now) {
                unlink_ctx(c);
                c->refs--;
                c->next = dead;
                dead = c;
            } else if (c->refs == 1 && c->expires_ms < next) {
                next = c->expires_ms;
            }
        }
        if (dead) {
            pthread_mutex_unlock(&reg.mu);
            while (dead) {
                search_ctx *nx = dead->next;
                ctx_destroy(dead);
                dead = nx;
            }
            pthread_mutex_lock(&reg.mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t wait = next - now;
        if (wait < 1) wait = 1;
        ts.tv_sec += wait / 1000;
        ts.tv_nsec += (wait % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&reg.cv, &reg.mu, &ts);
    }
    pthread_mutex_unlock(&reg.mu);
    return NULL;
}

static void stop_reaper(void)
{
    pthread_mutex_lock(&reg.mu);
    bool on = reg.reaper_on;
    reg.stopping = true;
    pthread_cond_broadcast(&reg.cv);
    pthread_mutex_unlock(&reg.mu);
    if (on) pthread_join(reg.reaper, NULL);
    pthread_mutex_lock(&reg.mu);
    reg.reaper_on = false;
    pthread_mutex_unlock(&reg.mu);
}

/* Under reg.mu. */
static void start_reaper(void)
{
    if (reg.reaper_on || reg.stopping) return;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&reg.cv);
    pthread_cond_init(&reg.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&reg.reaper, NULL, reaper_main, NULL) == 0) {
        reg.reaper_on = true;
        atexit(stop_reaper);
    }
}

void search_ctx_shutdown(void)
{
    stop_reaper();
    pthread_mutex_lock(&reg.mu);
    search_ctx *all = NULL;
    while (reg.head) {
        search_ctx *c = reg.head;
        unlink_ctx(c);
        if (--c->refs == 0) {
            c->next = all;
            all = c;
        }
    }
    pthread_mutex_unlock(&reg.mu);
    while (all) {
        search_ctx *nx = all->next;
        ctx_destroy(all);
        all = nx;
    }
}

static search_ctx *ctx_new(search_ctx_kind kind, int64_t keep_alive_ms)
{
    search_ctx *c = xcalloc(1, sizeof *c);
    c->kind = kind;
    c->keep_alive_ms = keep_alive_ms;
    c->mem.chunk_size = 16 * 1024;
    random_bytes(&c->tok, sizeof c->tok);
    pthread_mutex_init(&c->use, NULL);
    return c;
}

/* Registers (the limit checked for scrolls); on success the caller holds a use reference too. */
static int ctx_register(search_ctx *c, const search_ctx_limits *lim, es_err *err)
{
    int64_t max = lim && lim->max_open_scroll > 0 ? lim->max_open_scroll : 500;
    pthread_mutex_lock(&reg.mu);
    if (c->kind == SEARCH_CTX_SCROLL && (int64_t)(reg.scroll_shards + c->n_shards) > max) {
        pthread_mutex_unlock(&reg.mu);
        es_err cause = { 0 };
        es_err_set(&cause, ES_INTERNAL,
                   "Trying to create too many scroll contexts. Must be less than or equal to: [%lld]. This limit can "
                   "be set by changing the [search.max_open_scroll_context] setting.",
                   (long long)max);
        cause.type_name = "too_many_scroll_contexts_exception";
        cause.status = 429;
        phase_failure(err, &cause, c->shards, c->n_shards);
        return -1;
    }
    c->id = ++reg.next_id;
    id_encode(c);
    c->refs = 2;
    c->registered = true;
    c->expires_ms = now_ms_mono() + c->keep_alive_ms;
    c->next = reg.head;
    if (reg.head) reg.head->prev = c;
    reg.head = c;
    if (c->kind == SEARCH_CTX_SCROLL) {
        reg.scroll_shards += c->n_shards;
        reg.n_scroll++;
    } else {
        reg.n_pit++;
    }
    start_reaper();
    pthread_mutex_unlock(&reg.mu);
    pthread_mutex_lock(&c->use);
    return 0;
}

/* Finds a context by id and takes it for one request. */
static int ctx_acquire(const char *idstr, search_ctx_kind kind, search_ctx **out, es_err *err)
{
    *out = NULL;
    search_ctx_kind k;
    uint64_t id, tok;
    if (!idstr || !id_decode(idstr, &k, &id, &tok) || k != kind) {
        if (kind == SEARCH_CTX_SCROLL) es_err_set(err, ES_ILLEGAL_ARGUMENT, "Cannot parse scroll id");
        else es_err_set(err, ES_ILLEGAL_ARGUMENT, "invalid id: [%s]", idstr ? idstr : "");
        return -1;
    }
    int64_t now = now_ms_mono();
    pthread_mutex_lock(&reg.mu);
    search_ctx *c = reg.head;
    while (c && c->id != id) c = c->next;
    if (c && (c->tok != tok || c->kind != kind)) c = NULL;
    if (c && c->refs == 1 && c->expires_ms <= now) {
        /* expired: freed now rather than at the next sweep */
        unlink_ctx(c);
        bool last = --c->refs == 0;
        pthread_mutex_unlock(&reg.mu);
        if (last) ctx_destroy(c);
        missing_err(err, id, kind);
        return -1;
    }
    if (!c) {
        pthread_mutex_unlock(&reg.mu);
        missing_err(err, id, kind);
        return -1;
    }
    c->refs++;
    pthread_mutex_unlock(&reg.mu);
    pthread_mutex_lock(&c->use);
    pthread_mutex_lock(&reg.mu);
    bool gone = !c->registered;
    pthread_mutex_unlock(&reg.mu);
    if (gone) {
        pthread_mutex_unlock(&c->use);
        ctx_unref(c);
        missing_err(err, id, kind);
        return -1;
    }
    *out = c;
    return 0;
}

/* Ends a request's use: the keep-alive restarts (keep_alive_ms < 0: the previous one). */
static void ctx_release(search_ctx *c, int64_t keep_alive_ms)
{
    pthread_mutex_unlock(&c->use);
    pthread_mutex_lock(&reg.mu);
    if (keep_alive_ms >= 0) c->keep_alive_ms = keep_alive_ms;
    c->expires_ms = now_ms_mono() + c->keep_alive_ms;
    bool last = --c->refs == 0;
    pthread_cond_broadcast(&reg.cv);
    pthread_mutex_unlock(&reg.mu);
    if (last) ctx_destroy(c);
}

int search_ctx_clear(const char *const *ids, size_t n, search_ctx_kind kind, size_t *freed, es_err *err)
{
    *freed = 0;
    /* every id must parse before anything is freed */
    for (size_t i = 0; i < n; i++) {
        search_ctx_kind k;
        uint64_t id, tok;
        if (!id_decode(ids[i], &k, &id, &tok) || k != kind) {
            if (kind == SEARCH_CTX_SCROLL) es_err_set(err, ES_ILLEGAL_ARGUMENT, "Cannot parse scroll id");
            else es_err_set(err, ES_ILLEGAL_ARGUMENT, "invalid id: [%s]", ids[i]);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        search_ctx_kind k;
        uint64_t id, tok;
        id_decode(ids[i], &k, &id, &tok);
        pthread_mutex_lock(&reg.mu);
        search_ctx *c = reg.head;
        while (c && !(c->id == id && c->tok == tok && c->kind == kind)) c = c->next;
        bool last = false;
        if (c && c->registered) {
            unlink_ctx(c);
            last = --c->refs == 0;
            (*freed)++;
        }
        pthread_mutex_unlock(&reg.mu);
        if (last) ctx_destroy(c);
    }
    return 0;
}

size_t search_ctx_clear_all(search_ctx_kind kind)
{
    size_t n = 0;
    search_ctx *dead = NULL;
    pthread_mutex_lock(&reg.mu);
    for (search_ctx *c = reg.head, *nx; c; c = nx) {
        nx = c->next;
        if (c->kind != kind) continue;
        unlink_ctx(c);
        n++;
        if (--c->refs == 0) {
            c->next = dead;
            dead = c;
        }
    }
    pthread_mutex_unlock(&reg.mu);
    while (dead) {
        search_ctx *nx = dead->next;
        ctx_destroy(dead);
        dead = nx;
    }
    return n;
}

size_t search_ctx_count(search_ctx_kind kind)
{
    pthread_mutex_lock(&reg.mu);
    size_t n = kind == SEARCH_CTX_SCROLL ? reg.n_scroll : reg.n_pit;
    pthread_mutex_unlock(&reg.mu);
    return n;
}

/* ======================================================================== */
/* Responses                                                                */

typedef struct id_writer {
    const char *key;
    const char *id;
} id_writer;

static void write_id(json_w *w, void *ctx)
{
    id_writer *iw = ctx;
    jw_kstr(w, iw->key, iw->id);
}

typedef struct aggs_member {
    agg_run *run;
} aggs_member;

static void write_aggs(json_w *w, void *ctx) { agg_run_write(w, ((aggs_member *)ctx)->run); }

/* Deep copy of a hit's sort values (strings included) into one heap block. */
static sort_value *copy_sort(const sort_value *src, size_t n)
{
    if (!src || !n) return NULL;
    size_t extra = 0;
    for (size_t i = 0; i < n; i++)
        if (src[i].kind == SV_STR) extra += src[i].slen + 1;
    sort_value *dst = xmalloc(n * sizeof *dst + extra);
    char *p = (char *)(dst + n);
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[i];
        if (src[i].kind == SV_STR) {
            memcpy(p, src[i].s, src[i].slen);
            p[src[i].slen] = 0;
            dst[i].s = p;
            p += src[i].slen + 1;
        }
    }
    return dst;
}

/*
 * Sort values that stand for "no value": the top-k collector writes a missing value as the
 * extreme of its kind (Elasticsearch's Long.MAX_VALUE...), but compares a missing document
 * as missing, never equal to that extreme. As an "after" cursor such a value would put every
 * missing document after it (pages would repeat them); SV_NULL is compared as missing, so
 * equal missing documents fall to the (shard, doc) tie-break.
 */
static void unsubstitute_missing(sort_value *v, const sort_spec *sorts, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        if (sorts[i].kind != SORT_FIELD || sorts[i].missing_json) continue;
        if ((v[i].kind == SV_LONG && (v[i].l == INT64_MAX || v[i].l == INT64_MIN)) ||
            (v[i].kind == SV_DOUBLE && isinf(v[i].d)))
            v[i].kind = SV_NULL;
    }
}

static void set_cursor(search_ctx *c, const search_hit *h, size_t n_sorts)
{
    free(c->cursor.sort);
    c->cursor = *h;
    c->cursor.sort = copy_sort(h->sort, n_sorts);
    unsubstitute_missing(c->cursor.sort, c->req.sorts, n_sorts);
    c->has_cursor = true;
}

/* ======================================================================== */
/* Validation shared by scroll and PIT                                      */

typedef struct vlist {
    buf b;
    int n;
} vlist;

static void vadd(vlist *v, const char *msg)
{
    if (!v->n) buf_puts(&v->b, "Validation Failed: ");
    buf_printf(&v->b, "%d: %s;", ++v->n, msg);
}

static int vdone(vlist *v, es_err *err)
{
    if (!v->n) {
        buf_free(&v->b);
        return 0;
    }
    es_err_set(err, ES_ACTION_REQUEST_VALIDATION, "%s", v->b.p);
    buf_free(&v->b);
    return -1;
}

/* Whether track_total_hits was given as something other than true / an exact count. */
static bool total_disabled_or_capped(const search_request *r, const search_url_params *p)
{
    const json_val *t = r->body ? json_obj_get(r->body, "track_total_hits") : NULL;
    if (t) return !(json_type_of(t) == JSON_BOOL && json_bool(t));
    if (p && p->track_total_hits) return strcmp(p->track_total_hits, "true") != 0 && strcmp(p->track_total_hits, "") != 0;
    return false;
}

/* ======================================================================== */
/* Filtered aliases                                                         */

/*
 * As the _search handler does: a shard reached only through aliases that all have
 * filters searches with the OR of those filters (an alias without one, or the index named
 * itself or by a wildcard, lifts them). Parsed into the context: a scroll or a PIT keeps
 * its shards' filters for its whole life, as Elasticsearch records them when it opens.
 */
static int apply_alias_filters(search_ctx *c, const char *expr, es_err *err)
{
    if (!expr || !*expr || !strcmp(expr, "_all")) return 0;
    for (size_t i = 0; i < c->n_shards; i++) {
        index_view *v = shard_searcher_view(c->shards[i]);
        if (!v->n_aliases) continue;
        bool unfiltered = false;
        buf filters = { 0 };
        size_t nf = 0;
        char *copy = xstrdup(expr);
        for (char *save = NULL, *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
            if (*e == '-') continue;
            if (indices_simple_match(e, v->name)) unfiltered = true;
            for (size_t a = 0; a < v->n_aliases; a++) {
                if (!indices_simple_match(e, v->aliases[a].name)) continue;
                if (!v->aliases[a].filter_json) {
                    unfiltered = true;
                    continue;
                }
                if (nf++) buf_putc(&filters, ',');
                buf_puts(&filters, v->aliases[a].filter_json);
            }
        }
        free(copy);
        if (!unfiltered && nf) {
            buf q = { 0 };
            if (nf == 1) buf_append(&q, filters.p, filters.len);
            else buf_printf(&q, "{\"bool\":{\"should\":[%s]}}", filters.p);
            json_doc *d = json_parse(q.p, q.len, NULL, NULL);
            buf_free(&q);
            if (d) {
                c->filter_docs = xrealloc(c->filter_docs, (c->n_filter_docs + 1) * sizeof *c->filter_docs);
                c->filter_docs[c->n_filter_docs++] = d;
                query_parse_ctx qc = { .mem = &c->mem, .doc = d, .views = c->views, .n_views = c->n_views,
                                       .now_ms = now_millis() };
                const query *fq = query_parse(&qc, json_doc_root(d), err);
                if (!fq) {
                    buf_free(&filters);
                    return -1;
                }
                shard_searcher_set_filter(c->shards[i], fq);
                c->filtered = true;
            }
        }
        buf_free(&filters);
    }
    return 0;
}

/* ======================================================================== */
/* Scroll                                                                   */

static char *pdup(arena *m, const char *s) { return s ? arena_strndup(m, s, strlen(s)) : NULL; }

static void copy_params(arena *m, const search_url_params *src, search_url_params *dst)
{
    *dst = *src;
    const char **f[] = { &dst->q, &dst->df, &dst->default_operator, &dst->analyzer, &dst->lenient,
                         &dst->analyze_wildcard, &dst->from, &dst->size, &dst->sort, &dst->_source,
                         &dst->_source_includes, &dst->_source_excludes, &dst->stored_fields, &dst->docvalue_fields,
                         &dst->track_total_hits, &dst->rest_total_hits_as_int, &dst->track_scores, &dst->version,
                         &dst->seq_no_primary_term, &dst->timeout, &dst->terminate_after, &dst->min_score,
                         &dst->explain, &dst->search_type, &dst->scroll, &dst->allow_partial_search_results };
    for (size_t i = 0; i < ARRAY_LEN(f); i++) *f[i] = pdup(m, *f[i]);
}

static page_order natural_order(const search_request *r)
{
    if (r->n_sorts == 1 && r->sorts[0].kind == SORT_DOC && !r->sorts[0].desc) return ORDER_DOC;
    if (r->n_sorts == 0 && query_is_match_all(r->query) && !r->indices_boost) return ORDER_SHARD_DOC;
    return ORDER_GENERIC;
}

int search_scroll_validate(const search_request *r, const search_url_params *p, bool request_cache, es_err *err)
{
    /* Elasticsearch's scroll validations (SearchSourceBuilder.validate's scroll branch, then SearchRequest's) */
    vlist vl = { { 0 }, 0 };
    if (total_disabled_or_capped(r, p)) vadd(&vl, "disabling [track_total_hits] is not allowed in a scroll context");
    if (r->from > 0) vadd(&vl, "using [from] is not allowed in a scroll context");
    if (r->size == 0) vadd(&vl, "[size] cannot be [0] in a scroll context");
    if (r->rescore_window >= 0) vadd(&vl, "using [rescore] is not allowed in a scroll context");
    if (r->search_after) vadd(&vl, "[search_after] cannot be used in a scroll context");
    if (r->body && json_obj_get(r->body, "collapse")) vadd(&vl, "cannot use `collapse` in a scroll context");
    for (size_t i = 0; i < r->n_sorts; i++)
        if (sort_is_shard_doc(&r->sorts[i])) {
            vadd(&vl, "[_shard_doc] sort field cannot be used without [point in time]");
            break;
        }
    if (request_cache) vadd(&vl, "[request_cache] cannot be used in a scroll context");
    return vdone(&vl, err);
}

int search_scroll_open(const search_scroll_args *a, json_w *w, es_err *err)
{
    search_ctx *c = NULL;
    agg_tree *tree = NULL;
    agg_run *run = NULL;
    search_result res;
    bool have_res = false;
    memset(&res, 0, sizeof res);
    if (search_ctx_check_keep_alive(a->keep_alive_ms, a->lim, err) < 0) {
        search_shards_close(a->shards, a->n_shards);
        return -1;
    }
    c = ctx_new(SEARCH_CTX_SCROLL, a->keep_alive_ms);
    c->shards = a->shards;
    c->n_shards = a->n_shards;
    c->views = xcalloc(a->n_views ? a->n_views : 1, sizeof *c->views);
    for (size_t i = 0; i < a->n_views; i++) c->views[i] = index_view_ref(a->views[i]);
    c->n_views = a->n_views;
    /* the request, parsed again into the context (it outlives this HTTP request) */
    const json_val *root = NULL;
    if (a->body && a->body_len) {
        c->body = xstrndup(a->body, a->body_len);
        json_err jerr;
        c->doc = json_parse(c->body, a->body_len, NULL, &jerr);
        if (!c->doc) {
            es_err_set(err, ES_X_CONTENT_PARSE, "[%u:%u] %s", jerr.line, jerr.col, jerr.msg);
            goto fail;
        }
        root = json_doc_root(c->doc);
    }
    if (apply_alias_filters(c, a->index_expr, err) < 0) goto fail;
    search_url_params p;
    copy_params(&c->mem, a->params, &p);
    if (search_request_parse(&c->req, &c->mem, c->doc, root, &p, c->views, c->n_views, false, err) < 0) goto fail;
    search_request *r = &c->req;
    if (search_scroll_validate(r, a->params, a->request_cache, err) < 0) goto fail;
    r->track_total_hits = INT64_MAX;
    c->query = r->query;
    if (r->slice) {
        slice_spec sl;
        if (slice_parse(r->slice, &c->mem, &sl, err) < 0) goto fail;
        if (slice_check_limit(&sl, c->views, c->n_views, err) < 0) goto fail;
        c->query = slice_wrap(&c->mem, r->query, &sl, c->shards, c->n_shards);
    }
    c->order = natural_order(r);
    if (r->aggs) {
        if (agg_tree_parse(&c->mem, c->doc, r->aggs, c->views, c->n_views, r->now_ms, &tree, err) < 0) goto fail;
        run = agg_run_new(tree, a->typed_keys);
    }
    if (ctx_register(c, a->lim, err) < 0) goto fail;
    /* first page: the whole query (exact total, aggregations) */
    search_request first = *r;
    first.query = c->query;
    search_collector *extra[1];
    size_t n_extra = 0;
    if (run) extra[n_extra++] = agg_run_collector(run);
    if (search_execute(&first, c->shards, c->n_shards, extra, n_extra, &res, err) < 0) {
        /* the first page failed: no scroll was opened */
        pthread_mutex_lock(&reg.mu);
        unlink_ctx(c);
        c->refs--;
        pthread_mutex_unlock(&reg.mu);
        ctx_release(c, -1);
        agg_run_free(run);
        agg_tree_free(tree);
        return -1;
    }
    have_res = true;
    c->total = res.total;
    if (res.n_hits) set_cursor(c, &res.hits[res.n_hits - 1], r->n_sorts);
    id_writer iw = { "_scroll_id", c->idstr };
    aggs_member am = { run };
    int rc = search_write_response(&first, &res, c->shards, w, write_id, &iw, run ? write_aggs : NULL, &am, err);
    search_result_free(&res);
    agg_run_free(run);
    agg_tree_free(tree);
    ctx_release(c, -1);
    return rc;
fail:
    if (have_res) search_result_free(&res);
    agg_run_free(run);
    agg_tree_free(tree);
    ctx_destroy(c);
    return -1;
}

int search_scroll_next(const char *scroll_id, int64_t keep_alive_ms, const search_ctx_limits *lim,
                       bool rest_total_hits_as_int, json_w *w, es_err *err)
{
    if (keep_alive_ms >= 0 && search_ctx_check_keep_alive(keep_alive_ms, lim, err) < 0) return -1;
    search_ctx *c;
    if (ctx_acquire(scroll_id, SEARCH_CTX_SCROLL, &c, err) < 0) return -1;
    int64_t t0 = mono_nanos();
    search_request *r = &c->req;
    search_result res;
    memset(&res, 0, sizeof res);
    search_hit *hits = NULL;
    size_t nh = 0;
    bool generic = c->order == ORDER_GENERIC;
    int rc = 0;
    if (!generic) {
        bool scores = c->order == ORDER_SHARD_DOC || r->track_scores;
        rc = page_run(r, c->query, c->shards, c->n_shards, c->order, c->has_cursor, c->cursor.shard_index,
                      c->cursor.docnum, (size_t)r->size, scores, &hits, &nh, err);
        if (rc == 0) {
            res.n_shards = (uint32_t)c->n_shards;
            res.shards = xcalloc(c->n_shards ? c->n_shards : 1, sizeof *res.shards);
            res.max_score = NAN;
            res.sorts = r->sorts;
            res.n_sorts = r->n_sorts;
            for (size_t i = 0; i < nh; i++) {
                if (c->order == ORDER_DOC) {
                    hits[i].sort = xcalloc(1, sizeof *hits[i].sort);
                    hits[i].sort[0].kind = SV_LONG;
                    hits[i].sort[0].l = (int64_t)hits[i].docnum;
                }
                if (!isnan(hits[i].score) && (isnan(res.max_score) || hits[i].score > res.max_score))
                    res.max_score = hits[i].score;
            }
            if (c->order == ORDER_DOC && !r->track_scores) res.max_score = NAN;
            res.hits = hits;
            res.n_hits = nh;
        }
    } else {
        search_request next = *r;
        next.query = c->query;
        next.track_total_hits = -1;
        next.search_after = c->has_cursor ? &c->cursor : NULL;
        next.n_search_after = c->has_cursor ? r->n_sorts : 0;
        rc = search_execute(&next, c->shards, c->n_shards, NULL, 0, &res, err);
    }
    if (rc < 0) {
        ctx_release(c, keep_alive_ms);
        return -1;
    }
    res.total = c->total;
    res.total_gte = false;
    res.took_ms = (mono_nanos() - t0) / 1000000;
    if (res.n_hits) set_cursor(c, &res.hits[res.n_hits - 1], r->n_sorts);
    bool saved = r->rest_total_hits_as_int;
    r->rest_total_hits_as_int = rest_total_hits_as_int;
    id_writer iw = { "_scroll_id", c->idstr };
    search_request out = *r;
    rc = search_write_response(&out, &res, c->shards, w, write_id, &iw, NULL, NULL, err);
    r->rest_total_hits_as_int = saved;
    if (generic) {
        search_result_free(&res);
    } else {
        page_hits_free(hits, nh);
        free(res.shards);
    }
    ctx_release(c, keep_alive_ms);
    return rc;
}

/* ======================================================================== */
/* Point in time                                                            */

int search_pit_open(index_view **views, size_t n_views, shard_searcher **shards, size_t n_shards,
                    const char *index_expr, int64_t keep_alive_ms, const search_ctx_limits *lim, char **id,
                    es_err *err)
{
    *id = NULL;
    if (search_ctx_check_keep_alive(keep_alive_ms, lim, err) < 0) {
        search_shards_close(shards, n_shards);
        return -1;
    }
    search_ctx *c = ctx_new(SEARCH_CTX_PIT, keep_alive_ms);
    c->shards = shards;
    c->n_shards = n_shards;
    c->views = xcalloc(n_views ? n_views : 1, sizeof *c->views);
    for (size_t i = 0; i < n_views; i++) c->views[i] = index_view_ref(views[i]);
    c->n_views = n_views;
    if (apply_alias_filters(c, index_expr, err) < 0 || ctx_register(c, lim, err) < 0) {
        ctx_destroy(c);
        return -1;
    }
    *id = xstrdup(c->idstr);
    ctx_release(c, -1);
    return 0;
}

/* The count cache key: what decides the number of hits. */
static char *count_key(const search_request *r, const search_pit_args *a, int64_t limit)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_arr_begin(&w);
    const char *keys[] = { "query", "post_filter", "min_score", "slice" };
    for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
        const json_val *v = r->body ? json_obj_get(r->body, keys[i]) : NULL;
        if (v) jw_val(&w, v);
        else jw_null(&w);
    }
    const search_url_params *p = a->params;
    const char *ps[] = { p ? p->q : NULL, p ? p->df : NULL, p ? p->default_operator : NULL, p ? p->analyzer : NULL,
                         p ? p->lenient : NULL, p ? p->analyze_wildcard : NULL, p ? p->min_score : NULL };
    for (size_t i = 0; i < ARRAY_LEN(ps); i++) jw_str(&w, ps[i]);
    jw_int(&w, limit);
    jw_arr_end(&w);
    return buf_detach(&b, NULL);
}

int search_pit_search(const search_pit_args *a, json_w *w, es_err *err)
{
    search_request *r = a->req;
    if (a->keep_alive_ms >= 0 && search_ctx_check_keep_alive(a->keep_alive_ms, a->lim, err) < 0) return -1;
    search_ctx *c;
    if (ctx_acquire(a->id, SEARCH_CTX_PIT, &c, err) < 0) return -1;
    int64_t t0 = mono_nanos();
    int rc = -1;
    agg_tree *tree = NULL;
    agg_run *run = NULL;
    search_result res;
    memset(&res, 0, sizeof res);
    bool generic_res = false;
    search_hit *hits = NULL;
    size_t nh = 0;
    sort_spec *ext_sorts = NULL;
    sort_value *ext_vals = NULL;
    arena mem = { 0 };

    if (search_request_validate(r, c->views, c->n_views, NULL, err) < 0) goto out;
    const query *q = r->query;
    if (r->slice) {
        slice_spec sl;
        if (slice_parse(r->slice, &mem, &sl, err) < 0) goto out;
        if (slice_check_limit(&sl, c->views, c->n_views, err) < 0) goto out;
        q = slice_wrap(&mem, r->query, &sl, c->shards, c->n_shards);
    }
    /* _shard_doc: only as the last sort (the tiebreaker position) */
    for (size_t i = 0; i + 1 < r->n_sorts; i++)
        if (sort_is_shard_doc(&r->sorts[i])) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "[_shard_doc] must be the last sort of a point in time search on this node");
            goto out;
        }
    bool has_sd = r->n_sorts && sort_is_shard_doc(&r->sorts[r->n_sorts - 1]);
    bool sd_desc = has_sd && r->sorts[r->n_sorts - 1].desc;
    size_t k = has_sd ? r->n_sorts - 1 : r->n_sorts;     /* sorts before the tiebreaker */
    /* Elasticsearch adds _shard_doc asc when sorting a PIT search, unless search_after names no value for it */
    bool tiebreak = has_sd || (r->n_sorts > 0 && (!r->search_after || a->tiebreaker_after));
    bool have_cursor = false;
    uint32_t cs = 0;
    uint64_t cd = 0;
    if (has_sd && r->search_after) {
        const sort_value *v = &r->search_after->sort[r->n_sorts - 1];
        if (v->kind != SV_LONG) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "search_after value for [_shard_doc] must be a long");
            goto out;
        }
        shard_doc_decode(v->l, &cs, &cd);
        have_cursor = true;
    } else if (a->tiebreaker_after) {
        if (json_type_of(a->tiebreaker_after) != JSON_INT) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "search_after value for [_shard_doc] must be a long");
            goto out;
        }
        shard_doc_decode(json_int(a->tiebreaker_after), &cs, &cd);
        have_cursor = true;
    }
    if (sd_desc) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "[_shard_doc] descending is not supported by this node: sort it ascending");
        goto out;
    }
    if (r->aggs) {
        if (agg_tree_parse(&mem, a->doc, r->aggs, c->views, c->n_views, r->now_ms, &tree, err) < 0) goto out;
        run = agg_run_new(tree, a->typed_keys);
    }
    if (tiebreak && k == 0) {
        /* sorted on _shard_doc alone: the natural order, O(page) from the cursor */
        if (run) {
            /* aggregations see every match: one pass for them */
            search_request all = *r;
            all.query = q;
            all.size = 0;
            all.from = 0;
            all.n_sorts = 0;
            all.sorts = NULL;
            all.search_after = NULL;
            all.track_total_hits = -1;
            search_collector *extra = agg_run_collector(run);
            search_result ar;
            if (search_execute(&all, c->shards, c->n_shards, &extra, 1, &ar, err) < 0) goto out;
            search_result_free(&ar);
        }
        if (r->from > 0 && have_cursor) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "[from] parameter must be set to 0 when [search_after] is used");
            goto out;
        }
        if (page_run(r, q, c->shards, c->n_shards, ORDER_SHARD_DOC, have_cursor, cs, cd,
                     (size_t)(r->from + r->size), r->track_scores, &hits, &nh, err) < 0)
            goto out;
        if (r->from > 0 && nh) {
            /* from: the first hits of the page are skipped */
            size_t skip = (size_t)r->from < nh ? (size_t)r->from : nh;
            for (size_t i = 0; i < skip; i++) free(hits[i].sort);
            memmove(hits, hits + skip, (nh - skip) * sizeof *hits);
            nh -= skip;
        }
        res.n_shards = (uint32_t)c->n_shards;
        res.shards = xcalloc(c->n_shards ? c->n_shards : 1, sizeof *res.shards);
        res.max_score = NAN;
        for (size_t i = 0; i < nh; i++) {
            hits[i].sort = xcalloc(1, sizeof *hits[i].sort);
            hits[i].sort[0].kind = SV_LONG;
            hits[i].sort[0].l = shard_doc_encode(hits[i].shard_index, hits[i].docnum);
            if (!isnan(hits[i].score) && (isnan(res.max_score) || hits[i].score > res.max_score))
                res.max_score = hits[i].score;
        }
        res.hits = hits;
        res.n_hits = nh;
        /* total: counted once per PIT and query (the snapshot never changes) */
        if (r->track_total_hits >= 0) {
            char *key = count_key(r, a, r->track_total_hits);
            if (c->count_key && !strcmp(c->count_key, key)) {
                res.total = c->count_val;
                res.total_gte = c->count_gte;
                free(key);
            } else {
                bool plain = query_is_match_all(r->query) && !r->slice && !c->filtered;
                if (count_hits(r, q, plain, c->shards, c->n_shards, r->track_total_hits, &res.total, &res.total_gte,
                               err) < 0) {
                    free(key);
                    goto out;
                }
                free(c->count_key);
                c->count_key = key;
                c->count_val = res.total;
                c->count_gte = res.total_gte;
            }
        }
        ext_sorts = xcalloc(1, sizeof *ext_sorts);
        ext_sorts[0].kind = SORT_DOC;
        res.sorts = ext_sorts;
        res.n_sorts = 1;
    } else {
        search_request g = *r;
        g.query = q;
        g.n_sorts = k;
        search_hit after;
        sort_value *after_vals = NULL;
        if (have_cursor) {
            after.shard_index = cs;
            after.docnum = cd;
            after.score = r->search_after ? r->search_after->score : NAN;
            after_vals = r->search_after ? copy_sort(r->search_after->sort, k) : NULL;
            unsubstitute_missing(after_vals, r->sorts, k);
            after.sort = after_vals;
            g.search_after = &after;
            g.n_search_after = k;
        }
        search_collector *extra[1];
        size_t n_extra = 0;
        if (run) extra[n_extra++] = agg_run_collector(run);
        int xrc = search_execute(&g, c->shards, c->n_shards, extra, n_extra, &res, err);
        free(after_vals);
        if (xrc < 0) goto out;
        generic_res = true;
        if (tiebreak) {
            /* every hit's sort values end with its _shard_doc */
            ext_sorts = xcalloc(k + 1, sizeof *ext_sorts);
            memcpy(ext_sorts, r->sorts, k * sizeof *ext_sorts);
            ext_sorts[k].kind = SORT_DOC;
            ext_vals = xcalloc((k + 1) * (res.n_hits ? res.n_hits : 1), sizeof *ext_vals);
            for (size_t i = 0; i < res.n_hits; i++) {
                sort_value *v = &ext_vals[i * (k + 1)];
                if (k && res.hits[i].sort) memcpy(v, res.hits[i].sort, k * sizeof *v);
                v[k].kind = SV_LONG;
                v[k].l = shard_doc_encode(res.hits[i].shard_index, res.hits[i].docnum);
                res.hits[i].sort = v;
            }
            res.sorts = ext_sorts;
            res.n_sorts = k + 1;
        }
    }
    res.took_ms = (mono_nanos() - t0) / 1000000;
    id_writer iw = { "pit_id", c->idstr };
    aggs_member am = { run };
    rc = search_write_response(r, &res, c->shards, w, write_id, &iw, run ? write_aggs : NULL, &am, err);
out:
    if (generic_res) {
        search_result_free(&res);
    } else {
        page_hits_free(hits, nh);
        free(res.shards);
    }
    free(ext_sorts);
    free(ext_vals);
    agg_run_free(run);
    agg_tree_free(tree);
    arena_free(&mem);
    ctx_release(c, a->keep_alive_ms);
    return rc;
}
