/*
 * json_impl.h — private to src/json: the DOM layout shared by the reader and
 * the writer. Nothing outside src/json may include this.
 *
 * A document is a flat array of json_val nodes in pre-order (the "tape"):
 * a container node is followed by its children; an object's children are
 * alternating key (a STRING node) and value nodes. Every container records
 * how many nodes its subtree spans (itself included), so skipping a value is
 * one addition. Strings are decoded into a separate area of the same block,
 * NUL-terminated; every node points at its raw text in the document's copy
 * of the input, which json_raw and exact number output use.
 */
#ifndef FERRY_JSON_IMPL_H
#define FERRY_JSON_IMPL_H

#include "json/json.h"

#include <string.h>

struct json_val {
    /* bits 0..2: json_type; bits 3..31: string byte length, container member
     * count, or the bool value */
    uint32_t tag;
    uint32_t rlen;   /* length of the raw text */
    const char *raw; /* start of the raw text, in the document's copy */
    union {
        int64_t i;     /* INT */
        double d;      /* DOUBLE, BIGINT (its value as a double) */
        const char *s; /* STRING: decoded, NUL-terminated */
        uint64_t size; /* ARRAY, OBJECT: nodes in the subtree, itself included */
    } u;
};

struct json_doc {
    json_val *tape;   /* the root is tape[0] */
    void *tape_heap;  /* the tape's own block once it outgrew the first one */
    const char *text; /* the copy of the parsed span of input */
    size_t text_len;
    size_t nodes;
};

#define JV_TYPE_BITS 3u
#define JV_TYPE_MASK 7u
#define JV_MAX_LEN ((1u << (32 - JV_TYPE_BITS)) - 1u) /* longest string, most members */

static inline json_type jv_type(const json_val *v) { return (json_type)(v->tag & JV_TYPE_MASK); }
static inline uint32_t jv_len(const json_val *v) { return v->tag >> JV_TYPE_BITS; }
static inline bool jv_is_container(const json_val *v) { return jv_type(v) >= JSON_ARRAY; }
/* The node after v's subtree. */
static inline const json_val *jv_next(const json_val *v)
{
    return jv_is_container(v) ? v + v->u.size : v + 1;
}

/* strtod in the C locale of n bytes at s (copied, so s needs no terminator). */
double json_strtod_c(const char *s, size_t n);

#endif
