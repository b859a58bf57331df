/*
 * node.c — the node store: open/close, the node lock, _state (node ids,
 * metadata version, index records), the index registry with refcounted
 * handles, lazily opened shard environments, and the public wrappers that
 * take an index + shard.
 *
 * _state tables:
 *   indices  key: index name  val: index record (below)
 *   node     "node_id", "cluster_uuid" -> 22 chars; "meta_version" -> i64 LE
 *
 * Index record: format u32 = 1 | uuid 22 bytes | number_of_shards u32 |
 *   creation_date i64 | version i64 | settings_version i64 |
 *   mappings_version i64 | aliases_version i64 | settings_len u32 |
 *   mappings_len u32 | aliases_len u32 | settings | mappings | aliases
 *   (integers little-endian).
 *
 * Locks: meta_mu serializes metadata changes (create, delete, update) across
 * their _state transaction and the in-memory swap, so the registry always
 * matches _state; map_lock (rwlock) guards the sorted index array for
 * lookups; an index's mu guards its metadata pointer and shard opening.
 */
#include "store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SHARD_MAP (32ull << 30)
#define DEFAULT_STATE_MAP (64ull << 20)
#define DEFAULT_MAX_MAP (4ull << 40)
#define DEFAULT_MAX_READERS 1024
#define DEFAULT_GROW_WAIT_MS 2000
#define DEFAULT_GC_DELETES_MS 60000
#define MAX_INDEX_NAME 255
#define MAX_SHARDS 1024
#define MAX_TABLE_NAME 64
#define REC_HDR 82

typedef struct meta_box {
    _Atomic int ref;
    store_index_meta m;
} meta_box;

struct store_index {
    store *st;
    _Atomic int ref;
    _Atomic bool deleted;
    const char *name;    /* = meta->m.name of the first box (names never change) */
    char uuid[23];
    uint32_t nshards;
    int64_t creation_date;
    char *dir;
    char *name_own;
    pthread_mutex_t mu;        /* guards meta */
    meta_box *meta;
    _Atomic(senv *) *shards;
    pthread_mutex_t *open_mu;  /* per shard: serializes opening its environment */
};

struct store {
    char *path;
    char *indices_path;
    int lock_fd;
    size_t shard_map, state_map, max_map;
    unsigned max_readers;
    int grow_wait_ms;
    int64_t gc_deletes_ms;

    slot_names shard_slots, state_slots;
    senv *state;

    pthread_mutex_t meta_mu;
    pthread_rwlock_t map_lock;
    store_index **idx;
    size_t nidx, capidx;
    _Atomic int64_t meta_version;
    char node_id[23], cluster_uuid[23];
};

static const char *const SHARD_INTERNAL[] = { "_docs", "_ids", "_meta", "_tombs" };
static const char *const STATE_TABLES[] = { "indices", "node" };

/* ------------------------------------------------------------------------ */
/* options, accessors used by env.c */

slot_names *store_shard_slots(store *st) { return &st->shard_slots; }
size_t store_opt_max_map(store *st) { return st->max_map; }
int store_opt_grow_wait(store *st) { return st->grow_wait_ms; }
unsigned store_opt_max_readers(store *st) { return st->max_readers; }
int64_t store_opt_gc_deletes(store *st) { return st->gc_deletes_ms; }
const char *store_path(store *st) { return st->path; }
int64_t store_meta_version(store *st) { return atomic_load(&st->meta_version); }

void store_node_ids(store *st, char node_id[23], char cluster_uuid[23])
{
    if (node_id) memcpy(node_id, st->node_id, 23);
    if (cluster_uuid) memcpy(cluster_uuid, st->cluster_uuid, 23);
}

/* ------------------------------------------------------------------------ */
/* metadata boxes */

static meta_box *meta_new(const char *name, const char *uuid, int64_t cdate, uint32_t nshards,
                          const int64_t versions[4], store_blob s, store_blob m, store_blob a)
{
    size_t nl = strlen(name);
    size_t total = sizeof(meta_box) + nl + 1 + 23 + s.len + 1 + m.len + 1 + a.len + 1;
    char *p = xmalloc(total);
    meta_box *b = (meta_box *)p;
    char *q = p + sizeof *b;
    atomic_init(&b->ref, 1);
    memcpy(q, name, nl + 1);
    b->m.name = q;
    q += nl + 1;
    memcpy(q, uuid, 22);
    q[22] = 0;
    b->m.uuid = q;
    q += 23;
    store_blob *dst[3] = { &b->m.settings, &b->m.mappings, &b->m.aliases };
    store_blob src[3] = { s, m, a };
    for (int i = 0; i < 3; i++) {
        if (src[i].len) memcpy(q, src[i].p, src[i].len);
        q[src[i].len] = 0;
        dst[i]->p = q;
        dst[i]->len = src[i].len;
        q += src[i].len + 1;
    }
    b->m.creation_date = cdate;
    b->m.number_of_shards = nshards;
    b->m.version = versions[0];
    b->m.settings_version = versions[1];
    b->m.mappings_version = versions[2];
    b->m.aliases_version = versions[3];
    return b;
}

static void meta_box_release(meta_box *b)
{
    if (b && atomic_fetch_sub(&b->ref, 1) == 1) free(b);
}

const store_index_meta *store_index_meta_acquire(store_index *idx)
{
    pthread_mutex_lock(&idx->mu);
    meta_box *b = idx->meta;
    atomic_fetch_add(&b->ref, 1);
    pthread_mutex_unlock(&idx->mu);
    return &b->m;
}

void store_index_meta_release(const store_index_meta *meta)
{
    if (!meta) return;
    meta_box *b = (meta_box *)((char *)meta - offsetof(meta_box, m));
    meta_box_release(b);
}

static void rec_encode(const store_index_meta *m, buf *out)
{
    uint8_t h[REC_HDR];
    put_le32(h, 1);
    memcpy(h + 4, m->uuid, 22);
    put_le32(h + 26, m->number_of_shards);
    put_le64(h + 30, (uint64_t)m->creation_date);
    put_le64(h + 38, (uint64_t)m->version);
    put_le64(h + 46, (uint64_t)m->settings_version);
    put_le64(h + 54, (uint64_t)m->mappings_version);
    put_le64(h + 62, (uint64_t)m->aliases_version);
    put_le32(h + 70, (uint32_t)m->settings.len);
    put_le32(h + 74, (uint32_t)m->mappings.len);
    put_le32(h + 78, (uint32_t)m->aliases.len);
    buf_reset(out);
    buf_append(out, h, sizeof h);
    buf_append(out, m->settings.p, m->settings.len);
    buf_append(out, m->mappings.p, m->mappings.len);
    buf_append(out, m->aliases.p, m->aliases.len);
}

static meta_box *rec_decode(const char *name, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len < REC_HDR || get_le32(p) != 1) return NULL;
    char uuid[23];
    memcpy(uuid, p + 4, 22);
    uuid[22] = 0;
    uint32_t nsh = get_le32(p + 26);
    int64_t v[4];
    for (int i = 0; i < 4; i++) v[i] = (int64_t)get_le64(p + 38 + 8 * i);
    size_t sl = get_le32(p + 70), ml = get_le32(p + 74), al = get_le32(p + 78);
    if (REC_HDR + sl + ml + al != len || nsh == 0 || strlen(uuid) != 22) return NULL;
    store_blob s = { p + REC_HDR, sl }, m = { p + REC_HDR + sl, ml }, a = { p + REC_HDR + sl + ml, al };
    return meta_new(name, uuid, (int64_t)get_le64(p + 30), nsh, v, s, m, a);
}

/* ------------------------------------------------------------------------ */
/* index handles */

static store_index *index_new(store *st, meta_box *b)
{
    store_index *idx = xcalloc(1, sizeof *idx);
    idx->st = st;
    atomic_init(&idx->ref, 1);
    atomic_init(&idx->deleted, false);
    idx->name_own = xstrdup(b->m.name);
    idx->name = idx->name_own;
    memcpy(idx->uuid, b->m.uuid, 23);
    idx->nshards = b->m.number_of_shards;
    idx->creation_date = b->m.creation_date;
    idx->dir = xasprintf("%s/%s", st->indices_path, idx->uuid);
    pthread_mutex_init(&idx->mu, NULL);
    idx->meta = b;
    idx->shards = xcalloc(idx->nshards, sizeof *idx->shards);
    idx->open_mu = xcalloc(idx->nshards, sizeof *idx->open_mu);
    for (uint32_t i = 0; i < idx->nshards; i++) pthread_mutex_init(&idx->open_mu[i], NULL);
    return idx;
}

static void index_free(store_index *idx)
{
    for (uint32_t i = 0; i < idx->nshards; i++) {
        senv *se = atomic_load(&idx->shards[i]);
        if (se) senv_close(se);
        pthread_mutex_destroy(&idx->open_mu[i]);
    }
    if (atomic_load(&idx->deleted)) {
        int rc = store_rmtree(idx->dir);
        if (rc)
            log_warn("store", "[%s/%s] could not remove [%s]: %s (removed at next start)", idx->name,
                     idx->uuid, idx->dir, strerror(rc));
    }
    meta_box_release(idx->meta);
    pthread_mutex_destroy(&idx->mu);
    free(idx->shards);
    free(idx->open_mu);
    free(idx->dir);
    free(idx->name_own);
    free(idx);
}

store_index *store_index_ref(store_index *idx)
{
    if (idx) atomic_fetch_add(&idx->ref, 1);
    return idx;
}

void store_index_release(store_index *idx)
{
    if (idx && atomic_fetch_sub(&idx->ref, 1) == 1) index_free(idx);
}

const char *store_index_name(const store_index *idx) { return idx->name; }
const char *store_index_uuid(const store_index *idx) { return idx->uuid; }
uint32_t store_index_num_shards(const store_index *idx) { return idx->nshards; }
int64_t store_index_creation_date(const store_index *idx) { return idx->creation_date; }
bool store_index_is_deleted(const store_index *idx) { return atomic_load(&idx->deleted); }

uint32_t store_shard_for(const store_index *idx, const void *routing_or_id, size_t len)
{
    return store_murmur3_32(routing_or_id, len, 0) % idx->nshards;
}

senv *index_shard_env(store_index *idx, uint32_t shard, es_err *err)
{
    senv *se = atomic_load_explicit(&idx->shards[shard], memory_order_acquire);
    if (se) return se;
    /* One mutex per shard: LMDB forbids opening an environment twice in a
     * process, and a thread holding another shard's writer lock may get here. */
    pthread_mutex_lock(&idx->open_mu[shard]);
    se = atomic_load_explicit(&idx->shards[shard], memory_order_relaxed);
    if (!se) {
        char *path = xasprintf("%s/%" PRIu32, idx->dir, shard);
        char *label = xasprintf("[%s][%" PRIu32 "]", idx->name, shard);
        se = senv_open(idx->st, path, label, &idx->st->shard_slots, SLOT_USER0, true, idx->st->shard_map, err);
        if (se) {
            se->idx = idx;
            se->shard = shard;
            atomic_store_explicit(&idx->shards[shard], se, memory_order_release);
        }
        free(path);
        free(label);
    }
    pthread_mutex_unlock(&idx->open_mu[shard]);
    return se;
}

/* registry: sorted by name; caller holds map_lock */
static size_t map_pos(store *st, const char *name, bool *found)
{
    size_t lo = 0, hi = st->nidx;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(st->idx[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

static void map_insert(store *st, store_index *idx)
{
    bool found;
    size_t pos = map_pos(st, idx->name, &found);
    if (st->nidx == st->capidx) {
        st->capidx = st->capidx ? st->capidx * 2 : 16;
        st->idx = xrealloc(st->idx, st->capidx * sizeof *st->idx);
    }
    memmove(st->idx + pos + 1, st->idx + pos, (st->nidx - pos) * sizeof *st->idx);
    st->idx[pos] = idx;
    st->nidx++;
}

store_index *store_index_get(store *st, const char *name)
{
    store_index *idx = NULL;
    bool found;
    pthread_rwlock_rdlock(&st->map_lock);
    size_t pos = map_pos(st, name, &found);
    if (found) idx = store_index_ref(st->idx[pos]);
    pthread_rwlock_unlock(&st->map_lock);
    return idx;
}

void store_index_list(store *st, store_index ***out, size_t *n)
{
    pthread_rwlock_rdlock(&st->map_lock);
    store_index **list = xmalloc((st->nidx ? st->nidx : 1) * sizeof *list);
    for (size_t i = 0; i < st->nidx; i++) list[i] = store_index_ref(st->idx[i]);
    *n = st->nidx;
    pthread_rwlock_unlock(&st->map_lock);
    *out = list;
}

void store_index_list_free(store_index **list, size_t n)
{
    for (size_t i = 0; i < n; i++) store_index_release(list[i]);
    free(list);
}

/* ------------------------------------------------------------------------ */
/* _state helpers */

static int state_put_meta_version(store_txn *t, int64_t v, es_err *err)
{
    uint8_t b[8];
    put_le64(b, (uint64_t)v);
    return txn_put(t, SLOT_STATE_NODE, "meta_version", 12, b, 8, 0, err) < 0 ? -1 : 0;
}

static int index_not_found(es_err *err, const char *name)
{
    es_err_set(err, ES_INDEX_NOT_FOUND, "no such index [%s]", name);
    es_err_extra(err, "resource.type", "index_or_alias", false);
    es_err_extra(err, "resource.id", name, false);
    es_err_extra(err, "index_uuid", "_na_", false);
    es_err_extra(err, "index", name, false);
    return -1;
}

static bool valid_uuid(const char *u)
{
    if (strlen(u) != 22) return false;
    for (const char *p = u; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_'))
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* create / delete / update */

int store_index_create(store *st, const store_index_spec *spec, store_index **out, es_err *err)
{
    if (out) *out = NULL;
    size_t nl = spec->name ? strlen(spec->name) : 0;
    if (nl == 0 || nl > MAX_INDEX_NAME)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "index name must be 1 to %d bytes", MAX_INDEX_NAME);
    if (spec->number_of_shards < 1 || spec->number_of_shards > MAX_SHARDS)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                          "Failed to parse value [%" PRIu32 "] for setting [index.number_of_shards] must be "
                          ">= 1 and <= %d",
                          spec->number_of_shards, MAX_SHARDS);
    if (spec->settings.len > UINT32_MAX || spec->mappings.len > UINT32_MAX || spec->aliases.len > UINT32_MAX)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: index metadata too large");
    if (spec->uuid && !valid_uuid(spec->uuid))
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: invalid index uuid [%s]", spec->uuid);

    char uuid[23];
    if (spec->uuid) memcpy(uuid, spec->uuid, 23);
    else random_uuid(uuid);

    pthread_mutex_lock(&st->meta_mu);
    store_index *exists = store_index_get(st, spec->name);
    if (exists) {
        es_err_set(err, ES_RESOURCE_ALREADY_EXISTS, "index [%s/%s] already exists", exists->name, exists->uuid);
        es_err_extra(err, "index_uuid", exists->uuid, false);
        es_err_extra(err, "index", exists->name, false);
        store_index_release(exists);
        pthread_mutex_unlock(&st->meta_mu);
        return -1;
    }

    char *dir = xasprintf("%s/%s", st->indices_path, uuid);
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        es_err_set(err, ES_ILLEGAL_STATE, "store: index folder [%s] already exists", dir);
        goto fail_nodir;
    }
    for (uint32_t i = 0; i < spec->number_of_shards; i++) {
        char *sd = xasprintf("%s/%" PRIu32, dir, i);
        int rc = store_mkdirs(sd);
        free(sd);
        if (rc) {
            es_err_set(err, ES_INTERNAL, "store: cannot create the folder of index [%s]: %s", spec->name,
                       strerror(rc));
            goto fail;
        }
    }

    int64_t versions[4] = { 1, 1, 1, 1 };
    meta_box *b = meta_new(spec->name, uuid, spec->creation_date ? spec->creation_date : now_millis(),
                           spec->number_of_shards, versions, spec->settings, spec->mappings, spec->aliases);
    buf rec = { 0 };
    rec_encode(&b->m, &rec);
    int64_t mv = atomic_load(&st->meta_version) + 1;
    store_txn *t;
    int ok = senv_write_begin(st->state, NULL, &t, err) == 0;
    if (ok) {
        ok = txn_put(t, SLOT_STATE_INDICES, spec->name, nl, rec.p, rec.len, 0, err) == 0 &&
             state_put_meta_version(t, mv, err) == 0;
        if (ok) ok = senv_write_commit(t, err) == 0;
        else senv_write_abort(t);
    }
    buf_free(&rec);
    if (!ok) {
        meta_box_release(b);
        goto fail;
    }

    store_index *idx = index_new(st, b);
    pthread_rwlock_wrlock(&st->map_lock);
    map_insert(st, idx);
    pthread_rwlock_unlock(&st->map_lock);
    atomic_store(&st->meta_version, mv);
    pthread_mutex_unlock(&st->meta_mu);
    if (out) *out = store_index_ref(idx);
    free(dir);
    return 0;

fail:
    store_rmtree(dir);
fail_nodir:
    free(dir);
    pthread_mutex_unlock(&st->meta_mu);
    return -1;
}

int store_index_delete(store *st, const char *name, es_err *err)
{
    pthread_mutex_lock(&st->meta_mu);
    store_index *idx = store_index_get(st, name);
    if (!idx) {
        pthread_mutex_unlock(&st->meta_mu);
        return index_not_found(err, name);
    }
    int64_t mv = atomic_load(&st->meta_version) + 1;
    store_txn *t;
    int ok = senv_write_begin(st->state, NULL, &t, err) == 0;
    if (ok) {
        ok = txn_del(t, SLOT_STATE_INDICES, name, strlen(name), err) >= 0 && state_put_meta_version(t, mv, err) == 0;
        if (ok) ok = senv_write_commit(t, err) == 0;
        else senv_write_abort(t);
    }
    if (!ok) {
        store_index_release(idx);
        pthread_mutex_unlock(&st->meta_mu);
        return -1;
    }
    pthread_rwlock_wrlock(&st->map_lock);
    bool found;
    size_t pos = map_pos(st, name, &found);
    if (found) {
        memmove(st->idx + pos, st->idx + pos + 1, (st->nidx - pos - 1) * sizeof *st->idx);
        st->nidx--;
    }
    pthread_rwlock_unlock(&st->map_lock);
    atomic_store(&idx->deleted, true);
    atomic_store(&st->meta_version, mv);
    pthread_mutex_unlock(&st->meta_mu);
    log_info("store", "[%s/%s] deleted", idx->name, idx->uuid);
    if (found) store_index_release(idx); /* the registry's reference */
    store_index_release(idx);            /* ours */
    return 0;
}

int store_index_update_meta(store *st, const store_index_update *ups, size_t n, es_err *err)
{
    if (n == 0) return 0;
    store_index **idxs = xcalloc(n, sizeof *idxs);
    meta_box **boxes = xcalloc(n, sizeof *boxes);
    bool *live = xcalloc(n, sizeof *live); /* boxes[i] is the newest for its index */
    int ret = -1;
    buf rec = { 0 };

    pthread_mutex_lock(&st->meta_mu);
    for (size_t i = 0; i < n; i++) {
        idxs[i] = ups[i].name ? store_index_get(st, ups[i].name) : NULL;
        if (!idxs[i]) {
            index_not_found(err, ups[i].name ? ups[i].name : "");
            goto out;
        }
        /* Base: the newest box of this index so far (an earlier entry), else its current one. */
        const store_index_meta *base = &idxs[i]->meta->m;
        for (size_t j = 0; j < i; j++)
            if (live[j] && idxs[j] == idxs[i]) {
                base = &boxes[j]->m;
                live[j] = false;
            }
        if ((ups[i].set_settings && ups[i].settings.len > UINT32_MAX) ||
            (ups[i].set_mappings && ups[i].mappings.len > UINT32_MAX) ||
            (ups[i].set_aliases && ups[i].aliases.len > UINT32_MAX)) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: index metadata too large");
            goto out;
        }
        if (ups[i].if_version > 0 && ups[i].if_version != base->version) {
            es_err_set(err, ES_VERSION_CONFLICT,
                       "index [%s] metadata changed: version [%" PRId64 "] expected, current [%" PRId64 "]",
                       base->name, ups[i].if_version, base->version);
            es_err_extra(err, "index_uuid", base->uuid, false);
            es_err_extra(err, "index", base->name, false);
            ret = STORE_REJECTED;
            goto out;
        }
        int64_t v[4] = { base->version + 1, base->settings_version + ups[i].set_settings,
                         base->mappings_version + ups[i].set_mappings, base->aliases_version + ups[i].set_aliases };
        boxes[i] = meta_new(base->name, base->uuid, base->creation_date, base->number_of_shards, v,
                            ups[i].set_settings ? ups[i].settings : base->settings,
                            ups[i].set_mappings ? ups[i].mappings : base->mappings,
                            ups[i].set_aliases ? ups[i].aliases : base->aliases);
        live[i] = true;
    }

    int64_t mv = atomic_load(&st->meta_version) + 1;
    store_txn *t;
    if (senv_write_begin(st->state, NULL, &t, err) < 0) goto out;
    for (size_t i = 0; i < n; i++) {
        if (!live[i]) continue;
        rec_encode(&boxes[i]->m, &rec);
        if (txn_put(t, SLOT_STATE_INDICES, boxes[i]->m.name, strlen(boxes[i]->m.name), rec.p, rec.len, 0, err) < 0) {
            senv_write_abort(t);
            goto out;
        }
    }
    if (state_put_meta_version(t, mv, err) < 0) {
        senv_write_abort(t);
        goto out;
    }
    if (senv_write_commit(t, err) < 0) goto out;

    for (size_t i = 0; i < n; i++) {
        if (!live[i]) continue;
        pthread_mutex_lock(&idxs[i]->mu);
        meta_box *old = idxs[i]->meta;
        idxs[i]->meta = boxes[i];
        pthread_mutex_unlock(&idxs[i]->mu);
        boxes[i] = NULL;
        meta_box_release(old);
    }
    atomic_store(&st->meta_version, mv);
    ret = 0;

out:
    pthread_mutex_unlock(&st->meta_mu);
    for (size_t i = 0; i < n; i++) {
        meta_box_release(boxes[i]);
        store_index_release(idxs[i]);
    }
    free(idxs);
    free(boxes);
    free(live);
    buf_free(&rec);
    return ret;
}

/* ------------------------------------------------------------------------ */
/* open / close */

static int check_table_name(const char *name, es_err *err)
{
    size_t l = name ? strlen(name) : 0;
    if (l == 0 || l > MAX_TABLE_NAME || name[0] == '_')
        return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                          "store: table name [%s] must be 1 to %d bytes and not start with '_'", name ? name : "",
                          MAX_TABLE_NAME);
    return 0;
}

int store_table_register(store *st, const char *name, store_table *out, es_err *err)
{
    if (check_table_name(name, err) < 0) return -1;
    int slot = slot_names_add(&st->shard_slots, name);
    if (slot < 0)
        return es_err_set(err, ES_ILLEGAL_STATE, "store: too many tables (at most %d)", STORE_MAX_TABLES);
    *out = (store_table)(slot - SLOT_USER0);
    return 0;
}

static void slot_names_init(slot_names *sn, const char *const *names, size_t n)
{
    pthread_mutex_init(&sn->mu, NULL);
    for (size_t i = 0; i < n; i++) sn->names[i] = xstrdup(names[i]);
    atomic_init(&sn->n, (unsigned)n);
}

static void slot_names_free(slot_names *sn)
{
    unsigned n = atomic_load(&sn->n);
    for (unsigned i = 0; i < n; i++) free(sn->names[i]);
    pthread_mutex_destroy(&sn->mu);
}

/* Node ids and the metadata version: created on first open. */
static int state_init(store *st, es_err *err)
{
    store_txn *t;
    if (senv_write_begin(st->state, NULL, &t, err) < 0) return -1;
    struct {
        const char *key;
        char *dst;
    } ids[] = { { "node_id", st->node_id }, { "cluster_uuid", st->cluster_uuid } };
    for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
        MDB_val v;
        int r = txn_get(t, SLOT_STATE_NODE, ids[i].key, strlen(ids[i].key), &v, err);
        if (r < 0) goto fail;
        if (r == 1 && v.mv_size == 22) {
            memcpy(ids[i].dst, v.mv_data, 22);
            ids[i].dst[22] = 0;
        } else {
            random_uuid(ids[i].dst);
            if (txn_put(t, SLOT_STATE_NODE, ids[i].key, strlen(ids[i].key), ids[i].dst, 22, 0, err) < 0) goto fail;
        }
    }
    MDB_val v;
    int r = txn_get(t, SLOT_STATE_NODE, "meta_version", 12, &v, err);
    if (r < 0) goto fail;
    if (r == 1 && v.mv_size == 8) {
        atomic_store(&st->meta_version, (int64_t)get_le64(v.mv_data));
    } else {
        atomic_store(&st->meta_version, 1);
        if (state_put_meta_version(t, 1, err) < 0) goto fail;
    }
    return senv_write_commit(t, err);
fail:
    senv_write_abort(t);
    return -1;
}

static int state_load_indices(store *st, es_err *err)
{
    store_txn *t;
    if (senv_read_begin(st->state, NULL, &t, err) < 0) return -1;
    store_cursor *c;
    int ret = -1;
    if (cursor_open_slot(t, SLOT_STATE_INDICES, false, NULL, &c, err) < 0) goto out;
    MDB_val k, v;
    int r;
    while ((r = cursor_step(c, &k, &v, err)) == 1) {
        char *name = xstrndup(k.mv_data, k.mv_size);
        meta_box *b = rec_decode(name, v.mv_data, v.mv_size);
        if (!b) {
            es_err_set(err, ES_INTERNAL, "[_state] store: corrupt record of index [%s]", name);
            free(name);
            store_cursor_close(c);
            goto out;
        }
        free(name);
        map_insert(st, index_new(st, b)); /* keys come sorted */
    }
    store_cursor_close(c);
    if (r == 0) ret = 0;
out:
    senv_read_end(t);
    return ret;
}

/* Removes index folders _state does not know (a crash between the steps of
 * a create or a delete). */
static void remove_orphans(store *st)
{
    DIR *d = opendir(st->indices_path);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        bool known = false;
        for (size_t i = 0; i < st->nidx && !known; i++) known = strcmp(st->idx[i]->uuid, de->d_name) == 0;
        if (known) continue;
        char *p = xasprintf("%s/%s", st->indices_path, de->d_name);
        log_warn("store", "removing [%s]: no index in the cluster state has uuid [%s]", p, de->d_name);
        int rc = store_rmtree(p);
        if (rc) log_warn("store", "could not remove [%s]: %s", p, strerror(rc));
        free(p);
    }
    closedir(d);
}

store *store_open(const char *path_data, es_err *err)
{
    return store_open_ex(path_data, NULL, err);
}

store *store_open_ex(const char *path_data, const store_options *opts, es_err *err)
{
    static const store_options none;
    if (!opts) opts = &none;
    if (!path_data || !*path_data) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: path.data is empty");
        return NULL;
    }
    store *st = xcalloc(1, sizeof *st);
    st->lock_fd = -1;
    st->path = xstrdup(path_data);
    st->indices_path = xasprintf("%s/indices", path_data);
    st->shard_map = opts->shard_map_size ? opts->shard_map_size : DEFAULT_SHARD_MAP;
    st->state_map = opts->state_map_size ? opts->state_map_size : DEFAULT_STATE_MAP;
    st->max_map = opts->max_map_size ? opts->max_map_size : DEFAULT_MAX_MAP;
    st->max_readers = opts->max_readers ? opts->max_readers : DEFAULT_MAX_READERS;
    st->grow_wait_ms = opts->grow_wait_ms ? opts->grow_wait_ms : DEFAULT_GROW_WAIT_MS;
    st->gc_deletes_ms = opts->gc_deletes_ms ? opts->gc_deletes_ms : DEFAULT_GC_DELETES_MS;
    if (st->max_map < st->shard_map) st->max_map = st->shard_map;
    if (st->max_map < st->state_map) st->max_map = st->state_map;
    pthread_mutex_init(&st->meta_mu, NULL);
    pthread_rwlock_init(&st->map_lock, NULL);
    slot_names_init(&st->shard_slots, SHARD_INTERNAL, ARRAY_LEN(SHARD_INTERNAL));
    slot_names_init(&st->state_slots, STATE_TABLES, ARRAY_LEN(STATE_TABLES));

    if (opts->tables)
        for (const char *const *t = opts->tables; *t; t++) {
            store_table id;
            if (store_table_register(st, *t, &id, err) < 0) goto fail;
        }

    int rc = store_mkdirs(st->indices_path);
    if (rc) {
        es_err_set(err, ES_ILLEGAL_STATE, "store: cannot create [%s]: %s", st->indices_path, strerror(rc));
        goto fail;
    }
    char *lock_path = xasprintf("%s/node.lock", path_data);
    st->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(lock_path);
    if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        es_err_set(err, ES_ILLEGAL_STATE,
                   "failed to obtain node locks, tried [%s]; maybe these locations are not writable or multiple "
                   "nodes were started on the same data path?",
                   path_data);
        goto fail;
    }

    char *state_path = xasprintf("%s/_state", path_data);
    st->state = senv_open(st, state_path, "[_state]", &st->state_slots, SLOT_STATE_COUNT, false, st->state_map, err);
    free(state_path);
    if (!st->state) goto fail;
    if (state_init(st, err) < 0 || state_load_indices(st, err) < 0) goto fail;
    remove_orphans(st);
    return st;

fail:
    store_close(st);
    return NULL;
}

void store_close(store *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->nidx; i++) {
        store_index *idx = st->idx[i];
        int refs = atomic_load(&idx->ref);
        if (refs > 1)
            log_error("store", "[%s/%s] still has %d reference(s) at close", idx->name, idx->uuid, refs - 1);
        store_index_release(idx);
    }
    free(st->idx);
    if (st->state) senv_close(st->state);
    if (st->lock_fd >= 0) close(st->lock_fd); /* releases the flock */
    slot_names_free(&st->shard_slots);
    slot_names_free(&st->state_slots);
    pthread_mutex_destroy(&st->meta_mu);
    pthread_rwlock_destroy(&st->map_lock);
    free(st->indices_path);
    free(st->path);
    free(st);
}

/* ------------------------------------------------------------------------ */
/* shard transactions */

static int shard_check(store_index *idx, uint32_t shard, es_err *err)
{
    if (shard >= idx->nshards)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "shard [%" PRIu32 "] out of range for index [%s] with %" PRIu32
                          " shard(s)", shard, idx->name, idx->nshards);
    return 0;
}

int store_write_begin(store_index *idx, uint32_t shard, store_txn **out, es_err *err)
{
    *out = NULL;
    if (shard_check(idx, shard, err) < 0) return -1;
    if (atomic_load(&idx->deleted)) {
        index_not_found(err, idx->name);
        return -1;
    }
    senv *se = index_shard_env(idx, shard, err);
    if (!se) return -1;
    store_index_ref(idx);
    if (senv_write_begin(se, idx, out, err) < 0) {
        store_index_release(idx);
        return -1;
    }
    (*out)->shard = shard;
    return 0;
}

int store_write_commit(store_txn *txn, es_err *err)
{
    store_index *idx = txn->idx;
    int r = senv_write_commit(txn, err);
    store_index_release(idx);
    return r;
}

void store_write_abort(store_txn *txn)
{
    if (!txn) return;
    store_index *idx = txn->idx;
    senv_write_abort(txn);
    store_index_release(idx);
}

int store_read_begin(store_index *idx, uint32_t shard, store_txn **out, es_err *err)
{
    *out = NULL;
    if (shard_check(idx, shard, err) < 0) return -1;
    senv *se = index_shard_env(idx, shard, err);
    if (!se) return -1;
    store_index_ref(idx);
    if (senv_read_begin(se, idx, out, err) < 0) {
        store_index_release(idx);
        return -1;
    }
    (*out)->shard = shard;
    return 0;
}

void store_read_end(store_txn *snap)
{
    if (!snap) return;
    store_index *idx = snap->idx;
    senv_read_end(snap);
    store_index_release(idx);
}

store_index *store_txn_index(store_txn *txn) { return txn->idx; }
uint32_t store_txn_shard(store_txn *txn) { return txn->shard; }

/* ------------------------------------------------------------------------ */
/* caller tables */

static int user_slot(store_txn *t, store_table tb, unsigned *slot, es_err *err)
{
    if (!t->se->is_shard) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: not a shard transaction");
    unsigned s = SLOT_USER0 + tb;
    if (tb >= STORE_MAX_TABLES || s >= atomic_load(&t->se->names->n))
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: unknown table [%" PRIu32 "]", tb);
    *slot = s;
    return 0;
}

int store_kv_put(store_txn *txn, store_table t, const void *key, size_t klen, const void *val, size_t vlen,
                 unsigned flags, es_err *err)
{
    unsigned slot;
    if (user_slot(txn, t, &slot, err) < 0) return -1;
    return txn_put(txn, slot, key, klen, val, vlen, flags, err);
}

int store_kv_del(store_txn *txn, store_table t, const void *key, size_t klen, es_err *err)
{
    unsigned slot;
    if (user_slot(txn, t, &slot, err) < 0) return -1;
    return txn_del(txn, slot, key, klen, err);
}

int store_kv_get(store_txn *txn, store_table t, const void *key, size_t klen, store_blob *val, es_err *err)
{
    unsigned slot;
    if (user_slot(txn, t, &slot, err) < 0) return -1;
    MDB_val v;
    int r = txn_get(txn, slot, key, klen, &v, err);
    if (r == 1) {
        val->p = v.mv_data;
        val->len = v.mv_size;
    }
    return r;
}

int store_cursor_open(store_txn *txn, store_table t, const store_range *range, store_cursor **out, es_err *err)
{
    *out = NULL;
    unsigned slot;
    if (user_slot(txn, t, &slot, err) < 0) return -1;
    return cursor_open_slot(txn, slot, false, range, out, err);
}

int store_cursor_next(store_cursor *cur, store_blob *key, store_blob *val, es_err *err)
{
    if (cur->docs) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: a document cursor: use store_docs_next");
    MDB_val k, v;
    int r = cursor_step(cur, &k, &v, err);
    if (r == 1) {
        key->p = k.mv_data;
        key->len = k.mv_size;
        val->p = v.mv_data;
        val->len = v.mv_size;
    }
    return r;
}

/* ------------------------------------------------------------------------ */
/* stats */

int store_shard_stats_get(store_index *idx, uint32_t shard, store_shard_stats *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    store_txn *t;
    if (store_read_begin(idx, shard, &t, err) < 0) return -1;
    store_shard_counters c;
    int r = store_txn_counters(t, &c, err);
    senv *se = t->se;
    if (r == 0) {
        out->doc_count = c.doc_count;
        out->deleted = c.deleted;
        out->max_seq_no = c.max_seq_no;
        MDB_envinfo info;
        mdb_env_info(se->env, &info);
        out->map_size = info.me_mapsize;
        int fd;
        struct stat sb;
        if (mdb_env_get_fd(se->env, &fd) == 0 && fstat(fd, &sb) == 0) out->store_size = (uint64_t)sb.st_size;
        out->map_grows = atomic_load(&se->n_grows);
        out->replays = atomic_load(&se->n_replays);
    }
    store_read_end(t);
    return r;
}
