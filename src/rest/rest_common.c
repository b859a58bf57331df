/*
 * rest_common.c — helpers shared by the REST handler families, and the
 * registration of every family.
 */
#include "rest/rest_int.h"

#include <string.h>

void rest_register(http_server *srv, rest_node *node)
{
    rest_register_node(srv, node);
    rest_register_indices(srv, node);
    rest_register_docs(srv, node);
    rest_register_analyze(srv, node);
    rest_register_search(srv, node);
    rest_register_scroll(srv, node);
    rest_register_tasks(srv, node);
    rest_register_reindex(srv, node);
}

void rest_fail(http_resp *resp, es_err *err)
{
    http_resp_error(resp, err);
    es_err_free(err);
}

int rest_resolve_opts(http_req *req, resolve_opts *o, es_err *err)
{
    return resolve_opts_parse(o, http_param(req, "ignore_unavailable"), http_param(req, "allow_no_indices"),
                              http_param(req, "expand_wildcards"), err);
}

void rest_write_shards(json_w *w, const index_view *v)
{
    int64_t replicas = v ? index_settings_get_int(v->settings, "index.number_of_replicas", 1) : 0;
    jw_key(w, "_shards");
    jw_obj_begin(w);
    jw_kint(w, "total", 1 + replicas);
    jw_kint(w, "successful", 1);
    jw_kint(w, "failed", 0);
    jw_obj_end(w);
}

int rest_refresh_param(http_req *req, es_err *err)
{
    const char *r = http_param(req, "refresh");
    if (!r) return 0;
    if (!*r || !strcmp(r, "true")) return 1;
    if (!strcmp(r, "false")) return 0;
    if (!strcmp(r, "wait_for")) return 2;
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unknown value for refresh: [%s].", r);
    return -1;
}
