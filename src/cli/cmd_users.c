/*
 * cmd_users.c — `ferry users`: the file realm's users, with the verbs, options,
 * messages and exit codes of Elasticsearch's `elasticsearch-users`.
 *
 *   ferry users useradd NAME [-p PASSWORD] [-r ROLE,ROLE]
 *   ferry users userdel NAME
 *   ferry users passwd NAME [-p PASSWORD]
 *   ferry users roles NAME [-a ROLE,ROLE] [-r ROLE,ROLE]
 *   ferry users list [NAME]
 *
 * Files: config/users and config/users_roles (the config folder is
 * $FERRY_PATH_CONF, else $ES_PATH_CONF, else ./config), written atomically; a
 * running node reloads them within resource.reload.interval.high (5s).
 * Without -p the password is read from the terminal without echo (twice), or
 * from standard input when it is not a terminal (one line; a second line, when
 * present, must match).
 *
 * Exit status as ES's tool: 0, 64 usage, 65 bad data, 67 no such user, 70 user
 * exists, 74 I/O error.
 */
#include "cli/cli.h"

#include "core/core.h"
#include "security/security.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

enum { EX_OK_ = 0, EX_USAGE_ = 64, EX_DATAERR_ = 65, EX_NOUSER_ = 67, EX_CODE_ = 70, EX_IOERR_ = 74 };

static const char USERS_USAGE[] =
    "Manages elasticsearch file users\n"
    "\n"
    "Usage: ferry users COMMAND [OPTIONS] [USERNAME]\n"
    "\n"
    "Commands\n"
    "--------\n"
    "useradd - Adds a file user\n"
    "userdel - Deletes a file based user\n"
    "passwd  - Changes the password of an existing file based user\n"
    "roles   - Edit roles of an existing user\n"
    "list    - List existing file based users and their corresponding roles\n"
    "\n"
    "Options:\n"
    "  -p, --password PASSWORD   the user's password (useradd, passwd); prompted for when absent\n"
    "  -r, --roles ROLES         comma-separated roles (useradd)\n"
    "  -a, --add ROLES           roles to add (roles)\n"
    "  -r, --remove ROLES        roles to remove (roles)\n"
    "\n"
    "Files: $FERRY_PATH_CONF/users and users_roles (default ./config), as Elasticsearch's.\n"
    "Built-in roles: superuser, viewer, editor, ferry_reindex; more in roles.yml.\n";

static int error_out(int code, const char *fmt, ...) FERRY_PRINTF(2, 3);
static int error_out(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ERROR: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ", with exit code %d\n", code);
    return code;
}

typedef struct paths {
    char *conf;
    char *users;
    char *users_roles;
    char *roles;
} paths;

static void paths_init(paths *p)
{
    const char *c = getenv("FERRY_PATH_CONF");
    if (!c || !*c) c = getenv("ES_PATH_CONF");
    if (!c || !*c) c = "config";
    char *abs = realpath(c, NULL);
    p->conf = abs ? abs : xstrdup(c);
    p->users = xasprintf("%s/users", p->conf);
    p->users_roles = xasprintf("%s/users_roles", p->conf);
    p->roles = xasprintf("%s/roles.yml", p->conf);
}

static void paths_free(paths *p)
{
    free(p->conf);
    free(p->users);
    free(p->users_roles);
    free(p->roles);
}

/* ------------------------------------------------------------------------ */
/* Passwords */

static char *read_line(FILE *f)
{
    buf b = { 0 };
    int c;
    bool any = false;
    while ((c = fgetc(f)) != EOF) {
        any = true;
        if (c == '\n') break;
        buf_putc(&b, (char)c);
    }
    if (!any) {
        buf_free(&b);
        return NULL;
    }
    if (b.len && b.p[b.len - 1] == '\r') b.p[--b.len] = 0;
    if (!b.p) buf_reserve(&b, 0);
    return buf_detach(&b, NULL);
}

static char *read_secret_tty(const char *prompt)
{
    FILE *tty = fopen("/dev/tty", "r+");
    FILE *in = tty ? tty : stdin;
    FILE *out = tty ? tty : stderr;
    fputs(prompt, out);
    fflush(out);
    struct termios old, quiet;
    bool restore = tcgetattr(fileno(in), &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(in), TCSAFLUSH, &quiet);
    }
    char *line = read_line(in);
    if (restore) tcsetattr(fileno(in), TCSAFLUSH, &old);
    fputs("\n", out);
    if (tty) fclose(tty);
    return line;
}

static void free_secret(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static int password_error(const char *pw)
{
    if (strlen(pw) < SEC_MIN_PASSWORD_LEN)
        return error_out(EX_DATAERR_, "Invalid password...passwords must be at least [%d] characters long",
                         SEC_MIN_PASSWORD_LEN);
    return 0;
}

/* The password hash from -p, the terminal or stdin; 0 or an exit code. */
static int get_password_hash(const char *opt, char hash[SEC_HASH_MAX])
{
    char *pw = NULL;
    int rc;
    if (opt) {
        if ((rc = password_error(opt))) return rc;
        pw = xstrdup(opt);
    } else if (isatty(STDIN_FILENO)) {
        pw = read_secret_tty("Enter new password: ");
        if (!pw) return error_out(EX_DATAERR_, "Invalid password...no password was entered");
        if ((rc = password_error(pw))) {
            free_secret(pw);
            return rc;
        }
        char *again = read_secret_tty("Retype new password: ");
        bool same = again && strcmp(again, pw) == 0;
        free_secret(again);
        if (!same) {
            free_secret(pw);
            return error_out(EX_DATAERR_, "Password mismatch");
        }
    } else {
        pw = read_line(stdin);
        if (!pw) return error_out(EX_DATAERR_, "Invalid password...no password on standard input");
        if ((rc = password_error(pw))) {
            free_secret(pw);
            return rc;
        }
        char *again = read_line(stdin);
        bool same = !again || strcmp(again, pw) == 0;
        free_secret(again);
        if (!same) {
            free_secret(pw);
            return error_out(EX_DATAERR_, "Password mismatch");
        }
    }
    rc = security_hash_password(pw, hash) < 0 ? error_out(EX_CODE_, "cannot hash the password") : 0;
    free_secret(pw);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Roles */

typedef struct strs {
    char **v;
    size_t n;
} strs;

static void strs_free(strs *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static bool strs_has(const strs *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0) return true;
    return false;
}

static void strs_add(strs *s, const char *x)
{
    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n++] = xstrdup(x);
}

/* roles.yml names plus the built-in ones. */
static void known_roles(const paths *p, strs *out)
{
    for (const char *const *b = sec_builtin_role_names(); *b; b++) strs_add(out, *b);
    sec_roles r = { 0 };
    char *err = NULL;
    if (sec_roles_read(p->roles, &r, &err) < 0) {
        fprintf(stderr, "Warning: %s\n", err);
        free(err);
    }
    for (size_t i = 0; i < r.n; i++)
        if (!strs_has(out, r.v[i].name)) strs_add(out, r.v[i].name);
    sec_roles_free(&r);
}

/* Splits "a,b" into roles, validating each; 0 or an exit code. */
static int parse_roles(const paths *p, const char *s, strs *out)
{
    if (!s || !*s) return 0;
    const char *q = s;
    for (;;) {
        const char *c = strchr(q, ',');
        char *role = xstrndup(q, c ? (size_t)(c - q) : strlen(q));
        const char *why = security_validate_name(role, true);
        if (why) {
            int rc = error_out(EX_DATAERR_, "Invalid role [%s]... %s", role, why);
            free(role);
            return rc;
        }
        if (!strs_has(out, role)) strs_add(out, role);
        free(role);
        if (!c) break;
        q = c + 1;
    }
    /* As ES: unknown roles are a warning only (they may be defined later). */
    strs known = { 0 };
    known_roles(p, &known);
    buf unknown = { 0 };
    for (size_t i = 0; i < out->n; i++)
        if (!strs_has(&known, out->v[i])) buf_printf(&unknown, "%s%s", unknown.len ? "," : "", out->v[i]);
    if (unknown.len) {
        fprintf(stderr,
                "Warning: The following roles [%s] are not in the [%s] file. Make sure the names are correct. "
                "If the names are correct and the roles were created using the API please disregard this "
                "message. Nonetheless the user will still be associated with all specified roles\n",
                unknown.p, p->roles);
        fputs("Known roles: [", stderr);
        for (size_t i = 0; i < known.n; i++) fprintf(stderr, "%s%s", i ? ", " : "", known.v[i]);
        fputs("]\n", stderr);
    }
    buf_free(&unknown);
    strs_free(&known);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Arguments */

typedef struct opts {
    const char *password;
    const char *roles;   /* useradd -r */
    const char *add;     /* roles -a */
    const char *remove;  /* roles -r */
    strs args;           /* non-options */
} opts;

/* The option slot for a name ("-p", "--password", …) for this verb; NULL when it does not take it. */
static const char **opt_slot(opts *o, const char *verb, const char *name, size_t n)
{
    bool useradd = !strcmp(verb, "useradd"), passwd = !strcmp(verb, "passwd"), roles = !strcmp(verb, "roles");
#define IS(lit) (n == sizeof(lit) - 1 && !strncmp(name, lit, n))
    if ((IS("-p") || IS("--password")) && (useradd || passwd)) return &o->password;
    if ((IS("-r") || IS("--roles")) && useradd) return &o->roles;
    if ((IS("-r") || IS("--remove")) && roles) return &o->remove;
    if ((IS("-a") || IS("--add")) && roles) return &o->add;
#undef IS
    return NULL;
}

/* Parses the options after the verb ("-p X", "-pX", "--password X", "--password=X"). 0 or an exit code. */
static int parse_opts(int argc, char **argv, const char *verb, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            strs_add(&o->args, a);
            continue;
        }
        size_t n;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *eq = strchr(a, '=');
            n = eq ? (size_t)(eq - a) : strlen(a);
            if (eq) val = eq + 1;
        } else {
            n = 2;
            if (a[2]) val = a + 2;
        }
        const char **slot = opt_slot(o, verb, a, n);
        if (!slot) {
            fputs(USERS_USAGE, stderr);
            return error_out(EX_USAGE_, "%.*s is not a recognized option", (int)n, a);
        }
        if (!val) {
            if (i + 1 >= argc) {
                fputs(USERS_USAGE, stderr);
                return error_out(EX_USAGE_, "Option %.*s requires an argument", (int)n, a);
            }
            val = argv[++i];
        }
        *slot = val;
    }
    return 0;
}

/* The single username argument, validated; 0 or an exit code. */
static int parse_username(const opts *o, const char **user)
{
    if (o->args.n == 0) {
        fputs(USERS_USAGE, stderr);
        return error_out(EX_USAGE_, "Missing username argument");
    }
    if (o->args.n > 1) {
        fputs(USERS_USAGE, stderr);
        buf b = { 0 };
        for (size_t i = 0; i < o->args.n; i++) buf_printf(&b, "%s%s", i ? ", " : "", o->args.v[i]);
        int rc = error_out(EX_USAGE_, "Expected a single username argument, found extra: [%s]", b.p);
        buf_free(&b);
        return rc;
    }
    const char *u = o->args.v[0];
    if (security_is_reserved_user(u))
        return error_out(EX_DATAERR_, "Invalid username [%s]... Username [%s] is reserved and may not be used.", u,
                         u);
    const char *why = security_validate_name(u, false);
    if (why) return error_out(EX_DATAERR_, "Invalid username [%s]... %s", u, why);
    *user = u;
    return 0;
}

/* Both files into one table. */
static int load_db(const paths *p, sec_userdb *users, sec_userdb *roles)
{
    char *err = NULL;
    if (sec_users_read(p->users, users, &err) < 0 || sec_users_roles_read(p->users_roles, roles, &err) < 0) {
        int rc = error_out(EX_IOERR_, "%s", err);
        free(err);
        return rc;
    }
    return 0;
}

static int save(const char *path, const sec_userdb *db, bool roles_file)
{
    char *err = NULL;
    int rc = roles_file ? sec_users_roles_write(path, db, &err) : sec_users_write(path, db, &err);
    if (rc < 0) {
        rc = error_out(EX_IOERR_, "%s", err);
        free(err);
        return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Verbs */

static void print_user(const char *name, const sec_user_entry *r, const strs *known, bool *unknown_seen)
{
    if (!r || !r->n_roles) {
        printf("%-15s: -\n", name);
        return;
    }
    printf("%-15s: ", name);
    for (size_t i = 0; i < r->n_roles; i++) {
        bool unknown = !strs_has(known, r->roles[i]);
        *unknown_seen |= unknown;
        printf("%s%s%s", i ? "," : "", r->roles[i], unknown ? "*" : "");
    }
    printf("\n");
}

static int list_users(const paths *p, const char *only)
{
    sec_userdb users = { 0 }, roles = { 0 };
    int rc = load_db(p, &users, &roles);
    if (rc) return rc;
    strs known = { 0 };
    known_roles(p, &known);
    bool unknown = false;
    if (only) {
        if (!sec_userdb_find(&users, only)) {
            rc = error_out(EX_NOUSER_, "User [%s] doesn't exist", only);
            goto out;
        }
        print_user(only, sec_userdb_find(&roles, only), &known, &unknown);
    } else {
        /* Every name of either file, in name order. */
        strs names = { 0 };
        for (size_t i = 0; i < users.n; i++) strs_add(&names, users.v[i].name);
        for (size_t i = 0; i < roles.n; i++)
            if (!sec_userdb_find(&users, roles.v[i].name) && roles.v[i].n_roles) strs_add(&names, roles.v[i].name);
        for (size_t i = 1; i < names.n; i++)
            for (size_t j = i; j > 0 && strcmp(names.v[j - 1], names.v[j]) > 0; j--) {
                char *t = names.v[j];
                names.v[j] = names.v[j - 1];
                names.v[j - 1] = t;
            }
        if (!names.n) printf("No users found\n");
        for (size_t i = 0; i < names.n; i++)
            print_user(names.v[i], sec_userdb_find(&roles, names.v[i]), &known, &unknown);
        strs_free(&names);
    }
    if (unknown)
        printf("\n [*]   Role is not in the [%s] file. If the role has been created using the API, please "
               "disregard this message.\n",
               p->roles);
out:
    strs_free(&known);
    sec_userdb_free(&users);
    sec_userdb_free(&roles);
    return rc;
}

static int verb_useradd(const paths *p, const opts *o)
{
    const char *user;
    int rc = parse_username(o, &user);
    if (rc) return rc;
    char hash[SEC_HASH_MAX];
    if ((rc = get_password_hash(o->password, hash))) return rc;
    strs roles = { 0 };
    if ((rc = parse_roles(p, o->roles, &roles))) goto out;
    sec_userdb users = { 0 }, ur = { 0 };
    if ((rc = load_db(p, &users, &ur))) goto out2;
    if (sec_userdb_find(&users, user)) {
        rc = error_out(EX_CODE_, "User [%s] already exists", user);
        goto out2;
    }
    sec_user_set_hash(sec_userdb_add(&users, user), hash);
    if ((rc = save(p->users, &users, false))) goto out2;
    if (roles.n) {
        sec_user_entry *e = sec_userdb_add(&ur, user);
        while (e->n_roles) sec_user_remove_role(e, e->roles[0]);
        for (size_t i = 0; i < roles.n; i++) sec_user_add_role(e, roles.v[i]);
        rc = save(p->users_roles, &ur, true);
    }
out2:
    sec_userdb_free(&users);
    sec_userdb_free(&ur);
out:
    strs_free(&roles);
    explicit_bzero(hash, sizeof hash);
    return rc;
}

static int verb_userdel(const paths *p, const opts *o)
{
    const char *user;
    int rc = parse_username(o, &user);
    if (rc) return rc;
    sec_userdb users = { 0 }, ur = { 0 };
    if ((rc = load_db(p, &users, &ur))) goto out;
    if (!sec_userdb_find(&users, user)) {
        rc = error_out(EX_NOUSER_, "User [%s] doesn't exist", user);
        goto out;
    }
    sec_userdb_remove(&users, user);
    if ((rc = save(p->users, &users, false))) goto out;
    if (sec_userdb_remove(&ur, user)) rc = save(p->users_roles, &ur, true);
out:
    sec_userdb_free(&users);
    sec_userdb_free(&ur);
    return rc;
}

static int verb_passwd(const paths *p, const opts *o)
{
    const char *user;
    int rc = parse_username(o, &user);
    if (rc) return rc;
    char hash[SEC_HASH_MAX];
    if ((rc = get_password_hash(o->password, hash))) return rc;
    sec_userdb users = { 0 }, ur = { 0 };
    if ((rc = load_db(p, &users, &ur))) goto out;
    sec_user_entry *e = sec_userdb_find(&users, user);
    if (!e) {
        rc = error_out(EX_NOUSER_, "User [%s] doesn't exist", user);
        goto out;
    }
    sec_user_set_hash(e, hash);
    rc = save(p->users, &users, false);
out:
    explicit_bzero(hash, sizeof hash);
    sec_userdb_free(&users);
    sec_userdb_free(&ur);
    return rc;
}

static int verb_roles(const paths *p, const opts *o)
{
    const char *user;
    int rc = parse_username(o, &user);
    if (rc) return rc;
    strs add = { 0 }, remove = { 0 };
    if ((rc = parse_roles(p, o->add, &add)) || (rc = parse_roles(p, o->remove, &remove))) goto out;
    if (!add.n && !remove.n) {
        rc = list_users(p, user);
        goto out;
    }
    sec_userdb users = { 0 }, ur = { 0 };
    if ((rc = load_db(p, &users, &ur))) goto out2;
    if (!sec_userdb_find(&users, user)) {
        rc = error_out(EX_NOUSER_, "User [%s] doesn't exist", user);
        goto out2;
    }
    sec_user_entry *e = sec_userdb_add(&ur, user);
    for (size_t i = 0; i < add.n; i++) sec_user_add_role(e, add.v[i]);
    for (size_t i = 0; i < remove.n; i++) sec_user_remove_role(e, remove.v[i]);
    if (!e->n_roles) sec_userdb_remove(&ur, user);
    rc = save(p->users_roles, &ur, true);
out2:
    sec_userdb_free(&users);
    sec_userdb_free(&ur);
out:
    strs_free(&add);
    strs_free(&remove);
    return rc;
}

int cmd_users(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(USERS_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE_ : EX_OK_;
    }
    const char *verb = argv[1];
    static const char *const verbs[] = { "useradd", "userdel", "passwd", "roles", "list" };
    bool known = false;
    for (size_t i = 0; i < ARRAY_LEN(verbs); i++) known |= strcmp(verb, verbs[i]) == 0;
    if (!known) {
        fputs(USERS_USAGE, stderr);
        return error_out(EX_USAGE_, "Unknown command [%s]", verb);
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(USERS_USAGE, stdout);
            return EX_OK_;
        }
    opts o = { 0 };
    int rc = parse_opts(argc - 1, argv + 1, verb, &o);
    if (rc) {
        strs_free(&o.args);
        return rc;
    }
    paths p;
    paths_init(&p);
    struct stat st;
    if (stat(p.conf, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = error_out(EX_IOERR_, "the config folder [%s] does not exist (set FERRY_PATH_CONF)", p.conf);
    } else if (!strcmp(verb, "useradd")) {
        rc = verb_useradd(&p, &o);
    } else if (!strcmp(verb, "userdel")) {
        rc = verb_userdel(&p, &o);
    } else if (!strcmp(verb, "passwd")) {
        rc = verb_passwd(&p, &o);
    } else if (!strcmp(verb, "roles")) {
        rc = verb_roles(&p, &o);
    } else {
        if (o.args.n > 1) {
            fputs(USERS_USAGE, stderr);
            rc = error_out(EX_USAGE_, "Expected at most one username argument");
        } else {
            rc = list_users(&p, o.args.n ? o.args.v[0] : NULL);
        }
    }
    paths_free(&p);
    strs_free(&o.args);
    return rc;
}
