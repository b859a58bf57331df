/*
 * Unit tests for src/pki and `ferry cert`: CA and HTTP certificate
 * generation (verified with GnuTLS and cross-checked with the openssl CLI),
 * PEM files and their modes, encrypted keys, PKCS#12, description and
 * fingerprints, and fetching a chain from TLS servers on loopback
 * (`openssl s_server`, started by the test on a free port).
 */
#include "cli/cli.h"
#include "core/core.h"
#include "pki/pki.h"
#include "unit.h"

#include <gnutls/x509.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Helpers */

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

static bool have_tool(const char *name)
{
    char *cmd = xasprintf("command -v %s >/dev/null 2>&1", name);
    int rc = system(cmd);
    free(cmd);
    return rc == 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = { 0 };
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(&b, tmp, n);
    fclose(f);
    if (!b.p) buf_puts(&b, "");
    return buf_detach(&b, len);
}

static void write_all_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(data, f);
    fclose(f);
}

/* Runs a shell command; returns its first output line (heap, newline stripped) or NULL. */
static char *run_line(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    char line[4096] = "";
    char *got = fgets(line, sizeof line, p);
    while (fgets((char[256]){ 0 }, 256, p)) {
    }
    int st = pclose(p);
    if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (!got) return NULL;
    line[strcspn(line, "\r\n")] = 0;
    return xstrdup(line);
}

static bool same_der(gnutls_x509_crt_t a, gnutls_x509_crt_t b)
{
    gnutls_datum_t da = { 0 }, db = { 0 };
    bool same = gnutls_x509_crt_export2(a, GNUTLS_X509_FMT_DER, &da) >= 0 &&
                gnutls_x509_crt_export2(b, GNUTLS_X509_FMT_DER, &db) >= 0 && da.size == db.size &&
                memcmp(da.data, db.data, da.size) == 0;
    gnutls_free(da.data);
    gnutls_free(db.data);
    return same;
}

/* The certificates of a PEM file, re-encoded (PEM normalization). */
static char *normalized_pem(const char *path)
{
    pki_cred c = { 0 };
    char *err = NULL, *pem = NULL;
    size_t len;
    if (pki_load_certs(path, &c, &err) == 0) pki_certs_to_pem(c.certs, c.n_certs, &pem, &len, &err);
    free(err);
    pki_cred_free(&c);
    return pem;
}

/* Runs `ferry cert ...` in-process, standard output and error into files. */
static int run_cert(const char *const *args, char **out, char **errout)
{
    int argc = 0;
    while (args[argc]) argc++;
    char **argv = xcalloc((size_t)argc + 1, sizeof *argv);
    for (int i = 0; i < argc; i++) argv[i] = xstrdup(args[i]);
    char *op = in_dir("cli.out"), *ep = in_dir("cli.err");
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = cmd_cert(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so), close(se), close(fo), close(fe);
    size_t n;
    char *o = read_all(op, &n), *e = read_all(ep, &n);
    if (out) *out = o;
    else free(o);
    if (errout) *errout = e;
    else free(e);
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    free(op), free(ep);
    return rc;
}

/* A port that was free a moment ago (bound to port 0, then closed). */
static int free_port(int family)
{
    int fd = socket(family, SOCK_STREAM, 0);
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *a;
    }
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&ss, &len);
    int port = family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                  : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    close(fd);
    return port;
}

static bool can_connect(int family, int port)
{
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) return false;
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons((uint16_t)port);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons((uint16_t)port);
        len = sizeof *a;
    }
    bool ok = connect(fd, (struct sockaddr *)&ss, len) == 0;
    close(fd);
    return ok;
}

typedef struct server {
    pid_t pid;
    int stdin_w; /* kept open: s_server reads commands from standard input */
    int port;
} server;

/* Starts `openssl s_server` with extra arguments on loopback; waits until it accepts. */
static bool start_s_server(server *s, int family, const char *const *extra)
{
    memset(s, 0, sizeof *s);
    for (int attempt = 0; attempt < 3; attempt++) {
        int port = free_port(family);
        if (port <= 0) return false;
        char accept_arg[64];
        snprintf(accept_arg, sizeof accept_arg, family == AF_INET6 ? "[::1]:%d" : "127.0.0.1:%d",
                 port);
        const char *argv[32] = { "openssl", "s_server", "-accept", accept_arg, "-www", "-quiet" };
        int argc = 6;
        for (int i = 0; extra[i] && argc < 30; i++) argv[argc++] = extra[i];
        argv[argc] = NULL;
        int pfd[2];
        if (pipe(pfd) != 0) return false;
        pid_t pid = fork();
        if (pid == 0) {
            dup2(pfd[0], 0);
            int dn = open("/dev/null", O_WRONLY);
            dup2(dn, 1);
            dup2(dn, 2);
            close(pfd[1]);
            execvp("openssl", (char *const *)argv);
            _exit(127);
        }
        close(pfd[0]);
        for (int i = 0; i < 100; i++) { /* up to 5 s */
            if (can_connect(family, port)) {
                s->pid = pid;
                s->stdin_w = pfd[1];
                s->port = port;
                return true;
            }
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) break; /* exited: port taken? retry */
            usleep(50000);
        }
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        close(pfd[1]);
    }
    return false;
}

static void stop_server(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        close(s->stdin_w);
    }
    s->pid = 0;
}

/* CA + HTTP certificate written into g_dir: ca.crt, ca.key, http.crt (chain), leaf.crt, http.key. */
static bool make_pki_files(pki_cred *ca, pki_cred *leaf)
{
    char *err = NULL;
    const char *dns[] = { "localhost", "node-1.example.com" };
    const char *ips[] = { "127.0.0.1", "::1" };
    pki_cert_opts o = { NULL, dns, 2, ips, 2, 0, PKI_KEY_RSA_2048 };
    char *p1 = in_dir("ca.crt"), *p2 = in_dir("ca.key"), *p3 = in_dir("http.crt"),
         *p4 = in_dir("http.key"), *p5 = in_dir("leaf.crt");
    bool ok = pki_ca_generate(NULL, ca, &err) == 0 && pki_cert_generate(&o, ca, leaf, &err) == 0 &&
              pki_write_certs(p1, ca->certs, 1, true, &err) == 0 &&
              pki_write_key(p2, ca->key, NULL, true, &err) == 0 &&
              pki_write_certs(p3, leaf->certs, leaf->n_certs, true, &err) == 0 &&
              pki_write_certs(p5, leaf->certs, 1, true, &err) == 0 &&
              pki_write_key(p4, leaf->key, NULL, true, &err) == 0;
    if (!ok) printf("  make_pki_files: %s\n", err ? err : "?");
    free(err);
    free(p1), free(p2), free(p3), free(p4), free(p5);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Generation */

TEST(ca_generation)
{
    pki_cred ca = { 0 };
    char *err = NULL;
    CHECK_EQ_INT(pki_ca_generate(NULL, &ca, &err), 0);
    CHECK_EQ_INT(ca.n_certs, 1);
    CHECK(ca.key != NULL);
    if (ca.n_certs != 1) return;
    pki_cert_info in;
    CHECK_EQ_INT(pki_cert_describe(ca.certs[0], &in, &err), 0);
    CHECK_EQ_STR(in.subject, "CN=" PKI_CA_DEFAULT_CN);
    CHECK_EQ_STR(in.issuer, in.subject);
    CHECK(in.is_ca);
    CHECK(in.self_signed);
    CHECK_EQ_STR(in.key_desc, "RSA 2048");
    long long span = in.not_after_s - in.not_before_s;
    CHECK(span >= 3LL * 365 * 86400 && span <= 3LL * 365 * 86400 + 600);
    CHECK(in.not_before_s <= (long long)time(NULL));
    /* Serial: positive, at least 64 bits. */
    CHECK(strlen(in.serial_hex) >= 16);
    CHECK(strchr("01234567", in.serial_hex[0]) != NULL);
    CHECK_EQ_INT(strlen(in.sha256_hex), 64);
    CHECK_EQ_INT(strlen(in.sha256_colon), 95);
    pki_cert_info_free(&in);

    /* basicConstraints CA critical, keyUsage certSign + cRLSign. */
    unsigned critical = 0, usage = 0;
    CHECK(gnutls_x509_crt_get_ca_status(ca.certs[0], &critical) > 0 && critical);
    CHECK(gnutls_x509_crt_get_key_usage(ca.certs[0], &usage, &critical) >= 0);
    CHECK(usage == (GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
    unsigned char ski[64];
    size_t skilen = sizeof ski;
    CHECK(gnutls_x509_crt_get_subject_key_id(ca.certs[0], ski, &skilen, &critical) >= 0);
    pki_cred_free(&ca);

    /* ECDSA, custom name and validity. */
    pki_ca_opts o = { "Test CA", 10, PKI_KEY_ECDSA_P256 };
    CHECK_EQ_INT(pki_ca_generate(&o, &ca, &err), 0);
    if (ca.n_certs) {
        CHECK_EQ_INT(pki_cert_describe(ca.certs[0], &in, &err), 0);
        CHECK_EQ_STR(in.subject, "CN=Test CA");
        CHECK(str_has_prefix(in.key_desc, "ECDSA"));
        CHECK(in.not_after_s - in.not_before_s <= 10LL * 86400 + 600);
        pki_cert_info_free(&in);
    }
    pki_cred_free(&ca);
    pki_ca_opts bad = { NULL, PKI_MAX_DAYS + 1, PKI_KEY_RSA_2048 };
    CHECK_EQ_INT(pki_ca_generate(&bad, &ca, &err), -1);
    CHECK(err && strstr(err, "days"));
    free(err);
}

static void check_http_cert(pki_key_type kt)
{
    pki_cred ca = { 0 }, leaf = { 0 };
    char *err = NULL;
    pki_ca_opts co = { NULL, 0, kt };
    CHECK_EQ_INT(pki_ca_generate(&co, &ca, &err), 0);
    const char *dns[] = { "localhost", "node-1.example.com", "*.nodes.example.com" };
    const char *ips[] = { "127.0.0.1", "::1", "10.1.2.3", "fe80::1" };
    pki_cert_opts o = { NULL, dns, 3, ips, 4, 30, kt };
    CHECK_EQ_INT(pki_cert_generate(&o, &ca, &leaf, &err), 0);
    if (err) printf("  %s\n", err);
    CHECK_EQ_INT(leaf.n_certs, 2);
    if (leaf.n_certs != 2) goto out;
    CHECK(same_der(leaf.certs[1], ca.certs[0]));
    CHECK(pki_key_matches(leaf.certs[0], leaf.key));
    CHECK(!pki_key_matches(leaf.certs[0], ca.key));

    /* The chain verifies against the CA: list verify and a trust list. */
    unsigned status = 1;
    CHECK(gnutls_x509_crt_list_verify(leaf.certs, 2, ca.certs, 1, NULL, 0, 0, &status) >= 0);
    CHECK_EQ_INT(status, 0);
    gnutls_x509_trust_list_t tl;
    gnutls_x509_trust_list_init(&tl, 0);
    gnutls_x509_crt_t ca_copy;
    CHECK_EQ_INT(pki_crt_dup(ca.certs[0], &ca_copy, &err), 0);
    gnutls_x509_trust_list_add_cas(tl, &ca_copy, 1, 0);
    status = 1;
    gnutls_typed_vdata_st vd[] = { { GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)"node-1.example.com", 0 },
                                   { GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0 } };
    CHECK(gnutls_x509_trust_list_verify_crt2(tl, leaf.certs, 2, vd, 2, 0, &status, NULL) >= 0);
    CHECK_EQ_INT(status, 0);
    gnutls_x509_trust_list_deinit(tl, 1);

    CHECK(gnutls_x509_crt_check_hostname(leaf.certs[0], "localhost"));
    CHECK(gnutls_x509_crt_check_hostname(leaf.certs[0], "a.nodes.example.com"));
    CHECK(gnutls_x509_crt_check_ip(leaf.certs[0], (const unsigned char *)"\x7f\0\0\1", 4, 0));
    CHECK(!gnutls_x509_crt_check_hostname(leaf.certs[0], "other.example.com"));

    pki_cert_info in;
    CHECK_EQ_INT(pki_cert_describe(leaf.certs[0], &in, &err), 0);
    CHECK_EQ_STR(in.subject, "CN=localhost");
    CHECK_EQ_STR(in.issuer, "CN=" PKI_CA_DEFAULT_CN);
    CHECK(!in.is_ca);
    CHECK(!in.self_signed);
    CHECK_EQ_INT(in.n_dns, 3);
    CHECK_EQ_INT(in.n_ips, 4);
    if (in.n_dns == 3 && in.n_ips == 4) {
        CHECK_EQ_STR(in.dns[1], "node-1.example.com");
        CHECK_EQ_STR(in.ips[0], "127.0.0.1");
        CHECK_EQ_STR(in.ips[1], "::1");
        CHECK_EQ_STR(in.ips[3], "fe80::1");
    }
    pki_cert_info_free(&in);

    /* Extensions: CA:FALSE, keyUsage, extKeyUsage serverAuth + clientAuth, AKI = CA's SKI. */
    unsigned critical = 0, usage = 0;
    CHECK_EQ_INT(gnutls_x509_crt_get_ca_status(leaf.certs[0], &critical), 0);
    CHECK(gnutls_x509_crt_get_key_usage(leaf.certs[0], &usage, &critical) >= 0);
    CHECK(usage == (GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT));
    char oid[128];
    size_t olen = sizeof oid;
    CHECK(gnutls_x509_crt_get_key_purpose_oid(leaf.certs[0], 0, oid, &olen, NULL) >= 0);
    CHECK_EQ_STR(oid, GNUTLS_KP_TLS_WWW_SERVER);
    olen = sizeof oid;
    CHECK(gnutls_x509_crt_get_key_purpose_oid(leaf.certs[0], 1, oid, &olen, NULL) >= 0);
    CHECK_EQ_STR(oid, GNUTLS_KP_TLS_WWW_CLIENT);
    unsigned char aki[64], ski[64];
    size_t akilen = sizeof aki, skilen = sizeof ski;
    CHECK(gnutls_x509_crt_get_authority_key_id(leaf.certs[0], aki, &akilen, NULL) >= 0);
    CHECK(gnutls_x509_crt_get_subject_key_id(ca.certs[0], ski, &skilen, NULL) >= 0);
    CHECK(akilen == skilen && memcmp(aki, ski, akilen) == 0);
out:
    pki_cred_free(&leaf);
    pki_cred_free(&ca);
    free(err);
}

TEST(http_cert_rsa_verifies_against_ca) { check_http_cert(PKI_KEY_RSA_2048); }
TEST(http_cert_ecdsa_verifies_against_ca) { check_http_cert(PKI_KEY_ECDSA_P256); }

TEST(http_cert_rejects_bad_input)
{
    pki_cred ca = { 0 }, other = { 0 }, leaf = { 0 };
    char *err = NULL;
    CHECK_EQ_INT(pki_ca_generate(NULL, &ca, &err), 0);
    CHECK_EQ_INT(pki_ca_generate(NULL, &other, &err), 0);
    const char *bad_dns[] = { "bad name" };
    pki_cert_opts o = { NULL, bad_dns, 1, NULL, 0, 0, PKI_KEY_RSA_2048 };
    CHECK_EQ_INT(pki_cert_generate(&o, &ca, &leaf, &err), -1);
    CHECK(err && strstr(err, "bad name"));
    const char *bad_ip[] = { "300.1.1.1" };
    pki_cert_opts o2 = { NULL, NULL, 0, bad_ip, 1, 0, PKI_KEY_RSA_2048 };
    CHECK_EQ_INT(pki_cert_generate(&o2, &ca, &leaf, &err), -1);
    CHECK(err && strstr(err, "300.1.1.1"));
    /* The key of another CA. */
    pki_cred mixed = { ca.certs, 1, other.key };
    pki_cert_opts o3 = { "x", NULL, 0, NULL, 0, 0, PKI_KEY_RSA_2048 };
    CHECK_EQ_INT(pki_cert_generate(&o3, &mixed, &leaf, &err), -1);
    CHECK(err && strstr(err, "does not belong"));
    /* A leaf is not a CA. */
    CHECK_EQ_INT(pki_cert_generate(&o3, &ca, &leaf, &err), 0);
    pki_cred leaf_as_ca = { leaf.certs, 1, leaf.key };
    pki_cred leaf2 = { 0 };
    CHECK_EQ_INT(pki_cert_generate(&o3, &leaf_as_ca, &leaf2, &err), -1);
    CHECK(err && strstr(err, "not a CA"));
    CHECK(pki_dns_name_valid("a-b.example.com") && pki_dns_name_valid("*.x.io") &&
          !pki_dns_name_valid("a..b") && !pki_dns_name_valid("a b") &&
          !pki_dns_name_valid("a*b") && !pki_dns_name_valid(""));
    pki_cred_free(&leaf);
    pki_cred_free(&ca);
    pki_cred_free(&other);
    free(err);
}

/* ------------------------------------------------------------------------ */
/* Files */

TEST(pem_files_modes_and_round_trip)
{
    pki_cred ca = { 0 }, leaf = { 0 };
    CHECK(make_pki_files(&ca, &leaf));
    char *crt = in_dir("ca.crt"), *key = in_dir("ca.key"), *err = NULL;
    struct stat st;
    CHECK(stat(crt, &st) == 0 && (st.st_mode & 07777) == 0644);
    CHECK(stat(key, &st) == 0 && (st.st_mode & 07777) == 0600);

    /* The modes are exact whatever the umask. */
    mode_t old = umask(0);
    char *k2 = in_dir("umask0.key"), *c2 = in_dir("umask077.crt");
    CHECK_EQ_INT(pki_write_key(k2, ca.key, NULL, false, &err), 0);
    umask(077);
    CHECK_EQ_INT(pki_write_certs(c2, ca.certs, 1, false, &err), 0);
    umask(old);
    CHECK(stat(k2, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(stat(c2, &st) == 0 && (st.st_mode & 07777) == 0644);

    /* No overwrite unless asked; the existing file is untouched. */
    size_t before_len, after_len;
    char *before = read_all(key, &before_len);
    CHECK_EQ_INT(pki_write_key(key, leaf.key, NULL, false, &err), -1);
    CHECK(err && strstr(err, "already exists") && strstr(err, key));
    char *after = read_all(key, &after_len);
    CHECK(before && after && before_len == after_len && memcmp(before, after, after_len) == 0);
    free(before), free(after);

    /* Load back: same certificate, matching key. */
    pki_cred back = { 0 };
    CHECK_EQ_INT(pki_load_pem(crt, key, NULL, &back, &err), 0);
    CHECK(back.n_certs == 1 && same_der(back.certs[0], ca.certs[0]));
    CHECK(back.key && pki_key_matches(back.certs[0], back.key));
    pki_cred_free(&back);

    /* The chain file holds the leaf then the CA. */
    char *chain = in_dir("http.crt");
    CHECK_EQ_INT(pki_load_certs(chain, &back, &err), 0);
    CHECK(back.n_certs == 2 && same_der(back.certs[0], leaf.certs[0]) &&
          same_der(back.certs[1], ca.certs[0]));
    pki_cred_free(&back);

    /* PEM round trip in memory. */
    char *pem;
    size_t len;
    CHECK_EQ_INT(pki_certs_to_pem(leaf.certs, 2, &pem, &len, &err), 0);
    CHECK(str_has_prefix(pem, "-----BEGIN CERTIFICATE-----\n"));
    CHECK_EQ_INT(pki_parse_certs(pem, len, "memory", &back, &err), 0);
    CHECK(back.n_certs == 2 && same_der(back.certs[1], ca.certs[0]));
    pki_cred_free(&back);
    free(pem);

    /* A mismatched key is refused by name. */
    char *hkey = in_dir("http.key");
    CHECK_EQ_INT(pki_load_pem(crt, hkey, NULL, &back, &err), -1);
    CHECK(err && strstr(err, "does not belong") && strstr(err, hkey));

    /* Clear errors for missing and non-certificate files. */
    char *missing = in_dir("missing.crt");
    CHECK_EQ_INT(pki_load_certs(missing, &back, &err), -1);
    CHECK(err && strstr(err, missing) && strstr(err, "No such file"));
    char *junk = in_dir("junk.crt");
    write_all_file(junk, "-----BEGIN NOTHING-----\nabc\n-----END NOTHING-----\n");
    CHECK_EQ_INT(pki_load_certs(junk, &back, &err), -1);
    CHECK(err && strstr(err, "no certificate"));
    CHECK_EQ_INT(pki_load_key(junk, NULL, &back.key, &err), -1);
    CHECK(err && strstr(err, "no private key"));

    pki_cred_free(&ca);
    pki_cred_free(&leaf);
    free(crt), free(key), free(k2), free(c2), free(chain), free(hkey), free(missing), free(junk);
    free(err);
}

TEST(encrypted_keys)
{
    pki_cred ca = { 0 };
    char *err = NULL;
    CHECK_EQ_INT(pki_ca_generate(NULL, &ca, &err), 0);
    char *key = in_dir("enc.key");
    CHECK_EQ_INT(pki_write_key(key, ca.key, "s3cret pass", true, &err), 0);
    size_t len;
    char *pem = read_all(key, &len);
    CHECK(pem && strstr(pem, "BEGIN ENCRYPTED PRIVATE KEY"));
    free(pem);

    gnutls_x509_privkey_t k = NULL;
    CHECK_EQ_INT(pki_load_key(key, "s3cret pass", &k, &err), 0);
    CHECK(k && pki_key_matches(ca.certs[0], k));
    if (k) gnutls_x509_privkey_deinit(k);
    k = NULL;
    CHECK_EQ_INT(pki_load_key(key, "wrong", &k, &err), -1);
    CHECK(err && strstr(err, "wrong passphrase") && strstr(err, key) && !strstr(err, "wrong\""));
    CHECK_EQ_INT(pki_load_key(key, NULL, &k, &err), -1);
    CHECK(err && strstr(err, "encrypted") && strstr(err, "passphrase"));

    if (have_tool("openssl")) {
        /* openssl reads our PKCS#8; and we read openssl's. */
        char *cmd = xasprintf("openssl pkey -in %s -passin pass:'s3cret pass' -noout 2>&1", key);
        int status = -1;
        char *line = run_line(cmd, &status);
        CHECK_EQ_INT(status, 0);
        free(line), free(cmd);
        char *ok = in_dir("openssl.key");
        cmd = xasprintf("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
                        "-aes-256-cbc -pass pass:pw -out %s 2>&1",
                        ok);
        line = run_line(cmd, &status);
        CHECK_EQ_INT(status, 0);
        CHECK_EQ_INT(pki_load_key(ok, "pw", &k, &err), 0);
        if (k) gnutls_x509_privkey_deinit(k);
        free(line), free(cmd), free(ok);
    }
    pki_cred_free(&ca);
    free(key);
    free(err);
}

TEST(fingerprints_and_openssl_agree)
{
    if (!have_tool("openssl")) {
        printf("  (openssl not installed: skipped)\n");
        return;
    }
    pki_cred ca = { 0 }, leaf = { 0 };
    CHECK(make_pki_files(&ca, &leaf));
    const char *files[] = { "ca.crt", "leaf.crt" };
    gnutls_x509_crt_t certs[] = { ca.certs[0], leaf.certs[0] };
    for (int i = 0; i < 2; i++) {
        char *p = in_dir(files[i]);
        char *cmd = xasprintf("openssl x509 -noout -fingerprint -sha256 -in %s", p);
        int status;
        char *line = run_line(cmd, &status);
        CHECK_EQ_INT(status, 0);
        char colon[96], hex[65];
        CHECK_EQ_INT(pki_fingerprint_sha256(certs[i], colon, hex), 0);
        const char *eq = line ? strchr(line, '=') : NULL;
        CHECK(eq != NULL);
        if (eq) CHECK_EQ_STR(eq + 1, colon);
        /* The plain form is the same digits in lower case. */
        char lower[65];
        size_t n = 0;
        for (const char *c = colon; *c; c++)
            if (*c != ':') lower[n++] = (char)(*c >= 'A' && *c <= 'F' ? *c + 32 : *c);
        lower[n] = 0;
        CHECK_EQ_STR(lower, hex);
        free(line), free(cmd), free(p);
    }
    /* openssl verifies the chain and sees the extensions. */
    char *cafile = in_dir("ca.crt"), *lf = in_dir("leaf.crt");
    char *cmd = xasprintf("openssl verify -CAfile %s -purpose sslserver %s 2>&1", cafile, lf);
    int status;
    char *line = run_line(cmd, &status);
    CHECK_EQ_INT(status, 0);
    CHECK(line && str_has_suffix(line, ": OK"));
    free(line), free(cmd);
    cmd = xasprintf("openssl x509 -in %s -noout -ext subjectAltName | tail -1", lf);
    line = run_line(cmd, &status);
    CHECK(line && strstr(line, "DNS:localhost") && strstr(line, "IP Address:127.0.0.1"));
    free(line), free(cmd), free(cafile), free(lf);
    pki_cred_free(&ca);
    pki_cred_free(&leaf);
}

TEST(self_signed_detection)
{
    if (!have_tool("openssl")) {
        printf("  (openssl not installed: skipped)\n");
        return;
    }
    /* A self-signed leaf (not a CA), and a certificate whose issuer name
     * equals its subject but which another key signed. */
    char *cmd = xasprintf(
        "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout ss.key -out ss.crt "
        "-subj /CN=twin -days 2 -addext basicConstraints=critical,CA:FALSE >/dev/null 2>&1 && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout tca.key -out tca.crt -subj /CN=twin "
        "-days 2 >/dev/null 2>&1 && "
        "openssl req -new -newkey rsa:2048 -nodes -keyout tl.key -out tl.csr -subj /CN=twin "
        ">/dev/null 2>&1 && "
        "openssl x509 -req -in tl.csr -CA tca.crt -CAkey tca.key -CAcreateserial -out tl.crt "
        "-days 2 >/dev/null 2>&1",
        g_dir);
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    char *ss = in_dir("ss.crt"), *tl = in_dir("tl.crt"), *err = NULL;
    pki_cred a = { 0 }, b = { 0 };
    CHECK_EQ_INT(pki_load_certs(ss, &a, &err), 0);
    CHECK_EQ_INT(pki_load_certs(tl, &b, &err), 0);
    if (a.n_certs && b.n_certs) {
        CHECK(pki_is_self_signed(a.certs[0]));
        pki_cert_info in;
        CHECK_EQ_INT(pki_cert_describe(a.certs[0], &in, &err), 0);
        CHECK(in.self_signed && !in.is_ca);
        pki_cert_info_free(&in);
        CHECK(gnutls_x509_crt_check_issuer(b.certs[0], b.certs[0]));
        CHECK(!pki_is_self_signed(b.certs[0]));
    }
    pki_cred_free(&a);
    pki_cred_free(&b);
    free(ss), free(tl), free(err);
}

TEST(pkcs12_keystores)
{
    if (!have_tool("openssl")) {
        printf("  (openssl not installed: skipped)\n");
        return;
    }
    pki_cred ca = { 0 }, leaf = { 0 };
    CHECK(make_pki_files(&ca, &leaf));
    char *cmd = xasprintf("cd %s && openssl pkcs12 -export -in http.crt -inkey http.key "
                          "-passout pass:secret -out http.p12 >/dev/null 2>&1 && "
                          "openssl pkcs12 -export -in http.crt -inkey http.key -passout pass: "
                          "-out empty.p12 >/dev/null 2>&1",
                          g_dir);
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    char *p12 = in_dir("http.p12"), *e12 = in_dir("empty.p12"), *err = NULL;
    pki_cred ks = { 0 };
    CHECK_EQ_INT(pki_load_pkcs12(p12, "secret", &ks, &err), 0);
    if (err) printf("  %s\n", err);
    CHECK_EQ_INT(ks.n_certs, 2);
    if (ks.n_certs == 2) {
        CHECK(same_der(ks.certs[0], leaf.certs[0]));
        CHECK(same_der(ks.certs[1], ca.certs[0]));
        CHECK(ks.key && pki_key_matches(ks.certs[0], ks.key));
    }
    pki_cred_free(&ks);
    CHECK_EQ_INT(pki_load_pkcs12(p12, "nope", &ks, &err), -1);
    CHECK(err && strstr(err, "wrong password") && strstr(err, p12) && !strstr(err, "nope"));
    CHECK_EQ_INT(pki_load_pkcs12(e12, NULL, &ks, &err), 0);
    if (err && ks.n_certs == 0) printf("  %s\n", err);
    CHECK(ks.n_certs == 2 && ks.key != NULL);
    pki_cred_free(&ks);
    char *crt = in_dir("ca.crt");
    CHECK_EQ_INT(pki_load_pkcs12(crt, "x", &ks, &err), -1);
    CHECK(err && strstr(err, "not a PKCS#12"));
    pki_cred_free(&ca);
    pki_cred_free(&leaf);
    free(p12), free(e12), free(crt), free(err);
}

/* ------------------------------------------------------------------------ */
/* Fetching */

TEST(host_port_parsing)
{
    char *h = NULL, *p = NULL, *err = NULL;
    CHECK_EQ_INT(pki_parse_hostport("example.com:9243", "9200", &h, &p, &err), 0);
    CHECK_EQ_STR(h, "example.com");
    CHECK_EQ_STR(p, "9243");
    free(h), free(p);
    CHECK_EQ_INT(pki_parse_hostport("[::1]:9200", "9200", &h, &p, &err), 0);
    CHECK_EQ_STR(h, "::1");
    CHECK_EQ_STR(p, "9200");
    free(h), free(p);
    CHECK_EQ_INT(pki_parse_hostport("10.0.0.1", "9200", &h, &p, &err), 0);
    CHECK_EQ_STR(h, "10.0.0.1");
    CHECK_EQ_STR(p, "9200");
    free(h), free(p);
    CHECK_EQ_INT(pki_parse_hostport("https://es.local:443/_cluster/health", "9200", &h, &p, &err), 0);
    CHECK_EQ_STR(h, "es.local");
    CHECK_EQ_STR(p, "443");
    free(h), free(p);
    CHECK_EQ_INT(pki_parse_hostport("[fe80::1]", "9200", &h, &p, &err), 0);
    CHECK_EQ_STR(p, "9200");
    free(h), free(p);
    const char *bad[] = { "::1:9200", "host:0", "host:70000", "host:x", "[::1", "[nothost]:1", ":9200",
                          "http://x:1", "" };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = pki_parse_hostport(bad[i], "9200", &h, &p, &err);
        if (rc != -1) UNIT_FAIL("\"%s\" was accepted", bad[i]);
        if (rc == 0) free(h), free(p);
    }
    CHECK(pki_parse_hostport("::1:9200", "9200", &h, &p, &err) == -1 && strstr(err, "brackets"));
    CHECK(pki_host_is_ip("::1") && pki_host_is_ip("127.0.0.1") && !pki_host_is_ip("localhost"));
    free(err);
}

TEST(fetch_chain_from_openssl_s_server)
{
    if (!have_tool("openssl")) {
        printf("  (openssl not installed: skipped)\n");
        return;
    }
    pki_cred ca = { 0 }, leaf = { 0 };
    CHECK(make_pki_files(&ca, &leaf));
    char *leafp = in_dir("leaf.crt"), *cap = in_dir("ca.crt"), *keyp = in_dir("http.key");
    char *chainp = in_dir("http.crt");
    server s;
    const char *extra[] = { "-cert", leafp, "-cert_chain", cap, "-key", keyp, NULL };
    CHECK(start_s_server(&s, AF_INET, extra));
    if (!s.pid) goto out;
    char port[16];
    snprintf(port, sizeof port, "%d", s.port);

    /* Library: the chain as served, byte for byte. */
    pki_cred got = { 0 };
    char *err = NULL;
    pki_fetch_opts fo = { NULL, 5000 };
    CHECK_EQ_INT(pki_fetch_chain("127.0.0.1", port, &fo, &got, &err), 0);
    if (err) printf("  %s\n", err);
    CHECK_EQ_INT(got.n_certs, 2);
    if (got.n_certs == 2) {
        CHECK(same_der(got.certs[0], leaf.certs[0]));
        CHECK(same_der(got.certs[1], ca.certs[0]));
        CHECK(!pki_is_self_signed(got.certs[0]) && pki_is_self_signed(got.certs[1]));
    }
    pki_cred_free(&got);
    /* By name too (SNI "localhost" sent). */
    CHECK_EQ_INT(pki_fetch_chain("localhost", port, &fo, &got, &err), 0);
    CHECK_EQ_INT(got.n_certs, 2);
    pki_cred_free(&got);

    /* Command line: full chain to a file equals http.crt after normalization. */
    char *target = xasprintf("127.0.0.1:%d", s.port), *outp = in_dir("fetched.pem"),
         *cao = in_dir("fetched-ca.pem"), *o = NULL, *e = NULL;
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", target, "-o", outp, NULL }, &o, &e), 0);
    char *n1 = normalized_pem(outp), *n2 = normalized_pem(chainp);
    CHECK(n1 && n2 && strcmp(n1, n2) == 0);
    size_t len;
    char *raw = read_all(outp, &len);
    CHECK(raw && n2 && strcmp(raw, n2) == 0); /* already normalized: exactly the served PEM */
    free(raw);
    CHECK(e && strstr(e, "self-signed root CA") && strstr(e, "SHA-256") && strstr(e, "DNS:localhost"));
    char colon[96], hex[65];
    pki_fingerprint_sha256(ca.certs[0], colon, hex);
    CHECK(e && strstr(e, colon) && strstr(e, hex));
    free(n1), free(o), free(e);

    /* --ca-only: just the root, to standard output when no -o. */
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", target, "--ca-only", NULL }, &o, &e), 0);
    char *ca_norm = normalized_pem(cap);
    CHECK(o && ca_norm && strcmp(o, ca_norm) == 0);
    free(o), free(e);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", target, "--ca-only", "-o", cao, NULL },
                          NULL, NULL),
                 0);
    char *n3 = normalized_pem(cao);
    CHECK(n3 && ca_norm && strcmp(n3, ca_norm) == 0);
    free(n3);

    /* The operator's check: curl trusts the server with the fetched CA. */
    if (have_tool("curl")) {
        char *cmd = xasprintf("curl -sS -o /dev/null -w '%%{http_code}' --max-time 10 --cacert %s "
                              "https://localhost:%d/",
                              cao, s.port);
        int status;
        char *line = run_line(cmd, &status);
        CHECK_EQ_INT(status, 0);
        CHECK(line && strcmp(line, "200") == 0);
        free(line), free(cmd);
    }
    stop_server(&s);
    free(target), free(outp), free(cao), free(n2), free(ca_norm), free(err);
out:
    pki_cred_free(&ca);
    pki_cred_free(&leaf);
    free(leafp), free(cap), free(keyp), free(chainp);
}

TEST(fetch_sends_servername_and_handles_ipv6)
{
    if (!have_tool("openssl")) {
        printf("  (openssl not installed: skipped)\n");
        return;
    }
    pki_cred ca = { 0 }, leaf = { 0 };
    CHECK(make_pki_files(&ca, &leaf));
    char *cmd = xasprintf("cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout alt.key "
                          "-out alt.crt -subj /CN=alt.example -days 2 >/dev/null 2>&1",
                          g_dir);
    CHECK_EQ_INT(system(cmd), 0);
    free(cmd);
    char *leafp = in_dir("leaf.crt"), *cap = in_dir("ca.crt"), *keyp = in_dir("http.key"),
         *altc = in_dir("alt.crt"), *altk = in_dir("alt.key");
    const char *extra[] = { "-cert", leafp, "-cert_chain", cap, "-key", keyp, "-servername",
                            "alt.example", "-cert2", altc, "-key2", altk, NULL };
    int fd6 = socket(AF_INET6, SOCK_STREAM, 0);
    bool v6 = fd6 >= 0 && free_port(AF_INET6) > 0;
    if (fd6 >= 0) close(fd6);
    int family = v6 ? AF_INET6 : AF_INET;
    server s;
    CHECK(start_s_server(&s, family, extra));
    if (s.pid) {
        char *target = xasprintf(v6 ? "[::1]:%d" : "127.0.0.1:%d", s.port);
        char *o = NULL, *e = NULL;
        /* Without SNI (an IP literal): the default certificate. */
        CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", target, NULL }, &o, &e), 0);
        CHECK(e && strstr(e, "CN=localhost"));
        free(o), free(e);
        /* With --servername: the certificate for that name. */
        CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", target, "--servername",
                                                "alt.example", "--ca-only", NULL },
                              &o, &e),
                     0);
        char *alt = normalized_pem(altc);
        CHECK(o && alt && strcmp(o, alt) == 0);
        CHECK(e && strstr(e, "CN=alt.example"));
        free(alt), free(o), free(e), free(target);
        if (!v6) printf("  (no IPv6 loopback: tested on 127.0.0.1)\n");
        stop_server(&s);
    }
    pki_cred_free(&ca);
    pki_cred_free(&leaf);
    free(leafp), free(cap), free(keyp), free(altc), free(altk);
}

static void *plain_http_server(void *arg)
{
    int lfd = *(int *)arg;
    int c = accept(lfd, NULL, NULL);
    if (c >= 0) {
        char tmp[512];
        (void)!read(c, tmp, sizeof tmp);
        const char resp[] = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        (void)!write(c, resp, sizeof resp - 1);
        close(c);
    }
    return NULL;
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, 4) != 0) return -1;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

TEST(fetch_failures_are_clear)
{
    char *err = NULL;
    pki_cred got = { 0 };
    pki_fetch_opts fo = { NULL, 1000 };
    /* A dead port. */
    int dead = free_port(AF_INET);
    char port[16];
    snprintf(port, sizeof port, "%d", dead);
    CHECK_EQ_INT(pki_fetch_chain("127.0.0.1", port, &fo, &got, &err), -1);
    CHECK(err && strstr(err, "cannot connect") && strstr(err, port) && strstr(err, "refused"));
    char *target = xasprintf("127.0.0.1:%d", dead), *o = NULL, *e = NULL;
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", target, NULL }, &o, &e), 1);
    CHECK(e && strstr(e, "ferry cert fetch: cannot connect"));
    CHECK(o && !*o);
    free(o), free(e), free(target);

    /* A listener that never speaks: the handshake times out. */
    int lport;
    int lfd = listen_loopback(&lport);
    CHECK(lfd >= 0);
    snprintf(port, sizeof port, "%d", lport);
    int64_t t0 = mono_nanos();
    CHECK_EQ_INT(pki_fetch_chain("127.0.0.1", port, &fo, &got, &err), -1);
    int64_t ms = (mono_nanos() - t0) / 1000000;
    CHECK(err && strstr(err, "timed out"));
    CHECK(ms >= 900 && ms < 5000);
    close(lfd);

    /* Plain HTTP on the port. */
    lfd = listen_loopback(&lport);
    snprintf(port, sizeof port, "%d", lport);
    pthread_t th;
    pthread_create(&th, NULL, plain_http_server, &lfd);
    CHECK_EQ_INT(pki_fetch_chain("127.0.0.1", port, &fo, &got, &err), -1);
    CHECK(err && strstr(err, "TLS handshake"));
    pthread_join(th, NULL);
    close(lfd);

    free(err);
}

/* ------------------------------------------------------------------------ */
/* Command line: ca and http */

TEST(cli_ca_and_http)
{
    char *dir = in_dir("cli"), *o = NULL, *e = NULL;
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "ca", "--out", dir, "--days", "30", "--cn",
                                            "Cli CA", NULL },
                          &o, &e),
                 0);
    char *cacrt = in_dir("cli/ca.crt"), *cakey = in_dir("cli/ca.key");
    struct stat st;
    CHECK(stat(cacrt, &st) == 0 && (st.st_mode & 07777) == 0644);
    CHECK(stat(cakey, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK(o && strstr(o, "CN=Cli CA"));
    free(o), free(e);

    /* Refuses to overwrite without --force (exit 1), and leaves the files alone. */
    size_t l1, l2;
    char *k1 = read_all(cakey, &l1);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "ca", "--out", dir, NULL }, &o, &e), 1);
    CHECK(e && strstr(e, "already exists") && strstr(e, "--force"));
    char *k2 = read_all(cakey, &l2);
    CHECK(k1 && k2 && l1 == l2 && memcmp(k1, k2, l1) == 0);
    free(k1), free(k2), free(o), free(e);

    /* -o PREFIX */
    char *prefix = in_dir("cli/other"), *pcrt = in_dir("cli/other.crt"), *pkey = in_dir("cli/other.key");
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "ca", "-o", prefix, "--key-type", "ecdsa", NULL },
                          NULL, NULL),
                 0);
    CHECK(access(pcrt, F_OK) == 0 && access(pkey, F_OK) == 0);

    /* http: chain + key, SANs as asked. */
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "http", "--ca", cacrt, "--ca-key", cakey,
                                            "--dns", "localhost,node.example", "--ip", "127.0.0.1",
                                            "--ip", "::1", "--out", dir, NULL },
                          &o, &e),
                 0);
    if (e && *e) printf("  %s", e);
    free(o), free(e);
    char *hcrt = in_dir("cli/http.crt"), *hkey = in_dir("cli/http.key"), *err = NULL;
    CHECK(stat(hkey, &st) == 0 && (st.st_mode & 07777) == 0600);
    pki_cred h = { 0 }, ca = { 0 };
    CHECK_EQ_INT(pki_load_pem(hcrt, hkey, NULL, &h, &err), 0);
    CHECK_EQ_INT(pki_load_certs(cacrt, &ca, &err), 0);
    CHECK_EQ_INT(h.n_certs, 2);
    if (h.n_certs == 2 && ca.n_certs == 1) {
        unsigned status = 1;
        CHECK(gnutls_x509_crt_list_verify(h.certs, 2, ca.certs, 1, NULL, 0, 0, &status) >= 0);
        CHECK_EQ_INT(status, 0);
        pki_cert_info in;
        CHECK_EQ_INT(pki_cert_describe(h.certs[0], &in, &err), 0);
        CHECK_EQ_INT(in.n_dns, 2);
        CHECK_EQ_INT(in.n_ips, 2);
        CHECK_EQ_STR(in.subject, "CN=localhost");
        pki_cert_info_free(&in);
    }
    pki_cred_free(&h);
    pki_cred_free(&ca);

    /* An encrypted CA key, read with --ca-pass-file; the http key encrypted with --pass-file. */
    char *edir = in_dir("enc"), *pf = in_dir("pass.txt"), *ecrt = in_dir("enc/ca.crt"),
         *ekey = in_dir("enc/ca.key"), *ehkey = in_dir("enc/http.key");
    write_all_file(pf, "correct horse\n");
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "ca", "--out", edir, "--pass-file", pf, NULL },
                          NULL, NULL),
                 0);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "http", "--ca", ecrt, "--ca-key", ekey, "--out",
                                            edir, NULL },
                          &o, &e),
                 1);
    CHECK(e && strstr(e, "encrypted"));
    free(o), free(e);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "http", "--ca", ecrt, "--ca-key", ekey,
                                            "--ca-pass-file", pf, "--pass-file", pf, "--dns",
                                            "x.example", "--out", edir, NULL },
                          NULL, &e),
                 0);
    if (e && *e) printf("  %s", e);
    free(e);
    gnutls_x509_privkey_t k = NULL;
    CHECK_EQ_INT(pki_load_key(ehkey, "correct horse", &k, &err), 0);
    if (k) gnutls_x509_privkey_deinit(k);

    /* Usage errors exit 2; help exits 0. */
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", NULL }, NULL, NULL), 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "--help", NULL }, NULL, NULL), 0);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "bogus", NULL }, NULL, NULL), 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", NULL }, NULL, NULL), 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", "--help", NULL }, &o, NULL), 0);
    CHECK(o && strstr(o, "--ca-only"));
    free(o);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", "::1:9200", NULL }, NULL, NULL), 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "fetch", "h:1", "--timeout", NULL }, NULL, NULL), 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "ca", "--help", NULL }, NULL, NULL), 0);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "ca", "--days", "0", NULL }, NULL, NULL), 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "ca", "--days", "x", NULL }, NULL, NULL), 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "ca", "--bogus", NULL }, NULL, NULL), 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "http", "--help", NULL }, NULL, NULL), 0);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "http", "--dns", "x", NULL }, NULL, &e), 2);
    CHECK(e && strstr(e, "--ca and --ca-key are required"));
    free(e);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "http", "--ca", cacrt, "--ca-key", cakey, "--ip",
                                            "999.1.1.1", NULL },
                          NULL, NULL),
                 2);
    CHECK_EQ_INT(run_cert((const char *[]){ "cert", "http", "--ca", cacrt, "--ca-key", cakey, "--dns",
                                            "bad name", NULL },
                          NULL, NULL),
                 2);
    free(dir), free(cacrt), free(cakey), free(prefix), free(pcrt), free(pkey), free(hcrt), free(hkey);
    free(edir), free(pf), free(ecrt), free(ekey), free(ehkey), free(err);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof g_dir, "/tmp/ferry-pki-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(ca_generation);
    RUN(http_cert_rsa_verifies_against_ca);
    RUN(http_cert_ecdsa_verifies_against_ca);
    RUN(http_cert_rejects_bad_input);
    RUN(pem_files_modes_and_round_trip);
    RUN(encrypted_keys);
    RUN(fingerprints_and_openssl_agree);
    RUN(self_signed_detection);
    RUN(pkcs12_keystores);
    RUN(host_port_parsing);
    RUN(fetch_chain_from_openssl_s_server);
    RUN(fetch_sends_servername_and_handles_ipv6);
    RUN(fetch_failures_are_clear);
    RUN(cli_ca_and_http);
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return unit_report();
}
