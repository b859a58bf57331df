/*
 * source_filter.c — `_source` includes/excludes, as Elasticsearch filters a
 * document's source for GET, mget, search hits and reindex.
 *
 * Patterns are dotted field paths where '*' matches any run of characters,
 * dots included (Elasticsearch's simple wildcard). A member is kept when an
 * include matches its path (or there are no includes) and no exclude does; an
 * object whose path an include matches keeps all its members; containers are
 * walked when a pattern could match below them, and ones left empty by the
 * includes disappear. Arrays keep their order; duplicate keys keep the last.
 */
#include "index/index.h"

#include <stdlib.h>
#include <string.h>

/*
 * Whether pat matches s exactly, or (partial) could match some string that
 * starts with s. A small NFA over the pattern's positions.
 */
static bool wildcard_match(const char *pat, const char *s, size_t slen, bool partial)
{
    size_t pl = strlen(pat);
    bool stack_cur[64], stack_nxt[64];
    bool *cur = pl < 64 ? stack_cur : xcalloc(pl + 1, 1);
    bool *nxt = pl < 64 ? stack_nxt : xcalloc(pl + 1, 1);
    memset(cur, 0, pl + 1);
    cur[0] = true;
    for (size_t j = 0; j < pl && pat[j] == '*' && cur[j]; j++) cur[j + 1] = true;
    bool alive = true;
    for (size_t i = 0; i < slen && alive; i++) {
        memset(nxt, 0, pl + 1);
        alive = false;
        for (size_t j = 0; j < pl; j++) {
            if (!cur[j]) continue;
            if (pat[j] == '*') nxt[j] = alive = true;
            else if (pat[j] == s[i]) nxt[j + 1] = alive = true;
        }
        for (size_t j = 0; j < pl; j++)
            if (nxt[j] && pat[j] == '*') nxt[j + 1] = true;
        memcpy(cur, nxt, pl + 1);
    }
    bool res = false;
    if (alive) {
        if (partial)
            for (size_t j = 0; j <= pl; j++) res = res || cur[j];
        else
            res = cur[pl];
    }
    if (cur != stack_cur) free(cur);
    if (nxt != stack_nxt) free(nxt);
    return res;
}

bool source_pattern_match(const char *pattern, const char *path, size_t len)
{
    return wildcard_match(pattern, path, len, false);
}

static bool any_full(const char *const *pats, size_t n, const char *path, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (wildcard_match(pats[i], path, len, false)) return true;
    return false;
}

/* Whether a pattern could match something below path (path + "." + more). */
static bool any_below(const char *const *pats, size_t n, buf *path)
{
    size_t len = path->len;
    buf_putc(path, '.');
    bool hit = false;
    for (size_t i = 0; i < n && !hit; i++)
        if (wildcard_match(pats[i], path->p, path->len, true)) hit = true;
    path->len = len;
    path->p[len] = 0;
    return hit;
}

typedef struct filter {
    const char *const *inc;
    size_t ninc;
    const char *const *exc;
    size_t nexc;
} filter;

static bool is_container(const json_val *v)
{
    return json_type_of(v) == JSON_OBJECT || json_type_of(v) == JSON_ARRAY;
}

static bool filter_value(const filter *f, const json_val *v, buf *path, bool all_in, bool included, json_w *w);

/* Filters an object's members into w (an object is always written); returns whether any was kept. */
static bool filter_object(const filter *f, const json_val *obj, buf *path, bool all_in, json_w *w)
{
    bool any = false;
    jw_obj_begin(w);
    json_iter it = json_iter_begin(obj);
    const json_val *v;
    const char *k;
    size_t kl;
    size_t base = path->len;
    while ((v = json_iter_next(&it, &k, &kl))) {
        if (json_obj_getn(obj, k, kl) != v) continue; /* duplicate key: the last wins */
        if (base) buf_putc(path, '.');
        buf_append(path, k, kl);
        bool container = is_container(v);
        bool full = all_in || !f->ninc || any_full(f->inc, f->ninc, path->p, path->len);
        bool keep = full || (container && any_below(f->inc, f->ninc, path));
        if (keep && f->nexc && any_full(f->exc, f->nexc, path->p, path->len)) keep = false;
        if (keep && !container) {
            if (full) {
                jw_keyn(w, k, kl);
                jw_val(w, v);
                any = true;
            }
        } else if (keep) {
            if (full && !(f->nexc && any_below(f->exc, f->nexc, path))) {
                jw_keyn(w, k, kl);
                jw_val(w, v);
                any = true;
            } else {
                buf sub = { 0 };
                json_w sw;
                jw_init(&sw, &sub, false);
                if (filter_value(f, v, path, full, full, &sw) || full) {
                    jw_keyn(w, k, kl);
                    jw_raw(w, sub.p, sub.len);
                    any = true;
                }
                buf_free(&sub);
            }
        }
        path->len = base;
        path->p[base] = 0;
    }
    jw_obj_end(w);
    return any;
}

/* Filters an object or array below path; returns whether anything was kept. */
static bool filter_value(const filter *f, const json_val *v, buf *path, bool all_in, bool included, json_w *w)
{
    if (json_type_of(v) == JSON_OBJECT) return filter_object(f, v, path, all_in, w);
    bool any = false;
    jw_arr_begin(w);
    for (size_t i = 0; i < json_len(v); i++) {
        const json_val *e = json_arr_get(v, i);
        if (is_container(e)) {
            buf sub = { 0 };
            json_w sw;
            jw_init(&sw, &sub, false);
            if (filter_value(f, e, path, all_in, included, &sw)) {
                jw_raw(w, sub.p, sub.len);
                any = true;
            }
            buf_free(&sub);
        } else if (included) {
            jw_val(w, e);
            any = true;
        }
    }
    jw_arr_end(w);
    return any;
}

void source_filter_write_value(const char *const *includes, size_t n_inc, const char *const *excludes,
                               size_t n_exc, const json_val *obj, json_w *w)
{
    filter f = { includes, n_inc, excludes, n_exc };
    buf path = { 0 };
    buf_reserve(&path, 64);
    filter_object(&f, obj, &path, false, w);
    buf_free(&path);
}

void source_filter_write(const char *const *includes, size_t n_inc, const char *const *excludes, size_t n_exc,
                         const void *src, size_t len, json_w *w)
{
    if (!n_inc && !n_exc) {
        jw_raw(w, src, len);
        return;
    }
    json_doc *d = json_parse(src, len, NULL, NULL);
    if (!d || json_type_of(json_doc_root(d)) != JSON_OBJECT) {
        /* Not an object (cannot happen for stored sources): pass it through untouched. */
        if (d) json_doc_free(d);
        jw_raw(w, src, len);
        return;
    }
    source_filter_write_value(includes, n_inc, excludes, n_exc, json_doc_root(d), w);
    json_doc_free(d);
}

/* A pattern or a list of patterns, appended to a heap array of heap strings. */
static int patterns_of(const json_val *v, char ***out, size_t *n, const char *field, es_err *err)
{
    size_t count = json_type_of(v) == JSON_ARRAY ? json_len(v) : 1;
    for (size_t i = 0; i < count; i++) {
        const json_val *e = json_type_of(v) == JSON_ARRAY ? json_arr_get(v, i) : v;
        if (json_type_of(e) != JSON_STRING)
            return es_err_set(err, ES_PARSING, "Unknown key for a %s in [%s].", json_token_name(e), field);
        size_t len;
        const char *s = json_str(e, &len);
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = xstrndup(s, len);
    }
    return 0;
}

int source_filter_parse(const json_val *v, int *fetch, char ***inc, size_t *ninc, char ***exc, size_t *nexc,
                        es_err *err)
{
    *fetch = -1;
    switch (json_type_of(v)) {
    case JSON_BOOL:
        *fetch = json_bool(v) ? 1 : 0;
        return 0;
    case JSON_STRING:
    case JSON_ARRAY:
        return patterns_of(v, inc, ninc, "_source", err);
    case JSON_OBJECT: {
        json_iter it = json_iter_begin(v);
        const json_val *e;
        const char *k;
        size_t kl;
        while ((e = json_iter_next(&it, &k, &kl))) {
            if (!strcmp(k, "includes") || !strcmp(k, "include")) {
                if (patterns_of(e, inc, ninc, k, err)) return -1;
            } else if (!strcmp(k, "excludes") || !strcmp(k, "exclude")) {
                if (patterns_of(e, exc, nexc, k, err)) return -1;
            } else {
                return es_err_set(err, ES_PARSING, "Unknown key for a %s in [%s].", json_token_name(e), k);
            }
        }
        return 0;
    }
    default:
        return es_err_set(err, ES_PARSING, "Expected one of [VALUE_BOOLEAN, START_OBJECT] but found [%s]",
                          json_token_name(v));
    }
}
