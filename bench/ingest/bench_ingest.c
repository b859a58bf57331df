/*
 * bench_ingest — bulk ingest through ferry's _bulk against raw LMDB puts of the same bytes.
 *
 *   ferry:  a real node (fresh data folder) takes N generated ~1 KB documents (dynamic
 *           mapping) through POST /_bulk, B documents per request, from C concurrent
 *           keep-alive connections (raw sockets, HTTP/1.1).
 *   lmdb:   the same N sources put with mdb_put into a fresh environment, one committed
 *           (fsync'ed, as ferry's) transaction per B documents, from one thread.
 *
 * Prints docs/s and MB/s (source bytes) of both and the ratio ferry / lmdb.
 *
 * usage: bench_ingest [-n docs] [-b per_bulk] [-c connections] [-f ferry_binary]
 *        (the binary defaults to $FERRY_BIN, else ../build/ferry relative to bench/)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* ------------------------------------------------------------------------ */
/* Documents                                                                */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static const char *const words[] = {
    "request", "served", "upstream", "timeout", "cache", "miss", "hit", "user", "session", "login",
    "payment", "order", "shipped", "queue", "worker", "retry", "latency", "spike", "disk", "memory",
    "connection", "reset", "handshake", "token", "expired", "refresh", "index", "shard", "replica", "node",
};

typedef struct doc {
    char *src;
    size_t len;
} doc;

static void gen_doc(size_t i, doc *d)
{
    char msg[1024];
    size_t m = 0;
    while (m < 700) {
        const char *w = words[rng() % (sizeof words / sizeof *words)];
        m += (size_t)snprintf(msg + m, sizeof msg - m, "%s%s", m ? " " : "", w);
    }
    char *out = malloc(2048);
    int n = snprintf(out, 2048,
                     "{\"@timestamp\":\"2024-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"host\":{\"name\":\"host-%u\","
                     "\"ip\":\"10.%u.%u.%u\"},\"service\":\"svc-%u\",\"level\":\"%s\",\"message\":\"%s\","
                     "\"user\":{\"id\":%u,\"name\":\"user-%u\"},\"http\":{\"method\":\"%s\",\"status\":%u,"
                     "\"bytes\":%u,\"path\":\"/api/v1/items/%u\"},\"duration_ms\":%u.%u,"
                     "\"tags\":[\"t%u\",\"t%u\",\"t%u\"],\"seq\":%zu}",
                     (int)(1 + rng() % 12), (int)(1 + rng() % 28), (int)(rng() % 24), (int)(rng() % 60),
                     (int)(rng() % 60), (int)(rng() % 1000), (unsigned)(rng() % 200), (unsigned)(rng() % 256),
                     (unsigned)(rng() % 256), (unsigned)(rng() % 256), (unsigned)(rng() % 20),
                     (rng() % 10) ? "INFO" : "WARN", msg, (unsigned)(rng() % 100000), (unsigned)(rng() % 100000),
                     (rng() % 3) ? "GET" : "POST", (rng() % 20) ? 200u : 500u, (unsigned)(rng() % 1000000),
                     (unsigned)(rng() % 100000), (unsigned)(rng() % 2000), (unsigned)(rng() % 10),
                     (unsigned)(rng() % 50), (unsigned)(rng() % 50), (unsigned)(rng() % 50), i);
    d->src = out;
    d->len = (size_t)n;
}

/* ------------------------------------------------------------------------ */
/* LMDB baseline                                                            */

static double run_lmdb(const doc *docs, size_t n, size_t per_txn, const char *dir)
{
    MDB_env *env;
    if (mdb_env_create(&env)) die("mdb_env_create");
    mdb_env_set_mapsize(env, (size_t)8 << 30);
    int rc = mdb_env_open(env, dir, 0, 0644); /* default: fsync at every commit */
    if (rc) {
        fprintf(stderr, "mdb_env_open: %s\n", mdb_strerror(rc));
        exit(1);
    }
    double t0 = now_s();
    for (size_t i = 0; i < n;) {
        MDB_txn *txn;
        MDB_dbi dbi;
        if (mdb_txn_begin(env, NULL, 0, &txn)) die("mdb_txn_begin");
        if (mdb_dbi_open(txn, NULL, 0, &dbi)) die("mdb_dbi_open");
        for (size_t k = 0; k < per_txn && i < n; k++, i++) {
            char key[32];
            int kl = snprintf(key, sizeof key, "doc-%08zu", i);
            MDB_val kv = { (size_t)kl, key }, vv = { docs[i].len, docs[i].src };
            rc = mdb_put(txn, dbi, &kv, &vv, 0);
            if (rc) {
                fprintf(stderr, "mdb_put: %s\n", mdb_strerror(rc));
                exit(1);
            }
        }
        rc = mdb_txn_commit(txn);
        if (rc) {
            fprintf(stderr, "mdb_txn_commit: %s\n", mdb_strerror(rc));
            exit(1);
        }
    }
    double t = now_s() - t0;
    mdb_env_close(env);
    return t;
}

/* ------------------------------------------------------------------------ */
/* HTTP over raw sockets                                                    */

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends one request and reads the answer; returns the status, body in *body (malloc'ed). */
static int http_call(int fd, const char *method, const char *path, const char *ctype, const char *data, size_t len,
                     char **body, size_t *blen)
{
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", method,
                      path, ctype, len);
    if (write_all(fd, head, (size_t)hl) || (len && write_all(fd, data, len))) return -1;
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap);
    char *end = NULL;
    while (!end) {
        if (got + 1 >= cap) buf = realloc(buf, cap *= 2);
        ssize_t r = read(fd, buf + got, cap - got - 1);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        got += (size_t)r;
        buf[got] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    const char *cl = strcasestr(buf, "content-length:");
    size_t need = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
    size_t hdr = (size_t)(end + 4 - buf);
    while (got - hdr < need) {
        if (got + 1 >= cap) buf = realloc(buf, cap = hdr + need + 1);
        ssize_t r = read(fd, buf + got, cap - got - 1);
        if (r <= 0) {
            free(buf);
            return -1;
        }
        got += (size_t)r;
    }
    *blen = need;
    *body = malloc(need + 1);
    memcpy(*body, buf + hdr, need);
    (*body)[need] = 0;
    free(buf);
    return status;
}

/* ------------------------------------------------------------------------ */
/* ferry                                                                    */

typedef struct bulk {
    char *p;
    size_t len;
} bulk;

typedef struct loader {
    int port;
    const bulk *bulks;
    size_t n_bulks;
    atomic_size_t next;
    atomic_int errors;
} loader;

static void *load_thread(void *arg)
{
    loader *l = arg;
    int fd = connect_to(l->port);
    if (fd < 0) {
        atomic_fetch_add(&l->errors, 1);
        return NULL;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&l->next, 1);
        if (i >= l->n_bulks) break;
        char *body;
        size_t blen;
        int st = http_call(fd, "POST", "/bench/_bulk", "application/x-ndjson", l->bulks[i].p, l->bulks[i].len, &body,
                           &blen);
        if (st != 200 || !strstr(body, "\"errors\":false")) {
            if (atomic_fetch_add(&l->errors, 1) == 0)
                fprintf(stderr, "bulk %zu: status %d: %.300s\n", i, st, st > 0 ? body : "");
        }
        if (st > 0) free(body);
        if (st < 0) break;
    }
    close(fd);
    return NULL;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &al)) die("port");
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t start_ferry(const char *bin, const char *dir, int port)
{
    char conf[512], yml[600], data[512], log[512], portarg[64], dataarg[600];
    snprintf(conf, sizeof conf, "%s/config", dir);
    snprintf(yml, sizeof yml, "%s/elasticsearch.yml", conf);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/node.log", dir);
    mkdir(conf, 0755);
    fclose(fopen(yml, "w"));
    snprintf(portarg, sizeof portarg, "http.port=%d", port);
    snprintf(dataarg, sizeof dataarg, "path.data=%s", data);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        setenv("FERRY_PATH_CONF", conf, 1);
        FILE *lf = freopen(log, "w", stdout);
        (void)lf;
        dup2(1, 2);
        execl(bin, bin, "serve", "-E", portarg, "-E", dataarg, "-E", "xpack.security.enabled=false", "-E",
              "node.name=bench-ingest", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 400; i++) {
        int fd = connect_to(port);
        if (fd >= 0) {
            char *body;
            size_t bl;
            int st = http_call(fd, "GET", "/", "application/json", NULL, 0, &body, &bl);
            close(fd);
            if (st == 200) {
                free(body);
                return pid;
            }
            if (st > 0) free(body);
        }
        usleep(25000);
    }
    fprintf(stderr, "ferry did not start (see %s)\n", log);
    kill(pid, SIGKILL);
    exit(1);
}

static void rm_rf(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    size_t n = 100000, per = 1000;
    int conns = 4;
    const char *bin = getenv("FERRY_BIN") ? getenv("FERRY_BIN") : "../build/ferry";
    int opt;
    while ((opt = getopt(argc, argv, "n:b:c:f:")) != -1) {
        switch (opt) {
        case 'n': n = strtoul(optarg, NULL, 10); break;
        case 'b': per = strtoul(optarg, NULL, 10); break;
        case 'c': conns = atoi(optarg); break;
        case 'f': bin = optarg; break;
        default:
            fprintf(stderr, "usage: %s [-n docs] [-b per_bulk] [-c connections] [-f ferry]\n", argv[0]);
            return 2;
        }
    }
    if (access(bin, X_OK)) {
        fprintf(stderr, "bench_ingest: no ferry binary at %s (build it, or set FERRY_BIN / -f)\n", bin);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    doc *docs = calloc(n, sizeof *docs);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        gen_doc(i, &docs[i]);
        bytes += docs[i].len;
    }
    size_t n_bulks = (n + per - 1) / per;
    bulk *bulks = calloc(n_bulks, sizeof *bulks);
    for (size_t b = 0; b < n_bulks; b++) {
        size_t cap = 0;
        for (size_t i = b * per; i < n && i < (b + 1) * per; i++) cap += docs[i].len + 64;
        char *p = malloc(cap);
        size_t len = 0;
        for (size_t i = b * per; i < n && i < (b + 1) * per; i++) {
            len += (size_t)sprintf(p + len, "{\"index\":{\"_id\":\"doc-%08zu\"}}\n", i);
            memcpy(p + len, docs[i].src, docs[i].len);
            len += docs[i].len;
            p[len++] = '\n';
        }
        bulks[b] = (bulk){ p, len };
    }
    double mb = (double)bytes / 1e6;
    printf("bulk ingest: %zu documents, %.1f MB of sources (avg %zu B), %zu per bulk/transaction, %d connections\n",
           n, mb, bytes / n, per, conns);

    char tmpl[] = "/tmp/ferry-bench-ingest-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) die("mkdtemp");

    /* LMDB: the same bytes, the same durability. */
    char ldir[600];
    snprintf(ldir, sizeof ldir, "%s/lmdb", dir);
    mkdir(ldir, 0755);
    double t_lmdb = run_lmdb(docs, n, per, ldir);

    /* ferry */
    int port = free_port();
    pid_t pid = start_ferry(bin, dir, port);
    int fd = connect_to(port);
    char *body;
    size_t bl;
    const char *create = "{\"settings\":{\"number_of_shards\":1,\"number_of_replicas\":0}}";
    int st = http_call(fd, "PUT", "/bench", "application/json", create, strlen(create), &body, &bl);
    if (st != 200) fprintf(stderr, "PUT /bench: %d %s\n", st, st > 0 ? body : "");
    if (st > 0) free(body);
    close(fd);

    loader l = { .port = port, .bulks = bulks, .n_bulks = n_bulks };
    pthread_t *th = calloc((size_t)conns, sizeof *th);
    double t0 = now_s();
    for (int i = 0; i < conns; i++) pthread_create(&th[i], NULL, load_thread, &l);
    for (int i = 0; i < conns; i++) pthread_join(th[i], NULL);
    double t_ferry = now_s() - t0;

    /* Every document must be there. */
    fd = connect_to(port);
    st = http_call(fd, "GET", "/_cat/count/bench?h=count", "application/json", NULL, 0, &body, &bl);
    long count = st == 200 ? atol(body) : -1;
    if (st > 0) free(body);
    close(fd);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    printf("%-8s %10s %10s %10s\n", "", "seconds", "docs/s", "MB/s");
    printf("%-8s %10.3f %10.0f %10.1f\n", "lmdb", t_lmdb, (double)n / t_lmdb, mb / t_lmdb);
    printf("%-8s %10.3f %10.0f %10.1f\n", "ferry", t_ferry, (double)n / t_ferry, mb / t_ferry);
    printf("ferry / lmdb: %.2f (of raw LMDB put throughput)\n", t_lmdb / t_ferry);
    if (atomic_load(&l.errors)) printf("ferry: %d bulk requests failed\n", atomic_load(&l.errors));
    if (count >= 0 && (size_t)count != n) printf("ferry: _cat/count answered %ld documents, expected %zu\n", count, n);

    rm_rf(dir);
    for (size_t i = 0; i < n; i++) free(docs[i].src);
    for (size_t b = 0; b < n_bulks; b++) free(bulks[b].p);
    free(docs);
    free(bulks);
    free(th);
    return atomic_load(&l.errors) ? 1 : 0;
}
