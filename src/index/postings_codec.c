/*
 * postings_codec.c — the byte formats of the index-time structures
 * (docs/SEARCH.md): keys, term encodings of typed values, Lucene's 1-byte
 * norms, postings blocks, term entries, field statistics and doc values
 * blocks. Shared by the writer (postings.c) and the readers (src/search).
 */
#include "index/index.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Norms: Lucene's SmallFloat.intToByte4 / byte4ToInt.                       */

static uint32_t long_to_int4(uint64_t i)
{
    int num_bits = i ? 64 - __builtin_clzll(i) : 0;
    if (num_bits < 4) return (uint32_t)i; /* subnormal */
    int shift = num_bits - 4;
    uint32_t encoded = (uint32_t)(i >> shift) & 0x07; /* the implicit top bit is dropped */
    encoded |= (uint32_t)(shift + 1) << 3;
    return encoded;
}

static uint64_t int4_to_long(uint32_t i)
{
    uint64_t bits = i & 0x07;
    int shift = (int)(i >> 3) - 1;
    return shift == -1 ? bits : (bits | 0x08) << shift;
}

/* MAX_INT4 = longToInt4(Integer.MAX_VALUE) = 231; NUM_FREE_VALUES = 255 - 231. */
#define NORM_FREE_VALUES 24u

uint8_t index_norm_encode(uint32_t length)
{
    if (length > INT32_MAX) length = INT32_MAX;
    if (length < NORM_FREE_VALUES) return (uint8_t)length;
    return (uint8_t)(NORM_FREE_VALUES + long_to_int4(length - NORM_FREE_VALUES));
}

uint32_t index_norm_decode(uint8_t b)
{
    if (b < NORM_FREE_VALUES) return b;
    return (uint32_t)(NORM_FREE_VALUES + int4_to_long(b - NORM_FREE_VALUES));
}

/* ------------------------------------------------------------------------ */
/* Terms of typed values.                                                    */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

void index_term_long(int64_t v, uint8_t out[8])
{
    put_be64(out, (uint64_t)v ^ 0x8000000000000000ull);
}

int64_t index_term_long_decode(const uint8_t in[8])
{
    return (int64_t)(get_be64(in) ^ 0x8000000000000000ull);
}

void index_term_double(double v, uint8_t out[8])
{
    uint64_t u;
    memcpy(&u, &v, 8);
    if (u >> 63) u = ~u;
    else u |= 0x8000000000000000ull;
    put_be64(out, u);
}

double index_term_double_decode(const uint8_t in[8])
{
    uint64_t u = get_be64(in);
    if (u >> 63) u &= 0x7fffffffffffffffull;
    else u = ~u;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* The value a float-family field indexes: rounded to its precision. */
static double float_family_value(field_type t, double d)
{
    if (t == FT_FLOAT) return (double)(float)d;
    if (t == FT_HALF_FLOAT) return (double)(float)(_Float16)(float)d;
    return d;
}

size_t index_term_encode(const index_field_value *v, uint8_t out[INDEX_TERM_MAX], const uint8_t **ptr)
{
    *ptr = out;
    switch (v->kind) {
    case IFV_STRING:
        *ptr = (const uint8_t *)v->str;
        return v->str_len;
    case IFV_LONG:
        if (v->type == FT_UNSIGNED_LONG) put_be64(out, (uint64_t)v->v.l);
        else index_term_long(v->v.l, out);
        return 8;
    case IFV_DOUBLE:
        if (v->type == FT_SCALED_FLOAT) index_term_long(v->scaled, out);
        else index_term_double(float_family_value(v->type, v->v.d), out);
        return 8;
    case IFV_DATE:
        index_term_long(v->v.l, out);
        return 8;
    case IFV_BOOL:
        out[0] = v->v.b ? 'T' : 'F';
        return 1;
    case IFV_IP:
        memcpy(out, v->v.ip, 16);
        return 16;
    case IFV_GEO:
        break;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Keys.                                                                     */

/* FNV-1a 64. */
static uint64_t hash64(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ull; }
    return h;
}

/* field 0x00 term[, suffix_room reserved]: cuts long terms (prefix + hash). */
static size_t key_field_term(uint8_t *out, const char *field, const void *term, size_t tlen, size_t suffix_room)
{
    size_t flen = strlen(field);
    if (flen > 300) flen = 300; /* mappings limit names far below this in practice */
    memcpy(out, field, flen);
    out[flen] = 0;
    size_t room = INDEX_KEY_MAX - flen - 1 - suffix_room;
    if (tlen <= room) {
        if (tlen) memcpy(out + flen + 1, term, tlen);
        return flen + 1 + tlen;
    }
    size_t keep = room - 8;
    memcpy(out + flen + 1, term, keep);
    put_be64(out + flen + 1 + keep, hash64(term, tlen));
    return flen + 1 + room;
}

size_t index_key_term(uint8_t *out, const char *field, const void *term, size_t tlen)
{
    return key_field_term(out, field, term, tlen, 9);
}

size_t index_key_post(uint8_t *out, const char *field, const void *term, size_t tlen, uint64_t first_docnum)
{
    size_t n = key_field_term(out, field, term, tlen, 9);
    out[n] = 0;
    put_be64(out + n + 1, first_docnum);
    return n + 9;
}

size_t index_key_block(uint8_t *out, const char *field, uint64_t block)
{
    size_t flen = strlen(field);
    if (flen > 300) flen = 300;
    memcpy(out, field, flen);
    out[flen] = 0;
    put_be64(out + flen + 1, block);
    return flen + 9;
}

/* ------------------------------------------------------------------------ */
/* Postings blocks, term entries, field stats.                               */

int postings_block_header(const void *p, size_t len, uint8_t *flags, uint32_t *n, uint64_t *first, uint64_t *last,
                          const uint8_t **body, size_t *body_len)
{
    const uint8_t *q = p, *end = q + len;
    uint64_t v;
    if (len < 1) return -1;
    *flags = *q++;
    if (!(q = ix_varint_get(q, end, &v)) || v == 0 || v > POSTINGS_BLOCK_MAX) return -1;
    *n = (uint32_t)v;
    if (!(q = ix_varint_get(q, end, first))) return -1;
    if (!(q = ix_varint_get(q, end, last)) || *last < *first) return -1;
    *body = q;
    *body_len = (size_t)(end - q);
    return 0;
}

int postings_block_decode(const void *p, size_t len, postings_block *out)
{
    uint64_t first, last, v;
    const uint8_t *q, *end = (const uint8_t *)p + len;
    if (postings_block_header(p, len, &out->flags, &out->n, &first, &last, &out->body, &out->body_len) < 0) return -1;
    q = out->body;
    uint64_t doc = first;
    for (uint32_t i = 0; i < out->n; i++) {
        if (i) {
            if (!(q = ix_varint_get(q, end, &v)) || v == 0) return -1;
            doc += v;
        }
        out->docs[i] = doc;
        out->freqs[i] = 1;
        if (out->flags & PB_FREQS) {
            if (!(q = ix_varint_get(q, end, &v)) || v == 0 || v > UINT32_MAX) return -1;
            out->freqs[i] = (uint32_t)v;
        }
        out->pos[i] = NULL;
        out->pos_len[i] = 0;
        if (out->flags & PB_POSITIONS) {
            if (!(q = ix_varint_get(q, end, &v)) || v > (uint64_t)(end - q)) return -1;
            out->pos[i] = q;
            out->pos_len[i] = (uint32_t)v;
            q += v;
        }
    }
    return q == end && doc == last ? 0 : -1;
}

int term_entry_decode(const void *p, size_t len, term_entry *out)
{
    const uint8_t *q = p, *end = q + len;
    if (!(q = ix_varint_get(q, end, &out->doc_freq))) return -1;
    if (!(q = ix_varint_get(q, end, &out->total_term_freq))) return -1;
    out->tail = q;
    out->tail_len = (size_t)(end - q);
    return 0;
}

int index_field_stats_decode(const void *p, size_t len, index_field_stats *out)
{
    const uint8_t *q = p, *end = q + len;
    if (!(q = ix_varint_get(q, end, &out->doc_count))) return -1;
    if (!(q = ix_varint_get(q, end, &out->sum_ttf))) return -1;
    if (!(q = ix_varint_get(q, end, &out->sum_df))) return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Doc values.                                                               */

int index_dv_kind(const mfield *f)
{
    if (!f || !f->doc_values) return IDV_NONE;
    switch (f->type) {
    case FT_LONG: case FT_INTEGER: case FT_SHORT: case FT_BYTE:
    case FT_DATE: case FT_DATE_NANOS: case FT_BOOLEAN: case FT_SCALED_FLOAT:
        return IDV_LONG;
    case FT_UNSIGNED_LONG:
        return IDV_ULONG;
    case FT_DOUBLE: case FT_FLOAT: case FT_HALF_FLOAT:
        return IDV_DOUBLE;
    case FT_KEYWORD: case FT_IP: case FT_CONSTANT_KEYWORD: case FT_WILDCARD:
        return IDV_BYTES;
    default:
        return IDV_NONE;
    }
}

int dv_block_next(dv_block_iter *it, uint32_t *offset, uint32_t *count, const uint8_t **vals,
                  const uint8_t **vals_end)
{
    if (it->p >= it->end) return 0;
    const uint8_t *q = it->p;
    uint64_t c, v;
    *offset = *q++;
    if (!(q = ix_varint_get(q, it->end, &c)) || c == 0 || c > UINT32_MAX) return -1;
    *count = (uint32_t)c;
    *vals = q;
    for (uint64_t i = 0; i < c; i++) {
        switch (it->kind) {
        case IDV_LONG:
        case IDV_ULONG:
            if (!(q = ix_varint_get(q, it->end, &v))) return -1;
            break;
        case IDV_DOUBLE:
            if (it->end - q < 8) return -1;
            q += 8;
            break;
        case IDV_BYTES:
            if (!(q = ix_varint_get(q, it->end, &v)) || v > (uint64_t)(it->end - q)) return -1;
            q += v;
            break;
        default:
            return -1;
        }
    }
    *vals_end = q;
    it->p = q;
    return 1;
}
