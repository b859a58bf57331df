/*
 * analysis_token.c — tokenizers: Lucene's StandardTokenizer (UAX #29 word
 * boundaries from libunistring, with Lucene's token types and its
 * max_token_length splitting), the character tokenizers (whitespace,
 * letter, lowercase, char_group), keyword, ngram / edge_ngram,
 * path_hierarchy, uax_url_email and pattern (Java regex subset over POSIX).
 *
 * Tokenizers emit terms and byte offsets into the (char-filtered) text; the
 * caller converts offsets to UTF-16 units of the original text.
 */
#include "index/index_int.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unictype.h>
#include <unistr.h>
#include <uniwbrk.h>

/* ------------------------------------------------------------------------ */
/* Small shared helpers */

void atoks_push(atoks *ts, atok t)
{
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 16;
        ts->t = xrealloc(ts->t, ts->cap * sizeof *ts->t);
    }
    if (!t.pos_len) t.pos_len = 1;
    ts->t[ts->n++] = t;
}

char *atoks_strdup(atoks *ts, const char *s, size_t n)
{
    return arena_strndup(ts->mem, s, n);
}

bool an_java_whitespace(uint32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == 0x0B || cp == '\f' || cp == '\r' || (cp >= 0x1C && cp <= 0x1F))
        return true;
    if (cp == 0xA0 || cp == 0x2007 || cp == 0x202F) return false;
    if (cp < 0x80) return cp == ' ';
    return uc_is_general_category(cp, UC_CATEGORY_Zs) || uc_is_general_category(cp, UC_CATEGORY_Zl) ||
           uc_is_general_category(cp, UC_CATEGORY_Zp);
}

uint32_t an_utf16_len(const char *s, size_t n)
{
    uint32_t u = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) != 0x80) u += c >= 0xF0 ? 2 : 1;
    }
    return u;
}

/* Decodes one code point at s[i] (valid UTF-8 assumed, as the input was checked). */
static inline uint32_t dec(const char *s, size_t len, size_t i, int *n)
{
    ucs4_t c;
    int k = u8_mbtouc(&c, (const uint8_t *)s + i, len - i);
    if (k <= 0) k = 1;
    *n = k;
    return c;
}

static inline uint32_t u16w(uint32_t cp) { return cp >= 0x10000 ? 2 : 1; }

static bool java_letter(uint32_t cp)
{
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return uc_is_general_category(cp, UC_CATEGORY_L);
}

static bool java_digit(uint32_t cp)
{
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    return uc_is_general_category(cp, UC_CATEGORY_Nd);
}

static bool java_punct(uint32_t cp)
{
    return uc_is_general_category(cp, UC_CATEGORY_P);
}

static bool java_symbol(uint32_t cp)
{
    return uc_is_general_category(cp, UC_CATEGORY_S);
}

static bool in_chars(const uint32_t *set, size_t n, uint32_t cp)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == cp) return true;
    return false;
}

static bool class_match(unsigned classes, const uint32_t *chars, size_t n_chars, uint32_t cp)
{
    if ((classes & TC_LETTER) && java_letter(cp)) return true;
    if ((classes & TC_DIGIT) && java_digit(cp)) return true;
    if ((classes & TC_WHITESPACE) && an_java_whitespace(cp)) return true;
    if ((classes & TC_PUNCTUATION) && java_punct(cp)) return true;
    if ((classes & TC_SYMBOL) && java_symbol(cp)) return true;
    if ((classes & TC_CUSTOM) && in_chars(chars, n_chars, cp)) return true;
    return false;
}

/* ------------------------------------------------------------------------ */
/* Standard tokenizer */

typedef enum { K_OTHER, K_EXT, K_ALETTER, K_HANGUL, K_KATAKANA, K_NUM, K_IDEO, K_HIRA, K_SEA, K_EMOJI, K_ENL } ckind;

static const uc_script_t *sc_han, *sc_hiragana, *sc_hangul, *sc_sea[8];
static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

static void scripts_init(void)
{
    sc_han = uc_script_byname("Han");
    sc_hiragana = uc_script_byname("Hiragana");
    sc_hangul = uc_script_byname("Hangul");
    static const char *const sea[] = { "Thai", "Lao", "Myanmar", "Khmer", "Tai_Le", "New_Tai_Lue", "Tai_Tham", "Tai_Viet" };
    for (size_t i = 0; i < ARRAY_LEN(sea); i++) sc_sea[i] = uc_script_byname(sea[i]);
}

static ckind classify(uint32_t cp)
{
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return K_ALETTER;
        if (cp >= '0' && cp <= '9') return K_NUM;
        if (cp == '_') return K_ENL;
        return K_OTHER;
    }
    int wb = uc_wordbreak_property(cp);
    const uc_script_t *sc = uc_script(cp);
    if (sc && sc == sc_han) return K_IDEO;
    if (sc && sc == sc_hiragana) return K_HIRA;
    if (sc) {
        for (size_t i = 0; i < ARRAY_LEN(sc_sea); i++)
            if (sc == sc_sea[i] && (uc_is_general_category(cp, UC_CATEGORY_L) ||
                                    uc_is_general_category(cp, UC_CATEGORY_M)))
                return K_SEA;
    }
    switch (wb) {
    case WBP_KATAKANA: return K_KATAKANA;
    case WBP_ALETTER:
    case WBP_HL: return sc && sc == sc_hangul ? K_HANGUL : K_ALETTER;
    case WBP_NUMERIC: return K_NUM;
    case WBP_EXTENDNUMLET: return K_ENL;
    case WBP_EXTEND:
    case WBP_FORMAT:
    case WBP_ZWJ: return K_EXT;
    case WBP_RI: return K_EMOJI;
    default: break;
    }
    if (uc_is_property_extended_pictographic(cp) && uc_is_property_emoji_presentation(cp)) return K_EMOJI;
    if (uc_is_property_extended_pictographic(cp) && uc_is_property_emoji(cp)) return K_EMOJI; /* checked below for FE0F */
    return K_OTHER;
}

/* The type of a word segment [a, b) (NULL: not a token). */
static const char *segment_type(const char *s, size_t a, size_t b)
{
    int n;
    uint32_t first = 0;
    size_t i = a;
    ckind fk = K_OTHER;
    while (i < b) {
        first = dec(s, b, i, &n);
        fk = classify(first);
        if (fk != K_EXT) break;
        i += n;
    }
    if (i >= b) return NULL;
    switch (fk) {
    case K_IDEO: return "<IDEOGRAPHIC>";
    case K_HIRA: return "<HIRAGANA>";
    case K_SEA: return "<SOUTHEAST_ASIAN>";
    case K_EMOJI: {
        /* A text-presentation pictograph (©, ®, ™...) is an emoji only with VS16 or a modifier. */
        if (uc_wordbreak_property(first) == WBP_RI) return b - a > 4 ? "<EMOJI>" : NULL;
        if (uc_is_property_emoji_presentation(first)) return "<EMOJI>";
        for (size_t j = i + (size_t)n; j < b; j += (size_t)n) {
            uint32_t c = dec(s, b, j, &n);
            if (c == 0xFE0F || uc_is_property_emoji_modifier(c) || c == 0x200D) return "<EMOJI>";
        }
        return NULL;
    }
    default: break;
    }
    bool alpha = false, num = false, only_hangul = true, only_kata = true;
    for (size_t j = a; j < b; j += (size_t)n) {
        uint32_t c = dec(s, b, j, &n);
        ckind k = classify(c);
        switch (k) {
        case K_ALETTER: alpha = true; only_hangul = only_kata = false; break;
        case K_HANGUL: alpha = true; only_kata = false; break;
        case K_KATAKANA: alpha = true; only_hangul = false; break;
        case K_NUM: num = true; only_hangul = only_kata = false; break;
        case K_EXT: break;
        default: only_hangul = only_kata = false; break;
        }
    }
    if (alpha) {
        if (only_hangul) return "<HANGUL>";
        if (only_kata) return "<KATAKANA>";
        return "<ALPHANUM>";
    }
    if (num) return "<NUM>";
    return NULL;
}

/* Emits [a, b) of s as one or more tokens of at most max UTF-16 units (Lucene splits
 * longer words at the limit and scans the rest again). */
static void emit_word(const char *s, size_t a, size_t b, const char *type, uint32_t max, atoks *out);

/* ASCII bytes whose UAX #29 word-break property is neither ALetter, Numeric nor
 * "Other": '_' (ExtendNumLet), '.' '\'' ':' ',' ';' '"' (Mid*, quotes), CR, LF,
 * VT, FF (line breaks). A range without them (and without non-ASCII bytes)
 * breaks on both sides of every byte that is not [A-Za-z0-9]. */
static bool std_simple_byte(unsigned char c)
{
    if (c >= 0x80) return false;
    switch (c) {
    case '_': case '.': case '\'': case ':': case ',': case ';': case '"':
    case '\r': case '\n': case 0x0B: case 0x0C:
        return false;
    default:
        return true;
    }
}

static inline bool ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* The fast path of standard_range for such ranges: tokens are the maximal
 * [A-Za-z0-9] runs, <ALPHANUM> with a letter, else <NUM>. */
static bool standard_simple(const char *s, size_t from, size_t to, uint32_t max, atoks *out)
{
    for (size_t i = from; i < to; i++)
        if (!std_simple_byte((unsigned char)s[i])) return false;
    size_t i = from;
    while (i < to) {
        while (i < to && !ascii_alnum((unsigned char)s[i])) i++;
        if (i >= to) break;
        size_t a = i;
        bool alpha = false;
        while (i < to && ascii_alnum((unsigned char)s[i])) {
            if (s[i] > '9') alpha = true;
            i++;
        }
        const char *type = alpha ? "<ALPHANUM>" : "<NUM>";
        if (i - a > max) {
            emit_word(s, a, i, type, max, out);
            continue;
        }
        atoks_push(out, (atok){ .term = atoks_strdup(out, s + a, i - a), .len = (uint32_t)(i - a), .pos_inc = 1,
                                .start = (uint32_t)a, .end = (uint32_t)i, .type = type });
    }
    return true;
}

static void standard_range(const char *s, size_t from, size_t to, uint32_t max, atoks *out)
{
    size_t len = to - from;
    if (!len) return;
    if (standard_simple(s, from, to, max, out)) return;
    char *brk = xmalloc(len + 1);
    u8_wordbreaks((const uint8_t *)s + from, len, brk);
    size_t a = 0;
    while (a < len) {
        size_t b = a + 1;
        while (b < len && !brk[b]) b++;
        /* Southeast Asian runs (Thai, Lao, Myanmar, Khmer...) are one token in Lucene. */
        int n;
        uint32_t c = dec(s + from, len, a, &n);
        if (classify(c) == K_SEA) {
            size_t e = a;
            while (e < len) {
                uint32_t d = dec(s + from, len, e, &n);
                ckind k = classify(d);
                if (k != K_SEA && k != K_EXT) break;
                e += (size_t)n;
            }
            if (e > b) b = e;
            emit_word(s, from + a, from + b, "<SOUTHEAST_ASIAN>", max, out);
            a = b;
            continue;
        }
        const char *type = segment_type(s + from, 0 + a, b);
        if (type) emit_word(s, from + a, from + b, type, max, out);
        a = b;
    }
    free(brk);
}

static void emit_word(const char *s, size_t a, size_t b, const char *type, uint32_t max, atoks *out)
{
    uint32_t units = 0;
    size_t i = a;
    int n;
    while (i < b) {
        uint32_t c = dec(s, b, i, &n);
        uint32_t w = u16w(c);
        if (units + w > max) break;
        units += w;
        i += (size_t)n;
    }
    if (i >= b) {
        atoks_push(out, (atok){ .term = atoks_strdup(out, s + a, b - a), .len = (uint32_t)(b - a), .pos_inc = 1,
                                .start = (uint32_t)a, .end = (uint32_t)b, .type = type });
        return;
    }
    if (i == a) i = a + (size_t)n; /* a supplementary character with max_token_length 1 */
    const char *t = segment_type(s, a, i);
    if (!t) t = type;
    atoks_push(out, (atok){ .term = atoks_strdup(out, s + a, i - a), .len = (uint32_t)(i - a), .pos_inc = 1,
                            .start = (uint32_t)a, .end = (uint32_t)i, .type = t });
    standard_range(s, i, b, max, out);
}

/* ------------------------------------------------------------------------ */
/* uax_url_email: URLs and e-mail addresses are single tokens */

static bool url_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~:/?#[]@!$&'()*+,;=%", c) != NULL;
}

static bool label_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static bool local_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+/=?^_`{|}~-.", c) != NULL;
}

/* A domain "label(.label)+" with an alphabetic last label of 2+ letters, starting at i. */
static size_t match_domain(const char *s, size_t len, size_t i)
{
    size_t j = i, last_label = i, dots = 0;
    while (j < len) {
        size_t k = j;
        while (k < len && label_char((unsigned char)s[k])) k++;
        if (k == j) break;
        last_label = j;
        j = k;
        if (j + 1 < len && s[j] == '.' && label_char((unsigned char)s[j + 1])) {
            dots++;
            j++;
            continue;
        }
        break;
    }
    if (!dots) return 0;
    size_t alpha = 0;
    for (size_t k = last_label; k < j; k++) {
        if (!((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'z')) return 0;
        alpha++;
    }
    return alpha >= 2 ? j : 0;
}

static size_t match_url(const char *s, size_t len, size_t i)
{
    static const char *const schemes[] = { "http://", "https://", "ftp://", "file://", "mailto:" };
    size_t j = 0;
    for (size_t k = 0; k < ARRAY_LEN(schemes); k++) {
        size_t n = strlen(schemes[k]);
        if (len - i >= n && strncasecmp(s + i, schemes[k], n) == 0) {
            j = i + n;
            break;
        }
    }
    if (!j) {
        if (len - i >= 4 && strncasecmp(s + i, "www.", 4) == 0) j = i;
        else return 0;
    }
    size_t e = j;
    while (e < len && url_char((unsigned char)s[e])) e++;
    /* trailing punctuation is not part of a URL */
    while (e > j && strchr(".,;:!?)'", s[e - 1])) e--;
    return e > j ? e : 0;
}

static void uax_range(const char *s, size_t len, uint32_t max, atoks *out)
{
    size_t seg = 0, i = 0;
    while (i < len) {
        bool boundary = i == 0 || !url_char((unsigned char)s[i - 1]) || s[i - 1] == '/' || s[i - 1] == ':';
        if (boundary && url_char((unsigned char)s[i])) {
            size_t e = match_url(s, len, i);
            const char *type = "<URL>";
            if (!e) {
                size_t k = i;
                while (k < len && local_char((unsigned char)s[k])) k++;
                if (k > i && k < len && s[k] == '@' && s[i] != '.' && s[k - 1] != '.') {
                    size_t d = match_domain(s, len, k + 1);
                    if (d) {
                        e = d;
                        type = "<EMAIL>";
                    }
                }
            }
            if (e) {
                standard_range(s, seg, i, max, out);
                emit_word(s, i, e, type, max, out);
                seg = i = e;
                continue;
            }
        }
        i++;
    }
    standard_range(s, seg, len, max, out);
}

/* ------------------------------------------------------------------------ */
/* Character tokenizers (Lucene's CharTokenizer) */

static bool char_token(const an_tokenizer *tk, uint32_t cp)
{
    switch (tk->kind) {
    case TK_WHITESPACE: return !an_java_whitespace(cp);
    case TK_LETTER:
    case TK_LOWERCASE: return java_letter(cp);
    case TK_CHAR_GROUP: return !class_match(tk->split_classes, tk->chars, tk->n_chars, cp);
    default: return true;
    }
}

static void char_tokenize(const an_tokenizer *tk, const char *s, size_t len, atoks *out)
{
    buf term = { 0 };
    size_t i = 0, start = 0;
    uint32_t units = 0;
    bool in = false;
    while (i <= len) {
        int n = 0;
        uint32_t c = 0;
        bool tokc = false;
        if (i < len) {
            c = dec(s, len, i, &n);
            tokc = char_token(tk, c);
        }
        if (tokc) {
            if (!in) {
                in = true;
                start = i;
                units = 0;
                buf_reset(&term);
            }
            uint32_t o = tk->kind == TK_LOWERCASE ? uc_tolower(c) : c;
            uint8_t tmp[6];
            int k = u8_uctomb(tmp, o, sizeof tmp);
            buf_append(&term, tmp, (size_t)(k > 0 ? k : 0));
            units += u16w(o);
            i += (size_t)n;
            if (units >= tk->max_len) {
                atoks_push(out, (atok){ .term = atoks_strdup(out, term.p, term.len), .len = (uint32_t)term.len,
                                        .pos_inc = 1, .start = (uint32_t)start, .end = (uint32_t)i, .type = "word" });
                in = false;
            }
            continue;
        }
        if (in) {
            atoks_push(out, (atok){ .term = atoks_strdup(out, term.p, term.len), .len = (uint32_t)term.len,
                                    .pos_inc = 1, .start = (uint32_t)start, .end = (uint32_t)i, .type = "word" });
            in = false;
        }
        if (i >= len) break;
        i += (size_t)n;
    }
    buf_free(&term);
}

/* ------------------------------------------------------------------------ */
/* ngram / edge_ngram tokenizers */

static void ngram_run(const an_tokenizer *tk, const char *s, size_t a, size_t b, atoks *out)
{
    /* code point boundaries of the run */
    size_t cap = 16, n = 0;
    size_t *pos = xmalloc(cap * sizeof *pos);
    int k;
    for (size_t i = a; i < b; i += (size_t)k) {
        dec(s, b, i, &k);
        if (n + 1 >= cap) pos = xrealloc(pos, (cap *= 2) * sizeof *pos);
        pos[n++] = i;
    }
    pos[n] = b;
    size_t starts = tk->kind == TK_EDGE_NGRAM ? (n ? 1 : 0) : n;
    for (size_t st = 0; st < starts; st++) {
        for (uint32_t g = tk->min_gram; g <= tk->max_gram; g++) {
            if (st + g > n) break;
            size_t ps = pos[st], pe = pos[st + g];
            atoks_push(out, (atok){ .term = atoks_strdup(out, s + ps, pe - ps), .len = (uint32_t)(pe - ps),
                                    .pos_inc = 1, .start = (uint32_t)ps, .end = (uint32_t)pe, .type = "word" });
        }
    }
    free(pos);
}

static void ngram_tokenize(const an_tokenizer *tk, const char *s, size_t len, atoks *out)
{
    if (!tk->token_chars) {
        ngram_run(tk, s, 0, len, out);
        return;
    }
    size_t i = 0, start = 0;
    bool in = false;
    int n;
    while (i < len) {
        uint32_t c = dec(s, len, i, &n);
        bool t = class_match(tk->token_chars, tk->chars, tk->n_chars, c);
        if (t && !in) {
            in = true;
            start = i;
        } else if (!t && in) {
            in = false;
            ngram_run(tk, s, start, i, out);
        }
        i += (size_t)n;
    }
    if (in) ngram_run(tk, s, start, len, out);
}

/* ------------------------------------------------------------------------ */
/* path_hierarchy */

static void path_emit(const an_tokenizer *tk, const char *s, size_t a, size_t b, uint32_t inc, atoks *out)
{
    buf t = { 0 };
    int n;
    for (size_t i = a; i < b; i += (size_t)n) {
        uint32_t c = dec(s, b, i, &n);
        if (c == tk->delimiter && tk->replacement != tk->delimiter) {
            uint8_t tmp[6];
            int k = u8_uctomb(tmp, tk->replacement, sizeof tmp);
            buf_append(&t, tmp, (size_t)(k > 0 ? k : 0));
        } else {
            buf_append(&t, s + i, (size_t)n);
        }
    }
    atoks_push(out, (atok){ .term = atoks_strdup(out, t.p ? t.p : "", t.len), .len = (uint32_t)t.len, .pos_inc = inc,
                            .start = (uint32_t)a, .end = (uint32_t)b, .type = "word" });
    buf_free(&t);
}

static void path_tokenize(const an_tokenizer *tk, const char *s, size_t len, atoks *out)
{
    if (!len) return;
    /* element boundaries: offsets of delimiters */
    size_t cap = 8, nd = 0;
    size_t *d = xmalloc(cap * sizeof *d);
    int n;
    for (size_t i = 0; i < len; i += (size_t)n) {
        uint32_t c = dec(s, len, i, &n);
        if (c == tk->delimiter) {
            if (nd == cap) d = xrealloc(d, (cap *= 2) * sizeof *d);
            d[nd++] = i;
        }
    }
    size_t dl = 1;
    { uint8_t tmp[6]; int k = u8_uctomb(tmp, tk->delimiter, sizeof tmp); dl = (size_t)(k > 0 ? k : 1); }
    uint32_t inc = 1;
    if (!tk->reverse) {
        /* Elements end before a delimiter that follows a non-delimiter character. */
        size_t start = 0, skipped = 0, emitted_end = (size_t)-1;
        for (size_t i = 0; i < nd && skipped < tk->skip; i++) {
            if (d[i] > 0 && !(i > 0 && d[i - 1] + dl == d[i])) {
                skipped++;
                start = d[i];
            }
        }
        if (skipped < tk->skip) goto done;
        for (size_t i = 0; i < nd; i++) {
            if (d[i] <= start) continue;
            if (i > 0 && d[i - 1] + dl == d[i]) continue;
            path_emit(tk, s, start, d[i], inc, out);
            inc = 0;
            emitted_end = d[i];
        }
        if (emitted_end != len && start < len) path_emit(tk, s, start, len, inc, out);
    } else {
        /* Suffixes: from the start and after each delimiter, to the end less `skip` elements. */
        size_t end = len;
        for (uint32_t k = 0; k < tk->skip; k++) {
            size_t j = nd;
            while (j > 0 && d[j - 1] >= end) j--;
            if (!j) {
                end = 0;
                break;
            }
            end = d[j - 1];
        }
        if (!end) goto done;
        path_emit(tk, s, 0, end, inc, out);
        inc = 0;
        for (size_t i = 0; i < nd; i++) {
            size_t st = d[i] + dl;
            if (st >= end) break;
            path_emit(tk, s, st, end, inc, out);
        }
    }
done:
    free(d);
}

/* ------------------------------------------------------------------------ */
/* Patterns: a Java regex subset translated to POSIX ERE */

struct an_pattern {
    regex_t re;
    int *groups;   /* Java group number -> POSIX group number */
    size_t n_groups;
};

static void class_add(buf *b, const char *s) { buf_puts(b, s); }

an_pattern *an_pattern_compile(an_ctx *c, const char *src, bool icase, es_err *err)
{
    buf o = { 0 };
    size_t cap = 8, ng = 0;
    int *groups = xmalloc(cap * sizeof *groups);
    int posix_group = 0;
    groups[ng++] = 0;
    const char *p = src;
    bool ok = true;
    while (*p && ok) {
        char ch = *p;
        if (ch == '\\') {
            char e = p[1];
            if (!e) { ok = false; break; }
            p += 2;
            switch (e) {
            case 'w': class_add(&o, "[a-zA-Z0-9_]"); break;
            case 'W': class_add(&o, "[^a-zA-Z0-9_]"); break;
            case 'd': class_add(&o, "[0-9]"); break;
            case 'D': class_add(&o, "[^0-9]"); break;
            case 's': class_add(&o, "[ \t\n\v\f\r]"); break;
            case 'S': class_add(&o, "[^ \t\n\v\f\r]"); break;
            case 't': buf_putc(&o, '\t'); break;
            case 'n': buf_putc(&o, '\n'); break;
            case 'r': buf_putc(&o, '\r'); break;
            case 'f': buf_putc(&o, '\f'); break;
            default:
                if (strchr(".[]{}()\\*+?^$|/-,:;'\"!@#%&=<>~` ", e)) {
                    if (strchr(".[]{}()\\*+?^$|", e)) buf_putc(&o, '\\');
                    buf_putc(&o, e);
                } else {
                    ok = false;
                }
            }
            continue;
        }
        if (ch == '[') {
            /* character class */
            buf cls = { 0 };
            bool neg = false, dash = false, bracket = false;
            p++;
            if (*p == '^') { neg = true; p++; }
            while (*p && *p != ']') {
                if (*p == '\\') {
                    char e = p[1];
                    p += 2;
                    switch (e) {
                    case 'w': buf_puts(&cls, "a-zA-Z0-9_"); break;
                    case 'd': buf_puts(&cls, "0-9"); break;
                    case 's': buf_puts(&cls, " \t\n\v\f\r"); break;
                    case 't': buf_putc(&cls, '\t'); break;
                    case 'n': buf_putc(&cls, '\n'); break;
                    case 'r': buf_putc(&cls, '\r'); break;
                    case '-': dash = true; break;
                    case ']': bracket = true; break;
                    case 0: ok = false; p--; break;
                    default:
                        if (strchr(".[{}()\\*+?^$|/,:;'\"!@#%&=<>~` _", e)) buf_putc(&cls, e);
                        else ok = false;
                    }
                    continue;
                }
                if (*p == '[' || (*p == '&' && p[1] == '&')) { ok = false; break; }
                buf_putc(&cls, *p++);
            }
            if (*p != ']') ok = false;
            else p++;
            buf_putc(&o, '[');
            if (neg) buf_putc(&o, '^');
            if (bracket) buf_putc(&o, ']');
            if (cls.p) buf_puts(&o, cls.p);
            if (dash) buf_putc(&o, '-');
            buf_putc(&o, ']');
            buf_free(&cls);
            continue;
        }
        if (ch == '(') {
            posix_group++;
            if (p[1] == '?') {
                if (p[2] == ':') {
                    p += 3;
                    buf_putc(&o, '(');
                    continue;
                }
                ok = false;
                break;
            }
            if (ng == cap) groups = xrealloc(groups, (cap *= 2) * sizeof *groups);
            groups[ng++] = posix_group;
            buf_putc(&o, '(');
            p++;
            continue;
        }
        if ((ch == '*' || ch == '+' || ch == '?' || ch == '}') && (p[1] == '?' || p[1] == '+')) {
            ok = false; /* lazy / possessive quantifiers */
            break;
        }
        buf_putc(&o, ch);
        p++;
    }
    an_pattern *pat = NULL;
    if (ok) {
        pat = xcalloc(1, sizeof *pat);
        if (regcomp(&pat->re, o.p ? o.p : "", REG_EXTENDED | (icase ? REG_ICASE : 0)) != 0) {
            free(pat);
            pat = NULL;
            ok = false;
        }
    }
    buf_free(&o);
    if (!ok) {
        free(groups);
        es_err_set(err, ES_ILLEGAL_ARGUMENT, "pattern [%s] uses regular expression features ferry does not support", src);
        return NULL;
    }
    pat->groups = groups;
    pat->n_groups = ng;
    an_ctx_defer(c, (void (*)(void *))an_pattern_free, pat);
    return pat;
}

void an_pattern_free(an_pattern *p)
{
    if (!p) return;
    regfree(&p->re);
    free(p->groups);
    free(p);
}

bool an_pattern_next(const an_pattern *p, const char *text, size_t len, size_t from, size_t *ms, size_t *me, int group,
                     size_t *gs, size_t *ge)
{
    regmatch_t m[10];
    if (from > len) return false;
    m[0].rm_so = (regoff_t)from;
    m[0].rm_eo = (regoff_t)len;
    int flags = REG_STARTEND | (from > 0 ? REG_NOTBOL : 0);
    if (regexec(&p->re, text, 10, m, flags) != 0) return false;
    *ms = (size_t)m[0].rm_so;
    *me = (size_t)m[0].rm_eo;
    if (group >= 0) {
        int g = (size_t)group < p->n_groups ? p->groups[group] : -1;
        if (g < 0 || g >= 10 || m[g].rm_so < 0) {
            *gs = *ge = (size_t)-1;
        } else {
            *gs = (size_t)m[g].rm_so;
            *ge = (size_t)m[g].rm_eo;
        }
    }
    return true;
}

static void pattern_push(const an_tokenizer *tk, const char *s, size_t a, size_t b, atoks *out)
{
    if (tk->lowercase) {
        /* Lucene's LowerCaseFilter: Character.toLowerCase code point by code point. */
        buf lb = { 0 };
        int k;
        for (size_t i = a; i < b; i += (size_t)k) {
            uint32_t c = dec(s, b, i, &k);
            uint8_t tmp[6];
            int m = u8_uctomb(tmp, uc_tolower(c), sizeof tmp);
            buf_append(&lb, tmp, (size_t)(m > 0 ? m : 0));
        }
        atoks_push(out, (atok){ .term = atoks_strdup(out, lb.p ? lb.p : "", lb.len), .len = (uint32_t)lb.len,
                                .pos_inc = 1, .start = (uint32_t)a, .end = (uint32_t)b, .type = "word" });
        buf_free(&lb);
        return;
    }
    atoks_push(out, (atok){ .term = atoks_strdup(out, s + a, b - a), .len = (uint32_t)(b - a), .pos_inc = 1,
                            .start = (uint32_t)a, .end = (uint32_t)b, .type = "word" });
}

static void pattern_tokenize(const an_tokenizer *tk, const char *s, size_t len, atoks *out)
{
    /* regexec needs a NUL-terminated string even with REG_STARTEND on some libcs */
    char *z = xstrndup(s, len);
    size_t pos = 0;
    size_t ms, me, gs = (size_t)-1, ge = 0;
    if (tk->group < 0) {
        size_t from = 0;
        while (from <= len && an_pattern_next(tk->pattern, z, len, from, &ms, &me, -1, &gs, &ge)) {
            if (me == ms) { /* empty match: move on by one character */
                if (ms >= len) break;
                int n;
                dec(z, len, ms, &n);
                from = ms + (size_t)n;
                continue;
            }
            if (ms > pos) pattern_push(tk, z, pos, ms, out);
            pos = me;
            from = me;
        }
        if (len > pos) pattern_push(tk, z, pos, len, out);
    } else {
        size_t from = 0;
        while (from <= len && an_pattern_next(tk->pattern, z, len, from, &ms, &me, tk->group, &gs, &ge)) {
            if (gs != (size_t)-1 && ge > gs) pattern_push(tk, z, gs, ge, out);
            if (me == ms) {
                if (ms >= len) break;
                int n;
                dec(z, len, ms, &n);
                from = ms + (size_t)n;
            } else {
                from = me;
            }
        }
    }
    free(z);
}

/* ------------------------------------------------------------------------ */

void an_tokenize(const an_tokenizer *tk, const char *text, size_t len, atoks *out)
{
    pthread_once(&scripts_once, scripts_init);
    switch (tk->kind) {
    case TK_STANDARD: standard_range(text, 0, len, tk->max_len, out); break;
    case TK_UAX_URL_EMAIL: uax_range(text, len, tk->max_len, out); break;
    case TK_KEYWORD:
        atoks_push(out, (atok){ .term = atoks_strdup(out, text, len), .len = (uint32_t)len, .pos_inc = 1, .start = 0,
                                .end = (uint32_t)len, .type = "word" });
        break;
    case TK_WHITESPACE:
    case TK_LETTER:
    case TK_LOWERCASE:
    case TK_CHAR_GROUP: char_tokenize(tk, text, len, out); break;
    case TK_NGRAM:
    case TK_EDGE_NGRAM: ngram_tokenize(tk, text, len, out); break;
    case TK_PATH_HIERARCHY: path_tokenize(tk, text, len, out); break;
    case TK_PATTERN: pattern_tokenize(tk, text, len, out); break;
    }
}

/* ------------------------------------------------------------------------ */
/* Construction from parameters */

static const char *const tokenizer_types[] = {
    "standard", "uax_url_email", "whitespace", "keyword", "letter", "lowercase", "ngram", "edge_ngram",
    "path_hierarchy", "PathHierarchy", "char_group", "pattern",
};

bool an_tokenizer_type_known(const char *type)
{
    for (size_t i = 0; i < ARRAY_LEN(tokenizer_types); i++)
        if (!strcmp(type, tokenizer_types[i])) return true;
    return false;
}

/* One character from a parameter value: the single code point, or an escape (\n, \t, \uXXXX). */
static bool param_char(const char *v, uint32_t *out)
{
    if (!v || !*v) return false;
    if (v[0] == '\\' && v[1]) {
        switch (v[1]) {
        case 'n': *out = '\n'; return !v[2];
        case 't': *out = '\t'; return !v[2];
        case 'r': *out = '\r'; return !v[2];
        case 'f': *out = '\f'; return !v[2];
        case 'b': *out = '\b'; return !v[2];
        case '\\': *out = '\\'; return !v[2];
        case '\'': *out = '\''; return !v[2];
        case '"': *out = '"'; return !v[2];
        case 'u': {
            char *end;
            unsigned long x = strtoul(v + 2, &end, 16);
            if (end != v + 6 || *end) return false;
            *out = (uint32_t)x;
            return true;
        }
        default: return false;
        }
    }
    ucs4_t c;
    int n = u8_mbtouc(&c, (const uint8_t *)v, strlen(v));
    if (n <= 0 || v[n]) return false;
    *out = c;
    return true;
}

static int token_chars_param(an_ctx *c, const an_params *p, an_tokenizer *tk, unsigned *classes, bool char_group,
                             es_err *err)
{
    size_t n;
    const char **l = an_param_list(p, char_group ? "tokenize_on_chars" : "token_chars", &n);
    *classes = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = l[i];
        if (!strcmp(v, "letter")) *classes |= TC_LETTER;
        else if (!strcmp(v, "digit")) *classes |= TC_DIGIT;
        else if (!strcmp(v, "whitespace")) *classes |= TC_WHITESPACE;
        else if (!strcmp(v, "punctuation")) *classes |= TC_PUNCTUATION;
        else if (!strcmp(v, "symbol")) *classes |= TC_SYMBOL;
        else if (!char_group && !strcmp(v, "custom")) *classes |= TC_CUSTOM;
        else if (char_group) {
            uint32_t ch;
            if (!param_char(v, &ch))
                return es_err_set(err, ES_ILLEGAL_ARGUMENT, "Invalid escaped char in [%s]", v);
            tk->chars = xrealloc(tk->chars, (tk->n_chars + 1) * sizeof *tk->chars);
            tk->chars[tk->n_chars++] = ch;
            *classes |= TC_CUSTOM;
        } else {
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "Unknown token type: '%s', must be one of [letter, digit, whitespace, punctuation, "
                              "symbol, custom]",
                              v);
        }
    }
    if (tk->chars) {
        uint32_t *copy = arena_alloc(c->mem, tk->n_chars * sizeof *copy);
        memcpy(copy, tk->chars, tk->n_chars * sizeof *copy);
        free(tk->chars);
        tk->chars = copy;
    }
    if (!char_group && (*classes & TC_CUSTOM)) {
        const char *cs = an_param_str(p, "custom_token_chars");
        if (!cs || !*cs)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                              "Token type: 'custom' requires setting `custom_token_chars`");
        size_t len = strlen(cs), cnt = 0;
        uint32_t *chars = arena_alloc(c->mem, (len + 1) * sizeof *chars);
        int k;
        for (size_t i = 0; i < len; i += (size_t)k) chars[cnt++] = dec(cs, len, i, &k);
        tk->chars = chars;
        tk->n_chars = cnt;
    }
    return 0;
}

static int max_len_param(const an_params *p, uint32_t *out, bool standard, es_err *err)
{
    int64_t v;
    if (an_param_int(p, "max_token_length", 255, &v, err)) return -1;
    if (standard) {
        if (v < 1) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "maxTokenLength must be greater than zero");
        if (v > 1024 * 1024)
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "maxTokenLength may not exceed %d", 1024 * 1024);
    } else if (v <= 0 || v > 1024 * 1024) {
        return es_err_set(err, ES_ILLEGAL_ARGUMENT,
                          "maxTokenLen must be greater than 0 and less than %d passed: %lld", 1024 * 1024,
                          (long long)v);
    }
    *out = (uint32_t)v;
    return 0;
}

an_tokenizer *an_tokenizer_new(an_ctx *c, const char *type, const char *name, const an_params *p, es_err *err)
{
    static const an_params none = { 0 };
    if (!p) p = &none;
    an_tokenizer *tk = arena_alloc(c->mem, sizeof *tk);
    memset(tk, 0, sizeof *tk);
    tk->name = arena_strndup(c->mem, name, strlen(name));
    tk->max_len = 255;
    tk->group = -1;
    if (!strcmp(type, "standard") || !strcmp(type, "uax_url_email")) {
        tk->kind = type[0] == 's' ? TK_STANDARD : TK_UAX_URL_EMAIL;
        if (max_len_param(p, &tk->max_len, true, err)) return NULL;
    } else if (!strcmp(type, "whitespace") || !strcmp(type, "letter") || !strcmp(type, "lowercase")) {
        tk->kind = type[0] == 'w' ? TK_WHITESPACE : type[1] == 'e' ? TK_LETTER : TK_LOWERCASE;
        if (max_len_param(p, &tk->max_len, false, err)) return NULL;
    } else if (!strcmp(type, "keyword")) {
        tk->kind = TK_KEYWORD;
        int64_t bs;
        if (an_param_int(p, "buffer_size", 256, &bs, err)) return NULL;
        if (bs <= 0) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "bufferSize must be > 0"), NULL;
    } else if (!strcmp(type, "ngram") || !strcmp(type, "edge_ngram")) {
        tk->kind = type[0] == 'n' ? TK_NGRAM : TK_EDGE_NGRAM;
        int64_t mn, mx;
        if (an_param_int(p, "min_gram", 1, &mn, err) || an_param_int(p, "max_gram", 2, &mx, err)) return NULL;
        if (tk->kind == TK_NGRAM) {
            int64_t diff = an_index_int(c, "index.max_ngram_diff", 1);
            if (mx - mn > diff) {
                es_err_set(err, ES_ILLEGAL_ARGUMENT,
                           "The difference between max_gram and min_gram in NGram Tokenizer must be less than or "
                           "equal to: [%lld] but was [%lld]. This limit can be set by changing the "
                           "[index.max_ngram_diff] index level setting.",
                           (long long)diff, (long long)(mx - mn));
                return NULL;
            }
        }
        if (mn < 1) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "minGram must be greater than zero"), NULL;
        if (mn > mx) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "minGram must not be greater than maxGram"), NULL;
        tk->min_gram = (uint32_t)mn;
        tk->max_gram = (uint32_t)mx;
        if (token_chars_param(c, p, tk, &tk->token_chars, false, err)) return NULL;
    } else if (!strcmp(type, "path_hierarchy") || !strcmp(type, "PathHierarchy")) {
        tk->kind = TK_PATH_HIERARCHY;
        const char *d = an_param_str(p, "delimiter"), *r = an_param_str(p, "replacement");
        tk->delimiter = '/';
        if (d && !param_char(d, &tk->delimiter))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "delimiter must be a one char value"), NULL;
        tk->replacement = tk->delimiter;
        if (r && !param_char(r, &tk->replacement))
            return es_err_set(err, ES_ILLEGAL_ARGUMENT, "replacement must be a one char value"), NULL;
        int64_t skip;
        if (an_param_bool(p, "reverse", false, &tk->reverse, err) || an_param_int(p, "skip", 0, &skip, err))
            return NULL;
        if (skip < 0) return es_err_set(err, ES_ILLEGAL_ARGUMENT, "skip must be >= 0"), NULL;
        tk->skip = (uint32_t)skip;
    } else if (!strcmp(type, "char_group")) {
        tk->kind = TK_CHAR_GROUP;
        if (max_len_param(p, &tk->max_len, false, err)) return NULL;
        if (token_chars_param(c, p, tk, &tk->split_classes, true, err)) return NULL;
    } else if (!strcmp(type, "pattern")) {
        tk->kind = TK_PATTERN;
        const char *pat = an_param_str(p, "pattern");
        const char *flags = an_param_str(p, "flags");
        int64_t g;
        if (an_param_int(p, "group", -1, &g, err)) return NULL;
        tk->group = (int)g;
        tk->pattern = an_pattern_compile(c, pat ? pat : "\\W+", flags && strstr(flags, "CASE_INSENSITIVE"), err);
        if (!tk->pattern) return NULL;
    } else {
        return NULL;
    }
    return tk;
}
