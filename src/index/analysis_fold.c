/*
 * analysis_fold.c — ASCII folding as Lucene's ASCIIFoldingFilter does it:
 * letters, digits and punctuation outside Basic Latin become their ASCII
 * equivalents when one exists ("é" -> "e", "æ" -> "ae", "①" -> "1",
 * "“" -> "\""); anything else is kept.
 *
 * Built from Unicode data instead of a transcribed table: the compatibility
 * decomposition (NFKD) of letters and numbers with the combining marks
 * dropped, when what is left is ASCII; then a short list of letters and
 * punctuation that have no decomposition (ø, ł, đ, ß, ligatures, quotes,
 * dashes...).
 */
#include "index/index_int.h"

#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>

/* Characters without a decomposition that Lucene folds. Sorted by code point. */
static const struct { uint32_t cp; const char *to; } extra[] = {
    { 0x00AB, "\"" }, { 0x00BB, "\"" }, { 0x00C6, "AE" }, { 0x00D0, "D" }, { 0x00D7, NULL },
    { 0x00D8, "O" },  { 0x00DE, "TH" }, { 0x00DF, "ss" }, { 0x00E6, "ae" }, { 0x00F0, "d" },
    { 0x00F8, "o" },  { 0x00FE, "th" }, { 0x0110, "D" },  { 0x0111, "d" },  { 0x0126, "H" },
    { 0x0127, "h" },  { 0x0131, "i" },  { 0x0138, "q" },  { 0x013F, "L" },  { 0x0140, "l" },
    { 0x0141, "L" },  { 0x0142, "l" },  { 0x0149, "'n" }, { 0x014A, "N" },  { 0x014B, "n" },
    { 0x0152, "OE" }, { 0x0153, "oe" }, { 0x0166, "T" },  { 0x0167, "t" },  { 0x0180, "b" },
    { 0x0181, "B" },  { 0x0182, "B" },  { 0x0183, "b" },  { 0x0186, "O" },  { 0x0187, "C" },
    { 0x0188, "c" },  { 0x0189, "D" },  { 0x018A, "D" },  { 0x018B, "D" },  { 0x018C, "d" },
    { 0x018E, "E" },  { 0x0190, "E" },  { 0x0191, "F" },  { 0x0192, "f" },  { 0x0193, "G" },
    { 0x0195, "hv" }, { 0x0196, "I" },  { 0x0197, "I" },  { 0x0198, "K" },  { 0x0199, "k" },
    { 0x019A, "l" },  { 0x019C, "M" },  { 0x019D, "N" },  { 0x019E, "n" },  { 0x019F, "O" },
    { 0x01A2, "OI" }, { 0x01A3, "oi" }, { 0x01A4, "P" },  { 0x01A5, "p" },  { 0x01AB, "t" },
    { 0x01AC, "T" },  { 0x01AD, "t" },  { 0x01AE, "T" },  { 0x01B2, "V" },  { 0x01B3, "Y" },
    { 0x01B4, "y" },  { 0x01B5, "Z" },  { 0x01B6, "z" },  { 0x01DD, "e" },  { 0x01E4, "G" },
    { 0x01E5, "g" },  { 0x01F6, "Hv" }, { 0x01F7, "W" },  { 0x021C, "Z" },  { 0x021D, "z" },
    { 0x0220, "N" },  { 0x0221, "d" },  { 0x0222, "OU" }, { 0x0223, "ou" }, { 0x0224, "Z" },
    { 0x0225, "z" },  { 0x0234, "l" },  { 0x0235, "n" },  { 0x0236, "t" },  { 0x0237, "j" },
    { 0x0238, "db" }, { 0x0239, "qp" }, { 0x023A, "A" },  { 0x023B, "C" },  { 0x023C, "c" },
    { 0x023D, "L" },  { 0x023E, "T" },  { 0x023F, "s" },  { 0x0240, "z" },  { 0x0243, "B" },
    { 0x0244, "U" },  { 0x0245, "V" },  { 0x0246, "E" },  { 0x0247, "e" },  { 0x0248, "J" },
    { 0x0249, "j" },  { 0x024A, "Q" },  { 0x024B, "q" },  { 0x024C, "R" },  { 0x024D, "r" },
    { 0x024E, "Y" },  { 0x024F, "y" },  { 0x0250, "a" },  { 0x0253, "b" },  { 0x0254, "o" },
    { 0x0255, "c" },  { 0x0256, "d" },  { 0x0257, "d" },  { 0x0258, "e" },  { 0x0259, "e" },
    { 0x025A, "e" },  { 0x025B, "e" },  { 0x025C, "e" },  { 0x025D, "e" },  { 0x025E, "e" },
    { 0x025F, "j" },  { 0x0260, "g" },  { 0x0261, "g" },  { 0x0262, "G" },  { 0x0265, "h" },
    { 0x0266, "h" },  { 0x0267, "h" },  { 0x0268, "i" },  { 0x026A, "I" },  { 0x026B, "l" },
    { 0x026C, "l" },  { 0x026D, "l" },  { 0x026F, "m" },  { 0x0270, "m" },  { 0x0271, "m" },
    { 0x0272, "n" },  { 0x0273, "n" },  { 0x0274, "N" },  { 0x0275, "o" },  { 0x0276, "OE" },
    { 0x0279, "r" },  { 0x027A, "r" },  { 0x027B, "r" },  { 0x027C, "r" },  { 0x027D, "r" },
    { 0x027E, "r" },  { 0x027F, "r" },  { 0x0280, "R" },  { 0x0281, "R" },  { 0x0282, "s" },
    { 0x0284, "j" },  { 0x0287, "t" },  { 0x0288, "t" },  { 0x0289, "u" },  { 0x028B, "v" },
    { 0x028C, "v" },  { 0x028D, "w" },  { 0x028E, "y" },  { 0x028F, "Y" },  { 0x0290, "z" },
    { 0x0291, "z" },  { 0x0297, "C" },  { 0x0299, "B" },  { 0x029A, "e" },  { 0x029B, "G" },
    { 0x029C, "H" },  { 0x029D, "j" },  { 0x029E, "k" },  { 0x029F, "L" },  { 0x02A0, "q" },
    { 0x02A3, "dz" }, { 0x02A5, "dz" }, { 0x02A6, "ts" }, { 0x02AA, "ls" }, { 0x02AB, "lz" },
    { 0x02AE, "h" },  { 0x02AF, "h" },  { 0x1D00, "A" },  { 0x1D01, "AE" }, { 0x1D03, "B" },
    { 0x1D04, "C" },  { 0x1D05, "D" },  { 0x1D06, "D" },  { 0x1D07, "E" },  { 0x1D0A, "J" },
    { 0x1D0B, "K" },  { 0x1D0C, "L" },  { 0x1D0D, "M" },  { 0x1D0F, "O" },  { 0x1D18, "P" },
    { 0x1D1B, "T" },  { 0x1D1C, "U" },  { 0x1D20, "V" },  { 0x1D21, "W" },  { 0x1D22, "Z" },
    { 0x2010, "-" },  { 0x2011, "-" },  { 0x2012, "-" },  { 0x2013, "-" },  { 0x2014, "-" },
    { 0x2015, "-" },  { 0x2018, "'" },  { 0x2019, "'" },  { 0x201A, "'" },  { 0x201B, "'" },
    { 0x201C, "\"" }, { 0x201D, "\"" }, { 0x201E, "\"" }, { 0x201F, "\"" }, { 0x2032, "'" },
    { 0x2033, "\"" }, { 0x2035, "'" },  { 0x2036, "\"" }, { 0x2038, "^" },  { 0x2039, "'" },
    { 0x203A, "'" },  { 0x203B, "x" },  { 0x203C, "!!" }, { 0x2043, "-" },  { 0x2044, "/" },
    { 0x2045, "[" },  { 0x2046, "]" },  { 0x2047, "??" }, { 0x2048, "?!" }, { 0x2049, "!?" },
    { 0x204E, "*" },  { 0x2052, "%" },  { 0x2053, "~" },  { 0x2C60, "L" },  { 0x2C61, "l" },
    { 0x2C62, "L" },  { 0x2C63, "P" },  { 0x2C64, "R" },  { 0x2C65, "a" },  { 0x2C66, "t" },
    { 0x2C67, "H" },  { 0x2C68, "h" },  { 0x2C69, "K" },  { 0x2C6A, "k" },  { 0x2C6B, "Z" },
    { 0x2C6C, "z" },  { 0x2C6E, "M" },  { 0x2C71, "v" },  { 0x2C72, "W" },  { 0x2C73, "w" },
    { 0x2C74, "v" },  { 0x2C78, "e" },  { 0x2C7A, "o" },  { 0x2E28, "((" }, { 0x2E29, "))" },
    { 0xA728, "TZ" }, { 0xA729, "tz" }, { 0xA730, "F" },  { 0xA731, "S" },  { 0xA732, "AA" },
    { 0xA733, "aa" }, { 0xA734, "AO" }, { 0xA735, "ao" }, { 0xA736, "AU" }, { 0xA737, "au" },
    { 0xA738, "AV" }, { 0xA739, "av" }, { 0xA73A, "AV" }, { 0xA73B, "av" }, { 0xA73C, "AY" },
    { 0xA73D, "ay" }, { 0xA74E, "OO" }, { 0xA74F, "oo" }, { 0xA760, "VY" }, { 0xA761, "vy" },
    { 0xFB00, "ff" }, { 0xFB01, "fi" }, { 0xFB02, "fl" }, { 0xFB03, "ffi" }, { 0xFB04, "ffl" },
    { 0xFB06, "st" },
};

static const char *extra_lookup(uint32_t cp, bool *found)
{
    size_t lo = 0, hi = ARRAY_LEN(extra);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (extra[mid].cp == cp) {
            *found = true;
            return extra[mid].to;
        }
        if (extra[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return NULL;
}

/* Blocks whose compatibility forms Lucene folds besides letters and numbers. */
static bool nfkd_block(uint32_t cp)
{
    return (cp >= 0x2460 && cp <= 0x24FF) || /* enclosed alphanumerics */
           (cp >= 0x2070 && cp <= 0x209F) || /* super/subscripts */
           (cp >= 0x2150 && cp <= 0x218F) || /* number forms */
           (cp >= 0x2776 && cp <= 0x2793) || /* dingbat circled digits */
           (cp >= 0xFF01 && cp <= 0xFF5E);   /* fullwidth ASCII */
}

size_t an_fold_ascii(uint32_t cp, char out[8])
{
    if (cp < 0x80) return 0;
    bool found;
    const char *x = extra_lookup(cp, &found);
    if (found) {
        if (!x) return 0;
        size_t n = strlen(x);
        memcpy(out, x, n);
        return n;
    }
    if (!uc_is_general_category(cp, UC_CATEGORY_L) && !uc_is_general_category(cp, UC_CATEGORY_N) &&
        !nfkd_block(cp))
        return 0;
    uint32_t in = cp, dec[32];
    size_t n = ARRAY_LEN(dec);
    uint32_t *r = u32_normalize(UNINORM_NFKD, &in, 1, dec, &n);
    if (!r) return 0;
    size_t o = 0;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        uint32_t c = r[i];
        if (uc_is_general_category(c, UC_CATEGORY_M)) continue;
        if (c < 0x80) {
            if (o >= 8) ok = false;
            else out[o++] = (char)c;
            continue;
        }
        bool f;
        const char *e = extra_lookup(c, &f);
        if (!f || !e || o + strlen(e) > 8) {
            ok = false;
            break;
        }
        memcpy(out + o, e, strlen(e));
        o += strlen(e);
    }
    if (r != dec) free(r);
    if (!ok || !o) return 0;
    return o;
}
