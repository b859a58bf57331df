/*
 * env.c — one LMDB environment with ferry's coordination around it, its
 * transactions (write transactions keep an operation log that is replayed
 * after map growth), caller-table operations and cursors.
 *
 * Locking, per environment:
 *   wmu   the writer lock, held from write begin to commit/abort. It makes
 *         LMDB's own writer lock uncontended in-process, serializes
 *         mdb_dbi_open (only write transactions open tables), and guarantees
 *         that no other writer runs between a failed attempt and its replay.
 *   smu   guards `readers` (open snapshots), `growing` and `tables_gen`.
 *         Map growth (mdb_env_set_mapsize remaps the file) needs no
 *         transaction alive in the process: the writer has aborted its own,
 *         new snapshots wait while `growing`, and the writer waits (bounded)
 *         for open ones to end. Snapshots cannot hold a pthread rwlock
 *         because they may end on another thread.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LOG_SHRINK_BYTES (8u << 20) /* free a write log above this at txn end */
#define GROW_MAX_ATTEMPTS 48

/* ------------------------------------------------------------------------ */
/* errors */

int senv_err(senv *se, es_err *err, int rc, const char *what)
{
    es_error_type type = ES_INTERNAL;
    const char *hint = "";
    switch (rc) {
    case MDB_READERS_FULL:
        type = ES_ES_REJECTED_EXECUTION;
        hint = " (too many open read snapshots on this shard)";
        break;
    case MDB_TXN_FULL:
        type = ES_ILLEGAL_ARGUMENT;
        hint = " (one transaction changes too much: send smaller bulk requests)";
        break;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        hint = " (disk full: nothing of this write was applied)";
        break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        hint = " (corrupt store)";
        break;
    case MDB_PANIC:
        hint = " (the environment needs a restart)";
        break;
    default:
        break;
    }
    return es_err_set(err, type, "%s store: %s: %s%s", se ? se->label : "[?]", what,
                      mdb_strerror(rc), hint);
}

int txn_failed_err(store_txn *t, es_err *err)
{
    return es_err_set(err, ES_ILLEGAL_STATE,
                      "%s store: the write transaction already failed; abort it", t->se->label);
}

/* ------------------------------------------------------------------------ */
/* environment */

static void senv_free(senv *se)
{
    if (!se) return;
    if (se->env) mdb_env_close(se->env);
    if (se->wtxn) {
        buf_free(&se->wtxn->log);
        free(se->wtxn);
    }
    pthread_mutex_destroy(&se->wmu);
    pthread_mutex_destroy(&se->smu);
    pthread_cond_destroy(&se->scv);
    free(se->path);
    free(se->label);
    free(se);
}

void senv_close(senv *se)
{
    senv_free(se);
}

/* Opens the tables present in the file and the registered ones, in the
 * environment's first transaction. */
static int senv_init_tables(senv *se, MDB_txn *mt, unsigned nslots_init, es_err *err)
{
    MDB_dbi main_dbi;
    MDB_cursor *mc = NULL;
    int rc = mdb_dbi_open(mt, NULL, 0, &main_dbi);
    if (rc) return senv_err(se, err, rc, "opening the main table");
    rc = mdb_cursor_open(mt, main_dbi, &mc);
    if (rc) return senv_err(se, err, rc, "opening a cursor");

    /* Names present in the file: collect first (opening with MDB_CREATE
     * below writes to the main table). */
    char **found = NULL;
    size_t nfound = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(mc, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(mc, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 0 || memchr(k.mv_data, 0, k.mv_size)) continue;
        found = xrealloc(found, (nfound + 1) * sizeof *found);
        found[nfound++] = xstrndup(k.mv_data, k.mv_size);
    }
    mdb_cursor_close(mc);
    int ret = 0;
    if (rc != MDB_NOTFOUND) {
        ret = senv_err(se, err, rc, "listing tables");
        goto out;
    }
    for (size_t i = 0; i < nfound; i++) {
        int slot = slot_names_add(se->names, found[i]);
        if (slot < 0) {
            ret = es_err_set(err, ES_ILLEGAL_STATE, "%s store: too many tables (at most %d)",
                             se->label, SLOT_MAX);
            goto out;
        }
        if (se->slot_gen[slot]) continue;
        rc = mdb_dbi_open(mt, found[i], 0, &se->dbi[slot]);
        if (rc == MDB_INCOMPATIBLE) continue; /* a plain key in the main table: not ours */
        if (rc) {
            ret = senv_err(se, err, rc, "opening a table");
            goto out;
        }
        se->slot_gen[slot] = 1;
    }
    /* Registered tables (and the internal ones) are created now. */
    unsigned n = atomic_load_explicit(&se->names->n, memory_order_acquire);
    if (n < nslots_init) n = nslots_init;
    for (unsigned s = 0; s < n; s++) {
        if (se->slot_gen[s]) continue;
        rc = mdb_dbi_open(mt, se->names->names[s], MDB_CREATE, &se->dbi[s]);
        if (rc) {
            ret = senv_err(se, err, rc, "creating a table");
            goto out;
        }
        se->slot_gen[s] = 1;
    }
out:
    for (size_t i = 0; i < nfound; i++) free(found[i]);
    free(found);
    return ret;
}

senv *senv_open(store *st, const char *path, const char *label, slot_names *names,
                unsigned nslots_init, bool is_shard, size_t map_size, es_err *err)
{
    senv *se = xcalloc(1, sizeof *se);
    se->path = xstrdup(path);
    se->label = xstrdup(label);
    se->st = st;
    se->names = names;
    se->is_shard = is_shard;
    se->max_map_size = store_opt_max_map(st);
    se->grow_wait_ms = store_opt_grow_wait(st);
    se->gc_deletes_ms = store_opt_gc_deletes(st);
    se->tables_gen = 1;

    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&se->wmu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&se->smu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&se->scv, &ca);
    pthread_condattr_destroy(&ca);

    int rc = store_mkdirs(path);
    if (rc) {
        es_err_set(err, ES_INTERNAL, "%s store: cannot create [%s]: %s", label, path, strerror(rc));
        goto fail;
    }
    rc = mdb_env_create(&se->env);
    if (rc) goto lmdb_fail;
    rc = mdb_env_set_maxdbs(se->env, SLOT_MAX);
    if (rc) goto lmdb_fail;
    rc = mdb_env_set_maxreaders(se->env, store_opt_max_readers(st));
    if (rc) goto lmdb_fail;
    /* A new environment gets the configured size. An existing one is opened
     * without a size so LMDB adopts the one persisted in the file (a grown
     * map stays grown); it is raised to the configured size after. */
    char *data_file = xasprintf("%s/data.mdb", path);
    struct stat sb;
    bool fresh = stat(data_file, &sb) != 0;
    free(data_file);
    if (fresh) {
        rc = mdb_env_set_mapsize(se->env, map_size);
        if (rc) goto lmdb_fail;
    }
    rc = mdb_env_open(se->env, path, MDB_NOTLS | MDB_NORDAHEAD, 0644);
    if (rc) goto lmdb_fail;
    MDB_envinfo info;
    mdb_env_info(se->env, &info);
    if (info.me_mapsize < map_size) {
        rc = mdb_env_set_mapsize(se->env, map_size);
        if (rc) goto lmdb_fail;
    }

    MDB_txn *mt;
    rc = mdb_txn_begin(se->env, NULL, 0, &mt);
    if (rc) goto lmdb_fail;
    if (senv_init_tables(se, mt, nslots_init, err) < 0 || (is_shard && doc_env_init(se, mt, err) < 0)) {
        mdb_txn_abort(mt);
        goto fail;
    }
    rc = mdb_txn_commit(mt);
    if (rc) goto lmdb_fail;
    return se;

lmdb_fail:
    senv_err(se, err, rc, "opening the environment");
fail:
    senv_free(se);
    return NULL;
}

/* Grows the map (doubling, up to max_map_size). The caller holds wmu and no
 * write transaction. Waits up to wait_ms for open snapshots to end. err may
 * be NULL (an opportunistic attempt). */
static int senv_grow(senv *se, int wait_ms, es_err *err)
{
    MDB_envinfo info;
    mdb_env_info(se->env, &info);
    size_t cur = info.me_mapsize;
    if (cur >= se->max_map_size) {
        if (err)
            es_err_set(err, ES_ILLEGAL_STATE,
                       "%s store: map size limit of %zu bytes reached; cannot grow", se->label,
                       se->max_map_size);
        return -1;
    }
    size_t want = cur > se->max_map_size / 2 ? se->max_map_size : cur * 2;
    want = (want + 65535) & ~(size_t)65535;

    pthread_mutex_lock(&se->smu);
    se->growing = true;
    if (se->readers > 0 && wait_ms > 0) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += wait_ms / 1000;
        dl.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        while (se->readers > 0)
            if (pthread_cond_timedwait(&se->scv, &se->smu, &dl) == ETIMEDOUT) break;
    }
    int readers = se->readers;
    int rc = readers > 0 ? -1 : mdb_env_set_mapsize(se->env, want);
    se->growing = false;
    pthread_cond_broadcast(&se->scv);
    pthread_mutex_unlock(&se->smu);

    if (readers > 0) {
        if (err)
            es_err_set(err, ES_ES_REJECTED_EXECUTION,
                       "%s store: the shard is full and its map cannot grow from %zu to %zu "
                       "bytes while %d read snapshot(s) of it stay open (scroll contexts?); "
                       "retry later",
                       se->label, cur, want, readers);
        return -1;
    }
    if (rc) {
        if (err) senv_err(se, err, rc, "growing the map");
        return -1;
    }
    atomic_fetch_add(&se->n_grows, 1);
    log_info("store", "%s map grown from %zu to %zu bytes", se->label, cur, want);
    return 0;
}

/* Grows ahead of need when the file uses most of the map, if no snapshot
 * is open right now; keeps replays rare. */
static void senv_maybe_grow(senv *se)
{
    MDB_envinfo info;
    MDB_stat ms;
    if (mdb_env_info(se->env, &info) || mdb_env_stat(se->env, &ms)) return;
    size_t used = (info.me_last_pgno + 1) * (size_t)ms.ms_psize;
    if (used > info.me_mapsize / 4 * 3 && info.me_mapsize < se->max_map_size) senv_grow(se, 0, NULL);
}

/* ------------------------------------------------------------------------ */
/* cursors: bookkeeping on txn end */

static void txn_link_cursor(store_txn *t, store_cursor *c)
{
    c->prev = NULL;
    c->next = t->cursors;
    if (t->cursors) t->cursors->prev = c;
    t->cursors = c;
}

static void txn_unlink_cursor(store_txn *t, store_cursor *c)
{
    if (c->prev) c->prev->next = c->next;
    else t->cursors = c->next;
    if (c->next) c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

/* Marks every cursor of t dead. LMDB frees write-txn cursors itself at txn
 * end; read-txn cursors must be closed by us. */
static void txn_kill_cursors(store_txn *t)
{
    store_cursor *c = t->cursors;
    while (c) {
        store_cursor *n = c->next;
        if (!t->write && c->mc) mdb_cursor_close(c->mc);
        c->mc = NULL;
        c->txn = NULL;
        c->next = c->prev = NULL;
        c = n;
    }
    t->cursors = NULL;
}

/* ------------------------------------------------------------------------ */
/* tables */

int txn_dbi(store_txn *t, unsigned slot, MDB_dbi *dbi)
{
    senv *se = t->se;
    uint64_t g = atomic_load_explicit(&se->slot_gen[slot], memory_order_acquire);
    if (g && (t->write || g <= t->tables_gen)) {
        *dbi = se->dbi[slot];
        return 1;
    }
    if (t->write)
        for (unsigned i = 0; i < t->n_new; i++)
            if (t->new_slots[i] == slot) {
                *dbi = t->new_dbi[i];
                return 1;
            }
    return 0;
}

int txn_dbi_write(store_txn *t, unsigned slot, MDB_dbi *dbi)
{
    if (txn_dbi(t, slot, dbi)) return 0;
    if (slot >= atomic_load_explicit(&t->se->names->n, memory_order_acquire)) return EINVAL;
    int rc = mdb_dbi_open(t->mt, t->se->names->names[slot], MDB_CREATE, dbi);
    if (rc) return rc;
    t->new_slots[t->n_new] = slot;
    t->new_dbi[t->n_new] = *dbi;
    t->n_new++;
    return 0;
}

/* Publishes tables created by t, which just committed. Caller holds smu. */
static void txn_publish_tables(store_txn *t)
{
    senv *se = t->se;
    se->tables_gen++;
    for (unsigned i = 0; i < t->n_new; i++) {
        unsigned s = t->new_slots[i];
        se->dbi[s] = t->new_dbi[i];
        atomic_store_explicit(&se->slot_gen[s], se->tables_gen, memory_order_release);
    }
    t->n_new = 0;
}

/* ------------------------------------------------------------------------ */
/* operation log */

size_t oplog_add(store_txn *t, int kind, unsigned slot, const void *k, size_t kl, const void *v,
                 size_t vl, const void *r, size_t rl, bool borrow_value)
{
    size_t off = (t->log.len + 7) & ~(size_t)7;
    size_t need = (off - t->log.len) + sizeof(oplog_ent) + kl + rl + (borrow_value ? 0 : vl);
    buf_reserve(&t->log, need);
    oplog_ent *o = (oplog_ent *)(t->log.p + off);
    memset(o, 0, sizeof *o);
    o->kind = (uint8_t)kind;
    o->slot = (uint16_t)slot;
    o->borrowed = borrow_value;
    o->klen = kl;
    o->vlen = vl;
    o->rlen = rl;
    size_t pos = off + sizeof *o;
    o->koff = pos;
    if (kl) memcpy(t->log.p + pos, k, kl);
    pos += kl;
    o->roff = pos;
    if (rl) memcpy(t->log.p + pos, r, rl);
    pos += rl;
    if (borrow_value) {
        o->vp = v;
    } else {
        o->voff = pos;
        if (vl) memcpy(t->log.p + pos, v, vl);
        pos += vl;
    }
    t->log.len = pos;
    return off;
}

static size_t oplog_next(store_txn *t, size_t off)
{
    const oplog_ent *o = oplog_at(t, off);
    size_t end = off + sizeof *o + o->klen + o->rlen + (o->borrowed ? 0 : o->vlen);
    return (end + 7) & ~(size_t)7;
}

static int run_rc(store_txn *t, int rc, const char *what, es_err *err)
{
    if (rc == MDB_MAP_FULL) return RUN_MAPFULL;
    return senv_err(t->se, err, rc, what);
}

static int run_put(store_txn *t, oplog_ent *o, es_err *err)
{
    MDB_dbi dbi;
    int rc = txn_dbi_write(t, o->slot, &dbi);
    if (rc) return run_rc(t, rc, "creating a table", err);
    unsigned mf = 0;
    if (o->flags & STORE_KV_NOOVERWRITE) mf |= MDB_NOOVERWRITE;
    if (o->flags & STORE_KV_APPEND) mf |= MDB_APPEND;
    MDB_val key = { o->klen, (void *)op_k(t, o) };
    MDB_val val = { o->vlen, (void *)op_v(t, o) };
    rc = mdb_put(t->mt, dbi, &key, &val, mf);
    if (rc == 0) return 0;
    if (rc == MDB_KEYEXIST) return 1;
    return run_rc(t, rc, "put", err);
}

static int run_del(store_txn *t, oplog_ent *o, es_err *err)
{
    MDB_dbi dbi;
    if (!txn_dbi(t, o->slot, &dbi)) return 0;
    MDB_val key = { o->klen, (void *)op_k(t, o) };
    int rc = mdb_del(t->mt, dbi, &key, NULL);
    if (rc == 0) return 1;
    if (rc == MDB_NOTFOUND) return 0;
    return run_rc(t, rc, "delete", err);
}

static int run_op(store_txn *t, oplog_ent *o, es_err *err)
{
    switch (o->kind) {
    case OP_PUT: return run_put(t, o, err);
    case OP_DEL: return run_del(t, o, err);
    case OP_DOC_INDEX: return doc_run_index(t, o, err);
    case OP_DOC_DELETE: return doc_run_delete(t, o, err);
    }
    return es_err_set(err, ES_INTERNAL, "store: bad log entry");
}

/* Did the op leave the database unchanged (so it needs no replay)? */
static bool op_is_noop(const oplog_ent *o, int outcome)
{
    switch (o->kind) {
    case OP_PUT: return outcome == 1;
    case OP_DEL: return outcome == 0;
    default: return outcome == STORE_REJECTED;
    }
}

/* Drops the LMDB transaction of t after MAP_FULL (or a failed commit). */
static void txn_drop_mdb(store_txn *t)
{
    if (t->mt) mdb_txn_abort(t->mt); /* poisoned; also frees its cursors and new dbis */
    t->mt = NULL;
    t->n_new = 0;
    for (store_cursor *c = t->cursors; c; c = c->next) c->mc = NULL;
}

static int txn_begin_mdb(store_txn *t, es_err *err)
{
    int rc = mdb_txn_begin(t->se->env, NULL, 0, &t->mt);
    if (rc) {
        t->mt = NULL;
        return senv_err(t->se, err, rc, "beginning a write transaction");
    }
    if (t->se->is_shard && doc_txn_load(t, err) < 0) return -1;
    return 0;
}

/* After RUN_MAPFULL: aborts, grows the map and replays the t->nops logged
 * ops that completed, until they fit. The replay must give the same
 * outcomes: no other writer ran (wmu) and the clock is the txn's. */
static int txn_recover(store_txn *t, es_err *err)
{
    for (int attempt = 0; attempt < GROW_MAX_ATTEMPTS; attempt++) {
        txn_drop_mdb(t);
        if (senv_grow(t->se, t->se->grow_wait_ms, err) < 0) return -1;
        if (txn_begin_mdb(t, err) < 0) return -1;
        t->gen++;
        atomic_fetch_add(&t->se->n_replays, 1);

        bool again = false;
        size_t off = 0;
        t->replaying = true;
        for (size_t i = 0; i < t->nops; i++, off = oplog_next(t, off)) {
            oplog_ent *o = oplog_at(t, off);
            store_write_result before = o->res;
            es_err scratch = { 0 };
            int r = run_op(t, o, &scratch);
            es_err_free(&scratch);
            if (r == RUN_MAPFULL) {
                again = true;
                break;
            }
            if (r != o->outcome || (o->kind >= OP_DOC_INDEX && memcmp(&before, &o->res, sizeof before))) {
                t->replaying = false;
                return es_err_set(err, ES_ILLEGAL_STATE,
                                  "%s store: replay after map growth diverged at op %zu", t->se->label, i);
            }
        }
        t->replaying = false;
        if (!again) return 0;
    }
    return es_err_set(err, ES_ILLEGAL_STATE, "%s store: map growth did not make room", t->se->label);
}

int txn_exec(store_txn *t, size_t off, es_err *err)
{
    for (;;) {
        int r = run_op(t, oplog_at(t, off), err);
        if (r == RUN_MAPFULL) {
            if (txn_recover(t, err) < 0) {
                t->failed = true;
                return -1;
            }
            continue;
        }
        if (r < 0) {
            t->failed = true;
            return -1;
        }
        oplog_ent *o = oplog_at(t, off);
        o->outcome = r;
        if (op_is_noop(o, r))
            t->log.len = off; /* nothing to replay: forget it */
        else
            t->nops++;
        return r;
    }
}

/* ------------------------------------------------------------------------ */
/* write transactions */

int senv_write_begin(senv *se, store_index *idx, store_txn **out, es_err *err)
{
    *out = NULL;
    int r = pthread_mutex_lock(&se->wmu);
    if (r == EDEADLK)
        return es_err_set(err, ES_ILLEGAL_STATE,
                          "%s store: this thread already has a write transaction on this shard",
                          se->label);
    store_txn *t = se->wtxn;
    if (!t) t = se->wtxn = xcalloc(1, sizeof *t);
    buf log = t->log;
    memset(t, 0, sizeof *t);
    t->log = log;
    buf_reset(&t->log);
    t->se = se;
    t->idx = idx;
    t->write = true;
    t->now_ms = now_millis();

    senv_maybe_grow(se);
    if (txn_begin_mdb(t, err) < 0) {
        if (t->mt) mdb_txn_abort(t->mt);
        t->mt = NULL;
        t->idx = NULL;
        pthread_mutex_unlock(&se->wmu);
        return -1;
    }
    *out = t;
    return 0;
}

/* Ends a write txn (committed or not). Releases the writer lock. Does not
 * touch the index reference: the caller does, after this returns. */
static void write_end(store_txn *t)
{
    senv *se = t->se;
    if (t->mt) mdb_txn_abort(t->mt);
    t->mt = NULL;
    t->n_new = 0;
    txn_kill_cursors(t);
    if (t->log.cap > LOG_SHRINK_BYTES) buf_free(&t->log);
    else buf_reset(&t->log);
    t->nops = 0;
    t->idx = NULL;
    pthread_mutex_unlock(&se->wmu);
}

int senv_write_commit(store_txn *t, es_err *err)
{
    senv *se = t->se;
    if (t->failed) {
        txn_failed_err(t, err);
        write_end(t);
        return -1;
    }
    for (;;) {
        int r = se->is_shard ? doc_txn_finish(t, err) : 0;
        if (r == 0) {
            int rc;
            if (t->n_new) {
                pthread_mutex_lock(&se->smu);
                rc = mdb_txn_commit(t->mt);
                t->mt = NULL;
                if (rc == 0) txn_publish_tables(t);
                pthread_mutex_unlock(&se->smu);
            } else {
                rc = mdb_txn_commit(t->mt);
                t->mt = NULL;
            }
            if (rc == 0) break;
            r = rc == MDB_MAP_FULL ? RUN_MAPFULL : senv_err(se, err, rc, "commit");
        }
        if (r == RUN_MAPFULL && txn_recover(t, err) == 0) continue;
        write_end(t);
        return -1;
    }
    write_end(t);
    return 0;
}

void senv_write_abort(store_txn *t)
{
    write_end(t);
}

/* ------------------------------------------------------------------------ */
/* read snapshots */

int senv_read_begin(senv *se, store_index *idx, store_txn **out, es_err *err)
{
    *out = NULL;
    store_txn *t = xcalloc(1, sizeof *t);
    t->se = se;
    t->idx = idx;
    pthread_mutex_lock(&se->smu);
    while (se->growing) pthread_cond_wait(&se->scv, &se->smu);
    int rc = mdb_txn_begin(se->env, NULL, MDB_RDONLY, &t->mt);
    if (rc == 0) {
        se->readers++;
        t->tables_gen = se->tables_gen;
    }
    pthread_mutex_unlock(&se->smu);
    if (rc) {
        free(t);
        return senv_err(se, err, rc, "beginning a read snapshot");
    }
    *out = t;
    return 0;
}

void senv_read_end(store_txn *t)
{
    senv *se = t->se;
    txn_kill_cursors(t);
    mdb_txn_abort(t->mt);
    pthread_mutex_lock(&se->smu);
    se->readers--;
    if (se->readers == 0) pthread_cond_broadcast(&se->scv);
    pthread_mutex_unlock(&se->smu);
    free(t);
}

/* ------------------------------------------------------------------------ */
/* slot-level operations */

int txn_put(store_txn *t, unsigned slot, const void *k, size_t kl, const void *v, size_t vl,
            unsigned flags, es_err *err)
{
    if (!t->write) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: put on a read snapshot");
    if (t->failed) return txn_failed_err(t, err);
    if (kl == 0 || kl > STORE_MAX_KEY_LEN) {
        t->failed = true;
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: key length %zu out of range [1, %d]", kl,
                          STORE_MAX_KEY_LEN);
    }
    size_t off = oplog_add(t, OP_PUT, slot, k, kl, v, vl, NULL, 0, flags & STORE_KV_BORROW);
    oplog_at(t, off)->flags = flags;
    return txn_exec(t, off, err);
}

int txn_del(store_txn *t, unsigned slot, const void *k, size_t kl, es_err *err)
{
    if (!t->write) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: delete on a read snapshot");
    if (t->failed) return txn_failed_err(t, err);
    if (kl == 0 || kl > STORE_MAX_KEY_LEN) return 0; /* cannot exist */
    size_t off = oplog_add(t, OP_DEL, slot, k, kl, NULL, 0, NULL, 0, false);
    return txn_exec(t, off, err);
}

int txn_get(store_txn *t, unsigned slot, const void *k, size_t kl, MDB_val *v, es_err *err)
{
    if (t->failed) return txn_failed_err(t, err);
    if (kl == 0 || kl > STORE_MAX_KEY_LEN) return 0;
    MDB_dbi dbi;
    if (!txn_dbi(t, slot, &dbi)) return 0;
    MDB_val key = { kl, (void *)k };
    int rc = mdb_get(t->mt, dbi, &key, v);
    if (rc == 0) return 1;
    if (rc == MDB_NOTFOUND) return 0;
    return senv_err(t->se, err, rc, "get");
}

/* ------------------------------------------------------------------------ */
/* cursors */

enum { CUR_FRESH = 0, CUR_ON, CUR_END };

int cursor_open_slot(store_txn *t, unsigned slot, bool docs, const store_range *range,
                     store_cursor **out, es_err *err)
{
    *out = NULL;
    if (t->failed) return txn_failed_err(t, err);
    store_cursor *c = xcalloc(1, sizeof *c);
    c->txn = t;
    c->slot = slot;
    c->docs = docs;
    if (range) {
        if (range->lo.len) buf_append(&c->lo, range->lo.p, range->lo.len);
        if (range->hi.len) buf_append(&c->hi, range->hi.p, range->hi.len);
        if (range->prefix.len) buf_append(&c->prefix, range->prefix.p, range->prefix.len);
    }
    txn_link_cursor(t, c);
    *out = c;
    return 0;
}

static int keycmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int r = n ? memcmp(a, b, n) : 0;
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

int cursor_step(store_cursor *c, MDB_val *k, MDB_val *v, es_err *err)
{
    store_txn *t = c->txn;
    if (!t) return es_err_set(err, ES_ILLEGAL_STATE, "store: cursor used after its transaction ended");
    if (t->failed) return txn_failed_err(t, err);
    if (c->state == CUR_END) return 0;

    int rc;
    if (!c->mc || c->gen != t->gen) {
        /* First use, or the write txn was replayed: (re)open and put the
         * cursor back on the key it was on. */
        c->mc = NULL;
        MDB_dbi dbi;
        if (!txn_dbi(t, c->slot, &dbi)) {
            c->state = CUR_END;
            return 0;
        }
        rc = mdb_cursor_open(t->mt, dbi, &c->mc);
        if (rc) {
            c->mc = NULL;
            return senv_err(t->se, err, rc, "opening a cursor");
        }
        c->gen = t->gen;
        if (c->state == CUR_ON) {
            MDB_val key = { c->last.len, c->last.p }, val;
            rc = mdb_cursor_get(c->mc, &key, &val, MDB_SET_RANGE);
            if (rc == MDB_NOTFOUND) {
                c->state = CUR_END;
                return 0;
            }
            if (rc) return senv_err(t->se, err, rc, "repositioning a cursor");
            c->pending = keycmp(key.mv_data, key.mv_size, c->last.p, c->last.len) != 0;
        }
    }

    MDB_val key, val;
    if (c->state == CUR_FRESH) {
        const buf *seek = &c->lo;
        if (c->prefix.len && keycmp(c->prefix.p, c->prefix.len, c->lo.p, c->lo.len) > 0) seek = &c->prefix;
        if (seek->len) {
            key.mv_size = seek->len;
            key.mv_data = seek->p;
            rc = mdb_cursor_get(c->mc, &key, &val, MDB_SET_RANGE);
        } else {
            rc = mdb_cursor_get(c->mc, &key, &val, MDB_FIRST);
        }
    } else if (c->pending) {
        c->pending = false;
        rc = mdb_cursor_get(c->mc, &key, &val, MDB_GET_CURRENT);
    } else {
        rc = mdb_cursor_get(c->mc, &key, &val, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
        c->state = CUR_END;
        return 0;
    }
    if (rc) return senv_err(t->se, err, rc, "cursor step");
    if ((c->hi.len && keycmp(key.mv_data, key.mv_size, c->hi.p, c->hi.len) >= 0) ||
        (c->prefix.len &&
         (key.mv_size < c->prefix.len || memcmp(key.mv_data, c->prefix.p, c->prefix.len) != 0))) {
        c->state = CUR_END;
        return 0;
    }
    c->state = CUR_ON;
    if (t->write) {
        buf_reset(&c->last);
        buf_append(&c->last, key.mv_data, key.mv_size);
    }
    *k = key;
    *v = val;
    return 1;
}

void store_cursor_close(store_cursor *c)
{
    if (!c) return;
    store_txn *t = c->txn;
    if (t) {
        txn_unlink_cursor(t, c);
        if (c->mc && c->gen == t->gen) mdb_cursor_close(c->mc);
    }
    buf_free(&c->lo);
    buf_free(&c->hi);
    buf_free(&c->prefix);
    buf_free(&c->last);
    free(c);
}
