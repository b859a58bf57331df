/*
 * analysis_filter.c — token filters and char filters, with Lucene's
 * semantics for positions (removed tokens leave their increments to the
 * next kept token, as FilteringTokenFilter does), offsets (filters never
 * move them, except shingles spanning tokens) and types.
 */
#include "index/index_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <unistr.h>

/* ------------------------------------------------------------------------ */
/* Helpers */

static inline uint32_t dec(const char *s, size_t len, size_t i, int *n)
{
    ucs4_t c;
    int k = u8_mbtouc(&c, (const uint8_t *)s + i, len - i);
    if (k <= 0) k = 1;
    *n = k;
    return c;
}

static void put_cp(buf *b, uint32_t cp)
{
    uint8_t tmp[6];
    int k = u8_uctomb(tmp, cp, sizeof tmp);
    if (k > 0) buf_append(b, tmp, (size_t)k);
}

/* A token like t with a new term. */
static atok with_term(atoks *out, atok t, const char *s, size_t n)
{
    t.term = atoks_strdup(out, s, n);
    t.len = (uint32_t)n;
    return t;
}

/* Maps each code point of s (Character.toLowerCase / toUpperCase). */
static void map_case(const char *s, size_t n, bool upper, int lang, buf *out)
{
    buf_reset(out);
    int k;
    for (size_t i = 0; i < n; i += (size_t)k) {
        uint32_t c = dec(s, n, i, &k);
        if (upper) {
            put_cp(out, uc_toupper(c));
            continue;
        }
        if (lang == 3) { /* Turkish: I -> ı, İ -> i, and I + combining dot above -> i */
            if (c == 'I') {
                int k2;
                if (i + (size_t)k < n && dec(s, n, i + (size_t)k, &k2) == 0x0307) {
                    put_cp(out, 'i');
                    i += (size_t)k2;
                } else {
                    put_cp(out, 0x0131);
                }
                continue;
            }
            if (c == 0x0130) {
                put_cp(out, 'i');
                continue;
            }
        }
        if (lang == 1) { /* Greek: lowercase, final sigma -> sigma, accents removed */
            uint32_t l = uc_tolower(c);
            switch (l) {
            case 0x03C2: l = 0x03C3; break;
            case 0x03AC: l = 0x03B1; break;
            case 0x03AD: l = 0x03B5; break;
            case 0x03AE: l = 0x03B7; break;
            case 0x03AF: case 0x0390: case 0x03CA: l = 0x03B9; break;
            case 0x03CC: l = 0x03BF; break;
            case 0x03CD: case 0x03B0: case 0x03CB: l = 0x03C5; break;
            case 0x03CE: l = 0x03C9; break;
            default: break;
            }
            put_cp(out, l);
            continue;
        }
        if (lang == 2 && i == 0 && (c == 'n' || c == 't') && n > 1) { /* Irish: nA -> n-a, tA -> t-a */
            int k2;
            uint32_t nx = dec(s, n, (size_t)k, &k2);
            if (strchr("AEIOU", (int)nx) || nx == 0xC1 || nx == 0xC9 || nx == 0xCD || nx == 0xD3 || nx == 0xDA) {
                put_cp(out, c);
                put_cp(out, '-');
                continue;
            }
        }
        put_cp(out, uc_tolower(c));
    }
}

bool word_set_has(const word_set *ws, const char *s, size_t n)
{
    if (!ws->n) return false;
    buf low = { 0 };
    if (ws->ignore_case) {
        map_case(s, n, false, 0, &low);
        s = low.p ? low.p : "";
        n = low.len;
    }
    size_t lo = 0, hi = ws->n;
    bool hit = false;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *w = ws->w[mid];
        size_t wl = strlen(w);
        int c = memcmp(w, s, wl < n ? wl : n);
        if (!c) c = wl < n ? -1 : wl > n ? 1 : 0;
        if (!c) {
            hit = true;
            break;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    buf_free(&low);
    return hit;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void word_set_from(an_ctx *c, const char *const *words, size_t n, bool ignore_case, word_set *out)
{
    out->ignore_case = ignore_case;
    out->n = 0;
    out->w = arena_alloc(c->mem, (n ? n : 1) * sizeof *out->w);
    buf low = { 0 };
    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];
        size_t wl = strlen(w);
        if (ignore_case) {
            map_case(w, wl, false, 0, &low);
            out->w[out->n++] = arena_strndup(c->mem, low.p ? low.p : "", low.len);
        } else {
            out->w[out->n++] = arena_strndup(c->mem, w, wl);
        }
    }
    buf_free(&low);
    qsort(out->w, out->n, sizeof *out->w, cmp_str);
}

/* Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET. */
const char *const an_english_stop_words[] = {
    "a",    "an",   "and",  "are",   "as",    "at",   "be",   "but",  "by",   "for",  "if",
    "in",   "into", "is",   "it",    "no",    "not",  "of",   "on",   "or",   "such", "that",
    "the",  "their", "then", "there", "these", "they", "this", "to",   "was",  "will", "with",
};
const size_t an_english_stop_words_count = ARRAY_LEN(an_english_stop_words);

/* French elided articles (Lucene's FrenchAnalyzer.DEFAULT_ARTICLES). */
static const char *const french_articles[] = { "l", "m", "t", "qu", "n", "s", "j", "d", "c",
                                                "jusqu", "quoiqu", "lorsqu", "puisqu" };

/* ------------------------------------------------------------------------ */
/* Token filters */

/* Drops token i of in: its increment moves to the next kept token (FilteringTokenFilter). */
typedef struct keeper {
    uint32_t carry;
} keeper;

static void keep(atoks *out, keeper *k, atok t)
{
    t.pos_inc += k->carry;
    k->carry = 0;
    atoks_push(out, t);
}

static void drop(keeper *k, const atok *t) { k->carry += t->pos_inc; }

static void finish(atoks *out, const atoks *in, keeper *k) { out->end_inc = in->end_inc + k->carry; }

static void run_stop(const an_filter *f, const atoks *in, atoks *out)
{
    keeper k = { 0 };
    for (size_t i = 0; i < in->n; i++) {
        if (word_set_has(&f->words, in->t[i].term, in->t[i].len)) drop(&k, &in->t[i]);
        else keep(out, &k, in->t[i]);
    }
    finish(out, in, &k);
}

static void run_case(const an_filter *f, const atoks *in, atoks *out, bool upper)
{
    buf b = { 0 };
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        if (f->lang == 0) {
            /* ASCII fast path: unchanged terms are shared, others mapped byte by byte */
            bool ascii = true, change = false;
            for (uint32_t j = 0; j < t.len; j++) {
                unsigned char c = (unsigned char)t.term[j];
                if (c >= 0x80) {
                    ascii = false;
                    break;
                }
                if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z')) change = true;
            }
            if (ascii) {
                if (change) {
                    char *c = atoks_strdup(out, t.term, t.len);
                    for (uint32_t j = 0; j < t.len; j++) {
                        if (upper ? (c[j] >= 'a' && c[j] <= 'z') : (c[j] >= 'A' && c[j] <= 'Z')) c[j] ^= 0x20;
                    }
                    t.term = c;
                }
                atoks_push(out, t);
                continue;
            }
        }
        map_case(t.term, t.len, upper, f->lang, &b);
        atoks_push(out, with_term(out, t, b.p ? b.p : "", b.len));
    }
    buf_free(&b);
    out->end_inc = in->end_inc;
}

static void run_fold(const an_filter *f, const atoks *in, atoks *out)
{
    buf b = { 0 };
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        bool ascii = true;
        for (uint32_t j = 0; j < t.len; j++)
            if ((unsigned char)t.term[j] >= 0x80) ascii = false;
        if (ascii) {
            atoks_push(out, t);
            continue;
        }
        buf_reset(&b);
        int k;
        for (size_t j = 0; j < t.len; j += (size_t)k) {
            uint32_t c = dec(t.term, t.len, j, &k);
            char tmp[8];
            size_t n = an_fold_ascii(c, tmp);
            if (n) buf_append(&b, tmp, n);
            else buf_append(&b, t.term + j, (size_t)k);
        }
        atoks_push(out, with_term(out, t, b.p ? b.p : "", b.len));
        if (f->preserve && (b.len != t.len || memcmp(b.p, t.term, t.len) != 0)) {
            t.pos_inc = 0;
            atoks_push(out, t);
        }
    }
    buf_free(&b);
    out->end_inc = in->end_inc;
}

static void run_stem(const an_filter *f, const atoks *in, atoks *out)
{
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        if (t.keyword) {
            atoks_push(out, t);
            continue;
        }
        if (f->kind == TF_PORTER || f->kind == TF_MINIMAL_EN) {
            char *b = arena_alloc(out->mem, (size_t)t.len + 2);
            memcpy(b, t.term, t.len);
            size_t n = f->kind == TF_PORTER ? an_porter_stem(b, t.len) : an_minimal_english_stem(b, t.len);
            b[n] = 0;
            t.term = b;
            t.len = (uint32_t)n;
        } else if (f->kind == TF_POSSESSIVE_EN) {
            /* ...'s, ...’s, ...＇s */
            if (t.len >= 2 && (t.term[t.len - 1] == 's' || t.term[t.len - 1] == 'S')) {
                uint32_t l = t.len - 1;
                if (l >= 1 && t.term[l - 1] == '\'') t = with_term(out, t, t.term, l - 1);
                else if (l >= 3 && !memcmp(t.term + l - 3, "\xE2\x80\x99", 3)) t = with_term(out, t, t.term, l - 3);
                else if (l >= 3 && !memcmp(t.term + l - 3, "\xEF\xBC\x87", 3)) t = with_term(out, t, t.term, l - 3);
            }
        } else {
            size_t n;
            const char *s = stem_pool_stem(f->pool, t.term, t.len, out->mem, &n);
            if (s != t.term) {
                t.term = (char *)s;
                t.len = (uint32_t)n;
            }
        }
        atoks_push(out, t);
    }
    out->end_inc = in->end_inc;
}

static void run_length(const an_filter *f, const atoks *in, atoks *out)
{
    keeper k = { 0 };
    for (size_t i = 0; i < in->n; i++) {
        uint32_t u = an_utf16_len(in->t[i].term, in->t[i].len);
        if ((int64_t)u >= f->min && (int64_t)u <= f->max) keep(out, &k, in->t[i]);
        else drop(&k, &in->t[i]);
    }
    finish(out, in, &k);
}

static void run_trim(const atoks *in, atoks *out)
{
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        size_t a = 0, b = t.len;
        /* Lucene's TrimFilter: Character.isWhitespace at both ends (ASCII and Unicode spaces) */
        for (;;) {
            if (a >= b) break;
            int n;
            uint32_t c = dec(t.term, b, a, &n);
            if (!an_java_whitespace(c)) break;
            a += (size_t)n;
        }
        while (b > a) {
            size_t p = b - 1;
            while (p > a && ((unsigned char)t.term[p] & 0xC0) == 0x80) p--;
            int n;
            uint32_t c = dec(t.term, b, p, &n);
            if (!an_java_whitespace(c)) break;
            b = p;
        }
        if (a || b != t.len) t = with_term(out, t, t.term + a, b - a);
        atoks_push(out, t);
    }
    out->end_inc = in->end_inc;
}

static bool same_term(const atok *a, const atok *b)
{
    return a->len == b->len && !memcmp(a->term, b->term, a->len);
}

static void run_unique(const an_filter *f, const atoks *in, atoks *out)
{
    if (f->preserve) { /* only_on_same_position: Lucene's RemoveDuplicatesTokenFilter */
        size_t pos_start = 0;
        for (size_t i = 0; i < in->n; i++) {
            atok t = in->t[i];
            if (t.pos_inc > 0) pos_start = out->n;
            bool dup = false;
            for (size_t j = pos_start; j < out->n && !dup; j++) dup = same_term(&out->t[j], &t);
            if (!dup) atoks_push(out, t);
        }
        out->end_inc = in->end_inc;
        return;
    }
    /* Elasticsearch's UniqueTokenFilter: a dropped duplicate's increment is lost. */
    size_t cap = 16;
    while (cap < in->n * 2) cap *= 2;
    const atok **seen = xcalloc(cap, sizeof *seen);
    for (size_t i = 0; i < in->n; i++) {
        const atok *t = &in->t[i];
        uint64_t h = 1469598103934665603ULL;
        for (uint32_t k = 0; k < t->len; k++) h = (h ^ (unsigned char)t->term[k]) * 1099511628211ULL;
        size_t slot = (size_t)h & (cap - 1);
        bool dup = false;
        while (seen[slot]) {
            if (same_term(seen[slot], t)) {
                dup = true;
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
        if (dup) continue;
        seen[slot] = t;
        atoks_push(out, *t);
    }
    free(seen);
    out->end_inc = in->end_inc;
}

static void run_remove_duplicates(const atoks *in, atoks *out)
{
    an_filter f = { .preserve = true };
    run_unique(&f, in, out);
}

static void run_truncate(const an_filter *f, const atoks *in, atoks *out)
{
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        uint32_t units = 0;
        size_t p = 0;
        int n;
        while (p < t.len) {
            uint32_t c = dec(t.term, t.len, p, &n);
            uint32_t w = c >= 0x10000 ? 2 : 1;
            if (units + w > (uint32_t)f->max) break;
            units += w;
            p += (size_t)n;
        }
        if (p < t.len) t = with_term(out, t, t.term, p);
        atoks_push(out, t);
    }
    out->end_inc = in->end_inc;
}

static void run_reverse(const atoks *in, atoks *out)
{
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        char *r = arena_alloc(out->mem, (size_t)t.len + 1);
        size_t o = t.len;
        int n;
        for (size_t p = 0; p < t.len; p += (size_t)n) {
            dec(t.term, t.len, p, &n);
            o -= (size_t)n;
            memcpy(r + o, t.term + p, (size_t)n);
        }
        r[t.len] = 0;
        t.term = r;
        atoks_push(out, t);
    }
    out->end_inc = in->end_inc;
}

static void run_keyword_marker(const an_filter *f, const atoks *in, atoks *out)
{
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        if (word_set_has(&f->words, t.term, t.len)) t.keyword = true;
        atoks_push(out, t);
    }
    out->end_inc = in->end_inc;
}

/* The index of the first apostrophe (' or ’) in t, or -1. */
static long apostrophe_at(const atok *t, size_t *alen)
{
    for (size_t i = 0; i < t->len; i++) {
        if (t->term[i] == '\'') {
            *alen = 1;
            return (long)i;
        }
        if (i + 2 < t->len && !memcmp(t->term + i, "\xE2\x80\x99", 3)) {
            *alen = 3;
            return (long)i;
        }
    }
    return -1;
}

static void run_elision(const an_filter *f, const atoks *in, atoks *out)
{
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        size_t al;
        long at = apostrophe_at(&t, &al);
        if (at >= 0 && word_set_has(&f->words, t.term, (size_t)at))
            t = with_term(out, t, t.term + at + al, t.len - (size_t)at - al);
        atoks_push(out, t);
    }
    out->end_inc = in->end_inc;
}

static void run_apostrophe(const atoks *in, atoks *out)
{
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        size_t al;
        long at = apostrophe_at(&t, &al);
        if (at >= 0) t = with_term(out, t, t.term, (size_t)at);
        atoks_push(out, t);
    }
    out->end_inc = in->end_inc;
}

static void run_decimal_digit(const atoks *in, atoks *out)
{
    buf b = { 0 };
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        buf_reset(&b);
        bool changed = false;
        int n;
        for (size_t p = 0; p < t.len; p += (size_t)n) {
            uint32_t c = dec(t.term, t.len, p, &n);
            if (c >= 0x80 && uc_is_general_category(c, UC_CATEGORY_Nd)) {
                int v = uc_decimal_value(c);
                if (v >= 0) {
                    buf_putc(&b, (char)('0' + v));
                    changed = true;
                    continue;
                }
            }
            buf_append(&b, t.term + p, (size_t)n);
        }
        if (changed) t = with_term(out, t, b.p, b.len);
        atoks_push(out, t);
    }
    buf_free(&b);
    out->end_inc = in->end_inc;
}

static void run_limit(const an_filter *f, const atoks *in, atoks *out)
{
    for (size_t i = 0; i < in->n && (int64_t)i < f->max; i++) atoks_push(out, in->t[i]);
    out->end_inc = (int64_t)in->n <= f->max ? in->end_inc : 0;
}

static int cmp_tok_term(const void *a, const void *b)
{
    const atok *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->term, y->term, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static void run_fingerprint(const an_filter *f, const atoks *in, atoks *out)
{
    if (!in->n) {
        out->end_inc = in->end_inc;
        return;
    }
    atok *copy = xmalloc(in->n * sizeof *copy);
    memcpy(copy, in->t, in->n * sizeof *copy);
    qsort(copy, in->n, sizeof *copy, cmp_tok_term);
    buf b = { 0 };
    size_t units = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (i && same_term(&copy[i], &copy[i - 1])) continue;
        if (b.len) buf_puts(&b, f->sep);
        buf_append(&b, copy[i].term, copy[i].len);
    }
    units = an_utf16_len(b.p ? b.p : "", b.len);
    uint32_t end = 0;
    for (size_t i = 0; i < in->n; i++)
        if (in->t[i].end > end) end = in->t[i].end;
    if ((int64_t)units <= f->max)
        atoks_push(out, (atok){ .term = atoks_strdup(out, b.p ? b.p : "", b.len), .len = (uint32_t)b.len,
                                .pos_inc = 1, .start = 0, .end = end, .type = "fingerprint" });
    buf_free(&b);
    free(copy);
    out->end_inc = 0;
}

/* Code point boundaries of a term. */
static size_t cp_bounds(const atok *t, size_t **pos)
{
    size_t n = 0;
    *pos = xmalloc(((size_t)t->len + 1) * sizeof **pos);
    int k;
    for (size_t i = 0; i < t->len; i += (size_t)k) {
        dec(t->term, t->len, i, &k);
        (*pos)[n++] = i;
    }
    (*pos)[n] = t->len;
    return n;
}

static void run_ngram(const an_filter *f, const atoks *in, atoks *out)
{
    keeper kp = { 0 };
    for (size_t i = 0; i < in->n; i++) {
        atok t = in->t[i];
        size_t *pos;
        size_t n = cp_bounds(&t, &pos);
        bool first = true;
        size_t starts = f->kind == TF_EDGE_NGRAM ? (n ? 1 : 0) : n;
        for (size_t st = 0; st < starts; st++) {
            for (int64_t g = f->min; g <= f->max; g++) {
                if (st + (size_t)g > n) break;
                atok o = with_term(out, t, t.term + pos[st], pos[st + (size_t)g] - pos[st]);
                if (first) keep(out, &kp, o);
                else {
                    o.pos_inc = 0;
                    atoks_push(out, o);
                }
                first = false;
            }
        }
        if (f->preserve && ((int64_t)n < f->min || (int64_t)n > f->max)) {
            atok o = t;
            if (first) keep(out, &kp, o);
            else {
                o.pos_inc = 0;
                atoks_push(out, o);
            }
            first = false;
        }
        if (first) drop(&kp, &t);
        free(pos);
    }
    finish(out, in, &kp);
}

/* Lucene's ShingleFilter for the common cases: unigrams plus shingles of
 * min..max consecutive positions, fillers for positions left by removed
 * tokens, types "shingle", position lengths set. */
static void run_shingle(const an_filter *f, const atoks *in, atoks *out)
{
    /* The position sequence: real tokens, and filler slots for positions that
     * removed tokens left (not before the first token). */
    typedef struct slot {
        const atok *t;   /* NULL: filler */
        size_t ti;       /* index in `in` */
        uint32_t inc, start, end;
    } slot;
    size_t cap = in->n * 2 + 4, ns = 0;
    slot *sl = xmalloc(cap * sizeof *sl);
    for (size_t i = 0; i < in->n; i++) {
        const atok *t = &in->t[i];
        if (t->pos_inc == 0) continue; /* stacked tokens ride along with their unigram */
        uint32_t inc = t->pos_inc;
        if (ns > 0) {
            for (uint32_t g = 1; g < t->pos_inc; g++) {
                if (ns + 1 >= cap) sl = xrealloc(sl, (cap *= 2) * sizeof *sl);
                uint32_t prev_end = sl[ns - 1].end;
                sl[ns] = (slot){ NULL, 0, 1, prev_end, prev_end };
                ns++;
            }
            inc = 1;
        }
        if (ns + 1 >= cap) sl = xrealloc(sl, (cap *= 2) * sizeof *sl);
        sl[ns++] = (slot){ t, i, inc, t->start, t->end };
    }
    bool unigrams = f->preserve || (f->if_no_shingles && ns < (size_t)f->min);
    buf b = { 0 };
    uint32_t carry = 0;
    for (size_t i = 0; i < ns; i++) {
        bool emitted = false;
        uint32_t inc = sl[i].inc + carry;
        carry = 0;
        if (sl[i].t && unigrams) {
            atok u = *sl[i].t;
            u.pos_inc = inc;
            atoks_push(out, u);
            emitted = true;
            for (size_t j = sl[i].ti + 1; j < in->n && in->t[j].pos_inc == 0; j++) atoks_push(out, in->t[j]);
        }
        for (int64_t g = f->min; g <= f->max; g++) {
            if (i + (size_t)g > ns) break;
            buf_reset(&b);
            for (size_t j = i; j < i + (size_t)g; j++) {
                if (j > i) buf_puts(&b, f->sep);
                if (sl[j].t) buf_append(&b, sl[j].t->term, sl[j].t->len);
                else buf_puts(&b, f->filler);
            }
            atok s = { .term = atoks_strdup(out, b.p ? b.p : "", b.len), .len = (uint32_t)b.len,
                       .pos_inc = emitted ? 0 : inc, .pos_len = (uint32_t)g, .start = sl[i].start,
                       .end = sl[i + (size_t)g - 1].end, .type = "shingle" };
            atoks_push(out, s);
            emitted = true;
        }
        if (!emitted) carry += inc;
    }
    buf_free(&b);
    free(sl);
    out->end_inc = in->end_inc + carry;
}

void an_filter_run(const an_filter *f, const atoks *in, atoks *out)
{
    switch (f->kind) {
    case TF_LOWERCASE: run_case(f, in, out, false); break;
    case TF_UPPERCASE: run_case(f, in, out, true); break;
    case TF_ASCIIFOLDING: run_fold(f, in, out); break;
    case TF_STOP: run_stop(f, in, out); break;
    case TF_PORTER:
    case TF_SNOWBALL:
    case TF_MINIMAL_EN:
    case TF_POSSESSIVE_EN: run_stem(f, in, out); break;
    case TF_LENGTH: run_length(f, in, out); break;
    case TF_TRIM: run_trim(in, out); break;
    case TF_UNIQUE: run_unique(f, in, out); break;
    case TF_REMOVE_DUPLICATES: run_remove_duplicates(in, out); break;
    case TF_TRUNCATE: run_truncate(f, in, out); break;
    case TF_REVERSE: run_reverse(in, out); break;
    case TF_SHINGLE: run_shingle(f, in, out); break;
    case TF_NGRAM:
    case TF_EDGE_NGRAM: run_ngram(f, in, out); break;
    case TF_KEYWORD_MARKER: run_keyword_marker(f, in, out); break;
    case TF_ELISION: run_elision(f, in, out); break;
    case TF_APOSTROPHE: run_apostrophe(in, out); break;
    case TF_DECIMAL_DIGIT: run_decimal_digit(in, out); break;
    case TF_LIMIT: run_limit(f, in, out); break;
    case TF_FINGERPRINT: run_fingerprint(f, in, out); break;
    }
}

/* ------------------------------------------------------------------------ */
/* Token filter construction */

static const char *const filter_types[] = {
    "lowercase", "uppercase", "asciifolding", "stop", "stemmer", "porter_stem", "snowball", "length", "trim",
    "unique", "truncate", "reverse", "shingle", "ngram", "edge_ngram", "keyword_marker", "elision",
    "apostrophe", "decimal_digit", "limit", "fingerprint", "remove_duplicates",
};

bool an_filter_type_known(const char *type)
{
    for (size_t i = 0; i < ARRAY_LEN(filter_types); i++)
        if (!strcmp(type, filter_types[i])) return true;
    return false;
}

static void pool_destroy(void *p) { stem_pool_free(p); }

static int snowball_filter(an_ctx *c, an_filter *f, const char *language, es_err *err)
{
    const char *algo = an_snowball_algorithm(language);
    if (!algo) {
        /* Lucene: Invalid stemmer class specified */
        char cap[64];
        snprintf(cap, sizeof cap, "%s", language);
        if (cap[0] >= 'a' && cap[0] <= 'z') cap[0] = (char)(cap[0] - 32);
        return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid stemmer class specified: %s", cap);
    }
    f->kind = TF_SNOWBALL;
    f->pool = stem_pool_new(algo);
    an_ctx_defer(c, pool_destroy, f->pool);
    return 0;
}

static int stemmer_language(an_ctx *c, an_filter *f, const char *lang, es_err *err)
{
    f->keyword_attr = true;
    if (!strcasecmp(lang, "english") || !strcasecmp(lang, "porter")) {
        f->kind = TF_PORTER;
        return 0;
    }
    if (!strcasecmp(lang, "porter2")) return snowball_filter(c, f, "english", err);
    if (!strcasecmp(lang, "minimal_english") || !strcasecmp(lang, "minimalEnglish")) {
        f->kind = TF_MINIMAL_EN;
        return 0;
    }
    if (!strcasecmp(lang, "possessive_english") || !strcasecmp(lang, "possessiveEnglish")) {
        f->kind = TF_POSSESSIVE_EN;
        f->keyword_attr = false;
        return 0;
    }
    static const char *const snowball_langs[] = { "armenian", "basque", "catalan", "danish", "dutch", "finnish",
                                                  "french", "german", "german2", "hungarian", "irish", "italian",
                                                  "lithuanian", "norwegian", "portuguese", "romanian", "russian",
                                                  "serbian", "spanish", "swedish", "turkish" };
    for (size_t i = 0; i < ARRAY_LEN(snowball_langs); i++)
        if (!strcasecmp(lang, snowball_langs[i])) return snowball_filter(c, f, lang, err);
    static const char *const lucene_only[] = {
        "arabic", "bengali", "brazilian", "bulgarian", "czech", "dutch_kp", "dutchKp", "kp", "light_english",
        "lightEnglish", "kstem", "lovins", "estonian", "light_finish", "lightFinish", "light_finnish",
        "lightFinnish", "light_french", "lightFrench", "minimal_french", "minimalFrench", "galician",
        "minimal_galician", "light_german", "lightGerman", "minimal_german", "minimalGerman", "greek", "hindi",
        "light_hungarian", "lightHungarian", "indonesian", "light_italian", "lightItalian", "latvian",
        "light_norwegian", "lightNorwegian", "minimal_norwegian", "minimalNorwegian", "light_nynorsk",
        "lightNynorsk", "minimal_nynorsk", "minimalNynorsk", "persian", "light_portuguese", "lightPortuguese",
        "minimal_portuguese", "minimalPortuguese", "portuguese_rslp", "light_russian", "lightRussian",
        "light_spanish", "lightSpanish", "spanish_plural", "sorani", "light_swedish", "lightSwedish",
    };
    for (size_t i = 0; i < ARRAY_LEN(lucene_only); i++)
        if (!strcasecmp(lang, lucene_only[i]))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "stemmer language [%s] is not supported by this node (ferry)", lang);
    return snowball_filter(c, f, lang, err);
}

an_filter *an_filter_new(an_ctx *c, const char *type, const char *name, const an_params *p, es_err *err)
{
    static const an_params none = { 0 };
    bool prebuilt = p == NULL; /* a filter used by name, without settings */
    if (!p) p = &none;
    an_filter *f = arena_alloc(c->mem, sizeof *f);
    memset(f, 0, sizeof *f);
    f->name = arena_strndup(c->mem, name, strlen(name));
    f->sep = " ";
    f->filler = "_";
    if (!strcmp(type, "lowercase") || !strcmp(type, "uppercase")) {
        f->kind = type[0] == 'l' ? TF_LOWERCASE : TF_UPPERCASE;
        f->normalizing = true;
        const char *lang = an_param_str(p, "language");
        if (lang && f->kind == TF_LOWERCASE) {
            if (!strcasecmp(lang, "greek")) f->lang = 1;
            else if (!strcasecmp(lang, "irish")) f->lang = 2;
            else if (!strcasecmp(lang, "turkish")) f->lang = 3;
            else return es_err_set(err, ES_ILLEGAL_ARGUMENT, "language [%s] not support for lower case", lang), NULL;
        }
    } else if (!strcmp(type, "asciifolding")) {
        f->kind = TF_ASCIIFOLDING;
        f->normalizing = true;
        if (an_param_bool(p, "preserve_original", false, &f->preserve, err)) return NULL;
    } else if (!strcmp(type, "stop")) {
        f->kind = TF_STOP;
        bool ic, has, rt;
        if (an_param_bool(p, "ignore_case", false, &ic, err)) return NULL;
        if (an_param_bool(p, "remove_trailing", true, &rt, err)) return NULL;
        if (an_param_has(p, "stopwords_path"))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "stopwords_path is not supported by this node (ferry)"), NULL;
        if (an_param_words(p, "stopwords", c, ic, &f->words, &has, err)) return NULL;
        if (!has) word_set_from(c, an_english_stop_words, an_english_stop_words_count, ic, &f->words);
    } else if (!strcmp(type, "stemmer")) {
        const char *lang = an_param_str(p, "language");
        if (!lang) lang = an_param_str(p, "name");
        if (stemmer_language(c, f, lang ? lang : "porter", err)) return NULL;
    } else if (!strcmp(type, "porter_stem")) {
        f->kind = TF_PORTER;
        f->keyword_attr = true;
    } else if (!strcmp(type, "snowball")) {
        const char *lang = an_param_str(p, "language");
        f->keyword_attr = true;
        if (snowball_filter(c, f, lang ? lang : "English", err)) return NULL;
    } else if (!strcmp(type, "length")) {
        f->kind = TF_LENGTH;
        if (an_param_int(p, "min", 0, &f->min, err) || an_param_int(p, "max", INT32_MAX, &f->max, err)) return NULL;
        if (f->min > f->max)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "minimum length must be less than or equal to maximum length"),
                   NULL;
    } else if (!strcmp(type, "trim")) {
        f->kind = TF_TRIM;
        f->normalizing = true;
    } else if (!strcmp(type, "unique")) {
        f->kind = TF_UNIQUE;
        if (an_param_bool(p, "only_on_same_position", false, &f->preserve, err)) return NULL;
    } else if (!strcmp(type, "remove_duplicates")) {
        f->kind = TF_REMOVE_DUPLICATES;
    } else if (!strcmp(type, "truncate")) {
        f->kind = TF_TRUNCATE;
        if (an_param_int(p, "length", 10, &f->max, err)) return NULL;
        if (f->max <= 0)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "length parameter must be provided"), NULL;
    } else if (!strcmp(type, "reverse")) {
        f->kind = TF_REVERSE;
    } else if (!strcmp(type, "shingle")) {
        f->kind = TF_SHINGLE;
        const char *sep = an_param_str(p, "token_separator"), *fill = an_param_str(p, "filler_token");
        if (an_param_int(p, "min_shingle_size", 2, &f->min, err) ||
            an_param_int(p, "max_shingle_size", 2, &f->max, err) ||
            an_param_bool(p, "output_unigrams", true, &f->preserve, err) ||
            an_param_bool(p, "output_unigrams_if_no_shingles", false, &f->if_no_shingles, err))
            return NULL;
        if (sep) f->sep = arena_strndup(c->mem, sep, strlen(sep));
        if (fill) f->filler = arena_strndup(c->mem, fill, strlen(fill));
        int64_t maxdiff = an_index_int(c, "index.max_shingle_diff", 3);
        int64_t diff = f->max - f->min + (f->preserve ? 1 : 0);
        if (diff > maxdiff) {
            es_err_set(err, ES_ILLEGAL_ARGUMENT,
                       "In Shingle TokenFilter the difference between max_shingle_size and min_shingle_size (and +1 "
                       "if outputting unigrams) must be less than or equal to: [%lld] but was [%lld]. This limit can "
                       "be set by changing the [index.max_shingle_diff] index level setting.",
                       (long long)maxdiff, (long long)diff);
            return NULL;
        }
        if (f->min < 2) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Min shingle size must be >= 2"), NULL;
        if (f->max < 2) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Max shingle size must be >= 2"), NULL;
        if (f->min > f->max)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Min shingle size must be <= max shingle size"), NULL;
    } else if (!strcmp(type, "ngram") || !strcmp(type, "edge_ngram")) {
        f->kind = type[0] == 'n' ? TF_NGRAM : TF_EDGE_NGRAM;
        if (an_param_int(p, "min_gram", 1, &f->min, err) || an_param_int(p, "max_gram", 2, &f->max, err) ||
            an_param_bool(p, "preserve_original", false, &f->preserve, err))
            return NULL;
        if (f->kind == TF_NGRAM) {
            int64_t diff = an_index_int(c, "index.max_ngram_diff", 1);
            if (f->max - f->min > diff) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "The difference between max_gram and min_gram in NGram Tokenizer must be less than or "
                           "equal to: [%lld] but was [%lld]. This limit can be set by changing the "
                           "[index.max_ngram_diff] index level setting.",
                           (long long)diff, (long long)(f->max - f->min));
                return NULL;
            }
        }
        if (f->min < 1) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "minGram must be greater than zero"), NULL;
        if (f->min > f->max)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "minGram must not be greater than maxGram"), NULL;
    } else if (!strcmp(type, "keyword_marker")) {
        f->kind = TF_KEYWORD_MARKER;
        f->keyword_attr = true;
        bool ic, has;
        if (an_param_bool(p, "ignore_case", false, &ic, err)) return NULL;
        if (an_param_has(p, "keywords_pattern") || an_param_has(p, "keywords_path"))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "keywords_pattern and keywords_path are not supported by this node (ferry)"),
                   NULL;
        if (an_param_words(p, "keywords", c, ic, &f->words, &has, err)) return NULL;
        if (!has)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "keyword filter requires either `keywords`, `keywords_path`, or `keywords_pattern` to "
                              "be configured"),
                   NULL;
    } else if (!strcmp(type, "elision")) {
        f->kind = TF_ELISION;
        f->normalizing = true;
        bool ic, has;
        if (an_param_bool(p, "articles_case", false, &ic, err)) return NULL;
        if (an_param_has(p, "articles_path"))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "articles_path is not supported by this node (ferry)"), NULL;
        if (an_param_words(p, "articles", c, ic, &f->words, &has, err)) return NULL;
        if (!has && !prebuilt)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "elision filter requires [articles] or [articles_path] setting"),
                   NULL;
        if (!has) word_set_from(c, french_articles, ARRAY_LEN(french_articles), true, &f->words);
    } else if (!strcmp(type, "apostrophe")) {
        f->kind = TF_APOSTROPHE;
    } else if (!strcmp(type, "decimal_digit")) {
        f->kind = TF_DECIMAL_DIGIT;
        f->normalizing = true;
    } else if (!strcmp(type, "limit")) {
        f->kind = TF_LIMIT;
        if (an_param_int(p, "max_token_count", 1, &f->max, err) ||
            an_param_bool(p, "consume_all_tokens", false, &f->preserve, err))
            return NULL;
    } else if (!strcmp(type, "fingerprint")) {
        f->kind = TF_FINGERPRINT;
        const char *sep = an_param_str(p, "separator");
        if (sep) f->sep = arena_strndup(c->mem, sep, strlen(sep));
        if (an_param_int(p, "max_output_size", 255, &f->max, err)) return NULL;
    } else {
        return NULL;
    }
    return f;
}

/* ------------------------------------------------------------------------ */
/* Char filters */

static const char *const charfilter_types[] = { "mapping", "html_strip" };

bool an_charfilter_type_known(const char *type)
{
    for (size_t i = 0; i < ARRAY_LEN(charfilter_types); i++)
        if (!strcmp(type, charfilter_types[i])) return true;
    return false;
}

static void offmap_add(an_offmap *m, uint32_t off, int32_t diff)
{
    /* Lucene's BaseCharFilter.addOffCorrectMap: a later entry at the same offset replaces */
    if (m->n && m->off[m->n - 1] == off) {
        m->diff[m->n - 1] = diff;
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->off = xrealloc(m->off, m->cap * sizeof *m->off);
        m->diff = xrealloc(m->diff, m->cap * sizeof *m->diff);
    }
    m->off[m->n] = off;
    m->diff[m->n] = diff;
    m->n++;
}

uint32_t an_offmap_correct(const an_offmap *m, uint32_t off)
{
    if (!m->n || off < m->off[0]) return off;
    size_t lo = 0, hi = m->n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (m->off[mid] <= off) lo = mid;
        else hi = mid;
    }
    int64_t r = (int64_t)off + m->diff[lo];
    return r < 0 ? 0 : (uint32_t)r;
}

/* Output state of a char filter: text and the UTF-16 bookkeeping for corrections. */
typedef struct cf_out {
    buf text;
    an_offmap *map;
    uint32_t in_u16;   /* input consumed, UTF-16 units */
    uint32_t out_u16;  /* output produced */
    int32_t cum;       /* cumulative diff (input - output) */
} cf_out;

static void cf_copy(cf_out *o, const char *s, size_t n)
{
    uint32_t u = an_utf16_len(s, n);
    buf_append(&o->text, s, n);
    o->in_u16 += u;
    o->out_u16 += u;
}

/* Replaces `in_units` UTF-16 units of input with the string r (as MappingCharFilter records it). */
static void cf_replace(cf_out *o, uint32_t in_units, const char *r, size_t rn)
{
    uint32_t out_units = an_utf16_len(r, rn);
    uint32_t out_start = o->out_u16;
    buf_append(&o->text, r, rn);
    o->in_u16 += in_units;
    o->out_u16 += out_units;
    int32_t diff = (int32_t)in_units - (int32_t)out_units;
    if (!diff) return;
    int32_t prev = o->cum;
    if (diff > 0) {
        offmap_add(o->map, out_start + out_units, prev + diff);
    } else {
        for (int32_t x = 0; x < -diff; x++) offmap_add(o->map, out_start + in_units + (uint32_t)x, prev - x - 1);
    }
    o->cum = prev + diff;
}

static void run_mapping(const an_charfilter *cf, const char *s, size_t len, cf_out *o)
{
    size_t i = 0;
    while (i < len) {
        /* longest rule matching at i (rules sorted by `from`) */
        const an_map_rule *best = NULL;
        unsigned char b0 = (unsigned char)s[i];
        for (size_t r = cf->first[b0]; r < cf->first[b0 + 1]; r++) {
            const an_map_rule *m = &cf->rules[r];
            if (m->flen <= len - i && !memcmp(s + i, m->from, m->flen) && (!best || m->flen > best->flen)) best = m;
        }
        if (best) {
            cf_replace(o, an_utf16_len(best->from, best->flen), best->to, best->tlen);
            i += best->flen;
            continue;
        }
        int n;
        dec(s, len, i, &n);
        cf_copy(o, s + i, (size_t)n);
        i += (size_t)n;
    }
}

/* ---- html_strip ---- */

static const struct { const char *name; uint32_t cp; } entities[] = {
    { "AElig", 0xC6 },  { "Aacute", 0xC1 }, { "Acirc", 0xC2 },  { "Agrave", 0xC0 }, { "Aring", 0xC5 },
    { "Atilde", 0xC3 }, { "Auml", 0xC4 },   { "Ccedil", 0xC7 }, { "ETH", 0xD0 },    { "Eacute", 0xC9 },
    { "Ecirc", 0xCA },  { "Egrave", 0xC8 }, { "Euml", 0xCB },   { "Iacute", 0xCD }, { "Icirc", 0xCE },
    { "Igrave", 0xCC }, { "Iuml", 0xCF },   { "Ntilde", 0xD1 }, { "Oacute", 0xD3 }, { "Ocirc", 0xD4 },
    { "Ograve", 0xD2 }, { "Oslash", 0xD8 }, { "Otilde", 0xD5 }, { "Ouml", 0xD6 },   { "THORN", 0xDE },
    { "Uacute", 0xDA }, { "Ucirc", 0xDB },  { "Ugrave", 0xD9 }, { "Uuml", 0xDC },   { "Yacute", 0xDD },
    { "aacute", 0xE1 }, { "acirc", 0xE2 },  { "acute", 0xB4 },  { "aelig", 0xE6 },  { "agrave", 0xE0 },
    { "amp", '&' },     { "apos", '\'' },   { "aring", 0xE5 },  { "atilde", 0xE3 }, { "auml", 0xE4 },
    { "bdquo", 0x201E }, { "brvbar", 0xA6 }, { "bull", 0x2022 }, { "ccedil", 0xE7 }, { "cedil", 0xB8 },
    { "cent", 0xA2 },   { "copy", 0xA9 },   { "curren", 0xA4 }, { "dagger", 0x2020 }, { "deg", 0xB0 },
    { "divide", 0xF7 }, { "eacute", 0xE9 }, { "ecirc", 0xEA },  { "egrave", 0xE8 }, { "emsp", 0x2003 },
    { "ensp", 0x2002 }, { "eth", 0xF0 },    { "euml", 0xEB },   { "euro", 0x20AC }, { "frac12", 0xBD },
    { "frac14", 0xBC }, { "frac34", 0xBE }, { "gt", '>' },      { "hellip", 0x2026 }, { "iacute", 0xED },
    { "icirc", 0xEE },  { "iexcl", 0xA1 },  { "igrave", 0xEC }, { "iquest", 0xBF }, { "iuml", 0xEF },
    { "laquo", 0xAB },  { "ldquo", 0x201C }, { "lsaquo", 0x2039 }, { "lsquo", 0x2018 }, { "lt", '<' },
    { "macr", 0xAF },   { "mdash", 0x2014 }, { "micro", 0xB5 }, { "middot", 0xB7 }, { "nbsp", 0xA0 },
    { "ndash", 0x2013 }, { "not", 0xAC },   { "ntilde", 0xF1 }, { "oacute", 0xF3 }, { "ocirc", 0xF4 },
    { "ograve", 0xF2 }, { "ordf", 0xAA },   { "ordm", 0xBA },   { "oslash", 0xF8 }, { "otilde", 0xF5 },
    { "ouml", 0xF6 },   { "para", 0xB6 },   { "permil", 0x2030 }, { "plusmn", 0xB1 }, { "pound", 0xA3 },
    { "quot", '"' },    { "raquo", 0xBB },  { "rdquo", 0x201D }, { "reg", 0xAE },   { "rsaquo", 0x203A },
    { "rsquo", 0x2019 }, { "sbquo", 0x201A }, { "sect", 0xA7 },  { "shy", 0xAD },    { "sup1", 0xB9 },
    { "sup2", 0xB2 },   { "sup3", 0xB3 },   { "szlig", 0xDF },  { "thorn", 0xFE },  { "times", 0xD7 },
    { "trade", 0x2122 }, { "uacute", 0xFA }, { "ucirc", 0xFB },  { "ugrave", 0xF9 }, { "uml", 0xA8 },
    { "uuml", 0xFC },   { "yacute", 0xFD }, { "yen", 0xA5 },    { "yuml", 0xFF },
};

static bool entity_lookup(const char *s, size_t n, uint32_t *cp)
{
    for (size_t i = 0; i < ARRAY_LEN(entities); i++)
        if (strlen(entities[i].name) == n && !memcmp(entities[i].name, s, n)) {
            *cp = entities[i].cp;
            return true;
        }
    return false;
}

static bool block_tag(const char *name, size_t n)
{
    static const char *const block[] = {
        "address", "article", "aside", "blockquote", "br", "caption", "center", "dd", "dir", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "footer", "form", "frameset", "h1", "h2", "h3", "h4",
        "h5", "h6", "header", "hr", "isindex", "li", "main", "menu", "nav", "noframes", "noscript", "ol",
        "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    };
    char low[16];
    if (n >= sizeof low) return false;
    for (size_t i = 0; i < n; i++) low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    low[n] = 0;
    for (size_t i = 0; i < ARRAY_LEN(block); i++)
        if (!strcmp(low, block[i])) return true;
    return false;
}

static bool ci_prefix(const char *s, size_t len, const char *p)
{
    size_t n = strlen(p);
    return len >= n && !strncasecmp(s, p, n);
}

static void run_html(const an_charfilter *cf, const char *s, size_t len, cf_out *o)
{
    size_t i = 0;
    while (i < len) {
        char ch = s[i];
        if (ch == '&') {
            /* &name; &#NN; &#xHH; */
            size_t j = i + 1;
            uint32_t cp = 0;
            bool ok = false;
            if (j < len && s[j] == '#') {
                j++;
                bool hex = j < len && (s[j] == 'x' || s[j] == 'X');
                if (hex) j++;
                size_t d0 = j;
                uint64_t v = 0;
                while (j < len && j - d0 < 8 &&
                       ((s[j] >= '0' && s[j] <= '9') ||
                        (hex && ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'f')))) {
                    int dv = s[j] <= '9' ? s[j] - '0' : (s[j] | 0x20) - 'a' + 10;
                    v = v * (hex ? 16 : 10) + (uint64_t)dv;
                    j++;
                }
                if (j > d0 && v > 0 && v <= 0x10FFFF && !(v >= 0xD800 && v <= 0xDFFF)) {
                    cp = (uint32_t)v;
                    ok = true;
                }
            } else {
                size_t n0 = j;
                while (j < len && j - n0 < 10 && ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z')) j++;
                while (j < len && j - n0 < 10 && s[j] >= '0' && s[j] <= '9') j++;
                ok = j > n0 && entity_lookup(s + n0, j - n0, &cp);
            }
            if (ok) {
                if (j < len && s[j] == ';') j++;
                buf r = { 0 };
                put_cp(&r, cp);
                cf_replace(o, an_utf16_len(s + i, j - i), r.p, r.len);
                buf_free(&r);
                i = j;
                continue;
            }
            cf_copy(o, s + i, 1);
            i++;
            continue;
        }
        if (ch == '<' && i + 1 < len) {
            size_t j = i + 1;
            if (ci_prefix(s + j, len - j, "!--")) {
                const char *e = memmem(s + j + 3, len - j - 3, "-->", 3);
                size_t end = e ? (size_t)(e - s) + 3 : len;
                cf_replace(o, an_utf16_len(s + i, end - i), "", 0);
                i = end;
                continue;
            }
            if (s[j] == '!' || s[j] == '?') {
                const char *e = memchr(s + j, '>', len - j);
                size_t end = e ? (size_t)(e - s) + 1 : len;
                cf_replace(o, an_utf16_len(s + i, end - i), "", 0);
                i = end;
                continue;
            }
            bool closing = s[j] == '/';
            if (closing) j++;
            size_t n0 = j;
            while (j < len && (((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z') || (s[j] >= '0' && s[j] <= '9') ||
                               s[j] == '-' || s[j] == ':'))
                j++;
            if (j == n0 || !((s[n0] | 0x20) >= 'a' && (s[n0] | 0x20) <= 'z')) {
                cf_copy(o, s + i, 1);
                i++;
                continue;
            }
            size_t nlen = j - n0;
            /* end of the tag, honouring quoted attribute values */
            char q = 0;
            while (j < len) {
                if (q) {
                    if (s[j] == q) q = 0;
                } else if (s[j] == '"' || s[j] == '\'') {
                    q = s[j];
                } else if (s[j] == '>') {
                    break;
                }
                j++;
            }
            if (j >= len) { /* unterminated: not a tag */
                cf_copy(o, s + i, 1);
                i++;
                continue;
            }
            size_t end = j + 1;
            char low[16] = { 0 };
            if (nlen < sizeof low)
                for (size_t k = 0; k < nlen; k++)
                    low[k] = (char)((s[n0 + k] >= 'A' && s[n0 + k] <= 'Z') ? s[n0 + k] + 32 : s[n0 + k]);
            if (cf->escaped.n && nlen < sizeof low && word_set_has(&cf->escaped, low, nlen)) {
                cf_copy(o, s + i, end - i);
                i = end;
                continue;
            }
            if (!closing && (!strcmp(low, "script") || !strcmp(low, "style"))) {
                /* the element's content goes too */
                char close[24];
                snprintf(close, sizeof close, "</%s", low);
                size_t k = end;
                while (k < len && !ci_prefix(s + k, len - k, close)) k++;
                if (k < len) {
                    const char *e = memchr(s + k, '>', len - k);
                    end = e ? (size_t)(e - s) + 1 : len;
                } else {
                    end = len;
                }
            }
            bool block = block_tag(s + n0, nlen);
            cf_replace(o, an_utf16_len(s + i, end - i), block ? "\n" : "", block ? 1 : 0);
            i = end;
            continue;
        }
        int n;
        dec(s, len, i, &n);
        cf_copy(o, s + i, (size_t)n);
        i += (size_t)n;
    }
}

void an_charfilter_run(const an_charfilter *cf, const char *text, size_t len, arena *mem, char **out,
                       size_t *out_len, an_offmap *map)
{
    cf_out o = { .map = map };
    if (cf->kind == CF_MAPPING) run_mapping(cf, text, len, &o);
    else run_html(cf, text, len, &o);
    *out = arena_strndup(mem, o.text.p ? o.text.p : "", o.text.len);
    *out_len = o.text.len;
    buf_free(&o.text);
}

/* "a => b" with Java-style escapes on both sides. */
static bool unescape_rule_side(const char *s, size_t n, buf *out)
{
    buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            buf_putc(out, s[i]);
            continue;
        }
        if (++i >= n) return false;
        switch (s[i]) {
        case '\\': buf_putc(out, '\\'); break;
        case '"': buf_putc(out, '"'); break;
        case '\'': buf_putc(out, '\''); break;
        case 'n': buf_putc(out, '\n'); break;
        case 't': buf_putc(out, '\t'); break;
        case 'r': buf_putc(out, '\r'); break;
        case 'b': buf_putc(out, '\b'); break;
        case 'f': buf_putc(out, '\f'); break;
        case 'u': {
            if (i + 4 >= n) return false;
            char hex[5];
            memcpy(hex, s + i + 1, 4);
            hex[4] = 0;
            char *end;
            unsigned long v = strtoul(hex, &end, 16);
            if (*end) return false;
            put_cp(out, (uint32_t)v);
            i += 4;
            break;
        }
        default: return false;
        }
    }
    return true;
}

static int cmp_rule(const void *a, const void *b)
{
    const an_map_rule *x = a, *y = b;
    size_t n = x->flen < y->flen ? x->flen : y->flen;
    int c = memcmp(x->from, y->from, n);
    if (c) return c;
    return x->flen < y->flen ? -1 : x->flen > y->flen;
}

static bool java_trim_char(char c) { return (unsigned char)c <= ' '; }

an_charfilter *an_charfilter_new(an_ctx *c, const char *type, const char *name, const an_params *p, es_err *err)
{
    static const an_params none = { 0 };
    if (!p) p = &none;
    an_charfilter *cf = arena_alloc(c->mem, sizeof *cf);
    memset(cf, 0, sizeof *cf);
    cf->name = arena_strndup(c->mem, name, strlen(name));
    if (!strcmp(type, "html_strip")) {
        cf->kind = CF_HTML_STRIP;
        size_t n;
        const char **tags = an_param_list(p, "escaped_tags", &n);
        word_set_from(c, tags, n, true, &cf->escaped);
        return cf;
    }
    if (!strcmp(type, "mapping")) {
        cf->kind = CF_MAPPING;
        cf->normalizing = true;
        size_t n;
        const char **rules = an_param_list(p, "mappings", &n);
        if (!rules) {
            if (an_param_has(p, "mappings_path"))
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "mappings_path is not supported by this node (ferry)"),
                       NULL;
            es_err_set(err, ES_ILLEGAL_ARGUMENT, "mapping requires either `mappings` or `mappings_path` to be configured");
            return NULL;
        }
        cf->rules = arena_alloc(c->mem, (n ? n : 1) * sizeof *cf->rules);
        buf l = { 0 }, r = { 0 };
        for (size_t i = 0; i < n; i++) {
            const char *rule = rules[i];
            const char *arrow = NULL;
            for (const char *q = rule; (q = strstr(q, "=>")); q++) arrow = q;
            bool ok = arrow != NULL;
            if (ok) {
                const char *a = rule, *b = arrow;
                while (a < b && java_trim_char(*a)) a++;
                while (b > a && java_trim_char(b[-1])) b--;
                const char *c2 = arrow + 2, *d = rule + strlen(rule);
                while (c2 < d && java_trim_char(*c2)) c2++;
                while (d > c2 && java_trim_char(d[-1])) d--;
                ok = b > a && unescape_rule_side(a, (size_t)(b - a), &l) && unescape_rule_side(c2, (size_t)(d - c2), &r);
            }
            if (!ok) {
                buf_free(&l);
                buf_free(&r);
                es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid Mapping Rule : [%s]", rule);
                return NULL;
            }
            an_map_rule *m = &cf->rules[cf->n_rules++];
            m->from = arena_strndup(c->mem, l.p, l.len);
            m->flen = l.len;
            m->to = arena_strndup(c->mem, r.p ? r.p : "", r.len);
            m->tlen = r.len;
        }
        buf_free(&l);
        buf_free(&r);
        qsort(cf->rules, cf->n_rules, sizeof *cf->rules, cmp_rule);
        /* rules by first byte: first[b]..first[b+1] */
        size_t ri = 0;
        for (unsigned b = 0; b < 256; b++) {
            cf->first[b] = (uint32_t)ri;
            while (ri < cf->n_rules && (unsigned char)cf->rules[ri].from[0] == b) ri++;
        }
        cf->first[256] = (uint32_t)ri;
        return cf;
    }
    return NULL;
}
