/*
 * passwd.c — bcrypt hashing and verification through libcrypt, name
 * validation as Elasticsearch's, random passwords, and the small file helpers
 * the realm files share.
 */
#include "security/security_int.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* bcrypt */

int security_hash_password(const char *password, char out[SEC_HASH_MAX])
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    /* $2a$ is what Elasticsearch's tools write and read; libcrypt draws the salt from the kernel. */
    if (!crypt_gensalt_rn("$2a$", SEC_BCRYPT_COST, NULL, 0, setting, sizeof setting)) return -1;
    struct crypt_data *cd = xcalloc(1, sizeof *cd);
    const char *h = crypt_rn(password, setting, cd, (int)sizeof *cd);
    int rc = -1;
    if (h && h[0] == '$' && strlen(h) < SEC_HASH_MAX) {
        snprintf(out, SEC_HASH_MAX, "%s", h);
        rc = 0;
    }
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return rc;
}

bool security_hash_supported(const char *hash)
{
    if (!hash || strlen(hash) != 60) return false;
    if (strncmp(hash, "$2a$", 4) && strncmp(hash, "$2b$", 4) && strncmp(hash, "$2y$", 4)) return false;
    return hash[4] >= '0' && hash[4] <= '3' && hash[5] >= '0' && hash[5] <= '9' && hash[6] == '$';
}

bool security_verify_password(const char *password, const char *hash)
{
    if (!password || !security_hash_supported(hash)) return false;
    struct crypt_data *cd = xcalloc(1, sizeof *cd);
    const char *h = crypt_rn(password, hash, cd, (int)sizeof *cd);
    bool ok = false;
    if (h && h[0] == '$' && strlen(h) == strlen(hash)) {
        unsigned char diff = 0;
        for (size_t i = 0; hash[i]; i++) diff |= (unsigned char)(h[i] ^ hash[i]);
        ok = diff == 0;
    }
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return ok;
}

void security_random_password(char *out, size_t len)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    /* 64 symbols: six random bits per character, no bias. */
    for (size_t i = 0; i < len; i++) {
        unsigned char b;
        random_bytes(&b, 1);
        out[i] = alphabet[b & 63];
    }
    out[len] = 0;
}

/* ------------------------------------------------------------------------ */
/* Names */

static const char *const reserved_users[] = {
    "elastic", "kibana", "kibana_system", "logstash_system", "beats_system", "apm_system",
    "remote_monitoring_user",
};

bool security_is_reserved_user(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(reserved_users); i++)
        if (strcmp(name, reserved_users[i]) == 0) return true;
    return false;
}

const char *security_validate_name(const char *name, bool is_role)
{
    static const char user_msg[] =
        "Usernames must be at least 1 and no more than 507 characters. They can contain "
        "alphanumeric characters (a-z, A-Z, 0-9), spaces, punctuation, and printable symbols in the "
        "Basic Latin (ASCII) block. Leading or trailing whitespace is not allowed.";
    static const char role_msg[] =
        "Role names must be at least 1 and no more than 507 characters. They can contain "
        "alphanumeric characters (a-z, A-Z, 0-9), spaces, punctuation, and printable symbols in the "
        "Basic Latin (ASCII) block. Leading or trailing whitespace is not allowed.";
    const char *msg = is_role ? role_msg : user_msg;
    size_t n = strlen(name);
    if (n < 1 || n > SEC_MAX_NAME_LEN) return msg;
    if (name[0] == ' ' || name[n - 1] == ' ') return msg;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c > 0x7e) return msg;
    }
    /* The files separate names with ':' and ','. */
    if (!is_role && strchr(name, ':')) return msg;
    if (is_role && (strchr(name, ':') || strchr(name, ','))) return msg;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Files */

int sec_read_file(const char *path, size_t max, char **data, size_t *len, char **err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        *err = xasprintf("cannot read [%s]: %s", path, strerror(errno));
        return -1;
    }
    buf b = { 0 };
    char tmp[8192];
    for (;;) {
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r < 0) {
            if (errno == EINTR) continue;
            *err = xasprintf("cannot read [%s]: %s", path, strerror(errno));
            close(fd);
            buf_free(&b);
            return -1;
        }
        if (r == 0) break;
        if (b.len + (size_t)r > max) {
            *err = xasprintf("[%s] is larger than %zu bytes", path, max);
            close(fd);
            buf_free(&b);
            return -1;
        }
        buf_append(&b, tmp, (size_t)r);
    }
    close(fd);
    if (!b.p) buf_reserve(&b, 0);
    *data = buf_detach(&b, len);
    return 0;
}

int sec_write_file(const char *path, const char *data, size_t len, mode_t mode, char **err)
{
    struct stat st;
    if (stat(path, &st) == 0) mode = st.st_mode & 07777;
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0 && errno == EEXIST) {
        unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    }
    if (fd < 0) {
        *err = xasprintf("cannot write [%s]: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    fchmod(fd, mode); /* exact mode whatever the umask */
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) goto fail;
    /* Make the rename durable. */
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir) slash[1] = 0;
        else *slash = 0;
    } else {
        free(dir);
        dir = xstrdup(".");
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
    free(tmp);
    return 0;
fail:
    *err = xasprintf("cannot write [%s]: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

bool sec_glob(const char *p, const char *s)
{
    /* Iterative glob with backtracking to the last '*'. */
    const char *star = NULL, *ss = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            ss = s;
        } else if (*p == *s) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++ss;
        } else {
            return false;
        }
    }
    while (*p == '*') p++;
    return *p == 0;
}
