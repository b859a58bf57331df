/*
 * rest — Elasticsearch's REST API surface: handlers grouped by API family,
 * each translating an HTTP request into calls on the modules below (store,
 * index, search, reindex, tasks, security) and their results into
 * Elasticsearch's response shapes.
 *
 * Depends on: core, json, http, config and the data modules. Nothing depends
 * on rest except cli, which builds the node and registers the routes.
 */
#ifndef FERRY_REST_H
#define FERRY_REST_H

#include "config/config.h"
#include "http/http.h"
#include "indices/indices.h"

#include <stdint.h>

/* What the handlers know about the node they serve. Immutable once serving. */
typedef struct rest_node {
    const config *cfg;
    indices *ix;              /* the node's data */
    const char *node_name;
    const char *cluster_name;
    char node_id[23];
    char cluster_uuid[23];
    const char *version;      /* the version number reported to clients (ferry.reported_version) */
    char http_address[96];    /* "127.0.0.1:9200" once bound */
    int64_t max_content_length;
    int64_t start_millis;
    struct tasks *tasks;         /* the task manager (rest_register_tasks; NULL once stopped) */
    struct reindex_env *reindex; /* reindex settings and jobs (rest_register_reindex) */
} rest_node;

/* Registers every REST route on the server. */
void rest_register(http_server *srv, rest_node *node);
/* Before the server stops: cancels the running tasks (reindex jobs), waits for them to
 * end (their results are stored), and frees the task and reindex machinery. */
void rest_stop(rest_node *node);

/* Version facts reported beside a version number (Lucene, wire/index compatibility). */
typedef struct rest_version_info {
    const char *lucene;
    const char *min_wire;
    const char *min_index;
    const char *build_date;
} rest_version_info;
rest_version_info rest_version_for(const char *version);

#endif
