/*
 * mapping.c — mappings: the field tree, parameters, parsing a mapping
 * definition with Elasticsearch's rules and texts, and writing it back in
 * GET /{index}/_mapping's shape.
 */
#include "index/index_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Types */

static const char *const type_names[FT_COUNT] = {
    [FT_OBJECT] = "object",         [FT_NESTED] = "nested",
    [FT_TEXT] = "text",             [FT_MATCH_ONLY_TEXT] = "match_only_text",
    [FT_KEYWORD] = "keyword",       [FT_CONSTANT_KEYWORD] = "constant_keyword",
    [FT_WILDCARD] = "wildcard",     [FT_LONG] = "long",
    [FT_INTEGER] = "integer",       [FT_SHORT] = "short",
    [FT_BYTE] = "byte",             [FT_DOUBLE] = "double",
    [FT_FLOAT] = "float",           [FT_HALF_FLOAT] = "half_float",
    [FT_SCALED_FLOAT] = "scaled_float", [FT_UNSIGNED_LONG] = "unsigned_long",
    [FT_BOOLEAN] = "boolean",       [FT_DATE] = "date",
    [FT_DATE_NANOS] = "date_nanos", [FT_IP] = "ip",
    [FT_BINARY] = "binary",         [FT_FLATTENED] = "flattened",
    [FT_GEO_POINT] = "geo_point",
};

const char *field_type_name(field_type t) { return t < FT_COUNT ? type_names[t] : "unknown"; }

field_type field_type_from_name(const char *name)
{
    for (int i = 0; i < FT_COUNT; i++)
        if (strcmp(type_names[i], name) == 0) return (field_type)i;
    return FT_COUNT;
}

/* ------------------------------------------------------------------------ */
/* Parameters */

#define B(t) (1ULL << (t))
#define T_TEXTS (B(FT_TEXT) | B(FT_MATCH_ONLY_TEXT))
#define T_KW (B(FT_KEYWORD))
#define T_INTS (B(FT_LONG) | B(FT_INTEGER) | B(FT_SHORT) | B(FT_BYTE) | B(FT_UNSIGNED_LONG))
#define T_FPS (B(FT_DOUBLE) | B(FT_FLOAT) | B(FT_HALF_FLOAT) | B(FT_SCALED_FLOAT))
#define T_NUMS (T_INTS | T_FPS)
#define T_DATES (B(FT_DATE) | B(FT_DATE_NANOS))
#define T_LEAVES (~(B(FT_OBJECT) | B(FT_NESTED)) & ((1ULL << FT_COUNT) - 1))

/* Output order follows Elasticsearch's parameter order closely enough for
 * every type; defaults are omitted when writing. */
static const param_def params[] = {
    { "index", PK_BOOL, T_TEXTS | T_KW | T_NUMS | T_DATES | B(FT_BOOLEAN) | B(FT_IP) | B(FT_FLATTENED) | B(FT_GEO_POINT), false, "true", NULL },
    { "doc_values", PK_BOOL, T_KW | T_NUMS | T_DATES | B(FT_BOOLEAN) | B(FT_IP) | B(FT_FLATTENED) | B(FT_GEO_POINT) | B(FT_BINARY), false, "true", NULL },
    { "store", PK_BOOL, B(FT_TEXT) | T_KW | T_NUMS | T_DATES | B(FT_BOOLEAN) | B(FT_IP) | B(FT_GEO_POINT) | B(FT_BINARY), false, "false", NULL },
    { "index_options", PK_STRING, B(FT_TEXT) | T_KW | B(FT_FLATTENED), false, NULL, NULL },
    { "norms", PK_BOOL, B(FT_TEXT) | T_KW, true, NULL, NULL },
    { "term_vector", PK_STRING, B(FT_TEXT), false, "\"no\"", NULL },
    { "analyzer", PK_STRING, T_TEXTS, false, NULL, "default" },
    { "search_analyzer", PK_STRING, T_TEXTS, true, NULL, "default" },
    { "search_quote_analyzer", PK_STRING, T_TEXTS, true, NULL, "default" },
    { "similarity", PK_STRING, B(FT_TEXT) | T_KW | B(FT_FLATTENED), false, NULL, "BM25" },
    { "position_increment_gap", PK_INT, T_TEXTS, false, "100", NULL },
    { "fielddata", PK_BOOL, B(FT_TEXT), true, "false", NULL },
    { "fielddata_frequency_filter", PK_JSON, B(FT_TEXT), true, NULL, NULL },
    { "format", PK_FORMAT, T_DATES, false, NULL, NULL },
    { "locale", PK_STRING, T_DATES, false, NULL, "" },
    { "ignore_malformed", PK_BOOL, T_NUMS | T_DATES | B(FT_IP) | B(FT_GEO_POINT), true, "false", NULL },
    { "coerce", PK_BOOL, T_NUMS, true, "true", NULL },
    { "scaling_factor", PK_DOUBLE, B(FT_SCALED_FLOAT), false, NULL, NULL },
    { "null_value", PK_NULL_VALUE, T_KW | T_NUMS | T_DATES | B(FT_BOOLEAN) | B(FT_IP) | B(FT_GEO_POINT) | B(FT_WILDCARD) | B(FT_FLATTENED), false, NULL, "null" },
    { "eager_global_ordinals", PK_BOOL, B(FT_TEXT) | T_KW | B(FT_FLATTENED), true, "false", NULL },
    { "ignore_above", PK_INT, T_KW | B(FT_WILDCARD) | B(FT_FLATTENED), true, "2147483647", NULL },
    { "normalizer", PK_STRING, T_KW, false, NULL, NULL },
    { "split_queries_on_whitespace", PK_BOOL, T_KW | B(FT_FLATTENED), true, "false", NULL },
    { "index_phrases", PK_BOOL, B(FT_TEXT), false, "false", NULL },
    { "index_prefixes", PK_JSON, B(FT_TEXT), false, NULL, NULL },
    { "depth_limit", PK_INT, B(FT_FLATTENED), true, "20", NULL },
    { "ignore_z_value", PK_BOOL, B(FT_GEO_POINT), false, "true", NULL },
    { "value", PK_STRING, B(FT_CONSTANT_KEYWORD), false, NULL, NULL },
    { "time_series_dimension", PK_BOOL, T_KW | T_INTS | B(FT_IP), false, "false", NULL },
    { "time_series_metric", PK_STRING, T_NUMS, false, NULL, NULL },
    { "meta", PK_JSON, T_LEAVES, true, NULL, NULL },
};

const param_def *param_defs(size_t *n)
{
    *n = ARRAY_LEN(params);
    return params;
}

const param_def *param_lookup(const char *name, field_type t)
{
    for (size_t i = 0; i < ARRAY_LEN(params); i++)
        if ((params[i].types & B(t)) && strcmp(params[i].name, name) == 0) return &params[i];
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Field tree */

mfield *mfield_new(const char *name, const char *parent_path, field_type t)
{
    mfield *f = xcalloc(1, sizeof *f);
    f->name = xstrdup(name);
    f->path = parent_path && *parent_path ? xasprintf("%s.%s", parent_path, name) : xstrdup(name);
    f->type = t;
    f->ignore_above = -1;
    f->enabled = true;
    return f;
}

void mfield_free(mfield *f)
{
    if (!f) return;
    free(f->name);
    free(f->path);
    date_format_free(f->format);
    for (size_t i = 0; i < f->n_copy_to; i++) free(f->copy_to[i]);
    free(f->copy_to);
    free(f->null_value);
    free(f->analyzer);
    free(f->search_analyzer);
    for (size_t i = 0; i < f->n_props; i++) mfield_free(f->props[i]);
    free(f->props);
    for (size_t i = 0; i < f->n_fields; i++) mfield_free(f->fields[i]);
    free(f->fields);
    for (size_t i = 0; i < f->n_params; i++) free(f->params[i].json);
    free(f->params);
    free(f);
}

mfield *mfield_clone(const mfield *s)
{
    mfield *f = xcalloc(1, sizeof *f);
    f->name = xstrdup(s->name);
    f->path = xstrdup(s->path);
    f->type = s->type;
    f->dynamic = s->dynamic;
    f->is_multi = s->is_multi;
    f->enabled = s->enabled;
    if (s->n_copy_to) {
        f->copy_to = xmalloc(s->n_copy_to * sizeof *f->copy_to);
        for (size_t i = 0; i < s->n_copy_to; i++) f->copy_to[i] = xstrdup(s->copy_to[i]);
        f->n_copy_to = s->n_copy_to;
    }
    if (s->n_params) {
        f->params = xmalloc(s->n_params * sizeof *f->params);
        for (size_t i = 0; i < s->n_params; i++)
            f->params[i] = (mparam){ s->params[i].def, xstrdup(s->params[i].json) };
        f->n_params = s->n_params;
    }
    if (s->n_props) {
        f->props = xmalloc(s->n_props * sizeof *f->props);
        for (size_t i = 0; i < s->n_props; i++) f->props[i] = mfield_clone(s->props[i]);
        f->n_props = s->n_props;
    }
    if (s->n_fields) {
        f->fields = xmalloc(s->n_fields * sizeof *f->fields);
        for (size_t i = 0; i < s->n_fields; i++) f->fields[i] = mfield_clone(s->fields[i]);
        f->n_fields = s->n_fields;
    }
    mfield_decode(f);
    return f;
}

static size_t child_pos(mfield *const *arr, size_t n, const char *name, bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(arr[mid]->name, name);
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

void mfield_put_child(mfield *parent, mfield *child, bool multi)
{
    mfield ***arr = multi ? &parent->fields : &parent->props;
    size_t *n = multi ? &parent->n_fields : &parent->n_props;
    bool found;
    size_t pos = child_pos(*arr, *n, child->name, &found);
    if (found) {
        mfield_free((*arr)[pos]);
        (*arr)[pos] = child;
        return;
    }
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    memmove(*arr + pos + 1, *arr + pos, (*n - pos) * sizeof **arr);
    (*arr)[pos] = child;
    (*n)++;
}

mfield *mfield_child(const mfield *parent, const char *name, bool multi)
{
    bool found;
    mfield *const *arr = multi ? parent->fields : parent->props;
    size_t n = multi ? parent->n_fields : parent->n_props;
    size_t pos = child_pos(arr, n, name, &found);
    return found ? arr[pos] : NULL;
}

const mparam *mfield_param(const mfield *f, const char *name)
{
    for (size_t i = 0; i < f->n_params; i++)
        if (strcmp(f->params[i].def->name, name) == 0) return &f->params[i];
    return NULL;
}

void mfield_set_param(mfield *f, const param_def *d, const char *json)
{
    for (size_t i = 0; i < f->n_params; i++) {
        if (f->params[i].def == d) {
            free(f->params[i].json);
            if (json) {
                f->params[i].json = xstrdup(json);
            } else {
                memmove(f->params + i, f->params + i + 1, (f->n_params - i - 1) * sizeof *f->params);
                f->n_params--;
            }
            return;
        }
    }
    if (!json) return;
    /* Keep params in table order so writing is a simple walk. */
    f->params = xrealloc(f->params, (f->n_params + 1) * sizeof *f->params);
    size_t pos = f->n_params;
    while (pos > 0 && f->params[pos - 1].def > d) pos--;
    memmove(f->params + pos + 1, f->params + pos, (f->n_params - pos) * sizeof *f->params);
    f->params[pos] = (mparam){ d, xstrdup(json) };
    f->n_params++;
}

static bool json_text_bool(const char *j) { return j && strcmp(j, "true") == 0; }

void mfield_decode(mfield *f)
{
    field_type t = f->type;
    f->index = true;
    f->doc_values = !(t == FT_TEXT || t == FT_MATCH_ONLY_TEXT || t == FT_BINARY || t == FT_WILDCARD);
    f->store = false;
    f->ignore_malformed = false;
    f->coerce = true;
    f->norms = t == FT_TEXT;
    f->ignore_above = -1;
    f->scaling_factor = 0;
    free(f->analyzer);
    free(f->search_analyzer);
    f->analyzer = NULL;
    f->search_analyzer = NULL;
    f->has_null_value = false;
    free(f->null_value);
    f->null_value = NULL;
    date_format_free(f->format);
    f->format = NULL;
    const char *fmt = t == FT_DATE ? DATE_FORMAT_DEFAULT : t == FT_DATE_NANOS ? "strict_date_optional_time_nanos||epoch_millis" : NULL;
    char *fmt_owned = NULL;
    for (size_t i = 0; i < f->n_params; i++) {
        const char *name = f->params[i].def->name, *j = f->params[i].json;
        if (strcmp(name, "index") == 0) f->index = json_text_bool(j);
        else if (strcmp(name, "doc_values") == 0) f->doc_values = json_text_bool(j);
        else if (strcmp(name, "store") == 0) f->store = json_text_bool(j);
        else if (strcmp(name, "ignore_malformed") == 0) f->ignore_malformed = json_text_bool(j);
        else if (strcmp(name, "coerce") == 0) f->coerce = json_text_bool(j);
        else if (strcmp(name, "norms") == 0) f->norms = json_text_bool(j);
        else if (strcmp(name, "ignore_above") == 0) f->ignore_above = strtoll(j, NULL, 10);
        else if (strcmp(name, "scaling_factor") == 0) f->scaling_factor = strtod(j, NULL);
        else if (strcmp(name, "null_value") == 0) {
            f->has_null_value = true;
            f->null_value = xstrdup(j);
        } else if (strcmp(name, "format") == 0 || strcmp(name, "analyzer") == 0 || strcmp(name, "search_analyzer") == 0) {
            /* strings: decode the JSON string */
            json_doc *d = json_parse(j, strlen(j), NULL, NULL);
            const char *s = d ? json_str(json_doc_root(d), NULL) : NULL;
            if (s) {
                if (name[0] == 'f') {
                    free(fmt_owned);
                    fmt_owned = xstrdup(s);
                } else if (name[0] == 'a') {
                    f->analyzer = xstrdup(s);
                } else {
                    f->search_analyzer = xstrdup(s);
                }
            }
            if (d) json_doc_free(d);
        }
    }
    if (fmt_owned) fmt = fmt_owned;
    if (fmt) {
        es_err e = { 0 };
        f->format = date_format_compile(fmt, &e);
        es_err_free(&e);
    }
    free(fmt_owned);
}

/* ------------------------------------------------------------------------ */
/* Mapping objects */

static const char *const default_ddf[] = { DATE_FORMAT_DEFAULT, "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis" };

mapping *mapping_alloc(void)
{
    mapping *m = xcalloc(1, sizeof *m);
    atomic_init(&m->refs, 1);
    m->empty = true;
    m->root = mfield_new("_doc", NULL, FT_OBJECT);
    free(m->root->path);
    m->root->path = xstrdup("");
    m->date_detection = -1;
    m->numeric_detection = -1;
    m->source_enabled = -1;
    m->routing_required = -1;
    return m;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static char **strv_dup(char *const *v, size_t n)
{
    if (!n) return NULL;
    char **r = xmalloc(n * sizeof *r);
    for (size_t i = 0; i < n; i++) r[i] = xstrdup(v[i]);
    return r;
}

static void templates_free(dyn_template *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        strv_free(t[i].match, t[i].n_match);
        strv_free(t[i].unmatch, t[i].n_unmatch);
        strv_free(t[i].path_match, t[i].n_path_match);
        strv_free(t[i].path_unmatch, t[i].n_path_unmatch);
        strv_free(t[i].match_mapping_type, t[i].n_match_mapping_type);
        free(t[i].mapping_json);
    }
    free(t);
}

static void mapping_free(mapping *m)
{
    mfield_free(m->root);
    strv_free(m->dynamic_date_formats, m->n_dynamic_date_formats);
    for (size_t i = 0; i < m->n_ddf; i++) date_format_free(m->ddf[i]);
    free(m->ddf);
    templates_free(m->templates, m->n_templates);
    free(m->meta_json);
    strv_free(m->source_includes, m->n_source_includes);
    strv_free(m->source_excludes, m->n_source_excludes);
    free(m->source_mode);
    free(m);
}

mapping *mapping_ref(mapping *m)
{
    if (m) atomic_fetch_add(&m->refs, 1);
    return m;
}

void mapping_unref(mapping *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) mapping_free(m);
}

mapping *mapping_empty(void)
{
    mapping *m = mapping_alloc();
    mapping_finish(m);
    return m;
}

void mapping_finish(mapping *m)
{
    for (size_t i = 0; i < m->n_ddf; i++) date_format_free(m->ddf[i]);
    free(m->ddf);
    m->ddf = NULL;
    m->n_ddf = 0;
    const char *const *src = m->dynamic_date_formats ? (const char *const *)m->dynamic_date_formats : default_ddf;
    size_t n = m->dynamic_date_formats ? m->n_dynamic_date_formats : ARRAY_LEN(default_ddf);
    m->ddf = xcalloc(n ? n : 1, sizeof *m->ddf);
    for (size_t i = 0; i < n; i++) {
        es_err e = { 0 };
        date_format *f = date_format_compile(src[i], &e);
        es_err_free(&e);
        if (f) m->ddf[m->n_ddf++] = f;
    }
}

static dyn_template *templates_dup(const dyn_template *t, size_t n)
{
    if (!n) return NULL;
    dyn_template *r = xcalloc(n, sizeof *r);
    for (size_t i = 0; i < n; i++) {
        r[i] = t[i];
        r[i].name = xstrdup(t[i].name);
        r[i].match = strv_dup(t[i].match, t[i].n_match);
        r[i].unmatch = strv_dup(t[i].unmatch, t[i].n_unmatch);
        r[i].path_match = strv_dup(t[i].path_match, t[i].n_path_match);
        r[i].path_unmatch = strv_dup(t[i].path_unmatch, t[i].n_path_unmatch);
        r[i].match_mapping_type = strv_dup(t[i].match_mapping_type, t[i].n_match_mapping_type);
        r[i].mapping_json = xstrdup(t[i].mapping_json);
    }
    return r;
}

mapping *mapping_clone(const mapping *s)
{
    mapping *m = xcalloc(1, sizeof *m);
    atomic_init(&m->refs, 1);
    m->version = s->version;
    m->empty = s->empty;
    m->root = mfield_clone(s->root);
    m->date_detection = s->date_detection;
    m->numeric_detection = s->numeric_detection;
    m->dynamic_date_formats = strv_dup(s->dynamic_date_formats, s->n_dynamic_date_formats);
    m->n_dynamic_date_formats = s->n_dynamic_date_formats;
    if (s->dynamic_date_formats && !m->dynamic_date_formats) m->dynamic_date_formats = xcalloc(1, sizeof(char *));
    m->templates = templates_dup(s->templates, s->n_templates);
    m->n_templates = s->n_templates;
    m->templates_set = s->templates_set;
    m->meta_json = s->meta_json ? xstrdup(s->meta_json) : NULL;
    m->source_enabled = s->source_enabled;
    m->source_includes = strv_dup(s->source_includes, s->n_source_includes);
    m->n_source_includes = s->n_source_includes;
    m->source_excludes = strv_dup(s->source_excludes, s->n_source_excludes);
    m->n_source_excludes = s->n_source_excludes;
    m->source_includes_set = s->source_includes_set;
    m->source_excludes_set = s->source_excludes_set;
    m->source_mode = s->source_mode ? xstrdup(s->source_mode) : NULL;
    m->routing_required = s->routing_required;
    mapping_finish(m);
    return m;
}

bool mapping_is_empty(const mapping *m) { return m->empty; }
uint64_t mapping_version(const mapping *m) { return m->version; }
const mfield *mapping_root(const mapping *m) { return m->root; }
bool mapping_source_enabled(const mapping *m) { return m->source_enabled != 0; }
bool mapping_routing_required(const mapping *m) { return m->routing_required == 1; }

const dyn_template *mapping_dynamic_templates(const mapping *m, size_t *n)
{
    *n = m->n_templates;
    return m->templates;
}

const mfield *mapping_field(const mapping *m, const char *path)
{
    const mfield *cur = m->root;
    const char *p = path;
    /* Walk the segments; a segment may itself contain dots only through multi-fields. */
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char seg[512];
        if (n >= sizeof seg) return NULL;
        memcpy(seg, p, n);
        seg[n] = 0;
        const mfield *next = field_type_is_object(cur->type) ? mfield_child(cur, seg, false) : mfield_child(cur, seg, true);
        if (!next) return NULL;
        cur = next;
        p = dot ? dot + 1 : p + n;
    }
    return cur == m->root ? NULL : cur;
}

size_t mfield_count(const mfield *f)
{
    size_t n = 1;
    for (size_t i = 0; i < f->n_props; i++) n += mfield_count(f->props[i]);
    for (size_t i = 0; i < f->n_fields; i++) n += mfield_count(f->fields[i]);
    return n;
}

size_t mapping_total_fields(const mapping *m) { return mfield_count(m->root) - 1; }

void mapping_limits_default(mapping_limits *l)
{
    l->total_fields = 1000;
    l->depth = 20;
    l->nested_fields = 50;
    l->field_name_length = INT64_MAX;
    l->ignore_dynamic_beyond_limit = false;
}

static int check_tree(const mfield *f, int depth, const mapping_limits *l, size_t *nested, es_err *err)
{
    for (size_t i = 0; i < f->n_props; i++) {
        const mfield *c = f->props[i];
        if ((int64_t)strlen(c->name) > l->field_name_length)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Field name [%s] is longer than the limit of [%lld] characters",
                              c->path, (long long)l->field_name_length);
        if (field_type_is_object(c->type)) {
            if (depth + 1 > l->depth)
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Limit of mapping depth [%lld] has been exceeded due to object field [%s]",
                                  (long long)l->depth, c->path);
            if (c->type == FT_NESTED) (*nested)++;
            if (check_tree(c, depth + 1, l, nested, err) < 0) return -1;
        }
    }
    return 0;
}

int mapping_check_limits(const mapping *m, const mapping_limits *lim, es_err *err)
{
    mapping_limits d;
    if (!lim) {
        mapping_limits_default(&d);
        lim = &d;
    }
    size_t total = mapping_total_fields(m);
    if ((int64_t)total > lim->total_fields)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Limit of total fields [%lld] has been exceeded", (long long)lim->total_fields);
    size_t nested = 0;
    if (check_tree(m->root, 0, lim, &nested, err) < 0) return -1;
    if ((int64_t)nested > lim->nested_fields)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Limit of nested fields [%lld] has been exceeded", (long long)lim->nested_fields);
    return 0;
}

bool simple_match(const char *pat, const char *s)
{
    if (!*pat) return !*s;
    if (*pat == '*') {
        while (*pat == '*') pat++;
        if (!*pat) return true;
        for (; *s; s++)
            if (simple_match(pat, s)) return true;
        return false;
    }
    return *pat == *s && simple_match(pat + 1, s + 1);
}

/* ------------------------------------------------------------------------ */
/* Parsing */

/* Normalizes one parameter value to compact JSON; -1 on a bad value. */
static int param_value(const param_def *d, const mfield *f, const json_val *v, char **out, es_err *err)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    json_type jt = json_type_of(v);
    switch (d->kind) {
    case PK_BOOL: {
        bool val;
        size_t n;
        const char *s = json_str(v, &n);
        if (jt == JSON_BOOL) val = json_bool(v);
        else if (s && strcmp(s, "true") == 0) val = true;
        else if (s && strcmp(s, "false") == 0) val = false;
        else {
            buf_free(&b);
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Could not convert [%s.%s] to boolean", f->name, d->name);
        }
        jw_bool(&w, val);
        break;
    }
    case PK_INT: {
        int64_t val;
        if (jt == JSON_INT) val = json_int(v);
        else {
            buf t = { 0 };
            size_t n;
            const char *s = json_scalar_text(v, &n, &t);
            char *end = NULL;
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%.*s", (int)(n < 60 ? n : 60), s);
            val = strtoll(tmp, &end, 10);
            if (!*tmp || *end || jt == JSON_DOUBLE || jt == JSON_OBJECT || jt == JSON_ARRAY || jt == JSON_BOOL) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "For input string: \"%.*s\"", (int)n, s);
                buf_free(&t);
                buf_free(&b);
                return -1;
            }
            buf_free(&t);
        }
        if (val > INT32_MAX || val < INT32_MIN) {
            buf_free(&b);
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Value [%lld] is out of range for an integer", (long long)val);
        }
        jw_int(&w, val);
        break;
    }
    case PK_DOUBLE: {
        double val;
        size_t n;
        const char *s = json_str(v, &n);
        if (json_is_number(v)) val = json_num(v);
        else if (s) {
            char *end;
            val = strtod(s, &end);
            if (!*s || *end) {
                buf_free(&b);
                return err_set_named(err, ES_ILLEGAL_ARGUMENT, "number_format_exception", "For input string: \"%s\"", s);
            }
        } else {
            buf_free(&b);
            return es_err_set(err, ES_MAPPER_PARSING, "[%s] must be a number", d->name);
        }
        jw_double(&w, val);
        break;
    }
    case PK_STRING: {
        if (jt == JSON_OBJECT || jt == JSON_ARRAY) {
            buf_free(&b);
            buf jv = { 0 };
            json_java_string(v, &jv);
            es_err_set(err, ES_MAPPER_PARSING, "Wrong value for parameter [%s] on field [%s]: expected a string but got [%s]",
                       d->name, f->name, jv.p);
            buf_free(&jv);
            return -1;
        }
        buf t = { 0 };
        size_t n;
        const char *s = json_scalar_text(v, &n, &t);
        jw_strn(&w, s, n);
        buf_free(&t);
        break;
    }
    case PK_JSON:
        if (strcmp(d->name, "meta") == 0) {
            if (jt != JSON_OBJECT) {
                buf_free(&b);
                return es_err_set(err, ES_MAPPER_PARSING, "[meta] must be an object, got %s[%s] for field [%s]",
                                  jt == JSON_STRING ? "String" : json_type_name(jt), "...", f->name);
            }
            json_iter it = json_iter_begin(v);
            const json_val *e;
            const char *k;
            size_t kl;
            while ((e = json_iter_next(&it, &k, &kl))) {
                if (json_type_of(e) != JSON_STRING) {
                    buf jv = { 0 };
                    json_java_string(e, &jv);
                    const char *cls = json_type_of(e) == JSON_INT ? "Integer" : json_type_of(e) == JSON_BOOL ? "Boolean"
                                    : json_type_of(e) == JSON_OBJECT ? "LinkedHashMap" : json_type_of(e) == JSON_ARRAY ? "ArrayList"
                                    : json_type_of(e) == JSON_DOUBLE ? "Double" : "Object";
                    es_err_set(err, ES_MAPPER_PARSING, "[meta] values can only be strings, but got %s[%s] for field [%s]", cls,
                               jv.p ? jv.p : "", f->name);
                    buf_free(&jv);
                    buf_free(&b);
                    return -1;
                }
            }
        }
        jw_val(&w, v);
        break;
    case PK_FORMAT: {
        size_t n;
        const char *s = json_str(v, &n);
        buf t = { 0 };
        if (!s) s = json_scalar_text(v, &n, &t);
        es_err e = { 0 };
        date_format *df = date_format_compile(s, &e);
        if (!df) {
            es_err_set(err, ES_MAPPER_PARSING, "Error parsing [format] on field [%s]: %s", f->name, e.reason);
            es_err_free(&e);
            buf_free(&t);
            buf_free(&b);
            return -1;
        }
        date_format_free(df);
        jw_strn(&w, s, n);
        buf_free(&t);
        break;
    }
    case PK_NULL_VALUE: {
        if (f->type == FT_GEO_POINT) {
            double lat, lon;
            es_err e = { 0 };
            if (geo_parse_point(v, &lat, &lon, &e, f->name) < 0) {
                es_err_set(err, ES_MAPPER_PARSING, "Error parsing [null_value] on field [%s]: %s", f->name, e.reason);
                es_err_free(&e);
                buf_free(&b);
                return -1;
            }
            jw_val(&w, v);
            break;
        }
        if (jt == JSON_OBJECT || jt == JSON_ARRAY) {
            buf_free(&b);
            return es_err_set(err, ES_MAPPER_PARSING, "Error parsing [null_value] on field [%s]: expected a scalar value", f->name);
        }
        /* Validate with the field's own value rules (coerce on, as ES parses null_value). */
        mfield tmp = *f;
        tmp.coerce = true;
        tmp.format = NULL;
        date_format *own = NULL;
        if (f->type == FT_DATE || f->type == FT_DATE_NANOS) {
            const mparam *fp = mfield_param(f, "format");
            const char *spec = f->type == FT_DATE ? DATE_FORMAT_DEFAULT : "strict_date_optional_time_nanos||epoch_millis";
            char *decoded = NULL;
            if (fp) {
                json_doc *jd = json_parse(fp->json, strlen(fp->json), NULL, NULL);
                if (jd) {
                    decoded = xstrdup(json_str(json_doc_root(jd), NULL));
                    json_doc_free(jd);
                }
            }
            es_err e = { 0 };
            own = date_format_compile(decoded ? decoded : spec, &e);
            es_err_free(&e);
            free(decoded);
            tmp.format = own;
        }
        arena a = { 0 };
        index_field_value fv = { 0 };
        bool is_null;
        es_err e = { 0 };
        int rc = value_parse(&tmp, v, &a, &fv, &is_null, &e);
        date_format_free(own);
        if (rc < 0) {
            es_err_set(err, ES_MAPPER_PARSING, "Error parsing [null_value] on field [%s]: %s", f->name, e.reason);
            es_err_free(&e);
            arena_free(&a);
            buf_free(&b);
            return -1;
        }
        if (fv.kind == IFV_LONG && !is_null) jw_int(&w, fv.v.l);
        else if (fv.kind == IFV_DOUBLE && !is_null) jw_double(&w, fv.v.d);
        else if (fv.kind == IFV_BOOL && !is_null) jw_bool(&w, fv.v.b);
        else jw_val(&w, v);
        arena_free(&a);
        break;
    }
    }
    *out = buf_detach(&b, NULL);
    return 0;
}

static int parse_copy_to(mfield *f, const json_val *v, es_err *err)
{
    if (json_type_of(v) == JSON_STRING) {
        f->copy_to = xmalloc(sizeof *f->copy_to);
        f->copy_to[0] = xstrdup(json_str(v, NULL));
        f->n_copy_to = 1;
        return 0;
    }
    if (json_type_of(v) == JSON_ARRAY) {
        size_t n = json_len(v);
        f->copy_to = xcalloc(n ? n : 1, sizeof *f->copy_to);
        for (size_t i = 0; i < n; i++) {
            const json_val *e = json_arr_get(v, i);
            if (json_type_of(e) != JSON_STRING)
                return es_err_set(err, ES_MAPPER_PARSING, "Expected a string value for [copy_to] on field [%s]", f->name);
            f->copy_to[f->n_copy_to++] = xstrdup(json_str(e, NULL));
        }
        return 0;
    }
    return es_err_set(err, ES_MAPPER_PARSING, "Expected a string or array for [copy_to] on field [%s]", f->name);
}

static int parse_dynamic_value(const json_val *v, const char *owner, dynamic_mode *out, es_err *err)
{
    size_t n;
    const char *s = json_str(v, &n);
    if (json_type_of(v) == JSON_BOOL) *out = json_bool(v) ? DYNAMIC_TRUE : DYNAMIC_FALSE;
    else if (s && strcmp(s, "true") == 0) *out = DYNAMIC_TRUE;
    else if (s && strcmp(s, "false") == 0) *out = DYNAMIC_FALSE;
    else if (s && strcmp(s, "strict") == 0) *out = DYNAMIC_STRICT;
    else if (s && strcmp(s, "runtime") == 0) *out = DYNAMIC_RUNTIME;
    else return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Could not convert [%s.dynamic] to boolean", owner);
    return 0;
}

static void remaining_param(buf *b, const char *k, size_t kl, const json_val *v)
{
    buf_puts(b, " [");
    buf_append(b, k, kl);
    buf_puts(b, " : ");
    json_java_string(v, b);
    buf_putc(b, ']');
}

static int parse_properties(mfield *obj, const json_val *props, int depth, es_err *err);

/* Object parameters (object/nested field or root). Unknown keys go to rest. */
static int parse_object_params(mfield *f, const json_val *def, int depth, buf *rest, bool root, es_err *err)
{
    json_iter it = json_iter_begin(def);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        if (strcmp(k, "type") == 0) continue;
        if (strcmp(k, "properties") == 0) {
            if (json_type_of(v) != JSON_OBJECT) {
                if (json_is_null(v)) continue;
                return es_err_set(err, ES_MAPPER_PARSING, "Expected map for property [properties] on field [%s] but got a %s",
                                  f->name, json_type_name(json_type_of(v)));
            }
            if (parse_properties(f, v, depth, err) < 0) return -1;
        } else if (strcmp(k, "dynamic") == 0) {
            if (parse_dynamic_value(v, f->name, &f->dynamic, err) < 0) return -1;
        } else if (strcmp(k, "enabled") == 0) {
            size_t n;
            const char *s = json_str(v, &n);
            if (json_type_of(v) == JSON_BOOL) f->enabled = json_bool(v);
            else if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) f->enabled = s[0] == 't';
            else return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Could not convert [%s.enabled] to boolean", f->name);
        } else if (!root && f->type == FT_NESTED && (strcmp(k, "include_in_parent") == 0 || strcmp(k, "include_in_root") == 0)) {
            continue; /* accepted; nested is indexed as an object for now */
        } else if (strcmp(k, "subobjects") == 0) {
            continue; /* accepted, not enforced */
        } else {
            remaining_param(rest, k, kl, v);
        }
    }
    return 0;
}

mfield *mfield_parse(const char *name, const char *parent_path, const json_val *def, int depth, bool multi, es_err *err)
{
    if (json_type_of(def) != JSON_OBJECT) {
        buf jv = { 0 };
        json_java_string(def, &jv);
        es_err_set(err, ES_MAPPER_PARSING, "Expected map for property [fields] on field [%s] but got a class java.lang.%s", name,
                   json_type_of(def) == JSON_STRING ? "String" : json_is_number(def) ? "Integer" : "Object");
        buf_free(&jv);
        return NULL;
    }
    const json_val *tv = json_obj_get(def, "type");
    field_type t;
    if (tv) {
        size_t n;
        const char *ts = json_str(tv, &n);
        buf tmp = { 0 };
        if (!ts) ts = json_scalar_text(tv, &n, &tmp);
        t = field_type_from_name(ts);
        if (t == FT_COUNT) {
            es_err_set(err, ES_MAPPER_PARSING, "No handler for type [%s] declared on field [%s]", ts, name);
            buf_free(&tmp);
            return NULL;
        }
        buf_free(&tmp);
    } else if (json_obj_get(def, "properties") || (json_len(def) == 1 && json_obj_get(def, "enabled"))) {
        t = FT_OBJECT;
    } else if (json_len(def) > 0 && !multi && (json_obj_get(def, "dynamic") || json_obj_get(def, "enabled"))) {
        t = FT_OBJECT;
    } else {
        es_err_set(err, ES_MAPPER_PARSING, "No type specified for field [%s]", name);
        return NULL;
    }
    if (multi && field_type_is_object(t)) {
        es_err_set(err, ES_MAPPER_PARSING, "Type [%s] cannot be used in multi field", field_type_name(t));
        return NULL;
    }
    mfield *f = mfield_new(name, parent_path, t);
    f->is_multi = multi;
    buf rest = { 0 };
    if (field_type_is_object(t)) {
        if (parse_object_params(f, def, depth + 1, &rest, false, err) < 0) goto fail;
        if (rest.len) {
            es_err_set(err, ES_MAPPER_PARSING, "Mapping definition for [%s] has unsupported parameters: %s", name, rest.p);
            goto fail;
        }
        buf_free(&rest);
        mfield_decode(f);
        return f;
    }
    json_iter it = json_iter_begin(def);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl))) {
        if (strcmp(k, "type") == 0) continue;
        if (strcmp(k, "fields") == 0) {
            if (json_type_of(v) != JSON_OBJECT) {
                es_err_set(err, ES_MAPPER_PARSING, "Expected map for property [fields] on field [%s] but got a %s", name,
                           json_type_name(json_type_of(v)));
                goto fail;
            }
            json_iter it2 = json_iter_begin(v);
            const json_val *sv;
            const char *sk;
            size_t skl;
            while ((sv = json_iter_next(&it2, &sk, &skl))) {
                if (skl == 0) {
                    es_err_set(err, ES_ILLEGAL_ARGUMENT, "field name cannot be an empty string");
                    goto fail;
                }
                mfield *sub = mfield_parse(sk, f->path, sv, depth, true, err);
                if (!sub) goto fail;
                mfield_put_child(f, sub, true);
            }
            continue;
        }
        if (strcmp(k, "copy_to") == 0) {
            if (parse_copy_to(f, v, err) < 0) goto fail;
            continue;
        }
        const param_def *d = param_lookup(k, t);
        if (!d) {
            es_err_set(err, ES_MAPPER_PARSING, "unknown parameter [%s] on mapper [%s] of type [%s]", k, name, field_type_name(t));
            goto fail;
        }
        if (json_is_null(v)) {
            if (d->kind == PK_NULL_VALUE || d->kind == PK_JSON) continue;
            es_err_set(err, ES_MAPPER_PARSING, "[%s] on mapper [%s] of type [%s] must not have a [null] value", k, name,
                       field_type_name(t));
            goto fail;
        }
        char *j;
        if (param_value(d, f, v, &j, err) < 0) goto fail;
        mfield_set_param(f, d, j);
        free(j);
    }
    if (t == FT_SCALED_FLOAT) {
        const mparam *sf = mfield_param(f, "scaling_factor");
        if (!sf) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Field [scaling_factor] is required");
            goto fail;
        }
        double d = strtod(sf->json, NULL);
        if (!(d > 0) || !isfinite(d)) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "[scaling_factor] must be a positive number, got [%s]", sf->json);
            goto fail;
        }
    }
    /* null_value of a date is checked against the final format (format may follow it). */
    if ((t == FT_DATE || t == FT_DATE_NANOS) && mfield_param(f, "null_value")) {
        const mparam *nv = mfield_param(f, "null_value");
        json_doc *jd = json_parse(nv->json, strlen(nv->json), NULL, NULL);
        if (jd) {
            char *j = NULL;
            int rc = param_value(mfield_param(f, "null_value")->def, f, json_doc_root(jd), &j, err);
            json_doc_free(jd);
            free(j);
            if (rc < 0) goto fail;
        }
    }
    buf_free(&rest);
    mfield_decode(f);
    return f;
fail:
    buf_free(&rest);
    mfield_free(f);
    return NULL;
}

/* Adds one (possibly dotted) property to obj. */
static int add_property(mfield *obj, const char *name, size_t nlen, const json_val *def, int depth, es_err *err)
{
    if (nlen == 0) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "field name cannot be an empty string");
    bool blank = true;
    for (size_t i = 0; i < nlen; i++)
        if (name[i] != ' ') blank = false;
    if (blank) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "field name cannot contain only whitespace: ['%.*s']", (int)nlen, name);
    const char *dot = memchr(name, '.', nlen);
    if (dot) {
        size_t first = (size_t)(dot - name);
        if (first == 0 || dot + 1 == name + nlen || memchr(name, 0, nlen))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid field name [%.*s]", (int)nlen, name);
        char *seg = xstrndup(name, first);
        mfield *child = mfield_child(obj, seg, false);
        if (!child || !field_type_is_object(child->type)) {
            child = mfield_new(seg, obj->path, FT_OBJECT);
            mfield_decode(child);
            mfield_put_child(obj, child, false);
        }
        free(seg);
        return add_property(child, dot + 1, nlen - first - 1, def, depth + 1, err);
    }
    char *n = xstrndup(name, nlen);
    mfield *f = mfield_parse(n, obj->path, def, depth, false, err);
    free(n);
    if (!f) return -1;
    mfield *existing = mfield_child(obj, f->name, false);
    if (existing && field_type_is_object(existing->type) && field_type_is_object(f->type)) {
        /* "a.b" and "a": {"properties":...} both given: merge the children. */
        for (size_t i = 0; i < f->n_props; i++) {
            mfield_put_child(existing, f->props[i], false);
            f->props[i] = NULL;
        }
        f->n_props = 0;
        if (f->dynamic) existing->dynamic = f->dynamic;
        mfield_free(f);
        return 0;
    }
    mfield_put_child(obj, f, false);
    return 0;
}

static int parse_properties(mfield *obj, const json_val *props, int depth, es_err *err)
{
    json_iter it = json_iter_begin(props);
    const json_val *v;
    const char *k;
    size_t kl;
    while ((v = json_iter_next(&it, &k, &kl)))
        if (add_property(obj, k, kl, v, depth, err) < 0) return -1;
    return 0;
}

static int str_or_list(const json_val *v, char ***out, size_t *n, bool *is_list, const char *what, es_err *err)
{
    if (json_type_of(v) == JSON_STRING) {
        *out = xmalloc(sizeof **out);
        (*out)[0] = xstrdup(json_str(v, NULL));
        *n = 1;
        if (is_list) *is_list = false;
        return 0;
    }
    if (json_type_of(v) == JSON_ARRAY) {
        size_t len = json_len(v);
        *out = xcalloc(len ? len : 1, sizeof **out);
        *n = 0;
        for (size_t i = 0; i < len; i++) {
            const json_val *e = json_arr_get(v, i);
            if (json_type_of(e) != JSON_STRING)
                return es_err_set(err, ES_MAPPER_PARSING, "%s values must either be a string or a list of strings, but was [%s]", what,
                                  json_type_name(json_type_of(e)));
            (*out)[(*n)++] = xstrdup(json_str(e, NULL));
        }
        if (is_list) *is_list = true;
        return 0;
    }
    return es_err_set(err, ES_MAPPER_PARSING, "%s values must either be a string or a list of strings, but was [%s]", what,
                      json_type_name(json_type_of(v)));
}

/* Compact JSON with the top-level keys sorted, as Elasticsearch keeps a template's mapping. */
static int cmp_member(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(x[0], y[0]);
}

static char *compact_sorted(const json_val *v)
{
    size_t n = json_len(v);
    const char **pairs = xcalloc(n ? 2 * n : 2, sizeof *pairs);
    json_iter it = json_iter_begin(v);
    const json_val *e;
    const char *k;
    size_t kl, i = 0;
    while ((e = json_iter_next(&it, &k, &kl))) {
        pairs[2 * i] = k;
        pairs[2 * i + 1] = (const char *)e;
        i++;
    }
    qsort(pairs, i, 2 * sizeof *pairs, cmp_member);
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    jw_obj_begin(&w);
    for (size_t j = 0; j < i; j++) {
        jw_key(&w, pairs[2 * j]);
        jw_val(&w, (const json_val *)pairs[2 * j + 1]);
    }
    jw_obj_end(&w);
    free(pairs);
    return buf_detach(&b, NULL);
}

static const char *const mmt_names[] = { "*", "string", "long", "double", "boolean", "date", "object", "binary" };

static int parse_template(const char *name, const json_val *body, dyn_template *t, es_err *err)
{
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    if (json_type_of(body) != JSON_OBJECT)
        return es_err_set(err, ES_MAPPER_PARSING, "Dynamic template syntax error. An array of named objects is expected.");
    json_iter it = json_iter_begin(body);
    const json_val *v;
    const char *k;
    size_t kl;
    bool have_mapping = false;
    while ((v = json_iter_next(&it, &k, &kl))) {
        int rc = 0;
        if (strcmp(k, "match") == 0) rc = str_or_list(v, &t->match, &t->n_match, &t->match_is_list, "match", err);
        else if (strcmp(k, "unmatch") == 0) rc = str_or_list(v, &t->unmatch, &t->n_unmatch, &t->unmatch_is_list, "unmatch", err);
        else if (strcmp(k, "path_match") == 0) rc = str_or_list(v, &t->path_match, &t->n_path_match, &t->path_match_is_list, "path_match", err);
        else if (strcmp(k, "path_unmatch") == 0) rc = str_or_list(v, &t->path_unmatch, &t->n_path_unmatch, &t->path_unmatch_is_list, "path_unmatch", err);
        else if (strcmp(k, "match_mapping_type") == 0 || strcmp(k, "unmatch_mapping_type") == 0) {
            if (strcmp(k, "unmatch_mapping_type") == 0) continue; /* accepted, not applied */
            rc = str_or_list(v, &t->match_mapping_type, &t->n_match_mapping_type, &t->mmt_is_list, "match_mapping_type", err);
            for (size_t i = 0; rc == 0 && i < t->n_match_mapping_type; i++) {
                bool ok = false;
                for (size_t j = 0; j < ARRAY_LEN(mmt_names); j++)
                    if (strcmp(t->match_mapping_type[i], mmt_names[j]) == 0) ok = true;
                if (!ok)
                    rc = es_err_set(err, ES_MAPPER_PARSING, "No field type matched on [%s], possible values are [object, string, long, double, boolean, date, binary]",
                                    t->match_mapping_type[i]);
            }
        } else if (strcmp(k, "match_pattern") == 0) {
            const char *s = json_str(v, NULL);
            if (s && strcmp(s, "regex") == 0) t->regex = true;
            else if (!s || strcmp(s, "simple") != 0)
                rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "No matching pattern matched on [%s]", s ? s : "");
        } else if (strcmp(k, "mapping") == 0 || strcmp(k, "runtime") == 0) {
            if (json_type_of(v) != JSON_OBJECT)
                rc = es_err_set(err, ES_MAPPER_PARSING, "template [%s] must have a [mapping] object", name);
            else {
                free(t->mapping_json);
                t->mapping_json = compact_sorted(v);
                t->runtime = k[0] == 'r';
                have_mapping = true;
            }
        } else {
            rc = es_err_set(err, ES_MAPPER_PARSING, "Illegal dynamic template parameter: [%s]", k);
        }
        if (rc < 0) return -1;
    }
    if (!have_mapping) return es_err_set(err, ES_MAPPER_PARSING, "template [%s] must have either mapping or runtime set", name);
    return 0;
}

static int parse_root(mapping *m, const json_val *v, es_err *err)
{
    buf rest = { 0 };
    json_iter it = json_iter_begin(v);
    const json_val *e;
    const char *k;
    size_t kl;
    int rc = 0;
    while (rc == 0 && (e = json_iter_next(&it, &k, &kl))) {
        if (strcmp(k, "properties") == 0) {
            if (json_type_of(e) == JSON_OBJECT) rc = parse_properties(m->root, e, 0, err);
            else if (!json_is_null(e)) remaining_param(&rest, k, kl, e);
        } else if (strcmp(k, "dynamic") == 0) {
            rc = parse_dynamic_value(e, "_doc", &m->root->dynamic, err);
        } else if (strcmp(k, "enabled") == 0 || strcmp(k, "subobjects") == 0) {
            if (strcmp(k, "enabled") == 0) m->root->enabled = json_bool(e) || (json_str(e, NULL) && strcmp(json_str(e, NULL), "true") == 0);
        } else if (strcmp(k, "date_detection") == 0 || strcmp(k, "numeric_detection") == 0) {
            int val;
            const char *s = json_str(e, NULL);
            if (json_type_of(e) == JSON_BOOL) val = json_bool(e);
            else if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) val = s[0] == 't';
            else {
                rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Could not convert [%s] to boolean", k);
                break;
            }
            if (k[0] == 'd') m->date_detection = val;
            else m->numeric_detection = val;
        } else if (strcmp(k, "dynamic_date_formats") == 0) {
            char **list = NULL;
            size_t n = 0;
            if (json_type_of(e) == JSON_ARRAY || json_type_of(e) == JSON_STRING) {
                rc = str_or_list(e, &list, &n, NULL, "dynamic_date_formats", err);
            } else {
                rc = es_err_set(err, ES_MAPPER_PARSING, "Dynamic date formats must be an array or a string");
            }
            for (size_t i = 0; rc == 0 && i < n; i++) {
                es_err ee = { 0 };
                date_format *df = date_format_compile(list[i], &ee);
                if (!df) {
                    rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "%s", ee.reason);
                }
                es_err_free(&ee);
                date_format_free(df);
            }
            if (rc == 0) {
                strv_free(m->dynamic_date_formats, m->n_dynamic_date_formats);
                m->dynamic_date_formats = list ? list : xcalloc(1, sizeof(char *));
                m->n_dynamic_date_formats = n;
            } else {
                strv_free(list, n);
            }
        } else if (strcmp(k, "dynamic_templates") == 0) {
            if (json_type_of(e) != JSON_ARRAY) {
                rc = es_err_set(err, ES_MAPPER_PARSING, "Dynamic template syntax error. An array of named objects is expected.");
                break;
            }
            templates_free(m->templates, m->n_templates);
            m->templates = NULL;
            m->n_templates = 0;
            m->templates_set = true;
            size_t n = json_len(e);
            m->templates = xcalloc(n ? n : 1, sizeof *m->templates);
            for (size_t i = 0; rc == 0 && i < n; i++) {
                const json_val *entry = json_arr_get(e, i);
                if (json_type_of(entry) != JSON_OBJECT || json_len(entry) != 1) {
                    rc = es_err_set(err, ES_MAPPER_PARSING, "Dynamic template syntax error. An array of named objects is expected.");
                    break;
                }
                json_iter ti = json_iter_begin(entry);
                const char *tn;
                size_t tnl;
                const json_val *body = json_iter_next(&ti, &tn, &tnl);
                rc = parse_template(tn, body, &m->templates[m->n_templates], err);
                m->n_templates++;
            }
        } else if (strcmp(k, "_meta") == 0) {
            if (json_type_of(e) != JSON_OBJECT && !json_is_null(e)) {
                rc = es_err_set(err, ES_MAPPER_PARSING, "[_meta] must be an object, got %s[%s]", "String", "...");
                break;
            }
            free(m->meta_json);
            m->meta_json = json_is_null(e) ? NULL : json_compact(e);
        } else if (strcmp(k, "_source") == 0) {
            if (json_type_of(e) != JSON_OBJECT) {
                rc = es_err_set(err, ES_MAPPER_PARSING, "[_source] must be an object");
                break;
            }
            json_iter si = json_iter_begin(e);
            const json_val *sv;
            const char *sk;
            size_t skl;
            while (rc == 0 && (sv = json_iter_next(&si, &sk, &skl))) {
                if (strcmp(sk, "enabled") == 0) {
                    if (json_type_of(sv) == JSON_BOOL) m->source_enabled = json_bool(sv);
                    else rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Could not convert [_source.enabled] to boolean");
                } else if (strcmp(sk, "includes") == 0) {
                    strv_free(m->source_includes, m->n_source_includes);
                    m->source_includes = NULL;
                    rc = str_or_list(sv, &m->source_includes, &m->n_source_includes, NULL, "includes", err);
                    m->source_includes_set = true;
                } else if (strcmp(sk, "excludes") == 0) {
                    strv_free(m->source_excludes, m->n_source_excludes);
                    m->source_excludes = NULL;
                    rc = str_or_list(sv, &m->source_excludes, &m->n_source_excludes, NULL, "excludes", err);
                    m->source_excludes_set = true;
                } else if (strcmp(sk, "mode") == 0 && json_type_of(sv) == JSON_STRING) {
                    const char *mode = json_str(sv, NULL);
                    if (strcmp(mode, "stored") != 0 && strcmp(mode, "synthetic") != 0 && strcmp(mode, "disabled") != 0)
                        rc = es_err_set(err, ES_MAPPER_PARSING, "Unknown value [%s] for field [mode] - accepted values are [disabled, stored, synthetic]", mode);
                    free(m->source_mode);
                    m->source_mode = xstrdup(mode);
                } else {
                    buf r = { 0 };
                    remaining_param(&r, sk, skl, sv);
                    rc = es_err_set(err, ES_MAPPER_PARSING, "unknown parameter [%s] on metadata field [_source]", sk);
                    buf_free(&r);
                }
            }
        } else if (strcmp(k, "_routing") == 0) {
            const json_val *req = json_obj_get(e, "required");
            if (json_type_of(e) != JSON_OBJECT) rc = es_err_set(err, ES_MAPPER_PARSING, "[_routing] must be an object");
            else if (req && json_type_of(req) == JSON_BOOL) m->routing_required = json_bool(req);
            else if (req) rc = es_err_set(err, ES_ILLEGAL_ARGUMENT, "Could not convert [_routing.required] to boolean");
        } else if (strcmp(k, "_field_names") == 0 || strcmp(k, "runtime") == 0 || strcmp(k, "_data_stream_timestamp") == 0) {
            continue; /* accepted and not kept */
        } else {
            remaining_param(&rest, k, kl, e);
        }
    }
    if (rc == 0 && rest.len)
        rc = es_err_set(err, ES_MAPPER_PARSING, "Root mapping definition has unsupported parameters: %s", rest.p);
    buf_free(&rest);
    return rc;
}

mapping *mapping_parse(const json_val *v, const mapping_limits *limits, es_err *err)
{
    mapping *m = mapping_alloc();
    if (v && !json_is_null(v)) {
        if (json_type_of(v) != JSON_OBJECT) {
            es_err_set(err, ES_MAPPER_PARSING, "Failed to parse mapping: Expected map for property [mappings] but got a %s",
                       json_type_name(json_type_of(v)));
            mapping_unref(m);
            return NULL;
        }
        const json_val *doc = json_obj_get(v, "_doc");
        if (doc && json_len(v) == 1 && json_type_of(doc) == JSON_OBJECT) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "The mapping definition cannot be nested under a type [_doc] unless include_type_name is set to true.");
            mapping_unref(m);
            return NULL;
        }
        if (json_len(v) > 0) m->empty = false;
        if (parse_root(m, v, err) < 0) {
            err_wrap(err, ES_MAPPER_PARSING, "Failed to parse mapping: %s", err->reason);
            mapping_unref(m);
            return NULL;
        }
    }
    mapping_finish(m);
    if (mapping_check_limits(m, limits, err) < 0) {
        mapping_unref(m);
        return NULL;
    }
    return m;
}

mapping *mapping_parse_text(const char *json, size_t len, const mapping_limits *limits, es_err *err)
{
    json_err je;
    json_doc *d = json_parse(json, len, NULL, &je);
    if (!d) {
        es_err_set(err, ES_MAPPER_PARSING, "Failed to parse mapping: %s", je.msg);
        return NULL;
    }
    mapping *m = mapping_parse(json_doc_root(d), limits, err);
    json_doc_free(d);
    return m;
}

/* ------------------------------------------------------------------------ */
/* Writing */

/* Whether a param's value equals the type's default (and is then omitted). */
static bool param_is_default(const mfield *f, const mparam *p)
{
    const param_def *d = p->def;
    if (strcmp(d->name, "norms") == 0) return strcmp(p->json, f->type == FT_TEXT ? "true" : "false") == 0;
    if (strcmp(d->name, "doc_values") == 0 && f->type == FT_BINARY) return strcmp(p->json, "false") == 0;
    if (strcmp(d->name, "index_options") == 0)
        return strcmp(p->json, f->type == FT_TEXT ? "\"positions\"" : "\"docs\"") == 0;
    if (strcmp(d->name, "format") == 0)
        return strcmp(p->json, f->type == FT_DATE ? "\"" DATE_FORMAT_DEFAULT "\"" : "\"strict_date_optional_time_nanos||epoch_millis\"") == 0;
    if (d->kind == PK_JSON || d->kind == PK_NULL_VALUE) return false;
    return d->dflt && strcmp(p->json, d->dflt) == 0;
}

static void write_field(const mfield *f, json_w *w);

static void write_props(const mfield *f, json_w *w)
{
    jw_key(w, "properties");
    jw_obj_begin(w);
    for (size_t i = 0; i < f->n_props; i++) {
        jw_key(w, f->props[i]->name);
        write_field(f->props[i], w);
    }
    jw_obj_end(w);
}

static const char *dynamic_name(dynamic_mode d)
{
    switch (d) {
    case DYNAMIC_TRUE: return "true";
    case DYNAMIC_FALSE: return "false";
    case DYNAMIC_STRICT: return "strict";
    case DYNAMIC_RUNTIME: return "runtime";
    default: return NULL;
    }
}

static void write_field(const mfield *f, json_w *w)
{
    jw_obj_begin(w);
    if (field_type_is_object(f->type)) {
        if (f->type == FT_NESTED || (f->n_props == 0 && f->dynamic == DYNAMIC_INHERIT && f->enabled))
            jw_kstr(w, "type", field_type_name(f->type));
        if (f->dynamic != DYNAMIC_INHERIT) jw_kstr(w, "dynamic", dynamic_name(f->dynamic));
        if (!f->enabled) jw_kbool(w, "enabled", false);
        if (f->n_props) write_props(f, w);
        jw_obj_end(w);
        return;
    }
    jw_kstr(w, "type", field_type_name(f->type));
    for (size_t i = 0; i < f->n_params; i++) {
        if (param_is_default(f, &f->params[i]) && strcmp(f->params[i].def->name, "scaling_factor") != 0) continue;
        jw_key(w, f->params[i].def->name);
        jw_raw(w, f->params[i].json, strlen(f->params[i].json));
    }
    if (f->n_fields) {
        jw_key(w, "fields");
        jw_obj_begin(w);
        for (size_t i = 0; i < f->n_fields; i++) {
            jw_key(w, f->fields[i]->name);
            write_field(f->fields[i], w);
        }
        jw_obj_end(w);
    }
    if (f->n_copy_to) {
        jw_key(w, "copy_to");
        jw_arr_begin(w);
        for (size_t i = 0; i < f->n_copy_to; i++) jw_str(w, f->copy_to[i]);
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

static void write_str_or_list(json_w *w, const char *key, char *const *v, size_t n, bool list)
{
    if (!n && !list) return;
    jw_key(w, key);
    if (!list && n == 1) {
        jw_str(w, v[0]);
        return;
    }
    jw_arr_begin(w);
    for (size_t i = 0; i < n; i++) jw_str(w, v[i]);
    jw_arr_end(w);
}

void mapping_write(const mapping *m, json_w *w)
{
    jw_obj_begin(w);
    if (m->empty) {
        jw_obj_end(w);
        return;
    }
    if (m->root->dynamic != DYNAMIC_INHERIT) jw_kstr(w, "dynamic", dynamic_name(m->root->dynamic));
    if (!m->root->enabled) jw_kbool(w, "enabled", false);
    if (m->meta_json) {
        jw_key(w, "_meta");
        jw_raw(w, m->meta_json, strlen(m->meta_json));
    }
    if (m->routing_required == 1) {
        jw_key(w, "_routing");
        jw_obj_begin(w);
        jw_kbool(w, "required", true);
        jw_obj_end(w);
    }
    bool src = m->source_mode || m->source_enabled == 0 || m->n_source_includes || m->n_source_excludes;
    if (src) {
        jw_key(w, "_source");
        jw_obj_begin(w);
        if (m->source_mode) jw_kstr(w, "mode", m->source_mode);
        if (m->source_enabled == 0) jw_kbool(w, "enabled", false);
        if (m->n_source_includes) write_str_or_list(w, "includes", m->source_includes, m->n_source_includes, true);
        if (m->n_source_excludes) write_str_or_list(w, "excludes", m->source_excludes, m->n_source_excludes, true);
        jw_obj_end(w);
    }
    if (m->dynamic_date_formats) {
        jw_key(w, "dynamic_date_formats");
        jw_arr_begin(w);
        for (size_t i = 0; i < m->n_dynamic_date_formats; i++) jw_str(w, m->dynamic_date_formats[i]);
        jw_arr_end(w);
    }
    if (m->templates_set) {
        jw_key(w, "dynamic_templates");
        jw_arr_begin(w);
        for (size_t i = 0; i < m->n_templates; i++) {
            const dyn_template *t = &m->templates[i];
            jw_obj_begin(w);
            jw_key(w, t->name);
            jw_obj_begin(w);
            write_str_or_list(w, "match", t->match, t->n_match, t->match_is_list);
            write_str_or_list(w, "path_match", t->path_match, t->n_path_match, t->path_match_is_list);
            write_str_or_list(w, "unmatch", t->unmatch, t->n_unmatch, t->unmatch_is_list);
            write_str_or_list(w, "path_unmatch", t->path_unmatch, t->n_path_unmatch, t->path_unmatch_is_list);
            /* Elasticsearch writes match_mapping_type "*" (or none given) only when neither match nor
             * path_match is set; one type as a string; several as given. */
            bool all = t->n_match_mapping_type == 0;
            for (size_t k = 0; k < t->n_match_mapping_type; k++)
                if (strcmp(t->match_mapping_type[k], "*") == 0) all = true;
            if (all) {
                if (!t->n_match && !t->n_path_match) jw_kstr(w, "match_mapping_type", "*");
            } else {
                write_str_or_list(w, "match_mapping_type", t->match_mapping_type, t->n_match_mapping_type,
                                  t->mmt_is_list && t->n_match_mapping_type > 1);
            }
            if (t->regex) jw_kstr(w, "match_pattern", "regex");
            jw_key(w, t->runtime ? "runtime" : "mapping");
            jw_raw(w, t->mapping_json, strlen(t->mapping_json));
            jw_obj_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    if (m->date_detection >= 0) jw_kbool(w, "date_detection", m->date_detection);
    if (m->numeric_detection >= 0) jw_kbool(w, "numeric_detection", m->numeric_detection);
    if (m->root->n_props) write_props(m->root, w);
    jw_obj_end(w);
}

char *mapping_to_json(const mapping *m)
{
    buf b = { 0 };
    json_w w;
    jw_init(&w, &b, false);
    mapping_write(m, &w);
    return buf_detach(&b, NULL);
}
