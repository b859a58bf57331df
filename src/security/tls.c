/*
 * tls.c — HTTPS material from the xpack.security.http.ssl.* settings, and
 * Elasticsearch 8's first-start auto-configuration of it.
 */
#include "security/security_int.h"

#include "pki/pki.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SSL "xpack.security.http.ssl."

void security_tls_free(security_tls *t)
{
    free(t->cert_pem);
    if (t->key_pem) {
        explicit_bzero(t->key_pem, strlen(t->key_pem));
        free(t->key_pem);
    }
    free(t->trust_pem);
    free(t->priorities);
    memset(t, 0, sizeof *t);
}

static char *priorities_for(const config *cfg)
{
    size_t n;
    const char *const *v = config_list(cfg, SSL "supported_protocols", &n);
    buf b = { 0 };
    buf_puts(&b, "NORMAL:-VERS-ALL");
    bool t13 = false, t12 = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], "TLSv1.3") == 0) t13 = true;
        if (strcmp(v[i], "TLSv1.2") == 0) t12 = true;
    }
    if (!t13 && !t12) t13 = t12 = true; /* an empty list means the defaults */
    if (t13) buf_puts(&b, ":+VERS-TLS1.3");
    if (t12) buf_puts(&b, ":+VERS-TLS1.2");
    return buf_detach(&b, NULL);
}

int security_tls_load(const config *cfg, security_tls *out, char **err)
{
    memset(out, 0, sizeof *out);
    if (!config_bool(cfg, "xpack.security.enabled") || !config_bool(cfg, SSL "enabled")) return 0;

    const char *ks = config_str(cfg, SSL "keystore.path");
    const char *crt = config_str(cfg, SSL "certificate");
    const char *key = config_str(cfg, SSL "key");
    pki_cred cred = { 0 };
    char *perr = NULL;
    if (ks && (crt || key)) {
        *err = xasprintf("cannot specify both [" SSL "keystore.path] and [" SSL "certificate]/[" SSL "key]");
        return -1;
    }
    if (ks) {
        char *path = config_resolve_path(cfg, ks);
        int rc = pki_load_pkcs12(path, config_str(cfg, SSL "keystore.password"), &cred, &perr);
        free(path);
        if (rc < 0) goto pki_fail;
    } else if (crt && key) {
        char *cp = config_resolve_path(cfg, crt), *kp = config_resolve_path(cfg, key);
        int rc = pki_load_pem(cp, kp, config_str(cfg, SSL "key_passphrase"), &cred, &perr);
        free(cp);
        free(kp);
        if (rc < 0) goto pki_fail;
    } else {
        *err = xasprintf("invalid SSL configuration for " SSL "- server ssl configuration requires a key and "
                         "certificate, but these have not been configured; you must set either [" SSL
                         "keystore.path], or both [" SSL "key] and [" SSL "certificate]");
        return -1;
    }
    if (!cred.n_certs || !cred.key) {
        *err = xasprintf("the HTTPS certificate configured in " SSL "* holds no certificate or no key");
        pki_cred_free(&cred);
        return -1;
    }
    size_t len;
    if (pki_certs_to_pem(cred.certs, cred.n_certs, &out->cert_pem, &len, &perr) < 0 ||
        pki_key_to_pem(cred.key, NULL, &out->key_pem, &len, &perr) < 0)
        goto pki_fail;
    char colon[96];
    pki_fingerprint_sha256(cred.certs[cred.n_certs - 1], colon, out->ca_fingerprint);
    pki_cred_free(&cred);

    size_t nca;
    const char *const *cas = config_list(cfg, SSL "certificate_authorities", &nca);
    if (nca) {
        buf trust = { 0 };
        for (size_t i = 0; i < nca; i++) {
            char *path = config_resolve_path(cfg, cas[i]);
            pki_cred c = { 0 };
            int rc = pki_load_certs(path, &c, &perr);
            free(path);
            if (rc == 0) {
                char *pem;
                rc = pki_certs_to_pem(c.certs, c.n_certs, &pem, &len, &perr);
                if (rc == 0) {
                    buf_append(&trust, pem, len);
                    free(pem);
                }
            }
            pki_cred_free(&c);
            if (rc < 0) {
                buf_free(&trust);
                goto pki_fail;
            }
        }
        out->trust_pem = buf_detach(&trust, NULL);
    }
    const char *ca = config_str(cfg, SSL "client_authentication");
    out->client_auth = strcmp(ca, "required") == 0 ? 2 : strcmp(ca, "optional") == 0 ? 1 : 0;
    if (out->client_auth && !out->trust_pem) {
        *err = xasprintf("[" SSL "client_authentication] is [%s] but [" SSL "certificate_authorities] names no "
                         "certificate authority to verify client certificates with",
                         ca);
        security_tls_free(out);
        return -1;
    }
    out->priorities = priorities_for(cfg);
    return 0;

pki_fail:
    *err = xasprintf("cannot load the HTTPS configuration (" SSL "*): %s", perr ? perr : "unknown error");
    free(perr);
    pki_cred_free(&cred);
    security_tls_free(out);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Auto-configuration */

static const char *const ssl_keys[] = {
    SSL "enabled", SSL "certificate", SSL "key", SSL "key_passphrase", SSL "certificate_authorities",
    SSL "keystore.path", SSL "keystore.password", SSL "client_authentication", SSL "supported_protocols",
};

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

static void sl_add(strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) return;
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

static void sl_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static void add_host(strlist *dns, strlist *ips, const char *h)
{
    if (!h || !*h) return;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", h);
    if (tmp[0] == '[') {
        memmove(tmp, tmp + 1, strlen(tmp));
        char *rb = strchr(tmp, ']');
        if (rb) *rb = 0;
    }
    if (strcmp(tmp, "0.0.0.0") == 0 || strcmp(tmp, "::") == 0 || strcmp(tmp, "_site_") == 0) {
        /* Every address of this machine, as ES does for a wildcard bind. */
        struct ifaddrs *ifa = NULL;
        if (getifaddrs(&ifa) == 0) {
            for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
                    continue;
                char a[NI_MAXHOST];
                socklen_t sl = i->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                                  : sizeof(struct sockaddr_in6);
                if (getnameinfo(i->ifa_addr, sl, a, sizeof a, NULL, 0, NI_NUMERICHOST) != 0) continue;
                if (strchr(a, '%')) continue; /* link-local with a scope */
                sl_add(ips, a);
            }
            freeifaddrs(ifa);
        }
        return;
    }
    if (strcmp(tmp, "_local_") == 0) return;
    if (pki_host_is_ip(tmp)) sl_add(ips, tmp);
    else if (pki_dns_name_valid(tmp)) sl_add(dns, tmp);
}

static int mkdir_mode(const char *path, mode_t mode, char **err)
{
    if (mkdir(path, mode) != 0) {
        *err = xasprintf("cannot create [%s]: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int security_autoconfigure(const config *cfg, char **err)
{
    if (!config_bool(cfg, "xpack.security.enabled")) return 0;
    if (config_is_set(cfg, "xpack.security.enabled")) return 0; /* security configured by hand */
    if (!config_bool(cfg, "xpack.security.autoconfiguration.enabled")) return 0;
    for (size_t i = 0; i < ARRAY_LEN(ssl_keys); i++)
        if (config_is_set(cfg, ssl_keys[i])) return 0;

    char *certs = config_resolve_path(cfg, "certs");
    char *yml = config_resolve_path(cfg, "elasticsearch.yml");
    struct stat st;
    if (lstat(certs, &st) == 0) {
        *err = xasprintf("security auto-configuration: [%s] exists but elasticsearch.yml configures no HTTPS; "
                         "configure xpack.security.http.ssl.* or remove the folder",
                         certs);
        free(certs);
        free(yml);
        return -1;
    }

    /* SANs: loopback names and addresses, the host name, and where the node listens. */
    strlist dns = { 0 }, ips = { 0 };
    sl_add(&dns, "localhost");
    char hn[256] = "";
    if (gethostname(hn, sizeof hn - 1) == 0 && pki_dns_name_valid(hn)) sl_add(&dns, hn);
    sl_add(&ips, "127.0.0.1");
    sl_add(&ips, "::1");
    add_host(&dns, &ips, config_str(cfg, "network.host"));
    add_host(&dns, &ips, config_str(cfg, "http.host"));

    pki_cred ca = { 0 }, leaf = { 0 };
    char *perr = NULL;
    char *tmpdir = xasprintf("%s.tmp-%ld", certs, (long)getpid());
    char *p_cacrt = xasprintf("%s/http_ca.crt", tmpdir), *p_cakey = xasprintf("%s/http_ca.key", tmpdir);
    char *p_crt = xasprintf("%s/http.crt", tmpdir), *p_key = xasprintf("%s/http.key", tmpdir);
    int rc = -1;
    pki_cert_opts co = { .cn = hn[0] && pki_dns_name_valid(hn) ? hn : "localhost",
                         .dns = (const char *const *)dns.v, .n_dns = dns.n,
                         .ips = (const char *const *)ips.v, .n_ips = ips.n };
    if (pki_ca_generate(NULL, &ca, &perr) < 0 || pki_cert_generate(&co, &ca, &leaf, &perr) < 0) goto pki_fail;
    if (mkdir_mode(tmpdir, 0750, err) < 0) goto out;
    if (pki_write_certs(p_cacrt, ca.certs, ca.n_certs, false, &perr) < 0 ||
        pki_write_key(p_cakey, ca.key, NULL, false, &perr) < 0 ||
        pki_write_certs(p_crt, leaf.certs, leaf.n_certs, false, &perr) < 0 ||
        pki_write_key(p_key, leaf.key, NULL, false, &perr) < 0)
        goto pki_fail;
    if (rename(tmpdir, certs) != 0) {
        *err = xasprintf("cannot rename [%s] to [%s]: %s", tmpdir, certs, strerror(errno));
        goto out;
    }

    /* Append the settings block to elasticsearch.yml, as ES does. */
    char *old = NULL;
    size_t oldlen = 0;
    if (sec_read_file(yml, 1u << 24, &old, &oldlen, err) < 0) goto out;
    char date[64];
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    strftime(date, sizeof date, "%d-%m-%Y %H:%M:%S", &tmv);
    buf b = { 0 };
    if (old) buf_append(&b, old, oldlen);
    if (b.len && b.p[b.len - 1] != '\n') buf_putc(&b, '\n');
    if (b.len) buf_putc(&b, '\n');
    buf_printf(&b,
               "#----------------------- BEGIN SECURITY AUTO CONFIGURATION -----------------------\n"
               "#\n"
               "# The following settings, TLS certificates, and keys have been automatically\n"
               "# generated by ferry to configure security features on %s\n"
               "#\n"
               "# --------------------------------------------------------------------------------\n"
               "\n"
               "# Enable security features\n"
               "xpack.security.enabled: true\n"
               "\n"
               "# Enable encryption for HTTP API client connections\n"
               "xpack.security.http.ssl:\n"
               "  enabled: true\n"
               "  certificate: certs/http.crt\n"
               "  key: certs/http.key\n"
               "#----------------------- END SECURITY AUTO CONFIGURATION -------------------------\n",
               date);
    free(old);
    rc = sec_write_file(yml, b.p, b.len, 0660, err);
    buf_free(&b);
    if (rc == 0) {
        rc = 1;
        log_info("security", "security auto-configuration: generated a CA and an HTTP certificate in [%s] and "
                             "enabled HTTPS in [%s]",
                 certs, yml);
    }
    goto out;

pki_fail:
    *err = xasprintf("security auto-configuration failed: %s", perr ? perr : "unknown error");
    free(perr);
out:
    if (rc < 0) {
        unlink(p_cacrt);
        unlink(p_cakey);
        unlink(p_crt);
        unlink(p_key);
        rmdir(tmpdir);
    }
    pki_cred_free(&ca);
    pki_cred_free(&leaf);
    sl_free(&dns);
    sl_free(&ips);
    free(p_cacrt);
    free(p_cakey);
    free(p_crt);
    free(p_key);
    free(tmpdir);
    free(certs);
    free(yml);
    return rc;
}
