/*
 * Unit tests for src/bundle: create -> install round trip, hostile archives
 * (each rejected with nothing written anywhere), bundle_install_all, and the
 * `ferry bundle` command line.
 */
#include "bundle/bundle.h"
#include "cli/cli.h"
#include "core/core.h"
#include "unit.h"

#include <zip.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Helpers */

static char g_root[64]; /* per-test scratch folder: <root>/config is the config folder */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_rf(const char *path)
{
    nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_in(const char *rel)
{
    return xasprintf("%s/%s", g_root, rel);
}

static void setup(void)
{
    snprintf(g_root, sizeof g_root, "/tmp/ferry-bundle-XXXXXX");
    if (!mkdtemp(g_root)) {
        perror("mkdtemp");
        exit(1);
    }
    char *cfg = path_in("config");
    mkdir(cfg, 0755);
    free(cfg);
}

static void teardown(void)
{
    rm_rf(g_root);
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
        perror(path);
        exit(1);
    }
    close(fd);
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    buf b = { 0 };
    char tmp[8192];
    ssize_t r;
    while ((r = read(fd, tmp, sizeof tmp)) > 0) buf_append(&b, tmp, (size_t)r);
    close(fd);
    if (!b.p) buf_puts(&b, "");
    return buf_detach(&b, len);
}

/* A listing of everything under the scratch folder (names, types, sizes). */
static buf g_snap;
static int snap_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    buf_printf(&g_snap, "%s %d %o %lld\n", path, flag, (unsigned)st->st_mode,
               S_ISREG(st->st_mode) ? (long long)st->st_size : 0LL);
    return 0;
}

static char *snapshot(void)
{
    buf_reset(&g_snap);
    nftw(g_root, snap_cb, 16, FTW_PHYS);
    buf_puts(&g_snap, "");
    /* nftw's order is the folder order, stable for an unchanged tree */
    return xstrdup(g_snap.p);
}

typedef struct zentry {
    const char *name;
    const char *data; /* NULL: a folder entry (zip_dir_add) */
    size_t len;       /* 0 with data: strlen(data) */
    uint32_t mode;    /* Unix mode for the external attributes; 0: libzip's default */
} zentry;

/* Builds a zip with libzip from entries (the test's own hostile archives). */
static void make_zip(const char *path, const zentry *e, size_t n)
{
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!za) {
        fprintf(stderr, "zip_open %s failed (%d)\n", path, zerr);
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        zip_int64_t idx;
        if (!e[i].data) {
            idx = zip_dir_add(za, e[i].name, ZIP_FL_ENC_RAW);
        } else {
            size_t len = e[i].len ? e[i].len : strlen(e[i].data);
            zip_source_t *src = zip_source_buffer(za, e[i].data, len, 0);
            idx = zip_file_add(za, e[i].name, src, ZIP_FL_ENC_RAW);
        }
        if (idx < 0) {
            fprintf(stderr, "cannot add %s: %s\n", e[i].name, zip_strerror(za));
            exit(1);
        }
        if (e[i].mode)
            zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                             e[i].mode << 16);
    }
    if (zip_close(za) != 0) {
        fprintf(stderr, "zip_close %s: %s\n", path, zip_strerror(za));
        exit(1);
    }
}

/* Replaces every occurrence of from (n bytes) by to (n bytes) in the file. */
static int patch_bytes(const char *path, const void *from, const void *to, size_t n)
{
    size_t len;
    char *d = read_file(path, &len);
    int count = 0;
    for (size_t i = 0; d && i + n <= len; i++)
        if (memcmp(d + i, from, n) == 0) {
            memcpy(d + i, to, n);
            count++;
        }
    if (d) write_file(path, d, len);
    free(d);
    return count;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Rewrites the declared uncompressed size of the entry `name` (local and central headers). */
static int patch_declared_size(const char *path, const char *name, uint32_t size)
{
    size_t len, nlen = strlen(name);
    unsigned char *d = (unsigned char *)read_file(path, &len);
    int count = 0;
    for (size_t i = 0; d && i + 30 <= len; i++) {
        if (d[i] == 'P' && d[i + 1] == 'K' && d[i + 2] == 3 && d[i + 3] == 4 &&
            i + 30 + nlen <= len && d[i + 26] == nlen && d[i + 27] == 0 &&
            memcmp(d + i + 30, name, nlen) == 0) {
            put_le32(d + i + 22, size);
            count++;
        } else if (i + 46 + nlen <= len && d[i] == 'P' && d[i + 1] == 'K' && d[i + 2] == 1 &&
                   d[i + 3] == 2 && d[i + 28] == nlen && d[i + 29] == 0 &&
                   memcmp(d + i + 46, name, nlen) == 0) {
            put_le32(d + i + 24, size);
            count++;
        }
    }
    if (d) write_file(path, d, len);
    free(d);
    return count;
}

/*
 * Installs a hostile archive and checks it is refused with a message holding
 * `expect`, and that nothing changed anywhere under the scratch folder.
 */
static void expect_rejected(const char *zipname, const char *expect, const bundle_limits *lim)
{
    char *zip = path_in(zipname), *cfg = path_in("config");
    char *before = snapshot();
    char *err = NULL;
    int rc = bundle_install_limits(zip, cfg, lim, &err);
    CHECK_EQ_INT(rc, -1);
    if (rc == -1 && (!err || !strstr(err, expect)))
        UNIT_FAIL("%s: message \"%s\" lacks \"%s\"", zipname, err ? err : "(null)", expect);
    if (getenv("UNIT_VERBOSE")) printf("  %s -> %s\n", zipname, err ? err : "(null)");
    char *after = snapshot();
    if (strcmp(before, after) != 0)
        UNIT_FAIL("%s: the tree changed:\n--- before\n%s--- after\n%s", zipname, before, after);
    if (access("/tmp/evil", F_OK) == 0 || access("/etc/evil", F_OK) == 0)
        UNIT_FAIL("%s: wrote outside the scratch folder", zipname);
    free(before);
    free(after);
    free(err);
    free(zip);
    free(cfg);
}

/* ------------------------------------------------------------------------ */
/* Round trip */

TEST(create_then_install_round_trip)
{
    setup();
    char *src = path_in("src"), *ca = path_in("src/my_source_ca"),
         *sub = path_in("src/my_source_ca/sub");
    mkdir(src, 0755);
    mkdir(ca, 0700);
    mkdir(sub, 0755);
    char pem[3000];
    for (size_t i = 0; i < sizeof pem; i++) pem[i] = (char)(i * 7 + 3);
    char *f1 = path_in("src/my_source_ca/cacert.pem"), *f2 = path_in("src/my_source_ca/sub/n.txt");
    write_file(f1, pem, sizeof pem);
    write_file(f2, "note\n", 5);
    chmod(f1, 04755); /* setuid and exec bits must not survive */

    char *zip = path_in("my_source_ca.zip"), *err = NULL;
    CHECK_EQ_INT(bundle_create(ca, zip, &err), 0);
    if (err) printf("  %s\n", err);
    free(err);
    err = NULL;
    char *def = bundle_default_name(ca, &err);
    CHECK_EQ_STR(def, "my_source_ca.zip");
    free(def);

    /* The archive holds the folder by its base name. */
    int zerr;
    zip_t *za = zip_open(zip, ZIP_RDONLY, &zerr);
    CHECK(za != NULL);
    if (za) {
        CHECK_EQ_INT(zip_get_num_entries(za, 0), 4);
        CHECK(zip_name_locate(za, "my_source_ca/", 0) >= 0);
        CHECK(zip_name_locate(za, "my_source_ca/cacert.pem", 0) >= 0);
        CHECK(zip_name_locate(za, "my_source_ca/sub/n.txt", 0) >= 0);
        zip_discard(za);
    }

    char *cfg = path_in("config");
    CHECK_EQ_INT(bundle_install(zip, cfg, &err), 0);
    if (err) printf("  %s\n", err);
    free(err);
    err = NULL;
    char *g1 = path_in("config/my_source_ca/cacert.pem"), *g2 = path_in("config/my_source_ca/sub/n.txt");
    size_t len = 0;
    char *got = read_file(g1, &len);
    CHECK(got && len == sizeof pem && memcmp(got, pem, len) == 0);
    free(got);
    got = read_file(g2, &len);
    CHECK(got && len == 5 && memcmp(got, "note\n", 5) == 0);
    free(got);
    struct stat st;
    CHECK(stat(g1, &st) == 0 && (st.st_mode & 07777) == 0644);
    char *gd = path_in("config/my_source_ca");
    CHECK(stat(gd, &st) == 0 && (st.st_mode & 07777) == 0755);

    /* No temporary folder is left behind. */
    char *snap = snapshot();
    CHECK(strstr(snap, ".bundle-tmp-") == NULL);
    free(snap);

    /* Re-installing over an existing folder replaces the files atomically
     * and keeps the operator's other files. */
    write_file(g1, "changed", 7);
    char *extra = path_in("config/my_source_ca/mine.txt");
    write_file(extra, "keep", 4);
    CHECK_EQ_INT(bundle_install(zip, cfg, &err), 0);
    free(err);
    err = NULL;
    got = read_file(g1, &len);
    CHECK(got && len == sizeof pem && memcmp(got, pem, len) == 0);
    free(got);
    CHECK(access(extra, F_OK) == 0);
    snap = snapshot();
    CHECK(strstr(snap, ".bundle-tmp-") == NULL);
    free(snap);

    free(src), free(ca), free(sub), free(f1), free(f2), free(zip), free(cfg), free(g1), free(g2);
    free(gd), free(extra);
    teardown();
}

TEST(create_refuses_symlinks_and_missing_folders)
{
    setup();
    char *d = path_in("b"), *l = path_in("b/link"), *zip = path_in("b.zip"), *err = NULL;
    mkdir(d, 0755);
    CHECK(symlink("/etc/passwd", l) == 0);
    CHECK_EQ_INT(bundle_create(d, zip, &err), -1);
    CHECK(err && strstr(err, "symbolic link"));
    CHECK(access(zip, F_OK) != 0);
    free(err);
    err = NULL;
    char *missing = path_in("nope");
    CHECK_EQ_INT(bundle_create(missing, zip, &err), -1);
    CHECK(err && strstr(err, "nope"));
    free(err);
    free(d), free(l), free(zip), free(missing);
    teardown();
}

/* ------------------------------------------------------------------------ */
/* Hostile archives */

TEST(rejects_bad_paths)
{
    setup();
    struct {
        const char *name, *expect;
    } cases[] = {
        { "/tmp/evil", "absolute path" },
        { "../evil", "\"..\"" },
        { "a/../../evil", "\"..\"" },
        { "a/./b", "\".\"" },
        { "a//b", "empty path component" },
        { "a\\..\\..\\evil", "backslash" },
        { "C:/evil", "drive letter" },
        { "evil.txt", "top level" },
        { "a/\x1b[31mred", "control character" },
        { "a/\xc0\xaf" "evil", "UTF-8" },
        { ".hidden/x", "hidden" },
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zentry e[] = { { "a/ok.txt", "fine", 0, 0 }, { cases[i].name, "evil", 0, 0 } };
        char *zip = path_in("bad.zip");
        make_zip(zip, e, ARRAY_LEN(e));
        expect_rejected("bad.zip", cases[i].expect, NULL);
        unlink(zip);
        free(zip);
    }
    teardown();
}

TEST(rejects_two_top_folders_and_clashes)
{
    setup();
    char *zip = path_in("two.zip");
    zentry two[] = { { "a/x", "1", 0, 0 }, { "b/y", "2", 0, 0 } };
    make_zip(zip, two, 2);
    expect_rejected("two.zip", "outside the bundle's folder", NULL);
    zentry clash[] = { { "a/f", "1", 0, 0 }, { "a/f/g", "2", 0, 0 } };
    make_zip(zip, clash, 2);
    expect_rejected("two.zip", "both a file and a folder", NULL);
    free(zip);
    teardown();
}

TEST(rejects_special_entry_types)
{
    setup();
    struct {
        uint32_t mode;
        const char *expect;
    } cases[] = {
        { S_IFLNK | 0777, "symbolic link" },
        { S_IFCHR | 0644, "character device" },
        { S_IFBLK | 0644, "block device" },
        { S_IFIFO | 0644, "FIFO" },
        { S_IFSOCK | 0644, "socket" },
    };
    char *zip = path_in("special.zip");
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        zentry e[] = { { "a/ok.txt", "fine", 0, S_IFREG | 0644 },
                       { "a/link", "/etc/passwd", 0, cases[i].mode } };
        make_zip(zip, e, 2);
        expect_rejected("special.zip", cases[i].expect, NULL);
    }
    /* A folder mode on a file name (or the reverse) is refused too. */
    zentry e[] = { { "a/notadir", "x", 0, S_IFDIR | 0755 } };
    make_zip(zip, e, 1);
    expect_rejected("special.zip", "mode says folder", NULL);
    free(zip);
    teardown();
}

TEST(rejects_duplicates_and_nul_names)
{
    setup();
    char *zip = path_in("dup.zip");
    zentry e[] = { { "a/AAA", "1", 0, 0 }, { "a/BBB", "2", 0, 0 } };
    make_zip(zip, e, 2);
    CHECK_EQ_INT(patch_bytes(zip, "a/BBB", "a/AAA", 5), 2); /* local + central header */
    expect_rejected("dup.zip", "more than once", NULL);

    zentry n[] = { { "a/ok", "1", 0, 0 }, { "a/xQy", "2", 0, 0 } };
    make_zip(zip, n, 2);
    CHECK_EQ_INT(patch_bytes(zip, "a/xQy", "a/x\0y", 5), 2);
    expect_rejected("dup.zip", "NUL", NULL);
    free(zip);
    teardown();
}

TEST(rejects_too_many_entries)
{
    setup();
    size_t n = BUNDLE_MAX_ENTRIES + 1;
    zentry *e = xcalloc(n, sizeof *e);
    char **names = xcalloc(n, sizeof *names);
    for (size_t i = 0; i < n; i++) {
        names[i] = xasprintf("a/f%zu", i);
        e[i] = (zentry){ names[i], "x", 0, 0 };
    }
    char *zip = path_in("many.zip");
    make_zip(zip, e, n);
    expect_rejected("many.zip", "entries", NULL);
    /* Exactly the limit is fine. */
    make_zip(zip, e, n - 1);
    char *cfg = path_in("config"), *err = NULL;
    CHECK_EQ_INT(bundle_install(zip, cfg, &err), 0);
    free(err);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names), free(e), free(zip), free(cfg);
    teardown();
}

TEST(rejects_bombs_and_lying_sizes)
{
    setup();
    char *zip = path_in("bomb.zip");
    /* 2 MiB of zeros deflates ~1000:1: an overall ratio bomb. */
    size_t big = 2u << 20;
    char *zeros = xcalloc(1, big);
    zentry bomb[] = { { "a/zeros", zeros, big, 0 } };
    make_zip(zip, bomb, 1);
    expect_rejected("bomb.zip", "zip bomb", NULL);

    /* 512 KiB of zeros whose headers claim 100 bytes: caught while extracting,
     * with the temporary folder removed. */
    zentry liar[] = { { "a/ok", "fine", 0, 0 }, { "a/zeros", zeros, 512u << 10, 0 } };
    make_zip(zip, liar, 2);
    CHECK_EQ_INT(patch_declared_size(zip, "a/zeros", 100), 2);
    expect_rejected("bomb.zip", "a/zeros\" holds more data than the 100 bytes", NULL);

    /* Declared total over the limit (the limit made small for the test). */
    bundle_limits small = { .max_total_bytes = 1000 };
    char rnd[1500];
    for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (char)(i * 131 + (i >> 3));
    zentry over[] = { { "a/r", rnd, sizeof rnd, 0 } };
    make_zip(zip, over, 1);
    expect_rejected("bomb.zip", "past 1000 bytes", &small);

    /* Headers claiming more than was stored (a truncated entry) also fail cleanly. */
    zentry trunc[] = { { "a/t", "short", 0, 0 } };
    make_zip(zip, trunc, 1);
    CHECK_EQ_INT(patch_declared_size(zip, "a/t", 50), 2);
    expect_rejected("bomb.zip", "a/t", NULL);
    free(zeros);
    free(zip);
    teardown();
}

TEST(rejects_encrypted_entries_and_garbage)
{
    setup();
    char *zip = path_in("enc.zip");
    int zerr;
    zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    zip_int64_t idx = zip_file_add(za, "a/secret", zip_source_buffer(za, "data", 4, 0), 0);
    bool enc = zip_file_set_encryption(za, (zip_uint64_t)idx, ZIP_EM_AES_256, "pw") == 0;
    zip_close(za);
    if (enc) expect_rejected("enc.zip", "encrypted", NULL);
    else printf("  (libzip without AES support: encrypted case skipped)\n");

    write_file(zip, "this is not a zip file at all, just text", 40);
    expect_rejected("enc.zip", "not a zip archive", NULL);
    free(zip);
    teardown();
}

TEST(never_writes_through_destination_symlinks)
{
    setup();
    char *outside = path_in("outside"), *zip = path_in("ok.zip");
    mkdir(outside, 0755);
    zentry e[] = { { "ca/", NULL, 0, 0 }, { "ca/cacert.pem", "PEM", 0, 0 } };
    make_zip(zip, e, 2);

    /* config/ca is a symlink to a folder outside. */
    char *link = path_in("config/ca");
    CHECK(symlink(outside, link) == 0);
    expect_rejected("ok.zip", "symbolic link", NULL);
    unlink(link);

    /* config/ca/cacert.pem is a symlink to a file outside. */
    mkdir(link, 0755);
    char *target = path_in("outside/victim"), *flink = path_in("config/ca/cacert.pem");
    write_file(target, "victim", 6);
    CHECK(symlink(target, flink) == 0);
    expect_rejected("ok.zip", "symbolic link", NULL);
    size_t len;
    char *v = read_file(target, &len);
    CHECK(v && len == 6 && memcmp(v, "victim", 6) == 0);
    free(v);

    /* A regular file where the bundle needs a folder. */
    unlink(flink);
    rmdir(link);
    write_file(link, "file", 4);
    expect_rejected("ok.zip", "not a folder", NULL);

    free(outside), free(zip), free(link), free(target), free(flink);
    teardown();
}

/* ------------------------------------------------------------------------ */
/* bundle_install_all and the command line */

TEST(install_all_from_bundles_folder)
{
    setup();
    char *cfg = path_in("config"), *err = NULL;
    CHECK_EQ_INT(bundle_install_all(cfg, &err), 0); /* no bundles folder */
    free(err);
    err = NULL;
    char *bdir = path_in("config/bundles");
    mkdir(bdir, 0755);
    char *a = path_in("config/bundles/a.zip"), *b = path_in("config/bundles/b.zip"),
         *t = path_in("config/bundles/readme.txt");
    zentry ea[] = { { "src_a/cacert.pem", "A", 0, 0 } };
    zentry eb[] = { { "src_b/", NULL, 0, 0 }, { "src_b/cacert.pem", "B", 0, 0 } };
    make_zip(a, ea, 1);
    make_zip(b, eb, 2);
    write_file(t, "ignored", 7);
    CHECK_EQ_INT(bundle_install_all(cfg, &err), 2);
    if (err) printf("  %s\n", err);
    free(err);
    err = NULL;
    char *ga = path_in("config/src_a/cacert.pem"), *gb = path_in("config/src_b/cacert.pem");
    size_t len;
    char *d = read_file(ga, &len);
    CHECK(d && len == 1 && d[0] == 'A');
    free(d);
    d = read_file(gb, &len);
    CHECK(d && len == 1 && d[0] == 'B');
    free(d);

    /* A hostile bundle stops start-up with its name in the message. */
    char *c = path_in("config/bundles/c.zip");
    zentry ec[] = { { "../evil", "x", 0, 0 } };
    make_zip(c, ec, 1);
    CHECK_EQ_INT(bundle_install_all(cfg, &err), -1);
    CHECK(err && strstr(err, "c.zip") && strstr(err, ".."));
    free(err);
    char *evil = path_in("evil");
    CHECK(access(evil, F_OK) != 0);
    free(cfg), free(bdir), free(a), free(b), free(t), free(ga), free(gb), free(c), free(evil);
    teardown();
}

static int run_cli(const char *const *args)
{
    int argc = 0;
    while (args[argc]) argc++;
    char **argv = xcalloc((size_t)argc + 1, sizeof *argv);
    for (int i = 0; i < argc; i++) argv[i] = xstrdup(args[i]);
    /* Keep the test output quiet: the command's messages go to /dev/null. */
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2), dn = open("/dev/null", O_WRONLY);
    dup2(dn, 1);
    dup2(dn, 2);
    int rc = cmd_bundle(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so), close(se), close(dn);
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    return rc;
}

TEST(command_line)
{
    setup();
    char *src = path_in("my_source_ca"), *pem = path_in("my_source_ca/cacert.pem");
    char *zip = path_in("out.zip"), *cfg = path_in("config");
    mkdir(src, 0755);
    write_file(pem, "CERT", 4);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", NULL }), 2);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "--help", NULL }), 0);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "frob", NULL }), 2);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "create", NULL }), 2);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "create", "--bogus", src, NULL }), 2);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "install", "--help", NULL }), 0);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "create", src, "-o", zip, NULL }), 0);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "install", zip, "--config", cfg, NULL }), 0);
    char *got = path_in("config/my_source_ca/cacert.pem");
    size_t len;
    char *d = read_file(got, &len);
    CHECK(d && len == 4 && memcmp(d, "CERT", 4) == 0);
    free(d);
    /* FERRY_PATH_CONF is the default config folder. */
    char *cfg2 = path_in("conf2");
    mkdir(cfg2, 0755);
    setenv("FERRY_PATH_CONF", cfg2, 1);
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "install", zip, NULL }), 0);
    unsetenv("FERRY_PATH_CONF");
    char *got2 = path_in("conf2/my_source_ca/cacert.pem");
    CHECK(access(got2, F_OK) == 0);
    char *missing = path_in("nope.zip");
    CHECK_EQ_INT(run_cli((const char *[]){ "bundle", "install", missing, "--config", cfg, NULL }), 1);
    free(src), free(pem), free(zip), free(cfg), free(got), free(cfg2), free(got2), free(missing);
    teardown();
}

int main(void)
{
    RUN(create_then_install_round_trip);
    RUN(create_refuses_symlinks_and_missing_folders);
    RUN(rejects_bad_paths);
    RUN(rejects_two_top_folders_and_clashes);
    RUN(rejects_special_entry_types);
    RUN(rejects_duplicates_and_nul_names);
    RUN(rejects_too_many_entries);
    RUN(rejects_bombs_and_lying_sizes);
    RUN(rejects_encrypted_entries_and_garbage);
    RUN(never_writes_through_destination_symlinks);
    RUN(install_all_from_bundles_folder);
    RUN(command_line);
    buf_free(&g_snap);
    return unit_report();
}
