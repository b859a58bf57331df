/* Unit tests for reindex from remote against a scripted fake cluster on loopback (a small HTTP
 * server thread in this file): the request sequence each remote version gets (Elasticsearch
 * 0.90 to 9.x, OpenSearch 1 to 3), scan-era answers, plain-text scroll bodies, routing read from
 * fields or hits, hits.total as a number or an object, clear-scroll at the end, 429 retries and
 * failures, non-Elasticsearch answers; and the remote _bulk target. */
#include "reindex/reindex.h"
#include "store/store.h"
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* The fake cluster                                                          */

typedef struct fake {
    int lfd;
    int port;
    pthread_t th;
    const char *version;
    const char *distribution;
    int scan;                  /* answer the first search with no hits and a scroll id */
    int fail_search_429;       /* answer the first N searches/scrolls with 429 */
    int fail_bulk_429;
    int not_es;                /* answer GET / with HTML */
    int search_status;         /* answer the initial search with this status (0: normal) */
    int delay_ms;              /* wait this long before answering a search */
    int huge;                  /* announce a search answer over 100 MiB */
    pthread_mutex_t mu;
    int conns;                 /* connection threads alive */
    char log[64][2048];        /* "METHOD PATH|content-type|auth|body" */
    int nlog;
    int scrolls;
    char bulk_body[8192];
} fake;

static int read_request(int fd, char *req, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        if (n + 1 >= cap) return -1;
        ssize_t r = recv(fd, req + n, cap - 1 - n, 0);
        if (r <= 0) return -1;
        n += (size_t)r;
        req[n] = 0;
        char *end = strstr(req, "\r\n\r\n");
        if (!end) continue;
        size_t head = (size_t)(end + 4 - req);
        size_t clen = 0;
        char *cl = strcasestr(req, "\r\nContent-Length:");
        if (cl && cl < end) clen = (size_t)atol(cl + 17);
        while (n < head + clen) {
            if (n + 1 >= cap) return -1;
            r = recv(fd, req + n, cap - 1 - n, 0);
            if (r <= 0) return -1;
            n += (size_t)r;
            req[n] = 0;
        }
        *len = n;
        return (int)head;
    }
}

static void answer(int fd, int status, const char *ctype, const char *body)
{
    char head[256];
    size_t bl = strlen(body);
    int hl = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s%s%s\r\n", status, bl,
                      ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "");
    if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) < 0) return;
    if (bl && send(fd, body, bl, MSG_NOSIGNAL) < 0) return;
}

static bool v_before(const char *v, int maj, int min)
{
    int a = 0, b = 0;
    sscanf(v, "%d.%d", &a, &b);
    return a < maj || (a == maj && b < min);
}

static void hits_json(fake *f, buf *b, int from, int to, int total)
{
    bool old = f->distribution == NULL && v_before(f->version, 2, 0);
    bool obj = f->distribution != NULL || !v_before(f->version, 7, 0);
    if (obj) buf_printf(b, "{\"hits\":{\"total\":{\"value\":%d,\"relation\":\"eq\"},\"hits\":[", total);
    else buf_printf(b, "{\"hits\":{\"total\":%d,\"hits\":[", total);
    for (int i = from; i < to; i++) {
        buf_printf(b, "%s{\"_index\":\"src\",\"_type\":\"doc\",\"_id\":\"d%d\",\"_version\":%d,\"_score\":null,", i > from ? "," : "",
                   i, 10 + i);
        if (i == 2) buf_puts(b, old ? "\"fields\":{\"_routing\":\"r2\"}," : "\"_routing\":\"r2\",");
        buf_printf(b, "\"_source\":{\"n\":%d,\"t\":\"doc %d\"}}", i, i);
    }
    buf_puts(b, "]},\"_scroll_id\":\"SCROLL-1\",\"timed_out\":false,\"_shards\":{\"total\":1,\"successful\":1,\"failed\":0}}");
}

static void handle(fake *f, int fd, const char *req, int head, size_t len)
{
    char method[16] = "", path[1024] = "";
    sscanf(req, "%15s %1023s", method, path);
    const char *ct = strcasestr(req, "\r\nContent-Type:");
    char ctype[64] = "-";
    if (ct && ct < req + head) sscanf(ct + 15, " %63[^\r]", ctype);
    bool auth = strcasestr(req, "\r\nAuthorization: Basic ") != NULL;
    bool apikey = strcasestr(req, "\r\nAuthorization: ApiKey aWQ6a2V5\r\n") != NULL;
    bool xtest = strcasestr(req, "\r\nX-Test: yes\r\n") != NULL;
    const char *body = req + head;
    pthread_mutex_lock(&f->mu);
    if (f->nlog < 64)
        snprintf(f->log[f->nlog++], sizeof f->log[0], "%s %s|%s|%s%s|%.*s", method, path, ctype,
                 auth ? "auth" : apikey ? "apikey" : "-", xtest ? "+xtest" : "", (int)(len - (size_t)head), body);
    pthread_mutex_unlock(&f->mu);
    buf b = { 0 };
    if (!strcmp(method, "GET") && (!strcmp(path, "/") || !strcmp(path, "/prefix/"))) {
        if (f->not_es) {
            answer(fd, 200, "text/html", "<html><body>It works!</body></html>");
            return;
        }
        buf_printf(&b, "{\"name\":\"fake\",\"version\":{\"number\":\"%s\"%s%s%s},\"tagline\":\"You Know, for Search\"}",
                   f->version, f->distribution ? ",\"distribution\":\"" : "", f->distribution ? f->distribution : "",
                   f->distribution ? "\"" : "");
        answer(fd, 200, "application/json; charset=UTF-8", b.p);
    } else if (strstr(path, "/_search/scroll") && !strcmp(method, "DELETE")) {
        answer(fd, 200, "application/json", "{\"succeeded\":true,\"num_freed\":1}");
    } else if (strstr(path, "/_search")) {
        if (f->fail_search_429 > 0) {
            f->fail_search_429--;
            answer(fd, 429, "application/json",
                   "{\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"busy\"},\"status\":429}");
            return;
        }
        if (f->delay_ms) usleep((useconds_t)f->delay_ms * 1000);
        if (f->huge) {
            const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857601\r\n\r\n{\"hits\":";
            if (send(fd, h, strlen(h), MSG_NOSIGNAL) < 0) return;
            usleep(200000);
            return;
        }
        if (!strstr(path, "/_search/scroll")) {
            if (f->search_status) {
                answer(fd, f->search_status, "application/json",
                       "{\"error\":{\"root_cause\":[],\"type\":\"index_not_found_exception\",\"reason\":\"no such index [src]\"},\"status\":404}");
                return;
            }
            if (f->scan) hits_json(f, &b, 0, 0, 3);
            else hits_json(f, &b, 0, 2, 3);
        } else {
            int k = f->scrolls++;
            if (f->scan) hits_json(f, &b, k == 0 ? 0 : k == 1 ? 2 : 3, k == 0 ? 2 : 3, 3);
            else hits_json(f, &b, k == 0 ? 2 : 3, 3, 3);
        }
        answer(fd, 200, "application/json; charset=UTF-8", b.p);
    } else if (strstr(path, "/_bulk")) {
        if (f->fail_bulk_429 > 0) {
            f->fail_bulk_429--;
            answer(fd, 429, "application/json", "{\"error\":{\"type\":\"es_rejected_execution_exception\",\"reason\":\"busy\"},\"status\":429}");
            return;
        }
        snprintf(f->bulk_body, sizeof f->bulk_body, "%.*s", (int)(len - (size_t)head), body);
        buf_puts(&b, "{\"took\":1,\"errors\":false,\"items\":[");
        int item = 0;
        for (const char *line = body; line < req + len && *line;) {
            const char *nl = strchr(line, '\n');
            if (!nl) break;
            bool del = strstr(line, "{\"delete\"") == line;
            const char *idp = strstr(line, "\"_id\":\"");
            char id[64] = "";
            if (idp && idp < nl) sscanf(idp + 7, "%63[^\"]", id);
            if (item++) buf_putc(&b, ',');
            if (!strcmp(id, "conflict"))
                buf_printf(&b, "{\"create\":{\"_index\":\"dst\",\"_id\":\"%s\",\"status\":409,\"error\":{\"type\":"
                               "\"version_conflict_engine_exception\",\"reason\":\"[conflict]: version conflict\"}}}",
                           id);
            else
                buf_printf(&b, "{\"%s\":{\"_index\":\"dst\",\"_id\":\"%s\",\"_version\":1,\"result\":\"%s\",\"_seq_no\":%d,\"status\":%d}}",
                           del ? "delete" : "index", id, del ? "deleted" : "created", item, del ? 200 : 201);
            line = nl + 1;
            if (!del) {
                nl = strchr(line, '\n');
                if (!nl) break;
                line = nl + 1;
            }
        }
        buf_puts(&b, "]}");
        answer(fd, 200, "application/json", b.p);
    } else {
        answer(fd, 404, "application/json", "{}");
    }
    buf_free(&b);
}

typedef struct conn_arg {
    fake *f;
    int fd;
} conn_arg;

static void *serve_conn(void *arg)
{
    conn_arg *ca = arg;
    char *req = xmalloc(1 << 20);
    size_t len;
    int head;
    while ((head = read_request(ca->fd, req, 1 << 20, &len)) >= 0) handle(ca->f, ca->fd, req, head, len);
    free(req);
    close(ca->fd);
    pthread_mutex_lock(&ca->f->mu);
    ca->f->conns--;
    pthread_mutex_unlock(&ca->f->mu);
    free(ca);
    return NULL;
}

/* One thread per connection: slices keep their keep-alive connections open side by side. */
static void *serve(void *arg)
{
    fake *f = arg;
    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0) return NULL;
        conn_arg *ca = xcalloc(1, sizeof *ca);
        ca->f = f;
        ca->fd = fd;
        pthread_mutex_lock(&f->mu);
        f->conns++;
        pthread_mutex_unlock(&f->mu);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_create(&th, &at, serve_conn, ca);
        pthread_attr_destroy(&at);
    }
}

static void fake_start(fake *f, const char *version, const char *distribution)
{
    memset(f, 0, sizeof *f);
    f->version = version;
    f->distribution = distribution;
    pthread_mutex_init(&f->mu, NULL);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(f->lfd, (struct sockaddr *)&a, sizeof a) || listen(f->lfd, 16)) abort();
    socklen_t al = sizeof a;
    getsockname(f->lfd, (struct sockaddr *)&a, &al);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->th, NULL, serve, f);
}

static void fake_stop(fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->th, NULL);
    /* the jobs are over and their connections closed: the connection threads end */
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&f->mu);
        int left = f->conns;
        pthread_mutex_unlock(&f->mu);
        if (!left) break;
        usleep(10000);
    }
    pthread_mutex_destroy(&f->mu);
}

static const char *fake_find(fake *f, const char *prefix)
{
    for (int i = 0; i < f->nlog; i++)
        if (!strncmp(f->log[i], prefix, strlen(prefix))) return f->log[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* A node: indices, tasks, the reindex context                               */

static char tmpdir[64];
static config *cfg;
static indices *ix;
static tasks *tm;
static reindex_env *env;

static const setting_def test_settings[] = {
    { "path.data", SETTING_STRING, "data", NULL, 0, 0, NULL },
};

static void node_open(void)
{
    config_register(test_settings, ARRAY_LEN(test_settings));
    config_register(indices_settings, indices_settings_count);
    config_register(reindex_settings, reindex_settings_count);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-rxr-XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
    char *data = xasprintf("path.data=%s/data", tmpdir);
    const char *over[] = { data, "reindex.remote.whitelist=127.0.0.1:*", "reindex.remote.retry.initial_backoff=50ms",
                           "reindex.remote.retry.max_count=3" };
    char *msg = NULL;
    cfg = config_load(tmpdir, over, 4, &msg);
    free(data);
    if (!cfg) {
        printf("config: %s\n", msg);
        abort();
    }
    es_err err = { 0 };
    ix = indices_open(cfg, &err);
    if (!ix) abort();
    tm = tasks_new(ix, "node1");
    env = reindex_env_open(cfg, ix, tm, "8.17.0");
}

static void node_close(void)
{
    tasks_stop(tm, 5000);
    reindex_env_close(env);
    tasks_free(tm);
    indices_close(ix);
    config_free(cfg);
    char *cmd = xasprintf("rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("cleanup failed\n");
    free(cmd);
}

/* Runs a reindex to completion; *status and the response (heap) or the error. */
static char *run_reindex(const char *body, const char *slices, int *status, es_err *err)
{
    rx_params p = { .slices = slices };
    rx_request *r = NULL;
    if (rx_request_parse(env, RX_REINDEX, body, strlen(body), &p, &r, err)) return NULL;
    task *t = reindex_start(env, r, err);
    if (!t) return NULL;
    task_wait(t, -1);
    const char *json = NULL;
    char *out = NULL;
    if (task_result(t, status, &json, err) == 0) out = xstrdup(json);
    task_release(t);
    return out;
}

/* A stored document's routing, or NULL (heap). found: whether it exists. */
static char *doc_routing(const char *index, const char *id, const char *routing, bool *found)
{
    *found = false;
    store_index *si = store_index_get(indices_store(ix), index);
    if (!si) return NULL;
    const char *key = routing ? routing : id;
    uint32_t sh = store_shard_for(si, key, strlen(key));
    store_txn *snap = NULL;
    es_err err = { 0 };
    char *out = NULL;
    if (store_read_begin(si, sh, &snap, &err) == 0) {
        store_doc d;
        if (store_doc_get(snap, id, strlen(id), &d, &err) == 1) {
            *found = true;
            if (d.routing) out = xstrndup(d.routing, d.routing_len);
        }
        store_read_end(snap);
    }
    es_err_free(&err);
    store_index_release(si);
    return out;
}

/* ------------------------------------------------------------------------ */

typedef struct vcase {
    const char *version, *distribution;
    int scan;
    const char *search_params;   /* expected query string of the first search */
    const char *scroll_ctype;    /* content type of the scroll request */
    const char *scroll_body;     /* its body */
    const char *clear_body;
} vcase;

static const vcase cases[] = {
    { "0.90.13", NULL, 1, "scroll=300000ms&size=2&version=false&search_type=scan&fields=_source%2C_parent%2C_routing%2C_ttl",
      "text/plain", "SCROLL-1", "SCROLL-1" },
    { "1.7.6", NULL, 1, "scroll=300000ms&size=2&version=false&search_type=scan&fields=_parent%2C_routing%2C_ttl",
      "text/plain", "SCROLL-1", "SCROLL-1" },
    { "2.0.2", NULL, 1, "scroll=300000ms&size=2&version=false&search_type=scan", "application/json",
      "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "2.4.6", NULL, 0, "scroll=300000ms&size=2&version=false&sort=_doc%3Aasc", "application/json",
      "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "5.6.16", NULL, 0, "scroll=5m&size=2&version=false&sort=_doc%3Aasc", "application/json",
      "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "6.8.23", NULL, 0, "scroll=5m&size=2&version=false&sort=_doc%3Aasc&allow_partial_search_results=false",
      "application/json", "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "7.17.25", NULL, 0, "scroll=5m&size=2&version=false&sort=_doc%3Aasc&allow_partial_search_results=false",
      "application/json", "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "8.17.0", NULL, 0, "scroll=5m&size=2&version=false&sort=_doc%3Aasc&allow_partial_search_results=false",
      "application/json", "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "9.1.0-SNAPSHOT", NULL, 0, "scroll=5m&size=2&version=false&sort=_doc%3Aasc&allow_partial_search_results=false",
      "application/json", "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "1.3.19", "opensearch", 0, "scroll=5m&size=2&version=false&sort=_doc%3Aasc&allow_partial_search_results=false",
      "application/json", "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "2.17.0", "opensearch", 0, "scroll=5m&size=2&version=false&sort=_doc%3Aasc&allow_partial_search_results=false",
      "application/json", "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
    { "3.1.0", "opensearch", 0, "scroll=5m&size=2&version=false&sort=_doc%3Aasc&allow_partial_search_results=false",
      "application/json", "{\"scroll_id\":\"SCROLL-1\"}", "{\"scroll_id\":[\"SCROLL-1\"]}" },
};

TEST(versions_end_to_end)
{
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const vcase *c = &cases[i];
        fake f;
        fake_start(&f, c->version, c->distribution);
        f.scan = c->scan;
        char dest[32];
        snprintf(dest, sizeof dest, "dst%zu", i);
        char *body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\",\"username\":\"u\",\"password\":\"p\"},"
                               "\"index\":\"src\",\"size\":2},\"dest\":{\"index\":\"%s\"}}",
                               f.port, dest);
        int status = 0;
        es_err err = { 0 };
        char *resp = run_reindex(body, NULL, &status, &err);
        if (!resp) UNIT_FAIL("%s: %s", c->version, err.reason);
        es_err_free(&err);
        CHECK_EQ_INT(status, 200);
        if (resp && !strstr(resp, "\"total\":3,\"updated\":0,\"created\":3")) UNIT_FAIL("%s: %s", c->version, resp);
        free(resp);
        char want[512];
        snprintf(want, sizeof want, "POST /src/_search?%s|application/json", c->search_params);
        const char *first = fake_find(&f, want);
        if (!first) UNIT_FAIL("%s: no [%s] in %s", c->version, want, f.nlog > 1 ? f.log[1] : "(none)");
        if (first && !strstr(first, "|auth|")) UNIT_FAIL("%s: Basic auth not sent pre-emptively", c->version);
        bool old_source = v_before(c->version, 1, 0) && !c->distribution;
        if (first && !strstr(first, old_source ? "|{\"query\":{\"match_all\":{\"boost\":1.0}}}"
                                               : "|{\"query\":{\"match_all\":{\"boost\":1.0}},\"_source\":true}"))
            UNIT_FAIL("%s: body of %s", c->version, first);
        const char *scroll = fake_find(&f, "POST /_search/scroll?scroll=");
        if (!scroll) UNIT_FAIL("%s: no scroll request", c->version);
        snprintf(want, sizeof want, "|%s", c->scroll_ctype);
        if (scroll && (!strstr(scroll, want) || !strstr(scroll, c->scroll_body)))
            UNIT_FAIL("%s: scroll request %s", c->version, scroll);
        const char *clear = fake_find(&f, "DELETE /_search/scroll|");
        if (!clear || !strstr(clear, c->clear_body)) UNIT_FAIL("%s: clear-scroll %s", c->version, clear ? clear : "missing");
        bool found;
        char *rt = doc_routing(dest, "d2", "r2", &found);
        if (!found || !rt || strcmp(rt, "r2")) UNIT_FAIL("%s: routing of d2 not kept", c->version);
        free(rt);
        for (int k = 0; k < 3; k++) {
            char id[16];
            snprintf(id, sizeof id, "d%d", k);
            free(doc_routing(dest, id, k == 2 ? "r2" : NULL, &found));
            if (!found) UNIT_FAIL("%s: %s not copied", c->version, id);
        }
        free(body);
        fake_stop(&f);
    }
}

TEST(retries_and_failures)
{
    fake f;
    fake_start(&f, "8.17.0", NULL);
    f.fail_search_429 = 2;
    char *body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\"},\"index\":\"src\",\"size\":2},"
                           "\"dest\":{\"index\":\"r1\",\"version_type\":\"external\"}}",
                           f.port);
    int status = 0;
    es_err err = { 0 };
    char *resp = run_reindex(body, NULL, &status, &err);
    CHECK(resp && strstr(resp, "\"created\":3") && strstr(resp, "\"retries\":{\"bulk\":0,\"search\":2}"));
    CHECK(fake_find(&f, "POST /src/_search?scroll=5m&size=2&version=true&") != NULL);
    free(resp);
    free(body);
    fake_stop(&f);

    /* more 429s than retries: the remote's 429 ends the job */
    fake_start(&f, "8.17.0", NULL);
    f.fail_search_429 = 10;
    body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\"},\"index\":\"src\"},\"dest\":{\"index\":\"r2\"}}",
                     f.port);
    resp = run_reindex(body, NULL, &status, &err);
    CHECK(resp == NULL);
    CHECK_EQ_INT(status, 429);
    CHECK_EQ_STR(es_err_type_name(&err), "status_exception");
    CHECK(err.reason && strstr(err.reason, "body={\"error\":{\"type\":\"es_rejected_execution_exception\""));
    es_err_free(&err);
    free(body);
    fake_stop(&f);

    /* a remote 404: its status and body */
    fake_start(&f, "8.17.0", NULL);
    f.search_status = 404;
    body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\"},\"index\":\"src\"},\"dest\":{\"index\":\"r3\"}}",
                     f.port);
    resp = run_reindex(body, NULL, &status, &err);
    CHECK(resp == NULL);
    CHECK_EQ_INT(status, 404);
    CHECK(err.reason && strstr(err.reason, "body={\"error\":") && strstr(err.reason, "index_not_found_exception"));
    es_err_free(&err);
    free(body);
    fake_stop(&f);

    /* not Elasticsearch at all */
    fake_start(&f, "8.17.0", NULL);
    f.not_es = 1;
    body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\"},\"index\":\"src\"},\"dest\":{\"index\":\"r4\"}}",
                     f.port);
    resp = run_reindex(body, NULL, &status, &err);
    CHECK(resp == NULL);
    CHECK(err.reason && strstr(err.reason, "remote is likely not an Elasticsearch instance"));
    es_err_free(&err);
    free(body);
    fake_stop(&f);

    /* nothing listening: connect_exception, not retried before the first contact */
    int port = f.port;
    body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\"},\"index\":\"src\"},\"dest\":{\"index\":\"r5\"}}",
                     port);
    int64_t t0 = mono_nanos();
    resp = run_reindex(body, NULL, &status, &err);
    CHECK(resp == NULL);
    CHECK_EQ_STR(es_err_type_name(&err), "connect_exception");
    CHECK(mono_nanos() - t0 < 2000000000LL);
    es_err_free(&err);
    free(body);

    /* socket_timeout: no byte for that long ends the job */
    fake_start(&f, "8.17.0", NULL);
    f.delay_ms = 2500;
    body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\",\"socket_timeout\":\"1s\"},"
                     "\"index\":\"src\"},\"dest\":{\"index\":\"r8\"}}",
                     f.port);
    resp = run_reindex(body, NULL, &status, &err);
    CHECK(resp == NULL);
    CHECK_EQ_STR(es_err_type_name(&err), "socket_timeout_exception");
    es_err_free(&err);
    free(body);
    fake_stop(&f);

    /* an answer announced over 100 MiB is refused before it is read */
    fake_start(&f, "8.17.0", NULL);
    f.huge = 1;
    body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\"},\"index\":\"src\"},"
                     "\"dest\":{\"index\":\"r9\"}}",
                     f.port);
    resp = run_reindex(body, NULL, &status, &err);
    CHECK(resp == NULL);
    CHECK_EQ_INT(status, 400);
    CHECK_EQ_STR(err.reason, "Remote responded with a chunk that was too large. Use a smaller batch size.");
    CHECK(err.caused_by && !strcmp(es_err_type_name(err.caused_by), "content_too_long_exception") &&
          !strcmp(err.caused_by->reason, "entity content is too long [104857601] for the configured buffer limit [104857600]"));
    es_err_free(&err);
    free(body);
    fake_stop(&f);

    /* api_key and headers go with every request, GET / included */
    fake_start(&f, "9.1.0", NULL);
    body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\",\"api_key\":\"aWQ6a2V5\","
                     "\"headers\":{\"X-Test\":\"yes\"}},\"index\":\"src\"},\"dest\":{\"index\":\"r7\"}}",
                     f.port);
    resp = run_reindex(body, NULL, &status, &err);
    CHECK(resp && strstr(resp, "\"created\":3"));
    CHECK(f.nlog >= 4);
    for (int i = 0; i < f.nlog; i++)
        if (!strstr(f.log[i], "|apikey+xtest|")) UNIT_FAIL("no api key or header in %s", f.log[i]);
    free(resp);
    free(body);
    fake_stop(&f);

    /* sliced remote reads send "slice" in each body */
    fake_start(&f, "7.17.0", NULL);
    body = xasprintf("{\"source\":{\"remote\":{\"host\":\"http://127.0.0.1:%d\"},\"index\":\"src\"},\"dest\":{\"index\":\"r6\"}}",
                     f.port);
    resp = run_reindex(body, "2", &status, &err);
    if (!resp) UNIT_FAIL("sliced: %s", err.reason);
    es_err_free(&err);
    CHECK(resp && strstr(resp, "\"slices\":[{\"slice_id\":0,"));
    int sliced = 0;
    for (int i = 0; i < f.nlog; i++)
        if (strstr(f.log[i], "\"slice\":{\"id\":0,\"max\":2}") || strstr(f.log[i], "\"slice\":{\"id\":1,\"max\":2}")) sliced++;
    CHECK_EQ_INT(sliced, 2);
    free(resp);
    free(body);
    fake_stop(&f);
}

TEST(remote_bulk_target)
{
    fake f;
    fake_start(&f, "6.8.0", NULL);
    f.fail_bulk_429 = 1;
    char *url = xasprintf("http://127.0.0.1:%d/prefix", f.port);
    rx_remote_target *t = NULL;
    es_err err = { 0 };
    CHECK_EQ_INT(rx_remote_target_open(env, url, "user", "pass", NULL, &t, &err), 0);
    if (!t) {
        UNIT_FAIL("open: %s", err.reason);
        es_err_free(&err);
        fake_stop(&f);
        free(url);
        return;
    }
    CHECK_EQ_INT(rx_remote_target_version(t), 6080099);
    const char *pretty = "{\n  \"a\" : 1,\n  \"b\" : [ 1, 2 ]\n}";
    write_op ops[3] = {
        { .kind = WOP_INDEX, .index = "dst", .id = "1", .routing = "r", .source = pretty, .source_len = strlen(pretty) },
        { .kind = WOP_CREATE, .index = "dst", .id = "conflict", .source = "{}", .source_len = 2, .has_version = true,
          .version = 7, .version_type = STORE_VERSION_EXTERNAL },
        { .kind = WOP_DELETE, .index = "dst", .id = "2" },
    };
    write_result res[3] = { 0 };
    int retries = 0;
    CHECK_EQ_INT(rx_remote_target_bulk(t, ops, 3, res, &retries, &err), 0);
    CHECK_EQ_INT(retries, 1);
    CHECK_EQ_STR(f.bulk_body,
                 "{\"index\":{\"_index\":\"dst\",\"_type\":\"_doc\",\"_id\":\"1\",\"routing\":\"r\"}}\n{\"a\":1,\"b\":[1,2]}\n"
                 "{\"create\":{\"_index\":\"dst\",\"_type\":\"_doc\",\"_id\":\"conflict\",\"version\":7,\"version_type\":\"external\"}}\n{}\n"
                 "{\"delete\":{\"_index\":\"dst\",\"_type\":\"_doc\",\"_id\":\"2\"}}\n");
    CHECK_EQ_INT(res[0].status, 201);
    CHECK_EQ_INT(res[0].r.result, STORE_RESULT_CREATED);
    CHECK_EQ_INT(res[1].status, 409);
    CHECK(es_err_isset(&res[1].err) && res[1].err.type == ES_VERSION_CONFLICT);
    CHECK_EQ_INT(res[2].r.result, STORE_RESULT_DELETED);
    CHECK(fake_find(&f, "POST /prefix/_bulk|application/x-ndjson|auth|") != NULL);
    for (int i = 0; i < 3; i++) write_result_free(&res[i]);
    CHECK_EQ_INT(rx_remote_target_refresh(t, "dst", &err), -1); /* the fake has no _refresh: 404 */
    CHECK_EQ_INT(err.status, 404);
    es_err_free(&err);
    rx_remote_target_close(t);
    free(url);
    fake_stop(&f);
}

int main(void)
{
    node_open();
    RUN(versions_end_to_end);
    RUN(retries_and_failures);
    RUN(remote_bulk_target);
    node_close();
    return unit_report();
}
