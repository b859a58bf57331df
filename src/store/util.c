/*
 * util.c — store helpers: MurmurHash3, slot names, directory trees.
 */
#include "store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain algorithm),
 * written from its description: 4-byte little-endian blocks mixed into the
 * state, the 1–3 byte tail, then the length and the final avalanche. */

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

uint32_t store_murmur3_32(const void *data, size_t len, uint32_t seed)
{
    const uint8_t *p = data;
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed;
    size_t nblocks = len / 4;

    for (size_t i = 0; i < nblocks; i++) {
        uint32_t k = get_le32(p + 4 * i);
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }

    const uint8_t *tail = p + 4 * nblocks;
    uint32_t k = 0;
    switch (len & 3) {
    case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
    }

    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* ------------------------------------------------------------------------ */
/* slot names */

int slot_names_find(slot_names *sn, const char *name)
{
    unsigned n = atomic_load_explicit(&sn->n, memory_order_acquire);
    for (unsigned i = 0; i < n; i++)
        if (strcmp(sn->names[i], name) == 0) return (int)i;
    return -1;
}

int slot_names_add(slot_names *sn, const char *name)
{
    int slot = slot_names_find(sn, name);
    if (slot >= 0) return slot;
    pthread_mutex_lock(&sn->mu);
    slot = slot_names_find(sn, name);
    if (slot < 0) {
        unsigned n = atomic_load_explicit(&sn->n, memory_order_relaxed);
        if (n < SLOT_MAX) {
            sn->names[n] = xstrdup(name);
            atomic_store_explicit(&sn->n, n + 1, memory_order_release);
            slot = (int)n;
        }
    }
    pthread_mutex_unlock(&sn->mu);
    return slot;
}

/* ------------------------------------------------------------------------ */
/* directories */

int store_mkdirs(const char *path)
{
    char *p = xstrdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != 0) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            rc = errno;
            break;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    if (rc == 0) {
        struct stat sb;
        if (stat(path, &sb) != 0) rc = errno;
        else if (!S_ISDIR(sb.st_mode)) rc = ENOTDIR;
    }
    return rc;
}

static int rmtree_at(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        if (errno == ENOTDIR || errno == ELOOP) return unlinkat(dirfd, name, 0) == 0 ? 0 : errno;
        return errno;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return e;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        int r;
        if (de->d_type == DT_DIR)
            r = rmtree_at(fd, de->d_name);
        else if (de->d_type == DT_UNKNOWN)
            r = rmtree_at(fd, de->d_name); /* handles files too (ENOTDIR) */
        else
            r = unlinkat(fd, de->d_name, 0) == 0 ? 0 : errno;
        if (r && !rc) rc = r;
    }
    closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && !rc) rc = errno;
    return rc;
}

int store_rmtree(const char *path)
{
    return rmtree_at(AT_FDCWD, path);
}
