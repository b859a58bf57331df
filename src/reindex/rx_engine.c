/*
 * rx_engine.c — settings, the node-wide context, and jobs: a coordinator
 * thread per job (pre-flight checks, slices, result), and per worker a
 * fetcher and a writer around a queue of depth RX_QUEUE_DEPTH, throttling,
 * bulk retries, counters, cancellation, rethrottling and the
 * BulkByScrollResponse / task status in Elasticsearch's shapes.
 */
#include "reindex/reindex_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ======================================================================== */
/* Settings                                                                 */

static bool valid_protocol(const char *v, char *why, size_t n)
{
    if (!strcmp(v, "TLSv1.3") || !strcmp(v, "TLSv1.2") || !strcmp(v, "TLSv1.1") || !strcmp(v, "TLSv1")) return true;
    snprintf(why, n, "unsupported protocol [%s]: expected TLSv1.3, TLSv1.2, TLSv1.1 or TLSv1", v);
    return false;
}

static bool valid_backoff(const char *v, char *why, size_t n)
{
    int64_t ms;
    if (!parse_time_value(v, &ms) || ms < 50 || ms > 5000) {
        snprintf(why, n, "must be between [50ms] and [5s]");
        return false;
    }
    return true;
}

const setting_def reindex_settings[] = {
    { "reindex.remote.whitelist", SETTING_LIST, NULL, NULL, 0, 0, NULL },
    { "reindex.remote.allowlist", SETTING_LIST, NULL, NULL, 0, 0, NULL },
    { "reindex.remote.retry.initial_backoff", SETTING_TIME, "500ms", NULL, 0, 0, valid_backoff },
    { "reindex.remote.retry.max_count", SETTING_INT, "11", NULL, 0, 100, NULL },
    { "reindex.ssl.certificate_authorities", SETTING_LIST, NULL, NULL, 0, 0, NULL },
    { "reindex.ssl.verification_mode", SETTING_ENUM, "full", "full|certificate|none", 0, 0, NULL },
    { "reindex.ssl.certificate", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "reindex.ssl.key", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "reindex.ssl.key_passphrase", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "reindex.ssl.supported_protocols", SETTING_LIST, "TLSv1.3,TLSv1.2", NULL, 0, 0, valid_protocol },
    /* ferry extension: slices > 1 (and source.slice) with a remote source read with sliced
     * scrolls; false restores Elasticsearch's refusal. */
    { "ferry.reindex.remote_slices", SETTING_BOOL, "true", NULL, 0, 0, NULL },
};
const size_t reindex_settings_count = ARRAY_LEN(reindex_settings);

/* ======================================================================== */
/* Jobs and workers                                                         */

typedef struct rx_failure {
    bool search;
    char *index;
    char *id;
    int32_t shard;
    char *node;
    int status;
    es_err cause;
} rx_failure;

typedef struct rx_counts {
    int64_t total, updated, created, deleted, batches, version_conflicts, noops, retries_bulk, retries_search;
    int64_t throttled_ns;
} rx_counts;

struct rx_worker {
    struct rx_job *job;
    int slice_id;               /* -1: not sliced */
    task *task;                 /* own (slice) task, or the job's */
    bool own_task;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rx_counts c;
    float rps;
    int64_t throttle_until_ns;
    rx_page q[RX_QUEUE_DEPTH];
    size_t qn, qhead;
    bool fetch_done, stop;
    atomic_bool abort;
    rx_failure *fails;
    size_t n_fails;
    es_err fatal;
    bool has_fatal;
    bool timed_out;
    int64_t max_docs;
    int64_t processed;
    int src_slice, src_max;
    rx_source *src;
    rx_sink *sink;
    pthread_t fthr, wthr;
    int64_t last_start_ns, last_n;
    bool finished;
};

typedef struct rx_job {
    reindex_env *env;
    rx_request *r;
    task *task;
    bool keep;
    pthread_mutex_t mu;
    rx_worker **w;
    int n_w;
    bool sliced;
    int64_t start_ns;
    rx_local_snapshot *snap;
} rx_job;

static const char *action_of(rx_kind k)
{
    switch (k) {
    case RX_UPDATE_BY_QUERY: return "indices:data/write/update/byquery";
    case RX_DELETE_BY_QUERY: return "indices:data/write/delete/byquery";
    default: return "indices:data/write/reindex";
    }
}

static bool w_stopping_locked(rx_worker *w)
{
    return w->stop || task_cancelled(w->task);
}

bool rx_worker_stopping(rx_worker *w)
{
    pthread_mutex_lock(&w->mu);
    bool s = w_stopping_locked(w);
    pthread_mutex_unlock(&w->mu);
    return s;
}

static void deadline_in(struct timespec *ts, int64_t ns_from_now)
{
    clock_gettime(CLOCK_REALTIME, ts);
    int64_t sec = ns_from_now / 1000000000;
    int64_t rem = ns_from_now % 1000000000;
    ts->tv_sec += (time_t)sec;
    ts->tv_nsec += rem;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

bool rx_worker_sleep(rx_worker *w, int64_t ms)
{
    int64_t until = mono_nanos() + ms * 1000000;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w_stopping_locked(w)) {
            pthread_mutex_unlock(&w->mu);
            return false;
        }
        int64_t left = until - mono_nanos();
        if (left <= 0) break;
        struct timespec ts;
        deadline_in(&ts, left > 1000000000LL ? 1000000000LL : left);
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return true;
}

void rx_worker_count_search_retry(rx_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->c.retries_search++;
    pthread_mutex_unlock(&w->mu);
}

atomic_bool *rx_worker_abort_flag(rx_worker *w)
{
    return &w->abort;
}

CURLSH *rx_env_share(reindex_env *env)
{
    return env->share;
}

void rx_page_free(rx_page *p)
{
    free(p->hits);
    for (size_t i = 0; i < p->n_failures; i++) {
        free(p->failures[i].index);
        free(p->failures[i].node);
        es_err_free(&p->failures[i].reason);
    }
    free(p->failures);
    es_err_free(&p->err);
    json_doc_free(p->doc);
    free(p->mem);
    arena_free(&p->ar);
    memset(p, 0, sizeof *p);
}

void rx_item_free(rx_item *it)
{
    es_err_free(&it->err);
    free(it->index);
    free(it->id);
    memset(it, 0, sizeof *it);
}

static void failure_free(rx_failure *f)
{
    free(f->index);
    free(f->id);
    free(f->node);
    es_err_free(&f->cause);
}

/* ------------------------------------------------------------------------ */
/* Status and response rendering                                            */

typedef struct status_view {
    rx_counts c;
    float rps;
    int64_t throttled_until_ns; /* time left */
    int slice_id;
} status_view;

enum { ST_HUMAN = 1, ST_NO_CREATED = 2, ST_NO_UPDATED = 4 };

static void write_rps(json_w *w, float rps)
{
    char t[32];
    rx_float_text(isinf(rps) ? -1.0f : rps, t);
    jw_key(w, "requests_per_second");
    jw_raw(w, t, strlen(t));
}

static void write_status_fields(json_w *w, const status_view *s, const char *canceled, unsigned flags)
{
    if (s->slice_id >= 0) jw_kint(w, "slice_id", s->slice_id);
    jw_kint(w, "total", s->c.total);
    if (!(flags & ST_NO_UPDATED)) jw_kint(w, "updated", s->c.updated);
    if (!(flags & ST_NO_CREATED)) jw_kint(w, "created", s->c.created);
    jw_kint(w, "deleted", s->c.deleted);
    jw_kint(w, "batches", s->c.batches);
    jw_kint(w, "version_conflicts", s->c.version_conflicts);
    jw_kint(w, "noops", s->c.noops);
    jw_key(w, "retries");
    jw_obj_begin(w);
    jw_kint(w, "bulk", s->c.retries_bulk);
    jw_kint(w, "search", s->c.retries_search);
    jw_obj_end(w);
    char hb[32];
    if (flags & ST_HUMAN) {
        tasks_time_human(s->c.throttled_ns, hb);
        jw_kstr(w, "throttled", hb);
    }
    jw_kint(w, "throttled_millis", s->c.throttled_ns / 1000000);
    write_rps(w, s->rps);
    if (canceled) jw_kstr(w, "canceled", canceled);
    if (flags & ST_HUMAN) {
        tasks_time_human(s->throttled_until_ns, hb);
        jw_kstr(w, "throttled_until", hb);
    }
    jw_kint(w, "throttled_until_millis", s->throttled_until_ns / 1000000);
}

static status_view worker_view(rx_worker *w)
{
    status_view v = { 0 };
    pthread_mutex_lock(&w->mu);
    v.c = w->c;
    v.rps = w->rps;
    int64_t now = mono_nanos();
    v.throttled_until_ns = w->throttle_until_ns > now ? w->throttle_until_ns - now : 0;
    v.slice_id = w->slice_id;
    pthread_mutex_unlock(&w->mu);
    return v;
}

static void sum_into(status_view *t, const status_view *s)
{
    t->c.total += s->c.total;
    t->c.updated += s->c.updated;
    t->c.created += s->c.created;
    t->c.deleted += s->c.deleted;
    t->c.batches += s->c.batches;
    t->c.version_conflicts += s->c.version_conflicts;
    t->c.noops += s->c.noops;
    t->c.retries_bulk += s->c.retries_bulk;
    t->c.retries_search += s->c.retries_search;
    t->c.throttled_ns += s->c.throttled_ns;
    t->rps += s->rps;
    if (t->throttled_until_ns == 0 || (s->throttled_until_ns && s->throttled_until_ns < t->throttled_until_ns))
        t->throttled_until_ns = s->throttled_until_ns;
}

/* The status object of a job: one worker's, or the slices' sum plus "slices". */
static void write_job_status(rx_job *j, json_w *w, unsigned flags)
{
    pthread_mutex_lock(&j->mu);
    int n = j->n_w;
    status_view *views = xcalloc((size_t)(n ? n : 1), sizeof *views);
    for (int i = 0; i < n; i++) views[i] = worker_view(j->w[i]);
    bool sliced = j->sliced;
    pthread_mutex_unlock(&j->mu);
    const char *canceled = task_cancel_reason(j->task);
    jw_obj_begin(w);
    if (!sliced) {
        status_view v = n ? views[0] : (status_view){ .rps = j->r->rps, .slice_id = -1 };
        v.slice_id = -1;
        write_status_fields(w, &v, canceled, flags);
    } else {
        status_view t = { .slice_id = -1 };
        for (int i = 0; i < n; i++) sum_into(&t, &views[i]);
        write_status_fields(w, &t, canceled, flags);
        jw_key(w, "slices");
        jw_arr_begin(w);
        for (int i = 0; i < n; i++) {
            jw_obj_begin(w);
            write_status_fields(w, &views[i], task_cancel_reason(j->w[i]->task), flags);
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
    free(views);
}

static void job_status_hook(void *ctx, json_w *w)
{
    write_job_status(ctx, w, 0);
}

static void worker_status_hook(void *ctx, json_w *w)
{
    rx_worker *wk = ctx;
    status_view v = worker_view(wk);
    jw_obj_begin(w);
    write_status_fields(w, &v, task_cancel_reason(wk->task), 0);
    jw_obj_end(w);
}

static void wake_worker(rx_worker *w)
{
    atomic_store(&w->abort, true);
    pthread_mutex_lock(&w->mu);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void job_cancel_hook(void *ctx)
{
    rx_job *j = ctx;
    pthread_mutex_lock(&j->mu);
    for (int i = 0; i < j->n_w; i++) wake_worker(j->w[i]);
    pthread_mutex_unlock(&j->mu);
}

static void worker_cancel_hook(void *ctx)
{
    wake_worker(ctx);
}

static void write_failure(json_w *w, const rx_failure *f)
{
    jw_obj_begin(w);
    if (!f->search) {
        jw_kstr(w, "index", f->index);
        if (f->id) jw_kstr(w, "id", f->id);
        jw_key(w, "cause");
        tasks_write_error(w, &f->cause);
        jw_kint(w, "status", f->status);
    } else {
        if (f->index) jw_kstr(w, "index", f->index);
        if (f->shard >= 0) jw_kint(w, "shard", f->shard);
        if (f->node) jw_kstr(w, "node", f->node);
        jw_kint(w, "status", f->status);
        jw_key(w, "reason");
        tasks_write_error(w, &f->cause);
    }
    jw_obj_end(w);
}

/* ------------------------------------------------------------------------ */
/* Queue                                                                    */

/* Hands a page to the writer; false (page freed) when the worker stops. */
static bool queue_push(rx_worker *w, rx_page *p)
{
    pthread_mutex_lock(&w->mu);
    while (w->qn == RX_QUEUE_DEPTH && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
    if (w->stop) {
        pthread_mutex_unlock(&w->mu);
        rx_page_free(p);
        return false;
    }
    w->q[(w->qhead + w->qn) % RX_QUEUE_DEPTH] = *p;
    w->qn++;
    memset(p, 0, sizeof *p);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return true;
}

/* The next page; false when there is none (the fetcher ended or the worker stops). */
static bool queue_pop(rx_worker *w, rx_page *out)
{
    pthread_mutex_lock(&w->mu);
    while (w->qn == 0 && !w->fetch_done && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
    if (w->qn == 0) {
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    *out = w->q[w->qhead];
    memset(&w->q[w->qhead], 0, sizeof w->q[w->qhead]);
    w->qhead = (w->qhead + 1) % RX_QUEUE_DEPTH;
    w->qn--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Fetcher                                                                  */

/* Waits until the next batch may start (requests_per_second). False when stopping. A faster
 * rate set meanwhile takes effect at once; a slower one from the next batch on. */
#define RX_MAX_THROTTLE_WAIT_NS (3600LL * 1000000000LL) /* Elasticsearch's MAX_THROTTLE_WAIT_TIME */

/*
 * As Elasticsearch's WorkerBulkByScrollTaskState: the wait is scheduled once (at most an
 * hour); a faster rate reschedules what is left of it, scaled by old/new; a slower one waits
 * for the next batch. throttled_millis grows by the delay that finally ran, when it ran (a
 * wait cut short by a rethrottle to unlimited counts for nothing).
 */
static bool throttle_wait(rx_worker *w)
{
    pthread_mutex_lock(&w->mu);
    float rps = w->rps;
    if (isinf(rps) || rps <= 0 || w->last_n <= 0) {
        bool stop = w_stopping_locked(w);
        pthread_mutex_unlock(&w->mu);
        return !stop;
    }
    double want = (double)w->last_n * 1e9 / (double)rps;
    int64_t now = mono_nanos();
    int64_t delay = w->last_start_ns + (int64_t)(want > 9e18 ? 9e18 : want) - now;
    if (delay < 0) delay = 0;
    if (delay > RX_MAX_THROTTLE_WAIT_NS) delay = RX_MAX_THROTTLE_WAIT_NS;
    int64_t target = now + delay;
    for (;;) {
        if (w_stopping_locked(w)) {
            w->throttle_until_ns = 0;
            pthread_mutex_unlock(&w->mu);
            return false;
        }
        now = mono_nanos();
        if (w->rps != rps) {
            if (isinf(w->rps) || w->rps > rps) {
                /* faster: what is left, scaled */
                double left = (double)(target > now ? target - now : 0);
                double scaled = isinf(w->rps) ? 0 : left * (double)rps / (double)w->rps;
                delay = (int64_t)scaled;
                target = now + delay;
            }
            rps = w->rps;
        }
        if (now >= target) break;
        w->throttle_until_ns = target;
        struct timespec ts;
        int64_t left = target - now;
        deadline_in(&ts, left > 1000000000LL ? 1000000000LL : left);
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    w->c.throttled_ns += delay;
    w->throttle_until_ns = 0;
    pthread_mutex_unlock(&w->mu);
    return true;
}

/* Extra scroll keep-alive covering the next throttle wait (capped below a day). */
static int64_t extra_keepalive_ms(rx_worker *w, int64_t size)
{
    pthread_mutex_lock(&w->mu);
    float rps = w->rps;
    pthread_mutex_unlock(&w->mu);
    if (isinf(rps) || rps <= 0) return 0;
    double ms = (double)size * 1000.0 / (double)rps;
    double cap = 24.0 * 3600 * 1000 - (double)w->job->r->scroll_ms - 60000;
    if (cap < 0) cap = 0;
    return (int64_t)(ms > cap ? cap : ms);
}

static bool page_ends(const rx_page *p)
{
    return p->error || p->n == 0 || p->n_failures || p->timed_out;
}

static void *fetch_main(void *arg)
{
    rx_worker *w = arg;
    rx_page p;
    w->src->first(w->src, &p);
    bool end = page_ends(&p);
    pthread_mutex_lock(&w->mu);
    w->last_start_ns = mono_nanos();
    w->last_n = (int64_t)p.n;
    pthread_mutex_unlock(&w->mu);
    bool ok = queue_push(w, &p);
    while (ok && !end) {
        if (!throttle_wait(w)) break;
        w->src->next(w->src, extra_keepalive_ms(w, w->job->r->size), &p);
        end = page_ends(&p);
        pthread_mutex_lock(&w->mu);
        w->last_start_ns = mono_nanos();
        w->last_n = (int64_t)p.n;
        pthread_mutex_unlock(&w->mu);
        if (p.error && p.err.type == ES_TASK_CANCELLED && rx_worker_stopping(w)) {
            rx_page_free(&p);
            break;
        }
        ok = queue_push(w, &p);
    }
    pthread_mutex_lock(&w->mu);
    w->fetch_done = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */

static void add_failure(rx_worker *w, rx_failure *f)
{
    pthread_mutex_lock(&w->mu);
    w->fails = xrealloc(w->fails, (w->n_fails + 1) * sizeof *w->fails);
    w->fails[w->n_fails++] = *f;
    pthread_mutex_unlock(&w->mu);
    memset(f, 0, sizeof *f);
}

static void set_fatal(rx_worker *w, es_err *e)
{
    pthread_mutex_lock(&w->mu);
    if (!w->has_fatal) {
        w->fatal = *e;
        w->has_fatal = true;
        memset(e, 0, sizeof *e);
    }
    pthread_mutex_unlock(&w->mu);
    es_err_free(e);
}

/* Builds the write operations of a batch (strings in a: ids and routings are not
 * NUL-terminated in a local snapshot). Returns -1 (err) on a hit without _source. */
static int build_ops(rx_worker *w, const rx_hit *hits, size_t n, write_op *ops, arena *a, es_err *err)
{
    const rx_request *r = w->job->r;
    for (size_t i = 0; i < n; i++) {
        const rx_hit *h = &hits[i];
        write_op *op = &ops[i];
        memset(op, 0, sizeof *op);
        op->id = arena_strndup(a, h->id, h->idlen);
        const char *hit_routing = h->routing ? arena_strndup(a, h->routing, h->routing_len) : NULL;
        if (r->kind == RX_REINDEX) {
            if (!h->source)
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s][_doc][%s] didn't store _source", h->index, op->id);
            op->kind = r->op_create ? WOP_CREATE : WOP_INDEX;
            op->index = r->dest_index;
            op->routing = r->routing == RX_ROUTE_KEEP ? hit_routing : r->routing == RX_ROUTE_SET ? r->routing_value : NULL;
            op->source = h->source;
            op->source_len = h->srclen;
            if (r->vt_external) {
                op->has_version = true;
                op->version = h->version;
                op->version_type = r->vt;
            }
            op->pipeline = r->pipeline;
            op->require_alias = r->require_alias && !r->remote;
        } else {
            op->index = arena_strndup(a, h->index, strlen(h->index));
            op->routing = hit_routing;
            if (h->seq_no >= 0) {
                op->has_if_seq_no = true;
                op->if_seq_no = h->seq_no;
                op->if_primary_term = h->primary_term;
            }
            if (r->kind == RX_DELETE_BY_QUERY) {
                op->kind = WOP_DELETE;
            } else {
                if (!h->source)
                    return es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s][_doc][%s] didn't store _source", h->index, op->id);
                op->kind = WOP_INDEX;
                op->source = h->source;
                op->source_len = h->srclen;
                op->pipeline = r->pipeline;
            }
        }
    }
    return 0;
}

/* Writes a batch, retrying items rejected with 429 (Elasticsearch's bulk backoff). */
static int write_batch(rx_worker *w, const write_op *ops, size_t n, rx_item *res, es_err *err)
{
    reindex_env *env = w->job->env;
    size_t *todo = xcalloc(n, sizeof *todo);
    size_t nt = n;
    for (size_t i = 0; i < n; i++) todo[i] = i;
    write_op *sub = xcalloc(n, sizeof *sub);
    rx_item *sres = xcalloc(n, sizeof *sres);
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        for (size_t i = 0; i < nt; i++) sub[i] = ops[todo[i]];
        memset(sres, 0, nt * sizeof *sres);
        if (w->sink->write(w->sink, sub, nt, sres, err)) {
            rc = -1;
            break;
        }
        size_t again = 0;
        for (size_t i = 0; i < nt; i++) {
            rx_item_free(&res[todo[i]]);
            res[todo[i]] = sres[i];
            if (sres[i].kind == RXI_FAILED && sres[i].status == 429) todo[again++] = todo[i];
        }
        if (!again || attempt >= 11) break;
        nt = again;
        pthread_mutex_lock(&w->mu);
        w->c.retries_bulk++;
        pthread_mutex_unlock(&w->mu);
        if (!rx_worker_sleep(w, rx_backoff_ms(500, attempt))) break;
    }
    (void)env;
    free(sres);
    free(sub);
    free(todo);
    return rc;
}

static void *write_main(void *arg)
{
    rx_worker *w = arg;
    const rx_request *r = w->job->r;
    bool first = true;
    for (;;) {
        rx_page p;
        if (!queue_pop(w, &p)) break;
        if (p.error) {
            if (!(p.err.type == ES_TASK_CANCELLED && rx_worker_stopping(w))) set_fatal(w, &p.err);
            rx_page_free(&p);
            break;
        }
        if (first) {
            int64_t total = p.total < 0 ? 0 : p.total;
            if (w->max_docs >= 0 && total > w->max_docs) total = w->max_docs;
            pthread_mutex_lock(&w->mu);
            w->c.total = total;
            pthread_mutex_unlock(&w->mu);
            first = false;
        }
        if (p.n_failures || p.timed_out) {
            for (size_t i = 0; i < p.n_failures; i++) {
                rx_search_failure *sf = &p.failures[i];
                rx_failure f = { .search = true, .index = sf->index, .shard = sf->shard, .node = sf->node,
                                 .status = sf->status, .cause = sf->reason };
                sf->index = sf->node = NULL;
                memset(&sf->reason, 0, sizeof sf->reason);
                add_failure(w, &f);
            }
            if (p.timed_out) {
                pthread_mutex_lock(&w->mu);
                w->timed_out = true;
                pthread_mutex_unlock(&w->mu);
            }
            rx_page_free(&p);
            break;
        }
        if (p.n == 0 || rx_worker_stopping(w)) {
            rx_page_free(&p);
            break;
        }
        size_t n = p.n;
        if (w->max_docs >= 0) {
            int64_t left = w->max_docs - w->processed;
            if (left < 0) left = 0;
            if ((int64_t)n > left) n = (size_t)left;
        }
        if (!n) {
            rx_page_free(&p);
            break;
        }
        pthread_mutex_lock(&w->mu);
        w->c.batches++;
        pthread_mutex_unlock(&w->mu);
        arena a = { 0 };
        write_op *ops = xcalloc(n, sizeof *ops);
        rx_item *res = xcalloc(n, sizeof *res);
        es_err e = { 0 };
        bool stop = false;
        if (build_ops(w, p.hits, n, ops, &a, &e) || write_batch(w, ops, n, res, &e)) {
            set_fatal(w, &e);
            stop = true;
        } else {
            rx_counts d = { 0 };
            for (size_t i = 0; i < n; i++) {
                rx_item *it = &res[i];
                switch (it->kind) {
                case RXI_CREATED: d.created++; break;
                case RXI_UPDATED: d.updated++; break;
                case RXI_DELETED: d.deleted++; break;
                case RXI_NOOP: d.noops++; break;
                case RXI_FAILED:
                    if (it->status == 409) {
                        d.version_conflicts++;
                        if (!r->abort_on_conflict) break;
                    }
                    rx_failure f = { .index = it->index, .id = it->id, .shard = -1, .status = it->status,
                                     .cause = it->err };
                    it->index = it->id = NULL;
                    memset(&it->err, 0, sizeof it->err);
                    add_failure(w, &f);
                    stop = true;
                    break;
                }
            }
            pthread_mutex_lock(&w->mu);
            w->c.created += d.created;
            w->c.updated += d.updated;
            w->c.deleted += d.deleted;
            w->c.noops += d.noops;
            w->c.version_conflicts += d.version_conflicts;
            w->processed += d.created + d.updated + d.deleted;
            pthread_mutex_unlock(&w->mu);
        }
        for (size_t i = 0; i < n; i++) rx_item_free(&res[i]);
        free(res);
        free(ops);
        arena_free(&a);
        rx_page_free(&p);
        if (stop) break;
        if (w->max_docs >= 0 && w->processed >= w->max_docs) break;
    }
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    atomic_store(&w->abort, true); /* an in-flight fetch is no longer needed */
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Coordinator                                                              */

static void worker_free(rx_worker *w)
{
    for (size_t i = 0; i < RX_QUEUE_DEPTH; i++) rx_page_free(&w->q[i]);
    for (size_t i = 0; i < w->n_fails; i++) failure_free(&w->fails[i]);
    free(w->fails);
    es_err_free(&w->fatal);
    task_release(w->task);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static char *render_worker_status(rx_worker *w, unsigned flags)
{
    buf b = { 0 };
    json_w jw;
    jw_init(&jw, &b, false);
    status_view v = worker_view(w);
    if (!w->own_task) v.slice_id = -1;
    jw_obj_begin(&jw);
    write_status_fields(&jw, &v, task_cancel_reason(w->task), flags);
    jw_obj_end(&jw);
    return buf_detach(&b, NULL);
}

/* The BulkByScrollResponse of the job; *status gets the HTTP status. */
static char *render_response(rx_job *j, int64_t took_ns, unsigned flags, int *status)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    bool timed_out = false;
    for (int i = 0; i < j->n_w; i++) timed_out |= j->w[i]->timed_out;
    int st = timed_out ? 408 : 200;
    for (int i = 0; i < j->n_w; i++)
        for (size_t k = 0; k < j->w[i]->n_fails; k++)
            if (j->w[i]->fails[k].status > st) st = j->w[i]->fails[k].status;
    *status = st;
    jw_obj_begin(&w);
    int64_t took_ms = (took_ns + 999999) / 1000000;
    jw_kint(&w, "took", took_ms);
    jw_kbool(&w, "timed_out", timed_out);
    const char *canceled = task_cancel_reason(j->task);
    if (!j->sliced) {
        status_view v = j->n_w ? worker_view(j->w[0]) : (status_view){ .rps = j->r->rps };
        v.slice_id = -1;
        v.throttled_until_ns = 0;
        write_status_fields(&w, &v, canceled, flags);
    } else {
        status_view t = { .slice_id = -1 };
        status_view *views = xcalloc((size_t)j->n_w, sizeof *views);
        for (int i = 0; i < j->n_w; i++) {
            views[i] = worker_view(j->w[i]);
            views[i].throttled_until_ns = 0;
            sum_into(&t, &views[i]);
        }
        write_status_fields(&w, &t, canceled, flags);
        jw_key(&w, "slices");
        jw_arr_begin(&w);
        for (int i = 0; i < j->n_w; i++) {
            jw_obj_begin(&w);
            write_status_fields(&w, &views[i], task_cancel_reason(j->w[i]->task), flags);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        free(views);
    }
    jw_key(&w, "failures");
    jw_arr_begin(&w);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < j->n_w; i++)
            for (size_t k = 0; k < j->w[i]->n_fails; k++)
                if (j->w[i]->fails[k].search == (pass == 1)) write_failure(&w, &j->w[i]->fails[k]);
    jw_arr_end(&w);
    jw_obj_end(&w);
    return buf_detach(&b, NULL);
}

static void job_unlist(rx_job *j)
{
    reindex_env *env = j->env;
    pthread_mutex_lock(&env->jobs_mu);
    for (size_t i = 0; i < env->n_jobs; i++) {
        if (env->jobs[i] == j) {
            memmove(&env->jobs[i], &env->jobs[i + 1], (env->n_jobs - i - 1) * sizeof *env->jobs);
            env->n_jobs--;
            break;
        }
    }
    pthread_cond_broadcast(&env->jobs_cv);
    pthread_mutex_unlock(&env->jobs_mu);
}

static void job_free(rx_job *j)
{
    for (int i = 0; i < j->n_w; i++) worker_free(j->w[i]);
    free(j->w);
    rx_local_snapshot_free(j->snap);
    rx_request_free(j->r);
    task_release(j->task);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

/* The pre-flight checks of TransportReindexAction: whitelist, sources, dest. */
static int preflight(rx_job *j, es_err *err)
{
    reindex_env *env = j->env;
    rx_request *r = j->r;
    if (r->remote) {
        return rx_whitelist_check((const char *const *)env->whitelist, env->n_whitelist, env->whitelist_setting,
                                  r->remote->h.host, r->remote->h.port, err);
    }
    if (rx_local_snapshot_open(env, r, &j->snap, err)) return -1;
    if (r->kind == RX_REINDEX) {
        index_view *dv = NULL;
        const char *ar = NULL;
        es_err e = { 0 };
        if (indices_write_target(env->ix, r->dest_index, false, false, &dv, &ar, &e) == 0) {
            bool same = rx_local_snapshot_has(j->snap, dv->name);
            if (same) {
                es_err_set(err, ES_ACTION_REQUEST_VALIDATION,
                           "Validation Failed: 1: reindex cannot write into an index its reading from [%s];", dv->name);
                index_view_release(dv);
                return -1;
            }
            index_view_release(dv);
        }
        es_err_free(&e);
    }
    return 0;
}

static rx_worker *worker_new(rx_job *j, int slice_id, int n_slices, es_err *err)
{
    rx_request *r = j->r;
    rx_worker *w = xcalloc(1, sizeof *w);
    w->job = j;
    w->slice_id = slice_id;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->abort, false);
    w->rps = isinf(r->rps) ? r->rps : r->rps / (float)n_slices;
    w->max_docs = r->max_docs < 0 ? -1 : r->max_docs / n_slices;
    if (slice_id >= 0) {
        task_hooks hk = { .status = worker_status_hook, .on_cancel = worker_cancel_hook, .ctx = w };
        w->task = tasks_register(j->env->tm, action_of(r->kind), r->description, true, j->task, &hk, err);
        if (!w->task) {
            pthread_mutex_destroy(&w->mu);
            pthread_cond_destroy(&w->cv);
            free(w);
            return NULL;
        }
        w->own_task = true;
        if (task_cancelled(w->task)) atomic_store(&w->abort, true);
    } else {
        w->task = task_ref(j->task);
    }
    int slice = slice_id >= 0 ? slice_id : 0, max = slice_id >= 0 ? n_slices : 1;
    if (r->has_slice) {
        slice = r->slice_id;
        max = r->slice_max;
    }
    w->src_slice = slice;
    w->src_max = max;
    if (r->remote) w->src = rx_remote_source(j->env, r, w, slice, max, r->size);
    else w->src = rx_local_source(j->snap, r, slice, max, r->size);
    w->sink = rx_local_sink(j->env, r, w);
    return w;
}

/* Pre-flight checks, slices and workers (their tasks registered), before the job's thread
 * starts: a task answered with {"task": id} already shows its slices. */
static int job_prepare(rx_job *j, es_err *err)
{
    rx_request *r = j->r;
    int n = 1;
    if (preflight(j, err)) return -1;
    if (task_cancelled(j->task)) {
        /* cancelled before any work: an empty, canceled response */
        n = 0;
    } else {
        n = r->slices;
        if (n == 0) n = r->remote ? 1 : (int)rx_local_snapshot_min_shards(j->snap);
        if (r->has_slice || n < 1) n = 1;
    }
    pthread_mutex_lock(&j->mu);
    j->sliced = n > 1;
    pthread_mutex_unlock(&j->mu);
    for (int i = 0; i < n; i++) {
        rx_worker *w = worker_new(j, n > 1 ? i : -1, n, err);
        if (!w) break;
        pthread_mutex_lock(&j->mu);
        j->w = xrealloc(j->w, (size_t)(j->n_w + 1) * sizeof *j->w);
        j->w[j->n_w++] = w;
        pthread_mutex_unlock(&j->mu);
    }
    if (es_err_isset(err)) {
        for (int i = 0; i < j->n_w; i++) {
            task_cancel(j->w[i]->task, TASK_CANCEL_SHUTDOWN, NULL);
            j->w[i]->src->close(j->w[i]->src);
            j->w[i]->src = NULL;
            j->w[i]->sink->close(j->w[i]->sink);
            j->w[i]->sink = NULL;
            if (j->w[i]->own_task) task_complete(j->w[i]->task, 500, NULL, err, false, NULL);
        }
        return -1;
    }
    return 0;
}

/* The job ends with an error (its status as the task's final status). Frees the job. */
static void job_fail(rx_job *j, es_err *err)
{
    buf sb = { 0 };
    json_w sw;
    jw_init(&sw, &sb, false);
    write_job_status(j, &sw, 0);
    task_complete(j->task, err->status ? err->status : es_error_status(err->type), NULL, err, j->keep, sb.p);
    buf_free(&sb);
    es_err_free(err);
    job_unlist(j);
    job_free(j);
}

static void *job_main(void *arg)
{
    rx_job *j = arg;
    rx_request *r = j->r;
    for (int i = 0; i < j->n_w; i++) {
        rx_worker *w = j->w[i];
        pthread_create(&w->fthr, NULL, fetch_main, w);
        pthread_create(&w->wthr, NULL, write_main, w);
    }
    for (int i = 0; i < j->n_w; i++) {
        rx_worker *w = j->w[i];
        pthread_join(w->wthr, NULL);
        pthread_join(w->fthr, NULL);
        /* Ends the read: the remote scroll is cleared here, on success, failure and cancel. */
        w->src->close(w->src);
        w->src = NULL;
        if (r->refresh && !w->has_fatal) {
            es_err e = { 0 };
            if (w->sink->refresh(w->sink, &e)) set_fatal(w, &e);
        }
        w->sink->close(w->sink);
        w->sink = NULL;
        w->finished = true;
    }
    /* Slices end first (their own results, never stored), then the job. */
    int64_t took = mono_nanos() - j->start_ns;
    es_err *fatal = NULL;
    for (int i = 0; i < j->n_w; i++) {
        rx_worker *w = j->w[i];
        if (w->has_fatal && !fatal) fatal = &w->fatal;
        if (w->own_task) {
            char *st = render_worker_status(w, 0);
            task_complete(w->task, w->has_fatal ? es_error_status(w->fatal.type) : 200, st,
                          w->has_fatal ? &w->fatal : NULL, false, st);
            free(st);
        }
    }
    {
        buf sb = { 0 };
        json_w sw;
        jw_init(&sw, &sb, false);
        write_job_status(j, &sw, 0);
        if (fatal) {
            task_complete(j->task, fatal->status ? fatal->status : es_error_status(fatal->type), NULL, fatal, j->keep, sb.p);
        } else {
            int status = 200;
            unsigned flags = (r->human || j->keep) ? ST_HUMAN : 0;
            if (!j->keep) {
                if (r->kind != RX_REINDEX) flags |= ST_NO_CREATED;
                if (r->kind == RX_DELETE_BY_QUERY) flags |= ST_NO_UPDATED;
            }
            char *resp = render_response(j, took, flags, &status);
            task_complete(j->task, status, resp, NULL, j->keep, sb.p);
            free(resp);
        }
        buf_free(&sb);
    }
    job_unlist(j);
    job_free(j);
    return NULL;
}

task *reindex_start(reindex_env *env, rx_request *r, es_err *err)
{
    rx_job *j = xcalloc(1, sizeof *j);
    j->env = env;
    j->r = r;
    j->keep = !r->wait_for_completion;
    j->start_ns = mono_nanos();
    pthread_mutex_init(&j->mu, NULL);
    task_hooks hk = { .status = job_status_hook, .on_cancel = job_cancel_hook, .ctx = j };
    task *t = tasks_register(env->tm, action_of(r->kind), r->description, true, NULL, &hk, err);
    if (!t) {
        pthread_mutex_destroy(&j->mu);
        free(j);
        rx_request_free(r);
        return NULL;
    }
    j->task = task_ref(t);
    pthread_mutex_lock(&env->jobs_mu);
    env->jobs = xrealloc(env->jobs, (env->n_jobs + 1) * sizeof *env->jobs);
    env->jobs[env->n_jobs++] = j;
    pthread_mutex_unlock(&env->jobs_mu);
    es_err perr = { 0 };
    if (job_prepare(j, &perr)) {
        /* the task ends at once with the error (stored when it runs in the background) */
        job_fail(j, &perr);
        return t;
    }
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    if (pthread_create(&th, &at, job_main, j)) {
        pthread_attr_destroy(&at);
        es_err e = { 0 };
        es_err_set(&e, ES_ES_REJECTED_EXECUTION, "cannot start a thread for the reindex job: %s", strerror(errno));
        task_complete(t, 429, NULL, &e, false, NULL);
        es_err_free(&e);
        job_unlist(j);
        job_free(j);
        return t;
    }
    pthread_attr_destroy(&at);
    return t;
}

task *reindex_rethrottle(reindex_env *env, uint64_t id, float rps, es_err *err)
{
    if (!(rps > 0)) rps = INFINITY;
    task *found = NULL;
    pthread_mutex_lock(&env->jobs_mu);
    for (size_t i = 0; i < env->n_jobs && !found; i++) {
        rx_job *j = env->jobs[i];
        pthread_mutex_lock(&j->mu);
        if (task_id(j->task) == id) {
            found = task_ref(j->task);
            if (!j->n_w) j->r->rps = rps;
            int live = 0;
            for (int k = 0; k < j->n_w; k++)
                if (!j->w[k]->finished) live++;
            for (int k = 0; k < j->n_w; k++) {
                rx_worker *w = j->w[k];
                pthread_mutex_lock(&w->mu);
                w->rps = isinf(rps) ? rps : rps / (float)(live ? live : 1);
                pthread_cond_broadcast(&w->cv);
                pthread_mutex_unlock(&w->mu);
            }
        } else {
            for (int k = 0; k < j->n_w && !found; k++) {
                rx_worker *w = j->w[k];
                if (w->own_task && task_id(w->task) == id) {
                    found = task_ref(w->task);
                    pthread_mutex_lock(&w->mu);
                    w->rps = rps;
                    pthread_cond_broadcast(&w->cv);
                    pthread_mutex_unlock(&w->mu);
                }
            }
        }
        pthread_mutex_unlock(&j->mu);
    }
    pthread_mutex_unlock(&env->jobs_mu);
    /* A job stays listed for a moment after its task completed: a finished task is missing. */
    if (found && task_completed(found)) {
        task_release(found);
        found = NULL;
    }
    if (found) return found;
    char idbuf[128];
    snprintf(idbuf, sizeof idbuf, "%s:%" PRIu64, tasks_node_id(env->tm), id);
    task *other = tasks_get(env->tm, id);
    if (other) {
        task_release(other);
        es_err_set(err, ES_RESOURCE_NOT_FOUND, "task [%s] doesn't support this operation", idbuf);
    } else {
        es_err_set(err, ES_RESOURCE_NOT_FOUND, "task [%s] is missing", idbuf);
    }
    return NULL;
}

/* ======================================================================== */
/* The node-wide context                                                    */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    (void)h;
    (void)access;
    reindex_env *env = ud;
    pthread_mutex_lock(&env->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    reindex_env *env = ud;
    pthread_mutex_unlock(&env->share_mu[data]);
}

reindex_env *reindex_env_open(const config *cfg, indices *ix, tasks *tm, const char *version)
{
    pthread_once(&curl_once, curl_init_once);
    reindex_env *env = xcalloc(1, sizeof *env);
    env->cfg = cfg;
    env->ix = ix;
    env->tm = tm;
    env->version = xstrdup(version ? version : "");
    bool wl = config_is_set(cfg, "reindex.remote.whitelist"), al = config_is_set(cfg, "reindex.remote.allowlist");
    env->whitelist_setting = al && !wl ? "reindex.remote.allowlist" : "reindex.remote.whitelist";
    const char *names[] = { "reindex.remote.whitelist", "reindex.remote.allowlist" };
    for (size_t k = 0; k < 2; k++) {
        size_t n = 0;
        const char *const *items = config_list(cfg, names[k], &n);
        for (size_t i = 0; i < n; i++) {
            const char *it = items[i];
            while (*it == ' ') it++;
            size_t l = strlen(it);
            while (l && it[l - 1] == ' ') l--;
            if (!l) continue;
            env->whitelist = xrealloc(env->whitelist, (env->n_whitelist + 1) * sizeof *env->whitelist);
            env->whitelist[env->n_whitelist++] = xstrndup(it, l);
        }
    }
    env->retry_initial_ms = config_time_ms(cfg, "reindex.remote.retry.initial_backoff");
    env->retry_max = (int)config_int(cfg, "reindex.remote.retry.max_count");
    env->remote_slices = config_bool(cfg, "ferry.reindex.remote_slices");
    env->tls = rx_tls_state_new(cfg);
    rx_tls_release(rx_tls_current(env->tls)); /* checks the files now: problems are logged at start */
    for (size_t i = 0; i < ARRAY_LEN(env->share_mu); i++) pthread_mutex_init(&env->share_mu[i], NULL);
    env->share = curl_share_init();
    curl_share_setopt(env->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(env->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(env->share, CURLSHOPT_USERDATA, env);
    curl_share_setopt(env->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(env->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    pthread_mutex_init(&env->jobs_mu, NULL);
    pthread_cond_init(&env->jobs_cv, NULL);
    return env;
}

void reindex_env_close(reindex_env *env)
{
    if (!env) return;
    /* Jobs end once their tasks are cancelled (tasks_stop); wait for their threads to let go. */
    pthread_mutex_lock(&env->jobs_mu);
    struct timespec ts;
    deadline_in(&ts, 30LL * 1000000000LL);
    while (env->n_jobs > 0)
        if (pthread_cond_timedwait(&env->jobs_cv, &env->jobs_mu, &ts) == ETIMEDOUT) break;
    size_t left = env->n_jobs;
    pthread_mutex_unlock(&env->jobs_mu);
    if (left) {
        log_warn("reindex", "%zu reindex job(s) still running at shutdown; leaving their memory", left);
        return;
    }
    curl_share_cleanup(env->share);
    for (size_t i = 0; i < ARRAY_LEN(env->share_mu); i++) pthread_mutex_destroy(&env->share_mu[i]);
    rx_tls_state_free(env->tls);
    for (size_t i = 0; i < env->n_whitelist; i++) free(env->whitelist[i]);
    free(env->whitelist);
    free(env->jobs);
    free(env->version);
    pthread_mutex_destroy(&env->jobs_mu);
    pthread_cond_destroy(&env->jobs_cv);
    free(env);
}
