/*
 * store_int.h — shared by the src/store sources only. Never include it elsewhere.
 *
 * Pieces:
 *   senv      one LMDB environment (a shard, or _state) with ferry's
 *             coordination around it: an in-process writer lock, reader
 *             counting for map growth, the table (dbi) slots.       env.c
 *   store_txn a write transaction with its operation log (replayed after map
 *             growth) or a read snapshot; caller-table ops; cursors. env.c
 *   documents records, _id map, tombstones, version semantics.      doc.c
 *   node      store open/close, _state, index registry and refs.    node.c
 */
#ifndef FERRY_STORE_INT_H
#define FERRY_STORE_INT_H

#include "core/core.h"
#include "store/store.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

/* ------------------------------------------------------------------------ */
/* Table slots. A shard environment has 4 internal tables then the caller's;
 * _state has its own 2. A slot is an index into senv.dbi. */

enum {
    SLOT_DOCS = 0,   /* docnum (u64 BE) -> doc record */
    SLOT_IDS,        /* _id key -> id entry (docnum, version, seq_no, term[, deleted_at]) */
    SLOT_META,       /* "counters", "format" */
    SLOT_TOMBS,      /* deleted_at (BE) + seq_no (BE) -> _id: tombstone expiry queue */
    SLOT_USER0,      /* caller table t is slot SLOT_USER0 + t */
};
enum { SLOT_STATE_INDICES = 0, SLOT_STATE_NODE, SLOT_STATE_COUNT };

#define SLOT_MAX (SLOT_USER0 + STORE_MAX_TABLES)

/* Names of the slots of one kind of environment. Slots are append-only: a
 * name, once set, never changes, so readers may read names[i] for i < n
 * without the lock. */
typedef struct slot_names {
    pthread_mutex_t mu;
    _Atomic unsigned n;
    char *names[SLOT_MAX];
} slot_names;

/* Registers name (if new) and returns its slot, or -1 when full. */
int slot_names_add(slot_names *sn, const char *name);
int slot_names_find(slot_names *sn, const char *name);

/* ------------------------------------------------------------------------ */
/* senv */

typedef struct shard_counters {
    uint64_t next_docnum;
    int64_t max_seq_no;
    uint64_t doc_count;
    uint64_t deleted;
} shard_counters;

typedef struct senv {
    MDB_env *env;
    char *path;
    char *label;          /* "[index][0]" or "[_state]", for messages */
    bool is_shard;
    store *st;
    store_index *idx;     /* shard envs: owning index (no reference held) */
    uint32_t shard;
    slot_names *names;
    size_t max_map_size;
    int grow_wait_ms;
    int64_t gc_deletes_ms; /* <= 0: no tombstones */

    /* Slots: dbi[i] is valid once slot_gen[i] != 0; slot_gen is the
     * tables_gen at which it was published (release/acquire). */
    MDB_dbi dbi[SLOT_MAX];
    _Atomic uint64_t slot_gen[SLOT_MAX];

    pthread_mutex_t wmu;  /* writer lock (error-checking mutex) */
    store_txn *wtxn;      /* the reusable write txn object, under wmu */

    pthread_mutex_t smu;  /* readers, growing, tables_gen */
    pthread_cond_t scv;
    int readers;
    bool growing;
    uint64_t tables_gen;

    _Atomic uint64_t n_grows, n_replays;
} senv;

/* Opens an environment at path (a directory, created if missing), opening
 * every table present in the file plus the first `nslots_init` slots of
 * names (created if absent). Shard envs also check/initialise the format
 * and counters. */
senv *senv_open(store *st, const char *path, const char *label, slot_names *names,
                unsigned nslots_init, bool is_shard, size_t map_size, es_err *err);
void senv_close(senv *se);

/* Sets *err from an LMDB (or errno) code with the env label. Returns -1. */
int senv_err(senv *se, es_err *err, int rc, const char *what);

/* ------------------------------------------------------------------------ */
/* Transactions */

enum { OP_PUT = 1, OP_DEL, OP_DOC_INDEX, OP_DOC_DELETE };

/* Internal result of running one op: >= 0 a public result, or these. */
#define RUN_FAILED (-1)   /* err set; the txn fails */
#define RUN_MAPFULL (-2)  /* map full: grow and replay; err not set */

/* One logged operation. Key (or _id) and routing are copied into the log
 * buffer (which moves as it grows: offsets); the value (or source) is
 * copied too unless borrowed. */
typedef struct oplog_ent {
    uint8_t kind;
    uint8_t borrowed;      /* the value is borrowed (vp), not copied (voff) */
    uint16_t slot;
    int32_t outcome;       /* result of the last run */
    unsigned flags;
    size_t klen, vlen, rlen;
    const void *vp;
    size_t koff, voff, roff;
    store_write_opts opts; /* routing pointer unused: see rp/roff */
    store_write_result res;
} oplog_ent;

struct store_cursor {
    store_txn *txn;        /* NULL once dead */
    store_cursor *next, *prev;
    unsigned slot;
    bool docs;             /* a document cursor */
    bool empty;            /* table does not exist in this snapshot */
    MDB_cursor *mc;        /* NULL: not opened yet (or dropped by a replay) */
    uint32_t gen;          /* txn->gen the cursor was opened in */
    int state;             /* CUR_FRESH, CUR_ON, CUR_END */
    bool pending;          /* after repositioning: current item not returned yet */
    buf lo, hi, prefix;
    buf last;              /* write txns: copy of the current key (for replay) */
};

struct store_txn {
    senv *se;
    store_index *idx;      /* reference held (NULL for _state) */
    uint32_t shard;
    MDB_txn *mt;
    bool write;
    bool failed;           /* sticky */
    bool replaying;
    uint32_t gen;          /* bumped on each replay */
    uint64_t tables_gen;   /* snapshot: slots published up to here are visible */
    int64_t now_ms;        /* fixed at begin: tombstone times are replay-stable */

    /* write txns */
    shard_counters cnt;
    bool cnt_dirty;
    buf log;
    size_t nops;
    unsigned new_slots[SLOT_MAX];
    MDB_dbi new_dbi[SLOT_MAX];
    unsigned n_new;

    store_cursor *cursors;
};

/* Write txn on any env (shards use store_write_begin). */
int senv_write_begin(senv *se, store_index *idx, store_txn **out, es_err *err);
int senv_write_commit(store_txn *t, es_err *err);
void senv_write_abort(store_txn *t);
int senv_read_begin(senv *se, store_index *idx, store_txn **out, es_err *err);
void senv_read_end(store_txn *t);

/* Slot-level ops (logged, replay-safe). Return codes as store_kv_put/del. */
int txn_put(store_txn *t, unsigned slot, const void *k, size_t kl, const void *v, size_t vl,
            unsigned flags, es_err *err);
int txn_del(store_txn *t, unsigned slot, const void *k, size_t kl, es_err *err);
/* Reads: 1 found, 0 not found (or table absent), -1 error. */
int txn_get(store_txn *t, unsigned slot, const void *k, size_t kl, MDB_val *v, es_err *err);

/* Resolves the dbi of a slot for reading: 1 available, 0 table absent. */
int txn_dbi(store_txn *t, unsigned slot, MDB_dbi *dbi);
/* Same for writing: creates the table in this txn if needed. 0 ok or an LMDB rc. */
int txn_dbi_write(store_txn *t, unsigned slot, MDB_dbi *dbi);

/* Appends an op to the log, copying key and routing, and the value unless
 * borrow_value; returns its offset. */
size_t oplog_add(store_txn *t, int kind, unsigned slot, const void *k, size_t kl, const void *v,
                 size_t vl, const void *r, size_t rl, bool borrow_value);
static inline oplog_ent *oplog_at(store_txn *t, size_t off) { return (oplog_ent *)(t->log.p + off); }
static inline const void *op_k(store_txn *t, const oplog_ent *o) { return t->log.p + o->koff; }
static inline const void *op_v(store_txn *t, const oplog_ent *o)
{ return o->borrowed ? o->vp : t->log.p + o->voff; }
static inline const void *op_r(store_txn *t, const oplog_ent *o) { return t->log.p + o->roff; }
/* Runs the op at off (logged just before), growing + replaying on MAP_FULL. */
int txn_exec(store_txn *t, size_t off, es_err *err);
/* Sets err for a call on a failed txn. Returns -1. */
int txn_failed_err(store_txn *t, es_err *err);

/* Cursor internals shared with doc.c. */
int cursor_open_slot(store_txn *t, unsigned slot, bool docs, const store_range *range,
                     store_cursor **out, es_err *err);
int cursor_step(store_cursor *c, MDB_val *k, MDB_val *v, es_err *err);

/* ------------------------------------------------------------------------ */
/* doc.c */

/* Runs a logged document op. */
int doc_run_index(store_txn *t, oplog_ent *o, es_err *err);
int doc_run_delete(store_txn *t, oplog_ent *o, es_err *err);
/* Shard txn hooks: load counters at begin; prune tombstones and flush
 * counters before commit (RUN_MAPFULL possible). */
int doc_txn_load(store_txn *t, es_err *err);
int doc_txn_finish(store_txn *t, es_err *err);
/* Shard env init inside its first txn: format marker + counters. */
int doc_env_init(senv *se, MDB_txn *mt, es_err *err);
/* Decodes a document record. 0 ok, -1 corrupt (err set). */
int doc_decode(senv *se, uint64_t docnum, const MDB_val *v, store_doc *doc, es_err *err);

/* ------------------------------------------------------------------------ */
/* node.c */

slot_names *store_shard_slots(store *st);
size_t store_opt_max_map(store *st);
int store_opt_grow_wait(store *st);
unsigned store_opt_max_readers(store *st);
int64_t store_opt_gc_deletes(store *st);
/* Shard env of an index, opened on first use. */
senv *index_shard_env(store_index *idx, uint32_t shard, es_err *err);

/* ------------------------------------------------------------------------ */
/* Little helpers */

static inline void put_be64(void *p, uint64_t v)
{
    uint8_t *b = p;
    for (int i = 7; i >= 0; i--) { b[i] = (uint8_t)v; v >>= 8; }
}
static inline uint64_t get_be64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | b[i];
    return v;
}
static inline void put_le64(void *p, uint64_t v)
{
    uint8_t *b = p;
    for (int i = 0; i < 8; i++) { b[i] = (uint8_t)v; v >>= 8; }
}
static inline uint64_t get_le64(const void *p)
{
    const uint8_t *b = p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}
static inline void put_le32(void *p, uint32_t v)
{
    uint8_t *b = p;
    for (int i = 0; i < 4; i++) { b[i] = (uint8_t)v; v >>= 8; }
}
static inline uint32_t get_le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline void put_le16(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}
static inline uint16_t get_le16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | b[1] << 8);
}

/* mkdir -p; 0 or errno. */
int store_mkdirs(const char *path);
/* rm -rf; 0 or errno. */
int store_rmtree(const char *path);

#endif
