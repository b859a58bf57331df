/*
 * pki — certificates and keys for ferry's HTTPS, on GnuTLS.
 *
 *   - generate a CA (self-signed) and node/HTTP certificates signed by it, as
 *     Elasticsearch 8's security auto-configuration does on first start;
 *   - write them as PEM (certificates 0644, private keys 0600, optionally
 *     PKCS#8-encrypted), load PEM certificates/keys and PKCS#12 keystores;
 *   - describe a certificate (DNs, validity, SANs, SHA-256 fingerprints);
 *   - fetch the chain a TLS server presents, WITHOUT verifying it (the point
 *     is to obtain a CA one does not trust yet).
 *
 * Key type: RSA 2048 by default (what Elasticsearch uses for its http_ca and
 * the widest client compatibility); ECDSA P-256 on request. Signatures use
 * SHA-256.
 *
 * Errors: every function returning int gives 0 on success and -1 on failure
 * with a one-line message in *err (heap; caller frees) naming the file or
 * peer and what failed. Passphrases and passwords are never put in messages
 * or logs.
 *
 * Depends on: core, GnuTLS. Thread-safe (no global state besides GnuTLS's).
 */
#ifndef FERRY_PKI_H
#define FERRY_PKI_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PKI_CA_DEFAULT_CN "ferry auto-configuration HTTP CA"
#define PKI_CA_DEFAULT_DAYS (3 * 365)
#define PKI_CERT_DEFAULT_DAYS (2 * 365)
#define PKI_MAX_DAYS (100 * 365)
#define PKI_FETCH_DEFAULT_TIMEOUT_MS 10000
/* PEM/DER/PKCS#12 inputs larger than this are refused (a certificate file is a few KiB). */
#define PKI_MAX_FILE_BYTES (4 * 1024 * 1024)

typedef enum {
    PKI_KEY_RSA_2048 = 0, /* the default */
    PKI_KEY_ECDSA_P256,
} pki_key_type;

/*
 * A certificate chain (leaf first, issuers after) and optionally the private
 * key of its first certificate. A zeroed pki_cred is empty and valid.
 */
typedef struct pki_cred {
    gnutls_x509_crt_t *certs;
    size_t n_certs;
    gnutls_x509_privkey_t key; /* NULL when there is none */
} pki_cred;

void pki_cred_free(pki_cred *c);
/* Appends crt (ownership passes to c). */
void pki_cred_add(pki_cred *c, gnutls_x509_crt_t crt);
/* An independent copy of a certificate. */
int pki_crt_dup(gnutls_x509_crt_t src, gnutls_x509_crt_t *dst, char **err);

/* ------------------------------------------------------------------------ */
/* Generation */

typedef struct pki_ca_opts {
    const char *cn;        /* NULL: PKI_CA_DEFAULT_CN */
    int days;              /* <= 0: PKI_CA_DEFAULT_DAYS */
    pki_key_type key_type;
} pki_ca_opts;

/*
 * A self-signed CA: basicConstraints CA:TRUE (critical), keyUsage
 * keyCertSign+cRLSign (critical), subject key identifier, random positive
 * 127-bit serial, validity from now for `days`. out gets one certificate and
 * its key. opts may be NULL (all defaults).
 */
int pki_ca_generate(const pki_ca_opts *opts, pki_cred *out, char **err);

typedef struct pki_cert_opts {
    const char *cn;               /* NULL: the first DNS name, else the first IP, else "ferry" */
    const char *const *dns;       /* DNS subjectAltNames ("localhost", "*.example.com") */
    size_t n_dns;
    const char *const *ips;       /* IP subjectAltNames, IPv4 or IPv6 text ("127.0.0.1", "::1") */
    size_t n_ips;
    int days;                     /* <= 0: PKI_CERT_DEFAULT_DAYS */
    pki_key_type key_type;
} pki_cert_opts;

/*
 * A node/HTTP certificate signed by the CA (ca->certs[0] with ca->key):
 * CA:FALSE, keyUsage digitalSignature+keyEncipherment, extKeyUsage
 * serverAuth+clientAuth, SANs, authority and subject key identifiers.
 * Checks first that ca->key belongs to ca->certs[0] and that it is a CA.
 * out gets the chain [leaf, CA certificate] and the leaf's key.
 */
int pki_cert_generate(const pki_cert_opts *opts, const pki_cred *ca, pki_cred *out, char **err);

/* Validates a DNS name for a SAN (letters, digits, '-', '.', '_', a leading "*."). */
bool pki_dns_name_valid(const char *name);

/* ------------------------------------------------------------------------ */
/* PEM encoding and files */

/* Appends the PEM of certs[0..n) to out ("-----BEGIN CERTIFICATE-----" blocks). */
int pki_certs_to_pem(gnutls_x509_crt_t const *certs, size_t n, char **pem, size_t *pem_len,
                     char **err);
/* The PEM of a private key: PKCS#8, encrypted (PBES2 AES-256) when passphrase is non-NULL and non-empty. */
int pki_key_to_pem(gnutls_x509_privkey_t key, const char *passphrase, char **pem, size_t *pem_len,
                   char **err);

/*
 * Writes data to path with exactly `mode`: the bytes go to a temporary file
 * in the same folder created with O_CREAT|O_EXCL and that mode (so there is
 * never a moment with wider permissions), fsync'd, then renamed into place.
 * With overwrite false an existing path is an error (checked atomically);
 * with overwrite true it is replaced atomically (a symlink is replaced, not
 * followed).
 */
int pki_write_file(const char *path, const void *data, size_t len, mode_t mode, bool overwrite,
                   char **err);
/* PEM certificates to path, mode 0644. */
int pki_write_certs(const char *path, gnutls_x509_crt_t const *certs, size_t n, bool overwrite,
                    char **err);
/* PEM private key to path, mode 0600 (PKCS#8; encrypted when passphrase is set). */
int pki_write_key(const char *path, gnutls_x509_privkey_t key, const char *passphrase,
                  bool overwrite, char **err);

/* ------------------------------------------------------------------------ */
/* Loading */

/* Every certificate in a PEM file (or one DER certificate), in file order, into out->certs. */
int pki_load_certs(const char *path, pki_cred *out, char **err);
/* Parses PEM/DER certificates from memory; `what` names the source in messages. */
int pki_parse_certs(const void *data, size_t len, const char *what, pki_cred *out, char **err);
/*
 * A private key from a PEM (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8) or DER
 * file. passphrase may be NULL. A missing or wrong passphrase is a clear error.
 */
int pki_load_key(const char *path, const char *passphrase, gnutls_x509_privkey_t *key, char **err);
/*
 * Certificates and their key from PEM files (key_path may equal cert_path);
 * checks that the key belongs to the first certificate.
 */
int pki_load_pem(const char *cert_path, const char *key_path, const char *passphrase,
                 pki_cred *out, char **err);
/*
 * A PKCS#12 keystore (as xpack.security.http.ssl.keystore.path): verifies the
 * MAC with password (NULL or "" for an unprotected store), then out gets the
 * key and its chain, leaf first, with any further certificates appended.
 */
int pki_load_pkcs12(const char *path, const char *password, pki_cred *out, char **err);

/* True when key is the private key of crt's public key. */
bool pki_key_matches(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key);

/* ------------------------------------------------------------------------ */
/* Description */

typedef struct pki_cert_info {
    char *subject;              /* RFC 4514 DN ("CN=ferry,O=x") */
    char *issuer;
    char *serial_hex;           /* lower-case hex */
    char not_before[32];        /* ISO 8601 UTC: "2026-11-29T07:15:00Z" */
    char not_after[32];
    long long not_before_s, not_after_s; /* seconds since the epoch */
    char **dns;                 /* DNS SANs */
    size_t n_dns;
    char **ips;                 /* IP SANs, as text */
    size_t n_ips;
    char sha256_colon[96];      /* "AB:CD:...", as `openssl x509 -fingerprint -sha256` */
    char sha256_hex[65];        /* "abcd...", as Elasticsearch's ca_fingerprint */
    bool is_ca;                 /* basicConstraints CA:TRUE */
    bool self_signed;           /* subject == issuer and its own key verifies its signature */
    char *key_desc;             /* "RSA 2048", "ECDSA P-256" */
} pki_cert_info;

int pki_cert_describe(gnutls_x509_crt_t crt, pki_cert_info *out, char **err);
void pki_cert_info_free(pki_cert_info *info);

/* A heap copy of s[0..n) with control characters (C0, DEL, UTF-8 C1) escaped
 * as \xNN, safe to print on a terminal whatever a certificate holds. */
char *pki_printable(const char *s, size_t n);

/* SHA-256 fingerprint as colon-separated upper-case (96 bytes) and plain lower-case hex (65). */
int pki_fingerprint_sha256(gnutls_x509_crt_t crt, char colon[96], char hex[65]);
bool pki_is_self_signed(gnutls_x509_crt_t crt);

/* ------------------------------------------------------------------------ */
/* Fetching a server's chain */

/*
 * Splits "host:port", "[v6]:port", "https://host:port/..." or a bare host
 * (port default_port) into heap strings. Unbracketed IPv6 is an error.
 */
int pki_parse_hostport(const char *s, const char *default_port, char **host, char **port,
                       char **err);
/* True when host is an IPv4 or IPv6 literal (no brackets). */
bool pki_host_is_ip(const char *host);

typedef struct pki_fetch_opts {
    const char *servername; /* SNI; NULL: the host when it is a name, none for an IP */
    int timeout_ms;         /* for connect and for the handshake, each; <= 0: 10 s */
} pki_fetch_opts;

/*
 * Connects to host:port (every address getaddrinfo gives, in turn), does a
 * TLS handshake WITHOUT verifying the server, and puts the certificates the
 * server presented, in the order it sent them, into out->certs. If the
 * server aborted the handshake after sending its certificates (e.g. it
 * insists on a client certificate), they are returned and a warning logged.
 * Note: name resolution (getaddrinfo) is not covered by the timeout.
 */
int pki_fetch_chain(const char *host, const char *port, const pki_fetch_opts *opts,
                    pki_cred *out, char **err);

#endif
