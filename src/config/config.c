/*
 * config.c — elasticsearch.yml (libyaml events) plus -E overrides, validated
 * against the registry of setting definitions.
 *
 * Loading runs in four steps, each of which may stop with one message:
 *   1. read the file and flatten it into dotted keys (nested maps join their
 *      keys with '.', lists keep their items, a key seen twice is an error);
 *   2. apply the -E "key=value" overrides on top;
 *   3. substitute ${VAR} placeholders in every value;
 *   4. validate every key, in sorted order, against its definition.
 * The result is a sorted array of entries whose strings live in one arena; it
 * is never modified after config_load returns.
 *
 * Error messages follow Elasticsearch's wording. Problems found while reading
 * the file are prefixed "Failed to load settings from [<file>]: "; problems
 * with one setting end with a parenthesis naming whatever the message itself
 * lacks (setting, value) and where the setting came from.
 */
#include "config/config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define MOD "config"
#define CONFIG_FILE "elasticsearch.yml"
#define MAX_FILE_SIZE (16u << 20)   /* far beyond any sane elasticsearch.yml */
#define MAX_NESTING 64              /* nested maps in the file */
#define MAX_PLACEHOLDER_DEPTH 32    /* placeholders resolving to placeholders */
#define ORIGIN_CLI "in -E command line argument"

/* ------------------------------------------------------------------------ */
/* Registry */

static const setting_def **g_defs;   /* exact names, sorted by name */
static size_t g_n_defs, g_cap_defs;
static const setting_def **g_groups; /* names ending in ".*", in registration order */
static size_t g_n_groups, g_cap_groups;

static bool is_group_name(const char *name)
{
    return str_has_suffix(name, ".*");
}

static int cmp_def_ptr(const void *a, const void *b)
{
    const setting_def *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static const setting_def *find_exact_def(const char *name)
{
    size_t lo = 0, hi = g_n_defs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g_defs[mid]->name, name);
        if (c == 0) return g_defs[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const setting_def *config_find_def(const char *name)
{
    if (!name) return NULL;
    const setting_def *d = find_exact_def(name);
    if (d) return d;
    /* The longest ".*" prefix that covers name; "a.*" covers "a.b" but not "a". */
    const setting_def *best = NULL;
    size_t best_len = 0;
    size_t n = strlen(name);
    for (size_t i = 0; i < g_n_groups; i++) {
        const char *g = g_groups[i]->name;
        size_t plen = strlen(g) - 1; /* keeps the '.' */
        if (strcmp(g, name) == 0) return g_groups[i];
        if (n > plen && strncmp(g, name, plen) == 0 && plen > best_len) {
            best = g_groups[i];
            best_len = plen;
        }
    }
    return best;
}

static void push_def(const setting_def ***arr, size_t *n, size_t *cap, const setting_def *d)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *arr = xrealloc(*arr, *cap * sizeof **arr);
    }
    (*arr)[(*n)++] = d;
}

static bool check_default(const setting_def *d);

void config_register(const setting_def *defs, size_t n)
{
    bool added = false;
    for (size_t i = 0; i < n; i++) {
        const setting_def *d = &defs[i];
        if (!d->name || !*d->name) {
            log_error(MOD, "a setting definition without a name was ignored");
            continue;
        }
        bool group = is_group_name(d->name);
        bool dup = false;
        if (group) {
            for (size_t j = 0; j < g_n_groups && !dup; j++) dup = strcmp(g_groups[j]->name, d->name) == 0;
        } else {
            dup = find_exact_def(d->name) != NULL;
            for (size_t j = 0; j < i && !dup; j++) dup = strcmp(defs[j].name, d->name) == 0;
        }
        if (dup) {
            log_error(MOD, "setting [%s] is registered twice; the first definition is kept", d->name);
            continue;
        }
        check_default(d);
        if (group) push_def(&g_groups, &g_n_groups, &g_cap_groups, d);
        else push_def(&g_defs, &g_n_defs, &g_cap_defs, d);
        added = true;
    }
    if (added) qsort(g_defs, g_n_defs, sizeof *g_defs, cmp_def_ptr);
}

/* ------------------------------------------------------------------------ */
/* Value parsing, shared by validation and the getters so both agree. */

static char *trim_lower_dup(const char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    char *r = xstrndup(s, n);
    for (char *p = r; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    return r;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* Digits with at most one '.' and at least one digit: "1", "1.5", ".5", "1." */
static bool is_decimal(const char *s)
{
    const char *dot = strchr(s, '.');
    size_t before = dot ? (size_t)(dot - s) : strlen(s);
    size_t after = dot ? strlen(dot + 1) : 0;
    if (before + after == 0) return false;
    return (before == 0 || all_digits(s, before)) && (after == 0 || all_digits(dot + 1, after));
}

/* Java's Long.parseLong: an optional sign, then decimal digits, nothing else. */
static bool parse_int_es(const char *s, int64_t *out)
{
    if (!s) return false;
    const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
    if (!all_digits(d, strlen(d))) return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

static bool parse_bool_es(const char *s, bool *out)
{
    if (!s) return false;
    if (strcmp(s, "true") == 0) *out = true;
    else if (strcmp(s, "false") == 0) *out = false;
    else return false;
    return true;
}

typedef enum { PV_OK, PV_NO_UNIT, PV_BAD_NUMBER, PV_NEGATIVE, PV_FRACTIONAL, PV_TOO_BIG } pv_status;

/* Splits a trimmed, lowercased value into number and unit when it ends in
 * one of units (longest first); returns the unit or NULL. */
static const char *split_unit(const char *v, const char *const *units, size_t n_units, char **num)
{
    size_t n = strlen(v);
    for (size_t i = 0; i < n_units; i++) {
        size_t ul = strlen(units[i]);
        if (n >= ul && strcmp(v + n - ul, units[i]) == 0) {
            size_t m = n - ul;
            while (m && (v[m - 1] == ' ' || v[m - 1] == '\t')) m--;
            *num = xstrndup(v, m);
            return units[i];
        }
    }
    return NULL;
}

/* An Elasticsearch byte size: the number may be fractional ("1.5kb"); the
 * bare values 0 and -1 need no unit. Case and surrounding blanks are ignored. */
static pv_status parse_bytes_es(const char *s, int64_t *out)
{
    static const char *const units[] = { "kb", "mb", "gb", "tb", "pb", "k", "m", "g", "t", "p", "b" };
    static const double mults[] = { 0x1p10, 0x1p20, 0x1p30, 0x1p40, 0x1p50, 0x1p10, 0x1p20, 0x1p30, 0x1p40, 0x1p50, 1 };
    if (!s) return PV_NO_UNIT;
    char *v = trim_lower_dup(s), *num = NULL;
    pv_status st = PV_OK;
    const char *unit = split_unit(v, units, ARRAY_LEN(units), &num);
    if (!unit) {
        if (strcmp(v, "0") == 0) *out = 0;
        else if (strcmp(v, "-1") == 0) *out = -1;
        else st = PV_NO_UNIT;
        free(v);
        return st;
    }
    if (num[0] == '-') {
        st = PV_NEGATIVE;
    } else if (!is_decimal(num)) {
        st = PV_BAD_NUMBER;
    } else {
        double mult = 1;
        for (size_t i = 0; i < ARRAY_LEN(units); i++)
            if (units[i] == unit) mult = mults[i];
        if (strtod(num, NULL) * mult >= 0x1p63) {
            st = PV_TOO_BIG;
        } else {
            char *canon = xasprintf("%s%s", num, unit);
            if (!parse_byte_size(canon, out)) st = PV_BAD_NUMBER;
            free(canon);
        }
    }
    free(num);
    free(v);
    return st;
}

/* An Elasticsearch time value: a whole number and a unit (nanos, micros, ms,
 * s, m, h, d), or the bare values 0 and -1. Case and blanks are ignored. */
static pv_status parse_time_es(const char *s, int64_t *out_ms)
{
    static const char *const units[] = { "nanos", "micros", "ms", "s", "m", "h", "d" };
    static const int64_t ms_per[] = { 1, 1, 1, 1000, 60000, 3600000, 86400000 };
    if (!s) return PV_NO_UNIT;
    char *v = trim_lower_dup(s), *num = NULL;
    pv_status st = PV_OK;
    const char *unit = split_unit(v, units, ARRAY_LEN(units), &num);
    if (!unit) {
        if (strcmp(v, "0") == 0) *out_ms = 0;
        else if (strcmp(v, "-1") == 0) *out_ms = -1;
        else st = PV_NO_UNIT;
        free(v);
        return st;
    }
    int64_t n;
    if (!parse_int_es(num, &n)) {
        const char *unsigned_num = (num[0] == '+' || num[0] == '-') ? num + 1 : num;
        st = strchr(num, '.') && is_decimal(unsigned_num) ? PV_FRACTIONAL : PV_BAD_NUMBER;
    } else if (n < 0) {
        st = PV_NEGATIVE;
    } else {
        int64_t per = 1;
        for (size_t i = 0; i < ARRAY_LEN(units); i++)
            if (units[i] == unit) per = ms_per[i];
        if (n > INT64_MAX / per) {
            st = PV_BAD_NUMBER;
        } else {
            char *canon = xasprintf("%lld%s", (long long)n, unit);
            if (!parse_time_value(canon, out_ms)) st = PV_BAD_NUMBER;
            free(canon);
        }
    }
    free(num);
    free(v);
    return st;
}

/* Finds value among the '|'-separated choices, ignoring case; returns the
 * choice's offset in choices and its length through *len, or -1. */
static long find_choice(const char *choices, const char *value, size_t *len)
{
    if (!choices || !value) return -1;
    size_t vn = strlen(value);
    const char *p = choices;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vn && strncasecmp(p, value, n) == 0) {
            *len = n;
            return p - choices;
        }
        if (!bar) return -1;
        p = bar + 1;
    }
}

static char *choices_display(const char *choices)
{
    buf b = { 0 };
    buf_putc(&b, '[');
    for (const char *p = choices ? choices : ""; *p; p++) {
        if (*p == '|') buf_puts(&b, ", ");
        else buf_putc(&b, *p);
    }
    buf_putc(&b, ']');
    return buf_detach(&b, NULL);
}

/*
 * A problem with one value: the message, and whether the message already
 * names the setting and the value (when it does not, the caller adds them).
 */
typedef struct value_error {
    char *msg;
    bool names_key, names_value;
} value_error;

static bool verr(value_error *e, bool names_key, bool names_value, char *msg)
{
    e->msg = msg;
    e->names_key = names_key;
    e->names_value = names_value;
    return false;
}

static bool run_validator(const setting_def *d, const char *key, const char *v, value_error *e)
{
    if (!d->validate) return true;
    char why[256] = "";
    if (d->validate(v, why, sizeof why)) return true;
    return verr(e, true, true,
                xasprintf("illegal value [%s] for setting [%s]: %s", v, key, why[0] ? why : "rejected"));
}

/* Checks one scalar value against d (any type but a list). For an enum,
 * choice_off and choice_len get the matching choice (to store its spelling). */
static bool check_scalar(const setting_def *d, const char *key, const char *v, value_error *e,
                         long *choice_off, size_t *choice_len)
{
    int64_t i;
    bool b;
    switch (d->type) {
    case SETTING_STRING:
    case SETTING_LIST:
        break;
    case SETTING_BOOL:
        if (!parse_bool_es(v, &b))
            return verr(e, false, true,
                        xasprintf("Failed to parse value [%s] as only [true] or [false] are allowed.", v));
        break;
    case SETTING_INT:
        if (!parse_int_es(v, &i))
            return verr(e, true, true, xasprintf("Failed to parse value [%s] for setting [%s]", v, key));
        if (d->min != 0 || d->max != 0) {
            if (i < d->min)
                return verr(e, true, true,
                            xasprintf("Failed to parse value [%s] for setting [%s] must be >= %lld", v, key,
                                      (long long)d->min));
            if (i > d->max)
                return verr(e, true, true,
                            xasprintf("Failed to parse value [%s] for setting [%s] must be <= %lld", v, key,
                                      (long long)d->max));
        }
        break;
    case SETTING_BYTES:
        switch (parse_bytes_es(v, &i)) {
        case PV_OK: break;
        case PV_NO_UNIT:
            return verr(e, true, true,
                        xasprintf("failed to parse setting [%s] with value [%s] as a size in bytes: unit is "
                                  "missing or unrecognized", key, v));
        case PV_BAD_NUMBER:
            return verr(e, true, true, xasprintf("failed to parse setting [%s] with value [%s]", key, v));
        default:
            return verr(e, true, true,
                        xasprintf("failed to parse setting [%s] with value [%s] as a size in bytes", key, v));
        }
        break;
    case SETTING_TIME:
        switch (parse_time_es(v, &i)) {
        case PV_OK: break;
        case PV_NO_UNIT:
            return verr(e, true, true,
                        xasprintf("failed to parse setting [%s] with value [%s] as a time value: unit is "
                                  "missing or unrecognized", key, v));
        case PV_NEGATIVE:
            return verr(e, true, true,
                        xasprintf("failed to parse setting [%s] with value [%s] as a time value: negative "
                                  "durations are not supported", key, v));
        case PV_FRACTIONAL:
            return verr(e, false, true,
                        xasprintf("failed to parse [%s], fractional time values are not supported", v));
        default:
            return verr(e, false, true, xasprintf("failed to parse [%s]", v));
        }
        break;
    case SETTING_ENUM: {
        size_t len = 0;
        long off = find_choice(d->choices, v, &len);
        if (off < 0) {
            char *allowed = choices_display(d->choices);
            char *m = xasprintf("Failed to parse value [%s] for setting [%s] must be one of %s", v, key, allowed);
            free(allowed);
            return verr(e, true, true, m);
        }
        if (choice_off) *choice_off = off;
        if (choice_len) *choice_len = len;
        break;
    }
    default:
        return verr(e, true, false, xasprintf("setting [%s] has an unknown type", key));
    }
    return run_validator(d, key, v, e);
}

/* Splits a comma-separated list: items trimmed, empty items dropped.
 * Returns a NULL-terminated array allocated in a. */
static const char **split_list(arena *a, const char *s, size_t *n_out)
{
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    const char **items = arena_alloc(a, (cap + 1) * sizeof *items);
    size_t n = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *b = p;
        while (b < end && (*b == ' ' || *b == '\t')) b++;
        const char *e = end;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (e > b) items[n++] = arena_strndup(a, b, (size_t)(e - b));
        if (!comma) break;
        p = comma + 1;
    }
    items[n] = NULL;
    *n_out = n;
    return items;
}

static bool check_default(const setting_def *d)
{
    if (d->type == SETTING_ENUM && (!d->choices || !*d->choices))
        log_error(MOD, "enum setting [%s] has no choices", d->name);
    if (d->type == SETTING_INT && (d->min != 0 || d->max != 0) && d->min > d->max)
        log_error(MOD, "setting [%s] has min %lld above max %lld", d->name, (long long)d->min,
                  (long long)d->max);
    if (!d->def) return true;
    value_error e = { 0 };
    bool ok = true;
    if (d->type == SETTING_LIST) {
        arena a = { 0 };
        size_t n;
        const char **items = split_list(&a, d->def, &n);
        for (size_t i = 0; i < n && ok; i++) ok = run_validator(d, d->name, items[i], &e);
        arena_free(&a);
    } else {
        ok = check_scalar(d, d->name, d->def, &e, NULL, NULL);
    }
    if (!ok) {
        log_error(MOD, "the default of setting [%s] is invalid: %s", d->name, e.msg);
        free(e.msg);
    }
    return ok;
}

/* ------------------------------------------------------------------------ */
/* The loaded configuration */

typedef struct entry {
    const char *key;
    const char *value;    /* the text; a YAML list's items joined with ',' */
    const char **items;   /* list items (NULL-terminated) for a YAML list or a list setting */
    size_t n_items;
    bool yaml_list;       /* given as a YAML list in the file */
    bool from_cli;        /* given with -E */
} entry;

typedef struct default_list {
    const setting_def *def;
    const char **items;
    size_t n;
} default_list;

struct config {
    char *dir;
    char *file;
    arena mem;
    entry *e; /* sorted by key */
    size_t n, cap;
    default_list *defaults;
    size_t n_defaults;
};

static entry *find_entry(const config *c, const char *key, size_t *pos)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c->e[mid].key, key);
        if (r == 0) {
            if (pos) *pos = mid;
            return &c->e[mid];
        }
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    if (pos) *pos = lo;
    return NULL;
}

static entry *insert_entry(config *c, const char *key, size_t pos)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->e = xrealloc(c->e, c->cap * sizeof *c->e);
    }
    memmove(&c->e[pos + 1], &c->e[pos], (c->n - pos) * sizeof *c->e);
    c->n++;
    entry *e = &c->e[pos];
    memset(e, 0, sizeof *e);
    e->key = arena_strndup(&c->mem, key, strlen(key));
    return e;
}

static const char *join_items(arena *a, const char *const *items, size_t n, const char *sep)
{
    buf b = { 0 };
    for (size_t i = 0; i < n; i++) {
        if (i) buf_puts(&b, sep);
        buf_puts(&b, items[i]);
    }
    const char *r = arena_strndup(a, b.p ? b.p : "", b.len);
    buf_free(&b);
    return r;
}

/* How Elasticsearch prints a value in messages: lists as [a, b]. Caller frees. */
static char *display_value(const entry *e)
{
    if (!e->yaml_list) return xstrdup(e->value);
    buf b = { 0 };
    buf_putc(&b, '[');
    for (size_t i = 0; i < e->n_items; i++) buf_printf(&b, "%s%s", i ? ", " : "", e->items[i]);
    buf_putc(&b, ']');
    return buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------------ */
/* Loading: error reporting */

typedef struct loader {
    config *c;
    char *err;            /* the first error, heap */
    yaml_parser_t parser;
} loader;

/* A problem reading the file: "Failed to load settings from [file]: ...". */
static bool file_fail(loader *L, const char *fmt, ...) FERRY_PRINTF(2, 3);
static bool file_fail(loader *L, const char *fmt, ...)
{
    if (L->err) return false;
    buf b = { 0 };
    buf_printf(&b, "Failed to load settings from [%s]: ", L->c->file);
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    L->err = buf_detach(&b, NULL);
    return false;
}

/* A problem with a -E argument as such. */
static bool cli_fail(loader *L, const char *fmt, ...) FERRY_PRINTF(2, 3);
static bool cli_fail(loader *L, const char *fmt, ...)
{
    if (L->err) return false;
    buf b = { 0 };
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    buf_puts(&b, " (" ORIGIN_CLI ")");
    L->err = buf_detach(&b, NULL);
    return false;
}

/* A problem with one setting's value: adds what the message lacks and where
 * the setting came from. Takes e->msg. */
static bool setting_fail(loader *L, const entry *en, const char *value, value_error *e)
{
    if (L->err) {
        free(e->msg);
        return false;
    }
    buf b = { 0 };
    buf_printf(&b, "%s (", e->msg);
    if (!e->names_key) buf_printf(&b, "setting [%s], ", en->key);
    if (!e->names_value) buf_printf(&b, "value [%s], ", value);
    if (en->from_cli) buf_puts(&b, ORIGIN_CLI ")");
    else buf_printf(&b, "in [%s])", L->c->file);
    free(e->msg);
    e->msg = NULL;
    L->err = buf_detach(&b, NULL);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Loading: the YAML file */

static bool next_event(loader *L, yaml_event_t *ev)
{
    if (yaml_parser_parse(&L->parser, ev)) return true;
    yaml_parser_t *p = &L->parser;
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->error == YAML_MEMORY_ERROR) return file_fail(L, "out of memory while parsing YAML");
    if (p->error == YAML_READER_ERROR)
        return file_fail(L, "malformed YAML, %s at byte offset [%zu]", problem, p->problem_offset);
    if (p->context)
        return file_fail(L, "malformed YAML, %s at line number [%zu], column number [%zu] (%s at line number "
                            "[%zu], column number [%zu])",
                         problem, p->problem_mark.line + 1, p->problem_mark.column + 1, p->context,
                         p->context_mark.line + 1, p->context_mark.column + 1);
    return file_fail(L, "malformed YAML, %s at line number [%zu], column number [%zu]", problem,
                     p->problem_mark.line + 1, p->problem_mark.column + 1);
}

static bool is_null_scalar(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *v = (const char *)ev->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static const char *event_shape(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT: return "a map";
    case YAML_SEQUENCE_START_EVENT: return "a list";
    case YAML_ALIAS_EVENT: return "an alias";
    case YAML_SCALAR_EVENT: return is_null_scalar(ev) ? "a null value" : "a value";
    default: return "something else";
    }
}

/* A scalar with an embedded NUL ("\0" in a quoted string) cannot be a C
 * string; refuse it rather than cut it short. */
static bool check_no_nul(loader *L, const char *key, const yaml_event_t *ev)
{
    if (!memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) return true;
    return file_fail(L, "the value for key [%s] contains a NUL character at line number [%zu], column number [%zu]",
                     key, ev->start_mark.line + 1, ev->start_mark.column + 1);
}

/* Records key = value (or a list) read from the file; a key already present
 * is Elasticsearch's duplicate settings key error. */
static bool put_file_value(loader *L, const char *key, const char *value, const char **items, size_t n_items,
                           bool is_list, yaml_mark_t at)
{
    config *c = L->c;
    size_t pos;
    entry *old = find_entry(c, key, &pos);
    if (old) {
        entry cur = { .key = key, .value = value, .items = items, .n_items = n_items, .yaml_list = is_list };
        char *pv = display_value(old), *cv = display_value(&cur);
        file_fail(L,
                  "duplicate settings key [%s] found at line number [%zu], column number [%zu], previous value "
                  "[%s], current value [%s]",
                  key, at.line + 1, at.column + 1, pv, cv);
        free(pv);
        free(cv);
        return false;
    }
    entry *e = insert_entry(c, key, pos);
    e->value = value;
    e->items = items;
    e->n_items = n_items;
    e->yaml_list = is_list;
    return true;
}

static bool parse_list(loader *L, const char *key, yaml_mark_t start)
{
    config *c = L->c;
    size_t n = 0, cap = 8;
    const char **tmp = xmalloc(cap * sizeof *tmp);
    bool ok = true;
    for (;;) {
        yaml_event_t ev;
        if (!next_event(L, &ev)) {
            ok = false;
            break;
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type != YAML_SCALAR_EVENT || is_null_scalar(&ev)) {
            ok = file_fail(L,
                           "only value lists are allowed in serialized settings, but the list for [%s] holds %s "
                           "at line number [%zu], column number [%zu]",
                           key, event_shape(&ev), ev.start_mark.line + 1, ev.start_mark.column + 1);
            yaml_event_delete(&ev);
            break;
        }
        if (!check_no_nul(L, key, &ev)) {
            ok = false;
            yaml_event_delete(&ev);
            break;
        }
        if (n + 1 == cap) {
            cap *= 2;
            tmp = xrealloc(tmp, cap * sizeof *tmp);
        }
        tmp[n++] = arena_strndup(&c->mem, (const char *)ev.data.scalar.value, ev.data.scalar.length);
        yaml_event_delete(&ev);
    }
    if (ok) {
        const char **items = arena_alloc(&c->mem, (n + 1) * sizeof *items);
        memcpy(items, tmp, n * sizeof *items);
        items[n] = NULL;
        ok = put_file_value(L, key, join_items(&c->mem, items, n, ","), items, n, true, start);
    }
    free(tmp);
    return ok;
}

/* Reads the pairs of a map whose start was just consumed; key holds the
 * dotted prefix ("" at the top, "http." inside `http:`). */
static bool parse_map(loader *L, buf *key, int depth)
{
    size_t base = key->len;
    for (;;) {
        yaml_event_t k;
        if (!next_event(L, &k)) return false;
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return true;
        }
        if (k.type != YAML_SCALAR_EVENT) {
            file_fail(L, "settings keys must be plain names, found %s as a key%s%.*s at line number [%zu], "
                         "column number [%zu]",
                      event_shape(&k), base ? " under " : "", (int)(base ? base - 1 : 0), key->p ? key->p : "",
                      k.start_mark.line + 1, k.start_mark.column + 1);
            yaml_event_delete(&k);
            return false;
        }
        if (memchr(k.data.scalar.value, 0, k.data.scalar.length)) {
            file_fail(L, "a key contains a NUL character at line number [%zu], column number [%zu]",
                      k.start_mark.line + 1, k.start_mark.column + 1);
            yaml_event_delete(&k);
            return false;
        }
        buf_append(key, k.data.scalar.value, k.data.scalar.length);
        yaml_event_delete(&k);

        yaml_event_t v;
        if (!next_event(L, &v)) return false;
        bool ok = true;
        switch (v.type) {
        case YAML_SCALAR_EVENT:
            if (is_null_scalar(&v))
                ok = file_fail(L, "null-valued setting found for key [%s] found at line number [%zu], column "
                                  "number [%zu]",
                               key->p, v.start_mark.line + 1, v.start_mark.column + 1);
            else if (check_no_nul(L, key->p, &v))
                ok = put_file_value(L, key->p,
                                    arena_strndup(&L->c->mem, (const char *)v.data.scalar.value,
                                                  v.data.scalar.length),
                                    NULL, 0, false, v.start_mark);
            else
                ok = false;
            break;
        case YAML_MAPPING_START_EVENT:
            if (depth + 1 >= MAX_NESTING) {
                ok = file_fail(L, "settings nested more than %d levels deep under [%s]", MAX_NESTING, key->p);
                break;
            }
            buf_putc(key, '.');
            ok = parse_map(L, key, depth + 1);
            break;
        case YAML_SEQUENCE_START_EVENT:
            ok = parse_list(L, key->p, v.start_mark);
            break;
        default:
            ok = file_fail(L, "unsupported value for key [%s]: YAML %s at line number [%zu], column number [%zu]",
                           key->p, v.type == YAML_ALIAS_EVENT ? "aliases are not supported" : "event",
                           v.start_mark.line + 1, v.start_mark.column + 1);
            break;
        }
        yaml_event_delete(&v);
        if (!ok) return false;
        key->len = base;
        key->p[base] = 0;
    }
}

static bool parse_yaml(loader *L)
{
    yaml_event_t ev;
    if (!next_event(L, &ev)) return false; /* stream start */
    yaml_event_delete(&ev);
    if (!next_event(L, &ev)) return false;
    if (ev.type == YAML_STREAM_END_EVENT) { /* nothing but comments and blanks */
        yaml_event_delete(&ev);
        return true;
    }
    yaml_event_delete(&ev); /* document start */
    if (!next_event(L, &ev)) return false;
    bool ok = true;
    if (ev.type == YAML_MAPPING_START_EVENT) {
        buf key = { 0 };
        buf_puts(&key, ""); /* so key.p is a valid empty string */
        ok = parse_map(L, &key, 0);
        buf_free(&key);
    } else if (!(ev.type == YAML_SCALAR_EVENT && is_null_scalar(&ev))) {
        ok = file_fail(L, "malformed, expected settings to start with a map of keys, found %s at line number "
                          "[%zu], column number [%zu]",
                       event_shape(&ev), ev.start_mark.line + 1, ev.start_mark.column + 1);
    }
    yaml_event_delete(&ev);
    if (!ok) return false;
    if (!next_event(L, &ev)) return false; /* document end */
    yaml_event_delete(&ev);
    if (!next_event(L, &ev)) return false;
    if (ev.type != YAML_STREAM_END_EVENT)
        ok = file_fail(L, "malformed, expected end of settings but encountered additional content starting at "
                          "line number [%zu], column number [%zu]",
                       ev.start_mark.line + 1, ev.start_mark.column + 1);
    yaml_event_delete(&ev);
    return ok;
}

/* Reads the whole file; a missing file reads as empty. */
static bool read_file(loader *L, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(L->c->file, "rb");
    if (!f) {
        if (errno == ENOENT) return true;
        return file_fail(L, "%s", strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return file_fail(L, "it is a directory");
    }
    buf b = { 0 };
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_append(&b, chunk, got);
        if (b.len > MAX_FILE_SIZE) break;
    }
    bool failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed || b.len > MAX_FILE_SIZE) {
        buf_free(&b);
        return failed ? file_fail(L, "%s", strerror(saved)) : file_fail(L, "the file is larger than %u bytes",
                                                                       MAX_FILE_SIZE);
    }
    *len = b.len;
    *text = buf_detach(&b, NULL);
    return true;
}

/* ------------------------------------------------------------------------ */
/* Loading: -E overrides */

static bool apply_overrides(loader *L, const char *const *overrides, size_t n)
{
    config *c = L->c;
    for (size_t i = 0; i < n; i++) {
        const char *o = overrides[i];
        if (!o) continue;
        const char *eq = strchr(o, '=');
        if (!eq || eq == o) return cli_fail(L, "value must be of form key=value, found [%s]", o);
        char *key = xstrndup(o, (size_t)(eq - o));
        const char *value = eq + 1;
        bool ok = true;
        if (!*value) ok = cli_fail(L, "setting [%s] must not be empty", key);
        for (size_t j = 0; j < i && ok; j++) {
            const char *p = overrides[j];
            if (p && strncmp(p, key, (size_t)(eq - o)) == 0 && p[eq - o] == '=')
                ok = cli_fail(L, "setting [%s] already set, saw [%s] and [%s]", key, p + (eq - o) + 1, value);
        }
        if (ok) {
            size_t pos;
            entry *e = find_entry(c, key, &pos);
            if (!e) e = insert_entry(c, key, pos);
            e->value = arena_strndup(&c->mem, value, strlen(value));
            e->items = NULL;
            e->n_items = 0;
            e->yaml_list = false;
            e->from_cli = true;
        }
        free(key);
        if (!ok) return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Loading: ${...} placeholders, as Elasticsearch's PropertyPlaceholder: the
 * name is looked up in the environment, then among the settings; "${A:b}"
 * falls back to b; resolved text is itself resolved; cycles are errors. */

typedef struct resolver {
    const config *c;
    const char *stack[MAX_PLACEHOLDER_DEPTH];
    size_t depth;
    value_error err;
} resolver;

static const char *lookup_placeholder(const resolver *r, const char *name)
{
    const char *v = getenv(name);
    if (v) return v;
    const entry *e = find_entry(r->c, name, NULL);
    return e ? e->value : NULL;
}

/* The '}' that closes a "${" whose inside starts at p, or NULL. */
static const char *placeholder_end(const char *p)
{
    int nested = 0;
    for (; *p; p++) {
        if (p[0] == '$' && p[1] == '{') {
            nested++;
            p++;
        } else if (*p == '}') {
            if (nested == 0) return p;
            nested--;
        }
    }
    return NULL;
}

static bool resolve_text(resolver *r, const char *in, buf *out)
{
    const char *p = in;
    for (;;) {
        const char *s = strstr(p, "${");
        const char *end = s ? placeholder_end(s + 2) : NULL;
        if (!end) { /* no more placeholders (an unterminated one stays as written) */
            buf_puts(out, p);
            return true;
        }
        buf_append(out, p, (size_t)(s - p));
        char *raw = xstrndup(s + 2, (size_t)(end - s - 2));
        buf name = { 0 };
        bool ok = resolve_text(r, raw, &name);
        free(raw);
        if (!ok) {
            buf_free(&name);
            return false;
        }
        const char *nm = name.p ? name.p : "";
        for (size_t i = 0; i < r->depth && ok; i++)
            if (strcmp(r->stack[i], nm) == 0)
                ok = verr(&r->err, false, false,
                          xasprintf("Circular placeholder reference '%s' in property definitions", nm));
        if (ok && r->depth == MAX_PLACEHOLDER_DEPTH)
            ok = verr(&r->err, false, false,
                      xasprintf("placeholders nested more than %d deep at '%s'", MAX_PLACEHOLDER_DEPTH, nm));
        if (ok) {
            const char *val = lookup_placeholder(r, nm);
            const char *colon = strchr(nm, ':');
            if (!val && colon) {
                char *head = xstrndup(nm, (size_t)(colon - nm));
                val = lookup_placeholder(r, head);
                free(head);
                if (!val) val = colon + 1;
            }
            if (!val) {
                ok = verr(&r->err, false, false, xasprintf("Could not resolve placeholder '%s'", nm));
            } else {
                r->stack[r->depth++] = nm;
                ok = resolve_text(r, val, out);
                r->depth--;
            }
        }
        buf_free(&name);
        if (!ok) return false;
        p = end + 1;
    }
}

static const char *resolve_value(loader *L, resolver *r, const char *v)
{
    if (!strstr(v, "${")) return v;
    buf out = { 0 };
    r->depth = 0;
    const char *res = NULL;
    if (resolve_text(r, v, &out)) res = arena_strndup(&L->c->mem, out.p ? out.p : "", out.len);
    buf_free(&out);
    return res;
}

static bool resolve_placeholders(loader *L)
{
    config *c = L->c;
    resolver r = { .c = c };
    for (size_t i = 0; i < c->n; i++) {
        entry *e = &c->e[i];
        if (e->yaml_list) {
            for (size_t j = 0; j < e->n_items; j++) {
                const char *v = resolve_value(L, &r, e->items[j]);
                if (!v) return setting_fail(L, e, e->items[j], &r.err);
                e->items[j] = v;
            }
            e->value = join_items(&c->mem, e->items, e->n_items, ",");
        } else {
            const char *v = resolve_value(L, &r, e->value);
            if (!v) return setting_fail(L, e, e->value, &r.err);
            e->value = v;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Loading: validation */

typedef struct scored {
    float score;
    const char *name;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Elasticsearch's unknown-setting message, with its "did you mean" hint for
 * registered names more than 70% similar. */
static char *unknown_setting_message(const char *key)
{
    scored *s = xmalloc((g_n_defs + 1) * sizeof *s);
    size_t n = 0;
    for (size_t i = 0; i < g_n_defs; i++) {
        float sim = str_similarity(key, g_defs[i]->name);
        if (sim > 0.7f) s[n++] = (scored){ sim, g_defs[i]->name };
    }
    qsort(s, n, sizeof *s, cmp_scored);
    buf b = { 0 };
    buf_printf(&b, "unknown setting [%s]", key);
    if (n == 1) {
        buf_printf(&b, " did you mean [%s]?", s[0].name);
    } else if (n > 1) {
        buf_puts(&b, " did you mean any of [");
        for (size_t i = 0; i < n; i++) buf_printf(&b, "%s%s", i ? ", " : "", s[i].name);
        buf_puts(&b, "]?");
    } else {
        buf_puts(&b, " please check that any required plugins are installed, or check the breaking changes "
                     "documentation for removed settings");
    }
    free(s);
    return buf_detach(&b, NULL);
}

static bool validate_entry(loader *L, entry *e)
{
    config *c = L->c;
    value_error err = { 0 };
    const setting_def *d = config_find_def(e->key);
    if (!d) {
        char *shown = display_value(e);
        err = (value_error){ unknown_setting_message(e->key), true, false };
        setting_fail(L, e, shown, &err);
        free(shown);
        return false;
    }
    if (d->type == SETTING_LIST) {
        if (!e->yaml_list) e->items = split_list(&c->mem, e->value, &e->n_items);
        for (size_t i = 0; i < e->n_items; i++)
            if (!run_validator(d, e->key, e->items[i], &err)) return setting_fail(L, e, e->items[i], &err);
        return true;
    }
    if (e->yaml_list) {
        char *shown = display_value(e);
        err = (value_error){ xasprintf("Found list type value for setting [%s] but did not expect a list for it.",
                                       e->key),
                             true, false };
        setting_fail(L, e, shown, &err);
        free(shown);
        return false;
    }
    long off = -1;
    size_t len = 0;
    if (!check_scalar(d, e->key, e->value, &err, &off, &len)) return setting_fail(L, e, e->value, &err);
    if (d->type == SETTING_ENUM && off >= 0) /* store the spelling the definition uses */
        e->value = arena_strndup(&c->mem, d->choices + off, len);
    return true;
}

static void add_default_list(config *c, const setting_def *d)
{
    if (d->type != SETTING_LIST || !d->def) return;
    c->defaults = xrealloc(c->defaults, (c->n_defaults + 1) * sizeof *c->defaults);
    default_list *dl = &c->defaults[c->n_defaults++];
    dl->def = d;
    dl->items = split_list(&c->mem, d->def, &dl->n);
}

/* ------------------------------------------------------------------------ */
/* Public: load / free */

config *config_load(const char *conf_dir, const char *const *overrides, size_t n_overrides, char **errmsg)
{
    if (errmsg) *errmsg = NULL;
    config *c = xcalloc(1, sizeof *c);
    c->dir = xstrdup(conf_dir && *conf_dir ? conf_dir : ".");
    size_t dl = strlen(c->dir);
    c->file = xasprintf("%s%s" CONFIG_FILE, c->dir, c->dir[dl - 1] == '/' ? "" : "/");

    loader L = { .c = c };
    char *text = NULL;
    size_t len = 0;
    bool ok = read_file(&L, &text, &len);
    if (ok && len) {
        if (!yaml_parser_initialize(&L.parser)) {
            ok = file_fail(&L, "could not initialise the YAML parser");
        } else {
            yaml_parser_set_input_string(&L.parser, (const unsigned char *)text, len);
            ok = parse_yaml(&L);
            yaml_parser_delete(&L.parser);
        }
    }
    free(text);
    ok = ok && apply_overrides(&L, overrides, overrides ? n_overrides : 0);
    ok = ok && resolve_placeholders(&L);
    for (size_t i = 0; ok && i < c->n; i++) ok = validate_entry(&L, &c->e[i]);
    if (!ok) {
        if (errmsg) *errmsg = L.err ? L.err : xstrdup("invalid configuration");
        else free(L.err);
        config_free(c);
        return NULL;
    }
    for (size_t i = 0; i < g_n_defs; i++) add_default_list(c, g_defs[i]);
    for (size_t i = 0; i < g_n_groups; i++) add_default_list(c, g_groups[i]);
    return c;
}

void config_free(config *c)
{
    if (!c) return;
    arena_free(&c->mem);
    free(c->e);
    free(c->defaults);
    free(c->dir);
    free(c->file);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* Public: getters */

/* Names asked for that no definition covers: warned about once each. */
static pthread_mutex_t g_warn_lock = PTHREAD_MUTEX_INITIALIZER;
static char **g_warned;
static size_t g_n_warned;

static void warn_once(const char *name, const char *what)
{
    pthread_mutex_lock(&g_warn_lock);
    bool seen = false;
    for (size_t i = 0; i < g_n_warned && !seen; i++) seen = strcmp(g_warned[i], name) == 0;
    if (!seen && g_n_warned < 256) {
        g_warned = xrealloc(g_warned, (g_n_warned + 1) * sizeof *g_warned);
        g_warned[g_n_warned++] = xstrdup(name);
        log_warn(MOD, "setting [%s] %s", name, what);
    }
    pthread_mutex_unlock(&g_warn_lock);
}

/* The explicit value or the default; NULL (after a warning) for a name no
 * definition covers. */
static const char *value_of(const config *c, const char *name, const setting_def **dout)
{
    if (!name) return NULL;
    const setting_def *d = config_find_def(name);
    if (dout) *dout = d;
    const entry *e = c ? find_entry(c, name, NULL) : NULL;
    if (e) return e->value;
    if (!d) {
        warn_once(name, "is read but was never registered");
        return NULL;
    }
    return d->def;
}

const char *config_dir(const config *c)
{
    return c ? c->dir : NULL;
}

bool config_is_set(const config *c, const char *name)
{
    return c && name && find_entry(c, name, NULL) != NULL;
}

const char *config_str(const config *c, const char *name)
{
    return value_of(c, name, NULL);
}

bool config_bool(const config *c, const char *name)
{
    bool b = false;
    const char *v = value_of(c, name, NULL);
    return v && parse_bool_es(v, &b) ? b : false;
}

int64_t config_int(const config *c, const char *name)
{
    int64_t i = 0;
    const char *v = value_of(c, name, NULL);
    return v && parse_int_es(v, &i) ? i : 0;
}

int64_t config_bytes(const config *c, const char *name)
{
    int64_t i = 0;
    const char *v = value_of(c, name, NULL);
    return v && parse_bytes_es(v, &i) == PV_OK ? i : 0;
}

int64_t config_time_ms(const config *c, const char *name)
{
    int64_t i = 0;
    const char *v = value_of(c, name, NULL);
    return v && parse_time_es(v, &i) == PV_OK ? i : 0;
}

const char *const *config_list(const config *c, const char *name, size_t *n)
{
    static const char *const empty[] = { NULL };
    size_t dummy;
    if (!n) n = &dummy;
    *n = 0;
    if (!name) return empty;
    const entry *e = c ? find_entry(c, name, NULL) : NULL;
    if (e && e->items) {
        *n = e->n_items;
        return e->items;
    }
    const setting_def *d = config_find_def(name);
    if (!d) {
        warn_once(name, "is read but was never registered");
        return empty;
    }
    if (d->type != SETTING_LIST) {
        warn_once(name, "is read as a list but is not a list setting");
        return empty;
    }
    for (size_t i = 0; c && i < c->n_defaults; i++) {
        if (c->defaults[i].def == d) {
            *n = c->defaults[i].n;
            return c->defaults[i].items;
        }
    }
    return empty;
}

char *config_resolve_path(const config *c, const char *path)
{
    if (!path) return NULL;
    if (path[0] == '/' || !c) return xstrdup(path);
    if (!*path) return xstrdup(c->dir);
    size_t dl = strlen(c->dir);
    return xasprintf("%s%s%s", c->dir, c->dir[dl - 1] == '/' ? "" : "/", path);
}

size_t config_count(const config *c)
{
    return c ? c->n : 0;
}

const char *config_key_at(const config *c, size_t i)
{
    return c && i < c->n ? c->e[i].key : NULL;
}
