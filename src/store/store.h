/*
 * store — ferry's durable document store, on LMDB.
 *
 * Layer: depends on core only; the index, search and REST layers build on it.
 * It stores bytes and metadata. It never parses JSON and knows no mappings:
 * settings, mappings, aliases and `_source` are opaque blobs to it.
 *
 * On disk, under path.data:
 *
 *   node.lock                   flock()ed while a store is open (one node per path)
 *   _state/                     LMDB env: node ids, metadata version, one record per index
 *   indices/<uuid>/<n>/         LMDB env per shard n: documents, _id map, counters,
 *                               delete tombstones and caller tables (postings, doc values…)
 *
 * _state is the source of truth: an index folder whose uuid _state does not
 * know (a crash between the steps of create or delete) is removed at open.
 *
 * Handles (all opaque):
 *   store        the node store; one per process and path.data.
 *   store_index  a refcounted index handle. A deleted index stays valid for
 *                everyone who still holds a reference; its files are removed
 *                when the last reference goes.
 *   store_txn    a shard transaction: a write transaction (store_write_begin)
 *                or a read snapshot (store_read_begin).
 *   store_cursor an iterator over documents or over a caller table.
 *
 * Return codes. Every fallible function takes `es_err *err` (zeroed by the
 * caller, or already freed) and sets it on failure; the caller frees it with
 * es_err_free(). The integer results are:
 *     0   success (for lookups: not found)
 *     1   lookups: found.  Writes: STORE_REJECTED (see below)
 *    -1   failure; *err is set
 *
 * Threading. Everything is thread-safe except where a function says
 * otherwise. Writers to different shards run in parallel; writers to the same
 * shard serialize (store_write_begin blocks). A write transaction belongs to
 * the thread that began it (LMDB's writer lock is a per-thread mutex). A read
 * snapshot may be used from any thread, one thread at a time (the environment
 * is opened with MDB_NOTLS), so a scroll context may keep one across requests.
 *
 * Durability: an acknowledged write is a committed, fsync'ed transaction
 * (no MDB_NOSYNC); a failed commit (disk full, I/O error) changes nothing.
 */
#ifndef FERRY_STORE_H
#define FERRY_STORE_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_index store_index;
typedef struct store_txn store_txn;
typedef struct store_cursor store_cursor;

/* A byte string: borrowed unless a function says otherwise. */
typedef struct store_blob {
    const void *p;
    size_t len;
} store_blob;

/* ======================================================================== */
/* Node store                                                               */

/* Tunables. A zeroed struct (or NULL) means the defaults. */
typedef struct store_options {
    /* Initial map (maximum file) size of each shard environment. Virtual
     * address space only: the file grows as data is written. The map grows
     * (doubling) when full. Default 32 GiB. Tests pass something tiny to
     * exercise growth. */
    size_t shard_map_size;
    /* Same for _state. Default 64 MiB. */
    size_t state_map_size;
    /* Growth never goes beyond this; a write needing more fails. Default 4 TiB. */
    size_t max_map_size;
    /* Reader slots per environment: the most read snapshots that can be open
     * on one shard at once (scroll contexts included). Default 1024. */
    unsigned max_readers;
    /* How long a writer that must grow the map waits for open read snapshots
     * of that shard to close (growth remaps the file, so none may be open)
     * before failing its write with es_rejected_execution_exception.
     * Default 2000 ms. */
    int grow_wait_ms;
    /* How long a delete tombstone is remembered (Elasticsearch's
     * index.gc_deletes): while it is, re-indexing a deleted _id continues its
     * version and external versioning compares against it.
     * 0 = the default 60 s; negative = no tombstones. */
    int64_t gc_deletes_ms;
    /* NULL-terminated list of caller table names to declare up front (see
     * store_table_register). Optional. */
    const char *const *tables;
} store_options;

/*
 * Opens (creating if needed) the node store under path_data: takes the node
 * lock, opens _state, generates the node id and cluster uuid on first open,
 * loads the index metadata and removes orphaned index folders. Shard
 * environments open lazily on first use.
 * Returns NULL with *err set on failure, e.g. illegal_state_exception
 * "failed to obtain node locks, ..." when another store holds path_data.
 * Release with store_close().
 */
store *store_open(const char *path_data, es_err *err);
store *store_open_ex(const char *path_data, const store_options *opts, es_err *err);

/*
 * Closes the store. Every index handle, transaction, snapshot and cursor the
 * caller obtained must have been released/ended first. NULL is a no-op.
 */
void store_close(store *st);

/* The node id and cluster uuid (22 characters + NUL each), generated once on
 * first open and persisted in _state. Either pointer may be NULL. */
void store_node_ids(store *st, char node_id[23], char cluster_uuid[23]);

/* The node metadata version: starts at 1 on a fresh store, +1 for every
 * committed create, delete or update of index metadata. */
int64_t store_meta_version(store *st);

/* The path.data this store was opened on (owned by the store). */
const char *store_path(store *st);

/* ======================================================================== */
/* Index metadata                                                           */

typedef struct store_index_spec {
    const char *name;           /* required; 1..255 bytes; validated by the caller (REST) */
    uint32_t number_of_shards;  /* >= 1 */
    int64_t creation_date;      /* ms since the epoch; 0 = now */
    const char *uuid;           /* NULL = generated with random_uuid(); else exactly 22 chars */
    store_blob settings;        /* opaque (JSON); copied */
    store_blob mappings;
    store_blob aliases;
} store_index_spec;

/*
 * Creates an index durably: its folder and shard folders, then its _state
 * record (the commit point). On success returns 0 and, if out is not NULL, a
 * new reference in *out (release it). Errors: resource_already_exists_exception
 * "index [name/uuid] already exists" (with index_uuid and index members),
 * illegal_argument_exception for a bad spec, or a storage error.
 */
int store_index_create(store *st, const store_index_spec *spec, store_index **out, es_err *err);

/*
 * Deletes an index: removes its _state record (the commit point) and its name
 * from the store at once, so the name can be reused immediately. Handles still
 * held stay valid: their snapshots keep reading, but new write transactions on
 * it fail with index_not_found_exception. The shard environments are closed
 * and the folder removed when the last reference is released.
 * Errors: index_not_found_exception "no such index [name]", or storage errors.
 */
int store_index_delete(store *st, const char *name, es_err *err);

/* Looks an index up by name. Returns a new reference (release it) or NULL. */
store_index *store_index_get(store *st, const char *name);

/* Reference counting. store_index_ref returns its argument. Release of NULL is a no-op. */
store_index *store_index_ref(store_index *idx);
void store_index_release(store_index *idx);

/*
 * All live indices, sorted by name: *out is a heap array of *n new references.
 * Free with store_index_list_free (which releases each one).
 */
void store_index_list(store *st, store_index ***out, size_t *n);
void store_index_list_free(store_index **list, size_t n);

/* Immutable properties; the strings live as long as the handle. */
const char *store_index_name(const store_index *idx);
const char *store_index_uuid(const store_index *idx);
uint32_t store_index_num_shards(const store_index *idx);
int64_t store_index_creation_date(const store_index *idx);
/* True once store_index_delete committed for this handle's index. */
bool store_index_is_deleted(const store_index *idx);

/*
 * A consistent, immutable snapshot of an index's metadata. Blobs are
 * NUL-terminated (not counted in len) for convenience. Versions follow
 * Elasticsearch's index metadata: all start at 1; version grows with every
 * change, each *_version with changes of its blob.
 */
typedef struct store_index_meta {
    const char *name;
    const char *uuid;
    int64_t creation_date;
    uint32_t number_of_shards;
    int64_t version;
    int64_t settings_version;
    int64_t mappings_version;
    int64_t aliases_version;
    store_blob settings;
    store_blob mappings;
    store_blob aliases;
} store_index_meta;

/* Returns the current metadata snapshot (never NULL); it stays valid and
 * unchanged until released with store_index_meta_release, whatever updates
 * happen meanwhile. */
const store_index_meta *store_index_meta_acquire(store_index *idx);
void store_index_meta_release(const store_index_meta *meta);

/* One index's metadata change: only the blobs whose set_* flag is true change. */
typedef struct store_index_update {
    const char *name;
    bool set_settings, set_mappings, set_aliases;
    store_blob settings, mappings, aliases;
    /* Compare-and-set: when > 0, the update is rejected unless the index's
     * metadata version is still this one (for read-merge-write of mappings). */
    int64_t if_version;
} store_index_update;

/*
 * Applies n updates (to one or several indices, e.g. an _aliases request) in
 * one _state transaction: all or none. Readers see the new metadata as soon
 * as this returns 0. Errors: index_not_found_exception; with if_version, a
 * mismatch returns STORE_REJECTED (1) with a version_conflict_engine_exception
 * naming the current version; storage errors return -1.
 */
int store_index_update_meta(store *st, const store_index_update *ups, size_t n, es_err *err);

/* ======================================================================== */
/* Routing                                                                  */

/* MurmurHash3 x86 32-bit of len bytes. */
uint32_t store_murmur3_32(const void *data, size_t len, uint32_t seed);

/*
 * The shard of a document: murmur3_x86_32(seed 0) over the UTF-8 bytes of
 * _routing (or of _id when there is no routing), as an unsigned 32-bit value,
 * modulo number_of_shards. Stable across restarts and platforms. Not
 * Elasticsearch's exact placement (ES hashes UTF-16 code units and uses
 * routing_num_shards); nothing outside the node can observe the difference.
 */
uint32_t store_shard_for(const store_index *idx, const void *routing_or_id, size_t len);

/* ======================================================================== */
/* Write transactions                                                       */

/* Per-item outcome of a write. A rejected item (STORE_REJECTED) leaves the
 * transaction usable: report the item's error and carry on. */
#define STORE_REJECTED 1

/* The largest _id accepted (Elasticsearch's limit), and the largest key of a
 * caller table (LMDB's). */
#define STORE_MAX_ID_LEN 512
#define STORE_MAX_KEY_LEN 511

/* Elasticsearch's primary term; ferry has one copy of each shard and never
 * fails over, so it is always 1. */
#define STORE_PRIMARY_TERM 1

typedef enum { STORE_OP_INDEX = 0, STORE_OP_CREATE } store_op_type;
typedef enum {
    STORE_VERSION_INTERNAL = 0,
    STORE_VERSION_EXTERNAL,
    STORE_VERSION_EXTERNAL_GTE,
} store_version_type;

/* Write options; zeroed (or NULL) = op_type index, internal versioning. */
typedef struct store_write_opts {
    store_op_type op_type;           /* index ops only */
    store_version_type version_type;
    int64_t version;                 /* external types only (the REST layer rejects the rest) */
    bool if_seq_no_set;              /* compare-and-set on if_seq_no + if_primary_term */
    int64_t if_seq_no;
    int64_t if_primary_term;
    const char *routing;             /* stored with the document; may be NULL */
    size_t routing_len;
    /* The caller promises that the source bytes stay valid and unchanged
     * until the transaction is committed or aborted (e.g. they point into the
     * bulk request body); the store then keeps a pointer instead of copying
     * them into its operation log for a possible replay (see
     * store_write_begin). Never borrow bytes that point into the store
     * itself (a store_doc or store_kv_get result). _id and routing are
     * always copied. */
    bool borrow;
} store_write_opts;

typedef enum {
    STORE_RESULT_NONE = 0, /* rejected item */
    STORE_RESULT_CREATED,
    STORE_RESULT_UPDATED,
    STORE_RESULT_DELETED,
    STORE_RESULT_NOT_FOUND,
    STORE_RESULT_NOOP,     /* never produced by the store; for the update API */
} store_result;

/* "created", "updated", "deleted", "not_found", "noop" (or "" for NONE). */
const char *store_result_name(store_result r);

typedef struct store_write_result {
    store_result result;
    int64_t version;       /* _version; for a rejected item, the current one (or -1) */
    int64_t seq_no;        /* -2 (unassigned) for a rejected item */
    int64_t primary_term;  /* 0 for a rejected item */
    uint64_t docnum;       /* index ops: the document number the source was stored under
                              (the index writer's key); 0 otherwise */
    uint64_t replaced_docnum; /* index and delete ops: the number of the document version this
                              write removed (a replaced or deleted live document); 0 when none */
} store_write_result;

/*
 * Begins the write transaction of one shard; blocks while another thread
 * writes to that shard. Use it from this thread only, end it with
 * store_write_commit or store_write_abort. A thread may not begin a second
 * write transaction on the same shard while it holds one (-1, illegal_state).
 *
 * Map growth is invisible to the caller: when the shard's map is full, the
 * store aborts the LMDB transaction, grows the map and replays the operations
 * made so far (it logs them, copying inputs unless borrowed), which yields the
 * same results since no other writer can interleave. Cursors open on the
 * transaction are put back on their key. Values read in a write transaction
 * are, as in LMDB, valid only until its next write call. Only when open read
 * snapshots of the shard keep the map from growing for grow_wait_ms (the
 * writer's own included) does the transaction fail
 * (es_rejected_execution_exception, 429).
 *
 * Errors: index_not_found_exception (deleted index), illegal_argument_exception
 * (shard out of range), storage errors.
 */
int store_write_begin(store_index *idx, uint32_t shard, store_txn **out, es_err *err);

/*
 * Indexes (creates or replaces) a document: source is stored byte for byte
 * under a new document number; a replaced document's old record is removed.
 * Semantics are Elasticsearch 8's (op_type, version types, if_seq_no; seq_no
 * per shard from 0; created vs updated; a tombstone younger than gc_deletes
 * continues the version).
 *   0   done; *res filled
 *   1   STORE_REJECTED: version_conflict_engine_exception (409) with reason
 *       "[id]: version conflict, ..." and members index_uuid, shard, index;
 *       or action_request_validation_exception for a bad id or options.
 *       Nothing was written; the transaction goes on.
 *  -1   the transaction failed (storage error); every later call fails too:
 *       abort it.
 * res may be NULL; opts may be NULL.
 */
int store_doc_index(store_txn *txn, const char *id, size_t idlen, const void *source, size_t srclen,
                    const store_write_opts *opts, store_write_result *res, es_err *err);

/*
 * Deletes a document (op_type is ignored). A missing document is not an
 * error: result not_found, version 1 (or tombstone version + 1), and it still
 * takes a seq_no, as Elasticsearch does. Return codes as store_doc_index.
 */
int store_doc_delete(store_txn *txn, const char *id, size_t idlen, const store_write_opts *opts,
                     store_write_result *res, es_err *err);

/*
 * Commits: durable when it returns 0. On -1 nothing of the transaction was
 * applied (e.g. disk full). Either way the transaction is ended and freed;
 * cursors still open on it become dead (close them).
 */
int store_write_commit(store_txn *txn, es_err *err);
/* Discards the transaction. NULL is a no-op. */
void store_write_abort(store_txn *txn);

/* ======================================================================== */
/* Read snapshots                                                           */

/*
 * Begins a read snapshot of one shard: a consistent view as of now; later
 * commits are invisible to it. Usable from any thread (one at a time). Must be
 * ended with store_read_end: an open snapshot pins the pages it sees (the file
 * cannot reuse them) and blocks map growth, so bound long-lived ones
 * (scroll keep-alive). Works on a deleted index whose handle is still held.
 * Errors: es_rejected_execution_exception when all reader slots are taken,
 * illegal_argument_exception (shard out of range), storage errors.
 */
int store_read_begin(store_index *idx, uint32_t shard, store_txn **out, es_err *err);
/* Ends a snapshot; cursors still open on it become dead. NULL is a no-op. */
void store_read_end(store_txn *snap);

/* The index handle and shard of a transaction or snapshot (borrowed). */
store_index *store_txn_index(store_txn *txn);
uint32_t store_txn_shard(store_txn *txn);

/* ======================================================================== */
/* Documents (in a snapshot or a write transaction)                         */

/*
 * A stored document. All pointers are borrowed from the transaction: valid
 * until it ends, and in a write transaction only until its next write call.
 */
typedef struct store_doc {
    uint64_t docnum;       /* internal, ascending in last-write order, >= 1 */
    const char *id;
    size_t idlen;
    const char *routing;   /* NULL when none */
    size_t routing_len;
    const void *source;    /* exactly the bytes that were indexed */
    size_t srclen;
    int64_t version;
    int64_t seq_no;
    int64_t primary_term;
} store_doc;

/* By _id: 1 found (*doc filled), 0 not found (or deleted), -1 error. */
int store_doc_get(store_txn *txn, const char *id, size_t idlen, store_doc *doc, es_err *err);
/* By document number: 1 found, 0 not found, -1 error. */
int store_doc_get_num(store_txn *txn, uint64_t docnum, store_doc *doc, es_err *err);

/* Per-shard counters as of the transaction. */
typedef struct store_shard_counters {
    uint64_t doc_count;     /* live documents */
    uint64_t deleted;       /* live documents removed by deletes, ever */
    int64_t max_seq_no;     /* -1 before the first operation */
    uint64_t next_docnum;   /* the number the next write will take */
} store_shard_counters;

int store_txn_counters(store_txn *txn, store_shard_counters *out, es_err *err);

/*
 * Iterates documents in document-number order, from the first with docnum >=
 * from_docnum. Close with store_cursor_close before the transaction ends.
 */
int store_docs_open(store_txn *txn, uint64_t from_docnum, store_cursor **out, es_err *err);
/* Next document: 1 (*doc filled, borrowed as store_doc_get), 0 at the end, -1 error. */
int store_docs_next(store_cursor *cur, store_doc *doc, es_err *err);

/* ======================================================================== */
/* Caller tables (postings, doc values, …) in each shard environment        */

/*
 * Tables are named key/value B-trees that live in every shard environment and
 * are written in the same transaction as the documents, so an acknowledged
 * document is searchable at once. A table id is node-wide (the same id in
 * every shard). Registering is idempotent (same name, same id); names are
 * 1..64 bytes and may not start with '_'. At most STORE_MAX_TABLES tables.
 *
 * LMDB rule behind the design: a table handle (MDB_dbi) created inside a
 * write transaction is only usable by other transactions after that
 * transaction commits, and is discarded if it aborts; and handles may be
 * created by only one transaction at a time. So: every table already present
 * in a shard's file is opened when the environment opens; a registered table
 * that a shard does not have yet is created by the first write transaction
 * that writes to it there (under that shard's writer lock) and published when
 * it commits; until then, snapshots (and that shard's other readers) see it
 * as empty, which is exactly its committed content.
 *
 * Keys: 1..STORE_MAX_KEY_LEN bytes, ordered bytewise (memcmp, shorter first).
 * Values: any size (large values take overflow pages; prefer < 2 KiB).
 */
#define STORE_MAX_TABLES 56
typedef uint32_t store_table;

int store_table_register(store *st, const char *name, store_table *out, es_err *err);

/* Flags for store_kv_put. */
#define STORE_KV_NOOVERWRITE 0x1u /* do not replace an existing key: returns 1 instead */
#define STORE_KV_APPEND 0x2u      /* key sorts after every key of the table (fast bulk load);
                                     returns 1 if it does not */
#define STORE_KV_BORROW 0x4u      /* the value stays valid until the txn ends (not copied
                                     for replay; see store_write_begin). Keys are copied. */

/* Write transaction only. 0 stored, 1 not stored (flags), -1 txn failed. */
int store_kv_put(store_txn *txn, store_table t, const void *key, size_t klen, const void *val,
                 size_t vlen, unsigned flags, es_err *err);
/* Write transaction only. 1 deleted, 0 was absent, -1 txn failed. */
int store_kv_del(store_txn *txn, store_table t, const void *key, size_t klen, es_err *err);
/* 1 found (*val borrowed as store_doc), 0 not found, -1 error. */
int store_kv_get(store_txn *txn, store_table t, const void *key, size_t klen, store_blob *val,
                 es_err *err);

/* A key range for cursors. Zeroed = the whole table. */
typedef struct store_range {
    store_blob lo;      /* first key >= lo (len 0: from the start) */
    store_blob hi;      /* stop before hi (len 0: to the end) */
    store_blob prefix;  /* only keys with this prefix (len 0: any) */
} store_range;

/* Opens an ascending cursor on a table over range (NULL = whole table); the
 * bounds are copied. Close with store_cursor_close before the txn ends. */
int store_cursor_open(store_txn *txn, store_table t, const store_range *range, store_cursor **out,
                      es_err *err);
/* Next pair: 1 (*key, *val borrowed as store_doc), 0 at the end, -1 error. */
int store_cursor_next(store_cursor *cur, store_blob *key, store_blob *val, es_err *err);
/* Closes a cursor (also a dead one). NULL is a no-op. */
void store_cursor_close(store_cursor *cur);

/* ======================================================================== */
/* Statistics                                                               */

typedef struct store_shard_stats {
    uint64_t doc_count;
    uint64_t deleted;         /* see store_shard_counters */
    int64_t max_seq_no;
    uint64_t store_size;      /* bytes: the data file's size */
    uint64_t map_size;        /* current map size */
    uint64_t map_grows;       /* growths since the environment opened */
    uint64_t replays;         /* transactions replayed after growth since then */
} store_shard_stats;

/* Opens the shard environment if needed. */
int store_shard_stats_get(store_index *idx, uint32_t shard, store_shard_stats *out, es_err *err);

#endif
