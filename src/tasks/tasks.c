/*
 * tasks.c — the task registry, cancellation, waiting, TaskInfo rendering and
 * the .tasks result index.
 */
#include "tasks/tasks.h"

#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct task {
    atomic_int refs;
    tasks *tm;
    uint64_t id;
    char *action;
    char *description;
    bool cancellable;
    task *parent;               /* reference held */
    task_hooks hooks;
    int64_t start_millis;
    int64_t start_nanos;
    atomic_bool cancelled;
    char *cancel_reason;        /* set once, under tm->mu */
    /* completion (under tm->mu) */
    bool frozen;                /* hooks are no longer called: final_status stands for them */
    int hooks_busy;             /* hook calls in flight */
    char *final_status;
    bool completed;
    int64_t end_nanos;
    int status;
    char *response;
    es_err err;
    bool has_err;
};

struct tasks {
    indices *ix;
    char node_id[40];
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* broadcast on every completion */
    uint64_t next_id;
    task **running;
    size_t n_running, cap;
    bool stopping;
    pthread_mutex_t store_mu;   /* serialises the creation of .tasks */
};

/* ======================================================================== */
/* Ids                                                                      */

int task_id_parse(const char *s, char **node, uint64_t *id, es_err *err)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || colon == s || !colon[1]) goto bad;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9') goto bad;
    errno = 0;
    unsigned long long v = strtoull(colon + 1, NULL, 10);
    if (errno || v > INT64_MAX) goto bad;
    if (node) *node = xstrndup(s, (size_t)(colon - s));
    *id = v;
    return 0;
bad:
    return es_err_set(err, ES_ILLEGAL_ARGUMENT, "malformed task id %s", s ? s : "");
}

void tasks_time_human(int64_t nanos, char out[32])
{
    /* TimeValue.toString: the largest unit in which the value is at least 1, one decimal. */
    static const struct { const char *unit; int64_t nanos; } units[] = {
        { "d", 86400000000000LL }, { "h", 3600000000000LL }, { "m", 60000000000LL },
        { "s", 1000000000LL },     { "ms", 1000000LL },      { "micros", 1000LL },
    };
    if (nanos <= 0) {
        snprintf(out, 32, "0s");
        return;
    }
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (nanos >= units[i].nanos) {
            double v = (double)nanos / (double)units[i].nanos;
            if (nanos % units[i].nanos == 0) {
                snprintf(out, 32, "%" PRId64 "%s", nanos / units[i].nanos, units[i].unit);
            } else {
                char tmp[32];
                snprintf(tmp, sizeof tmp, "%.1f", v);
                size_t n = strlen(tmp);
                if (n > 2 && !strcmp(tmp + n - 2, ".0")) tmp[n - 2] = 0;
                snprintf(out, 32, "%s%s", tmp, units[i].unit);
            }
            return;
        }
    }
    snprintf(out, 32, "%" PRId64 "nanos", nanos);
}

/* ======================================================================== */
/* The .tasks index                                                         */

/* Highest task number stored for this node, so numbering continues after a restart. */
static uint64_t highest_stored_id(tasks *tm)
{
    store *st = indices_store(tm->ix);
    store_index *si = store_index_get(st, TASKS_INDEX);
    if (!si) return 0;
    uint64_t max = 0;
    size_t nl = strlen(tm->node_id);
    for (uint32_t sh = 0; sh < store_index_num_shards(si); sh++) {
        store_txn *snap = NULL;
        es_err err = { 0 };
        if (store_read_begin(si, sh, &snap, &err)) {
            es_err_free(&err);
            continue;
        }
        store_cursor *cur = NULL;
        if (store_docs_open(snap, 0, &cur, &err) == 0) {
            store_doc d;
            while (store_docs_next(cur, &d, &err) == 1) {
                if (d.idlen > nl + 1 && !memcmp(d.id, tm->node_id, nl) && d.id[nl] == ':') {
                    uint64_t v = 0;
                    bool ok = true;
                    for (size_t i = nl + 1; i < d.idlen; i++) {
                        if (d.id[i] < '0' || d.id[i] > '9') {
                            ok = false;
                            break;
                        }
                        v = v * 10 + (uint64_t)(d.id[i] - '0');
                    }
                    if (ok && v > max) max = v;
                }
            }
            store_cursor_close(cur);
        }
        es_err_free(&err);
        store_read_end(snap);
    }
    store_index_release(si);
    return max;
}

static const char TASKS_INDEX_BODY[] =
    "{\"settings\":{\"index.hidden\":true,\"index.number_of_shards\":1,\"index.auto_expand_replicas\":\"0-1\"},"
    "\"mappings\":{\"dynamic\":false,\"properties\":{"
    "\"completed\":{\"type\":\"boolean\"},"
    "\"task\":{\"properties\":{\"action\":{\"type\":\"keyword\"},\"cancellable\":{\"type\":\"boolean\"},"
    "\"cancelled\":{\"type\":\"boolean\"},\"description\":{\"type\":\"text\"},\"id\":{\"type\":\"long\"},"
    "\"node\":{\"type\":\"keyword\"},\"parent_task_id\":{\"type\":\"keyword\"},"
    "\"running_time_in_nanos\":{\"type\":\"long\"},\"start_time_in_millis\":{\"type\":\"long\"},"
    "\"type\":{\"type\":\"keyword\"}}}}}}";

static int ensure_tasks_index(tasks *tm, es_err *err)
{
    index_view *v = indices_get(tm->ix, TASKS_INDEX);
    if (v) {
        index_view_release(v);
        return 0;
    }
    pthread_mutex_lock(&tm->store_mu);
    int rc = 0;
    v = indices_get(tm->ix, TASKS_INDEX);
    if (v) {
        index_view_release(v);
    } else {
        json_err je;
        json_doc *doc = json_parse(TASKS_INDEX_BODY, sizeof TASKS_INDEX_BODY - 1, NULL, &je);
        es_err e = { 0 };
        if (!doc) {
            rc = es_err_set(err, ES_ILLEGAL_STATE, "bad .tasks definition: %s", je.msg);
        } else if (indices_create(tm->ix, TASKS_INDEX, json_doc_root(doc), NULL, &e)) {
            if (e.type != ES_RESOURCE_ALREADY_EXISTS) {
                *err = e;
                memset(&e, 0, sizeof e);
                rc = -1;
            }
        }
        es_err_free(&e);
        json_doc_free(doc);
    }
    pthread_mutex_unlock(&tm->store_mu);
    return rc;
}

int tasks_stored_result(tasks *tm, const char *task_id, char **json, size_t *len, es_err *err)
{
    *json = NULL;
    *len = 0;
    store *st = indices_store(tm->ix);
    store_index *si = store_index_get(st, TASKS_INDEX);
    if (!si) return 0;
    size_t idlen = strlen(task_id);
    uint32_t shard = store_shard_for(si, task_id, idlen);
    store_txn *snap = NULL;
    int rc = 0;
    if (store_read_begin(si, shard, &snap, err)) {
        rc = -1;
    } else {
        store_doc d;
        int f = store_doc_get(snap, task_id, idlen, &d, err);
        if (f < 0) {
            rc = -1;
        } else if (f == 1) {
            *json = xstrndup(d.source, d.srclen);
            *len = d.srclen;
            rc = 1;
        }
        store_read_end(snap);
    }
    store_index_release(si);
    return rc;
}

/* ======================================================================== */
/* Errors as Elasticsearch renders them (generateThrowableXContent)         */

void tasks_write_error(json_w *w, const es_err *err)
{
    jw_obj_begin(w);
    jw_kstr(w, "type", es_err_type_name(err));
    jw_kstr(w, "reason", err->reason);
    for (size_t i = 0; i < err->n_extra; i++) {
        jw_key(w, err->extra[i].key);
        if (err->extra[i].raw) jw_raw(w, err->extra[i].value, strlen(err->extra[i].value));
        else jw_str(w, err->extra[i].value);
    }
    if (err->caused_by) {
        jw_key(w, "caused_by");
        tasks_write_error(w, err->caused_by);
    }
    jw_obj_end(w);
}

static es_err *err_copy(const es_err *src)
{
    es_err *e = xcalloc(1, sizeof *e);
    e->type = src->type;
    e->status = src->status;
    e->type_name = src->type_name;
    e->reason = xstrdup(src->reason ? src->reason : "");
    for (size_t i = 0; i < src->n_extra; i++) es_err_extra(e, src->extra[i].key, src->extra[i].value, src->extra[i].raw);
    if (src->caused_by) e->caused_by = err_copy(src->caused_by);
    return e;
}

/* ======================================================================== */
/* Manager                                                                  */

tasks *tasks_new(indices *ix, const char *node_id)
{
    tasks *tm = xcalloc(1, sizeof *tm);
    tm->ix = ix;
    snprintf(tm->node_id, sizeof tm->node_id, "%s", node_id);
    pthread_mutex_init(&tm->mu, NULL);
    pthread_cond_init(&tm->cv, NULL);
    pthread_mutex_init(&tm->store_mu, NULL);
    tm->next_id = highest_stored_id(tm) + 1;
    return tm;
}

const char *tasks_node_id(const tasks *tm)
{
    return tm->node_id;
}

void tasks_stop(tasks *tm, int64_t wait_ms)
{
    task **list = NULL;
    pthread_mutex_lock(&tm->mu);
    tm->stopping = true;
    pthread_mutex_unlock(&tm->mu);
    size_t n = tasks_list(tm, &list);
    for (size_t i = 0; i < n; i++) {
        es_err e = { 0 };
        if (list[i]->cancellable) task_cancel(list[i], TASK_CANCEL_SHUTDOWN, &e);
        es_err_free(&e);
    }
    tasks_list_free(list, n);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&tm->mu);
    while (tm->n_running > 0)
        if (pthread_cond_timedwait(&tm->cv, &tm->mu, &until) == ETIMEDOUT) break;
    size_t left = tm->n_running;
    pthread_mutex_unlock(&tm->mu);
    if (left) log_warn("tasks", "%zu task(s) still running at shutdown", left);
}

void tasks_free(tasks *tm)
{
    if (!tm) return;
    free(tm->running);
    pthread_mutex_destroy(&tm->mu);
    pthread_cond_destroy(&tm->cv);
    pthread_mutex_destroy(&tm->store_mu);
    free(tm);
}

task *tasks_register(tasks *tm, const char *action, const char *description, bool cancellable, task *parent,
                     const task_hooks *hooks, es_err *err)
{
    pthread_mutex_lock(&tm->mu);
    if (tm->stopping) {
        pthread_mutex_unlock(&tm->mu);
        es_err_set(err, ES_ES_REJECTED_EXECUTION, "rejected execution of task [%s]: the node is shutting down", action);
        return NULL;
    }
    task *t = xcalloc(1, sizeof *t);
    atomic_init(&t->refs, 2); /* the caller's and the registry's */
    t->tm = tm;
    t->id = tm->next_id++;
    t->action = xstrdup(action);
    t->description = xstrdup(description ? description : "");
    t->cancellable = cancellable;
    t->parent = parent ? task_ref(parent) : NULL;
    if (hooks) t->hooks = *hooks;
    t->start_millis = now_millis();
    t->start_nanos = mono_nanos();
    atomic_init(&t->cancelled, false);
    /* A child of a cancelled parent starts cancelled. */
    bool cancel_now = parent && atomic_load(&parent->cancelled);
    if (cancel_now) {
        atomic_store(&t->cancelled, true);
        t->cancel_reason = xstrdup(parent->cancel_reason ? parent->cancel_reason : TASK_CANCEL_BY_USER);
    }
    if (tm->n_running == tm->cap) {
        tm->cap = tm->cap ? tm->cap * 2 : 16;
        tm->running = xrealloc(tm->running, tm->cap * sizeof *tm->running);
    }
    tm->running[tm->n_running++] = t;
    pthread_mutex_unlock(&tm->mu);
    return t;
}

task *task_ref(task *t)
{
    atomic_fetch_add(&t->refs, 1);
    return t;
}

void task_release(task *t)
{
    if (!t) return;
    if (atomic_fetch_sub(&t->refs, 1) != 1) return;
    task_release(t->parent);
    free(t->action);
    free(t->description);
    free(t->cancel_reason);
    free(t->final_status);
    free(t->response);
    es_err_free(&t->err);
    free(t);
}

uint64_t task_id(const task *t)
{
    return t->id;
}

void task_id_string(const task *t, char out[64])
{
    snprintf(out, 64, "%s:%" PRIu64, t->tm->node_id, t->id);
}

const char *task_action(const task *t)
{
    return t->action;
}

task *task_parent(const task *t)
{
    return t->parent;
}

bool task_cancelled(const task *t)
{
    return atomic_load(&t->cancelled);
}

const char *task_cancel_reason(const task *t)
{
    if (!atomic_load(&t->cancelled)) return NULL;
    return t->cancel_reason;
}

int task_cancel(task *t, const char *reason, es_err *err)
{
    char idbuf[64];
    if (!t->cancellable) {
        task_id_string(t, idbuf);
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "task [%s] doesn't support cancellation", idbuf);
    }
    tasks *tm = t->tm;
    pthread_mutex_lock(&tm->mu);
    bool first = !atomic_load(&t->cancelled);
    if (first) {
        t->cancel_reason = xstrdup(reason ? reason : TASK_CANCEL_BY_USER);
        atomic_store(&t->cancelled, true);
    }
    /* Children: every running task whose parent is t. */
    task **kids = NULL;
    size_t nk = 0;
    for (size_t i = 0; i < tm->n_running; i++) {
        if (tm->running[i]->parent == t) {
            kids = xrealloc(kids, (nk + 1) * sizeof *kids);
            kids[nk++] = task_ref(tm->running[i]);
        }
    }
    bool call = first && t->hooks.on_cancel && !t->frozen;
    if (call) t->hooks_busy++;
    pthread_mutex_unlock(&tm->mu);
    if (call) {
        t->hooks.on_cancel(t->hooks.ctx);
        pthread_mutex_lock(&tm->mu);
        t->hooks_busy--;
        pthread_cond_broadcast(&tm->cv);
        pthread_mutex_unlock(&tm->mu);
    }
    for (size_t i = 0; i < nk; i++) {
        es_err e = { 0 };
        task_cancel(kids[i], reason, &e);
        es_err_free(&e);
        task_release(kids[i]);
    }
    free(kids);
    return 0;
}

/* The stored TaskResult document. */
static char *result_document(task *t, const char *response_json, const es_err *err)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_obj_begin(&w);
    jw_kbool(&w, "completed", true);
    jw_key(&w, "task");
    task_write_info(t, &w, true, false);
    if (err && es_err_isset(err)) {
        jw_key(&w, "error");
        tasks_write_error(&w, err);
    } else if (response_json) {
        jw_key(&w, "response");
        jw_raw(&w, response_json, strlen(response_json));
    }
    jw_obj_end(&w);
    return buf_detach(&b, NULL);
}

static void save_result(task *t, const char *doc)
{
    tasks *tm = t->tm;
    es_err err = { 0 };
    if (ensure_tasks_index(tm, &err)) {
        log_error("tasks", "cannot create the [%s] index to store a task result: %s", TASKS_INDEX, err.reason);
        es_err_free(&err);
        return;
    }
    char idbuf[64];
    task_id_string(t, idbuf);
    write_op op = { 0 };
    op.kind = WOP_INDEX;
    op.index = TASKS_INDEX;
    op.id = idbuf;
    op.source = doc;
    op.source_len = strlen(doc);
    write_result res = { 0 };
    write_opts wo = { .auto_create = false };
    if (indices_write(tm->ix, &op, 1, &wo, &res, &err)) {
        log_error("tasks", "cannot store the result of task [%s]: %s", idbuf, err.reason);
    } else if (es_err_isset(&res.err)) {
        log_error("tasks", "cannot store the result of task [%s]: %s", idbuf, res.err.reason);
    }
    write_result_free(&res);
    es_err_free(&err);
}

void task_complete(task *t, int status, const char *response_json, const es_err *err, bool keep,
                   const char *final_status)
{
    tasks *tm = t->tm;
    pthread_mutex_lock(&tm->mu);
    if (t->completed || t->frozen) {
        pthread_mutex_unlock(&tm->mu);
        return;
    }
    /* From now on the owner's hooks are not called: wait for calls in flight. */
    t->frozen = true;
    t->final_status = final_status ? xstrdup(final_status) : NULL;
    while (t->hooks_busy > 0) pthread_cond_wait(&tm->cv, &tm->mu);
    t->end_nanos = mono_nanos();
    t->status = status;
    if (err && es_err_isset(err)) {
        es_err *c = err_copy(err);
        t->err = *c;
        free(c);
        t->has_err = true;
    } else {
        t->response = xstrdup(response_json ? response_json : "{}");
    }
    pthread_mutex_unlock(&tm->mu);

    /* Stored before the task leaves the running list, so a reader never misses both. */
    if (keep) {
        char *doc = result_document(t, t->has_err ? NULL : t->response, t->has_err ? &t->err : NULL);
        save_result(t, doc);
        free(doc);
    }

    pthread_mutex_lock(&tm->mu);
    t->completed = true;
    for (size_t i = 0; i < tm->n_running; i++) {
        if (tm->running[i] == t) {
            memmove(&tm->running[i], &tm->running[i + 1], (tm->n_running - i - 1) * sizeof *tm->running);
            tm->n_running--;
            break;
        }
    }
    pthread_cond_broadcast(&tm->cv);
    pthread_mutex_unlock(&tm->mu);
    task_release(t); /* the registry's reference */
}

bool task_completed(const task *t)
{
    tasks *tm = t->tm;
    pthread_mutex_lock(&tm->mu);
    bool c = t->completed;
    pthread_mutex_unlock(&tm->mu);
    return c;
}

int task_result(const task *t, int *status, const char **response_json, es_err *err)
{
    *status = t->status;
    *response_json = t->response;
    if (t->has_err) {
        es_err *c = err_copy(&t->err);
        *err = *c;
        free(c);
        return 1;
    }
    return 0;
}

int task_wait(task *t, int64_t timeout_ms)
{
    tasks *tm = t->tm;
    struct timespec until;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
    }
    pthread_mutex_lock(&tm->mu);
    while (!t->completed) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&tm->cv, &tm->mu);
        } else if (pthread_cond_timedwait(&tm->cv, &tm->mu, &until) == ETIMEDOUT) {
            break;
        }
    }
    bool done = t->completed;
    pthread_mutex_unlock(&tm->mu);
    return done ? 1 : 0;
}

static void write_iso_millis(json_w *w, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tmv;
    gmtime_r(&s, &tmv);
    char out[48];
    snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
             tmv.tm_hour, tmv.tm_min, tmv.tm_sec, (int)(ms % 1000));
    jw_str(w, out);
}

void task_write_info(const task *t, json_w *w, bool detailed, bool human)
{
    tasks *tm = t->tm;
    pthread_mutex_lock(&tm->mu);
    bool completed = t->completed;
    int64_t end = completed ? t->end_nanos : mono_nanos();
    pthread_mutex_unlock(&tm->mu);
    jw_obj_begin(w);
    jw_kstr(w, "node", tm->node_id);
    jw_kint(w, "id", (int64_t)t->id);
    jw_kstr(w, "type", "transport");
    jw_kstr(w, "action", t->action);
    if (detailed) {
        pthread_mutex_lock(&tm->mu);
        bool frozen = t->frozen;
        bool call = !frozen && t->hooks.status;
        task *mt = (task *)t; /* the busy counter is bookkeeping, not the task's state */
        if (call) mt->hooks_busy++;
        pthread_mutex_unlock(&tm->mu);
        if (call) {
            jw_key(w, "status");
            t->hooks.status(t->hooks.ctx, w);
            pthread_mutex_lock(&tm->mu);
            mt->hooks_busy--;
            pthread_cond_broadcast(&tm->cv);
            pthread_mutex_unlock(&tm->mu);
        } else if (frozen && t->final_status) {
            jw_key(w, "status");
            jw_raw(w, t->final_status, strlen(t->final_status));
        }
    }
    if (detailed) jw_kstr(w, "description", t->description);
    if (human) {
        jw_key(w, "start_time");
        write_iso_millis(w, t->start_millis);
    }
    jw_kint(w, "start_time_in_millis", t->start_millis);
    int64_t running = end - t->start_nanos;
    if (human) {
        char hb[32];
        tasks_time_human(running, hb);
        jw_kstr(w, "running_time", hb);
    }
    jw_kint(w, "running_time_in_nanos", running);
    jw_kbool(w, "cancellable", t->cancellable);
    if (t->cancellable) jw_kbool(w, "cancelled", atomic_load(&t->cancelled));
    if (t->parent) {
        char pid[64];
        task_id_string(t->parent, pid);
        jw_kstr(w, "parent_task_id", pid);
    }
    jw_key(w, "headers");
    jw_obj_begin(w);
    jw_obj_end(w);
    jw_obj_end(w);
}

task *tasks_get(tasks *tm, uint64_t id)
{
    task *found = NULL;
    pthread_mutex_lock(&tm->mu);
    for (size_t i = 0; i < tm->n_running; i++) {
        if (tm->running[i]->id == id) {
            found = task_ref(tm->running[i]);
            break;
        }
    }
    pthread_mutex_unlock(&tm->mu);
    return found;
}

size_t tasks_list(tasks *tm, task ***out)
{
    pthread_mutex_lock(&tm->mu);
    size_t n = tm->n_running;
    task **list = xcalloc(n ? n : 1, sizeof *list);
    for (size_t i = 0; i < n; i++) list[i] = task_ref(tm->running[i]);
    pthread_mutex_unlock(&tm->mu);
    /* Registration order is id order; completion only removes. */
    *out = list;
    return n;
}

void tasks_list_free(task **list, size_t n)
{
    for (size_t i = 0; i < n; i++) task_release(list[i]);
    free(list);
}
