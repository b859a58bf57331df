/*
 * Unit tests for src/security and `ferry users`: bcrypt, the users and
 * users_roles files, names, roles.yml, privileges and ES's granting lists,
 * authentication (Basic, the cache, reloads), authorization texts, the route
 * → action table, TLS material and auto-configuration.
 */
#include "cli/cli.h"
#include "config/config.h"
#include "core/core.h"
#include "pki/pki.h"
#include "security/security.h"
#include "security/security_int.h"
#include "unit.h"

#include <crypt.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64];

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static char *in_dir(const char *name)
{
    return xasprintf("%s/%s", g_dir, name);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    char *data = NULL, *err = NULL;
    size_t len;
    if (sec_read_file(path, 1 << 24, &data, &len, &err) != 0) {
        free(err);
        return NULL;
    }
    return data;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
}

/* "Basic base64(user:pass)" */
static char *basic(const char *user, const char *pass)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *plain = xasprintf("%s:%s", user, pass);
    size_t n = strlen(plain);
    buf b = { 0 };
    buf_puts(&b, "Basic ");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)plain[i] << 16;
        if (i + 1 < n) v |= (uint32_t)(unsigned char)plain[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)plain[i + 2];
        buf_putc(&b, tbl[(v >> 18) & 63]);
        buf_putc(&b, tbl[(v >> 12) & 63]);
        buf_putc(&b, i + 1 < n ? tbl[(v >> 6) & 63] : '=');
        buf_putc(&b, i + 2 < n ? tbl[v & 63] : '=');
    }
    free(plain);
    return buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------------ */

TEST(bcrypt_hash_and_verify)
{
    char h[SEC_HASH_MAX];
    CHECK_EQ_INT(security_hash_password("s3cret-pass", h), 0);
    CHECK(str_has_prefix(h, "$2a$10$"));
    CHECK_EQ_INT(strlen(h), 60);
    CHECK(security_hash_supported(h));
    CHECK(security_verify_password("s3cret-pass", h));
    CHECK(!security_verify_password("s3cret-pasS", h));
    CHECK(!security_verify_password("", h));
    /* Two hashes of one password differ (random salt). */
    char h2[SEC_HASH_MAX];
    security_hash_password("s3cret-pass", h2);
    CHECK(strcmp(h, h2) != 0);
    /* $2b$ and $2y$ hashes (other tools) verify too. */
    const char *pfx[] = { "$2b$", "$2y$" };
    for (int i = 0; i < 2; i++) {
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        CHECK(crypt_gensalt_rn(pfx[i], 4, NULL, 0, setting, sizeof setting) != NULL);
        struct crypt_data *cd = xcalloc(1, sizeof *cd);
        const char *x = crypt_rn("p@ss:word", setting, cd, sizeof *cd);
        CHECK(x && security_verify_password("p@ss:word", x));
        CHECK(x && !security_verify_password("p@ss:wore", x));
        free(cd);
    }
    /* Other formats are refused, never compared as plain text. */
    CHECK(!security_hash_supported("changeme"));
    CHECK(!security_verify_password("changeme", "changeme"));
    CHECK(!security_hash_supported("{SSHA256}abc"));
    CHECK(!security_hash_supported("$2a$10$short"));
    CHECK(!security_verify_password(NULL, h));
}

TEST(names_and_random_passwords)
{
    CHECK(security_validate_name("alice", false) == NULL);
    CHECK(security_validate_name("a b.c-d_e@f!", false) == NULL);
    CHECK(security_validate_name("", false) != NULL);
    CHECK(security_validate_name(" lead", false) != NULL);
    CHECK(security_validate_name("trail ", false) != NULL);
    CHECK(security_validate_name("tab\there", false) != NULL);
    CHECK(security_validate_name("col:on", false) != NULL);
    CHECK(security_validate_name("caf\xc3\xa9", false) != NULL);
    CHECK(security_validate_name("role,x", true) != NULL);
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(security_validate_name(big, false) != NULL);
    big[507] = 0;
    CHECK(security_validate_name(big, false) == NULL);
    CHECK(security_is_reserved_user("elastic"));
    CHECK(security_is_reserved_user("kibana_system"));
    CHECK(!security_is_reserved_user("elastic2"));
    char pw[21], pw2[21];
    security_random_password(pw, 20);
    security_random_password(pw2, 20);
    CHECK_EQ_INT(strlen(pw), 20);
    CHECK(strcmp(pw, pw2) != 0);
    for (int i = 0; i < 20; i++) CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", pw[i]));
}

TEST(users_file_parsing)
{
    const char *text = "# comment\n"
                       "\n"
                       "  alice:$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234  \n"
                       "bob : hashB\r\n"
                       ":nohash-name\n"
                       "carol:\n"
                       "no-colon-line\n"
                       "dave:hash:with:colons\n";
    sec_userdb db = { 0 };
    int bad = sec_users_parse(text, strlen(text), "users", &db);
    CHECK_EQ_INT(bad, 3);
    CHECK_EQ_INT(db.n, 3);
    sec_user_entry *a = sec_userdb_find(&db, "alice");
    CHECK(a && a->hash && str_has_prefix(a->hash, "$2a$10$abc"));
    sec_user_entry *b = sec_userdb_find(&db, "bob");
    CHECK(b && strcmp(b->hash, "hashB") == 0);
    sec_user_entry *d = sec_userdb_find(&db, "dave");
    CHECK(d && strcmp(d->hash, "hash:with:colons") == 0);
    CHECK(sec_userdb_find(&db, "carol") == NULL);
    char *out = sec_users_render(&db);
    CHECK(strstr(out, "alice:$2a$10$abc") != NULL);
    CHECK(str_has_prefix(out, "alice:"));   /* sorted */
    CHECK(strstr(out, "bob:hashB\n") != NULL);
    free(out);
    CHECK(sec_userdb_remove(&db, "bob"));
    CHECK(!sec_userdb_remove(&db, "bob"));
    CHECK_EQ_INT(db.n, 2);
    sec_userdb_free(&db);
}

TEST(users_roles_parsing_and_rendering)
{
    const char *text = "superuser: alice\n"
                       "viewer:bob, carol ,\n"
                       "# x\n"
                       "editor:alice,bob\n"
                       "bad line\n"
                       ":nobody\n";
    sec_userdb db = { 0 };
    CHECK_EQ_INT(sec_users_roles_parse(text, strlen(text), "users_roles", &db), 2);
    sec_user_entry *a = sec_userdb_find(&db, "alice");
    CHECK(a && a->n_roles == 2 && !strcmp(a->roles[0], "superuser") && !strcmp(a->roles[1], "editor"));
    sec_user_entry *c = sec_userdb_find(&db, "carol");
    CHECK(c && c->n_roles == 1 && !strcmp(c->roles[0], "viewer"));
    char *out = sec_users_roles_render(&db);
    CHECK_EQ_STR(out, "editor:alice,bob\nsuperuser:alice\nviewer:bob,carol\n");
    free(out);
    sec_user_remove_role(a, "superuser");
    sec_user_add_role(a, "editor"); /* no duplicate */
    CHECK_EQ_INT(a->n_roles, 1);
    sec_userdb_free(&db);
}

TEST(files_are_written_atomically_with_modes)
{
    char *users = in_dir("users"), *roles = in_dir("users_roles");
    sec_userdb db = { 0 };
    char h[SEC_HASH_MAX];
    security_hash_password("password1", h);
    sec_user_entry *e = sec_userdb_add(&db, "zed");
    sec_user_set_hash(e, h);
    sec_user_add_role(e, "viewer");
    char *err = NULL;
    CHECK_EQ_INT(sec_users_write(users, &db, &err), 0);
    CHECK_EQ_INT(sec_users_roles_write(roles, &db, &err), 0);
    CHECK_EQ_INT(mode_of(users), 0600);
    CHECK_EQ_INT(mode_of(roles), 0600);
    /* An existing file keeps its mode. */
    chmod(users, 0660);
    CHECK_EQ_INT(sec_users_write(users, &db, &err), 0);
    CHECK_EQ_INT(mode_of(users), 0660);
    sec_userdb back = { 0 };
    CHECK_EQ_INT(sec_users_read(users, &back, &err), 0);
    CHECK_EQ_INT(sec_users_roles_read(roles, &back, &err), 0);
    sec_user_entry *b = sec_userdb_find(&back, "zed");
    CHECK(b && security_verify_password("password1", b->hash) && b->n_roles == 1);
    /* A missing file reads as empty. */
    char *missing = in_dir("nope");
    sec_userdb none = { 0 };
    CHECK_EQ_INT(sec_users_read(missing, &none, &err), 0);
    CHECK_EQ_INT(none.n, 0);
    /* No temporary file is left behind. */
    char *cmd = xasprintf("ls %s | grep -c tmp", g_dir);
    FILE *p = popen(cmd, "r");
    char line[32] = "";
    CHECK(fgets(line, sizeof line, p) != NULL);
    pclose(p);
    CHECK_EQ_INT(atoi(line), 0);
    free(cmd);
    free(missing);
    sec_userdb_free(&db);
    sec_userdb_free(&back);
    free(users);
    free(roles);
}

TEST(glob)
{
    CHECK(sec_glob("*", "anything"));
    CHECK(sec_glob("*", ""));
    CHECK(sec_glob("logs-*", "logs-2024"));
    CHECK(!sec_glob("logs-*", "metrics-2024"));
    CHECK(sec_glob("indices:data/write/*", "indices:data/write/index"));
    CHECK(sec_glob("a*b*c", "aXXbYYc"));
    CHECK(!sec_glob("a*b*c", "aXXbYY"));
    CHECK(sec_glob("indices:data/write/index[*", "indices:data/write/index[s]"));
    CHECK(!sec_glob("exact", "exactly"));
}

TEST(granting_privileges_in_es_order)
{
    char g[256];
    CHECK_EQ_STR(sec_granting_privileges("indices:data/write/index", g, sizeof g), "create_doc,create,index,write,all");
    CHECK_EQ_STR(sec_granting_privileges("indices:data/write/bulk[s]", g, sizeof g),
                 "create_doc,create,delete,index,write,all");
    CHECK_EQ_STR(sec_granting_privileges("indices:data/write/delete", g, sizeof g), "delete,write,all");
    CHECK_EQ_STR(sec_granting_privileges("indices:admin/create", g, sizeof g), "create_index,manage,all");
    CHECK_EQ_STR(sec_granting_privileges("indices:admin/auto_create", g, sizeof g),
                 "auto_configure,create_index,manage,all");
    CHECK_EQ_STR(sec_granting_privileges("indices:data/read/search", g, sizeof g), "read,all");
    CHECK_EQ_STR(sec_granting_privileges("indices:admin/get", g, sizeof g), "view_index_metadata,manage,all");
    CHECK_EQ_STR(sec_granting_privileges("indices:admin/delete", g, sizeof g), "delete_index,manage,all");
    CHECK_EQ_STR(sec_granting_privileges("cluster:monitor/health", g, sizeof g), "monitor,manage,all");
    CHECK_EQ_STR(sec_granting_privileges("cluster:monitor/main", g, sizeof g), "monitor,manage,all");
    CHECK_EQ_STR(sec_granting_privileges("cluster:admin/settings/update", g, sizeof g), "manage,all");
    CHECK_EQ_STR(sec_granting_privileges("indices:admin/index_template/put", g, sizeof g),
                 "manage_index_templates,manage,all");
    CHECK_EQ_STR(sec_granting_privileges("cluster:admin/xpack/security/user/put", g, sizeof g),
                 "manage_security,all");
    CHECK_EQ_STR(sec_granting_privileges("cluster:admin/ferry/unmapped_route", g, sizeof g), "all");
    CHECK(sec_is_cluster_action("cluster:monitor/main"));
    CHECK(sec_is_cluster_action("indices:admin/template/put"));
    CHECK(!sec_is_cluster_action("indices:data/read/get"));
}

TEST(builtin_roles)
{
    const sec_role *v = sec_builtin_role("viewer"), *e = sec_builtin_role("editor"),
                   *s = sec_builtin_role("superuser"), *r = sec_builtin_role("ferry_reindex");
    CHECK(v && e && s && r);
    CHECK(!sec_builtin_role("nope"));
    /* viewer */
    CHECK(sec_role_cluster(v, "cluster:monitor/main"));
    CHECK(sec_role_cluster(v, "cluster:monitor/health"));
    CHECK(!sec_role_cluster(v, "cluster:admin/settings/update"));
    CHECK(sec_role_index(v, "indices:data/read/search", "logs", false));
    CHECK(sec_role_index(v, "indices:data/read/scroll", "x", true));
    CHECK(sec_role_index(v, "indices:admin/get", "x", false));
    CHECK(!sec_role_index(v, "indices:data/write/index", "x", false));
    CHECK(!sec_role_index(v, "indices:admin/create", "x", false));
    /* editor */
    CHECK(sec_role_index(e, "indices:data/write/index:op_type/index", "x", false));
    CHECK(sec_role_index(e, "indices:data/write/delete", "x", false));
    CHECK(sec_role_index(e, "indices:data/write/update", "x", false));
    CHECK(sec_role_any_index(e, "indices:data/write/bulk"));
    CHECK(!sec_role_index(e, "indices:admin/create", "x", false));
    CHECK(!sec_role_index(e, "indices:admin/auto_create", "x", false));
    CHECK(!sec_role_index(e, "indices:admin/delete", "x", false));
    /* ferry_reindex */
    CHECK(sec_role_any_index(r, "indices:data/write/reindex"));
    CHECK(sec_role_index(r, "indices:admin/create", "dest", false));
    CHECK(sec_role_index(r, "indices:admin/auto_create", "dest", false));
    CHECK(sec_role_cluster(r, "cluster:admin/tasks/cancel"));
    CHECK(sec_role_cluster(r, "cluster:admin/reindex/rethrottle"));
    CHECK(sec_role_cluster(r, "cluster:monitor/tasks/lists"));
    CHECK(!sec_role_cluster(r, "cluster:admin/settings/update"));
    CHECK(!sec_role_index(r, "indices:admin/delete", "dest", false));
    /* superuser */
    CHECK(sec_role_cluster(s, "cluster:admin/ferry/unmapped_route"));
    CHECK(sec_role_index(s, "indices:admin/delete", "anything", true));
}

TEST(roles_yml)
{
    const char *yml = "logs_reader:\n"
                      "  cluster: [ monitor ]\n"
                      "  indices:\n"
                      "    - names: [ 'logs-*', 'audit' ]\n"
                      "      privileges: [ read, view_index_metadata ]\n"
                      "    - names: 'scratch'\n"
                      "      privileges: all\n"
                      "writer:\n"
                      "  indices:\n"
                      "    - names: [ 'w-*' ]\n"
                      "      privileges: [ create_doc ]\n"
                      "patterns:\n"
                      "  cluster: [ 'cluster:monitor/*' ]\n"
                      "  indices:\n"
                      "    - names: [ '*' ]\n"
                      "      privileges: [ 'indices:data/read/get' ]\n"
                      "bad_priv:\n"
                      "  cluster: [ fly ]\n"
                      "fls:\n"
                      "  indices:\n"
                      "    - names: [ x ]\n"
                      "      privileges: [ read ]\n"
                      "      field_security: { grant: [ a ] }\n"
                      "superuser:\n"
                      "  cluster: [ none ]\n"
                      "with_meta:\n"
                      "  cluster: [ all ]\n"
                      "  metadata: { version: 1 }\n"
                      "  run_as: [ other ]\n";
    sec_roles r = { 0 };
    char *err = NULL;
    CHECK_EQ_INT(sec_roles_parse(yml, strlen(yml), "roles.yml", &r, &err), 0);
    CHECK_EQ_INT(r.n, 4); /* logs_reader, writer, patterns, with_meta */
    const sec_role *lr = NULL, *w = NULL, *p = NULL;
    for (size_t i = 0; i < r.n; i++) {
        if (!strcmp(r.v[i].name, "logs_reader")) lr = &r.v[i];
        if (!strcmp(r.v[i].name, "writer")) w = &r.v[i];
        if (!strcmp(r.v[i].name, "patterns")) p = &r.v[i];
        CHECK(strcmp(r.v[i].name, "bad_priv") && strcmp(r.v[i].name, "fls") && strcmp(r.v[i].name, "superuser"));
    }
    CHECK(lr && w && p);
    if (lr && w && p) {
        CHECK(sec_role_index(lr, "indices:data/read/search", "logs-2024", false));
        CHECK(sec_role_index(lr, "indices:data/read/search", "audit", false));
        CHECK(!sec_role_index(lr, "indices:data/read/search", "audit2", false));
        CHECK(!sec_role_index(lr, "indices:data/read/search", "x", true)); /* not on every index */
        CHECK(sec_role_index(lr, "indices:admin/delete", "scratch", false));
        CHECK(sec_role_cluster(lr, "cluster:monitor/health"));
        CHECK(sec_role_index(w, "indices:data/write/index:op_type/create", "w-1", false));
        CHECK(!sec_role_index(w, "indices:data/write/index:op_type/index", "w-1", false));
        CHECK(sec_role_cluster(p, "cluster:monitor/nodes/info"));
        CHECK(sec_role_index(p, "indices:data/read/get", "any", true));
        CHECK(!sec_role_index(p, "indices:data/read/search", "any", false));
    }
    sec_roles_free(&r);
    /* Malformed YAML is an error; an empty file is no roles. */
    CHECK_EQ_INT(sec_roles_parse("a: [unclosed", 12, "roles.yml", &r, &err), -1);
    CHECK(err && strstr(err, "roles.yml"));
    free(err);
    err = NULL;
    CHECK_EQ_INT(sec_roles_parse("", 0, "roles.yml", &r, &err), 0);
    CHECK_EQ_INT(r.n, 0);
    CHECK_EQ_INT(sec_roles_parse("- a\n- b\n", 8, "roles.yml", &r, &err), -1);
    free(err);
}

TEST(route_table)
{
    sec_action_kind k;
    int pos, op;
    const char *a = security_route_action(HTTP_GET, "/", &k, &pos, &op);
    CHECK(a && !strcmp(a, "cluster:monitor/main") && k == SEC_KIND_CLUSTER);
    a = security_route_action(HTTP_HEAD, "/", &k, &pos, &op);
    CHECK(a && !strcmp(a, "cluster:monitor/main"));
    a = security_route_action(HTTP_GET, "/_cluster/health/{target}", &k, &pos, &op);
    CHECK(a && !strcmp(a, "cluster:monitor/health"));
    a = security_route_action(HTTP_PUT, "/{target}/_doc/{docid}", &k, &pos, &op);
    CHECK(a && !strcmp(a, "indices:data/write/index") && k == SEC_KIND_INDEX && pos == 0 && op == SEC_OP_INDEX);
    a = security_route_action(HTTP_POST, "/{index}/_doc", &k, &pos, &op);
    CHECK(a && op == SEC_OP_CREATE);
    a = security_route_action(HTTP_GET, "/{index}/_doc/{id}", &k, &pos, &op);
    CHECK(a && !strcmp(a, "indices:data/read/get") && op == -1);
    a = security_route_action(HTTP_DELETE, "/{index}/_doc/{id}", &k, &pos, &op);
    CHECK(a && !strcmp(a, "indices:data/write/delete") && op == SEC_OP_DELETE);
    a = security_route_action(HTTP_PUT, "/{index}", &k, &pos, &op);
    CHECK(a && !strcmp(a, "indices:admin/create") && pos == 0);
    a = security_route_action(HTTP_POST, "/_bulk", &k, &pos, &op);
    CHECK(a && !strcmp(a, "indices:data/write/bulk") && k == SEC_KIND_ANY_INDEX);
    a = security_route_action(HTTP_POST, "/_reindex", &k, &pos, &op);
    CHECK(a && !strcmp(a, "indices:data/write/reindex") && k == SEC_KIND_ANY_INDEX);
    a = security_route_action(HTTP_GET, "/_resolve/index/{name}", &k, &pos, &op);
    CHECK(a && pos == 2);
    a = security_route_action(HTTP_GET, "/_search", &k, &pos, &op);
    CHECK(a && k == SEC_KIND_INDEX && pos == -1);
    a = security_route_action(HTTP_GET, "/_security/_authenticate", &k, &pos, &op);
    CHECK(a && k == SEC_KIND_AUTHENTICATED);
    CHECK(security_route_action(HTTP_GET, "/_nope/{x}", &k, &pos, &op) == NULL);
    CHECK(security_route_action(HTTP_PATCH, "/", &k, &pos, &op) == NULL);
    CHECK(security_route_action(HTTP_GET, "/{index}/_doc/{id}/extra", &k, &pos, &op) == NULL);
}

/* ------------------------------------------------------------------------ */
/* The security object */

typedef struct fixture {
    char *conf, *data;
    config *cfg;
    security *s;
    char *password;
    arena a;
} fixture;

static void fx_open(fixture *f, const char *name, const char *const *ov, size_t nov)
{
    memset(f, 0, sizeof *f);
    f->conf = xasprintf("%s/%s-conf", g_dir, name);
    f->data = xasprintf("%s/%s-data", g_dir, name);
    mkdir(f->conf, 0755);
    mkdir(f->data, 0755);
    char *err = NULL;
    f->cfg = config_load(f->conf, ov, nov, &err);
    if (!f->cfg) {
        printf("config: %s\n", err);
        free(err);
        return;
    }
    f->s = security_open(f->cfg, f->data, &f->password, &err);
    if (!f->s) {
        printf("security_open: %s\n", err);
        free(err);
    }
}

static void fx_close(fixture *f)
{
    security_close(f->s);
    config_free(f->cfg);
    arena_free(&f->a);
    free(f->password);
    free(f->conf);
    free(f->data);
}

static sec_principal *auth(fixture *f, const char *user, const char *pw, es_err *err)
{
    char *h = basic(user, pw);
    sec_principal *p = security_authenticate(f->s, h, "/x?y=1", &f->a, err);
    free(h);
    return p;
}

TEST(disabled_security_allows_everything)
{
    const char *ov[] = { "xpack.security.enabled=false" };
    fixture f;
    fx_open(&f, "off", ov, 1);
    CHECK(f.s != NULL);
    CHECK(!security_enabled(f.s));
    CHECK(f.password == NULL);
    fx_close(&f);
}

TEST(reserved_elastic_user_from_env_and_generated)
{
    setenv("ELASTIC_PASSWORD", "from-the-env", 1);
    fixture f;
    fx_open(&f, "env", NULL, 0);
    CHECK(f.s && security_enabled(f.s));
    CHECK(f.password == NULL); /* not generated, so not printed */
    es_err err = { 0 };
    sec_principal *p = auth(&f, "elastic", "from-the-env", &err);
    CHECK(p && p->reserved && !strcmp(p->roles[0], "superuser") && !strcmp(p->realm_type, "reserved"));
    es_err_free(&err);
    /* Only the hash is stored, 0600. */
    char *rp = xasprintf("%s/security/reserved_users", f.data);
    char *text = read_file(rp);
    CHECK(text && str_has_prefix(text, "elastic:$2a$10$") && !strstr(text, "from-the-env"));
    CHECK_EQ_INT(mode_of(rp), 0600);
    free(text);
    fx_close(&f);
    /* A restart with another ELASTIC_PASSWORD keeps the first one (as ES's bootstrap password). */
    setenv("ELASTIC_PASSWORD", "another-one", 1);
    fixture g;
    memset(&g, 0, sizeof g);
    g.conf = xasprintf("%s/env-conf", g_dir);
    g.data = xasprintf("%s/env-data", g_dir);
    char *e = NULL;
    g.cfg = config_load(g.conf, NULL, 0, &e);
    g.s = security_open(g.cfg, g.data, &g.password, &e);
    CHECK(g.s && !g.password);
    CHECK(auth(&g, "elastic", "from-the-env", &err) != NULL);
    CHECK(auth(&g, "elastic", "another-one", &err) == NULL);
    es_err_free(&err);
    fx_close(&g);
    free(rp);
    unsetenv("ELASTIC_PASSWORD");
    /* Without ELASTIC_PASSWORD a password is generated and returned once. */
    fixture h;
    fx_open(&h, "gen", NULL, 0);
    CHECK(h.password && strlen(h.password) == 20);
    if (h.password) CHECK(auth(&h, "elastic", h.password, &err) != NULL);
    fx_close(&h);
    /* A too short ELASTIC_PASSWORD stops the start. */
    setenv("ELASTIC_PASSWORD", "abc", 1);
    memset(&h, 0, sizeof h);
    h.conf = xasprintf("%s/short-conf", g_dir);
    h.data = xasprintf("%s/short-data", g_dir);
    mkdir(h.conf, 0755);
    mkdir(h.data, 0755);
    h.cfg = config_load(h.conf, NULL, 0, &e);
    h.s = security_open(h.cfg, h.data, &h.password, &e);
    CHECK(!h.s && e && strstr(e, "ELASTIC_PASSWORD"));
    free(e);
    fx_close(&h);
    unsetenv("ELASTIC_PASSWORD");
}

TEST(basic_authentication_and_errors)
{
    setenv("ELASTIC_PASSWORD", "elastic-pw", 1);
    fixture f;
    fx_open(&f, "auth", NULL, 0);
    unsetenv("ELASTIC_PASSWORD");
    char h1[SEC_HASH_MAX], h2[SEC_HASH_MAX];
    security_hash_password("alice-pw", h1);
    security_hash_password("p:a@ss w", h2);
    char *users = xasprintf("%s/users", f.conf), *ur = xasprintf("%s/users_roles", f.conf);
    char *text = xasprintf("alice:%s\ncolon:%s\nplain:changeme\n", h1, h2);
    write_file(users, text);
    free(text);
    write_file(ur, "viewer:alice\neditor:colon\n");
    CHECK(security_reload(f.s));
    es_err err = { 0 };

    sec_principal *p = auth(&f, "alice", "alice-pw", &err);
    CHECK(p && !strcmp(p->username, "alice") && p->n_roles == 1 && !strcmp(p->roles[0], "viewer"));
    CHECK(p && !strcmp(p->realm_name, "default_file") && !strcmp(p->realm_type, "file"));
    /* Split on the first ':' only. */
    CHECK(auth(&f, "colon", "p:a@ss w", &err) != NULL);

    CHECK(auth(&f, "alice", "wrong", &err) == NULL);
    CHECK_EQ_STR(err.reason, "unable to authenticate user [alice] for REST request [/x?y=1]");
    CHECK_EQ_INT(err.status, 401);
    CHECK_EQ_STR(es_err_type_name(&err), "security_exception");
    CHECK(err.n_extra == 1 && !strcmp(err.extra[0].key, "header") && err.extra[0].raw);
    es_err_free(&err);
    CHECK(auth(&f, "nobody", "whatever", &err) == NULL);
    CHECK_EQ_STR(err.reason, "unable to authenticate user [nobody] for REST request [/x?y=1]");
    es_err_free(&err);
    /* A plain-text "hash" never authenticates. */
    CHECK(auth(&f, "plain", "changeme", &err) == NULL);
    es_err_free(&err);
    /* Reserved names never come from the file realm. */
    CHECK(auth(&f, "kibana_system", "x", &err) == NULL);
    es_err_free(&err);

    CHECK(security_authenticate(f.s, NULL, "/", &f.a, &err) == NULL);
    CHECK_EQ_STR(err.reason, "missing authentication credentials for REST request [/]");
    es_err_free(&err);
    CHECK(security_authenticate(f.s, "Bearer abc", "/_search", &f.a, &err) == NULL);
    CHECK_EQ_STR(err.reason, "missing authentication credentials for REST request [/_search]");
    es_err_free(&err);
    CHECK(security_authenticate(f.s, "Basic !!!", "/", &f.a, &err) == NULL);
    CHECK_EQ_STR(err.reason, "invalid basic authentication header encoding");
    es_err_free(&err);
    CHECK(security_authenticate(f.s, "Basic bm9jb2xvbg==", "/", &f.a, &err) == NULL); /* "nocolon" */
    CHECK_EQ_STR(err.reason, "invalid basic authentication header value");
    es_err_free(&err);
    /* The scheme is case-insensitive. */
    char *hdr = basic("elastic", "elastic-pw");
    memcpy(hdr, "bASIC", 5);
    CHECK(security_authenticate(f.s, hdr, "/", &f.a, &err) != NULL);
    free(hdr);

    free(users);
    free(ur);
    fx_close(&f);
}

TEST(credential_cache)
{
    setenv("ELASTIC_PASSWORD", "elastic-pw", 1);
    fixture f;
    fx_open(&f, "cache", NULL, 0);
    unsetenv("ELASTIC_PASSWORD");
    es_err err = { 0 };
    uint64_t runs0, hits0, runs, hits;
    security_stats(f.s, &runs0, &hits0);
    CHECK(auth(&f, "elastic", "elastic-pw", &err) != NULL);
    CHECK(auth(&f, "elastic", "elastic-pw", &err) != NULL);
    CHECK(auth(&f, "elastic", "elastic-pw", &err) != NULL);
    security_stats(f.s, &runs, &hits);
    CHECK_EQ_INT(runs - runs0, 1);
    CHECK_EQ_INT(hits - hits0, 2);
    /* Failures are not cached: each costs a bcrypt run. */
    CHECK(auth(&f, "elastic", "nope-nope", &err) == NULL);
    es_err_free(&err);
    CHECK(auth(&f, "elastic", "nope-nope", &err) == NULL);
    es_err_free(&err);
    security_stats(f.s, &runs, &hits);
    CHECK_EQ_INT(runs - runs0, 3);
    /* A wrong password for a cached user is not a hit. */
    CHECK_EQ_INT(hits - hits0, 2);
    /* A reload invalidates the cache. */
    char *users = xasprintf("%s/users", f.conf);
    char h[SEC_HASH_MAX];
    security_hash_password("bob-password", h);
    char *text = xasprintf("bob:%s\n", h);
    write_file(users, text);
    free(text);
    CHECK(security_reload(f.s));
    CHECK(!security_reload(f.s)); /* nothing changed since */
    CHECK(auth(&f, "elastic", "elastic-pw", &err) != NULL);
    security_stats(f.s, &runs, &hits);
    CHECK_EQ_INT(runs - runs0, 4);
    /* Expiry. */
    security_set_cache_ttl(f.s, 0);
    CHECK(auth(&f, "bob", "bob-password", &err) != NULL);
    CHECK(auth(&f, "bob", "bob-password", &err) != NULL);
    security_stats(f.s, &runs, &hits);
    CHECK_EQ_INT(runs - runs0, 6);
    /* A deleted user is gone after the reload, cached or not. */
    security_set_cache_ttl(f.s, 60000);
    CHECK(auth(&f, "bob", "bob-password", &err) != NULL);
    write_file(users, "# nobody\n");
    CHECK(security_reload(f.s));
    CHECK(auth(&f, "bob", "bob-password", &err) == NULL);
    es_err_free(&err);
    free(users);
    fx_close(&f);
}

TEST(authorization_texts)
{
    setenv("ELASTIC_PASSWORD", "elastic-pw", 1);
    fixture f;
    fx_open(&f, "authz", NULL, 0);
    unsetenv("ELASTIC_PASSWORD");
    char h[SEC_HASH_MAX];
    security_hash_password("password", h);
    char *users = xasprintf("%s/users", f.conf), *ur = xasprintf("%s/users_roles", f.conf),
         *roles = xasprintf("%s/roles.yml", f.conf);
    char *text = xasprintf("v:%s\ne:%s\nr:%s\nnone:%s\nmixed:%s\nlogs:%s\n", h, h, h, h, h, h);
    write_file(users, text);
    free(text);
    write_file(ur, "viewer:v,mixed\neditor:e\nferry_reindex:r\nghost:mixed\nlogs_reader:logs\n");
    write_file(roles, "logs_reader:\n  cluster: [monitor]\n  indices:\n    - names: ['logs-*']\n"
                      "      privileges: [read]\n");
    security_reload(f.s);
    es_err err = { 0 };
    sec_principal *v = auth(&f, "v", "password", &err), *e = auth(&f, "e", "password", &err),
                  *r = auth(&f, "r", "password", &err), *n = auth(&f, "none", "password", &err),
                  *m = auth(&f, "mixed", "password", &err), *l = auth(&f, "logs", "password", &err),
                  *su = auth(&f, "elastic", "elastic-pw", &err);
    CHECK(v && e && r && n && m && l && su);
    if (!(v && e && r && n && m && l && su)) goto out;

    CHECK_EQ_INT(security_authorize_cluster(v, "cluster:monitor/health", &err), 0);
    CHECK_EQ_INT(security_authorize_cluster(v, "cluster:admin/settings/update", &err), -1);
    CHECK_EQ_STR(err.reason, "action [cluster:admin/settings/update] is unauthorized for user [v] with effective "
                             "roles [viewer], this action is granted by the cluster privileges [manage,all]");
    CHECK_EQ_INT(err.status, 403);
    es_err_free(&err);

    const char *idx[] = { "i" };
    CHECK_EQ_INT(security_authorize_indices(v, "indices:data/write/index", idx, 1, &err), -1);
    CHECK_EQ_STR(err.reason, "action [indices:data/write/index] is unauthorized for user [v] with effective roles "
                             "[viewer] on indices [i], this action is granted by the index privileges "
                             "[create_doc,create,index,write,all]");
    es_err_free(&err);
    CHECK_EQ_INT(security_authorize_indices(e, "indices:data/write/index", idx, 1, &err), 0);
    CHECK_EQ_INT(security_authorize_indices(e, "indices:admin/create", idx, 1, &err), -1);
    CHECK_EQ_STR(err.reason, "action [indices:admin/create] is unauthorized for user [e] with effective roles "
                             "[editor] on indices [i], this action is granted by the index privileges "
                             "[create_index,manage,all]");
    es_err_free(&err);
    CHECK_EQ_INT(security_authorize_indices(r, "indices:admin/create", idx, 1, &err), 0);
    CHECK_EQ_INT(security_authorize_indices(su, "indices:admin/delete", idx, 1, &err), 0);

    /* No roles at all. */
    CHECK_EQ_INT(security_authorize_cluster(n, "cluster:monitor/main", &err), -1);
    CHECK_EQ_STR(err.reason, "action [cluster:monitor/main] is unauthorized for user [none] with effective roles "
                             "[], this action is granted by the cluster privileges [monitor,manage,all]");
    es_err_free(&err);
    /* An assigned role that does not exist. */
    CHECK_EQ_INT(security_authorize_cluster(m, "cluster:admin/settings/update", &err), -1);
    CHECK_EQ_STR(err.reason, "action [cluster:admin/settings/update] is unauthorized for user [mixed] with "
                             "effective roles [viewer] (assigned roles [ghost] were not found), this action is "
                             "granted by the cluster privileges [manage,all]");
    es_err_free(&err);

    /* Index patterns, lists (denied ones sorted), wildcards. */
    const char *two[] = { "metrics", "logs-1", "audit" };
    CHECK_EQ_INT(security_authorize_indices(l, "indices:data/read/search", two, 3, &err), -1);
    CHECK_EQ_STR(err.reason, "action [indices:data/read/search] is unauthorized for user [logs] with effective "
                             "roles [logs_reader] on indices [audit,metrics], this action is granted by the index "
                             "privileges [read,all]");
    es_err_free(&err);
    const char *lg[] = { "logs-1", "logs-2" };
    CHECK_EQ_INT(security_authorize_indices(l, "indices:data/read/search", lg, 2, &err), 0);
    const char *wild[] = { "logs-*" };
    CHECK_EQ_INT(security_authorize_indices(l, "indices:data/read/search", wild, 1, &err), -1);
    es_err_free(&err);
    const char *all[] = { "_all" };
    CHECK_EQ_INT(security_authorize_indices(v, "indices:data/read/search", all, 1, &err), 0);
    CHECK_EQ_INT(security_authorize_indices(v, "indices:data/read/search", wild, 1, &err), 0);
    /* ANY_INDEX checks (bulk, reindex). */
    CHECK_EQ_INT(security_authorize_any_index(v, "indices:data/write/bulk", &err), -1);
    CHECK_EQ_STR(err.reason, "action [indices:data/write/bulk] is unauthorized for user [v] with effective roles "
                             "[viewer], this action is granted by the index privileges "
                             "[create_doc,create,delete,index,write,all]");
    es_err_free(&err);
    CHECK_EQ_INT(security_authorize_any_index(e, "indices:data/write/bulk", &err), 0);
    CHECK_EQ_INT(security_authorize_any_index(r, "indices:data/write/reindex", &err), 0);
    CHECK_EQ_INT(security_authorize_any_index(l, "indices:data/write/reindex", &err), -1);
    es_err_free(&err);
    /* Unmapped routes: superusers only. */
    CHECK_EQ_INT(security_authorize_cluster(su, "cluster:admin/ferry/unmapped_route", &err), 0);
    CHECK_EQ_INT(security_authorize_cluster(r, "cluster:admin/ferry/unmapped_route", &err), -1);
    es_err_free(&err);

    /* Role changes apply to cached users at once. */
    write_file(ur, "editor:v\n");
    security_reload(f.s);
    sec_principal *v2 = auth(&f, "v", "password", &err);
    CHECK(v2 && v2->n_roles == 1 && !strcmp(v2->roles[0], "editor"));
out:
    free(users);
    free(ur);
    free(roles);
    fx_close(&f);
}

TEST(reload_thread_picks_up_changes)
{
    setenv("ELASTIC_PASSWORD", "elastic-pw", 1);
    const char *ov[] = { "resource.reload.interval.high=100ms" };
    fixture f;
    fx_open(&f, "thread", ov, 1);
    unsetenv("ELASTIC_PASSWORD");
    char h[SEC_HASH_MAX];
    security_hash_password("newuser-pw", h);
    char *users = xasprintf("%s/users", f.conf);
    char *text = xasprintf("newuser:%s\n", h);
    es_err err = { 0 };
    CHECK(auth(&f, "newuser", "newuser-pw", &err) == NULL);
    es_err_free(&err);
    write_file(users, text);
    bool ok = false;
    for (int i = 0; i < 50 && !ok; i++) {
        usleep(100 * 1000);
        ok = auth(&f, "newuser", "newuser-pw", &err) != NULL;
        es_err_free(&err);
    }
    CHECK(ok);
    free(text);
    free(users);
    fx_close(&f);
}

TEST(tls_settings_and_autoconfiguration)
{
    /* Explicitly enabled security without TLS settings: no auto-configuration (plain HTTP + auth). */
    fixture f;
    const char *ov1[] = { "xpack.security.enabled=true" };
    memset(&f, 0, sizeof f);
    f.conf = xasprintf("%s/tls1-conf", g_dir);
    mkdir(f.conf, 0755);
    char *err = NULL;
    f.cfg = config_load(f.conf, ov1, 1, &err);
    CHECK(f.cfg);
    CHECK_EQ_INT(security_autoconfigure(f.cfg, &err), 0);
    security_tls t;
    CHECK_EQ_INT(security_tls_load(f.cfg, &t, &err), 0);
    CHECK(t.cert_pem == NULL);
    config_free(f.cfg);
    free(f.conf);

    /* Default: auto-configuration. */
    char *conf = xasprintf("%s/tls2-conf", g_dir);
    mkdir(conf, 0755);
    char *yml = xasprintf("%s/elasticsearch.yml", conf);
    write_file(yml, "cluster.name: autoconf\n");
    const char *ov2[] = { "network.host=127.0.0.1" };
    config *c = config_load(conf, ov2, 1, &err);
    CHECK(c);
    CHECK_EQ_INT(security_autoconfigure(c, &err), 1);
    config_free(c);
    char *text = read_file(yml);
    CHECK(text && str_has_prefix(text, "cluster.name: autoconf\n"));
    CHECK(text && strstr(text, "BEGIN SECURITY AUTO CONFIGURATION"));
    CHECK(text && strstr(text, "xpack.security.enabled: true"));
    CHECK(text && strstr(text, "certificate: certs/http.crt"));
    free(text);
    char *ca = xasprintf("%s/certs/http_ca.crt", conf), *cakey = xasprintf("%s/certs/http_ca.key", conf),
         *crt = xasprintf("%s/certs/http.crt", conf), *key = xasprintf("%s/certs/http.key", conf);
    CHECK_EQ_INT(mode_of(cakey), 0600);
    CHECK_EQ_INT(mode_of(key), 0600);
    CHECK_EQ_INT(mode_of(ca), 0644);
    pki_cred chain = { 0 }, cac = { 0 };
    char *perr = NULL;
    CHECK_EQ_INT(pki_load_certs(crt, &chain, &perr), 0);
    CHECK_EQ_INT(pki_load_certs(ca, &cac, &perr), 0);
    CHECK_EQ_INT(chain.n_certs, 2); /* leaf + CA: clients capture the CA from the handshake */
    if (chain.n_certs == 2 && cac.n_certs == 1) {
        pki_cert_info in;
        CHECK_EQ_INT(pki_cert_describe(chain.certs[0], &in, &perr), 0);
        bool lh = false, v4 = false, v6 = false;
        for (size_t i = 0; i < in.n_dns; i++) lh |= !strcmp(in.dns[i], "localhost");
        for (size_t i = 0; i < in.n_ips; i++) {
            v4 |= !strcmp(in.ips[i], "127.0.0.1");
            v6 |= !strcmp(in.ips[i], "::1");
        }
        CHECK(lh && v4 && v6);
        CHECK(!in.is_ca);
        pki_cert_info_free(&in);
        char c1[96], h1[65], c2[96], h2[65];
        pki_fingerprint_sha256(chain.certs[1], c1, h1);
        pki_fingerprint_sha256(cac.certs[0], c2, h2);
        CHECK_EQ_STR(h1, h2);
    }
    /* The next start reads the settings the block wrote; no second auto-configuration. */
    c = config_load(conf, ov2, 1, &err);
    CHECK(c && config_bool(c, "xpack.security.http.ssl.enabled"));
    CHECK_EQ_INT(security_autoconfigure(c, &err), 0);
    CHECK_EQ_INT(security_tls_load(c, &t, &err), 0);
    CHECK(t.cert_pem && t.key_pem && !t.trust_pem && t.client_auth == 0);
    CHECK(t.cert_pem && strstr(strstr(t.cert_pem, "END CERTIFICATE") + 1, "BEGIN CERTIFICATE"));
    CHECK_EQ_STR(t.priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
    if (cac.n_certs == 1) {
        char c2[96], h2[65];
        pki_fingerprint_sha256(cac.certs[0], c2, h2);
        CHECK_EQ_STR(t.ca_fingerprint, h2);
    }
    security_tls_free(&t);
    config_free(c);

    /* TLS 1.2 only; client certificates required against a CA list. */
    const char *ov3[] = { "network.host=127.0.0.1", "xpack.security.http.ssl.supported_protocols=TLSv1.2",
                          "xpack.security.http.ssl.client_authentication=required",
                          "xpack.security.http.ssl.certificate_authorities=certs/http_ca.crt" };
    c = config_load(conf, ov3, 4, &err);
    CHECK(c);
    CHECK_EQ_INT(security_tls_load(c, &t, &err), 0);
    CHECK_EQ_STR(t.priorities, "NORMAL:-VERS-ALL:+VERS-TLS1.2");
    CHECK(t.trust_pem && t.client_auth == 2);
    security_tls_free(&t);
    config_free(c);
    /* TLSv1.1 is refused when the settings load. */
    const char *ov4[] = { "xpack.security.http.ssl.supported_protocols=TLSv1.2,TLSv1.1" };
    c = config_load(conf, ov4, 1, &err);
    CHECK(!c && err && strstr(err, "TLSv1.1"));
    free(err);
    err = NULL;
    /* Client authentication without CAs is a start-up error. */
    const char *ov5[] = { "xpack.security.http.ssl.client_authentication=optional" };
    c = config_load(conf, ov5, 1, &err);
    CHECK(c);
    CHECK_EQ_INT(security_tls_load(c, &t, &err), -1);
    CHECK(err && strstr(err, "certificate_authorities"));
    free(err);
    err = NULL;
    config_free(c);
    /* A missing key is ES's message. */
    const char *ov6[] = { "xpack.security.http.ssl.key=nope.key" };
    c = config_load(conf, ov6, 1, &err);
    CHECK(c);
    CHECK_EQ_INT(security_tls_load(c, &t, &err), -1);
    CHECK(err && strstr(err, "nope.key"));
    free(err);
    err = NULL;
    config_free(c);
    /* A certs folder without settings is reported, never overwritten. */
    char *conf3 = xasprintf("%s/tls3-conf", g_dir);
    mkdir(conf3, 0755);
    char *certs3 = xasprintf("%s/certs", conf3);
    mkdir(certs3, 0755);
    c = config_load(conf3, NULL, 0, &err);
    CHECK_EQ_INT(security_autoconfigure(c, &err), -1);
    CHECK(err && strstr(err, "certs"));
    free(err);
    config_free(c);

    pki_cred_free(&chain);
    pki_cred_free(&cac);
    free(conf3);
    free(certs3);
    free(ca);
    free(cakey);
    free(crt);
    free(key);
    free(yml);
    free(conf);
}

/* ------------------------------------------------------------------------ */
/* ferry users */

static int run_users(const char *conf, const char *stdin_text, const char *const *args, char **out, char **errout)
{
    int argc = 0;
    while (args[argc]) argc++;
    char **argv = xcalloc((size_t)argc + 1, sizeof *argv);
    for (int i = 0; i < argc; i++) argv[i] = xstrdup(args[i]);
    char *op = in_dir("users.out"), *ep = in_dir("users.err"), *ip = in_dir("users.in");
    write_file(ip, stdin_text ? stdin_text : "");
    setenv("FERRY_PATH_CONF", conf, 1);
    fflush(stdout);
    fflush(stderr);
    int si = dup(0), so = dup(1), se = dup(2);
    int fi = open(ip, O_RDONLY), fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644),
        fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    __fpurge(stdin);
    clearerr(stdin);
    int rc = cmd_users(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(si, 0);
    dup2(so, 1);
    dup2(se, 2);
    clearerr(stdin);
    close(si), close(so), close(se), close(fi), close(fo), close(fe);
    if (out) *out = read_file(op);
    if (errout) *errout = read_file(ep);
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    free(op);
    free(ep);
    free(ip);
    unsetenv("FERRY_PATH_CONF");
    return rc;
}

TEST(users_tool)
{
    char *conf = in_dir("tool-conf");
    mkdir(conf, 0755);
    char *o = NULL, *e = NULL;
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "list", NULL }, &o, &e), 0);
    CHECK_EQ_STR(o, "No users found\n");
    free(o), free(e);

    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "useradd", "alice", "-p", "alice-pw", "-r",
                                                         "viewer,editor", NULL }, &o, &e), 0);
    free(o), free(e);
    /* Password from standard input (not a terminal). */
    CHECK_EQ_INT(run_users(conf, "bob-password\n", (const char *[]){ "users", "useradd", "bob", NULL }, &o, &e), 0);
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, "one-password\ntwo-password\n", (const char *[]){ "users", "useradd", "carl", NULL },
                           &o, &e), 65);
    CHECK(e && strstr(e, "ERROR: Password mismatch, with exit code 65"));
    free(o), free(e);

    char *users = xasprintf("%s/users", conf), *ur = xasprintf("%s/users_roles", conf);
    sec_userdb db = { 0 };
    char *err = NULL;
    sec_users_read(users, &db, &err);
    sec_users_roles_read(ur, &db, &err);
    sec_user_entry *a = sec_userdb_find(&db, "alice"), *b = sec_userdb_find(&db, "bob");
    CHECK(a && security_verify_password("alice-pw", a->hash) && a->n_roles == 2);
    CHECK(b && security_verify_password("bob-password", b->hash) && b->n_roles == 0);
    CHECK(!sec_userdb_find(&db, "carl"));
    sec_userdb_free(&db);
    CHECK_EQ_INT(mode_of(users), 0600);

    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "list", NULL }, &o, &e), 0);
    CHECK_EQ_STR(o, "alice          : editor,viewer\nbob            : -\n");
    free(o), free(e);

    /* ES's messages and exit codes. */
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "useradd", "alice", "-p", "whatever", NULL }, &o,
                           &e), 70);
    CHECK(e && strstr(e, "ERROR: User [alice] already exists, with exit code 70"));
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "userdel", "zed", NULL }, &o, &e), 67);
    CHECK(e && strstr(e, "ERROR: User [zed] doesn't exist, with exit code 67"));
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "useradd", "short", "-p", "abc", NULL }, &o, &e), 65);
    CHECK(e && strstr(e, "Invalid password...passwords must be at least [6] characters long"));
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "useradd", "elastic", "-p", "abcdef", NULL }, &o,
                           &e), 65);
    CHECK(e && strstr(e, "Invalid username [elastic]... Username [elastic] is reserved and may not be used."));
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "useradd", NULL }, &o, &e), 64);
    CHECK(e && strstr(e, "Missing username argument"));
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "useradd", "dan", "-p", "dan-pw1", "-r", "nosuch",
                                                         NULL }, &o, &e), 0);
    CHECK(e && strstr(e, "Warning: The following roles [nosuch] are not in the ["));
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "list", "dan", NULL }, &o, &e), 0);
    CHECK(o && str_has_prefix(o, "dan            : nosuch*\n\n [*]   Role is not in the ["));
    free(o), free(e);

    /* passwd, roles -a/-r, userdel */
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "passwd", "bob", "--password=new-bob-pw", NULL }, &o,
                           &e), 0);
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "roles", "bob", "-a", "superuser", NULL }, &o, &e), 0);
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "roles", "alice", "-r", "editor", NULL }, &o, &e), 0);
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "roles", "alice", NULL }, &o, &e), 0);
    CHECK_EQ_STR(o, "alice          : viewer\n");
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "userdel", "dan", NULL }, &o, &e), 0);
    free(o), free(e);
    memset(&db, 0, sizeof db);
    sec_users_read(users, &db, &err);
    sec_users_roles_read(ur, &db, &err);
    b = sec_userdb_find(&db, "bob");
    CHECK(b && security_verify_password("new-bob-pw", b->hash) && b->n_roles == 1);
    CHECK(!sec_userdb_find(&db, "dan"));
    sec_userdb_free(&db);
    char *rtext = read_file(ur);
    CHECK_EQ_STR(rtext, "superuser:bob\nviewer:alice\n");
    free(rtext);

    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "frobnicate", NULL }, &o, &e), 64);
    free(o), free(e);
    CHECK_EQ_INT(run_users(conf, NULL, (const char *[]){ "users", "passwd", "bob", "-x", NULL }, &o, &e), 64);
    free(o), free(e);
    free(users);
    free(ur);
    free(conf);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/ferry-security-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    log_set_level(LOG_ERROR);
    config_register(security_settings, security_settings_count);
    static const setting_def node_defs[] = {
        { "network.host", SETTING_STRING, "127.0.0.1", NULL, 0, 0, NULL },
        { "http.host", SETTING_STRING, NULL, NULL, 0, 0, NULL },
        { "cluster.name", SETTING_STRING, "elasticsearch", NULL, 0, 0, NULL },
    };
    config_register(node_defs, ARRAY_LEN(node_defs));
    unsetenv("ELASTIC_PASSWORD");

    RUN(bcrypt_hash_and_verify);
    RUN(names_and_random_passwords);
    RUN(users_file_parsing);
    RUN(users_roles_parsing_and_rendering);
    RUN(files_are_written_atomically_with_modes);
    RUN(glob);
    RUN(granting_privileges_in_es_order);
    RUN(builtin_roles);
    RUN(roles_yml);
    RUN(route_table);
    RUN(disabled_security_allows_everything);
    RUN(reserved_elastic_user_from_env_and_generated);
    RUN(basic_authentication_and_errors);
    RUN(credential_cache);
    RUN(authorization_texts);
    RUN(reload_thread_picks_up_changes);
    RUN(tls_settings_and_autoconfiguration);
    RUN(users_tool);
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return unit_report();
}
