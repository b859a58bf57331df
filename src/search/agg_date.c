/*
 * agg_date.c — printing dates as Elasticsearch's DateFormatters do (the
 * named formats and Java-style patterns, first alternative of a "a||b"
 * spec), time zones as UTC or fixed offsets, and calendar rounding for
 * date_histogram (second … year; weeks start on Monday, ISO).
 *
 * Region time zones ("Europe/Paris") are refused with a clear error: fixed
 * offsets cover every instant exactly, DST rules would need the tz database.
 */
#include "search/agg_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Civil dates                                                              */

void agg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

static int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

/* ------------------------------------------------------------------------ */
/* Printer                                                                  */

typedef enum {
    P_LIT, P_YEAR, P_YEAR2, P_MONTH, P_MONTH_TEXT, P_DAY, P_DOY, P_HOUR, P_HOUR_K, P_HOUR12, P_HOUR12_K, P_AMPM,
    P_MIN, P_SEC, P_FRAC, P_FRAC_NANOS, P_DOW, P_OFF_X, P_OFF_Z, P_OFF_x, P_ZONE_ID, P_EPOCH_MS, P_EPOCH_S,
} ptok_kind;

typedef struct ptok {
    ptok_kind k;
    int width;        /* digits / letter count */
    char *lit;
} ptok;

struct dfmt {
    ptok *t;
    size_t n;
};

static void push(dfmt *f, ptok t)
{
    f->t = xrealloc(f->t, (f->n + 1) * sizeof *f->t);
    f->t[f->n++] = t;
}

static void push_lit(dfmt *f, const char *s, size_t n)
{
    if (!n) return;
    if (f->n && f->t[f->n - 1].k == P_LIT) {
        ptok *p = &f->t[f->n - 1];
        size_t old = strlen(p->lit);
        p->lit = xrealloc(p->lit, old + n + 1);
        memcpy(p->lit + old, s, n);
        p->lit[old + n] = 0;
        return;
    }
    push(f, (ptok){ P_LIT, 0, xstrndup(s, n) });
}

void dfmt_free(dfmt *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free(f->t[i].lit);
    free(f->t);
    free(f);
}

static const struct {
    const char *name;
    const char *pattern;
} named[] = {
    { "date_optional_time", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" },
    { "strict_date_optional_time", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" },
    { "strict_date_optional_time_nanos", "yyyy-MM-dd'T'HH:mm:ss.\x01XXX" },
    { "date_time", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" },
    { "date_time_no_millis", "yyyy-MM-dd'T'HH:mm:ssXXX" },
    { "basic_date", "yyyyMMdd" },
    { "basic_date_time", "yyyyMMdd'T'HHmmss.SSSXX" },
    { "basic_date_time_no_millis", "yyyyMMdd'T'HHmmssXX" },
    { "basic_ordinal_date", "yyyyDDD" },
    { "basic_ordinal_date_time", "yyyyDDD'T'HHmmss.SSSXX" },
    { "basic_ordinal_date_time_no_millis", "yyyyDDD'T'HHmmssXX" },
    { "basic_time", "HHmmss.SSSXX" },
    { "basic_time_no_millis", "HHmmssXX" },
    { "basic_t_time", "'T'HHmmss.SSSXX" },
    { "basic_t_time_no_millis", "'T'HHmmssXX" },
    { "date", "yyyy-MM-dd" },
    { "date_hour", "yyyy-MM-dd'T'HH" },
    { "date_hour_minute", "yyyy-MM-dd'T'HH:mm" },
    { "date_hour_minute_second", "yyyy-MM-dd'T'HH:mm:ss" },
    { "date_hour_minute_second_fraction", "yyyy-MM-dd'T'HH:mm:ss.SSS" },
    { "date_hour_minute_second_millis", "yyyy-MM-dd'T'HH:mm:ss.SSS" },
    { "hour", "HH" },
    { "hour_minute", "HH:mm" },
    { "hour_minute_second", "HH:mm:ss" },
    { "hour_minute_second_fraction", "HH:mm:ss.SSS" },
    { "hour_minute_second_millis", "HH:mm:ss.SSS" },
    { "ordinal_date", "yyyy-DDD" },
    { "ordinal_date_time", "yyyy-DDD'T'HH:mm:ss.SSSXXX" },
    { "ordinal_date_time_no_millis", "yyyy-DDD'T'HH:mm:ssXXX" },
    { "time", "HH:mm:ss.SSSXXX" },
    { "time_no_millis", "HH:mm:ssXXX" },
    { "t_time", "'T'HH:mm:ss.SSSXXX" },
    { "t_time_no_millis", "'T'HH:mm:ssXXX" },
    { "year", "yyyy" },
    { "year_month", "yyyy-MM" },
    { "year_month_day", "yyyy-MM-dd" },
    { "iso8601", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX" },
};

static int compile_pattern(dfmt *f, const char *s, es_err *err, const char *whole)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == '\x01') { /* nanos fraction: 3..9 digits, trailing zeros trimmed to 3 */
            push(f, (ptok){ P_FRAC_NANOS, 0, NULL });
            i++;
            continue;
        }
        if (c == '\'') {
            size_t j = i + 1;
            if (j < n && s[j] == '\'') {
                push_lit(f, "'", 1);
                i = j + 1;
                continue;
            }
            buf lit = { 0 };
            while (j < n) {
                if (s[j] == '\'') {
                    if (j + 1 < n && s[j + 1] == '\'') {
                        buf_putc(&lit, '\'');
                        j += 2;
                        continue;
                    }
                    break;
                }
                buf_putc(&lit, s[j++]);
            }
            push_lit(f, lit.p ? lit.p : "", lit.len);
            buf_free(&lit);
            i = j < n ? j + 1 : j;
            continue;
        }
        if (c == '[' || c == ']') { /* optional sections: everything prints */
            i++;
            continue;
        }
        if (!isalpha((unsigned char)c)) {
            push_lit(f, &s[i], 1);
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && s[j] == c) j++;
        int w = (int)(j - i);
        ptok t = { P_LIT, w, NULL };
        switch (c) {
        case 'y': case 'u': case 'Y': t.k = w == 2 ? P_YEAR2 : P_YEAR; break;
        case 'M': case 'L': t.k = w >= 3 ? P_MONTH_TEXT : P_MONTH; break;
        case 'd': t.k = P_DAY; break;
        case 'D': t.k = P_DOY; break;
        case 'H': t.k = P_HOUR; break;
        case 'k': t.k = P_HOUR_K; break;
        case 'h': t.k = P_HOUR12; break;
        case 'K': t.k = P_HOUR12_K; break;
        case 'a': t.k = P_AMPM; break;
        case 'm': t.k = P_MIN; break;
        case 's': t.k = P_SEC; break;
        case 'S': t.k = P_FRAC; break;
        case 'n': t.k = P_FRAC; t.width = 9; break;
        case 'E': case 'e': t.k = P_DOW; break;
        case 'X': t.k = P_OFF_X; break;
        case 'x': t.k = P_OFF_x; break;
        case 'Z': t.k = P_OFF_Z; break;
        case 'z': case 'V': case 'O': t.k = P_ZONE_ID; break;
        default:
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid format: [%s]: Unknown pattern letter: %c", whole, c);
            return -1;
        }
        push(f, t);
        i = j;
    }
    return 0;
}

dfmt *dfmt_compile(const char *spec, es_err *err)
{
    dfmt *f = xcalloc(1, sizeof *f);
    const char *bar = strstr(spec, "||");
    char *first = bar ? xstrndup(spec, (size_t)(bar - spec)) : xstrdup(spec);
    const char *name = first;
    if (!strcmp(name, "epoch_millis")) {
        push(f, (ptok){ P_EPOCH_MS, 0, NULL });
    } else if (!strcmp(name, "epoch_second")) {
        push(f, (ptok){ P_EPOCH_S, 0, NULL });
    } else {
        const char *pat = NULL;
        const char *base = !strncmp(name, "strict_", 7) && strcmp(name, "strict_date_optional_time") &&
                                   strcmp(name, "strict_date_optional_time_nanos")
                               ? name + 7
                               : name;
        for (size_t i = 0; i < ARRAY_LEN(named) && !pat; i++)
            if (!strcmp(named[i].name, base) || !strcmp(named[i].name, name)) pat = named[i].pattern;
        if (!pat) {
            /* a named format without a printer here: the ISO instant (what ES prints most) */
            bool known_name = true;
            for (const char *p = name; *p; p++)
                if (!(islower((unsigned char)*p) || *p == '_')) known_name = false;
            if (known_name && strchr(name, '_')) pat = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
        }
        if (compile_pattern(f, pat ? pat : name, err, spec) < 0) {
            free(first);
            dfmt_free(f);
            return NULL;
        }
    }
    free(first);
    return f;
}

bool dfmt_is_epoch(const dfmt *f)
{
    return f->n == 1 && (f->t[0].k == P_EPOCH_MS || f->t[0].k == P_EPOCH_S);
}

static void pad(buf *out, int64_t v, int width)
{
    if (v < 0) {
        buf_putc(out, '-');
        v = -v;
    }
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    for (int i = n; i < width; i++) buf_putc(out, '0');
    buf_append(out, t, (size_t)n);
}

static const char *const months[] = { "January", "February", "March", "April", "May", "June", "July",
                                      "August", "September", "October", "November", "December" };
static const char *const days[] = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday" };

static void put_offset(buf *out, int32_t tz, bool colon, bool z_for_zero, bool minutes_optional)
{
    if (tz == 0 && z_for_zero) {
        buf_putc(out, 'Z');
        return;
    }
    int32_t a = tz < 0 ? -tz : tz;
    int hh = a / 3600, mm = (a / 60) % 60, ss = a % 60;
    buf_printf(out, "%c%02d", tz < 0 ? '-' : '+', hh);
    if (minutes_optional && mm == 0 && ss == 0) return;
    buf_printf(out, colon ? ":%02d" : "%02d", mm);
    if (ss) buf_printf(out, colon ? ":%02d" : "%02d", ss);
}

void dfmt_print(const dfmt *f, int64_t sec, int32_t nanos, int32_t tz_sec, buf *out)
{
    int64_t local = sec + tz_sec;
    int64_t dayn = floor_div(local, 86400);
    int64_t sod = floor_mod(local, 86400);
    int64_t y;
    unsigned m, d;
    agg_civil_from_days(dayn, &y, &m, &d);
    int hour = (int)(sod / 3600), min = (int)(sod / 60 % 60), s = (int)(sod % 60);
    for (size_t i = 0; i < f->n; i++) {
        const ptok *t = &f->t[i];
        switch (t->k) {
        case P_LIT: buf_puts(out, t->lit); break;
        case P_YEAR:
            if (t->width == 4 && y > 9999) buf_putc(out, '+');
            pad(out, y, t->width);
            break;
        case P_YEAR2: pad(out, floor_mod(y, 100), 2); break;
        case P_MONTH: pad(out, m, t->width); break;
        case P_MONTH_TEXT:
            if (t->width == 3) buf_append(out, months[m - 1], 3);
            else buf_puts(out, months[m - 1]);
            break;
        case P_DAY: pad(out, d, t->width); break;
        case P_DOY: pad(out, dayn - date_days_from_civil(y, 1, 1) + 1, t->width); break;
        case P_HOUR: pad(out, hour, t->width); break;
        case P_HOUR_K: pad(out, hour == 0 ? 24 : hour, t->width); break;
        case P_HOUR12: pad(out, hour % 12 == 0 ? 12 : hour % 12, t->width); break;
        case P_HOUR12_K: pad(out, hour % 12, t->width); break;
        case P_AMPM: buf_puts(out, hour < 12 ? "AM" : "PM"); break;
        case P_MIN: pad(out, min, t->width); break;
        case P_SEC: pad(out, s, t->width); break;
        case P_FRAC: {
            char digits[10];
            snprintf(digits, sizeof digits, "%09d", nanos);
            int w = t->width > 9 ? 9 : t->width;
            buf_append(out, digits, (size_t)w);
            for (int k = 9; k < t->width; k++) buf_putc(out, '0');
            break;
        }
        case P_FRAC_NANOS: {
            char digits[10];
            snprintf(digits, sizeof digits, "%09d", nanos);
            int w = 9;
            while (w > 3 && digits[w - 1] == '0') w--;
            buf_append(out, digits, (size_t)w);
            break;
        }
        case P_DOW: {
            int dow = (int)floor_mod(dayn + 3, 7);
            if (t->width >= 4) buf_puts(out, days[dow]);
            else buf_append(out, days[dow], 3);
            break;
        }
        case P_OFF_X: put_offset(out, tz_sec, t->width >= 3, true, t->width == 1); break;
        case P_OFF_x: put_offset(out, tz_sec, t->width >= 3, false, t->width == 1); break;
        case P_OFF_Z:
            if (t->width == 5) put_offset(out, tz_sec, true, true, false);
            else if (t->width == 4) {
                buf_puts(out, "GMT");
                if (tz_sec) put_offset(out, tz_sec, true, false, false);
            } else put_offset(out, tz_sec, false, false, false);
            break;
        case P_ZONE_ID:
            if (tz_sec == 0) buf_puts(out, t->width >= 2 ? "Z" : "UTC");
            else put_offset(out, tz_sec, true, false, false);
            break;
        case P_EPOCH_MS: {
            /* milliseconds, with the sub-millisecond part as a fraction (date_nanos) */
            int64_t ms = sec * 1000 + nanos / 1000000;
            buf_printf(out, "%lld", (long long)ms);
            int rest = nanos % 1000000;
            if (rest) {
                char t6[8];
                snprintf(t6, sizeof t6, "%06d", rest);
                int w = 6;
                while (w > 0 && t6[w - 1] == '0') w--;
                buf_putc(out, '.');
                buf_append(out, t6, (size_t)w);
            }
            break;
        }
        case P_EPOCH_S:
            buf_printf(out, "%lld", (long long)sec);
            if (nanos) {
                char t9[12];
                snprintf(t9, sizeof t9, "%09d", nanos);
                int w = 9;
                while (w > 0 && t9[w - 1] == '0') w--;
                buf_putc(out, '.');
                buf_append(out, t9, (size_t)w);
            }
            break;
        }
    }
}

void dfmt_print_millis(const dfmt *f, int64_t ms, int32_t tz_sec, buf *out)
{
    dfmt_print(f, floor_div(ms, 1000), (int32_t)floor_mod(ms, 1000) * 1000000, tz_sec, out);
}

/* ------------------------------------------------------------------------ */
/* Time zones                                                               */

static bool parse_off(const char *s, int32_t *out)
{
    int sign;
    if (*s == '+') sign = 1;
    else if (*s == '-') sign = -1;
    else return false;
    s++;
    int h = 0, m = 0, sec = 0, nd = 0;
    while (isdigit((unsigned char)*s) && nd < 2) {
        h = h * 10 + (*s++ - '0');
        nd++;
    }
    if (!nd) return false;
    if (*s == ':') {
        s++;
        if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])) return false;
        m = (s[0] - '0') * 10 + (s[1] - '0');
        s += 2;
        if (*s == ':') {
            s++;
            if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])) return false;
            sec = (s[0] - '0') * 10 + (s[1] - '0');
            s += 2;
        }
    } else if (isdigit((unsigned char)*s)) {
        if (!isdigit((unsigned char)s[1])) return false;
        m = (s[0] - '0') * 10 + (s[1] - '0');
        s += 2;
        if (isdigit((unsigned char)*s)) {
            if (!isdigit((unsigned char)s[1])) return false;
            sec = (s[0] - '0') * 10 + (s[1] - '0');
            s += 2;
        }
    }
    if (*s || h > 18 || m > 59 || sec > 59) return false;
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
}

int agg_tz_parse(const char *s, int32_t *sec, es_err *err)
{
    *sec = 0;
    static const char *const utc[] = { "Z", "UTC", "GMT", "UT", "Etc/UTC", "Etc/GMT", "Etc/UCT", "UCT",
                                       "Etc/Zulu", "Zulu", "Universal", "Etc/Universal", "Greenwich", "Etc/Greenwich",
                                       "GMT0", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0" };
    for (size_t i = 0; i < ARRAY_LEN(utc); i++)
        if (!strcmp(s, utc[i])) return 0;
    if (parse_off(s, sec)) return 0;
    const char *p = NULL;
    if (!strncmp(s, "UTC", 3) || !strncmp(s, "GMT", 3)) p = s + 3;
    else if (!strncmp(s, "UT", 2)) p = s + 2;
    if (p && parse_off(p, sec)) return 0;
    if (strchr(s, '/') && isupper((unsigned char)s[0])) {
        es_err_set(err, ES_ILLEGAL_ARGUMENT,
                   "time_zone [%s] is a region: this node supports UTC and fixed offsets such as [+01:00] only", s);
        return -1;
    }
    es_err_set(err, ES_ILLEGAL_ARGUMENT, "Unknown time-zone ID: %s", s);
    err->type_name = "zone_rules_exception";
    err->status = 400;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Calendar rounding                                                        */

cal_unit agg_cal_unit(const char *s)
{
    static const struct {
        const char *s;
        cal_unit u;
    } t[] = {
        { "1s", CAL_SECOND }, { "second", CAL_SECOND }, { "1m", CAL_MINUTE }, { "minute", CAL_MINUTE },
        { "1h", CAL_HOUR }, { "hour", CAL_HOUR }, { "1d", CAL_DAY }, { "day", CAL_DAY }, { "1w", CAL_WEEK },
        { "week", CAL_WEEK }, { "1M", CAL_MONTH }, { "month", CAL_MONTH }, { "1q", CAL_QUARTER },
        { "quarter", CAL_QUARTER }, { "1y", CAL_YEAR }, { "year", CAL_YEAR },
    };
    for (size_t i = 0; i < ARRAY_LEN(t); i++)
        if (!strcmp(t[i].s, s)) return t[i].u;
    return CAL_NONE;
}

int64_t agg_cal_round(int64_t ms, cal_unit u, int32_t tz_sec)
{
    int64_t off = (int64_t)tz_sec * 1000;
    int64_t local = ms + off;
    int64_t r;
    switch (u) {
    case CAL_SECOND: r = floor_div(local, 1000) * 1000; break;
    case CAL_MINUTE: r = floor_div(local, 60000) * 60000; break;
    case CAL_HOUR: r = floor_div(local, 3600000) * 3600000; break;
    case CAL_DAY: r = floor_div(local, 86400000) * 86400000; break;
    case CAL_WEEK: {
        int64_t dn = floor_div(local, 86400000);
        dn -= floor_mod(dn + 3, 7);
        r = dn * 86400000;
        break;
    }
    default: {
        int64_t dn = floor_div(local, 86400000), y;
        unsigned m, d;
        agg_civil_from_days(dn, &y, &m, &d);
        if (u == CAL_QUARTER) m = (m - 1) / 3 * 3 + 1;
        if (u == CAL_YEAR) m = 1;
        r = date_days_from_civil(y, m, 1) * 86400000;
        break;
    }
    }
    return r - off;
}

int64_t agg_cal_next(int64_t key, cal_unit u, int32_t tz_sec)
{
    int64_t off = (int64_t)tz_sec * 1000;
    int64_t local = key + off;
    switch (u) {
    case CAL_SECOND: return key + 1000;
    case CAL_MINUTE: return key + 60000;
    case CAL_HOUR: return key + 3600000;
    case CAL_DAY: return key + 86400000;
    case CAL_WEEK: return key + 7 * 86400000ll;
    default: {
        int64_t dn = floor_div(local, 86400000), y;
        unsigned m, d;
        agg_civil_from_days(dn, &y, &m, &d);
        unsigned step = u == CAL_MONTH ? 1 : u == CAL_QUARTER ? 3 : 12;
        m += step;
        while (m > 12) {
            m -= 12;
            y++;
        }
        return date_days_from_civil(y, m, 1) * 86400000 - off;
    }
    }
}
