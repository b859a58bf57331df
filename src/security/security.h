/*
 * security — who may call the node, and what they may do: Elasticsearch 8's
 * security model for one node.
 *
 *   - Settings (xpack.security.*), HTTPS material (PEM pair or PKCS#12,
 *     client CAs, protocols, client authentication) turned into the http
 *     module's TLS options, and ES 8's first-start auto-configuration (a CA
 *     and an HTTP certificate under config/certs/, a settings block appended
 *     to elasticsearch.yml).
 *   - Users: the file realm (config/users, config/users_roles in ES's
 *     formats, reloaded when they change) and the reserved `elastic`
 *     superuser, whose bcrypt hash lives in <path.data>/security/reserved_users
 *     (ES keeps it in its .security index, which also lives in the data path;
 *     the password itself is never stored).
 *   - Roles: the built-in superuser, viewer, editor and ferry_reindex roles
 *     plus config/roles.yml (ES's format); privileges as ES names them.
 *   - Authentication (HTTP Basic, with a cache of verified credentials) and
 *     authorization of ES action names, with ES's 401 and 403 texts.
 *   - The http glue: the authenticate hook, the (method, path) → action
 *     table, and GET /_security/_authenticate.
 *
 * Built-in roles (all indices are "*"):
 *   superuser      everything
 *   viewer         cluster: monitor; indices: read, view_index_metadata. Enough for a
 *                  *Source* of remote reindex (GET /, search, scroll) and for dumps.
 *   editor         cluster: monitor; indices: read, view_index_metadata, write
 *                  (index/create/update/delete documents, _bulk) — no index management,
 *                  so no auto-creation of indices either.
 *   ferry_reindex  the *Destination* side of a reindex: cluster monitor plus task
 *                  cancellation and reindex rethrottle; indices: read,
 *                  view_index_metadata, write, create_index (so the destination index
 *                  may be created or auto-created).
 *
 * For handler authors — per-item checks. The authenticate hook already checks
 * each route's action against the route's {index} (and, for single-document
 * writes, the document's implied op_type). Handlers whose requests name
 * indices in their body check each of them themselves:
 *
 *   _bulk items     security_check_doc_op(req, SEC_OP_INDEX|CREATE|UPDATE|DELETE, index, &err)
 *                   → on -1, that item fails with err (403) and the others go on, as ES.
 *   _mget items     security_check(req, "indices:data/read/mget[shard]", index, &err)
 *   _msearch items  security_check(req, "indices:data/read/search", index, &err)
 *   POST /_aliases  security_check(req, "indices:admin/aliases", index, &err) per action's index
 *   reindex         security_check(req, "indices:data/read/search", source_index, &err) and
 *                   security_check_doc_op(req, SEC_OP_INDEX or SEC_OP_CREATE, dest_index, &err)
 *   auto-creation   security_check(req, "indices:admin/auto_create", index, &err) before a
 *                   write creates a missing index.
 *
 * These calls are no-ops (return 0) when security is disabled.
 *
 * Depends on: core, config, http, json, pki, libcrypt (bcrypt), GnuTLS,
 * libyaml. (docs/ARCHITECTURE.md lists core and config only: the http glue and
 * the TLS material live here too, so that rest needs no security code.) Thread-safety: every function taking a `security *` may be called
 * from any thread once security_open returned; the realm and roles are
 * swapped atomically on reload.
 */
#ifndef FERRY_SECURITY_H
#define FERRY_SECURITY_H

#include "config/config.h"
#include "core/core.h"
#include "http/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The settings this module reads (register with config_register before config_load). */
extern const setting_def security_settings[];
extern const size_t security_settings_count;

/* ------------------------------------------------------------------------ */
/* Passwords */

#define SEC_MIN_PASSWORD_LEN 6      /* as ES's Validation.Users */
#define SEC_MAX_NAME_LEN 507        /* user and role names */
#define SEC_HASH_MAX 128
#define SEC_BCRYPT_COST 10          /* ES's default ("bcrypt" = bcrypt with cost 10) */

/* A bcrypt hash ("$2a$10$…", what elasticsearch-users writes) of password into out. 0 / -1. */
int security_hash_password(const char *password, char out[SEC_HASH_MAX]);
/* Checks password against a bcrypt hash ($2a$, $2b$ or $2y$), in constant time over the
 * result. False for any other hash format. */
bool security_verify_password(const char *password, const char *hash);
/* True when hash is a bcrypt hash this module can verify. */
bool security_hash_supported(const char *hash);
/* A random password of len characters from [A-Za-z0-9_-] into out (len + 1 bytes). */
void security_random_password(char *out, size_t len);

/* NULL when name is a valid user (or role) name; else ES's explanation (static). */
const char *security_validate_name(const char *name, bool is_role);
/* True for the names of ES's reserved users (elastic, kibana_system, …). */
bool security_is_reserved_user(const char *name);

/* ------------------------------------------------------------------------ */
/* The file realm's files, in Elasticsearch's formats (also used by `ferry users`).
 *   users        name:hash        one per line; '#' starts a comment
 *   users_roles  role:user1,user2 one per line
 * A missing file reads as empty. Invalid lines are skipped with a warning naming
 * the file and line (as ES); passwords and hashes never appear in messages. */

typedef struct sec_user_entry {
    char *name;
    char *hash;      /* users: the password hash */
    char **roles;    /* users_roles: the user's roles, in file order, no duplicates */
    size_t n_roles;
} sec_user_entry;

typedef struct sec_userdb {
    sec_user_entry *v;   /* sorted by name */
    size_t n;
} sec_userdb;

void sec_userdb_free(sec_userdb *db);
sec_user_entry *sec_userdb_find(const sec_userdb *db, const char *name);
/* Adds (or returns the existing) entry for name. */
sec_user_entry *sec_userdb_add(sec_userdb *db, const char *name);
/* Removes the entry; false when there was none. */
bool sec_userdb_remove(sec_userdb *db, const char *name);
void sec_user_set_hash(sec_user_entry *e, const char *hash);
/* Adds a role to the entry (ignored when already there); removes one. */
void sec_user_add_role(sec_user_entry *e, const char *role);
void sec_user_remove_role(sec_user_entry *e, const char *role);

/* Parses into db (hashes for users, roles for users_roles; the same db may receive both). */
int sec_users_parse(const char *text, size_t len, const char *what, sec_userdb *db);
int sec_users_roles_parse(const char *text, size_t len, const char *what, sec_userdb *db);
int sec_users_read(const char *path, sec_userdb *db, char **err);
int sec_users_roles_read(const char *path, sec_userdb *db, char **err);
/*
 * Writes the users file (entries with a hash) or the users_roles file (inverted:
 * role:user,user, sorted) atomically: temporary file + fsync + rename. The mode
 * of an existing file is kept; a new file gets 0600.
 */
int sec_users_write(const char *path, const sec_userdb *db, char **err);
int sec_users_roles_write(const char *path, const sec_userdb *db, char **err);
/* Renders the files' contents (for tests). Caller frees. */
char *sec_users_render(const sec_userdb *db);
char *sec_users_roles_render(const sec_userdb *db);

/* ------------------------------------------------------------------------ */
/* Roles and privileges */

typedef struct sec_index_group {
    char **names;          /* index name patterns ("logs-*", "*") */
    size_t n_names;
    char **privileges;     /* "read", "write", …, or action patterns ("indices:data/read/...") */
    size_t n_privileges;
} sec_index_group;

typedef struct sec_role {
    char *name;
    char **cluster;        /* "monitor", "manage", "all", … or action patterns ("cluster:monitor/...") */
    size_t n_cluster;
    sec_index_group *indices;
    size_t n_indices;
} sec_role;

typedef struct sec_roles {
    sec_role *v;
    size_t n;
} sec_roles;

void sec_roles_free(sec_roles *r);
/* Parses roles.yml text (ES's format). Roles that cannot be read are skipped with an
 * error log naming the role, as ES does; unknown privileges make a role invalid.
 * Returns -1 (and *err) only when the YAML itself is malformed. */
int sec_roles_parse(const char *text, size_t len, const char *what, sec_roles *out, char **err);
int sec_roles_read(const char *path, sec_roles *out, char **err);
/* The built-in role of that name, or NULL. */
const sec_role *sec_builtin_role(const char *name);
bool sec_is_builtin_role(const char *name);
/* NULL-terminated list of the built-in role names. */
const char *const *sec_builtin_role_names(void);

/* Whether a named privilege exists (cluster or index). */
bool sec_cluster_privilege_known(const char *name);
bool sec_index_privilege_known(const char *name);

/* True when action names a cluster-level action ("cluster:…", index templates). */
bool sec_is_cluster_action(const char *action);
/* The privileges that grant an action, comma-separated in ES's order (least to most
 * privileged: "create_doc,create,index,write,all") into out; "" when none. Returns out. */
const char *sec_granting_privileges(const char *action, char *out, size_t outlen);

/* ------------------------------------------------------------------------ */
/* The node's security */

typedef struct security security;

/* An authenticated user for one request (lives in the request's arena). */
typedef struct sec_principal {
    security *sec;
    const char *username;
    const char *const *roles;  /* as assigned */
    size_t n_roles;
    const char *realm_name;    /* "reserved", "default_file" */
    const char *realm_type;    /* "reserved", "file" */
    bool reserved;
} sec_principal;

/*
 * Opens the node's security from the settings. When security is disabled this
 * returns an object that allows everything (security_enabled false). Reads the
 * realm files and roles.yml, sets up the reserved elastic user (on the very first
 * start: from ELASTIC_PASSWORD, else a generated password returned in
 * *generated_password, heap, which the caller prints once), and starts the reload
 * thread (every resource.reload.interval.high). path_data must be the node's
 * (locked) data folder. Returns NULL with *err (heap) on failure.
 */
security *security_open(const config *cfg, const char *path_data, char **generated_password,
                        char **err);
void security_close(security *s);
bool security_enabled(const security *s);
/* Re-reads the files now if they changed (what the reload thread does). Returns true
 * when something was reloaded. */
bool security_reload(security *s);
/* The config-folder paths of the realm files (live as long as s). */
const char *security_users_path(const security *s);

/*
 * Authenticates an Authorization header value. Returns the principal (allocated in
 * a) or NULL with *err set to ES's 401 (security_exception with the WWW-Authenticate
 * header member); uri is the request URI quoted in the message.
 */
sec_principal *security_authenticate(security *s, const char *authorization, const char *uri,
                                     arena *a, es_err *err);
/* Counters, for tests: bcrypt verifications run and cache hits since open. */
void security_stats(const security *s, uint64_t *bcrypt_runs, uint64_t *cache_hits);
/* Test hook: cache TTL in ms (default 20 minutes, ES's cache.ttl). */
void security_set_cache_ttl(security *s, int64_t ttl_ms);

/* The WWW-Authenticate value ferry sends with 401s. */
#define SEC_WWW_AUTHENTICATE "Basic realm=\"security\", charset=\"UTF-8\""

/* Authorization. 0 allowed; -1 with *err = ES's 403 security_exception. */
int security_authorize_cluster(const sec_principal *p, const char *action, es_err *err);
/* Index-level action on indices (names or expressions: "a,b", "logs-*", "_all").
 * A wildcard expression is allowed only when the user holds the action on every
 * index ("*"); ES would narrow it down to the permitted indices instead. */
int security_authorize_indices(const sec_principal *p, const char *action,
                               const char *const *indices, size_t n, es_err *err);
/* Allowed when the user holds action on at least one index pattern (ES's check for
 * _bulk, _mget, _msearch, reindex before their items are checked one by one). */
int security_authorize_any_index(const sec_principal *p, const char *action, es_err *err);

typedef enum {
    SEC_OP_INDEX,    /* indices:data/write/index:op_type/index */
    SEC_OP_CREATE,   /* indices:data/write/index:op_type/create */
    SEC_OP_UPDATE,   /* indices:data/write/update */
    SEC_OP_DELETE,   /* indices:data/write/delete */
} sec_doc_op;

/* Per-request helpers for handlers (see the top of this file). No-ops (0) when the
 * request has no principal (security disabled). On denial *err is ES's 403. */
int security_check(http_req *req, const char *action, const char *index, es_err *err);
int security_check_doc_op(http_req *req, sec_doc_op op, const char *index, es_err *err);

/* ------------------------------------------------------------------------ */
/* HTTP glue */

/* The http authenticate hook (ctx = security *): 401 without valid credentials,
 * 403 when the route's action is not granted. */
bool security_http_hook(http_req *req, http_resp *resp, void *ctx);
/* GET /_security/_authenticate (and its friends when they come). */
void security_register_routes(http_server *srv, security *s);
/* Logs every registered route that has no action in the security table (such routes
 * are allowed to superusers only). Returns how many. */
size_t security_check_routes(http_server *srv);

typedef enum { SEC_KIND_CLUSTER, SEC_KIND_INDEX, SEC_KIND_ANY_INDEX, SEC_KIND_AUTHENTICATED } sec_action_kind;
/* The action a route maps to: method and the route's path template ("/{index}/_doc/{id}";
 * parameter names do not matter). NULL when unmapped. *kind, *index_pos (the path segment
 * holding the index names, -1 when none) and *op (-1 when none) describe the check. */
const char *security_route_action(http_method m, const char *path_template, sec_action_kind *kind,
                                  int *index_pos, int *op);

/* ------------------------------------------------------------------------ */
/* HTTPS */

/* PEM material for http_server_opts (heap strings; NULL = plain HTTP). */
typedef struct security_tls {
    char *cert_pem;      /* the chain the server presents: leaf first, CA included */
    char *key_pem;       /* unencrypted PKCS#8 */
    char *trust_pem;     /* certificate_authorities, for client certificates */
    char *priorities;    /* GnuTLS priority string from supported_protocols */
    int client_auth;     /* 0 none, 1 optional, 2 required */
    char ca_fingerprint[65]; /* SHA-256 hex of the last (root) certificate of the chain */
} security_tls;

void security_tls_free(security_tls *t);
/* Loads the HTTPS material the settings name (paths relative to the config folder).
 * With xpack.security.http.ssl.enabled false (or security disabled) *out stays empty. */
int security_tls_load(const config *cfg, security_tls *out, char **err);

/*
 * ES 8's auto-configuration: when security is enabled by default (not set explicitly)
 * and no xpack.security.http.ssl.* setting is set, generates config/certs/http_ca.crt
 * (+ http_ca.key, 0600) and config/certs/http.crt (leaf + CA) / http.key with SANs for
 * localhost, 127.0.0.1, ::1, the host name and network.host/http.host, and appends the
 * settings block to elasticsearch.yml. Returns 1 when it configured (the caller then
 * reloads the settings), 0 when nothing was needed, -1 with *err.
 */
int security_autoconfigure(const config *cfg, char **err);

#endif
