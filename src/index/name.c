/*
 * name.c — Elasticsearch's index name rules.
 */
#include "index/index_int.h"

#include <stdio.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

static int invalid(es_err *err, const char *name, const char *why)
{
    es_err_set(err, ES_INVALID_INDEX_NAME, "Invalid index name [%s], %s", name, why);
    es_err_extra(err, "index_uuid", "_na_", false);
    es_err_extra(err, "index", name, false);
    return -1;
}

/* Lowercase as Java's toLowerCase(Locale.ROOT) would leave it unchanged. */
static bool is_lowercase(const char *s)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + strlen(s);
    while (p < end) {
        ucs4_t c;
        int n = u8_mbtouc(&c, p, (size_t)(end - p));
        if (n <= 0) return true;
        if (uc_tolower(c) != c) return false;
        p += n;
    }
    return true;
}

int index_name_validate(const char *name, es_err *err)
{
    if (!name || !*name) return invalid(err, name ? name : "", "must not be empty");
    /* Strings.INVALID_FILENAME_CHARS, rendered sorted and quoted as Elasticsearch 8 does. */
    if (strpbrk(name, "\\/*?\"<>| ,"))
        return invalid(err, name, "must not contain the following characters [' ','\"','*',',','/','<','>','?','\\','|']");
    if (strchr(name, '#')) return invalid(err, name, "must not contain '#'");
    if (strchr(name, ':')) return invalid(err, name, "must not contain ':'");
    if (name[0] == '_' || name[0] == '-' || name[0] == '+') return invalid(err, name, "must not start with '_', '-', or '+'");
    size_t bytes = strlen(name);
    if (bytes > INDEX_NAME_MAX_BYTES) {
        char why[64];
        snprintf(why, sizeof why, "index name is too long, (%zu > %d)", bytes, INDEX_NAME_MAX_BYTES);
        return invalid(err, name, why);
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return invalid(err, name, "must not be '.' or '..'");
    if (!is_lowercase(name)) return invalid(err, name, "must be lowercase");
    return 0;
}
