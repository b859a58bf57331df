/*
 * settings.c — index settings: normalization of the flat and nested forms
 * into "index."-prefixed string values, validation of the known settings
 * with Elasticsearch's texts, defaults, output, and updates.
 */
#include "index/index_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* The known settings */

typedef enum { SK_INT, SK_BOOL, SK_TIME, SK_BYTES, SK_STRING, SK_ENUM, SK_AUTO_EXPAND, SK_ANY } setting_kind;
typedef enum { SC_DYNAMIC, SC_STATIC, SC_FINAL, SC_NODE, SC_PRIVATE } setting_scope;

typedef struct setting_def {
    const char *key;      /* without "index."; a trailing '.' means a prefix (group) */
    setting_kind kind;
    setting_scope scope;
    const char *dflt;     /* NULL: no default shown */
    int64_t min, max;
    const char *const *choices;
} setting_def;

static const char *const codecs[] = { "default", "best_compression", "legacy_default", "legacy_best_compression",
                                      "lucene_default", NULL };
static const char *const durabilities[] = { "request", "async", "REQUEST", "ASYNC", NULL };
static const char *const modes[] = { "standard", "time_series", "logsdb", "lookup", NULL };

#define I64MAX INT64_MAX
static const setting_def settings_table[] = {
    { "number_of_shards", SK_INT, SC_FINAL, "1", 1, 1024, NULL },
    { "number_of_replicas", SK_INT, SC_DYNAMIC, "1", 0, INT32_MAX, NULL },
    { "number_of_routing_shards", SK_INT, SC_FINAL, NULL, 1, 1024 * 1024, NULL },
    { "routing_partition_size", SK_INT, SC_FINAL, "1", 1, INT32_MAX, NULL },
    { "auto_expand_replicas", SK_AUTO_EXPAND, SC_DYNAMIC, "false", 0, 0, NULL },
    { "refresh_interval", SK_TIME, SC_DYNAMIC, "1s", -1, 0, NULL },
    { "max_result_window", SK_INT, SC_DYNAMIC, "10000", 1, INT32_MAX, NULL },
    { "max_inner_result_window", SK_INT, SC_DYNAMIC, "100", 1, INT32_MAX, NULL },
    { "max_rescore_window", SK_INT, SC_DYNAMIC, "10000", 1, INT32_MAX, NULL },
    { "max_docvalue_fields_search", SK_INT, SC_DYNAMIC, "100", 0, INT32_MAX, NULL },
    { "max_script_fields", SK_INT, SC_DYNAMIC, "32", 0, INT32_MAX, NULL },
    { "max_ngram_diff", SK_INT, SC_DYNAMIC, "1", 0, INT32_MAX, NULL },
    { "max_shingle_diff", SK_INT, SC_DYNAMIC, "3", 0, INT32_MAX, NULL },
    { "max_refresh_listeners", SK_INT, SC_DYNAMIC, "1000", 0, INT32_MAX, NULL },
    { "max_terms_count", SK_INT, SC_DYNAMIC, "65536", 1, INT32_MAX, NULL },
    { "max_regex_length", SK_INT, SC_DYNAMIC, "1000", 1, INT32_MAX, NULL },
    { "max_slices_per_scroll", SK_INT, SC_DYNAMIC, "1024", 1, INT32_MAX, NULL },
    { "max_adjacency_matrix_filters", SK_INT, SC_DYNAMIC, "100", 2, INT32_MAX, NULL },
    { "highlight.max_analyzed_offset", SK_INT, SC_DYNAMIC, "1000000", 1, INT32_MAX, NULL },
    { "mapping.total_fields.limit", SK_INT, SC_DYNAMIC, "1000", 0, I64MAX, NULL },
    { "mapping.total_fields.ignore_dynamic_beyond_limit", SK_BOOL, SC_DYNAMIC, "false", 0, 0, NULL },
    { "mapping.depth.limit", SK_INT, SC_DYNAMIC, "20", 1, I64MAX, NULL },
    { "mapping.nested_fields.limit", SK_INT, SC_DYNAMIC, "50", 0, I64MAX, NULL },
    { "mapping.nested_objects.limit", SK_INT, SC_DYNAMIC, "10000", 0, I64MAX, NULL },
    { "mapping.field_name_length.limit", SK_INT, SC_DYNAMIC, "9223372036854775807", 1, I64MAX, NULL },
    { "mapping.dimension_fields.limit", SK_INT, SC_DYNAMIC, "32768", 0, I64MAX, NULL },
    { "mapping.coerce", SK_BOOL, SC_DYNAMIC, "true", 0, 0, NULL },
    { "mapping.ignore_malformed", SK_BOOL, SC_DYNAMIC, "false", 0, 0, NULL },
    { "mapping.source.mode", SK_STRING, SC_FINAL, NULL, 0, 0, NULL },
    { "mapping.dynamic_strings.auto_text", SK_BOOL, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "blocks.read_only", SK_BOOL, SC_DYNAMIC, "false", 0, 0, NULL },
    { "blocks.read_only_allow_delete", SK_BOOL, SC_DYNAMIC, "false", 0, 0, NULL },
    { "blocks.read", SK_BOOL, SC_DYNAMIC, "false", 0, 0, NULL },
    { "blocks.write", SK_BOOL, SC_DYNAMIC, "false", 0, 0, NULL },
    { "blocks.metadata", SK_BOOL, SC_DYNAMIC, "false", 0, 0, NULL },
    { "hidden", SK_BOOL, SC_DYNAMIC, "false", 0, 0, NULL },
    { "codec", SK_ENUM, SC_STATIC, "default", 0, 0, codecs },
    { "mode", SK_ENUM, SC_FINAL, NULL, 0, 0, modes },
    { "search.idle.after", SK_TIME, SC_DYNAMIC, "30s", 0, 0, NULL },
    { "translog.durability", SK_ENUM, SC_DYNAMIC, "REQUEST", 0, 0, durabilities },
    { "translog.sync_interval", SK_TIME, SC_STATIC, "5s", 0, 0, NULL },
    { "translog.flush_threshold_size", SK_BYTES, SC_DYNAMIC, "10gb", 0, 0, NULL },
    { "translog.generation_threshold_size", SK_BYTES, SC_DYNAMIC, "64mb", 0, 0, NULL },
    { "translog.retention.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "default_pipeline", SK_STRING, SC_DYNAMIC, "_none", 0, 0, NULL },
    { "final_pipeline", SK_STRING, SC_DYNAMIC, "_none", 0, 0, NULL },
    { "priority", SK_INT, SC_DYNAMIC, "1", 0, INT32_MAX, NULL },
    { "format", SK_INT, SC_DYNAMIC, "0", 0, INT32_MAX, NULL },
    { "gc_deletes", SK_TIME, SC_DYNAMIC, "60s", -1, 0, NULL },
    { "requests.cache.enable", SK_BOOL, SC_DYNAMIC, "true", 0, 0, NULL },
    { "queries.cache.enabled", SK_BOOL, SC_STATIC, "true", 0, 0, NULL },
    { "load_fixed_bitset_filters_eagerly", SK_BOOL, SC_STATIC, "true", 0, 0, NULL },
    { "shard.check_on_startup", SK_STRING, SC_STATIC, "false", 0, 0, NULL },
    { "soft_deletes.enabled", SK_BOOL, SC_FINAL, "true", 0, 0, NULL },
    { "soft_deletes.retention_lease.period", SK_TIME, SC_DYNAMIC, "12h", 0, 0, NULL },
    { "soft_deletes.retention.operations", SK_INT, SC_DYNAMIC, "0", 0, I64MAX, NULL },
    { "unassigned.node_left.delayed_timeout", SK_TIME, SC_DYNAMIC, "1m", 0, 0, NULL },
    { "write.wait_for_active_shards", SK_STRING, SC_DYNAMIC, "1", 0, 0, NULL },
    { "query.default_field", SK_ANY, SC_DYNAMIC, "*", 0, 0, NULL },
    { "query_string.lenient", SK_BOOL, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "max_analyzed_offset", SK_INT, SC_DYNAMIC, NULL, 1, INT32_MAX, NULL },
    { "routing_path", SK_ANY, SC_FINAL, NULL, 0, 0, NULL },
    { "look_ahead_time", SK_TIME, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "time_series.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "sort.", SK_ANY, SC_FINAL, NULL, 0, 0, NULL },
    { "analysis.", SK_ANY, SC_STATIC, NULL, 0, 0, NULL },
    { "similarity.", SK_ANY, SC_STATIC, NULL, 0, 0, NULL },
    { "routing.allocation.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "routing.rebalance.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "merge.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "store.", SK_ANY, SC_STATIC, NULL, 0, 0, NULL },
    { "search.slowlog.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "indexing.slowlog.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "lifecycle.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "blocks.", SK_ANY, SC_DYNAMIC, NULL, 0, 0, NULL },
    { "uuid", SK_STRING, SC_NODE, NULL, 0, 0, NULL },
    { "provided_name", SK_STRING, SC_NODE, NULL, 0, 0, NULL },
    { "creation_date", SK_INT, SC_NODE, NULL, INT64_MIN, I64MAX, NULL },
    { "history.uuid", SK_STRING, SC_NODE, NULL, 0, 0, NULL },
    { "version.created", SK_INT, SC_PRIVATE, NULL, 0, I64MAX, NULL },
    { "version.upgraded", SK_INT, SC_PRIVATE, NULL, 0, I64MAX, NULL },
    { "version.compatibility", SK_INT, SC_PRIVATE, NULL, 0, I64MAX, NULL },
};

static const setting_def *setting_lookup(const char *key)
{
    if (strncmp(key, "index.", 6) != 0) return NULL;
    const char *k = key + 6;
    for (size_t i = 0; i < ARRAY_LEN(settings_table); i++) {
        const setting_def *d = &settings_table[i];
        size_t n = strlen(d->key);
        if (d->key[n - 1] == '.') {
            if (strncmp(k, d->key, n) == 0 && k[n]) return d;
        } else if (strcmp(k, d->key) == 0) {
            return d;
        }
    }
    return NULL;
}

bool index_setting_is_dynamic(const char *key)
{
    const setting_def *d = setting_lookup(key);
    return d && d->scope == SC_DYNAMIC;
}

/* ------------------------------------------------------------------------ */
/* The container */

/* Segment-wise key order: '.' sorts before any other byte. */
static int key_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x == y) {
            if (!x) return 0;
            continue;
        }
        if (!x) return -1;
        if (!y) return 1;
        if (x == '.') return -1;
        if (y == '.') return 1;
        return x < y ? -1 : 1;
    }
}

index_settings *index_settings_new(void) { return xcalloc(1, sizeof(index_settings)); }

static void item_clear(index_setting *it)
{
    free(it->key);
    free(it->value);
    for (size_t i = 0; i < it->n_list; i++) free(it->list[i]);
    free(it->list);
    memset(it, 0, sizeof *it);
}

void index_settings_free(index_settings *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) item_clear(&s->items[i]);
    free(s->items);
    free(s);
}

static size_t find_pos(const index_settings *s, const char *key, bool *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = key_cmp(s->items[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

/* Takes ownership of it's heap members. */
static void put_item(index_settings *s, index_setting it)
{
    bool found;
    size_t pos = find_pos(s, it.key, &found);
    if (found) {
        item_clear(&s->items[pos]);
        s->items[pos] = it;
        return;
    }
    s->items = xrealloc(s->items, (s->n + 1) * sizeof *s->items);
    memmove(s->items + pos + 1, s->items + pos, (s->n - pos) * sizeof *s->items);
    s->items[pos] = it;
    s->n++;
}

static index_setting item_copy(const index_setting *o)
{
    index_setting it = *o;
    it.key = xstrdup(o->key);
    it.value = o->value ? xstrdup(o->value) : NULL;
    if (o->n_list || o->is_list) {
        it.list = xcalloc(o->n_list ? o->n_list : 1, sizeof *it.list);
        for (size_t i = 0; i < o->n_list; i++) it.list[i] = xstrdup(o->list[i]);
    }
    return it;
}

index_settings *index_settings_clone(const index_settings *s)
{
    index_settings *r = index_settings_new();
    if (!s) return r;
    r->items = xcalloc(s->n ? s->n : 1, sizeof *r->items);
    for (size_t i = 0; i < s->n; i++) r->items[i] = item_copy(&s->items[i]);
    r->n = s->n;
    return r;
}

const index_setting *index_settings_find(const index_settings *s, const char *key)
{
    bool found;
    size_t pos = find_pos(s, key, &found);
    return found ? &s->items[pos] : NULL;
}

const char *index_settings_get(const index_settings *s, const char *key)
{
    const index_setting *it = index_settings_find(s, key);
    return it && !it->is_list ? it->value : NULL;
}

void index_settings_set(index_settings *s, const char *key, const char *value)
{
    put_item(s, (index_setting){ .key = xstrdup(key), .value = xstrdup(value) });
}

bool index_settings_remove(index_settings *s, const char *key)
{
    bool found;
    size_t pos = find_pos(s, key, &found);
    if (!found) return false;
    item_clear(&s->items[pos]);
    memmove(s->items + pos, s->items + pos + 1, (s->n - pos - 1) * sizeof *s->items);
    s->n--;
    return true;
}

int64_t index_settings_get_int(const index_settings *s, const char *key, int64_t dflt)
{
    const char *v = index_settings_get(s, key);
    if (!v) return dflt;
    char *end;
    errno = 0;
    long long r = strtoll(v, &end, 10);
    return (*end || errno) ? dflt : r;
}

bool index_settings_get_bool(const index_settings *s, const char *key, bool dflt)
{
    const char *v = index_settings_get(s, key);
    if (!v) return dflt;
    if (strcmp(v, "true") == 0) return true;
    if (strcmp(v, "false") == 0) return false;
    return dflt;
}

/* ------------------------------------------------------------------------ */
/* Reading a body */

static char *scalar_string(const json_val *v)
{
    buf tmp = { 0 };
    size_t n;
    const char *s = json_scalar_text(v, &n, &tmp);
    char *r = xstrndup(s, n);
    buf_free(&tmp);
    return r;
}

static int flatten(const json_val *v, buf *prefix, index_settings *s, es_err *err)
{
    json_iter it = json_iter_begin(v);
    const json_val *e;
    const char *k;
    size_t kl;
    while ((e = json_iter_next(&it, &k, &kl))) {
        size_t save = prefix->len;
        if (prefix->len) buf_putc(prefix, '.');
        buf_append(prefix, k, kl);
        if (json_type_of(e) == JSON_OBJECT) {
            if (flatten(e, prefix, s, err) < 0) return -1;
        } else {
            char *key = str_has_prefix(prefix->p, "index.") ? xstrdup(prefix->p) : xasprintf("index.%s", prefix->p);
            index_setting item = { .key = key };
            if (json_type_of(e) == JSON_ARRAY) {
                item.is_list = true;
                size_t n = json_len(e);
                item.list = xcalloc(n ? n : 1, sizeof *item.list);
                for (size_t i = 0; i < n; i++) {
                    const json_val *x = json_arr_get(e, i);
                    if (json_type_of(x) == JSON_OBJECT || json_type_of(x) == JSON_ARRAY) {
                        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to load settings from [%s]", "{}");
                        item_clear(&item);
                        return -1;
                    }
                    item.list[item.n_list++] = scalar_string(x);
                }
            } else if (json_is_null(e)) {
                item.is_null = true;
            } else {
                item.value = scalar_string(e);
            }
            put_item(s, item);
        }
        prefix->len = save;
        if (prefix->p) prefix->p[save] = 0;
    }
    return 0;
}

static int unknown_setting(const char *key, es_err *err)
{
    /* "did you mean" candidates: similarity > 0.7, best first, then by key. */
    struct cand { float score; char key[96]; } c[8];
    size_t nc = 0;
    for (size_t i = 0; i < ARRAY_LEN(settings_table); i++) {
        const char *k = settings_table[i].key;
        if (k[strlen(k) - 1] == '.') continue; /* groups are not suggested */
        char full[96];
        snprintf(full, sizeof full, "index.%s", k);
        float sc = str_similarity(key, full);
        if (sc <= 0.7f) continue;
        if (nc < ARRAY_LEN(c)) {
            c[nc].score = sc;
            snprintf(c[nc].key, sizeof c[nc].key, "%s", full);
            nc++;
        }
    }
    for (size_t i = 1; i < nc; i++)
        for (size_t j = i; j > 0 && (c[j].score > c[j - 1].score ||
                                     (c[j].score == c[j - 1].score && strcmp(c[j].key, c[j - 1].key) < 0)); j--) {
            struct cand t = c[j];
            c[j] = c[j - 1];
            c[j - 1] = t;
        }
    if (nc == 1) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "unknown setting [%s] did you mean [%s]?", key, c[0].key);
    if (nc > 1) {
        buf b = { 0 };
        for (size_t i = 0; i < nc; i++) buf_printf(&b, "%s%s", i ? ", " : "", c[i].key);
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "unknown setting [%s] did you mean any of [%s]?", key, b.p);
        buf_free(&b);
        return -1;
    }
    return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                      "unknown setting [%s] please check that any required plugins are installed, or check the breaking "
                      "changes documentation for removed settings",
                      key);
}

static int validate_value(const setting_def *d, const index_setting *it, es_err *err)
{
    const char *key = it->key, *v = it->value;
    if (it->is_null) return 0;
    if (it->is_list) {
        if (d->kind == SK_ANY || d->kind == SK_STRING) return 0;
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] for setting [%s]", "[...]", key);
    }
    switch (d->kind) {
    case SK_INT: {
        char *end;
        errno = 0;
        long long r = strtoll(v, &end, 10);
        bool bad = !*v || *end || errno || (v[0] == '+');
        bool as_int = d->max <= INT32_MAX && d->min >= INT32_MIN;
        if (!bad && as_int && (r > INT32_MAX || r < INT32_MIN)) bad = true;
        if (bad) {
            es_err *cause = xcalloc(1, sizeof *cause);
            err_set_named(cause, ES_ILLEGAL_ARGUMENT, "number_format_exception", "For input string: \"%s\"", v);
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] for setting [%s]", v, key);
            es_err_cause(err, cause);
            return -1;
        }
        if (r < d->min) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] for setting [%s] must be >= %lld", v, key, (long long)d->min);
        if (r > d->max) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] for setting [%s] must be <= %lld", v, key, (long long)d->max);
        return 0;
    }
    case SK_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) return 0;
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to parse value [%s] as only [true] or [false] are allowed.", v);
    case SK_TIME: {
        int64_t ms;
        if (!parse_time_value(v, &ms) || (ms < 0 && !(d->min == -1 && ms == -1)))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized", key, v);
        return 0;
    }
    case SK_BYTES: {
        int64_t b;
        if (!parse_byte_size(v, &b))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to parse setting [%s] with value [%s] as a size in bytes: unit is missing or unrecognized", key, v);
        return 0;
    }
    case SK_ENUM:
        for (size_t i = 0; d->choices[i]; i++)
            if (strcmp(d->choices[i], v) == 0) return 0;
        if (d->choices == codecs)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "unknown value for [index.codec] must be one of [default, best_compression, legacy_default, legacy_best_compression, lucene_default] but was: %s", v);
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "No enum constant for setting [%s]: [%s]", key, v);
    case SK_AUTO_EXPAND: {
        if (strcmp(v, "false") == 0) return 0;
        const char *dash = strchr(v, '-');
        if (dash && dash != v) {
            char *end;
            strtoll(v, &end, 10);
            if (end == dash) {
                if (strcmp(dash + 1, "all") == 0) return 0;
                strtoll(dash + 1, &end, 10);
                if (dash[1] && !*end) return 0;
            }
        }
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "failed to parse [%s] from value: [%s] at index %d", key, v, dash ? (int)(dash - v) : -1);
    }
    default:
        return 0;
    }
}

int index_settings_parse(const json_val *v, settings_mode mode, index_settings **out, es_err *err)
{
    *out = NULL;
    index_settings *s = index_settings_new();
    if (v && !json_is_null(v)) {
        if (json_type_of(v) != JSON_OBJECT) {
            index_settings_free(s);
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Failed to load settings from [%s]", json_type_name(json_type_of(v)));
        }
        buf prefix = { 0 };
        int rc = flatten(v, &prefix, s, err);
        buf_free(&prefix);
        if (rc < 0) {
            index_settings_free(s);
            return -1;
        }
    }
    if (mode == SETTINGS_STORED) {
        *out = s;
        return 0;
    }
    buf privates = { 0 };
    int nprivate = 0;
    for (size_t i = 0; i < s->n;) {
        index_setting *it = &s->items[i];
        const setting_def *d = setting_lookup(it->key);
        if (!d) {
            unknown_setting(it->key, err);
            goto fail;
        }
        if (mode == SETTINGS_CREATE && it->is_null) { /* null at creation: not set */
            index_settings_remove(s, it->key);
            continue;
        }
        if (d->scope == SC_NODE || d->scope == SC_PRIVATE) {
            if (mode == SETTINGS_UPDATE) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "private index setting [%s] can not be set explicitly", it->key);
                goto fail;
            }
            if (d->scope == SC_PRIVATE) {
                buf_printf(&privates, "%d: private index setting [%s] can not be set explicitly;", ++nprivate, it->key);
                i++;
                continue;
            }
            if (strcmp(it->key, "index.creation_date") != 0) { /* uuid, provided_name: the node sets them */
                index_settings_remove(s, it->key);
                continue;
            }
        }
        if (strcmp(it->key, "index.soft_deletes.enabled") == 0 && it->value && strcmp(it->value, "false") == 0) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "Creating indices with soft-deletes disabled is no longer supported. Please do not specify a value for setting [index.soft_deletes.enabled].");
            goto fail;
        }
        if (validate_value(d, it, err) < 0) goto fail;
        i++;
    }
    if (nprivate) {
        es_err_set(err, ES_VALIDATION, "Validation Failed: %s", privates.p);
        goto fail;
    }
    buf_free(&privates);
    *out = s;
    return 0;
fail:
    buf_free(&privates);
    index_settings_free(s);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Defaults, output, updates */

void index_settings_fill_defaults(index_settings *s, const index_create_info *info)
{
    if (!index_settings_find(s, "index.number_of_shards")) index_settings_set(s, "index.number_of_shards", "1");
    if (!index_settings_find(s, "index.number_of_replicas")) index_settings_set(s, "index.number_of_replicas", "1");
    if (!index_settings_find(s, "index.routing.allocation.include._tier_preference"))
        index_settings_set(s, "index.routing.allocation.include._tier_preference", "data_content");
    char uuid[23];
    const char *u = info && info->uuid ? info->uuid : NULL;
    if (!u) {
        random_uuid(uuid);
        u = uuid;
    }
    index_settings_set(s, "index.uuid", u);
    if (info && info->provided_name) index_settings_set(s, "index.provided_name", info->provided_name);
    if (!index_settings_find(s, "index.creation_date")) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%lld", (long long)(info && info->creation_date ? info->creation_date : now_millis()));
        index_settings_set(s, "index.creation_date", tmp);
    }
    index_settings_set(s, "index.version.created",
                       info && info->version_created ? info->version_created : INDEX_VERSION_CREATED_DEFAULT);
}

static void write_value(const index_setting *it, json_w *w)
{
    if (it->is_list) {
        jw_arr_begin(w);
        for (size_t i = 0; i < it->n_list; i++) jw_str(w, it->list[i]);
        jw_arr_end(w);
    } else if (it->is_null || !it->value) {
        jw_null(w);
    } else {
        jw_str(w, it->value);
    }
}

/* Writes items[lo,hi) whose keys share the first `skip` bytes, as nested objects. */
static void write_nested(const index_setting *items, size_t lo, size_t hi, size_t skip, json_w *w)
{
    size_t i = lo;
    while (i < hi) {
        const char *rest = items[i].key + skip;
        const char *dot = strchr(rest, '.');
        size_t seg = dot ? (size_t)(dot - rest) : strlen(rest);
        /* The group of keys with this segment. */
        size_t j = i;
        bool leaf_here = false;
        while (j < hi) {
            const char *r2 = items[j].key + skip;
            if (strncmp(r2, rest, seg) != 0 || (r2[seg] != '.' && r2[seg] != 0)) break;
            if (!r2[seg]) leaf_here = true;
            j++;
        }
        jw_keyn(w, rest, seg);
        if (leaf_here && j == i + 1) {
            write_value(&items[i], w);
        } else {
            jw_obj_begin(w);
            size_t start = i;
            if (leaf_here) { /* "a" and "a.b" both set: the plain value is skipped in nested form */
                start = i + 1;
            }
            write_nested(items, start, j, skip + seg + 1, w);
            jw_obj_end(w);
        }
        i = j;
    }
}

void index_settings_write(const index_settings *s, unsigned flags, json_w *w)
{
    index_settings *tmp = NULL;
    const index_settings *src = s;
    if (flags & SETTINGS_WRITE_DEFAULTS) {
        tmp = index_settings_new();
        for (size_t i = 0; i < ARRAY_LEN(settings_table); i++) {
            const setting_def *d = &settings_table[i];
            if (!d->dflt) continue;
            char key[128];
            snprintf(key, sizeof key, "index.%s", d->key);
            if (s && index_settings_find(s, key)) continue;
            index_settings_set(tmp, key, d->dflt);
        }
        src = tmp;
    }
    jw_obj_begin(w);
    if (src) {
        if (flags & SETTINGS_WRITE_FLAT) {
            for (size_t i = 0; i < src->n; i++) {
                jw_key(w, src->items[i].key);
                write_value(&src->items[i], w);
            }
        } else {
            write_nested(src->items, 0, src->n, 0, w);
        }
    }
    jw_obj_end(w);
    index_settings_free(tmp);
}

int index_settings_merge_update(const index_settings *cur, const index_settings *update, bool index_open,
                                const char *index_name, const char *index_uuid, index_settings **out, es_err *err)
{
    *out = NULL;
    buf skipped = { 0 };
    for (size_t i = 0; i < update->n; i++) {
        const index_setting *it = &update->items[i];
        const setting_def *d = setting_lookup(it->key);
        if (!d) return unknown_setting(it->key, err);
        if (d->scope == SC_DYNAMIC) continue;
        /* Setting a static key to its current value is not a change. */
        const index_setting *c = index_settings_find(cur, it->key);
        if (c && !it->is_list && !c->is_list && it->value && c->value && strcmp(it->value, c->value) == 0) continue;
        if (d->scope == SC_FINAL && !index_open) {
            buf_free(&skipped);
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "final index setting [%s], not updateable", it->key);
        }
        if (index_open || d->scope != SC_STATIC) buf_printf(&skipped, "%s%s", skipped.len ? ", " : "", it->key);
    }
    if (skipped.len) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Can't update non dynamic settings [[%s]] for open indices [[%s/%s]]", skipped.p,
                   index_name ? index_name : "", index_uuid ? index_uuid : "");
        buf_free(&skipped);
        return -1;
    }
    index_settings *r = index_settings_clone(cur);
    for (size_t i = 0; i < update->n; i++) {
        const index_setting *it = &update->items[i];
        if (it->is_null) {
            index_settings_remove(r, it->key);
            /* A null on a group prefix ("index.analysis") resets the whole group. */
            size_t kl = strlen(it->key);
            for (size_t j = 0; j < r->n;) {
                if (strncmp(r->items[j].key, it->key, kl) == 0 && r->items[j].key[kl] == '.') index_settings_remove(r, r->items[j].key);
                else j++;
            }
            continue;
        }
        put_item(r, item_copy(it));
    }
    *out = r;
    return 0;
}

void index_settings_mapping_limits(const index_settings *s, mapping_limits *l)
{
    mapping_limits_default(l);
    if (!s) return;
    l->total_fields = index_settings_get_int(s, "index.mapping.total_fields.limit", l->total_fields);
    l->depth = index_settings_get_int(s, "index.mapping.depth.limit", l->depth);
    l->nested_fields = index_settings_get_int(s, "index.mapping.nested_fields.limit", l->nested_fields);
    l->field_name_length = index_settings_get_int(s, "index.mapping.field_name_length.limit", l->field_name_length);
    l->ignore_dynamic_beyond_limit =
        index_settings_get_bool(s, "index.mapping.total_fields.ignore_dynamic_beyond_limit", false);
}
