/*
 * bundle.c — create and (safely) install folder bundles with libzip.
 * See bundle.h for the rules an archive must follow to be installed.
 */
#include "bundle/bundle.h"

#include "core/core.h"

#include <zip.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_COMPONENT 255
#define MAX_CENTRAL_DIR (16u * 1024 * 1024)

static int bfail(char **err, const char *fmt, ...) FERRY_PRINTF(2, 3);
static int bfail(char **err, const char *fmt, ...)
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


static void resolve_limits(const bundle_limits *in, bundle_limits *out)
{
    bundle_limits l = in ? *in : (bundle_limits){ 0 };
    if (!l.max_entries) l.max_entries = BUNDLE_MAX_ENTRIES;
    if (!l.max_total_bytes) l.max_total_bytes = BUNDLE_MAX_TOTAL_BYTES;
    if (!l.max_ratio) l.max_ratio = BUNDLE_MAX_RATIO;
    if (!l.ratio_floor) l.ratio_floor = BUNDLE_RATIO_FLOOR;
    *out = l;
}

/* ------------------------------------------------------------------------ */
/* Entry names */

/* Length of the valid UTF-8 sequence at s (strict: no overlongs, surrogates,
 * or C1 controls), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    if (cp >= 0x80 && cp <= 0x9f) return 0; /* C1 controls */
    return len;
}

/* A printable copy of n bytes of s for messages: control bytes, quotes,
 * backslashes and bytes that are not valid UTF-8 as \xNN. */
static char *esc(const char *s, size_t n)
{
    buf b = { 0 };
    buf_puts(&b, "");
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 1 && (u[i] < 0x20 || u[i] == 0x7f || u[i] == '"' || u[i] == '\\')) k = 0;
        if (k == 0) {
            buf_printf(&b, "\\x%02x", u[i]);
            i++;
        } else {
            buf_append(&b, s + i, k);
            i += k;
        }
    }
    return buf_detach(&b, NULL);
}

/*
 * Checks one entry name. On success *is_dir says whether it names a folder
 * (trailing '/') and *toplen the length of its first component. On failure
 * writes the rule broken into why.
 */
static bool name_ok(const char *name, size_t len, bool *is_dir, size_t *toplen, char *why,
                    size_t whylen)
{
#define BAD(...)                               \
    do {                                       \
        snprintf(why, whylen, __VA_ARGS__);    \
        return false;                          \
    } while (0)
    if (len == 0) BAD("the name is empty");
    if (len > BUNDLE_MAX_NAME) BAD("the name is longer than %d bytes", BUNDLE_MAX_NAME);
    const unsigned char *s = (const unsigned char *)name;
    for (size_t i = 0; i < len;) {
        if (s[i] == 0) BAD("the name contains a NUL byte");
        if (s[i] < 0x20 || s[i] == 0x7f) BAD("the name contains a control character");
        if (s[i] == '\\') BAD("the name contains a backslash (only '/' separates folders)");
        size_t k = utf8_seq(s + i, len - i);
        if (!k) BAD("the name is not valid UTF-8 (or holds a control character)");
        i += k;
    }
    if (s[0] == '/') BAD("the name is an absolute path");
    if (len >= 2 && s[1] == ':' && ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
        BAD("the name starts with a drive letter");
    *is_dir = s[len - 1] == '/';
    size_t end = *is_dir ? len - 1 : len;
    if (end == 0) BAD("the name is only \"/\"");
    size_t start = 0, comps = 0;
    *toplen = 0;
    while (start <= end) {
        const char *slash = memchr(name + start, '/', end - start);
        size_t clen = (slash ? (size_t)(slash - name) : end) - start;
        if (clen == 0) BAD("the name has an empty path component (\"//\")");
        if (clen == 1 && name[start] == '.') BAD("the name has a \".\" path component");
        if (clen == 2 && name[start] == '.' && name[start + 1] == '.')
            BAD("the name has a \"..\" path component");
        if (clen > NAME_MAX_COMPONENT)
            BAD("a path component is longer than %d bytes", NAME_MAX_COMPONENT);
        if (comps == 0) {
            *toplen = clen;
            if (name[0] == '.') BAD("the bundle's folder may not be hidden (start with '.')");
        }
        comps++;
        start += clen + 1;
        if (!slash) break;
    }
    if (comps == 1 && !*is_dir)
        BAD("a file at the top level (a bundle holds one folder: FOLDER/file)");
    return true;
#undef BAD
}

/* ------------------------------------------------------------------------ */
/* A raw look at the central directory: libzip turns NUL bytes in names into
 * spaces, so names are checked here on the bytes as stored. */

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static bool pread_all(int fd, void *dst, size_t n, uint64_t off)
{
    unsigned char *d = dst;
    while (n) {
        ssize_t r = pread(fd, d, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        d += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return true;
}

typedef struct raw_name {
    const char *p;
    size_t len;
} raw_name;

static int cmp_raw_name(const void *a, const void *b)
{
    const raw_name *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int scan_central_dir(int fd, uint64_t fsize, const char *zip, const bundle_limits *lim,
                            char **err)
{
    if (fsize < 22) return bfail(err, "bundle %s is not a zip archive (too short)", zip);
    size_t tail = fsize < 65535 + 22 ? (size_t)fsize : 65535 + 22;
    unsigned char *t = xmalloc(tail);
    int rc = -1;
    unsigned char *cd = NULL;
    raw_name *names = NULL;
    if (!pread_all(fd, t, tail, fsize - tail)) {
        bfail(err, "cannot read bundle %s: %s", zip, strerror(errno ? errno : EIO));
        goto out;
    }
    ssize_t eocd = -1;
    for (ssize_t i = (ssize_t)tail - 22; i >= 0; i--)
        if (t[i] == 'P' && t[i + 1] == 'K' && t[i + 2] == 5 && t[i + 3] == 6 &&
            (size_t)i + 22 + le16(t + i + 20) <= tail) {
            eocd = i;
            break;
        }
    if (eocd < 0) {
        bfail(err, "bundle %s is not a zip archive (no end of central directory)", zip);
        goto out;
    }
    uint64_t eocd_abs = fsize - tail + (uint64_t)eocd;
    uint64_t count = le16(t + eocd + 10), cd_size = le32(t + eocd + 12), cd_off = le32(t + eocd + 16);
    if (count == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        unsigned char loc[20], rec[56];
        if (eocd_abs < 20 || !pread_all(fd, loc, 20, eocd_abs - 20) || le32(loc) != 0x07064b50 ||
            !pread_all(fd, rec, 56, le64(loc + 8)) || le32(rec) != 0x06064b50) {
            bfail(err, "bundle %s: cannot read its zip64 end of central directory", zip);
            goto out;
        }
        count = le64(rec + 32);
        cd_size = le64(rec + 40);
        cd_off = le64(rec + 48);
    }
    if (count > lim->max_entries) {
        bfail(err, "bundle %s has %llu entries; at most %llu are allowed", zip,
              (unsigned long long)count, (unsigned long long)lim->max_entries);
        goto out;
    }
    if (cd_size > MAX_CENTRAL_DIR || cd_size > fsize) {
        bfail(err, "bundle %s: its central directory is too large (%llu bytes)", zip,
              (unsigned long long)cd_size);
        goto out;
    }
    cd = xmalloc(cd_size + 4);
    unsigned char sig[4];
    if (cd_off + cd_size > fsize || !pread_all(fd, sig, 4, cd_off) || le32(sig) != 0x02014b50) {
        /* Data prepended to the archive shifts every offset: the directory
         * then ends where the end record starts. */
        if (count > 0 && cd_size <= eocd_abs) cd_off = eocd_abs - cd_size;
    }
    if (cd_size && !pread_all(fd, cd, cd_size, cd_off)) {
        bfail(err, "bundle %s: cannot read its central directory", zip);
        goto out;
    }
    uint64_t pos = 0, seen = 0;
    names = xcalloc(count ? (size_t)count : 1, sizeof *names);
    while (pos + 46 <= cd_size && le32(cd + pos) == 0x02014b50) {
        size_t nlen = le16(cd + pos + 28), xlen = le16(cd + pos + 30), clen = le16(cd + pos + 32);
        if (pos + 46 + nlen + xlen + clen > cd_size) break;
        const char *name = (const char *)cd + pos + 46;
        for (size_t i = 0; i < nlen; i++) {
            unsigned char c = (unsigned char)name[i];
            if (c < 0x20 || c == 0x7f) {
                char *e = esc(name, nlen);
                bfail(err, "bundle %s: entry \"%s\": the name contains %s", zip, e,
                      c == 0 ? "a NUL byte" : "a control character");
                free(e);
                goto out;
            }
        }
        if (seen >= count) {
            bfail(err, "bundle %s: its central directory holds more entries than it declares", zip);
            goto out;
        }
        names[seen++] = (raw_name){ name, nlen };
        pos += 46 + nlen + xlen + clen;
    }
    if (seen != count) {
        bfail(err, "bundle %s: its central directory is damaged (%llu of %llu entries readable)",
              zip, (unsigned long long)seen, (unsigned long long)count);
        goto out;
    }
    /* Duplicate names, compared on the stored bytes. */
    qsort(names, (size_t)seen, sizeof *names, cmp_raw_name);
    for (uint64_t i = 1; i < seen; i++)
        if (cmp_raw_name(&names[i - 1], &names[i]) == 0) {
            char *e = esc(names[i].p, names[i].len);
            bfail(err, "bundle %s: entry \"%s\" appears more than once (duplicate name)", zip, e);
            free(e);
            goto out;
        }
    rc = 0;
out:
    free(names);
    free(t);
    free(cd);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The plan: every path the archive will create, checked together. */

typedef enum { K_FILE = 0, K_DIR = 1, K_IMPLIED_DIR = 2 } path_kind;

typedef struct plan_path {
    char *path;          /* without trailing '/' */
    path_kind kind;
    zip_uint64_t index;  /* archive index (files and explicit folders) */
    zip_uint64_t size;   /* declared size (files) */
} plan_path;

typedef struct plan {
    plan_path *p;
    size_t n, cap;
    char *top;
} plan;

static void plan_add(plan *pl, const char *path, size_t len, path_kind kind, zip_uint64_t index,
                     zip_uint64_t size)
{
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 64;
        pl->p = xrealloc(pl->p, pl->cap * sizeof *pl->p);
    }
    pl->p[pl->n++] = (plan_path){ xstrndup(path, len), kind, index, size };
}

static void plan_free(plan *pl)
{
    for (size_t i = 0; i < pl->n; i++) free(pl->p[i].path);
    free(pl->p);
    free(pl->top);
    memset(pl, 0, sizeof *pl);
}

static int cmp_plan(const void *a, const void *b)
{
    const plan_path *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (int)x->kind - (int)y->kind;
}

/* Adds an entry and its implied parent folders; checks the single top folder. */
static int plan_entry(plan *pl, const char *zip, const char *name, zip_uint64_t index,
                      zip_uint64_t size, char **err)
{
    bool is_dir;
    size_t toplen;
    char why[160];
    size_t len = strlen(name);
    if (!name_ok(name, len, &is_dir, &toplen, why, sizeof why)) {
        char *e = esc(name, len);
        bfail(err, "bundle %s: entry \"%s\": %s", zip, e, why);
        free(e);
        return -1;
    }
    if (!pl->top) {
        pl->top = xstrndup(name, toplen);
    } else if (strlen(pl->top) != toplen || memcmp(pl->top, name, toplen) != 0) {
        char *e = esc(name, len);
        bfail(err, "bundle %s: entry \"%s\" is outside the bundle's folder \"%s\" (a bundle holds "
                   "exactly one top-level folder)",
              zip, e, pl->top);
        free(e);
        return -1;
    }
    size_t end = is_dir ? len - 1 : len;
    plan_add(pl, name, end, is_dir ? K_DIR : K_FILE, index, size);
    for (size_t i = end; i-- > 0;)
        if (name[i] == '/') plan_add(pl, name, i, K_IMPLIED_DIR, 0, 0);
    return 0;
}

/* Sorts the plan; rejects duplicates and files that clash with folders. */
static int plan_check(plan *pl, const char *zip, char **err)
{
    if (pl->n == 0) return bfail(err, "bundle %s is empty", zip);
    qsort(pl->p, pl->n, sizeof *pl->p, cmp_plan);
    size_t w = 0;
    for (size_t i = 0; i < pl->n;) {
        size_t j = i, files = 0, explicit = 0, dirs = 0;
        while (j < pl->n && strcmp(pl->p[j].path, pl->p[i].path) == 0) {
            if (pl->p[j].kind == K_FILE) files++;
            if (pl->p[j].kind == K_DIR) explicit++;
            if (pl->p[j].kind != K_FILE) dirs++;
            j++;
        }
        if (files + explicit > 1 && (files > 1 || explicit > 1)) {
            char *e = esc(pl->p[i].path, strlen(pl->p[i].path));
            bfail(err, "bundle %s: entry \"%s%s\" appears more than once (duplicate name)", zip, e,
                  files ? "" : "/");
            free(e);
            return -1;
        }
        if (files && dirs) {
            char *e = esc(pl->p[i].path, strlen(pl->p[i].path));
            bfail(err, "bundle %s: \"%s\" is both a file and a folder", zip, e);
            free(e);
            return -1;
        }
        /* Keep one path per name: the file, the explicit folder, or one implied folder. */
        for (size_t k = i + 1; k < j; k++) {
            free(pl->p[k].path);
            pl->p[k].path = NULL;
        }
        if (w != i) {
            pl->p[w] = pl->p[i];
            pl->p[i].path = NULL;
        }
        w++;
        i = j;
    }
    pl->n = w;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Safe file-system helpers: walk with openat and O_NOFOLLOW */

/* Opens the folder rel (components separated by '/') under base without
 * following symlinks; with create, makes missing folders (0755). */
static int open_dir_at(int base, const char *rel, bool create)
{
    int fd = openat(base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    const char *p = rel;
    while (*p) {
        size_t n = strcspn(p, "/");
        char comp[NAME_MAX_COMPONENT + 1];
        if (n == 0 || n > NAME_MAX_COMPONENT) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = 0;
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
            }
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next >= 0) (void)fchmod(next, 0755);
        }
        int e = errno;
        close(fd);
        if (next < 0) {
            errno = e == ELOOP ? ENOTDIR : e; /* O_NOFOLLOW on a symlink */
            return -1;
        }
        fd = next;
        p += n;
        if (*p == '/') p++;
    }
    return fd;
}

/* Splits "a/b/c" into the folder "a/b" (heap) and the last component. */
static char *split_parent(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *base = path;
        return xstrdup("");
    }
    *base = slash + 1;
    return xstrndup(path, (size_t)(slash - path));
}

/* Removes the tree `name` inside dirfd, never following symlinks. */
static void rm_tree_at(int dirfd, const char *name, int depth)
{
    if (depth > 64) return;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        (void)unlinkat(dirfd, name, 0);
        return;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            rm_tree_at(fd, de->d_name, depth + 1);
        else
            (void)unlinkat(fd, de->d_name, 0);
    }
    closedir(d);
    (void)unlinkat(dirfd, name, AT_REMOVEDIR);
}

static bool write_full(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Install */

static const char *kind_of_mode(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFLNK: return "a symbolic link";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    default: return "of an unknown file type";
    }
}

/* Validates every entry of za and fills the plan. */
static int validate_archive(zip_t *za, const char *zip, const bundle_limits *lim, plan *pl,
                            char **err)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0) return bfail(err, "bundle %s: cannot count its entries", zip);
    if ((uint64_t)n > lim->max_entries)
        return bfail(err, "bundle %s has %lld entries; at most %llu are allowed", zip,
                     (long long)n, (unsigned long long)lim->max_entries);
    uint64_t total = 0, total_comp = 0;
    for (zip_uint64_t i = 0; i < (zip_uint64_t)n; i++) {
        zip_stat_t st;
        zip_stat_init(&st);
        if (zip_stat_index(za, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
            return bfail(err, "bundle %s: cannot read entry %llu: %s", zip,
                         (unsigned long long)i + 1, zip_strerror(za));
        const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD |
                                  ZIP_STAT_ENCRYPTION_METHOD;
        char *e = esc(st.name, strlen(st.name));
        int rc = -1;
        if ((st.valid & need) != need) {
            bfail(err, "bundle %s: entry \"%s\": its sizes or methods are unreadable", zip, e);
            goto entry_done;
        }
        if (st.encryption_method != ZIP_EM_NONE) {
            bfail(err, "bundle %s: entry \"%s\" is encrypted (not supported)", zip, e);
            goto entry_done;
        }
        if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
            bfail(err, "bundle %s: entry \"%s\" uses compression method %d (only stored and "
                       "deflate are accepted)",
                  zip, e, (int)st.comp_method);
            goto entry_done;
        }
        zip_uint8_t opsys = 0;
        zip_uint32_t attr = 0;
        if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) != 0) {
            bfail(err, "bundle %s: entry \"%s\": cannot read its attributes", zip, e);
            goto entry_done;
        }
        /* The Unix mode sits in the high 16 bits (Unix hosts; others leave
         * them zero). Only regular files and folders may be installed. */
        mode_t mode = (mode_t)(attr >> 16);
        mode_t type = mode & S_IFMT;
        size_t nlen = strlen(st.name);
        bool dir_name = nlen && st.name[nlen - 1] == '/';
        if (type != 0 && type != S_IFREG && type != S_IFDIR) {
            bfail(err, "bundle %s: entry \"%s\" is %s (only regular files and folders are allowed)",
                  zip, e, kind_of_mode(mode));
            goto entry_done;
        }
        if ((type == S_IFDIR && !dir_name) || (type == S_IFREG && dir_name)) {
            bfail(err, "bundle %s: entry \"%s\": its mode says %s but its name says %s", zip, e,
                  type == S_IFDIR ? "folder" : "file", dir_name ? "folder" : "file");
            goto entry_done;
        }
        if (dir_name && st.size != 0) {
            bfail(err, "bundle %s: folder entry \"%s\" has data", zip, e);
            goto entry_done;
        }
        if (st.size > lim->max_total_bytes || total + st.size > lim->max_total_bytes) {
            bfail(err, "bundle %s: entry \"%s\" takes the bundle past %llu bytes uncompressed",
                  zip, e, (unsigned long long)lim->max_total_bytes);
            goto entry_done;
        }
        total += st.size;
        total_comp += st.comp_size;
        if (plan_entry(pl, zip, st.name, i, st.size, err) < 0) goto entry_done;
        rc = 0;
    entry_done:
        free(e);
        if (rc < 0) return -1;
    }
    if (total > lim->ratio_floor && total / lim->max_ratio > total_comp)
        return bfail(err, "bundle %s expands %llu compressed bytes to %llu (more than %llu:1): "
                          "refusing a likely zip bomb",
                     zip, (unsigned long long)total_comp, (unsigned long long)total,
                     (unsigned long long)lim->max_ratio);
    return plan_check(pl, zip, err);
}

/* Checks the destination: nothing on the way may be a symlink or of the wrong type. */
static int check_destination(int cfd, const char *config_dir, const char *zip, const plan *pl,
                             char **err)
{
    for (size_t i = 0; i < pl->n; i++) {
        const plan_path *pp = &pl->p[i];
        struct stat st;
        if (fstatat(cfd, pp->path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            return bfail(err, "bundle %s: cannot check %s/%s: %s", zip, config_dir, pp->path,
                         strerror(errno));
        }
        bool want_dir = pp->kind != K_FILE;
        if (S_ISLNK(st.st_mode))
            return bfail(err, "bundle %s: %s/%s is a symbolic link; refusing to write through it",
                         zip, config_dir, pp->path);
        if (want_dir && !S_ISDIR(st.st_mode))
            return bfail(err, "bundle %s: %s/%s exists and is not a folder", zip, config_dir,
                         pp->path);
        if (!want_dir && !S_ISREG(st.st_mode))
            return bfail(err, "bundle %s: %s/%s exists and is not a regular file", zip, config_dir,
                         pp->path);
    }
    return 0;
}

/* Extracts one file entry into dirfd/base, counting the actual bytes. */
static int extract_file(zip_t *za, const plan_path *pp, int dirfd, const char *base,
                        const char *zip, const bundle_limits *lim, uint64_t *total, char **err)
{
    zip_file_t *zf = zip_fopen_index(za, pp->index, 0);
    if (!zf)
        return bfail(err, "bundle %s: entry \"%s\": cannot open: %s", zip, pp->path,
                     zip_strerror(za));
    int fd = openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        zip_fclose(zf);
        return bfail(err, "bundle %s: entry \"%s\": cannot create it: %s", zip, pp->path,
                     strerror(e));
    }
    int rc = -1;
    char *data = xmalloc(64 * 1024);
    uint64_t got = 0;
    for (;;) {
        zip_int64_t r = zip_fread(zf, data, 64 * 1024);
        if (r < 0) {
            bfail(err, "bundle %s: entry \"%s\" is damaged: %s", zip, pp->path,
                  zip_file_strerror(zf));
            goto out;
        }
        if (r == 0) break;
        got += (uint64_t)r;
        *total += (uint64_t)r;
        if (got > pp->size) {
            bfail(err, "bundle %s: entry \"%s\" holds more data than the %llu bytes its header "
                       "declares: refusing a lying header / zip bomb",
                  zip, pp->path, (unsigned long long)pp->size);
            goto out;
        }
        if (*total > lim->max_total_bytes) {
            bfail(err, "bundle %s expands past %llu bytes: refusing a zip bomb", zip,
                  (unsigned long long)lim->max_total_bytes);
            goto out;
        }
        if (!write_full(fd, data, (size_t)r)) {
            bfail(err, "bundle %s: entry \"%s\": cannot write it: %s", zip, pp->path,
                  strerror(errno));
            goto out;
        }
    }
    if (got != pp->size) {
        bfail(err, "bundle %s: entry \"%s\" holds %llu bytes but its header declares %llu", zip,
              pp->path, (unsigned long long)got, (unsigned long long)pp->size);
        goto out;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        bfail(err, "bundle %s: entry \"%s\": cannot write it: %s", zip, pp->path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(data);
    zip_fclose(zf);
    if (close(fd) != 0 && rc == 0)
        rc = bfail(err, "bundle %s: entry \"%s\": cannot write it: %s", zip, pp->path,
                   strerror(errno));
    return rc;
}

/* Extracts the plan into tmpfd (a fresh folder). */
static int extract_all(zip_t *za, const plan *pl, int tmpfd, const char *zip,
                       const bundle_limits *lim, char **err)
{
    uint64_t total = 0;
    for (size_t i = 0; i < pl->n; i++) { /* sorted: parents before children */
        const plan_path *pp = &pl->p[i];
        if (pp->kind == K_FILE) continue;
        int fd = open_dir_at(tmpfd, pp->path, true);
        if (fd < 0)
            return bfail(err, "bundle %s: cannot create folder \"%s\": %s", zip, pp->path,
                         strerror(errno));
        close(fd);
    }
    for (size_t i = 0; i < pl->n; i++) {
        const plan_path *pp = &pl->p[i];
        if (pp->kind != K_FILE) continue;
        const char *base;
        char *parent = split_parent(pp->path, &base);
        int dfd = open_dir_at(tmpfd, parent, false);
        free(parent);
        if (dfd < 0)
            return bfail(err, "bundle %s: entry \"%s\": cannot open its folder: %s", zip, pp->path,
                         strerror(errno));
        int rc = extract_file(za, pp, dfd, base, zip, lim, &total, err);
        close(dfd);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Moves the extracted tree from tmpfd into cfd: one rename for a new top
 * folder, else folder by folder and file by file (each rename atomic). */
static int move_into_place(int tmpfd, int cfd, const plan *pl, const char *config_dir,
                           const char *zip, char **err)
{
    if (renameat2(tmpfd, pl->top, cfd, pl->top, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EEXIST && errno != ENOTEMPTY && errno != EINVAL && errno != ENOSYS)
        return bfail(err, "bundle %s: cannot move %s into %s: %s", zip, pl->top, config_dir,
                     strerror(errno));
    for (size_t i = 0; i < pl->n; i++) {
        const plan_path *pp = &pl->p[i];
        if (pp->kind == K_FILE) continue;
        int fd = open_dir_at(cfd, pp->path, true);
        if (fd < 0)
            return bfail(err, "bundle %s: cannot create folder %s/%s: %s", zip, config_dir,
                         pp->path, strerror(errno));
        close(fd);
    }
    for (size_t i = 0; i < pl->n; i++) {
        const plan_path *pp = &pl->p[i];
        if (pp->kind != K_FILE) continue;
        const char *base;
        char *parent = split_parent(pp->path, &base);
        int from = open_dir_at(tmpfd, parent, false);
        int to = from >= 0 ? open_dir_at(cfd, parent, false) : -1;
        int e = errno;
        free(parent);
        int rc = to >= 0 ? renameat(from, base, to, base) : -1;
        if (rc != 0) e = to >= 0 ? errno : e;
        if (rc == 0) (void)fsync(to);
        if (from >= 0) close(from);
        if (to >= 0) close(to);
        if (rc != 0)
            return bfail(err, "bundle %s: cannot move %s into %s: %s", zip, pp->path, config_dir,
                         strerror(e));
    }
    return 0;
}

int bundle_install_limits(const char *zip_path, const char *config_dir,
                          const bundle_limits *limits, char **err)
{
    bundle_limits lim;
    resolve_limits(limits, &lim);
    int fd = open(zip_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return bfail(err, "cannot open bundle %s: %s", zip_path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return bfail(err, "bundle %s is not a regular file", zip_path);
    }
    if (scan_central_dir(fd, (uint64_t)st.st_size, zip_path, &lim, err) < 0) {
        close(fd);
        return -1;
    }
    int zfd = dup(fd);
    close(fd);
    if (zfd < 0) return bfail(err, "cannot open bundle %s: %s", zip_path, strerror(errno));
    int zerr = 0;
    zip_t *za = zip_fdopen(zfd, ZIP_CHECKCONS, &zerr);
    if (!za) {
        close(zfd);
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        bfail(err, "bundle %s is not a valid zip archive: %s", zip_path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return -1;
    }

    plan pl = { 0 };
    int rc = -1, cfd = -1, tmpfd = -1;
    char tmpname[64] = "";
    if (validate_archive(za, zip_path, &lim, &pl, err) < 0) goto out;

    cfd = open(config_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cfd < 0) {
        bfail(err, "cannot open config folder %s: %s", config_dir, strerror(errno));
        goto out;
    }
    if (check_destination(cfd, config_dir, zip_path, &pl, err) < 0) goto out;

    /* Everything checks out: extract beside the destination, then rename. */
    for (int attempt = 0; attempt < 16; attempt++) {
        unsigned char rnd[6];
        random_bytes(rnd, sizeof rnd);
        snprintf(tmpname, sizeof tmpname, ".bundle-tmp-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5]);
        if (mkdirat(cfd, tmpname, 0700) == 0) break;
        if (errno != EEXIST) {
            bfail(err, "bundle %s: cannot create a temporary folder in %s: %s", zip_path,
                  config_dir, strerror(errno));
            tmpname[0] = 0;
            goto out;
        }
    }
    tmpfd = openat(cfd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (tmpfd < 0) {
        bfail(err, "bundle %s: cannot open a temporary folder in %s: %s", zip_path, config_dir,
              strerror(errno));
        goto out;
    }
    if (extract_all(za, &pl, tmpfd, zip_path, &lim, err) < 0) goto out;
    if (move_into_place(tmpfd, cfd, &pl, config_dir, zip_path, err) < 0) goto out;
    (void)fsync(cfd);
    rc = 0;
out:
    if (tmpfd >= 0) close(tmpfd);
    if (cfd >= 0 && tmpname[0]) rm_tree_at(cfd, tmpname, 0);
    if (cfd >= 0) close(cfd);
    zip_discard(za);
    plan_free(&pl);
    return rc;
}

int bundle_install(const char *zip_path, const char *config_dir, char **err)
{
    return bundle_install_limits(zip_path, config_dir, NULL, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bundle_install_all(const char *config_dir, char **err)
{
    char *dir = xasprintf("%s/bundles", config_dir);
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        if (e == ENOENT) {
            free(dir);
            return 0;
        }
        bfail(err, "cannot open bundles folder %s: %s", dir, strerror(e));
        free(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ".zip")) continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
        names = xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        int r = bundle_install(path, config_dir, err);
        free(path);
        if (r < 0) {
            rc = -1;
            break;
        }
        rc++;
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(dir);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Create */

typedef struct src_entry {
    char *name;  /* zip entry name ("top/sub/", "top/sub/file") */
    bool dir;
    char *data;
    size_t len;
    time_t mtime;
} src_entry;

typedef struct src_list {
    src_entry *e;
    size_t n;
    uint64_t total;
} src_list;

static void src_free(src_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->e[i].name);
        free(l->e[i].data);
    }
    free(l->e);
    memset(l, 0, sizeof *l);
}

static int read_fd_all(int fd, uint64_t limit, char **data, size_t *len)
{
    buf b = { 0 };
    char tmp[65536];
    for (;;) {
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            buf_free(&b);
            return -1;
        }
        if (r == 0) break;
        if (b.len + (size_t)r > limit) {
            buf_free(&b);
            errno = EFBIG;
            return -1;
        }
        buf_append(&b, tmp, (size_t)r);
    }
    if (!b.p) buf_puts(&b, "");
    *data = buf_detach(&b, len);
    return 0;
}

static int walk(int dfd, const char *shown, const char *prefix, src_list *l, int depth,
                char **err)
{
    if (depth > 32) return bfail(err, "%s: folders nested too deeply", shown);
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return bfail(err, "cannot read folder %s: %s", shown, strerror(errno));
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *path = xasprintf("%s/%s", shown, de->d_name);
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = bfail(err, "cannot stat %s: %s", path, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (l->n >= BUNDLE_MAX_ENTRIES) {
                rc = bfail(err, "%s: more than %d files and folders", shown, BUNDLE_MAX_ENTRIES);
            } else {
                char *name = xasprintf("%s%s/", prefix, de->d_name);
                l->e = xrealloc(l->e, (l->n + 1) * sizeof *l->e);
                l->e[l->n++] = (src_entry){ name, true, NULL, 0, st.st_mtime };
                int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) rc = bfail(err, "cannot open folder %s: %s", path, strerror(errno));
                else {
                    rc = walk(sub, path, name, l, depth + 1, err);
                    close(sub);
                }
            }
        } else if (S_ISREG(st.st_mode)) {
            if (l->n >= BUNDLE_MAX_ENTRIES) {
                rc = bfail(err, "%s: more than %d files and folders", shown, BUNDLE_MAX_ENTRIES);
            } else {
                int f = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                char *data = NULL;
                size_t len = 0;
                if (f < 0 || read_fd_all(f, BUNDLE_MAX_TOTAL_BYTES - l->total, &data, &len) < 0) {
                    rc = errno == EFBIG
                             ? bfail(err, "%s: the bundle would exceed %llu bytes", path,
                                     (unsigned long long)BUNDLE_MAX_TOTAL_BYTES)
                             : bfail(err, "cannot read %s: %s", path, strerror(errno));
                } else {
                    l->total += len;
                    l->e = xrealloc(l->e, (l->n + 1) * sizeof *l->e);
                    l->e[l->n++] = (src_entry){ xasprintf("%s%s", prefix, de->d_name), false, data,
                                                len, st.st_mtime };
                }
                if (f >= 0) close(f);
            }
        } else {
            rc = bfail(err, "%s is %s; a bundle holds only regular files and folders", path,
                       kind_of_mode(st.st_mode));
        }
        free(path);
    }
    closedir(d);
    return rc;
}

static int cmp_src(const void *a, const void *b)
{
    return strcmp(((const src_entry *)a)->name, ((const src_entry *)b)->name);
}

/* The base name of folder, resolved (so "." and "dir/" work). */
static char *folder_base(const char *folder, char **err)
{
    char *real = realpath(folder, NULL);
    if (!real) {
        bfail(err, "cannot find folder %s: %s", folder, strerror(errno));
        return NULL;
    }
    const char *slash = strrchr(real, '/');
    char *base = xstrdup(slash ? slash + 1 : real);
    free(real);
    if (!*base) {
        free(base);
        bfail(err, "cannot bundle the root folder");
        return NULL;
    }
    return base;
}

char *bundle_default_name(const char *folder, char **err)
{
    char *base = folder_base(folder, err);
    if (!base) return NULL;
    char *name = xasprintf("%s.zip", base);
    free(base);
    return name;
}

int bundle_create(const char *folder, const char *zip_path, char **err)
{
    char *base = folder_base(folder, err);
    if (!base) return -1;
    char *out = zip_path ? xstrdup(zip_path) : xasprintf("%s.zip", base);
    src_list l = { 0 };
    zip_t *za = NULL;
    int rc = -1;
    char why[160];
    bool is_dir;
    size_t toplen;
    char *topname = xasprintf("%s/", base);
    if (!name_ok(topname, strlen(topname), &is_dir, &toplen, why, sizeof why)) {
        char *e = esc(base, strlen(base));
        bfail(err, "cannot bundle folder \"%s\": %s", e, why);
        free(e);
        goto out;
    }
    int dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        bfail(err, "cannot open folder %s: %s", folder, strerror(errno));
        goto out;
    }
    l.e = xmalloc(sizeof *l.e);
    struct stat st;
    l.e[l.n++] = (src_entry){ xstrdup(topname), true, NULL, 0,
                              fstat(dfd, &st) == 0 ? st.st_mtime : 0 };
    int wr = walk(dfd, folder, topname, &l, 0, err);
    close(dfd);
    if (wr < 0) goto out;
    qsort(l.e, l.n, sizeof *l.e, cmp_src);
    for (size_t i = 0; i < l.n; i++)
        if (!name_ok(l.e[i].name, strlen(l.e[i].name), &is_dir, &toplen, why, sizeof why)) {
            char *e = esc(l.e[i].name, strlen(l.e[i].name));
            bfail(err, "cannot bundle \"%s\": %s", e, why);
            free(e);
            goto out;
        }

    int zerr = 0;
    za = zip_open(out, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        bfail(err, "cannot create %s: %s", out, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        src_entry *e = &l.e[i];
        zip_int64_t idx;
        if (e->dir) {
            idx = zip_dir_add(za, e->name, ZIP_FL_ENC_UTF_8);
        } else {
            zip_source_t *src = zip_source_buffer(za, e->data, e->len, 1);
            if (!src) {
                bfail(err, "cannot add %s to %s: %s", e->name, out, zip_strerror(za));
                goto out;
            }
            e->data = NULL; /* owned by the source now */
            idx = zip_file_add(za, e->name, src, ZIP_FL_ENC_UTF_8);
            if (idx < 0) zip_source_free(src);
        }
        if (idx < 0 ||
            zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                             (zip_uint32_t)(e->dir ? S_IFDIR | 0755
                                                                   : S_IFREG | 0644)
                                                 << 16) != 0 ||
            (!e->dir && zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 0) != 0) ||
            (e->mtime > 0 && zip_file_set_mtime(za, (zip_uint64_t)idx, e->mtime, 0) != 0)) {
            bfail(err, "cannot add %s to %s: %s", e->name, out, zip_strerror(za));
            goto out;
        }
    }
    if (zip_close(za) != 0) {
        bfail(err, "cannot write %s: %s", out, zip_strerror(za));
        goto out;
    }
    za = NULL;
    rc = 0;
out:
    if (za) zip_discard(za);
    src_free(&l);
    free(topname);
    free(out);
    free(base);
    return rc;
}
