/*
 * pki_fetch.c — obtain the certificate chain a TLS server presents, without
 * verifying it (as `openssl s_client -showcerts` does), with timeouts.
 */
#include "pki/pki.h"

#include "core/core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int fetch_fail(char **err, const char *fmt, ...) FERRY_PRINTF(2, 3);
static int fetch_fail(char **err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        buf b = { 0 };
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        free(*err);
        *err = buf_detach(&b, NULL);
    }
    return -1;
}

bool pki_host_is_ip(const char *host)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

static bool port_valid(const char *p)
{
    if (!*p || strlen(p) > 5) return false;
    long v = 0;
    for (const char *q = p; *q; q++) {
        if (*q < '0' || *q > '9') return false;
        v = v * 10 + (*q - '0');
    }
    return v >= 1 && v <= 65535;
}

int pki_parse_hostport(const char *s, const char *default_port, char **host, char **port,
                       char **err)
{
    *host = *port = NULL;
    if (!s || !*s) return fetch_fail(err, "no host given (expected HOST:PORT)");
    const char *in = s;
    if (strncasecmp(s, "https://", 8) == 0) s += 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        return fetch_fail(err, "\"%s\" is an http:// address; certificates need https://", in);
    size_t n = strcspn(s, "/?#");
    char *t = xstrndup(s, n);
    for (char *q = t; *q; q++)
        if (isspace((unsigned char)*q) || iscntrl((unsigned char)*q)) {
            free(t);
            return fetch_fail(err, "invalid address \"%s\" (expected HOST:PORT)", in);
        }
    char *h = NULL, *p = NULL;
    if (t[0] == '[') {
        char *close = strchr(t, ']');
        if (!close) goto bad;
        h = xstrndup(t + 1, (size_t)(close - t - 1));
        unsigned char a6[16];
        if (inet_pton(AF_INET6, h, a6) != 1) goto bad;
        if (close[1] == ':') p = xstrdup(close + 2);
        else if (close[1] == 0) p = xstrdup(default_port);
        else goto bad;
    } else {
        char *colon = strchr(t, ':');
        if (colon && strchr(colon + 1, ':')) {
            free(t);
            return fetch_fail(err, "\"%s\": write an IPv6 address in brackets, e.g. [::1]:9200", in);
        }
        if (colon) {
            h = xstrndup(t, (size_t)(colon - t));
            p = xstrdup(colon + 1);
        } else {
            h = xstrdup(t);
            p = xstrdup(default_port);
        }
    }
    if (!*h) goto bad;
    if (!port_valid(p)) {
        fetch_fail(err, "invalid port \"%s\" in \"%s\" (1 to 65535)", p, in);
        free(h);
        free(p);
        free(t);
        return -1;
    }
    free(t);
    *host = h;
    *port = p;
    return 0;
bad:
    free(h);
    free(p);
    free(t);
    return fetch_fail(err, "invalid address \"%s\" (expected HOST:PORT or [IPv6]:PORT)", in);
}

static int remaining_ms(int64_t deadline)
{
    int64_t left = (deadline - mono_nanos()) / 1000000;
    if (left <= 0) return 0;
    return left > 1000000 ? 1000000 : (int)left;
}

static void addr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
    char h[NI_MAXHOST], p[NI_MAXSERV];
    if (getnameinfo(sa, len, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, outlen, "?");
        return;
    }
    if (sa->sa_family == AF_INET6) snprintf(out, outlen, "[%s]:%s", h, p);
    else snprintf(out, outlen, "%s:%s", h, p);
}

/* Non-blocking connect with a timeout. Returns the socket or -1 with why. */
static int connect_timeout(const struct addrinfo *ai, int timeout_ms, buf *why)
{
    char at[NI_MAXHOST + NI_MAXSERV + 8];
    addr_text(ai->ai_addr, ai->ai_addrlen, at, sizeof at);
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        buf_printf(why, "%s%s: %s", why->len ? "; " : "", at, strerror(errno));
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno != EINPROGRESS && errno != EINTR) {
        buf_printf(why, "%s%s: %s", why->len ? "; " : "", at, strerror(errno));
        close(fd);
        return -1;
    }
    int64_t deadline = mono_nanos() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int r = poll(&pfd, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            buf_printf(why, "%s%s: connection timed out after %d ms", why->len ? "; " : "", at,
                       timeout_ms);
            close(fd);
            return -1;
        }
        if (r < 0) {
            buf_printf(why, "%s%s: %s", why->len ? "; " : "", at, strerror(errno));
            close(fd);
            return -1;
        }
        break;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) soerr = errno;
    if (soerr != 0) {
        buf_printf(why, "%s%s: %s", why->len ? "; " : "", at, strerror(soerr));
        close(fd);
        return -1;
    }
    return fd;
}

static bool not_tls_error(int ret)
{
    return ret == GNUTLS_E_UNEXPECTED_PACKET_LENGTH || ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
           ret == GNUTLS_E_UNEXPECTED_PACKET || ret == GNUTLS_E_RECORD_OVERFLOW ||
           ret == GNUTLS_E_DECRYPTION_FAILED;
}

/* TLS handshake on a connected socket; captures the peer certificates into out. */
static int tls_fetch(int fd, const char *where, const char *sni, int timeout_ms, pki_cred *out,
                     char **err)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_session_t s = NULL;
    int ret = gnutls_certificate_allocate_credentials(&cred);
    if (ret < 0) return fetch_fail(err, "cannot set up TLS: %s", gnutls_strerror(ret));
    ret = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
    if (ret < 0) {
        gnutls_certificate_free_credentials(cred);
        return fetch_fail(err, "cannot set up TLS: %s", gnutls_strerror(ret));
    }
    int rc = -1;
    /* No verification function and no trust store: the server's chain is
     * taken as presented, which is the whole point here. */
    if ((ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred)) < 0 ||
        ((ret = gnutls_priority_set_direct(s, "NORMAL:%COMPAT", NULL)) < 0 &&
         (ret = gnutls_set_default_priority(s)) < 0)) {
        fetch_fail(err, "cannot set up TLS: %s", gnutls_strerror(ret));
        goto done;
    }
    if (sni && *sni && (ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni))) < 0) {
        fetch_fail(err, "invalid server name \"%s\": %s", sni, gnutls_strerror(ret));
        goto done;
    }
    gnutls_transport_set_int(s, fd);

    int64_t deadline = mono_nanos() + (int64_t)timeout_ms * 1000000;
    int hs;
    for (;;) {
        hs = gnutls_handshake(s);
        if (hs == 0) break;
        if (hs == GNUTLS_E_AGAIN || hs == GNUTLS_E_INTERRUPTED) {
            struct pollfd pfd = { .fd = fd,
                                  .events = gnutls_record_get_direction(s) ? POLLOUT : POLLIN };
            int r = poll(&pfd, 1, remaining_ms(deadline));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                if (r == 0)
                    fetch_fail(err, "TLS handshake with %s timed out after %d ms (is it a TLS port?)",
                               where, timeout_ms);
                else
                    fetch_fail(err, "TLS handshake with %s: poll: %s", where, strerror(errno));
                hs = GNUTLS_E_TIMEDOUT;
                break;
            }
            continue;
        }
        if (!gnutls_error_is_fatal(hs)) continue; /* warning alerts */
        break;
    }

    unsigned n = 0;
    const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
    if (hs != 0 && (!peers || n == 0)) {
        if (hs == GNUTLS_E_TIMEDOUT) goto done; /* message set above */
        if (hs == GNUTLS_E_FATAL_ALERT_RECEIVED) {
            const char *alert = gnutls_alert_get_name(gnutls_alert_get(s));
            fetch_fail(err, "TLS handshake with %s failed: the server sent alert \"%s\"", where,
                       alert ? alert : "?");
        } else {
            fetch_fail(err, "TLS handshake with %s failed: %s%s", where, gnutls_strerror(hs),
                       not_tls_error(hs) ? " (is the server speaking TLS on that port?)" : "");
        }
        goto done;
    }
    if (!peers || n == 0) {
        fetch_fail(err, "the server at %s presented no certificate", where);
        goto done;
    }
    if (hs != 0)
        log_warn("pki", "TLS handshake with %s did not complete (%s), but the server had already "
                        "sent its certificates; using them",
                 where, gnutls_strerror(hs));
    pki_cred tmp = { 0 };
    for (unsigned i = 0; i < n; i++) {
        gnutls_x509_crt_t c;
        ret = gnutls_x509_crt_init(&c);
        if (ret >= 0) {
            ret = gnutls_x509_crt_import(c, &peers[i], GNUTLS_X509_FMT_DER);
            if (ret < 0) gnutls_x509_crt_deinit(c);
        }
        if (ret < 0) {
            pki_cred_free(&tmp);
            fetch_fail(err, "certificate %u sent by %s cannot be parsed: %s", i + 1, where,
                       gnutls_strerror(ret));
            goto done;
        }
        pki_cred_add(&tmp, c);
    }
    *out = tmp;
    rc = 0;
    if (hs == 0) (void)gnutls_bye(s, GNUTLS_SHUT_WR); /* non-blocking: best effort */
done:
    gnutls_deinit(s);
    gnutls_certificate_free_credentials(cred);
    return rc;
}

int pki_fetch_chain(const char *host, const char *port, const pki_fetch_opts *opts,
                    pki_cred *out, char **err)
{
    memset(out, 0, sizeof *out);
    int timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : PKI_FETCH_DEFAULT_TIMEOUT_MS;
    const char *sni = opts && opts->servername ? opts->servername
                      : pki_host_is_ip(host)    ? NULL
                                                : host;
    if (!port_valid(port)) return fetch_fail(err, "invalid port \"%s\" (1 to 65535)", port);

    struct addrinfo hints = { 0 }, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0)
        return fetch_fail(err, "cannot resolve \"%s\": %s", host,
                          g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));

    buf why = { 0 };
    int rc = -1;
    bool connected = false;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = connect_timeout(ai, timeout_ms, &why);
        if (fd < 0) continue;
        connected = true;
        char at[NI_MAXHOST + NI_MAXSERV + 8];
        addr_text(ai->ai_addr, ai->ai_addrlen, at, sizeof at);
        char *where = strcmp(host, at) == 0 || pki_host_is_ip(host)
                          ? xstrdup(at)
                          : xasprintf("%s (%s)", host, at);
        rc = tls_fetch(fd, where, sni, timeout_ms, out, err);
        free(where);
        close(fd);
        break; /* a TLS-level failure is the server's answer: do not try other addresses */
    }
    freeaddrinfo(res);
    if (!connected)
        fetch_fail(err, "cannot connect to %s%s%s:%s (%s)", strchr(host, ':') ? "[" : "", host,
                   strchr(host, ':') ? "]" : "", port, why.p ? why.p : "no address");
    buf_free(&why);
    return rc;
}
