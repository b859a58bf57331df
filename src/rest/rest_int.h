/*
 * rest_int.h — shared by the files of src/rest only: per-family route
 * registration and the small helpers every handler family uses.
 */
#ifndef FERRY_REST_INT_H
#define FERRY_REST_INT_H

#include "rest/rest.h"

/* Route tables, one per API family (rest_<family>.c). */
void rest_register_node(http_server *srv, rest_node *node);     /* /, _cluster/health, _nodes */
void rest_register_indices(http_server *srv, rest_node *node);  /* index admin, aliases, _cat, _stats, _cluster/state|settings */
void rest_register_docs(http_server *srv, rest_node *node);     /* _doc, _create, _update, _source, _mget, _bulk */
void rest_register_analyze(http_server *srv, rest_node *node);  /* _analyze, {index}/_analyze */
void rest_register_cat(http_server *srv, rest_node *node);      /* the _cat APIs (called by rest_register_indices) */
void rest_register_search(http_server *srv, rest_node *node);   /* _search, _count (rest_search.c) */
void rest_register_scroll(http_server *srv, rest_node *node);   /* _search/scroll, _pit (rest_scroll.c) */

/* Called first by the _search handler (rest_scroll.c): runs scroll (?scroll=) and
 * point-in-time ("pit") searches and refuses what only they may use (slice,
 * _shard_doc). 1 when it answered, 0 for a plain search. */
struct search_url_params;
int rest_search_hook(http_req *req, http_resp *resp, rest_node *node, json_doc *doc, const json_val *root,
                     const struct search_url_params *p, bool is_count);

void rest_register_tasks(http_server *srv, rest_node *node);    /* _tasks (creates node->tasks) */
void rest_register_reindex(http_server *srv, rest_node *node);  /* _reindex, _update_by_query, _delete_by_query */

/* rest_tasks.c: handlers using node->tasks / node->reindex run between these (false: the
 * node is stopping and resp holds the answer). */
struct task;
bool rest_tasks_enter(rest_node *node, http_resp *resp);
void rest_tasks_leave(void);
/* The ListTasksResponse shapes (group_by nodes|parents|none), with one node failure when set. */
void rest_tasks_write_list(json_w *w, rest_node *node, struct task **list, size_t n, const char *group_by,
                           bool detailed, bool human, const char *failed_node, const es_err *failure);

/* Answers err (Elasticsearch's envelope) and frees it. */
void rest_fail(http_resp *resp, es_err *err);

/* Reads ignore_unavailable / allow_no_indices / expand_wildcards from the request into *o
 * (starting from *o as given). Returns -1 with *err set on a bad value. */
int rest_resolve_opts(http_req *req, resolve_opts *o, es_err *err);

/* Writes "_shards":{"total":1+replicas,"successful":1,"failed":0} as Elasticsearch's
 * single node reports a write (unassigned replicas count in total only). */
void rest_write_shards(json_w *w, const index_view *v);

/* The `refresh` parameter: 0 false, 1 true, 2 wait_for; bad values set *err. */
int rest_refresh_param(http_req *req, es_err *err);

#endif
