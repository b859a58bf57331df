/*
 * index_int.h — private to src/index: the mapping's internals shared by the
 * mapping parser/merger/writer and the document parser.
 */
#ifndef FERRY_INDEX_INT_H
#define FERRY_INDEX_INT_H

#include "index/index.h"

#include <stdatomic.h>

/* ---- errors ---- */

/* Moves the error in *err into a heap cause and sets a new outer error. */
int err_wrap(es_err *err, es_error_type type, const char *fmt, ...) FERRY_PRINTF(3, 4);
/* Sets a Java-typed error (e.g. "number_format_exception") on a table type. */
int err_set_named(es_err *err, es_error_type type, const char *type_name, const char *fmt, ...)
    FERRY_PRINTF(4, 5);

/* ---- JSON helpers ---- */

/* Compact JSON text of a value (heap). */
char *json_compact(const json_val *v);
/* Java's toString of a parsed value (Map: {a=b, c=d}, List: [a, b]), as ES echoes values. */
void json_java_string(const json_val *v, buf *out);
/* The scalar's text: a string's contents, a number's JSON text, true/false/null. */
const char *json_scalar_text(const json_val *v, size_t *len, buf *tmp);

/* ---- mapping internals ---- */

typedef enum {
    PK_BOOL,
    PK_INT,       /* non-negative int */
    PK_DOUBLE,
    PK_STRING,
    PK_JSON,      /* any JSON value kept as compact text (meta, index_prefixes...) */
    PK_NULL_VALUE,
    PK_FORMAT,
} param_kind;

typedef struct param_def {
    const char *name;
    param_kind kind;
    uint64_t types;      /* bitmask of field_type it applies to */
    bool updatable;
    const char *dflt;    /* default as compact JSON ("true", "-1"...); NULL: none ("null" for messages) */
    const char *dflt_display; /* how a merge conflict shows the default; NULL: dflt or "null" */
} param_def;

struct mparam {
    const param_def *def;
    char *json;          /* compact JSON of the normalized value */
};

struct mapping {
    atomic_int refs;
    uint64_t version;
    bool empty;                  /* nothing ever given */
    mfield *root;                /* FT_OBJECT, name "_doc", path "" */
    /* Root parameters: each "_json" member is compact JSON or NULL when not given. */
    int date_detection;          /* -1 unset, 0/1 */
    int numeric_detection;       /* -1 unset, 0/1 */
    char **dynamic_date_formats; /* NULL: default */
    size_t n_dynamic_date_formats;
    date_format **ddf;           /* compiled dynamic_date_formats (or the defaults) */
    size_t n_ddf;
    dyn_template *templates;
    size_t n_templates;
    bool templates_set;
    char *meta_json;             /* _meta */
    int source_enabled;          /* -1 unset */
    char **source_includes, **source_excludes;
    size_t n_source_includes, n_source_excludes;
    bool source_includes_set, source_excludes_set;
    char *source_mode;
    int routing_required;        /* -1 unset */
};

const param_def *param_lookup(const char *name, field_type t);
const param_def *param_defs(size_t *n);

mfield *mfield_new(const char *name, const char *parent_path, field_type t);
mfield *mfield_clone(const mfield *f);
void mfield_free(mfield *f);
/* Applies the decoded defaults of a type, then the params in f->params. */
void mfield_decode(mfield *f);
/* Inserts a child keeping the array sorted (replacing one of the same name). */
void mfield_put_child(mfield *parent, mfield *child, bool multi);
mfield *mfield_child(const mfield *parent, const char *name, bool multi);
const mparam *mfield_param(const mfield *f, const char *name);
void mfield_set_param(mfield *f, const param_def *d, const char *json);

mapping *mapping_alloc(void);
mapping *mapping_clone(const mapping *m);
void mapping_finish(mapping *m); /* compiles ddf etc. after changes */

/* Parses one field definition (used by mapping_parse and dynamic templates). */
mfield *mfield_parse(const char *name, const char *parent_path, const json_val *def, int depth, bool multi,
                     es_err *err);

size_t mfield_count(const mfield *f); /* f and below (objects, fields, multi-fields) */
int mapping_check_limits(const mapping *m, const mapping_limits *l, es_err *err);

/* Simple wildcard match ('*' only). */
bool simple_match(const char *pattern, const char *s);

/* ---- values ---- */

/*
 * Parses a scalar JSON value for a leaf field of type f->type. On success
 * fills out->kind/v/str (strings into a). On failure sets err to the cause
 * (illegal_argument_exception "For input string: \"abc\"" and the like) and
 * returns -1. A JSON string of length 0 for numeric/boolean/date/ip types is
 * reported as *is_null = true.
 */
int value_parse(const mfield *f, const json_val *v, arena *a, index_field_value *out, bool *is_null, es_err *err);
/* Geo point validation of one point value (object, string, [lon,lat]). */
int geo_parse_point(const json_val *v, double *lat, double *lon, es_err *err, const char *field);

#endif
