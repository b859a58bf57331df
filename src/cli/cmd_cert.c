/*
 * cmd_cert.c — `ferry cert fetch|ca|http`: certificate tooling.
 *
 * Exit status: 0 success, 1 failure (message on stderr), 2 usage error.
 */
#include "cli/cli.h"

#include "core/core.h"
#include "pki/pki.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char CERT_USAGE[] =
    "Usage: ferry cert COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  fetch HOST:PORT   write the certificate chain a TLS server presents (not verified)\n"
    "  ca                generate a certificate authority (ca.crt, ca.key)\n"
    "  http              generate an HTTP certificate signed by a CA (http.crt, http.key)\n"
    "\n"
    "Run `ferry cert COMMAND --help` for a command's options.\n";

static const char FETCH_USAGE[] =
    "Usage: ferry cert fetch HOST:PORT [--servername NAME] [-o FILE] [--ca-only] [--timeout SECONDS]\n"
    "\n"
    "Connects to HOST:PORT over TLS WITHOUT verifying the server and writes the\n"
    "certificates it presents as PEM (to FILE, or to standard output); a summary of\n"
    "each certificate goes to standard error. Check the fingerprint before trusting it.\n"
    "\n"
    "  HOST:PORT            a name, an IPv4 address, or [IPv6]:PORT (port default 9200)\n"
    "  --servername NAME    the TLS server name (SNI) to send (default: HOST when it is a name)\n"
    "  -o, --out FILE       write the PEM to FILE (mode 0644) instead of standard output\n"
    "  --ca-only            write only the self-signed root CA (or, if the server does not\n"
    "                       send one, the last certificate of the chain, with a warning)\n"
    "  --timeout SECONDS    connect and handshake timeout, each (default 10)\n";

static const char CA_USAGE[] =
    "Usage: ferry cert ca [--out DIR | -o PREFIX] [--days N] [--cn NAME] [--key-type rsa|ecdsa]\n"
    "                     [--pass-file FILE] [--force]\n"
    "\n"
    "Generates a self-signed certificate authority: DIR/ca.crt (0644) and DIR/ca.key (0600),\n"
    "or PREFIX.crt and PREFIX.key.\n"
    "\n"
    "  --out DIR            output folder (default: the current folder; created if missing)\n"
    "  -o PREFIX            output file prefix instead of DIR/ca\n"
    "  --days N             validity in days (default 1095, three years)\n"
    "  --cn NAME            subject common name (default \"" PKI_CA_DEFAULT_CN "\")\n"
    "  --key-type TYPE      rsa (RSA 2048, the default) or ecdsa (P-256)\n"
    "  --pass-file FILE     encrypt the key (PKCS#8) with the passphrase on FILE's first line\n"
    "  --force              replace existing output files\n";

static const char HTTP_USAGE[] =
    "Usage: ferry cert http --ca CA.crt --ca-key CA.key [--dns NAME]... [--ip ADDR]...\n"
    "                       [--cn NAME] [--days N] [--out DIR] [--key-type rsa|ecdsa]\n"
    "                       [--ca-pass-file FILE] [--pass-file FILE] [--force]\n"
    "\n"
    "Generates an HTTP (server and client) certificate signed by the CA: DIR/http.crt\n"
    "(the certificate followed by the CA's: the chain, 0644) and DIR/http.key (0600).\n"
    "\n"
    "  --ca FILE            the CA certificate (PEM)\n"
    "  --ca-key FILE        the CA's private key (PEM)\n"
    "  --ca-pass-file FILE  the CA key's passphrase, on FILE's first line\n"
    "  --dns NAME           a DNS subjectAltName (repeatable; commas separate several)\n"
    "  --ip ADDR            an IP subjectAltName, IPv4 or IPv6 (repeatable; commas too)\n"
    "                       without --dns and --ip: localhost, this host's name, 127.0.0.1, ::1\n"
    "  --cn NAME            subject common name (default: the first DNS name)\n"
    "  --days N             validity in days (default 730, two years)\n"
    "  --out DIR            output folder (default: the current folder; created if missing)\n"
    "  --key-type TYPE      rsa (RSA 2048, the default) or ecdsa (P-256)\n"
    "  --pass-file FILE     encrypt the key (PKCS#8) with the passphrase on FILE's first line\n"
    "  --force              replace existing output files\n";

/* ------------------------------------------------------------------------ */
/* Argument helpers */

typedef struct args {
    int argc;
    char **argv;
    int i;
    const char *cmd;   /* "cert fetch" */
    const char *usage;
    bool bad;
} args;

static int usage_error(args *a, const char *fmt, ...) FERRY_PRINTF(2, 3);
static int usage_error(args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ferry %s: ", a->cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun `ferry %s --help` for usage.\n", a->cmd);
    a->bad = true;
    return 2;
}

/*
 * Matches argv[i] against an option taking a value ("--name VALUE" or
 * "--name=VALUE"). Returns true and sets *val on a match; a match without a
 * value is a usage error (a->bad set, *val NULL).
 */
static bool opt_val(args *a, const char *name, const char **val)
{
    const char *arg = a->argv[a->i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0) return false;
    if (arg[n] == '=') {
        *val = arg + n + 1;
        return true;
    }
    if (arg[n] != 0) return false;
    if (a->i + 1 >= a->argc) {
        usage_error(a, "option %s needs a value", name);
        *val = NULL;
        return true;
    }
    *val = a->argv[++a->i];
    return true;
}

static bool opt_flag(args *a, const char *name)
{
    return strcmp(a->argv[a->i], name) == 0;
}

static bool is_help(const char *s)
{
    return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0;
}

static bool parse_days(args *a, const char *v, int *days)
{
    char *end;
    errno = 0;
    long d = strtol(v, &end, 10);
    if (errno || end == v || *end || d < 1 || d > PKI_MAX_DAYS) {
        usage_error(a, "--days must be a whole number from 1 to %d, not \"%s\"", PKI_MAX_DAYS, v);
        return false;
    }
    *days = (int)d;
    return true;
}

static bool parse_key_type(args *a, const char *v, pki_key_type *t)
{
    if (strcmp(v, "rsa") == 0) *t = PKI_KEY_RSA_2048;
    else if (strcmp(v, "ecdsa") == 0 || strcmp(v, "ec") == 0) *t = PKI_KEY_ECDSA_P256;
    else {
        usage_error(a, "--key-type must be rsa or ecdsa, not \"%s\"", v);
        return false;
    }
    return true;
}

/* The passphrase on the first line of path (heap; the caller wipes and frees). */
static char *read_pass_file(const char *cmd, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "ferry %s: cannot open passphrase file %s: %s\n", cmd, path,
                strerror(errno));
        return NULL;
    }
    char line[1024];
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    if (!ok) {
        fprintf(stderr, "ferry %s: passphrase file %s is empty\n", cmd, path);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) {
        explicit_bzero(line, sizeof line);
        fprintf(stderr, "ferry %s: passphrase file %s has an empty first line\n", cmd, path);
        return NULL;
    }
    char *p = xstrdup(line);
    explicit_bzero(line, sizeof line);
    return p;
}

static void free_pass(char *p)
{
    if (p) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

static int fail(const char *cmd, char *err)
{
    fprintf(stderr, "ferry %s: %s\n", cmd, err ? err : "failed");
    free(err);
    return 1;
}

/* Creates dir (one level) if it does not exist. */
static int ensure_dir(const char *cmd, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        fprintf(stderr, "ferry %s: %s is not a folder\n", cmd, dir);
        return -1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ferry %s: cannot create folder %s: %s\n", cmd, dir, strerror(errno));
        return -1;
    }
    return 0;
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    return xasprintf("%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* Refuses (unless force) when either output exists, before anything is written. */
static int check_outputs(const char *cmd, const char *crt, const char *key, bool force)
{
    if (force) return 0;
    const char *paths[2] = { crt, key };
    for (int i = 0; i < 2; i++) {
        struct stat st;
        if (lstat(paths[i], &st) == 0) {
            fprintf(stderr, "ferry %s: %s already exists; use --force to replace it\n", cmd,
                    paths[i]);
            return -1;
        }
    }
    return 0;
}

/* Writes the key (0600) then the certificates (0644); on failure neither is left behind. */
static int write_pair(const char *cmd, const char *crt_path, const char *key_path,
                      const pki_cred *c, const char *pass, bool force)
{
    char *err = NULL;
    if (pki_write_key(key_path, c->key, pass, force, &err) < 0) return fail(cmd, err);
    if (pki_write_certs(crt_path, c->certs, c->n_certs, force, &err) < 0) {
        unlink(key_path);
        return fail(cmd, err);
    }
    return 0;
}

static void print_info(FILE *out, const pki_cert_info *in, const char *indent)
{
    fprintf(out, "%ssubject:  %s\n", indent, in->subject);
    fprintf(out, "%sissuer:   %s\n", indent, in->issuer);
    fprintf(out, "%svalid:    %s to %s", indent, in->not_before, in->not_after);
    long long now = (long long)time(NULL);
    if (now > in->not_after_s) fprintf(out, "  (EXPIRED)");
    else if (now < in->not_before_s) fprintf(out, "  (NOT YET VALID)");
    fprintf(out, "\n");
    if (in->n_dns || in->n_ips) {
        fprintf(out, "%sSANs:     ", indent);
        const char *sep = "";
        for (size_t i = 0; i < in->n_dns; i++, sep = ", ") fprintf(out, "%sDNS:%s", sep, in->dns[i]);
        for (size_t i = 0; i < in->n_ips; i++, sep = ", ") fprintf(out, "%sIP:%s", sep, in->ips[i]);
        fprintf(out, "\n");
    }
    fprintf(out, "%skey:      %s\n", indent, in->key_desc);
    fprintf(out, "%sSHA-256:  %s\n", indent, in->sha256_colon);
    fprintf(out, "%s          (ca_fingerprint %s)\n", indent, in->sha256_hex);
}

/* ------------------------------------------------------------------------ */
/* cert fetch */

static int cert_fetch(int argc, char **argv)
{
    args a = { argc, argv, 1, "cert fetch", FETCH_USAGE, false };
    const char *target = NULL, *servername = NULL, *out = NULL, *v;
    bool ca_only = false;
    int timeout_s = 10;
    for (; a.i < argc && !a.bad; a.i++) {
        const char *arg = argv[a.i];
        if (is_help(arg)) {
            fputs(FETCH_USAGE, stdout);
            return 0;
        } else if (opt_val(&a, "--servername", &v)) {
            servername = v;
        } else if (opt_val(&a, "-o", &v) || opt_val(&a, "--out", &v)) {
            out = v;
        } else if (opt_flag(&a, "--ca-only")) {
            ca_only = true;
        } else if (opt_val(&a, "--timeout", &v)) {
            if (!v) break;
            char *end;
            long t = strtol(v, &end, 10);
            if (end == v || *end || t < 1 || t > 600)
                return usage_error(&a, "--timeout must be a number of seconds from 1 to 600");
            timeout_s = (int)t;
        } else if (arg[0] == '-' && arg[1]) {
            return usage_error(&a, "unknown option \"%s\"", arg);
        } else if (target) {
            return usage_error(&a, "only one HOST:PORT may be given (also got \"%s\")", arg);
        } else {
            target = arg;
        }
    }
    if (a.bad) return 2;
    if (!target) return usage_error(&a, "missing HOST:PORT");
    if (servername && !pki_dns_name_valid(servername))
        return usage_error(&a, "--servername \"%s\" is not a DNS name", servername);

    char *err = NULL, *host = NULL, *port = NULL;
    if (pki_parse_hostport(target, "9200", &host, &port, &err) < 0) {
        fprintf(stderr, "ferry cert fetch: %s\n", err);
        free(err);
        return 2;
    }
    pki_fetch_opts fo = { servername, timeout_s * 1000 };
    pki_cred chain = { 0 };
    if (pki_fetch_chain(host, port, &fo, &chain, &err) < 0) {
        free(host);
        free(port);
        return fail("cert fetch", err);
    }

    bool br = strchr(host, ':') != NULL;
    fprintf(stderr, "%s%s%s:%s presented %zu certificate%s (NOT verified: check the fingerprint):\n",
            br ? "[" : "", host, br ? "]" : "", port, chain.n_certs, chain.n_certs == 1 ? "" : "s");
    size_t root = SIZE_MAX;
    for (size_t i = 0; i < chain.n_certs; i++) {
        pki_cert_info in;
        if (pki_cert_describe(chain.certs[i], &in, &err) < 0) {
            fprintf(stderr, "  certificate %zu: %s\n", i + 1, err);
            free(err);
            err = NULL;
            continue;
        }
        const char *role = in.self_signed ? (in.is_ca ? "self-signed root CA" : "self-signed")
                           : i == 0       ? "server certificate"
                           : in.is_ca     ? "intermediate CA"
                                          : "not a CA";
        fprintf(stderr, "\n  [%zu] %s\n", i + 1, role);
        print_info(stderr, &in, "      ");
        if (in.self_signed) root = i;
        pki_cert_info_free(&in);
    }
    fprintf(stderr, "\n");

    gnutls_x509_crt_t const *sel = chain.certs;
    size_t nsel = chain.n_certs;
    if (ca_only) {
        size_t pick = root;
        if (root == SIZE_MAX) {
            pick = chain.n_certs - 1;
            fprintf(stderr, "warning: the server sent no self-signed root certificate; writing the "
                            "last certificate of the chain ([%zu]) instead. Clients may need the "
                            "root that issued it.\n",
                    pick + 1);
        }
        sel = &chain.certs[pick];
        nsel = 1;
    }
    char *pem;
    size_t len;
    int rc = 0;
    if (pki_certs_to_pem(sel, nsel, &pem, &len, &err) < 0) {
        rc = fail("cert fetch", err);
    } else {
        if (out) {
            if (pki_write_file(out, pem, len, 0644, true, &err) < 0) {
                rc = fail("cert fetch", err);
            } else {
                fprintf(stderr, "wrote %zu certificate%s to %s\n", nsel, nsel == 1 ? "" : "s", out);
                fprintf(stderr, "check it with: curl --cacert %s https://%s%s%s:%s/\n", out,
                        br ? "[" : "", host, br ? "]" : "", port);
            }
        } else if (fwrite(pem, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "ferry cert fetch: cannot write to standard output: %s\n",
                    strerror(errno));
            rc = 1;
        }
        free(pem);
    }
    pki_cred_free(&chain);
    free(host);
    free(port);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* cert ca */

static int cert_ca(int argc, char **argv)
{
    args a = { argc, argv, 1, "cert ca", CA_USAGE, false };
    const char *dir = NULL, *prefix = NULL, *cn = NULL, *pass_file = NULL, *v;
    int days = PKI_CA_DEFAULT_DAYS;
    pki_key_type kt = PKI_KEY_RSA_2048;
    bool force = false;
    for (; a.i < argc && !a.bad; a.i++) {
        const char *arg = argv[a.i];
        if (is_help(arg)) {
            fputs(CA_USAGE, stdout);
            return 0;
        } else if (opt_val(&a, "--out", &v)) {
            dir = v;
        } else if (opt_val(&a, "-o", &v)) {
            prefix = v;
        } else if (opt_val(&a, "--days", &v)) {
            if (v && !parse_days(&a, v, &days)) return 2;
        } else if (opt_val(&a, "--cn", &v)) {
            cn = v;
        } else if (opt_val(&a, "--key-type", &v)) {
            if (v && !parse_key_type(&a, v, &kt)) return 2;
        } else if (opt_val(&a, "--pass-file", &v)) {
            pass_file = v;
        } else if (opt_flag(&a, "--force")) {
            force = true;
        } else {
            return usage_error(&a, "unexpected argument \"%s\"", arg);
        }
    }
    if (a.bad) return 2;
    if (dir && prefix) return usage_error(&a, "give --out DIR or -o PREFIX, not both");
    if (cn && (!*cn || strlen(cn) > 64))
        return usage_error(&a, "--cn must be 1 to 64 characters");
    if (prefix && !*prefix) return usage_error(&a, "-o needs a non-empty prefix");

    char *crt_path, *key_path;
    if (prefix) {
        crt_path = xasprintf("%s.crt", prefix);
        key_path = xasprintf("%s.key", prefix);
    } else {
        if (!dir) dir = ".";
        if (ensure_dir("cert ca", dir) < 0) return 1;
        crt_path = join_path(dir, "ca.crt");
        key_path = join_path(dir, "ca.key");
    }
    int rc = 1;
    char *pass = NULL, *err = NULL;
    pki_cred ca = { 0 };
    if (check_outputs("cert ca", crt_path, key_path, force) < 0) goto done;
    if (pass_file && !(pass = read_pass_file("cert ca", pass_file))) goto done;
    pki_ca_opts o = { cn, days, kt };
    if (pki_ca_generate(&o, &ca, &err) < 0) {
        rc = fail("cert ca", err);
        goto done;
    }
    if (write_pair("cert ca", crt_path, key_path, &ca, pass, force) != 0) goto done;
    pki_cert_info in;
    if (pki_cert_describe(ca.certs[0], &in, &err) == 0) {
        printf("CA certificate: %s\nCA private key: %s (mode 0600%s)\n", crt_path, key_path,
               pass ? ", encrypted" : "");
        print_info(stdout, &in, "  ");
        pki_cert_info_free(&in);
    } else {
        free(err);
    }
    rc = 0;
done:
    pki_cred_free(&ca);
    free_pass(pass);
    free(crt_path);
    free(key_path);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* cert http */

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

static void strlist_push(strlist *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

static void strlist_push_csv(strlist *l, const char *s)
{
    while (*s) {
        size_t n = strcspn(s, ",");
        char *item = xstrndup(s, n);
        char *b = item, *e = item + strlen(item);
        while (*b == ' ') b++;
        while (e > b && e[-1] == ' ') *--e = 0;
        if (*b) strlist_push(l, b);
        free(item);
        s += n;
        if (*s == ',') s++;
    }
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cert_http(int argc, char **argv)
{
    args a = { argc, argv, 1, "cert http", HTTP_USAGE, false };
    const char *ca_path = NULL, *ca_key_path = NULL, *ca_pass_file = NULL, *pass_file = NULL;
    const char *cn = NULL, *dir = ".", *v;
    int days = PKI_CERT_DEFAULT_DAYS;
    pki_key_type kt = PKI_KEY_RSA_2048;
    bool force = false;
    strlist dns = { 0 }, ips = { 0 };
    int rc = 2;
    for (; a.i < argc && !a.bad; a.i++) {
        const char *arg = argv[a.i];
        if (is_help(arg)) {
            fputs(HTTP_USAGE, stdout);
            rc = 0;
            goto out;
        } else if (opt_val(&a, "--ca", &v)) {
            ca_path = v;
        } else if (opt_val(&a, "--ca-key", &v)) {
            ca_key_path = v;
        } else if (opt_val(&a, "--ca-pass-file", &v)) {
            ca_pass_file = v;
        } else if (opt_val(&a, "--pass-file", &v)) {
            pass_file = v;
        } else if (opt_val(&a, "--dns", &v)) {
            if (v) strlist_push_csv(&dns, v);
        } else if (opt_val(&a, "--ip", &v)) {
            if (v) strlist_push_csv(&ips, v);
        } else if (opt_val(&a, "--cn", &v)) {
            cn = v;
        } else if (opt_val(&a, "--days", &v)) {
            if (v && !parse_days(&a, v, &days)) goto out;
        } else if (opt_val(&a, "--out", &v)) {
            dir = v;
        } else if (opt_val(&a, "--key-type", &v)) {
            if (v && !parse_key_type(&a, v, &kt)) goto out;
        } else if (opt_flag(&a, "--force")) {
            force = true;
        } else {
            usage_error(&a, "unexpected argument \"%s\"", arg);
            goto out;
        }
    }
    if (a.bad) goto out;
    if (!ca_path || !ca_key_path) {
        usage_error(&a, "--ca and --ca-key are required");
        goto out;
    }
    if (cn && (!*cn || strlen(cn) > 64)) {
        usage_error(&a, "--cn must be 1 to 64 characters");
        goto out;
    }
    for (size_t i = 0; i < dns.n; i++)
        if (!pki_dns_name_valid(dns.v[i])) {
            usage_error(&a, "--dns \"%s\" is not a valid DNS name", dns.v[i]);
            goto out;
        }
    for (size_t i = 0; i < ips.n; i++)
        if (!pki_host_is_ip(ips.v[i])) {
            usage_error(&a, "--ip \"%s\" is not an IPv4 or IPv6 address", ips.v[i]);
            goto out;
        }
    if (dns.n == 0 && ips.n == 0) {
        strlist_push(&dns, "localhost");
        char hn[256];
        if (gethostname(hn, sizeof hn) == 0) {
            hn[sizeof hn - 1] = 0;
            if (strcmp(hn, "localhost") != 0 && pki_dns_name_valid(hn)) strlist_push(&dns, hn);
        }
        strlist_push(&ips, "127.0.0.1");
        strlist_push(&ips, "::1");
        fprintf(stderr, "ferry cert http: no --dns or --ip given; using localhost%s%s, 127.0.0.1 "
                        "and ::1\n",
                dns.n > 1 ? ", " : "", dns.n > 1 ? dns.v[1] : "");
    }

    rc = 1;
    char *crt_path = join_path(dir, "http.crt"), *key_path = join_path(dir, "http.key");
    char *ca_pass = NULL, *pass = NULL, *err = NULL;
    pki_cred ca = { 0 }, leaf = { 0 };
    if (ensure_dir("cert http", dir) < 0) goto done;
    if (check_outputs("cert http", crt_path, key_path, force) < 0) goto done;
    if (ca_pass_file && !(ca_pass = read_pass_file("cert http", ca_pass_file))) goto done;
    if (pass_file && !(pass = read_pass_file("cert http", pass_file))) goto done;
    if (pki_load_pem(ca_path, ca_key_path, ca_pass, &ca, &err) < 0) {
        rc = fail("cert http", err);
        goto done;
    }
    pki_cert_opts o = { cn, (const char *const *)dns.v, dns.n, (const char *const *)ips.v, ips.n,
                        days, kt };
    if (pki_cert_generate(&o, &ca, &leaf, &err) < 0) {
        rc = fail("cert http", err);
        goto done;
    }
    if (write_pair("cert http", crt_path, key_path, &leaf, pass, force) != 0) goto done;
    pki_cert_info in;
    if (pki_cert_describe(leaf.certs[0], &in, &err) == 0) {
        printf("HTTP certificate chain: %s\nHTTP private key: %s (mode 0600%s)\n", crt_path,
               key_path, pass ? ", encrypted" : "");
        print_info(stdout, &in, "  ");
        pki_cert_info_free(&in);
    } else {
        free(err);
    }
    rc = 0;
done:
    pki_cred_free(&ca);
    pki_cred_free(&leaf);
    free_pass(ca_pass);
    free_pass(pass);
    free(crt_path);
    free(key_path);
out:
    strlist_free(&dns);
    strlist_free(&ips);
    return rc;
}

int cmd_cert(int argc, char **argv)
{
    if (argc < 2) {
        fputs(CERT_USAGE, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (is_help(sub)) {
        fputs(CERT_USAGE, stdout);
        return 0;
    }
    if (strcmp(sub, "fetch") == 0) return cert_fetch(argc - 1, argv + 1);
    if (strcmp(sub, "ca") == 0) return cert_ca(argc - 1, argv + 1);
    if (strcmp(sub, "http") == 0) return cert_http(argc - 1, argv + 1);
    fprintf(stderr, "ferry cert: unknown command \"%s\"\n\n%s", sub, CERT_USAGE);
    return 2;
}
