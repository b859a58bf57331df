/*
 * pki.c — certificate and key generation, PEM/PKCS#12 I/O and description.
 * The TLS fetch of a server's chain lives in pki_fetch.c.
 */
#include "pki/pki.h"

#include "core/core.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/pkcs12.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Small helpers */

static int pki_fail(char **err, const char *fmt, ...) FERRY_PRINTF(2, 3);
static int pki_fail(char **err, const char *fmt, ...)
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

void pki_cred_free(pki_cred *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n_certs; i++)
        if (c->certs[i]) gnutls_x509_crt_deinit(c->certs[i]);
    free(c->certs);
    if (c->key) gnutls_x509_privkey_deinit(c->key);
    memset(c, 0, sizeof *c);
}

void pki_cred_add(pki_cred *c, gnutls_x509_crt_t crt)
{
    c->certs = xrealloc(c->certs, (c->n_certs + 1) * sizeof *c->certs);
    c->certs[c->n_certs++] = crt;
}

static void wipe_datum(gnutls_datum_t *d)
{
    if (d->data) {
        explicit_bzero(d->data, d->size);
        gnutls_free(d->data);
    }
    d->data = NULL;
    d->size = 0;
}

int pki_crt_dup(gnutls_x509_crt_t src, gnutls_x509_crt_t *dst, char **err)
{
    gnutls_datum_t der = { NULL, 0 };
    int ret = gnutls_x509_crt_export2(src, GNUTLS_X509_FMT_DER, &der);
    if (ret < 0) return pki_fail(err, "cannot encode certificate: %s", gnutls_strerror(ret));
    gnutls_x509_crt_t c;
    ret = gnutls_x509_crt_init(&c);
    if (ret >= 0) {
        ret = gnutls_x509_crt_import(c, &der, GNUTLS_X509_FMT_DER);
        if (ret < 0) gnutls_x509_crt_deinit(c);
    }
    gnutls_free(der.data);
    if (ret < 0) return pki_fail(err, "cannot copy certificate: %s", gnutls_strerror(ret));
    *dst = c;
    return 0;
}

/* Reads a whole (regular, bounded) file. The buffer is NUL-terminated. */
static int read_whole_file(const char *path, const char *what, char **data, size_t *len,
                           char **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pki_fail(err, "cannot open %s %s: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return pki_fail(err, "cannot stat %s %s: %s", what, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pki_fail(err, "%s %s is not a regular file", what, path);
    }
    if (st.st_size > PKI_MAX_FILE_BYTES) {
        close(fd);
        return pki_fail(err, "%s %s is too large (%lld bytes; at most %d)", what, path,
                        (long long)st.st_size, PKI_MAX_FILE_BYTES);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *p = xmalloc(cap + 1);
    for (;;) {
        if (n == cap) { /* grew while reading */
            if (cap > PKI_MAX_FILE_BYTES) {
                explicit_bzero(p, n);
                free(p);
                close(fd);
                return pki_fail(err, "%s %s is too large (at most %d bytes)", what, path,
                                PKI_MAX_FILE_BYTES);
            }
            cap *= 2;
            p = xrealloc(p, cap + 1);
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            explicit_bzero(p, n);
            free(p);
            close(fd);
            return pki_fail(err, "cannot read %s %s: %s", what, path, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    p[n] = 0;
    *data = p;
    *len = n;
    return 0;
}

static void free_secret(char *p, size_t n)
{
    if (p) {
        explicit_bzero(p, n);
        free(p);
    }
}

/* ------------------------------------------------------------------------ */
/* Generation */

static int gen_key(pki_key_type type, gnutls_x509_privkey_t *out, char **err)
{
    gnutls_x509_privkey_t k;
    int ret = gnutls_x509_privkey_init(&k);
    if (ret < 0) return pki_fail(err, "cannot create private key: %s", gnutls_strerror(ret));
    if (type == PKI_KEY_ECDSA_P256)
        ret = gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
                                           GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
    else
        ret = gnutls_x509_privkey_generate(k, GNUTLS_PK_RSA, 2048, 0);
    if (ret < 0) {
        gnutls_x509_privkey_deinit(k);
        return pki_fail(err, "cannot generate %s key: %s",
                        type == PKI_KEY_ECDSA_P256 ? "ECDSA P-256" : "RSA 2048",
                        gnutls_strerror(ret));
    }
    *out = k;
    return 0;
}

/* Version, random serial, subject CN, validity, public key, subject key id. */
static int crt_base(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn, int days,
                    char **err)
{
    int ret;
    const char *step;
#define TRY(what, call)                 \
    do {                                \
        step = what;                    \
        if ((ret = (call)) < 0) goto fail; \
    } while (0)

    TRY("version", gnutls_x509_crt_set_version(crt, 3));

    /* 16 random bytes, high bit clear (positive) and the next one set (never
     * shorter): a 127-bit serial. */
    unsigned char serial[16];
    TRY("serial", gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial));
    serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
    TRY("serial", gnutls_x509_crt_set_serial(crt, serial, sizeof serial));

    TRY("subject", gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                                  (unsigned)strlen(cn)));
    /* Backdated five minutes so a client whose clock lags a little still accepts it. */
    time_t now = time(NULL);
    TRY("validity", gnutls_x509_crt_set_activation_time(crt, now - 300));
    TRY("validity", gnutls_x509_crt_set_expiration_time(crt, now + (time_t)days * 86400));
    TRY("public key", gnutls_x509_crt_set_key(crt, key));

    unsigned char id[64];
    size_t idlen = sizeof id;
    TRY("subject key identifier", gnutls_x509_privkey_get_key_id(key, 0, id, &idlen));
    TRY("subject key identifier", gnutls_x509_crt_set_subject_key_id(crt, id, idlen));
    return 0;
#undef TRY
fail:
    return pki_fail(err, "cannot set certificate %s: %s", step, gnutls_strerror(ret));
}

static int sign_crt(gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer, gnutls_x509_privkey_t key,
                    char **err)
{
    gnutls_privkey_t pk;
    int ret = gnutls_privkey_init(&pk);
    if (ret >= 0) {
        ret = gnutls_privkey_import_x509(pk, key, 0);
        if (ret >= 0) ret = gnutls_x509_crt_privkey_sign(crt, issuer, pk, GNUTLS_DIG_SHA256, 0);
        gnutls_privkey_deinit(pk);
    }
    if (ret < 0) return pki_fail(err, "cannot sign certificate: %s", gnutls_strerror(ret));
    return 0;
}

/* GnuTLS caches some extensions (the SANs) when a certificate is imported, not
 * when they are set: a freshly built certificate is re-read from its DER so
 * that every accessor (SANs, hostname checks) sees what was signed. */
static int reparse(gnutls_x509_crt_t *crt, char **err)
{
    gnutls_x509_crt_t fresh;
    if (pki_crt_dup(*crt, &fresh, err) < 0) return -1;
    gnutls_x509_crt_deinit(*crt);
    *crt = fresh;
    return 0;
}

static int check_days(int days, char **err)
{
    if (days > PKI_MAX_DAYS)
        return pki_fail(err, "validity of %d days is too long (at most %d)", days, PKI_MAX_DAYS);
    return 0;
}

int pki_ca_generate(const pki_ca_opts *opts, pki_cred *out, char **err)
{
    pki_ca_opts o = opts ? *opts : (pki_ca_opts){ 0 };
    if (!o.cn) o.cn = PKI_CA_DEFAULT_CN;
    if (o.days <= 0) o.days = PKI_CA_DEFAULT_DAYS;
    memset(out, 0, sizeof *out);
    if (!*o.cn) return pki_fail(err, "the CA's common name is empty");
    if (check_days(o.days, err) < 0) return -1;

    gnutls_x509_privkey_t key;
    if (gen_key(o.key_type, &key, err) < 0) return -1;
    gnutls_x509_crt_t crt;
    int ret = gnutls_x509_crt_init(&crt);
    if (ret < 0) {
        gnutls_x509_privkey_deinit(key);
        return pki_fail(err, "cannot create certificate: %s", gnutls_strerror(ret));
    }
    if (crt_base(crt, key, o.cn, o.days, err) < 0) goto fail;
    if ((ret = gnutls_x509_crt_set_basic_constraints(crt, 1, -1)) < 0 ||
        (ret = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN)) < 0) {
        pki_fail(err, "cannot set CA extensions: %s", gnutls_strerror(ret));
        goto fail;
    }
    if (sign_crt(crt, crt, key, err) < 0 || reparse(&crt, err) < 0) goto fail;
    pki_cred_add(out, crt);
    out->key = key;
    return 0;
fail:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return -1;
}

bool pki_dns_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 253) return false;
    const char *p = name;
    if (p[0] == '*') {
        if (p[1] != '.' || !p[2]) return false;
        p += 2;
    }
    size_t label = 0;
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
        if (++label > 63) return false;
    }
    return label > 0 || (n > 1 && name[n - 1] == '.' && name[n - 2] != '.');
}

/* Parses "1.2.3.4", "::1" or "[::1]" into 4 or 16 bytes; returns the length or 0. */
static size_t parse_ip(const char *s, unsigned char out[16])
{
    char tmp[64];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        if (n - 2 >= sizeof tmp) return 0;
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = 0;
        s = tmp;
    }
    if (inet_pton(AF_INET, s, out) == 1) return 4;
    if (inet_pton(AF_INET6, s, out) == 1) return 16;
    return 0;
}

bool pki_key_matches(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key)
{
    unsigned char a[64], b[64];
    size_t na = sizeof a, nb = sizeof b;
    if (gnutls_x509_crt_get_key_id(crt, 0, a, &na) < 0) return false;
    if (gnutls_x509_privkey_get_key_id(key, 0, b, &nb) < 0) return false;
    return na == nb && memcmp(a, b, na) == 0;
}

int pki_cert_generate(const pki_cert_opts *opts, const pki_cred *ca, pki_cred *out, char **err)
{
    pki_cert_opts o = *opts;
    memset(out, 0, sizeof *out);
    if (o.days <= 0) o.days = PKI_CERT_DEFAULT_DAYS;
    if (check_days(o.days, err) < 0) return -1;
    if (!ca || ca->n_certs == 0 || !ca->key)
        return pki_fail(err, "signing a certificate needs the CA certificate and its key");
    if (gnutls_x509_crt_get_ca_status(ca->certs[0], NULL) <= 0)
        return pki_fail(err, "the signing certificate is not a CA (no basicConstraints CA:TRUE)");
    if (!pki_key_matches(ca->certs[0], ca->key))
        return pki_fail(err, "the CA key does not belong to the CA certificate");

    for (size_t i = 0; i < o.n_dns; i++)
        if (!pki_dns_name_valid(o.dns[i]))
            return pki_fail(err, "invalid DNS name for the certificate: \"%s\"", o.dns[i]);
    unsigned char ipb[16];
    for (size_t i = 0; i < o.n_ips; i++)
        if (!parse_ip(o.ips[i], ipb))
            return pki_fail(err, "invalid IP address for the certificate: \"%s\"", o.ips[i]);
    const char *cn = o.cn;
    char ipcn[64];
    if (!cn || !*cn) {
        if (o.n_dns) {
            cn = o.dns[0];
        } else if (o.n_ips) {
            size_t n = parse_ip(o.ips[0], ipb);
            inet_ntop(n == 4 ? AF_INET : AF_INET6, ipb, ipcn, sizeof ipcn);
            cn = ipcn;
        } else {
            cn = "ferry";
        }
    }
    if (strlen(cn) > 64)
        return pki_fail(err, "the common name \"%s\" is longer than 64 characters", cn);

    gnutls_x509_privkey_t key;
    if (gen_key(o.key_type, &key, err) < 0) return -1;
    gnutls_x509_crt_t crt;
    int ret = gnutls_x509_crt_init(&crt);
    if (ret < 0) {
        gnutls_x509_privkey_deinit(key);
        return pki_fail(err, "cannot create certificate: %s", gnutls_strerror(ret));
    }
    if (crt_base(crt, key, cn, o.days, err) < 0) goto fail;

    if ((ret = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
        (ret = gnutls_x509_crt_set_key_usage(
             crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT)) < 0 ||
        (ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
        (ret = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0)) < 0) {
        pki_fail(err, "cannot set certificate extensions: %s", gnutls_strerror(ret));
        goto fail;
    }
    for (size_t i = 0; i < o.n_dns; i++) {
        ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, o.dns[i],
                                                   (unsigned)strlen(o.dns[i]), GNUTLS_FSAN_APPEND);
        if (ret < 0) {
            pki_fail(err, "cannot add DNS name \"%s\": %s", o.dns[i], gnutls_strerror(ret));
            goto fail;
        }
    }
    for (size_t i = 0; i < o.n_ips; i++) {
        size_t n = parse_ip(o.ips[i], ipb);
        ret = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ipb, (unsigned)n,
                                                   GNUTLS_FSAN_APPEND);
        if (ret < 0) {
            pki_fail(err, "cannot add IP address \"%s\": %s", o.ips[i], gnutls_strerror(ret));
            goto fail;
        }
    }

    /* Authority key identifier: the CA's subject key identifier, or one computed from its key. */
    unsigned char aki[64];
    size_t akilen = sizeof aki;
    if (gnutls_x509_crt_get_subject_key_id(ca->certs[0], aki, &akilen, NULL) < 0) {
        akilen = sizeof aki;
        if ((ret = gnutls_x509_privkey_get_key_id(ca->key, 0, aki, &akilen)) < 0) {
            pki_fail(err, "cannot compute the CA's key identifier: %s", gnutls_strerror(ret));
            goto fail;
        }
    }
    if ((ret = gnutls_x509_crt_set_authority_key_id(crt, aki, akilen)) < 0) {
        pki_fail(err, "cannot set authority key identifier: %s", gnutls_strerror(ret));
        goto fail;
    }
    if (sign_crt(crt, ca->certs[0], ca->key, err) < 0 || reparse(&crt, err) < 0) goto fail;

    gnutls_x509_crt_t cacopy;
    if (pki_crt_dup(ca->certs[0], &cacopy, err) < 0) goto fail;
    pki_cred_add(out, crt);
    pki_cred_add(out, cacopy);
    out->key = key;
    return 0;
fail:
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_privkey_deinit(key);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* PEM and files */

int pki_certs_to_pem(gnutls_x509_crt_t const *certs, size_t n, char **pem, size_t *pem_len,
                     char **err)
{
    buf b = { 0 };
    for (size_t i = 0; i < n; i++) {
        gnutls_datum_t d = { NULL, 0 };
        int ret = gnutls_x509_crt_export2(certs[i], GNUTLS_X509_FMT_PEM, &d);
        if (ret < 0) {
            buf_free(&b);
            return pki_fail(err, "cannot encode certificate %zu as PEM: %s", i + 1,
                            gnutls_strerror(ret));
        }
        buf_append(&b, d.data, d.size);
        if (d.size && d.data[d.size - 1] != '\n') buf_putc(&b, '\n');
        gnutls_free(d.data);
    }
    if (!b.p) buf_puts(&b, "");
    *pem = buf_detach(&b, pem_len);
    return 0;
}

int pki_key_to_pem(gnutls_x509_privkey_t key, const char *passphrase, char **pem, size_t *pem_len,
                   char **err)
{
    bool enc = passphrase && *passphrase;
    gnutls_datum_t d = { NULL, 0 };
    int ret = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, enc ? passphrase : NULL,
                                                enc ? GNUTLS_PKCS_PBES2_AES_256 : GNUTLS_PKCS_PLAIN,
                                                &d);
    if (ret < 0) return pki_fail(err, "cannot encode private key: %s", gnutls_strerror(ret));
    char *p = xmalloc(d.size + 1);
    memcpy(p, d.data, d.size);
    p[d.size] = 0;
    *pem_len = d.size;
    wipe_datum(&d);
    *pem = p;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static void fsync_parent(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = 0;
    else if (slash) *slash = 0;
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

int pki_write_file(const char *path, const void *data, size_t len, mode_t mode, bool overwrite,
                   char **err)
{
    if (!path || !*path) return pki_fail(err, "no output file name");
    size_t plen = strlen(path);
    if (path[plen - 1] == '/') return pki_fail(err, "output file %s names a folder", path);
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    char *tmp = NULL;
    int fd = -1;
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
        unsigned char rnd[6];
        gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd);
        free(tmp);
        tmp = xasprintf("%.*s.%s.tmp-%02x%02x%02x%02x%02x%02x", (int)dirlen, path,
                        path + dirlen, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return pki_fail(err, "cannot create %s: %s", path, strerror(e));
    }
    /* Exactly `mode` whatever the umask (the umask can only have narrowed it). */
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return pki_fail(err, "cannot write %s: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return pki_fail(err, "cannot write %s: %s", path, strerror(e));
    }
    int rc;
    if (overwrite) {
        rc = rename(tmp, path);
    } else {
        /* Atomic "create if absent": a hard link fails with EEXIST. */
        rc = link(tmp, path);
        if (rc != 0 && errno != EEXIST)
            rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
        if (rc != 0 && errno == EEXIST) {
            unlink(tmp);
            free(tmp);
            return pki_fail(err, "%s already exists (not overwriting it)", path);
        }
        if (rc == 0) unlink(tmp); /* harmless after renameat2 (ENOENT) */
    }
    if (rc != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return pki_fail(err, "cannot write %s: %s", path, strerror(e));
    }
    free(tmp);
    fsync_parent(path);
    return 0;
}

int pki_write_certs(const char *path, gnutls_x509_crt_t const *certs, size_t n, bool overwrite,
                    char **err)
{
    char *pem;
    size_t len;
    if (pki_certs_to_pem(certs, n, &pem, &len, err) < 0) return -1;
    int rc = pki_write_file(path, pem, len, 0644, overwrite, err);
    free(pem);
    return rc;
}

int pki_write_key(const char *path, gnutls_x509_privkey_t key, const char *passphrase,
                  bool overwrite, char **err)
{
    char *pem;
    size_t len;
    if (pki_key_to_pem(key, passphrase, &pem, &len, err) < 0) return -1;
    int rc = pki_write_file(path, pem, len, 0600, overwrite, err);
    free_secret(pem, len);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Loading */

static bool looks_pem(const char *data, size_t len)
{
    return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

int pki_parse_certs(const void *data, size_t len, const char *what, pki_cred *out, char **err)
{
    if (len > UINT_MAX) return pki_fail(err, "%s is too large", what);
    gnutls_datum_t d = { (unsigned char *)data, (unsigned)len };
    if (looks_pem(data, len)) {
        gnutls_x509_crt_t *list = NULL;
        unsigned n = 0;
        int ret = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
        if (ret == GNUTLS_E_NO_CERTIFICATE_FOUND || (ret >= 0 && n == 0)) {
            gnutls_free(list);
            return pki_fail(err, "no certificate (-----BEGIN CERTIFICATE-----) found in %s", what);
        }
        if (ret < 0)
            return pki_fail(err, "cannot parse the certificates in %s: %s", what,
                            gnutls_strerror(ret));
        for (unsigned i = 0; i < n; i++) pki_cred_add(out, list[i]);
        gnutls_free(list);
        return 0;
    }
    gnutls_x509_crt_t c;
    int ret = gnutls_x509_crt_init(&c);
    if (ret >= 0) {
        ret = gnutls_x509_crt_import(c, &d, GNUTLS_X509_FMT_DER);
        if (ret < 0) gnutls_x509_crt_deinit(c);
    }
    if (ret < 0)
        return pki_fail(err, "%s holds neither PEM certificates nor a DER certificate: %s", what,
                        gnutls_strerror(ret));
    pki_cred_add(out, c);
    return 0;
}

int pki_load_certs(const char *path, pki_cred *out, char **err)
{
    char *data;
    size_t len;
    if (read_whole_file(path, "certificate file", &data, &len, err) < 0) return -1;
    char *what = xasprintf("certificate file %s", path);
    int rc = pki_parse_certs(data, len, what, out, err);
    free(what);
    free(data);
    return rc;
}

int pki_load_key(const char *path, const char *passphrase, gnutls_x509_privkey_t *key, char **err)
{
    char *data;
    size_t len;
    *key = NULL;
    if (read_whole_file(path, "key file", &data, &len, err) < 0) return -1;
    bool pem = looks_pem(data, len);
    bool encrypted = pem && (memmem(data, len, "ENCRYPTED PRIVATE KEY", 21) ||
                             memmem(data, len, "Proc-Type: 4,ENCRYPTED", 22));
    bool has_pass = passphrase && *passphrase;
    if (pem && !memmem(data, len, "PRIVATE KEY-----", 16)) {
        free_secret(data, len);
        return pki_fail(err, "no private key (-----BEGIN ... PRIVATE KEY-----) found in key file %s",
                        path);
    }
    if (encrypted && !has_pass) {
        free_secret(data, len);
        return pki_fail(err, "key file %s is encrypted and no passphrase was given", path);
    }
    gnutls_x509_privkey_t k;
    int ret = gnutls_x509_privkey_init(&k);
    if (ret >= 0) {
        gnutls_datum_t d = { (unsigned char *)data, (unsigned)len };
        ret = gnutls_x509_privkey_import2(k, &d, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER,
                                          has_pass ? passphrase : NULL, 0);
        if (ret < 0) gnutls_x509_privkey_deinit(k);
    }
    free_secret(data, len);
    if (ret < 0) {
        if (encrypted && (ret == GNUTLS_E_DECRYPTION_FAILED || ret == GNUTLS_E_ASN1_DER_ERROR))
            return pki_fail(err, "cannot decrypt key file %s: wrong passphrase?", path);
        return pki_fail(err, "cannot parse the private key in %s: %s", path, gnutls_strerror(ret));
    }
    *key = k;
    return 0;
}

int pki_load_pem(const char *cert_path, const char *key_path, const char *passphrase,
                 pki_cred *out, char **err)
{
    memset(out, 0, sizeof *out);
    if (pki_load_certs(cert_path, out, err) < 0) return -1;
    if (pki_load_key(key_path, passphrase, &out->key, err) < 0) {
        pki_cred_free(out);
        return -1;
    }
    if (!pki_key_matches(out->certs[0], out->key)) {
        pki_cred_free(out);
        return pki_fail(err, "the key in %s does not belong to the (first) certificate in %s",
                        key_path, cert_path);
    }
    return 0;
}

int pki_load_pkcs12(const char *path, const char *password, pki_cred *out, char **err)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t len;
    if (read_whole_file(path, "keystore", &data, &len, err) < 0) return -1;
    gnutls_pkcs12_t p12;
    int ret = gnutls_pkcs12_init(&p12);
    if (ret < 0) {
        free_secret(data, len);
        return pki_fail(err, "cannot read keystore %s: %s", path, gnutls_strerror(ret));
    }
    gnutls_datum_t d = { (unsigned char *)data, (unsigned)len };
    ret = gnutls_pkcs12_import(p12, &d, looks_pem(data, len) ? GNUTLS_X509_FMT_PEM
                                                             : GNUTLS_X509_FMT_DER, 0);
    free_secret(data, len);
    if (ret < 0) {
        gnutls_pkcs12_deinit(p12);
        return pki_fail(err, "keystore %s is not a PKCS#12 file: %s", path, gnutls_strerror(ret));
    }
    /* An empty password is written by some tools as "" and by others as none. */
    const char *pass = password && *password ? password : "";
    ret = gnutls_pkcs12_verify_mac(p12, pass);
    if (ret < 0 && !*pass && gnutls_pkcs12_verify_mac(p12, NULL) >= 0) {
        pass = NULL;
        ret = 0;
    }
    if (ret < 0) {
        gnutls_pkcs12_deinit(p12);
        if (ret == GNUTLS_E_MAC_VERIFY_FAILED)
            return pki_fail(err, "cannot open keystore %s: wrong password (integrity check failed)",
                            path);
        return pki_fail(err, "cannot verify keystore %s: %s", path, gnutls_strerror(ret));
    }
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t *chain = NULL, *extra = NULL;
    unsigned n_chain = 0, n_extra = 0;
    ret = gnutls_pkcs12_simple_parse(p12, pass, &key, &chain, &n_chain, &extra, &n_extra, NULL,
                                     GNUTLS_PKCS12_SP_INCLUDE_SELF_SIGNED);
    gnutls_pkcs12_deinit(p12);
    if (ret < 0)
        return pki_fail(err, "cannot read the key and certificates in keystore %s: %s", path,
                        gnutls_strerror(ret));
    for (unsigned i = 0; i < n_chain; i++) pki_cred_add(out, chain[i]);
    for (unsigned i = 0; i < n_extra; i++) pki_cred_add(out, extra[i]);
    gnutls_free(chain);
    gnutls_free(extra);
    out->key = key;
    if (!out->key || out->n_certs == 0) {
        bool nokey = !out->key;
        pki_cred_free(out);
        return pki_fail(err, "keystore %s holds no %s", path,
                        nokey ? "private key" : "certificate for its key");
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Description */

/* Copies s, escaping control characters (C0, DEL, and C1 in UTF-8) as \xNN so
 * that a hostile certificate cannot drive the terminal it is printed on. */
char *pki_printable(const char *s, size_t n)
{
    buf b = { 0 };
    buf_puts(&b, "");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            buf_printf(&b, "\\x%02x", c);
        } else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            buf_printf(&b, "\\xc2\\x%02x", (unsigned char)s[i + 1]);
            i++;
        } else {
            buf_putc(&b, (char)c);
        }
    }
    return buf_detach(&b, NULL);
}

static void iso_time(time_t t, char out[32])
{
    struct tm tm;
    if (t == (time_t)-1 || !gmtime_r(&t, &tm)) {
        snprintf(out, 32, "(invalid)");
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int pki_fingerprint_sha256(gnutls_x509_crt_t crt, char colon[96], char hex[65])
{
    unsigned char fp[32];
    size_t n = sizeof fp;
    if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &n) < 0 || n != 32) {
        colon[0] = hex[0] = 0;
        return -1;
    }
    static const char HX[] = "0123456789ABCDEF", hx[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        colon[i * 3] = HX[fp[i] >> 4];
        colon[i * 3 + 1] = HX[fp[i] & 15];
        colon[i * 3 + 2] = i == 31 ? 0 : ':';
        hex[i * 2] = hx[fp[i] >> 4];
        hex[i * 2 + 1] = hx[fp[i] & 15];
    }
    hex[64] = 0;
    return 0;
}

bool pki_is_self_signed(gnutls_x509_crt_t crt)
{
    if (!gnutls_x509_crt_check_issuer(crt, crt)) return false;
    /* Verify crt's signature with crt's own key. DO_NOT_ALLOW_SAME makes
     * GnuTLS check the signature instead of trusting the certificate for
     * being in the list; the rest waive checks that are not about the
     * signature (time, CA flag, algorithm strength). */
    unsigned status = 0;
    unsigned flags = GNUTLS_VERIFY_DO_NOT_ALLOW_SAME | GNUTLS_VERIFY_DISABLE_CA_SIGN |
                     GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
                     GNUTLS_VERIFY_ALLOW_BROKEN | GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 |
                     GNUTLS_VERIFY_ALLOW_SIGN_RSA_MD5 | GNUTLS_VERIFY_ALLOW_SIGN_RSA_MD2;
    int ret = gnutls_x509_crt_verify(crt, &crt, 1, flags, &status);
    return ret >= 0 && status == 0;
}

static char *dn_string(gnutls_x509_crt_t crt, bool issuer)
{
    gnutls_datum_t d = { NULL, 0 };
    int ret = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) : gnutls_x509_crt_get_dn3(crt, &d, 0);
    if (ret < 0) return xstrdup(ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ? "" : "(unreadable)");
    char *s = pki_printable((const char *)d.data, d.size);
    gnutls_free(d.data);
    return s;
}

static void push_str(char ***arr, size_t *n, char *s)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    (*arr)[(*n)++] = s;
}

int pki_cert_describe(gnutls_x509_crt_t crt, pki_cert_info *out, char **err)
{
    memset(out, 0, sizeof *out);
    out->subject = dn_string(crt, false);
    out->issuer = dn_string(crt, true);

    unsigned char serial[64];
    size_t sn = sizeof serial;
    buf b = { 0 };
    buf_puts(&b, "");
    if (gnutls_x509_crt_get_serial(crt, serial, &sn) >= 0)
        for (size_t i = 0; i < sn; i++) buf_printf(&b, "%02x", serial[i]);
    out->serial_hex = buf_detach(&b, NULL);

    time_t nb = gnutls_x509_crt_get_activation_time(crt);
    time_t na = gnutls_x509_crt_get_expiration_time(crt);
    out->not_before_s = (long long)nb;
    out->not_after_s = (long long)na;
    iso_time(nb, out->not_before);
    iso_time(na, out->not_after);

    for (unsigned seq = 0;; seq++) {
        char small[512];
        char *data = small;
        size_t size = sizeof small;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, data, &size, NULL);
        if (type == GNUTLS_E_SHORT_MEMORY_BUFFER) {
            data = xmalloc(size + 1);
            type = gnutls_x509_crt_get_subject_alt_name(crt, seq, data, &size, NULL);
        }
        if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE || (type < 0 && seq > 64)) {
            if (data != small) free(data);
            break;
        }
        if (type == GNUTLS_SAN_DNSNAME) {
            push_str(&out->dns, &out->n_dns, pki_printable(data, strnlen(data, size)));
        } else if (type == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16)) {
            char txt[INET6_ADDRSTRLEN];
            inet_ntop(size == 4 ? AF_INET : AF_INET6, data, txt, sizeof txt);
            push_str(&out->ips, &out->n_ips, xstrdup(txt));
        }
        if (data != small) free(data);
    }

    if (pki_fingerprint_sha256(crt, out->sha256_colon, out->sha256_hex) < 0) {
        pki_cert_info_free(out);
        return pki_fail(err, "cannot compute the certificate's SHA-256 fingerprint");
    }
    unsigned critical = 0;
    out->is_ca = gnutls_x509_crt_get_ca_status(crt, &critical) > 0;
    out->self_signed = pki_is_self_signed(crt);

    unsigned bits = 0;
    int pk = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
    if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519 || pk == GNUTLS_PK_EDDSA_ED448) {
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        gnutls_datum_t x = { 0 }, y = { 0 };
        if (gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y) >= 0) {
            gnutls_free(x.data);
            gnutls_free(y.data);
        }
        const char *cname = curve == GNUTLS_ECC_CURVE_SECP256R1   ? "P-256"
                            : curve == GNUTLS_ECC_CURVE_SECP384R1 ? "P-384"
                            : curve == GNUTLS_ECC_CURVE_SECP521R1 ? "P-521"
                                                                  : gnutls_ecc_curve_get_name(curve);
        out->key_desc = pk == GNUTLS_PK_ECDSA ? xasprintf("ECDSA %s", cname ? cname : "?")
                                              : xstrdup(pk == GNUTLS_PK_EDDSA_ED25519 ? "Ed25519"
                                                                                      : "Ed448");
    } else if (pk > 0) {
        const char *name = gnutls_pk_get_name((gnutls_pk_algorithm_t)pk);
        out->key_desc = xasprintf("%s %u", name ? name : "?", bits);
    } else {
        out->key_desc = xstrdup("unknown");
    }
    return 0;
}

void pki_cert_info_free(pki_cert_info *info)
{
    if (!info) return;
    free(info->subject);
    free(info->issuer);
    free(info->serial_hex);
    for (size_t i = 0; i < info->n_dns; i++) free(info->dns[i]);
    free(info->dns);
    for (size_t i = 0; i < info->n_ips; i++) free(info->ips[i]);
    free(info->ips);
    free(info->key_desc);
    memset(info, 0, sizeof *info);
}
