/*
 * userfile.c — the file realm's two files in Elasticsearch's formats:
 *
 *   config/users        username:hash
 *   config/users_roles  role:user1,user2
 *
 * Lines are trimmed; blank lines and lines starting with '#' are skipped; an
 * invalid line is skipped with a warning naming the file and the line number
 * (never its content, which may hold a hash). Writing is atomic and keeps the
 * file's mode.
 */
#include "security/security_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_FILE_MAX (16u * 1024 * 1024)

/* ------------------------------------------------------------------------ */
/* The in-memory table */

static void entry_free(sec_user_entry *e)
{
    free(e->name);
    if (e->hash) {
        explicit_bzero(e->hash, strlen(e->hash));
        free(e->hash);
    }
    for (size_t i = 0; i < e->n_roles; i++) free(e->roles[i]);
    free(e->roles);
}

void sec_userdb_free(sec_userdb *db)
{
    for (size_t i = 0; i < db->n; i++) entry_free(&db->v[i]);
    free(db->v);
    db->v = NULL;
    db->n = 0;
}

/* Binary search: the index of name, or where it would go (and *found false). */
static size_t find_pos(const sec_userdb *db, const char *name, bool *found)
{
    size_t lo = 0, hi = db->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(db->v[mid].name, name);
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

sec_user_entry *sec_userdb_find(const sec_userdb *db, const char *name)
{
    bool found;
    size_t i = find_pos(db, name, &found);
    return found ? &db->v[i] : NULL;
}

sec_user_entry *sec_userdb_add(sec_userdb *db, const char *name)
{
    bool found;
    size_t i = find_pos(db, name, &found);
    if (found) return &db->v[i];
    db->v = xrealloc(db->v, (db->n + 1) * sizeof *db->v);
    memmove(&db->v[i + 1], &db->v[i], (db->n - i) * sizeof *db->v);
    db->n++;
    db->v[i] = (sec_user_entry){ .name = xstrdup(name) };
    return &db->v[i];
}

bool sec_userdb_remove(sec_userdb *db, const char *name)
{
    bool found;
    size_t i = find_pos(db, name, &found);
    if (!found) return false;
    entry_free(&db->v[i]);
    memmove(&db->v[i], &db->v[i + 1], (db->n - i - 1) * sizeof *db->v);
    db->n--;
    return true;
}

void sec_user_set_hash(sec_user_entry *e, const char *hash)
{
    if (e->hash) {
        explicit_bzero(e->hash, strlen(e->hash));
        free(e->hash);
    }
    e->hash = hash ? xstrdup(hash) : NULL;
}

void sec_user_add_role(sec_user_entry *e, const char *role)
{
    for (size_t i = 0; i < e->n_roles; i++)
        if (strcmp(e->roles[i], role) == 0) return;
    e->roles = xrealloc(e->roles, (e->n_roles + 1) * sizeof *e->roles);
    e->roles[e->n_roles++] = xstrdup(role);
}

void sec_user_remove_role(sec_user_entry *e, const char *role)
{
    for (size_t i = 0; i < e->n_roles; i++) {
        if (strcmp(e->roles[i], role) == 0) {
            free(e->roles[i]);
            memmove(&e->roles[i], &e->roles[i + 1], (e->n_roles - i - 1) * sizeof *e->roles);
            e->n_roles--;
            return;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Parsing */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Calls fn for each trimmed, non-empty, non-comment line. */
static void each_line(const char *text, size_t len, void (*fn)(char *line, size_t lineno, void *ctx),
                      void *ctx)
{
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        lineno++;
        const char *s = p;
        while (s < e && is_space(*s)) s++;
        const char *t = e;
        while (t > s && is_space(t[-1])) t--;
        if (t > s && *s != '#') {
            char *line = xstrndup(s, (size_t)(t - s));
            fn(line, lineno, ctx);
            explicit_bzero(line, (size_t)(t - s));
            free(line);
        }
        p = nl ? nl + 1 : end;
    }
}

typedef struct parse_ctx {
    const char *what;
    sec_userdb *db;
    int bad;
} parse_ctx;

static char *trim_dup(const char *s, size_t n)
{
    while (n && is_space(*s)) s++, n--;
    while (n && is_space(s[n - 1])) n--;
    return xstrndup(s, n);
}

static void users_line(char *line, size_t lineno, void *vctx)
{
    parse_ctx *c = vctx;
    char *colon = strchr(line, ':');
    if (!colon || colon == line || !colon[1]) {
        log_error("security", "invalid entry in users file [%s], line [%zu]. skipping...", c->what, lineno);
        c->bad++;
        return;
    }
    char *name = trim_dup(line, (size_t)(colon - line));
    if (security_validate_name(name, false)) {
        log_error("security", "invalid username [%s] in users file [%s], skipping... (line [%zu])", name,
                  c->what, lineno);
        c->bad++;
        free(name);
        return;
    }
    char *hash = trim_dup(colon + 1, strlen(colon + 1));
    sec_user_entry *e = sec_userdb_add(c->db, name);
    sec_user_set_hash(e, hash);
    explicit_bzero(hash, strlen(hash));
    free(hash);
    free(name);
}

static void roles_line(char *line, size_t lineno, void *vctx)
{
    parse_ctx *c = vctx;
    char *colon = strchr(line, ':');
    if (!colon || colon == line) {
        log_error("security", "invalid entry in users_roles file [%s], line [%zu]. skipping...", c->what,
                  lineno);
        c->bad++;
        return;
    }
    char *role = trim_dup(line, (size_t)(colon - line));
    if (security_validate_name(role, true)) {
        log_error("security", "invalid role entry in users_roles file [%s], line [%zu] - [%s]. skipping...",
                  c->what, lineno, role);
        c->bad++;
        free(role);
        return;
    }
    const char *p = colon + 1;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char *user = trim_dup(p, n);
        if (*user) {
            if (security_validate_name(user, false)) {
                log_error("security", "invalid username [%s] in users_roles file [%s], line [%zu]. skipping...",
                          user, c->what, lineno);
                c->bad++;
            } else {
                sec_user_add_role(sec_userdb_add(c->db, user), role);
            }
        }
        free(user);
        if (!comma) break;
        p = comma + 1;
    }
    free(role);
}

int sec_users_parse(const char *text, size_t len, const char *what, sec_userdb *db)
{
    parse_ctx c = { what, db, 0 };
    each_line(text, len, users_line, &c);
    return c.bad;
}

int sec_users_roles_parse(const char *text, size_t len, const char *what, sec_userdb *db)
{
    parse_ctx c = { what, db, 0 };
    each_line(text, len, roles_line, &c);
    return c.bad;
}

static int read_with(const char *path, sec_userdb *db, char **err,
                     int (*parse)(const char *, size_t, const char *, sec_userdb *))
{
    char *data;
    size_t len;
    int rc = sec_read_file(path, USERS_FILE_MAX, &data, &len, err);
    if (rc < 0) return -1;
    if (rc == 1) return 0;
    parse(data, len, path, db);
    explicit_bzero(data, len);
    free(data);
    return 0;
}

int sec_users_read(const char *path, sec_userdb *db, char **err)
{
    return read_with(path, db, err, sec_users_parse);
}

int sec_users_roles_read(const char *path, sec_userdb *db, char **err)
{
    return read_with(path, db, err, sec_users_roles_parse);
}

/* ------------------------------------------------------------------------ */
/* Writing */

char *sec_users_render(const sec_userdb *db)
{
    buf b = { 0 };
    for (size_t i = 0; i < db->n; i++)
        if (db->v[i].hash) buf_printf(&b, "%s:%s\n", db->v[i].name, db->v[i].hash);
    if (!b.p) buf_reserve(&b, 0);
    return buf_detach(&b, NULL);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *sec_users_roles_render(const sec_userdb *db)
{
    /* Invert user → roles into role → users; roles sorted, users in name order. */
    char **roles = NULL;
    size_t nroles = 0;
    for (size_t i = 0; i < db->n; i++)
        for (size_t j = 0; j < db->v[i].n_roles; j++) {
            bool seen = false;
            for (size_t k = 0; k < nroles && !seen; k++) seen = strcmp(roles[k], db->v[i].roles[j]) == 0;
            if (!seen) {
                roles = xrealloc(roles, (nroles + 1) * sizeof *roles);
                roles[nroles++] = db->v[i].roles[j];
            }
        }
    qsort(roles, nroles, sizeof *roles, str_cmp);
    buf b = { 0 };
    for (size_t k = 0; k < nroles; k++) {
        buf_printf(&b, "%s:", roles[k]);
        bool first = true;
        for (size_t i = 0; i < db->n; i++)
            for (size_t j = 0; j < db->v[i].n_roles; j++)
                if (strcmp(db->v[i].roles[j], roles[k]) == 0) {
                    buf_printf(&b, "%s%s", first ? "" : ",", db->v[i].name);
                    first = false;
                }
        buf_putc(&b, '\n');
    }
    free(roles);
    if (!b.p) buf_reserve(&b, 0);
    return buf_detach(&b, NULL);
}

int sec_users_write(const char *path, const sec_userdb *db, char **err)
{
    char *text = sec_users_render(db);
    size_t n = strlen(text);
    int rc = sec_write_file(path, text, n, 0600, err);
    explicit_bzero(text, n);
    free(text);
    return rc;
}

int sec_users_roles_write(const char *path, const sec_userdb *db, char **err)
{
    char *text = sec_users_roles_render(db);
    int rc = sec_write_file(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}
