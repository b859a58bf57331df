/*
 * http_filter.c — the `filter_path` response parameter, as Elasticsearch
 * applies it.
 *
 * A filter is a dot-separated path of field-name patterns (`*` matches within
 * a name, `**` any number of levels); a leading `-` makes it an exclusion.
 * Arrays are transparent: a path continues into each element. Objects and
 * arrays left empty by filtering disappear. When both kinds are given, the
 * exclusions win over the inclusions.
 */
#include "http/http_int.h"

#include <string.h>

#define MAX_FILTERS 64

typedef struct filter {
    char **segs;
    size_t nsegs;
} filter;

typedef struct filter_set {
    filter f[MAX_FILTERS];
    size_t n;
} filter_set;

/* A position inside one filter: the filter and how many segments are matched. */
typedef struct fpos {
    uint16_t filter;
    uint16_t seg;
} fpos;

typedef struct fstate {
    fpos *pos;
    size_t n;
} fstate;

static bool glob_match(const char *pat, const char *s, size_t slen)
{
    /* '*' matches any run of characters; everything else literally. */
    const char *star = NULL, *star_s = NULL;
    const char *end = s + slen;
    while (s < end) {
        if (*pat == '*') {
            star = pat++;
            star_s = s;
        } else if (*pat && *pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (*pat == '*') pat++;
    return *pat == 0;
}

static void parse_filters(const char *spec, bool exclude, filter_set *fs, arena *a)
{
    const char *p = spec;
    while (*p && fs->n < MAX_FILTERS) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && *p == ' ') p++, n--;
        while (n && p[n - 1] == ' ') n--;
        bool is_excl = n && *p == '-';
        if (n && is_excl == exclude) {
            const char *q = p + is_excl;
            size_t qn = n - is_excl;
            filter *f = &fs->f[fs->n];
            f->nsegs = 1;
            for (size_t i = 0; i < qn; i++)
                if (q[i] == '.' && !(i > 0 && q[i - 1] == '\\')) f->nsegs++;
            f->segs = arena_alloc(a, f->nsegs * sizeof(char *));
            size_t si = 0;
            buf seg = { 0 };
            for (size_t i = 0; i <= qn; i++) {
                if (i == qn || (q[i] == '.' && !(i > 0 && q[i - 1] == '\\'))) {
                    f->segs[si++] = arena_strndup(a, seg.p ? seg.p : "", seg.len);
                    buf_reset(&seg);
                } else if (q[i] == '\\' && i + 1 < qn && q[i + 1] == '.') {
                    continue;
                } else {
                    buf_putc(&seg, q[i]);
                }
            }
            buf_free(&seg);
            if (qn) fs->n++;
        }
        if (!end) break;
        p = end + 1;
    }
}

/* Advances every position over field `key`; sets *full when a filter is complete. */
static void step(const filter_set *fs, const fstate *in, const char *key, size_t klen, fstate *out,
                 bool *full)
{
    *full = false;
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        const filter *f = &fs->f[in->pos[i].filter];
        size_t s = in->pos[i].seg;
        if (s >= f->nsegs) continue;
        if (strcmp(f->segs[s], "**") == 0) {
            /* `**` may swallow this key and stay, or match nothing and let the next segment try. */
            out->pos[out->n++] = (fpos){ in->pos[i].filter, s };
            if (s + 1 >= f->nsegs) {
                *full = true;
            } else if (glob_match(f->segs[s + 1], key, klen)) {
                if (s + 2 >= f->nsegs) *full = true;
                else out->pos[out->n++] = (fpos){ in->pos[i].filter, (uint16_t)(s + 2) };
            }
        } else if (glob_match(f->segs[s], key, klen)) {
            if (s + 1 >= f->nsegs) *full = true;
            else out->pos[out->n++] = (fpos){ in->pos[i].filter, (uint16_t)(s + 1) };
        }
    }
}

typedef struct fctx {
    const filter_set *inc, *exc;
    arena *a;
    buf *out;
} fctx;

static void write_value(fctx *c, const json_val *v)
{
    json_w w;
    jw_init(&w, c->out, false);
    jw_val(&w, v);
}

/*
 * Writes v filtered. inc == NULL means "included already" (an inclusion was
 * complete above). Returns whether anything was written.
 */
static bool filter_value(fctx *c, const json_val *v, const fstate *inc, const fstate *exc);

static bool filter_container(fctx *c, const json_val *v, const fstate *inc, const fstate *exc)
{
    bool obj = json_type_of(v) == JSON_OBJECT;
    size_t start = c->out->len;
    buf_putc(c->out, obj ? '{' : '[');
    bool any = false;
    size_t cap_inc = inc ? inc->n * 2 + 1 : 0, cap_exc = exc->n * 2 + 1;
    json_iter it = json_iter_begin(v);
    const json_val *child;
    const char *key;
    size_t klen;
    while ((child = json_iter_next(&it, &key, &klen))) {
        size_t mark = c->out->len;
        if (any) buf_putc(c->out, ',');
        bool wrote;
        if (obj) {
            fstate ninc = { NULL, 0 }, nexc = { arena_alloc(c->a, cap_exc * sizeof(fpos)), 0 };
            bool inc_full = false, exc_full = false;
            step(c->exc, exc, key, klen, &nexc, &exc_full);
            if (exc_full) {
                c->out->len = mark;
                continue;
            }
            const fstate *child_inc = NULL;
            if (inc) {
                ninc.pos = arena_alloc(c->a, cap_inc * sizeof(fpos));
                step(c->inc, inc, key, klen, &ninc, &inc_full);
                if (!inc_full && ninc.n == 0) {
                    c->out->len = mark;
                    continue;
                }
                child_inc = inc_full ? NULL : &ninc;
            }
            json_escape(c->out, key, klen);
            buf_putc(c->out, ':');
            wrote = filter_value(c, child, child_inc, &nexc);
        } else {
            wrote = filter_value(c, child, inc, exc);
        }
        if (wrote) any = true;
        else c->out->len = mark;
    }
    if (!any && (inc || exc->n)) {
        /* Filtering left the container empty: it disappears. */
        c->out->len = start;
        c->out->p[start] = 0;
        return false;
    }
    buf_putc(c->out, obj ? '}' : ']');
    return true;
}

static bool filter_value(fctx *c, const json_val *v, const fstate *inc, const fstate *exc)
{
    json_type t = json_type_of(v);
    if (!inc && exc->n == 0) {
        write_value(c, v);
        return true;
    }
    if (t == JSON_OBJECT || t == JSON_ARRAY) return filter_container(c, v, inc, exc);
    /* A scalar below unfinished inclusions is not included. */
    if (inc) return false;
    write_value(c, v);
    return true;
}

bool http_filter_path(const char *json, size_t len, const char *filter_path, buf *out)
{
    json_doc *doc = json_parse(json, len, NULL, NULL);
    if (!doc) return false;
    arena a = { 0 };
    filter_set *inc = arena_alloc(&a, sizeof *inc), *exc = arena_alloc(&a, sizeof *exc);
    inc->n = exc->n = 0;
    parse_filters(filter_path, false, inc, &a);
    parse_filters(filter_path, true, exc, &a);
    fstate sinc = { arena_alloc(&a, (inc->n + 1) * sizeof(fpos)), inc->n };
    fstate sexc = { arena_alloc(&a, (exc->n + 1) * sizeof(fpos)), exc->n };
    for (size_t i = 0; i < inc->n; i++) sinc.pos[i] = (fpos){ (uint16_t)i, 0 };
    for (size_t i = 0; i < exc->n; i++) sexc.pos[i] = (fpos){ (uint16_t)i, 0 };
    fctx c = { inc, exc, &a, out };
    if (!filter_value(&c, json_doc_root(doc), inc->n ? &sinc : NULL, &sexc)) buf_puts(out, "{}");
    arena_free(&a);
    json_doc_free(doc);
    return true;
}
