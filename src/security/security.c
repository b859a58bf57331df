/*
 * security.c — the node's security object: settings, the realm snapshot and
 * its reload thread, the reserved elastic user, authentication with a cache of
 * verified credentials, and authorization with Elasticsearch's 403 texts.
 *
 * Realm snapshot: the file realm (users + users_roles) and roles.yml are read
 * into an immutable `realm_state`; a reload builds a new one and swaps it under
 * the write lock. Requests read it under the read lock and copy what they keep
 * (the principal) into their arena.
 *
 * Cache: verified credentials, keyed by HMAC-SHA-256(per-process random key,
 * username NUL password), so neither passwords nor their plain digests are
 * kept. Direct-mapped (CACHE_SLOTS entries, bounded memory), each entry valid
 * for the cache TTL and the realm generation it was verified under (a reload
 * invalidates everything). Failures are never cached.
 */
#include "security/security_int.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CACHE_SLOTS 10007          /* ~10k entries, as ES's default cache.max_users (100k) scaled down */
#define CACHE_TTL_MS (20 * 60 * 1000) /* ES's cache.ttl: 20m */
#define PASSWORD_LEN 20            /* generated passwords, as ES's */

/* ------------------------------------------------------------------------ */
/* Settings */

static bool valid_protocol(const char *v, char *why, size_t whylen)
{
    if (strcmp(v, "TLSv1.3") == 0 || strcmp(v, "TLSv1.2") == 0) return true;
    if (strcmp(v, "TLSv1.1") == 0 || strcmp(v, "TLSv1") == 0 || strcmp(v, "SSLv3") == 0 ||
        strcmp(v, "SSLv2Hello") == 0)
        snprintf(why, whylen, "protocol [%s] is not supported by ferry: only TLSv1.3 and TLSv1.2 are", v);
    else
        snprintf(why, whylen, "unknown protocol [%s]: use TLSv1.3 and/or TLSv1.2", v);
    return false;
}

const setting_def security_settings[] = {
    { "xpack.security.enabled", SETTING_BOOL, "true", NULL, 0, 0, NULL },
    { "xpack.security.autoconfiguration.enabled", SETTING_BOOL, "true", NULL, 0, 0, NULL },
    { "xpack.security.enrollment.enabled", SETTING_BOOL, "false", NULL, 0, 0, NULL },
    { "xpack.security.http.ssl.enabled", SETTING_BOOL, "false", NULL, 0, 0, NULL },
    { "xpack.security.http.ssl.certificate", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "xpack.security.http.ssl.key", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "xpack.security.http.ssl.key_passphrase", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "xpack.security.http.ssl.certificate_authorities", SETTING_LIST, NULL, NULL, 0, 0, NULL },
    { "xpack.security.http.ssl.keystore.path", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "xpack.security.http.ssl.keystore.password", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "xpack.security.http.ssl.keystore.type", SETTING_ENUM, "PKCS12", "PKCS12|pkcs12|PKCS#12", 0, 0, NULL },
    { "xpack.security.http.ssl.supported_protocols", SETTING_LIST, "TLSv1.3,TLSv1.2", NULL, 0, 0,
      valid_protocol },
    { "xpack.security.http.ssl.client_authentication", SETTING_ENUM, "none", "none|optional|required", 0, 0,
      NULL },
    { "xpack.security.http.ssl.verification_mode", SETTING_ENUM, "full", "full|certificate|none", 0, 0, NULL },
    /* A single node has no transport layer: ES's transport TLS block (which its own
     * auto-configuration writes) is accepted and has no effect. */
    { "xpack.security.transport.ssl.*", SETTING_STRING, NULL, NULL, 0, 0, NULL },
    { "resource.reload.interval.high", SETTING_TIME, "5s", NULL, 0, 0, NULL },
};
const size_t security_settings_count = ARRAY_LEN(security_settings);

/* ------------------------------------------------------------------------ */
/* The object */

typedef struct realm_state {
    sec_userdb users;   /* hash + roles per user */
    sec_roles roles;    /* roles.yml */
    uint64_t gen;
} realm_state;

typedef struct file_sig {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_sig;

typedef struct cache_slot {
    uint8_t key[32];
    uint64_t gen;
    int64_t expires;   /* mono ms */
    bool used;
} cache_slot;

struct security {
    bool enabled;
    char *users_path, *users_roles_path, *roles_path;
    char *reserved_path;
    char elastic_hash[SEC_HASH_MAX];   /* "" when the elastic user has no password */

    pthread_rwlock_t lock;
    pthread_mutex_t reload_mu;  /* one reload at a time */
    realm_state *state;
    file_sig sigs[3];
    uint64_t next_gen;

    pthread_mutex_t cache_mu;
    cache_slot *cache;
    uint8_t hmac_key[32];
    int64_t ttl_ms;
    _Atomic uint64_t bcrypt_runs, cache_hits;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stop;
    int64_t reload_ms;
};

static int64_t mono_ms(void)
{
    return mono_nanos() / 1000000;
}

static void state_free(realm_state *st)
{
    if (!st) return;
    sec_userdb_free(&st->users);
    sec_roles_free(&st->roles);
    free(st);
}

static file_sig sig_of(const char *path)
{
    file_sig s = { 0 };
    struct stat st;
    if (stat(path, &st) == 0) {
        s.exists = true;
        s.dev = st.st_dev;
        s.ino = st.st_ino;
        s.size = st.st_size;
        s.mtime = st.st_mtim;
    }
    return s;
}

static bool sig_eq(const file_sig *a, const file_sig *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static char **strs_dup(char *const *v, size_t n)
{
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) out[i] = xstrdup(v[i]);
    return out;
}

static sec_role role_dup(const sec_role *o)
{
    sec_role r = { 0 };
    r.name = xstrdup(o->name);
    r.n_cluster = o->n_cluster;
    r.cluster = strs_dup(o->cluster, o->n_cluster);
    r.n_indices = o->n_indices;
    r.indices = xcalloc(o->n_indices + 1, sizeof *r.indices);
    for (size_t j = 0; j < o->n_indices; j++) {
        r.indices[j].n_names = o->indices[j].n_names;
        r.indices[j].names = strs_dup(o->indices[j].names, o->indices[j].n_names);
        r.indices[j].n_privileges = o->indices[j].n_privileges;
        r.indices[j].privileges = strs_dup(o->indices[j].privileges, o->indices[j].n_privileges);
    }
    return r;
}

/* Reads the three files into a new state; on a read error keeps the part of old. */
static realm_state *state_load(security *s, const realm_state *old)
{
    realm_state *st = xcalloc(1, sizeof *st);
    char *err = NULL;
    if (sec_users_read(s->users_path, &st->users, &err) < 0 ||
        sec_users_roles_read(s->users_roles_path, &st->users, &err) < 0) {
        log_error("security", "%s; keeping the previous users", err);
        free(err);
        err = NULL;
        sec_userdb_free(&st->users);
        if (old)
            for (size_t i = 0; i < old->users.n; i++) {
                sec_user_entry *e = sec_userdb_add(&st->users, old->users.v[i].name);
                sec_user_set_hash(e, old->users.v[i].hash);
                for (size_t j = 0; j < old->users.v[i].n_roles; j++) sec_user_add_role(e, old->users.v[i].roles[j]);
            }
    }
    if (sec_roles_read(s->roles_path, &st->roles, &err) < 0) {
        log_error("security", "%s; keeping the previous roles", err);
        free(err);
        sec_roles_free(&st->roles);
        if (old) {
            for (size_t i = 0; i < old->roles.n; i++) {
                sec_role r = role_dup(&old->roles.v[i]);
                st->roles.v = xrealloc(st->roles.v, (st->roles.n + 1) * sizeof *st->roles.v);
                st->roles.v[st->roles.n++] = r;
            }
        }
    }
    /* Users whose hash is missing (only in users_roles) cannot log in; unsupported hashes
     * are reported once per load. */
    for (size_t i = 0; i < st->users.n; i++) {
        const sec_user_entry *e = &st->users.v[i];
        if (e->hash && !security_hash_supported(e->hash))
            log_warn("security", "user [%s] in [%s] has a password hash ferry cannot verify (only bcrypt: "
                                 "$2a$, $2b$, $2y$); the user cannot authenticate",
                     e->name, s->users_path);
    }
    st->gen = ++s->next_gen;
    return st;
}

bool security_reload(security *s)
{
    if (!s->enabled) return false;
    file_sig now[3] = { sig_of(s->users_path), sig_of(s->users_roles_path), sig_of(s->roles_path) };
    bool changed = false;
    for (int i = 0; i < 3; i++) changed |= !sig_eq(&now[i], &s->sigs[i]);
    if (!changed) return false;
    pthread_mutex_lock(&s->reload_mu);
    pthread_rwlock_rdlock(&s->lock);
    realm_state *st = state_load(s, s->state);
    pthread_rwlock_unlock(&s->lock);
    pthread_rwlock_wrlock(&s->lock);
    realm_state *old = s->state;
    s->state = st;
    memcpy(s->sigs, now, sizeof now);
    pthread_rwlock_unlock(&s->lock);
    pthread_mutex_unlock(&s->reload_mu);
    state_free(old);
    size_t nusers = 0;
    for (size_t i = 0; i < st->users.n; i++) nusers += st->users.v[i].hash != NULL;
    log_info("security", "%s users [%s] (%zu users), users_roles and roles [%s] (%zu roles)",
             old ? "reloaded" : "loaded", s->users_path, nusers, s->roles_path, st->roles.n);
    return true;
}

static void *reload_main(void *arg)
{
    security *s = arg;
    pthread_mutex_lock(&s->stop_mu);
    while (!s->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (s->reload_ms % 1000) * 1000000;
        ts.tv_sec += s->reload_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&s->stop_cv, &s->stop_mu, &ts);
        if (s->stop) break;
        pthread_mutex_unlock(&s->stop_mu);
        security_reload(s);
        pthread_mutex_lock(&s->stop_mu);
    }
    pthread_mutex_unlock(&s->stop_mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The reserved elastic user */

static int mkdir_p(const char *path, mode_t mode)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, mode) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int reserved_setup(security *s, const char *path_data, char **generated, char **err)
{
    char *dir = xasprintf("%s/security", path_data);
    s->reserved_path = xasprintf("%s/reserved_users", dir);
    sec_userdb db = { 0 };
    if (sec_users_read(s->reserved_path, &db, err) < 0) {
        free(dir);
        return -1;
    }
    sec_user_entry *e = sec_userdb_find(&db, "elastic");
    if (e && e->hash) {
        snprintf(s->elastic_hash, sizeof s->elastic_hash, "%s", e->hash);
        if (!security_hash_supported(s->elastic_hash))
            log_warn("security", "the elastic user's hash in [%s] is not a bcrypt hash; elastic cannot log in",
                     s->reserved_path);
        const char *envpw = getenv("ELASTIC_PASSWORD");
        if (envpw && *envpw && !security_verify_password(envpw, s->elastic_hash))
            log_warn("security", "ELASTIC_PASSWORD is ignored: the elastic user's password was set at the first "
                                 "start (kept in [%s]; delete that file and restart to set it again)",
                     s->reserved_path);
        sec_userdb_free(&db);
        free(dir);
        return 0;
    }
    /* First start: the password comes from ELASTIC_PASSWORD or is generated (and printed once). */
    const char *envpw = getenv("ELASTIC_PASSWORD");
    char pw[PASSWORD_LEN + 1];
    if (envpw && *envpw) {
        if (strlen(envpw) < SEC_MIN_PASSWORD_LEN) {
            *err = xasprintf("ELASTIC_PASSWORD must be at least [%d] characters long", SEC_MIN_PASSWORD_LEN);
            sec_userdb_free(&db);
            free(dir);
            return -1;
        }
        snprintf(pw, sizeof pw, "%s", "");
    } else {
        security_random_password(pw, PASSWORD_LEN);
    }
    char hash[SEC_HASH_MAX];
    if (security_hash_password(envpw && *envpw ? envpw : pw, hash) < 0) {
        *err = xasprintf("cannot hash the elastic user's password (libcrypt's bcrypt)");
        explicit_bzero(pw, sizeof pw);
        sec_userdb_free(&db);
        free(dir);
        return -1;
    }
    if (mkdir_p(dir, 0700) != 0) {
        *err = xasprintf("cannot create [%s]: %s", dir, strerror(errno));
        explicit_bzero(pw, sizeof pw);
        sec_userdb_free(&db);
        free(dir);
        return -1;
    }
    free(dir);
    e = sec_userdb_add(&db, "elastic");
    sec_user_set_hash(e, hash);
    int rc = sec_users_write(s->reserved_path, &db, err);
    sec_userdb_free(&db);
    if (rc < 0) {
        explicit_bzero(pw, sizeof pw);
        return -1;
    }
    snprintf(s->elastic_hash, sizeof s->elastic_hash, "%s", hash);
    if (!(envpw && *envpw)) *generated = xstrdup(pw);
    explicit_bzero(pw, sizeof pw);
    log_info("security", "the elastic user's password was set (%s); its hash is kept in [%s]",
             envpw && *envpw ? "from ELASTIC_PASSWORD" : "generated", s->reserved_path);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Open / close */

security *security_open(const config *cfg, const char *path_data, char **generated_password, char **err)
{
    security *s = xcalloc(1, sizeof *s);
    *generated_password = NULL;
    s->enabled = config_bool(cfg, "xpack.security.enabled");
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->reload_mu, NULL);
    pthread_mutex_init(&s->cache_mu, NULL);
    pthread_mutex_init(&s->stop_mu, NULL);
    pthread_cond_init(&s->stop_cv, NULL);
    s->ttl_ms = CACHE_TTL_MS;
    if (!s->enabled) return s;

    s->users_path = config_resolve_path(cfg, "users");
    s->users_roles_path = config_resolve_path(cfg, "users_roles");
    s->roles_path = config_resolve_path(cfg, "roles.yml");
    s->cache = xcalloc(CACHE_SLOTS, sizeof *s->cache);
    random_bytes(s->hmac_key, sizeof s->hmac_key);
    s->reload_ms = config_time_ms(cfg, "resource.reload.interval.high");
    if (s->reload_ms < 100) s->reload_ms = 100;

    if (reserved_setup(s, path_data, generated_password, err) < 0) {
        security_close(s);
        return NULL;
    }
    /* The first load, as a reload from nothing. */
    memset(s->sigs, 0xff, sizeof s->sigs);
    s->sigs[0].exists = s->sigs[1].exists = s->sigs[2].exists = true;
    security_reload(s);

    if (pthread_create(&s->thread, NULL, reload_main, s) != 0) {
        *err = xasprintf("cannot start the security reload thread");
        if (*generated_password) {
            explicit_bzero(*generated_password, strlen(*generated_password));
            free(*generated_password);
            *generated_password = NULL;
        }
        security_close(s);
        return NULL;
    }
    s->thread_started = true;
    return s;
}

void security_close(security *s)
{
    if (!s) return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->stop_mu);
        s->stop = true;
        pthread_cond_signal(&s->stop_cv);
        pthread_mutex_unlock(&s->stop_mu);
        pthread_join(s->thread, NULL);
    }
    state_free(s->state);
    free(s->users_path);
    free(s->users_roles_path);
    free(s->roles_path);
    free(s->reserved_path);
    if (s->cache) explicit_bzero(s->cache, CACHE_SLOTS * sizeof *s->cache);
    free(s->cache);
    explicit_bzero(s->hmac_key, sizeof s->hmac_key);
    explicit_bzero(s->elastic_hash, sizeof s->elastic_hash);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->reload_mu);
    pthread_mutex_destroy(&s->cache_mu);
    pthread_mutex_destroy(&s->stop_mu);
    pthread_cond_destroy(&s->stop_cv);
    free(s);
}

bool security_enabled(const security *s)
{
    return s && s->enabled;
}

const char *security_users_path(const security *s)
{
    return s->users_path;
}

void security_stats(const security *s, uint64_t *bcrypt_runs, uint64_t *cache_hits)
{
    *bcrypt_runs = s->bcrypt_runs;
    *cache_hits = s->cache_hits;
}

void security_set_cache_ttl(security *s, int64_t ttl_ms)
{
    pthread_mutex_lock(&s->cache_mu);
    s->ttl_ms = ttl_ms;
    pthread_mutex_unlock(&s->cache_mu);
}

/* ------------------------------------------------------------------------ */
/* Authentication */

static void auth_error(es_err *err, const char *fmt, ...) FERRY_PRINTF(2, 3);
static void auth_error(es_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf b = { 0 };
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    es_err_set(err, ES_SECURITY, "%s", b.p);
    buf_free(&b);
    err->status = 401;
    /* ES lists the challenge headers inside the error too. */
    es_err_extra(err, "header", "{\"WWW-Authenticate\":[\"Basic realm=\\\"security\\\", charset=\\\"UTF-8\\\"\"]}",
                 true);
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 with optional padding (as Java's Base64.getDecoder). */
static bool b64_decode(const char *s, size_t n, buf *out)
{
    while (n && s[n - 1] == '=') n--;
    if (n % 4 == 1) return false;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0) return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_putc(out, (char)((acc >> bits) & 0xff));
        }
    }
    if (!out->p) buf_reserve(out, 0);
    return true;
}

/* A log-safe copy of a user-supplied name (control characters as '?'). */
static void safe_name(const char *in, char *out, size_t outlen)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < outlen; i++) {
        unsigned char c = (unsigned char)in[i];
        out[j++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[j] = 0;
}

static void cache_key(const security *s, const char *user, const char *pw, size_t pwlen, uint8_t key[32])
{
    size_t ul = strlen(user);
    size_t n = ul + 1 + pwlen;
    char *m = xmalloc(n);
    memcpy(m, user, ul);
    m[ul] = 0;
    memcpy(m + ul + 1, pw, pwlen);
    gnutls_hmac_fast(GNUTLS_MAC_SHA256, s->hmac_key, sizeof s->hmac_key, m, n, key);
    explicit_bzero(m, n);
    free(m);
}

static size_t slot_of(const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return (size_t)(h % CACHE_SLOTS);
}

static bool cache_lookup(security *s, const uint8_t key[32], uint64_t gen)
{
    pthread_mutex_lock(&s->cache_mu);
    cache_slot *c = &s->cache[slot_of(key)];
    bool hit = c->used && c->gen == gen && c->expires > mono_ms() && memcmp(c->key, key, 32) == 0;
    pthread_mutex_unlock(&s->cache_mu);
    return hit;
}

static void cache_store(security *s, const uint8_t key[32], uint64_t gen)
{
    pthread_mutex_lock(&s->cache_mu);
    cache_slot *c = &s->cache[slot_of(key)];
    memcpy(c->key, key, 32);
    c->gen = gen;
    c->expires = mono_ms() + s->ttl_ms;
    c->used = true;
    pthread_mutex_unlock(&s->cache_mu);
}

static sec_principal *make_principal(security *s, arena *a, const char *user, const char *const *roles,
                                     size_t n_roles, bool reserved)
{
    sec_principal *p = arena_alloc(a, sizeof *p);
    memset(p, 0, sizeof *p);
    p->sec = s;
    p->username = arena_strndup(a, user, strlen(user));
    const char **r = arena_alloc(a, (n_roles + 1) * sizeof *r);
    for (size_t i = 0; i < n_roles; i++) r[i] = arena_strndup(a, roles[i], strlen(roles[i]));
    r[n_roles] = NULL;
    p->roles = r;
    p->n_roles = n_roles;
    p->reserved = reserved;
    p->realm_name = reserved ? "reserved" : "default_file";
    p->realm_type = reserved ? "reserved" : "file";
    return p;
}

sec_principal *security_authenticate(security *s, const char *authorization, const char *uri, arena *a,
                                     es_err *err)
{
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0) {
        auth_error(err, "missing authentication credentials for REST request [%s]", uri);
        return NULL;
    }
    const char *b64 = authorization + 6;
    while (*b64 == ' ') b64++;
    size_t bl = strlen(b64);
    while (bl && b64[bl - 1] == ' ') bl--;
    buf dec = { 0 };
    if (!b64_decode(b64, bl, &dec)) {
        buf_free(&dec);
        auth_error(err, "invalid basic authentication header encoding");
        return NULL;
    }
    char *colon = memchr(dec.p, ':', dec.len);
    if (!colon) {
        explicit_bzero(dec.p, dec.len);
        buf_free(&dec);
        auth_error(err, "invalid basic authentication header value");
        return NULL;
    }
    *colon = 0;
    const char *user = dec.p;
    const char *pw = colon + 1;
    size_t pwlen = dec.len - (size_t)(colon + 1 - dec.p);
    sec_principal *p = NULL;
    /* A NUL inside the password cannot be hashed by crypt(3): such a password never matches. */
    bool pw_ok = memchr(pw, 0, pwlen) == NULL && strlen(user) == (size_t)(colon - dec.p);

    uint8_t key[32];
    cache_key(s, user, pw, pwlen, key);

    pthread_rwlock_rdlock(&s->lock);
    uint64_t gen = s->state ? s->state->gen : 0;
    bool reserved = security_is_reserved_user(user);
    char *hash = NULL;
    char **roles = NULL;
    size_t n_roles = 0;
    if (reserved) {
        if (strcmp(user, "elastic") == 0 && s->elastic_hash[0]) hash = xstrdup(s->elastic_hash);
    } else if (s->state) {
        const sec_user_entry *e = sec_userdb_find(&s->state->users, user);
        if (e && e->hash) {
            hash = xstrdup(e->hash);
            n_roles = e->n_roles;
            roles = xcalloc(n_roles + 1, sizeof *roles);
            for (size_t i = 0; i < n_roles; i++) roles[i] = xstrdup(e->roles[i]);
        }
    }
    pthread_rwlock_unlock(&s->lock);

    bool ok = false;
    if (hash && pw_ok) {
        if (cache_lookup(s, key, gen)) {
            ok = true;
            s->cache_hits++;
        } else {
            s->bcrypt_runs++;
            ok = security_verify_password(pw, hash);
            if (ok) cache_store(s, key, gen);
        }
    }
    if (ok) {
        static const char *const superuser[] = { "superuser" };
        p = reserved ? make_principal(s, a, user, superuser, 1, true)
                     : make_principal(s, a, user, (const char *const *)roles, n_roles, false);
    } else {
        char shown[128];
        safe_name(user, shown, sizeof shown);
        log_info("security", "authentication of user [%s] failed for REST request [%s]%s", shown, uri,
                 hash ? "" : " (no such user)");
        auth_error(err, "unable to authenticate user [%s] for REST request [%s]", user, uri);
    }
    if (hash) {
        explicit_bzero(hash, strlen(hash));
        free(hash);
    }
    for (size_t i = 0; i < n_roles; i++) free(roles[i]);
    free(roles);
    explicit_bzero(key, sizeof key);
    explicit_bzero(dec.p, dec.len);
    buf_free(&dec);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Authorization */

/* The roles of p that exist, resolved under the read lock (caller holds it). */
static size_t effective_roles(const security *s, const sec_principal *p, const sec_role **out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_roles; i++) {
        const sec_role *r = sec_builtin_role(p->roles[i]);
        if (!r && s->state)
            for (size_t j = 0; j < s->state->roles.n && !r; j++)
                if (strcmp(s->state->roles.v[j].name, p->roles[i]) == 0) r = &s->state->roles.v[j];
        if (r) out[n++] = r;
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ES's " with effective roles [a,b]" (+ " (assigned roles [x] were not found)"). */
static void roles_description(buf *b, const sec_principal *p, const sec_role *const *eff, size_t neff)
{
    const char **names = xcalloc(neff + 1, sizeof *names);
    for (size_t i = 0; i < neff; i++) names[i] = eff[i]->name;
    qsort(names, neff, sizeof *names, cmp_str);
    buf_puts(b, " with effective roles [");
    size_t shown = 0;
    for (size_t i = 0; i < neff; i++) {
        if (i && strcmp(names[i], names[i - 1]) == 0) continue;
        buf_printf(b, "%s%s", shown++ ? "," : "", names[i]);
    }
    buf_putc(b, ']');
    free(names);
    /* Assigned roles that do not exist. */
    const char **missing = xcalloc(p->n_roles + 1, sizeof *missing);
    size_t nm = 0;
    for (size_t i = 0; i < p->n_roles; i++) {
        bool found = false;
        for (size_t j = 0; j < neff && !found; j++) found = strcmp(eff[j]->name, p->roles[i]) == 0;
        if (!found) missing[nm++] = p->roles[i];
    }
    if (nm) {
        qsort(missing, nm, sizeof *missing, cmp_str);
        buf_puts(b, " (assigned roles [");
        size_t k = 0;
        for (size_t i = 0; i < nm; i++) {
            if (i && strcmp(missing[i], missing[i - 1]) == 0) continue;
            buf_printf(b, "%s%s", k++ ? "," : "", missing[i]);
        }
        buf_puts(b, "] were not found)");
    }
    free(missing);
}

static int deny(es_err *err, const sec_principal *p, const sec_role *const *eff, size_t neff, const char *action,
                const char *context)
{
    buf b = { 0 };
    buf_printf(&b, "action [%s] is unauthorized for user [%s]", action, p->username);
    roles_description(&b, p, eff, neff);
    if (context) buf_printf(&b, " %s", context);
    char grants[256];
    sec_granting_privileges(action, grants, sizeof grants);
    if (grants[0])
        buf_printf(&b, ", this action is granted by the %s privileges [%s]",
                   sec_is_cluster_action(action) ? "cluster" : "index", grants);
    es_err_set(err, ES_SECURITY, "%s", b.p);
    err->status = 403;
    buf_free(&b);
    return -1;
}

#define MAX_ROLES 64

int security_authorize_cluster(const sec_principal *p, const char *action, es_err *err)
{
    security *s = p->sec;
    const sec_role *eff[MAX_ROLES];
    pthread_rwlock_rdlock(&s->lock);
    size_t n = effective_roles(s, p, eff);
    for (size_t i = 0; i < n; i++)
        if (sec_role_cluster(eff[i], action)) {
            pthread_rwlock_unlock(&s->lock);
            return 0;
        }
    int rc = deny(err, p, eff, n, action, NULL);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static bool is_wildcard_expr(const char *name)
{
    return !*name || strcmp(name, "_all") == 0 || strchr(name, '*') != NULL;
}

int security_authorize_indices(const sec_principal *p, const char *action, const char *const *indices, size_t n,
                               es_err *err)
{
    security *s = p->sec;
    const sec_role *eff[MAX_ROLES];
    const char **denied = xcalloc(n + 1, sizeof *denied);
    size_t nd = 0;
    pthread_rwlock_rdlock(&s->lock);
    size_t ne = effective_roles(s, p, eff);
    for (size_t i = 0; i < n; i++) {
        const char *name = indices[i];
        if (name[0] == '-' && i > 0) continue; /* an exclusion only narrows */
        bool all = is_wildcard_expr(name), ok = false;
        for (size_t r = 0; r < ne && !ok; r++) ok = sec_role_index(eff[r], action, name, all);
        if (!ok) denied[nd++] = *name ? name : "_all";
    }
    int rc = 0;
    if (nd) {
        qsort(denied, nd, sizeof *denied, cmp_str);
        buf ctx = { 0 };
        buf_puts(&ctx, "on indices [");
        size_t k = 0;
        for (size_t i = 0; i < nd; i++) {
            if (i && strcmp(denied[i], denied[i - 1]) == 0) continue;
            buf_printf(&ctx, "%s%s", k++ ? "," : "", denied[i]);
        }
        buf_putc(&ctx, ']');
        rc = deny(err, p, eff, ne, action, ctx.p);
        buf_free(&ctx);
    }
    pthread_rwlock_unlock(&s->lock);
    free(denied);
    return rc;
}

int security_authorize_any_index(const sec_principal *p, const char *action, es_err *err)
{
    security *s = p->sec;
    const sec_role *eff[MAX_ROLES];
    pthread_rwlock_rdlock(&s->lock);
    size_t n = effective_roles(s, p, eff);
    for (size_t i = 0; i < n; i++)
        if (sec_role_any_index(eff[i], action)) {
            pthread_rwlock_unlock(&s->lock);
            return 0;
        }
    int rc = deny(err, p, eff, n, action, NULL);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int security_check(http_req *req, const char *action, const char *index, es_err *err)
{
    const sec_principal *p = http_req_user(req);
    if (!p) return 0;
    if (sec_is_cluster_action(action)) return security_authorize_cluster(p, action, err);
    const char *one[1] = { index ? index : "_all" };
    return security_authorize_indices(p, action, one, 1, err);
}

static const char *op_action(sec_doc_op op)
{
    switch (op) {
    case SEC_OP_INDEX: return "indices:data/write/index:op_type/index";
    case SEC_OP_CREATE: return "indices:data/write/index:op_type/create";
    case SEC_OP_UPDATE: return "indices:data/write/update";
    case SEC_OP_DELETE: return "indices:data/write/delete";
    }
    return "indices:data/write/index:op_type/index";
}

int security_check_doc_op(http_req *req, sec_doc_op op, const char *index, es_err *err)
{
    const sec_principal *p = http_req_user(req);
    if (!p) return 0;
    security *s = p->sec;
    const sec_role *eff[MAX_ROLES];
    const char *action = op_action(op);
    pthread_rwlock_rdlock(&s->lock);
    size_t n = effective_roles(s, p, eff);
    bool ok = false;
    for (size_t i = 0; i < n && !ok; i++) ok = sec_role_index(eff[i], action, index, false);
    int rc = 0;
    if (!ok) {
        /* ES reports a denied document operation as the bulk shard action. */
        char *ctx = xasprintf("on indices [%s]", index);
        rc = deny(err, p, eff, n, "indices:data/write/bulk[s]", ctx);
        free(ctx);
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}
