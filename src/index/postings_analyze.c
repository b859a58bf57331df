/*
 * postings_analyze.c — the one place where indexing and queries turn text
 * into terms (index_analyze): text fields through the analysis module
 * (analysis_for_field + analyzer_run), every other field as one term.
 *
 * The small built-in analyzers below (standard, simple, whitespace,
 * keyword) only serve when the analysis module has no analyzer for a field.
 */
#include "index/index.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <unistr.h>
#include <uniwbrk.h>

#define MAX_TOKEN_CHARS 255

typedef struct tok_out {
    arena *mem;
    index_token *v;
    size_t n, cap;
    uint32_t pos;     /* position of the next token */
} tok_out;

static void tok_push(tok_out *o, const char *term, size_t len)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 32;
        index_token *nv = arena_alloc(o->mem, cap * sizeof *nv);
        if (o->n) memcpy(nv, o->v, o->n * sizeof *nv);
        o->v = nv;
        o->cap = cap;
    }
    o->v[o->n++] = (index_token){ term, (uint32_t)len, o->pos++ };
}

/* Lowercases (per code point) a UTF-8 span into the arena and pushes it. */
static void push_lower(tok_out *o, const uint8_t *s, size_t n, bool ascii)
{
    if (ascii) {
        char *t = arena_alloc(o->mem, n + 1);
        for (size_t i = 0; i < n; i++) {
            uint8_t c = s[i];
            t[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        t[n] = 0;
        tok_push(o, t, n);
        return;
    }
    char *t = arena_alloc(o->mem, n * 2 + 8); /* lowercase grows by at most ~1.5x in UTF-8 */
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        ucs4_t uc;
        int k = u8_mbtouc(&uc, s + i, n - i);
        if (k <= 0) k = 1;
        uc = uc_tolower(uc);
        int w = u8_uctomb((uint8_t *)t + m, uc, 6);
        if (w > 0) m += (size_t)w;
        i += (size_t)k;
    }
    t[m] = 0;
    tok_push(o, t, m);
}

/* Splits a span into tokens of at most MAX_TOKEN_CHARS code points. */
static void push_word(tok_out *o, const uint8_t *s, size_t n, bool ascii, bool lower)
{
    while (n) {
        size_t take = n;
        if (ascii) {
            if (take > MAX_TOKEN_CHARS) take = MAX_TOKEN_CHARS;
        } else {
            size_t chars = 0, i = 0;
            while (i < n && chars < MAX_TOKEN_CHARS) {
                ucs4_t uc;
                int k = u8_mbtouc(&uc, s + i, n - i);
                i += k > 0 ? (size_t)k : 1;
                chars++;
            }
            take = i;
        }
        if (lower) push_lower(o, s, take, ascii);
        else {
            char *t = arena_strndup(o->mem, (const char *)s, take);
            tok_push(o, t, take);
        }
        s += take;
        n -= take;
    }
}

/* ASCII word classes of UAX#29. */
enum { C_OTHER, C_L, C_N, C_EX, C_ML, C_MNL, C_MN };

static int ascii_class(uint8_t c)
{
    if ((c | 32) >= 'a' && (c | 32) <= 'z') return C_L;
    if (c >= '0' && c <= '9') return C_N;
    switch (c) {
    case '_': return C_EX;
    case ':': return C_ML;
    case '.': case '\'': return C_MNL;
    case ',': case ';': return C_MN;
    }
    return C_OTHER;
}

static void standard_ascii(tok_out *o, const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int c = ascii_class(s[i]);
        if (c != C_L && c != C_N && c != C_EX) { i++; continue; }
        size_t start = i;
        bool has_alnum = false;
        for (;;) {
            int k = ascii_class(s[i]);
            if (k == C_L || k == C_N) has_alnum = true;
            i++;
            if (i >= n) break;
            int nx = ascii_class(s[i]);
            if (nx == C_L || nx == C_N || nx == C_EX) continue;
            if (i + 1 < n && (nx == C_ML || nx == C_MNL || nx == C_MN)) {
                int after = ascii_class(s[i + 1]);
                bool join = (k == C_L && after == C_L && (nx == C_ML || nx == C_MNL)) ||
                            (k == C_N && after == C_N && (nx == C_MN || nx == C_MNL));
                if (join) { i++; continue; }
            }
            break;
        }
        if (has_alnum) push_word(o, s + start, i - start, true, true);
    }
}

static void standard_unicode(tok_out *o, const uint8_t *s, size_t n)
{
    char *brk = malloc(n ? n : 1);
    u8_wordbreaks(s, n, brk);
    size_t start = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i < n && !brk[i]) continue;
        /* segment [start, i) */
        bool word = false;
        for (size_t j = start; j < i;) {
            ucs4_t uc;
            int k = u8_mbtouc(&uc, s + j, i - j);
            if (uc_is_alnum(uc)) { word = true; break; }
            j += k > 0 ? (size_t)k : 1;
        }
        if (word) push_word(o, s + start, i - start, false, true);
        start = i;
    }
    free(brk);
}

static bool is_ascii(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] & 0x80) return false;
    return true;
}

static void run_standard(tok_out *o, const uint8_t *s, size_t n)
{
    if (is_ascii(s, n)) standard_ascii(o, s, n);
    else standard_unicode(o, s, n);
}

static void run_simple(tok_out *o, const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        ucs4_t uc;
        int k = u8_mbtouc(&uc, s + i, n - i);
        if (k <= 0) k = 1;
        if (!uc_is_alpha(uc)) { i += (size_t)k; continue; }
        size_t start = i;
        while (i < n) {
            k = u8_mbtouc(&uc, s + i, n - i);
            if (k <= 0) k = 1;
            if (!uc_is_alpha(uc)) break;
            i += (size_t)k;
        }
        push_word(o, s + start, i - start, is_ascii(s + start, i - start), true);
    }
}

static void run_whitespace(tok_out *o, const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        ucs4_t uc;
        int k = u8_mbtouc(&uc, s + i, n - i);
        if (k <= 0) k = 1;
        if (uc_is_space(uc)) { i += (size_t)k; continue; }
        size_t start = i;
        while (i < n) {
            k = u8_mbtouc(&uc, s + i, n - i);
            if (k <= 0) k = 1;
            if (uc_is_space(uc)) break;
            i += (size_t)k;
        }
        push_word(o, s + start, i - start, is_ascii(s + start, i - start), false);
    }
}

static int run_named(const char *name, const char *text, size_t len, tok_out *o, es_err *err)
{
    const uint8_t *s = (const uint8_t *)text;
    if (!name || !strcmp(name, "standard") || !strcmp(name, "default")) run_standard(o, s, len);
    else if (!strcmp(name, "simple")) run_simple(o, s, len);
    else if (!strcmp(name, "whitespace")) run_whitespace(o, s, len);
    else if (!strcmp(name, "keyword")) tok_push(o, arena_strndup(o->mem, text, len), len);
    else if (err) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "analyzer [%s] not found", name);
    else run_standard(o, s, len);
    return 0;
}

static bool have_analysis(void)
{
    return true;
}

/* ------------------------------------------------------------------------ */
/* The per-index analysis cache                                             */

typedef struct an_entry {
    char uuid[32];
    int64_t version;
    analysis *an;
    int refs;
    bool stale;
} an_entry;

static pthread_mutex_t an_mu = PTHREAD_MUTEX_INITIALIZER;
static an_entry *an_cache;
static size_t an_n;

static bool settings_have_analysis(const index_settings *st)
{
    if (!st) return false;
    for (size_t i = 0; i < st->n; i++)
        if (!strncmp(st->items[i].key, "index.analysis.", 15)) return true;
    return false;
}

const struct analysis *index_analysis_acquire(const index_settings *s, const char *uuid, int64_t settings_version,
                                              es_err *err)
{
    if (!settings_have_analysis(s)) return analysis_default();
    pthread_mutex_lock(&an_mu);
    for (size_t i = 0; i < an_n; i++) {
        an_entry *e = &an_cache[i];
        if (!e->stale && e->version == settings_version && !strcmp(e->uuid, uuid)) {
            e->refs++;
            pthread_mutex_unlock(&an_mu);
            return e->an;
        }
    }
    pthread_mutex_unlock(&an_mu);
    analysis *a = analysis_build(s, err);
    if (!a) return NULL;
    pthread_mutex_lock(&an_mu);
    /* older versions of the same index go stale; unused stale entries are freed */
    size_t k = 0;
    for (size_t i = 0; i < an_n; i++) {
        an_entry *e = &an_cache[i];
        if (!strcmp(e->uuid, uuid) && e->version < settings_version) e->stale = true;
        if (e->stale && e->refs == 0) {
            analysis_free(e->an);
            continue;
        }
        an_cache[k++] = *e;
    }
    an_n = k;
    an_cache = xrealloc(an_cache, (an_n + 1) * sizeof *an_cache);
    an_entry *e = &an_cache[an_n++];
    memset(e, 0, sizeof *e);
    snprintf(e->uuid, sizeof e->uuid, "%s", uuid);
    e->version = settings_version;
    e->an = a;
    e->refs = 1;
    pthread_mutex_unlock(&an_mu);
    return a;
}

void index_analysis_release(const struct analysis *a)
{
    if (!a || a == analysis_default()) return;
    pthread_mutex_lock(&an_mu);
    for (size_t i = 0; i < an_n; i++) {
        an_entry *e = &an_cache[i];
        if (e->an != a) continue;
        if (--e->refs == 0 && e->stale) {
            analysis_free(e->an);
            an_cache[i] = an_cache[--an_n];
        }
        break;
    }
    pthread_mutex_unlock(&an_mu);
}

static bool field_is_analyzed(const mfield *f)
{
    return f && (f->type == FT_TEXT || f->type == FT_MATCH_ONLY_TEXT);
}

static bool field_is_keyword_like(const mfield *f)
{
    return f && (f->type == FT_KEYWORD || f->type == FT_WILDCARD || f->type == FT_CONSTANT_KEYWORD);
}

/* Runs a module analyzer and copies its tokens into the arena. */
static int run_module(const analyzer *a, const char *text, size_t len, uint32_t pos_base, tok_out *o,
                      uint32_t *end_pos, es_err *err)
{
    /* the analyzer allocates its terms in the caller's arena (lent to the list and
     * taken back), so they need no copy */
    token_list tl;
    memset(&tl, 0, sizeof tl);
    tl.mem = *o->mem;
    int rc = analyzer_run(a, text, len, pos_base, &tl, err);
    *o->mem = tl.mem;
    memset(&tl.mem, 0, sizeof tl.mem);
    if (rc < 0) {
        token_list_free(&tl);
        return -1;
    }
    for (size_t i = 0; i < tl.n; i++) {
        o->pos = tl.t[i].position;
        tok_push(o, tl.t[i].term, tl.t[i].len);
    }
    if (end_pos) *end_pos = tl.n || tl.end_position > pos_base ? tl.end_position : pos_base;
    token_list_free(&tl);
    return 0;
}

int index_analyze(const struct analysis *an, const mfield *f, bool search, const char *text, size_t len,
                  uint32_t pos_base, arena *mem, index_token **out, size_t *n, uint32_t *end_pos, es_err *err)
{
    tok_out o = { mem, NULL, 0, 0, pos_base };
    if (have_analysis() && (field_is_analyzed(f) || field_is_keyword_like(f))) {
        const analysis *a = an ? an : analysis_default();
        const analyzer *az = analysis_for_field(a, f, search);
        if (field_is_keyword_like(f) && (!az || !strcmp(analyzer_name(az), "keyword"))) {
            tok_push(&o, text, len);
            if (end_pos) *end_pos = pos_base + 1;
        } else if (az) {
            if (run_module(az, text, len, pos_base, &o, end_pos, err) < 0) return -1;
        } else {
            run_named(NULL, text, len, &o, NULL);
            if (end_pos) *end_pos = o.pos;
        }
    } else if (!field_is_analyzed(f)) {
        tok_push(&o, text, len);
        if (end_pos) *end_pos = o.pos;
    } else {
        const char *name = f->analyzer;
        if (search && f->search_analyzer) name = f->search_analyzer;
        run_named(name, text, len, &o, NULL);
        if (end_pos) *end_pos = o.pos;
    }
    *out = o.v;
    *n = o.n;
    return 0;
}

uint32_t index_analyze_gap(const struct analysis *an, const mfield *f)
{
    if (have_analysis()) {
        const analyzer *az = analysis_for_field(an ? an : analysis_default(), f, false);
        if (az) return (uint32_t)analyzer_position_increment_gap(az);
    }
    return 100;
}

int index_analyze_named(const struct analysis *an, const char *name, const char *text, size_t len,
                        uint32_t pos_base, arena *mem, index_token **out, size_t *n, es_err *err)
{
    tok_out o = { mem, NULL, 0, 0, pos_base };
    if (have_analysis()) {
        const analyzer *az = analysis_get(an ? an : analysis_default(), name);
        if (!az) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "analyzer [%s] not found", name);
        if (run_module(az, text, len, pos_base, &o, NULL, err) < 0) return -1;
    } else if (run_named(name, text, len, &o, err) < 0) {
        return -1;
    }
    *out = o.v;
    *n = o.n;
    return 0;
}
