/*
 * config — node settings: `elasticsearch.yml` (via libyaml) plus `-E key=value`
 * overrides, checked against a registry of known settings.
 *
 * Every module declares its settings as a `setting_def` table and registers
 * it before the node loads its configuration (config_register). Loading then
 * flattens the YAML (nested maps become dotted keys), substitutes `${VAR}`
 * from the environment, applies overrides, and validates each value against
 * its definition. Unknown settings and bad values stop start-up with a
 * message naming the key, the value and the file, as Elasticsearch does.
 *
 * Depends on: core. A loaded config is immutable and may be read from any
 * thread. The registry is filled once at start-up, before any thread starts.
 */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SETTING_STRING,
    SETTING_BOOL,   /* true | false (exactly, as Elasticsearch) */
    SETTING_INT,    /* 64-bit integer within [min, max] */
    SETTING_BYTES,  /* byte size: "100mb", "1gb", "0" */
    SETTING_TIME,   /* time value: "30s", "500ms", "-1" */
    SETTING_LIST,   /* YAML list, flow list ["a","b"], or comma-separated string */
    SETTING_ENUM,   /* one of `choices` ("full|certificate|none") */
} setting_type;

typedef struct setting_def {
    const char *name;      /* "http.port"; a name ending in ".*" matches any key under it */
    setting_type type;
    const char *def;       /* default as text (NULL: unset); for lists, comma-separated */
    const char *choices;   /* SETTING_ENUM: "a|b|c" */
    int64_t min, max;      /* SETTING_INT bounds (both 0: unbounded) */
    /* Optional extra check; returns false and writes a reason into why. */
    bool (*validate)(const char *value, char *why, size_t whylen);
} setting_def;

/* Adds n definitions to the process-wide registry. Call before config_load. */
void config_register(const setting_def *defs, size_t n);
const setting_def *config_find_def(const char *name);

typedef struct config config;

/*
 * Loads <conf_dir>/elasticsearch.yml (a missing file is an empty one), then
 * applies each "key=value" of overrides in order. On failure returns NULL and
 * writes a one-paragraph message into *errmsg (heap; caller frees).
 */
config *config_load(const char *conf_dir, const char *const *overrides, size_t n_overrides,
                    char **errmsg);
void config_free(config *c);

const char *config_dir(const config *c);                    /* the config folder */
bool config_is_set(const config *c, const char *name);      /* explicitly set (file or -E) */
const char *config_str(const config *c, const char *name);  /* value or default; NULL if neither */
bool config_bool(const config *c, const char *name);
int64_t config_int(const config *c, const char *name);
int64_t config_bytes(const config *c, const char *name);
int64_t config_time_ms(const config *c, const char *name);
/* List items; *n gets the count. The array lives as long as the config. */
const char *const *config_list(const config *c, const char *name, size_t *n);
/* Resolves a path setting against the config folder (absolute paths stay). Caller frees. */
char *config_resolve_path(const config *c, const char *path);

/* Iterates over every explicitly set key in sorted order (for diagnostics). */
size_t config_count(const config *c);
const char *config_key_at(const config *c, size_t i);

#endif
