/*
 * merge.c — PUT /{index}/_mapping and dynamic updates: merging an incoming
 * mapping into an existing one, copy-on-write, with Elasticsearch's
 * conflict rules and texts.
 */
#include "index/index_int.h"

#include <stdlib.h>
#include <string.h>

/* How a parameter's value reads in a conflict message: strings unquoted. */
static void display_value(const param_def *d, const char *json, field_type t, buf *out)
{
    if (!json) {
        if (strcmp(d->name, "norms") == 0) json = t == FT_TEXT ? "true" : "false";
        else if (strcmp(d->name, "format") == 0)
            json = t == FT_DATE ? "\"" DATE_FORMAT_DEFAULT "\"" : "\"strict_date_optional_time_nanos||epoch_millis\"";
        else if (strcmp(d->name, "index_options") == 0) json = t == FT_TEXT ? "\"positions\"" : "\"docs\"";
        else if (d->dflt_display) {
            buf_puts(out, d->dflt_display);
            return;
        } else if (d->dflt) json = d->dflt;
        else {
            buf_puts(out, "null");
            return;
        }
    }
    json_doc *doc = json_parse(json, strlen(json), NULL, NULL);
    if (!doc) {
        buf_puts(out, json);
        return;
    }
    json_java_string(json_doc_root(doc), out);
    json_doc_free(doc);
}

/* The effective value of a parameter as compact JSON (explicit or default); NULL if neither. */
static const char *effective(const mfield *f, const param_def *d)
{
    for (size_t i = 0; i < f->n_params; i++)
        if (f->params[i].def == d) return f->params[i].json;
    if (strcmp(d->name, "norms") == 0) return f->type == FT_TEXT ? "true" : "false";
    if (strcmp(d->name, "format") == 0)
        return f->type == FT_DATE ? "\"" DATE_FORMAT_DEFAULT "\"" : "\"strict_date_optional_time_nanos||epoch_millis\"";
    if (strcmp(d->name, "index_options") == 0) return f->type == FT_TEXT ? "\"positions\"" : "\"docs\"";
    if (strcmp(d->name, "doc_values") == 0 && f->type == FT_BINARY) return "false";
    return d->dflt;
}

static bool same(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static int merge_field(mfield *base, const mfield *in, es_err *err);

static int merge_leaf(mfield *base, const mfield *in, es_err *err)
{
    if (base->type != in->type)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "mapper [%s] cannot be changed from type [%s] to [%s]", base->path,
                          field_type_name(base->type), field_type_name(in->type));
    size_t nd;
    const param_def *defs = param_defs(&nd);
    buf conflicts = { 0 };
    /* First pass: find conflicts without changing anything. */
    for (size_t i = 0; i < nd; i++) {
        const param_def *d = &defs[i];
        if (!(d->types & (1ULL << base->type))) continue;
        const char *a = effective(base, d), *b = effective(in, d);
        if (same(a, b)) continue;
        bool ok = d->updatable;
        if (strcmp(d->name, "norms") == 0) ok = same(b, "false"); /* norms may only be disabled */
        if (ok) continue;
        if (conflicts.len) buf_puts(&conflicts, "\n\t");
        buf_printf(&conflicts, "Cannot update parameter [%s] from [", d->name);
        display_value(d, mfield_param(base, d->name) ? a : NULL, base->type, &conflicts);
        buf_puts(&conflicts, "] to [");
        display_value(d, mfield_param(in, d->name) ? b : NULL, base->type, &conflicts);
        buf_puts(&conflicts, "]");
    }
    if (conflicts.len) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "Mapper for [%s] conflicts with existing mapper:\n\t%s", base->path, conflicts.p);
        buf_free(&conflicts);
        return -1;
    }
    /* Then take the incoming parameters (absent ones go back to their defaults). */
    for (size_t i = 0; i < nd; i++) {
        const param_def *d = &defs[i];
        if (!(d->types & (1ULL << base->type))) continue;
        const mparam *ip = mfield_param(in, d->name);
        mfield_set_param(base, d, ip ? ip->json : NULL);
    }
    for (size_t i = 0; i < base->n_copy_to; i++) free(base->copy_to[i]);
    free(base->copy_to);
    base->copy_to = NULL;
    base->n_copy_to = 0;
    if (in->n_copy_to) {
        base->copy_to = xmalloc(in->n_copy_to * sizeof *base->copy_to);
        for (size_t i = 0; i < in->n_copy_to; i++) base->copy_to[i] = xstrdup(in->copy_to[i]);
        base->n_copy_to = in->n_copy_to;
    }
    /* Multi-fields: added, or merged when present on both sides. */
    for (size_t i = 0; i < in->n_fields; i++) {
        mfield *cur = mfield_child(base, in->fields[i]->name, true);
        if (!cur) {
            mfield_put_child(base, mfield_clone(in->fields[i]), true);
            continue;
        }
        if (merge_field(cur, in->fields[i], err) < 0) return -1;
    }
    mfield_decode(base);
    return 0;
}

static int merge_object(mfield *base, const mfield *in, es_err *err)
{
    if (!field_type_is_object(in->type))
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "can't merge a non object mapping [%s] with an object mapping", in->path);
    if (in->type == FT_NESTED && base->type != FT_NESTED)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "can't merge a nested mapping [%s] with a non-nested mapping", in->path);
    if (base->type == FT_NESTED && in->type != FT_NESTED)
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "can't merge a non nested mapping [%s] with a nested mapping", in->path);
    if (base->enabled != in->enabled && base->path[0])
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "the [enabled] parameter can't be updated for the object mapping [%s]",
                          base->path);
    if (in->dynamic != DYNAMIC_INHERIT) base->dynamic = in->dynamic;
    for (size_t i = 0; i < in->n_props; i++) {
        mfield *cur = mfield_child(base, in->props[i]->name, false);
        if (!cur) {
            mfield_put_child(base, mfield_clone(in->props[i]), false);
            continue;
        }
        if (merge_field(cur, in->props[i], err) < 0) return -1;
    }
    return 0;
}

static int merge_field(mfield *base, const mfield *in, es_err *err)
{
    if (field_type_is_object(base->type)) return merge_object(base, in, err);
    if (field_type_is_object(in->type))
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "mapper [%s] cannot be changed from type [%s] to [%s]", base->path,
                          field_type_name(base->type), field_type_name(in->type));
    return merge_leaf(base, in, err);
}

static char **dup_list(char *const *v, size_t n)
{
    char **r = xcalloc(n ? n : 1, sizeof *r);
    for (size_t i = 0; i < n; i++) r[i] = xstrdup(v[i]);
    return r;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static bool lists_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return false;
    return true;
}

static void list_display(char *const *v, size_t n, buf *out)
{
    buf_putc(out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) buf_puts(out, ", ");
        buf_puts(out, v[i]);
    }
    buf_putc(out, ']');
}

static int merge_root(mapping *m, const mapping *in, es_err *err)
{
    /* _source: nothing in it is updatable (ES 8). */
    buf conflicts = { 0 };
    if (in->source_enabled >= 0 || in->source_mode || in->source_includes_set || in->source_excludes_set) {
        int be = m->source_enabled != 0, ie = in->source_enabled != 0;
        if (be != ie)
            buf_printf(&conflicts, "%sCannot update parameter [enabled] from [%s] to [%s]", conflicts.len ? "\n\t" : "",
                       be ? "true" : "false", ie ? "true" : "false");
        const char *bm = m->source_mode ? m->source_mode : "stored", *im = in->source_mode ? in->source_mode : "stored";
        /* stored -> synthetic is allowed (the YAML tests enable synthetic source on a live index) */
        if (strcmp(bm, im) != 0 && !(strcmp(bm, "stored") == 0 && strcmp(im, "synthetic") == 0))
            buf_printf(&conflicts, "%sCannot update parameter [mode] from [%s] to [%s]", conflicts.len ? "\n\t" : "", bm, im);
        if (!lists_equal(m->source_includes, m->n_source_includes, in->source_includes, in->n_source_includes)) {
            buf_printf(&conflicts, "%sCannot update parameter [includes] from ", conflicts.len ? "\n\t" : "");
            list_display(m->source_includes, m->n_source_includes, &conflicts);
            buf_puts(&conflicts, " to ");
            list_display(in->source_includes, in->n_source_includes, &conflicts);
        }
        if (!lists_equal(m->source_excludes, m->n_source_excludes, in->source_excludes, in->n_source_excludes)) {
            buf_printf(&conflicts, "%sCannot update parameter [excludes] from ", conflicts.len ? "\n\t" : "");
            list_display(m->source_excludes, m->n_source_excludes, &conflicts);
            buf_puts(&conflicts, " to ");
            list_display(in->source_excludes, in->n_source_excludes, &conflicts);
        }
        if (conflicts.len) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Mapper for [_source] conflicts with existing mapper:\n\t%s", conflicts.p);
            buf_free(&conflicts);
            return -1;
        }
        if (in->source_mode) {
            free(m->source_mode);
            m->source_mode = xstrdup(in->source_mode);
        }
    }
    if (in->routing_required >= 0) {
        int b = m->routing_required == 1, i = in->routing_required == 1;
        if (b != i)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "Mapper for [_routing] conflicts with existing mapper:\n\tCannot update parameter [required] from [%s] to [%s]",
                              b ? "true" : "false", i ? "true" : "false");
        m->routing_required = in->routing_required;
    }
    if (in->meta_json) {
        free(m->meta_json);
        m->meta_json = xstrdup(in->meta_json);
    }
    if (in->date_detection >= 0) m->date_detection = in->date_detection;
    if (in->numeric_detection >= 0) m->numeric_detection = in->numeric_detection;
    if (in->dynamic_date_formats) {
        free_list(m->dynamic_date_formats, m->n_dynamic_date_formats);
        m->dynamic_date_formats = dup_list(in->dynamic_date_formats, in->n_dynamic_date_formats);
        m->n_dynamic_date_formats = in->n_dynamic_date_formats;
    }
    if (in->templates_set) {
        /* Templates with a known name are replaced in place; new ones are appended. */
        for (size_t i = 0; i < in->n_templates; i++) {
            const dyn_template *t = &in->templates[i];
            size_t j;
            for (j = 0; j < m->n_templates; j++)
                if (strcmp(m->templates[j].name, t->name) == 0) break;
            dyn_template copy = *t;
            copy.name = xstrdup(t->name);
            copy.match = t->n_match ? dup_list(t->match, t->n_match) : NULL;
            copy.unmatch = t->n_unmatch ? dup_list(t->unmatch, t->n_unmatch) : NULL;
            copy.path_match = t->n_path_match ? dup_list(t->path_match, t->n_path_match) : NULL;
            copy.path_unmatch = t->n_path_unmatch ? dup_list(t->path_unmatch, t->n_path_unmatch) : NULL;
            copy.match_mapping_type = t->n_match_mapping_type ? dup_list(t->match_mapping_type, t->n_match_mapping_type) : NULL;
            copy.mapping_json = xstrdup(t->mapping_json);
            if (j < m->n_templates) {
                dyn_template *old = &m->templates[j];
                free(old->name);
                free_list(old->match, old->n_match);
                free_list(old->unmatch, old->n_unmatch);
                free_list(old->path_match, old->n_path_match);
                free_list(old->path_unmatch, old->n_path_unmatch);
                free_list(old->match_mapping_type, old->n_match_mapping_type);
                free(old->mapping_json);
                *old = copy;
            } else {
                m->templates = xrealloc(m->templates, (m->n_templates + 1) * sizeof *m->templates);
                m->templates[m->n_templates++] = copy;
            }
        }
        m->templates_set = true;
    }
    return merge_object(m->root, in->root, err);
}

int mapping_merge(const mapping *base, const mapping *incoming, const mapping_limits *limits, mapping **out, es_err *err)
{
    *out = NULL;
    mapping *m = mapping_clone(base);
    if (merge_root(m, incoming, err) < 0) {
        mapping_unref(m);
        return -1;
    }
    if (!incoming->empty) m->empty = false;
    mapping_finish(m);
    if (mapping_check_limits(m, limits, err) < 0) {
        mapping_unref(m);
        return -1;
    }
    char *a = mapping_to_json(base), *b = mapping_to_json(m);
    bool changed = strcmp(a, b) != 0 || base->empty != m->empty;
    free(a);
    free(b);
    if (!changed) {
        mapping_unref(m);
        *out = mapping_ref((mapping *)base);
        return 0;
    }
    m->version = base->version + 1;
    *out = m;
    return 0;
}
