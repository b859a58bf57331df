/*
 * indices_meta.c — the metadata half of the live indices: parsed views of
 * each index (cached by metadata version), name resolution, index creation
 * and deletion, mapping / settings / alias updates, write targets with
 * auto-create, and the node's dynamic cluster settings.
 *
 * Concurrency: views are immutable and refcounted; the cache and the
 * read-modify-write of metadata are serialized by two mutexes. Every
 * metadata change is also compare-and-set on the store's version, so a
 * change computed from a stale view is retried, never lost.
 */
#include "indices/indices_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const setting_def indices_settings[] = {
    { "action.auto_create_index", SETTING_STRING, "true", NULL, 0, 0, NULL },
    { "action.destructive_requires_name", SETTING_BOOL, "true", NULL, 0, 0, NULL },
};
const size_t indices_settings_count = ARRAY_LEN(indices_settings);

/* Dynamic cluster settings PUT /_cluster/settings accepts (exact keys, then prefixes). */
static const char *const dynamic_cluster_keys[] = {
    "action.auto_create_index", "action.destructive_requires_name", "cluster.max_shards_per_node",
    "search.max_open_scroll_context", "search.default_keep_alive", "search.max_keep_alive",
    "search.default_search_timeout", "search.allow_expensive_queries", "indices.recovery.max_bytes_per_sec",
};
static const char *const dynamic_cluster_prefixes[] = {
    "cluster.routing.", "logger.", "indices.breaker.", "cluster.info.", "indices.lifecycle.",
    "xpack.monitoring.", "cluster.indices.close.",
};

/* ------------------------------------------------------------------------ */
/* Open / close */

static char *cluster_settings_path(const indices *ix)
{
    return xasprintf("%s/_state/cluster_settings.json", store_path(ix->st));
}

static index_settings *parse_settings_object(const json_val *v)
{
    index_settings *s = index_settings_new();
    json_iter it = json_iter_begin(v);
    const json_val *val;
    const char *k;
    size_t kn;
    while ((val = json_iter_next(&it, &k, &kn))) {
        char *key = xstrndup(k, kn);
        const char *str = json_str(val, NULL);
        if (str) index_settings_set(s, key, str);
        free(key);
    }
    return s;
}

static void load_cluster_settings(indices *ix)
{
    ix->persistent = index_settings_new();
    ix->transient = index_settings_new();
    char *path = cluster_settings_path(ix);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f) return;
    buf b = { 0 };
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
    fclose(f);
    json_doc *doc = json_parse(b.p ? b.p : "", b.len, NULL, NULL);
    if (doc) {
        const json_val *p = json_obj_get(json_doc_root(doc), "persistent");
        if (p) {
            index_settings_free(ix->persistent);
            ix->persistent = parse_settings_object(p);
        }
        json_doc_free(doc);
    } else {
        log_warn("indices", "ignoring unreadable cluster settings file");
    }
    buf_free(&b);
}

/* Persistent cluster settings survive restarts: written to a temp file, fsynced, renamed. */
static int save_cluster_settings(indices *ix, es_err *err)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_obj_begin(&w);
    jw_key(&w, "persistent");
    index_settings_write(ix->persistent, SETTINGS_WRITE_FLAT, &w);
    jw_obj_end(&w);
    char *path = cluster_settings_path(ix);
    char *tmp = xasprintf("%s.tmp", path);
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        bool ok = write(fd, b.p, b.len) == (ssize_t)b.len && fsync(fd) == 0;
        close(fd);
        if (ok && rename(tmp, path) == 0) rc = 0;
    }
    if (rc) es_err_set(err, ES_INTERNAL, "failed to persist cluster settings: %s", strerror(errno));
    free(path);
    free(tmp);
    buf_free(&b);
    return rc;
}

indices *indices_open(const config *cfg, es_err *err)
{
    const char *path_data = config_str(cfg, "path.data");
    store *st = store_open(path_data, err);
    if (!st) return NULL;
    indices *ix = xcalloc(1, sizeof *ix);
    ix->st = st;
    ix->cfg = cfg;
    pthread_mutex_init(&ix->cache_lock, NULL);
    pthread_mutex_init(&ix->meta_lock, NULL);
    pthread_mutex_init(&ix->cluster_lock, NULL);
    load_cluster_settings(ix);
    return ix;
}

void indices_close(indices *ix)
{
    if (!ix) return;
    for (size_t i = 0; i < ix->n_cache; i++) index_view_release(ix->cache[i]);
    free(ix->cache);
    index_settings_free(ix->persistent);
    index_settings_free(ix->transient);
    store_close(ix->st);
    pthread_mutex_destroy(&ix->cache_lock);
    pthread_mutex_destroy(&ix->meta_lock);
    pthread_mutex_destroy(&ix->cluster_lock);
    free(ix);
}

store *indices_store(indices *ix)
{
    return ix->st;
}

/* ------------------------------------------------------------------------ */
/* Views */

static void free_alias(index_alias *a)
{
    free(a->name);
    free(a->filter_json);
    free(a->index_routing);
    free(a->search_routing);
}

static int alias_cmp(const void *a, const void *b)
{
    return strcmp(((const index_alias *)a)->name, ((const index_alias *)b)->name);
}

/* Our stored alias form: {"name":{"filter":{…},"index_routing":"…","search_routing":"…",
 * "is_write_index":bool,"is_hidden":bool}}. */
static void parse_aliases_blob(const char *json, size_t len, index_alias **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!len) return;
    json_doc *doc = json_parse(json, len, NULL, NULL);
    if (!doc) return;
    const json_val *root = json_doc_root(doc);
    *out = xcalloc(json_len(root) + 1, sizeof **out);
    json_iter it = json_iter_begin(root);
    const json_val *v;
    const char *k;
    size_t kn;
    while ((v = json_iter_next(&it, &k, &kn))) {
        index_alias *a = &(*out)[(*n)++];
        a->name = xstrndup(k, kn);
        const json_val *f = json_obj_get(v, "filter");
        if (f && !json_is_null(f)) {
            size_t fl;
            const char *raw = json_raw(doc, f, &fl);
            a->filter_json = xstrndup(raw, fl);
        }
        const char *r = json_str(json_obj_get(v, "index_routing"), NULL);
        if (r) a->index_routing = xstrdup(r);
        r = json_str(json_obj_get(v, "search_routing"), NULL);
        if (r) a->search_routing = xstrdup(r);
        const json_val *w = json_obj_get(v, "is_write_index");
        if (w && json_type_of(w) == JSON_BOOL) {
            a->has_is_write_index = true;
            a->is_write_index = json_bool(w);
        }
        a->is_hidden = json_bool(json_obj_get(v, "is_hidden"));
    }
    qsort(*out, *n, sizeof **out, alias_cmp);
    json_doc_free(doc);
}

static void write_alias_body(json_w *w, const index_alias *a)
{
    jw_obj_begin(w);
    if (a->filter_json) {
        jw_key(w, "filter");
        jw_raw(w, a->filter_json, strlen(a->filter_json));
    }
    if (a->index_routing) jw_kstr(w, "index_routing", a->index_routing);
    if (a->search_routing) jw_kstr(w, "search_routing", a->search_routing);
    if (a->has_is_write_index) jw_kbool(w, "is_write_index", a->is_write_index);
    if (a->is_hidden) jw_kbool(w, "is_hidden", true);
    jw_obj_end(w);
}

static char *aliases_to_json(const index_alias *as, size_t n)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_obj_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_key(&w, as[i].name);
        write_alias_body(&w, &as[i]);
    }
    jw_obj_end(&w);
    return buf_detach(&b, NULL);
}

static index_view *build_view(store_index *si)
{
    index_view *v = xcalloc(1, sizeof *v);
    atomic_init(&v->refs, 1);
    v->si = store_index_ref(si);
    v->meta = store_index_meta_acquire(si);
    v->name = v->meta->name;
    v->uuid = v->meta->uuid;
    es_err err = { 0 };
    json_doc *sd = v->meta->settings.len
                       ? json_parse(v->meta->settings.p, v->meta->settings.len, NULL, NULL)
                       : NULL;
    if (index_settings_parse(sd ? json_doc_root(sd) : NULL, SETTINGS_STORED, &v->settings, &err) != 0) {
        log_error("indices", "stored settings of [%s] unreadable: %s", v->name, err.reason);
        es_err_free(&err);
        v->settings = index_settings_new();
    }
    if (sd) json_doc_free(sd);
    index_settings_mapping_limits(v->settings, &v->limits);
    v->mapping = v->meta->mappings.len
                     ? mapping_parse_text(v->meta->mappings.p, v->meta->mappings.len, NULL, &err)
                     : mapping_empty();
    if (!v->mapping) {
        log_error("indices", "stored mapping of [%s] unreadable: %s", v->name, err.reason);
        es_err_free(&err);
        v->mapping = mapping_empty();
    }
    parse_aliases_blob(v->meta->aliases.p, v->meta->aliases.len, &v->aliases, &v->n_aliases);
    v->hidden = index_settings_get_bool(v->settings, "index.hidden", false);
    return v;
}

index_view *index_view_ref(index_view *v)
{
    atomic_fetch_add(&v->refs, 1);
    return v;
}

void index_view_release(index_view *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1) return;
    for (size_t i = 0; i < v->n_aliases; i++) free_alias(&v->aliases[i]);
    free(v->aliases);
    mapping_unref(v->mapping);
    index_settings_free(v->settings);
    store_index_meta_release(v->meta);
    store_index_release(v->si);
    free(v);
}

index_view *indices_view(indices *ix, store_index *si)
{
    /* The view of the index's current metadata: cached per index, rebuilt when the
     * metadata version moved. Stale entries of deleted indices are dropped. */
    const store_index_meta *now = store_index_meta_acquire(si);
    int64_t version = now->version;
    store_index_meta_release(now);
    pthread_mutex_lock(&ix->cache_lock);
    for (size_t i = 0; i < ix->n_cache; i++) {
        index_view *c = ix->cache[i];
        if (c->si == si) {
            if (c->meta->version == version) {
                index_view_ref(c);
                pthread_mutex_unlock(&ix->cache_lock);
                return c;
            }
            ix->cache[i] = ix->cache[--ix->n_cache];
            index_view_release(c);
            break;
        }
    }
    for (size_t i = 0; i < ix->n_cache;) {
        if (store_index_is_deleted(ix->cache[i]->si)) {
            index_view_release(ix->cache[i]);
            ix->cache[i] = ix->cache[--ix->n_cache];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&ix->cache_lock);
    index_view *v = build_view(si);
    pthread_mutex_lock(&ix->cache_lock);
    ix->cache = xrealloc(ix->cache, (ix->n_cache + 1) * sizeof *ix->cache);
    ix->cache[ix->n_cache++] = index_view_ref(v);
    pthread_mutex_unlock(&ix->cache_lock);
    return v;
}

index_view *indices_get(indices *ix, const char *name)
{
    store_index *si = store_index_get(ix->st, name);
    if (!si) return NULL;
    index_view *v = indices_view(ix, si);
    store_index_release(si);
    return v;
}

void indices_views_free(index_view **views, size_t n)
{
    for (size_t i = 0; i < n; i++) index_view_release(views[i]);
    free(views);
}

/* Every live index's view, sorted by name. */
static index_view **all_views(indices *ix, size_t *n)
{
    store_index **list;
    size_t cnt;
    store_index_list(ix->st, &list, &cnt);
    index_view **views = xcalloc(cnt + 1, sizeof *views);
    for (size_t i = 0; i < cnt; i++) views[i] = indices_view(ix, list[i]);
    store_index_list_free(list, cnt);
    *n = cnt;
    return views;
}

/* ------------------------------------------------------------------------ */
/* Resolution */

resolve_opts resolve_opts_default(void)
{
    return (resolve_opts){ .ignore_unavailable = false, .allow_no_indices = true,
                           .expand_wildcards = EXPAND_OPEN };
}

static int parse_bool_param(const char *name, const char *v, bool *out, es_err *err)
{
    if (!v) return 0;
    if (!*v || !strcmp(v, "true")) *out = true;
    else if (!strcmp(v, "false")) *out = false;
    else
        return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                          "Failed to parse value [%s] only [true] or [false] are allowed.", v);
    return 0;
}

int resolve_opts_parse(resolve_opts *o, const char *ignore_unavailable, const char *allow_no_indices,
                       const char *expand_wildcards, es_err *err)
{
    if (parse_bool_param("ignore_unavailable", ignore_unavailable, &o->ignore_unavailable, err)) return -1;
    if (parse_bool_param("allow_no_indices", allow_no_indices, &o->allow_no_indices, err)) return -1;
    if (expand_wildcards) {
        unsigned e = 0;
        char *copy = xstrdup(expand_wildcards);
        int rc = 0;
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!strcmp(t, "open")) e |= EXPAND_OPEN;
            else if (!strcmp(t, "closed")) e |= EXPAND_CLOSED;
            else if (!strcmp(t, "hidden")) e |= EXPAND_HIDDEN;
            else if (!strcmp(t, "all")) e |= EXPAND_ALL;
            else if (!strcmp(t, "none")) e |= 0;
            else {
                for (char *c = t; *c; c++) *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
                rc = es_err_set(err, ES_ILLEGAL_ARGUMENT,
                                "No enum constant org.elasticsearch.action.support.IndicesOptions.WildcardStates.%s", t);
                break;
            }
        }
        free(copy);
        if (rc) return -1;
        o->expand_wildcards = e ? e : 0x100; /* 0x100: "none" — wildcards expand to nothing */
    }
    return 0;
}


void indices_not_found(es_err *err, const char *name)
{
    es_err_set(err, ES_INDEX_NOT_FOUND, "no such index [%s]", name);
    es_err_extra(err, "resource.type", "index_or_alias", false);
    es_err_extra(err, "resource.id", name, false);
    es_err_extra(err, "index_uuid", "_na_", false);
    es_err_extra(err, "index", name, false);
}

typedef struct picked {
    index_view **v;
    size_t n;
} picked;

static void pick(picked *p, index_view *v)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i] == v) return;
    p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
    p->v[p->n++] = index_view_ref(v);
}

static void unpick(picked *p, const index_view *v)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i] == v) {
            index_view_release(p->v[i]);
            memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof *p->v);
            p->n--;
            return;
        }
    }
}

static bool has_alias(const index_view *v, const char *name)
{
    for (size_t i = 0; i < v->n_aliases; i++)
        if (!strcmp(v->aliases[i].name, name)) return true;
    return false;
}

static int view_cmp(const void *a, const void *b)
{
    return strcmp((*(index_view *const *)a)->name, (*(index_view *const *)b)->name);
}

int indices_resolve(indices *ix, const char *expr, const resolve_opts *opts, index_view ***out,
                    size_t *n, es_err *err)
{
    resolve_opts o = opts ? *opts : resolve_opts_default();
    if (!o.expand_wildcards) o.expand_wildcards = EXPAND_OPEN;
    size_t nall;
    index_view **all = all_views(ix, &nall);
    picked p = { NULL, 0 };
    int rc = 0;
    bool wildcard_seen = false;

    bool everything = !expr || !*expr || !strcmp(expr, "_all");
    char *copy = xstrdup(everything ? "*" : expr);
    size_t tok_i = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), tok_i++) {
        bool exclude = t[0] == '-' && (tok_i > 0 || wildcard_seen);
        const char *name = exclude ? t + 1 : t;
        if (strchr(name, '*')) {
            wildcard_seen = true;
            if (o.expand_wildcards == 0x100) continue;
            bool matched = false;
            for (size_t i = 0; i < nall; i++) {
                index_view *v = all[i];
                /* Hidden indices and aliases take part only with expand_wildcards=hidden, or
                 * when the pattern itself starts with a dot and so does the name. */
                bool dot = name[0] == '.';
                bool index_ok = !v->hidden || (o.expand_wildcards & EXPAND_HIDDEN) || (dot && v->name[0] == '.');
                if (!(o.expand_wildcards & EXPAND_OPEN)) continue;
                bool hit = index_ok && indices_simple_match(name, v->name);
                for (size_t a = 0; !hit && !o.no_aliases && a < v->n_aliases; a++) {
                    const index_alias *al = &v->aliases[a];
                    bool alias_ok = !al->is_hidden || (o.expand_wildcards & EXPAND_HIDDEN) || (dot && al->name[0] == '.');
                    hit = alias_ok && indices_simple_match(name, al->name);
                }
                if (!hit) continue;
                matched = true;
                if (exclude) unpick(&p, v);
                else pick(&p, v);
            }
            if (!matched && !exclude && !o.allow_no_indices) {
                indices_not_found(err, name);
                rc = -1;
                break;
            }
            continue;
        }
        bool found = false;
        for (size_t i = 0; i < nall; i++) {
            index_view *v = all[i];
            if (!strcmp(v->name, name) || (!o.no_aliases && has_alias(v, name))) {
                found = true;
                if (exclude) unpick(&p, v);
                else pick(&p, v);
            }
        }
        if (!found && !exclude && !o.ignore_unavailable) {
            indices_not_found(err, name);
            rc = -1;
            break;
        }
    }
    free(copy);
    if (!rc && p.n == 0 && !o.allow_no_indices) {
        indices_not_found(err, everything ? "_all" : expr);
        rc = -1;
    }
    indices_views_free(all, nall);
    if (rc) {
        indices_views_free(p.v, p.n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (p.n) qsort(p.v, p.n, sizeof *p.v, view_cmp);
    *out = p.v ? p.v : xcalloc(1, sizeof *p.v);
    *n = p.n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Creation and deletion */

/* Alias names follow the index name rules, with Elasticsearch's "Invalid alias name" wording. */
static int validate_alias_name(const char *name, es_err *err)
{
    es_err tmp = { 0 };
    if (index_name_validate(name, &tmp) == 0) return 0;
    const char *why = strstr(tmp.reason, "], ");
    es_err_set(err, ES_INVALID_ALIAS_NAME, "Invalid alias name [%s]: %s", name,
               why ? why + 3 : tmp.reason);
    es_err_free(&tmp);
    return -1;
}

static int parse_alias_body(const char *name, const json_val *body, index_alias *a, es_err *err)
{
    memset(a, 0, sizeof *a);
    a->name = xstrdup(name);
    if (!body || json_is_null(body)) return 0;
    if (json_type_of(body) != JSON_OBJECT)
        return es_err_set(err, ES_PARSE, "Failed to parse [aliases]: alias [%s] must be an object", name);
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    buf raw = { 0 };
    while ((v = json_iter_next(&it, &k, &kn))) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)kn, k);
        if (!strcmp(key, "filter")) {
            if (json_type_of(v) != JSON_OBJECT) {
                buf_free(&raw);
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to parse filter for alias [%s]", name);
            }
            buf_reset(&raw);
            json_w w;
            jw_init(&w, &raw, false);
            jw_val(&w, v);
            a->filter_json = xstrndup(raw.p, raw.len);
        } else if (!strcmp(key, "routing") || !strcmp(key, "index_routing") || !strcmp(key, "search_routing")) {
            char num[32];
            const char *s = json_str(v, NULL);
            if (!s && json_type_of(v) == JSON_INT) {
                snprintf(num, sizeof num, "%lld", (long long)json_int(v));
                s = num;
            }
            if (!s) {
                buf_free(&raw);
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "[%s] must be a string", key);
            }
            if (key[0] == 'r' || key[0] == 'i') {
                free(a->index_routing);
                a->index_routing = xstrdup(s);
            }
            if (key[0] == 'r' || key[0] == 's') {
                free(a->search_routing);
                a->search_routing = xstrdup(s);
            }
        } else if (!strcmp(key, "is_write_index") || !strcmp(key, "is_hidden")) {
            /* Booleans, or their string forms, as Elasticsearch's parser accepts. */
            const char *sv = json_str(v, NULL);
            bool b;
            if (json_type_of(v) == JSON_BOOL) b = json_bool(v);
            else if (sv && !strcmp(sv, "true")) b = true;
            else if (sv && !strcmp(sv, "false")) b = false;
            else {
                buf_free(&raw);
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] as only [true] or [false] are allowed.",
                                  sv ? sv : "?");
            }
            if (key[3] == 'w') {
                a->has_is_write_index = true;
                a->is_write_index = b;
            } else {
                a->is_hidden = b;
            }
        } else {
            buf_free(&raw);
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unsupported field [%s]", key);
        }
    }
    buf_free(&raw);
    return 0;
}

static void free_aliases(index_alias *as, size_t n)
{
    for (size_t i = 0; i < n; i++) free_alias(&as[i]);
    free(as);
}

int indices_create(indices *ix, const char *name, const json_val *body, index_view **out, es_err *err)
{
    if (out) *out = NULL;
    if (index_name_validate(name, err)) return -1;
    if (body && !json_is_null(body) && json_type_of(body) != JSON_OBJECT)
        return es_err_set(err, ES_PARSE, "Failed to derive xcontent");

    const json_val *jsettings = NULL, *jmappings = NULL, *jaliases = NULL;
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while (body && (v = json_iter_next(&it, &k, &kn))) {
        if (kn == 8 && !memcmp(k, "settings", 8)) jsettings = v;
        else if (kn == 8 && !memcmp(k, "mappings", 8)) jmappings = v;
        else if (kn == 7 && !memcmp(k, "aliases", 7)) jaliases = v;
        else
            return es_err_set(err, ES_PARSE, "unknown key [%.*s] for create index", (int)kn, k);
    }

    index_settings *settings = NULL;
    analysis *an = NULL;
    mapping *map = NULL;
    index_alias *aliases = NULL;
    size_t n_aliases = 0;
    char *settings_json = NULL, *mapping_json = NULL, *aliases_json = NULL;
    int rc = -1;

    if (index_settings_parse(jsettings, SETTINGS_CREATE, &settings, err)) goto done;
    index_create_info info = { .provided_name = name };
    index_settings_fill_defaults(settings, &info);
    /* The analysis chain must build, and every analyzer the mapping names must exist. */
    an = analysis_build(settings, err);
    if (!an) goto done;
    mapping_limits limits;
    index_settings_mapping_limits(settings, &limits);
    if (jmappings && !json_is_null(jmappings)) {
        map = mapping_parse(jmappings, &limits, err);
        if (!map || analysis_check_mapping(an, map, err)) goto done;
    } else {
        map = mapping_empty();
    }
    if (jaliases && !json_is_null(jaliases)) {
        if (json_type_of(jaliases) != JSON_OBJECT) {
            es_err_set(err, ES_PARSE, "Failed to parse [aliases]: expected an object");
            goto done;
        }
        aliases = xcalloc(json_len(jaliases) + 1, sizeof *aliases);
        json_iter ai = json_iter_begin(jaliases);
        while ((v = json_iter_next(&ai, &k, &kn))) {
            char *alias_name = xstrndup(k, kn);
            int r = validate_alias_name(alias_name, err);
            if (!r) r = parse_alias_body(alias_name, v, &aliases[n_aliases++], err);
            if (!r && !strcmp(alias_name, name)) {
                es_err_set(err, ES_INVALID_ALIAS_NAME, "Invalid alias name [%s]: an index or data stream exists with the same name as the alias", alias_name);
                r = -1;
            }
            free(alias_name);
            if (r) goto done;
        }
        qsort(aliases, n_aliases, sizeof *aliases, alias_cmp);
    }

    /* A name taken by an alias cannot become an index. */
    size_t nall;
    index_view **all = all_views(ix, &nall);
    bool clash = false;
    for (size_t i = 0; i < nall && !clash; i++) clash = has_alias(all[i], name);
    indices_views_free(all, nall);
    if (clash) {
        es_err_set(err, ES_INVALID_INDEX_NAME, "Invalid index name [%s], already exists as alias", name);
        es_err_extra(err, "index_uuid", "_na_", false);
        es_err_extra(err, "index", name, false);
        goto done;
    }

    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    index_settings_write(settings, SETTINGS_WRITE_FLAT, &w);
    settings_json = buf_detach(&b, NULL);
    mapping_json = mapping_to_json(map);
    aliases_json = aliases_to_json(aliases, n_aliases);

    store_index_spec spec = {
        .name = name,
        .number_of_shards = (uint32_t)index_settings_get_int(settings, "index.number_of_shards", 1),
        .creation_date = index_settings_get_int(settings, "index.creation_date", 0),
        .uuid = index_settings_get(settings, "index.uuid"),
        .settings = { settings_json, strlen(settings_json) },
        .mappings = { mapping_json, strlen(mapping_json) },
        .aliases = { aliases_json, strlen(aliases_json) },
    };
    store_index *si = NULL;
    pthread_mutex_lock(&ix->meta_lock);
    rc = store_index_create(ix->st, &spec, &si, err);
    pthread_mutex_unlock(&ix->meta_lock);
    if (rc == 0) {
        log_info("indices", "[%s] creating index, shards [%u]/[%s], mappings [%s]", name,
                 spec.number_of_shards, index_settings_get(settings, "index.number_of_replicas"),
                 mapping_is_empty(map) ? "" : "_doc");
        if (out) *out = indices_view(ix, si);
        store_index_release(si);
    }
done:
    index_settings_free(settings);
    if (an) analysis_free(an);
    if (map) mapping_unref(map);
    free_aliases(aliases, n_aliases);
    free(settings_json);
    free(mapping_json);
    free(aliases_json);
    return rc;
}

int indices_delete(indices *ix, const char *expr, const resolve_opts *opts, es_err *err)
{
    resolve_opts o = opts ? *opts : resolve_opts_default();
    o.no_aliases = true;
    bool wildcard = !expr || !*expr || !strcmp(expr, "_all") || strchr(expr, '*');
    if (wildcard) {
        char *v = indices_cluster_setting(ix, "action.destructive_requires_name");
        bool requires = !v || strcmp(v, "false") != 0;
        free(v);
        if (requires)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Wildcard expressions or all indices are not allowed");
    }
    /* An alias given by name is refused, as Elasticsearch does. */
    if (expr && !wildcard) {
        char *copy = xstrdup(expr);
        size_t nall;
        index_view **all = all_views(ix, &nall);
        int rc = 0;
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && !rc; t = strtok_r(NULL, ",", &save)) {
            bool is_index = false, is_alias = false;
            for (size_t i = 0; i < nall; i++) {
                if (!strcmp(all[i]->name, t)) is_index = true;
                if (has_alias(all[i], t)) is_alias = true;
            }
            if (!is_index && is_alias && !o.ignore_unavailable)
                rc = es_err_set(err, ES_ILLEGAL_ARGUMENT,
                                "The provided expression [%s] matches an alias, specify the corresponding concrete indices instead.",
                                t);
        }
        indices_views_free(all, nall);
        free(copy);
        if (rc) return -1;
    }
    index_view **views;
    size_t n;
    if (indices_resolve(ix, expr, &o, &views, &n, err)) return -1;
    int rc = 0;
    pthread_mutex_lock(&ix->meta_lock);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = store_index_delete(ix->st, views[i]->name, err);
        if (!rc) log_info("indices", "[%s/%s] deleting index", views[i]->name, views[i]->uuid);
    }
    pthread_mutex_unlock(&ix->meta_lock);
    indices_views_free(views, n);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Metadata updates */

/* Commits updates computed from the given views; 1 when a view was stale (retry). */
static int commit_updates(indices *ix, store_index_update *ups, size_t n, es_err *err)
{
    int rc = store_index_update_meta(ix->st, ups, n, err);
    if (rc == STORE_REJECTED) {
        es_err_free(err);
        return 1;
    }
    return rc;
}

int indices_put_mapping(indices *ix, index_view **views, size_t n, const json_val *body, es_err *err)
{
    if (!body || json_type_of(body) != JSON_OBJECT)
        return es_err_set(err, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: mapping source is empty;");
    pthread_mutex_lock(&ix->meta_lock);
    int rc = -1;
    for (int attempt = 0; attempt < 10; attempt++) {
        store_index_update *ups = xcalloc(n + 1, sizeof *ups);
        char **jsons = xcalloc(n + 1, sizeof *jsons);
        index_view **fresh = xcalloc(n + 1, sizeof *fresh);
        rc = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            fresh[i] = indices_view(ix, views[i]->si);
            mapping *incoming = mapping_parse(body, &fresh[i]->limits, err);
            mapping *merged = NULL;
            if (!incoming) {
                rc = -1;
                break;
            }
            rc = mapping_merge(fresh[i]->mapping, incoming, &fresh[i]->limits, &merged, err);
            mapping_unref(incoming);
            if (rc) break;
            analysis *an = analysis_build(fresh[i]->settings, err);
            rc = an ? analysis_check_mapping(an, merged, err) : -1;
            if (an) analysis_free(an);
            if (rc) {
                mapping_unref(merged);
                break;
            }
            jsons[i] = mapping_to_json(merged);
            mapping_unref(merged);
            ups[i] = (store_index_update){ .name = fresh[i]->name, .set_mappings = true,
                                           .mappings = { jsons[i], strlen(jsons[i]) },
                                           .if_version = fresh[i]->meta->version };
        }
        if (!rc) rc = commit_updates(ix, ups, n, err);
        for (size_t i = 0; i < n; i++) {
            free(jsons[i]);
            if (fresh[i]) index_view_release(fresh[i]);
        }
        free(jsons);
        free(fresh);
        free(ups);
        if (rc != 1) break;
    }
    pthread_mutex_unlock(&ix->meta_lock);
    if (rc == 1) rc = es_err_set(err, ES_ILLEGAL_STATE, "mapping update kept racing with other updates");
    return rc;
}

int indices_put_settings(indices *ix, index_view **views, size_t n, const json_val *body,
                         bool preserve_existing, es_err *err)
{
    index_settings *update = NULL;
    const json_val *src = body;
    const json_val *inner = json_obj_get(body, "settings");
    if (inner && json_type_of(inner) == JSON_OBJECT) src = inner;
    if (index_settings_parse(src, SETTINGS_UPDATE, &update, err)) return -1;
    if (update->n == 0) {
        index_settings_free(update);
        return es_err_set(err, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: no settings to update;");
    }
    pthread_mutex_lock(&ix->meta_lock);
    int rc = -1;
    for (int attempt = 0; attempt < 10; attempt++) {
        store_index_update *ups = xcalloc(n + 1, sizeof *ups);
        char **jsons = xcalloc(n + 1, sizeof *jsons);
        index_view **fresh = xcalloc(n + 1, sizeof *fresh);
        rc = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            fresh[i] = indices_view(ix, views[i]->si);
            index_settings *eff = update;
            index_settings *filtered = NULL;
            if (preserve_existing) {
                filtered = index_settings_clone(update);
                for (size_t j = 0; j < update->n; j++)
                    if (index_settings_find(fresh[i]->settings, update->items[j].key))
                        index_settings_remove(filtered, update->items[j].key);
                eff = filtered;
            }
            index_settings *merged = NULL;
            rc = index_settings_merge_update(fresh[i]->settings, eff, true, fresh[i]->name, fresh[i]->uuid,
                                             &merged, err);
            index_settings_free(filtered);
            if (rc) break;
            buf b = { 0 };
            json_w w;
            jw_init(&w, &b, false);
            index_settings_write(merged, SETTINGS_WRITE_FLAT, &w);
            index_settings_free(merged);
            jsons[i] = buf_detach(&b, NULL);
            ups[i] = (store_index_update){ .name = fresh[i]->name, .set_settings = true,
                                           .settings = { jsons[i], strlen(jsons[i]) },
                                           .if_version = fresh[i]->meta->version };
        }
        if (!rc) rc = commit_updates(ix, ups, n, err);
        for (size_t i = 0; i < n; i++) {
            free(jsons[i]);
            if (fresh[i]) index_view_release(fresh[i]);
        }
        free(jsons);
        free(fresh);
        free(ups);
        if (rc != 1) break;
    }
    pthread_mutex_unlock(&ix->meta_lock);
    index_settings_free(update);
    if (rc == 1) rc = es_err_set(err, ES_ILLEGAL_STATE, "settings update kept racing with other updates");
    return rc;
}

int indices_apply_dynamic_mapping(indices *ix, index_view *v, const mapping *update, index_view **out,
                                  es_err *err)
{
    *out = NULL;
    for (int attempt = 0; attempt < 20; attempt++) {
        index_view *cur = indices_view(ix, v->si);
        mapping *merged = NULL;
        if (mapping_merge(cur->mapping, update, &cur->limits, &merged, err)) {
            index_view_release(cur);
            return -1;
        }
        if (merged == cur->mapping) {
            /* Someone else already added these fields. */
            mapping_unref(merged);
            *out = cur;
            return 0;
        }
        char *json = mapping_to_json(merged);
        mapping_unref(merged);
        store_index_update up = { .name = cur->name, .set_mappings = true,
                                  .mappings = { json, strlen(json) }, .if_version = cur->meta->version };
        int rc = commit_updates(ix, &up, 1, err);
        free(json);
        index_view_release(cur);
        if (rc < 0) return -1;
        if (rc == 0) {
            *out = indices_view(ix, v->si);
            return 0;
        }
    }
    return es_err_set(err, ES_ILLEGAL_STATE, "dynamic mapping update of [%s] kept racing with other updates",
                      v->name);
}

/* ------------------------------------------------------------------------ */
/* Aliases */

typedef struct alias_state {
    index_view *view;
    index_alias *as;
    size_t n;
    bool changed;
} alias_state;

static index_alias *find_alias(alias_state *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->as[i].name, name)) return &s->as[i];
    return NULL;
}

static void copy_alias(index_alias *dst, const index_alias *src)
{
    memset(dst, 0, sizeof *dst);
    dst->name = xstrdup(src->name);
    if (src->filter_json) dst->filter_json = xstrdup(src->filter_json);
    if (src->index_routing) dst->index_routing = xstrdup(src->index_routing);
    if (src->search_routing) dst->search_routing = xstrdup(src->search_routing);
    dst->is_write_index = src->is_write_index;
    dst->has_is_write_index = src->has_is_write_index;
    dst->is_hidden = src->is_hidden;
}

static int apply_alias_action(indices *ix, alias_state *st, size_t nst, const alias_action *a, es_err *err)
{
    resolve_opts o = resolve_opts_default();
    o.no_aliases = true;
    index_view **targets;
    size_t nt;
    if (indices_resolve(ix, a->index, &o, &targets, &nt, err)) return -1;
    int rc = 0;
    if (nt == 0 && a->index && !strchr(a->index, '*')) {
        indices_not_found(err, a->index);
        rc = -1;
    }
    for (size_t t = 0; t < nt && !rc; t++) {
        alias_state *s = NULL;
        for (size_t i = 0; i < nst; i++)
            if (st[i].view->si == targets[t]->si) s = &st[i];
        if (!s) continue;
        if (a->kind == ALIAS_ADD) {
            if (validate_alias_name(a->alias, err)) {
                rc = -1;
                break;
            }
            size_t nall;
            index_view **all = all_views(ix, &nall);
            bool clash = false;
            for (size_t i = 0; i < nall; i++)
                if (!strcmp(all[i]->name, a->alias)) clash = true;
            indices_views_free(all, nall);
            if (clash) {
                rc = es_err_set(err, ES_INVALID_ALIAS_NAME,
                                "Invalid alias name [%s]: an index or data stream exists with the same name as the alias",
                                a->alias);
                break;
            }
            index_alias na;
            char *json = NULL;
            if (a->filter) {
                buf b = { 0 };
                json_w w;
                jw_init(&w, &b, false);
                jw_val(&w, a->filter);
                json = buf_detach(&b, NULL);
            }
            memset(&na, 0, sizeof na);
            na.name = xstrdup(a->alias);
            na.filter_json = json;
            if (a->routing || a->index_routing) na.index_routing = xstrdup(a->index_routing ? a->index_routing : a->routing);
            if (a->routing || a->search_routing) na.search_routing = xstrdup(a->search_routing ? a->search_routing : a->routing);
            if (a->is_write_index >= 0) {
                na.has_is_write_index = true;
                na.is_write_index = a->is_write_index == 1;
            }
            na.is_hidden = a->is_hidden == 1;
            index_alias *old = find_alias(s, a->alias);
            if (old) {
                free_alias(old);
                *old = na;
            } else {
                s->as = xrealloc(s->as, (s->n + 1) * sizeof *s->as);
                s->as[s->n++] = na;
                qsort(s->as, s->n, sizeof *s->as, alias_cmp);
            }
            s->changed = true;
        } else if (a->kind == ALIAS_REMOVE) {
            bool any = false;
            for (size_t i = 0; i < s->n;) {
                if (indices_simple_match(a->alias, s->as[i].name)) {
                    free_alias(&s->as[i]);
                    memmove(&s->as[i], &s->as[i + 1], (s->n - i - 1) * sizeof *s->as);
                    s->n--;
                    any = s->changed = true;
                } else {
                    i++;
                }
            }
            if (!any && a->must_exist) {
                rc = es_err_set(err, ES_ALIASES_NOT_FOUND, "aliases [%s] missing", a->alias);
                es_err_extra(err, "resource.type", "aliases", false);
                es_err_extra(err, "resource.id", a->alias, false);
            }
        }
    }
    indices_views_free(targets, nt);
    return rc;
}

int indices_update_aliases(indices *ix, const alias_action *acts, size_t n, es_err *err)
{
    pthread_mutex_lock(&ix->meta_lock);
    int rc = -1;
    for (int attempt = 0; attempt < 10; attempt++) {
        size_t nst;
        index_view **all = all_views(ix, &nst);
        alias_state *st = xcalloc(nst + 1, sizeof *st);
        for (size_t i = 0; i < nst; i++) {
            st[i].view = all[i];
            st[i].as = xcalloc(all[i]->n_aliases + 1, sizeof *st[i].as);
            for (size_t j = 0; j < all[i]->n_aliases; j++) copy_alias(&st[i].as[j], &all[i]->aliases[j]);
            st[i].n = all[i]->n_aliases;
        }
        rc = 0;
        store_index_update *ups = xcalloc(nst + 1, sizeof *ups);
        char **jsons = xcalloc(nst + 1, sizeof *jsons);
        size_t nups = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            if (acts[i].kind == ALIAS_REMOVE_INDEX) continue;
            rc = apply_alias_action(ix, st, nst, &acts[i], err);
        }
        /* An alias may have at most one write index. */
        for (size_t i = 0; i < nst && !rc; i++) {
            for (size_t j = 0; j < st[i].n && !rc; j++) {
                if (!st[i].as[j].is_write_index) continue;
                for (size_t k = i + 1; k < nst && !rc; k++) {
                    index_alias *o = find_alias(&st[k], st[i].as[j].name);
                    if (o && o->is_write_index)
                        rc = es_err_set(err, ES_ILLEGAL_STATE, "alias [%s] has more than one write index [%s,%s]",
                                        st[i].as[j].name, st[i].view->name, st[k].view->name);
                }
            }
        }
        for (size_t i = 0; i < nst && !rc; i++) {
            if (!st[i].changed) continue;
            jsons[nups] = aliases_to_json(st[i].as, st[i].n);
            ups[nups] = (store_index_update){ .name = st[i].view->name, .set_aliases = true,
                                              .aliases = { jsons[nups], strlen(jsons[nups]) },
                                              .if_version = st[i].view->meta->version };
            nups++;
        }
        if (!rc && nups) rc = commit_updates(ix, ups, nups, err);
        /* remove_index actions run after the alias changes committed. */
        for (size_t i = 0; i < n && rc == 0; i++) {
            if (acts[i].kind != ALIAS_REMOVE_INDEX) continue;
            resolve_opts o = resolve_opts_default();
            o.no_aliases = true;
            o.allow_no_indices = false;
            index_view **victims;
            size_t nv;
            if (indices_resolve(ix, acts[i].index, &o, &victims, &nv, err)) {
                rc = -1;
                break;
            }
            for (size_t v = 0; v < nv && !rc; v++) rc = store_index_delete(ix->st, victims[v]->name, err);
            indices_views_free(victims, nv);
        }
        for (size_t i = 0; i < nups; i++) free(jsons[i]);
        free(jsons);
        free(ups);
        for (size_t i = 0; i < nst; i++) free_aliases(st[i].as, st[i].n);
        free(st);
        indices_views_free(all, nst);
        if (rc != 1) break;
    }
    pthread_mutex_unlock(&ix->meta_lock);
    if (rc == 1) rc = es_err_set(err, ES_ILLEGAL_STATE, "alias update kept racing with other updates");
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Write targets and auto-create */

/* Applies action.auto_create_index: "true", "false", or patterns "+a*,-b*". */
static int auto_create_allowed(indices *ix, const char *name, es_err *err)
{
    char *setting = indices_cluster_setting(ix, "action.auto_create_index");
    const char *s = setting ? setting : "true";
    int rc = 0;
    if (!strcmp(s, "false")) {
        es_err_set(err, ES_INDEX_NOT_FOUND, "no such index [%s] and [action.auto_create_index] is [false]", name);
        rc = -1;
    } else if (strcmp(s, "true") != 0) {
        char *copy = xstrdup(s);
        bool decided = false;
        for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && !decided; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ') t++;
            bool neg = t[0] == '-', pos = t[0] == '+';
            const char *pat = (neg || pos) ? t + 1 : t;
            if (!indices_simple_match(pat, name)) continue;
            decided = true;
            if (neg) {
                es_err_set(err, ES_INDEX_NOT_FOUND,
                           "no such index [%s] and [action.auto_create_index] contains [%s] which forbids automatic creation of the index",
                           name, t);
                rc = -1;
            }
        }
        if (!decided) {
            es_err_set(err, ES_INDEX_NOT_FOUND, "no such index [%s] and [action.auto_create_index] ([%s]) doesn't match",
                       name, s);
            rc = -1;
        }
        free(copy);
    }
    if (rc) {
        es_err_extra(err, "index_uuid", "_na_", false);
        es_err_extra(err, "index", name, false);
    }
    free(setting);
    return rc;
}

int indices_write_target(indices *ix, const char *name, bool auto_create, bool require_alias,
                         index_view **out, const char **alias_routing, es_err *err)
{
    *out = NULL;
    if (alias_routing) *alias_routing = NULL;
    size_t nall;
    index_view **all = all_views(ix, &nall);
    index_view *concrete = NULL, *write = NULL, *only = NULL;
    size_t members = 0;
    const index_alias *write_alias = NULL, *only_alias = NULL;
    bool explicit_no_write = false;
    for (size_t i = 0; i < nall; i++) {
        if (!strcmp(all[i]->name, name)) concrete = all[i];
        for (size_t a = 0; a < all[i]->n_aliases; a++) {
            const index_alias *al = &all[i]->aliases[a];
            if (strcmp(al->name, name)) continue;
            members++;
            only = all[i];
            only_alias = al;
            if (al->has_is_write_index && al->is_write_index) {
                write = all[i];
                write_alias = al;
            }
            if (al->has_is_write_index && !al->is_write_index) explicit_no_write = true;
        }
    }
    int rc = 0;
    if (require_alias && members == 0) {
        es_err_set(err, ES_INDEX_NOT_FOUND, "no such index [%s] and [require_alias] request flag is [true] and [%s] is not an alias",
                   name, name);
        es_err_extra(err, "index_uuid", "_na_", false);
        es_err_extra(err, "index", name, false);
        rc = -1;
    } else if (concrete && !require_alias) {
        *out = index_view_ref(concrete);
    } else if (members) {
        index_view *target = write ? write : (members == 1 && !explicit_no_write ? only : NULL);
        const index_alias *al = write ? write_alias : only_alias;
        if (!target) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "no write index is defined for alias [%s]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index",
                       name);
            rc = -1;
        } else {
            *out = index_view_ref(target);
            if (alias_routing && al->index_routing) {
                /* Borrowed from the returned view: find the same alias there. */
                for (size_t a = 0; a < target->n_aliases; a++)
                    if (!strcmp(target->aliases[a].name, name)) *alias_routing = target->aliases[a].index_routing;
            }
        }
    }
    indices_views_free(all, nall);
    if (rc || *out) return rc;

    if (!auto_create) {
        indices_not_found(err, name);
        return -1;
    }
    if (index_name_validate(name, err)) return -1;
    if (auto_create_allowed(ix, name, err)) return -1;
    es_err cerr = { 0 };
    if (indices_create(ix, name, NULL, out, &cerr) == 0) return 0;
    if (cerr.type == ES_RESOURCE_ALREADY_EXISTS) {
        /* Another writer created it first: use it. */
        es_err_free(&cerr);
        *out = indices_get(ix, name);
        if (*out) return 0;
        indices_not_found(err, name);
        return -1;
    }
    *err = cerr;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Cluster settings */

char *indices_cluster_setting(indices *ix, const char *key)
{
    pthread_mutex_lock(&ix->cluster_lock);
    const char *v = index_settings_get(ix->transient, key);
    if (!v) v = index_settings_get(ix->persistent, key);
    char *out = v ? xstrdup(v) : NULL;
    pthread_mutex_unlock(&ix->cluster_lock);
    if (out) return out;
    if (config_find_def(key)) {
        const char *c = config_str(ix->cfg, key);
        if (c) return xstrdup(c);
    }
    return NULL;
}

static bool is_dynamic_cluster_key(const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(dynamic_cluster_keys); i++)
        if (!strcmp(key, dynamic_cluster_keys[i])) return true;
    for (size_t i = 0; i < ARRAY_LEN(dynamic_cluster_prefixes); i++)
        if (str_has_prefix(key, dynamic_cluster_prefixes[i])) return true;
    return false;
}

/* Flattens {"a":{"b":1}} into "a.b" → "1" pairs (values as strings; null kept as NULL). */
static int flatten_settings(const json_val *v, buf *prefix, index_settings *out, const char *scope, es_err *err)
{
    json_iter it = json_iter_begin(v);
    const json_val *val;
    const char *k;
    size_t kn;
    while ((val = json_iter_next(&it, &k, &kn))) {
        size_t mark = prefix->len;
        if (prefix->len) buf_putc(prefix, '.');
        buf_append(prefix, k, kn);
        json_type t = json_type_of(val);
        int rc = 0;
        if (t == JSON_OBJECT) {
            rc = flatten_settings(val, prefix, out, scope, err);
        } else if (!is_dynamic_cluster_key(prefix->p)) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s setting [%s], not %s", scope, prefix->p,
                            config_find_def(prefix->p) ? "dynamically updateable" : "recognized");
        } else if (t == JSON_NULL) {
            index_settings_set(out, prefix->p, "\x01null");
        } else if (t == JSON_STRING) {
            index_settings_set(out, prefix->p, json_str(val, NULL));
        } else {
            buf txt = { 0 };
            json_w w;
            jw_init(&w, &txt, false);
            jw_val(&w, val);
            index_settings_set(out, prefix->p, txt.p);
            buf_free(&txt);
        }
        prefix->len = mark;
        prefix->p[mark] = 0;
        if (rc) return rc;
    }
    return 0;
}

static void write_applied(json_w *w, const index_settings *s)
{
    index_settings *shown = index_settings_new();
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].value && strcmp(s->items[i].value, "\x01null"))
            index_settings_set(shown, s->items[i].key, s->items[i].value);
    index_settings_write(shown, 0, w);
    index_settings_free(shown);
}

int indices_cluster_settings_update(indices *ix, const json_val *body, json_w *answer, es_err *err)
{
    if (!body || json_type_of(body) != JSON_OBJECT)
        return es_err_set(err, ES_ACTION_REQUEST_VALIDATION,
                          "Validation Failed: 1: no settings to update;");
    index_settings *p = index_settings_new(), *t = index_settings_new();
    buf prefix = { 0 };
    buf_reserve(&prefix, 64);
    int rc = 0;
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kn;
    while (!rc && (v = json_iter_next(&it, &k, &kn))) {
        bool persistent = kn == 10 && !memcmp(k, "persistent", 10);
        bool transient = kn == 9 && !memcmp(k, "transient", 9);
        if (!persistent && !transient) {
            rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "request body contains unknown key [%.*s]", (int)kn, k);
            break;
        }
        if (json_type_of(v) != JSON_OBJECT) continue;
        rc = flatten_settings(v, &prefix, persistent ? p : t, persistent ? "persistent" : "transient", err);
    }
    buf_free(&prefix);
    if (!rc && p->n == 0 && t->n == 0)
        rc = es_err_set(err, ES_ACTION_REQUEST_VALIDATION, "Validation Failed: 1: no settings to update;");
    if (!rc) {
        pthread_mutex_lock(&ix->cluster_lock);
        index_settings *targets[2] = { ix->persistent, ix->transient };
        index_settings *changes[2] = { p, t };
        for (int s = 0; s < 2; s++) {
            for (size_t i = 0; i < changes[s]->n; i++) {
                const index_setting *c = &changes[s]->items[i];
                if (!strcmp(c->value, "\x01null")) index_settings_remove(targets[s], c->key);
                else index_settings_set(targets[s], c->key, c->value);
            }
        }
        rc = p->n ? save_cluster_settings(ix, err) : 0;
        pthread_mutex_unlock(&ix->cluster_lock);
    }
    if (!rc) {
        jw_obj_begin(answer);
        jw_kbool(answer, "acknowledged", true);
        jw_key(answer, "persistent");
        write_applied(answer, p);
        jw_key(answer, "transient");
        write_applied(answer, t);
        jw_obj_end(answer);
    }
    index_settings_free(p);
    index_settings_free(t);
    return rc;
}

void indices_cluster_settings_write(indices *ix, bool flat, json_w *w)
{
    pthread_mutex_lock(&ix->cluster_lock);
    jw_obj_begin(w);
    jw_key(w, "persistent");
    index_settings_write(ix->persistent, flat ? SETTINGS_WRITE_FLAT : 0, w);
    jw_key(w, "transient");
    index_settings_write(ix->transient, flat ? SETTINGS_WRITE_FLAT : 0, w);
    jw_obj_end(w);
    pthread_mutex_unlock(&ix->cluster_lock);
}
