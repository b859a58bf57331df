/*
 * indices_stats.c — per-index statistics and health as one node sees them:
 * what _stats, _cat/indices, _cat/health and _cluster/health report.
 *
 * ferry keeps one copy of every shard: each primary is active, and every
 * replica an index asks for stays unassigned (there is no second node to put
 * it on), which is exactly how Elasticsearch reports a single node.
 */
#include "indices/indices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool indices_simple_match(const char *pattern, const char *s)
{
    /* Iterative glob with backtracking to the last '*'. */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pattern == '*') {
            star = pattern++;
            resume = s;
        } else if (*pattern == *s) {
            pattern++;
            s++;
        } else if (star) {
            pattern = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*') pattern++;
    return *pattern == 0;
}

const char *health_status_name(health_status s)
{
    switch (s) {
    case HEALTH_GREEN: return "green";
    case HEALTH_YELLOW: return "yellow";
    case HEALTH_RED: return "red";
    }
    return "red";
}

int64_t index_view_replicas(const index_view *v)
{
    if (!v || !v->settings) return 0;
    const char *aer = index_settings_get(v->settings, "index.auto_expand_replicas");
    if (aer && strcmp(aer, "false") != 0) {
        /* "min-max" or "min-all": with one data node the expanded count is
         * min(max, nodes - 1) raised to min, i.e. min. */
        char *end = NULL;
        long long lo = strtoll(aer, &end, 10);
        if (end != aer && *end == '-' && lo >= 0) return lo;
    }
    int64_t r = index_settings_get_int(v->settings, "index.number_of_replicas", 1);
    return r < 0 ? 0 : r;
}

health_status index_view_health(const index_view *v)
{
    return index_view_replicas(v) > 0 ? HEALTH_YELLOW : HEALTH_GREEN;
}

int indices_index_stats(const index_view *v, bool per_shard, index_stats *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    out->shards = store_index_num_shards(v->si);
    if (per_shard) out->per_shard = xcalloc(out->shards ? out->shards : 1, sizeof *out->per_shard);
    for (uint32_t sh = 0; sh < out->shards; sh++) {
        store_shard_stats st;
        if (store_shard_stats_get(v->si, sh, &st, err) != 0) {
            index_stats_free(out);
            return -1;
        }
        out->docs += st.doc_count;
        out->deleted += st.deleted;
        out->store_size += st.store_size;
        if (per_shard) out->per_shard[sh] = (index_shard_stats){ st.doc_count, st.deleted, st.store_size };
    }
    return 0;
}

void index_stats_free(index_stats *s)
{
    if (!s) return;
    free(s->per_shard);
    s->per_shard = NULL;
}

int indices_health(indices *ix, const char *expr, const resolve_opts *opts, cluster_health *out, es_err *err)
{
    memset(out, 0, sizeof *out);
    resolve_opts o;
    if (opts) {
        o = *opts;
    } else {
        o = resolve_opts_default();
        o.ignore_unavailable = true;
        o.allow_no_indices = true;
        o.expand_wildcards = EXPAND_ALL;
    }
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(ix, expr && *expr ? expr : NULL, &o, &views, &n, err) != 0) return -1;
    out->indices = xcalloc(n ? n : 1, sizeof *out->indices);
    out->n_indices = n;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        index_health *h = &out->indices[i];
        uint32_t shards = store_index_num_shards(views[i]->si);
        int64_t replicas = index_view_replicas(views[i]);
        h->name = xstrdup(views[i]->name);
        h->status = replicas > 0 ? HEALTH_YELLOW : HEALTH_GREEN;
        h->number_of_shards = shards;
        h->number_of_replicas = (uint32_t)replicas;
        h->active_primary_shards = shards;
        h->active_shards = shards;
        h->unassigned_shards = (uint32_t)(shards * replicas);
        h->unassigned_primary_shards = 0;
        out->active_primary_shards += h->active_primary_shards;
        out->active_shards += h->active_shards;
        out->unassigned_shards += h->unassigned_shards;
        if (h->status > out->status) out->status = h->status;
        total += (uint64_t)shards * (uint64_t)(1 + replicas);
    }
    out->active_shards_percent = total ? 100.0 * (double)out->active_shards / (double)total : 100.0;
    indices_views_free(views, n);
    return 0;
}

void cluster_health_free(cluster_health *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->n_indices; i++) free(h->indices[i].name);
    free(h->indices);
    h->indices = NULL;
    h->n_indices = 0;
}

void cluster_health_write_indices(const cluster_health *h, bool shards, json_w *w)
{
    jw_key(w, "indices");
    jw_obj_begin(w);
    for (size_t i = 0; i < h->n_indices; i++) {
        const index_health *x = &h->indices[i];
        jw_key(w, x->name);
        jw_obj_begin(w);
        jw_kstr(w, "status", health_status_name(x->status));
        jw_kint(w, "number_of_shards", x->number_of_shards);
        jw_kint(w, "number_of_replicas", x->number_of_replicas);
        jw_kint(w, "active_primary_shards", x->active_primary_shards);
        jw_kint(w, "active_shards", x->active_shards);
        jw_kint(w, "relocating_shards", 0);
        jw_kint(w, "initializing_shards", 0);
        jw_kint(w, "unassigned_shards", x->unassigned_shards);
        jw_kint(w, "unassigned_primary_shards", x->unassigned_primary_shards);
        if (shards) {
            jw_key(w, "shards");
            jw_obj_begin(w);
            for (uint32_t s = 0; s < x->number_of_shards; s++) {
                char key[16];
                snprintf(key, sizeof key, "%u", s);
                jw_key(w, key);
                jw_obj_begin(w);
                jw_kstr(w, "status", health_status_name(x->number_of_replicas ? HEALTH_YELLOW : HEALTH_GREEN));
                jw_kbool(w, "primary_active", true);
                jw_kint(w, "active_shards", 1);
                jw_kint(w, "relocating_shards", 0);
                jw_kint(w, "initializing_shards", 0);
                jw_kint(w, "unassigned_shards", x->number_of_replicas);
                jw_kint(w, "unassigned_primary_shards", 0);
                jw_obj_end(w);
            }
            jw_obj_end(w);
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
}
