/*
 * date.c — Elasticsearch date formats: named built-ins and Java-style
 * patterns compiled into a small token program, parsed into seconds +
 * nanoseconds since the epoch (proleptic Gregorian, UTC unless a zone is
 * given).
 */
#include "index/index.h"
#include "index/index_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Calendar arithmetic. */

int64_t date_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Era-based conversion: shift the year so it starts in March. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

void date_format_iso(int64_t sec, int32_t nanos, buf *out)
{
    int64_t days = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
    int64_t rem = sec - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y > 9999) buf_printf(out, "+%lld", (long long)y);
    else if (y < 0) buf_printf(out, "-%04lld", (long long)-y);
    else buf_printf(out, "%04lld", (long long)y);
    buf_printf(out, "-%02u-%02uT%02d:%02d:%02d", m, d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (nanos) {
        if (nanos % 1000000 == 0) buf_printf(out, ".%03d", nanos / 1000000);
        else if (nanos % 1000 == 0) buf_printf(out, ".%06d", nanos / 1000);
        else buf_printf(out, ".%09d", nanos);
    }
    buf_putc(out, 'Z');
}

/* ------------------------------------------------------------------------ */
/* The token program. */

typedef enum {
    T_LIT,      /* literal text */
    T_YEAR,     /* min..max digits; two_digit: yy */
    T_MONTH,    /* numeric */
    T_MONTH_TXT,/* MMM / MMMM */
    T_DAY,
    T_DOY,
    T_HOUR,     /* 0-23 */
    T_HOUR12,   /* 1-12 with AM/PM */
    T_HOUR_K,   /* 1-24 */
    T_MIN,
    T_SEC,
    T_FRAC,     /* min..max digits; sep: accept a leading '.' or ',' first (named formats) */
    T_AMPM,
    T_DAYNAME,
    T_ZONE,     /* any offset form or Z */
    T_ZONE_ID,  /* UTC / GMT / Z / offset */
    T_OPT,      /* optional group: sub program */
    T_EPOCH_MS,
    T_EPOCH_S,
} tok_kind;

typedef struct tok tok;
struct tok {
    tok_kind kind;
    int min, max;      /* digit widths */
    bool two_digit;    /* yy */
    bool sep;          /* T_FRAC: consumes its own '.'/',' */
    char *lit;         /* T_LIT */
    tok *sub;          /* T_OPT */
    size_t n_sub;
};

typedef struct alt {
    tok *toks;
    size_t n;
    bool epoch;        /* an epoch_* alternative */
} alt;

struct date_format {
    char *spec;
    alt *alts;
    size_t n_alts;
};

static void toks_free(tok *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].lit);
        toks_free(t[i].sub, t[i].n_sub);
    }
    free(t);
}

void date_format_free(date_format *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n_alts; i++) toks_free(f->alts[i].toks, f->alts[i].n);
    free(f->alts);
    free(f->spec);
    free(f);
}

const char *date_format_spec(const date_format *f) { return f->spec; }

/* Named formats as patterns in the internal dialect: '~' is a fraction with its
 * own separator (1-9 digits), '%' any zone offset. */
static const struct { const char *name; const char *pat; } named_formats[] = {
    { "strict_date_optional_time", "yyyy[-MM[-dd['T'HH[:mm[:ss[~]]][%]]]]" },
    { "strict_date_optional_time_nanos", "yyyy[-MM[-dd['T'HH[:mm[:ss[~]]][%]]]]" },
    { "date_optional_time", "y[-M[-d['T'H[:m[:s[~]]][%]]]]" },
    { "iso8601", "y[-M[-d['T'H[:m[:s[~]]][%]]]]" },
    { "basic_date", "yyyyMMdd" },
    { "basic_date_time", "yyyyMMdd'T'HHmmss~%" },
    { "basic_date_time_no_millis", "yyyyMMdd'T'HHmmss%" },
    { "basic_ordinal_date", "yyyyDDD" },
    { "basic_ordinal_date_time", "yyyyDDD'T'HHmmss~%" },
    { "basic_ordinal_date_time_no_millis", "yyyyDDD'T'HHmmss%" },
    { "basic_time", "HHmmss~%" },
    { "basic_time_no_millis", "HHmmss%" },
    { "basic_t_time", "'T'HHmmss~%" },
    { "basic_t_time_no_millis", "'T'HHmmss%" },
    { "strict_date", "yyyy-MM-dd" },
    { "date", "y-M-d" },
    { "strict_date_hour", "yyyy-MM-dd'T'HH" },
    { "date_hour", "y-M-d'T'H" },
    { "strict_date_hour_minute", "yyyy-MM-dd'T'HH:mm" },
    { "date_hour_minute", "y-M-d'T'H:m" },
    { "strict_date_hour_minute_second", "yyyy-MM-dd'T'HH:mm:ss" },
    { "date_hour_minute_second", "y-M-d'T'H:m:s" },
    { "strict_date_hour_minute_second_fraction", "yyyy-MM-dd'T'HH:mm:ss~" },
    { "date_hour_minute_second_fraction", "y-M-d'T'H:m:s~" },
    { "strict_date_hour_minute_second_millis", "yyyy-MM-dd'T'HH:mm:ss~" },
    { "date_hour_minute_second_millis", "y-M-d'T'H:m:s~" },
    { "strict_date_time", "yyyy-MM-dd'T'HH:mm:ss~%" },
    { "date_time", "y-M-d'T'H:m:s~%" },
    { "strict_date_time_no_millis", "yyyy-MM-dd'T'HH:mm:ss%" },
    { "date_time_no_millis", "y-M-d'T'H:m:s%" },
    { "strict_hour", "HH" },
    { "hour", "H" },
    { "strict_hour_minute", "HH:mm" },
    { "hour_minute", "H:m" },
    { "strict_hour_minute_second", "HH:mm:ss" },
    { "hour_minute_second", "H:m:s" },
    { "strict_hour_minute_second_fraction", "HH:mm:ss~" },
    { "hour_minute_second_fraction", "H:m:s~" },
    { "strict_hour_minute_second_millis", "HH:mm:ss~" },
    { "hour_minute_second_millis", "H:m:s~" },
    { "strict_ordinal_date", "yyyy-DDD" },
    { "ordinal_date", "y-D" },
    { "strict_ordinal_date_time", "yyyy-DDD'T'HH:mm:ss~%" },
    { "ordinal_date_time", "y-D'T'H:m:s~%" },
    { "strict_ordinal_date_time_no_millis", "yyyy-DDD'T'HH:mm:ss%" },
    { "ordinal_date_time_no_millis", "y-D'T'H:m:s%" },
    { "strict_time", "HH:mm:ss~%" },
    { "time", "H:m:s~%" },
    { "strict_time_no_millis", "HH:mm:ss%" },
    { "time_no_millis", "H:m:s%" },
    { "strict_t_time", "'T'HH:mm:ss~%" },
    { "t_time", "'T'H:m:s~%" },
    { "strict_t_time_no_millis", "'T'HH:mm:ss%" },
    { "t_time_no_millis", "'T'H:m:s%" },
    { "strict_year", "yyyy" },
    { "year", "y" },
    { "strict_year_month", "yyyy-MM" },
    { "year_month", "y-M" },
    { "strict_year_month_day", "yyyy-MM-dd" },
    { "year_month_day", "y-M-d" },
};

typedef struct compiler {
    const char *p, *end;
    bool internal;
    const char *whole; /* for messages */
    es_err *err;
} compiler;

static bool is_numeric_tok(const tok *t)
{
    switch (t->kind) {
    case T_YEAR: case T_MONTH: case T_DAY: case T_DOY: case T_HOUR: case T_HOUR12: case T_HOUR_K:
    case T_MIN: case T_SEC:
        return true;
    case T_FRAC:
        return !t->sep;
    default:
        return false;
    }
}

static void push_tok(tok **v, size_t *n, tok t)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = t;
}

static int compile_seq(compiler *c, tok **out, size_t *n_out, bool in_opt)
{
    tok *v = NULL;
    size_t n = 0;
    while (c->p < c->end) {
        char ch = *c->p;
        if (ch == ']') {
            if (!in_opt) goto bad_bracket;
            c->p++;
            *out = v;
            *n_out = n;
            return 0;
        }
        if (ch == '[') {
            c->p++;
            tok t = { .kind = T_OPT };
            if (compile_seq(c, &t.sub, &t.n_sub, true) < 0) {
                toks_free(v, n);
                return -1;
            }
            push_tok(&v, &n, t);
            continue;
        }
        if (ch == '\'') {
            c->p++;
            buf lit = { 0 };
            if (c->p < c->end && *c->p == '\'') { /* '' is a quote */
                c->p++;
                buf_putc(&lit, '\'');
            } else {
                bool closed = false;
                while (c->p < c->end) {
                    if (*c->p == '\'') {
                        if (c->p + 1 < c->end && c->p[1] == '\'') {
                            buf_putc(&lit, '\'');
                            c->p += 2;
                            continue;
                        }
                        c->p++;
                        closed = true;
                        break;
                    }
                    buf_putc(&lit, *c->p++);
                }
                if (!closed) {
                    buf_free(&lit);
                    toks_free(v, n);
                    return es_err_set(c->err, ES_ILLEGAL_ARGUMENT, "Invalid format: [%s]: Pattern ends with an incomplete string literal: %s",
                                      c->whole, c->whole);
                }
            }
            tok t = { .kind = T_LIT, .lit = buf_detach(&lit, NULL) };
            if (!t.lit) t.lit = xstrdup("");
            push_tok(&v, &n, t);
            continue;
        }
        if (c->internal && (ch == '~' || ch == '%')) {
            c->p++;
            tok t = { .kind = ch == '~' ? T_FRAC : T_ZONE, .min = 1, .max = 9, .sep = ch == '~' };
            push_tok(&v, &n, t);
            continue;
        }
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
            int cnt = 0;
            while (c->p < c->end && *c->p == ch) {
                cnt++;
                c->p++;
            }
            tok t = { 0 };
            switch (ch) {
            case 'y': case 'u': case 'Y':
                t.kind = T_YEAR;
                if (cnt == 2) {
                    t.min = t.max = 2;
                    t.two_digit = true;
                } else {
                    t.min = cnt;
                    t.max = cnt < 4 ? 9 : (cnt > 9 ? cnt : 9);
                    if (c->internal && cnt == 4) t.max = 4; /* built-in strict formats: four digits */
                }
                break;
            case 'M': case 'L':
                if (cnt >= 3) t.kind = T_MONTH_TXT;
                else { t.kind = T_MONTH; t.min = cnt; t.max = 2; }
                break;
            case 'd': t.kind = T_DAY; t.min = cnt; t.max = 2; break;
            case 'D': t.kind = T_DOY; t.min = cnt; t.max = 3; break;
            case 'H': t.kind = T_HOUR; t.min = cnt; t.max = 2; break;
            case 'k': t.kind = T_HOUR_K; t.min = cnt; t.max = 2; break;
            case 'h': case 'K': t.kind = T_HOUR12; t.min = cnt; t.max = 2; break;
            case 'm': t.kind = T_MIN; t.min = cnt; t.max = 2; break;
            case 's': t.kind = T_SEC; t.min = cnt; t.max = 2; break;
            case 'S': case 'n': t.kind = T_FRAC; t.min = t.max = cnt > 9 ? 9 : cnt; break;
            case 'a': t.kind = T_AMPM; break;
            case 'E': case 'e': t.kind = T_DAYNAME; break;
            case 'Z': case 'X': case 'x': case 'O': t.kind = T_ZONE; break;
            case 'z': case 'V': t.kind = T_ZONE_ID; break;
            default:
                toks_free(v, n);
                return es_err_set(c->err, ES_ILLEGAL_ARGUMENT, "Invalid format: [%s]: Unknown pattern letter: %c", c->whole, ch);
            }
            push_tok(&v, &n, t);
            continue;
        }
        /* Any other character is a literal. */
        tok t = { .kind = T_LIT, .lit = xstrndup(c->p, 1) };
        c->p++;
        push_tok(&v, &n, t);
    }
    if (in_opt) {
        toks_free(v, n);
        return es_err_set(c->err, ES_ILLEGAL_ARGUMENT, "Invalid format: [%s]: Pattern invalid as it contains [ without matching ]",
                          c->whole);
    }
    *out = v;
    *n_out = n;
    return 0;
bad_bracket:
    toks_free(v, n);
    return es_err_set(c->err, ES_ILLEGAL_ARGUMENT, "Invalid format: [%s]: Pattern invalid as it contains ] without previous [",
                      c->whole);
}

/* Adjacent numeric fields (yyyyMMdd) parse with fixed widths, as Java's adjacent value parsing. */
static void fix_adjacent(tok *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind == T_OPT) fix_adjacent(v[i].sub, v[i].n_sub);
        if (i + 1 < n && is_numeric_tok(&v[i]) && is_numeric_tok(&v[i + 1])) {
            int w;
            if (v[i].kind == T_YEAR) w = v[i].two_digit ? 2 : 4;
            else if (v[i].kind == T_DOY) w = 3;
            else if (v[i].kind == T_FRAC) w = v[i].min;
            else w = 2;
            if (v[i].min > w) w = v[i].min;
            v[i].min = v[i].max = w;
        }
    }
}

static int compile_alt(const char *s, size_t len, const char *whole, alt *a, es_err *err)
{
    memset(a, 0, sizeof *a);
    char name[64];
    if (len < sizeof name) {
        memcpy(name, s, len);
        name[len] = 0;
        if (strcmp(name, "epoch_millis") == 0 || strcmp(name, "epoch_second") == 0) {
            tok t = { .kind = name[6] == 'm' ? T_EPOCH_MS : T_EPOCH_S };
            push_tok(&a->toks, &a->n, t);
            a->epoch = true;
            return 0;
        }
        for (size_t i = 0; i < ARRAY_LEN(named_formats); i++) {
            if (strcmp(name, named_formats[i].name) == 0) {
                compiler c = { named_formats[i].pat, named_formats[i].pat + strlen(named_formats[i].pat), true, whole, err };
                if (compile_seq(&c, &a->toks, &a->n, false) < 0) return -1;
                fix_adjacent(a->toks, a->n);
                return 0;
            }
        }
    }
    compiler c = { s, s + len, false, whole, err };
    if (compile_seq(&c, &a->toks, &a->n, false) < 0) return -1;
    fix_adjacent(a->toks, a->n);
    return 0;
}

date_format *date_format_compile(const char *spec, es_err *err)
{
    if (!spec || !*spec) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "No date pattern provided");
        return NULL;
    }
    date_format *f = xcalloc(1, sizeof *f);
    f->spec = xstrdup(spec);
    const char *p = spec;
    for (;;) {
        const char *bar = strstr(p, "||");
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == 0) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid format: [%s]: empty pattern", spec);
            date_format_free(f);
            return NULL;
        }
        f->alts = xrealloc(f->alts, (f->n_alts + 1) * sizeof *f->alts);
        if (compile_alt(p, len, spec, &f->alts[f->n_alts], err) < 0) {
            date_format_free(f);
            return NULL;
        }
        f->n_alts++;
        if (!bar) break;
        p = bar + 2;
    }
    return f;
}

/* ------------------------------------------------------------------------ */
/* Parsing. */

typedef struct fields {
    int64_t year;
    int month, day, doy, hour, min, sec, nanos;
    int ampm;          /* -1 none, 0 am, 1 pm */
    bool hour12, have_year, have_month, have_day, have_doy;
    int offset_sec;
    bool have_offset;
} fields;

static const char *const month_names[] = { "january", "february", "march", "april", "may", "june", "july",
                                           "august", "september", "october", "november", "december" };
static const char *const day_names[] = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" };

static int read_digits(const char *s, size_t len, size_t *pos, int min, int max, int64_t *out)
{
    size_t i = *pos;
    int64_t v = 0;
    int n = 0;
    while (i < len && n < max && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + (s[i] - '0');
        i++;
        n++;
    }
    if (n < min || n == 0) return -1;
    *pos = i;
    *out = v;
    return n;
}

static bool match_name(const char *s, size_t len, size_t *pos, const char *const *names, size_t count, int *idx)
{
    /* Full name first, then the 3-letter abbreviation; case-insensitive. */
    for (size_t k = 0; k < count; k++) {
        size_t nl = strlen(names[k]);
        if (*pos + nl <= len && strncasecmp(s + *pos, names[k], nl) == 0) {
            *pos += nl;
            *idx = (int)k;
            return true;
        }
    }
    for (size_t k = 0; k < count; k++) {
        if (*pos + 3 <= len && strncasecmp(s + *pos, names[k], 3) == 0) {
            *pos += 3;
            *idx = (int)k;
            return true;
        }
    }
    return false;
}

static bool parse_offset(const char *s, size_t len, size_t *pos, fields *f)
{
    size_t i = *pos;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        *pos = i + 1;
        f->have_offset = true;
        f->offset_sec = 0;
        return true;
    }
    if (i >= len || (s[i] != '+' && s[i] != '-')) return false;
    int sign = s[i] == '-' ? -1 : 1;
    i++;
    int64_t hh, mm = 0;
    if (read_digits(s, len, &i, 2, 2, &hh) < 0) return false;
    if (i < len && s[i] == ':') {
        size_t j = i + 1;
        if (read_digits(s, len, &j, 2, 2, &mm) < 0) return false;
        i = j;
    } else if (i + 1 < len && s[i] >= '0' && s[i] <= '9') {
        if (read_digits(s, len, &i, 2, 2, &mm) < 0) return false;
    }
    if (hh > 18 || mm > 59) return false;
    f->have_offset = true;
    f->offset_sec = sign * (int)(hh * 3600 + mm * 60);
    *pos = i;
    return true;
}

static bool parse_toks(const tok *t, size_t n, const char *s, size_t len, size_t *pos, fields *f)
{
    for (size_t k = 0; k < n; k++) {
        const tok *x = &t[k];
        int64_t v;
        switch (x->kind) {
        case T_LIT: {
            size_t l = strlen(x->lit);
            if (*pos + l > len) return false;
            /* Literal 'T' and other letters compare case-insensitively, as Java's default. */
            if (strncasecmp(s + *pos, x->lit, l) != 0) return false;
            *pos += l;
            break;
        }
        case T_OPT: {
            fields save = *f;
            size_t p = *pos;
            if (parse_toks(x->sub, x->n_sub, s, len, &p, f)) *pos = p;
            else *f = save;
            break;
        }
        case T_YEAR: {
            bool neg = false;
            size_t p = *pos;
            if (!x->two_digit && p < len && (s[p] == '-' || s[p] == '+') && x->max > 4) {
                neg = s[p] == '-';
                p++;
            }
            int nd = read_digits(s, len, &p, x->min, x->max, &v);
            if (nd < 0) return false;
            if (neg && nd <= 4 && x->min >= 4) return false; /* a sign only beyond the pad width */
            if (x->two_digit) v += 2000;
            f->year = neg ? -v : v;
            f->have_year = true;
            *pos = p;
            break;
        }
        case T_MONTH:
            if (read_digits(s, len, pos, x->min, x->max, &v) < 0) return false;
            f->month = (int)v;
            f->have_month = true;
            break;
        case T_MONTH_TXT: {
            int idx;
            if (!match_name(s, len, pos, month_names, 12, &idx)) return false;
            f->month = idx + 1;
            f->have_month = true;
            break;
        }
        case T_DAY:
            if (read_digits(s, len, pos, x->min, x->max, &v) < 0) return false;
            f->day = (int)v;
            f->have_day = true;
            break;
        case T_DOY:
            if (read_digits(s, len, pos, x->min, x->max, &v) < 0) return false;
            f->doy = (int)v;
            f->have_doy = true;
            break;
        case T_HOUR:
        case T_HOUR12:
        case T_HOUR_K:
            if (read_digits(s, len, pos, x->min, x->max, &v) < 0) return false;
            if (x->kind == T_HOUR && v > 23) return false;
            if (x->kind == T_HOUR12 && (v < 1 || v > 12)) return false;
            if (x->kind == T_HOUR_K && (v < 1 || v > 24)) return false;
            f->hour = (int)(x->kind == T_HOUR_K && v == 24 ? 0 : v);
            f->hour12 = x->kind == T_HOUR12;
            break;
        case T_MIN:
            if (read_digits(s, len, pos, x->min, x->max, &v) < 0 || v > 59) return false;
            f->min = (int)v;
            break;
        case T_SEC:
            if (read_digits(s, len, pos, x->min, x->max, &v) < 0 || v > 59) return false;
            f->sec = (int)v;
            break;
        case T_FRAC: {
            size_t p = *pos;
            if (x->sep) {
                if (p >= len || (s[p] != '.' && s[p] != ',')) return false;
                p++;
            }
            size_t start = p;
            int nd = read_digits(s, len, &p, x->min, x->max, &v);
            if (nd < 0) return false;
            (void)start;
            for (int i = nd; i < 9; i++) v *= 10;
            f->nanos = (int)v;
            *pos = p;
            break;
        }
        case T_AMPM:
            if (*pos + 2 > len) return false;
            if (strncasecmp(s + *pos, "AM", 2) == 0) f->ampm = 0;
            else if (strncasecmp(s + *pos, "PM", 2) == 0) f->ampm = 1;
            else return false;
            *pos += 2;
            break;
        case T_DAYNAME: {
            int idx;
            if (!match_name(s, len, pos, day_names, 7, &idx)) return false;
            break;
        }
        case T_ZONE:
            if (!parse_offset(s, len, pos, f)) return false;
            break;
        case T_ZONE_ID:
            if (*pos + 3 <= len && (strncmp(s + *pos, "UTC", 3) == 0 || strncmp(s + *pos, "GMT", 3) == 0)) {
                *pos += 3;
                f->have_offset = true;
                f->offset_sec = 0;
                if (*pos < len && (s[*pos] == '+' || s[*pos] == '-')) return parse_offset(s, len, pos, f);
            } else if (!parse_offset(s, len, pos, f)) {
                return false;
            }
            break;
        case T_EPOCH_MS:
        case T_EPOCH_S:
            return false; /* handled separately */
        }
    }
    return true;
}

/* epoch_millis / epoch_second: optional '-', digits, optional '.' fraction. */
static bool parse_epoch(const char *s, size_t len, bool millis, int64_t *sec, int32_t *nanos)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    size_t ds = i;
    uint64_t whole = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (whole > 922337203685477580ULL) return false;
        whole = whole * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    if (i == ds) return false;
    int64_t frac_n = 0; /* fraction of the unit in nanos-of-unit (9 digits) */
    if (i < len && s[i] == '.') {
        i++;
        int nd = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 9) {
                frac_n = frac_n * 10 + (s[i] - '0');
                nd++;
            }
            i++;
        }
        for (; nd < 9; nd++) frac_n *= 10;
    }
    if (i != len) return false;
    /* total nanos = (whole + frac) * unit */
    __int128 total;
    if (millis) total = (__int128)whole * 1000000 + frac_n / 1000;
    else total = (__int128)whole * 1000000000 + frac_n;
    if (neg) total = -total;
    __int128 q = total / 1000000000, r = total % 1000000000;
    if (r < 0) {
        r += 1000000000;
        q -= 1;
    }
    if (q > INT64_MAX / 2 || q < INT64_MIN / 2) return false;
    *sec = (int64_t)q;
    *nanos = (int32_t)r;
    return true;
}

static bool resolve(const fields *f, int64_t *sec, int32_t *nanos)
{
    int64_t y = f->have_year ? f->year : 1970;
    int month = f->have_month ? f->month : 1;
    int day = f->have_day ? f->day : 1;
    int64_t days;
    if (f->have_doy) {
        int ylen = is_leap(y) ? 366 : 365;
        if (f->doy < 1 || f->doy > ylen) return false;
        days = date_days_from_civil(y, 1, 1) + f->doy - 1;
    } else {
        if (month < 1 || month > 12) return false;
        if (day < 1 || (unsigned)day > days_in_month(y, (unsigned)month)) return false;
        days = date_days_from_civil(y, (unsigned)month, (unsigned)day);
    }
    int hour = f->hour;
    if (f->hour12) {
        if (f->ampm < 0) return false;
        hour = hour % 12 + (f->ampm == 1 ? 12 : 0);
    } else if (f->ampm >= 0 && hour <= 12) {
        hour = hour % 12 + (f->ampm == 1 ? 12 : 0);
    }
    *sec = days * 86400 + hour * 3600 + f->min * 60 + f->sec - (f->have_offset ? f->offset_sec : 0);
    *nanos = f->nanos;
    return true;
}

bool date_format_parse(const date_format *fmt, const char *s, size_t len, bool skip_epoch, int64_t *sec,
                       int32_t *nanos)
{
    for (size_t a = 0; a < fmt->n_alts; a++) {
        const alt *al = &fmt->alts[a];
        if (al->epoch) {
            if (skip_epoch) continue;
            if (parse_epoch(s, len, al->toks[0].kind == T_EPOCH_MS, sec, nanos)) return true;
            continue;
        }
        fields f = { .ampm = -1 };
        size_t pos = 0;
        if (!parse_toks(al->toks, al->n, s, len, &pos, &f) || pos != len) continue;
        if (resolve(&f, sec, nanos)) return true;
    }
    return false;
}

bool date_format_parse_millis(const date_format *f, const char *s, size_t len, int64_t *ms)
{
    int64_t sec;
    int32_t ns;
    if (!date_format_parse(f, s, len, false, &sec, &ns)) return false;
    if (sec > INT64_MAX / 1000 - 1 || sec < INT64_MIN / 1000 + 1) return false;
    *ms = sec * 1000 + ns / 1000000;
    return true;
}
