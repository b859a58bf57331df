/*
 * rest_cat.c — the _cat family as Elasticsearch 8 prints it:
 *
 *   GET /_cat, /_cat/indices[/{index}], /_cat/count[/{index}], /_cat/health,
 *   /_cat/aliases[/{name}]
 *
 * One small table engine renders every answer the way Elasticsearch's RestTable
 * does: columns chosen with `h` (names, aliases, wildcards), `v` header row,
 * `s` sort keys (`:asc` / `:desc`), `bytes` units, `help`, `format=json` (every
 * value a string), and columns aligned with spaces (numbers to the right).
 */
#include "rest/rest_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* The table */

enum { COL_RIGHT = 1, COL_HIDDEN = 2 };

typedef struct cat_col {
    const char *name;
    const char *alias;   /* comma-separated aliases, or NULL */
    const char *desc;
    unsigned flags;      /* COL_RIGHT: text-align right; COL_HIDDEN: default:false */
    const char *sibling; /* "pri" when the column has a pri.<name> sibling */
} cat_col;

typedef enum { CV_NULL = 0, CV_STR, CV_INT, CV_BYTES } cv_kind;

typedef struct cat_val {
    cv_kind kind;
    char *s;      /* CV_STR: heap */
    int64_t i;    /* CV_INT, CV_BYTES */
} cat_val;

typedef struct cat_table {
    const cat_col *cols;
    size_t ncols;
    cat_val *cells;  /* nrows * ncols */
    size_t nrows;
    size_t cap;
} cat_table;

static void table_init(cat_table *t, const cat_col *cols, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->cols = cols;
    t->ncols = ncols;
}

static void table_free(cat_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i].s);
    free(t->cells);
}

static void row_begin(cat_table *t)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
    }
    memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof *t->cells);
    t->nrows++;
}

static cat_val *cell(cat_table *t, size_t col) { return &t->cells[(t->nrows - 1) * t->ncols + col]; }

static void set_str(cat_table *t, size_t col, const char *s)
{
    cat_val *c = cell(t, col);
    free(c->s);
    c->s = s ? xstrdup(s) : NULL;
    c->kind = s ? CV_STR : CV_NULL;
}

static void set_int(cat_table *t, size_t col, int64_t v)
{
    cat_val *c = cell(t, col);
    c->kind = CV_INT;
    c->i = v;
}

static void set_bytes(cat_table *t, size_t col, int64_t v)
{
    cat_val *c = cell(t, col);
    c->kind = CV_BYTES;
    c->i = v;
}

/* ByteSizeValue.toString: the largest unit that fits, one decimal (truncated), ".0" dropped. */
static void byte_size_string(int64_t bytes, char *out, size_t n)
{
    static const char *const suf[] = { "b", "kb", "mb", "gb", "tb", "pb" };
    int u = 0;
    int64_t scale = 1;
    while (u < 5 && bytes >= scale * 1024) {
        scale *= 1024;
        u++;
    }
    char d[40];
    json_fmt_double((double)bytes / (double)scale, d);
    char exp[16] = "";
    char *e = strchr(d, 'E');
    if (e) {
        snprintf(exp, sizeof exp, "%s", e);
        *e = 0;
    }
    char *dot = strchr(d, '.');
    if (dot) {
        if (dot[1] == '0' || !dot[1]) *dot = 0;
        else dot[2] = 0;
    }
    snprintf(out, n, "%s%s%s", d, exp, suf[u]);
}

/* Renders a value as RestTable.renderValue does; NULL for a null cell. out needs 64 bytes. */
static const char *render(const cat_val *v, const char *bytes_unit, char *out)
{
    switch (v->kind) {
    case CV_NULL: return NULL;
    case CV_STR: return v->s;
    case CV_INT:
        snprintf(out, 64, "%lld", (long long)v->i);
        return out;
    case CV_BYTES: {
        static const struct { const char *u1, *u2; int shift; } units[] = {
            { "b", NULL, 0 }, { "k", "kb", 10 }, { "m", "mb", 20 }, { "g", "gb", 30 }, { "t", "tb", 40 }, { "p", "pb", 50 },
        };
        if (bytes_unit)
            for (size_t i = 0; i < ARRAY_LEN(units); i++)
                if (!strcmp(bytes_unit, units[i].u1) || (units[i].u2 && !strcmp(bytes_unit, units[i].u2))) {
                    snprintf(out, 64, "%lld", (long long)(v->i >> units[i].shift));
                    return out;
                }
        byte_size_string(v->i, out, 64);
        return out;
    }
    }
    return NULL;
}

/* Java's String.length(): UTF-16 code units of UTF-8 text. */
static int utf16_len(const char *s)
{
    if (!s) return 0;
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80) continue;
        n += *p >= 0xF0 ? 2 : 1;
    }
    return n;
}

/* RestTable.pad: the leftover is a Java byte, so it wraps above 127 (no padding then). */
static void pad(buf *out, const char *s, int width, bool right, bool last)
{
    int8_t left = (int8_t)(width - utf16_len(s));
    if (left > 0 && right) {
        for (int i = 0; i < left; i++) buf_putc(out, ' ');
        if (s) buf_puts(out, s);
    } else {
        if (s) buf_puts(out, s);
        if (!last)
            for (int i = 0; i < left; i++) buf_putc(out, ' ');
    }
}

typedef struct disp {
    size_t col;
    char display[192];
} disp;

static disp mkdisp(size_t col, const char *display)
{
    disp d = { col, "" };
    snprintf(d.display, sizeof d.display, "%s", display);
    return d;
}

static bool is_ts_col(const char *name) { return !strcmp(name, "epoch") || !strcmp(name, "timestamp"); }

static bool alias_list_has(const char *list, const char *name, bool wildcard)
{
    if (!list) return false;
    char *copy = xstrdup(list);
    bool hit = false;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && !hit; tok = strtok_r(NULL, ",", &save))
        hit = wildcard ? indices_simple_match(name, tok) : !strcmp(tok, name);
    free(copy);
    return hit;
}

/* Whether name is one of the comma-separated aliases of a column. */
static bool alias_match(const char *list, const char *name)
{
    return alias_list_has(list, name, false);
}

/* RestTable.buildDisplayHeaders. Returns the number of display columns in *out (heap). */
static size_t display_headers(http_req *req, const cat_table *t, disp **out, bool ts, es_err *err)
{
    size_t n = 0;
    disp *d = xcalloc(t->ncols * 2 + 1, sizeof *d);
    const char *h = http_param(req, "h");
    if (!h) {
        for (size_t c = 0; c < t->ncols; c++)
            if (!(t->cols[c].flags & COL_HIDDEN) && (ts || !is_ts_col(t->cols[c].name)))
                d[n++] = mkdisp(c, t->cols[c].name);
        *out = d;
        return n;
    }
    /* expandHeadersFromRequest: wildcards expand to column names (deduplicated, in order). */
    char **want = NULL;
    size_t nwant = 0;
    char *copy = xstrdup(h);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strchr(tok, '*')) {
            for (size_t c = 0; c < t->ncols; c++) {
                if (!indices_simple_match(tok, t->cols[c].name) && !alias_list_has(t->cols[c].alias, tok, true))
                    continue;
                bool dup = false;
                for (size_t k = 0; k < nwant && !dup; k++) dup = !strcmp(want[k], t->cols[c].name);
                if (!dup) {
                    want = xrealloc(want, (nwant + 1) * sizeof *want);
                    want[nwant++] = (char *)t->cols[c].name;
                }
            }
        } else {
            bool dup = false;
            for (size_t k = 0; k < nwant && !dup; k++) dup = !strcmp(want[k], tok);
            if (!dup) {
                want = xrealloc(want, (nwant + 1) * sizeof *want);
                want[nwant++] = tok;
            }
        }
    }
    bool pri = false;
    bool pri_checked = false;
    for (size_t k = 0; k < nwant; k++) {
        const char *poss = want[k];
        long found = -1;
        for (size_t c = 0; c < t->ncols; c++)
            if (!strcmp(t->cols[c].name, poss)) found = (long)c;
        if (found < 0) {
            /* Every column's aliases are tried; the last match wins, as in Elasticsearch. */
            for (size_t c = 0; c < t->ncols; c++)
                if (alias_match(t->cols[c].alias, poss)) found = (long)c;
        }
        if (found < 0) continue;
        if (!ts && is_ts_col(t->cols[found].name)) continue;
        d[n++] = mkdisp((size_t)found, poss);
        if (t->cols[found].sibling) {
            if (!pri_checked) {
                pri = http_param_bool(req, "pri", false, err);
                pri_checked = true;
            }
            if (pri) {
                char sib[128];
                snprintf(sib, sizeof sib, "%s.%s", t->cols[found].sibling, t->cols[found].name);
                for (size_t c = 0; c < t->ncols; c++)
                    if (!strcmp(t->cols[c].name, sib)) {
                        char shown[160];
                        snprintf(shown, sizeof shown, "%.16s.%.120s", t->cols[found].sibling, d[n - 1].display);
                        d[n++] = mkdisp(c, shown);
                    }
            }
        }
    }
    free(want);
    free(copy);
    *out = d;
    return n;
}

typedef struct sort_key {
    size_t col;
    bool desc;
} sort_key;

typedef struct sort_ctx {
    const cat_table *t;
    const sort_key *keys;
    size_t nkeys;
} sort_ctx;

static int compare_cells(const cat_val *a, const cat_val *b)
{
    if (a->kind == CV_NULL && b->kind == CV_NULL) return 0;
    if (a->kind == CV_NULL) return -1;
    if (b->kind == CV_NULL) return 1;
    if (a->kind == b->kind) {
        if (a->kind == CV_STR) return strcmp(a->s, b->s);
        return a->i < b->i ? -1 : a->i > b->i;
    }
    char x[64], y[64];
    return strcmp(render(a, NULL, x), render(b, NULL, y));
}

/* A stable merge sort of row indices (Collections.sort is stable). */
static void sort_rows(size_t *rows, size_t n, const sort_ctx *sc)
{
    if (n < 2) return;
    size_t *tmp = xmalloc(n * sizeof *tmp);
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int c = 0;
                for (size_t s = 0; s < sc->nkeys && !c; s++) {
                    const cat_val *a = &sc->t->cells[rows[i] * sc->t->ncols + sc->keys[s].col];
                    const cat_val *b = &sc->t->cells[rows[j] * sc->t->ncols + sc->keys[s].col];
                    c = compare_cells(a, b);
                    if (sc->keys[s].desc) c = -c;
                }
                tmp[k++] = c <= 0 ? rows[i++] : rows[j++];
            }
            while (i < mid) tmp[k++] = rows[i++];
            while (j < hi) tmp[k++] = rows[j++];
        }
        memcpy(rows, tmp, n * sizeof *rows);
    }
    free(tmp);
}

/* RestTable.getRowOrder. */
static size_t *row_order(http_req *req, const cat_table *t, es_err *err)
{
    size_t *rows = xmalloc((t->nrows ? t->nrows : 1) * sizeof *rows);
    for (size_t i = 0; i < t->nrows; i++) rows[i] = i;
    const char *s = http_param(req, "s");
    if (!s) return rows;
    sort_key *keys = NULL;
    size_t nkeys = 0;
    char *copy = xstrdup(s);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        bool desc = false;
        size_t len = strlen(tok);
        if (len >= 5 && !strcmp(tok + len - 5, ":desc")) {
            tok[len - 5] = 0;
            desc = true;
        } else if (len >= 4 && !strcmp(tok + len - 4, ":asc")) {
            tok[len - 4] = 0;
        }
        /* Table.getAliasMap: names and aliases, later columns overriding earlier ones. */
        long found = -1;
        for (size_t c = 0; c < t->ncols; c++)
            if (!strcmp(t->cols[c].name, tok) || alias_match(t->cols[c].alias, tok)) found = (long)c;
        if (found < 0) {
            es_err_set(err, ES_INTERNAL, "Unable to sort by unknown sort key `%s`", tok);
            err->type_name = "unsupported_operation_exception";
            err->status = 500;
            break;
        }
        keys = xrealloc(keys, (nkeys + 1) * sizeof *keys);
        keys[nkeys++] = (sort_key){ (size_t)found, desc };
    }
    free(copy);
    if (!es_err_isset(err)) {
        sort_ctx sc = { t, keys, nkeys };
        sort_rows(rows, t->nrows, &sc);
    }
    free(keys);
    return rows;
}

/* Whether the answer is JSON: ?format=json, or an Accept header asking for JSON. */
static bool wants_json(http_req *req)
{
    const char *f = http_param(req, "format");
    if (f) return !strcasecmp(f, "json");
    const char *acc = http_header(req, "Accept");
    return acc && (strstr(acc, "application/json") || strstr(acc, "+json"));
}

static void respond_help(http_resp *resp, const cat_table *t)
{
    int w0 = 0, w1 = 0, w2 = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        const cat_col *col = &t->cols[c];
        int a = utf16_len(col->name), b = utf16_len(col->alias ? col->alias : ""),
            d = utf16_len(col->desc ? col->desc : "not available");
        if (a > w0) w0 = a;
        if (b > w1) w1 = b;
        if (d > w2) w2 = d;
    }
    buf out = { 0 };
    buf_reserve(&out, 0);
    for (size_t c = 0; c < t->ncols; c++) {
        const cat_col *col = &t->cols[c];
        pad(&out, col->name, w0, false, false);
        buf_puts(&out, " | ");
        pad(&out, col->alias ? col->alias : "", w1, false, false);
        buf_puts(&out, " | ");
        pad(&out, col->desc ? col->desc : "not available", w2, false, false);
        buf_putc(&out, '\n');
    }
    http_resp_body(resp, 200, "text/plain; charset=UTF-8", out.p, out.len);
    buf_free(&out);
}

/* Renders the table (text or JSON) as the answer; takes care of every cat parameter. */
static void respond_table(http_req *req, http_resp *resp, cat_table *t)
{
    es_err err = { 0 };
    bool verbose = http_param_bool(req, "v", false, &err);
    bool ts = http_param_bool(req, "ts", true, &err);
    if (es_err_isset(&err)) {
        rest_fail(resp, &err);
        return;
    }
    disp *d = NULL;
    size_t nd = display_headers(req, t, &d, ts, &err);
    size_t *rows = es_err_isset(&err) ? NULL : row_order(req, t, &err);
    if (es_err_isset(&err)) {
        free(d);
        free(rows);
        rest_fail(resp, &err);
        return;
    }
    const char *bytes = http_param(req, "bytes");
    char tmp[64];
    if (wants_json(req)) {
        json_w *w = http_resp_json(resp, 200);
        jw_arr_begin(w);
        for (size_t r = 0; r < t->nrows; r++) {
            jw_obj_begin(w);
            for (size_t k = 0; k < nd; k++) {
                jw_key(w, d[k].display);
                jw_str(w, render(&t->cells[rows[r] * t->ncols + d[k].col], bytes, tmp));
            }
            jw_obj_end(w);
        }
        jw_arr_end(w);
    } else {
        int *width = xcalloc(nd ? nd : 1, sizeof *width);
        for (size_t k = 0; k < nd; k++) {
            if (verbose) width[k] = utf16_len(d[k].display);
            for (size_t r = 0; r < t->nrows; r++) {
                int l = utf16_len(render(&t->cells[r * t->ncols + d[k].col], bytes, tmp));
                if (l > width[k]) width[k] = l;
            }
        }
        buf out = { 0 };
        buf_reserve(&out, 0);
        if (verbose) {
            for (size_t k = 0; k < nd; k++) {
                pad(&out, d[k].display, width[k], t->cols[d[k].col].flags & COL_RIGHT, k + 1 == nd);
                if (k + 1 != nd) buf_putc(&out, ' ');
            }
            buf_putc(&out, '\n');
        }
        for (size_t r = 0; r < t->nrows; r++) {
            for (size_t k = 0; k < nd; k++) {
                pad(&out, render(&t->cells[rows[r] * t->ncols + d[k].col], bytes, tmp), width[k],
                    t->cols[d[k].col].flags & COL_RIGHT, k + 1 == nd);
                if (k + 1 != nd) buf_putc(&out, ' ');
            }
            buf_putc(&out, '\n');
        }
        http_resp_body(resp, 200, "text/plain; charset=UTF-8", out.p, out.len);
        buf_free(&out);
        free(width);
    }
    free(d);
    free(rows);
}

/* Checks the parameters every cat route shares; false when an error was answered. */
static bool cat_common(http_req *req, http_resp *resp, const cat_table *t)
{
    es_err err = { 0 };
    bool help = http_param_bool(req, "help", false, &err);
    http_param_time(req, "master_timeout", 30000, &err);
    http_param_bool(req, "local", false, &err);
    if (es_err_isset(&err)) {
        rest_fail(resp, &err);
        return false;
    }
    if (help) {
        respond_help(resp, t);
        return false;
    }
    return true;
}

/* Table.startRow with timestamps: epoch seconds and HH:mm:ss (UTC). */
static void set_timestamp(cat_table *t, size_t epoch_col, size_t ts_col)
{
    int64_t ms = now_millis();
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char hms[16];
    snprintf(hms, sizeof hms, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    set_int(t, epoch_col, (int64_t)sec);
    set_str(t, ts_col, hms);
}

#define TS_COLS                                                                          \
    { "epoch", "t,time", "seconds since 1970-01-01 00:00:00", 0, NULL },                 \
    { "timestamp", "ts,hms,hhmmss", "time in HH:MM:SS", 0, NULL }

/* ------------------------------------------------------------------------ */
/* GET /_cat/indices[/{index}] */

enum {
    CI_HEALTH, CI_STATUS, CI_INDEX, CI_UUID, CI_PRI, CI_REP, CI_DOCS_COUNT, CI_DOCS_DELETED,
    CI_CREATION_DATE, CI_CREATION_DATE_STRING, CI_STORE_SIZE, CI_PRI_STORE_SIZE, CI_DATASET_SIZE,
};

static const cat_col indices_cols[] = {
    { "health", "h", "current health status", 0, NULL },
    { "status", "s", "open/close status", 0, NULL },
    { "index", "i,idx", "index name", 0, NULL },
    { "uuid", "id,uuid", "index uuid", 0, NULL },
    { "pri", "p,shards.primary,shardsPrimary", "number of primary shards", COL_RIGHT, NULL },
    { "rep", "r,shards.replica,shardsReplica", "number of replica shards", COL_RIGHT, NULL },
    { "docs.count", "dc,docsCount", "available docs", COL_RIGHT, NULL },
    { "docs.deleted", "dd,docsDeleted", "deleted docs", COL_RIGHT, NULL },
    { "creation.date", "cd", "index creation date (millisecond value)", COL_HIDDEN, NULL },
    { "creation.date.string", "cds", "index creation date (as string)", COL_HIDDEN, NULL },
    { "store.size", "ss,storeSize", "store size of primaries & replicas", COL_RIGHT, "pri" },
    { "pri.store.size", NULL, "store size of primaries", COL_RIGHT, NULL },
    { "dataset.size", NULL, "total size of dataset", COL_RIGHT, NULL },
};

static void handle_cat_indices(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    cat_table t;
    table_init(&t, indices_cols, ARRAY_LEN(indices_cols));
    if (!cat_common(req, resp, &t)) return;
    es_err err = { 0 };
    /* IndicesOptions.strictExpand: open and closed, not hidden. */
    resolve_opts o = resolve_opts_default();
    o.expand_wildcards = EXPAND_OPEN | EXPAND_CLOSED;
    rest_resolve_opts(req, &o, &err);
    http_param_bool(req, "include_unloaded_segments", false, &err);
    const char *health = http_param(req, "health");
    int want = -1;
    if (health && !es_err_isset(&err)) {
        if (!strcasecmp(health, "green")) want = HEALTH_GREEN;
        else if (!strcasecmp(health, "yellow")) want = HEALTH_YELLOW;
        else if (!strcasecmp(health, "red")) want = HEALTH_RED;
        else es_err_set(&err, ES_ILLEGAL_ARGUMENT, "unknown cluster health status [%s]", health);
    }
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return rest_fail(resp, &err);
    for (size_t i = 0; i < n; i++) {
        index_view *v = views[i];
        health_status hs = index_view_health(v);
        if (want >= 0 && (int)hs != want) continue;
        index_stats st;
        if (indices_index_stats(v, false, &st, &err) != 0) {
            indices_views_free(views, n);
            table_free(&t);
            return rest_fail(resp, &err);
        }
        row_begin(&t);
        set_str(&t, CI_HEALTH, health_status_name(hs));
        set_str(&t, CI_STATUS, v->closed ? "close" : "open");
        set_str(&t, CI_INDEX, v->name);
        set_str(&t, CI_UUID, v->uuid);
        set_int(&t, CI_PRI, st.shards);
        set_int(&t, CI_REP, index_view_replicas(v));
        set_int(&t, CI_DOCS_COUNT, (int64_t)st.docs);
        set_int(&t, CI_DOCS_DELETED, (int64_t)st.deleted);
        int64_t cd = v->meta->creation_date;
        set_int(&t, CI_CREATION_DATE, cd);
        time_t sec = (time_t)(cd >= 0 ? cd / 1000 : (cd - 999) / 1000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        char iso[96];
        snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(((cd % 1000) + 1000) % 1000));
        set_str(&t, CI_CREATION_DATE_STRING, iso);
        /* One copy of each shard: the total store is the primaries' store. */
        set_bytes(&t, CI_STORE_SIZE, (int64_t)st.store_size);
        set_bytes(&t, CI_PRI_STORE_SIZE, (int64_t)st.store_size);
        set_bytes(&t, CI_DATASET_SIZE, (int64_t)st.store_size);
        index_stats_free(&st);
    }
    indices_views_free(views, n);
    respond_table(req, resp, &t);
    table_free(&t);
}

/* ------------------------------------------------------------------------ */
/* GET /_cat/count[/{index}] */

static const cat_col count_cols[] = {
    TS_COLS,
    { "count", "dc,docs.count,docsCount", "the document count", 0, NULL },
};

static void handle_cat_count(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    cat_table t;
    table_init(&t, count_cols, ARRAY_LEN(count_cols));
    if (!cat_common(req, resp, &t)) return;
    es_err err = { 0 };
    resolve_opts o = resolve_opts_default();
    rest_resolve_opts(req, &o, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, http_path_param(req, "index"), &o, &views, &n, &err) != 0)
        return rest_fail(resp, &err);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        index_stats st;
        if (indices_index_stats(views[i], false, &st, &err) != 0) {
            indices_views_free(views, n);
            return rest_fail(resp, &err);
        }
        total += st.docs;
        index_stats_free(&st);
    }
    indices_views_free(views, n);
    row_begin(&t);
    set_timestamp(&t, 0, 1);
    set_int(&t, 2, (int64_t)total);
    respond_table(req, resp, &t);
    table_free(&t);
}

/* ------------------------------------------------------------------------ */
/* GET /_cat/health */

static const cat_col health_cols[] = {
    TS_COLS,
    { "cluster", "cl", "cluster name", 0, NULL },
    { "status", "st", "health status", 0, NULL },
    { "node.total", "nt,nodeTotal", "total number of nodes", COL_RIGHT, NULL },
    { "node.data", "nd,nodeData", "number of nodes that can store data", COL_RIGHT, NULL },
    { "shards", "t,sh,shards.total,shardsTotal", "total number of shards", COL_RIGHT, NULL },
    { "pri", "p,shards.primary,shardsPrimary", "number of primary shards", COL_RIGHT, NULL },
    { "relo", "r,shards.relocating,shardsRelocating", "number of relocating nodes", COL_RIGHT, NULL },
    { "init", "i,shards.initializing,shardsInitializing", "number of initializing nodes", COL_RIGHT, NULL },
    { "unassign", "u,shards.unassigned,shardsUnassigned", "number of unassigned shards", COL_RIGHT, NULL },
    { "unassign.pri", "up,shards.unassigned.primary,shardsUnassignedPrimary",
      "number of unassigned primary shards", COL_RIGHT, NULL },
    { "pending_tasks", "pt,pendingTasks", "number of pending tasks", COL_RIGHT, NULL },
    { "max_task_wait_time", "mtwt,maxTaskWaitTime", "wait time of longest task pending", COL_RIGHT, NULL },
    { "active_shards_percent", "asp,activeShardsPercent", "active number of shards in percent", COL_RIGHT, NULL },
};

static void handle_cat_health(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    cat_table t;
    table_init(&t, health_cols, ARRAY_LEN(health_cols));
    if (!cat_common(req, resp, &t)) return;
    es_err err = { 0 };
    cluster_health h;
    if (indices_health(node->ix, NULL, NULL, &h, &err) != 0) return rest_fail(resp, &err);
    row_begin(&t);
    set_timestamp(&t, 0, 1);
    set_str(&t, 2, node->cluster_name);
    set_str(&t, 3, health_status_name(h.status));
    set_int(&t, 4, 1);
    set_int(&t, 5, 1);
    set_int(&t, 6, h.active_shards);
    set_int(&t, 7, h.active_primary_shards);
    set_int(&t, 8, 0);
    set_int(&t, 9, 0);
    set_int(&t, 10, h.unassigned_shards);
    set_int(&t, 11, h.unassigned_primary_shards);
    set_int(&t, 12, 0);
    set_str(&t, 13, "-");
    char pct[32];
    snprintf(pct, sizeof pct, "%.1f%%", h.active_shards_percent);
    set_str(&t, 14, pct);
    cluster_health_free(&h);
    respond_table(req, resp, &t);
    table_free(&t);
}

/* ------------------------------------------------------------------------ */
/* GET /_cat/aliases[/{name}] */

static const cat_col aliases_cols[] = {
    { "alias", "a", "alias name", 0, NULL },
    { "index", "i,idx", "index alias points to", 0, NULL },
    { "filter", "f,fi", "filter", 0, NULL },
    { "routing.index", "ri,routingIndex", "index routing", 0, NULL },
    { "routing.search", "rs,routingSearch", "search routing", 0, NULL },
    { "is_write_index", "w,isWriteIndex", "write index", 0, NULL },
};

static bool alias_name_matches(const char *expr, const char *name)
{
    if (!expr) return true;
    bool hit = false, seen_wildcard = false;
    char *copy = xstrdup(expr);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (tok[0] == '-' && seen_wildcard) {
            if (indices_simple_match(tok + 1, name)) hit = false;
            continue;
        }
        if (strchr(tok, '*')) seen_wildcard = true;
        if (!strcmp(tok, "_all") || indices_simple_match(tok, name)) hit = true;
    }
    free(copy);
    return hit;
}

static void handle_cat_aliases(http_req *req, http_resp *resp, void *ctx)
{
    rest_node *node = ctx;
    cat_table t;
    table_init(&t, aliases_cols, ARRAY_LEN(aliases_cols));
    if (!cat_common(req, resp, &t)) return;
    es_err err = { 0 };
    resolve_opts o = resolve_opts_default();
    o.expand_wildcards = EXPAND_ALL;
    rest_resolve_opts(req, &o, &err);
    if (es_err_isset(&err)) return rest_fail(resp, &err);
    index_view **views = NULL;
    size_t n = 0;
    if (indices_resolve(node->ix, NULL, &o, &views, &n, &err) != 0) return rest_fail(resp, &err);
    const char *names = http_path_param(req, "name");
    for (size_t i = 0; i < n; i++) {
        index_view *v = views[i];
        for (size_t a = 0; a < v->n_aliases; a++) {
            const index_alias *al = &v->aliases[a];
            if (!alias_name_matches(names, al->name)) continue;
            row_begin(&t);
            set_str(&t, 0, al->name);
            set_str(&t, 1, v->name);
            set_str(&t, 2, al->filter_json ? "*" : "-");
            set_str(&t, 3, al->index_routing && *al->index_routing ? al->index_routing : "-");
            set_str(&t, 4, al->search_routing && *al->search_routing ? al->search_routing : "-");
            set_str(&t, 5, al->has_is_write_index ? (al->is_write_index ? "true" : "false") : "-");
        }
    }
    indices_views_free(views, n);
    respond_table(req, resp, &t);
    table_free(&t);
}

/* ------------------------------------------------------------------------ */
/* GET /_cat */

static void handle_cat_root(http_req *req, http_resp *resp, void *ctx)
{
    static const char listing[] = "=^.^=\n"
                                  "/_cat/indices\n"
                                  "/_cat/indices/{index}\n"
                                  "/_cat/count\n"
                                  "/_cat/count/{index}\n"
                                  "/_cat/health\n"
                                  "/_cat/aliases\n"
                                  "/_cat/aliases/{alias}\n";
    http_resp_body(resp, 200, "text/plain; charset=UTF-8", listing, sizeof listing - 1);
}

/* ------------------------------------------------------------------------ */

#define CAT_PARAMS "format,h,help,s,v,ts,pri,bytes,size,time,timeout,local,master_timeout"
#define CAT_RESOLVE "ignore_unavailable,allow_no_indices,expand_wildcards,ignore_throttled"

static const http_route cat_routes[] = {
    { HTTP_GET, "/_cat", handle_cat_root, NULL, HTTP_ROUTE_TEXT },
    { HTTP_GET, "/_cat/indices", handle_cat_indices, CAT_PARAMS ",health,include_unloaded_segments," CAT_RESOLVE,
      HTTP_ROUTE_TEXT },
    { HTTP_GET, "/_cat/indices/{index}", handle_cat_indices,
      CAT_PARAMS ",health,include_unloaded_segments," CAT_RESOLVE, HTTP_ROUTE_TEXT },
    { HTTP_GET, "/_cat/count", handle_cat_count, CAT_PARAMS "," CAT_RESOLVE, HTTP_ROUTE_TEXT },
    { HTTP_GET, "/_cat/count/{index}", handle_cat_count, CAT_PARAMS "," CAT_RESOLVE, HTTP_ROUTE_TEXT },
    { HTTP_GET, "/_cat/health", handle_cat_health, CAT_PARAMS, HTTP_ROUTE_TEXT },
    { HTTP_GET, "/_cat/aliases", handle_cat_aliases, CAT_PARAMS ",expand_wildcards", HTTP_ROUTE_TEXT },
    { HTTP_GET, "/_cat/aliases/{name}", handle_cat_aliases, CAT_PARAMS ",expand_wildcards", HTTP_ROUTE_TEXT },
};

void rest_register_cat(http_server *srv, rest_node *node)
{
    http_add_routes(srv, cat_routes, ARRAY_LEN(cat_routes), node);
}
