/*
 * document.c — a document's _source read against a mapping: values checked
 * against their types, multi-fields and copy_to, dynamic mapping (templates,
 * date and numeric detection), limits; the result is a flat list of indexed
 * values and, when fields were added, the mapping update.
 *
 * Two passes: the first walks the document read-only against the given
 * mapping; only when it meets a field to add dynamically does a second pass
 * walk a private copy of the mapping that it extends as it goes.
 */
#include "index/index_int.h"

#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dctx {
    mapping *m;            /* the mapping walked (base, or the private copy in pass 2) */
    bool mutable_;         /* pass 2: may add fields */
    bool need_dynamic;     /* pass 1 found a field to add */
    parsed_doc *out;
    const doc_parse_opts *o;
    mapping_limits lim;
    size_t base_total;     /* total fields before this document */
    size_t added;          /* fields added by this document */
    es_err *err;
    /* path -> value count, for positions */
    struct slot { const char *path; uint32_t count; } *slots;
    size_t n_slots, cap_slots;
    /* root offset for [line:col] */
    const char *raw_root;
    size_t lead_ws;
} dctx;

/* ------------------------------------------------------------------------ */
/* Locations and errors */

static size_t value_offset(dctx *c, const json_val *v)
{
    if (!c->o || !c->o->doc || !c->raw_root) return (size_t)-1;
    size_t len;
    const char *p = json_raw(c->o->doc, v, &len);
    if (!p || p < c->raw_root) return (size_t)-1;
    return (size_t)(p - c->raw_root) + c->lead_ws;
}

static void location(dctx *c, size_t off, buf *b)
{
    if (off == (size_t)-1 || !c->o || !c->o->src || off > c->o->src_len) return;
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (c->o->src[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    buf_printf(b, "[%u:%u] ", line, col);
}

static const char *doc_desc(dctx *c, buf *b)
{
    if (c->o && c->o->id) buf_printf(b, "document with id '%s'", c->o->id);
    else buf_puts(b, "a document");
    return b->p;
}

/* document_parsing_exception "[l:c] failed to parse field [f] of type [t] in ... Preview of field's value: 'v'". */
static int field_error(dctx *c, const mfield *f, const json_val *v)
{
    buf loc = { 0 }, desc = { 0 }, prev = { 0 };
    location(c, value_offset(c, v), &loc);
    json_java_string(v, &prev);
    err_wrap(c->err, ES_DOCUMENT_PARSING, "%sfailed to parse field [%s] of type [%s] in %s. Preview of field's value: '%s'",
             loc.p ? loc.p : "", f->path, field_type_name(f->type), doc_desc(c, &desc), prev.p ? prev.p : "");
    buf_free(&loc);
    buf_free(&desc);
    buf_free(&prev);
    return -1;
}

/* document_parsing_exception "[l:c] failed to parse: <cause>" with an illegal_argument_exception cause. */
static int generic_error(dctx *c, const json_val *at, const char *fmt, ...) FERRY_PRINTF(3, 4);
static int generic_error(dctx *c, const json_val *at, const char *fmt, ...)
{
    buf msg = { 0 }, loc = { 0 };
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    location(c, at ? value_offset(c, at) : (size_t)-1, &loc);
    es_err_set(c->err, ES_ILLEGAL_ARGUMENT, "%s", msg.p);
    err_wrap(c->err, ES_DOCUMENT_PARSING, "%sfailed to parse: %s", loc.p ? loc.p : "", msg.p);
    buf_free(&msg);
    buf_free(&loc);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Output */

static uint32_t next_position(dctx *c, const char *path)
{
    for (size_t i = c->n_slots; i > 0; i--) /* recent paths first: arrays repeat the same path */
        if (c->slots[i - 1].path == path || strcmp(c->slots[i - 1].path, path) == 0) return c->slots[i - 1].count++;
    if (c->n_slots == c->cap_slots) {
        c->cap_slots = c->cap_slots ? c->cap_slots * 2 : 16;
        c->slots = xrealloc(c->slots, c->cap_slots * sizeof *c->slots);
    }
    c->slots[c->n_slots++] = (struct slot){ path, 1 };
    return 0;
}

static index_field_value *push_value(dctx *c)
{
    parsed_doc *d = c->out;
    if (d->n_values == d->cap_values) {
        d->cap_values = d->cap_values ? d->cap_values * 2 : 16;
        d->values = xrealloc(d->values, d->cap_values * sizeof *d->values);
    }
    index_field_value *v = &d->values[d->n_values++];
    memset(v, 0, sizeof *v);
    return v;
}

static void add_ignored(dctx *c, const char *path)
{
    parsed_doc *d = c->out;
    for (size_t i = 0; i < d->n_ignored; i++)
        if (strcmp(d->ignored[i], path) == 0) return;
    d->ignored = xrealloc(d->ignored, (d->n_ignored + 1) * sizeof *d->ignored);
    d->ignored[d->n_ignored++] = arena_strndup(&d->mem, path, strlen(path));
}

static size_t utf16_len(const char *s, size_t n)
{
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch & 0xC0) == 0x80) continue;
        units += ch >= 0xF0 ? 2 : 1;
    }
    return units;
}

/* ------------------------------------------------------------------------ */
/* Leaf values */

static int index_leaf_value(dctx *c, const mfield *f, const json_val *v, uint32_t flags, size_t src_off);

static int copy_to_targets(dctx *c, const mfield *f, const json_val *v, size_t src_off);

/* One scalar for a mapped leaf, then its multi-fields and copy_to. */
static int index_leaf_value(dctx *c, const mfield *f, const json_val *v, uint32_t flags, size_t src_off)
{
    index_field_value tmp = { 0 };
    bool is_null = false;
    es_err cause = { 0 };
    const json_val *val = v;
    json_doc *nv_doc = NULL;
    if (json_is_null(v)) is_null = true;
    else if (value_parse(f, v, &c->out->mem, &tmp, &is_null, &cause) < 0) {
        if (f->ignore_malformed) {
            es_err_free(&cause);
            add_ignored(c, f->path);
            return 0;
        }
        *c->err = cause;
        return field_error(c, f, v);
    }
    if (is_null) {
        if (!f->has_null_value) return 0;
        nv_doc = json_parse(f->null_value, strlen(f->null_value), NULL, NULL);
        if (!nv_doc) return 0;
        val = json_doc_root(nv_doc);
        memset(&tmp, 0, sizeof tmp);
        if (value_parse(f, val, &c->out->mem, &tmp, &is_null, &cause) < 0 || is_null) {
            es_err_free(&cause);
            json_doc_free(nv_doc);
            return 0;
        }
        flags |= IFV_NULL_VALUE;
    }
    bool indexed = true;
    if (f->ignore_above >= 0 && tmp.kind == IFV_STRING && (int64_t)utf16_len(tmp.str, tmp.str_len) > f->ignore_above) {
        add_ignored(c, f->path);
        indexed = false;
    }
    if (indexed) {
        index_field_value *out = push_value(c);
        *out = tmp;
        out->path = f->path;
        out->field = f;
        out->type = f->type;
        out->flags = flags;
        out->src_offset = src_off == (size_t)-1 ? UINT32_MAX : (uint32_t)src_off;
        out->position = next_position(c, f->path);
        out->indexed = f->index;
        out->doc_values = f->doc_values;
        out->stored = f->store;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < f->n_fields; i++)
        rc = index_leaf_value(c, f->fields[i], val, flags | IFV_FROM_MULTI, src_off);
    if (rc == 0 && !(flags & (IFV_FROM_COPY_TO | IFV_FROM_MULTI)) && f->n_copy_to) rc = copy_to_targets(c, f, val, src_off);
    if (nv_doc) json_doc_free(nv_doc);
    return rc;
}

/* Flattened: every leaf of the object becomes a keyword value of the field. */
static int index_flattened(dctx *c, const mfield *f, const json_val *v, buf *key, size_t src_off)
{
    switch (json_type_of(v)) {
    case JSON_OBJECT: {
        json_iter it = json_iter_begin(v);
        const json_val *e;
        const char *k;
        size_t kl;
        while ((e = json_iter_next(&it, &k, &kl))) {
            size_t save = key->len;
            if (key->len) buf_putc(key, '.');
            buf_append(key, k, kl);
            if (index_flattened(c, f, e, key, src_off) < 0) return -1;
            key->len = save;
            if (key->p) key->p[save] = 0;
        }
        return 0;
    }
    case JSON_ARRAY: {
        json_iter it = json_iter_begin(v);
        const json_val *e;
        while ((e = json_iter_next(&it, NULL, NULL)))
            if (index_flattened(c, f, e, key, src_off) < 0) return -1;
        return 0;
    }
    case JSON_NULL:
        return 0;
    default: {
        buf tmp = { 0 };
        size_t n;
        const char *s = json_scalar_text(v, &n, &tmp);
        if (f->ignore_above >= 0 && (int64_t)utf16_len(s, n) > f->ignore_above) {
            add_ignored(c, f->path);
            buf_free(&tmp);
            return 0;
        }
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1 && !key->len) break;
            index_field_value *out = push_value(c);
            out->field = f;
            out->type = f->type;
            out->kind = IFV_STRING;
            out->str = arena_strndup(&c->out->mem, s, n);
            out->str_len = n;
            if (pass == 0) out->path = f->path;
            else {
                char *p = arena_alloc(&c->out->mem, strlen(f->path) + key->len + 2);
                sprintf(p, "%s.%s", f->path, key->p);
                out->path = p;
            }
            out->position = next_position(c, out->path);
            out->src_offset = src_off == (size_t)-1 ? UINT32_MAX : (uint32_t)src_off;
            out->indexed = f->index;
            out->doc_values = f->doc_values;
        }
        buf_free(&tmp);
        return 0;
    }
    }
}

/* ------------------------------------------------------------------------ */
/* Dynamic mapping */

typedef enum { DT_NONE, DT_STRING, DT_LONG, DT_DOUBLE, DT_BOOLEAN, DT_DATE, DT_OBJECT } dyn_kind;

static const char *dyn_kind_name(dyn_kind k)
{
    switch (k) {
    case DT_STRING: return "string";
    case DT_LONG: return "long";
    case DT_DOUBLE: return "double";
    case DT_BOOLEAN: return "boolean";
    case DT_DATE: return "date";
    case DT_OBJECT: return "object";
    default: return "";
    }
}

static const char *dyn_default_type(dyn_kind k)
{
    switch (k) {
    case DT_STRING: return "text";
    case DT_LONG: return "long";
    case DT_DOUBLE: return "float";
    case DT_BOOLEAN: return "boolean";
    case DT_DATE: return "date";
    case DT_OBJECT: return "object";
    default: return "object";
    }
}

static bool pattern_match(const char *pat, const char *s, bool regex)
{
    if (!regex) return simple_match(pat, s);
    char *full = xasprintf("^(%s)$", pat);
    regex_t re;
    bool ok = false;
    if (regcomp(&re, full, REG_EXTENDED | REG_NOSUB) == 0) {
        ok = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
    }
    free(full);
    return ok;
}

static bool any_match(char *const *pats, size_t n, const char *s, bool regex)
{
    for (size_t i = 0; i < n; i++)
        if (pattern_match(pats[i], s, regex)) return true;
    return false;
}

static bool template_matches(const dyn_template *t, const char *name, const char *path, dyn_kind k)
{
    if (t->runtime) return false;
    if (t->n_match_mapping_type) {
        bool ok = false;
        for (size_t i = 0; i < t->n_match_mapping_type; i++)
            if (strcmp(t->match_mapping_type[i], "*") == 0 || strcmp(t->match_mapping_type[i], dyn_kind_name(k)) == 0) ok = true;
        if (!ok) return false;
    }
    if (t->n_match && !any_match(t->match, t->n_match, name, t->regex)) return false;
    if (t->n_unmatch && any_match(t->unmatch, t->n_unmatch, name, t->regex)) return false;
    if (t->n_path_match && !any_match(t->path_match, t->n_path_match, path, t->regex)) return false;
    if (t->n_path_unmatch && any_match(t->path_unmatch, t->n_path_unmatch, path, t->regex)) return false;
    return true;
}

/* Replaces {name} and {dynamic_type} / {dynamicType} in a template's JSON text. */
static char *template_subst(const char *json, const char *name, const char *dyn_type)
{
    buf b = { 0 };
    for (const char *p = json; *p;) {
        if (strncmp(p, "{name}", 6) == 0) {
            /* name goes inside a JSON string: escape it without the quotes */
            buf e = { 0 };
            json_escape(&e, name, strlen(name));
            buf_append(&b, e.p + 1, e.len - 2);
            buf_free(&e);
            p += 6;
        } else if (strncmp(p, "{dynamic_type}", 14) == 0) {
            buf_puts(&b, dyn_type);
            p += 14;
        } else if (strncmp(p, "{dynamicType}", 13) == 0) {
            buf_puts(&b, dyn_type);
            p += 13;
        } else {
            buf_putc(&b, *p++);
        }
    }
    return buf_detach(&b, NULL);
}

/* Builds the field a template gives, or NULL with c->err set. */
static mfield *field_from_template(dctx *c, const dyn_template *t, const char *name, const char *parent_path, dyn_kind k,
                                   const char *date_fmt, const json_val *at)
{
    char *j = template_subst(t->mapping_json, name, dyn_default_type(k));
    json_err je;
    json_doc *d = json_parse(j, strlen(j), NULL, &je);
    free(j);
    if (!d) {
        generic_error(c, at, "dynamic template [%s] has an invalid mapping", t->name);
        return NULL;
    }
    const json_val *def = json_doc_root(d);
    /* No "type": the detected kind's default type (a date keeps its detected format). */
    mfield *f;
    es_err e = { 0 };
    if (!json_obj_get(def, "type")) {
        buf nb = { 0 };
        json_w w;
        jw_init(&w, &nb, false);
        jw_obj_begin(&w);
        jw_kstr(&w, "type", dyn_default_type(k));
        if (k == DT_DATE && date_fmt && strcmp(date_fmt, DATE_FORMAT_DEFAULT) != 0 && !json_obj_get(def, "format"))
            jw_kstr(&w, "format", date_fmt);
        json_iter it = json_iter_begin(def);
        const json_val *v;
        const char *kk;
        size_t kl;
        while ((v = json_iter_next(&it, &kk, &kl))) {
            jw_keyn(&w, kk, kl);
            jw_val(&w, v);
        }
        jw_obj_end(&w);
        json_doc *d2 = json_parse(nb.p, nb.len, NULL, NULL);
        buf_free(&nb);
        f = d2 ? mfield_parse(name, parent_path, json_doc_root(d2), 0, false, &e) : NULL;
        if (d2) json_doc_free(d2);
    } else {
        f = mfield_parse(name, parent_path, def, 0, false, &e);
    }
    json_doc_free(d);
    if (!f) {
        generic_error(c, at, "%s", e.reason ? e.reason : "invalid dynamic template");
        es_err_free(&e);
        return NULL;
    }
    return f;
}

/* The field a new value maps to by default. */
static mfield *default_dynamic_field(const char *name, const char *parent_path, dyn_kind k, const char *date_fmt)
{
    es_err e = { 0 };
    const char *def;
    char *owned = NULL;
    switch (k) {
    case DT_STRING:
        def = "{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\",\"ignore_above\":256}}}";
        break;
    case DT_LONG: def = "{\"type\":\"long\"}"; break;
    case DT_DOUBLE: def = "{\"type\":\"float\"}"; break;
    case DT_BOOLEAN: def = "{\"type\":\"boolean\"}"; break;
    case DT_DATE: {
        if (date_fmt && strcmp(date_fmt, DATE_FORMAT_DEFAULT) != 0) {
            buf b = { 0 };
            json_w w;
            jw_init(&w, &b, false);
            jw_obj_begin(&w);
            jw_kstr(&w, "type", "date");
            jw_kstr(&w, "format", date_fmt);
            jw_obj_end(&w);
            owned = buf_detach(&b, NULL);
            def = owned;
        } else {
            def = "{\"type\":\"date\"}";
        }
        break;
    }
    default: def = "{\"type\":\"object\"}"; break;
    }
    json_doc *d = json_parse(def, strlen(def), NULL, NULL);
    mfield *f = mfield_parse(name, parent_path, json_doc_root(d), 0, false, &e);
    json_doc_free(d);
    es_err_free(&e);
    free(owned);
    return f;
}

/* The dynamic kind of a value (arrays: their first non-null element). */
static dyn_kind detect_kind(dctx *c, const json_val *v, const char **date_fmt)
{
    *date_fmt = NULL;
    switch (json_type_of(v)) {
    case JSON_NULL: return DT_NONE;
    case JSON_BOOL: return DT_BOOLEAN;
    case JSON_INT: case JSON_BIGINT: return DT_LONG;
    case JSON_DOUBLE: return DT_DOUBLE;
    case JSON_OBJECT: return DT_OBJECT;
    case JSON_ARRAY: {
        json_iter it = json_iter_begin(v);
        const json_val *e;
        while ((e = json_iter_next(&it, NULL, NULL))) {
            dyn_kind k = detect_kind(c, e, date_fmt);
            if (k != DT_NONE) return k;
        }
        return DT_NONE;
    }
    case JSON_STRING: {
        size_t n;
        const char *s = json_str(v, &n);
        if (c->m->date_detection != 0) {
            for (size_t i = 0; i < c->m->n_ddf; i++) {
                int64_t sec;
                int32_t ns;
                if (date_format_parse(c->m->ddf[i], s, n, true, &sec, &ns)) {
                    *date_fmt = date_format_spec(c->m->ddf[i]);
                    return DT_DATE;
                }
            }
        }
        if (c->m->numeric_detection == 1 && n > 0) {
            char tmp[64];
            if (n < sizeof tmp) {
                memcpy(tmp, s, n);
                tmp[n] = 0;
                char *end;
                strtoll(tmp, &end, 10);
                if (!*end && tmp[0] != '+') return DT_LONG;
                strtod(tmp, &end);
                if (!*end) return DT_DOUBLE;
            }
        }
        return DT_STRING;
    }
    }
    return DT_NONE;
}

static dynamic_mode effective_dynamic(const mfield *const *chain, size_t n)
{
    for (size_t i = n; i > 0; i--)
        if (chain[i - 1]->dynamic != DYNAMIC_INHERIT) return chain[i - 1]->dynamic;
    return DYNAMIC_TRUE;
}

static const dyn_template *template_by_name(const mapping *m, const char *name)
{
    for (size_t i = 0; i < m->n_templates; i++)
        if (strcmp(m->templates[i].name, name) == 0) return &m->templates[i];
    return NULL;
}

static const char *requested_template(dctx *c, const char *path)
{
    if (!c->o) return NULL;
    for (size_t i = 0; i + 1 < 2 * c->o->n_template_names; i += 2)
        if (strcmp(c->o->template_names[i], path) == 0) return c->o->template_names[i + 1];
    return NULL;
}

/*
 * A new field under obj: decides what to do and, in pass 2, adds it.
 * Returns 1 with *out set when the field is mapped, 0 when the value is to be
 * skipped (dynamic false/runtime, null, limits ignored), -1 on error.
 */
static int dynamic_field(dctx *c, mfield *obj, const mfield *const *chain, size_t depth, const char *name, const json_val *v,
                         mfield **out)
{
    *out = NULL;
    dynamic_mode dm = effective_dynamic(chain, depth);
    const char *date_fmt;
    dyn_kind k = detect_kind(c, v, &date_fmt);
    if (dm == DYNAMIC_STRICT) {
        buf loc = { 0 };
        location(c, value_offset(c, v), &loc);
        es_err_set(c->err, ES_STRICT_DYNAMIC_MAPPING,
                   "%smapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", loc.p ? loc.p : "", name,
                   obj->path[0] ? obj->path : "_doc");
        buf_free(&loc);
        return -1;
    }
    if (dm == DYNAMIC_FALSE || dm == DYNAMIC_RUNTIME) return 0;
    if (k == DT_NONE) return 0;
    if (!c->mutable_) {
        c->need_dynamic = true;
        return 0;
    }
    const char *path_parent = obj->path;
    char *path = path_parent[0] ? xasprintf("%s.%s", path_parent, name) : xstrdup(name);
    if ((int64_t)strlen(name) > c->lim.field_name_length) {
        generic_error(c, v, "Field name [%s] is longer than the limit of [%lld] characters", path,
                      (long long)c->lim.field_name_length);
        free(path);
        return -1;
    }
    /* Template: requested by name (bulk's dynamic_templates), else the first that matches. */
    mfield *f = NULL;
    const char *want = requested_template(c, path);
    if (want) {
        const dyn_template *t = template_by_name(c->m, want);
        if (!t) {
            generic_error(c, v, "Can't find dynamic template for dynamic template name [%s] of field [%s]", want, path);
            free(path);
            return -1;
        }
        f = field_from_template(c, t, name, path_parent, k, date_fmt, v);
        if (!f) {
            free(path);
            return -1;
        }
    } else {
        for (size_t i = 0; i < c->m->n_templates; i++) {
            if (!template_matches(&c->m->templates[i], name, path, k)) continue;
            f = field_from_template(c, &c->m->templates[i], name, path_parent, k, date_fmt, v);
            if (!f) {
                free(path);
                return -1;
            }
            break;
        }
    }
    if (!f) f = default_dynamic_field(name, path_parent, k, date_fmt);
    size_t cnt = mfield_count(f);
    if ((int64_t)(c->base_total + c->added + cnt) > c->lim.total_fields) {
        if (c->lim.ignore_dynamic_beyond_limit) {
            add_ignored(c, path);
            mfield_free(f);
            free(path);
            return 0;
        }
        generic_error(c, v, "Limit of total fields [%lld] has been exceeded while adding new fields [%zu]",
                      (long long)c->lim.total_fields, c->added + cnt);
        mfield_free(f);
        free(path);
        return -1;
    }
    if (field_type_is_object(f->type) && (int64_t)depth + 1 > c->lim.depth) {
        generic_error(c, v, "Limit of mapping depth [%lld] has been exceeded due to object field [%s]", (long long)c->lim.depth,
                      path);
        mfield_free(f);
        free(path);
        return -1;
    }
    c->added += cnt;
    free(path);
    mfield_put_child(obj, f, false);
    *out = f;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* The walk */

#define MAX_CHAIN 256

static int parse_object(dctx *c, mfield *obj, const mfield **chain, size_t depth, const json_val *v);

/* A value under a known (or just added) field. */
static int parse_field_value(dctx *c, mfield *f, const mfield **chain, size_t depth, const json_val *v)
{
    size_t off = value_offset(c, v);
    if (field_type_is_object(f->type)) {
        switch (json_type_of(v)) {
        case JSON_OBJECT:
            if (!f->enabled) return 0;
            if (depth + 1 >= MAX_CHAIN) return generic_error(c, v, "document too deep");
            chain[depth] = f;
            return parse_object(c, f, chain, depth + 1, v);
        case JSON_ARRAY: {
            json_iter it = json_iter_begin(v);
            const json_val *e;
            while ((e = json_iter_next(&it, NULL, NULL)))
                if (parse_field_value(c, f, chain, depth, e) < 0) return -1;
            return 0;
        }
        case JSON_NULL:
            return 0;
        default: {
            if (!f->enabled) return 0;
            buf loc = { 0 };
            location(c, off, &loc);
            es_err_set(c->err, ES_DOCUMENT_PARSING,
                       "%sobject mapping for [%s] tried to parse field [%s] as object, but found a concrete value",
                       loc.p ? loc.p : "", f->path, f->name);
            buf_free(&loc);
            return -1;
        }
        }
    }
    if (f->type == FT_FLATTENED) {
        if (json_type_of(v) != JSON_OBJECT && json_type_of(v) != JSON_ARRAY && !json_is_null(v)) {
            buf key = { 0 };
            int rc = index_flattened(c, f, v, &key, off);
            buf_free(&key);
            return rc;
        }
        buf key = { 0 };
        int rc = index_flattened(c, f, v, &key, off);
        buf_free(&key);
        return rc;
    }
    if (f->type == FT_GEO_POINT && json_type_of(v) == JSON_ARRAY) {
        /* [lon, lat] is one point; otherwise an array of points. */
        const json_val *first = json_arr_get(v, 0);
        if (first && json_is_number(first)) return index_leaf_value(c, f, v, 0, off);
    }
    switch (json_type_of(v)) {
    case JSON_ARRAY: {
        json_iter it = json_iter_begin(v);
        const json_val *e;
        while ((e = json_iter_next(&it, NULL, NULL)))
            if (parse_field_value(c, f, chain, depth, e) < 0) return -1;
        return 0;
    }
    case JSON_OBJECT:
        if (f->type == FT_GEO_POINT) return index_leaf_value(c, f, v, 0, off);
        {
            /* An object where a value was expected: no ignore_malformed for this. */
            buf loc = { 0 };
            location(c, off, &loc);
            unsigned line = 1, col = 1;
            if (loc.p) sscanf(loc.p, "[%u:%u]", &line, &col);
            es_err_set(c->err, ES_ILLEGAL_STATE, "Can't get text on a START_OBJECT at %u:%u", line, col);
            buf_free(&loc);
            return field_error(c, f, v);
        }
    default:
        return index_leaf_value(c, f, v, 0, off);
    }
}

/* Handles one key/value of an object, expanding dotted keys into objects. */
static int parse_member(dctx *c, mfield *obj, const mfield **chain, size_t depth, const char *key, size_t klen,
                        const json_val *v)
{
    if (klen == 0) {
        buf loc = { 0 };
        location(c, value_offset(c, v), &loc);
        es_err_set(c->err, ES_DOCUMENT_PARSING, "%sfield name cannot be an empty string", loc.p ? loc.p : "");
        buf_free(&loc);
        return -1;
    }
    const char *dot = memchr(key, '.', klen);
    char *name = xstrndup(key, dot ? (size_t)(dot - key) : klen);
    int rc = 0;
    if (dot) {
        if (!*name || dot + 1 == key + klen) {
            buf loc = { 0 };
            location(c, value_offset(c, v), &loc);
            es_err_set(c->err, ES_DOCUMENT_PARSING, "%sfield name cannot contain only dots", loc.p ? loc.p : "");
            buf_free(&loc);
            free(name);
            return -1;
        }
        /* "a.b": x is {"a": {"b": x}} */
        mfield *child = mfield_child(obj, name, false);
        if (child && !field_type_is_object(child->type)) {
            /* a leaf "a" with a dotted key below it: the rest is its multi-field? ES: object expected. */
            buf loc = { 0 };
            location(c, value_offset(c, v), &loc);
            es_err_set(c->err, ES_DOCUMENT_PARSING,
                       "%sCould not dynamically add mapping for field [%.*s]. Existing mapping for [%s] must be of type object but found [%s].",
                       loc.p ? loc.p : "", (int)klen, key, child->path, field_type_name(child->type));
            buf_free(&loc);
            free(name);
            return -1;
        }
        if (!child) {
            /* An object to add dynamically: decide with an empty object as the value. */
            dynamic_mode dm = effective_dynamic(chain, depth);
            if (dm == DYNAMIC_STRICT) {
                buf loc = { 0 };
                location(c, value_offset(c, v), &loc);
                es_err_set(c->err, ES_STRICT_DYNAMIC_MAPPING,
                           "%smapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", loc.p ? loc.p : "",
                           name, obj->path[0] ? obj->path : "_doc");
                buf_free(&loc);
                free(name);
                return -1;
            }
            if (dm != DYNAMIC_TRUE) {
                free(name);
                return 0;
            }
            if (!c->mutable_) {
                c->need_dynamic = true;
                free(name);
                return 0;
            }
            if ((int64_t)depth + 1 > c->lim.depth) {
                generic_error(c, v, "Limit of mapping depth [%lld] has been exceeded due to object field [%s%s%s]",
                              (long long)c->lim.depth, obj->path, obj->path[0] ? "." : "", name);
                free(name);
                return -1;
            }
            if ((int64_t)(c->base_total + c->added + 1) > c->lim.total_fields) {
                generic_error(c, v, "Limit of total fields [%lld] has been exceeded while adding new fields [%zu]",
                              (long long)c->lim.total_fields, c->added + 1);
                free(name);
                return -1;
            }
            child = mfield_new(name, obj->path, FT_OBJECT);
            mfield_decode(child);
            mfield_put_child(obj, child, false);
            c->added++;
        }
        if (depth + 1 >= MAX_CHAIN) {
            free(name);
            return generic_error(c, v, "document too deep");
        }
        chain[depth] = child;
        rc = child->enabled ? parse_member(c, child, chain, depth + 1, dot + 1, klen - (size_t)(dot + 1 - key), v) : 0;
        free(name);
        return rc;
    }
    mfield *f = mfield_child(obj, name, false);
    if (!f) {
        rc = dynamic_field(c, obj, chain, depth, name, v, &f);
        if (rc <= 0) {
            free(name);
            return rc;
        }
    }
    free(name);
    return parse_field_value(c, f, chain, depth, v);
}

static int parse_object(dctx *c, mfield *obj, const mfield **chain, size_t depth, const json_val *v)
{
    json_iter it = json_iter_begin(v);
    const json_val *e;
    const char *k;
    size_t kl;
    while ((e = json_iter_next(&it, &k, &kl)))
        if (parse_member(c, obj, chain, depth, k, kl, e) < 0) return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* copy_to */

static int copy_to_targets(dctx *c, const mfield *f, const json_val *v, size_t src_off)
{
    for (size_t i = 0; i < f->n_copy_to; i++) {
        const char *target = f->copy_to[i];
        mfield *t = (mfield *)mapping_field(c->m, target);
        if (!t) {
            /* The target is added dynamically, under the root's rules, as if the value were there. */
            mfield *obj = c->m->root;
            const mfield *chain[MAX_CHAIN];
            size_t depth = 0;
            chain[depth++] = obj;
            const char *p = target;
            const char *dot;
            bool skip = false;
            while ((dot = strchr(p, '.'))) {
                char *seg = xstrndup(p, (size_t)(dot - p));
                mfield *child = mfield_child(obj, seg, false);
                if (!child) {
                    dynamic_mode dm = effective_dynamic(chain, depth);
                    if (dm == DYNAMIC_STRICT) {
                        es_err_set(c->err, ES_STRICT_DYNAMIC_MAPPING,
                                   "mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", seg,
                                   obj->path[0] ? obj->path : "_doc");
                        free(seg);
                        return -1;
                    }
                    if (dm != DYNAMIC_TRUE) skip = true;
                    else if (!c->mutable_) {
                        c->need_dynamic = true;
                        skip = true;
                    } else {
                        child = mfield_new(seg, obj->path, FT_OBJECT);
                        mfield_decode(child);
                        mfield_put_child(obj, child, false);
                        c->added++;
                    }
                }
                free(seg);
                if (skip) break;
                if (!field_type_is_object(child->type)) {
                    skip = true;
                    break;
                }
                obj = child;
                if (depth < MAX_CHAIN) chain[depth++] = obj;
                p = dot + 1;
            }
            if (skip) continue;
            mfield *nf = NULL;
            int rc = dynamic_field(c, obj, chain, depth, p, v, &nf);
            if (rc < 0) return -1;
            if (rc == 0) continue;
            t = nf;
        }
        if (field_type_is_object(t->type)) {
            es_err_set(c->err, ES_DOCUMENT_PARSING, "Cannot copy to a field [%s] which is an object", target);
            return -1;
        }
        if (json_type_of(v) == JSON_OBJECT && t->type != FT_GEO_POINT) continue;
        if (index_leaf_value(c, t, v, IFV_FROM_COPY_TO, src_off) < 0) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Entry */

/* The fields of work that base lacks, as a partial mapping. */
static void diff_tree(const mfield *base, const mfield *work, mfield *upd)
{
    for (size_t i = 0; i < work->n_props; i++) {
        const mfield *w = work->props[i];
        const mfield *b = base ? mfield_child(base, w->name, false) : NULL;
        if (!b) {
            mfield_put_child(upd, mfield_clone(w), false);
            continue;
        }
        if (field_type_is_object(w->type) && field_type_is_object(b->type)) {
            mfield *shell = mfield_child(upd, w->name, false);
            size_t before = shell ? shell->n_props : 0;
            mfield *tmp = shell;
            if (!tmp) {
                tmp = mfield_new(w->name, upd->path, w->type);
                tmp->enabled = w->enabled;
                mfield_decode(tmp);
            }
            diff_tree(b, w, tmp);
            if (!shell) {
                if (tmp->n_props > before) mfield_put_child(upd, tmp, false);
                else mfield_free(tmp);
            }
        }
    }
}

void parsed_doc_free(parsed_doc *d)
{
    if (!d) return;
    arena_free(&d->mem);
    free(d->values);
    free(d->ignored);
    mapping_unref(d->dynamic_update);
    mapping_unref(d->new_mapping);
    mapping_unref(d->held);
    memset(d, 0, sizeof *d);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static int walk(dctx *c, const json_val *source)
{
    const mfield *chain[MAX_CHAIN];
    chain[0] = c->m->root;
    if (json_type_of(source) != JSON_OBJECT) {
        es_err_set(c->err, ES_DOCUMENT_PARSING, "failed to parse, document is empty");
        return -1;
    }
    if (!c->m->root->enabled) return 0;
    return parse_object(c, c->m->root, chain, 1, source);
}

int mapping_parse_document(const mapping *m, const json_val *source, const doc_parse_opts *opts, parsed_doc *out, es_err *err)
{
    dctx c = { 0 };
    c.m = (mapping *)m;
    c.out = out;
    c.o = opts;
    c.err = err;
    if (opts && opts->limits) c.lim = *opts->limits;
    else mapping_limits_default(&c.lim);
    c.base_total = mapping_total_fields(m);
    if (opts && opts->doc) {
        size_t len;
        c.raw_root = json_raw(opts->doc, json_doc_root(opts->doc), &len);
        if (opts->src) {
            size_t i = 0;
            while (i < opts->src_len && (opts->src[i] == ' ' || opts->src[i] == '\t' || opts->src[i] == '\n' || opts->src[i] == '\r'))
                i++;
            c.lead_ws = i;
        }
    }
    int rc = walk(&c, source);
    if (rc == 0 && c.need_dynamic) {
        /* Pass 2 on a private copy that grows. */
        arena_free(&out->mem);
        out->n_values = 0;
        out->n_ignored = 0;
        c.n_slots = 0;
        c.need_dynamic = false;
        mapping *work = mapping_clone(m);
        c.m = work;
        c.mutable_ = true;
        rc = walk(&c, source);
        if (rc == 0 && c.added) {
            work->empty = false;
            work->version = m->version + 1;
            mapping *upd = mapping_alloc();
            upd->empty = false;
            diff_tree(m->root, work->root, upd->root);
            mapping_finish(upd);
            out->dynamic_update = upd;
            out->new_mapping = work;
        } else {
            out->held = work; /* the values point into it */
        }
    }
    free(c.slots);
    if (rc == 0 && out->n_ignored > 1) qsort(out->ignored, out->n_ignored, sizeof *out->ignored, cmp_str);
    return rc;
}
