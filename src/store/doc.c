/*
 * doc.c — documents in a shard environment: records under ascending
 * document numbers, the _id map, delete tombstones, per-shard counters, and
 * Elasticsearch 8's versioning rules (InternalEngine's planning for a
 * primary: compare-and-set on seq_no/term first, then the version type).
 *
 * Tables of a shard:
 *   _docs   key: docnum, u64 big-endian (ascending: MDB_APPEND)
 *           val: fmt u8 = 1 | flags u8 (bit 0: has routing) | idlen u16 LE |
 *                routing_len u32 LE | version i64 LE | seq_no i64 LE |
 *                primary_term i64 LE | id | routing | source bytes
 *   _ids    key: the _id bytes; an _id longer than 511 bytes (LMDB's key
 *                limit; ES allows 512) is keyed by its first 495 bytes and a
 *                128-bit hash, and its entry carries the full _id to verify.
 *           val: docnum u64 LE (0: tombstone) | version | seq_no | term |
 *                deleted_at ms (tombstones) [| full _id]
 *   _meta   "format" -> "ferry-shard-1"; "counters" -> next_docnum u64 |
 *           max_seq_no i64 | doc_count u64 | deleted u64 (all LE)
 *   _tombs  key: deleted_at u64 BE | seq_no u64 BE  val: _id
 *           Tombstones expire after gc_deletes; pruned at commit, a bounded
 *           number per transaction (lookups ignore expired ones anyway).
 */
#include "store/store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC_HDR 32
#define IDENT_LEN 40
#define LONG_ID_PREFIX 495
#define PRUNE_BATCH 256 /* plus two per operation of the txn, to keep up with deletes */
#define VERSION_NOT_FOUND (-1)
#define SEQ_NO_UNASSIGNED (-2)
#define MAX_ROUTING_LEN 65535

static const char FORMAT_KEY[] = "format";
static const char FORMAT_VAL[] = "ferry-shard-1";
static const char COUNTERS_KEY[] = "counters";

/* ------------------------------------------------------------------------ */
/* keys and entries */

/* The _ids key of an _id; key must hold STORE_MAX_KEY_LEN bytes. */
static size_t id_key(const char *id, size_t idlen, uint8_t *key)
{
    if (idlen <= STORE_MAX_KEY_LEN) {
        memcpy(key, id, idlen);
        return idlen;
    }
    memcpy(key, id, LONG_ID_PREFIX);
    for (uint32_t i = 0; i < 4; i++) put_le32(key + LONG_ID_PREFIX + 4 * i, store_murmur3_32(id, idlen, i + 1));
    return LONG_ID_PREFIX + 16;
}

enum { ID_NONE = 0, ID_TOMB, ID_LIVE };

typedef struct id_state {
    int kind;
    uint64_t docnum;
    int64_t version, seq_no, term, deleted_at;
} id_state;

static bool tomb_expired(const store_txn *t, int64_t deleted_at)
{
    int64_t gc = t->se->gc_deletes_ms;
    return gc <= 0 || t->now_ms - deleted_at > gc;
}

static int corrupt(store_txn *t, es_err *err, const char *what)
{
    return es_err_set(err, ES_INTERNAL, "%s store: corrupt %s", t->se->label, what);
}

/* Looks the _id up. 0 ok (*st filled), -1 error. */
static int id_lookup(store_txn *t, const char *id, size_t idlen, id_state *st, es_err *err)
{
    uint8_t key[STORE_MAX_KEY_LEN];
    size_t kl = id_key(id, idlen, key);
    MDB_val v;
    memset(st, 0, sizeof *st);
    int r = txn_get(t, SLOT_IDS, key, kl, &v, err);
    if (r <= 0) return r;
    const uint8_t *p = v.mv_data;
    if (v.mv_size < IDENT_LEN) return corrupt(t, err, "_id entry");
    if (idlen > STORE_MAX_KEY_LEN) {
        if (v.mv_size != IDENT_LEN + idlen || memcmp(p + IDENT_LEN, id, idlen) != 0)
            return es_err_set(err, ES_ILLEGAL_STATE, "%s store: hash collision between two long _ids",
                              t->se->label);
    }
    st->docnum = get_le64(p);
    st->version = (int64_t)get_le64(p + 8);
    st->seq_no = (int64_t)get_le64(p + 16);
    st->term = (int64_t)get_le64(p + 24);
    st->deleted_at = (int64_t)get_le64(p + 32);
    if (st->docnum) st->kind = ID_LIVE;
    else st->kind = tomb_expired(t, st->deleted_at) ? ID_NONE : ID_TOMB;
    return 0;
}

static void ident_fill(uint8_t *p, uint64_t docnum, int64_t version, int64_t seq_no, int64_t deleted_at,
                       const char *id, size_t idlen)
{
    put_le64(p, docnum);
    put_le64(p + 8, (uint64_t)version);
    put_le64(p + 16, (uint64_t)seq_no);
    put_le64(p + 24, STORE_PRIMARY_TERM);
    put_le64(p + 32, (uint64_t)deleted_at);
    if (idlen > STORE_MAX_KEY_LEN) memcpy(p + IDENT_LEN, id, idlen);
}

static int run_rc(store_txn *t, int rc, const char *what, es_err *err)
{
    if (rc == MDB_MAP_FULL) return RUN_MAPFULL;
    return senv_err(t->se, err, rc, what);
}

/* ------------------------------------------------------------------------ */
/* counters and env init */

static void counters_encode(const shard_counters *c, uint8_t out[32])
{
    put_le64(out, c->next_docnum);
    put_le64(out + 8, (uint64_t)c->max_seq_no);
    put_le64(out + 16, c->doc_count);
    put_le64(out + 24, c->deleted);
}

static int counters_decode(const MDB_val *v, shard_counters *c)
{
    if (v->mv_size != 32) return -1;
    const uint8_t *p = v->mv_data;
    c->next_docnum = get_le64(p);
    c->max_seq_no = (int64_t)get_le64(p + 8);
    c->doc_count = get_le64(p + 16);
    c->deleted = get_le64(p + 24);
    return 0;
}

int doc_env_init(senv *se, MDB_txn *mt, es_err *err)
{
    MDB_val k = { sizeof FORMAT_KEY - 1, (void *)FORMAT_KEY }, v;
    int rc = mdb_get(mt, se->dbi[SLOT_META], &k, &v);
    if (rc == 0) {
        if (v.mv_size != sizeof FORMAT_VAL - 1 || memcmp(v.mv_data, FORMAT_VAL, v.mv_size) != 0)
            return es_err_set(err, ES_ILLEGAL_STATE, "%s store: unknown shard format [%.*s]", se->label,
                              (int)v.mv_size, (const char *)v.mv_data);
        MDB_val ck = { sizeof COUNTERS_KEY - 1, (void *)COUNTERS_KEY };
        shard_counters c;
        rc = mdb_get(mt, se->dbi[SLOT_META], &ck, &v);
        if (rc) return senv_err(se, err, rc, "reading the shard counters");
        if (counters_decode(&v, &c) < 0)
            return es_err_set(err, ES_INTERNAL, "%s store: corrupt shard counters", se->label);
        return 0;
    }
    if (rc != MDB_NOTFOUND) return senv_err(se, err, rc, "reading the shard format");
    v.mv_size = sizeof FORMAT_VAL - 1;
    v.mv_data = (void *)FORMAT_VAL;
    rc = mdb_put(mt, se->dbi[SLOT_META], &k, &v, 0);
    if (rc) return senv_err(se, err, rc, "initialising the shard");
    shard_counters c = { .next_docnum = 1, .max_seq_no = -1 };
    uint8_t enc[32];
    counters_encode(&c, enc);
    MDB_val ck = { sizeof COUNTERS_KEY - 1, (void *)COUNTERS_KEY }, cv = { sizeof enc, enc };
    rc = mdb_put(mt, se->dbi[SLOT_META], &ck, &cv, 0);
    if (rc) return senv_err(se, err, rc, "initialising the shard");
    return 0;
}

static int counters_read(store_txn *t, shard_counters *c, es_err *err)
{
    MDB_val v;
    int r = txn_get(t, SLOT_META, COUNTERS_KEY, sizeof COUNTERS_KEY - 1, &v, err);
    if (r < 0) return -1;
    if (r == 0 || counters_decode(&v, c) < 0) return corrupt(t, err, "shard counters");
    return 0;
}

int doc_txn_load(store_txn *t, es_err *err)
{
    t->cnt_dirty = false;
    return counters_read(t, &t->cnt, err);
}

/* Removes up to PRUNE_BATCH expired tombstones. */
static int prune_tombstones(store_txn *t, es_err *err)
{
    MDB_dbi tombs, ids;
    if (!txn_dbi(t, SLOT_TOMBS, &tombs) || !txn_dbi(t, SLOT_IDS, &ids)) return 0;
    MDB_cursor *mc;
    int rc = mdb_cursor_open(t->mt, tombs, &mc);
    if (rc) return senv_err(t->se, err, rc, "opening a cursor");
    int ret = 0;
    size_t batch = PRUNE_BATCH + 2 * t->nops;
    for (size_t n = 0; n < batch; n++) {
        MDB_val k, v;
        rc = mdb_cursor_get(mc, &k, &v, MDB_FIRST);
        if (rc == MDB_NOTFOUND) break;
        if (rc) {
            ret = senv_err(t->se, err, rc, "reading tombstones");
            break;
        }
        if (k.mv_size != 16 || v.mv_size == 0 || v.mv_size > STORE_MAX_ID_LEN) {
            ret = corrupt(t, err, "tombstone");
            break;
        }
        int64_t deleted_at = (int64_t)get_be64(k.mv_data);
        int64_t seq_no = (int64_t)get_be64((const uint8_t *)k.mv_data + 8);
        if (!tomb_expired(t, deleted_at)) break;
        /* Drop the _id entry if it is still this tombstone. */
        uint8_t key[STORE_MAX_KEY_LEN];
        MDB_val ik = { id_key(v.mv_data, v.mv_size, key), key }, iv;
        rc = mdb_get(t->mt, ids, &ik, &iv);
        if (rc == 0 && iv.mv_size >= IDENT_LEN && get_le64(iv.mv_data) == 0 &&
            (int64_t)get_le64((const uint8_t *)iv.mv_data + 16) == seq_no)
            rc = mdb_del(t->mt, ids, &ik, NULL);
        else if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc == 0) rc = mdb_cursor_del(mc, 0);
        if (rc) {
            ret = run_rc(t, rc, "pruning tombstones", err);
            break;
        }
    }
    mdb_cursor_close(mc);
    return ret;
}

int doc_txn_finish(store_txn *t, es_err *err)
{
    int r = prune_tombstones(t, err);
    if (r) return r;
    if (!t->cnt_dirty) return 0;
    MDB_dbi meta;
    if (!txn_dbi(t, SLOT_META, &meta)) return corrupt(t, err, "shard (no _meta)");
    uint8_t enc[32];
    counters_encode(&t->cnt, enc);
    MDB_val k = { sizeof COUNTERS_KEY - 1, (void *)COUNTERS_KEY }, v = { sizeof enc, enc };
    int rc = mdb_put(t->mt, meta, &k, &v, 0);
    if (rc) return run_rc(t, rc, "writing the shard counters", err);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* version semantics */

static void conflict_extras(store_txn *t, es_err *err)
{
    char shard[16];
    snprintf(shard, sizeof shard, "%" PRIu32, t->shard);
    es_err_extra(err, "index_uuid", t->idx ? store_index_uuid(t->idx) : "_na_", false);
    es_err_extra(err, "shard", shard, false);
    es_err_extra(err, "index", t->idx ? store_index_name(t->idx) : "_na_", false);
}

/*
 * Elasticsearch's decision for a write on a primary. Returns 0 when allowed
 * (new version in *new_version) or STORE_REJECTED with err set.
 */
static int plan_write(store_txn *t, const oplog_ent *o, const id_state *st, bool is_create,
                      int64_t *new_version, es_err *err)
{
    const store_write_opts *op = &o->opts;
    const char *id = op_k(t, o);
    int idl = (int)o->klen;
    bool deleted = st->kind != ID_LIVE;
    int64_t cur = st->kind == ID_NONE ? VERSION_NOT_FOUND : st->version;

    if (op->if_seq_no_set && deleted) {
        es_err_set(err, ES_VERSION_CONFLICT,
                   "[%.*s]: version conflict, required seqNo [%" PRId64 "], primary term [%" PRId64
                   "]. but no document was found",
                   idl, id, op->if_seq_no, op->if_primary_term);
        goto conflict;
    }
    if (op->if_seq_no_set && (st->seq_no != op->if_seq_no || st->term != op->if_primary_term)) {
        es_err_set(err, ES_VERSION_CONFLICT,
                   "[%.*s]: version conflict, required seqNo [%" PRId64 "], primary term [%" PRId64
                   "]. current document has seqNo [%" PRId64 "] and primary term [%" PRId64 "]",
                   idl, id, op->if_seq_no, op->if_primary_term, st->seq_no, st->term);
        goto conflict;
    }
    switch (op->version_type) {
    case STORE_VERSION_INTERNAL:
        /* op_type create is internal versioning with "must be deleted". */
        if (is_create && !deleted) {
            es_err_set(err, ES_VERSION_CONFLICT,
                       "[%.*s]: version conflict, document already exists (current version [%" PRId64 "])",
                       idl, id, cur);
            goto conflict;
        }
        *new_version = cur == VERSION_NOT_FOUND ? 1 : cur + 1;
        return 0;
    case STORE_VERSION_EXTERNAL:
        if (cur != VERSION_NOT_FOUND && cur >= op->version) {
            es_err_set(err, ES_VERSION_CONFLICT,
                       "[%.*s]: version conflict, current version [%" PRId64
                       "] is higher or equal to the one provided [%" PRId64 "]",
                       idl, id, cur, op->version);
            goto conflict;
        }
        *new_version = op->version;
        return 0;
    case STORE_VERSION_EXTERNAL_GTE:
        if (cur != VERSION_NOT_FOUND && cur > op->version) {
            es_err_set(err, ES_VERSION_CONFLICT,
                       "[%.*s]: version conflict, current version [%" PRId64
                       "] is higher than the one provided [%" PRId64 "]",
                       idl, id, cur, op->version);
            goto conflict;
        }
        *new_version = op->version;
        return 0;
    }
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: unknown version type");
    return STORE_REJECTED;
conflict:
    conflict_extras(t, err);
    return STORE_REJECTED;
}

static void res_rejected(store_write_result *res, int64_t cur)
{
    res->result = STORE_RESULT_NONE;
    res->version = cur;
    res->seq_no = SEQ_NO_UNASSIGNED;
    res->primary_term = 0;
    res->docnum = 0;
    res->replaced_docnum = 0;
}

/* ------------------------------------------------------------------------ */
/* running logged ops */

int doc_run_index(store_txn *t, oplog_ent *o, es_err *err)
{
    const char *id = op_k(t, o);
    size_t idlen = o->klen;
    const char *routing = o->rlen ? op_r(t, o) : NULL;
    id_state st;
    int r = id_lookup(t, id, idlen, &st, err);
    if (r < 0) return r;
    int64_t version;
    r = plan_write(t, o, &st, o->opts.op_type == STORE_OP_CREATE, &version, err);
    if (r) {
        res_rejected(&o->res, st.kind == ID_NONE ? VERSION_NOT_FOUND : st.version);
        return r;
    }

    MDB_dbi docs, ids;
    if (!txn_dbi(t, SLOT_DOCS, &docs) || !txn_dbi(t, SLOT_IDS, &ids)) return corrupt(t, err, "shard tables");
    int64_t seq_no = t->cnt.max_seq_no + 1;
    uint64_t docnum = t->cnt.next_docnum;
    uint8_t dk[8];
    int rc;
    if (st.kind == ID_LIVE) {
        put_be64(dk, st.docnum);
        MDB_val okey = { 8, dk };
        rc = mdb_del(t->mt, docs, &okey, NULL);
        if (rc && rc != MDB_NOTFOUND) return run_rc(t, rc, "removing the old document", err);
    }

    /* The record, written in place (MDB_RESERVE): no intermediate buffer. */
    put_be64(dk, docnum);
    MDB_val key = { 8, dk };
    MDB_val val = { DOC_HDR + idlen + o->rlen + o->vlen, NULL };
    rc = mdb_put(t->mt, docs, &key, &val, MDB_APPEND | MDB_RESERVE);
    if (rc == MDB_KEYEXIST) return corrupt(t, err, "shard counters (document number reused)");
    if (rc) return run_rc(t, rc, "writing the document", err);
    uint8_t *p = val.mv_data;
    p[0] = 1;
    p[1] = routing ? 1 : 0;
    put_le16(p + 2, (uint16_t)idlen);
    put_le32(p + 4, (uint32_t)o->rlen);
    put_le64(p + 8, (uint64_t)version);
    put_le64(p + 16, (uint64_t)seq_no);
    put_le64(p + 24, STORE_PRIMARY_TERM);
    memcpy(p + DOC_HDR, id, idlen);
    if (o->rlen) memcpy(p + DOC_HDR + idlen, routing, o->rlen);
    if (o->vlen) memcpy(p + DOC_HDR + idlen + o->rlen, op_v(t, o), o->vlen);

    uint8_t ikey[STORE_MAX_KEY_LEN];
    uint8_t ient[IDENT_LEN + STORE_MAX_ID_LEN];
    size_t ientlen = IDENT_LEN + (idlen > STORE_MAX_KEY_LEN ? idlen : 0);
    ident_fill(ient, docnum, version, seq_no, 0, id, idlen);
    MDB_val ik = { id_key(id, idlen, ikey), ikey }, iv = { ientlen, ient };
    rc = mdb_put(t->mt, ids, &ik, &iv, 0);
    if (rc) return run_rc(t, rc, "writing the _id entry", err);

    t->cnt.max_seq_no = seq_no;
    t->cnt.next_docnum = docnum + 1;
    if (st.kind != ID_LIVE) t->cnt.doc_count++;
    t->cnt_dirty = true;

    o->res.result = st.kind == ID_LIVE ? STORE_RESULT_UPDATED : STORE_RESULT_CREATED;
    o->res.version = version;
    o->res.seq_no = seq_no;
    o->res.primary_term = STORE_PRIMARY_TERM;
    o->res.docnum = docnum;
    o->res.replaced_docnum = st.kind == ID_LIVE ? st.docnum : 0;
    return 0;
}

int doc_run_delete(store_txn *t, oplog_ent *o, es_err *err)
{
    const char *id = op_k(t, o);
    size_t idlen = o->klen;
    id_state st;
    int r = id_lookup(t, id, idlen, &st, err);
    if (r < 0) return r;
    int64_t version;
    r = plan_write(t, o, &st, false, &version, err);
    if (r) {
        res_rejected(&o->res, st.kind == ID_NONE ? VERSION_NOT_FOUND : st.version);
        return r;
    }

    MDB_dbi docs, ids, tombs;
    if (!txn_dbi(t, SLOT_DOCS, &docs) || !txn_dbi(t, SLOT_IDS, &ids) || !txn_dbi(t, SLOT_TOMBS, &tombs))
        return corrupt(t, err, "shard tables");
    int64_t seq_no = t->cnt.max_seq_no + 1;
    int rc;
    if (st.kind == ID_LIVE) {
        uint8_t dk[8];
        put_be64(dk, st.docnum);
        MDB_val okey = { 8, dk };
        rc = mdb_del(t->mt, docs, &okey, NULL);
        if (rc && rc != MDB_NOTFOUND) return run_rc(t, rc, "removing the document", err);
    }

    uint8_t ikey[STORE_MAX_KEY_LEN];
    MDB_val ik = { id_key(id, idlen, ikey), ikey };
    if (t->se->gc_deletes_ms > 0) {
        uint8_t ient[IDENT_LEN + STORE_MAX_ID_LEN];
        size_t ientlen = IDENT_LEN + (idlen > STORE_MAX_KEY_LEN ? idlen : 0);
        ident_fill(ient, 0, version, seq_no, t->now_ms, id, idlen);
        MDB_val iv = { ientlen, ient };
        rc = mdb_put(t->mt, ids, &ik, &iv, 0);
        if (rc) return run_rc(t, rc, "writing the tombstone", err);
        uint8_t tk[16];
        put_be64(tk, (uint64_t)t->now_ms);
        put_be64(tk + 8, (uint64_t)seq_no);
        MDB_val tkey = { 16, tk }, tval = { idlen, (void *)id };
        rc = mdb_put(t->mt, tombs, &tkey, &tval, 0);
        if (rc) return run_rc(t, rc, "queueing the tombstone", err);
    } else {
        rc = mdb_del(t->mt, ids, &ik, NULL);
        if (rc && rc != MDB_NOTFOUND) return run_rc(t, rc, "removing the _id entry", err);
    }

    t->cnt.max_seq_no = seq_no;
    if (st.kind == ID_LIVE) {
        t->cnt.doc_count--;
        t->cnt.deleted++;
    }
    t->cnt_dirty = true;

    o->res.result = st.kind == ID_LIVE ? STORE_RESULT_DELETED : STORE_RESULT_NOT_FOUND;
    o->res.version = version;
    o->res.seq_no = seq_no;
    o->res.primary_term = STORE_PRIMARY_TERM;
    o->res.docnum = 0;
    o->res.replaced_docnum = st.kind == ID_LIVE ? st.docnum : 0;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* public: writes */

const char *store_result_name(store_result r)
{
    switch (r) {
    case STORE_RESULT_CREATED: return "created";
    case STORE_RESULT_UPDATED: return "updated";
    case STORE_RESULT_DELETED: return "deleted";
    case STORE_RESULT_NOT_FOUND: return "not_found";
    case STORE_RESULT_NOOP: return "noop";
    case STORE_RESULT_NONE: break;
    }
    return "";
}

static const char *version_type_name(store_version_type vt)
{
    switch (vt) {
    case STORE_VERSION_INTERNAL: return "INTERNAL";
    case STORE_VERSION_EXTERNAL: return "EXTERNAL";
    case STORE_VERSION_EXTERNAL_GTE: return "EXTERNAL_GTE";
    }
    return "?";
}

/* Checks done before logging: misuse (-1) or an invalid item (REJECTED). */
static int doc_precheck(store_txn *t, const char *id, size_t idlen, const store_write_opts *o, bool is_index,
                        es_err *err)
{
    if (!t->write || !t->se->is_shard)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: document write outside a shard write transaction");
    if (t->failed) return txn_failed_err(t, err);
    const char *msg = NULL;
    char tmp[160];
    if (idlen == 0) {
        msg = "id is missing";
    } else if (idlen > STORE_MAX_ID_LEN) {
        snprintf(tmp, sizeof tmp, "id [%.40s...] is too long, must be no longer than 512 bytes but was: %zu", id,
                 idlen);
        msg = tmp;
    } else if (o->routing_len > MAX_ROUTING_LEN) {
        msg = "routing is too long";
    } else if (o->version_type > STORE_VERSION_EXTERNAL_GTE) {
        msg = "unknown version type";
    } else if (is_index && o->op_type == STORE_OP_CREATE && o->version_type != STORE_VERSION_INTERNAL) {
        msg = "create operations only support internal versioning. use index instead";
    } else if (is_index && o->op_type == STORE_OP_CREATE && o->if_seq_no_set) {
        msg = "create operations do not support compare and set. use index instead";
    } else if (o->if_seq_no_set && o->version_type != STORE_VERSION_INTERNAL) {
        msg = "compare and write operations can not use versioning";
    } else if (o->if_seq_no_set && o->if_seq_no < 0) {
        msg = "ifSeqNo must be non negative";
    } else if (o->if_seq_no_set && o->if_primary_term <= 0) {
        msg = "ifPrimaryTerm must be positive";
    } else if (o->version_type != STORE_VERSION_INTERNAL && o->version < 0) {
        snprintf(tmp, sizeof tmp, "illegal version value [%" PRId64 "] for version type [%s]", o->version,
                 version_type_name(o->version_type));
        msg = tmp;
    }
    if (msg) {
        es_err_set(err, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: %s;", msg);
        return STORE_REJECTED;
    }
    return 0;
}

static int doc_write(store_txn *t, int kind, const char *id, size_t idlen, const void *source, size_t srclen,
                     const store_write_opts *opts, store_write_result *res, es_err *err)
{
    static const store_write_opts defaults;
    const store_write_opts *o = opts ? opts : &defaults;
    store_write_result dummy;
    if (!res) res = &dummy;
    res_rejected(res, VERSION_NOT_FOUND);
    int r = doc_precheck(t, id, idlen, o, kind == OP_DOC_INDEX, err);
    if (r) return r;
    size_t off = oplog_add(t, kind, 0, id, idlen, source, srclen, o->routing, o->routing ? o->routing_len : 0,
                           o->borrow);
    oplog_ent *e = oplog_at(t, off);
    e->opts = *o;
    e->opts.routing = NULL;
    r = txn_exec(t, off, err);
    if (r >= 0) *res = oplog_at(t, off)->res; /* still in the buffer even when dropped from the log */
    return r;
}

int store_doc_index(store_txn *txn, const char *id, size_t idlen, const void *source, size_t srclen,
                    const store_write_opts *opts, store_write_result *res, es_err *err)
{
    return doc_write(txn, OP_DOC_INDEX, id, idlen, source, srclen, opts, res, err);
}

int store_doc_delete(store_txn *txn, const char *id, size_t idlen, const store_write_opts *opts,
                     store_write_result *res, es_err *err)
{
    return doc_write(txn, OP_DOC_DELETE, id, idlen, NULL, 0, opts, res, err);
}

/* ------------------------------------------------------------------------ */
/* public: reads */

int doc_decode(senv *se, uint64_t docnum, const MDB_val *v, store_doc *doc, es_err *err)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size < DOC_HDR || p[0] != 1) goto bad;
    size_t idlen = get_le16(p + 2);
    size_t rlen = get_le32(p + 4);
    if (DOC_HDR + idlen + rlen > v->mv_size) goto bad;
    doc->docnum = docnum;
    doc->version = (int64_t)get_le64(p + 8);
    doc->seq_no = (int64_t)get_le64(p + 16);
    doc->primary_term = (int64_t)get_le64(p + 24);
    doc->id = (const char *)p + DOC_HDR;
    doc->idlen = idlen;
    doc->routing = (p[1] & 1) ? (const char *)p + DOC_HDR + idlen : NULL;
    doc->routing_len = rlen;
    doc->source = p + DOC_HDR + idlen + rlen;
    doc->srclen = v->mv_size - DOC_HDR - idlen - rlen;
    return 0;
bad:
    return es_err_set(err, ES_INTERNAL, "%s store: corrupt document record [%" PRIu64 "]", se->label, docnum);
}

static int check_shard_txn(store_txn *t, es_err *err)
{
    if (!t->se->is_shard) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: not a shard transaction");
    if (t->failed) return txn_failed_err(t, err);
    return 0;
}

int store_doc_get_num(store_txn *txn, uint64_t docnum, store_doc *doc, es_err *err)
{
    if (check_shard_txn(txn, err) < 0) return -1;
    uint8_t dk[8];
    put_be64(dk, docnum);
    MDB_val v;
    int r = txn_get(txn, SLOT_DOCS, dk, 8, &v, err);
    if (r <= 0) return r;
    return doc_decode(txn->se, docnum, &v, doc, err) < 0 ? -1 : 1;
}

int store_doc_get(store_txn *txn, const char *id, size_t idlen, store_doc *doc, es_err *err)
{
    if (check_shard_txn(txn, err) < 0) return -1;
    if (idlen == 0 || idlen > STORE_MAX_ID_LEN) return 0;
    id_state st;
    if (id_lookup(txn, id, idlen, &st, err) < 0) return -1;
    if (st.kind != ID_LIVE) return 0;
    int r = store_doc_get_num(txn, st.docnum, doc, err);
    if (r == 0) return corrupt(txn, err, "_id entry (no such document)");
    return r;
}

int store_txn_counters(store_txn *txn, store_shard_counters *out, es_err *err)
{
    if (check_shard_txn(txn, err) < 0) return -1;
    shard_counters c;
    if (txn->write) c = txn->cnt;
    else if (counters_read(txn, &c, err) < 0) return -1;
    out->doc_count = c.doc_count;
    out->deleted = c.deleted;
    out->max_seq_no = c.max_seq_no;
    out->next_docnum = c.next_docnum;
    return 0;
}

int store_docs_open(store_txn *txn, uint64_t from_docnum, store_cursor **out, es_err *err)
{
    *out = NULL;
    if (check_shard_txn(txn, err) < 0) return -1;
    uint8_t lo[8];
    put_be64(lo, from_docnum);
    store_range r = { .lo = { lo, from_docnum ? 8 : 0 } };
    return cursor_open_slot(txn, SLOT_DOCS, true, &r, out, err);
}

int store_docs_next(store_cursor *cur, store_doc *doc, es_err *err)
{
    if (!cur->docs) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "store: not a document cursor");
    MDB_val k, v;
    int r = cursor_step(cur, &k, &v, err);
    if (r <= 0) return r;
    if (k.mv_size != 8) return es_err_set(err, ES_INTERNAL, "store: corrupt document key");
    return doc_decode(cur->txn->se, get_be64(k.mv_data), &v, doc, err) < 0 ? -1 : 1;
}
