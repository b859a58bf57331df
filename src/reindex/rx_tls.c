/*
 * rx_tls.c — the reindex.ssl.* settings as libcurl (GnuTLS) options: trusted
 * CAs (PEM files, or the system store), verification mode, client
 * certificate and key, protocol versions. The files are checked (parsed with
 * pki) and re-read whenever they change on disk; every remote reindex takes
 * the configuration current when it starts. Failed transfers are explained
 * in plain words (untrusted CA, hostname mismatch with the certificate's
 * names, no protocol in common) with Elasticsearch's exception type names.
 */
#include "reindex/reindex_int.h"

#include "pki/pki.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SSL_PREFIX "reindex.ssl."

typedef struct file_sig {
    char *path;
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_sig;

struct rx_tls_state {
    pthread_mutex_t mu;
    rx_verify verify;
    char **ca;                  /* absolute paths */
    size_t n_ca;
    char *cert, *key, *pass;
    long sslversion;
    char *protocols_desc;
    char *config_error;         /* a problem with the settings themselves */
    file_sig *sigs;
    size_t n_sigs;
    rx_tls *cur;
};

static void sig_take(file_sig *s)
{
    struct stat st;
    if (stat(s->path, &st) == 0) {
        s->exists = true;
        s->dev = st.st_dev;
        s->ino = st.st_ino;
        s->size = st.st_size;
        s->mtime = st.st_mtim;
    } else {
        s->exists = false;
    }
}

static bool sig_same(const file_sig *a, const file_sig *b)
{
    return a->exists == b->exists && (!a->exists || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                                                     a->mtime.tv_sec == b->mtime.tv_sec &&
                                                     a->mtime.tv_nsec == b->mtime.tv_nsec));
}

static void add_sig(rx_tls_state *st, const char *path)
{
    st->sigs = xrealloc(st->sigs, (st->n_sigs + 1) * sizeof *st->sigs);
    st->sigs[st->n_sigs] = (file_sig){ .path = xstrdup(path) };
    sig_take(&st->sigs[st->n_sigs]);
    st->n_sigs++;
}

static long tls_version_bits(const char *p, int *rank)
{
    if (!strcmp(p, "TLSv1.3")) return *rank = 3, 0;
    if (!strcmp(p, "TLSv1.2")) return *rank = 2, 0;
    if (!strcmp(p, "TLSv1.1")) return *rank = 1, 0;
    if (!strcmp(p, "TLSv1")) return *rank = 0, 0;
    return -1;
}

rx_tls_state *rx_tls_state_new(const config *cfg)
{
    rx_tls_state *st = xcalloc(1, sizeof *st);
    pthread_mutex_init(&st->mu, NULL);
    const char *vm = config_str(cfg, SSL_PREFIX "verification_mode");
    st->verify = !vm || !strcmp(vm, "full") ? RX_VERIFY_FULL : !strcmp(vm, "certificate") ? RX_VERIFY_CERTIFICATE
                                                                                           : RX_VERIFY_NONE;
    size_t n = 0;
    const char *const *cas = config_list(cfg, SSL_PREFIX "certificate_authorities", &n);
    for (size_t i = 0; i < n; i++) {
        if (!cas[i] || !*cas[i]) continue;
        st->ca = xrealloc(st->ca, (st->n_ca + 1) * sizeof *st->ca);
        st->ca[st->n_ca++] = config_resolve_path(cfg, cas[i]);
    }
    if (config_str(cfg, SSL_PREFIX "certificate")) st->cert = config_resolve_path(cfg, config_str(cfg, SSL_PREFIX "certificate"));
    if (config_str(cfg, SSL_PREFIX "key")) st->key = config_resolve_path(cfg, config_str(cfg, SSL_PREFIX "key"));
    const char *pp = config_str(cfg, SSL_PREFIX "key_passphrase");
    if (pp) st->pass = xstrdup(pp);
    if ((st->cert != NULL) != (st->key != NULL))
        st->config_error = xasprintf("failed to load SSL configuration [reindex.ssl]: [%s%s] is set but [%s%s] is not",
                                     SSL_PREFIX, st->cert ? "certificate" : "key", SSL_PREFIX,
                                     st->cert ? "key" : "certificate");
    size_t np = 0;
    const char *const *protos = config_list(cfg, SSL_PREFIX "supported_protocols", &np);
    int lo = 99, hi = -1;
    buf desc = { 0 };
    for (size_t i = 0; i < np; i++) {
        int rank;
        if (tls_version_bits(protos[i], &rank) < 0) continue;
        if (rank < lo) lo = rank;
        if (rank > hi) hi = rank;
        buf_printf(&desc, "%s%s", desc.len ? ", " : "", protos[i]);
    }
    if (hi < 0) {
        lo = 2;
        hi = 3;
        buf_puts(&desc, "TLSv1.3, TLSv1.2");
    }
    static const long mins[] = { CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_TLSv1_1, CURL_SSLVERSION_TLSv1_2,
                                 CURL_SSLVERSION_TLSv1_3 };
    static const long maxs[] = { CURL_SSLVERSION_MAX_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_1, CURL_SSLVERSION_MAX_TLSv1_2,
                                 CURL_SSLVERSION_MAX_TLSv1_3 };
    st->sslversion = mins[lo] | maxs[hi];
    st->protocols_desc = buf_detach(&desc, NULL);
    return st;
}

static void tls_free(rx_tls *t)
{
    if (t->ca_temp) unlink(t->ca_temp);
    free(t->ca_temp);
    free(t->ca_file);
    free(t->ca_desc);
    free(t->cert_file);
    free(t->key_file);
    if (t->key_pass) explicit_bzero(t->key_pass, strlen(t->key_pass));
    free(t->key_pass);
    free(t->protocols_desc);
    free(t->error);
    free(t);
}

void rx_tls_release(rx_tls *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1) tls_free(t);
}

void rx_tls_state_free(rx_tls_state *st)
{
    if (!st) return;
    rx_tls_release(st->cur);
    for (size_t i = 0; i < st->n_ca; i++) free(st->ca[i]);
    free(st->ca);
    free(st->cert);
    free(st->key);
    if (st->pass) explicit_bzero(st->pass, strlen(st->pass));
    free(st->pass);
    free(st->protocols_desc);
    free(st->config_error);
    for (size_t i = 0; i < st->n_sigs; i++) free(st->sigs[i].path);
    free(st->sigs);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* A private copy of several CA files in one (curl with GnuTLS reads one CA file). */
static char *combine_cas(char *const *paths, size_t n, char **err)
{
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
    char *tmpl = xasprintf("%s/ferry-reindex-ca-XXXXXX", tmpdir);
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        *err = xasprintf("cannot create a temporary CA file in [%s]: %s", tmpdir, strerror(errno));
        free(tmpl);
        return NULL;
    }
    fchmod(fd, 0600);
    for (size_t i = 0; i < n; i++) {
        pki_cred c = { 0 };
        char *e = NULL;
        if (pki_load_certs(paths[i], &c, &e) == 0) {
            char *pem = NULL;
            size_t pl = 0;
            if (pki_certs_to_pem(c.certs, c.n_certs, &pem, &pl, &e) == 0) {
                size_t off = 0;
                while (off < pl) {
                    ssize_t w = write(fd, pem + off, pl - off);
                    if (w <= 0) break;
                    off += (size_t)w;
                }
                free(pem);
            }
        }
        free(e);
        pki_cred_free(&c);
    }
    close(fd);
    return tmpl;
}

static rx_tls *build(rx_tls_state *st)
{
    rx_tls *t = xcalloc(1, sizeof *t);
    atomic_init(&t->refs, 1);
    t->verify = st->verify;
    t->sslversion = st->sslversion;
    t->protocols_desc = xstrdup(st->protocols_desc);
    if (st->config_error) {
        t->error = xstrdup(st->config_error);
        return t;
    }
    buf desc = { 0 };
    for (size_t i = 0; i < st->n_ca; i++) {
        pki_cred c = { 0 };
        char *e = NULL;
        if (pki_load_certs(st->ca[i], &c, &e)) {
            t->error = xasprintf("failed to load SSL configuration [reindex.ssl]: cannot read configured "
                                 "[reindex.ssl.certificate_authorities] file [%s]: %s",
                                 st->ca[i], e ? e : "unreadable");
            free(e);
            pki_cred_free(&c);
            buf_free(&desc);
            return t;
        }
        if (!c.n_certs) {
            t->error = xasprintf("failed to load SSL configuration [reindex.ssl]: "
                                 "[reindex.ssl.certificate_authorities] file [%s] holds no certificate",
                                 st->ca[i]);
            pki_cred_free(&c);
            buf_free(&desc);
            return t;
        }
        pki_cred_free(&c);
        buf_printf(&desc, "%s%s", desc.len ? ", " : "", st->ca[i]);
    }
    if (st->n_ca) t->ca_desc = buf_detach(&desc, NULL);
    buf_free(&desc);
    if (st->n_ca == 1) {
        t->ca_file = xstrdup(st->ca[0]);
    } else if (st->n_ca > 1) {
        char *e = NULL;
        t->ca_temp = combine_cas(st->ca, st->n_ca, &e);
        if (!t->ca_temp) {
            t->error = xasprintf("failed to load SSL configuration [reindex.ssl]: %s", e);
            free(e);
            return t;
        }
        t->ca_file = xstrdup(t->ca_temp);
    }
    if (st->cert) {
        pki_cred c = { 0 };
        char *e = NULL;
        if (pki_load_pem(st->cert, st->key, st->pass, &c, &e)) {
            t->error = xasprintf("failed to load SSL configuration [reindex.ssl]: cannot use the client certificate "
                                 "[%s] with key [%s]: %s",
                                 st->cert, st->key, e ? e : "unreadable");
            free(e);
            pki_cred_free(&c);
            return t;
        }
        pki_cred_free(&c);
        t->cert_file = xstrdup(st->cert);
        t->key_file = xstrdup(st->key);
        if (st->pass) t->key_pass = xstrdup(st->pass);
    }
    return t;
}

rx_tls *rx_tls_current(rx_tls_state *st)
{
    pthread_mutex_lock(&st->mu);
    bool changed = st->cur == NULL;
    if (!changed) {
        for (size_t i = 0; i < st->n_sigs; i++) {
            file_sig now = { .path = st->sigs[i].path };
            sig_take(&now);
            if (!sig_same(&now, &st->sigs[i])) changed = true;
        }
    }
    if (changed) {
        for (size_t i = 0; i < st->n_sigs; i++) free(st->sigs[i].path);
        free(st->sigs);
        st->sigs = NULL;
        st->n_sigs = 0;
        for (size_t i = 0; i < st->n_ca; i++) add_sig(st, st->ca[i]);
        if (st->cert) add_sig(st, st->cert);
        if (st->key) add_sig(st, st->key);
        rx_tls *fresh = build(st);
        if (st->cur && fresh->error && (!st->cur->error || strcmp(st->cur->error, fresh->error)))
            log_error("reindex", "%s", fresh->error);
        else if (!st->cur && fresh->error)
            log_error("reindex", "%s", fresh->error);
        else if (st->cur)
            log_info("reindex", "reindex.ssl files changed on disk: reloaded");
        rx_tls_release(st->cur);
        st->cur = fresh;
    }
    rx_tls *t = st->cur;
    atomic_fetch_add(&t->refs, 1);
    pthread_mutex_unlock(&st->mu);
    return t;
}

/* ======================================================================== */
/* Explaining failed transfers                                              */

static void set_typed(es_err *err, const char *type_name, int status, const char *fmt, ...) FERRY_PRINTF(4, 5);
static void set_typed(es_err *err, const char *type_name, int status, const char *fmt, ...)
{
    buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    es_err_set(err, ES_INTERNAL, "%s", b.p);
    err->type_name = type_name;
    err->status = status;
    buf_free(&b);
}

/* The names a server's certificate carries (fetched again without verification). */
static char *server_names(const rx_host *h)
{
    char host[256];
    snprintf(host, sizeof host, "%s", h->host);
    if (host[0] == '[') {
        size_t n = strlen(host);
        memmove(host, host + 1, n);
        char *close = strchr(host, ']');
        if (close) *close = 0;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", h->port);
    pki_cred c = { 0 };
    char *e = NULL;
    pki_fetch_opts o = { .timeout_ms = 5000 };
    char *names = NULL;
    if (pki_fetch_chain(host, port, &o, &c, &e) == 0 && c.n_certs) {
        pki_cert_info info = { 0 };
        if (pki_cert_describe(c.certs[0], &info, &e) == 0) {
            buf b = { 0 };
            for (size_t i = 0; i < info.n_dns; i++) buf_printf(&b, "%s%s", b.len ? ", " : "", info.dns[i]);
            for (size_t i = 0; i < info.n_ips; i++) buf_printf(&b, "%s%s", b.len ? ", " : "", info.ips[i]);
            if (!b.len) buf_printf(&b, "no subject alternative name; subject %s", info.subject ? info.subject : "?");
            names = pki_printable(b.p, b.len);
            buf_free(&b);
            pki_cert_info_free(&info);
        }
    }
    free(e);
    pki_cred_free(&c);
    return names;
}

void rx_tls_explain(const rx_tls *tls, const rx_host *h, CURLcode code, const char *curl_msg, bool nothing_back,
                    es_err *err, rx_net *kind)
{
    const char *msg = curl_msg && *curl_msg ? curl_msg : curl_easy_strerror(code);
    char target[300];
    snprintf(target, sizeof target, "%s:%d", h->host, h->port);
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        *kind = RXN_CONNECT;
        set_typed(err, "unknown_host_exception", 500, "%s: Name or service not known", h->host);
        return;
    case CURLE_COULDNT_CONNECT:
        *kind = RXN_CONNECT;
        set_typed(err, "connect_exception", 500, "Connection refused (connecting to [%s]: %s)", target, msg);
        return;
    case CURLE_OPERATION_TIMEDOUT:
        *kind = RXN_TIMEOUT;
        if (strstr(msg, "onnect") || strstr(msg, "Connection timed out"))
            set_typed(err, "connect_timeout_exception", 500, "Connect to [%s] timed out (%s)", target, msg);
        else
            set_typed(err, "socket_timeout_exception", 500, "timeout waiting for [%s] (%s)", target, msg);
        return;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        *kind = RXN_TLS;
        if (strstr(msg, "does not match") || strstr(msg, "subject name") || strstr(msg, "hostname")) {
            char *names = server_names(h);
            set_typed(err, "s_s_l_peer_unverified_exception", 500,
                      "Certificate for <%s> doesn't match any of the subject alternative names: [%s] "
                      "(reindex.ssl.verification_mode is [full]: the host in source.remote.host must be one of the "
                      "certificate's names; use a name it carries, or verification_mode [certificate] to check the "
                      "chain only)",
                      h->host, names ? names : "unknown");
            free(names);
        } else if (code == CURLE_SSL_CACERT_BADFILE) {
            set_typed(err, "s_s_l_handshake_exception", 500, "cannot read the trusted CAs (%s): %s",
                      tls->ca_desc ? tls->ca_desc : "system trust store", msg);
        } else {
            set_typed(err, "s_s_l_handshake_exception", 500,
                      "PKIX path building failed: the certificate chain presented by [%s] is not signed by a trusted "
                      "CA (trusted: %s%s%s); unable to find valid certification path to requested target [%s]",
                      target, tls->ca_desc ? "reindex.ssl.certificate_authorities [" : "the system trust store",
                      tls->ca_desc ? tls->ca_desc : "", tls->ca_desc ? "]" : "", msg);
        }
        return;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
        *kind = RXN_TLS;
        if (strstr(msg, "version") || strstr(msg, "protocol") || strstr(msg, "Protocol"))
            set_typed(err, "s_s_l_handshake_exception", 500,
                      "TLS handshake with [%s] failed: no protocol version in common (reindex.ssl.supported_protocols "
                      "[%s]): %s",
                      target, tls->protocols_desc ? tls->protocols_desc : "", msg);
        else if (strstr(msg, "unexpected TLS packet") || strstr(msg, "unexpected message") ||
                 strstr(msg, "TLS packet with unexpected length"))
            set_typed(err, "s_s_l_exception", 500,
                      "Unsupported or unrecognized SSL message from [%s] (does it serve plain HTTP? then use http:// "
                      "in source.remote.host): %s",
                      target, msg);
        else if (code == CURLE_SSL_CERTPROBLEM)
            set_typed(err, "s_s_l_exception", 500, "the client certificate (reindex.ssl.certificate) could not be used: %s",
                      msg);
        else
            set_typed(err, "s_s_l_handshake_exception", 500, "TLS handshake with [%s] failed: %s", target, msg);
        return;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        if (nothing_back && !strcmp(h->scheme, "https") && code != CURLE_PARTIAL_FILE) {
            /* A TLS 1.3 server that refuses the client certificate (or its absence) closes the
             * connection once the client has finished its side of the handshake. */
            *kind = RXN_TLS;
            set_typed(err, "s_s_l_handshake_exception", 500,
                      "the TLS connection to [%s] was closed by the remote before any answer (%s)%s", target, msg,
                      tls->cert_file ? "; it may not accept the client certificate of reindex.ssl.certificate"
                                     : "; if it requires client certificates, set reindex.ssl.certificate and "
                                       "reindex.ssl.key");
            return;
        }
        *kind = RXN_BROKEN;
        set_typed(err, "connection_closed_exception", 500, "Connection to [%s] closed unexpectedly: %s", target, msg);
        return;
    case CURLE_UNSUPPORTED_PROTOCOL:
        *kind = RXN_OTHER;
        set_typed(err, "illegal_argument_exception", 400, "unsupported scheme [%s] in source.remote.host: %s", h->scheme,
                  msg);
        return;
    case CURLE_WEIRD_SERVER_REPLY:
        *kind = RXN_BROKEN;
        set_typed(err, "exception", 500,
                  "Error parsing the response, remote is likely not an Elasticsearch instance ([%s] answered: %s)",
                  target, msg);
        return;
    default:
        *kind = RXN_OTHER;
        set_typed(err, "i_o_exception", 500, "request to [%s] failed: %s", target, msg);
        return;
    }
}
