/*
 * analysis_stem.c — stemmers.
 *
 *   - Porter: Martin Porter's 1980 algorithm as Lucene's PorterStemFilter
 *     runs it (his reference C version, with its two departures from the
 *     paper: "bli" -> "ble" and "logi" -> "log" in step 2), written here from
 *     the algorithm's description. Elasticsearch's "english" stemmer and
 *     english analyzer use it, not Snowball's porter2.
 *   - EnglishMinimalStemmer: the S-stemmer (plural removal).
 *   - Snowball languages through libstemmer; an sb_stemmer is not
 *     thread-safe, so each filter keeps a small pool behind a mutex.
 */
#include "index/index_int.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

/* ------------------------------------------------------------------------ */
/* Porter */

typedef struct porter {
    uint32_t *b; /* code points, as Lucene works on chars */
    int k;  /* end of the word (inclusive) */
    int j;  /* end of the stem before a matched suffix */
} porter;

static bool cons(const porter *z, int i)
{
    switch (z->b[i]) {
    case 'a': case 'e': case 'i': case 'o': case 'u': return false;
    case 'y': return i == 0 ? true : !cons(z, i - 1);
    default: return true;
    }
}

/* The number of vowel-consonant sequences in b[0..j]. */
static int measure(const porter *z)
{
    int n = 0, i = 0;
    for (;;) {
        if (i > z->j) return n;
        if (!cons(z, i)) break;
        i++;
    }
    i++;
    for (;;) {
        for (;;) {
            if (i > z->j) return n;
            if (cons(z, i)) break;
            i++;
        }
        i++;
        n++;
        for (;;) {
            if (i > z->j) return n;
            if (!cons(z, i)) break;
            i++;
        }
        i++;
    }
}

static bool vowel_in_stem(const porter *z)
{
    for (int i = 0; i <= z->j; i++)
        if (!cons(z, i)) return true;
    return false;
}

static bool double_cons(const porter *z, int j)
{
    if (j < 1) return false;
    if (z->b[j] != z->b[j - 1]) return false;
    return cons(z, j);
}

/* consonant-vowel-consonant ending at i, the last not w, x or y */
static bool cvc(const porter *z, int i)
{
    if (i < 2 || !cons(z, i) || cons(z, i - 1) || !cons(z, i - 2)) return false;
    uint32_t ch = z->b[i];
    return ch != 'w' && ch != 'x' && ch != 'y';
}

static bool ends(porter *z, const char *s)
{
    int l = (int)strlen(s);
    int o = z->k - l + 1;
    if (o < 0) return false;
    for (int i = 0; i < l; i++)
        if (z->b[o + i] != (unsigned char)s[i]) return false;
    z->j = z->k - l;
    return true;
}

static void setto(porter *z, const char *s)
{
    int l = (int)strlen(s);
    for (int i = 0; i < l; i++) z->b[z->j + 1 + i] = (unsigned char)s[i];
    z->k = z->j + l;
}

static void r(porter *z, const char *s)
{
    if (measure(z) > 0) setto(z, s);
}

/* plurals and -ed / -ing */
static void step1ab(porter *z)
{
    if (z->b[z->k] == 's') {
        if (ends(z, "sses")) z->k -= 2;
        else if (ends(z, "ies")) setto(z, "i");
        else if (z->k >= 1 && z->b[z->k - 1] != 's') z->k--;
    }
    if (ends(z, "eed")) {
        if (measure(z) > 0) z->k--;
    } else if ((ends(z, "ed") || ends(z, "ing")) && vowel_in_stem(z)) {
        z->k = z->j;
        if (ends(z, "at")) setto(z, "ate");
        else if (ends(z, "bl")) setto(z, "ble");
        else if (ends(z, "iz")) setto(z, "ize");
        else if (double_cons(z, z->k)) {
            uint32_t ch = z->b[z->k--];
            if (ch == 'l' || ch == 's' || ch == 'z') z->k++;
        } else if (measure(z) == 1 && cvc(z, z->k)) {
            setto(z, "e");
        }
    }
}

/* terminal y -> i when another vowel is in the stem */
static void step1c(porter *z)
{
    if (ends(z, "y") && vowel_in_stem(z)) z->b[z->k] = 'i';
}

/* double suffixes to single ones */
static void step2(porter *z)
{
    if (z->k == 0) return;
    switch (z->b[z->k - 1]) {
    case 'a':
        if (ends(z, "ational")) { r(z, "ate"); break; }
        if (ends(z, "tional")) { r(z, "tion"); break; }
        break;
    case 'c':
        if (ends(z, "enci")) { r(z, "ence"); break; }
        if (ends(z, "anci")) { r(z, "ance"); break; }
        break;
    case 'e':
        if (ends(z, "izer")) { r(z, "ize"); break; }
        break;
    case 'l':
        if (ends(z, "bli")) { r(z, "ble"); break; }
        if (ends(z, "alli")) { r(z, "al"); break; }
        if (ends(z, "entli")) { r(z, "ent"); break; }
        if (ends(z, "eli")) { r(z, "e"); break; }
        if (ends(z, "ousli")) { r(z, "ous"); break; }
        break;
    case 'o':
        if (ends(z, "ization")) { r(z, "ize"); break; }
        if (ends(z, "ation")) { r(z, "ate"); break; }
        if (ends(z, "ator")) { r(z, "ate"); break; }
        break;
    case 's':
        if (ends(z, "alism")) { r(z, "al"); break; }
        if (ends(z, "iveness")) { r(z, "ive"); break; }
        if (ends(z, "fulness")) { r(z, "ful"); break; }
        if (ends(z, "ousness")) { r(z, "ous"); break; }
        break;
    case 't':
        if (ends(z, "aliti")) { r(z, "al"); break; }
        if (ends(z, "iviti")) { r(z, "ive"); break; }
        if (ends(z, "biliti")) { r(z, "ble"); break; }
        break;
    case 'g':
        if (ends(z, "logi")) { r(z, "log"); break; }
        break;
    default: break;
    }
}

/* -ic-, -full, -ness etc. */
static void step3(porter *z)
{
    switch (z->b[z->k]) {
    case 'e':
        if (ends(z, "icate")) { r(z, "ic"); break; }
        if (ends(z, "ative")) { r(z, ""); break; }
        if (ends(z, "alize")) { r(z, "al"); break; }
        break;
    case 'i':
        if (ends(z, "iciti")) { r(z, "ic"); break; }
        break;
    case 'l':
        if (ends(z, "ical")) { r(z, "ic"); break; }
        if (ends(z, "ful")) { r(z, ""); break; }
        break;
    case 's':
        if (ends(z, "ness")) { r(z, ""); break; }
        break;
    default: break;
    }
}

/* -ant, -ence etc. in context <c>vcvc<v> */
static void step4(porter *z)
{
    if (z->k == 0) return;
    switch (z->b[z->k - 1]) {
    case 'a': if (ends(z, "al")) break; return;
    case 'c': if (ends(z, "ance") || ends(z, "ence")) break; return;
    case 'e': if (ends(z, "er")) break; return;
    case 'i': if (ends(z, "ic")) break; return;
    case 'l': if (ends(z, "able") || ends(z, "ible")) break; return;
    case 'n':
        if (ends(z, "ant") || ends(z, "ement") || ends(z, "ment") || ends(z, "ent")) break;
        return;
    case 'o':
        if (ends(z, "ion") && z->j >= 0 && (z->b[z->j] == 's' || z->b[z->j] == 't')) break;
        if (ends(z, "ou")) break;
        return;
    case 's': if (ends(z, "ism")) break; return;
    case 't': if (ends(z, "ate") || ends(z, "iti")) break; return;
    case 'u': if (ends(z, "ous")) break; return;
    case 'v': if (ends(z, "ive")) break; return;
    case 'z': if (ends(z, "ize")) break; return;
    default: return;
    }
    if (measure(z) > 1) z->k = z->j;
}

/* final -e and -ll */
static void step5(porter *z)
{
    z->j = z->k;
    if (z->b[z->k] == 'e') {
        int a = measure(z);
        if (a > 1 || (a == 1 && !cvc(z, z->k - 1))) z->k--;
    }
    if (z->b[z->k] == 'l' && double_cons(z, z->k) && measure(z) > 1) z->k--;
}

size_t an_porter_stem(char *b, size_t len)
{
    if (len <= 2 || len > 1u << 20) return len;
    uint32_t stackbuf[64];
    uint32_t *cp = len + 2 <= ARRAY_LEN(stackbuf) ? stackbuf : xmalloc((len + 2) * sizeof *cp);
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        ucs4_t c;
        int k = u8_mbtouc(&c, (const uint8_t *)b + i, len - i);
        if (k <= 0) k = 1;
        cp[n++] = c;
        i += (size_t)k;
    }
    size_t out = len;
    if (n > 2) {
        porter z = { .b = cp, .k = (int)n - 1, .j = 0 };
        step1ab(&z);
        step1c(&z);
        step2(&z);
        step3(&z);
        step4(&z);
        step5(&z);
        out = 0;
        for (int i = 0; i <= z.k; i++) {
            int k = u8_uctomb((uint8_t *)b + out, cp[i], 6);
            out += (size_t)(k > 0 ? k : 0);
        }
    }
    if (cp != stackbuf) free(cp);
    return out;
}

size_t an_minimal_english_stem(char *s, size_t len)
{
    if (len < 3 || s[len - 1] != 's') return len;
    switch (s[len - 2]) {
    case 'u':
    case 's': return len;
    case 'e':
        if (len > 3 && s[len - 3] == 'i' && s[len - 4] != 'a' && s[len - 4] != 'e') {
            s[len - 3] = 'y';
            return len - 2;
        }
        if (s[len - 3] == 'i' || s[len - 3] == 'a' || s[len - 3] == 'o' || s[len - 3] == 'e') return len;
        return len - 1;
    default: return len - 1;
    }
}

/* ------------------------------------------------------------------------ */
/* Snowball through libstemmer */

const char *an_snowball_algorithm(const char *language)
{
    /* Snowball language names as Lucene's SnowballFilter takes them (case-insensitive). */
    static const struct { const char *lang, *algo; } map[] = {
        { "armenian", "armenian" }, { "basque", "basque" },     { "catalan", "catalan" },
        { "danish", "danish" },     { "dutch", "dutch" },       { "english", "english" },
        { "finnish", "finnish" },   { "french", "french" },     { "german", "german" },
        { "german2", "german" },    { "hungarian", "hungarian" }, { "irish", "irish" },
        { "italian", "italian" },   { "lithuanian", "lithuanian" }, { "norwegian", "norwegian" },
        { "porter", "porter" },     { "portuguese", "portuguese" }, { "romanian", "romanian" },
        { "russian", "russian" },   { "spanish", "spanish" },   { "swedish", "swedish" },
        { "turkish", "turkish" },   { "serbian", "serbian" },
    };
    for (size_t i = 0; i < ARRAY_LEN(map); i++)
        if (!strcasecmp(language, map[i].lang)) {
            /* only if this libstemmer has it */
            for (const char **l = sb_stemmer_list(); *l; l++)
                if (!strcmp(*l, map[i].algo)) return map[i].algo;
            return NULL;
        }
    return NULL;
}

struct stem_pool {
    pthread_mutex_t mu;
    const char *algo;
    struct sb_stemmer **free;
    size_t n, cap;
};

stem_pool *stem_pool_new(const char *algorithm)
{
    stem_pool *p = xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->algo = algorithm;
    return p;
}

void stem_pool_free(stem_pool *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) sb_stemmer_delete(p->free[i]);
    free(p->free);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static struct sb_stemmer *pool_take(stem_pool *p)
{
    struct sb_stemmer *s = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n) s = p->free[--p->n];
    pthread_mutex_unlock(&p->mu);
    if (!s) s = sb_stemmer_new(p->algo, NULL);
    return s;
}

static void pool_give(stem_pool *p, struct sb_stemmer *s)
{
    pthread_mutex_lock(&p->mu);
    if (p->n < 64) {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 4;
            p->free = xrealloc(p->free, p->cap * sizeof *p->free);
        }
        p->free[p->n++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (s) sb_stemmer_delete(s);
}

const char *stem_pool_stem(stem_pool *p, const char *s, size_t n, arena *mem, size_t *out_len)
{
    struct sb_stemmer *st = pool_take(p);
    if (!st) {
        *out_len = n;
        return s;
    }
    const sb_symbol *r = sb_stemmer_stem(st, (const sb_symbol *)s, (int)n);
    const char *res = s;
    size_t rl = n;
    if (r) {
        rl = (size_t)sb_stemmer_length(st);
        res = arena_strndup(mem, (const char *)r, rl);
    }
    pool_give(p, st);
    *out_len = rl;
    return res;
}
