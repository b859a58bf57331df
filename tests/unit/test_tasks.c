/* Unit tests for src/tasks: ids, registration and listing, cancellation of children, waiting,
 * completion with results stored in .tasks and read back, numbering that continues after a
 * restart, TaskInfo's shape, TimeValue texts. */
#include "tasks/tasks.h"
#include "unit.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];
static config *cfg;

static const setting_def test_settings[] = {
    { "path.data", SETTING_STRING, "data", NULL, 0, 0, NULL },
};

static indices *open_fresh(void)
{
    static bool registered;
    if (!registered) {
        config_register(test_settings, ARRAY_LEN(test_settings));
        config_register(indices_settings, indices_settings_count);
        registered = true;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ferry-tasks-XXXXXX");
    if (!mkdtemp(tmpdir)) abort();
    char *data = xasprintf("path.data=%s/data", tmpdir);
    const char *over[] = { data };
    char *msg = NULL;
    cfg = config_load(tmpdir, over, 1, &msg);
    free(data);
    if (!cfg) abort();
    es_err err = { 0 };
    indices *ix = indices_open(cfg, &err);
    if (!ix) printf("open: %s\n", err.reason);
    return ix;
}

static void close_fresh(indices *ix)
{
    indices_close(ix);
    config_free(cfg);
    char *cmd = xasprintf("rm -rf %s", tmpdir);
    if (system(cmd) != 0) printf("cleanup failed\n");
    free(cmd);
}

static char *info_json(const task *t, bool detailed, bool human)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    task_write_info(t, &w, detailed, human);
    return buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------------ */

TEST(ids)
{
    char *node = NULL;
    uint64_t id = 0;
    es_err err = { 0 };
    CHECK_EQ_INT(task_id_parse("abc:17", &node, &id, &err), 0);
    CHECK_EQ_STR(node, "abc");
    CHECK_EQ_INT(id, 17);
    free(node);
    const char *bad[] = { "abc", "abc:", ":1", "abc:x1", "abc:-1", "" };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        CHECK_EQ_INT(task_id_parse(bad[i], NULL, &id, &err), -1);
        char *want = xasprintf("malformed task id %s", bad[i]);
        CHECK_EQ_STR(err.reason, want);
        CHECK_EQ_INT(err.status, 400);
        free(want);
        es_err_free(&err);
    }
}

TEST(time_texts)
{
    char t[32];
    tasks_time_human(0, t);
    CHECK_EQ_STR(t, "0s");
    tasks_time_human(1500000000LL, t);
    CHECK_EQ_STR(t, "1.5s");
    tasks_time_human(60000000000LL, t);
    CHECK_EQ_STR(t, "1m");
    tasks_time_human(8592565, t);
    CHECK_EQ_STR(t, "8.6ms");
    tasks_time_human(999, t);
    CHECK_EQ_STR(t, "999nanos");
}

static int cancels;
static void on_cancel(void *ctx)
{
    (void)ctx;
    __atomic_add_fetch(&cancels, 1, __ATOMIC_SEQ_CST);
}

static void status_hook(void *ctx, json_w *w)
{
    jw_obj_begin(w);
    jw_kint(w, "n", *(int *)ctx);
    jw_obj_end(w);
}

TEST(register_list_cancel)
{
    indices *ix = open_fresh();
    tasks *tm = tasks_new(ix, "node-x");
    es_err err = { 0 };
    int counter = 7;
    task_hooks hk = { .status = status_hook, .on_cancel = on_cancel, .ctx = &counter };
    task *p = tasks_register(tm, "indices:data/write/reindex", "reindex from [a] to [b]", true, NULL, &hk, &err);
    task *c1 = tasks_register(tm, "indices:data/write/reindex", "slice", true, p, &hk, &err);
    task *c2 = tasks_register(tm, "indices:data/write/reindex", "slice", true, p, &hk, &err);
    task *nc = tasks_register(tm, "cluster:monitor/x", "not cancellable", false, NULL, NULL, &err);
    CHECK(p && c1 && c2 && nc);
    CHECK_EQ_INT(task_id(p), 1);
    CHECK_EQ_INT(task_id(c2), 3);
    char id[64];
    task_id_string(c1, id);
    CHECK_EQ_STR(id, "node-x:2");
    task **list;
    size_t n = tasks_list(tm, &list);
    CHECK_EQ_INT(n, 4);
    tasks_list_free(list, n);

    char *j = info_json(c1, true, false);
    CHECK(strstr(j, "{\"node\":\"node-x\",\"id\":2,\"type\":\"transport\",\"action\":\"indices:data/write/reindex\","
                    "\"status\":{\"n\":7},\"description\":\"slice\",\"start_time_in_millis\":") == j);
    CHECK(strstr(j, "\"cancellable\":true,\"cancelled\":false,\"parent_task_id\":\"node-x:1\",\"headers\":{}}"));
    free(j);
    j = info_json(nc, false, true);
    CHECK(!strstr(j, "\"description\"") && !strstr(j, "\"status\"") && !strstr(j, "\"cancelled\""));
    CHECK(strstr(j, "\"start_time\":\"") && strstr(j, "\"running_time\":\""));
    free(j);

    /* cancelling the parent cancels the children, once each */
    cancels = 0;
    CHECK_EQ_INT(task_cancel(p, TASK_CANCEL_BY_USER, &err), 0);
    CHECK(task_cancelled(p) && task_cancelled(c1) && task_cancelled(c2));
    CHECK_EQ_STR(task_cancel_reason(c2), "by user request");
    CHECK_EQ_INT(cancels, 3);
    CHECK_EQ_INT(task_cancel(p, TASK_CANCEL_BY_USER, &err), 0);
    CHECK_EQ_INT(cancels, 3);
    CHECK_EQ_INT(task_cancel(nc, NULL, &err), -1);
    CHECK_EQ_STR(err.reason, "task [node-x:4] doesn't support cancellation");
    es_err_free(&err);
    /* a child registered under a cancelled parent starts cancelled */
    task *late = tasks_register(tm, "indices:data/write/reindex", "slice", true, p, NULL, &err);
    CHECK(late && task_cancelled(late));

    task_complete(late, 200, "{}", NULL, false, NULL);
    task_complete(c1, 200, "{}", NULL, false, "{\"n\":1}");
    task_complete(c2, 200, "{}", NULL, false, NULL);
    task_complete(nc, 200, "{}", NULL, false, NULL);
    task_complete(p, 200, "{\"created\":1}", NULL, false, "{\"n\":8}");
    j = info_json(p, true, false);
    CHECK(strstr(j, "\"status\":{\"n\":8}")); /* the final status, hooks no longer called */
    free(j);
    n = tasks_list(tm, &list);
    CHECK_EQ_INT(n, 0);
    tasks_list_free(list, n);
    task_release(late);
    task_release(c1);
    task_release(c2);
    task_release(nc);
    task_release(p);
    tasks_stop(tm, 1000);
    tasks_free(tm);
    close_fresh(ix);
}

typedef struct waiter_arg {
    task *t;
    int rc;
} waiter_arg;

static void *waiter(void *arg)
{
    waiter_arg *a = arg;
    a->rc = task_wait(a->t, 10000);
    return NULL;
}

TEST(wait_store_and_restart)
{
    indices *ix = open_fresh();
    tasks *tm = tasks_new(ix, "nodeA");
    es_err err = { 0 };
    task *t = tasks_register(tm, "indices:data/write/reindex", "reindex from [a] to [b]", true, NULL, NULL, &err);
    CHECK_EQ_INT(task_wait(t, 50), 0); /* times out */
    waiter_arg wa = { t, -1 };
    pthread_t th;
    pthread_create(&th, NULL, waiter, &wa);
    usleep(50000);
    task_complete(t, 409, "{\"created\":0,\"failures\":[]}", NULL, true, "{\"total\":1}");
    pthread_join(th, NULL);
    CHECK_EQ_INT(wa.rc, 1);
    CHECK(task_completed(t));
    int st;
    const char *resp;
    CHECK_EQ_INT(task_result(t, &st, &resp, &err), 0);
    CHECK_EQ_INT(st, 409);
    CHECK_EQ_STR(resp, "{\"created\":0,\"failures\":[]}");

    char *json = NULL;
    size_t len = 0;
    CHECK_EQ_INT(tasks_stored_result(tm, "nodeA:1", &json, &len, &err), 1);
    CHECK(json && strstr(json, "{\"completed\":true,\"task\":{\"node\":\"nodeA\",\"id\":1,") == json);
    CHECK(json && strstr(json, "\"status\":{\"total\":1}"));
    CHECK(json && strstr(json, "\"response\":{\"created\":0,\"failures\":[]}}"));
    free(json);
    CHECK_EQ_INT(tasks_stored_result(tm, "nodeA:2", &json, &len, &err), 0);

    /* an error result */
    task *e = tasks_register(tm, "indices:data/write/reindex", "x", true, NULL, NULL, &err);
    es_err fail = { 0 };
    es_err_set(&fail, ES_ILLEGAL_ARGUMENT, "[h:1] not whitelisted in reindex.remote.whitelist");
    task_complete(e, 400, NULL, &fail, true, NULL);
    es_err got = { 0 };
    CHECK_EQ_INT(task_result(e, &st, &resp, &got), 1);
    CHECK_EQ_STR(got.reason, fail.reason);
    es_err_free(&got);
    es_err_free(&fail);
    CHECK_EQ_INT(tasks_stored_result(tm, "nodeA:2", &json, &len, &err), 1);
    CHECK(json && strstr(json, "\"error\":{\"type\":\"illegal_argument_exception\",\"reason\":\"[h:1] not whitelisted"));
    free(json);
    task_release(e);
    task_release(t);
    tasks_stop(tm, 1000);
    tasks_free(tm);

    /* after a restart, numbering continues after the stored ids; results stay readable */
    tm = tasks_new(ix, "nodeA");
    task *t3 = tasks_register(tm, "indices:data/write/reindex", "y", true, NULL, NULL, &err);
    CHECK_EQ_INT(task_id(t3), 3);
    CHECK_EQ_INT(tasks_stored_result(tm, "nodeA:1", &json, &len, &err), 1);
    free(json);
    /* stopping cancels what runs, with the shutdown reason */
    tasks_stop(tm, 10);
    CHECK(task_cancelled(t3));
    CHECK_EQ_STR(task_cancel_reason(t3), TASK_CANCEL_SHUTDOWN);
    CHECK(tasks_register(tm, "a", "b", true, NULL, NULL, &err) == NULL);
    CHECK_EQ_INT(err.status, 429);
    es_err_free(&err);
    task_complete(t3, 200, "{}", NULL, false, NULL);
    task_release(t3);
    tasks_free(tm);
    close_fresh(ix);
}

int main(void)
{
    RUN(ids);
    RUN(time_texts);
    RUN(register_list_cancel);
    RUN(wait_store_and_restart);
    return unit_report();
}
