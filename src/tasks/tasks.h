/*
 * tasks — the node's long-running tasks, as Elasticsearch's task manager
 * exposes them: every reindex, update-by-query and delete-by-query (and each
 * of their slices) is a task with an id "<node id>:<number>", an action name,
 * a description, a live status, a cancel flag and, when it ends, a result.
 *
 * Results of tasks started with wait_for_completion=false are stored in the
 * hidden `.tasks` index as Elasticsearch's TaskResult documents
 * ({"completed":true,"task":{...},"response"|"error":{...}}, id "<node>:<n>"),
 * so GET /_tasks/<id> answers them after the task ended and after a restart.
 * Task numbers continue after the highest one stored, so a restart never
 * reuses an id whose result is kept.
 *
 * The module runs nothing itself: the owner of a task (reindex) runs it on
 * its own threads, reports its status through hooks and calls task_complete.
 *
 * Depends on: core, json, indices (the .tasks index), store.
 * Thread-safety: every function may be called from any thread. Tasks are
 * reference counted; a task stays readable while a reference is held.
 */
#ifndef FERRY_TASKS_H
#define FERRY_TASKS_H

#include "core/core.h"
#include "indices/indices.h"
#include "json/json.h"

#include <stdbool.h>
#include <stdint.h>

#define TASKS_INDEX ".tasks"
/* Elasticsearch's CancelTasksRequest.DEFAULT_REASON. */
#define TASK_CANCEL_BY_USER "by user request"
#define TASK_CANCEL_SHUTDOWN "node is shutting down"

typedef struct tasks tasks;
typedef struct task task;

/* What the owner of a task provides. Hooks are called without any lock of this module held. */
typedef struct task_hooks {
    /* Writes the task's status as one JSON value (an object); NULL: the task has no status. */
    void (*status)(void *ctx, json_w *w);
    /* Called once when the task is cancelled (after the flag is set): wake any sleep. */
    void (*on_cancel)(void *ctx);
    void *ctx;
} task_hooks;

/* The node's task manager. node_id: the 22-character node id of this node. */
tasks *tasks_new(indices *ix, const char *node_id);
/* Refuses new tasks, cancels the running ones (reason TASK_CANCEL_SHUTDOWN) and
 * waits up to wait_ms for their owners to complete them. */
void tasks_stop(tasks *tm, int64_t wait_ms);
/* Frees the manager (after tasks_stop; tasks still referenced stay valid). */
void tasks_free(tasks *tm);
const char *tasks_node_id(const tasks *tm);

/*
 * Registers a running task and returns it with one reference for the caller.
 * parent: the parent task (slices of a sliced request) or NULL. Returns NULL
 * (err set, es_rejected_execution_exception) while the node stops.
 */
task *tasks_register(tasks *tm, const char *action, const char *description, bool cancellable,
                     task *parent, const task_hooks *hooks, es_err *err);

task *task_ref(task *t);
void task_release(task *t); /* NULL is a no-op */

uint64_t task_id(const task *t);
/* "<node>:<id>" into out (64 bytes). */
void task_id_string(const task *t, char out[64]);
const char *task_action(const task *t);
task *task_parent(const task *t); /* borrowed; NULL when none */

bool task_cancelled(const task *t);
/* The reason given to task_cancel (NULL when not cancelled); valid while a reference is held. */
const char *task_cancel_reason(const task *t);
/*
 * Cancels a task and its children: sets the flag, calls on_cancel. Returns 0,
 * or -1 with illegal_argument_exception "task [x] doesn't support cancellation"
 * for a task that cannot be cancelled. Cancelling twice is harmless.
 */
int task_cancel(task *t, const char *reason, es_err *err);

/*
 * The task has ended: it is removed from the running tasks, waiters wake up.
 * status: the HTTP status of the response (200, 409...); response_json: its
 * body (compact JSON) or NULL when err is set. With keep, the result is
 * written to the .tasks index (failures to store are logged). The task keeps a
 * copy of the result for task_result. final_status (compact JSON, may be NULL)
 * replaces the status hook from now on: once task_complete starts, hooks are
 * never called again (it waits for calls in flight), so the owner may free
 * their context when it returns.
 */
void task_complete(task *t, int status, const char *response_json, const es_err *err, bool keep,
                   const char *final_status);
bool task_completed(const task *t);
/* After completion: the status and response (borrowed) or *err copied (caller frees). Returns
 * 0 with a response, 1 with an error. */
int task_result(const task *t, int *status, const char **response_json, es_err *err);

/* Waits until the task completes: 1 completed, 0 timed out (timeout_ms < 0: no limit). */
int task_wait(task *t, int64_t timeout_ms);

/*
 * Writes Elasticsearch's TaskInfo object: node, id, type, action, [status],
 * [description], start_time_in_millis (with human: start_time first),
 * [running_time], running_time_in_nanos, cancellable, [cancelled],
 * [parent_task_id], headers. detailed: status and description are included.
 */
void task_write_info(const task *t, json_w *w, bool detailed, bool human);

/* A running task by number (a reference) or NULL. */
task *tasks_get(tasks *tm, uint64_t id);
/* The running tasks (references, ascending ids): *out heap array of the returned count. */
size_t tasks_list(tasks *tm, task ***out);
void tasks_list_free(task **list, size_t n);

/*
 * A stored result from the .tasks index: 1 found (*json heap, the stored
 * TaskResult document), 0 none, -1 error.
 */
int tasks_stored_result(tasks *tm, const char *task_id, char **json, size_t *len, es_err *err);

/*
 * Parses "<node>:<number>" as Elasticsearch's TaskId: on a malformed id sets
 * illegal_argument_exception "malformed task id <s>". *node heap.
 */
int task_id_parse(const char *s, char **node, uint64_t *id, es_err *err);

/* Writes an error object as Elasticsearch renders causes ({"type","reason",...,"caused_by"}). */
void tasks_write_error(json_w *w, const es_err *err);

/* Elasticsearch's TimeValue.toString of a duration in nanoseconds ("1.2s", "0s", "5m"). */
void tasks_time_human(int64_t nanos, char out[32]);

#endif
