/*
 * test_analysis.c — token streams of the analyzers, tokenizers and filters
 * against what Elasticsearch's _analyze answers for the same input (the
 * examples of Elasticsearch's reference documentation where it gives them),
 * custom analysis from index settings with Elasticsearch's errors, and
 * concurrent use.
 */
#include "index/index.h"
#include "unit.h"

#include <pthread.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* Helpers */

/* "a|b|c": the terms of a run joined by '|'. */
static char *terms(const analyzer *an, const char *text)
{
    token_list l = { 0 };
    es_err err = { 0 };
    buf b = { 0 };
    if (analyzer_run(an, text, strlen(text), 0, &l, &err)) {
        buf_printf(&b, "ERROR %s", err.reason);
        es_err_free(&err);
    }
    for (size_t i = 0; i < l.n; i++) {
        if (i) buf_putc(&b, '|');
        buf_append(&b, l.t[i].term, l.t[i].len);
    }
    token_list_free(&l);
    return b.p ? buf_detach(&b, NULL) : xstrdup("");
}

/* "term@pos:start-end" for each token, space separated. */
static char *detail(const analyzer *an, const char *text)
{
    token_list l = { 0 };
    es_err err = { 0 };
    buf b = { 0 };
    if (analyzer_run(an, text, strlen(text), 0, &l, &err)) {
        buf_printf(&b, "ERROR %s", err.reason);
        es_err_free(&err);
    }
    for (size_t i = 0; i < l.n; i++)
        buf_printf(&b, "%s%.*s@%u:%u-%u", i ? " " : "", (int)l.t[i].len, l.t[i].term, l.t[i].position,
                   l.t[i].start_offset, l.t[i].end_offset);
    token_list_free(&l);
    return b.p ? buf_detach(&b, NULL) : xstrdup("");
}

static char *types(const analyzer *an, const char *text)
{
    token_list l = { 0 };
    es_err err = { 0 };
    buf b = { 0 };
    analyzer_run(an, text, strlen(text), 0, &l, &err);
    es_err_free(&err);
    for (size_t i = 0; i < l.n; i++) buf_printf(&b, "%s%s", i ? " " : "", l.t[i].type);
    token_list_free(&l);
    return b.p ? buf_detach(&b, NULL) : xstrdup("");
}

#define EXPECT_TERMS(an, text, want)                                                                    \
    do {                                                                                                \
        const analyzer *an_ = (an);                                                                     \
        if (!an_) {                                                                                     \
            UNIT_FAIL("no analyzer for %s", #an);                                                       \
            break;                                                                                      \
        }                                                                                               \
        char *got_ = terms(an_, (text));                                                                \
        CHECK_EQ_STR(got_, (want));                                                                     \
        free(got_);                                                                                     \
    } while (0)

#define EXPECT_DETAIL(an, text, want)                                                                   \
    do {                                                                                                \
        char *got_ = detail((an), (text));                                                              \
        CHECK_EQ_STR(got_, (want));                                                                     \
        free(got_);                                                                                     \
    } while (0)

#define EXPECT_TYPES(an, text, want)                                                                    \
    do {                                                                                                \
        char *got_ = types((an), (text));                                                               \
        CHECK_EQ_STR(got_, (want));                                                                     \
        free(got_);                                                                                     \
    } while (0)

/* An ad hoc analyzer from JSON: {"tokenizer":..., "filter":[...], "char_filter":[...]}. */
typedef struct adhoc {
    json_doc *doc;
    analyzer *an;
    es_err err;
} adhoc;

static analysis_component comp_of(const json_val *v)
{
    analysis_component c = { 0 };
    if (json_type_of(v) == JSON_STRING) c.name = json_str(v, &(size_t){ 0 });
    else c.def = v;
    return c;
}

static adhoc make_adhoc(const analysis *a, const char *json)
{
    adhoc h = { 0 };
    json_err je;
    h.doc = json_parse(json, strlen(json), NULL, &je);
    if (!h.doc) {
        es_err_set(&h.err, ES_PARSE, "bad test json: %s", je.msg);
        return h;
    }
    const json_val *root = json_doc_root(h.doc);
    const json_val *tk = json_obj_get(root, "tokenizer"), *f = json_obj_get(root, "filter"),
                   *cf = json_obj_get(root, "char_filter");
    analysis_component t = tk ? comp_of(tk) : (analysis_component){ 0 };
    analysis_component fs[16], cfs[16];
    size_t nf = f ? json_len(f) : 0, ncf = cf ? json_len(cf) : 0;
    for (size_t i = 0; i < nf && i < 16; i++) fs[i] = comp_of(json_arr_get(f, i));
    for (size_t i = 0; i < ncf && i < 16; i++) cfs[i] = comp_of(json_arr_get(cf, i));
    h.an = analyzer_build_adhoc(a, tk ? &t : NULL, cfs, ncf, fs, nf, &h.err);
    return h;
}

static void adhoc_free(adhoc *h)
{
    analyzer_free(h->an);
    json_doc_free(h->doc);
    es_err_free(&h->err);
}

#define ADHOC_TERMS(json, text, want)                                                                   \
    do {                                                                                                \
        adhoc h_ = make_adhoc(NULL, (json));                                                            \
        if (!h_.an) UNIT_FAIL("%s: %s", (json), h_.err.reason);                                         \
        else EXPECT_TERMS(h_.an, (text), (want));                                                       \
        adhoc_free(&h_);                                                                                \
    } while (0)

#define ADHOC_DETAIL(json, text, want)                                                                  \
    do {                                                                                                \
        adhoc h_ = make_adhoc(NULL, (json));                                                            \
        if (!h_.an) UNIT_FAIL("%s: %s", (json), h_.err.reason);                                         \
        else EXPECT_DETAIL(h_.an, (text), (want));                                                      \
        adhoc_free(&h_);                                                                                \
    } while (0)

#define ADHOC_ERROR(json, want)                                                                         \
    do {                                                                                                \
        adhoc h_ = make_adhoc(NULL, (json));                                                            \
        CHECK(h_.an == NULL);                                                                           \
        CHECK_EQ_STR(h_.err.reason, (want));                                                            \
        adhoc_free(&h_);                                                                                \
    } while (0)

/* Index settings from the body of PUT /{index}'s "settings". */
static index_settings *settings_of(const char *json)
{
    json_doc *d = json_parse(json, strlen(json), NULL, NULL);
    if (!d) return NULL;
    index_settings *s = NULL;
    es_err err = { 0 };
    if (index_settings_parse(json_doc_root(d), SETTINGS_CREATE, &s, &err)) {
        printf("  settings error: %s\n", err.reason);
        es_err_free(&err);
    }
    json_doc_free(d);
    return s;
}

static analysis *analysis_of(const char *json, es_err *err)
{
    index_settings *s = settings_of(json);
    if (!s) return NULL;
    analysis *a = analysis_build(s, err);
    index_settings_free(s);
    return a;
}

#define BUILD_ERROR(json, want_type, want)                                                              \
    do {                                                                                                \
        es_err e_ = { 0 };                                                                              \
        analysis *a_ = analysis_of((json), &e_);                                                        \
        CHECK(a_ == NULL);                                                                              \
        CHECK_EQ_STR(e_.reason, (want));                                                                \
        CHECK_EQ_STR(es_err_type_name(&e_), (want_type));                                               \
        analysis_free(a_);                                                                              \
        es_err_free(&e_);                                                                               \
    } while (0)

static mapping *mapping_parse_json(const char *json, const mapping_limits *l, es_err *err)
{
    return mapping_parse_text(json, strlen(json), l, err);
}

static const analyzer *builtin(const char *name) { return analysis_get(analysis_default(), name); }

static const char *const QUICK = "The 2 QUICK Brown-Foxes jumped over the lazy dog's bone.";

/* ------------------------------------------------------------------------ */
/* Built-in analyzers */

TEST(standard_analyzer)
{
    EXPECT_TERMS(builtin("standard"), QUICK, "the|2|quick|brown|foxes|jumped|over|the|lazy|dog's|bone");
    EXPECT_DETAIL(builtin("standard"), "The quick", "the@0:0-3 quick@1:4-9");
    EXPECT_TYPES(builtin("standard"), "The 2 QUICK", "<ALPHANUM> <NUM> <ALPHANUM>");
    EXPECT_TERMS(builtin("default"), "Foo Bar", "foo|bar");
    /* UAX #29: apostrophes and periods between letters, numbers with separators */
    EXPECT_TERMS(builtin("standard"), "U.S.A. 3.14 1,000 wi-fi foo_bar", "u.s.a|3.14|1,000|wi|fi|foo_bar");
    EXPECT_TYPES(builtin("standard"), "3.14 1,000 abc123 123abc", "<NUM> <NUM> <ALPHANUM> <ALPHANUM>");
    EXPECT_TERMS(builtin("standard"), "  ...  ", "");
    EXPECT_TERMS(builtin("standard"), "", "");
}

TEST(standard_unicode)
{
    /* each ideograph and hiragana its own token; katakana, hangul and Thai runs whole */
    EXPECT_DETAIL(builtin("standard"), "中文字", "中@0:0-1 文@1:1-2 字@2:2-3");
    EXPECT_TYPES(builtin("standard"), "中文 ひら カタカナ 한국어 ภาษาไทย",
                 "<IDEOGRAPHIC> <IDEOGRAPHIC> <HIRAGANA> <HIRAGANA> <KATAKANA> <HANGUL> <SOUTHEAST_ASIAN>");
    EXPECT_TERMS(builtin("standard"), "中文 ひら カタカナ 한국어 ภาษาไทย", "中|文|ひ|ら|カタカナ|한국어|ภาษาไทย");
    /* offsets count UTF-16 code units: a supplementary character counts 2 */
    EXPECT_DETAIL(builtin("standard"), "𝒜bc déjà 😀 x", "𝒜bc@0:0-4 déjà@1:5-9 😀@2:10-12 x@3:13-14");
    EXPECT_TYPES(builtin("standard"), "😀 👍🏽", "<EMOJI> <EMOJI>");
    /* lowercase is Java's Character.toLowerCase, code point by code point (İ -> i) */
    EXPECT_TERMS(builtin("standard"), "ÉCOLE ΣΟΦΊΑ İstanbul", "école|σοφία|istanbul");
}

TEST(standard_max_token_length)
{
    adhoc h = make_adhoc(NULL, "{\"tokenizer\":{\"type\":\"standard\",\"max_token_length\":5}}");
    CHECK(h.an != NULL);
    if (h.an) {
        /* Elasticsearch's reference example */
        EXPECT_TERMS(h.an, QUICK, "The|2|QUICK|Brown|Foxes|jumpe|d|over|the|lazy|dog's|bone");
        EXPECT_DETAIL(h.an, "jumped", "jumpe@0:0-5 d@1:5-6");
        EXPECT_TYPES(h.an, "abcde123", "<ALPHANUM> <NUM>");
    }
    adhoc_free(&h);
    ADHOC_ERROR("{\"tokenizer\":{\"type\":\"standard\",\"max_token_length\":0}}",
                "maxTokenLength must be greater than zero");
}

TEST(simple_whitespace_keyword_stop)
{
    EXPECT_TERMS(builtin("simple"), QUICK, "the|quick|brown|foxes|jumped|over|the|lazy|dog|s|bone");
    EXPECT_TERMS(builtin("whitespace"), QUICK, "The|2|QUICK|Brown-Foxes|jumped|over|the|lazy|dog's|bone.");
    EXPECT_DETAIL(builtin("whitespace"), "Foo Bar!", "Foo@0:0-3 Bar!@1:4-8");
    EXPECT_TERMS(builtin("keyword"), "New York", "New York");
    EXPECT_DETAIL(builtin("keyword"), "", "@0:0-0"); /* one empty token, as Lucene's KeywordTokenizer */
    EXPECT_TERMS(builtin("stop"), QUICK, "quick|brown|foxes|jumped|over|lazy|dog|s|bone");
    /* removed stopwords leave their positions */
    EXPECT_DETAIL(builtin("stop"), "The quick and the dead", "quick@1:4-9 dead@4:18-22");
}

TEST(english_analyzer)
{
    EXPECT_TERMS(builtin("english"), "The quick foxes jumped", "quick|fox|jump");
    EXPECT_TERMS(builtin("english"), "books", "book");
    EXPECT_TERMS(builtin("english"), "The DOG'S bones are running happily", "dog|bone|run|happili");
    EXPECT_DETAIL(builtin("english"), "the lazy dog", "lazi@1:4-8 dog@2:9-12");
}

TEST(other_builtin_analyzers)
{
    EXPECT_TERMS(builtin("fingerprint"), "Yes yes, Gödel said this sentence is consistent and.",
                 "and consistent godel is said sentence this yes");
    EXPECT_TERMS(builtin("fingerprint"), "A1 B2 A1 D4 C3", "a1 b2 c3 d4");
    EXPECT_TERMS(builtin("pattern"), QUICK, "the|2|quick|brown|foxes|jumped|over|the|lazy|dog|s|bone");
    EXPECT_TERMS(builtin("pattern"), "foo bar", "foo|bar");
    EXPECT_TERMS(builtin("snowball"), "the brown foxes", "brown|fox");
    CHECK(builtin("french") == NULL);
    CHECK(builtin("nope") == NULL);
    CHECK_EQ_STR(analyzer_name(builtin("default")), "default");
    CHECK_EQ_INT(analyzer_position_increment_gap(builtin("standard")), 100);
}

/* ------------------------------------------------------------------------ */
/* Tokenizers */

TEST(char_tokenizers)
{
    ADHOC_TERMS("{\"tokenizer\":\"letter\"}", QUICK, "The|QUICK|Brown|Foxes|jumped|over|the|lazy|dog|s|bone");
    ADHOC_TERMS("{\"tokenizer\":\"lowercase\"}", QUICK, "the|quick|brown|foxes|jumped|over|the|lazy|dog|s|bone");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\"}", "a\tb\nc\u3000d\u00a0e", "a|b|c|d\u00a0e");
    ADHOC_DETAIL("{\"tokenizer\":{\"type\":\"whitespace\",\"max_token_length\":3}}", "abcdefg h",
                 "abc@0:0-3 def@1:3-6 g@2:6-7 h@3:8-9");
    ADHOC_TERMS("{\"tokenizer\":{\"type\":\"char_group\",\"tokenize_on_chars\":[\"whitespace\",\"-\",\"\\n\"]}}",
                "The QUICK brown-fox", "The|QUICK|brown|fox");
    ADHOC_TERMS("{\"tokenizer\":\"keyword\"}", "Foo Bar!", "Foo Bar!");
}

TEST(ngram_tokenizers)
{
    ADHOC_TERMS("{\"tokenizer\":\"ngram\"}", "Quick Fox", "Q|Qu|u|ui|i|ic|c|ck|k|k | | F|F|Fo|o|ox|x");
    ADHOC_TERMS("{\"tokenizer\":\"ngram\"}", "foo", "f|fo|o|oo|o");
    ADHOC_TERMS("{\"tokenizer\":{\"type\":\"ngram\",\"min_gram\":3,\"max_gram\":3}}", "foobar", "foo|oob|oba|bar");
    ADHOC_TERMS("{\"tokenizer\":{\"type\":\"ngram\",\"min_gram\":3,\"max_gram\":3,\"token_chars\":[\"letter\","
                "\"digit\"]}}",
                "2 Quick Foxes.", "Qui|uic|ick|Fox|oxe|xes");
    ADHOC_TERMS("{\"tokenizer\":\"edge_ngram\"}", "Quick Fox", "Q|Qu");
    ADHOC_TERMS("{\"tokenizer\":{\"type\":\"edge_ngram\",\"min_gram\":2,\"max_gram\":10,\"token_chars\":[\"letter\","
                "\"digit\"]}}",
                "2 Quick Foxes.", "Qu|Qui|Quic|Quick|Fo|Fox|Foxe|Foxes");
    ADHOC_ERROR("{\"tokenizer\":{\"type\":\"ngram\",\"min_gram\":2,\"max_gram\":4}}",
                "The difference between max_gram and min_gram in NGram Tokenizer must be less than or equal to: "
                "[1] but was [2]. This limit can be set by changing the [index.max_ngram_diff] index level setting.");
}

TEST(path_hierarchy_tokenizer)
{
    ADHOC_DETAIL("{\"tokenizer\":\"path_hierarchy\"}", "/one/two/three",
                 "/one@0:0-4 /one/two@0:0-8 /one/two/three@0:0-14");
    ADHOC_TERMS("{\"tokenizer\":\"PathHierarchy\"}", "a/b/c", "a|a/b|a/b/c");
    ADHOC_TERMS("{\"tokenizer\":{\"type\":\"path_hierarchy\",\"delimiter\":\"-\",\"replacement\":\"/\","
                "\"skip\":2}}",
                "one-two-three-four-five", "/three|/three/four|/three/four/five");
    ADHOC_DETAIL("{\"tokenizer\":{\"type\":\"path_hierarchy\",\"reverse\":true}}", "a/b/c",
                 "a/b/c@0:0-5 b/c@0:2-5 c@0:4-5");
}

TEST(uax_url_email_and_pattern_tokenizers)
{
    ADHOC_TERMS("{\"tokenizer\":\"uax_url_email\"}", "Email me at john.smith@global-international.com",
                "Email|me|at|john.smith@global-international.com");
    adhoc h = make_adhoc(NULL, "{\"tokenizer\":\"uax_url_email\"}");
    if (h.an) EXPECT_TYPES(h.an, "see https://www.elastic.co/guide, mail a@b.org", "<ALPHANUM> <URL> <ALPHANUM> <EMAIL>");
    adhoc_free(&h);
    ADHOC_TERMS("{\"tokenizer\":{\"type\":\"pattern\",\"pattern\":\",\"}}", "comma,separated,values",
                "comma|separated|values");
    ADHOC_TERMS("{\"tokenizer\":{\"type\":\"pattern\",\"pattern\":\"\\\"((?:\\\\\\\\\\\"|[^\\\"])+)\\\"\","
                "\"group\":1}}",
                "\"value\", \"value with embedded \\\" quote\"", "value|value with embedded \\\" quote");
    ADHOC_TERMS("{\"tokenizer\":\"pattern\"}", "split by whitespace by default", "split|by|whitespace|by|default");
    ADHOC_ERROR("{\"tokenizer\":{\"type\":\"pattern\",\"pattern\":\"(?<=a)b\"}}",
                "pattern [(?<=a)b] uses regular expression features ferry does not support");
}

/* ------------------------------------------------------------------------ */
/* Token filters */

TEST(case_and_folding_filters)
{
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[\"lowercase\"]}", "THE Quick FoX JUMPs", "the|quick|fox|jumps");
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[\"uppercase\"]}", "the Quick FoX JUMPs", "THE|QUICK|FOX|JUMPS");
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[{\"type\":\"lowercase\",\"language\":\"greek\"}]}",
                "ΟΔΌΣ", "οδοσ");
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[{\"type\":\"lowercase\",\"language\":\"turkish\"}]}",
                "KIZ İstanbul", "kız|istanbul");
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[\"asciifolding\"]}", "açaí à la carte", "acai|a|la|carte");
    ADHOC_DETAIL("{\"tokenizer\":\"standard\",\"filter\":[{\"type\":\"asciifolding\",\"preserve_original\":true}]}",
                 "açaí à la carte", "acai@0:0-4 açaí@0:0-4 a@1:5-6 à@1:5-6 la@2:7-9 carte@3:10-15");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"asciifolding\"]}",
                "Straße Æsir Øl łódź ﬁne ① “quoted” – ½ Ελλάδα", "Strasse|AEsir|Ol|lodz|fine|1|\"quoted\"|-|1/2|Ελλάδα");
}

TEST(stop_filter)
{
    ADHOC_DETAIL("{\"tokenizer\":\"standard\",\"filter\":[\"stop\"]}", "a quick fox jumps over the lazy dog",
                 "quick@1:2-7 fox@2:8-11 jumps@3:12-17 over@4:18-22 lazy@6:27-31 dog@7:32-35");
    /* case sensitive unless ignore_case */
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[\"stop\"]}", "The fox", "The|fox");
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[{\"type\":\"stop\",\"ignore_case\":true}]}", "The fox",
                "fox");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stop\",\"stopwords\":[\"and\",\"is\","
                "\"the\"]}]}",
                "the fox is quick and brown", "fox|quick|brown");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stop\",\"stopwords\":\"_none_\"}]}",
                "the fox", "the|fox");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stop\",\"stopwords\":[\"_english_\","
                "\"fox\"]}]}",
                "the fox jumps", "jumps");
    /* trailing removed tokens move the end position */
    adhoc h = make_adhoc(NULL, "{\"tokenizer\":\"whitespace\",\"filter\":[\"stop\"]}");
    if (h.an) {
        token_list l = { 0 };
        es_err err = { 0 };
        CHECK_EQ_INT(analyzer_run(h.an, "fox the a", 9, 0, &l, &err), 0);
        CHECK_EQ_INT(l.n, 1);
        CHECK_EQ_INT(l.end_position, 3);
        CHECK_EQ_INT(l.end_offset, 9);
        token_list_free(&l);
    }
    adhoc_free(&h);
}

TEST(stemmers)
{
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"stemmer\"]}", "fox running and jumping",
                "fox|run|and|jump");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"porter_stem\"]}", "the foxes jumping quickly",
                "the|fox|jump|quickli");
    /* Porter as Lucene runs it: departures from the paper (-bli, -logi) */
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stemmer\",\"language\":\"english\"}]}",
                "caresses ponies ties caress cats feed agreed plastered motoring sing conflated troubled sized "
                "hopping tanned falling hissing fizzed failing filing happy sky relational conditional "
                "rational valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli "
                "vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti "
                "sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful goodness "
                "revival allowance inference airliner gyroscopic adjustable defensible irritant replacement "
                "adjustment dependent adoption homologou communism activate angulariti homologous effective "
                "bowdlerize probate rate cease controll roll generalizations oscillators archaeology possibly",
                "caress|poni|ti|caress|cat|feed|agre|plaster|motor|sing|conflat|troubl|size|hop|tan|fall|hiss|"
                "fizz|fail|file|happi|sky|relat|condit|ration|valenc|hesit|digit|conform|radic|differ|vile|"
                "analog|vietnam|predic|oper|feudal|decis|hope|callous|formal|sensit|sensibl|triplic|form|formal|"
                "electr|electr|hope|good|reviv|allow|infer|airlin|gyroscop|adjust|defens|irrit|replac|adjust|"
                "depend|adopt|homolog|commun|activ|angular|homolog|effect|bowdler|probat|rate|ceas|control|roll|"
                "gener|oscil|archaeolog|possibl");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stemmer\",\"language\":\"porter2\"}]}",
                "running generously", "run|generous");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stemmer\",\"language\":\"minimal_english\"}]}",
                "queries phrases dresses bus cats gas", "query|phrase|dresse|bus|cat|ga");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stemmer\",\"language\":"
                "\"possessive_english\"}]}",
                "dog's JOHN'S cats’s", "dog|JOHN|cats");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"lowercase\",{\"type\":\"snowball\",\"language\":\"German\"}]}",
                "Tischen häuser", "tisch|haus");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stemmer\",\"language\":\"french\"}]}",
                "chevaux", "cheval");
    ADHOC_ERROR("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stemmer\",\"language\":\"klingon\"}]}",
                "Invalid stemmer class specified: Klingon");
    ADHOC_ERROR("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stemmer\",\"language\":\"light_english\"}]}",
                "stemmer language [light_english] is not supported by this node (ferry)");
    /* keyword_marker protects terms from stemming */
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"keyword_marker\",\"keywords\":[\"jumping\"]},"
                "\"stemmer\"]}",
                "fox running and jumping", "fox|run|and|jumping");
}

TEST(shaping_filters)
{
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"length\",\"min\":0,\"max\":4}]}",
                "the quick brown fox jumps over the lazy dog", "the|fox|over|the|lazy|dog");
    ADHOC_TERMS("{\"tokenizer\":\"keyword\",\"filter\":[\"trim\"]}", " fox ", "fox");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"truncate\"]}",
                "the quinquennial extravaganza carried on", "the|quinquenni|extravagan|carried|on");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"reverse\"]}", "quick fox jumps 𝒜b", "kciuq|xof|spmuj|b𝒜");
    ADHOC_DETAIL("{\"tokenizer\":\"whitespace\",\"filter\":[\"unique\"]}", "the quick fox jumps the lazy fox",
                 "the@0:0-3 quick@1:4-9 fox@2:10-13 jumps@3:14-19 lazy@4:24-28");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"limit\",\"max_token_count\":2}]}",
                "quick fox jumps over lazy dog", "quick|fox");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"fingerprint\"]}", "zebra jumps over resting resting dog",
                "dog jumps over resting zebra");
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[\"elision\"]}", "j’examine près du wharf",
                "examine|près|du|wharf");
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[{\"type\":\"elision\",\"articles\":[\"l\"],"
                "\"articles_case\":true}]}",
                "L'avion j'ai", "avion|j'ai");
    ADHOC_ERROR("{\"tokenizer\":\"standard\",\"filter\":[{\"type\":\"elision\"}]}",
                "elision filter requires [articles] or [articles_path] setting");
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"filter\":[\"apostrophe\"]}", "Istanbul'a veya Istanbul'dan",
                "Istanbul|veya|Istanbul");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"decimal_digit\"]}", "१-one two-२ ३", "1-one|two-2|3");
}

TEST(gram_filters)
{
    ADHOC_DETAIL("{\"tokenizer\":\"whitespace\",\"filter\":[\"shingle\"]}", "quick brown fox",
                 "quick@0:0-5 quick brown@0:0-11 brown@1:6-11 brown fox@1:6-15 fox@2:12-15");
    adhoc h = make_adhoc(NULL, "{\"tokenizer\":\"whitespace\",\"filter\":[\"shingle\"]}");
    if (h.an) {
        EXPECT_TYPES(h.an, "quick brown", "word shingle word");
        token_list l = { 0 };
        es_err err = { 0 };
        analyzer_run(h.an, "quick brown", 11, 0, &l, &err);
        CHECK_EQ_INT(l.n, 3);
        if (l.n == 3) CHECK_EQ_INT(l.t[1].position_length, 2);
        token_list_free(&l);
    }
    adhoc_free(&h);
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"shingle\",\"min_shingle_size\":2,"
                "\"max_shingle_size\":3,\"output_unigrams\":false}]}",
                "quick brown fox jumps", "quick brown|quick brown fox|brown fox|brown fox jumps|fox jumps");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"stop\",\"stopwords\":[\"a\"]},"
                "{\"type\":\"shingle\",\"filler_token\":\"+\",\"max_shingle_size\":3}]}",
                "lightning a quick brown fox",
                "lightning|lightning +|lightning + quick|+ quick|+ quick brown|quick|quick brown|quick brown fox|"
                "brown|brown fox|fox");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"filter\":[\"ngram\"]}", "Quick fox",
                "Q|Qu|u|ui|i|ic|c|ck|k|f|fo|o|ox|x");
    ADHOC_DETAIL("{\"tokenizer\":\"whitespace\",\"filter\":[{\"type\":\"edge_ngram\",\"min_gram\":1,"
                 "\"max_gram\":3}]}",
                 "the quick", "t@0:0-3 th@0:0-3 the@0:0-3 q@1:4-9 qu@1:4-9 qui@1:4-9");
}

/* ------------------------------------------------------------------------ */
/* Char filters */

TEST(char_filters)
{
    ADHOC_TERMS("{\"tokenizer\":\"keyword\",\"char_filter\":[\"html_strip\"]}", "<p>I&apos;m so <b>happy</b>!</p>",
                "\nI'm so happy!\n");
    ADHOC_DETAIL("{\"tokenizer\":\"standard\",\"char_filter\":[\"html_strip\"]}", "<b>foo</b> &amp; <i>bar</i>",
                 "foo@0:3-10 bar@1:20-27"); /* Lucene puts a correction where the output resumes */
    ADHOC_TERMS("{\"tokenizer\":\"standard\",\"char_filter\":[\"html_strip\"]}",
                "<script>var x;</script><!-- c -->text &#233;t&#xE9;", "text|été");
    ADHOC_TERMS("{\"tokenizer\":\"keyword\",\"char_filter\":[{\"type\":\"html_strip\",\"escaped_tags\":[\"b\"]}]}",
                "<p>I'm <b>so</b> happy</p>", "\nI'm <b>so</b> happy\n");
    ADHOC_DETAIL("{\"tokenizer\":\"standard\",\"char_filter\":[{\"type\":\"mapping\",\"mappings\":[\"- => _\"]}]}",
                 "foo-bar", "foo_bar@0:0-7");
    ADHOC_TERMS("{\"tokenizer\":\"keyword\",\"char_filter\":[{\"type\":\"mapping\",\"mappings\":[\"٠ => 0\","
                "\"١ => 1\",\"٢ => 2\",\"٥ => 5\"]}]}",
                "My license plate is ٢٥٠١٥", "My license plate is 25015");
    /* longer replacement and removal keep offsets on the original text */
    ADHOC_DETAIL("{\"tokenizer\":\"whitespace\",\"char_filter\":[{\"type\":\"mapping\",\"mappings\":[\"& => "
                 "and\",\":) => \"]}]}",
                 "a & b :) c", "a@0:0-1 and@1:2-3 b@2:4-5 c@3:9-10");
    ADHOC_TERMS("{\"tokenizer\":\"whitespace\",\"char_filter\":[{\"type\":\"mapping\",\"mappings\":[\"ph => f\","
                "\"p => b\",\"\\\\u0041 => a\"]}]}",
                "phone pot A", "fone|bot|a");
    ADHOC_ERROR("{\"tokenizer\":\"keyword\",\"char_filter\":[{\"type\":\"mapping\",\"mappings\":[\"nope\"]}]}",
                "Invalid Mapping Rule : [nope]");
    ADHOC_ERROR("{\"tokenizer\":\"keyword\",\"char_filter\":[{\"type\":\"mapping\"}]}",
                "mapping requires either `mappings` or `mappings_path` to be configured");
}

/* ------------------------------------------------------------------------ */
/* Ad hoc errors and normalizers */

TEST(adhoc_errors)
{
    ADHOC_ERROR("{\"tokenizer\":\"foo\"}", "failed to find global tokenizer under [foo]");
    ADHOC_ERROR("{\"tokenizer\":\"standard\",\"filter\":[\"foo\"]}", "failed to find global filter under [foo]");
    ADHOC_ERROR("{\"tokenizer\":\"standard\",\"char_filter\":[\"foo\"]}", "failed to find global char_filter under [foo]");
    ADHOC_ERROR("{\"tokenizer\":{\"type\":\"foo\"}}", "failed to find global tokenizer under [foo]");
    ADHOC_ERROR("{\"tokenizer\":{\"max_token_length\":3}}",
                "Missing [type] setting for anonymous tokenizer: {\"max_token_length\":3}");
    ADHOC_ERROR("{\"filter\":[\"stop\"]}", "Custom normalizer may not use filter [stop]");
    ADHOC_TERMS("{\"filter\":[\"lowercase\"]}", "ABc Def", "abc def");
    adhoc h = make_adhoc(NULL, "{\"tokenizer\":{\"type\":\"standard\"},\"filter\":[{\"type\":\"stop\"}]}");
    CHECK(h.an && analyzer_is_custom(h.an));
    if (h.an) {
        CHECK_EQ_STR(analyzer_tokenizer_name(h.an), "__anonymous__standard");
        CHECK_EQ_STR(analyzer_filter_name(h.an, 0), "__anonymous__stop");
        CHECK_EQ_INT(analyzer_filter_count(h.an), 1);
    }
    adhoc_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Custom analysis from index settings */

TEST(custom_analysis_from_settings)
{
    es_err err = { 0 };
    analysis *a = analysis_of(
        "{\"analysis\":{"
        "\"analyzer\":{"
        "\"my\":{\"type\":\"custom\",\"tokenizer\":\"my_tok\",\"char_filter\":[\"my_map\"],"
        "\"filter\":[\"lowercase\",\"my_stop\",\"my_stem\"]},"
        "\"untyped\":{\"tokenizer\":\"whitespace\"},"
        "\"std5\":{\"type\":\"standard\",\"max_token_length\":5,\"stopwords\":[\"the\"]},"
        "\"eng\":{\"type\":\"english\",\"stem_exclusion\":[\"running\"]},"
        "\"dutch\":{\"type\":\"snowball\",\"language\":\"Dutch\",\"stopwords\":[\"de\",\"het\"]},"
        "\"gappy\":{\"tokenizer\":\"standard\",\"position_increment_gap\":10}},"
        "\"tokenizer\":{\"my_tok\":{\"type\":\"standard\",\"max_token_length\":4}},"
        "\"filter\":{\"my_stop\":{\"type\":\"stop\",\"stopwords\":[\"a\",\"the\"]},"
        "\"my_stem\":{\"type\":\"stemmer\",\"language\":\"english\"}},"
        "\"char_filter\":{\"my_map\":{\"type\":\"mapping\",\"mappings\":[\"+ => plus\"]}},"
        "\"normalizer\":{\"my_norm\":{\"type\":\"custom\",\"filter\":[\"lowercase\",\"asciifolding\"]}}}}",
        &err);
    CHECK(a != NULL);
    if (!a) {
        printf("  %s\n", err.reason);
        es_err_free(&err);
        return;
    }
    const analyzer *my = analysis_get(a, "my");
    EXPECT_TERMS(my, "The C + Jumping", "c|plu|jump|ing");
    CHECK(analyzer_is_custom(my));
    CHECK_EQ_STR(analyzer_tokenizer_name(my), "my_tok");
    CHECK_EQ_STR(analyzer_char_filter_name(my, 0), "my_map");
    CHECK_EQ_STR(analyzer_filter_name(my, 1), "my_stop");
    CHECK(analyzer_has_keyword_attr(my, 3));
    CHECK(!analyzer_has_keyword_attr(my, 2));
    EXPECT_TERMS(analysis_get(a, "untyped"), "A B", "A|B");
    EXPECT_TERMS(analysis_get(a, "std5"), "The Jumped fox", "jumpe|d|fox");
    EXPECT_TERMS(analysis_get(a, "eng"), "running jumping", "running|jump");
    EXPECT_TERMS(analysis_get(a, "dutch"), "de bruine vossen", "bruin|voss");
    CHECK_EQ_INT(analyzer_position_increment_gap(analysis_get(a, "gappy")), 10);
    CHECK_EQ_INT(analyzer_position_increment_gap(my), 100);
    /* built-ins stay available, and the default is standard */
    EXPECT_TERMS(analysis_get(a, "whitespace"), "A b", "A|b");
    EXPECT_TERMS(analysis_get(a, "default"), "A b", "a|b");
    EXPECT_TERMS(analysis_normalizer(a, "my_norm"), "Éa B", "ea b");
    EXPECT_TERMS(analysis_normalizer(a, "lowercase"), "Éa B", "éa b");
    CHECK(analysis_normalizer(a, "nope") == NULL);
    /* ad hoc components resolve against the index first */
    adhoc h = make_adhoc(a, "{\"tokenizer\":\"my_tok\",\"filter\":[\"my_stop\"]}");
    if (h.an) EXPECT_TERMS(h.an, "a quick fox", "quic|k|fox");
    else UNIT_FAIL("%s", h.err.reason);
    adhoc_free(&h);
    h = make_adhoc(a, "{\"tokenizer\":\"nope\"}");
    CHECK_EQ_STR(h.err.reason, "failed to find tokenizer under [nope]");
    adhoc_free(&h);
    analysis_free(a);
}

TEST(default_analyzer_from_settings)
{
    es_err err = { 0 };
    analysis *a = analysis_of("{\"analysis\":{\"analyzer\":{\"default\":{\"type\":\"whitespace\"},"
                              "\"default_search\":{\"type\":\"keyword\"}}}}",
                              &err);
    CHECK(a != NULL);
    if (!a) return;
    EXPECT_TERMS(analysis_get(a, "default"), "A b", "A|b");
    EXPECT_TERMS(analysis_for_field(a, NULL, false), "A b", "A|b");
    EXPECT_TERMS(analysis_for_field(a, NULL, true), "A b", "A b");
    analysis_free(a);
}

TEST(analysis_errors)
{
    BUILD_ERROR("{\"analysis\":{\"analyzer\":{\"a\":{\"tokenizer\":\"foo\"}}}}", "illegal_argument_exception",
                "Custom Analyzer [a] failed to find tokenizer under name [foo]");
    BUILD_ERROR("{\"analysis\":{\"analyzer\":{\"a\":{\"type\":\"custom\",\"tokenizer\":\"standard\",\"filter\":"
                "[\"lowercase\",\"foo\"]}}}}",
                "illegal_argument_exception", "Custom Analyzer [a] failed to find filter under name [foo]");
    BUILD_ERROR("{\"analysis\":{\"analyzer\":{\"a\":{\"tokenizer\":\"standard\",\"char_filter\":[\"foo\"]}}}}",
                "illegal_argument_exception", "Custom Analyzer [a] failed to find char_filter under name [foo]");
    BUILD_ERROR("{\"analysis\":{\"analyzer\":{\"a\":{\"type\":\"custom\"}}}}", "illegal_argument_exception",
                "Custom Analyzer [a] must be configured with a tokenizer");
    BUILD_ERROR("{\"analysis\":{\"analyzer\":{\"test_analyzer\":{\"filter\":[\"lowercase\"]}}}}",
                "illegal_argument_exception",
                "analyzer [test_analyzer] must specify either an analyzer type, or a tokenizer");
    BUILD_ERROR("{\"analysis\":{\"analyzer\":{\"a\":{\"type\":\"french\"}}}}", "illegal_argument_exception",
                "Unknown analyzer type [french] for [a]");
    BUILD_ERROR("{\"analysis\":{\"filter\":{\"f\":{\"type\":\"foo\"}}}}", "illegal_argument_exception",
                "Unknown filter type [foo] for [f]");
    BUILD_ERROR("{\"analysis\":{\"filter\":{\"f\":{\"stopwords\":[\"a\"]}}}}", "illegal_argument_exception",
                "filter [f] must specify either an analyzer type, or a tokenizer");
    BUILD_ERROR("{\"analysis\":{\"tokenizer\":{\"t\":{\"type\":\"nope\"}}}}", "illegal_argument_exception",
                "Unknown tokenizer type [nope] for [t]");
    BUILD_ERROR("{\"analysis\":{\"char_filter\":{\"c\":{\"type\":\"nope\"}}}}", "illegal_argument_exception",
                "Unknown char_filter type [nope] for [c]");
    BUILD_ERROR("{\"analysis\":{\"analyzer\":{\"_a\":{\"tokenizer\":\"standard\"}}}}", "illegal_argument_exception",
                "analyzer name must not start with '_'. got \"_a\"");
    BUILD_ERROR("{\"analysis\":{\"normalizer\":{\"n\":{\"filter\":[\"stop\"]}}}}", "illegal_argument_exception",
                "Custom normalizer [n] may not use filter [stop]");
    BUILD_ERROR("{\"analysis\":{\"tokenizer\":{\"t\":{\"type\":\"ngram\",\"min_gram\":1,\"max_gram\":5}}}}",
                "illegal_argument_exception",
                "The difference between max_gram and min_gram in NGram Tokenizer must be less than or equal to: "
                "[1] but was [4]. This limit can be set by changing the [index.max_ngram_diff] index level setting.");
    BUILD_ERROR("{\"analysis\":{\"filter\":{\"s\":{\"type\":\"stop\",\"stopwords\":\"_french_\"}}}}",
                "illegal_argument_exception",
                "the word list [_french_] is not supported by this node (ferry); list the words instead");
    BUILD_ERROR("{\"analysis\":{\"analyzer\":{\"s\":{\"type\":\"snowball\",\"language\":\"Dutch\"}}}}",
                "illegal_argument_exception",
                "the default stop words of the snowball analyzer for [Dutch] are not built into this node (ferry); "
                "set [stopwords]");
    /* the index's max_ngram_diff raises the limit */
    es_err err = { 0 };
    analysis *a = analysis_of("{\"max_ngram_diff\":4,\"analysis\":{\"tokenizer\":{\"t\":{\"type\":\"ngram\","
                              "\"min_gram\":1,\"max_gram\":5}}}}",
                              &err);
    CHECK(a != NULL);
    analysis_free(a);
    es_err_free(&err);
}

TEST(fields_and_mappings)
{
    es_err err = { 0 };
    analysis *a = analysis_of("{\"analysis\":{\"analyzer\":{\"my\":{\"tokenizer\":\"whitespace\"}},"
                              "\"normalizer\":{\"low\":{\"filter\":[\"lowercase\"]}}}}",
                              &err);
    CHECK(a != NULL);
    if (!a) return;
    mapping *m = mapping_parse_json(
        "{\"properties\":{\"t\":{\"type\":\"text\",\"analyzer\":\"my\",\"search_analyzer\":\"standard\"},"
        "\"d\":{\"type\":\"text\"},\"k\":{\"type\":\"keyword\",\"normalizer\":\"low\"},\"k2\":{\"type\":\"keyword\"},"
        "\"e\":{\"type\":\"text\",\"analyzer\":\"english\"}}}",
        NULL, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(analysis_check_mapping(a, m, &err), 0);
        EXPECT_TERMS(analysis_for_field(a, mapping_field(m, "t"), false), "A B", "A|B");
        EXPECT_TERMS(analysis_for_field(a, mapping_field(m, "t"), true), "A B", "a|b");
        EXPECT_TERMS(analysis_for_field(a, mapping_field(m, "d"), false), "A B", "a|b");
        EXPECT_TERMS(analysis_for_field(a, mapping_field(m, "e"), true), "Dogs", "dog");
        EXPECT_TERMS(analysis_for_field(a, mapping_field(m, "k"), false), "A B", "a b");
        EXPECT_TERMS(analysis_for_field(a, mapping_field(m, "k2"), false), "A B", "A B");
        mapping_unref(m);
    }
    m = mapping_parse_json("{\"properties\":{\"t\":{\"type\":\"text\",\"analyzer\":\"nope\"}}}", NULL, &err);
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(analysis_check_mapping(a, m, &err), -1);
        CHECK_EQ_STR(err.reason, "Failed to parse mapping: analyzer [nope] has not been configured in mappings");
        CHECK_EQ_STR(es_err_type_name(&err), "mapper_parsing_exception");
        CHECK(err.caused_by && !strcmp(err.caused_by->reason, "analyzer [nope] has not been configured in mappings"));
        es_err_free(&err);
        mapping_unref(m);
    }
    m = mapping_parse_json("{\"properties\":{\"k\":{\"type\":\"keyword\",\"normalizer\":\"nope\"}}}", NULL, &err);
    if (m) {
        CHECK_EQ_INT(analysis_check_mapping(a, m, &err), -1);
        CHECK_EQ_STR(err.reason, "Failed to parse mapping: normalizer [nope] not found for field [k]");
        es_err_free(&err);
        mapping_unref(m);
    }
    m = mapping_parse_json("{\"properties\":{\"t\":{\"type\":\"text\",\"search_analyzer\":\"standard\"}}}", NULL,
                           &err);
    if (m) {
        CHECK_EQ_INT(analysis_check_mapping(a, m, &err), -1);
        CHECK_EQ_STR(err.reason,
                     "Failed to parse mapping: analyzer on field [t] must be set when search_analyzer is set");
        es_err_free(&err);
        mapping_unref(m);
    }
    analysis_free(a);
}

TEST(positions_across_values)
{
    /* Lucene's indexing chain: the next value starts at end_position + gap */
    const analyzer *an = builtin("standard");
    token_list l = { 0 };
    es_err err = { 0 };
    CHECK_EQ_INT(analyzer_run(an, "a b", 3, 0, &l, &err), 0);
    CHECK_EQ_INT(l.end_position, 2);
    CHECK_EQ_INT(l.end_offset, 3);
    uint32_t base = l.end_position + (uint32_t)analyzer_position_increment_gap(an);
    CHECK_EQ_INT(analyzer_run(an, "c", 1, base, &l, &err), 0);
    CHECK_EQ_INT(l.n, 3);
    if (l.n == 3) {
        CHECK_EQ_INT(l.t[1].position, 1);
        CHECK_EQ_INT(l.t[2].position, 102);
        CHECK_EQ_INT(l.t[2].start_offset, 0);
    }
    token_list_free(&l);
    /* invalid UTF-8 is refused */
    CHECK_EQ_INT(analyzer_run(an, "\xff", 1, 0, &l, &err), -1);
    CHECK_EQ_STR(es_err_type_name(&err), "illegal_argument_exception");
    es_err_free(&err);
    token_list_free(&l);
    /* explain helpers */
    char *t = analyzer_char_filter_text(an, 0, "x", 1, NULL);
    CHECK_EQ_STR(t, "x");
    free(t);
}

/* ------------------------------------------------------------------------ */
/* Concurrency: analyzers shared by threads, snowball stemmers pooled */

typedef struct worker {
    const analyzer *an;
    const char *text;
    const char *want;
    int bad;
} worker;

static void *work(void *p)
{
    worker *w = p;
    for (int i = 0; i < 300; i++) {
        char *got = terms(w->an, w->text);
        if (strcmp(got, w->want)) w->bad++;
        free(got);
    }
    return NULL;
}

TEST(concurrency)
{
    es_err err = { 0 };
    analysis *a = analysis_of("{\"analysis\":{\"analyzer\":{\"sb\":{\"tokenizer\":\"standard\",\"filter\":"
                              "[\"lowercase\",\"snowball\",\"asciifolding\"]}}}}",
                              &err);
    CHECK(a != NULL);
    if (!a) return;
    const char *text = "Running generously, the Café's foxes jumped over 2 lazy dogs — 中文 ภาษาไทย";
    worker w[4] = {
        { analysis_get(a, "sb"), text, NULL, 0 },
        { analysis_get(a, "sb"), text, NULL, 0 },
        { builtin("english"), text, NULL, 0 },
        { builtin("standard"), text, NULL, 0 },
    };
    for (int i = 0; i < 4; i++) w[i].want = terms(w[i].an, w[i].text);
    CHECK_EQ_STR(w[0].want, "run|generous|the|cafe|fox|jump|over|2|lazi|dog|中|文|ภาษาไทย");
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, work, &w[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(w[i].bad, 0);
        free((char *)w[i].want);
    }
    analysis_free(a);
}

int main(void)
{
    RUN(standard_analyzer);
    RUN(standard_unicode);
    RUN(standard_max_token_length);
    RUN(simple_whitespace_keyword_stop);
    RUN(english_analyzer);
    RUN(other_builtin_analyzers);
    RUN(char_tokenizers);
    RUN(ngram_tokenizers);
    RUN(path_hierarchy_tokenizer);
    RUN(uax_url_email_and_pattern_tokenizers);
    RUN(case_and_folding_filters);
    RUN(stop_filter);
    RUN(stemmers);
    RUN(shaping_filters);
    RUN(gram_filters);
    RUN(char_filters);
    RUN(adhoc_errors);
    RUN(custom_analysis_from_settings);
    RUN(default_analyzer_from_settings);
    RUN(analysis_errors);
    RUN(fields_and_mappings);
    RUN(positions_across_values);
    RUN(concurrency);
    return unit_report();
}
